/* test_export.c — a signed report as an HL7 v2.5.1 ORU^R01 message and as a FHIR R4 Observation, and
 * ecgnetd's two GET routes that send them (access, 409 before signing, amendments, audit). */
#include "check.h"
#include "log.h"
#include "net_harness.h"
#include "report_export.h"
#include "server.h"
#include "store.h"

#include <pthread.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

static char err[512];

static const char *const statements[] = {"Sinus rhythm", "Premature ventricular contractions"};

static const char analysis[] =
    "{\"record\":\"r1\",\"heart_rate\":{\"mean\":72.4,\"min\":60,\"max\":90},"
    "\"rhythms\":[{\"label\":\"N\",\"start_sample\":0},{\"label\":\"AFIB\",\"start_sample\":100},"
    "{\"label\":\"N\",\"start_sample\":200}]}";

/* A signed first version: recorded 2025-11-23 12:13:20.123 UTC, ended 90 s later, signed at
 * 13:13:20.456, the message made a day later. */
static report_export base(void)
{
    report_export in;
    memset(&in, 0, sizeof in);
    in.recording_id = 42;
    in.patient_id = "P-0001";
    in.site = "桥头镇卫生院";
    in.device = "clinic-01";
    in.received_ms = 1763900000123;
    in.ended_ms = 1763900090000;
    in.version = 1;
    in.signer = "zhang.wei";
    in.signed_ms = 1763903600456;
    in.nstatements = 2;
    in.statements = statements;
    in.text = "Occasional PVCs.\nFollow up.";
    in.analysis_json = analysis;
    in.now_ms = 1763990000000;
    return in;
}

/* ---- reading HL7 back: segments split on CR, fields on '|' ---- */

/* How many segments MSG has (each ends with CR). */
static int hl7_nsegments(const char *msg)
{
    int n = 0;
    for (const char *p = msg; *p; p++) n += *p == '\r';
    return n;
}

/* Segment number I (0-based) of MSG into BUF without its CR; "" when there is none. */
static const char *hl7_segment(const char *msg, int i, char *buf, size_t len)
{
    const char *p = msg;
    for (; i > 0 && p; i--) {
        p = strchr(p, '\r');
        if (p) p++;
    }
    buf[0] = 0;
    if (!p || !*p) return buf;
    size_t n = strcspn(p, "\r");
    if (n >= len) n = len - 1;
    memcpy(buf, p, n);
    buf[n] = 0;
    return buf;
}

/* The OCCURRENCE-th (0-based) segment named NAME, its field N, into BUF ("" when absent). In
 * MSH, the '|' after "MSH" is MSH-1 itself, so MSH-n is the (n-1)th part. */
static const char *hl7_get(const char *msg, const char *name, int occurrence, int n, char *buf, size_t len)
{
    char seg[4096];
    buf[0] = 0;
    for (int i = 0, found = 0; i < hl7_nsegments(msg); i++) {
        hl7_segment(msg, i, seg, sizeof seg);
        if (strncmp(seg, name, 3) || seg[3] != '|' || found++ != occurrence) continue;
        int part = strcmp(name, "MSH") ? n : n - 1;
        const char *p = seg;
        for (int k = 0; k < part && p; k++) {
            p = strchr(p, '|');
            if (p) p++;
        }
        if (!p) return buf;
        size_t m = strcspn(p, "|");
        if (m >= len) m = len - 1;
        memcpy(buf, p, m);
        buf[m] = 0;
        return buf;
    }
    return buf;
}

static int hl7_count(const char *msg, const char *name)
{
    char seg[4096];
    int n = 0;
    for (int i = 0; i < hl7_nsegments(msg); i++) n += !strncmp(hl7_segment(msg, i, seg, sizeof seg), name, 3);
    return n;
}

#define CHECK_FIELD(msg, seg, occ, n, want)                                                              \
    do {                                                                                                 \
        char f_[4096];                                                                                   \
        hl7_get((msg), (seg), (occ), (n), f_, sizeof f_);                                                \
        CHECK(!strcmp(f_, (want)), "%s[%d]-%d is \"%s\", expected \"%s\"", (seg), (occ), (n), f_, (want)); \
    } while (0)

static void test_hl7_segments_and_fields(void)
{
    report_export in = base();
    char *msg = NULL;
    CHECK(report_export_hl7(&in, &msg, err, sizeof err) == 0, "%s", err);
    if (!msg) return;
    CHECK(!strncmp(msg, "MSH|^~\\&|", 9), "starts with the separators: %.20s", msg);
    CHECK(msg[strlen(msg) - 1] == '\r', "the last segment ends with CR");
    CHECK(!strchr(msg, '\n'), "segments are separated by CR only");
    /* MSH, PID, OBR; OBX: heart rate, 2 statements, free text, 2 distinct rhythms. */
    CHECK(hl7_nsegments(msg) == 9, "%d segments", hl7_nsegments(msg));
    char seg[4096];
    CHECK(!strncmp(hl7_segment(msg, 1, seg, sizeof seg), "PID|", 4), "PID second: %s", seg);
    CHECK(!strncmp(hl7_segment(msg, 2, seg, sizeof seg), "OBR|", 4), "OBR third: %s", seg);
    CHECK(hl7_count(msg, "OBX") == 6, "%d OBX", hl7_count(msg, "OBX"));

    CHECK_FIELD(msg, "MSH", 0, 2, "^~\\&");
    CHECK_FIELD(msg, "MSH", 0, 3, "ECGNET");
    CHECK_FIELD(msg, "MSH", 0, 7, "20251124131320+0000");
    CHECK_FIELD(msg, "MSH", 0, 9, "ORU^R01^ORU_R01");
    CHECK_FIELD(msg, "MSH", 0, 10, "42-1-1763990000000");
    CHECK_FIELD(msg, "MSH", 0, 11, "P");
    CHECK_FIELD(msg, "MSH", 0, 12, "2.5.1");
    CHECK_FIELD(msg, "MSH", 0, 18, "UNICODE UTF-8");

    CHECK_FIELD(msg, "PID", 0, 1, "1");
    CHECK_FIELD(msg, "PID", 0, 3, "P-0001^^^桥头镇卫生院^PI");

    CHECK_FIELD(msg, "OBR", 0, 3, "42^ECGNET");
    CHECK_FIELD(msg, "OBR", 0, 4, "11524-6^EKG study^LN");
    CHECK_FIELD(msg, "OBR", 0, 7, "20251123121320+0000");
    CHECK_FIELD(msg, "OBR", 0, 8, "20251123121450+0000");
    CHECK_FIELD(msg, "OBR", 0, 18, "clinic-01");
    CHECK_FIELD(msg, "OBR", 0, 22, "20251123131320+0000");
    CHECK_FIELD(msg, "OBR", 0, 24, "EC");
    CHECK_FIELD(msg, "OBR", 0, 25, "F");
    CHECK_FIELD(msg, "OBR", 0, 32, "zhang.wei");

    /* Heart rate: numeric, LOINC, UCUM, rounded to whole beats per minute. */
    CHECK_FIELD(msg, "OBX", 0, 1, "1");
    CHECK_FIELD(msg, "OBX", 0, 2, "NM");
    CHECK_FIELD(msg, "OBX", 0, 3, "8867-4^Heart rate^LN");
    CHECK_FIELD(msg, "OBX", 0, 5, "72");
    CHECK_FIELD(msg, "OBX", 0, 6, "/min^/min^UCUM");
    CHECK_FIELD(msg, "OBX", 0, 11, "F");
    CHECK_FIELD(msg, "OBX", 0, 14, "20251123121320+0000");
    /* Each statement, in order, numbered by sub-id. */
    CHECK_FIELD(msg, "OBX", 1, 1, "2");
    CHECK_FIELD(msg, "OBX", 1, 2, "ST");
    CHECK_FIELD(msg, "OBX", 1, 4, "1");
    CHECK_FIELD(msg, "OBX", 1, 5, "Sinus rhythm");
    CHECK_FIELD(msg, "OBX", 2, 4, "2");
    CHECK_FIELD(msg, "OBX", 2, 5, "Premature ventricular contractions");
    /* The free text as formatted text, its line break as \.br\. */
    CHECK_FIELD(msg, "OBX", 3, 2, "FT");
    CHECK_FIELD(msg, "OBX", 3, 5, "Occasional PVCs.\\.br\\Follow up.");
    CHECK_FIELD(msg, "OBX", 3, 11, "F");
    /* Rhythms: each label once, in order of first appearance. */
    CHECK_FIELD(msg, "OBX", 4, 5, "N");
    CHECK_FIELD(msg, "OBX", 5, 5, "AFIB");
    CHECK_FIELD(msg, "OBX", 5, 1, "6");
    free(msg);
}

static void test_hl7_escapes_delimiters_and_line_breaks(void)
{
    report_export in = base();
    static const char *const st[] = {"a|b^c~d\\e&f"};
    in.patient_id = "ID|1";
    in.site = "A&B";
    in.nstatements = 1;
    in.statements = st;
    /* A text that would forge a segment if its CR went out raw. */
    in.text = "line 1\r\nOBX|9|ST|FORGED||x\rline 3\nline 4\ttab";
    char *msg = NULL;
    CHECK(report_export_hl7(&in, &msg, err, sizeof err) == 0, "%s", err);
    if (!msg) return;
    CHECK(!strchr(msg, '\n') && !strchr(msg, '\t'), "no raw line feed or tab in the message");
    /* MSH PID OBR, OBX: heart rate, 1 statement, text, 2 rhythms — no forged segment. */
    CHECK(hl7_nsegments(msg) == 8, "%d segments", hl7_nsegments(msg));
    CHECK(hl7_count(msg, "OBX") == 5, "%d OBX", hl7_count(msg, "OBX"));
    CHECK_FIELD(msg, "PID", 0, 3, "ID\\F\\1^^^A\\T\\B^PI");
    CHECK_FIELD(msg, "OBX", 1, 5, "a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f");
    CHECK_FIELD(msg, "OBX", 2, 5, "line 1\\.br\\OBX\\F\\9\\F\\ST\\F\\FORGED\\F\\\\F\\x\\.br\\line 3\\.br\\line 4\\X09\\tab");
    free(msg);
}

static void test_hl7_line_breaks_outside_free_text_are_hex(void)
{
    report_export in = base();
    static const char *const st[] = {"two\nlines"};
    in.statements = st;
    in.nstatements = 1;
    char *msg = NULL;
    CHECK(report_export_hl7(&in, &msg, err, sizeof err) == 0, "%s", err);
    if (!msg) return;
    /* \.br\ belongs to formatted text only; an ST value keeps the character as \X0A\. */
    CHECK_FIELD(msg, "OBX", 1, 5, "two\\X0A\\lines");
    free(msg);
}

static void test_hl7_amendment_is_a_correction(void)
{
    report_export in = base();
    in.version = 2;
    char *msg = NULL;
    CHECK(report_export_hl7(&in, &msg, err, sizeof err) == 0, "%s", err);
    if (!msg) return;
    CHECK_FIELD(msg, "OBR", 0, 25, "C");
    for (int i = 0; i < hl7_count(msg, "OBX"); i++) CHECK_FIELD(msg, "OBX", i, 11, "C");
    CHECK_FIELD(msg, "MSH", 0, 10, "42-2-1763990000000");
    free(msg);
}

static void test_hl7_without_analysis_or_text(void)
{
    report_export in = base();
    in.analysis_json = NULL;
    in.text = "";
    in.ended_ms = 0;
    in.device = NULL;
    char *msg = NULL;
    CHECK(report_export_hl7(&in, &msg, err, sizeof err) == 0, "%s", err);
    if (!msg) return;
    /* Only the statements: no heart rate, no rhythm, no empty text. */
    CHECK(hl7_count(msg, "OBX") == 2, "%d OBX", hl7_count(msg, "OBX"));
    CHECK_FIELD(msg, "OBX", 0, 2, "ST");
    CHECK_FIELD(msg, "OBX", 0, 1, "1");
    CHECK_FIELD(msg, "OBR", 0, 8, "");
    CHECK_FIELD(msg, "OBR", 0, 18, "");
    CHECK_FIELD(msg, "OBR", 0, 25, "F");
    free(msg);
}

/* Every refusal leaves *OUT NULL and names what is wrong, for both builders. */
static void expect_refused(const report_export *in, const char *why, const char *needle)
{
    char *out = (char *)"untouched";
    err[0] = 0;
    CHECK(report_export_hl7(in, &out, err, sizeof err) == -1, "hl7 accepts %s", why);
    CHECK(out == NULL, "hl7 leaves no text for %s", why);
    CHECK(strstr(err, needle) != NULL, "hl7 %s: message \"%s\" lacks \"%s\"", why, err, needle);
    out = (char *)"untouched";
    err[0] = 0;
    CHECK(report_export_fhir(in, &out, err, sizeof err) == -1, "fhir accepts %s", why);
    CHECK(out == NULL, "fhir leaves no text for %s", why);
    CHECK(strstr(err, needle) != NULL, "fhir %s: message \"%s\" lacks \"%s\"", why, err, needle);
}

static void test_bad_input_is_refused(void)
{
    expect_refused(NULL, "no input", "no report");
    report_export in = base();
    in.patient_id = "";
    expect_refused(&in, "no patient id", "patient id");
    in = base();
    in.signer = NULL;
    expect_refused(&in, "no signer", "not signed");
    in = base();
    in.signed_ms = 0;
    expect_refused(&in, "no signing time", "not signed");
    in = base();
    in.version = 0;
    expect_refused(&in, "version 0", "version");
    in = base();
    in.analysis_json = "{\"heart_rate\": ";
    expect_refused(&in, "a broken analysis", "analysis JSON");
    in = base();
    static const char *const st[] = {"ok", ""};
    in.statements = st;
    expect_refused(&in, "an empty statement", "statement");
    in = base();
    in.nstatements = REPORT_EXPORT_MAX_STATEMENTS + 1;
    expect_refused(&in, "too many statements", "statements");
}

/* ---- FHIR ---- */

static const cJSON *at(const cJSON *o, const char *name) { return cJSON_GetObjectItemCaseSensitive(o, name); }

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *s = at(o, name);
    return cJSON_IsString(s) ? s->valuestring : "(absent)";
}

static cJSON *fhir(const report_export *in)
{
    char *text = NULL;
    CHECK(report_export_fhir(in, &text, err, sizeof err) == 0, "%s", err);
    if (!text) return NULL;
    cJSON *o = cJSON_Parse(text);
    CHECK(o != NULL, "the Observation is valid JSON: %s", text);
    free(text);
    return o;
}

static void test_fhir_observation(void)
{
    report_export in = base();
    cJSON *o = fhir(&in);
    if (!o) return;
    CHECK(!strcmp(str(o, "resourceType"), "Observation"), "resourceType %s", str(o, "resourceType"));
    CHECK(!strcmp(str(o, "status"), "final"), "status %s", str(o, "status"));
    const cJSON *cat = cJSON_GetArrayItem(at(cJSON_GetArrayItem(at(o, "category"), 0), "coding"), 0);
    CHECK(!strcmp(str(cat, "system"), "http://terminology.hl7.org/CodeSystem/observation-category") &&
              !strcmp(str(cat, "code"), "procedure"),
          "category procedure: %s %s", str(cat, "system"), str(cat, "code"));
    const cJSON *code = cJSON_GetArrayItem(at(at(o, "code"), "coding"), 0);
    CHECK(!strcmp(str(code, "system"), "http://loinc.org") && !strcmp(str(code, "code"), "11524-6") &&
              !strcmp(str(code, "display"), "EKG study"),
          "code LOINC 11524-6: %s %s %s", str(code, "system"), str(code, "code"), str(code, "display"));
    const cJSON *pid = at(at(o, "subject"), "identifier");
    CHECK(!strcmp(str(pid, "value"), "P-0001"), "subject's identifier %s", str(pid, "value"));
    CHECK(!strcmp(str(at(pid, "assigner"), "display"), "桥头镇卫生院"), "assigned by the site");
    CHECK(!strcmp(str(o, "effectiveDateTime"), "2025-11-23T12:13:20Z"), "effective %s", str(o, "effectiveDateTime"));
    CHECK(!strcmp(str(o, "issued"), "2025-11-23T13:13:20.456Z"), "issued %s", str(o, "issued"));
    const cJSON *perf = cJSON_GetArrayItem(at(o, "performer"), 0);
    CHECK(cJSON_GetArraySize(at(o, "performer")) == 1 && !strcmp(str(perf, "display"), "zhang.wei") &&
              !strcmp(str(at(perf, "identifier"), "value"), "zhang.wei"),
          "performer: the signer");
    CHECK(!strcmp(str(o, "valueString"), "Sinus rhythm; Premature ventricular contractions"), "valueString %s",
          str(o, "valueString"));
    const cJSON *interp = at(o, "interpretation");
    CHECK(cJSON_GetArraySize(interp) == 2 && !strcmp(str(cJSON_GetArrayItem(interp, 1), "text"), statements[1]),
          "one interpretation per statement");
    const cJSON *comps = at(o, "component"), *hr = cJSON_GetArrayItem(comps, 0);
    CHECK(cJSON_GetArraySize(comps) == 3, "heart rate and 2 rhythms: %d", cJSON_GetArraySize(comps));
    const cJSON *hrcode = cJSON_GetArrayItem(at(at(hr, "code"), "coding"), 0), *q = at(hr, "valueQuantity");
    CHECK(!strcmp(str(hrcode, "system"), "http://loinc.org") && !strcmp(str(hrcode, "code"), "8867-4"),
          "heart rate LOINC 8867-4");
    CHECK(cJSON_IsNumber(at(q, "value")) && at(q, "value")->valuedouble == 72, "heart rate 72");
    CHECK(!strcmp(str(q, "system"), "http://unitsofmeasure.org") && !strcmp(str(q, "code"), "/min") &&
              !strcmp(str(q, "unit"), "/min"),
          "UCUM /min");
    CHECK(!strcmp(str(cJSON_GetArrayItem(comps, 1), "valueString"), "N") &&
              !strcmp(str(cJSON_GetArrayItem(comps, 2), "valueString"), "AFIB"),
          "the rhythms, each once");
    const cJSON *note = cJSON_GetArrayItem(at(o, "note"), 0);
    CHECK(!strcmp(str(note, "text"), in.text), "note: the free text as written, line break kept: %s", str(note, "text"));
    CHECK(!strcmp(str(at(at(o, "device"), "identifier"), "value"), "clinic-01"), "the device");
    cJSON_Delete(o);
}

static void test_fhir_amended_and_special_text(void)
{
    report_export in = base();
    in.version = 3;
    in.text = "quote \" backslash \\ pipe | amp & \r\n done";
    cJSON *o = fhir(&in);
    if (!o) return;
    CHECK(!strcmp(str(o, "status"), "amended"), "status %s", str(o, "status"));
    CHECK(!strcmp(str(cJSON_GetArrayItem(at(o, "note"), 0), "text"), in.text), "JSON text round-trips");
    cJSON_Delete(o);
}

static void test_fhir_without_analysis_or_text(void)
{
    report_export in = base();
    in.analysis_json = NULL;
    in.text = NULL;
    in.nstatements = 0;
    in.statements = NULL;
    cJSON *o = fhir(&in);
    if (!o) return;
    CHECK(!at(o, "component") && !at(o, "note") && !at(o, "valueString") && !at(o, "interpretation"),
          "nothing invented");
    CHECK(!strcmp(str(o, "status"), "final") && at(o, "code") && at(o, "subject") && at(o, "issued"),
          "the required fields stay");
    cJSON_Delete(o);
}

/* ---- the two GET routes of ecgnetd, over the loopback ---- */

#define PW_CARD "correct horse battery"
#define PW_CLINIC "village clinic pw"
#define PW_OTHER "other village pw"

static int port;

typedef struct {
    int status;
    char type[128]; /* Content-Type */
    char *body;     /* malloc'd ("" when none) */
} answer;

/* METHOD PATH with session COOKIE and CSRF token (each NULL: none), the whole answer. */
static answer http_csrf(const char *method, const char *path, const char *cookie, const char *csrf)
{
    harness_answer h = harness_request(port, method, path, cookie, csrf, NULL, 0, NULL);
    answer a = {h.status, "", strdup(h.body ? (char *)h.body : "")};
    harness_header(&h, "content-type", a.type, sizeof a.type);
    harness_answer_free(&h);
    return a;
}

static answer http(const char *method, const char *path, const char *cookie)
{
    return http_csrf(method, path, cookie, NULL);
}

static char store_url[1200];
static int64_t rec_signed, rec_new;
static char csrf_card[STORE_SESSION_CHARS + 1], tok_card[STORE_SESSION_CHARS + 1], tok_clinic[STORE_SESSION_CHARS + 1],
    tok_other[STORE_SESSION_CHARS + 1];

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "setup: %s: %s\n", what, msg);
    exit(2);
}

/* Two finished recordings at site "Test Township" (one to be signed by card1, one left new), a
 * cardiologist, a clinic of that site and one of another; sessions for all three. */
static void api_setup(const char *dir)
{
    char token[STORE_TOKEN_CHARS + 1], csrf[STORE_SESSION_CHARS + 1], path[1100];
    store *s = store_open(store_url, err, sizeof err);
    if (!s) die("store_open", err);
    if (store_device_add(s, "dev-a", "Test Township", token, err, sizeof err) ||
        store_device_add(s, "dev-b", "Other Village", token, err, sizeof err) ||
        store_user_add(s, "card1", "cardiologist", NULL, PW_CARD, err, sizeof err) ||
        store_user_add(s, "clinic1", "clinic", "Test Township", PW_CLINIC, err, sizeof err) ||
        store_user_add(s, "clinic2", "clinic", "Other Village", PW_OTHER, err, sizeof err))
        die("users", err);
    int64_t *ids[] = {&rec_signed, &rec_new};
    for (int i = 0; i < 2; i++) {
        store_recording r;
        memset(&r, 0, sizeof r);
        snprintf(r.device, sizeof r.device, "dev-a");
        snprintf(r.recording, sizeof r.recording, "rec-%d", i);
        snprintf(r.patient_id, sizeof r.patient_id, "P|%d", i);
        snprintf(r.mode, sizeof r.mode, "resting");
        r.fs = 500;
        r.nleads = 1;
        snprintf(path, sizeof path, "%s/rec-%d.journal", dir, i);
        snprintf(r.journal, sizeof r.journal, "%s", path);
        int existed;
        if (store_recording_begin(s, &r, ids[i], &existed, err, sizeof err) ||
            store_recording_finish(s, *ids[i], "complete", 5000, NULL, analysis, err, sizeof err))
            die("recording", err);
    }
    store_user card;
    static const char *const st[] = {"Sinus rhythm"};
    if (store_user_get(s, "card1", &card, err, sizeof err) || store_claim(s, &card, rec_signed, err, sizeof err) ||
        store_report_save(s, &card, rec_signed, st, 1, "Normal ECG.\nNo change.", err, sizeof err) ||
        store_report_sign(s, &card, rec_signed, PW_CARD, err, sizeof err))
        die("signing", err);
    if (store_login(s, "card1", PW_CARD, NULL, tok_card, csrf_card, NULL, NULL, err, sizeof err) ||
        store_login(s, "clinic1", PW_CLINIC, NULL, tok_clinic, csrf, NULL, NULL, err, sizeof err) ||
        store_login(s, "clinic2", PW_OTHER, NULL, tok_other, csrf, NULL, NULL, err, sizeof err))
        die("login", err);
    store_close(s);
}

static void test_api_hl7_of_a_signed_recording(void)
{
    char path[128];
    snprintf(path, sizeof path, "/api/recordings/%lld/export.hl7", (long long)rec_signed);
    answer a = http("GET", path, tok_card);
    CHECK(a.status == 200, "%d %s", a.status, a.body);
    CHECK(!strcmp(a.type, "text/plain; charset=utf-8"), "Content-Type %s", a.type);
    CHECK(!strncmp(a.body, "MSH|^~\\&|", 9), "an HL7 message: %.40s", a.body);
    CHECK_FIELD(a.body, "MSH", 0, 18, "UNICODE UTF-8");
    CHECK_FIELD(a.body, "PID", 0, 3, "P\\F\\0^^^Test Township^PI");
    CHECK_FIELD(a.body, "OBR", 0, 25, "F");
    CHECK_FIELD(a.body, "OBR", 0, 32, "card1");
    CHECK_FIELD(a.body, "OBX", 0, 5, "72");
    CHECK_FIELD(a.body, "OBX", 1, 5, "Sinus rhythm");
    CHECK_FIELD(a.body, "OBX", 2, 5, "Normal ECG.\\.br\\No change.");
    free(a.body);

    /* The export is audited: the report left ecgnet with the patient's id. */
    store *s = store_open(store_url, err, sizeof err);
    store_audit_entry *rows = NULL;
    size_t n = 0;
    int found = 0;
    if (s && store_audit_list(s, rec_signed, &rows, &n, err, sizeof err) == STORE_OK)
        for (size_t i = 0; i < n; i++)
            found |= !strcmp(rows[i].action, "report.export") && !strcmp(rows[i].actor, "user:card1");
    CHECK(found, "an audit row report.export by user:card1");
    free(rows);
    store_close(s);
}

static void test_api_fhir_of_a_signed_recording(void)
{
    char path[128];
    snprintf(path, sizeof path, "/api/recordings/%lld/export.fhir.json", (long long)rec_signed);
    answer a = http("GET", path, tok_clinic); /* the recording's own clinic may take it too */
    CHECK(a.status == 200, "%d %s", a.status, a.body);
    CHECK(!strncmp(a.type, "application/fhir+json", 21), "Content-Type %s", a.type);
    cJSON *o = cJSON_Parse(a.body);
    CHECK(o != NULL, "valid JSON: %s", a.body);
    CHECK(!strcmp(str(o, "resourceType"), "Observation") && !strcmp(str(o, "status"), "final"), "a final Observation");
    CHECK(!strcmp(str(at(at(o, "subject"), "identifier"), "value"), "P|0"), "the patient");
    CHECK(!strcmp(str(cJSON_GetArrayItem(at(o, "performer"), 0), "display"), "card1"), "the signer");
    cJSON_Delete(o);
    free(a.body);
}

static void test_api_refusals(void)
{
    char path[128];
    snprintf(path, sizeof path, "/api/recordings/%lld/export.hl7", (long long)rec_new);
    answer a = http("GET", path, tok_card);
    CHECK(a.status == 409 && strstr(a.body, "only a signed report"), "unsigned: %d %s", a.status, a.body);
    free(a.body);
    snprintf(path, sizeof path, "/api/recordings/%lld/export.fhir.json", (long long)rec_new);
    a = http("GET", path, tok_card);
    CHECK(a.status == 409, "unsigned FHIR: %d %s", a.status, a.body);
    free(a.body);
    snprintf(path, sizeof path, "/api/recordings/%lld/export.hl7", (long long)rec_signed);
    a = http("GET", path, NULL);
    CHECK(a.status == 401, "no session: %d %s", a.status, a.body);
    free(a.body);
    a = http("GET", path, tok_other);
    CHECK(a.status == 403, "another site's clinic: %d %s", a.status, a.body);
    free(a.body);
    a = http_csrf("POST", path, tok_card, csrf_card);
    CHECK(a.status == 405, "POST: %d %s", a.status, a.body);
    free(a.body);
    a = http("GET", "/api/recordings/999999/export.fhir.json", tok_card);
    CHECK(a.status == 404, "no such recording: %d %s", a.status, a.body);
    free(a.body);
}

static void test_api_amendment_is_sent_as_a_correction(void)
{
    store *s = store_open(store_url, err, sizeof err);
    store_user card;
    static const char *const st[] = {"Sinus bradycardia"};
    CHECK(s && store_user_get(s, "card1", &card, err, sizeof err) == STORE_OK &&
              store_report_amend(s, &card, rec_signed, st, 1, NULL, PW_CARD, err, sizeof err) == STORE_OK,
          "amend: %s", err);
    store_close(s);
    char path[128];
    snprintf(path, sizeof path, "/api/recordings/%lld/export.hl7", (long long)rec_signed);
    answer a = http("GET", path, tok_card);
    CHECK(a.status == 200, "%d %s", a.status, a.body);
    CHECK_FIELD(a.body, "OBR", 0, 25, "C");
    CHECK_FIELD(a.body, "OBX", 1, 5, "Sinus bradycardia");
    free(a.body);
    snprintf(path, sizeof path, "/api/recordings/%lld/export.fhir.json", (long long)rec_signed);
    a = http("GET", path, tok_card);
    cJSON *o = cJSON_Parse(a.body);
    CHECK(a.status == 200 && !strcmp(str(o, "status"), "amended"), "%d %s", a.status, a.body);
    cJSON_Delete(o);
    free(a.body);
}

static void *serve(void *sv)
{
    server_run(sv);
    return NULL;
}

int main(void)
{
    RUN(test_hl7_segments_and_fields);
    RUN(test_hl7_escapes_delimiters_and_line_breaks);
    RUN(test_hl7_line_breaks_outside_free_text_are_hex);
    RUN(test_hl7_amendment_is_a_correction);
    RUN(test_hl7_without_analysis_or_text);
    RUN(test_bad_input_is_refused);
    RUN(test_fhir_observation);
    RUN(test_fhir_amended_and_special_text);
    RUN(test_fhir_without_analysis_or_text);

    net_log_set_level(NET_LOG_ERROR);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", check_tmpdir("export-data"));
    snprintf(store_url, sizeof store_url, "sqlite:%s/ecgnet.db", dir);
    api_setup(dir);
    server_config c;
    memset(&c, 0, sizeof c);
    c.ingest.data_dir = dir;
    c.ingest.workers = 1;
    server *sv = server_create(&c, err, sizeof err);
    if (!sv) die("server_create", err);
    port = server_port(sv);
    pthread_t loop;
    pthread_create(&loop, NULL, serve, sv);
    RUN(test_api_hl7_of_a_signed_recording);
    RUN(test_api_fhir_of_a_signed_recording);
    RUN(test_api_refusals);
    RUN(test_api_amendment_is_sent_as_a_correction);
    server_stop(sv);
    pthread_join(loop, NULL);
    server_free(sv);
    return check_report();
}
