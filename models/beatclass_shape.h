/* beatclass_shape.h — private to the beat classifier: the beat window's grid and the shape
 * comparisons run for every beat against every template (correlation, alignment), kept fast. */
#ifndef ECGNET_MODELS_BEATCLASS_SHAPE_H
#define ECGNET_MODELS_BEATCLASS_SHAPE_H

/* A beat window: BC_NL leads of BC_G points on a 5-ms grid, -250..+400 ms around the fiducial
 * point (grid index BC_Z), lead-major: w[l * BC_G + k]. */
#define BC_NL 2
#define BC_STEP_MS 5
#define BC_PRE_MS 250
#define BC_POST_MS 400
#define BC_G ((BC_PRE_MS + BC_POST_MS) / BC_STEP_MS + 1)
#define BC_Z (BC_PRE_MS / BC_STEP_MS)
#define BC_GI(ms) (BC_Z + (ms) / BC_STEP_MS)   /* grid index of an offset in ms */
#define BC_SHIFT_MAX 8                          /* beats are aligned within +-40 ms */
#define BC_QRS_FROM BC_GI(-100)                 /* the QRS region the alignment compares */
#define BC_QRS_TO BC_GI(100)

/* Pearson correlation of a[0..n) and b[0..n), -1..1; 0 when either is flat. */
double bc_corr(const float *a, const float *b, int n);

/* Running sums of a window's leads, so that the QRS region's sum and sum of squares at any
 * shift cost two subtractions: s[l][k] = w[l][0] + ... + w[l][k - 1], ss likewise of squares. */
typedef struct {
    double s[BC_NL][BC_G + 1], ss[BC_NL][BC_G + 1];
} bc_prefix;

void bc_prefix_of(const float *w, bc_prefix *p);

/* The shift (grid points, |shift| <= BC_SHIFT_MAX) that best lines the QRS region of window w
 * (its sums pw) up with template t, both leads together, and that correlation (the mean of the
 * leads' Pearson correlations of w[k + shift] with t[k] over the QRS region) in *best_corr. Ties
 * go to the smaller |shift|. step 1 tries every shift; step 2 is coarse to fine (every other
 * shift, then the two beside the best; none when shift 0 already reaches 0.98): a third of the
 * work, exact for the smooth QRS at a 10 ms step. */
int bc_align(const float *w, const bc_prefix *pw, const float *t, int step, double *best_corr);

/* The same correlation at one shift, computed directly (two passes, no running sums): the
 * reference the tests hold bc_align to. */
double bc_align_corr_ref(const float *w, const float *t, int shift);

#endif
