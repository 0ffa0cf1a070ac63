/* pipeline.c — frames in; scaled leads through the filter chain and the QRS detector; results out. */
#include "pipeline.h"

#include "rhythm_afl.h"
#include "rhythm_ref.h"
#include "rhythm_pwave.h"
#include "rhythm_vf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 1024 /* frames converted and pushed at a time */
#define HR_WINDOW 8 /* beats averaged for the min/max heart rate */
#define PW_RING 8192 /* filtered samples kept for the P-wave check: > 4 s at 2000 Hz */
#define PW_LEADS 2   /* leads the P-wave check looks at (as the beat classifier does) */
#define LIVE_LOOKBACK_S 120.0 /* live flags look this far back: the longest rule window (60 s)
                               * and the slowest rhythm decision (AF, about 30 s + 32 beats) */

struct pipeline {
    pipeline_opts o;
    const dsp_kernels *k;
    double fs;
    int nleads;
    float offset[FMT_MAX_LEADS], scale[FMT_MAX_LEADS];
    float *uv;          /* BLOCK frames, lead-major */
    dsp_qrs *qrs;
    dsp_filter_design *design;
    dsp_filter *filters[FMT_MAX_LEADS];
    float *filtered;    /* lead-major, stride = filt_cap; grown on demand */
    size_t filt_cap;
    int64_t filtered_next; /* index of the next filtered sample */
    sq_stream *sq;         /* signal quality */
    sq_stretch *unreadable;
    size_t nunreadable, unreadable_cap;
    size_t rh_told;        /* unreadable stretches passed to the rhythm analysis */
    rh_stream *rh;         /* rhythm analysis */
    rh_vf *vf;             /* ventricular flutter/fibrillation from the raw signal */
    rh_pwave *pw;          /* atrial activity before each beat (with the filter chain) */
    rh_afl *afl;           /* atrial flutter between the beats (with the filter chain) */
    float *pw_ring;        /* the last PW_RING filtered samples of the first PW_LEADS leads */
    int pw_leads;
    int64_t pw_end;        /* filtered samples written to the ring */
    rh_episode *rhythms;
    size_t nrhythms, rhythms_cap;
    rh_event *events;
    size_t nevents, events_cap;
    flag *flags;
    size_t nflags;
    flag *live;            /* flags raised while streaming: (code, start) never change */
    size_t nlive, live_cap;
    rh_episode *live_ep;   /* scratch: the episodes a live evaluation looks at */
    size_t live_ep_cap;
    int64_t *live_beats;   /* scratch: their beats */
    size_t live_beats_cap;
    size_t live_rh_from, live_ev_from, live_beat_from; /* first ones inside the lookback */
    bc_stream *bc;         /* beat classifier, when labels or features are wanted */
    dsp_beat *waiting;     /* detected beats the classifier has not labelled yet, in order */
    size_t wait_head, wait_count, wait_cap;
    pipeline_beat *beats;
    size_t nbeats, cap;
    float *features;       /* keep_features: nbeats * nfeatures */
    size_t feat_cap;
    int nfeatures;
    pipeline_result result;
    int finished;
};

void pipeline_opts_default(pipeline_opts *o)
{
    memset(o, 0, sizeof *o);
    o->mains_hz = 50.0;
    o->simd = dsp_simd_best();
    o->run_filter = 1;
    o->run_detector = 1;
    o->rhythm = 1;
}

pipeline *pipeline_create(const pipeline_opts *o, double fs, int nleads, const fmt_lead *leads,
                          char *err, size_t errlen)
{
    if (nleads < 1 || nleads > FMT_MAX_LEADS) {
        snprintf(err, errlen, "pipeline: %d leads (1..%d supported)", nleads, FMT_MAX_LEADS);
        return NULL;
    }
    pipeline *p = calloc(1, sizeof *p);
    if (!p) goto oom;
    p->o = *o;
    p->k = dsp_kernels_for(o->simd);
    p->fs = fs;
    p->nleads = nleads;
    for (int l = 0; l < nleads; l++) {
        p->offset[l] = (float)leads[l].baseline;
        p->scale[l] = (float)leads[l].uv_per_unit;
    }
    p->qrs = dsp_qrs_create(fs, nleads, p->k, err, errlen);
    if (!p->qrs) goto fail;
    p->sq = sq_stream_create(fs, nleads, leads, err, errlen);
    if (!p->sq) goto fail;
    if (o->flags && !o->rhythm) {
        snprintf(err, errlen, "pipeline: flags need the rhythm analysis");
        goto fail;
    }
    if (o->rhythm && o->run_detector) {
        p->rh = rh_stream_create(fs, err, errlen);
        if (!p->rh) goto fail;
        p->vf = rh_vf_create(fs, nleads, err, errlen);
        if (!p->vf) goto fail;
        rh_stream_expect_vfl(p->rh);
        if (o->run_filter) { /* P waves tell AF from irregular sinus rhythm with ectopy */
            p->pw_leads = nleads < PW_LEADS ? nleads : PW_LEADS;
            p->pw = rh_pwave_create(fs, p->pw_leads, err, errlen);
            if (!p->pw) goto fail;
            p->afl = rh_afl_create(fs, p->pw_leads, err, errlen); /* AF or flutter: AFIB or AFL */
            if (!p->afl) goto fail;
            rh_stream_expect_afl(p->rh);
            p->pw_ring = calloc((size_t)p->pw_leads * PW_RING, sizeof *p->pw_ring);
            if (!p->pw_ring) goto oom;
        }
    }
    p->uv = malloc((size_t)nleads * BLOCK * sizeof *p->uv);
    if (!p->uv) goto oom;
    if (o->run_filter) {
        dsp_filter_opts fo;
        if (o->diagnostic) dsp_filter_opts_diagnostic(&fo, fs);
        else dsp_filter_opts_monitoring(&fo, fs);
        fo.mains_hz = o->mains_hz;
        p->design = dsp_filter_design_create(&fo, err, errlen);
        if (!p->design) goto fail;
        for (int l = 0; l < nleads; l++) {
            p->filters[l] = dsp_filter_create(p->design);
            if (!p->filters[l]) goto oom;
        }
    }
    if (o->beat_model || o->keep_features) {
        if (!o->run_filter || !o->run_detector) {
            snprintf(err, errlen, "pipeline: beat classes need both the filter chain and the detector");
            goto fail;
        }
        p->bc = bc_stream_create(o->beat_model, fs, nleads, o->keep_features, err, errlen);
        if (!p->bc) goto fail;
    }
    return p;
oom:
    snprintf(err, errlen, "pipeline: out of memory");
fail:
    pipeline_free(p);
    return NULL;
}

void pipeline_free(pipeline *p)
{
    if (!p) return;
    bc_stream_free(p->bc);
    sq_stream_free(p->sq);
    rh_stream_free(p->rh);
    rh_vf_free(p->vf);
    free(p->live);
    free(p->live_ep);
    free(p->live_beats);
    rh_pwave_free(p->pw);
    rh_afl_free(p->afl);
    free(p->pw_ring);
    free(p->rhythms);
    free(p->events);
    free(p->flags);
    free(p->unreadable);
    free(p->waiting);
    free(p->features);
    free(p->beats);
    free(p->filtered);
    for (int l = 0; l < p->nleads; l++) dsp_filter_free(p->filters[l]);
    dsp_filter_design_free(p->design);
    free(p->uv);
    dsp_qrs_free(p->qrs);
    free(p);
}

static int grow(void **buf, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 1024;
    while (n < need) n *= 2;
    void *nb = realloc(*buf, n * size);
    if (!nb) return -1;
    *buf = nb;
    *cap = n;
    return 0;
}

static int tell_unreadable(pipeline *p, int64_t upto, char *err, size_t errlen);

/* The flutter detector's verdicts so far on to the rhythm analysis. */
static int pass_afl(pipeline *p, char *err, size_t errlen)
{
    rh_afl_verdict v;
    while (rh_afl_next(p->afl, &v))
        if (rh_stream_afl(p->rh, v.start, v.end, v.flutter, err, errlen)) return -1;
    return 0;
}

/* The P-wave correlation of the beat at r (rhythm_pwave.h), from the ring of filtered signal;
 * NaN when its P-wave segment is no longer (or not yet) in the ring. */
static double pwave_of(pipeline *p, int64_t r)
{
    int64_t from = r - (int64_t)(RH_PWAVE_FROM_S * p->fs), to = r - (int64_t)(RH_PWAVE_TO_S * p->fs) + 1;
    if (from < 0 || to > p->pw_end || from < p->pw_end - PW_RING || to - from > 4096) return NAN;
    float seg[PW_LEADS * 4096];
    size_t n = (size_t)(to - from);
    size_t at = (size_t)(from % PW_RING), first = n < PW_RING - at ? n : PW_RING - at;
    for (int l = 0; l < p->pw_leads; l++) {
        memcpy(seg + (size_t)l * n, p->pw_ring + (size_t)l * PW_RING + at, first * sizeof *seg);
        memcpy(seg + (size_t)l * n + first, p->pw_ring + (size_t)l * PW_RING, (n - first) * sizeof *seg);
    }
    return rh_pwave_beat(p->pw, seg, n, from, to, r);
}

static int append_beat(pipeline *p, const dsp_beat *d, const bc_beat *c, char *err, size_t errlen)
{
    if (grow((void **)&p->beats, &p->cap, p->nbeats + 1, sizeof *p->beats)) goto oom;
    if (c && c->nfeatures) {
        if (p->nfeatures == 0) p->nfeatures = c->nfeatures;
        size_t need = (p->nbeats + 1) * (size_t)p->nfeatures;
        if (grow((void **)&p->features, &p->feat_cap, need, sizeof *p->features)) goto oom;
        memcpy(p->features + p->nbeats * (size_t)p->nfeatures, c->features,
               (size_t)p->nfeatures * sizeof *p->features);
    }
    pipeline_beat *pb = &p->beats[p->nbeats++];
    pb->sample = d->sample;
    pb->label = c ? c->label : 'N';
    pb->confidence = c ? c->confidence : 0.0f;
    pb->lead = d->lead;
    pb->searchback = d->searchback;
    if (p->rh && tell_unreadable(p, pb->sample + 1, err, errlen)) return -1;
    double shape = c ? c->prev_corr : NAN; /* the QRS against the previous beat's: polymorphic VT */
    if (p->rh && rh_stream_beat_shape(p->rh, pb->sample, pb->label, p->pw ? pwave_of(p, pb->sample) : NAN,
                                      shape, err, errlen))
        return -1;
    if (p->afl && (rh_afl_beat(p->afl, pb->sample, pb->label, err, errlen) || pass_afl(p, err, errlen))) return -1;
    return 0;
oom:
    snprintf(err, errlen, "pipeline: out of memory for %zu beats", p->nbeats + 1);
    return -1;
}

/* Moves the detector's decided beats to the result. A beat waits while the stages after the
 * detector still need signal the filter chain has not yet produced: the classifier (which then
 * labels it, in order) or the P-wave check (which needs the filtered signal before the beat).
 * flushing: the filter chain has ended, nothing more will come. */
static int collect_beats(pipeline *p, int flushing, char *err, size_t errlen)
{
    dsp_beat b;
    while (dsp_qrs_next(p->qrs, &b)) {
        if (!p->bc && !p->pw) {
            if (append_beat(p, &b, NULL, err, errlen)) return -1;
            continue;
        }
        if (p->bc && bc_stream_beat(p->bc, &b, err, errlen)) return -1;
        if (p->wait_head + p->wait_count == p->wait_cap) {
            if (p->wait_head) { /* reuse the popped front before growing */
                memmove(p->waiting, p->waiting + p->wait_head, p->wait_count * sizeof *p->waiting);
                p->wait_head = 0;
            }
            if (grow((void **)&p->waiting, &p->wait_cap, p->wait_count + 1, sizeof *p->waiting)) {
                snprintf(err, errlen, "pipeline: out of memory");
                return -1;
            }
        }
        p->waiting[p->wait_head + p->wait_count++] = b;
    }
    bc_beat c;
    while (p->bc && bc_stream_next(p->bc, &c)) {
        if (!p->wait_count || p->waiting[p->wait_head].sample != c.sample) {
            snprintf(err, errlen, "pipeline: the beat classifier returned sample %lld out of order",
                     (long long)c.sample);
            return -1;
        }
        if (append_beat(p, &p->waiting[p->wait_head], &c, err, errlen)) return -1;
        p->wait_head++;
        p->wait_count--;
    }
    while (!p->bc && p->wait_count && (flushing || p->waiting[p->wait_head].sample < p->pw_end)) {
        if (append_beat(p, &p->waiting[p->wait_head], NULL, err, errlen)) return -1;
        p->wait_head++;
        p->wait_count--;
    }
    return 0;
}

/* Unreadable stretches go to the result; the rhythm analysis learns of them once the beats
 * before them have reached it (stretches and beats must arrive in time order). */
static int collect_quality(pipeline *p, char *err, size_t errlen)
{
    sq_stretch st;
    while (sq_stream_next_unreadable(p->sq, &st)) {
        if (grow((void **)&p->unreadable, &p->unreadable_cap, p->nunreadable + 1, sizeof st)) {
            snprintf(err, errlen, "pipeline: out of memory");
            return -1;
        }
        p->unreadable[p->nunreadable++] = st;
    }
    return 0;
}

/* Tells the rhythm analysis of the unreadable stretches that end before sample upto, so that
 * stretches and labelled beats reach it in time order. */
static int tell_unreadable(pipeline *p, int64_t upto, char *err, size_t errlen)
{
    for (; p->rh && p->rh_told < p->nunreadable && p->unreadable[p->rh_told].end <= upto; p->rh_told++)
        if (rh_stream_unreadable(p->rh, p->unreadable[p->rh_told].start, p->unreadable[p->rh_told].end, err, errlen))
            return -1;
    return 0;
}

static int collect_rhythm(pipeline *p, char *err, size_t errlen)
{
    rh_episode e;
    rh_event v;
    while (p->rh && rh_stream_next_episode(p->rh, &e)) {
        if (grow((void **)&p->rhythms, &p->rhythms_cap, p->nrhythms + 1, sizeof e)) goto oom;
        p->rhythms[p->nrhythms++] = e;
    }
    while (p->rh && rh_stream_next_event(p->rh, &v)) {
        if (grow((void **)&p->events, &p->events_cap, p->nevents + 1, sizeof v)) goto oom;
        p->events[p->nevents++] = v;
    }
    return 0;
oom:
    snprintf(err, errlen, "pipeline: out of memory");
    return -1;
}

/* Runs the filter chain over the block in p->uv (or flushes it, n = 0 and flush = 1). The
 * filters emit whole FFT blocks, and a flush the whole delay, so the output buffer grows to what
 * the next call may need. Returns 0, or -1 when out of memory. */
static int run_filters(pipeline *p, size_t n, int flush)
{
    size_t need = dsp_filter_max_output(p->filters[0], n);
    if (need == 0) need = 1;
    if (need > p->filt_cap) {
        float *nf = realloc(p->filtered, (size_t)p->nleads * need * sizeof *nf);
        if (!nf) return -1;
        p->filtered = nf;
        p->filt_cap = need;
    }
    size_t got = 0;
    for (int l = 0; l < p->nleads; l++) {
        float *out = p->filtered + (size_t)l * p->filt_cap;
        got = flush ? dsp_filter_flush(p->filters[l], out)
                    : dsp_filter_push(p->filters[l], p->uv + (size_t)l * n, n, out);
    }
    if (got && p->o.on_filtered)
        p->o.on_filtered(p->o.ctx, p->filtered_next, p->filtered, p->filt_cap, got);
    if (got && p->bc && bc_stream_signal(p->bc, p->filtered_next, p->filtered, p->filt_cap, got, NULL, 0))
        return -1;
    for (size_t done = 0; p->pw_ring && done < got;) { /* in copies up to the ring's end */
        size_t at = (size_t)((p->filtered_next + (int64_t)done) % PW_RING), m = got - done;
        if (m > PW_RING - at) m = PW_RING - at;
        for (int l = 0; l < p->pw_leads; l++)
            memcpy(p->pw_ring + (size_t)l * PW_RING + at, p->filtered + (size_t)l * p->filt_cap + done, m * sizeof *p->pw_ring);
        done += m;
    }
    p->pw_end = p->filtered_next + (int64_t)got;
    char aerr[256]; /* out of memory is the only failure left here: the caller says so */
    if (got && p->afl &&
        (rh_afl_push(p->afl, p->filtered, p->filt_cap, p->filtered_next, got, aerr, sizeof aerr) ||
         pass_afl(p, aerr, sizeof aerr)))
        return -1;
    p->filtered_next += (int64_t)got;
    return 0;
}

/* The block in p->uv through the VF detector; its verdicts on to the rhythm analysis. */
static int push_vf(pipeline *p, size_t m, char *err, size_t errlen)
{
    rh_vf_verdict d;
    if (rh_vf_push(p->vf, p->uv, m, m)) {
        snprintf(err, errlen, "pipeline: out of memory");
        return -1;
    }
    while (rh_vf_next(p->vf, &d))
        if (rh_stream_vfl(p->rh, d.start, d.end, d.vf, err, errlen)) return -1;
    return 0;
}

int pipeline_push(pipeline *p, const int32_t *frames, size_t n, char *err, size_t errlen)
{
    while (n) {
        size_t m = n < BLOCK ? n : BLOCK;
        for (int l = 0; l < p->nleads; l++)
            p->k->convert_i32(frames + l, (size_t)p->nleads, m, p->offset[l], p->scale[l],
                              p->uv + (size_t)l * m);
        if (p->o.run_detector) dsp_qrs_push(p->qrs, p->uv, m, m);
        sq_stream_push(p->sq, frames, m);
        if (p->vf && push_vf(p, m, err, errlen)) return -1;
        if (collect_quality(p, err, errlen) || collect_rhythm(p, err, errlen)) return -1;
        if (p->design && run_filters(p, m, 0)) {
            snprintf(err, errlen, "pipeline: out of memory for the filtered signal");
            return -1;
        }
        if (collect_beats(p, 0, err, errlen)) return -1;
        p->result.nsamples += (int64_t)m;
        frames += m * (size_t)p->nleads;
        n -= m;
    }
    return 0;
}

const pipeline_beat *pipeline_beats(const pipeline *p, size_t *count)
{
    *count = p->nbeats;
    return p->beats;
}

static int by_priority_then_start(const void *a, const void *b)
{
    const flag *x = a, *y = b;
    if (x->priority != y->priority) return x->priority < y->priority ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Takes a flag just evaluated into the raised ones: the same code over overlapping or touching
 * time is the flag already raised (its start stays, the rest is brought up to date). */
static int raise_live(pipeline *p, const flag *f)
{
    for (size_t i = 0; i < p->nlive; i++) {
        flag *g = &p->live[i];
        if (strcmp(g->code, f->code) || f->start > g->end || g->start > f->end) continue;
        int64_t start = g->start, first = g->first_beat;
        if (f->end > g->end || f->value != g->value) {
            int64_t end = f->end > g->end ? f->end : g->end;
            *g = *f;
            g->end = end;
        }
        g->start = start;
        if (first >= 0) g->first_beat = first;
        return 0;
    }
    if (grow((void **)&p->live, &p->live_cap, p->nlive + 1, sizeof *p->live)) return -1;
    p->live[p->nlive++] = *f;
    return 0;
}

int pipeline_flags_live(pipeline *p, const flag **out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    if (p->finished) {
        *out = p->flags;
        *n = p->nflags;
        return 0;
    }
    if (!p->o.flags || !p->rh) return 0;
    if (collect_rhythm(p, err, errlen)) return -1;
    int64_t now = p->result.nsamples, from = now - (int64_t)(LIVE_LOOKBACK_S * p->fs);
    /* Only the lookback is evaluated: the cursors move forward, so a call costs what that much
     * signal holds, however long the recording has run. */
    while (p->live_rh_from < p->nrhythms && p->rhythms[p->live_rh_from].end <= from) p->live_rh_from++;
    while (p->live_ev_from < p->nevents && p->events[p->live_ev_from].end <= from) p->live_ev_from++;
    while (p->live_beat_from < p->nbeats && p->beats[p->live_beat_from].sample < from) p->live_beat_from++;
    size_t nfinal = p->nrhythms - p->live_rh_from;
    size_t nopen = rh_stream_open_episodes(p->rh, now, NULL, 0);
    size_t nbeats = p->nbeats - p->live_beat_from;
    if (grow((void **)&p->live_ep, &p->live_ep_cap, nfinal + nopen + 1, sizeof *p->live_ep) ||
        grow((void **)&p->live_beats, &p->live_beats_cap, nbeats + 1, sizeof *p->live_beats)) {
        snprintf(err, errlen, "pipeline: out of memory");
        return -1;
    }
    if (nfinal) memcpy(p->live_ep, p->rhythms + p->live_rh_from, nfinal * sizeof *p->live_ep);
    nopen = rh_stream_open_episodes(p->rh, now, p->live_ep + nfinal, nopen);
    for (size_t i = 0; i < nbeats; i++) p->live_beats[i] = p->beats[p->live_beat_from + i].sample;
    flag_input in = {p->fs, now, p->nleads, p->o.mode, p->live_ep, nfinal + nopen,
                     p->nevents > p->live_ev_from ? p->events + p->live_ev_from : NULL,
                     p->nevents - p->live_ev_from, p->live_beats, nbeats};
    flag *found = NULL;
    long nf = flag_evaluate(p->o.flags, &in, &found, err, errlen);
    if (nf < 0) return -1;
    for (long i = 0; i < nf; i++)
        if (raise_live(p, &found[i])) {
            free(found);
            snprintf(err, errlen, "pipeline: out of memory");
            return -1;
        }
    free(found);
    if (p->nlive > 1) qsort(p->live, p->nlive, sizeof *p->live, by_priority_then_start);
    *out = p->live;
    *n = p->nlive;
    return 0;
}

/* A flag raised live never silently disappears: when the whole record's evaluation has no flag
 * of its code (the episode ended up shorter, or relabelled), the live flag stays in the result. */
static int keep_live_flags(pipeline *p)
{
    size_t n = p->nflags;
    for (size_t i = 0; i < p->nlive; i++) {
        size_t j = 0;
        while (j < n && strcmp(p->flags[j].code, p->live[i].code)) j++;
        if (j < n) continue;
        flag *nf = realloc(p->flags, (p->nflags + 1) * sizeof *nf);
        if (!nf) return -1;
        p->flags = nf;
        p->flags[p->nflags++] = p->live[i];
    }
    if (p->nflags > n) qsort(p->flags, p->nflags, sizeof *p->flags, by_priority_then_start);
    return 0;
}

/* The labels that need the whole analysis, once it is done: a beat inside a stretch where no lead
 * was readable is 'Q' (AAMI: unclassifiable; its shape there is noise), and an 'S' inside an AF
 * or flutter episode is 'N' (MIT-BIH and AAMI label every beat of AF N however early it comes;
 * the classifier's own test sees only the last 32 intervals and no atrial activity). */
static void relabel(pipeline *p)
{
    size_t e = 0, u = 0;
    for (size_t i = 0; i < p->nbeats; i++) {
        pipeline_beat *b = &p->beats[i];
        while (u < p->nunreadable && p->unreadable[u].end <= b->sample) u++;
        if (u < p->nunreadable && p->unreadable[u].start <= b->sample) {
            b->label = 'Q';
            b->confidence = 0.0f;
            continue;
        }
        while (e < p->nrhythms && p->rhythms[e].end <= b->sample) e++;
        if (b->label == 'S' && e < p->nrhythms && p->rhythms[e].start <= b->sample &&
            rh_label_is_af(p->rhythms[e].label))
            b->label = 'N';
    }
}

static void heart_rate(pipeline_result *r)
{
    r->hr_mean = r->hr_min = r->hr_max = 0.0;
    if (r->nbeats < 2) return;
    double span = (double)(r->beats[r->nbeats - 1].sample - r->beats[0].sample) / r->fs;
    if (span <= 0.0) return;
    r->hr_mean = 60.0 * (double)(r->nbeats - 1) / span;
    size_t w = r->nbeats - 1 < HR_WINDOW ? r->nbeats - 1 : HR_WINDOW;
    r->hr_min = INFINITY;
    r->hr_max = 0.0;
    for (size_t i = w; i < r->nbeats; i++) {
        double s = (double)(r->beats[i].sample - r->beats[i - w].sample) / r->fs;
        if (s <= 0.0) continue;
        double hr = 60.0 * (double)w / s;
        if (hr < r->hr_min) r->hr_min = hr;
        if (hr > r->hr_max) r->hr_max = hr;
    }
    if (!isfinite(r->hr_min)) r->hr_min = r->hr_mean;
}

int pipeline_finish(pipeline *p, const pipeline_result **out, char *err, size_t errlen)
{
    if (!p->finished) {
        if (p->o.run_detector) dsp_qrs_flush(p->qrs);
        if (collect_beats(p, 0, err, errlen)) return -1;
        if (p->design && run_filters(p, 0, 1)) {
            snprintf(err, errlen, "pipeline: out of memory for the filtered signal");
            return -1;
        }
        if (p->bc) bc_stream_finish(p->bc);
        if (collect_beats(p, 1, err, errlen)) return -1;
        sq_stream_finish(p->sq);
        if (collect_quality(p, err, errlen)) return -1;
        if (p->rh) {
            if (tell_unreadable(p, INT64_MAX, err, errlen)) return -1;
            rh_stream_finish(p->rh, p->result.nsamples);
            if (collect_rhythm(p, err, errlen)) return -1;
        }
        if (p->bc && p->o.beat_model) relabel(p);
        if (p->o.flags) {
            int64_t *samples = malloc((p->nbeats + 1) * sizeof *samples);
            if (!samples) {
                snprintf(err, errlen, "pipeline: out of memory");
                return -1;
            }
            for (size_t i = 0; i < p->nbeats; i++) samples[i] = p->beats[i].sample;
            flag_input in = {p->fs, p->result.nsamples, p->nleads, p->o.mode, p->rhythms, p->nrhythms,
                             p->events, p->nevents, samples, p->nbeats};
            long n = flag_evaluate(p->o.flags, &in, &p->flags, err, errlen);
            free(samples);
            if (n < 0) return -1;
            p->nflags = (size_t)n;
            if (keep_live_flags(p)) {
                snprintf(err, errlen, "pipeline: out of memory");
                return -1;
            }
        }
        p->finished = 1;
    }
    pipeline_result *r = &p->result;
    r->fs = p->fs;
    r->nleads = p->nleads;
    r->beats = p->beats;
    r->nbeats = p->nbeats;
    r->features = p->features;
    r->nfeatures = p->nfeatures;
    r->unreadable = p->unreadable;
    r->nunreadable = p->nunreadable;
    r->rhythms = p->rhythms;
    r->nrhythms = p->nrhythms;
    r->events = p->events;
    r->nevents = p->nevents;
    r->flags = p->flags;
    r->nflags = p->nflags;
    for (int l = 0; l < p->nleads; l++) r->lead_quality[l] = sq_lead_quality(p->sq, l);
    r->filter_delay = p->design ? dsp_filter_delay(p->design) : 0;
    r->state_bytes = dsp_qrs_state_bytes(p->qrs);
    for (int l = 0; l < p->nleads && p->design; l++)
        r->state_bytes += dsp_filter_state_bytes(p->filters[l]);
    heart_rate(r);
    *out = r;
    return 0;
}

static void *dup(const void *src, size_t bytes)
{
    void *d = malloc(bytes);
    if (d) memcpy(d, src, bytes);
    return d;
}

int pipeline_run_record(fmt_record *rec, const pipeline_opts *o, pipeline_result **out, char *err,
                        size_t errlen)
{
    *out = NULL;
    int nleads = fmt_record_nleads(rec);
    fmt_lead leads[FMT_MAX_LEADS];
    for (int l = 0; l < nleads; l++) leads[l] = *fmt_record_lead(rec, l);
    int32_t *frames = NULL;
    pipeline_result *copy = NULL;
    pipeline *p = pipeline_create(o, fmt_record_fs(rec), nleads, leads, err, errlen);
    if (!p) return -1;
    frames = malloc((size_t)nleads * BLOCK * sizeof *frames);
    if (!frames) {
        snprintf(err, errlen, "%s: out of memory", fmt_record_name(rec));
        goto fail;
    }
    for (;;) {
        long n = fmt_record_read(rec, frames, BLOCK, err, errlen);
        if (n < 0) goto fail;
        if (n == 0) break;
        if (pipeline_push(p, frames, (size_t)n, err, errlen)) goto fail;
    }
    const pipeline_result *r;
    if (pipeline_finish(p, &r, err, errlen)) goto fail;
    copy = malloc(sizeof *copy);
    if (!copy) goto oom;
    *copy = *r;
    copy->beats = NULL;
    copy->features = NULL;
    copy->unreadable = NULL;
    copy->rhythms = NULL;
    copy->events = NULL;
    copy->flags = NULL;
    if ((r->nunreadable && !(copy->unreadable = dup(r->unreadable, r->nunreadable * sizeof *r->unreadable))) ||
        (r->nrhythms && !(copy->rhythms = dup(r->rhythms, r->nrhythms * sizeof *r->rhythms))) ||
        (r->nevents && !(copy->events = dup(r->events, r->nevents * sizeof *r->events))) ||
        (r->nflags && !(copy->flags = dup(r->flags, r->nflags * sizeof *r->flags))))
        goto oom;
    if (r->nbeats) {
        copy->beats = malloc(r->nbeats * sizeof *copy->beats);
        if (!copy->beats) goto oom;
        memcpy(copy->beats, r->beats, r->nbeats * sizeof *copy->beats);
    }
    if (r->features && r->nbeats) {
        size_t bytes = r->nbeats * (size_t)r->nfeatures * sizeof *copy->features;
        copy->features = malloc(bytes);
        if (!copy->features) goto oom;
        memcpy(copy->features, r->features, bytes);
    }
    free(frames);
    pipeline_free(p);
    *out = copy;
    return 0;
oom:
    snprintf(err, errlen, "%s: out of memory", fmt_record_name(rec));
fail:
    if (copy) {
        free(copy->beats);
        free(copy->features);
        free(copy->unreadable);
        free(copy->rhythms);
        free(copy->events);
        free(copy->flags);
    }
    free(copy);
    free(frames);
    pipeline_free(p);
    return -1;
}

void pipeline_result_free(pipeline_result *r)
{
    if (!r) return;
    free(r->unreadable);
    free(r->rhythms);
    free(r->events);
    free(r->flags);
    free(r->features);
    free(r->beats);
    free(r);
}
