/* device.c — simulated devices streaming a record over ecgnet.v1 (libwebsockets client). */
#include "device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>

#include "log.h"

typedef enum { D_WAIT, D_CONNECTING, D_HELLO, D_STREAM, D_DONE, D_FAILED } dev_state;

typedef struct run run;

typedef struct {
    run *run;
    int index;
    char recording[160];
    struct lws *wsi;
    dev_state state;
    int hello_pending;   /* the hello goes out at the first writeable */
    int end_sent;
    int drop;            /* close this connection at the next writeable (drop_every_s) */
    int64_t sent, acked;
    int64_t start_us;    /* when streaming first began: the real-time clock's origin */
    int64_t connected_us, next_try_us;
    int attempts;
    char close_reason[124]; /* the server's reason with its last close code */
    device_stats *st;
} dev;

struct run {
    const device_config *c;
    const device_source *src;
    dev *devs;
    struct lws_context *ctx;
    char host[256], path[64];
    int port, tls;
    int64_t frame_n;     /* samples per frame */
    int64_t window;      /* most samples sent and not yet acknowledged */
    int remaining;       /* devices neither done nor failed */
    lws_sorted_usec_list_t tick;
    uint8_t *buf;        /* LWS_PRE + one frame */
    struct lws_protocols protocols[2];
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void say(const run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#include <stdarg.h>
static void say(const run *r, const char *fmt, ...)
{
    if (r->c->quiet) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

static void settle(dev *d, dev_state s)
{
    if (d->state == D_DONE || d->state == D_FAILED) return;
    d->state = s;
    if (s == D_DONE || s == D_FAILED) d->run->remaining--;
}

static void connect_dev(dev *d)
{
    run *r = d->run;
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = r->ctx;
    ci.address = r->host;
    ci.port = r->port;
    ci.path = r->path;
    ci.host = r->host;
    ci.origin = r->host;
    ci.protocol = PROTO_NAME;
    ci.ssl_connection = r->tls ? LCCSCF_USE_SSL : 0;
    if (r->tls && r->c->insecure)
        ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK | LCCSCF_ALLOW_INSECURE;
    ci.opaque_user_data = d;
    ci.pwsi = &d->wsi;
    d->state = D_CONNECTING;
    d->attempts++;
    if (!lws_client_connect_via_info(&ci)) {
        d->state = D_WAIT;
        d->next_try_us = now_us() + 200000LL * (d->attempts < 25 ? d->attempts : 25);
    }
}

static int64_t due(const dev *d)
{
    const run *r = d->run;
    if (r->c->speed <= 0 || !d->start_us) return r->src->nframes;
    double t = (double)(now_us() - d->start_us) / 1e6;
    int64_t n = (int64_t)(t * r->src->fs * r->c->speed);
    return n < r->src->nframes ? n : r->src->nframes;
}

/* Whether the device has something to write now. */
static int wants(const dev *d)
{
    if (d->hello_pending || d->drop) return 1;
    if (d->state != D_STREAM) return 0;
    const run *r = d->run;
    int64_t total = r->src->nframes, target = due(d);
    if (d->sent < total && d->sent - d->acked < r->window &&
        (target - d->sent >= r->frame_n || target == total) && target > d->sent)
        return 1;
    return d->sent == total && d->acked == total && !d->end_sent;
}

static int send_text(struct lws *wsi, run *r, const char *text)
{
    size_t n = strlen(text);
    memcpy(r->buf + LWS_PRE, text, n);
    return lws_write(wsi, r->buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n ? -1 : 0;
}

static int writeable(dev *d)
{
    run *r = d->run;
    const device_source *src = r->src;
    if (d->drop) {
        d->drop = 0;
        return -1; /* a dropped connection, as a flaky mobile link would */
    }
    if (d->hello_pending) {
        proto_hello h;
        memset(&h, 0, sizeof h);
        snprintf(h.device, sizeof h.device, "%s", r->c->device);
        snprintf(h.token, sizeof h.token, "%s", r->c->token);
        snprintf(h.recording, sizeof h.recording, "%.128s", d->recording);
        h.patient = src->patient;
        h.fs = src->fs;
        h.nleads = src->nleads;
        memcpy(h.leads, src->leads, sizeof h.leads);
        h.sample_bytes = src->sample_bytes;
        h.mode = r->c->mode;
        h.encounter = r->c->encounter;
        char *text = proto_hello_build(&h);
        memset(h.token, 0, sizeof h.token);
        if (!text || strlen(text) > PROTO_MAX_FRAME_BYTES) {
            free(text);
            return -1;
        }
        int rc = send_text(d->wsi, r, text);
        free(text);
        d->hello_pending = 0;
        d->state = D_HELLO;
        return rc;
    }
    if (d->state != D_STREAM) return 0;
    int64_t total = src->nframes, target = due(d);
    if (d->sent < total && target > d->sent && d->sent - d->acked < r->window) {
        int64_t n = target - d->sent;
        if (n > r->frame_n) n = r->frame_n;
        if (n >= r->frame_n || target == total) {
            const int32_t *s = src->samples + d->sent * src->nleads;
            uint16_t sat = 0;
            for (int64_t i = 0; i < n; i++)
                for (int l = 0; l < src->nleads; l++)
                    if (s[i * src->nleads + l] <= src->leads[l].adc_min || s[i * src->nleads + l] >= src->leads[l].adc_max)
                        sat |= (uint16_t)(1u << l);
            size_t len = proto_frame_build(r->buf + LWS_PRE, d->sent, s, (size_t)n, src->nleads, src->sample_bytes, 0,
                                           0, sat);
            if (!len || lws_write(d->wsi, r->buf + LWS_PRE, len, LWS_WRITE_BINARY) < (int)len) return -1;
            d->sent += n;
            if (d->sent > d->st->sent) d->st->sent = d->sent;
        }
    } else if (d->sent == total && d->acked == total && !d->end_sent) {
        char text[96];
        snprintf(text, sizeof text, "{\"type\":\"end\",\"samples\":%lld}", (long long)total);
        if (send_text(d->wsi, r, text)) return -1;
        d->end_sent = 1;
    }
    if (wants(d)) lws_callback_on_writable(d->wsi);
    return 0;
}

static int receive(dev *d, const char *text, size_t len)
{
    run *r = d->run;
    char type[32], err[128];
    int64_t v;
    if (proto_text_type(text, len, type, sizeof type, err, sizeof err)) return 0;
    if (!strcmp(type, "welcome")) {
        if (proto_text_int(text, len, "next_sample", &v)) return -1;
        d->sent = v;
        if (v > d->acked) d->acked = v;
        d->st->acked = d->acked;
        d->state = D_STREAM;
        d->end_sent = 0;
        d->connected_us = now_us();
        if (!d->start_us) d->start_us = now_us();
        /* A welcome that says "ended" (true) is a recording already complete. */
        if (strstr(text, "\"ended\":true")) {
            d->st->ended_samples = v;
            settle(d, D_DONE);
            return -1;
        }
    } else if (!strcmp(type, "ack")) {
        if (!proto_text_int(text, len, "next_sample", &v) && v > d->acked) d->acked = d->st->acked = v;
    } else if (!strcmp(type, "gap")) {
        d->st->gaps++;
        if (!proto_text_int(text, len, "expected", &v) && v < d->sent) d->sent = v;
    } else if (!strcmp(type, "flag")) {
        d->st->flags++;
        if (d->st->first_flag_s < 0 && strstr(text, "\"priority\":\"critical\"")) {
            d->st->first_flag_s = (double)d->sent / r->src->fs;
            const char *c = strstr(text, "\"code\":\"");
            if (c) sscanf(c + 8, "%31[^\"]", d->st->first_flag_code);
        }
    } else if (!strcmp(type, "ended")) {
        if (!proto_text_int(text, len, "samples", &v)) d->st->ended_samples = v;
        settle(d, v == r->src->nframes ? D_DONE : D_FAILED);
        if (d->state == D_FAILED) snprintf(d->st->error, sizeof d->st->error, "server ended with %lld samples", (long long)v);
    } else if (!strcmp(type, "error")) {
        say(r, "ecgnet replay: %s: server: %.*s\n", d->recording, (int)len, text);
    }
    if (wants(d)) lws_callback_on_writable(d->wsi);
    return 0;
}

static int fatal_code(int code)
{
    return code == PROTO_CLOSE_AUTH || code == PROTO_CLOSE_REVOKED || code == PROTO_CLOSE_MALFORMED ||
           code == PROTO_CLOSE_TOO_BIG || code == PROTO_CLOSE_BACKWARDS || code == PROTO_CLOSE_UNKNOWN_TYPE ||
           code == PROTO_CLOSE_LIMITS || code == PROTO_CLOSE_ORDER;
}

static void lost(dev *d, const char *why)
{
    run *r = d->run;
    d->wsi = NULL;
    d->hello_pending = 0;
    if (d->state == D_DONE || d->state == D_FAILED) return;
    if (fatal_code(d->st->close_code)) {
        snprintf(d->st->error, sizeof d->st->error, "server closed with %d: %s", d->st->close_code,
                 d->close_reason[0] ? d->close_reason : why);
        settle(d, D_FAILED);
        return;
    }
    d->st->reconnects++;
    d->state = D_WAIT;
    int a = d->attempts < 10 ? d->attempts : 10;
    d->next_try_us = now_us() + 100000LL * a;
    say(r, "ecgnet replay: %s: connection lost (%s); resuming\n", d->recording, why);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    dev *d = lws_get_opaque_user_data(wsi);
    (void)user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        d->wsi = wsi;
        d->attempts = 0;
        d->hello_pending = 1;
        d->st->close_code = 0;
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return writeable(d);
    case LWS_CALLBACK_CLIENT_RECEIVE:
        /* Server messages are small text frames; a fragmented one is not expected. */
        if (lws_frame_is_binary(wsi) || !lws_is_final_fragment(wsi)) return 0;
        return receive(d, in, len);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2) {
            const uint8_t *p = in;
            d->st->close_code = p[0] << 8 | p[1];
            snprintf(d->close_reason, sizeof d->close_reason, "%.*s", (int)(len - 2 < 123 ? len - 2 : 123), (const char *)p + 2);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (d) lost(d, in ? (const char *)in : "cannot connect");
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (d) lost(d, "closed");
        return 0;
    default:
        return 0;
    }
}

static void tick(lws_sorted_usec_list_t *sul)
{
    run *r = lws_container_of(sul, run, tick);
    int64_t now = now_us();
    for (int i = 0; i < r->c->ndevices; i++) {
        dev *d = &r->devs[i];
        if (d->state == D_WAIT && now >= d->next_try_us) connect_dev(d);
        else if (d->wsi && d->state == D_STREAM) {
            if (r->c->drop_every_s > 0 && now - d->connected_us > (int64_t)(r->c->drop_every_s * 1e6) &&
                d->sent < r->src->nframes)
                d->drop = 1;
            if (wants(d)) lws_callback_on_writable(d->wsi);
        }
    }
    lws_sul_schedule(r->ctx, 0, &r->tick, tick, 10 * LWS_US_PER_MS);
}

int device_run(const device_config *c, const device_source *src, device_stats *stats, char *err, size_t errlen)
{
    run r;
    memset(&r, 0, sizeof r);
    r.c = c;
    r.src = src;
    char url[512];
    const char *prot, *ads, *path;
    snprintf(url, sizeof url, "%s", c->url);
    if (lws_parse_uri(url, &prot, &ads, &r.port, &path) || (strcmp(prot, "ws") && strcmp(prot, "wss"))) {
        net_errf(err, errlen, "%s: not a ws:// or wss:// URL", c->url);
        return -1;
    }
    r.tls = !strcmp(prot, "wss");
    snprintf(r.host, sizeof r.host, "%s", ads);
    snprintf(r.path, sizeof r.path, "%s", PROTO_PATH);
    double frame_s = c->frame_s > 0 ? c->frame_s : 0.2;
    r.frame_n = (int64_t)(frame_s * src->fs + 0.5);
    if (r.frame_n < 1) r.frame_n = 1;
    if (r.frame_n > PROTO_MAX_FRAMES) r.frame_n = PROTO_MAX_FRAMES;
    r.window = (int64_t)(30 * src->fs);
    int n = c->ndevices > 0 ? c->ndevices : 1;
    r.remaining = n;
    r.devs = calloc((size_t)n, sizeof *r.devs);
    r.buf = malloc(LWS_PRE + PROTO_MAX_FRAME_BYTES);
    if (!r.devs || !r.buf) {
        net_errf(err, errlen, "out of memory");
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        dev *d = &r.devs[i];
        d->run = &r;
        d->index = i;
        d->st = &stats[i];
        memset(d->st, 0, sizeof *d->st);
        d->st->ended_samples = -1;
        d->st->first_flag_s = -1;
        if (n == 1) snprintf(d->recording, sizeof d->recording, "%s", c->recording);
        else snprintf(d->recording, sizeof d->recording, "%s-%d", c->recording, i);
        d->state = D_WAIT;
        d->next_try_us = now_us() + (int64_t)(c->stagger_s * 1e6 * i / n);
    }
    r.protocols[0] = (struct lws_protocols){PROTO_NAME, callback, 0, 65536, 0, NULL, 0};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = r.protocols;
    info.user = &r;
    if (r.tls) info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.fd_limit_per_thread = (unsigned)(n + 64);
    lws_set_log_level(LLL_ERR, NULL);
    if (!(r.ctx = lws_create_context(&info))) {
        net_errf(err, errlen, "cannot create the WebSocket client");
        goto fail;
    }
    lws_sul_schedule(r.ctx, 0, &r.tick, tick, 1);
    int64_t deadline = c->timeout_s > 0 ? now_us() + (int64_t)(c->timeout_s * 1e6) : 0;
    while (r.remaining > 0 && (!deadline || now_us() < deadline))
        if (lws_service(r.ctx, 0) < 0) break;
    lws_context_destroy(r.ctx);
    int done = 0;
    for (int i = 0; i < n; i++) {
        if (r.devs[i].state == D_DONE) done++;
        else if (!stats[i].error[0]) snprintf(stats[i].error, sizeof stats[i].error, "timed out");
    }
    free(r.devs);
    free(r.buf);
    return done;
fail:
    free(r.devs);
    free(r.buf);
    return -1;
}

int device_source_load(const char *path, device_source *src, int32_t **samples, char *err, size_t errlen)
{
    fmt_record *rec = NULL;
    int32_t *buf = NULL;
    memset(src, 0, sizeof *src);
    *samples = NULL;
    if (fmt_record_open(path, &rec, err, errlen)) return -1;
    int nl = fmt_record_nleads(rec);
    int64_t n = fmt_record_nsamples(rec);
    if (nl > PROTO_MAX_LEADS) {
        net_errf(err, errlen, "%s: %d leads; a device sends at most %d", path, nl, PROTO_MAX_LEADS);
        goto fail;
    }
    if (n <= 0 || (double)n * nl * 4 > 2e9) {
        net_errf(err, errlen, "%s: %lld samples per lead: empty or too long to replay from memory", path, (long long)n);
        goto fail;
    }
    src->fs = fmt_record_fs(rec);
    src->nleads = nl;
    src->nframes = n;
    src->patient = *fmt_record_patient(rec);
    int wide = 0;
    for (int l = 0; l < nl; l++) {
        fmt_lead ld = *fmt_record_lead(rec, l);
        ld.name[12] = 0;
        if (ld.adc_min < -32768 || ld.adc_max > 32767 || ld.adc_min >= ld.adc_max) wide = 1;
        src->leads[l] = ld;
    }
    if (!(buf = malloc((size_t)n * (size_t)nl * sizeof *buf))) {
        net_errf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    for (int64_t got = 0; got < n;) {
        long k = fmt_record_read(rec, buf + got * nl, (long)(n - got < 65536 ? n - got : 65536), err, errlen);
        if (k < 0) goto fail;
        if (k == 0) {
            net_errf(err, errlen, "%s: ended after %lld of %lld samples", path, (long long)got, (long long)n);
            goto fail;
        }
        got += k;
    }
    for (int64_t i = 0; i < n * nl && !wide; i++) wide = buf[i] < -32768 || buf[i] > 32767;
    src->sample_bytes = wide ? 4 : 2;
    if (wide)
        for (int l = 0; l < nl; l++)
            if (src->leads[l].adc_min >= src->leads[l].adc_max) src->leads[l].adc_min = INT32_MIN, src->leads[l].adc_max = INT32_MAX;
    fmt_record_free(rec);
    src->samples = buf;
    *samples = buf;
    return 0;
fail:
    free(buf);
    fmt_record_free(rec);
    return -1;
}
