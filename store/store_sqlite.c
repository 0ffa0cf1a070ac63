/* store_sqlite.c — the store's SQLite back end: opening the file with the settings the store's
 * guarantees rest on, running SQL scripts, and rolling back. */
#include "store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The directory must exist and be writable, and the file must be creatable with mode 0600 or
 * writable: SQLite's own message ("unable to open database file") would not say which. */
static int check_file(const char *path, char *err, size_t errlen)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy);
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return store_db_err(err, errlen, STORE_ERR, "%s: the directory %s %s", path, dir,
                            errno == ENOENT ? "does not exist (create it first)" : strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return store_db_err(err, errlen, STORE_ERR, "%s: %s is not a directory", path, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return store_db_err(err, errlen, STORE_ERR,
                            "%s: the directory %s is not writable by this user (SQLite keeps its "
                            "write-ahead log beside the database)", path, dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return store_db_err(err, errlen, STORE_ERR, "%s: cannot open the database for writing: %s", path,
                            strerror(errno));
    close(fd);
    return STORE_OK;
}

/* Runs a PRAGMA whose one-row answer must equal WANT (case-insensitive). */
static int pragma_expect(store *s, const char *sql, const char *want, const char *why, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) return store_db_fail(s, sql, err, errlen);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        rc = store_db_fail(s, sql, err, errlen);
    } else {
        const unsigned char *got = sqlite3_column_text(st, 0);
        if (got && !sqlite3_stricmp((const char *)got, want)) {
            rc = STORE_OK;
        } else {
            rc = store_db_err(err, errlen, STORE_ERR, "%s: %s gave '%s', not '%s': %s", s->path, sql,
                              got ? (const char *)got : "", want, why);
        }
    }
    sqlite3_finalize(st);
    return rc;
}

int store_sqlite_open(store *s, char *err, size_t errlen)
{
    if (check_file(s->path, err, errlen)) return STORE_ERR;
    /* NOMUTEX: the handle's own mutex serialises every use of the connection. */
    if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        if (s->db) store_db_fail(s, "cannot open the database", err, errlen);
        else store_db_err(err, errlen, STORE_ERR, "%s: cannot open the database: out of memory", s->path);
        goto fail;
    }
    sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
    if (pragma_expect(s, "PRAGMA journal_mode = WAL", "wal",
                      "write-ahead logging is needed (is the file on a network file system?)", err, errlen))
        goto fail;
    if (store_sqlite_exec(s, "PRAGMA synchronous = FULL", err, errlen)) goto fail;
    if (pragma_expect(s, "PRAGMA synchronous", "2", "acknowledged data must survive a power cut", err, errlen))
        goto fail;
    if (store_sqlite_exec(s, "PRAGMA foreign_keys = ON", err, errlen)) goto fail;
    if (pragma_expect(s, "PRAGMA foreign_keys", "1", "this SQLite lacks foreign keys", err, errlen)) goto fail;
    return STORE_OK;
fail:
    store_sqlite_close(s);
    return STORE_ERR;
}

void store_sqlite_close(store *s)
{
    sqlite3_close(s->db);
    s->db = NULL;
}

int store_sqlite_exec(store *s, const char *sql, char *err, size_t errlen)
{
    const char *tail = sql;
    while (tail && *tail) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(s->db, tail, -1, &st, &tail) != SQLITE_OK)
            return store_db_fail(s, "preparing a statement", err, errlen);
        if (!st) break; /* only whitespace or comments were left */
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {}
        if (rc != SQLITE_DONE) {
            int code = store_db_fail(s, sqlite3_sql(st), err, errlen);
            sqlite3_finalize(st);
            return code;
        }
        sqlite3_finalize(st);
    }
    return STORE_OK;
}

void store_sqlite_rollback(store *s)
{
    if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}
