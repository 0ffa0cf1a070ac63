/* store_schema.c — the store's schema as versioned migrations, applied at open. */
#include "store_impl.h"

#include <stdio.h>

/* The SQLite header's application id ("ECGN"): marks the file as an ecgnet store, so that
 * pointing --store at some other application's database is refused rather than altered. */
#define STORE_APPLICATION_ID 0x4543474E

typedef struct {
    int version;
    const char *what;
    const char *sql; /* constant DDL, run inside the migration's transaction */
} migration;

/* Append only: a released migration is never edited, a change is a new migration. A later
 * migration that rebuilds a table must run with foreign keys off (PRAGMA foreign_keys cannot
 * change inside a transaction: it would need its own step outside). */
static const migration migrations[] = {
    {1, "sites, devices, recordings, flags, audit trail",
     "PRAGMA application_id = 1162037070;\n" /* STORE_APPLICATION_ID in decimal */
     /* Sites: township hospitals and village clinics; the review's access control rests on them. */
     "CREATE TABLE site (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  name TEXT NOT NULL UNIQUE,\n"
     "  created_ms INTEGER NOT NULL\n"
     ");\n"
     /* Devices: only the BLAKE2b-256 hash of the token is kept. Ids are never reused. */
     "CREATE TABLE device (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  name TEXT NOT NULL UNIQUE,\n"
     "  site_id INTEGER NOT NULL REFERENCES site (id),\n"
     "  token_hash BLOB NOT NULL CHECK (length(token_hash) = 32),\n"
     "  created_ms INTEGER NOT NULL,\n"
     "  revoked_ms INTEGER,\n"
     "  last_seen_ms INTEGER\n"
     ");\n"
     /* Recordings: ingest state and review state are separate columns; the site is the one
      * recorded at (a device may move later). analysis holds the report as JSON text. */
     "CREATE TABLE recording (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  device_id INTEGER NOT NULL REFERENCES device (id),\n"
     "  name TEXT NOT NULL,\n"
     "  site_id INTEGER NOT NULL REFERENCES site (id),\n"
     "  patient_id TEXT NOT NULL DEFAULT '',\n"
     "  mode TEXT NOT NULL CHECK (mode IN ('resting', 'continuous')),\n"
     "  fs REAL NOT NULL CHECK (fs > 0),\n"
     "  nleads INTEGER NOT NULL CHECK (nleads > 0),\n"
     "  journal TEXT NOT NULL,\n"
     "  archive TEXT NOT NULL DEFAULT '',\n"
     "  state TEXT NOT NULL DEFAULT 'receiving'\n"
     "    CHECK (state IN ('receiving', 'complete', 'interrupted')),\n"
     "  review TEXT NOT NULL DEFAULT 'new'\n"
     "    CHECK (review IN ('new', 'claimed', 'reported', 'signed', 'repeat')),\n"
     "  priority INTEGER NOT NULL DEFAULT 3 CHECK (priority BETWEEN 0 AND 3),\n"
     "  received_ms INTEGER NOT NULL,\n"
     "  ended_ms INTEGER,\n"
     "  samples INTEGER NOT NULL DEFAULT 0,\n"
     "  analysis TEXT,\n"
     "  UNIQUE (device_id, name)\n"
     ");\n"
     "CREATE INDEX recording_queue ON recording (priority, received_ms);\n"
     "CREATE INDEX recording_receiving ON recording (received_ms) WHERE state = 'receiving';\n"
     "CREATE INDEX recording_site ON recording (site_id, priority, received_ms);\n"
     /* Flags: one per (recording, code, start); a re-analysis re-raises rather than duplicates. */
     "CREATE TABLE flag (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  recording_id INTEGER NOT NULL REFERENCES recording (id) ON DELETE CASCADE,\n"
     "  code TEXT NOT NULL,\n"
     "  priority INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 2),\n"
     "  start_sample INTEGER NOT NULL,\n"
     "  end_sample INTEGER NOT NULL,\n"
     "  reason_zh TEXT NOT NULL,\n"
     "  reason_en TEXT NOT NULL,\n"
     "  raised_ms INTEGER NOT NULL,\n"
     "  UNIQUE (recording_id, code, start_sample)\n"
     ");\n"
     /* Audit: no foreign key, audit rows outlive what they mention; append-only. */
     "CREATE TABLE audit (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  time_ms INTEGER NOT NULL,\n"
     "  actor TEXT NOT NULL,\n"
     "  action TEXT NOT NULL,\n"
     "  recording_id INTEGER,\n"
     "  detail TEXT NOT NULL DEFAULT ''\n"
     ");\n"
     "CREATE INDEX audit_recording ON audit (recording_id) WHERE recording_id IS NOT NULL;\n"
     "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit\n"
     "  BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;\n"
     "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit\n"
     "  BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;\n"},
    {2, "users, sessions, login failures, claims, reports and signatures",
     /* Users: only the argon2id string of the password; a clinic user belongs to one site,
      * the other roles to none. Names are never reused, so that reports keep their signer. */
     "CREATE TABLE user_account (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  name TEXT NOT NULL UNIQUE,\n"
     "  role TEXT NOT NULL CHECK (role IN ('cardiologist', 'clinic', 'admin')),\n"
     "  site_id INTEGER REFERENCES site (id),\n"
     "  password_hash TEXT NOT NULL,\n"
     "  created_ms INTEGER NOT NULL,\n"
     "  password_ms INTEGER NOT NULL,\n"
     "  disabled_ms INTEGER,\n"
     "  CHECK ((role = 'clinic') = (site_id IS NOT NULL))\n"
     ");\n"
     /* Sessions: the BLAKE2b-256 hash of the cookie's token; the CSRF token as is. */
     "CREATE TABLE session (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),\n"
     "  user_id INTEGER NOT NULL REFERENCES user_account (id) ON DELETE CASCADE,\n"
     "  csrf TEXT NOT NULL,\n"
     "  client TEXT NOT NULL DEFAULT '',\n"
     "  created_ms INTEGER NOT NULL,\n"
     "  last_used_ms INTEGER NOT NULL,\n"
     "  expires_ms INTEGER NOT NULL\n"
     ");\n"
     "CREATE INDEX session_user ON session (user_id);\n"
     /* Password attempts, for the rate limit: each attempt is a row until its password proves
      * right; rows older than the window are pruned. name is as typed (unknown names count). */
     "CREATE TABLE login_failure (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  name TEXT NOT NULL,\n"
     "  client TEXT NOT NULL DEFAULT '',\n"
     "  time_ms INTEGER NOT NULL\n"
     ");\n"
     "CREATE INDEX login_failure_name ON login_failure (name, time_ms);\n"
     "CREATE INDEX login_failure_client ON login_failure (client, time_ms) WHERE client <> '';\n"
     /* The review on the recording: who holds the claim until when, the chest-pain centre's
      * times (first opened, first signed) and the reason of a repeat request. */
     "ALTER TABLE recording ADD COLUMN claimed_by INTEGER REFERENCES user_account (id);\n"
     "ALTER TABLE recording ADD COLUMN claim_expires_ms INTEGER;\n"
     "ALTER TABLE recording ADD COLUMN opened_ms INTEGER;\n"
     "ALTER TABLE recording ADD COLUMN opened_by INTEGER REFERENCES user_account (id);\n"
     "ALTER TABLE recording ADD COLUMN signed_ms INTEGER;\n"
     "ALTER TABLE recording ADD COLUMN repeat_reason TEXT NOT NULL DEFAULT '';\n"
     "CREATE INDEX recording_patient ON recording (patient_id, received_ms) WHERE patient_id <> '';\n"
     /* A signed recording stays signed: corrections are amendments. */
     "CREATE TRIGGER recording_signed_stays BEFORE UPDATE OF review ON recording\n"
     "  WHEN OLD.review = 'signed' AND NEW.review <> 'signed'\n"
     "  BEGIN SELECT RAISE(ABORT, 'a signed recording stays signed: amend its report'); END;\n"
     /* Reports: version 1 is a draft until signed; amendments are further signed versions. A
      * signed row can be neither changed nor deleted, whatever the SQL. */
     "CREATE TABLE report (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  recording_id INTEGER NOT NULL REFERENCES recording (id),\n"
     "  version INTEGER NOT NULL CHECK (version >= 1),\n"
     "  author_id INTEGER NOT NULL REFERENCES user_account (id),\n"
     "  statements TEXT NOT NULL CHECK (json_valid(statements) AND json_type(statements) = 'array'),\n"
     "  text TEXT NOT NULL DEFAULT '',\n"
     "  created_ms INTEGER NOT NULL,\n"
     "  updated_ms INTEGER NOT NULL,\n"
     "  signed_ms INTEGER,\n"
     "  signer_id INTEGER REFERENCES user_account (id),\n"
     "  amends INTEGER REFERENCES report (id),\n"
     "  UNIQUE (recording_id, version),\n"
     "  CHECK ((signed_ms IS NULL) = (signer_id IS NULL))\n"
     ");\n"
     "CREATE UNIQUE INDEX report_one_draft ON report (recording_id) WHERE signed_ms IS NULL;\n"
     "CREATE TRIGGER report_signed_no_update BEFORE UPDATE ON report WHEN OLD.signed_ms IS NOT NULL\n"
     "  BEGIN SELECT RAISE(ABORT, 'a signed report is immutable: amend it'); END;\n"
     "CREATE TRIGGER report_signed_no_delete BEFORE DELETE ON report WHEN OLD.signed_ms IS NOT NULL\n"
     "  BEGIN SELECT RAISE(ABORT, 'a signed report is immutable: amend it'); END;\n"},
};

#define NMIGRATIONS (sizeof migrations / sizeof migrations[0])

_Static_assert(sizeof migrations / sizeof migrations[0] == STORE_SCHEMA_VERSION,
               "STORE_SCHEMA_VERSION must be the last migration's version");

static int query_int(store *s, const char *sql, int64_t *v, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (store_db_prepare(s, sql, &st, err, errlen)) return STORE_ERR;
    int rc = sqlite3_step(st) == SQLITE_ROW ? STORE_OK : store_db_fail(s, sql, err, errlen);
    if (rc == STORE_OK) *v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc;
}

/* Inside a transaction: refuses a file that is not (and is not about to become) an ecgnet store,
 * creates schema_version if needed and reads the current version. */
static int current_version(store *s, int64_t *version, char *err, size_t errlen)
{
    int64_t app, tables;
    if (query_int(s, "PRAGMA application_id", &app, err, errlen)) return STORE_ERR;
    if (query_int(s, "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'", &tables, err, errlen))
        return STORE_ERR;
    if (app != STORE_APPLICATION_ID && (app != 0 || tables > 0))
        return store_db_err(err, errlen, STORE_ERR,
                            "%s: not an ecgnet database (it belongs to another application): "
                            "give another path", s->path);
    if (store_db_exec(s,
                      "CREATE TABLE IF NOT EXISTS schema_version (\n"
                      "  version INTEGER PRIMARY KEY,\n"
                      "  applied_ms INTEGER NOT NULL,\n"
                      "  description TEXT NOT NULL\n"
                      ")",
                      err, errlen))
        return STORE_ERR;
    return query_int(s, "SELECT COALESCE(max(version), 0) FROM schema_version", version, err, errlen);
}

/* One migration per transaction, re-reading the version inside each, so that two processes
 * opening a new database at once apply every migration exactly once. */
int store_db_migrate(store *s, char *err, size_t errlen)
{
    for (;;) {
        int64_t version;
        if (store_db_begin(s, err, errlen)) return STORE_ERR;
        if (current_version(s, &version, err, errlen)) goto fail;
        if (version > STORE_SCHEMA_VERSION) {
            store_db_err(err, errlen, STORE_ERR,
                         "%s: the database has schema version %lld but this ecgnet knows only up to "
                         "version %d: it was written by a newer ecgnet; upgrade ecgnet", s->path,
                         (long long)version, STORE_SCHEMA_VERSION);
            goto fail;
        }
        const migration *m = NULL;
        for (size_t i = 0; i < NMIGRATIONS && !m; i++)
            if (migrations[i].version > version) m = &migrations[i];
        if (!m) return store_db_commit(s, err, errlen);
        char why[512];
        if (store_db_exec(s, m->sql, why, sizeof why)) {
            store_db_err(err, errlen, STORE_ERR, "schema migration %d (%s) failed: %s", m->version, m->what, why);
            goto fail;
        }
        sqlite3_stmt *st;
        if (store_db_prepare(s, "INSERT INTO schema_version (version, applied_ms, description) VALUES (?1, ?2, ?3)",
                             &st, err, errlen))
            goto fail;
        sqlite3_bind_int(st, 1, m->version);
        sqlite3_bind_int64(st, 2, store_db_now_ms());
        sqlite3_bind_text(st, 3, m->what, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            store_db_fail(s, "recording the schema version", err, errlen);
            goto fail;
        }
        if (store_db_commit(s, err, errlen)) goto fail;
    }
fail:
    store_db_rollback(s);
    return STORE_ERR;
}
