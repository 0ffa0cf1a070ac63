/* test_pipeline.c — specification of the shared analysis pipeline (models/pipeline.h) on synthetic
 * records, and its live flags on MIT-BIH records streamed in small blocks. */
#include "check.h"

#include "annot.h"
#include "beatclass.h"
#include "ec57.h"
#include "pipeline.h"
#include "record.h"
#include "synth.h"

#include <stdint.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define MATCH_S 0.150 /* EC57 match window */

static synth_ecg *generate(double fs, double dur, int nleads, double hr, uint64_t seed)
{
    synth_opts o;
    synth_defaults(&o);
    o.fs = fs;
    o.duration_s = dur;
    o.nleads = nleads;
    o.hr_bpm = hr;
    o.seed = seed;
    synth_ecg *e = synth_generate(&o);
    if (!e) {
        fprintf(stderr, "synth_generate refused %g Hz, %d leads\n", fs, nleads);
        exit(2);
    }
    return e;
}

/* The ECG as interleaved frames at 1 µV per unit, as the WFDB writer stores it. */
static int32_t *frames_of(const synth_ecg *e)
{
    int32_t *f = malloc((size_t)e->nsamples * (size_t)e->nleads * sizeof *f);
    if (!f) exit(2);
    for (int64_t i = 0; i < e->nsamples; i++)
        for (int l = 0; l < e->nleads; l++)
            f[(size_t)i * (size_t)e->nleads + (size_t)l] = (int32_t)lroundf(e->uv[(size_t)l * (size_t)e->nsamples + (size_t)i]);
    return f;
}

static void unit_leads(fmt_lead *leads, int n, double uv_per_unit, double baseline)
{
    memset(leads, 0, (size_t)n * sizeof *leads);
    for (int l = 0; l < n; l++) {
        snprintf(leads[l].name, sizeof leads[l].name, "L%d", l);
        leads[l].uv_per_unit = uv_per_unit;
        leads[l].baseline = baseline;
        leads[l].adc_min = -32768;
        leads[l].adc_max = 32767;
    }
}

/* EC57 counts of the pipeline's beats against the synthetic ones: reference beats from 0.25 s to
 * 0.25 s before the end, false beats from the first full beat on (the start of a record, where a
 * wave of a beat outside the strip may pass for one, is the detector's own test). */
static ec57_counts score(const synth_ecg *e, const pipeline_beat *beats, size_t nbeats)
{
    ec57_counts c = {0, 0, 0};
    int64_t win = (int64_t)(MATCH_S * e->fs), from = (int64_t)(0.25 * e->fs), to = e->nsamples - from;
    int64_t *ref = malloc((e->nbeats + 1) * sizeof *ref), *test = malloc((nbeats + 1) * sizeof *test);
    if (!ref || !test) exit(2);
    size_t nref = 0;
    int64_t learnt = (int64_t)e->fs;
    int first_full = 1;
    for (size_t i = 0; i < e->nbeats; i++) {
        if (e->beats[i].sample >= to) continue;
        if (first_full && e->beats[i].sample >= from) {
            first_full = 0;
            if (e->beats[i].sample - win > learnt) learnt = e->beats[i].sample - win;
        }
        ref[nref++] = e->beats[i].sample;
    }
    for (size_t j = 0; j < nbeats; j++) test[j] = beats[j].sample;
    const ec57_span outside[] = {{0, learnt}, {to, INT64_MAX}};
    ec57_match(ref, NULL, nref, test, nbeats, from, win, outside, 2, &c);
    free(test);
    free(ref);
    return c;
}

static double synthetic_rate(const synth_ecg *e)
{
    return 60.0 * (double)(e->nbeats - 1) / ((double)(e->beats[e->nbeats - 1].sample - e->beats[0].sample) / e->fs);
}

static void a_synthetic_wfdb_record_runs_through_the_pipeline_with_its_beats_found(void)
{
    const struct {
        double fs;
        int nleads;
        double hr;
    } cases[] = {{500, 2, 75}, {360, 12, 60}, {250, 1, 110}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        synth_ecg *e = generate(cases[c].fs, 60.0, cases[c].nleads, cases[c].hr, 50 + c);
        char err[FMT_ERRLEN] = "", path[1200];
        const char *dir = check_tmpdir("pipeline");
        int wrote = synth_write_wfdb(e, dir, "synth", err, sizeof err);
        CHECK(wrote == 0, "write: %s", err);
        snprintf(path, sizeof path, "%s/synth", dir);
        fmt_record *rec = NULL;
        CHECK(fmt_record_open(path, &rec, err, sizeof err) == 0, "open %s: %s", path, err);
        pipeline_opts o;
        pipeline_opts_default(&o);
        pipeline_result *r = NULL;
        if (rec) CHECK(pipeline_run_record(rec, &o, &r, err, sizeof err) == 0, "run: %s", err);
        if (r) {
            char what[64];
            snprintf(what, sizeof what, "%g Hz, %d leads, %g bpm", cases[c].fs, cases[c].nleads, cases[c].hr);
            CHECK(r->nsamples == e->nsamples && r->nleads == e->nleads && r->fs == e->fs,
                  "%s: result says %lld samples, %d leads, %g Hz", what, (long long)r->nsamples, r->nleads, r->fs);
            ec57_counts s = score(e, r->beats, r->nbeats);
            CHECK(s.fn == 0 && s.fp == 0 && s.tp > 40, "%s: TP %ld FN %ld FP %ld", what, s.tp, s.fn, s.fp);
            int not_n = 0, unordered = 0;
            for (size_t j = 0; j < r->nbeats; j++) {
                not_n += r->beats[j].label != 'N';
                if (j && r->beats[j].sample <= r->beats[j - 1].sample) unordered++;
            }
            CHECK(not_n == 0, "%s: %d beats labelled other than 'N'", what, not_n);
            CHECK(unordered == 0, "%s: %d beats out of order", what, unordered);
            double rate = synthetic_rate(e);
            CHECK_NEAR(r->hr_mean, rate, 1.0, "mean heart rate, bpm");
            CHECK(r->hr_min <= r->hr_mean && r->hr_mean <= r->hr_max && r->hr_min > 0.8 * rate &&
                      r->hr_max < 1.2 * rate,
                  "%s: heart rate min %.1f mean %.1f max %.1f (synthetic %.1f)", what, r->hr_min, r->hr_mean,
                  r->hr_max, rate);
            CHECK(r->filter_delay > 0 && r->state_bytes > 0, "%s: filter delay %lld, state %zu bytes", what,
                  (long long)r->filter_delay, r->state_bytes);
        }
        pipeline_result_free(r);
        fmt_record_free(rec);
        synth_free(e);
    }
}

/* Collects what the filtered-output callback receives. */
typedef struct {
    int nleads;
    int64_t next;       /* the start the next call should have */
    int bad_starts;     /* calls whose start was not where the previous one ended */
    int calls;
    float *uv;          /* lead-major, stride cap */
    size_t cap;
} collector;

static void collect(void *ctx, int64_t start, const float *uv, size_t stride, size_t n)
{
    collector *c = ctx;
    c->calls++;
    if (start != c->next) c->bad_starts++;
    if ((size_t)c->next + n > c->cap) {
        fprintf(stderr, "more filtered samples than the test expected\n");
        exit(2);
    }
    for (int l = 0; l < c->nleads; l++)
        memcpy(c->uv + (size_t)l * c->cap + (size_t)c->next, uv + (size_t)l * stride, n * sizeof(float));
    c->next += (int64_t)n;
}

static collector collector_make(int nleads, size_t cap)
{
    collector c = {nleads, 0, 0, 0, calloc((size_t)nleads * cap, sizeof(float)), cap};
    if (!c.uv) exit(2);
    return c;
}

/* Pushes frames in blocks of `block` and finishes; returns the beats (copied) and fills the
 * collector when one is given. */
static pipeline_beat *run_frames(const pipeline_opts *o, double fs, int nleads, const fmt_lead *leads,
                                 const int32_t *frames, int64_t n, size_t block, size_t *nbeats, int64_t *nsamples)
{
    char err[FMT_ERRLEN] = "";
    *nbeats = 0;
    pipeline *p = pipeline_create(o, fs, nleads, leads, err, sizeof err);
    CHECK(p != NULL, "create: %s", err);
    if (!p) return NULL;
    int live_ok = 1, push_failures = 0;
    for (int64_t i = 0; i < n;) {
        size_t m = (size_t)(n - i) < block ? (size_t)(n - i) : block;
        if (pipeline_push(p, frames + (size_t)i * (size_t)nleads, m, err, sizeof err) != 0) push_failures++;
        size_t live;
        const pipeline_beat *b = pipeline_beats(p, &live);
        if (live && b[live - 1].sample >= i + (int64_t)m) live_ok = 0; /* a beat from the future */
        i += (int64_t)m;
    }
    CHECK(push_failures == 0, "%d pushes failed, the last with: %s", push_failures, err);
    CHECK(live_ok, "the live view holds a beat past the samples pushed");
    const pipeline_result *r = NULL;
    CHECK(pipeline_finish(p, &r, err, sizeof err) == 0, "finish: %s", err);
    pipeline_beat *out = NULL;
    if (r) {
        *nsamples = r->nsamples;
        *nbeats = r->nbeats;
        out = malloc((r->nbeats + 1) * sizeof *out);
        if (!out) exit(2);
        if (r->nbeats) memcpy(out, r->beats, r->nbeats * sizeof *out);
    }
    pipeline_free(p);
    return out;
}

/* 40 s, because the diagnostic chain holds back about 15 s (its 0.05 Hz high-pass): the output
 * must stream before the end, not only come out of the flush. The leads are scaled (0.5 µV per
 * unit, baseline 100) so that the conversion is checked too. */
static void the_filtered_output_covers_every_sample_once_in_order_and_passes_10_hz_unchanged(void)
{
    const double fs = 500.0, dur = 40.0, amp = 1000.0, baseline = 100.0, uv_per_unit = 0.5;
    const int nleads = 2;
    const int64_t n = (int64_t)(fs * dur);
    int32_t *frames = malloc((size_t)n * nleads * sizeof *frames);
    if (!frames) exit(2);
    for (int64_t i = 0; i < n; i++)
        for (int l = 0; l < nleads; l++) {
            double x = amp * sin(2.0 * M_PI * 10.0 * (double)i / fs + l);
            frames[i * nleads + l] = (int32_t)lround(baseline + x / uv_per_unit);
        }
    fmt_lead leads[2];
    unit_leads(leads, nleads, uv_per_unit, baseline);
    const struct {
        int diagnostic;
        double mains;
    } modes[] = {{0, 50}, {0, 60}, {1, 50}, {1, 60}};
    for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
        collector c = collector_make(nleads, (size_t)n);
        pipeline_opts o;
        pipeline_opts_default(&o);
        o.diagnostic = modes[m].diagnostic;
        o.mains_hz = modes[m].mains;
        o.on_filtered = collect;
        o.ctx = &c;
        size_t nbeats;
        int64_t nsamples = -1;
        free(run_frames(&o, fs, nleads, leads, frames, n, 1000, &nbeats, &nsamples));
        char what[64];
        snprintf(what, sizeof what, "%s filter, %g Hz mains", modes[m].diagnostic ? "diagnostic" : "monitoring",
                 modes[m].mains);
        CHECK(nsamples == n, "%s: %lld samples pushed, result says %lld", what, (long long)n, (long long)nsamples);
        CHECK(c.next == n && c.bad_starts == 0 && c.calls > 1,
              "%s: %lld filtered samples per lead in %d calls (%d not contiguous), want %lld", what,
              (long long)c.next, c.calls, c.bad_starts, (long long)n);
        double worst = 0.0;
        for (int l = 0; l < nleads; l++)
            for (int64_t i = (int64_t)(5 * fs); i < n - (int64_t)(5 * fs); i++) {
                double x = amp * sin(2.0 * M_PI * 10.0 * (double)i / fs + l);
                worst = fmax(worst, fabs(c.uv[(size_t)l * c.cap + (size_t)i] - x));
            }
        CHECK(worst <= 0.01 * amp, "%s: filtered 10 Hz sine off by up to %.2f µV of %g (want <= 1 %%)", what, worst,
              amp);
        free(c.uv);
    }
    free(frames);
}

static void without_the_filter_there_is_no_filtered_output_and_the_beats_are_the_same(void)
{
    synth_ecg *e = generate(360, 30.0, 2, 70, 60);
    int32_t *frames = frames_of(e);
    fmt_lead leads[2];
    unit_leads(leads, 2, 1.0, 0.0);
    collector c = collector_make(2, (size_t)e->nsamples);
    pipeline_opts o;
    pipeline_opts_default(&o);
    o.on_filtered = collect;
    o.ctx = &c;
    size_t n_on, n_off;
    int64_t ns;
    pipeline_beat *on = run_frames(&o, e->fs, 2, leads, frames, e->nsamples, 4096, &n_on, &ns);
    int calls_on = c.calls;
    c.calls = 0;
    c.next = 0;
    o.run_filter = 0;
    pipeline_beat *off = run_frames(&o, e->fs, 2, leads, frames, e->nsamples, 4096, &n_off, &ns);
    CHECK(calls_on > 0 && c.calls == 0, "callback called %d times with the filter, %d without", calls_on, c.calls);
    int same = on && off && n_on == n_off && n_on > 0;
    for (size_t j = 0; same && j < n_on; j++) same = on[j].sample == off[j].sample;
    CHECK(same, "beats with the filter (%zu) and without (%zu) differ: the detector reads the raw signal", n_on,
          n_off);
    free(on);
    free(off);
    free(c.uv);
    free(frames);
    synth_free(e);
}

static void push_sizes_change_neither_the_beats_nor_the_filtered_output(void)
{
    synth_opts so;
    synth_defaults(&so);
    so.fs = 360;
    so.duration_s = 60.0;
    so.nleads = 3;
    so.hr_bpm = 80;
    so.pvc_prob = 0.1;
    so.pac_prob = 0.1;
    so.wander_mv = 0.3;
    so.mains_mv = 0.05;
    so.emg_mv = 0.03;
    so.seed = 70;
    synth_ecg *e = synth_generate(&so);
    if (!e) exit(2);
    int32_t *frames = frames_of(e);
    fmt_lead leads[3];
    unit_leads(leads, 3, 1.0, 0.0);
    const size_t sizes[] = {4096, 1, 333};
    pipeline_beat *first = NULL;
    size_t nfirst = 0;
    float *first_uv = NULL;
    for (size_t k = 0; k < 3; k++) {
        collector c = collector_make(3, (size_t)e->nsamples);
        pipeline_opts o;
        pipeline_opts_default(&o);
        o.on_filtered = collect;
        o.ctx = &c;
        size_t nb;
        int64_t ns = -1;
        pipeline_beat *b = run_frames(&o, e->fs, 3, leads, frames, e->nsamples, sizes[k], &nb, &ns);
        CHECK(ns == e->nsamples && c.next == e->nsamples, "pushes of %zu: %lld samples, %lld filtered", sizes[k],
              (long long)ns, (long long)c.next);
        if (k == 0) {
            ec57_counts s = score(e, b, nb);
            CHECK(s.tp > 60 && ec57_se(&s) >= 99.5 && ec57_ppv(&s) >= 99.5, "TP %ld FN %ld FP %ld", s.tp, s.fn, s.fp);
            first = b;
            nfirst = nb;
            first_uv = c.uv;
            continue;
        }
        int same = nb == nfirst;
        for (size_t j = 0; same && j < nb; j++)
            same = b[j].sample == first[j].sample && b[j].label == first[j].label && b[j].lead == first[j].lead &&
                   b[j].searchback == first[j].searchback;
        CHECK(same, "pushes of %zu: %zu beats, not the %zu of pushes of 4096 (or not the same ones)", sizes[k], nb,
              nfirst);
        CHECK(memcmp(c.uv, first_uv, (size_t)3 * c.cap * sizeof(float)) == 0,
              "pushes of %zu: filtered output differs from pushes of 4096", sizes[k]);
        free(b);
        free(c.uv);
    }
    free(first);
    free(first_uv);
    free(frames);
    synth_free(e);
}

static void bad_lead_counts_and_sample_rates_are_refused_with_a_message(void)
{
    fmt_lead leads[FMT_MAX_LEADS + 1];
    unit_leads(leads, FMT_MAX_LEADS + 1, 1.0, 0.0);
    pipeline_opts o;
    pipeline_opts_default(&o);
    const struct {
        double fs;
        int nleads;
        const char *mention;
    } bad[] = {{500, 0, "0 leads"}, {500, 65, "65 leads"}, {100, 2, "100"}, {2500, 2, "2500"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        for (int filter = 0; filter < 2; filter++) {
            char err[FMT_ERRLEN] = "";
            o.run_filter = filter;
            pipeline *p = pipeline_create(&o, bad[i].fs, bad[i].nleads, leads, err, sizeof err);
            CHECK(p == NULL, "%g Hz, %d leads (filter %s) accepted", bad[i].fs, bad[i].nleads, filter ? "on" : "off");
            CHECK(strstr(err, bad[i].mention) != NULL, "%g Hz, %d leads: message \"%s\" does not mention \"%s\"",
                  bad[i].fs, bad[i].nleads, err, bad[i].mention);
            pipeline_free(p);
        }
    char err[FMT_ERRLEN] = "";
    o.run_filter = 1;
    pipeline *p = pipeline_create(&o, 125, 1, leads, err, sizeof err), *q = pipeline_create(&o, 2000, 64, leads, err, sizeof err);
    CHECK(p && q, "125 Hz with 1 lead or 2000 Hz with 64 leads refused: %s", err);
    pipeline_free(p);
    pipeline_free(q);
}

/* ---- live flags ---- */

#define MAX_SEEN 256

typedef struct {
    double first_vf_s;     /* signal time when VF_FLUTTER was first live (-1: never) */
    int64_t first_vf_start;
    int critical_live;     /* critical flags ever live */
    char codes[MAX_SEEN][32];
    int64_t starts[MAX_SEEN];
    int nseen;
    int unstable;          /* a (code, start) once live that a later call no longer had */
    int lost_at_finish;    /* live codes missing from the final flags */
    int calls;
} live_run;

/* Streams the MIT-BIH record through a pipeline with the default flag table, continuous mode,
 * in blocks of 0.1 s, asking for the live flags after every block as the ingest server does. */
static live_run stream_live(const char *rel)
{
    live_run r;
    memset(&r, 0, sizeof r);
    r.first_vf_s = -1;
    char path[1024], err[FMT_ERRLEN];
    fmt_record *rec = NULL;
    flag_table *table = NULL;
    pipeline *p = NULL;
    int32_t *frames = NULL;
    CHECK(fmt_record_open(check_data_path(path, sizeof path, rel), &rec, err, sizeof err) == 0, "%s", err);
    CHECK(flag_table_load(NULL, &table, err, sizeof err) == 0, "%s", err);
    if (!rec || !table) goto done;
    int nleads = fmt_record_nleads(rec);
    double fs = fmt_record_fs(rec);
    fmt_lead leads[FMT_MAX_LEADS];
    for (int l = 0; l < nleads; l++) leads[l] = *fmt_record_lead(rec, l);
    pipeline_opts o;
    pipeline_opts_default(&o);
    o.flags = table;
    o.mode = FLAG_CONTINUOUS;
    p = pipeline_create(&o, fs, nleads, leads, err, sizeof err);
    CHECK(p != NULL, "%s", err);
    long block = (long)(fs / 10);
    frames = malloc((size_t)block * (size_t)nleads * sizeof *frames);
    if (!p || !frames) goto done;
    int64_t pushed = 0;
    for (;;) {
        long n = fmt_record_read(rec, frames, block, err, sizeof err);
        CHECK(n >= 0, "%s", err);
        if (n <= 0) break;
        CHECK(pipeline_push(p, frames, (size_t)n, err, sizeof err) == 0, "%s", err);
        pushed += n;
        const flag *f;
        size_t nf;
        CHECK(pipeline_flags_live(p, &f, &nf, err, sizeof err) == 0, "%s", err);
        r.calls++;
        for (int k = 0; k < r.nseen; k++) {
            size_t i = 0;
            while (i < nf && !(f[i].start == r.starts[k] && !strcmp(f[i].code, r.codes[k]))) i++;
            r.unstable += i == nf;
        }
        for (size_t i = 0; i < nf; i++) {
            int k = 0;
            while (k < r.nseen && !(f[i].start == r.starts[k] && !strcmp(f[i].code, r.codes[k]))) k++;
            if (k < r.nseen || r.nseen == MAX_SEEN) continue;
            snprintf(r.codes[r.nseen], sizeof r.codes[0], "%s", f[i].code);
            r.starts[r.nseen++] = f[i].start;
            r.critical_live += f[i].priority == FLAG_CRITICAL;
            if (!strcmp(f[i].code, "VF_FLUTTER") && r.first_vf_s < 0) {
                r.first_vf_s = (double)pushed / fs;
                r.first_vf_start = f[i].start;
            }
        }
    }
    const pipeline_result *res;
    CHECK(pipeline_finish(p, &res, err, sizeof err) == 0, "%s", err);
    for (int k = 0; k < r.nseen; k++) {
        size_t i = 0;
        while (i < res->nflags && strcmp(res->flags[i].code, r.codes[k])) i++;
        r.lost_at_finish += i == res->nflags;
    }
done:
    free(frames);
    pipeline_free(p);
    flag_table_free(table);
    fmt_record_free(rec);
    return r;
}

static void the_flutter_of_207_streamed_is_a_critical_live_flag_seconds_after_its_onset(void)
{
    char path[1024], err[FMT_ERRLEN];
    fmt_annot_list ann = {0};
    int64_t onset = -1, offset = -1;
    CHECK(fmt_annot_read_wfdb(check_data_path(path, sizeof path, "mitdb/207.atr"), &ann, err, sizeof err) == 0, "%s", err);
    for (size_t i = 0; i < ann.count && offset < 0; i++) {
        if (ann.items[i].code == 32 && onset < 0) onset = ann.items[i].sample; /* '[' */
        if (ann.items[i].code == 33 && onset >= 0) offset = ann.items[i].sample; /* ']' */
    }
    fmt_annot_list_free(&ann);
    CHECK(onset > 0 && offset > onset, "207.atr: no flutter brackets");
    live_run r = stream_live("mitdb/207");
    double on_s = (double)onset / 360.0, off_s = (double)offset / 360.0;
    fprintf(stderr, "  207: flutter annotated %.1f-%.1f s; VF_FLUTTER live at %.1f s (%.1f s after onset), "
                    "flag start %.1f s; %d live calls\n",
            on_s, off_s, r.first_vf_s, r.first_vf_s - on_s, (double)r.first_vf_start / 360.0, r.calls);
    /* Two 4-s windows must fill with flutter (about 5 s), plus a block of 0.1 s and the margin of
     * the flutter's own build-up. */
    CHECK(r.first_vf_s >= on_s && r.first_vf_s <= on_s + 7.0, "VF_FLUTTER live at %.1f s, onset %.1f s",
          r.first_vf_s, on_s);
    CHECK(r.first_vf_start >= onset - 360 * 2 && r.first_vf_start < offset, "the live flag starts at %.1f s",
          (double)r.first_vf_start / 360.0);
    CHECK(r.unstable == 0, "%d times a live (code, start) went missing from a later call", r.unstable);
    CHECK(r.lost_at_finish == 0, "%d live codes missing from the final flags", r.lost_at_finish);
}

static void normal_sinus_record_100_streamed_raises_no_critical_live_flag(void)
{
    live_run r = stream_live("mitdb/100");
    CHECK(r.calls > 17000, "%d live calls", r.calls);
    CHECK(r.critical_live == 0 && r.first_vf_s < 0, "%d critical live flags (VF_FLUTTER at %.1f s)", r.critical_live,
          r.first_vf_s);
    CHECK(r.unstable == 0 && r.lost_at_finish == 0, "unstable %d, lost %d", r.unstable, r.lost_at_finish);
}

static void without_a_flag_table_there_are_no_live_flags(void)
{
    fmt_lead leads[2];
    unit_leads(leads, 2, 1.0, 0.0);
    pipeline_opts o;
    pipeline_opts_default(&o);
    char err[FMT_ERRLEN];
    pipeline *p = pipeline_create(&o, 360, 2, leads, err, sizeof err);
    const flag *f = (const flag *)1;
    size_t n = 99;
    CHECK(p && pipeline_flags_live(p, &f, &n, err, sizeof err) == 0 && n == 0 && f == NULL, "n %zu", n);
    pipeline_free(p);
}

/* Runs frames through the pipeline with the default beat model in blocks of 360 frames; the labels
 * of the live view just before finish go to *live_labels (*nlive of them, new memory). Returns the
 * finished result (owned by *pp, free with pipeline_free). */
static const pipeline_result *run_labelled(const char *name, const int32_t *frames_in, int64_t nframes,
                                           int nleads, const fmt_lead *leads, double fs, const bc_model *m,
                                           pipeline **pp, char **live_labels, size_t *nlive)
{
    char err[FMT_ERRLEN];
    pipeline_opts o;
    pipeline_opts_default(&o);
    o.beat_model = m;
    pipeline *p = pipeline_create(&o, fs, nleads, leads, err, sizeof err);
    CHECK(p != NULL, "%s: %s", name, err);
    const pipeline_result *res = NULL;
    if (!p) goto done;
    for (int64_t i = 0; i < nframes; i += 360) {
        size_t n = (size_t)(nframes - i < 360 ? nframes - i : 360);
        CHECK(pipeline_push(p, frames_in + (size_t)i * (size_t)nleads, n, err, sizeof err) == 0, "%s", err);
    }
    const pipeline_beat *live = pipeline_beats(p, nlive);
    *live_labels = calloc(*nlive + 1, 1);
    if (!*live_labels) exit(2);
    for (size_t i = 0; i < *nlive; i++) (*live_labels)[i] = live[i].label;
    CHECK(pipeline_finish(p, &res, err, sizeof err) == 0, "%s", err);
done:
    *pp = p;
    return res;
}

static void an_s_label_inside_atrial_fibrillation_is_n_once_the_record_is_finished(void)
{
    char merr[FMT_ERRLEN];
    bc_model *m = NULL;
    CHECK(bc_model_load(NULL, &m, merr, sizeof merr) == 0, "%s", merr);
    if (!m) return;
    char path[1024], err[FMT_ERRLEN];
    fmt_record *rec = NULL;
    CHECK(fmt_record_open(check_data_path(path, sizeof path, "mitdb/221"), &rec, err, sizeof err) == 0, "%s", err);
    if (!rec) {
        bc_model_free(m);
        return;
    }
    int nl = fmt_record_nleads(rec);
    fmt_lead leads[FMT_MAX_LEADS];
    for (int l = 0; l < nl; l++) leads[l] = *fmt_record_lead(rec, l);
    int64_t n = 0;
    int32_t *frames = NULL;
    if (fmt_record_read_all(rec, &frames, &n, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        exit(2);
    }
    pipeline *p;
    char *live;
    size_t nlive;
    const pipeline_result *r = run_labelled("221", frames, n, nl, leads, fmt_record_fs(rec), m, &p, &live, &nlive);
    size_t live_s_in_af = 0, final_s_in_af = 0, in_af = 0, e = 0;
    /* the last few seconds wait for the filter chain's delay until finish */
    CHECK(r && nlive + 16 >= r->nbeats && nlive <= r->nbeats, "%zu live beats, %zu finished", nlive, r ? r->nbeats : 0);
    for (size_t i = 0; r && i < nlive && i < r->nbeats; i++) {
        while (e < r->nrhythms && r->rhythms[e].end <= r->beats[i].sample) e++;
        int af = e < r->nrhythms && (!strcmp(r->rhythms[e].label, "AFIB") || !strcmp(r->rhythms[e].label, "AFL"));
        in_af += af;
        live_s_in_af += af && live[i] == 'S';
        final_s_in_af += af && r->beats[i].label == 'S';
        CHECK(live[i] == r->beats[i].label || (live[i] == 'S' && af && r->beats[i].label == 'N'),
              "beat %zu: live %c, final %c, outside the rule", i, live[i], r->beats[i].label);
    }
    fprintf(stderr, "  221: %zu beats in AF, %zu labelled S live, %zu once finished\n", in_af, live_s_in_af,
            final_s_in_af);
    CHECK(r && in_af > 1500, "221 is AF throughout: %zu beats in AF", in_af);
    CHECK(live_s_in_af > 0, "the live view should have had early beats labelled S in AF (the test needs them)");
    CHECK(final_s_in_af == 0, "%zu S labels left inside AF", final_s_in_af);
    free(live);
    free(frames);
    pipeline_free(p);
    fmt_record_free(rec);
    bc_model_free(m);
}

static void beats_inside_an_unreadable_stretch_are_q_once_the_record_is_finished(void)
{
    char merr[FMT_ERRLEN];
    bc_model *m = NULL;
    CHECK(bc_model_load(NULL, &m, merr, sizeof merr) == 0, "%s", merr);
    if (!m) return;
    synth_ecg *e = generate(360, 60, 2, 70, 7);
    int32_t *frames = frames_of(e);
    /* 20-30 s: motion on every lead, 20 mV swings at 3-9 Hz, beyond what an ECG can be: unreadable,
     * and the detector finds beats in it. */
    for (int64_t i = 20 * 360; i < 30 * 360; i++)
        for (int l = 0; l < 2; l++)
            frames[(size_t)i * 2 + (size_t)l] += (int32_t)(10000.0 * sin(2 * M_PI * (3.0 + 6.0 * (double)(i % 97) / 97.0) * (double)i / 360.0));
    fmt_lead leads[2];
    unit_leads(leads, 2, 1.0, 0.0);
    pipeline *p;
    char *live;
    size_t nlive;
    const pipeline_result *r = run_labelled("synthetic", frames, e->nsamples, 2, leads, 360, m, &p, &live, &nlive);
    size_t inside = 0, q_inside = 0, q_outside = 0;
    for (size_t i = 0; r && i < r->nbeats; i++) {
        int in = 0;
        for (size_t u = 0; u < r->nunreadable; u++)
            in |= r->beats[i].sample >= r->unreadable[u].start && r->beats[i].sample < r->unreadable[u].end;
        inside += in;
        q_inside += in && r->beats[i].label == 'Q';
        q_outside += !in && r->beats[i].label == 'Q';
    }
    CHECK(r && r->nunreadable >= 1, "the motion stretch should be unreadable");
    CHECK(inside > 0, "the detector should have found beats in the motion (the test needs them)");
    CHECK(q_inside == inside, "%zu of %zu beats inside unreadable stretches are Q", q_inside, inside);
    CHECK(q_outside == 0, "%zu beats outside are Q", q_outside);
    free(live);
    free(frames);
    pipeline_free(p);
    synth_free(e);
    bc_model_free(m);
}

/* A resting 12-lead ECG of the CinC 2021 set (10 s, 500 Hz) through the whole analysis, resting
 * mode, default model and flag table: its AFIB seconds, and whether the AF flag is raised. */
static double resting_afib_seconds(const char *rel, int *af_flag)
{
    char path[1024], err[FMT_ERRLEN];
    fmt_record *rec = NULL;
    bc_model *m = NULL;
    flag_table *table = NULL;
    pipeline_result *res = NULL;
    double af = -1;
    *af_flag = 0;
    CHECK(fmt_record_open(check_data_path(path, sizeof path, rel), &rec, err, sizeof err) == 0, "%s", err);
    CHECK(bc_model_load(NULL, &m, err, sizeof err) == 0, "%s", err);
    CHECK(flag_table_load(NULL, &table, err, sizeof err) == 0, "%s", err);
    if (rec && m && table) {
        pipeline_opts o;
        pipeline_opts_default(&o);
        o.beat_model = m;
        o.flags = table;
        o.mode = FLAG_RESTING;
        CHECK(pipeline_run_record(rec, &o, &res, err, sizeof err) == 0, "%s: %s", rel, err);
    }
    for (size_t i = 0; res && i < res->nrhythms; i++)
        if (!strcmp(res->rhythms[i].label, "AFIB")) af += (double)(res->rhythms[i].end - res->rhythms[i].start) / res->fs;
    if (res) af += 1; /* from -1: found none is 0 */
    for (size_t i = 0; res && i < res->nflags; i++) *af_flag |= !strcmp(res->flags[i].code, "AF");
    pipeline_result_free(res);
    flag_table_free(table);
    bc_model_free(m);
    fmt_record_free(rec);
    return af;
}

static void a_resting_ecg_in_af_is_afib_throughout_with_its_flag_and_a_sinus_one_is_not(void)
{
    int flag;
    double s = resting_afib_seconds("cinc2021/cpsc_2018/A0003", &flag); /* #Dx: AF, 146/min */
    CHECK(s >= 9.9 && flag, "A0003 (AF): %.2f s AFIB, AF flag %d", s, flag);
    s = resting_afib_seconds("cinc2021/cpsc_2018/A0002", &flag); /* #Dx: sinus rhythm */
    CHECK(s == 0 && !flag, "A0002 (sinus rhythm): %.2f s AFIB, AF flag %d", s, flag);
    s = resting_afib_seconds("cinc2021/ptb-xl/HR00010", &flag); /* sinus arrhythmia: irregular, P waves */
    CHECK(s == 0 && !flag, "HR00010 (sinus arrhythmia): %.2f s AFIB, AF flag %d", s, flag);
}

int main(void)
{
    RUN(a_synthetic_wfdb_record_runs_through_the_pipeline_with_its_beats_found);
    RUN(the_filtered_output_covers_every_sample_once_in_order_and_passes_10_hz_unchanged);
    RUN(without_the_filter_there_is_no_filtered_output_and_the_beats_are_the_same);
    RUN(push_sizes_change_neither_the_beats_nor_the_filtered_output);
    RUN(bad_lead_counts_and_sample_rates_are_refused_with_a_message);
    RUN(without_a_flag_table_there_are_no_live_flags);
    RUN(the_flutter_of_207_streamed_is_a_critical_live_flag_seconds_after_its_onset);
    RUN(normal_sinus_record_100_streamed_raises_no_critical_live_flag);
    RUN(an_s_label_inside_atrial_fibrillation_is_n_once_the_record_is_finished);
    RUN(beats_inside_an_unreadable_stretch_are_q_once_the_record_is_finished);
    RUN(a_resting_ecg_in_af_is_afib_throughout_with_its_flag_and_a_sinus_one_is_not);
    return check_report();
}
