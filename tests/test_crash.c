/* test_crash.c — kill -9 of ecgnetd in the middle of 20 streams loses no acknowledged sample. */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "check.h"
#include "log.h"
#include "net_harness.h"

static char data_dir[1024], rec_dir[1024], store_url[1200], token[STORE_TOKEN_CHARS + 1];
static device_source src;
static int32_t *src_samples;

/* Starts the real daemon binary on PORT and waits until it accepts connections. */
static pid_t daemon_start(int port)
{
    char portstr[16], log[1200];
    snprintf(portstr, sizeof portstr, "%d", port);
    snprintf(log, sizeof log, "%s/ecgnetd.log", data_dir);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *f = freopen(log, "a", stderr);
        (void)f;
        char bin[1200];
        snprintf(bin, sizeof bin, "%s/cmd/ecgnetd", ECGNET_BINARY_DIR);
        execl(bin, bin, "--port", portstr, "--data", data_dir, "--workers", "2", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        char *h = harness_http_get(port, "/healthz", NULL);
        int up = h && strstr(h, "200 OK");
        free(h);
        if (up) return pid;
        usleep(50 * 1000);
    }
    fprintf(stderr, "ecgnetd did not come up (see %s)\n", log);
    kill(pid, SIGKILL);
    exit(2);
}

static void sigkill_mid_stream_then_restart_leaves_every_recording_complete_and_bit_exact(void)
{
    enum { N = 20 };
    int port = harness_free_port();
    pid_t pid = daemon_start(port);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d", port);
    device_config c = {0};
    c.url = url;
    c.device = "dev1";
    c.token = token;
    c.recording = "crash";
    c.ndevices = N;
    c.speed = 10; /* 60 s of signal in 6 s per device */
    c.mode = PROTO_MODE_CONTINUOUS;
    c.timeout_s = 120;
    c.quiet = 1;
    device_stats st[N];
    harness_streaming s = {&c, &src, st, 0};
    pthread_t t;
    pthread_create(&t, NULL, harness_stream_thread, &s);
    usleep(2500 * 1000);
    int64_t acked_before[N];
    for (int i = 0; i < N; i++) acked_before[i] = st[i].acked; /* read racily: a lower bound */
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the daemon was not killed by SIGKILL");
    usleep(500 * 1000);
    pid = daemon_start(port);
    pthread_join(t, NULL);
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the daemon did not stop cleanly on SIGTERM");

    CHECK(s.done == N, "%d of %d devices finished", s.done, N);
    int reconnects = 0, midway = 0;
    for (int i = 0; i < N; i++) {
        reconnects += st[i].reconnects;
        midway += acked_before[i] > 0 && acked_before[i] < src.nframes;
        char name[32];
        snprintf(name, sizeof name, "crash-%d", i);
        char err[512];
        store_recording rec = {0};
        store *db = store_open(store_url, err, sizeof err);
        CHECK(db && store_recording_find(db, "dev1", name, &rec, err, sizeof err) == STORE_OK, "%s: %s", name, err);
        store_close(db);
        CHECK(!strcmp(rec.state, "complete"), "%s: state '%s'", name, rec.state);
        CHECK(harness_journal_diff(rec.journal, &src) == 0, "%s: journal not bit-exact after kill -9", name);
    }
    CHECK(reconnects >= N, "only %d reconnects: the kill did not cut the streams", reconnects);
    CHECK(midway >= N / 2, "only %d streams were midway when killed", midway);
}

/* Runs the daemon with ARGS (a shell word list), returns its exit status and its stderr in out. */
static int daemon_exit(const char *args, char *out, size_t outlen)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s/cmd/ecgnetd %s 2>&1", ECGNET_BINARY_DIR, args);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, outlen - 1, p) : 0;
    out[n] = 0;
    int st = p ? pclose(p) : -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void the_daemon_explains_bad_configuration_and_exits_non_zero(void)
{
    char out[4096], args[2400], conf[1200];
    CHECK(daemon_exit("--help", out, sizeof out) == 0 && strstr(out, "--config FILE"), "--help: %s", out);
    CHECK(daemon_exit("--frobnicate 1", out, sizeof out) == 2 && strstr(out, "unknown setting 'frobnicate'"),
          "unknown flag: %s", out);
    snprintf(conf, sizeof conf, "%s/bad.conf", data_dir);
    FILE *f = fopen(conf, "w");
    fputs("# a comment\nport = 8080\nworkers = many\n", f);
    fclose(f);
    snprintf(args, sizeof args, "--config %s", conf);
    CHECK(daemon_exit(args, out, sizeof out) == 2 && strstr(out, "bad.conf:3") && strstr(out, "workers"),
          "bad config line: %s", out);
    CHECK(daemon_exit("--listen 0.0.0.0 --port 0 --data /tmp/ecgnet-never-created", out, sizeof out) == 1 &&
              strstr(out, "refusing plain ws://"),
          "plain on a public address: %s", out);
    int port = harness_free_port();
    pid_t pid = daemon_start(port);
    snprintf(args, sizeof args, "--port %d --data %s/second", port, data_dir);
    CHECK(daemon_exit(args, out, sizeof out) == 1 && strstr(out, "cannot listen"), "port in use: %s", out);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

int main(void)
{
    net_log_set_level(NET_LOG_ERROR);
    signal(SIGPIPE, SIG_IGN);
    snprintf(data_dir, sizeof data_dir, "%s", check_tmpdir("crash-data"));
    snprintf(rec_dir, sizeof rec_dir, "%s", check_tmpdir("crash-records"));
    snprintf(store_url, sizeof store_url, "sqlite:%s/ecgnet.db", data_dir);
    harness_record(rec_dir, "syn2", 2, 360, 60, &src, &src_samples);
    harness_device(store_url, "dev1", token);
    RUN(sigkill_mid_stream_then_restart_leaves_every_recording_complete_and_bit_exact);
    RUN(the_daemon_explains_bad_configuration_and_exits_non_zero);
    free(src_samples);
    return check_report();
}
