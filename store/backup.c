/* backup.c — store_backup: the database by SQLite's online backup, then journals and archives. */
#include "backup.h"

#include "journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#define BACKUP_PATH 4096
#define BACKUP_BUSY_MS 10000 /* how long the database copy waits for a lock before giving up */

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int join(char *out, const char *dir, const char *name, char *err, size_t errlen)
{
    if (snprintf(out, BACKUP_PATH, "%s/%s", dir, name) >= BACKUP_PATH)
        return fail(err, errlen, "%s/%s: path too long", dir, name);
    return 0;
}

/* A write error's explanation: a full destination is the common one and the user can act on it. */
static const char *write_problem(int e)
{
    if (e == ENOSPC || e == EDQUOT) return "the destination disk is full (no space left)";
    return strerror(e);
}

static int fsync_path(const char *path, int dir, char *err, size_t errlen)
{
    int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) return fail(err, errlen, "%s: cannot open to sync: %s", path, strerror(errno));
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return fail(err, errlen, "%s: cannot sync to disk: %s", path, write_problem(e));
    }
    close(fd);
    return 0;
}

/* Creates DEST (mode 0700) or accepts it when it is an empty directory: a backup never mixes
 * with older files, which could be mistaken for part of this copy. */
static int prepare_dest(const char *dest, char *err, size_t errlen)
{
    if (mkdir(dest, 0700) == 0) return 0;
    if (errno != EEXIST) return fail(err, errlen, "%s: cannot create the backup directory: %s", dest, strerror(errno));
    DIR *d = opendir(dest);
    if (!d) return fail(err, errlen, "%s: exists and cannot be used as the backup directory: %s", dest, strerror(errno));
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
    closedir(d);
    if (!empty)
        return fail(err, errlen, "%s: the backup directory is not empty (give a new or empty directory; "
                                 "a backup never overwrites or mixes with other files)", dest);
    return 0;
}

static int sqlite_fail(sqlite3 *db, const char *path, const char *what, char *err, size_t errlen)
{
    return fail(err, errlen, "%s: %s: %s", path, what, db ? sqlite3_errmsg(db) : "out of memory");
}

/* Copies the database SRC into the new file DST in one backup step: one read transaction, so
 * the copy is the snapshot of one moment, and in WAL mode the server's writes go on meanwhile. */
static int copy_db(const char *src, const char *dst, char *err, size_t errlen)
{
    sqlite3 *in = NULL, *out = NULL;
    sqlite3_backup *b = NULL;
    int rc = -1;
    /* An empty file is an empty database to SQLite; creating it first gives it mode 0600 (it holds
     * patient ids and token hashes). */
    int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return fail(err, errlen, "%s: cannot create the database copy: %s", dst, write_problem(errno));
    close(fd);
    if (sqlite3_open_v2(src, &in, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite_fail(in, src, "cannot open the database", err, errlen);
        goto fail;
    }
    sqlite3_busy_timeout(in, BACKUP_BUSY_MS);
    if (sqlite3_open_v2(dst, &out, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite_fail(out, dst, "cannot open the database copy", err, errlen);
        goto fail;
    }
    b = sqlite3_backup_init(out, "main", in, "main");
    if (!b) {
        sqlite_fail(out, dst, "cannot start the database backup", err, errlen);
        goto fail;
    }
    int step, waited = 0;
    while ((step = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || step == SQLITE_LOCKED) {
        if (waited >= BACKUP_BUSY_MS) break;
        sqlite3_sleep(50);
        waited += 50;
    }
    int fin = sqlite3_backup_finish(b);
    b = NULL;
    if (step != SQLITE_DONE || fin != SQLITE_OK) {
        int code = step != SQLITE_DONE ? step : fin, e = sqlite3_system_errno(out);
        /* SQLite says "disk I/O error"; the system's error says which (a full disk, a quota). */
        fail(err, errlen, "%s: the database backup from %s failed: %s%s%s", dst, src, sqlite3_errstr(code),
             e ? ": " : "", e ? write_problem(e) : code == SQLITE_FULL ? " (the destination disk is full)" : "");
        goto fail;
    }
    rc = 0;
fail:
    if (b) sqlite3_backup_finish(b);
    sqlite3_close(out);
    sqlite3_close(in);
    return rc;
}

/* Copies SRC into the new file DST, at most the size SRC has when the copy starts (a journal
 * grows meanwhile: what follows that point is left for the next backup), then fsyncs DST.
 * Adds the bytes to *BYTES. */
static int copy_file(const char *src, const char *dst, int64_t *bytes, char *err, size_t errlen)
{
    int in = -1, out = -1, rc = -1;
    struct stat sb;
    char buf[1 << 16];
    if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0) {
        fail(err, errlen, "%s: cannot open: %s", src, strerror(errno));
        goto fail;
    }
    if (fstat(in, &sb) != 0) {
        fail(err, errlen, "%s: cannot stat: %s", src, strerror(errno));
        goto fail;
    }
    if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        fail(err, errlen, "%s: cannot create: %s", dst, write_problem(errno));
        goto fail;
    }
    off_t left = sb.st_size;
    while (left > 0) {
        ssize_t n = read(in, buf, left < (off_t)sizeof buf ? (size_t)left : sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            fail(err, errlen, "%s: cannot read: %s", src, strerror(errno));
            goto fail;
        }
        if (n == 0) break; /* truncated meanwhile (a recovery dropped a torn tail): copy what is there */
        for (ssize_t w = 0; w < n;) {
            ssize_t k = write(out, buf + w, (size_t)(n - w));
            if (k < 0 && errno == EINTR) continue;
            if (k < 0) {
                fail(err, errlen, "%s: cannot write: %s", dst, write_problem(errno));
                goto fail;
            }
            w += k;
        }
        left -= n;
        *bytes += n;
    }
    if (fsync(out) != 0) {
        fail(err, errlen, "%s: cannot sync to disk: %s", dst, write_problem(errno));
        goto fail;
    }
    rc = 0;
fail:
    if (out >= 0 && close(out) != 0 && rc == 0) rc = fail(err, errlen, "%s: cannot close: %s", dst, write_problem(errno));
    if (in >= 0) close(in);
    return rc;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* Copies the files of SRC_DIR (one device's journals or archives) into DST_DIR (created). */
static int copy_device_dir(const char *src_dir, const char *dst_dir, int journals, store_backup_stats *st, char *err,
                           size_t errlen)
{
    char src[BACKUP_PATH], dst[BACKUP_PATH];
    int rc = -1;
    if (mkdir(dst_dir, 0700) != 0) return fail(err, errlen, "%s: cannot create: %s", dst_dir, write_problem(errno));
    DIR *d = opendir(src_dir);
    if (!d) return fail(err, errlen, "%s: cannot read the directory: %s", src_dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat sb;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (!journals && ends_with(e->d_name, ".tmp")) continue; /* an archive being written */
        if (join(src, src_dir, e->d_name, err, errlen) || join(dst, dst_dir, e->d_name, err, errlen)) goto fail;
        if (lstat(src, &sb) != 0) {
            if (errno == ENOENT) continue; /* renamed or removed since readdir */
            fail(err, errlen, "%s: cannot stat: %s", src, strerror(errno));
            goto fail;
        }
        if (!S_ISREG(sb.st_mode)) continue;
        int64_t bytes = 0;
        if (copy_file(src, dst, &bytes, err, errlen)) goto fail;
        if (journals) {
            store_journal_summary sum;
            char jerr[STORE_JOURNAL_ERRLEN];
            if (store_journal_summarize(dst, &sum, jerr, sizeof jerr)) {
                fail(err, errlen, "%s: the copied journal cannot be read back: %s", dst, jerr);
                goto fail;
            }
            st->journals++;
        } else {
            st->archives++;
        }
        st->files++;
        st->bytes += bytes;
    }
    if (fsync_path(dst_dir, 1, err, errlen)) goto fail;
    rc = 0;
fail:
    closedir(d);
    return rc;
}

/* Copies the files of DATA_DIR/SUB/<device>/ into DEST/SUB/<device>/. A missing SUB is a store without
 * recordings of that kind yet, not an error. */
static int copy_tree(const char *data_dir, const char *dest, const char *sub, store_backup_stats *st, char *err,
                     size_t errlen)
{
    char src_sub[BACKUP_PATH], dst_sub[BACKUP_PATH], src[BACKUP_PATH], dst[BACKUP_PATH];
    if (join(src_sub, data_dir, sub, err, errlen) || join(dst_sub, dest, sub, err, errlen)) return -1;
    DIR *d = opendir(src_sub);
    if (!d && errno == ENOENT) return 0;
    if (!d) return fail(err, errlen, "%s: cannot read the directory: %s", src_sub, strerror(errno));
    int rc = -1;
    if (mkdir(dst_sub, 0700) != 0) {
        fail(err, errlen, "%s: cannot create: %s", dst_sub, write_problem(errno));
        goto fail;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat sb;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (join(src, src_sub, e->d_name, err, errlen) || join(dst, dst_sub, e->d_name, err, errlen)) goto fail;
        if (lstat(src, &sb) != 0 || !S_ISDIR(sb.st_mode)) continue;
        if (copy_device_dir(src, dst, !strcmp(sub, "journal"), st, err, errlen)) goto fail;
    }
    if (fsync_path(dst_sub, 1, err, errlen)) goto fail;
    rc = 0;
fail:
    closedir(d);
    return rc;
}

/* PRAGMA integrity_check on the copy, and its number of recordings. */
static int verify_db(const char *path, int64_t *recordings, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    int rc = -1;
    /* Read-write so that closing removes the -wal and -shm files the copy's WAL mode creates. */
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite_fail(db, path, "cannot open the database copy to verify it", err, errlen);
        goto fail;
    }
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        sqlite_fail(db, path, "cannot check the database copy", err, errlen);
        goto fail;
    }
    const char *verdict = (const char *)sqlite3_column_text(q, 0);
    if (!verdict || strcmp(verdict, "ok")) {
        fail(err, errlen, "%s: the database copy fails its integrity check: %s", path, verdict ? verdict : "?");
        goto fail;
    }
    sqlite3_finalize(q);
    q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM recording", -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        sqlite_fail(db, path, "cannot count the recordings in the database copy (not an ecgnet database?)", err,
                    errlen);
        goto fail;
    }
    *recordings = sqlite3_column_int64(q, 0);
    rc = 0;
fail:
    sqlite3_finalize(q);
    sqlite3_close(db);
    return rc;
}

int store_backup(const char *data_dir, const char *dest_dir, store_backup_stats *st, char *err, size_t errlen)
{
    store_backup_stats local;
    char src_db[BACKUP_PATH], dst_db[BACKUP_PATH];
    struct stat sb;
    if (!st) st = &local;
    memset(st, 0, sizeof *st);
    if (!data_dir || !*data_dir || !dest_dir || !*dest_dir)
        return fail(err, errlen, "backup: the data directory and the destination must both be given");
    if (stat(data_dir, &sb) != 0)
        return fail(err, errlen, "%s: cannot use the data directory: %s", data_dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return fail(err, errlen, "%s: the data directory is not a directory", data_dir);
    if (join(src_db, data_dir, "ecgnet.db", err, errlen) || join(dst_db, dest_dir, "ecgnet.db", err, errlen))
        return -1;
    if (stat(src_db, &sb) != 0)
        return fail(err, errlen, "%s: no database in the data directory: %s", src_db, strerror(errno));
    if (prepare_dest(dest_dir, err, errlen)) return -1;

    /* The database first: see backup.h for why this order makes the copy consistent. */
    if (copy_db(src_db, dst_db, err, errlen)) return -1;
    if (fsync_path(dst_db, 0, err, errlen)) return -1;
    if (stat(dst_db, &sb) != 0) return fail(err, errlen, "%s: cannot stat the copy: %s", dst_db, strerror(errno));
    st->files++;
    st->bytes += (int64_t)sb.st_size;
    if (copy_tree(data_dir, dest_dir, "journal", st, err, errlen)) return -1;
    if (copy_tree(data_dir, dest_dir, "archive", st, err, errlen)) return -1;
    if (fsync_path(dest_dir, 1, err, errlen)) return -1;
    if (verify_db(dst_db, &st->recordings, err, errlen)) return -1;
    return 0;
}
