/* push.c — the live worklist socket "ecgnet.worklist.v1": who may connect, the stamp timer, the
 * per-page pending flag and the keepalive pings (push.h). */
#include "push.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "http.h"
#include "log.h"

/* One connected page, as the loop sees it. */
typedef struct page {
    struct page *prev, *next; /* in push.pages */
    struct lws *wsi;
    int linked;               /* in the list: ESTABLISHED ran */
    int pending;              /* a worklist message waits for the socket */
    int ping_due;             /* a ping waits for the socket */
    int64_t next_ping_us;
    char user[sizeof ((store_user *)0)->name]; /* for the log */
} page;

struct push {
    push_config c;
    struct lws_context *ctx;  /* known once a page connected */
    lws_sorted_usec_list_t sul;
    int running;              /* the timer is scheduled */
    int64_t stamp;            /* the audit stamp last read */
    int failing;              /* the last stamp read failed (logged once, until it works again) */
    page *pages;
    int npages;
};

push *push_create(const push_config *c, char *err, size_t errlen)
{
    if (!c || !c->st) {
        net_errf(err, errlen, "the live worklist needs the store");
        return NULL;
    }
    push *p = calloc(1, sizeof *p);
    if (!p) {
        net_errf(err, errlen, "out of memory for the live worklist");
        return NULL;
    }
    p->c = *c;
    if (p->c.poll_ms <= 0) p->c.poll_ms = PUSH_POLL_MS;
    if (p->c.ping_s <= 0) p->c.ping_s = PUSH_PING_S;
    return p;
}

size_t push_session_bytes(void) { return sizeof(page); }

int push_pages(const push *p) { return p ? p->npages : 0; }

void push_free(push *p) { free(p); }

/* Reads the store's audit stamp: 1 when it moved, 0 when not, -1 when the store failed (logged
 * once until it recovers; the pages simply hear nothing meanwhile). */
static int read_stamp(push *p)
{
    int64_t s = 0;
    char err[512], q[600];
    if (store_audit_stamp(p->c.st, &s, err, sizeof err) != STORE_OK) {
        if (!p->failing) net_log(NET_LOG_ERROR, "live_stamp_failed", "detail=%s", net_log_quote(q, sizeof q, err));
        p->failing = 1;
        return -1;
    }
    if (p->failing) net_log(NET_LOG_INFO, "live_stamp_recovered", "stamp=%lld", (long long)s);
    p->failing = 0;
    if (s == p->stamp) return 0;
    p->stamp = s;
    return 1;
}

static void tick(lws_sorted_usec_list_t *sul)
{
    push *p = lws_container_of(sul, push, sul);
    if (!p->pages) {
        /* The last page left: nobody to tell, so the store is not read until one connects. */
        p->running = 0;
        return;
    }
    int moved = read_stamp(p) > 0;
    int64_t now = lws_now_usecs();
    for (page *g = p->pages; g; g = g->next) {
        int want = 0;
        if (moved) want = g->pending = 1;
        if (now >= g->next_ping_us && !g->ping_due) {
            want = g->ping_due = 1;
            g->next_ping_us = now + (int64_t)p->c.ping_s * LWS_US_PER_SEC;
        }
        if (want) lws_callback_on_writable(g->wsi);
    }
    lws_sul_schedule(p->ctx, 0, &p->sul, tick, (lws_usec_t)p->c.poll_ms * LWS_US_PER_MS);
}

/* Refuses the upgrade with HTTP status CODE: the browser's WebSocket fails, and a client that
 * reads the answer learns why. */
static int refuse(struct lws *wsi, unsigned code, const char *event, const char *why)
{
    char peer[64] = "?", q[600];
    lws_get_peer_simple(wsi, peer, sizeof peer);
    net_log(NET_LOG_WARN, event, "peer=%s status=%u reason=%s", peer, code, net_log_quote(q, sizeof q, why));
    lws_return_http_status(wsi, code, NULL);
    return -1;
}

/* At the upgrade, while the request's headers are still there: the path, the Origin, the session. */
static int admit(push *p, struct lws *wsi, page *g)
{
    char uri[128];
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, PUSH_PATH))
        return refuse(wsi, HTTP_STATUS_NOT_FOUND, "live_refused", "the live worklist is at " PUSH_PATH);
    if (!http_auth_same_origin(wsi, p->c.tls))
        return refuse(wsi, HTTP_STATUS_FORBIDDEN, "live_refused", "the Origin is not this server (another site's page?)");
    store_user u;
    char token[STORE_SESSION_CHARS + 1], csrf[STORE_SESSION_CHARS + 1], err[512] = "";
    int rc = http_auth_cookie_session(p->c.st, wsi, &u, token, csrf, err, sizeof err);
    sodium_memzero(token, sizeof token);
    sodium_memzero(csrf, sizeof csrf);
    if (rc == STORE_EAUTH) return refuse(wsi, HTTP_STATUS_UNAUTHORIZED, "live_refused", err);
    if (rc != STORE_OK) return refuse(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR, "live_failed", err);
    if (g) snprintf(g->user, sizeof g->user, "%s", u.name);
    return 0;
}

static void established(push *p, struct lws *wsi, page *g)
{
    char user[sizeof g->user];
    memcpy(user, g->user, sizeof user);
    memset(g, 0, sizeof *g);
    memcpy(g->user, user, sizeof user);
    g->wsi = wsi;
    g->linked = 1;
    g->next = p->pages;
    if (p->pages) p->pages->prev = g;
    p->pages = g;
    p->npages++;
    g->next_ping_us = lws_now_usecs() + (int64_t)p->c.ping_s * LWS_US_PER_SEC;
    if (!p->running) {
        /* The first page: the stamp may be old; it is read now so that the page hears the
         * current one, and then watched. */
        p->ctx = lws_get_context(wsi);
        read_stamp(p);
        p->running = 1;
        lws_sul_schedule(p->ctx, 0, &p->sul, tick, (lws_usec_t)p->c.poll_ms * LWS_US_PER_MS);
    }
    /* Every page hears the stamp once at once: after a reconnection it re-reads what it missed. */
    g->pending = 1;
    lws_callback_on_writable(wsi);
    char q[100];
    net_log(NET_LOG_INFO, "live_open", "user=%s pages=%d", net_log_quote(q, sizeof q, g->user), p->npages);
}

static void closed(push *p, page *g)
{
    if (!g || !g->linked) return;
    if (g->prev) g->prev->next = g->next;
    else p->pages = g->next;
    if (g->next) g->next->prev = g->prev;
    g->prev = g->next = NULL;
    g->linked = 0;
    p->npages--;
    char q[100];
    net_log(NET_LOG_DEBUG, "live_close", "user=%s pages=%d", net_log_quote(q, sizeof q, g->user), p->npages);
}

/* One write per writeable callback (libwebsockets' rule): the message first, then the ping. */
static int writeable(push *p, page *g)
{
    if (g->pending) {
        cJSON *o = cJSON_CreateObject();
        char *text = NULL;
        if (o && cJSON_AddStringToObject(o, "type", "worklist") && cJSON_AddNumberToObject(o, "stamp", (double)p->stamp))
            text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!text) return -1; /* out of memory: the page reconnects and re-reads */
        size_t n = strlen(text);
        unsigned char buf[LWS_PRE + 128];
        int ok = n < sizeof buf - LWS_PRE;
        if (ok) {
            memcpy(buf + LWS_PRE, text, n);
            ok = lws_write(g->wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) >= (int)n;
        }
        cJSON_free(text);
        if (!ok) return -1;
        g->pending = 0;
        if (g->ping_due) lws_callback_on_writable(g->wsi);
        return 0;
    }
    if (g->ping_due) {
        /* A payload of one byte: libwebsockets 4.1's own client never answers an empty ping. */
        unsigned char buf[LWS_PRE + 1] = {0};
        buf[LWS_PRE] = 'k';
        if (lws_write(g->wsi, buf + LWS_PRE, 1, LWS_WRITE_PING) < 1) return -1;
        g->ping_due = 0;
        /* libwebsockets closes the connection when the pong has not come by then. */
        lws_set_timeout(g->wsi, PENDING_TIMEOUT_WS_PONG_CHECK_GET_PONG, p->c.ping_s);
    }
    return 0;
}

int push_callback(push *p, struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    page *g = user;
    (void)in;
    (void)len;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return admit(p, wsi, g);
    case LWS_CALLBACK_ESTABLISHED:
        if (!g) return -1;
        established(p, wsi, g);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return g && g->linked ? writeable(p, g) : 0;
    case LWS_CALLBACK_RECEIVE_PONG:
        lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return 0; /* pages have nothing to say: ignored */
    case LWS_CALLBACK_CLOSED:
        closed(p, g);
        return 0;
    default:
        return 0;
    }
}
