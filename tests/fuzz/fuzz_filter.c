/* fuzz_filter.c — any settings and samples: design errors are clean, and a stream gives one
 * output per input, the same bits whatever the push sizes. */
#include "filter.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t run(const dsp_filter_design *d, const float *x, size_t n, const uint8_t *cuts,
                  size_t ncuts, float *out)
{
    dsp_filter *f = dsp_filter_create(d);
    if (!f) abort();
    size_t got = 0, i = 0, c = 0;
    while (i < n) {
        size_t b = ncuts ? (size_t)cuts[c++ % ncuts] * 37 + 1 : n;
        if (b > n - i) b = n - i;
        size_t bound = dsp_filter_max_output(f, b);
        size_t k = dsp_filter_push(f, x + i, b, out + got);
        if (k > bound) abort();
        got += k;
        i += b;
    }
    got += dsp_filter_flush(f, out + got);
    if ((size_t)dsp_filter_next_index(f) != got) abort();
    dsp_filter_free(f);
    return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8) return 0;
    dsp_filter_opts o;
    const double rates[] = {125, 128, 250, 257, 360, 500, 1000, 2000};
    o.fs = rates[data[0] % 8];
    o.highpass_hz = (data[1] % 4 == 0) ? 0.0 : (data[1] % 4 == 1) ? 0.05 : data[1] / 50.0;
    o.lowpass_hz = (data[2] % 3 == 0) ? 0.0 : 4.0 + data[2];
    o.mains_hz = (data[3] % 3 == 0) ? 0.0 : (data[3] % 3 == 1) ? 50.0 : 60.0;
    if (data[4] == 255) memcpy(&o.lowpass_hz, data + 5, 3 < size - 5 ? 3 : size - 5);
    char err[256];
    dsp_filter_design *d = dsp_filter_design_create(&o, err, sizeof err);
    if (!d) {
        if (!err[0]) abort();
        return 0;
    }
    size_t ncuts = data[5] % 8;
    const uint8_t *cuts = data + 6;
    size_t off = 6 + ncuts < size ? 6 + ncuts : size;
    /* samples: 2 bytes each, plus a repeat count so that records can outlast the delay */
    size_t ns = (size - off) / 2, rep = 1 + data[6 % size] % 64;
    size_t n = ns * rep;
    float *x = malloc(sizeof(float) * (n + 1)), *a = malloc(sizeof(float) * (n + 1)),
          *b = malloc(sizeof(float) * (n + 1));
    for (size_t i = 0; i < n; i++) {
        size_t j = off + 2 * (i % ns);
        x[i] = (float)(int16_t)(data[j] | data[j + 1] << 8) * 0.25f;
    }
    if (run(d, x, n, NULL, 0, a) != n) abort();
    if (run(d, x, n, cuts, ncuts, b) != n) abort();
    if (memcmp(a, b, sizeof(float) * n) != 0) abort();
    free(x);
    free(a);
    free(b);
    dsp_filter_design_free(d);
    return 0;
}
