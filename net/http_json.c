/* http_json.c — the review API's JSON: store records out, request bodies and query arguments in. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http_impl.h"

/* cJSON's Add* return NULL on a failed allocation; building an object collects that in *OK so
 * that a builder checks once at its end. */
static void add_str(cJSON *o, const char *name, const char *v, int *ok)
{
    if (!cJSON_AddStringToObject(o, name, v)) *ok = 0;
}

static void add_num(cJSON *o, const char *name, double v, int *ok)
{
    if (!cJSON_AddNumberToObject(o, name, v)) *ok = 0;
}

/* NAME as a string, or null when V is "" (a site a cardiologist does not have, a time not yet). */
static void add_str_or_null(cJSON *o, const char *name, const char *v, int *ok)
{
    if (!(*v ? cJSON_AddStringToObject(o, name, v) : cJSON_AddNullToObject(o, name))) *ok = 0;
}

static void add_ms_or_null(cJSON *o, const char *name, int64_t v, int *ok)
{
    if (!(v ? cJSON_AddNumberToObject(o, name, (double)v) : cJSON_AddNullToObject(o, name))) *ok = 0;
}

static cJSON *done(cJSON *o, int ok)
{
    if (ok) return o;
    cJSON_Delete(o);
    return NULL;
}

cJSON *http_json_user(const store_user *u)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    if (!ok) return NULL;
    add_str(o, "name", u->name, &ok);
    add_str(o, "role", u->role, &ok);
    add_str_or_null(o, "site", u->site, &ok);
    return done(o, ok);
}

cJSON *http_json_item(const store_review_item *it)
{
    const store_recording *r = &it->rec;
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    if (!ok) return NULL;
    add_num(o, "id", (double)r->id, &ok);
    add_str(o, "device", r->device, &ok);
    add_str(o, "recording", r->recording, &ok);
    add_str(o, "site", r->site, &ok);
    add_str(o, "patient_id", r->patient_id, &ok);
    add_str(o, "mode", r->mode, &ok);
    add_num(o, "fs", r->fs, &ok);
    add_num(o, "nleads", r->nleads, &ok);
    add_str(o, "state", r->state, &ok);
    add_str(o, "review", r->review, &ok);
    add_num(o, "priority", r->priority, &ok);
    add_num(o, "received_ms", (double)r->received_ms, &ok);
    add_ms_or_null(o, "ended_ms", r->ended_ms, &ok);
    add_num(o, "samples", (double)r->samples, &ok);
    add_str(o, "encounter", r->encounter[0] ? r->encounter : "outpatient", &ok);
    add_ms_or_null(o, "purged_ms", r->purged_ms, &ok);
    add_str_or_null(o, "claimed_by", it->claimed_by, &ok);
    add_ms_or_null(o, "claim_expires_ms", it->claim_expires_ms, &ok);
    add_ms_or_null(o, "opened_ms", it->opened_ms, &ok);
    add_ms_or_null(o, "signed_ms", it->signed_ms, &ok);
    add_str_or_null(o, "repeat_reason", it->repeat_reason, &ok);
    return done(o, ok);
}

cJSON *http_json_flag(const store_flag *f)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    if (!ok) return NULL;
    add_str(o, "code", f->code, &ok);
    add_num(o, "priority", f->priority, &ok);
    add_num(o, "start", (double)f->start, &ok);
    add_num(o, "end", (double)f->end, &ok);
    add_str(o, "reason_zh", f->reason_zh, &ok);
    add_str(o, "reason_en", f->reason_en, &ok);
    add_num(o, "raised_ms", (double)f->raised_ms, &ok);
    return done(o, ok);
}

cJSON *http_json_report(const store_report *rep)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    if (!ok) return NULL;
    add_num(o, "version", rep->version, &ok);
    if (!cJSON_AddBoolToObject(o, "signed", rep->is_signed)) ok = 0;
    add_str(o, "author", rep->author, &ok);
    add_str_or_null(o, "signer", rep->signer, &ok);
    add_num(o, "created_ms", (double)rep->created_ms, &ok);
    add_num(o, "updated_ms", (double)rep->updated_ms, &ok);
    add_ms_or_null(o, "signed_ms", rep->signed_ms, &ok);
    if (rep->amends) add_num(o, "amends", rep->amends, &ok);
    else if (!cJSON_AddNullToObject(o, "amends")) ok = 0;
    cJSON *st = cJSON_AddArrayToObject(o, "statements");
    if (!st) ok = 0;
    for (size_t i = 0; st && i < rep->nstatements; i++) {
        cJSON *s = cJSON_CreateString(rep->statements[i]);
        if (!s || !cJSON_AddItemToArray(st, s)) {
            cJSON_Delete(s);
            ok = 0;
        }
    }
    add_str(o, "text", rep->text, &ok);
    return done(o, ok);
}

cJSON *http_json_times(const store_times *t)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    if (!ok) return NULL;
    add_num(o, "received_ms", (double)t->received_ms, &ok);
    add_ms_or_null(o, "first_opened_ms", t->first_opened_ms, &ok);
    add_str_or_null(o, "first_opened_by", t->first_opened_by, &ok);
    add_ms_or_null(o, "signed_ms", t->signed_ms, &ok);
    add_str_or_null(o, "signed_by", t->signed_by, &ok);
    add_ms_or_null(o, "last_amended_ms", t->last_amended_ms, &ok);
    add_ms_or_null(o, "ecg_to_diagnosis_ms", t->ecg_to_diagnosis_ms, &ok);
    return done(o, ok);
}

cJSON *http_json_critical(const store_critical *c)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    if (!ok) return NULL;
    add_num(o, "recording", (double)c->recording, &ok);
    add_str(o, "site", c->site, &ok);
    add_str(o, "patient_id", c->patient_id, &ok);
    add_str(o, "finding", c->finding, &ok);
    add_str(o, "confirmed_by", c->confirmed_by, &ok);
    add_num(o, "confirmed_ms", (double)c->confirmed_ms, &ok);
    add_str(o, "notified", c->notified, &ok);
    add_num(o, "notified_ms", (double)c->notified_ms, &ok);
    add_str_or_null(o, "acked_by", c->acked_by, &ok);
    add_ms_or_null(o, "acked_ms", c->acked_ms, &ok);
    add_ms_or_null(o, "escalated_ms", c->escalated_ms, &ok);
    add_num(o, "due_ms", (double)c->due_ms, &ok);
    return done(o, ok);
}

int http_json_append(cJSON *a, cJSON *item)
{
    if (item && cJSON_AddItemToArray(a, item)) return 0;
    cJSON_Delete(item);
    return -1;
}

int http_json_add_flags(http_ctx *ctx, cJSON *o, int64_t id, char *err, size_t errlen)
{
    store_flag *flags = NULL;
    size_t n = 0;
    int rc = store_flag_list(ctx->st, id, &flags, &n, err, errlen);
    if (rc != STORE_OK) return rc;
    cJSON *a = cJSON_AddArrayToObject(o, "flags");
    for (size_t i = 0; a && i < n; i++)
        if (http_json_append(a, http_json_flag(&flags[i]))) a = NULL;
    free(flags);
    if (!a) {
        snprintf(err, errlen, "out of memory listing the flags");
        return STORE_ERR;
    }
    return STORE_OK;
}

cJSON *http_json_body(http_req *r, int *rc)
{
    if (!r->body || !r->body_len) {
        *rc = http_reply_error(r, HTTP_STATUS_BAD_REQUEST, "this request needs a JSON object as its body");
        return NULL;
    }
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(r->body, r->body_len, &end, 0);
    if (!o || !cJSON_IsObject(o)) {
        char msg[160];
        size_t at = o || !end ? 0 : (size_t)(end - r->body);
        if (o) snprintf(msg, sizeof msg, "the body must be a JSON object");
        else snprintf(msg, sizeof msg, "the body is not valid JSON (near byte %zu)", at);
        cJSON_Delete(o);
        *rc = http_reply_error(r, HTTP_STATUS_BAD_REQUEST, msg);
        return NULL;
    }
    return o;
}

const char *http_json_string(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int http_query(http_req *r, const char *name, char *buf, size_t len)
{
    char key[64], tmp[1024];
    snprintf(key, sizeof key, "%s=", name);
    /* libwebsockets urldecodes each argument; one longer than tmp reads as absent (no argument
     * of this API is anywhere near as long). */
    const char *v = lws_get_urlarg_by_name(r->wsi, key, tmp, (int)sizeof tmp);
    if (!v) return 0;
    if (strlen(v) >= len) return -1;
    memcpy(buf, v, strlen(v) + 1);
    return 1;
}

int http_parse_int(const char *text, int64_t lo, int64_t hi, int64_t *out)
{
    if (!text || !*text || (*text != '-' && (*text < '0' || *text > '9'))) return -1;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}
