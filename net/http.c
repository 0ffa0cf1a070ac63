/* http.c — ecgnetd's HTTP requests: health, metrics. */
#include "http.h"

#include <stdlib.h>
#include <string.h>

static int http_reply(struct lws *wsi, unsigned code, const char *type, const char *body)
{
    uint8_t buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    size_t len = strlen(body);
    if (lws_add_http_common_headers(wsi, code, type, (lws_filepos_t)len, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL, (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    /* lws_write needs LWS_PRE bytes of headroom before the payload. */
    uint8_t *out = malloc(LWS_PRE + len + 1);
    if (!out) return -1;
    memcpy(out + LWS_PRE, body, len);
    int n = lws_write(wsi, out + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
    free(out);
    if (n < (int)len) return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int http_callback(http_ctx *ctx, struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return -1; /* a WebSocket without the ecgnet.v1 subprotocol */
    case LWS_CALLBACK_HTTP: {
        const char *uri = in;
        if (!strcmp(uri, "/healthz")) return http_reply(wsi, HTTP_STATUS_OK, "text/plain", "ok\n");
        if (!strcmp(uri, "/metrics")) {
            int64_t depth = -1;
            char err[256];
            if (store_queue_depth(ctx->st, &depth, err, sizeof err) != STORE_OK) depth = -1;
            char *text = net_metrics_render(ctx->m, depth);
            if (!text) return http_reply(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR, "text/plain", "out of memory\n");
            int rc = http_reply(wsi, HTTP_STATUS_OK, "text/plain; version=0.0.4", text);
            free(text);
            return rc;
        }
        return http_reply(wsi, HTTP_STATUS_NOT_FOUND, "text/plain", "not found\n");
    }
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}
