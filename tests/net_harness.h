/* net_harness.h — shared by the server tests: a synthetic record on disk, device registration,
 * journal comparison, and a scripted WebSocket client that sends exactly what a test says.
 */
#ifndef ECGNET_TESTS_NET_HARNESS_H
#define ECGNET_TESTS_NET_HARNESS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "device.h"
#include "journal.h"
#include "proto.h"
#include "server.h"
#include "store.h"
#include "synth.h"

/* An in-process ecgnetd running its loop in a thread. */
typedef struct {
    server *sv;
    pthread_t thread;
} harness_server;

static inline void *harness_loop(void *sv)
{
    server_run(sv);
    return NULL;
}

/* Starts a server on C; exits the test when it cannot (nothing else could run). */
static inline harness_server harness_serve(const server_config *c)
{
    char err[512];
    harness_server r = {server_create(c, err, sizeof err), 0};
    if (!r.sv) {
        fprintf(stderr, "server_create: %s\n", err);
        exit(2);
    }
    pthread_create(&r.thread, NULL, harness_loop, r.sv);
    return r;
}

static inline void harness_stop(harness_server *r)
{
    server_stop(r->sv);
    pthread_join(r->thread, NULL);
    server_free(r->sv);
    r->sv = NULL;
}

/* The store's row for RECORDING of DEVICE (zeroed when missing, with a message on stderr). */
static inline store_recording harness_stored(const char *store_url, const char *dev, const char *recording)
{
    char err[512];
    store_recording r = {0};
    store *st = store_open(store_url, err, sizeof err);
    if (!st || store_recording_find(st, dev, recording, &r, err, sizeof err) != STORE_OK)
        fprintf(stderr, "%s/%s: %s\n", dev, recording, err);
    store_close(st);
    return r;
}

/* A simulated device streaming RECORDING as dev1 with TOKEN to the loopback PORT, as fast as
 * acknowledged; URL is its buffer for the address. */
static inline device_config harness_device_config(int port, const char *token, const char *recording, char *url,
                                                  size_t urllen)
{
    snprintf(url, urllen, "ws://127.0.0.1:%d", port);
    device_config c = {0};
    c.url = url;
    c.device = "dev1";
    c.token = token;
    c.recording = recording;
    c.ndevices = 1;
    c.mode = PROTO_MODE_CONTINUOUS;
    c.timeout_s = 60;
    c.quiet = 1;
    return c;
}

/* Writes a synthetic ECG (with ectopic beats and some noise) as the WFDB record DIR/NAME and
 * loads it as a device source. Exits the test on failure: nothing else can run without it. */
static inline void harness_record(const char *dir, const char *name, int nleads, double fs, double seconds,
                                  device_source *src, int32_t **samples)
{
    synth_opts o;
    synth_defaults(&o);
    o.nleads = nleads;
    o.fs = fs;
    o.duration_s = seconds;
    o.pvc_prob = 0.05;
    o.wander_mv = 0.2;
    o.emg_mv = 0.02;
    o.seed = 7;
    synth_ecg *e = synth_generate(&o);
    char err[512], path[1200];
    if (!e || synth_write_wfdb(e, dir, name, err, sizeof err)) {
        fprintf(stderr, "cannot write the synthetic record: %s\n", e ? err : "synth failed");
        exit(2);
    }
    synth_free(e);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (device_source_load(path, src, samples, err, sizeof err)) {
        fprintf(stderr, "cannot load %s: %s\n", path, err);
        exit(2);
    }
}

/* Registers DEVICE in the store at URL and copies its token into TOKEN. */
static inline void harness_device(const char *url, const char *device, char token[STORE_TOKEN_CHARS + 1])
{
    char err[512];
    store *st = store_open(url, err, sizeof err);
    if (!st || store_device_add(st, device, "Test Township", token, err, sizeof err) != STORE_OK) {
        fprintf(stderr, "cannot register %s: %s\n", device, err);
        exit(2);
    }
    store_close(st);
}

/* Frames in the journal that differ from SRC's, plus the difference in length (0: bit-exact). */
static inline int64_t harness_journal_diff(const char *journal, const device_source *src)
{
    store_journal_diff d;
    char err[1536];
    if (store_journal_compare(journal, src->samples, src->nframes, src->nleads, &d, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    int64_t short_by = src->nframes - d.frames;
    return d.mismatches + (short_by < 0 ? -short_by : short_by);
}

/* A free TCP port on the loopback (for a server that must come back on the same port). */
static inline int harness_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &len)) {
        fprintf(stderr, "no free port\n");
        exit(2);
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* A TCP connection to the loopback server on PORT: the socket, or -1. */
static inline int harness_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* An HTTP answer as the tests read it. */
typedef struct {
    int status;          /* 0 when there was no answer */
    char *head;          /* status line and headers, malloc'd with the body (NULL: no answer) */
    unsigned char *body; /* in the same allocation, LEN bytes and a NUL after them */
    size_t len;
} harness_answer;

/* Sends METHOD PATH (Connection: close) to the loopback server on PORT with the session cookie
 * COOKIE and the CSRF token CSRF (each NULL: none), EXTRA header lines ("Name: value\r\n"...;
 * NULL: none) and BODY of LEN bytes (NULL: none; a POST or PUT then says Content-Length: 0, as
 * browsers do, unless EXTRA sets headers of its own), and reads the whole answer. Free it with
 * harness_answer_free. */
static inline harness_answer harness_request(int port, const char *method, const char *path, const char *cookie,
                                             const char *csrf, const void *body, size_t len, const char *extra)
{
    harness_answer a = {0, NULL, NULL, 0};
    int fd = harness_connect(port);
    if (fd < 0) return a;
    char head[2048];
    int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n", method, path);
    if (cookie) n += snprintf(head + n, sizeof head - (size_t)n, "Cookie: theme=dark; ecgnet_session=%s\r\n", cookie);
    if (csrf) n += snprintf(head + n, sizeof head - (size_t)n, "X-CSRF-Token: %s\r\n", csrf);
    if (extra) n += snprintf(head + n, sizeof head - (size_t)n, "%s", extra);
    if (body)
        n += snprintf(head + n, sizeof head - (size_t)n, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
                      len);
    else if (!extra && (!strcmp(method, "POST") || !strcmp(method, "PUT")))
        n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: 0\r\n");
    n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
    int ok = write(fd, head, (size_t)n) == n;
    for (size_t off = 0; ok && body && off < len;) {
        ssize_t w = write(fd, (const char *)body + off, len - off);
        if (w <= 0) ok = 0;
        else off += (size_t)w;
    }
    size_t cap = 1 << 16, got = 0;
    char *buf = malloc(cap + 1);
    ssize_t k;
    while (buf && (k = read(fd, buf + got, cap - got)) > 0) {
        got += (size_t)k;
        if (got == cap) {
            char *bigger = realloc(buf, (cap *= 2) + 1);
            if (!bigger) free(buf);
            buf = bigger;
        }
    }
    close(fd);
    if (!buf) return a;
    buf[got] = 0;
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep || sscanf(buf, "HTTP/1.1 %d", &a.status) != 1) {
        free(buf);
        a.status = 0;
        return a;
    }
    *sep = 0;
    a.head = buf;
    a.body = (unsigned char *)sep + 4;
    a.len = got - (size_t)(sep + 4 - buf);
    return a;
}

/* The value of header NAME (case-insensitive) of A, copied into BUF; "" when absent. */
static inline const char *harness_header(const harness_answer *a, const char *name, char *buf, size_t len)
{
    buf[0] = 0;
    size_t n = strlen(name);
    for (const char *p = a->head ? strstr(a->head, "\r\n") : NULL; p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (!strncasecmp(line, name, n) && line[n] == ':') {
            const char *v = line + n + 1, *e = strstr(v, "\r\n");
            while (*v == ' ') v++;
            size_t k = e ? (size_t)(e - v) : strlen(v);
            snprintf(buf, len, "%.*s", (int)(k < len ? k : len - 1), v);
            break;
        }
    }
    return buf;
}

static inline void harness_answer_free(harness_answer *a)
{
    free(a->head);
    memset(a, 0, sizeof *a);
}

/* HTTP GET of PATH from the loopback server on PORT, with the session cookie SESSION (NULL:
 * none); returns the malloc'd response (headers and body) or NULL. A plain socket. */
static inline char *harness_http_get(int port, const char *path, const char *session)
{
    int fd = harness_connect(port);
    if (fd < 0) return NULL;
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s\r\n",
                     path, session ? "Cookie: ecgnet_session=" : "", session ? session : "", session ? "\r\n" : "");
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return NULL;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap + 1);
    ssize_t k;
    while (buf && (k = read(fd, buf + len, cap - len)) > 0) {
        len += (size_t)k;
        if (len == cap) {
            char *bigger = realloc(buf, (cap *= 2) + 1);
            if (!bigger) free(buf);
            buf = bigger;
        }
    }
    close(fd);
    if (buf) buf[len] = 0;
    return buf;
}

/* ---- the scripted client ---- */

typedef struct {
    int binary;
    const void *data;
    size_t len;
    int partial;       /* send without FIN, then drop the connection: a disconnect mid-message */
    int after_welcome; /* wait for the server's welcome before sending this one */
} script_msg;

typedef struct {
    const script_msg *msgs;
    int n, next;
    int welcomed;
    int close_code;    /* the server's close code, 0 if none */
    char texts[4096];  /* the server's text messages, concatenated */
    int done;
    int drop;
    int deaf;          /* stop reading once welcomed: a client that never reads */
} script;

static inline int script_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    script *s = lws_get_opaque_user_data(wsi);
    (void)user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
        if (s->drop) return -1;
        if (s->next >= s->n) return 0;
        const script_msg *m = &s->msgs[s->next];
        if (m->after_welcome && !s->welcomed) return 0;
        uint8_t *buf = malloc(LWS_PRE + m->len + 1);
        memcpy(buf + LWS_PRE, m->data, m->len);
        int mode = m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT;
        if (m->partial) mode |= LWS_WRITE_NO_FIN;
        int w = lws_write(wsi, buf + LWS_PRE, m->len, (enum lws_write_protocol)mode);
        free(buf);
        s->next++;
        if (w < 0) return -1;
        if (m->partial) {
            s->drop = 1;
            lws_callback_on_writable(wsi);
            return 0;
        }
        if (s->next < s->n) lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (strstr((const char *)in, "\"welcome\"")) {
            s->welcomed = 1;
            if (s->deaf) lws_rx_flow_control(wsi, 0);
            lws_callback_on_writable(wsi);
        }
        if (strlen(s->texts) + len + 1 < sizeof s->texts) strncat(s->texts, in, len);
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2) s->close_code = ((const uint8_t *)in)[0] << 8 | ((const uint8_t *)in)[1];
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (s) s->done = 1;
        return 0;
    default:
        return 0;
    }
}

/* Connects to the loopback server on PORT, sends the script, and waits until the server closes
 * (or TIMEOUT_S). Returns the server's close code (0: none, -1: could not connect). */
static inline int script_run(int port, script *s, double timeout_s)
{
    struct lws_protocols protocols[2] = {{PROTO_NAME, script_cb, 0, 65536, 0, NULL, 0}, {NULL, NULL, 0, 0, 0, NULL, 0}};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context *ctx = lws_create_context(&info);
    if (!ctx) return -1;
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = ctx;
    ci.address = "127.0.0.1";
    ci.port = port;
    ci.path = PROTO_PATH;
    ci.host = "127.0.0.1";
    ci.origin = "127.0.0.1";
    ci.protocol = PROTO_NAME;
    ci.opaque_user_data = s;
    if (!lws_client_connect_via_info(&ci)) {
        lws_context_destroy(ctx);
        return -1;
    }
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!s->done) {
        lws_service(ctx, 0);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 > timeout_s) break;
    }
    lws_context_destroy(ctx);
    return s->close_code;
}

/* Streams SRC as DEVICE's RECORDING (resting) to the loopback server on PORT and waits until the
 * store at STORE_URL holds it complete (the analysis ends it shortly after the device is told
 * "ended"); returns its id. Exits the test when either fails: nothing after could run. */
static inline int64_t harness_stream_recording(int port, const char *store_url, const device_source *src,
                                               const char *device, const char *token, const char *recording)
{
    char url[64], err[512];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d", port);
    device_config c = {0};
    c.url = url;
    c.device = device;
    c.token = token;
    c.recording = recording;
    c.ndevices = 1;
    c.mode = PROTO_MODE_RESTING;
    c.timeout_s = 60;
    c.quiet = 1;
    device_stats st;
    if (device_run(&c, src, &st, err, sizeof err) != 1) {
        fprintf(stderr, "%s/%s did not finish: %s\n", device, recording, st.error);
        exit(2);
    }
    store *s = store_open(store_url, err, sizeof err);
    store_recording r = {0};
    for (int i = 0; s && i < 600; i++) {
        if (store_recording_find(s, device, recording, &r, err, sizeof err) == STORE_OK && !strcmp(r.state, "complete"))
            break;
        usleep(50000);
    }
    store_close(s);
    if (strcmp(r.state, "complete")) {
        fprintf(stderr, "%s/%s never completed\n", device, recording);
        exit(2);
    }
    return r.id;
}

/* device_run on a thread of its own, so that a test can act on the server meanwhile: start it
 * with pthread_create(&t, NULL, harness_stream_thread, &streaming) and pthread_join it; DONE is
 * device_run's answer (devices that completed). */
typedef struct {
    const device_config *c;
    const device_source *src;
    device_stats *st;
    int done;
} harness_streaming;

static inline void *harness_stream_thread(void *arg)
{
    harness_streaming *s = arg;
    s->done = device_run(s->c, s->src, s->st, NULL, 0);
    return NULL;
}

#endif
