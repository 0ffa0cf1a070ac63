/* fuzz_annot.c — libFuzzer target for the MIT-format annotation parser (from memory). */
#include "annot.h"
#include "record.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[FMT_ERRLEN];
    err[0] = '\0';
    fmt_annot_list l;
    if (fmt_annot_parse_wfdb(data, size, "fuzz.atr", &l, err, sizeof err)) {
        if (!err[0] || l.items || l.count) abort();
        return 0;
    }
    for (size_t i = 0; i < l.count; i++) {
        const fmt_annot *a = &l.items[i];
        if (a->code < 1 || a->code > 49 || a->sample < 0) abort();
        if (!memchr(a->aux, '\0', sizeof a->aux)) abort();
        if (fmt_annot_aami_class(a->code) && !fmt_annot_is_beat(a->code)) abort();
        (void)fmt_annot_mnemonic(a->code);
    }
    fmt_annot_list_free(&l);
    return 0;
}
