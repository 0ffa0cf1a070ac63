/* fuzz_wfdb.c — libFuzzer target for the WFDB header parser and record reader.
 *
 * Input: header text, a NUL byte, then signal-file bytes. The header is parsed from memory, then
 * written with the bytes (as r.dat and s.dat) into a per-process temp dir and opened as a record,
 * read in odd blocks and re-read after seeks; any difference between the two readings aborts.
 */
#include "record.h"
#include "wfdb_hea.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FRAMES 20000 /* keeps one input fast whatever rate the header claims */

static int write_file(const char *dir, const char *name, const uint8_t *d, size_t n)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(d, 1, n, f);
    fclose(f);
    return w == n ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t hlen = nul ? (size_t)(nul - data) : size;
    const uint8_t *dat = nul ? nul + 1 : data + size;
    size_t dlen = (size_t)(data + size - dat);

    char err[FMT_ERRLEN];
    static wfdb_header h;
    if (wfdb_hea_parse((const char *)data, hlen, "fuzz.hea", &h, err, sizeof err) == 0) {
        if (h.nsig < 1 || h.nsig > FMT_MAX_LEADS || !(h.fs > 0)) abort();
    } else if (!err[0]) {
        abort(); /* every failure must say why */
    }

    static char dir[64];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz_wfdb_%d", (int)getpid());
        mkdir(dir, 0700);
    }
    if (write_file(dir, "r.hea", data, hlen) || write_file(dir, "r.dat", dat, dlen) ||
        write_file(dir, "s.dat", dat, dlen))
        return 0;
    char path[128];
    snprintf(path, sizeof path, "%s/r", dir);
    fmt_record *r = NULL;
    err[0] = '\0';
    if (fmt_record_open(path, &r, err, sizeof err)) {
        if (!err[0]) abort();
        return 0;
    }
    int nl = fmt_record_nleads(r);
    int64_t n = fmt_record_nsamples(r);
    if (n > MAX_FRAMES) n = MAX_FRAMES;
    int32_t *all = malloc((size_t)(n + 1) * (size_t)nl * sizeof *all);
    int32_t *again = malloc((size_t)(n + 1) * (size_t)nl * sizeof *again);
    if (!all || !again) abort();
    int64_t pos = 0;
    static const long sizes[] = {1, 3, 2, 517, 7};
    for (int i = 0; pos < n; i++) {
        long want = sizes[i % 5] < n - pos ? sizes[i % 5] : (long)(n - pos);
        long got = fmt_record_read(r, all + pos * nl, want, err, sizeof err);
        if (got < 0) goto done; /* e.g. an I/O error; the message is set */
        if (got != want) abort();
        pos += got;
    }
    for (int64_t start = n - 1; start >= 0 && start > n - 40; start -= 3) {
        if (fmt_record_seek(r, start, err, sizeof err)) abort();
        long k = (long)(n - start);
        if (fmt_record_read(r, again, k, err, sizeof err) != k) abort();
        if (memcmp(again, all + start * nl, (size_t)k * (size_t)nl * sizeof *again)) abort();
    }
done:
    free(again);
    free(all);
    fmt_record_free(r);
    return 0;
}
