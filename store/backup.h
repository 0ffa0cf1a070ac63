/* backup.h — a consistent copy of a data directory (database, journals, archives) while ecgnetd runs.
 *
 * Why this order: the database is copied first, with SQLite's online backup API (one read
 * transaction: a consistent snapshot, while the server keeps writing beside it in WAL mode), then
 * the files. The server adds a recording's row before it creates the journal, so every recording
 * in the copied database finds its journal in the copy; a journal that began after the snapshot
 * is copied too and is picked up again when its device resumes after a restore. A journal is
 * copied up to the size read when its copy starts: appends are whole records written behind that
 * point, so the copy is the journal as it was then, possibly with a torn last record, which
 * readers and store_journal_open ignore. Archives are written to a .tmp and renamed, so an
 * archive file is complete or absent; .tmp files are skipped.
 *
 * Layout of DATA_DIR (and of the copy): ecgnet.db, journal/<device>/<recording>.ej,
 * archive/<device>/<recording>.edf. The database holds the journals' and archives' paths as the
 * server wrote them (under its data directory): the copy is meant to REPLACE the data directory
 * (restore: stop ecgnetd, move the copy to the data directory's path, start ecgnetd; journals
 * resume and recovery drops torn tails), not to be served from another path.
 */
#ifndef ECGNET_STORE_BACKUP_H
#define ECGNET_STORE_BACKUP_H

#include <stddef.h>
#include <stdint.h>

/* What store_backup copied. */
typedef struct {
    int64_t files;      /* files copied: the database, journals and archives */
    int64_t bytes;      /* their bytes in the copy */
    int64_t recordings; /* rows in the copied database's recording table */
    int64_t journals;   /* journal files copied (each verified readable) */
    int64_t archives;   /* archive files copied */
} store_backup_stats;

/* Copies the data directory DATA_DIR into DEST_DIR, which must not exist (it is created, mode
 * 0700) or be an empty directory. Copies ecgnet.db with SQLite's online backup API, then every
 * file of journal/<device>/ (each up to its size when its copy starts) and archive/<device>/
 * (skipping *.tmp), fsyncs every copy and directory, then verifies the copy: PRAGMA
 * integrity_check on the database, store_journal_summarize on each journal. Safe to run while
 * ecgnetd writes to DATA_DIR; DATA_DIR is only read. ST (may be NULL) receives the counts.
 * Returns 0, or -1 with a message in err naming the file and the problem: DATA_DIR missing or
 * without ecgnet.db, DEST_DIR not empty or not creatable, a read or write error (a full
 * destination disk says so), a copy that fails verification. After a failure DEST_DIR holds a
 * partial copy: remove it before trying again. */
int store_backup(const char *data_dir, const char *dest_dir, store_backup_stats *st, char *err,
                 size_t errlen);

#endif
