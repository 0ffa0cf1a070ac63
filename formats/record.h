/* record.h — one reader interface for ECG records, whatever the file format (WFDB, EDF/EDF+/BDF).
 *
 * A record is N leads sampled at one rate, read in blocks of frames (one sample of every lead),
 * never the whole file in memory. Samples are the file's own integers (ADC units); convert with
 *     microvolts = (sample - lead.baseline) * lead.uv_per_unit
 *
 * Errors: every function that can fail takes (char *err, size_t errlen) and writes there a message
 * that names the file and the problem, e.g. "100.dat: truncated: header says 650000 samples, file
 * holds 1200". Not thread-safe per record; different records may be used from different threads.
 */
#ifndef ECGNET_FORMATS_RECORD_H
#define ECGNET_FORMATS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define FMT_MAX_LEADS 64
#define FMT_ERRLEN 512 /* a buffer of this size holds any message the module writes */

typedef struct {
    char name[32];      /* lead name as the file gives it ("MLII", "V1", "I"), never empty */
    double uv_per_unit; /* microvolts per ADC unit, > 0 */
    double baseline;    /* the ADC value that means 0 µV */
    int32_t adc_min;    /* valid digital range; samples at either end are saturated */
    int32_t adc_max;
} fmt_lead;

typedef struct {
    char id[64];        /* patient id/code if the file has one, else "" */
    char sex;           /* 'M', 'F', or 0 when unknown */
    int age;            /* years, or -1 when unknown */
    char birthdate[11]; /* "YYYY-MM-DD", or "" when unknown */
} fmt_patient;

typedef struct fmt_record fmt_record;

/* Opens a record. PATH is an EDF/BDF file (.edf, .bdf, .rec, any case) or a WFDB record: the .hea
 * path or the record path without extension. Returns 0 and sets *out (free with fmt_record_free),
 * or -1 with a message in err. A record with zero leads, an unsupported format, a header that
 * lies about the length of its signal files, or an EDF+D (discontinuous) file is an error. */
int fmt_record_open(const char *path, fmt_record **out, char *err, size_t errlen);

/* Frees the record and closes its files; NULL is allowed. */
void fmt_record_free(fmt_record *r);

int fmt_record_nleads(const fmt_record *r);
double fmt_record_fs(const fmt_record *r);          /* samples per second of every lead */
int64_t fmt_record_nsamples(const fmt_record *r);   /* frames (samples per lead) */
const fmt_lead *fmt_record_lead(const fmt_record *r, int i); /* 0 <= i < nleads; owned by r */
const fmt_patient *fmt_record_patient(const fmt_record *r);   /* owned by r */
const char *fmt_record_name(const fmt_record *r);   /* record name (file name sans extension) */
const char *fmt_record_format(const fmt_record *r); /* "WFDB", "EDF", "EDF+", "BDF", "BDF+" */

/* Reads up to max_frames frames from the current position into buf, interleaved:
 * buf[f * nleads + lead]. Returns the number of frames read (0 at the end of the record), or -1
 * with a message in err (I/O error, file shorter than its header said). */
long fmt_record_read(fmt_record *r, int32_t *buf, long max_frames, char *err, size_t errlen);

/* Reads the rest of the record, from the current position to its end, into new memory (*frames,
 * interleaved as fmt_record_read's; the caller frees it) and sets *n to the frames read. Returns
 * 0, or -1 with a message in err (out of memory, or as fmt_record_read); *frames is NULL then. */
int fmt_record_read_all(fmt_record *r, int32_t **frames, int64_t *n, char *err, size_t errlen);

/* Moves the read position to frame (0 <= frame <= nsamples). Returns 0, or -1 with err. */
int fmt_record_seek(fmt_record *r, int64_t frame, char *err, size_t errlen);

#endif
