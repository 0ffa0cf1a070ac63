/* fuzz_journal.c — arbitrary bytes as a journal: recover, append, close, read and summarize. */
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
    (void)frames, (void)flags;
    if (first != r->next || nframes == 0 || nframes > STORE_JOURNAL_MAX_FRAMES) abort();
    r->next += (int64_t)nframes;
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
    unlink(path);
    return 0;
}
