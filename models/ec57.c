/* ec57.c — beat-by-beat matching of detections against reference beats (EC57, bxb-style). */
#include "ec57.h"

#include <stdlib.h>
#include <string.h>

static int64_t dist(int64_t a, int64_t b) { return a > b ? a - b : b - a; }

static int excluded_at(int64_t s, const ec57_span *ex, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s >= ex[i].start && s < ex[i].end) return 1;
    return 0;
}

static void count_fn(int64_t r, int64_t from, ec57_counts *acc)
{
    if (r >= from) acc->fn++;
}

static void count_fp(int64_t t, int64_t from, const ec57_span *ex, size_t nex, ec57_counts *acc)
{
    if (t >= from && !excluded_at(t, ex, nex)) acc->fp++;
}

void ec57_match(const int64_t *ref, const uint8_t *counted, size_t nref, const int64_t *test,
                size_t ntest, int64_t from, int64_t window, const ec57_span *ex, size_t nex,
                ec57_counts *acc)
{
    size_t i = 0, j = 0;
    while (i < nref && j < ntest) {
        int64_t r = ref[i], t = test[j];
        if (t < r - window) {
            count_fp(t, from, ex, nex, acc);
            j++;
        } else if (r < t - window) {
            if (!counted || counted[i]) count_fn(r, from, acc);
            i++;
        } else if (j + 1 < ntest && dist(test[j + 1], r) < dist(t, r)) {
            /* The next detection is nearer to this reference beat: this one is extra. */
            count_fp(t, from, ex, nex, acc);
            j++;
        } else if (i + 1 < nref && dist(ref[i + 1], t) < dist(r, t)) {
            /* This detection belongs to the next reference beat: this one was missed. */
            if (!counted || counted[i]) count_fn(r, from, acc);
            i++;
        } else {
            if (counted && !counted[i]) count_fp(t, from, ex, nex, acc); /* paired with a non-beat */
            else if (r >= from) acc->tp++; /* a pair is counted by its reference beat's time */
            i++;
            j++;
        }
    }
    for (; i < nref; i++)
        if (!counted || counted[i]) count_fn(ref[i], from, acc);
    for (; j < ntest; j++) count_fp(test[j], from, ex, nex, acc);
}

double ec57_se(const ec57_counts *c)
{
    long d = c->tp + c->fn;
    return d ? 100.0 * (double)c->tp / (double)d : 100.0;
}

double ec57_ppv(const ec57_counts *c)
{
    long d = c->tp + c->fp;
    return d ? 100.0 * (double)c->tp / (double)d : 100.0;
}

int ec57_reference_read(const fmt_annot_list *ann, ec57_reference *out)
{
    memset(out, 0, sizeof *out);
    out->sample = malloc((ann->count + 1) * sizeof *out->sample);
    out->counted = malloc(ann->count + 1);
    out->cls = malloc(ann->count + 1);
    out->vf = malloc((ann->count + 1) * sizeof *out->vf);
    if (!out->sample || !out->counted || !out->cls || !out->vf) {
        ec57_reference_free(out);
        return -1;
    }
    int64_t vf_on = -1;
    for (size_t i = 0; i < ann->count; i++) {
        const fmt_annot *a = &ann->items[i];
        if (vf_on >= 0) {
            if (a->code == 33) { /* ']' */
                out->vf[out->nvf++] = (ec57_span){vf_on, a->sample + 1};
                vf_on = -1;
            }
        } else if (a->code == 32) { /* '[' */
            vf_on = a->sample;
        } else if (fmt_annot_is_beat(a->code)) {
            out->cls[out->n] = fmt_annot_aami_class(a->code);
            out->counted[out->n] = out->cls[out->n] != 0;
            out->sample[out->n++] = a->sample;
        }
    }
    if (vf_on >= 0) out->vf[out->nvf++] = (ec57_span){vf_on, INT64_MAX};
    return 0;
}

void ec57_reference_free(ec57_reference *r)
{
    free(r->sample);
    free(r->counted);
    free(r->cls);
    free(r->vf);
    memset(r, 0, sizeof *r);
}
