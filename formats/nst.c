/* nst.c — Noise Stress Test mixer behind fmt_record: clean + gain * noise in 2-minute segments. */
#include "nst.h"

#include "annot.h"
#include "record_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CHUNK = 4096 };

typedef struct {
    fmt_record *clean;
    fmt_record *noise;
    int nl, nn;            /* leads of the clean record, channels of the noise record */
    int64_t nn_samples;    /* length of the noise record, frames */
    int64_t noise_pos;     /* the noise record's read position, to avoid needless seeks */
    int64_t pos;           /* next output frame */
    fmt_nst_info info;
    int32_t *nbuf;         /* CHUNK noise frames */
} nst_impl;

static const fmt_record_ops nst_ops;

int fmt_nst_is_noisy(int64_t frame, double fs)
{
    int64_t start = llround(FMT_NST_CLEAN_S * fs), seg = llround(FMT_NST_SEGMENT_S * fs);
    if (frame < start || seg <= 0) return 0;
    return ((frame - start) / seg) % 2 == 0;
}

/* WFDB map1()'s NORMAL class among beats: N L R a J A S j e n B. */
static int is_normal_beat(uint8_t code)
{
    switch (code) {
    case 1: case 2: case 3: case 4: case 7: case 8: case 9: case 11: case 25: case 34: case 35:
        return 1;
    default:
        return 0;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* sigamp's trimmed mean: sorts v and averages all but the n/20 smallest and n/20 largest. */
static double trimmed_mean(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int lo = n / 20, hi = n - lo;
    double s = 0.0;
    for (int j = lo; j < hi; j++) s += v[j];
    return s / (double)(hi - lo);
}

/* Reads exactly n frames from r at frame `at`, or fails with err. */
static int read_exact(fmt_record *r, int64_t at, int32_t *buf, long n, char *err, size_t errlen)
{
    if (fmt_record_seek(r, at, err, errlen)) return -1;
    long done = 0;
    while (done < n) {
        long got = fmt_record_read(r, buf + (size_t)done * (size_t)fmt_record_nleads(r), n - done, err, errlen);
        if (got < 0) return -1;
        if (got == 0) return fmt_fail(err, errlen, "%s: ended at frame %lld, before its stated length",
                                      fmt_record_name(r), (long long)(at + done));
        done += got;
    }
    return 0;
}

/* Reads n noise frames for output frames [at, at + n), starting again from the noise record's
 * beginning as often as it runs out. */
static int read_noise(nst_impl *s, int64_t at, int32_t *buf, long n, char *err, size_t errlen)
{
    long done = 0;
    while (done < n) {
        int64_t p = (at + done) % s->nn_samples;
        long take = n - done;
        if (take > s->nn_samples - p) take = (long)(s->nn_samples - p);
        if (p != s->noise_pos && fmt_record_seek(s->noise, p, err, errlen)) return -1;
        s->noise_pos = p;
        long got = 0;
        while (got < take) {
            long g = fmt_record_read(s->noise, buf + (size_t)(done + got) * (size_t)s->nn, take - got, err, errlen);
            if (g < 0) return -1;
            if (g == 0)
                return fmt_fail(err, errlen, "%s: ended at frame %lld, before its stated length",
                                fmt_record_name(s->noise), (long long)(p + got));
            got += g;
        }
        s->noise_pos = p + take;
        done += take;
    }
    return 0;
}

/* S_i from the first FMT_NST_MAX_BEATS normal beats whose whole window lies in the record. */
static int measure_signal(nst_impl *s, const char *atr, char *err, size_t errlen)
{
    fmt_annot_list al = {0};
    double *amp = NULL;
    int32_t *win = NULL;
    int rc = -1;
    if (fmt_annot_read_wfdb(atr, &al, err, errlen)) goto fail;
    int64_t dt = llround(0.05 * fmt_record_fs(s->clean)), n = fmt_record_nsamples(s->clean);
    long wlen = (long)(2 * dt + 1);
    amp = malloc(sizeof *amp * (size_t)s->nl * FMT_NST_MAX_BEATS);
    win = malloc(sizeof *win * (size_t)s->nl * (size_t)wlen);
    if (!amp || !win) {
        fmt_fail(err, errlen, "%s: out of memory", atr);
        goto fail;
    }
    int nb = 0;
    for (size_t k = 0; k < al.count && nb < FMT_NST_MAX_BEATS; k++) {
        int64_t t = al.items[k].sample;
        if (!is_normal_beat(al.items[k].code) || t - dt < 0 || t + dt >= n) continue;
        if (read_exact(s->clean, t - dt, win, wlen, err, errlen)) goto fail;
        for (int i = 0; i < s->nl; i++) {
            int32_t lo = win[i], hi = win[i];
            for (long f = 1; f < wlen; f++) {
                int32_t v = win[(size_t)f * (size_t)s->nl + (size_t)i];
                if (v < lo) lo = v;
                if (v > hi) hi = v;
            }
            amp[(size_t)i * FMT_NST_MAX_BEATS + (size_t)nb] = (double)hi - (double)lo;
        }
        nb++;
    }
    if (nb == 0) {
        fmt_fail(err, errlen, "%s: no normal beats inside the record to measure the QRS amplitude from", atr);
        goto fail;
    }
    for (int i = 0; i < s->nl; i++) {
        s->info.qrs_pp[i] = trimmed_mean(amp + (size_t)i * FMT_NST_MAX_BEATS, nb);
        if (!(s->info.qrs_pp[i] > 0.0)) {
            fmt_fail(err, errlen, "%s: lead %d (%s) has zero QRS amplitude: no noise gain can give an SNR",
                     fmt_record_name(s->clean), i, fmt_record_lead(s->clean, i)->name);
            goto fail;
        }
    }
    s->info.nbeats = nb;
    rc = 0;
fail:
    free(win);
    free(amp);
    fmt_annot_list_free(&al);
    return rc;
}

/* N_j and m_j over every whole second of every noisy segment. */
static int measure_noise(nst_impl *s, char *err, size_t errlen)
{
    double fs = fmt_record_fs(s->clean);
    int64_t n = fmt_record_nsamples(s->clean), w = llround(fs);
    int64_t start = llround(FMT_NST_CLEAN_S * fs), seg = llround(FMT_NST_SEGMENT_S * fs);
    int64_t nwin_max = (n / seg + 1) * (seg / w + 1);
    double *rms = malloc(sizeof *rms * (size_t)s->nn * (size_t)nwin_max);
    int32_t *buf = malloc(sizeof *buf * (size_t)s->nn * (size_t)w);
    double *sum = calloc((size_t)s->nn, sizeof *sum);
    int rc = -1;
    if (!rms || !buf || !sum) {
        fmt_fail(err, errlen, "%s: out of memory", fmt_record_name(s->noise));
        goto fail;
    }
    int64_t nwin = 0, total = 0;
    for (int64_t a = start; a < n; a += 2 * seg) {
        int64_t end = a + seg < n ? a + seg : n;
        for (int64_t t = a; t + w <= end; t += w) {
            if (read_noise(s, t, buf, (long)w, err, errlen)) goto fail;
            for (int j = 0; j < s->nn; j++) {
                double m = 0.0, v = 0.0;
                for (int64_t f = 0; f < w; f++) m += buf[f * s->nn + j];
                sum[j] += m;
                m /= (double)w;
                for (int64_t f = 0; f < w; f++) {
                    double d = buf[f * s->nn + j] - m;
                    v += d * d;
                }
                rms[(size_t)j * (size_t)nwin_max + (size_t)nwin] = sqrt(v / (double)w);
            }
            nwin++;
            total += w;
        }
    }
    if (nwin == 0) {
        fmt_fail(err, errlen, "%s: %.1f s long; the noise stress test adds noise only from %.0f s on, "
                 "so nothing would be noisy", fmt_record_name(s->clean), (double)n / fs, FMT_NST_CLEAN_S);
        goto fail;
    }
    for (int j = 0; j < s->nn; j++) {
        s->info.noise_rms[j] = trimmed_mean(rms + (size_t)j * (size_t)nwin_max, (int)nwin);
        s->info.noise_mean[j] = sum[j] / (double)total;
    }
    for (int i = 0; i < s->nl; i++) {
        int j = i % s->nn;
        if (!(s->info.noise_rms[j] > 0.0)) {
            fmt_fail(err, errlen, "%s: noise channel %d (%s) is flat in the noisy segments: it cannot be "
                     "scaled to an SNR", fmt_record_name(s->noise), j, fmt_record_lead(s->noise, j)->name);
            goto fail;
        }
    }
    rc = 0;
fail:
    free(sum);
    free(buf);
    free(rms);
    return rc;
}

static long nst_read(void *impl, int32_t *buf, long max_frames, char *err, size_t errlen)
{
    nst_impl *s = impl;
    long done = 0;
    while (done < max_frames) {
        long want = max_frames - done < CHUNK ? max_frames - done : CHUNK;
        int32_t *out = buf + (size_t)done * (size_t)s->nl;
        long got = fmt_record_read(s->clean, out, want, err, errlen);
        if (got < 0) return -1;
        if (got == 0) break;
        int64_t t0 = s->pos + done;
        double fs = fmt_record_fs(s->clean);
        /* the noise is read only for spans that need it */
        if (fmt_nst_is_noisy(t0, fs) || fmt_nst_is_noisy(t0 + got - 1, fs) ||
            (int64_t)got > llround(FMT_NST_SEGMENT_S * fs)) {
            if (read_noise(s, t0, s->nbuf, got, err, errlen)) return -1;
            for (long f = 0; f < got; f++) {
                if (!fmt_nst_is_noisy(t0 + f, fs)) continue;
                for (int i = 0; i < s->nl; i++) {
                    int j = i % s->nn;
                    double v = (double)out[(size_t)f * (size_t)s->nl + (size_t)i] +
                               nearbyint(s->info.gain[i] * ((double)s->nbuf[(size_t)f * (size_t)s->nn + (size_t)j] -
                                                            s->info.noise_mean[j]));
                    /* int32 holds any realistic mix; the clamp only keeps absurd SNRs defined */
                    if (v > INT32_MAX) v = INT32_MAX;
                    if (v < INT32_MIN) v = INT32_MIN;
                    out[(size_t)f * (size_t)s->nl + (size_t)i] = (int32_t)v;
                }
            }
        }
        done += got;
    }
    s->pos += done;
    return done;
}

static int nst_seek(void *impl, int64_t frame, char *err, size_t errlen)
{
    nst_impl *s = impl;
    if (fmt_record_seek(s->clean, frame, err, errlen)) return -1;
    s->pos = frame;
    return 0;
}

static void nst_close(void *impl)
{
    nst_impl *s = impl;
    if (!s) return;
    free(s->nbuf);
    fmt_record_free(s->noise);
    fmt_record_free(s->clean);
    free(s);
}

static const fmt_record_ops nst_ops = {nst_read, nst_seek, nst_close};

int fmt_nst_info_get(const fmt_record *r, fmt_nst_info *out)
{
    if (!r || r->ops != &nst_ops) return -1;
    *out = ((const nst_impl *)r->impl)->info;
    return 0;
}

/* "<record>.atr" for a WFDB record given with or without its ".hea". */
static int atr_path(const char *clean_path, char *buf, size_t len)
{
    size_t n = strlen(clean_path);
    if (n >= 4 && !strcmp(clean_path + n - 4, ".hea")) n -= 4;
    int w = snprintf(buf, len, "%.*s.atr", (int)n, clean_path);
    return w < 0 || (size_t)w >= len ? -1 : 0;
}

int fmt_nst_open(const char *clean_path, const char *noise_path, double snr_db, fmt_record **out,
                 char *err, size_t errlen)
{
    *out = NULL;
    nst_impl *s = NULL;
    fmt_record *r = NULL;
    char atr[4096];
    if (!clean_path || !noise_path) return fmt_fail(err, errlen, "nst: no clean or noise record path given");
    if (!isfinite(snr_db))
        return fmt_fail(err, errlen, "%s: the noise stress test needs a finite SNR in dB", clean_path);
    if (atr_path(clean_path, atr, sizeof atr)) return fmt_fail(err, errlen, "%s: path too long", clean_path);

    s = calloc(1, sizeof *s);
    if (!s) return fmt_fail(err, errlen, "%s: out of memory", clean_path);
    if (fmt_record_open(clean_path, &s->clean, err, errlen)) goto fail;
    if (fmt_record_open(noise_path, &s->noise, err, errlen)) goto fail;
    s->nl = fmt_record_nleads(s->clean);
    s->nn = fmt_record_nleads(s->noise);
    s->nn_samples = fmt_record_nsamples(s->noise);
    double fs = fmt_record_fs(s->clean), nfs = fmt_record_fs(s->noise);
    if (fabs(fs - nfs) > 1e-6 * fs) {
        fmt_fail(err, errlen, "%s: sampled at %g Hz but the clean record %s at %g Hz; resample the noise "
                 "record to %g Hz first", noise_path, nfs, clean_path, fs, fs);
        goto fail;
    }
    if (s->nn_samples <= 0) {
        fmt_fail(err, errlen, "%s: the noise record holds no samples", noise_path);
        goto fail;
    }
    s->nbuf = malloc(sizeof *s->nbuf * (size_t)s->nn * CHUNK);
    if (!s->nbuf) {
        fmt_fail(err, errlen, "%s: out of memory", noise_path);
        goto fail;
    }
    s->noise_pos = 0;
    if (measure_signal(s, atr, err, errlen)) goto fail;
    if (measure_noise(s, err, errlen)) goto fail;
    if (fmt_record_seek(s->clean, 0, err, errlen)) goto fail;

    s->info.snr_db = snr_db;
    s->info.nnoise = s->nn;
    double nsr = pow(10.0, -snr_db / 20.0) * sqrt(2.0) / 4.0;
    for (int i = 0; i < s->nl; i++) s->info.gain[i] = nsr * s->info.qrs_pp[i] / s->info.noise_rms[i % s->nn];

    r = calloc(1, sizeof *r);
    if (!r) {
        fmt_fail(err, errlen, "%s: out of memory", clean_path);
        goto fail;
    }
    r->ops = &nst_ops;
    r->impl = s;
    r->nleads = s->nl;
    r->fs = fs;
    r->nsamples = fmt_record_nsamples(s->clean);
    r->pos = 0;
    memcpy(r->leads, s->clean->leads, sizeof r->leads);
    r->patient = *fmt_record_patient(s->clean);
    snprintf(r->name, sizeof r->name, "%.100s_%.100s_%gdB", fmt_record_name(s->clean),
             fmt_record_name(s->noise), snr_db);
    snprintf(r->format, sizeof r->format, "%s", fmt_record_format(s->clean));
    *out = r;
    return 0;

fail:
    nst_close(s);
    return -1;
}
