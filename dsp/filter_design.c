/* filter_design.c — designs the filter chain: the full-rate low-pass+notch kernel by frequency
 * sampling and a Kaiser window, its FFT spectrum and plans, and the multirate baseline stage.
 *
 * Why these numbers:
 * - Notch: the desired response is 0 within NOTCH_STOP_HZ of each mains harmonic and rises as a
 *   raised cosine to 1 at NOTCH_PASS_HZ; a KERNEL_NOTCH_S long Kaiser window (beta KAISER_BETA)
 *   smears that by well under a hertz, leaving >= 40 dB at +-0.5 Hz and < 0.5 dB error at +-3 Hz.
 * - Low-pass: raised-cosine transition of width LP_WIDTH_FRAC * corner placed so that the
 *   desired response is -3 dB at the corner.
 * - High-pass: the baseline estimate is a Hann-shaped low-pass of duration HP_HANN_CYCLES /
 *   corner, which puts the chain's -3 dB point at about 0.9 x the corner (so the stated corner
 *   always passes >= -3 dB) and reaches < 0.5 dB error by 1.5 x the corner... for 0.67 Hz that
 *   is 1.0 Hz and for 0.05 Hz 0.2 Hz, as IEC 60601-2-25 wants. It runs at fs/R with about
 *   2 * LOWRATE_HALF + 1 taps, whatever the corner, so even 0.05 Hz needs a tiny state.
 */
#include "filter_impl.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* FFTW's planner (and plan destruction) is not thread-safe; this process-wide lock is the one
 * mutable global of the module. Executing plans with the new-array functions needs no lock. */
static pthread_mutex_t filter_fftw_lock = PTHREAD_MUTEX_INITIALIZER;

#define KERNEL_NOTCH_S 2.0
#define KAISER_BETA 5.0
#define NOTCH_STOP_HZ 0.9
#define NOTCH_PASS_HZ 2.2
#define LP_WIDTH_FRAC 0.25
#define HP_HANN_CYCLES (1.3 / 0.9)
#define LOWRATE_HALF 32

void dsp_filter_opts_monitoring(dsp_filter_opts *o, double fs)
{
    o->fs = fs;
    o->highpass_hz = 0.67;
    o->lowpass_hz = 40.0;
    o->mains_hz = 50.0;
}

void dsp_filter_opts_diagnostic(dsp_filter_opts *o, double fs)
{
    o->fs = fs;
    o->highpass_hz = 0.05;
    o->lowpass_hz = 150.0;
    o->mains_hz = 50.0;
}

static int check_opts(const dsp_filter_opts *o, char *err, size_t errlen)
{
    if (!isfinite(o->fs) || !isfinite(o->highpass_hz) || !isfinite(o->lowpass_hz) ||
        !isfinite(o->mains_hz)) {
        snprintf(err, errlen, "filter settings: a value is not a number (fs %g, high-pass %g, "
                 "low-pass %g, mains %g)", o->fs, o->highpass_hz, o->lowpass_hz, o->mains_hz);
        return -1;
    }
    if (o->fs < 125.0 || o->fs > 2000.0) {
        snprintf(err, errlen, "filter settings: sample rate %g Hz is outside 125..2000 Hz", o->fs);
        return -1;
    }
    if (o->highpass_hz < 0.0 || o->highpass_hz > 5.0) {
        snprintf(err, errlen, "filter settings: high-pass corner %g Hz is outside 0..5 Hz "
                 "(0 turns it off)", o->highpass_hz);
        return -1;
    }
    if (o->lowpass_hz != 0.0 && (o->lowpass_hz < 5.0 || o->lowpass_hz < 4.0 * o->highpass_hz)) {
        snprintf(err, errlen, "filter settings: low-pass corner %g Hz is below 5 Hz or too close "
                 "to the high-pass corner %g Hz", o->lowpass_hz, o->highpass_hz);
        return -1;
    }
    if (o->mains_hz != 0.0 && (o->mains_hz < 45.0 || o->mains_hz > 65.0)) {
        snprintf(err, errlen, "filter settings: mains frequency %g Hz is not 50 or 60 Hz "
                 "(0 turns the notch off)", o->mains_hz);
        return -1;
    }
    return 0;
}

/* Zeroth-order modified Bessel function, by its power series (converges fast for beta <= 10). */
static double bessel_i0(double x)
{
    double sum = 1.0, term = 1.0, q = x * x / 4.0;
    for (int k = 1; k < 60 && term > 1e-17 * sum; k++) {
        term *= q / ((double)k * k);
        sum += term;
    }
    return sum;
}

/* The desired zero-phase magnitude of the full-rate kernel at f (Hz). */
static double desired(const dsp_filter_opts *o, double f)
{
    double d = 1.0;
    if (o->lowpass_hz > 0.0) {
        double w = LP_WIDTH_FRAC * o->lowpass_hz;
        /* 0.5 * (1 + cos(pi t)) = 1/sqrt(2) at t = 0.3641: that is where the corner goes */
        double f1 = o->lowpass_hz - 0.3641 * w;
        if (f >= f1 + w) return 0.0;
        if (f > f1) d = 0.5 * (1.0 + cos(M_PI * (f - f1) / w));
    }
    if (o->mains_hz > 0.0) {
        for (double c = o->mains_hz; c <= o->fs / 2.0; c += o->mains_hz) {
            double a = fabs(f - c);
            if (a <= NOTCH_STOP_HZ) return 0.0;
            if (a < NOTCH_PASS_HZ)
                d *= 0.5 * (1.0 - cos(M_PI * (a - NOTCH_STOP_HZ) / (NOTCH_PASS_HZ - NOTCH_STOP_HZ)));
        }
    }
    return d;
}

static int next_pow2(int n)
{
    int p = 1;
    while (p < n) p *= 2;
    return p;
}

/* Frequency sampling: the desired response on a dense grid, inverse FFT, Kaiser window. Called
 * under the FFTW lock (it plans). */
static int design_kernel(dsp_filter_design *d, char *err, size_t errlen)
{
    const int M = d->M, L = 2 * M + 1;
    if (M == 0) {
        d->kernel[0] = 1.0;
        return 0;
    }
    int ng = next_pow2(16 * L);
    float *buf = fftwf_malloc(sizeof(float) * (size_t)(ng + 2));
    if (!buf) {
        snprintf(err, errlen, "filter design: out of memory for a %d-point design grid", ng);
        return -1;
    }
    fftwf_plan p = fftwf_plan_dft_c2r_1d(ng, (fftwf_complex *)buf, buf, FFTW_ESTIMATE);
    if (!p) {
        fftwf_free(buf);
        snprintf(err, errlen, "filter design: FFTW could not plan a %d-point transform", ng);
        return -1;
    }
    for (int k = 0; k <= ng / 2; k++) {
        buf[2 * k] = (float)desired(&d->o, d->o.fs * k / ng);
        buf[2 * k + 1] = 0.0f;
    }
    fftwf_execute(p);
    fftwf_destroy_plan(p);
    double sum = 0.0, i0b = bessel_i0(KAISER_BETA);
    for (int j = -M; j <= M; j++) {
        double t = (double)j / (M + 1);
        double w = bessel_i0(KAISER_BETA * sqrt(1.0 - t * t)) / i0b;
        d->kernel[M + j] = w * buf[(j + ng) % ng];
        sum += d->kernel[M + j];
    }
    fftwf_free(buf);
    for (int j = 0; j < L; j++) d->kernel[j] /= sum;
    for (int j = 0; j < M; j++) /* exact symmetry whatever the FFT's rounding */
        d->kernel[j] = d->kernel[L - 1 - j] = 0.5 * (d->kernel[j] + d->kernel[L - 1 - j]);
    return 0;
}

/* The kernel's spectrum for the overlap-save stage, and the stream's plans. Under the lock. */
static int plan_fft(dsp_filter_design *d, char *err, size_t errlen)
{
    const int n = d->nfft;
    float *buf = fftwf_malloc(sizeof(float) * (size_t)(n + 2));
    if (!buf) {
        snprintf(err, errlen, "filter design: out of memory for a %d-point FFT", n);
        return -1;
    }
    d->r2c = fftwf_plan_dft_r2c_1d(n, buf, (fftwf_complex *)buf, FFTW_ESTIMATE);
    d->c2r = fftwf_plan_dft_c2r_1d(n, (fftwf_complex *)buf, buf, FFTW_ESTIMATE);
    if (!d->r2c || !d->c2r) {
        fftwf_free(buf);
        snprintf(err, errlen, "filter design: FFTW could not plan a %d-point transform", n);
        return -1;
    }
    /* Zero-phase placement (tap j at j mod n) makes the spectrum real: keep only its real part. */
    memset(buf, 0, sizeof(float) * (size_t)(n + 2));
    for (int j = -d->M; j <= d->M; j++) buf[(j + n) % n] = (float)d->kernel[d->M + j];
    fftwf_execute(d->r2c);
    for (int k = 0; k <= n / 2; k++) {
        float re = buf[2 * k] / (float)n;
        d->spec[2 * k] = re;
        d->spec[2 * k + 1] = re;
    }
    fftwf_free(buf);
    return 0;
}

static void design_baseline(dsp_filter_design *d)
{
    const int R = d->R, Q = d->Q;
    for (int j = -(R - 1); j <= R - 1; j++)
        d->dec[j + R - 1] = (double)(R - abs(j)) / ((double)R * R);
    /* Hann of Q+1 points each side (the end points, which are zero, dropped) */
    double sum = 0.0;
    for (int i = -Q; i <= Q; i++) {
        d->g[Q + i] = 0.5 * (1.0 + cos(M_PI * i / (Q + 1)));
        sum += d->g[Q + i];
    }
    for (int i = 0; i <= 2 * Q; i++) d->g[i] /= sum;
    for (int r = 0; r < R; r++) d->wr[r] = (float)r / (float)R;
}

dsp_filter_design *dsp_filter_design_create(const dsp_filter_opts *opts, char *err, size_t errlen)
{
    if (check_opts(opts, err, errlen) != 0) return NULL;
    dsp_filter_design *d = calloc(1, sizeof *d);
    if (!d) goto oom;
    d->o = *opts;
    const double fs = d->o.fs;
    if (d->o.lowpass_hz > 0.4 * fs) d->o.lowpass_hz = 0.4 * fs;

    double len_s = 0.0;
    if (d->o.mains_hz > 0.0) len_s = KERNEL_NOTCH_S;
    if (d->o.lowpass_hz > 0.0 && 4.0 / (LP_WIDTH_FRAC * d->o.lowpass_hz) > len_s)
        len_s = 4.0 / (LP_WIDTH_FRAC * d->o.lowpass_hz);
    d->M = (int)ceil(len_s * fs / 2.0);
    /* FFT about four kernel lengths: the best throughput with FFTW_ESTIMATE plans (bench). */
    d->nfft = next_pow2(4 * (2 * d->M + 1));
    if (d->nfft < 256) d->nfft = 256;
    d->block = d->nfft - 2 * d->M;

    if (d->o.highpass_hz > 0.0) {
        double span = HP_HANN_CYCLES / d->o.highpass_hz * fs; /* Hann length, full-rate samples */
        d->R = (int)lround(span / (2.0 * (LOWRATE_HALF + 1)));
        if (d->R < 1) d->R = 1;
        d->Q = (int)lround(span / (2.0 * d->R)) - 1;
        if (d->Q < 1) d->Q = 1;
    }

    d->kernel = malloc(sizeof(double) * (size_t)(2 * d->M + 1));
    d->spec = fftwf_malloc(sizeof(float) * (size_t)(d->nfft + 2));
    if (!d->kernel || !d->spec) goto oom;
    if (d->R > 0) {
        d->dec = malloc(sizeof(double) * (size_t)(2 * d->R - 1));
        d->g = malloc(sizeof(double) * (size_t)(2 * d->Q + 1));
        d->wr = malloc(sizeof(float) * (size_t)d->R);
        if (!d->dec || !d->g || !d->wr) goto oom;
        design_baseline(d);
    }

    pthread_mutex_lock(&filter_fftw_lock);
    int rc = design_kernel(d, err, errlen);
    if (rc == 0 && d->M > 0) rc = plan_fft(d, err, errlen);
    pthread_mutex_unlock(&filter_fftw_lock);
    if (rc != 0) goto fail;

    /* Lookahead: the kernel's M; the baseline's v[m+1] for n = mR + 1 reaches (Q+2)R - 2. */
    int64_t eb = d->R > 0 ? (int64_t)(d->Q + 2) * d->R - 2 : 0;
    if (d->R == 1) eb = d->Q;
    d->delay = d->M > eb ? d->M : eb;
    int64_t back = d->R > 0 ? (int64_t)(d->Q + 1) * d->R - 1 : 0; /* lookbehind of b[0] */
    d->pre = d->M > back ? d->M : back;
    /* From a block's last output to the last input the block waits for (conv or v[m+1+...]). */
    int64_t nb = d->R > 0 ? (int64_t)(d->Q + 3) * d->R : 0;
    d->need = d->M > nb ? d->M : nb;
    d->xcap = (size_t)(d->block + d->M + d->need + d->delay + 1);
    if (d->xcap < (size_t)(2 * d->pre + 1)) d->xcap = (size_t)(2 * d->pre + 1);
    d->xcap += (size_t)(d->block / 2 + 64); /* slack so that compaction is rare */
    if (d->R > 0) {
        d->ucap = d->xcap / (size_t)d->R + (size_t)(2 * d->Q + 8);
        d->vcap = (size_t)(d->block / d->R + 4);
    }
    return d;

oom:
    snprintf(err, errlen, "filter design: out of memory");
fail:
    dsp_filter_design_free(d);
    return NULL;
}

void dsp_filter_design_free(dsp_filter_design *d)
{
    if (!d) return;
    pthread_mutex_lock(&filter_fftw_lock);
    if (d->c2r) fftwf_destroy_plan(d->c2r);
    if (d->r2c) fftwf_destroy_plan(d->r2c);
    pthread_mutex_unlock(&filter_fftw_lock);
    free(d->wr);
    free(d->g);
    free(d->dec);
    fftwf_free(d->spec);
    free(d->kernel);
    free(d);
}

int64_t dsp_filter_delay(const dsp_filter_design *d)
{
    return d->delay;
}

void dsp_filter_get_stages(const dsp_filter_design *d, dsp_filter_stages *s)
{
    s->kernel = d->kernel;
    s->half = d->M;
    s->decim = d->R;
    s->lowrate = d->g;
    s->lowrate_half = d->Q;
    s->fft_size = d->nfft;
    s->block = d->block;
}

/* Fejer kernel: the gain of an R-point boxcar squared (triangle), normalised to 1 at DC. */
static double fejer(double f, double fs, int R)
{
    double s = sin(M_PI * f / fs);
    if (fabs(s) < 1e-12) return 1.0;
    double r = sin(M_PI * f * R / fs) / (R * s);
    return r * r;
}

double dsp_filter_gain(const dsp_filter_design *d, double f)
{
    const double fs = d->o.fs;
    double h = d->kernel[d->M];
    for (int j = 1; j <= d->M; j++) h += 2.0 * d->kernel[d->M + j] * cos(2.0 * M_PI * f * j / fs);
    double b = 0.0;
    if (d->R > 0) {
        /* The multirate path's time-invariant part: decimation triangle, low-rate FIR,
         * interpolation triangle (aliases and images ignored: they are tens of dB down). */
        double gl = d->g[d->Q];
        for (int i = 1; i <= d->Q; i++)
            gl += 2.0 * d->g[d->Q + i] * cos(2.0 * M_PI * f * d->R * i / fs);
        double t = fejer(f, fs, d->R);
        b = t * gl * t;
    }
    return fabs(h - b);
}
