/* rhythm_score.h — AF and ventricular flutter found on one annotated WFDB record, scored against
 * its rhythm annotations (the work behind `ecgnet eval --rhythm` and the accuracy tests). */
#ifndef ECGNET_MODELS_RHYTHM_SCORE_H
#define ECGNET_MODELS_RHYTHM_SCORE_H

#include "beatclass.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double fs;
    int64_t tp, fn, fp; /* samples of AF: both, reference only, detection only */
    int64_t vfl_tp, vfl_fn, vfl_fp; /* samples of VFL, the same way */
    int vfl_ref;        /* reference VFL episodes ('[' ... ']') */
    int vfl_ref_found;  /* of them, overlapped by a detected VFL episode */
    int vfl_det;        /* detected VFL episodes */
    int vfl_det_true;   /* of them, overlapping a reference VFL episode */
    int64_t vfl_first_delay; /* samples from the start of the first reference VFL episode
                                with a detected one starting inside it to that start; -1: none */
} rh_af_score;

/* Runs the pipeline (monitoring filter and beat detection) over the record PATH (WFDB, without
 * extension), feeds its beats to rh_stream with each beat's P-wave correlation (rhythm_pwave.h)
 * when use_atrial is 1 (RR intervals alone when 0), builds the reference episodes from PATH.atr
 * and compares AF (AFIB or AFL) and ventricular flutter (VFL) over the whole record. model, when
 * not NULL, labels the beats as `ecgnet analyze` does (the rhythm analysis leaves ventricular
 * beats out of its P-wave check, and finds VT, bigeminy and trigeminy); it needs use_atrial 1
 * (the classifier needs the filtered signal, which brings the P waves with it). NULL: every beat
 * is 'N'. The model stays the caller's. Returns 0 and fills *out, or -1 with a message naming the
 * file in err. Streams the record (memory: the pipeline's state and its result). */
int rh_score_af_record(const char *path, int use_atrial, const bc_model *model, rh_af_score *out, char *err,
                       size_t errlen);

/* Resting-ECG scoring: the record cut into consecutive segments of `seconds` (the last, shorter,
 * one dropped), each analysed on its own as a separate recording would be (a fresh pipeline, the
 * default monitoring filter, model as above). A segment is AF in the reference when at least
 * half of it lies in reference AFIB/AFL, and AF in the analysis when at least half of it lies in
 * AFIB/AFL episodes. */
typedef struct {
    int segments;       /* scored */
    int tp, fn, fp;     /* AF segments: both, reference only, analysis only */
} rh_af_segments;

/* Scores record PATH (WFDB, without extension) so. Returns 0 and fills *out, or -1 with a message
 * naming the file in err. Keeps the record's samples in memory (4 bytes a sample a lead). */
int rh_score_af_segments(const char *path, double seconds, const bc_model *model, rh_af_segments *out,
                         char *err, size_t errlen);

#endif
