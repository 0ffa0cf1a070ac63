/* store_flag.c — flags raised by the analysis, and the priority they give their recording. */
#include "store_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_flag(const store_flag *f, char *err, size_t errlen)
{
    if (!memchr(f->code, '\0', sizeof f->code) || !store_db_text_ok(f->code, 1, sizeof f->code - 1))
        return store_db_err(err, errlen, STORE_EINVAL, "flag code must be 1..31 bytes of UTF-8 text without "
                                                       "control characters");
    if (f->priority < STORE_PRIORITY_CRITICAL || f->priority > STORE_PRIORITY_ROUTINE)
        return store_db_err(err, errlen, STORE_EINVAL,
                            "flag %s: priority %d is invalid: 0 critical, 1 urgent, 2 routine", f->code, f->priority);
    if (f->start < 0 || f->end < f->start)
        return store_db_err(err, errlen, STORE_EINVAL, "flag %s: samples %lld..%lld are invalid: 0 <= start <= end",
                            f->code, (long long)f->start, (long long)f->end);
    if (f->raised_ms < 0) return store_db_err(err, errlen, STORE_EINVAL, "flag %s: raised_ms must be >= 0", f->code);
    return STORE_OK;
}

int store_flag_add(store *s, int64_t recording, const store_flag *f, char *err, size_t errlen)
{
    int rc = check_flag(f, err, errlen);
    if (rc) return rc;
    /* The reasons are cleaned, never refused: a critical flag must not be lost over its wording. */
    char reason_zh[sizeof f->reason_zh], reason_en[sizeof f->reason_en];
    store_db_text_clean(memchr(f->reason_zh, '\0', sizeof f->reason_zh) ? f->reason_zh : "", reason_zh, sizeof reason_zh);
    store_db_text_clean(memchr(f->reason_en, '\0', sizeof f->reason_en) ? f->reason_en : "", reason_en, sizeof reason_en);
    store_stmt *st = NULL;
    rc = STORE_ERR;
    pthread_mutex_lock(&s->mu);
    if (store_db_begin(s, err, errlen)) goto done;
    if (store_db_prepare(s,
                         "SELECT f.id FROM recording r "
                         "LEFT JOIN flag f ON f.recording_id = r.id AND f.code = ?2 AND f.start_sample = ?3 "
                         "WHERE r.id = ?1",
                         &st, err, errlen))
        goto fail;
    store_sql_bind_int64(st, 1, recording);
    store_sql_bind_text(st, 2, f->code);
    store_sql_bind_int64(st, 3, f->start);
    int step = store_sql_step(st);
    if (step == STORE_SQL_DONE) {
        rc = store_db_err(err, errlen, STORE_ENOTFOUND, "%s: no recording %lld", s->path, (long long)recording);
        goto fail;
    }
    if (step != STORE_SQL_ROW) {
        store_db_fail(s, "looking up a flag", err, errlen);
        goto fail;
    }
    int64_t old = store_sql_is_null(st, 0) ? 0 : store_sql_int64(st, 0);
    store_sql_finalize(st);
    st = NULL;
    if (old) {
        /* Re-raised by a re-analysis: keep one row, the longer extent, the more urgent priority. */
        if (store_db_prepare(s,
                             "UPDATE flag SET end_sample = CASE WHEN end_sample > ?2 THEN end_sample ELSE ?2 END, "
                             "priority = CASE WHEN priority < ?3 THEN priority ELSE ?3 END "
                             "WHERE id = ?1",
                             &st, err, errlen))
            goto fail;
        store_sql_bind_int64(st, 1, old);
        store_sql_bind_int64(st, 2, f->end);
        store_sql_bind_int64(st, 3, f->priority);
        int r = store_db_step_done(s, st, "updating a flag", err, errlen);
        st = NULL;
        if (r) goto fail;
    } else {
        if (store_db_prepare(s,
                             "INSERT INTO flag (recording_id, code, priority, start_sample, end_sample, reason_zh, "
                             "reason_en, raised_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                             &st, err, errlen))
            goto fail;
        store_sql_bind_int64(st, 1, recording);
        store_sql_bind_text(st, 2, f->code);
        store_sql_bind_int64(st, 3, f->priority);
        store_sql_bind_int64(st, 4, f->start);
        store_sql_bind_int64(st, 5, f->end);
        store_sql_bind_text(st, 6, reason_zh);
        store_sql_bind_text(st, 7, reason_en);
        store_sql_bind_int64(st, 8, f->raised_ms ? f->raised_ms : store_db_now_ms());
        int r = store_db_step_done(s, st, "adding a flag", err, errlen);
        st = NULL;
        if (r) goto fail;
        char detail[128];
        snprintf(detail, sizeof detail, "%s, priority %d, samples %lld..%lld", f->code, f->priority,
                 (long long)f->start, (long long)f->end);
        if (store_db_audit(s, "server", "flag.add", recording, detail, err, errlen)) goto fail;
    }
    if (store_db_prepare(s, "UPDATE recording SET priority = CASE WHEN priority < ?2 THEN priority ELSE ?2 END WHERE id = ?1", &st, err, errlen))
        goto fail;
    store_sql_bind_int64(st, 1, recording);
    store_sql_bind_int64(st, 2, f->priority);
    int r = store_db_step_done(s, st, "raising a recording's priority", err, errlen);
    st = NULL;
    if (r) goto fail;
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

/* The LEFT JOIN below yields one row of NULLs for a recording without flags: skipped. */
static int read_flag(store_stmt *st, void *item)
{
    store_flag *f = item;
    if (store_sql_is_null(st, 0)) return 0;
    store_db_column_text(st, 0, f->code, sizeof f->code);
    f->priority = store_sql_int(st, 1);
    f->start = store_sql_int64(st, 2);
    f->end = store_sql_int64(st, 3);
    store_db_column_text(st, 4, f->reason_zh, sizeof f->reason_zh);
    store_db_column_text(st, 5, f->reason_en, sizeof f->reason_en);
    f->raised_ms = store_sql_int64(st, 6);
    f->recording = store_sql_int64(st, 7);
    return 1;
}

int store_flag_list(store *s, int64_t recording, store_flag **out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    store_stmt *st = NULL;
    size_t rows = 0;
    int rc = STORE_ERR;
    pthread_mutex_lock(&s->mu);
    /* One row at least when the recording exists (see read_flag), none when it does not. */
    if (store_db_prepare(s,
                         "SELECT f.code, f.priority, f.start_sample, f.end_sample, f.reason_zh, f.reason_en, "
                         "f.raised_ms, r.id FROM recording r LEFT JOIN flag f ON f.recording_id = r.id "
                         "WHERE r.id = ?1 ORDER BY f.priority, f.start_sample, f.id",
                         &st, err, errlen) == STORE_OK) {
        store_sql_bind_int64(st, 1, recording);
        rc = store_db_collect(s, st, sizeof **out, read_flag, (void **)out, n, &rows, "listing flags", err, errlen);
        if (rc == STORE_OK && !rows)
            rc = store_db_err(err, errlen, STORE_ENOTFOUND, "%s: no recording %lld", s->path, (long long)recording);
    }
    store_sql_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* 64 placeholders: a chunk's ids, the unused ones bound to 0 (no recording has id 0). */
#define IDS64                                                                                      \
    "?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26," \
    "?27,?28,?29,?30,?31,?32,?33,?34,?35,?36,?37,?38,?39,?40,?41,?42,?43,?44,?45,?46,?47,?48,?49," \
    "?50,?51,?52,?53,?54,?55,?56,?57,?58,?59,?60,?61,?62,?63,?64"
enum { CHUNK = 64 };
_Static_assert(CHUNK <= STORE_SQL_MAX_PARAMS, "a chunk's ids are parameters");

static int ascending(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int store_flag_list_many(store *s, const int64_t *asked, size_t n, store_flag **out, size_t *nout, char *err,
                         size_t errlen)
{
    *out = NULL;
    *nout = 0;
    store_flag *all = NULL;
    size_t count = 0;
    /* Chunks of sorted ids, so that the concatenated answers are in recording order too. */
    int64_t *ids = n ? malloc(n * sizeof *ids) : NULL;
    if (n && !ids) return store_db_err(err, errlen, STORE_ERR, "%s: listing flags: out of memory", s->path);
    if (n) memcpy(ids, asked, n * sizeof *ids);
    if (n) qsort(ids, n, sizeof *ids, ascending);
    int rc = STORE_OK;
    pthread_mutex_lock(&s->mu);
    for (size_t at = 0; at < n && rc == STORE_OK; at += CHUNK) {
        store_stmt *st;
        if ((rc = store_db_prepare(s,
                                   "SELECT code, priority, start_sample, end_sample, reason_zh, reason_en, raised_ms, "
                                   "recording_id FROM flag WHERE recording_id IN (" IDS64 ") "
                                   "ORDER BY recording_id, priority, start_sample, id",
                                   &st, err, errlen)) != STORE_OK)
            break;
        for (int i = 0; i < CHUNK; i++) store_sql_bind_int64(st, i + 1, at + (size_t)i < n ? ids[at + (size_t)i] : 0);
        store_flag *part;
        size_t got;
        rc = store_db_collect(s, st, sizeof *part, read_flag, (void **)&part, &got, NULL, "listing flags", err, errlen);
        store_sql_finalize(st);
        if (rc != STORE_OK || !got) continue;
        store_flag *bigger = realloc(all, (count + got) * sizeof *all);
        if (!bigger) {
            free(part);
            rc = store_db_err(err, errlen, STORE_ERR, "%s: listing flags: out of memory", s->path);
            break;
        }
        all = bigger;
        memcpy(all + count, part, got * sizeof *part);
        count += got;
        free(part);
    }
    pthread_mutex_unlock(&s->mu);
    free(ids);
    if (rc != STORE_OK) {
        free(all);
        return rc;
    }
    *out = all;
    *nout = count;
    return STORE_OK;
}
