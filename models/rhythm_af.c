/* rhythm_af.c — AF decision on a window of RR intervals (Dash et al. 2009: nRMSSD, entropy, TPR). */
#include "rhythm_af.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ENTROPY_BINS 16
/* Turning points: consistent with a random order at p = 0.001 (two-sided); Dash et al.'s 95 %
 * rejects one AF window in twenty by chance, and AF is not perfectly random in order. */
#define TPR_Z 3.29
/* A period of 2 or 3 beats that halves the successive differences is ectopy, not AF. */
#define PERIODIC_MIN 0.5

/* Moves the elements of a[lo..hi) that satisfy the test (v < p, or v == p) to the front, in
 * one pass without branches on the data: quickselect's partitions mispredict half their
 * branches, and this runs several times for every RR interval. Returns the end of the front. */
static size_t front(double *a, size_t lo, size_t hi, double p, int equal)
{
    /* Every element swaps with the first one that failed the test (Alexandrescu's branchless
     * Lomuto): one that fails stays among those that failed, one that passes joins the front. */
    size_t f = lo;
    for (size_t i = lo; i < hi; i++) {
        double v = a[i];
        a[i] = a[f];
        a[f] = v;
        f += (size_t)(equal ? v == p : v < p);
    }
    return f;
}

double rh_select(double *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        double x = a[lo], y = a[lo + (hi - lo) / 2], z = a[hi - 1];
        double p = x < y ? (y < z ? y : x < z ? z : x) : (x < z ? x : y < z ? z : y); /* median of 3 */
        size_t lt = front(a, lo, hi, p, 0), eq = front(a, lt, hi, p, 1);
        if (k < lt) hi = lt;
        else if (k < eq || eq == lt) return p; /* eq == lt: p is NaN, which the caller must not pass */
        else lo = eq;
    }
    return a[lo];
}

void rh_af_measure(const double *rr, size_t n, rh_af_features *f)
{
    memset(f, 0, sizeof *f);
    if (n < 8 || n > 4096) return;
    double scratch[4096];
    size_t trim = n / 16;
    memcpy(scratch, rr, n * sizeof *rr);
    /* Each select leaves the array split at its index (smaller before, larger after), so the
     * next one looks only at the part that holds its rank. */
    double lo = rh_select(scratch, n, trim);
    size_t from = trim + 1, to = n - 1 - trim; /* n >= 8: trim < n / 2 < to */
    double hi = rh_select(scratch + from, n - from, to - from);
    double median = rh_select(scratch + from, to - from, n / 2 - from);

    /* The trimmed sequence in its own order: successive differences skip the dropped beats. */
    double sum = 0, ssd = 0, prev = 0;
    size_t kept = 0, ndiff = 0;
    int hist[ENTROPY_BINS] = {0};
    for (size_t i = 0; i < n; i++) {
        double x = rr[i];
        if (x < lo || x > hi) continue;
        sum += x;
        if (kept) {
            ssd += (x - prev) * (x - prev);
            ndiff++;
        }
        prev = x;
        kept++;
        int b = hi > lo ? (int)((x - lo) / (hi - lo) * ENTROPY_BINS) : 0;
        hist[b < ENTROPY_BINS ? b : ENTROPY_BINS - 1]++;
    }
    double mean = sum / (double)kept;
    f->nrmssd = (ndiff && mean > 0) ? sqrt(ssd / (double)ndiff) / mean : 0;
    double h = 0;
    for (int b = 0; b < ENTROPY_BINS; b++) {
        if (!hist[b]) continue;
        double p = (double)hist[b] / (double)kept;
        h -= p * log(p);
    }
    /* Normalised by the most that `kept` values can reach: fewer values than bins (a resting
     * 10-s ECG) cannot fill the histogram, however irregular they are. */
    size_t reach = kept < ENTROPY_BINS ? kept : ENTROPY_BINS;
    f->entropy = reach > 1 ? h / log((double)reach) : 0.0;
    size_t tp = 0;
    for (size_t i = 1; i + 1 < n; i++)
        if ((rr[i] > rr[i - 1] && rr[i] > rr[i + 1]) || (rr[i] < rr[i - 1] && rr[i] < rr[i + 1])) tp++;
    f->tpr = (double)tp / (double)(n - 2);

    /* How much of the successive variation a bigeminal or trigeminal period explains: the median
     * absolute difference at lag 2 and 3 against lag 1 (all equal for a random sequence). */
    double med[4] = {0};
    for (size_t lag = 1; lag <= 3; lag++) {
        double d[4096];
        size_t m = 0;
        for (size_t i = lag; i < n; i++) d[m++] = fabs(rr[i] - rr[i - lag]);
        med[lag] = m ? rh_select(d, m, m / 2) : 0;
    }
    double best = med[2] < med[3] ? med[2] : med[3];

    /* Ectopy removed as HRV editing does it (the 20 % rule): an interval more than 20 % shorter
     * than the window's median leaves the sequence with the one after it (its compensatory pause
     * or reset); the successive differences of what remains stay large only in AF. (Removing
     * long intervals as well was tried: it costs AF more than it saves: Se 97 -> 88 %.) */
    double esum = 0, essd = 0;
    size_t ekept = 0, ediff = 0;
    int prev_kept = 0;
    for (size_t i = 0; i < n; i++) {
        int ectopic = rr[i] < 0.8 * median || (i > 0 && rr[i - 1] < 0.8 * median);
        if (ectopic) {
            prev_kept = 0;
            continue;
        }
        esum += rr[i];
        ekept++;
        if (prev_kept) {
            essd += (rr[i] - rr[i - 1]) * (rr[i] - rr[i - 1]);
            ediff++;
        }
        prev_kept = 1;
    }
    f->kept = (double)ekept / (double)n;
    f->nrmssd_sinus = (ediff >= 4 && esum > 0) ? sqrt(essd / (double)ediff) / (esum / (double)ekept) : 0;
    f->periodic = med[1] > 0 ? best / med[1] : 1.0;
}

int rh_af_decide(const rh_af_features *f, size_t n)
{
    if (n < 8) return 0;
    /* Turning points of n random values: mean (2n-4)/3, variance (16n-29)/90. */
    double mu = (2.0 * (double)n - 4.0) / 3.0, sd = sqrt((16.0 * (double)n - 29.0) / 90.0);
    double tp = f->tpr * (double)(n - 2);
    return f->nrmssd >= 0.1 && f->entropy >= 0.7 && fabs(tp - mu) <= TPR_Z * sd &&
           f->periodic >= PERIODIC_MIN && f->nrmssd_sinus >= 0.1;
}
