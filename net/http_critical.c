/* http_critical.c — the critical values (危急值) of the review API: a cardiologist confirms one and
 * records whom at the clinic they told, the clinic acknowledges it, everyone lists the open ones. */
#include <stdlib.h>
#include <string.h>

#include "http_impl.h"

/* Answers CODE {"critical": notice}. */
static int reply_notice(http_req *r, int code, const store_critical *c)
{
    cJSON *o = cJSON_CreateObject(), *n = http_json_critical(c);
    if (!o || !n || !cJSON_AddItemToObject(o, "critical", n)) {
        cJSON_Delete(n);
        cJSON_Delete(o);
        o = NULL;
    }
    return http_reply_json(r, code, o);
}

/* POST .../{id}/critical {"finding": "...", "notified": "name or staff id", "notified_ms": N}
 * (notified_ms optional: now). 201 with the notice. */
int http_critical_confirm(http_req *r, int64_t id)
{
    int rc;
    cJSON *body = http_json_body(r, &rc);
    if (!body) return rc;
    const char *finding = http_json_string(body, "finding"), *notified = http_json_string(body, "notified");
    const cJSON *when = cJSON_GetObjectItemCaseSensitive(body, "notified_ms");
    char msg[200] = "";
    if (!finding) snprintf(msg, sizeof msg, "a critical value needs \"finding\": what was confirmed (a string)");
    else if (!notified)
        snprintf(msg, sizeof msg, "a critical value needs \"notified\": whom at the clinic you told (name or staff id)");
    else if (when && !cJSON_IsNull(when) && (!cJSON_IsNumber(when) || when->valuedouble < 0 ||
                                             when->valuedouble != (double)(int64_t)when->valuedouble))
        snprintf(msg, sizeof msg, "\"notified_ms\" must be a time in Unix milliseconds (or absent: now)");
    if (msg[0]) {
        cJSON_Delete(body);
        return http_reply_error(r, HTTP_STATUS_BAD_REQUEST, msg);
    }
    int64_t at = when && cJSON_IsNumber(when) ? (int64_t)when->valuedouble : 0;
    store_critical c;
    char err[512] = "";
    int src = store_critical_confirm(r->ctx->st, &r->user, id, finding, notified, at, &c, err, sizeof err);
    cJSON_Delete(body);
    return src == STORE_OK ? reply_notice(r, 201, &c) : http_reply_store(r, src, err);
}

/* POST .../{id}/critical/ack (no body needed): the clinic's acknowledgement. 200 with the notice. */
int http_critical_ack(http_req *r, int64_t id)
{
    store_critical c;
    char err[512] = "";
    int src = store_critical_ack(r->ctx->st, &r->user, id, &c, err, sizeof err);
    return src == STORE_OK ? reply_notice(r, HTTP_STATUS_OK, &c) : http_reply_store(r, src, err);
}

/* GET /api/critical[?open=1]: the notices the user may see; open=1 those not acknowledged yet
 * (escalated first). 200 {"critical": [...]} */
int http_critical_list(http_req *r)
{
    char v[8], err[512] = "";
    int q = http_query(r, "open", v, sizeof v);
    if (q < 0 || (q > 0 && strcmp(v, "0") && strcmp(v, "1")))
        return http_reply_error(r, HTTP_STATUS_BAD_REQUEST, "open must be 0 or 1");
    store_critical *list = NULL;
    size_t n = 0;
    int src = store_critical_list(r->ctx->st, &r->user, q > 0 && !strcmp(v, "1"), &list, &n, err, sizeof err);
    if (src != STORE_OK) return http_reply_store(r, src, err);
    cJSON *o = cJSON_CreateObject(), *a = o ? cJSON_AddArrayToObject(o, "critical") : NULL;
    for (size_t i = 0; a && i < n; i++)
        if (http_json_append(a, http_json_critical(&list[i]))) a = NULL;
    free(list);
    if (!a) {
        cJSON_Delete(o);
        o = NULL;
    }
    return http_reply_json(r, HTTP_STATUS_OK, o);
}
