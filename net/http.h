/* http.h — ecgnetd's HTTP side: /healthz, /metrics, the review API under /api/ (docs/api.md:
 * login, worklist, recordings, signal, claims, reports, signatures) and the reviewers' web page. Runs on the event loop only,
 * like everything that touches connections.
 */
#ifndef ECGNET_NET_HTTP_H
#define ECGNET_NET_HTTP_H

#include <stddef.h>

#include <libwebsockets.h>

#include "metrics.h"
#include "store.h"

/* What the HTTP handlers need from the server; borrowed, outliving the server's context. */
typedef struct {
    store *st;
    net_metrics *m;
    int tls;            /* served over TLS (cookies get Secure) */
    char web_dir[4096]; /* the reviewers' page (http_static.h), "" when not found */
} http_ctx;

/* Bytes of per-connection state libwebsockets allocates for the "http" protocol: a slot for a
 * pointer to the request state http.c allocates (freed when the connection closes or upgrades). */
#define HTTP_SESSION_BYTES sizeof(void *)

/* The "http" protocol's callback (the server forwards every reason to it). Returns what a
 * libwebsockets callback returns: 0 to carry on, -1 to close the connection. Refuses (-1) a
 * WebSocket upgrade that did not ask for a known subprotocol. USER is the protocol's
 * per-connection slot of HTTP_SESSION_BYTES. */
int http_callback(http_ctx *ctx, struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);

#endif
