/* test_wfdb.c — specification of the WFDB record reader on PhysioNet records and broken inputs. */
#include "check.h"
#include "record.h"

#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char err[FMT_ERRLEN];

static fmt_record *open_data(const char *rel)
{
    char path[1024];
    fmt_record *r = NULL;
    err[0] = '\0';
    if (fmt_record_open(check_data_path(path, sizeof path, rel), &r, err, sizeof err)) {
        CHECK(0, "cannot open %s: %s", rel, err);
        return NULL;
    }
    return r;
}

/* Reads the whole record into a malloc'd interleaved array. */
static int32_t *read_all(fmt_record *r)
{
    int64_t n = fmt_record_nsamples(r);
    int nl = fmt_record_nleads(r);
    int32_t *buf = malloc((size_t)(n > 0 ? n : 1) * (size_t)nl * sizeof *buf);
    long got = fmt_record_read(r, buf, (long)n, err, sizeof err);
    CHECK(got == n, "read all: %ld of %lld frames (%s)", got, (long long)n, err);
    return buf;
}

/* WFDB's header checksum: the 16-bit sum of all of a signal's samples. */
static int16_t checksum(const int32_t *buf, int64_t n, int nl, int lead)
{
    uint32_t s = 0;
    for (int64_t i = 0; i < n; i++) s += (uint32_t)buf[i * nl + lead];
    return (int16_t)(uint16_t)(s & 0xffff);
}

static void write_bytes(const char *dir, const char *name, const void *data, size_t len)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    fclose(f);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    write_bytes(dir, name, text, strlen(text));
}

/* Opens DIR/NAME; returns the record or NULL with err set. */
static fmt_record *open_tmp(const char *dir, const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fmt_record *r = NULL;
    err[0] = '\0';
    if (fmt_record_open(path, &r, err, sizeof err)) return NULL;
    return r;
}

/* Expects opening DIR/NAME to fail with a message holding every one of WANT1, WANT2. */
static void expect_open_error(const char *dir, const char *name, const char *want1, const char *want2)
{
    fmt_record *r = open_tmp(dir, name);
    CHECK(r == NULL, "opening %s should fail (%s / %s)", name, want1, want2);
    fmt_record_free(r);
    CHECK(strstr(err, want1) != NULL, "message '%s' lacks '%s'", err, want1);
    if (want2) CHECK(strstr(err, want2) != NULL, "message '%s' lacks '%s'", err, want2);
}

/* Packs samples into format 212 (the last odd sample in 2 bytes, as WFDB writes it). */
static size_t pack212(const int *v, size_t n, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 2) {
        unsigned a = (unsigned)v[i] & 0xfff, b = i + 1 < n ? (unsigned)v[i + 1] & 0xfff : 0;
        out[o++] = (uint8_t)(a & 0xff);
        out[o++] = (uint8_t)((a >> 8) | (b >> 8) << 4);
        if (i + 1 < n) out[o++] = (uint8_t)(b & 0xff);
    }
    return o;
}

/* ---- real records ---------------------------------------------------------------------- */

static void mitdb_100_has_leads_mlii_and_v5_at_360_hz_with_650000_samples(void)
{
    fmt_record *r = open_data("mitdb/100");
    if (!r) return;
    CHECK(fmt_record_nleads(r) == 2, "nleads %d", fmt_record_nleads(r));
    CHECK_NEAR(fmt_record_fs(r), 360, 0, "fs");
    CHECK(fmt_record_nsamples(r) == 650000, "nsamples %lld", (long long)fmt_record_nsamples(r));
    CHECK(!strcmp(fmt_record_lead(r, 0)->name, "MLII"), "lead 0 '%s'", fmt_record_lead(r, 0)->name);
    CHECK(!strcmp(fmt_record_lead(r, 1)->name, "V5"), "lead 1 '%s'", fmt_record_lead(r, 1)->name);
    for (int l = 0; l < 2; l++) {
        const fmt_lead *ld = fmt_record_lead(r, l);
        CHECK_NEAR(ld->uv_per_unit, 5, 1e-12, "µV per unit (gain 200/mV)");
        CHECK_NEAR(ld->baseline, 1024, 0, "baseline is the ADC zero");
        CHECK(ld->adc_min == 0 && ld->adc_max == 2047, "11-bit ADC around 1024: %d..%d", ld->adc_min,
              ld->adc_max);
    }
    CHECK(!strcmp(fmt_record_name(r), "100"), "name '%s'", fmt_record_name(r));
    CHECK(!strcmp(fmt_record_format(r), "WFDB"), "format '%s'", fmt_record_format(r));
    const fmt_patient *p = fmt_record_patient(r);
    CHECK(p->age == 69 && p->sex == 'M', "MIT-BIH comment '# 69 M ...': age %d sex %c", p->age,
          p->sex ? p->sex : '0');
    fmt_record_free(r);
}

static void mitdb_100_opens_from_the_hea_path_too(void)
{
    fmt_record *r = open_data("mitdb/100.hea");
    if (!r) return;
    CHECK(fmt_record_nsamples(r) == 650000 && !strcmp(fmt_record_name(r), "100"), "100.hea");
    fmt_record_free(r);
}

static void mitdb_100_samples_match_the_file_bytes(void)
{
    fmt_record *r = open_data("mitdb/100");
    if (!r) return;
    int32_t b[8];
    CHECK(fmt_record_read(r, b, 4, err, sizeof err) == 4, "read 4: %s", err);
    for (int i = 0; i < 4; i++)
        CHECK(b[2 * i] == 995 && b[2 * i + 1] == 1011, "frame %d: %d %d", i, b[2 * i], b[2 * i + 1]);
    /* Values decoded independently from 100.dat's bytes. */
    CHECK(!fmt_record_seek(r, 12345, err, sizeof err), "seek: %s", err);
    CHECK(fmt_record_read(r, b, 3, err, sizeof err) == 3, "read: %s", err);
    CHECK(b[0] == 1010 && b[1] == 1052 && b[2] == 1041 && b[3] == 1068 && b[4] == 1084 && b[5] == 1093,
          "frames 12345..12347: %d %d %d %d %d %d", b[0], b[1], b[2], b[3], b[4], b[5]);
    CHECK(!fmt_record_seek(r, 649998, err, sizeof err), "seek: %s", err);
    CHECK(fmt_record_read(r, b, 4, err, sizeof err) == 2, "only 2 frames remain");
    CHECK(b[0] == 871 && b[1] == 957 && b[2] == 768 && b[3] == 1024, "last frames: %d %d %d %d", b[0],
          b[1], b[2], b[3]);
    CHECK(fmt_record_read(r, b, 4, err, sizeof err) == 0, "read at the end returns 0");
    fmt_record_free(r);
}

static void mitdb_100_samples_sum_to_the_header_checksums(void)
{
    fmt_record *r = open_data("mitdb/100");
    if (!r) return;
    int32_t *all = read_all(r);
    CHECK(checksum(all, 650000, 2, 0) == -22131, "MLII checksum %d", checksum(all, 650000, 2, 0));
    CHECK(checksum(all, 650000, 2, 1) == 20052, "V5 checksum %d", checksum(all, 650000, 2, 1));
    free(all);
    fmt_record_free(r);
}

static void reading_in_blocks_of_odd_sizes_equals_reading_all_at_once(void)
{
    static const char *recs[] = {"mitdb/100", "ptbdb/s0010_re", "edf/test_generator_2"};
    for (size_t k = 0; k < sizeof recs / sizeof *recs; k++) {
        fmt_record *r = open_data(recs[k]);
        if (!r) continue;
        int nl = fmt_record_nleads(r);
        int64_t n = fmt_record_nsamples(r);
        int32_t *all = read_all(r);
        int32_t *blk = malloc((size_t)n * (size_t)nl * sizeof *blk);
        CHECK(!fmt_record_seek(r, 0, err, sizeof err), "rewind: %s", err);
        static const long sizes[] = {1, 7, 333, 4097, 2, 65537, 3};
        int64_t pos = 0;
        for (int i = 0; pos < n; i++) {
            long want = sizes[i % 7];
            long got = fmt_record_read(r, blk + pos * nl, want, err, sizeof err);
            if (got <= 0) {
                CHECK(0, "%s: read at %lld returned %ld (%s)", recs[k], (long long)pos, got, err);
                break;
            }
            pos += got;
        }
        CHECK(pos == n, "%s: block reads gave %lld of %lld frames", recs[k], (long long)pos,
              (long long)n);
        CHECK(!memcmp(all, blk, (size_t)n * (size_t)nl * sizeof *all), "%s: block reads differ",
              recs[k]);
        free(blk);
        free(all);
        fmt_record_free(r);
    }
}

static void read_all_reads_from_the_position_to_the_end(void)
{
    fmt_record *r = open_data("mitdb/100");
    if (!r) return;
    int nl = fmt_record_nleads(r);
    int64_t n = fmt_record_nsamples(r), got = -1;
    int32_t *all = read_all(r), *rest = NULL;
    CHECK(!fmt_record_seek(r, 1000, err, sizeof err), "seek: %s", err);
    CHECK(fmt_record_read_all(r, &rest, &got, err, sizeof err) == 0, "%s", err);
    CHECK(got == n - 1000, "from frame 1000: %lld frames of %lld", (long long)got, (long long)n);
    CHECK(rest && !memcmp(rest, all + 1000 * nl, (size_t)(n - 1000) * (size_t)nl * sizeof *all),
          "the rest equals the whole record's tail");
    free(rest);
    CHECK(fmt_record_read_all(r, &rest, &got, err, sizeof err) == 0 && got == 0, "at the end: %lld frames",
          (long long)got);
    free(rest);
    free(all);
    fmt_record_free(r);
}

static void seeking_anywhere_reads_what_sequential_reading_read(void)
{
    static const char *recs[] = {"mitdb/100", "ptbdb/s0010_re", "edf/test_generator_2",
                                 "cinc2021/cpsc_2018/A0001"};
    for (size_t k = 0; k < sizeof recs / sizeof *recs; k++) {
        fmt_record *r = open_data(recs[k]);
        if (!r) continue;
        int nl = fmt_record_nleads(r);
        int64_t n = fmt_record_nsamples(r);
        int32_t *all = read_all(r);
        int32_t b[64 * 5];
        int64_t targets[] = {n - 1, 0, 1, 3, n / 2 + 1, 12345 % n, n - 5, 199, 201, 7, 6, 5};
        for (size_t t = 0; t < sizeof targets / sizeof *targets; t++) {
            int64_t f = targets[t];
            CHECK(!fmt_record_seek(r, f, err, sizeof err), "%s: seek %lld: %s", recs[k], (long long)f,
                  err);
            long want = n - f < 5 ? (long)(n - f) : 5;
            long got = fmt_record_read(r, b, 5, err, sizeof err);
            CHECK(got == want, "%s: read after seek to %lld gave %ld", recs[k], (long long)f, got);
            if (got == want)
                CHECK(!memcmp(b, all + f * nl, (size_t)got * (size_t)nl * sizeof *b),
                      "%s: frames at %lld differ after seeking", recs[k], (long long)f);
        }
        CHECK(!fmt_record_seek(r, n, err, sizeof err), "seek to the end: %s", err);
        CHECK(fmt_record_read(r, b, 5, err, sizeof err) == 0, "%s: read at the end", recs[k]);
        CHECK(fmt_record_seek(r, n + 1, err, sizeof err) == -1, "seek past the end fails");
        free(all);
        fmt_record_free(r);
    }
}

static void mitdb_114_lists_v5_first_and_mlii_second(void)
{
    fmt_record *r = open_data("mitdb/114");
    if (!r) return;
    CHECK(!strcmp(fmt_record_lead(r, 0)->name, "V5") && !strcmp(fmt_record_lead(r, 1)->name, "MLII"),
          "114 leads '%s' '%s'", fmt_record_lead(r, 0)->name, fmt_record_lead(r, 1)->name);
    int32_t b[2];
    CHECK(fmt_record_read(r, b, 1, err, sizeof err) == 1 && b[0] == 1015 && b[1] == 1027,
          "114 first frame %d %d", b[0], b[1]);
    CHECK(fmt_record_patient(r)->age == 72 && fmt_record_patient(r)->sex == 'F', "114 patient");
    fmt_record_free(r);
}

static void all_48_mitdb_records_decode_to_their_checksums(void)
{
    static const int recs[] = {100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 111, 112,
                               113, 114, 115, 116, 117, 118, 119, 121, 122, 123, 124, 200,
                               201, 202, 203, 205, 207, 208, 209, 210, 212, 213, 214, 215,
                               217, 219, 220, 221, 222, 223, 228, 230, 231, 232, 233, 234};
    static int32_t buf[650000 * 2];
    int bad = 0;
    for (size_t k = 0; k < sizeof recs / sizeof *recs; k++) {
        char rel[64], hpath[1024];
        snprintf(rel, sizeof rel, "mitdb/%d", recs[k]);
        /* The expected checksums come from the header text itself. */
        snprintf(rel + strlen(rel), sizeof rel - strlen(rel), ".hea");
        FILE *h = fopen(check_data_path(hpath, sizeof hpath, rel), "r");
        int cks[2] = {0, 0};
        char line[512];
        for (int i = 0; h && fgets(line, sizeof line, h) && i < 3; i++) {
            char fn[64];
            int fmt, gain, res, zero, init, ck;
            if (i > 0 && sscanf(line, "%63s %d %d %d %d %d %d", fn, &fmt, &gain, &res, &zero, &init,
                                &ck) == 7)
                cks[i - 1] = ck;
        }
        if (h) fclose(h);
        rel[strlen(rel) - 4] = '\0';
        fmt_record *r = open_data(rel);
        if (!r) continue;
        long got = 0;
        while (got < 650000) {
            long n = fmt_record_read(r, buf + got * 2, 4096, err, sizeof err);
            if (n <= 0) break;
            got += n;
        }
        fmt_record_free(r);
        CHECK(got == 650000, "%s: read %ld frames", rel, got);
        if (checksum(buf, 650000, 2, 0) != cks[0] || checksum(buf, 650000, 2, 1) != cks[1]) bad++;
    }
    CHECK(bad == 0, "%d records do not match their header checksums", bad);
}

static void ptbdb_s0010_re_reads_15_leads_from_two_files(void)
{
    fmt_record *r = open_data("ptbdb/s0010_re");
    if (!r) return;
    static const char *names[] = {"i", "ii", "iii", "avr", "avl", "avf", "v1", "v2",
                                  "v3", "v4", "v5", "v6", "vx", "vy", "vz"};
    CHECK(fmt_record_nleads(r) == 15, "nleads %d", fmt_record_nleads(r));
    for (int l = 0; l < 15 && l < fmt_record_nleads(r); l++) {
        CHECK(!strcmp(fmt_record_lead(r, l)->name, names[l]), "lead %d '%s'", l,
              fmt_record_lead(r, l)->name);
        CHECK_NEAR(fmt_record_lead(r, l)->uv_per_unit, 0.5, 1e-12, "gain 2000/mV");
        CHECK(fmt_record_lead(r, l)->adc_min == -32768 && fmt_record_lead(r, l)->adc_max == 32767,
              "16-bit range");
    }
    CHECK_NEAR(fmt_record_fs(r), 1000, 0, "fs");
    CHECK(fmt_record_nsamples(r) == 38400, "nsamples %lld", (long long)fmt_record_nsamples(r));
    CHECK(fmt_record_patient(r)->age == 81 && fmt_record_patient(r)->sex == 'F',
          "'# age: 81' '# sex: female': %d %c", fmt_record_patient(r)->age,
          fmt_record_patient(r)->sex ? fmt_record_patient(r)->sex : '0');
    int32_t *all = read_all(r);
    static const int f0[15] = {-489, -458, 31, 474, -260, -214, -88, -241, -112, 212, 393, 390,
                               -3, 120, -18};
    static const int f1000[12] = {-211, -513, -302, 362, 46, -408, 307, 410, 458, 319, 200, 125};
    for (int l = 0; l < 15; l++) CHECK(all[l] == f0[l], "frame 0 lead %d: %d", l, all[l]);
    for (int l = 0; l < 12; l++)
        CHECK(all[1000 * 15 + l] == f1000[l], "frame 1000 lead %d: %d", l, all[1000 * 15 + l]);
    static const int cks[15] = {-8337, -16369, 6829, 4582, 11687, -16657, -12469, 5636,
                                -14299, -17916, -6668, -17545, -13009, 7109, -1992};
    for (int l = 0; l < 15; l++)
        CHECK(checksum(all, 38400, 15, l) == cks[l], "lead %d checksum %d", l,
              checksum(all, 38400, 15, l));
    free(all);
    fmt_record_free(r);
}

static void cinc2021_records_read_format_16_at_byte_offset_24(void)
{
    fmt_record *r = open_data("cinc2021/cpsc_2018/A0001");
    if (!r) return;
    CHECK(fmt_record_nleads(r) == 12 && fmt_record_nsamples(r) == 7500, "A0001 12 x 7500");
    CHECK_NEAR(fmt_record_fs(r), 500, 0, "fs");
    CHECK_NEAR(fmt_record_lead(r, 0)->uv_per_unit, 1, 1e-12, "1000/mV is 1 µV per unit");
    CHECK(!strcmp(fmt_record_lead(r, 3)->name, "aVR"), "lead 3 '%s'", fmt_record_lead(r, 3)->name);
    CHECK(fmt_record_patient(r)->age == 74 && fmt_record_patient(r)->sex == 'M', "#Age: 74 #Sex: Male");
    int32_t *all = read_all(r);
    static const int f0[12] = {28, 7, -21, -17, 24, -7, -290, -204, -96, -112, -596, -16};
    for (int l = 0; l < 12; l++) CHECK(all[l] == f0[l], "frame 0 lead %d: %d", l, all[l]);
    static const int cks[12] = {-1716, 2029, 3745, 3680, -2664, -1499, 390, 157, -2555, 49, -321, -3112};
    for (int l = 0; l < 12; l++)
        CHECK(checksum(all, 7500, 12, l) == cks[l], "A0001 lead %d checksum", l);
    free(all);
    fmt_record_free(r);

    /* "16x1+24", "1000.0(0)/mV", "# Age: 78", a record line without date or time. */
    r = open_data("cinc2021/georgia/E07500");
    if (!r) return;
    CHECK(fmt_record_nleads(r) == 12 && fmt_record_nsamples(r) == 5000, "E07500 12 x 5000");
    CHECK_NEAR(fmt_record_lead(r, 0)->uv_per_unit, 1, 1e-12, "1000.0(0)/mV");
    CHECK_NEAR(fmt_record_lead(r, 0)->baseline, 0, 0, "(0) baseline");
    CHECK(fmt_record_patient(r)->age == 78 && fmt_record_patient(r)->sex == 'M', "# Age: 78 # Sex: Male");
    all = read_all(r);
    CHECK(all[0] == -68 && all[1] == -58, "E07500 first frame %d %d", all[0], all[1]);
    CHECK(checksum(all, 5000, 12, 0) == 1250 && checksum(all, 5000, 12, 1) == -5598, "E07500 checksums");
    free(all);
    fmt_record_free(r);

    /* "1000/mv" in lower case; "#Age: NaN" is unknown. */
    r = open_data("cinc2021/ptb-xl/HR00001");
    if (r) {
        CHECK_NEAR(fmt_record_lead(r, 0)->uv_per_unit, 1, 1e-12, "1000/mv");
        CHECK(fmt_record_patient(r)->age == 56 && fmt_record_patient(r)->sex == 'F', "HR00001 patient");
        fmt_record_free(r);
    }
    r = open_data("cinc2021/georgia/E00001");
    if (r) {
        CHECK(fmt_record_patient(r)->age == -1 && fmt_record_patient(r)->sex == 'F', "#Age: NaN -> -1");
        fmt_record_free(r);
    }
}

static void noise_record_gain_zero_means_200_units_per_mv(void)
{
    fmt_record *r = open_data("noise/bw");
    if (!r) return;
    CHECK_NEAR(fmt_record_lead(r, 0)->uv_per_unit, 5, 1e-12, "gain 0 -> 200/mV");
    CHECK(fmt_record_lead(r, 0)->adc_min == -2048 && fmt_record_lead(r, 0)->adc_max == 2047,
          "12 bits around 0");
    int32_t b[4];
    CHECK(fmt_record_read(r, b, 2, err, sizeof err) == 2 && b[0] == -29 && b[1] == 25 && b[2] == -32 &&
              b[3] == 24,
          "bw first frames %d %d %d %d", b[0], b[1], b[2], b[3]);
    fmt_record_free(r);
}

static void samples_per_frame_raise_the_rate_and_edf_annotations_are_skipped(void)
{
    /* test_generator_2: 1 frame/s, 200 samples per frame per signal, an "EDF Annotations" signal. */
    fmt_record *r = open_data("edf/test_generator_2");
    if (!r) return;
    CHECK(fmt_record_nleads(r) == 11, "nleads %d", fmt_record_nleads(r));
    CHECK_NEAR(fmt_record_fs(r), 200, 0, "1 Hz x 200 samples per frame");
    CHECK(fmt_record_nsamples(r) == 120000, "nsamples %lld", (long long)fmt_record_nsamples(r));
    CHECK(!strcmp(fmt_record_lead(r, 5)->name, "sine 1 Hz"), "description with spaces: '%s'",
          fmt_record_lead(r, 5)->name);
    CHECK_NEAR(fmt_record_lead(r, 0)->uv_per_unit, 1 / 32.7675, 1e-12, "32.7675/uV");
    int32_t *all = read_all(r);
    CHECK(all[0] == 3276 && all[1] == -3276 && all[2] == 3276, "initial values %d %d %d", all[0],
          all[1], all[2]);
    CHECK(all[200 * 11] == 3276, "first sample of frame 1 (squarewave) %d", all[200 * 11]);
    CHECK(checksum(all, 120000, 11, 1) == 480 && checksum(all, 120000, 11, 2) == -1920 &&
              checksum(all, 120000, 11, 4) == -12878,
          "checksums of ramp, pulse, noise");
    free(all);
    fmt_record_free(r);
}

/* ---- synthetic records ----------------------------------------------------------------- */

static void format_212_with_an_odd_sample_count_reads_every_sample(void)
{
    const char *d = check_tmpdir("wfdb_212odd");
    int v[5] = {-2048, 2047, -1, 0, 1234};
    uint8_t b[16];
    size_t n = pack212(v, 5, b);
    CHECK(n == 8, "5 samples pack into 8 bytes");
    write_bytes(d, "odd.dat", b, n);
    write_text(d, "odd.hea", "odd 1 250 5\r\nodd.dat 212 100/uV 12 0 -2048 0 0\r\n");
    fmt_record *r = open_tmp(d, "odd");
    CHECK(r != NULL, "open: %s", err);
    if (!r) return;
    int32_t o[8];
    CHECK(fmt_record_read(r, o, 8, err, sizeof err) == 5, "read 5");
    for (int i = 0; i < 5; i++) CHECK(o[i] == v[i], "sample %d: %d vs %d", i, o[i], v[i]);
    CHECK(!strcmp(fmt_record_lead(r, 0)->name, "sig0"), "empty description -> 'sig0': '%s'",
          fmt_record_lead(r, 0)->name);
    CHECK_NEAR(fmt_record_lead(r, 0)->uv_per_unit, 0.01, 1e-15, "100/uV");
    for (int s = 4; s >= 0; s--) {
        CHECK(!fmt_record_seek(r, s, err, sizeof err), "seek %d", s);
        CHECK(fmt_record_read(r, o, 1, err, sizeof err) == 1 && o[0] == v[s], "sample %d after seek", s);
    }
    fmt_record_free(r);
}

static void other_formats_decode_as_wfdb_writes_them(void)
{
    const char *d = check_tmpdir("wfdb_formats");
    int v[6] = {-512, 511, -1, 0, 300, -300};
    /* 80: offset binary bytes; 160: offset binary words; 61: big-endian; 24/32: little-endian. */
    uint8_t b80[6], b160[12], b61[12], b24[18], b32[24], b310[8], b311[8];
    for (int i = 0; i < 6; i++) {
        int x8 = v[i] / 4;
        b80[i] = (uint8_t)(x8 + 128);
        unsigned u = (unsigned)(v[i] + 32768);
        b160[2 * i] = (uint8_t)u, b160[2 * i + 1] = (uint8_t)(u >> 8);
        b61[2 * i] = (uint8_t)((unsigned)v[i] >> 8), b61[2 * i + 1] = (uint8_t)v[i];
        int32_t x24 = v[i] * 1000, x32 = v[i] * 1000000;
        for (int k = 0; k < 3; k++) b24[3 * i + k] = (uint8_t)((uint32_t)x24 >> (8 * k));
        for (int k = 0; k < 4; k++) b32[4 * i + k] = (uint8_t)((uint32_t)x32 >> (8 * k));
    }
    for (int g = 0; g < 2; g++) {
        const int *x = v + 3 * g;
        /* 310: two words, samples 0 and 1 in bits 1-10, sample 2 split over bits 11-15 of each. */
        unsigned w0 = (((unsigned)x[0] << 1) & 0x7fe) | (((unsigned)x[2] << 11) & 0xf800);
        unsigned w1 = (((unsigned)x[1] << 1) & 0x7fe) | (((unsigned)x[2] << 6) & 0xf800);
        b310[4 * g] = (uint8_t)w0, b310[4 * g + 1] = (uint8_t)(w0 >> 8);
        b310[4 * g + 2] = (uint8_t)w1, b310[4 * g + 3] = (uint8_t)(w1 >> 8);
        uint32_t w = ((uint32_t)x[0] & 0x3ff) | ((uint32_t)x[1] & 0x3ff) << 10 |
                     ((uint32_t)x[2] & 0x3ff) << 20;
        for (int k = 0; k < 4; k++) b311[4 * g + k] = (uint8_t)(w >> (8 * k));
    }
    write_bytes(d, "f80.dat", b80, 6);
    write_bytes(d, "f160.dat", b160, 12);
    write_bytes(d, "f61.dat", b61, 12);
    write_bytes(d, "f24.dat", b24, 18);
    write_bytes(d, "f32.dat", b32, 24);
    write_bytes(d, "f310.dat", b310, 8);
    write_bytes(d, "f311.dat", b311, 8);
    write_text(d, "multi.hea",
               "multi 7 100 6\n"
               "f80.dat 80 200 8 0 0 0 0 a\nf160.dat 160 200 16 0 0 0 0 b\n"
               "f61.dat 61 200 16 0 0 0 0 c\nf24.dat 24 200 24 0 0 0 0 d\n"
               "f32.dat 32 200 32 0 0 0 0 e\nf310.dat 310 200 10 0 0 0 0 f\n"
               "f311.dat 311 200 10 0 0 0 0 g\n");
    fmt_record *r = open_tmp(d, "multi");
    CHECK(r != NULL, "open: %s", err);
    if (!r) return;
    int32_t o[6 * 7];
    CHECK(fmt_record_read(r, o, 6, err, sizeof err) == 6, "read 6: %s", err);
    for (int i = 0; i < 6; i++) {
        CHECK(o[7 * i + 0] == v[i] / 4, "80 sample %d: %d", i, o[7 * i]);
        CHECK(o[7 * i + 1] == v[i], "160 sample %d: %d", i, o[7 * i + 1]);
        CHECK(o[7 * i + 2] == v[i], "61 sample %d: %d", i, o[7 * i + 2]);
        CHECK(o[7 * i + 3] == v[i] * 1000, "24 sample %d: %d", i, o[7 * i + 3]);
        CHECK(o[7 * i + 4] == v[i] * 1000000, "32 sample %d: %d", i, o[7 * i + 4]);
        CHECK(o[7 * i + 5] == v[i], "310 sample %d: %d", i, o[7 * i + 5]);
        CHECK(o[7 * i + 6] == v[i], "311 sample %d: %d", i, o[7 * i + 6]);
    }
    CHECK(fmt_record_lead(r, 5)->adc_min == -512 && fmt_record_lead(r, 5)->adc_max == 511, "310 range");
    CHECK(fmt_record_lead(r, 0)->adc_min == -128 && fmt_record_lead(r, 0)->adc_max == 127, "80 range");
    CHECK(!fmt_record_seek(r, 4, err, sizeof err) && fmt_record_read(r, o, 1, err, sizeof err) == 1 &&
              o[5] == v[4] && o[6] == v[4],
          "310/311 seek into a group");
    fmt_record_free(r);
}

static void mixed_samples_per_frame_hold_the_slower_signal(void)
{
    const char *d = check_tmpdir("wfdb_spf");
    /* Frame = 2 samples of signal a, 1 of b: a0 a1 b0 | a2 a3 b1 | ... as 16-bit. */
    int16_t s[9] = {10, 11, 100, 12, 13, 101, 14, 15, 102};
    write_bytes(d, "m.dat", s, sizeof s);
    write_text(d, "m.hea", "m 2 250 3\nm.dat 16x2 200 16 0 10 0 0 a\nm.dat 16 200 16 0 100 0 0 b\n");
    fmt_record *r = open_tmp(d, "m");
    CHECK(r != NULL, "open: %s", err);
    if (!r) return;
    CHECK_NEAR(fmt_record_fs(r), 500, 0, "250 frames/s x 2");
    CHECK(fmt_record_nsamples(r) == 6, "6 samples at 500 Hz");
    int32_t o[12];
    CHECK(fmt_record_read(r, o, 6, err, sizeof err) == 6, "read: %s", err);
    static const int want[12] = {10, 100, 11, 100, 12, 101, 13, 101, 14, 102, 15, 102};
    for (int i = 0; i < 12; i++) CHECK(o[i] == want[i], "value %d: %d vs %d", i, o[i], want[i]);
    CHECK(!fmt_record_seek(r, 3, err, sizeof err) && fmt_record_read(r, o, 2, err, sizeof err) == 2 &&
              o[0] == 13 && o[1] == 101 && o[2] == 14 && o[3] == 102,
          "seek into the middle of a frame");
    fmt_record_free(r);
}

static void a_missing_nsamp_is_derived_from_the_file_size(void)
{
    const char *d = check_tmpdir("wfdb_nonsamp");
    int16_t s[7] = {1, 2, 3, 4, 5, 6, 7}; /* 3 whole frames of 2 signals, one stray sample */
    write_bytes(d, "n.dat", s, sizeof s);
    write_text(d, "n.hea", "n 2 500\nn.dat 16 1000/mV\nn.dat 16 1000/mV\n");
    fmt_record *r = open_tmp(d, "n");
    CHECK(r != NULL, "open: %s", err);
    if (!r) return;
    CHECK(fmt_record_nsamples(r) == 3, "nsamples %lld", (long long)fmt_record_nsamples(r));
    CHECK_NEAR(fmt_record_lead(r, 1)->uv_per_unit, 1, 1e-12, "1000/mV");
    fmt_record_free(r);
}

static void byte_offsets_and_units_and_baselines_are_honoured(void)
{
    const char *d = check_tmpdir("wfdb_offset");
    uint8_t b[10] = {0xde, 0xad, 0xbe, 0xef, 0x05, 0x00, 0xfb, 0xff, 0x10, 0x00};
    write_bytes(d, "o.dat", b, sizeof b);
    write_text(d, "o.hea",
               "o 1 128 3 10:00:00 01/01/2000\no.dat 16+4 2(-7)/V 12 3 0 0 0 ECG lead\n");
    fmt_record *r = open_tmp(d, "o");
    CHECK(r != NULL, "open: %s", err);
    if (!r) return;
    int32_t o[3];
    CHECK(fmt_record_read(r, o, 3, err, sizeof err) == 3 && o[0] == 5 && o[1] == -5 && o[2] == 16,
          "values after a 4-byte offset: %d %d %d", o[0], o[1], o[2]);
    CHECK_NEAR(fmt_record_lead(r, 0)->uv_per_unit, 500000, 1e-6, "2/V");
    CHECK_NEAR(fmt_record_lead(r, 0)->baseline, -7, 0, "(baseline) wins over ADC zero");
    CHECK(fmt_record_lead(r, 0)->adc_min == -2045 && fmt_record_lead(r, 0)->adc_max == 2050,
          "12 bits around zero 3: %d..%d", fmt_record_lead(r, 0)->adc_min, fmt_record_lead(r, 0)->adc_max);
    CHECK(!strcmp(fmt_record_lead(r, 0)->name, "ECG lead"), "name '%s'", fmt_record_lead(r, 0)->name);
    CHECK(fmt_record_patient(r)->age == -1 && fmt_record_patient(r)->sex == 0, "no patient comments");
    fmt_record_free(r);
}

static void missing_header_is_an_error_naming_it(void)
{
    const char *d = check_tmpdir("wfdb_nohea");
    expect_open_error(d, "nothere", "nothere.hea", "cannot open");
}

static void header_errors_name_the_file_and_the_line(void)
{
    const char *d = check_tmpdir("wfdb_badhea");
    int16_t s[4] = {0};
    write_bytes(d, "x.dat", s, sizeof s);
    struct {
        const char *hea, *want1, *want2;
    } cases[] = {
        {"x 0 360 2\n", "zero signals", "line 1"},
        {"x 2 360 2\nx.dat 16\n", "declares 2 signals", "1 signal lines"},
        {"x 1 360 2\nx.dat 16\nx.dat 16\n", "line 3", "more signal lines"},
        {"x 1 abc 2\nx.dat 16\n", "line 1", "sampling frequency"},
        {"# comment\nx 1 0 2\nx.dat 16\n", "line 2", "outside"},
        {"x 1 -5 2\nx.dat 16\n", "line 1", "sampling frequency"},
        {"x 1 1e9 2\nx.dat 16\n", "line 1", "outside"},
        {"x 1 360 -2\nx.dat 16\n", "line 1", "number of samples"},
        {"x 1 360 99999999999999999999\nx.dat 16\n", "line 1", "number of samples"},
        {"x 65 360 2\n", "65 signals", "at most 64"},
        {"x 1 360 2\nx.dat 16x\n", "line 2", "format field"},
        {"x 1 360 2\nx.dat 16 abc\n", "line 2", "gain"},
        {"x 1 360 2\nx.dat 16 200 40\n", "line 2", "resolution"},
        {"x 1 360 2\nx.dat 16 200 12 99999999999\n", "line 2", "ADC zero"},
        {"x 1 360 2\nx.dat 16 -200\n", "line 2", "gain"},
        {"x/2 1 360 2\nx_1 1\nx_2 1\n", "multi-segment records are not supported", "x.hea"},
        {"", "no record line", "x.hea"},
        {"x 1 360 2\nx.dat 8\n", "format 8 is not supported", "x.hea"},
        {"x 1 360 2\nx.dat 999\n", "format 999 is not supported", NULL},
        {"x 1 360 2\nx.dat 16:3\n", "skew", NULL},
        {"x 1 360 2\n../x.dat 16\n", "header's directory", NULL},
        {"x 2 360 2\nx.dat 16\nx.dat 212\n", "differs", NULL},
        {"x 3 360 1\nx.dat 16\ny.dat 16\nx.dat 16\n", "listed together", NULL},
    };
    write_text(d, "y.dat", "ab");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_text(d, "x.hea", cases[i].hea);
        expect_open_error(d, "x", cases[i].want1, cases[i].want2);
        CHECK(strstr(err, "x.hea") != NULL, "case %zu: message '%s' names x.hea", i, err);
    }
    /* A line longer than any header has. */
    size_t n = 10000;
    char *big = malloc(n + 64);
    strcpy(big, "x 1 360 2\nx.dat 16 200 12 0 0 0 0 ");
    size_t l = strlen(big);
    memset(big + l, 'a', n);
    strcpy(big + l + n, "\n");
    write_text(d, "x.hea", big);
    free(big);
    expect_open_error(d, "x", "line 2 is longer", "x.hea");
    /* Binary junk is not a header. */
    write_bytes(d, "x.hea", "x 1\0\x01\x02", 6);
    expect_open_error(d, "x", "NUL", "x.hea");
}

static void crlf_headers_and_comments_before_the_record_line_are_accepted(void)
{
    const char *d = check_tmpdir("wfdb_crlf");
    int16_t s[2] = {7, 8};
    write_bytes(d, "c.dat", s, sizeof s);
    write_text(d, "c.hea", "# made by hand\r\n\r\nc 1 360/1000(0) 2\r\nc.dat 16 200 16 0 7 15 0 II\r\n"
                           "#Age: 42\r\n#Sex: F\r\n");
    fmt_record *r = open_tmp(d, "c");
    CHECK(r != NULL, "open: %s", err);
    if (!r) return;
    CHECK(!strcmp(fmt_record_lead(r, 0)->name, "II"), "no CR in the name: '%s'", fmt_record_lead(r, 0)->name);
    CHECK(fmt_record_patient(r)->age == 42 && fmt_record_patient(r)->sex == 'F', "patient %d",
          fmt_record_patient(r)->age);
    fmt_record_free(r);
}

static void missing_signal_file_is_an_error_naming_it(void)
{
    const char *d = check_tmpdir("wfdb_nodat");
    write_text(d, "m.hea", "m 1 360 2\ngone.dat 16\n");
    expect_open_error(d, "m", "gone.dat", "cannot open");
}

static void truncated_dat_file_is_an_error_naming_the_file(void)
{
    const char *d = check_tmpdir("wfdb_trunc");
    int v[19] = {0};
    uint8_t b[32];
    size_t n = pack212(v, 19, b); /* 9.5 frames of 2 signals */
    write_bytes(d, "t.dat", b, n);
    write_text(d, "t.hea", "t 2 360 10\nt.dat 212\nt.dat 212\n");
    expect_open_error(d, "t", "t.dat: truncated: header says 10 samples per signal, file holds 9", NULL);
    /* With a byte offset, the offset is not signal. */
    int16_t s[12] = {0};
    write_bytes(d, "u.dat", s, sizeof s);
    write_text(d, "u.hea", "u 1 360 12\nu.dat 16+2\n");
    expect_open_error(d, "u", "u.dat: truncated: header says 12 samples per signal, file holds 11", NULL);
}

static void a_file_shortened_after_open_fails_the_read(void)
{
    const char *d = check_tmpdir("wfdb_shrink");
    static int16_t s[40000];
    write_bytes(d, "s.dat", s, sizeof s);
    write_text(d, "s.hea", "s 1 360 40000\ns.dat 16\n");
    fmt_record *r = open_tmp(d, "s");
    CHECK(r != NULL, "open: %s", err);
    if (!r) return;
    char path[1200];
    snprintf(path, sizeof path, "%s/s.dat", d);
    CHECK(truncate(path, 1000) == 0, "truncate");
    static int32_t o[40000];
    long got = fmt_record_read(r, o, 40000, err, sizeof err);
    CHECK(got == -1, "read of a shortened file returned %ld", got);
    CHECK(strstr(err, "s.dat") && strstr(err, "truncated"), "message '%s'", err);
    fmt_record_free(r);
}

int main(void)
{
    RUN(mitdb_100_has_leads_mlii_and_v5_at_360_hz_with_650000_samples);
    RUN(mitdb_100_opens_from_the_hea_path_too);
    RUN(mitdb_100_samples_match_the_file_bytes);
    RUN(mitdb_100_samples_sum_to_the_header_checksums);
    RUN(reading_in_blocks_of_odd_sizes_equals_reading_all_at_once);
    RUN(read_all_reads_from_the_position_to_the_end);
    RUN(seeking_anywhere_reads_what_sequential_reading_read);
    RUN(mitdb_114_lists_v5_first_and_mlii_second);
    RUN(all_48_mitdb_records_decode_to_their_checksums);
    RUN(ptbdb_s0010_re_reads_15_leads_from_two_files);
    RUN(cinc2021_records_read_format_16_at_byte_offset_24);
    RUN(noise_record_gain_zero_means_200_units_per_mv);
    RUN(samples_per_frame_raise_the_rate_and_edf_annotations_are_skipped);
    RUN(format_212_with_an_odd_sample_count_reads_every_sample);
    RUN(other_formats_decode_as_wfdb_writes_them);
    RUN(mixed_samples_per_frame_hold_the_slower_signal);
    RUN(a_missing_nsamp_is_derived_from_the_file_size);
    RUN(byte_offsets_and_units_and_baselines_are_honoured);
    RUN(missing_header_is_an_error_naming_it);
    RUN(header_errors_name_the_file_and_the_line);
    RUN(crlf_headers_and_comments_before_the_record_line_are_accepted);
    RUN(missing_signal_file_is_an_error_naming_it);
    RUN(truncated_dat_file_is_an_error_naming_the_file);
    RUN(a_file_shortened_after_open_fails_the_read);
    return check_report();
}
