/* report_export.c — a signed report as an HL7 v2.5.1 ORU^R01 message or a FHIR R4 Observation. */
#include "report_export.h"
#include "result_json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>


/* Local codes (HL7 coding system "L") where LOINC has no term the report's parts map onto
 * one to one: a statement is the cardiologist's own wording or code, not a LOINC answer. */
#define CODE_STATEMENT "STATEMENT^ECG diagnostic statement^L"
#define CODE_TEXT "REPORTTEXT^ECG report text^L"
#define CODE_RHYTHM "RHYTHM^Rhythm (automated analysis)^L"
#define FHIR_LOCAL_SYSTEM "urn:ecgnet:code"

/* What the builders take from the analysis JSON. */

/* ---- a growable text buffer; an allocation failure is remembered and reported once ---- */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* TEXT escaped for an HL7 field. FT: line breaks (CR LF, LF or CR) as \.br\, which only the
 * formatted-text type may carry; any other control character as \Xhh\ (a raw CR would end the
 * segment). */
static void sb_esc(sbuf *b, const char *text, int ft)
{
    for (const unsigned char *s = (const unsigned char *)text; s && *s; s++) {
        char hex[8];
        switch (*s) {
        case '|': sb_str(b, "\\F\\"); break;
        case '^': sb_str(b, "\\S\\"); break;
        case '~': sb_str(b, "\\R\\"); break;
        case '\\': sb_str(b, "\\E\\"); break;
        case '&': sb_str(b, "\\T\\"); break;
        case '\r':
        case '\n':
            if (ft) {
                sb_str(b, "\\.br\\");
                if (s[0] == '\r' && s[1] == '\n') s++;
                break;
            }
            /* fall through */
        default:
            if (*s < 0x20 || *s == 0x7f) {
                snprintf(hex, sizeof hex, "\\X%02X\\", *s);
                sb_str(b, hex);
            } else {
                sb_add(b, (const char *)s, 1);
            }
        }
    }
}

/* Moves to field N of the current segment (writes the separators up to it). */
static void sb_field(sbuf *b, int *field, int n)
{
    for (; *field < n; (*field)++) sb_add(b, "|", 1);
}

/* ---- input ---- */

static int check_input(const report_export *in, char *err, size_t errlen)
{
    if (!in) {
        snprintf(err, errlen, "report export: no report given");
        return -1;
    }
    const char *why = NULL;
    if (in->recording_id <= 0) why = "recording_id must be > 0";
    else if (!in->patient_id || !*in->patient_id)
        why = "the recording has no patient id, and the HIS cannot file a report without one";
    else if (in->version < 1) why = "version must be >= 1";
    else if (!in->signer || !*in->signer) why = "the report is not signed (no signer)";
    else if (in->signed_ms <= 0) why = "the report is not signed (no signing time)";
    else if (in->received_ms <= 0) why = "the recording has no time (received_ms)";
    else if (in->now_ms <= 0) why = "now_ms must be > 0";
    else if (in->nstatements > REPORT_EXPORT_MAX_STATEMENTS) why = "more than 32 statements";
    else if (in->nstatements && !in->statements) why = "nstatements > 0 without statements";
    for (size_t i = 0; !why && i < in->nstatements; i++)
        if (!in->statements[i] || !*in->statements[i]) why = "a statement is empty";
    if (!why) return 0;
    snprintf(err, errlen, "report export of recording %lld: %s", (long long)in->recording_id, why);
    return -1;
}

/* The mean heart rate and the distinct rhythm labels of the analysis JSON (NULL: none). Returns
 * 0, or -1 with err when it does not parse. */
static int read_analysis(const report_export *in, result_json_facts *f, char *err, size_t errlen)
{
    if (!result_json_read_facts(in->analysis_json, f)) return 0;
    snprintf(err, errlen, "report export of recording %lld: its analysis JSON does not parse as an object",
             (long long)in->recording_id);
    return -1;
}

/* MS as UTC text: HL7 DTM "YYYYMMDDHHMMSS+0000" (FORM 0), FHIR dateTime (1) or instant with
 * milliseconds (2). */
static void time_text(int64_t ms, int form, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, len, "%s", "");
        return;
    }
    static const char *const formats[] = {"%Y%m%d%H%M%S+0000", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S"};
    size_t n = strftime(buf, len, formats[form], &tm);
    if (form == 2 && n) snprintf(buf + n, len - n, ".%03dZ", (int)(ms % 1000));
}

static int oom(char *err, size_t errlen, const report_export *in)
{
    snprintf(err, errlen, "report export of recording %lld: out of memory", (long long)in->recording_id);
    return -1;
}

/* ---- HL7 v2.5.1 ---- */

/* One OBX: SET_ID, value TYPE, CODE (already in HL7 form), SUB_ID (0: none), VALUE (escaped
 * here; FT when TYPE is "FT"), UNITS (HL7 form, NULL: none). */
static void hl7_obx(sbuf *b, const report_export *in, int set_id, const char *type, const char *code, int sub_id,
                    const char *value, const char *units)
{
    char num[32], when[32];
    int field = 0;
    sb_str(b, "OBX");
    sb_field(b, &field, 1);
    snprintf(num, sizeof num, "%d", set_id);
    sb_str(b, num);
    sb_field(b, &field, 2);
    sb_str(b, type);
    sb_field(b, &field, 3);
    sb_str(b, code);
    sb_field(b, &field, 4);
    if (sub_id) {
        snprintf(num, sizeof num, "%d", sub_id);
        sb_str(b, num);
    }
    sb_field(b, &field, 5);
    sb_esc(b, value, !strcmp(type, "FT"));
    sb_field(b, &field, 6);
    if (units) sb_str(b, units);
    sb_field(b, &field, 11);
    sb_str(b, in->version > 1 ? "C" : "F");
    sb_field(b, &field, 14);
    time_text(in->received_ms, 0, when, sizeof when);
    sb_str(b, when);
    sb_str(b, "\r");
}

int report_export_hl7(const report_export *in, char **out, char *err, size_t errlen)
{
    result_json_facts f;
    sbuf b = {0};
    char t[32], num[64];
    int field = 0, set_id = 0;
    *out = NULL;
    if (check_input(in, err, errlen) || read_analysis(in, &f, err, errlen)) return -1;

    /* MSH: MSH-1 is the field separator itself, so MSH-n is the n-1th '|'-separated part. */
    time_text(in->now_ms, 0, t, sizeof t);
    snprintf(num, sizeof num, "%lld-%d-%lld", (long long)in->recording_id, in->version, (long long)in->now_ms);
    sb_str(&b, "MSH|^~\\&|ECGNET||HIS||");
    sb_str(&b, t);
    sb_str(&b, "||ORU^R01^ORU_R01|");
    sb_str(&b, num);
    sb_str(&b, "|P|2.5.1||||||UNICODE UTF-8\r");

    /* PID-3: the patient id, assigned by the recording site, type PI (patient internal). */
    sb_str(&b, "PID");
    sb_field(&b, &field, 1);
    sb_str(&b, "1");
    sb_field(&b, &field, 3);
    sb_esc(&b, in->patient_id, 0);
    sb_str(&b, "^^^");
    sb_esc(&b, in->site, 0);
    sb_str(&b, "^PI\r");

    field = 0;
    sb_str(&b, "OBR");
    sb_field(&b, &field, 1);
    sb_str(&b, "1");
    sb_field(&b, &field, 3);
    snprintf(num, sizeof num, "%lld^ECGNET", (long long)in->recording_id);
    sb_str(&b, num);
    sb_field(&b, &field, 4);
    sb_str(&b, "11524-6^EKG study^LN");
    sb_field(&b, &field, 7);
    time_text(in->received_ms, 0, t, sizeof t);
    sb_str(&b, t);
    sb_field(&b, &field, 8);
    if (in->ended_ms > 0) {
        time_text(in->ended_ms, 0, t, sizeof t);
        sb_str(&b, t);
    }
    sb_field(&b, &field, 18);
    if (in->device) sb_esc(&b, in->device, 0); /* placer field 1: which device recorded it */
    sb_field(&b, &field, 22);
    time_text(in->signed_ms, 0, t, sizeof t);
    sb_str(&b, t);
    sb_field(&b, &field, 24);
    sb_str(&b, "EC"); /* diagnostic service section: electrocardiac (HL7 table 0074) */
    sb_field(&b, &field, 25);
    sb_str(&b, in->version > 1 ? "C" : "F");
    sb_field(&b, &field, 32);
    sb_esc(&b, in->signer, 0);
    sb_str(&b, "\r");

    if (f.has_hr) {
        snprintf(num, sizeof num, "%.0f", f.hr_mean);
        hl7_obx(&b, in, ++set_id, "NM", "8867-4^Heart rate^LN", 0, num, "/min^/min^UCUM");
    }
    for (size_t i = 0; i < in->nstatements; i++)
        hl7_obx(&b, in, ++set_id, "ST", CODE_STATEMENT, (int)i + 1, in->statements[i], NULL);
    if (in->text && *in->text) hl7_obx(&b, in, ++set_id, "FT", CODE_TEXT, 0, in->text, NULL);
    for (size_t i = 0; i < f.nrhythms; i++)
        hl7_obx(&b, in, ++set_id, "ST", CODE_RHYTHM, (int)i + 1, f.rhythms[i], NULL);

    if (b.oom) {
        free(b.p);
        return oom(err, errlen, in);
    }
    *out = b.p;
    return 0;
}

/* ---- FHIR R4 ---- */

/* {"coding": [{"system": SYSTEM, "code": CODE, "display": DISPLAY}], "text": DISPLAY} */
static cJSON *concept(const char *system, const char *code, const char *display)
{
    cJSON *c = cJSON_CreateObject(), *a = c ? cJSON_AddArrayToObject(c, "coding") : NULL;
    cJSON *k = a ? cJSON_CreateObject() : NULL;
    if (!k || !cJSON_AddItemToArray(a, k) || !cJSON_AddStringToObject(k, "system", system) ||
        !cJSON_AddStringToObject(k, "code", code) || !cJSON_AddStringToObject(k, "display", display) ||
        !cJSON_AddStringToObject(c, "text", display)) {
        if (k && !cJSON_GetArrayItem(a, 0)) cJSON_Delete(k);
        cJSON_Delete(c);
        return NULL;
    }
    return c;
}

/* Adds ITEM (may be NULL: a failed allocation) to object O as NAME or to array O when NAME is
 * NULL; 0, or -1 (ITEM freed). */
static int put(cJSON *o, const char *name, cJSON *item)
{
    if (item && (name ? cJSON_AddItemToObject(o, name, item) : cJSON_AddItemToArray(o, item))) return 0;
    cJSON_Delete(item);
    return -1;
}

/* {"system": SYSTEM, "value": VALUE} */
static cJSON *identifier(const char *system, const char *value)
{
    cJSON *i = cJSON_CreateObject();
    if (i && cJSON_AddStringToObject(i, "system", system) && cJSON_AddStringToObject(i, "value", value)) return i;
    cJSON_Delete(i);
    return NULL;
}

static cJSON *fhir_observation(const report_export *in, const result_json_facts *f)
{
    char t[40], id[64];
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int bad = !cJSON_AddStringToObject(o, "resourceType", "Observation");
    snprintf(id, sizeof id, "ecgnet-%lld-v%d", (long long)in->recording_id, in->version);
    bad |= !cJSON_AddStringToObject(o, "id", id);
    cJSON *ids = cJSON_AddArrayToObject(o, "identifier");
    snprintf(id, sizeof id, "%lld/%d", (long long)in->recording_id, in->version);
    bad |= !ids || put(ids, NULL, identifier("urn:ecgnet:report", id));
    bad |= !cJSON_AddStringToObject(o, "status", in->version > 1 ? "amended" : "final");
    cJSON *cat = cJSON_AddArrayToObject(o, "category");
    bad |= !cat ||
           put(cat, NULL, concept("http://terminology.hl7.org/CodeSystem/observation-category", "procedure", "Procedure"));
    bad |= put(o, "code", concept("http://loinc.org", "11524-6", "EKG study"));

    /* The patient by identifier: the HIS resolves it to its own Patient resource. */
    cJSON *subject = cJSON_AddObjectToObject(o, "subject"), *pid = identifier("urn:ecgnet:patient-id", in->patient_id);
    bad |= put(subject, "identifier", pid); /* a NULL subject frees pid */
    if (!bad && in->site && *in->site) {
        cJSON *assigner = cJSON_AddObjectToObject(pid, "assigner");
        bad |= !assigner || !cJSON_AddStringToObject(assigner, "display", in->site);
    }
    time_text(in->received_ms, 1, t, sizeof t);
    bad |= !cJSON_AddStringToObject(o, "effectiveDateTime", t);
    time_text(in->signed_ms, 2, t, sizeof t);
    bad |= !cJSON_AddStringToObject(o, "issued", t);
    cJSON *performers = cJSON_AddArrayToObject(o, "performer"), *signer = cJSON_CreateObject();
    bad |= put(performers, NULL, signer);
    bad |= bad || put(signer, "identifier", identifier("urn:ecgnet:user", in->signer)) ||
           !cJSON_AddStringToObject(signer, "display", in->signer);
    if (in->device && *in->device) {
        cJSON *dev = cJSON_AddObjectToObject(o, "device");
        bad |= !dev || put(dev, "identifier", identifier("urn:ecgnet:device", in->device));
    }

    if (in->nstatements) {
        sbuf v = {0};
        cJSON *interp = cJSON_AddArrayToObject(o, "interpretation");
        bad |= !interp;
        for (size_t i = 0; !bad && i < in->nstatements; i++) {
            if (i) sb_str(&v, "; ");
            sb_str(&v, in->statements[i]);
            cJSON *c = cJSON_CreateObject();
            bad |= put(interp, NULL, c) || !cJSON_AddStringToObject(c, "text", in->statements[i]);
        }
        bad |= v.oom || !cJSON_AddStringToObject(o, "valueString", v.p ? v.p : "");
        free(v.p);
    }
    cJSON *comps = (f->has_hr || f->nrhythms) ? cJSON_AddArrayToObject(o, "component") : NULL;
    bad |= (f->has_hr || f->nrhythms) && !comps;
    if (!bad && f->has_hr) {
        cJSON *c = cJSON_CreateObject(), *q = NULL;
        bad |= put(comps, NULL, c) || put(c, "code", concept("http://loinc.org", "8867-4", "Heart rate")) ||
               !(q = cJSON_AddObjectToObject(c, "valueQuantity")) ||
               !cJSON_AddNumberToObject(q, "value", round(f->hr_mean)) || !cJSON_AddStringToObject(q, "unit", "/min") ||
               !cJSON_AddStringToObject(q, "system", "http://unitsofmeasure.org") ||
               !cJSON_AddStringToObject(q, "code", "/min");
    }
    for (size_t i = 0; !bad && i < f->nrhythms; i++) {
        cJSON *c = cJSON_CreateObject();
        bad |= put(comps, NULL, c) || put(c, "code", concept(FHIR_LOCAL_SYSTEM, "RHYTHM", "Rhythm (automated analysis)")) ||
               !cJSON_AddStringToObject(c, "valueString", f->rhythms[i]);
    }
    if (!bad && in->text && *in->text) {
        cJSON *notes = cJSON_AddArrayToObject(o, "note"), *n = cJSON_CreateObject();
        bad |= !notes || put(notes, NULL, n) || !cJSON_AddStringToObject(n, "authorString", in->signer) ||
               !cJSON_AddStringToObject(n, "text", in->text);
    }
    if (!bad) return o;
    cJSON_Delete(o);
    return NULL;
}

int report_export_fhir(const report_export *in, char **out, char *err, size_t errlen)
{
    result_json_facts f;
    *out = NULL;
    if (check_input(in, err, errlen) || read_analysis(in, &f, err, errlen)) return -1;
    cJSON *o = fhir_observation(in, &f);
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text) return oom(err, errlen, in);
    *out = text;
    return 0;
}
