/* ec57.h — ANSI/AAMI EC57 beat-by-beat comparison of detected beats with reference annotations,
 * as WFDB's bxb does it: a detection within the match window (150 ms) of a reference beat is a
 * true positive, each used at most once, the nearer pairing winning; statistics count from a start
 * sample (minute 5 in the standard protocol); unmatched detections inside reference ventricular
 * flutter/fibrillation episodes are not false positives (and the caller leaves out the reference
 * annotations inside them, as bxb does). Reference "beats" that EC57 does not count as beats
 * (bxb's 'O' class, e.g. ventricular flutter waves '!') take part in the pairing, but a detection
 * paired with one is a false positive and missing one is no false negative.
 */
#ifndef ECGNET_MODELS_EC57_H
#define ECGNET_MODELS_EC57_H

#include <stddef.h>
#include <stdint.h>

#include "annot.h"

typedef struct {
    long tp, fn, fp;
} ec57_counts;

typedef struct {
    int64_t start, end; /* samples [start, end) */
} ec57_span;

/* Compares sorted reference beat positions ref[0..nref) with sorted detections test[0..ntest).
 * counted[i] says whether ref[i] is an EC57 beat (NULL: all are). A counted reference beat counts
 * (TP or FN) when ref >= from; a detection that is unmatched, or matched to an uncounted reference
 * annotation, counts as FP when test >= from and it lies in no span of excluded[0..nexcluded).
 * window is in samples. Adds the counts to *acc. */
void ec57_match(const int64_t *ref, const uint8_t *counted, size_t nref, const int64_t *test,
                size_t ntest, int64_t from, int64_t window, const ec57_span *excluded,
                size_t nexcluded, ec57_counts *acc);

/* The reference beats of an annotation list, read as bxb reads them: everything between a
 * ventricular flutter onset '[' and its end ']' left out (the episodes kept as spans), beat codes
 * EC57 does not count (flutter waves '!') kept for matching but marked uncounted. */
typedef struct {
    int64_t *sample;      /* n reference beats, in order */
    uint8_t *counted;     /* counted[i]: an EC57 beat */
    char *cls;            /* AAMI class of each ('N','S','V','F','Q'), 0 when uncounted */
    size_t n;
    ec57_span *vf;        /* the ventricular flutter episodes */
    size_t nvf;
} ec57_reference;

/* Fills *out (free with ec57_reference_free). Returns 0, or -1 when out of memory. */
int ec57_reference_read(const fmt_annot_list *ann, ec57_reference *out);
void ec57_reference_free(ec57_reference *r);

/* Sensitivity TP/(TP+FN) and positive predictivity TP/(TP+FP), in percent (100 when the
 * denominator is 0). */
double ec57_se(const ec57_counts *c);
double ec57_ppv(const ec57_counts *c);

#endif
