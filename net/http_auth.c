/* http_auth.c — the review API's login, logout, session cookie and CSRF check; the cookie and
 * Origin checks the live worklist socket (push.c) shares. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "http_impl.h"

/* The session cookie: HttpOnly (page scripts never see it), SameSite=Strict (other sites'
 * pages cannot send it), Secure over TLS. No Max-Age: the store ends idle sessions itself. */
static void set_cookie(http_req *r, const char *token, int clear)
{
    snprintf(r->set_cookie, sizeof r->set_cookie, "%s=%s; HttpOnly; SameSite=Strict; Path=/%s%s",
             HTTP_SESSION_COOKIE, clear ? "" : token, clear ? "; Max-Age=0" : "", r->ctx->tls ? "; Secure" : "");
}

/* {user, csrf}: what the page needs after a login and on every load. */
static int reply_session(http_req *r, const store_user *u, const char *csrf)
{
    cJSON *o = cJSON_CreateObject(), *user = http_json_user(u);
    if (!o || !user || !cJSON_AddItemToObject(o, "user", user)) {
        cJSON_Delete(user);
        cJSON_Delete(o);
        return http_reply_json(r, HTTP_STATUS_OK, NULL);
    }
    if (!cJSON_AddStringToObject(o, "csrf", csrf)) {
        cJSON_Delete(o);
        o = NULL;
    }
    return http_reply_json(r, HTTP_STATUS_OK, o);
}

int http_auth_login(http_req *r)
{
    int rc;
    cJSON *body = http_json_body(r, &rc);
    if (!body) return rc;
    const char *name = http_json_string(body, "name"), *password = http_json_string(body, "password");
    if (!name || !password) {
        cJSON_Delete(body);
        return http_reply_error(r, HTTP_STATUS_BAD_REQUEST, "a login needs \"name\" and \"password\" (strings)");
    }
    char peer[128] = "";
    lws_get_peer_simple(r->wsi, peer, sizeof peer);
    char token[STORE_SESSION_CHARS + 1], csrf[STORE_SESSION_CHARS + 1], err[512] = "";
    store_user u;
    int64_t retry_ms = 0;
    int src = store_login(r->ctx->st, name, password, peer, token, csrf, &u, &retry_ms, err, sizeof err);
    cJSON_Delete(body);
    switch (src) {
    case STORE_OK:
        set_cookie(r, token, 0);
        rc = reply_session(r, &u, csrf);
        sodium_memzero(token, sizeof token);
        return rc;
    case STORE_EAUTH:
        /* One answer for an unknown name, a wrong password and a disabled user. */
        return http_reply_error(r, HTTP_STATUS_UNAUTHORIZED, "wrong name or password");
    case STORE_ELIMITED:
        r->retry_after_s = retry_ms > 0 ? (retry_ms + 999) / 1000 : 0;
        return http_reply_store(r, src, err);
    default:
        return http_reply_store(r, src, err);
    }
}

int http_auth_cookie_session(store *st, struct lws *wsi, store_user *user, char token[STORE_SESSION_CHARS + 1],
                             char csrf[STORE_SESSION_CHARS + 1], char *err, size_t errlen)
{
    char got[128];
    size_t len = sizeof got;
    if (lws_http_cookie_get(wsi, HTTP_SESSION_COOKIE, got, &len) || len != STORE_SESSION_CHARS) {
        snprintf(err, errlen, "not logged in: POST /api/login first");
        sodium_memzero(got, sizeof got);
        return STORE_EAUTH;
    }
    int src = store_session_check(st, got, user, csrf, err, errlen);
    if (src == STORE_OK) memcpy(token, got, STORE_SESSION_CHARS + 1);
    sodium_memzero(got, sizeof got);
    return src;
}

int http_auth_same_origin(struct lws *wsi, int tls)
{
    char origin[300], host[256], want[300];
    if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) <= 0) return 0;
    if (lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) <= 0) return 0;
    int n = snprintf(want, sizeof want, "%s://%s", tls ? "https" : "http", host);
    return n > 0 && (size_t)n < sizeof want && !strcasecmp(origin, want);
}

int http_auth_session(http_req *r, int *rc)
{
    char err[512] = "";
    int src = http_auth_cookie_session(r->ctx->st, r->wsi, &r->user, r->token, r->csrf, err, sizeof err);
    if (src == STORE_EAUTH) {
        *rc = http_reply_error(r, HTTP_STATUS_UNAUTHORIZED, err);
        return 1;
    }
    if (src != STORE_OK) {
        *rc = http_reply_store(r, src, err);
        return 1;
    }
    return 0;
}

int http_auth_csrf(http_req *r, int *rc)
{
    char got[128];
    int n = lws_hdr_custom_copy(r->wsi, got, (int)sizeof got, "x-csrf-token:", 13);
    size_t want = strlen(r->csrf);
    if (n < 0 || (size_t)n != want || want == 0 || sodium_memcmp(got, r->csrf, want) != 0) {
        *rc = http_reply_error(r, HTTP_STATUS_FORBIDDEN,
                               n < 0 ? "missing X-CSRF-Token header: send the csrf value from /api/login or /api/me"
                                     : "wrong X-CSRF-Token: send the csrf value from /api/login or /api/me");
        return 1;
    }
    return 0;
}

int http_auth_logout(http_req *r)
{
    char err[512] = "";
    int src = store_logout(r->ctx->st, r->token, err, sizeof err);
    if (src != STORE_OK) return http_reply_store(r, src, err);
    set_cookie(r, "", 1);
    return http_reply(r, HTTP_STATUS_NO_CONTENT, "application/json; charset=utf-8", "", 0);
}

int http_auth_me(http_req *r) { return reply_session(r, &r->user, r->csrf); }
