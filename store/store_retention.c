/* store_retention.c — retention: which recordings are past their retention period, and marking one purged. */
#include "store_impl.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Refuses retention times below the legal minimum, whoever asks: the rule is the store's to keep. */
static int check_retention(int64_t outpatient_ms, int64_t inpatient_ms, char *err, size_t errlen)
{
    const int64_t out_min = STORE_RETENTION_OUTPATIENT_MIN_YEARS * STORE_YEAR_MS;
    const int64_t in_min = STORE_RETENTION_INPATIENT_MIN_YEARS * STORE_YEAR_MS;
    /* The upper bound keeps now - retention far from overflow (a thousand years is plenty). */
    const int64_t max = 1000 * STORE_YEAR_MS;
    if (outpatient_ms < out_min || inpatient_ms < in_min || outpatient_ms > max || inpatient_ms > max)
        return store_db_err(err, errlen, STORE_EINVAL,
                            "retention of %.1f years (outpatient) and %.1f years (inpatient) refused: the rules on "
                            "medical records (病历保存: 门诊 ≥ %d 年, 住院 ≥ %d 年) ask for at least %d and %d "
                            "years (of %d days), at most 1000",
                            (double)outpatient_ms / STORE_YEAR_MS, (double)inpatient_ms / STORE_YEAR_MS,
                            STORE_RETENTION_OUTPATIENT_MIN_YEARS, STORE_RETENTION_INPATIENT_MIN_YEARS,
                            STORE_RETENTION_OUTPATIENT_MIN_YEARS, STORE_RETENTION_INPATIENT_MIN_YEARS,
                            (int)(STORE_YEAR_MS / (24 * 60 * 60 * 1000LL)));
    return STORE_OK;
}

/* MS as a UTC date "YYYY-MM-DD" in BUF. */
static const char *date_of(int64_t ms, char buf[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, 32, "%Y-%m-%d", &tm)) snprintf(buf, 32, "%lld ms", (long long)ms);
    return buf;
}

static int read_row(store_stmt *st, void *row)
{
    store_db_recording_read(st, row);
    return 1;
}

/* The retention of R's class. */
#define CLASS_RETENTION "(CASE WHEN r.encounter = 'inpatient' THEN ?2 ELSE ?1 END)"

int store_retention_due(store *s, int64_t outpatient_ms, int64_t inpatient_ms, int64_t now_ms, store_recording **out,
                        size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    int rc = check_retention(outpatient_ms, inpatient_ms, err, errlen);
    if (rc) return rc;
    if (now_ms < 0) return store_db_err(err, errlen, STORE_EINVAL, "the time of the retention check must be >= 0");
    if (!now_ms) now_ms = store_db_now_ms();
    store_stmt *st;
    pthread_mutex_lock(&s->mu);
    /* Due: its own reception, and every recording of its patient, at least its class's retention ago. */
    rc = store_db_prepare(s,
                          STORE_DB_RECORDING_SELECT
                          "WHERE r.purged_ms IS NULL AND r.state <> 'receiving' "
                          "AND r.received_ms <= ?3 - " CLASS_RETENTION " "
                          "AND (r.patient_id = '' OR NOT EXISTS (SELECT 1 FROM recording p "
                          "WHERE p.patient_id = r.patient_id AND p.received_ms > ?3 - " CLASS_RETENTION ")) "
                          "ORDER BY r.received_ms, r.id",
                          &st, err, errlen);
    if (rc == STORE_OK) {
        store_sql_bind_int64(st, 1, outpatient_ms);
        store_sql_bind_int64(st, 2, inpatient_ms);
        store_sql_bind_int64(st, 3, now_ms);
        rc = store_db_collect(s, st, sizeof **out, read_row, (void **)out, n, NULL, "listing the recordings due",
                              err, errlen);
        store_sql_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Inside the transaction: the newest reception among PATIENT's recordings into *LAST (0: none). */
static int patient_last(store *s, const char *patient, int64_t *last, char *err, size_t errlen)
{
    store_stmt *st;
    *last = 0;
    if (!patient[0]) return STORE_OK;
    if (store_db_prepare(s, "SELECT COALESCE(max(received_ms), 0) FROM recording WHERE patient_id = ?1", &st, err,
                         errlen))
        return STORE_ERR;
    store_sql_bind_text(st, 1, patient);
    int rc = store_sql_step(st) == STORE_SQL_ROW ? STORE_OK
                                                  : store_db_fail(s, "reading a patient's recordings", err, errlen);
    if (rc == STORE_OK) *last = store_sql_int64(st, 0);
    store_sql_finalize(st);
    return rc;
}

/* Inside the transaction: reads recording ID (locked on PostgreSQL until the transaction ends, so
 * that nothing resumes it between the check and the mark) and checks that it is due at NOW. */
static int check_due(store *s, int64_t id, int64_t outpatient_ms, int64_t inpatient_ms, int64_t now,
                     store_recording *r, char *err, size_t errlen)
{
    store_stmt *st;
#define PURGE_SELECT STORE_DB_RECORDING_SELECT "WHERE r.id = ?1"
    if (store_db_prepare(s, store_sql_is_pg(s) ? PURGE_SELECT " FOR UPDATE OF r" : PURGE_SELECT, &st, err, errlen))
        return STORE_ERR;
    store_sql_bind_int64(st, 1, id);
    int step = store_sql_step(st);
    if (step == STORE_SQL_ROW) store_db_recording_read(st, r);
    store_sql_finalize(st);
    if (step == STORE_SQL_DONE)
        return store_db_err(err, errlen, STORE_ENOTFOUND, "%s: no recording %lld", s->path, (long long)id);
    if (step != STORE_SQL_ROW) return store_db_fail(s, "reading a recording", err, errlen);
    char d1[32], d2[32], d3[32];
    long long rid = (long long)id;
    if (r->purged_ms)
        return store_db_err(err, errlen, STORE_ESTATE, "recording %lld was purged already, on %s (UTC)", rid,
                            date_of(r->purged_ms, d1));
    if (!strcmp(r->state, "receiving"))
        return store_db_err(err, errlen, STORE_ESTATE,
                            "recording %lld is still being received: it is not purged", rid);
    int64_t last;
    if (patient_last(s, r->patient_id, &last, err, errlen)) return STORE_ERR;
    if (last < r->received_ms) last = r->received_ms;
    int inpatient = !strcmp(r->encounter, "inpatient");
    int64_t keep = inpatient ? inpatient_ms : outpatient_ms;
    if (now < last + keep) {
        if (last > r->received_ms)
            return store_db_err(err, errlen, STORE_ESTATE,
                                "recording %lld (%s, received %s) is kept until %s: %.1f years after its patient's "
                                "latest recording, of %s (UTC)", rid, r->encounter, date_of(r->received_ms, d1),
                                date_of(last + keep, d2), (double)keep / STORE_YEAR_MS, date_of(last, d3));
        return store_db_err(err, errlen, STORE_ESTATE,
                            "recording %lld (%s, received %s) is within its retention of %.1f years: kept until %s "
                            "(UTC)", rid, r->encounter, date_of(r->received_ms, d1), (double)keep / STORE_YEAR_MS,
                            date_of(last + keep, d2));
    }
    return STORE_OK;
}

int store_recording_purge(store *s, int64_t id, int64_t outpatient_ms, int64_t inpatient_ms, const char *actor,
                          store_recording *before, char *err, size_t errlen)
{
    int rc = check_retention(outpatient_ms, inpatient_ms, err, errlen);
    if (rc) return rc;
    if (!actor || !store_db_text_ok(actor, 1, 95))
        return store_db_err(err, errlen, STORE_EINVAL, "the actor of a purge must be 1..95 bytes of text");
    store_recording r;
    store_stmt *st = NULL;
    int64_t now = store_db_now_ms();
    pthread_mutex_lock(&s->mu);
    if ((rc = store_db_begin(s, err, errlen)) != STORE_OK) goto done;
    if ((rc = check_due(s, id, outpatient_ms, inpatient_ms, now, &r, err, errlen)) != STORE_OK) goto fail;
    rc = STORE_ERR;
    if (store_db_prepare(s, "UPDATE recording SET purged_ms = ?2, archive = '' WHERE id = ?1 AND purged_ms IS NULL",
                         &st, err, errlen))
        goto fail;
    store_sql_bind_int64(st, 1, id);
    store_sql_bind_int64(st, 2, now);
    if (store_sql_step(st) != STORE_SQL_DONE || store_sql_changes(s) != 1) {
        store_db_fail(s, "marking a recording purged", err, errlen);
        goto fail;
    }
    /* The audit names the files, so that whoever finds them left on disk (a crash after this
     * commit, a file that could not be deleted) knows they belong to a purged recording. */
    char detail[1024], d[32];
    snprintf(detail, sizeof detail, "%s, received %s (UTC); samples deleted: journal %.400s, archive %.400s",
             r.encounter, date_of(r.received_ms, d), r.journal, r.archive[0] ? r.archive : "(none)");
    if (store_db_audit(s, actor, "recording.purge", id, detail, err, errlen)) goto fail;
    if (store_db_commit(s, err, errlen)) goto fail;
    if (before) *before = r;
    rc = STORE_OK;
    goto done;
fail:
    store_db_rollback(s);
done:
    store_sql_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}
