/* store_harness.h — shared by the store tests: scratch databases, SQL behind the store's back,
 * the clock, and running the `ecgnet` CLI. Include after check.h.
 */
#ifndef ECGNET_TESTS_STORE_HARNESS_H
#define ECGNET_TESTS_STORE_HARNESS_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#include "store.h"

static char errbuf[1024];

/* A fresh database in its own scratch directory; returns its path (static). */
static inline const char *fresh_db(const char *name)
{
    static char path[1200];
    snprintf(path, sizeof path, "%s/ecgnet.db", check_tmpdir(name));
    return path;
}

static inline store *open_ok(const char *path)
{
    store *s = store_open(path, errbuf, sizeof errbuf);
    CHECK(s != NULL, "store_open %s: %s", path, errbuf);
    if (!s) exit(1); /* every later check would crash on NULL */
    return s;
}

/* Runs SQL on the file directly, behind the store's back (to fake a newer schema, tamper);
 * returns SQLite's code. */
static inline int raw_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static inline int64_t raw_count(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int64_t n = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}

static inline int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs a shell command; returns its exit code, its stdout in OUT (caller frees; may be NULL)
 * and its stderr in ERR. SCRATCH names the test's scratch directory for the stderr file. */
static inline int run_in(const char *scratch, const char *cmd, char **out, char *err, size_t errlen)
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
