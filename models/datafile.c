/* datafile.c — where ecgnet's shipped data files are: environment, install prefix, source tree. */
#include "datafile.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int readable(const char *path) { return access(path, R_OK) == 0; }

int datafile_find(const char *env, const char *name, char *out, size_t outlen, char *err, size_t errlen)
{
    const char *e = env ? getenv(env) : NULL;
    if (e && *e) {
        if (readable(e)) {
            snprintf(out, outlen, "%s", e);
            return 0;
        }
        snprintf(err, errlen, "%s: cannot read the file named by $%s: %s", e, env, strerror(errno));
        return -1;
    }
    char exe[PATH_MAX], installed[PATH_MAX + 64] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        snprintf(installed, sizeof installed, "%s/../share/ecgnet/%s", exe, name);
        if (readable(installed)) {
            snprintf(out, outlen, "%s", installed);
            return 0;
        }
    }
    char source[PATH_MAX];
    snprintf(source, sizeof source, "%s/%s", ECGNET_MODELS_SOURCE_DIR, name);
    if (readable(source)) {
        snprintf(out, outlen, "%s", source);
        return 0;
    }
    snprintf(err, errlen, "%s not found: looked for $%s, %s and %s", name, env ? env : "(none)",
             installed[0] ? installed : "<exe dir>/../share/ecgnet", source);
    return -1;
}

char *datafile_read(const char *path, size_t max_bytes, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0) goto io;
    long size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) goto io;
    if ((size_t)size > max_bytes) {
        snprintf(err, errlen, "%s: %ld bytes, more than the %zu a file of this kind may have", path, size, max_bytes);
        goto fail;
    }
    buf = malloc((size_t)size + 1);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) goto io;
    buf[size] = '\0';
    fclose(f);
    return buf;
io:
    snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
fail:
    free(buf);
    fclose(f);
    return NULL;
}
