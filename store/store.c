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
    return store_db_err(err, errlen, STORE_ERR, "%s: %s: %s", s->path, what, store_sql_errmsg(s));
}

int store_db_step_done(store *s, store_stmt *st, const char *what, char *err, size_t errlen)
{
    int rc = store_sql_step(st) == STORE_SQL_DONE ? STORE_OK : store_db_fail(s, what, err, errlen);
    store_sql_finalize(st);
    return rc;
}

int store_db_exec(store *s, const char *sql, char *err, size_t errlen)
{
    return s->pg ? store_pg_exec(s, sql, err, errlen) : store_sqlite_exec(s, sql, err, errlen);
}

/* SQLite: BEGIN IMMEDIATE takes the write lock at once. PostgreSQL: rows are locked as they are
 * written, and the reads that decide a write lock theirs (store_db_lock_row). */
int store_db_begin(store *s, char *err, size_t errlen)
{
    return store_db_exec(s, s->pg ? "BEGIN" : "BEGIN IMMEDIATE", err, errlen);
}

int store_db_commit(store *s, char *err, size_t errlen)
{
    return store_db_exec(s, "COMMIT", err, errlen);
}

void store_db_rollback(store *s)
{
    if (s->pg) store_pg_rollback(s);
    else store_sqlite_rollback(s);
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

int store_db_collect(store *s, store_stmt *st, size_t size, store_db_row_fn read, void **out, size_t *n,
                     size_t *rows, const char *what, char *err, size_t errlen)
{
    char *v = NULL;
    size_t count = 0, cap = 0, stepped = 0;
    int step;
    *out = NULL;
    *n = 0;
    while ((step = store_sql_step(st)) == STORE_SQL_ROW) {
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
    if (step != STORE_SQL_DONE) {
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

void store_db_column_text(store_stmt *st, int col, char *dst, size_t dstlen)
{
    const char *t = store_sql_text(st, col);
    snprintf(dst, dstlen, "%s", t ? t : "");
}

int store_db_audit(store *s, const char *actor, const char *action, int64_t recording,
                   const char *detail, char *err, size_t errlen)
{
    store_stmt *st;
    if (store_db_prepare(s,
                         "INSERT INTO audit (time_ms, actor, action, recording_id, detail) "
                         "VALUES (?1, ?2, ?3, ?4, ?5)",
                         &st, err, errlen))
        return STORE_ERR;
    store_sql_bind_int64(st, 1, store_db_now_ms());
    store_sql_bind_text(st, 2, actor);
    store_sql_bind_text(st, 3, action);
    if (recording > 0) store_sql_bind_int64(st, 4, recording);
    else store_sql_bind_null(st, 4);
    store_sql_bind_text(st, 5, detail ? detail : "");
    return store_db_step_done(s, st, "writing an audit row", err, errlen);
}

int store_db_site_id(store *s, const char *name, int64_t *id, char *err, size_t errlen)
{
    store_stmt *st = NULL;
    int rc = STORE_ERR;
    if (store_db_prepare(s, "INSERT INTO site (name, created_ms) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                         &st, err, errlen))
        goto done;
    store_sql_bind_text(st, 1, name);
    store_sql_bind_int64(st, 2, store_db_now_ms());
    if (store_sql_step(st) != STORE_SQL_DONE) {
        store_db_fail(s, "adding a site", err, errlen);
        goto done;
    }
    store_sql_finalize(st);
    if (store_db_prepare(s, "SELECT id FROM site WHERE name = ?1", &st, err, errlen)) goto done;
    store_sql_bind_text(st, 1, name);
    if (store_sql_step(st) != STORE_SQL_ROW) {
        store_db_fail(s, "reading a site", err, errlen);
        goto done;
    }
    *id = store_sql_int64(st, 0);
    rc = STORE_OK;
done:
    store_sql_finalize(st);
    return rc;
}

/* Splits URL: a PostgreSQL URL (*PG set; libpq reads it as it is) or a SQLite database path
 * copied into PATH; refuses other schemes with a message. */
static int parse_url(const char *url, char *path, size_t pathlen, int *pg, char *err, size_t errlen)
{
    *pg = 0;
    if (!url || !*url) return store_db_err(err, errlen, STORE_EINVAL, "store: no database path or URL given");
    const char *p = url;
    if (!strncmp(url, "sqlite:", 7)) {
        p = url + 7;
        if (!strncmp(p, "//", 2)) p += 2;
    } else if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11)) {
        *pg = 1;
        return STORE_OK;
    } else {
        /* "scheme://" is a URL of another kind; a plain path may still contain a colon. */
        size_t n = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
        if (n > 0 && !strncmp(url + n, "://", 3))
            return store_db_err(err, errlen, STORE_EINVAL,
                                "%s: unknown store URL scheme '%.*s': use sqlite:PATH, a plain path or "
                                "postgresql://...", url, (int)n, url);
    }
    if (!*p) return store_db_err(err, errlen, STORE_EINVAL, "%s: the URL has no database path", url);
    if (!strcmp(p, ":memory:") || !strncmp(p, "file:", 5))
        return store_db_err(err, errlen, STORE_EINVAL,
                            "%s: in-memory and file: URI databases are not supported: the store must be a file", url);
    if (strlen(p) >= pathlen) return store_db_err(err, errlen, STORE_EINVAL, "%s: the path is too long", url);
    snprintf(path, pathlen, "%s", p);
    return STORE_OK;
}

store *store_open(const char *url, char *err, size_t errlen)
{
    int pg;
    store *s = calloc(1, sizeof *s);
    if (!s) {
        store_db_err(err, errlen, STORE_ERR, "store: out of memory");
        return NULL;
    }
    if (sodium_init() < 0) {
        store_db_err(err, errlen, STORE_ERR, "store: libsodium could not be initialised");
        goto fail_alloc;
    }
    if (parse_url(url, s->path, sizeof s->path, &pg, err, errlen)) goto fail_alloc;
    if (pg ? store_pg_open(s, url, err, errlen) : store_sqlite_open(s, err, errlen)) goto fail_alloc;
    if (store_db_migrate(s, err, errlen)) goto fail_db;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        store_db_err(err, errlen, STORE_ERR, "%s: cannot create a mutex", s->path);
        goto fail_db;
    }
    return s;
fail_db:
    if (pg) store_pg_close(s);
    else store_sqlite_close(s);
fail_alloc:
    free(s);
    return NULL;
}

void store_close(store *s)
{
    if (!s) return;
    if (s->pg) store_pg_close(s);
    else store_sqlite_close(s);
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
    store_stmt *st;
    *stamp = 0;
    pthread_mutex_lock(&s->mu);
    int rc = store_db_prepare(s, "SELECT COALESCE(max(id), 0) FROM audit", &st, err, errlen);
    if (rc == STORE_OK) {
        if (store_sql_step(st) == STORE_SQL_ROW) *stamp = store_sql_int64(st, 0);
        else rc = store_db_fail(s, "reading the audit trail's newest row", err, errlen);
        store_sql_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int read_audit(store_stmt *st, void *item)
{
    store_audit_entry *e = item;
    e->id = store_sql_int64(st, 0);
    e->time_ms = store_sql_int64(st, 1);
    store_db_column_text(st, 2, e->actor, sizeof e->actor);
    store_db_column_text(st, 3, e->action, sizeof e->action);
    e->recording = store_sql_int64(st, 4);
    store_db_column_text(st, 5, e->detail, sizeof e->detail);
    return 1;
}

int store_audit_list(store *s, int64_t recording, store_audit_entry **out, size_t *n, char *err,
                     size_t errlen)
{
    *out = NULL;
    *n = 0;
    store_stmt *st = NULL;
    int rc = STORE_ERR;
    pthread_mutex_lock(&s->mu);
    if (store_db_prepare(s,
                         "SELECT id, time_ms, actor, action, COALESCE(recording_id, 0), detail FROM audit "
                         "WHERE ?1 = 0 OR recording_id = ?1 ORDER BY id",
                         &st, err, errlen) == STORE_OK) {
        store_sql_bind_int64(st, 1, recording);
        rc = store_db_collect(s, st, sizeof **out, read_audit, (void **)out, n, NULL, "reading the audit trail", err,
                              errlen);
    }
    store_sql_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}
