/* beatclass_model.h — private to the beat classifier: the model's layout, shared by the file
 * reader/writer (beatclass_model.c) and the trainers (beatclass_train.c, beatclass_mlp.c). */
#ifndef ECGNET_MODELS_BEATCLASS_MODEL_H
#define ECGNET_MODELS_BEATCLASS_MODEL_H

#include "beatclass.h"

#define BC_MODEL_VERSION_LDA 1 /* file version 1: a linear discriminant */
#define BC_MODEL_VERSION_MLP 2 /* file version 2: one hidden tanh layer, softmax output */
#define BC_MAX_CLASSES 5
#define BC_MAX_HIDDEN 64
#define BC_PROGRAM_VERSION "ecgnet 0.1.0" /* keep in step with `ecgnet --version` (cmd/main.c) */

struct bc_model {
    int version;           /* BC_MODEL_VERSION_LDA or BC_MODEL_VERSION_MLP */
    int nfeat, nclass;
    int nhidden;           /* MLP only */
    char classes[BC_MAX_CLASSES];
    float mean[BC_MAX_FEATURES], std[BC_MAX_FEATURES];     /* standardisation, as in the file */
    float inv_std[BC_MAX_FEATURES];                        /* 1/std, 0 for a constant feature */
    float w1[BC_MAX_HIDDEN * BC_MAX_FEATURES];             /* MLP hidden layer: w1[h * nfeat + f] */
    float b1[BC_MAX_HIDDEN];
    /* Output layer, class-major over its inputs (the features for the LDA, the hidden units for
     * the MLP): w[k * ninputs + i]. */
    float w[BC_MAX_CLASSES * BC_MAX_FEATURES];
    float bias[BC_MAX_CLASSES];
    char records[512];
    char date[32];
    char program[64];
    char describe[768];
};

/* Indices of the features the rules after the model read (beatclass_rules.c); beatclass.c
 * checks them against its feature names. */
enum {
    BC_F_RR_LOCAL = 2,
    BC_F_RR_PRE_LOCAL = 4,
    BC_F_RR_POST_LOCAL = 5,
    BC_F_AMP_RATIO = 20,   /* l0_amp_ratio; lead 1's is 6 further */
    BC_F_DOM_ACORR = 28,   /* dom_acorr_l0, dom_acorr_l1 */
    BC_F_WIDTH_DIFF = 33,
    BC_F_DOM_SPREAD = 34,
    BC_F_CLU_PREM = 35,
    BC_F_RHYTHM_AF = 37,   /* 1 when the last 32 RR intervals before the beat are AF */
};

/* 1 when the model reads feature i (0 for a rule-only feature the file gives std 0). */
int bc_model_reads(const bc_model *m, int i);

/* Fills m->describe from the other fields. */
void bc_model_set_describe(bc_model *m);


/* Shared by the trainers. Maps each beat's AAMI label to a class index of m (cls[i], -1 for a beat
 * left out), keeping the classes with at least min_count beats (m->classes, m->nclass, nk[k]
 * beats each); then sets m->mean/std/inv_std over the beats kept, each beat alike. Returns the
 * number of beats kept, or 0 with err (fewer than two classes, a non-finite feature). */
size_t bc_prepare(bc_model *m, const float *X, const char *y, size_t n, long min_count, int *cls,
                  long *nk, int rule_inputs, char *err, size_t errlen);

/* 1 for a feature the rules after the model read and the model leaves out unless asked
 * (dom_*, clu_*); such a feature gets std 0 in the file, which makes it no input at all. */
int bc_feature_rule_only(int i);

/* Sets the records, program and date lines ($SOURCE_DATE_EPOCH when set) and the description. */
void bc_model_stamp(bc_model *m, const char *records);

#endif
