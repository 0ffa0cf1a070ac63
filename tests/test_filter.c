/* test_filter.c — the streaming linear-phase filter chain meets IEC 60601-2-25 / AHA practice. */
#include "check.h"
#include "filter.h"
#include "filter_simd.h"

#include <stdint.h>

static uint32_t rng_state = 2463534242u;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static dsp_filter_design *design(double fs, int diagnostic, double mains)
{
    dsp_filter_opts o;
    if (diagnostic) dsp_filter_opts_diagnostic(&o, fs);
    else dsp_filter_opts_monitoring(&o, fs);
    o.mains_hz = mains;
    char err[256] = "";
    dsp_filter_design *d = dsp_filter_design_create(&o, err, sizeof err);
    CHECK(d != NULL, "design fs %g: %s", fs, err);
    if (!d) exit(1);
    return d;
}

/* Runs x[0..n) through a new stream in blocks (blk > 0: fixed size; 0: random sizes up to 5000),
 * checking each push against dsp_filter_max_output and dsp_filter_next_index; returns the count. */
static size_t run(const dsp_filter_design *d, const float *x, size_t n, size_t blk, float *out)
{
    dsp_filter *f = dsp_filter_create(d);
    CHECK(f != NULL, "stream create");
    if (!f) exit(1);
    size_t got = 0, i = 0;
    while (i < n) {
        size_t b = blk ? blk : 1 + rnd() % 5000;
        if (b > n - i) b = n - i;
        size_t bound = dsp_filter_max_output(f, b);
        CHECK((size_t)dsp_filter_next_index(f) == got, "next index %lld vs %zu",
              (long long)dsp_filter_next_index(f), got);
        size_t k = dsp_filter_push(f, x + i, b, out + got);
        CHECK(k <= bound, "push emitted %zu > bound %zu", k, bound);
        got += k;
        i += b;
    }
    size_t bound = dsp_filter_max_output(f, 0);
    size_t k = dsp_filter_flush(f, out + got);
    CHECK(k <= bound, "flush emitted %zu > bound %zu", k, bound);
    got += k;
    CHECK((size_t)dsp_filter_next_index(f) == got, "next index after flush");
    dsp_filter_free(f);
    return got;
}

/* Least-squares amplitude and phase of y[lo..hi) against sin(w n) and cos(w n). */
static void fit(const float *y, size_t lo, size_t hi, double w, double *gain, double *phase)
{
    double ss = 0, sc = 0, cc = 0, ys = 0, yc = 0;
    for (size_t n = lo; n < hi; n++) {
        double s = sin(w * (double)n), c = cos(w * (double)n);
        ss += s * s;
        sc += s * c;
        cc += c * c;
        ys += y[n] * s;
        yc += y[n] * c;
    }
    double det = ss * cc - sc * sc;
    double a = (ys * cc - yc * sc) / det, b = (yc * ss - ys * sc) / det;
    *gain = hypot(a, b);
    *phase = atan2(b, a);
}

/* Gain (and phase) of the stream for a sinusoid at f, measured away from both ends. */
static double stream_gain(const dsp_filter_design *d, double fs, double f, double *phase)
{
    double delay_s = (double)dsp_filter_delay(d) / fs;
    double dur = 2.0 * delay_s + (6.0 / f > 8.0 ? 6.0 / f : 8.0);
    size_t n = (size_t)(dur * fs);
    float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
    double w = 2.0 * M_PI * f / fs;
    for (size_t i = 0; i < n; i++) x[i] = (float)(1000.0 * sin(w * (double)i));
    size_t got = run(d, x, n, 4096, y);
    CHECK(got == n, "output count %zu vs %zu", got, n);
    size_t skip = (size_t)dsp_filter_delay(d) + 1;
    double g, ph;
    fit(y, skip, n - skip, w, &g, &ph);
    free(x);
    free(y);
    if (phase) *phase = ph;
    return g / 1000.0;
}

static double db(double g)
{
    return 20.0 * log10(g);
}

static int near_mains(double f, double mains, double within)
{
    for (double c = mains; c < f + within + 1; c += mains)
        if (fabs(f - c) < within) return 1;
    return 0;
}

static const double rates[] = {250, 360, 500, 1000};

static void monitoring_passband_is_flat_within_half_a_db_from_1_to_30_hz_at_every_rate(void)
{
    const double fr[] = {1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 25.0, 30.0};
    for (int r = 0; r < 4; r++) {
        dsp_filter_design *d = design(rates[r], 0, 50);
        for (size_t i = 0; i < sizeof fr / sizeof fr[0]; i++) {
            double ph, g = stream_gain(d, rates[r], fr[i], &ph);
            CHECK(fabs(db(g)) <= 0.5, "fs %g f %g: %.3f dB", rates[r], fr[i], db(g));
            CHECK(fabs(ph) < 0.01, "fs %g f %g: phase %.4f rad (linear phase: aligned output "
                  "is in phase)", rates[r], fr[i], ph);
            CHECK_NEAR(g, dsp_filter_gain(d, fr[i]), 0.01, "dsp_filter_gain agrees with the stream");
        }
        dsp_filter_design_free(d);
    }
}

static void monitoring_corners_are_0_67_hz_and_40_hz_at_every_rate(void)
{
    for (int r = 0; r < 4; r++) {
        dsp_filter_design *d = design(rates[r], 0, 50);
        double g067 = stream_gain(d, rates[r], 0.67, NULL);
        double g03 = stream_gain(d, rates[r], 0.3, NULL);
        double g36 = stream_gain(d, rates[r], 36.0, NULL);
        double g44 = stream_gain(d, rates[r], 44.0, NULL);
        CHECK(g067 >= 0.707 * 0.95, "fs %g: gain at 0.67 Hz %.3f", rates[r], g067);
        CHECK(g03 < 0.5, "fs %g: gain at 0.3 Hz %.3f", rates[r], g03);
        CHECK(g36 >= 0.707, "fs %g: low-pass -3 dB below 36 Hz (gain %.3f)", rates[r], g36);
        CHECK(g44 <= 0.707, "fs %g: low-pass -3 dB above 44 Hz (gain %.3f)", rates[r], g44);
        dsp_filter_design_free(d);
    }
}

static void diagnostic_passes_0_05_hz_and_is_flat_from_0_2_hz_to_100_hz(void)
{
    const double fr[] = {0.2, 0.5, 1, 2, 5, 10, 20, 30, 40, 46, 54, 60, 70, 80, 90, 96, 100};
    for (int r = 0; r < 4; r++) {
        dsp_filter_design *d = design(rates[r], 1, 50);
        double g005 = stream_gain(d, rates[r], 0.05, NULL);
        CHECK(g005 >= 0.707, "fs %g: gain at 0.05 Hz %.3f", rates[r], g005);
        double fc = 150.0 < 0.4 * rates[r] ? 150.0 : 0.4 * rates[r];
        double top = 100.0 < 0.8 * fc ? 100.0 : 0.8 * fc;
        for (size_t i = 0; i < sizeof fr / sizeof fr[0]; i++) {
            if (fr[i] > top || near_mains(fr[i], 50, 3.0)) continue;
            double ph, g = stream_gain(d, rates[r], fr[i], &ph);
            CHECK(fabs(db(g)) <= 0.5, "fs %g f %g: %.3f dB", rates[r], fr[i], db(g));
            CHECK(fabs(ph) < 0.01, "fs %g f %g: phase %.4f rad", rates[r], fr[i], ph);
        }
        double glo = stream_gain(d, rates[r], 0.9 * fc, NULL);
        double ghi = stream_gain(d, rates[r], 1.1 * fc, NULL);
        CHECK(glo >= 0.707 && ghi <= 0.707, "fs %g: -3 dB not within %g Hz +-10%% (%.3f, %.3f)",
              rates[r], fc, glo, ghi);
        dsp_filter_design_free(d);
    }
}

static void mains_and_its_harmonics_are_attenuated_40_db_within_half_a_hz(void)
{
    const double mains[] = {50, 60};
    for (int mi = 0; mi < 2; mi++) {
        for (int r = 0; r < 4; r++) {
            for (int diag = 0; diag <= 1; diag++) {
                dsp_filter_design *d = design(rates[r], diag, mains[mi]);
                for (double c = mains[mi]; c < rates[r] / 2.0 - 0.5; c += mains[mi]) {
                    for (double off = -0.5; off <= 0.5; off += 0.25) {
                        double g = stream_gain(d, rates[r], c + off, NULL);
                        CHECK(db(g) <= -40.0, "fs %g %s mains %g: %.2f dB at %g Hz", rates[r],
                              diag ? "diagnostic" : "monitoring", mains[mi], db(g), c + off);
                    }
                }
                dsp_filter_design_free(d);
            }
        }
    }
}

static void notch_leaves_the_passband_within_half_a_db_3_hz_from_mains(void)
{
    const double mains[] = {50, 60};
    for (int mi = 0; mi < 2; mi++) {
        dsp_filter_design *d = design(500, 1, mains[mi]);
        for (double c = mains[mi]; c <= 100.0; c += mains[mi]) {
            for (int s = -1; s <= 1; s += 2) {
                for (double a = 3.0; a <= 5.0; a += 1.0) {
                    double g = stream_gain(d, 500, c + s * a, NULL);
                    CHECK(fabs(db(g)) <= 0.5, "mains %g: %.3f dB at %g Hz", mains[mi], db(g),
                          c + s * a);
                }
            }
        }
        dsp_filter_design_free(d);
    }
}

/* IEC 60601-2-25: 3 mV x 100 ms pulse through the diagnostic setting. */
static void pulse_leaves_under_0_1_mv_and_0_3_mv_per_s_outside_the_pulse(void)
{
    const double fss[] = {360, 500, 1000};
    for (int r = 0; r < 3; r++) {
        const double fs = fss[r];
        dsp_filter_design *d = design(fs, 1, 50);
        size_t n = (size_t)(60 * fs), w = (size_t)lround(0.1 * fs), p0 = n / 2;
        float *x = calloc(n, sizeof(float)), *y = malloc(sizeof(float) * n);
        for (size_t i = p0; i < p0 + w; i++) x[i] = 3000.0f;
        CHECK(run(d, x, n, 1000, y) == n, "count");
        size_t guard = (size_t)lround(0.04 * fs), step = (size_t)lround(0.1 * fs);
        double worst = 0, worst_slope = 0;
        size_t skip = (size_t)dsp_filter_delay(d) + 1;
        for (size_t i = skip; i + step < n - skip; i++) {
            if (i + step + guard >= p0 && i <= p0 + w + guard) continue;
            if (fabs(y[i]) > worst) worst = fabs(y[i]);
            /* slope of the baseline: over 100 ms, as on a paper trace */
            double sl = fabs(y[i + step] - y[i]) / 0.1;
            if (sl > worst_slope) worst_slope = sl;
        }
        CHECK(worst <= 100.0, "fs %g: baseline displacement %.1f uV", fs, worst);
        CHECK(worst_slope <= 300.0, "fs %g: baseline slope %.1f uV/s", fs, worst_slope);
        CHECK(fabs(y[p0 + w / 2] - 3000.0) < 100.0, "fs %g: pulse top %.1f uV", fs, y[p0 + w / 2]);
        free(x);
        free(y);
        dsp_filter_design_free(d);
    }
}

static void symmetric_pulse_gives_output_symmetric_about_its_centre(void)
{
    for (int diag = 0; diag <= 1; diag++) {
        dsp_filter_design *d = design(500, diag, 50);
        size_t n = 30000, c = 15000 + 7, half = 25;
        float *x = calloc(n, sizeof(float)), *y = malloc(sizeof(float) * n);
        for (size_t i = c - half; i <= c + half; i++) x[i] = 3000.0f;
        CHECK(run(d, x, n, 777, y) == n, "count");
        double worst = 0;
        for (size_t k = 1; k < 5000; k++) {
            double e = fabs((double)y[c - k] - (double)y[c + k]);
            if (e > worst) worst = e;
        }
        /* the FFT stage is exactly symmetric; the decimated baseline estimate is symmetric up
         * to where the pulse falls between its samples: a fraction of a microvolt here */
        CHECK(worst < 0.5, "%s: asymmetry %.4f uV", diag ? "diagnostic" : "monitoring", worst);
        free(x);
        free(y);
        dsp_filter_design_free(d);
    }
}

static void narrow_spike_peaks_at_its_input_index(void)
{
    for (int r = 0; r < 4; r++) {
        for (int diag = 0; diag <= 1; diag++) {
            dsp_filter_design *d = design(rates[r], diag, 50);
            size_t n = (size_t)(rates[r] * 40);
            float *x = calloc(n, sizeof(float)), *y = malloc(sizeof(float) * n);
            /* away from the ends, where the reflected copy of the spike adds its own response */
            size_t edge = (size_t)(rates[r] / 5);
            size_t pos[] = {edge, n / 3 + 1, n / 2, n - edge};
            for (int p = 0; p < 4; p++) {
                memset(x, 0, sizeof(float) * n);
                x[pos[p]] = 5000.0f;
                CHECK(run(d, x, n, 100, y) == n, "count");
                size_t best = 0;
                for (size_t i = 1; i < n; i++)
                    if (fabs(y[i]) > fabs(y[best])) best = i;
                CHECK(best == pos[p], "fs %g %s: spike at %zu peaks at %zu", rates[r],
                      diag ? "diagnostic" : "monitoring", pos[p], best);
            }
            int64_t delay = dsp_filter_delay(d);
            CHECK(delay > 0 && delay < (int64_t)(rates[r] * 20), "delay %lld", (long long)delay);
            free(x);
            free(y);
            dsp_filter_design_free(d);
        }
    }
}

/* A +-5 mV test signal: sines, a drifting baseline, noise and sharp steps. */
static float *test_signal(size_t n, double fs)
{
    float *x = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / fs;
        double v = 1500 * sin(2 * M_PI * 1.2 * t) + 800 * sin(2 * M_PI * 17 * t + 1) +
                   600 * sin(2 * M_PI * 50 * t) + 1000 * sin(2 * M_PI * 0.15 * t) +
                   ((i / 97) % 7 == 0 ? 900 : 0) + (double)(rnd() % 1000) - 500.0;
        x[i] = (float)(v > 5000 ? 5000 : v < -5000 ? -5000 : v);
    }
    return x;
}

static void output_is_bit_identical_for_any_push_block_sizes(void)
{
    const size_t blocks[] = {1, 7, 100, 4096, 0, 0};
    const size_t lens[] = {5, 900, 20000};
    for (int diag = 0; diag <= 1; diag++) {
        dsp_filter_design *d = design(360, diag, 60);
        for (int li = 0; li < 3; li++) {
            size_t n = lens[li];
            float *x = test_signal(n, 360), *ref = malloc(sizeof(float) * n),
                  *y = malloc(sizeof(float) * n);
            CHECK(run(d, x, n, n, ref) == n, "one push: count");
            for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
                if (blocks[b] == 1 && n > 1000 && diag) continue; /* keep it fast; 1 runs on short */
                CHECK(run(d, x, n, blocks[b], y) == n, "block %zu: count", blocks[b]);
                CHECK(memcmp(y, ref, sizeof(float) * n) == 0, "%s n %zu block %zu differs",
                      diag ? "diagnostic" : "monitoring", n, blocks[b]);
            }
            free(x);
            free(ref);
            free(y);
        }
        dsp_filter_design_free(d);
    }
}

static double xe(const float *x, int64_t n, int64_t i)
{
    if (n <= 1) return x[0];
    int64_t p = 2 * n - 2, r = ((i % p) + p) % p;
    return x[r < n ? r : p - r];
}

/* The documented system (filter.h, dsp_filter_stages) in plain double precision, offline. */
static void reference(const dsp_filter_design *d, const float *x, int64_t n, double *out, int hp)
{
    dsp_filter_stages s;
    dsp_filter_get_stages(d, &s);
    for (int64_t i = 0; i < n; i++) {
        double y = 0;
        for (int j = -s.half; j <= s.half; j++) y += s.kernel[s.half + j] * xe(x, n, i + j);
        out[i] = y;
    }
    if (!hp || s.decim == 0) return;
    const int R = s.decim, Q = s.lowrate_half;
    int64_t mlo = -Q - 2, mhi = (n - 1) / R + Q + 3;
    double *u = malloc(sizeof(double) * (size_t)(mhi - mlo + 1));
    for (int64_t m = mlo; m <= mhi; m++) {
        double a = 0;
        for (int j = -(R - 1); j <= R - 1; j++) a += (double)(R - abs(j)) / R / R * xe(x, n, m * R + j);
        u[m - mlo] = a;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t m = i / R, r = i % R;
        double v[2];
        for (int e = 0; e < 2; e++) {
            v[e] = 0;
            for (int q = -Q; q <= Q; q++) v[e] += s.lowrate[Q + q] * u[m + e + q - mlo];
        }
        out[i] -= v[0] + (double)r / R * (v[1] - v[0]);
    }
    free(u);
}

static void fft_stage_is_within_1_uv_of_direct_double_convolution(void)
{
    dsp_filter_opts o;
    dsp_filter_opts_diagnostic(&o, 500);
    o.highpass_hz = 0;
    char err[256];
    dsp_filter_design *d = dsp_filter_design_create(&o, err, sizeof err);
    CHECK(d != NULL, "%s", err);
    if (!d) return;
    size_t n = 12000;
    float *x = test_signal(n, 500), *y = malloc(sizeof(float) * n);
    double *r = malloc(sizeof(double) * n);
    CHECK(run(d, x, n, 333, y) == n, "count");
    reference(d, x, (int64_t)n, r, 0);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(y[i] - r[i]));
    CHECK(worst <= 1.0, "FFT stage differs from direct convolution by %.4f uV", worst);
    free(x);
    free(y);
    free(r);
    dsp_filter_design_free(d);
}

static void whole_chain_is_within_1_uv_of_an_offline_double_reference(void)
{
    const size_t lens[] = {2500, 40000};
    for (int diag = 0; diag <= 1; diag++) {
        for (int li = 0; li < 2; li++) {
            dsp_filter_design *d = design(500, diag, 50);
            size_t n = lens[li];
            float *x = test_signal(n, 500), *y = malloc(sizeof(float) * n);
            double *r = malloc(sizeof(double) * n);
            CHECK(run(d, x, n, 0, y) == n, "count");
            reference(d, x, (int64_t)n, r, 1);
            double worst = 0;
            for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(y[i] - r[i]));
            CHECK(worst <= 1.0, "%s n %zu: chain differs from the reference by %.4f uV",
                  diag ? "diagnostic" : "monitoring", n, worst);
            free(x);
            free(y);
            free(r);
            dsp_filter_design_free(d);
        }
    }
}

static void every_input_gives_one_output_even_for_tiny_records(void)
{
    dsp_filter_design *d = design(250, 1, 50);
    for (size_t n = 0; n <= 3; n++) {
        float x[3] = {100, -200, 300}, y[3] = {0};
        CHECK(run(d, x, n, 1, y) == n, "n %zu", n);
        if (n == 1) CHECK(fabs(y[0]) < 1e-3, "a single sample is all DC: %g", y[0]);
    }
    dsp_filter *f = dsp_filter_create(d);
    float y[1];
    CHECK(dsp_filter_flush(f, y) == 0, "empty stream flushes nothing");
    CHECK(dsp_filter_flush(f, y) == 0, "second flush emits nothing");
    dsp_filter_free(f);
    dsp_filter_design_free(d);
}

static void bad_settings_give_no_design_and_a_message(void)
{
    dsp_filter_opts o;
    char err[256];
    dsp_filter_opts_monitoring(&o, 100);
    err[0] = 0;
    CHECK(dsp_filter_design_create(&o, err, sizeof err) == NULL, "fs 100 accepted");
    CHECK(strstr(err, "sample rate") && strstr(err, "100"), "message: %s", err);
    dsp_filter_opts_diagnostic(&o, 3000);
    err[0] = 0;
    CHECK(dsp_filter_design_create(&o, err, sizeof err) == NULL, "fs 3000 accepted");
    CHECK(strstr(err, "3000") != NULL, "message: %s", err);
    dsp_filter_opts_monitoring(&o, 500);
    o.lowpass_hz = NAN;
    err[0] = 0;
    CHECK(dsp_filter_design_create(&o, err, sizeof err) == NULL, "NaN accepted");
    CHECK(strstr(err, "not a number") != NULL, "message: %s", err);
    dsp_filter_opts_monitoring(&o, 500);
    o.mains_hz = 55.5 * 2;
    err[0] = 0;
    CHECK(dsp_filter_design_create(&o, err, sizeof err) == NULL, "mains 111 Hz accepted");
    CHECK(strstr(err, "mains") != NULL, "message: %s", err);
}

static void monitoring_state_is_at_most_64_kib_per_lead_at_500_hz(void)
{
    dsp_filter_design *d = design(500, 0, 50);
    dsp_filter *f = dsp_filter_create(d);
    size_t b = dsp_filter_state_bytes(f);
    CHECK(b <= 64 * 1024, "state %zu bytes", b);
    CHECK(b >= 4 * 1000, "state %zu bytes cannot hold a 2 s kernel's reach", b);
    dsp_filter_free(f);
    dsp_filter_design_free(d);
}

static void simd_inner_loops_agree_with_their_scalar_references_bit_for_bit(void)
{
    float a[67], b[67], s[67], y[67], wr[67], o1[67], o2[67];
    double w[67], xd[67];
    for (int i = 0; i < 67; i++) {
        a[i] = b[i] = (float)((int)(rnd() % 20001) - 10000) / 3.0f;
        s[i] = (float)(rnd() % 1000) / 997.0f;
        y[i] = (float)((int)(rnd() % 20001) - 10000) / 7.0f;
        wr[i] = (float)(i % 17) / 17.0f;
        w[i] = (double)(rnd() % 1000) / 999.0;
        xd[i] = (double)((int)(rnd() % 20001) - 10000) / 11.0;
    }
    for (size_t n = 0; n <= 67; n++) {
        memcpy(b, a, sizeof a);
        float c[67];
        memcpy(c, a, sizeof a);
        dsp_filter_mul_ref(b, s, n);
        dsp_filter_mul(c, s, n);
        CHECK(memcmp(b, c, sizeof b) == 0, "mul n %zu", n);
        dsp_filter_sub_ref(o1, y, wr, 12.5f, -3.25f, n);
        dsp_filter_sub(o2, y, wr, 12.5f, -3.25f, n);
        CHECK(memcmp(o1, o2, n * sizeof(float)) == 0, "sub n %zu", n);
        double r1 = dsp_filter_dot_f32_ref(w, a, n), r2 = dsp_filter_dot_f32(w, a, n);
        CHECK(memcmp(&r1, &r2, sizeof r1) == 0, "dot f32 n %zu: %.17g vs %.17g", n, r1, r2);
        r1 = dsp_filter_dot_f64_ref(w, xd, n);
        r2 = dsp_filter_dot_f64(w, xd, n);
        CHECK(memcmp(&r1, &r2, sizeof r1) == 0, "dot f64 n %zu: %.17g vs %.17g", n, r1, r2);
    }
}

int main(void)
{
    RUN(simd_inner_loops_agree_with_their_scalar_references_bit_for_bit);
    RUN(monitoring_passband_is_flat_within_half_a_db_from_1_to_30_hz_at_every_rate);
    RUN(monitoring_corners_are_0_67_hz_and_40_hz_at_every_rate);
    RUN(diagnostic_passes_0_05_hz_and_is_flat_from_0_2_hz_to_100_hz);
    RUN(mains_and_its_harmonics_are_attenuated_40_db_within_half_a_hz);
    RUN(notch_leaves_the_passband_within_half_a_db_3_hz_from_mains);
    RUN(pulse_leaves_under_0_1_mv_and_0_3_mv_per_s_outside_the_pulse);
    RUN(symmetric_pulse_gives_output_symmetric_about_its_centre);
    RUN(narrow_spike_peaks_at_its_input_index);
    RUN(output_is_bit_identical_for_any_push_block_sizes);
    RUN(fft_stage_is_within_1_uv_of_direct_double_convolution);
    RUN(whole_chain_is_within_1_uv_of_an_offline_double_reference);
    RUN(every_input_gives_one_output_even_for_tiny_records);
    RUN(bad_settings_give_no_design_and_a_message);
    RUN(monitoring_state_is_at_most_64_kib_per_lead_at_500_hz);
    return check_report();
}
