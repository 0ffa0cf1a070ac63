/* cmd_analyze.c — `ecgnet analyze`: one record through the pipeline; report, beats CSV, JSON. */
#include "cmd.h"
#include "edf_write.h"
#include "pipeline.h"
#include "result_json.h"
#include "record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: ecgnet analyze RECORD [--beats FILE] [--json] [--edf-out FILE] [--mode MODE]\n"
    "                      [--model FILE] [--flags FILE] [--diagnostic] [--mains 50|60]\n"
    "\n"
    "Analyses one record — an EDF/BDF file or a WFDB record (the .hea path or the record path\n"
    "without extension) — and prints its report.\n"
    "\n"
    "  --beats FILE    write the detected beats as CSV: header 'sample,label', one line per beat;\n"
    "                  sample is the 0-based index at the record's sample rate (filter delays\n"
    "                  removed), label the AAMI class N/S/V/F/Q\n"
    "  --json          print only JSON on stdout (messages go to stderr): fs, n_samples,\n"
    "                  duration_s, leads [{name, uv_per_unit, quality}], unreadable\n"
    "                  [{start_sample, end_sample}], beat_count, beat_classes {N, S, V, F, Q},\n"
    "                  heart_rate {mean, min, max}, rhythms [{label, start_sample, end_sample,\n"
    "                  rate_bpm}], events [{type, start_sample, end_sample, beats, rate_bpm,\n"
    "                  longest_rr_s}], flags [{code, priority, start_sample, end_sample, leads,\n"
    "                  value, reason_zh, reason_en}]\n"
    "  --edf-out FILE  write the record's leads (samples unchanged) and the detected beats as\n"
    "                  EDF+ annotations, for EDFbrowser and other EDF readers\n"
    "  --mode MODE     resting (a 10-second ECG) or continuous (Holter-style): which column of\n"
    "                  the critical-value table applies; by default resting up to one minute\n"
    "  --model FILE    beat-class model (default: beats.model shipped with ecgnet;\n"
    "                  $ECGNET_BEAT_MODEL overrides it)\n"
    "  --flags FILE    critical-value rule table (default: critical_values.json shipped with\n"
    "                  ecgnet, the Zhejiang 2017 list; $ECGNET_FLAG_TABLE overrides it)\n"
    "  --diagnostic    diagnostic filter (0.05-150 Hz) instead of monitoring (0.67-40 Hz)\n"
    "  --mains HZ      mains frequency to remove: 50 (default) or 60\n";

static int write_beats(const char *path, const pipeline_result *r)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "ecgnet analyze: %s: cannot write the beats file: %s\n", path, strerror(errno));
        return -1;
    }
    fputs("sample,label\n", f);
    for (size_t i = 0; i < r->nbeats; i++)
        fprintf(f, "%lld,%c\n", (long long)r->beats[i].sample, r->beats[i].label);
    if (fclose(f) != 0) {
        fprintf(stderr, "ecgnet analyze: %s: writing the beats failed: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* The most beats in any one second, plus room: the EDF+ annotation capacity needed. */
static int annotations_per_second(const pipeline_result *r)
{
    int most = 0;
    for (size_t i = 0, j = 0; i < r->nbeats; i++) {
        while ((double)(r->beats[i].sample - r->beats[j].sample) >= r->fs) j++;
        if ((int)(i - j + 1) > most) most = (int)(i - j + 1);
    }
    return most + 2;
}

/* Writes the record's frames again with the beats as annotations. Returns 0, or -1 after
 * printing why. */
static int write_edf(const char *path, fmt_record *rec, const pipeline_result *r)
{
    char err[FMT_ERRLEN];
    fmt_lead leads[FMT_MAX_LEADS];
    int nleads = fmt_record_nleads(rec);
    int32_t *frames = NULL;
    fmt_edf_writer *w = NULL;
    for (int l = 0; l < nleads; l++) {
        leads[l] = *fmt_record_lead(rec, l);
        /* EDF is 16-bit: keep the record's own digital range where it fits, else clip to 16 bits
         * (counted and reported below). */
        if (leads[l].adc_min < -32768 || leads[l].adc_max > 32767 || leads[l].adc_min >= leads[l].adc_max)
            leads[l].adc_min = leads[l].adc_max = 0;
        leads[l].name[12] = '\0';
    }
    fmt_edf_writer_opts o = {0};
    o.nleads = nleads;
    o.leads = leads;
    o.fs = r->fs;
    o.patient = *fmt_record_patient(rec);
    o.annotations_per_second = annotations_per_second(r);
    if (fmt_record_seek(rec, 0, err, sizeof err)) goto fail;
    if (!(w = fmt_edf_writer_create(path, &o, err, sizeof err))) goto fail;
    frames = malloc((size_t)nleads * 4096 * sizeof *frames);
    if (!frames) {
        snprintf(err, sizeof err, "%s: out of memory", path);
        goto fail;
    }
    for (;;) {
        long n = fmt_record_read(rec, frames, 4096, err, sizeof err);
        if (n < 0) goto fail;
        if (n == 0) break;
        if (fmt_edf_writer_write(w, frames, n, err, sizeof err)) goto fail;
    }
    for (size_t i = 0; i < r->nbeats; i++) {
        char label[2] = {r->beats[i].label, 0};
        if (fmt_edf_writer_annotate(w, r->beats[i].sample, -1, label, err, sizeof err)) goto fail;
    }
    int64_t clipped = fmt_edf_writer_clipped(w);
    fmt_edf_writer *done = w;
    w = NULL;
    if (fmt_edf_writer_close(done, err, sizeof err)) goto fail;
    if (clipped)
        fprintf(stderr, "ecgnet analyze: %s: %lld samples beyond 16 bits were clipped\n", path,
                (long long)clipped);
    free(frames);
    return 0;
fail:
    fprintf(stderr, "ecgnet analyze: %s\n", err);
    if (w) fmt_edf_writer_close(w, err, sizeof err);
    free(frames);
    return -1;
}

static void print_json(const fmt_record *rec, const pipeline_result *r)
{
    fmt_lead leads[FMT_MAX_LEADS];
    for (int l = 0; l < r->nleads; l++) leads[l] = *fmt_record_lead(rec, l);
    result_json_info info = {fmt_record_name(rec), fmt_record_format(rec), leads, fmt_record_patient(rec), 0};
    char *text = result_json(r, &info, 1);
    if (text) puts(text);
    else fputs("ecgnet analyze: out of memory\n", stderr);
    free(text);
}

static void print_report(const fmt_record *rec, const pipeline_result *r)
{
    printf("record     %s (%s)\n", fmt_record_name(rec), fmt_record_format(rec));
    printf("signal     %d lead%s at %g Hz, %.1f s (%lld samples)\n", r->nleads,
           r->nleads == 1 ? "" : "s", r->fs, (double)r->nsamples / r->fs, (long long)r->nsamples);
    printf("leads     ");
    for (int l = 0; l < r->nleads; l++)
        printf(" %s (%.0f %% good)", fmt_record_lead(rec, l)->name, 100.0 * r->lead_quality[l]);
    printf("\n");
    if (r->nunreadable) {
        double secs = 0.0;
        for (size_t i = 0; i < r->nunreadable; i++) secs += (double)(r->unreadable[i].end - r->unreadable[i].start) / r->fs;
        printf("unreadable %zu stretch%s, %.0f s in all (no lead readable)\n", r->nunreadable,
               r->nunreadable == 1 ? "" : "es", secs);
    }
    const fmt_patient *pt = fmt_record_patient(rec);
    if (pt->sex || pt->age >= 0) {
        printf("patient    sex %c", pt->sex ? pt->sex : '?');
        if (pt->age >= 0) printf(", %d years", pt->age);
        printf("\n");
    }
    printf("beats      %zu", r->nbeats);
    for (const char *c = "NSVFQ"; *c; c++) {
        size_t n = 0;
        for (size_t i = 0; i < r->nbeats; i++) n += r->beats[i].label == *c;
        if (n) printf("  %c %zu", *c, n);
    }
    printf("\n");
    if (r->nbeats >= 2)
        printf("heart rate mean %.0f bpm, min %.0f, max %.0f (8-beat averages)\n", r->hr_mean,
               r->hr_min, r->hr_max);
    else
        printf("heart rate not measurable (fewer than 2 beats)\n");
    for (size_t i = 0; i < r->nrhythms; i++)
        if (strcmp(r->rhythms[i].label, "N"))
            printf("rhythm     %-5s %8.1f s .. %8.1f s, %.0f bpm\n", r->rhythms[i].label,
                   (double)r->rhythms[i].start / r->fs, (double)r->rhythms[i].end / r->fs, r->rhythms[i].rate_bpm);
    for (size_t i = 0; i < r->nflags; i++)
        printf("flag       %-8s %-20s at %.1f s: %s / %s\n", flag_priority_name(r->flags[i].priority),
               r->flags[i].code, (double)r->flags[i].start / r->fs, r->flags[i].reason_en, r->flags[i].reason_zh);
}

int cmd_analyze(int argc, char **argv)
{
    const char *path = NULL, *beats = NULL, *edf_out = NULL, *flags_path = NULL, *mode = NULL;
    const char *model_path = NULL;
    int json = 0;
    pipeline_opts o;
    pipeline_opts_default(&o);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(help, stdout);
            return CMD_OK;
        } else if (!strcmp(argv[i], "--beats") && i + 1 < argc) {
            beats = argv[++i];
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--edf-out") && i + 1 < argc) {
            edf_out = argv[++i];
        } else if (!strcmp(argv[i], "--flags") && i + 1 < argc) {
            flags_path = argv[++i];
        } else if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            model_path = argv[++i];
        } else if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
            mode = argv[++i];
            if (strcmp(mode, "resting") && strcmp(mode, "continuous")) {
                fprintf(stderr, "ecgnet analyze: --mode takes resting or continuous, not '%s'\n", mode);
                return CMD_EUSAGE;
            }
        } else if (!strcmp(argv[i], "--diagnostic")) {
            o.diagnostic = 1;
        } else if (!strcmp(argv[i], "--mains") && i + 1 < argc) {
            o.mains_hz = atof(argv[++i]);
            if (o.mains_hz != 50.0 && o.mains_hz != 60.0) {
                fprintf(stderr, "ecgnet analyze: --mains takes 50 or 60, not '%s'\n", argv[i]);
                return CMD_EUSAGE;
            }
        } else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "ecgnet analyze: unexpected argument '%s'\n\n%s", argv[i], help);
            return CMD_EUSAGE;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "ecgnet analyze: no record given\n\n%s", help);
        return CMD_EUSAGE;
    }
    char err[FMT_ERRLEN];
    fmt_record *rec = NULL;
    pipeline_result *r = NULL;
    flag_table *table = NULL;
    bc_model *model = NULL;
    int rc = CMD_EINPUT;
    if (fmt_record_open(path, &rec, err, sizeof err)) goto fail;
    if (flag_table_load(flags_path, &table, err, sizeof err)) goto fail;
    if (bc_model_load(model_path, &model, err, sizeof err)) goto fail;
    o.flags = table;
    o.beat_model = model;
    /* A resting ECG lasts seconds; anything over a minute is a continuous recording. */
    o.mode = mode ? (strcmp(mode, "continuous") ? FLAG_RESTING : FLAG_CONTINUOUS)
                  : ((double)fmt_record_nsamples(rec) > 60.0 * fmt_record_fs(rec) ? FLAG_CONTINUOUS : FLAG_RESTING);
    if (pipeline_run_record(rec, &o, &r, err, sizeof err)) goto fail;
    if (beats && write_beats(beats, r)) goto done;
    if (edf_out && write_edf(edf_out, rec, r)) goto done;
    if (json) print_json(rec, r);
    else print_report(rec, r);
    rc = CMD_OK;
    goto done;
fail:
    fprintf(stderr, "ecgnet analyze: %s\n", err);
done:
    pipeline_result_free(r);
    bc_model_free(model);
    flag_table_free(table);
    fmt_record_free(rec);
    return rc;
}
