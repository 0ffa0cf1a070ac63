/* check.h — the tests' assertion macros and data-path helper; each test file is a specification. */
#ifndef ECGNET_TESTS_CHECK_H
#define ECGNET_TESTS_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#endif
