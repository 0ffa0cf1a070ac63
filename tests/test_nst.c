/* test_nst.c — specification of the Noise Stress Test mixer (formats/nst.h) on mitdb/118 + noise/em. */
#include "check.h"

#include "annot.h"
#include "nst.h"
#include "record.h"
#include "synth.h"

#include <stdint.h>
#include <sys/stat.h>


/* Reads a whole record, interleaved; NULL (with a failed check) on error. */
static int32_t *read_all(fmt_record *r)
{
    int64_t n = fmt_record_nsamples(r), pos = 0;
    int32_t *buf = NULL;
    char err[FMT_ERRLEN] = "";
    int rc = fmt_record_read_all(r, &buf, &pos, err, sizeof err);
    CHECK(rc == 0 && pos == n, "read %lld of %lld frames: %s", (long long)pos, (long long)n, err);
    if (pos != n) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* sigamp's trimmed mean, as nst.h documents it: drop n/20 at each end. */
static double trimmed(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int lo = n / 20;
    double s = 0;
    for (int j = lo; j < n - lo; j++) s += v[j];
    return s / (double)(n - 2 * lo);
}

static int normal_code(uint8_t c)
{
    return c == 1 || c == 2 || c == 3 || c == 4 || c == 7 || c == 8 || c == 9 || c == 11 || c == 25 ||
           c == 34 || c == 35;
}

typedef struct {
    fmt_record *clean, *mixed;
    int32_t *c, *m;
    int nl;
    int64_t n;
    double fs;
} pair;

static int open_pair(pair *p, double snr)
{
    char cp[1024], np[1024], err[FMT_ERRLEN] = "";
    memset(p, 0, sizeof *p);
    check_data_path(cp, sizeof cp, "mitdb/118");
    check_data_path(np, sizeof np, "noise/em");
    int rc = fmt_record_open(cp, &p->clean, err, sizeof err);
    CHECK(rc == 0, "open clean: %s", err);
    if (rc) return -1;
    rc = fmt_nst_open(cp, np, snr, &p->mixed, err, sizeof err);
    CHECK(rc == 0, "nst open at %g dB: %s", snr, err);
    if (rc) return -1;
    p->nl = fmt_record_nleads(p->clean);
    p->n = fmt_record_nsamples(p->clean);
    p->fs = fmt_record_fs(p->clean);
    p->c = read_all(p->clean);
    p->m = read_all(p->mixed);
    return p->c && p->m ? 0 : -1;
}

static void close_pair(pair *p)
{
    free(p->c);
    free(p->m);
    fmt_record_free(p->clean);
    fmt_record_free(p->mixed);
}

static void noisy_segments_start_at_minute_5_and_alternate_every_2_minutes(void)
{
    const double fs = 360;
    CHECK(!fmt_nst_is_noisy(0, fs) && !fmt_nst_is_noisy(107999, fs), "clean before 5:00");
    CHECK(fmt_nst_is_noisy(108000, fs) && fmt_nst_is_noisy(151199, fs), "noisy 5:00-7:00");
    CHECK(!fmt_nst_is_noisy(151200, fs) && !fmt_nst_is_noisy(194399, fs), "clean 7:00-9:00");
    CHECK(fmt_nst_is_noisy(194400, fs) && !fmt_nst_is_noisy(237600, fs), "noisy 9:00-11:00, clean at 11:00");
    CHECK(fmt_nst_is_noisy(640000, fs), "noisy 29:00-30:05");
    CHECK(!fmt_nst_is_noisy(-1, fs), "negative frames are not noisy");
}

static void mixed_record_describes_itself_like_the_clean_one(void)
{
    char cp[1024], np[1024], err[FMT_ERRLEN] = "";
    check_data_path(cp, sizeof cp, "mitdb/118.hea");
    check_data_path(np, sizeof np, "noise/em");
    fmt_record *m = NULL, *c = NULL;
    int rc = fmt_nst_open(cp, np, 6, &m, err, sizeof err);
    CHECK(rc == 0, "open with .hea path: %s", err);
    rc |= fmt_record_open(cp, &c, err, sizeof err);
    if (rc == 0) {
        CHECK(strcmp(fmt_record_name(m), "118_em_6dB") == 0, "name '%s'", fmt_record_name(m));
        CHECK(fmt_record_nleads(m) == 2 && fmt_record_fs(m) == 360 && fmt_record_nsamples(m) == 650000,
              "2 leads, 360 Hz, 650000 frames");
        CHECK(strcmp(fmt_record_lead(m, 0)->name, fmt_record_lead(c, 0)->name) == 0 &&
                  fmt_record_lead(m, 1)->uv_per_unit == fmt_record_lead(c, 1)->uv_per_unit &&
                  fmt_record_lead(m, 1)->baseline == fmt_record_lead(c, 1)->baseline,
              "leads as the clean record's");
        fmt_nst_info info;
        CHECK(fmt_nst_info_get(m, &info) == 0 && info.nbeats == 300 && info.nnoise == 2, "measured 300 beats");
        CHECK(fmt_nst_info_get(c, &info) == -1, "a plain record has no NST info");
    }
    fmt_record_free(m);
    fmt_record_free(c);
    fmt_record *neg = NULL;
    CHECK(fmt_nst_open(cp, np, -6, &neg, err, sizeof err) == 0 && strcmp(fmt_record_name(neg), "118_em_-6dB") == 0,
          "negative SNR name '%s'", neg ? fmt_record_name(neg) : err);
    fmt_record_free(neg);
}

static void mixed_record_equals_the_clean_one_outside_the_noisy_segments(void)
{
    pair p;
    if (open_pair(&p, 6) == 0) {
        int64_t diff_clean = 0, diff_noisy = 0, noisy = 0;
        for (int64_t t = 0; t < p.n; t++) {
            int in = fmt_nst_is_noisy(t, p.fs);
            noisy += in;
            for (int i = 0; i < p.nl; i++) {
                int d = p.m[t * p.nl + i] != p.c[t * p.nl + i];
                if (in) diff_noisy += d;
                else diff_clean += d;
            }
        }
        CHECK(diff_clean == 0, "%lld samples differ outside the noisy segments", (long long)diff_clean);
        CHECK(diff_noisy > noisy, "noise added: %lld of %lld noisy samples differ", (long long)diff_noisy,
              (long long)(noisy * p.nl));
    }
    close_pair(&p);
}

/* S from the clean record's reference beats, N from the noise actually added, both as nst.h
 * documents; returns the SNR of lead i in dB. */
static double measured_snr(const pair *p, const fmt_annot_list *al, int i)
{
    int64_t dt = llround(0.05 * p->fs);
    double amp[300];
    int nb = 0;
    for (size_t k = 0; k < al->count && nb < 300; k++) {
        int64_t t = al->items[k].sample;
        if (!normal_code(al->items[k].code) || t - dt < 0 || t + dt >= p->n) continue;
        int32_t lo = INT32_MAX, hi = INT32_MIN;
        for (int64_t j = t - dt; j <= t + dt; j++) {
            int32_t v = p->c[j * p->nl + i];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        amp[nb++] = (double)hi - lo;
    }
    double s = trimmed(amp, nb);
    int64_t w = llround(p->fs), seg = llround(120 * p->fs);
    double *rms = malloc(sizeof *rms * 2000);
    int nw = 0;
    for (int64_t a = llround(300 * p->fs); a < p->n; a += 2 * seg)
        for (int64_t t = a; t + w <= a + seg && t + w <= p->n && nw < 2000; t += w) {
            double m = 0, v = 0;
            for (int64_t f = t; f < t + w; f++) m += p->m[f * p->nl + i] - p->c[f * p->nl + i];
            m /= (double)w;
            for (int64_t f = t; f < t + w; f++) {
                double d = p->m[f * p->nl + i] - p->c[f * p->nl + i] - m;
                v += d * d;
            }
            rms[nw++] = sqrt(v / (double)w);
        }
    double nrms = trimmed(rms, nw);
    free(rms);
    return 10.0 * log10(s * s / (8.0 * nrms * nrms));
}

static void added_noise_has_the_requested_snr_within_half_a_db(void)
{
    char ap[1024], err[FMT_ERRLEN] = "";
    fmt_annot_list al = {0};
    int rc = fmt_annot_read_wfdb(check_data_path(ap, sizeof ap, "mitdb/118.atr"), &al, err, sizeof err);
    CHECK(rc == 0, "annotations: %s", err);
    if (rc) return;
    const double snrs[] = {24, 6, -6};
    for (int k = 0; k < 3; k++) {
        pair p;
        if (open_pair(&p, snrs[k]) == 0)
            for (int i = 0; i < p.nl; i++) {
                double got = measured_snr(&p, &al, i);
                CHECK(fabs(got - snrs[k]) <= 0.5, "lead %d: asked %g dB, measured %.3f dB", i, snrs[k], got);
            }
        close_pair(&p);
    }
    fmt_annot_list_free(&al);
}

static void lower_snr_means_proportionally_more_noise(void)
{
    char cp[1024], np[1024], err[FMT_ERRLEN] = "";
    check_data_path(cp, sizeof cp, "mitdb/118");
    check_data_path(np, sizeof np, "noise/em");
    fmt_record *a = NULL, *b = NULL;
    int rc = fmt_nst_open(cp, np, 24, &a, err, sizeof err);
    rc |= fmt_nst_open(cp, np, 0, &b, err, sizeof err);
    CHECK(rc == 0, "open: %s", err);
    if (rc == 0) {
        fmt_nst_info ia, ib;
        fmt_nst_info_get(a, &ia);
        fmt_nst_info_get(b, &ib);
        for (int i = 0; i < 2; i++) {
            CHECK_NEAR(ib.gain[i] / ia.gain[i], pow(10.0, 24.0 / 20.0), 1e-9, "gain ratio 0 vs 24 dB");
            CHECK_NEAR(ia.gain[i], pow(10, -24.0 / 20) * sqrt(2) / 4 * ia.qrs_pp[i] / ia.noise_rms[i], 1e-12,
                       "nst's gain formula");
        }
        /* 118 is recorded at 200 adu/mV: its QRS spans roughly 1-3 mV */
        CHECK(ia.qrs_pp[0] > 150 && ia.qrs_pp[0] < 800, "lead 0 QRS %.0f adu", ia.qrs_pp[0]);
    }
    fmt_record_free(a);
    fmt_record_free(b);
}

static void seeking_then_reading_gives_the_same_samples_as_reading_through(void)
{
    pair p;
    if (open_pair(&p, 12) == 0) {
        const int64_t starts[] = {107900, 151100, 400000, 649000, 5};
        char err[FMT_ERRLEN] = "";
        int32_t buf[2 * 1000];
        for (int k = 0; k < 5; k++) {
            CHECK(fmt_record_seek(p.mixed, starts[k], err, sizeof err) == 0, "seek: %s", err);
            long got = fmt_record_read(p.mixed, buf, 1000, err, sizeof err);
            CHECK(got == 1000, "read after seek to %lld: %ld", (long long)starts[k], got);
            CHECK(got > 0 && memcmp(buf, p.m + starts[k] * 2, sizeof *buf * 2 * (size_t)got) == 0,
                  "same samples at %lld", (long long)starts[k]);
        }
    }
    close_pair(&p);
}

/* Writes a synthetic record; with amp 0 and EMG on it is a pure noise record. */
static void write_synth(const char *dir, const char *name, double fs, double dur, int nleads, double amp,
                        double emg, uint64_t seed)
{
    synth_opts o;
    synth_defaults(&o);
    o.fs = fs;
    o.duration_s = dur;
    o.nleads = nleads;
    o.amp_mv = amp;
    o.emg_mv = emg;
    o.seed = seed;
    synth_ecg *e = synth_generate(&o);
    char err[512] = "";
    CHECK(e && synth_write_wfdb(e, dir, name, err, sizeof err) == 0, "write %s: %s", name, err);
    synth_free(e);
}

static void a_noise_record_at_another_sample_rate_is_an_error(void)
{
    const char *dir = check_tmpdir("nst_rate");
    write_synth(dir, "noise250", 250, 60, 2, 0, 0.1, 3);
    char cp[1024], np[1024], err[FMT_ERRLEN] = "";
    check_data_path(cp, sizeof cp, "mitdb/118");
    snprintf(np, sizeof np, "%s/noise250", dir);
    fmt_record *m = NULL;
    CHECK(fmt_nst_open(cp, np, 6, &m, err, sizeof err) == -1 && m == NULL, "refused");
    CHECK(strstr(err, "noise250") && strstr(err, "250 Hz") && strstr(err, "360 Hz"),
          "err names the file and both rates: '%s'", err);
}

static void a_missing_noise_record_is_an_error_naming_it(void)
{
    char cp[1024], np[1024], err[FMT_ERRLEN] = "";
    check_data_path(cp, sizeof cp, "mitdb/118");
    check_data_path(np, sizeof np, "noise/no_such_noise");
    fmt_record *m = NULL;
    CHECK(fmt_nst_open(cp, np, 6, &m, err, sizeof err) == -1 && m == NULL, "refused");
    CHECK(strstr(err, "no_such_noise") != NULL, "err names the record: '%s'", err);
}

static void a_clean_record_without_annotations_is_an_error_naming_the_atr(void)
{
    const char *dir = check_tmpdir("nst_noatr");
    write_synth(dir, "clean", 360, 420, 2, 1, 0, 4);
    char cp[1024], np[1024], err[FMT_ERRLEN] = "";
    snprintf(cp, sizeof cp, "%s/clean.atr", dir);
    remove(cp);
    snprintf(cp, sizeof cp, "%s/clean", dir);
    check_data_path(np, sizeof np, "noise/em");
    fmt_record *m = NULL;
    CHECK(fmt_nst_open(cp, np, 6, &m, err, sizeof err) == -1 && m == NULL, "refused");
    CHECK(strstr(err, "clean.atr") != NULL, "err names the annotation file: '%s'", err);
}

static void a_clean_record_of_five_minutes_or_less_is_an_error(void)
{
    const char *dir = check_tmpdir("nst_short");
    write_synth(dir, "short", 360, 200, 2, 1, 0, 5);
    char cp[1024], np[1024], err[FMT_ERRLEN] = "";
    snprintf(cp, sizeof cp, "%s/short", dir);
    check_data_path(np, sizeof np, "noise/em");
    fmt_record *m = NULL;
    CHECK(fmt_nst_open(cp, np, 6, &m, err, sizeof err) == -1 && m == NULL, "refused");
    CHECK(strstr(err, "short") && strstr(err, "300"), "err explains: '%s'", err);
    CHECK(fmt_nst_open(cp, np, NAN, &m, err, sizeof err) == -1, "NaN SNR refused");
}

static void a_short_noise_record_starts_again_from_its_beginning(void)
{
    /* 7 min clean at 125 Hz, 50 s of noise: noise frame t % 6250 goes to output frame t */
    const char *dir = check_tmpdir("nst_wrap");
    write_synth(dir, "clean", 125, 420, 3, 1, 0, 6);
    write_synth(dir, "noise", 125, 50, 2, 0, 0.2, 7);
    char cp[1024], np[1024], err[FMT_ERRLEN] = "";
    snprintf(cp, sizeof cp, "%s/clean", dir);
    snprintf(np, sizeof np, "%s/noise", dir);
    fmt_record *m = NULL, *c = NULL, *nz = NULL;
    int rc = fmt_nst_open(cp, np, 0, &m, err, sizeof err);
    CHECK(rc == 0, "open: %s", err);
    rc |= fmt_record_open(cp, &c, err, sizeof err) | fmt_record_open(np, &nz, err, sizeof err);
    if (rc == 0) {
        int32_t *mm = read_all(m), *cc = read_all(c), *nn = read_all(nz);
        fmt_nst_info info;
        fmt_nst_info_get(m, &info);
        int64_t bad = 0, checked = 0;
        for (int64_t t = 0; mm && cc && nn && t < fmt_record_nsamples(m); t++) {
            if (!fmt_nst_is_noisy(t, 125)) continue;
            for (int i = 0; i < 3; i++) {
                int j = i % 2; /* lead 2 gets noise channel 0 again */
                double want = cc[t * 3 + i] + nearbyint(info.gain[i] * (nn[(t % 6250) * 2 + j] - info.noise_mean[j]));
                bad += mm[t * 3 + i] != (int32_t)want;
                checked++;
            }
        }
        CHECK(checked > 40000 && bad == 0, "%lld of %lld samples not clean + g (noise[t %% n] - mean)",
              (long long)bad, (long long)checked);
        free(mm);
        free(cc);
        free(nn);
    }
    fmt_record_free(m);
    fmt_record_free(c);
    fmt_record_free(nz);
}

int main(void)
{
    RUN(noisy_segments_start_at_minute_5_and_alternate_every_2_minutes);
    RUN(mixed_record_describes_itself_like_the_clean_one);
    RUN(mixed_record_equals_the_clean_one_outside_the_noisy_segments);
    RUN(added_noise_has_the_requested_snr_within_half_a_db);
    RUN(lower_snr_means_proportionally_more_noise);
    RUN(seeking_then_reading_gives_the_same_samples_as_reading_through);
    RUN(a_noise_record_at_another_sample_rate_is_an_error);
    RUN(a_missing_noise_record_is_an_error_naming_it);
    RUN(a_clean_record_without_annotations_is_an_error_naming_the_atr);
    RUN(a_clean_record_of_five_minutes_or_less_is_an_error);
    RUN(a_short_noise_record_starts_again_from_its_beginning);
    return check_report();
}
