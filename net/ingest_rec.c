/* ingest_rec.c — the recording actor: journal, acknowledge, analyse, flag, and finish a recording. */
#include "ingest_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "archive.h"
#include "log.h"
#include "result_json.h"

/* ---- creation and lookup ---- */

rec *rec_new_locked(ingest *g, const char *device, const char *recording)
{
    rec *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->g = g;
    snprintf(r->device, sizeof r->device, "%s", device);
    snprintf(r->recording, sizeof r->recording, "%s", recording);
    r->inbox_tail = &r->inbox;
    pthread_mutex_init(&r->mu, NULL);
    r->next = g->recs;
    g->recs = r;
    g->nrecs++;
    atomic_fetch_add(&g->m->recordings_active, 1);
    return r;
}

static rec *find_locked(ingest *g, const char *device, const char *recording)
{
    for (rec *r = g->recs; r; r = r->next)
        if (!strcmp(r->device, device) && !strcmp(r->recording, recording)) return r;
    return NULL;
}

static void free_block(block *b)
{
    session_release(b->from, b->bytes);
    session_unref(b->from);
    free(b);
}

void rec_free(rec *r)
{
    if (!r) return;
    while (r->inbox) {
        block *b = r->inbox;
        r->inbox = b->next;
        free_block(b);
    }
    pipeline_free(r->p);
    store_journal_close(r->j);
    pthread_mutex_destroy(&r->mu);
    atomic_fetch_sub(&r->g->m->recordings_active, 1);
    free(r->sent_flags);
    free(r);
}

/* ---- messages to the device ---- */

static void post_json(ingest_session *s, cJSON *o)
{
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    if (text) session_post(s, text);
    free(text);
    cJSON_Delete(o);
}

static void post_error(ingest_session *s, int code, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "error");
    cJSON_AddNumberToObject(o, "code", code);
    cJSON_AddStringToObject(o, "message", message);
    post_json(s, o);
    /* The close reason travels in a control frame of at most 123 bytes. */
    char reason[124];
    snprintf(reason, sizeof reason, "%s", message);
    session_close(s, code, reason);
}

/* The session streaming R, with a reference, or NULL. */
static ingest_session *current(rec *r)
{
    pthread_mutex_lock(&r->mu);
    ingest_session *s = r->sess;
    if (s) session_ref(s);
    pthread_mutex_unlock(&r->mu);
    return s;
}

/* Unhooks R's streaming session (if it is S, or any when S is NULL) and closes it with CODE. */
static void detach(rec *r, ingest_session *s, int code, const char *reason)
{
    ingest_session *cur = current(r);
    if (!cur || (s && cur != s)) {
        if (cur) session_unref(cur);
        return;
    }
    pthread_mutex_lock(&cur->mu);
    pthread_mutex_lock(&r->mu);
    int attached = r->sess == cur;
    if (attached) {
        r->sess = NULL;
        r->detached_us = ingest_now_us();
        cur->r = NULL;
    }
    pthread_mutex_unlock(&r->mu);
    pthread_mutex_unlock(&cur->mu);
    if (code) session_close(cur, code, reason);
    if (attached) session_unref(cur); /* the recording's reference */
    session_unref(cur);               /* current()'s */
}

/* ---- loading: a new recording, a resumed one, or one left by a previous run ---- */

static int path_join(char *out, size_t len, const char *dir, const char *sub, const char *device,
                     const char *name, const char *ext)
{
    int n = snprintf(out, len, "%s/%s/%s/%s%s", dir, sub, device, name, ext);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

static int make_device_dirs(rec *r, char *err, size_t errlen)
{
    static const char *subs[] = {"journal", "archive"};
    for (int i = 0; i < 2; i++) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/%s/%s", r->g->data_dir, subs[i], r->device);
        if (mkdir(dir, 0700) && errno != EEXIST) {
            net_errf(err, errlen, "%s: cannot create directory: %s", dir, strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int replay(void *ctx, int64_t first, const int32_t *frames, size_t n, uint32_t flags)
{
    (void)first;
    (void)flags;
    char err[256];
    return pipeline_push(ctx, frames, n, err, sizeof err) ? -1 : 0;
}

/* A resume must describe the same signal of the same patient: anything else would append one
 * patient's samples to another's recording, or scale them wrongly. */
static int same_stream(const proto_hello *a, const proto_hello *b)
{
    if (a->fs != b->fs || a->nleads != b->nleads || a->sample_bytes != b->sample_bytes ||
        strcmp(a->patient.id, b->patient.id))
        return 0;
    for (int l = 0; l < a->nleads; l++) {
        const fmt_lead *x = &a->leads[l], *y = &b->leads[l];
        if (strcmp(x->name, y->name) || x->uv_per_unit != y->uv_per_unit || x->baseline != y->baseline ||
            x->adc_min != y->adc_min || x->adc_max != y->adc_max)
            return 0;
    }
    return 1;
}

static int remember_flag(rec *r, const char *code, int64_t start)
{
    char key[48];
    snprintf(key, sizeof key, "%s@%lld", code, (long long)start);
    for (size_t i = 0; i < r->nsent; i++)
        if (!strcmp(r->sent_flags[i], key)) return 0;
    if (r->nsent == r->capsent) {
        size_t cap = r->capsent ? 2 * r->capsent : 16;
        char(*p)[48] = realloc(r->sent_flags, cap * sizeof *p);
        if (!p) return 1; /* cannot remember: raise it again rather than lose it */
        r->sent_flags = p;
        r->capsent = cap;
    }
    memcpy(r->sent_flags[r->nsent++], key, sizeof key);
    return 1;
}

static int make_pipeline(rec *r, char *err, size_t errlen)
{
    pipeline_opts o;
    pipeline_opts_default(&o);
    o.diagnostic = r->g->c.diagnostic;
    o.mains_hz = r->g->c.mains_hz;
    o.beat_model = r->g->c.model;
    o.flags = r->g->c.flags;
    o.mode = r->hello.mode == PROTO_MODE_CONTINUOUS ? FLAG_CONTINUOUS : FLAG_RESTING;
    r->p = pipeline_create(&o, r->hello.fs, r->hello.nleads, r->hello.leads, err, errlen);
    return r->p ? 0 : -1;
}

/* Opens or creates R's journal and catches its pipeline up. HS: the session whose hello this
 * is (NULL for a recording recovered after a restart). Returns 0, or a PROTO_CLOSE_* code with
 * err. */
static int load(rec *r, ingest_session *hs, char *err, size_t errlen)
{
    ingest *g = r->g;
    store_recording sr;
    int rc;
    if (hs) {
        /* Begin, or resume: an "interrupted" recording goes back to "receiving". */
        memset(&sr, 0, sizeof sr);
        snprintf(sr.device, sizeof sr.device, "%s", r->device);
        snprintf(sr.recording, sizeof sr.recording, "%s", r->recording);
        snprintf(sr.patient_id, sizeof sr.patient_id, "%s", hs->hello.patient.id);
        snprintf(sr.mode, sizeof sr.mode, "%s", hs->hello.mode == PROTO_MODE_CONTINUOUS ? "continuous" : "resting");
        snprintf(sr.encounter, sizeof sr.encounter, "%s", proto_encounter_name(hs->hello.encounter));
        sr.fs = hs->hello.fs;
        sr.nleads = hs->hello.nleads;
        if (path_join(sr.journal, sizeof sr.journal, g->data_dir, "journal", r->device, r->recording, ".ej")) {
            net_errf(err, errlen, "data directory path too long");
            return PROTO_CLOSE_STORAGE;
        }
        int64_t id;
        int existed;
        if (make_device_dirs(r, err, errlen)) return PROTO_CLOSE_STORAGE;
        /* The row first: a journal without a row would be invisible to recovery. */
        if ((rc = store_recording_begin(g->st, &sr, &id, &existed, err, errlen)) != STORE_OK)
            return rc == STORE_EINVAL ? PROTO_CLOSE_MALFORMED : PROTO_CLOSE_STORAGE;
        if (store_recording_get(g->st, id, &sr, err, errlen) != STORE_OK) return PROTO_CLOSE_STORAGE;
    } else if (store_recording_find(g->st, r->device, r->recording, &sr, err, errlen) != STORE_OK) {
        return PROTO_CLOSE_STORAGE;
    }
    r->id = sr.id;
    snprintf(r->journal_path, sizeof r->journal_path, "%s", sr.journal);
    if (path_join(r->archive_path, sizeof r->archive_path, g->data_dir, "archive", r->device, r->recording, ".edf")) {
        net_errf(err, errlen, "data directory path too long");
        return PROTO_CLOSE_STORAGE;
    }
    if (make_device_dirs(r, err, errlen)) return PROTO_CLOSE_STORAGE;
    struct stat st;
    if (stat(r->journal_path, &st) && errno == ENOENT) {
        if (!hs) {
            net_errf(err, errlen, "%s: journal missing", r->journal_path);
            return PROTO_CLOSE_STORAGE;
        }
        r->hello = hs->hello;
        char *meta = proto_hello_json(&r->hello);
        store_journal_info info = {r->hello.nleads, r->hello.sample_bytes, meta};
        r->j = meta ? store_journal_create(r->journal_path, &info, err, errlen) : NULL;
        free(meta);
        if (!r->j) return PROTO_CLOSE_STORAGE;
    } else {
        if (!(r->j = store_journal_open(r->journal_path, err, errlen))) return PROTO_CLOSE_STORAGE;
        const char *meta = store_journal_meta(r->j);
        if (proto_hello_parse(meta, strlen(meta), &r->hello, err, errlen)) return PROTO_CLOSE_STORAGE;
        if (store_journal_dropped_bytes(r->j))
            net_log(NET_LOG_WARN, "journal_tail_dropped", "device=%s recording=%s bytes=%lld", r->device,
                    r->recording, (long long)store_journal_dropped_bytes(r->j));
    }
    memset(r->hello.token, 0, sizeof r->hello.token);
    snprintf(r->site, sizeof r->site, "%s", sr.site);
    if (store_journal_ended(r->j) && !strcmp(sr.state, "complete")) {
        /* Already archived: a device that missed "ended" is told so, nothing is redone. */
        r->loaded = r->finished = 1;
        return 0;
    }
    if (make_pipeline(r, err, errlen)) return PROTO_CLOSE_STORAGE;
    if (store_journal_next(r->j) > 0 &&
        store_journal_read(r->journal_path, 0, replay, r->p, err, errlen)) {
        net_errf(err, errlen, "%s: cannot replay the journal into the analysis", r->journal_path);
        return PROTO_CLOSE_STORAGE;
    }
    r->analysed = store_journal_next(r->j);
    store_flag *flags = NULL;
    size_t nflags = 0;
    if (store_flag_list(g->st, r->id, &flags, &nflags, err, errlen) == STORE_OK) {
        for (size_t i = 0; i < nflags; i++) remember_flag(r, flags[i].code, flags[i].start);
        free(flags);
    }
    r->loaded = 1;
    return 0;
}

/* ---- streaming ---- */

/* Whether (code, start) was raised already. */
static int known_flag(const rec *r, const char *code, int64_t start)
{
    char key[48];
    snprintf(key, sizeof key, "%s@%lld", code, (long long)start);
    for (size_t i = 0; i < r->nsent; i++)
        if (!strcmp(r->sent_flags[i], key)) return 1;
    return 0;
}

static void raise_flag(rec *r, ingest_session *s, const flag *f)
{
    if (known_flag(r, f->code, f->start)) return;
    char err[512], q[300];
    store_flag sf = {0};
    snprintf(sf.code, sizeof sf.code, "%s", f->code);
    sf.priority = (int)f->priority;
    sf.start = f->start;
    sf.end = f->end > f->start ? f->end : f->start;
    snprintf(sf.reason_zh, sizeof sf.reason_zh, "%s", f->reason_zh);
    snprintf(sf.reason_en, sizeof sf.reason_en, "%s", f->reason_en);
    if (store_flag_add(r->g->st, r->id, &sf, err, sizeof err) != STORE_OK) {
        /* Not remembered: the next drain raises it again, so the queue gets it once the store
           recovers (the device may see it twice, which beats never). */
        net_log(NET_LOG_ERROR, "flag_store_failed", "recording=%s error=%s", r->recording, net_log_quote(q, sizeof q, err));
    } else {
        remember_flag(r, f->code, f->start);
    }
    atomic_fetch_add(&r->g->m->flags_total, 1);
    net_log(f->priority == FLAG_CRITICAL ? NET_LOG_WARN : NET_LOG_INFO, "flag",
            "device=%s recording=%s code=%s priority=%s start=%lld", r->device, r->recording, f->code,
            flag_priority_name(f->priority), (long long)f->start);
    if (!s) return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "flag");
    cJSON_AddStringToObject(o, "code", f->code);
    cJSON_AddStringToObject(o, "priority", flag_priority_name(f->priority));
    cJSON_AddNumberToObject(o, "start_sample", (double)f->start);
    cJSON_AddNumberToObject(o, "end_sample", (double)f->end);
    cJSON_AddStringToObject(o, "reason_zh", f->reason_zh);
    cJSON_AddStringToObject(o, "reason_en", f->reason_en);
    post_json(s, o);
}

static void lead_off_notices(rec *r, ingest_session *s, uint16_t mask)
{
    uint16_t newly = mask & (uint16_t)~r->lead_off;
    r->lead_off = mask;
    if (!s || !newly) return;
    for (int l = 0; l < r->hello.nleads; l++) {
        if (!(newly >> l & 1)) continue;
        char en[96], zh[96];
        snprintf(en, sizeof en, "lead %s off — check the electrode", r->hello.leads[l].name);
        snprintf(zh, sizeof zh, "%s 导联脱落，请检查电极", r->hello.leads[l].name);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "notice");
        cJSON_AddStringToObject(o, "code", "lead_off");
        cJSON_AddStringToObject(o, "lead", r->hello.leads[l].name);
        cJSON_AddStringToObject(o, "message_en", en);
        cJSON_AddStringToObject(o, "message_zh", zh);
        post_json(s, o);
    }
}

/* Journals BLOCKS with one sync, acknowledges, then analyses them. Frees the blocks. */
static void drain(rec *r, block *blocks)
{
    ingest *g = r->g;
    char err[512], q[600];
    int failed = 0;
    int64_t frames = 0;
    for (block *b = blocks; b && !failed; b = b->next) {
        int64_t next = store_journal_next(r->j);
        if (b->first + (int64_t)b->n <= next) continue; /* stale: from a superseded connection */
        size_t skip = b->first < next ? (size_t)(next - b->first) : 0;
        if (b->first > next) {
            /* Samples queued behind a failed write: they cannot follow the journal's end. */
            net_errf(err, sizeof err, "%s: samples from %lld queued behind a failed write (the journal ends at %lld)",
                     r->journal_path, (long long)b->first, (long long)next);
            failed = 1;
        } else if (store_journal_append(r->j, next, b->data + skip * (size_t)r->hello.nleads, b->n - skip,
                                 (uint32_t)b->lead_off | (uint32_t)b->saturated << 16, err, sizeof err))
            failed = 1;
        else
            frames += (int64_t)(b->n - skip);
    }
    if (!failed && frames) {
        if (store_journal_sync(r->j, err, sizeof err)) failed = 1;
        else atomic_fetch_add(&g->m->fsyncs_total, 1);
    }
    ingest_session *s = current(r);
    if (failed) {
        /* Nothing unsynced is acknowledged; the device keeps it and resends after reconnecting. */
        atomic_fetch_add(&g->m->storage_errors_total, 1);
        net_log(NET_LOG_ERROR, "storage_error", "device=%s recording=%s error=%s", r->device, r->recording,
                net_log_quote(q, sizeof q, err));
        if (s) {
            char msg[300];
            net_errf(msg, sizeof msg, "server cannot store samples (%s); retry later", err);
            post_error(s, PROTO_CLOSE_STORAGE, msg);
        }
        detach(r, s, 0, NULL);
        /* The journal may hold appended but unsynced records; a reopen is the clean state. */
        store_journal_close(r->j);
        r->j = NULL;
        pipeline_free(r->p);
        r->p = NULL;
        r->loaded = 0;
        while (blocks) {
            block *b = blocks;
            blocks = b->next;
            free_block(b);
        }
        if (s) session_unref(s);
        return;
    }
    if (frames) {
        atomic_fetch_add(&g->m->samples_total, frames);
        atomic_fetch_add(&g->m->lead_samples_total, frames * r->hello.nleads);
        /* One ack per sending connection (acks are cumulative): nearly always just one. */
        for (block *b = blocks; b; b = b->next)
            if (b == blocks || b->from != blocks->from) session_post_ack(b->from, store_journal_durable(r->j));
    }
    int64_t analysed = r->analysed;
    while (blocks) {
        block *b = blocks;
        blocks = b->next;
        int64_t end = b->first + (int64_t)b->n;
        if (end > analysed) {
            size_t skip = b->first < analysed ? (size_t)(analysed - b->first) : 0;
            if (pipeline_push(r->p, b->data + skip * (size_t)r->hello.nleads, b->n - skip, err, sizeof err))
                net_log(NET_LOG_ERROR, "analysis_error", "recording=%s error=%s", r->recording, net_log_quote(q, sizeof q, err));
            analysed = end;
        }
        r->analysed = analysed;
        lead_off_notices(r, b->from, b->lead_off);
        net_metrics_latency(g->m, ingest_now_us() - b->arrived_us);
        free_block(b);
    }
    const flag *flags;
    size_t nflags;
    if (!pipeline_flags_live(r->p, &flags, &nflags, err, sizeof err))
        for (size_t i = 0; i < nflags; i++) raise_flag(r, s, &flags[i]);
    if (s) session_unref(s);
}

/* Welcomes HS (consumes the reference), taking over from any earlier connection. */
static void welcome(rec *r, ingest_session *hs)
{
    detach(r, NULL, PROTO_CLOSE_BUSY, "superseded by a newer connection of this recording");
    pthread_mutex_lock(&hs->mu);
    int gone = hs->gone;
    if (!gone) {
        hs->r = r;
        hs->welcomed = 1;
        hs->welcome_next = store_journal_next(r->j);
    }
    pthread_mutex_unlock(&hs->mu);
    if (gone) {
        session_unref(hs);
        return;
    }
    session_ref(hs); /* ours until the welcome is posted; the other goes to the recording */
    pthread_mutex_lock(&r->mu);
    r->sess = hs;
    /* Frames still queued from the superseded connection would collide with the resend. */
    block **pp = &r->inbox, *stale = NULL;
    while (*pp) {
        block *b = *pp;
        if (b->from != hs) {
            *pp = b->next;
            b->next = stale;
            stale = b;
        } else {
            pp = &b->next;
        }
    }
    r->inbox_tail = pp;
    pthread_mutex_unlock(&r->mu);
    while (stale) {
        block *b = stale;
        stale = b->next;
        free_block(b);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "welcome");
    cJSON_AddStringToObject(o, "recording", r->recording);
    cJSON_AddNumberToObject(o, "next_sample", (double)store_journal_next(r->j));
    cJSON_AddBoolToObject(o, "ended", store_journal_ended(r->j));
    cJSON_AddNumberToObject(o, "max_frame_samples", PROTO_MAX_FRAMES);
    post_json(hs, o);
    net_log(NET_LOG_INFO, "welcome", "device=%s recording=%s peer=%s next_sample=%lld", r->device, r->recording,
            hs->peer, (long long)store_journal_next(r->j));
    if (store_journal_ended(r->j)) session_close(hs, PROTO_CLOSE_NORMAL, "recording already complete");
    session_unref(hs);
}

/* ---- the end ---- */

static void start_time(const rec *r, store_archive_info *a)
{
    int y, mo, d, h, mi, s;
    if (sscanf(r->hello.start_time, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) == 6 && y >= 1985 &&
        y <= 2084) {
        a->start_year = y;
        a->start_month = mo;
        a->start_day = d;
        a->start_hour = h;
        a->start_minute = mi;
        a->start_second = s;
    }
}

/* Analyses to the end, writes the EDF+ archive and the store row. Returns 0 or -1 (logged). */
static int finish(rec *r, const char *state)
{
    ingest *g = r->g;
    char err[512], q[600];
    const pipeline_result *res;
    store_annotation *ann = NULL;
    char *json = NULL;
    int rc = -1;
    /* Only a complete recording is sealed: an interrupted one may still be resumed. */
    if (!strcmp(state, "complete") && !store_journal_ended(r->j) && store_journal_end(r->j, err, sizeof err)) goto fail;
    if (pipeline_finish(r->p, &res, err, sizeof err)) goto fail;
    for (size_t i = 0; i < res->nflags; i++) raise_flag(r, NULL, &res->flags[i]);
    result_json_info info = {r->recording, "ecgnet.v1", r->hello.leads, &r->hello.patient, 1};
    if (!(json = result_json(res, &info, 0))) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    size_t nann = 0;
    if (!(ann = calloc(res->nbeats + res->nflags + 1, sizeof *ann))) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < res->nbeats; i++)
        ann[nann++] = (store_annotation){res->beats[i].sample, -1, {res->beats[i].label, 0}};
    for (size_t i = 0; i < res->nflags; i++) {
        store_annotation *a = &ann[nann++];
        a->sample = res->flags[i].start;
        a->duration = res->flags[i].end - res->flags[i].start;
        snprintf(a->text, sizeof a->text, "%s", res->flags[i].code);
    }
    fmt_lead leads[PROTO_MAX_LEADS];
    for (int l = 0; l < r->hello.nleads; l++) {
        leads[l] = r->hello.leads[l];
        if (r->hello.sample_bytes != 2) leads[l].adc_min = leads[l].adc_max = 0;
    }
    store_archive_info ai = {r->hello.fs, r->hello.nleads, leads, r->hello.patient, 0, 0, 0, 0, 0, 0};
    start_time(r, &ai);
    long clipped = 0;
    int archived = store_journal_next(r->j) > 0;
    if (archived && store_archive_write(r->journal_path, r->archive_path, &ai, ann, nann, &clipped, err, sizeof err))
        goto fail;
    if (clipped)
        net_log(NET_LOG_WARN, "archive_clipped", "recording=%s samples=%ld", r->recording, clipped);
    if (store_recording_finish(g->st, r->id, state, store_journal_next(r->j), archived ? r->archive_path : NULL, json,
                               err, sizeof err) != STORE_OK)
        goto fail;
    net_log(NET_LOG_INFO, "recording_finished", "device=%s recording=%s state=%s samples=%lld beats=%zu flags=%zu",
            r->device, r->recording, state, (long long)store_journal_next(r->j), res->nbeats, res->nflags);
    rc = 0;
    goto done;
fail:
    net_log(NET_LOG_ERROR, "finish_failed", "device=%s recording=%s error=%s", r->device, r->recording,
            net_log_quote(q, sizeof q, err));
done:
    free(ann);
    free(json);
    return rc;
}

/* Unlinks R from the ingest (so no new hello finds it) unless a hello is waiting for it. */
static int unlink_rec(rec *r)
{
    ingest *g = r->g;
    pthread_mutex_lock(&g->mu);
    pthread_mutex_lock(&r->mu);
    int busy = r->hello_sess != NULL || r->inbox != NULL;
    if (!busy) {
        for (rec **pp = &g->recs; *pp; pp = &(*pp)->next)
            if (*pp == r) {
                *pp = r->next;
                g->nrecs--;
                break;
            }
    }
    pthread_mutex_unlock(&r->mu);
    pthread_mutex_unlock(&g->mu);
    return !busy;
}

void rec_run(rec *r)
{
    char err[512], q[600];
    pthread_mutex_lock(&r->mu);
    ingest_session *hs = r->hello_sess;
    r->hello_sess = NULL;
    pthread_mutex_unlock(&r->mu);
    if (!r->loaded && !r->finished) {
        int code = load(r, hs, err, sizeof err);
        if (code) {
            net_log(NET_LOG_ERROR, "load_failed", "device=%s recording=%s error=%s", r->device, r->recording,
                    net_log_quote(q, sizeof q, err));
            if (hs) {
                post_error(hs, code, err);
                session_unref(hs);
                hs = NULL;
            }
            store_journal_close(r->j);
            r->j = NULL;
            pipeline_free(r->p);
            r->p = NULL;
        }
    }
    /* Whether just loaded or already streaming, a resume must describe the same stream. */
    if (hs && r->loaded && !same_stream(&hs->hello, &r->hello)) {
        net_errf(err, sizeof err, "resume of recording %s with a different patient, sample rate, leads, scaling or sample type", r->recording);
        net_log(NET_LOG_WARN, "reject", "code=%d device=%s peer=%s reason=%s", PROTO_CLOSE_MALFORMED, r->device, hs->peer,
                net_log_quote(q, sizeof q, err));
        post_error(hs, PROTO_CLOSE_MALFORMED, err);
        session_unref(hs);
        hs = NULL;
    }
    if (hs && r->loaded) welcome(r, hs);
    else if (hs) { /* finished meanwhile: the device is told it is complete */
        post_error(hs, PROTO_CLOSE_NORMAL, "recording already complete");
        session_unref(hs);
    }
    pthread_mutex_lock(&r->mu);
    block *blocks = r->inbox;
    r->inbox = NULL;
    r->inbox_tail = &r->inbox;
    int end = r->end_requested, expire = r->expire && !r->sess;
    pthread_mutex_unlock(&r->mu);
    if (blocks && r->loaded) drain(r, blocks);
    else
        while (blocks) {
            block *b = blocks;
            blocks = b->next;
            free_block(b);
        }
    if (r->loaded && !r->finished && (end || expire || store_journal_ended(r->j)) && ingest_now_us() >= r->retry_us) {
        pthread_mutex_lock(&r->mu);
        int more = r->inbox != NULL;
        pthread_mutex_unlock(&r->mu);
        if (!more) {
            const char *state = end || store_journal_ended(r->j) ? "complete" : "interrupted";
            r->finished = 1;
            if (finish(r, state) == 0) {
                ingest_session *s = current(r);
                if (s) {
                    char text[160];
                    snprintf(text, sizeof text, "{\"type\":\"ended\",\"samples\":%lld,\"state\":\"%s\"}",
                             (long long)store_journal_next(r->j), state);
                    session_post(s, text);
                    session_close(s, PROTO_CLOSE_NORMAL, "recording complete");
                    session_unref(s);
                }
            } else {
                detach(r, NULL, PROTO_CLOSE_STORAGE, "server could not archive the recording; it is kept and retried");
                r->finished = 0;
                /* The journal is safe; try again later rather than spin on a failing disk. */
                pthread_mutex_lock(&r->mu);
                r->retry_us = ingest_now_us() + 30 * 1000000LL;
                pthread_mutex_unlock(&r->mu);
            }
        }
    }
    if (expire && !r->loaded) r->finished = 1; /* unloadable and abandoned: leave it to the operator */
    if (r->finished) {
        detach(r, NULL, 0, NULL);
        if (unlink_rec(r)) {
            rec_free(r);
            return;
        }
    }
    pthread_mutex_lock(&r->mu);
    r->scheduled = 0;
    if (r->inbox || r->hello_sess || (r->end_requested && !r->finished && r->loaded && ingest_now_us() >= r->retry_us))
        rec_schedule_locked(r);
    pthread_mutex_unlock(&r->mu);
}

void rec_hello(ingest *g, ingest_session *s)
{
    proto_hello *h = &s->hello;
    char site[65], err[512];
    int rc = store_device_auth(g->st, h->device, h->token, site, err, sizeof err);
    memset(h->token, 0, sizeof h->token);
    if (rc != STORE_OK) {
        char q[120];
        int code = rc == STORE_EAUTH ? PROTO_CLOSE_AUTH : rc == STORE_EREVOKED ? PROTO_CLOSE_REVOKED : PROTO_CLOSE_STORAGE;
        const char *why = rc == STORE_EAUTH      ? "unknown device or wrong token"
                          : rc == STORE_EREVOKED ? "this device's token was revoked; ask the county hospital for a new one"
                                                 : "server cannot check the device now; retry later";
        if (code != PROTO_CLOSE_STORAGE) atomic_fetch_add(&g->m->auth_failures_total, 1);
        net_log(NET_LOG_WARN, "auth_failed", "device=%s peer=%s code=%d detail=%s", net_log_quote(q, sizeof q, h->device),
                s->peer, code, code == PROTO_CLOSE_STORAGE ? err : why);
        post_error(s, code, why);
        return;
    }
    pthread_mutex_lock(&g->mu);
    rec *r = find_locked(g, h->device, h->recording);
    if (!r) r = rec_new_locked(g, h->device, h->recording);
    if (!r) {
        pthread_mutex_unlock(&g->mu);
        post_error(s, PROTO_CLOSE_STORAGE, "server out of memory");
        return;
    }
    pthread_mutex_lock(&r->mu);
    ingest_session *old = r->hello_sess;
    r->hello_sess = s;
    session_ref(s);
    rec_schedule_locked(r);
    pthread_mutex_unlock(&r->mu);
    pthread_mutex_unlock(&g->mu);
    if (old) {
        post_error(old, PROTO_CLOSE_BUSY, "superseded by a newer connection of this recording");
        session_unref(old);
    }
}
