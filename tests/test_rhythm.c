/* test_rhythm.c — specification of rhythm analysis: episodes and events from synthetic beat
 * sequences, threshold edges, streaming, AF scoring, AF on the MIT-BIH AF records, and
 * ventricular flutter from the signal (synthetic, and MIT-BIH 207). */
#include "check.h"

#include "annot.h"
#include "rhythm.h"
#include "rhythm_pwave.h"
#include "rhythm_ref.h"
#include "rhythm_score.h"
#include "rhythm_vf.h"
#include "synth.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#include <stdint.h>

#define FS 250.0
#define MAXB 20000
#define MAXE 1024

/* Boundary tolerances, seconds: beat-pattern rhythms (runs, bigeminy, pauses, unreadable) are
 * exact to the beat; rate episodes are judged on a median of 9 intervals (4 beats either side);
 * AF on a 64-interval window centred on each interval. */
#define TOL_BEAT_S 0.01
#define TOL_RATE_S 5.0
#define TOL_AF_S 20.0

typedef struct {
    int64_t s[MAXB];
    char l[MAXB];
    size_t n;
    double t; /* seconds of the last beat */
} seq;

typedef struct {
    rh_episode ep[MAXE];
    size_t nep;
    rh_event ev[MAXE];
    size_t nev;
} result;

typedef struct {
    int64_t start, end;
} span;

static uint32_t rng_state;
static double uniform(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (double)(rng_state >> 8) / 16777216.0;
}

static void beat(seq *q, double rr_s, char label)
{
    q->t += rr_s;
    q->s[q->n] = (int64_t)(q->t * FS + 0.5);
    q->l[q->n++] = label;
}

/* Regular beats at bpm for dur seconds. */
static void regular(seq *q, double bpm, double dur, char label)
{
    for (double end = q->t + dur; q->t + 60.0 / bpm <= end + 1e-9;) beat(q, 60.0 / bpm, label);
}

/* AF-like: intervals uniform in [0.4, 1.0] s (mean 0.7 s, CV 0.25) for dur seconds. */
static void fibrillation(seq *q, double dur)
{
    for (double end = q->t + dur; q->t < end;) beat(q, 0.4 + 0.6 * uniform(), 'N');
}

static void drain(rh_stream *rs, result *r)
{
    while (r->nep < MAXE && rh_stream_next_episode(rs, &r->ep[r->nep])) r->nep++;
    while (r->nev < MAXE && rh_stream_next_event(rs, &r->ev[r->nev])) r->nev++;
}

/* Feeds the beats (and unreadable stretches, in time order) to a new analyser, draining its
 * output after every beat (drain_each) or only at the end. Returns 0, or -1 on an error. */
static int analyse(const seq *q, double end_s, const span *un, size_t nun, int drain_each, result *r)
{
    char err[256];
    memset(r, 0, sizeof *r);
    rh_stream *rs = rh_stream_create(FS, err, sizeof err);
    if (!rs) return -1;
    size_t u = 0;
    for (size_t i = 0; i < q->n; i++) {
        while (u < nun && un[u].start <= q->s[i])
            if (rh_stream_unreadable(rs, un[u].start, un[u].end, err, sizeof err) || (u++, 0)) goto fail;
        if (rh_stream_beat(rs, q->s[i], q->l[i], err, sizeof err)) goto fail;
        if (drain_each) drain(rs, r);
    }
    for (; u < nun; u++)
        if (rh_stream_unreadable(rs, un[u].start, un[u].end, err, sizeof err)) goto fail;
    rh_stream_finish(rs, (int64_t)(end_s * FS));
    drain(rs, r);
    rh_stream_free(rs);
    return 0;
fail:
    fprintf(stderr, "%s\n", err);
    rh_stream_free(rs);
    return -1;
}

/* Episodes are sorted, contiguous, non-empty, and cover [0, end). */
static void check_cover(const result *r, double end_s, const char *what)
{
    CHECK(r->nep > 0, "%s: no episodes", what);
    if (!r->nep) return;
    CHECK(r->ep[0].start == 0, "%s: first episode starts at %lld", what, (long long)r->ep[0].start);
    for (size_t i = 0; i < r->nep; i++) {
        CHECK(r->ep[i].end > r->ep[i].start, "%s: episode %zu is empty", what, i);
        if (i) CHECK(r->ep[i].start == r->ep[i - 1].end, "%s: episode %zu starts at %lld, the one before ends at %lld",
                     what, i, (long long)r->ep[i].start, (long long)r->ep[i - 1].end);
        if (i) CHECK(strcmp(r->ep[i].label, r->ep[i - 1].label), "%s: episodes %zu and %zu both %s", what,
                     i - 1, i, r->ep[i].label);
    }
    CHECK(r->ep[r->nep - 1].end == (int64_t)(end_s * FS), "%s: last episode ends at %lld", what,
          (long long)r->ep[r->nep - 1].end);
}

/* Seconds labelled `label` in the result. */
static double seconds_of(const result *r, const char *label)
{
    double s = 0;
    for (size_t i = 0; i < r->nep; i++)
        if (!strcmp(r->ep[i].label, label)) s += (double)(r->ep[i].end - r->ep[i].start) / FS;
    return s;
}

/* The only episode labelled `label`, or NULL (and a failed check) when there is not exactly one. */
static const rh_episode *only(const result *r, const char *label, const char *what)
{
    const rh_episode *e = NULL;
    int n = 0;
    for (size_t i = 0; i < r->nep; i++)
        if (!strcmp(r->ep[i].label, label)) {
            e = &r->ep[i];
            n++;
        }
    CHECK(n == 1, "%s: %d episodes %s, want 1", what, n, label);
    return n == 1 ? e : NULL;
}

static int count_events(const result *r, rh_event_type t)
{
    int n = 0;
    for (size_t i = 0; i < r->nev; i++) n += r->ev[i].type == t;
    return n;
}

static void one_label(const seq *q, double end_s, const char *label, double bpm, const char *what)
{
    result r;
    CHECK(analyse(q, end_s, NULL, 0, 1, &r) == 0, "%s: analysis failed", what);
    check_cover(&r, end_s, what);
    CHECK(r.nep == 1 && !strcmp(r.ep[0].label, label), "%s: %zu episodes, first %s, want one %s", what, r.nep,
          r.nep ? r.ep[0].label : "-", label);
    if (r.nep) CHECK_NEAR(r.ep[0].rate_bpm, bpm, 0.5, what);
}

static void regular_75_bpm_is_one_sinus_episode_over_the_whole_record(void)
{
    static seq q;
    memset(&q, 0, sizeof q);
    regular(&q, 75, 120, 'N');
    one_label(&q, 121, "N", 75, "75 bpm");
}

static void rate_below_60_is_bradycardia_and_61_is_not(void)
{
    static seq q;
    memset(&q, 0, sizeof q);
    regular(&q, 50, 120, 'N');
    one_label(&q, 121, "SBR", 50, "50 bpm");
    memset(&q, 0, sizeof q);
    regular(&q, 59, 120, 'N');
    one_label(&q, 121, "SBR", 59, "59 bpm");
    memset(&q, 0, sizeof q);
    regular(&q, 61, 120, 'N');
    one_label(&q, 121, "N", 61, "61 bpm");
}

static void sustained_narrow_tachycardia_above_100_is_svta_and_99_is_not(void)
{
    static seq q;
    memset(&q, 0, sizeof q);
    regular(&q, 120, 120, 'N');
    one_label(&q, 121, "SVTA", 120, "120 bpm");
    memset(&q, 0, sizeof q);
    regular(&q, 101, 120, 'N');
    one_label(&q, 121, "SVTA", 101, "101 bpm");
    memset(&q, 0, sizeof q);
    regular(&q, 99, 120, 'N');
    one_label(&q, 121, "N", 99, "99 bpm");
}

static void a_rate_episode_needs_10_s_and_its_boundaries_are_within_tolerance(void)
{
    static seq q;
    result r;
    memset(&q, 0, sizeof q);
    regular(&q, 75, 60, 'N');
    regular(&q, 120, 30, 'N'); /* 60 .. 90 s */
    regular(&q, 75, 60, 'N');
    regular(&q, 120, 8, 'N');  /* too short */
    regular(&q, 75, 60, 'N');
    CHECK(analyse(&q, q.t + 1, NULL, 0, 1, &r) == 0, "analysis failed");
    check_cover(&r, q.t + 1, "75/120/75/120 bpm");
    const rh_episode *e = only(&r, "SVTA", "30 s and 8 s at 120 bpm");
    if (e) {
        CHECK_NEAR((double)e->start / FS, 60.0, TOL_RATE_S, "tachycardia onset, s");
        CHECK_NEAR((double)e->end / FS, 90.0, TOL_RATE_S, "tachycardia end, s");
        CHECK_NEAR(e->rate_bpm, 120, 3, "tachycardia rate");
    }
}

static void irregular_rr_from_a_random_distribution_is_af_with_boundaries_within_tolerance(void)
{
    static seq q;
    result r;
    for (uint32_t seed = 1; seed <= 3; seed++) {
        rng_state = seed;
        memset(&q, 0, sizeof q);
        regular(&q, 70, 120, 'N');
        double on = q.t;
        fibrillation(&q, 300);
        double off = q.t;
        regular(&q, 70, 120, 'N');
        CHECK(analyse(&q, q.t + 1, NULL, 0, 1, &r) == 0, "analysis failed");
        check_cover(&r, q.t + 1, "sinus, AF, sinus");
        const rh_episode *e = only(&r, "AFIB", "5 minutes of AF");
        if (e) {
            CHECK(fabs((double)e->start / FS - on) <= TOL_AF_S, "seed %u: AF onset %.1f s, truth %.1f s", seed,
                  (double)e->start / FS, on);
            CHECK(fabs((double)e->end / FS - off) <= TOL_AF_S, "seed %u: AF end %.1f s, truth %.1f s", seed,
                  (double)e->end / FS, off);
            CHECK(e->rate_bpm > 80 && e->rate_bpm < 92, "seed %u: AF rate %.1f bpm, the mean RR is 0.7 s", seed,
                  e->rate_bpm);
        }
    }
}

static void af_shorter_than_30_s_is_no_episode(void)
{
    static seq q;
    result r;
    rng_state = 7;
    memset(&q, 0, sizeof q);
    regular(&q, 70, 120, 'N');
    fibrillation(&q, 20);
    regular(&q, 70, 120, 'N');
    CHECK(analyse(&q, q.t + 1, NULL, 0, 1, &r) == 0, "analysis failed");
    CHECK(seconds_of(&r, "AFIB") == 0, "20 s of AF gave %.1f s of AFIB", seconds_of(&r, "AFIB"));
}

static void a_pause_is_an_rr_of_2_s_and_asystole_one_of_4_s(void)
{
    const double rrs[] = {1.9, 2.1, 3.0, 4.5};
    const int pauses[] = {0, 1, 1, 0}, asys[] = {0, 0, 0, 1};
    for (size_t k = 0; k < 4; k++) {
        static seq q;
        result r;
        memset(&q, 0, sizeof q);
        regular(&q, 75, 30, 'N');
        int64_t before = q.s[q.n - 1];
        beat(&q, rrs[k], 'N');
        regular(&q, 75, 30, 'N');
        CHECK(analyse(&q, q.t + 1, NULL, 0, 1, &r) == 0, "analysis failed");
        CHECK(count_events(&r, RH_PAUSE) == pauses[k] && count_events(&r, RH_ASYSTOLE) == asys[k],
              "RR %.1f s: %d pauses, %d asystoles, want %d and %d", rrs[k], count_events(&r, RH_PAUSE),
              count_events(&r, RH_ASYSTOLE), pauses[k], asys[k]);
        if (r.nev == 1) {
            CHECK(r.ev[0].start == before, "RR %.1f s: event starts at %lld, the beat before is at %lld", rrs[k],
                  (long long)r.ev[0].start, (long long)before);
            CHECK_NEAR(r.ev[0].longest_rr_s, rrs[k], 0.01, "the pause's RR, s");
        }
        check_cover(&r, q.t + 1, "pause");
    }
}

static void n_v_bigeminy_of_3_cycles_is_an_episode_b_and_of_2_is_not(void)
{
    for (int cycles = 2; cycles <= 10; cycles += 8) {
        static seq q;
        result r;
        memset(&q, 0, sizeof q);
        regular(&q, 75, 60, 'N');
        double start = q.t;
        for (int c = 0; c < cycles; c++) {
            beat(&q, 0.5, 'V');
            beat(&q, 1.1, 'N');
        }
        double end = q.t; /* the N after the last V */
        regular(&q, 75, 60, 'N');
        CHECK(analyse(&q, q.t + 1, NULL, 0, 1, &r) == 0, "analysis failed");
        check_cover(&r, q.t + 1, "bigeminy");
        if (cycles < 3) {
            CHECK(seconds_of(&r, "B") == 0, "%d cycles gave %.1f s of bigeminy", cycles, seconds_of(&r, "B"));
            continue;
        }
        const rh_episode *e = only(&r, "B", "10 cycles of N V");
        if (e) {
            CHECK_NEAR((double)e->start / FS, start, TOL_BEAT_S, "bigeminy starts at the N before the first V, s");
            CHECK_NEAR((double)e->end / FS, end, TOL_BEAT_S, "bigeminy ends at the N after the last V, s");
        }
        CHECK(seconds_of(&r, "AFIB") == 0, "bigeminy is not AF");
    }
}

static void n_n_v_trigeminy_of_3_cycles_is_an_episode_t(void)
{
    static seq q;
    result r;
    memset(&q, 0, sizeof q);
    regular(&q, 75, 60, 'N');
    double start = q.t;
    for (int c = 0; c < 6; c++) {
        beat(&q, 0.5, 'V');
        beat(&q, 1.1, 'N');
        beat(&q, 0.8, 'N');
    }
    regular(&q, 75, 60, 'N');
    CHECK(analyse(&q, q.t + 1, NULL, 0, 1, &r) == 0, "analysis failed");
    check_cover(&r, q.t + 1, "trigeminy");
    const rh_episode *e = only(&r, "T", "6 cycles of N N V");
    /* The first cycle starts at the first of its two sinus beats. */
    if (e) CHECK_NEAR((double)e->start / FS, start - 60.0 / 75, TOL_BEAT_S, "trigeminy start, s");
    CHECK(seconds_of(&r, "B") == 0, "trigeminy is not bigeminy");
}

/* 75 bpm with nv consecutive V beats at vbpm in the middle; returns the result. */
static void v_run(int nv, double vbpm, result *r)
{
    static seq q;
    memset(&q, 0, sizeof q);
    regular(&q, 75, 60, 'N');
    for (int i = 0; i < nv; i++) beat(&q, 60.0 / vbpm, 'V');
    beat(&q, 1.2, 'N');
    regular(&q, 75, 60, 'N');
    CHECK(analyse(&q, q.t + 1, NULL, 0, 1, r) == 0, "analysis failed");
    check_cover(r, q.t + 1, "V run");
}

static void two_consecutive_v_are_a_couplet_and_three_a_run(void)
{
    result r;
    v_run(1, 150, &r);
    CHECK(r.nev == 0, "one V: %zu events", r.nev);
    v_run(2, 150, &r);
    CHECK(r.nev == 1 && r.ev[0].type == RH_COUPLET && r.ev[0].nbeats == 2, "two V: %zu events, first type %d",
          r.nev, r.nev ? (int)r.ev[0].type : -1);
    v_run(3, 150, &r);
    CHECK(r.nev == 1 && r.ev[0].type == RH_VT_RUN && r.ev[0].nbeats == 3, "three V at 150: %zu events, type %d",
          r.nev, r.nev ? (int)r.ev[0].type : -1);
}

static void a_run_of_5_v_at_150_bpm_is_a_vt_run_event_but_no_vt_episode(void)
{
    result r;
    v_run(5, 150, &r);
    CHECK(r.nev == 1 && r.ev[0].type == RH_VT_RUN, "%zu events", r.nev);
    if (r.nev) {
        CHECK(r.ev[0].nbeats == 5, "%d beats", r.ev[0].nbeats);
        CHECK_NEAR(r.ev[0].rate_bpm, 150, 1, "run rate");
        CHECK_NEAR((double)r.ev[0].start / FS, 60 + 0.4, TOL_BEAT_S, "run start, s");
    }
    CHECK(seconds_of(&r, "VT") == 0, "5 beats of VT are no sustained VT");
}

/* A run of nv V beats at 200 bpm amid sinus rhythm, every beat's QRS correlating `shape` with
 * the one before it except the V beats listed in `odd` (indices into the run), whose correlation
 * is odd_shape; the run's event. */
static rh_event shaped_run(int nv, double shape, const int *odd, int nodd, double odd_shape, size_t *nev)
{
    char err[256];
    rh_event ev;
    memset(&ev, 0, sizeof ev);
    *nev = 0;
    rh_stream *rs = rh_stream_create(FS, err, sizeof err);
    CHECK(rs != NULL, "%s", err);
    if (!rs) return ev;
    double t = 0;
    int ok = 1;
    for (int i = 0; i < 40 && ok; i++, t += 0.8)
        ok = !rh_stream_beat_shape(rs, (int64_t)(t * FS), 'N', NAN, 0.98, err, sizeof err);
    for (int i = 0; i < nv && ok; i++, t += 0.3) {
        double c = i == 0 ? 0.2 : shape; /* the first V is unlike the sinus beat before it */
        for (int k = 0; k < nodd; k++)
            if (odd[k] == i) c = odd_shape;
        ok = !rh_stream_beat_shape(rs, (int64_t)(t * FS), 'V', NAN, c, err, sizeof err);
    }
    for (int i = 0; i < 40 && ok; i++, t += 0.8)
        ok = !rh_stream_beat_shape(rs, (int64_t)((t + 0.5) * FS), 'N', NAN, i ? 0.98 : 0.2, err, sizeof err);
    CHECK(ok, "%s", err);
    rh_stream_finish(rs, (int64_t)((t + 1) * FS));
    rh_event e;
    while (rh_stream_next_event(rs, &e))
        if (e.type == RH_VT_RUN) {
            ev = e;
            (*nev)++;
        }
    rh_stream_free(rs);
    return ev;
}

static void a_vt_run_whose_qrs_changes_beat_to_beat_is_polymorphic_and_one_of_one_shape_is_not(void)
{
    size_t n;
    int every[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, half[] = {1, 3, 5, 7, 9, 11};
    rh_event e = shaped_run(12, 0.95, NULL, 0, 0, &n);
    CHECK(n == 1 && e.nbeats == 12 && e.polymorphism == 0.0, "monomorphic: %zu runs, polymorphism %g", n, e.polymorphism);
    e = shaped_run(12, 0.95, every, 11, 0.4, &n);
    CHECK(n == 1 && e.polymorphism == 1.0, "every beat another shape: polymorphism %g", e.polymorphism);
    /* On both sides of RH_POLY_CORR: 0.69 differs, 0.70 does not. */
    e = shaped_run(12, 0.95, every, 11, RH_POLY_CORR - 0.01, &n);
    CHECK(n == 1 && e.polymorphism == 1.0, "correlation just under the threshold: %g", e.polymorphism);
    e = shaped_run(12, 0.95, every, 11, RH_POLY_CORR, &n);
    CHECK(n == 1 && e.polymorphism == 0.0, "correlation at the threshold: %g", e.polymorphism);
    e = shaped_run(12, 0.95, half, 6, 0.3, &n);
    CHECK(n == 1 && fabs(e.polymorphism - 6.0 / 11.0) < 1e-9, "6 of 11 pairs differ: %g", e.polymorphism);
    /* Too short to judge: 4 V beats give 3 pairs (RH_POLY_MIN_PAIRS is 4); 5 give 4. */
    e = shaped_run(4, 0.3, NULL, 0, 0, &n);
    CHECK(n == 1 && e.polymorphism == 0.0, "4 beats are not judged: %g", e.polymorphism);
    e = shaped_run(5, 0.3, NULL, 0, 0, &n);
    CHECK(n == 1 && e.polymorphism == 1.0, "5 beats are: %g", e.polymorphism);
    /* Unknown shapes (rh_stream_beat) never make a run polymorphic. */
    e = shaped_run(12, NAN, NULL, 0, 0, &n);
    CHECK(n == 1 && e.polymorphism == 0.0, "no shapes: %g", e.polymorphism);
}

static void three_v_at_99_bpm_are_a_triplet_and_at_101_a_vt_run(void)
{
    result r;
    v_run(3, 99, &r);
    CHECK(r.nev == 1 && r.ev[0].type == RH_TRIPLET, "99 bpm: type %d", r.nev ? (int)r.ev[0].type : -1);
    v_run(3, 101, &r);
    CHECK(r.nev == 1 && r.ev[0].type == RH_VT_RUN, "101 bpm: type %d", r.nev ? (int)r.ev[0].type : -1);
}

static void vt_of_31_s_or_35_s_is_a_vt_episode_and_of_29_s_is_not(void)
{
    const double durs[] = {29, 31, 35};
    for (int k = 0; k < 3; k++) {
        result r;
        int nv = (int)(durs[k] * 150 / 60) + 1; /* first to last V lasts durs[k] */
        v_run(nv, 150, &r);
        CHECK(count_events(&r, RH_VT_RUN) == 1, "%.0f s: %d VT runs", durs[k], count_events(&r, RH_VT_RUN));
        if (durs[k] < 30) {
            CHECK(seconds_of(&r, "VT") == 0, "%.0f s of VT gave a VT episode", durs[k]);
            CHECK(seconds_of(&r, "SVTA") == 0, "V beats are no SVTA");
            continue;
        }
        const rh_episode *e = only(&r, "VT", "sustained VT");
        if (e) {
            CHECK_NEAR((double)e->start / FS, 60.4, TOL_BEAT_S, "VT start, s");
            CHECK_NEAR((double)(e->end - e->start) / FS, durs[k] + 1.2, TOL_BEAT_S + 0.4,
                       "VT lasts to the beat after the last V, s");
            CHECK_NEAR(e->rate_bpm, 150, 3, "VT rate");
        }
    }
}

static void unreadable_stretches_are_episodes_u_and_end_runs(void)
{
    static seq q;
    result r;
    memset(&q, 0, sizeof q);
    regular(&q, 75, 60, 'N');
    beat(&q, 0.4, 'V');
    beat(&q, 0.4, 'V');
    q.t = 70; /* nothing from 60.8 to 70 s */
    regular(&q, 75, 60, 'N');
    span un = {(int64_t)(61 * FS), (int64_t)(69.5 * FS)};
    CHECK(analyse(&q, q.t + 1, &un, 1, 1, &r) == 0, "analysis failed");
    check_cover(&r, q.t + 1, "unreadable");
    const rh_episode *e = only(&r, "U", "one unreadable stretch");
    if (e) CHECK(e->start == un.start && e->end == un.end, "U is [%lld, %lld), want [%lld, %lld)",
                 (long long)e->start, (long long)e->end, (long long)un.start, (long long)un.end);
    CHECK(count_events(&r, RH_COUPLET) == 1, "the two V before the stretch are a couplet");
    CHECK(count_events(&r, RH_PAUSE) + count_events(&r, RH_ASYSTOLE) == 0,
          "no pause across an unreadable stretch (%zu events)", r.nev);
}

static void results_do_not_depend_on_when_the_output_is_read_and_arrive_with_bounded_delay(void)
{
    static seq q;
    result each, end;
    rng_state = 11;
    memset(&q, 0, sizeof q);
    regular(&q, 70, 120, 'N');
    fibrillation(&q, 240);
    regular(&q, 50, 60, 'N');
    for (int c = 0; c < 5; c++) {
        beat(&q, 0.5, 'V');
        beat(&q, 1.1, 'N');
    }
    regular(&q, 75, 600, 'N');
    span un = {(int64_t)(q.t - 100) * (int64_t)FS, (int64_t)(q.t - 95) * (int64_t)FS};
    CHECK(analyse(&q, q.t + 1, &un, 1, 1, &each) == 0, "analysis failed");
    CHECK(analyse(&q, q.t + 1, &un, 1, 0, &end) == 0, "analysis failed");
    CHECK(each.nep == end.nep && each.nev == end.nev, "%zu/%zu episodes, %zu/%zu events", each.nep, end.nep,
          each.nev, end.nev);
    CHECK(!memcmp(each.ep, end.ep, each.nep * sizeof *each.ep), "episodes differ");
    CHECK(!memcmp(each.ev, end.ev, each.nev * sizeof *each.ev), "events differ");

    /* The AF episode closes while the record goes on: pop it within 2 minutes of its end. */
    char err[256];
    rh_stream *rs = rh_stream_create(FS, err, sizeof err);
    int64_t af_end = -1, seen_at = -1;
    rh_episode e;
    for (size_t i = 0; rs && i < q.n && seen_at < 0; i++) {
        CHECK(rh_stream_beat(rs, q.s[i], q.l[i], err, sizeof err) == 0, "%s", err);
        while (rh_stream_next_episode(rs, &e))
            if (!strcmp(e.label, "AFIB")) {
                af_end = e.end;
                seen_at = q.s[i];
            }
    }
    CHECK(seen_at >= 0 && seen_at - af_end <= (int64_t)(120 * FS), "AF ending at %.1f s popped at %.1f s",
          (double)af_end / FS, (double)seen_at / FS);
    rh_stream_free(rs);
}

static void bad_input_is_an_error_with_a_message(void)
{
    char err[256] = "";
    CHECK(rh_stream_create(0, err, sizeof err) == NULL && strstr(err, "sample rate"), "fs 0: '%s'", err);
    rh_stream *rs = rh_stream_create(FS, err, sizeof err);
    CHECK(rs != NULL, "create");
    if (!rs) return;
    CHECK(rh_stream_beat(rs, 1000, 'N', err, sizeof err) == 0, "first beat");
    err[0] = 0;
    CHECK(rh_stream_beat(rs, 900, 'N', err, sizeof err) == -1 && strstr(err, "900"), "beat out of order: '%s'",
          err);
    err[0] = 0;
    CHECK(rh_stream_beat(rs, 1200, 'X', err, sizeof err) == -1 && strstr(err, "'X'"), "unknown label: '%s'", err);
    rh_stream_finish(rs, 2000);
    err[0] = 0;
    CHECK(rh_stream_beat(rs, 2100, 'N', err, sizeof err) == -1 && strstr(err, "after the end"),
          "beat after finish: '%s'", err);
    rh_stream_free(rs);
}

static void af_comparison_counts_samples_both_only_reference_and_only_test(void)
{
    const rh_episode ref[] = {{"N", 0, 100, 0}, {"AFIB", 100, 300, 0}, {"N", 300, 400, 0}, {"AFL", 400, 500, 0}};
    const rh_episode test[] = {{"N", 0, 150, 0}, {"AFIB", 150, 350, 0}, {"SVTA", 350, 450, 0}, {"AFIB", 450, 600, 0}};
    int64_t tp = 0, fn = 0, fp = 0;
    rh_compare_af(ref, 4, test, 4, 0, 600, &tp, &fn, &fp);
    /* AF: ref [100,300)+[400,500); test [150,350)+[450,600). Both: [150,300)+[450,500). */
    CHECK(tp == 200 && fn == 100 && fp == 150, "TP %lld FN %lld FP %lld, want 200 100 150", (long long)tp,
          (long long)fn, (long long)fp);
    tp = fn = fp = 0;
    rh_compare_af(ref, 4, test, 4, 200, 480, &tp, &fn, &fp);
    /* Over [200, 480): ref [200,300)+[400,480); test [200,350)+[450,480); both [200,300)+[450,480). */
    CHECK(tp == 130 && fn == 50 && fp == 50, "from/to: TP %lld FN %lld FP %lld, want 130 50 50", (long long)tp,
          (long long)fn, (long long)fp);
    rh_compare_af(ref, 4, NULL, 0, 0, 600, &tp, &fn, &fp);
    CHECK(tp == 130 && fn == 50 + 300 && fp == 50, "counts add up: TP %lld FN %lld FP %lld", (long long)tp,
          (long long)fn, (long long)fp);
}

static void reference_episodes_come_from_rhythm_annotations_and_flutter_brackets(void)
{
    fmt_annot a[5];
    memset(a, 0, sizeof a);
    a[0] = (fmt_annot){.sample = 10, .code = 28, .aux = "(N"};
    a[1] = (fmt_annot){.sample = 100, .code = 28, .aux = "(AFIB"};
    a[2] = (fmt_annot){.sample = 150, .code = 32};
    a[3] = (fmt_annot){.sample = 170, .code = 33};
    a[4] = (fmt_annot){.sample = 200, .code = 28, .aux = "(AFL"};
    fmt_annot_list list = {a, 5};
    rh_episode *ep = NULL;
    size_t n = 0;
    char err[256];
    CHECK(rh_reference_episodes(&list, 300, "test", &ep, &n, err, sizeof err) == 0, "%s", err);
    const char *labels[] = {"N", "AFIB", "VFL", "AFIB", "AFL"};
    const int64_t starts[] = {10, 100, 150, 170, 200};
    CHECK(n == 5, "%zu episodes", n);
    for (size_t i = 0; i < n && i < 5; i++)
        CHECK(!strcmp(ep[i].label, labels[i]) && ep[i].start == starts[i] &&
                  ep[i].end == (i + 1 < 5 ? starts[i + 1] : 300),
              "episode %zu: %s [%lld, %lld)", i, ep[i].label, (long long)ep[i].start, (long long)ep[i].end);
    free(ep);
}

/* AF found on the MIT-BIH records with AF or flutter, from the project's own beat detection,
 * duration-weighted over whole records; floors a little below what was measured: RR intervals
 * alone Se 97.17 %, +P 85.30 %; with the beat-by-beat P-wave veto and the default beat model's
 * labels Se 95.41 %, +P 95.29 % (the floors are issue #3's targets, 95 and 95). */
static void af_on_the_mitdb_af_records_meets_the_floors(void)
{
    const char *names[] = {"201", "202", "203", "210", "219", "221", "222"};
    const double min_se[2] = {96.5, 95.0}, min_ppv[2] = {84.0, 95.0};
    /* With P waves, the beats are labelled as ecgnet eval --rhythm and analyze label them. */
    bc_model *model = NULL;
    char merr[1024] = "";
    CHECK(bc_model_load(NULL, &model, merr, sizeof merr) == 0, "the default beat model: %s", merr);
    for (int atrial = 0; atrial <= 1; atrial++) {
        double tp = 0, fn = 0, fp = 0;
        for (size_t k = 0; k < 7; k++) {
            char path[1024], rel[64], err[512] = "";
            rh_af_score sc;
            snprintf(rel, sizeof rel, "mitdb/%s", names[k]);
            int rc = rh_score_af_record(check_data_path(path, sizeof path, rel), atrial, atrial ? model : NULL, &sc,
                                        err, sizeof err);
            CHECK(rc == 0, "record %s: %s", names[k], err);
            if (rc) continue;
            tp += (double)sc.tp / sc.fs;
            fn += (double)sc.fn / sc.fs;
            fp += (double)sc.fp / sc.fs;
        }
        double se = 100 * tp / (tp + fn), ppv = 100 * tp / (tp + fp);
        fprintf(stderr, "  %s: pooled AF Se %.2f %%, +P %.2f %% (%.0f s of reference AF)\n",
                atrial ? "RR and P waves" : "RR alone", se, ppv, tp + fn);
        CHECK(tp + fn > 8000, "reference AF %.0f s: the 7 records hold about 8490 s", tp + fn);
        CHECK(se >= min_se[atrial], "%s: pooled AF Se %.2f %%", atrial ? "with P waves" : "RR alone", se);
        CHECK(ppv >= min_ppv[atrial], "%s: pooled AF +P %.2f %%", atrial ? "with P waves" : "RR alone", ppv);
    }
    if (model) { /* beat classes need the filtered signal that RR-only scoring leaves out */
        char err[512] = "";
        rh_af_score sc;
        CHECK(rh_score_af_record("mitdb/202", 0, model, &sc, err, sizeof err) == -1 && strstr(err, "mitdb/202") &&
                  strstr(err, "filtered signal"),
              "beat classes without the filter chain: '%s'", err);
    }
    bc_model_free(model);
}

/* Irregular RR intervals between 4 minutes of sinus rhythm, each beat with P-wave correlation p. */
/* Feeds the beats of q, each with P-wave correlation p, to a new analyser ending at end_s; its
 * output in *r. */
static void analyse_atrial(const seq *q, double end_s, double p, result *r)
{
    char err[256];
    memset(r, 0, sizeof *r);
    rh_stream *rs = rh_stream_create(FS, err, sizeof err);
    for (size_t i = 0; rs && i < q->n; i++)
        CHECK(rh_stream_beat_atrial(rs, q->s[i], 'N', p, err, sizeof err) == 0, "%s", err);
    if (rs) rh_stream_finish(rs, (int64_t)(end_s * FS));
    if (rs) drain(rs, r);
    rh_stream_free(rs);
}

static double af_seconds_with_p_waves(double p)
{
    static seq q;
    rng_state = 5;
    memset(&q, 0, sizeof q);
    regular(&q, 70, 120, 'N');
    fibrillation(&q, 240);
    regular(&q, 70, 120, 'N');
    static result r;
    analyse_atrial(&q, q.t + 1, p, &r);
    return seconds_of(&r, "AFIB");
}

/* A resting recording of `dur` seconds: AF-like intervals (or regular ones at 75/min), each beat
 * with P-wave correlation p; returns the AFIB seconds and the number of episodes in *neps. */
static double resting_af_seconds(double dur, int irregular, double p, int *neps)
{
    static seq q;
    rng_state = 11;
    memset(&q, 0, sizeof q);
    if (irregular) fibrillation(&q, dur - 1.0);
    else regular(&q, 75, dur - 1.0, 'N');
    static result r;
    analyse_atrial(&q, dur, p, &r);
    *neps = (int)r.nep;
    return seconds_of(&r, "AFIB");
}

static void a_resting_ecg_with_irregular_rr_and_no_p_waves_is_afib_throughout(void)
{
    int neps;
    double s = resting_af_seconds(10.0, 1, NAN, &neps);
    CHECK(s == 10.0 && neps == 1, "10 s of AF-like intervals, atrial activity unknown: %.2f s AFIB in %d episodes", s, neps);
    s = resting_af_seconds(10.0, 1, 0.1, &neps);
    CHECK(s == 10.0, "no repeatable P waves: %.2f s AFIB", s);
    s = resting_af_seconds(25.0, 1, 0.49, &neps);
    CHECK(s == 25.0, "25 s, P-wave correlation 0.49: %.2f s AFIB", s);
}

static void a_resting_ecg_with_p_waves_regular_rr_or_too_few_beats_is_not_af(void)
{
    int neps;
    double s = resting_af_seconds(10.0, 1, 0.51, &neps);
    CHECK(s == 0, "irregular but P waves correlating 0.51: %.2f s AFIB", s);
    s = resting_af_seconds(10.0, 0, NAN, &neps);
    CHECK(s == 0, "regular at 75/min: %.2f s AFIB", s);
    s = resting_af_seconds(6.0, 1, NAN, &neps); /* about 7 intervals: under the test's 8 */
    CHECK(s == 0, "6 s: %.2f s AFIB", s);
    /* 30 s and longer: the episode rule (>= 30 s of AF verdicts) decides, as before. */
    s = resting_af_seconds(45.0, 1, NAN, &neps);
    CHECK(s > 30.0, "45 s of AF-like intervals: %.2f s AFIB", s);
}

static void repeatable_p_waves_veto_af_and_absent_or_unknown_ones_do_not(void)
{
    CHECK(af_seconds_with_p_waves(0.9) == 0, "P waves correlating 0.9: %.1f s of AF", af_seconds_with_p_waves(0.9));
    CHECK(af_seconds_with_p_waves(0.51) == 0, "P waves correlating 0.51: %.1f s of AF", af_seconds_with_p_waves(0.51));
    CHECK(af_seconds_with_p_waves(0.49) > 200, "P waves correlating 0.49: %.1f s of AF", af_seconds_with_p_waves(0.49));
    CHECK(af_seconds_with_p_waves(0.1) > 200, "no P waves: %.1f s of AF", af_seconds_with_p_waves(0.1));
    CHECK(af_seconds_with_p_waves(NAN) > 200, "unknown atrial activity: %.1f s of AF", af_seconds_with_p_waves(NAN));
}

/* One lead at FS: a 100 uV P bump 160 ms before each beat (or none), plus noise. */
static double mean_p_correlation(int with_p, uint32_t seed)
{
    static float sig[250 * 70]; /* 70 s at FS */
    size_t n = sizeof sig / sizeof *sig;
    rng_state = seed;
    for (size_t i = 0; i < n; i++) sig[i] = (float)(20.0 * (uniform() - 0.5));
    char err[256];
    rh_pwave *p = rh_pwave_create(FS, 1, err, sizeof err);
    double sum = 0;
    int count = 0;
    for (double t = 1.0; t < 69.0; t += 0.6 + 0.4 * uniform()) {
        int64_t r = (int64_t)(t * FS);
        for (int k = -10; with_p && k <= 10; k++)
            sig[r - (int64_t)(0.16 * FS) + k] += (float)(100.0 * exp(-0.5 * (k / 4.0) * (k / 4.0)));
        /* Fibrillatory waves: an irregular 6 Hz wave unrelated to the beats. */
        for (int64_t i = r - (int64_t)(0.3 * FS); !with_p && i < r; i++)
            sig[i] += (float)(50.0 * sin(2 * M_PI * 6.0 * (double)i / FS + 10.0 * uniform()));
        double c = p ? rh_pwave_beat(p, sig, n, 0, (int64_t)n, r) : NAN;
        if (!isnan(c)) {
            sum += c;
            count++;
        }
    }
    rh_pwave_free(p);
    return count ? sum / count : NAN;
}

static void a_repeating_p_wave_correlates_near_1_and_fibrillatory_waves_near_0(void)
{
    double with = mean_p_correlation(1, 3), without = mean_p_correlation(0, 3);
    CHECK(with > 0.8, "P wave before every beat: mean correlation %.2f", with);
    CHECK(fabs(without) < 0.3, "fibrillatory waves: mean correlation %.2f", without);
    char err[256] = "";
    CHECK(rh_pwave_create(FS, 0, err, sizeof err) == NULL && strstr(err, "leads"), "0 leads: '%s'", err);
    rh_pwave *p = rh_pwave_create(FS, 1, err, sizeof err);
    float x[100] = {0};
    CHECK(p && isnan(rh_pwave_beat(p, x, 100, 0, 100, 50)), "a segment reaching before the signal is NaN");
    rh_pwave_free(p);
}

/* One lead at FS, 70 s of 20 uV noise, beats every rr_lo..rr_hi s; before each beat a 100 uV
 * bump (sd 8 ms) bump_after_prev s after the previous beat (bump_after_prev > 0), or a ramp of
 * 100 uV across the P-wave segment (bump_after_prev == 0). The mean correlation of the beats
 * that have one; *known: how many have one. */
static double mean_correlation_of(double rr_lo, double rr_hi, double bump_after_prev, int *known)
{
    static float sig[250 * 70];
    size_t n = sizeof sig / sizeof *sig;
    rng_state = 11;
    for (size_t i = 0; i < n; i++) sig[i] = (float)(20.0 * (uniform() - 0.5));
    char err[256];
    rh_pwave *p = rh_pwave_create(FS, 1, err, sizeof err);
    double sum = 0;
    *known = 0;
    int64_t a = (int64_t)(RH_PWAVE_FROM_S * FS + 0.5), len = a - (int64_t)(RH_PWAVE_TO_S * FS + 0.5);
    for (double t = 1.0, prev = 0.4; t < 69.0; prev = t, t += rr_lo + (rr_hi - rr_lo) * uniform()) {
        int64_t r = (int64_t)(t * FS);
        if (bump_after_prev > 0) {
            int64_t c = (int64_t)((prev + bump_after_prev) * FS);
            for (int k = -8; k <= 8; k++)
                sig[c + k] += (float)(100.0 * exp(-0.5 * (k / (0.008 * FS)) * (k / (0.008 * FS))));
        } else {
            for (int64_t i = 0; i < len; i++) sig[r - a + i] += (float)(100.0 * (double)i / (double)len);
        }
        double c = p ? rh_pwave_beat(p, sig, n, 0, (int64_t)n, r) : NAN;
        if (!isnan(c)) {
            sum += c;
            ++*known;
        }
    }
    rh_pwave_free(p);
    return *known ? sum / *known : NAN;
}

static void the_previous_beats_t_wave_and_a_slope_are_no_p_wave(void)
{
    int known;
    /* RR 0.6 s: the segment runs from 0.30 to 0.54 s after the previous beat, whose T wave ends
     * 0.45 * sqrt(0.6) = 0.35 s after it. */
    double t_wave = mean_correlation_of(0.59, 0.61, 0.315, &known);
    CHECK(known > 50 && fabs(t_wave) < 0.3, "a bump 0.315 s after the previous beat (its T wave): mean %.2f over %d",
          t_wave, known);
    double p_wave = mean_correlation_of(0.59, 0.61, 0.40, &known);
    CHECK(known > 50 && p_wave > 0.8, "a bump 0.40 s after the previous beat (a P wave): mean %.2f over %d", p_wave,
          known);
    /* RR 0.40 s: the T wave ends 0.285 s after the previous beat, 55 ms before the segment does:
     * under 80 ms is too little to tell. RR 0.5 s leaves 122 ms. */
    mean_correlation_of(0.395, 0.405, 0.30, &known);
    CHECK(known == 0, "RR 0.40 s: %d beats with a P-wave correlation, want none", known);
    mean_correlation_of(0.495, 0.505, 0.40, &known);
    CHECK(known > 50, "RR 0.50 s: %d beats with a P-wave correlation", known);
    double ramp = mean_correlation_of(0.6, 1.0, 0, &known);
    CHECK(known > 50 && fabs(ramp) < 0.3, "the same slope before every beat: mean %.2f over %d", ramp, known);
}

/* 300 s of AF-like intervals; the beats from 120 to 150 s carry P-wave correlation p (the others
 * none) and label `label`; every beat whose index modulo 9 is under per9 also carries p (per9 0:
 * none). Intervals ending on a beat with a P wave are 0.6-1.0 s (never premature), the others
 * 0.4-1.0 s. Seconds of AFIB inside [lo, hi). */
static double af_seconds_with_p_stretch(double p, char label, int per9, double lo, double hi)
{
    static seq q;
    static double pw[MAXB];
    char err[256];
    rng_state = 9;
    memset(&q, 0, sizeof q);
    for (size_t i = 0; q.t < 300; i++) {
        int stretch = q.t >= 120 && q.t < 150, periodic = (int)(i % 9) < per9;
        int has_p = stretch || periodic;
        beat(&q, has_p ? 0.6 + 0.4 * uniform() : 0.4 + 0.6 * uniform(), stretch ? label : 'N');
        pw[q.n - 1] = has_p ? p : NAN;
    }
    result r;
    memset(&r, 0, sizeof r);
    rh_stream *rs = rh_stream_create(FS, err, sizeof err);
    for (size_t i = 0; rs && i < q.n; i++)
        CHECK(rh_stream_beat_atrial(rs, q.s[i], q.l[i], pw[i], err, sizeof err) == 0, "%s", err);
    if (rs) rh_stream_finish(rs, (int64_t)((q.t + 1) * FS));
    if (rs) drain(rs, &r);
    rh_stream_free(rs);
    double sec = 0;
    for (size_t i = 0; i < r.nep; i++) {
        if (strcmp(r.ep[i].label, "AFIB")) continue;
        double a = (double)r.ep[i].start / FS, b = (double)r.ep[i].end / FS;
        if (a < lo) a = lo;
        if (b > hi) b = hi;
        if (b > a) sec += b - a;
    }
    return sec;
}

static void p_waves_veto_af_over_the_9_beats_around_each_interval(void)
{
    /* 30 s of P waves inside AF: not AF from within 9 beats of its edges, and AF on both sides. */
    double inside = af_seconds_with_p_stretch(0.9, 'N', 0, 128, 142);
    CHECK(inside == 0, "P waves from 120 to 150 s: %.1f s of AF between 128 and 142 s", inside);
    double before = af_seconds_with_p_stretch(0.9, 'N', 0, 20, 110), after = af_seconds_with_p_stretch(0.9, 'N', 0, 160, 280);
    CHECK(before > 85 && after > 115, "AF around the P waves: %.1f of 90 s before, %.1f of 120 s after", before, after);
    double weak = af_seconds_with_p_stretch(0.4, 'N', 0, 128, 142);
    CHECK(weak > 13, "P-wave correlation 0.4 from 120 to 150 s: %.1f of 14 s of AF", weak);
    /* Ventricular beats follow no sinus P wave: what precedes them says nothing. */
    double ventricular = af_seconds_with_p_stretch(0.9, 'V', 0, 128, 142);
    CHECK(ventricular > 13, "the same on beats labelled V: %.1f of 14 s of AF", ventricular);
    /* At least 3 of the 9 beats must have a P-wave correlation: 3 of every 9 veto AF, 2 do not. */
    double three = af_seconds_with_p_stretch(0.9, 'N', 3, 20, 110), two = af_seconds_with_p_stretch(0.9, 'N', 2, 20, 110);
    CHECK(three == 0, "P waves on 3 beats of every 9: %.1f s of AF", three);
    CHECK(two > 85, "P waves on 2 beats of every 9: %.1f of 90 s of AF", two);
}

/* ---- ventricular flutter/fibrillation from the signal ---- */

typedef struct {
    double found_s;      /* signal time when the analysis first showed VFL (-1: never) */
    int64_t start, end;  /* the first VFL episode of the finished analysis (-1: none) */
    double vfl_s;        /* seconds labelled VFL in all */
} vfl_run;

/* Streams lead-major µV (n samples per lead) through the VF detector into a rhythm analysis in
 * blocks of 0.1 s, looking at the open episodes after each block as a live monitor would. */
static vfl_run stream_vf(const float *uv, int nleads, int64_t n, double fs)
{
    char err[256];
    vfl_run out = {-1.0, -1, -1, 0.0};
    rh_vf *vf = rh_vf_create(fs, nleads, err, sizeof err);
    rh_stream *rs = rh_stream_create(fs, err, sizeof err);
    float *block = malloc((size_t)nleads * (size_t)fs * sizeof *block);
    rh_episode open[64], ep;
    CHECK(vf && rs && block, "%s", err);
    if (!vf || !rs || !block) goto done;
    rh_stream_expect_vfl(rs);
    int64_t step = (int64_t)(fs / 10);
    for (int64_t at = 0; at < n; at += step) {
        int64_t m = n - at < step ? n - at : step;
        for (int l = 0; l < nleads; l++) memcpy(block + l * m, uv + (size_t)l * (size_t)n + (size_t)at, (size_t)m * sizeof *block);
        CHECK(rh_vf_push(vf, block, (size_t)m, (size_t)m) == 0, "push at %lld", (long long)at);
        rh_vf_verdict d;
        while (rh_vf_next(vf, &d)) CHECK(rh_stream_vfl(rs, d.start, d.end, d.vf, err, sizeof err) == 0, "%s", err);
        size_t k = rh_stream_open_episodes(rs, at + m, open, 64);
        for (size_t i = 0; i < k && i < 64 && out.found_s < 0; i++)
            if (!strcmp(open[i].label, "VFL")) out.found_s = (double)(at + m) / fs;
    }
    rh_stream_finish(rs, n);
    while (rh_stream_next_episode(rs, &ep)) {
        if (strcmp(ep.label, "VFL")) continue;
        if (out.start < 0) {
            out.start = ep.start;
            out.end = ep.end;
        }
        out.vfl_s += (double)(ep.end - ep.start) / fs;
    }
done:
    free(block);
    rh_stream_free(rs);
    rh_vf_free(vf);
    return out;
}

/* A near-sinusoidal oscillation whose frequency wanders in 4-6 Hz and whose amplitude swells
 * and fades (0.6-1.4 mV), different on each lead: ventricular flutter/coarse fibrillation. */
static void vf_wave(float *uv, int nleads, int64_t n, int64_t from, int64_t to, double fs, uint32_t seed)
{
    rng_state = seed;
    for (int l = 0; l < nleads; l++) {
        double phase = 2 * M_PI * uniform(), f = 5.0, amp = 1000.0;
        for (int64_t i = from; i < to; i++) {
            f += (uniform() - 0.5) * 0.2;
            f = f < 4.0 ? 4.0 : f > 6.0 ? 6.0 : f;
            amp += (uniform() - 0.5) * 40.0;
            amp = amp < 600.0 ? 600.0 : amp > 1400.0 ? 1400.0 : amp;
            phase += 2 * M_PI * f / fs;
            uv[(size_t)l * (size_t)n + (size_t)i] = (float)(amp * sin(phase) + 80.0 * (uniform() - 0.5));
        }
    }
}

static synth_ecg *sinus(double fs, double dur, double hr, double emg_mv, double wander_mv, uint64_t seed)
{
    synth_opts o;
    synth_defaults(&o);
    o.fs = fs;
    o.duration_s = dur;
    o.hr_bpm = hr;
    o.emg_mv = emg_mv;
    o.wander_mv = wander_mv;
    o.mains_mv = emg_mv > 0 ? 0.05 : 0.0;
    o.seed = seed;
    synth_ecg *e = synth_generate(&o);
    if (!e) exit(2);
    return e;
}

static void a_4_to_6_hz_oscillation_is_vfl_within_6_s_and_its_episode_lies_on_it(void)
{
    /* 30 s of sinus rhythm, 20 s of flutter from t = 30 s, then sinus again. */
    const double fs = 250.0;
    synth_ecg *e = sinus(fs, 70.0, 75.0, 0.0, 0.0, 7);
    int64_t on = (int64_t)(30 * fs), off = (int64_t)(50 * fs);
    vf_wave(e->uv, e->nleads, e->nsamples, on, off, fs, 11);
    vfl_run r = stream_vf(e->uv, e->nleads, e->nsamples, fs);
    fprintf(stderr, "  synthetic flutter from 30.0 s: shown live at %.1f s, episode %.1f-%.1f s\n", r.found_s,
            (double)r.start / fs, (double)r.end / fs);
    /* Two 4-s windows full of it (the second ends 5 s after onset), plus one window's margin. */
    CHECK(r.found_s >= 30.0 && r.found_s <= 36.0, "shown live at %.1f s", r.found_s);
    CHECK(r.start >= on - (int64_t)fs && r.start <= on + (int64_t)(3 * fs), "episode starts at %.1f s",
          (double)r.start / fs);
    CHECK(r.end >= off - (int64_t)(3 * fs) && r.end <= off + (int64_t)fs, "episode ends at %.1f s", (double)r.end / fs);
    CHECK(r.vfl_s <= 21.0, "%.1f s of VFL in all: only the flutter", r.vfl_s);
    synth_free(e);
}

static void sinus_rhythm_fast_or_with_noise_and_wander_is_never_vfl(void)
{
    const double rates[] = {60, 120, 180};
    for (int i = 0; i < 3; i++) {
        /* Muscle noise at 0.1 mV RMS and 0.5 mV baseline wander: a noisy, not an unreadable, ECG. */
        synth_ecg *e = sinus(360.0, 120.0, rates[i], 0.1, 0.5, 20 + (uint64_t)i);
        vfl_run r = stream_vf(e->uv, e->nleads, e->nsamples, 360.0);
        CHECK(r.found_s < 0 && r.vfl_s == 0.0, "%.0f bpm: VFL shown at %.1f s, %.1f s in all", rates[i], r.found_s,
              r.vfl_s);
        synth_free(e);
    }
    /* Flat leads (electrodes off) and pure high-frequency noise are no flutter either. */
    const double fs = 250.0;
    int64_t n = (int64_t)(60 * fs);
    float *uv = calloc(2 * (size_t)n, sizeof *uv);
    if (!uv) exit(2);
    rng_state = 5;
    for (int64_t i = 0; i < n; i++) uv[(size_t)n + (size_t)i] = (float)(400.0 * (uniform() - 0.5));
    vfl_run r = stream_vf(uv, 2, n, fs);
    CHECK(r.found_s < 0 && r.vfl_s == 0.0, "flat and white noise: VFL at %.1f s, %.1f s", r.found_s, r.vfl_s);
    free(uv);
}

static void vf_verdicts_tile_time_and_do_not_depend_on_block_sizes(void)
{
    const double fs = 360.0;
    synth_ecg *e = sinus(fs, 40.0, 80.0, 0.0, 0.0, 3);
    vf_wave(e->uv, e->nleads, e->nsamples, (int64_t)(15 * fs), (int64_t)(30 * fs), fs, 2);
    char err[256];
    rh_vf_verdict a[64], b[64];
    size_t na = 0, nb = 0;
    for (int pass = 0; pass < 2; pass++) {
        rh_vf *vf = rh_vf_create(fs, e->nleads, err, sizeof err);
        CHECK(vf != NULL, "%s", err);
        if (!vf) break;
        size_t step = pass ? 1 : 997;
        float *blk = malloc(2 * step * sizeof *blk);
        if (!blk) exit(2);
        for (size_t at = 0; at < (size_t)e->nsamples; at += step) {
            size_t m = (size_t)e->nsamples - at < step ? (size_t)e->nsamples - at : step;
            for (int l = 0; l < 2; l++) memcpy(blk + l * m, e->uv + (size_t)l * (size_t)e->nsamples + at, m * sizeof *blk);
            rh_vf_push(vf, blk, m, m);
            rh_vf_verdict d;
            while (rh_vf_next(vf, &d))
                if ((pass ? nb : na) < 64) (pass ? b : a)[(pass ? nb++ : na++)] = d;
        }
        free(blk);
        rh_vf_free(vf);
    }
    CHECK(na == nb && na >= 35, "%zu and %zu verdicts", na, nb);
    for (size_t i = 0; i < na && i < nb; i++) {
        CHECK(a[i].start == b[i].start && a[i].end == b[i].end && a[i].vf == b[i].vf, "verdict %zu differs", i);
        if (i) CHECK(a[i].start == a[i - 1].end, "verdict %zu does not follow the previous one", i);
    }
    CHECK(rh_vf_create(100.0, 2, err, sizeof err) == NULL && strstr(err, "Hz"), "100 Hz refused: '%s'", err);
    rh_stream *rs = rh_stream_create(fs, err, sizeof err);
    CHECK(rs && rh_stream_vfl(rs, 0, 360, 1, err, sizeof err) == -1 && strstr(err, "expect"),
          "a verdict without rh_stream_expect_vfl is an error: '%s'", err);
    rh_stream_free(rs);
    synth_free(e);
}

/* Beats and flutter verdicts (1-s ones here; rhythm_afl.h gives 2-s ones) to an analyser that expects them: verdict k
 * covers [k, k+1) s and is on where on_from[i] <= k < on_to[i] for some i. Verdicts reach it as
 * the beats do (each second's before the first beat after it). */
static int analyse_flutter(const seq *q, double end_s, const double *on_from, const double *on_to, size_t non,
                           result *r)
{
    char err[256];
    memset(r, 0, sizeof *r);
    rh_stream *rs = rh_stream_create(FS, err, sizeof err);
    if (!rs) return -1;
    rh_stream_expect_afl(rs);
    int64_t k = 0, nk = (int64_t)end_s;
    for (size_t i = 0; i <= q->n; i++) {
        double upto = i < q->n ? (double)q->s[i] / FS : (double)nk;
        for (; k < nk && (double)(k + 1) <= upto; k++) {
            int on = 0;
            for (size_t j = 0; j < non; j++) on |= (double)k >= on_from[j] && (double)k < on_to[j];
            if (rh_stream_afl(rs, (int64_t)(k * FS), (int64_t)((k + 1) * FS), on, err, sizeof err)) goto fail;
        }
        if (i < q->n && rh_stream_beat(rs, q->s[i], q->l[i], err, sizeof err)) goto fail;
        drain(rs, r);
    }
    rh_stream_finish(rs, (int64_t)(end_s * FS));
    drain(rs, r);
    rh_stream_free(rs);
    return 0;
fail:
    fprintf(stderr, "%s\n", err);
    rh_stream_free(rs);
    return -1;
}

static void af_with_15_s_of_flutter_waves_is_afl_there_and_14_s_or_sinus_rhythm_are_not(void)
{
    static seq q;
    result r;
    rng_state = 21;
    memset(&q, 0, sizeof q);
    regular(&q, 70, 120, 'N');
    double on = q.t;
    fibrillation(&q, 300);
    double off = q.t;
    regular(&q, 70, 120, 'N');
    double end = q.t + 1;
    /* Flutter waves: 60 s and 15 s inside the AF, 14 s inside it, 60 s during sinus rhythm. */
    double a = ceil(on);
    const double from[] = {a + 40, a + 120, a + 160, a + 240, 20}, to[] = {a + 100, a + 135, a + 174, a + 250, 80};
    CHECK(analyse_flutter(&q, end, from, to, 5, &r) == 0, "analysis failed");
    check_cover(&r, end, "sinus, AF with flutter, sinus");
    double afl = seconds_of(&r, "AFL");
    CHECK_NEAR(afl, 60 + 15, 0.01, "seconds of AFL: the 60-s and 15-s flutter inside AF");
    int first = 0, second = 0;
    for (size_t i = 0; i < r.nep; i++) {
        if (strcmp(r.ep[i].label, "AFL")) continue;
        double s0 = (double)r.ep[i].start / FS, s1 = (double)r.ep[i].end / FS;
        first += fabs(s0 - (a + 40)) < 0.01 && fabs(s1 - (a + 100)) < 0.01;
        second += fabs(s0 - (a + 120)) < 0.01 && fabs(s1 - (a + 135)) < 0.01;
        CHECK(s0 >= on && s1 <= off, "AFL [%.1f, %.1f) s outside the AF [%.1f, %.1f) s", s0, s1, on, off);
    }
    CHECK(first == 1 && second == 1, "AFL episodes are not [%.0f, %.0f) and [%.0f, %.0f) s", a + 40, a + 100,
          a + 120, a + 135);
    /* The AF around them is still AF: AFIB and AFL together as without verdicts. */
    result plain;
    CHECK(analyse(&q, end, NULL, 0, 1, &plain) == 0, "analysis failed");
    CHECK_NEAR(seconds_of(&r, "AFIB") + afl, seconds_of(&plain, "AFIB"), 0.01, "AF seconds with and without flutter");
    CHECK(seconds_of(&r, "AFIB") > 150, "%.1f s of AFIB", seconds_of(&r, "AFIB"));
}

static void flutter_verdicts_need_expect_afl_and_time_order(void)
{
    char err[256] = "";
    rh_stream *rs = rh_stream_create(FS, err, sizeof err);
    CHECK(rs && rh_stream_afl(rs, 0, 250, 1, err, sizeof err) == -1 && strstr(err, "expect"),
          "a verdict without rh_stream_expect_afl is an error: '%s'", err);
    rh_stream_free(rs);
    rs = rh_stream_create(FS, err, sizeof err);
    rh_stream_expect_afl(rs);
    CHECK(rs && rh_stream_afl(rs, 250, 500, 1, err, sizeof err) == 0, "%s", err);
    CHECK(rh_stream_afl(rs, 0, 250, 1, err, sizeof err) == -1 && strstr(err, "out of order"),
          "a verdict before the last one is an error: '%s'", err);
    rh_stream_free(rs);
}

/* MIT-BIH 207 holds the database's only ventricular flutter: six episodes of 4-98 s. The floors
 * sit a little below what was measured (6 of 6 episodes, 127.4 of 143.0 s, 3.6 s false, the
 * first episode 1.8 s after its annotated start); docs/accuracy.md has all 48 records. */
static void vfl_on_mitdb_207_is_found_inside_the_annotated_episodes(void)
{
    char path[1024], err[1024];
    rh_af_score sc;
    int rc = rh_score_af_record(check_data_path(path, sizeof path, "mitdb/207"), 1, NULL, &sc, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc) return;
    fprintf(stderr, "  207: %d/%d flutter episodes found, %.1f of %.1f s, %.1f s false, first %.1f s late\n",
            sc.vfl_ref_found, sc.vfl_ref, sc.vfl_tp / sc.fs, (sc.vfl_tp + sc.vfl_fn) / sc.fs, sc.vfl_fp / sc.fs,
            sc.vfl_first_delay / sc.fs);
    CHECK(sc.vfl_ref == 6, "%d reference episodes (the '[' ']' brackets)", sc.vfl_ref);
    CHECK(sc.vfl_ref_found >= 6, "%d of 6 episodes found", sc.vfl_ref_found);
    CHECK(sc.vfl_tp >= 0.85 * (double)(sc.vfl_tp + sc.vfl_fn), "duration Se %.1f %%",
          100.0 * (double)sc.vfl_tp / (double)(sc.vfl_tp + sc.vfl_fn));
    CHECK(sc.vfl_fp <= 6.0 * sc.fs, "%.1f s of false VFL", sc.vfl_fp / sc.fs);
    CHECK(sc.vfl_first_delay >= 0 && sc.vfl_first_delay <= (int64_t)(4.0 * sc.fs), "first episode %.1f s late",
          sc.vfl_first_delay / sc.fs);
}

/* The records that raise false flutter alarms elsewhere: noise (105, 108, 203), multiform
 * ventricular ectopy (200, 203), atrial flutter and AF (203, 202). */
static void no_vfl_on_the_noisy_mitdb_records(void)
{
    const char *recs[] = {"105", "108", "200", "202", "203"};
    for (int i = 0; i < 5; i++) {
        char rel[64], path[1024], err[1024];
        rh_af_score sc;
        snprintf(rel, sizeof rel, "mitdb/%s", recs[i]);
        int rc = rh_score_af_record(check_data_path(path, sizeof path, rel), 1, NULL, &sc, err, sizeof err);
        CHECK(rc == 0, "%s", err);
        CHECK(rc || (sc.vfl_det == 0 && sc.vfl_fp == 0), "%s: %d VFL episodes, %.1f s", recs[i], sc.vfl_det,
              sc.vfl_fp / sc.fs);
    }
}

int main(void)
{
    RUN(regular_75_bpm_is_one_sinus_episode_over_the_whole_record);
    RUN(rate_below_60_is_bradycardia_and_61_is_not);
    RUN(sustained_narrow_tachycardia_above_100_is_svta_and_99_is_not);
    RUN(a_rate_episode_needs_10_s_and_its_boundaries_are_within_tolerance);
    RUN(irregular_rr_from_a_random_distribution_is_af_with_boundaries_within_tolerance);
    RUN(af_shorter_than_30_s_is_no_episode);
    RUN(a_pause_is_an_rr_of_2_s_and_asystole_one_of_4_s);
    RUN(n_v_bigeminy_of_3_cycles_is_an_episode_b_and_of_2_is_not);
    RUN(n_n_v_trigeminy_of_3_cycles_is_an_episode_t);
    RUN(two_consecutive_v_are_a_couplet_and_three_a_run);
    RUN(a_run_of_5_v_at_150_bpm_is_a_vt_run_event_but_no_vt_episode);
    RUN(three_v_at_99_bpm_are_a_triplet_and_at_101_a_vt_run);
    RUN(a_vt_run_whose_qrs_changes_beat_to_beat_is_polymorphic_and_one_of_one_shape_is_not);
    RUN(vt_of_31_s_or_35_s_is_a_vt_episode_and_of_29_s_is_not);
    RUN(unreadable_stretches_are_episodes_u_and_end_runs);
    RUN(results_do_not_depend_on_when_the_output_is_read_and_arrive_with_bounded_delay);
    RUN(bad_input_is_an_error_with_a_message);
    RUN(af_comparison_counts_samples_both_only_reference_and_only_test);
    RUN(reference_episodes_come_from_rhythm_annotations_and_flutter_brackets);
    RUN(repeatable_p_waves_veto_af_and_absent_or_unknown_ones_do_not);
    RUN(a_resting_ecg_with_irregular_rr_and_no_p_waves_is_afib_throughout);
    RUN(a_resting_ecg_with_p_waves_regular_rr_or_too_few_beats_is_not_af);
    RUN(a_repeating_p_wave_correlates_near_1_and_fibrillatory_waves_near_0);
    RUN(the_previous_beats_t_wave_and_a_slope_are_no_p_wave);
    RUN(p_waves_veto_af_over_the_9_beats_around_each_interval);
    RUN(af_on_the_mitdb_af_records_meets_the_floors);
    RUN(af_with_15_s_of_flutter_waves_is_afl_there_and_14_s_or_sinus_rhythm_are_not);
    RUN(flutter_verdicts_need_expect_afl_and_time_order);
    RUN(a_4_to_6_hz_oscillation_is_vfl_within_6_s_and_its_episode_lies_on_it);
    RUN(sinus_rhythm_fast_or_with_noise_and_wander_is_never_vfl);
    RUN(vf_verdicts_tile_time_and_do_not_depend_on_block_sizes);
    RUN(vfl_on_mitdb_207_is_found_inside_the_annotated_episodes);
    RUN(no_vfl_on_the_noisy_mitdb_records);
    return check_report();
}
