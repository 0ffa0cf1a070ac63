/* store.c — opening and closing the store, the helpers its files share, and the audit trail. */
#include "store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int store_db_err(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

int store_db_fail(store *s, const char *what, char *err, size_t errlen)
{
    return store_db_err(err, errlen, STORE_ERR, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

int store_db_prepare(store *s, const char *sql, sqlite3_stmt **st, char *err, size_t errlen)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return store_db_fail(s, "preparing a statement", err, errlen);
    }
    return STORE_OK;
}

int store_db_exec(store *s, const char *sql, char *err, size_t errlen)
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

int store_db_begin(store *s, char *err, size_t errlen)
{
    return store_db_exec(s, "BEGIN IMMEDIATE", err, errlen);
}

int store_db_commit(store *s, char *err, size_t errlen)
{
    return store_db_exec(s, "COMMIT", err, errlen);
}

void store_db_rollback(store *s)
{
    if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int64_t store_db_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Bytes of the valid UTF-8 character at P (RFC 3629: no overlong forms, no surrogates), or 0
 * for an invalid sequence, a control character (C0, DEL, C1) or the end of the string. Decoded
 * here rather than with mbrtowc: that needs a UTF-8 locale switched per thread, and the answer
 * must not depend on the machine's locales (formats/edf_write.c does the same). */
static size_t text_char(const unsigned char *p)
{
    static const uint32_t least[] = {0, 0x80, 0x800, 0x10000}; /* below: an overlong form */
    uint32_t cp;
    int n;
    if (*p < 0x80) cp = *p, n = 0;
    else if ((*p & 0xE0) == 0xC0) cp = *p & 0x1F, n = 1;
    else if ((*p & 0xF0) == 0xE0) cp = *p & 0x0F, n = 2;
    else if ((*p & 0xF8) == 0xF0) cp = *p & 0x07, n = 3;
    else return 0;
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return 0;
    return (size_t)n + 1;
}

int store_db_text_ok(const char *s, size_t minbytes, size_t maxbytes)
{
    if (!s) return 0;
    size_t len = strlen(s);
    if (len < minbytes || len > maxbytes) return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = text_char(p);
        if (!n) return 0;
        p += n;
    }
    return 1;
}

void store_db_text_clean(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)(in ? in : ""); *p;) {
        size_t n = text_char(p);
        if (o + (n ? n : 1) >= outlen) break;
        if (n) {
            memcpy(out + o, p, n);
            o += n;
            p += n;
        } else {
            out[o++] = '?';
            p++;
        }
    }
    out[o] = '\0';
}

int store_db_device_id_ok(const char *id)
{
    if (!id) return 0;
    size_t len = strlen(id);
    if (len < 1 || len > 64) return 0;
    return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

int store_db_collect(store *s, sqlite3_stmt *st, size_t size, store_db_row_fn read, void **out, size_t *n,
                     size_t *rows, const char *what, char *err, size_t errlen)
{
    char *v = NULL;
    size_t count = 0, cap = 0, stepped = 0;
    int step;
    *out = NULL;
    *n = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        stepped++;
        if (count == cap) {
            cap = cap ? 2 * cap : 16;
            char *bigger = realloc(v, cap * size);
            if (!bigger) {
                free(v);
                return store_db_err(err, errlen, STORE_ERR, "%s: %s: out of memory", s->path, what);
            }
            v = bigger;
        }
        memset(v + count * size, 0, size);
        count += (size_t)read(st, v + count * size);
    }
    if (step != SQLITE_DONE) {
        free(v);
        return store_db_fail(s, what, err, errlen);
    }
    if (!count) {
        free(v);
        v = NULL;
    }
    *out = v;
    *n = count;
    if (rows) *rows = stepped;
    return STORE_OK;
}

void store_db_column_text(sqlite3_stmt *st, int col, char *dst, size_t dstlen)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, dstlen, "%s", t ? (const char *)t : "");
}

int store_db_audit(store *s, const char *actor, const char *action, int64_t recording,
                   const char *detail, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (store_db_prepare(s,
                         "INSERT INTO audit (time_ms, actor, action, recording_id, detail) "
                         "VALUES (?1, ?2, ?3, ?4, ?5)",
                         &st, err, errlen))
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, store_db_now_ms());
    sqlite3_bind_text(st, 2, actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
    if (recording > 0) sqlite3_bind_int64(st, 4, recording);
    else sqlite3_bind_null(st, 4);
    sqlite3_bind_text(st, 5, detail ? detail : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? STORE_OK : store_db_fail(s, "writing an audit row", err, errlen);
    sqlite3_finalize(st);
    return rc;
}

int store_db_site_id(store *s, const char *name, int64_t *id, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = STORE_ERR;
    if (store_db_prepare(s, "INSERT INTO site (name, created_ms) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                         &st, err, errlen))
        goto done;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, store_db_now_ms());
    if (sqlite3_step(st) != SQLITE_DONE) {
        store_db_fail(s, "adding a site", err, errlen);
        goto done;
    }
    sqlite3_finalize(st);
    if (store_db_prepare(s, "SELECT id FROM site WHERE name = ?1", &st, err, errlen)) goto done;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        store_db_fail(s, "reading a site", err, errlen);
        goto done;
    }
    *id = sqlite3_column_int64(st, 0);
    rc = STORE_OK;
done:
    sqlite3_finalize(st);
    return rc;
}

/* Splits URL into the database path; refuses other schemes with a message. */
static int parse_url(const char *url, char *path, size_t pathlen, char *err, size_t errlen)
{
    if (!url || !*url) return store_db_err(err, errlen, STORE_EINVAL, "store: no database path or URL given");
    const char *p = url;
    if (!strncmp(url, "sqlite:", 7)) {
        p = url + 7;
        if (!strncmp(p, "//", 2)) p += 2;
    } else if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11)) {
        return store_db_err(err, errlen, STORE_EINVAL,
                            "%s: postgresql:// is not supported yet: use sqlite:PATH or a plain path", url);
    } else {
        /* "scheme://" is a URL of another kind; a plain path may still contain a colon. */
        size_t n = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
        if (n > 0 && !strncmp(url + n, "://", 3))
            return store_db_err(err, errlen, STORE_EINVAL,
                                "%s: unknown store URL scheme '%.*s': use sqlite:PATH or a plain path", url,
                                (int)n, url);
    }
    if (!*p) return store_db_err(err, errlen, STORE_EINVAL, "%s: the URL has no database path", url);
    if (!strcmp(p, ":memory:") || !strncmp(p, "file:", 5))
        return store_db_err(err, errlen, STORE_EINVAL,
                            "%s: in-memory and file: URI databases are not supported: the store must be a file", url);
    if (strlen(p) >= pathlen) return store_db_err(err, errlen, STORE_EINVAL, "%s: the path is too long", url);
    snprintf(path, pathlen, "%s", p);
    return STORE_OK;
}

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
    if (store_db_prepare(s, sql, &st, err, errlen)) return STORE_ERR;
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

store *store_open(const char *url, char *err, size_t errlen)
{
    store *s = calloc(1, sizeof *s);
    if (!s) {
        store_db_err(err, errlen, STORE_ERR, "store: out of memory");
        return NULL;
    }
    if (sodium_init() < 0) {
        store_db_err(err, errlen, STORE_ERR, "store: libsodium could not be initialised");
        goto fail_alloc;
    }
    if (parse_url(url, s->path, sizeof s->path, err, errlen)) goto fail_alloc;
    if (check_file(s->path, err, errlen)) goto fail_alloc;
    /* NOMUTEX: the handle's own mutex serialises every use of the connection. */
    if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        if (s->db) store_db_fail(s, "cannot open the database", err, errlen);
        else store_db_err(err, errlen, STORE_ERR, "%s: cannot open the database: out of memory", s->path);
        goto fail_db;
    }
    sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
    if (pragma_expect(s, "PRAGMA journal_mode = WAL", "wal",
                      "write-ahead logging is needed (is the file on a network file system?)", err, errlen))
        goto fail_db;
    if (store_db_exec(s, "PRAGMA synchronous = FULL", err, errlen)) goto fail_db;
    if (pragma_expect(s, "PRAGMA synchronous", "2", "acknowledged data must survive a power cut", err, errlen))
        goto fail_db;
    if (store_db_exec(s, "PRAGMA foreign_keys = ON", err, errlen)) goto fail_db;
    if (pragma_expect(s, "PRAGMA foreign_keys", "1", "this SQLite lacks foreign keys", err, errlen)) goto fail_db;
    if (store_db_migrate(s, err, errlen)) goto fail_db;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        store_db_err(err, errlen, STORE_ERR, "%s: cannot create a mutex", s->path);
        goto fail_db;
    }
    return s;
fail_db:
    sqlite3_close(s->db);
fail_alloc:
    free(s);
    return NULL;
}

void store_close(store *s)
{
    if (!s) return;
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

const char *store_path(const store *s)
{
    return s->path;
}

int store_audit(store *s, const char *actor, const char *action, int64_t recording, const char *detail,
                char *err, size_t errlen)
{
    if (!store_db_text_ok(actor, 1, 95))
        return store_db_err(err, errlen, STORE_EINVAL, "audit actor must be 1..95 bytes of text");
    if (!store_db_text_ok(action, 1, 63))
        return store_db_err(err, errlen, STORE_EINVAL, "audit action must be 1..63 bytes of text");
    if (detail && strlen(detail) > 1023)
        return store_db_err(err, errlen, STORE_EINVAL, "audit detail must be at most 1023 bytes");
    if (recording < 0) return store_db_err(err, errlen, STORE_EINVAL, "audit recording must be >= 0");
    pthread_mutex_lock(&s->mu);
    int rc = store_db_audit(s, actor, action, recording, detail, err, errlen);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_audit_stamp(store *s, int64_t *stamp, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    *stamp = 0;
    pthread_mutex_lock(&s->mu);
    int rc = store_db_prepare(s, "SELECT COALESCE(max(id), 0) FROM audit", &st, err, errlen);
    if (rc == STORE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) *stamp = sqlite3_column_int64(st, 0);
        else rc = store_db_fail(s, "reading the audit trail's newest row", err, errlen);
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int read_audit(sqlite3_stmt *st, void *item)
{
    store_audit_entry *e = item;
    e->id = sqlite3_column_int64(st, 0);
    e->time_ms = sqlite3_column_int64(st, 1);
    store_db_column_text(st, 2, e->actor, sizeof e->actor);
    store_db_column_text(st, 3, e->action, sizeof e->action);
    e->recording = sqlite3_column_int64(st, 4);
    store_db_column_text(st, 5, e->detail, sizeof e->detail);
    return 1;
}

int store_audit_list(store *s, int64_t recording, store_audit_entry **out, size_t *n, char *err,
                     size_t errlen)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    int rc = STORE_ERR;
    pthread_mutex_lock(&s->mu);
    if (store_db_prepare(s,
                         "SELECT id, time_ms, actor, action, COALESCE(recording_id, 0), detail FROM audit "
                         "WHERE ?1 = 0 OR recording_id = ?1 ORDER BY id",
                         &st, err, errlen) == STORE_OK) {
        sqlite3_bind_int64(st, 1, recording);
        rc = store_db_collect(s, st, sizeof **out, read_audit, (void **)out, n, NULL, "reading the audit trail", err,
                              errlen);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}
