/* test_store.c — the metadata store: schema migrations, device tokens, recordings, flags, the
 * review queue, the audit trail, concurrency and durability across reopen. */
#include "check.h"
#include "store_harness.h"
#include "store.h"

#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>


/* A fresh database in its own scratch directory; returns its path (static). */

static store_recording rec(const char *device, const char *name, int64_t received_ms)
{
    store_recording r;
    memset(&r, 0, sizeof r);
    snprintf(r.device, sizeof r.device, "%s", device);
    snprintf(r.recording, sizeof r.recording, "%s", name);
    snprintf(r.patient_id, sizeof r.patient_id, "P-%s", name);
    snprintf(r.mode, sizeof r.mode, "resting");
    r.fs = 500;
    r.nleads = 12;
    snprintf(r.journal, sizeof r.journal, "/data/journal/%s/%s.ecgj", device, name);
    r.received_ms = received_ms;
    return r;
}

static store_flag flag_of(const char *code, int priority, int64_t start, int64_t end)
{
    store_flag f;
    memset(&f, 0, sizeof f);
    snprintf(f.code, sizeof f.code, "%s", code);
    f.priority = priority;
    f.start = start;
    f.end = end;
    snprintf(f.reason_zh, sizeof f.reason_zh, "%s", "室性心动过速");
    snprintf(f.reason_en, sizeof f.reason_en, "%s", "ventricular tachycardia");
    return f;
}

static int64_t begin_ok(store *s, store_recording r)
{
    int64_t id = 0;
    int existed = -1;
    int rc = store_recording_begin(s, &r, &id, &existed, errbuf, sizeof errbuf);
    CHECK(rc == STORE_OK && id > 0 && existed == 0, "begin %s: rc %d: %s", r.recording, rc, errbuf);
    return id;
}

static void add_device(store *s, const char *id, const char *site, char token[STORE_TOKEN_CHARS + 1])
{
    char scratch[STORE_TOKEN_CHARS + 1];
    int rc = store_device_add(s, id, site, token ? token : scratch, errbuf, sizeof errbuf);
    CHECK(rc == STORE_OK, "add %s: rc %d: %s", id, rc, errbuf);
}

static void migrations_are_idempotent_and_the_file_is_wal_and_private(void)
{
    const char *path = fresh_db("store-migrate");
    store *s = open_ok(path);
    store_close(s);
    s = open_ok(path);
    store_close(s);
    s = open_ok(path);
    CHECK(raw_count(path, "SELECT count(*) FROM schema_version") == STORE_SCHEMA_VERSION,
          "one schema_version row per migration after three opens");
    CHECK(raw_count(path, "SELECT max(version) FROM schema_version") == STORE_SCHEMA_VERSION, "latest version");
    /* WAL is a property of the file: a fresh connection sees it. */
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    const char *mode = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK && sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
          sqlite3_step(st) == SQLITE_ROW && (mode = (const char *)sqlite3_column_text(st, 0)) && !strcmp(mode, "wal"),
          "the file is in WAL mode: %s", mode ? mode : "?");
    sqlite3_finalize(st);
    sqlite3_close(db);
    CHECK(raw_count(path, "PRAGMA application_id") == 0x4543474E, "marked as an ecgnet database");
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "created with mode 0600, is %o", sb.st_mode & 0777);
    char wal[1300];
    snprintf(wal, sizeof wal, "%s-wal", path);
    CHECK(stat(wal, &sb) == 0 && (sb.st_mode & 0777) == 0600, "its write-ahead log too, is %o", sb.st_mode & 0777);
    store_close(s);
}

static void a_newer_schema_and_foreign_files_are_refused(void)
{
    const char *path = fresh_db("store-newer");
    store_close(open_ok(path));
    CHECK(raw_sql(path, "INSERT INTO schema_version VALUES (99, 0, 'from the future')") == SQLITE_OK, "fake");
    store *s = store_open(path, errbuf, sizeof errbuf);
    CHECK(s == NULL, "a database from a newer ecgnet is refused");
    CHECK(strstr(errbuf, "newer") && strstr(errbuf, "99") && strstr(errbuf, path), "message: %s", errbuf);
    store_close(s);

    char other[1200];
    snprintf(other, sizeof other, "%s/other.db", check_tmpdir("store-foreign"));
    CHECK(raw_sql(other, "CREATE TABLE patients (name TEXT)") == SQLITE_OK, "another application's file");
    s = store_open(other, errbuf, sizeof errbuf);
    CHECK(s == NULL && strstr(errbuf, "not an ecgnet database"), "foreign database refused: %s", errbuf);
    store_close(s);
    CHECK(raw_count(other, "SELECT count(*) FROM sqlite_schema") == 1, "and left untouched");
}

static void urls_and_missing_directories_give_clear_errors(void)
{
    const char *dir = check_tmpdir("store-urls");
    char url[1300], path[1300];
    snprintf(url, sizeof url, "sqlite:%s/a.db", dir);
    store *s = store_open(url, errbuf, sizeof errbuf);
    CHECK(s != NULL, "sqlite:PATH: %s", errbuf);
    store_close(s);
    snprintf(path, sizeof path, "%s/a.db", dir);
    CHECK(raw_count(path, "SELECT count(*) FROM schema_version") == STORE_SCHEMA_VERSION, "sqlite:PATH made the file PATH");
    snprintf(url, sizeof url, "sqlite://%s/b.db", dir);
    s = store_open(url, errbuf, sizeof errbuf);
    CHECK(s != NULL && !strcmp(store_path(s), url + 9), "sqlite:///abs/path: %s", errbuf);
    store_close(s);

    s = store_open("postgresql://ecg:secret@127.0.0.1:1/ecgnet", errbuf, sizeof errbuf);
    CHECK(s == NULL && strstr(errbuf, "cannot connect to PostgreSQL") && strstr(errbuf, "ecg:***@127.0.0.1:1") &&
              !strstr(errbuf, "secret"),
          "no server there; the password is not repeated: %s", errbuf);
    s = store_open("mysql://x/y", errbuf, sizeof errbuf);
    CHECK(s == NULL && strstr(errbuf, "unknown store URL scheme 'mysql'"), "%s", errbuf);
    s = store_open(":memory:", errbuf, sizeof errbuf);
    CHECK(s == NULL && strstr(errbuf, "in-memory"), "%s", errbuf);
    s = store_open("", errbuf, sizeof errbuf);
    CHECK(s == NULL && strstr(errbuf, "no database"), "%s", errbuf);

    snprintf(path, sizeof path, "%s/missing/ecgnet.db", dir);
    s = store_open(path, errbuf, sizeof errbuf);
    CHECK(s == NULL && strstr(errbuf, "missing") && strstr(errbuf, "does not exist"), "%s", errbuf);
    snprintf(path, sizeof path, "%s/a.db/ecgnet.db", dir);
    s = store_open(path, errbuf, sizeof errbuf);
    CHECK(s == NULL && strstr(errbuf, "a.db") && strstr(errbuf, "not a directory"), "%s", errbuf);
    snprintf(path, sizeof path, "%s/notsqlite.db", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("this is not a SQLite database, but text long enough to have a header\n", f);
        fclose(f);
    }
    s = store_open(path, errbuf, sizeof errbuf);
    CHECK(s == NULL && strstr(errbuf, "notsqlite.db") && strstr(errbuf, "not a database"), "%s", errbuf);
}

/* PostgreSQL: the same refusals as for a SQLite file, and a password never shown. */
static void postgresql_refuses_foreign_and_newer_databases(void)
{
    const char *url = fresh_db("store-pg-newer");
    store_close(open_ok(url));
    CHECK(raw_count(url, "SELECT count(*) FROM schema_version") == STORE_SCHEMA_VERSION, "migrated");
    CHECK(raw_sql(url, "INSERT INTO schema_version VALUES (99, 0, 'from the future')") == SQLITE_OK, "fake");
    store *s = store_open(url, errbuf, sizeof errbuf);
    CHECK(s == NULL && strstr(errbuf, "newer") && strstr(errbuf, "99"), "a newer schema is refused: %s", errbuf);
    CHECK(!strstr(errbuf, "ecgnet-test-only") && strstr(errbuf, ":***@"), "the password is not shown: %s", errbuf);
    store_close(s);

    const char *other = fresh_db("store-pg-foreign");
    CHECK(raw_sql(other, "CREATE TABLE patients (name TEXT)") == SQLITE_OK, "another application's database");
    s = store_open(other, errbuf, sizeof errbuf);
    CHECK(s == NULL && strstr(errbuf, "not an ecgnet database"), "foreign database refused: %s", errbuf);
    store_close(s);
    CHECK(raw_count(other, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'") == 1,
          "and left untouched");

    char wrong[1300];
    snprintf(wrong, sizeof wrong, "%s", url);
    char *colon = strchr(wrong + 13, ':'), *at = strchr(wrong, '@');
    if (colon && at && colon < at) memmove(colon + 1, "x", 1); /* one wrong letter */
    s = store_open(wrong, errbuf, sizeof errbuf);
    CHECK(s == NULL && strstr(errbuf, "cannot connect to PostgreSQL") && strstr(errbuf, "password"),
          "a wrong password is named: %s", errbuf);
    store_close(s);
}

/* PostgreSQL: a lost connection (the database restarted, a network cut) fails the one call that
 * meets it, saying so, and the next call works on a new connection; nothing is half-written. */
static void a_lost_postgresql_connection_fails_one_call_and_is_remade(void)
{
    const char *url = fresh_db("store-pg-lost");
    store *s = open_ok(url);
    add_device(s, "dev", "site", NULL);
    int64_t a = begin_ok(s, rec("dev", "a", 0));
    /* Every other session to this database is cut from outside, as a restart would. */
    CHECK(raw_sql(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()") == SQLITE_OK,
          "the store's connection is cut");
    store_recording r = rec("dev", "b", 0);
    int64_t id = 0;
    int existed = -1;
    errbuf[0] = 0;
    int rc = store_recording_begin(s, &r, &id, &existed, errbuf, sizeof errbuf);
    CHECK(rc == STORE_ERR && errbuf[0] && strstr(errbuf, ":***@"), "the call that meets the cut fails, saying why: %d %s",
          rc, errbuf);
    rc = store_recording_begin(s, &r, &id, &existed, errbuf, sizeof errbuf);
    CHECK(rc == STORE_OK && existed == 0 && id > a, "the next call works on a new connection: %d %s", rc, errbuf);
    store_recording g;
    CHECK(store_recording_get(s, a, &g, errbuf, sizeof errbuf) == STORE_OK && !strcmp(g.recording, "a"),
          "what was stored before is there");
    CHECK(raw_count(url, "SELECT count(*) FROM recording") == 2 &&
              raw_count(url, "SELECT count(*) FROM audit WHERE action = 'recording.begin'") == 2,
          "each recording once, each audited once: nothing half-written");
    store_close(s);
}

static int base64url(const char *t)
{
    return strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(t);
}

static void devices_authenticate_with_their_token_only(void)
{
    const char *path = fresh_db("store-devices");
    store *s = open_ok(path);
    char t1[STORE_TOKEN_CHARS + 1], t2[STORE_TOKEN_CHARS + 1], site[65];
    int64_t before = now_ms();
    add_device(s, "clinic-07", "马庄乡卫生院", t1);
    add_device(s, "ah.01_b", "county-hospital", t2);
    CHECK(strlen(t1) == STORE_TOKEN_CHARS && base64url(t1), "token is 43 base64url characters: %s", t1);
    CHECK(strcmp(t1, t2) != 0, "tokens differ");

    store_device *d;
    size_t n;
    CHECK(store_device_list(s, &d, &n, errbuf, sizeof errbuf) == STORE_OK && n == 2, "two devices: %s", errbuf);
    if (n == 2) {
        CHECK(!strcmp(d[0].id, "ah.01_b") && !strcmp(d[1].id, "clinic-07"), "sorted by id");
        CHECK(!strcmp(d[1].site, "马庄乡卫生院"), "site %s", d[1].site);
        CHECK(d[1].created_ms >= before && d[1].created_ms <= now_ms(), "created now");
        CHECK(d[1].revoked_ms == 0 && d[1].last_seen_ms == 0, "active, never seen");
    }
    free(d);

    memset(site, 0, sizeof site);
    CHECK(store_device_auth(s, "clinic-07", t1, site, errbuf, sizeof errbuf) == STORE_OK, "right token: %s", errbuf);
    CHECK(!strcmp(site, "马庄乡卫生院"), "auth gives the site: %s", site);
    CHECK(store_device_list(s, &d, &n, errbuf, sizeof errbuf) == STORE_OK && n == 2 && d[1].last_seen_ms >= before,
          "last seen updated");
    free(d);

    char wrong_msg[1024], unknown_msg[1024];
    CHECK(store_device_auth(s, "clinic-07", t2, site, wrong_msg, sizeof wrong_msg) == STORE_EAUTH, "another's token");
    CHECK(store_device_auth(s, "nobody", t1, site, unknown_msg, sizeof unknown_msg) == STORE_EAUTH, "unknown device");
    CHECK(!strcmp(wrong_msg, unknown_msg), "same message for both: '%s' / '%s'", wrong_msg, unknown_msg);
    CHECK(store_device_auth(s, "clinic-07", "", site, errbuf, sizeof errbuf) == STORE_EAUTH, "empty token");
    CHECK(store_device_auth(s, "clinic-07", NULL, site, errbuf, sizeof errbuf) == STORE_EAUTH, "no token");
    char prefix[STORE_TOKEN_CHARS + 1];
    memcpy(prefix, t1, sizeof prefix);
    prefix[STORE_TOKEN_CHARS - 1] = '\0';
    CHECK(store_device_auth(s, "clinic-07", prefix, site, errbuf, sizeof errbuf) == STORE_EAUTH, "a prefix");
    CHECK(store_device_auth(s, "bad id!", t1, site, errbuf, sizeof errbuf) == STORE_EAUTH, "malformed id");

    /* Only the hash is stored: BLAKE2b-256 of the token text. */
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)t1, strlen(t1), NULL, 0);
    char sql[256], hex[65];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    snprintf(sql, sizeof sql,
             harness_pg() ? "SELECT count(*) FROM device WHERE name = 'clinic-07' AND token_hash = decode('%s', 'hex')"
                          : "SELECT count(*) FROM device WHERE name = 'clinic-07' AND token_hash = x'%s'",
             hex);
    CHECK(raw_count(path, sql) == 1, "token stored as its BLAKE2b-256 hash");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM device WHERE CAST(token_hash AS TEXT) LIKE '%%%s%%'", t1);
    CHECK(raw_count(path, sql) == 0, "never as text");

    CHECK(store_device_revoke(s, "clinic-07", errbuf, sizeof errbuf) == STORE_OK, "revoke: %s", errbuf);
    CHECK(store_device_auth(s, "clinic-07", t1, site, errbuf, sizeof errbuf) == STORE_EREVOKED, "revoked");
    CHECK(store_device_auth(s, "clinic-07", t2, site, errbuf, sizeof errbuf) == STORE_EAUTH,
          "a wrong token for a revoked device tells nothing more");
    CHECK(store_device_revoke(s, "clinic-07", errbuf, sizeof errbuf) == STORE_EREVOKED, "already revoked");
    CHECK(store_device_revoke(s, "nobody", errbuf, sizeof errbuf) == STORE_ENOTFOUND && strstr(errbuf, "nobody"),
          "%s", errbuf);
    CHECK(store_device_auth(s, "ah.01_b", t2, site, errbuf, sizeof errbuf) == STORE_OK, "the other still works");
    CHECK(store_device_list(s, &d, &n, errbuf, sizeof errbuf) == STORE_OK && n == 2 && d[1].revoked_ms >= before &&
          d[0].revoked_ms == 0, "revocation listed");
    free(d);
    store_close(s);
}

static void duplicate_and_invalid_devices_are_refused(void)
{
    store *s = open_ok(fresh_db("store-invalid"));
    char t[STORE_TOKEN_CHARS + 1], t2[STORE_TOKEN_CHARS + 1] = "unchanged", site[65];
    add_device(s, "dev-1", "site", t);
    CHECK(store_device_add(s, "dev-1", "elsewhere", t2, errbuf, sizeof errbuf) == STORE_EEXIST &&
          strstr(errbuf, "dev-1"), "duplicate: %s", errbuf);
    CHECK(!strcmp(t2, "unchanged"), "no token handed out for a refused add");
    CHECK(store_device_auth(s, "dev-1", t, site, errbuf, sizeof errbuf) == STORE_OK && !strcmp(site, "site"),
          "the original keeps its token and site");
    store_device_revoke(s, "dev-1", errbuf, sizeof errbuf);
    CHECK(store_device_add(s, "dev-1", "site", t2, errbuf, sizeof errbuf) == STORE_EEXIST, "ids are never reused");

    char id64[65], id65[66], site64[65], site65[66];
    memset(id64, 'a', 64), id64[64] = 0;
    memset(id65, 'a', 65), id65[65] = 0;
    memset(site64, 's', 64), site64[64] = 0;
    memset(site65, 's', 65), site65[65] = 0;
    const char *bad_ids[] = {"", id65, "a b", "a/b", "é", "../x", "a\n", "a;DROP"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        int rc = store_device_add(s, bad_ids[i], "site", t, errbuf, sizeof errbuf);
        CHECK(rc == STORE_EINVAL && strstr(errbuf, "device id"), "id '%s': rc %d %s", bad_ids[i], rc, errbuf);
    }
    CHECK(store_device_add(s, NULL, "site", t, errbuf, sizeof errbuf) == STORE_EINVAL, "NULL id");
    const char *bad_sites[] = {"", site65, "a\nb", "tab\there", "\xC3", "\xE4\xB8", "\xC0\xAF", "bell\x07", "c1\xC2\x85",
                               "del\x7F", "\xED\xA0\x80" /* surrogate */, "\xF4\x90\x80\x80" /* > U+10FFFF */,
                               "\xE0\x80\xAF" /* overlong */, "\xFF"};
    for (size_t i = 0; i < sizeof bad_sites / sizeof bad_sites[0]; i++) {
        int rc = store_device_add(s, "ok-id", bad_sites[i], t, errbuf, sizeof errbuf);
        CHECK(rc == STORE_EINVAL && strstr(errbuf, "site"), "site #%zu: rc %d %s", i, rc, errbuf);
    }
    add_device(s, id64, site64, NULL);
    add_device(s, "A.b_c-9", "Village clinic No. 3 (东村)", NULL);
    /* 21 three-byte characters are 63 bytes: fits; 22 are 66: too long. */
    add_device(s, "wide", "一二三四五六七八九十一二三四五六七八九十一", NULL);
    CHECK(store_device_add(s, "wider", "一二三四五六七八九十一二三四五六七八九十一二", t, errbuf, sizeof errbuf) ==
              STORE_EINVAL, "the site limit is in bytes");
    store_device *d;
    size_t n;
    CHECK(store_device_list(s, &d, &n, errbuf, sizeof errbuf) == STORE_OK && n == 4, "four devices, %zu", n);
    free(d);
    store_close(s);
}

static void recordings_begin_resume_and_refuse_a_mismatched_resume(void)
{
    store *s = open_ok(fresh_db("store-recordings"));
    add_device(s, "dev-a", "site-a", NULL);
    add_device(s, "dev-b", "site-b", NULL);
    int64_t t0 = now_ms();
    store_recording r = rec("dev-a", "2026-11-23T10:00:00Z-1", 0);
    int64_t id = begin_ok(s, r);

    store_recording g;
    CHECK(store_recording_get(s, id, &g, errbuf, sizeof errbuf) == STORE_OK, "get: %s", errbuf);
    CHECK(g.id == id && !strcmp(g.device, "dev-a") && !strcmp(g.recording, r.recording), "ids");
    CHECK(!strcmp(g.site, "site-a"), "an empty site means the device's: %s", g.site);
    CHECK(!strcmp(g.patient_id, r.patient_id) && !strcmp(g.mode, "resting") && g.fs == 500 && g.nleads == 12,
          "metadata");
    CHECK(!strcmp(g.journal, r.journal) && g.archive[0] == 0, "journal, no archive yet");
    CHECK(!strcmp(g.state, "receiving") && !strcmp(g.review, "new") && g.priority == 3, "%s %s %d", g.state,
          g.review, g.priority);
    CHECK(g.received_ms >= t0 && g.received_ms <= now_ms() && g.ended_ms == 0 && g.samples == 0, "times");

    int64_t again = 0;
    int existed = 0;
    CHECK(store_recording_begin(s, &r, &again, &existed, errbuf, sizeof errbuf) == STORE_OK && again == id &&
          existed == 1, "a second begin is a resume of the same id");
    store_recording bad = r;
    bad.fs = 250;
    int rc = store_recording_begin(s, &bad, &again, &existed, errbuf, sizeof errbuf);
    CHECK(rc == STORE_EINVAL && strstr(errbuf, "500 Hz") && strstr(errbuf, "250 Hz"), "fs mismatch: %s", errbuf);
    bad = r;
    bad.nleads = 3;
    rc = store_recording_begin(s, &bad, &again, &existed, errbuf, sizeof errbuf);
    CHECK(rc == STORE_EINVAL && strstr(errbuf, "12 leads") && strstr(errbuf, "3 leads"), "leads: %s", errbuf);

    store_recording other = rec("dev-b", r.recording, 0);
    snprintf(other.site, sizeof other.site, "outreach-camp");
    int64_t id_b = begin_ok(s, other);
    CHECK(id_b != id, "recording ids are unique per device only");
    CHECK(store_recording_find(s, "dev-b", r.recording, &g, errbuf, sizeof errbuf) == STORE_OK && g.id == id_b &&
          !strcmp(g.site, "outreach-camp"), "find by device and name, with a given site");
    CHECK(store_recording_find(s, "dev-a", "nope", &g, errbuf, sizeof errbuf) == STORE_ENOTFOUND &&
          strstr(errbuf, "nope"), "%s", errbuf);
    CHECK(store_recording_get(s, 999999, &g, errbuf, sizeof errbuf) == STORE_ENOTFOUND, "get unknown");

    store_recording unknown = rec("ghost", "x", 0);
    CHECK(store_recording_begin(s, &unknown, &again, &existed, errbuf, sizeof errbuf) == STORE_ENOTFOUND &&
          strstr(errbuf, "ghost"), "unknown device: %s", errbuf);
    struct { const char *what; store_recording r; } invalid[7];
    for (int i = 0; i < 7; i++) invalid[i].r = rec("dev-a", "new", 0);
    invalid[0].what = "mode", snprintf(invalid[0].r.mode, 16, "holter");
    invalid[1].what = "sample rate", invalid[1].r.fs = 0;
    invalid[2].what = "lead count", invalid[2].r.nleads = 0;
    invalid[3].what = "lead count", invalid[3].r.nleads = STORE_MAX_LEADS + 1;
    invalid[4].what = "recording id", invalid[4].r.recording[0] = 0;
    invalid[5].what = "journal", invalid[5].r.journal[0] = 0;
    invalid[6].what = "patient id", snprintf(invalid[6].r.patient_id, 65, "a\tb");
    for (int i = 0; i < 7; i++) {
        rc = store_recording_begin(s, &invalid[i].r, &again, &existed, errbuf, sizeof errbuf);
        CHECK(rc == STORE_EINVAL && strstr(errbuf, invalid[i].what), "%s: rc %d %s", invalid[i].what, rc, errbuf);
    }

    store_recording *list;
    size_t n;
    CHECK(store_recording_list_receiving(s, &list, &n, errbuf, sizeof errbuf) == STORE_OK && n == 2,
          "two receiving: %zu", n);
    free(list);
    store_close(s);
}

static void finishing_stores_state_samples_archive_and_analysis(void)
{
    store *s = open_ok(fresh_db("store-finish"));
    add_device(s, "dev", "site", NULL);
    int64_t a = begin_ok(s, rec("dev", "a", 0)), b = begin_ok(s, rec("dev", "b", 0));
    const char *json = "{\"beat_count\": 12, \"flags\": [], \"note\": \"心率正常\"}";
    int64_t t0 = now_ms();
    CHECK(store_recording_finish(s, a, "complete", 5000, "/data/archive/a.edf", json, errbuf, sizeof errbuf) ==
              STORE_OK, "finish: %s", errbuf);
    store_recording g;
    store_recording_get(s, a, &g, errbuf, sizeof errbuf);
    CHECK(!strcmp(g.state, "complete") && g.samples == 5000 && !strcmp(g.archive, "/data/archive/a.edf"),
          "%s %lld %s", g.state, (long long)g.samples, g.archive);
    CHECK(g.ended_ms >= t0 && g.ended_ms <= now_ms(), "ended now");
    char *got = NULL;
    CHECK(store_recording_analysis(s, a, &got, errbuf, sizeof errbuf) == STORE_OK && got && !strcmp(got, json),
          "analysis round-trips: %s", got ? got : "(null)");
    free(got);
    CHECK(store_recording_analysis(s, b, &got, errbuf, sizeof errbuf) == STORE_OK && got == NULL, "none yet");
    CHECK(store_recording_analysis(s, 4242, &got, errbuf, sizeof errbuf) == STORE_ENOTFOUND, "unknown");

    CHECK(store_recording_finish(s, b, "done", 1, NULL, NULL, errbuf, sizeof errbuf) == STORE_EINVAL &&
          strstr(errbuf, "done"), "%s", errbuf);
    CHECK(store_recording_finish(s, b, "complete", 1, NULL, "{not json", errbuf, sizeof errbuf) == STORE_EINVAL &&
          strstr(errbuf, "JSON"), "%s", errbuf);
    CHECK(store_recording_finish(s, b, "complete", -1, NULL, NULL, errbuf, sizeof errbuf) == STORE_EINVAL, "samples");
    CHECK(store_recording_finish(s, 4242, "complete", 1, NULL, NULL, errbuf, sizeof errbuf) == STORE_ENOTFOUND,
          "unknown id");

    /* Interrupted, then the device comes back: receiving again; the archive and analysis stay. */
    CHECK(store_recording_finish(s, b, "interrupted", 700, NULL, "{}", errbuf, sizeof errbuf) == STORE_OK, "%s",
          errbuf);
    store_recording r = rec("dev", "b", 0);
    int64_t id;
    int existed;
    CHECK(store_recording_begin(s, &r, &id, &existed, errbuf, sizeof errbuf) == STORE_OK && id == b && existed,
          "resume");
    store_recording_get(s, b, &g, errbuf, sizeof errbuf);
    CHECK(!strcmp(g.state, "receiving") && g.ended_ms == 0, "an interrupted recording resumes: %s", g.state);
    /* A complete one stays complete. */
    r = rec("dev", "a", 0);
    CHECK(store_recording_begin(s, &r, &id, &existed, errbuf, sizeof errbuf) == STORE_OK && id == a && existed,
          "resume of a complete recording");
    store_recording_get(s, a, &g, errbuf, sizeof errbuf);
    CHECK(!strcmp(g.state, "complete"), "complete stays complete: %s", g.state);
    CHECK(store_recording_finish(s, a, "complete", 6000, NULL, NULL, errbuf, sizeof errbuf) == STORE_OK, "again");
    store_recording_get(s, a, &g, errbuf, sizeof errbuf);
    CHECK(g.samples == 6000 && !strcmp(g.archive, "/data/archive/a.edf"), "NULL archive leaves it");
    CHECK(store_recording_analysis(s, a, &got, errbuf, sizeof errbuf) == STORE_OK && got && !strcmp(got, json),
          "NULL analysis leaves it");
    free(got);
    store_close(s);
}

/* A worklist page's flags in one go: every recording's own, in recording order, past the 64 ids
 * one query takes. */
static void the_flags_of_many_recordings_come_in_one_call(void)
{
    store *s = open_ok(fresh_db("store-flags-many"));
    add_device(s, "dev", "site", NULL);
    enum { N = 70 };
    int64_t ids[N + 1];
    for (int i = 0; i < N; i++) {
        char name[16];
        snprintf(name, sizeof name, "r%d", i);
        ids[N - 1 - i] = begin_ok(s, rec("dev", name, 0)); /* asked newest first */
        if (i % 10 == 0) { /* every tenth: two flags */
            store_flag f = flag_of("PAUSE_LONG", STORE_PRIORITY_ROUTINE, 100 + i, 200 + i);
            store_flag_add(s, ids[N - 1 - i], &f, errbuf, sizeof errbuf);
            f = flag_of("VT_FAST_SUSTAINED", STORE_PRIORITY_CRITICAL, 500, 900);
            store_flag_add(s, ids[N - 1 - i], &f, errbuf, sizeof errbuf);
        }
    }
    ids[N] = 999999; /* no such recording: no flags, no error */
    store_flag *f;
    size_t n;
    CHECK(store_flag_list_many(s, ids, N + 1, &f, &n, errbuf, sizeof errbuf) == STORE_OK && n == 14,
          "2 flags for each of 7 recordings: %zu %s", n, errbuf);
    for (size_t i = 0; i + 1 < n; i += 2) {
        CHECK(f[i].recording == f[i + 1].recording && (i == 0 || f[i].recording > f[i - 1].recording),
              "grouped by recording, in id order");
        CHECK(!strcmp(f[i].code, "VT_FAST_SUSTAINED") && !strcmp(f[i + 1].code, "PAUSE_LONG"),
              "most urgent first within a recording");
    }
    int64_t first_flagged = ids[N - 1]; /* r0 */
    CHECK(n && f[0].recording == first_flagged && f[0].start == 500 && f[1].start == 100, "r0's own flags");
    int64_t last = ids[N - 1 - 60]; /* r60: in the second chunk of 64 */
    CHECK(n == 14 && f[12].recording == last && f[13].start == 160, "r60's, from the second query");
    free(f);
    CHECK(store_flag_list_many(s, ids, 0, &f, &n, errbuf, sizeof errbuf) == STORE_OK && n == 0 && !f, "none asked");
    store_close(s);
}

static void flags_lower_the_recording_priority(void)
{
    store *s = open_ok(fresh_db("store-flags"));
    add_device(s, "dev", "site", NULL);
    int64_t id = begin_ok(s, rec("dev", "r", 0));
    store_recording g;
    store_flag f = flag_of("PAUSE_LONG", STORE_PRIORITY_ROUTINE, 1000, 2500);
    CHECK(store_flag_add(s, id, &f, errbuf, sizeof errbuf) == STORE_OK, "routine: %s", errbuf);
    store_recording_get(s, id, &g, errbuf, sizeof errbuf);
    CHECK(g.priority == 2, "routine flag: priority %d", g.priority);
    f = flag_of("VT_FAST_SUSTAINED", STORE_PRIORITY_CRITICAL, 5000, 9000);
    CHECK(store_flag_add(s, id, &f, errbuf, sizeof errbuf) == STORE_OK, "critical: %s", errbuf);
    store_recording_get(s, id, &g, errbuf, sizeof errbuf);
    CHECK(g.priority == 0, "critical flag: priority %d", g.priority);
    f = flag_of("AF_RAPID", STORE_PRIORITY_URGENT, 100, 200);
    CHECK(store_flag_add(s, id, &f, errbuf, sizeof errbuf) == STORE_OK, "urgent: %s", errbuf);
    store_recording_get(s, id, &g, errbuf, sizeof errbuf);
    CHECK(g.priority == 0, "a later, less urgent flag does not raise it back: %d", g.priority);

    /* Re-raised by a re-analysis: one row, the longer extent. */
    f = flag_of("VT_FAST_SUSTAINED", STORE_PRIORITY_CRITICAL, 5000, 12000);
    CHECK(store_flag_add(s, id, &f, errbuf, sizeof errbuf) == STORE_OK, "again: %s", errbuf);

    store_flag *l;
    size_t n;
    CHECK(store_flag_list(s, id, &l, &n, errbuf, sizeof errbuf) == STORE_OK && n == 3, "three flags: %zu", n);
    if (n == 3) {
        CHECK(!strcmp(l[0].code, "VT_FAST_SUSTAINED") && l[0].priority == 0 && l[0].start == 5000 &&
              l[0].end == 12000, "most urgent first, extended: %s %lld", l[0].code, (long long)l[0].end);
        CHECK(!strcmp(l[1].code, "AF_RAPID") && !strcmp(l[2].code, "PAUSE_LONG"), "then urgent, routine");
        CHECK(!strcmp(l[0].reason_zh, "室性心动过速") && !strcmp(l[0].reason_en, "ventricular tachycardia"),
              "reasons");
        CHECK(l[0].raised_ms > 0, "raised now");
    }
    free(l);

    int64_t quiet = begin_ok(s, rec("dev", "quiet", 0));
    CHECK(store_flag_list(s, quiet, &l, &n, errbuf, sizeof errbuf) == STORE_OK && n == 0 && l == NULL, "no flags");
    CHECK(store_flag_list(s, 777, &l, &n, errbuf, sizeof errbuf) == STORE_ENOTFOUND, "unknown recording");
    f = flag_of("X", STORE_PRIORITY_CRITICAL, 0, 1);
    CHECK(store_flag_add(s, 777, &f, errbuf, sizeof errbuf) == STORE_ENOTFOUND, "flag on an unknown recording");
    f = flag_of("X", 3, 0, 1);
    CHECK(store_flag_add(s, id, &f, errbuf, sizeof errbuf) == STORE_EINVAL && strstr(errbuf, "priority"), "%s", errbuf);
    f = flag_of("X", 0, 10, 5);
    CHECK(store_flag_add(s, id, &f, errbuf, sizeof errbuf) == STORE_EINVAL, "end before start");
    f = flag_of("", 0, 0, 1);
    CHECK(store_flag_add(s, id, &f, errbuf, sizeof errbuf) == STORE_EINVAL && strstr(errbuf, "code"), "%s", errbuf);
    f = flag_of("X", 0, 0, 1);
    snprintf(f.code, sizeof f.code, "a\tb");
    CHECK(store_flag_add(s, id, &f, errbuf, sizeof errbuf) == STORE_EINVAL && strstr(errbuf, "code"), "%s", errbuf);

    /* A flag is never refused over its wording: bad text is stored cleaned. */
    f = flag_of("房颤 RAPID", STORE_PRIORITY_CRITICAL, 7, 8);
    snprintf(f.reason_en, sizeof f.reason_en, "bad\xff byte,\nnew line");
    memset(f.reason_zh, 0, sizeof f.reason_zh);
    memcpy(f.reason_zh, "心率\xE4\xB8", 8); /* cut inside a character */
    int64_t other = begin_ok(s, rec("dev", "other", 0));
    CHECK(store_flag_add(s, other, &f, errbuf, sizeof errbuf) == STORE_OK, "stored: %s", errbuf);
    CHECK(store_flag_list(s, other, &l, &n, errbuf, sizeof errbuf) == STORE_OK && n == 1, "one flag");
    if (n == 1) {
        CHECK(!strcmp(l[0].code, "房颤 RAPID"), "any UTF-8 code: %s", l[0].code);
        CHECK(!strcmp(l[0].reason_en, "bad? byte,?new line"), "cleaned: %s", l[0].reason_en);
        CHECK(!strcmp(l[0].reason_zh, "心率??"), "cleaned: %s", l[0].reason_zh);
    }
    free(l);
    store_close(s);
}

/* Builds the queue of the spec: three complete priorities, ties broken by age, an unflagged
 * receiving recording left out and a flagged one let in. Returns the ids in queue order. */
static void build_queue(store *s, int64_t ids[6], int64_t *quiet_receiving)
{
    add_device(s, "d1", "north", NULL);
    add_device(s, "d2", "south", NULL);
    int64_t a = begin_ok(s, rec("d1", "A-none", 1000));
    int64_t b = begin_ok(s, rec("d1", "B-routine", 500));
    int64_t c = begin_ok(s, rec("d2", "C-critical-newer", 3000));
    int64_t d = begin_ok(s, rec("d2", "D-urgent", 2000));
    int64_t e = begin_ok(s, rec("d1", "E-critical-older", 2500));
    int64_t f = begin_ok(s, rec("d1", "F-receiving-quiet", 100));
    int64_t g = begin_ok(s, rec("d2", "G-receiving-critical", 4000));
    store_flag fl = flag_of("PAUSE_LONG", STORE_PRIORITY_ROUTINE, 0, 10);
    store_flag_add(s, b, &fl, errbuf, sizeof errbuf);
    fl = flag_of("AF_RAPID", STORE_PRIORITY_URGENT, 0, 10);
    store_flag_add(s, d, &fl, errbuf, sizeof errbuf);
    fl = flag_of("ASYSTOLE", STORE_PRIORITY_CRITICAL, 0, 10);
    store_flag_add(s, c, &fl, errbuf, sizeof errbuf);
    store_flag_add(s, e, &fl, errbuf, sizeof errbuf);
    store_flag_add(s, g, &fl, errbuf, sizeof errbuf);
    CHECK(store_recording_finish(s, a, "complete", 1, NULL, NULL, errbuf, sizeof errbuf) == STORE_OK, "%s", errbuf);
    store_recording_finish(s, b, "complete", 1, NULL, NULL, errbuf, sizeof errbuf);
    store_recording_finish(s, c, "complete", 1, NULL, NULL, errbuf, sizeof errbuf);
    store_recording_finish(s, d, "interrupted", 1, NULL, NULL, errbuf, sizeof errbuf);
    store_recording_finish(s, e, "complete", 1, NULL, NULL, errbuf, sizeof errbuf);
    int64_t order[6] = {e, c, g, d, b, a};
    memcpy(ids, order, sizeof order);
    *quiet_receiving = f;
}

static int queue_is(store *s, const store_queue_filter *f, const int64_t *want, size_t nwant, const char *what)
{
    store_recording *q;
    size_t n;
    int rc = store_queue_list(s, f, &q, &n, errbuf, sizeof errbuf);
    int same = rc == STORE_OK && n == nwant;
    for (size_t i = 0; same && i < n; i++) same = q[i].id == want[i];
    CHECK(same, "%s: rc %d, %zu entries (want %zu): %s", what, rc, n, nwant, rc ? errbuf : "");
    if (!same && rc == STORE_OK)
        for (size_t i = 0; i < n; i++) fprintf(stderr, "  %lld %s p%d\n", (long long)q[i].id, q[i].recording, q[i].priority);
    free(q);
    return same;
}

static void the_queue_is_most_urgent_then_oldest_first(void)
{
    store *s = open_ok(fresh_db("store-queue"));
    int64_t ids[6], quiet;
    build_queue(s, ids, &quiet);
    /* ids: E critical 2500, C critical 3000, G critical receiving 4000, D urgent, B routine, A none. */
    queue_is(s, NULL, ids, 6, "everything, in order; the quiet receiving recording left out");
    store_queue_filter f = {.max_priority = -1};
    queue_is(s, &f, ids, 6, "an empty filter");
    f.max_priority = 0;
    queue_is(s, &f, ids, 3, "critical only");
    f.max_priority = 2;
    queue_is(s, &f, ids, 5, "flagged only");
    f = (store_queue_filter){.max_priority = -1, .site = "south"};
    int64_t south[] = {ids[1], ids[2], ids[3]};
    queue_is(s, &f, south, 3, "site south");
    f = (store_queue_filter){.max_priority = -1, .site = "west"};
    queue_is(s, &f, NULL, 0, "an unknown site");
    f = (store_queue_filter){.max_priority = -1, .review = "new"};
    queue_is(s, &f, ids, 6, "review new");
    f.review = "signed";
    queue_is(s, &f, NULL, 0, "nothing signed yet");
    f = (store_queue_filter){.max_priority = -1, .since_ms = 2600};
    int64_t recent[] = {ids[1], ids[2]};
    queue_is(s, &f, recent, 2, "since");
    f = (store_queue_filter){.max_priority = -1, .limit = 2};
    queue_is(s, &f, ids, 2, "limit");

    store_recording *q;
    size_t n;
    f = (store_queue_filter){.max_priority = -1, .review = "bogus"};
    CHECK(store_queue_list(s, &f, &q, &n, errbuf, sizeof errbuf) == STORE_EINVAL && strstr(errbuf, "bogus"), "%s",
          errbuf);
    f = (store_queue_filter){.max_priority = 4};
    CHECK(store_queue_list(s, &f, &q, &n, errbuf, sizeof errbuf) == STORE_EINVAL && strstr(errbuf, "max_priority"),
          "%s", errbuf);
    int64_t depth = -1;
    CHECK(store_queue_depth(s, &depth, errbuf, sizeof errbuf) == STORE_OK && depth == 6, "depth %lld",
          (long long)depth);

    /* The quiet recording joins the queue once it ends, at its age's place among the unflagged. */
    store_recording_finish(s, quiet, "complete", 1, NULL, NULL, errbuf, sizeof errbuf);
    int64_t all[] = {ids[0], ids[1], ids[2], ids[3], ids[4], quiet, ids[5]};
    queue_is(s, NULL, all, 7, "after the quiet recording ended");
    store_close(s);
}

static int has_audit(const store_audit_entry *a, size_t n, const char *actor, const char *action, int64_t rec_id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(a[i].actor, actor) && !strcmp(a[i].action, action) && a[i].recording == rec_id &&
            a[i].time_ms > 0)
            return 1;
    return 0;
}

static void changes_are_audited_and_the_audit_is_append_only(void)
{
    const char *path = fresh_db("store-audit");
    store *s = open_ok(path);
    add_device(s, "dev", "site", NULL);
    int64_t id = begin_ok(s, rec("dev", "r", 0));
    store_flag f = flag_of("ASYSTOLE", 0, 0, 10);
    store_flag_add(s, id, &f, errbuf, sizeof errbuf);
    store_flag_add(s, id, &f, errbuf, sizeof errbuf); /* re-raised: not a second audit row */
    store_recording_finish(s, id, "complete", 10, NULL, NULL, errbuf, sizeof errbuf);
    store_recording r = rec("dev", "r", 0);
    int64_t again;
    int existed;
    store_recording_begin(s, &r, &again, &existed, errbuf, sizeof errbuf);
    store_device_revoke(s, "dev", errbuf, sizeof errbuf);
    CHECK(store_audit(s, "user:dr-li", "recording.view", id, "opened from the queue", errbuf, sizeof errbuf) ==
              STORE_OK, "%s", errbuf);
    CHECK(store_audit(s, "", "x", 0, NULL, errbuf, sizeof errbuf) == STORE_EINVAL, "no actor");
    CHECK(store_audit(s, "cli", "", 0, NULL, errbuf, sizeof errbuf) == STORE_EINVAL, "no action");

    store_audit_entry *a;
    size_t n;
    CHECK(store_audit_list(s, 0, &a, &n, errbuf, sizeof errbuf) == STORE_OK && n == 7, "7 rows: %zu", n);
    CHECK(has_audit(a, n, "cli", "device.add", 0) && has_audit(a, n, "cli", "device.revoke", 0), "device rows");
    for (size_t i = 1; i < n; i++) CHECK(a[i].id > a[i - 1].id && a[i].time_ms >= a[i - 1].time_ms, "in order");
    int64_t stamp, stamp2;
    CHECK(store_audit_stamp(s, &stamp, errbuf, sizeof errbuf) == STORE_OK && stamp == a[n - 1].id,
          "the stamp is the newest row's id: %lld", (long long)stamp);
    free(a);
    CHECK(store_audit_list(s, id, &a, &n, errbuf, sizeof errbuf) == STORE_OK && n == 5, "5 about it: %zu", n);
    CHECK(has_audit(a, n, "device:dev", "recording.begin", id), "begin");
    CHECK(has_audit(a, n, "server", "flag.add", id), "flag");
    CHECK(has_audit(a, n, "server", "recording.finish", id), "finish");
    CHECK(has_audit(a, n, "device:dev", "recording.resume", id), "resume");
    CHECK(has_audit(a, n, "user:dr-li", "recording.view", id) && !strcmp(a[n - 1].detail, "opened from the queue"),
          "caller's row");
    free(a);
    store_flag f2 = f;
    f2.start = 5;
    store_flag_add(s, id, &f2, errbuf, sizeof errbuf);
    CHECK(store_audit_stamp(s, &stamp2, errbuf, sizeof errbuf) == STORE_OK && stamp2 > stamp,
          "a new flag moves the stamp");
    store_close(s);
    CHECK(raw_sql(path, "DELETE FROM audit") != SQLITE_OK, "audit rows cannot be deleted");
    CHECK(raw_sql(path, "UPDATE audit SET actor = 'nobody'") != SQLITE_OK, "nor changed");
    CHECK(raw_count(path, "SELECT count(*) FROM audit WHERE actor = 'nobody'") == 0, "unchanged");
}

enum { THREADS = 4, ROUNDS = 25 };

typedef struct {
    store *s;
    int64_t recording;
    int index;
    const char *token;
    int failures;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    char err[512], site[65], code[32];
    for (int i = 0; i < ROUNDS; i++) {
        if (store_device_auth(w->s, "busy", w->token, site, err, sizeof err) != STORE_OK || strcmp(site, "site")) {
            w->failures++;
            fprintf(stderr, "thread %d: auth: %s\n", w->index, err);
        }
        snprintf(code, sizeof code, "T%d", w->index);
        store_flag f = flag_of(code, (i + w->index) % 3, i * 100, i * 100 + 50);
        if (store_flag_add(w->s, w->recording, &f, err, sizeof err) != STORE_OK) {
            w->failures++;
            fprintf(stderr, "thread %d: flag: %s\n", w->index, err);
        }
    }
    return NULL;
}

/* Four threads on one handle; then two handles on one file (the daemon and the command line). */
static void concurrent_threads_and_handles_work_without_errors(void)
{
    const char *path = fresh_db("store-threads");
    store *s = open_ok(path), *s2 = open_ok(path);
    char token[STORE_TOKEN_CHARS + 1];
    add_device(s, "busy", "site", token);
    int64_t id = begin_ok(s, rec("busy", "r", 0));
    for (int round = 0; round < 2; round++) {
        pthread_t t[THREADS];
        worker w[THREADS];
        for (int i = 0; i < THREADS; i++) {
            w[i] = (worker){.s = round == 1 && i % 2 ? s2 : s, .recording = id, .index = i + THREADS * round,
                            .token = token};
            CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0, "thread");
        }
        int failures = 0;
        for (int i = 0; i < THREADS; i++) {
            pthread_join(t[i], NULL);
            failures += w[i].failures;
        }
        CHECK(failures == 0, "round %d: %d failures", round, failures);
    }
    store_flag *l;
    size_t n;
    CHECK(store_flag_list(s2, id, &l, &n, errbuf, sizeof errbuf) == STORE_OK && n == 2 * THREADS * ROUNDS,
          "every flag stored: %zu", n);
    free(l);
    store_recording g;
    store_recording_get(s, id, &g, errbuf, sizeof errbuf);
    CHECK(g.priority == 0, "priority %d", g.priority);
    store_audit_entry *a;
    CHECK(store_audit_list(s, id, &a, &n, errbuf, sizeof errbuf) == STORE_OK && n == 1 + 2 * THREADS * ROUNDS,
          "one audit row per flag: %zu", n);
    free(a);
    store_close(s2);
    store_close(s);
}

static void data_survives_close_and_reopen(void)
{
    const char *path = fresh_db("store-reopen");
    store *s = open_ok(path);
    char token[STORE_TOKEN_CHARS + 1], site[65];
    add_device(s, "dev", "镇卫生院", token);
    int64_t id = begin_ok(s, rec("dev", "r", 1234));
    int64_t receiving = begin_ok(s, rec("dev", "still", 1300));
    store_flag f = flag_of("ASYSTOLE", 0, 0, 10);
    store_flag_add(s, id, &f, errbuf, sizeof errbuf);
    store_recording_finish(s, id, "complete", 99, "/a.edf", "{\"ok\":true}", errbuf, sizeof errbuf);
    store_close(s);

    s = open_ok(path);
    CHECK(store_device_auth(s, "dev", token, site, errbuf, sizeof errbuf) == STORE_OK && !strcmp(site, "镇卫生院"),
          "the token still works: %s", errbuf);
    store_recording g;
    CHECK(store_recording_find(s, "dev", "r", &g, errbuf, sizeof errbuf) == STORE_OK && g.id == id &&
          !strcmp(g.state, "complete") && g.samples == 99 && g.received_ms == 1234 && g.priority == 0,
          "the recording: %s", errbuf);
    store_flag *l;
    size_t n;
    CHECK(store_flag_list(s, id, &l, &n, errbuf, sizeof errbuf) == STORE_OK && n == 1, "its flag");
    free(l);
    char *json = NULL;
    CHECK(store_recording_analysis(s, id, &json, errbuf, sizeof errbuf) == STORE_OK && json &&
          !strcmp(json, "{\"ok\":true}"), "its analysis");
    free(json);
    store_recording *r;
    CHECK(store_recording_list_receiving(s, &r, &n, errbuf, sizeof errbuf) == STORE_OK && n == 1 &&
          r[0].id == receiving, "what a restarted server recovers");
    free(r);
    int64_t want[] = {id};
    queue_is(s, NULL, want, 1, "the queue");
    store_close(s);
}

int main(void)
{
    if (harness_pg()) {
        RUN(postgresql_refuses_foreign_and_newer_databases);
        RUN(a_lost_postgresql_connection_fails_one_call_and_is_remade);
    } else { /* properties of a SQLite file */
        RUN(migrations_are_idempotent_and_the_file_is_wal_and_private);
        RUN(a_newer_schema_and_foreign_files_are_refused);
        RUN(urls_and_missing_directories_give_clear_errors);
    }
    RUN(devices_authenticate_with_their_token_only);
    RUN(duplicate_and_invalid_devices_are_refused);
    RUN(recordings_begin_resume_and_refuse_a_mismatched_resume);
    RUN(finishing_stores_state_samples_archive_and_analysis);
    RUN(flags_lower_the_recording_priority);
    RUN(the_flags_of_many_recordings_come_in_one_call);
    RUN(the_queue_is_most_urgent_then_oldest_first);
    RUN(changes_are_audited_and_the_audit_is_append_only);
    RUN(concurrent_threads_and_handles_work_without_errors);
    RUN(data_survives_close_and_reopen);
    return check_report();
}
