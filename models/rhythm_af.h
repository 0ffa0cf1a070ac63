/* rhythm_af.h — is a window of RR intervals atrial fibrillation? (irregularity without a pattern) */
#ifndef ECGNET_MODELS_RHYTHM_AF_H
#define ECGNET_MODELS_RHYTHM_AF_H

#include <stddef.h>

/* Beats per AF decision window: 64 RR intervals (about 45-60 s in AF), long enough for the
 * turning-point and entropy statistics to be stable, short enough for paroxysms of a minute. */
#define RH_AF_WINDOW 64

typedef struct {
    double nrmssd;   /* RMSSD / mean RR after trimming the extremes */
    double entropy;  /* Shannon entropy of the trimmed RR histogram, 16 bins, over the most
                        its values can reach (log of min(values, 16)): 0..1 */
    double tpr;      /* turning-point ratio of the whole window (2/3 for random order) */
    double kept;     /* fraction of intervals left once premature ones and their successors go */
    double nrmssd_sinus; /* RMSSD / mean over those (successive pairs both left) */
    double periodic; /* median |RR[i]-RR[i-L]| for the better of L = 2, 3 over that for L = 1 */
} rh_af_features;

/* Features of the RR intervals rr[0..n) (any unit), n >= 8. The method is Dash et al., Ann
 * Biomed Eng 37(9):1701 (2009): the n/16 longest and n/16 shortest intervals are dropped as
 * ectopic outliers; AF is irregular (normalised RMSSD), without clusters (entropy: bigeminy and
 * trigeminy have 2-3 RR values) and without order (turning points as a random sequence has). */
void rh_af_measure(const double *rr, size_t n, rh_af_features *f);

/* 1 when the features say AF: nRMSSD >= 0.1, entropy >= 0.7, and a turning-point count within
 * the 95 % range of a random sequence of n values (Dash et al.'s thresholds, not fitted here). */
int rh_af_decide(const rh_af_features *f, size_t n);

/* The k-th smallest of a[0..n) (k < n), found in place by quickselect: the order of a changes.
 * What a full sort would put at index k, in linear time (this runs for every RR interval). */
double rh_select(double *a, size_t n, size_t k);

#endif
