/* store_report.c — reports on recordings: drafts, signatures (password asked again), amendments as
 * new signed versions, and reading them back. */
#include "store_impl.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_content(const char *const *statements, size_t n, const char *text, char *err, size_t errlen)
{
    if (n > STORE_REPORT_MAX_STATEMENTS)
        return store_db_err(err, errlen, STORE_EINVAL, "a report has at most %d statements, not %zu",
                            STORE_REPORT_MAX_STATEMENTS, n);
    if (n && !statements) return store_db_err(err, errlen, STORE_EINVAL, "no statements given");
    for (size_t i = 0; i < n; i++)
        if (!store_db_text_ok(statements[i], 1, STORE_REPORT_STATEMENT_MAX))
            return store_db_err(err, errlen, STORE_EINVAL,
                                "statement %zu must be 1..%d bytes of UTF-8 text without control characters", i + 1,
                                STORE_REPORT_STATEMENT_MAX);
    if (text && !store_db_multiline_ok(text, 0, STORE_REPORT_TEXT_MAX))
        return store_db_err(err, errlen, STORE_EINVAL,
                            "the report's text must be at most %d bytes of UTF-8 text (line breaks and tabs are "
                            "allowed, other control characters are not)", STORE_REPORT_TEXT_MAX);
    return STORE_OK;
}

/* The statements as a JSON array (malloc'd), or NULL when out of memory. */
static char *statements_json(const char *const *statements, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++) {
        cJSON *item = cJSON_CreateString(statements[i]);
        if (!item || !cJSON_AddItemToArray(a, item)) {
            cJSON_Delete(item);
            cJSON_Delete(a);
            return NULL;
        }
    }
    char *json = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    return json;
}

int store_report_save(store *s, const store_user *user, int64_t id, const char *const *statements, size_t nstatements,
                      const char *text, char *err, size_t errlen)
{
    int rc = check_content(statements, nstatements, text, err, errlen);
    if (rc) return rc;
    char *json = statements_json(statements, nstatements);
    if (!json) return store_db_err(err, errlen, STORE_ERR, "out of memory saving a report");
    store_user me;
    store_stmt *st = NULL;
    int64_t now = store_db_now_ms();
    pthread_mutex_lock(&s->mu);
    if ((rc = store_db_begin(s, err, errlen)) != STORE_OK) goto done;
    if ((rc = store_db_actor(s, user, 1, "write reports", &me, err, errlen)) != STORE_OK) goto fail;
    if ((rc = store_db_claim_held(s, &me, id, 0, "report on", err, errlen)) != STORE_OK) goto fail;
    /* One draft per recording (a partial unique index): replaced in place, else version 1. */
    if ((rc = store_db_prepare(s,
                               "INSERT INTO report (recording_id, version, author_id, statements, text, created_ms, "
                               "updated_ms) VALUES (?1, 1, ?2, ?3, ?4, ?5, ?5) "
                               "ON CONFLICT (recording_id) WHERE signed_ms IS NULL DO UPDATE SET "
                               "author_id = excluded.author_id, statements = excluded.statements, "
                               "text = excluded.text, updated_ms = excluded.updated_ms",
                               &st, err, errlen)) != STORE_OK)
        goto fail;
    store_sql_bind_int64(st, 1, id);
    store_sql_bind_int64(st, 2, me.id);
    store_sql_bind_text(st, 3, json);
    store_sql_bind_text(st, 4, text ? text : "");
    store_sql_bind_int64(st, 5, now);
    rc = store_db_step_done(s, st, "saving a report", err, errlen);
    st = NULL;
    if (rc) goto fail;
    if ((rc = store_db_prepare(s, "UPDATE recording SET review = 'reported', claim_expires_ms = ?2 WHERE id = ?1", &st,
                               err, errlen)) != STORE_OK)
        goto fail;
    store_sql_bind_int64(st, 1, id);
    store_sql_bind_int64(st, 2, now + store_db_claim_timeout(s));
    rc = store_db_step_done(s, st, "marking a recording reported", err, errlen);
    st = NULL;
    if (rc) goto fail;
    char actor[96], detail[64];
    store_db_user_actor(&me, actor);
    snprintf(detail, sizeof detail, "draft, %zu statements", nstatements);
    if ((rc = store_db_audit(s, actor, "report.save", id, detail, err, errlen)) != STORE_OK) goto fail;
    if ((rc = store_db_commit(s, err, errlen)) != STORE_OK) goto fail;
    goto done;
fail:
    store_db_rollback(s);
done:
    store_sql_finalize(st);
    pthread_mutex_unlock(&s->mu);
    free(json);
    return rc;
}

/* Before asking for the password: may USER sign (AMEND 0) or amend (AMEND 1) recording ID now?
 * Saves a password check, and its rate-limit count, on a request that must fail anyway. */
static int precheck(store *s, const store_user *user, int64_t id, int amend, char *err, size_t errlen)
{
    store_user me;
    pthread_mutex_lock(&s->mu);
    int rc = store_db_actor(s, user, 1, amend ? "amend reports" : "sign reports", &me, err, errlen);
    if (rc == STORE_OK && !amend) rc = store_db_claim_held(s, &me, id, 1, "sign", err, errlen);
    if (rc == STORE_OK && amend) {
        store_stmt *st;
        rc = store_db_prepare(s, "SELECT review FROM recording WHERE id = ?1", &st, err, errlen);
        if (rc == STORE_OK) {
            store_sql_bind_int64(st, 1, id);
            int step = store_sql_step(st);
            char review[16] = "";
            if (step == STORE_SQL_ROW) store_db_column_text(st, 0, review, sizeof review);
            if (step == STORE_SQL_DONE)
                rc = store_db_err(err, errlen, STORE_ENOTFOUND, "%s: no recording %lld", s->path, (long long)id);
            else if (step != STORE_SQL_ROW) rc = store_db_fail(s, "reading a recording", err, errlen);
            else if (strcmp(review, "signed"))
                rc = store_db_err(err, errlen, STORE_ESTATE, "cannot amend recording %lld: its report is not signed "
                                  "yet (review %s): sign the draft instead", (long long)id, review);
            store_sql_finalize(st);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_report_sign(store *s, const store_user *user, int64_t id, const char *password, char *err, size_t errlen)
{
    int rc = precheck(s, user, id, 0, err, errlen);
    if (rc) return rc;
    if ((rc = store_user_verify_password(s, user->id, password, err, errlen)) != STORE_OK) return rc;
    store_user me;
    store_stmt *st = NULL;
    int64_t now = store_db_now_ms();
    pthread_mutex_lock(&s->mu);
    if ((rc = store_db_begin(s, err, errlen)) != STORE_OK) goto done;
    /* Again inside the transaction: the claim may have passed to another meanwhile. */
    if ((rc = store_db_actor(s, user, 1, "sign reports", &me, err, errlen)) != STORE_OK) goto fail;
    if ((rc = store_db_claim_held(s, &me, id, 1, "sign", err, errlen)) != STORE_OK) goto fail;
    if ((rc = store_db_prepare(s,
                               "UPDATE report SET signed_ms = ?2, signer_id = ?3, updated_ms = ?2 "
                               "WHERE recording_id = ?1 AND signed_ms IS NULL",
                               &st, err, errlen)) != STORE_OK)
        goto fail;
    store_sql_bind_int64(st, 1, id);
    store_sql_bind_int64(st, 2, now);
    store_sql_bind_int64(st, 3, me.id);
    rc = store_db_step_done(s, st, "signing a report", err, errlen);
    st = NULL;
    if (rc) goto fail;
    if (store_sql_changes(s) != 1) {
        rc = store_db_err(err, errlen, STORE_ESTATE, "cannot sign recording %lld: it has no draft report",
                          (long long)id);
        goto fail;
    }
    if ((rc = store_db_prepare(s,
                               "UPDATE recording SET review = 'signed', signed_ms = COALESCE(signed_ms, ?2), "
                               "claimed_by = NULL, claim_expires_ms = NULL WHERE id = ?1",
                               &st, err, errlen)) != STORE_OK)
        goto fail;
    store_sql_bind_int64(st, 1, id);
    store_sql_bind_int64(st, 2, now);
    rc = store_db_step_done(s, st, "marking a recording signed", err, errlen);
    st = NULL;
    if (rc) goto fail;
    char actor[96];
    store_db_user_actor(&me, actor);
    if ((rc = store_db_audit(s, actor, "report.sign", id, "version 1", err, errlen)) != STORE_OK) goto fail;
    if ((rc = store_db_commit(s, err, errlen)) != STORE_OK) goto fail;
    goto done;
fail:
    store_db_rollback(s);
done:
    store_sql_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_report_amend(store *s, const store_user *user, int64_t id, const char *const *statements, size_t nstatements,
                       const char *text, const char *password, char *err, size_t errlen)
{
    int rc = check_content(statements, nstatements, text, err, errlen);
    if (rc) return rc;
    if ((rc = precheck(s, user, id, 1, err, errlen)) != STORE_OK) return rc;
    if ((rc = store_user_verify_password(s, user->id, password, err, errlen)) != STORE_OK) return rc;
    char *json = statements_json(statements, nstatements);
    if (!json) return store_db_err(err, errlen, STORE_ERR, "out of memory amending a report");
    store_user me;
    store_stmt *st = NULL;
    int64_t now = store_db_now_ms();
    pthread_mutex_lock(&s->mu);
    if ((rc = store_db_begin(s, err, errlen)) != STORE_OK) goto done;
    if ((rc = store_db_actor(s, user, 1, "amend reports", &me, err, errlen)) != STORE_OK) goto fail;
    if ((rc = store_db_prepare(s,
                               "SELECT id, version FROM report WHERE recording_id = ?1 AND signed_ms IS NOT NULL "
                               "ORDER BY version DESC LIMIT 1",
                               &st, err, errlen)) != STORE_OK)
        goto fail;
    store_sql_bind_int64(st, 1, id);
    int step = store_sql_step(st);
    int64_t previous = step == STORE_SQL_ROW ? store_sql_int64(st, 0) : 0;
    int version = step == STORE_SQL_ROW ? store_sql_int(st, 1) + 1 : 0;
    store_sql_finalize(st);
    st = NULL;
    if (step == STORE_SQL_DONE) {
        rc = store_db_err(err, errlen, STORE_ESTATE, "cannot amend recording %lld: it has no signed report",
                          (long long)id);
        goto fail;
    }
    if (step != STORE_SQL_ROW) {
        rc = store_db_fail(s, "reading a report", err, errlen);
        goto fail;
    }
    if ((rc = store_db_prepare(s,
                               "INSERT INTO report (recording_id, version, author_id, statements, text, created_ms, "
                               "updated_ms, signed_ms, signer_id, amends) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6, ?3, ?7)",
                               &st, err, errlen)) != STORE_OK)
        goto fail;
    store_sql_bind_int64(st, 1, id);
    store_sql_bind_int64(st, 2, version);
    store_sql_bind_int64(st, 3, me.id);
    store_sql_bind_text(st, 4, json);
    store_sql_bind_text(st, 5, text ? text : "");
    store_sql_bind_int64(st, 6, now);
    store_sql_bind_int64(st, 7, previous);
    rc = store_db_step_done(s, st, "amending a report", err, errlen);
    st = NULL;
    if (rc) goto fail;
    char actor[96], detail[64];
    store_db_user_actor(&me, actor);
    snprintf(detail, sizeof detail, "version %d amends version %d", version, version - 1);
    if ((rc = store_db_audit(s, actor, "report.amend", id, detail, err, errlen)) != STORE_OK) goto fail;
    if ((rc = store_db_commit(s, err, errlen)) != STORE_OK) goto fail;
    goto done;
fail:
    store_db_rollback(s);
done:
    store_sql_finalize(st);
    pthread_mutex_unlock(&s->mu);
    free(json);
    return rc;
}

/* Every read of reports selects these columns, in this order (read_report). */
#define REPORT_SELECT                                                                              \
    "SELECT p.recording_id, p.version, CASE WHEN p.signed_ms IS NOT NULL THEN 1 ELSE 0 END, a.name, COALESCE(g.name, ''), "     \
    "p.created_ms, p.updated_ms, COALESCE(p.signed_ms, 0), COALESCE(q.version, 0), p.statements, p.text " \
    "FROM report p JOIN user_account a ON a.id = p.author_id "                                     \
    "LEFT JOIN user_account g ON g.id = p.signer_id LEFT JOIN report q ON q.id = p.amends "

static int read_report(store_stmt *st, void *row)
{
    store_report *r = row;
    memset(r, 0, sizeof *r);
    r->recording = store_sql_int64(st, 0);
    r->version = store_sql_int(st, 1);
    r->is_signed = store_sql_int(st, 2);
    store_db_column_text(st, 3, r->author, sizeof r->author);
    store_db_column_text(st, 4, r->signer, sizeof r->signer);
    r->created_ms = store_sql_int64(st, 5);
    r->updated_ms = store_sql_int64(st, 6);
    r->signed_ms = store_sql_int64(st, 7);
    r->amends = store_sql_int(st, 8);
    /* Written by statements_json and checked by the schema: an array of strings that fit. */
    cJSON *a = cJSON_Parse(store_sql_text(st, 9));
    const cJSON *item;
    cJSON_ArrayForEach(item, a) {
        if (r->nstatements == STORE_REPORT_MAX_STATEMENTS) break;
        if (cJSON_IsString(item))
            snprintf(r->statements[r->nstatements++], sizeof r->statements[0], "%s", item->valuestring);
    }
    cJSON_Delete(a);
    store_db_column_text(st, 10, r->text, sizeof r->text);
    return 1;
}

/* Inside the lock: ME and whether ME sees drafts (not clinic users), after the access check. */
static int report_reader(store *s, const store_user *user, int64_t id, store_user *me, int *drafts, char *err,
                         size_t errlen)
{
    int rc = store_db_actor(s, user, 0, "read reports", me, err, errlen);
    if (rc) return rc;
    if ((rc = store_db_check_visible(s, me, id, err, errlen)) != STORE_OK) return rc;
    *drafts = strcmp(me->role, "clinic") != 0;
    return STORE_OK;
}

int store_report_get(store *s, const store_user *user, int64_t id, store_report *out, char *err, size_t errlen)
{
    store_user me;
    int drafts = 0;
    store_stmt *st;
    pthread_mutex_lock(&s->mu);
    int rc = report_reader(s, user, id, &me, &drafts, err, errlen);
    /* The draft exists only before the first signature, so the highest version is the current one. */
    if (rc == STORE_OK)
        rc = store_db_prepare(s, REPORT_SELECT "WHERE p.recording_id = ?1 AND (?2 <> 0 OR p.signed_ms IS NOT NULL) "
                              "ORDER BY p.version DESC LIMIT 1",
                              &st, err, errlen);
    if (rc == STORE_OK) {
        store_sql_bind_int64(st, 1, id);
        store_sql_bind_int64(st, 2, drafts);
        int step = store_sql_step(st);
        if (step == STORE_SQL_ROW) read_report(st, out);
        else if (step == STORE_SQL_DONE)
            rc = store_db_err(err, errlen, STORE_ENOTFOUND, "recording %lld has no %sreport yet", (long long)id,
                              drafts ? "" : "signed ");
        else rc = store_db_fail(s, "reading a report", err, errlen);
        store_sql_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_report_history(store *s, const store_user *user, int64_t id, store_report **out, size_t *n, char *err,
                         size_t errlen)
{
    *out = NULL;
    *n = 0;
    store_user me;
    int drafts = 0;
    store_stmt *st = NULL;
    pthread_mutex_lock(&s->mu);
    int rc = report_reader(s, user, id, &me, &drafts, err, errlen);
    if (rc) goto done;
    if ((rc = store_db_prepare(s, REPORT_SELECT "WHERE p.recording_id = ?1 AND (?2 <> 0 OR p.signed_ms IS NOT NULL) "
                               "ORDER BY p.version",
                               &st, err, errlen)) != STORE_OK)
        goto done;
    store_sql_bind_int64(st, 1, id);
    store_sql_bind_int64(st, 2, drafts);
    rc = store_db_collect(s, st, sizeof **out, read_report, (void **)out, n, NULL, "reading reports", err, errlen);
done:
    store_sql_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}
