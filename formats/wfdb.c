/* wfdb.c — WFDB record reader: signal files in formats 16/24/32/61/80/160/212/310/311 behind fmt_record.
 *
 * Decisions a caller may care about:
 * - Samples per frame: the record's rate is fs * M, M the largest samples-per-frame of any lead
 *   (WFDB's "high resolution" mode). A lead with fewer samples per frame holds each sample
 *   (sample-and-hold) for M/spf output frames, so every lead is read at the one rate fs * M.
 * - A signal described "EDF Annotations" (what EDF-to-WFDB converters copy from EDF+) carries the
 *   EDF+ annotation bytes, not a waveform: it is skipped, like an EDF reader skips it.
 * - Not supported, rejected at open with a message: format 8 (first differences: seeking would need
 *   every earlier sample), format 0 (null signals), non-zero skew, multi-segment records.
 * - nsamp absent (or 0) in the header: the length is what the shortest signal file holds.
 */
#include "record_impl.h"
#include "wfdb_hea.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_BUF_BYTES (64 * 1024)
#define SCRATCH_SAMPLES (64 * 1024) /* decoded samples per file held between reads (general path) */

typedef struct {
    int fd;
    char path[PATH_MAX];
    int format;
    int gsamp;      /* samples per packed group: 2 for 212, 3 for 310/311, else 1 */
    int gbytes;     /* bytes per packed group */
    int64_t offset; /* byte offset of sample 0 */
    int width;      /* samples per frame in this file (sum of its signals' spf) */
    int64_t next_frame; /* frame the file's stream is positioned at */
    uint8_t *buf;
    size_t blen, bpos;
    int32_t pend[3]; /* rest of a group decoded to serve a read that ended inside it */
    int npend, ipend;
    int32_t *scratch; /* decoded frames for the general path */
} wfdb_file;

typedef struct {
    wfdb_file files[FMT_MAX_LEADS];
    int nfiles;
    int nleads;
    int m;              /* output frames per file frame (largest spf) */
    int lfile[FMT_MAX_LEADS], loff[FMT_MAX_LEADS], lspf[FMT_MAX_LEADS];
    int direct;         /* one file, spf 1, every signal a lead in order: decode straight to caller */
    int64_t nframes;    /* file frames */
    int64_t t;          /* next output frame */
    int chunk;          /* file frames decoded at a time (general path) */
    int64_t sc_first;   /* first file frame in the scratch buffers */
    int sc_count;       /* file frames in them; 0 when invalid */
} wfdb_reader;

/* ---- sample formats ---------------------------------------------------------------------- */

static int format_geometry(int format, int *gsamp, int *gbytes, int *bits)
{
    switch (format) {
    case 80: *gsamp = 1; *gbytes = 1; *bits = 8; return 0;
    case 16: case 61: case 160: *gsamp = 1; *gbytes = 2; *bits = 16; return 0;
    case 24: *gsamp = 1; *gbytes = 3; *bits = 24; return 0;
    case 32: *gsamp = 1; *gbytes = 4; *bits = 32; return 0;
    case 212: *gsamp = 2; *gbytes = 3; *bits = 12; return 0;
    case 310: case 311: *gsamp = 3; *gbytes = 4; *bits = 10; return 0;
    default: return -1;
    }
}

/* Samples a file region of LEN bytes holds, counting a trailing partial group as WFDB writes it
 * (212: a lone last sample takes 2 bytes; 310/311: 2 bytes per 10-bit sample written). */
static int64_t samples_in_bytes(const wfdb_file *f, int64_t len)
{
    int64_t whole = len / f->gbytes * f->gsamp, rest = len % f->gbytes;
    if (f->gsamp == 2) return whole + (rest >= 2);
    if (f->gsamp == 3) return whole + (f->format == 311 ? (rest >= 2) + (rest >= 3) : (rest >= 2));
    return whole;
}

static inline int32_t sext(uint32_t v, int bits)
{
    uint32_t m = 1u << (bits - 1);
    return (int32_t)((v ^ m) - m);
}

/* Decodes NG whole groups at IN into OUT (NG * gsamp samples). The hot path for MIT-BIH (212). */
static void decode_groups(int format, const uint8_t *in, size_t ng, int32_t *out)
{
    size_t i;
    switch (format) {
    case 212:
        for (i = 0; i < ng; i++, in += 3, out += 2) {
            uint32_t b1 = in[1];
            out[0] = (int32_t)((in[0] | (b1 & 0x0f) << 8) ^ 0x800) - 0x800;
            out[1] = (int32_t)((in[2] | (b1 & 0xf0) << 4) ^ 0x800) - 0x800;
        }
        break;
    case 16:
        for (i = 0; i < ng; i++, in += 2) out[i] = (int16_t)(uint16_t)(in[0] | in[1] << 8);
        break;
    case 61:
        for (i = 0; i < ng; i++, in += 2) out[i] = (int16_t)(uint16_t)(in[1] | in[0] << 8);
        break;
    case 160:
        for (i = 0; i < ng; i++, in += 2) out[i] = (int32_t)(in[0] | in[1] << 8) - 32768;
        break;
    case 80:
        for (i = 0; i < ng; i++) out[i] = (int32_t)in[i] - 128;
        break;
    case 24:
        for (i = 0; i < ng; i++, in += 3)
            out[i] = sext((uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16, 24);
        break;
    case 32:
        for (i = 0; i < ng; i++, in += 4)
            out[i] = (int32_t)((uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 |
                               (uint32_t)in[3] << 24);
        break;
    case 310:
        for (i = 0; i < ng; i++, in += 4, out += 3) {
            uint32_t w0 = (uint32_t)in[0] | (uint32_t)in[1] << 8;
            uint32_t w1 = (uint32_t)in[2] | (uint32_t)in[3] << 8;
            out[0] = sext((w0 >> 1) & 0x3ff, 10);
            out[1] = sext((w1 >> 1) & 0x3ff, 10);
            out[2] = sext(((w0 & 0xf800) >> 11) | ((w1 & 0xf800) >> 6), 10);
        }
        break;
    case 311:
        for (i = 0; i < ng; i++, in += 4, out += 3) {
            uint32_t w = (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 |
                         (uint32_t)in[3] << 24;
            out[0] = sext(w & 0x3ff, 10);
            out[1] = sext((w >> 10) & 0x3ff, 10);
            out[2] = sext((w >> 20) & 0x3ff, 10);
        }
        break;
    }
}

/* ---- buffered sample streams ------------------------------------------------------------- */

/* Tops up the read buffer, keeping unconsumed bytes. Returns bytes now available, or -1. */
static long file_fill(wfdb_file *f, char *err, size_t errlen)
{
    size_t left = f->blen - f->bpos;
    memmove(f->buf, f->buf + f->bpos, left);
    f->bpos = 0;
    f->blen = left;
    while (f->blen < READ_BUF_BYTES) {
        ssize_t n = read(f->fd, f->buf + f->blen, READ_BUF_BYTES - f->blen);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fmt_fail(err, errlen, "%s: read error: %s", f->path, strerror(errno));
        if (n == 0) break;
        f->blen += (size_t)n;
    }
    return (long)f->blen;
}

/* Decodes the next N samples of the file's stream into OUT. */
static int file_read_samples(wfdb_file *f, int32_t *out, size_t n, char *err, size_t errlen)
{
    const size_t gs = (size_t)f->gsamp, gb = (size_t)f->gbytes;
    while (n > 0) {
        if (f->ipend < f->npend) {
            *out++ = f->pend[f->ipend++];
            n--;
            continue;
        }
        size_t avail = (f->blen - f->bpos) / gb;
        if (avail == 0) {
            long got = file_fill(f, err, errlen);
            if (got < 0) return -1;
            if ((size_t)got >= gb) continue;
            if (got == 0)
                return fmt_fail(err, errlen, "%s: truncated: the file ended while reading samples "
                                "(was it shortened after the record was opened?)", f->path);
            /* The file's last, partial group (its size was checked at open): pad and decode it. */
            memset(f->buf + f->blen, 0, gb - (size_t)got);
            f->blen = gb;
            avail = 1;
        }
        size_t ng = n / gs < avail ? n / gs : avail;
        if (ng == 0) {
            decode_groups(f->format, f->buf + f->bpos, 1, f->pend);
            f->bpos += gb;
            f->npend = (int)gs;
            f->ipend = 0;
            continue;
        }
        decode_groups(f->format, f->buf + f->bpos, ng, out);
        f->bpos += ng * gb;
        out += ng * gs;
        n -= ng * gs;
    }
    return 0;
}

/* Positions the stream at the first sample of file frame FRAME. */
static int file_seek_frame(wfdb_file *f, int64_t frame, char *err, size_t errlen)
{
    int64_t k = frame * f->width;
    off_t pos = (off_t)(f->offset + k / f->gsamp * f->gbytes);
    if (lseek(f->fd, pos, SEEK_SET) == (off_t)-1)
        return fmt_fail(err, errlen, "%s: cannot seek to byte %lld: %s", f->path, (long long)pos,
                        strerror(errno));
    f->blen = f->bpos = 0;
    f->npend = f->ipend = 0;
    int skip = (int)(k % f->gsamp); /* 212/310/311: the frame starts inside a packed group */
    if (skip) {
        int32_t dummy[3];
        if (file_read_samples(f, dummy, (size_t)skip, err, errlen)) return -1;
    }
    f->next_frame = frame;
    return 0;
}

/* ---- fmt_record operations ---------------------------------------------------------------- */

static long wfdb_read(void *impl, int32_t *buf, long max_frames, char *err, size_t errlen)
{
    wfdb_reader *w = impl;
    if (w->direct) {
        wfdb_file *f = &w->files[0];
        if (f->next_frame != w->t && file_seek_frame(f, w->t, err, errlen)) return -1;
        if (file_read_samples(f, buf, (size_t)max_frames * (size_t)f->width, err, errlen)) {
            f->next_frame = -1; /* position unknown after a failure */
            return -1;
        }
        f->next_frame += max_frames;
        w->t += max_frames;
        return max_frames;
    }
    const int nl = w->nleads, m = w->m;
    long produced = 0;
    while (produced < max_frames) {
        int64_t j = w->t / m;
        int u = (int)(w->t % m);
        if (j >= w->nframes) break;
        if (w->sc_count == 0 || j < w->sc_first || j >= w->sc_first + w->sc_count) {
            int64_t cnt = w->nframes - j < w->chunk ? w->nframes - j : w->chunk;
            w->sc_count = 0;
            for (int i = 0; i < w->nfiles; i++) {
                wfdb_file *f = &w->files[i];
                if (f->next_frame != j && file_seek_frame(f, j, err, errlen)) return -1;
                if (file_read_samples(f, f->scratch, (size_t)(cnt * f->width), err, errlen)) {
                    f->next_frame = -1;
                    return -1;
                }
                f->next_frame = j + cnt;
            }
            w->sc_first = j;
            w->sc_count = (int)cnt;
        }
        int64_t rel = j - w->sc_first;
        int32_t *o = buf + (size_t)produced * (size_t)nl;
        while (produced < max_frames && rel < w->sc_count) {
            for (int l = 0; l < nl; l++) {
                const wfdb_file *f = &w->files[w->lfile[l]];
                int sub = m == 1 ? 0 : (int)((int64_t)u * w->lspf[l] / m);
                o[l] = f->scratch[rel * f->width + w->loff[l] + sub];
            }
            o += nl;
            produced++;
            w->t++;
            if (++u == m) {
                u = 0;
                rel++;
            }
        }
    }
    return produced;
}

static int wfdb_seek(void *impl, int64_t frame, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    wfdb_reader *w = impl;
    w->t = frame; /* files reposition lazily on the next read; decoded frames stay valid */
    return 0;
}

static void wfdb_close(void *impl)
{
    wfdb_reader *w = impl;
    if (!w) return;
    for (int i = 0; i < w->nfiles; i++) {
        if (w->files[i].fd >= 0) close(w->files[i].fd);
        free(w->files[i].buf);
        free(w->files[i].scratch);
    }
    free(w);
}

static const fmt_record_ops wfdb_ops = {wfdb_read, wfdb_seek, wfdb_close};

/* ---- open --------------------------------------------------------------------------------- */

/* Reads the whole header file (bounded) into a malloc'd buffer. */
static char *slurp_header(const char *path, size_t *len, char *err, size_t errlen)
{
    char *text = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fmt_fail(err, errlen, "%s: cannot open WFDB header: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        fmt_fail(err, errlen, "%s: not a regular file", path);
        goto fail;
    }
    if (st.st_size > WFDB_HEA_MAX_BYTES) {
        fmt_fail(err, errlen, "%s: %lld bytes is too large for a WFDB header", path,
                 (long long)st.st_size);
        goto fail;
    }
    text = malloc((size_t)st.st_size + 1);
    if (!text) {
        fmt_fail(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, text + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            fmt_fail(err, errlen, "%s: read error: %s", path, strerror(errno));
            goto fail;
        }
        if (n == 0) break;
        got += (size_t)n;
    }
    close(fd);
    *len = got;
    return text;
fail:
    free(text);
    close(fd);
    return NULL;
}

/* Units factor to microvolts per physical unit (non-voltage units are kept as if mV). */
static double units_to_uv(const char *u)
{
    if (!*u || !strcasecmp(u, "mV")) return 1000;
    if (!strcasecmp(u, "uV") || !strcmp(u, "\xc2\xb5V") || !strcmp(u, "\xb5V")) return 1;
    if (!strcasecmp(u, "nV")) return 0.001;
    if (!strcmp(u, "V")) return 1e6;
    return 1000;
}

/* Opens the signal files and fills the reader's file and lead tables from the header. */
static int open_files(wfdb_reader *w, const wfdb_header *h, const char *dir, fmt_record *r,
                      char *err, size_t errlen, const char *hea)
{
    int sig_file[FMT_MAX_LEADS], sig_off[FMT_MAX_LEADS];
    for (int s = 0; s < h->nsig; s++) {
        const wfdb_sig *sg = &h->sig[s];
        int gsamp, gbytes, bits;
        if (format_geometry(sg->format, &gsamp, &gbytes, &bits))
            return fmt_fail(err, errlen,
                            "%s: signal %d: format %d is not supported (supported: 16, 24, 32, 61, "
                            "80, 160, 212, 310, 311)",
                            hea, s, sg->format);
        if (sg->skew)
            return fmt_fail(err, errlen, "%s: signal %d: skew (%d frames) is not supported", hea, s,
                            sg->skew);
        if (!strcmp(sg->file, "~") || strchr(sg->file, '/'))
            return fmt_fail(err, errlen,
                            "%s: signal %d: signal file '%s' must be a file in the header's directory",
                            hea, s, sg->file);
        /* WFDB groups consecutive signals naming the same file into one interleaved stream. */
        if (s > 0 && !strcmp(sg->file, h->sig[s - 1].file)) {
            wfdb_file *f = &w->files[w->nfiles - 1];
            if (sg->format != f->format)
                return fmt_fail(err, errlen,
                                "%s: signal %d: format %d differs from format %d of the other signals "
                                "in %s",
                                hea, s, sg->format, f->format, sg->file);
            sig_file[s] = w->nfiles - 1;
            sig_off[s] = f->width;
            f->width += sg->spf;
            continue;
        }
        for (int e = 0; e < s; e++)
            if (!strcmp(h->sig[e].file, sg->file))
                return fmt_fail(err, errlen,
                                "%s: signal %d: the signals stored in %s must be listed together", hea,
                                s, sg->file);
        wfdb_file *f = &w->files[w->nfiles++];
        f->fd = -1;
        f->format = sg->format;
        f->gsamp = gsamp;
        f->gbytes = gbytes;
        f->offset = sg->offset;
        f->width = sg->spf;
        f->next_frame = -1;
        int n = snprintf(f->path, sizeof f->path, "%s%s", dir, sg->file);
        if (n < 0 || (size_t)n >= sizeof f->path)
            return fmt_fail(err, errlen, "%s: signal file path is too long", hea);
        sig_file[s] = w->nfiles - 1;
        sig_off[s] = 0;
    }

    /* Leads and the output rate. */
    w->m = 1;
    for (int s = 0; s < h->nsig; s++) {
        const wfdb_sig *sg = &h->sig[s];
        if (!strcmp(sg->desc, "EDF Annotations")) continue;
        int l = w->nleads++;
        fmt_lead *ld = &r->leads[l];
        if (sg->desc[0]) snprintf(ld->name, sizeof ld->name, "%s", sg->desc);
        else snprintf(ld->name, sizeof ld->name, "sig%d", s);
        ld->uv_per_unit = units_to_uv(sg->units) / sg->gain;
        ld->baseline = sg->baseline;
        int gsamp = 0, gbytes = 0, bits = 16; /* every format the header parser accepts sets them */
        format_geometry(sg->format, &gsamp, &gbytes, &bits);
        int64_t fmin = -((int64_t)1 << (bits - 1)), fmax = ((int64_t)1 << (bits - 1)) - 1;
        int64_t lo = fmin, hi = fmax;
        if (sg->adcres > 0 && sg->adcres <= bits) {
            /* The ADC's range is centred on its zero: 100.hea's 11 bits at zero 1024 are 0..2047. */
            lo = (int64_t)sg->adczero - ((int64_t)1 << (sg->adcres - 1));
            hi = (int64_t)sg->adczero + ((int64_t)1 << (sg->adcres - 1)) - 1;
            if (lo < fmin) lo = fmin;
            if (hi > fmax) hi = fmax;
            if (lo > hi) lo = fmin, hi = fmax;
        }
        ld->adc_min = (int32_t)lo;
        ld->adc_max = (int32_t)hi;
        w->lfile[l] = sig_file[s];
        w->loff[l] = sig_off[s];
        w->lspf[l] = sg->spf;
        if (sg->spf > w->m) w->m = sg->spf;
    }
    if (w->nleads == 0) return fmt_fail(err, errlen, "%s: the record has no signals to read", hea);

    /* Open the files, check their sizes against the header, find the length. */
    int64_t nframes = h->nsamp;
    for (int i = 0; i < w->nfiles; i++) {
        wfdb_file *f = &w->files[i];
        f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
        if (f->fd < 0)
            return fmt_fail(err, errlen, "%s: cannot open signal file named in %s: %s", f->path, hea,
                            strerror(errno));
        struct stat st;
        if (fstat(f->fd, &st) || !S_ISREG(st.st_mode))
            return fmt_fail(err, errlen, "%s: not a regular file", f->path);
        int64_t held = st.st_size > f->offset ? samples_in_bytes(f, st.st_size - f->offset) / f->width
                                              : 0;
        if (h->nsamp >= 0 && held < h->nsamp)
            return fmt_fail(err, errlen,
                            "%s: truncated: header says %lld samples per signal, file holds %lld",
                            f->path, (long long)h->nsamp, (long long)held);
        if (h->nsamp < 0 && (nframes < 0 || held < nframes)) nframes = held;
        f->buf = malloc(READ_BUF_BYTES + 4);
        if (!f->buf) return fmt_fail(err, errlen, "%s: out of memory", f->path);
    }
    w->nframes = nframes;
    if (nframes > INT64_MAX / w->m)
        return fmt_fail(err, errlen, "%s: %lld frames of %d samples is too long", hea,
                        (long long)nframes, w->m);

    int total_width = 0;
    for (int i = 0; i < w->nfiles; i++) total_width += w->files[i].width;
    w->direct = w->nfiles == 1 && w->m == 1 && w->nleads == h->nsig;
    if (!w->direct) {
        w->chunk = SCRATCH_SAMPLES / total_width > 0 ? SCRATCH_SAMPLES / total_width : 1;
        for (int i = 0; i < w->nfiles; i++) {
            wfdb_file *f = &w->files[i];
            f->scratch = malloc((size_t)w->chunk * (size_t)f->width * sizeof *f->scratch);
            if (!f->scratch) return fmt_fail(err, errlen, "%s: out of memory", f->path);
        }
    }
    return 0;
}

int fmt_wfdb_open(const char *path, fmt_record *r, char *err, size_t errlen)
{
    char hea[PATH_MAX], dir[PATH_MAX];
    size_t plen = strlen(path);
    int has_ext = plen >= 4 && !strcmp(path + plen - 4, ".hea");
    int n = snprintf(hea, sizeof hea, has_ext ? "%s" : "%s.hea", path);
    if (n < 0 || (size_t)n >= sizeof hea) return fmt_fail(err, errlen, "%s: path is too long", path);

    const char *slash = strrchr(hea, '/');
    size_t dlen = slash ? (size_t)(slash - hea) + 1 : 0;
    memcpy(dir, hea, dlen);
    dir[dlen] = '\0';
    const char *base = slash ? slash + 1 : hea;
    size_t blen = strlen(base) - 4; /* without ".hea" */
    if (blen == 0 || blen >= sizeof r->name)
        return fmt_fail(err, errlen, "%s: not a usable record name", hea);

    wfdb_header *h = NULL;
    wfdb_reader *w = NULL;
    size_t len = 0;
    char *text = slurp_header(hea, &len, err, errlen);
    if (!text) return -1;
    h = malloc(sizeof *h);
    w = calloc(1, sizeof *w);
    if (!h || !w) {
        fmt_fail(err, errlen, "%s: out of memory", hea);
        goto fail;
    }
    if (wfdb_hea_parse(text, len, hea, h, err, errlen)) goto fail;
    if (open_files(w, h, dir, r, err, errlen, hea)) goto fail;

    r->ops = &wfdb_ops;
    r->impl = w;
    r->nleads = w->nleads;
    r->fs = h->fs * w->m;
    r->nsamples = w->nframes * w->m;
    r->patient = h->patient;
    memcpy(r->name, base, blen);
    r->name[blen] = '\0';
    snprintf(r->format, sizeof r->format, "WFDB");
    free(h);
    free(text);
    return 0;
fail:
    wfdb_close(w);
    free(h);
    free(text);
    return -1;
}
