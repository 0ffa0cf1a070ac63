/* store_impl.h — private to store/store*.c: the handle, and the helpers its files share. */
#ifndef ECGNET_STORE_STORE_IMPL_H
#define ECGNET_STORE_STORE_IMPL_H

#include "store.h"

#include "store_sql.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>

struct store {
    sqlite3 *db;          /* SQLite: the one connection, used only with mu held */
    PGconn *pg;           /* PostgreSQL: the one connection, used only with mu held */
    int64_t changes;      /* rows changed by the last statement (store_sql_changes) */
    char pg_error[512];   /* PostgreSQL's message about the last error */
    pthread_mutex_t mu;
    char path[4096];      /* SQLite: the file; PostgreSQL: the URL without its password */
    /* The review workflow's settings (store_set_*), 0 meaning the default; used with mu held. */
    int64_t claim_timeout_ms;
    int64_t session_idle_ms;
    int login_max_failures;
    int64_t login_window_ms;
    int64_t critical_ack_ms;
};

/* Writes a message into err (if any room) and returns CODE. */
int store_db_err(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* STORE_ERR with "<path>: WHAT: <SQLite's message>". Call with mu held. */
int store_db_fail(store *s, const char *what, char *err, size_t errlen);

/* Runs a one-step write statement ST and finalizes it (whatever happens); STORE_OK, or
 * STORE_ERR with store_db_fail's message naming WHAT. Call with mu held. */
int store_db_step_done(store *s, store_stmt *st, const char *what, char *err, size_t errlen);

/* A statement (store_sql.h): SQLite's, or PostgreSQL's SQL, parameters and result. */
struct store_stmt {
    store *s;
    sqlite3_stmt *lite;
    char *sql;                              /* PostgreSQL: the SQL with $N for ?N */
    int nparams;                            /* the highest N used */
    unsigned char used[STORE_SQL_MAX_PARAMS + 1]; /* N appears in the SQL */
    const char *values[STORE_SQL_MAX_PARAMS];
    int lengths[STORE_SQL_MAX_PARAMS], binary[STORE_SQL_MAX_PARAMS];
    unsigned types[STORE_SQL_MAX_PARAMS];   /* type OIDs; 0: let the server infer */
    char num[STORE_SQL_MAX_PARAMS][32];     /* numbers bound, as text */
    PGresult *res;
    int row, nrows;                         /* row -1 before the first step */
    unsigned char *blob;                    /* a bytea column, decoded */
};

/* Every read of recordings selects these columns, in this order (the review queries select the
 * same first 18, then their own). */
#define STORE_DB_RECORDING_COLUMNS                                                                    \
    "r.id, d.name, r.name, s.name, r.patient_id, r.mode, r.fs, r.nleads, r.journal, r.archive, r.state, " \
    "r.review, r.priority, r.received_ms, COALESCE(r.ended_ms, 0), r.samples, r.encounter, "             \
    "COALESCE(r.purged_ms, 0)"
#define STORE_DB_RECORDING_SELECT                                                                      \
    "SELECT " STORE_DB_RECORDING_COLUMNS " "                                                           \
    "FROM recording r JOIN device d ON d.id = r.device_id JOIN site s ON s.id = r.site_id "
#define STORE_DB_RECORDING_NCOLUMNS 18

/* Reads a recording from columns 0..17 of ST, as STORE_DB_RECORDING_COLUMNS lists them. */
void store_db_recording_read(store_stmt *st, store_recording *r);

/* Reads one row of ST into ITEM; returns 1 to keep it, 0 to skip it (a row of NULLs). */
typedef int (*store_db_row_fn)(store_stmt *st, void *item);

/* Steps ST to its end, reading each row with READ into a malloc'd array of SIZE-byte items:
 * *OUT (NULL when none; the caller frees) and *N; *ROWS (may be NULL) gets every row stepped,
 * kept or not. STORE_OK, or STORE_ERR with "<path>: WHAT: ..." (out of memory, SQLite's error),
 * *OUT then NULL. Call with mu held. */
int store_db_collect(store *s, store_stmt *st, size_t size, store_db_row_fn read, void **out, size_t *n,
                     size_t *rows, const char *what, char *err, size_t errlen);

/* Prepares one constant SQL statement; STORE_OK or STORE_ERR (message from SQLite). */
int store_db_prepare(store *s, const char *sql, store_stmt **st, char *err, size_t errlen);

/* Runs constant SQL (one or more statements, results ignored); STORE_OK or STORE_ERR. */
int store_db_exec(store *s, const char *sql, char *err, size_t errlen);

/* Write transactions: BEGIN IMMEDIATE (takes the write lock at once, waiting up to the busy
 * timeout, so that a transaction never fails half-way on a lock), COMMIT, ROLLBACK (errors
 * ignored: it is the cleanup path). */
int store_db_begin(store *s, char *err, size_t errlen);
int store_db_commit(store *s, char *err, size_t errlen);
void store_db_rollback(store *s);

/* Appends an audit row inside the caller's transaction (no locking, no validation). */
int store_db_audit(store *s, const char *actor, const char *action, int64_t recording,
                   const char *detail, char *err, size_t errlen);

/* The site's id, creating the site if new. Inside the caller's transaction. */
int store_db_site_id(store *s, const char *name, int64_t *id, char *err, size_t errlen);

/* Unix time in milliseconds. */
int64_t store_db_now_ms(void);

/* Valid UTF-8 (RFC 3629: no overlong forms, no surrogates) of MINBYTES..MAXBYTES bytes without
 * control characters (C0, DEL, C1). */
int store_db_text_ok(const char *s, size_t minbytes, size_t maxbytes);

/* Copies IN (NULL: "") into OUT of OUTLEN > 0 bytes as valid text: each byte that does not begin a
 * valid character, and each control character, becomes '?'; cut at a character boundary. */
void store_db_text_clean(const char *in, char *out, size_t outlen);

/* 1..64 characters of [A-Za-z0-9._-]. */
int store_db_device_id_ok(const char *id);

/* Copies column COL's text into DST of DSTLEN bytes ("" for NULL). */
void store_db_column_text(store_stmt *st, int col, char *dst, size_t dstlen);

/* Runs the schema migrations (store_schema.c). */
int store_db_migrate(store *s, char *err, size_t errlen);

/* ---- The review workflow's shared helpers: users (store_user.c) ---------------------------- */

/* Re-reads user ID inside the caller's lock into *OUT: STORE_OK for an active user,
 * STORE_EDENIED for an unknown or disabled one, STORE_ERR. */
int store_db_user_load(store *s, int64_t id, store_user *out, char *err, size_t errlen);

/* Reads columns 0..5 of a user query (id, name, role, site or '', created_ms, disabled_ms or 0). */
void store_db_user_read(store_stmt *st, store_user *u);

/* PASSWORD's argon2id string (crypto_pwhash_str, INTERACTIVE limits: ~0.1 s and 64 MiB, so call
 * it without the lock): STORE_OK, or STORE_ERR when out of memory. */
int store_db_password_hash(const char *password, char hash[128], char *err, size_t errlen);

/* "user:<name>" for the audit trail. */
void store_db_user_actor(const store_user *u, char actor[96]);

/* Valid UTF-8 text of MINBYTES..MAXBYTES bytes in which line breaks and tabs are allowed (other
 * control characters are not). */
int store_db_multiline_ok(const char *s, size_t minbytes, size_t maxbytes);

/* ---- ... and recordings under review (store_review.c) ------------------------------------- */

/* The claim timeout in force (the default where unset). Call with mu held. */
int64_t store_db_claim_timeout(const store *s);

/* Inside the caller's lock: re-reads USER into *ME (STORE_EDENIED for NULL, unknown or
 * disabled); with CARDIOLOGIST set, also STORE_EDENIED unless *ME is one, naming DOING. */
int store_db_actor(store *s, const store_user *user, int cardiologist, const char *doing, store_user *me,
                   char *err, size_t errlen);

/* Inside the caller's lock: STORE_OK if ME holds the claim on recording ID in review "claimed" or
 * "reported" ("reported" only, with NEED_DRAFT); otherwise the reason, for DOING: STORE_ENOTFOUND,
 * STORE_EBUSY (another's claim in force), STORE_ESTATE (signed, repeat, no draft, not claimed). */
int store_db_claim_held(store *s, const store_user *me, int64_t id, int need_draft, const char *doing, char *err,
                        size_t errlen);

/* Reads recording ID's site into SITE inside the caller's lock: STORE_OK, STORE_ENOTFOUND, STORE_ERR. */
int store_db_recording_site(store *s, int64_t id, char site[65], char *err, size_t errlen);

/* Inside the caller's lock: STORE_OK if ME may see recording ID (its site's clinic, or any
 * cardiologist or admin); STORE_EDENIED naming the site, STORE_ENOTFOUND, STORE_ERR. */
int store_db_check_visible(store *s, const store_user *me, int64_t id, char *err, size_t errlen);

#endif
