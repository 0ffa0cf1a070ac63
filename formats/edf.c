/* edf.c — EDF, EDF+C, BDF and BDF+C record reader through EDFlib, behind the fmt_record interface.
 *
 * Which signals become leads: the record interface has one sample rate, EDF has one per signal.
 * Among the ordinary (non-annotation) signals whose physical dimension is a voltage (uV, mV, V,
 * nV, any case) and whose label looks like ECG ("ECG…", "EKG…", or a lead name such as I, II,
 * aVR, V1, MLII), the leads are those at the highest sample rate among them. When no voltage
 * signal looks like ECG, the leads are the voltage signals at the rate most of them share (ties:
 * the higher rate). Signals at other rates, and non-voltage signals, are left out. At most
 * FMT_MAX_LEADS leads are taken, in file order. No voltage signal at all is an error.
 *
 * Lead names: the label with "ECG "/"EKG " prefixes and surrounding spaces removed ("ECG II" ->
 * "II"); a label with no letter or digit becomes "sigN" (N = EDFlib's 0-based signal index).
 *
 * Scaling: EDF's phys = (dig - dmin) * (pmax - pmin) / (dmax - dmin) + pmin in the signal's
 * dimension becomes uv_per_unit and baseline in µV. A signal with pmax < pmin (inverted
 * polarity) is read with its samples negated, so uv_per_unit stays positive as record.h
 * promises; adc_min/adc_max are then the negated digital range.
 *
 * EDFlib refuses EDF+D (discontinuous) files; they are reported as unsupported. Opening and
 * closing go through the process-wide EDFlib mutex (edf_lib.h); reading holds no lock.
 * Memory: besides EDFlib's per-file header, one scratch block of EDF_CHUNK samples per record.
 */
#include "edf_lib.h"
#include "record_impl.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EDF_CHUNK 4096 /* frames per EDFlib call: bounds the scratch buffer */

typedef struct {
    int handle;
    int nleads;
    int sig[FMT_MAX_LEADS];    /* EDFlib signal index of each lead */
    int negate[FMT_MAX_LEADS]; /* inverted physical range: samples are negated */
    int64_t pos;               /* frame every lead's EDFlib position points at */
    int *scratch;              /* EDF_CHUNK samples of one lead */
    char *path;                /* for error messages */
} edf_reader;

/* µV per unit of a physical dimension, or 0 when it is not a voltage. All-caps headers ("UV",
 * "MV") are common and nobody records megavolts, so prefixes are matched case-insensitively. */
static double dim_to_uv(const char *dim)
{
    char s[16];
    size_t n = 0;
    while (*dim == ' ') dim++;
    while (*dim && n < sizeof s - 1) s[n++] = *dim++;
    while (n && s[n - 1] == ' ') n--;
    s[n] = 0;
    if (n == 0 || (s[n - 1] != 'V' && s[n - 1] != 'v')) return 0;
    s[--n] = 0;
    if (n == 0) return 1e6;
    if (!strcasecmp(s, "u") || !strcmp(s, "\xB5") || !strcmp(s, "\xC2\xB5")) return 1;
    if (!strcasecmp(s, "m")) return 1e3;
    if (!strcasecmp(s, "n")) return 1e-3;
    return 0;
}

/* Copies LABEL without surrounding spaces and without an "ECG "/"EKG " prefix. */
static void lead_name(char *out, size_t outlen, const char *label, int sig)
{
    while (*label == ' ') label++;
    size_t n = strlen(label);
    while (n && label[n - 1] == ' ') n--;
    /* "ECG II" -> "II", but a label that is just "ECG" (EDFlib pads it with spaces) stays */
    if (n > 4 && (!strncasecmp(label, "ECG ", 4) || !strncasecmp(label, "EKG ", 4))) {
        label += 4;
        n -= 4;
        while (*label == ' ') label++, n--;
    }
    int alnum = 0;
    for (size_t i = 0; i < n; i++) alnum |= isalnum((unsigned char)label[i]) != 0;
    if (!alnum) {
        snprintf(out, outlen, "sig%d", sig);
        return;
    }
    if (n >= outlen) n = outlen - 1;
    memcpy(out, label, n);
    out[n] = 0;
}

static int looks_like_ecg(const char *label)
{
    static const char *const leads[] = {
        "I",   "II",  "III",  "aVR",  "aVL", "aVF", "V1",  "V2",  "V3",  "V4",  "V5",  "V6",
        "V7",  "V8",  "V9",   "V3R",  "V4R", "V5R", "MLI", "MLII", "MLIII", "ML", "MV1", "MV2",
        "CM5", "CC5", "CM2",  "D1",   "D2",  "D3",  "vx",  "vy",  "vz",  "Lead I", "Lead II",
        "Lead III",
    };
    char name[32];
    for (const char *p = label; p[0] && p[1] && p[2]; p++)
        if (!strncasecmp(p, "ECG", 3) || !strncasecmp(p, "EKG", 3)) return 1;
    lead_name(name, sizeof name, label, 0);
    for (size_t i = 0; i < sizeof leads / sizeof *leads; i++)
        if (!strcasecmp(name, leads[i])) return 1;
    return 0;
}

/* Picks the leads (see the file comment); returns their count, writing EDFlib indices to sig. */
static int pick_leads(const struct edf_hdr_struct *h, int *sig)
{
    int nsig = h->edfsignals, best = 0, n = 0;
    for (int i = 0; i < nsig; i++) {
        const struct edf_param_struct *p = &h->signalparam[i];
        if (dim_to_uv(p->physdimension) > 0 && looks_like_ecg(p->label) &&
            p->smp_in_datarecord > best)
            best = p->smp_in_datarecord;
    }
    if (best > 0) {
        for (int i = 0; i < nsig && n < FMT_MAX_LEADS; i++) {
            const struct edf_param_struct *p = &h->signalparam[i];
            if (dim_to_uv(p->physdimension) > 0 && looks_like_ecg(p->label) &&
                p->smp_in_datarecord == best)
                sig[n++] = i;
        }
        return n;
    }
    int best_count = 0;
    for (int i = 0; i < nsig; i++) {
        const struct edf_param_struct *p = &h->signalparam[i];
        if (dim_to_uv(p->physdimension) <= 0) continue;
        int count = 0;
        for (int j = 0; j < nsig; j++)
            count += dim_to_uv(h->signalparam[j].physdimension) > 0 &&
                     h->signalparam[j].smp_in_datarecord == p->smp_in_datarecord;
        if (count > best_count || (count == best_count && p->smp_in_datarecord > best)) {
            best_count = count;
            best = p->smp_in_datarecord;
        }
    }
    for (int i = 0; i < nsig && n < FMT_MAX_LEADS; i++) {
        const struct edf_param_struct *p = &h->signalparam[i];
        if (dim_to_uv(p->physdimension) > 0 && p->smp_in_datarecord == best) sig[n++] = i;
    }
    return n;
}

/* Parses an EDF+ date "dd-MMM-yyyy" into y/m/d; returns 0 on success. */
static int parse_edf_date(const char *s, int *y, int *m, int *d)
{
    static const char *const months[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                         "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
    if (strlen(s) != 11 || s[2] != '-' || s[6] != '-') return -1;
    for (int i = 0; i < 11; i++) {
        if (i == 2 || i == 6) continue;
        int ok = (i > 2 && i < 6) ? isalpha((unsigned char)s[i]) : isdigit((unsigned char)s[i]);
        if (!ok) return -1;
    }
    *m = 0;
    for (int i = 0; i < 12; i++)
        if (!strncasecmp(s + 3, months[i], 3)) *m = i + 1;
    *d = atoi(s);
    *y = atoi(s + 7);
    return (*m && *d >= 1 && *d <= 31) ? 0 : -1;
}

static void set_birthdate(fmt_patient *pt, int y, int m, int d)
{
    if (y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= 31)
        snprintf(pt->birthdate, sizeof pt->birthdate, "%04d-%02d-%02d", y, m, d);
}

static void copy_trimmed(char *out, size_t outlen, const char *s)
{
    while (*s == ' ') s++;
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ') n--;
    if (n >= outlen) n = outlen - 1;
    memcpy(out, s, n);
    out[n] = 0;
    if (!strcmp(out, "X")) out[0] = 0; /* EDF+'s "unknown" */
}

/* Plain EDF has one free-text patient field; many writers still follow the EDF+ layout
 * "code sex dd-MMM-yyyy name", so use it when it is there, else take the text as the id. */
static void parse_plain_patient(fmt_patient *pt, const char *field)
{
    char buf[81], *tok[4] = {0};
    int n = 0;
    snprintf(buf, sizeof buf, "%s", field);
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t && n < 4;
         t = strtok_r(NULL, " ", &save))
        tok[n++] = t;
    int y = 0, m = 0, d = 0;
    if (n >= 4 && strlen(tok[1]) == 1 && strchr("MFX", tok[1][0]) &&
        (!strcmp(tok[2], "X") || !parse_edf_date(tok[2], &y, &m, &d))) {
        copy_trimmed(pt->id, sizeof pt->id, tok[0]);
        pt->sex = tok[1][0] == 'X' ? 0 : tok[1][0];
        if (strcmp(tok[2], "X")) set_birthdate(pt, y, m, d);
    } else {
        copy_trimmed(pt->id, sizeof pt->id, field);
    }
}

static void fill_patient(fmt_patient *pt, const struct edf_hdr_struct *h)
{
    pt->age = -1;
    int plus = h->filetype == EDFLIB_FILETYPE_EDFPLUS || h->filetype == EDFLIB_FILETYPE_BDFPLUS;
    if (plus) {
        copy_trimmed(pt->id, sizeof pt->id, h->patientcode);
        if (!strcasecmp(h->gender, "Male") || !strcasecmp(h->gender, "M")) pt->sex = 'M';
        if (!strcasecmp(h->gender, "Female") || !strcasecmp(h->gender, "F")) pt->sex = 'F';
        set_birthdate(pt, h->birthdate_year, h->birthdate_month, h->birthdate_day);
    } else {
        parse_plain_patient(pt, h->patient);
    }
    if (pt->birthdate[0] && h->startdate_year > 0) {
        int by = atoi(pt->birthdate), bm = atoi(pt->birthdate + 5), bd = atoi(pt->birthdate + 8);
        int age = h->startdate_year - by;
        if (h->startdate_month < bm || (h->startdate_month == bm && h->startdate_day < bd)) age--;
        if (age >= 0 && age <= 150) pt->age = age;
    }
}

static void record_name(char *out, size_t outlen, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot ? (size_t)(dot - base) : strlen(base);
    if (n >= outlen) n = outlen - 1;
    memcpy(out, base, n);
    out[n] = 0;
}

/* Puts every lead's EDFlib position at FRAME; -1 when EDFlib refuses. */
static int seek_all(edf_reader *e, int64_t frame)
{
    for (int l = 0; l < e->nleads; l++)
        if (edfseek(e->handle, e->sig[l], frame, EDFSEEK_SET) != frame) return -1;
    e->pos = frame;
    return 0;
}

static long edf_read(void *impl, int32_t *buf, long max_frames, char *err, size_t errlen)
{
    edf_reader *e = impl;
    long done = 0;
    while (done < max_frames) {
        int n = max_frames - done < EDF_CHUNK ? (int)(max_frames - done) : EDF_CHUNK;
        for (int l = 0; l < e->nleads; l++) {
            int got = edfread_digital_samples(e->handle, e->sig[l], n, e->scratch);
            if (got != n) {
                int64_t at = e->pos + done;
                seek_all(e, e->pos); /* leave every lead where the caller thinks we are */
                return fmt_fail(err, errlen,
                                "%s: reading signal %d at sample %lld failed (file shorter than "
                                "its header says, or an I/O error)",
                                e->path, e->sig[l], (long long)at);
            }
            int32_t *out = buf + (size_t)done * (size_t)e->nleads + (size_t)l;
            if (e->negate[l])
                for (int i = 0; i < n; i++) out[(size_t)i * (size_t)e->nleads] = -e->scratch[i];
            else
                for (int i = 0; i < n; i++) out[(size_t)i * (size_t)e->nleads] = e->scratch[i];
        }
        done += n;
    }
    e->pos += done;
    return done;
}

static int edf_seek(void *impl, int64_t frame, char *err, size_t errlen)
{
    edf_reader *e = impl;
    if (seek_all(e, frame)) {
        seek_all(e, e->pos);
        return fmt_fail(err, errlen, "%s: seek to frame %lld failed", e->path, (long long)frame);
    }
    return 0;
}

static void edf_close(void *impl)
{
    edf_reader *e = impl;
    if (!e) return;
    fmt_edf_close(e->handle);
    free(e->scratch);
    free(e->path);
    free(e);
}

static const fmt_record_ops edf_ops = {edf_read, edf_seek, edf_close};

/* Fills lead L's scaling from EDF signal P; -1 with err when the scaling is unusable. */
static int fill_lead(const char *path, edf_reader *e, int l, const struct edf_param_struct *p,
                     fmt_lead *lead, char *err, size_t errlen)
{
    double unit = dim_to_uv(p->physdimension);
    double dspan = (double)p->dig_max - (double)p->dig_min;
    double k = (p->phys_max - p->phys_min) / dspan; /* physical units per digital unit */
    if (!(dspan > 0) || !(k != 0) || !isfinite(k))
        return fmt_fail(err, errlen,
                        "%s: signal %d (\"%s\") has unusable scaling: digital %d..%d, physical "
                        "%g..%g",
                        path, e->sig[l], lead->name, p->dig_min, p->dig_max, p->phys_min,
                        p->phys_max);
    double baseline = p->dig_min - p->phys_min / k;
    e->negate[l] = k < 0;
    lead->uv_per_unit = fabs(k) * unit;
    lead->baseline = e->negate[l] ? -baseline : baseline;
    lead->adc_min = e->negate[l] ? -p->dig_max : p->dig_min;
    lead->adc_max = e->negate[l] ? -p->dig_min : p->dig_max;
    return 0;
}

int fmt_edf_open(const char *path, fmt_record *r, char *err, size_t errlen)
{
    struct edf_hdr_struct *h = malloc(sizeof *h);
    edf_reader *e = calloc(1, sizeof *e);
    if (!h || !e) {
        free(h);
        free(e);
        return fmt_fail(err, errlen, "%s: out of memory", path);
    }
    e->handle = -1;
    e->path = strdup(path);
    e->scratch = malloc(EDF_CHUNK * sizeof *e->scratch);
    if (!e->path || !e->scratch) {
        fmt_fail(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    e->handle = fmt_edf_open_readonly(path, h, EDFLIB_DO_NOT_READ_ANNOTATIONS, err, errlen);
    if (e->handle < 0) goto fail;
    e->nleads = pick_leads(h, e->sig);
    if (e->nleads == 0) {
        if (h->edfsignals == 0)
            fmt_fail(err, errlen, "%s: no ECG leads: the file holds only annotations", path);
        else
            fmt_fail(err, errlen,
                     "%s: no ECG leads: none of its %d signals has a voltage dimension (uV, mV, V)",
                     path, h->edfsignals);
        goto fail;
    }
    if (h->datarecord_duration <= 0) {
        fmt_fail(err, errlen, "%s: data record duration is %g s; sample rates are undefined", path,
                 (double)h->datarecord_duration / EDFLIB_TIME_DIMENSION);
        goto fail;
    }
    const struct edf_param_struct *p0 = &h->signalparam[e->sig[0]];
    r->nleads = e->nleads;
    r->fs = (double)p0->smp_in_datarecord * EDFLIB_TIME_DIMENSION / (double)h->datarecord_duration;
    r->nsamples = p0->smp_in_file;
    for (int l = 0; l < e->nleads; l++) {
        const struct edf_param_struct *p = &h->signalparam[e->sig[l]];
        lead_name(r->leads[l].name, sizeof r->leads[l].name, p->label, e->sig[l]);
        if (fill_lead(path, e, l, p, &r->leads[l], err, errlen)) goto fail;
    }
    fill_patient(&r->patient, h);
    record_name(r->name, sizeof r->name, path);
    static const char *const formats[] = {"EDF", "EDF+", "BDF", "BDF+"};
    snprintf(r->format, sizeof r->format, "%s",
             h->filetype >= 0 && h->filetype <= 3 ? formats[h->filetype] : "EDF");
    r->ops = &edf_ops;
    r->impl = e;
    free(h);
    return 0;
fail:
    if (e->handle >= 0) fmt_edf_close(e->handle);
    free(e->scratch);
    free(e->path);
    free(e);
    free(h);
    return -1;
}
