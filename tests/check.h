/* check.h — the tests' assertion macros and data-path helper; each test file is a specification. */
#ifndef ECGNET_TESTS_CHECK_H
#define ECGNET_TESTS_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static int check_failures;
static int check_count;

#define CHECK(cond, ...)                                                                  \
    do {                                                                                  \
        check_count++;                                                                    \
        if (!(cond)) {                                                                    \
            check_failures++;                                                             \
            fprintf(stderr, "%s:%d: FAILED: %s: ", __FILE__, __LINE__, #cond);            \
            fprintf(stderr, __VA_ARGS__);                                                 \
            fputc('\n', stderr);                                                          \
        }                                                                                 \
    } while (0)

#define CHECK_NEAR(a, b, tol, what)                                                       \
    CHECK(fabs((double)(a) - (double)(b)) <= (tol), "%s: %.9g vs %.9g (tolerance %.3g)",  \
          (what), (double)(a), (double)(b), (double)(tol))

/* Runs one named case; cases are plain static void functions. */
#define RUN(fn)                                                                           \
    do {                                                                                  \
        int before_ = check_failures;                                                     \
        fn();                                                                             \
        fprintf(stderr, "%-60s %s\n", #fn, check_failures == before_ ? "ok" : "FAILED");  \
    } while (0)

/* Ends main: prints the count and returns the exit status ctest reads. */
static inline int check_report(void)
{
    fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures);
    return check_failures ? 1 : 0;
}

/* The reference databases' directory: $ECGNET_DATA, else the path CMake configured
 * (../shared/ecgdata beside the project). Tests that need it fail (never skip) without it. */
static inline const char *check_data_dir(void)
{
    const char *d = getenv("ECGNET_DATA");
    return (d && *d) ? d : ECGNET_DEFAULT_DATA;
}

/* Writes "<data dir>/<rel>" into buf and returns buf. */
static inline const char *check_data_path(char *buf, size_t len, const char *rel)
{
    snprintf(buf, len, "%s/%s", check_data_dir(), rel);
    return buf;
}

/* A fresh scratch directory under the build tree for files a test writes. */
static inline const char *check_tmpdir(const char *name)
{
    static char path[1024];
    /* A test run again on another store back end (ctest's *_pg) runs beside the first: its own
     * directories, or the two would clear each other's. */
    const char *variant = getenv("ECGNET_TEST_STORE");
    snprintf(path, sizeof path, "%s/test-tmp/%s%s%s", ECGNET_BINARY_DIR, name, variant ? "-" : "",
             variant ? variant : "");
    char cmd[2 * sizeof path + 64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", path, path);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot create %s\n", path);
        exit(2);
    }
    return path;
}

/* Runs a shell command; returns its exit code, its stdout in OUT (caller frees; may be NULL)
 * and its stderr in ERR. SCRATCH names the test's scratch directory for the stderr file. */
static inline int check_run(const char *scratch, const char *cmd, char **out, char *err, size_t errlen)
{
    static char errfile[1100];
    char full[4096];
    if (!errfile[0]) snprintf(errfile, sizeof errfile, "%s/stderr.txt", check_tmpdir(scratch));
    snprintf(full, sizeof full, "%s 2>'%s'", cmd, errfile);
    FILE *p = popen(full, "r");
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (size_t n; p && (n = fread(buf + len, 1, cap - len - 1, p)) > 0;) {
        len += n;
        if (cap - len < 4096) buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    int status = p ? pclose(p) : -1;
    FILE *e = fopen(errfile, "r");
    size_t elen = e ? fread(err, 1, errlen - 1, e) : 0;
    err[elen] = '\0';
    if (e) fclose(e);
    if (out) *out = buf;
    else free(buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#endif
