/* test_rhythm_afl.c — specification of the atrial flutter detector (models/rhythm_afl.h) on
 * synthetic ECGs (flutter under variable and fixed block, sinus rhythm, fibrillatory waves) and
 * of AFL episodes on MIT-BIH 222. */
#include "check.h"

#include "beatclass.h"
#include "pipeline.h"
#include "record.h"
#include "rhythm_afl.h"

#include <stdint.h>

#define FS 360.0
#define MAXN 46800 /* 130 s at 360 Hz */
#define MAXB 1024
#define WARMUP_S 60.0 /* 64 RR intervals for the AF test, the template's first beats, a window */

typedef enum { ATRIA_FLUTTER, ATRIA_SINUS, ATRIA_FIBRILLATION } atria;

typedef struct {
    atria kind;
    double amp_uv;       /* flutter / fibrillatory wave peak to peak, or P-wave height */
    double cycle_s;      /* flutter cycle */
    double jitter;       /* each wave's cycle varies by up to this fraction either way */
    const int *block;    /* flutter: waves per conducted beat, repeated */
    int nblock;
    double fr_s;         /* flutter: the conducted wave's onset to the R peak ... */
    double fr_spread_s;  /* ... plus up to this much (AV conduction varies beat to beat) */
    double seconds;
    uint32_t seed;
} scenario;

typedef struct {
    float uv[2 * MAXN]; /* lead-major, stride n */
    size_t n;
    int64_t beat[MAXB];
    size_t nbeats;
} ecg;

static uint32_t rng;
static double uniform(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (double)(rng >> 8) / 16777216.0;
}

static double gauss(double t, double mu, double sigma)
{
    double z = (t - mu) / sigma;
    return exp(-0.5 * z * z);
}

/* Flutter's negative sawtooth: a slow descent over three quarters of the cycle, a quick rise. */
static double sawtooth(double phase)
{
    return phase < 0.75 ? 0.5 - phase / 0.75 : -0.5 + (phase - 0.75) / 0.25;
}

/* Builds the ECG: atrial activity, QRS-T complexes at the beats, 8 µV of noise. Lead 2 is a
 * smaller, inverted QRS with the same atrial activity at 60 %. */
static void build(ecg *e, const scenario *sc)
{
    rng = sc->seed;
    e->n = (size_t)(sc->seconds * FS);
    e->nbeats = 0;
    double *atr = calloc(e->n, sizeof *atr);
    if (sc->kind == ATRIA_SINUS) {
        /* Irregular (sinus arrhythmia, premature beats), so that the detector measures it. */
        for (double t = 0.5; t < sc->seconds - 1 && e->nbeats < MAXB; t += 0.6 + 0.4 * uniform())
            e->beat[e->nbeats++] = (int64_t)(t * FS);
        for (size_t b = 0; b < e->nbeats; b++)
            for (size_t i = 0; i < e->n; i++)
                atr[i] += sc->amp_uv * gauss((double)i / FS, (double)e->beat[b] / FS - 0.16, 0.025);
    } else {
        /* Waves one after the other; a beat follows the conducted wave by 0.25 s (flutter), or
         * the ventricles beat irregularly whatever the waves do (fibrillation). */
        double start = 0, cycle = sc->cycle_s, amp = sc->amp_uv;
        int k = 0, next_conducted = 2, bi = 0;
        for (size_t i = 0; i < e->n; i++) {
            double t = (double)i / FS;
            while (t >= start + cycle) {
                start += cycle;
                cycle = sc->cycle_s * (1 + sc->jitter * (2 * uniform() - 1));
                if (sc->kind == ATRIA_FIBRILLATION) amp = sc->amp_uv * (0.5 + 0.5 * uniform());
                k++;
                if (sc->kind == ATRIA_FLUTTER && sc->block && k == next_conducted && e->nbeats < MAXB) {
                    e->beat[e->nbeats++] = (int64_t)((start + sc->fr_s + sc->fr_spread_s * uniform()) * FS);
                    next_conducted += sc->block[bi++ % sc->nblock];
                }
            }
            atr[i] = amp * sawtooth((t - start) / cycle);
        }
        /* Ventricles on their own: fibrillation's irregular response, or (flutter without a
         * block pattern) intervals of fr_s plus up to fr_spread_s. */
        if (sc->kind == ATRIA_FIBRILLATION)
            for (double t = 0.5; t < sc->seconds - 1 && e->nbeats < MAXB; t += 0.45 + 0.55 * uniform())
                e->beat[e->nbeats++] = (int64_t)(t * FS);
        if (sc->kind == ATRIA_FLUTTER && !sc->block)
            for (double t = 0.5; t < sc->seconds - 1 && e->nbeats < MAXB; t += sc->fr_s + sc->fr_spread_s * uniform())
                e->beat[e->nbeats++] = (int64_t)(t * FS);
    }
    for (size_t i = 0; i < e->n; i++) {
        double t = (double)i / FS, v = 0;
        for (size_t b = 0; b < e->nbeats; b++) {
            double r = (double)e->beat[b] / FS;
            if (fabs(t - r) > 0.6) continue;
            v += 1000 * gauss(t, r, 0.012) - 150 * gauss(t, r - 0.03, 0.01) - 200 * gauss(t, r + 0.03, 0.01) +
                 250 * gauss(t, r + 0.28, 0.05);
        }
        double noise = 8.0 * sqrt(-2 * log(uniform() + 1e-12)) * cos(2 * M_PI * uniform());
        e->uv[i] = (float)(v + atr[i] + noise);
        e->uv[e->n + i] = (float)(-0.5 * v + 0.6 * atr[i] + noise);
    }
    free(atr);
}

typedef struct {
    size_t verdicts, judged, flutter; /* all verdicts; those after the warm-up; flutter among them */
    double lag_s;                     /* median-free mean of the flutter verdicts' lead-1 lag */
    int64_t last_end;
    int tiles;                        /* every verdict starts where the one before ended */
    rh_afl_verdict v[200];
} outcome;

/* Takes the verdicts ready into o. */
static void collect(rh_afl *a, outcome *o)
{
    rh_afl_verdict v;
    while (rh_afl_next(a, &v)) {
        if (o->verdicts && v.start != o->last_end) o->tiles = 0;
        o->last_end = v.end;
        if (o->verdicts < 200) o->v[o->verdicts] = v;
        o->verdicts++;
        if ((double)v.start < WARMUP_S * FS) continue;
        o->judged++;
        if (v.flutter) {
            o->flutter++;
            o->lag_s += v.lead[0].lag_s;
        }
    }
}

/* Runs the detector over e, pushing blocks of `block` samples and each beat `beat_lag_s` after
 * the signal reaches it (negative: before). */
static outcome detect(const ecg *e, size_t block, double beat_lag_s)
{
    outcome o;
    memset(&o, 0, sizeof o);
    o.tiles = 1;
    char err[256];
    rh_afl *a = rh_afl_create(FS, 2, err, sizeof err);
    CHECK(a != NULL, "%s", err);
    if (!a) return o;
    float *buf = malloc(2 * block * sizeof *buf);
    size_t b = 0;
    for (size_t at = 0; at < e->n; at += block) {
        size_t n = e->n - at < block ? e->n - at : block;
        memcpy(buf, e->uv + at, n * sizeof *buf);
        memcpy(buf + n, e->uv + e->n + at, n * sizeof *buf);
        CHECK(rh_afl_push(a, buf, n, (int64_t)at, n, err, sizeof err) == 0, "%s", err);
        while (b < e->nbeats && (double)e->beat[b] <= (double)(at + n) - beat_lag_s * FS) {
            CHECK(rh_afl_beat(a, e->beat[b], 'N', err, sizeof err) == 0, "%s", err);
            b++;
        }
        collect(a, &o);
    }
    for (; b < e->nbeats; b++) CHECK(rh_afl_beat(a, e->beat[b], 'N', err, sizeof err) == 0, "%s", err);
    collect(a, &o);
    if (o.flutter) o.lag_s /= (double)o.flutter;
    free(buf);
    rh_afl_free(a);
    return o;
}


static double share(const outcome *o)
{
    return o->judged ? (double)o->flutter / (double)o->judged : 0.0;
}

static const int variable_block[] = {2, 4, 3, 2, 3, 4, 4, 2, 3};
static const int slow_block[] = {4, 5, 4, 6, 5}; /* RR 0.8-1.2 s: no T wave reaches the next beat */
static const int block_2[] = {2}, block_4[] = {4};

static ecg sig; /* large: one at a time */

static void flutter_at_5_hz_under_variable_block_is_flutter_with_its_cycle(void)
{
    for (uint32_t seed = 1; seed <= 3; seed++) {
        scenario sc = {ATRIA_FLUTTER, 250, 0.2, 0, variable_block, 9, 0.22, 0.20, 130, seed};
        build(&sig, &sc);
        outcome o = detect(&sig, 1000, 0.5);
        CHECK(o.judged >= 25, "seed %u: %zu windows judged", seed, o.judged);
        CHECK(share(&o) >= 0.9, "seed %u: flutter in %.0f %% of the windows", seed, 100 * share(&o));
        CHECK_NEAR(o.lag_s, 0.2, 0.025, "flutter cycle, s");
    }
    /* Slow (treated) flutter at 3.3 Hz is flutter too; 7 Hz is outside the flutter cycles. */
    scenario slow = {ATRIA_FLUTTER, 250, 0.3, 0, variable_block, 9, 0.22, 0.20, 130, 4};
    build(&sig, &slow);
    outcome o = detect(&sig, 1000, 0.5);
    CHECK(share(&o) >= 0.9, "3.3 Hz: flutter in %.0f %% of the windows", 100 * share(&o));
    CHECK_NEAR(o.lag_s, 0.3, 0.03, "slow flutter cycle, s");
    scenario fast = {ATRIA_FLUTTER, 250, 0.14, 0, variable_block, 9, 0.22, 0.20, 130, 5};
    build(&sig, &fast);
    o = detect(&sig, 1000, 0.5);
    CHECK(share(&o) <= 0.1, "7 Hz: flutter in %.0f %% of the windows", 100 * share(&o));
}

static void flutter_waves_too_small_to_rise_above_35_uv_are_not_judged(void)
{
    /* A sawtooth's band-passed level is about a fifth of its peak to peak: 250 µV gives ~50 µV
     * (flutter), 100 µV ~20 µV (below the floor, however regular). Slow ventricular rates, so
     * that no T wave is left in the next beat's stretch to add to the residual. */
    scenario big = {ATRIA_FLUTTER, 250, 0.2, 0, slow_block, 5, 0.22, 0.20, 130, 6};
    build(&sig, &big);
    outcome o = detect(&sig, 1000, 0.5);
    CHECK(share(&o) >= 0.9, "250 µV: flutter in %.0f %% of the windows", 100 * share(&o));
    scenario small = {ATRIA_FLUTTER, 100, 0.2, 0, slow_block, 5, 0.22, 0.20, 130, 6};
    build(&sig, &small);
    o = detect(&sig, 1000, 0.5);
    CHECK(o.flutter == 0, "100 µV: %zu flutter windows", o.flutter);
    for (size_t i = 0; i < o.verdicts && i < 200; i++)
        if ((double)o.v[i].start >= WARMUP_S * FS)
            CHECK(o.v[i].lead[0].rms_uv < 35, "100 µV: residual %.0f µV", o.v[i].lead[0].rms_uv);
}

static void fibrillatory_waves_whose_cycle_wanders_are_not_flutter(void)
{
    /* Atrial waves of varying cycle: ±10 % keeps the rhythm of flutter, ±40 % wave to wave
     * (fibrillation's disorganised activity) loses it within two cycles. */
    scenario steady = {ATRIA_FLUTTER, 250, 0.2, 0.1, variable_block, 9, 0.22, 0.20, 130, 7};
    build(&sig, &steady);
    outcome o = detect(&sig, 1000, 0.5);
    CHECK(share(&o) >= 0.8, "±10 %% cycle: flutter in %.0f %% of the windows", 100 * share(&o));
    for (uint32_t seed = 8; seed <= 10; seed++) {
        scenario af = {ATRIA_FIBRILLATION, 250, 0.17, 0.4, NULL, 0, 0, 0, 130, seed};
        build(&sig, &af);
        o = detect(&sig, 1000, 0.5);
        CHECK(o.judged >= 25, "seed %u: %zu windows judged", seed, o.judged);
        CHECK(share(&o) <= 0.05, "seed %u: fibrillatory waves flutter in %.0f %% of the windows", seed,
              100 * share(&o));
    }
}

static void sinus_rhythm_with_p_waves_and_a_flat_baseline_is_not_flutter(void)
{
    for (uint32_t seed = 11; seed <= 13; seed++) {
        scenario sc = {ATRIA_SINUS, 150, 0, 0, NULL, 0, 0, 0, 130, seed};
        build(&sig, &sc);
        outcome o = detect(&sig, 1000, 0.5);
        CHECK(o.judged >= 25, "seed %u: %zu windows judged", seed, o.judged);
        CHECK(o.flutter == 0, "seed %u: %zu flutter windows in sinus rhythm", seed, o.flutter);
        size_t measured = 0;
        for (size_t i = 0; i < o.verdicts && i < 200; i++)
            measured += (double)o.v[i].start >= WARMUP_S * FS && o.v[i].lead[0].valid >= 0.25;
        CHECK(measured >= 25, "seed %u: %zu windows measured: the irregular sinus rhythm is", seed, measured);
    }
}

static void flutter_under_a_regular_ventricular_rhythm_is_not_measured(void)
{
    /* Only AF is told apart as flutter, and AF is irregular: the same flutter waves are measured
     * under an irregular ventricular response and not under a regular one. */
    scenario irregular = {ATRIA_FLUTTER, 250, 0.2, 0, NULL, 0, 0.5, 0.5, 130, 16};
    build(&sig, &irregular);
    outcome o = detect(&sig, 1000, 0.5);
    CHECK(share(&o) >= 0.9, "RR 0.5-1.0 s: flutter in %.0f %% of the windows", 100 * share(&o));
    scenario regular = {ATRIA_FLUTTER, 250, 0.2, 0, NULL, 0, 0.8, 0.02, 130, 16};
    build(&sig, &regular);
    o = detect(&sig, 1000, 0.5);
    CHECK(o.judged >= 25 && o.flutter == 0, "RR 0.80-0.82 s: %zu flutter windows of %zu", o.flutter, o.judged);
    for (size_t i = 0; i < o.verdicts && i < 200; i++)
        CHECK(o.v[i].lead[0].valid == 0, "RR 0.80-0.82 s: window at %.0f s measured", (double)o.v[i].start / FS);
    /* Fixed 2:1 and 4:1 block: regular, and every conducted wave sits at the same place before
     * its QRS, where the template would take it with the QRS-T anyway (rhythm_afl.h). */
    const int *blocks[] = {block_2, block_4};
    for (int i = 0; i < 2; i++) {
        scenario sc = {ATRIA_FLUTTER, 250, 0.2, 0, blocks[i], 1, 0.25, 0, 130, 14};
        build(&sig, &sc);
        outcome o = detect(&sig, 1000, 0.5);
        CHECK(o.judged >= 25, "%d:1: %zu windows judged", i ? 4 : 2, o.judged);
        CHECK(o.flutter == 0, "%d:1: %zu flutter windows", i ? 4 : 2, o.flutter);
    }
}

static void verdicts_tile_time_and_do_not_depend_on_blocks_or_when_beats_arrive(void)
{
    scenario sc = {ATRIA_FLUTTER, 250, 0.2, 0, variable_block, 9, 0.22, 0.20, 130, 15};
    build(&sig, &sc);
    static outcome ref, o;
    ref = detect(&sig, 1000, 0.5);
    CHECK(ref.tiles, "verdicts leave gaps or overlap");
    CHECK(ref.verdicts >= 55, "%zu verdicts over 130 s", ref.verdicts);
    if (ref.verdicts) CHECK_NEAR((double)(ref.v[0].end - ref.v[0].start) / FS, RH_AFL_HOP_S, 0.01, "verdict span, s");
    const size_t blocks[] = {1, 37, 4096};
    const double lags[] = {0.3, -2.0, 5.0};
    for (int i = 0; i < 3; i++) {
        o = detect(&sig, blocks[i], lags[i]);
        CHECK(o.verdicts == ref.verdicts, "block %zu: %zu verdicts, %zu with 1000", blocks[i], o.verdicts,
              ref.verdicts);
        int same = 1;
        for (size_t k = 0; k < o.verdicts && k < ref.verdicts && k < 200; k++)
            same &= o.v[k].start == ref.v[k].start && o.v[k].flutter == ref.v[k].flutter &&
                    fabs(o.v[k].lead[0].r1 - ref.v[k].lead[0].r1) < 1e-6;
        CHECK(same, "block %zu, beats %.1f s after the signal: verdicts differ", blocks[i], lags[i]);
    }
}

static void bad_input_is_an_error_with_a_message(void)
{
    char err[256] = "";
    CHECK(rh_afl_create(20, 2, err, sizeof err) == NULL && strstr(err, "20 Hz"), "20 Hz: %s", err);
    CHECK(rh_afl_create(360, 0, err, sizeof err) == NULL && strstr(err, "0 leads"), "0 leads: %s", err);
    rh_afl *a = rh_afl_create(360, 1, err, sizeof err);
    float x[100] = {0};
    CHECK(rh_afl_push(a, x, 100, 0, 100, err, sizeof err) == 0, "%s", err);
    CHECK(rh_afl_push(a, x, 100, 150, 100, err, sizeof err) == -1 && strstr(err, "150"), "a gap: %s", err);
    CHECK(rh_afl_beat(a, 50, 'N', err, sizeof err) == 0, "%s", err);
    CHECK(rh_afl_beat(a, 50, 'N', err, sizeof err) == -1 && strstr(err, "50"), "a repeated beat: %s", err);
    rh_afl_free(a);
    rh_afl_free(NULL);
}

/* MIT-BIH 222 through the whole pipeline: AFL where the reference says atrial flutter. */
static void afl_on_mitdb_222_lies_inside_the_reference_flutter(void)
{
    char path[1024], err[1024];
    fmt_record *rec = NULL;
    bc_model *model = NULL;
    pipeline_result *r = NULL;
    CHECK(bc_model_load(NULL, &model, err, sizeof err) == 0, "%s", err);
    CHECK(fmt_record_open(check_data_path(path, sizeof path, "mitdb/222"), &rec, err, sizeof err) == 0, "%s", err);
    if (!rec || !model) goto done;
    pipeline_opts o;
    pipeline_opts_default(&o);
    o.beat_model = model;
    CHECK(pipeline_run_record(rec, &o, &r, err, sizeof err) == 0, "%s", err);
    if (!r) goto done;
    /* The reference's flutter from 1606.5 s to the end of its last AFL stretch (1805.6 s),
     * with short AFIB stretches inside. */
    double afl = 0, inside = 0;
    for (size_t i = 0; i < r->nrhythms; i++) {
        if (strcmp(r->rhythms[i].label, "AFL")) continue;
        double a = (double)r->rhythms[i].start / r->fs, b = (double)r->rhythms[i].end / r->fs;
        afl += b - a;
        double lo = a > 1606.5 ? a : 1606.5, hi = b < 1805.6 ? b : 1805.6;
        if (hi > lo) inside += hi - lo;
    }
    CHECK(afl >= 100, "222: %.1f s of AFL, the reference has 143 s from 1662.6 s", afl);
    CHECK(inside >= 0.9 * afl, "222: %.1f of %.1f s of AFL inside the reference flutter", inside, afl);
done:
    pipeline_result_free(r);
    fmt_record_free(rec);
    bc_model_free(model);
}

int main(void)
{
    RUN(flutter_at_5_hz_under_variable_block_is_flutter_with_its_cycle);
    RUN(flutter_waves_too_small_to_rise_above_35_uv_are_not_judged);
    RUN(fibrillatory_waves_whose_cycle_wanders_are_not_flutter);
    RUN(sinus_rhythm_with_p_waves_and_a_flat_baseline_is_not_flutter);
    RUN(flutter_under_a_regular_ventricular_rhythm_is_not_measured);
    RUN(verdicts_tile_time_and_do_not_depend_on_blocks_or_when_beats_arrive);
    RUN(bad_input_is_an_error_with_a_message);
    RUN(afl_on_mitdb_222_lies_inside_the_reference_flutter);
    return check_report();
}
