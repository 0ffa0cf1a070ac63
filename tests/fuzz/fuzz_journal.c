/* fuzz_journal.c — arbitrary bytes as a journal: recover, append, close, read and summarize; and
 * reading from a later sample (which bisects) gives exactly what reading from the start gives. */
#include "journal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
    int64_t next; /* sample the next block must start at */
} fuzz_read;

static int check_block(void *ctx, int64_t first, const int32_t *frames, size_t nframes,
                       uint32_t flags)
{
    fuzz_read *r = ctx;
    if (first != r->next || nframes == 0 || nframes > STORE_JOURNAL_MAX_FRAMES) abort();
    r->next += (int64_t)nframes;
    (void)frames, (void)flags;
    return 0;
}

/* The frames from FROM on, as one hash per frame position: reading from FROM must give, frame for
 * frame, what reading from 0 gave there. */
typedef struct {
    int64_t from, next;
    int nleads;
    uint32_t *per_frame; /* from the full read; NULL while making it */
    int64_t count;
} fuzz_cmp;

static uint32_t frame_hash(const int32_t *f, int nleads, uint32_t flags)
{
    uint32_t h = 2166136261u ^ flags;
    for (int l = 0; l < nleads; l++) h = (h ^ (uint32_t)f[l]) * 16777619u;
    return h;
}

static int compare_block(void *ctx, int64_t first, const int32_t *frames, size_t nframes, uint32_t flags)
{
    fuzz_cmp *c = ctx;
    if (first != c->next || nframes == 0) abort();
    for (size_t k = 0; k < nframes; k++) {
        int64_t at = first + (int64_t)k;
        if (at >= c->count || c->per_frame[at] != frame_hash(frames + k * (size_t)c->nleads, c->nleads, flags))
            abort();
    }
    c->next += (int64_t)nframes;
    return 0;
}

static int record_block(void *ctx, int64_t first, const int32_t *frames, size_t nframes, uint32_t flags)
{
    fuzz_cmp *c = ctx;
    for (size_t k = 0; k < nframes && first + (int64_t)k < c->count; k++)
        c->per_frame[first + (int64_t)k] = frame_hash(frames + k * (size_t)c->nleads, c->nleads, flags);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[STORE_JOURNAL_ERRLEN];
    /* the journal takes paths; one file per process so parallel fuzzing jobs do not collide */
    snprintf(path, sizeof path, "/tmp/fuzz_journal_%ld.jnl", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);

    int64_t expect = -1; /* frames a reader must see after a successful open (and append) */
    store_journal *j = store_journal_open(path, err, sizeof err);
    if (j) {
        expect = store_journal_next(j);
        if (store_journal_durable(j) != expect || store_journal_dropped_bytes(j) < 0 ||
            store_journal_dropped_bytes(j) > (int64_t)size)
            abort();
        int32_t frames[3 * STORE_JOURNAL_MAX_LEADS] = {1, -1, 32767, -32768};
        if (!store_journal_ended(j)) {
            if (store_journal_append(j, expect, frames, 3, 5, err, sizeof err) != 0) abort();
            expect += 3;
        } else if (store_journal_append(j, expect, frames, 3, 5, err, sizeof err) == 0) {
            abort();
        }
        store_journal_close(j);
    }
    fuzz_read r = {0};
    int rc = store_journal_read(path, 0, check_block, &r, err, sizeof err);
    if (j && (rc != 0 || r.next != expect)) abort();
    store_journal_summary s;
    rc = store_journal_summarize(path, &s, err, sizeof err);
    if (j && (rc != 0 || s.frames != expect)) abort();
    if (j && expect > 0) {
        fuzz_cmp c = {.nleads = s.nleads, .count = expect, .per_frame = calloc((size_t)expect, sizeof(uint32_t))};
        if (!c.per_frame || store_journal_read(path, 0, record_block, &c, err, sizeof err)) abort();
        const int64_t froms[] = {1, expect / 3, expect / 2, expect - 1, expect};
        for (size_t k = 0; k < sizeof froms / sizeof *froms; k++) {
            c.from = c.next = froms[k];
            if (store_journal_read(path, froms[k], compare_block, &c, err, sizeof err) || c.next != expect) abort();
        }
        free(c.per_frame);
    }
    unlink(path);
    return 0;
}
