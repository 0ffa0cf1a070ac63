/* fuzz_beatmodel.c — libFuzzer target: the beat model file reader (through a per-process temp
 * file, as the reader takes a path). */
#include "beatclass.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/ecgnet-fuzz-model-%d", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    bc_model *m = NULL;
    char err[512];
    if (bc_model_load(path, &m, err, sizeof err) == 0) {
        if (!bc_model_describe(m)) abort();
        bc_model_free(m);
    } else if (!err[0]) {
        abort(); /* a refusal always says why */
    }
    return 0;
}
