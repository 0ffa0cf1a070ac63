/* test_cli_retention.c — `ecgnet retention` as an operator meets it: a dry run that lists exactly
 * the recordings due and changes nothing, --apply deleting exactly their files, a second run with
 * nothing left, thresholds below the rules refused, exit codes. */
#include "check.h"
#include "store_harness.h"

#include <sys/stat.h>
#include <unistd.h>

#define ECGNET ECGNET_BINARY_DIR "/cmd/ecgnet"
#define YEAR_MS 31557600000LL /* 365.25 days: the recordings' ages */

static char base[1024], data[1200], dbpath[1300];

static int run(const char *cmd, char **out, char *err, size_t errlen)
{
    return check_run("cli-retention-run", cmd, out, err, errlen);
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "cannot create %s", path);
    if (f) {
        fputs("ECG samples", f);
        fclose(f);
    }
}

typedef struct {
    const char *name, *patient, *encounter;
    double years;
    int receiving;
    int due;        /* by the default 15 / 30 years */
    int relative;   /* stored under a relative path (ecgnetd run with a relative --data) */
    int no_archive; /* its archive file is missing already */
    int64_t id;
    char journal[1400], archive[1400]; /* where the files are */
} rec;

static rec recs[] = {
    {"out-16y", "P-A", "outpatient", 16, 0, 1, 0, 0, 0, "", ""},
    {"out-14y", "P-B", "outpatient", 14, 0, 0, 0, 0, 0, "", ""},
    {"in-16y", "P-C", "inpatient", 16, 0, 0, 0, 0, 0, "", ""},
    {"in-31y", "P-D", "inpatient", 31, 0, 1, 1, 0, 0, "", ""},
    {"receiving-40y", "P-E", "outpatient", 40, 1, 0, 0, 0, 0, "", ""},
    {"out-20y-no-archive", "", "", 20, 0, 1, 0, 1, 0, "", ""},
};
#define NRECS (sizeof recs / sizeof recs[0])

/* A data directory as ecgnetd leaves it: the store, journals and archives of RECS. */
static void make_data(void)
{
    snprintf(base, sizeof base, "%s", check_tmpdir("cli-retention"));
    snprintf(data, sizeof data, "%s/ecgnet-data", base);
    snprintf(dbpath, sizeof dbpath, "%s/ecgnet.db", data);
    char dirs[4000];
    snprintf(dirs, sizeof dirs, "mkdir -p '%s/journal/dev-1' '%s/archive/dev-1'", data, data);
    CHECK(system(dirs) == 0, "mkdir");
    store *s = open_ok(dbpath);
    char token[STORE_TOKEN_CHARS + 1];
    CHECK(store_device_add(s, "dev-1", "桥头镇卫生院", token, errbuf, sizeof errbuf) == STORE_OK, "%s", errbuf);
    int64_t now = now_ms();
    for (size_t i = 0; i < NRECS; i++) {
        rec *x = &recs[i];
        store_recording r;
        memset(&r, 0, sizeof r);
        snprintf(r.device, sizeof r.device, "dev-1");
        snprintf(r.recording, sizeof r.recording, "%s", x->name);
        snprintf(r.patient_id, sizeof r.patient_id, "%s", x->patient);
        snprintf(r.mode, sizeof r.mode, "resting");
        snprintf(r.encounter, sizeof r.encounter, "%s", x->encounter);
        r.fs = 500;
        r.nleads = 2;
        r.received_ms = now - (int64_t)(x->years * (double)YEAR_MS);
        snprintf(x->journal, sizeof x->journal, "%s/journal/dev-1/%s.ej", data, x->name);
        snprintf(x->archive, sizeof x->archive, "%s/archive/dev-1/%s.edf", data, x->name);
        char archive[1400];
        if (x->relative) { /* as ecgnetd --data ./ecgnet-data writes them */
            snprintf(r.journal, sizeof r.journal, "./ecgnet-data/journal/dev-1/%s.ej", x->name);
            snprintf(archive, sizeof archive, "./ecgnet-data/archive/dev-1/%s.edf", x->name);
        } else {
            snprintf(r.journal, sizeof r.journal, "%s", x->journal);
            snprintf(archive, sizeof archive, "%s", x->archive);
        }
        int existed;
        CHECK(store_recording_begin(s, &r, &x->id, &existed, errbuf, sizeof errbuf) == STORE_OK, "%s", errbuf);
        if (!x->receiving)
            CHECK(store_recording_finish(s, x->id, "complete", 1000, archive, NULL, errbuf, sizeof errbuf) == STORE_OK,
                  "%s", errbuf);
        touch(x->journal);
        if (!x->no_archive) touch(x->archive);
    }
    store_close(s);
}

static int64_t purged_ms(int64_t id)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT COALESCE(purged_ms, 0) FROM recording WHERE id = %lld", (long long)id);
    return raw_count(dbpath, sql);
}

/* The listing's rows: each due recording appears with its id and class, the others not at all. */
static void check_listed_exactly_the_due(const char *out, const char *what)
{
    for (size_t i = 0; i < NRECS; i++) {
        char name[200];
        snprintf(name, sizeof name, "dev-1/%s ", recs[i].name);
        const char *row = strstr(out, name);
        CHECK(recs[i].due ? row != NULL : row == NULL, "%s: %s %s listed: %s", what, recs[i].name,
              recs[i].due ? "not" : "wrongly", out);
    }
    CHECK(strstr(out, "in-31y.ej") && strstr(out, "out-16y.edf") && strstr(out, "P-D") && strstr(out, "inpatient"),
          "%s: with files, patient and class: %s", what, out);
}

static void a_dry_run_lists_exactly_the_due_recordings_and_changes_nothing(void)
{
    char cmd[3000], err[4096], *out;
    int64_t audits = raw_count(dbpath, "SELECT count(*) FROM audit");
    snprintf(cmd, sizeof cmd, "%s retention --data '%s'", ECGNET, data);
    int rc = run(cmd, &out, err, sizeof err);
    CHECK(rc == 0, "dry run exit %d: %s", rc, err);
    check_listed_exactly_the_due(out, "dry run");
    CHECK(strstr(out, "dry run") && strstr(out, "3 recordings due") && strstr(out, "2 outpatient, 1 inpatient") &&
              strstr(out, "--apply"), "says it is a dry run and how to apply: %s", out);
    free(out);
    for (size_t i = 0; i < NRECS; i++) {
        CHECK(exists(recs[i].journal), "dry run deleted %s", recs[i].journal);
        CHECK(recs[i].no_archive || exists(recs[i].archive), "dry run deleted %s", recs[i].archive);
        CHECK(purged_ms(recs[i].id) == 0, "dry run purged %s", recs[i].name);
    }
    CHECK(raw_count(dbpath, "SELECT count(*) FROM audit") == audits, "a dry run writes nothing, not even an audit row");

    /* A province keeping outpatients 17 years: the 16-year-old one is not due. */
    snprintf(cmd, sizeof cmd, "%s retention --data '%s' --outpatient-years 17 --inpatient-years 30", ECGNET, data);
    CHECK(run(cmd, &out, err, sizeof err) == 0 && !strstr(out, "out-16y ") && strstr(out, "in-31y") &&
              strstr(out, "2 recordings due"), "17 years: %s %s", out, err);
    free(out);
}

static void thresholds_below_the_rules_and_bad_command_lines_exit_2(void)
{
    char cmd[3000], err[4096], *out;
    const char *bad[][2] = {{"--outpatient-years 14", "门诊 ≥ 15 年"}, {"--inpatient-years 29", "住院 ≥ 30 年"},
                            {"--outpatient-years 0 --apply", "at least 15"}, {"--inpatient-years 15", "at least 30"},
                            {"--inpatient-years thirty", "whole number"}, {"--outpatient-years 15.5", "whole number"},
                            {"--keep", "unexpected argument"}, {"--outpatient-years", "unexpected argument"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s retention --data '%s' %s", ECGNET, data, bad[i][0]);
        int rc = run(cmd, &out, err, sizeof err);
        CHECK(rc == 2 && strstr(err, bad[i][1]), "%s: exit %d: %s", bad[i][0], rc, err);
        CHECK(!strstr(out, "purged"), "%s: nothing purged: %s", bad[i][0], out);
        free(out);
    }
    for (size_t i = 0; i < NRECS; i++) CHECK(purged_ms(recs[i].id) == 0, "refused runs purged %s", recs[i].name);
    CHECK(run(ECGNET " retention --help", &out, err, sizeof err) == 0 && strstr(out, "--apply") &&
              strstr(out, "dry run"), "--help");
    free(out);
    CHECK(run(ECGNET " --help", &out, err, sizeof err) == 0 && strstr(out, "retention"), "in ecgnet --help");
    free(out);
    snprintf(cmd, sizeof cmd, "%s retention --data '%s/none'", ECGNET, base);
    int rc = run(cmd, NULL, err, sizeof err);
    CHECK(rc == 1 && strstr(err, "does not exist"), "no data directory: exit %d: %s", rc, err);
}

static void apply_deletes_exactly_the_due_files_and_a_second_run_finds_nothing(void)
{
    char cmd[3000], err[4096], *out;
    /* From another working directory: the relative paths are found under --data. */
    snprintf(cmd, sizeof cmd, "cd / && %s retention --data '%s' --apply", ECGNET, data);
    int rc = run(cmd, &out, err, sizeof err);
    CHECK(rc == 0, "apply exit %d: %s %s", rc, err, out);
    check_listed_exactly_the_due(out, "apply");
    CHECK(strstr(out, "purged 3 of 3") && strstr(out, "5 deleted") && strstr(out, "1 already missing") &&
              strstr(out, "0 could not be deleted"), "summary: %s", out);
    free(out);
    for (size_t i = 0; i < NRECS; i++) {
        rec *x = &recs[i];
        CHECK(exists(x->journal) == !x->due, "%s: journal %s", x->name, x->due ? "not deleted" : "deleted");
        if (!x->no_archive) CHECK(exists(x->archive) == !x->due, "%s: archive %s", x->name, x->due ? "kept" : "deleted");
        CHECK((purged_ms(x->id) > 0) == x->due, "%s: purged in the store: %lld", x->name, (long long)purged_ms(x->id));
    }
    CHECK(raw_count(dbpath, "SELECT count(*) FROM audit WHERE action = 'recording.purge' AND actor = 'cli'") == 3,
          "three purges audited");

    snprintf(cmd, sizeof cmd, "%s retention --data '%s' --apply", ECGNET, data);
    rc = run(cmd, &out, err, sizeof err);
    CHECK(rc == 0 && strstr(out, "nothing is due"), "second run: exit %d: %s %s", rc, out, err);
    free(out);
}

static void a_file_that_cannot_be_deleted_is_named_and_exits_1(void)
{
    char cmd[3000], err[4096], *out, path[1500];
    store *s = open_ok(dbpath);
    /* A journal path that is a directory (unlink fails even for root), and a path that is not a journal. */
    const char *names[] = {"stuck", "odd"};
    int64_t ids[2];
    for (int i = 0; i < 2; i++) {
        store_recording r;
        memset(&r, 0, sizeof r);
        snprintf(r.device, sizeof r.device, "dev-1");
        snprintf(r.recording, sizeof r.recording, "%s", names[i]);
        snprintf(r.mode, sizeof r.mode, "resting");
        r.fs = 500;
        r.nleads = 2;
        r.received_ms = now_ms() - 20 * YEAR_MS;
        snprintf(r.journal, sizeof r.journal, i ? "%s/journal/dev-1/odd.txt" : "%s/journal/dev-1/stuck.ej", data);
        int existed;
        CHECK(store_recording_begin(s, &r, &ids[i], &existed, errbuf, sizeof errbuf) == STORE_OK, "%s", errbuf);
        CHECK(store_recording_finish(s, ids[i], "complete", 1, NULL, NULL, errbuf, sizeof errbuf) == STORE_OK, "%s",
              errbuf);
    }
    store_close(s);
    snprintf(path, sizeof path, "%s/journal/dev-1/stuck.ej/x", data);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    CHECK(system(cmd) == 0, "mkdir");
    snprintf(path, sizeof path, "%s/journal/dev-1/odd.txt", data);
    touch(path);

    snprintf(cmd, sizeof cmd, "%s retention --data '%s' --apply", ECGNET, data);
    int rc = run(cmd, &out, err, sizeof err);
    CHECK(rc == 1, "exit %d: %s", rc, err);
    CHECK(strstr(err, "cannot delete") && strstr(err, "stuck.ej") && strstr(err, "by hand"),
          "names the file and what to do: %s", err);
    CHECK(strstr(err, "odd.txt") && strstr(err, "not purged"), "a path that is no journal is left alone: %s", err);
    CHECK(strstr(out, "purged 1 of 2") && strstr(out, "1 not purged") && strstr(out, "1 could not be deleted"),
          "summary: %s", out);
    free(out);
    CHECK(purged_ms(ids[0]) > 0, "the store says the stuck one is purged (its files are the operator's to remove)");
    CHECK(purged_ms(ids[1]) == 0 && exists(path), "the odd one is untouched");
}

int main(void)
{
    make_data();
    RUN(a_dry_run_lists_exactly_the_due_recordings_and_changes_nothing);
    RUN(thresholds_below_the_rules_and_bad_command_lines_exit_2);
    RUN(apply_deletes_exactly_the_due_files_and_a_second_run_finds_nothing);
    RUN(a_file_that_cannot_be_deleted_is_named_and_exits_1);
    return check_report();
}
