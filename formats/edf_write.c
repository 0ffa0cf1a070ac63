/* edf_write.c — streaming EDF+C writer through EDFlib: one buffered data record, annotations. */
#include "edf_write.h"

#include "edf_lib.h"
#include "record_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EDF_MAX_RECORD_BYTES (10 * 1024 * 1024) /* EDFlib's limit for one EDF data record */
#define EDF_DEFAULT_ANNOTS_PER_SECOND 5

struct fmt_edf_writer {
    int handle;
    int nleads;
    int spr;          /* samples per data record per lead */
    int fill;         /* frames in the current record */
    int failed;       /* a write failed: only close is allowed */
    int annot_sigs;   /* EDF+ annotation signals per record */
    double fs;
    int32_t dmin[FMT_MAX_LEADS], dmax[FMT_MAX_LEADS];
    int *rec;         /* one data record, lead-major as edf_blockwrite_digital_samples wants */
    int64_t frames, records, clipped, annots;
    char *path;
};

static int printable_ascii(const char *s)
{
    for (; *s; s++)
        if (*s < 32 || *s > 126) return 0;
    return 1;
}

/* Valid UTF-8 without control characters (EDF+ uses bytes 0, 20 and 21 as delimiters). */
static int valid_annot_text(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n;
        if (*p < 0x20 || *p == 0x7F) return 0;
        if (*p < 0x80) n = 0;
        else if ((*p & 0xE0) == 0xC0 && *p >= 0xC2) n = 1;
        else if ((*p & 0xF0) == 0xE0) n = 2;
        else if ((*p & 0xF8) == 0xF0 && *p <= 0xF4) n = 3;
        else return 0;
        p++;
        for (int i = 0; i < n; i++, p++)
            if ((*p & 0xC0) != 0x80) return 0;
    }
    return 1;
}

/* Data record length in seconds making fs * seconds a whole number, or 0 when none <= 60 s. */
static int record_seconds(double fs)
{
    for (int sec = 1; sec <= 60; sec++) {
        double spr = fs * sec;
        if (fabs(spr - nearbyint(spr)) <= 1e-9 * spr) return sec;
    }
    return 0;
}

/* Removes what EDFlib created, but never anything that is not a regular file (/dev/...). */
static void remove_regular(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) remove(path);
}

static int check_opts(const char *path, const fmt_edf_writer_opts *o, int *by, int *bm, int *bd,
                      char *err, size_t errlen)
{
    if (o->nleads < 1 || o->nleads > FMT_MAX_LEADS || !o->leads)
        return fmt_fail(err, errlen, "%s: %d leads; an EDF file needs 1..%d", path, o->nleads,
                        FMT_MAX_LEADS);
    if (!(o->fs > 0) || !isfinite(o->fs))
        return fmt_fail(err, errlen, "%s: sample rate %g Hz is not positive", path, o->fs);
    if (o->annotations_per_second < 0)
        return fmt_fail(err, errlen, "%s: annotations_per_second %d is negative", path,
                        o->annotations_per_second);
    for (int l = 0; l < o->nleads; l++) {
        const fmt_lead *ld = &o->leads[l];
        size_t n = strlen(ld->name);
        if (n < 1 || n > 12 || !printable_ascii(ld->name))
            return fmt_fail(err, errlen,
                            "%s: lead %d name \"%s\" must be 1..12 printable ASCII characters "
                            "(EDF labels hold 16, \"ECG \" included)",
                            path, l, ld->name);
        if (!(ld->uv_per_unit > 0) || !isfinite(ld->uv_per_unit) || !isfinite(ld->baseline))
            return fmt_fail(err, errlen, "%s: lead %s: uv_per_unit %g must be positive", path,
                            ld->name, ld->uv_per_unit);
        int full = ld->adc_min == 0 && ld->adc_max == 0;
        if (!full && (ld->adc_min >= ld->adc_max || ld->adc_min < -32768 || ld->adc_max > 32767))
            return fmt_fail(err, errlen,
                            "%s: lead %s: digital range %d..%d is not within -32768..32767 with "
                            "min < max (use 0..0 for the full range)",
                            path, ld->name, (int)ld->adc_min, (int)ld->adc_max);
    }
    const fmt_patient *pt = &o->patient;
    if (pt->sex != 0 && pt->sex != 'M' && pt->sex != 'F')
        return fmt_fail(err, errlen, "%s: patient sex '%c' is not 'M', 'F' or unknown (0)", path,
                        pt->sex);
    if (!printable_ascii(pt->id))
        return fmt_fail(err, errlen, "%s: patient id must be printable ASCII", path);
    *by = *bm = *bd = 0;
    if (pt->birthdate[0]) {
        char extra;
        if (sscanf(pt->birthdate, "%4d-%2d-%2d%c", by, bm, bd, &extra) != 3 || *by < 1800 ||
            *by > 3000 || *bm < 1 || *bm > 12 || *bd < 1 || *bd > 31)
            return fmt_fail(err, errlen,
                            "%s: patient birthdate \"%s\" is not YYYY-MM-DD between 1800 and 3000",
                            path, pt->birthdate);
    }
    return 0;
}

/* Sets everything EDFlib needs before the first sample; -1 with err on a refused value. */
static int setup_header(fmt_edf_writer *w, const fmt_edf_writer_opts *o, int sec, int by, int bm,
                        int bd, char *err, size_t errlen)
{
    int h = w->handle;
    if (sec > 1 && edf_set_datarecord_duration(h, sec * 100000))
        return fmt_fail(err, errlen, "%s: EDFlib refused a %d s data record", w->path, sec);
    for (int l = 0; l < o->nleads; l++) {
        const fmt_lead *ld = &o->leads[l];
        int full = ld->adc_min == 0 && ld->adc_max == 0;
        w->dmin[l] = full ? -32768 : ld->adc_min;
        w->dmax[l] = full ? 32767 : ld->adc_max;
        double pmin = (w->dmin[l] - ld->baseline) * ld->uv_per_unit;
        double pmax = (w->dmax[l] - ld->baseline) * ld->uv_per_unit;
        if (fabs(pmin) > 99999999 || fabs(pmax) > 99999999)
            return fmt_fail(err, errlen,
                            "%s: lead %s: physical range %g..%g uV does not fit EDF's 8-character "
                            "fields",
                            w->path, ld->name, pmin, pmax);
        char label[40]; /* names are at most 12 characters (checked), so this fits 16 */
        snprintf(label, sizeof label, "ECG %s", ld->name);
        if (edf_set_samplefrequency(h, l, w->spr) || edf_set_digital_minimum(h, l, w->dmin[l]) ||
            edf_set_digital_maximum(h, l, w->dmax[l]) || edf_set_physical_minimum(h, l, pmin) ||
            edf_set_physical_maximum(h, l, pmax) || edf_set_label(h, l, label) ||
            edf_set_physical_dimension(h, l, "uV"))
            return fmt_fail(err, errlen, "%s: EDFlib refused the parameters of lead %s", w->path,
                            ld->name);
    }
    const fmt_patient *pt = &o->patient;
    if ((pt->id[0] && edf_set_patientcode(h, pt->id)) ||
        (pt->sex && edf_set_gender(h, pt->sex == 'M' ? 1 : 0)) ||
        (by && edf_set_birthdate(h, by, bm, bd)))
        return fmt_fail(err, errlen, "%s: EDFlib refused the patient fields", w->path);
    int year = o->start_year ? o->start_year : 1985;
    int mon = o->start_year ? o->start_month : 1, day = o->start_year ? o->start_day : 1;
    int hh = o->start_year ? o->start_hour : 0, mm = o->start_year ? o->start_minute : 0;
    int ss = o->start_year ? o->start_second : 0;
    if (edf_set_startdatetime(h, year, mon, day, hh, mm, ss))
        return fmt_fail(err, errlen,
                        "%s: start %04d-%02d-%02d %02d:%02d:%02d is not a valid EDF start "
                        "(years 1985..2084)",
                        w->path, year, mon, day, hh, mm, ss);
    if (edf_set_equipment(h, "ecgnet"))
        return fmt_fail(err, errlen, "%s: EDFlib refused the equipment field", w->path);
    if (edf_set_number_of_annotation_signals(h, w->annot_sigs))
        return fmt_fail(err, errlen, "%s: EDFlib refused %d annotation signals", w->path,
                        w->annot_sigs);
    return 0;
}

fmt_edf_writer *fmt_edf_writer_create(const char *path, const fmt_edf_writer_opts *o, char *err,
                                      size_t errlen)
{
    int by, bm, bd;
    if (!path || !*path) {
        fmt_fail(err, errlen, "no EDF path given");
        return NULL;
    }
    if (strlen(path) > FMT_EDF_MAX_PATH) {
        fmt_fail(err, errlen, "%s: path longer than %d bytes (EDFlib's limit)", path,
                 FMT_EDF_MAX_PATH);
        return NULL;
    }
    if (check_opts(path, o, &by, &bm, &bd, err, errlen)) return NULL;
    int sec = record_seconds(o->fs);
    if (!sec) {
        fmt_fail(err, errlen,
                 "%s: sample rate %.9g Hz gives no whole number of samples in a data record of "
                 "1..60 s",
                 path, o->fs);
        return NULL;
    }
    double spr = nearbyint(o->fs * sec);
    if (spr * 2 * o->nleads > EDF_MAX_RECORD_BYTES) {
        fmt_fail(err, errlen, "%s: %d leads at %g Hz exceed EDFlib's 10 MB data record", path,
                 o->nleads, o->fs);
        return NULL;
    }
    int aps = o->annotations_per_second ? o->annotations_per_second : EDF_DEFAULT_ANNOTS_PER_SECOND;
    if ((long long)aps * sec > 64) {
        fmt_fail(err, errlen,
                 "%s: %d annotations per second need %lld annotation signals; EDF+ allows 64",
                 path, aps, (long long)aps * sec);
        return NULL;
    }

    fmt_edf_writer *w = calloc(1, sizeof *w);
    if (!w) goto oom;
    w->handle = -1;
    w->nleads = o->nleads;
    w->spr = (int)spr;
    w->fs = o->fs;
    w->annot_sigs = aps * sec;
    w->path = strdup(path);
    w->rec = malloc((size_t)w->spr * (size_t)w->nleads * sizeof *w->rec);
    if (!w->path || !w->rec) goto oom;

    fmt_edf_lock();
    w->handle = edfopen_file_writeonly(path, EDFLIB_FILETYPE_EDFPLUS, o->nleads);
    fmt_edf_unlock();
    if (w->handle < 0) {
        int code = w->handle;
        w->handle = -1;
        if (code == EDFLIB_NO_SUCH_FILE_OR_DIRECTORY)
            fmt_fail(err, errlen, "%s: cannot create the file (missing directory or no permission)",
                     path);
        else
            fmt_fail(err, errlen, "%s: cannot create: %s", path, fmt_edf_strerror(code));
        goto fail;
    }
    if (setup_header(w, o, sec, by, bm, bd, err, errlen)) goto fail;
    return w;
oom:
    fmt_fail(err, errlen, "%s: out of memory", path);
fail:
    if (w && w->handle >= 0) {
        fmt_edf_close(w->handle);
        remove_regular(path);
    }
    if (w) {
        free(w->rec);
        free(w->path);
        free(w);
    }
    return NULL;
}

static int flush_record(fmt_edf_writer *w, char *err, size_t errlen)
{
    if (edf_blockwrite_digital_samples(w->handle, w->rec)) {
        w->failed = 1;
        return fmt_fail(err, errlen, "%s: writing data record %lld failed (disk full or I/O error)",
                        w->path, (long long)w->records);
    }
    w->records++;
    w->fill = 0;
    return 0;
}

int fmt_edf_writer_write(fmt_edf_writer *w, const int32_t *frames, long nframes, char *err,
                         size_t errlen)
{
    if (w->failed)
        return fmt_fail(err, errlen, "%s: an earlier write failed; close the writer", w->path);
    if (nframes < 0)
        return fmt_fail(err, errlen, "%s: negative frame count %ld", w->path, nframes);
    for (long f = 0; f < nframes; f++) {
        const int32_t *in = frames + (size_t)f * (size_t)w->nleads;
        for (int l = 0; l < w->nleads; l++) {
            int32_t v = in[l];
            if (v < w->dmin[l] || v > w->dmax[l]) {
                v = v < w->dmin[l] ? w->dmin[l] : w->dmax[l];
                w->clipped++;
            }
            w->rec[(size_t)l * (size_t)w->spr + (size_t)w->fill] = v;
        }
        w->frames++;
        if (++w->fill == w->spr && flush_record(w, err, errlen)) return -1;
    }
    return 0;
}

int fmt_edf_writer_annotate(fmt_edf_writer *w, int64_t sample, int64_t duration_samples,
                            const char *text, char *err, size_t errlen)
{
    if (sample < 0)
        return fmt_fail(err, errlen, "%s: annotation at negative sample %lld", w->path,
                        (long long)sample);
    size_t n = text ? strlen(text) : 0;
    if (n < 1 || n > FMT_EDF_MAX_ANNOT_TEXT || !valid_annot_text(text))
        return fmt_fail(err, errlen,
                        "%s: annotation text at sample %lld must be valid UTF-8 of 1..%d bytes "
                        "without control characters",
                        w->path, (long long)sample, FMT_EDF_MAX_ANNOT_TEXT);
    /* EDFlib 1.23 takes onsets and durations in units of 100 µs */
    double onset = nearbyint((double)sample * 10000.0 / w->fs);
    double dur = duration_samples < 0 ? -1 : nearbyint((double)duration_samples * 10000.0 / w->fs);
    if (onset > 9e15 || dur > 9e15)
        return fmt_fail(err, errlen, "%s: annotation at sample %lld is out of range", w->path,
                        (long long)sample);
    if (edfwrite_annotation_utf8(w->handle, (long long)onset, (long long)dur, text))
        return fmt_fail(err, errlen, "%s: EDFlib refused the annotation \"%s\" (out of memory?)",
                        w->path, text);
    w->annots++;
    return 0;
}

int64_t fmt_edf_writer_clipped(const fmt_edf_writer *w) { return w->clipped; }
int64_t fmt_edf_writer_frames(const fmt_edf_writer *w) { return w->frames; }

int fmt_edf_writer_close(fmt_edf_writer *w, char *err, size_t errlen)
{
    if (!w) return 0;
    char diag[FMT_ERRLEN];
    int rc = 0;
    if (w->fill > 0 && !w->failed) {
        for (int l = 0; l < w->nleads; l++) {
            int *sig = w->rec + (size_t)l * (size_t)w->spr;
            for (int i = w->fill; i < w->spr; i++) sig[i] = sig[w->fill - 1];
        }
        rc = flush_record(w, err, errlen);
    }
    int failed = w->failed;
    int closed = fmt_edf_close(w->handle);
    if (failed) {
        if (!rc) fmt_fail(err, errlen, "%s: an earlier write failed; the file is incomplete",
                          w->path);
        rc = -1;
    } else if (w->records == 0) {
        remove_regular(w->path);
        rc = fmt_fail(err, errlen, "%s: no samples were written; no file was made", w->path);
    } else if (closed) {
        rc = fmt_fail(err, errlen, "%s: EDFlib failed to finish the file (disk full or I/O "
                      "error?)", w->path);
    } else if (fmt_edf_diagnose(w->path, diag, sizeof diag)) {
        /* e.g. a full disk: EDFlib's buffered writes failed without telling */
        rc = fmt_fail(err, errlen, "%s (after writing it: disk full or I/O error?)", diag);
    } else if (w->annots > w->records * w->annot_sigs) {
        rc = fmt_fail(err, errlen,
                      "%s: %lld annotations did not fit and were dropped (%lld data records hold "
                      "%lld); raise annotations_per_second",
                      w->path, (long long)(w->annots - w->records * w->annot_sigs),
                      (long long)w->records, (long long)(w->records * w->annot_sigs));
    }
    free(w->rec);
    free(w->path);
    free(w);
    return rc;
}
