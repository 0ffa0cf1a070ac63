/* cmd_store.c — what the commands that manage ecgnetd's data share: opening its store, times, usage errors. */
#include "cmd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

store *cmd_store_open(const char *name, const char *data, const char *url, int create)
{
    char path[4096], err[1024];
    if (!url) {
        if (!data) data = CMD_DEFAULT_DATA_DIR;
        struct stat sb;
        if (create && mkdir(data, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "%s: cannot create the data directory %s: %s\n", name, data, strerror(errno));
            return NULL;
        }
        if (!create && stat(data, &sb) != 0 && errno == ENOENT) {
            fprintf(stderr, "%s: the data directory %s does not exist (give --data DIR or --store URL)\n", name,
                    data);
            return NULL;
        }
        if (snprintf(path, sizeof path, "%s/ecgnet.db", data) >= (int)sizeof path) {
            fprintf(stderr, "%s: the data directory's path is too long\n", name);
            return NULL;
        }
        url = path;
    }
    store *s = store_open(url, err, sizeof err);
    if (!s) fprintf(stderr, "%s: %s\n", name, err);
    return s;
}

const char *cmd_format_ms(int64_t ms, const char *none, char *buf, size_t len)
{
    if (!ms) return none;
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(buf, len, "%lld ms", (long long)ms);
    return buf;
}

int cmd_usage_error(const char *name, const char *help, const char *msg, const char *arg)
{
    fprintf(stderr, "%s: %s%s%s%s\n\n%s", name, msg, arg ? " '" : "", arg ? arg : "", arg ? "'" : "", help);
    return CMD_EUSAGE;
}
