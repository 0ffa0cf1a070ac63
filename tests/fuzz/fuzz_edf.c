/* fuzz_edf.c — arbitrary bytes as an EDF file: open, read every frame, seek, read annotations. */
#include "edf_annot.h"
#include "record.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[FMT_ERRLEN];
    /* the reader takes paths; one file per process so parallel fuzzing jobs do not collide */
    snprintf(path, sizeof path, "/tmp/fuzz_edf_%ld.edf", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);

    fmt_record *r = NULL;
    if (fmt_record_open(path, &r, err, sizeof err) == 0) {
        int32_t buf[FMT_MAX_LEADS * 97];
        int64_t total = 0;
        long n;
        while ((n = fmt_record_read(r, buf, 97, err, sizeof err)) > 0) total += n;
        if (n == 0 && total != fmt_record_nsamples(r)) abort();
        if (fmt_record_nsamples(r) > 0) {
            fmt_record_seek(r, fmt_record_nsamples(r) / 2, err, sizeof err);
            fmt_record_read(r, buf, 5, err, sizeof err);
        }
        fmt_record_free(r);
    }
    fmt_edf_annot_list l;
    if (fmt_edf_read_annotations(path, &l, err, sizeof err) == 0) fmt_edf_annot_list_free(&l);
    unlink(path);
    return 0;
}
