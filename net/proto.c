/* proto.c — parsing and building ecgnet.v1 messages: the hello (JSON) and binary sample frames. */
#include "proto.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static int fail(int code, char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return code;
}

/* Identifiers travel into file names and SQL parameters: keep them to a safe alphabet. */
static int ident_ok(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n == 0 || n > max) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr(extra, c)))
            return 0;
    }
    return 1;
}

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 0;
    return 1;
}

/* Copies a string member into out (size outlen), "" when absent and not required. Returns 0, or
 * -1 with the message in err. The message goes to the caller's buffer, never a static one: hellos
 * are parsed on several threads at once (ingest workers reload journals' hellos while the loop
 * parses devices'). */
static int string_member(const cJSON *o, const char *name, int required, char *out, size_t outlen,
                         char *err, size_t errlen)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
    out[0] = 0;
    if (!it) {
        if (!required) return 0;
        snprintf(err, errlen, "hello: \"%s\" is missing", name);
        return -1;
    }
    if (!cJSON_IsString(it) || strlen(it->valuestring) >= outlen || !printable(it->valuestring)) {
        snprintf(err, errlen, "hello: \"%s\" must be a string of at most %zu printable bytes",
                 name, outlen - 1);
        return -1;
    }
    strcpy(out, it->valuestring);
    return 0;
}

static int number_member(const cJSON *o, const char *name, double lo, double hi, double *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!it) return 1;
    if (!cJSON_IsNumber(it) || !(it->valuedouble >= lo && it->valuedouble <= hi)) return -1;
    *out = it->valuedouble;
    return 0;
}

/* "YYYY-MM-DD" of a real calendar day from 1880 on: exactly ten characters, digits where digits
 * go (sscanf alone would take "2000-+1-01" or "2000- 1-01"). */
static int date_ok(const char *s)
{
    static const char pattern[] = "dddd-dd-dd";
    if (strlen(s) != sizeof pattern - 1) return 0;
    for (size_t i = 0; pattern[i]; i++)
        if (pattern[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != pattern[i]) return 0;
    int y = atoi(s), mo = atoi(s + 5), d = atoi(s + 8);
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1880 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1]) return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(mo == 2 && d == 29 && !leap);
}

static int parse_patient(const cJSON *p, fmt_patient *pt, char *err, size_t errlen)
{
    char sex[4];
    pt->age = -1;
    if (!p) return 0;
    if (!cJSON_IsObject(p)) return fail(PROTO_CLOSE_MALFORMED, err, errlen, "hello: \"patient\" must be an object");
    if (string_member(p, "id", 0, pt->id, sizeof pt->id, err, errlen) ||
        string_member(p, "sex", 0, sex, sizeof sex, err, errlen) ||
        string_member(p, "birth_date", 0, pt->birthdate, sizeof pt->birthdate, err, errlen))
        return PROTO_CLOSE_MALFORMED;
    if (!strcmp(sex, "M") || !strcmp(sex, "F")) pt->sex = sex[0];
    else if (sex[0]) return fail(PROTO_CLOSE_MALFORMED, err, errlen, "hello: patient \"sex\" must be \"M\", \"F\" or absent");
    if (pt->birthdate[0] && !date_ok(pt->birthdate))
        return fail(PROTO_CLOSE_MALFORMED, err, errlen, "hello: patient \"birth_date\" must be a date YYYY-MM-DD from 1880 on");
    double age;
    int r = number_member(p, "age", 0, 150, &age);
    if (r < 0 || (r == 0 && age != floor(age)))
        return fail(PROTO_CLOSE_MALFORMED, err, errlen, "hello: patient \"age\" must be a whole number of years, 0..150");
    if (r == 0) pt->age = (int)age;
    return 0;
}

static int parse_leads(const cJSON *a, proto_hello *h, char *err, size_t errlen)
{
    if (!cJSON_IsArray(a)) return fail(PROTO_CLOSE_MALFORMED, err, errlen, "hello: \"leads\" must be an array of {\"name\", \"uv_per_unit\"}");
    int n = cJSON_GetArraySize(a);
    if (n < 1 || n > PROTO_MAX_LEADS) {
        snprintf(err, errlen, "hello: %d leads; a device may send 1 to %d", n, PROTO_MAX_LEADS);
        return PROTO_CLOSE_LIMITS;
    }
    h->nleads = n;
    int32_t hi = h->sample_bytes == 2 ? 32767 : 2147483647;
    const cJSON *it;
    int l = 0;
    cJSON_ArrayForEach(it, a) {
        fmt_lead *ld = &h->leads[l];
        if (!cJSON_IsObject(it)) return fail(PROTO_CLOSE_MALFORMED, err, errlen, "hello: each lead must be an object {\"name\", \"uv_per_unit\"}");
        if (string_member(it, "name", 1, ld->name, 13, err, errlen)) return PROTO_CLOSE_MALFORMED;
        if (!ld->name[0]) return fail(PROTO_CLOSE_MALFORMED, err, errlen, "hello: a lead name is empty");
        for (int k = 0; k < l; k++)
            if (!strcmp(h->leads[k].name, ld->name)) {
                snprintf(err, errlen, "hello: lead \"%s\" appears twice", ld->name);
                return PROTO_CLOSE_MALFORMED;
            }
        if (number_member(it, "uv_per_unit", 1e-6, 1e6, &ld->uv_per_unit) != 0) {
            snprintf(err, errlen, "hello: lead \"%s\": \"uv_per_unit\" must be a number from 1e-6 to 1e6", ld->name);
            return PROTO_CLOSE_MALFORMED;
        }
        ld->baseline = 0;
        if (number_member(it, "baseline", -1e9, 1e9, &ld->baseline) < 0) {
            snprintf(err, errlen, "hello: lead \"%s\": \"baseline\" (the sample value meaning 0 uV) must be a number", ld->name);
            return PROTO_CLOSE_MALFORMED;
        }
        ld->adc_min = -hi - 1;
        ld->adc_max = hi;
        /* The ADC's own range, when narrower than the sample type: samples at its ends are
           saturated, which the signal-quality check needs to know. */
        double lo_v = 0, hi_v = 0;
        int a = number_member(it, "adc_min", -(double)hi - 1, hi, &lo_v);
        int b = number_member(it, "adc_max", -(double)hi - 1, hi, &hi_v);
        if (a < 0 || b < 0 || (a == 0) != (b == 0) || (a == 0 && (lo_v != floor(lo_v) || hi_v != floor(hi_v) || lo_v >= hi_v))) {
            snprintf(err, errlen, "hello: lead \"%s\": \"adc_min\" and \"adc_max\" must both be whole numbers within the sample type, adc_min < adc_max", ld->name);
            return PROTO_CLOSE_MALFORMED;
        }
        if (a == 0) {
            ld->adc_min = (int32_t)lo_v;
            ld->adc_max = (int32_t)hi_v;
        }
        l++;
    }
    return 0;
}

int proto_hello_parse(const char *text, size_t len, proto_hello *h, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    if (len > PROTO_MAX_TEXT_BYTES) return fail(PROTO_CLOSE_TOO_BIG, err, errlen, "hello: longer than 16 KiB");
    cJSON *o = cJSON_ParseWithLength(text, len);
    int rc = PROTO_CLOSE_MALFORMED;
    char buf[16];
    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "hello: not a JSON object");
        goto out;
    }
    if (string_member(o, "type", 1, buf, sizeof buf, err, errlen) || strcmp(buf, "hello")) {
        snprintf(err, errlen, "hello: \"type\" must be \"hello\"");
        goto out;
    }
    if (string_member(o, "device", 1, h->device, sizeof h->device, err, errlen) ||
        string_member(o, "token", 0, h->token, sizeof h->token, err, errlen) ||
        string_member(o, "recording", 1, h->recording, sizeof h->recording, err, errlen) ||
        string_member(o, "start_time", 0, h->start_time, sizeof h->start_time, err, errlen))
        goto out;
    if (!ident_ok(h->device, 64, "._-")) {
        snprintf(err, errlen, "hello: \"device\" must be 1..64 characters of A-Z a-z 0-9 . _ -");
        goto out;
    }
    if (!ident_ok(h->recording, 128, "._:-") || h->recording[0] == '.') {
        snprintf(err, errlen, "hello: \"recording\" must be 1..128 characters of A-Z a-z 0-9 . _ : - not starting with '.'");
        goto out;
    }
    if (string_member(o, "sample_type", 1, buf, sizeof buf, err, errlen)) goto out;
    if (!strcmp(buf, "int16")) h->sample_bytes = 2;
    else if (!strcmp(buf, "int32")) h->sample_bytes = 4;
    else {
        snprintf(err, errlen, "hello: \"sample_type\" must be \"int16\" or \"int32\"");
        rc = PROTO_CLOSE_LIMITS;
        goto out;
    }
    /* Any number is a sample rate, so that 0 or -500 get the limits message, not "not a number". */
    int r = number_member(o, "fs", -DBL_MAX, DBL_MAX, &h->fs);
    if (r != 0) {
        snprintf(err, errlen, "hello: \"fs\" (samples per second) must be a number");
        goto out;
    }
    if (h->fs < PROTO_MIN_FS || h->fs > PROTO_MAX_FS) {
        snprintf(err, errlen, "hello: sample rate %g Hz; ecgnet takes %g to %g Hz", h->fs, PROTO_MIN_FS, PROTO_MAX_FS);
        rc = PROTO_CLOSE_LIMITS;
        goto out;
    }
    if ((rc = parse_leads(cJSON_GetObjectItemCaseSensitive(o, "leads"), h, err, errlen))) goto out;
    rc = PROTO_CLOSE_MALFORMED;
    if (parse_patient(cJSON_GetObjectItemCaseSensitive(o, "patient"), &h->patient, err, errlen)) goto out;
    if (string_member(o, "mode", 0, buf, sizeof buf, err, errlen)) goto out;
    if (!buf[0] || !strcmp(buf, "resting")) h->mode = PROTO_MODE_RESTING;
    else if (!strcmp(buf, "continuous")) h->mode = PROTO_MODE_CONTINUOUS;
    else {
        snprintf(err, errlen, "hello: \"mode\" must be \"resting\" or \"continuous\"");
        goto out;
    }
    if (string_member(o, "encounter", 0, buf, sizeof buf, err, errlen)) goto out;
    if (!buf[0] && !cJSON_GetObjectItemCaseSensitive(o, "encounter")) h->encounter = PROTO_ENCOUNTER_UNSTATED;
    else if (!strcmp(buf, "outpatient")) h->encounter = PROTO_ENCOUNTER_OUTPATIENT;
    else if (!strcmp(buf, "inpatient")) h->encounter = PROTO_ENCOUNTER_INPATIENT;
    else {
        snprintf(err, errlen, "hello: \"encounter\" must be \"outpatient\" or \"inpatient\" (or absent: outpatient)");
        goto out;
    }
    const cJSON *df = cJSON_GetObjectItemCaseSensitive(o, "device_filter");
    if (df) {
        if (!cJSON_IsObject(df) || number_member(df, "highpass_hz", 0, 1000, &h->dev_hp_hz) < 0 ||
            number_member(df, "lowpass_hz", 0, 1000, &h->dev_lp_hz) < 0 ||
            number_member(df, "notch_hz", 0, 1000, &h->dev_notch_hz) < 0) {
            snprintf(err, errlen, "hello: \"device_filter\" must be {\"highpass_hz\", \"lowpass_hz\", \"notch_hz\"} numbers 0..1000");
            goto out;
        }
    }
    rc = 0;
out:
    cJSON_Delete(o);
    return rc;
}

/* cJSON prints a double with 15 significant digits whenever those come within an epsilon of it, so
 * 0.1 + 0.2 would come back as 0.3 and a resumed recording would no longer match the hello in its
 * journal (ingest compares fs and uv_per_unit exactly). This prints the shortest of 15..17 digits
 * that reads back bit for bit. printf writes '.' because ecgnet never sets LC_NUMERIC. */
static cJSON *add_exact_number(cJSON *o, const char *name, double v)
{
    char buf[32];
    if (!isfinite(v)) return cJSON_AddNullToObject(o, name); /* the parser refuses it, as it should */
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) break;
    }
    return cJSON_AddRawToObject(o, name, buf);
}

/* The hello as an object; with_token adds the token (only the device sends it). */
static char *hello_to_json(const proto_hello *h, int with_token)
{
    cJSON *o = cJSON_CreateObject(), *p, *leads, *df;
    char *s = NULL;
    if (!o) return NULL;
    char sex[2] = {h->patient.sex, 0};
    if (!cJSON_AddStringToObject(o, "type", "hello") || !cJSON_AddStringToObject(o, "device", h->device) ||
        (with_token && !cJSON_AddStringToObject(o, "token", h->token)) ||
        !cJSON_AddStringToObject(o, "recording", h->recording) ||
        !(p = cJSON_AddObjectToObject(o, "patient")) || !cJSON_AddStringToObject(p, "id", h->patient.id) ||
        (h->patient.sex && !cJSON_AddStringToObject(p, "sex", sex)) ||
        (h->patient.age >= 0 && !cJSON_AddNumberToObject(p, "age", h->patient.age)) ||
        (h->patient.birthdate[0] && !cJSON_AddStringToObject(p, "birth_date", h->patient.birthdate)) ||
        !add_exact_number(o, "fs", h->fs) ||
        !cJSON_AddStringToObject(o, "sample_type", h->sample_bytes == 2 ? "int16" : "int32") ||
        !(leads = cJSON_AddArrayToObject(o, "leads")))
        goto out;
    for (int l = 0; l < h->nleads; l++) {
        cJSON *ld = cJSON_CreateObject();
        if (!ld || !cJSON_AddItemToArray(leads, ld)) {
            cJSON_Delete(ld);
            goto out;
        }
        if (!cJSON_AddStringToObject(ld, "name", h->leads[l].name) ||
            !add_exact_number(ld, "uv_per_unit", h->leads[l].uv_per_unit) ||
            !add_exact_number(ld, "baseline", h->leads[l].baseline) ||
            !cJSON_AddNumberToObject(ld, "adc_min", h->leads[l].adc_min) ||
            !cJSON_AddNumberToObject(ld, "adc_max", h->leads[l].adc_max))
            goto out;
    }
    if (!(df = cJSON_AddObjectToObject(o, "device_filter")) ||
        !add_exact_number(df, "highpass_hz", h->dev_hp_hz) ||
        !add_exact_number(df, "lowpass_hz", h->dev_lp_hz) ||
        !add_exact_number(df, "notch_hz", h->dev_notch_hz) ||
        (h->start_time[0] && !cJSON_AddStringToObject(o, "start_time", h->start_time)) ||
        !cJSON_AddStringToObject(o, "mode", h->mode == PROTO_MODE_CONTINUOUS ? "continuous" : "resting") ||
        (h->encounter != PROTO_ENCOUNTER_UNSTATED &&
         !cJSON_AddStringToObject(o, "encounter", proto_encounter_name(h->encounter))))
        goto out;
    s = cJSON_PrintUnformatted(o);
out:
    cJSON_Delete(o);
    return s;
}

const char *proto_encounter_name(proto_encounter e)
{
    return e == PROTO_ENCOUNTER_INPATIENT ? "inpatient" : "outpatient";
}

char *proto_hello_json(const proto_hello *h) { return hello_to_json(h, 0); }
char *proto_hello_build(const proto_hello *h) { return hello_to_json(h, 1); }

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static int64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return (int64_t)v;
}

int proto_frame_parse(const uint8_t *buf, size_t len, int nleads, int sample_bytes, proto_frame *f,
                      char *err, size_t errlen)
{
    if (nleads < 1 || nleads > PROTO_MAX_LEADS || (sample_bytes != 2 && sample_bytes != 4)) {
        snprintf(err, errlen, "frame for a stream of %d leads at %d bytes per sample: no such stream",
                 nleads, sample_bytes);
        return PROTO_CLOSE_LIMITS;
    }
    if (len > PROTO_MAX_FRAME_BYTES) {
        snprintf(err, errlen, "frame of %zu bytes; the limit is %d", len, PROTO_MAX_FRAME_BYTES);
        return PROTO_CLOSE_TOO_BIG;
    }
    if (len < PROTO_HEADER_BYTES) {
        snprintf(err, errlen, "frame of %zu bytes is shorter than its %d-byte header", len, PROTO_HEADER_BYTES);
        return PROTO_CLOSE_MALFORMED;
    }
    if (buf[0] != 1) {
        snprintf(err, errlen, "frame kind %u unknown (1 = samples)", buf[0]);
        return PROTO_CLOSE_UNKNOWN_TYPE;
    }
    f->flags = buf[1];
    f->nframes = get16(buf + 2);
    f->lead_off = get16(buf + 4);
    f->saturated = get16(buf + 6);
    f->first = get64(buf + 8);
    f->samples = buf + PROTO_HEADER_BYTES;
    if (f->nframes < 1 || f->nframes > PROTO_MAX_FRAMES) {
        snprintf(err, errlen, "frame of %u samples per lead; 1 to %d allowed", f->nframes, PROTO_MAX_FRAMES);
        return PROTO_CLOSE_MALFORMED;
    }
    if (f->first < 0 || f->first > INT64_MAX / 2) {
        snprintf(err, errlen, "frame's first sample index %lld is out of range", (long long)f->first);
        return PROTO_CLOSE_MALFORMED;
    }
    uint16_t mask = (uint16_t)(nleads >= 16 ? 0xffffu : (1u << nleads) - 1);
    if ((f->lead_off | f->saturated) & ~mask) {
        snprintf(err, errlen, "frame flags name leads beyond the %d announced", nleads);
        return PROTO_CLOSE_MALFORMED;
    }
    if (f->flags & ~PROTO_FLAG_PACE) {
        snprintf(err, errlen, "frame flags 0x%02x: unknown bits", f->flags);
        return PROTO_CLOSE_MALFORMED;
    }
    size_t want = PROTO_HEADER_BYTES + (size_t)f->nframes * (size_t)nleads * (size_t)sample_bytes;
    if (len != want) {
        snprintf(err, errlen, "frame of %zu bytes, but %u samples of %d leads at %d bytes need %zu",
                 len, f->nframes, nleads, sample_bytes, want);
        return PROTO_CLOSE_MALFORMED;
    }
    return 0;
}

size_t proto_frame_samples(const proto_frame *f, int nleads, int sample_bytes, size_t skip,
                           int32_t *out)
{
    if (skip >= f->nframes) return 0;
    size_t n = f->nframes - skip, count = n * (size_t)nleads;
    const uint8_t *p = f->samples + skip * (size_t)nleads * (size_t)sample_bytes;
    if (sample_bytes == 2)
        for (size_t i = 0; i < count; i++, p += 2) out[i] = (int16_t)get16(p);
    else
        for (size_t i = 0; i < count; i++, p += 4)
            out[i] = (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
    return n;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

size_t proto_frame_build(uint8_t *buf, int64_t first, const int32_t *samples, size_t nframes,
                         int nleads, int sample_bytes, uint8_t flags, uint16_t lead_off,
                         uint16_t saturated)
{
    if (nframes < 1 || nframes > PROTO_MAX_FRAMES) return 0;
    buf[0] = 1;
    buf[1] = flags;
    put16(buf + 2, (uint16_t)nframes);
    put16(buf + 4, lead_off);
    put16(buf + 6, saturated);
    for (int i = 0; i < 8; i++) buf[8 + i] = (uint8_t)((uint64_t)first >> (8 * i));
    uint8_t *p = buf + PROTO_HEADER_BYTES;
    size_t count = nframes * (size_t)nleads;
    for (size_t i = 0; i < count; i++) {
        int32_t v = samples[i];
        if (sample_bytes == 2) {
            if (v < -32768 || v > 32767) return 0;
            put16(p, (uint16_t)v);
            p += 2;
        } else {
            for (int b = 0; b < 4; b++) *p++ = (uint8_t)((uint32_t)v >> (8 * b));
        }
    }
    return (size_t)(p - buf);
}

int proto_text_type(const char *text, size_t len, char *type, size_t typelen, char *err,
                    size_t errlen)
{
    if (len > PROTO_MAX_TEXT_BYTES) return fail(PROTO_CLOSE_TOO_BIG, err, errlen, "text message longer than 16 KiB");
    cJSON *o = cJSON_ParseWithLength(text, len);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
    int rc = 0;
    if (!cJSON_IsObject(o) || !cJSON_IsString(t) || strlen(t->valuestring) >= typelen)
        rc = fail(PROTO_CLOSE_MALFORMED, err, errlen, "text message is not a JSON object with a string \"type\"");
    else
        strcpy(type, t->valuestring);
    cJSON_Delete(o);
    return rc;
}

int proto_text_int(const char *text, size_t len, const char *name, int64_t *out)
{
    cJSON *o = cJSON_ParseWithLength(text, len);
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
    int rc = -1;
    if (cJSON_IsNumber(it) && it->valuedouble >= 0 && it->valuedouble <= 9007199254740992.0 &&
        it->valuedouble == floor(it->valuedouble)) {
        *out = (int64_t)it->valuedouble;
        rc = 0;
    }
    cJSON_Delete(o);
    return rc;
}
