/* filter.c — the streaming filter: overlap-save FFT convolution plus the multirate baseline
 * estimate, both on blocks fixed by absolute sample index so that the output does not depend on
 * how the input is cut into pushes.
 *
 * Data flow: inputs (and the reflected extensions before index 0 and after the end) go into one
 * window x of the extended signal. The decimator consumes it as soon as it arrives, into u at
 * fs/R. An output block [kB, kB+B) is computed when both of its halves are ready: the FFT
 * frame x[kB-M, kB+B+M) and the low-rate values v it interpolates (which wait for more input
 * than the kernel does when the high-pass corner is low). So the window holds the block, the
 * kernel's reach and the baseline's lookahead; nothing is stored at the output.
 *
 * Delays (dsp_filter_delay: lookahead, in samples; the stream's output comes in blocks of B,
 * so its latency is up to delay + B samples) and per-stream state (dsp_filter_state_bytes):
 *                     360 Hz                 500 Hz                 1000 Hz
 *   0.67 Hz (monit.)   394 (1.09 s) 48 KiB    558 (1.12 s) 46 KiB   1120 (1.12 s)  86 KiB
 *   0.05 Hz (diagn.)  5370 (14.9 s) 82 KiB   7444 (14.9 s) 97 KiB  14890 (14.9 s) 192 KiB
 * (the 2 s notch kernel alone would give 1 s; the baseline's ~29 s Hann dominates at 0.05 Hz).
 * Speed (bench_filter, one core of the shared 2-core build machine, FFTW_ESTIMATE plans):
 * 60..110 M samples/s depending on the load; about 60 % of the time is in FFTW.
 */
#include "filter_impl.h"
#include "filter_simd.h"

#include <stdlib.h>
#include <string.h>

struct dsp_filter {
    const dsp_filter_design *d;
    float *x;           /* extended input, absolute indices [x_lo, x_hi) */
    int64_t x_lo, x_hi;
    double *u;          /* decimated input u[m], m in [u_lo, u_next) */
    int64_t u_lo, u_next;
    double *v;          /* low-rate baseline for the block being computed */
    float *work;        /* FFT frame, nfft + 2 floats (fftwf_malloc: the plans' alignment) */
    int64_t n_in;       /* real inputs received */
    int64_t next_block; /* k of the next output block */
    int64_t total;      /* input count once flushed, else -1 */
    int started;        /* the left extension x[-pre..-1] is in place */
    int finished;
};

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static float *xat(dsp_filter *f, int64_t i)
{
    return f->x + (i - f->x_lo);
}

dsp_filter *dsp_filter_create(const dsp_filter_design *d)
{
    dsp_filter *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->d = d;
    f->x = malloc(sizeof(float) * d->xcap);
    if (!f->x) goto fail;
    if (d->M > 0) {
        f->work = fftwf_malloc(sizeof(float) * (size_t)(d->nfft + 2));
        if (!f->work) goto fail;
    }
    if (d->R > 0) {
        f->u = malloc(sizeof(double) * d->ucap);
        f->v = malloc(sizeof(double) * d->vcap);
        if (!f->u || !f->v) goto fail;
    }
    f->x_lo = -d->pre;
    f->x_hi = 0;
    f->u_lo = f->u_next = -d->Q;
    f->total = -1;
    return f;

fail:
    dsp_filter_free(f);
    return NULL;
}

void dsp_filter_free(dsp_filter *f)
{
    if (!f) return;
    free(f->v);
    free(f->u);
    fftwf_free(f->work);
    free(f->x);
    free(f);
}

size_t dsp_filter_state_bytes(const dsp_filter *f)
{
    const dsp_filter_design *d = f->d;
    size_t b = sizeof *f + sizeof(float) * d->xcap;
    if (d->M > 0) b += sizeof(float) * (size_t)(d->nfft + 2);
    if (d->R > 0) b += sizeof(double) * (d->ucap + d->vcap);
    return b;
}

int64_t dsp_filter_next_index(const dsp_filter *f)
{
    int64_t k = f->next_block * f->d->block;
    return (f->total >= 0 && k > f->total) ? f->total : k;
}

size_t dsp_filter_max_output(const dsp_filter *f, size_t n)
{
    if (f->finished) return 0;
    return (size_t)(f->n_in - dsp_filter_next_index(f)) + n;
}

/* Drops the part of the window no consumer needs any more: the next FFT frame, the next
 * decimation and, for the reflection at the end, the last delay + 1 real inputs. */
static void compact(dsp_filter *f)
{
    const dsp_filter_design *d = f->d;
    if (!f->started) return;
    int64_t lo = f->next_block * d->block - d->M;
    if (d->R > 0 && f->u_next * d->R - (d->R - 1) < lo) lo = f->u_next * d->R - (d->R - 1);
    if (f->n_in - 1 - d->delay < lo) lo = f->n_in - 1 - d->delay;
    if (lo <= f->x_lo) return;
    memmove(f->x, xat(f, lo), sizeof(float) * (size_t)(f->x_hi - lo));
    f->x_lo = lo;
}

/* u[m] for every m whose triangle x[mR-R+1 .. mR+R-1] is in the window. */
static void decimate(dsp_filter *f)
{
    const dsp_filter_design *d = f->d;
    const int R = d->R;
    while (f->u_next * R + R - 1 < f->x_hi) {
        if (f->u_next - f->u_lo == (int64_t)d->ucap) {
            int64_t keep = floor_div(f->next_block * d->block, R) - d->Q;
            if (keep <= f->u_lo) return; /* cannot happen with ucap from the design */
            memmove(f->u, f->u + (keep - f->u_lo), sizeof(double) * (size_t)(f->u_next - keep));
            f->u_lo = keep;
        }
        const float *x = xat(f, f->u_next * R - (R - 1));
        f->u[f->u_next - f->u_lo] = dsp_filter_dot_f32(d->dec, x, (size_t)(2 * R - 1));
        f->u_next++;
    }
}

/* y for the block starting at k0, by overlap-save; returns where its B values are. */
static const float *convolve(dsp_filter *f, int64_t k0)
{
    const dsp_filter_design *d = f->d;
    if (d->M == 0) return xat(f, k0);
    float *w = f->work;
    memcpy(w, xat(f, k0 - d->M), sizeof(float) * (size_t)d->nfft);
    fftwf_execute_dft_r2c(d->r2c, w, (fftwf_complex *)w);
    dsp_filter_mul(w, d->spec, (size_t)(d->nfft + 2));
    fftwf_execute_dft_c2r(d->c2r, (fftwf_complex *)w, w);
    return w + d->M;
}

/* out[s] = y[s] - b[k0 + s] for s < cnt: the baseline interpolated from v. */
static void subtract_baseline(dsp_filter *f, int64_t k0, const float *y, size_t cnt, float *out)
{
    const dsp_filter_design *d = f->d;
    const int R = d->R, Q = d->Q;
    if (R == 0) {
        memcpy(out, y, sizeof(float) * cnt);
        return;
    }
    const int64_t m0 = floor_div(k0, R), m1 = floor_div(k0 + (int64_t)cnt - 1, R) + 1;
    for (int64_t m = m0; m <= m1; m++) {
        f->v[m - m0] = dsp_filter_dot_f64(d->g, f->u + (m - Q - f->u_lo), (size_t)(2 * Q + 1));
    }
    size_t s = 0;
    int r = (int)(k0 - m0 * R);
    for (int64_t m = m0; s < cnt; m++, r = 0) {
        const float v0 = (float)f->v[m - m0], dv = (float)f->v[m + 1 - m0] - v0;
        size_t len = (size_t)(R - r);
        if (len > cnt - s) len = cnt - s;
        dsp_filter_sub(out + s, y + s, d->wr + r, v0, dv, len);
        s += len;
    }
}

/* Computes every block whose inputs are all in; returns the outputs written. */
static size_t advance(dsp_filter *f, float *out)
{
    const dsp_filter_design *d = f->d;
    const int64_t B = d->block;
    size_t n = 0;
    if (d->R > 0) decimate(f);
    for (;;) {
        const int64_t k0 = f->next_block * B;
        if (f->total >= 0 && k0 >= f->total) break;
        if (f->x_hi < k0 + B + d->M) break;
        if (d->R > 0 && f->u_next <= floor_div(k0 + B - 1, d->R) + 1 + d->Q) break;
        size_t cnt = (size_t)B;
        if (f->total >= 0 && f->total - k0 < B) cnt = (size_t)(f->total - k0);
        subtract_baseline(f, k0, convolve(f, k0), cnt, out + n);
        n += cnt;
        f->next_block++;
    }
    return n;
}

/* The left extension, once the first pre + 1 inputs (or, at a flush, all of them) are in. */
static void start(dsp_filter *f, int64_t n)
{
    for (int64_t i = -f->d->pre; i < 0; i++) *xat(f, i) = *xat(f, dsp_filter_reflect(i, n));
    f->started = 1;
}

size_t dsp_filter_push(dsp_filter *f, const float *in, size_t n, float *out)
{
    size_t emitted = 0;
    if (f->finished) return 0;
    while (n > 0) {
        compact(f);
        size_t room = f->d->xcap - (size_t)(f->x_hi - f->x_lo);
        size_t take = n < room ? n : room;
        memcpy(xat(f, f->x_hi), in, sizeof(float) * take);
        f->x_hi += (int64_t)take;
        f->n_in += (int64_t)take;
        in += take;
        n -= take;
        if (!f->started && f->n_in > f->d->pre) start(f, f->n_in);
        if (f->started) emitted += advance(f, out + emitted);
    }
    return emitted;
}

size_t dsp_filter_flush(dsp_filter *f, float *out)
{
    const dsp_filter_design *d = f->d;
    if (f->finished) return 0;
    f->finished = 1;
    const int64_t N = f->n_in;
    f->total = N;
    if (N == 0) return 0;
    if (!f->started) start(f, N);
    size_t emitted = advance(f, out);
    /* The right extension: reflection as far as any output reaches, zeros after (they only
     * fill the last FFT frame and decimations whose outputs are dropped). */
    while (dsp_filter_next_index(f) < N) {
        compact(f);
        int64_t room = (int64_t)d->xcap - (f->x_hi - f->x_lo);
        for (int64_t i = f->x_hi; i < f->x_hi + room; i++)
            *xat(f, i) = i <= N - 1 + d->delay ? *xat(f, dsp_filter_reflect(i, N)) : 0.0f;
        f->x_hi += room;
        emitted += advance(f, out + emitted);
    }
    return emitted;
}
