/* store_user.c — users and their passwords (argon2id), logins with a rate limit, sessions, settings. */
#include "store_impl.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING) == STORE_SESSION_CHARS + 1,
               "STORE_SESSION_CHARS must be the base64url length of 32 bytes");

/* Checked instead of a real hash when the user is unknown, so that an unknown name costs the
 * same time as a wrong password. An argon2id string of 32 random bytes that were thrown away,
 * with the INTERACTIVE parameters; no password matches it. */
static const char dummy_hash[] =
    "$argon2id$v=19$m=65536,t=2,p=1$7uNGdZBt/NzY8JrFcJpmhQ$0dlJygtVAINXzVF/O1/mHUgyRm9U4K23SHv4lLf5Aiw";

/* ---- Settings ------------------------------------------------------------------------------ */

int store_set_claim_timeout(store *s, int64_t ms)
{
    if (ms <= 0) return STORE_EINVAL;
    pthread_mutex_lock(&s->mu);
    s->claim_timeout_ms = ms;
    pthread_mutex_unlock(&s->mu);
    return STORE_OK;
}

int store_set_session_idle(store *s, int64_t ms)
{
    if (ms <= 0) return STORE_EINVAL;
    pthread_mutex_lock(&s->mu);
    s->session_idle_ms = ms;
    pthread_mutex_unlock(&s->mu);
    return STORE_OK;
}

int store_set_login_limit(store *s, int max_failures, int64_t window_ms)
{
    if (max_failures < 1 || window_ms <= 0) return STORE_EINVAL;
    pthread_mutex_lock(&s->mu);
    s->login_max_failures = max_failures;
    s->login_window_ms = window_ms;
    pthread_mutex_unlock(&s->mu);
    return STORE_OK;
}

int64_t store_db_claim_timeout(const store *s)
{
    return s->claim_timeout_ms ? s->claim_timeout_ms : STORE_CLAIM_TIMEOUT_MS;
}

static int64_t session_idle(const store *s)
{
    return s->session_idle_ms ? s->session_idle_ms : STORE_SESSION_IDLE_MS;
}

static int login_max(const store *s)
{
    return s->login_max_failures ? s->login_max_failures : STORE_LOGIN_MAX_FAILURES;
}

static int64_t login_window(const store *s)
{
    return s->login_window_ms ? s->login_window_ms : STORE_LOGIN_WINDOW_MS;
}

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

static void read_user(sqlite3_stmt *st, store_user *u)
{
    memset(u, 0, sizeof *u);
    u->id = sqlite3_column_int64(st, 0);
    store_db_column_text(st, 1, u->name, sizeof u->name);
    store_db_column_text(st, 2, u->role, sizeof u->role);
    store_db_column_text(st, 3, u->site, sizeof u->site);
    u->created_ms = sqlite3_column_int64(st, 4);
    u->disabled_ms = sqlite3_column_int64(st, 5);
}

int store_db_user_load(store *s, int64_t id, store_user *out, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (store_db_prepare(s, USER_SELECT "WHERE u.id = ?1", &st, err, errlen)) return STORE_ERR;
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st), rc;
    if (step == SQLITE_ROW) {
        read_user(st, out);
        rc = out->disabled_ms ? store_db_err(err, errlen, STORE_EDENIED, "user %s is disabled", out->name) : STORE_OK;
    } else if (step == SQLITE_DONE) {
        rc = store_db_err(err, errlen, STORE_EDENIED, "%s: no user with id %lld", s->path, (long long)id);
    } else {
        rc = store_db_fail(s, "reading a user", err, errlen);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Runs a one-step write statement ST (finalizing it); STORE_OK or STORE_ERR. */
static int step_done(store *s, sqlite3_stmt *st, const char *what, char *err, size_t errlen)
{
    int rc = sqlite3_step(st) == SQLITE_DONE ? STORE_OK : store_db_fail(s, what, err, errlen);
    sqlite3_finalize(st);
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

/* The argon2id string of PASSWORD (outside the lock: ~0.1 s and 64 MiB). */
static int hash_password(const char *password, char hash[crypto_pwhash_STRBYTES], char *err, size_t errlen)
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
    if (hash_password(password, hash, err, errlen)) return STORE_ERR;

    sqlite3_stmt *st = NULL;
    rc = STORE_ERR;
    int64_t site_id = 0;
    pthread_mutex_lock(&s->mu);
    if (store_db_begin(s, err, errlen)) goto done;
    if (store_db_prepare(s, "SELECT 1 FROM user_account WHERE name = ?1", &st, err, errlen)) goto fail;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        rc = store_db_err(err, errlen, STORE_EEXIST, "%s: user '%s' already exists (names are never reused, also "
                          "after disable: choose another)", s->path, name);
        goto fail;
    }
    if (step != SQLITE_DONE) {
        store_db_fail(s, "looking up a user", err, errlen);
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (is_clinic) {
        if (store_db_prepare(s, "SELECT id FROM site WHERE name = ?1", &st, err, errlen)) goto fail;
        sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
        step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            rc = store_db_err(err, errlen, STORE_ENOTFOUND,
                              "%s: no site '%s': sites are created when their first device is added "
                              "(`ecgnet device add ID --site SITE`); check the spelling", s->path, site);
            goto fail;
        }
        if (step != SQLITE_ROW) {
            store_db_fail(s, "looking up a site", err, errlen);
            goto fail;
        }
        site_id = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        st = NULL;
    }
    if (store_db_prepare(s,
                         "INSERT INTO user_account (name, role, site_id, password_hash, created_ms, password_ms) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                         &st, err, errlen))
        goto fail;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
    if (is_clinic) sqlite3_bind_int64(st, 3, site_id);
    sqlite3_bind_text(st, 4, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, store_db_now_ms());
    int r = step_done(s, st, "adding a user", err, errlen);
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
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    sodium_memzero(hash, sizeof hash);
    return rc;
}

/* Inside a transaction: user NAME's id and whether it is disabled; STORE_ENOTFOUND if none. */
static int find_user(store *s, const char *name, int64_t *id, int *disabled, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (store_db_prepare(s, "SELECT id, disabled_ms IS NOT NULL FROM user_account WHERE name = ?1", &st, err,
                         errlen))
        return STORE_ERR;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int step = sqlite3_step(st), rc = STORE_OK;
    if (step == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        *disabled = sqlite3_column_int(st, 1);
    } else if (step == SQLITE_DONE) {
        rc = store_db_err(err, errlen, STORE_ENOTFOUND, "%s: no user '%s'", s->path, name);
    } else {
        rc = store_db_fail(s, "looking up a user", err, errlen);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Runs constant SQL with ?1 bound to ID (a one-step write). */
static int write_for(store *s, const char *sql, int64_t id, const char *what, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (store_db_prepare(s, sql, &st, err, errlen)) return STORE_ERR;
    sqlite3_bind_int64(st, 1, id);
    return step_done(s, st, what, err, errlen);
}

int store_user_passwd(store *s, const char *name, const char *password, char *err, size_t errlen)
{
    if (!store_db_device_id_ok(name)) return bad_name(name, err, errlen);
    int rc = check_password(name, password, err, errlen);
    if (rc) return rc;
    char hash[crypto_pwhash_STRBYTES];
    if (hash_password(password, hash, err, errlen)) return STORE_ERR;
    sqlite3_stmt *st = NULL;
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
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, store_db_now_ms());
    int r = step_done(s, st, "changing a password", err, errlen);
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
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    sodium_memzero(hash, sizeof hash);
    return rc;
}

int store_user_disable(store *s, const char *name, char *err, size_t errlen)
{
    if (!store_db_device_id_ok(name)) return bad_name(name, err, errlen);
    sqlite3_stmt *st = NULL;
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
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, store_db_now_ms());
    int r = step_done(s, st, "disabling a user", err, errlen);
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
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_user_list(store *s, store_user **out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    store_user *v = NULL;
    size_t count = 0, cap = 0;
    int rc = STORE_ERR;
    pthread_mutex_lock(&s->mu);
    if (store_db_prepare(s, USER_SELECT "ORDER BY u.name", &st, err, errlen)) goto done;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            cap = cap ? 2 * cap : 16;
            store_user *bigger = realloc(v, cap * sizeof *v);
            if (!bigger) {
                store_db_err(err, errlen, STORE_ERR, "%s: out of memory listing users", s->path);
                goto done;
            }
            v = bigger;
        }
        read_user(st, &v[count++]);
    }
    if (step != SQLITE_DONE) {
        store_db_fail(s, "listing users", err, errlen);
        goto done;
    }
    *out = v;
    *n = count;
    v = NULL;
    rc = STORE_OK;
done:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    free(v);
    return rc;
}

int store_user_get(store *s, const char *name, store_user *out, char *err, size_t errlen)
{
    if (!store_db_device_id_ok(name)) return bad_name(name, err, errlen);
    sqlite3_stmt *st;
    pthread_mutex_lock(&s->mu);
    int rc = store_db_prepare(s, USER_SELECT "WHERE u.name = ?1", &st, err, errlen);
    if (rc == STORE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) read_user(st, out);
        else if (step == SQLITE_DONE) rc = store_db_err(err, errlen, STORE_ENOTFOUND, "%s: no user '%s'", s->path, name);
        else rc = store_db_fail(s, "reading a user", err, errlen);
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- The rate limit ------------------------------------------------------------------------ */

/* Inside a transaction: how long until WHERE's key (?1) has fewer than the allowed failures
 * within the window; 0 when it has fewer already. */
static int limit_wait(store *s, const char *sql_count, const char *sql_nth, const char *key, int64_t now,
                      int64_t *wait, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int64_t since = now - login_window(s), count = 0;
    *wait = 0;
    if (store_db_prepare(s, sql_count, &st, err, errlen)) return STORE_ERR;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return store_db_fail(s, "counting failed logins", err, errlen);
    }
    count = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (count < login_max(s)) return STORE_OK;
    /* Attempts free up as failures leave the window: the (count - max + 1)-th oldest decides. */
    if (store_db_prepare(s, sql_nth, &st, err, errlen)) return STORE_ERR;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since);
    sqlite3_bind_int64(st, 3, count - login_max(s));
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return store_db_fail(s, "reading failed logins", err, errlen);
    }
    *wait = sqlite3_column_int64(st, 0) + login_window(s) - now;
    if (*wait < 1) *wait = 1;
    sqlite3_finalize(st);
    return STORE_OK;
}

/* Inside a transaction: refuses an attempt for NAME from CLIENT ("" unknown) when either has
 * reached the limit (STORE_ELIMITED, *RETRY set), else records it as a failure until its password
 * proves right (*ATTEMPT: the row's id). Recording it before the check, rather than after, keeps
 * the limit exact under concurrent attempts. */
static int attempt_begin(store *s, const char *name, const char *client, int64_t *attempt, int64_t *retry,
                         char *err, size_t errlen)
{
    int64_t now = store_db_now_ms(), wait_name, wait_client = 0;
    sqlite3_stmt *st;
    if (store_db_prepare(s, "DELETE FROM login_failure WHERE time_ms < ?1", &st, err, errlen)) return STORE_ERR;
    sqlite3_bind_int64(st, 1, now - login_window(s));
    if (step_done(s, st, "pruning failed logins", err, errlen)) return STORE_ERR;
    if (limit_wait(s, "SELECT count(*) FROM login_failure WHERE name = ?1 AND time_ms >= ?2",
                   "SELECT time_ms FROM login_failure WHERE name = ?1 AND time_ms >= ?2 ORDER BY time_ms "
                   "LIMIT 1 OFFSET ?3",
                   name, now, &wait_name, err, errlen))
        return STORE_ERR;
    if (*client && limit_wait(s, "SELECT count(*) FROM login_failure WHERE client = ?1 AND time_ms >= ?2",
                              "SELECT time_ms FROM login_failure WHERE client = ?1 AND time_ms >= ?2 ORDER BY "
                              "time_ms LIMIT 1 OFFSET ?3",
                              client, now, &wait_client, err, errlen))
        return STORE_ERR;
    if (wait_name || wait_client) {
        *retry = wait_name > wait_client ? wait_name : wait_client;
        return store_db_err(err, errlen, STORE_ELIMITED,
                            "too many failed password attempts for this user or from this client: try again "
                            "in %lld s", (long long)((*retry + 999) / 1000));
    }
    if (store_db_prepare(s, "INSERT INTO login_failure (name, client, time_ms) VALUES (?1, ?2, ?3)", &st, err,
                         errlen))
        return STORE_ERR;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, client, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    if (step_done(s, st, "noting a login attempt", err, errlen)) return STORE_ERR;
    *attempt = sqlite3_last_insert_rowid(s->db);
    return STORE_OK;
}

/* Inside a transaction, after a right password: the attempt and NAME's earlier failures go. */
static int attempt_succeeded(store *s, int64_t attempt, const char *name, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (store_db_prepare(s, "DELETE FROM login_failure WHERE id = ?1 OR name = ?2", &st, err, errlen))
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, attempt);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    return step_done(s, st, "clearing failed logins", err, errlen);
}

/* The stored password hash and user row read before a check. */
typedef struct {
    int known;
    store_user user;
    char hash[crypto_pwhash_STRBYTES];
} candidate;

/* Inside a transaction: reads the user by name (NAME non-NULL) or by ID into *C (c->known 0 when
 * there is none). */
static int read_candidate(store *s, const char *name, int64_t id, candidate *c, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    memset(c, 0, sizeof *c);
    if (store_db_prepare(s,
                         name ? "SELECT u.id, u.name, u.role, COALESCE(s.name, ''), u.created_ms, "
                                "COALESCE(u.disabled_ms, 0), u.password_hash FROM user_account u "
                                "LEFT JOIN site s ON s.id = u.site_id WHERE u.name = ?1"
                              : "SELECT u.id, u.name, u.role, COALESCE(s.name, ''), u.created_ms, "
                                "COALESCE(u.disabled_ms, 0), u.password_hash FROM user_account u "
                                "LEFT JOIN site s ON s.id = u.site_id WHERE u.id = ?2",
                         &st, err, errlen))
        return STORE_ERR;
    if (name) sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    else sqlite3_bind_int64(st, 2, id);
    int step = sqlite3_step(st), rc = STORE_OK;
    if (step == SQLITE_ROW) {
        read_user(st, &c->user);
        store_db_column_text(st, 6, c->hash, sizeof c->hash);
        c->known = 1;
    } else if (step != SQLITE_DONE) {
        rc = store_db_fail(s, "reading a user", err, errlen);
    }
    sqlite3_finalize(st);
    return rc;
}

/* The argon2id check, outside the lock; the dummy hash for an unknown user. */
static int password_matches(const candidate *c, const char *password)
{
    const char *pw = password ? password : "";
    size_t len = strnlen(pw, STORE_PASSWORD_MAX_BYTES + 1);
    int ok = crypto_pwhash_str_verify(c->known ? c->hash : dummy_hash, pw, len) == 0;
    return ok && c->known && !c->user.disabled_ms && len <= STORE_PASSWORD_MAX_BYTES;
}

/* ---- Login and sessions -------------------------------------------------------------------- */

static void random_token(char text[STORE_SESSION_CHARS + 1])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(text, STORE_SESSION_CHARS + 1, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

static void token_hash(const char *token, unsigned char hash[crypto_generichash_BYTES])
{
    crypto_generichash(hash, crypto_generichash_BYTES, (const unsigned char *)token, strlen(token), NULL, 0);
}

/* Inside a transaction: a new session for USER from CLIENT. */
static int session_create(store *s, const store_user *user, const char *client, char token[STORE_SESSION_CHARS + 1],
                          char csrf[STORE_SESSION_CHARS + 1], char *err, size_t errlen)
{
    unsigned char hash[crypto_generichash_BYTES];
    random_token(token);
    random_token(csrf);
    token_hash(token, hash);
    int64_t now = store_db_now_ms();
    sqlite3_stmt *st;
    if (store_db_prepare(s, "DELETE FROM session WHERE expires_ms <= ?1", &st, err, errlen)) return STORE_ERR;
    sqlite3_bind_int64(st, 1, now);
    if (step_done(s, st, "pruning expired sessions", err, errlen)) return STORE_ERR;
    if (store_db_prepare(s,
                         "INSERT INTO session (token_hash, user_id, csrf, client, created_ms, last_used_ms, "
                         "expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
                         &st, err, errlen))
        return STORE_ERR;
    sqlite3_bind_blob(st, 1, hash, sizeof hash, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, user->id);
    sqlite3_bind_text(st, 3, csrf, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, client, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    sqlite3_bind_int64(st, 6, now + session_idle(s));
    return step_done(s, st, "creating a session", err, errlen);
}

int store_login(store *s, const char *name, const char *password, const char *client,
                char token[STORE_SESSION_CHARS + 1], char csrf[STORE_SESSION_CHARS + 1], store_user *out,
                int64_t *retry_after_ms, char *err, size_t errlen)
{
    if (retry_after_ms) *retry_after_ms = 0;
    if (!client) client = "";
    if (!store_db_text_ok(client, 0, 128))
        return store_db_err(err, errlen, STORE_EINVAL, "the login's client must be 0..128 bytes of text");
    /* A malformed name is an unknown user, limited under one shared key. */
    const char *key = store_db_device_id_ok(name) ? name : "?";
    candidate c;
    int64_t attempt = 0, retry = 0;
    int rc = STORE_ERR;
    pthread_mutex_lock(&s->mu);
    if (store_db_begin(s, err, errlen)) goto unlock;
    rc = attempt_begin(s, key, client, &attempt, &retry, err, errlen);
    if (rc == STORE_OK) rc = read_candidate(s, key, 0, &c, err, errlen);
    if (rc == STORE_OK) rc = store_db_commit(s, err, errlen);
    if (rc != STORE_OK) store_db_rollback(s);
unlock:
    pthread_mutex_unlock(&s->mu);
    if (rc == STORE_ELIMITED && retry_after_ms) *retry_after_ms = retry;
    if (rc != STORE_OK) return rc;

    int ok = password_matches(&c, password);
    char rehash[crypto_pwhash_STRBYTES] = "";
    /* Hashes made with weaker parameters than today's are upgraded while the password is at hand. */
    if (ok && crypto_pwhash_str_needs_rehash(c.hash, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                             crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0 &&
        hash_password(password, rehash, err, errlen) != STORE_OK)
        rehash[0] = '\0';

    char actor[96], detail[192];
    snprintf(actor, sizeof actor, "user:%s", key);
    snprintf(detail, sizeof detail, "client %s", *client ? client : "unknown");
    rc = STORE_ERR;
    pthread_mutex_lock(&s->mu);
    if (store_db_begin(s, err, errlen)) goto done;
    if (ok) {
        if (attempt_succeeded(s, attempt, key, err, errlen)) goto fail;
        if (rehash[0]) {
            sqlite3_stmt *st;
            if (store_db_prepare(s, "UPDATE user_account SET password_hash = ?2 WHERE id = ?1", &st, err, errlen))
                goto fail;
            sqlite3_bind_int64(st, 1, c.user.id);
            sqlite3_bind_text(st, 2, rehash, -1, SQLITE_STATIC);
            if (step_done(s, st, "upgrading a password hash", err, errlen)) goto fail;
        }
        if (session_create(s, &c.user, client, token, csrf, err, errlen)) goto fail;
        if (store_db_audit(s, actor, "user.login", 0, detail, err, errlen)) goto fail;
    } else {
        if (store_db_audit(s, actor, "user.login_failed", 0, detail, err, errlen)) goto fail;
    }
    if (store_db_commit(s, err, errlen)) goto fail;
    if (ok) {
        if (out) *out = c.user;
        rc = STORE_OK;
    } else {
        rc = store_db_err(err, errlen, STORE_EAUTH, "unknown user or wrong password");
    }
    goto done;
fail:
    store_db_rollback(s);
done:
    pthread_mutex_unlock(&s->mu);
    sodium_memzero(&c, sizeof c);
    sodium_memzero(rehash, sizeof rehash);
    return rc;
}

int store_session_check(store *s, const char *token, store_user *out, char csrf[STORE_SESSION_CHARS + 1], char *err,
                        size_t errlen)
{
    if (!token || strlen(token) != STORE_SESSION_CHARS)
        return store_db_err(err, errlen, STORE_EAUTH, "no valid session: log in");
    unsigned char hash[crypto_generichash_BYTES];
    token_hash(token, hash);
    sqlite3_stmt *st = NULL;
    int rc = STORE_ERR;
    int64_t now = store_db_now_ms();
    pthread_mutex_lock(&s->mu);
    if (store_db_prepare(s,
                         "SELECT s.id, s.expires_ms, s.last_used_ms, s.csrf, u.id FROM session s "
                         "JOIN user_account u ON u.id = s.user_id WHERE s.token_hash = ?1",
                         &st, err, errlen))
        goto done;
    sqlite3_bind_blob(st, 1, hash, sizeof hash, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_DONE) {
        rc = store_db_err(err, errlen, STORE_EAUTH, "no valid session (logged out, or ended by a password change): "
                          "log in");
        goto done;
    }
    if (step != SQLITE_ROW) {
        store_db_fail(s, "reading a session", err, errlen);
        goto done;
    }
    int64_t id = sqlite3_column_int64(st, 0), expires = sqlite3_column_int64(st, 1);
    int64_t last_used = sqlite3_column_int64(st, 2), user_id = sqlite3_column_int64(st, 4);
    char stored_csrf[STORE_SESSION_CHARS + 1];
    store_db_column_text(st, 3, stored_csrf, sizeof stored_csrf);
    sqlite3_finalize(st);
    st = NULL;
    store_user user;
    char why[256];
    int live = expires > now;
    int user_rc = live ? store_db_user_load(s, user_id, &user, why, sizeof why) : STORE_EDENIED;
    if (user_rc == STORE_ERR) {
        rc = store_db_err(err, errlen, STORE_ERR, "%s", why);
        goto done;
    }
    if (!live || user_rc != STORE_OK) {
        if (write_for(s, "DELETE FROM session WHERE id = ?1", id, "ending a session", err, errlen)) goto done;
        rc = store_db_err(err, errlen, STORE_EAUTH, live ? "the session's user is disabled" :
                          "the session expired: log in again");
        goto done;
    }
    /* Refreshing on every request would cost a disk sync each: once per tenth of the idle time
     * (at most a minute) keeps the expiry within that of the last use. */
    int64_t every = session_idle(s) / 10 < 60000 ? session_idle(s) / 10 : 60000;
    if (now - last_used >= every) {
        if (store_db_prepare(s, "UPDATE session SET last_used_ms = ?2, expires_ms = ?3 WHERE id = ?1", &st, err,
                             errlen))
            goto done;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, now);
        sqlite3_bind_int64(st, 3, now + session_idle(s));
        int r = step_done(s, st, "refreshing a session", err, errlen);
        st = NULL;
        if (r) goto done;
    }
    if (out) *out = user;
    if (csrf) memcpy(csrf, stored_csrf, sizeof stored_csrf);
    rc = STORE_OK;
done:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_logout(store *s, const char *token, char *err, size_t errlen)
{
    if (!token) return STORE_OK;
    unsigned char hash[crypto_generichash_BYTES];
    token_hash(token, hash);
    sqlite3_stmt *st;
    pthread_mutex_lock(&s->mu);
    int rc = store_db_prepare(s, "DELETE FROM session WHERE token_hash = ?1", &st, err, errlen);
    if (rc == STORE_OK) {
        sqlite3_bind_blob(st, 1, hash, sizeof hash, SQLITE_STATIC);
        rc = step_done(s, st, "ending a session", err, errlen);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_user_verify_password(store *s, int64_t user_id, const char *password, char *err, size_t errlen)
{
    candidate c;
    int64_t attempt = 0, retry = 0;
    int rc = STORE_ERR;
    pthread_mutex_lock(&s->mu);
    if (store_db_begin(s, err, errlen)) goto unlock;
    rc = read_candidate(s, NULL, user_id, &c, err, errlen);
    if (rc == STORE_OK && !c.known) rc = store_db_err(err, errlen, STORE_EAUTH, "no such user");
    if (rc == STORE_OK) rc = attempt_begin(s, c.user.name, "", &attempt, &retry, err, errlen);
    if (rc == STORE_OK) rc = store_db_commit(s, err, errlen);
    if (rc != STORE_OK) store_db_rollback(s);
unlock:
    pthread_mutex_unlock(&s->mu);
    if (rc != STORE_OK) {
        sodium_memzero(&c, sizeof c);
        return rc;
    }
    int ok = password_matches(&c, password);
    char actor[96];
    store_db_user_actor(&c.user, actor);
    rc = STORE_ERR;
    pthread_mutex_lock(&s->mu);
    if (store_db_begin(s, err, errlen)) goto done;
    if (ok ? attempt_succeeded(s, attempt, c.user.name, err, errlen)
           : store_db_audit(s, actor, "user.reauth_failed", 0, "", err, errlen))
        goto fail;
    if (store_db_commit(s, err, errlen)) goto fail;
    rc = ok ? STORE_OK : store_db_err(err, errlen, STORE_EAUTH, "wrong password");
    goto done;
fail:
    store_db_rollback(s);
done:
    pthread_mutex_unlock(&s->mu);
    sodium_memzero(&c, sizeof c);
    return rc;
}

int store_can_see(const store_user *user, const store_recording *r)
{
    if (!user || !r || user->disabled_ms) return 0;
    if (!strcmp(user->role, "cardiologist") || !strcmp(user->role, "admin")) return 1;
    return !strcmp(user->role, "clinic") && user->site[0] && !strcmp(user->site, r->site);
}
