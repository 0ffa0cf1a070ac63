/* archive.c — the EDF+ archive of a recording, written from its journal through fmt_edf_writer. */
#include "archive.h"

#include "edf_write.h"
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EDF_MAX_ANNOTS_PER_SECOND 64 /* EDF+ annotation signals per data record */

/* What the journal reader's callback needs to feed the EDF writer. */
typedef struct {
    fmt_edf_writer *w;
    int64_t left;       /* frames still to write: the journal's length when it was summarized */
    char err[STORE_JOURNAL_ERRLEN];
} archive_feed;

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

/* Only up to the summarized length, so that the length annotation stays exact even if the
 * journal grows while it is archived. */
static int feed_samples(void *ctx, int64_t first, const int32_t *frames, size_t nframes,
                        uint32_t flags)
{
    (void)first, (void)flags;
    archive_feed *f = ctx;
    long n = (int64_t)nframes < f->left ? (long)nframes : (long)f->left;
    if (n > 0 && fmt_edf_writer_write(f->w, frames, n, f->err, sizeof f->err)) return 1;
    f->left -= n;
    return f->left > 0 ? 0 : 2;
}

/* Annotations per second of signal that hold TOTAL annotations over FRAMES at FS: the writer's
 * file holds that many per second of its (rounded up, at least one data record) length. */
static long annotations_per_second(size_t total, int64_t frames, double fs)
{
    double seconds = (double)frames / fs;
    if (seconds < 1) seconds = 1;
    double aps = ceil((double)total / seconds);
    if (aps < 1) aps = 1;
    if (aps > EDF_MAX_ANNOTS_PER_SECOND) return EDF_MAX_ANNOTS_PER_SECOND + 1;
    long n = (long)aps;
    while ((double)n * seconds < (double)total) n++; /* rounding must never lose one */
    return n;
}

static int sync_file(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        return fail(err, errlen, "%s: cannot sync the archive: %s", path, strerror(e));
    }
    close(fd);
    return 0;
}

static int sync_parent(const char *path, char *err, size_t errlen)
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

/* Adds the caller's annotations and the exact-length one. */
static int annotate_all(fmt_edf_writer *w, const char *edf_path, const store_annotation *ann,
                        size_t nann, int64_t frames, char *err, size_t errlen)
{
    for (size_t i = 0; i < nann; i++) {
        if (!memchr(ann[i].text, 0, sizeof ann[i].text))
            return fail(err, errlen, "%s: annotation %zu at sample %lld has no NUL-terminated text",
                        edf_path, i, (long long)ann[i].sample);
        if (fmt_edf_writer_annotate(w, ann[i].sample, ann[i].duration, ann[i].text, err, errlen))
            return -1;
    }
    char text[FMT_EDF_MAX_ANNOT_TEXT + 1];
    snprintf(text, sizeof text, STORE_ARCHIVE_LENGTH_FORMAT, (long long)frames);
    return fmt_edf_writer_annotate(w, 0, frames, text, err, errlen);
}

int store_archive_write(const char *journal_path, const char *edf_path,
                        const store_archive_info *info, const store_annotation *ann, size_t nann,
                        long *clipped, char *err, size_t errlen)
{
    if (clipped) *clipped = 0;
    if (!journal_path || !*journal_path || !edf_path || !*edf_path || !info)
        return fail(err, errlen, "archive: no journal path, EDF path or description given");
    if (nann && !ann)
        return fail(err, errlen, "%s: %zu annotations but none given", edf_path, nann);
    store_journal_summary sum;
    if (store_journal_summarize(journal_path, &sum, err, errlen)) return -1;
    if (sum.frames == 0)
        return fail(err, errlen, "%s: the journal holds no samples; there is nothing to archive",
                    journal_path);
    if (info->nleads != sum.nleads || !info->leads)
        return fail(err, errlen, "%s: the archive describes %d leads but the journal %s holds %d",
                    edf_path, info->nleads, journal_path, sum.nleads);
    if (!(info->fs > 0) || !isfinite(info->fs))
        return fail(err, errlen, "%s: sample rate %g Hz is not positive", edf_path, info->fs);
    long aps = annotations_per_second(nann + 1, sum.frames, info->fs);
    if (aps > EDF_MAX_ANNOTS_PER_SECOND)
        return fail(err, errlen,
                    "%s: %zu annotations over %.1f s are more than EDF+ holds (%d per second)",
                    edf_path, nann, (double)sum.frames / info->fs, EDF_MAX_ANNOTS_PER_SECOND);

    size_t plen = strlen(edf_path);
    char *tmp = malloc(plen + 5);
    if (!tmp) return fail(err, errlen, "%s: out of memory", edf_path);
    memcpy(tmp, edf_path, plen);
    memcpy(tmp + plen, ".tmp", 5);

    fmt_edf_writer_opts o;
    memset(&o, 0, sizeof o);
    o.nleads = info->nleads;
    o.leads = info->leads;
    o.fs = info->fs;
    o.patient = info->patient;
    o.start_year = info->start_year;
    o.start_month = info->start_month;
    o.start_day = info->start_day;
    o.start_hour = info->start_hour;
    o.start_minute = info->start_minute;
    o.start_second = info->start_second;
    o.annotations_per_second = (int)aps;
    archive_feed feed = {.left = sum.frames};
    feed.w = fmt_edf_writer_create(tmp, &o, err, errlen);
    if (!feed.w) goto fail;
    if (annotate_all(feed.w, edf_path, ann, nann, sum.frames, err, errlen)) goto fail;
    int rc = store_journal_read(journal_path, 0, feed_samples, &feed, err, errlen);
    if (rc == 1) {
        snprintf(err, errlen, "%s", feed.err);
        goto fail;
    }
    if (rc == -1) goto fail;
    if (feed.left > 0) {
        fail(err, errlen, "%s: the journal shrank while it was archived (%lld frames missing)",
             journal_path, (long long)feed.left);
        goto fail;
    }
    long nclipped = (long)fmt_edf_writer_clipped(feed.w);
    fmt_edf_writer *w = feed.w;
    feed.w = NULL;
    if (fmt_edf_writer_close(w, err, errlen)) goto fail;
    if (sync_file(tmp, err, errlen)) goto fail;
    if (rename(tmp, edf_path) != 0) {
        fail(err, errlen, "%s: cannot rename %s over it: %s", edf_path, tmp, strerror(errno));
        goto fail;
    }
    free(tmp);
    if (clipped) *clipped = nclipped;
    /* the archive is complete and in place; only its directory entry may not be durable yet */
    if (sync_parent(edf_path, err, errlen)) {
        size_t n = err && errlen ? strlen(err) : 0;
        if (n + 1 < errlen)
            snprintf(err + n, errlen - n, " (the archive is in place, but a crash may undo its "
                     "rename)");
        return -1;
    }
    return 0;
fail:
    if (feed.w) {
        char ignored[STORE_JOURNAL_ERRLEN];
        fmt_edf_writer_close(feed.w, ignored, sizeof ignored);
    }
    struct stat st;
    if (stat(tmp, &st) == 0 && S_ISREG(st.st_mode)) unlink(tmp);
    free(tmp);
    return -1;
}
