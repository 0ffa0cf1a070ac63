/* test_push.c — the reviewers' live worklist socket (net/push.h, docs/api.md section 13) against
 * an in-process ecgnetd: a page with a session hears the stamp at once and again within a second
 * of every queue change (two pages alike); without a session, with another site's Origin or on
 * another path the upgrade is refused with its HTTP status; pings keep a live page connected and
 * close one that never answers. */
#include <errno.h>
#include <poll.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "log.h"
#include "net_harness.h"
#include "push.h"

#define PW "correct horse battery"
#define PING_S 1 /* the server's ping interval in this test: a dead page goes within seconds */

static char data_dir[1024], store_url[1200];
static harness_server srv;
static int port;
static char host[64], origin[96];
static char session[STORE_SESSION_CHARS + 1];

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- the store, from the test's side (a second handle, as the CLI or another server) ---- */

static store *open_store(void)
{
    char err[512];
    store *st = store_open(store_url, err, sizeof err);
    if (!st) {
        fprintf(stderr, "store_open: %s\n", err);
        exit(2);
    }
    return st;
}

static int64_t stamp_now(void)
{
    char err[512];
    int64_t s = -1;
    store *st = open_store();
    if (store_audit_stamp(st, &s, err, sizeof err) != STORE_OK) fprintf(stderr, "stamp: %s\n", err);
    store_close(st);
    return s;
}

/* A queue change as any writer makes it: one audit row. Returns the new stamp. */
static int64_t change_queue(const char *what)
{
    char err[512];
    store *st = open_store();
    if (store_audit(st, "cli", "test.change", 0, what, err, sizeof err) != STORE_OK) fprintf(stderr, "audit: %s\n", err);
    store_close(st);
    return stamp_now();
}

/* A new session token of user NAME. */
static void login(const char *name, char token[STORE_SESSION_CHARS + 1])
{
    char err[512], csrf[STORE_SESSION_CHARS + 1];
    store *st = open_store();
    if (store_login(st, name, PW, "test_push", token, csrf, NULL, NULL, err, sizeof err) != STORE_OK) {
        fprintf(stderr, "login %s: %s\n", name, err);
        exit(2);
    }
    store_close(st);
}

/* ---- a page: a libwebsockets client of ecgnet.worklist.v1 ---- */

typedef struct {
    const char *cookie; /* the session token to send as ecgnet_session; NULL: no cookie */
    const char *origin; /* the Origin header; NULL: none */
    const char *path;   /* NULL: PUSH_PATH */
    int established, closed, error;
    int status;         /* the HTTP status of a refused upgrade (0: none seen) */
    int messages;       /* {"type":"worklist"} messages received */
    int bad_messages;   /* anything else */
    int64_t first_stamp, last_stamp;
    double last_at;     /* now_s() at the last message */
} page;

static int page_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    page *g = lws_get_opaque_user_data(wsi);
    (void)user;
    if (!g) return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        if (!g->cookie) return 0;
        char value[128];
        int n = snprintf(value, sizeof value, "ecgnet_session=%s", g->cookie);
        unsigned char **p = in, *end = *p + len;
        return lws_add_http_header_by_name(wsi, (const unsigned char *)"cookie:", (const unsigned char *)value, n, p, end);
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        g->established = 1;
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE: {
        cJSON *o = cJSON_ParseWithLength(in, len);
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
        const cJSON *stamp = cJSON_GetObjectItemCaseSensitive(o, "stamp");
        if (cJSON_IsString(type) && !strcmp(type->valuestring, "worklist") && cJSON_IsNumber(stamp) &&
            cJSON_GetArraySize(o) == 2) {
            if (!g->messages) g->first_stamp = (int64_t)stamp->valuedouble;
            g->messages++;
            g->last_stamp = (int64_t)stamp->valuedouble;
            g->last_at = now_s();
        } else {
            g->bad_messages++;
        }
        cJSON_Delete(o);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        g->error = 1;
        g->status = (int)lws_http_client_http_response(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        g->closed = 1;
        return 0;
    default:
        return 0;
    }
}

static struct lws_context *client_context(void)
{
    static const struct lws_protocols protocols[] = {{PUSH_PROTOCOL, page_cb, 0, 4096, 0, NULL, 0},
                                                     {NULL, NULL, 0, 0, 0, NULL, 0}};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN; /* Origin as given, not "http://" + it */
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context *ctx = lws_create_context(&info);
    if (!ctx) {
        fprintf(stderr, "cannot create the client context\n");
        exit(2);
    }
    return ctx;
}

static void open_page(struct lws_context *ctx, page *g)
{
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = ctx;
    ci.address = "127.0.0.1";
    ci.port = port;
    ci.path = g->path ? g->path : PUSH_PATH;
    ci.host = host;
    ci.origin = g->origin;
    ci.protocol = PUSH_PROTOCOL;
    ci.opaque_user_data = g;
    if (!lws_client_connect_via_info(&ci)) g->error = 1;
}

/* Services CTX until DONE(ARG) or SECONDS pass; returns DONE's last value. */
static int service_until(struct lws_context *ctx, int (*done)(void *), void *arg, double seconds)
{
    double until = now_s() + seconds;
    int d;
    while (!(d = done(arg)) && now_s() < until) lws_service(ctx, 50);
    return d;
}

static int page_settled(void *arg)
{
    const page *g = arg;
    return g->error || g->closed || g->messages > 0;
}

static int page_failed(void *arg)
{
    const page *g = arg;
    return g->error || g->closed;
}

typedef struct {
    page *pages;
    int n;
    int64_t stamp;
} all_at;

static int all_heard(void *arg)
{
    const all_at *a = arg;
    for (int i = 0; i < a->n; i++)
        if (a->pages[i].last_stamp < a->stamp) return 0;
    return 1;
}

/* Opens page G in a fresh context and waits until it is settled (a first message, or refused). */
static struct lws_context *connect_page(page *g)
{
    struct lws_context *ctx = client_context();
    open_page(ctx, g);
    service_until(ctx, page_settled, g, 5);
    return ctx;
}

/* ---- the cases ---- */

static void a_page_with_a_session_hears_the_stamp_at_once_and_each_change_within_a_second(void)
{
    page g = {.cookie = session, .origin = origin};
    int64_t before = stamp_now();
    struct lws_context *ctx = connect_page(&g);
    CHECK(g.established && !g.error, "the upgrade with a session and this server's Origin failed (status %d)", g.status);
    CHECK(g.messages == 1 && g.first_stamp == before, "the first message: %d messages, stamp %lld, store's %lld",
          g.messages, (long long)g.first_stamp, (long long)before);
    CHECK(g.bad_messages == 0, "%d messages were not {\"type\":\"worklist\",\"stamp\":N}", g.bad_messages);

    double t0 = now_s();
    int64_t after = change_queue("one change");
    all_at a = {&g, 1, after};
    CHECK(service_until(ctx, all_heard, &a, 3), "no message after the change (stamp %lld, heard %lld)", (long long)after,
          (long long)g.last_stamp);
    double latency = g.last_at - t0;
    fprintf(stderr, "    change to page: %.0f ms\n", latency * 1000);
    CHECK(latency < 1.0, "the change reached the page after %.3f s (target < 1 s)", latency);
    CHECK(g.last_stamp == after && after > before, "stamps: before %lld, after %lld, heard %lld", (long long)before,
          (long long)after, (long long)g.last_stamp);

    /* Nothing changes: nothing is sent (pings are not messages), and the page, which answers the
       pings, stays connected over several ping intervals. */
    int heard = g.messages;
    service_until(ctx, page_failed, &g, 3.5 * PING_S);
    CHECK(!g.closed && !g.error, "a page that answers pings was closed");
    CHECK(g.messages == heard, "%d messages without a change", g.messages - heard);
    lws_context_destroy(ctx);
}

static void without_a_live_session_the_upgrade_is_refused_401(void)
{
    page none = {.cookie = NULL, .origin = origin};
    struct lws_context *ctx = connect_page(&none);
    CHECK(!none.established && none.error && none.status == 401, "no cookie: established %d, status %d", none.established,
          none.status);
    CHECK(none.messages == 0, "a page without a session heard %d messages", none.messages);
    lws_context_destroy(ctx);

    page forged = {.cookie = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", .origin = origin};
    ctx = connect_page(&forged);
    CHECK(!forged.established && forged.status == 401, "an unknown token: established %d, status %d", forged.established,
          forged.status);
    lws_context_destroy(ctx);

    /* A session that ended (logout) opens nothing either. */
    char token[STORE_SESSION_CHARS + 1], err[512];
    login("card1", token);
    store *st = open_store();
    CHECK(store_logout(st, token, err, sizeof err) == STORE_OK, "logout: %s", err);
    store_close(st);
    page ended = {.cookie = token, .origin = origin};
    ctx = connect_page(&ended);
    CHECK(!ended.established && ended.status == 401, "an ended session: established %d, status %d", ended.established,
          ended.status);
    lws_context_destroy(ctx);
}

static void another_sites_origin_is_refused_403(void)
{
    const char *foreign[] = {"http://evil.example", "http://127.0.0.1", "https://127.0.0.1:1", "null", NULL};
    char https_self[96];
    snprintf(https_self, sizeof https_self, "https://%s", host); /* the scheme counts: this server is plain */
    for (int i = 0; i < 5; i++) {
        const char *o = i < 4 ? foreign[i] : https_self;
        page g = {.cookie = session, .origin = o};
        struct lws_context *ctx = connect_page(&g);
        CHECK(!g.established && g.status == 403, "Origin %s: established %d, status %d", o, g.established, g.status);
        CHECK(g.messages == 0, "Origin %s: %d messages", o, g.messages);
        lws_context_destroy(ctx);
    }
    page bare = {.cookie = session, .origin = NULL};
    struct lws_context *ctx = connect_page(&bare);
    CHECK(!bare.established && bare.status == 403, "no Origin: established %d, status %d", bare.established, bare.status);
    lws_context_destroy(ctx);
}

static void another_path_is_refused_404(void)
{
    page g = {.cookie = session, .origin = origin, .path = "/api/worklist"};
    struct lws_context *ctx = connect_page(&g);
    CHECK(!g.established && g.status == 404, "the subprotocol on /api/worklist: established %d, status %d", g.established,
          g.status);
    lws_context_destroy(ctx);
}

static void a_flag_while_two_pages_are_connected_reaches_both(void)
{
    char other[STORE_SESSION_CHARS + 1];
    login("card2", other);
    page g[2] = {{.cookie = session, .origin = origin}, {.cookie = other, .origin = origin}};
    struct lws_context *ctx = client_context();
    open_page(ctx, &g[0]);
    open_page(ctx, &g[1]);
    int64_t before = stamp_now();
    all_at first = {g, 2, before};
    CHECK(service_until(ctx, all_heard, &first, 5), "the two pages did not both connect (%d %d, status %d %d)",
          g[0].established, g[1].established, g[0].status, g[1].status);

    /* A critical flag on a recording still being received, as the analysis raises it. */
    char err[512];
    store *st = open_store();
    store_recording r = {0};
    snprintf(r.device, sizeof r.device, "dev1");
    snprintf(r.recording, sizeof r.recording, "live-flag");
    snprintf(r.mode, sizeof r.mode, "continuous");
    r.fs = 500;
    r.nleads = 1;
    snprintf(r.journal, sizeof r.journal, "%s/live-flag.journal", data_dir);
    int64_t id = 0;
    int existed = 0;
    CHECK(store_recording_begin(st, &r, &id, &existed, err, sizeof err) == STORE_OK, "begin: %s", err);
    double t0 = now_s();
    store_flag f = {.code = "VF", .priority = 0, .start = 100, .end = 2600,
                    .reason_zh = "心室颤动", .reason_en = "ventricular fibrillation"};
    CHECK(store_flag_add(st, id, &f, err, sizeof err) == STORE_OK, "flag: %s", err);
    store_close(st);
    int64_t after = stamp_now();
    all_at both = {g, 2, after};
    CHECK(service_until(ctx, all_heard, &both, 3), "not every page heard the flag: stamps %lld and %lld of %lld",
          (long long)g[0].last_stamp, (long long)g[1].last_stamp, (long long)after);
    for (int i = 0; i < 2; i++) {
        CHECK(g[i].last_at - t0 < 1.0, "page %d heard the flag after %.3f s", i, g[i].last_at - t0);
        CHECK(g[i].bad_messages == 0 && !g[i].closed, "page %d: %d bad messages, closed %d", i, g[i].bad_messages,
              g[i].closed);
    }
    lws_context_destroy(ctx);
}

/* A raw socket that completes the upgrade and then never reads nor answers: a dead page. */
static void a_page_that_never_answers_pings_is_closed(void)
{
    int fd = harness_connect(port);
    if (fd < 0) {
        CHECK(0, "cannot connect: %s", strerror(errno));
        return;
    }
    char req[768];
    int n = snprintf(req, sizeof req,
                     "GET " PUSH_PATH " HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: " PUSH_PROTOCOL "\r\n"
                     "Cookie: ecgnet_session=%s\r\n\r\n",
                     host, origin, session);
    CHECK(write(fd, req, (size_t)n) == n, "cannot send the upgrade");
    char buf[4096];
    ssize_t k = read(fd, buf, sizeof buf - 1);
    buf[k > 0 ? k : 0] = 0;
    CHECK(!strncmp(buf, "HTTP/1.1 101", 12), "the upgrade was not accepted: %.60s", buf);
    /* From here on only read, to notice the close: pings arrive and are never answered. */
    double t0 = now_s(), closed_at = -1;
    while (now_s() - t0 < 10 * PING_S) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) > 0) {
            k = read(fd, buf, sizeof buf);
            if (k <= 0) {
                closed_at = now_s() - t0;
                break;
            }
        }
    }
    close(fd);
    fprintf(stderr, "    silent page closed after %.1f s\n", closed_at);
    CHECK(closed_at > PING_S * 0.9 && closed_at < 5 * PING_S,
          "a page that never answers pings was closed after %.1f s (-1: not at all; expected about %d s)", closed_at,
          2 * PING_S);
}

int main(void)
{
    net_log_set_level(NET_LOG_ERROR);
    char err[512];
    snprintf(data_dir, sizeof data_dir, "%s", check_tmpdir("push-data"));
    snprintf(store_url, sizeof store_url, "sqlite:%s/ecgnet.db", data_dir);
    char token[STORE_TOKEN_CHARS + 1];
    harness_device(store_url, "dev1", token);
    store *st = open_store();
    if (store_user_add(st, "card1", "cardiologist", NULL, PW, err, sizeof err) ||
        store_user_add(st, "card2", "cardiologist", NULL, PW, err, sizeof err)) {
        fprintf(stderr, "setup: %s\n", err);
        return 2;
    }
    store_close(st);
    login("card1", session);

    server_config c = {0};
    c.ingest.data_dir = data_dir;
    c.ingest.workers = 1;
    c.live_ping_s = PING_S;
    srv = harness_serve(&c);
    port = server_port(srv.sv);
    snprintf(host, sizeof host, "127.0.0.1:%d", port);
    snprintf(origin, sizeof origin, "http://%s", host);

    RUN(a_page_with_a_session_hears_the_stamp_at_once_and_each_change_within_a_second);
    RUN(without_a_live_session_the_upgrade_is_refused_401);
    RUN(another_sites_origin_is_refused_403);
    RUN(another_path_is_refused_404);
    RUN(a_flag_while_two_pages_are_connected_reaches_both);
    RUN(a_page_that_never_answers_pings_is_closed);
    harness_stop(&srv);
    return check_report();
}
