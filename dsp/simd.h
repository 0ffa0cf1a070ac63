/* simd.h — the hot per-sample kernels, each as a scalar reference and SIMD versions (SSE2, AVX2),
 * chosen at run time. Callers hold a kernel table; no global state.
 *
 * Every SIMD kernel has a test that it agrees with its scalar reference (tests/test_simd.c).
 */
#ifndef ECGNET_DSP_SIMD_H
#define ECGNET_DSP_SIMD_H

#include <stddef.h>
#include <stdint.h>

typedef enum { DSP_SIMD_SCALAR = 0, DSP_SIMD_SSE2 = 1, DSP_SIMD_AVX2 = 2 } dsp_simd_level;

typedef struct {
    dsp_simd_level level;
    const char *name; /* "scalar", "sse2", "avx2" */

    /* De-interleaves one lead and scales it to float microvolts:
     * out[i] = (in[i * stride] - offset) * scale, for i < n. */
    void (*convert_i32)(const int32_t *in, size_t stride, size_t n, float offset, float scale,
                        float *out);

    /* FIR filter (correlation form) for short kernels such as the QRS detector's band-pass:
     * out[i] = sum_{k < m} h[k] * x[i + k], for i < n; x holds n + m - 1 samples. With a symmetric
     * kernel this is the convolution centred on x[i + (m - 1) / 2]. */
    void (*fir)(const float *x, size_t n, const float *h, size_t m, float *out);
} dsp_kernels;

/* The best level this CPU supports (AVX2 needs avx2 and fma). */
dsp_simd_level dsp_simd_best(void);

/* The kernel table for level, clamped to what the CPU supports; never NULL, static storage. */
const dsp_kernels *dsp_kernels_for(dsp_simd_level level);

#endif
