/* wfdb_hea.h — parser of WFDB header (.hea) text, shared by the WFDB reader and its fuzz target (private).
 *
 * Parses from memory so it can be tested and fuzzed without files. Accepts LF or CRLF lines,
 * comments anywhere ('#' lines), blank lines. Multi-segment headers are recognised and rejected.
 */
#ifndef ECGNET_FORMATS_WFDB_HEA_H
#define ECGNET_FORMATS_WFDB_HEA_H

#include "record.h"

#include <stddef.h>
#include <stdint.h>

#define WFDB_HEA_MAX_BYTES (1 << 20) /* a larger .hea is not a header */
#define WFDB_HEA_MAX_LINE 4096       /* longest accepted header line, in bytes */
#define WFDB_MAX_SPF 100000          /* samples per frame beyond this are absurd */
#define WFDB_MAX_FS 1e6              /* Hz; a higher sampling rate is absurd for ECG */

typedef struct {
    char file[256];    /* signal file name as written (a plain name in the header's directory) */
    int format;        /* 8, 16, 24, 32, 61, 80, 160, 212, 310, 311 (support is the reader's call) */
    int spf;           /* samples per frame, >= 1 */
    int skew;          /* frames; 0 when absent */
    int64_t offset;    /* byte offset of the first sample in the file; 0 when absent */
    double gain;       /* ADC units per physical unit, > 0 (header's 0 or absence means 200) */
    int has_baseline;  /* 1 when the gain field had "(baseline)" */
    int32_t baseline;
    char units[24];    /* "" when absent (WFDB then means mV) */
    int adcres;        /* bits; 0 when absent */
    int32_t adczero;
    char desc[128];    /* description ("" when absent) */
} wfdb_sig;

typedef struct {
    char name[128];    /* record name as the record line gives it */
    int nsig;          /* 1..FMT_MAX_LEADS */
    double fs;         /* frames per second, 0 < fs <= WFDB_MAX_FS (250 when absent) */
    int64_t nsamp;     /* frames, or -1 when the header leaves it out (or gives 0) */
    wfdb_sig sig[FMT_MAX_LEADS];
    fmt_patient patient; /* from comments: "#Age: 74", "# sex: female", MIT's "# 69 M ..." */
} wfdb_header;

/* Parses LEN bytes of header TEXT (need not be NUL-terminated). NAME is used only in messages
 * ("100.hea: line 2: ..."). Returns 0 and fills *h, or -1 with a message in err. */
int wfdb_hea_parse(const char *text, size_t len, const char *name, wfdb_header *h, char *err,
                   size_t errlen);

#endif
