/* store_pg.c — the store's PostgreSQL back end through libpq: connecting, and statements run with
 * PQexecParams (parameters out of band, never spliced into the SQL). */
#include "store_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keeps the connection's last error (one line) for store_sql_errmsg. */
static void keep_error(store *s, const char *msg)
{
    snprintf(s->pg_error, sizeof s->pg_error, "%s", msg && *msg ? msg : "unknown PostgreSQL error");
    size_t n = strlen(s->pg_error);
    while (n && (s->pg_error[n - 1] == '\n' || s->pg_error[n - 1] == ' ')) s->pg_error[--n] = 0;
    for (char *c = s->pg_error; *c; c++)
        if (*c == '\n' || *c == '\t') *c = ' ';
}

/* The URL as shown in messages: its password, if any, replaced by "***". */
static void redact(const char *url, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", url);
    char *scheme = strstr(out, "://");
    if (!scheme) return;
    char *auth = scheme + 3, *at = strchr(auth, '@'), *colon = strchr(auth, ':');
    if (at && colon && colon < at) {
        char tail[4096];
        snprintf(tail, sizeof tail, "%s", at);
        snprintf(colon, outlen - (size_t)(colon - out), ":***%s", tail);
    }
    char *pw = strstr(out, "password=");
    if (pw) {
        char *end = strchr(pw, '&'), tail[4096] = "";
        if (end) snprintf(tail, sizeof tail, "%s", end);
        snprintf(pw, outlen - (size_t)(pw - out), "password=***%s", tail);
    }
}

/* Notices (e.g. "relation already exists, skipping") are not errors: not printed. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

int store_pg_open(store *s, const char *url, char *err, size_t errlen)
{
    redact(url, s->path, sizeof s->path);
    s->pg = PQconnectdb(url);
    if (!s->pg) return store_db_err(err, errlen, STORE_ERR, "%s: cannot connect: out of memory", s->path);
    if (PQstatus(s->pg) != CONNECTION_OK) {
        keep_error(s, PQerrorMessage(s->pg));
        store_db_err(err, errlen, STORE_ERR, "%s: cannot connect to PostgreSQL: %s", s->path, s->pg_error);
        goto fail;
    }
    PQsetNoticeProcessor(s->pg, quiet, NULL);
    /* Text is UTF-8 and times are Unix milliseconds, whatever the server's defaults; a commit
     * returns only once it is durable (acknowledged data must survive a power cut). */
    if (store_pg_exec(s,
                      "SET client_encoding = 'UTF8'; SET TimeZone = 'UTC'; SET synchronous_commit = on; "
                      "SET default_transaction_isolation = 'read committed'",
                      err, errlen))
        goto fail;
    return STORE_OK;
fail:
    PQfinish(s->pg);
    s->pg = NULL;
    return STORE_ERR;
}

void store_pg_close(store *s)
{
    if (s->pg) PQfinish(s->pg);
    s->pg = NULL;
}

/* Copies SQL into P->sql with each ?N outside quotes as $N, noting which N appear. */
static int translate(store_stmt *p, const char *sql)
{
    size_t n = strlen(sql);
    p->sql = malloc(n + 1);
    if (!p->sql) return -1;
    char quote = 0, *o = p->sql;
    for (const char *c = sql; *c; c++) {
        if (quote) {
            if (*c == quote) quote = 0;
        } else if (*c == '\'' || *c == '"') {
            quote = *c;
        } else if (*c == '?' && c[1] >= '0' && c[1] <= '9') {
            char *end;
            long k = strtol(c + 1, &end, 10);
            if (k < 1 || k > STORE_SQL_MAX_PARAMS) return -2;
            p->used[k] = 1;
            if (k > p->nparams) p->nparams = (int)k;
            *o++ = '$';
            continue; /* the digits follow as they are */
        }
        *o++ = *c;
    }
    *o = 0;
    return 0;
}

int store_pg_prepare(store *s, const char *sql, store_stmt **st, char *err, size_t errlen)
{
    store_stmt *p = calloc(1, sizeof *p);
    if (!p) return store_db_err(err, errlen, STORE_ERR, "%s: preparing a statement: out of memory", s->path);
    p->s = s;
    p->row = -1;
    int rc = translate(p, sql);
    if (rc) {
        free(p->sql);
        free(p);
        return store_db_err(err, errlen, STORE_ERR, "%s: preparing a statement: %s", s->path,
                            rc == -1 ? "out of memory" : "a parameter number is out of range");
    }
    *st = p;
    return STORE_OK;
}

void store_pg_bind(store_stmt *st, int i, const char *v, int len, unsigned oid, int binary)
{
    if (i < 1 || i > STORE_SQL_MAX_PARAMS) return;
    st->values[i - 1] = v;
    st->lengths[i - 1] = len;
    st->types[i - 1] = oid;
    st->binary[i - 1] = binary;
}

/* Runs the statement. A parameter that is bound, or that the SQL uses, goes with its type (0:
 * the server infers it, as for a bound NULL); one the SQL never mentions (e.g. the review's ?50
 * when a statement has no time in it) is sent as a typed NULL, since PostgreSQL refuses a
 * parameter whose type it cannot determine. */
static int run(store_stmt *st)
{
    store *s = st->s;
    Oid types[STORE_SQL_MAX_PARAMS];
    for (int i = 0; i < st->nparams; i++) types[i] = st->types[i] || st->used[i + 1] ? st->types[i] : 25;
    st->res = PQexecParams(s->pg, st->sql, st->nparams, types, st->values, st->lengths, st->binary, 0);
    ExecStatusType status = st->res ? PQresultStatus(st->res) : PGRES_FATAL_ERROR;
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
        st->nrows = status == PGRES_TUPLES_OK ? PQntuples(st->res) : 0;
        return 0;
    }
    keep_error(s, st->res ? PQresultErrorMessage(st->res) : PQerrorMessage(s->pg));
    /* A lost connection is re-made for the next call; this one fails (its transaction is gone). */
    if (PQstatus(s->pg) == CONNECTION_BAD) PQreset(s->pg);
    return -1;
}

int store_pg_step(store_stmt *st)
{
    if (!st->res && run(st)) return STORE_SQL_ERROR;
    if (++st->row < st->nrows) return STORE_SQL_ROW;
    const char *n = PQcmdTuples(st->res);
    st->s->changes = n && *n ? strtoll(n, NULL, 10) : 0;
    return STORE_SQL_DONE;
}

const char *store_pg_value(store_stmt *st, int col, int *isnull)
{
    *isnull = 1;
    if (!st->res || st->row < 0 || st->row >= st->nrows || col < 0 || col >= PQnfields(st->res)) return NULL;
    if (PQgetisnull(st->res, st->row, col)) return NULL;
    *isnull = 0;
    return PQgetvalue(st->res, st->row, col);
}

const void *store_pg_blob(store_stmt *st, int col, size_t *n)
{
    int isnull;
    const char *v = store_pg_value(st, col, &isnull);
    *n = 0;
    if (st->blob) PQfreemem(st->blob);
    st->blob = isnull ? NULL : PQunescapeBytea((const unsigned char *)v, n);
    return st->blob;
}

void store_pg_finalize(store_stmt *st)
{
    if (st->blob) PQfreemem(st->blob);
    PQclear(st->res);
    free(st->sql);
    free(st);
}

int store_pg_exec(store *s, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(s->pg, sql);
    ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
    if (!ok) {
        keep_error(s, res ? PQresultErrorMessage(res) : PQerrorMessage(s->pg));
        if (PQstatus(s->pg) == CONNECTION_BAD) PQreset(s->pg);
    }
    PQclear(res);
    return ok ? STORE_OK : store_db_fail(s, "running SQL", err, errlen);
}

const char *store_pg_errmsg(const store *s)
{
    return s->pg_error[0] ? s->pg_error : "unknown PostgreSQL error";
}

void store_pg_rollback(store *s)
{
    if (PQtransactionStatus(s->pg) != PQTRANS_IDLE) PQclear(PQexec(s->pg, "ROLLBACK"));
}
