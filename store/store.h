/* store.h — the metadata store: sites, devices and their tokens, recordings, flags, the review
 * queue and the audit trail, in SQLite (the embedded default).
 *
 * One store handle holds ONE SQLite connection guarded by a mutex: every function below locks it
 * for its whole duration, so a handle may be shared by any number of threads (the server's
 * connection threads, the analysis workers) and calls are serialised. Several processes may open
 * the same file at once (ecgnetd and `ecgnet device add`): SQLite's WAL mode lets readers run
 * beside the writer, every write transaction is BEGIN IMMEDIATE and a busy timeout of
 * STORE_BUSY_TIMEOUT_MS makes a writer wait for another instead of failing.
 *
 * Durability: synchronous=FULL, so a function that returned STORE_OK has its change on disk
 * and it survives a power cut (the server acknowledges data to devices only after that).
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

#define STORE_SCHEMA_VERSION 1     /* the newest schema this code knows and writes */
#define STORE_BUSY_TIMEOUT_MS 10000 /* how long a writer waits for another process's write */
#define STORE_TOKEN_BYTES 32       /* random bytes in a device token */
#define STORE_TOKEN_CHARS 43       /* its base64url text without padding */
#define STORE_MAX_LEADS 64         /* nleads of a recording: 1..STORE_MAX_LEADS */

typedef struct store store;

/* Opens (creating if needed) the store at URL: "sqlite:PATH", "sqlite://PATH" (so that
 * "sqlite:///var/lib/ecgnet/ecgnet.db" is an absolute path) or a plain PATH. The directory must
 * exist and be writable (WAL mode keeps PATH-wal and PATH-shm beside the file); a new file is
 * created with mode 0600 (it holds patient ids and token hashes; SQLite gives the -wal and -shm
 * files the same mode). Sets WAL mode, synchronous=FULL, foreign keys and the busy timeout,
 * then runs the pending schema migrations. Refuses, with a message: other URL schemes
 * ("postgresql://... is not supported yet"), in-memory databases, a SQLite file that is not an
 * ecgnet database, and a database newer than this code. Returns the handle (free with
 * store_close), or NULL with the message in err. */
store *store_open(const char *url, char *err, size_t errlen);

/* Closes the connection and frees the handle. NULL is allowed. No call may be running on S. */
void store_close(store *s);

/* The database file's path, as opened (owned by S). */
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
} store_recording;

/* Begins a recording, or resumes it. Uses from R: device, recording, site ("" means the device's
 * own site), patient_id, mode, fs, nleads, journal, received_ms (0 means now). A new recording
 * is "receiving", review "new", priority 3; *ID receives its id, *EXISTED 0; audited
 * ("device:<id>", "recording.begin"). If the device already has a recording of that id, this
 * is a resume: *ID is the existing id, *EXISTED 1, nothing else of R is used, and an
 * "interrupted" recording goes back to "receiving" (a "complete" one stays complete: the
 * caller decides whether to accept more samples); audited ("recording.resume"). A resume whose
 * fs or nleads differ from the stored ones is refused with STORE_EINVAL naming both. Returns
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
 * ends), matching F (NULL: no filter), ordered by priority, then received_ms (oldest first).
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

/* The audit rows about RECORDING (0: all rows), oldest first, in *OUT (malloc'd, NULL when
 * none; the caller frees it). Returns STORE_OK or STORE_ERR. */
int store_audit_list(store *s, int64_t recording, store_audit_entry **out, size_t *n, char *err,
                     size_t errlen);

#endif
