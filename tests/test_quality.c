/* test_quality.c — signal quality: good leads, a lead off, saturation, noise, unreadable stretches. */
#include "check.h"
#include "quality.h"
#include "synth.h"

#include <math.h>

#define FS 500

typedef struct {
    int32_t *frames;
    int64_t n;
    int nleads;
    fmt_lead leads[4];
} sig;

/* A clean 2-lead synthetic ECG of `seconds`, 1 µV per unit, 16-bit ADC. */
static sig clean(double seconds, int nleads)
{
    synth_opts o;
    synth_defaults(&o);
    o.fs = FS;
    o.nleads = nleads;
    o.duration_s = seconds;
    o.seed = 5;
    synth_ecg *e = synth_generate(&o);
    sig s;
    memset(&s, 0, sizeof s);
    s.frames = malloc(sizeof(int32_t) * (size_t)e->nsamples * (size_t)nleads);
    s.n = e->nsamples;
    s.nleads = nleads;
    for (int l = 0; l < nleads; l++) {
        snprintf(s.leads[l].name, sizeof s.leads[l].name, "L%d", l);
        s.leads[l].uv_per_unit = 1.0;
        s.leads[l].adc_min = -32768;
        s.leads[l].adc_max = 32767;
        for (int64_t i = 0; i < e->nsamples; i++)
            s.frames[i * nleads + l] = (int32_t)lrintf(e->uv[(size_t)l * (size_t)e->nsamples + (size_t)i]);
    }
    synth_free(e);
    return s;
}

static uint32_t rng = 99;
static double gauss(void)
{
    double u = 0;
    for (int k = 0; k < 12; k++) {
        rng = rng * 1664525u + 1013904223u;
        u += (double)(rng >> 8) / 16777216.0;
    }
    return u - 6.0;
}

/* Runs the checker in pieces of 333 frames; returns the stretches (up to 16). */
static int run(const sig *s, sq_stream **out, sq_stretch *st)
{
    char err[256];
    sq_stream *q = sq_stream_create(FS, s->nleads, s->leads, err, sizeof err);
    CHECK(q != NULL, "%s", err);
    if (!q) return 0;
    for (int64_t i = 0; i < s->n; i += 333)
        sq_stream_push(q, s->frames + i * s->nleads, (size_t)(s->n - i < 333 ? s->n - i : 333));
    sq_stream_finish(q);
    int n = 0;
    while (n < 16 && sq_stream_next_unreadable(q, &st[n])) n++;
    *out = q;
    return n;
}

static void a_clean_ecg_is_good_on_every_lead_and_never_unreadable(void)
{
    sig s = clean(20, 2);
    sq_stream *q;
    sq_stretch st[16];
    CHECK(run(&s, &q, st) == 0, "no unreadable stretch");
    for (int l = 0; l < 2; l++) {
        CHECK(sq_lead_quality(q, l) == 1.0, "lead %d quality %g", l, sq_lead_quality(q, l));
        CHECK(sq_lead_state(q, l) == SQ_GOOD, "lead %d %s", l, sq_state_name(sq_lead_state(q, l)));
    }
    sq_stream_free(q);
    free(s.frames);
}

static void a_flat_lead_is_off_but_the_recording_stays_readable(void)
{
    sig s = clean(20, 2);
    for (int64_t i = 10 * FS; i < s.n; i++) s.frames[i * 2 + 1] = 7; /* lead 1 falls off at 10 s */
    sq_stream *q;
    sq_stretch st[16];
    CHECK(run(&s, &q, st) == 0, "the other lead still reads");
    CHECK(sq_lead_state(q, 1) == SQ_OFF, "lead 1 is %s", sq_state_name(sq_lead_state(q, 1)));
    CHECK(fabs(sq_lead_quality(q, 1) - 0.5) < 0.06, "lead 1 good half the time: %g", sq_lead_quality(q, 1));
    CHECK(sq_lead_state(q, 0) == SQ_GOOD, "lead 0 good");
    sq_stream_free(q);
    free(s.frames);
}

static void when_every_lead_is_off_the_stretch_is_unreadable_to_the_second(void)
{
    sig s = clean(30, 2);
    for (int64_t i = 10 * FS; i < 15 * FS; i++) s.frames[i * 2] = s.frames[i * 2 + 1] = 0;
    sq_stream *q;
    sq_stretch st[16];
    int n = run(&s, &q, st);
    CHECK(n == 1, "%d stretches", n);
    if (n == 1) CHECK(st[0].start == 10 * FS && st[0].end == 15 * FS, "%lld..%lld", (long long)st[0].start, (long long)st[0].end);
    sq_stream_free(q);
    free(s.frames);
}

static void saturation_at_the_adc_limits_is_saturated(void)
{
    sig s = clean(10, 1);
    s.leads[0].adc_min = -2048;
    s.leads[0].adc_max = 2047;
    for (int64_t i = 3 * FS; i < 4 * FS; i++) s.frames[i] = i % 3 ? 2047 : -2048;
    sq_stream *q;
    sq_stretch st[16];
    int n = run(&s, &q, st);
    CHECK(n == 1 && st[0].start == 3 * FS && st[0].end == 4 * FS, "%d stretches", n);
    sq_stream_free(q);
    free(s.frames);
}

static void white_noise_and_motion_are_noisy_but_muscle_noise_on_an_ecg_is_not(void)
{
    sig s = clean(30, 1);
    for (int64_t i = 5 * FS; i < 8 * FS; i++) s.frames[i] = (int32_t)(500 * gauss());   /* noise only */
    for (int64_t i = 12 * FS; i < 13 * FS; i++) s.frames[i] += i < 12 * FS + FS / 2 ? 15000 : -15000; /* motion */
    for (int64_t i = 20 * FS; i < 30 * FS; i++) s.frames[i] += (int32_t)(80 * gauss()); /* EMG on the ECG */
    sq_stream *q;
    sq_stretch st[16];
    int n = run(&s, &q, st);
    CHECK(n == 2, "%d stretches", n);
    if (n == 2) {
        CHECK(st[0].start == 5 * FS && st[0].end == 8 * FS, "noise %lld..%lld", (long long)st[0].start, (long long)st[0].end);
        CHECK(st[1].start == 12 * FS && st[1].end == 13 * FS, "motion %lld..%lld", (long long)st[1].start, (long long)st[1].end);
    }
    CHECK(sq_lead_state(q, 0) == SQ_GOOD, "the ECG under muscle noise reads");
    sq_stream_free(q);
    free(s.frames);
}

static void bad_arguments_are_refused(void)
{
    char err[256];
    fmt_lead l;
    memset(&l, 0, sizeof l);
    CHECK(sq_stream_create(0, 1, &l, err, sizeof err) == NULL && strstr(err, "0 Hz"), "%s", err);
    CHECK(sq_stream_create(500, 0, &l, err, sizeof err) == NULL, "no leads");
}

int main(void)
{
    RUN(a_clean_ecg_is_good_on_every_lead_and_never_unreadable);
    RUN(a_flat_lead_is_off_but_the_recording_stays_readable);
    RUN(when_every_lead_is_off_the_stretch_is_unreadable_to_the_second);
    RUN(saturation_at_the_adc_limits_is_saturated);
    RUN(white_noise_and_motion_are_noisy_but_muscle_noise_on_an_ecg_is_not);
    RUN(bad_arguments_are_refused);
    return check_report();
}
