/* http.c — ecgnetd's HTTP requests: the connection's state, request bodies, routing; health and
 * metrics here, the review API in http_auth.c, http_review.c and http_signal.c. */
#include "http.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http_impl.h"
#include "http_static.h"

_Static_assert(HTTP_SESSION_BYTES >= sizeof(http_req *), "the per-connection slot holds a pointer");

/* A PDF still being drawn for R is not answered: its connection or request is gone. */
static void req_detach_job(http_req *r)
{
    if (!r->job) return;
    pthread_mutex_lock(&r->ctx->mu);
    http_pdf_job_detach(r->job);
    pthread_mutex_unlock(&r->ctx->mu);
    r->job = NULL;
}

static void req_free(http_req **slot)
{
    if (!slot || !*slot) return;
    http_req *r = *slot;
    req_detach_job(r);
    free(r->body);
    free(r->out);
    sodium_memzero(r->token, sizeof r->token);
    free(r);
    *slot = NULL;
}

/* The connection's request state, reset for a new request (a kept-alive connection carries
 * several); NULL when out of memory. */
static http_req *req_begin(http_ctx *ctx, struct lws *wsi, http_req **slot)
{
    http_req *r = *slot;
    if (!r && !(r = *slot = calloc(1, sizeof *r))) return NULL;
    req_detach_job(r);
    free(r->body);
    free(r->out);
    memset(r, 0, sizeof *r);
    r->ctx = ctx;
    r->wsi = wsi;
    r->content_length = -1;
    return r;
}

static int is_write(const http_req *r)
{
    return r->method == LWSHUMETH_POST || r->method == LWSHUMETH_PUT || r->method == LWSHUMETH_DELETE ||
           r->method == LWSHUMETH_PATCH;
}

/* "123" from the start of P up to '/' or the end: the id, with *REST after it; 0 when not an id. */
static int64_t path_id(const char *p, const char **rest)
{
    int64_t id = 0;
    const char *q = p;
    while (*q >= '0' && *q <= '9' && q - p < 18) id = id * 10 + (*q++ - '0');
    if (q == p || (*q && *q != '/') || id <= 0) return 0;
    *rest = q;
    return id;
}

static int wrong_method(http_req *r, const char *allow)
{
    r->allow = allow;
    return http_reply_error(r, HTTP_STATUS_METHOD_NOT_ALLOWED, "method not allowed here");
}

/* /api/recordings/{id}[/action]. */
static int route_recording(http_req *r, const char *p)
{
    const char *rest;
    int64_t id = path_id(p, &rest);
    if (!id) return http_reply_error(r, HTTP_STATUS_NOT_FOUND, "no such path: recordings are /api/recordings/{id}");
    int get = r->method == LWSHUMETH_GET, post = r->method == LWSHUMETH_POST;
    if (!*rest) return get ? http_review_recording(r, id) : wrong_method(r, "GET");
    rest++;
    if (!strcmp(rest, "signal")) return get ? http_signal(r, id) : wrong_method(r, "GET");
    if (!strcmp(rest, "history")) return get ? http_review_history(r, id) : wrong_method(r, "GET");
    if (!strcmp(rest, "export.hl7")) return get ? http_review_export(r, id, "hl7") : wrong_method(r, "GET");
    if (!strcmp(rest, "export.fhir.json")) return get ? http_review_export(r, id, "fhir") : wrong_method(r, "GET");
    if (!strcmp(rest, "export.pdf")) return get ? http_pdf_export(r, id) : wrong_method(r, "GET");
    if (!strcmp(rest, "critical")) return post ? http_critical_confirm(r, id) : wrong_method(r, "POST");
    if (!strcmp(rest, "critical/ack")) return post ? http_critical_ack(r, id) : wrong_method(r, "POST");
    if (!strcmp(rest, "report")) return r->method == LWSHUMETH_PUT ? http_review_action(r, id, rest) : wrong_method(r, "PUT");
    static const char *const posts[] = {"claim", "release", "sign", "amend", "repeat"};
    for (size_t i = 0; i < sizeof posts / sizeof *posts; i++)
        if (!strcmp(rest, posts[i])) return post ? http_review_action(r, id, rest) : wrong_method(r, "POST");
    return http_reply_error(r, HTTP_STATUS_NOT_FOUND, "no such path");
}

/* Every /api/ request but the login needs the session; every write also the CSRF token. */
static int route_api(http_req *r)
{
    const char *p = r->path + 4; /* after "/api" */
    int rc;
    if (!strcmp(p, "/login"))
        return r->method == LWSHUMETH_POST ? http_auth_login(r) : wrong_method(r, "POST");
    if (http_auth_session(r, &rc)) return rc;
    if (is_write(r) && http_auth_csrf(r, &rc)) return rc;
    int get = r->method == LWSHUMETH_GET, post = r->method == LWSHUMETH_POST;
    if (!strcmp(p, "/logout")) return post ? http_auth_logout(r) : wrong_method(r, "POST");
    if (!strcmp(p, "/me")) return get ? http_auth_me(r) : wrong_method(r, "GET");
    if (!strcmp(p, "/worklist")) return get ? http_review_worklist(r) : wrong_method(r, "GET");
    if (!strcmp(p, "/worklist/claim-next")) return post ? http_review_claim_next(r) : wrong_method(r, "POST");
    if (!strcmp(p, "/critical")) return get ? http_critical_list(r) : wrong_method(r, "GET");
    if (!strncmp(p, "/recordings/", 12)) return route_recording(r, p + 12);
    static const char pat[] = "/patients/", tail[] = "/recordings";
    size_t n = strlen(p);
    if (!strncmp(p, pat, sizeof pat - 1) && n > sizeof pat - 1 + sizeof tail - 1 &&
        !strcmp(p + n - (sizeof tail - 1), tail)) {
        if (!get) return wrong_method(r, "GET");
        /* The patient id is everything between: it may hold any text, '/' included. */
        char pid[HTTP_PATH_MAX];
        size_t len = n - (sizeof pat - 1) - (sizeof tail - 1);
        memcpy(pid, p + sizeof pat - 1, len);
        pid[len] = 0;
        return http_review_patient(r, pid);
    }
    return http_reply_error(r, HTTP_STATUS_NOT_FOUND, "no such path");
}

static int dispatch(http_req *r)
{
    if (r->answered) return 0;
    if (r->body_too_big) {
        char msg[96];
        snprintf(msg, sizeof msg, "the request body is over %d bytes", HTTP_MAX_BODY);
        return http_reply_error(r, HTTP_STATUS_REQ_ENTITY_TOO_LARGE, msg);
    }
    if (!strcmp(r->path, "/api") || !strncmp(r->path, "/api/", 5)) return route_api(r);
    if (!strcmp(r->path, "/healthz")) return http_reply(r, HTTP_STATUS_OK, "text/plain", "ok\n", 3);
    if (!strcmp(r->path, "/metrics")) {
        int64_t depth = -1;
        char err[256];
        if (store_queue_depth(r->ctx->st, &depth, err, sizeof err) != STORE_OK) depth = -1;
        char *text = net_metrics_render(r->ctx->m, depth);
        if (!text) return http_reply(r, HTTP_STATUS_INTERNAL_SERVER_ERROR, "text/plain", "out of memory\n", 14);
        int rc = http_reply(r, HTTP_STATUS_OK, "text/plain; version=0.0.4", text, strlen(text));
        free(text);
        return rc;
    }
    int st = http_static_serve(r->wsi, r->ctx->web_dir[0] ? r->ctx->web_dir : NULL, r->path);
    if (st != 1) return st;
    return http_reply(r, HTTP_STATUS_NOT_FOUND, "text/plain", "not found\n", 10);
}

/* A new request: its method, path and declared body length; answers at once unless a body must
 * be read first. */
static int begin(http_ctx *ctx, struct lws *wsi, http_req **slot, const char *uri)
{
    http_req *r = req_begin(ctx, wsi, slot);
    if (!r) return -1;
    char *u = NULL;
    int ulen = 0;
    r->method = lws_http_get_uri_and_method(wsi, &u, &ulen);
    if (strlen(uri) >= sizeof r->path) return http_reply_error(r, HTTP_STATUS_NOT_FOUND, "no such path (too long)");
    memcpy(r->path, uri, strlen(uri) + 1);
    char cl[32];
    if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
        int64_t n;
        if (http_parse_int(cl, 0, INT64_MAX, &n)) {
            r->close_after = 1;
            return http_reply_error(r, HTTP_STATUS_BAD_REQUEST, "malformed Content-Length");
        }
        r->content_length = n;
    }
    if (r->content_length > HTTP_DRAIN_BODY) {
        /* Not worth reading to the end: answer and close. */
        r->body_too_big = 1;
        r->close_after = 1;
        return dispatch(r);
    }
    /* With a body, libwebsockets reads it and then calls HTTP_BODY_COMPLETION, where the request
     * is answered. A declared empty body is answered now: for a PUT that callback never comes (a
     * POST's does; dispatch answers once either way). */
    if (r->content_length > 0 && is_write(r)) return 0;
    return dispatch(r);
}

static int body(http_req *r, const void *in, size_t len)
{
    if (r->body_too_big || !len) return 0; /* drained, then answered 413; or nothing */
    if (r->body_len + len > HTTP_MAX_BODY) {
        r->body_too_big = 1;
        return 0;
    }
    if (r->body_len + len + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 1024;
        while (cap < r->body_len + len + 1) cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b) return -1;
        r->body = b;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, in, len);
    r->body_len += len;
    r->body[r->body_len] = 0;
    return 0;
}

int http_callback(http_ctx *ctx, struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    http_req **slot = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return -1; /* a WebSocket without the ecgnet.v1 subprotocol */
    case LWS_CALLBACK_HTTP:
        if (!slot) return -1;
        return begin(ctx, wsi, slot, in);
    case LWS_CALLBACK_HTTP_BODY:
        if (!slot || !*slot) return -1;
        return body(*slot, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (!slot || !*slot) return -1;
        return dispatch(*slot);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!slot || !*slot) return 0;
        return http_reply_writeable(*slot);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        req_free(slot);
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}
