/* ecgnetd.c — the ecgnet daemon: configuration (file and flags), signals, and the server's life. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "beatclass.h"
#include "flags.h"
#include "log.h"
#include "server.h"

static const char usage[] =
    "usage: ecgnetd [--config FILE] [--listen ADDR] [--port N] [--data DIR] [--store URL]\n"
    "               [--tls-cert PEM --tls-key PEM] [--plain] [--workers N] [--log-level LEVEL]\n"
    "               [--claim-timeout-min M] [--critical-ack-min M]\n"
    "\n"
    "Receives live ECG from devices (protocol ecgnet.v1, docs/protocol.md), stores every recording\n"
    "durably, analyses it and queues flagged recordings for review. With no options it listens on\n"
    "127.0.0.1:8080 (plain WebSocket, loopback only) and keeps its data in ./ecgnet-data.\n"
    "\n"
    "  --config FILE     key = value lines (keys as the long options below, with '_' for '-',\n"
    "                    plus max_buffered_mb, rate_limit, idle_timeout_s, hello_timeout_s,\n"
    "                    diagnostic, mains_hz, flag_table, beat_model); flags override the file\n"
    "  --listen ADDR     address to bind (default 127.0.0.1)\n"
    "  --port N          port (default 8080; 0 picks a free one and logs it)\n"
    "  --data DIR        journals, archives and the SQLite store (default ./ecgnet-data)\n"
    "  --store URL       sqlite:PATH (default DIR/ecgnet.db), or postgresql://USER:PASSWORD@HOST/DB\n"
    "                    for several servers sharing one queue\n"
    "  --tls-cert PEM, --tls-key PEM   serve wss:// and https:// (required off loopback unless --plain)\n"
    "  --plain           allow plain ws:// off loopback: only on a trusted network\n"
    "  --workers N       journal and analysis threads (default 16 per core: most of their time\n"
    "                    is spent waiting for the disk to confirm a write)\n"
    "  --log-level L     debug, info (default), warn or error\n"
    "  --claim-timeout-min M   how long a cardiologist's claim on a recording lasts (default 15)\n"
    "  --critical-ack-min M    how long a clinic has to acknowledge a critical value before it is\n"
    "                    shown again to every cardiologist and logged (default 15)\n"
    "\n"
    "Devices are registered with `ecgnet device add ID --site SITE --data DIR`.\n"
    "SIGTERM or SIGINT stop it cleanly; a kill -9 loses no acknowledged sample.\n";

/* The one server, for the signal handler. */
static server *running;

static void on_signal(int sig)
{
    (void)sig;
    if (running) server_stop(running);
}

typedef struct {
    char listen[256], data[4096], store[4200], tls_cert[4096], tls_key[4096], flag_table[4096], beat_model[4096];
    int port, plain, workers, diagnostic;
    double max_buffered_mb, rate_limit, idle_timeout_s, hello_timeout_s, mains_hz, claim_timeout_min,
        critical_ack_min;
    net_log_level level;
} config;

static int parse_level(const char *v, net_log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(v, names[i])) {
            *out = (net_log_level)i;
            return 0;
        }
    return -1;
}

static int number(const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !(x >= lo && x <= hi)) return -1;
    *out = x;
    return 0;
}

/* Applies KEY = VALUE; returns 0, or -1 with a message in err. */
static int set(config *c, const char *key, const char *v, char *err, size_t errlen)
{
    double x;
#define STR(name, field)                                                             \
    if (!strcmp(key, name)) {                                                        \
        if (strlen(v) >= sizeof c->field) goto too_long;                             \
        strcpy(c->field, v);                                                         \
        return 0;                                                                    \
    }
#define NUM(name, lo, hi, assign)                                                    \
    if (!strcmp(key, name)) {                                                        \
        if (number(v, lo, hi, &x)) goto bad_number;                                  \
        assign;                                                                      \
        return 0;                                                                    \
    }
    STR("listen", listen)
    STR("data", data)
    STR("store", store)
    STR("tls_cert", tls_cert)
    STR("tls_key", tls_key)
    STR("flag_table", flag_table)
    STR("beat_model", beat_model)
    NUM("port", 0, 65535, c->port = (int)x)
    NUM("plain", 0, 1, c->plain = (int)x)
    NUM("workers", 0, 256, c->workers = (int)x)
    NUM("diagnostic", 0, 1, c->diagnostic = (int)x)
    NUM("max_buffered_mb", 0.0625, 4096, c->max_buffered_mb = x)
    NUM("rate_limit", 1, 1000, c->rate_limit = x)
    NUM("idle_timeout_s", 1, 30 * 86400, c->idle_timeout_s = x)
    NUM("hello_timeout_s", 0.1, 3600, c->hello_timeout_s = x)
    NUM("mains_hz", 50, 60, c->mains_hz = x)
    NUM("claim_timeout_min", 0.01, 24 * 60, c->claim_timeout_min = x)
    NUM("critical_ack_min", 0.01, 24 * 60, c->critical_ack_min = x)
    if (!strcmp(key, "log_level")) {
        if (parse_level(v, &c->level)) {
            snprintf(err, errlen, "log_level must be debug, info, warn or error, not '%s'", v);
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen, "unknown setting '%s'", key);
    return -1;
too_long:
    snprintf(err, errlen, "%s: value too long", key);
    return -1;
bad_number:
    snprintf(err, errlen, "%s: '%s' is not a number in the allowed range", key, v);
    return -1;
#undef STR
#undef NUM
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) *--e = 0;
    return s;
}

static int read_config(config *c, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "ecgnetd: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[8192], err[512];
    int n = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        n++;
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            fprintf(stderr, "ecgnetd: %s:%d: expected 'key = value'\n", path, n);
            rc = -1;
            break;
        }
        *eq = 0;
        char *key = trim(s), *value = trim(eq + 1);
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
            value[vl - 1] = 0;
            value++;
        }
        if (!strcmp(value, "true")) value = "1";
        if (!strcmp(value, "false")) value = "0";
        if (set(c, key, value, err, sizeof err)) {
            fprintf(stderr, "ecgnetd: %s:%d: %s\n", path, n, err);
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

/* Many devices mean many sockets: use the hard limit on open files. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    config c = {0};
    snprintf(c.data, sizeof c.data, "ecgnet-data");
    c.port = 8080;
    c.level = NET_LOG_INFO;
    /* The file first, so that flags override it wherever they stand. */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--config") && i + 1 < argc && read_config(&c, argv[i + 1])) return 2;
    char err[512];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--plain")) {
            c.plain = 1;
            continue;
        }
        if (strncmp(a, "--", 2) || i + 1 >= argc) {
            fprintf(stderr, "ecgnetd: unknown or incomplete option '%s'\n\n%s", a, usage);
            return 2;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--config")) continue;
        char key[64];
        snprintf(key, sizeof key, "%s", a + 2);
        for (char *p = key; *p; p++)
            if (*p == '-') *p = '_';
        if (set(&c, key, v, err, sizeof err)) {
            fprintf(stderr, "ecgnetd: --%s: %s\n\n%s", a + 2, err, usage);
            return 2;
        }
    }
    net_log_set_level(c.level);
    raise_fd_limit();
    signal(SIGPIPE, SIG_IGN);

    flag_table *table = NULL;
    bc_model *model = NULL;
    server *sv = NULL;
    int rc = 1;
    if (flag_table_load(c.flag_table[0] ? c.flag_table : NULL, &table, err, sizeof err)) goto fail;
    if (bc_model_load(c.beat_model[0] ? c.beat_model : NULL, &model, err, sizeof err)) goto fail;
    server_config sc = {0};
    sc.listen = c.listen;
    sc.port = c.port;
    sc.tls_cert = c.tls_cert[0] ? c.tls_cert : NULL;
    sc.tls_key = c.tls_key[0] ? c.tls_key : NULL;
    sc.plain = c.plain;
    sc.store_url = c.store[0] ? c.store : NULL;
    sc.hello_timeout_s = c.hello_timeout_s;
    sc.claim_timeout_s = c.claim_timeout_min * 60;
    sc.critical_ack_s = c.critical_ack_min * 60;
    sc.ingest.data_dir = c.data;
    sc.ingest.workers = c.workers;
    sc.ingest.max_buffered = (size_t)(c.max_buffered_mb * 1048576.0);
    sc.ingest.rate_limit = c.rate_limit;
    sc.ingest.idle_timeout_s = c.idle_timeout_s;
    sc.ingest.flags = table;
    sc.ingest.model = model;
    sc.ingest.diagnostic = c.diagnostic;
    sc.ingest.mains_hz = c.mains_hz;
    if (!(sv = server_create(&sc, err, sizeof err))) goto fail;
    running = sv;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    rc = server_run(sv) ? 1 : 0;
    net_log(NET_LOG_INFO, "stopping", "reason=signal");
    running = NULL;
    server_free(sv);
    flag_table_free(table);
    bc_model_free(model);
    net_log(NET_LOG_INFO, "stopped", "clean=yes");
    return rc;
fail:
    fprintf(stderr, "ecgnetd: %s\n", err);
    flag_table_free(table);
    bc_model_free(model);
    return rc;
}
