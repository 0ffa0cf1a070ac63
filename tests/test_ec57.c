/* test_ec57.c — specification of the EC57 beat-by-beat matcher on hand-made beat lists. */
#include "check.h"

#include "ec57.h"

#include <stdint.h>

#define W 54 /* the 150 ms match window at 360 Hz */

/* Element count of a fixed array. */
#define N(a) (sizeof(a) / sizeof((a)[0]))

static ec57_counts match(const int64_t *ref, size_t nref, const int64_t *test, size_t ntest, int64_t from,
                         const ec57_span *ex, size_t nex)
{
    ec57_counts c = {0, 0, 0};
    ec57_match(ref, NULL, nref, test, ntest, from, W, ex, nex, &c);
    return c;
}

#define CHECK_COUNTS(c, etp, efn, efp, what)                                                        \
    CHECK((c).tp == (etp) && (c).fn == (efn) && (c).fp == (efp), "%s: TP %ld FN %ld FP %ld, want %d %d %d", \
          (what), (c).tp, (c).fn, (c).fp, (etp), (efn), (efp))

static void exact_matches_are_true_positives(void)
{
    const int64_t ref[] = {100, 400, 700, 1000};
    ec57_counts c = match(ref, N(ref), ref, N(ref), 0, NULL, 0);
    CHECK_COUNTS(c, 4, 0, 0, "identical lists");
    const int64_t test[] = {100 + W, 400 - W, 700 + 1, 1000 - 1};
    c = match(ref, N(ref), test, N(test), 0, NULL, 0);
    CHECK_COUNTS(c, 4, 0, 0, "each detection within the window of its beat");
}

static void an_extra_detection_is_a_false_positive(void)
{
    const int64_t ref[] = {100, 400, 700};
    const int64_t test[] = {100, 250, 400, 700, 900};
    ec57_counts c = match(ref, N(ref), test, N(test), 0, NULL, 0);
    CHECK_COUNTS(c, 3, 0, 2, "detections at 250 and 900 belong to no beat");
}

static void a_missing_detection_is_a_false_negative(void)
{
    const int64_t ref[] = {100, 400, 700, 1000};
    const int64_t test[] = {100, 700};
    ec57_counts c = match(ref, N(ref), test, N(test), 0, NULL, 0);
    CHECK_COUNTS(c, 2, 2, 0, "beats at 400 and 1000 missed");
    c = match(ref, N(ref), test, 0, 0, NULL, 0);
    CHECK_COUNTS(c, 0, 4, 0, "no detections at all");
    c = match(ref, 0, test, N(test), 0, NULL, 0);
    CHECK_COUNTS(c, 0, 0, 2, "no reference beats at all");
}

static void a_detection_exactly_one_window_away_matches_and_one_more_sample_does_not(void)
{
    const int64_t ref[] = {1000};
    const int64_t late[] = {1000 + W}, early[] = {1000 - W};
    const int64_t too_late[] = {1000 + W + 1}, too_early[] = {1000 - W - 1};
    ec57_counts c = match(ref, 1, late, 1, 0, NULL, 0);
    CHECK_COUNTS(c, 1, 0, 0, "window samples late");
    c = match(ref, 1, early, 1, 0, NULL, 0);
    CHECK_COUNTS(c, 1, 0, 0, "window samples early");
    c = match(ref, 1, too_late, 1, 0, NULL, 0);
    CHECK_COUNTS(c, 0, 1, 1, "window + 1 samples late");
    c = match(ref, 1, too_early, 1, 0, NULL, 0);
    CHECK_COUNTS(c, 0, 1, 1, "window + 1 samples early");
}

/* Which of two detections was paired is told apart by excluding the other one's place: an
 * unmatched detection inside an excluded span is no false positive. */
static void of_two_detections_near_one_beat_the_nearer_wins_and_the_other_is_a_false_positive(void)
{
    const int64_t ref[] = {1000};
    const int64_t far_first[] = {960, 1010}, near_first[] = {995, 1040};
    ec57_counts c = match(ref, 1, far_first, 2, 0, NULL, 0);
    CHECK_COUNTS(c, 1, 0, 1, "960 and 1010 around 1000");
    ec57_span at960 = {950, 970}, at1010 = {1005, 1015};
    c = match(ref, 1, far_first, 2, 0, &at960, 1);
    CHECK_COUNTS(c, 1, 0, 0, "960 is the unmatched one");
    c = match(ref, 1, far_first, 2, 0, &at1010, 1);
    CHECK_COUNTS(c, 1, 0, 1, "1010 is not the unmatched one");

    c = match(ref, 1, near_first, 2, 0, NULL, 0);
    CHECK_COUNTS(c, 1, 0, 1, "995 and 1040 around 1000");
    ec57_span at1040 = {1030, 1050}, at995 = {990, 1000};
    c = match(ref, 1, near_first, 2, 0, &at1040, 1);
    CHECK_COUNTS(c, 1, 0, 0, "1040 is the unmatched one");
    c = match(ref, 1, near_first, 2, 0, &at995, 1);
    CHECK_COUNTS(c, 1, 0, 1, "995 is not the unmatched one");
}

/* The mirror case: one detection between two beats goes to the nearer beat. Which beat was
 * missed is told apart by `from`, which drops beats before it from the counts. */
static void of_two_beats_near_one_detection_the_nearer_is_matched_and_the_other_missed(void)
{
    const int64_t ref[] = {1000, 1060}, test[] = {1045};
    ec57_counts c = match(ref, 2, test, 1, 0, NULL, 0);
    CHECK_COUNTS(c, 1, 1, 0, "1045 between 1000 and 1060");
    c = match(ref, 2, test, 1, 1001, NULL, 0);
    CHECK_COUNTS(c, 1, 0, 0, "the missed beat is 1000 (before from)");
}

static void detections_before_from_are_not_counted(void)
{
    const int64_t ref[] = {2000, 2300};
    const int64_t test[] = {10, 500, 1999 - W - 1, 2000, 2300};
    ec57_counts c = match(ref, N(ref), test, N(test), 1000, NULL, 0);
    CHECK_COUNTS(c, 2, 0, 1, "unmatched 10 and 500 are before from, 1944 is not");
}

static void reference_beats_before_from_are_not_counted(void)
{
    const int64_t ref[] = {100, 400, 999, 1000, 1300};
    const int64_t test[] = {100, 1300};
    ec57_counts c = match(ref, N(ref), test, N(test), 1000, NULL, 0);
    CHECK_COUNTS(c, 1, 1, 0, "only 1000 (missed) and 1300 (found) count; the found 100 is no TP");
    const int64_t early_test[] = {1000 - 20}; /* a detection before from matched to a beat after it */
    const int64_t one_ref[] = {1000};
    c = match(one_ref, 1, early_test, 1, 1000, NULL, 0);
    CHECK_COUNTS(c, 1, 0, 0, "a pair counts by its reference beat's time");
}

static void unmatched_detections_inside_excluded_spans_are_not_false_positives_but_outside_are(void)
{
    const int64_t ref[] = {100, 3000};
    const int64_t test[] = {100, 1000, 1500, 1999, 2000, 2500, 3000};
    const ec57_span vf = {1000, 2000}; /* [start, end): 2000 lies outside */
    ec57_counts c = match(ref, N(ref), test, N(test), 0, &vf, 1);
    CHECK_COUNTS(c, 2, 0, 2, "1000, 1500, 1999 excluded; 2000 and 2500 are FP");
    const ec57_span two[] = {{900, 1200}, {2400, 2600}};
    c = match(ref, N(ref), test, N(test), 0, two, 2);
    CHECK_COUNTS(c, 2, 0, 3, "1000 and 2500 excluded; 1500, 1999 and 2000 are FP");
}

static void a_beat_inside_an_excluded_span_is_still_counted(void)
{
    const int64_t ref[] = {1500}, test[] = {1510};
    const ec57_span vf = {1000, 2000};
    ec57_counts c = match(ref, 1, test, 1, 0, &vf, 1);
    CHECK_COUNTS(c, 1, 0, 0, "matched inside the span");
    c = match(ref, 1, test, 0, 0, &vf, 1);
    CHECK_COUNTS(c, 0, 1, 0, "missed inside the span");
}

static void counts_are_added_to_the_accumulator(void)
{
    const int64_t ref[] = {100, 400}, test[] = {100, 250};
    ec57_counts acc = {10, 20, 30};
    ec57_match(ref, NULL, 2, test, 2, 0, W, NULL, 0, &acc);
    ec57_match(ref, NULL, 2, test, 2, 0, W, NULL, 0, &acc);
    CHECK(acc.tp == 12 && acc.fn == 22 && acc.fp == 32, "TP %ld FN %ld FP %ld, want 12 22 32", acc.tp, acc.fn,
          acc.fp);
}

static void sensitivity_and_positive_predictivity_are_percentages_and_100_with_nothing_to_count(void)
{
    ec57_counts c = {90, 10, 30};
    CHECK_NEAR(ec57_se(&c), 90.0, 1e-12, "Se = 90 / (90 + 10)");
    CHECK_NEAR(ec57_ppv(&c), 75.0, 1e-12, "+P = 90 / (90 + 30)");
    ec57_counts none = {0, 0, 0};
    CHECK(ec57_se(&none) == 100.0 && ec57_ppv(&none) == 100.0, "Se %g +P %g with nothing counted", ec57_se(&none),
          ec57_ppv(&none));
    ec57_counts only_fp = {0, 0, 5}, only_fn = {0, 5, 0};
    CHECK(ec57_se(&only_fp) == 100.0 && ec57_ppv(&only_fp) == 0.0, "only FP: Se %g +P %g", ec57_se(&only_fp),
          ec57_ppv(&only_fp));
    CHECK(ec57_se(&only_fn) == 0.0 && ec57_ppv(&only_fn) == 100.0, "only FN: Se %g +P %g", ec57_se(&only_fn),
          ec57_ppv(&only_fn));
}

static void a_detection_paired_with_an_uncounted_reference_annotation_is_a_false_positive(void)
{
    /* bxb's 'O' class: a flutter wave '!' outside a bracketed episode takes part in matching but
     * is no beat — the detection on it is extra, and missing it is no miss. */
    const int64_t ref[] = {1000, 2000, 3000};
    const uint8_t counted[] = {1, 0, 1};
    const int64_t test[] = {1002, 2001, 3003};
    ec57_counts c = {0, 0, 0};
    ec57_match(ref, counted, 3, test, 3, 0, W, NULL, 0, &c);
    CHECK(c.tp == 2 && c.fn == 0 && c.fp == 1, "tp %ld fn %ld fp %ld", c.tp, c.fn, c.fp);
    const int64_t fewer[] = {1002, 3003};
    c = (ec57_counts){0, 0, 0};
    ec57_match(ref, counted, 3, fewer, 2, 0, W, NULL, 0, &c);
    CHECK(c.tp == 2 && c.fn == 0 && c.fp == 0, "tp %ld fn %ld fp %ld", c.tp, c.fn, c.fp);
}

int main(void)
{
    RUN(exact_matches_are_true_positives);
    RUN(an_extra_detection_is_a_false_positive);
    RUN(a_missing_detection_is_a_false_negative);
    RUN(a_detection_exactly_one_window_away_matches_and_one_more_sample_does_not);
    RUN(of_two_detections_near_one_beat_the_nearer_wins_and_the_other_is_a_false_positive);
    RUN(of_two_beats_near_one_detection_the_nearer_is_matched_and_the_other_missed);
    RUN(detections_before_from_are_not_counted);
    RUN(reference_beats_before_from_are_not_counted);
    RUN(unmatched_detections_inside_excluded_spans_are_not_false_positives_but_outside_are);
    RUN(a_beat_inside_an_excluded_span_is_still_counted);
    RUN(counts_are_added_to_the_accumulator);
    RUN(sensitivity_and_positive_predictivity_are_percentages_and_100_with_nothing_to_count);
    RUN(a_detection_paired_with_an_uncounted_reference_annotation_is_a_false_positive);
    return check_report();
}
