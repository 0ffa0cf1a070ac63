/* wfdb_hea.c — parses WFDB header text (record line, signal lines, patient comments) from memory. */
#include "wfdb_hea.h"
#include "record_impl.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_NSAMP ((int64_t)1 << 48) /* ~ 25 years at 360 kHz: anything larger is a corrupt header */

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* Cuts the next whitespace-separated token out of *s (NUL-terminating it); NULL at end of line. */
static char *next_token(char **s)
{
    char *p = *s;
    while (is_space(*p)) p++;
    if (!*p) {
        *s = p;
        return NULL;
    }
    char *tok = p;
    while (*p && !is_space(*p)) p++;
    if (*p) *p++ = '\0';
    *s = p;
    return tok;
}

/* Whole-string decimal integer within [lo, hi]; 0 on success. */
static int parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    if (!*s) return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* Leading finite decimal number of s; sets *end past it. 0 on success. */
static int parse_real_prefix(const char *s, double *out, const char **end)
{
    /* strtod would also accept "nan", "inf" and hex floats; headers only hold plain decimals. */
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1]))) return -1;
    while (isdigit((unsigned char)*p) || *p == '.' || *p == 'e' || *p == 'E' ||
           ((*p == '-' || *p == '+') && (p[-1] == 'e' || p[-1] == 'E')))
        p++;
    char tmp[64];
    size_t n = (size_t)(p - s);
    if (n >= sizeof tmp) return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    errno = 0;
    char *e;
    double v = strtod(tmp, &e);
    if (errno == ERANGE || *e || !isfinite(v)) return -1;
    *out = v;
    *end = p;
    return 0;
}

/* Case-insensitive search for KEY starting a word in S; returns the text after it or NULL. */
static const char *find_key(const char *s, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = s; *p; p++) {
        if ((p == s || !isalnum((unsigned char)p[-1])) && !strncasecmp(p, key, n)) return p + n;
    }
    return NULL;
}

static void parse_age(const char *s, fmt_patient *pt)
{
    while (is_space(*s)) s++;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end != s && !errno && !isalnum((unsigned char)*end) && v >= 0 && v <= 150) pt->age = (int)v;
}

static void parse_sex(const char *s, fmt_patient *pt)
{
    while (is_space(*s)) s++;
    if (*s == 'M' || *s == 'm') pt->sex = 'M';
    else if (*s == 'F' || *s == 'f') pt->sex = 'F';
}

/* Patient fields from one comment (text after '#'). Earlier comments win. */
static void parse_comment(const char *c, fmt_patient *pt, int *age_seen, int *sex_seen)
{
    const char *v;
    if (!*age_seen && (v = find_key(c, "age:"))) {
        *age_seen = 1;
        parse_age(v, pt);
    }
    if (!*sex_seen && (v = find_key(c, "sex:"))) {
        *sex_seen = 1;
        parse_sex(v, pt);
    }
    /* MIT-BIH style: "# 69 M 1085 1629 x1" (age, sex, then recording details). */
    if (!*age_seen && !*sex_seen) {
        const char *p = c;
        while (is_space(*p)) p++;
        char *end;
        errno = 0;
        long age = strtol(p, &end, 10);
        if (end != p && !errno && is_space(*end)) {
            while (is_space(*end)) end++;
            if ((*end == 'M' || *end == 'F') && (end[1] == '\0' || is_space(end[1]))) {
                *age_seen = *sex_seen = 1;
                pt->sex = *end;
                if (age >= 0 && age <= 150) pt->age = (int)age;
            }
        }
    }
}

static int parse_record_line(char *line, const char *name, int lineno, wfdb_header *h, char *err,
                             size_t errlen)
{
    char *s = line;
    char *tok = next_token(&s);
    if (strchr(tok, '/'))
        return fmt_fail(err, errlen, "%s: line %d: multi-segment records are not supported", name,
                        lineno);
    if (strlen(tok) >= sizeof h->name)
        return fmt_fail(err, errlen, "%s: line %d: record name is longer than %zu characters", name,
                        lineno, sizeof h->name - 1);
    strcpy(h->name, tok);

    int64_t v;
    if (!(tok = next_token(&s)))
        return fmt_fail(err, errlen, "%s: line %d: the record line has no number of signals", name,
                        lineno);
    if (parse_int(tok, 0, 1000000, &v))
        return fmt_fail(err, errlen, "%s: line %d: number of signals '%s' is not a count", name,
                        lineno, tok);
    if (v == 0) return fmt_fail(err, errlen, "%s: line %d: the record has zero signals", name, lineno);
    if (v > FMT_MAX_LEADS)
        return fmt_fail(err, errlen, "%s: line %d: the record has %lld signals; at most %d are supported",
                        name, lineno, (long long)v, FMT_MAX_LEADS);
    h->nsig = (int)v;

    h->fs = 250; /* WFDB's default when the header leaves the rate out */
    h->nsamp = -1;
    if (!(tok = next_token(&s))) return 0;
    /* fs[/counterfreq[(basecounter)]]: only fs matters for reading samples. */
    const char *end;
    double fs;
    if (parse_real_prefix(tok, &fs, &end) || (*end && *end != '/'))
        return fmt_fail(err, errlen, "%s: line %d: sampling frequency '%s' is not a number", name,
                        lineno, tok);
    if (!(fs > 0) || fs > WFDB_MAX_FS)
        return fmt_fail(err, errlen, "%s: line %d: sampling frequency %g Hz is outside 0..%g Hz", name,
                        lineno, fs, WFDB_MAX_FS);
    if (*end == '/') {
        double cf, bc;
        const char *e2;
        if (parse_real_prefix(end + 1, &cf, &e2) || cf < 0)
            return fmt_fail(err, errlen, "%s: line %d: counter frequency in '%s' is not a number",
                            name, lineno, tok);
        if (*e2 == '(') {
            if (parse_real_prefix(e2 + 1, &bc, &e2) || *e2 != ')')
                return fmt_fail(err, errlen, "%s: line %d: base counter in '%s' is not a number", name,
                                lineno, tok);
            e2++;
        }
        if (*e2)
            return fmt_fail(err, errlen, "%s: line %d: cannot read frequency field '%s'", name, lineno,
                            tok);
    }
    h->fs = fs;

    if (!(tok = next_token(&s))) return 0;
    if (parse_int(tok, 0, MAX_NSAMP, &v))
        return fmt_fail(err, errlen, "%s: line %d: number of samples '%s' is not a count below 2^48",
                        name, lineno, tok);
    h->nsamp = v ? v : -1; /* WFDB treats 0 as "unknown": read to the end of the file */
    /* Base time and date follow; a reader of samples has no use for them. */
    return 0;
}

/* format[xspf][:skew][+offset], e.g. "212", "16+24", "16x1+24", "16x200". */
static int parse_format_field(const char *tok, wfdb_sig *sg)
{
    const char *p = tok;
    char *end;
    errno = 0;
    long f = strtol(p, &end, 10);
    if (end == p || errno || f < 0 || f > 100000 || !isdigit((unsigned char)*p)) return -1;
    sg->format = (int)f;
    sg->spf = 1;
    p = end;
    if (*p == 'x') {
        p++;
        if (!isdigit((unsigned char)*p)) return -1;
        long spf = strtol(p, &end, 10);
        if (errno || spf < 1 || spf > WFDB_MAX_SPF) return -1;
        sg->spf = (int)spf;
        p = end;
    }
    if (*p == ':') {
        p++;
        if (!isdigit((unsigned char)*p)) return -1;
        long skew = strtol(p, &end, 10);
        if (errno || skew > 1000000000L) return -1;
        sg->skew = (int)skew;
        p = end;
    }
    if (*p == '+') {
        p++;
        if (!isdigit((unsigned char)*p)) return -1;
        long long off = strtoll(p, &end, 10);
        if (errno || off > ((long long)1 << 48)) return -1;
        sg->offset = off;
        p = end;
    }
    return *p ? -1 : 0;
}

/* gain[(baseline)][/units], e.g. "200", "1000/mV", "1000.0(0)/mv", "32.7675/uV". */
static int parse_gain_field(const char *tok, wfdb_sig *sg)
{
    const char *p;
    double g;
    if (parse_real_prefix(tok, &g, &p) || g < 0 || g > 1e12) return -1;
    sg->gain = g == 0 ? 200 : g; /* WFDB_DEFGAIN */
    if (*p == '(') {
        char *end;
        errno = 0;
        long long b = strtoll(p + 1, &end, 10);
        if (end == p + 1 || errno || *end != ')' || b < INT32_MIN || b > INT32_MAX) return -1;
        sg->has_baseline = 1;
        sg->baseline = (int32_t)b;
        p = end + 1;
    }
    if (*p == '/') {
        p++;
        size_t n = strlen(p);
        if (n == 0 || n >= sizeof sg->units) return -1;
        memcpy(sg->units, p, n + 1);
        p += n;
    }
    return *p ? -1 : 0;
}

static int parse_signal_line(char *line, const char *name, int lineno, wfdb_sig *sg, char *err,
                             size_t errlen)
{
    char *s = line;
    char *tok = next_token(&s);
    if (strlen(tok) >= sizeof sg->file)
        return fmt_fail(err, errlen, "%s: line %d: signal file name is longer than %zu characters",
                        name, lineno, sizeof sg->file - 1);
    strcpy(sg->file, tok);
    sg->gain = 200;
    sg->spf = 1;

    if (!(tok = next_token(&s)))
        return fmt_fail(err, errlen, "%s: line %d: the signal line has no format field", name, lineno);
    if (parse_format_field(tok, sg))
        return fmt_fail(err, errlen,
                        "%s: line %d: cannot read format field '%s' (expected e.g. 212, 16+24, 16x2)",
                        name, lineno, tok);
    if (!(tok = next_token(&s))) return 0;
    if (parse_gain_field(tok, sg))
        return fmt_fail(err, errlen,
                        "%s: line %d: cannot read ADC gain field '%s' (expected e.g. 200, 1000/mV, "
                        "1000.0(0)/mV, non-negative)",
                        name, lineno, tok);

    int64_t v;
    if (!(tok = next_token(&s))) return 0;
    if (parse_int(tok, 0, 32, &v))
        return fmt_fail(err, errlen, "%s: line %d: ADC resolution '%s' is not 0..32 bits", name,
                        lineno, tok);
    sg->adcres = (int)v;
    if (!(tok = next_token(&s))) return 0;
    if (parse_int(tok, INT32_MIN, INT32_MAX, &v))
        return fmt_fail(err, errlen, "%s: line %d: ADC zero '%s' is not a 32-bit integer", name,
                        lineno, tok);
    sg->adczero = (int32_t)v;
    if (!sg->has_baseline) sg->baseline = sg->adczero;
    /* Initial value and checksum: validated as numbers, not used (no difference formats, and a
     * checksum needs the whole file read, which open must not do). */
    if (!(tok = next_token(&s))) return 0;
    if (parse_int(tok, INT32_MIN, INT32_MAX, &v))
        return fmt_fail(err, errlen, "%s: line %d: initial value '%s' is not a 32-bit integer", name,
                        lineno, tok);
    if (!(tok = next_token(&s))) return 0;
    if (parse_int(tok, INT32_MIN, INT32_MAX, &v))
        return fmt_fail(err, errlen, "%s: line %d: checksum '%s' is not an integer", name, lineno, tok);
    if (!(tok = next_token(&s))) return 0;
    if (parse_int(tok, 0, INT32_MAX, &v))
        return fmt_fail(err, errlen, "%s: line %d: block size '%s' is not a non-negative integer",
                        name, lineno, tok);
    /* The description is the rest of the line and may hold spaces ("sine 1 Hz"). */
    while (is_space(*s)) s++;
    size_t n = strlen(s);
    while (n && is_space(s[n - 1])) n--;
    if (n >= sizeof sg->desc) n = sizeof sg->desc - 1;
    memcpy(sg->desc, s, n);
    sg->desc[n] = '\0';
    return 0;
}

int wfdb_hea_parse(const char *text, size_t len, const char *name, wfdb_header *h, char *err,
                   size_t errlen)
{
    memset(h, 0, sizeof *h);
    h->patient.age = -1;
    if (len > WFDB_HEA_MAX_BYTES)
        return fmt_fail(err, errlen, "%s: %zu bytes is too large for a WFDB header", name, len);
    if (memchr(text, '\0', len))
        return fmt_fail(err, errlen, "%s: contains NUL bytes; not a WFDB header (text) file", name);

    char line[WFDB_HEA_MAX_LINE + 1];
    int have_record = 0, nsig_read = 0, age_seen = 0, sex_seen = 0;
    const char *p = text, *end = text + len;
    for (int lineno = 1; p < end; lineno++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        const char *next = nl ? nl + 1 : end;
        if (n > WFDB_HEA_MAX_LINE)
            return fmt_fail(err, errlen, "%s: line %d is longer than %d bytes", name, lineno,
                            WFDB_HEA_MAX_LINE);
        memcpy(line, p, n);
        line[n] = '\0';
        p = next;

        char *s = line;
        while (is_space(*s)) s++;
        if (!*s) continue;
        if (*s == '#') {
            parse_comment(s + 1, &h->patient, &age_seen, &sex_seen);
            continue;
        }
        if (!have_record) {
            if (parse_record_line(s, name, lineno, h, err, errlen)) return -1;
            have_record = 1;
        } else if (nsig_read < h->nsig) {
            if (parse_signal_line(s, name, lineno, &h->sig[nsig_read], err, errlen)) return -1;
            nsig_read++;
        } else {
            return fmt_fail(err, errlen,
                            "%s: line %d: more signal lines than the %d signals the record line "
                            "declares",
                            name, lineno, h->nsig);
        }
    }
    if (!have_record) return fmt_fail(err, errlen, "%s: no record line; not a WFDB header", name);
    if (nsig_read < h->nsig)
        return fmt_fail(err, errlen,
                        "%s: the record line declares %d signals but the header has %d signal lines",
                        name, h->nsig, nsig_read);
    return 0;
}
