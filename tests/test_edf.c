/* test_edf.c — EDF/EDF+/BDF reading through fmt_record, EDF+ annotations, and the EDF+C writer. */
#include "check.h"
#include "edf_annot.h"
#include "edf_write.h"
#include "record.h"

#include <edflib.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

static char err[FMT_ERRLEN];

static uint32_t rng_state = 2024u;
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

static fmt_edf_writer_opts base_opts(int nleads, const fmt_lead *leads, double fs)
{
    fmt_edf_writer_opts o;
    memset(&o, 0, sizeof o);
    o.nleads = nleads;
    o.leads = leads;
    o.fs = fs;
    return o;
}

/* Writes nframes random frames within each lead's range in blocks of `block` frames (cycling
 * through odd sizes when block is 0); returns the frames (caller frees) or NULL. */
static int32_t *write_file(const char *path, const fmt_edf_writer_opts *o, long nframes, long block)
{
    int32_t *x = malloc((size_t)nframes * (size_t)o->nleads * sizeof *x);
    for (long f = 0; f < nframes; f++)
        for (int l = 0; l < o->nleads; l++) {
            int32_t lo = o->leads[l].adc_min, hi = o->leads[l].adc_max;
            if (lo == 0 && hi == 0) lo = -32768, hi = 32767;
            x[f * o->nleads + l] = lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1));
        }
    fmt_edf_writer *w = fmt_edf_writer_create(path, o, err, sizeof err);
    CHECK(w != NULL, "create %s: %s", path, err);
    if (!w) {
        free(x);
        return NULL;
    }
    static const long odd[] = {1, 7, 359, 1000, 3, 361, 2};
    long done = 0;
    for (int k = 0; done < nframes; k++) {
        long n = block ? block : odd[k % 7];
        if (n > nframes - done) n = nframes - done;
        CHECK(fmt_edf_writer_write(w, x + done * o->nleads, n, err, sizeof err) == 0, "%s", err);
        done += n;
    }
    CHECK(fmt_edf_writer_close(w, err, sizeof err) == 0, "close %s: %s", path, err);
    return x;
}

/* Reads the whole record in blocks of `block` frames into a new array. */
static int32_t *read_all(fmt_record *r, long block)
{
    int nl = fmt_record_nleads(r);
    int64_t n = fmt_record_nsamples(r);
    int32_t *y = malloc((size_t)(n + 1) * (size_t)nl * sizeof *y);
    int64_t done = 0;
    for (;;) {
        long got = fmt_record_read(r, y + done * nl, block, err, sizeof err);
        CHECK(got >= 0, "%s", err);
        if (got <= 0) break;
        done += got;
    }
    CHECK(done == n, "read %lld frames, record has %lld", (long long)done, (long long)n);
    return y;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    fclose(f);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n + 1);
    if (fread(b, 1, *n, f) != *n) exit(2);
    fclose(f);
    return b;
}

/* Opening PATH fails, and the message names the file and contains WHAT. */
static void check_open_fails(const char *path, const char *what)
{
    fmt_record *r = NULL;
    err[0] = 0;
    CHECK(fmt_record_open(path, &r, err, sizeof err) == -1, "%s opened", path);
    CHECK(r == NULL, "record set on failure");
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    CHECK(strstr(err, base) != NULL, "message does not name %s: %s", base, err);
    CHECK(strstr(err, what) != NULL, "message lacks \"%s\": %s", what, err);
    fmt_record_free(r);
}

static const fmt_lead two_leads[2] = {
    {.name = "MLII", .uv_per_unit = 5.0, .baseline = 0, .adc_min = 0, .adc_max = 0},
    {.name = "V1", .uv_per_unit = 2.5, .baseline = 1024, .adc_min = -2048, .adc_max = 2047},
};

static void written_file_reads_back_bit_identical_with_names_rate_scaling_and_patient(void)
{
    const char *dir = check_tmpdir("edf_roundtrip");
    const char *path = tmp_path(dir, "rt.edf");
    fmt_edf_writer_opts o = base_opts(2, two_leads, 360);
    snprintf(o.patient.id, sizeof o.patient.id, "MCH-0042");
    o.patient.sex = 'F';
    snprintf(o.patient.birthdate, sizeof o.patient.birthdate, "1950-07-15");
    o.start_year = 2024, o.start_month = 7, o.start_day = 14;
    o.start_hour = 13, o.start_minute = 5, o.start_second = 9;
    long n = 360 * 20;
    int32_t *x = write_file(path, &o, n, 0);
    fmt_record *r = NULL;
    CHECK(fmt_record_open(path, &r, err, sizeof err) == 0, "%s", err);
    if (!r || !x) goto out;
    CHECK(fmt_record_nleads(r) == 2, "nleads %d", fmt_record_nleads(r));
    CHECK_NEAR(fmt_record_fs(r), 360, 0, "fs");
    CHECK(fmt_record_nsamples(r) == n, "nsamples %lld", (long long)fmt_record_nsamples(r));
    CHECK(!strcmp(fmt_record_format(r), "EDF+"), "format %s", fmt_record_format(r));
    CHECK(!strcmp(fmt_record_name(r), "rt"), "name %s", fmt_record_name(r));
    for (int l = 0; l < 2; l++) {
        const fmt_lead *a = fmt_record_lead(r, l), *b = &two_leads[l];
        CHECK(!strcmp(a->name, b->name), "lead %d name %s", l, a->name);
        CHECK_NEAR(a->uv_per_unit, b->uv_per_unit, 1e-6 * b->uv_per_unit, "uv_per_unit");
        CHECK_NEAR(a->baseline, b->baseline, 1e-3, "baseline");
    }
    CHECK(fmt_record_lead(r, 0)->adc_min == -32768 && fmt_record_lead(r, 0)->adc_max == 32767,
          "full range by default");
    CHECK(fmt_record_lead(r, 1)->adc_min == -2048 && fmt_record_lead(r, 1)->adc_max == 2047,
          "lead range kept");
    const fmt_patient *p = fmt_record_patient(r);
    CHECK(!strcmp(p->id, "MCH-0042"), "id %s", p->id);
    CHECK(p->sex == 'F', "sex %c", p->sex);
    CHECK(!strcmp(p->birthdate, "1950-07-15"), "birthdate %s", p->birthdate);
    CHECK(p->age == 73, "age %d (born 1950-07-15, recorded 2024-07-14)", p->age);
    int32_t *y = read_all(r, 1000);
    CHECK(memcmp(x, y, (size_t)n * 2 * sizeof *x) == 0, "samples differ");
    free(y);
out:
    fmt_record_free(r);
    free(x);
}

static void annotations_round_trip_with_onsets_durations_and_utf8_text(void)
{
    const char *dir = check_tmpdir("edf_annot");
    const char *path = tmp_path(dir, "ann.edf");
    fmt_edf_writer_opts o = base_opts(1, two_leads, 360);
    fmt_edf_writer *w = fmt_edf_writer_create(path, &o, err, sizeof err);
    CHECK(w != NULL, "%s", err);
    if (!w) return;
    int32_t block[360] = {0};
    for (int s = 0; s < 10; s++) CHECK(fmt_edf_writer_write(w, block, 360, err, sizeof err) == 0, "%s", err);
    /* added out of order on purpose: the reader returns time order */
    CHECK(fmt_edf_writer_annotate(w, 1800, 720, "AFIB start", err, sizeof err) == 0, "%s", err);
    for (int b = 0; b < 12; b++)
        CHECK(fmt_edf_writer_annotate(w, 100 + b * 289, -1, b % 5 == 4 ? "V" : "N", err,
                                      sizeof err) == 0, "%s", err);
    CHECK(fmt_edf_writer_annotate(w, 3599, 0, "fin \xC3\xA9t\xC3\xA9 \xE4\xB8\xAD", err,
                                  sizeof err) == 0, "%s", err);
    CHECK(fmt_edf_writer_close(w, err, sizeof err) == 0, "%s", err);

    fmt_edf_annot_list l;
    CHECK(fmt_edf_read_annotations(path, &l, err, sizeof err) == 0, "%s", err);
    CHECK(l.count == 14, "%zu annotations", l.count);
    if (l.count == 14) {
        size_t k = 0;
        for (int b = 0; b < 12; b++, k++) {
            if (b == 6) {
                CHECK_NEAR(l.items[k].onset * 360, 1800, 1e-6, "AFIB onset (samples)");
                CHECK_NEAR(l.items[k].duration, 2.0, 1e-9, "AFIB duration");
                CHECK(!strcmp(l.items[k].text, "AFIB start"), "text %s", l.items[k].text);
                k++;
            }
            CHECK(llround(l.items[k].onset * 360) == 100 + b * 289, "beat %d at %.6f s", b,
                  l.items[k].onset);
            CHECK(l.items[k].duration == -1, "beat without duration: %g", l.items[k].duration);
            CHECK(!strcmp(l.items[k].text, b % 5 == 4 ? "V" : "N"), "beat text %s", l.items[k].text);
        }
        CHECK(llround(l.items[13].onset * 360) == 3599, "last onset %.6f", l.items[13].onset);
        CHECK(l.items[13].duration == 0, "zero duration kept: %g", l.items[13].duration);
        CHECK(!strcmp(l.items[13].text, "fin \xC3\xA9t\xC3\xA9 \xE4\xB8\xAD"), "utf-8 %s",
              l.items[13].text);
    }
    fmt_edf_annot_list_free(&l);
}

static void three_leads_in_odd_blocks_read_back_identical_and_the_last_record_is_padded(void)
{
    const char *dir = check_tmpdir("edf_partial");
    const char *path = tmp_path(dir, "p3.edf");
    const fmt_lead leads[3] = {{.name = "I", .uv_per_unit = 1},
                               {.name = "II", .uv_per_unit = 1},
                               {.name = "V2", .uv_per_unit = 1}};
    fmt_edf_writer_opts o = base_opts(3, leads, 500);
    long n = 500 * 7 + 123; /* 7 whole data records and a partial one */
    int32_t *x = write_file(path, &o, n, 0);
    fmt_record *r = NULL;
    CHECK(fmt_record_open(path, &r, err, sizeof err) == 0, "%s", err);
    if (!r || !x) goto out;
    CHECK(fmt_record_nsamples(r) == 500 * 8, "padded to whole records: %lld",
          (long long)fmt_record_nsamples(r));
    int32_t *y = read_all(r, 333);
    CHECK(memcmp(x, y, (size_t)n * 3 * sizeof *x) == 0, "samples differ");
    for (long f = n; f < 500 * 8; f++)
        for (int l = 0; l < 3; l++)
            CHECK(y[f * 3 + l] == x[(n - 1) * 3 + l], "padding repeats the last sample (frame %ld)", f);
    free(y);
out:
    fmt_record_free(r);
    free(x);
}

static void reading_in_any_block_size_and_seeking_give_the_same_frames(void)
{
    const char *dir = check_tmpdir("edf_seek");
    const char *path = tmp_path(dir, "s.edf");
    const fmt_lead leads[2] = {{.name = "I", .uv_per_unit = 1}, {.name = "II", .uv_per_unit = 1}};
    fmt_edf_writer_opts o = base_opts(2, leads, 250);
    long n = 250 * 60;
    int32_t *x = write_file(path, &o, n, 250);
    fmt_record *r = NULL;
    CHECK(fmt_record_open(path, &r, err, sizeof err) == 0, "%s", err);
    if (!r || !x) goto out;
    static const long blocks[] = {1, 17, 4095, 4096, 4097, 10000, 20000};
    for (size_t b = 0; b < sizeof blocks / sizeof *blocks; b++) {
        CHECK(fmt_record_seek(r, 0, err, sizeof err) == 0, "%s", err);
        int32_t *y = read_all(r, blocks[b]);
        CHECK(memcmp(x, y, (size_t)n * 2 * sizeof *x) == 0, "block %ld: samples differ", blocks[b]);
        free(y);
    }
    int32_t buf[2 * 300];
    static const int64_t at[] = {12345, 0, 14999, 4096, 7777};
    for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
        CHECK(fmt_record_seek(r, at[i], err, sizeof err) == 0, "%s", err);
        long want = n - at[i] < 300 ? (long)(n - at[i]) : 300;
        long got = fmt_record_read(r, buf, 300, err, sizeof err);
        CHECK(got == want, "read %ld at %lld", got, (long long)at[i]);
        CHECK(got > 0 && !memcmp(buf, x + at[i] * 2, (size_t)got * 2 * sizeof *x),
              "frames after seek to %lld differ", (long long)at[i]);
    }
    CHECK(fmt_record_seek(r, n, err, sizeof err) == 0, "seek to end: %s", err);
    CHECK(fmt_record_read(r, buf, 10, err, sizeof err) == 0, "read at end gives 0");
out:
    fmt_record_free(r);
    free(x);
}

static void non_integer_sample_rate_uses_a_multi_second_data_record(void)
{
    const char *dir = check_tmpdir("edf_rate");
    const fmt_lead lead = {.name = "II", .uv_per_unit = 1};
    fmt_edf_writer_opts o = base_opts(1, &lead, 128.5);
    int32_t *x = write_file(tmp_path(dir, "r.edf"), &o, 257 * 3, 100);
    fmt_record *r = NULL;
    CHECK(fmt_record_open(tmp_path(dir, "r.edf"), &r, err, sizeof err) == 0, "%s", err);
    if (r) {
        CHECK_NEAR(fmt_record_fs(r), 128.5, 1e-9, "fs");
        CHECK(fmt_record_nsamples(r) == 257 * 3, "nsamples %lld", (long long)fmt_record_nsamples(r));
        int32_t *y = read_all(r, 64);
        CHECK(x && !memcmp(x, y, 257 * 3 * sizeof *x), "samples differ");
        free(y);
    }
    fmt_record_free(r);
    free(x);
    o.fs = 1000.0 / 7.0 + 1e-4; /* no whole number of samples in 1..60 s */
    CHECK(fmt_edf_writer_create(tmp_path(dir, "bad.edf"), &o, err, sizeof err) == NULL,
          "odd rate accepted");
    CHECK(strstr(err, "bad.edf") && strstr(err, "sample rate"), "message: %s", err);
    CHECK(access(tmp_path(dir, "bad.edf"), F_OK) != 0, "no file left behind");
}

static void samples_outside_the_digital_range_are_clipped_and_counted(void)
{
    const char *dir = check_tmpdir("edf_clip");
    const char *path = tmp_path(dir, "c.edf");
    const fmt_lead lead = {.name = "II", .uv_per_unit = 5, .adc_min = -2048, .adc_max = 2047};
    fmt_edf_writer_opts o = base_opts(1, &lead, 100);
    fmt_edf_writer *w = fmt_edf_writer_create(path, &o, err, sizeof err);
    CHECK(w != NULL, "%s", err);
    if (!w) return;
    int32_t x[100];
    for (int i = 0; i < 100; i++) x[i] = i * 10 - 500;
    x[3] = 5000, x[4] = -70000, x[5] = 2047, x[6] = -2048, x[7] = INT32_MAX;
    CHECK(fmt_edf_writer_write(w, x, 100, err, sizeof err) == 0, "%s", err);
    CHECK(fmt_edf_writer_clipped(w) == 3, "clipped %lld", (long long)fmt_edf_writer_clipped(w));
    CHECK(fmt_edf_writer_frames(w) == 100, "frames %lld", (long long)fmt_edf_writer_frames(w));
    CHECK(fmt_edf_writer_close(w, err, sizeof err) == 0, "%s", err);
    fmt_record *r = NULL;
    CHECK(fmt_record_open(path, &r, err, sizeof err) == 0, "%s", err);
    if (!r) return;
    int32_t y[100];
    CHECK(fmt_record_read(r, y, 100, err, sizeof err) == 100, "%s", err);
    CHECK(y[3] == 2047 && y[4] == -2048 && y[5] == 2047 && y[6] == -2048 && y[7] == 2047,
          "clipped to the range: %d %d %d %d %d", y[3], y[4], y[5], y[6], y[7]);
    CHECK(y[0] == -500 && y[99] == 490, "others exact");
    fmt_record_free(r);
}

static void annotations_that_do_not_fit_are_reported_at_close(void)
{
    const char *dir = check_tmpdir("edf_overflow");
    const char *path = tmp_path(dir, "o.edf");
    const fmt_lead lead = {.name = "II", .uv_per_unit = 1};
    fmt_edf_writer_opts o = base_opts(1, &lead, 100);
    o.annotations_per_second = 2;
    fmt_edf_writer *w = fmt_edf_writer_create(path, &o, err, sizeof err);
    CHECK(w != NULL, "%s", err);
    if (!w) return;
    int32_t x[300] = {0};
    CHECK(fmt_edf_writer_write(w, x, 300, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < 9; i++)
        CHECK(fmt_edf_writer_annotate(w, i * 30, -1, "N", err, sizeof err) == 0, "%s", err);
    CHECK(fmt_edf_writer_close(w, err, sizeof err) == -1, "overflow not reported");
    CHECK(strstr(err, "o.edf") && strstr(err, "3 annotations did not fit"), "message: %s", err);
    fmt_edf_annot_list l;
    CHECK(fmt_edf_read_annotations(path, &l, err, sizeof err) == 0, "file still valid: %s", err);
    CHECK(l.count == 6, "6 of 9 kept: %zu", l.count);
    fmt_edf_annot_list_free(&l);
}

static void invalid_writer_arguments_are_errors_naming_the_file(void)
{
    const char *dir = check_tmpdir("edf_badopts");
    const char *path = tmp_path(dir, "bad.edf");
    fmt_lead lead = {.name = "ThisNameIsTooLong", .uv_per_unit = 1};
    fmt_edf_writer_opts o = base_opts(1, &lead, 100);
    CHECK(!fmt_edf_writer_create(path, &o, err, sizeof err) && strstr(err, "bad.edf") &&
              strstr(err, "12"), "long name: %s", err);
    snprintf(lead.name, sizeof lead.name, "II");
    lead.uv_per_unit = 0;
    CHECK(!fmt_edf_writer_create(path, &o, err, sizeof err) && strstr(err, "uv_per_unit"),
          "zero gain: %s", err);
    lead.uv_per_unit = 1;
    snprintf(o.patient.birthdate, sizeof o.patient.birthdate, "15.07.1950");
    CHECK(!fmt_edf_writer_create(path, &o, err, sizeof err) && strstr(err, "birthdate"),
          "bad birthdate: %s", err);
    o.patient.birthdate[0] = 0;
    o.patient.sex = 'x';
    CHECK(!fmt_edf_writer_create(path, &o, err, sizeof err) && strstr(err, "sex"), "bad sex: %s",
          err);
    o.patient.sex = 0;
    o.start_year = 1970, o.start_month = 1, o.start_day = 1;
    CHECK(!fmt_edf_writer_create(path, &o, err, sizeof err) && strstr(err, "1985"),
          "start before 1985: %s", err);
    CHECK(access(path, F_OK) != 0, "no file left behind");
    o.start_year = 0;
    CHECK(!fmt_edf_writer_create(tmp_path(dir, "no/such/dir.edf"), &o, err, sizeof err) &&
              strstr(err, "dir.edf"), "missing directory: %s", err);

    fmt_edf_writer *w = fmt_edf_writer_create(path, &o, err, sizeof err);
    CHECK(w != NULL, "%s", err);
    if (!w) return;
    CHECK(fmt_edf_writer_annotate(w, 0, -1, "0123456789012345678901234567890123456789X", err,
                                  sizeof err) == -1 && strstr(err, "bad.edf"), "41 bytes: %s", err);
    CHECK(fmt_edf_writer_annotate(w, 0, -1, "bad \xC3", err, sizeof err) == -1, "invalid UTF-8");
    CHECK(fmt_edf_writer_annotate(w, 0, -1, "tab\there", err, sizeof err) == -1, "control char");
    CHECK(fmt_edf_writer_annotate(w, 0, -1, "", err, sizeof err) == -1, "empty text");
    CHECK(fmt_edf_writer_annotate(w, -1, -1, "N", err, sizeof err) == -1, "negative onset");
    CHECK(fmt_edf_writer_close(w, err, sizeof err) == -1 && strstr(err, "no samples"),
          "closing without samples: %s", err);
    CHECK(access(path, F_OK) != 0, "empty writer leaves no file");
}

static void writing_to_a_full_disk_is_an_error_at_close(void)
{
    const fmt_lead lead = {.name = "II", .uv_per_unit = 1};
    fmt_edf_writer_opts o = base_opts(1, &lead, 100);
    CHECK(access("/dev/full", W_OK) == 0, "/dev/full is needed for this test");
    fmt_edf_writer *w = fmt_edf_writer_create("/dev/full", &o, err, sizeof err);
    CHECK(w != NULL, "%s", err);
    if (!w) return;
    int32_t x[100] = {0};
    int failed = 0;
    for (int i = 0; i < 50 && !failed; i++) failed = fmt_edf_writer_write(w, x, 100, err, sizeof err) != 0;
    int rc = fmt_edf_writer_close(w, err, sizeof err);
    CHECK(failed || rc == -1, "a full disk went unnoticed");
    CHECK(strstr(err, "/dev/full") != NULL, "message names the file: %s", err);
}

static void missing_empty_and_non_edf_files_are_errors_naming_the_file(void)
{
    const char *dir = check_tmpdir("edf_bad");
    check_open_fails(tmp_path(dir, "missing.edf"), "No such file");
    write_bytes(tmp_path(dir, "empty.edf"), "", 0);
    check_open_fails(tmp_path(dir, "empty.edf"), "empty");
    char junk[3000];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)('a' + i % 26);
    write_bytes(tmp_path(dir, "junk.edf"), junk, sizeof junk);
    check_open_fails(tmp_path(dir, "junk.edf"), "not an EDF or BDF file");
    write_bytes(tmp_path(dir, "short.edf"), "0       X", 9);
    check_open_fails(tmp_path(dir, "short.edf"), "too short");
    fmt_edf_annot_list l;
    CHECK(fmt_edf_read_annotations(tmp_path(dir, "junk.edf"), &l, err, sizeof err) == -1 &&
              strstr(err, "junk.edf"), "annotations of junk: %s", err);
    CHECK(l.count == 0 && l.items == NULL, "empty list on failure");
}

/* Writes a small valid 1-lead file and returns its bytes. */
static unsigned char *small_file(const char *path, size_t *n)
{
    const fmt_lead lead = {.name = "II", .uv_per_unit = 1};
    fmt_edf_writer_opts o = base_opts(1, &lead, 100);
    free(write_file(path, &o, 500, 50));
    return read_bytes(path, n);
}

static void truncated_file_and_lying_record_count_are_errors_naming_the_file(void)
{
    const char *dir = check_tmpdir("edf_trunc");
    size_t n;
    unsigned char *b = small_file(tmp_path(dir, "ok.edf"), &n);
    /* 1 lead of 100 samples + 5 annotation signals of 114 bytes: 770-byte records after 1792 */
    size_t hdr = 256 * 7, rec = 200 + 5 * 114;
    CHECK(n == hdr + 5 * rec, "layout assumption: %zu bytes", n);
    write_bytes(tmp_path(dir, "cut.edf"), b, hdr + 2 * rec + rec / 2);
    check_open_fails(tmp_path(dir, "cut.edf"), "truncated");
    memcpy(b + 236, "9       ", 8);
    write_bytes(tmp_path(dir, "more.edf"), b, n);
    check_open_fails(tmp_path(dir, "more.edf"), "9 data records");
    memcpy(b + 236, "3       ", 8);
    write_bytes(tmp_path(dir, "fewer.edf"), b, n);
    check_open_fails(tmp_path(dir, "fewer.edf"), "record count is wrong");
    free(b);
}

static void edf_plus_d_file_is_rejected_as_unsupported(void)
{
    const char *dir = check_tmpdir("edf_d");
    size_t n;
    unsigned char *b = small_file(tmp_path(dir, "c.edf"), &n);
    CHECK(!memcmp(b + 192, "EDF+C", 5), "writer makes EDF+C");
    memcpy(b + 192, "EDF+D", 5);
    write_bytes(tmp_path(dir, "disc.edf"), b, n);
    check_open_fails(tmp_path(dir, "disc.edf"), "EDF+D (discontinuous) files are not supported");
    free(b);
}

static void annotation_only_file_has_no_ecg_leads_but_its_annotations_read(void)
{
    char path[1024];
    check_data_path(path, sizeof path, "edf/test_edfann.edf");
    check_open_fails(path, "no ECG leads");
    fmt_edf_annot_list l;
    CHECK(fmt_edf_read_annotations(path, &l, err, sizeof err) == 0, "%s", err);
    CHECK(l.count == 856, "%zu annotations", l.count);
    if (l.count > 2) {
        CHECK(l.items[0].onset == 0 && l.items[0].duration == 30, "first %g %g", l.items[0].onset,
              l.items[0].duration);
        CHECK(!strcmp(l.items[0].text, "Sleep stage W"), "text %s", l.items[0].text);
        CHECK_NEAR(l.items[2].onset, 33.43, 1e-9, "lights off onset");
        CHECK(!strcmp(l.items[2].text, "Lights off@@EEG F4-A1"), "text %s", l.items[2].text);
    }
    for (size_t i = 1; i < l.count; i++)
        CHECK(l.items[i].onset >= l.items[i - 1].onset, "sorted at %zu", i);
    fmt_edf_annot_list_free(&l);
}

static void utf8_annotations_and_a_subsecond_start_read_from_reference_files(void)
{
    char path[1024];
    fmt_edf_annot_list l;
    check_data_path(path, sizeof path, "edf/test_utf8.edf");
    CHECK(fmt_edf_read_annotations(path, &l, err, sizeof err) == 0, "%s", err);
    CHECK(l.count == 5, "%zu annotations", l.count);
    if (l.count == 5) {
        CHECK(!strcmp(l.items[2].text, "\xE4\xB8\xAD\xE6\x96\x87\xE6\xB5\x8B\xE8\xAF\x95\xE5\x85"
                                       "\xAB\xE4\xB8\xAA\xE5\xAD\x97"),
              "UTF-8 text %s", l.items[2].text);
        CHECK_NEAR(l.items[2].onset, 119.6054688, 1e-9, "onset");
        CHECK(l.items[2].duration == -1, "no duration");
    }
    fmt_edf_annot_list_free(&l);

    check_data_path(path, sizeof path, "edf/test_subsecond.edf");
    CHECK(fmt_edf_read_annotations(path, &l, err, sizeof err) == 0, "%s", err);
    CHECK(l.count == 4 && !strcmp(l.items[0].text, "XLSpike"), "%zu annotations", l.count);
    fmt_edf_annot_list_free(&l);
    fmt_record *r = NULL;
    CHECK(fmt_record_open(path, &r, err, sizeof err) == 0, "%s", err);
    if (!r) return;
    /* one EEG signal (Fp1, uV): no ECG-like label, so the voltage signals are taken */
    CHECK(fmt_record_nleads(r) == 1 && !strcmp(fmt_record_lead(r, 0)->name, "Fp1"), "lead %s",
          fmt_record_lead(r, 0)->name);
    CHECK_NEAR(fmt_record_fs(r), 128, 0, "fs");
    CHECK(fmt_record_nsamples(r) == 89344, "nsamples %lld", (long long)fmt_record_nsamples(r));
    const fmt_patient *p = fmt_record_patient(r);
    CHECK(p->sex == 'F' && !strcmp(p->birthdate, "1998-01-20") && p->age == 22,
          "patient %c %s %d", p->sex ? p->sex : '-', p->birthdate, p->age);
    /* its physical range is inverted (8711..-8711): µV from the record equal EDFlib's own */
    const fmt_lead *ld = fmt_record_lead(r, 0);
    CHECK(ld->uv_per_unit > 0, "uv_per_unit %g stays positive", ld->uv_per_unit);
    int32_t x[1000];
    CHECK(fmt_record_read(r, x, 1000, err, sizeof err) == 1000, "%s", err);
    const fmt_lead lead = *ld;
    ld = &lead;
    fmt_record_free(r); /* EDFlib opens a path once at a time */
    r = NULL;
    struct edf_hdr_struct *h = malloc(sizeof *h);
    CHECK(edfopen_file_readonly(path, h, EDFLIB_DO_NOT_READ_ANNOTATIONS) == 0, "EDFlib open");
    double phys[1000];
    CHECK(edfread_physical_samples(h->handle, 0, 1000, phys) == 1000, "EDFlib read");
    double worst = 0;
    for (int i = 0; i < 1000; i++) {
        double uv = (x[i] - ld->baseline) * ld->uv_per_unit;
        if (fabs(uv - phys[i]) > worst) worst = fabs(uv - phys[i]);
    }
    CHECK(worst < 1e-6, "µV differ from EDFlib's physical values by %g", worst);
    edfclose_file(h->handle);
    free(h);
    fmt_record_free(r);
}

static void test_generator_edf_names_its_non_ascii_header_byte(void)
{
    char path[1024];
    check_data_path(path, sizeof path, "edf/test_generator_2.edf");
    check_open_fails(path, "physical dimension of signal 8");
}

/* The same file with its two 0xB0 ('°') header bytes made ASCII reads like its WFDB twin:
 * signal 3 ("ECG", 200 Hz) is the only ECG lead; its samples equal the .dat file's. */
static void test_generator_edf_made_ascii_matches_its_wfdb_copy(void)
{
    const char *dir = check_tmpdir("edf_generator");
    char src[1024], dat[1024];
    check_data_path(src, sizeof src, "edf/test_generator_2.edf");
    check_data_path(dat, sizeof dat, "edf/test_generator_2.dat");
    size_t n, nd;
    unsigned char *b = read_bytes(src, &n);
    for (size_t i = 0; i < 256 * 13 && i < n; i++)
        if (b[i] == 0xB0) b[i] = 'd';
    const char *path = tmp_path(dir, "gen.edf");
    write_bytes(path, b, n);
    free(b);
    unsigned char *d = read_bytes(dat, &nd);
    fmt_record *r = NULL;
    CHECK(fmt_record_open(path, &r, err, sizeof err) == 0, "%s", err);
    if (r) {
        CHECK(fmt_record_nleads(r) == 1 && !strcmp(fmt_record_lead(r, 0)->name, "ECG"), "leads");
        CHECK_NEAR(fmt_record_fs(r), 200, 0, "fs");
        CHECK(fmt_record_nsamples(r) == 120000, "nsamples %lld", (long long)fmt_record_nsamples(r));
        /* physical -1000..1000 uV over -32768..32767 (the .hea says 32.7675 adu/uV) */
        CHECK_NEAR(fmt_record_lead(r, 0)->uv_per_unit, 2000.0 / 65535, 1e-12, "uv_per_unit");
        CHECK_NEAR(fmt_record_lead(r, 0)->baseline, -0.5, 1e-6, "baseline");
        int32_t *y = read_all(r, 4096);
        /* .dat: 600 frames of 11 signals x 200 samples plus 51 annotation samples, format 16 */
        long bad = 0, frame = 11 * 200 + 51;
        for (long f = 0; f < 120000 && nd == (size_t)(600 * frame * 2); f++) {
            size_t off = (size_t)((f / 200) * frame + 3 * 200 + f % 200) * 2;
            int16_t v = (int16_t)(d[off] | d[off + 1] << 8);
            bad += y[f] != v;
        }
        CHECK(nd == (size_t)(600 * frame * 2) && bad == 0, "%ld samples differ from the .dat", bad);
        free(y);
    }
    fmt_record_free(r);
    free(d);
    remove(path);
}

/* EDFlib written directly: signals at several rates, units and labels. */
static void write_mixed(const char *path, int ns, const char *const *labels, const char *const *dims,
                        const int *rates)
{
    int h = edfopen_file_writeonly(path, EDFLIB_FILETYPE_EDFPLUS, ns);
    CHECK(h >= 0, "EDFlib cannot create %s", path);
    if (h < 0) return;
    for (int s = 0; s < ns; s++) {
        edf_set_samplefrequency(h, s, rates[s]);
        edf_set_digital_minimum(h, s, -1000);
        edf_set_digital_maximum(h, s, 1000);
        edf_set_physical_minimum(h, s, -2);
        edf_set_physical_maximum(h, s, 2);
        edf_set_label(h, s, labels[s]);
        edf_set_physical_dimension(h, s, dims[s]);
    }
    int buf[1000];
    for (int rec = 0; rec < 3; rec++)
        for (int s = 0; s < ns; s++) {
            for (int i = 0; i < rates[s]; i++) buf[i] = s * 100 + i % 100;
            CHECK(edfwrite_digital_samples(h, buf) == 0, "EDFlib write");
        }
    CHECK(edfclose_file(h) == 0, "EDFlib close");
}

static void ecg_leads_are_the_ecg_signals_at_their_highest_rate(void)
{
    const char *dir = check_tmpdir("edf_mixed");
    const char *labels[] = {"Resp", "ECG I", "EEG Fp1", "EKG II", "ECG aux", " ", "V5"};
    const char *dims[] = {"Ohm", "uV", "uV", "mV", "uV", "uV", "MV"};
    const int rates[] = {25, 500, 256, 500, 250, 500, 500};
    write_mixed(tmp_path(dir, "m.edf"), 7, labels, dims, rates);
    fmt_record *r = NULL;
    CHECK(fmt_record_open(tmp_path(dir, "m.edf"), &r, err, sizeof err) == 0, "%s", err);
    if (r) {
        CHECK(fmt_record_nleads(r) == 3, "leads: %d", fmt_record_nleads(r));
        CHECK(!strcmp(fmt_record_lead(r, 0)->name, "I") && !strcmp(fmt_record_lead(r, 1)->name, "II") &&
                  !strcmp(fmt_record_lead(r, 2)->name, "V5"),
              "names %s %s %s", fmt_record_lead(r, 0)->name, fmt_record_lead(r, 1)->name,
              fmt_record_lead(r, 2)->name);
        CHECK_NEAR(fmt_record_fs(r), 500, 0, "fs");
        CHECK_NEAR(fmt_record_lead(r, 0)->uv_per_unit, 4.0 / 2000, 1e-12, "uV lead");
        CHECK_NEAR(fmt_record_lead(r, 1)->uv_per_unit, 4.0 / 2000 * 1000, 1e-9, "mV lead in µV");
        CHECK_NEAR(fmt_record_lead(r, 1)->baseline, 0, 1e-9, "baseline");
        CHECK(!strcmp(fmt_record_format(r), "EDF+"), "format");
        int32_t x[3 * 3];
        CHECK(fmt_record_read(r, x, 3, err, sizeof err) == 3, "%s", err);
        CHECK(x[0] == 100 && x[1] == 300 && x[2] == 600 && x[3] == 101 && x[8] == 602,
              "interleaved: %d %d %d %d %d", x[0], x[1], x[2], x[3], x[8]);
    }
    fmt_record_free(r);

    /* no ECG-like label: the voltage signals at the rate most of them share; empty label -> sigN */
    const char *l2[] = {"Fp1", "Fp2", "  ", "Temp"};
    const char *d2[] = {"uV", "uV", "uV", "degC"};
    const int r2[] = {256, 512, 256, 256};
    write_mixed(tmp_path(dir, "eeg.edf"), 4, l2, d2, r2);
    CHECK(fmt_record_open(tmp_path(dir, "eeg.edf"), &r, err, sizeof err) == 0, "%s", err);
    if (r) {
        CHECK(fmt_record_nleads(r) == 2 && !strcmp(fmt_record_lead(r, 0)->name, "Fp1") &&
                  !strcmp(fmt_record_lead(r, 1)->name, "sig2"),
              "leads %d", fmt_record_nleads(r));
        CHECK_NEAR(fmt_record_fs(r), 256, 0, "fs");
    }
    fmt_record_free(r);

    const char *l3[] = {"Temp", "Resp"};
    const char *d3[] = {"degC", "Ohm"};
    const int r3[] = {10, 10};
    write_mixed(tmp_path(dir, "novolt.edf"), 2, l3, d3, r3);
    check_open_fails(tmp_path(dir, "novolt.edf"), "no ECG leads");
}

static void the_same_file_opens_many_times_and_too_many_open_files_is_a_clear_error(void)
{
    const char *dir = check_tmpdir("edf_many");
    char name[32];
    size_t n;
    unsigned char *b = small_file(tmp_path(dir, "f0.edf"), &n);
    for (int i = 1; i < 5; i++) {
        snprintf(name, sizeof name, "f%d.edf", i);
        write_bytes(tmp_path(dir, name), b, n);
    }
    free(b);
    fmt_record *r[80] = {0};
    int opened = 0;
    for (int i = 0; i < 80; i++) {
        snprintf(name, sizeof name, "f%d.edf", i % 5);
        if (fmt_record_open(tmp_path(dir, name), &r[i], err, sizeof err) != 0) break;
        opened++;
    }
    CHECK(opened == 64, "opened %d records (EDFlib's limit is 64)", opened);
    CHECK(strstr(err, "too many EDF files open") && strstr(err, ".edf"), "message: %s", err);
    int32_t x[10], y[10];
    CHECK(fmt_record_read(r[0], x, 10, err, sizeof err) == 10 &&
              fmt_record_read(r[5], y, 10, err, sizeof err) == 10 && !memcmp(x, y, sizeof x),
          "two records on one file read the same");
    for (int i = 0; i < 80; i++) fmt_record_free(r[i]);
    fmt_record *again = NULL;
    CHECK(fmt_record_open(tmp_path(dir, "f0.edf"), &again, err, sizeof err) == 0,
          "files are released on free: %s", err);
    fmt_record_free(again);
}

static void bdf_files_read_24_bit_samples(void)
{
    const char *dir = check_tmpdir("edf_bdf");
    const char *path = tmp_path(dir, "b.bdf");
    int h = edfopen_file_writeonly(path, EDFLIB_FILETYPE_BDFPLUS, 2);
    CHECK(h >= 0, "EDFlib cannot create %s", path);
    if (h < 0) return;
    for (int s = 0; s < 2; s++) {
        edf_set_samplefrequency(h, s, 256);
        edf_set_digital_minimum(h, s, -8388608);
        edf_set_digital_maximum(h, s, 8388607);
        edf_set_physical_minimum(h, s, -262144);
        edf_set_physical_maximum(h, s, 262143.96875);
        edf_set_label(h, s, s ? "EKG V2" : "ECG V1");
        edf_set_physical_dimension(h, s, "uV");
    }
    int buf[256];
    for (int rec = 0; rec < 4; rec++)
        for (int s = 0; s < 2; s++) {
            for (int i = 0; i < 256; i++) buf[i] = (rec * 256 + i) * 8191 * (s ? -1 : 1);
            CHECK(edfwrite_digital_samples(h, buf) == 0, "EDFlib write");
        }
    CHECK(edfclose_file(h) == 0, "EDFlib close");
    size_t n;
    unsigned char *b = read_bytes(path, &n);
    memcpy(b + 192, "     ", 5); /* BDF+C -> plain BDF; its annotation signal is then skipped */
    write_bytes(tmp_path(dir, "plain.bdf"), b, n);
    free(b);
    static const char *const files[2] = {"b.bdf", "plain.bdf"};
    static const char *const formats[2] = {"BDF+", "BDF"};
    for (int k = 0; k < 2; k++) {
        fmt_record *r = NULL;
        CHECK(fmt_record_open(tmp_path(dir, files[k]), &r, err, sizeof err) == 0, "%s", err);
        if (!r) continue;
        CHECK(!strcmp(fmt_record_format(r), formats[k]), "format %s", fmt_record_format(r));
        CHECK(fmt_record_nleads(r) == 2 && !strcmp(fmt_record_lead(r, 1)->name, "V2"), "leads");
        CHECK(fmt_record_lead(r, 0)->adc_min == -8388608 && fmt_record_lead(r, 0)->adc_max == 8388607,
              "24-bit range");
        CHECK_NEAR(fmt_record_lead(r, 0)->uv_per_unit, 1.0 / 32, 1e-6 / 32, "uv_per_unit (8-char header fields)");
        int32_t *y = read_all(r, 100);
        long bad = 0;
        for (long f = 0; f < 1024; f++) bad += y[2 * f] != f * 8191 || y[2 * f + 1] != -f * 8191;
        CHECK(bad == 0, "%ld samples differ", bad);
        free(y);
        fmt_record_free(r);
    }
}

typedef struct {
    const char *path;
    int failures;
} thread_job;

static void *open_read_close_many_times(void *arg)
{
    thread_job *j = arg;
    char e[FMT_ERRLEN];
    for (int i = 0; i < 40; i++) {
        fmt_record *r = NULL;
        int32_t x[64];
        if (fmt_record_open(j->path, &r, e, sizeof e) || fmt_record_read(r, x, 32, e, sizeof e) != 32)
            j->failures++;
        fmt_record_free(r);
    }
    return NULL;
}

static void records_open_and_close_safely_from_many_threads(void)
{
    const char *dir = check_tmpdir("edf_threads");
    size_t n;
    free(small_file(tmp_path(dir, "t.edf"), &n));
    pthread_t t[4];
    thread_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (thread_job){tmp_path(dir, "t.edf"), 0};
        pthread_create(&t[i], NULL, open_read_close_many_times, &jobs[i]);
    }
    int failures = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        failures += jobs[i].failures;
    }
    CHECK(failures == 0, "%d opens or reads failed", failures);
}

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void reading_a_long_12_lead_file_keeps_memory_bounded(void)
{
    const char *dir = check_tmpdir("edf_long");
    const char *path = tmp_path(dir, "long.edf");
    fmt_lead leads[12];
    memset(leads, 0, sizeof leads);
    static const char *names[12] = {"I", "II", "III", "aVR", "aVL", "aVF",
                                    "V1", "V2", "V3", "V4", "V5", "V6"};
    for (int l = 0; l < 12; l++) {
        snprintf(leads[l].name, sizeof leads[l].name, "%s", names[l]);
        leads[l].uv_per_unit = 1;
    }
    fmt_edf_writer_opts o = base_opts(12, leads, 500);
    long seconds = 600, frames = 0;
    int32_t block[500 * 12];
    long rss0 = max_rss_kb();
    fmt_edf_writer *w = fmt_edf_writer_create(path, &o, err, sizeof err);
    CHECK(w != NULL, "%s", err);
    if (!w) return;
    for (long s = 0; s < seconds; s++) {
        for (int i = 0; i < 500 * 12; i++) block[i] = (int32_t)((s * 500 + i / 12) * (i % 12 + 1) % 30000);
        CHECK(fmt_edf_writer_write(w, block, 500, err, sizeof err) == 0, "%s", err);
        CHECK(fmt_edf_writer_annotate(w, s * 500 + 250, -1, "N", err, sizeof err) == 0, "%s", err);
    }
    CHECK(fmt_edf_writer_close(w, err, sizeof err) == 0, "%s", err);
    fmt_record *r = NULL;
    CHECK(fmt_record_open(path, &r, err, sizeof err) == 0, "%s", err);
    if (!r) return;
    long bad = 0;
    long got;
    while ((got = fmt_record_read(r, block, 500, err, sizeof err)) > 0) {
        for (int i = 0; i < got * 12; i++)
            bad += block[i] != (int32_t)((frames + i / 12) * (i % 12 + 1) % 30000);
        frames += got;
    }
    CHECK(got == 0, "%s", err);
    CHECK(frames == seconds * 500 && bad == 0, "%ld frames, %ld wrong", frames, bad);
    fmt_record_free(r);
    long grew = max_rss_kb() - rss0;
    /* the whole signal would be 14 MB as int32; a bounded reader and writer stay far below */
    CHECK(grew < 6 * 1024, "peak memory grew by %ld kB", grew);
    remove(path);
}

int main(void)
{
    RUN(written_file_reads_back_bit_identical_with_names_rate_scaling_and_patient);
    RUN(annotations_round_trip_with_onsets_durations_and_utf8_text);
    RUN(three_leads_in_odd_blocks_read_back_identical_and_the_last_record_is_padded);
    RUN(reading_in_any_block_size_and_seeking_give_the_same_frames);
    RUN(non_integer_sample_rate_uses_a_multi_second_data_record);
    RUN(samples_outside_the_digital_range_are_clipped_and_counted);
    RUN(annotations_that_do_not_fit_are_reported_at_close);
    RUN(invalid_writer_arguments_are_errors_naming_the_file);
    RUN(writing_to_a_full_disk_is_an_error_at_close);
    RUN(missing_empty_and_non_edf_files_are_errors_naming_the_file);
    RUN(truncated_file_and_lying_record_count_are_errors_naming_the_file);
    RUN(edf_plus_d_file_is_rejected_as_unsupported);
    RUN(annotation_only_file_has_no_ecg_leads_but_its_annotations_read);
    RUN(utf8_annotations_and_a_subsecond_start_read_from_reference_files);
    RUN(test_generator_edf_names_its_non_ascii_header_byte);
    RUN(test_generator_edf_made_ascii_matches_its_wfdb_copy);
    RUN(ecg_leads_are_the_ecg_signals_at_their_highest_rate);
    RUN(the_same_file_opens_many_times_and_too_many_open_files_is_a_clear_error);
    RUN(bdf_files_read_24_bit_samples);
    RUN(records_open_and_close_safely_from_many_threads);
    RUN(reading_a_long_12_lead_file_keeps_memory_bounded);
    return check_report();
}
