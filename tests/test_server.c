/* test_server.c — ecgnetd end to end: devices stream over ecgnet.v1 to an in-process server. */
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <cjson/cJSON.h>

#include "beatclass.h"
#include "check.h"
#include "flags.h"
#include "log.h"
#include "net_harness.h"
#include "server.h"

static char data_dir[1024], rec_dir[1024], store_url[1200], token[STORE_TOKEN_CHARS + 1];
static flag_table *table;
static bc_model *model;
static device_source src;
static int32_t *src_samples;

typedef harness_server running;

static running start(int port, double hello_timeout_s)
{
    server_config c = {0};
    c.port = port;
    c.hello_timeout_s = hello_timeout_s;
    c.ingest.data_dir = data_dir;
    c.ingest.workers = 2;
    c.ingest.flags = table;
    c.ingest.model = model;
    return harness_serve(&c);
}

static void stop(running *r) { harness_stop(r); }

static device_config device(int port, const char *recording, char *url, size_t urllen)
{
    return harness_device_config(port, token, recording, url, urllen);
}

static store_recording stored(const char *dev, const char *recording) { return harness_stored(store_url, dev, recording); }

/* `ecgnet analyze --json` on the record file, parsed. */
static cJSON *cli_analysis(const char *record)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s/cmd/ecgnet analyze %s --json --mode continuous", ECGNET_BINARY_DIR, record);
    char *buf = NULL, err[1024];
    if (check_run("server-cli", cmd, &buf, err, sizeof err) != 0) fprintf(stderr, "%s: %s\n", cmd, err);
    cJSON *o = buf ? cJSON_Parse(buf) : NULL;
    free(buf);
    return o;
}

static void a_streamed_recording_is_stored_bit_exact_and_analysed_as_the_cli_does(void)
{
    running r = start(0, 0);
    char url[64];
    device_config c = device(server_port(r.sv), "syn12", url, sizeof url);
    device_stats st;
    int done = device_run(&c, &src, &st, NULL, 0);
    stop(&r);
    CHECK(done == 1, "the device did not finish: %s", st.error);
    CHECK(st.acked == src.nframes && st.ended_samples == src.nframes, "acked %lld, ended %lld of %lld",
          (long long)st.acked, (long long)st.ended_samples, (long long)src.nframes);
    store_recording rec = stored("dev1", "syn12");
    CHECK(!strcmp(rec.state, "complete") && rec.samples == src.nframes, "state %s, %lld samples", rec.state,
          (long long)rec.samples);
    CHECK(harness_journal_diff(rec.journal, &src) == 0, "the journal differs from what the device sent");
    CHECK(rec.archive[0] && access(rec.archive, R_OK) == 0, "no EDF+ archive at '%s'", rec.archive);

    /* The live analysis is the CLI's, to the last beat and flag. */
    char err[512], *json = NULL, path[1200];
    store *s = store_open(store_url, err, sizeof err);
    CHECK(s && store_recording_analysis(s, rec.id, &json, err, sizeof err) == STORE_OK && json, "no analysis: %s", err);
    store_close(s);
    snprintf(path, sizeof path, "%s/syn12", rec_dir);
    cJSON *live = json ? cJSON_Parse(json) : NULL, *cli = cli_analysis(path);
    CHECK(live && cli, "analysis JSON missing or unparsable");
    if (live && cli) {
        cJSON_DeleteItemFromObject(live, "record");
        cJSON_DeleteItemFromObject(cli, "record");
        cJSON_DeleteItemFromObject(live, "format");
        cJSON_DeleteItemFromObject(cli, "format");
        cJSON *beats = cJSON_GetObjectItem(live, "beats");
        CHECK(cJSON_GetArraySize(beats) == cJSON_GetObjectItem(cli, "beat_count")->valueint,
              "the stored beat list has %d beats, the CLI counts %d", cJSON_GetArraySize(beats),
              cJSON_GetObjectItem(cli, "beat_count")->valueint);
        cJSON_DeleteItemFromObject(live, "beats");
        CHECK(cJSON_Compare(live, cli, 1), "the live analysis differs from `ecgnet analyze`");
        CHECK(cJSON_GetObjectItem(cli, "beat_count")->valueint > 50, "too few beats: the record is not an ECG?");
    }
    cJSON_Delete(live);
    cJSON_Delete(cli);
    free(json);
}

static void a_device_that_keeps_losing_its_connection_resumes_without_loss_or_duplicates(void)
{
    running r = start(0, 0);
    char url[64];
    device_config c = device(server_port(r.sv), "flaky", url, sizeof url);
    c.speed = 40;              /* 60 s of signal in 1.5 s */
    c.drop_every_s = 0.3;
    device_stats st;
    int done = device_run(&c, &src, &st, NULL, 0);
    stop(&r);
    CHECK(done == 1, "the device did not finish: %s", st.error);
    CHECK(st.reconnects >= 2, "only %d reconnects: the test did not exercise resuming", st.reconnects);
    store_recording rec = stored("dev1", "flaky");
    CHECK(harness_journal_diff(rec.journal, &src) == 0, "the resumed journal is not bit-exact");
    CHECK(rec.samples == src.nframes, "%lld samples stored", (long long)rec.samples);
}

static void many_devices_stream_at_once_each_into_its_own_recording(void)
{
    running r = start(0, 0);
    char url[64];
    device_config c = device(server_port(r.sv), "crowd", url, sizeof url);
    c.ndevices = 24;
    c.speed = 20;
    device_stats st[24];
    int done = device_run(&c, &src, st, NULL, 0);
    stop(&r);
    CHECK(done == 24, "%d of 24 devices finished", done);
    for (int i = 0; i < 24; i += 7) {
        char name[32];
        snprintf(name, sizeof name, "crowd-%d", i);
        store_recording rec = stored("dev1", name);
        CHECK(harness_journal_diff(rec.journal, &src) == 0, "%s: journal not bit-exact", name);
    }
}

static void devices_resume_after_the_server_restarts_and_lose_nothing(void)
{
    int port = harness_free_port();
    running r = start(port, 0);
    char url[64];
    device_config c = device(port, "restart", url, sizeof url);
    c.ndevices = 4;
    c.speed = 15; /* 4 s of streaming */
    device_stats st[4];
    harness_streaming s = {&c, &src, st, 0};
    pthread_t t;
    pthread_create(&t, NULL, harness_stream_thread, &s);
    usleep(1500 * 1000);
    stop(&r);            /* devices are cut off mid-stream... */
    usleep(300 * 1000);
    r = start(port, 0);  /* ...and find the server back on the same port */
    pthread_join(t, NULL);
    stop(&r);
    CHECK(s.done == 4, "%d of 4 devices finished", s.done);
    int reconnects = 0;
    for (int i = 0; i < 4; i++) {
        reconnects += st[i].reconnects;
        char name[32];
        snprintf(name, sizeof name, "restart-%d", i);
        store_recording rec = stored("dev1", name);
        CHECK(harness_journal_diff(rec.journal, &src) == 0, "%s: journal not bit-exact after the restart", name);
        CHECK(!strcmp(rec.state, "complete"), "%s: state %s", name, rec.state);
    }
    CHECK(reconnects >= 4, "only %d reconnects: the restart did not cut the streams", reconnects);
}

/* ---- bad input: each gets its close code, and the server carries on ---- */

static char hello_ok[1024];

static void make_hello(char *out, size_t len, const char *dev, const char *tok, const char *recording, double fs)
{
    snprintf(out, len,
             "{\"type\":\"hello\",\"device\":\"%s\",\"token\":\"%s\",\"recording\":\"%s\",\"fs\":%g,"
             "\"sample_type\":\"int16\",\"leads\":[{\"name\":\"I\",\"uv_per_unit\":1},{\"name\":\"II\",\"uv_per_unit\":1}]}",
             dev, tok, recording, fs);
}

/* A 2-lead int16 frame of N samples from FIRST (zeros). */
static size_t frame(uint8_t *buf, int64_t first, size_t n)
{
    int32_t z[2 * 64] = {0};
    return proto_frame_build(buf, first, z, n, 2, 2, 0, 0, 0);
}

static int expect_close(int port, const script_msg *msgs, int n, char *texts, size_t tlen)
{
    script s = {msgs, n, 0, 0, 0, "", 0, 0, 0};
    int code = script_run(port, &s, 10);
    if (texts) snprintf(texts, tlen, "%s", s.texts);
    return code;
}

static void bad_input_gets_a_clear_close_code_and_harms_no_other_stream(void)
{
    running r = start(0, 0.5);
    int port = server_port(r.sv);
    char h[1024], texts[4096];
    uint8_t f1[64], f2[64], f3[64];
    size_t n1 = frame(f1, 0, 10), n2 = frame(f2, 10, 10), n3 = frame(f3, 5, 10);

    make_hello(h, sizeof h, "dev1", "not-the-token", "bad1", 500);
    script_msg wrong_token[] = {{0, h, strlen(h), 0, 0}};
    CHECK(expect_close(port, wrong_token, 1, texts, sizeof texts) == PROTO_CLOSE_AUTH, "wrong token: %s", texts);
    CHECK(strstr(texts, "unknown device or wrong token"), "the error message says why: '%s'", texts);

    make_hello(h, sizeof h, "nosuchdevice", token, "bad1", 500);
    script_msg unknown_device[] = {{0, h, strlen(h), 0, 0}};
    CHECK(expect_close(port, unknown_device, 1, NULL, 0) == PROTO_CLOSE_AUTH, "unknown device");

    char revoked_token[STORE_TOKEN_CHARS + 1], err[512];
    harness_device(store_url, "gone", revoked_token);
    store *st = store_open(store_url, err, sizeof err);
    store_device_revoke(st, "gone", err, sizeof err);
    store_close(st);
    make_hello(h, sizeof h, "gone", revoked_token, "bad1", 500);
    script_msg revoked[] = {{0, h, strlen(h), 0, 0}};
    CHECK(expect_close(port, revoked, 1, texts, sizeof texts) == PROTO_CLOSE_REVOKED, "revoked: %s", texts);

    script_msg not_json[] = {{0, "{hello", 6, 0, 0}};
    CHECK(expect_close(port, not_json, 1, NULL, 0) == PROTO_CLOSE_MALFORMED, "not JSON");

    make_hello(h, sizeof h, "dev1", token, "bad2", 5000);
    script_msg too_fast[] = {{0, h, strlen(h), 0, 0}};
    CHECK(expect_close(port, too_fast, 1, texts, sizeof texts) == PROTO_CLOSE_LIMITS, "5 kHz: %s", texts);

    script_msg early[] = {{1, f1, n1, 0, 0}};
    CHECK(expect_close(port, early, 1, NULL, 0) == PROTO_CLOSE_ORDER, "samples before hello");

    script_msg silent[] = {{0, "", 0, 0, 1}}; /* waits for a welcome that never comes */
    CHECK(expect_close(port, silent, 1, NULL, 0) == PROTO_CLOSE_TIMEOUT, "no hello");

    make_hello(hello_ok, sizeof hello_ok, "dev1", token, "bad3", 500);
    script_msg short_frame[] = {{0, hello_ok, strlen(hello_ok), 0, 0}, {1, f1, n1 - 1, 0, 1}};
    CHECK(expect_close(port, short_frame, 2, texts, sizeof texts) == PROTO_CLOSE_MALFORMED, "short frame: %s", texts);

    /* bad3 stays resumable; a resume that changes the signal's description is refused. */
    make_hello(h, sizeof h, "dev1", token, "bad3", 250);
    script_msg changed[] = {{0, h, strlen(h), 0, 0}};
    CHECK(expect_close(port, changed, 1, texts, sizeof texts) == PROTO_CLOSE_MALFORMED, "changed resume: %s", texts);
    CHECK(strstr(texts, "different patient, sample rate"), "the refusal says why: '%s'", texts);
    /* Nor may a resume bring another patient: that would mix two patients' ECGs. */
    char other[1200];
    snprintf(other, sizeof other, "%.*s,\"patient\":{\"id\":\"P-OTHER\"}}", (int)strlen(hello_ok) - 1, hello_ok);
    script_msg other_patient[] = {{0, other, strlen(other), 0, 0}};
    CHECK(expect_close(port, other_patient, 1, texts, sizeof texts) == PROTO_CLOSE_MALFORMED, "other patient: %s", texts);

    size_t big_len = PROTO_MAX_FRAME_BYTES + 1;
    uint8_t *big = calloc(1, big_len);
    big[0] = 1;
    script_msg oversized[] = {{0, hello_ok, strlen(hello_ok), 0, 0}, {1, big, big_len, 0, 1}};
    CHECK(expect_close(port, oversized, 2, NULL, 0) == PROTO_CLOSE_TOO_BIG, "oversized frame");
    free(big);

    script_msg backwards[] = {{0, hello_ok, strlen(hello_ok), 0, 0}, {1, f1, n1, 0, 1}, {1, f2, n2, 0, 1}, {1, f3, n3, 0, 1}};
    CHECK(expect_close(port, backwards, 4, texts, sizeof texts) == PROTO_CLOSE_BACKWARDS, "backwards: %s", texts);

    const char *dance = "{\"type\":\"dance\"}";
    script_msg unknown[] = {{0, hello_ok, strlen(hello_ok), 0, 0}, {0, dance, strlen(dance), 0, 1}};
    CHECK(expect_close(port, unknown, 2, NULL, 0) == PROTO_CLOSE_UNKNOWN_TYPE, "unknown type");

    script_msg twice[] = {{0, hello_ok, strlen(hello_ok), 0, 0}, {0, hello_ok, strlen(hello_ok), 0, 1}};
    CHECK(expect_close(port, twice, 2, NULL, 0) == PROTO_CLOSE_ORDER, "second hello");

    /* A device that vanishes in the middle of a frame: nothing of that frame is stored. */
    make_hello(h, sizeof h, "dev1", token, "cut", 500);
    script_msg cut[] = {{0, h, strlen(h), 0, 0}, {1, f1, n1, 0, 1}, {1, f2, 8, 1, 1}};
    expect_close(port, cut, 3, NULL, 0);
    usleep(200 * 1000);

    /* The server is unharmed: a real device streams, health and metrics answer. */
    char url[64];
    device_config c = device(port, "after-bad", url, sizeof url);
    device_stats ds;
    CHECK(device_run(&c, &src, &ds, NULL, 0) == 1, "a good device after the bad ones: %s", ds.error);
    char *health = harness_http_get(port, "/healthz", NULL), *metrics = harness_http_get(port, "/metrics", NULL);
    CHECK(health && strstr(health, "200 OK") && strstr(health, "ok"), "healthz: %s", health ? health : "(none)");
    CHECK(metrics && strstr(metrics, "ecgnet_frames_rejected_total") && strstr(metrics, "ecgnet_pipeline_latency_seconds_bucket"),
          "metrics: %.200s", metrics ? metrics : "(none)");
    long long rejected = -1;
    const char *m = metrics ? strstr(metrics, "\necgnet_frames_rejected_total ") : NULL;
    if (m) rejected = atoll(m + strlen("\necgnet_frames_rejected_total "));
    CHECK(rejected >= 9, "frames_rejected_total %lld", rejected);
    long long auth = -1;
    m = metrics ? strstr(metrics, "\necgnet_auth_failures_total ") : NULL;
    if (m) auth = atoll(m + strlen("\necgnet_auth_failures_total "));
    CHECK(auth == 3, "auth_failures_total %lld (wrong token, unknown device, revoked)", auth);
    free(health);
    free(metrics);
    stop(&r);
    store_recording cutrec = stored("dev1", "cut");
    CHECK(harness_journal_diff(cutrec.journal, &(device_source){.nleads = 2, .nframes = 10, .samples = (int32_t[20]){0}}) == 0,
          "the cut recording holds exactly the 10 samples of its one whole frame");
}

static void a_client_that_never_reads_is_still_stored_and_slows_nobody_else(void)
{
    running r = start(0, 0);
    int port = server_port(r.sv);
    enum { FRAMES = 600 };
    static uint8_t frames[FRAMES][64];
    static script_msg msgs[FRAMES + 1];
    char h[1024];
    make_hello(h, sizeof h, "dev1", token, "deaf", 500);
    msgs[0] = (script_msg){0, h, strlen(h), 0, 0};
    for (int i = 0; i < FRAMES; i++) {
        size_t n = frame(frames[i], (int64_t)i * 10, 10);
        msgs[i + 1] = (script_msg){1, frames[i], n, 0, 1};
    }
    script deaf = {msgs, FRAMES + 1, 0, 0, 0, "", 0, 0, 1};
    /* The deaf client sends everything, never reading an ack, then gives up waiting. */
    script_run(port, &deaf, 3);
    char url[64];
    device_config c = device(port, "beside-deaf", url, sizeof url);
    device_stats st;
    CHECK(device_run(&c, &src, &st, NULL, 0) == 1, "a device beside the deaf one: %s", st.error);
    stop(&r);
    CHECK(deaf.next == FRAMES + 1, "the deaf client sent %d of %d messages", deaf.next, FRAMES + 1);
    int32_t zeros[2 * 10 * FRAMES] = {0};
    device_source got = {.nleads = 2, .nframes = 10 * FRAMES, .samples = zeros};
    CHECK(harness_journal_diff(stored("dev1", "deaf").journal, &got) == 0,
          "the deaf client's samples were not all stored");
}

static void a_device_sending_faster_than_its_rate_limit_is_slowed_not_cut_off(void)
{
    server_config c = {0};
    c.ingest.data_dir = data_dir;
    c.ingest.rate_limit = 4; /* four times real time */
    running r = harness_serve(&c);
    char url[64];
    device_config d = device(server_port(r.sv), "hurried", url, sizeof url);
    d.speed = 0; /* as fast as it may */
    device_stats st;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int done = device_run(&d, &src, &st, NULL, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    stop(&r);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    double least = (double)src.nframes / src.fs / 4 - 1; /* the bucket starts with one second */
    CHECK(done == 1 && st.reconnects == 0, "the device was cut off: %s", st.error);
    CHECK(took >= least, "60 s of signal went through in %.1f s; at 4x it takes at least %.1f s", took, least);
}

static void a_full_disk_refuses_samples_clearly_and_loses_nothing_acknowledged(void)
{
    /* A fresh data directory, small files: then a file-size limit plays the full disk. */
    char dir[1100], url_store[1200], tok[STORE_TOKEN_CHARS + 1];
    snprintf(dir, sizeof dir, "%s", check_tmpdir("server-full"));
    snprintf(url_store, sizeof url_store, "sqlite:%s/ecgnet.db", dir);
    harness_device(url_store, "dev1", tok);
    server_config c = {0};
    c.ingest.data_dir = dir;
    running r = harness_serve(&c);
    char url[64];
    device_config d = device(server_port(r.sv), "full", url, sizeof url);
    d.token = tok;
    d.speed = 30;
    device_stats st;
    harness_streaming sm = {&d, &src, &st, 0};
    struct rlimit old, small;
    getrlimit(RLIMIT_FSIZE, &old);
    small = old;
    small.rlim_cur = 400 * 1024; /* the journal outgrows it after ~33 s of signal */
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &small);
    pthread_t t;
    pthread_create(&t, NULL, harness_stream_thread, &sm);
    usleep(2500 * 1000);
    setrlimit(RLIMIT_FSIZE, &old); /* the operator frees some space */
    pthread_join(t, NULL);
    char *metrics = harness_http_get(server_port(r.sv), "/metrics", NULL);
    stop(&r);
    CHECK(sm.done == 1, "the device did not finish after space came back: %s", st.error);
    CHECK(st.reconnects >= 1, "the full disk never refused the device");
    const char *m = metrics ? strstr(metrics, "\necgnet_storage_errors_total ") : NULL;
    CHECK(m && atoll(m + strlen("\necgnet_storage_errors_total ")) >= 1, "storage errors not counted");
    free(metrics);
    char journal[1300];
    snprintf(journal, sizeof journal, "%s/journal/dev1/full.ej", dir);
    CHECK(harness_journal_diff(journal, &src) == 0, "the journal is not bit-exact after the full disk");
}

int main(void)
{
    net_log_set_level(NET_LOG_ERROR);
    char err[512];
    snprintf(data_dir, sizeof data_dir, "%s", check_tmpdir("server-data"));
    snprintf(rec_dir, sizeof rec_dir, "%s", check_tmpdir("server-records"));
    snprintf(store_url, sizeof store_url, "sqlite:%s/ecgnet.db", data_dir);
    if (flag_table_load(NULL, &table, err, sizeof err) || bc_model_load(NULL, &model, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    harness_record(rec_dir, "syn12", 12, 500, 60, &src, &src_samples);
    harness_device(store_url, "dev1", token);
    RUN(a_streamed_recording_is_stored_bit_exact_and_analysed_as_the_cli_does);
    RUN(a_device_that_keeps_losing_its_connection_resumes_without_loss_or_duplicates);
    RUN(many_devices_stream_at_once_each_into_its_own_recording);
    RUN(devices_resume_after_the_server_restarts_and_lose_nothing);
    RUN(bad_input_gets_a_clear_close_code_and_harms_no_other_stream);
    RUN(a_client_that_never_reads_is_still_stored_and_slows_nobody_else);
    RUN(a_device_sending_faster_than_its_rate_limit_is_slowed_not_cut_off);
    RUN(a_full_disk_refuses_samples_clearly_and_loses_nothing_acknowledged);
    free(src_samples);
    flag_table_free(table);
    bc_model_free(model);
    return check_report();
}
