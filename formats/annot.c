/* annot.c — reads WFDB (MIT format) annotation files and classifies annotation codes.
 *
 * The MIT format is a stream of 16-bit little-endian words, each a 6-bit code A and a 10-bit
 * field I. A in 1..49 starts an annotation I samples after the previous one; the pseudo-codes
 * after it modify that annotation (NUM, SUB, CHN, AUX) and SKIP moves the time before the next.
 * NUM and CHN carry over from one annotation to the next (writers only emit changes); SUB and
 * AUX do not. A leading NOTE at sample 0 whose aux begins "## " is a header (e.g. "## time
 * resolution: 1000") that WFDB hides; so does this reader.
 */
#include "annot.h"
#include "record_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define A_SKIP 59
#define A_NUM 60
#define A_SUB 61
#define A_CHN 62
#define A_AUX 63
#define ACMAX 49
#define MAX_ANNOT_BYTES ((long)1 << 30) /* a 1 GiB annotation file is corrupt, not a long record */

static const char mnemonics[ACMAX + 1] = {
    '?', 'N', 'L', 'R', 'a', 'V', 'F', 'J', 'A', 'S', /* 0-9 */
    'E', 'j', '/', 'Q', '~', '?', '|', '?', 's', 'T', /* 10-19 */
    '*', 'D', '"', '=', 'p', 'B', '^', 't', '+', 'u', /* 20-29 */
    '?', '!', '[', ']', 'e', 'n', '@', 'x', 'f', '(', /* 30-39 */
    ')', 'r', '?', '?', '?', '?', '?', '?', '?', '?', /* 40-49 */
};

char fmt_annot_mnemonic(uint8_t code) { return code <= ACMAX ? mnemonics[code] : '?'; }

int fmt_annot_is_beat(uint8_t code)
{
    /* WFDB's isqrs(): the beat codes plus LEARN '?' and ventricular flutter waves '!'. */
    switch (code) {
    case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 9: case 10: case 11:
    case 12: case 13: case 25: case 30: case 31: case 34: case 35: case 38: case 41:
        return 1;
    default:
        return 0;
    }
}

char fmt_annot_aami_class(uint8_t code)
{
    /* ANSI/AAMI EC57 classes as in de Chazal et al. 2004; other beat codes (B ? ! n r) have none. */
    switch (code) {
    case 1: case 2: case 3: case 34: case 11: return 'N';
    case 8: case 4: case 7: case 9: return 'S';
    case 5: case 10: return 'V';
    case 6: return 'F';
    case 12: case 38: case 13: return 'Q';
    default: return 0;
    }
}

void fmt_annot_list_free(fmt_annot_list *list)
{
    if (!list) return;
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

/* Appends a zeroed annotation; NULL when out of memory. */
static fmt_annot *push(fmt_annot_list *l, size_t *cap)
{
    if (l->count == *cap) {
        size_t nc = *cap ? *cap * 2 : 1024;
        fmt_annot *p = realloc(l->items, nc * sizeof *p);
        if (!p) return NULL;
        l->items = p;
        *cap = nc;
    }
    fmt_annot *a = &l->items[l->count++];
    memset(a, 0, sizeof *a);
    return a;
}

/* The stream parser; on failure the caller frees what was appended. */
static int parse_stream(const uint8_t *d, size_t n, const char *name, fmt_annot_list *out,
                        char *err, size_t errlen)
{
    size_t cap = 0, pos = 0;
    int64_t t = 0;
    int8_t num = 0;
    uint8_t chan = 0;
    fmt_annot *cur = NULL; /* the annotation that modifier words apply to */
    for (;;) {
        if (pos + 2 > n)
            return fmt_fail(err, errlen,
                            "%s: truncated: the annotation stream stops at byte %zu without its end "
                            "marker",
                            name, pos);
        unsigned w = d[pos] | (unsigned)d[pos + 1] << 8;
        unsigned a = w >> 10, i = w & 0x3ff;
        size_t at = pos;
        pos += 2;
        if (w == 0) break; /* end of file marker */
        switch (a) {
        case A_SKIP: {
            if (pos + 4 > n)
                return fmt_fail(err, errlen, "%s: truncated: SKIP at byte %zu lacks its interval",
                                name, at);
            /* PDP-11 order: the high 16-bit word first, each word little-endian. */
            uint32_t hi = d[pos] | (uint32_t)d[pos + 1] << 8, lo = d[pos + 2] | (uint32_t)d[pos + 3] << 8;
            int32_t skip = (int32_t)(hi << 16 | lo);
            pos += 4;
            t += skip;
            if (t < 0)
                return fmt_fail(err, errlen, "%s: corrupt: SKIP at byte %zu moves time before 0", name,
                                at);
            cur = NULL;
            break;
        }
        case A_NUM:
            /* 10-bit two's complement in the file; the field is a signed char. */
            num = (int8_t)(i & 0x200 ? (int)i - 1024 : (int)i);
            if (cur) cur->num = num;
            break;
        case A_SUB:
            if (cur) cur->subtype = (int8_t)(i & 0x200 ? (int)i - 1024 : (int)i);
            break;
        case A_CHN:
            chan = (uint8_t)i;
            if (cur) cur->chan = chan;
            break;
        case A_AUX: {
            size_t padded = i + (i & 1);
            if (pos + padded > n)
                return fmt_fail(err, errlen, "%s: truncated: aux string at byte %zu needs %u bytes",
                                name, at, i);
            if (cur) {
                size_t k = i < sizeof cur->aux - 1 ? i : sizeof cur->aux - 1;
                memcpy(cur->aux, d + pos, k);
                cur->aux[k] = '\0';
            }
            pos += padded;
            break;
        }
        default:
            if (a == 0 || a > ACMAX)
                return fmt_fail(err, errlen, "%s: corrupt: code %u at byte %zu is not an annotation code",
                                name, a, at);
            t += i;
            if (!(cur = push(out, &cap)))
                return fmt_fail(err, errlen, "%s: out of memory after %zu annotations", name,
                                out->count);
            cur->sample = t;
            cur->code = (uint8_t)a;
            cur->num = num;
            cur->chan = chan;
            break;
        }
    }
    /* WFDB writers put a header NOTE first; it is not part of the record's annotations. */
    if (out->count && out->items[0].code == 22 && out->items[0].sample == 0 &&
        !strncmp(out->items[0].aux, "## ", 3)) {
        memmove(out->items, out->items + 1, (out->count - 1) * sizeof *out->items);
        out->count--;
    }
    return 0;
}

int fmt_annot_parse_wfdb(const void *data, size_t len, const char *name, fmt_annot_list *out,
                         char *err, size_t errlen)
{
    out->items = NULL;
    out->count = 0;
    if (parse_stream(data, len, name, out, err, errlen)) {
        fmt_annot_list_free(out);
        return -1;
    }
    return 0;
}

int fmt_annot_read_wfdb(const char *path, fmt_annot_list *out, char *err, size_t errlen)
{
    out->items = NULL;
    out->count = 0;
    uint8_t *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return fmt_fail(err, errlen, "%s: cannot open annotation file: %s", path, strerror(errno));
    long size;
    if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
        fmt_fail(err, errlen, "%s: cannot determine the file size (not a regular file?)", path);
        goto fail;
    }
    if (size > MAX_ANNOT_BYTES) {
        fmt_fail(err, errlen, "%s: %ld bytes is too large for an annotation file", path, size);
        goto fail;
    }
    data = malloc(size ? (size_t)size : 1);
    if (!data) {
        fmt_fail(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    if (fread(data, 1, (size_t)size, f) != (size_t)size) {
        fmt_fail(err, errlen, "%s: read error", path);
        goto fail;
    }
    if (fmt_annot_parse_wfdb(data, (size_t)size, path, out, err, errlen)) goto fail;
    free(data);
    fclose(f);
    return 0;
fail:
    free(data);
    fclose(f);
    return -1;
}
