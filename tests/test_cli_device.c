/* test_cli_device.c — `ecgnet device add/list/revoke` as an operator meets it: the token shown
 * once and accepted by the store, the table, revocation, exit codes and messages. */
#include "check.h"
#include "store_harness.h"
#include "store.h"

#include <sys/stat.h>
#include <sys/wait.h>

#define ECGNET ECGNET_BINARY_DIR "/cmd/ecgnet"

/* `ecgnet ...` as a shell command: exit code, stdout (caller frees), stderr (store_harness.h). */
static int run(const char *cmd, char **out, char *err, size_t errlen)
{
    return check_run("cli-device-run", cmd, out, err, errlen);
}

/* The token from add's output ("token: X"), or "" (static). */
static const char *token_of(const char *out)
{
    static char token[STORE_TOKEN_CHARS + 1];
    const char *t = strstr(out, "token: ");
    token[0] = '\0';
    if (t && sscanf(t + 7, "%43s", token) != 1) token[0] = '\0';
    return token;
}

static void add_prints_a_working_token_once_and_list_shows_the_device(void)
{
    const char *base = check_tmpdir("cli-device");
    char data[1200], cmd[3000], err[4096], *out, path[1300], site[65];
    snprintf(data, sizeof data, "%s/ecgnet-data", base);

    snprintf(cmd, sizeof cmd, "%s device add clinic-07 --site '马庄乡卫生院' --data '%s'", ECGNET, data);
    int rc = run(cmd, &out, err, sizeof err);
    CHECK(rc == 0, "add exit %d: %s", rc, err);
    char token[STORE_TOKEN_CHARS + 1];
    snprintf(token, sizeof token, "%s", token_of(out));
    CHECK(strlen(token) == STORE_TOKEN_CHARS, "a 43-character token is printed: %s", out);
    CHECK(strstr(out, "cannot be shown again") && strstr(out, "now"), "tells the operator to configure it now: %s", out);
    free(out);
    struct stat sb;
    CHECK(stat(data, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0700,
          "the data directory is created with mode 0700");

    /* The printed token is the one the store accepts (what ecgnetd will check). */
    snprintf(path, sizeof path, "%s/ecgnet.db", data);
    store *s = store_open(path, err, sizeof err);
    CHECK(s != NULL, "open %s: %s", path, err);
    if (s) {
        CHECK(store_device_auth(s, "clinic-07", token, site, err, sizeof err) == STORE_OK &&
              !strcmp(site, "马庄乡卫生院"), "the printed token authenticates: %s", err);
        store_close(s);
    }

    snprintf(cmd, sizeof cmd, "%s device add ah-02 --site county --data '%s'", ECGNET, data);
    CHECK(run(cmd, &out, err, sizeof err) == 0, "second add: %s", err);
    CHECK(strcmp(token_of(out), token) != 0, "another token");
    free(out);

    snprintf(cmd, sizeof cmd, "%s device list --data '%s'", ECGNET, data);
    CHECK(run(cmd, &out, err, sizeof err) == 0, "list: %s", err);
    CHECK(strstr(out, "ID") && strstr(out, "SITE") && strstr(out, "LAST SEEN") && strstr(out, "REVOKED"),
          "a table with headings: %s", out);
    const char *a = strstr(out, "ah-02"), *c = strstr(out, "clinic-07");
    CHECK(a && c && a < c, "both devices, sorted: %s", out);
    CHECK(c && strstr(c, "马庄乡卫生院"), "with the site: %s", out);
    CHECK(!strstr(out, token), "list never shows a token");
    free(out);

    snprintf(cmd, sizeof cmd, "%s device add clinic-07 --site elsewhere --data '%s'", ECGNET, data);
    rc = run(cmd, &out, err, sizeof err);
    CHECK(rc == 1 && strstr(err, "clinic-07") && strstr(err, "already exists"), "duplicate: exit %d: %s", rc, err);
    CHECK(!strstr(out, "token"), "no token for a refused add: %s", out);
    free(out);

    snprintf(cmd, sizeof cmd, "%s device revoke clinic-07 --data '%s'", ECGNET, data);
    CHECK(run(cmd, &out, err, sizeof err) == 0 && strstr(out, "revoked"), "revoke: %s", err);
    free(out);
    CHECK(run(cmd, &out, err, sizeof err) == 0 && strstr(out, "already revoked"), "revoke again: %s", out);
    free(out);
    s = store_open(path, err, sizeof err);
    if (s) {
        CHECK(store_device_auth(s, "clinic-07", token, site, err, sizeof err) == STORE_EREVOKED, "token refused");
        store_close(s);
    }
    snprintf(cmd, sizeof cmd, "%s device list --data '%s'", ECGNET, data);
    CHECK(run(cmd, &out, err, sizeof err) == 0, "list: %s", err);
    /* clinic-07: created, last seen (the auth above) and revoked are dates; ah-02 never connected. */
    char f[8][128] = {{0}};
    c = strstr(out, "clinic-07");
    int nf = c ? sscanf(c, "%127s %127s %127s %127s %127s %127s %127s %127s", f[0], f[1], f[2], f[3], f[4], f[5],
                        f[6], f[7]) : 0;
    CHECK(nf == 8 && strlen(f[1]) == 10 && f[1][4] == '-' && strlen(f[3]) == 10 && f[3][4] == '-' &&
          strlen(f[5]) == 10 && f[5][4] == '-' && !strcmp(f[7], "马庄乡卫生院"),
          "clinic-07: created, last seen, revoked, site: %s", out);
    a = strstr(out, "ah-02");
    nf = a ? sscanf(a, "%127s %127s %127s %127s %127s %127s", f[0], f[1], f[2], f[3], f[4], f[5]) : 0;
    CHECK(nf == 6 && !strcmp(f[3], "never") && !strcmp(f[4], "-") && !strcmp(f[5], "county"),
          "ah-02: never seen, not revoked: %s", out);
    free(out);

    snprintf(cmd, sizeof cmd, "%s device revoke nobody --data '%s'", ECGNET, data);
    rc = run(cmd, NULL, err, sizeof err);
    CHECK(rc == 1 && strstr(err, "nobody"), "unknown device: exit %d: %s", rc, err);
}

static void store_urls_and_a_missing_data_directory(void)
{
    const char *base = check_tmpdir("cli-device-url");
    char cmd[3000], err[4096], *out;
    snprintf(cmd, sizeof cmd, "%s device add d1 --site s --store 'sqlite:%s/x.db'", ECGNET, base);
    CHECK(run(cmd, NULL, err, sizeof err) == 0, "--store sqlite:PATH: %s", err);
    snprintf(cmd, sizeof cmd, "%s device list --store '%s/x.db'", ECGNET, base);
    CHECK(run(cmd, &out, err, sizeof err) == 0 && strstr(out, "d1"), "--store PATH: %s", err);
    free(out);
    int rc = run(ECGNET " device list --store postgresql://nobody:secret@127.0.0.1:1/ecgnet", NULL, err, sizeof err);
    CHECK(rc == 1 && strstr(err, "cannot connect to PostgreSQL") && !strstr(err, "secret"),
          "an unreachable PostgreSQL server, its password not shown: exit %d: %s", rc, err);
    snprintf(cmd, sizeof cmd, "%s device list --data '%s/none'", ECGNET, base);
    rc = run(cmd, NULL, err, sizeof err);
    CHECK(rc == 1 && strstr(err, "none") && strstr(err, "does not exist"), "exit %d: %s", rc, err);
    snprintf(cmd, sizeof cmd, "%s device add d2 --site s --data '%s/no/such/dir'", ECGNET, base);
    rc = run(cmd, NULL, err, sizeof err);
    CHECK(rc == 1 && strstr(err, "no/such/dir"), "add cannot create nested directories: exit %d: %s", rc, err);
    snprintf(cmd, sizeof cmd, "%s device list --data '%s/empty'", ECGNET, base);
    char mk[1300];
    snprintf(mk, sizeof mk, "mkdir '%s/empty'", base);
    CHECK(system(mk) == 0, "mkdir");
    CHECK(run(cmd, &out, err, sizeof err) == 0 && strstr(out, "no devices"), "an empty store: %s %s", out, err);
    free(out);
}

static void bad_command_lines_exit_2(void)
{
    char err[4096], *out;
    CHECK(run(ECGNET " device --help", &out, err, sizeof err) == 0 && strstr(out, "usage:") &&
          strstr(out, "revoke") && strstr(out, "cannot be shown again"), "--help");
    free(out);
    CHECK(run(ECGNET " --help", &out, err, sizeof err) == 0 && strstr(out, "device"), "listed in ecgnet --help");
    free(out);
    struct { const char *args, *msg; } bad[] = {
        {"", "no subcommand"},
        {"frob", "unknown subcommand"},
        {"add", "needs a device ID"},
        {"add x", "--site"},
        {"revoke", "needs a device ID"},
        {"list extra", "no device ID"},
        {"list --site s", "--site"},
        {"add x --site s --bogus", "--bogus"},
        {"add x --site s --data d --store s.db", "not both"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "%s device %s", ECGNET, bad[i].args);
        int rc = run(cmd, NULL, err, sizeof err);
        CHECK(rc == 2 && strstr(err, bad[i].msg), "'%s': exit %d: %.200s", bad[i].args, rc, err);
    }
    const char *base = check_tmpdir("cli-device-bad");
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "%s device add 'bad id' --site s --data '%s/d'", ECGNET, base);
    int rc = run(cmd, NULL, err, sizeof err);
    CHECK(rc == 2 && strstr(err, "bad id") && strstr(err, "A-Z"), "invalid id: exit %d: %s", rc, err);
    snprintf(cmd, sizeof cmd, "%s device add ok --site '' --data '%s/d'", ECGNET, base);
    rc = run(cmd, NULL, err, sizeof err);
    CHECK(rc == 2 && strstr(err, "site"), "empty site: exit %d: %s", rc, err);
}

int main(void)
{
    RUN(add_prints_a_working_token_once_and_list_shows_the_device);
    RUN(store_urls_and_a_missing_data_directory);
    RUN(bad_command_lines_exit_2);
    return check_report();
}
