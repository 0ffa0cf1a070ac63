/* ec57_classes.h — ANSI/AAMI EC57 beat-class statistics (bxb-style): detections paired with
 * reference beats as ec57_match pairs them, a confusion matrix of AAMI classes, and sensitivity,
 * positive predictivity and false-positive rate of the V (VEB) and S (SVEB) classes.
 */
#ifndef ECGNET_MODELS_EC57_CLASSES_H
#define ECGNET_MODELS_EC57_CLASSES_H

#include <stddef.h>
#include <stdint.h>

#include "ec57.h"

/* Rows: reference class; columns: the label given. Index 0..4 = N S V F Q; 5 = O: no beat
 * (a reference beat nobody detected is in column O; a detection paired with no reference beat,
 * or with an annotation EC57 does not count as a beat, is in row O). */
enum { EC57_N, EC57_S, EC57_V, EC57_F, EC57_Q, EC57_O, EC57_NCLASS };

typedef struct {
    long m[EC57_NCLASS][EC57_NCLASS];
} ec57_confusion;

typedef struct {
    long tp, fn, fp, negatives; /* negatives: reference beats of the other classes */
    double se, ppv, fpr;        /* percent; Se and +P are 100 and FPR 0 with a zero denominator */
} ec57_class_stats;

/* Index of an AAMI class letter ('N','S','V','F','Q'), else EC57_O. */
int ec57_class_index(char c);

/* For each detection j, pair[j] = the index of the reference annotation it pairs with, or -1
 * (the pairing of ec57_match: 'window' samples, nearer pairing wins, each used once). */
void ec57_pair(const int64_t *ref, size_t nref, const int64_t *test, size_t ntest, int64_t window,
               long *pair);

/* Adds one record to *acc. ref_class[i] is the AAMI class of ref[i] (0 for an annotation EC57
 * does not count as a beat); test_class[j] the label of detection j. As in ec57_match, a pair
 * counts when its reference beat is at or after 'from', a missed beat when it is, an unpaired
 * detection when it is at or after 'from' and outside every excluded span. */
void ec57_classes_match(const int64_t *ref, const char *ref_class, size_t nref, const int64_t *test,
                        const char *test_class, size_t ntest, int64_t from, int64_t window,
                        const ec57_span *excluded, size_t nexcluded, ec57_confusion *acc);

void ec57_confusion_add(ec57_confusion *acc, const ec57_confusion *c);

/* Statistics of class cls ('V' or 'S', or any class): TP = reference cls labelled cls; FN = the
 * other reference cls beats, missed ones (column O) included; FP = every other beat labelled
 * cls, unpaired detections (row O) included; FPR = FP among reference beats of other classes
 * over those beats (a detection paired with no beat has no reference class and is not in it). */
void ec57_class_stats_of(const ec57_confusion *c, char cls, ec57_class_stats *out);

#endif
