/* test_archive.c — journal to EDF+ archive: samples, scaling, patient, annotations, atomicity. */
#include "archive.h"
#include "check.h"
#include "edf_annot.h"
#include "journal.h"
#include "record.h"

#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

static char err[STORE_JOURNAL_ERRLEN];

static uint32_t rng_state = 11u;
static uint32_t rnd(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

static const char *tmp_path(const char *dir, const char *name)
{
    static char buf[8][1200];
    static int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static const fmt_lead three_leads[3] = {
    {.name = "I", .uv_per_unit = 2.5, .baseline = 0},                      /* full 16-bit range */
    {.name = "II", .uv_per_unit = 2.5, .baseline = 0, .adc_min = -4000, .adc_max = 4000},
    {.name = "V1", .uv_per_unit = 1.25, .baseline = 10},
};

static int32_t *random_frames(size_t nframes, int nleads)
{
    int32_t *x = malloc(nframes * (size_t)nleads * sizeof *x);
    for (size_t i = 0; i < nframes * (size_t)nleads; i++) x[i] = (int32_t)(rnd() % 6001) - 3000;
    return x;
}

/* Writes X (NFRAMES frames) as the journal PATH in blocks of 100, ended when END. */
static void write_journal(const char *path, const int32_t *x, int nleads, int sample_bytes,
                          size_t nframes, int end)
{
    store_journal_info info = {.nleads = nleads, .sample_bytes = sample_bytes, .meta = "{}"};
    unlink(path);
    store_journal *j = store_journal_create(path, &info, err, sizeof err);
    CHECK(j != NULL, "%s", err);
    if (!j) return;
    for (size_t done = 0; done < nframes; done += 100) {
        size_t n = nframes - done < 100 ? nframes - done : 100;
        CHECK(store_journal_append(j, (int64_t)done, x + done * nleads, n, 0, err, sizeof err) == 0,
              "%s", err);
    }
    int rc = end ? store_journal_end(j, err, sizeof err) : store_journal_sync(j, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    store_journal_close(j);
}

static store_archive_info base_info(int nleads, const fmt_lead *leads, double fs)
{
    store_archive_info in;
    memset(&in, 0, sizeof in);
    in.fs = fs;
    in.nleads = nleads;
    in.leads = leads;
    snprintf(in.patient.id, sizeof in.patient.id, "P-0042");
    in.patient.sex = 'F';
    in.patient.age = -1;
    snprintf(in.patient.birthdate, sizeof in.patient.birthdate, "1950-03-04");
    in.start_year = 2025, in.start_month = 2, in.start_day = 3;
    in.start_hour = 4, in.start_minute = 5, in.start_second = 6;
    return in;
}

static store_annotation annot(int64_t sample, int64_t duration, const char *text)
{
    store_annotation a = {.sample = sample, .duration = duration};
    snprintf(a.text, sizeof a.text, "%s", text);
    return a;
}

/* Index of the annotation with TEXT at SAMPLE (and DURATION frames, < 0: none) in L, or -1. */
static long find_annot(const fmt_edf_annot_list *l, double fs, int64_t sample, int64_t duration,
                       const char *text)
{
    for (size_t i = 0; i < l->count; i++) {
        const fmt_edf_annot *a = &l->items[i];
        if (strcmp(a->text, text) || llround(a->onset * fs) != sample) continue;
        if (duration < 0 ? a->duration >= 0 : llround(a->duration * fs) != duration) continue;
        return (long)i;
    }
    return -1;
}

static void archive_reads_back_samples_scaling_patient_and_every_annotation(void)
{
    const char *dir = check_tmpdir("archive_roundtrip");
    const char *jpath = tmp_path(dir, "rec.jnl"), *edf = tmp_path(dir, "rec.edf");
    const double fs = 250;
    const size_t n = 250 * 7 + 123; /* not whole seconds: the writer pads the last record */
    int32_t *x = random_frames(n, 3);
    /* int32 journal samples outside the leads' ranges: clipped, and counted */
    x[100 * 3 + 0] = 40000, x[200 * 3 + 1] = -4001, x[300 * 3 + 2] = INT32_MIN;
    write_journal(jpath, x, 3, 4, n, 1);

    /* beats, an event with a duration, UTF-8, and 12 per second of filler: more than the
     * writer's default capacity of 5 per second, so the archive must size it */
    size_t cap = 400, nann = 0;
    store_annotation *ann = malloc(cap * sizeof *ann);
    for (int64_t s = 60; s < (int64_t)n; s += 200) ann[nann++] = annot(s, -1, "N");
    ann[nann++] = annot(1000, -1, "V");
    ann[nann++] = annot(500, 750, "AFIB");
    ann[nann++] = annot(1500, 25, "心动过速");
    ann[nann++] = annot((int64_t)n + 40, -1, "after the end");
    for (int64_t s = 0; s < (int64_t)n; s += 21) ann[nann++] = annot(s, -1, "x");
    CHECK(nann > 12 * n / 250, "%zu annotations over %.1f s", nann, n / fs);

    store_archive_info in = base_info(3, three_leads, fs);
    long clipped = -1;
    CHECK(store_archive_write(jpath, edf, &in, ann, nann, &clipped, err, sizeof err) == 0,
          "archive: %s", err);
    CHECK(clipped == 3, "clipped %ld, want 3", clipped);
    char tmp[1300];
    snprintf(tmp, sizeof tmp, "%s.tmp", edf);
    CHECK(!exists(tmp), "no %s left behind", tmp);

    /* what went in, clipped to each lead's range */
    int32_t *want = malloc(n * 3 * sizeof *want);
    for (size_t i = 0; i < n * 3; i++) {
        const fmt_lead *ld = &three_leads[i % 3];
        int32_t lo = ld->adc_min || ld->adc_max ? ld->adc_min : -32768;
        int32_t hi = ld->adc_min || ld->adc_max ? ld->adc_max : 32767;
        want[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
    }
    fmt_record *r = NULL;
    CHECK(fmt_record_open(edf, &r, err, sizeof err) == 0, "%s", err);
    if (r) {
        CHECK(fmt_record_nleads(r) == 3 && fmt_record_fs(r) == fs, "3 leads at %g Hz",
              fmt_record_fs(r));
        CHECK(fmt_record_nsamples(r) == 250 * 8, "padded to whole 1 s records: %lld",
              (long long)fmt_record_nsamples(r));
        for (int l = 0; l < 3; l++) {
            const fmt_lead *a = fmt_record_lead(r, l), *b = &three_leads[l];
            CHECK(!strcmp(a->name, b->name), "lead %d name %s", l, a->name);
            CHECK_NEAR(a->uv_per_unit, b->uv_per_unit, 1e-6 * b->uv_per_unit, "uv_per_unit");
            CHECK_NEAR(a->baseline, b->baseline, 1e-3, "baseline");
        }
        CHECK(fmt_record_lead(r, 1)->adc_min == -4000 && fmt_record_lead(r, 1)->adc_max == 4000,
              "lead II's digital range");
        const fmt_patient *p = fmt_record_patient(r);
        CHECK(!strcmp(p->id, "P-0042") && p->sex == 'F' && !strcmp(p->birthdate, "1950-03-04"),
              "patient %s %c %s", p->id, p->sex ? p->sex : '-', p->birthdate);
        int32_t *y = malloc(250 * 8 * 3 * sizeof *y);
        long got = fmt_record_read(r, y, 250 * 8, err, sizeof err);
        CHECK(got == 250 * 8, "read %ld frames: %s", got, err);
        if (got == 250 * 8) {
            CHECK(memcmp(y, want, n * 3 * sizeof *y) == 0, "samples differ from the journal's");
            int pad_ok = 1;
            for (long f = (long)n; f < got; f++)
                for (int l = 0; l < 3; l++) pad_ok &= y[f * 3 + l] == want[(n - 1) * 3 + l];
            CHECK(pad_ok, "the padding repeats the last frame");
        }
        free(y);
    }
    fmt_record_free(r);

    fmt_edf_annot_list l = {0};
    CHECK(fmt_edf_read_annotations(edf, &l, err, sizeof err) == 0, "%s", err);
    CHECK(l.count == nann + 1, "%zu annotations read, %zu written plus the length", l.count, nann);
    int all = 1;
    for (size_t i = 0; i < nann; i++) {
        long k = find_annot(&l, fs, ann[i].sample, ann[i].duration, ann[i].text);
        if (k < 0)
            fprintf(stderr, "  missing: \"%s\" at %lld\n", ann[i].text,
                    (long long)ann[i].sample);
        all &= k >= 0;
    }
    CHECK(all, "every annotation is in the file at its sample, with its duration");
    char length[64];
    snprintf(length, sizeof length, STORE_ARCHIVE_LENGTH_FORMAT, (long long)n);
    CHECK(!strcmp(length, "length 1873 frames") && find_annot(&l, fs, 0, (int64_t)n, length) >= 0,
          "the exact length is annotated: \"%s\"", length);
    fmt_edf_annot_list_free(&l);

    /* writing it again replaces the archive as a whole */
    store_annotation one = annot(10, -1, "N");
    CHECK(store_archive_write(jpath, edf, &in, &one, 1, NULL, err, sizeof err) == 0, "%s", err);
    CHECK(fmt_edf_read_annotations(edf, &l, err, sizeof err) == 0 && l.count == 2,
          "rewritten with 1 annotation + length: %zu", l.count);
    fmt_edf_annot_list_free(&l);
    CHECK(!exists(tmp), "no .tmp after the rewrite");
    free(want);
    free(ann);
    free(x);
}

static void whole_seconds_and_an_unended_journal_archive_exactly(void)
{
    const char *dir = check_tmpdir("archive_exact");
    const char *jpath = tmp_path(dir, "rec.jnl"), *edf = tmp_path(dir, "rec.edf");
    const fmt_lead one[1] = {{.name = "MLII", .uv_per_unit = 5, .baseline = 1024}};
    const size_t n = 500 * 3;
    int32_t *x = random_frames(n, 1);
    write_journal(jpath, x, 1, 2, n, 0); /* a recording cut short: no end record */
    store_archive_info in = base_info(1, one, 500);
    in.start_year = 0; /* anonymous start */
    long clipped = -1;
    CHECK(store_archive_write(jpath, edf, &in, NULL, 0, &clipped, err, sizeof err) == 0, "%s", err);
    CHECK(clipped == 0, "clipped %ld", clipped);
    fmt_record *r = NULL;
    CHECK(fmt_record_open(edf, &r, err, sizeof err) == 0, "%s", err);
    if (r) {
        CHECK(fmt_record_nsamples(r) == (int64_t)n, "%lld frames",
              (long long)fmt_record_nsamples(r));
        int32_t *y = malloc(n * sizeof *y);
        CHECK(fmt_record_read(r, y, (long)n, err, sizeof err) == (long)n &&
                  !memcmp(x, y, n * sizeof *y),
              "int16 journal samples bit-exact");
        free(y);
    }
    fmt_record_free(r);
    fmt_edf_annot_list l = {0};
    CHECK(fmt_edf_read_annotations(edf, &l, err, sizeof err) == 0 && l.count == 1 &&
              !strcmp(l.items[0].text, "length 1500 frames"),
          "only the length annotation: %zu", l.count);
    fmt_edf_annot_list_free(&l);
    free(x);
}

/* The file's bytes, to show that a failed write left it untouched. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc(*len + 1);
    if (p && fread(p, 1, *len, f) != *len) *len = 0;
    fclose(f);
    return p;
}

static void errors_leave_no_partial_archive(void)
{
    const char *dir = check_tmpdir("archive_errors");
    const char *jpath = tmp_path(dir, "rec.jnl"), *edf = tmp_path(dir, "rec.edf");
    const char *missing = tmp_path(dir, "missing.jnl"), *edf2 = tmp_path(dir, "other.edf");
    char tmp[1300], tmp2[1300];
    snprintf(tmp, sizeof tmp, "%s.tmp", edf);
    snprintf(tmp2, sizeof tmp2, "%s.tmp", edf2);
    store_archive_info in = base_info(3, three_leads, 250);
    long clipped = -1;

    CHECK(store_archive_write(missing, edf2, &in, NULL, 0, &clipped, err, sizeof err) == -1 &&
              strstr(err, missing),
          "missing journal: %s", err);
    CHECK(!exists(edf2) && !exists(tmp2), "nothing written for a missing journal");

    int32_t *x = random_frames(700, 3);
    write_journal(jpath, x, 3, 2, 700, 1);
    CHECK(store_archive_write(jpath, edf, &in, NULL, 0, &clipped, err, sizeof err) == 0, "%s", err);
    size_t len0 = 0, len1 = 0;
    char *before = slurp(edf, &len0);

    store_archive_info two = base_info(2, three_leads, 250);
    CHECK(store_archive_write(jpath, edf, &two, NULL, 0, &clipped, err, sizeof err) == -1 &&
              strstr(err, "2 leads") && strstr(err, "holds 3"),
          "lead count mismatch: %s", err);
    store_annotation bad = annot(5, -1, "bad\ttext");
    CHECK(store_archive_write(jpath, edf, &in, &bad, 1, &clipped, err, sizeof err) == -1 &&
              strstr(err, "annotation"),
          "control character in an annotation: %s", err);
    store_annotation unterminated = annot(5, -1, "N");
    memset(unterminated.text, 'A', sizeof unterminated.text);
    CHECK(store_archive_write(jpath, edf, &in, &unterminated, 1, &clipped, err, sizeof err) == -1,
          "unterminated annotation text: %s", err);
    size_t many = 2000; /* 2.8 s of signal: far over 64 per second */
    store_annotation *ann = malloc(many * sizeof *ann);
    for (size_t i = 0; i < many; i++) ann[i] = annot((int64_t)(i % 700), -1, "N");
    CHECK(store_archive_write(jpath, edf, &in, ann, many, &clipped, err, sizeof err) == -1 &&
              strstr(err, "64"),
          "more annotations than EDF+ holds: %s", err);
    free(ann);
    store_archive_info badrate = base_info(3, three_leads, 250.123456);
    CHECK(store_archive_write(jpath, edf, &badrate, NULL, 0, &clipped, err, sizeof err) == -1,
          "a rate EDF cannot hold: %s", err);

    char *after = slurp(edf, &len1);
    CHECK(before && after && len0 == len1 && len0 > 0 && !memcmp(before, after, len0),
          "failed writes left the existing archive untouched");
    CHECK(!exists(tmp), "and no .tmp behind");
    free(before);
    free(after);

    const char *empty = tmp_path(dir, "empty.jnl");
    store_journal_info info = {.nleads = 3, .sample_bytes = 2, .meta = "{}"};
    unlink(empty);
    store_journal_close(store_journal_create(empty, &info, err, sizeof err));
    CHECK(store_archive_write(empty, edf2, &in, NULL, 0, &clipped, err, sizeof err) == -1 &&
              strstr(err, "no samples") && !exists(edf2) && !exists(tmp2),
          "empty journal: %s", err);
    free(x);
}

int main(void)
{
    RUN(archive_reads_back_samples_scaling_patient_and_every_annotation);
    RUN(whole_seconds_and_an_unended_journal_archive_exactly);
    RUN(errors_leave_no_partial_archive);
    return check_report();
}
