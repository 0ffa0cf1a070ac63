/* filter_simd.h — private: the filter stream's inner loops, each as a scalar reference and an
 * SSE2 version (x86-64 baseline, so no dispatch) that computes bit for bit the same thing: the
 * same operations in the same order per element, and the same lane split for the sums. */
#ifndef ECGNET_DSP_FILTER_SIMD_H
#define ECGNET_DSP_FILTER_SIMD_H

#include <stddef.h>

/* w[i] *= s[i], i < n: the spectrum times the kernel's (real, duplicated) spectrum. */
void dsp_filter_mul_ref(float *w, const float *s, size_t n);
void dsp_filter_mul(float *w, const float *s, size_t n);

/* o[i] = y[i] - (v0 + wr[i] * dv), i < n: subtracting the interpolated baseline. */
void dsp_filter_sub_ref(float *o, const float *y, const float *wr, float v0, float dv, size_t n);
void dsp_filter_sub(float *o, const float *y, const float *wr, float v0, float dv, size_t n);

/* sum of w[i] * x[i] in double, as four interleaved partial sums (lane i % 4) added as
 * (s0 + s2) + (s1 + s3): the decimation triangle over float input. */
double dsp_filter_dot_f32_ref(const double *w, const float *x, size_t n);
double dsp_filter_dot_f32(const double *w, const float *x, size_t n);

/* The same over double input: the low-rate FIR. */
double dsp_filter_dot_f64_ref(const double *w, const double *x, size_t n);
double dsp_filter_dot_f64(const double *w, const double *x, size_t n);

#endif
