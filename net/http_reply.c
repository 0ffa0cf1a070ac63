/* http_reply.c — HTTP answers: status, headers, and a body written as the connection takes it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_impl.h"
#include "log.h"

/* Bytes of body per write: a large answer (a signal page) goes out over several writeable
 * callbacks instead of one huge lws_write that libwebsockets would have to buffer. */
#define HTTP_CHUNK 16384

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p, unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name, (const unsigned char *)value,
                                       (int)strlen(value), p, end);
}

/* http_reply with, when DISPOSITION is not NULL, a Content-Disposition header of that value. */
static int reply(http_req *r, unsigned code, const char *type, const char *disposition, const void *body,
                 size_t len)
{
    struct lws *wsi = r->wsi;
    uint8_t buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    char num[32];
    if (r->answered) return 0;
    r->answered = 1;
    free(r->out);
    r->out = NULL;
    r->out_len = r->out_sent = 0;
    if (lws_add_http_common_headers(wsi, code, type, (lws_filepos_t)len, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL, (const unsigned char *)"no-store", 8, &p, end))
        return -1;
    if (r->set_cookie[0] && add_header(wsi, "set-cookie:", r->set_cookie, &p, end)) return -1;
    if (r->retry_after_s > 0) {
        snprintf(num, sizeof num, "%lld", (long long)r->retry_after_s);
        if (add_header(wsi, "retry-after:", num, &p, end)) return -1;
    }
    if (r->allow && add_header(wsi, "allow:", r->allow, &p, end)) return -1;
    if (r->close_after && add_header(wsi, "connection:", "close", &p, end)) return -1;
    if (disposition && add_header(wsi, "content-disposition:", disposition, &p, end)) return -1;
    if (lws_finalize_write_http_header(wsi, start, &p, end)) return -1;
    if (len == 0) {
        if (r->close_after) return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    /* lws_write needs LWS_PRE bytes of headroom before what it sends. */
    if (!(r->out = malloc(LWS_PRE + len))) return -1;
    memcpy(r->out + LWS_PRE, body, len);
    r->out_len = len;
    lws_callback_on_writable(wsi);
    return 0;
}

int http_reply(http_req *r, unsigned code, const char *type, const char *body, size_t len)
{
    return reply(r, code, type, NULL, body, len);
}

int http_reply_download(http_req *r, const char *type, const char *filename, const void *body, size_t len)
{
    char value[256];
    int n = snprintf(value, sizeof value, "attachment; filename=\"");
    /* Only what every browser reads back as written: the name is ours (ids and digits) anyway. */
    for (const unsigned char *s = (const unsigned char *)filename; *s && n < (int)sizeof value - 2; s++)
        value[n++] = *s > 0x20 && *s < 0x7f && *s != '"' && *s != '\\' ? (char)*s : '_';
    value[n++] = '"';
    value[n] = 0;
    return reply(r, HTTP_STATUS_OK, type, value, body, len);
}

int http_reply_writeable(http_req *r)
{
    if (!r->out) return 0;
    size_t n = r->out_len - r->out_sent;
    int last = n <= HTTP_CHUNK;
    if (!last) n = HTTP_CHUNK;
    /* The chunk's LWS_PRE bytes of headroom are the previous chunk's already sent bytes (or the
     * allocation's own headroom for the first). */
    uint8_t *at = r->out + LWS_PRE + r->out_sent;
    if (lws_write(r->wsi, at, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n) return -1;
    r->out_sent += n;
    if (!last) {
        lws_callback_on_writable(r->wsi);
        return 0;
    }
    free(r->out);
    r->out = NULL;
    r->out_len = r->out_sent = 0;
    if (r->close_after) return -1;
    return lws_http_transaction_completed(r->wsi) ? -1 : 0;
}

int http_reply_json(http_req *r, unsigned code, cJSON *obj)
{
    char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    if (!text) {
        static const char oom[] = "{\"error\":\"the server is out of memory\"}";
        return http_reply(r, HTTP_STATUS_INTERNAL_SERVER_ERROR, "application/json; charset=utf-8", oom,
                          sizeof oom - 1);
    }
    int rc = http_reply(r, code, "application/json; charset=utf-8", text, strlen(text));
    free(text);
    return rc;
}

int http_reply_error(http_req *r, unsigned code, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddStringToObject(o, "error", message)) {
        cJSON_Delete(o);
        o = NULL;
    }
    return http_reply_json(r, code, o);
}

/* The seconds in the store's "... try again in N s" (store_user_verify_password gives no number
 * of its own); 60 when the message has none. */
static int64_t retry_from_message(const char *err)
{
    const char *at = err ? strstr(err, "again in ") : NULL;
    long long s = 0;
    if (at && sscanf(at, "again in %lld s", &s) == 1 && s > 0) return s;
    return 60;
}

int http_reply_store(http_req *r, int rc, const char *err)
{
    const char *msg = err && *err ? err : "refused";
    /* The store's messages begin with the database's path: the client has no use for it. */
    const char *db = store_path(r->ctx->st);
    size_t n = db ? strlen(db) : 0;
    if (n && !strncmp(msg, db, n) && !strncmp(msg + n, ": ", 2)) msg += n + 2;
    switch (rc) {
    case STORE_EINVAL:
        return http_reply_error(r, HTTP_STATUS_BAD_REQUEST, msg);
    case STORE_EAUTH:
        return http_reply_error(r, HTTP_STATUS_UNAUTHORIZED, msg);
    case STORE_EDENIED:
        return http_reply_error(r, HTTP_STATUS_FORBIDDEN, msg);
    case STORE_ENOTFOUND:
        return http_reply_error(r, HTTP_STATUS_NOT_FOUND, msg);
    case STORE_EBUSY:
    case STORE_ESTATE:
    case STORE_EEXIST:
        return http_reply_error(r, HTTP_STATUS_CONFLICT, msg);
    case STORE_ELIMITED:
        if (r->retry_after_s <= 0) r->retry_after_s = retry_from_message(err);
        return http_reply_error(r, 429, msg);
    default: {
        char q[600];
        net_log(NET_LOG_ERROR, "http", "path=%s code=%d message=%s", r->path, rc,
                net_log_quote(q, sizeof q, err ? err : ""));
        return http_reply_error(r, HTTP_STATUS_INTERNAL_SERVER_ERROR,
                                "the server could not read or write its database: try again; the cause is in "
                                "the server's log");
    }
    }
}
