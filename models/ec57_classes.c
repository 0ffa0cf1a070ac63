/* ec57_classes.c — EC57 class confusion and VEB/SVEB statistics from paired beats (bxb-style). */
#include "ec57_classes.h"

#include <stdlib.h>
#include <string.h>

static int64_t dist(int64_t a, int64_t b) { return a > b ? a - b : b - a; }

int ec57_class_index(char c)
{
    switch (c) {
    case 'N': return EC57_N;
    case 'S': return EC57_S;
    case 'V': return EC57_V;
    case 'F': return EC57_F;
    case 'Q': return EC57_Q;
    default: return EC57_O;
    }
}

void ec57_pair(const int64_t *ref, size_t nref, const int64_t *test, size_t ntest, int64_t window,
               long *pair)
{
    for (size_t j = 0; j < ntest; j++) pair[j] = -1;
    size_t i = 0, j = 0;
    /* The same walk as ec57_match, so that the two always agree on the pairs. */
    while (i < nref && j < ntest) {
        int64_t r = ref[i], t = test[j];
        if (t < r - window) j++;
        else if (r < t - window) i++;
        else if (j + 1 < ntest && dist(test[j + 1], r) < dist(t, r)) j++;
        else if (i + 1 < nref && dist(ref[i + 1], t) < dist(r, t)) i++;
        else pair[j++] = (long)i++;
    }
}

static int excluded_at(int64_t s, const ec57_span *ex, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s >= ex[i].start && s < ex[i].end) return 1;
    return 0;
}

void ec57_classes_match(const int64_t *ref, const char *ref_class, size_t nref, const int64_t *test,
                        const char *test_class, size_t ntest, int64_t from, int64_t window,
                        const ec57_span *ex, size_t nex, ec57_confusion *acc)
{
    long *pair = malloc((ntest ? ntest : 1) * sizeof *pair);
    unsigned char *used = calloc(nref ? nref : 1, 1);
    if (!pair || !used) { /* no memory: nothing is counted rather than a wrong count */
        free(pair);
        free(used);
        return;
    }
    ec57_pair(ref, nref, test, ntest, window, pair);
    for (size_t j = 0; j < ntest; j++) {
        int col = ec57_class_index(test_class[j]);
        long i = pair[j];
        if (i >= 0) used[i] = 1;
        if (i >= 0 && ref_class[i]) {
            if (ref[i] >= from) acc->m[ec57_class_index(ref_class[i])][col]++;
        } else if (test[j] >= from && !excluded_at(test[j], ex, nex)) {
            acc->m[EC57_O][col]++;
        }
    }
    for (size_t i = 0; i < nref; i++)
        if (!used[i] && ref_class[i] && ref[i] >= from) acc->m[ec57_class_index(ref_class[i])][EC57_O]++;
    free(used);
    free(pair);
}

void ec57_confusion_add(ec57_confusion *acc, const ec57_confusion *c)
{
    for (int r = 0; r < EC57_NCLASS; r++)
        for (int k = 0; k < EC57_NCLASS; k++) acc->m[r][k] += c->m[r][k];
}

void ec57_class_stats_of(const ec57_confusion *c, char cls, ec57_class_stats *out)
{
    int x = ec57_class_index(cls);
    memset(out, 0, sizeof *out);
    out->tp = c->m[x][x];
    for (int k = 0; k < EC57_NCLASS; k++)
        if (k != x) out->fn += c->m[x][k];
    long fp_ref = 0;
    for (int r = 0; r < EC57_NCLASS; r++) {
        if (r == x) continue;
        out->fp += c->m[r][x];
        if (r == EC57_O) continue;
        fp_ref += c->m[r][x];
        for (int k = 0; k < EC57_NCLASS; k++) out->negatives += c->m[r][k];
    }
    out->se = out->tp + out->fn ? 100.0 * (double)out->tp / (double)(out->tp + out->fn) : 100.0;
    out->ppv = out->tp + out->fp ? 100.0 * (double)out->tp / (double)(out->tp + out->fp) : 100.0;
    out->fpr = out->negatives ? 100.0 * (double)fp_ref / (double)out->negatives : 0.0;
}
