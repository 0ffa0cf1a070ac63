/* test_rhythm_af.c — specification of models/rhythm_af.h: rh_select, the selection every AF window
 * and rate median runs on (what a full sort would put at index k, whatever the input), and the
 * RR entropy's normalisation. */
#include "check.h"

#include "rhythm_af.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static unsigned next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng >> 32);
}

static int by_value(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* Arrays of every size up to 100 drawn from `distinct` values (few: many ties, as RR intervals
 * quantised to the sample rate have), every k checked against a sort. */
static void check_against_sort(unsigned distinct)
{
    double a[100], sorted[100], work[100];
    for (size_t n = 1; n <= 100; n++)
        for (int trial = 0; trial < 5; trial++) {
            for (size_t i = 0; i < n; i++) a[i] = 0.3 + 0.01 * (next() % distinct);
            memcpy(sorted, a, n * sizeof *a);
            qsort(sorted, n, sizeof *a, by_value);
            for (size_t k = 0; k < n; k++) {
                memcpy(work, a, n * sizeof *a);
                double v = rh_select(work, n, k);
                CHECK(v == sorted[k], "n %zu, k %zu: %g, a sort says %g", n, k, v, sorted[k]);
                qsort(work, n, sizeof *a, by_value); /* only reordered: the same multiset */
                CHECK(!memcmp(work, sorted, n * sizeof *a), "n %zu, k %zu: the values changed", n, k);
            }
        }
}

static void select_equals_a_sort_with_distinct_values(void) { check_against_sort(1000000); }

static void select_equals_a_sort_with_many_ties(void) { check_against_sort(3); }

static void select_equals_a_sort_when_all_values_are_equal(void) { check_against_sort(1); }

static void select_on_sorted_and_reversed_input(void)
{
    double a[64];
    for (int i = 0; i < 64; i++) a[i] = i;
    CHECK(rh_select(a, 64, 10) == 10.0, "sorted input");
    for (int i = 0; i < 64; i++) a[i] = 63 - i;
    CHECK(rh_select(a, 64, 50) == 50.0, "reversed input");
}

static void the_entropy_is_1_when_the_values_spread_as_far_as_their_count_allows(void)
{
    double rr[64];
    rh_af_features f;
    for (int i = 0; i < 12; i++) rr[i] = 0.5 + 0.05 * i; /* 12 values, one per bin they reach */
    rh_af_measure(rr, 12, &f);
    CHECK(fabs(f.entropy - 1.0) < 1e-9, "12 distinct values of a resting ECG: entropy %g", f.entropy);
    for (int i = 0; i < 64; i++) rr[i] = 0.5 + 0.01 * (i % 16) + 0.0001 * i; /* 4 per bin */
    rh_af_measure(rr, 64, &f);
    CHECK(f.entropy > 0.95, "64 values over all 16 bins: entropy %g", f.entropy);
    for (int i = 0; i < 12; i++) rr[i] = i % 2 ? 0.6 : 0.9; /* bigeminy: two values */
    rh_af_measure(rr, 12, &f);
    CHECK(fabs(f.entropy - log(2.0) / log(12.0)) < 1e-9, "two values among 12: entropy %g", f.entropy);
    for (int i = 0; i < 12; i++) rr[i] = 0.8;
    rh_af_measure(rr, 12, &f);
    CHECK(f.entropy == 0.0, "one value: entropy %g", f.entropy);
}

int main(void)
{
    RUN(select_equals_a_sort_with_distinct_values);
    RUN(select_equals_a_sort_with_many_ties);
    RUN(select_equals_a_sort_when_all_values_are_equal);
    RUN(select_on_sorted_and_reversed_input);
    RUN(the_entropy_is_1_when_the_values_spread_as_far_as_their_count_allows);
    return check_report();
}
