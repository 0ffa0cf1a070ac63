/* bench_journal_seek.c — reading a late window of a 24-hour recording's journal: a 12-lead 500 Hz
 * Holter journal (1 GB, records of 200 ms as devices send them) is written to a scratch directory,
 * then 10-s windows are read from its start, middle and end, as the viewer's tiles ask for them,
 * and compared with one full scan (store_journal_summarize reads every record). Prints times.
 *
 * usage: bench_journal_seek [SCRATCH_DIR] [HOURS]   (defaults: /tmp, 24)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"

enum { LEADS = 12, FS = 500, RECORD = FS / 5, WINDOW = 10 * FS };

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

typedef struct {
    int64_t want, got;
} window;

static int take(void *ctx, int64_t first, const int32_t *frames, size_t n, uint32_t flags)
{
    window *w = ctx;
    (void)first, (void)frames, (void)flags;
    w->got += (int64_t)n;
    return w->got >= w->want;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    double hours = argc > 2 ? atof(argv[2]) : 24;
    char path[4096], err[STORE_JOURNAL_ERRLEN];
    snprintf(path, sizeof path, "%s/bench-seek-%d.ej", dir, (int)getpid());
    int64_t frames = (int64_t)(hours * 3600 * FS);
    store_journal_info info = {.nleads = LEADS, .sample_bytes = 2, .meta = "{}"};
    store_journal *j = store_journal_create(path, &info, err, sizeof err);
    if (!j) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int32_t block[RECORD * LEADS];
    double t0 = now_ms();
    for (int64_t at = 0; at < frames; at += RECORD) {
        for (int i = 0; i < RECORD * LEADS; i++) block[i] = (int32_t)((at + i) % 2000) - 1000;
        if (store_journal_append(j, at, block, RECORD, 0, err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            store_journal_close(j);
            unlink(path);
            return 1;
        }
    }
    store_journal_sync(j, err, sizeof err);
    store_journal_close(j);
    printf("wrote %.1f h, %lld frames x %d leads in %.1f s\n", hours, (long long)frames, LEADS,
           (now_ms() - t0) / 1e3);

    const double at_h[] = {0, hours / 2, hours - 10.0 / 3600};
    for (int rep = 0; rep < 2; rep++)
        for (size_t k = 0; k < sizeof at_h / sizeof *at_h; k++) {
            window w = {WINDOW, 0};
            double t = now_ms();
            store_journal_read(path, (int64_t)(at_h[k] * 3600 * FS), take, &w, err, sizeof err);
            printf("10-s window at %5.2f h: %6.2f ms (%lld frames)%s\n", at_h[k], now_ms() - t, (long long)w.got,
                   rep ? "" : " (first read)");
        }
    store_journal_summary sum;
    double t = now_ms();
    store_journal_summarize(path, &sum, err, sizeof err);
    printf("full scan of the journal: %.0f ms\n", now_ms() - t);
    unlink(path);
    return 0;
}
