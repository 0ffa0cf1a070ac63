/* journal.c — the append-only sample journal: create, recover, append, group-commit sync, read. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MAGIC "ECGJRNL1"
#define HDR_FIXED 16 /* header bytes before the meta text */
#define REC_HEAD 16  /* record bytes before the samples */
#define CRC_BYTES 4
#define TYPE_SAMPLES 1
#define TYPE_END 2

struct store_journal {
    int fd;
    int nleads;
    int sample_bytes;
    int ended;
    int broken;      /* a failed truncate or fdatasync: the file's state is unknown, reopen */
    int dirty;       /* bytes written since the last successful sync */
    int64_t next;    /* frames stored */
    int64_t durable; /* frames stored as of the last sync */
    int64_t size;    /* file length: the end of the last whole record */
    int64_t dropped;
    char *path;
    char *meta;
    uint8_t *buf;    /* one encoded record */
    size_t bufcap;
};

/* The header's variable fields, as read from a file. */
typedef struct {
    int nleads, sample_bytes;
    char *meta;      /* malloc'd, NUL-terminated */
    int64_t length;  /* header bytes, CRC included */
} journal_header;

/* Walks the records of an open journal file one by one. */
typedef struct {
    int fd;
    int nleads, sample_bytes;
    int64_t off;     /* where the next record starts = end of the last valid one */
    int64_t next;    /* sample index the next record must start at */
    int ended;
    uint8_t *buf;
    size_t cap;
} journal_scan;

typedef struct {
    int type;
    size_t nframes;
    uint32_t flags;
    int64_t first;
    const uint8_t *samples;
} journal_record;

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v & 0xFFFFu);
    put16(p + 2, v >> 16);
}
static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}
static uint32_t get16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t get32(const uint8_t *p) { return get16(p) | get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint32_t crc_of(const uint8_t *p, size_t n)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

/* What a user can do about a failed write, in a few words. */
static const char *write_problem(int e)
{
    switch (e) {
    case ENOSPC: return "disk full";
    case EDQUOT: return "disk quota exceeded";
    case EFBIG: return "file size limit reached";
    case EIO: return "I/O error (failing disk?)";
    default: return strerror(e);
    }
}

/* Writes all N bytes at OFF, going on after short writes; 0, or an errno value. */
static int write_all(int fd, const uint8_t *p, size_t n, int64_t off)
{
    while (n) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (w == 0) return EIO;
        p += w, n -= (size_t)w, off += w;
    }
    return 0;
}

/* Reads up to N bytes at OFF into P; *got says how many (fewer only at the end of the file).
 * 0, or an errno value. */
static int read_full(int fd, uint8_t *p, size_t n, int64_t off, size_t *got)
{
    *got = 0;
    while (*got < n) {
        ssize_t r = pread(fd, p + *got, n - *got, (off_t)(off + (int64_t)*got));
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (r == 0) break;
        *got += (size_t)r;
    }
    return 0;
}

/* Makes a new or renamed directory entry of PATH durable by fsyncing its directory. */
static int fsync_parent(const char *path, char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir) return fail(err, errlen, "%s: out of memory", path);
    int rc = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        rc = fail(err, errlen, "%s: cannot sync its directory %s: %s", path, dir, strerror(errno));
    if (fd >= 0) close(fd);
    free(dir);
    return rc;
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    uint8_t *p = realloc(*buf, need);
    if (!p) return -1;
    *buf = p;
    *cap = need;
    return 0;
}

static size_t record_bytes(size_t nframes, int nleads, int sample_bytes)
{
    return REC_HEAD + nframes * (size_t)nleads * (size_t)sample_bytes + CRC_BYTES;
}

/* Reads and checks the header of the journal open as FD. */
static int read_header(int fd, const char *path, journal_header *h, char *err, size_t errlen)
{
    uint8_t fixed[HDR_FIXED];
    size_t got;
    int e = read_full(fd, fixed, sizeof fixed, 0, &got);
    if (e) return fail(err, errlen, "%s: cannot read the journal header: %s", path, strerror(e));
    if (got == 0)
        return fail(err, errlen, "%s: empty file, not an ecgnet journal (a creation cut short?)",
                    path);
    if (got < 8 || memcmp(fixed, MAGIC, 8) != 0)
        return fail(err, errlen, "%s: not an ecgnet journal (no \"%s\" magic)", path, MAGIC);
    if (got < HDR_FIXED)
        return fail(err, errlen, "%s: corrupt journal header: truncated at %zu bytes", path, got);
    /* the version comes before the CRC check: another version may lay its header out differently */
    uint32_t version = get16(fixed + 8);
    if (version != STORE_JOURNAL_VERSION)
        return fail(err, errlen,
                    "%s: journal format version %u is not supported (this build reads version %d)",
                    path, (unsigned)version, STORE_JOURNAL_VERSION);
    int nleads = fixed[10], sb = fixed[11];
    uint32_t mlen = get32(fixed + 12);
    if (nleads < 1 || nleads > STORE_JOURNAL_MAX_LEADS || (sb != 2 && sb != 4) ||
        mlen > STORE_JOURNAL_MAX_META)
        return fail(err, errlen,
                    "%s: corrupt journal header: %d leads, %d-byte samples, %lu bytes of meta "
                    "(allowed: 1..%d, 2 or 4, at most %d)",
                    path, nleads, sb, (unsigned long)mlen, STORE_JOURNAL_MAX_LEADS,
                    STORE_JOURNAL_MAX_META);
    size_t total = HDR_FIXED + (size_t)mlen + CRC_BYTES;
    uint8_t *all = malloc(total);
    char *meta = malloc((size_t)mlen + 1);
    if (!all || !meta) {
        free(all);
        free(meta);
        return fail(err, errlen, "%s: out of memory reading the journal header", path);
    }
    e = read_full(fd, all, total, 0, &got);
    int rc = 0;
    if (e)
        rc = fail(err, errlen, "%s: cannot read the journal header: %s", path, strerror(e));
    else if (got < total)
        rc = fail(err, errlen, "%s: corrupt journal header: truncated (%zu of %zu bytes)", path,
                  got, total);
    else if (crc_of(all, total - CRC_BYTES) != get32(all + total - CRC_BYTES))
        rc = fail(err, errlen, "%s: corrupt journal header: CRC mismatch", path);
    if (rc) {
        free(all);
        free(meta);
        return rc;
    }
    memcpy(meta, all + HDR_FIXED, mlen);
    meta[mlen] = 0;
    free(all);
    h->nleads = nleads;
    h->sample_bytes = sb;
    h->meta = meta;
    h->length = (int64_t)total;
    return 0;
}

/* Reads the record at s->off. Returns 1 with *r filled (and s advanced past it), 0 when there is
 * no further valid record (end of file, torn or corrupt record, or after the end record), or an
 * errno value negated (a read error, -ENOMEM). */
static int scan_record(journal_scan *s, journal_record *r)
{
    if (s->ended) return 0;
    if (grow(&s->buf, &s->cap, REC_HEAD)) return -ENOMEM;
    size_t got;
    int e = read_full(s->fd, s->buf, REC_HEAD, s->off, &got);
    if (e) return -e;
    if (got < REC_HEAD) return 0;
    int type = s->buf[0];
    size_t nframes = get16(s->buf + 2);
    uint32_t flags = get32(s->buf + 4);
    int64_t first = (int64_t)get64(s->buf + 8);
    if (s->buf[1] != 0 || first != s->next) return 0;
    if (type == TYPE_SAMPLES) {
        if (nframes == 0) return 0;
    } else if (type != TYPE_END || nframes != 0 || flags != 0) {
        return 0;
    }
    size_t total = record_bytes(nframes, s->nleads, s->sample_bytes);
    if (grow(&s->buf, &s->cap, total)) return -ENOMEM;
    e = read_full(s->fd, s->buf + REC_HEAD, total - REC_HEAD, s->off + REC_HEAD, &got);
    if (e) return -e;
    if (got < total - REC_HEAD) return 0;
    if (crc_of(s->buf, total - CRC_BYTES) != get32(s->buf + total - CRC_BYTES)) return 0;
    r->type = type;
    r->nframes = nframes;
    r->flags = flags;
    r->first = first;
    r->samples = s->buf + REC_HEAD;
    s->off += (int64_t)total;
    s->next += (int64_t)nframes;
    if (type == TYPE_END) s->ended = 1;
    return 1;
}

static void journal_free(store_journal *j)
{
    if (!j) return;
    if (j->fd >= 0) close(j->fd);
    free(j->path);
    free(j->meta);
    free(j->buf);
    free(j);
}

/* Takes the one-writer lock on J's file. */
static int lock_writer(store_journal *j, char *err, size_t errlen)
{
    if (flock(j->fd, LOCK_EX | LOCK_NB) == 0) return 0;
    if (errno == EWOULDBLOCK)
        return fail(err, errlen, "%s: the journal is already open for appending elsewhere",
                    j->path);
    return fail(err, errlen, "%s: cannot lock the journal: %s", j->path, strerror(errno));
}

static store_journal *journal_new(const char *path)
{
    store_journal *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->fd = -1;
    j->path = strdup(path);
    if (!j->path) {
        free(j);
        return NULL;
    }
    return j;
}

store_journal *store_journal_create(const char *path, const store_journal_info *info, char *err,
                                    size_t errlen)
{
    if (!path || !*path) {
        fail(err, errlen, "no journal path given");
        return NULL;
    }
    const char *meta = info && info->meta ? info->meta : "";
    size_t mlen = strlen(meta);
    if (!info || info->nleads < 1 || info->nleads > STORE_JOURNAL_MAX_LEADS ||
        (info->sample_bytes != 2 && info->sample_bytes != 4)) {
        fail(err, errlen, "%s: a journal needs 1..%d leads of 2- or 4-byte samples (got %d, %d)",
             path, STORE_JOURNAL_MAX_LEADS, info ? info->nleads : 0, info ? info->sample_bytes : 0);
        return NULL;
    }
    if (mlen > STORE_JOURNAL_MAX_META) {
        fail(err, errlen, "%s: meta text of %zu bytes exceeds the journal's %d", path, mlen,
             STORE_JOURNAL_MAX_META);
        return NULL;
    }
    store_journal *j = journal_new(path);
    uint8_t *hdr = NULL;
    int created = 0;
    if (!j) goto oom;
    j->nleads = info->nleads;
    j->sample_bytes = info->sample_bytes;
    j->meta = strdup(meta);
    size_t total = HDR_FIXED + mlen + CRC_BYTES;
    hdr = malloc(total);
    if (!j->meta || !hdr) goto oom;
    memcpy(hdr, MAGIC, 8);
    put16(hdr + 8, STORE_JOURNAL_VERSION);
    hdr[10] = (uint8_t)info->nleads;
    hdr[11] = (uint8_t)info->sample_bytes;
    put32(hdr + 12, (uint32_t)mlen);
    memcpy(hdr + HDR_FIXED, meta, mlen);
    put32(hdr + HDR_FIXED + mlen, crc_of(hdr, HDR_FIXED + mlen));

    j->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (j->fd < 0) {
        if (errno == EEXIST)
            fail(err, errlen, "%s: a file of that name already exists; not overwriting it", path);
        else
            fail(err, errlen, "%s: cannot create the journal: %s", path, strerror(errno));
        goto fail;
    }
    created = 1;
    if (lock_writer(j, err, errlen)) goto fail;
    int e = write_all(j->fd, hdr, total, 0);
    if (e) {
        fail(err, errlen, "%s: cannot write the journal header: %s", path, write_problem(e));
        goto fail;
    }
    if (fsync(j->fd) != 0) {
        fail(err, errlen, "%s: cannot sync the new journal: %s", path, write_problem(errno));
        goto fail;
    }
    if (fsync_parent(path, err, errlen)) goto fail;
    free(hdr);
    j->size = (int64_t)total;
    return j;
oom:
    fail(err, errlen, "%s: out of memory", path);
fail:
    if (created) unlink(path);
    free(hdr);
    journal_free(j);
    return NULL;
}

store_journal *store_journal_open(const char *path, char *err, size_t errlen)
{
    if (!path || !*path) {
        fail(err, errlen, "no journal path given");
        return NULL;
    }
    journal_header h = {0};
    journal_scan s = {0};
    store_journal *j = journal_new(path);
    if (!j) {
        fail(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    j->fd = open(path, O_RDWR | O_CLOEXEC);
    if (j->fd < 0) {
        fail(err, errlen, "%s: cannot open the journal: %s", path, strerror(errno));
        goto fail;
    }
    if (lock_writer(j, err, errlen) || read_header(j->fd, path, &h, err, errlen)) goto fail;
    j->nleads = h.nleads;
    j->sample_bytes = h.sample_bytes;
    j->meta = h.meta;
    h.meta = NULL;

    s.fd = j->fd;
    s.nleads = j->nleads;
    s.sample_bytes = j->sample_bytes;
    s.off = h.length;
    journal_record r;
    int got;
    while ((got = scan_record(&s, &r)) == 1) {}
    if (got < 0) {
        fail(err, errlen, "%s: cannot read the journal: %s", path, strerror(-got));
        goto fail;
    }
    struct stat st;
    if (fstat(j->fd, &st) != 0) {
        fail(err, errlen, "%s: cannot stat the journal: %s", path, strerror(errno));
        goto fail;
    }
    if ((int64_t)st.st_size > s.off) {
        if (ftruncate(j->fd, (off_t)s.off) != 0) {
            fail(err, errlen, "%s: cannot cut off its corrupt tail of %lld bytes: %s", path,
                 (long long)(st.st_size - s.off), strerror(errno));
            goto fail;
        }
        j->dropped = (int64_t)st.st_size - s.off;
    }
    /* what a killed process left in the page cache is in the file but not yet on disk */
    if (fsync(j->fd) != 0) {
        fail(err, errlen, "%s: cannot sync the recovered journal: %s", path, write_problem(errno));
        goto fail;
    }
    j->size = s.off;
    j->next = j->durable = s.next;
    j->ended = s.ended;
    free(s.buf);
    return j;
fail:
    free(s.buf);
    free(h.meta);
    journal_free(j);
    return NULL;
}

int64_t store_journal_next(const store_journal *j) { return j->next; }
int64_t store_journal_durable(const store_journal *j) { return j->durable; }
int store_journal_nleads(const store_journal *j) { return j->nleads; }
int store_journal_sample_bytes(const store_journal *j) { return j->sample_bytes; }
const char *store_journal_meta(const store_journal *j) { return j->meta; }
const char *store_journal_path(const store_journal *j) { return j->path; }
int store_journal_ended(const store_journal *j) { return j->ended; }
int64_t store_journal_dropped_bytes(const store_journal *j) { return j->dropped; }

/* Encodes one record into j->buf; returns its length, 0 when out of memory. */
static size_t encode_record(store_journal *j, int type, int64_t first, const int32_t *frames,
                            size_t nframes, uint32_t flags)
{
    size_t total = record_bytes(nframes, j->nleads, j->sample_bytes);
    if (grow(&j->buf, &j->bufcap, total)) return 0;
    uint8_t *p = j->buf;
    p[0] = (uint8_t)type;
    p[1] = 0;
    put16(p + 2, (uint32_t)nframes);
    put32(p + 4, flags);
    put64(p + 8, (uint64_t)first);
    uint8_t *q = p + REC_HEAD;
    size_t n = nframes * (size_t)j->nleads;
    if (j->sample_bytes == 2)
        for (size_t i = 0; i < n; i++, q += 2) put16(q, (uint32_t)frames[i] & 0xFFFFu);
    else
        for (size_t i = 0; i < n; i++, q += 4) put32(q, (uint32_t)frames[i]);
    put32(q, crc_of(p, total - CRC_BYTES));
    return total;
}

/* Refuses any change to a journal that has failed in a way only a reopen can sort out. */
static int check_usable(const store_journal *j, char *err, size_t errlen)
{
    if (j->broken)
        return fail(err, errlen,
                    "%s: the journal is unusable after an earlier failure; close and reopen it",
                    j->path);
    return 0;
}

/* Undoes a failed write by cutting the file back to its last whole record. */
static void undo_write(store_journal *j)
{
    if (ftruncate(j->fd, (off_t)j->size) != 0) j->broken = 1;
}

int store_journal_append(store_journal *j, int64_t first, const int32_t *frames, size_t nframes,
                         uint32_t flags, char *err, size_t errlen)
{
    if (check_usable(j, err, errlen)) return -1;
    if (j->ended)
        return fail(err, errlen, "%s: the recording has ended; no samples can be appended",
                    j->path);
    if (first != j->next)
        return fail(err, errlen,
                    "%s: %s: the block starts at sample %lld but the journal's next sample is "
                    "%lld",
                    j->path, first > j->next ? "gap" : "overlap", (long long)first,
                    (long long)j->next);
    if (nframes == 0) return 0;
    if (!frames) return fail(err, errlen, "%s: no samples given", j->path);
    if (nframes > (size_t)(INT64_MAX - j->next))
        return fail(err, errlen, "%s: %zu frames would overflow the sample index", j->path,
                    nframes);
    if (j->sample_bytes == 2) {
        size_t n = nframes * (size_t)j->nleads;
        for (size_t i = 0; i < n; i++)
            if (frames[i] < INT16_MIN || frames[i] > INT16_MAX)
                return fail(err, errlen,
                            "%s: sample %lld of lead %d is %ld, outside the journal's 16-bit "
                            "range",
                            j->path, (long long)(first + (int64_t)(i / (size_t)j->nleads)),
                            (int)(i % (size_t)j->nleads), (long)frames[i]);
    }
    int64_t off = j->size;
    for (size_t done = 0; done < nframes;) {
        size_t n = nframes - done;
        if (n > STORE_JOURNAL_MAX_FRAMES) n = STORE_JOURNAL_MAX_FRAMES;
        size_t len = encode_record(j, TYPE_SAMPLES, first + (int64_t)done,
                                   frames + done * (size_t)j->nleads, n, flags);
        int e = len ? write_all(j->fd, j->buf, len, off) : ENOMEM;
        if (e) {
            undo_write(j);
            return fail(err, errlen,
                        "%s: cannot append samples %lld..%lld: %s; none of them were stored%s",
                        j->path, (long long)first, (long long)(first + (int64_t)nframes - 1),
                        write_problem(e),
                        j->broken ? ", and the file could not be cut back: reopen the journal"
                                  : "");
        }
        off += (int64_t)len;
        done += n;
    }
    j->size = off;
    j->next += (int64_t)nframes;
    j->dirty = 1;
    return 0;
}

int store_journal_sync(store_journal *j, char *err, size_t errlen)
{
    if (check_usable(j, err, errlen)) return -1;
    if (!j->dirty) return 0;
    if (fdatasync(j->fd) != 0) {
        /* the kernel may have marked the failed pages clean: a retry could "succeed" falsely */
        j->broken = 1;
        return fail(err, errlen, "%s: cannot sync the journal: %s; close and reopen it", j->path,
                    write_problem(errno));
    }
    j->dirty = 0;
    j->durable = j->next;
    return 0;
}

int store_journal_end(store_journal *j, char *err, size_t errlen)
{
    if (check_usable(j, err, errlen)) return -1;
    if (!j->ended) {
        size_t len = encode_record(j, TYPE_END, j->next, NULL, 0, 0);
        int e = len ? write_all(j->fd, j->buf, len, j->size) : ENOMEM;
        if (e) {
            undo_write(j);
            return fail(err, errlen, "%s: cannot write the end of the recording: %s", j->path,
                        write_problem(e));
        }
        j->size += (int64_t)len;
        j->ended = 1;
        j->dirty = 1;
    }
    return store_journal_sync(j, err, errlen);
}

void store_journal_close(store_journal *j) { journal_free(j); }

/* Widens the samples of frames [skip, nframes) of a record into out. */
static void decode_samples(const uint8_t *p, int nleads, int sample_bytes, size_t skip,
                           size_t nframes, int32_t *out)
{
    size_t from = skip * (size_t)nleads, to = nframes * (size_t)nleads;
    if (sample_bytes == 2)
        for (size_t i = from; i < to; i++) *out++ = (int16_t)(uint16_t)get16(p + 2 * i);
    else
        for (size_t i = from; i < to; i++) *out++ = (int32_t)get32(p + 4 * i);
}

/* store_journal_read and store_journal_summarize: FN NULL only counts (and skips decoding). */
/* ---- Seeking: reading from a late sample without reading what comes before -----------------
 * A journal has no index: the record holding a sample is found by bisection over byte offsets.
 * Inside the file, the next record boundary is recognised by arithmetic every boundary obeys
 * (the records before it cost exactly REC_HEAD + CRC_BYTES bytes each plus their samples, so its
 * offset and its "first" agree to the byte) and confirmed by the record's CRC and the next
 * record's continuity and CRC; a false boundary would need two CRC-32 matches on top. Only
 * confirmed boundaries are used, and the records delivered from there are checked exactly as in
 * a scan from the start. Why not an index file: one more file to keep durable and consistent
 * with the journal on every append, for a read path that bisection serves in about ten probes. */

#define SEEK_CHUNK 65536       /* bytes examined per read while looking for a boundary */
/* Below this many bytes between the bounds, scanning is cheaper. The fuzzing build sets it tiny so
 * that fuzz_journal's small inputs exercise the bisection. */
#ifdef STORE_JOURNAL_SEEK_LINEAR
#define SEEK_LINEAR STORE_JOURNAL_SEEK_LINEAR
#else
#define SEEK_LINEAR (1 << 20)
#endif

/* Could a record start at OFF (HDR: the header's length) with this header? */
static int plausible(const journal_scan *s, int64_t hdr, int64_t off, const uint8_t *b)
{
    if (b[0] != TYPE_SAMPLES || b[1] != 0 || get16(b + 2) == 0) return 0;
    int64_t first = (int64_t)get64(b + 8), frame = (int64_t)s->nleads * s->sample_bytes;
    if (first < 0 || first > (off - hdr) / frame) return 0;
    int64_t overhead = off - hdr - first * frame; /* REC_HEAD + CRC_BYTES per earlier record */
    int64_t per = REC_HEAD + CRC_BYTES;
    return overhead % per == 0 && overhead / per <= first && (first == 0) == (overhead == 0);
}

/* Is there a confirmed record boundary at OFF (its first frame FIRST)? 1 yes, 0 no, -errno. */
static int confirmed(const journal_scan *s, int64_t off, int64_t first, int64_t size)
{
    journal_scan t = {.fd = s->fd, .nleads = s->nleads, .sample_bytes = s->sample_bytes, .off = off, .next = first};
    journal_record r;
    int got = scan_record(&t, &r);
    if (got == 1 && t.off < size) got = scan_record(&t, &r); /* the next one must follow on */
    free(t.buf);
    return got;
}

/* The first confirmed boundary at or after OFF and before LIMIT: 1 with *AT and *FIRST, 0 when
 * there is none (a torn tail), -errno. */
static int next_boundary(const journal_scan *s, int64_t hdr, int64_t off, int64_t limit, int64_t size, int64_t *at,
                         int64_t *first)
{
    uint8_t *chunk = malloc(SEEK_CHUNK + REC_HEAD);
    if (!chunk) return -ENOMEM;
    int rc = 0;
    for (int64_t base = off; base < limit && !rc; base += SEEK_CHUNK) {
        size_t got;
        int e = read_full(s->fd, chunk, SEEK_CHUNK + REC_HEAD, base, &got);
        if (e) {
            rc = -e;
            break;
        }
        for (size_t i = 0; i + REC_HEAD <= got && i < SEEK_CHUNK && base + (int64_t)i < limit; i++) {
            if (!plausible(s, hdr, base + (int64_t)i, chunk + i)) continue;
            int64_t f = (int64_t)get64(chunk + i + 8);
            int c = confirmed(s, base + (int64_t)i, f, size);
            if (c < 0) rc = c;
            if (c == 1) {
                *at = base + (int64_t)i;
                *first = f;
                rc = 1;
            }
            if (rc) break;
        }
        if (got < SEEK_CHUNK + REC_HEAD) break; /* the end of the file */
    }
    free(chunk);
    return rc;
}

/* Moves S (at the first record) to a confirmed boundary whose record holds FROM or comes before
 * it, close enough that scanning on is cheap. 0, or -errno. */
static int seek_records(journal_scan *s, int64_t hdr, int64_t from)
{
    struct stat sb;
    if (fstat(s->fd, &sb)) return -errno;
    int64_t lo = s->off, lo_first = s->next, hi = (int64_t)sb.st_size;
    int64_t longest = (int64_t)record_bytes(STORE_JOURNAL_MAX_FRAMES, s->nleads, s->sample_bytes);
    while (hi - lo > SEEK_LINEAR) {
        int64_t mid = lo + (hi - lo) / 2, at = 0, first = 0;
        int r = next_boundary(s, hdr, mid, mid + longest < hi ? mid + longest : hi, hi, &at, &first);
        if (r < 0) return r;
        if (r == 1 && first <= from) { /* FROM's record is this one or later */
            lo = at;
            lo_first = first;
        } else { /* no boundary in [mid, at): FROM's record starts before mid */
            hi = mid;
        }
    }
    s->off = lo;
    s->next = lo_first;
    return 0;
}

static int read_journal(const char *path, int64_t from, store_journal_fn fn, void *ctx,
                        store_journal_summary *sum, char *err, size_t errlen)
{
    if (!path || !*path) return fail(err, errlen, "no journal path given");
    if (from < 0) return fail(err, errlen, "%s: cannot read from negative sample %lld", path,
                              (long long)from);
    journal_header h = {0};
    journal_scan s = {0};
    int32_t *out = NULL;
    size_t outcap = 0;
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(err, errlen, "%s: cannot open the journal: %s", path, strerror(errno));
    if (read_header(fd, path, &h, err, errlen)) {
        rc = -1;
        goto done;
    }
    s.fd = fd;
    s.nleads = h.nleads;
    s.sample_bytes = h.sample_bytes;
    s.off = h.length;
    journal_record r;
    int got = fn && !sum && from > 0 ? seek_records(&s, h.length, from) : 0;
    if (got < 0) {
        rc = fail(err, errlen, "%s: cannot read the journal: %s", path, strerror(-got));
        goto done;
    }
    while ((got = scan_record(&s, &r)) == 1) {
        if (!fn || r.type != TYPE_SAMPLES || r.first + (int64_t)r.nframes <= from) continue;
        size_t skip = r.first < from ? (size_t)(from - r.first) : 0;
        size_t n = r.nframes - skip;
        size_t need = n * (size_t)h.nleads;
        if (need > outcap) {
            int32_t *p = realloc(out, need * sizeof *out);
            if (!p) {
                rc = fail(err, errlen, "%s: out of memory reading the journal", path);
                goto done;
            }
            out = p;
            outcap = need;
        }
        decode_samples(r.samples, h.nleads, h.sample_bytes, skip, r.nframes, out);
        rc = fn(ctx, r.first + (int64_t)skip, out, n, r.flags);
        if (rc) goto done;
    }
    if (got < 0) {
        rc = fail(err, errlen, "%s: cannot read the journal: %s", path, strerror(-got));
    } else if (sum) {
        sum->nleads = h.nleads;
        sum->sample_bytes = h.sample_bytes;
        sum->frames = s.next;
        sum->ended = s.ended;
    }
done:
    free(out);
    free(s.buf);
    free(h.meta);
    close(fd);
    return rc;
}

int store_journal_read(const char *path, int64_t from, store_journal_fn fn, void *ctx, char *err,
                       size_t errlen)
{
    if (!fn) return fail(err, errlen, "%s: no function to receive the samples", path ? path : "");
    return read_journal(path, from, fn, ctx, NULL, err, errlen);
}

int store_journal_summarize(const char *path, store_journal_summary *out, char *err,
                            size_t errlen)
{
    memset(out, 0, sizeof *out);
    return read_journal(path, 0, NULL, NULL, out, err, errlen);
}

int store_journal_read_meta(const char *path, char **meta, char *err, size_t errlen)
{
    *meta = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(err, errlen, "%s: cannot open the journal: %s", path, strerror(errno));
    journal_header h;
    int rc = read_header(fd, path, &h, err, errlen);
    close(fd);
    if (rc) return -1;
    *meta = h.meta;
    return 0;
}

typedef struct {
    const int32_t *expected;
    int64_t nframes;
    int nleads;
    store_journal_diff *out;
} compare_ctx;

static int compare_block(void *ctx, int64_t first, const int32_t *frames, size_t nframes, uint32_t flags)
{
    compare_ctx *c = ctx;
    (void)flags;
    for (size_t f = 0; f < nframes; f++) {
        int64_t at = first + (int64_t)f;
        const int32_t *got = frames + f * (size_t)c->nleads;
        if (at >= c->nframes) {
            c->out->mismatches += c->nleads;
            continue;
        }
        for (int l = 0; l < c->nleads; l++) c->out->mismatches += got[l] != c->expected[at * c->nleads + l];
    }
    c->out->frames = first + (int64_t)nframes;
    return 0;
}

int store_journal_compare(const char *path, const int32_t *expected, int64_t nframes, int nleads,
                          store_journal_diff *out, char *err, size_t errlen)
{
    store_journal_summary sum;
    out->frames = out->mismatches = 0;
    if (store_journal_summarize(path, &sum, err, errlen)) return -1;
    if (sum.nleads != nleads)
        return fail(err, errlen, "%s: the journal holds %d leads, the comparison %d", path, sum.nleads, nleads);
    compare_ctx c = {expected, nframes, nleads, out};
    return store_journal_read(path, 0, compare_block, &c, err, errlen) ? -1 : 0;
}
