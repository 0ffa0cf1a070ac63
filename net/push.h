/* push.h — the reviewers' live worklist: the WebSocket subprotocol "ecgnet.worklist.v1" at
 * /api/worklist/live (docs/api.md, section 13), which tells every connected page when the review
 * queue changed so that it re-reads GET /api/worklist at once instead of polling.
 *
 * Runs on the event loop only, like everything that touches connections. A page is let in at the
 * upgrade only with a live session cookie (http_auth_cookie_session) and an Origin that is this
 * server (http_auth_same_origin); it is refused with an HTTP status otherwise. Messages carry no
 * patient data — the audit trail's newest row id, {"type":"worklist","stamp":N} — so every page
 * may receive every one; what a user may see is decided by the worklist request that follows.
 *
 * Changes are found by reading store_audit_stamp on a timer of the loop (every poll_ms), only
 * while at least one page is connected; every queue change writes an audit row, also those of
 * other servers sharing a PostgreSQL store. Each page holds at most one pending message (a
 * flag, never a queue), so a page that does not read costs nothing but its socket. Pages are
 * pinged every ping_s seconds and closed when the pong does not come within as long again.
 */
#ifndef ECGNET_NET_PUSH_H
#define ECGNET_NET_PUSH_H

#include <stddef.h>

#include <libwebsockets.h>

#include "store.h"

#define PUSH_PROTOCOL "ecgnet.worklist.v1" /* the WebSocket subprotocol */
#define PUSH_PATH "/api/worklist/live"     /* where pages connect */
#define PUSH_POLL_MS 200                   /* default: how often the stamp is read */
#define PUSH_PING_S 20                     /* default: seconds between pings */

typedef struct {
    store *st;   /* borrowed: the loop's store handle, outliving the push */
    int tls;     /* served over TLS: a page's Origin is https://Host */
    int poll_ms; /* 0: PUSH_POLL_MS */
    int ping_s;  /* 0: PUSH_PING_S */
} push_config;

typedef struct push push;

/* A push service for C (copied). Returns NULL with a message in err when out of memory or when
 * C lacks the store. Free it with push_free after the libwebsockets context is destroyed (the
 * context's last callbacks still reach it). */
push *push_create(const push_config *c, char *err, size_t errlen);

/* Bytes of per-connection state the protocol's entry in the lws_protocols table must declare. */
size_t push_session_bytes(void);

/* The "ecgnet.worklist.v1" protocol's callback (the server forwards every reason to it). Returns
 * what a libwebsockets callback returns: 0 to carry on, -1 to refuse or close. USER is the
 * protocol's per-connection slot of push_session_bytes() bytes. */
int push_callback(push *p, struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

/* Pages connected now. */
int push_pages(const push *p);

/* Frees P; NULL is a no-op. */
void push_free(push *p);

#endif
