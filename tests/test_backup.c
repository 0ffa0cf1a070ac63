/* test_backup.c — store_backup and `ecgnet backup`: a consistent copy while ecgnetd receives a stream. */
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "backup.h"
#include "check.h"
#include "log.h"
#include "net_harness.h"

static char data_dir[1024], rec_dir[1024], store_url[1200], token[STORE_TOKEN_CHARS + 1];
static device_source src;
static int32_t *src_samples;

/* Frames of the journal PATH that differ from the device's record, and how many frames it holds. */
static int64_t prefix_mismatches(const char *path, int64_t *frames)
{
    store_journal_diff d;
    char err[STORE_JOURNAL_ERRLEN];
    if (store_journal_compare(path, src.samples, src.nframes, src.nleads, &d, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    *frames = d.frames;
    return d.mismatches;
}

/* 1 when the files A and B hold the same bytes. */
static int same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        same = ca == cb;
        if (ca == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

/* Files named *SUFFIX under DIR (one level of subdirectories deep, as the archive is laid out). */
static int count_suffix(const char *dir, const char *suffix)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "find '%s' -name '*%s' | wc -l", dir, suffix);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p && fscanf(p, "%d", &n) != 1) n = -1;
    if (p) pclose(p);
    return n;
}

static void a_backup_while_a_device_streams_copies_a_consistent_store_and_journal_prefixes(void)
{
    server_config c = {0};
    c.ingest.data_dir = data_dir;
    harness_server r = harness_serve(&c);
    char url[64];
    device_config d = harness_device_config(server_port(r.sv), token, "before", url, sizeof url);
    device_stats st1, st2;
    int done_before = device_run(&d, &src, &st1, NULL, 0);
    CHECK(done_before == 1, "the first recording did not finish: %s", st1.error);

    /* A second recording streams at 10x (6 s) while the backup runs. */
    device_config live = harness_device_config(server_port(r.sv), token, "live", url, sizeof url);
    live.speed = 10;
    harness_streaming sm = {&live, &src, &st2, 0};
    pthread_t t;
    pthread_create(&t, NULL, harness_stream_thread, &sm);
    usleep(2000 * 1000);
    char dest[1100], err[2048] = "";
    snprintf(dest, sizeof dest, "%s/copy", check_tmpdir("backup-dest"));
    store_backup_stats bs;
    int rc = store_backup(data_dir, dest, &bs, err, sizeof err);
    pthread_join(t, NULL);
    harness_stop(&r);
    CHECK(rc == 0, "the backup failed: %s", err);
    CHECK(sm.done == 1, "the live recording did not finish: %s", st2.error);
    CHECK(bs.recordings == 2 && bs.journals == 2, "%lld recordings, %lld journals copied", (long long)bs.recordings,
          (long long)bs.journals);
    CHECK(bs.archives == 1, "%lld archives copied: only the finished recording has one", (long long)bs.archives);
    CHECK(bs.files == 1 + bs.journals + bs.archives && bs.bytes > 0, "%lld files, %lld bytes", (long long)bs.files,
          (long long)bs.bytes);

    /* The copy opens as a store and holds both recordings. */
    char url_copy[1200];
    snprintf(url_copy, sizeof url_copy, "sqlite:%s/ecgnet.db", dest);
    store *s = store_open(url_copy, err, sizeof err);
    CHECK(s != NULL, "the copy does not open as a store: %s", err);
    store_recording before = {0}, during = {0};
    CHECK(s && store_recording_find(s, "dev1", "before", &before, err, sizeof err) == STORE_OK,
          "the finished recording is missing from the copy: %s", err);
    CHECK(s && store_recording_find(s, "dev1", "live", &during, err, sizeof err) == STORE_OK,
          "the streaming recording is missing from the copy: %s", err);
    store_close(s);
    CHECK(!strcmp(before.state, "complete") && before.samples == src.nframes, "finished recording: %s, %lld samples",
          before.state, (long long)before.samples);
    CHECK(!strcmp(during.state, "receiving"), "the recording that was streaming is '%s' in the copy", during.state);

    /* The finished recording's journal and archive are whole; the live one's journal a prefix. */
    char path[1300], source[1300];
    snprintf(path, sizeof path, "%s/journal/dev1/before.ej", dest);
    CHECK(harness_journal_diff(path, &src) == 0, "the finished journal's copy is not bit-exact");
    snprintf(path, sizeof path, "%s/archive/dev1/before.edf", dest);
    snprintf(source, sizeof source, "%s/archive/dev1/before.edf", data_dir);
    CHECK(same_file(path, source), "the archive's copy %s differs from %s", path, source);
    CHECK(count_suffix(dest, ".tmp") == 0, "a .tmp file was copied");
    snprintf(source, sizeof source, "%s/journal/dev1/live.ej", data_dir);
    CHECK(harness_journal_diff(source, &src) == 0, "the live recording's source journal is not bit-exact");
    snprintf(path, sizeof path, "%s/journal/dev1/live.ej", dest);
    int64_t frames = -1, bad = prefix_mismatches(path, &frames);
    CHECK(bad == 0, "the live journal's copy has %lld frames differing from the source", (long long)bad);
    CHECK(frames > 0 && frames < src.nframes, "the live journal's copy has %lld of %lld frames: not taken mid-stream",
          (long long)frames, (long long)src.nframes);
    struct stat sb;
    CHECK(stat(dest, &sb) == 0 && (sb.st_mode & 0777) == 0700, "the backup directory is not private (mode %o)",
          (unsigned)(sb.st_mode & 0777));
}

static void a_backup_into_a_non_empty_directory_is_refused_and_an_empty_one_accepted(void)
{
    char dest[1100], err[2048] = "";
    snprintf(dest, sizeof dest, "%s", check_tmpdir("backup-again"));
    store_backup_stats bs;
    int rc = store_backup(data_dir, dest, &bs, err, sizeof err); /* the server is stopped now */
    CHECK(rc == 0, "a backup into an existing empty directory failed: %s", err);
    CHECK(bs.recordings == 2 && bs.journals == 2 && bs.archives == 2, "%lld recordings, %lld journals, %lld archives",
          (long long)bs.recordings, (long long)bs.journals, (long long)bs.archives);
    char db[1200];
    snprintf(db, sizeof db, "%s/ecgnet.db", dest);
    struct stat before, after;
    stat(db, &before);
    err[0] = 0;
    rc = store_backup(data_dir, dest, &bs, err, sizeof err);
    CHECK(rc == -1, "a second backup into the same directory was accepted");
    CHECK(strstr(err, dest) && strstr(err, "not empty"), "the refusal does not name the directory: '%s'", err);
    CHECK(stat(db, &after) == 0 && after.st_mtime == before.st_mtime && after.st_size == before.st_size,
          "the refused backup changed the earlier copy");
}

static void a_missing_data_directory_is_a_clear_error_and_creates_nothing(void)
{
    char missing[1100], dest[1100], err[2048] = "";
    snprintf(missing, sizeof missing, "%s/no-such-data", check_tmpdir("backup-missing"));
    snprintf(dest, sizeof dest, "%s/copy", check_tmpdir("backup-missing-dest"));
    int rc = store_backup(missing, dest, NULL, err, sizeof err);
    CHECK(rc == -1, "a backup of a missing data directory succeeded");
    CHECK(strstr(err, missing) && strstr(err, "No such file"), "unclear message: '%s'", err);
    CHECK(access(dest, F_OK) != 0, "the failed backup created %s", dest);

    /* A directory without a database is not a data directory either. */
    err[0] = 0;
    rc = store_backup(rec_dir, dest, NULL, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "ecgnet.db") && strstr(err, "no database"), "unclear message: '%s'", err);
}

static void a_write_error_at_the_destination_names_the_file(void)
{
    char dest[1100], err[2048] = "";
    snprintf(dest, sizeof dest, "%s/copy", check_tmpdir("backup-full"));
    /* A file-size limit below the database's size plays the full destination disk. */
    struct rlimit old, small;
    getrlimit(RLIMIT_FSIZE, &old);
    small = old;
    small.rlim_cur = 32 * 1024;
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &small);
    int rc = store_backup(data_dir, dest, NULL, err, sizeof err);
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK(rc == -1, "the backup succeeded past the file-size limit");
    char db[1200];
    snprintf(db, sizeof db, "%s/ecgnet.db", dest);
    CHECK(strstr(err, db) && strstr(err, strerror(EFBIG)), "the message does not name the file and the problem: '%s'",
          err);
}

/* Runs `ecgnet ARGS` and returns its exit status; its output goes to OUT (a file path). */
static int ecgnet(const char *args, const char *out)
{
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "%s/cmd/ecgnet %s >'%s' 2>&1", ECGNET_BINARY_DIR, args, out);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int file_has(const char *path, const char *text)
{
    char buf[8192] = "";
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = 0;
    return strstr(buf, text) != NULL;
}

static void the_command_copies_prints_what_it_copied_and_documents_the_restore(void)
{
    char dir[1100], out[1200], args[2600];
    snprintf(dir, sizeof dir, "%s", check_tmpdir("backup-cli"));
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(args, sizeof args, "backup '%s/copy' --data '%s'", dir, data_dir);
    CHECK(ecgnet(args, out) == 0, "ecgnet backup failed");
    CHECK(file_has(out, "2 recordings") && file_has(out, "2 journals") && file_has(out, "2 archives"),
          "the command does not say what it copied");
    CHECK(ecgnet(args, out) == 1 && file_has(out, "not empty"), "a second run into the same DEST is not exit 1");
    snprintf(args, sizeof args, "backup '%s/copy2' --data '%s/none'", dir, dir);
    CHECK(ecgnet(args, out) == 1 && file_has(out, "/none"), "a missing data directory is not exit 1 naming it");
    CHECK(ecgnet("backup", out) == 2, "no DEST is not a usage error");
    CHECK(ecgnet("backup --help", out) == 0 && file_has(out, "stop ecgnetd") && file_has(out, "start ecgnetd"),
          "--help does not document the restore");
}

int main(void)
{
    net_log_set_level(NET_LOG_ERROR);
    snprintf(data_dir, sizeof data_dir, "%s", check_tmpdir("backup-data"));
    snprintf(rec_dir, sizeof rec_dir, "%s", check_tmpdir("backup-records"));
    snprintf(store_url, sizeof store_url, "sqlite:%s/ecgnet.db", data_dir);
    harness_record(rec_dir, "syn2", 2, 250, 60, &src, &src_samples);
    harness_device(store_url, "dev1", token);
    RUN(a_backup_while_a_device_streams_copies_a_consistent_store_and_journal_prefixes);
    RUN(a_backup_into_a_non_empty_directory_is_refused_and_an_empty_one_accepted);
    RUN(a_missing_data_directory_is_a_clear_error_and_creates_nothing);
    RUN(a_write_error_at_the_destination_names_the_file);
    RUN(the_command_copies_prints_what_it_copied_and_documents_the_restore);
    free(src_samples);
    return check_report();
}
