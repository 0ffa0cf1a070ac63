/* http_review.c — the review API's worklist, recording, claims, reports, signatures and history.
 * Access control is the store's (every call re-reads the user): these handlers translate. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_impl.h"
#include "report_export.h"

#define WORKLIST_DEFAULT_LIMIT 200
#define WORKLIST_MAX_LIMIT 1000
#define PATIENT_MAX 100

/* Answers 200 {NAME: ITEM} (ITEM freed). */
static int reply_wrapped(http_req *r, unsigned code, const char *name, cJSON *item)
{
    cJSON *o = item ? cJSON_CreateObject() : NULL;
    if (!o || !cJSON_AddItemToObject(o, name, item)) {
        cJSON_Delete(o);
        cJSON_Delete(item);
        return http_reply_json(r, code, NULL);
    }
    return http_reply_json(r, code, o);
}

/* The worklist filter from the query (SITE and REVIEW: buffers of LEN bytes): priority (critical|urgent|routine|none or 0..3: that and
 * more urgent), site, review, since and until (Unix ms), limit. 0, or -1 after answering 400. */
static int read_filter(http_req *r, store_worklist_filter *f, char *site, char *review, size_t len, int *rc)
{
    static const char *const priorities[] = {"critical", "urgent", "routine", "none"};
    char v[96];
    int64_t n;
    memset(f, 0, sizeof *f);
    f->max_priority = -1;
    f->limit = WORKLIST_DEFAULT_LIMIT;
    int q = http_query(r, "priority", v, sizeof v);
    if (q) {
        int found = -1;
        for (int i = 0; q > 0 && i < 4; i++)
            if (!strcmp(v, priorities[i])) found = i;
        if (found < 0 && q > 0 && !http_parse_int(v, 0, 3, &n)) found = (int)n;
        if (found < 0) goto bad_priority;
        f->max_priority = found;
    }
    if ((q = http_query(r, "site", site, len)) < 0) goto bad_site;
    if (q > 0) f->site = site;
    if ((q = http_query(r, "review", review, len)) < 0) goto bad_review;
    if (q > 0) f->review = review;
    if ((q = http_query(r, "since", v, sizeof v))) {
        if (q < 0 || http_parse_int(v, 0, INT64_MAX, &n)) goto bad_time;
        f->since_ms = n;
    }
    if ((q = http_query(r, "until", v, sizeof v))) {
        if (q < 0 || http_parse_int(v, 0, INT64_MAX, &n)) goto bad_time;
        f->until_ms = n;
    }
    if ((q = http_query(r, "limit", v, sizeof v))) {
        if (q < 0 || http_parse_int(v, 1, WORKLIST_MAX_LIMIT, &n)) goto bad_limit;
        f->limit = (size_t)n;
    }
    return 0;
bad_priority:
    *rc = http_reply_error(r, HTTP_STATUS_BAD_REQUEST, "priority must be critical, urgent, routine, none or 0..3");
    return -1;
bad_site:
    *rc = http_reply_error(r, HTTP_STATUS_BAD_REQUEST, "site is too long (at most 64 bytes)");
    return -1;
bad_review:
    *rc = http_reply_error(r, HTTP_STATUS_BAD_REQUEST, "review is too long: new, claimed, reported, signed or repeat");
    return -1;
bad_time:
    *rc = http_reply_error(r, HTTP_STATUS_BAD_REQUEST, "since and until must be Unix times in milliseconds (>= 0)");
    return -1;
bad_limit:
    *rc = http_reply_error(r, HTTP_STATUS_BAD_REQUEST, "limit must be a whole number from 1 to 1000");
    return -1;
}

/* An item with its flags; NULL with err on failure (*SRC the store's code). */
static cJSON *item_with_flags(http_req *r, const store_review_item *it, int *src, char *err, size_t errlen)
{
    cJSON *o = http_json_item(it);
    if (!o) {
        snprintf(err, errlen, "out of memory");
        *src = STORE_ERR;
        return NULL;
    }
    if ((*src = http_json_add_flags(r->ctx, o, it->rec.id, err, errlen)) != STORE_OK) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Item IT with its flags among FLAGS (ordered by recording, as store_flag_list_many gives them:
 * found by bisection); NULL when out of memory. */
static cJSON *item_with_listed_flags(const store_review_item *it, const store_flag *flags, size_t nflags)
{
    size_t lo = 0, hi = nflags;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (flags[mid].recording < it->rec.id) lo = mid + 1;
        else hi = mid;
    }
    cJSON *o = http_json_item(it), *a = o ? cJSON_AddArrayToObject(o, "flags") : NULL;
    for (size_t i = lo; a && i < nflags && flags[i].recording == it->rec.id; i++)
        if (http_json_append(a, http_json_flag(&flags[i]))) a = NULL;
    if (!a) cJSON_Delete(o);
    return a ? o : NULL;
}

/* Answers 200 {KEY: [items with flags]} for the N items (freed here): the flags of all of them
 * come in one query rather than one per item. */
static int reply_items(http_req *r, const char *key, store_review_item *items, size_t n)
{
    char err[512] = "";
    int64_t *ids = n ? malloc(n * sizeof *ids) : NULL;
    store_flag *flags = NULL;
    size_t nflags = 0;
    int src = STORE_OK;
    cJSON *o = cJSON_CreateObject(), *a = o ? cJSON_AddArrayToObject(o, key) : NULL;
    if (n && !ids) a = NULL;
    if (a) {
        for (size_t i = 0; i < n; i++) ids[i] = items[i].rec.id;
        src = store_flag_list_many(r->ctx->st, ids, n, &flags, &nflags, err, sizeof err);
    }
    for (size_t i = 0; a && src == STORE_OK && i < n; i++)
        if (http_json_append(a, item_with_listed_flags(&items[i], flags, nflags))) a = NULL;
    free(flags);
    free(ids);
    free(items);
    if (src != STORE_OK) {
        cJSON_Delete(o);
        return http_reply_store(r, src, err);
    }
    if (!a) {
        cJSON_Delete(o);
        o = NULL;
    }
    return http_reply_json(r, HTTP_STATUS_OK, o);
}

int http_review_worklist(http_req *r)
{
    store_worklist_filter f;
    char site[80], review[80], err[512] = "";
    int rc;
    if (read_filter(r, &f, site, review, sizeof site, &rc)) return rc;
    store_review_item *items = NULL;
    size_t n = 0;
    int src = store_worklist(r->ctx->st, &r->user, &f, &items, &n, err, sizeof err);
    if (src != STORE_OK) return http_reply_store(r, src, err);
    return reply_items(r, "recordings", items, n);
}

/* Answers CODE {recording: ID as USER sees it now, with its flags}. */
static int reply_recording(http_req *r, unsigned code, int64_t id)
{
    store_review_item it;
    char err[512] = "";
    int src = store_review_get(r->ctx->st, &r->user, id, &it, err, sizeof err);
    cJSON *o = src == STORE_OK ? item_with_flags(r, &it, &src, err, sizeof err) : NULL;
    if (src != STORE_OK) return http_reply_store(r, src, err);
    return reply_wrapped(r, code, "recording", o);
}

int http_review_claim_next(http_req *r)
{
    store_worklist_filter f;
    char site[80], review[80], err[512] = "";
    int rc;
    if (read_filter(r, &f, site, review, sizeof site, &rc)) return rc;
    store_review_item it;
    int src = store_claim_next(r->ctx->st, &r->user, &f, &it, err, sizeof err);
    if (src != STORE_OK) return http_reply_store(r, src, err);
    return reply_recording(r, HTTP_STATUS_OK, it.rec.id);
}

int http_review_recording(http_req *r, int64_t id)
{
    char err[512] = "";
    /* Opening first: it checks access, and the answer then shows this opening's time. */
    int src = store_recording_opened(r->ctx->st, &r->user, id, err, sizeof err);
    store_review_item it;
    if (src == STORE_OK) src = store_review_get(r->ctx->st, &r->user, id, &it, err, sizeof err);
    if (src != STORE_OK) return http_reply_store(r, src, err);

    cJSON *o = cJSON_CreateObject(), *item = http_json_item(&it);
    if (!o || !item || !cJSON_AddItemToObject(o, "recording", item)) {
        cJSON_Delete(item);
        goto oom;
    }
    if ((src = http_json_add_flags(r->ctx, o, id, err, sizeof err)) != STORE_OK) goto fail;

    char *json = NULL;
    if ((src = store_recording_analysis(r->ctx->st, id, &json, err, sizeof err)) != STORE_OK) goto fail;
    /* Stored as the analysis wrote it (it parsed when stored); null until the analysis ran. */
    cJSON *analysis = json ? cJSON_Parse(json) : cJSON_CreateNull();
    free(json);
    if (!analysis || !cJSON_AddItemToObject(o, "analysis", analysis)) {
        cJSON_Delete(analysis);
        goto oom;
    }

    store_report *rep = malloc(sizeof *rep);
    if (!rep) goto oom;
    src = store_report_get(r->ctx->st, &r->user, id, rep, err, sizeof err);
    cJSON *report = src == STORE_OK ? http_json_report(rep) : src == STORE_ENOTFOUND ? cJSON_CreateNull() : NULL;
    free(rep);
    if (src != STORE_OK && src != STORE_ENOTFOUND) goto fail;
    if (!report || !cJSON_AddItemToObject(o, "report", report)) {
        cJSON_Delete(report);
        goto oom;
    }

    store_critical c;
    src = store_critical_get(r->ctx->st, &r->user, id, &c, err, sizeof err);
    if (src != STORE_OK && src != STORE_ENOTFOUND) goto fail;
    cJSON *critical = src == STORE_OK ? http_json_critical(&c) : cJSON_CreateNull();
    if (!critical || !cJSON_AddItemToObject(o, "critical", critical)) {
        cJSON_Delete(critical);
        goto oom;
    }

    store_times t;
    if ((src = store_timeline(r->ctx->st, id, &t, err, sizeof err)) != STORE_OK) goto fail;
    cJSON *times = http_json_times(&t);
    if (!times || !cJSON_AddItemToObject(o, "timeline", times)) {
        cJSON_Delete(times);
        goto oom;
    }
    return http_reply_json(r, HTTP_STATUS_OK, o);
oom:
    cJSON_Delete(o);
    return http_reply_json(r, HTTP_STATUS_OK, NULL);
fail:
    cJSON_Delete(o);
    return http_reply_store(r, src, err);
}

int http_review_history(http_req *r, int64_t id)
{
    store_report *reps = NULL;
    size_t n = 0;
    char err[512] = "";
    int src = store_report_history(r->ctx->st, &r->user, id, &reps, &n, err, sizeof err);
    if (src != STORE_OK) return http_reply_store(r, src, err);
    cJSON *o = cJSON_CreateObject(), *a = o ? cJSON_AddArrayToObject(o, "reports") : NULL;
    for (size_t i = 0; a && i < n; i++)
        if (http_json_append(a, http_json_report(&reps[i]))) a = NULL;
    free(reps);
    if (!a) {
        cJSON_Delete(o);
        o = NULL;
    }
    return http_reply_json(r, HTTP_STATUS_OK, o);
}

int http_review_patient(http_req *r, const char *patient_id)
{
    char v[32], err[512] = "";
    int64_t exclude = 0;
    int q = http_query(r, "exclude", v, sizeof v);
    if (q && (q < 0 || http_parse_int(v, 1, INT64_MAX, &exclude)))
        return http_reply_error(r, HTTP_STATUS_BAD_REQUEST, "exclude must be a recording id");
    store_review_item *items = NULL;
    size_t n = 0;
    int src = store_patient_history(r->ctx->st, &r->user, patient_id, exclude, PATIENT_MAX, &items, &n, err,
                                    sizeof err);
    if (src != STORE_OK) return http_reply_store(r, src, err);
    return reply_items(r, "recordings", items, n);
}

/* "statements" (an array of up to STORE_REPORT_MAX_STATEMENTS strings, absent: none) and "text"
 * (a string, absent: none) of BODY. 0, or -1 with a message in MSG. */
static int read_report(const cJSON *body, const char *st[STORE_REPORT_MAX_STATEMENTS], size_t *n,
                       const char **text, char *msg, size_t msglen)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(body, "statements"), *s;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(body, "text");
    *n = 0;
    *text = NULL;
    if (a && !cJSON_IsArray(a)) {
        snprintf(msg, msglen, "\"statements\" must be an array of strings");
        return -1;
    }
    if (cJSON_GetArraySize(a) > STORE_REPORT_MAX_STATEMENTS) {
        snprintf(msg, msglen, "at most %d statements in a report", STORE_REPORT_MAX_STATEMENTS);
        return -1;
    }
    cJSON_ArrayForEach(s, a)
    {
        if (!cJSON_IsString(s)) {
            snprintf(msg, msglen, "\"statements\" must be an array of strings");
            return -1;
        }
        st[(*n)++] = s->valuestring;
    }
    if (t && !cJSON_IsString(t) && !cJSON_IsNull(t)) {
        snprintf(msg, msglen, "\"text\" must be a string");
        return -1;
    }
    if (cJSON_IsString(t)) *text = t->valuestring;
    return 0;
}

/* Answers CODE {report: ID's current report as USER sees it}. */
static int reply_report(http_req *r, unsigned code, int64_t id)
{
    char err[512] = "";
    store_report *rep = malloc(sizeof *rep);
    if (!rep) return http_reply_json(r, code, NULL);
    int src = store_report_get(r->ctx->st, &r->user, id, rep, err, sizeof err);
    cJSON *o = src == STORE_OK ? http_json_report(rep) : NULL;
    free(rep);
    if (src != STORE_OK) return http_reply_store(r, src, err);
    return reply_wrapped(r, code, "report", o);
}

/* A wrong password when signing is a refusal of this act, not a lost session: 403, so that the
 * page asks for the password again instead of logging out. */
static int reply_signing_error(http_req *r, int src, const char *err)
{
    if (src == STORE_EAUTH) return http_reply_error(r, HTTP_STATUS_FORBIDDEN, "wrong password: the report is not signed");
    return http_reply_store(r, src, err);
}

int http_review_action(http_req *r, int64_t id, const char *action)
{
    char err[512] = "", msg[160];
    int src, rc;
    if (!strcmp(action, "claim") || !strcmp(action, "release")) {
        src = action[0] == 'c' ? store_claim(r->ctx->st, &r->user, id, err, sizeof err)
                               : store_release(r->ctx->st, &r->user, id, err, sizeof err);
        if (src != STORE_OK) return http_reply_store(r, src, err);
        return reply_recording(r, HTTP_STATUS_OK, id);
    }
    cJSON *body = http_json_body(r, &rc);
    if (!body) return rc;
    const char *st[STORE_REPORT_MAX_STATEMENTS], *text, *password = http_json_string(body, "password");
    size_t n;
    unsigned code = HTTP_STATUS_OK;
    if (!strcmp(action, "report") || !strcmp(action, "amend")) {
        if (read_report(body, st, &n, &text, msg, sizeof msg)) goto bad;
        if (action[0] == 'r') {
            src = store_report_save(r->ctx->st, &r->user, id, st, n, text, err, sizeof err);
        } else {
            if (!password) goto no_password;
            src = store_report_amend(r->ctx->st, &r->user, id, st, n, text, password, err, sizeof err);
            code = 201;
        }
    } else if (!strcmp(action, "sign")) {
        if (!password) goto no_password;
        src = store_report_sign(r->ctx->st, &r->user, id, password, err, sizeof err);
    } else { /* repeat */
        const char *reason = http_json_string(body, "reason");
        if (!reason) {
            snprintf(msg, sizeof msg, "a repeat request needs \"reason\" (a string the clinic will read)");
            goto bad;
        }
        src = store_request_repeat(r->ctx->st, &r->user, id, reason, err, sizeof err);
        cJSON_Delete(body);
        if (src != STORE_OK) return http_reply_store(r, src, err);
        return reply_recording(r, HTTP_STATUS_OK, id);
    }
    cJSON_Delete(body);
    if (src != STORE_OK) return reply_signing_error(r, src, err);
    return reply_report(r, code, id);
no_password:
    snprintf(msg, sizeof msg, "signing needs \"password\": the user's password, asked again");
bad:
    cJSON_Delete(body);
    return http_reply_error(r, HTTP_STATUS_BAD_REQUEST, msg);
}

/* GET .../{id}/export.hl7 (FORMAT "hl7") and .../{id}/export.fhir.json ("fhir"): the signed
 * report for the hospital's HIS. Access as for the recording itself (store_review_get); only a
 * signed recording has a report to send (409 otherwise). Every export is audited: the report
 * leaves ecgnet with the patient's id. */
int http_review_export(http_req *r, int64_t id, const char *format)
{
    char err[512] = "", msg[160], actor[96];
    int hl7 = !strcmp(format, "hl7");
    store_review_item it;
    int src = store_review_get(r->ctx->st, &r->user, id, &it, err, sizeof err);
    if (src != STORE_OK) return http_reply_store(r, src, err);
    if (strcmp(it.rec.review, "signed")) {
        snprintf(msg, sizeof msg, "recording %lld is \"%s\": only a signed report can be exported", (long long)id,
                 it.rec.review);
        return http_reply_error(r, HTTP_STATUS_CONFLICT, msg);
    }
    if (!it.rec.patient_id[0]) {
        snprintf(msg, sizeof msg, "recording %lld has no patient id: the HIS cannot file its report", (long long)id);
        return http_reply_error(r, HTTP_STATUS_CONFLICT, msg);
    }
    store_report *rep = malloc(sizeof *rep);
    char *analysis = NULL, *text = NULL;
    if (!rep) return http_reply_json(r, HTTP_STATUS_OK, NULL);
    if ((src = store_report_get(r->ctx->st, &r->user, id, rep, err, sizeof err)) != STORE_OK) goto fail;
    if (!rep->is_signed) {
        free(rep);
        snprintf(msg, sizeof msg, "recording %lld has only a draft: sign it first", (long long)id);
        return http_reply_error(r, HTTP_STATUS_CONFLICT, msg);
    }
    if ((src = store_recording_analysis(r->ctx->st, id, &analysis, err, sizeof err)) != STORE_OK) goto fail;

    const char *st[STORE_REPORT_MAX_STATEMENTS];
    for (size_t i = 0; i < rep->nstatements && i < STORE_REPORT_MAX_STATEMENTS; i++) st[i] = rep->statements[i];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    report_export in = {
        .recording_id = id, .patient_id = it.rec.patient_id, .site = it.rec.site, .device = it.rec.device,
        .received_ms = it.rec.received_ms, .ended_ms = it.rec.ended_ms, .version = rep->version,
        .signer = rep->signer, .signed_ms = rep->signed_ms, .nstatements = rep->nstatements, .statements = st,
        .text = rep->text, .analysis_json = analysis,
        .now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000,
    };
    int rc = hl7 ? report_export_hl7(&in, &text, err, sizeof err) : report_export_fhir(&in, &text, err, sizeof err);
    free(analysis);
    analysis = NULL;
    /* The input was checked above and comes from the store: what is left is the server's fault. */
    if (rc) {
        src = STORE_ERR;
        goto fail;
    }
    snprintf(actor, sizeof actor, "user:%s", r->user.name);
    snprintf(msg, sizeof msg, "%s, report version %d", hl7 ? "HL7 v2.5.1 ORU^R01" : "FHIR R4 Observation",
             rep->version);
    if ((src = store_audit(r->ctx->st, actor, "report.export", id, msg, err, sizeof err)) != STORE_OK) goto fail;
    free(rep);
    rc = hl7 ? http_reply(r, HTTP_STATUS_OK, "text/plain; charset=utf-8", text, strlen(text))
             : http_reply(r, HTTP_STATUS_OK, "application/fhir+json; charset=utf-8", text, strlen(text));
    free(text);
    return rc;
fail:
    free(text);
    free(analysis);
    free(rep);
    return http_reply_store(r, src, err);
}
