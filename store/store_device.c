/* store_device.c — devices: registration with a one-time token, revocation, listing, authentication. */
#include "store_impl.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sodium_base64_ENCODED_LEN(STORE_TOKEN_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING) ==
                   STORE_TOKEN_CHARS + 1,
               "STORE_TOKEN_CHARS must be the base64url length of STORE_TOKEN_BYTES");

/* The stored form of a token: BLAKE2b-256 of its text (see store.h for why not a password hash). */
static void token_hash(const char *token, unsigned char hash[crypto_generichash_BYTES])
{
    crypto_generichash(hash, crypto_generichash_BYTES, (const unsigned char *)token, strlen(token), NULL, 0);
}

static int bad_site(char *err, size_t errlen)
{
    return store_db_err(err, errlen, STORE_EINVAL,
                        "site name must be 1..64 bytes of UTF-8 text without control characters");
}

static int bad_device_id(const char *id, char *err, size_t errlen)
{
    return store_db_err(err, errlen, STORE_EINVAL,
                        "device id '%.80s' is invalid: use 1..64 characters of A-Z a-z 0-9 . _ -",
                        id ? id : "(null)");
}

int store_device_add(store *s, const char *device_id, const char *site, char token[STORE_TOKEN_CHARS + 1],
                     char *err, size_t errlen)
{
    if (!store_db_device_id_ok(device_id)) return bad_device_id(device_id, err, errlen);
    if (!store_db_text_ok(site, 1, 64)) return bad_site(err, errlen);
    unsigned char raw[STORE_TOKEN_BYTES], hash[crypto_generichash_BYTES];
    char text[STORE_TOKEN_CHARS + 1];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(text, sizeof text, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    token_hash(text, hash);

    store_stmt *st = NULL;
    int rc = STORE_ERR;
    int64_t site_id;
    pthread_mutex_lock(&s->mu);
    if (store_db_begin(s, err, errlen)) goto done;
    if (store_db_prepare(s, "SELECT 1 FROM device WHERE name = ?1", &st, err, errlen)) goto fail;
    store_sql_bind_text(st, 1, device_id);
    int step = store_sql_step(st);
    if (step == STORE_SQL_ROW) {
        rc = store_db_err(err, errlen, STORE_EEXIST,
                          "%s: device '%s' already exists (device ids are never reused, also after "
                          "revocation: choose another id)", s->path, device_id);
        goto fail;
    }
    if (step != STORE_SQL_DONE) {
        store_db_fail(s, "looking up a device", err, errlen);
        goto fail;
    }
    store_sql_finalize(st);
    st = NULL;
    if (store_db_site_id(s, site, &site_id, err, errlen)) goto fail;
    if (store_db_prepare(s, "INSERT INTO device (name, site_id, token_hash, created_ms) VALUES (?1, ?2, ?3, ?4)",
                         &st, err, errlen))
        goto fail;
    store_sql_bind_text(st, 1, device_id);
    store_sql_bind_int64(st, 2, site_id);
    store_sql_bind_blob(st, 3, hash, sizeof hash);
    store_sql_bind_int64(st, 4, store_db_now_ms());
    if (store_sql_step(st) != STORE_SQL_DONE) {
        store_db_fail(s, "adding a device", err, errlen);
        goto fail;
    }
    char detail[256];
    snprintf(detail, sizeof detail, "device %s at site %s", device_id, site);
    if (store_db_audit(s, "cli", "device.add", 0, detail, err, errlen)) goto fail;
    if (store_db_commit(s, err, errlen)) goto fail;
    memcpy(token, text, sizeof text);
    rc = STORE_OK;
    goto done;
fail:
    store_db_rollback(s);
done:
    store_sql_finalize(st);
    pthread_mutex_unlock(&s->mu);
    sodium_memzero(text, sizeof text);
    return rc;
}

int store_device_revoke(store *s, const char *device_id, char *err, size_t errlen)
{
    if (!store_db_device_id_ok(device_id)) return bad_device_id(device_id, err, errlen);
    store_stmt *st = NULL;
    int rc = STORE_ERR;
    pthread_mutex_lock(&s->mu);
    if (store_db_begin(s, err, errlen)) goto done;
    if (store_db_prepare(s, "SELECT id, revoked_ms FROM device WHERE name = ?1", &st, err, errlen)) goto fail;
    store_sql_bind_text(st, 1, device_id);
    int step = store_sql_step(st);
    if (step == STORE_SQL_DONE) {
        rc = store_db_err(err, errlen, STORE_ENOTFOUND, "%s: no device '%s'", s->path, device_id);
        goto fail;
    }
    if (step != STORE_SQL_ROW) {
        store_db_fail(s, "looking up a device", err, errlen);
        goto fail;
    }
    if (!store_sql_is_null(st, 1)) {
        rc = store_db_err(err, errlen, STORE_EREVOKED, "%s: device '%s' was already revoked", s->path, device_id);
        goto fail;
    }
    int64_t id = store_sql_int64(st, 0);
    store_sql_finalize(st);
    st = NULL;
    if (store_db_prepare(s, "UPDATE device SET revoked_ms = ?1 WHERE id = ?2", &st, err, errlen)) goto fail;
    store_sql_bind_int64(st, 1, store_db_now_ms());
    store_sql_bind_int64(st, 2, id);
    if (store_sql_step(st) != STORE_SQL_DONE) {
        store_db_fail(s, "revoking a device", err, errlen);
        goto fail;
    }
    char detail[128];
    snprintf(detail, sizeof detail, "device %s", device_id);
    if (store_db_audit(s, "cli", "device.revoke", 0, detail, err, errlen)) goto fail;
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

static int read_device(store_stmt *st, void *item)
{
    store_device *d = item;
    store_db_column_text(st, 0, d->id, sizeof d->id);
    store_db_column_text(st, 1, d->site, sizeof d->site);
    d->created_ms = store_sql_int64(st, 2);
    d->revoked_ms = store_sql_int64(st, 3);
    d->last_seen_ms = store_sql_int64(st, 4);
    return 1;
}

int store_device_list(store *s, store_device **out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    store_stmt *st = NULL;
    int rc = STORE_ERR;
    pthread_mutex_lock(&s->mu);
    if (store_db_prepare(s,
                         "SELECT d.name, s.name, d.created_ms, COALESCE(d.revoked_ms, 0), COALESCE(d.last_seen_ms, 0) "
                         "FROM device d JOIN site s ON s.id = d.site_id ORDER BY d.name",
                         &st, err, errlen) == STORE_OK)
        rc = store_db_collect(s, st, sizeof **out, read_device, (void **)out, n, NULL, "listing devices", err, errlen);
    store_sql_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_device_auth(store *s, const char *device_id, const char *token, char site[65], char *err,
                      size_t errlen)
{
    /* Hash before looking up, and compare even when the device is unknown, so that neither the
     * code, the message nor the time tells a prober whether a device id exists. */
    unsigned char hash[crypto_generichash_BYTES], stored[crypto_generichash_BYTES] = {0};
    token_hash(token ? token : "", hash);
    int known = 0, revoked = 0;
    int64_t id = 0;
    char site_name[65] = "";
    store_stmt *st = NULL;
    int rc = STORE_ERR;
    pthread_mutex_lock(&s->mu);
    if (store_db_device_id_ok(device_id)) {
        if (store_db_prepare(s,
                             "SELECT d.id, d.token_hash, CASE WHEN d.revoked_ms IS NOT NULL THEN 1 ELSE 0 END, s.name "
                             "FROM device d JOIN site s ON s.id = d.site_id WHERE d.name = ?1",
                             &st, err, errlen))
            goto done;
        store_sql_bind_text(st, 1, device_id);
        int step = store_sql_step(st);
        size_t hashlen = 0;
        const void *hash = step == STORE_SQL_ROW ? store_sql_blob(st, 1, &hashlen) : NULL;
        if (hash && hashlen == sizeof stored) {
            known = 1;
            id = store_sql_int64(st, 0);
            memcpy(stored, hash, sizeof stored);
            revoked = store_sql_int(st, 2);
            store_db_column_text(st, 3, site_name, sizeof site_name);
        } else if (step != STORE_SQL_ROW && step != STORE_SQL_DONE) {
            store_db_fail(s, "looking up a device", err, errlen);
            goto done;
        }
        store_sql_finalize(st);
        st = NULL;
    }
    int match = sodium_memcmp(hash, stored, sizeof hash) == 0;
    if (!known || !match || !token || strlen(token) != STORE_TOKEN_CHARS) {
        rc = store_db_err(err, errlen, STORE_EAUTH, "unknown device or wrong token");
        goto done;
    }
    if (revoked) {
        rc = store_db_err(err, errlen, STORE_EREVOKED, "device '%s' was revoked", device_id);
        goto done;
    }
    if (store_db_prepare(s, "UPDATE device SET last_seen_ms = ?1 WHERE id = ?2", &st, err, errlen)) goto done;
    store_sql_bind_int64(st, 1, store_db_now_ms());
    store_sql_bind_int64(st, 2, id);
    if (store_sql_step(st) != STORE_SQL_DONE) {
        store_db_fail(s, "noting when a device was last seen", err, errlen);
        goto done;
    }
    if (site) memcpy(site, site_name, sizeof site_name);
    rc = STORE_OK;
done:
    store_sql_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}
