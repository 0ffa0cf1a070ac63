/* store_review.c — the review workflow on recordings: worklist, claims, repeat requests, openings,
 * the chest-pain centre's timeline and a patient's earlier recordings. Reports: store_report.c. */
#include "store_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The review state in effect: a "claimed" recording whose claim has lapsed is "new" again. */
#define EFFECTIVE_REVIEW "(CASE WHEN r.review = 'claimed' AND r.claim_expires_ms <= ?50 THEN 'new' ELSE r.review END)"

/* The review queue (as store_queue_list): finished, or still receiving but flagged; never a
 * recording whose samples were deleted after its retention period. */
#define IN_QUEUE "((r.state IN ('complete', 'interrupted') OR r.priority < 3) AND r.purged_ms IS NULL)"

/* Free to claim: new, or claimed/reported without a claim in force. */
#define CLAIMABLE                                                                                  \
    "(r.review = 'new' OR (r.review IN ('claimed', 'reported') AND "                               \
    "(r.claimed_by IS NULL OR r.claim_expires_ms <= ?50)))"

/* Every read of review items selects these columns, in this order (read_item); ?50 is now. */
#define ITEM_SELECT                                                                                \
    "SELECT r.id, d.name, r.name, s.name, r.patient_id, r.mode, r.fs, r.nleads, r.journal, "       \
    "r.archive, r.state, " EFFECTIVE_REVIEW ", r.priority, r.received_ms, COALESCE(r.ended_ms, 0), "  \
    "r.samples, r.encounter, COALESCE(r.purged_ms, 0), "                                          \
    "CASE WHEN r.claim_expires_ms > ?50 THEN COALESCE(c.name, '') ELSE '' END, "                  \
    "CASE WHEN r.claimed_by IS NOT NULL AND r.claim_expires_ms > ?50 THEN r.claim_expires_ms ELSE 0 END, " \
    "COALESCE(r.opened_ms, 0), COALESCE(r.signed_ms, 0), r.repeat_reason "                         \
    "FROM recording r JOIN device d ON d.id = r.device_id JOIN site s ON s.id = r.site_id "        \
    "LEFT JOIN user_account c ON c.id = r.claimed_by "

static int read_item(store_stmt *st, void *row)
{
    store_review_item *it = row;
    memset(it, 0, sizeof *it);
    store_db_recording_read(st, &it->rec); /* columns 0..17 as STORE_DB_RECORDING_COLUMNS */
    store_db_column_text(st, 18, it->claimed_by, sizeof it->claimed_by);
    it->claim_expires_ms = store_sql_int64(st, 19);
    it->opened_ms = store_sql_int64(st, 20);
    it->signed_ms = store_sql_int64(st, 21);
    store_db_column_text(st, 22, it->repeat_reason, sizeof it->repeat_reason);
    return 1;
}

/* The parameter that holds the time in the statements above: numbered, not named, because a
 * named one takes the next free number where it first appears and would collide with ?1.. */
#define NOW_PARAM 50

/* Prepares constant SQL and binds ?50 (now), if it has one. */
static int prepare_now(store *s, const char *sql, int64_t now, store_stmt **st, char *err, size_t errlen)
{
    if (store_db_prepare(s, sql, st, err, errlen)) return STORE_ERR;
    if (store_sql_param_count(*st) >= NOW_PARAM) store_sql_bind_int64(*st, NOW_PARAM, now);
    return STORE_OK;
}

int store_set_claim_timeout(store *s, int64_t ms)
{
    if (ms <= 0) return STORE_EINVAL;
    pthread_mutex_lock(&s->mu);
    s->claim_timeout_ms = ms;
    pthread_mutex_unlock(&s->mu);
    return STORE_OK;
}

int64_t store_db_claim_timeout(const store *s)
{
    return s->claim_timeout_ms ? s->claim_timeout_ms : STORE_CLAIM_TIMEOUT_MS;
}

/* Steps ST to the end, collecting the items into a malloc'd array. Call with mu held. */
static int read_items(store *s, store_stmt *st, store_review_item **out, size_t *n, char *err, size_t errlen)
{
    return store_db_collect(s, st, sizeof **out, read_item, (void **)out, n, NULL, "listing recordings", err, errlen);
}

int store_db_actor(store *s, const store_user *user, int cardiologist, const char *doing, store_user *me,
                   char *err, size_t errlen)
{
    if (!user) return store_db_err(err, errlen, STORE_EDENIED, "no user: log in to %s", doing);
    int rc = store_db_user_load(s, user->id, me, err, errlen);
    if (rc) return rc;
    if (cardiologist && strcmp(me->role, "cardiologist"))
        return store_db_err(err, errlen, STORE_EDENIED, "only cardiologists may %s; %s is a%s %s user", doing,
                            me->name, me->role[0] == 'a' ? "n" : "", me->role);
    return STORE_OK;
}

int store_db_recording_site(store *s, int64_t id, char site[65], char *err, size_t errlen)
{
    store_stmt *st;
    if (store_db_prepare(s, "SELECT s.name FROM recording r JOIN site s ON s.id = r.site_id WHERE r.id = ?1", &st,
                         err, errlen))
        return STORE_ERR;
    store_sql_bind_int64(st, 1, id);
    int step = store_sql_step(st), rc = STORE_OK;
    if (step == STORE_SQL_ROW) store_db_column_text(st, 0, site, 65);
    else if (step == STORE_SQL_DONE) rc = store_db_err(err, errlen, STORE_ENOTFOUND, "%s: no recording %lld", s->path, (long long)id);
    else rc = store_db_fail(s, "reading a recording", err, errlen);
    store_sql_finalize(st);
    return rc;
}

int store_db_check_visible(store *s, const store_user *me, int64_t id, char *err, size_t errlen)
{
    store_recording r;
    memset(&r, 0, sizeof r);
    int rc = store_db_recording_site(s, id, r.site, err, errlen);
    if (rc) return rc;
    if (!store_can_see(me, &r))
        return store_db_err(err, errlen, STORE_EDENIED, "recording %lld belongs to another site than %s's (%s)",
                            (long long)id, me->name, me->site);
    return STORE_OK;
}

/* Local "HH:MM:SS" of MS, for messages. */
static const char *clock_of(int64_t ms, char buf[16])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm) || !strftime(buf, 16, "%H:%M:%S", &tm)) snprintf(buf, 16, "?");
    return buf;
}

int store_db_claim_held(store *s, const store_user *me, int64_t id, int need_draft, const char *doing, char *err,
                        size_t errlen)
{
    store_stmt *st;
    /* PostgreSQL: the row stays locked until the caller's transaction ends, so that no claimer
     * can take it between this check and the caller's write (SQLite's write lock does that). */
#define HELD_SELECT                                                                                    "SELECT r.review, r.claimed_by, COALESCE(r.claim_expires_ms, 0), COALESCE(c.name, ''), "          "CASE WHEN " IN_QUEUE " THEN 1 ELSE 0 END FROM recording r LEFT JOIN user_account c ON c.id = r.claimed_by "     "WHERE r.id = ?1"
    if (store_db_prepare(s, store_sql_is_pg(s) ? HELD_SELECT " FOR UPDATE OF r" : HELD_SELECT, &st, err, errlen))
        return STORE_ERR;
    store_sql_bind_int64(st, 1, id);
    int step = store_sql_step(st);
    if (step != STORE_SQL_ROW) {
        int rc = step == STORE_SQL_DONE ? store_db_err(err, errlen, STORE_ENOTFOUND, "%s: no recording %lld", s->path,
                                                    (long long)id)
                                     : store_db_fail(s, "reading a recording", err, errlen);
        store_sql_finalize(st);
        return rc;
    }
    char review[16], holder[65], when[16];
    store_db_column_text(st, 0, review, sizeof review);
    int64_t holder_id = store_sql_int64(st, 1), expires = store_sql_int64(st, 2);
    store_db_column_text(st, 3, holder, sizeof holder);
    int queued = store_sql_int(st, 4);
    store_sql_finalize(st);
    long long rid = (long long)id;
    if (!strcmp(review, "signed"))
        return store_db_err(err, errlen, STORE_ESTATE, "cannot %s recording %lld: its report is signed already "
                            "(a correction is an amendment)", doing, rid);
    if (!strcmp(review, "repeat"))
        return store_db_err(err, errlen, STORE_ESTATE, "cannot %s recording %lld: it was sent back to its clinic "
                            "for a repeat ECG", doing, rid);
    if (holder_id == me->id && (!strcmp(review, "claimed") || !strcmp(review, "reported"))) {
        if (need_draft && strcmp(review, "reported"))
            return store_db_err(err, errlen, STORE_ESTATE, "cannot %s recording %lld: it has no draft report yet "
                                "(save the report first)", doing, rid);
        return STORE_OK;
    }
    if (holder_id && expires > store_db_now_ms())
        return store_db_err(err, errlen, STORE_EBUSY, "cannot %s recording %lld: %s holds its claim until %s", doing,
                            rid, holder, clock_of(expires, when));
    if (!queued)
        return store_db_err(err, errlen, STORE_ESTATE, "cannot %s recording %lld: it is not in the review queue "
                            "(still being received and not flagged, or its samples were deleted after their "
                            "retention period)", doing, rid);
    return store_db_err(err, errlen, STORE_ESTATE, "cannot %s recording %lld: %s does not hold its claim (claim it "
                        "first)", doing, rid, me->name);
}

/* ---- The worklist -------------------------------------------------------------------------- */

static int review_ok(const char *review)
{
    static const char *states[] = {"new", "claimed", "reported", "signed", "repeat"};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
        if (!strcmp(review, states[i])) return 1;
    return 0;
}

static int check_filter(const store_worklist_filter *f, char *err, size_t errlen)
{
    if (f->max_priority < -1 || f->max_priority > 3)
        return store_db_err(err, errlen, STORE_EINVAL, "worklist max_priority %d is invalid: -1 (any) or 0..3",
                            f->max_priority);
    if (f->review && !review_ok(f->review))
        return store_db_err(err, errlen, STORE_EINVAL,
                            "worklist review state '%.20s' is unknown: new, claimed, reported, signed or repeat",
                            f->review);
    if (f->since_ms < 0 || f->until_ms < 0)
        return store_db_err(err, errlen, STORE_EINVAL, "worklist since/until must be >= 0 (0: any)");
    return STORE_OK;
}

/* The site a user's query is limited to: a clinic's own (refusing any other it asked for). */
static int scope_site(const store_user *me, const char *asked, const char **site, char *err, size_t errlen)
{
    *site = asked;
    if (strcmp(me->role, "clinic")) return STORE_OK;
    if (asked && strcmp(asked, me->site))
        return store_db_err(err, errlen, STORE_EDENIED, "%s may see only its own site's recordings (%s), not %.64s's",
                            me->name, me->site, asked);
    *site = me->site;
    return STORE_OK;
}

/* ?1 max priority, ?2 site, ?3 review, ?4 since, ?5 until, ?6 limit; every filter optional. */
#define WORKLIST_WHERE                                                                             \
    "WHERE " IN_QUEUE " AND (?1 < 0 OR r.priority <= ?1) "                   \
    "AND (?2 IS NULL OR s.name = ?2) "                                                             \
    "AND (?3 IS NULL OR " EFFECTIVE_REVIEW " = ?3) AND r.received_ms >= ?4 "                        \
    "AND (?5 = 0 OR r.received_ms < ?5) "
#define WORKLIST_ORDER "ORDER BY r.priority, r.received_ms, r.id "

static void bind_filter(store_stmt *st, const store_worklist_filter *f, const char *site)
{
    store_sql_bind_int64(st, 1, f->max_priority);
    store_sql_bind_text(st, 2, site);
    store_sql_bind_text(st, 3, f->review);
    store_sql_bind_int64(st, 4, f->since_ms);
    store_sql_bind_int64(st, 5, f->until_ms);
    store_sql_bind_int64(st, 6, f->limit && f->limit <= INT64_MAX ? (int64_t)f->limit : INT64_MAX);
}

int store_worklist(store *s, const store_user *user, const store_worklist_filter *f, store_review_item **out,
                   size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    store_worklist_filter any = {.max_priority = -1};
    if (!f) f = &any;
    int rc = check_filter(f, err, errlen);
    if (rc) return rc;
    store_user me;
    const char *site;
    store_stmt *st;
    pthread_mutex_lock(&s->mu);
    if ((rc = store_db_actor(s, user, 0, "see the worklist", &me, err, errlen)) != STORE_OK) goto done;
    if ((rc = scope_site(&me, f->site, &site, err, errlen)) != STORE_OK) goto done;
    if ((rc = prepare_now(s, ITEM_SELECT WORKLIST_WHERE WORKLIST_ORDER "LIMIT ?6", store_db_now_ms(), &st, err,
                          errlen)) != STORE_OK)
        goto done;
    bind_filter(st, f, site);
    rc = read_items(s, st, out, n, err, errlen);
    store_sql_finalize(st);
done:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Inside the lock: reads item ID (STORE_ENOTFOUND when none). */
static int read_one_item(store *s, int64_t id, store_review_item *out, char *err, size_t errlen)
{
    store_stmt *st;
    if (prepare_now(s, ITEM_SELECT "WHERE r.id = ?1", store_db_now_ms(), &st, err, errlen)) return STORE_ERR;
    store_sql_bind_int64(st, 1, id);
    int step = store_sql_step(st), rc = STORE_OK;
    if (step == STORE_SQL_ROW) read_item(st, out);
    else if (step == STORE_SQL_DONE) rc = store_db_err(err, errlen, STORE_ENOTFOUND, "%s: no recording %lld", s->path, (long long)id);
    else rc = store_db_fail(s, "reading a recording", err, errlen);
    store_sql_finalize(st);
    return rc;
}

int store_review_get(store *s, const store_user *user, int64_t id, store_review_item *out, char *err, size_t errlen)
{
    store_user me;
    pthread_mutex_lock(&s->mu);
    int rc = store_db_actor(s, user, 0, "see a recording", &me, err, errlen);
    if (rc == STORE_OK) rc = store_db_check_visible(s, &me, id, err, errlen);
    if (rc == STORE_OK) rc = read_one_item(s, id, out, err, errlen);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- Claims -------------------------------------------------------------------------------- */

/* Inside a transaction: the one atomic step of a claim. ?1 recording, ?2 user, ?3 expiry. The
 * holder's own claim is renewed; anyone else's only once it has lapsed. */
static int claim_update(store *s, int64_t id, const store_user *me, int64_t now, int *claimed, char *err,
                        size_t errlen)
{
    store_stmt *st;
    if (prepare_now(s,
                    "UPDATE recording AS r SET claimed_by = ?2, claim_expires_ms = ?3, "
                    "review = CASE r.review WHEN 'new' THEN 'claimed' ELSE r.review END "
                    "WHERE r.id = ?1 AND " IN_QUEUE " AND (" CLAIMABLE
                    " OR (r.claimed_by = ?2 AND r.review IN ('claimed', 'reported')))",
                    now, &st, err, errlen))
        return STORE_ERR;
    store_sql_bind_int64(st, 1, id);
    store_sql_bind_int64(st, 2, me->id);
    store_sql_bind_int64(st, 3, now + store_db_claim_timeout(s));
    if (store_db_step_done(s, st, "claiming a recording", err, errlen)) return STORE_ERR;
    *claimed = store_sql_changes(s) == 1;
    return STORE_OK;
}

static int audit_claim(store *s, const store_user *me, int64_t id, int64_t now, char *err, size_t errlen)
{
    char actor[96], detail[64], when[16];
    store_db_user_actor(me, actor);
    snprintf(detail, sizeof detail, "until %s", clock_of(now + store_db_claim_timeout(s), when));
    return store_db_audit(s, actor, "review.claim", id, detail, err, errlen);
}

int store_claim(store *s, const store_user *user, int64_t id, char *err, size_t errlen)
{
    store_user me;
    int claimed = 0;
    int64_t now = store_db_now_ms();
    pthread_mutex_lock(&s->mu);
    int rc = store_db_begin(s, err, errlen);
    if (rc) goto done;
    if ((rc = store_db_actor(s, user, 1, "claim recordings", &me, err, errlen)) != STORE_OK) goto fail;
    if ((rc = claim_update(s, id, &me, now, &claimed, err, errlen)) != STORE_OK) goto fail;
    if (!claimed) {
        rc = store_db_claim_held(s, &me, id, 0, "claim", err, errlen);
        if (rc == STORE_OK) rc = store_db_err(err, errlen, STORE_ERR, "%s: claiming recording %lld failed", s->path, (long long)id);
        goto fail;
    }
    if ((rc = audit_claim(s, &me, id, now, err, errlen)) != STORE_OK) goto fail;
    rc = store_db_commit(s, err, errlen);
    if (rc) goto fail;
    goto done;
fail:
    store_db_rollback(s);
done:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_claim_next(store *s, const store_user *user, const store_worklist_filter *f, store_review_item *out,
                     char *err, size_t errlen)
{
    store_worklist_filter any = {.max_priority = -1};
    if (!f) f = &any;
    int rc = check_filter(f, err, errlen);
    if (rc) return rc;
    store_worklist_filter g = *f;
    g.review = NULL; /* CLAIMABLE decides */
    g.limit = 1;
    store_user me;
    store_stmt *st = NULL;
    int64_t now = store_db_now_ms(), id = 0;
    int claimed = 0;
    pthread_mutex_lock(&s->mu);
    if ((rc = store_db_begin(s, err, errlen)) != STORE_OK) goto done;
    if ((rc = store_db_actor(s, user, 1, "claim recordings", &me, err, errlen)) != STORE_OK) goto fail;
    /* SQLite: the write lock is held from BEGIN IMMEDIATE, nobody can claim between this and the
     * UPDATE. PostgreSQL: the row found is locked, and rows other claimers hold locked are
     * passed over rather than waited for, so that concurrent claimers each take a different one. */
#define NEXT_SELECT                                                                                    "SELECT r.id FROM recording r JOIN site s ON s.id = r.site_id " WORKLIST_WHERE "AND " CLAIMABLE     " " WORKLIST_ORDER "LIMIT ?6"
    if ((rc = prepare_now(s, store_sql_is_pg(s) ? NEXT_SELECT " FOR UPDATE OF r SKIP LOCKED" : NEXT_SELECT, now, &st,
                          err, errlen)) != STORE_OK)
        goto fail;
    bind_filter(st, &g, g.site);
    int step = store_sql_step(st);
    if (step == STORE_SQL_ROW) id = store_sql_int64(st, 0);
    store_sql_finalize(st);
    if (step == STORE_SQL_DONE) {
        rc = store_db_err(err, errlen, STORE_ENOTFOUND, "nothing left to claim in the worklist");
        goto fail;
    }
    if (step != STORE_SQL_ROW) {
        rc = store_db_fail(s, "finding the next recording", err, errlen);
        goto fail;
    }
    if ((rc = claim_update(s, id, &me, now, &claimed, err, errlen)) != STORE_OK) goto fail;
    if (!claimed) {
        rc = store_db_err(err, errlen, STORE_ERR, "%s: claiming recording %lld failed", s->path, (long long)id);
        goto fail;
    }
    if ((rc = audit_claim(s, &me, id, now, err, errlen)) != STORE_OK) goto fail;
    if (out && (rc = read_one_item(s, id, out, err, errlen)) != STORE_OK) goto fail;
    if ((rc = store_db_commit(s, err, errlen)) != STORE_OK) goto fail;
    goto done;
fail:
    store_db_rollback(s);
done:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* The shared shape of release and repeat: in one transaction, the cardiologist USER must hold the
 * claim on ID; then SQL (?1 id, ?2 TEXT) runs and an audit row ACTION with DETAIL is written. */
static int claimed_change(store *s, const store_user *user, int64_t id, const char *doing, const char *sql,
                          const char *text, const char *action, const char *detail, char *err, size_t errlen)
{
    store_user me;
    char actor[96];
    pthread_mutex_lock(&s->mu);
    int rc = store_db_begin(s, err, errlen);
    if (rc) goto done;
    if ((rc = store_db_actor(s, user, 1, doing, &me, err, errlen)) != STORE_OK) goto fail;
    if ((rc = store_db_claim_held(s, &me, id, 0, doing, err, errlen)) != STORE_OK) goto fail;
    store_stmt *st;
    if ((rc = store_db_prepare(s, sql, &st, err, errlen)) != STORE_OK) goto fail;
    store_sql_bind_int64(st, 1, id);
    store_sql_bind_text(st, 2, text);
    if ((rc = store_db_step_done(s, st, doing, err, errlen)) != STORE_OK) goto fail;
    store_db_user_actor(&me, actor);
    if ((rc = store_db_audit(s, actor, action, id, detail, err, errlen)) != STORE_OK) goto fail;
    if ((rc = store_db_commit(s, err, errlen)) != STORE_OK) goto fail;
    goto done;
fail:
    store_db_rollback(s);
done:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_release(store *s, const store_user *user, int64_t id, char *err, size_t errlen)
{
    return claimed_change(s, user, id, "release",
                          "UPDATE recording SET review = CASE review WHEN 'claimed' THEN 'new' ELSE review END, "
                          "claimed_by = NULL, claim_expires_ms = NULL WHERE id = ?1",
                          NULL, "review.release", "", err, errlen);
}

int store_request_repeat(store *s, const store_user *user, int64_t id, const char *reason, char *err, size_t errlen)
{
    if (!store_db_multiline_ok(reason, 1, 511))
        return store_db_err(err, errlen, STORE_EINVAL, "the reason for a repeat ECG must be 1..511 bytes of text");
    return claimed_change(s, user, id, "request a repeat of",
                          "UPDATE recording SET review = 'repeat', repeat_reason = ?2, claimed_by = NULL, "
                          "claim_expires_ms = NULL WHERE id = ?1",
                          reason, "review.repeat", reason, err, errlen);
}

/* ---- Openings, the timeline, earlier recordings -------------------------------------------- */

int store_recording_opened(store *s, const store_user *user, int64_t id, char *err, size_t errlen)
{
    store_user me;
    char actor[96];
    pthread_mutex_lock(&s->mu);
    int rc = store_db_begin(s, err, errlen);
    if (rc) goto done;
    if ((rc = store_db_actor(s, user, 0, "open a recording", &me, err, errlen)) != STORE_OK) goto fail;
    if ((rc = store_db_check_visible(s, &me, id, err, errlen)) != STORE_OK) goto fail;
    int first = 0;
    if (!strcmp(me.role, "cardiologist")) {
        store_stmt *st;
        if ((rc = store_db_prepare(s,
                                   "UPDATE recording SET opened_ms = ?2, opened_by = ?3 WHERE id = ?1 AND opened_ms IS NULL",
                                   &st, err, errlen)) != STORE_OK)
            goto fail;
        store_sql_bind_int64(st, 1, id);
        store_sql_bind_int64(st, 2, store_db_now_ms());
        store_sql_bind_int64(st, 3, me.id);
        if ((rc = store_db_step_done(s, st, "noting the first opening", err, errlen)) != STORE_OK) goto fail;
        first = store_sql_changes(s) == 1;
    }
    store_db_user_actor(&me, actor);
    if ((rc = store_db_audit(s, actor, "recording.open", id, first ? "first opened" : "", err, errlen)) != STORE_OK)
        goto fail;
    if ((rc = store_db_commit(s, err, errlen)) != STORE_OK) goto fail;
    goto done;
fail:
    store_db_rollback(s);
done:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_timeline(store *s, int64_t id, store_times *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    store_stmt *st;
    pthread_mutex_lock(&s->mu);
    int rc = store_db_prepare(s,
                              "SELECT r.received_ms, COALESCE(r.opened_ms, 0), COALESCE(o.name, ''), "
                              "COALESCE(r.signed_ms, 0), COALESCE(g.name, ''), "
                              "(SELECT COALESCE(max(a.signed_ms), 0) FROM report a WHERE a.recording_id = r.id "
                              " AND a.version > 1) "
                              "FROM recording r LEFT JOIN user_account o ON o.id = r.opened_by "
                              "LEFT JOIN report v ON v.recording_id = r.id AND v.version = 1 AND v.signed_ms IS NOT NULL "
                              "LEFT JOIN user_account g ON g.id = v.signer_id WHERE r.id = ?1",
                              &st, err, errlen);
    if (rc == STORE_OK) {
        store_sql_bind_int64(st, 1, id);
        int step = store_sql_step(st);
        if (step == STORE_SQL_ROW) {
            out->received_ms = store_sql_int64(st, 0);
            out->first_opened_ms = store_sql_int64(st, 1);
            store_db_column_text(st, 2, out->first_opened_by, sizeof out->first_opened_by);
            out->signed_ms = store_sql_int64(st, 3);
            store_db_column_text(st, 4, out->signed_by, sizeof out->signed_by);
            out->last_amended_ms = store_sql_int64(st, 5);
            if (out->signed_ms) out->ecg_to_diagnosis_ms = out->signed_ms - out->received_ms;
        } else if (step == STORE_SQL_DONE) {
            rc = store_db_err(err, errlen, STORE_ENOTFOUND, "%s: no recording %lld", s->path, (long long)id);
        } else {
            rc = store_db_fail(s, "reading a timeline", err, errlen);
        }
        store_sql_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_patient_history(store *s, const store_user *user, const char *patient_id, int64_t exclude, size_t max,
                          store_review_item **out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    if (!store_db_text_ok(patient_id, 1, 64))
        return store_db_err(err, errlen, STORE_EINVAL, "patient id must be 1..64 bytes of text");
    store_user me;
    const char *site;
    store_stmt *st;
    pthread_mutex_lock(&s->mu);
    int rc = store_db_actor(s, user, 0, "see a patient's recordings", &me, err, errlen);
    if (rc == STORE_OK) rc = scope_site(&me, NULL, &site, err, errlen);
    if (rc == STORE_OK)
        rc = prepare_now(s, ITEM_SELECT "WHERE r.patient_id = ?1 AND r.id <> ?2 AND (?3 IS NULL OR s.name = ?3) "
                         "ORDER BY r.received_ms DESC, r.id DESC LIMIT ?4",
                         store_db_now_ms(), &st, err, errlen);
    if (rc == STORE_OK) {
        store_sql_bind_text(st, 1, patient_id);
        store_sql_bind_int64(st, 2, exclude);
        store_sql_bind_text(st, 3, site);
        store_sql_bind_int64(st, 4, max && max <= INT64_MAX ? (int64_t)max : INT64_MAX);
        rc = read_items(s, st, out, n, err, errlen);
        store_sql_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}
