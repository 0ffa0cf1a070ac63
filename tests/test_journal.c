/* test_journal.c — the sample journal: round trips, crash recovery, append rules, write errors. */
#include "check.h"
#include "journal.h"

#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char err[STORE_JOURNAL_ERRLEN];

static uint32_t rng_state = 7u;
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

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(*len + 1);
    if (p && fread(p, 1, *len, f) != *len) {
        free(p);
        p = NULL;
    }
    fclose(f);
    return p;
}

static void spill(const char *path, const uint8_t *p, size_t len)
{
    unlink(path);
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(p, 1, len, f) != len)) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    fclose(f);
}

/* Random frames covering the whole width, extremes included. */
static int32_t *random_frames(size_t nframes, int nleads, int sample_bytes)
{
    size_t n = nframes * (size_t)nleads;
    int32_t *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        uint32_t r = rnd() << 8 ^ rnd();
        x[i] = sample_bytes == 2 ? (int32_t)(int16_t)(r & 0xFFFF) : (int32_t)r;
    }
    if (n >= 2) {
        x[0] = sample_bytes == 2 ? INT16_MIN : INT32_MIN;
        x[n - 1] = sample_bytes == 2 ? INT16_MAX : INT32_MAX;
    }
    return x;
}

/* What store_journal_read delivered, checked as it arrives. */
typedef struct {
    int nleads;
    int64_t from;   /* first sample expected */
    int64_t n;      /* frames received */
    int64_t cap;
    int32_t *x;
    uint32_t *flags; /* per frame */
    int blocks, bad_blocks;
} collected;

static int collect(void *ctx, int64_t first, const int32_t *frames, size_t nframes, uint32_t flags)
{
    collected *c = ctx;
    if (first != c->from + c->n || nframes == 0 || nframes > STORE_JOURNAL_MAX_FRAMES)
        c->bad_blocks++;
    if (c->n + (int64_t)nframes > c->cap) {
        c->cap = (c->n + (int64_t)nframes) * 2;
        c->x = realloc(c->x, (size_t)c->cap * (size_t)c->nleads * sizeof *c->x);
        c->flags = realloc(c->flags, (size_t)c->cap * sizeof *c->flags);
    }
    memcpy(c->x + c->n * c->nleads, frames, nframes * (size_t)c->nleads * sizeof *frames);
    for (size_t f = 0; f < nframes; f++) c->flags[c->n + (int64_t)f] = flags;
    c->n += (int64_t)nframes;
    c->blocks++;
    return 0;
}

static collected read_back(const char *path, int nleads, int64_t from)
{
    collected c = {.nleads = nleads, .from = from};
    int rc = store_journal_read(path, from, collect, &c, err, sizeof err);
    CHECK(rc == 0, "read %s: %d %s", path, rc, err);
    CHECK(c.bad_blocks == 0, "%d blocks out of order, empty or over 65535 frames", c.bad_blocks);
    return c;
}

static void collected_free(collected *c)
{
    free(c->x);
    free(c->flags);
}

static int stop_at_second(void *ctx, int64_t first, const int32_t *frames, size_t nframes,
                          uint32_t flags)
{
    (void)first, (void)frames, (void)nframes, (void)flags;
    return ++*(int *)ctx == 2 ? 7 : 0;
}

static void round_trip(int sample_bytes)
{
    const char *dir = check_tmpdir("journal_round_trip");
    const char *path = tmp_path(dir, sample_bytes == 2 ? "rt16.jnl" : "rt32.jnl");
    const int nl = 3;
    const size_t max = STORE_JOURNAL_MAX_FRAMES;
    const size_t blocks[] = {1, 7, max + 3, 2, max, 1000, 3};
    const size_t nb = sizeof blocks / sizeof blocks[0];
    size_t total = 0;
    for (size_t b = 0; b < nb; b++) total += blocks[b];
    int32_t *x = random_frames(total, nl, sample_bytes);
    const char *meta = "{\"type\":\"hello\",\"device\":\"心电-01\",\"fs\":500}";

    store_journal_info info = {.nleads = nl, .sample_bytes = sample_bytes, .meta = meta};
    store_journal *j = store_journal_create(path, &info, err, sizeof err);
    CHECK(j != NULL, "create: %s", err);
    if (!j) goto out;
    CHECK(store_journal_next(j) == 0 && store_journal_durable(j) == 0, "empty journal");
    CHECK(store_journal_nleads(j) == nl && store_journal_sample_bytes(j) == sample_bytes, "shape");
    CHECK(!strcmp(store_journal_meta(j), meta) && !strcmp(store_journal_path(j), path),
          "meta, path");
    CHECK(!store_journal_ended(j) && store_journal_dropped_bytes(j) == 0, "fresh");
    size_t done = 0;
    for (size_t b = 0; b < nb; b++) {
        CHECK(store_journal_append(j, (int64_t)done, x + done * nl, blocks[b], 100u + (uint32_t)b,
                                   err, sizeof err) == 0,
              "append block %zu: %s", b, err);
        done += blocks[b];
        CHECK(store_journal_next(j) == (int64_t)done, "next %lld after block %zu",
              (long long)store_journal_next(j), b);
    }
    CHECK(store_journal_sync(j, err, sizeof err) == 0, "sync: %s", err);
    store_journal_close(j);

    j = store_journal_open(path, err, sizeof err);
    CHECK(j != NULL, "reopen: %s", err);
    if (j) {
        CHECK(store_journal_next(j) == (int64_t)total && store_journal_durable(j) == (int64_t)total,
              "reopened next %lld", (long long)store_journal_next(j));
        CHECK(!strcmp(store_journal_meta(j), meta), "meta \"%s\"", store_journal_meta(j));
        CHECK(store_journal_nleads(j) == nl && store_journal_sample_bytes(j) == sample_bytes,
              "reopened shape");
        CHECK(store_journal_dropped_bytes(j) == 0 && !store_journal_ended(j), "nothing dropped");
        store_journal_close(j);
    }

    collected c = read_back(path, nl, 0);
    CHECK(c.n == (int64_t)total, "read %lld of %zu frames", (long long)c.n, total);
    if (c.n == (int64_t)total) {
        CHECK(memcmp(c.x, x, total * nl * sizeof *x) == 0, "samples differ");
        size_t f = 0;
        int flags_ok = 1;
        for (size_t b = 0; b < nb; b++)
            for (size_t k = 0; k < blocks[b]; k++, f++) flags_ok &= c.flags[f] == 100u + b;
        CHECK(flags_ok, "each frame carries the flags of the block it was appended with");
    }
    CHECK(c.blocks == (int)nb + 1,
          "%d blocks: the 65538-frame block splits in two records, 65535 fits one", c.blocks);
    collected_free(&c);

    int64_t from = STORE_JOURNAL_MAX_FRAMES + 5; /* inside the split block's first record */
    c = read_back(path, nl, from);
    CHECK(c.n == (int64_t)total - from, "read from %lld: %lld frames", (long long)from,
          (long long)c.n);
    if (c.n == (int64_t)total - from)
        CHECK(memcmp(c.x, x + from * nl, (size_t)c.n * nl * sizeof *x) == 0, "suffix differs");
    collected_free(&c);

    c = read_back(path, nl, (int64_t)total + 10);
    CHECK(c.n == 0 && c.blocks == 0, "reading past the end delivers nothing");
    collected_free(&c);

    int calls = 0;
    CHECK(store_journal_read(path, 0, stop_at_second, &calls, err, sizeof err) == 7 && calls == 2,
          "the callback's non-zero return stops the read and is returned (calls %d)", calls);
out:
    free(x);
}

static void round_trip_bit_exact_int16(void) { round_trip(2); }
static void round_trip_bit_exact_int32(void) { round_trip(4); }

static void empty_meta_reads_back_empty(void)
{
    const char *dir = check_tmpdir("journal_meta");
    const char *path = tmp_path(dir, "m.jnl");
    store_journal_info info = {.nleads = 1, .sample_bytes = 2, .meta = NULL};
    store_journal *j = store_journal_create(path, &info, err, sizeof err);
    CHECK(j != NULL, "%s", err);
    store_journal_close(j);
    j = store_journal_open(path, err, sizeof err);
    CHECK(j && !strcmp(store_journal_meta(j), "") && store_journal_next(j) == 0, "%s", err);
    store_journal_close(j);
}

/* A small journal of 6 sample records of 1, 2, 3, 5, 8, 13 frames (2 leads, int16) and an end
 * record; bounds[k] is the file length after record k (bounds[0] the header alone). */
#define CRASH_RECORDS 6
static const size_t crash_frames[CRASH_RECORDS] = {1, 2, 3, 5, 8, 13};

static int32_t *write_crash_journal(const char *path, int64_t bounds[CRASH_RECORDS + 2],
                                    int64_t frames_at[CRASH_RECORDS + 2])
{
    size_t total = 0;
    for (int k = 0; k < CRASH_RECORDS; k++) total += crash_frames[k];
    int32_t *x = random_frames(total, 2, 2);
    store_journal_info info = {.nleads = 2, .sample_bytes = 2, .meta = "{\"fs\":250}"};
    unlink(path);
    store_journal *j = store_journal_create(path, &info, err, sizeof err);
    CHECK(j != NULL, "%s", err);
    if (!j) return x;
    bounds[0] = file_size(path);
    frames_at[0] = 0;
    size_t done = 0;
    for (int k = 0; k < CRASH_RECORDS; k++) {
        CHECK(store_journal_append(j, (int64_t)done, x + done * 2, crash_frames[k], 0, err,
                                   sizeof err) == 0, "%s", err);
        done += crash_frames[k];
        bounds[k + 1] = file_size(path);
        frames_at[k + 1] = (int64_t)done;
    }
    CHECK(store_journal_end(j, err, sizeof err) == 0, "%s", err);
    bounds[CRASH_RECORDS + 1] = file_size(path);
    frames_at[CRASH_RECORDS + 1] = (int64_t)done;
    store_journal_close(j);
    return x;
}

static void every_truncation_recovers_exactly_the_whole_records(void)
{
    const char *dir = check_tmpdir("journal_crash");
    const char *full = tmp_path(dir, "full.jnl"), *cut = tmp_path(dir, "cut.jnl");
    int64_t bounds[CRASH_RECORDS + 2], frames_at[CRASH_RECORDS + 2];
    int32_t *x = write_crash_journal(full, bounds, frames_at);
    size_t len = 0;
    uint8_t *bytes = slurp(full, &len);
    CHECK(bytes && (int64_t)len == bounds[CRASH_RECORDS + 1], "journal bytes");
    if (!bytes) goto out;
    const int32_t extra[4 * 2] = {1, -1, 2, -2, 3, -3, INT16_MAX, INT16_MIN};
    int failures_before = check_failures;
    for (int64_t L = bounds[0]; L <= (int64_t)len && check_failures == failures_before; L++) {
        int k = 0; /* records wholly inside the first L bytes */
        while (k + 1 <= CRASH_RECORDS + 1 && bounds[k + 1] <= L) k++;
        spill(cut, bytes, (size_t)L);
        store_journal *j = store_journal_open(cut, err, sizeof err);
        CHECK(j != NULL, "open at length %lld: %s", (long long)L, err);
        if (!j) continue;
        int64_t want = frames_at[k];
        int ended = k == CRASH_RECORDS + 1;
        CHECK(store_journal_next(j) == want && store_journal_durable(j) == want,
              "length %lld: next %lld, want %lld", (long long)L, (long long)store_journal_next(j),
              (long long)want);
        CHECK(store_journal_dropped_bytes(j) == L - bounds[k], "length %lld: dropped %lld",
              (long long)L, (long long)store_journal_dropped_bytes(j));
        CHECK(file_size(cut) == bounds[k], "length %lld: cut back to %lld", (long long)L,
              (long long)file_size(cut));
        CHECK(store_journal_ended(j) == ended, "length %lld: ended %d", (long long)L,
              store_journal_ended(j));
        if (ended) {
            CHECK(store_journal_append(j, want, extra, 4, 0, err, sizeof err) == -1,
                  "no appending after the end record");
        } else {
            CHECK(store_journal_append(j, want, extra, 4, 0, err, sizeof err) == 0 &&
                      store_journal_sync(j, err, sizeof err) == 0,
                  "length %lld: append after recovery: %s", (long long)L, err);
        }
        store_journal_close(j);
        collected c = read_back(cut, 2, 0);
        int64_t expect = want + (ended ? 0 : 4);
        CHECK(c.n == expect, "length %lld: read %lld frames, want %lld", (long long)L,
              (long long)c.n, (long long)expect);
        if (c.n == expect) {
            CHECK(memcmp(c.x, x, (size_t)want * 2 * sizeof *x) == 0, "length %lld: prefix differs",
                  (long long)L);
            if (!ended)
                CHECK(memcmp(c.x + want * 2, extra, sizeof extra) == 0,
                      "length %lld: appended frames differ", (long long)L);
        }
        collected_free(&c);
    }
out:
    free(bytes);
    free(x);
}

static void a_flipped_byte_in_record_k_keeps_the_records_before_it(void)
{
    const char *dir = check_tmpdir("journal_flip");
    const char *full = tmp_path(dir, "full.jnl"), *bad = tmp_path(dir, "bad.jnl");
    int64_t bounds[CRASH_RECORDS + 2], frames_at[CRASH_RECORDS + 2];
    int32_t *x = write_crash_journal(full, bounds, frames_at);
    size_t len = 0;
    uint8_t *bytes = slurp(full, &len);
    if (!bytes) goto out;
    for (int k = 0; k <= CRASH_RECORDS; k++) { /* record k spans bounds[k] .. bounds[k+1] */
        int64_t at[] = {bounds[k], bounds[k] + 2, bounds[k] + 8, (bounds[k] + bounds[k + 1]) / 2,
                        bounds[k + 1] - 1};
        for (size_t p = 0; p < sizeof at / sizeof at[0]; p++) {
            bytes[at[p]] ^= 0x10;
            spill(bad, bytes, len);
            bytes[at[p]] ^= 0x10;
            store_journal *j = store_journal_open(bad, err, sizeof err);
            CHECK(j != NULL, "record %d byte %lld: %s", k, (long long)at[p], err);
            if (!j) continue;
            CHECK(store_journal_next(j) == frames_at[k] && !store_journal_ended(j),
                  "record %d byte %lld flipped: next %lld, want %lld", k, (long long)at[p],
                  (long long)store_journal_next(j), (long long)frames_at[k]);
            CHECK(store_journal_dropped_bytes(j) == (int64_t)len - bounds[k] &&
                      file_size(bad) == bounds[k],
                  "record %d: everything from it on dropped", k);
            store_journal_close(j);
            collected c = read_back(bad, 2, 0);
            CHECK(c.n == frames_at[k] && (c.n == 0 || !memcmp(c.x, x, (size_t)c.n * 2 * sizeof *x)),
                  "record %d: read %lld frames", k, (long long)c.n);
            collected_free(&c);
        }
    }
    /* a flipped byte in the header is not a torn tail: the journal cannot be trusted at all */
    bytes[20] ^= 0x01;
    spill(bad, bytes, len);
    store_journal *j = store_journal_open(bad, err, sizeof err);
    CHECK(j == NULL && strstr(err, "corrupt journal header") && strstr(err, bad),
          "header flip: %s", err);
    store_journal_close(j);
out:
    free(bytes);
    free(x);
}

static store_journal *new_journal(const char *path, int nleads, int sample_bytes)
{
    store_journal_info info = {.nleads = nleads, .sample_bytes = sample_bytes, .meta = "{}"};
    unlink(path);
    store_journal *j = store_journal_create(path, &info, err, sizeof err);
    CHECK(j != NULL, "create %s: %s", path, err);
    if (!j) exit(check_report() ? 1 : 2);
    return j;
}

static void gaps_overlaps_and_out_of_range_values_are_refused(void)
{
    const char *dir = check_tmpdir("journal_rules");
    store_journal *j = new_journal(tmp_path(dir, "r.jnl"), 2, 2);
    int32_t x[2 * 10] = {0};
    CHECK(store_journal_append(j, 0, x, 10, 0, err, sizeof err) == 0, "%s", err);
    CHECK(store_journal_append(j, 15, x, 1, 0, err, sizeof err) == -1 && strstr(err, "gap") &&
              strstr(err, "starts at sample 15") && strstr(err, "next sample is 10"),
          "gap: %s", err);
    CHECK(store_journal_append(j, 5, x, 1, 0, err, sizeof err) == -1 && strstr(err, "overlap") &&
              strstr(err, "starts at sample 5") && strstr(err, "next sample is 10"),
          "overlap: %s", err);
    CHECK(store_journal_next(j) == 10, "next unchanged");

    int32_t hi[4] = {0, 0, 32767, 32768}, lo[4] = {-32768, 0, -32769, 0};
    CHECK(store_journal_append(j, 10, hi, 2, 0, err, sizeof err) == -1 && strstr(err, "16-bit") &&
              strstr(err, "32768"),
          "32768 does not fit int16: %s", err);
    CHECK(store_journal_append(j, 10, lo, 2, 0, err, sizeof err) == -1 && strstr(err, "-32769"),
          "-32769 does not fit int16: %s", err);
    CHECK(store_journal_next(j) == 10, "a refused block stores nothing, not even its valid frames");
    int32_t edge[4] = {INT16_MIN, INT16_MAX, INT16_MAX, INT16_MIN};
    CHECK(store_journal_append(j, 10, edge, 2, 0, err, sizeof err) == 0, "int16 extremes: %s", err);
    CHECK(store_journal_append(j, 12, x, 0, 0, err, sizeof err) == 0 && store_journal_next(j) == 12,
          "an empty block is a no-op");

    CHECK(store_journal_end(j, err, sizeof err) == 0 && store_journal_ended(j), "end: %s", err);
    CHECK(store_journal_end(j, err, sizeof err) == 0, "end is idempotent: %s", err);
    CHECK(store_journal_append(j, 12, x, 1, 0, err, sizeof err) == -1 && strstr(err, "ended"),
          "append after end: %s", err);
    store_journal_close(j);

    j = store_journal_open(tmp_path(dir, "r.jnl"), err, sizeof err);
    CHECK(j && store_journal_ended(j) && store_journal_next(j) == 12, "reopened ended: %s", err);
    if (j)
        CHECK(store_journal_append(j, 12, x, 1, 0, err, sizeof err) == -1 && strstr(err, "ended"),
              "append after end, reopened: %s", err);
    store_journal_close(j);
    collected c = read_back(tmp_path(dir, "r.jnl"), 2, 0);
    CHECK(c.n == 12 && c.x && !memcmp(c.x + 20, edge, sizeof edge), "12 frames, extremes kept");
    collected_free(&c);
}

static void create_and_open_refuse_what_is_not_a_usable_journal(void)
{
    const char *dir = check_tmpdir("journal_refuse");
    const char *path = tmp_path(dir, "j.jnl");
    store_journal *j = new_journal(path, 1, 4);
    store_journal_info info = {.nleads = 1, .sample_bytes = 4, .meta = "{}"};
    CHECK(store_journal_create(path, &info, err, sizeof err) == NULL && strstr(err, "exists") &&
              strstr(err, path),
          "create over an existing file: %s", err);
    CHECK(store_journal_open(path, err, sizeof err) == NULL && strstr(err, "already open"),
          "a second writer on the same journal: %s", err);
    store_journal_close(j);

    const char *p2 = tmp_path(dir, "bad_info.jnl");
    store_journal_info bad[] = {{0, 2, ""}, {17, 2, ""}, {1, 3, ""}, {1, 1, ""}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(store_journal_create(p2, &bad[i], err, sizeof err) == NULL && file_size(p2) < 0,
              "%d leads of %d bytes refused, no file left: %s", bad[i].nleads,
              bad[i].sample_bytes, err);
    char *big = malloc(STORE_JOURNAL_MAX_META + 2);
    memset(big, 'a', STORE_JOURNAL_MAX_META + 1);
    big[STORE_JOURNAL_MAX_META + 1] = 0;
    store_journal_info bigm = {.nleads = 1, .sample_bytes = 2, .meta = big};
    CHECK(store_journal_create(p2, &bigm, err, sizeof err) == NULL && strstr(err, "meta"),
          "meta over 64 KiB: %s", err);
    big[STORE_JOURNAL_MAX_META] = 0;
    j = store_journal_create(p2, &bigm, err, sizeof err);
    CHECK(j != NULL, "meta of exactly 64 KiB: %s", err);
    store_journal_close(j);
    j = store_journal_open(p2, err, sizeof err);
    CHECK(j && strlen(store_journal_meta(j)) == STORE_JOURNAL_MAX_META, "64 KiB meta back: %s",
          err);
    store_journal_close(j);
    free(big);
    CHECK(store_journal_create(tmp_path(dir, "no/such/dir.jnl"), &info, err, sizeof err) == NULL &&
              strstr(err, "no/such/dir.jnl"),
          "missing directory: %s", err);

    const char *missing = tmp_path(dir, "missing.jnl");
    CHECK(store_journal_open(missing, err, sizeof err) == NULL && strstr(err, missing) &&
              strstr(err, "No such file"),
          "missing: %s", err);
    collected c = {.nleads = 1};
    CHECK(store_journal_read(missing, 0, collect, &c, err, sizeof err) == -1 &&
              strstr(err, missing),
          "read missing: %s", err);
    CHECK(store_journal_read(path, -1, collect, &c, err, sizeof err) == -1 &&
              strstr(err, "negative"),
          "negative from: %s", err);
    CHECK(c.blocks == 0, "no callback on errors");

    const char *text = tmp_path(dir, "notes.txt");
    spill(text, (const uint8_t *)"hello, this is not a journal\n", 29);
    CHECK(store_journal_open(text, err, sizeof err) == NULL &&
              strstr(err, "not an ecgnet journal") && strstr(err, text),
          "non-journal: %s", err);
    CHECK(store_journal_read(text, 0, collect, &c, err, sizeof err) == -1 &&
              strstr(err, "not an ecgnet journal"),
          "read non-journal: %s", err);
    spill(text, (const uint8_t *)"", 0);
    CHECK(store_journal_open(text, err, sizeof err) == NULL && strstr(err, "empty"),
          "empty file: %s", err);

    size_t len = 0;
    uint8_t *bytes = slurp(path, &len);
    if (!bytes) return;
    const char *other = tmp_path(dir, "v2.jnl");
    bytes[8] = 2; /* format version 2 */
    spill(other, bytes, len);
    CHECK(store_journal_open(other, err, sizeof err) == NULL &&
              strstr(err, "version 2 is not supported") && strstr(err, other),
          "bad version: %s", err);
    bytes[8] = 1;
    spill(other, bytes, 12); /* a header cut short */
    CHECK(store_journal_open(other, err, sizeof err) == NULL &&
              strstr(err, "corrupt journal header"),
          "truncated header: %s", err);
    bytes[10] = 17; /* an impossible lead count */
    spill(other, bytes, len);
    CHECK(store_journal_open(other, err, sizeof err) == NULL &&
              strstr(err, "corrupt journal header"),
          "17 leads: %s", err);
    free(bytes);
}

static void durable_lags_next_until_sync(void)
{
    const char *dir = check_tmpdir("journal_durable");
    store_journal *j = new_journal(tmp_path(dir, "d.jnl"), 2, 2);
    int32_t x[2 * 50] = {0};
    CHECK(store_journal_sync(j, err, sizeof err) == 0 && store_journal_durable(j) == 0,
          "sync with nothing pending: %s", err);
    CHECK(store_journal_append(j, 0, x, 50, 0, err, sizeof err) == 0, "%s", err);
    CHECK(store_journal_next(j) == 50 && store_journal_durable(j) == 0, "appended, not durable");
    CHECK(store_journal_append(j, 50, x, 20, 0, err, sizeof err) == 0, "%s", err);
    CHECK(store_journal_durable(j) == 0, "still not durable: many frames, one sync");
    CHECK(store_journal_sync(j, err, sizeof err) == 0 && store_journal_durable(j) == 70,
          "durable after sync: %lld", (long long)store_journal_durable(j));
    CHECK(store_journal_sync(j, err, sizeof err) == 0 && store_journal_durable(j) == 70,
          "a second sync is a no-op");
    CHECK(store_journal_append(j, 70, x, 5, 0, err, sizeof err) == 0 &&
              store_journal_durable(j) == 70 && store_journal_next(j) == 75,
          "lags again");
    CHECK(store_journal_end(j, err, sizeof err) == 0 && store_journal_durable(j) == 75,
          "end syncs: %lld", (long long)store_journal_durable(j));
    store_journal_close(j);
}

static void a_failed_write_leaves_whole_records_and_appending_goes_on(void)
{
    const char *dir = check_tmpdir("journal_write_fail");
    const char *path = tmp_path(dir, "w.jnl");
    const int nl = 4;
    store_journal *j = new_journal(path, nl, 2);
    size_t first_n = 1000, big_n = STORE_JOURNAL_MAX_FRAMES + 5000, small_n = 500;
    size_t total = first_n + big_n + small_n;
    int32_t *x = random_frames(total, nl, 2);
    CHECK(store_journal_append(j, 0, x, first_n, 0, err, sizeof err) == 0 &&
              store_journal_sync(j, err, sizeof err) == 0,
          "%s", err);
    int64_t size0 = file_size(path);

    struct rlimit old;
    getrlimit(RLIMIT_FSIZE, &old);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    int64_t rec_bytes = 16 + (int64_t)STORE_JOURNAL_MAX_FRAMES * nl * 2 + 4;
    /* the block's first record fits, its second is cut off part way */
    struct rlimit lim = {.rlim_cur = (rlim_t)(size0 + rec_bytes + 3000), .rlim_max = old.rlim_max};
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0, "setrlimit");
    CHECK(store_journal_append(j, (int64_t)first_n, x + first_n * nl, big_n, 0, err, sizeof err) ==
              -1,
          "append beyond the file size limit fails");
    CHECK(strstr(err, path) && strstr(err, "file size limit") && strstr(err, "none of them"),
          "a message a user can act on: %s", err);
    CHECK(store_journal_next(j) == (int64_t)first_n && store_journal_durable(j) == (int64_t)first_n,
          "next unchanged: %lld", (long long)store_journal_next(j));
    CHECK(file_size(path) == size0, "file cut back to its last whole record: %lld, want %lld",
          (long long)file_size(path), (long long)size0);
    /* a limit inside the first record of a block */
    lim.rlim_cur = (rlim_t)(size0 + 100);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0, "setrlimit");
    CHECK(store_journal_append(j, (int64_t)first_n, x + first_n * nl, small_n, 0, err,
                               sizeof err) == -1 &&
              file_size(path) == size0 && store_journal_next(j) == (int64_t)first_n,
          "torn first record undone: %s", err);
    lim.rlim_cur = (rlim_t)size0; /* not even the 20-byte end record fits */
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0, "setrlimit");
    CHECK(store_journal_end(j, err, sizeof err) == -1 && !store_journal_ended(j) &&
              file_size(path) == size0,
          "a failed end record is undone too: %s", err);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0, "restore the limit");
    signal(SIGXFSZ, old_handler);

    CHECK(store_journal_append(j, (int64_t)first_n, x + first_n * nl, big_n + small_n, 0, err,
                               sizeof err) == 0 &&
              store_journal_sync(j, err, sizeof err) == 0,
          "appending goes on once there is room: %s", err);
    store_journal_close(j);
    j = store_journal_open(path, err, sizeof err);
    CHECK(j && store_journal_next(j) == (int64_t)total && store_journal_dropped_bytes(j) == 0,
          "reopened whole: %s", err);
    store_journal_close(j);
    collected c = read_back(path, nl, 0);
    CHECK(c.n == (int64_t)total && !memcmp(c.x, x, total * nl * sizeof *x),
          "everything reads back bit-exact (%lld frames)", (long long)c.n);
    collected_free(&c);
    free(x);
}

/* Reading from a late sample finds its record by bisection (no index): whatever the record sizes
 * and the sample values (random data full of byte patterns that look like record headers), the
 * frames delivered from any sample on are exactly the journal's, also past a torn tail and an
 * end record. */
static void reading_from_a_late_sample_gives_exactly_the_frames_from_there(void)
{
    const char *dir = check_tmpdir("journal_seek");
    const char *path = tmp_path(dir, "long.jnl");
    enum { NLEADS = 3, FRAMES = 1200000 }; /* 7.2 MB: many bisection steps */
    int32_t *x = random_frames(FRAMES, NLEADS, 2);
    store_journal *j = new_journal(path, NLEADS, 2);
    int64_t at = 0;
    while (at < FRAMES) { /* records of 1 .. 700 frames, a few of the maximum */
        int64_t n = rnd() % 50 == 0 ? STORE_JOURNAL_MAX_FRAMES : 1 + rnd() % 700;
        if (at + n > FRAMES) n = FRAMES - at;
        CHECK(store_journal_append(j, at, x + at * NLEADS, (size_t)n, (uint32_t)at, err, sizeof err) == 0, "%s",
              err);
        at += n;
    }
    CHECK(store_journal_sync(j, err, sizeof err) == 0, "%s", err);
    const int64_t froms[] = {1, 2, 699, 700, 701, 65535, 65536, FRAMES / 3, FRAMES / 2 + 17, FRAMES - 70000,
                             FRAMES - 1, FRAMES};
    for (int round = 0; round < 3; round++) {
        if (round == 1) { /* a torn tail: half a record of garbage after the last whole one */
            FILE *f = fopen(path, "ab");
            uint8_t junk[1000];
            for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)rnd();
            junk[0] = 1, junk[1] = 0;
            fwrite(junk, 1, sizeof junk, f);
            fclose(f);
        }
        if (round == 2) { /* an ended journal (rewritten: a torn tail cannot be appended to) */
            store_journal_close(j);
            j = new_journal(path, NLEADS, 2);
            CHECK(store_journal_append(j, 0, x, FRAMES / 2, 0, err, sizeof err) == 0, "%s", err);
            CHECK(store_journal_append(j, FRAMES / 2, x + (FRAMES / 2) * NLEADS, FRAMES - FRAMES / 2, 0, err,
                                       sizeof err) == 0,
                  "%s", err);
            CHECK(store_journal_end(j, err, sizeof err) == 0, "%s", err);
        }
        for (size_t k = 0; k < sizeof froms / sizeof froms[0]; k++) {
            collected c = read_back(path, NLEADS, froms[k]);
            CHECK(c.n == FRAMES - froms[k] &&
                      (c.n == 0 || !memcmp(c.x, x + froms[k] * NLEADS, (size_t)c.n * NLEADS * sizeof *x)),
                  "round %d, from %lld: %lld frames, want %lld", round, (long long)froms[k], (long long)c.n,
                  (long long)(FRAMES - froms[k]));
            collected_free(&c);
        }
    }
    store_journal_close(j);
    free(x);
}

static void summary_counts_the_valid_records(void)
{
    const char *dir = check_tmpdir("journal_summary");
    const char *path = tmp_path(dir, "s.jnl");
    int64_t bounds[CRASH_RECORDS + 2], frames_at[CRASH_RECORDS + 2];
    int32_t *x = write_crash_journal(path, bounds, frames_at);
    store_journal_summary s;
    CHECK(store_journal_summarize(path, &s, err, sizeof err) == 0 && s.nleads == 2 &&
              s.sample_bytes == 2 && s.frames == frames_at[CRASH_RECORDS] && s.ended,
          "summary %d leads %lld frames ended %d: %s", s.nleads, (long long)s.frames, s.ended, err);
    CHECK(truncate(path, bounds[3] + 5) == 0, "truncate");
    CHECK(store_journal_summarize(path, &s, err, sizeof err) == 0 && s.frames == frames_at[3] &&
              !s.ended && file_size(path) == bounds[3] + 5,
          "a torn tail is not counted and not touched: %lld frames", (long long)s.frames);
    CHECK(store_journal_summarize(tmp_path(dir, "none.jnl"), &s, err, sizeof err) == -1,
          "missing journal");
    free(x);
}

static void compare_tells_bit_exact_from_prefix_changed_and_overlong(void)
{
    const char *dir = check_tmpdir("journal_compare");
    char path[1200], err[STORE_JOURNAL_ERRLEN];
    snprintf(path, sizeof path, "%s/c.ej", dir);
    store_journal_info info = {2, 2, "{}"};
    store_journal *j = store_journal_create(path, &info, err, sizeof err);
    int32_t frames[2 * 50];
    for (int i = 0; i < 100; i++) frames[i] = i - 50;
    CHECK(j && !store_journal_append(j, 0, frames, 40, 0, err, sizeof err) && !store_journal_sync(j, err, sizeof err),
          "writing: %s", err);
    store_journal_close(j);
    store_journal_diff d;
    CHECK(!store_journal_compare(path, frames, 40, 2, &d, err, sizeof err) && d.frames == 40 && d.mismatches == 0,
          "bit-exact: %lld frames, %lld mismatches", (long long)d.frames, (long long)d.mismatches);
    CHECK(!store_journal_compare(path, frames, 50, 2, &d, err, sizeof err) && d.frames == 40 && d.mismatches == 0,
          "a prefix of 50 frames: %lld frames, %lld mismatches", (long long)d.frames, (long long)d.mismatches);
    CHECK(!store_journal_compare(path, frames, 30, 2, &d, err, sizeof err) && d.frames == 40 && d.mismatches == 20,
          "10 frames beyond 30 expected count 20 samples: %lld", (long long)d.mismatches);
    frames[2 * 7 + 1] += 1;
    CHECK(!store_journal_compare(path, frames, 40, 2, &d, err, sizeof err) && d.mismatches == 1,
          "one changed sample: %lld", (long long)d.mismatches);
    CHECK(store_journal_compare(path, frames, 40, 3, &d, err, sizeof err) == -1 && strstr(err, "2 leads"),
          "another lead count is an error: '%s'", err);
}

int main(void)
{
    RUN(round_trip_bit_exact_int16);
    RUN(round_trip_bit_exact_int32);
    RUN(empty_meta_reads_back_empty);
    RUN(every_truncation_recovers_exactly_the_whole_records);
    RUN(a_flipped_byte_in_record_k_keeps_the_records_before_it);
    RUN(gaps_overlaps_and_out_of_range_values_are_refused);
    RUN(create_and_open_refuse_what_is_not_a_usable_journal);
    RUN(durable_lags_next_until_sync);
    RUN(a_failed_write_leaves_whole_records_and_appending_goes_on);
    RUN(summary_counts_the_valid_records);
    RUN(reading_from_a_late_sample_gives_exactly_the_frames_from_there);
    RUN(compare_tells_bit_exact_from_prefix_changed_and_overlong);
    return check_report();
}
