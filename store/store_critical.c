/* store_critical.c — critical values (危急值): confirmation by a cardiologist with whom at the clinic
 * they told, the clinic's acknowledgement, escalation when none comes in time. */
#include "store_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int store_set_critical_ack_timeout(store *s, int64_t ms)
{
    if (ms <= 0) return STORE_EINVAL;
    pthread_mutex_lock(&s->mu);
    s->critical_ack_ms = ms;
    pthread_mutex_unlock(&s->mu);
    return STORE_OK;
}

static int64_t ack_timeout(const store *s)
{
    return s->critical_ack_ms ? s->critical_ack_ms : STORE_CRITICAL_ACK_TIMEOUT_MS;
}

/* Every read of notices selects these columns, in this order (read_notice). */
#define NOTICE_SELECT                                                                              \
    "SELECT n.recording_id, s.name, r.patient_id, n.finding, c.name, n.confirmed_ms, n.notified, "  \
    "n.notified_ms, COALESCE(a.name, ''), COALESCE(n.acked_ms, 0), COALESCE(n.escalated_ms, 0) "    \
    "FROM critical_notice n JOIN recording r ON r.id = n.recording_id JOIN site s ON s.id = r.site_id " \
    "JOIN user_account c ON c.id = n.confirmed_by LEFT JOIN user_account a ON a.id = n.acked_by "

/* The acknowledgement time, for due_ms: set after reading (store_db_collect's reader has no S). */
static int read_notice(store_stmt *st, void *item)
{
    store_critical *c = item;
    c->recording = store_sql_int64(st, 0);
    store_db_column_text(st, 1, c->site, sizeof c->site);
    store_db_column_text(st, 2, c->patient_id, sizeof c->patient_id);
    store_db_column_text(st, 3, c->finding, sizeof c->finding);
    store_db_column_text(st, 4, c->confirmed_by, sizeof c->confirmed_by);
    c->confirmed_ms = store_sql_int64(st, 5);
    store_db_column_text(st, 6, c->notified, sizeof c->notified);
    c->notified_ms = store_sql_int64(st, 7);
    store_db_column_text(st, 8, c->acked_by, sizeof c->acked_by);
    c->acked_ms = store_sql_int64(st, 9);
    c->escalated_ms = store_sql_int64(st, 10);
    return 1;
}

/* Inside the lock: recording ID's notice into *OUT; STORE_ENOTFOUND without one. */
static int read_one(store *s, int64_t id, store_critical *out, char *err, size_t errlen)
{
    store_stmt *st;
    if (store_db_prepare(s, NOTICE_SELECT "WHERE n.recording_id = ?1", &st, err, errlen)) return STORE_ERR;
    store_sql_bind_int64(st, 1, id);
    int step = store_sql_step(st), rc = STORE_OK;
    if (step == STORE_SQL_ROW) {
        memset(out, 0, sizeof *out);
        read_notice(st, out);
        out->due_ms = out->confirmed_ms + ack_timeout(s);
    } else if (step == STORE_SQL_DONE) {
        rc = store_db_err(err, errlen, STORE_ENOTFOUND, "no critical value was confirmed on recording %lld",
                          (long long)id);
    } else {
        rc = store_db_fail(s, "reading a critical value", err, errlen);
    }
    store_sql_finalize(st);
    return rc;
}

/* Inside the caller's transaction, after its change: the audit row of ME's ACTION on recording
 * ID, the notice read back into *OUT (unless NULL), the commit. STORE_OK or the failing code. */
static int audit_and_commit(store *s, const store_user *me, const char *action, int64_t id, const char *detail,
                            store_critical *out, char *err, size_t errlen)
{
    char actor[96];
    store_db_user_actor(me, actor);
    int rc = store_db_audit(s, actor, action, id, detail, err, errlen);
    if (rc == STORE_OK && out) rc = read_one(s, id, out, err, errlen);
    return rc == STORE_OK ? store_db_commit(s, err, errlen) : rc;
}

int store_critical_confirm(store *s, const store_user *user, int64_t id, const char *finding, const char *notified,
                           int64_t notified_ms, store_critical *out, char *err, size_t errlen)
{
    if (!store_db_text_ok(finding, 1, 255))
        return store_db_err(err, errlen, STORE_EINVAL, "the critical finding must be 1..255 bytes of text");
    if (!store_db_text_ok(notified, 1, 127))
        return store_db_err(err, errlen, STORE_EINVAL,
                            "whom the clinic's notice went to must be named: a name or staff id, 1..127 bytes");
    int64_t now = store_db_now_ms();
    if (!notified_ms) notified_ms = now;
    if (notified_ms < 0 || notified_ms > now + 60000)
        return store_db_err(err, errlen, STORE_EINVAL, "the notification time must not be in the future");
    store_user me;
    store_stmt *st = NULL;
    pthread_mutex_lock(&s->mu);
    int rc = store_db_begin(s, err, errlen);
    if (rc) goto done;
    if ((rc = store_db_actor(s, user, 1, "confirm critical values", &me, err, errlen)) != STORE_OK) goto fail;
    if ((rc = store_db_check_visible(s, &me, id, err, errlen)) != STORE_OK) goto fail;
    store_critical old;
    if ((rc = read_one(s, id, &old, err, errlen)) == STORE_OK) {
        rc = store_db_err(err, errlen, STORE_EEXIST, "recording %lld's critical value was confirmed already by %s",
                          (long long)id, old.confirmed_by);
        goto fail;
    }
    if (rc != STORE_ENOTFOUND) goto fail;
    rc = STORE_ERR;
    /* A rival confirming at the same moment meets the UNIQUE recording_id: nothing is inserted. */
    if (store_db_prepare(s,
                         "INSERT INTO critical_notice (recording_id, finding, confirmed_by, confirmed_ms, notified, "
                         "notified_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (recording_id) DO NOTHING",
                         &st, err, errlen))
        goto fail;
    store_sql_bind_int64(st, 1, id);
    store_sql_bind_text(st, 2, finding);
    store_sql_bind_int64(st, 3, me.id);
    store_sql_bind_int64(st, 4, now);
    store_sql_bind_text(st, 5, notified);
    store_sql_bind_int64(st, 6, notified_ms);
    if (store_sql_step(st) != STORE_SQL_DONE) {
        store_db_fail(s, "confirming a critical value", err, errlen);
        goto fail;
    }
    if (store_sql_changes(s) != 1) {
        rc = store_db_err(err, errlen, STORE_EEXIST, "recording %lld's critical value was confirmed already",
                          (long long)id);
        goto fail;
    }
    char detail[512];
    snprintf(detail, sizeof detail, "%.255s; told %.127s", finding, notified);
    if ((rc = audit_and_commit(s, &me, "critical.confirm", id, detail, out, err, errlen)) == STORE_OK) goto done;
fail:
    store_db_rollback(s);
done:
    store_sql_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_critical_ack(store *s, const store_user *user, int64_t id, store_critical *out, char *err, size_t errlen)
{
    store_user me;
    store_stmt *st = NULL;
    store_critical c;
    pthread_mutex_lock(&s->mu);
    int rc = store_db_begin(s, err, errlen);
    if (rc) goto done;
    if ((rc = store_db_actor(s, user, 0, "acknowledge critical values", &me, err, errlen)) != STORE_OK) goto fail;
    if (strcmp(me.role, "clinic")) {
        rc = store_db_err(err, errlen, STORE_EDENIED, "only the clinic's own users acknowledge its critical values; "
                          "%s is a%s %s user", me.name, me.role[0] == 'a' ? "n" : "", me.role);
        goto fail;
    }
    if ((rc = store_db_check_visible(s, &me, id, err, errlen)) != STORE_OK) goto fail;
    if ((rc = read_one(s, id, &c, err, errlen)) != STORE_OK) goto fail;
    if (c.acked_ms) {
        rc = store_db_err(err, errlen, STORE_ESTATE, "recording %lld's critical value was acknowledged already by %s",
                          (long long)id, c.acked_by);
        goto fail;
    }
    rc = STORE_ERR;
    if (store_db_prepare(s,
                         "UPDATE critical_notice SET acked_by = ?2, acked_ms = ?3 "
                         "WHERE recording_id = ?1 AND acked_ms IS NULL",
                         &st, err, errlen))
        goto fail;
    store_sql_bind_int64(st, 1, id);
    store_sql_bind_int64(st, 2, me.id);
    store_sql_bind_int64(st, 3, store_db_now_ms());
    if (store_sql_step(st) != STORE_SQL_DONE) {
        store_db_fail(s, "acknowledging a critical value", err, errlen);
        goto fail;
    }
    if (store_sql_changes(s) != 1) { /* a colleague at the same clinic was quicker */
        rc = store_db_err(err, errlen, STORE_ESTATE, "recording %lld's critical value was acknowledged already",
                          (long long)id);
        goto fail;
    }
    if ((rc = audit_and_commit(s, &me, "critical.ack", id, c.finding, out, err, errlen)) == STORE_OK) goto done;
fail:
    store_db_rollback(s);
done:
    store_sql_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_critical_get(store *s, const store_user *user, int64_t id, store_critical *out, char *err, size_t errlen)
{
    store_user me;
    pthread_mutex_lock(&s->mu);
    int rc = store_db_actor(s, user, 0, "see critical values", &me, err, errlen);
    if (rc == STORE_OK) rc = store_db_check_visible(s, &me, id, err, errlen);
    if (rc == STORE_OK) rc = read_one(s, id, out, err, errlen);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_critical_list(store *s, const store_user *user, int open_only, store_critical **out, size_t *n, char *err,
                        size_t errlen)
{
    *out = NULL;
    *n = 0;
    store_user me;
    store_stmt *st = NULL;
    pthread_mutex_lock(&s->mu);
    int rc = store_db_actor(s, user, 0, "see critical values", &me, err, errlen);
    if (rc != STORE_OK) goto done;
    if ((rc = store_db_prepare(s,
                               NOTICE_SELECT "WHERE (?1 = 0 OR n.acked_ms IS NULL) AND (?2 IS NULL OR s.name = ?2) "
                               "ORDER BY CASE WHEN n.escalated_ms IS NOT NULL AND n.acked_ms IS NULL THEN 0 ELSE 1 END, "
                               "n.confirmed_ms, n.id",
                               &st, err, errlen)) != STORE_OK)
        goto done;
    store_sql_bind_int64(st, 1, open_only ? 1 : 0);
    store_sql_bind_text(st, 2, strcmp(me.role, "clinic") ? NULL : me.site);
    rc = store_db_collect(s, st, sizeof **out, read_notice, (void **)out, n, NULL, "listing critical values", err,
                          errlen);
    for (size_t i = 0; rc == STORE_OK && i < *n; i++) (*out)[i].due_ms = (*out)[i].confirmed_ms + ack_timeout(s);
done:
    store_sql_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int read_id(store_stmt *st, void *item)
{
    *(int64_t *)item = store_sql_int64(st, 0);
    return 1;
}

int store_critical_escalate(store *s, int64_t *n, char *err, size_t errlen)
{
    int64_t now = store_db_now_ms(), *ids = NULL, done = 0;
    size_t count = 0;
    store_stmt *st = NULL;
    if (n) *n = 0;
    pthread_mutex_lock(&s->mu);
    int64_t due_before = now - ack_timeout(s);
    /* The common case, nothing overdue, costs one indexed read and no write transaction. */
    int rc = store_db_prepare(s,
                              "SELECT recording_id FROM critical_notice WHERE acked_ms IS NULL AND escalated_ms IS NULL "
                              "AND confirmed_ms <= ?1 ORDER BY confirmed_ms",
                              &st, err, errlen);
    if (rc != STORE_OK) goto unlock;
    store_sql_bind_int64(st, 1, due_before);
    rc = store_db_collect(s, st, sizeof *ids, read_id, (void **)&ids, &count, NULL, "finding overdue critical values",
                              err, errlen);
    store_sql_finalize(st);
    st = NULL;
    if (rc != STORE_OK || !count) goto unlock;
    if ((rc = store_db_begin(s, err, errlen)) != STORE_OK) goto unlock;
    for (size_t i = 0; i < count; i++) {
        if ((rc = store_db_prepare(s,
                                   "UPDATE critical_notice SET escalated_ms = ?2 WHERE recording_id = ?1 "
                                   "AND acked_ms IS NULL AND escalated_ms IS NULL",
                                   &st, err, errlen)) != STORE_OK)
            goto fail;
        store_sql_bind_int64(st, 1, ids[i]);
        store_sql_bind_int64(st, 2, now);
        int step = store_sql_step(st);
        store_sql_finalize(st);
        st = NULL;
        if (step != STORE_SQL_DONE) {
            rc = store_db_fail(s, "escalating a critical value", err, errlen);
            goto fail;
        }
        if (store_sql_changes(s) != 1) continue; /* acknowledged (or escalated by another server) meanwhile */
        char detail[96];
        snprintf(detail, sizeof detail, "not acknowledged by the clinic within %lld min",
                 (long long)(ack_timeout(s) / 60000));
        if ((rc = store_db_audit(s, "server", "critical.escalate", ids[i], detail, err, errlen)) != STORE_OK) goto fail;
        done++;
    }
    if ((rc = store_db_commit(s, err, errlen)) != STORE_OK) goto fail;
    if (n) *n = done;
    goto unlock;
fail:
    store_db_rollback(s);
unlock:
    free(ids);
    pthread_mutex_unlock(&s->mu);
    return rc;
}
