/* test_retention_server.c — retention end to end in ecgnetd: the hello's encounter reaches the store,
 * a bad one is refused, and once a recording is purged its signal answers 410 Gone and a device
 * cannot resume it. */
#include <cjson/cJSON.h>

#include "check.h"
#include "flags.h"
#include "log.h"
#include "net_harness.h"
#include "store_harness.h"

#define YEAR_MS 31557600000LL

static char data_dir[1024], store_url[1200], token[STORE_TOKEN_CHARS + 1];
static int port;

/* A 2-lead int16 hello for RECORDING with EXTRA members (", ..." or ""). */
static void hello(char *out, size_t len, const char *recording, const char *extra)
{
    snprintf(out, len,
             "{\"type\":\"hello\",\"device\":\"dev1\",\"token\":\"%s\",\"recording\":\"%s\",\"fs\":500,"
             "\"sample_type\":\"int16\",\"patient\":{\"id\":\"ZY-%s\"},"
             "\"leads\":[{\"name\":\"I\",\"uv_per_unit\":1},{\"name\":\"II\",\"uv_per_unit\":1}]%s}",
             token, recording, recording, extra);
}

/* Streams RECORDING (100 samples, then end) with the hello's EXTRA members; returns the close code
 * and the server's texts in TEXTS. */
static int stream(const char *recording, const char *extra, char *texts, size_t tlen)
{
    char h[1024];
    hello(h, sizeof h, recording, extra);
    int32_t z[2 * 100] = {0};
    uint8_t f[PROTO_HEADER_BYTES + sizeof z];
    size_t n = proto_frame_build(f, 0, z, 100, 2, 2, 0, 0, 0);
    const char *end = "{\"type\":\"end\",\"samples\":100}";
    script_msg msgs[] = {{0, h, strlen(h), 0, 0}, {1, f, n, 0, 1}, {0, end, strlen(end), 0, 1}};
    script s = {msgs, 3, 0, 0, 0, "", 0, 0, 0};
    int code = script_run(port, &s, 20);
    snprintf(texts, tlen, "%s", s.texts);
    return code;
}

/* The stored recording once its analysis has finished it (zeroed after 30 s without). */
static store_recording finished(const char *recording)
{
    store_recording r;
    for (int i = 0; i < 600; i++) {
        r = harness_stored(store_url, "dev1", recording);
        if (!strcmp(r.state, "complete")) return r;
        usleep(50000);
    }
    memset(&r, 0, sizeof r);
    return r;
}

/* GET PATH with the session cookie TOKEN: the whole answer (malloc'd) or NULL. */
static char *get(const char *path, const char *session)
{
    return harness_http_get(port, path, session);
}

static void the_hello_s_encounter_is_stored_and_a_bad_one_refused(void)
{
    char texts[4096];
    int code = stream("inpatient-1", ",\"encounter\":\"inpatient\"", texts, sizeof texts);
    store_recording r = finished("inpatient-1");
    CHECK(r.id > 0 && !strcmp(r.encounter, "inpatient"), "inpatient stored (close %d, %s): '%s'", code, texts,
          r.encounter);
    stream("unstated-1", "", texts, sizeof texts);
    r = finished("unstated-1");
    CHECK(r.id > 0 && !strcmp(r.encounter, "outpatient"), "no encounter: outpatient: '%s'", r.encounter);

    code = stream("ward-1", ",\"encounter\":\"ward\"", texts, sizeof texts);
    /* (The close reason names the member: test_proto checks the parser's message.) */
    CHECK(code == PROTO_CLOSE_MALFORMED, "a bad encounter: close %d: %s", code, texts);
    r = harness_stored(store_url, "dev1", "ward-1");
    CHECK(r.id == 0, "nothing stored for it");
}

static void a_purged_recording_answers_410_and_cannot_be_resumed(void)
{
    store_recording kept = finished("unstated-1"), old = finished("inpatient-1");
    char err[512], sql[160];
    /* Thirty-one years ago, for the purpose of this test. */
    snprintf(sql, sizeof sql, "UPDATE recording SET received_ms = received_ms - %lld WHERE id = %lld", 31 * YEAR_MS,
             (long long)old.id);
    char db[1100];
    snprintf(db, sizeof db, "%s/ecgnet.db", data_dir);
    CHECK(raw_sql(db, sql) == SQLITE_OK, "aging the recording");
    store *s = store_open(store_url, err, sizeof err);
    CHECK(s != NULL, "%s", err);
    if (!s) return;
    store_recording before;
    CHECK(store_recording_purge(s, old.id, STORE_RETENTION_OUTPATIENT_MIN_YEARS * STORE_YEAR_MS,
                                STORE_RETENTION_INPATIENT_MIN_YEARS * STORE_YEAR_MS, "cli", &before, err,
                                sizeof err) == STORE_OK,
          "purge: %s", err);
    CHECK(store_user_add(s, "card1", "cardiologist", NULL, "a long password 1", err, sizeof err) == STORE_OK, "%s", err);
    char session[STORE_SESSION_CHARS + 1], csrf[STORE_SESSION_CHARS + 1];
    CHECK(store_login(s, "card1", "a long password 1", NULL, session, csrf, NULL, NULL, err, sizeof err) == STORE_OK,
          "login: %s", err);
    store_close(s);

    char path[128], day[16];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    snprintf(path, sizeof path, "/api/recordings/%lld/signal", (long long)old.id);
    char *answer = get(path, session);
    char want[200];
    snprintf(want, sizeof want, "the samples of recording %lld were deleted on %s after its retention period",
             (long long)old.id, day);
    CHECK(answer && !strncmp(answer, "HTTP/1.1 410", 12) && strstr(answer, want), "signal of a purged recording: %s",
          answer ? answer : "(none)");
    free(answer);
    snprintf(path, sizeof path, "/api/recordings/%lld/export.pdf", (long long)old.id);
    answer = get(path, session);
    CHECK(answer && !strncmp(answer, "HTTP/1.1 410", 12) && strstr(answer, want), "its PDF too: %.200s",
          answer ? answer : "(none)");
    free(answer);
    snprintf(path, sizeof path, "/api/recordings/%lld", (long long)old.id);
    answer = get(path, session);
    CHECK(answer && !strncmp(answer, "HTTP/1.1 200", 12) && strstr(answer, "\"purged_ms\":") &&
              !strstr(answer, "\"purged_ms\":null"),
          "the recording itself still answers, saying when its samples went: %.300s", answer ? answer : "(none)");
    free(answer);
    snprintf(path, sizeof path, "/api/recordings/%lld/signal?count=10", (long long)kept.id);
    answer = get(path, session);
    CHECK(answer && !strncmp(answer, "HTTP/1.1 200", 12), "a kept recording's signal: %.200s", answer ? answer : "");
    free(answer);
    snprintf(path, sizeof path, "/api/recordings/%lld", (long long)old.id);
    answer = get(path, session);
    CHECK(answer && !strncmp(answer, "HTTP/1.1 200", 12) && strstr(answer, "inpatient-1"),
          "its metadata still answers: %.200s", answer ? answer : "");
    free(answer);

    /* The device that made it tries to go on with it: refused, and told why. */
    char texts[4096];
    int code = stream("inpatient-1", ",\"encounter\":\"inpatient\"", texts, sizeof texts);
    CHECK(code == PROTO_CLOSE_MALFORMED && strstr(texts, "purged") && strstr(texts, "new recording id"),
          "resume of a purged recording: close %d: %s", code, texts);
    CHECK(access(before.journal, F_OK) == 0, "(the files are the CLI's to delete, not the server's)");
}

/* The device client (`ecgnet replay --encounter`) says the encounter in its hello. */
static void the_device_client_says_the_encounter(void)
{
    char err[512];
    device_source src;
    int32_t *samples = NULL;
    harness_record(check_tmpdir("retention-server-rec"), "syn2", 2, 500, 2, &src, &samples);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d", port);
    const char *names[] = {"client-in", "client-out", "client-unsaid"};
    const proto_encounter said[] = {PROTO_ENCOUNTER_INPATIENT, PROTO_ENCOUNTER_OUTPATIENT, PROTO_ENCOUNTER_UNSTATED};
    const char *stored[] = {"inpatient", "outpatient", "outpatient"}; /* unsaid counts as outpatient */
    for (int i = 0; i < 3; i++) {
        device_config c = {0};
        c.url = url;
        c.device = "dev1";
        c.token = token;
        c.recording = names[i];
        c.ndevices = 1;
        c.mode = PROTO_MODE_RESTING;
        c.encounter = said[i];
        c.timeout_s = 30;
        c.quiet = 1;
        device_stats st;
        CHECK(device_run(&c, &src, &st, err, sizeof err) == 1, "%s streamed: %s", names[i], st.error);
        store *s = store_open(store_url, err, sizeof err);
        store_recording r = {0};
        CHECK(s && store_recording_find(s, "dev1", names[i], &r, err, sizeof err) == STORE_OK &&
                  !strcmp(r.encounter, stored[i]),
              "%s stored as '%s': '%s' %s", names[i], stored[i], r.encounter, err);
        store_close(s);
    }
    free(samples);
}

int main(void)
{
    net_log_set_level(NET_LOG_ERROR);
    char err[512];
    snprintf(data_dir, sizeof data_dir, "%s", check_tmpdir("retention-server"));
    snprintf(store_url, sizeof store_url, "sqlite:%s/ecgnet.db", data_dir);
    flag_table *table;
    if (flag_table_load(NULL, &table, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    harness_device(store_url, "dev1", token);
    server_config c = {0};
    c.ingest.data_dir = data_dir;
    c.ingest.workers = 2;
    c.ingest.flags = table;
    harness_server sv = harness_serve(&c);
    port = server_port(sv.sv);
    RUN(the_hello_s_encounter_is_stored_and_a_bad_one_refused);
    RUN(the_device_client_says_the_encounter);
    RUN(a_purged_recording_answers_410_and_cannot_be_resumed);
    harness_stop(&sv);
    flag_table_free(table);
    return check_report();
}
