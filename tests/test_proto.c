/* test_proto.c — the ecgnet.v1 messages: hello parsing and building, binary frames, text helpers. */
#include "check.h"
#include "proto.h"

#include <stdint.h>

#include <cjson/cJSON.h>

static char err[256];

/* Every field set, values chosen so that none equals its default. */
static const char *full_hello =
    "{\"type\":\"hello\",\"device\":\"ecg-07.ward_3\",\"token\":\"s3cret-Token\","
    "\"recording\":\"2024-05-01T10:00:00Z_rest.1\","
    "\"patient\":{\"id\":\"P-1234 (Smith)\",\"sex\":\"F\",\"age\":57,\"birth_date\":\"1967-03-14\"},"
    "\"fs\":500,\"sample_type\":\"int16\","
    "\"leads\":[{\"name\":\"I\",\"uv_per_unit\":2.5,\"baseline\":12,\"adc_min\":-2048,\"adc_max\":2047},"
    "{\"name\":\"II\",\"uv_per_unit\":2.5},"
    "{\"name\":\"V1\",\"uv_per_unit\":4.88,\"baseline\":-3.5}],"
    "\"device_filter\":{\"highpass_hz\":0.05,\"lowpass_hz\":150,\"notch_hz\":50},"
    "\"start_time\":\"2024-05-01T10:00:00.250+02:00\",\"mode\":\"continuous\"}";

/* Only the required fields. */
static const char *minimal_hello =
    "{\"type\":\"hello\",\"device\":\"d1\",\"recording\":\"r1\",\"fs\":250,\"sample_type\":\"int32\","
    "\"leads\":[{\"name\":\"MLII\",\"uv_per_unit\":0.5}]}";

/* full_hello with member KEY of WHERE (NULL: the hello itself, "patient", "device_filter", or
 * "lead" for the first lead) replaced by the JSON VALUE, or removed when VALUE is NULL.
 * Returns a malloc'd text. */
static char *variant(const char *where, const char *key, const char *value)
{
    cJSON *o = cJSON_Parse(full_hello), *target = o;
    if (!o) exit(2);
    if (where && !strcmp(where, "lead"))
        target = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "leads"), 0);
    else if (where)
        target = cJSON_GetObjectItemCaseSensitive(o, where);
    cJSON_DeleteItemFromObjectCaseSensitive(target, key);
    if (value) {
        cJSON *v = cJSON_Parse(value);
        if (!v || !cJSON_AddItemToObject(target, key, v)) {
            fprintf(stderr, "test bug: cannot set %s to %s\n", key, value);
            exit(2);
        }
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s) exit(2);
    return s;
}

/* Parsing TEXT fails with CODE, and the message contains NEEDLE (the field it is about). */
static void check_refused(const char *text, int code, const char *needle, const char *why)
{
    proto_hello h;
    err[0] = 0;
    int rc = proto_hello_parse(text, strlen(text), &h, err, sizeof err);
    CHECK(rc == code, "%s: code %d, want %d (%s)", why, rc, code, err);
    CHECK(strstr(err, needle) != NULL, "%s: message does not name %s: %s", why, needle, err);
}

/* Replaces one member (see variant) and checks the refusal. */
static void check_variant_refused(const char *where, const char *key, const char *value, int code,
                                  const char *needle)
{
    char why[160];
    snprintf(why, sizeof why, "%s.%s = %s", where ? where : "hello", key, value ? value : "(absent)");
    char *text = variant(where, key, value);
    check_refused(text, code, needle, why);
    free(text);
}

static void check_variant_accepted(const char *where, const char *key, const char *value)
{
    char *text = variant(where, key, value);
    proto_hello h;
    CHECK(proto_hello_parse(text, strlen(text), &h, err, sizeof err) == 0, "%s.%s = %s refused: %s",
          where ? where : "hello", key, value ? value : "(absent)", err);
    free(text);
}

/* Field-by-field equality; NAME says which comparison failed. */
static void check_same_hello(const proto_hello *a, const proto_hello *b, int with_token, const char *name)
{
    CHECK(!strcmp(a->device, b->device), "%s: device %s vs %s", name, a->device, b->device);
    if (with_token) CHECK(!strcmp(a->token, b->token), "%s: token %s vs %s", name, a->token, b->token);
    CHECK(!strcmp(a->recording, b->recording), "%s: recording", name);
    CHECK(!strcmp(a->patient.id, b->patient.id), "%s: patient id", name);
    CHECK(a->patient.sex == b->patient.sex, "%s: sex", name);
    CHECK(a->patient.age == b->patient.age, "%s: age %d vs %d", name, a->patient.age, b->patient.age);
    CHECK(!strcmp(a->patient.birthdate, b->patient.birthdate), "%s: birth date", name);
    CHECK(a->fs == b->fs, "%s: fs %.17g vs %.17g", name, a->fs, b->fs);
    CHECK(a->nleads == b->nleads, "%s: nleads %d vs %d", name, a->nleads, b->nleads);
    for (int l = 0; l < a->nleads && l < b->nleads; l++) {
        const fmt_lead *x = &a->leads[l], *y = &b->leads[l];
        CHECK(!strcmp(x->name, y->name), "%s: lead %d name", name, l);
        CHECK(x->uv_per_unit == y->uv_per_unit, "%s: lead %d uv_per_unit %.17g vs %.17g", name, l,
              x->uv_per_unit, y->uv_per_unit);
        CHECK(x->baseline == y->baseline, "%s: lead %d baseline %.17g vs %.17g", name, l, x->baseline,
              y->baseline);
        CHECK(x->adc_min == y->adc_min && x->adc_max == y->adc_max, "%s: lead %d adc range", name, l);
    }
    CHECK(a->sample_bytes == b->sample_bytes, "%s: sample bytes", name);
    CHECK(a->dev_hp_hz == b->dev_hp_hz && a->dev_lp_hz == b->dev_lp_hz && a->dev_notch_hz == b->dev_notch_hz,
          "%s: device filter", name);
    CHECK(!strcmp(a->start_time, b->start_time), "%s: start time", name);
    CHECK(a->mode == b->mode, "%s: mode", name);
    CHECK(a->encounter == b->encounter, "%s: encounter %d vs %d", name, (int)a->encounter, (int)b->encounter);
}

/* ---- hello: what it accepts ---- */

static void a_complete_hello_parses_into_every_field(void)
{
    proto_hello h;
    CHECK(proto_hello_parse(full_hello, strlen(full_hello), &h, err, sizeof err) == 0, "%s", err);
    CHECK(!strcmp(h.device, "ecg-07.ward_3"), "device %s", h.device);
    CHECK(!strcmp(h.token, "s3cret-Token"), "token %s", h.token);
    CHECK(!strcmp(h.recording, "2024-05-01T10:00:00Z_rest.1"), "recording %s", h.recording);
    CHECK(!strcmp(h.patient.id, "P-1234 (Smith)"), "patient id %s", h.patient.id);
    CHECK(h.patient.sex == 'F', "sex %d", h.patient.sex);
    CHECK(h.patient.age == 57, "age %d", h.patient.age);
    CHECK(!strcmp(h.patient.birthdate, "1967-03-14"), "birth date %s", h.patient.birthdate);
    CHECK(h.fs == 500.0, "fs %g", h.fs);
    CHECK(h.sample_bytes == 2, "sample bytes %d", h.sample_bytes);
    CHECK(h.nleads == 3, "nleads %d", h.nleads);
    CHECK(!strcmp(h.leads[0].name, "I") && !strcmp(h.leads[1].name, "II") && !strcmp(h.leads[2].name, "V1"),
          "lead names %s %s %s", h.leads[0].name, h.leads[1].name, h.leads[2].name);
    CHECK(h.leads[0].uv_per_unit == 2.5 && h.leads[1].uv_per_unit == 2.5 && h.leads[2].uv_per_unit == 4.88,
          "uv_per_unit");
    CHECK(h.leads[0].baseline == 12 && h.leads[1].baseline == 0 && h.leads[2].baseline == -3.5, "baselines");
    CHECK(h.leads[0].adc_min == -2048 && h.leads[0].adc_max == 2047, "lead I adc range %d..%d",
          h.leads[0].adc_min, h.leads[0].adc_max);
    CHECK(h.leads[1].adc_min == -32768 && h.leads[1].adc_max == 32767, "lead II takes the int16 range %d..%d",
          h.leads[1].adc_min, h.leads[1].adc_max);
    CHECK(h.dev_hp_hz == 0.05 && h.dev_lp_hz == 150 && h.dev_notch_hz == 50, "device filter %g %g %g",
          h.dev_hp_hz, h.dev_lp_hz, h.dev_notch_hz);
    CHECK(!strcmp(h.start_time, "2024-05-01T10:00:00.250+02:00"), "start time %s", h.start_time);
    CHECK(h.mode == PROTO_MODE_CONTINUOUS, "mode %d", (int)h.mode);
}

static void a_minimal_hello_gets_the_documented_defaults(void)
{
    proto_hello h;
    memset(&h, 0x5a, sizeof h); /* nothing left over from before the parse */
    CHECK(proto_hello_parse(minimal_hello, strlen(minimal_hello), &h, err, sizeof err) == 0, "%s", err);
    CHECK(!strcmp(h.device, "d1") && !strcmp(h.recording, "r1"), "device %s recording %s", h.device, h.recording);
    CHECK(h.token[0] == 0, "token %s", h.token);
    CHECK(h.patient.id[0] == 0 && h.patient.sex == 0 && h.patient.birthdate[0] == 0, "patient left empty");
    CHECK(h.patient.age == -1, "age unknown is -1, got %d", h.patient.age);
    CHECK(h.fs == 250 && h.nleads == 1 && h.sample_bytes == 4, "fs %g nleads %d bytes %d", h.fs, h.nleads,
          h.sample_bytes);
    CHECK(h.leads[0].baseline == 0, "baseline %g", h.leads[0].baseline);
    CHECK(h.leads[0].adc_min == INT32_MIN && h.leads[0].adc_max == INT32_MAX, "int32 range, got %d..%d",
          h.leads[0].adc_min, h.leads[0].adc_max);
    CHECK(h.dev_hp_hz == 0 && h.dev_lp_hz == 0 && h.dev_notch_hz == 0, "device filter unknown");
    CHECK(h.start_time[0] == 0, "start time %s", h.start_time);
    CHECK(h.mode == PROTO_MODE_RESTING, "mode %d", (int)h.mode);
    CHECK(h.encounter == PROTO_ENCOUNTER_UNSTATED && !strcmp(proto_encounter_name(h.encounter), "outpatient"),
          "no encounter: unstated, kept as outpatient (%d)", (int)h.encounter);

    /* The text need not be NUL-terminated: only LEN bytes count. */
    size_t n = strlen(minimal_hello);
    char *buf = malloc(n + 8);
    memcpy(buf, minimal_hello, n);
    memcpy(buf + n, "garbage!", 8);
    CHECK(proto_hello_parse(buf, n, &h, err, sizeof err) == 0, "unterminated text: %s", err);
    free(buf);
}

static void limits_are_inclusive(void)
{
    check_variant_accepted(NULL, "fs", "125");
    check_variant_accepted(NULL, "fs", "2000");
    check_variant_accepted(NULL, "fs", "360.5");
    check_variant_accepted(NULL, "device", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"");
    check_variant_accepted("patient", "age", "0");
    check_variant_accepted("patient", "age", "150");
    check_variant_accepted("patient", "birth_date", "\"2000-02-29\"");
    check_variant_accepted("lead", "adc_min", "-32768");
    check_variant_accepted("lead", "adc_max", "32767");
    check_variant_accepted("lead", "name", "\"aVR-12345678\""); /* 12 bytes */
    check_variant_accepted(NULL, "mode", "\"resting\"");
    check_variant_accepted("patient", "sex", "\"M\"");

    char rec[140] = "\"";
    for (int i = 1; i <= 128; i++) rec[i] = i % 2 ? 'a' : ':';
    strcpy(rec + 129, "\"");
    check_variant_accepted(NULL, "recording", rec);

    char leads[2048] = "[";
    for (int l = 0; l < PROTO_MAX_LEADS; l++)
        snprintf(leads + strlen(leads), sizeof leads - strlen(leads), "%s{\"name\":\"L%d\",\"uv_per_unit\":1}",
                 l ? "," : "", l);
    strcat(leads, "]");
    char *text = variant(NULL, "leads", leads);
    proto_hello h;
    CHECK(proto_hello_parse(text, strlen(text), &h, err, sizeof err) == 0 && h.nleads == 16, "16 leads: %s", err);
    free(text);

    /* Exactly PROTO_MAX_TEXT_BYTES is still a hello. */
    char *big = malloc(PROTO_MAX_TEXT_BYTES + 1);
    size_t n = strlen(minimal_hello);
    memset(big, ' ', PROTO_MAX_TEXT_BYTES);
    memcpy(big, minimal_hello, n);
    CHECK(proto_hello_parse(big, PROTO_MAX_TEXT_BYTES, &h, err, sizeof err) == 0, "16384 bytes: %s", err);
    free(big);
}

/* ---- hello: building ---- */

static void build_and_json_round_trip_to_the_same_hello(void)
{
    proto_hello h, back;
    CHECK(proto_hello_parse(full_hello, strlen(full_hello), &h, err, sizeof err) == 0, "%s", err);

    char *built = proto_hello_build(&h);
    CHECK(built != NULL, "build");
    CHECK(built && proto_hello_parse(built, strlen(built), &back, err, sizeof err) == 0, "built: %s", err);
    check_same_hello(&h, &back, 1, "build");
    free(built);

    char *json = proto_hello_json(&h);
    CHECK(json != NULL, "json");
    CHECK(json && strstr(json, "token") == NULL && strstr(json, "s3cret") == NULL, "json carries the token: %s",
          json ? json : "(null)");
    CHECK(json && proto_hello_parse(json, strlen(json), &back, err, sizeof err) == 0, "json: %s", err);
    check_same_hello(&h, &back, 0, "json");
    CHECK(back.token[0] == 0, "token after json %s", back.token);
    free(json);

    CHECK(proto_hello_parse(minimal_hello, strlen(minimal_hello), &h, err, sizeof err) == 0, "%s", err);
    built = proto_hello_build(&h);
    CHECK(built && proto_hello_parse(built, strlen(built), &back, err, sizeof err) == 0, "minimal: %s", err);
    check_same_hello(&h, &back, 1, "minimal build");
    free(built);
}

/* The stored hello is parsed again on resume and compared with the device's: every number must
 * come back bit for bit, not just to 15 digits. */
static void numbers_round_trip_bit_exactly(void)
{
    proto_hello h;
    CHECK(proto_hello_parse(full_hello, strlen(full_hello), &h, err, sizeof err) == 0, "%s", err);
    const double awkward[] = {0.1 + 0.2, 1.0 / 3.0, 2.5000000000000004, 0.30000000000000004 * 7,
                              1e-6 + 1e-22, 999999.99999999988, 4.8828125e-1 + 5e-17};
    for (size_t i = 0; i < sizeof awkward / sizeof awkward[0]; i++) {
        double v = awkward[i];
        h.leads[0].uv_per_unit = v;
        h.leads[1].baseline = -v * 1000;
        h.fs = 125 + v / 1000;
        h.dev_hp_hz = v / 1e4;
        h.dev_lp_hz = v / 1e3;
        h.dev_notch_hz = 0.0;
        char *json = proto_hello_json(&h);
        proto_hello back;
        CHECK(json && proto_hello_parse(json, strlen(json), &back, err, sizeof err) == 0, "%.17g: %s", v, err);
        if (json) check_same_hello(&h, &back, 0, "awkward number");
        free(json);
    }
}

/* ---- hello: what it refuses ---- */

static void text_that_is_not_a_hello_object_is_malformed(void)
{
    check_refused("", PROTO_CLOSE_MALFORMED, "JSON", "empty");
    check_refused("{\"type\":\"hello\",", PROTO_CLOSE_MALFORMED, "JSON", "truncated");
    check_refused("hello", PROTO_CLOSE_MALFORMED, "JSON", "not JSON");
    check_refused("[1,2]", PROTO_CLOSE_MALFORMED, "object", "array");
    check_refused("\"hello\"", PROTO_CLOSE_MALFORMED, "object", "string");
    check_variant_refused(NULL, "type", "\"end\"", PROTO_CLOSE_MALFORMED, "\"type\"");
    check_variant_refused(NULL, "type", NULL, PROTO_CLOSE_MALFORMED, "\"type\"");
}

static void wrong_types_and_missing_fields_are_named(void)
{
    check_variant_refused(NULL, "device", "7", PROTO_CLOSE_MALFORMED, "\"device\"");
    check_variant_refused(NULL, "token", "[]", PROTO_CLOSE_MALFORMED, "\"token\"");
    check_variant_refused(NULL, "recording", "null", PROTO_CLOSE_MALFORMED, "\"recording\"");
    check_variant_refused(NULL, "fs", "\"500\"", PROTO_CLOSE_MALFORMED, "\"fs\"");
    check_variant_refused(NULL, "sample_type", "2", PROTO_CLOSE_MALFORMED, "\"sample_type\"");
    check_variant_refused(NULL, "leads", "{}", PROTO_CLOSE_MALFORMED, "\"leads\"");
    check_variant_refused(NULL, "leads", "[\"I\"]", PROTO_CLOSE_MALFORMED, "lead");
    check_variant_refused(NULL, "patient", "\"P-1\"", PROTO_CLOSE_MALFORMED, "\"patient\"");
    check_variant_refused("patient", "id", "1234", PROTO_CLOSE_MALFORMED, "\"id\"");
    check_variant_refused(NULL, "start_time", "1714557600", PROTO_CLOSE_MALFORMED, "\"start_time\"");
    check_variant_refused(NULL, "mode", "true", PROTO_CLOSE_MALFORMED, "\"mode\"");

    check_variant_refused(NULL, "device", NULL, PROTO_CLOSE_MALFORMED, "\"device\"");
    check_variant_refused(NULL, "recording", NULL, PROTO_CLOSE_MALFORMED, "\"recording\"");
    check_variant_refused(NULL, "sample_type", NULL, PROTO_CLOSE_MALFORMED, "\"sample_type\"");
    check_variant_refused(NULL, "fs", NULL, PROTO_CLOSE_MALFORMED, "\"fs\"");
    check_variant_refused(NULL, "leads", NULL, PROTO_CLOSE_MALFORMED, "\"leads\"");
    check_variant_refused("lead", "name", NULL, PROTO_CLOSE_MALFORMED, "\"name\"");
    check_variant_refused("lead", "uv_per_unit", NULL, PROTO_CLOSE_MALFORMED, "\"uv_per_unit\"");
}

/* Device and recording names become file names and SQL parameters. */
static void identifiers_keep_to_their_alphabet(void)
{
    const char *bad_device[] = {"\"\"", "\"a b\"", "\"a/b\"", "\"..\\\\x\"", "\"caf\\u00e9\"", "\"a:b\"",
                                "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"" /* 65 */};
    for (size_t i = 0; i < sizeof bad_device / sizeof *bad_device; i++)
        check_variant_refused(NULL, "device", bad_device[i], PROTO_CLOSE_MALFORMED, "\"device\"");
    const char *bad_recording[] = {"\"\"", "\"../etc\"", "\".hidden\"", "\".\"", "\"a/b\"", "\"a b\"",
                                   "\"a;drop\"", "\"r'1\""};
    for (size_t i = 0; i < sizeof bad_recording / sizeof *bad_recording; i++)
        check_variant_refused(NULL, "recording", bad_recording[i], PROTO_CLOSE_MALFORMED, "\"recording\"");
    char rec[140] = "\"";
    memset(rec + 1, 'r', 129);
    strcpy(rec + 130, "\"");
    check_variant_refused(NULL, "recording", rec, PROTO_CLOSE_MALFORMED, "\"recording\"");
}

static void leads_rate_and_sample_type_outside_the_limits(void)
{
    check_variant_refused(NULL, "leads", "[]", PROTO_CLOSE_LIMITS, "0 leads");
    char leads[2048] = "[";
    for (int l = 0; l < PROTO_MAX_LEADS + 1; l++)
        snprintf(leads + strlen(leads), sizeof leads - strlen(leads), "%s{\"name\":\"L%d\",\"uv_per_unit\":1}",
                 l ? "," : "", l);
    strcat(leads, "]");
    check_variant_refused(NULL, "leads", leads, PROTO_CLOSE_LIMITS, "17 leads");
    check_variant_refused(NULL, "fs", "124", PROTO_CLOSE_LIMITS, "sample rate 124");
    check_variant_refused(NULL, "fs", "124.999", PROTO_CLOSE_LIMITS, "sample rate");
    check_variant_refused(NULL, "fs", "2001", PROTO_CLOSE_LIMITS, "sample rate 2001");
    check_variant_refused(NULL, "fs", "0", PROTO_CLOSE_LIMITS, "sample rate");
    check_variant_refused(NULL, "fs", "-500", PROTO_CLOSE_LIMITS, "sample rate");
    check_variant_refused(NULL, "fs", "1e300", PROTO_CLOSE_LIMITS, "sample rate");
    check_variant_refused(NULL, "sample_type", "\"float\"", PROTO_CLOSE_LIMITS, "\"sample_type\"");
    check_variant_refused(NULL, "sample_type", "\"INT16\"", PROTO_CLOSE_LIMITS, "\"sample_type\"");
}

static void lead_descriptions_are_checked(void)
{
    check_variant_refused("lead", "name", "\"II\"", PROTO_CLOSE_MALFORMED, "\"II\" appears twice");
    check_variant_refused("lead", "name", "\"\"", PROTO_CLOSE_MALFORMED, "lead name");
    check_variant_refused("lead", "name", "\"aVR-123456789\"", PROTO_CLOSE_MALFORMED, "\"name\""); /* 13 */
    check_variant_refused("lead", "uv_per_unit", "0", PROTO_CLOSE_MALFORMED, "\"uv_per_unit\"");
    check_variant_refused("lead", "uv_per_unit", "-2.5", PROTO_CLOSE_MALFORMED, "\"uv_per_unit\"");
    check_variant_refused("lead", "uv_per_unit", "\"2.5\"", PROTO_CLOSE_MALFORMED, "\"uv_per_unit\"");
    check_variant_refused("lead", "uv_per_unit", "1e7", PROTO_CLOSE_MALFORMED, "\"uv_per_unit\"");
    check_variant_refused("lead", "baseline", "\"0\"", PROTO_CLOSE_MALFORMED, "\"baseline\"");
    check_variant_refused("lead", "adc_max", NULL, PROTO_CLOSE_MALFORMED, "\"adc_max\"");
    check_variant_refused("lead", "adc_min", NULL, PROTO_CLOSE_MALFORMED, "\"adc_min\"");
    check_variant_refused("lead", "adc_min", "2047", PROTO_CLOSE_MALFORMED, "adc_min < adc_max");
    check_variant_refused("lead", "adc_min", "3000", PROTO_CLOSE_MALFORMED, "adc_min < adc_max");
    check_variant_refused("lead", "adc_min", "-2048.5", PROTO_CLOSE_MALFORMED, "\"adc_min\"");
    /* int16 samples cannot reach beyond the int16 range; int32 ones can. */
    check_variant_refused("lead", "adc_max", "32768", PROTO_CLOSE_MALFORMED, "\"adc_max\"");
    check_variant_refused("lead", "adc_min", "-32769", PROTO_CLOSE_MALFORMED, "\"adc_min\"");
    char *text = variant("lead", "adc_max", "8388607");
    char *p = strstr(text, "int16");
    memcpy(p, "int32", 5);
    proto_hello h;
    CHECK(proto_hello_parse(text, strlen(text), &h, err, sizeof err) == 0 && h.leads[0].adc_max == 8388607,
          "int32 with a 24-bit ADC: %s", err);
    free(text);
}

static void patient_fields_are_checked(void)
{
    const char *bad_sex[] = {"\"X\"", "\"f\"", "\"MF\"", "\"male\"", "1"};
    for (size_t i = 0; i < sizeof bad_sex / sizeof *bad_sex; i++)
        check_variant_refused("patient", "sex", bad_sex[i], PROTO_CLOSE_MALFORMED, "\"sex\"");
    const char *bad_dates[] = {"\"1967-3-14\"",  "\"14.03.1967\"", "\"1967-13-01\"", "\"1967-00-10\"",
                               "\"1967-02-30\"", "\"1967-04-31\"", "\"1900-02-29\"", "\"1967-03-14T00\"",
                               "\"2000-+1-01\"", "\"2000- 1-01\"", "\"+200-01-01\"", "\"1850-01-01\"",
                               "\"1967-03-1x\"", "19670314"};
    for (size_t i = 0; i < sizeof bad_dates / sizeof *bad_dates; i++)
        check_variant_refused("patient", "birth_date", bad_dates[i], PROTO_CLOSE_MALFORMED, "\"birth_date\"");
    const char *bad_ages[] = {"151", "3.5", "-1", "\"57\"", "1e10"};
    for (size_t i = 0; i < sizeof bad_ages / sizeof *bad_ages; i++)
        check_variant_refused("patient", "age", bad_ages[i], PROTO_CLOSE_MALFORMED, "\"age\"");
}

static void mode_and_device_filter_are_checked(void)
{
    check_variant_refused(NULL, "mode", "\"holter\"", PROTO_CLOSE_MALFORMED, "\"mode\"");
    check_variant_refused(NULL, "mode", "\"Resting\"", PROTO_CLOSE_MALFORMED, "\"mode\"");
    check_variant_refused(NULL, "device_filter", "[0.05,150,50]", PROTO_CLOSE_MALFORMED, "\"device_filter\"");
    check_variant_refused(NULL, "device_filter", "\"0.05-150 Hz\"", PROTO_CLOSE_MALFORMED, "\"device_filter\"");
    check_variant_refused("device_filter", "lowpass_hz", "\"150\"", PROTO_CLOSE_MALFORMED, "\"device_filter\"");
    check_variant_refused("device_filter", "notch_hz", "-50", PROTO_CLOSE_MALFORMED, "\"device_filter\"");
}

/* The encounter decides the retention (15 or 30 years); a hello without it is an outpatient's and
 * is rebuilt exactly as before the member existed: resumed journals compare the stored hello. */
static void the_encounter_is_outpatient_or_inpatient_and_absent_means_outpatient(void)
{
    const char *values[] = {"\"outpatient\"", "\"inpatient\""};
    const proto_encounter want[] = {PROTO_ENCOUNTER_OUTPATIENT, PROTO_ENCOUNTER_INPATIENT};
    for (int i = 0; i < 2; i++) {
        char *text = variant(NULL, "encounter", values[i]);
        proto_hello h, back;
        CHECK(proto_hello_parse(text, strlen(text), &h, err, sizeof err) == 0 && h.encounter == want[i],
              "%s: %s", values[i], err);
        CHECK(!strcmp(proto_encounter_name(h.encounter), i ? "inpatient" : "outpatient"), "name of %s", values[i]);
        char *json = proto_hello_json(&h), *built = proto_hello_build(&h);
        CHECK(json && strstr(json, values[i]) && strstr(json, "\"encounter\""), "json keeps it: %s", json ? json : "");
        CHECK(json && proto_hello_parse(json, strlen(json), &back, err, sizeof err) == 0, "json: %s", err);
        check_same_hello(&h, &back, 0, values[i]);
        CHECK(built && proto_hello_parse(built, strlen(built), &back, err, sizeof err) == 0, "built: %s", err);
        check_same_hello(&h, &back, 1, values[i]);
        free(json);
        free(built);
        free(text);
    }

    /* Without the member: the same bytes as before it existed (this text is what ecgnet wrote into
     * journals then), and back again unchanged. */
    static const char *minimal_json =
        "{\"type\":\"hello\",\"device\":\"d1\",\"recording\":\"r1\",\"patient\":{\"id\":\"\"},\"fs\":250,"
        "\"sample_type\":\"int32\",\"leads\":[{\"name\":\"MLII\",\"uv_per_unit\":0.5,\"baseline\":0,"
        "\"adc_min\":-2147483648,\"adc_max\":2147483647}],\"device_filter\":{\"highpass_hz\":0,\"lowpass_hz\":0,"
        "\"notch_hz\":0},\"mode\":\"resting\"}";
    proto_hello h, back;
    CHECK(proto_hello_parse(minimal_hello, strlen(minimal_hello), &h, err, sizeof err) == 0, "%s", err);
    char *json = proto_hello_json(&h);
    CHECK(json && !strcmp(json, minimal_json), "a hello without encounter changed its stored form:\n%s\nwant\n%s",
          json ? json : "(null)", minimal_json);
    CHECK(json && proto_hello_parse(json, strlen(json), &back, err, sizeof err) == 0 &&
              back.encounter == PROTO_ENCOUNTER_UNSTATED, "read back: %s", err);
    free(json);
    CHECK(proto_hello_parse(full_hello, strlen(full_hello), &h, err, sizeof err) == 0, "%s", err);
    json = proto_hello_json(&h);
    char *again = NULL;
    if (json && proto_hello_parse(json, strlen(json), &back, err, sizeof err) == 0) again = proto_hello_json(&back);
    CHECK(json && !strstr(json, "encounter") && again && !strcmp(json, again), "full hello, no encounter: %s",
          json ? json : "(null)");
    free(json);
    free(again);
}

static void a_bad_encounter_is_refused_like_a_bad_mode(void)
{
    const char *bad[] = {"\"Inpatient\"", "\"ward\"", "\"\"", "1", "true", "null", "[\"inpatient\"]",
                         "\"inpatient and outpatient\""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        check_variant_refused(NULL, "encounter", bad[i], PROTO_CLOSE_MALFORMED, "\"encounter\"");
}

static void over_16_kib_is_too_big(void)
{
    size_t n = strlen(minimal_hello);
    char *big = malloc(PROTO_MAX_TEXT_BYTES + 2);
    memset(big, ' ', PROTO_MAX_TEXT_BYTES + 1);
    memcpy(big, minimal_hello, n);
    big[PROTO_MAX_TEXT_BYTES + 1] = 0;
    check_refused(big, PROTO_CLOSE_TOO_BIG, "16 KiB", "16385 bytes");
    free(big);
}

/* Control characters would forge log lines and break the EDF header. */
static void strings_with_control_characters_are_refused(void)
{
    check_variant_refused("patient", "id", "\"P-1\\nP-2\"", PROTO_CLOSE_MALFORMED, "\"id\"");
    check_variant_refused("patient", "id", "\"P-1\\u007f\"", PROTO_CLOSE_MALFORMED, "\"id\"");
    check_variant_refused(NULL, "start_time", "\"2024-05-01\\t10:00\"", PROTO_CLOSE_MALFORMED, "\"start_time\"");
    check_variant_refused(NULL, "token", "\"abc\\u001b[2J\"", PROTO_CLOSE_MALFORMED, "\"token\"");
    check_variant_refused(NULL, "device", "\"d\\r1\"", PROTO_CLOSE_MALFORMED, "\"device\"");
    check_variant_refused("lead", "name", "\"I\\u0007\"", PROTO_CLOSE_MALFORMED, "\"name\"");
}

/* ---- frames ---- */

static uint32_t rng_state = 11u;
static uint32_t rnd(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state;
}

/* Builds, parses and decodes NFRAMES of NLEADS random values of SAMPLE_BYTES (extremes included). */
static void check_round_trip(size_t nframes, int nleads, int sample_bytes, int64_t first, uint8_t flags,
                             uint16_t lead_off, uint16_t saturated)
{
    size_t count = nframes * (size_t)nleads;
    int32_t *in = malloc(count * sizeof *in), *out = malloc(count * sizeof *out);
    uint8_t *buf = malloc(PROTO_HEADER_BYTES + count * (size_t)sample_bytes);
    for (size_t i = 0; i < count; i++) {
        int32_t v = (int32_t)rnd();
        in[i] = sample_bytes == 2 ? (int16_t)v : v;
    }
    in[0] = sample_bytes == 2 ? -32768 : INT32_MIN;
    in[count - 1] = sample_bytes == 2 ? 32767 : INT32_MAX;
    if (count > 2) in[1] = -1;
    size_t len = proto_frame_build(buf, first, in, nframes, nleads, sample_bytes, flags, lead_off, saturated);
    CHECK(len == PROTO_HEADER_BYTES + count * (size_t)sample_bytes, "%zu x %d x %d: length %zu", nframes, nleads,
          sample_bytes, len);
    proto_frame f;
    CHECK(proto_frame_parse(buf, len, nleads, sample_bytes, &f, err, sizeof err) == 0, "%zu x %d x %d: %s",
          nframes, nleads, sample_bytes, err);
    CHECK(f.nframes == nframes && f.first == first && f.flags == flags && f.lead_off == lead_off &&
              f.saturated == saturated,
          "%zu x %d x %d: header fields", nframes, nleads, sample_bytes);
    CHECK(proto_frame_samples(&f, nleads, sample_bytes, 0, out) == nframes, "decoded count");
    CHECK(!memcmp(in, out, count * sizeof *in), "%zu x %d x %d: samples differ", nframes, nleads, sample_bytes);
    free(in);
    free(out);
    free(buf);
}

static void frames_round_trip(void)
{
    check_round_trip(1, 1, 2, 0, 0, 0, 0);
    check_round_trip(1, 1, 4, 0, 0, 0, 0);
    check_round_trip(250, 1, 2, 123456789, PROTO_FLAG_PACE, 1, 0);
    check_round_trip(250, 16, 2, 1, 0, 0x8001, 0xffff);
    check_round_trip(250, 16, 4, (int64_t)1 << 40, PROTO_FLAG_PACE, 0xffff, 0x1234);
    check_round_trip(50, 3, 4, 7, 0, 4, 2);
    check_round_trip(PROTO_MAX_FRAMES, PROTO_MAX_LEADS, 4, 0, 0, 0, 0); /* PROTO_MAX_FRAME_BYTES */
    check_round_trip(PROTO_MAX_FRAMES, 1, 2, 0, 0, 0, 0);
}

/* The byte layout documented in proto.h, spelled out once. */
static void a_frame_is_laid_out_as_documented(void)
{
    const int32_t s[4] = {-2, 0x1234, 300, -32768}; /* 2 frames x 2 leads */
    uint8_t buf[PROTO_HEADER_BYTES + 8];
    CHECK(proto_frame_build(buf, 0x0102030405060708, s, 2, 2, 2, PROTO_FLAG_PACE, 0x0002, 0x0001) == sizeof buf,
          "length");
    const uint8_t want[] = {1, 1, 2, 0, 2, 0, 1, 0, 8, 7, 6, 5, 4, 3, 2, 1,
                            0xfe, 0xff, 0x34, 0x12, 0x2c, 0x01, 0x00, 0x80};
    CHECK(!memcmp(buf, want, sizeof want), "int16 frame bytes");
    const int32_t t[1] = {-16909061}; /* 0xfefdfcfb */
    uint8_t b4[PROTO_HEADER_BYTES + 4];
    CHECK(proto_frame_build(b4, 5, t, 1, 1, 4, 0, 0, 0) == sizeof b4, "length");
    CHECK(b4[16] == 0xfb && b4[17] == 0xfc && b4[18] == 0xfd && b4[19] == 0xfe, "int32 little-endian");
}

static void samples_can_skip_frames_already_stored(void)
{
    const int32_t s[10] = {0, 1, 10, 11, 20, 21, 30, 31, 40, 41}; /* 5 frames x 2 leads */
    uint8_t buf[PROTO_HEADER_BYTES + 40];
    proto_frame f;
    size_t len = proto_frame_build(buf, 100, s, 5, 2, 4, 0, 0, 0);
    CHECK(proto_frame_parse(buf, len, 2, 4, &f, err, sizeof err) == 0, "%s", err);
    int32_t out[10] = {0};
    CHECK(proto_frame_samples(&f, 2, 4, 3, out) == 2, "5 frames, skip 3");
    CHECK(out[0] == 30 && out[1] == 31 && out[2] == 40 && out[3] == 41, "frames 3 and 4: %d %d %d %d", out[0],
          out[1], out[2], out[3]);
    CHECK(proto_frame_samples(&f, 2, 4, 5, out) == 0, "skip all");
    CHECK(proto_frame_samples(&f, 2, 4, 9, out) == 0, "skip beyond");
}

static void build_refuses_what_the_wire_cannot_carry(void)
{
    uint8_t buf[PROTO_HEADER_BYTES + 64];
    int32_t s[8] = {0};
    s[5] = 32768;
    CHECK(proto_frame_build(buf, 0, s, 4, 2, 2, 0, 0, 0) == 0, "32768 as int16");
    s[5] = -32769;
    CHECK(proto_frame_build(buf, 0, s, 4, 2, 2, 0, 0, 0) == 0, "-32769 as int16");
    CHECK(proto_frame_build(buf, 0, s, 4, 2, 4, 0, 0, 0) == PROTO_HEADER_BYTES + 32, "-32769 as int32");
    s[5] = 0;
    CHECK(proto_frame_build(buf, 0, s, 0, 2, 2, 0, 0, 0) == 0, "0 frames");
    int32_t *many = calloc(PROTO_MAX_FRAMES + 1, sizeof *many);
    uint8_t *big = malloc(PROTO_HEADER_BYTES + (PROTO_MAX_FRAMES + 1) * 2);
    CHECK(proto_frame_build(big, 0, many, PROTO_MAX_FRAMES + 1, 1, 2, 0, 0, 0) == 0, "%d frames",
          PROTO_MAX_FRAMES + 1);
    free(many);
    free(big);
}

/* A valid 3-lead int16 frame of 4 samples per lead, in buf. */
static size_t valid_frame(uint8_t *buf)
{
    const int32_t s[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    return proto_frame_build(buf, 1000, s, 4, 3, 2, 0, 0, 0);
}

static void check_frame_refused(const uint8_t *buf, size_t len, int nleads, int code, const char *needle,
                                const char *why)
{
    proto_frame f;
    err[0] = 0;
    int rc = proto_frame_parse(buf, len, nleads, 2, &f, err, sizeof err);
    CHECK(rc == code, "%s: code %d, want %d (%s)", why, rc, code, err);
    CHECK(strstr(err, needle) != NULL, "%s: message lacks %s: %s", why, needle, err);
}

static void malformed_frames_are_refused(void)
{
    uint8_t buf[PROTO_HEADER_BYTES + 64];
    size_t len = valid_frame(buf);
    proto_frame f;
    CHECK(len == PROTO_HEADER_BYTES + 24 && proto_frame_parse(buf, len, 3, 2, &f, err, sizeof err) == 0, "%s", err);

    check_frame_refused(buf, 15, 3, PROTO_CLOSE_MALFORMED, "header", "15 bytes");
    check_frame_refused(buf, 0, 3, PROTO_CLOSE_MALFORMED, "header", "0 bytes");
    check_frame_refused(buf, len - 1, 3, PROTO_CLOSE_MALFORMED, "need 40", "one byte short");
    check_frame_refused(buf, len + 1, 3, PROTO_CLOSE_MALFORMED, "need 40", "one byte over");
    check_frame_refused(buf, len, 4, PROTO_CLOSE_MALFORMED, "need 48", "frame of 3 leads on a 4-lead stream");

    uint8_t b[sizeof buf];
    memcpy(b, buf, sizeof b);
    b[0] = 2;
    check_frame_refused(b, len, 3, PROTO_CLOSE_UNKNOWN_TYPE, "kind 2", "kind 2");
    b[0] = 0;
    check_frame_refused(b, len, 3, PROTO_CLOSE_UNKNOWN_TYPE, "kind 0", "kind 0");

    memcpy(b, buf, sizeof b);
    b[2] = b[3] = 0;
    check_frame_refused(b, PROTO_HEADER_BYTES, 3, PROTO_CLOSE_MALFORMED, "0 samples", "nframes 0");
    b[2] = (PROTO_MAX_FRAMES + 1) & 0xff, b[3] = (PROTO_MAX_FRAMES + 1) >> 8;
    check_frame_refused(b, len, 3, PROTO_CLOSE_MALFORMED, "4001 samples", "nframes 4001");

    memcpy(b, buf, sizeof b);
    b[15] = 0x80; /* first = INT64_MIN + 1000 */
    check_frame_refused(b, len, 3, PROTO_CLOSE_MALFORMED, "first sample", "first < 0");
    memset(b + 8, 0xff, 8); /* first = -1 */
    check_frame_refused(b, len, 3, PROTO_CLOSE_MALFORMED, "first sample", "first = -1");

    memcpy(b, buf, sizeof b);
    b[4] = 0x08; /* lead 3 off, on a 3-lead stream */
    check_frame_refused(b, len, 3, PROTO_CLOSE_MALFORMED, "beyond the 3", "lead-off bit 3");
    b[4] = 0x04;
    CHECK(proto_frame_parse(b, len, 3, 2, &f, err, sizeof err) == 0 && f.lead_off == 4, "lead-off bit 2: %s", err);
    memcpy(b, buf, sizeof b);
    b[7] = 0x80; /* lead 15 saturated */
    check_frame_refused(b, len, 3, PROTO_CLOSE_MALFORMED, "beyond the 3", "saturation bit 15");

    memcpy(b, buf, sizeof b);
    b[1] = 0x02;
    check_frame_refused(b, len, 3, PROTO_CLOSE_MALFORMED, "unknown bits", "flag bit 1");
    b[1] = 0x81;
    check_frame_refused(b, len, 3, PROTO_CLOSE_MALFORMED, "unknown bits", "flag bit 7");

    /* A stream the hello could never have announced is a caller's error, not undefined behaviour. */
    check_frame_refused(buf, len, 0, PROTO_CLOSE_LIMITS, "0 leads", "0-lead stream");
    check_frame_refused(buf, len, 17, PROTO_CLOSE_LIMITS, "17 leads", "17-lead stream");
    err[0] = 0;
    CHECK(proto_frame_parse(buf, len, 3, 3, &f, err, sizeof err) == PROTO_CLOSE_LIMITS, "3-byte samples: %s", err);

    uint8_t *huge = calloc(PROTO_MAX_FRAME_BYTES + 1, 1);
    memcpy(huge, buf, PROTO_HEADER_BYTES);
    check_frame_refused(huge, PROTO_MAX_FRAME_BYTES + 1, 16, PROTO_CLOSE_TOO_BIG, "limit", "one byte over the maximum");
    free(huge);
}

/* ---- text messages ---- */

static void text_type_names_the_message(void)
{
    char type[16];
    const char *end = "{\"type\":\"end\",\"samples\":5000}";
    CHECK(proto_text_type(end, strlen(end), type, sizeof type, err, sizeof err) == 0 && !strcmp(type, "end"),
          "end: %s", err);
    const char *ack = "{\"samples\":1,\"type\":\"ack\"} trailing";
    CHECK(proto_text_type(ack, 26, type, sizeof type, err, sizeof err) == 0 && !strcmp(type, "ack"), "ack: %s",
          err);
    const char *bad[] = {"", "not json", "[\"type\",\"end\"]", "{\"samples\":1}", "{\"type\":3}", "{\"type\":null}",
                         "{\"type\":\"a-very-long-message-type\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = 0;
        CHECK(proto_text_type(bad[i], strlen(bad[i]), type, sizeof type, err, sizeof err) == PROTO_CLOSE_MALFORMED,
              "%s accepted", bad[i]);
        CHECK(strstr(err, "\"type\"") != NULL, "%s: message %s", bad[i], err);
    }
    char *big = malloc(PROTO_MAX_TEXT_BYTES + 1);
    memset(big, ' ', PROTO_MAX_TEXT_BYTES + 1);
    memcpy(big, end, strlen(end));
    CHECK(proto_text_type(big, PROTO_MAX_TEXT_BYTES + 1, type, sizeof type, err, sizeof err) == PROTO_CLOSE_TOO_BIG,
          "16385 bytes");
    free(big);
}

static void text_int_reads_whole_non_negative_numbers(void)
{
    int64_t v = -7;
    const char *ok = "{\"type\":\"ack\",\"next_sample\":123456,\"zero\":0,\"max\":9007199254740992,\"exp\":2e3}";
    CHECK(proto_text_int(ok, strlen(ok), "next_sample", &v) == 0 && v == 123456, "next_sample %lld", (long long)v);
    CHECK(proto_text_int(ok, strlen(ok), "zero", &v) == 0 && v == 0, "zero %lld", (long long)v);
    CHECK(proto_text_int(ok, strlen(ok), "max", &v) == 0 && v == 9007199254740992LL, "2^53 %lld", (long long)v);
    CHECK(proto_text_int(ok, strlen(ok), "exp", &v) == 0 && v == 2000, "2e3 %lld", (long long)v);
    v = -7;
    const char *bad = "{\"neg\":-1,\"frac\":2.5,\"huge\":1e300,\"beyond\":18014398509481984,\"str\":\"5\",\"nul\":null}";
    const char *names[] = {"missing", "neg", "frac", "huge", "beyond", "str", "nul"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        CHECK(proto_text_int(bad, strlen(bad), names[i], &v) == -1, "%s accepted", names[i]);
    CHECK(v == -7, "out written on failure: %lld", (long long)v);
    CHECK(proto_text_int("next_sample: 5", 14, "next_sample", &v) == -1, "not JSON");
    CHECK(proto_text_int("[5]", 3, "next_sample", &v) == -1, "array");
    CHECK(proto_text_int("{\"n\":12}", 6, "n", &v) == -1, "only LEN bytes count");
}

int main(void)
{
    RUN(a_complete_hello_parses_into_every_field);
    RUN(a_minimal_hello_gets_the_documented_defaults);
    RUN(limits_are_inclusive);
    RUN(build_and_json_round_trip_to_the_same_hello);
    RUN(numbers_round_trip_bit_exactly);
    RUN(text_that_is_not_a_hello_object_is_malformed);
    RUN(wrong_types_and_missing_fields_are_named);
    RUN(identifiers_keep_to_their_alphabet);
    RUN(leads_rate_and_sample_type_outside_the_limits);
    RUN(lead_descriptions_are_checked);
    RUN(patient_fields_are_checked);
    RUN(mode_and_device_filter_are_checked);
    RUN(the_encounter_is_outpatient_or_inpatient_and_absent_means_outpatient);
    RUN(a_bad_encounter_is_refused_like_a_bad_mode);
    RUN(over_16_kib_is_too_big);
    RUN(strings_with_control_characters_are_refused);
    RUN(frames_round_trip);
    RUN(a_frame_is_laid_out_as_documented);
    RUN(samples_can_skip_frames_already_stored);
    RUN(build_refuses_what_the_wire_cannot_carry);
    RUN(malformed_frames_are_refused);
    RUN(text_type_names_the_message);
    RUN(text_int_reads_whole_non_negative_numbers);
    return check_report();
}
