/* ingest.c — the ingest service: workers and their job queue, and the sessions' loop side. */
#include "ingest_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

int64_t ingest_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- job queue and workers ---- */

static void push_job_locked(ingest *g, job *j)
{
    j->next = NULL;
    *g->jobs_tail = j;
    g->jobs_tail = &j->next;
    pthread_cond_signal(&g->cv);
}

void rec_schedule_locked(rec *r)
{
    if (r->scheduled) return;
    job *j = calloc(1, sizeof *j);
    if (!j) {
        /* Cannot queue: leave it unscheduled; the next frame or tick tries again. */
        net_log(NET_LOG_ERROR, "out_of_memory", "where=schedule");
        return;
    }
    r->scheduled = 1;
    j->kind = JOB_REC;
    j->r = r;
    ingest *g = r->g;
    pthread_mutex_lock(&g->qmu);
    push_job_locked(g, j);
    pthread_mutex_unlock(&g->qmu);
}

static void *worker(void *arg)
{
    ingest *g = arg;
    pthread_mutex_lock(&g->qmu);
    for (;;) {
        while (!g->jobs && !g->stopping) pthread_cond_wait(&g->cv, &g->qmu);
        job *j = g->jobs;
        if (!j) break; /* stopping and drained */
        g->jobs = j->next;
        if (!g->jobs) g->jobs_tail = &g->jobs;
        g->running++;
        pthread_mutex_unlock(&g->qmu);
        if (j->kind == JOB_HELLO) {
            rec_hello(g, j->sess);
            session_unref(j->sess);
        } else {
            rec_run(j->r);
        }
        free(j);
        pthread_mutex_lock(&g->qmu);
        g->running--;
        if (!g->jobs && !g->running) pthread_cond_broadcast(&g->idle);
    }
    pthread_mutex_unlock(&g->qmu);
    return NULL;
}

static int mkdir_p(const char *path, char *err, size_t errlen)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0700) && errno != EEXIST) {
                net_errf(err, errlen, "%s: cannot create directory: %s", buf, strerror(errno));
                return -1;
            }
            *p = c;
            if (!c) break;
        }
    }
    return 0;
}

ingest *ingest_create(const ingest_config *c, store *st, net_metrics *m, void (*wake)(void *),
                      void *wake_ctx, char *err, size_t errlen)
{
    ingest *g = calloc(1, sizeof *g);
    if (!g) {
        net_errf(err, errlen, "out of memory");
        return NULL;
    }
    g->c = *c;
    /* A worker spends most of its time waiting for fdatasync, not computing: many of them keep
       the disk's queue full (measured: 8 workers left 3 % of frames over 200 ms with 1000
       devices on 2 cores, 32 none). */
    if (!g->c.workers) g->c.workers = 16 * (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (g->c.workers < 1) g->c.workers = 1;
    if (g->c.workers > 256) g->c.workers = 256;
    if (!g->c.max_buffered) g->c.max_buffered = 4u << 20;
    if (g->c.rate_limit <= 0) g->c.rate_limit = 50;
    if (g->c.idle_timeout_s <= 0) g->c.idle_timeout_s = 3600;
    if (g->c.mains_hz <= 0) g->c.mains_hz = 50;
    snprintf(g->data_dir, sizeof g->data_dir, "%s", c->data_dir);
    g->c.data_dir = g->data_dir;
    g->st = st;
    g->m = m;
    g->wake = wake;
    g->wake_ctx = wake_ctx;
    g->jobs_tail = &g->jobs;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/journal", g->data_dir);
    if (mkdir_p(dir, err, errlen)) goto fail;
    snprintf(dir, sizeof dir, "%s/archive", g->data_dir);
    if (mkdir_p(dir, err, errlen)) goto fail;
    pthread_mutex_init(&g->mu, NULL);
    pthread_mutex_init(&g->qmu, NULL);
    pthread_cond_init(&g->cv, NULL);
    pthread_cond_init(&g->idle, NULL);
    g->threads = calloc((size_t)g->c.workers, sizeof *g->threads);
    if (!g->threads) {
        net_errf(err, errlen, "out of memory");
        goto fail_sync;
    }
    for (; g->nworkers < g->c.workers; g->nworkers++)
        if (pthread_create(&g->threads[g->nworkers], NULL, worker, g)) {
            net_errf(err, errlen, "cannot start worker threads");
            goto fail_threads;
        }
    return g;
fail_threads:
    pthread_mutex_lock(&g->qmu);
    g->stopping = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->qmu);
    for (int i = 0; i < g->nworkers; i++) pthread_join(g->threads[i], NULL);
    free(g->threads);
fail_sync:
    pthread_cond_destroy(&g->idle);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->qmu);
    pthread_mutex_destroy(&g->mu);
fail:
    free(g);
    return NULL;
}

void ingest_free(ingest *g)
{
    if (!g) return;
    pthread_mutex_lock(&g->qmu);
    g->stopping = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->qmu);
    for (int i = 0; i < g->nworkers; i++) pthread_join(g->threads[i], NULL);
    free(g->threads);
    /* Workers are gone: the recordings are ours alone now. Their inboxes were drained (the
       queue ran dry before the workers left), so everything acknowledged is synced. */
    while (g->recs) {
        rec *r = g->recs;
        g->recs = r->next;
        if (r->sess) {
            session_close(r->sess, PROTO_CLOSE_GOING_AWAY, "server shutting down: reconnect and resume");
            pthread_mutex_lock(&r->sess->mu);
            r->sess->r = NULL;
            pthread_mutex_unlock(&r->sess->mu);
            session_unref(r->sess);
            r->sess = NULL;
        }
        if (r->hello_sess) {
            session_unref(r->hello_sess);
            r->hello_sess = NULL;
        }
        rec_free(r);
    }
    pthread_cond_destroy(&g->idle);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->qmu);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

long ingest_active(ingest *g)
{
    pthread_mutex_lock(&g->mu);
    long n = g->nrecs;
    pthread_mutex_unlock(&g->mu);
    return n;
}

long ingest_recover(ingest *g, char *err, size_t errlen)
{
    store_recording *list = NULL;
    size_t n = 0;
    if (store_recording_list_receiving(g->st, &list, &n, err, errlen) != STORE_OK) return -1;
    int64_t now = ingest_now_us();
    for (size_t i = 0; i < n; i++) {
        /* A journal that ended before the crash only lacks its archive: finish it now. */
        store_journal_summary sum = {0};
        char jerr[1536];
        int ended = store_journal_summarize(list[i].journal, &sum, jerr, sizeof jerr) == 0 && sum.ended;
        pthread_mutex_lock(&g->mu);
        rec *r = rec_new_locked(g, list[i].device, list[i].recording);
        if (r) {
            /* Otherwise its device has until the idle timeout to come back; the clock starts now. */
            r->detached_us = now;
            if (ended) {
                pthread_mutex_lock(&r->mu);
                r->end_requested = 1;
                rec_schedule_locked(r);
                pthread_mutex_unlock(&r->mu);
            }
        }
        pthread_mutex_unlock(&g->mu);
        if (r)
            net_log(NET_LOG_INFO, "recover", "device=%s recording=%s samples=%lld ended=%s", list[i].device,
                    list[i].recording, (long long)sum.frames, ended ? "yes" : "no");
    }
    free(list);
    return (long)n;
}

void ingest_tick(ingest *g)
{
    int64_t now = ingest_now_us(), idle = (int64_t)(g->c.idle_timeout_s * 1e6);
    pthread_mutex_lock(&g->mu);
    for (rec *r = g->recs; r; r = r->next) {
        pthread_mutex_lock(&r->mu);
        if (!r->sess && !r->hello_sess && !r->expire && now - r->detached_us >= idle) {
            r->expire = 1;
            rec_schedule_locked(r);
        }
        if (r->retry_us && now >= r->retry_us && (r->end_requested || r->expire)) rec_schedule_locked(r);
        pthread_mutex_unlock(&r->mu);
    }
    pthread_mutex_unlock(&g->mu);
}

/* ---- sessions ---- */

ingest_session *ingest_session_new(ingest *g, const char *peer)
{
    ingest_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->g = g;
    atomic_init(&s->refs, 1);
    snprintf(s->peer, sizeof s->peer, "%s", peer ? peer : "?");
    s->state = S_HELLO;
    s->out_tail = &s->out;
    s->ack = -1;
    s->last_first = -1;
    pthread_mutex_init(&s->mu, NULL);
    atomic_fetch_add(&g->m->connections, 1);
    atomic_fetch_add(&g->m->connections_total, 1);
    return s;
}

void session_ref(ingest_session *s) { atomic_fetch_add(&s->refs, 1); }

void session_unref(ingest_session *s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1) return;
    while (s->out) {
        msg *m = s->out;
        s->out = m->next;
        free(m);
    }
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* One wake-up of the loop covers every session flagged before the loop looks: workers produce
 * thousands of acks a second, and each wake-up costs the loop a poll over every socket. */
static void wake(ingest_session *s)
{
    atomic_store(&s->wants_write, 1);
    if (!atomic_exchange(&s->g->wake_pending, 1)) s->g->wake(s->g->wake_ctx);
}

void ingest_woken(ingest *g) { atomic_store(&g->wake_pending, 0); }

void session_post(ingest_session *s, const char *text)
{
    size_t len = strlen(text);
    msg *m = malloc(sizeof *m + len + 1);
    pthread_mutex_lock(&s->mu);
    /* A client that never reads would let messages pile up: past a bound it is closed. */
    if (!m || s->nout >= 1024) {
        free(m);
        if (!s->close_code) {
            s->close_code = PROTO_CLOSE_TIMEOUT;
            snprintf(s->close_reason, sizeof s->close_reason, "client does not read its messages");
        }
    } else if (!s->gone) {
        m->next = NULL;
        m->len = len;
        memcpy(m->text, text, len + 1);
        *s->out_tail = m;
        s->out_tail = &m->next;
        s->nout++;
        m = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    free(m);
    wake(s);
}

void session_post_ack(ingest_session *s, int64_t next)
{
    pthread_mutex_lock(&s->mu);
    if (next > s->ack) s->ack = next; /* acks are cumulative: only the latest matters */
    pthread_mutex_unlock(&s->mu);
    wake(s);
}

void session_close(ingest_session *s, int code, const char *reason)
{
    pthread_mutex_lock(&s->mu);
    if (!s->close_code) {
        s->close_code = code;
        snprintf(s->close_reason, sizeof s->close_reason, "%s", reason);
    }
    pthread_mutex_unlock(&s->mu);
    wake(s);
}

void ingest_session_close(ingest_session *s, int code, const char *reason) { session_close(s, code, reason); }

void session_release(ingest_session *s, size_t bytes)
{
    pthread_mutex_lock(&s->mu);
    s->inflight -= bytes < s->inflight ? bytes : s->inflight;
    pthread_mutex_unlock(&s->mu);
    wake(s); /* it may resume reading */
}

void ingest_session_gone(ingest_session *s)
{
    rec *r;
    pthread_mutex_lock(&s->mu);
    s->gone = 1;
    s->state = S_CLOSED;
    r = s->r;
    if (r) {
        pthread_mutex_lock(&r->mu);
        if (r->sess == s) {
            r->sess = NULL;
            r->detached_us = ingest_now_us();
            s->r = NULL;
            pthread_mutex_unlock(&r->mu);
            pthread_mutex_unlock(&s->mu);
            atomic_fetch_sub(&s->g->m->connections, 1);
            net_log(NET_LOG_INFO, "disconnect", "device=%s recording=%s peer=%s", s->hello.device,
                    s->hello.recording, s->peer);
            session_unref(s); /* the recording's reference */
            session_unref(s); /* the loop's */
            return;
        }
        pthread_mutex_unlock(&r->mu);
    }
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_sub(&s->g->m->connections, 1);
    if (s->hello.device[0])
        net_log(NET_LOG_INFO, "disconnect", "device=%s recording=%s peer=%s", s->hello.device,
                s->hello.recording, s->peer);
    session_unref(s);
}

static int reject(ingest_session *s, int code, char *reason, size_t rlen, const char *why)
{
    char q[300];
    snprintf(reason, rlen, "%s", why);
    atomic_fetch_add(&s->g->m->frames_rejected_total, 1);
    net_log(NET_LOG_WARN, "reject", "code=%d device=%s peer=%s reason=%s", code,
            s->hello.device[0] ? s->hello.device : "-", s->peer, net_log_quote(q, sizeof q, why));
    return code;
}

/* The worker's welcome moves the session from S_AUTH to S_STREAM; the loop sees it here. */
static void sync_welcome(ingest_session *s)
{
    if (s->state != S_AUTH) return;
    pthread_mutex_lock(&s->mu);
    if (s->welcomed) {
        s->state = S_STREAM;
        s->expected = s->welcome_next;
        s->last_first = -1;
    }
    pthread_mutex_unlock(&s->mu);
}

int ingest_session_text(ingest_session *s, const char *text, size_t len, char *reason, size_t rlen)
{
    char type[32], err[256];
    int code = proto_text_type(text, len, type, sizeof type, err, sizeof err);
    if (code) return reject(s, code, reason, rlen, err);
    sync_welcome(s);
    if (!strcmp(type, "hello")) {
        if (s->state != S_HELLO) return reject(s, PROTO_CLOSE_ORDER, reason, rlen, "a second hello on one connection");
        if ((code = proto_hello_parse(text, len, &s->hello, err, sizeof err)))
            return reject(s, code, reason, rlen, err);
        job *j = calloc(1, sizeof *j);
        if (!j) return reject(s, PROTO_CLOSE_STORAGE, reason, rlen, "server out of memory");
        s->state = S_AUTH;
        j->kind = JOB_HELLO;
        j->sess = s;
        session_ref(s);
        pthread_mutex_lock(&s->g->qmu);
        push_job_locked(s->g, j);
        pthread_mutex_unlock(&s->g->qmu);
        return 0;
    }
    if (!strcmp(type, "end")) {
        int64_t n;
        if (s->state == S_ENDING) return reject(s, PROTO_CLOSE_ORDER, reason, rlen, "a second end");
        if (s->state != S_STREAM) return reject(s, PROTO_CLOSE_ORDER, reason, rlen, "end before the server's welcome");
        if (proto_text_int(text, len, "samples", &n))
            return reject(s, PROTO_CLOSE_MALFORMED, reason, rlen, "end: \"samples\" (the recording's length) is missing or not a whole number");
        if (n != s->expected) {
            char gap[160];
            snprintf(gap, sizeof gap, "{\"type\":\"gap\",\"expected\":%lld,\"got\":%lld}", (long long)s->expected, (long long)n);
            if (n > s->expected) {
                /* The device ends beyond what arrived: tell it where to resend from. */
                session_post(s, gap);
                atomic_fetch_add(&s->g->m->gaps_total, 1);
                return 0;
            }
            snprintf(err, sizeof err, "end says %lld samples but %lld were already received", (long long)n, (long long)s->expected);
            return reject(s, PROTO_CLOSE_MALFORMED, reason, rlen, err);
        }
        s->state = S_ENDING;
        pthread_mutex_lock(&s->mu);
        rec *r = s->r;
        if (r) {
            pthread_mutex_lock(&r->mu);
            r->end_requested = 1;
            rec_schedule_locked(r);
            pthread_mutex_unlock(&r->mu);
        }
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    snprintf(err, sizeof err, "unknown message type \"%.40s\"", type);
    return reject(s, PROTO_CLOSE_UNKNOWN_TYPE, reason, rlen, err);
}

/* Token bucket of rate_limit × fs frames per second, holding at most one second's worth; a new
 * stream starts with a full bucket. */
static void refill(ingest_session *s)
{
    int64_t now = ingest_now_us();
    double rate = s->g->c.rate_limit * s->hello.fs;
    if (!s->tokens_us) s->tokens = rate;
    else s->tokens += rate * (double)(now - s->tokens_us) / 1e6;
    if (s->tokens > rate) s->tokens = rate;
    s->tokens_us = now;
}

int ingest_session_binary(ingest_session *s, const uint8_t *buf, size_t len, char *reason, size_t rlen)
{
    char err[256];
    sync_welcome(s);
    if (s->state == S_HELLO || s->state == S_AUTH)
        return reject(s, PROTO_CLOSE_ORDER, reason, rlen, "samples before the server's welcome");
    if (s->state != S_STREAM) return reject(s, PROTO_CLOSE_ORDER, reason, rlen, "samples after end");
    proto_frame f;
    int code = proto_frame_parse(buf, len, s->hello.nleads, s->hello.sample_bytes, &f, err, sizeof err);
    if (code) return reject(s, code, reason, rlen, err);
    if (f.first < s->last_first) {
        snprintf(err, sizeof err, "frame starts at sample %lld, before the previous frame's %lld", (long long)f.first, (long long)s->last_first);
        return reject(s, PROTO_CLOSE_BACKWARDS, reason, rlen, err);
    }
    s->last_first = f.first;
    int64_t end = f.first + f.nframes;
    if (end <= s->expected) { /* a resend of what is already here */
        atomic_fetch_add(&s->g->m->duplicates_total, 1);
        return 0;
    }
    if (f.first > s->expected) {
        char gap[160];
        snprintf(gap, sizeof gap, "{\"type\":\"gap\",\"expected\":%lld,\"got\":%lld}", (long long)s->expected, (long long)f.first);
        session_post(s, gap);
        atomic_fetch_add(&s->g->m->gaps_total, 1);
        /* Frames after a gap may not go backwards to fill it on this connection; the device
           resends from `expected` (backwards is allowed once, right after a gap). */
        s->last_first = s->expected;
        return 0;
    }
    size_t skip = (size_t)(s->expected - f.first), n = f.nframes - skip;
    size_t bytes = sizeof(block) + n * (size_t)s->hello.nleads * sizeof(int32_t);
    block *b = malloc(bytes);
    if (!b) return reject(s, PROTO_CLOSE_STORAGE, reason, rlen, "server out of memory");
    b->next = NULL;
    b->first = s->expected;
    b->n = proto_frame_samples(&f, s->hello.nleads, s->hello.sample_bytes, skip, b->data);
    b->lead_off = f.lead_off;
    b->saturated = f.saturated;
    b->flags = f.flags;
    b->arrived_us = ingest_now_us();
    b->bytes = bytes;
    b->from = s;
    session_ref(s); /* the block's: the connection may go before the worker gets to it */
    refill(s);
    s->tokens -= (double)n;
    pthread_mutex_lock(&s->mu);
    rec *r = s->r;
    if (!r) {
        pthread_mutex_unlock(&s->mu);
        session_unref(s);
        free(b);
        return 0; /* being closed (superseded by a newer connection) */
    }
    pthread_mutex_lock(&r->mu);
    *r->inbox_tail = b;
    r->inbox_tail = &b->next;
    rec_schedule_locked(r);
    pthread_mutex_unlock(&r->mu);
    s->inflight += bytes;
    pthread_mutex_unlock(&s->mu);
    s->expected = end;
    atomic_fetch_add(&s->g->m->frames_total, 1);
    return 0;
}

int ingest_session_paused(ingest_session *s)
{
    pthread_mutex_lock(&s->mu);
    int full = s->inflight > s->g->c.max_buffered;
    pthread_mutex_unlock(&s->mu);
    if (full) return 1;
    if (s->state != S_STREAM) return 0;
    if (s->tokens < 0) refill(s);
    return s->tokens < 0;
}

int ingest_session_wants_write(ingest_session *s) { return atomic_load(&s->wants_write); }

size_t ingest_session_next_output(ingest_session *s, char *buf, size_t cap, int *close_code, char *reason,
                                  size_t rlen)
{
    size_t n = 0;
    *close_code = 0;
    pthread_mutex_lock(&s->mu);
    atomic_store(&s->wants_write, 0);
    if (s->out) {
        msg *m = s->out;
        s->out = m->next;
        if (!s->out) s->out_tail = &s->out;
        s->nout--;
        n = m->len < cap ? m->len : cap;
        memcpy(buf, m->text, n);
        free(m);
    } else if (s->ack >= 0) {
        n = (size_t)snprintf(buf, cap, "{\"type\":\"ack\",\"next_sample\":%lld}", (long long)s->ack);
        s->ack = -1;
    } else if (s->close_code) {
        *close_code = s->close_code;
        snprintf(reason, rlen, "%s", s->close_reason);
    }
    if (s->out || s->ack >= 0 || (n && s->close_code)) atomic_store(&s->wants_write, 1);
    pthread_mutex_unlock(&s->mu);
    return n;
}
