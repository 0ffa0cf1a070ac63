/* test_review.c — the review workflow: users and passwords, logins and their rate limit, sessions,
 * the worklist, atomic claims that expire, reports signed with the password asked again and
 * immutable once signed, amendments, repeat requests, the clinic's view of its own site only,
 * the audit trail and the chest-pain centre's timeline, the upgrade of a v1 database, and the
 * `ecgnet user` command. */
#include "check.h"
#include "store_harness.h"
#include "store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ECGNET ECGNET_BINARY_DIR "/cmd/ecgnet"


#define PW_CARDIO "sinus rhythm 72 bpm"
#define PW_WANG "窦性心律正常心电图好"    /* ten Chinese characters (30 bytes) */
#define PW_CLINIC "village clinic 07 key"
#define PW_ADMIN "county admin password"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void add_device(store *s, const char *id, const char *site)
{
    char token[STORE_TOKEN_CHARS + 1];
    int rc = store_device_add(s, id, site, token, errbuf, sizeof errbuf);
    CHECK(rc == STORE_OK, "add device %s: rc %d: %s", id, rc, errbuf);
}

/* A finished recording NAME of DEVICE for PATIENT received at RECEIVED_MS, at PRIORITY (3: none). */
static int64_t recording(store *s, const char *device, const char *name, const char *patient, int64_t received_ms,
                         int priority)
{
    store_recording r;
    memset(&r, 0, sizeof r);
    snprintf(r.device, sizeof r.device, "%s", device);
    snprintf(r.recording, sizeof r.recording, "%s", name);
    snprintf(r.patient_id, sizeof r.patient_id, "%s", patient);
    snprintf(r.mode, sizeof r.mode, "resting");
    r.fs = 500;
    r.nleads = 12;
    snprintf(r.journal, sizeof r.journal, "/data/journal/%s/%s.ecgj", device, name);
    r.received_ms = received_ms;
    int64_t id = 0;
    int existed;
    int rc = store_recording_begin(s, &r, &id, &existed, errbuf, sizeof errbuf);
    CHECK(rc == STORE_OK, "begin %s: %s", name, errbuf);
    rc = store_recording_finish(s, id, "complete", 5000, NULL, "{}", errbuf, sizeof errbuf);
    CHECK(rc == STORE_OK, "finish %s: %s", name, errbuf);
    if (priority < 3) {
        store_flag f;
        memset(&f, 0, sizeof f);
        snprintf(f.code, sizeof f.code, "%s", priority == 0 ? "VT" : "AF");
        f.priority = priority;
        f.end = 100;
        rc = store_flag_add(s, id, &f, errbuf, sizeof errbuf);
        CHECK(rc == STORE_OK, "flag %s: %s", name, errbuf);
    }
    return id;
}

static void add_user(store *s, const char *name, const char *role, const char *site, const char *password)
{
    int rc = store_user_add(s, name, role, site, password, errbuf, sizeof errbuf);
    CHECK(rc == STORE_OK, "add user %s: rc %d: %s", name, rc, errbuf);
}

static store_user login(store *s, const char *name, const char *password)
{
    char token[STORE_SESSION_CHARS + 1], csrf[STORE_SESSION_CHARS + 1];
    store_user u;
    memset(&u, 0, sizeof u);
    int rc = store_login(s, name, password, "10.1.1.1", token, csrf, &u, NULL, errbuf, sizeof errbuf);
    CHECK(rc == STORE_OK && !strcmp(u.name, name), "login %s: rc %d: %s", name, rc, errbuf);
    return u;
}

/* A store with two sites (马庄乡卫生院 with device clinic-07, county with ah-02) and the users
 * wang and li (cardiologists), mazhuang (the clinic's) and root (admin). */
typedef struct {
    store *s;
    const char *path;
    store_user wang, li, clinic, admin;
} world;

static world make_world(const char *name)
{
    world w;
    w.path = fresh_db(name);
    w.s = open_ok(w.path);
    add_device(w.s, "clinic-07", "马庄乡卫生院");
    add_device(w.s, "ah-02", "county");
    add_user(w.s, "wang", "cardiologist", NULL, PW_WANG);
    add_user(w.s, "li", "cardiologist", "", PW_CARDIO);
    add_user(w.s, "mazhuang", "clinic", "马庄乡卫生院", PW_CLINIC);
    add_user(w.s, "root", "admin", NULL, PW_ADMIN);
    w.wang = login(w.s, "wang", PW_WANG);
    w.li = login(w.s, "li", PW_CARDIO);
    w.clinic = login(w.s, "mazhuang", PW_CLINIC);
    w.admin = login(w.s, "root", PW_ADMIN);
    return w;
}

static const char *const STATEMENTS[] = {"窦性心律", "ST段抬高 V1-V4", "STEMI_ANTERIOR"};

/* ---- Users ----------------------------------------------------------------------------------- */

static void users_have_roles_and_argon2id_password_hashes(void)
{
    const char *path = fresh_db("review-users");
    store *s = open_ok(path);
    add_device(s, "clinic-07", "马庄乡卫生院");
    add_user(s, "wang", "cardiologist", NULL, PW_WANG);
    add_user(s, "mazhuang", "clinic", "马庄乡卫生院", PW_CLINIC);
    add_user(s, "root", "admin", "", PW_ADMIN);

    CHECK(raw_count(path, "SELECT count(*) FROM user_account WHERE password_hash LIKE '$argon2id$v=19$m=65536,t=2,p=1$%'") == 3,
          "every password is an argon2id string with the INTERACTIVE limits");
    CHECK(raw_count(path, "SELECT count(*) FROM user_account WHERE password_hash LIKE '%sinus%' OR "
                          "password_hash LIKE '%village%' OR password_hash LIKE '%admin%'") == 0,
          "and no password is stored as text");

    struct { const char *name, *role, *site, *pw, *msg; int rc; } bad[] = {
        {"x1", "nurse", NULL, PW_CARDIO, "role", STORE_EINVAL},
        {"x2", "cardiologist", NULL, "short pw!", "too short", STORE_EINVAL},
        {"x3", "cardiologist", NULL, "窦性心律正常心电图", "too short", STORE_EINVAL}, /* 9 characters, 27 bytes */
        {"x4", "clinic", NULL, PW_CLINIC, "needs its site", STORE_EINVAL},
        {"x5", "cardiologist", "马庄乡卫生院", PW_CARDIO, "only clinic users", STORE_EINVAL},
        {"x6", "clinic", "马庄卫生院", PW_CLINIC, "no site", STORE_ENOTFOUND},
        {"wang", "admin", NULL, PW_ADMIN, "already exists", STORE_EEXIST},
        {"bad name", "admin", NULL, PW_ADMIN, "A-Z", STORE_EINVAL},
        {"longname12", "admin", NULL, "longname12", "not be the user name", STORE_EINVAL},
        {"x7", "admin", NULL, "tab\tin the password", "control", STORE_EINVAL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = store_user_add(s, bad[i].name, bad[i].role, bad[i].site, bad[i].pw, errbuf, sizeof errbuf);
        CHECK(rc == bad[i].rc && strstr(errbuf, bad[i].msg), "bad user %zu (%s): rc %d: %s", i, bad[i].name, rc, errbuf);
    }

    store_user *u;
    size_t n;
    CHECK(store_user_list(s, &u, &n, errbuf, sizeof errbuf) == STORE_OK && n == 3, "three users: %s", errbuf);
    if (n == 3) {
        CHECK(!strcmp(u[0].name, "mazhuang") && !strcmp(u[1].name, "root") && !strcmp(u[2].name, "wang"), "by name");
        CHECK(!strcmp(u[0].role, "clinic") && !strcmp(u[0].site, "马庄乡卫生院"), "the clinic user and its site");
        CHECK(!strcmp(u[2].role, "cardiologist") && u[2].site[0] == '\0' && u[2].disabled_ms == 0, "cardiologist");
    }
    free(u);
    store_user one;
    CHECK(store_user_get(s, "root", &one, errbuf, sizeof errbuf) == STORE_OK && !strcmp(one.role, "admin"), "get");
    CHECK(store_user_get(s, "nobody", &one, errbuf, sizeof errbuf) == STORE_ENOTFOUND, "get unknown");

    store_audit_entry *a;
    CHECK(store_audit_list(s, 0, &a, &n, errbuf, sizeof errbuf) == STORE_OK, "audit");
    int adds = 0;
    for (size_t i = 0; i < n; i++) adds += !strcmp(a[i].action, "user.add") && !strcmp(a[i].actor, "cli");
    CHECK(adds == 3, "each user.add audited: %d", adds);
    free(a);
    store_close(s);
}

/* ---- Login, sessions, the rate limit --------------------------------------------------------- */

static void login_fails_alike_for_unknown_wrong_and_disabled(void)
{
    world w = make_world("review-login");
    store *s = w.s;
    char token[STORE_SESSION_CHARS + 1], csrf[STORE_SESSION_CHARS + 1], csrf2[STORE_SESSION_CHARS + 1];
    char m_wrong[256], m_unknown[256], m_disabled[256];
    store_user u;
    CHECK(store_login(s, "wang", "wrong password!", "10.0.0.1", token, csrf, &u, NULL, m_wrong, sizeof m_wrong) ==
              STORE_EAUTH, "wrong password");
    CHECK(store_login(s, "zhao", PW_WANG, "10.0.0.1", token, csrf, &u, NULL, m_unknown, sizeof m_unknown) ==
              STORE_EAUTH, "unknown user");
    add_user(s, "zhou", "cardiologist", NULL, PW_CARDIO);
    CHECK(store_user_disable(s, "zhou", errbuf, sizeof errbuf) == STORE_OK, "disable: %s", errbuf);
    CHECK(store_user_disable(s, "zhou", errbuf, sizeof errbuf) == STORE_EREVOKED, "disable twice");
    CHECK(store_login(s, "zhou", PW_CARDIO, "10.0.0.1", token, csrf, &u, NULL, m_disabled, sizeof m_disabled) ==
              STORE_EAUTH, "disabled user, right password");
    CHECK(!strcmp(m_wrong, m_unknown) && !strcmp(m_wrong, m_disabled), "one message: '%s' '%s' '%s'", m_wrong,
          m_unknown, m_disabled);
    CHECK(store_login(s, "wang", NULL, NULL, token, csrf, &u, NULL, errbuf, sizeof errbuf) == STORE_EAUTH, "no password");
    CHECK(store_login(s, "wang", PW_WANG, "bad\nclient", token, csrf, &u, NULL, errbuf, sizeof errbuf) == STORE_EINVAL,
          "a client key that is not text");

    memset(&u, 0, sizeof u);
    CHECK(store_login(s, "wang", PW_WANG, "10.0.0.1", token, csrf, &u, NULL, errbuf, sizeof errbuf) == STORE_OK,
          "right password: %s", errbuf);
    CHECK(strlen(token) == STORE_SESSION_CHARS && strlen(csrf) == STORE_SESSION_CHARS && strcmp(token, csrf),
          "a session token and a different CSRF token");
    CHECK(u.id == w.wang.id && !strcmp(u.role, "cardiologist"), "the user");
    memset(&u, 0, sizeof u);
    CHECK(store_session_check(s, token, &u, csrf2, errbuf, sizeof errbuf) == STORE_OK && u.id == w.wang.id &&
              !strcmp(csrf, csrf2), "the session gives the user and its CSRF token: %s", errbuf);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM session WHERE CAST(token_hash AS TEXT) LIKE '%%%s%%'", token);
    CHECK(raw_count(w.path, sql) == 0, "the session token is stored only hashed");
    CHECK(store_session_check(s, csrf, &u, NULL, errbuf, sizeof errbuf) == STORE_EAUTH, "the CSRF token is no session");
    CHECK(store_session_check(s, "", &u, NULL, errbuf, sizeof errbuf) == STORE_EAUTH, "empty");
    CHECK(store_session_check(s, NULL, &u, NULL, errbuf, sizeof errbuf) == STORE_EAUTH, "NULL");

    CHECK(store_logout(s, token, errbuf, sizeof errbuf) == STORE_OK, "logout");
    CHECK(store_session_check(s, token, &u, NULL, errbuf, sizeof errbuf) == STORE_EAUTH, "ended by logout");
    CHECK(store_logout(s, token, errbuf, sizeof errbuf) == STORE_OK, "logout twice is fine");

    /* A password change and a disable end the user's sessions. */
    char t2[STORE_SESSION_CHARS + 1];
    CHECK(store_login(s, "li", PW_CARDIO, "", t2, csrf, &u, NULL, errbuf, sizeof errbuf) == STORE_OK, "li");
    CHECK(store_user_passwd(s, "li", "a new password for li", errbuf, sizeof errbuf) == STORE_OK, "passwd: %s", errbuf);
    CHECK(store_session_check(s, t2, &u, NULL, errbuf, sizeof errbuf) == STORE_EAUTH, "passwd ends sessions");
    CHECK(store_login(s, "li", PW_CARDIO, "", t2, csrf, &u, NULL, errbuf, sizeof errbuf) == STORE_EAUTH, "old password");
    CHECK(store_login(s, "li", "a new password for li", "", t2, csrf, &u, NULL, errbuf, sizeof errbuf) == STORE_OK,
          "new password: %s", errbuf);
    CHECK(store_user_passwd(s, "li", "short", errbuf, sizeof errbuf) == STORE_EINVAL, "rules apply to passwd");
    CHECK(store_user_passwd(s, "nobody", PW_CARDIO, errbuf, sizeof errbuf) == STORE_ENOTFOUND, "passwd unknown");
    CHECK(store_user_disable(s, "li", errbuf, sizeof errbuf) == STORE_OK, "disable li");
    CHECK(store_session_check(s, t2, &u, NULL, errbuf, sizeof errbuf) == STORE_EAUTH, "disable ends sessions");
    CHECK(store_worklist(s, &w.li, NULL, &(store_review_item *){NULL}, &(size_t){0}, errbuf, sizeof errbuf) ==
              STORE_EDENIED, "and a disabled user's old struct is refused: %s", errbuf);

    store_audit_entry *a;
    size_t n;
    CHECK(store_audit_list(s, 0, &a, &n, errbuf, sizeof errbuf) == STORE_OK, "audit");
    int ok = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        ok += !strcmp(a[i].action, "user.login") && !strcmp(a[i].actor, "user:wang");
        failed += !strcmp(a[i].action, "user.login_failed") && !strcmp(a[i].actor, "user:zhao") &&
                  strstr(a[i].detail, "10.0.0.1") != NULL;
    }
    CHECK(ok >= 2 && failed == 1, "logins and failures audited with the client: %d %d", ok, failed);
    free(a);
    store_close(s);
}

static void the_login_rate_limit_kicks_in_and_lifts(void)
{
    const char *path = fresh_db("review-limit");
    store *s = open_ok(path);
    add_user(s, "wang", "cardiologist", NULL, PW_WANG);
    CHECK(store_set_login_limit(s, 0, 1000) == STORE_EINVAL && store_set_login_limit(s, 5, 0) == STORE_EINVAL,
          "limits are checked");
    const int window = 4000;
    CHECK(store_set_login_limit(s, 5, window) == STORE_OK, "5 failures per 4 s");
    char token[STORE_SESSION_CHARS + 1], csrf[STORE_SESSION_CHARS + 1];
    int64_t retry = -1, start = now_ms();
    for (int i = 0; i < 5; i++) {
        int rc = store_login(s, "wang", "guess number one", "10.0.0.66", token, csrf, NULL, &retry, errbuf, sizeof errbuf);
        CHECK(rc == STORE_EAUTH && retry == 0, "failure %d is EAUTH: %d %s", i + 1, rc, errbuf);
    }
    int rc = store_login(s, "wang", PW_WANG, "10.0.0.99", token, csrf, NULL, &retry, errbuf, sizeof errbuf);
    CHECK(rc == STORE_ELIMITED, "the 6th attempt is refused even with the right password, from another client: %d", rc);
    CHECK(retry > 0 && retry <= window, "retry after %lld ms", (long long)retry);
    CHECK(strstr(errbuf, "try again in"), "the message says when: %s", errbuf);
    /* From the same client, other names are refused too; from another client they are not. */
    add_user(s, "li", "cardiologist", NULL, PW_CARDIO);
    rc = store_login(s, "li", PW_CARDIO, "10.0.0.66", token, csrf, NULL, &retry, errbuf, sizeof errbuf);
    CHECK(rc == STORE_ELIMITED, "the client is limited for any name: %d", rc);
    rc = store_login(s, "li", PW_CARDIO, "10.0.0.99", token, csrf, NULL, &retry, errbuf, sizeof errbuf);
    CHECK(rc == STORE_OK, "li from another client: %d %s", rc, errbuf);
    int64_t left = start + window + 200 - now_ms();
    if (left > 0) sleep_ms((int)left);
    rc = store_login(s, "wang", PW_WANG, "10.0.0.66", token, csrf, NULL, &retry, errbuf, sizeof errbuf);
    CHECK(rc == STORE_OK, "the limit lifts after the window: %d %s", rc, errbuf);
    /* Unknown names are limited as well: guessing names costs the same. */
    for (int i = 0; i < 5; i++) store_login(s, "ghost", "whatever it is", "", token, csrf, NULL, NULL, errbuf, sizeof errbuf);
    CHECK(store_login(s, "ghost", "whatever it is", "", token, csrf, NULL, NULL, errbuf, sizeof errbuf) == STORE_ELIMITED,
          "an unknown name is limited too");
    store_close(s);
}

static void sessions_expire_when_idle_and_use_refreshes_them(void)
{
    const char *path = fresh_db("review-session");
    store *s = open_ok(path);
    add_user(s, "wang", "cardiologist", NULL, PW_WANG);
    CHECK(store_set_session_idle(s, 0) == STORE_EINVAL, "idle must be > 0");
    CHECK(store_set_session_idle(s, 600) == STORE_OK, "600 ms idle");
    char token[STORE_SESSION_CHARS + 1], csrf[STORE_SESSION_CHARS + 1];
    store_user u;
    CHECK(store_login(s, "wang", PW_WANG, "", token, csrf, &u, NULL, errbuf, sizeof errbuf) == STORE_OK, "login");
    for (int i = 0; i < 4; i++) {
        sleep_ms(300);
        CHECK(store_session_check(s, token, &u, NULL, errbuf, sizeof errbuf) == STORE_OK,
              "used every 300 ms it lives on (%d ms after login): %s", 300 * (i + 1), errbuf);
    }
    sleep_ms(800);
    CHECK(store_session_check(s, token, &u, NULL, errbuf, sizeof errbuf) == STORE_EAUTH && strstr(errbuf, "expired"),
          "idle for longer than 600 ms it has expired: %s", errbuf);
    CHECK(store_session_check(s, token, &u, NULL, errbuf, sizeof errbuf) == STORE_EAUTH, "and stays so");
    store_close(s);
}

/* ---- The state machine ----------------------------------------------------------------------- */

static int has_action(const store_audit_entry *a, size_t n, const char *actor, const char *action)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(a[i].actor, actor) && !strcmp(a[i].action, action)) return 1;
    return 0;
}

static void a_recording_goes_new_claimed_reported_signed(void)
{
    world w = make_world("review-happy");
    store *s = w.s;
    int64_t id = recording(s, "clinic-07", "ecg-1", "P-1", now_ms() - 60000, 0);
    store_review_item *items;
    size_t n;
    CHECK(store_worklist(s, &w.wang, NULL, &items, &n, errbuf, sizeof errbuf) == STORE_OK && n == 1, "worklist: %s", errbuf);
    if (n == 1) {
        CHECK(items[0].rec.id == id && !strcmp(items[0].rec.review, "new") && items[0].rec.priority == 0,
              "the critical recording, new");
        CHECK(!strcmp(items[0].rec.site, "马庄乡卫生院") && !strcmp(items[0].rec.patient_id, "P-1"), "site, patient");
        CHECK(items[0].claimed_by[0] == '\0' && items[0].opened_ms == 0, "unclaimed, unopened");
    }
    free(items);

    int64_t t0 = now_ms();
    CHECK(store_recording_opened(s, &w.wang, id, errbuf, sizeof errbuf) == STORE_OK, "opened: %s", errbuf);
    CHECK(store_claim(s, &w.wang, id, errbuf, sizeof errbuf) == STORE_OK, "claim: %s", errbuf);
    store_review_item it;
    CHECK(store_review_get(s, &w.wang, id, &it, errbuf, sizeof errbuf) == STORE_OK, "get: %s", errbuf);
    CHECK(!strcmp(it.rec.review, "claimed") && !strcmp(it.claimed_by, "wang"), "claimed by wang: %s %s", it.rec.review,
          it.claimed_by);
    CHECK(it.claim_expires_ms >= t0 + STORE_CLAIM_TIMEOUT_MS - 1000 && it.claim_expires_ms <= now_ms() + STORE_CLAIM_TIMEOUT_MS,
          "for the default 15 minutes");
    CHECK(it.opened_ms >= t0, "first opened noted");
    CHECK(store_claim(s, &w.wang, id, errbuf, sizeof errbuf) == STORE_OK, "claiming one's own again renews it");

    CHECK(store_report_save(s, &w.wang, id, STATEMENTS, 1, "first draft", errbuf, sizeof errbuf) == STORE_OK,
          "draft: %s", errbuf);
    CHECK(store_report_save(s, &w.wang, id, STATEMENTS, 3, "急性前壁心肌梗死。\n请立即转诊。", errbuf, sizeof errbuf) ==
              STORE_OK, "the draft saved again: %s", errbuf);
    CHECK(raw_count(w.path, "SELECT count(*) FROM report") == 1, "one draft row, replaced");
    store_report r;
    CHECK(store_report_get(s, &w.wang, id, &r, errbuf, sizeof errbuf) == STORE_OK, "get the draft: %s", errbuf);
    CHECK(!r.is_signed && r.version == 1 && r.nstatements == 3 && !strcmp(r.statements[1], "ST段抬高 V1-V4") &&
              !strcmp(r.text, "急性前壁心肌梗死。\n请立即转诊。") && !strcmp(r.author, "wang") && r.signer[0] == '\0',
          "the latest draft: v%d signed %d, %zu statements, '%s'", r.version, r.is_signed, r.nstatements, r.text);
    CHECK(store_review_get(s, &w.wang, id, &it, errbuf, sizeof errbuf) == STORE_OK && !strcmp(it.rec.review, "reported"),
          "reported");

    CHECK(store_report_sign(s, &w.wang, id, PW_CARDIO, errbuf, sizeof errbuf) == STORE_EAUTH,
          "signing asks for wang's own password again: %s", errbuf);
    CHECK(store_review_get(s, &w.wang, id, &it, errbuf, sizeof errbuf) == STORE_OK && !strcmp(it.rec.review, "reported"),
          "a refused signature changes nothing");
    CHECK(store_report_sign(s, &w.wang, id, PW_WANG, errbuf, sizeof errbuf) == STORE_OK, "sign: %s", errbuf);
    CHECK(store_review_get(s, &w.wang, id, &it, errbuf, sizeof errbuf) == STORE_OK && !strcmp(it.rec.review, "signed") &&
              it.claimed_by[0] == '\0' && it.signed_ms >= t0, "signed, the claim ended");
    CHECK(store_report_get(s, &w.wang, id, &r, errbuf, sizeof errbuf) == STORE_OK && r.is_signed && r.version == 1 &&
              !strcmp(r.signer, "wang") && r.signed_ms >= t0 && r.amends == 0, "signed version 1 by wang");

    store_times t;
    CHECK(store_timeline(s, id, &t, errbuf, sizeof errbuf) == STORE_OK, "timeline: %s", errbuf);
    CHECK(t.received_ms == it.rec.received_ms && t.first_opened_ms == it.opened_ms && !strcmp(t.first_opened_by, "wang"),
          "received, first opened by wang");
    CHECK(t.signed_ms == r.signed_ms && !strcmp(t.signed_by, "wang") && t.last_amended_ms == 0, "signed by wang");
    CHECK(t.ecg_to_diagnosis_ms == t.signed_ms - t.received_ms && t.ecg_to_diagnosis_ms >= 60000,
          "ECG-to-diagnosis time: %lld ms", (long long)t.ecg_to_diagnosis_ms);
    CHECK(store_timeline(s, 999, &t, errbuf, sizeof errbuf) == STORE_ENOTFOUND, "timeline of nothing");

    store_audit_entry *a;
    CHECK(store_audit_list(s, id, &a, &n, errbuf, sizeof errbuf) == STORE_OK, "audit");
    const char *actions[] = {"recording.open", "review.claim", "report.save", "report.sign"};
    for (size_t i = 0; i < 4; i++) CHECK(has_action(a, n, "user:wang", actions[i]), "audited: %s", actions[i]);
    int order_ok = 1;
    for (size_t i = 1; i < n; i++) order_ok &= a[i].time_ms >= a[i - 1].time_ms;
    CHECK(order_ok, "in time order");
    free(a);
    store_close(s);
}

static void illegal_transitions_are_refused_with_their_reason(void)
{
    world w = make_world("review-illegal");
    store *s = w.s;
    int64_t now = now_ms();
    int64_t a = recording(s, "clinic-07", "a", "P-1", now - 5000, 2);
    int64_t b = recording(s, "clinic-07", "b", "P-2", now - 4000, 2);
    const char *pw = PW_WANG;
    int rc;
    rc = store_report_save(s, &w.wang, a, STATEMENTS, 1, "", errbuf, sizeof errbuf);
    CHECK(rc == STORE_ESTATE && strstr(errbuf, "claim it first"), "report without a claim: %d %s", rc, errbuf);
    rc = store_report_sign(s, &w.wang, a, pw, errbuf, sizeof errbuf);
    CHECK(rc == STORE_ESTATE, "sign without a claim: %d %s", rc, errbuf);
    rc = store_report_amend(s, &w.wang, a, STATEMENTS, 1, "", pw, errbuf, sizeof errbuf);
    CHECK(rc == STORE_ESTATE && strstr(errbuf, "not signed"), "amend before any signature: %d %s", rc, errbuf);
    rc = store_release(s, &w.wang, a, errbuf, sizeof errbuf);
    CHECK(rc == STORE_ESTATE, "release what one does not hold: %d %s", rc, errbuf);
    CHECK(store_claim(s, &w.clinic, a, errbuf, sizeof errbuf) == STORE_EDENIED && strstr(errbuf, "cardiologist"),
          "a clinic user cannot claim: %s", errbuf);
    CHECK(store_claim(s, &w.admin, a, errbuf, sizeof errbuf) == STORE_EDENIED && strstr(errbuf, "admin"),
          "nor an admin: %s", errbuf);
    CHECK(store_claim(s, NULL, a, errbuf, sizeof errbuf) == STORE_EDENIED, "nor nobody");
    CHECK(store_claim(s, &w.wang, 999, errbuf, sizeof errbuf) == STORE_ENOTFOUND, "claim an unknown recording");

    CHECK(store_claim(s, &w.wang, a, errbuf, sizeof errbuf) == STORE_OK, "wang claims a");
    rc = store_report_sign(s, &w.wang, a, pw, errbuf, sizeof errbuf);
    CHECK(rc == STORE_ESTATE && strstr(errbuf, "no draft"), "sign with no draft: %d %s", rc, errbuf);
    rc = store_claim(s, &w.li, a, errbuf, sizeof errbuf);
    CHECK(rc == STORE_EBUSY && strstr(errbuf, "wang"), "li cannot claim wang's: %d %s", rc, errbuf);
    rc = store_report_save(s, &w.li, a, STATEMENTS, 1, "", errbuf, sizeof errbuf);
    CHECK(rc == STORE_EBUSY, "nor report on it: %d", rc);
    rc = store_request_repeat(s, &w.li, a, "noisy", errbuf, sizeof errbuf);
    CHECK(rc == STORE_EBUSY, "nor send it back: %d", rc);
    const char *too_many[STORE_REPORT_MAX_STATEMENTS + 1];
    for (int i = 0; i <= STORE_REPORT_MAX_STATEMENTS; i++) too_many[i] = "x";
    CHECK(store_report_save(s, &w.wang, a, too_many, STORE_REPORT_MAX_STATEMENTS + 1, "", errbuf, sizeof errbuf) ==
              STORE_EINVAL, "too many statements");
    const char *empty[] = {""};
    CHECK(store_report_save(s, &w.wang, a, empty, 1, "", errbuf, sizeof errbuf) == STORE_EINVAL, "an empty statement");
    CHECK(store_report_save(s, &w.wang, a, STATEMENTS, 1, "bell\a", errbuf, sizeof errbuf) == STORE_EINVAL,
          "control characters in the text");
    CHECK(store_report_save(s, &w.wang, a, STATEMENTS, 2, "ok", errbuf, sizeof errbuf) == STORE_OK, "draft");
    CHECK(store_report_sign(s, &w.wang, a, pw, errbuf, sizeof errbuf) == STORE_OK, "sign: %s", errbuf);
    rc = store_report_sign(s, &w.wang, a, pw, errbuf, sizeof errbuf);
    CHECK(rc == STORE_ESTATE && strstr(errbuf, "signed already"), "sign twice: %d %s", rc, errbuf);
    rc = store_claim(s, &w.li, a, errbuf, sizeof errbuf);
    CHECK(rc == STORE_ESTATE && strstr(errbuf, "signed"), "claim a signed one: %d %s", rc, errbuf);
    rc = store_report_save(s, &w.wang, a, STATEMENTS, 1, "", errbuf, sizeof errbuf);
    CHECK(rc == STORE_ESTATE && strstr(errbuf, "amendment"), "a draft on a signed one: %d %s", rc, errbuf);
    rc = store_request_repeat(s, &w.wang, a, "noisy", errbuf, sizeof errbuf);
    CHECK(rc == STORE_ESTATE, "repeat a signed one: %d", rc);
    rc = store_release(s, &w.wang, a, errbuf, sizeof errbuf);
    CHECK(rc == STORE_ESTATE, "release a signed one: %d", rc);

    /* Repeat: back to the clinic with the reason; nothing more to do on it. */
    CHECK(store_claim(s, &w.li, b, errbuf, sizeof errbuf) == STORE_OK, "li claims b");
    CHECK(store_request_repeat(s, &w.li, b, "", errbuf, sizeof errbuf) == STORE_EINVAL, "a repeat needs a reason");
    CHECK(store_request_repeat(s, &w.li, b, "肢体导联接触不良，请重新描记", errbuf, sizeof errbuf) == STORE_OK,
          "repeat: %s", errbuf);
    rc = store_claim(s, &w.wang, b, errbuf, sizeof errbuf);
    CHECK(rc == STORE_ESTATE && strstr(errbuf, "repeat"), "claim a repeat: %d %s", rc, errbuf);
    rc = store_report_save(s, &w.li, b, STATEMENTS, 1, "", errbuf, sizeof errbuf);
    CHECK(rc == STORE_ESTATE, "report on a repeat: %d", rc);

    /* Release: a claimed recording goes back to new. */
    int64_t c = recording(s, "ah-02", "c", "P-3", now - 3000, 3);
    CHECK(store_claim(s, &w.wang, c, errbuf, sizeof errbuf) == STORE_OK, "claim c");
    CHECK(store_release(s, &w.li, c, errbuf, sizeof errbuf) == STORE_EBUSY, "li cannot release wang's claim");
    CHECK(store_release(s, &w.wang, c, errbuf, sizeof errbuf) == STORE_OK, "release: %s", errbuf);
    store_review_item it;
    CHECK(store_review_get(s, &w.li, c, &it, errbuf, sizeof errbuf) == STORE_OK && !strcmp(it.rec.review, "new") &&
              it.claimed_by[0] == '\0', "new again");
    CHECK(store_claim(s, &w.li, c, errbuf, sizeof errbuf) == STORE_OK, "and claimable by li");

    /* A recording still being received and not flagged is not in the worklist yet. */
    store_recording r;
    memset(&r, 0, sizeof r);
    snprintf(r.device, sizeof r.device, "ah-02");
    snprintf(r.recording, sizeof r.recording, "live");
    snprintf(r.mode, sizeof r.mode, "continuous");
    r.fs = 250;
    r.nleads = 3;
    snprintf(r.journal, sizeof r.journal, "/j/live");
    int64_t live;
    int existed;
    CHECK(store_recording_begin(s, &r, &live, &existed, errbuf, sizeof errbuf) == STORE_OK, "live");
    rc = store_claim(s, &w.wang, live, errbuf, sizeof errbuf);
    CHECK(rc == STORE_ESTATE && strstr(errbuf, "still being received"), "claim a live unflagged one: %d %s", rc, errbuf);

    /* The database itself refuses to take a signed recording back. */
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE recording SET review = 'new' WHERE id = %lld", (long long)a);
    CHECK(raw_sql(w.path, sql) == SQLITE_CONSTRAINT, "a signed recording stays signed, even by raw SQL");
    store_close(s);
}

static void claims_expire_so_that_nothing_stays_stuck(void)
{
    world w = make_world("review-expiry");
    store *s = w.s;
    CHECK(store_set_claim_timeout(s, 0) == STORE_EINVAL, "timeout must be > 0");
    CHECK(store_set_claim_timeout(s, 150) == STORE_OK, "150 ms claims");
    int64_t id = recording(s, "clinic-07", "x", "P-1", now_ms() - 1000, 1);
    CHECK(store_claim(s, &w.wang, id, errbuf, sizeof errbuf) == STORE_OK, "wang claims");
    CHECK(store_claim(s, &w.li, id, errbuf, sizeof errbuf) == STORE_EBUSY, "li must wait");
    sleep_ms(250);
    store_review_item *items;
    size_t n;
    store_worklist_filter f = {.max_priority = -1, .review = "new"};
    CHECK(store_worklist(s, &w.li, &f, &items, &n, errbuf, sizeof errbuf) == STORE_OK && n == 1, "worklist new: %s", errbuf);
    CHECK(n == 1 && !strcmp(items[0].rec.review, "new") && items[0].claimed_by[0] == '\0' && items[0].claim_expires_ms == 0,
          "an expired claim reads as new and unclaimed");
    free(items);
    CHECK(store_claim(s, &w.li, id, errbuf, sizeof errbuf) == STORE_OK, "li claims it after the expiry: %s", errbuf);
    int rc = store_report_save(s, &w.wang, id, STATEMENTS, 1, "", errbuf, sizeof errbuf);
    CHECK(rc == STORE_EBUSY && strstr(errbuf, "li"), "wang's old claim is gone: %d %s", rc, errbuf);

    /* A draft left behind: the next reader takes it over, the draft kept. */
    CHECK(store_report_save(s, &w.li, id, STATEMENTS, 2, "li's draft", errbuf, sizeof errbuf) == STORE_OK, "li's draft");
    sleep_ms(250);
    CHECK(store_claim(s, &w.wang, id, errbuf, sizeof errbuf) == STORE_OK, "wang takes over: %s", errbuf);
    store_review_item it;
    CHECK(store_review_get(s, &w.wang, id, &it, errbuf, sizeof errbuf) == STORE_OK && !strcmp(it.rec.review, "reported") &&
              !strcmp(it.claimed_by, "wang"), "still reported, now wang's: %s %s", it.rec.review, it.claimed_by);
    store_report r;
    CHECK(store_report_get(s, &w.wang, id, &r, errbuf, sizeof errbuf) == STORE_OK && !strcmp(r.text, "li's draft") &&
              !strcmp(r.author, "li"), "li's draft is there for wang");
    CHECK(store_report_sign(s, &w.li, id, PW_CARDIO, errbuf, sizeof errbuf) == STORE_EBUSY, "li can no longer sign it");
    CHECK(store_set_claim_timeout(s, 60000) == STORE_OK, "longer claims");
    CHECK(store_report_save(s, &w.wang, id, STATEMENTS, 2, "wang's report", errbuf, sizeof errbuf) == STORE_OK, "save");
    CHECK(store_report_sign(s, &w.wang, id, PW_WANG, errbuf, sizeof errbuf) == STORE_OK, "wang signs: %s", errbuf);
    CHECK(store_report_get(s, &w.wang, id, &r, errbuf, sizeof errbuf) == STORE_OK && !strcmp(r.author, "wang") &&
              !strcmp(r.signer, "wang"), "wang's report");

    /* Disabling a user releases its claims at once. */
    int64_t y = recording(s, "clinic-07", "y", "P-2", now_ms() - 500, 3);
    CHECK(store_claim(s, &w.li, y, errbuf, sizeof errbuf) == STORE_OK, "li claims y");
    CHECK(store_user_disable(s, "li", errbuf, sizeof errbuf) == STORE_OK, "li leaves");
    CHECK(store_claim(s, &w.wang, y, errbuf, sizeof errbuf) == STORE_OK, "y is free at once: %s", errbuf);
    CHECK(store_claim(s, &w.li, id, errbuf, sizeof errbuf) == STORE_EDENIED, "li's old user struct is refused");
    store_close(s);
}

/* ---- Concurrency ----------------------------------------------------------------------------- */

#define CLAIMERS 8
#define QUEUED 120

typedef struct {
    const char *path;
    pthread_barrier_t *start; /* every claimer opens its handle, then all begin at once */
    store_user user;
    int64_t got[QUEUED];
    int n, errors, last_rc;
} claimer;

static void *claim_loop(void *arg)
{
    claimer *c = arg;
    char err[512];
    store *s = store_open(c->path, err, sizeof err);
    if (!s) c->errors++;
    pthread_barrier_wait(c->start);
    while (s) {
        store_review_item it;
        int rc = store_claim_next(s, &c->user, NULL, &it, err, sizeof err);
        if (rc == STORE_OK && c->n < QUEUED) {
            c->got[c->n++] = it.rec.id;
            if (strcmp(it.claimed_by, c->user.name)) c->errors++;
            sleep_ms(3); /* reads the ECG: the others get their turn at the queue */
        } else {
            c->last_rc = rc;
            if (rc != STORE_ENOTFOUND) {
                fprintf(stderr, "claimer %s: %d %s\n", c->user.name, rc, err);
                c->errors++;
            }
            break;
        }
    }
    store_close(s);
    return NULL;
}

static void concurrent_claimers_never_get_the_same_recording(void)
{
    const char *path = fresh_db("review-concurrent");
    store *s = open_ok(path);
    add_device(s, "clinic-07", "马庄乡卫生院");
    int64_t base = now_ms() - 1000000;
    for (int i = 0; i < QUEUED; i++) {
        char name[32];
        snprintf(name, sizeof name, "r%03d", i);
        recording(s, "clinic-07", name, "", base + i, i % 4);
    }
    static claimer c[CLAIMERS];
    pthread_t t[CLAIMERS];
    pthread_barrier_t start;
    CHECK(pthread_barrier_init(&start, NULL, CLAIMERS) == 0, "barrier");
    for (int i = 0; i < CLAIMERS; i++) {
        char name[16];
        snprintf(name, sizeof name, "dr%d", i);
        add_user(s, name, "cardiologist", NULL, PW_CARDIO);
        memset(&c[i], 0, sizeof c[i]);
        c[i].path = path;
        c[i].start = &start;
        CHECK(store_user_get(s, name, &c[i].user, errbuf, sizeof errbuf) == STORE_OK, "user %s", name);
    }
    for (int i = 0; i < CLAIMERS; i++) CHECK(pthread_create(&t[i], NULL, claim_loop, &c[i]) == 0, "thread %d", i);
    for (int i = 0; i < CLAIMERS; i++) pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    static int times[QUEUED + 1];
    memset(times, 0, sizeof times);
    int total = 0, errors = 0, busy = 0, bad_id = 0;
    for (int i = 0; i < CLAIMERS; i++) {
        errors += c[i].errors;
        busy += c[i].n > 0;
        total += c[i].n;
        for (int k = 0; k < c[i].n; k++) {
            if (c[i].got[k] < 1 || c[i].got[k] > QUEUED) bad_id++;
            else times[c[i].got[k]]++;
        }
    }
    int once = 0;
    for (int id = 1; id <= QUEUED; id++) once += times[id] == 1;
    CHECK(errors == 0 && bad_id == 0, "no errors: %d, %d", errors, bad_id);
    CHECK(total == QUEUED && once == QUEUED, "every recording claimed exactly once: %d claims, %d once", total, once);
    CHECK(busy >= 2, "the work was shared (%d claimers got some)", busy);
    CHECK(raw_count(path, "SELECT count(*) FROM recording WHERE review = 'claimed'") == QUEUED, "all claimed");
    CHECK(raw_count(path, "SELECT count(DISTINCT recording_id) FROM audit WHERE action = 'review.claim'") == QUEUED &&
              raw_count(path, "SELECT count(*) FROM audit WHERE action = 'review.claim'") == QUEUED,
          "one audited claim per recording");
    /* The claims of one claimer came in worklist order: priority never decreases. */
    int ordered = 1;
    for (int i = 0; i < CLAIMERS; i++)
        for (int k = 1; k < c[i].n; k++) {
            int64_t p = (c[i].got[k] - 1) % 4, q = (c[i].got[k - 1] - 1) % 4; /* recording i has priority i % 4 */
            ordered &= p > q || (p == q && c[i].got[k] > c[i].got[k - 1]);
        }
    CHECK(ordered, "claims come most urgent first");
    store_close(s);
}

typedef struct {
    const char *path;
    pthread_barrier_t *start;
    store_user user;
    int64_t id;
    int rc;
} rival;

static void *claim_one(void *arg)
{
    rival *r = arg;
    char err[512];
    store *s = store_open(r->path, err, sizeof err);
    pthread_barrier_wait(r->start);
    r->rc = s ? store_claim(s, &r->user, r->id, err, sizeof err) : STORE_ERR;
    store_close(s);
    return NULL;
}

static void rivals_for_one_recording_get_it_once(void)
{
    const char *path = fresh_db("review-rivals");
    store *s = open_ok(path);
    add_device(s, "clinic-07", "马庄乡卫生院");
    int64_t id = recording(s, "clinic-07", "stemi", "P-1", now_ms() - 1000, 0);
    static rival r[CLAIMERS];
    pthread_t t[CLAIMERS];
    pthread_barrier_t start;
    CHECK(pthread_barrier_init(&start, NULL, CLAIMERS) == 0, "barrier");
    for (int i = 0; i < CLAIMERS; i++) {
        char name[16];
        snprintf(name, sizeof name, "dr%d", i);
        add_user(s, name, "cardiologist", NULL, PW_CARDIO);
        r[i] = (rival){.path = path, .start = &start, .id = id, .rc = 99};
        CHECK(store_user_get(s, name, &r[i].user, errbuf, sizeof errbuf) == STORE_OK, "user %s", name);
    }
    for (int i = 0; i < CLAIMERS; i++) CHECK(pthread_create(&t[i], NULL, claim_one, &r[i]) == 0, "thread %d", i);
    for (int i = 0; i < CLAIMERS; i++) pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    int won = 0, busy = 0;
    for (int i = 0; i < CLAIMERS; i++) {
        won += r[i].rc == STORE_OK;
        busy += r[i].rc == STORE_EBUSY;
    }
    CHECK(won == 1 && busy == CLAIMERS - 1, "one claim wins, the others are told it is taken: %d won, %d busy", won, busy);
    store_close(s);
}

static void claim_next_takes_the_most_urgent_then_oldest(void)
{
    world w = make_world("review-next");
    store *s = w.s;
    int64_t t = now_ms() - 100000;
    int64_t routine_old = recording(s, "clinic-07", "routine-old", "", t, 2);
    int64_t none = recording(s, "ah-02", "none", "", t - 5000, 3);
    int64_t critical_new = recording(s, "ah-02", "critical-new", "", t + 2000, 0);
    int64_t critical_old = recording(s, "clinic-07", "critical-old", "", t + 1000, 0);
    store_review_item *items;
    size_t n;
    CHECK(store_worklist(s, &w.li, NULL, &items, &n, errbuf, sizeof errbuf) == STORE_OK && n == 4, "all four");
    CHECK(n == 4 && items[0].rec.id == critical_old && items[1].rec.id == critical_new && items[2].rec.id == routine_old &&
              items[3].rec.id == none, "priority, then oldest first");
    free(items);
    store_worklist_filter f = {.max_priority = -1, .since_ms = t, .until_ms = t + 2000};
    CHECK(store_worklist(s, &w.li, &f, &items, &n, errbuf, sizeof errbuf) == STORE_OK && n == 2 &&
              items[0].rec.id == critical_old && items[1].rec.id == routine_old, "since (inclusive) .. until (exclusive)");
    free(items);
    f = (store_worklist_filter){.max_priority = 0, .site = "county"};
    CHECK(store_worklist(s, &w.li, &f, &items, &n, errbuf, sizeof errbuf) == STORE_OK && n == 1 &&
              items[0].rec.id == critical_new, "priority and site");
    free(items);
    f = (store_worklist_filter){.max_priority = -1, .limit = 1};
    CHECK(store_worklist(s, &w.li, &f, &items, &n, errbuf, sizeof errbuf) == STORE_OK && n == 1, "limit");
    free(items);
    f = (store_worklist_filter){.max_priority = 7};
    CHECK(store_worklist(s, &w.li, &f, &items, &n, errbuf, sizeof errbuf) == STORE_EINVAL, "bad priority");
    f = (store_worklist_filter){.max_priority = -1, .review = "done"};
    CHECK(store_worklist(s, &w.li, &f, &items, &n, errbuf, sizeof errbuf) == STORE_EINVAL, "bad review state");

    store_review_item it;
    int64_t order[4] = {critical_old, critical_new, routine_old, none};
    for (int i = 0; i < 4; i++) {
        CHECK(store_claim_next(s, i % 2 ? &w.li : &w.wang, NULL, &it, errbuf, sizeof errbuf) == STORE_OK &&
                  it.rec.id == order[i], "claim_next %d gets %lld: %s", i, (long long)order[i], errbuf);
    }
    int rc = store_claim_next(s, &w.wang, NULL, &it, errbuf, sizeof errbuf);
    CHECK(rc == STORE_ENOTFOUND && strstr(errbuf, "nothing left"), "then nothing: %d %s", rc, errbuf);
    CHECK(store_claim_next(s, &w.clinic, NULL, &it, errbuf, sizeof errbuf) == STORE_EDENIED, "clinics do not claim");
    store_close(s);
}

/* ---- The clinic's view ----------------------------------------------------------------------- */

static void a_clinic_sees_only_its_own_site(void)
{
    world w = make_world("review-clinic");
    store *s = w.s;
    int64_t t = now_ms() - 100000;
    int64_t mine = recording(s, "clinic-07", "mine", "P-9", t, 1);
    int64_t theirs = recording(s, "ah-02", "theirs", "P-9", t + 1000, 0);
    int64_t again = recording(s, "clinic-07", "again", "P-9", t + 2000, 2);
    store_review_item *items;
    size_t n;
    CHECK(store_worklist(s, &w.clinic, NULL, &items, &n, errbuf, sizeof errbuf) == STORE_OK && n == 2, "worklist: %zu", n);
    int only_mine = 1;
    for (size_t i = 0; i < n; i++) only_mine &= !strcmp(items[i].rec.site, "马庄乡卫生院");
    CHECK(only_mine, "only its own site's recordings");
    free(items);
    store_worklist_filter f = {.max_priority = -1, .site = "county"};
    CHECK(store_worklist(s, &w.clinic, &f, &items, &n, errbuf, sizeof errbuf) == STORE_EDENIED, "asking for another site");
    f.site = "马庄乡卫生院";
    CHECK(store_worklist(s, &w.clinic, &f, &items, &n, errbuf, sizeof errbuf) == STORE_OK && n == 2, "its own, named");
    free(items);
    CHECK(store_worklist(s, &w.admin, NULL, &items, &n, errbuf, sizeof errbuf) == STORE_OK && n == 3, "an admin sees all");
    free(items);

    store_review_item it;
    store_report r;
    CHECK(store_review_get(s, &w.clinic, mine, &it, errbuf, sizeof errbuf) == STORE_OK, "get its own");
    CHECK(store_review_get(s, &w.clinic, theirs, &it, errbuf, sizeof errbuf) == STORE_EDENIED, "get another site's");
    CHECK(store_review_get(s, &w.clinic, 999, &it, errbuf, sizeof errbuf) == STORE_ENOTFOUND, "get nothing");
    CHECK(store_report_get(s, &w.clinic, theirs, &r, errbuf, sizeof errbuf) == STORE_EDENIED, "another's report");
    store_report *h;
    CHECK(store_report_history(s, &w.clinic, theirs, &h, &n, errbuf, sizeof errbuf) == STORE_EDENIED, "another's history");
    CHECK(store_recording_opened(s, &w.clinic, theirs, errbuf, sizeof errbuf) == STORE_EDENIED, "open another's");

    /* Drafts stay in the county hospital; the signed report and a repeat's reason reach the clinic. */
    CHECK(store_recording_opened(s, &w.clinic, mine, errbuf, sizeof errbuf) == STORE_OK, "the clinic opens its own");
    CHECK(store_claim(s, &w.wang, mine, errbuf, sizeof errbuf) == STORE_OK, "claim");
    CHECK(store_report_save(s, &w.wang, mine, STATEMENTS, 1, "draft", errbuf, sizeof errbuf) == STORE_OK, "draft");
    CHECK(store_report_get(s, &w.clinic, mine, &r, errbuf, sizeof errbuf) == STORE_ENOTFOUND, "no draft for the clinic");
    CHECK(store_report_history(s, &w.clinic, mine, &h, &n, errbuf, sizeof errbuf) == STORE_OK && n == 0, "nor in history");
    free(h);
    CHECK(store_report_get(s, &w.admin, mine, &r, errbuf, sizeof errbuf) == STORE_OK && !r.is_signed, "admins see drafts");
    CHECK(store_report_sign(s, &w.wang, mine, PW_WANG, errbuf, sizeof errbuf) == STORE_OK, "sign");
    CHECK(store_report_get(s, &w.clinic, mine, &r, errbuf, sizeof errbuf) == STORE_OK && r.is_signed &&
              !strcmp(r.signer, "wang"), "the clinic reads the signed report");
    CHECK(store_claim(s, &w.li, again, errbuf, sizeof errbuf) == STORE_OK, "claim");
    CHECK(store_request_repeat(s, &w.li, again, "基线漂移严重，请重做", errbuf, sizeof errbuf) == STORE_OK, "repeat");
    f = (store_worklist_filter){.max_priority = -1, .review = "repeat"};
    CHECK(store_worklist(s, &w.clinic, &f, &items, &n, errbuf, sizeof errbuf) == STORE_OK && n == 1 &&
              items[0].rec.id == again && !strcmp(items[0].repeat_reason, "基线漂移严重，请重做"),
          "the clinic sees what to repeat, and why");
    free(items);

    store_times t2;
    CHECK(store_timeline(s, mine, &t2, errbuf, sizeof errbuf) == STORE_OK && t2.first_opened_ms == 0,
          "the clinic's opening is not the cardiologist's first reading");
    store_audit_entry *a;
    CHECK(store_audit_list(s, mine, &a, &n, errbuf, sizeof errbuf) == STORE_OK &&
              has_action(a, n, "user:mazhuang", "recording.open"), "but it is audited");
    free(a);

    /* A patient's earlier recordings: all sites for the county, its own for the clinic. */
    CHECK(store_patient_history(s, &w.wang, "P-9", again, 0, &items, &n, errbuf, sizeof errbuf) == STORE_OK && n == 2 &&
              items[0].rec.id == theirs && items[1].rec.id == mine, "newest first, without the current one");
    free(items);
    CHECK(store_patient_history(s, &w.clinic, "P-9", 0, 0, &items, &n, errbuf, sizeof errbuf) == STORE_OK && n == 2 &&
              items[0].rec.id == again && items[1].rec.id == mine, "the clinic: its own site only");
    free(items);
    CHECK(store_patient_history(s, &w.wang, "P-9", 0, 1, &items, &n, errbuf, sizeof errbuf) == STORE_OK && n == 1 &&
              items[0].rec.id == again, "at most MAX");
    free(items);
    CHECK(store_patient_history(s, &w.wang, "", 0, 0, &items, &n, errbuf, sizeof errbuf) == STORE_EINVAL, "no patient id");
    CHECK(store_patient_history(s, &w.wang, "P-0", 0, 0, &items, &n, errbuf, sizeof errbuf) == STORE_OK && n == 0 && !items,
          "an unknown patient has none");

    store_user forged = w.clinic;
    snprintf(forged.site, sizeof forged.site, "county");
    snprintf(forged.role, sizeof forged.role, "cardiologist");
    CHECK(store_review_get(s, &forged, theirs, &it, errbuf, sizeof errbuf) == STORE_EDENIED,
          "the role and site come from the database, not from the caller's copy");
    store_close(s);
}

/* ---- Signed reports -------------------------------------------------------------------------- */

static void a_signed_report_is_immutable_and_amended_by_new_versions(void)
{
    world w = make_world("review-amend");
    store *s = w.s;
    int64_t id = recording(s, "clinic-07", "x", "P-1", now_ms() - 10000, 0);
    CHECK(store_claim(s, &w.wang, id, errbuf, sizeof errbuf) == STORE_OK, "claim");
    CHECK(store_report_save(s, &w.wang, id, STATEMENTS, 2, "v1 text", errbuf, sizeof errbuf) == STORE_OK, "draft");
    CHECK(raw_sql(w.path, "UPDATE report SET text = 'a draft can change'") == SQLITE_OK, "a draft is not frozen");
    CHECK(store_report_sign(s, &w.wang, id, PW_WANG, errbuf, sizeof errbuf) == STORE_OK, "sign");
    CHECK(raw_sql(w.path, "UPDATE report SET text = 'tampered'") == SQLITE_CONSTRAINT, "UPDATE of a signed row refused");
    CHECK(raw_sql(w.path, "UPDATE report SET signed_ms = NULL, signer_id = NULL") == SQLITE_CONSTRAINT,
          "so is unsigning it");
    CHECK(raw_sql(w.path, "DELETE FROM report") == SQLITE_CONSTRAINT, "DELETE refused");
    CHECK(raw_count(w.path, "SELECT count(*) FROM report WHERE text = 'a draft can change' AND signed_ms > 0") == 1,
          "the signed row is as signed");

    const char *v2[] = {"前壁心肌梗死"};
    int rc = store_report_amend(s, &w.li, id, v2, 1, "v2: corrected", "wrong password!", errbuf, sizeof errbuf);
    CHECK(rc == STORE_EAUTH, "an amendment asks for the password too: %d", rc);
    CHECK(store_report_amend(s, &w.li, id, v2, 1, "v2: corrected", PW_CARDIO, errbuf, sizeof errbuf) == STORE_OK,
          "li amends: %s", errbuf);
    CHECK(store_report_amend(s, &w.wang, id, STATEMENTS, 3, "v3", PW_WANG, errbuf, sizeof errbuf) == STORE_OK,
          "wang amends again: %s", errbuf);
    CHECK(store_report_amend(s, &w.clinic, id, STATEMENTS, 3, "v4", PW_CLINIC, errbuf, sizeof errbuf) == STORE_EDENIED,
          "clinics do not amend");
    store_report *h;
    size_t n;
    CHECK(store_report_history(s, &w.clinic, id, &h, &n, errbuf, sizeof errbuf) == STORE_OK && n == 3, "3 versions: %zu", n);
    if (n == 3) {
        CHECK(h[0].version == 1 && h[1].version == 2 && h[2].version == 3, "in order");
        CHECK(h[0].is_signed && h[1].is_signed && h[2].is_signed, "all signed");
        CHECK(!strcmp(h[0].signer, "wang") && !strcmp(h[1].signer, "li") && !strcmp(h[2].signer, "wang"), "signers");
        CHECK(h[0].amends == 0 && h[1].amends == 1 && h[2].amends == 2, "each amends the one before");
        CHECK(!strcmp(h[0].text, "a draft can change") && !strcmp(h[1].text, "v2: corrected") &&
                  h[1].nstatements == 1 && !strcmp(h[1].statements[0], "前壁心肌梗死"), "contents kept");
        CHECK(h[1].signed_ms >= h[0].signed_ms && h[2].signed_ms >= h[1].signed_ms, "times");
    }
    store_report r;
    CHECK(store_report_get(s, &w.clinic, id, &r, errbuf, sizeof errbuf) == STORE_OK && r.version == 3, "current: v3");
    store_times t;
    CHECK(store_timeline(s, id, &t, errbuf, sizeof errbuf) == STORE_OK && n == 3 && t.signed_ms == h[0].signed_ms &&
              t.last_amended_ms == h[2].signed_ms && !strcmp(t.signed_by, "wang"),
          "the diagnosis time is the first signature; amendments are noted apart");
    free(h);
    store_audit_entry *a;
    CHECK(store_audit_list(s, id, &a, &n, errbuf, sizeof errbuf) == STORE_OK && has_action(a, n, "user:li", "report.amend") &&
              has_action(a, n, "user:wang", "report.amend"), "amendments audited");
    free(a);
    store_close(s);
}

static void the_signing_password_is_rate_limited_too(void)
{
    world w = make_world("review-signlimit");
    store *s = w.s;
    CHECK(store_set_login_limit(s, 2, 60000) == STORE_OK, "2 failures");
    int64_t id = recording(s, "clinic-07", "x", "P-1", now_ms() - 10000, 0);
    CHECK(store_claim(s, &w.wang, id, errbuf, sizeof errbuf) == STORE_OK, "claim");
    CHECK(store_report_save(s, &w.wang, id, STATEMENTS, 1, "", errbuf, sizeof errbuf) == STORE_OK, "draft");
    CHECK(store_report_sign(s, &w.wang, id, "not my password", errbuf, sizeof errbuf) == STORE_EAUTH, "wrong 1");
    CHECK(store_report_sign(s, &w.wang, id, "not my password", errbuf, sizeof errbuf) == STORE_EAUTH, "wrong 2");
    int rc = store_report_sign(s, &w.wang, id, PW_WANG, errbuf, sizeof errbuf);
    CHECK(rc == STORE_ELIMITED, "then refused even when right: %d %s", rc, errbuf);
    CHECK(store_user_verify_password(s, w.wang.id, PW_WANG, errbuf, sizeof errbuf) == STORE_ELIMITED, "re-auth limited");
    store_review_item it;
    CHECK(store_review_get(s, &w.wang, id, &it, errbuf, sizeof errbuf) == STORE_OK && !strcmp(it.rec.review, "reported"),
          "not signed");
    store_audit_entry *a;
    size_t n;
    CHECK(store_audit_list(s, 0, &a, &n, errbuf, sizeof errbuf) == STORE_OK && has_action(a, n, "user:wang", "user.reauth_failed"),
          "failed re-authentications audited");
    free(a);
    store_close(s);
}

/* ---- Upgrading a v1 database ----------------------------------------------------------------- */

/* A database written by ecgnet's schema version 1 (git a2fc71a's store: `store_device_add` x2,
 * three recordings of patient P-001, a VT flag on r2), dumped with sqlite3 .dump. */
static const char v1_dump[] =
    "PRAGMA application_id = 1162037070;\n"
    "PRAGMA foreign_keys=OFF;\n"
    "BEGIN TRANSACTION;\n"
    "CREATE TABLE schema_version (\n"
    "  version INTEGER PRIMARY KEY,\n"
    "  applied_ms INTEGER NOT NULL,\n"
    "  description TEXT NOT NULL\n"
    ");\n"
    "INSERT INTO schema_version VALUES(1,1795435276148,'sites, devices, recordings, flags, audit trail');\n"
    "CREATE TABLE site (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL UNIQUE,\n"
    "  created_ms INTEGER NOT NULL\n"
    ");\n"
    "INSERT INTO site VALUES(1,'马庄乡卫生院',1795435276149);\n"
    "INSERT INTO site VALUES(2,'county-hospital',1795435276149);\n"
    "CREATE TABLE device (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL UNIQUE,\n"
    "  site_id INTEGER NOT NULL REFERENCES site (id),\n"
    "  token_hash BLOB NOT NULL CHECK (length(token_hash) = 32),\n"
    "  created_ms INTEGER NOT NULL,\n"
    "  revoked_ms INTEGER,\n"
    "  last_seen_ms INTEGER\n"
    ");\n"
    "INSERT INTO device VALUES(1,'clinic-07',1,X'd635d90506bbe1a031750e901b259a5d48c30afb5c37c05a93b06995bd1f78da',1795435276149,NULL,NULL);\n"
    "INSERT INTO device VALUES(2,'ah-02',2,X'd9fba05d9348acfe3659bf2cf8e123436e1149ec050c56931948493a9e095b1b',1795435276149,NULL,NULL);\n"
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
    "INSERT INTO recording VALUES(1,1,'r1',1,'P-001','resting',500.0,12,'/data/journal/clinic-07/r1.ecgj','','complete','new',3,1700000000000,1795435276151,5000,'{\"hr\":72}');\n"
    "INSERT INTO recording VALUES(2,1,'r2',1,'P-001','resting',500.0,12,'/data/journal/clinic-07/r2.ecgj','','complete','new',0,1700000060000,1795435276152,5000,'{\"hr\":72}');\n"
    "INSERT INTO recording VALUES(3,2,'r3',2,'P-001','resting',500.0,12,'/data/journal/ah-02/r3.ecgj','','complete','new',3,1700000120000,1795435276154,5000,'{\"hr\":72}');\n"
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
    "INSERT INTO flag VALUES(1,2,'VT',0,100,900,'室性心动过速','ventricular tachycardia',1700000100000);\n"
    "CREATE TABLE audit (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  time_ms INTEGER NOT NULL,\n"
    "  actor TEXT NOT NULL,\n"
    "  action TEXT NOT NULL,\n"
    "  recording_id INTEGER,\n"
    "  detail TEXT NOT NULL DEFAULT ''\n"
    ");\n"
    "INSERT INTO audit VALUES(1,1795435276149,'cli','device.add',NULL,'device clinic-07 at site 马庄乡卫生院');\n"
    "INSERT INTO audit VALUES(2,1795435276149,'cli','device.add',NULL,'device ah-02 at site county-hospital');\n"
    "INSERT INTO audit VALUES(3,1795435276151,'device:clinic-07','recording.begin',1,'recording r1, resting, 500 Hz, 12 leads');\n"
    "INSERT INTO audit VALUES(4,1795435276151,'server','recording.finish',1,'complete, 5000 samples');\n"
    "INSERT INTO audit VALUES(5,1795435276152,'device:clinic-07','recording.begin',2,'recording r2, resting, 500 Hz, 12 leads');\n"
    "INSERT INTO audit VALUES(6,1795435276152,'server','recording.finish',2,'complete, 5000 samples');\n"
    "INSERT INTO audit VALUES(7,1795435276153,'server','flag.add',2,'VT, priority 0, samples 100..900');\n"
    "INSERT INTO audit VALUES(8,1795435276153,'device:ah-02','recording.begin',3,'recording r3, resting, 500 Hz, 12 leads');\n"
    "INSERT INTO audit VALUES(9,1795435276154,'server','recording.finish',3,'complete, 5000 samples');\n"
    "CREATE INDEX recording_queue ON recording (priority, received_ms);\n"
    "CREATE INDEX recording_receiving ON recording (received_ms) WHERE state = 'receiving';\n"
    "CREATE INDEX recording_site ON recording (site_id, priority, received_ms);\n"
    "CREATE INDEX audit_recording ON audit (recording_id) WHERE recording_id IS NOT NULL;\n"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit\n"
    "  BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;\n"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit\n"
    "  BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;\n"
    "COMMIT;\n";

static void a_v1_database_is_upgraded_in_place(void)
{
    const char *path = fresh_db("review-migrate");
    CHECK(raw_sql(path, v1_dump) == SQLITE_OK, "restore the v1 database");
    CHECK(raw_count(path, "SELECT max(version) FROM schema_version") == 1, "it is version 1");
    store *s = open_ok(path);
    CHECK(raw_count(path, "SELECT count(*) FROM schema_version") == STORE_SCHEMA_VERSION &&
              raw_count(path, "SELECT max(version) FROM schema_version") == STORE_SCHEMA_VERSION,
          "upgraded to the latest version by store_open");
    CHECK(raw_count(path, "SELECT count(*) FROM recording") == 3 && raw_count(path, "SELECT count(*) FROM flag") == 1 &&
              raw_count(path, "SELECT count(*) FROM audit") == 9, "its data kept");
    CHECK(raw_count(path, "PRAGMA foreign_key_check") == -1, "foreign keys consistent");
    store_recording r;
    CHECK(store_recording_find(s, "clinic-07", "r2", &r, errbuf, sizeof errbuf) == STORE_OK && r.priority == 0 &&
              !strcmp(r.review, "new") && !strcmp(r.site, "马庄乡卫生院"), "a v1 recording reads back");

    add_user(s, "wang", "cardiologist", NULL, PW_WANG);
    add_user(s, "mazhuang", "clinic", "马庄乡卫生院", PW_CLINIC);
    store_user wang = login(s, "wang", PW_WANG), clinic = login(s, "mazhuang", PW_CLINIC);
    store_review_item *items;
    size_t n;
    CHECK(store_worklist(s, &wang, NULL, &items, &n, errbuf, sizeof errbuf) == STORE_OK && n == 3 &&
              items[0].rec.id == r.id && items[0].opened_ms == 0 && items[0].repeat_reason[0] == '\0',
          "the v1 recordings are in the worklist, the flagged one first");
    free(items);
    CHECK(store_worklist(s, &clinic, NULL, &items, &n, errbuf, sizeof errbuf) == STORE_OK && n == 2, "the clinic's two");
    free(items);
    CHECK(store_claim(s, &wang, r.id, errbuf, sizeof errbuf) == STORE_OK, "claim a v1 recording: %s", errbuf);
    CHECK(store_report_save(s, &wang, r.id, STATEMENTS, 3, "VT", errbuf, sizeof errbuf) == STORE_OK, "report");
    CHECK(store_report_sign(s, &wang, r.id, PW_WANG, errbuf, sizeof errbuf) == STORE_OK, "sign: %s", errbuf);
    CHECK(store_patient_history(s, &wang, "P-001", r.id, 0, &items, &n, errbuf, sizeof errbuf) == STORE_OK && n == 2,
          "the patient's other v1 recordings");
    free(items);
    store_close(s);
    s = open_ok(path);
    CHECK(raw_count(path, "SELECT count(*) FROM schema_version") == STORE_SCHEMA_VERSION, "reopening migrates nothing more");
    store_close(s);
}

/* ---- `ecgnet user` ---------------------------------------------------------------------------- */

static int run(const char *cmd, char **out, char *err, size_t errlen)
{
    return check_run("review-cli-run", cmd, out, err, errlen);
}

static void the_user_command_adds_changes_disables_and_lists(void)
{
    const char *base = check_tmpdir("review-cli");
    char data[1200], db[1300], cmd[3000], err[4096], *out;
    snprintf(data, sizeof data, "%s/ecgnet-data", base);
    snprintf(db, sizeof db, "%s/ecgnet.db", data);
    snprintf(cmd, sizeof cmd, "%s device add clinic-07 --site '马庄乡卫生院' --data '%s' >/dev/null", ECGNET, data);
    CHECK(run(cmd, NULL, err, sizeof err) == 0, "a device and its site: %s", err);

    snprintf(cmd, sizeof cmd, "printf '%%s\\n' '%s' | %s user add wang --role cardiologist --data '%s'", PW_WANG, ECGNET,
             data);
    int rc = run(cmd, &out, err, sizeof err);
    CHECK(rc == 0 && strstr(out, "wang"), "add wang, password from a pipe: exit %d: %s %s", rc, out, err);
    CHECK(!strstr(out, PW_WANG) && !strstr(err, PW_WANG), "the password is never echoed");
    free(out);
    snprintf(cmd, sizeof cmd, "printf '%%s\\r\\n' '%s' | %s user add mazhuang --role clinic --site '马庄乡卫生院' --data '%s'",
             PW_CLINIC, ECGNET, data);
    CHECK(run(cmd, NULL, err, sizeof err) == 0, "add a clinic user (CRLF line): %s", err);

    store *s = store_open(db, err, sizeof err);
    CHECK(s != NULL, "open: %s", err);
    if (s) {
        char token[STORE_SESSION_CHARS + 1], csrf[STORE_SESSION_CHARS + 1];
        store_user u;
        CHECK(store_login(s, "wang", PW_WANG, "", token, csrf, &u, NULL, err, sizeof err) == STORE_OK &&
                  !strcmp(u.role, "cardiologist"), "the piped password logs in: %s", err);
        CHECK(store_login(s, "mazhuang", PW_CLINIC, "", token, csrf, &u, NULL, err, sizeof err) == STORE_OK &&
                  !strcmp(u.site, "马庄乡卫生院"), "the clinic user too: %s", err);
        store_close(s);
    }

    snprintf(cmd, sizeof cmd, "printf 'a brand new password\\n' | %s user passwd wang --data '%s'", ECGNET, data);
    CHECK(run(cmd, &out, err, sizeof err) == 0, "passwd: %s", err);
    free(out);
    snprintf(cmd, sizeof cmd, "%s user disable mazhuang --data '%s'", ECGNET, data);
    CHECK(run(cmd, &out, err, sizeof err) == 0 && strstr(out, "disabled"), "disable: %s", err);
    free(out);
    CHECK(run(cmd, &out, err, sizeof err) == 0 && strstr(out, "already disabled"), "disable again: %s", out);
    free(out);
    s = store_open(db, err, sizeof err);
    if (s) {
        char token[STORE_SESSION_CHARS + 1], csrf[STORE_SESSION_CHARS + 1];
        CHECK(store_login(s, "wang", PW_WANG, "", token, csrf, NULL, NULL, err, sizeof err) == STORE_EAUTH, "old password");
        CHECK(store_login(s, "wang", "a brand new password", "", token, csrf, NULL, NULL, err, sizeof err) == STORE_OK,
              "new password: %s", err);
        CHECK(store_login(s, "mazhuang", PW_CLINIC, "", token, csrf, NULL, NULL, err, sizeof err) == STORE_EAUTH,
              "disabled");
        store_close(s);
    }

    snprintf(cmd, sizeof cmd, "%s user list --store '%s'", ECGNET, db);
    CHECK(run(cmd, &out, err, sizeof err) == 0, "list: %s", err);
    CHECK(strstr(out, "NAME") && strstr(out, "ROLE") && strstr(out, "DISABLED") && strstr(out, "SITE"), "headings: %s", out);
    const char *m = strstr(out, "mazhuang"), *wg = strstr(out, "wang");
    CHECK(m && wg && m < wg, "both, by name: %s", out);
    char f[7][128] = {{0}};
    int nf = m ? sscanf(m, "%127s %127s %127s %127s %127s %127s %127s", f[0], f[1], f[2], f[3], f[4], f[5], f[6]) : 0;
    CHECK(nf == 7 && !strcmp(f[1], "clinic") && strlen(f[2]) == 10 && strlen(f[4]) == 10 && !strcmp(f[6], "马庄乡卫生院"),
          "mazhuang: clinic, created, disabled (dates), site: %s", out);
    nf = wg ? sscanf(wg, "%127s %127s %127s %127s %127s %127s", f[0], f[1], f[2], f[3], f[4], f[5]) : 0;
    CHECK(nf == 6 && !strcmp(f[1], "cardiologist") && !strcmp(f[4], "-") && !strcmp(f[5], "-"),
          "wang: not disabled, no site: %s", out);
    CHECK(!strstr(out, "argon2"), "no hashes shown");
    free(out);

    struct { const char *args, *stdin_text, *msg; int code; } bad[] = {
        {"", "", "no subcommand", 2},
        {"frob", "", "unknown subcommand", 2},
        {"add", "", "needs a user NAME", 2},
        {"add x", PW_CARDIO, "--role", 2},
        {"add x --role nurse", PW_CARDIO, "role", 2},
        {"add x --role clinic", PW_CARDIO, "site", 2},
        {"add x --role cardiologist", "too short", "too short", 2},
        {"add x --role cardiologist --password secret123456", PW_CARDIO, "--password", 2},
        {"add x --role cardiologist", "", "no password", 2},
        {"add wang --role admin", PW_CARDIO, "already exists", 1},
        {"add x --role clinic --site nowhere", PW_CARDIO, "no site", 1},
        {"passwd nobody", PW_CARDIO, "nobody", 1},
        {"disable nobody", "", "nobody", 1},
        {"list extra", "", "no user NAME", 2},
        {"list --role admin", "", "--role", 2},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(cmd, sizeof cmd, "printf '%%s\\n' '%s' | %s user %s --data '%s'", bad[i].stdin_text, ECGNET, bad[i].args,
                 data);
        rc = run(cmd, NULL, err, sizeof err);
        CHECK(rc == bad[i].code && strstr(err, bad[i].msg), "'%s': exit %d: %.300s", bad[i].args, rc, err);
    }
    CHECK(run(ECGNET " user --help", &out, err, sizeof err) == 0 && strstr(out, "usage:") && strstr(out, "stdin"),
          "--help");
    free(out);
    CHECK(run(ECGNET " --help", &out, err, sizeof err) == 0 && strstr(out, "user add"), "listed in ecgnet --help");
    free(out);
}

/* ---- Critical values (危急值) ----------------------------------------------------------------- */

static void a_critical_value_is_confirmed_told_to_the_clinic_and_acknowledged(void)
{
    world w = make_world("review-critical");
    store *s = w.s;
    int64_t t0 = now_ms();
    int64_t vt = recording(s, "clinic-07", "vt", "P-1", t0 - 60000, 0);
    int64_t other = recording(s, "ah-02", "other", "P-2", t0 - 50000, 0);
    store_critical c;
    int rc = store_critical_confirm(s, &w.wang, vt, "室性心动过速 VT 180/min", "护士 张丽 (N0231)", 0, &c, errbuf,
                                    sizeof errbuf);
    CHECK(rc == STORE_OK, "wang confirms it: %d %s", rc, errbuf);
    CHECK(c.recording == vt && !strcmp(c.confirmed_by, "wang") && !strcmp(c.notified, "护士 张丽 (N0231)") &&
              c.notified_ms >= t0 && c.confirmed_ms >= t0 && !c.acked_ms && !c.escalated_ms &&
              c.due_ms == c.confirmed_ms + STORE_CRITICAL_ACK_TIMEOUT_MS && !strcmp(c.site, "马庄乡卫生院"),
          "the notice says who told whom, when, and when it is due");
    rc = store_critical_confirm(s, &w.li, vt, "VT", "someone", 0, NULL, errbuf, sizeof errbuf);
    CHECK(rc == STORE_EEXIST && strstr(errbuf, "wang"), "one notice per recording: %d %s", rc, errbuf);

    /* Only cardiologists confirm; whom they told must be named; no notices from the future. */
    rc = store_critical_confirm(s, &w.clinic, vt, "VT", "x", 0, NULL, errbuf, sizeof errbuf);
    CHECK(rc == STORE_EDENIED, "a clinic user cannot confirm: %d", rc);
    rc = store_critical_confirm(s, &w.admin, other, "VT", "x", 0, NULL, errbuf, sizeof errbuf);
    CHECK(rc == STORE_EDENIED, "nor an admin: %d", rc);
    rc = store_critical_confirm(s, &w.wang, other, "VT", "", 0, NULL, errbuf, sizeof errbuf);
    CHECK(rc == STORE_EINVAL && strstr(errbuf, "named"), "nobody told: %d %s", rc, errbuf);
    rc = store_critical_confirm(s, &w.wang, other, "", "x", 0, NULL, errbuf, sizeof errbuf);
    CHECK(rc == STORE_EINVAL, "no finding: %d", rc);
    rc = store_critical_confirm(s, &w.wang, other, "VT", "x", t0 + 3600000, NULL, errbuf, sizeof errbuf);
    CHECK(rc == STORE_EINVAL && strstr(errbuf, "future"), "told in an hour: %d %s", rc, errbuf);
    rc = store_critical_confirm(s, &w.wang, 999999, "VT", "x", 0, NULL, errbuf, sizeof errbuf);
    CHECK(rc == STORE_ENOTFOUND, "no such recording: %d", rc);

    /* The clinic sees its own notice, not others'; it acknowledges once. */
    rc = store_critical_confirm(s, &w.li, other, "心室颤动 VF", "值班医生 王强", t0 - 1000, NULL, errbuf, sizeof errbuf);
    CHECK(rc == STORE_OK, "li confirms the county's: %s", errbuf);
    store_critical *list;
    size_t n;
    CHECK(store_critical_list(s, &w.clinic, 1, &list, &n, errbuf, sizeof errbuf) == STORE_OK && n == 1 &&
              list[0].recording == vt,
          "the clinic's open notices: its own only (%zu)", n);
    free(list);
    CHECK(store_critical_list(s, &w.wang, 1, &list, &n, errbuf, sizeof errbuf) == STORE_OK && n == 2 &&
              list[0].recording == vt && list[1].recording == other,
          "a cardiologist's: all, oldest first (%zu)", n);
    free(list);
    CHECK(store_critical_get(s, &w.clinic, other, &c, errbuf, sizeof errbuf) == STORE_EDENIED, "another site's");
    CHECK(store_critical_ack(s, &w.clinic, other, NULL, errbuf, sizeof errbuf) == STORE_EDENIED,
          "cannot acknowledge another site's");
    CHECK(store_critical_ack(s, &w.wang, vt, NULL, errbuf, sizeof errbuf) == STORE_EDENIED,
          "the cardiologist cannot acknowledge for the clinic");
    rc = store_critical_ack(s, &w.clinic, vt, &c, errbuf, sizeof errbuf);
    CHECK(rc == STORE_OK && !strcmp(c.acked_by, "mazhuang") && c.acked_ms >= c.confirmed_ms, "acknowledged: %d %s",
          rc, errbuf);
    rc = store_critical_ack(s, &w.clinic, vt, NULL, errbuf, sizeof errbuf);
    CHECK(rc == STORE_ESTATE && strstr(errbuf, "mazhuang"), "only once: %d %s", rc, errbuf);
    CHECK(store_critical_list(s, &w.clinic, 1, &list, &n, errbuf, sizeof errbuf) == STORE_OK && n == 0,
          "no open notice left for the clinic");
    free(list);
    CHECK(store_critical_list(s, &w.clinic, 0, &list, &n, errbuf, sizeof errbuf) == STORE_OK && n == 1, "one in all");
    free(list);
    int64_t none = recording(s, "clinic-07", "quiet", "P-3", t0, 3);
    CHECK(store_critical_ack(s, &w.clinic, none, NULL, errbuf, sizeof errbuf) == STORE_ENOTFOUND,
          "nothing to acknowledge on a recording without a notice");

    /* Audited; final in the database itself. */
    store_audit_entry *a;
    CHECK(store_audit_list(s, vt, &a, &n, errbuf, sizeof errbuf) == STORE_OK, "audit");
    int confirm = 0, ack = 0;
    for (size_t i = 0; i < n; i++) {
        confirm += !strcmp(a[i].action, "critical.confirm") && !strcmp(a[i].actor, "user:wang") &&
                   strstr(a[i].detail, "张丽");
        ack += !strcmp(a[i].action, "critical.ack") && !strcmp(a[i].actor, "user:mazhuang");
    }
    free(a);
    CHECK(confirm == 1 && ack == 1, "confirmation and acknowledgement audited: %d %d", confirm, ack);
    CHECK(raw_sql(w.path, "UPDATE critical_notice SET notified = 'nobody' WHERE acked_ms IS NOT NULL") ==
              SQLITE_CONSTRAINT,
          "an acknowledged notice is final, even by raw SQL");
    CHECK(raw_sql(w.path, "DELETE FROM critical_notice") == SQLITE_CONSTRAINT, "notices are never deleted");
    store_close(s);
}

static void an_unacknowledged_critical_value_escalates_once(void)
{
    world w = make_world("review-critical-escalate");
    store *s = w.s;
    int64_t t0 = now_ms();
    int64_t a = recording(s, "clinic-07", "a", "P-1", t0 - 60000, 0);
    int64_t b = recording(s, "clinic-07", "b", "P-2", t0 - 50000, 0);
    CHECK(store_critical_confirm(s, &w.wang, a, "VT", "N0231", 0, NULL, errbuf, sizeof errbuf) == STORE_OK, "a");
    CHECK(store_critical_confirm(s, &w.wang, b, "VF", "N0231", 0, NULL, errbuf, sizeof errbuf) == STORE_OK, "b");
    int64_t n = -1;
    CHECK(store_critical_escalate(s, &n, errbuf, sizeof errbuf) == STORE_OK && n == 0, "nothing is due yet: %lld",
          (long long)n);
    CHECK(store_set_critical_ack_timeout(s, 0) == STORE_EINVAL, "a timeout must be positive");
    CHECK(store_set_critical_ack_timeout(s, 300) == STORE_OK, "0.3 s to acknowledge");
    CHECK(store_critical_ack(s, &w.clinic, b, NULL, errbuf, sizeof errbuf) == STORE_OK, "b is acknowledged in time");
    usleep(400 * 1000);
    CHECK(store_critical_escalate(s, &n, errbuf, sizeof errbuf) == STORE_OK && n == 1, "a escalates: %lld %s",
          (long long)n, errbuf);
    CHECK(store_critical_escalate(s, &n, errbuf, sizeof errbuf) == STORE_OK && n == 0, "once only: %lld",
          (long long)n);
    store_critical c;
    CHECK(store_critical_get(s, &w.li, a, &c, errbuf, sizeof errbuf) == STORE_OK && c.escalated_ms > c.confirmed_ms &&
              c.due_ms == c.confirmed_ms + 300,
          "marked escalated");
    CHECK(store_critical_get(s, &w.li, b, &c, errbuf, sizeof errbuf) == STORE_OK && !c.escalated_ms,
          "the acknowledged one is not");
    store_critical *list;
    size_t k;
    CHECK(store_critical_list(s, &w.li, 1, &list, &k, errbuf, sizeof errbuf) == STORE_OK && k == 1 &&
              list[0].recording == a && list[0].escalated_ms,
          "every cardiologist sees it among the open ones");
    free(list);
    store_audit_entry *e;
    size_t m;
    CHECK(store_audit_list(s, a, &e, &m, errbuf, sizeof errbuf) == STORE_OK && m > 0 &&
              !strcmp(e[m - 1].action, "critical.escalate") && !strcmp(e[m - 1].actor, "server"),
          "logged in the audit trail");
    free(e);
    /* Acknowledged late: it leaves the open list. */
    CHECK(store_critical_ack(s, &w.clinic, a, NULL, errbuf, sizeof errbuf) == STORE_OK, "late acknowledgement");
    CHECK(store_critical_list(s, &w.li, 1, &list, &k, errbuf, sizeof errbuf) == STORE_OK && k == 0, "none open");
    free(list);
    store_close(s);
}

int main(void)
{
    RUN(users_have_roles_and_argon2id_password_hashes);
    RUN(login_fails_alike_for_unknown_wrong_and_disabled);
    RUN(the_login_rate_limit_kicks_in_and_lifts);
    RUN(sessions_expire_when_idle_and_use_refreshes_them);
    RUN(a_recording_goes_new_claimed_reported_signed);
    RUN(illegal_transitions_are_refused_with_their_reason);
    RUN(claims_expire_so_that_nothing_stays_stuck);
    RUN(concurrent_claimers_never_get_the_same_recording);
    RUN(rivals_for_one_recording_get_it_once);
    RUN(claim_next_takes_the_most_urgent_then_oldest);
    RUN(a_clinic_sees_only_its_own_site);
    RUN(a_signed_report_is_immutable_and_amended_by_new_versions);
    RUN(the_signing_password_is_rate_limited_too);
    RUN(a_critical_value_is_confirmed_told_to_the_clinic_and_acknowledged);
    RUN(an_unacknowledged_critical_value_escalates_once);
    if (!harness_pg()) RUN(a_v1_database_is_upgraded_in_place); /* version 1 was released for SQLite only */
    RUN(the_user_command_adds_changes_disables_and_lists);
    return check_report();
}
