/* cmd_bench.c — `ecgnet bench`: throughput and streaming memory of the filter chain and detector. */
#include "cmd.h"
#include "pipeline.h"
#include "record.h"
#include "synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char help[] =
    "usage: ecgnet bench [RECORD] [--seconds S] [--leads N] [--fs HZ] [--min-time S]\n"
    "\n"
    "Measures, on one core, how many lead-samples per second the pipeline processes: filter chain\n"
    "plus QRS detection, detection alone and filter alone, with the best SIMD kernels and with the\n"
    "scalar references side by side, then the whole analysis (quality, beat classes, rhythm,\n"
    "flags); and the streaming state per lead. The signal is RECORD (read\n"
    "into memory first, so file reading is not timed) or a generated ECG (default: 12 leads, 500 Hz,\n"
    "300 s).\n"
    "\n"
    "  --seconds S    length of the generated ECG (default 300)\n"
    "  --leads N      leads of the generated ECG, 1..12 (default 12)\n"
    "  --fs HZ        sample rate of the generated ECG, 125..2000 (default 500)\n"
    "  --min-time S   repeat each measurement for at least S seconds (default 1)\n";

typedef struct {
    int32_t *frames;
    int64_t n;
    int nleads;
    double fs;
    fmt_lead leads[FMT_MAX_LEADS];
} bench_signal;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int load_record(const char *path, bench_signal *s)
{
    char err[FMT_ERRLEN];
    fmt_record *rec;
    if (fmt_record_open(path, &rec, err, sizeof err)) {
        fprintf(stderr, "ecgnet bench: %s\n", err);
        return -1;
    }
    s->nleads = fmt_record_nleads(rec);
    s->fs = fmt_record_fs(rec);
    for (int l = 0; l < s->nleads; l++) s->leads[l] = *fmt_record_lead(rec, l);
    int rc = fmt_record_read_all(rec, &s->frames, &s->n, err, sizeof err);
    if (rc) fprintf(stderr, "ecgnet bench: %s\n", err);
    fmt_record_free(rec);
    return rc;
}

static int generate(double fs, int nleads, double seconds, bench_signal *s)
{
    synth_opts o;
    synth_defaults(&o);
    o.fs = fs;
    o.nleads = nleads;
    o.duration_s = seconds;
    o.pvc_prob = 0.05;
    o.wander_mv = 0.2;
    o.mains_mv = 0.05;
    o.emg_mv = 0.02;
    synth_ecg *e = synth_generate(&o);
    if (!e) {
        fprintf(stderr, "ecgnet bench: cannot generate a %d-lead %g Hz ECG of %g s\n", nleads, fs, seconds);
        return -1;
    }
    s->nleads = nleads;
    s->fs = fs;
    s->n = e->nsamples;
    s->frames = malloc((size_t)s->n * (size_t)nleads * sizeof *s->frames);
    if (!s->frames) {
        synth_free(e);
        fprintf(stderr, "ecgnet bench: out of memory\n");
        return -1;
    }
    for (int l = 0; l < nleads; l++) {
        snprintf(s->leads[l].name, sizeof s->leads[l].name, "L%d", l + 1);
        s->leads[l].uv_per_unit = 1.0; /* 1 µV per unit, as 16-bit recorders commonly store */
        s->leads[l].baseline = 0.0;
        s->leads[l].adc_min = -32768;
        s->leads[l].adc_max = 32767;
        for (int64_t i = 0; i < s->n; i++)
            s->frames[i * nleads + l] = (int32_t)lrintf(e->uv[(size_t)l * (size_t)e->nsamples + (size_t)i]);
    }
    synth_free(e);
    return 0;
}

/* One timed run of the pipeline over the signal; returns lead-samples/s, or -1. */
static double run_once(const bench_signal *s, const pipeline_opts *o, double min_time, size_t *state)
{
    char err[FMT_ERRLEN];
    double start = now_s(), elapsed = 0.0;
    int64_t done = 0;
    do {
        pipeline *p = pipeline_create(o, s->fs, s->nleads, s->leads, err, sizeof err);
        if (!p) {
            fprintf(stderr, "ecgnet bench: %s\n", err);
            return -1.0;
        }
        const int64_t block = 4096;
        for (int64_t i = 0; i < s->n; i += block) {
            int64_t m = s->n - i < block ? s->n - i : block;
            if (pipeline_push(p, s->frames + i * s->nleads, (size_t)m, err, sizeof err)) {
                fprintf(stderr, "ecgnet bench: %s\n", err);
                pipeline_free(p);
                return -1.0;
            }
        }
        const pipeline_result *r;
        if (pipeline_finish(p, &r, err, sizeof err) == 0 && state) *state = r->state_bytes;
        pipeline_free(p);
        done += s->n;
        elapsed = now_s() - start;
    } while (elapsed < min_time);
    return (double)done * s->nleads / elapsed;
}

static void noop_sink(void *ctx, int64_t start, const float *uv, size_t stride, size_t n)
{
    (void)ctx; (void)start; (void)uv; (void)stride; (void)n;
}

int cmd_bench(int argc, char **argv)
{
    const char *path = NULL;
    double seconds = 300.0, fs = 500.0, min_time = 1.0;
    int nleads = 12;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(help, stdout);
            return CMD_OK;
        } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--leads") && i + 1 < argc) {
            nleads = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--fs") && i + 1 < argc) {
            fs = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--min-time") && i + 1 < argc) {
            min_time = atof(argv[++i]);
        } else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "ecgnet bench: unexpected argument '%s'\n\n%s", argv[i], help);
            return CMD_EUSAGE;
        } else {
            path = argv[i];
        }
    }
    bench_signal s = {0};
    if (path ? load_record(path, &s) : generate(fs, nleads, seconds, &s)) return CMD_EINPUT;
    printf("signal: %s, %d leads, %g Hz, %.1f s\n", path ? path : "generated ECG", s.nleads, s.fs,
           (double)s.n / s.fs);
    printf("%-34s %10s %16s\n", "stage (one core)", "kernels", "lead-samples/s");
    int rc = CMD_OK;
    for (int stage = 0; stage < 3; stage++) {
        static const char *names[] = {"filter chain + QRS detection", "QRS detection only",
                                      "filter chain only (+ conversion)"};
        for (int lvl = (int)dsp_simd_best(); lvl >= 0; lvl -= (int)dsp_simd_best()) {
            pipeline_opts o;
            pipeline_opts_default(&o);
            o.simd = (dsp_simd_level)lvl;
            o.run_filter = stage != 1;
            o.run_detector = stage != 2;
            o.rhythm = 0; /* the stages by themselves; the whole analysis is measured below */
            o.on_filtered = noop_sink;
            double rate = run_once(&s, &o, min_time, NULL);
            if (rate < 0) { rc = CMD_EINPUT; goto done; }
            printf("%-34s %10s %16.3e\n", names[stage], dsp_kernels_for((dsp_simd_level)lvl)->name, rate);
            if (lvl == 0) break;
        }
    }
    {
        /* The whole analysis as `ecgnet analyze` runs it: quality, classes, rhythm, flags. */
        char err[FMT_ERRLEN];
        bc_model *model = NULL;
        flag_table *table = NULL;
        if (bc_model_load(NULL, &model, err, sizeof err) || flag_table_load(NULL, &table, err, sizeof err)) {
            printf("%-34s %10s %16s  (%s)\n", "whole analysis", "-", "-", err);
        } else {
            pipeline_opts o;
            pipeline_opts_default(&o);
            o.beat_model = model;
            o.flags = table;
            double rate = run_once(&s, &o, min_time, NULL);
            if (rate >= 0)
                printf("%-34s %10s %16.3e\n", "whole analysis (+ quality, classes, rhythm, flags)",
                       dsp_kernels_for(o.simd)->name, rate);
        }
        bc_model_free(model);
        flag_table_free(table);
    }
    printf("\nstreaming state (filter chain + detector), %g Hz:\n", s.fs);
    for (int diag = 0; diag <= 1; diag++) {
        size_t bytes[2];
        for (int n = 1; n <= 2; n++) {
            pipeline_opts o;
            pipeline_opts_default(&o);
            o.diagnostic = diag;
            char err[FMT_ERRLEN];
            fmt_lead two[2] = {s.leads[0], s.leads[0]};
            pipeline *p = pipeline_create(&o, s.fs, n, two, err, sizeof err);
            const pipeline_result *r;
            if (!p || pipeline_finish(p, &r, err, sizeof err)) {
                fprintf(stderr, "ecgnet bench: %s\n", err);
                pipeline_free(p);
                rc = CMD_EINPUT;
                goto done;
            }
            bytes[n - 1] = r->state_bytes;
            pipeline_free(p);
        }
        printf("  %-11s %7zu bytes per lead (%.1f KiB), plus %zu bytes per record\n",
               diag ? "diagnostic" : "monitoring", bytes[1] - bytes[0], (double)(bytes[1] - bytes[0]) / 1024.0,
               2 * bytes[0] - bytes[1]);
    }
done:
    free(s.frames);
    return rc;
}
