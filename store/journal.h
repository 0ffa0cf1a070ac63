/* journal.h — the durable, append-only sample journal of one recording (one file per recording).
 *
 * Why: the ingest server acknowledges a device's samples only once they are on disk. Samples are
 * appended with write(2) (store_journal_append) and made durable in groups with one fdatasync
 * (store_journal_sync, "group commit"); only then may the server acknowledge them. A kill -9 or a
 * power cut at any moment loses nothing that was synced: store_journal_open recovers the journal
 * after a restart, drops a torn or corrupt tail, and store_journal_next tells the reconnecting
 * device which sample to send next. When the recording ends (store_journal_end) the EDF+ archive
 * is written from the journal (archive.h). This module knows nothing of the network.
 *
 * On-disk format, all integers little-endian:
 *
 *   file header
 *     offset size  field
 *          0    8  magic "ECGJRNL1"
 *          8    2  format version: 1 (STORE_JOURNAL_VERSION)
 *         10    1  nleads: 1..16
 *         11    1  sample_bytes: 2 (int16) or 4 (int32)
 *         12    4  meta length M: 0..65536
 *         16    M  meta: opaque UTF-8 text (the device's hello as JSON), no NUL
 *       16+M    4  CRC-32 (zlib's crc32) of bytes 0 .. 16+M-1
 *
 *   then records, back to back
 *     offset size  field
 *          0    1  type: 1 = samples, 2 = end of recording
 *          1    1  reserved, 0
 *          2    2  nframes: 1..65535 for samples, 0 for the end record
 *          4    4  flags: the caller's, opaque to the journal (0 in the end record)
 *          8    8  first: index of the record's first frame since the recording began; equals the
 *                  previous record's first + nframes (0 for the first record; for the end record:
 *                  the number of frames in the journal)
 *         16    …  nframes × nleads samples, int16 or int32, interleaved (s[f * nleads + l])
 *        16+S   4  CRC-32 of the record's bytes from its type byte up to the CRC
 *
 * A record is valid when its header fields are as above, it is whole, and its CRC matches. The
 * journal's content is the longest run of valid records from the start that does not go past an
 * end record; the rest is a torn or corrupt tail (a crash mid-write, a flipped bit) and is
 * dropped by store_journal_open. The format version changes when the layout does.
 *
 * Errors: functions that can fail take (char *err, size_t errlen) and write there a message that
 * names the file and the problem; STORE_JOURNAL_ERRLEN bytes hold any of them.
 *
 * Thread-safety: a journal object is used by one thread at a time; different journals may be used
 * from different threads. A journal file is open for appending by at most one journal object at a
 * time (store_journal_open and store_journal_create take an exclusive flock(2) on it, so a second
 * writer, in this process or another, gets an error). store_journal_read takes no lock and may
 * read a journal that is being appended to: it sees a prefix of the records.
 */
#ifndef ECGNET_STORE_JOURNAL_H
#define ECGNET_STORE_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#define STORE_JOURNAL_VERSION 1
#define STORE_JOURNAL_MAX_LEADS 16
#define STORE_JOURNAL_MAX_FRAMES 65535     /* frames per record, and per store_journal_read block */
#define STORE_JOURNAL_MAX_META 65536       /* bytes of meta text */
#define STORE_JOURNAL_ERRLEN 1536          /* a buffer of this size holds any message */

typedef struct store_journal store_journal;

typedef struct {
    int nleads;       /* 1..STORE_JOURNAL_MAX_LEADS */
    int sample_bytes; /* 2 (int16 samples) or 4 (int32) */
    const char *meta; /* opaque UTF-8 text (the device's hello as JSON), NUL-terminated,
                       * at most STORE_JOURNAL_MAX_META bytes; NULL means "" */
} store_journal_info;

/* Creates the journal PATH, which must not exist yet (O_EXCL), writes its header, and fsyncs the
 * file and its directory, so that on return the empty journal durably exists. Returns the
 * journal open for appending (free with store_journal_close), or NULL with a message in err:
 * invalid info, PATH exists, cannot create or write (disk full...). On failure no file is left
 * behind. */
store_journal *store_journal_create(const char *path, const store_journal_info *info, char *err,
                                    size_t errlen);

/* Reopens the journal PATH for appending after a restart or a crash. Validates the header, scans
 * every record (CRCs, record fields, continuity of sample indices), truncates a torn or corrupt
 * tail (everything from the first bad record on; ftruncate then fsync) and remembers how many
 * bytes it dropped (store_journal_dropped_bytes). Everything kept is then synced, so durable()
 * == next() on return. Returns the journal (free with store_journal_close), or NULL with a
 * message naming the file: missing or unreadable file, not a journal (bad magic), unsupported
 * format version, corrupt header (bad CRC, impossible fields, truncated), the journal is open by
 * another writer, truncation or sync failed. */
store_journal *store_journal_open(const char *path, char *err, size_t errlen);

/* Index of the next frame to append = frames stored (synced or not). */
int64_t store_journal_next(const store_journal *j);

/* Frames known durable: those stored as of the last successful sync (or open/create). Only these
 * may be acknowledged. durable() <= next(). */
int64_t store_journal_durable(const store_journal *j);

int store_journal_nleads(const store_journal *j);
int store_journal_sample_bytes(const store_journal *j);
const char *store_journal_meta(const store_journal *j);  /* "" when none; owned by j */
const char *store_journal_path(const store_journal *j);  /* owned by j */

/* 1 once the journal holds an end record (store_journal_end, or found by store_journal_open). */
int store_journal_ended(const store_journal *j);

/* Bytes of torn or corrupt tail that store_journal_open dropped (0 after create). */
int64_t store_journal_dropped_bytes(const store_journal *j);

/* Appends NFRAMES interleaved frames (frames[f * nleads + l]) starting at sample FIRST, with
 * FLAGS stored in each record, split into records of at most STORE_JOURNAL_MAX_FRAMES frames.
 * Written with write(2) only: not durable until store_journal_sync. NFRAMES 0 does nothing.
 * Returns 0, or -1 with err, storing nothing, when:
 *   - FIRST != store_journal_next() (a gap or an overlap; the message gives both indices; the
 *     caller trims samples it already has before calling),
 *   - a value does not fit the journal's sample width (int16),
 *   - the journal has ended, or an earlier failure made it unusable,
 *   - write(2) fails (disk full, file size limit, I/O error): the file is truncated back to its
 *     length before the call, so it stays a whole number of records, and next() is unchanged;
 *     when that truncation fails too, the journal becomes unusable (close and reopen it). */
int store_journal_append(store_journal *j, int64_t first, const int32_t *frames, size_t nframes,
                         uint32_t flags, char *err, size_t errlen);

/* Makes everything appended so far durable with one fdatasync; then durable() == next(). A no-op
 * when nothing is pending. Returns 0, or -1 with err. After a failed fdatasync the kernel may
 * have dropped the unsynced data, so the journal becomes unusable: close it and reopen it, which
 * recovers what is really in the file. */
int store_journal_sync(store_journal *j, char *err, size_t errlen);

/* Marks the recording complete: appends the end record (once) and syncs. Idempotent: calling it
 * again only syncs what may still be pending. Returns 0, or -1 with err (as append and sync). */
int store_journal_end(store_journal *j, char *err, size_t errlen);

/* Closes the file and frees the journal without syncing: what was not synced may or may not
 * survive a crash. NULL is allowed. */
void store_journal_close(store_journal *j);

/* Receives FRAMES (NFRAMES interleaved frames from sample FIRST, with the record's FLAGS); the
 * buffer belongs to the reader and is valid during the call only. Return 0 to go on, anything
 * else to stop reading (store_journal_read then returns it). */
typedef int (*store_journal_fn)(void *ctx, int64_t first, const int32_t *frames, size_t nframes,
                                uint32_t flags);

/* Reads the journal PATH without changing it: calls FN for its valid records in order, with the
 * frames from sample FROM (>= 0) on, the first record trimmed to start there, in blocks of at
 * most STORE_JOURNAL_MAX_FRAMES frames. Stops quietly at the end record or at a torn or corrupt
 * tail (not an error: that is what open would drop). Memory is bounded by one record, never the
 * whole file. A late FROM does not read what comes before it: its record is found by bisection
 * over the file (record boundaries recognised by their arithmetic and confirmed by two CRCs), so
 * a 10-s window at the end of a 24-hour journal costs about a millisecond, not a read of 1 GB;
 * the records delivered are checked as in a read from the start. Returns 0, FN's non-zero return value, or -1 with err (cannot open or read the
 * file, not a journal, unsupported version, corrupt header, negative FROM, out of memory). */
int store_journal_read(const char *path, int64_t from, store_journal_fn fn, void *ctx, char *err,
                       size_t errlen);

/* What store_journal_summarize finds in a journal file. */
typedef struct {
    int nleads;
    int sample_bytes;
    int64_t frames; /* frames in the valid records (what open would keep) */
    int ended;      /* 1 when the valid records end with the end record */
} store_journal_summary;

/* Reads the journal PATH without changing it or locking it, like store_journal_read without a
 * callback: the header's fields, and the frames of its valid records (a torn or corrupt tail is
 * not counted and not an error). A pass over the file, memory bounded by one record. Returns 0,
 * or -1 with err (as store_journal_read). */
int store_journal_summarize(const char *path, store_journal_summary *out, char *err,
                            size_t errlen);

/* What store_journal_compare found. */
typedef struct {
    int64_t frames;      /* frames in the journal's valid records */
    int64_t mismatches;  /* samples that differ from the expected ones, counting every journal
                            frame beyond the expected length as nleads mismatches */
} store_journal_diff;

/* Compares the journal PATH with the NFRAMES interleaved frames EXPECTED of NLEADS leads, read-only:
 * the journal is bit-exact when out->mismatches is 0 and out->frames equals NFRAMES (a shorter
 * journal is a prefix). For verifying stored recordings against their source. Returns 0, or -1
 * with err (as store_journal_read, or a lead count that differs from the journal's). */
int store_journal_compare(const char *path, const int32_t *expected, int64_t nframes, int nleads,
                          store_journal_diff *out, char *err, size_t errlen);

/* The header's meta text of the journal PATH (the device's hello), read-only and without a lock,
 * for readers beside the writer (the review API's signal). *META is malloc'd (caller frees).
 * Returns 0, or -1 with err (cannot open, not a journal, bad header). */
int store_journal_read_meta(const char *path, char **meta, char *err, size_t errlen);

#endif
