/* cmd_user.c — `ecgnet user`: add users of the review workflow, change passwords, disable, list. */
#include "cmd.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static const char help[] =
    "usage: ecgnet user add NAME --role ROLE [--site SITE] [--data DIR] [--store URL]\n"
    "       ecgnet user passwd NAME [--data DIR] [--store URL]\n"
    "       ecgnet user disable NAME [--data DIR] [--store URL]\n"
    "       ecgnet user list [--data DIR] [--store URL]\n"
    "\n"
    "Manages the people who use the review workflow of ecgnetd.\n"
    "\n"
    "  add NAME --role ROLE  adds a user: NAME is 1..64 characters of A-Z a-z 0-9 . _ -; ROLE is\n"
    "                        cardiologist (reads, reports and signs ECGs), clinic (sees only its\n"
    "                        site's recordings and signed reports; needs --site) or admin\n"
    "  --site SITE           a clinic user's site, as its devices were added (`ecgnet device add`)\n"
    "  passwd NAME           sets a new password; the user's sessions end\n"
    "  disable NAME          the user can no longer log in; sessions end, claims are released;\n"
    "                        reports and the audit trail keep the name (names are never reused)\n"
    "  list                  prints every user: name, role, created, disabled, site (local times)\n"
    "  --data DIR            the daemon's data directory (default ./ecgnet-data); the store is\n"
    "                        DIR/ecgnet.db. add creates DIR (mode 0700) when it is missing\n"
    "  --store URL           the store instead: sqlite:PATH or a plain path\n"
    "\n"
    "Passwords are read from stdin, never from the command line (where ps and the shell history\n"
    "would show them): typed twice without echo on a terminal, or one line from a pipe, e.g.\n"
    "  printf '%s\\n' \"$PASSWORD\" | ecgnet user add wang --role cardiologist\n"
    "A password has at least 10 characters; it is stored only as an argon2id hash.\n"
    "\n"
    "Safe to run while ecgnetd uses the same store.\n"
    "\n"
    "exit codes: 0 success (also disabling a user already disabled); 1 the store could not be\n"
    "opened or changed (the message says why: e.g. the name exists, no such user or site);\n"
    "2 bad command line, an invalid name or role, or a password that breaks the rules.\n";

static int usage_error(const char *msg, const char *arg)
{
    return cmd_usage_error("ecgnet user", help, msg, arg);
}

/* One line from F into BUF without its line end; 0 at the end of input or for a line too long. */
static int read_line(FILE *f, char *buf, size_t len)
{
    if (!fgets(buf, (int)len, f)) return 0;
    size_t n = strlen(buf);
    if (n == len - 1 && buf[n - 1] != '\n') return 0;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
    return 1;
}

/* Asks for a password on the terminal without echo; 0 if none could be read. */
static int prompt_hidden(const char *prompt, char *buf, size_t len)
{
    struct termios old, quiet;
    if (tcgetattr(STDIN_FILENO, &old) != 0) return 0;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    fputs(prompt, stderr);
    fflush(stderr);
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) return 0;
    int ok = read_line(stdin, buf, len);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stderr);
    return ok;
}

/* The new password for NAME from stdin into BUF; CMD_OK or an exit code (message printed). */
static int read_password(const char *name, char *buf, size_t len)
{
    if (isatty(STDIN_FILENO)) {
        char again[STORE_PASSWORD_MAX_BYTES + 2], prompt[128];
        snprintf(prompt, sizeof prompt, "new password for %s (at least %d characters): ", name,
                 STORE_PASSWORD_MIN_CHARS);
        if (!prompt_hidden(prompt, buf, len) || !prompt_hidden("the same again: ", again, sizeof again)) {
            fprintf(stderr, "ecgnet user: no password given\n");
            return CMD_EUSAGE;
        }
        int same = !strcmp(buf, again);
        memset(again, 0, sizeof again);
        if (!same) {
            fprintf(stderr, "ecgnet user: the two passwords differ; nothing was changed\n");
            return CMD_EUSAGE;
        }
    } else if (!read_line(stdin, buf, len)) {
        fprintf(stderr, "ecgnet user: no password on stdin (or one longer than %d bytes): pipe one line\n",
                STORE_PASSWORD_MAX_BYTES);
        return CMD_EUSAGE;
    }
    if (!buf[0]) {
        fprintf(stderr, "ecgnet user: no password given (an empty line)\n");
        return CMD_EUSAGE;
    }
    return CMD_OK;
}

static int store_exit(const char *sub, int rc, const char *err)
{
    fprintf(stderr, "ecgnet user %s: %s\n", sub, err);
    return rc == STORE_EINVAL ? CMD_EUSAGE : CMD_EINPUT;
}

static int add(store *s, const char *name, const char *role, const char *site)
{
    char password[STORE_PASSWORD_MAX_BYTES + 2], err[1024];
    int rc = read_password(name, password, sizeof password);
    if (rc != CMD_OK) return rc;
    rc = store_user_add(s, name, role, site, password, err, sizeof err);
    memset(password, 0, sizeof password);
    if (rc != STORE_OK) return store_exit("add", rc, err);
    if (site) printf("added user %s, %s at site %s\n", name, role, site);
    else printf("added user %s, %s\n", name, role);
    return CMD_OK;
}

static int passwd(store *s, const char *name)
{
    char password[STORE_PASSWORD_MAX_BYTES + 2], err[1024];
    int rc = read_password(name, password, sizeof password);
    if (rc != CMD_OK) return rc;
    rc = store_user_passwd(s, name, password, err, sizeof err);
    memset(password, 0, sizeof password);
    if (rc != STORE_OK) return store_exit("passwd", rc, err);
    printf("changed the password of %s; its sessions have ended\n", name);
    return CMD_OK;
}

static int disable(store *s, const char *name)
{
    char err[1024];
    int rc = store_user_disable(s, name, err, sizeof err);
    if (rc == STORE_EREVOKED) {
        printf("user %s was already disabled\n", name);
        return CMD_OK;
    }
    if (rc != STORE_OK) return store_exit("disable", rc, err);
    printf("disabled user %s: it can no longer log in, its claims went back to the worklist\n", name);
    return CMD_OK;
}

static int list(store *s)
{
    char err[1024];
    store_user *u;
    size_t n;
    if (store_user_list(s, &u, &n, err, sizeof err) != STORE_OK) return store_exit("list", STORE_ERR, err);
    if (!n) {
        printf("no users in %s yet: add one with `ecgnet user add NAME --role ROLE`\n", store_path(s));
        return CMD_OK;
    }
    int w = 4;
    for (size_t i = 0; i < n; i++)
        if ((int)strlen(u[i].name) > w) w = (int)strlen(u[i].name);
    /* The site comes last: its UTF-8 (often Chinese) would break the alignment of any column after it. */
    printf("%-*s  %-12s  %-19s  %-19s  %s\n", w, "NAME", "ROLE", "CREATED", "DISABLED", "SITE");
    for (size_t i = 0; i < n; i++) {
        char c[64], d[64];
        printf("%-*s  %-12s  %-19s  %-19s  %s\n", w, u[i].name, u[i].role, cmd_format_ms(u[i].created_ms, "-", c, sizeof c),
               cmd_format_ms(u[i].disabled_ms, "-", d, sizeof d), u[i].site[0] ? u[i].site : "-");
    }
    free(u);
    return CMD_OK;
}

int cmd_user(int argc, char **argv)
{
    const char *sub = NULL, *name = NULL, *role = NULL, *site = NULL, *data = NULL, *url = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(help, stdout);
            return CMD_OK;
        } else if (!strcmp(argv[i], "--password") || !strncmp(argv[i], "--password=", 11)) {
            return usage_error("passwords are never taken from the command line (ps and the shell history would "
                               "show them): pipe it on stdin instead of", "--password");
        } else if (!strcmp(argv[i], "--role") && i + 1 < argc) {
            role = argv[++i];
        } else if (!strcmp(argv[i], "--site") && i + 1 < argc) {
            site = argv[++i];
        } else if (!strcmp(argv[i], "--data") && i + 1 < argc) {
            data = argv[++i];
        } else if (!strcmp(argv[i], "--store") && i + 1 < argc) {
            url = argv[++i];
        } else if (argv[i][0] == '-' || (sub && name)) {
            return usage_error("unexpected argument", argv[i]);
        } else if (!sub) {
            sub = argv[i];
        } else {
            name = argv[i];
        }
    }
    if (!sub) return usage_error("no subcommand given (add, passwd, disable or list)", NULL);
    int is_add = !strcmp(sub, "add"), is_passwd = !strcmp(sub, "passwd"), is_disable = !strcmp(sub, "disable"),
        is_list = !strcmp(sub, "list");
    if (!is_add && !is_passwd && !is_disable && !is_list) return usage_error("unknown subcommand", sub);
    if (!is_list && !name) return usage_error(is_add ? "add needs a user NAME" : "this subcommand needs a user NAME", NULL);
    if (is_list && name) return usage_error("list takes no user NAME, got", name);
    if (!is_add && (role || site)) return usage_error(role ? "--role belongs to add only" : "--site belongs to add only", NULL);
    if (is_add && !role) return usage_error("add needs --role ROLE (cardiologist, clinic or admin)", NULL);
    if (is_add && strcmp(role, "cardiologist") && strcmp(role, "clinic") && strcmp(role, "admin"))
        return usage_error("unknown role (cardiologist, clinic or admin):", role);
    if (is_add && !strcmp(role, "clinic") && !site) return usage_error("a clinic user needs --site SITE", NULL);
    if (is_add && strcmp(role, "clinic") && site) return usage_error("only clinic users have a --site", NULL);
    if (data && url) return usage_error("give --data or --store, not both", NULL);

    store *s = cmd_store_open("ecgnet user", data, url, is_add);
    if (!s) return CMD_EINPUT;
    int rc = is_add ? add(s, name, role, site) : is_passwd ? passwd(s, name) : is_disable ? disable(s, name) : list(s);
    store_close(s);
    return rc;
}
