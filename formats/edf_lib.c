/* edf_lib.c — EDFlib glue: the process-wide open/close mutex, error messages, header diagnosis. */
#include "edf_lib.h"

#include "record_impl.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The one process-wide mutable global of the module: EDFlib's open/close race on its own
 * global file table, so they must be serialised across every thread of the process. */
static pthread_mutex_t edf_mutex = PTHREAD_MUTEX_INITIALIZER;

void fmt_edf_lock(void) { pthread_mutex_lock(&edf_mutex); }
void fmt_edf_unlock(void) { pthread_mutex_unlock(&edf_mutex); }

const char *fmt_edf_strerror(int code)
{
    switch (code) {
    case EDFLIB_MALLOC_ERROR: return "out of memory";
    case EDFLIB_NO_SUCH_FILE_OR_DIRECTORY: return "cannot open the file";
    case EDFLIB_FILE_CONTAINS_FORMAT_ERRORS: return "the file contains format errors";
    case EDFLIB_MAXFILES_REACHED:
        return "too many EDF files open in this process (EDFlib allows 64 at once)";
    case EDFLIB_FILE_READ_ERROR: return "read error";
    case EDFLIB_FILE_ALREADY_OPENED: return "the file is already open in this process";
    case EDFLIB_FILETYPE_ERROR: return "unsupported file type";
    case EDFLIB_FILE_WRITE_ERROR: return "write error";
    case EDFLIB_NUMBER_OF_SIGNALS_INVALID: return "invalid number of signals";
    case EDFLIB_FILE_IS_DISCONTINUOUS:
        return "EDF+D (discontinuous) files are not supported; convert to EDF+C";
    case EDFLIB_INVALID_READ_ANNOTS_VALUE: return "invalid annotation reading mode";
    case EDFLIB_ARCH_ERROR: return "EDFlib does not support this architecture";
    default: return "unknown EDFlib error";
    }
}

/* Spells PATH differently but equivalently, K times over, so EDFlib's same-path check (a plain
 * strcmp) lets another reader open the same file. */
static int alt_path(char *buf, size_t len, const char *path, int k)
{
    size_t n = 0;
    const char *rest = path;
    if (path[0] == '/') {
        buf[n++] = '/';
        rest = path + 1;
        for (int i = 0; i < k; i++) {
            if (n + 2 >= len) return -1;
            buf[n++] = '.';
            buf[n++] = '/';
        }
    } else {
        for (int i = 0; i < k; i++) {
            if (n + 2 >= len) return -1;
            buf[n++] = '.';
            buf[n++] = '/';
        }
    }
    size_t rl = strlen(rest);
    if (n + rl >= len) return -1;
    memcpy(buf + n, rest, rl + 1);
    return 0;
}

int fmt_edf_open_readonly(const char *path, struct edf_hdr_struct *hdr, int read_annotations,
                          char *err, size_t errlen)
{
    char alt[FMT_EDF_MAX_PATH + 1];
    if (strlen(path) > FMT_EDF_MAX_PATH)
        return fmt_fail(err, errlen, "%s: path longer than %d bytes (EDFlib's limit)", path,
                        FMT_EDF_MAX_PATH);
    int code = EDFLIB_FILE_ALREADY_OPENED;
    for (int k = 0; k < 16 && code == EDFLIB_FILE_ALREADY_OPENED; k++) {
        if (alt_path(alt, sizeof alt, path, k)) break;
        fmt_edf_lock();
        int rc = edfopen_file_readonly(alt, hdr, read_annotations);
        fmt_edf_unlock();
        if (rc == 0) return hdr->handle;
        code = hdr->filetype;
    }
    switch (code) {
    case EDFLIB_NO_SUCH_FILE_OR_DIRECTORY: {
        struct stat st;
        if (stat(path, &st) != 0)
            return fmt_fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        if (S_ISDIR(st.st_mode)) return fmt_fail(err, errlen, "%s: is a directory", path);
        return fmt_fail(err, errlen, "%s: cannot open the file (no read permission?)", path);
    }
    case EDFLIB_FILE_CONTAINS_FORMAT_ERRORS:
    case EDFLIB_FILE_READ_ERROR:
    case EDFLIB_FILETYPE_ERROR:
        if (fmt_edf_diagnose(path, err, errlen)) return -1;
        return fmt_fail(err, errlen,
                        "%s: %s (EDFlib rejects the header: a number field that is not a number, "
                        "digital minimum not below maximum, equal physical minimum and maximum, "
                        "or a malformed EDF+ field)",
                        path, fmt_edf_strerror(code));
    default:
        return fmt_fail(err, errlen, "%s: %s", path, fmt_edf_strerror(code));
    }
}

int fmt_edf_close(int handle)
{
    fmt_edf_lock();
    int rc = edfclose_file(handle);
    fmt_edf_unlock();
    return rc;
}

/* ---- diagnosis from the file's own header (only after EDFlib refused it) ---- */

typedef struct {
    const char *name;
    int width;
} hdr_field;

static const hdr_field main_fields[] = {
    {"version", 8},         {"patient identification", 80}, {"recording identification", 80},
    {"start date", 8},      {"start time", 8},              {"number of header bytes", 8},
    {"reserved", 44},       {"number of data records", 8},  {"data record duration", 8},
    {"number of signals", 4},
};

static const hdr_field signal_fields[] = {
    {"label", 16},           {"transducer type", 80}, {"physical dimension", 8},
    {"physical minimum", 8}, {"physical maximum", 8}, {"digital minimum", 8},
    {"digital maximum", 8},  {"prefiltering", 80},    {"samples per data record", 8},
    {"reserved", 32},
};

/* Parses a space-padded integer header field; -1 with *ok = 0 when it is not one. */
static long long field_int(const unsigned char *p, int width, int *ok)
{
    char s[96];
    memcpy(s, p, (size_t)width);
    s[width] = 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    while (*end == ' ') end++;
    *ok = (end != s && *end == 0 && errno == 0);
    return *ok ? v : -1;
}

/* Names the first byte of the header that is not printable ASCII, or returns 0. */
static int check_ascii(const char *path, const unsigned char *h, long nbytes, long skip_first,
                       int nsig, char *err, size_t errlen)
{
    for (long i = skip_first; i < nbytes; i++) {
        if (h[i] >= 32 && h[i] <= 126) continue;
        const char *field = "?";
        long sig = -1;
        if (i < 256) {
            long off = 0;
            for (size_t f = 0; f < sizeof main_fields / sizeof *main_fields; f++) {
                if (i < off + main_fields[f].width) {
                    field = main_fields[f].name;
                    break;
                }
                off += main_fields[f].width;
            }
        } else {
            long off = 256;
            for (size_t f = 0; f < sizeof signal_fields / sizeof *signal_fields; f++) {
                long w = (long)signal_fields[f].width * nsig;
                if (i < off + w) {
                    field = signal_fields[f].name;
                    sig = (i - off) / signal_fields[f].width;
                    break;
                }
                off += w;
            }
        }
        if (sig >= 0)
            return fmt_fail(err, errlen,
                            "%s: header byte %ld (%s of signal %ld) is 0x%02X, not printable "
                            "ASCII as EDF requires (EDFlib refuses the file; e.g. replace a "
                            "latin-1 'µ' or '°' with plain ASCII)",
                            path, i, field, sig, h[i]);
        return fmt_fail(err, errlen,
                        "%s: header byte %ld (%s) is 0x%02X, not printable ASCII as EDF requires "
                        "(EDFlib refuses the file)",
                        path, i, field, h[i]);
    }
    return 0;
}

int fmt_edf_diagnose(const char *path, char *err, size_t errlen)
{
    unsigned char *sh = NULL;
    unsigned char h[256];
    int rc = -1, ok;
    FILE *f = fopen(path, "rb");
    if (!f) return fmt_fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fmt_fail(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
        goto fail;
    }
    long long size = (long long)st.st_size;
    if (size == 0) {
        fmt_fail(err, errlen, "%s: empty file (0 bytes), not an EDF/BDF file", path);
        goto fail;
    }
    size_t got = fread(h, 1, sizeof h, f);
    if (got < sizeof h) {
        fmt_fail(err, errlen,
                 "%s: only %zu bytes, too short for an EDF/BDF header (256 bytes at least)", path,
                 got);
        goto fail;
    }
    int bdf = h[0] == 0xFF && !memcmp(h + 1, "BIOSEMI", 7);
    if (!bdf && memcmp(h, "0       ", 8)) {
        fmt_fail(err, errlen,
                 "%s: not an EDF or BDF file (it does not start with the version field \"0       "
                 "\" or 0xFF \"BIOSEMI\")",
                 path);
        goto fail;
    }
    if (check_ascii(path, h, 256, bdf ? 1 : 0, 0, err, errlen)) goto fail;
    long long ns = field_int(h + 252, 4, &ok);
    if (!ok || ns < 1 || ns > EDFLIB_MAXSIGNALS) {
        fmt_fail(err, errlen, "%s: number of signals \"%.4s\" is not between 1 and %d", path,
                 (const char *)h + 252, EDFLIB_MAXSIGNALS);
        goto fail;
    }
    long long hbytes = field_int(h + 184, 8, &ok);
    if (!ok || hbytes != 256 * (ns + 1)) {
        fmt_fail(err, errlen,
                 "%s: number of header bytes \"%.8s\" disagrees with %lld signals (expected %lld)",
                 path, (const char *)h + 184, ns, 256 * (ns + 1));
        goto fail;
    }
    if (size < hbytes) {
        fmt_fail(err, errlen,
                 "%s: truncated in the header: %lld signals need %lld header bytes, the file "
                 "holds %lld",
                 path, ns, hbytes, size);
        goto fail;
    }
    size_t slen = (size_t)(ns * 256);
    sh = malloc(slen + 256);
    if (!sh) {
        fmt_fail(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    memcpy(sh, h, 256);
    if (fread(sh + 256, 1, slen, f) != slen) {
        fmt_fail(err, errlen, "%s: read error in the signal headers", path);
        goto fail;
    }
    if (check_ascii(path, sh, (long)(slen + 256), 256, (int)ns, err, errlen)) goto fail;
    long long nrec = field_int(h + 236, 8, &ok);
    if (!ok || nrec < 1) {
        fmt_fail(err, errlen,
                 "%s: number of data records \"%.8s\" is not a positive number (a recording "
                 "that was never finished?)",
                 path, (const char *)h + 236);
        goto fail;
    }
    /* samples-per-record fields sit after label..prefiltering: 16+80+8*5+80 = 216 per signal */
    long long recbytes = 0;
    for (long long s = 0; s < ns; s++) {
        const unsigned char *p = sh + 256 + 216 * ns + 8 * s;
        long long spr = field_int(p, 8, &ok);
        if (!ok || spr < 1) {
            fmt_fail(err, errlen, "%s: samples per data record \"%.8s\" of signal %lld is not a "
                     "positive number", path, (const char *)p, s);
            goto fail;
        }
        recbytes += spr * (bdf ? 3 : 2);
    }
    long long want = hbytes + nrec * recbytes;
    if (size < want) {
        fmt_fail(err, errlen,
                 "%s: truncated: the header says %lld data records of %lld bytes (%lld bytes "
                 "with the header), the file holds %lld bytes (%lld whole records)",
                 path, nrec, recbytes, want, size, (size - hbytes) / recbytes);
        goto fail;
    }
    if (size > want) {
        fmt_fail(err, errlen,
                 "%s: the header says %lld data records of %lld bytes (%lld bytes with the "
                 "header), but the file holds %lld bytes: the record count is wrong",
                 path, nrec, recbytes, want, size);
        goto fail;
    }
    rc = 0;
fail:
    free(sh);
    fclose(f);
    return rc;
}
