/* test_api.c — the review HTTP API of ecgnetd, over plain HTTP on the loopback: login and
 * sessions, CSRF, a clinic's view of its own site, the cardiologist's claim → report → sign →
 * amend flow, the signal in microvolts, and the refusals (401, 403, 404, 409, 413, 400, 429). */
#include <pthread.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "flags.h"
#include "log.h"
#include "net_harness.h"
#include "server.h"
#include "store_harness.h"

#define PW_CARD "correct horse battery"
#define PW_CARD2 "staple of the county"
#define PW_CLINIC "village clinic pw"
#define PW_CLINIC2 "other village pw"
#define SITE_A "Test Township"
#define SITE_B "Other Village"

static char data_dir[1024], rec_dir[1024], store_url[1200];
static char token_a[STORE_TOKEN_CHARS + 1], token_b[STORE_TOKEN_CHARS + 1];
static flag_table *table;
static device_source src;
static int32_t *src_samples;
static server *sv;
static pthread_t loop;
static int port;
static int64_t rec_a, rec_b; /* rec_a at SITE_A, rec_b at SITE_B */

/* ---- a small HTTP/1.1 client (Connection: close) ---- */

typedef struct {
    int status;
    char *head; /* status line and headers */
    char *body;
    cJSON *json; /* the body parsed, when it is JSON */
} response;

static void response_free(response *r)
{
    free(r->head);
    cJSON_Delete(r->json);
    memset(r, 0, sizeof *r);
}

/* The value of header NAME (case-insensitive) in R, copied into BUF; "" when absent. */
static const char *header(const response *r, const char *name, char *buf, size_t len)
{
    harness_answer a = {r->status, r->head, NULL, 0};
    return harness_header(&a, name, buf, len);
}

/* Sends METHOD PATH with the session COOKIE and CSRF token (each NULL: none) and BODY (NULL:
 * none; LEN bytes), and reads the whole answer. */
static response request_raw(const char *method, const char *path, const char *cookie, const char *csrf,
                            const char *body, size_t len, const char *extra)
{
    harness_answer a = harness_request(port, method, path, cookie, csrf, body, len, extra);
    response r = {a.status, a.head, (char *)a.body, a.body ? cJSON_Parse((char *)a.body) : NULL};
    return r;
}

static response request(const char *method, const char *path, const char *cookie, const char *csrf, const char *body)
{
    return request_raw(method, path, cookie, csrf, body, body ? strlen(body) : 0, NULL);
}

static const char *jstr(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double jnum(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

typedef struct {
    char cookie[128], csrf[64];
} session;

/* Logs NAME in; exits when that fails (nothing else can be tested then). */
static session login(const char *name, const char *password)
{
    char body[256], cookie[512];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"password\":\"%s\"}", name, password);
    response r = request("POST", "/api/login", NULL, NULL, body);
    session s = {{0}, {0}};
    const char *c = strstr(header(&r, "set-cookie", cookie, sizeof cookie), "ecgnet_session=");
    if (r.status != 200 || !c) {
        fprintf(stderr, "login %s: %d %s\n", name, r.status, r.body ? r.body : "");
        exit(2);
    }
    snprintf(s.cookie, sizeof s.cookie, "%.*s", (int)strcspn(c + 15, ";"), c + 15);
    snprintf(s.csrf, sizeof s.csrf, "%s", jstr(r.json, "csrf"));
    response_free(&r);
    return s;
}

/* The ids of the recordings in R's "recordings". */
static int lists(const response *r, int64_t id)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r->json, "recordings"))
    if ((int64_t)jnum(it, "id") == id) return 1;
    return 0;
}

/* ---- the cases ---- */

static void a_login_sets_a_strict_http_only_cookie_and_gives_the_csrf_token(void)
{
    response r = request("POST", "/api/login", NULL, NULL, "{\"name\":\"card1\",\"password\":\"" PW_CARD "\"}");
    char cookie[512], type[128], cache[64];
    header(&r, "set-cookie", cookie, sizeof cookie);
    CHECK(r.status == 200, "login: %d %s", r.status, r.body);
    CHECK(!strncmp(cookie, "ecgnet_session=", 15) && strlen(cookie) > 15 + STORE_SESSION_CHARS, "cookie '%s'", cookie);
    CHECK(strstr(cookie, "; HttpOnly") && strstr(cookie, "; SameSite=Strict") && strstr(cookie, "; Path=/"),
          "cookie flags: '%s'", cookie);
    CHECK(!strstr(cookie, "Secure"), "no Secure over plain HTTP: '%s'", cookie);
    CHECK(!strcmp(header(&r, "content-type", type, sizeof type), "application/json; charset=utf-8"), "type '%s'", type);
    CHECK(!strcmp(header(&r, "cache-control", cache, sizeof cache), "no-store"), "cache-control '%s'", cache);
    cJSON *user = cJSON_GetObjectItemCaseSensitive(r.json, "user");
    CHECK(!strcmp(jstr(user, "name"), "card1") && !strcmp(jstr(user, "role"), "cardiologist") &&
              cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(user, "site")),
          "user: %s", r.body);
    CHECK(strlen(jstr(r.json, "csrf")) == STORE_SESSION_CHARS, "csrf token: %s", r.body);
    CHECK(!strstr(r.body, cookie + 15), "the session token is not in the body");
    char csrf[64];
    snprintf(csrf, sizeof csrf, "%s", jstr(r.json, "csrf"));
    response_free(&r);

    /* The cookie is the session: /api/me gives the same user and CSRF token back. */
    session s = login("card1", PW_CARD);
    r = request("GET", "/api/me", s.cookie, NULL, NULL);
    CHECK(r.status == 200 && !strcmp(jstr(cJSON_GetObjectItemCaseSensitive(r.json, "user"), "name"), "card1") &&
              !strcmp(jstr(r.json, "csrf"), s.csrf),
          "me: %d %s", r.status, r.body);
    response_free(&r);
    CHECK(strcmp(csrf, s.csrf) != 0, "each session has its own CSRF token");
}

static void a_wrong_password_or_unknown_user_is_401_with_one_message(void)
{
    response r = request("POST", "/api/login", NULL, NULL, "{\"name\":\"card1\",\"password\":\"not the password\"}");
    response u = request("POST", "/api/login", NULL, NULL, "{\"name\":\"nobody\",\"password\":\"" PW_CARD "\"}");
    char cookie[256];
    CHECK(r.status == 401 && u.status == 401, "wrong password %d, unknown user %d", r.status, u.status);
    CHECK(r.json && u.json && !strcmp(jstr(r.json, "error"), jstr(u.json, "error")), "one message: '%s' vs '%s'",
          r.body, u.body);
    CHECK(!*header(&r, "set-cookie", cookie, sizeof cookie), "no cookie for a failed login");
    response_free(&r);
    response_free(&u);
}

static void bad_bodies_are_400_and_oversized_ones_413(void)
{
    response r = request("POST", "/api/login", NULL, NULL, "{\"name\": \"card1\", \"password\": ");
    CHECK(r.status == 400 && strstr(jstr(r.json, "error"), "not valid JSON"), "malformed JSON: %d %s", r.status, r.body);
    response_free(&r);
    r = request("POST", "/api/login", NULL, NULL, "[\"card1\"]");
    CHECK(r.status == 400 && strstr(jstr(r.json, "error"), "object"), "an array: %d %s", r.status, r.body);
    response_free(&r);
    r = request("POST", "/api/login", NULL, NULL, "{\"name\":\"card1\",\"password\":12345}");
    CHECK(r.status == 400, "a number as password: %d %s", r.status, r.body);
    response_free(&r);

    size_t big = 64 * 1024 + 1;
    char *body = malloc(big);
    memset(body, ' ', big);
    body[0] = '{';
    body[big - 1] = '}';
    r = request_raw("POST", "/api/login", NULL, NULL, body, big, NULL);
    CHECK(r.status == 413, "a body over 64 KiB: %d %s", r.status, r.body ? r.body : "");
    response_free(&r);
    r = request_raw("POST", "/api/login", NULL, NULL, body, big - 1, NULL);
    CHECK(r.status == 400, "64 KiB exactly is read (and is not a JSON object): %d", r.status);
    response_free(&r);
    free(body);
    /* An empty body said as such is answered at once, on a PUT as on a POST. */
    session s = login("card1", PW_CARD);
    char path[96];
    snprintf(path, sizeof path, "/api/recordings/%lld/report", (long long)rec_b);
    r = request("PUT", path, s.cookie, s.csrf, NULL);
    CHECK(r.status == 400 && strstr(jstr(r.json, "error"), "body"), "a PUT with Content-Length 0: %d %s", r.status,
          r.body ? r.body : "");
    response_free(&r);
    r = request("POST", "/api/logout", s.cookie, s.csrf, NULL);
    CHECK(r.status == 200 || r.status == 204, "a POST with Content-Length 0: %d", r.status);
    response_free(&r);
    /* A body declared far too large is refused before it is sent. */
    r = request_raw("POST", "/api/login", NULL, NULL, NULL, 0, "Content-Length: 5000000\r\n");
    CHECK(r.status == 413, "declared 5 MB: %d", r.status);
    response_free(&r);
}

static void without_a_session_the_api_is_401(void)
{
    const char *paths[] = {"/api/me", "/api/worklist", "/api/recordings/1", "/api/recordings/1/signal",
                           "/api/patients/P-001/recordings", "/api/no-such-thing"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        response r = request("GET", paths[i], NULL, NULL, NULL);
        CHECK(r.status == 401 && r.json, "%s without a cookie: %d", paths[i], r.status);
        response_free(&r);
        r = request("GET", paths[i], "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, NULL);
        CHECK(r.status == 401, "%s with a made-up session: %d", paths[i], r.status);
        response_free(&r);
    }
    char path[64];
    snprintf(path, sizeof path, "/api/recordings/%lld/claim", (long long)rec_a);
    response r = request("POST", path, NULL, NULL, "{}");
    CHECK(r.status == 401, "claim without a session: %d", r.status);
    response_free(&r);
}

static void a_write_without_the_right_csrf_token_is_403_and_changes_nothing(void)
{
    session s = login("card2", PW_CARD2);
    char path[64], get[64];
    snprintf(path, sizeof path, "/api/recordings/%lld/claim", (long long)rec_a);
    snprintf(get, sizeof get, "/api/recordings/%lld", (long long)rec_a);
    response r = request("POST", path, s.cookie, NULL, NULL);
    CHECK(r.status == 403 && strstr(jstr(r.json, "error"), "X-CSRF-Token"), "no token: %d %s", r.status, r.body);
    response_free(&r);
    r = request("POST", path, s.cookie, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL);
    CHECK(r.status == 403, "wrong token: %d %s", r.status, r.body);
    response_free(&r);
    /* Another session's token is not this session's. */
    session other = login("card1", PW_CARD);
    r = request("POST", path, s.cookie, other.csrf, NULL);
    CHECK(r.status == 403, "another session's token: %d", r.status);
    response_free(&r);
    r = request("PUT", "/api/recordings/1/report", s.cookie, NULL, "{\"statements\":[\"x\"]}");
    CHECK(r.status == 403, "PUT without token: %d", r.status);
    response_free(&r);
    r = request("POST", "/api/logout", s.cookie, NULL, NULL);
    CHECK(r.status == 403, "logout without token: %d", r.status);
    response_free(&r);
    r = request("GET", get, s.cookie, NULL, NULL);
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(r.json, "recording");
    CHECK(r.status == 200 && !strcmp(jstr(rec, "review"), "new"), "still unclaimed: %d %s", r.status,
          jstr(rec, "review"));
    response_free(&r);
}

static void a_clinic_sees_only_its_own_site(void)
{
    session s = login("clinic1", PW_CLINIC);
    response r = request("GET", "/api/worklist", s.cookie, NULL, NULL);
    CHECK(r.status == 200 && lists(&r, rec_a) && !lists(&r, rec_b), "the clinic's worklist: %d %s", r.status, r.body);
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r.json, "recordings"))
    CHECK(!strcmp(jstr(it, "site"), SITE_A), "another site's recording listed: %s", jstr(it, "site"));
    response_free(&r);
    char path[96];
    snprintf(path, sizeof path, "/api/recordings/%lld", (long long)rec_b);
    r = request("GET", path, s.cookie, NULL, NULL);
    CHECK(r.status == 403 || r.status == 404, "another site's recording: %d", r.status);
    CHECK(!strstr(r.body ? r.body : "", "P-001"), "nothing of it in the refusal: %s", r.body);
    response_free(&r);
    snprintf(path, sizeof path, "/api/recordings/%lld/signal?count=10", (long long)rec_b);
    r = request("GET", path, s.cookie, NULL, NULL);
    CHECK(r.status == 403 || r.status == 404, "another site's signal: %d", r.status);
    response_free(&r);
    r = request("GET", "/api/worklist?site=Other%20Village", s.cookie, NULL, NULL);
    CHECK(r.status == 403, "asking for another site's worklist: %d %s", r.status, r.body);
    response_free(&r);
    r = request("GET", "/api/patients/P-001/recordings", s.cookie, NULL, NULL);
    CHECK(r.status == 200 && lists(&r, rec_a) && !lists(&r, rec_b), "the patient's recordings, own site only: %s",
          r.body);
    response_free(&r);
    /* A clinic cannot claim. */
    snprintf(path, sizeof path, "/api/recordings/%lld/claim", (long long)rec_a);
    r = request("POST", path, s.cookie, s.csrf, NULL);
    CHECK(r.status == 403, "a clinic claiming: %d %s", r.status, r.body);
    response_free(&r);
}

/* 危急值: confirmed with whom the clinic's notice went to, acknowledged by that clinic only. */
static void a_critical_value_is_confirmed_then_acknowledged_by_its_clinic(void)
{
    session card = login("card2", PW_CARD2), clinic = login("clinic1", PW_CLINIC), other = login("clinic2", PW_CLINIC2);
    char path[128];
    snprintf(path, sizeof path, "/api/recordings/%lld/critical", (long long)rec_a);
    response r = request("POST", path, card.cookie, card.csrf, "{\"finding\":\"VT 180/min\"}");
    CHECK(r.status == 400 && strstr(r.body, "notified"), "whom the clinic's notice went to is required: %d %s",
          r.status, r.body);
    response_free(&r);
    r = request("POST", path, card.cookie, card.csrf, "{\"finding\":\"VT\",\"notified\":\"x\",\"notified_ms\":\"soon\"}");
    CHECK(r.status == 400, "a time that is not a number: %d", r.status);
    response_free(&r);
    r = request("POST", path, clinic.cookie, clinic.csrf, "{\"finding\":\"VT\",\"notified\":\"x\"}");
    CHECK(r.status == 403, "a clinic cannot confirm: %d %s", r.status, r.body);
    response_free(&r);
    r = request("POST", path, card.cookie, NULL, "{\"finding\":\"VT\",\"notified\":\"x\"}");
    CHECK(r.status == 403, "no CSRF token, no confirmation: %d", r.status);
    response_free(&r);
    r = request("POST", path, card.cookie, card.csrf,
                "{\"finding\":\"室性心动过速 VT 180/min\",\"notified\":\"护士 张丽 N0231\"}");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(r.json, "critical");
    CHECK(r.status == 201 && !strcmp(jstr(c, "confirmed_by"), "card2") && !strcmp(jstr(c, "notified"), "护士 张丽 N0231") &&
              cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(c, "acked_ms")) && jnum(c, "due_ms") > jnum(c, "confirmed_ms"),
          "confirmed: %d %s", r.status, r.body);
    response_free(&r);
    r = request("POST", path, card.cookie, card.csrf, "{\"finding\":\"VT\",\"notified\":\"y\"}");
    CHECK(r.status == 409, "once per recording: %d", r.status);
    response_free(&r);

    r = request("GET", "/api/critical?open=1", clinic.cookie, NULL, NULL);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(r.json, "critical");
    CHECK(r.status == 200 && cJSON_GetArraySize(list) == 1 &&
              (int64_t)jnum(cJSON_GetArrayItem(list, 0), "recording") == rec_a,
          "the clinic's open critical values: %s", r.body);
    response_free(&r);
    r = request("GET", "/api/critical?open=1", other.cookie, NULL, NULL);
    list = cJSON_GetObjectItemCaseSensitive(r.json, "critical");
    CHECK(r.status == 200 && cJSON_GetArraySize(list) == 0, "another clinic sees none: %s", r.body);
    response_free(&r);
    r = request("GET", "/api/critical?open=maybe", clinic.cookie, NULL, NULL);
    CHECK(r.status == 400, "open must be 0 or 1: %d", r.status);
    response_free(&r);

    snprintf(path, sizeof path, "/api/recordings/%lld/critical/ack", (long long)rec_a);
    r = request("POST", path, other.cookie, other.csrf, NULL);
    CHECK(r.status == 403, "another clinic cannot acknowledge: %d", r.status);
    response_free(&r);
    r = request("POST", path, card.cookie, card.csrf, NULL);
    CHECK(r.status == 403, "nor the cardiologist: %d", r.status);
    response_free(&r);
    r = request("POST", path, clinic.cookie, clinic.csrf, NULL);
    c = cJSON_GetObjectItemCaseSensitive(r.json, "critical");
    CHECK(r.status == 200 && !strcmp(jstr(c, "acked_by"), "clinic1") && jnum(c, "acked_ms") > 0,
          "acknowledged by the clinic: %d %s", r.status, r.body);
    response_free(&r);
    r = request("POST", path, clinic.cookie, clinic.csrf, NULL);
    CHECK(r.status == 409, "only once: %d", r.status);
    response_free(&r);
    snprintf(path, sizeof path, "/api/recordings/%lld", (long long)rec_a);
    r = request("GET", path, clinic.cookie, NULL, NULL);
    c = cJSON_GetObjectItemCaseSensitive(r.json, "critical");
    CHECK(r.status == 200 && !strcmp(jstr(c, "acked_by"), "clinic1"), "the recording carries its notice: %s", r.body);
    response_free(&r);
    snprintf(path, sizeof path, "/api/recordings/%lld", (long long)rec_b);
    r = request("GET", path, card.cookie, NULL, NULL);
    CHECK(r.status == 200 && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r.json, "critical")),
          "null without one: %s", r.body ? r.body : "");
    response_free(&r);

    /* Not acknowledged within the server's 3 s: escalated to every cardiologist. */
    snprintf(path, sizeof path, "/api/recordings/%lld/critical", (long long)rec_b);
    r = request("POST", path, card.cookie, card.csrf, "{\"finding\":\"VF\",\"notified\":\"Dr Zhou\"}");
    CHECK(r.status == 201, "a second one: %d %s", r.status, r.body);
    response_free(&r);
    session card1 = login("card1", PW_CARD);
    int escalated = 0;
    for (int i = 0; i < 100 && !escalated; i++) {
        r = request("GET", "/api/critical?open=1", card1.cookie, NULL, NULL);
        const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.json, "critical"), 0);
        escalated = first && (int64_t)jnum(first, "recording") == rec_b && jnum(first, "escalated_ms") > 0;
        response_free(&r);
        if (!escalated) usleep(100 * 1000);
    }
    CHECK(escalated, "escalated within 10 s, shown to another cardiologist");
}

static void the_worklist_lists_recordings_with_their_flags_and_filters(void)
{
    session s = login("card1", PW_CARD);
    response r = request("GET", "/api/worklist", s.cookie, NULL, NULL);
    CHECK(r.status == 200 && lists(&r, rec_a) && lists(&r, rec_b), "both sites: %d %s", r.status, r.body);
    const cJSON *it;
    int with_flags = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r.json, "recordings"))
    {
        CHECK(jnum(it, "fs") == 500 && jnum(it, "nleads") == src.nleads && jnum(it, "samples") == src.nframes,
              "fs, leads, samples: %g %g %g", jnum(it, "fs"), jnum(it, "nleads"), jnum(it, "samples"));
        CHECK(!strcmp(jstr(it, "device"), "dev-a") || !strcmp(jstr(it, "device"), "dev-b"), "device %s",
              jstr(it, "device"));
        CHECK(!strcmp(jstr(it, "patient_id"), "P-001") && !strcmp(jstr(it, "mode"), "resting") &&
                  !strcmp(jstr(it, "state"), "complete"),
              "patient, mode, state");
        CHECK(jnum(it, "received_ms") > 1.6e12 && jnum(it, "priority") >= 0 && jnum(it, "priority") <= 3, "times, priority");
        with_flags += cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(it, "flags"));
    }
    CHECK(with_flags == 2, "every item has its flags array");
    response_free(&r);
    r = request("GET", "/api/worklist?site=Other%20Village&limit=5", s.cookie, NULL, NULL);
    CHECK(r.status == 200 && !lists(&r, rec_a) && lists(&r, rec_b), "filtered by site: %s", r.body);
    response_free(&r);
    r = request("GET", "/api/worklist?since=4102444800000", s.cookie, NULL, NULL);
    CHECK(r.status == 200 && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "recordings")) == 0,
          "nothing received after 2100: %s", r.body);
    response_free(&r);
    const char *bad[] = {"/api/worklist?priority=urgentish", "/api/worklist?limit=0", "/api/worklist?limit=abc",
                         "/api/worklist?since=-5", "/api/worklist?review=lost"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        r = request("GET", bad[i], s.cookie, NULL, NULL);
        CHECK(r.status == 400 && *jstr(r.json, "error"), "%s: %d %s", bad[i], r.status, r.body);
        response_free(&r);
    }
}

static void a_cardiologist_claims_reports_signs_and_amends(void)
{
    session s = login("card1", PW_CARD), s2 = login("card2", PW_CARD2);
    char base[64], path[128];
    snprintf(base, sizeof base, "/api/recordings/%lld", (long long)rec_a);

    snprintf(path, sizeof path, "%s/claim", base);
    response r = request("POST", path, s.cookie, s.csrf, NULL);
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(r.json, "recording");
    CHECK(r.status == 200 && !strcmp(jstr(rec, "review"), "claimed") && !strcmp(jstr(rec, "claimed_by"), "card1"),
          "claim: %d %s", r.status, r.body);
    response_free(&r);
    r = request("POST", path, s2.cookie, s2.csrf, NULL);
    CHECK(r.status == 409 && strstr(jstr(r.json, "error"), "card1"), "a second claimer: %d %s", r.status, r.body);
    response_free(&r);

    snprintf(path, sizeof path, "%s/sign", base);
    r = request("POST", path, s.cookie, s.csrf, "{\"password\":\"" PW_CARD "\"}");
    CHECK(r.status == 409, "signing without a draft: %d %s", r.status, r.body);
    response_free(&r);

    snprintf(path, sizeof path, "%s/report", base);
    r = request("PUT", path, s.cookie, s.csrf, "{\"statements\":[\"窦性心律\",\"室性早搏\"],\"text\":\"偶发室早\"}");
    const cJSON *rep = cJSON_GetObjectItemCaseSensitive(r.json, "report");
    CHECK(r.status == 200 && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(rep, "signed")) &&
              cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rep, "statements")) == 2 &&
              !strcmp(jstr(rep, "text"), "偶发室早"),
          "draft: %d %s", r.status, r.body);
    response_free(&r);
    r = request("PUT", path, s2.cookie, s2.csrf, "{\"statements\":[\"x\"]}");
    CHECK(r.status == 409, "a draft by someone without the claim: %d %s", r.status, r.body);
    response_free(&r);
    r = request("PUT", path, s.cookie, s.csrf, "{\"statements\":\"窦性心律\"}");
    CHECK(r.status == 400, "statements not an array: %d", r.status);
    response_free(&r);

    snprintf(path, sizeof path, "%s/sign", base);
    r = request("POST", path, s.cookie, s.csrf, "{\"password\":\"not my password\"}");
    CHECK(r.status == 403 && strstr(jstr(r.json, "error"), "password"), "a wrong password signs nothing: %d %s",
          r.status, r.body);
    response_free(&r);
    r = request("POST", path, s.cookie, s.csrf, "{}");
    CHECK(r.status == 400, "no password: %d", r.status);
    response_free(&r);
    r = request("POST", path, s.cookie, s.csrf, "{\"password\":\"" PW_CARD "\"}");
    rep = cJSON_GetObjectItemCaseSensitive(r.json, "report");
    CHECK(r.status == 200 && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rep, "signed")) &&
              !strcmp(jstr(rep, "signer"), "card1") && jnum(rep, "version") == 1,
          "signed: %d %s", r.status, r.body);
    response_free(&r);
    snprintf(path, sizeof path, "%s/report", base);
    r = request("PUT", path, s.cookie, s.csrf, "{\"statements\":[\"x\"]}");
    CHECK(r.status == 409, "a signed report is not a draft any more: %d %s", r.status, r.body);
    response_free(&r);

    snprintf(path, sizeof path, "%s/amend", base);
    r = request("POST", path, s2.cookie, s2.csrf, "{\"statements\":[\"窦性心律\"],\"text\":\"更正\",\"password\":\"wrong one\"}");
    CHECK(r.status == 403, "amending with a wrong password: %d", r.status);
    response_free(&r);
    r = request("POST", path, s2.cookie, s2.csrf, "{\"statements\":[\"窦性心律\"],\"text\":\"更正\",\"password\":\"" PW_CARD2 "\"}");
    rep = cJSON_GetObjectItemCaseSensitive(r.json, "report");
    CHECK(r.status == 201 && jnum(rep, "version") == 2 && jnum(rep, "amends") == 1 && !strcmp(jstr(rep, "signer"), "card2"),
          "amendment: %d %s", r.status, r.body);
    response_free(&r);

    snprintf(path, sizeof path, "%s/history", base);
    r = request("GET", path, s.cookie, NULL, NULL);
    const cJSON *reps = cJSON_GetObjectItemCaseSensitive(r.json, "reports");
    CHECK(r.status == 200 && cJSON_GetArraySize(reps) == 2 &&
              !strcmp(jstr(cJSON_GetArrayItem(reps, 0), "text"), "偶发室早") &&
              !strcmp(jstr(cJSON_GetArrayItem(reps, 1), "text"), "更正"),
          "history: %d %s", r.status, r.body);
    response_free(&r);

    /* The recording as a whole: analysis as stored (with beats), latest report, timeline. */
    r = request("GET", base, s.cookie, NULL, NULL);
    const cJSON *an = cJSON_GetObjectItemCaseSensitive(r.json, "analysis");
    const cJSON *tl = cJSON_GetObjectItemCaseSensitive(r.json, "timeline");
    rep = cJSON_GetObjectItemCaseSensitive(r.json, "report");
    CHECK(r.status == 200 && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(an, "beats")) > 10 &&
              cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(an, "beat_count")),
          "analysis with beats: %d", r.status);
    CHECK(jnum(rep, "version") == 2, "the latest report");
    CHECK(!strcmp(jstr(tl, "first_opened_by"), "card2") && !strcmp(jstr(tl, "signed_by"), "card1") &&
              jnum(tl, "ecg_to_diagnosis_ms") > 0,
          "timeline: %s", cJSON_PrintUnformatted(tl));
    CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(r.json, "flags")), "flags");
    response_free(&r);

    /* The clinic reads the signed report. */
    session c = login("clinic1", PW_CLINIC);
    r = request("GET", base, c.cookie, NULL, NULL);
    rep = cJSON_GetObjectItemCaseSensitive(r.json, "report");
    CHECK(r.status == 200 && jnum(rep, "version") == 2 && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rep, "signed")),
          "the clinic sees the signed report: %d", r.status);
    response_free(&r);
}

static void a_recording_can_be_released_sent_back_and_nothing_is_left_to_claim(void)
{
    session s = login("card2", PW_CARD2);
    char path[128];
    response r = request("POST", "/api/worklist/claim-next", s.cookie, s.csrf, NULL);
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(r.json, "recording");
    CHECK(r.status == 200 && (int64_t)jnum(rec, "id") == rec_b && !strcmp(jstr(rec, "review"), "claimed"),
          "claim-next gives the one left: %d %s", r.status, r.body);
    response_free(&r);
    snprintf(path, sizeof path, "/api/recordings/%lld/release", (long long)rec_b);
    r = request("POST", path, s.cookie, s.csrf, NULL);
    CHECK(r.status == 200 && !strcmp(jstr(cJSON_GetObjectItemCaseSensitive(r.json, "recording"), "review"), "new"),
          "released: %d %s", r.status, r.body);
    response_free(&r);
    r = request("POST", path, s.cookie, s.csrf, NULL);
    CHECK(r.status == 409, "releasing what one does not hold: %d", r.status);
    response_free(&r);

    snprintf(path, sizeof path, "/api/recordings/%lld/claim", (long long)rec_b);
    r = request("POST", path, s.cookie, s.csrf, NULL);
    response_free(&r);
    snprintf(path, sizeof path, "/api/recordings/%lld/repeat", (long long)rec_b);
    r = request("POST", path, s.cookie, s.csrf, "{}");
    CHECK(r.status == 400, "a repeat without a reason: %d", r.status);
    response_free(&r);
    r = request("POST", path, s.cookie, s.csrf, "{\"reason\":\"电极脱落，请重做\"}");
    CHECK(r.status == 200 && !strcmp(jstr(cJSON_GetObjectItemCaseSensitive(r.json, "recording"), "review"), "repeat"),
          "sent back: %d %s", r.status, r.body);
    response_free(&r);

    session c = login("clinic2", PW_CLINIC2);
    r = request("GET", "/api/worklist", c.cookie, NULL, NULL);
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.json, "recordings"), 0);
    CHECK(r.status == 200 && !strcmp(jstr(first, "repeat_reason"), "电极脱落，请重做"), "the clinic reads why: %s", r.body);
    response_free(&r);

    r = request("POST", "/api/worklist/claim-next", s.cookie, s.csrf, NULL);
    CHECK(r.status == 404, "nothing left to claim: %d %s", r.status, r.body);
    response_free(&r);
    char pat[128];
    snprintf(pat, sizeof pat, "/api/patients/P-001/recordings?exclude=%lld", (long long)rec_a);
    r = request("GET", pat, s.cookie, NULL, NULL);
    CHECK(r.status == 200 && !lists(&r, rec_a) && lists(&r, rec_b), "earlier recordings of the patient: %s", r.body);
    response_free(&r);
}

/* The values of lead L in R's data, compared with the source's samples in microvolts. */
static int64_t signal_mismatches(const cJSON *json, int64_t from, int64_t step, int64_t count)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(json, "data");
    int64_t bad = 0;
    if (cJSON_GetArraySize(data) != src.nleads) return -1;
    for (int l = 0; l < src.nleads; l++) {
        const cJSON *lead = cJSON_GetArrayItem(data, l);
        if (cJSON_GetArraySize(lead) != count) return -1;
        for (int64_t i = 0; i < count; i++) {
            int64_t at = from + i * step;
            double want = (src.samples[at * src.nleads + l] - src.leads[l].baseline) * src.leads[l].uv_per_unit;
            if (fabs(cJSON_GetArrayItem(lead, (int)i)->valuedouble - want) > 1e-6 * (1 + fabs(want))) bad++;
        }
    }
    return bad;
}

static void the_signal_is_the_recorded_samples_in_microvolts(void)
{
    session s = login("clinic1", PW_CLINIC);
    char path[160];
    snprintf(path, sizeof path, "/api/recordings/%lld/signal?from=1000&count=500", (long long)rec_a);
    response r = request("GET", path, s.cookie, NULL, NULL);
    CHECK(r.status == 200 && jnum(r.json, "fs") == 500 && jnum(r.json, "from") == 1000 && jnum(r.json, "step") == 1 &&
              jnum(r.json, "count") == 500 && jnum(r.json, "next") == 1500,
          "window: %d", r.status);
    const cJSON *leads = cJSON_GetObjectItemCaseSensitive(r.json, "leads");
    CHECK(cJSON_GetArraySize(leads) == src.nleads, "leads");
    for (int l = 0; l < cJSON_GetArraySize(leads); l++) {
        const cJSON *lead = cJSON_GetArrayItem(leads, l);
        CHECK(!strcmp(jstr(lead, "name"), src.leads[l].name) && jnum(lead, "uv_per_unit") == src.leads[l].uv_per_unit,
              "lead %d: %s %g", l, jstr(lead, "name"), jnum(lead, "uv_per_unit"));
    }
    CHECK(signal_mismatches(r.json, 1000, 1, 500) == 0, "the samples, exactly, in microvolts");
    response_free(&r);

    /* Subsampled: every 7th sample; the last window stops at the recording's end. */
    snprintf(path, sizeof path, "/api/recordings/%lld/signal?from=3&count=7000&step=7", (long long)rec_a);
    r = request("GET", path, s.cookie, NULL, NULL);
    CHECK(r.status == 200 && jnum(r.json, "count") == 1000 && signal_mismatches(r.json, 3, 7, 1000) == 0,
          "every 7th sample: %d %g", r.status, jnum(r.json, "count"));
    response_free(&r);
    int64_t tail = src.nframes - 100;
    snprintf(path, sizeof path, "/api/recordings/%lld/signal?from=%lld&count=1000", (long long)rec_a, (long long)tail);
    r = request("GET", path, s.cookie, NULL, NULL);
    CHECK(r.status == 200 && jnum(r.json, "count") == 100 && signal_mismatches(r.json, tail, 1, 100) == 0,
          "the end: %g values", jnum(r.json, "count"));
    response_free(&r);

    /* Everything at once is capped at 200 000 values, and says where to go on. */
    snprintf(path, sizeof path, "/api/recordings/%lld/signal", (long long)rec_a);
    r = request("GET", path, s.cookie, NULL, NULL);
    int64_t cap = 200000 / src.nleads, got = (int64_t)jnum(r.json, "count");
    CHECK(r.status == 200 && got == (cap < src.nframes ? cap : src.nframes) && jnum(r.json, "next") == got,
          "whole recording capped: %lld of %lld", (long long)got, (long long)src.nframes);
    CHECK(signal_mismatches(r.json, 0, 1, got) == 0, "every value");
    response_free(&r);

    snprintf(path, sizeof path, "/api/recordings/%lld/signal?step=0", (long long)rec_a);
    r = request("GET", path, s.cookie, NULL, NULL);
    CHECK(r.status == 400, "step 0: %d", r.status);
    response_free(&r);
    snprintf(path, sizeof path, "/api/recordings/%lld/signal?from=-1", (long long)rec_a);
    r = request("GET", path, s.cookie, NULL, NULL);
    CHECK(r.status == 400, "negative from: %d", r.status);
    response_free(&r);
    r = request("GET", "/api/recordings/999999/signal", s.cookie, NULL, NULL);
    CHECK(r.status == 404, "no such recording: %d", r.status);
    response_free(&r);
}

static void unknown_paths_are_404_and_health_and_metrics_still_work(void)
{
    session s = login("card1", PW_CARD);
    const char *paths[] = {"/api/nothing", "/api/recordings/abc", "/api/recordings/1/nothing", "/api/recordings/0",
                           "/api/recordings/999999", "/nothing.html"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        response r = request("GET", paths[i], s.cookie, NULL, NULL);
        CHECK(r.status == 404, "%s: %d", paths[i], r.status);
        CHECK(r.body && !strstr(r.body, data_dir), "%s: the answer names no server file: %s", paths[i], r.body);
        response_free(&r);
    }
    response r = request("DELETE", "/api/worklist", s.cookie, s.csrf, NULL);
    char allow[32];
    CHECK(r.status == 405 && !strcmp(header(&r, "allow", allow, sizeof allow), "GET"), "DELETE worklist: %d", r.status);
    response_free(&r);
    r = request("GET", "/healthz", NULL, NULL, NULL);
    CHECK(r.status == 200 && !strcmp(r.body, "ok\n"), "healthz: %d", r.status);
    response_free(&r);
    r = request("GET", "/metrics", NULL, NULL, NULL);
    CHECK(r.status == 200 && strstr(r.body, "ecgnet_"), "metrics: %d", r.status);
    response_free(&r);
}

static void logging_out_ends_the_session(void)
{
    session s = login("card1", PW_CARD);
    response r = request("POST", "/api/logout", s.cookie, s.csrf, NULL);
    char cookie[256];
    header(&r, "set-cookie", cookie, sizeof cookie);
    CHECK(r.status == 204 && strstr(cookie, "ecgnet_session=;") && strstr(cookie, "Max-Age=0"), "logout: %d '%s'",
          r.status, cookie);
    response_free(&r);
    r = request("GET", "/api/me", s.cookie, NULL, NULL);
    CHECK(r.status == 401, "the old cookie after logout: %d", r.status);
    response_free(&r);
}

/* Last: the limit counts failures per client (all of these come from 127.0.0.1). */
static void repeated_failed_logins_are_rate_limited_with_retry_after(void)
{
    int limited = 0, i;
    response r = {0};
    for (i = 0; i < 10 && !limited; i++) {
        response_free(&r);
        r = request("POST", "/api/login", NULL, NULL, "{\"name\":\"mallory\",\"password\":\"guess guess guess\"}");
        limited = r.status == 429;
        if (!limited) CHECK(r.status == 401, "a failed login before the limit: %d", r.status);
    }
    char retry[32];
    CHECK(limited && i <= STORE_LOGIN_MAX_FAILURES + 1, "limited after %d attempts", i);
    header(&r, "retry-after", retry, sizeof retry);
    CHECK(atoi(retry) > 0 && atoi(retry) <= STORE_LOGIN_WINDOW_MS / 1000, "Retry-After: '%s'", retry);
    response_free(&r);
    /* The right password from a limited client is refused too: a guesser learns nothing. */
    r = request("POST", "/api/login", NULL, NULL, "{\"name\":\"card1\",\"password\":\"" PW_CARD "\"}");
    CHECK(r.status == 429, "the right password while limited: %d", r.status);
    response_free(&r);
}

/* ---- setup ---- */

static void *serve(void *arg)
{
    server_run(arg);
    return NULL;
}

static int64_t stream(const char *device, const char *token, const char *recording)
{
    return harness_stream_recording(port, store_url, &src, device, token, recording);
}

static void setup(void)
{
    char err[512];
    store *s = store_open(store_url, err, sizeof err);
    if (!s || store_device_add(s, "dev-a", SITE_A, token_a, err, sizeof err) ||
        store_device_add(s, "dev-b", SITE_B, token_b, err, sizeof err) ||
        store_user_add(s, "card1", "cardiologist", NULL, PW_CARD, err, sizeof err) ||
        store_user_add(s, "card2", "cardiologist", NULL, PW_CARD2, err, sizeof err) ||
        store_user_add(s, "clinic1", "clinic", SITE_A, PW_CLINIC, err, sizeof err) ||
        store_user_add(s, "clinic2", "clinic", SITE_B, PW_CLINIC2, err, sizeof err)) {
        fprintf(stderr, "setup: %s\n", err);
        exit(2);
    }
    store_close(s);
    server_config c = {0};
    c.ingest.data_dir = data_dir;
    c.store_url = store_url;
    c.critical_ack_s = 3; /* the critical-value test lets one escalate */
    c.ingest.workers = 2;
    c.ingest.flags = table;
    c.ingest.model = NULL; /* every beat N: the beat classes are not what this test is about */
    if (!(sv = server_create(&c, err, sizeof err))) {
        fprintf(stderr, "server_create: %s\n", err);
        exit(2);
    }
    port = server_port(sv);
    pthread_create(&loop, NULL, serve, sv);
    rec_a = stream("dev-a", token_a, "rec-a");
    rec_b = stream("dev-b", token_b, "rec-b");
}

int main(void)
{
    net_log_set_level(NET_LOG_ERROR);
    char err[512];
    snprintf(data_dir, sizeof data_dir, "%s", check_tmpdir("api-data"));
    snprintf(rec_dir, sizeof rec_dir, "%s", check_tmpdir("api-records"));
    /* ECGNET_TEST_STORE=pg (ctest's test_api_pg): the same tests on PostgreSQL. */
    if (harness_pg()) snprintf(store_url, sizeof store_url, "%s", fresh_db("api"));
    else snprintf(store_url, sizeof store_url, "sqlite:%s/ecgnet.db", data_dir);
    if (flag_table_load(NULL, &table, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    harness_record(rec_dir, "syn3", 3, 500, 150, &src, &src_samples);
    snprintf(src.patient.id, sizeof src.patient.id, "P-001");
    setup();
    RUN(a_login_sets_a_strict_http_only_cookie_and_gives_the_csrf_token);
    RUN(a_wrong_password_or_unknown_user_is_401_with_one_message);
    RUN(bad_bodies_are_400_and_oversized_ones_413);
    RUN(without_a_session_the_api_is_401);
    RUN(a_write_without_the_right_csrf_token_is_403_and_changes_nothing);
    RUN(a_clinic_sees_only_its_own_site);
    RUN(the_worklist_lists_recordings_with_their_flags_and_filters);
    RUN(a_cardiologist_claims_reports_signs_and_amends);
    RUN(a_recording_can_be_released_sent_back_and_nothing_is_left_to_claim);
    RUN(the_signal_is_the_recorded_samples_in_microvolts);
    RUN(a_critical_value_is_confirmed_then_acknowledged_by_its_clinic);
    RUN(unknown_paths_are_404_and_health_and_metrics_still_work);
    RUN(logging_out_ends_the_session);
    RUN(repeated_failed_logins_are_rate_limited_with_retry_after);
    server_stop(sv);
    pthread_join(loop, NULL);
    server_free(sv);
    free(src_samples);
    flag_table_free(table);
    return check_report();
}
