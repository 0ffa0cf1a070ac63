/* test_qrs.c — specification of the streaming QRS detector (dsp/qrs.h) on synthetic ECGs with known R peaks. */
#include "check.h"

#include "ec57.h"
#include "qrs.h"
#include "simd.h"
#include "synth.h"

#include <stdint.h>

#define LONG_S 60.0    /* the usual strip: fast enough even under the sanitizers */
#define SEEDS 3        /* strips (different rhythms and beat phases) per case */
#define MATCH_S 0.150  /* EC57 match window */
#define EDGE_S 0.250   /* reference beats this close to either end of a strip are not scored */
#define START_S 1.0    /* nor false beats in a record's first second (see the start-of-record test) */
#define ALL_AT_ONCE 0
#define RANDOM_SIZES ((size_t)-1)

typedef struct {
    dsp_beat *b;
    size_t n, cap;
} beat_list;

static void list_add(beat_list *l, const dsp_beat *b)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->b = realloc(l->b, l->cap * sizeof *l->b);
        if (!l->b) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
    }
    l->b[l->n++] = *b;
}

static void list_free(beat_list *l)
{
    free(l->b);
    l->b = NULL;
    l->n = l->cap = 0;
}

static synth_opts opts(double fs, double dur, int nleads, double hr, uint64_t seed)
{
    synth_opts o;
    synth_defaults(&o);
    o.fs = fs;
    o.duration_s = dur;
    o.nleads = nleads;
    o.hr_bpm = hr;
    o.seed = seed;
    return o;
}

static synth_ecg *generate(const synth_opts *o)
{
    synth_ecg *e = synth_generate(o);
    if (!e) {
        fprintf(stderr, "synth_generate refused the options (fs %g, %d leads)\n", o->fs, o->nleads);
        exit(2);
    }
    return e;
}

static float *lead(synth_ecg *e, int l) { return e->uv + (size_t)l * (size_t)e->nsamples; }

/* Next push size for a fixed size, all at once, or pseudo-random sizes 1..700 (an LCG with its
 * state in the caller, so runs repeat). */
static size_t push_size(size_t policy, int64_t left, uint64_t *rng)
{
    size_t n;
    if (policy == ALL_AT_ONCE) n = (size_t)left;
    else if (policy == RANDOM_SIZES) {
        *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
        n = 1 + (size_t)((*rng >> 33) % 700);
    } else n = policy;
    return n > (size_t)left ? (size_t)left : n;
}

/* Runs the detector over the whole ECG pushed in blocks of the given policy, then flushes.
 * Each beat is popped right after the push that decided it; that its decided_at lies inside
 * that push is checked here for every run. */
static beat_list detect_with(const synth_ecg *e, const dsp_kernels *k, size_t policy)
{
    char err[256] = "";
    beat_list out = {0};
    dsp_qrs *q = dsp_qrs_create(e->fs, e->nleads, k, err, sizeof err);
    CHECK(q != NULL, "create: %s", err);
    if (!q) return out;
    uint64_t rng = 12345;
    int bad_decided = 0;
    for (int64_t i = 0; i < e->nsamples;) {
        size_t n = push_size(policy, e->nsamples - i, &rng);
        dsp_qrs_push(q, e->uv + i, (size_t)e->nsamples, n);
        dsp_beat b;
        while (dsp_qrs_next(q, &b)) {
            if (b.decided_at < i || b.decided_at >= i + (int64_t)n) bad_decided++;
            list_add(&out, &b);
        }
        i += (int64_t)n;
    }
    dsp_qrs_flush(q);
    dsp_beat b;
    while (dsp_qrs_next(q, &b)) {
        if (b.decided_at < e->nsamples) bad_decided++;
        list_add(&out, &b);
    }
    CHECK(bad_decided == 0, "%d beats popped outside the push (or flush) that decided_at names", bad_decided);
    int unordered = 0, outside = 0;
    for (size_t j = 0; j < out.n; j++) {
        if (j && out.b[j].sample <= out.b[j - 1].sample) unordered++;
        if (out.b[j].sample < 0 || out.b[j].sample >= e->nsamples || out.b[j].lead >= e->nleads) outside++;
    }
    CHECK(unordered == 0, "%d beats not in increasing order of sample", unordered);
    CHECK(outside == 0, "%d beats outside the record or naming a lead it lacks", outside);
    dsp_qrs_free(q);
    return out;
}

static beat_list detect(const synth_ecg *e) { return detect_with(e, NULL, 4096); }

typedef struct {
    ec57_counts c;
    double median_ms, max_ms; /* fiducial error on matched N beats */
} score;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* EC57 counts over the reference beats in [from_s, to_s) (an unmatched detection outside that
 * stretch is not counted either), and the fiducial error of the N beats found. The start of a
 * record, where a P or T wave whose QRS lies outside the strip may pass for a beat before the
 * detector has seen a whole QRS, has its own test: no false beat is counted in the first second,
 * nor before the first full beat. */
static score score_range(const synth_ecg *e, const beat_list *d, double from_s, double to_s)
{
    score s = {{0, 0, 0}, 0.0, 0.0};
    int64_t from = (int64_t)(from_s * e->fs), to = (int64_t)(to_s * e->fs), win = (int64_t)(MATCH_S * e->fs);
    int64_t *ref = malloc((e->nbeats + 1) * sizeof *ref), *test = malloc((d->n + 1) * sizeof *test);
    double *errs = malloc((e->nbeats + 1) * sizeof *errs);
    if (!ref || !test || !errs) exit(2);
    size_t nref = 0, nerr = 0;
    for (size_t i = 0; i < e->nbeats; i++)
        if (e->beats[i].sample < to) ref[nref++] = e->beats[i].sample;
    for (size_t j = 0; j < d->n; j++) test[j] = d->b[j].sample;
    int64_t learnt = (int64_t)(START_S * e->fs);
    for (size_t i = 0; i < e->nbeats; i++)
        if (e->beats[i].sample >= (int64_t)(EDGE_S * e->fs)) {
            if (e->beats[i].sample - win > learnt) learnt = e->beats[i].sample - win;
            break;
        }
    const ec57_span outside[] = {{0, learnt}, {to, INT64_MAX}};
    ec57_match(ref, NULL, nref, test, d->n, from, win, outside, 2, &s.c);
    for (size_t i = 0; i < e->nbeats; i++) {
        int64_t r = e->beats[i].sample, best = INT64_MAX;
        if (e->beats[i].label != 'N' || r < from || r >= to) continue;
        for (size_t j = 0; j < d->n; j++) {
            int64_t dist = llabs(d->b[j].sample - r);
            if (dist < best) best = dist;
        }
        if (best <= win) errs[nerr++] = 1000.0 * (double)best / e->fs;
    }
    if (nerr) {
        qsort(errs, nerr, sizeof *errs, cmp_double);
        s.median_ms = errs[nerr / 2];
        s.max_ms = errs[nerr - 1];
    }
    free(errs);
    free(test);
    free(ref);
    return s;
}

static score score_all(const synth_ecg *e, const beat_list *d)
{
    return score_range(e, d, EDGE_S, (double)e->nsamples / e->fs - EDGE_S);
}

/* Median reference RR, seconds. */
static double median_rr(const synth_ecg *e)
{
    double *rr = malloc((e->nbeats + 1) * sizeof *rr);
    if (!rr) exit(2);
    size_t n = 0;
    for (size_t i = 1; i < e->nbeats; i++) rr[n++] = (double)(e->beats[i].sample - e->beats[i - 1].sample) / e->fs;
    qsort(rr, n, sizeof *rr, cmp_double);
    double m = n ? rr[n / 2] : 0.0;
    free(rr);
    return m;
}

/* Multiplies every lead by g(i) = 1 - (1 - gain) * bump(i - c), a raised-cosine bump 240 ms wide
 * centred on sample c: one QRS made smaller without a step anywhere. */
static void shrink_beat(synth_ecg *e, int64_t c, double gain)
{
    int64_t half = (int64_t)(0.120 * e->fs);
    for (int64_t i = c - half; i <= c + half; i++) {
        if (i < 0 || i >= e->nsamples) continue;
        double bump = 0.5 * (1.0 + cos(3.14159265358979323846 * (double)(i - c) / (double)half));
        for (int l = 0; l < e->nleads; l++) lead(e, l)[i] *= (float)(1.0 - (1.0 - gain) * bump);
    }
}

/* The sample halfway between the T wave of the last beat before t_s and the next P wave: the
 * clean synthetic signal is flat there, so changes made from it on leave no step. */
static int64_t diastole_after(const synth_ecg *e, double t_s)
{
    int64_t t = (int64_t)(t_s * e->fs);
    for (size_t i = 1; i < e->nbeats; i++)
        if (e->beats[i].sample >= t) {
            int64_t a = e->beats[i - 1].sample, b = e->beats[i].sample;
            return a + (int64_t)(0.6 * (double)(b - a));
        }
    return t;
}

#define CHECK_PERFECT(s, what)                                                                          \
    CHECK((s).c.fn == 0 && (s).c.fp == 0, "%s: TP %ld FN %ld FP %ld (Se %.2f%%, +P %.2f%%)", (what), (s).c.tp, \
          (s).c.fn, (s).c.fp, ec57_se(&(s).c), ec57_ppv(&(s).c))

#define CHECK_AT_LEAST(s, pct, what)                                                                     \
    CHECK(ec57_se(&(s).c) >= (pct) && ec57_ppv(&(s).c) >= (pct), "%s: TP %ld FN %ld FP %ld (Se %.2f%%, +P %.2f%%, want >= %g)", \
          (what), (s).c.tp, (s).c.fn, (s).c.fp, ec57_se(&(s).c), ec57_ppv(&(s).c), (double)(pct))

/* ---- detection on clean signals ---- */

static void every_beat_of_a_clean_ecg_is_found_with_no_false_beats_at_every_sample_rate(void)
{
    const double rates[] = {125, 250, 360, 500, 1000, 2000};
    const int leads[] = {2, 12};
    for (size_t r = 0; r < sizeof rates / sizeof *rates; r++)
        for (size_t k = 0; k < 2; k++)
            for (uint64_t seed = 0; seed < SEEDS; seed++) {
                synth_opts o = opts(rates[r], LONG_S, leads[k], 72.0, 100 + r * 10 + k + 1000 * seed);
                synth_ecg *e = generate(&o);
                beat_list d = detect(e);
                score s = score_all(e, &d);
                char what[96];
                snprintf(what, sizeof what, "%g Hz, %d leads, seed %d", rates[r], leads[k], (int)o.seed);
                CHECK(s.c.tp > (long)(LONG_S * 1.1), "%s: only %ld beats matched", what, s.c.tp);
                CHECK_PERFECT(s, what);
                list_free(&d);
                synth_free(e);
            }
}

/* The contract promises the R peak. The tolerance allows for the smoothing (the fiducial is the
 * extremum of the smoothed QRS) and for 8-ms samples at 125 Hz: the median error at most 10 ms,
 * none beyond 40 ms. (Taking the S trough of a rS lead such as V1 for the R peak is about 25 ms
 * late on these strips, and fails.) */
static void the_fiducial_point_of_normal_beats_lies_near_the_r_peak(void)
{
    const double rates[] = {125, 250, 360, 500, 1000, 2000};
    const int leads[] = {2, 12};
    for (size_t r = 0; r < sizeof rates / sizeof *rates; r++)
        for (size_t k = 0; k < 2; k++) {
            synth_opts o = opts(rates[r], LONG_S, leads[k], 72.0, 200 + r * 10 + k);
            synth_ecg *e = generate(&o);
            beat_list d = detect(e);
            score s = score_all(e, &d);
            CHECK(s.c.tp > 0 && s.median_ms <= 10.0 && s.max_ms <= 40.0,
                  "%g Hz, %d leads: fiducial error median %.1f ms, max %.1f ms (want <= 10, <= 40)", rates[r],
                  leads[k], s.median_ms, s.max_ms);
            list_free(&d);
            synth_free(e);
        }
}

static void premature_ventricular_and_supraventricular_beats_are_all_found(void)
{
    const struct {
        double fs;
        int nleads;
    } cases[] = {{360, 2}, {250, 1}, {500, 12}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
        for (uint64_t seed = 1; seed <= SEEDS; seed++) {
            synth_opts o = opts(cases[c].fs, 2 * LONG_S, cases[c].nleads, 72.0, 300 + seed);
            o.pvc_prob = 0.1;
            o.pac_prob = 0.1;
            synth_ecg *e = generate(&o);
            size_t nv = 0, ns = 0;
            for (size_t i = 0; i < e->nbeats; i++) {
                nv += e->beats[i].label == 'V';
                ns += e->beats[i].label == 'S';
            }
            beat_list d = detect(e);
            score s = score_all(e, &d);
            char what[96];
            snprintf(what, sizeof what, "%g Hz, %d leads, seed %d (%zu V, %zu S)", o.fs, o.nleads,
                     (int)o.seed, nv, ns);
            CHECK(nv > 3 && ns > 3, "%s: the strip holds too few ectopic beats to test", what);
            CHECK_AT_LEAST(s, 99.5, what);
            list_free(&d);
            synth_free(e);
        }
}

static void beats_are_all_found_from_30_to_200_bpm(void)
{
    const double hr[] = {30, 60, 150, 200};
    for (size_t h = 0; h < sizeof hr / sizeof *hr; h++)
        for (uint64_t seed = 0; seed < SEEDS; seed++) {
            synth_opts o = opts(seed % 2 ? 500 : 360, hr[h] < 60 ? 2 * LONG_S : LONG_S, seed % 2 ? 12 : 2, hr[h],
                                400 + h + 1000 * seed);
            synth_ecg *e = generate(&o);
            beat_list d = detect(e);
            score s = score_all(e, &d);
            char what[96];
            snprintf(what, sizeof what, "%g bpm, %g Hz, %d leads, seed %d", hr[h], o.fs, o.nleads, (int)o.seed);
            CHECK_PERFECT(s, what);
            list_free(&d);
            synth_free(e);
        }
}

static void beats_are_found_through_baseline_wander_mains_and_muscle_noise(void)
{
    const double mains[] = {50, 60};
    const struct {
        double fs;
        int nleads;
    } cases[] = {{360, 2}, {500, 12}};
    for (size_t c = 0; c < 2; c++)
        for (size_t m = 0; m < 2 * SEEDS; m++) {
            synth_opts o = opts(cases[c].fs, 2 * LONG_S, cases[c].nleads, 72.0, 500 + c * 10 + m);
            o.wander_mv = 0.5;
            o.mains_mv = 0.1;
            o.mains_hz = mains[m % 2];
            o.emg_mv = 0.05;
            synth_ecg *e = generate(&o);
            beat_list d = detect(e);
            score s = score_all(e, &d);
            char what[96];
            snprintf(what, sizeof what, "%g Hz, %d leads, %g Hz mains, seed %d", cases[c].fs, cases[c].nleads, o.mains_hz,
                     (int)o.seed);
            CHECK_AT_LEAST(s, 99.0, what);
            list_free(&d);
            synth_free(e);
        }
}

/* ---- artefacts ---- */

/* Adds to one lead, centred on sample c, a biphasic deflection of peak amplitude uv lasting about
 * 40 ms (a derivative of a Gaussian): what an electrode pop or a muscle twitch under one electrode
 * looks like to a QRS detector. */
static void add_one_lead_artefact(synth_ecg *e, int l, int64_t c, double uv)
{
    double sigma = 0.008 * e->fs;
    int64_t half = (int64_t)(4.0 * sigma);
    for (int64_t i = c - half; i <= c + half; i++) {
        if (i < 0 || i >= e->nsamples) continue;
        double u = (double)(i - c) / sigma;
        lead(e, l)[i] += (float)(uv * 1.6487 * u * exp(-0.5 * u * u)); /* peak of u e^(-u^2/2) is e^-0.5 */
    }
}

/* An artefact as large and as sharp as a QRS, but in one lead only, in the quiet of diastole: the
 * other leads see nothing there, so it is no beat. Every real beat is still found. */
static void an_artefact_confined_to_one_lead_is_not_taken_for_a_beat(void)
{
    const int leads[] = {2, 12};
    for (size_t k = 0; k < 2; k++)
        for (uint64_t seed = 0; seed < SEEDS; seed++) {
            synth_opts o = opts(360, LONG_S, leads[k], 72.0, 1500 + 10 * k + seed);
            synth_ecg *e = generate(&o);
            int added = 0;
            for (double t = 10.0; t < LONG_S - 5.0; t += 5.0, added++)
                add_one_lead_artefact(e, added % e->nleads, diastole_after(e, t), 1500.0);
            beat_list d = detect(e);
            score s = score_all(e, &d);
            char what[96];
            snprintf(what, sizeof what, "%d leads, %d artefacts, seed %d", e->nleads, added, (int)o.seed);
            CHECK_PERFECT(s, what);
            list_free(&d);
            synth_free(e);
        }
}

/* ---- the start and end of a record ---- */

static void a_resting_12_lead_ecg_has_its_first_full_beat_found_and_at_most_one_false_beat_in_its_first_second(void)
{
    int missed = 0, noisy = 0, seeds = 30;
    for (int seed = 1; seed <= seeds; seed++) {
        synth_opts o = opts(500, 10.0, 12, 50.0 + 2.0 * seed, 600 + (uint64_t)seed);
        synth_ecg *e = generate(&o);
        beat_list d = detect(e);
        int64_t first = -1, win = (int64_t)(MATCH_S * e->fs);
        for (size_t i = 0; i < e->nbeats && first < 0; i++)
            if (e->beats[i].sample >= (int64_t)(EDGE_S * e->fs)) first = e->beats[i].sample;
        int found = 0, false_beats = 0;
        for (size_t j = 0; j < d.n; j++) {
            if (llabs(d.b[j].sample - first) <= win) found = 1;
            if (d.b[j].sample >= (int64_t)e->fs) continue;
            int real = 0;
            for (size_t i = 0; i < e->nbeats; i++) real |= llabs(d.b[j].sample - e->beats[i].sample) <= win;
            false_beats += !real;
        }
        if (!found) {
            missed++;
            fprintf(stderr, "  seed %d: first full beat at %.3f s not found\n", seed, (double)first / e->fs);
        }
        if (false_beats > 1) {
            noisy++;
            fprintf(stderr, "  seed %d: %d false beats in the first second\n", seed, false_beats);
        }
        list_free(&d);
        synth_free(e);
    }
    CHECK(missed == 0, "%d of %d strips lost their first full beat", missed, seeds);
    CHECK(noisy == 0, "%d of %d strips had more than one false beat in the first second", noisy, seeds);
}

static void the_last_beats_of_a_record_are_found_when_it_is_flushed(void)
{
    int missed = 0, seeds = 30;
    for (int seed = 1; seed <= seeds; seed++) {
        synth_opts o = opts(500, 10.0, 12, 60.0 + 2.0 * seed, 700 + (uint64_t)seed);
        synth_ecg *e = generate(&o);
        beat_list d = detect(e);
        score s = score_range(e, &d, EDGE_S, 10.0 - EDGE_S);
        missed += s.c.fn != 0 || s.c.fp != 0;
        if (s.c.fn || s.c.fp) fprintf(stderr, "  seed %d: FN %ld FP %ld in 0.25..9.75 s\n", seed, s.c.fn, s.c.fp);
        list_free(&d);
        synth_free(e);
    }
    CHECK(missed == 0, "%d of %d 10-s strips were not detected perfectly up to 0.25 s from their end", missed, seeds);
}

/* ---- streaming ---- */

/* A strip with three QRS complexes shrunk to 30 %: over half the threshold, under the threshold,
 * so they are found by search-back. */
static synth_ecg *strip_with_weak_beats(double fs, double dur, uint64_t seed, size_t *weak, size_t nweak)
{
    synth_opts o = opts(fs, dur, 2, 72.0, seed);
    synth_ecg *e = generate(&o);
    for (size_t w = 0; w < nweak; w++) {
        weak[w] = e->nbeats * (w + 1) / (nweak + 1);
        shrink_beat(e, e->beats[weak[w]].sample, 0.3);
    }
    return e;
}

static void a_weak_beat_among_normal_ones_is_found_by_search_back(void)
{
    size_t weak[3];
    synth_ecg *e = strip_with_weak_beats(360, 30.0, 800, weak, 3);
    beat_list d = detect(e);
    score s = score_all(e, &d);
    CHECK_PERFECT(s, "30 s with three beats at 30 % amplitude");
    int64_t win = (int64_t)(MATCH_S * e->fs);
    for (size_t w = 0; w < 3; w++) {
        int sb = -1;
        for (size_t j = 0; j < d.n; j++)
            if (llabs(d.b[j].sample - e->beats[weak[w]].sample) <= win) sb = d.b[j].searchback;
        CHECK(sb == 1, "weak beat at %.3f s: %s", (double)e->beats[weak[w]].sample / e->fs,
              sb < 0 ? "not found" : "found, but not flagged as search-back");
    }
    size_t nsb = 0;
    for (size_t j = 0; j < d.n; j++) nsb += d.b[j].searchback;
    CHECK(nsb == 3, "%zu beats flagged search-back, want the 3 weak ones", nsb);
    list_free(&d);
    synth_free(e);
}

/* Pushed one sample at a time: a beat found directly is decided within 0.5 s of its R peak, one
 * found by search-back within 1.7 RR + 0.2 s of the previous beat. */
static void beats_are_decided_soon_after_their_r_peak_when_pushed_sample_by_sample(void)
{
    size_t weak[4];
    synth_ecg *e = strip_with_weak_beats(360, LONG_S, 900, weak, 4);
    double rr = median_rr(e);
    beat_list d = detect_with(e, NULL, 1);
    score s = score_all(e, &d);
    CHECK_PERFECT(s, "pushed sample by sample");
    int late = 0, late_sb = 0;
    size_t nsb = 0;
    for (size_t j = 0; j < d.n; j++) {
        const dsp_beat *b = &d.b[j];
        if (b->decided_at < b->sample) late++; /* decided before its own R peak arrived */
        if (!b->searchback) {
            if (b->decided_at - b->sample > (int64_t)(0.5 * e->fs)) {
                late++;
                fprintf(stderr, "  beat at %.3f s decided %.3f s later\n", (double)b->sample / e->fs,
                        (double)(b->decided_at - b->sample) / e->fs);
            }
        } else {
            nsb++;
            double limit = (1.7 * rr + 0.2) * e->fs;
            if (j == 0 || (double)(b->decided_at - d.b[j - 1].sample) > limit) {
                late_sb++;
                fprintf(stderr, "  search-back beat at %.3f s decided %.3f s after the previous beat (RR %.3f s)\n",
                        (double)b->sample / e->fs,
                        j ? (double)(b->decided_at - d.b[j - 1].sample) / e->fs : -1.0, rr);
            }
        }
    }
    CHECK(nsb >= 4, "only %zu search-back beats: the bound for them was not exercised", nsb);
    CHECK(late == 0, "%d directly found beats decided more than 0.5 s after (or before) their R peak", late);
    CHECK(late_sb == 0, "%d search-back beats decided later than 1.7 RR + 0.2 s after the previous beat", late_sb);
    list_free(&d);
    synth_free(e);
}

static int same_beats(const beat_list *a, const beat_list *b, const char *what)
{
    if (a->n != b->n) {
        fprintf(stderr, "  %s: %zu beats vs %zu\n", what, a->n, b->n);
        return 0;
    }
    for (size_t j = 0; j < a->n; j++)
        if (a->b[j].sample != b->b[j].sample || a->b[j].lead != b->b[j].lead ||
            a->b[j].searchback != b->b[j].searchback) {
            fprintf(stderr, "  %s: beat %zu differs: sample %lld/%lld lead %d/%d search-back %d/%d\n", what, j,
                    (long long)a->b[j].sample, (long long)b->b[j].sample, a->b[j].lead, b->b[j].lead,
                    a->b[j].searchback, b->b[j].searchback);
            return 0;
        }
    return 1;
}

/* A strip that exercises every decision: ectopics, noise, weak beats (search-back), 3 leads. */
static synth_ecg *busy_strip(double dur)
{
    synth_opts o = opts(360, dur, 3, 80.0, 1000);
    o.pvc_prob = 0.1;
    o.pac_prob = 0.1;
    o.wander_mv = 0.3;
    o.mains_mv = 0.05;
    o.emg_mv = 0.03;
    synth_ecg *e = generate(&o);
    for (size_t i = 5; i < e->nbeats; i += 17) shrink_beat(e, e->beats[i].sample, 0.3);
    return e;
}

static void the_beats_do_not_depend_on_how_the_samples_are_split_into_pushes(void)
{
    synth_ecg *e = busy_strip(40.0);
    beat_list ref = detect_with(e, NULL, ALL_AT_ONCE);
    size_t nsb = 0;
    for (size_t j = 0; j < ref.n; j++) nsb += ref.b[j].searchback;
    CHECK(ref.n > 20 && nsb > 0, "%zu beats, %zu by search-back: the strip does not exercise the detector", ref.n,
          nsb);
    const size_t sizes[] = {1, 7, 256, 1000, RANDOM_SIZES};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        beat_list d = detect_with(e, NULL, sizes[k]);
        char what[64];
        if (sizes[k] == RANDOM_SIZES) snprintf(what, sizeof what, "random push sizes");
        else snprintf(what, sizeof what, "pushes of %zu", sizes[k]);
        CHECK(same_beats(&ref, &d, what), "%s: beats differ from one push of everything", what);
        list_free(&d);
    }
    list_free(&ref);
    synth_free(e);
}

static void the_scalar_and_simd_kernels_give_identical_beats(void)
{
    synth_ecg *e = busy_strip(40.0);
    const dsp_kernels *best = dsp_kernels_for(dsp_simd_best());
    CHECK(best->level != DSP_SIMD_SCALAR, "this CPU has no SIMD kernels: nothing compared");
    beat_list scalar = detect_with(e, dsp_kernels_for(DSP_SIMD_SCALAR), 4096);
    for (int level = DSP_SIMD_SSE2; level <= (int)best->level; level++) {
        const dsp_kernels *k = dsp_kernels_for((dsp_simd_level)level);
        beat_list d = detect_with(e, k, 4096);
        CHECK(same_beats(&scalar, &d, k->name), "%s kernels: beats differ from the scalar ones", k->name);
        list_free(&d);
    }
    list_free(&scalar);
    synth_free(e);
}

/* ---- signals that change under the detector ---- */

static void no_beats_are_detected_in_asystole(void)
{
    const double rates[] = {250, 500};
    for (size_t r = 0; r < 2; r++) {
        synth_opts o = opts(rates[r], 18.0, 2, 72.0, 1100 + r);
        synth_ecg *e = generate(&o);
        o.amp_mv = 0.0;
        o.emg_mv = 0.010; /* 10 µV RMS of electrode/amplifier noise, no heart */
        synth_ecg *noise = generate(&o);
        int64_t stop = diastole_after(e, 10.0);
        for (int l = 0; l < e->nleads; l++)
            for (int64_t i = 0; i < e->nsamples; i++) {
                if (i >= stop) lead(e, l)[i] = 0.0f;
                lead(e, l)[i] += lead(noise, l)[i];
            }
        beat_list d = detect(e);
        score s = score_range(e, &d, EDGE_S, (double)stop / e->fs);
        CHECK_PERFECT(s, "the 10 s before the asystole");
        int during = 0;
        for (size_t j = 0; j < d.n; j++)
            if (d.b[j].sample > stop) {
                during++;
                fprintf(stderr, "  beat at %.3f s in the asystole (from %.3f s)\n", (double)d.b[j].sample / e->fs,
                        (double)stop / e->fs);
            }
        CHECK(during == 0, "%g Hz: %d beats detected in 8 s of asystole", rates[r], during);
        list_free(&d);
        synth_free(noise);
        synth_free(e);
    }
}

static void when_one_lead_goes_flat_the_beats_are_still_found_on_the_other(void)
{
    for (int off = 0; off < 2 * SEEDS; off++) {
        synth_opts o = opts(360, LONG_S, 2, 72.0, 1200 + (uint64_t)off);
        synth_ecg *e = generate(&o);
        int64_t cut = diastole_after(e, LONG_S / 2.0);
        float hold = lead(e, off % 2)[cut];
        for (int64_t i = cut; i < e->nsamples; i++) lead(e, off % 2)[i] = hold;
        beat_list d = detect(e);
        char what[64];
        snprintf(what, sizeof what, "lead %d flat from %.1f s, seed %d", off % 2, (double)cut / e->fs, (int)o.seed);
        score s = score_all(e, &d);
        CHECK_PERFECT(s, what);
        int on_flat = 0;
        for (size_t j = 0; j < d.n; j++) on_flat += d.b[j].sample > cut + (int64_t)e->fs && d.b[j].lead == off % 2;
        CHECK(on_flat == 0, "%s: %d later beats name the flat lead as dominant", what, on_flat);
        list_free(&d);
        synth_free(e);
    }
}

static void after_the_amplitude_drops_to_a_fifth_beats_are_found_again_within_5_s(void)
{
    const double rates[] = {360, 500};
    for (size_t r = 0; r < 2 * SEEDS; r++) {
        synth_opts o = opts(rates[r % 2], LONG_S, r % 2 ? 12 : 2, 72.0, 1300 + r);
        synth_ecg *e = generate(&o);
        int64_t cut = diastole_after(e, LONG_S / 2.0);
        for (int l = 0; l < e->nleads; l++)
            for (int64_t i = cut; i < e->nsamples; i++) lead(e, l)[i] *= 0.2f;
        beat_list d = detect(e);
        double cut_s = (double)cut / e->fs, end_s = (double)e->nsamples / e->fs - EDGE_S;
        char what[96];
        snprintf(what, sizeof what, "%g Hz, seed %d, before the drop at %.1f s", o.fs, (int)o.seed, cut_s);
        score before = score_range(e, &d, EDGE_S, cut_s);
        CHECK_PERFECT(before, what);
        snprintf(what, sizeof what, "%g Hz, seed %d, from 5 s after the drop at %.1f s", o.fs, (int)o.seed, cut_s);
        score after = score_range(e, &d, cut_s + 5.0, end_s);
        CHECK(after.c.tp > 5, "%s: only %ld beats to score", what, after.c.tp);
        CHECK_PERFECT(after, what);
        score between = score_range(e, &d, cut_s, cut_s + 5.0);
        CHECK(between.c.fp == 0, "%s: %ld false beats while relearning the amplitude", what, between.c.fp);
        list_free(&d);
        synth_free(e);
    }
}

/* ---- the contract's edges ---- */

static void bad_sample_rates_and_lead_counts_are_refused_with_a_message(void)
{
    const struct {
        double fs;
        int nleads;
        const char *mention;
    } bad[] = {{100, 2, "100"}, {2500, 2, "2500"}, {124.9, 2, "124.9"}, {500, 0, "0 leads"}, {500, 65, "65 leads"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[256] = "";
        dsp_qrs *q = dsp_qrs_create(bad[i].fs, bad[i].nleads, NULL, err, sizeof err);
        CHECK(q == NULL, "fs %g, %d leads accepted", bad[i].fs, bad[i].nleads);
        CHECK(strstr(err, bad[i].mention) != NULL, "fs %g, %d leads: message \"%s\" does not mention \"%s\"",
              bad[i].fs, bad[i].nleads, err, bad[i].mention);
        dsp_qrs_free(q);
    }
    char err[256] = "";
    dsp_qrs *q = dsp_qrs_create(125, 1, NULL, err, sizeof err), *r = dsp_qrs_create(2000, 64, NULL, err, sizeof err);
    CHECK(q && r, "the extremes 125 Hz/1 lead and 2000 Hz/64 leads refused: %s", err);
    dsp_qrs_free(q);
    dsp_qrs_free(r);
}

static void the_state_grows_with_the_leads_by_less_than_64_kib_each_at_500_hz(void)
{
    const int leads[] = {1, 2, 12, 64};
    size_t bytes[4];
    char err[256] = "";
    for (int i = 0; i < 4; i++) {
        dsp_qrs *q = dsp_qrs_create(500, leads[i], NULL, err, sizeof err);
        CHECK(q != NULL, "%d leads: %s", leads[i], err);
        bytes[i] = q ? dsp_qrs_state_bytes(q) : 0;
        dsp_qrs_free(q);
    }
    for (int i = 1; i < 4; i++) {
        CHECK(bytes[i] > bytes[i - 1], "%d leads: %zu bytes, %d leads: %zu", leads[i - 1], bytes[i - 1], leads[i],
              bytes[i]);
        double per_lead = (double)(bytes[i] - bytes[i - 1]) / (leads[i] - leads[i - 1]);
        CHECK(per_lead < 65536.0, "%.0f bytes per lead from %d to %d leads", per_lead, leads[i - 1], leads[i]);
    }
}

static void flushing_an_empty_detector_or_flushing_twice_yields_nothing_more(void)
{
    char err[256] = "";
    dsp_qrs *q = dsp_qrs_create(360, 2, NULL, err, sizeof err);
    CHECK(q != NULL, "%s", err);
    if (!q) return;
    dsp_beat b;
    dsp_qrs_flush(q);
    CHECK(!dsp_qrs_next(q, &b), "a beat from no samples");
    dsp_qrs_free(q);

    synth_opts o = opts(360, 10.0, 2, 72.0, 1400);
    synth_ecg *e = generate(&o);
    q = dsp_qrs_create(e->fs, e->nleads, NULL, err, sizeof err);
    dsp_qrs_push(q, e->uv, (size_t)e->nsamples, (size_t)e->nsamples);
    dsp_qrs_flush(q);
    size_t n = 0;
    while (dsp_qrs_next(q, &b)) n++;
    dsp_qrs_flush(q);
    CHECK(n >= 10 && !dsp_qrs_next(q, &b), "%zu beats, then more after a second flush", n);
    dsp_qrs_free(q);
    synth_free(e);
}

int main(void)
{
    RUN(every_beat_of_a_clean_ecg_is_found_with_no_false_beats_at_every_sample_rate);
    RUN(the_fiducial_point_of_normal_beats_lies_near_the_r_peak);
    RUN(premature_ventricular_and_supraventricular_beats_are_all_found);
    RUN(beats_are_all_found_from_30_to_200_bpm);
    RUN(beats_are_found_through_baseline_wander_mains_and_muscle_noise);
    RUN(an_artefact_confined_to_one_lead_is_not_taken_for_a_beat);
    RUN(a_resting_12_lead_ecg_has_its_first_full_beat_found_and_at_most_one_false_beat_in_its_first_second);
    RUN(the_last_beats_of_a_record_are_found_when_it_is_flushed);
    RUN(a_weak_beat_among_normal_ones_is_found_by_search_back);
    RUN(beats_are_decided_soon_after_their_r_peak_when_pushed_sample_by_sample);
    RUN(the_beats_do_not_depend_on_how_the_samples_are_split_into_pushes);
    RUN(the_scalar_and_simd_kernels_give_identical_beats);
    RUN(no_beats_are_detected_in_asystole);
    RUN(when_one_lead_goes_flat_the_beats_are_still_found_on_the_other);
    RUN(after_the_amplitude_drops_to_a_fifth_beats_are_found_again_within_5_s);
    RUN(bad_sample_rates_and_lead_counts_are_refused_with_a_message);
    RUN(the_state_grows_with_the_leads_by_less_than_64_kib_each_at_500_hz);
    RUN(flushing_an_empty_detector_or_flushing_twice_yields_nothing_more);
    return check_report();
}
