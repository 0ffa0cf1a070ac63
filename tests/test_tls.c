/* test_tls.c — ecgnetd over TLS (wss://), and the refusals of unsafe or broken TLS set-ups.
 *
 * Its own test binary because libwebsockets 4.1 with OpenSSL 3 leaves TLS allocations behind at
 * context destruction: ctest runs this one with LeakSanitizer suppressions for libssl, libcrypto
 * and libwebsockets (tests/lsan_tls.supp), every other test without.
 */
#include <pthread.h>

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

static device_config device(int port, const char *recording, char *url, size_t urllen)
{
    return harness_device_config(port, token, recording, url, urllen);
}

static void tls_serves_wss_and_plain_is_refused_off_the_loopback(void)
{
    char dir[1100], cert[1200], key[1200], cmd[4000], err[512];
    snprintf(dir, sizeof dir, "%s", check_tmpdir("tls-certs"));
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s' -out '%s' -days 2 -subj /CN=localhost 2>/dev/null",
             key, cert);
    CHECK(system(cmd) == 0, "openssl could not make a test certificate");

    server_config c = {0};
    c.ingest.data_dir = data_dir;
    c.listen = "0.0.0.0";
    server *refused = server_create(&c, err, sizeof err);
    CHECK(!refused && strstr(err, "refusing plain ws://") && strstr(err, "TLS"), "plain off loopback: '%s'", err);
    server_free(refused);
    c.tls_cert = cert;
    c.tls_key = "/nonexistent/key.pem";
    refused = server_create(&c, err, sizeof err);
    CHECK(!refused && strstr(err, "TLS"), "unreadable key: '%s'", err);
    server_free(refused);

    c.listen = NULL;
    c.tls_key = key;
    c.ingest.flags = table;
    c.ingest.model = model;
    running r = harness_serve(&c);
    char url[64];
    device_config d = device(server_port(r.sv), "secure", url, sizeof url);
    snprintf(url, sizeof url, "wss://127.0.0.1:%d", server_port(r.sv));
    d.insecure = 1; /* the test's self-signed certificate */
    device_stats st;
    int done = device_run(&d, &src, &st, NULL, 0);
    harness_stop(&r);
    CHECK(done == 1, "wss:// streaming failed: %s", st.error);
    store_recording rec = harness_stored(store_url, "dev1", "secure");
    CHECK(harness_journal_diff(rec.journal, &src) == 0, "the journal of the TLS stream is not bit-exact");
}

int main(void)
{
    net_log_set_level(NET_LOG_ERROR);
    char err[512];
    snprintf(data_dir, sizeof data_dir, "%s", check_tmpdir("tls-data"));
    snprintf(rec_dir, sizeof rec_dir, "%s", check_tmpdir("tls-records"));
    snprintf(store_url, sizeof store_url, "sqlite:%s/ecgnet.db", data_dir);
    if (flag_table_load(NULL, &table, err, sizeof err) || bc_model_load(NULL, &model, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    harness_record(rec_dir, "syn2", 2, 360, 30, &src, &src_samples);
    harness_device(store_url, "dev1", token);
    RUN(tls_serves_wss_and_plain_is_refused_off_the_loopback);
    free(src_samples);
    flag_table_free(table);
    bc_model_free(model);
    return check_report();
}
