/* bench_filter.c — samples/s through one filter stream on one core, and its state bytes. */
#include "filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Pushes `seconds` of signal per lead-record in 1-second blocks until ~0.5 s of CPU is spent. */
static int bench(const char *name, int diagnostic, double fs)
{
    dsp_filter_opts o;
    if (diagnostic) dsp_filter_opts_diagnostic(&o, fs);
    else dsp_filter_opts_monitoring(&o, fs);
    char err[256];
    double t0 = now();
    dsp_filter_design *d = dsp_filter_design_create(&o, err, sizeof err);
    double t_design = now() - t0;
    if (!d) {
        fprintf(stderr, "bench_filter: %s\n", err);
        return 1;
    }
    const size_t n = (size_t)(fs * 600), blk = (size_t)fs;
    float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * (n + 1));
    dsp_filter *f = dsp_filter_create(d);
    if (!x || !y || !f) {
        fprintf(stderr, "bench_filter: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) x[i] = (float)((i * 2654435761u) % 4001) - 2000.0f;
    size_t state = dsp_filter_state_bytes(f);
    double total = 0, t = 0;
    int reps = 0;
    while (t < 0.5) {
        dsp_filter *s = dsp_filter_create(d);
        size_t got = 0;
        t0 = now();
        for (size_t i = 0; i < n; i += blk) got += dsp_filter_push(s, x + i, n - i < blk ? n - i : blk, y + got);
        got += dsp_filter_flush(s, y + got);
        t += now() - t0;
        total += (double)got;
        reps++;
        dsp_filter_free(s);
    }
    printf("%-11s %6.0f Hz  %7.1f M samples/s  state %6zu bytes  delay %6lld  design %.2f ms\n",
           name, fs, total / t / 1e6, state, (long long)dsp_filter_delay(d), t_design * 1e3);
    dsp_filter_free(f);
    free(x);
    free(y);
    dsp_filter_design_free(d);
    return 0;
}

int main(void)
{
    const double rates[] = {360, 500};
    int rc = 0;
    for (int i = 0; i < 2; i++) {
        rc |= bench("monitoring", 0, rates[i]);
        rc |= bench("diagnostic", 1, rates[i]);
    }
    return rc;
}
