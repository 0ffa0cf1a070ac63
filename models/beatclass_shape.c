/* beatclass_shape.c — correlation and alignment of beat windows (see beatclass_shape.h). The
 * loops are written for the compiler to vectorise (`omp simd` reductions: the sums' order may
 * change, their precision stays double). */
#include "beatclass_shape.h"

#include <math.h>
#include <stdlib.h>

_Static_assert(BC_QRS_FROM - BC_SHIFT_MAX >= 0 && BC_QRS_TO + BC_SHIFT_MAX < BC_G,
               "alignment window off the grid");

enum { QN = BC_QRS_TO - BC_QRS_FROM + 1 };

/* Is a variance taken as sum of squares minus squared sum (ss) zero but for rounding? */
static int flat(double var, double ss)
{
    return !(var > 1e-9 * ss);
}

double bc_corr(const float *a, const float *b, int n)
{
    double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
#pragma omp simd reduction(+ : sa, sb, saa, sbb, sab)
    for (int k = 0; k < n; k++) {
        double x = a[k], y = b[k];
        sa += x;
        sb += y;
        saa += x * x;
        sbb += y * y;
        sab += x * y;
    }
    double va = saa - sa * sa / n, vb = sbb - sb * sb / n, cov = sab - sa * sb / n;
    return flat(va, saa) || flat(vb, sbb) ? 0.0 : cov / sqrt(va * vb);
}

void bc_prefix_of(const float *w, bc_prefix *p)
{
    for (int l = 0; l < BC_NL; l++) {
        const float *x = w + l * BC_G;
        p->s[l][0] = p->ss[l][0] = 0;
        for (int k = 0; k < BC_G; k++) {
            p->s[l][k + 1] = p->s[l][k] + x[k];
            p->ss[l][k + 1] = p->ss[l][k] + (double)x[k] * x[k];
        }
    }
}

static double dot(const float *a, const float *b, int n)
{
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int k = 0; k < n; k++) s += (double)a[k] * b[k];
    return s;
}

/* Both leads' correlation at shift sh; the template's sums sb and variances vb given. */
static double corr_at_shift(const float *w, const bc_prefix *pw, const float *t, const double *sb,
                            const double *vb, int sh)
{
    double c = 0;
    for (int l = 0; l < BC_NL; l++) {
        int lo = BC_QRS_FROM + sh, hi = BC_QRS_TO + sh + 1;
        double sa = pw->s[l][hi] - pw->s[l][lo], saa = pw->ss[l][hi] - pw->ss[l][lo];
        double sab = dot(w + l * BC_G + lo, t + l * BC_G + BC_QRS_FROM, QN);
        double va = saa - sa * sa / QN, cov = sab - sa * sb[l] / QN;
        c += 0.5 * (flat(va, saa) || !(vb[l] > 0) ? 0.0 : cov / sqrt(va * vb[l]));
    }
    return c;
}

static void try_shift(const float *w, const bc_prefix *pw, const float *t, const double *sb,
                      const double *vb, int sh, int *best, double *bc)
{
    double c = corr_at_shift(w, pw, t, sb, vb, sh);
    if (c > *bc + 1e-9 || (c > *bc - 1e-9 && abs(sh) < abs(*best))) {
        *bc = c;
        *best = sh;
    }
}

int bc_align(const float *w, const bc_prefix *pw, const float *t, int step, double *best_corr)
{
    double sb[BC_NL], vb[BC_NL];
    for (int l = 0; l < BC_NL; l++) {
        const float *x = t + l * BC_G + BC_QRS_FROM;
        double s = 0, ss = 0;
#pragma omp simd reduction(+ : s, ss)
        for (int k = 0; k < QN; k++) {
            s += x[k];
            ss += (double)x[k] * x[k];
        }
        sb[l] = s;
        vb[l] = flat(ss - s * s / QN, ss) ? 0.0 : ss - s * s / QN;
    }
    int best = 0;
    double bc = -2;
    /* Coarse: most beats already line up with their own shape, and then no shift can do much
     * better than 0.98. */
    if (step > 1 && (bc = corr_at_shift(w, pw, t, sb, vb, 0)) >= 0.98) {
        *best_corr = bc;
        return 0;
    }
    for (int sh = -BC_SHIFT_MAX; sh <= BC_SHIFT_MAX; sh += step) try_shift(w, pw, t, sb, vb, sh, &best, &bc);
    if (step > 1) {
        int mid = best;
        for (int sh = mid - 1; sh <= mid + 1; sh += 2)
            if (sh >= -BC_SHIFT_MAX && sh <= BC_SHIFT_MAX) try_shift(w, pw, t, sb, vb, sh, &best, &bc);
    }
    *best_corr = bc;
    return best;
}

double bc_align_corr_ref(const float *w, const float *t, int shift)
{
    double c = 0;
    for (int l = 0; l < BC_NL; l++) {
        const float *a = w + l * BC_G + BC_QRS_FROM + shift, *b = t + l * BC_G + BC_QRS_FROM;
        double ma = 0, mb = 0;
        for (int k = 0; k < QN; k++) {
            ma += a[k];
            mb += b[k];
        }
        ma /= QN;
        mb /= QN;
        double sab = 0, saa = 0, sbb = 0;
        for (int k = 0; k < QN; k++) {
            sab += (a[k] - ma) * (b[k] - mb);
            saa += (a[k] - ma) * (a[k] - ma);
            sbb += (b[k] - mb) * (b[k] - mb);
        }
        c += 0.5 * (saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0.0);
    }
    return c;
}
