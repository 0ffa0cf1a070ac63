/* filter.h — the streaming linear-phase ECG filter chain: baseline wander high-pass, mains notch
 * (and harmonics), low-pass, combined so that a sample passes one FFT convolution (FFTW, single
 * precision, overlap-save); the high-pass is a multirate baseline estimate subtracted from the
 * convolution's output, so that even the 0.05 Hz diagnostic setting keeps a small state.
 *
 * Usage: one dsp_filter_design per (settings, sample rate), shared read-only by any number of
 * dsp_filter streams (one per lead) on any threads. Creating a design plans FFTW under a
 * process-wide lock (FFTW's planner is not thread-safe); running a stream needs no lock.
 *
 * Alignment: output sample k always corresponds to input sample k (the group delay is removed by
 * the stream, which therefore emits nothing for its first dsp_filter_delay() inputs, and emits the
 * rest when flushed). Output is bit-identical whatever the sizes of the pushed blocks.
 */
#ifndef ECGNET_DSP_FILTER_H
#define ECGNET_DSP_FILTER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double fs;          /* sample rate, Hz, 125..2000 */
    double highpass_hz; /* baseline-wander corner: 0.05 (diagnostic) or 0.67 (monitoring); 0 = off */
    double lowpass_hz;  /* 40 (monitoring) or 150 (diagnostic); clipped to 0.4 * fs; 0 = off */
    double mains_hz;    /* 50 or 60: notch at it and its harmonics below fs/2; 0 = off */
} dsp_filter_opts;

/* Monitoring settings: 0.67 Hz high-pass, 40 Hz low-pass, 50 Hz notch. */
void dsp_filter_opts_monitoring(dsp_filter_opts *o, double fs);
/* Diagnostic settings: 0.05 Hz high-pass, 150 Hz low-pass (or 0.4 fs), 50 Hz notch. */
void dsp_filter_opts_diagnostic(dsp_filter_opts *o, double fs);

typedef struct dsp_filter_design dsp_filter_design;
typedef struct dsp_filter dsp_filter;

/* Designs the chain. Returns a new design (free with dsp_filter_design_free after every stream
 * using it is freed), or NULL with a message in err (fs outside 125..2000 Hz, a corner that
 * makes no sense for the rate, out of memory). Thread-safe. */
dsp_filter_design *dsp_filter_design_create(const dsp_filter_opts *o, char *err, size_t errlen);
void dsp_filter_design_free(dsp_filter_design *d);

/* Group delay of the whole chain, in samples (an integer: every stage is linear phase). */
int64_t dsp_filter_delay(const dsp_filter_design *d);

/* Magnitude of the chain's frequency response at f_hz (0..fs/2), for tests and documentation. */
double dsp_filter_gain(const dsp_filter_design *d, double f_hz);

/* The chain exactly as the stream computes it, for reference implementations (tests) and
 * documentation. With xe the input extended at both ends by whole-sample reflection (x[-i] =
 * x[i], x[N-1+i] = x[N-1-i], repeated with period 2N-2 when a record is shorter than the reach):
 *   y[n] = sum_{j=-M..M} kernel[M+j] * xe[n+j]                  (M = half)
 *   u[m] = sum_{j=-(R-1)..R-1} (R-|j|)/R^2 * xe[m*R+j]          (R = decim; triangle decimation)
 *   v[m] = sum_{i=-Q..Q} lowrate[Q+i] * u[m+i]                  (Q = lowrate_half)
 *   b[n] = v[m] + (r/R) * (v[m+1] - v[m]),  n = m*R + r, 0 <= r < R (linear interpolation)
 *   out[n] = y[n] - b[n]                    (b = 0 when decim == 0: no high-pass)
 * kernel and lowrate are symmetric and each sums to 1, so the chain removes DC exactly. The
 * pointers stay valid while the design lives. */
typedef struct {
    const double *kernel;
    int half;
    int decim;
    const double *lowrate;
    int lowrate_half;
    int fft_size;   /* overlap-save FFT length */
    int block;      /* outputs per FFT pair (= fft_size - 2 * half) */
} dsp_filter_stages;
void dsp_filter_get_stages(const dsp_filter_design *d, dsp_filter_stages *s);

/* A new stream over design d (which must outlive it), or NULL if out of memory. */
dsp_filter *dsp_filter_create(const dsp_filter_design *d);
void dsp_filter_free(dsp_filter *f);

/* Upper bound on the outputs one push of n inputs (or a flush, n = 0) can emit. */
size_t dsp_filter_max_output(const dsp_filter *f, size_t n);

/* Pushes n input samples (µV). Writes the outputs that became ready to out (room for
 * dsp_filter_max_output(f, n) floats) and returns how many; out[0] is the output for the input
 * index returned by dsp_filter_next_index() before the call. Outputs come in whole FFT blocks
 * (dsp_filter_stages.block samples), so the latency is up to delay + block inputs. */
size_t dsp_filter_push(dsp_filter *f, const float *in, size_t n, float *out);

/* Ends the stream: emits the outputs still held back (the last delay samples, computed as if the
 * signal continued by reflection at its end). Returns how many; the stream is then finished. */
size_t dsp_filter_flush(dsp_filter *f, float *out);

/* Index of the next output sample the stream will emit (= outputs emitted so far). */
int64_t dsp_filter_next_index(const dsp_filter *f);

/* Bytes of per-stream state (what one more lead costs), for `ecgnet bench`. */
size_t dsp_filter_state_bytes(const dsp_filter *f);

#endif
