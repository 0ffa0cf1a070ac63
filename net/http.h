/* http.h — ecgnetd's HTTP side: /healthz, /metrics, the review API under /api/ (docs/api.md:
 * login, worklist, recordings, signal, claims, reports, signatures) and the reviewers' web page. Runs on the event loop only,
 * like everything that touches connections.
 */
#ifndef ECGNET_NET_HTTP_H
#define ECGNET_NET_HTTP_H

#include <pthread.h>
#include <stddef.h>

#include <libwebsockets.h>

#include "metrics.h"
#include "store.h"

typedef struct http_pdf_job http_pdf_job;

/* What the HTTP handlers need from the server; borrowed, outliving the server's context. */
typedef struct {
    store *st;
    net_metrics *m;
    int tls;            /* served over TLS (cookies get Secure) */
    char web_dir[4096]; /* the reviewers' page (http_static.h), "" when not found */
    /* PDF exports are drawn on threads of their own (0.1-0.2 s each: too long to hold up the event
     * loop, which also serves the devices); a finished one waits in DONE until the loop, woken by
     * lws_cancel_service, answers it (http_finish_jobs). RENDERING counts the threads at work. */
    pthread_mutex_t mu;
    pthread_cond_t idle;
    http_pdf_job *done;
    int rendering;
} http_ctx;

/* Sets up CTX's job list (the other fields are the caller's). Returns 0, or -1. */
int http_ctx_init(http_ctx *ctx);

/* Waits for every PDF still being drawn, then frees what is left (those requests go unanswered:
 * the server is stopping). Call on the loop's thread before the libwebsockets context is
 * destroyed (a drawing thread wakes the loop when it finishes). */
void http_ctx_free(http_ctx *ctx);

/* On the event loop, when lws_cancel_service woke it: answers the requests whose PDF is ready
 * (those whose connection went meanwhile are dropped). */
void http_finish_jobs(http_ctx *ctx);

/* Bytes of per-connection state libwebsockets allocates for the "http" protocol: a slot for a
 * pointer to the request state http.c allocates (freed when the connection closes or upgrades). */
#define HTTP_SESSION_BYTES sizeof(void *)

/* The "http" protocol's callback (the server forwards every reason to it). Returns what a
 * libwebsockets callback returns: 0 to carry on, -1 to close the connection. Refuses (-1) a
 * WebSocket upgrade that did not ask for a known subprotocol. USER is the protocol's
 * per-connection slot of HTTP_SESSION_BYTES. */
int http_callback(http_ctx *ctx, struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);

/* Checks the session cookie of WSI's request (headers still readable: an HTTP request, or a
 * WebSocket upgrade up to LWS_CALLBACK_ESTABLISHED) with store_session_check, which also
 * refreshes the session's idle expiry. Returns STORE_OK with *USER, TOKEN (the cookie's value)
 * and CSRF filled; STORE_EAUTH with a message for the user when there is no usable cookie or the
 * session ended; another STORE_E* code when the store failed (ERR names server files: log it,
 * do not send it). */
int http_auth_cookie_session(store *st, struct lws *wsi, store_user *user, char token[STORE_SESSION_CHARS + 1],
                             char csrf[STORE_SESSION_CHARS + 1], char *err, size_t errlen);

/* 1 when WSI's request has an Origin header naming this server as the browser reached it —
 * "http://" ("https://" when TLS is 1) followed by the Host header, case aside — else 0 (no
 * Origin, no Host, another site's page). Refuses cross-site WebSocket hijacking, where a
 * browser would send the cookie along with another site's upgrade request. */
int http_auth_same_origin(struct lws *wsi, int tls);

#endif
