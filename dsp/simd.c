/* simd.c — scalar references and SSE2/AVX2 versions of the per-sample kernels, with dispatch. */
#include "simd.h"

#include <immintrin.h>
#include <math.h>

/* ---- scalar references: the definition of what each kernel computes ---- */

static void convert_i32_scalar(const int32_t *in, size_t stride, size_t n, float offset,
                               float scale, float *out)
{
    for (size_t i = 0; i < n; i++) out[i] = ((float)in[i * stride] - offset) * scale;
}

static void fir_scalar(const float *x, size_t n, const float *h, size_t m, float *out)
{
    for (size_t i = 0; i < n; i++) {
        float s = 0.0f;
        for (size_t k = 0; k < m; k++) s += h[k] * x[i + k];
        out[i] = s;
    }
}

/* ---- SSE2 (baseline x86-64) ---- */

static void convert_i32_sse2(const int32_t *in, size_t stride, size_t n, float offset,
                             float scale, float *out)
{
    const __m128 vo = _mm_set1_ps(offset), vs = _mm_set1_ps(scale);
    size_t i = 0;
    if (stride == 1) {
        for (; i + 4 <= n; i += 4) {
            __m128 x = _mm_cvtepi32_ps(_mm_loadu_si128((const __m128i *)(in + i)));
            _mm_storeu_ps(out + i, _mm_mul_ps(_mm_sub_ps(x, vo), vs));
        }
    } else {
        for (; i + 4 <= n; i += 4) {
            __m128i g = _mm_set_epi32(in[(i + 3) * stride], in[(i + 2) * stride],
                                      in[(i + 1) * stride], in[i * stride]);
            _mm_storeu_ps(out + i, _mm_mul_ps(_mm_sub_ps(_mm_cvtepi32_ps(g), vo), vs));
        }
    }
    convert_i32_scalar(in + i * stride, stride, n - i, offset, scale, out + i);
}

static void fir_sse2(const float *x, size_t n, const float *h, size_t m, float *out)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 s = _mm_setzero_ps();
        for (size_t k = 0; k < m; k++)
            s = _mm_add_ps(s, _mm_mul_ps(_mm_set1_ps(h[k]), _mm_loadu_ps(x + i + k)));
        _mm_storeu_ps(out + i, s);
    }
    fir_scalar(x + i, n - i, h, m, out + i);
}

/* ---- AVX2 ---- 
 * No FMA here on purpose: a fused multiply-add rounds once where the scalar reference rounds
 * twice, and the kernels must agree with their references to the bit. */

__attribute__((target("avx2"))) static void
convert_i32_avx2(const int32_t *in, size_t stride, size_t n, float offset, float scale, float *out)
{
    const __m256 vo = _mm256_set1_ps(offset), vs = _mm256_set1_ps(scale);
    size_t i = 0;
    if (stride == 1) {
        for (; i + 8 <= n; i += 8) {
            __m256 x = _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(in + i)));
            _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_sub_ps(x, vo), vs));
        }
    } else if (stride <= 0x7fffffff / 8) {
        const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                               _mm256_set1_epi32((int)stride));
        for (; i + 8 <= n; i += 8) {
            __m256i g = _mm256_i32gather_epi32((const int *)(in + i * stride), idx, 4);
            _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(g), vo), vs));
        }
    }
    convert_i32_scalar(in + i * stride, stride, n - i, offset, scale, out + i);
}

__attribute__((target("avx2"))) static void
fir_avx2(const float *x, size_t n, const float *h, size_t m, float *out)
{
    size_t i = 0;
    /* Two independent accumulators hide the add latency; each lane still sums k in order, so
     * the result is the scalar reference's to the bit. */
    for (; i + 16 <= n; i += 16) {
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
        for (size_t k = 0; k < m; k++) {
            __m256 hk = _mm256_set1_ps(h[k]);
            s0 = _mm256_add_ps(s0, _mm256_mul_ps(hk, _mm256_loadu_ps(x + i + k)));
            s1 = _mm256_add_ps(s1, _mm256_mul_ps(hk, _mm256_loadu_ps(x + i + 8 + k)));
        }
        _mm256_storeu_ps(out + i, s0);
        _mm256_storeu_ps(out + i + 8, s1);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 s = _mm256_setzero_ps();
        for (size_t k = 0; k < m; k++)
            s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_set1_ps(h[k]), _mm256_loadu_ps(x + i + k)));
        _mm256_storeu_ps(out + i, s);
    }
    fir_scalar(x + i, n - i, h, m, out + i);
}

static const dsp_kernels kernels[] = {
    {DSP_SIMD_SCALAR, "scalar", convert_i32_scalar, fir_scalar},
    {DSP_SIMD_SSE2, "sse2", convert_i32_sse2, fir_sse2},
    {DSP_SIMD_AVX2, "avx2", convert_i32_avx2, fir_avx2},
};

dsp_simd_level dsp_simd_best(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return DSP_SIMD_AVX2;
    return DSP_SIMD_SSE2; /* every x86-64 CPU has SSE2 */
}

const dsp_kernels *dsp_kernels_for(dsp_simd_level level)
{
    dsp_simd_level best = dsp_simd_best();
    if (level > best) level = best;
    if (level < DSP_SIMD_SCALAR) level = DSP_SIMD_SCALAR;
    return &kernels[level];
}
