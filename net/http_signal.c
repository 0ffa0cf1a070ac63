/* http_signal.c — GET /api/recordings/{id}/signal: a window of a recording's samples in microvolts,
 * read from its journal (which also serves recordings still being received). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_impl.h"
#include "journal.h"
#include "log.h"
#include "proto.h"

#define SIGNAL_MAX_VALUES 200000 /* values (all leads) in one answer: ~2 MB of JSON */
#define SIGNAL_MAX_STEP 100000

/* The journal's meta text (the device's hello), malloc'd into *META.
 *
 * A stand-in: journal.h has no read-only accessor for the meta (store_journal_open would lock the
 * journal and repair its tail, which the ingest owns), so this reads the header as journal.h
 * documents it — magic, version, lengths, CRC-32 — and must give way to a store_journal function
 * once there is one. Returns 0, or -1 with err naming the file. */
typedef struct {
    int nleads;
    int64_t from, step;
    size_t want, got;           /* points per lead wanted, and taken */
    double uv[PROTO_MAX_LEADS], base[PROTO_MAX_LEADS];
    double *data;               /* want values per lead, lead after lead */
} window;

/* Takes every step-th frame from `from` on: plain subsampling (no min/max envelope), so that a
 * step of 1 gives the recording exactly and any step gives real samples, never invented ones. */
static int take(void *ctx, int64_t first, const int32_t *frames, size_t n, uint32_t flags)
{
    window *w = ctx;
    (void)flags;
    int64_t off = first - w->from; /* >= 0: the journal trims the first record to `from` */
    int64_t k = (off + w->step - 1) / w->step * w->step - off; /* first index here on the grid */
    for (; k < (int64_t)n && w->got < w->want; k += w->step) {
        const int32_t *f = frames + (size_t)k * (size_t)w->nleads;
        for (int l = 0; l < w->nleads; l++) w->data[(size_t)l * w->want + w->got] = (f[l] - w->base[l]) * w->uv[l];
        w->got++;
    }
    return w->got >= w->want;
}

/* 0 with *OUT (DEF when absent), or -1 when the argument is malformed or outside LO..HI. */
static int arg(http_req *r, const char *name, int64_t lo, int64_t hi, int64_t def, int64_t *out)
{
    char v[32];
    int q = http_query(r, name, v, sizeof v);
    *out = def;
    if (!q) return 0;
    return q < 0 || http_parse_int(v, lo, hi, out) ? -1 : 0;
}

static cJSON *signal_json(const store_review_item *it, const proto_hello *h, const window *w)
{
    cJSON *o = cJSON_CreateObject(), *leads = o ? cJSON_AddArrayToObject(o, "leads") : NULL;
    cJSON *data = o ? cJSON_AddArrayToObject(o, "data") : NULL;
    int ok = leads && data && cJSON_AddNumberToObject(o, "id", (double)it->rec.id) &&
             cJSON_AddNumberToObject(o, "fs", h->fs) && cJSON_AddNumberToObject(o, "from", (double)w->from) &&
             cJSON_AddNumberToObject(o, "step", (double)w->step) &&
             cJSON_AddNumberToObject(o, "count", (double)w->got) &&
             cJSON_AddNumberToObject(o, "next", (double)(w->from + (int64_t)w->got * w->step)) &&
             cJSON_AddStringToObject(o, "state", it->rec.state);
    for (int l = 0; ok && l < h->nleads; l++) {
        cJSON *lead = cJSON_CreateObject();
        ok = lead && cJSON_AddItemToArray(leads, lead) && cJSON_AddStringToObject(lead, "name", h->leads[l].name) &&
             cJSON_AddNumberToObject(lead, "uv_per_unit", h->leads[l].uv_per_unit) &&
             cJSON_AddNumberToObject(lead, "baseline", h->leads[l].baseline);
        if (!ok && lead && !cJSON_GetArrayItem(leads, l)) cJSON_Delete(lead);
        cJSON *v = ok ? cJSON_CreateDoubleArray(w->data + (size_t)l * w->want, (int)w->got) : NULL;
        ok = v && cJSON_AddItemToArray(data, v);
        if (!ok) cJSON_Delete(v);
    }
    if (ok) return o;
    cJSON_Delete(o);
    return NULL;
}

int http_signal(http_req *r, int64_t id)
{
    char err[STORE_JOURNAL_ERRLEN] = "";
    store_review_item it;
    int src = store_review_get(r->ctx->st, &r->user, id, &it, err, sizeof err);
    if (src != STORE_OK) return http_reply_store(r, src, err);

    window w = {0};
    int64_t count;
    if (arg(r, "from", 0, INT64_MAX / 2, 0, &w.from) || arg(r, "step", 1, SIGNAL_MAX_STEP, 1, &w.step) ||
        arg(r, "count", 1, INT64_MAX / 2, INT64_MAX / 2, &count))
        return http_reply_error(r, HTTP_STATUS_BAD_REQUEST,
                                "from (sample, >= 0), count (samples, >= 1) and step (1..100000) must be whole numbers");

    char *meta = NULL;
    proto_hello *h = malloc(sizeof *h);
    if (!h) return http_reply_json(r, HTTP_STATUS_OK, NULL);
    if (store_journal_read_meta(it.rec.journal, &meta, err, sizeof err) || proto_hello_parse(meta, strlen(meta), h, err, sizeof err)) {
        free(meta);
        free(h);
        return http_reply_store(r, STORE_ERR, err);
    }
    free(meta);
    w.nleads = h->nleads;
    for (int l = 0; l < h->nleads; l++) {
        w.uv[l] = h->leads[l].uv_per_unit;
        w.base[l] = h->leads[l].baseline;
    }
    /* Points per lead: those in [from, from + count) on the step grid, within the answer's cap. */
    int64_t points = (count + w.step - 1) / w.step, cap = SIGNAL_MAX_VALUES / h->nleads;
    w.want = (size_t)(points < cap ? points : cap);
    if (!(w.data = malloc(w.want * (size_t)h->nleads * sizeof *w.data))) {
        free(h);
        return http_reply_json(r, HTTP_STATUS_OK, NULL);
    }
    if (store_journal_read(it.rec.journal, w.from, take, &w, err, sizeof err) < 0) {
        free(w.data);
        free(h);
        return http_reply_store(r, STORE_ERR, err);
    }
    cJSON *o = signal_json(&it, h, &w);
    free(w.data);
    free(h);
    return http_reply_json(r, HTTP_STATUS_OK, o);
}
