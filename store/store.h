/* store.h — the metadata store: sites, devices and their tokens, recordings, flags, the review
 * queue and the audit trail, in SQLite (the embedded default) or PostgreSQL (when several
 * servers share one queue), behind this one interface; both pass the same tests.
 *
 * One store handle holds ONE database connection guarded by a mutex: every function below locks
 * it for its whole duration, so a handle may be shared by any number of threads (the server's
 * connection threads, the analysis workers) and calls are serialised.
 *
 * SQLite: several processes may open the same file at once (ecgnetd and `ecgnet device add`):
 * WAL mode lets readers run beside the writer, every write transaction is BEGIN IMMEDIATE and a
 * busy timeout of STORE_BUSY_TIMEOUT_MS makes a writer wait for another instead of failing.
 * synchronous=FULL: a function that returned STORE_OK has its change on disk and it survives a
 * power cut (the server acknowledges data to devices only after that).
 *
 * PostgreSQL: transactions are READ COMMITTED with synchronous_commit on (durable on return, as
 * above). Claims stay atomic across servers: a claim is one conditional UPDATE, claim-next picks
 * its row with SELECT ... FOR UPDATE SKIP LOCKED (concurrent claimers take different rows
 * instead of queueing on one), and every check that precedes a change to a claimed recording
 * (report, sign, release, repeat) locks the recording's row first. Servers that start together
 * take turns at the migrations (an advisory lock). A lost connection is re-made for the next
 * call; the call that found it lost fails with STORE_ERR.
 *
 * Schema: versioned migrations run at store_open, each in its own transaction, recorded in the
 * table schema_version; a database written by a newer ecgnet (a version above
 * STORE_SCHEMA_VERSION) is refused rather than misread. The later review workflow (users, claims,
 * reports, signatures) adds tables through further migrations; recordings already carry their
 * review state (column review) and their site, on which its access control rests.
 *
 * Errors: every function returns STORE_OK or a negative STORE_E* code with a message in err
 * (err may be NULL when errlen is 0). Messages name the database file and the problem, or for
 * STORE_EINVAL the argument and the rule it breaks. All SQL goes through prepared statements
 * with bound parameters; no SQL text is ever built from data.
 *
 * Text: every string handed to the store must be NUL-terminated; limits below are in BYTES of
 * UTF-8 (a site name of 64 bytes holds 21 Chinese characters), so that they fit the fixed-size
 * fields of the structs.
 */
#ifndef ECGNET_STORE_STORE_H
#define ECGNET_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

enum {
    STORE_OK = 0,
    STORE_ERR = -1,       /* database or I/O error (disk full, corrupt file, locked too long) */
    STORE_EAUTH = -2,     /* unknown device or wrong token: one code for both, so that a prober
                           * learns nothing about which device ids exist */
    STORE_EREVOKED = -3,  /* the device's token was revoked */
    STORE_EEXIST = -4,    /* it already exists */
    STORE_ENOTFOUND = -5, /* no such device or recording */
    STORE_EINVAL = -6     /* a bad argument: the message says which and why */
};

#define STORE_SCHEMA_VERSION 4     /* the newest schema this code knows and writes */
#define STORE_BUSY_TIMEOUT_MS 10000 /* how long a writer waits for another process's write */
#define STORE_TOKEN_BYTES 32       /* random bytes in a device token */
#define STORE_TOKEN_CHARS 43       /* its base64url text without padding */
#define STORE_MAX_LEADS 64         /* nleads of a recording: 1..STORE_MAX_LEADS */

typedef struct store store;

/* Opens (creating if needed) the store at URL: "sqlite:PATH", "sqlite://PATH" (so that
 * "sqlite:///var/lib/ecgnet/ecgnet.db" is an absolute path) or a plain PATH; or a PostgreSQL
 * database, "postgresql://USER:PASSWORD@HOST[:PORT]/DB" (any libpq URL; the database must exist
 * and its current schema must be empty or ecgnet's; messages show the URL with "***" for the
 * password). SQLite: the directory must exist and be writable (WAL mode keeps PATH-wal and
 * PATH-shm beside the file); a new file is created with mode 0600 (it holds patient ids and
 * token hashes; SQLite gives the -wal and -shm files the same mode); sets WAL mode,
 * synchronous=FULL, foreign keys and the busy timeout. Then runs the pending schema migrations.
 * Refuses, with a message: other URL schemes, in-memory databases, a server that cannot be
 * reached or a wrong password, a database that is not an ecgnet store, and a database newer
 * than this code. Returns the handle (free with
 * store_close), or NULL with the message in err. */
store *store_open(const char *url, char *err, size_t errlen);

/* Closes the connection and frees the handle. NULL is allowed. No call may be running on S. */
void store_close(store *s);

/* The database file's path as opened, or the PostgreSQL URL without its password (owned by S). */
const char *store_path(const store *s);

/* ---- Devices ----------------------------------------------------------------------------------
 * A device authenticates with a per-device token: STORE_TOKEN_BYTES from libsodium's
 * randombytes_buf, shown once as base64url text (STORE_TOKEN_CHARS characters) and stored only
 * as its BLAKE2b-256 hash (crypto_generichash), compared in constant time (sodium_memcmp).
 * Why not a password hash such as argon2id: the token is 256 random bits, so its hash cannot be
 * brute-forced whatever its speed, and a memory-hard KDF on every connection would cost 64 MiB
 * and ~50 ms for each of a thousand devices reconnecting at once after a network outage.
 * (Passwords chosen by people, in the review workflow, will use argon2id.)
 * Each device belongs to a site; sites are created when the first device names them. */

typedef struct {
    char id[65];          /* device id */
    char site[65];        /* site name */
    int64_t created_ms;   /* Unix time in milliseconds */
    int64_t revoked_ms;   /* 0: active */
    int64_t last_seen_ms; /* last successful authentication; 0: never */
} store_device;

/* Registers DEVICE_ID (1..64 characters of [A-Za-z0-9._-]) at SITE (1..64 bytes of valid UTF-8
 * without control characters; created if new) with a fresh token, written to TOKEN (NUL-ended):
 * the caller must show it now, it cannot be recovered later. Audited as actor "cli", action
 * "device.add" (the command line is the only place devices are managed until user accounts
 * exist). Returns STORE_OK, STORE_EINVAL, STORE_EEXIST (the id is taken, also by a revoked
 * device: ids are never reused, so that old recordings keep an unambiguous device), STORE_ERR. */
int store_device_add(store *s, const char *device_id, const char *site,
                     char token[STORE_TOKEN_CHARS + 1], char *err, size_t errlen);

/* Revokes DEVICE_ID's token: its later authentications return STORE_EREVOKED. Its recordings
 * stay. Audited ("cli", "device.revoke"). Returns STORE_OK, STORE_ENOTFOUND, STORE_EREVOKED if
 * it was already revoked (nothing changes: the first revocation time stays), STORE_ERR. */
int store_device_revoke(store *s, const char *device_id, char *err, size_t errlen);

/* All devices, revoked ones included, sorted by id, in *OUT (malloc'd array of *N entries, NULL
 * when there are none; the caller frees it). Returns STORE_OK or STORE_ERR. */
int store_device_list(store *s, store_device **out, size_t *n, char *err, size_t errlen);

/* Checks DEVICE_ID's TOKEN. STORE_OK: SITE (unless NULL) receives the device's site and its
 * last_seen is updated. STORE_EAUTH for an unknown device, a malformed id or a wrong token alike (same code,
 * same message, and the hash is computed and compared in every case). STORE_EREVOKED only when
 * the token is right (a wrong token for a revoked device is STORE_EAUTH). STORE_ERR. */
int store_device_auth(store *s, const char *device_id, const char *token, char site[65], char *err,
                      size_t errlen);

/* ---- Recordings ---------------------------------------------------------------------------- */

enum { STORE_PRIORITY_CRITICAL = 0, STORE_PRIORITY_URGENT = 1, STORE_PRIORITY_ROUTINE = 2,
       STORE_PRIORITY_NONE = 3 };

typedef struct {
    int64_t id;            /* the store's id, > 0 */
    char device[65];       /* device id */
    char recording[129];   /* the recording id the device chose: 1..128 bytes of UTF-8 text,
                            * unique per device */
    char site[65];         /* the site it was recorded at */
    char patient_id[65];   /* 0..64 bytes of UTF-8 text, "" when unknown */
    char mode[16];         /* "resting" | "continuous" */
    double fs;             /* samples per second, > 0 */
    int nleads;            /* 1..STORE_MAX_LEADS */
    char journal[4096];    /* the sample journal's path, 1..4095 bytes */
    char archive[4096];    /* the EDF+ archive's path, "" until written */
    char state[16];        /* ingest: "receiving", then "complete" or "interrupted" */
    char review[16];       /* review: "new" on creation; later "claimed", "reported", "signed",
                            * "repeat" (the review workflow) */
    int priority;          /* 0 critical, 1 urgent, 2 routine, 3 no flag: the most urgent flag */
    int64_t received_ms;   /* when it began (Unix ms) */
    int64_t ended_ms;      /* when it was finished; 0 while receiving */
    int64_t samples;       /* samples per lead, as of store_recording_finish */
    char encounter[16];    /* "outpatient" | "inpatient": how long it is kept (see Retention);
                            * store_recording_begin takes "" as outpatient */
    int64_t purged_ms;     /* when its samples were deleted after the retention period (Unix ms;
                            * journal and archive gone, metadata, report and audit kept); 0: not */
} store_recording;

/* Begins a recording, or resumes it. Uses from R: device, recording, site ("" means the device's
 * own site), patient_id, mode, fs, nleads, journal, received_ms (0 means now), encounter ("",
 * "outpatient" or "inpatient"; "" means outpatient). A new recording
 * is "receiving", review "new", priority 3; *ID receives its id, *EXISTED 0; audited
 * ("device:<id>", "recording.begin"). If the device already has a recording of that id, this
 * is a resume: *ID is the existing id, *EXISTED 1, nothing else of R is used, and an
 * "interrupted" recording goes back to "receiving" (a "complete" one stays complete: the
 * caller decides whether to accept more samples); audited ("recording.resume"). A resume whose
 * fs or nleads differ from the stored ones is refused with STORE_EINVAL naming both, and so is
 * a resume of a purged recording (its samples are gone: the device must start a new one). Returns
 * STORE_OK, STORE_EINVAL, STORE_ENOTFOUND (unknown device), STORE_ERR. */
int store_recording_begin(store *s, const store_recording *r, int64_t *id, int *existed, char *err,
                          size_t errlen);

/* Reads recording ID into *OUT. Returns STORE_OK, STORE_ENOTFOUND, STORE_ERR. */
int store_recording_get(store *s, int64_t id, store_recording *out, char *err, size_t errlen);

/* Reads the recording RECORDING of DEVICE into *OUT. Returns STORE_OK, STORE_ENOTFOUND, STORE_ERR. */
int store_recording_find(store *s, const char *device, const char *recording, store_recording *out,
                         char *err, size_t errlen);

/* The recordings still "receiving", oldest first: what a restarted server must recover. *OUT is
 * a malloc'd array of *N entries (NULL when none), freed by the caller. STORE_OK or STORE_ERR. */
int store_recording_list_receiving(store *s, store_recording **out, size_t *n, char *err,
                                   size_t errlen);

/* Ends recording ID: STATE "complete" or "interrupted", SAMPLES (>= 0) per lead, ARCHIVE the EDF+
 * path (NULL leaves it unchanged), ANALYSIS_JSON the analysis report as JSON text (must parse;
 * NULL leaves it unchanged); sets ended_ms to now. May be called again (a re-analysis after a
 * resume). Audited ("server", "recording.finish"). Returns STORE_OK, STORE_EINVAL,
 * STORE_ENOTFOUND, STORE_ERR. */
int store_recording_finish(store *s, int64_t id, const char *state, int64_t samples,
                           const char *archive, const char *analysis_json, char *err, size_t errlen);

/* The analysis JSON stored for recording ID in *JSON (malloc'd, caller frees), or *JSON = NULL
 * when none was stored yet. Returns STORE_OK, STORE_ENOTFOUND, STORE_ERR. */
int store_recording_analysis(store *s, int64_t id, char **json, char *err, size_t errlen);

/* ---- Flags (critical values raised by the analysis) ---------------------------------------- */

typedef struct {
    char code[32];       /* the rule's code, 1..31 bytes of UTF-8 text, e.g. "PAUSE_LONG" */
    int priority;        /* 0 critical, 1 urgent, 2 routine */
    int64_t start, end;  /* samples from the recording's start, 0 <= start <= end (end exclusive) */
    char reason_zh[256], reason_en[256]; /* UTF-8 text; store_flag_add stores invalid bytes and
                                          * control characters as '?' rather than refuse a flag */
    int64_t raised_ms;   /* Unix ms; 0 in store_flag_add means now */
    int64_t recording;   /* the recording's id: set by the list functions, ignored by store_flag_add */
} store_flag;

/* Adds flag F to RECORDING and, in the same transaction, lowers the recording's priority to
 * min(priority, F->priority), so a critical flag reaches the queue's head at once. Idempotent
 * for a flag re-raised when a recording is analysed again (after a resume or a restart): a flag
 * with the same code and start as a stored one is not stored twice; the stored one keeps the
 * larger end and the more urgent priority. Audited ("server", "flag.add") when new. Returns
 * STORE_OK, STORE_EINVAL, STORE_ENOTFOUND, STORE_ERR. */
int store_flag_add(store *s, int64_t recording, const store_flag *f, char *err, size_t errlen);

/* RECORDING's flags, most urgent first, then by start, in *OUT (malloc'd, NULL when none; the
 * caller frees it). Returns STORE_OK, STORE_ENOTFOUND, STORE_ERR. */
int store_flag_list(store *s, int64_t recording, store_flag **out, size_t *n, char *err,
                    size_t errlen);

/* The flags of the N recordings IDS in one go (a worklist page's: one query per 64 recordings
 * instead of one per recording), ordered by recording id, then as store_flag_list; each flag's
 * recording field says whose it is. Unknown ids simply have none. *OUT is malloc'd (NULL when
 * none; the caller frees it). Returns STORE_OK or STORE_ERR. */
int store_flag_list_many(store *s, const int64_t *ids, size_t n, store_flag **out, size_t *nout, char *err,
                    size_t errlen);

/* ---- The review queue ---------------------------------------------------------------------- */

typedef struct {
    int max_priority;   /* only priority <= this; -1: any */
    const char *site;   /* only this site; NULL: any */
    const char *review; /* only this review state; NULL: any */
    int64_t since_ms;   /* only received_ms >= this; 0: any */
    size_t limit;       /* at most this many; 0: no limit */
} store_queue_filter;

/* The queue: recordings that are "complete" or "interrupted", and those still "receiving" but
 * already flagged (priority < 3: a critical flag must reach a cardiologist before the recording
 * ends), never purged ones (nothing left to read), matching F (NULL: no filter), ordered by priority, then received_ms (oldest first).
 * *OUT is malloc'd (NULL when empty), freed by the caller. Returns STORE_OK, STORE_EINVAL (a
 * max_priority outside -1..3 or an unknown review state), STORE_ERR. */
int store_queue_list(store *s, const store_queue_filter *f, store_recording **out, size_t *n,
                     char *err, size_t errlen);

/* How many queue recordings wait for a cardiologist (review "new"): for the metrics. Returns
 * STORE_OK or STORE_ERR. */
int store_queue_depth(store *s, int64_t *n, char *err, size_t errlen);

/* ---- Audit trail (append-only: the database refuses updates and deletes of its rows) ------- */

typedef struct {
    int64_t id;          /* increasing */
    int64_t time_ms;     /* Unix ms */
    char actor[96];      /* "device:<id>", "cli", "server" (later "user:<name>") */
    char action[64];     /* e.g. "device.add", "recording.begin", "flag.add" */
    int64_t recording;   /* 0: none */
    char detail[1024];
} store_audit_entry;

/* Appends an audit row now: ACTOR 1..95 bytes, ACTION 1..63 bytes, RECORDING (0: none; not
 * checked, audit rows outlive what they mention), DETAIL (NULL or up to 1023 bytes). Returns
 * STORE_OK, STORE_EINVAL, STORE_ERR. */
int store_audit(store *s, const char *actor, const char *action, int64_t recording,
                const char *detail, char *err, size_t errlen);

/* The newest audit row's id (0 when none) in *STAMP. Every change to the queue (a recording begun
 * or finished, a flag, a claim, a report, a signature) writes an audit row, so a watcher that
 * sees the stamp move knows to re-read the worklist. Cheap (one index lookup). Returns STORE_OK
 * or STORE_ERR. */
int store_audit_stamp(store *s, int64_t *stamp, char *err, size_t errlen);

/* The audit rows about RECORDING (0: all rows), oldest first, in *OUT (malloc'd, NULL when
 * none; the caller frees it). Returns STORE_OK or STORE_ERR. */
int store_audit_list(store *s, int64_t recording, store_audit_entry **out, size_t *n, char *err,
                     size_t errlen);

/* ==== The review workflow (schema migration 2) ===============================================
 * People: users with a role. "cardiologist" (the county hospital's readers: the worklist,
 * claims, reports, signatures), "clinic" (a township hospital or village clinic: sees only its
 * own site's recordings and their signed reports, and the reasons of a "repeat the ECG"),
 * "admin" (sees everything, changes nothing clinical; manages users from `ecgnet user`).
 *
 * A recording's review state (column review):
 *
 *     new --claim--> claimed --report_save--> reported --report_sign--> signed --report_amend--+
 *      ^               |  ^                     |                         ^                    |
 *      +---release-----+  +------ save again ---+                         +--------------------+
 *     claimed | reported --request_repeat--> repeat (back to the clinic, with the reason)
 *
 * A claim lasts the store's claim timeout (store_set_claim_timeout) from the last claim or draft
 * save; once it has expired any cardiologist may claim the recording (a "claimed" one counts as
 * "new" again; a "reported" one keeps its draft for the next reader), so that no recording stays
 * stuck with someone who went home. Until someone else claims it, the holder may still save and
 * sign. A signed report is immutable (the database refuses UPDATE and DELETE of signed rows); a
 * correction is an amendment: a new signed version. Every change is audited with actor
 * "user:<name>".
 *
 * Callers pass the user as store_session_check returned it; every call re-reads that user from
 * the database by id, so a user disabled (or whose role changed) meanwhile is refused at once
 * with STORE_EDENIED, whatever the caller's copy says. */

enum {
    STORE_EDENIED = -7,  /* this user may not see or do this (other site, wrong role, disabled) */
    STORE_EBUSY = -8,    /* another cardiologist holds the recording's claim */
    STORE_ELIMITED = -9, /* too many failed password attempts: the message says when to retry */
    STORE_ESTATE = -10   /* the recording's review state does not allow this (the message names
                          * the state and what is needed) */
};

#define STORE_SESSION_CHARS 43      /* a session or CSRF token: 32 random bytes as base64url */
#define STORE_PASSWORD_MIN_CHARS 10 /* characters (not bytes) in a password, at least */
#define STORE_PASSWORD_MAX_BYTES 1024
#define STORE_CLAIM_TIMEOUT_MS (15 * 60 * 1000LL)       /* default claim lifetime */
#define STORE_SESSION_IDLE_MS (12 * 60 * 60 * 1000LL)   /* default idle session lifetime */
#define STORE_LOGIN_MAX_FAILURES 5                      /* default: failed attempts per window */
#define STORE_LOGIN_WINDOW_MS (15 * 60 * 1000LL)        /* (per user name and per client) */

/* ---- Settings of one handle (not stored: each process sets its own) ------------------------ */

/* How long a claim lasts: MS > 0 (default STORE_CLAIM_TIMEOUT_MS). Applies to claims and draft
 * saves made from now on through this handle. Returns STORE_OK or STORE_EINVAL. */
int store_set_claim_timeout(store *s, int64_t ms);

/* How long a session lives without use: MS > 0 (default STORE_SESSION_IDLE_MS); applies to
 * sessions created or used from now on. Returns STORE_OK or STORE_EINVAL. */
int store_set_session_idle(store *s, int64_t ms);

/* The login rate limit: once MAX_FAILURES (>= 1) password checks have failed within WINDOW_MS
 * (> 0) for one user name, or from one client, further attempts are refused until the oldest
 * of them leaves the window; a right password clears its name's failures. Defaults
 * STORE_LOGIN_MAX_FAILURES, STORE_LOGIN_WINDOW_MS. Returns STORE_OK or STORE_EINVAL. */
int store_set_login_limit(store *s, int max_failures, int64_t window_ms);

/* ---- Users ---------------------------------------------------------------------------------
 * Passwords are stored only as argon2id strings from libsodium's crypto_pwhash_str
 * (OPSLIMIT_INTERACTIVE, MEMLIMIT_INTERACTIVE: 64 MiB, ~0.1 s per check). The hashing runs
 * outside the handle's lock, so a login does not hold up the server's other store calls. */

typedef struct {
    int64_t id;          /* > 0 */
    char name[65];       /* login name: 1..64 characters of [A-Za-z0-9._-] */
    char role[16];       /* "cardiologist", "clinic" or "admin" */
    char site[65];       /* a clinic user's site; "" for the other roles */
    int64_t created_ms;  /* Unix ms */
    int64_t disabled_ms; /* 0: active */
} store_user;

/* Adds user NAME with ROLE ("cardiologist" | "clinic" | "admin") and PASSWORD (valid UTF-8
 * without control characters, STORE_PASSWORD_MIN_CHARS characters .. STORE_PASSWORD_MAX_BYTES
 * bytes, not the name itself). SITE: a clinic user's site, required, and it must exist already
 * (sites are created by `ecgnet device add`: a typo would otherwise make a clinic that sees
 * nothing); must be NULL or "" for the other roles. Audited ("cli", "user.add"). Returns
 * STORE_OK, STORE_EINVAL (the message says which rule), STORE_ENOTFOUND (no such site),
 * STORE_EEXIST (the name is taken, also by a disabled user: names are never reused), STORE_ERR. */
int store_user_add(store *s, const char *name, const char *role, const char *site, const char *password,
                   char *err, size_t errlen);

/* Sets NAME's password (rules as in store_user_add) and ends all its sessions. A disabled user
 * stays disabled. Audited ("cli", "user.passwd"). Returns STORE_OK, STORE_EINVAL,
 * STORE_ENOTFOUND, STORE_ERR. */
int store_user_passwd(store *s, const char *name, const char *password, char *err, size_t errlen);

/* Disables NAME: its sessions end, its logins fail (STORE_EAUTH), its claims are released; its
 * reports and audit rows stay. Audited ("cli", "user.disable"). Returns STORE_OK,
 * STORE_ENOTFOUND, STORE_EREVOKED (already disabled: nothing changes), STORE_ERR. */
int store_user_disable(store *s, const char *name, char *err, size_t errlen);

/* All users, disabled ones included, sorted by name, in *OUT (malloc'd array of *N entries, NULL
 * when none; the caller frees it). Returns STORE_OK or STORE_ERR. */
int store_user_list(store *s, store_user **out, size_t *n, char *err, size_t errlen);

/* Reads user NAME into *OUT. Returns STORE_OK, STORE_ENOTFOUND, STORE_ERR. */
int store_user_get(store *s, const char *name, store_user *out, char *err, size_t errlen);

/* ---- Login and sessions --------------------------------------------------------------------
 * A session is a random token (STORE_SESSION_CHARS of base64url from randombytes_buf) kept only
 * as its BLAKE2b-256 hash, like device tokens; it ends after the idle time without use, at
 * logout, on a password change or when the user is disabled. Each session has its own CSRF
 * token (same form, stored as is: it is not a credential alone) that forms must echo. */

/* Checks NAME's PASSWORD. CLIENT (e.g. the remote IP; NULL or "" when unknown, 0..128 bytes)
 * counts towards the rate limit with the name. STORE_OK: a new session; TOKEN (for the cookie)
 * and CSRF receive its tokens and *OUT (unless NULL) the user; audited ("user:<name>",
 * "user.login"). STORE_EAUTH for an unknown user, a wrong password and a disabled user alike
 * (same code, same message, a password hash checked in every case); audited as
 * "user.login_failed". STORE_ELIMITED when the rate limit is reached (also for the right
 * password, so that a limited guesser learns nothing): *RETRY_AFTER_MS (unless NULL) and the
 * message say how long to wait. STORE_EINVAL for a CLIENT that is not text, STORE_ERR. */
int store_login(store *s, const char *name, const char *password, const char *client,
                char token[STORE_SESSION_CHARS + 1], char csrf[STORE_SESSION_CHARS + 1], store_user *out,
                int64_t *retry_after_ms, char *err, size_t errlen);

/* Checks session TOKEN: STORE_OK refreshes its idle expiry (written at most once per tenth of the
 * idle time, and at most once a minute, to spare a disk sync per request) and gives the user in
 * *OUT and the session's CSRF token in CSRF (each unless NULL). STORE_EAUTH for an unknown, ended or expired
 * session or a user disabled meanwhile (the message says which, from the token's owner's point
 * of view: "expired: log in again"). STORE_ERR. */
int store_session_check(store *s, const char *token, store_user *out, char csrf[STORE_SESSION_CHARS + 1],
                        char *err, size_t errlen);

/* Ends session TOKEN. STORE_OK also when it was unknown or had ended already; STORE_ERR. */
int store_logout(store *s, const char *token, char *err, size_t errlen);

/* Re-authentication (before signing): checks USER_ID's PASSWORD, under the same rate limit as
 * logins (counted against the user's name). Returns STORE_OK, STORE_EAUTH (wrong password,
 * unknown or disabled user), STORE_ELIMITED, STORE_ERR. */
int store_user_verify_password(store *s, int64_t user_id, const char *password, char *err, size_t errlen);

/* ---- Access -------------------------------------------------------------------------------- */

/* 1 if USER may see recording R: clinic users only their own site's, cardiologists and admins
 * all; 0 otherwise (also for NULL arguments or an unknown role). No database access. */
int store_can_see(const store_user *user, const store_recording *r);

/* ---- The worklist -------------------------------------------------------------------------- */

/* A recording with its review details. */
typedef struct {
    store_recording rec;      /* rec.review as in effect: an expired "claimed" reads "new" */
    char claimed_by[65];      /* the claim's holder while it is in force; "" otherwise */
    int64_t claim_expires_ms; /* when that claim lapses; 0 without one */
    int64_t opened_ms;        /* when a cardiologist first opened it; 0: not yet */
    int64_t signed_ms;        /* when it was first signed; 0: not yet */
    char repeat_reason[512];  /* review "repeat": why the clinic must record the ECG again */
} store_review_item;

typedef struct {
    int max_priority;   /* only priority <= this; -1: any */
    const char *site;   /* only this site; NULL: any (a clinic user always sees only its own) */
    const char *review; /* only this review state (effective: "new" includes expired claims);
                         * NULL: any */
    int64_t since_ms;   /* only received_ms >= this; 0: any */
    int64_t until_ms;   /* only received_ms < this; 0: any */
    size_t limit;       /* at most this many; 0: no limit */
} store_worklist_filter;

/* USER's worklist: the review queue's recordings (as store_queue_list: finished, or still
 * receiving but flagged; never purged) that USER may see, matching F (NULL: no filter), most urgent first,
 * then oldest (received_ms ascending). *OUT is malloc'd (NULL when empty), freed by the caller.
 * Returns STORE_OK, STORE_EINVAL (a bad filter), STORE_EDENIED (a disabled user, or a clinic
 * user's filter naming another site), STORE_ERR. */
int store_worklist(store *s, const store_user *user, const store_worklist_filter *f, store_review_item **out,
                   size_t *n, char *err, size_t errlen);

/* Reads recording ID with its review details into *OUT, if USER may see it. Returns STORE_OK,
 * STORE_ENOTFOUND, STORE_EDENIED, STORE_ERR. */
int store_review_get(store *s, const store_user *user, int64_t id, store_review_item *out, char *err,
                     size_t errlen);

/* ---- Claims (cardiologists only; others get STORE_EDENIED) -------------------------------- */

/* Claims recording ID for USER, atomically (one conditional UPDATE in a write transaction, so
 * two cardiologists, in any processes, never both get it): a "new" recording, or one whose
 * claim has expired, becomes USER's for the claim timeout; USER's own claim is renewed.
 * Audited ("review.claim"). Returns STORE_OK, STORE_EBUSY (another holds it: the message names
 * who and until when), STORE_ESTATE (signed, repeat, or not in the queue yet), STORE_ENOTFOUND,
 * STORE_EDENIED, STORE_ERR. */
int store_claim(store *s, const store_user *user, int64_t id, char *err, size_t errlen);

/* Claims the most urgent, then oldest, claimable recording of the worklist matching F (NULL: any;
 * f->review is ignored) atomically, and reads it into *OUT (unless NULL). Returns STORE_OK,
 * STORE_ENOTFOUND (nothing left to claim), STORE_EINVAL, STORE_EDENIED, STORE_ERR. */
int store_claim_next(store *s, const store_user *user, const store_worklist_filter *f, store_review_item *out,
                     char *err, size_t errlen);

/* Gives up USER's claim on ID: "claimed" goes back to "new"; "reported" stays, its draft kept for
 * the next reader. Audited ("review.release"). Returns STORE_OK, STORE_ESTATE (USER holds no claim
 * on it), STORE_ENOTFOUND, STORE_EDENIED, STORE_ERR. */
int store_release(store *s, const store_user *user, int64_t id, char *err, size_t errlen);

/* ---- Reports ------------------------------------------------------------------------------- */

#define STORE_REPORT_MAX_STATEMENTS 32 /* statements per report */
#define STORE_REPORT_STATEMENT_MAX 255 /* bytes per statement */
#define STORE_REPORT_TEXT_MAX 8191     /* bytes of free text */

typedef struct {
    int64_t recording;
    int version;                 /* 1, 2, ...: an amendment is the next version */
    int is_signed;               /* 0: the draft (only before the first signature) */
    char author[65];             /* who last saved (a draft) or wrote (an amendment) it */
    char signer[65];             /* "" for the draft */
    int64_t created_ms, updated_ms, signed_ms; /* signed_ms 0 for the draft */
    int amends;                  /* the version this one corrects; 0 for version 1 */
    size_t nstatements;
    char statements[STORE_REPORT_MAX_STATEMENTS][STORE_REPORT_STATEMENT_MAX + 1];
    char text[STORE_REPORT_TEXT_MAX + 1];
} store_report;

/* Saves USER's draft report on ID: NSTATEMENTS (0..STORE_REPORT_MAX_STATEMENTS) STATEMENTS
 * (diagnostic statements or their codes, each 1..STORE_REPORT_STATEMENT_MAX bytes of text) and
 * TEXT (NULL or 0..STORE_REPORT_TEXT_MAX bytes; line breaks and tabs allowed). USER must hold the
 * claim (review "claimed" or "reported"); it becomes "reported" and the claim is renewed. May be
 * called again: the draft is replaced. Audited ("report.save"). Returns STORE_OK, STORE_EINVAL,
 * STORE_EBUSY (another holds the claim), STORE_ESTATE (not claimed by USER: claim it first;
 * signed: amend instead), STORE_ENOTFOUND, STORE_EDENIED, STORE_ERR. */
int store_report_save(store *s, const store_user *user, int64_t id, const char *const *statements,
                      size_t nstatements, const char *text, char *err, size_t errlen);

/* Signs the draft on ID: asks for USER's PASSWORD again (store_user_verify_password: same rate
 * limit). USER must hold the claim of a "reported" recording. The draft becomes signed version 1
 * (USER the signer), immutable; review "signed", the claim ends, the first signing time is kept
 * for the timeline. Audited ("report.sign"). Returns STORE_OK, STORE_EAUTH (wrong password),
 * STORE_ELIMITED, STORE_EBUSY, STORE_ESTATE (no draft, or signed already), STORE_ENOTFOUND,
 * STORE_EDENIED, STORE_ERR. */
int store_report_sign(store *s, const store_user *user, int64_t id, const char *password, char *err,
                      size_t errlen);

/* Amends the signed report on ID: a new signed version (the latest + 1, amending it) with
 * STATEMENTS and TEXT as in store_report_save, written and signed by USER (any cardiologist)
 * after PASSWORD is checked again. Earlier versions stay as they were. Audited
 * ("report.amend"). Returns STORE_OK, STORE_EINVAL, STORE_EAUTH, STORE_ELIMITED, STORE_ESTATE
 * (not signed yet: sign the draft first), STORE_ENOTFOUND, STORE_EDENIED, STORE_ERR. */
int store_report_amend(store *s, const store_user *user, int64_t id, const char *const *statements,
                       size_t nstatements, const char *text, const char *password, char *err,
                       size_t errlen);

/* ID's current report into *OUT: for cardiologists and admins the draft if there is one, else the
 * latest signed version; clinic users see signed versions only. Returns STORE_OK, STORE_ENOTFOUND
 * (no report, or none the user may see yet), STORE_EDENIED, STORE_ERR. */
int store_report_get(store *s, const store_user *user, int64_t id, store_report *out, char *err,
                     size_t errlen);

/* Every version of ID's report, oldest first, each with its signer and time (the draft last,
 * except for clinic users), in *OUT (malloc'd, NULL when none; the caller frees it). Returns
 * STORE_OK, STORE_ENOTFOUND (no recording), STORE_EDENIED, STORE_ERR. */
int store_report_history(store *s, const store_user *user, int64_t id, store_report **out, size_t *n,
                         char *err, size_t errlen);

/* ---- Repeat, opening, the timeline, earlier recordings ------------------------------------ */

/* Sends ID back to its clinic: "record the ECG again", with REASON (1..511 bytes of text) that
 * the clinic sees in its worklist. USER must hold the claim ("claimed" or "reported"); the claim
 * ends. Audited ("review.repeat"). Returns STORE_OK, STORE_EINVAL, STORE_EBUSY, STORE_ESTATE,
 * STORE_ENOTFOUND, STORE_EDENIED, STORE_ERR. */
int store_request_repeat(store *s, const store_user *user, int64_t id, const char *reason, char *err,
                         size_t errlen);

/* Notes that USER opened ID (every opening is audited, "recording.open": who read which ECG).
 * The first opening by a cardiologist is kept as the recording's first-opened time (the
 * chest-pain centre's "first read"); openings by others do not set it. Returns STORE_OK,
 * STORE_ENOTFOUND, STORE_EDENIED, STORE_ERR. */
int store_recording_opened(store *s, const store_user *user, int64_t id, char *err, size_t errlen);

/* The times a chest-pain centre audits for one recording (Unix ms; 0: not yet). */
typedef struct {
    int64_t received_ms;       /* the ECG reached the county hospital (its recording began) */
    int64_t first_opened_ms;   /* a cardiologist first opened it */
    char first_opened_by[65];
    int64_t signed_ms;         /* its report was first signed: the diagnosis */
    char signed_by[65];
    int64_t last_amended_ms;   /* the latest amendment */
    int64_t ecg_to_diagnosis_ms; /* signed_ms - received_ms; 0 until signed */
} store_times;

/* Reads ID's timeline into *OUT. Returns STORE_OK, STORE_ENOTFOUND, STORE_ERR. */
int store_timeline(store *s, int64_t id, store_times *out, char *err, size_t errlen);

/* PATIENT_ID's recordings (1..64 bytes) that USER may see, except EXCLUDE (0: none), newest
 * first, at most MAX (0: all): for comparison with earlier ECGs. *OUT is malloc'd (NULL when
 * none), freed by the caller. Returns STORE_OK, STORE_EINVAL, STORE_EDENIED, STORE_ERR. */
int store_patient_history(store *s, const store_user *user, const char *patient_id, int64_t exclude,
                          size_t max, store_review_item **out, size_t *n, char *err, size_t errlen);

/* ==== Critical values (危急值; schema migration 3) ============================================
 * The Chinese rules for critical values: the cardiologist who confirms one tells the clinic at
 * once (by telephone) and records whom they told (a name or staff id) and when; the clinic
 * acknowledges it in the page; a critical value not acknowledged within the acknowledgement
 * time (store_set_critical_ack_timeout) is escalated: shown again to every cardiologist on duty
 * and logged. One notice per recording; nothing is deleted, and an acknowledged notice is final
 * (the database refuses to change it). Every step is audited ("critical.confirm", ".ack",
 * ".escalate"). */

#define STORE_CRITICAL_ACK_TIMEOUT_MS (15 * 60 * 1000LL) /* default acknowledgement time */

typedef struct {
    int64_t recording;
    char site[65], patient_id[65];
    char finding[256];        /* what was confirmed, e.g. "室性心动过速 VT 180/min" */
    char confirmed_by[65];    /* the cardiologist */
    int64_t confirmed_ms;
    char notified[128];       /* whom at the clinic they told: a name or staff id */
    int64_t notified_ms;      /* when */
    char acked_by[65];        /* the clinic user who acknowledged it; "" not yet */
    int64_t acked_ms;         /* 0: not yet */
    int64_t escalated_ms;     /* when it was escalated; 0: not (yet) */
    int64_t due_ms;           /* confirmed_ms + the acknowledgement time of this handle */
} store_critical;

/* How long a clinic has to acknowledge: MS > 0 (default STORE_CRITICAL_ACK_TIMEOUT_MS); used by
 * store_critical_escalate and due_ms through this handle. Returns STORE_OK or STORE_EINVAL. */
int store_set_critical_ack_timeout(store *s, int64_t ms);

/* The cardiologist USER confirms a critical value on recording ID: FINDING (1..255 bytes of
 * text), NOTIFIED (whom at the clinic they told: 1..127 bytes of text) at NOTIFIED_MS (Unix ms;
 * 0: now; not in the future, beyond a minute of clock skew). Any recording the cardiologist may
 * see: the machine's flags are not the judge of what is critical. Reads the notice into *OUT
 * (unless NULL). Returns STORE_OK, STORE_EINVAL (the message names the argument), STORE_EEXIST
 * (confirmed already: one notice per recording), STORE_ENOTFOUND, STORE_EDENIED (not a
 * cardiologist), STORE_ERR. */
int store_critical_confirm(store *s, const store_user *user, int64_t id, const char *finding, const char *notified,
                           int64_t notified_ms, store_critical *out, char *err, size_t errlen);

/* The clinic user USER acknowledges recording ID's critical value (its own site's only). Reads
 * the notice into *OUT (unless NULL). Returns STORE_OK, STORE_ENOTFOUND (no such recording, or no
 * critical value confirmed on it), STORE_ESTATE (acknowledged already: the message says by whom),
 * STORE_EDENIED (not a clinic user, or another site's), STORE_ERR. */
int store_critical_ack(store *s, const store_user *user, int64_t id, store_critical *out, char *err, size_t errlen);

/* Recording ID's notice into *OUT, if USER may see the recording. Returns STORE_OK,
 * STORE_ENOTFOUND (no recording, or no notice), STORE_EDENIED, STORE_ERR. */
int store_critical_get(store *s, const store_user *user, int64_t id, store_critical *out, char *err, size_t errlen);

/* The notices USER may see (a clinic its own site's), OPEN_ONLY: those not yet acknowledged;
 * escalated ones first, then oldest first. *OUT is malloc'd (NULL when none), freed by the
 * caller. Returns STORE_OK, STORE_EDENIED, STORE_ERR. */
int store_critical_list(store *s, const store_user *user, int open_only, store_critical **out, size_t *n, char *err,
                        size_t errlen);

/* Escalates every notice not acknowledged by its due time and not escalated yet: marks it and
 * writes an audit row ("server", "critical.escalate") per notice; *N (unless NULL) gets how many.
 * ecgnetd calls it periodically. Returns STORE_OK or STORE_ERR. */
int store_critical_escalate(store *s, int64_t *n, char *err, size_t errlen);

/* ==== Retention (schema migration 4) ========================================================
 * The Chinese rules on medical records (《医疗机构病历管理规定（2013年版）》第二十九条): outpatient
 * records are kept at least 15 years from the patient's last visit, inpatient records at least 30
 * years from their last discharge; a province may ask for longer. Each recording carries its
 * class (encounter, from the device's hello). After its retention period its samples (journal and
 * EDF+ archive) may be deleted: the store first marks it purged, then the caller deletes the
 * files (`ecgnet retention`). Its metadata, flags, analysis, reports and audit rows stay.
 *
 * When is a recording due? Its retention runs from the newest recording of the same patient id
 * (any class, any site: ecgnet knows neither visits nor discharge dates, only recordings, so a
 * later recording of the patient restarts the count for all of them; without a patient id, from
 * its own received_ms). It is due once that time plus its class's retention has passed, it is
 * no longer "receiving" and it is not purged yet.
 *
 * Nothing here deletes early, whatever the caller passes: retention times below the legal minimum
 * are refused, the purge re-checks inside its transaction with the store's own clock, and the
 * database itself refuses (by trigger) to mark a recording purged while receiving or before the
 * minimum has passed since it was received, or to undo a purge. */

/* A retention year: 366 days, so that N of them never end before the N-th calendar anniversary
 * (whatever the leap days in between; at most N days later). */
#define STORE_YEAR_MS (366LL * 24 * 60 * 60 * 1000)
#define STORE_RETENTION_OUTPATIENT_MIN_YEARS 15
#define STORE_RETENTION_INPATIENT_MIN_YEARS 30

/* The recordings due for deletion as of NOW_MS (Unix ms; 0: now), OUTPATIENT_MS and INPATIENT_MS
 * the retention of each class (at least STORE_RETENTION_*_MIN_YEARS * STORE_YEAR_MS): finished,
 * not purged, and the retention from the patient's newest recording has passed (see above);
 * oldest first. *OUT is malloc'd (NULL when none), freed by the caller. Returns STORE_OK,
 * STORE_EINVAL (a retention below the minimum: the message cites the rule; NOW_MS negative),
 * STORE_ERR. */
int store_retention_due(store *s, int64_t outpatient_ms, int64_t inpatient_ms, int64_t now_ms, store_recording **out,
                        size_t *n, char *err, size_t errlen);

/* Marks recording ID purged now (the store's clock): purged_ms set, archive path cleared, audited
 * as ACTOR (1..95 bytes, e.g. "cli"), "recording.purge", naming its files. Checks again, inside
 * the transaction, that it is due under OUTPATIENT_MS and INPATIENT_MS (as store_retention_due),
 * so that nothing the caller listed earlier, or passes now, can purge a recording still kept.
 * *BEFORE (unless NULL) receives the recording as it was: its journal and archive paths are the
 * files the caller must now delete. The files are not touched here. Returns STORE_OK,
 * STORE_EINVAL (a retention below the minimum, a bad actor), STORE_ENOTFOUND, STORE_ESTATE (still
 * receiving, purged already, or within its retention: the message says until when it is kept),
 * STORE_ERR. */
int store_recording_purge(store *s, int64_t id, int64_t outpatient_ms, int64_t inpatient_ms, const char *actor,
                          store_recording *before, char *err, size_t errlen);

#endif
