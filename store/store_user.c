/* store_user.c — users of the review workflow: their roles and argon2id passwords. */
#include "store_impl.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Helpers ------------------------------------------------------------------------------- */

void store_db_user_actor(const store_user *u, char actor[96])
{
    snprintf(actor, 96, "user:%s", u->name);
}

int store_db_multiline_ok(const char *s, size_t minbytes, size_t maxbytes)
{
    if (!s) return 0;
    size_t len = strlen(s);
    if (len < minbytes || len > maxbytes) return 0;
    /* Line breaks and tabs become spaces in a copy, which must then be text without controls. */
    char *copy = strdup(s);
    if (!copy) return 0;
    for (char *p = copy; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
    int ok = store_db_text_ok(copy, minbytes, maxbytes);
    free(copy);
    return ok;
}

/* Every read of users selects these columns, in this order (read_user). */
#define USER_SELECT                                                                               \
    "SELECT u.id, u.name, u.role, COALESCE(s.name, ''), u.created_ms, COALESCE(u.disabled_ms, 0) " \
    "FROM user_account u LEFT JOIN site s ON s.id = u.site_id "

void store_db_user_read(store_stmt *st, store_user *u)
{
    memset(u, 0, sizeof *u);
    u->id = store_sql_int64(st, 0);
    store_db_column_text(st, 1, u->name, sizeof u->name);
    store_db_column_text(st, 2, u->role, sizeof u->role);
    store_db_column_text(st, 3, u->site, sizeof u->site);
    u->created_ms = store_sql_int64(st, 4);
    u->disabled_ms = store_sql_int64(st, 5);
}

int store_db_user_load(store *s, int64_t id, store_user *out, char *err, size_t errlen)
{
    store_stmt *st;
    if (store_db_prepare(s, USER_SELECT "WHERE u.id = ?1", &st, err, errlen)) return STORE_ERR;
    store_sql_bind_int64(st, 1, id);
    int step = store_sql_step(st), rc;
    if (step == STORE_SQL_ROW) {
        store_db_user_read(st, out);
        rc = out->disabled_ms ? store_db_err(err, errlen, STORE_EDENIED, "user %s is disabled", out->name) : STORE_OK;
    } else if (step == STORE_SQL_DONE) {
        rc = store_db_err(err, errlen, STORE_EDENIED, "%s: no user with id %lld", s->path, (long long)id);
    } else {
        rc = store_db_fail(s, "reading a user", err, errlen);
    }
    store_sql_finalize(st);
    return rc;
}

static int check_password(const char *name, const char *password, char *err, size_t errlen)
{
    if (!store_db_text_ok(password, 1, STORE_PASSWORD_MAX_BYTES))
        return store_db_err(err, errlen, STORE_EINVAL,
                            "the password must be UTF-8 text without control characters, at most %d bytes",
                            STORE_PASSWORD_MAX_BYTES);
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)password; *p; p++) chars += (*p & 0xC0) != 0x80;
    if (chars < STORE_PASSWORD_MIN_CHARS)
        return store_db_err(err, errlen, STORE_EINVAL, "the password is too short: %zu characters, at least %d",
                            chars, STORE_PASSWORD_MIN_CHARS);
    if (name && !strcmp(name, password))
        return store_db_err(err, errlen, STORE_EINVAL, "the password must not be the user name");
    return STORE_OK;
}

static int bad_name(const char *name, char *err, size_t errlen)
{
    return store_db_err(err, errlen, STORE_EINVAL, "user name '%.80s' is invalid: use 1..64 characters of "
                        "A-Z a-z 0-9 . _ -", name ? name : "(null)");
}

_Static_assert(crypto_pwhash_STRBYTES == 128, "store_impl.h's password hash buffers hold 128 bytes");

int store_db_password_hash(const char *password, char hash[128], char *err, size_t errlen)
{
    if (crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return store_db_err(err, errlen, STORE_ERR, "out of memory hashing a password (argon2id needs %zu MiB)",
                            (size_t)crypto_pwhash_MEMLIMIT_INTERACTIVE >> 20);
    return STORE_OK;
}

/* ---- Users --------------------------------------------------------------------------------- */

int store_user_add(store *s, const char *name, const char *role, const char *site, const char *password,
                   char *err, size_t errlen)
{
    if (!store_db_device_id_ok(name)) return bad_name(name, err, errlen);
    int is_clinic = role && !strcmp(role, "clinic");
    if (!role || (!is_clinic && strcmp(role, "cardiologist") && strcmp(role, "admin")))
        return store_db_err(err, errlen, STORE_EINVAL, "role '%.20s' is unknown: cardiologist, clinic or admin",
                            role ? role : "(null)");
    if (is_clinic && !store_db_text_ok(site, 1, 64))
        return store_db_err(err, errlen, STORE_EINVAL, "a clinic user needs its site (1..64 bytes of text)");
    if (!is_clinic && site && *site)
        return store_db_err(err, errlen, STORE_EINVAL, "only clinic users belong to a site, not a %s", role);
    int rc = check_password(name, password, err, errlen);
    if (rc) return rc;
    char hash[crypto_pwhash_STRBYTES];
    if (store_db_password_hash(password, hash, err, errlen)) return STORE_ERR;

    store_stmt *st = NULL;
    rc = STORE_ERR;
    int64_t site_id = 0;
    pthread_mutex_lock(&s->mu);
    if (store_db_begin(s, err, errlen)) goto done;
    if (store_db_prepare(s, "SELECT 1 FROM user_account WHERE name = ?1", &st, err, errlen)) goto fail;
    store_sql_bind_text(st, 1, name);
    int step = store_sql_step(st);
    if (step == STORE_SQL_ROW) {
        rc = store_db_err(err, errlen, STORE_EEXIST, "%s: user '%s' already exists (names are never reused, also "
                          "after disable: choose another)", s->path, name);
        goto fail;
    }
    if (step != STORE_SQL_DONE) {
        store_db_fail(s, "looking up a user", err, errlen);
        goto fail;
    }
    store_sql_finalize(st);
    st = NULL;
    if (is_clinic) {
        if (store_db_prepare(s, "SELECT id FROM site WHERE name = ?1", &st, err, errlen)) goto fail;
        store_sql_bind_text(st, 1, site);
        step = store_sql_step(st);
        if (step == STORE_SQL_DONE) {
            rc = store_db_err(err, errlen, STORE_ENOTFOUND,
                              "%s: no site '%s': sites are created when their first device is added "
                              "(`ecgnet device add ID --site SITE`); check the spelling", s->path, site);
            goto fail;
        }
        if (step != STORE_SQL_ROW) {
            store_db_fail(s, "looking up a site", err, errlen);
            goto fail;
        }
        site_id = store_sql_int64(st, 0);
        store_sql_finalize(st);
        st = NULL;
    }
    if (store_db_prepare(s,
                         "INSERT INTO user_account (name, role, site_id, password_hash, created_ms, password_ms) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                         &st, err, errlen))
        goto fail;
    store_sql_bind_text(st, 1, name);
    store_sql_bind_text(st, 2, role);
    if (is_clinic) store_sql_bind_int64(st, 3, site_id);
    store_sql_bind_text(st, 4, hash);
    store_sql_bind_int64(st, 5, store_db_now_ms());
    int r = store_db_step_done(s, st, "adding a user", err, errlen);
    st = NULL;
    if (r) goto fail;
    char detail[192];
    snprintf(detail, sizeof detail, "user %s, %s%s%s", name, role, is_clinic ? " at site " : "", is_clinic ? site : "");
    if (store_db_audit(s, "cli", "user.add", 0, detail, err, errlen)) goto fail;
    if (store_db_commit(s, err, errlen)) goto fail;
    rc = STORE_OK;
    goto done;
fail:
    store_db_rollback(s);
done:
    store_sql_finalize(st);
    pthread_mutex_unlock(&s->mu);
    sodium_memzero(hash, sizeof hash);
    return rc;
}

/* Inside a transaction: user NAME's id and whether it is disabled; STORE_ENOTFOUND if none. */
static int find_user(store *s, const char *name, int64_t *id, int *disabled, char *err, size_t errlen)
{
    store_stmt *st;
    if (store_db_prepare(s, "SELECT id, CASE WHEN disabled_ms IS NOT NULL THEN 1 ELSE 0 END FROM user_account WHERE name = ?1", &st, err,
                         errlen))
        return STORE_ERR;
    store_sql_bind_text(st, 1, name);
    int step = store_sql_step(st), rc = STORE_OK;
    if (step == STORE_SQL_ROW) {
        *id = store_sql_int64(st, 0);
        *disabled = store_sql_int(st, 1);
    } else if (step == STORE_SQL_DONE) {
        rc = store_db_err(err, errlen, STORE_ENOTFOUND, "%s: no user '%s'", s->path, name);
    } else {
        rc = store_db_fail(s, "looking up a user", err, errlen);
    }
    store_sql_finalize(st);
    return rc;
}

/* Runs constant SQL with ?1 bound to ID (a one-step write). */
static int write_for(store *s, const char *sql, int64_t id, const char *what, char *err, size_t errlen)
{
    store_stmt *st;
    if (store_db_prepare(s, sql, &st, err, errlen)) return STORE_ERR;
    store_sql_bind_int64(st, 1, id);
    return store_db_step_done(s, st, what, err, errlen);
}

int store_user_passwd(store *s, const char *name, const char *password, char *err, size_t errlen)
{
    if (!store_db_device_id_ok(name)) return bad_name(name, err, errlen);
    int rc = check_password(name, password, err, errlen);
    if (rc) return rc;
    char hash[crypto_pwhash_STRBYTES];
    if (store_db_password_hash(password, hash, err, errlen)) return STORE_ERR;
    store_stmt *st = NULL;
    int64_t id;
    int disabled;
    rc = STORE_ERR;
    pthread_mutex_lock(&s->mu);
    if (store_db_begin(s, err, errlen)) goto done;
    if ((rc = find_user(s, name, &id, &disabled, err, errlen)) != STORE_OK) goto fail;
    rc = STORE_ERR;
    if (store_db_prepare(s, "UPDATE user_account SET password_hash = ?2, password_ms = ?3 WHERE id = ?1", &st, err,
                         errlen))
        goto fail;
    store_sql_bind_int64(st, 1, id);
    store_sql_bind_text(st, 2, hash);
    store_sql_bind_int64(st, 3, store_db_now_ms());
    int r = store_db_step_done(s, st, "changing a password", err, errlen);
    st = NULL;
    if (r) goto fail;
    /* Whoever knew the old password may hold a session: a new password ends them all. */
    if (write_for(s, "DELETE FROM session WHERE user_id = ?1", id, "ending sessions", err, errlen)) goto fail;
    char detail[96];
    snprintf(detail, sizeof detail, "user %s", name);
    if (store_db_audit(s, "cli", "user.passwd", 0, detail, err, errlen)) goto fail;
    if (store_db_commit(s, err, errlen)) goto fail;
    rc = STORE_OK;
    goto done;
fail:
    store_db_rollback(s);
done:
    store_sql_finalize(st);
    pthread_mutex_unlock(&s->mu);
    sodium_memzero(hash, sizeof hash);
    return rc;
}

int store_user_disable(store *s, const char *name, char *err, size_t errlen)
{
    if (!store_db_device_id_ok(name)) return bad_name(name, err, errlen);
    store_stmt *st = NULL;
    int64_t id;
    int disabled;
    int rc = STORE_ERR;
    pthread_mutex_lock(&s->mu);
    if (store_db_begin(s, err, errlen)) goto done;
    if ((rc = find_user(s, name, &id, &disabled, err, errlen)) != STORE_OK) goto fail;
    if (disabled) {
        rc = store_db_err(err, errlen, STORE_EREVOKED, "%s: user '%s' was already disabled", s->path, name);
        goto fail;
    }
    rc = STORE_ERR;
    if (store_db_prepare(s, "UPDATE user_account SET disabled_ms = ?2 WHERE id = ?1", &st, err, errlen)) goto fail;
    store_sql_bind_int64(st, 1, id);
    store_sql_bind_int64(st, 2, store_db_now_ms());
    int r = store_db_step_done(s, st, "disabling a user", err, errlen);
    st = NULL;
    if (r) goto fail;
    if (write_for(s, "DELETE FROM session WHERE user_id = ?1", id, "ending sessions", err, errlen)) goto fail;
    /* Its claims go back to the worklist now rather than when they expire. */
    if (write_for(s,
                  "UPDATE recording SET review = CASE review WHEN 'claimed' THEN 'new' ELSE review END, "
                  "claimed_by = NULL, claim_expires_ms = NULL WHERE claimed_by = ?1",
                  id, "releasing claims", err, errlen))
        goto fail;
    char detail[96];
    snprintf(detail, sizeof detail, "user %s", name);
    if (store_db_audit(s, "cli", "user.disable", 0, detail, err, errlen)) goto fail;
    if (store_db_commit(s, err, errlen)) goto fail;
    rc = STORE_OK;
    goto done;
fail:
    store_db_rollback(s);
done:
    store_sql_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int read_user(store_stmt *st, void *item)
{
    store_db_user_read(st, item);
    return 1;
}

int store_user_list(store *s, store_user **out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    store_stmt *st = NULL;
    int rc = STORE_ERR;
    pthread_mutex_lock(&s->mu);
    if (store_db_prepare(s, USER_SELECT "ORDER BY u.name", &st, err, errlen) == STORE_OK)
        rc = store_db_collect(s, st, sizeof **out, read_user, (void **)out, n, NULL, "listing users", err, errlen);
    store_sql_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_user_get(store *s, const char *name, store_user *out, char *err, size_t errlen)
{
    if (!store_db_device_id_ok(name)) return bad_name(name, err, errlen);
    store_stmt *st;
    pthread_mutex_lock(&s->mu);
    int rc = store_db_prepare(s, USER_SELECT "WHERE u.name = ?1", &st, err, errlen);
    if (rc == STORE_OK) {
        store_sql_bind_text(st, 1, name);
        int step = store_sql_step(st);
        if (step == STORE_SQL_ROW) store_db_user_read(st, out);
        else if (step == STORE_SQL_DONE) rc = store_db_err(err, errlen, STORE_ENOTFOUND, "%s: no user '%s'", s->path, name);
        else rc = store_db_fail(s, "reading a user", err, errlen);
        store_sql_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}
