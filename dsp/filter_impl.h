/* filter_impl.h — private: the filter design shared by filter_design.c and the stream in filter.c. */
#ifndef ECGNET_DSP_FILTER_IMPL_H
#define ECGNET_DSP_FILTER_IMPL_H

#include "filter.h"

#include <fftw3.h>

struct dsp_filter_design {
    dsp_filter_opts o;  /* effective settings (low-pass already clipped to 0.4 fs) */

    /* Full-rate FIR (low-pass x notches): taps h[-M..M] stored as kernel[0..2M], symmetric. */
    int M;
    double *kernel;
    /* Overlap-save: FFT size nfft, block = nfft - 2M outputs per FFT pair. spec holds the
     * kernel's (real, zero-phase) spectrum scaled by 1/nfft, each value twice so that it
     * multiplies the interleaved re/im of the signal's spectrum element by element. */
    int nfft, block;
    float *spec;
    fftwf_plan r2c, c2r; /* in-place, FFTW_ESTIMATE; executed with the new-array functions */

    /* Baseline estimate: R = 0 means no high-pass. Otherwise triangle decimation by R
     * (weights dec[0..2R-2], sum 1), low-rate FIR g[-Q..Q] (stored 0..2Q, sum 1) and linear
     * interpolation back to the full rate. */
    int R, Q;
    double *dec;
    double *g;
    float *wr;       /* interpolation weights r / R, r = 0..R-1 */

    int64_t delay;   /* lookahead of the whole chain: output n depends on x up to n + delay */
    int64_t pre;     /* samples of left extension the stream builds (x[-pre..-1]) */
    int64_t need;    /* lookahead from a block's last output to the last input it waits for */
    size_t xcap;     /* stream input window, samples */
    size_t ucap;     /* stream decimated window, samples */
    size_t vcap;     /* per-block low-rate scratch, samples */
};

/* Reflection of index i into a record of n samples (whole-sample symmetric, periodic with
 * period 2n - 2): the extension the filter uses before the start and after the end. */
static inline int64_t dsp_filter_reflect(int64_t i, int64_t n)
{
    if (n <= 1) return 0;
    int64_t p = 2 * n - 2;
    int64_t r = i % p;
    if (r < 0) r += p;
    return r < n ? r : p - r;
}

#endif
