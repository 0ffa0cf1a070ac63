/* edf_write.h — streaming EDF+C writer (16-bit) for ECG leads with annotations, through EDFlib.
 *
 * Usage: fmt_edf_writer_create(), then any number of fmt_edf_writer_write() calls with
 * interleaved frames in blocks of any size, fmt_edf_writer_annotate() at any time, and finally
 * fmt_edf_writer_close(). EDFlib writes the header's record count and all annotations when the
 * file is closed: the file is only a valid EDF+ file after fmt_edf_writer_close() succeeded.
 *
 * What is written: one signal per lead, labelled "ECG <name>", physical dimension "uV", with
 * the digital range adc_min..adc_max (or -32768..32767) and the physical range derived from
 * uv_per_unit and baseline, so the digital values in the file are exactly the caller's samples
 * and fmt_record_open() gives them back bit-identical with the same scaling (the physical
 * extremes are 8-character header fields, so uv_per_unit and baseline come back to about 7
 * significant digits). Patient code, sex and birth date, the start date and time, equipment
 * "ecgnet", and one EDF+ annotation signal per annotations_per_second.
 *
 * Data records last 1 s when fs is an integer; otherwise the shortest whole number of seconds
 * (up to 60) that holds a whole number of samples, e.g. 2 s at 128.5 Hz; other rates are
 * refused. The writer buffers one data record per lead.
 *
 * The end: the last data record is padded to its full length by repeating each lead's last
 * sample, so a reader reports the length rounded up to whole data records (e.g. 2.5 s at 1 s
 * records reads back as 3 s, the last 0.5 s flat). Callers that need the exact length should
 * annotate it.
 *
 * Annotation capacity: EDF+ stores annotations inside data records, one per annotation signal
 * per record (EDFlib's layout: the k-th annotation added goes into record k / signals, whatever
 * its onset) and at most 40 bytes of text each. So the file holds annotations_per_second times
 * its length in seconds; size it for the average you expect (beat labels at up to 240 bpm plus
 * events: 5, the default; each signal costs 114 bytes per data record). Annotations that do not
 * fit are dropped by EDFlib at close; fmt_edf_writer_close() then reports how many.
 *
 * Errors name the file and the problem. Not thread-safe per writer; different writers (and
 * readers) may be used from different threads.
 */
#ifndef ECGNET_FORMATS_EDF_WRITE_H
#define ECGNET_FORMATS_EDF_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

#define FMT_EDF_MAX_ANNOT_TEXT 40 /* bytes of UTF-8 text per annotation (EDFlib's limit) */

typedef struct {
    int nleads;            /* 1..FMT_MAX_LEADS */
    const fmt_lead *leads; /* nleads entries: name (1..12 printable ASCII characters, stored as
                            * the label "ECG <name>"), uv_per_unit > 0, baseline, and the
                            * digital range adc_min < adc_max within -32768..32767, or both 0
                            * for the full 16-bit range */
    double fs;             /* samples per second of every lead, > 0 (see data records above) */
    fmt_patient patient;   /* id (written as the EDF+ patient code, printable ASCII, spaces
                            * become '_'), sex 'M'/'F'/0, birthdate "YYYY-MM-DD" or ""; age is
                            * ignored (readers derive it from the birth and start dates) */
    int start_year;        /* 1985..2084, or 0 for EDF+'s anonymous 1985-01-01 00:00:00 */
    int start_month, start_day, start_hour, start_minute, start_second;
    int annotations_per_second; /* capacity, on average per second of signal; 0 means 5 */
} fmt_edf_writer_opts;

typedef struct fmt_edf_writer fmt_edf_writer;

/* Creates (or silently overwrites) PATH as an EDF+C file described by *o. Returns the writer,
 * or NULL with a message in err (invalid options, a name that does not fit, the file cannot be
 * created, too many EDF files open in this process). On failure no file is left behind. */
fmt_edf_writer *fmt_edf_writer_create(const char *path, const fmt_edf_writer_opts *o, char *err,
                                      size_t errlen);

/* Appends NFRAMES interleaved frames (frames[f * nleads + lead]). Samples outside the lead's
 * digital range are clipped to it and counted (fmt_edf_writer_clipped). Writes each data record
 * as soon as it is full. Returns 0, or -1 with err on a write error (disk full); after an
 * error the writer can only be closed. */
int fmt_edf_writer_write(fmt_edf_writer *w, const int32_t *frames, long nframes, char *err,
                         size_t errlen);

/* Adds an annotation at SAMPLE (frame index from the start, >= 0) lasting DURATION_SAMPLES
 * frames (negative: no duration), with TEXT: valid UTF-8, 1..FMT_EDF_MAX_ANNOT_TEXT bytes, no
 * control characters (e.g. "N", "V", "AFIB start"). Onsets and durations are stored in EDFlib's
 * write resolution of 100 µs, which maps back to the same sample at any rate up to 5 kHz.
 * May be called before or after the samples it refers to are written, and beyond the end.
 * Returns 0, or -1 with err for invalid arguments. */
int fmt_edf_writer_annotate(fmt_edf_writer *w, int64_t sample, int64_t duration_samples,
                            const char *text, char *err, size_t errlen);

/* Samples clipped to their lead's digital range so far. */
int64_t fmt_edf_writer_clipped(const fmt_edf_writer *w);

/* Frames written so far (before padding of the last data record). */
int64_t fmt_edf_writer_frames(const fmt_edf_writer *w);

/* Pads and writes the last data record, lets EDFlib write the header and annotations, closes
 * and frees the writer (always, even on error; NULL is allowed and returns 0). Returns 0, or -1
 * with err when the file is not valid or not complete: an earlier write error, no samples
 * written at all (the file is removed), EDFlib failing to close, a file size after closing that
 * disagrees with its header (disk full), or annotations that did not fit (the file is valid but
 * lacks them; the message says how many). */
int fmt_edf_writer_close(fmt_edf_writer *w, char *err, size_t errlen);

#endif
