/* test_simd.c — every SIMD kernel agrees with its scalar reference, bit for bit. */
#include "check.h"
#include "simd.h"

#include <stdint.h>

static uint32_t rng_state = 12345u;
static uint32_t rnd(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state;
}

static void convert_agrees_with_scalar_for_every_stride_and_length(void)
{
    const dsp_kernels *ref = dsp_kernels_for(DSP_SIMD_SCALAR);
    int32_t in[12 * 67];
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) in[i] = (int32_t)(rnd() % 65536) - 32768;
    for (int lvl = DSP_SIMD_SSE2; lvl <= (int)dsp_simd_best(); lvl++) {
        const dsp_kernels *k = dsp_kernels_for((dsp_simd_level)lvl);
        for (size_t stride = 1; stride <= 12; stride++) {
            for (size_t n = 0; n <= 67; n++) {
                float a[67], b[67];
                ref->convert_i32(in, stride, n, 1024.0f, 5.0f, a);
                k->convert_i32(in, stride, n, 1024.0f, 5.0f, b);
                CHECK(memcmp(a, b, n * sizeof(float)) == 0, "%s stride %zu n %zu", k->name, stride, n);
            }
        }
    }
}

static void fir_agrees_with_scalar_for_every_length(void)
{
    const dsp_kernels *ref = dsp_kernels_for(DSP_SIMD_SCALAR);
    float x[100 + 41], h[41];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = (float)((int)(rnd() % 20001) - 10000) / 7.0f;
    for (size_t k = 0; k < 41; k++) h[k] = (float)((int)(rnd() % 2001) - 1000) / 999.0f;
    for (int lvl = DSP_SIMD_SSE2; lvl <= (int)dsp_simd_best(); lvl++) {
        const dsp_kernels *k = dsp_kernels_for((dsp_simd_level)lvl);
        for (size_t m = 1; m <= 41; m += 4) {
            for (size_t n = 0; n <= 100; n += 3) {
                float a[100], b[100];
                ref->fir(x, n, h, m, a);
                k->fir(x, n, h, m, b);
                CHECK(memcmp(a, b, n * sizeof(float)) == 0, "%s m %zu n %zu", k->name, m, n);
            }
        }
    }
}

static void fir_with_a_unit_impulse_kernel_copies_the_input(void)
{
    float x[20], h[5] = {0, 0, 1, 0, 0}, y[16];
    for (int i = 0; i < 20; i++) x[i] = (float)i * 1.5f;
    dsp_kernels_for(dsp_simd_best())->fir(x, 16, h, 5, y);
    for (int i = 0; i < 16; i++) CHECK(y[i] == x[i + 2], "sample %d centred on x[i+2]", i);
}

static void the_best_level_is_reported_and_clamped(void)
{
    CHECK(dsp_simd_best() >= DSP_SIMD_SSE2, "x86-64 always has SSE2");
    CHECK(dsp_kernels_for(DSP_SIMD_AVX2)->level <= dsp_simd_best(), "clamped to the CPU");
    CHECK(dsp_kernels_for(DSP_SIMD_SCALAR)->level == DSP_SIMD_SCALAR, "scalar is always there");
}

int main(void)
{
    RUN(convert_agrees_with_scalar_for_every_stride_and_length);
    RUN(fir_agrees_with_scalar_for_every_length);
    RUN(fir_with_a_unit_impulse_kernel_copies_the_input);
    RUN(the_best_level_is_reported_and_clamped);
    return check_report();
}
