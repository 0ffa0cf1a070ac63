/* cmd_device.c — `ecgnet device`: register, list and revoke the devices allowed to send ECGs. */
#include "cmd.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: ecgnet device add ID --site SITE [--data DIR] [--store URL]\n"
    "       ecgnet device list [--data DIR] [--store URL]\n"
    "       ecgnet device revoke ID [--data DIR] [--store URL]\n"
    "\n"
    "Manages the devices allowed to send ECGs to ecgnetd. A device has an id, belongs to a site\n"
    "(the township hospital or village clinic where it records: the review queue's access control\n"
    "rests on it) and authenticates with its own token.\n"
    "\n"
    "  add ID --site SITE  registers a device: ID is 1..64 characters of A-Z a-z 0-9 . _ -, SITE\n"
    "                      1..64 bytes of UTF-8 text (a new site is created). Prints the device's\n"
    "                      token ONCE: configure it on the device now, it is stored only as a hash\n"
    "                      and cannot be shown again. Ids are never reused, also after revoke.\n"
    "  list                prints every device: id, created, last seen (last successful\n"
    "                      connection), revoked, site; times are local\n"
    "  revoke ID           refuses the device's token from its next connection on; its recordings\n"
    "                      stay. A lost or leaked token: revoke the device, add it under a new id.\n"
    "  --data DIR          the daemon's data directory (default ./ecgnet-data); the store is\n"
    "                      DIR/ecgnet.db. add creates DIR (mode 0700) when it is missing\n"
    "  --store URL         the store instead: sqlite:PATH or a plain path\n"
    "\n"
    "Safe to run while ecgnetd uses the same store.\n"
    "\n"
    "exit codes: 0 success (also revoking a device already revoked); 1 the store could not be\n"
    "opened or changed (the message says why: e.g. the id exists already, or no such device);\n"
    "2 bad command line or an invalid id or site.\n";

static int usage_error(const char *msg, const char *arg)
{
    return cmd_usage_error("ecgnet device", help, msg, arg);
}

static int add(store *s, const char *id, const char *site)
{
    char token[STORE_TOKEN_CHARS + 1], err[1024];
    int rc = store_device_add(s, id, site, token, err, sizeof err);
    if (rc != STORE_OK) {
        fprintf(stderr, "ecgnet device add: %s\n", err);
        return rc == STORE_EINVAL ? CMD_EUSAGE : CMD_EINPUT;
    }
    printf("added device %s at site %s\n"
           "token: %s\n"
           "\n"
           "Configure this token on the device now: it cannot be shown again (the store keeps only\n"
           "its hash). If it is lost, revoke the device and add it under a new id.\n",
           id, site, token);
    memset(token, 0, sizeof token);
    return CMD_OK;
}

static int list(store *s)
{
    char err[1024];
    store_device *d;
    size_t n;
    if (store_device_list(s, &d, &n, err, sizeof err) != STORE_OK) {
        fprintf(stderr, "ecgnet device list: %s\n", err);
        return CMD_EINPUT;
    }
    if (!n) {
        printf("no devices in %s yet: add one with `ecgnet device add ID --site SITE`\n", store_path(s));
        return CMD_OK;
    }
    int w = 2;
    for (size_t i = 0; i < n; i++)
        if ((int)strlen(d[i].id) > w) w = (int)strlen(d[i].id);
    /* The site comes last: its UTF-8 (often Chinese) would break the alignment of any column after it. */
    printf("%-*s  %-19s  %-19s  %-19s  %s\n", w, "ID", "CREATED", "LAST SEEN", "REVOKED", "SITE");
    for (size_t i = 0; i < n; i++) {
        char c[64], l[64], r[64];
        printf("%-*s  %-19s  %-19s  %-19s  %s\n", w, d[i].id, cmd_format_ms(d[i].created_ms, "-", c, sizeof c),
               cmd_format_ms(d[i].last_seen_ms, "never", l, sizeof l), cmd_format_ms(d[i].revoked_ms, "-", r, sizeof r),
               d[i].site);
    }
    free(d);
    return CMD_OK;
}

static int revoke(store *s, const char *id)
{
    char err[1024];
    int rc = store_device_revoke(s, id, err, sizeof err);
    if (rc == STORE_EREVOKED) {
        printf("device %s was already revoked\n", id);
        return CMD_OK;
    }
    if (rc != STORE_OK) {
        fprintf(stderr, "ecgnet device revoke: %s\n", err);
        return rc == STORE_EINVAL ? CMD_EUSAGE : CMD_EINPUT;
    }
    printf("revoked device %s: its token is refused from its next connection on\n", id);
    return CMD_OK;
}

int cmd_device(int argc, char **argv)
{
    const char *sub = NULL, *id = NULL, *site = NULL, *data = NULL, *url = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(help, stdout);
            return CMD_OK;
        } else if (!strcmp(argv[i], "--site") && i + 1 < argc) {
            site = argv[++i];
        } else if (!strcmp(argv[i], "--data") && i + 1 < argc) {
            data = argv[++i];
        } else if (!strcmp(argv[i], "--store") && i + 1 < argc) {
            url = argv[++i];
        } else if (argv[i][0] == '-' || (sub && id)) {
            return usage_error("unexpected argument", argv[i]);
        } else if (!sub) {
            sub = argv[i];
        } else {
            id = argv[i];
        }
    }
    if (!sub) return usage_error("no subcommand given (add, list or revoke)", NULL);
    int is_add = !strcmp(sub, "add"), is_list = !strcmp(sub, "list"), is_revoke = !strcmp(sub, "revoke");
    if (!is_add && !is_list && !is_revoke) return usage_error("unknown subcommand", sub);
    if ((is_add || is_revoke) && !id) return usage_error(is_add ? "add needs a device ID" : "revoke needs a device ID", NULL);
    if (is_list && id) return usage_error("list takes no device ID, got", id);
    if (is_add && !site) return usage_error("add needs --site SITE", NULL);
    if (!is_add && site) return usage_error("--site belongs to add only", NULL);
    if (data && url) return usage_error("give --data or --store, not both", NULL);

    store *s = cmd_store_open("ecgnet device", data, url, is_add);
    if (!s) return CMD_EINPUT;
    int rc = is_add ? add(s, id, site) : is_list ? list(s) : revoke(s, id);
    store_close(s);
    return rc;
}
