/* test_ec57_classes.c — specification of the EC57 class statistics on hand-made labelled beat lists. */
#include "check.h"

#include "ec57_classes.h"

#include <stdint.h>

#define W 54 /* the 150 ms match window at 360 Hz */
#define N(a) (sizeof(a) / sizeof((a)[0]))

static ec57_confusion confusion(const int64_t *ref, const char *rc, size_t nref, const int64_t *test,
                                const char *tc, size_t ntest, int64_t from)
{
    ec57_confusion c;
    memset(&c, 0, sizeof c);
    ec57_classes_match(ref, rc, nref, test, tc, ntest, from, W, NULL, 0, &c);
    return c;
}

static void correct_labels_fill_the_diagonal(void)
{
    const int64_t ref[] = {100, 400, 700, 1000, 1300};
    const char rc[] = {'N', 'V', 'S', 'F', 'Q'};
    ec57_confusion c = confusion(ref, rc, N(ref), ref, rc, N(ref), 0);
    CHECK(c.m[EC57_N][EC57_N] == 1 && c.m[EC57_V][EC57_V] == 1 && c.m[EC57_S][EC57_S] == 1 &&
          c.m[EC57_F][EC57_F] == 1 && c.m[EC57_Q][EC57_Q] == 1, "one beat of each class on the diagonal");
    ec57_class_stats v;
    ec57_class_stats_of(&c, 'V', &v);
    CHECK(v.tp == 1 && v.fn == 0 && v.fp == 0, "V: TP %ld FN %ld FP %ld", v.tp, v.fn, v.fp);
    CHECK_NEAR(v.se, 100.0, 1e-9, "V Se");
    CHECK_NEAR(v.ppv, 100.0, 1e-9, "V +P");
    CHECK_NEAR(v.fpr, 0.0, 1e-9, "V FPR");
}

static void a_missed_reference_v_counts_against_v_sensitivity(void)
{
    const int64_t ref[] = {100, 400, 700, 1000};
    const char rc[] = {'N', 'V', 'V', 'N'};
    const int64_t test[] = {100, 400, 1000}; /* the V at 700 is not detected */
    const char tc[] = {'N', 'V', 'N'};
    ec57_confusion c = confusion(ref, rc, N(ref), test, tc, N(test), 0);
    CHECK(c.m[EC57_V][EC57_O] == 1, "the missed V is in column O: %ld", c.m[EC57_V][EC57_O]);
    ec57_class_stats v;
    ec57_class_stats_of(&c, 'V', &v);
    CHECK(v.tp == 1 && v.fn == 1, "V TP %ld FN %ld, want 1 1", v.tp, v.fn);
    CHECK_NEAR(v.se, 50.0, 1e-9, "V Se with one of two found");
}

static void any_beat_labelled_v_counts_in_v_positive_predictivity(void)
{
    const int64_t ref[] = {100, 400, 700, 1000};
    const char rc[] = {'N', 'V', 'S', 'F'};
    /* V right once; an N, an S and an extra detection (at 1200, no beat) called V. */
    const int64_t test[] = {100, 400, 700, 1000, 1200};
    const char tc[] = {'V', 'V', 'V', 'N', 'V'};
    ec57_confusion c = confusion(ref, rc, N(ref), test, tc, N(test), 0);
    CHECK(c.m[EC57_O][EC57_V] == 1, "the unpaired detection is in row O: %ld", c.m[EC57_O][EC57_V]);
    ec57_class_stats v;
    ec57_class_stats_of(&c, 'V', &v);
    CHECK(v.tp == 1 && v.fp == 3, "V TP %ld FP %ld, want 1 3", v.tp, v.fp);
    CHECK_NEAR(v.ppv, 25.0, 1e-9, "V +P");
    /* FPR: the N and the S called V among the 3 non-V reference beats (N, S, F). */
    CHECK(v.negatives == 3, "non-V reference beats %ld, want 3", v.negatives);
    CHECK_NEAR(v.fpr, 200.0 / 3.0, 1e-9, "V FPR");
}

static void s_statistics_count_s_beats_called_otherwise_and_others_called_s(void)
{
    const int64_t ref[] = {100, 400, 700, 1000, 1300, 1600};
    const char rc[] = {'S', 'S', 'S', 'N', 'N', 'V'};
    const char tc[] = {'S', 'N', 'S', 'S', 'N', 'S'};
    ec57_confusion c = confusion(ref, rc, N(ref), ref, tc, N(ref), 0);
    ec57_class_stats s;
    ec57_class_stats_of(&c, 'S', &s);
    CHECK(s.tp == 2 && s.fn == 1 && s.fp == 2, "S TP %ld FN %ld FP %ld, want 2 1 2", s.tp, s.fn, s.fp);
    CHECK_NEAR(s.se, 200.0 / 3.0, 1e-9, "S Se");
    CHECK_NEAR(s.ppv, 50.0, 1e-9, "S +P");
    CHECK_NEAR(s.fpr, 200.0 / 3.0, 1e-9, "S FPR: 2 of the 3 non-S beats");
}

static void beats_before_the_start_and_in_excluded_spans_are_not_counted(void)
{
    const int64_t ref[] = {100, 400, 700, 1000};
    const char rc[] = {'V', 'V', 'N', 'N'};
    const int64_t test[] = {100, 700, 850, 1000};
    const char tc[] = {'N', 'V', 'V', 'N'};
    ec57_confusion c;
    memset(&c, 0, sizeof c);
    const ec57_span ex[] = {{800, 900}};
    ec57_classes_match(ref, rc, N(ref), test, tc, N(test), 500, W, ex, N(ex), &c);
    long total = 0;
    for (int r = 0; r < EC57_NCLASS; r++)
        for (int k = 0; k < EC57_NCLASS; k++) total += c.m[r][k];
    CHECK(total == 2, "only the N at 700 (called V) and the N at 1000 count: %ld", total);
    CHECK(c.m[EC57_N][EC57_V] == 1 && c.m[EC57_N][EC57_N] == 1, "N->V %ld, N->N %ld",
          c.m[EC57_N][EC57_V], c.m[EC57_N][EC57_N]);
}

static void a_detection_paired_with_a_non_beat_is_in_row_o(void)
{
    const int64_t ref[] = {100, 400};
    const char rc[] = {'N', 0}; /* 400: e.g. a flutter wave, not an EC57 beat */
    const char tc[] = {'N', 'V'};
    ec57_confusion c = confusion(ref, rc, N(ref), ref, tc, N(ref), 0);
    CHECK(c.m[EC57_O][EC57_V] == 1, "row O column V: %ld", c.m[EC57_O][EC57_V]);
    ec57_class_stats v;
    ec57_class_stats_of(&c, 'V', &v);
    CHECK(v.fp == 1 && v.negatives == 1, "V FP %ld negatives %ld, want 1 1", v.fp, v.negatives);
    CHECK_NEAR(v.fpr, 0.0, 1e-9, "no reference beat was called V");
}

static void pairing_agrees_with_the_qrs_matcher(void)
{
    const int64_t ref[] = {100, 400, 700, 1000};
    const int64_t test[] = {90, 120, 400 + W, 705, 1300};
    long pair[N(test)];
    ec57_pair(ref, N(ref), test, N(test), W, pair);
    CHECK(pair[0] == 0 && pair[1] == -1, "90 pairs with 100, 120 is extra: %ld %ld", pair[0], pair[1]);
    CHECK(pair[2] == 1 && pair[3] == 2 && pair[4] == -1, "pairs %ld %ld %ld", pair[2], pair[3], pair[4]);
    ec57_counts qc = {0, 0, 0};
    ec57_match(ref, NULL, N(ref), test, N(test), 0, W, NULL, 0, &qc);
    long tp = 0;
    for (size_t j = 0; j < N(test); j++) tp += pair[j] >= 0;
    CHECK(tp == qc.tp, "pairs %ld, ec57_match TP %ld", tp, qc.tp);
}

int main(void)
{
    RUN(correct_labels_fill_the_diagonal);
    RUN(a_missed_reference_v_counts_against_v_sensitivity);
    RUN(any_beat_labelled_v_counts_in_v_positive_predictivity);
    RUN(s_statistics_count_s_beats_called_otherwise_and_others_called_s);
    RUN(beats_before_the_start_and_in_excluded_spans_are_not_counted);
    RUN(a_detection_paired_with_a_non_beat_is_in_row_o);
    RUN(pairing_agrees_with_the_qrs_matcher);
    return check_report();
}
