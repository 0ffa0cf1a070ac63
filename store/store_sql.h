/* store_sql.h — private to store/: one statement interface over the two back ends, SQLite (the
 * embedded default, store_sqlite.c) and PostgreSQL through libpq (store_pg.c).
 *
 * The store's files write their SQL once, in the dialect both back ends accept: parameters are
 * numbered (?1, ?2, ...; PostgreSQL receives them as $1, $2, ...), truth values are selected as
 * integers (CASE WHEN ... THEN 1 ELSE 0 END), new ids are read with RETURNING, upserts are
 * ON CONFLICT ... DO NOTHING. Where the dialects must differ (the schema, row locks), the caller
 * asks store_sql_is_pg and picks one of two constant strings: no SQL is ever built from data.
 *
 * Every function here is called with the store's mutex held. A statement is used by one caller
 * from prepare to finalize; values bound as text or blob are NOT copied and must stay valid until
 * the statement's first store_sql_step (as with SQLITE_STATIC). Column values returned by pointer
 * stay valid until the next step or the finalize.
 */
#ifndef ECGNET_STORE_STORE_SQL_H
#define ECGNET_STORE_STORE_SQL_H

#include <stddef.h>
#include <stdint.h>

typedef struct store store;
typedef struct store_stmt store_stmt;

enum { STORE_SQL_ERROR = -1, STORE_SQL_DONE = 0, STORE_SQL_ROW = 1 };

#define STORE_SQL_MAX_PARAMS 64 /* the highest ?N a statement may use */

/* Prepares one statement of constant SQL into *ST: STORE_OK, or STORE_ERR with "<store>:
 * preparing a statement: <the database's message>" (*ST then NULL). PostgreSQL checks the SQL
 * only when the statement first runs, so its errors come from store_sql_step. */
int store_db_prepare(store *s, const char *sql, store_stmt **st, char *err, size_t errlen);

/* Binding parameter I (1-based; unbound parameters are NULL). */
void store_sql_bind_int64(store_stmt *st, int i, int64_t v);
void store_sql_bind_double(store_stmt *st, int i, double v);
void store_sql_bind_text(store_stmt *st, int i, const char *v); /* NULL binds a NULL text */
void store_sql_bind_blob(store_stmt *st, int i, const void *p, size_t n);
void store_sql_bind_null(store_stmt *st, int i);

/* The highest parameter number the statement's SQL uses. */
int store_sql_param_count(const store_stmt *st);

/* Runs the statement or moves to its next row: STORE_SQL_ROW (a row to read), STORE_SQL_DONE
 * (finished; store_sql_changes then holds its count of changed rows), STORE_SQL_ERROR (the
 * message is store_sql_errmsg's). */
int store_sql_step(store_stmt *st);

/* Column COL (0-based) of the current row. NULL reads as 0, 0.0, NULL. */
int64_t store_sql_int64(store_stmt *st, int col);
int store_sql_int(store_stmt *st, int col);
double store_sql_double(store_stmt *st, int col);
const char *store_sql_text(store_stmt *st, int col);
int store_sql_is_null(store_stmt *st, int col);
/* The blob's bytes and *N, or NULL (and *N 0) for NULL or out of memory. */
const void *store_sql_blob(store_stmt *st, int col, size_t *n);

/* Frees the statement. NULL is allowed. */
void store_sql_finalize(store_stmt *st);

/* Rows inserted, changed or deleted by the last statement that finished on S. */
int64_t store_sql_changes(const store *s);

/* The database's message about the last error on S (never NULL). */
const char *store_sql_errmsg(const store *s);

/* 1 when S is a PostgreSQL store. */
int store_sql_is_pg(const store *s);

/* ---- The back ends (called by store.c and store_sql.c only) ------------------------------- */

/* Opens S->path (SQLite) or URL (PostgreSQL) into S: sets the connection up (SQLite: WAL,
 * synchronous=FULL, foreign keys, busy timeout; PostgreSQL: UTF-8, UTC, synchronous commit).
 * STORE_OK, or STORE_ERR with the reason in err. */
int store_sqlite_open(store *s, char *err, size_t errlen);
int store_pg_open(store *s, const char *url, char *err, size_t errlen);
void store_sqlite_close(store *s);
void store_pg_close(store *s);

/* Runs SQL (one or more statements, results ignored): STORE_OK or STORE_ERR. */
int store_sqlite_exec(store *s, const char *sql, char *err, size_t errlen);
/* Rolls back the open transaction, if any (errors ignored: it is the cleanup path). */
void store_sqlite_rollback(store *s);

/* PostgreSQL halves of the interface above (store_sql.c dispatches to them). */
int store_pg_prepare(store *s, const char *sql, store_stmt **st, char *err, size_t errlen);
int store_pg_step(store_stmt *st);
void store_pg_bind(store_stmt *st, int i, const char *v, int len, unsigned oid, int binary);
const char *store_pg_value(store_stmt *st, int col, int *isnull);
const void *store_pg_blob(store_stmt *st, int col, size_t *n);
void store_pg_finalize(store_stmt *st);
int store_pg_exec(store *s, const char *sql, char *err, size_t errlen);
const char *store_pg_errmsg(const store *s);
void store_pg_rollback(store *s);

#endif
