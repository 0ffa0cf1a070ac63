/* store_recording.c — recordings: begin or resume, finish with the analysis, look-ups, the review queue. */
#include "store_impl.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORDING_SELECT STORE_DB_RECORDING_SELECT

void store_db_recording_read(store_stmt *st, store_recording *r)
{
    memset(r, 0, sizeof *r);
    r->id = store_sql_int64(st, 0);
    store_db_column_text(st, 1, r->device, sizeof r->device);
    store_db_column_text(st, 2, r->recording, sizeof r->recording);
    store_db_column_text(st, 3, r->site, sizeof r->site);
    store_db_column_text(st, 4, r->patient_id, sizeof r->patient_id);
    store_db_column_text(st, 5, r->mode, sizeof r->mode);
    r->fs = store_sql_double(st, 6);
    r->nleads = store_sql_int(st, 7);
    store_db_column_text(st, 8, r->journal, sizeof r->journal);
    store_db_column_text(st, 9, r->archive, sizeof r->archive);
    store_db_column_text(st, 10, r->state, sizeof r->state);
    store_db_column_text(st, 11, r->review, sizeof r->review);
    r->priority = store_sql_int(st, 12);
    r->received_ms = store_sql_int64(st, 13);
    r->ended_ms = store_sql_int64(st, 14);
    r->samples = store_sql_int64(st, 15);
    store_db_column_text(st, 16, r->encounter, sizeof r->encounter);
    r->purged_ms = store_sql_int64(st, 17);
}

static int read_row(store_stmt *st, void *row)
{
    store_db_recording_read(st, row);
    return 1;
}

/* Steps ST to the end, collecting the rows into a malloc'd array. Call with mu held. */
static int read_all(store *s, store_stmt *st, store_recording **out, size_t *n, char *err, size_t errlen)
{
    return store_db_collect(s, st, sizeof **out, read_row, (void **)out, n, NULL, "listing recordings", err, errlen);
}

/* Steps ST once into *OUT: STORE_OK, STORE_ENOTFOUND (message WHAT), STORE_ERR. Call with mu held. */
static int read_one(store *s, store_stmt *st, store_recording *out, const char *what, char *err, size_t errlen)
{
    int step = store_sql_step(st);
    if (step == STORE_SQL_ROW) {
        read_row(st, out);
        return STORE_OK;
    }
    if (step == STORE_SQL_DONE) return store_db_err(err, errlen, STORE_ENOTFOUND, "%s: no recording %s", s->path, what);
    return store_db_fail(s, "reading a recording", err, errlen);
}

static int check_new_recording(const store_recording *r, char *err, size_t errlen)
{
    if (!store_db_device_id_ok(r->device))
        return store_db_err(err, errlen, STORE_EINVAL, "device id '%.80s' is invalid", r->device);
    if (!store_db_text_ok(r->recording, 1, 128))
        return store_db_err(err, errlen, STORE_EINVAL,
                            "recording id must be 1..128 bytes of UTF-8 text without control characters");
    if (r->site[0] && !store_db_text_ok(r->site, 1, 64))
        return store_db_err(err, errlen, STORE_EINVAL,
                            "site name must be 1..64 bytes of UTF-8 text without control characters");
    if (!store_db_text_ok(r->patient_id, 0, 64))
        return store_db_err(err, errlen, STORE_EINVAL,
                            "patient id must be 0..64 bytes of UTF-8 text without control characters");
    if (strcmp(r->mode, "resting") && strcmp(r->mode, "continuous"))
        return store_db_err(err, errlen, STORE_EINVAL, "mode must be resting or continuous, not '%.15s'", r->mode);
    if (!isfinite(r->fs) || r->fs <= 0.0)
        return store_db_err(err, errlen, STORE_EINVAL, "sample rate %g Hz is invalid: it must be > 0", r->fs);
    if (r->nleads < 1 || r->nleads > STORE_MAX_LEADS)
        return store_db_err(err, errlen, STORE_EINVAL, "lead count %d is invalid: 1..%d", r->nleads, STORE_MAX_LEADS);
    if (!r->journal[0] || !memchr(r->journal, '\0', sizeof r->journal))
        return store_db_err(err, errlen, STORE_EINVAL, "journal path must be 1..4095 bytes");
    if (r->received_ms < 0) return store_db_err(err, errlen, STORE_EINVAL, "received_ms must be >= 0");
    if (r->encounter[0] && strcmp(r->encounter, "outpatient") && strcmp(r->encounter, "inpatient"))
        return store_db_err(err, errlen, STORE_EINVAL, "encounter must be outpatient or inpatient, not '%.15s'",
                            r->encounter);
    return STORE_OK;
}

/* Inside the transaction: the existing recording is resumed (see store.h). */
static int resume(store *s, const store_recording *r, int64_t id, char *err, size_t errlen)
{
    store_stmt *st = NULL;
    int rc = STORE_ERR;
    if (store_db_prepare(s, "SELECT fs, nleads, state, COALESCE(purged_ms, 0) FROM recording WHERE id = ?1", &st, err,
                         errlen))
        return rc;
    store_sql_bind_int64(st, 1, id);
    if (store_sql_step(st) != STORE_SQL_ROW) {
        store_db_fail(s, "reading a recording", err, errlen);
        goto done;
    }
    double fs = store_sql_double(st, 0);
    int nleads = store_sql_int(st, 1);
    char state[16];
    store_db_column_text(st, 2, state, sizeof state);
    int64_t purged = store_sql_int64(st, 3);
    store_sql_finalize(st);
    st = NULL;
    if (purged) {
        rc = store_db_err(err, errlen, STORE_EINVAL,
                          "recording '%s' of device %s was purged after its retention period (its samples are "
                          "deleted): it cannot be resumed; record under a new recording id", r->recording, r->device);
        goto done;
    }
    if (fs != r->fs || nleads != r->nleads) {
        rc = store_db_err(err, errlen, STORE_EINVAL,
                          "recording '%s' of device %s began at %g Hz with %d leads; a resume at %g Hz "
                          "with %d leads is refused", r->recording, r->device, fs, nleads, r->fs, r->nleads);
        goto done;
    }
    if (!strcmp(state, "interrupted")) {
        if (store_db_prepare(s, "UPDATE recording SET state = 'receiving', ended_ms = NULL WHERE id = ?1", &st,
                             err, errlen))
            goto done;
        store_sql_bind_int64(st, 1, id);
        if (store_sql_step(st) != STORE_SQL_DONE) {
            store_db_fail(s, "resuming a recording", err, errlen);
            goto done;
        }
    }
    char actor[96], detail[160];
    snprintf(actor, sizeof actor, "device:%s", r->device);
    snprintf(detail, sizeof detail, "resumed while %s", state);
    rc = store_db_audit(s, actor, "recording.resume", id, detail, err, errlen);
done:
    store_sql_finalize(st);
    return rc;
}

int store_recording_begin(store *s, const store_recording *r, int64_t *id, int *existed, char *err,
                          size_t errlen)
{
    int rc = check_new_recording(r, err, errlen);
    if (rc) return rc;
    store_stmt *st = NULL;
    rc = STORE_ERR;
    pthread_mutex_lock(&s->mu);
    if (store_db_begin(s, err, errlen)) goto done;
    if (store_db_prepare(s,
                         "SELECT d.id, d.site_id, r.id FROM device d "
                         "LEFT JOIN recording r ON r.device_id = d.id AND r.name = ?2 WHERE d.name = ?1",
                         &st, err, errlen))
        goto fail;
    store_sql_bind_text(st, 1, r->device);
    store_sql_bind_text(st, 2, r->recording);
    int step = store_sql_step(st);
    if (step == STORE_SQL_DONE) {
        rc = store_db_err(err, errlen, STORE_ENOTFOUND, "%s: no device '%s'", s->path, r->device);
        goto fail;
    }
    if (step != STORE_SQL_ROW) {
        store_db_fail(s, "looking up a recording", err, errlen);
        goto fail;
    }
    int64_t device_id = store_sql_int64(st, 0), site_id = store_sql_int64(st, 1);
    int64_t old = store_sql_is_null(st, 2) ? 0 : store_sql_int64(st, 2);
    store_sql_finalize(st);
    st = NULL;
    if (old) {
        if ((rc = resume(s, r, old, err, errlen)) != STORE_OK) goto fail;
        rc = STORE_ERR;
        if (store_db_commit(s, err, errlen)) goto fail;
        *id = old;
        *existed = 1;
        rc = STORE_OK;
        goto done;
    }
    if (r->site[0] && store_db_site_id(s, r->site, &site_id, err, errlen)) goto fail;
    if (store_db_prepare(s,
                         "INSERT INTO recording (device_id, name, site_id, patient_id, mode, fs, nleads, journal, "
                         "received_ms, encounter) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
                         &st, err, errlen))
        goto fail;
    store_sql_bind_int64(st, 1, device_id);
    store_sql_bind_text(st, 2, r->recording);
    store_sql_bind_int64(st, 3, site_id);
    store_sql_bind_text(st, 4, r->patient_id);
    store_sql_bind_text(st, 5, r->mode);
    store_sql_bind_double(st, 6, r->fs);
    store_sql_bind_int64(st, 7, r->nleads);
    store_sql_bind_text(st, 8, r->journal);
    store_sql_bind_int64(st, 9, r->received_ms ? r->received_ms : store_db_now_ms());
    store_sql_bind_text(st, 10, r->encounter[0] ? r->encounter : "outpatient");
    if (store_sql_step(st) != STORE_SQL_ROW) {
        store_db_fail(s, "adding a recording", err, errlen);
        goto fail;
    }
    int64_t new_id = store_sql_int64(st, 0);
    store_sql_finalize(st); /* before the commit: a RETURNING statement is still running */
    st = NULL;
    char actor[96], detail[256];
    snprintf(actor, sizeof actor, "device:%s", r->device);
    snprintf(detail, sizeof detail, "recording %.128s, %s, %s, %g Hz, %d leads", r->recording, r->mode,
             r->encounter[0] ? r->encounter : "outpatient", r->fs, r->nleads);
    if (store_db_audit(s, actor, "recording.begin", new_id, detail, err, errlen)) goto fail;
    if (store_db_commit(s, err, errlen)) goto fail;
    *id = new_id;
    *existed = 0;
    rc = STORE_OK;
    goto done;
fail:
    store_db_rollback(s);
done:
    store_sql_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_recording_get(store *s, int64_t id, store_recording *out, char *err, size_t errlen)
{
    store_stmt *st;
    char what[32];
    snprintf(what, sizeof what, "%lld", (long long)id);
    pthread_mutex_lock(&s->mu);
    int rc = store_db_prepare(s, RECORDING_SELECT "WHERE r.id = ?1", &st, err, errlen);
    if (rc == STORE_OK) {
        store_sql_bind_int64(st, 1, id);
        rc = read_one(s, st, out, what, err, errlen);
        store_sql_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_recording_find(store *s, const char *device, const char *recording, store_recording *out,
                         char *err, size_t errlen)
{
    store_stmt *st;
    char what[256];
    snprintf(what, sizeof what, "'%.128s' of device '%.64s'", recording ? recording : "", device ? device : "");
    if (!device || !recording) return store_db_err(err, errlen, STORE_EINVAL, "no device or recording id given");
    pthread_mutex_lock(&s->mu);
    int rc = store_db_prepare(s, RECORDING_SELECT "WHERE d.name = ?1 AND r.name = ?2", &st, err, errlen);
    if (rc == STORE_OK) {
        store_sql_bind_text(st, 1, device);
        store_sql_bind_text(st, 2, recording);
        rc = read_one(s, st, out, what, err, errlen);
        store_sql_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_recording_list_receiving(store *s, store_recording **out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    store_stmt *st;
    pthread_mutex_lock(&s->mu);
    int rc = store_db_prepare(s, RECORDING_SELECT "WHERE r.state = 'receiving' ORDER BY r.received_ms, r.id", &st,
                              err, errlen);
    if (rc == STORE_OK) {
        rc = read_all(s, st, out, n, err, errlen);
        store_sql_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_recording_finish(store *s, int64_t id, const char *state, int64_t samples, const char *archive,
                           const char *analysis_json, char *err, size_t errlen)
{
    if (!state || (strcmp(state, "complete") && strcmp(state, "interrupted")))
        return store_db_err(err, errlen, STORE_EINVAL, "finishing state must be complete or interrupted, not '%.15s'",
                            state ? state : "(null)");
    if (samples < 0) return store_db_err(err, errlen, STORE_EINVAL, "sample count %lld is negative", (long long)samples);
    if (archive && strlen(archive) > 4095)
        return store_db_err(err, errlen, STORE_EINVAL, "archive path must be at most 4095 bytes");
    if (analysis_json) {
        cJSON *j = cJSON_Parse(analysis_json);
        if (!j) return store_db_err(err, errlen, STORE_EINVAL, "the analysis is not valid JSON");
        cJSON_Delete(j);
    }
    store_stmt *st = NULL;
    int rc = STORE_ERR;
    pthread_mutex_lock(&s->mu);
    if (store_db_begin(s, err, errlen)) goto done;
    if (store_db_prepare(s,
                         "UPDATE recording SET state = ?2, samples = ?3, archive = COALESCE(?4, archive), "
                         "analysis = COALESCE(?5, analysis), ended_ms = ?6 WHERE id = ?1",
                         &st, err, errlen))
        goto fail;
    store_sql_bind_int64(st, 1, id);
    store_sql_bind_text(st, 2, state);
    store_sql_bind_int64(st, 3, samples);
    store_sql_bind_text(st, 4, archive);
    store_sql_bind_text(st, 5, analysis_json);
    store_sql_bind_int64(st, 6, store_db_now_ms());
    if (store_sql_step(st) != STORE_SQL_DONE) {
        store_db_fail(s, "finishing a recording", err, errlen);
        goto fail;
    }
    if (store_sql_changes(s) == 0) {
        rc = store_db_err(err, errlen, STORE_ENOTFOUND, "%s: no recording %lld", s->path, (long long)id);
        goto fail;
    }
    char detail[96];
    snprintf(detail, sizeof detail, "%s, %lld samples", state, (long long)samples);
    if (store_db_audit(s, "server", "recording.finish", id, detail, err, errlen)) goto fail;
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

int store_recording_analysis(store *s, int64_t id, char **json, char *err, size_t errlen)
{
    *json = NULL;
    store_stmt *st = NULL;
    int rc = STORE_ERR;
    pthread_mutex_lock(&s->mu);
    if (store_db_prepare(s, "SELECT analysis FROM recording WHERE id = ?1", &st, err, errlen)) goto done;
    store_sql_bind_int64(st, 1, id);
    int step = store_sql_step(st);
    if (step == STORE_SQL_DONE) {
        rc = store_db_err(err, errlen, STORE_ENOTFOUND, "%s: no recording %lld", s->path, (long long)id);
        goto done;
    }
    if (step != STORE_SQL_ROW) {
        store_db_fail(s, "reading an analysis", err, errlen);
        goto done;
    }
    if (!store_sql_is_null(st, 0)) {
        const char *text = store_sql_text(st, 0);
        if (!text || !(*json = strdup(text))) {
            store_db_err(err, errlen, STORE_ERR, "%s: out of memory reading an analysis", s->path);
            goto done;
        }
    }
    rc = STORE_OK;
done:
    store_sql_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int review_ok(const char *review)
{
    static const char *states[] = {"new", "claimed", "reported", "signed", "repeat"};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
        if (!strcmp(review, states[i])) return 1;
    return 0;
}

/* One statement for every filter: a NULL or negative parameter disables its condition. */
#define QUEUE_WHERE                                                                               \
    "WHERE (r.state IN ('complete', 'interrupted') OR r.priority < 3) AND r.purged_ms IS NULL "   \
    "AND (?1 < 0 OR r.priority <= ?1) AND (?2 IS NULL OR s.name = ?2) "                            \
    "AND (?3 IS NULL OR r.review = ?3) AND r.received_ms >= ?4 "

int store_queue_list(store *s, const store_queue_filter *f, store_recording **out, size_t *n, char *err,
                     size_t errlen)
{
    *out = NULL;
    *n = 0;
    store_queue_filter any = {.max_priority = -1};
    if (!f) f = &any;
    if (f->max_priority < -1 || f->max_priority > 3)
        return store_db_err(err, errlen, STORE_EINVAL, "queue max_priority %d is invalid: -1 (any) or 0..3",
                            f->max_priority);
    if (f->review && !review_ok(f->review))
        return store_db_err(err, errlen, STORE_EINVAL,
                            "queue review state '%.20s' is unknown: new, claimed, reported, signed or repeat",
                            f->review);
    store_stmt *st;
    pthread_mutex_lock(&s->mu);
    int rc = store_db_prepare(s, RECORDING_SELECT QUEUE_WHERE "ORDER BY r.priority, r.received_ms, r.id LIMIT ?5",
                              &st, err, errlen);
    if (rc == STORE_OK) {
        store_sql_bind_int64(st, 1, f->max_priority);
        store_sql_bind_text(st, 2, f->site);
        store_sql_bind_text(st, 3, f->review);
        store_sql_bind_int64(st, 4, f->since_ms);
        store_sql_bind_int64(st, 5, f->limit && f->limit <= INT64_MAX ? (int64_t)f->limit : INT64_MAX);
        rc = read_all(s, st, out, n, err, errlen);
        store_sql_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_queue_depth(store *s, int64_t *n, char *err, size_t errlen)
{
    store_stmt *st;
    pthread_mutex_lock(&s->mu);
    int rc = store_db_prepare(s,
                              "SELECT count(*) FROM recording r JOIN site s ON s.id = r.site_id " QUEUE_WHERE,
                              &st, err, errlen);
    if (rc == STORE_OK) {
        store_sql_bind_int64(st, 1, -1);
        store_sql_bind_text(st, 2, NULL);
        store_sql_bind_text(st, 3, "new");
        store_sql_bind_int64(st, 4, 0);
        if (store_sql_step(st) == STORE_SQL_ROW) *n = store_sql_int64(st, 0);
        else rc = store_db_fail(s, "counting the queue", err, errlen);
        store_sql_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}
