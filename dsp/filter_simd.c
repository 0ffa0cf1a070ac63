/* filter_simd.c — the filter stream's inner loops: scalar references and SSE2 versions. */
#include "filter_simd.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

void dsp_filter_mul_ref(float *w, const float *s, size_t n)
{
    for (size_t i = 0; i < n; i++) w[i] *= s[i];
}

void dsp_filter_sub_ref(float *o, const float *y, const float *wr, float v0, float dv, size_t n)
{
    for (size_t i = 0; i < n; i++) o[i] = y[i] - (v0 + wr[i] * dv);
}

double dsp_filter_dot_f32_ref(const double *w, const float *x, size_t n)
{
    double s[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) s[i % 4] += w[i] * (double)x[i];
    return (s[0] + s[2]) + (s[1] + s[3]);
}

double dsp_filter_dot_f64_ref(const double *w, const double *x, size_t n)
{
    double s[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) s[i % 4] += w[i] * x[i];
    return (s[0] + s[2]) + (s[1] + s[3]);
}

#ifdef __SSE2__

void dsp_filter_mul(float *w, const float *s, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm_storeu_ps(w + i, _mm_mul_ps(_mm_loadu_ps(w + i), _mm_loadu_ps(s + i)));
        _mm_storeu_ps(w + i + 4, _mm_mul_ps(_mm_loadu_ps(w + i + 4), _mm_loadu_ps(s + i + 4)));
    }
    dsp_filter_mul_ref(w + i, s + i, n - i);
}

void dsp_filter_sub(float *o, const float *y, const float *wr, float v0, float dv, size_t n)
{
    const __m128 a = _mm_set1_ps(v0), b = _mm_set1_ps(dv);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 base = _mm_add_ps(a, _mm_mul_ps(_mm_loadu_ps(wr + i), b));
        _mm_storeu_ps(o + i, _mm_sub_ps(_mm_loadu_ps(y + i), base));
    }
    dsp_filter_sub_ref(o + i, y + i, wr + i, v0, dv, n - i);
}

/* acc01 holds the partial sums of lanes 0 and 1, acc23 of lanes 2 and 3, as in the reference. */
static double finish(__m128d acc01, __m128d acc23, const double *w, size_t i, size_t n,
                     const float *xf, const double *xd)
{
    double s[4];
    _mm_storeu_pd(s, acc01);
    _mm_storeu_pd(s + 2, acc23);
    for (; i < n; i++) s[i % 4] += w[i] * (xf ? (double)xf[i] : xd[i]);
    return (s[0] + s[2]) + (s[1] + s[3]);
}

double dsp_filter_dot_f32(const double *w, const float *x, size_t n)
{
    __m128d a01 = _mm_setzero_pd(), a23 = _mm_setzero_pd();
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 xv = _mm_loadu_ps(x + i);
        a01 = _mm_add_pd(a01, _mm_mul_pd(_mm_loadu_pd(w + i), _mm_cvtps_pd(xv)));
        a23 = _mm_add_pd(a23, _mm_mul_pd(_mm_loadu_pd(w + i + 2),
                                         _mm_cvtps_pd(_mm_movehl_ps(xv, xv))));
    }
    return finish(a01, a23, w, i, n, x, NULL);
}

double dsp_filter_dot_f64(const double *w, const double *x, size_t n)
{
    __m128d a01 = _mm_setzero_pd(), a23 = _mm_setzero_pd();
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        a01 = _mm_add_pd(a01, _mm_mul_pd(_mm_loadu_pd(w + i), _mm_loadu_pd(x + i)));
        a23 = _mm_add_pd(a23, _mm_mul_pd(_mm_loadu_pd(w + i + 2), _mm_loadu_pd(x + i + 2)));
    }
    return finish(a01, a23, w, i, n, NULL, x);
}

#else /* no SSE2: the references are the implementation */

void dsp_filter_mul(float *w, const float *s, size_t n) { dsp_filter_mul_ref(w, s, n); }
void dsp_filter_sub(float *o, const float *y, const float *wr, float v0, float dv, size_t n)
{
    dsp_filter_sub_ref(o, y, wr, v0, dv, n);
}
double dsp_filter_dot_f32(const double *w, const float *x, size_t n)
{
    return dsp_filter_dot_f32_ref(w, x, n);
}
double dsp_filter_dot_f64(const double *w, const double *x, size_t n)
{
    return dsp_filter_dot_f64_ref(w, x, n);
}

#endif
