/* test_synth.c — specification of the synthetic ECG generator and its WFDB writer. */
#include "check.h"

#include "annot.h"
#include "record.h"
#include "synth.h"

#include <stdint.h>
#include <sys/stat.h>


static float at(const synth_ecg *e, int lead, int64_t i) { return e->uv[(size_t)lead * (size_t)e->nsamples + (size_t)i]; }

/* Field by field: the struct's padding bytes are not part of its value. */
static int same_beats(const synth_ecg *a, const synth_ecg *b)
{
    if (a->nbeats != b->nbeats) return 0;
    for (size_t k = 0; k < a->nbeats; k++)
        if (a->beats[k].sample != b->beats[k].sample || a->beats[k].label != b->beats[k].label) return 0;
    return 1;
}

static synth_ecg *make(double fs, double dur, int nleads, double hr, double pvc, double pac, uint64_t seed)
{
    synth_opts o;
    synth_defaults(&o);
    o.fs = fs;
    o.duration_s = dur;
    o.nleads = nleads;
    o.hr_bpm = hr;
    o.pvc_prob = pvc;
    o.pac_prob = pac;
    o.seed = seed;
    return synth_generate(&o);
}

/* Width of the QRS on lead II: samples around the peak above half of the peak value. */
static int64_t half_width(const synth_ecg *e, int64_t peak)
{
    float half = at(e, 1, peak) / 2.0f;
    int64_t lo = peak, hi = peak;
    while (lo > 0 && at(e, 1, lo - 1) > half) lo--;
    while (hi < e->nsamples - 1 && at(e, 1, hi + 1) > half) hi++;
    return hi - lo + 1;
}

static void defaults_are_as_documented(void)
{
    synth_opts o;
    synth_defaults(&o);
    CHECK(o.fs == 500.0 && o.duration_s == 10.0 && o.nleads == 2 && o.hr_bpm == 72.0, "basic defaults");
    CHECK(o.hrv_frac == 0.03 && o.pvc_prob == 0.0 && o.pac_prob == 0.0, "rhythm defaults");
    CHECK(o.wander_mv == 0.0 && o.mains_mv == 0.0 && o.emg_mv == 0.0, "no noise by default");
    synth_ecg *e = synth_generate(&o);
    CHECK(e && e->nsamples == 5000 && e->nleads == 2 && e->fs == 500.0, "10 s at 500 Hz, 2 leads");
    synth_free(e);
}

static void same_seed_gives_the_same_samples_and_another_seed_differs(void)
{
    synth_opts o;
    synth_defaults(&o);
    o.nleads = 3;
    o.pvc_prob = 0.1;
    o.pac_prob = 0.1;
    o.emg_mv = 0.05;
    o.wander_mv = 0.2;
    o.mains_mv = 0.05;
    o.seed = 42;
    synth_ecg *a = synth_generate(&o), *b = synth_generate(&o);
    o.seed = 43;
    synth_ecg *c = synth_generate(&o);
    CHECK(a && b && c, "generated");
    if (!a || !b || !c) goto done;
    size_t n = (size_t)a->nleads * (size_t)a->nsamples;
    CHECK(memcmp(a->uv, b->uv, n * sizeof *a->uv) == 0, "same seed, same samples");
    CHECK(same_beats(a, b), "same seed, same beats");
    CHECK(c->nsamples == a->nsamples && memcmp(a->uv, c->uv, n * sizeof *a->uv) != 0, "another seed differs");
done:
    synth_free(a);
    synth_free(b);
    synth_free(c);
}

static void noise_options_do_not_move_the_beats(void)
{
    synth_opts o;
    synth_defaults(&o);
    o.pvc_prob = 0.2;
    o.seed = 7;
    synth_ecg *clean = synth_generate(&o);
    o.emg_mv = 0.1;
    o.mains_mv = 0.1;
    synth_ecg *noisy = synth_generate(&o);
    CHECK(clean && noisy && same_beats(clean, noisy), "beats identical with and without noise");
    synth_free(clean);
    synth_free(noisy);
}

static void each_beat_is_the_local_maximum_of_lead_ii_within_50_ms(void)
{
    const double rates[] = {40, 72, 150};
    const double fss[] = {125, 360, 1000};
    for (int k = 0; k < 3; k++) {
        synth_ecg *e = make(fss[k], 30, 12, rates[k], 0.15, 0.15, 100 + (uint64_t)k);
        CHECK(e != NULL, "generated");
        if (!e) continue;
        int64_t w = (int64_t)ceil(0.050 * e->fs);
        size_t bad = 0, checked = 0;
        for (size_t b = 0; b < e->nbeats; b++) {
            int64_t s = e->beats[b].sample;
            if (s - w < 0 || s + w >= e->nsamples) continue;
            checked++;
            for (int64_t j = s - w; j <= s + w; j++)
                if (at(e, 1, j) > at(e, 1, s)) {
                    bad++;
                    break;
                }
        }
        CHECK(checked + 2 >= e->nbeats && checked > 10, "%zu of %zu beats checked", checked, e->nbeats);
        CHECK(bad == 0, "%zu beats are not the lead II maximum within 50 ms (fs %g)", bad, e->fs);
        synth_free(e);
    }
}

static void beats_are_in_time_order_inside_the_strip(void)
{
    synth_ecg *e = make(500, 20, 1, 90, 0.2, 0.2, 5);
    CHECK(e && e->nbeats > 0, "generated");
    if (!e) return;
    int ok = 1;
    for (size_t b = 0; b < e->nbeats; b++) {
        if (e->beats[b].sample < 0 || e->beats[b].sample >= e->nsamples) ok = 0;
        if (b && e->beats[b].sample <= e->beats[b - 1].sample) ok = 0;
        char l = e->beats[b].label;
        if (l != 'N' && l != 'S' && l != 'V') ok = 0;
    }
    CHECK(ok, "sorted, inside 0..nsamples, labels N S V");
    synth_free(e);
}

static void beat_count_matches_rate_times_duration(void)
{
    const double rates[] = {30, 60, 72, 120, 180};
    for (int k = 0; k < 5; k++) {
        synth_ecg *e = make(250, 120, 2, rates[k], 0, 0, 11 + (uint64_t)k);
        CHECK(e != NULL, "generated");
        if (!e) continue;
        double expect = rates[k] * 120.0 / 60.0;
        CHECK(fabs((double)e->nbeats - expect) <= 0.03 * expect + 1.5, "rate %g: %zu beats, expected %.0f",
              rates[k], e->nbeats, expect);
        synth_free(e);
    }
}

static void heart_rate_varies_smoothly_by_the_requested_fraction(void)
{
    synth_opts o;
    synth_defaults(&o);
    o.duration_s = 300;
    o.fs = 250;
    o.hr_bpm = 60;
    o.hrv_frac = 0.05;
    synth_ecg *e = synth_generate(&o);
    CHECK(e && e->nbeats > 250, "generated");
    if (!e) return;
    double s = 0, s2 = 0;
    size_t n = 0;
    for (size_t b = 1; b < e->nbeats; b++) {
        double rr = (double)(e->beats[b].sample - e->beats[b - 1].sample) / e->fs;
        s += rr;
        s2 += rr * rr;
        n++;
    }
    double mean = s / (double)n, sd = sqrt(s2 / (double)n - mean * mean);
    CHECK_NEAR(mean, 1.0, 0.02, "mean RR, s");
    CHECK(sd / mean > 0.03 && sd / mean < 0.07, "RR sd / mean = %.4f, asked 0.05", sd / mean);
    o.hrv_frac = 0;
    synth_ecg *f = synth_generate(&o);
    int64_t lo = INT64_MAX, hi = 0;
    for (size_t b = 1; f && b < f->nbeats; b++) {
        int64_t d = f->beats[b].sample - f->beats[b - 1].sample;
        if (d < lo) lo = d;
        if (d > hi) hi = d;
    }
    CHECK(f && hi - lo <= 2, "no HRV: RR constant to a sample or two (%lld..%lld)", (long long)lo, (long long)hi);
    synth_free(f);
    synth_free(e);
}

static void pvc_beats_are_wide_premature_and_followed_by_a_compensatory_pause(void)
{
    synth_ecg *e = make(500, 120, 2, 70, 0.15, 0, 21);
    CHECK(e != NULL, "generated");
    if (!e) return;
    double rr = 60.0 / 70.0 * e->fs;
    size_t nv = 0, narrow = 0, late = 0, nopause = 0;
    int64_t nw = 0, nn = 0;
    for (size_t b = 1; b + 1 < e->nbeats; b++) {
        if (e->beats[b].label == 'N') {
            nw += half_width(e, e->beats[b].sample);
            nn++;
        }
        if (e->beats[b].label != 'V') continue;
        nv++;
        double before = (double)(e->beats[b].sample - e->beats[b - 1].sample);
        double after = (double)(e->beats[b + 1].sample - e->beats[b].sample);
        if (before > 0.7 * rr) late++;
        if (fabs(before + after - 2.0 * rr) > 0.15 * rr) nopause++;
        /* half-height width of a 140 ms Gaussian-like QRS is about 66 ms; a normal one about 21 ms */
        if ((double)half_width(e, e->beats[b].sample) < 0.045 * e->fs) narrow++;
    }
    CHECK(nv >= 8 && nn > 50, "%zu V beats, %lld N beats", nv, (long long)nn);
    CHECK(late == 0, "%zu V beats not premature (coupling > 70 %% RR)", late);
    CHECK(nopause == 0, "%zu V beats without a compensatory pause", nopause);
    CHECK(narrow == 0, "%zu V beats narrower than 45 ms at half height", narrow);
    CHECK(nn && (double)nw / (double)nn < 0.03 * e->fs, "N beats narrow: %.1f samples at half height",
          nn ? (double)nw / (double)nn : 0.0);
    synth_free(e);
}

static void pac_beats_are_narrow_and_premature(void)
{
    synth_ecg *e = make(500, 120, 2, 70, 0, 0.15, 22);
    CHECK(e != NULL, "generated");
    if (!e) return;
    double rr = 60.0 / 70.0 * e->fs;
    size_t ns = 0, bad = 0;
    for (size_t b = 1; b < e->nbeats; b++) {
        if (e->beats[b].label != 'S') continue;
        ns++;
        double before = (double)(e->beats[b].sample - e->beats[b - 1].sample);
        if (before > 0.8 * rr || before < 0.6 * rr) bad++;
        if ((double)half_width(e, e->beats[b].sample) > 0.03 * e->fs) bad++;
    }
    CHECK(ns >= 8, "%zu S beats", ns);
    CHECK(bad == 0, "%zu S beats not narrow and at ~70 %% of RR", bad);
    synth_free(e);
}

static void lead_ii_r_wave_is_about_one_millivolt_and_scales_with_amp(void)
{
    synth_opts o;
    synth_defaults(&o);
    synth_ecg *e = synth_generate(&o);
    o.amp_mv = 2.0;
    synth_ecg *f = synth_generate(&o);
    CHECK(e && f, "generated");
    if (!e || !f) goto done;
    double s = 0;
    for (size_t b = 0; b < e->nbeats; b++) s += at(e, 1, e->beats[b].sample);
    s /= (double)e->nbeats;
    CHECK(s > 850 && s < 1200, "mean R on lead II %.0f µV", s);
    double ratio = at(f, 1, f->beats[0].sample) / at(e, 1, e->beats[0].sample);
    CHECK_NEAR(ratio, 2.0, 1e-3, "amp_mv 2 doubles the R wave");
done:
    synth_free(e);
    synth_free(f);
}

static void twelve_leads_obey_einthoven_and_progress_from_rs_to_qr(void)
{
    synth_ecg *e = make(500, 10, 12, 72, 0.2, 0.2, 31);
    CHECK(e != NULL, "generated");
    if (!e) return;
    double worst = 0;
    for (int64_t i = 0; i < e->nsamples; i++) {
        double I = at(e, 0, i), II = at(e, 1, i), III = at(e, 2, i);
        double avr = at(e, 3, i), avl = at(e, 4, i), avf = at(e, 5, i);
        worst = fmax(worst, fabs(III - (II - I)));
        worst = fmax(worst, fabs(avr + avl + avf));
        worst = fmax(worst, fabs(avr + (I + II) / 2));
    }
    CHECK(worst < 0.5, "limb-lead identities hold to %.3g µV", worst);
    /* R/S ratio across V1..V6 (mean over N beats): below 1 in V1-V2, above 1 in V5-V6 */
    int64_t w = (int64_t)(0.05 * e->fs);
    double rs[6] = {0};
    for (int v = 0; v < 6; v++) {
        double r = 0, s = 0;
        for (size_t b = 0; b < e->nbeats; b++) {
            int64_t c = e->beats[b].sample;
            if (e->beats[b].label != 'N' || c < w || c + w >= e->nsamples) continue;
            double mx = -1e9, mn = 1e9;
            for (int64_t j = c - w; j <= c + w; j++) {
                mx = fmax(mx, at(e, 6 + v, j));
                mn = fmin(mn, at(e, 6 + v, j));
            }
            r += mx;
            s += -mn;
        }
        rs[v] = r / s;
    }
    CHECK(rs[0] < 0.5 && rs[1] < 1.0 && rs[4] > 2.0 && rs[5] > 2.0, "R/S V1..V6: %.2f %.2f %.2f %.2f %.2f %.2f",
          rs[0], rs[1], rs[2], rs[3], rs[4], rs[5]);
    CHECK(rs[0] < rs[1] && rs[1] < rs[2] && rs[2] < rs[3], "R/S grows from V1 to V4");
    synth_free(e);
}

static void qt_shortens_as_the_rate_rises(void)
{
    /* T peak: the lead II maximum between 150 ms after R and the next beat's P */
    double tpeak[2];
    const double rates[2] = {50, 120};
    for (int k = 0; k < 2; k++) {
        synth_opts o;
        synth_defaults(&o);
        o.hr_bpm = rates[k];
        o.hrv_frac = 0;
        synth_ecg *e = synth_generate(&o);
        CHECK(e && e->nbeats > 4, "generated");
        if (!e) return;
        int64_t c = e->beats[2].sample, best = c + (int64_t)(0.15 * e->fs);
        for (int64_t j = best; j < c + (int64_t)(0.45 * 60.0 / rates[k] * e->fs * 1.3) && j < e->nsamples; j++)
            if (at(e, 1, j) > at(e, 1, best)) best = j;
        tpeak[k] = (double)(best - c) / e->fs;
        synth_free(e);
    }
    /* Bazett: the R-to-T interval scales with sqrt(RR) */
    CHECK_NEAR(tpeak[1] / tpeak[0], sqrt(50.0 / 120.0), 0.05, "R-T ratio 120 vs 50 bpm");
}

static double rms_diff(const synth_ecg *a, const synth_ecg *b, int lead)
{
    double s = 0;
    for (int64_t i = 0; i < a->nsamples; i++) {
        double d = at(a, lead, i) - at(b, lead, i);
        s += d * d;
    }
    return sqrt(s / (double)a->nsamples);
}

static void noise_options_add_roughly_the_requested_rms(void)
{
    synth_opts o;
    synth_defaults(&o);
    o.duration_s = 60;
    o.nleads = 3;
    synth_ecg *clean = synth_generate(&o);
    synth_opts q = o;
    q.emg_mv = 0.1;
    synth_ecg *emg = synth_generate(&q);
    q = o;
    q.mains_mv = 0.2;
    q.mains_hz = 60;
    synth_ecg *mains = synth_generate(&q);
    q = o;
    q.wander_mv = 0.5;
    synth_ecg *wander = synth_generate(&q);
    CHECK(clean && emg && mains && wander, "generated");
    if (clean && emg && mains && wander) {
        for (int l = 0; l < 3; l++) {
            CHECK_NEAR(rms_diff(emg, clean, l), 100.0, 5.0, "EMG RMS µV");
            CHECK_NEAR(rms_diff(mains, clean, l), 200.0 * sqrt(1.01 / 2.0), 10.0, "mains RMS µV");
            CHECK_NEAR(rms_diff(wander, clean, l), 500.0 * sqrt(0.26), 60.0, "wander RMS µV");
        }
        /* EMG is band-limited from 20 Hz: its 1-s means are tiny next to its RMS */
        double worst = 0;
        for (int64_t s0 = 0; s0 + 500 <= emg->nsamples; s0 += 500) {
            double m = 0;
            for (int64_t i = s0; i < s0 + 500; i++) m += at(emg, 0, i) - at(clean, 0, i);
            worst = fmax(worst, fabs(m / 500));
        }
        CHECK(worst < 10.0, "EMG 1-s mean up to %.2f µV", worst);
        /* mains at 60 Hz: the difference repeats every 1/60 s (25/3 samples: check 3 periods = 25) */
        double rep = 0;
        for (int64_t i = 0; i + 25 < mains->nsamples; i++) {
            double d0 = at(mains, 0, i) - at(clean, 0, i), d1 = at(mains, 0, i + 25) - at(clean, 0, i + 25);
            rep = fmax(rep, fabs(d0 - d1));
        }
        CHECK(rep < 1.0, "mains periodic at 60 Hz (%.3g µV off)", rep);
    }
    synth_free(clean);
    synth_free(emg);
    synth_free(mains);
    synth_free(wander);
}

static void bad_options_return_null(void)
{
    synth_opts base;
    synth_defaults(&base);
    synth_opts o;
#define BAD(field, value)                                                         \
    do {                                                                          \
        o = base;                                                                 \
        o.field = value;                                                          \
        synth_ecg *e_ = synth_generate(&o);                                       \
        CHECK(e_ == NULL, "%s = %s accepted", #field, #value);                    \
        synth_free(e_);                                                           \
    } while (0)
    BAD(fs, 100);
    BAD(fs, 2001);
    BAD(fs, NAN);
    BAD(nleads, 0);
    BAD(nleads, 13);
    BAD(duration_s, 0);
    BAD(duration_s, -1);
    BAD(duration_s, INFINITY);
    BAD(hr_bpm, 0);
    BAD(hr_bpm, -60);
    BAD(hr_bpm, NAN);
    BAD(hrv_frac, -0.1);
    BAD(pvc_prob, -0.1);
    BAD(pvc_prob, 1.5);
    BAD(emg_mv, -1);
    BAD(wander_mv, NAN);
#undef BAD
    o = base;
    o.mains_mv = 0.1;
    o.mains_hz = 300; /* above fs/2 = 250 */
    synth_ecg *e = synth_generate(&o);
    CHECK(e == NULL, "mains above Nyquist accepted");
    synth_free(e);
    CHECK(synth_generate(NULL) == NULL, "NULL options accepted");
    o = base;
    o.fs = 125;
    o.nleads = 12;
    o.duration_s = 1;
    e = synth_generate(&o);
    CHECK(e != NULL, "edge values (125 Hz, 12 leads) accepted");
    synth_free(e);
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

/* Decodes the .atr the test way (independent of formats/annot.c): returns the count or -1. */
static long decode_atr(const char *path, int64_t *samples, int *codes, long cap, int *skips)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    unsigned char w[2];
    int64_t t = 0;
    long n = 0;
    *skips = 0;
    while (fread(w, 1, 2, f) == 2) {
        unsigned word = (unsigned)w[0] | (unsigned)w[1] << 8;
        int code = (int)(word >> 10);
        unsigned d = word & 1023u;
        if (word == 0) break;
        if (code == 59) {
            unsigned char x[4];
            if (fread(x, 1, 4, f) != 4) break;
            t += (int64_t)((uint32_t)x[0] << 16 | (uint32_t)x[1] << 24 | (uint32_t)x[2] | (uint32_t)x[3] << 8);
            (*skips)++;
            continue;
        }
        t += d;
        if (n < cap) {
            samples[n] = t;
            codes[n] = code;
        }
        n++;
    }
    fclose(f);
    return n;
}

static void wfdb_files_have_the_documented_layout(void)
{
    /* 30 bpm at 1000 Hz: RR about 2000 samples, so every annotation needs a SKIP */
    synth_ecg *e = make(1000, 12, 3, 30, 0.2, 0.2, 41);
    CHECK(e != NULL, "generated");
    if (!e) return;
    const char *dir = check_tmpdir("synth_layout");
    char err[512] = "", path[1200];
    CHECK(synth_write_wfdb(e, dir, "slow", err, sizeof err) == 0, "write: %s", err);
    snprintf(path, sizeof path, "%s/slow.dat", dir);
    CHECK(file_size(path) == (long)(e->nsamples * 3 * 2), "dat holds 3 leads x 16 bits");
    FILE *f = fopen(path, "rb");
    unsigned char fr[6];
    CHECK(f && fread(fr, 1, 6, f) == 6, "read first frame");
    if (f) fclose(f);
    for (int l = 0; l < 3; l++) {
        int16_t v = (int16_t)(fr[2 * l] | fr[2 * l + 1] << 8);
        CHECK(abs(v - (int)lrintf(at(e, l, 0))) <= 1, "frame 0 lead %d: %d vs %.1f µV", l, v, at(e, l, 0));
    }
    snprintf(path, sizeof path, "%s/slow.hea", dir);
    f = fopen(path, "r");
    char line[256] = "";
    CHECK(f && fgets(line, sizeof line, f), "read header");
    char want[128];
    snprintf(want, sizeof want, "slow 3 1000 %lld\n", (long long)e->nsamples);
    CHECK(strcmp(line, want) == 0, "record line '%s'", line);
    CHECK(f && fgets(line, sizeof line, f) && strncmp(line, "slow.dat 16 1000/mV 16 0 ", 25) == 0 &&
              strstr(line, " I\n"),
          "signal line '%s'", line);
    if (f) fclose(f);
    snprintf(path, sizeof path, "%s/slow.atr", dir);
    int64_t samples[64];
    int codes[64], skips = 0;
    long n = decode_atr(path, samples, codes, 64, &skips);
    CHECK(n == (long)e->nbeats, "%ld annotations for %zu beats", n, e->nbeats);
    CHECK(skips >= (int)e->nbeats - 1, "long intervals carried by SKIP (%d)", skips);
    int same = n == (long)e->nbeats;
    for (long k = 0; same && k < n; k++) {
        char l = e->beats[k].label;
        int code = l == 'V' ? 5 : l == 'S' ? 8 : 1;
        same = samples[k] == e->beats[k].sample && codes[k] == code;
    }
    CHECK(same, "decoded annotations match the beats");
    long sz = file_size(path);
    CHECK(sz >= 2, "atr not empty");
    f = fopen(path, "rb");
    if (f && sz >= 2) {
        fseek(f, sz - 2, SEEK_SET);
        unsigned char z[2] = {1, 1};
        CHECK(fread(z, 1, 2, f) == 2 && z[0] == 0 && z[1] == 0, "ends with a zero word");
    }
    if (f) fclose(f);
    synth_free(e);
}

static void writing_into_a_missing_directory_is_an_error_naming_the_file(void)
{
    synth_ecg *e = make(250, 2, 1, 60, 0, 0, 1);
    char err[512] = "";
    CHECK(e && synth_write_wfdb(e, "/nonexistent-dir-ecgnet", "x", err, sizeof err) == -1, "fails");
    CHECK(strstr(err, "/nonexistent-dir-ecgnet/x.dat") != NULL, "err names the file: '%s'", err);
    synth_free(e);
}

static void written_record_reads_back_through_the_record_and_annotation_readers(void)
{
    const double fss[] = {360, 1000};
    for (int k = 0; k < 2; k++) {
        synth_opts o;
        synth_defaults(&o);
        o.fs = fss[k];
        o.duration_s = 20;
        o.nleads = k ? 12 : 2;
        o.hr_bpm = k ? 35 : 80; /* 35 bpm at 1000 Hz exercises SKIP */
        o.pvc_prob = o.pac_prob = 0.15;
        o.emg_mv = 0.02;
        o.seed = 51 + (uint64_t)k;
        synth_ecg *e = synth_generate(&o);
        CHECK(e != NULL, "generated");
        if (!e) continue;
        const char *dir = check_tmpdir("synth_roundtrip");
        char err[FMT_ERRLEN] = "", path[1200];
        CHECK(synth_write_wfdb(e, dir, "rt", err, sizeof err) == 0, "write: %s", err);
        snprintf(path, sizeof path, "%s/rt", dir);
        fmt_record *r = NULL;
        int rc = fmt_record_open(path, &r, err, sizeof err);
        CHECK(rc == 0, "open: %s", err);
        if (rc == 0) {
            CHECK(fmt_record_nleads(r) == e->nleads && fmt_record_fs(r) == e->fs &&
                      fmt_record_nsamples(r) == e->nsamples,
                  "geometry");
            CHECK(strcmp(fmt_record_lead(r, 0)->name, "I") == 0 &&
                      strcmp(fmt_record_lead(r, 1)->name, "II") == 0,
                  "lead names");
            CHECK_NEAR(fmt_record_lead(r, 1)->uv_per_unit, 1.0, 1e-9, "1 µV per unit");
            CHECK_NEAR(fmt_record_lead(r, 1)->baseline, 0.0, 1e-9, "baseline 0");
            int nl = e->nleads;
            int32_t *buf = malloc(sizeof *buf * (size_t)nl * 1000);
            int64_t pos = 0, mism = 0;
            long got;
            while (buf && (got = fmt_record_read(r, buf, 1000, err, sizeof err)) > 0) {
                for (long f = 0; f < got; f++)
                    for (int l = 0; l < nl; l++)
                        if (labs((long)buf[f * nl + l] - lrintf(at(e, l, pos + f))) > 1) mism++;
                pos += got;
            }
            CHECK(pos == e->nsamples && mism == 0, "%lld frames read, %lld samples off", (long long)pos,
                  (long long)mism);
            free(buf);
            fmt_record_free(r);
        }
        snprintf(path, sizeof path, "%s/rt.atr", dir);
        fmt_annot_list al = {0};
        rc = fmt_annot_read_wfdb(path, &al, err, sizeof err);
        CHECK(rc == 0, "annotations: %s", err);
        if (rc == 0) {
            int same = al.count == e->nbeats;
            for (size_t b = 0; same && b < al.count; b++) {
                char l = e->beats[b].label;
                char want = l == 'S' ? 'A' : l;
                same = al.items[b].sample == e->beats[b].sample && fmt_annot_mnemonic(al.items[b].code) == want;
            }
            CHECK(same, "%zu annotations equal the %zu beats", al.count, e->nbeats);
            fmt_annot_list_free(&al);
        }
        synth_free(e);
    }
}

int main(void)
{
    RUN(defaults_are_as_documented);
    RUN(same_seed_gives_the_same_samples_and_another_seed_differs);
    RUN(noise_options_do_not_move_the_beats);
    RUN(each_beat_is_the_local_maximum_of_lead_ii_within_50_ms);
    RUN(beats_are_in_time_order_inside_the_strip);
    RUN(beat_count_matches_rate_times_duration);
    RUN(heart_rate_varies_smoothly_by_the_requested_fraction);
    RUN(pvc_beats_are_wide_premature_and_followed_by_a_compensatory_pause);
    RUN(pac_beats_are_narrow_and_premature);
    RUN(lead_ii_r_wave_is_about_one_millivolt_and_scales_with_amp);
    RUN(twelve_leads_obey_einthoven_and_progress_from_rs_to_qr);
    RUN(qt_shortens_as_the_rate_rises);
    RUN(noise_options_add_roughly_the_requested_rms);
    RUN(bad_options_return_null);
    RUN(wfdb_files_have_the_documented_layout);
    RUN(writing_into_a_missing_directory_is_an_error_naming_the_file);
    RUN(written_record_reads_back_through_the_record_and_annotation_readers);
    return check_report();
}
