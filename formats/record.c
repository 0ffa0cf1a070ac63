/* record.c — dispatch from fmt_record_* to the WFDB or EDF reader by the path's extension. */
#include "record_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int fmt_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int is_edf_path(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) return 0;
    return !strcasecmp(dot, ".edf") || !strcasecmp(dot, ".bdf") || !strcasecmp(dot, ".rec");
}

int fmt_record_open(const char *path, fmt_record **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!path || !*path) return fmt_fail(err, errlen, "no record path given");
    fmt_record *r = calloc(1, sizeof *r);
    if (!r) return fmt_fail(err, errlen, "%s: out of memory", path);
    int rc = is_edf_path(path) ? fmt_edf_open(path, r, err, errlen)
                               : fmt_wfdb_open(path, r, err, errlen);
    if (rc) {
        free(r);
        return -1;
    }
    if (r->nleads <= 0) {
        r->ops->close(r->impl);
        free(r);
        return fmt_fail(err, errlen, "%s: the record has no ECG leads", path);
    }
    r->pos = 0;
    *out = r;
    return 0;
}

void fmt_record_free(fmt_record *r)
{
    if (!r) return;
    if (r->ops && r->ops->close) r->ops->close(r->impl);
    free(r);
}

int fmt_record_nleads(const fmt_record *r) { return r->nleads; }
double fmt_record_fs(const fmt_record *r) { return r->fs; }
int64_t fmt_record_nsamples(const fmt_record *r) { return r->nsamples; }
const fmt_lead *fmt_record_lead(const fmt_record *r, int i) { return &r->leads[i]; }
const fmt_patient *fmt_record_patient(const fmt_record *r) { return &r->patient; }
const char *fmt_record_name(const fmt_record *r) { return r->name; }
const char *fmt_record_format(const fmt_record *r) { return r->format; }

long fmt_record_read(fmt_record *r, int32_t *buf, long max_frames, char *err, size_t errlen)
{
    if (max_frames <= 0 || r->pos >= r->nsamples) return 0;
    if (max_frames > r->nsamples - r->pos) max_frames = (long)(r->nsamples - r->pos);
    long n = r->ops->read(r->impl, buf, max_frames, err, errlen);
    if (n > 0) r->pos += n;
    return n;
}

int fmt_record_read_all(fmt_record *r, int32_t **frames, int64_t *n, char *err, size_t errlen)
{
    int64_t want = r->nsamples - r->pos, got = 0;
    *frames = malloc((size_t)(want > 0 ? want : 1) * (size_t)r->nleads * sizeof **frames);
    *n = 0;
    if (!*frames) return fmt_fail(err, errlen, "%s: out of memory for %lld frames", r->name, (long long)want);
    while (got < want) {
        long m = fmt_record_read(r, *frames + (size_t)got * (size_t)r->nleads, 65536, err, errlen);
        if (m < 0) {
            free(*frames);
            *frames = NULL;
            return -1;
        }
        if (m == 0) break;
        got += m;
    }
    *n = got;
    return 0;
}

int fmt_record_seek(fmt_record *r, int64_t frame, char *err, size_t errlen)
{
    if (frame < 0 || frame > r->nsamples)
        return fmt_fail(err, errlen, "%s: seek to frame %lld outside 0..%lld", r->name,
                        (long long)frame, (long long)r->nsamples);
    if (r->ops->seek(r->impl, frame, err, errlen)) return -1;
    r->pos = frame;
    return 0;
}
