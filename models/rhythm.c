/* rhythm.c — rhythm episodes and events from a stream of labelled beats (see rhythm.h). */
#include "rhythm.h"

#include "rhythm_af.h"
#include "rhythm_ref.h"
#include "rhythm_track.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RR_RING 512            /* valid RR intervals kept: a window plus the undecided backlog */
#define AF_STRIDE 4            /* the AF verdict is measured every 4th interval */
#define RATE_HALF 4            /* rate from the median of 9 RR intervals around each one */
#define AF_MIN_ON_S 30.0       /* an AF episode lasts at least 30 s ... */
#define AF_GAP_S 10.0          /* ... and shorter interruptions do not end it */
#define RATE_MIN_ON_S 10.0     /* bradycardia and tachycardia are sustained for 10 s */
#define VT_MIN_S 30.0          /* sustained VT */
#define PATTERN_MIN_CYCLES 3   /* bigeminy / trigeminy */
#define PAUSE_S 2.0
#define ASYSTOLE_S 4.0
#define BRADY_BPM 60.0
#define TACHY_BPM 100.0
#define P_WAVE_PRESENT 0.5     /* median P-wave correlation above which the atria are organised */
#define P_LOCAL_HALF 4         /* P waves are judged over the 9 beats around each interval ... */
#define P_LOCAL_MIN 3          /* ... of which at least 3 must be judged (on time, not ventricular) */
#define VFL_MIN_ON_S 1.5       /* two consecutive 1-s window verdicts (one is noise) ... */
#define VFL_GAP_S 1.5          /* ... and one window's lapse inside flutter does not end it */
#define AFL_MIN_ON_S 15.0      /* flutter waves over 15 s of consecutive window verdicts ... */
#define AFL_GAP_S 3.0          /* ... and a lapse of up to 3 s (an ectopic beat, noise) is bridged */

/* Priority order of the rhythm tracks: the first that is on labels the time. */
enum { TR_U, TR_VFL, TR_VT, TR_AF, TR_B, TR_T, TR_SVTA, TR_SBR, NTRACKS };
static const char *const track_label[NTRACKS] = {"U", "VFL", "VT", "AFIB", "B", "T", "SVTA", "SBR"};

enum { ENT_RR, ENT_COPY, ENT_GAP };
typedef struct {
    int64_t cs, ce; /* the time this entry labels */
    int kind;
    int64_t k;      /* ENT_RR: index of its RR among the valid ones */
    int v;          /* ENT_RR: the beat ending it is ventricular */
} entry;

/* A run of a ventricular pattern: period 1 (consecutive V), 2 (bigeminy), 3 (trigeminy). */
typedef struct {
    int period;
    int active, confirmed, rejected;
    int64_t start, last_v, after_v, fed;
    int n;               /* V beats in the run */
    int since_v;         /* non-V beats since the last V */
    int64_t longest;     /* period 1: longest RR inside the run */
    int pairs, differ;   /* period 1: successive V beats with known shapes; how many differ */
    int64_t hist[3];     /* the latest beats, hist[0] newest */
    int nhist;
    rh_track *out;
} pattern;

typedef struct {
    void *v;
    size_t head, count, cap, size;
} fifo;

struct rh_stream {
    double fs;
    int finished;
    int have_any;        /* a beat has been seen (ordering) */
    int64_t last_any;
    int have_beat;       /* a beat since the record start or the last unreadable stretch */
    int64_t last_beat;
    int64_t cover_from;  /* the entries label time up to here */
    int64_t unread_end;
    int any_rr;
    fifo entries;        /* entry: awaiting their decision */
    double rr[RR_RING];
    double pw[RR_RING];  /* P-wave correlation of the beat ending each RR, NaN when unknown */
    unsigned char vb[RR_RING]; /* the beat ending each RR is labelled ventricular */
    int64_t nvalid;
    int last_af, last_sbr, last_svta;
    int af_held, af_valid;     /* the AF verdict held between measurements, and whether it is */
    int64_t af_k;              /* the interval it was measured at */
    double af_median;          /* the median RR of that window */
    rh_track tr[NTRACKS];
    rh_hyst h_af, h_sbr, h_svta, h_vfl;
    int vfl_expected;          /* rh_stream_expect_vfl: the VFL track waits for verdicts */
    int64_t vfl_end;           /* end of the last VFL verdict */
    rh_track afl;              /* where the atrial activity is flutter (rh_stream_afl) */
    rh_hyst h_afl;
    int afl_expected;
    int64_t afl_end;           /* end of the last flutter verdict */
    pattern vrun, big, trig;
    fifo beats;          /* int64_t: beats the combiner has not passed, for episode rates */
    int64_t done;        /* the combiner has labelled [0, done) */
    int has_cur;
    rh_episode cur;
    int64_t cur_nb, cur_first, cur_last;
    fifo episodes;       /* rh_episode */
    fifo events;         /* rh_event */
};

static int fifo_push(fifo *f, const void *item)
{
    if (f->head + f->count == f->cap) {
        if (f->head) {
            memmove(f->v, (char *)f->v + f->head * f->size, f->count * f->size);
            f->head = 0;
        }
        if (f->count == f->cap) {
            size_t cap = f->cap ? 2 * f->cap : 64;
            void *v = realloc(f->v, cap * f->size);
            if (!v) return -1;
            f->v = v;
            f->cap = cap;
        }
    }
    memcpy((char *)f->v + (f->head + f->count++) * f->size, item, f->size);
    return 0;
}

static void *fifo_front(fifo *f)
{
    return f->count ? (char *)f->v + f->head * f->size : NULL;
}

static void fifo_pop(fifo *f)
{
    if (!f->count) return;
    f->head++;
    if (!--f->count) f->head = 0;
}

rh_stream *rh_stream_create(double fs, char *err, size_t errlen)
{
    if (!(fs >= 1.0 && fs <= 100000.0)) {
        snprintf(err, errlen, "rhythm analysis: sample rate %g Hz is outside 1..100000 Hz", fs);
        return NULL;
    }
    rh_stream *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "rhythm analysis: out of memory");
        return NULL;
    }
    s->fs = fs;
    s->entries.size = sizeof(entry);
    s->beats.size = sizeof(int64_t);
    s->episodes.size = sizeof(rh_episode);
    s->events.size = sizeof(rh_event);
    for (int i = 0; i < NTRACKS; i++) rh_track_init(&s->tr[i]);
    rh_hyst_init(&s->h_af, (int64_t)(AF_MIN_ON_S * fs), (int64_t)(AF_GAP_S * fs), &s->tr[TR_AF]);
    rh_hyst_init(&s->h_sbr, (int64_t)(RATE_MIN_ON_S * fs), 0, &s->tr[TR_SBR]);
    rh_hyst_init(&s->h_svta, (int64_t)(RATE_MIN_ON_S * fs), 0, &s->tr[TR_SVTA]);
    rh_hyst_init(&s->h_vfl, (int64_t)(VFL_MIN_ON_S * fs), (int64_t)(VFL_GAP_S * fs), &s->tr[TR_VFL]);
    rh_track_init(&s->afl);
    rh_hyst_init(&s->h_afl, (int64_t)(AFL_MIN_ON_S * fs), (int64_t)(AFL_GAP_S * fs), &s->afl);
    s->afl.horizon = INT64_MAX; /* final (and empty) until rh_stream_expect_afl */
    /* Without a VF detector the track is final everywhere (and empty): nothing waits for it. */
    s->tr[TR_VFL].horizon = INT64_MAX;
    s->vrun = (pattern){.period = 1, .out = &s->tr[TR_VT], .after_v = -1};
    s->big = (pattern){.period = 2, .out = &s->tr[TR_B], .after_v = -1};
    s->trig = (pattern){.period = 3, .out = &s->tr[TR_T], .after_v = -1};
    return s;
}

void rh_stream_free(rh_stream *s)
{
    if (!s) return;
    for (int i = 0; i < NTRACKS; i++) rh_track_free(&s->tr[i]);
    rh_track_free(&s->afl);
    free(s->entries.v);
    free(s->beats.v);
    free(s->episodes.v);
    free(s->events.v);
    free(s);
}

static int push_event(rh_stream *s, rh_event_type type, int64_t start, int64_t end, int nbeats,
                      double rate, double longest_s, double polymorphism)
{
    rh_event e = {type, start, end, nbeats, rate, longest_s, polymorphism};
    return fifo_push(&s->events, &e);
}

/* ---- ventricular patterns ---- */

static double run_rate(const rh_stream *s, int n, int64_t first, int64_t last)
{
    return (n >= 2 && last > first) ? 60.0 * s->fs * (n - 1) / (double)(last - first) : 0.0;
}

static void pattern_horizon(pattern *p)
{
    int64_t hz;
    if (p->active)
        hz = p->confirmed ? p->fed : (p->rejected ? p->hist[0] : p->start);
    else
    {
        /* The next V could start a run this many beats back (the sinus beats of its cycle). */
        int back = p->period >= 2 ? p->period - 2 : 0;
        hz = p->nhist > back ? p->hist[back] : p->out->horizon;
    }
    if (hz > p->out->horizon) p->out->horizon = hz;
}

/* Ends the active run; its rhythm lasts until end. */
static int pattern_close(rh_stream *s, pattern *p, int64_t end)
{
    if (!p->active) return 0;
    p->active = 0;
    if (p->confirmed && rh_track_add(p->out, p->fed, end)) return -1;
    if (p->period == 1 && p->n >= 2) {
        double rate = run_rate(s, p->n, p->start, p->last_v);
        rh_event_type t = p->n == 2 ? RH_COUPLET : (rate >= TACHY_BPM ? RH_VT_RUN : RH_TRIPLET);
        double poly = t == RH_VT_RUN && p->pairs >= RH_POLY_MIN_PAIRS ? (double)p->differ / p->pairs : 0.0;
        if (push_event(s, t, p->start, p->last_v + 1, p->n, rate, (double)p->longest / s->fs, poly)) return -1;
    }
    return 0;
}

static int pattern_beat(rh_stream *s, pattern *p, int64_t sample, int is_v, double shape)
{
    int q = p->period - 1; /* non-V beats between the V beats of the pattern */
    if (is_v) {
        if (p->active && p->since_v == q) {
            p->n++;
            if (q == 0 && !isnan(shape)) { /* the beat before was the run's previous V */
                p->pairs++;
                p->differ += shape < RH_POLY_CORR;
            }
            if (sample - p->last_v > p->longest) p->longest = sample - p->last_v;
            p->last_v = sample;
        } else {
            if (pattern_close(s, p, p->after_v >= 0 ? p->after_v : sample)) return -1;
            if (p->since_v >= q && p->nhist >= q) {
                p->active = 1;
                p->confirmed = p->rejected = 0;
                p->start = p->fed = q ? p->hist[q - 1] : sample;
                p->last_v = sample;
                p->n = 1;
                p->longest = 0;
                p->pairs = p->differ = 0;
            }
        }
        p->since_v = 0;
        p->after_v = -1;
        if (p->active && !p->confirmed && !p->rejected) {
            if (p->period > 1) {
                p->confirmed = p->n >= PATTERN_MIN_CYCLES;
            } else if ((double)(p->last_v - p->start) >= VT_MIN_S * s->fs) {
                /* Decided once, when the run has lasted 30 s: the delay stays bounded. */
                if (p->n >= 3 && run_rate(s, p->n, p->start, p->last_v) >= TACHY_BPM) p->confirmed = 1;
                else p->rejected = 1;
            }
        }
        if (p->active && p->confirmed) {
            if (rh_track_add(p->out, p->fed, p->last_v)) return -1;
            p->fed = p->last_v;
        }
    } else {
        p->since_v++;
        if (p->since_v == 1) p->after_v = sample;
        if (p->active && p->since_v > q && pattern_close(s, p, p->after_v)) return -1;
    }
    memmove(p->hist + 1, p->hist, 2 * sizeof *p->hist);
    p->hist[0] = sample;
    if (p->nhist < 3) p->nhist++;
    pattern_horizon(p);
    return 0;
}

/* An unreadable stretch from `at` (or the end of the record): runs end there, patterns restart. */
static int pattern_break(rh_stream *s, pattern *p, int64_t at, int64_t resume)
{
    if (pattern_close(s, p, p->after_v >= 0 && p->after_v < at ? p->after_v : at)) return -1;
    p->since_v = 0;
    p->nhist = 0;
    p->after_v = -1;
    if (resume > p->out->horizon) p->out->horizon = resume;
    return 0;
}

/* ---- per-RR decisions (AF, rate), in order, once their window has arrived ---- */

/* Repeatable P waves before the beats ending the intervals [from, to) still in the ring: at least
 * P_LOCAL_MIN of them have a known P-wave correlation and their median is >= P_WAVE_PRESENT.
 * Premature beats (more than 20 % short of MEDIAN, as in the RR editing) and ventricular ones
 * are left out: neither follows a sinus P wave, so their segments say nothing about whether the
 * atria are organised. */
static int p_waves_repeat(const rh_stream *s, int64_t from, int64_t to, double median)
{
    double p[RR_RING];
    size_t np = 0;
    if (from < s->nvalid - RR_RING) from = s->nvalid - RR_RING;
    for (int64_t i = from; i < to; i++) {
        size_t j = (size_t)(i % RR_RING);
        if (!isnan(s->pw[j]) && !s->vb[j] && s->rr[j] >= 0.8 * median) p[np++] = s->pw[j];
    }
    return np >= P_LOCAL_MIN && rh_select(p, np, np / 2) >= P_WAVE_PRESENT;
}

/* Repeatable P waves before the beats around interval k: the P_LOCAL_HALF intervals either side
 * and k's own (n: the intervals known), premature against the AF window's median. */
static int p_waves_around(const rh_stream *s, int64_t k, int64_t n)
{
    int64_t from = k - P_LOCAL_HALF, to = k + P_LOCAL_HALF + 1;
    return p_waves_repeat(s, from < 0 ? 0 : from, to > n ? n : to, s->af_median);
}

/* A recording shorter than an AF episode (a resting 10-s ECG): is all of it AF? Its intervals,
 * all of them (at least 8), pass the AF window's own test (rhythm_af.h), and its beats show no
 * repeatable P waves: the median P-wave correlation of the beats that are neither premature
 * (more than 20 % short of the median RR) nor ventricular is under P_WAVE_PRESENT, or fewer than
 * P_LOCAL_MIN are known (no atrial activity given: the RR intervals decide, as for an episode). */
static int whole_record_af(rh_stream *s)
{
    int64_t n = s->nvalid;
    if (n < 8 || n > RR_RING) return 0;
    double scratch[RR_RING];
    for (int64_t i = 0; i < n; i++) scratch[i] = s->rr[i]; /* n <= RR_RING: the ring is in order */
    rh_af_features f;
    rh_af_measure(s->rr, (size_t)n, &f);
    return rh_af_decide(&f, (size_t)n) && !p_waves_repeat(s, 0, n, rh_select(scratch, (size_t)n, (size_t)n / 2));
}

static void decide_rr(rh_stream *s, int64_t k)
{
    int64_t n = s->nvalid, w = RH_AF_WINDOW;
    int64_t lo = k - w / 2, hi = lo + w;
    if (hi > n) {
        hi = n;
        lo = hi - w;
    }
    if (lo < 0) {
        lo = 0;
        hi = n < w ? n : w;
    }
    double win[RH_AF_WINDOW];
    size_t m = 0;
    for (int64_t i = lo; i < hi; i++) win[m++] = s->rr[i % RR_RING];
    /* Windows of 64 intervals moved by one interval hardly differ: the AF verdict is measured on
     * every AF_STRIDE-th interval and held for the ones between (half the analysis time). */
    if (s->af_valid && k % AF_STRIDE && k - s->af_k < AF_STRIDE) {
        s->last_af = s->af_held;
        m = 0; /* skip the measurement below, keep the rate part */
    } else {
        s->last_af = 0;
        s->af_valid = 0;
    }
    if (m >= 16) { /* a quarter window at the least: shorter records say nothing about AF */
        rh_af_features f;
        rh_af_measure(win, m, &f);
        s->last_af = rh_af_decide(&f, m);
        double scratch[RH_AF_WINDOW];
        memcpy(scratch, win, m * sizeof *win);
        s->af_median = rh_select(scratch, m, m / 2);
        s->af_held = s->last_af;
        s->af_k = k;
        s->af_valid = 1;
    }
    /* Atrial activity, when given, has the last word, beat by beat: repeatable P waves before
     * the beats around this interval are sinus (or atrial ectopic) rhythm however irregular the
     * ventricles are. Judged over 9 beats rather than the RR window's 64, so that an AF verdict
     * does not spill half a window into the sinus rhythm on either side of an episode, nor
     * over the short sinus stretches between paroxysms. */
    if (s->last_af && p_waves_around(s, k, n)) s->last_af = 0;
    int64_t a = k - RATE_HALF < 0 ? 0 : k - RATE_HALF, b = k + RATE_HALF + 1 > n ? n : k + RATE_HALF + 1;
    double loc[2 * RATE_HALF + 1];
    size_t nl = 0;
    for (int64_t i = a; i < b; i++) loc[nl++] = s->rr[i % RR_RING];
    double med = rh_select(loc, nl, nl / 2);
    if (nl % 2 == 0) med = 0.5 * (med + rh_select(loc, nl, nl / 2 - 1));
    double bpm = 60.0 * s->fs / med;
    s->last_sbr = bpm < BRADY_BPM;
    s->last_svta = bpm > TACHY_BPM;
}

static int decide(rh_stream *s)
{
    entry *e;
    while ((e = fifo_front(&s->entries))) {
        if (e->kind == ENT_RR) {
            int64_t need = e->k + RH_AF_WINDOW / 2 + 1;
            if (need < RH_AF_WINDOW) need = RH_AF_WINDOW;
            if (need < e->k + RATE_HALF + 1) need = e->k + RATE_HALF + 1;
            if (!s->finished && s->nvalid < need) break;
            decide_rr(s, e->k);
            /* A ventricular beat's interval is no supraventricular tachycardia (VT is judged on
             * the V runs; the V label stands in for a wide QRS). */
            if (e->v) s->last_svta = 0;
        } else if (e->kind == ENT_GAP) {
            s->last_af = s->last_sbr = s->last_svta = 0;
            s->af_valid = 0;
        }
        if (rh_hyst_feed(&s->h_af, e->cs, e->ce, s->last_af) ||
            rh_hyst_feed(&s->h_sbr, e->cs, e->ce, s->last_sbr) ||
            rh_hyst_feed(&s->h_svta, e->cs, e->ce, s->last_svta))
            return -1;
        fifo_pop(&s->entries);
    }
    return 0;
}

/* ---- combining the tracks into episodes ---- */

static int close_cur(rh_stream *s)
{
    if (!s->has_cur) return 0;
    s->cur.rate_bpm = run_rate(s, (int)s->cur_nb, s->cur_first, s->cur_last);
    s->has_cur = 0;
    return fifo_push(&s->episodes, &s->cur);
}

static int piece(rh_stream *s, int64_t t, int64_t next, const char *label)
{
    if (!(s->has_cur && !strcmp(s->cur.label, label))) {
        if (close_cur(s)) return -1;
        memset(&s->cur, 0, sizeof s->cur);
        snprintf(s->cur.label, sizeof s->cur.label, "%s", label);
        s->cur.start = t;
        s->cur_nb = 0;
        s->has_cur = 1;
    }
    s->cur.end = next;
    int64_t *b;
    while ((b = fifo_front(&s->beats)) && *b < next) {
        if (!s->cur_nb++) s->cur_first = *b;
        s->cur_last = *b;
        fifo_pop(&s->beats);
    }
    return 0;
}

/* AF where the atrial activity is flutter is "AFL": the label of the time from t (where track
 * `best` is on), and *next cut where the flutter track changes. */
static const char *af_label(const rh_track *afl, size_t *at, int64_t t, int64_t *next)
{
    while (*at < afl->count && afl->v[afl->head + *at].end <= t) (*at)++;
    if (*at == afl->count) return track_label[TR_AF];
    const rh_span *sp = &afl->v[afl->head + *at];
    if (sp->start <= t) {
        if (sp->end < *next) *next = sp->end;
        return "AFL";
    }
    if (sp->start < *next) *next = sp->start;
    return track_label[TR_AF];
}

static int combine(rh_stream *s, int64_t limit)
{
    int64_t h = limit;
    for (int i = 0; i < NTRACKS; i++)
        if (s->tr[i].horizon < h) h = s->tr[i].horizon;
    if (s->afl.horizon < h) h = s->afl.horizon;
    while (s->done < h) {
        int64_t t = s->done, next = h;
        int best = -1;
        for (int i = 0; i < NTRACKS; i++) {
            const rh_span *sp = rh_track_at(&s->tr[i], t);
            if (!sp) continue;
            if (sp->start <= t) {
                if (best < 0) best = i;
                if (sp->end < next) next = sp->end;
            } else if (sp->start < next) {
                next = sp->start;
            }
        }
        const char *label = best < 0 ? "N" : track_label[best];
        if (best == TR_AF) {
            (void)rh_track_at(&s->afl, t); /* drops the flutter spans before t */
            size_t at = 0;
            label = af_label(&s->afl, &at, t, &next);
        }
        if (piece(s, t, next, label)) return -1;
        s->done = next;
    }
    return 0;
}

/* ---- input ---- */

static int oom(char *err, size_t errlen)
{
    snprintf(err, errlen, "rhythm analysis: out of memory");
    return -1;
}

int rh_stream_beat(rh_stream *s, int64_t sample, char label, char *err, size_t errlen)
{
    return rh_stream_beat_atrial(s, sample, label, NAN, err, errlen);
}

int rh_stream_beat_atrial(rh_stream *s, int64_t sample, char label, double pwave, char *err, size_t errlen)
{
    return rh_stream_beat_shape(s, sample, label, pwave, NAN, err, errlen);
}

int rh_stream_beat_shape(rh_stream *s, int64_t sample, char label, double pwave, double shape,
                         char *err, size_t errlen)
{
    if (s->finished) {
        snprintf(err, errlen, "rhythm analysis: beat at sample %lld after the end of the record",
                 (long long)sample);
        return -1;
    }
    if (!strchr("NSVFQ", label) || !label) {
        snprintf(err, errlen, "rhythm analysis: beat at sample %lld has label '%c', not one of N S V F Q",
                 (long long)sample, label);
        return -1;
    }
    if (sample < 0 || (s->have_any && sample <= s->last_any)) {
        snprintf(err, errlen, "rhythm analysis: beat at sample %lld is not after the previous beat (%lld)",
                 (long long)sample, (long long)(s->have_any ? s->last_any : 0));
        return -1;
    }
    s->have_any = 1;
    s->last_any = sample;
    if (sample < s->unread_end) return 0; /* inside an unreadable stretch: not to be trusted */
    if (sample > s->tr[TR_U].horizon) s->tr[TR_U].horizon = sample;
    int is_v = label == 'V';
    if (pattern_beat(s, &s->vrun, sample, is_v, shape) || pattern_beat(s, &s->big, sample, is_v, shape) ||
        pattern_beat(s, &s->trig, sample, is_v, shape) || fifo_push(&s->beats, &sample))
        return oom(err, errlen);
    if (s->have_beat) {
        int64_t rr = sample - s->last_beat;
        entry e = {s->cover_from, sample, ENT_RR, s->nvalid, is_v};
        s->rr[s->nvalid % RR_RING] = (double)rr;
        s->pw[s->nvalid % RR_RING] = pwave;
        s->vb[s->nvalid % RR_RING] = (unsigned char)is_v;
        s->nvalid++;
        s->cover_from = sample;
        s->any_rr = 1;
        if (fifo_push(&s->entries, &e)) return oom(err, errlen);
        if ((double)rr >= PAUSE_S * s->fs &&
            push_event(s, (double)rr >= ASYSTOLE_S * s->fs ? RH_ASYSTOLE : RH_PAUSE, s->last_beat,
                       sample, 2, 60.0 * s->fs / (double)rr, (double)rr / s->fs, 0.0))
            return oom(err, errlen);
    }
    s->have_beat = 1;
    s->last_beat = sample;
    if (decide(s) || combine(s, INT64_MAX)) return oom(err, errlen);
    return 0;
}

int rh_stream_unreadable(rh_stream *s, int64_t start, int64_t end, char *err, size_t errlen)
{
    if (s->finished || start < 0) {
        snprintf(err, errlen, "rhythm analysis: unreadable stretch [%lld, %lld) %s", (long long)start,
                 (long long)end, start < 0 ? "starts before the record" : "after the end of the record");
        return -1;
    }
    /* Beats already taken are trusted; the stretch starts after them and after the last one. */
    if (s->have_any && start <= s->last_any) start = s->last_any + 1;
    if (start < s->unread_end) start = s->unread_end;
    if (end <= start) return 0;
    entry copy = {s->cover_from, start, ENT_COPY, 0, 0}, gap = {start, end, ENT_GAP, 0, 0};
    if ((start > s->cover_from && fifo_push(&s->entries, &copy)) || fifo_push(&s->entries, &gap) ||
        rh_track_add(&s->tr[TR_U], start, end))
        return oom(err, errlen);
    s->tr[TR_U].horizon = end;
    s->cover_from = s->unread_end = end;
    s->have_beat = 0;
    if (pattern_break(s, &s->vrun, start, end) || pattern_break(s, &s->big, start, end) ||
        pattern_break(s, &s->trig, start, end) || decide(s) || combine(s, INT64_MAX))
        return oom(err, errlen);
    return 0;
}

void rh_stream_expect_vfl(rh_stream *s)
{
    if (s->have_any || s->vfl_expected || s->finished) return;
    s->vfl_expected = 1;
    s->tr[TR_VFL].horizon = 0;
}

void rh_stream_expect_afl(rh_stream *s)
{
    if (s->have_any || s->afl_expected || s->finished) return;
    s->afl_expected = 1;
    s->afl.horizon = 0;
}

int rh_stream_afl(rh_stream *s, int64_t start, int64_t end, int on, char *err, size_t errlen)
{
    if (!s->afl_expected || s->finished || start < s->afl_end || end < start) {
        snprintf(err, errlen, "rhythm analysis: atrial flutter verdict [%lld, %lld) %s", (long long)start,
                 (long long)end,
                 !s->afl_expected ? "without rh_stream_expect_afl"
                 : s->finished  ? "after the end of the record"
                                : "out of order");
        return -1;
    }
    s->afl_end = end;
    if (rh_hyst_feed(&s->h_afl, start, end, on) || combine(s, INT64_MAX)) return oom(err, errlen);
    return 0;
}

int rh_stream_vfl(rh_stream *s, int64_t start, int64_t end, int on, char *err, size_t errlen)
{
    if (!s->vfl_expected || s->finished || start < s->vfl_end || end < start) {
        snprintf(err, errlen, "rhythm analysis: flutter verdict [%lld, %lld) %s", (long long)start, (long long)end,
                 !s->vfl_expected ? "without rh_stream_expect_vfl"
                 : s->finished  ? "after the end of the record"
                                : "out of order");
        return -1;
    }
    s->vfl_end = end;
    if (rh_hyst_feed(&s->h_vfl, start, end, on) || combine(s, INT64_MAX)) return oom(err, errlen);
    return 0;
}

void rh_stream_finish(rh_stream *s, int64_t nsamples)
{
    if (s->finished) return;
    int64_t end = nsamples;
    if (s->have_any && end <= s->last_any) end = s->last_any + 1;
    if (end < s->unread_end) end = s->unread_end;
    entry copy = {s->cover_from, end, ENT_COPY, 0, 0};
    /* Out of memory here loses the tail's labels, never the order; the record is over anyway. */
    if (end > s->cover_from) (void)fifo_push(&s->entries, &copy);
    s->finished = 1;
    (void)decide(s);
    rh_hyst_finish(&s->h_af);
    /* Too short for an AF episode: the whole recording is AF or not. Nothing has been labelled
     * yet (every track's horizon lags by its minimum duration). */
    if (end < (int64_t)(AF_MIN_ON_S * s->fs) && s->done == 0 && s->tr[TR_AF].count == 0 && whole_record_af(s))
        (void)rh_track_add(&s->tr[TR_AF], 0, end); /* out of memory: the AF label is lost, nothing else */
    rh_hyst_finish(&s->h_sbr);
    rh_hyst_finish(&s->h_svta);
    rh_hyst_finish(&s->h_vfl);
    rh_hyst_finish(&s->h_afl);
    pattern *ps[3] = {&s->vrun, &s->big, &s->trig};
    for (int i = 0; i < 3; i++) {
        pattern *p = ps[i];
        (void)pattern_close(s, p, p->after_v >= 0 ? p->after_v : end);
        p->out->horizon = INT64_MAX;
    }
    s->tr[TR_U].horizon = INT64_MAX;
    (void)combine(s, end);
    (void)close_cur(s);
}

/* Beats of the combiner's backlog in [a, b), added to a running count, first and last. */
static void backlog_beats(const rh_stream *s, int64_t a, int64_t b, int64_t *nb, int64_t *first, int64_t *last)
{
    const int64_t *v = s->beats.v;
    for (size_t i = 0; i < s->beats.count; i++) {
        int64_t x = v[s->beats.head + i];
        if (x < a) continue;
        if (x >= b) break;
        if (!(*nb)++) *first = x;
        *last = x;
    }
}

size_t rh_stream_open_episodes(const rh_stream *s, int64_t now, rh_episode *out, size_t cap)
{
    size_t n = 0, at[NTRACKS] = {0}, at_afl = 0;
    rh_episode e;
    int have = 0;
    int64_t nb = 0, first = 0, last = 0, t = s->done;
    if (s->has_cur) {
        e = s->cur;
        e.end = s->done;
        nb = s->cur_nb;
        first = s->cur_first;
        last = s->cur_last;
        have = 1;
    }
    /* The combiner's own walk, over the spans each track has confirmed so far, without waiting
     * for the slower tracks' horizons and without consuming anything. */
    while (t < now) {
        int best = -1;
        int64_t next = now;
        for (int i = 0; i < NTRACKS; i++) {
            const rh_track *tr = &s->tr[i];
            while (at[i] < tr->count && tr->v[tr->head + at[i]].end <= t) at[i]++;
            if (at[i] == tr->count) continue;
            const rh_span *sp = &tr->v[tr->head + at[i]];
            if (sp->start <= t) {
                if (best < 0) best = i;
                if (sp->end < next) next = sp->end;
            } else if (sp->start < next) {
                next = sp->start;
            }
        }
        const char *label = best < 0 ? "N" : track_label[best];
        if (best == TR_AF) label = af_label(&s->afl, &at_afl, t, &next);
        if (!have || strcmp(e.label, label)) {
            if (have) {
                e.rate_bpm = run_rate(s, (int)nb, first, last);
                if (n < cap) out[n] = e;
                n++;
            }
            memset(&e, 0, sizeof e);
            snprintf(e.label, sizeof e.label, "%s", label);
            e.start = t;
            nb = 0;
            have = 1;
        }
        backlog_beats(s, t, next, &nb, &first, &last);
        e.end = next;
        t = next;
    }
    if (have) {
        e.rate_bpm = run_rate(s, (int)nb, first, last);
        if (n < cap) out[n] = e;
        n++;
    }
    return n;
}

int rh_stream_next_episode(rh_stream *s, rh_episode *out)
{
    rh_episode *e = fifo_front(&s->episodes);
    if (!e) return 0;
    *out = *e;
    fifo_pop(&s->episodes);
    return 1;
}

int rh_stream_next_event(rh_stream *s, rh_event *out)
{
    rh_event *e = fifo_front(&s->events);
    if (!e) return 0;
    *out = *e;
    fifo_pop(&s->events);
    return 1;
}

/* ---- scoring ---- */

static int label_is_vfl(const char *label)
{
    return !strcmp(label, "VFL");
}

/* The next episode the predicate takes at or after index *i, clipped to [from, to); 0 when
 * there is none. */
static int next_of(int (*is)(const char *), const rh_episode *v, size_t n, size_t *i, int64_t from, int64_t to,
                   int64_t *a, int64_t *b)
{
    for (; *i < n; (*i)++) {
        if (!is(v[*i].label)) continue;
        *a = v[*i].start > from ? v[*i].start : from;
        *b = v[*i].end < to ? v[*i].end : to;
        if (*b > *a) return 1;
    }
    return 0;
}

static void compare(int (*is)(const char *), const rh_episode *ref, size_t nref, const rh_episode *test,
                    size_t ntest, int64_t from, int64_t to, int64_t *tp, int64_t *fn, int64_t *fp)
{
    int64_t ref_total = 0, test_total = 0, both = 0, a, b;
    for (size_t i = 0; next_of(is, ref, nref, &i, from, to, &a, &b); i++) ref_total += b - a;
    for (size_t i = 0; next_of(is, test, ntest, &i, from, to, &a, &b); i++) test_total += b - a;
    size_t i = 0, j = 0;
    int64_t ra, rb, ta, tb;
    int hr = next_of(is, ref, nref, &i, from, to, &ra, &rb), ht = next_of(is, test, ntest, &j, from, to, &ta, &tb);
    while (hr && ht) {
        int64_t lo = ra > ta ? ra : ta, hi = rb < tb ? rb : tb;
        if (hi > lo) both += hi - lo;
        if (rb <= tb) {
            i++;
            hr = next_of(is, ref, nref, &i, from, to, &ra, &rb);
        } else {
            j++;
            ht = next_of(is, test, ntest, &j, from, to, &ta, &tb);
        }
    }
    *tp += both;
    *fn += ref_total - both;
    *fp += test_total - both;
}

void rh_compare_af(const rh_episode *ref, size_t nref, const rh_episode *test, size_t ntest,
                   int64_t from, int64_t to, int64_t *tp, int64_t *fn, int64_t *fp)
{
    compare(rh_label_is_af, ref, nref, test, ntest, from, to, tp, fn, fp);
}

void rh_compare_vfl(const rh_episode *ref, size_t nref, const rh_episode *test, size_t ntest,
                    int64_t from, int64_t to, int64_t *tp, int64_t *fn, int64_t *fp)
{
    compare(label_is_vfl, ref, nref, test, ntest, from, to, tp, fn, fp);
}
