/* server.c — the libwebsockets event loop: HTTP (/healthz, /metrics, the API, the page), the ecgnet.v1
 * devices and the reviewers' live worklist (ecgnet.worklist.v1). */
#include "server.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "log.h"
#include "http.h"
#include "http_static.h"
#include "proto.h"
#include "push.h"

/* One device connection, as the loop sees it. */
typedef struct conn {
    struct conn *prev, *next;  /* in server.conns */
    struct lws *wsi;
    ingest_session *s;
    uint8_t *msg;              /* the message being reassembled from fragments */
    size_t len, cap;
    int binary;
    int said_hello;
    int paused;                /* reading stopped (flow control) */
    int64_t choked_since_us;   /* output waiting on a client that does not read */
} conn;

struct server {
    server_config c;
    char data_dir[4096];
    store *st;
    ingest *g;
    net_metrics m;
    flag_table *flags_owned;
    struct lws_context *ctx;
    http_ctx http;
    int http_ready; /* http_ctx_init succeeded */
    push *push;
    struct lws_protocols protocols[4];
    lws_sorted_usec_list_t tick;
    conn *conns;
    atomic_int stop;
    int port;
};

static void wake(void *ctx) { lws_cancel_service(ctx); }

/* ---- HTTP: everything but the device WebSocket is http.c's ---- */

static int callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    server *sv = lws_context_user(lws_get_context(wsi));
    return http_callback(&sv->http, wsi, reason, user, in, len);
}

/* ---- the reviewers' live worklist: everything is push.c's ---- */

static int callback_push(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    server *sv = lws_context_user(lws_get_context(wsi));
    return push_callback(sv->push, wsi, reason, user, in, len);
}

/* ---- devices ---- */

static void unlink_conn(server *sv, conn *c)
{
    if (c->prev) c->prev->next = c->next;
    else if (sv->conns == c) sv->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static int close_with(struct lws *wsi, int code, const char *reason)
{
    lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)reason, strlen(reason));
    return -1;
}

static void update_flow(conn *c)
{
    int paused = ingest_session_paused(c->s);
    if (paused != c->paused) {
        lws_rx_flow_control(c->wsi, !paused);
        c->paused = paused;
    }
    /* A rate-limit pause lifts with time alone: look again soon. */
    if (paused) lws_set_timer_usecs(c->wsi, 20 * LWS_US_PER_MS);
}

static int dispatch(conn *c)
{
    char reason[124];
    int code;
    c->said_hello = 1;
    if (c->binary) code = ingest_session_binary(c->s, c->msg, c->len, reason, sizeof reason);
    else code = ingest_session_text(c->s, (const char *)c->msg, c->len, reason, sizeof reason);
    c->len = 0;
    if (code) return close_with(c->wsi, code, reason);
    update_flow(c);
    if (ingest_session_wants_write(c->s)) lws_callback_on_writable(c->wsi);
    return 0;
}

static int receive(conn *c, const void *in, size_t len)
{
    if (lws_is_first_fragment(c->wsi)) {
        c->len = 0;
        c->binary = lws_frame_is_binary(c->wsi);
    }
    size_t limit = c->binary ? PROTO_MAX_FRAME_BYTES : PROTO_MAX_TEXT_BYTES;
    if (c->len + len > limit) {
        char reason[100];
        snprintf(reason, sizeof reason, "message over %zu bytes", limit);
        atomic_fetch_add(&((server *)lws_context_user(lws_get_context(c->wsi)))->m.frames_rejected_total, 1);
        net_log(NET_LOG_WARN, "reject", "code=%d reason=\"%s\"", PROTO_CLOSE_TOO_BIG, reason);
        return close_with(c->wsi, PROTO_CLOSE_TOO_BIG, reason);
    }
    if (c->len + len > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + len) cap *= 2;
        uint8_t *m = realloc(c->msg, cap);
        if (!m) return close_with(c->wsi, PROTO_CLOSE_STORAGE, "server out of memory");
        c->msg = m;
        c->cap = cap;
    }
    memcpy(c->msg + c->len, in, len);
    c->len += len;
    if (lws_is_final_fragment(c->wsi) && !lws_remaining_packet_payload(c->wsi)) return dispatch(c);
    return 0;
}

static int writeable(conn *c)
{
    uint8_t buf[LWS_PRE + 4096];
    int code;
    char reason[124];
    size_t n = ingest_session_next_output(c->s, (char *)buf + LWS_PRE, sizeof buf - LWS_PRE, &code, reason,
                                          sizeof reason);
    if (n) {
        if (lws_write(c->wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n) return -1;
        c->choked_since_us = 0;
        if (ingest_session_wants_write(c->s)) lws_callback_on_writable(c->wsi);
        return 0;
    }
    if (code) return close_with(c->wsi, code, reason);
    update_flow(c);
    return 0;
}

static int callback_device(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    server *sv = lws_context_user(lws_get_context(wsi));
    conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        char uri[128];
        if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, PROTO_PATH)) return -1;
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED: {
        char peer[64] = "?";
        lws_get_peer_simple(wsi, peer, sizeof peer);
        memset(c, 0, sizeof *c);
        c->wsi = wsi;
        if (!(c->s = ingest_session_new(sv->g, peer))) return -1;
        c->next = sv->conns;
        if (sv->conns) sv->conns->prev = c;
        sv->conns = c;
        net_log(NET_LOG_DEBUG, "connect", "peer=%s", peer);
        lws_set_timer_usecs(wsi, (lws_usec_t)(sv->c.hello_timeout_s * LWS_US_PER_SEC));
        return 0;
    }
    case LWS_CALLBACK_RECEIVE:
        return receive(c, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return writeable(c);
    case LWS_CALLBACK_TIMER:
        if (!c->said_hello) {
            atomic_fetch_add(&sv->m.frames_rejected_total, 1);
            net_log(NET_LOG_WARN, "reject", "code=%d reason=\"no hello in time\"", PROTO_CLOSE_TIMEOUT);
            return close_with(wsi, PROTO_CLOSE_TIMEOUT, "no hello in time");
        }
        update_flow(c);
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (c->s) {
            unlink_conn(sv, c);
            ingest_session_gone(c->s);
            c->s = NULL;
        }
        free(c->msg);
        c->msg = NULL;
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        /* Workers have output or freed buffer room: visit every connection (cheap flags); PDF
         * drawings may have finished. */
        if (sv->g) ingest_woken(sv->g);
        http_finish_jobs(&sv->http);
        for (conn *k = sv->conns; k; k = k->next) {
            if (ingest_session_wants_write(k->s)) lws_callback_on_writable(k->wsi);
            if (k->paused) update_flow(k);
        }
        return 0;
    default:
        return 0;
    }
}

/* Critical values the clinic has not acknowledged in time go back to every cardiologist: the
 * store marks and audits them (the live worklist's pages see the audit stamp move); the log says
 * so for the operators. A store error is logged and tried again next time. */
static void escalate(server *sv)
{
    char err[512], q[600];
    int64_t n = 0;
    if (store_critical_escalate(sv->st, &n, err, sizeof err) != STORE_OK)
        net_log(NET_LOG_ERROR, "critical_escalate_failed", "detail=%s", net_log_quote(q, sizeof q, err));
    else if (n > 0)
        net_log(NET_LOG_WARN, "critical_escalated", "count=%lld reason=\"not acknowledged by the clinic in time\"",
                (long long)n);
}

/* Once a second: idle recordings, clients that never read, overdue critical values (one indexed
 * read when none is due). */
static void tick(lws_sorted_usec_list_t *sul)
{
    server *sv = lws_container_of(sul, server, tick);
    ingest_tick(sv->g);
    escalate(sv);
    int64_t now = ingest_now_us();
    for (conn *c = sv->conns; c; c = c->next) {
        if (ingest_session_wants_write(c->s) && lws_send_pipe_choked(c->wsi)) {
            if (!c->choked_since_us) c->choked_since_us = now;
            else if (now - c->choked_since_us > 30 * 1000000LL) {
                net_log(NET_LOG_WARN, "reject", "code=%d reason=\"client does not read\"", PROTO_CLOSE_TIMEOUT);
                lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
            }
        } else {
            c->choked_since_us = 0;
        }
    }
    lws_sul_schedule(sv->ctx, 0, &sv->tick, tick, LWS_US_PER_SEC);
}

static int is_loopback(const char *addr)
{
    return !strcmp(addr, "127.0.0.1") || !strcmp(addr, "localhost");
}

static void lws_logger(int level, const char *line)
{
    char q[600];
    size_t n = strlen(line);
    char copy[512];
    snprintf(copy, sizeof copy, "%.*s", (int)(n && line[n - 1] == '\n' ? n - 1 : n), line);
    net_log(level & LLL_ERR ? NET_LOG_ERROR : NET_LOG_WARN, "lws", "message=%s", net_log_quote(q, sizeof q, copy));
}

server *server_create(const server_config *c, char *err, size_t errlen)
{
    server *sv = calloc(1, sizeof *sv);
    if (!sv) {
        net_errf(err, errlen, "out of memory");
        return NULL;
    }
    sv->c = *c;
    if (!sv->c.listen || !*sv->c.listen) sv->c.listen = "127.0.0.1";
    if (sv->c.hello_timeout_s <= 0) sv->c.hello_timeout_s = 10;
    if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
        net_errf(err, errlen, "TLS needs both a certificate and a key (tls_cert, tls_key)");
        goto fail;
    }
    /* Checked here for a message that names the file (libwebsockets would only say the TLS
       set-up failed, and leaks its half-made context when it does). */
    const char *tls_files[2] = {c->tls_cert, c->tls_key};
    for (int i = 0; i < 2; i++)
        if (tls_files[i] && access(tls_files[i], R_OK)) {
            net_errf(err, errlen, "TLS %s %s: %s", i ? "key" : "certificate", tls_files[i], strerror(errno));
            goto fail;
        }
    if (!c->tls_cert && !c->plain && !is_loopback(sv->c.listen)) {
        net_errf(err, errlen,
                 "refusing plain ws:// on %s: give a TLS certificate and key, or declare a trusted network with plain = true",
                 sv->c.listen);
        goto fail;
    }
    snprintf(sv->data_dir, sizeof sv->data_dir, "%s", c->ingest.data_dir);
    char url[4200];
    if (c->store_url) snprintf(url, sizeof url, "%s", c->store_url);
    else snprintf(url, sizeof url, "sqlite:%s/ecgnet.db", sv->data_dir);
    if (mkdir(sv->data_dir, 0700) && errno != EEXIST) {
        net_errf(err, errlen, "%s: cannot create the data directory: %s", sv->data_dir, strerror(errno));
        goto fail;
    }
    if (!(sv->st = store_open(url, err, errlen))) goto fail;
    if (c->claim_timeout_s > 0) store_set_claim_timeout(sv->st, (int64_t)(c->claim_timeout_s * 1000));
    if (c->critical_ack_s > 0) store_set_critical_ack_timeout(sv->st, (int64_t)(c->critical_ack_s * 1000));

    if (http_ctx_init(&sv->http)) {
        net_errf(err, errlen, "cannot set up the HTTP side: out of memory");
        goto fail;
    }
    sv->http_ready = 1;
    sv->http.st = sv->st;
    sv->http.m = &sv->m;
    sv->http.tls = c->tls_cert != NULL;
    char werr[1024], q[1100];
    if (http_static_find_dir(sv->http.web_dir, sizeof sv->http.web_dir, werr, sizeof werr)) {
        /* Devices and the API work without it; reviewers are told why the page is missing. */
        net_log(NET_LOG_WARN, "web_page_missing", "detail=%s", net_log_quote(q, sizeof q, werr));
        sv->http.web_dir[0] = 0;
    }
    sv->protocols[0] = (struct lws_protocols){"http", callback_http, HTTP_SESSION_BYTES, 0, 0, NULL, 0};
    sv->protocols[1] = (struct lws_protocols){PROTO_NAME, callback_device, sizeof(conn), 65536, 0, NULL, 0};
    push_config pc = {sv->st, sv->http.tls, 0, c->live_ping_s};
    if (!(sv->push = push_create(&pc, err, errlen))) goto fail;
    /* Pages send nothing: a small receive buffer. */
    sv->protocols[2] = (struct lws_protocols){PUSH_PROTOCOL, callback_push, push_session_bytes(), 512, 0, NULL, 0};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = c->port; /* 0: the kernel picks a free port */
    info.iface = sv->c.listen;
    info.protocols = sv->protocols;
    info.user = sv;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;
    if (c->tls_cert) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = c->tls_cert;
        info.ssl_private_key_filepath = c->tls_key;
    }
    info.fd_limit_per_thread = 0;
    info.pt_serv_buf_size = 65536;
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_logger);
    if (!(sv->ctx = lws_create_context(&info))) {
        net_errf(err, errlen, "cannot listen on %s:%d (port in use, or TLS certificate/key unreadable)", sv->c.listen, c->port);
        goto fail;
    }
    struct lws_vhost *vh = lws_get_vhost_by_name(sv->ctx, "default");
    sv->port = vh ? lws_get_vhost_listen_port(vh) : c->port;
    if (!(sv->g = ingest_create(&sv->c.ingest, sv->st, &sv->m, wake, sv->ctx, err, errlen))) goto fail;
    long n = ingest_recover(sv->g, err, errlen);
    if (n < 0) goto fail;
    net_log(NET_LOG_INFO, "listening", "address=%s port=%d tls=%s data=%s recovered=%ld", sv->c.listen, sv->port,
            c->tls_cert ? "yes" : "no", sv->data_dir, n);
    lws_sul_schedule(sv->ctx, 0, &sv->tick, tick, LWS_US_PER_SEC);
    return sv;
fail:
    server_free(sv);
    return NULL;
}

int server_port(const server *s) { return s->port; }

int server_run(server *s)
{
    while (!atomic_load(&s->stop))
        if (lws_service(s->ctx, 0) < 0) return -1;
    return 0;
}

void server_stop(server *s)
{
    atomic_store(&s->stop, 1);
    if (s->ctx) lws_cancel_service(s->ctx);
}

void server_free(server *s)
{
    if (!s) return;
    /* Workers first: everything received is journaled and synced before connections go. */
    ingest *g = s->g;
    s->g = NULL;
    if (s->ctx) {
        /* Tell the devices (close 1001: reconnect and resume), giving the loop half a second to
           say it; whoever is still connected after that is cut off. */
        for (conn *c = s->conns; c; c = c->next) {
            ingest_session_close(c->s, PROTO_CLOSE_GOING_AWAY, "server shutting down: reconnect and resume");
            lws_callback_on_writable(c->wsi);
        }
        int64_t until = ingest_now_us() + 500000;
        while (s->conns && ingest_now_us() < until) lws_service(s->ctx, 0);
        for (conn *c = s->conns; c; c = c->next) {
            ingest_session_gone(c->s);
            c->s = NULL;
        }
        s->conns = NULL;
    }
    ingest_free(g);
    if (s->http_ready) http_ctx_free(&s->http); /* drawings finish before the context goes */
    if (s->ctx) lws_context_destroy(s->ctx);
    push_free(s->push); /* after the context: closing pages still reach it */
    store_close(s->st);
    free(s);
}
