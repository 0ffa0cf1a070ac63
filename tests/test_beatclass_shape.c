/* test_beatclass_shape.c — specification of the beat classifier's shape comparisons
 * (models/beatclass_shape.h): the fast correlation and alignment agree with direct two-pass
 * computations. */
#include "check.h"

#include "beatclass_shape.h"

#include <math.h>
#include <stdint.h>

static uint64_t rng = 88172645463325252ull;

static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* A beat-like window: a QRS (a Gaussian of width sigma grid points at centre) on an offset,
 * with noise, on both leads (the second lead inverted and smaller). */
static void beat(float *w, double centre, double sigma, double offset, double noise)
{
    for (int l = 0; l < BC_NL; l++)
        for (int k = 0; k < BC_G; k++) {
            double d = (k - centre) / sigma, amp = l ? -400.0 : 1000.0;
            w[l * BC_G + k] = (float)(offset + amp * exp(-0.5 * d * d) + noise * (uniform() - 0.5));
        }
}

static double corr_ref(const float *a, const float *b, int n)
{
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (int k = 0; k < n; k++) {
        ma += a[k];
        mb += b[k];
    }
    ma /= n;
    mb /= n;
    for (int k = 0; k < n; k++) {
        sab += (a[k] - ma) * (b[k] - mb);
        saa += (a[k] - ma) * (a[k] - ma);
        sbb += (b[k] - mb) * (b[k] - mb);
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0.0;
}

static void the_one_pass_correlation_equals_the_two_pass_one(void)
{
    float a[BC_NL * BC_G], b[BC_NL * BC_G];
    for (int trial = 0; trial < 200; trial++) {
        beat(a, BC_Z + 10 * (uniform() - 0.5), 2 + 6 * uniform(), 500 * (uniform() - 0.5), 200 * uniform());
        beat(b, BC_Z + 10 * (uniform() - 0.5), 2 + 6 * uniform(), 500 * (uniform() - 0.5), 200 * uniform());
        int n = 5 + (int)(uniform() * (BC_G - 5));
        CHECK_NEAR(bc_corr(a, b, n), corr_ref(a, b, n), 1e-9, "correlation");
    }
}

static void a_flat_window_correlates_zero_with_anything(void)
{
    float a[BC_NL * BC_G], flat[BC_NL * BC_G];
    beat(a, BC_Z, 4, 0, 10);
    for (int k = 0; k < BC_NL * BC_G; k++) flat[k] = 1234.5f; /* a constant: rounding must not matter */
    CHECK(bc_corr(a, flat, BC_G) == 0.0, "a constant window: %g", bc_corr(a, flat, BC_G));
    CHECK(bc_corr(flat, a, BC_G) == 0.0, "a constant window: %g", bc_corr(flat, a, BC_G));
    bc_prefix pf;
    bc_prefix_of(flat, &pf);
    double cc;
    int sh = bc_align(flat, &pf, a, 1, &cc);
    CHECK(cc == 0.0 && sh == 0, "a flat beat aligns nowhere: shift %d, correlation %g", sh, cc);
}

static void the_exact_alignment_finds_the_best_shift_of_the_direct_computation(void)
{
    float w[BC_NL * BC_G], t[BC_NL * BC_G];
    for (int trial = 0; trial < 200; trial++) {
        double move = 16 * (uniform() - 0.5);
        beat(t, BC_Z, 3 + 3 * uniform(), 300 * (uniform() - 0.5), 30);
        beat(w, BC_Z + move, 3 + 3 * uniform(), 300 * (uniform() - 0.5), 100 * uniform());
        bc_prefix pw;
        bc_prefix_of(w, &pw);
        double cc;
        int sh = bc_align(w, &pw, t, 1, &cc);
        double best = -2;
        int want = 0;
        for (int s = -BC_SHIFT_MAX; s <= BC_SHIFT_MAX; s++) {
            double c = bc_align_corr_ref(w, t, s);
            if (c > best + 1e-9 || (c > best - 1e-9 && abs(s) < abs(want))) {
                best = c;
                want = s;
            }
        }
        CHECK(sh == want, "trial %d: shift %d, the direct computation's best %d", trial, sh, want);
        CHECK_NEAR(cc, best, 1e-9, "aligned correlation");
        CHECK_NEAR(cc, bc_align_corr_ref(w, t, sh), 1e-9, "correlation at the shift found");
        if (fabs(move) < 6) CHECK(abs(sh - (int)lround(move)) <= 1, "moved %.1f, found %d", move, sh);
    }
}

static void the_coarse_alignment_lands_within_one_point_of_the_exact_one(void)
{
    float w[BC_NL * BC_G], t[BC_NL * BC_G];
    for (int trial = 0; trial < 200; trial++) {
        beat(t, BC_Z, 4, 0, 20);
        beat(w, BC_Z + 14 * (uniform() - 0.5), 4, 0, 20);
        bc_prefix pw;
        bc_prefix_of(w, &pw);
        double exact, coarse;
        int se = bc_align(w, &pw, t, 1, &exact), sc = bc_align(w, &pw, t, 2, &coarse);
        CHECK(coarse <= exact + 1e-12, "coarse %g beats exact %g", coarse, exact);
        CHECK(coarse >= 0.98 || sc == se, "trial %d: coarse shift %d (%.4f), exact %d (%.4f)", trial, sc,
              coarse, se, exact);
        CHECK_NEAR(coarse, bc_align_corr_ref(w, t, sc), 1e-9, "coarse correlation at its shift");
    }
}

int main(void)
{
    RUN(the_one_pass_correlation_equals_the_two_pass_one);
    RUN(a_flat_window_correlates_zero_with_anything);
    RUN(the_exact_alignment_finds_the_best_shift_of_the_direct_computation);
    RUN(the_coarse_alignment_lands_within_one_point_of_the_exact_one);
    return check_report();
}
