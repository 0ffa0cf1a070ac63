/* archive.h — a recording's EDF+ archive (signals, beat and flag annotations) from its journal.
 *
 * Why a separate step: EDFlib writes the EDF header only when the file is closed and never
 * fsyncs, so an EDF file cannot be the durable store of a live recording; the journal
 * (journal.h) is. When the recording ends, its journal is turned into the archive here, through
 * the project's EDF+ writer (formats/edf_write.h): EDF+C, 16-bit, one signal per lead.
 *
 * The archive is written atomically: into EDF_PATH.tmp, fsynced, renamed over EDF_PATH, and the
 * directory fsynced. A reader sees either no file (or the previous one) or the complete new one;
 * a crash may leave EDF_PATH.tmp behind, which the next write of the same archive overwrites.
 *
 * The exact length: EDF stores whole data records, so a reader reports the length rounded up to
 * whole records (the writer pads the last one with each lead's last sample). Every archive
 * therefore carries one extra annotation at sample 0, lasting the recording's length, with the
 * text "length N frames" (STORE_ARCHIVE_LENGTH_FORMAT), N the exact number of frames.
 *
 * Thread-safety: different archives may be written from different threads at the same time.
 */
#ifndef ECGNET_STORE_ARCHIVE_H
#define ECGNET_STORE_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

#define STORE_ARCHIVE_LENGTH_FORMAT "length %lld frames" /* the exact-length annotation's text */

typedef struct {
    int64_t sample;   /* onset: frame index from the start of the recording, >= 0 */
    int64_t duration; /* frames, < 0: none */
    char text[41];    /* NUL-terminated valid UTF-8, 1..40 bytes, no control characters
                       * (EDF+'s limit): a beat label "N", "V", or an event "AFIB start" */
} store_annotation;

typedef struct {
    double fs;             /* samples per second (see edf_write.h for the rates EDF+ can hold) */
    int nleads;            /* must equal the journal's */
    const fmt_lead *leads; /* nleads entries: name, scaling, digital range (as edf_write.h) */
    fmt_patient patient;   /* id, sex, birthdate (as edf_write.h; age is ignored) */
    int start_year, start_month, start_day, start_hour, start_minute, start_second; /* local
                            * start date and time; start_year 0: EDF+'s anonymous date */
} store_archive_info;

/* Writes every sample of the journal JOURNAL_PATH (its valid records, ended or not; see
 * journal.h) and the NANN annotations ANN (any order; onsets may be past the end) as the EDF+C
 * file EDF_PATH, atomically (see above), replacing any file of that name. Annotation capacity is
 * sized from NANN and the recording's duration, so none is dropped. Samples outside a lead's
 * digital range (e.g. int32 journals) are clipped to it; *CLIPPED (may be NULL) gets how many.
 * Returns 0, or -1 with a message in err naming the file and the problem: the journal cannot be
 * read or holds no samples, INFO does not match it (lead count) or is refused by the EDF
 * writer (names, scaling, rate, date), an annotation is invalid or there are more than EDF+ can
 * hold (64 per second), a write, sync or rename fails. On error EDF_PATH is left as it was and
 * no EDF_PATH.tmp remains, with one exception the message states: when only the final fsync of
 * the directory fails, the new archive is already in place but its rename may not survive a
 * crash. */
int store_archive_write(const char *journal_path, const char *edf_path,
                        const store_archive_info *info, const store_annotation *ann, size_t nann,
                        long *clipped, char *err, size_t errlen);

#endif
