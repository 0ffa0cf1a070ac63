/* test_retention.c — retention in the store: which recordings are due (outpatient 15 years, inpatient
 * 30, from the patient's latest recording), the purge that the store itself refuses too early,
 * its audit, and what a purged recording still shows. On SQLite, and as test_retention_pg on
 * PostgreSQL. */
#include "check.h"
#include "store_harness.h"

#define YEAR_MS 31557600000LL /* a calendar year on average (365.25 days): ages in these tests */
#define OUT_MS (STORE_RETENTION_OUTPATIENT_MIN_YEARS * STORE_YEAR_MS)
#define IN_MS (STORE_RETENTION_INPATIENT_MIN_YEARS * STORE_YEAR_MS)

static int64_t t0; /* the tests' now */

/* Registers device DEV and returns the store. */
static store *with_device(const char *dbname, const char *dev, const char **path)
{
    *path = fresh_db(dbname);
    store *s = open_ok(*path);
    char token[STORE_TOKEN_CHARS + 1];
    CHECK(store_device_add(s, dev, "桥头镇卫生院", token, errbuf, sizeof errbuf) == STORE_OK, "device: %s", errbuf);
    return s;
}

/* A recording of DEV received YEARS ago (fractions allowed), ENCOUNTER as begin takes it, finished
 * "complete" with an archive unless RECEIVING. Returns its id. */
static int64_t add(store *s, const char *dev, const char *name, const char *patient, const char *encounter,
                   double years, int receiving)
{
    store_recording r;
    memset(&r, 0, sizeof r);
    snprintf(r.device, sizeof r.device, "%s", dev);
    snprintf(r.recording, sizeof r.recording, "%s", name);
    snprintf(r.patient_id, sizeof r.patient_id, "%s", patient);
    snprintf(r.mode, sizeof r.mode, "resting");
    snprintf(r.encounter, sizeof r.encounter, "%s", encounter);
    r.fs = 500;
    r.nleads = 12;
    snprintf(r.journal, sizeof r.journal, "/data/journal/%s/%s.ej", dev, name);
    r.received_ms = t0 - (int64_t)(years * (double)YEAR_MS);
    int64_t id = 0;
    int existed = -1;
    CHECK(store_recording_begin(s, &r, &id, &existed, errbuf, sizeof errbuf) == STORE_OK && !existed,
          "begin %s: %s", name, errbuf);
    if (!receiving) {
        char archive[256];
        snprintf(archive, sizeof archive, "/data/archive/%s/%s.edf", dev, name);
        CHECK(store_recording_finish(s, id, "complete", 5000, archive, "{\"beats\":[]}", errbuf, sizeof errbuf) ==
                  STORE_OK, "finish %s: %s", name, errbuf);
    }
    return id;
}

/* 1 when the N recordings of LIST are exactly the ids WANT (in that order). */
static int ids_are(const store_recording *list, size_t n, const int64_t *want, size_t nwant)
{
    if (n != nwant) return 0;
    for (size_t i = 0; i < n; i++)
        if (list[i].id != want[i]) return 0;
    return 1;
}

static void recordings_past_their_class_retention_are_due_oldest_first(void)
{
    const char *path;
    store *s = with_device("retention_due", "ecg-1", &path);
    int64_t out16 = add(s, "ecg-1", "out-16y", "P-A", "outpatient", 16, 0);
    int64_t out14 = add(s, "ecg-1", "out-14y", "P-B", "outpatient", 14, 0);
    add(s, "ecg-1", "in-16y", "P-C", "inpatient", 16, 0);
    int64_t in31 = add(s, "ecg-1", "in-31y", "P-D", "inpatient", 31, 0);
    add(s, "ecg-1", "receiving-40y", "P-E", "outpatient", 40, 1);
    int64_t anon20 = add(s, "ecg-1", "unstated-20y", "", "", 20, 0); /* "" is outpatient */

    store_recording r;
    CHECK(store_recording_get(s, anon20, &r, errbuf, sizeof errbuf) == STORE_OK && !strcmp(r.encounter, "outpatient") &&
              r.purged_ms == 0, "an unstated encounter is stored as outpatient: '%s'", r.encounter);
    CHECK(store_recording_get(s, in31, &r, errbuf, sizeof errbuf) == STORE_OK && !strcmp(r.encounter, "inpatient"),
          "inpatient read back: '%s'", r.encounter);

    store_recording *due = NULL;
    size_t n = 0;
    CHECK(store_retention_due(s, OUT_MS, IN_MS, 0, &due, &n, errbuf, sizeof errbuf) == STORE_OK, "%s", errbuf);
    int64_t want[] = {in31, anon20, out16};
    CHECK(ids_are(due, n, want, 3), "due: outpatient 16 y, inpatient 31 y and the unstated 20 y, oldest first; "
          "not outpatient 14 y, inpatient 16 y or the one still receiving at 40 y (%zu listed)", n);
    if (n == 3) CHECK(!strcmp(due[0].recording, "in-31y") && !strcmp(due[0].journal, "/data/journal/ecg-1/in-31y.ej") &&
                          !strcmp(due[0].archive, "/data/archive/ecg-1/in-31y.edf") && !strcmp(due[0].patient_id, "P-D"),
                      "with what the operator needs to see: %s %s %s", due[0].recording, due[0].journal, due[0].archive);
    free(due);

    /* Two years on, the 14-year-old outpatient recording is 16: due too; inpatient 16 y (then 18) still kept. */
    CHECK(store_retention_due(s, OUT_MS, IN_MS, t0 + 2 * YEAR_MS, &due, &n, errbuf, sizeof errbuf) == STORE_OK, "%s",
          errbuf);
    int64_t later[] = {in31, anon20, out16, out14};
    CHECK(ids_are(due, n, later, 4), "two years later: %zu due", n);
    free(due);

    /* A province that keeps longer: 32 years for inpatients, 17 for outpatients. */
    CHECK(store_retention_due(s, 17 * STORE_YEAR_MS, 32 * STORE_YEAR_MS, 0, &due, &n, errbuf, sizeof errbuf) ==
              STORE_OK, "%s", errbuf);
    int64_t longer[] = {anon20};
    CHECK(ids_are(due, n, longer, 1), "longer retention: only the 20-year-old outpatient recording (%zu)", n);
    free(due);

    /* Less than the rules allow is refused, naming the rule. */
    CHECK(store_retention_due(s, OUT_MS - 1, IN_MS, 0, &due, &n, errbuf, sizeof errbuf) == STORE_EINVAL &&
              strstr(errbuf, "15") && strstr(errbuf, "门诊"), "below 15 years: %s", errbuf);
    CHECK(store_retention_due(s, OUT_MS, 29 * STORE_YEAR_MS, 0, &due, &n, errbuf, sizeof errbuf) == STORE_EINVAL &&
              strstr(errbuf, "30") && strstr(errbuf, "住院"), "below 30 years: %s", errbuf);
    CHECK(due == NULL && n == 0, "nothing listed when refused");
    store_close(s);
}

static void a_later_recording_of_the_patient_keeps_the_earlier_ones(void)
{
    const char *path;
    store *s = with_device("retention_patient", "ecg-1", &path);
    int64_t old = add(s, "ecg-1", "first-visit", "P-G", "outpatient", 20, 0);
    add(s, "ecg-1", "last-visit", "P-G", "outpatient", 5, 0);
    int64_t other = add(s, "ecg-1", "other-patient", "P-H", "outpatient", 20, 0);

    store_recording *due = NULL;
    size_t n = 0;
    CHECK(store_retention_due(s, OUT_MS, IN_MS, 0, &due, &n, errbuf, sizeof errbuf) == STORE_OK, "%s", errbuf);
    int64_t want[] = {other};
    CHECK(ids_are(due, n, want, 1), "P-G's 20-year-old recording waits for 15 years after their visit 5 years ago "
          "(%zu due)", n);
    free(due);
    CHECK(store_recording_purge(s, old, OUT_MS, IN_MS, "cli", NULL, errbuf, sizeof errbuf) == STORE_ESTATE &&
              strstr(errbuf, "latest recording") && strstr(errbuf, "kept until"), "purge refused: %s", errbuf);

    /* Eleven years on, the last visit is 16 years old: both of P-G's recordings are due. */
    CHECK(store_retention_due(s, OUT_MS, IN_MS, t0 + 11 * YEAR_MS, &due, &n, errbuf, sizeof errbuf) == STORE_OK, "%s",
          errbuf);
    CHECK(n == 3, "11 years later all three are due: %zu", n);
    free(due);
    store_close(s);
}

static void the_store_refuses_to_purge_within_retention_whatever_the_caller_passes(void)
{
    const char *path;
    store *s = with_device("retention_refuse", "ecg-1", &path);
    int64_t out14 = add(s, "ecg-1", "out-14y", "P-B", "outpatient", 14, 0);
    int64_t in16 = add(s, "ecg-1", "in-16y", "P-C", "inpatient", 16, 0);
    int64_t recv40 = add(s, "ecg-1", "receiving-40y", "P-E", "outpatient", 40, 1);

    CHECK(store_recording_purge(s, out14, OUT_MS, IN_MS, "cli", NULL, errbuf, sizeof errbuf) == STORE_ESTATE &&
              strstr(errbuf, "within its retention") && strstr(errbuf, "kept until"),
          "outpatient 14 y: %s", errbuf);
    CHECK(store_recording_purge(s, in16, OUT_MS, IN_MS, "cli", NULL, errbuf, sizeof errbuf) == STORE_ESTATE &&
              strstr(errbuf, "inpatient"), "inpatient 16 y: %s", errbuf);
    CHECK(store_recording_purge(s, recv40, OUT_MS, IN_MS, "cli", NULL, errbuf, sizeof errbuf) == STORE_ESTATE &&
              strstr(errbuf, "still being received"), "receiving: %s", errbuf);
    /* A caller that asks for less than the rules is refused before anything is read. */
    CHECK(store_recording_purge(s, out14, 1, 1, "cli", NULL, errbuf, sizeof errbuf) == STORE_EINVAL &&
              strstr(errbuf, "15") && strstr(errbuf, "30"), "1 ms retention: %s", errbuf);
    CHECK(store_recording_purge(s, in16, OUT_MS, OUT_MS, "cli", NULL, errbuf, sizeof errbuf) == STORE_EINVAL,
          "inpatients kept 15 years only: %s", errbuf);
    CHECK(store_recording_purge(s, 999999, OUT_MS, IN_MS, "cli", NULL, errbuf, sizeof errbuf) == STORE_ENOTFOUND,
          "unknown id: %s", errbuf);
    CHECK(store_recording_purge(s, out14, OUT_MS, IN_MS, "", NULL, errbuf, sizeof errbuf) == STORE_EINVAL,
          "no actor: %s", errbuf);
    store_recording r;
    CHECK(store_recording_get(s, out14, &r, errbuf, sizeof errbuf) == STORE_OK && r.purged_ms == 0 &&
              !strcmp(r.archive, "/data/archive/ecg-1/out-14y.edf"), "nothing changed");
    CHECK(raw_count(path, "SELECT count(*) FROM audit WHERE action = 'recording.purge'") == 0, "nothing audited");

    /* And the database itself, for SQL that goes around the store. */
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE recording SET purged_ms = %lld WHERE id = %lld", (long long)t0, (long long)out14);
    CHECK(raw_sql(path, sql) == SQLITE_CONSTRAINT, "the database refuses a purge at 14 years");
    snprintf(sql, sizeof sql, "UPDATE recording SET purged_ms = %lld WHERE id = %lld", (long long)t0, (long long)recv40);
    CHECK(raw_sql(path, sql) == SQLITE_CONSTRAINT, "the database refuses to purge a recording being received");
    snprintf(sql, sizeof sql, "UPDATE recording SET encounter = 'ward' WHERE id = %lld", (long long)out14);
    CHECK(raw_sql(path, sql) == SQLITE_CONSTRAINT, "the class is outpatient or inpatient");

    store_recording bad;
    memset(&bad, 0, sizeof bad);
    snprintf(bad.device, sizeof bad.device, "ecg-1");
    snprintf(bad.recording, sizeof bad.recording, "ward");
    snprintf(bad.mode, sizeof bad.mode, "resting");
    snprintf(bad.encounter, sizeof bad.encounter, "emergency");
    snprintf(bad.journal, sizeof bad.journal, "/j");
    bad.fs = 500;
    bad.nleads = 1;
    int64_t id;
    int existed;
    CHECK(store_recording_begin(s, &bad, &id, &existed, errbuf, sizeof errbuf) == STORE_EINVAL &&
              strstr(errbuf, "encounter"), "begin refuses an unknown class: %s", errbuf);
    store_close(s);
}

static void a_purge_is_audited_clears_the_archive_and_leaves_the_worklist(void)
{
    const char *path;
    store *s = with_device("retention_purge", "ecg-1", &path);
    int64_t out16 = add(s, "ecg-1", "out-16y", "P-A", "outpatient", 16, 0);
    int64_t kept = add(s, "ecg-1", "out-1y", "P-K", "outpatient", 1, 0);
    store_flag f;
    memset(&f, 0, sizeof f);
    snprintf(f.code, sizeof f.code, "PAUSE_LONG");
    f.priority = 1;
    f.end = 100;
    snprintf(f.reason_en, sizeof f.reason_en, "pause");
    snprintf(f.reason_zh, sizeof f.reason_zh, "长间歇");
    CHECK(store_flag_add(s, out16, &f, errbuf, sizeof errbuf) == STORE_OK, "flag: %s", errbuf);
    CHECK(store_user_add(s, "card1", "cardiologist", NULL, "a long password 1", errbuf, sizeof errbuf) == STORE_OK,
          "user: %s", errbuf);
    store_user card;
    CHECK(store_user_get(s, "card1", &card, errbuf, sizeof errbuf) == STORE_OK, "%s", errbuf);

    store_review_item *items = NULL;
    size_t n = 0;
    CHECK(store_worklist(s, &card, NULL, &items, &n, errbuf, sizeof errbuf) == STORE_OK && n == 2,
          "both in the worklist before: %zu", n);
    free(items);

    store_recording before;
    int64_t t = now_ms();
    CHECK(store_recording_purge(s, out16, OUT_MS, IN_MS, "cli", &before, errbuf, sizeof errbuf) == STORE_OK, "purge: %s",
          errbuf);
    CHECK(before.id == out16 && !strcmp(before.journal, "/data/journal/ecg-1/out-16y.ej") &&
              !strcmp(before.archive, "/data/archive/ecg-1/out-16y.edf") && before.purged_ms == 0,
          "the caller learns which files to delete: %s %s", before.journal, before.archive);

    store_recording r;
    CHECK(store_recording_get(s, out16, &r, errbuf, sizeof errbuf) == STORE_OK, "%s", errbuf);
    CHECK(r.purged_ms >= t - 1000 && r.purged_ms <= now_ms() + 1000, "purged now: %lld", (long long)r.purged_ms);
    CHECK(r.archive[0] == 0 && !strcmp(r.journal, before.journal) && !strcmp(r.patient_id, "P-A") &&
              !strcmp(r.state, "complete"), "archive path cleared, the rest kept: '%s'", r.archive);
    char *analysis = NULL;
    CHECK(store_recording_analysis(s, out16, &analysis, errbuf, sizeof errbuf) == STORE_OK && analysis,
          "the analysis stays");
    free(analysis);
    store_flag *fl = NULL;
    CHECK(store_flag_list(s, out16, &fl, &n, errbuf, sizeof errbuf) == STORE_OK && n == 1, "the flag stays");
    free(fl);

    store_audit_entry *a = NULL;
    CHECK(store_audit_list(s, out16, &a, &n, errbuf, sizeof errbuf) == STORE_OK && n > 0, "%s", errbuf);
    int audited = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(a[i].action, "recording.purge"))
            audited += !strcmp(a[i].actor, "cli") && strstr(a[i].detail, "out-16y.ej") &&
                       strstr(a[i].detail, "out-16y.edf") && strstr(a[i].detail, "outpatient");
    CHECK(audited == 1, "one purge audited by the cli, naming the files");
    free(a);

    /* Gone from the worklist and the queue; still there when asked for by id. */
    CHECK(store_worklist(s, &card, NULL, &items, &n, errbuf, sizeof errbuf) == STORE_OK && n == 1 &&
              items[0].rec.id == kept, "only the kept one in the worklist: %zu", n);
    free(items);
    store_recording *q = NULL;
    CHECK(store_queue_list(s, NULL, &q, &n, errbuf, sizeof errbuf) == STORE_OK && n == 1 && q[0].id == kept,
          "only the kept one in the queue: %zu", n);
    free(q);
    int64_t depth = -1;
    CHECK(store_queue_depth(s, &depth, errbuf, sizeof errbuf) == STORE_OK && depth == 1, "queue depth %lld",
          (long long)depth);
    store_review_item it;
    CHECK(store_review_get(s, &card, out16, &it, errbuf, sizeof errbuf) == STORE_OK && it.rec.purged_ms == r.purged_ms,
          "a purged recording can still be opened (metadata, report, audit): %s", errbuf);
    CHECK(store_claim(s, &card, out16, errbuf, sizeof errbuf) == STORE_ESTATE && strstr(errbuf, "deleted"),
          "but not claimed by its id: %s", errbuf);

    /* Once only, never undone, never resumed. */
    CHECK(store_recording_purge(s, out16, OUT_MS, IN_MS, "cli", NULL, errbuf, sizeof errbuf) == STORE_ESTATE &&
              strstr(errbuf, "purged already"), "second purge: %s", errbuf);
    store_recording *due = NULL;
    CHECK(store_retention_due(s, OUT_MS, IN_MS, 0, &due, &n, errbuf, sizeof errbuf) == STORE_OK && n == 0,
          "nothing due after the purge: %zu", n);
    free(due);
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE recording SET purged_ms = NULL WHERE id = %lld", (long long)out16);
    CHECK(raw_sql(path, sql) == SQLITE_CONSTRAINT, "the database refuses to undo a purge");
    snprintf(sql, sizeof sql, "UPDATE recording SET state = 'receiving' WHERE id = %lld", (long long)out16);
    CHECK(raw_sql(path, sql) == SQLITE_CONSTRAINT, "... or to receive into a purged recording");
    store_recording again;
    memset(&again, 0, sizeof again);
    snprintf(again.device, sizeof again.device, "ecg-1");
    snprintf(again.recording, sizeof again.recording, "out-16y");
    snprintf(again.mode, sizeof again.mode, "resting");
    snprintf(again.journal, sizeof again.journal, "%s", before.journal);
    again.fs = 500;
    again.nleads = 12;
    int64_t id;
    int existed;
    CHECK(store_recording_begin(s, &again, &id, &existed, errbuf, sizeof errbuf) == STORE_EINVAL &&
              strstr(errbuf, "purged") && strstr(errbuf, "new recording id"), "a resume is refused: %s", errbuf);
    store_close(s);
}

int main(void)
{
    t0 = now_ms();
    RUN(recordings_past_their_class_retention_are_due_oldest_first);
    RUN(a_later_recording_of_the_patient_keeps_the_earlier_ones);
    RUN(the_store_refuses_to_purge_within_retention_whatever_the_caller_passes);
    RUN(a_purge_is_audited_clears_the_archive_and_leaves_the_worklist);
    return check_report();
}
