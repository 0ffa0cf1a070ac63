/* http_impl.h — private to http*.c: one HTTP request's state and the helpers the handlers share.
 *
 * Every function here runs on the event loop. A handler answers exactly once, through one of the
 * http_reply* functions, and returns what the libwebsockets callback must return (0 carry on,
 * -1 close); after replying it must not touch the request's body or response fields again.
 */
#ifndef ECGNET_NET_HTTP_IMPL_H
#define ECGNET_NET_HTTP_IMPL_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "http.h"
#include "proto.h"

#define HTTP_MAX_BODY (64 * 1024)         /* bytes of request body accepted */
#define HTTP_DRAIN_BODY (1024 * 1024)     /* bodies up to this are read and dropped before the 413
                                           * (closing on unread data resets the connection, and the
                                           * client would never see the answer); larger: closed */
#define HTTP_PATH_MAX 512
#define HTTP_SESSION_COOKIE "ecgnet_session"

/* One request (and its connection's state between requests: reset at each new request). */
typedef struct {
    http_ctx *ctx;
    struct lws *wsi;
    int method;                 /* LWSHUMETH_GET, _POST, _PUT, _DELETE, ...; -1 unknown */
    char path[HTTP_PATH_MAX];   /* without the query */
    int64_t content_length;     /* -1 when absent */
    char *body;                 /* NUL-terminated, body_len bytes; NULL when none */
    size_t body_len, body_cap;
    int body_too_big;           /* more than HTTP_MAX_BODY bytes arrived: answer 413 */
    /* the session, once http_auth_session succeeded */
    store_user user;
    char token[STORE_SESSION_CHARS + 1];
    char csrf[STORE_SESSION_CHARS + 1];
    http_pdf_job *job;          /* a PDF being drawn for this request; NULL when none */
    /* extra response headers, set by a handler before it replies */
    char set_cookie[256];       /* "" none */
    int64_t retry_after_s;      /* 0 none */
    const char *allow;          /* for 405; NULL none */
    int close_after;            /* close the connection once the response is out */
    int answered;               /* http_reply ran for this request: never answer twice */
    /* the response body being written (LWS_PRE bytes of headroom before out_len bytes) */
    uint8_t *out;
    size_t out_len, out_sent;
} http_req;

/* ---- http_reply.c: answers ---- */

/* Answers CODE with BODY (LEN bytes, copied) of Content-Type TYPE, Cache-Control: no-store and
 * the extra headers set in R; the body is written as the connection can take it. Returns the
 * callback's return value (-1 when the headers cannot be written). */
int http_reply(http_req *r, unsigned code, const char *type, const char *body, size_t len);

/* Answers 200 with BODY (LEN bytes, copied) of Content-Type TYPE as a file to save:
 * Content-Disposition: attachment; filename="FILENAME" (in FILENAME, spaces, quotes, backslashes
 * and anything not printable ASCII become '_'), and the headers of http_reply. */
int http_reply_download(http_req *r, const char *type, const char *filename, const void *body, size_t len);

/* Answers CODE with the JSON text of OBJ (application/json; charset=utf-8) and frees OBJ. A
 * NULL OBJ (a failed allocation while building it) answers 500. */
int http_reply_json(http_req *r, unsigned code, cJSON *obj);

/* Answers CODE with {"error": MESSAGE}. */
int http_reply_error(http_req *r, unsigned code, const char *message);

/* Answers a store failure RC (a STORE_E* code) with its status: EINVAL 400, EAUTH 401, EDENIED
 * 403, ENOTFOUND 404, EBUSY and ESTATE 409, ELIMITED 429 (with Retry-After), anything else 500
 * (the message is logged, the client is told only that the server failed: the store's
 * messages name files on the server). */
int http_reply_store(http_req *r, int rc, const char *err);

/* Writes the next part of R's response body on LWS_CALLBACK_HTTP_WRITEABLE; returns the
 * callback's return value. */
int http_reply_writeable(http_req *r);

/* ---- http_auth.c: login, sessions, CSRF ---- */

int http_auth_login(http_req *r);   /* POST /api/login */
int http_auth_logout(http_req *r);  /* POST /api/logout (after http_auth_session, CSRF) */
int http_auth_me(http_req *r);      /* GET /api/me (after http_auth_session) */

/* Reads the session cookie and checks it: 0 with r->user, r->token and r->csrf filled, or 1
 * after answering 401 (or 500) itself; *RC receives the callback's return value then. */
int http_auth_session(http_req *r, int *rc);

/* Checks header X-CSRF-Token against the session's token (in constant time): 0 when it matches,
 * or 1 after answering 403; *RC receives the callback's return value then. */
int http_auth_csrf(http_req *r, int *rc);

/* ---- http_review.c: the worklist and the review workflow ---- */

int http_review_worklist(http_req *r);                          /* GET /api/worklist */
int http_review_claim_next(http_req *r);                        /* POST /api/worklist/claim-next */
int http_review_recording(http_req *r, int64_t id);             /* GET /api/recordings/{id} */
int http_review_history(http_req *r, int64_t id);               /* GET .../{id}/history */
int http_review_export(http_req *r, int64_t id, const char *format); /* GET .../{id}/export.hl7|.fhir.json */
int http_review_patient(http_req *r, const char *patient_id);   /* GET /api/patients/{pid}/recordings */
/* POST .../{id}/claim, release, sign, amend, repeat and PUT .../{id}/report, by ACTION. */
int http_review_action(http_req *r, int64_t id, const char *action);

/* ---- http_signal.c: samples from a recording's journal ---- */

int http_signal(http_req *r, int64_t id);                       /* GET .../{id}/signal */

/* Answers 410 Gone for a recording whose samples were deleted after its retention period (the
 * recording, its report and its audit stay). */
int http_reply_purged(http_req *r, const store_recording *rec);

/* A window of a recording's samples in microvolts, as read from its journal. */
typedef struct {
    proto_hello *hello;  /* the device's hello kept in the journal: fs, leads (names, scaling) */
    int64_t from, step;  /* the first sample, and every step-th one after it */
    size_t want, got;    /* points per lead asked for (data's stride per lead), and read */
    double *data;        /* want values per lead, lead after lead: (sample - baseline) * uv_per_unit;
                          * the first got of each lead are filled */
} http_window;

/* Reads the samples FROM, FROM + STEP, ... of the journal JOURNAL that fall in [FROM, FROM +
 * COUNT), at most MAX_VALUES values over all leads, into *W (fewer when the journal ends first;
 * a journal still being written is read as far as it goes). No lock is taken. Returns 0 (free
 * *W with http_signal_window_free), or -1 with a message in ERR naming the journal (cannot read
 * it, its hello does not parse, out of memory), *W then empty. */
int http_signal_window(const char *journal, int64_t from, int64_t step, int64_t count, size_t max_values,
                       http_window *w, char *err, size_t errlen);
void http_signal_window_free(http_window *w);

/* ---- http_critical.c: critical values (危急值) ---- */

int http_critical_confirm(http_req *r, int64_t id);            /* POST .../{id}/critical */
int http_critical_ack(http_req *r, int64_t id);                /* POST .../{id}/critical/ack */
int http_critical_list(http_req *r);                           /* GET /api/critical */

/* ---- http_pdf.c ---- */

int http_pdf_export(http_req *r, int64_t id);                   /* GET .../{id}/export.pdf */
/* Under ctx->mu: the job's request is gone; its result will be dropped. */
void http_pdf_job_detach(http_pdf_job *job);

/* ---- http_json.c: store structs as JSON, request bodies and queries ---- */

cJSON *http_json_user(const store_user *u);
cJSON *http_json_item(const store_review_item *it);         /* a recording with its review */
cJSON *http_json_flag(const store_flag *f);
cJSON *http_json_report(const store_report *rep);
cJSON *http_json_times(const store_times *t);
cJSON *http_json_critical(const store_critical *c);         /* a critical value's notice */

/* Appends ITEM (may be NULL: out of memory) to array A. Returns 0, or -1 with ITEM freed: the
 * caller gives up the array. */
int http_json_append(cJSON *a, cJSON *item);

/* Adds "flags": [...] of recording ID to O. Returns STORE_OK or the store's code (err set). */
int http_json_add_flags(http_ctx *ctx, cJSON *o, int64_t id, char *err, size_t errlen);

/* Parses R's body as a JSON object: the object (caller frees), or NULL after answering 400
 * itself (*RC receives the callback's return value then). */
cJSON *http_json_body(http_req *r, int *rc);

/* The string member NAME of O, or NULL when absent or not a string. */
const char *http_json_string(const cJSON *o, const char *name);

/* The query argument NAME (without '=') of R's URL, decoded, into BUF: 1 when present, 0 when
 * absent, -1 when longer than the buffer. */
int http_query(http_req *r, const char *name, char *buf, size_t len);

/* Parses TEXT as a whole decimal integer in LO..HI: 0 with *OUT, or -1. */
int http_parse_int(const char *text, int64_t lo, int64_t hi, int64_t *out);

#endif
