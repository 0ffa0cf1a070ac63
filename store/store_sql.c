/* store_sql.c — the store's statement interface (store_sql.h): SQLite directly, PostgreSQL through
 * store_pg.c. */
#include "store_impl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* PostgreSQL's type OIDs (catalog/pg_type.h is a server header; these numbers are fixed). */
enum { OID_BYTEA = 17, OID_INT8 = 20, OID_TEXT = 25, OID_FLOAT8 = 701 };

int store_sql_is_pg(const store *s)
{
    return s->pg != NULL;
}

int store_db_prepare(store *s, const char *sql, store_stmt **st, char *err, size_t errlen)
{
    *st = NULL;
    if (s->pg) return store_pg_prepare(s, sql, st, err, errlen);
    store_stmt *p = calloc(1, sizeof *p);
    if (!p) return store_db_err(err, errlen, STORE_ERR, "%s: preparing a statement: out of memory", s->path);
    p->s = s;
    if (sqlite3_prepare_v2(s->db, sql, -1, &p->lite, NULL) != SQLITE_OK) {
        free(p);
        return store_db_fail(s, "preparing a statement", err, errlen);
    }
    *st = p;
    return STORE_OK;
}

void store_sql_bind_int64(store_stmt *st, int i, int64_t v)
{
    if (st->lite) {
        sqlite3_bind_int64(st->lite, i, v);
    } else if (i >= 1 && i <= STORE_SQL_MAX_PARAMS) {
        snprintf(st->num[i - 1], sizeof st->num[i - 1], "%" PRId64, v);
        store_pg_bind(st, i, st->num[i - 1], 0, OID_INT8, 0);
    }
}

void store_sql_bind_double(store_stmt *st, int i, double v)
{
    if (st->lite) {
        sqlite3_bind_double(st->lite, i, v);
    } else if (i >= 1 && i <= STORE_SQL_MAX_PARAMS) {
        snprintf(st->num[i - 1], sizeof st->num[i - 1], "%.17g", v);
        store_pg_bind(st, i, st->num[i - 1], 0, OID_FLOAT8, 0);
    }
}

void store_sql_bind_text(store_stmt *st, int i, const char *v)
{
    /* A NULL text is still typed text: PostgreSQL cannot infer a type for "?2 IS NULL". */
    if (st->lite) sqlite3_bind_text(st->lite, i, v, -1, SQLITE_STATIC);
    else store_pg_bind(st, i, v, 0, OID_TEXT, 0);
}

void store_sql_bind_blob(store_stmt *st, int i, const void *p, size_t n)
{
    if (st->lite) sqlite3_bind_blob(st->lite, i, p, (int)n, SQLITE_STATIC);
    else store_pg_bind(st, i, p, (int)n, OID_BYTEA, 1);
}

void store_sql_bind_null(store_stmt *st, int i)
{
    if (st->lite) sqlite3_bind_null(st->lite, i);
    else store_pg_bind(st, i, NULL, 0, 0, 0);
}

int store_sql_param_count(const store_stmt *st)
{
    return st->lite ? sqlite3_bind_parameter_count(st->lite) : st->nparams;
}

int store_sql_step(store_stmt *st)
{
    if (!st->lite) return store_pg_step(st);
    int rc = sqlite3_step(st->lite);
    if (rc == SQLITE_ROW) return STORE_SQL_ROW;
    if (rc == SQLITE_DONE) {
        st->s->changes = sqlite3_changes(st->s->db);
        return STORE_SQL_DONE;
    }
    return STORE_SQL_ERROR;
}

const char *store_sql_text(store_stmt *st, int col)
{
    if (st->lite) return (const char *)sqlite3_column_text(st->lite, col);
    int isnull;
    const char *v = store_pg_value(st, col, &isnull);
    return isnull ? NULL : v;
}

int store_sql_is_null(store_stmt *st, int col)
{
    if (st->lite) return sqlite3_column_type(st->lite, col) == SQLITE_NULL;
    int isnull;
    store_pg_value(st, col, &isnull);
    return isnull;
}

int64_t store_sql_int64(store_stmt *st, int col)
{
    if (st->lite) return sqlite3_column_int64(st->lite, col);
    const char *v = store_sql_text(st, col);
    /* A truth value selected without CASE reads as PostgreSQL's boolean text, "t" or "f". */
    return !v ? 0 : *v == 't' ? 1 : strtoll(v, NULL, 10);
}

int store_sql_int(store_stmt *st, int col)
{
    return (int)store_sql_int64(st, col);
}

double store_sql_double(store_stmt *st, int col)
{
    if (st->lite) return sqlite3_column_double(st->lite, col);
    const char *v = store_sql_text(st, col);
    return v ? strtod(v, NULL) : 0.0;
}

const void *store_sql_blob(store_stmt *st, int col, size_t *n)
{
    if (!st->lite) return store_pg_blob(st, col, n);
    const void *p = sqlite3_column_blob(st->lite, col);
    *n = p ? (size_t)sqlite3_column_bytes(st->lite, col) : 0;
    return p;
}

void store_sql_finalize(store_stmt *st)
{
    if (!st) return;
    if (st->lite) {
        sqlite3_finalize(st->lite);
        free(st);
    } else {
        store_pg_finalize(st);
    }
}

int64_t store_sql_changes(const store *s)
{
    return s->changes;
}

const char *store_sql_errmsg(const store *s)
{
    return s->pg ? store_pg_errmsg(s) : sqlite3_errmsg(s->db);
}
