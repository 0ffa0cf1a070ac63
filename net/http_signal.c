/* http_signal.c — GET /api/recordings/{id}/signal: a window of a recording's samples in microvolts,
 * read from its journal (which also serves recordings still being received; 410 once purged after
 * its retention period); the window reader is shared with the PDF export (http_pdf.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_impl.h"
#include "journal.h"
#include "log.h"
#include "proto.h"

#define SIGNAL_MAX_VALUES 200000 /* values (all leads) in one answer: ~2 MB of JSON */
#define SIGNAL_MAX_STEP 100000

/* store_journal_read's context: the window being filled, with each lead's scaling. */
typedef struct {
    http_window *w;
    int nleads;
    double uv[PROTO_MAX_LEADS], base[PROTO_MAX_LEADS];
} reader;

/* Takes every step-th frame from `from` on: plain subsampling (no min/max envelope), so that a
 * step of 1 gives the recording exactly and any step gives real samples, never invented ones. */
static int take(void *ctx, int64_t first, const int32_t *frames, size_t n, uint32_t flags)
{
    reader *rd = ctx;
    http_window *w = rd->w;
    (void)flags;
    int64_t off = first - w->from; /* >= 0: the journal trims the first record to `from` */
    int64_t k = (off + w->step - 1) / w->step * w->step - off; /* first index here on the grid */
    for (; k < (int64_t)n && w->got < w->want; k += w->step) {
        const int32_t *f = frames + (size_t)k * (size_t)rd->nleads;
        for (int l = 0; l < rd->nleads; l++)
            w->data[(size_t)l * w->want + w->got] = (f[l] - rd->base[l]) * rd->uv[l];
        w->got++;
    }
    return w->got >= w->want;
}

void http_signal_window_free(http_window *w)
{
    free(w->hello);
    free(w->data);
    memset(w, 0, sizeof *w);
}

int http_signal_window(const char *journal, int64_t from, int64_t step, int64_t count, size_t max_values,
                       http_window *w, char *err, size_t errlen)
{
    char *meta = NULL;
    reader rd = {w, 0, {0}, {0}};
    memset(w, 0, sizeof *w);
    w->from = from;
    w->step = step;
    if (!(w->hello = malloc(sizeof *w->hello))) goto oom;
    if (store_journal_read_meta(journal, &meta, err, errlen) ||
        proto_hello_parse(meta, strlen(meta), w->hello, err, errlen))
        goto fail;
    free(meta);
    meta = NULL;
    rd.nleads = w->hello->nleads;
    for (int l = 0; l < rd.nleads; l++) {
        rd.uv[l] = w->hello->leads[l].uv_per_unit;
        rd.base[l] = w->hello->leads[l].baseline;
    }
    /* Points per lead: those in [from, from + count) on the step grid, within the cap. */
    int64_t points = (count + step - 1) / step, cap = (int64_t)(max_values / (size_t)rd.nleads);
    w->want = (size_t)(points < cap ? points : cap);
    if (!(w->data = malloc((w->want ? w->want : 1) * (size_t)rd.nleads * sizeof *w->data))) goto oom;
    if (store_journal_read(journal, from, take, &rd, err, errlen) < 0) goto fail;
    return 0;
oom:
    snprintf(err, errlen, "%s: out of memory reading the signal", journal);
fail:
    free(meta);
    http_signal_window_free(w);
    return -1;
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

static cJSON *signal_json(const store_review_item *it, const http_window *w)
{
    const proto_hello *h = w->hello;
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

int http_reply_purged(http_req *r, const store_recording *rec)
{
    char msg[160], day[32];
    time_t t = (time_t)(rec->purged_ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(day, sizeof day, "%Y-%m-%d", &tm)) snprintf(day, sizeof day, "?");
    snprintf(msg, sizeof msg, "the samples of recording %lld were deleted on %s after its retention period",
             (long long)rec->id, day);
    return http_reply_error(r, 410, msg);
}

int http_signal(http_req *r, int64_t id)
{
    char err[STORE_JOURNAL_ERRLEN] = "";
    store_review_item it;
    int src = store_review_get(r->ctx->st, &r->user, id, &it, err, sizeof err);
    if (src != STORE_OK) return http_reply_store(r, src, err);
    if (it.rec.purged_ms) return http_reply_purged(r, &it.rec);

    int64_t from, step, count;
    if (arg(r, "from", 0, INT64_MAX / 2, 0, &from) || arg(r, "step", 1, SIGNAL_MAX_STEP, 1, &step) ||
        arg(r, "count", 1, INT64_MAX / 2, INT64_MAX / 2, &count))
        return http_reply_error(r, HTTP_STATUS_BAD_REQUEST,
                                "from (sample, >= 0), count (samples, >= 1) and step (1..100000) must be whole numbers");
    http_window w;
    if (http_signal_window(it.rec.journal, from, step, count, SIGNAL_MAX_VALUES, &w, err, sizeof err))
        return http_reply_store(r, STORE_ERR, err);
    cJSON *o = signal_json(&it, &w);
    http_signal_window_free(&w);
    return http_reply_json(r, HTTP_STATUS_OK, o);
}
