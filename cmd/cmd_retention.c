/* cmd_retention.c — `ecgnet retention`: list, and with --apply delete, the samples of recordings past their retention period. */
#include "cmd.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RULE "病历保存: 门诊 ≥ 15 年, 住院 ≥ 30 年"

static const char help[] =
    "usage: ecgnet retention [--data DIR] [--store URL] [--outpatient-years N] [--inpatient-years N] [--apply]\n"
    "\n"
    "Lists the recordings past their retention period and, with --apply, deletes their samples.\n"
    "The rules on medical records (" RULE "; 《医疗机构病历管理规定（2013年版）》第二十九条)\n"
    "keep outpatient records at least 15 years after the patient's last visit and inpatient records\n"
    "at least 30 years after their last discharge; a province may ask for longer. Each recording is\n"
    "outpatient or inpatient as its device said (hello member \"encounter\"; outpatient when absent).\n"
    "ecgnet knows recordings, not visits or discharges: a recording's retention runs from the newest\n"
    "recording of the same patient id (from its own reception when it has no patient id), a year\n"
    "counting 366 days so that the period never ends before its calendar anniversary. Recordings still\n"
    "being received are never touched.\n"
    "\n"
    "  --outpatient-years N  retention of outpatient recordings, whole years >= 15 (default 15)\n"
    "  --inpatient-years N   retention of inpatient recordings, whole years >= 30 (default 30)\n"
    "  --apply               delete: without it nothing is changed (a dry run: deleting patient\n"
    "                        data must be deliberate)\n"
    "  --data DIR            the daemon's data directory (default ./ecgnet-data): its store\n"
    "                        DIR/ecgnet.db, and where journals and archives stored under a relative\n"
    "                        path are found (DIR/journal/DEVICE/..., DIR/archive/DEVICE/...)\n"
    "  --store URL           the store instead (sqlite:PATH, a path or postgresql://...); files stored\n"
    "                        under a relative path then need --data too\n"
    "\n"
    "For each recording due, --apply first marks it purged in the store (audited \"recording.purge\",\n"
    "naming its files; the store checks the retention again and refuses anything still kept), then\n"
    "deletes its journal and EDF+ archive. That order means a crash or a failed deletion leaves files\n"
    "on disk that the store already calls deleted (kept too long: delete them by hand, the audit row\n"
    "names them) and never a store that offers samples whose files are gone. A file already missing is\n"
    "fine. The recording's metadata, flags, analysis, reports and audit stay; its signal answers\n"
    "410 Gone. Safe while ecgnetd runs.\n"
    "\n"
    "exit codes: 0 success (also when nothing is due); 1 the store could not be opened or changed, or\n"
    "a file could not be deleted (each is named; the others are still done); 2 bad command line, or a\n"
    "retention below the rules' minimum.\n";

static int usage_error(const char *msg, const char *arg)
{
    return cmd_usage_error("ecgnet retention", help, msg, arg);
}

/* Whole years MIN..1000 from TEXT; exits through usage_error otherwise. */
static int years_arg(const char *opt, const char *text, int min, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < 0 || v > 1000) {
        fprintf(stderr, "ecgnet retention: %s '%s' must be a whole number of years\n", opt, text);
        return -1;
    }
    if (v < min) {
        fprintf(stderr,
                "ecgnet retention: %s %ld refused: the rules on medical records keep %s records at least %d years "
                "(" RULE "); a province may set longer, never shorter\n",
                opt, v, min == STORE_RETENTION_INPATIENT_MIN_YEARS ? "inpatient" : "outpatient", min);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Where the file PATH (stored by ecgnetd: "<its data dir>/KIND/DEVICE/NAME") is, for this process:
 * as stored when absolute; under DATA when relative (ecgnetd's relative data directory was
 * relative to its own working directory, not ours). "" for an empty PATH. Returns 0, or -1 with
 * WHY when it cannot be placed or does not look like a file of KIND ending in EXT: nothing is
 * deleted that is not a recording's journal or archive. */
static int locate(const char *path, const char *kind, const char *ext, const char *data, char *out, size_t outlen,
                  char *why, size_t whylen)
{
    size_t n = strlen(path), e = strlen(ext);
    out[0] = 0;
    if (!n) return 0;
    if (n <= e || strcmp(path + n - e, ext)) {
        snprintf(why, whylen, "%s: not a recording's %s (*%s): not deleted", path, kind, ext);
        return -1;
    }
    if (path[0] == '/') {
        if (snprintf(out, outlen, "%s", path) >= (int)outlen) goto toolong;
        return 0;
    }
    /* The last three components: KIND/DEVICE/NAME. */
    const char *p = path + n;
    for (int slashes = 0; p > path && slashes < 3; p--)
        if (p[-1] == '/' && ++slashes == 3) break;
    size_t kn = strlen(kind);
    if (!data || strncmp(p, kind, kn) || p[kn] != '/') {
        snprintf(why, whylen, "%s: a relative path%s: give --data DIR (ecgnetd's data directory) to find it", path,
                 data ? " outside a data directory's layout" : "");
        return -1;
    }
    if (snprintf(out, outlen, "%s/%s", data, p) >= (int)outlen) goto toolong;
    return 0;
toolong:
    snprintf(why, whylen, "%s: path too long", path);
    return -1;
}

typedef struct {
    int deleted, missing, failed;
} tally;

/* Deletes PATH ("" : nothing); a missing file is fine. Makes the removal durable (its directory
 * synced), so that a crash cannot bring back what the store says is gone. */
static void delete_file(const char *path, int64_t id, tally *t)
{
    if (!path[0]) return;
    if (unlink(path) != 0) {
        if (errno == ENOENT) {
            t->missing++;
            return;
        }
        fprintf(stderr, "ecgnet retention: cannot delete %s: %s; recording %lld is marked purged: delete the file by "
                        "hand\n", path, strerror(errno), (long long)id);
        t->failed++;
        return;
    }
    t->deleted++;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = 0;
    else if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        fprintf(stderr, "ecgnet retention: deleted %s but could not sync %s: %s (a crash now could bring it back)\n",
                path, dir, strerror(errno));
        t->failed++;
    }
    if (fd >= 0) close(fd);
}

static void print_list(const store_recording *r, size_t n)
{
    printf("%-8s  %-19s  %-10s  %-40s  %s\n", "ID", "RECEIVED", "CLASS", "DEVICE/RECORDING", "PATIENT");
    for (size_t i = 0; i < n; i++) {
        char when[64], name[200];
        snprintf(name, sizeof name, "%s/%s", r[i].device, r[i].recording);
        /* The patient comes last: its UTF-8 would break the alignment of any column after it. */
        printf("%-8lld  %-19s  %-10s  %-40s  %s\n", (long long)r[i].id, cmd_format_ms(r[i].received_ms, "-", when,
               sizeof when), r[i].encounter, name, r[i].patient_id[0] ? r[i].patient_id : "-");
        printf("          files: %s%s%s\n", r[i].journal, r[i].archive[0] ? "  " : "",
               r[i].archive[0] ? r[i].archive : "  (no archive)");
    }
}

/* Purges one recording due and deletes its files; counts into T and *PURGED, *SKIPPED, *ERRORS. */
static void apply_one(store *s, const store_recording *due, int64_t out_ms, int64_t in_ms, const char *data, tally *t,
                      int *purged, int *skipped, int *errors)
{
    char journal[PATH_MAX], archive[PATH_MAX], tmp[PATH_MAX + 8], why[PATH_MAX + 200], err[1024];
    long long id = (long long)due->id;
    /* Where the files are, before anything changes: a recording whose files cannot be placed is not purged. */
    if (locate(due->journal, "journal", ".ej", data, journal, sizeof journal, why, sizeof why) ||
        locate(due->archive, "archive", ".edf", data, archive, sizeof archive, why, sizeof why)) {
        fprintf(stderr, "ecgnet retention: recording %lld not purged: %s\n", id, why);
        (*errors)++;
        return;
    }
    store_recording before;
    int rc = store_recording_purge(s, due->id, out_ms, in_ms, "cli", &before, err, sizeof err);
    if (rc == STORE_ESTATE) { /* resumed, purged by another run, or a newer recording of its patient meanwhile */
        printf("skipped %lld: %s\n", id, err);
        (*skipped)++;
        return;
    }
    if (rc != STORE_OK) {
        fprintf(stderr, "ecgnet retention: recording %lld not purged: %s\n", id, err);
        (*errors)++;
        return;
    }
    (*purged)++;
    /* The store's paths as they were inside the purge: the same as listed unless ecgnetd moved on. */
    if (strcmp(before.journal, due->journal) || strcmp(before.archive, due->archive)) {
        if (locate(before.journal, "journal", ".ej", data, journal, sizeof journal, why, sizeof why) ||
            locate(before.archive, "archive", ".edf", data, archive, sizeof archive, why, sizeof why)) {
            fprintf(stderr, "ecgnet retention: recording %lld is marked purged but %s\n", id, why);
            t->failed++;
            return;
        }
    }
    delete_file(journal, due->id, t);
    delete_file(archive, due->id, t);
    if (archive[0]) { /* an archive whose writing was cut short leaves its temporary file (archive.c) */
        snprintf(tmp, sizeof tmp, "%s.tmp", archive);
        tally quiet = {0, 0, 0};
        delete_file(tmp, due->id, &quiet);
        t->deleted += quiet.deleted;
        t->failed += quiet.failed;
    }
    printf("purged %lld %s/%s\n", id, due->device, due->recording);
}

int cmd_retention(int argc, char **argv)
{
    const char *data = NULL, *url = NULL;
    int out_years = STORE_RETENTION_OUTPATIENT_MIN_YEARS, in_years = STORE_RETENTION_INPATIENT_MIN_YEARS, apply = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(help, stdout);
            return CMD_OK;
        } else if (!strcmp(argv[i], "--data") && i + 1 < argc) {
            data = argv[++i];
        } else if (!strcmp(argv[i], "--store") && i + 1 < argc) {
            url = argv[++i];
        } else if (!strcmp(argv[i], "--outpatient-years") && i + 1 < argc) {
            if (years_arg(argv[i], argv[i + 1], STORE_RETENTION_OUTPATIENT_MIN_YEARS, &out_years)) return CMD_EUSAGE;
            i++;
        } else if (!strcmp(argv[i], "--inpatient-years") && i + 1 < argc) {
            if (years_arg(argv[i], argv[i + 1], STORE_RETENTION_INPATIENT_MIN_YEARS, &in_years)) return CMD_EUSAGE;
            i++;
        } else if (!strcmp(argv[i], "--apply")) {
            apply = 1;
        } else {
            return usage_error("unexpected argument", argv[i]);
        }
    }
    /* Relative file paths are found under the data directory: the default one unless a store was named. */
    if (!url && !data) data = CMD_DEFAULT_DATA_DIR;
    store *s = cmd_store_open("ecgnet retention", data, url, 0);
    if (!s) return CMD_EINPUT;
    int64_t out_ms = out_years * STORE_YEAR_MS, in_ms = in_years * STORE_YEAR_MS;
    store_recording *due = NULL;
    size_t n = 0;
    char err[1024];
    int rc = CMD_OK;
    if (store_retention_due(s, out_ms, in_ms, 0, &due, &n, err, sizeof err) != STORE_OK) {
        fprintf(stderr, "ecgnet retention: %s\n", err);
        store_close(s);
        return CMD_EINPUT;
    }
    printf("retention: outpatient %d years, inpatient %d years, from the patient's newest recording (" RULE ")\n",
           out_years, in_years);
    if (!n) {
        printf("nothing is due: no finished recording in %s is past its retention period\n", store_path(s));
    } else {
        int nin = 0;
        for (size_t i = 0; i < n; i++) nin += !strcmp(due[i].encounter, "inpatient");
        print_list(due, n);
        if (!apply) {
            printf("dry run: %zu recording%s due (%zu outpatient, %d inpatient); nothing was changed. "
                   "Run again with --apply to delete their samples.\n",
                   n, n == 1 ? "" : "s", n - (size_t)nin, nin);
        } else {
            tally t = {0, 0, 0};
            int purged = 0, skipped = 0, errors = 0;
            for (size_t i = 0; i < n; i++) apply_one(s, &due[i], out_ms, in_ms, data, &t, &purged, &skipped, &errors);
            printf("purged %d of %zu recording%s due (%d skipped, %d not purged); files: %d deleted, %d already "
                   "missing, %d could not be deleted\n",
                   purged, n, n == 1 ? "" : "s", skipped, errors, t.deleted, t.missing, t.failed);
            if (errors || t.failed) rc = CMD_EINPUT;
        }
    }
    free(due);
    store_close(s);
    return rc;
}
