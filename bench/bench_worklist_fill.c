/* bench_worklist_fill.c — fills a store (SQLite or PostgreSQL) with N finished recordings for the
 * worklist benchmark (bench/worklist.sh): sites, devices and a cardiologist through the store's
 * API, then the recordings, flags and their audit rows in one bulk statement each (the store's
 * own functions would cost one durable transaction per row: hours for 100,000).
 *
 * usage: bench_worklist_fill STORE_URL N PASSWORD   (prints nothing; exit 0 on success)
 *
 * The mix is a county's year: 50 sites (one device each), every recording 10 s of 12 leads at
 * 500 Hz, received one a minute or so; 1 % critical, 4 % urgent, 20 % routine, the rest
 * unflagged; all but the newest 2 % signed.
 */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

enum { SITES = 50 };

/* The same SQL on both back ends: a recursive count, no dialect of either. The recordings'
 * numbers (%lld, %d) are filled in by main with snprintf: bench-only constants, never data. */
static const char fill_recordings[] =
    "WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < %lld) "
    "INSERT INTO recording (device_id, name, site_id, patient_id, mode, fs, nleads, journal, state, review, "
    "priority, received_ms, ended_ms, samples) "
    "SELECT 1 + i %% %d, 'bench-' || i, 1 + i %% %d, 'P-' || (i %% 20000), 'resting', 500, 12, '', 'complete', "
    "CASE WHEN i > %lld THEN 'new' ELSE 'signed' END, "
    "CASE WHEN i %% 100 = 0 THEN 0 WHEN i %% 100 < 5 THEN 1 WHEN i %% 100 < 25 THEN 2 ELSE 3 END, "
    "%lld + i * 60000, %lld + i * 60000 + 10000, 5000 FROM n";
static const char fill_flags[] =
    "INSERT INTO flag (recording_id, code, priority, start_sample, end_sample, reason_zh, reason_en, raised_ms) "
    "SELECT id, CASE priority WHEN 0 THEN 'VT_FAST' WHEN 1 THEN 'VT_RUN' ELSE 'PVC_FREQUENT' END, priority, "
    "1000, 2000, '室性心动过速', 'ventricular tachycardia', ended_ms FROM recording WHERE priority < 3";
static const char fill_audit[] =
    "INSERT INTO audit (time_ms, actor, action, recording_id, detail) "
    "SELECT received_ms, 'server', 'recording.finish', id, 'bench' FROM recording";
static const char fill_analyze[] = "ANALYZE"; /* as the database's own maintenance would have by then */

static int run_sql(const char *url, const char *sql)
{
    if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11)) {
        PGconn *c = PQconnectdb(url);
        PGresult *r = PQexec(c, sql);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok) fprintf(stderr, "bench_worklist_fill: %s", PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        return ok ? 0 : -1;
    }
    const char *path = !strncmp(url, "sqlite:", 7) ? url + 7 : url;
    sqlite3 *db;
    char *msg = NULL;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fprintf(stderr, "bench_worklist_fill: %s: %s\n", path, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_worklist_fill STORE_URL N PASSWORD\n");
        return 2;
    }
    long long n = atoll(argv[2]);
    char err[512], token[STORE_TOKEN_CHARS + 1];
    store *s = store_open(argv[1], err, sizeof err);
    if (!s) goto fail;
    for (int i = 0; i < SITES; i++) {
        char dev[32], site[64];
        snprintf(dev, sizeof dev, "bench-%02d", i);
        snprintf(site, sizeof site, "乡镇卫生院 %02d", i);
        if (store_device_add(s, dev, site, token, err, sizeof err)) goto fail;
    }
    if (store_user_add(s, "bench-reader", "cardiologist", NULL, argv[3], err, sizeof err)) goto fail;
    store_close(s);
    s = NULL;
    long long t0 = (long long)time(NULL) * 1000 - n * 60000 - 3600000;
    char sql[2048];
    snprintf(sql, sizeof sql, fill_recordings, n, SITES, SITES, n - n / 50, t0, t0);
    const char *const steps[] = {sql, fill_flags, fill_audit, fill_analyze};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
        if (run_sql(argv[1], steps[i])) return 1;
    return 0;
fail:
    fprintf(stderr, "bench_worklist_fill: %s\n", err);
    store_close(s);
    return 1;
}
