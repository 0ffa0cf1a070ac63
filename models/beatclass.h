/* beatclass.h — AAMI beat classes (N, S, V, F, Q) for detected beats: per-beat features, a
 * linear model evaluated with OpenBLAS, the versioned model file, and its training.
 *
 * Streaming: the classifier receives the filtered signal (the pipeline's filter-chain output,
 * microvolts, in order) and the detector's beats (in order), and emits each beat labelled once
 * the signal around it and the next beat (for the following RR interval) have arrived. Results do
 * not depend on how the input is split. Knows nothing of files except the model file.
 *
 * Features (the model file names them, in order, and a model whose list differs is refused):
 * RR intervals (previous, next, local and long-term averages, their ratios), QRS width,
 * morphology around the fiducial point on each lead, and the beat's correlation with the
 * recording's own running dominant-beat template (unsupervised: what makes inter-patient S and V
 * detection work).
 */
#ifndef ECGNET_MODELS_BEATCLASS_H
#define ECGNET_MODELS_BEATCLASS_H

#include <stddef.h>
#include <stdint.h>

#include "qrs.h"

#define BC_MAX_FEATURES 128

typedef struct bc_model bc_model;

/* Loads a model file. PATH NULL means the default model, found in this order: $ECGNET_BEAT_MODEL,
 * <directory of the running executable>/../share/ecgnet/beats.model (an installed ecgnet), the
 * source tree's models/beats.model (a plain CMake build). Returns 0 and *out (free with
 * bc_model_free), or -1 with a message in err: file missing (names every place looked), not a
 * model file, unsupported version, or a feature list that differs from this program's. Sets
 * OpenBLAS to one thread for the whole process (inference is a small GEMV per beat; one thread
 * is also one summation order: the same labels on every run). */
int bc_model_load(const char *path, bc_model **out, char *err, size_t errlen);
void bc_model_free(bc_model *m);

/* One-line description for reports: version, training records, date. Owned by the model. */
const char *bc_model_describe(const bc_model *m);

typedef struct {
    int64_t sample;       /* the detector's fiducial point */
    char label;           /* 'N', 'S', 'V', 'F' or 'Q' ('Q' when the beat cannot be judged) */
    float confidence;     /* probability of the label, 0..1 */
    float prev_corr;      /* QRS correlation with the previous beat's (-100..+100 ms, both leads,
                             aligned within 40 ms), -1..1; NaN for the first beat. A run of
                             beats of one shape stays near 1; polymorphic VT does not */
    int nfeatures;        /* features[0..nfeatures): filled when the stream was created to */
    float features[BC_MAX_FEATURES]; /*  keep them (training), else nfeatures is 0 */
} bc_beat;

typedef struct bc_stream bc_stream;

/* A classifier for nleads leads at fs Hz. MODEL may be NULL to only compute features (training);
 * keep_features asks for them in every bc_beat. Returns NULL with a message in err. */
bc_stream *bc_stream_create(const bc_model *model, double fs, int nleads, int keep_features,
                            char *err, size_t errlen);
void bc_stream_free(bc_stream *s);

/* Filtered signal: uv[l * stride + i] is lead l at sample start + i, i < n; blocks arrive in
 * order without gaps. Returns 0, or -1 with err (out of memory). */
int bc_stream_signal(bc_stream *s, int64_t start, const float *uv, size_t stride, size_t n,
                     char *err, size_t errlen);

/* A detected beat; beats arrive in order of sample. Returns 0, or -1 with err. */
int bc_stream_beat(bc_stream *s, const dsp_beat *b, char *err, size_t errlen);

/* No more input: the remaining beats become ready (the last one without a following RR). */
void bc_stream_finish(bc_stream *s);

/* Pops the next labelled beat, in order of sample. Returns 1 and fills *out, or 0 if none is
 * ready yet. A beat the model calls 'S' while the last 32 RR intervals before it are atrial
 * fibrillation by the AF detector's own test (rhythm_af.h) is labelled 'N' (confidence
 * unchanged): MIT-BIH, like AAMI, labels the beats of AF 'N' however early they come. */
int bc_stream_next(bc_stream *s, bc_beat *out);

/* Rules applied after the model, on a beat's own features (so that cross-validation applies
 * them exactly as the stream does). Physiological vetoes of a 'V' label, judged against the
 * recording's own dominant beat (features dom_*, clu_*):
 *  - match: the beat, aligned to the dominant template, correlates with it on every lead at
 *    least max(match_floor, 1 - match_k * the template's own spread), is at most width_s wider
 *    and of the template's amplitude (0.7..1.4 on every lead), and it and its shape come on time
 *    (RR before / local RR >= match_prem: a shape that comes early is ectopic even when it is the
 *    commonest, as in bigeminy; with match_af, in AF the shape alone tells): the patient's
 *    usual beat, however wide (bundle-branch block), so 'N'. match_k 0 turns it off.
 *  - on time: the shape the beat belongs to comes on time (its cluster's running mean of RR
 *    before / local RR >= ontime_prem), the beat itself within ontime_beat of it (RR before /
 *    local >= ontime_beat, RR after / local < 2 - ontime_beat: no compensatory pause), at a rate
 *    under 100/min: a conducted shape (intermittent bundle-branch block), so 'N'. ontime_prem 0
 *    turns it off. */
typedef struct {
    double match_k, match_floor, width_s, match_prem;
    double ontime_prem, ontime_beat; /* the shape's (cluster mean) and the beat's own */
    int match_af;  /* 1: in AF (the last 32 RR intervals, rhythm_af.h) the match needs no timing */
} bc_rule_opts;

/* The settings chosen by cross-validation on DS1 (`ecgnet train --cv --rule-...`). */
void bc_rule_opts_default(bc_rule_opts *o);

/* The label after the rules, for a beat the model labelled `label` (features: bc_feature_count()
 * values of this program). */
char bc_rules_apply(const bc_rule_opts *o, char label, const float *features);

/* Feature names of this program, in model order (for the model file header and reports). */
int bc_feature_count(void);
const char *bc_feature_name(int i);

/* Training: fits the default kind of model (whichever did better in cross-validation on DS1:
 * see bc_train) to n feature vectors X[i * nfeat ...] with AAMI labels y[i]
 * ('N','S','V','F','Q'), deterministically (fixed seed, OpenBLAS on one thread), and writes it to
 * PATH with a header naming the feature list, the normalisation, the training records and the
 * date. Returns 0, or -1 with err. */
int bc_train(const float *X, const char *y, size_t n, const char *records, const char *path,
             char *err, size_t errlen);

/* Training options: ridge is added to the diagonal of the pooled covariance of the standardised
 * features (regularisation); prior_power p sets each class's weight to (1/count)^p, so 1 weights
 * the classes equally whatever their counts (de Chazal 2004), 0 weights every beat equally;
 * min_count leaves out classes with fewer training beats (they cannot be estimated). */
typedef struct {
    double ridge;
    double prior_power;
    long min_count;
    int rule_inputs;  /* 1: the features meant for the rules after the model (dom_*, clu_*) are
                         model inputs too; 0 (default, chosen by cross-validation on DS1): they
                         are not (std 0 in the file) */
} bc_fit_opts;

/* The defaults, chosen by leave-one-record-out cross-validation on DS1 (see cmd/cmd_train.c). */
void bc_fit_opts_default(bc_fit_opts *o);

/* Fits a weighted linear discriminant (LDA with a pooled covariance, in the manner of de Chazal
 * 2004) to n feature vectors X[i * bc_feature_count() ...] with AAMI labels y[i]; beats labelled
 * otherwise are ignored. Deterministic (OpenBLAS on one thread, LAPACKE Cholesky). records is the
 * description kept in the model ("101,106,..."). opts NULL means the defaults. Returns 0 and
 * *out, or -1 with err (no or too few beats, a singular covariance, out of memory). */
int bc_fit(const float *X, const char *y, size_t n, const char *records, const bc_fit_opts *opts,
           bc_model **out, char *err, size_t errlen);

/* Writes the model file (text: header, feature list with normalisation, classes, coefficients,
 * closed by an end line). The date is $SOURCE_DATE_EPOCH when set (reproducible builds), else
 * today (UTC). Returns 0, or -1 with err naming the file. */
int bc_model_save(const bc_model *m, const char *path, char *err, size_t errlen);

/* Classifies one feature vector (bc_feature_count() values) with cblas_sgemv; returns the label
 * and sets *confidence to its posterior probability. 'Q' with confidence 0 when a feature is not
 * finite. */
char bc_model_classify(const bc_model *m, const float *features, float *confidence);

/* The model's kind: its file version, 1 for the linear discriminant, 2 for the MLP. */
int bc_model_version(const bc_model *m);

/* MLP training options. One hidden tanh layer of `hidden` units (at most 64) and a softmax over
 * the classes, trained by Adam on mini-batches of `batch` beats for `epochs` passes, minimising
 * class-weighted cross-entropy plus l2 * (sum of squared weights) / 2. prior_power and min_count
 * as for bc_fit_opts. seed fixes the initial weights and the order of the beats. */
typedef struct {
    int hidden;
    int epochs;
    int batch;
    double lr;
    double l2;
    double prior_power;
    long min_count;
    int members;   /* networks trained from different seeds whose scores are averaged: stored
                      as one network of hidden * members units (at most 64) */
    uint64_t seed;
    int rule_inputs;  /* as in bc_fit_opts */
} bc_mlp_opts;

/* The defaults, chosen by 4-fold (by record) cross-validation on DS1, the epoch count included
 * (early stopping; see cmd/cmd_train.c). */
void bc_mlp_opts_default(bc_mlp_opts *o);

/* Called after each epoch (1-based) with the model so far, e.g. to score held-out records. */
typedef void (*bc_epoch_fn)(void *ctx, int epoch, const bc_model *m);

/* Fits the MLP to n feature vectors, as bc_fit does the discriminant: same inputs, same bytes
 * (fixed seed, OpenBLAS on one thread, sgemm for every layer). on_epoch may be NULL. Returns 0
 * and *out (a version 2 model), or -1 with err. */
int bc_fit_mlp(const float *X, const char *y, size_t n, const char *records, const bc_mlp_opts *opts,
               bc_epoch_fn on_epoch, void *ctx, bc_model **out, char *err, size_t errlen);

#endif
