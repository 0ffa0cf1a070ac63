/* store_harness.h — shared by the store tests: scratch databases, SQL behind the store's back,
 * the clock, and running the `ecgnet` CLI. Include after check.h.
 */
#ifndef ECGNET_TESTS_STORE_HARNESS_H
#define ECGNET_TESTS_STORE_HARNESS_H

#include <ctype.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

static char errbuf[1024];

/* The store's tests run on SQLite, and again on PostgreSQL when ECGNET_TEST_STORE=pg (ctest's
 * *_pg tests): then ECGNET_TEST_PG_URL (scripts/pg.sh prints it) names a database of a role that
 * may create databases, and every fresh_db is a new database beside it. */
static inline int harness_pg(void)
{
    const char *m = getenv("ECGNET_TEST_STORE");
    return m && !strcmp(m, "pg");
}

/* PostgreSQL: (re)creates database ecgnet_t_<NAME> and returns its URL (static). */
static inline const char *fresh_pg(const char *name)
{
    static char url[1200];
    const char *base = getenv("ECGNET_TEST_PG_URL");
    if (!base || !strchr(base + 13, '/')) {
        fprintf(stderr, "ECGNET_TEST_STORE=pg needs ECGNET_TEST_PG_URL=postgresql://user:password@host:port/db "
                        "(scripts/test.sh starts a local server; by hand: eval \"$(scripts/pg.sh)\")\n");
        exit(1);
    }
    char db[80] = "ecgnet_t_";
    for (size_t i = strlen(db); *name && i < sizeof db - 1; name++)
        db[i++] = isalnum((unsigned char)*name) ? (char)tolower((unsigned char)*name) : '_';
    PGconn *c = PQconnectdb(base);
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    PQclear(PQexec(c, sql));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "%s: cannot create a scratch database: %s", base, PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
    PQfinish(c);
    const char *slash = strrchr(base, '/');
    snprintf(url, sizeof url, "%.*s/%s", (int)(slash - base), base, db);
    return url;
}

/* A fresh database: on SQLite in its own scratch directory; returns its path or URL (static). */
static inline const char *fresh_db(const char *name)
{
    static char path[1200];
    if (harness_pg()) return fresh_pg(name);
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

static inline int is_pg_url(const char *path)
{
    return !strncmp(path, "postgresql://", 13);
}

/* Runs SQL on the database directly, behind the store's back (to fake a newer schema, tamper);
 * returns SQLite's code — on PostgreSQL SQLITE_OK, SQLITE_CONSTRAINT for a constraint or a
 * trigger's refusal (SQLSTATE class 23, P0001), else SQLITE_ERROR. */
static inline int raw_sql(const char *path, const char *sql)
{
    if (is_pg_url(path)) {
        PGconn *c = PQconnectdb(path);
        PGresult *r = PQexec(c, sql);
        ExecStatusType st = PQresultStatus(r);
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? SQLITE_OK
                 : state && (!strncmp(state, "23", 2) || !strcmp(state, "P0001")) ? SQLITE_CONSTRAINT
                                                                                    : SQLITE_ERROR;
        PQclear(r);
        PQfinish(c);
        return rc;
    }
    sqlite3 *db;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

/* The first column of SQL's first row as a number; -1 when there is none or on an error. */
static inline int64_t raw_count(const char *path, const char *sql)
{
    int64_t n = -1;
    if (is_pg_url(path)) {
        PGconn *c = PQconnectdb(path);
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
            n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        PQfinish(c);
        return n;
    }
    sqlite3 *db;
    sqlite3_stmt *st;
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


#endif
