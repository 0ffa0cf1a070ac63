/* store_login.c — logins with a rate limit, sessions with CSRF tokens, re-authentication, access. */
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

/* ---- The rate limit ------------------------------------------------------------------------ */

/* Inside a transaction: how long until WHERE's key (?1) has fewer than the allowed failures
 * within the window; 0 when it has fewer already. */
static int limit_wait(store *s, const char *sql_count, const char *sql_nth, const char *key, int64_t now,
                      int64_t *wait, char *err, size_t errlen)
{
    store_stmt *st;
    int64_t since = now - login_window(s), count = 0;
    *wait = 0;
    if (store_db_prepare(s, sql_count, &st, err, errlen)) return STORE_ERR;
    store_sql_bind_text(st, 1, key);
    store_sql_bind_int64(st, 2, since);
    if (store_sql_step(st) != STORE_SQL_ROW) {
        store_sql_finalize(st);
        return store_db_fail(s, "counting failed logins", err, errlen);
    }
    count = store_sql_int64(st, 0);
    store_sql_finalize(st);
    if (count < login_max(s)) return STORE_OK;
    /* Attempts free up as failures leave the window: the (count - max + 1)-th oldest decides. */
    if (store_db_prepare(s, sql_nth, &st, err, errlen)) return STORE_ERR;
    store_sql_bind_text(st, 1, key);
    store_sql_bind_int64(st, 2, since);
    store_sql_bind_int64(st, 3, count - login_max(s));
    if (store_sql_step(st) != STORE_SQL_ROW) {
        store_sql_finalize(st);
        return store_db_fail(s, "reading failed logins", err, errlen);
    }
    *wait = store_sql_int64(st, 0) + login_window(s) - now;
    if (*wait < 1) *wait = 1;
    store_sql_finalize(st);
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
    store_stmt *st;
    if (store_db_prepare(s, "DELETE FROM login_failure WHERE time_ms < ?1", &st, err, errlen)) return STORE_ERR;
    store_sql_bind_int64(st, 1, now - login_window(s));
    if (store_db_step_done(s, st, "pruning failed logins", err, errlen)) return STORE_ERR;
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
    if (store_db_prepare(s, "INSERT INTO login_failure (name, client, time_ms) VALUES (?1, ?2, ?3) RETURNING id", &st, err,
                         errlen))
        return STORE_ERR;
    store_sql_bind_text(st, 1, name);
    store_sql_bind_text(st, 2, client);
    store_sql_bind_int64(st, 3, now);
    int step = store_sql_step(st);
    if (step == STORE_SQL_ROW) *attempt = store_sql_int64(st, 0);
    store_sql_finalize(st);
    return step == STORE_SQL_ROW ? STORE_OK : store_db_fail(s, "noting a login attempt", err, errlen);
}

/* Inside a transaction, after a right password: the attempt and NAME's earlier failures go. */
static int attempt_succeeded(store *s, int64_t attempt, const char *name, char *err, size_t errlen)
{
    store_stmt *st;
    if (store_db_prepare(s, "DELETE FROM login_failure WHERE id = ?1 OR name = ?2", &st, err, errlen))
        return STORE_ERR;
    store_sql_bind_int64(st, 1, attempt);
    store_sql_bind_text(st, 2, name);
    return store_db_step_done(s, st, "clearing failed logins", err, errlen);
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
    store_stmt *st;
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
    if (name) store_sql_bind_text(st, 1, name);
    else store_sql_bind_int64(st, 2, id);
    int step = store_sql_step(st), rc = STORE_OK;
    if (step == STORE_SQL_ROW) {
        store_db_user_read(st, &c->user);
        store_db_column_text(st, 6, c->hash, sizeof c->hash);
        c->known = 1;
    } else if (step != STORE_SQL_DONE) {
        rc = store_db_fail(s, "reading a user", err, errlen);
    }
    store_sql_finalize(st);
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
    store_stmt *st;
    if (store_db_prepare(s, "DELETE FROM session WHERE expires_ms <= ?1", &st, err, errlen)) return STORE_ERR;
    store_sql_bind_int64(st, 1, now);
    if (store_db_step_done(s, st, "pruning expired sessions", err, errlen)) return STORE_ERR;
    if (store_db_prepare(s,
                         "INSERT INTO session (token_hash, user_id, csrf, client, created_ms, last_used_ms, "
                         "expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
                         &st, err, errlen))
        return STORE_ERR;
    store_sql_bind_blob(st, 1, hash, sizeof hash);
    store_sql_bind_int64(st, 2, user->id);
    store_sql_bind_text(st, 3, csrf);
    store_sql_bind_text(st, 4, client);
    store_sql_bind_int64(st, 5, now);
    store_sql_bind_int64(st, 6, now + session_idle(s));
    return store_db_step_done(s, st, "creating a session", err, errlen);
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
    if (rc != STORE_OK) {
        sodium_memzero(&c, sizeof c);
        return rc;
    }

    int ok = password_matches(&c, password);
    char rehash[crypto_pwhash_STRBYTES] = "";
    /* Hashes made with weaker parameters than today's are upgraded while the password is at hand. */
    if (ok && crypto_pwhash_str_needs_rehash(c.hash, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                             crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0 &&
        store_db_password_hash(password, rehash, err, errlen) != STORE_OK)
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
            store_stmt *st;
            if (store_db_prepare(s, "UPDATE user_account SET password_hash = ?2 WHERE id = ?1", &st, err, errlen))
                goto fail;
            store_sql_bind_int64(st, 1, c.user.id);
            store_sql_bind_text(st, 2, rehash);
            if (store_db_step_done(s, st, "upgrading a password hash", err, errlen)) goto fail;
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
    store_stmt *st = NULL;
    int rc = STORE_ERR;
    int64_t now = store_db_now_ms();
    pthread_mutex_lock(&s->mu);
    if (store_db_prepare(s,
                         "SELECT s.id, s.expires_ms, s.last_used_ms, s.csrf, u.id FROM session s "
                         "JOIN user_account u ON u.id = s.user_id WHERE s.token_hash = ?1",
                         &st, err, errlen))
        goto done;
    store_sql_bind_blob(st, 1, hash, sizeof hash);
    int step = store_sql_step(st);
    if (step == STORE_SQL_DONE) {
        rc = store_db_err(err, errlen, STORE_EAUTH, "no valid session (logged out, or ended by a password change): "
                          "log in");
        goto done;
    }
    if (step != STORE_SQL_ROW) {
        store_db_fail(s, "reading a session", err, errlen);
        goto done;
    }
    int64_t id = store_sql_int64(st, 0), expires = store_sql_int64(st, 1);
    int64_t last_used = store_sql_int64(st, 2), user_id = store_sql_int64(st, 4);
    char stored_csrf[STORE_SESSION_CHARS + 1];
    store_db_column_text(st, 3, stored_csrf, sizeof stored_csrf);
    store_sql_finalize(st);
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
        if (store_db_prepare(s, "DELETE FROM session WHERE id = ?1", &st, err, errlen)) goto done;
        store_sql_bind_int64(st, 1, id);
        int r = store_db_step_done(s, st, "ending a session", err, errlen);
        st = NULL;
        if (r) goto done;
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
        store_sql_bind_int64(st, 1, id);
        store_sql_bind_int64(st, 2, now);
        store_sql_bind_int64(st, 3, now + session_idle(s));
        int r = store_db_step_done(s, st, "refreshing a session", err, errlen);
        st = NULL;
        if (r) goto done;
    }
    if (out) *out = user;
    if (csrf) memcpy(csrf, stored_csrf, sizeof stored_csrf);
    rc = STORE_OK;
done:
    store_sql_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_logout(store *s, const char *token, char *err, size_t errlen)
{
    if (!token) return STORE_OK;
    unsigned char hash[crypto_generichash_BYTES];
    token_hash(token, hash);
    store_stmt *st;
    pthread_mutex_lock(&s->mu);
    int rc = store_db_prepare(s, "DELETE FROM session WHERE token_hash = ?1", &st, err, errlen);
    if (rc == STORE_OK) {
        store_sql_bind_blob(st, 1, hash, sizeof hash);
        rc = store_db_step_done(s, st, "ending a session", err, errlen);
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
