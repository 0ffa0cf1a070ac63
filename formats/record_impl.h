/* record_impl.h — what a format reader fills in behind the fmt_record interface (private). */
#ifndef ECGNET_FORMATS_RECORD_IMPL_H
#define ECGNET_FORMATS_RECORD_IMPL_H

#include "record.h"

typedef struct {
    /* Reads up to max_frames interleaved frames from the reader's position; as fmt_record_read. */
    long (*read)(void *impl, int32_t *buf, long max_frames, char *err, size_t errlen);
    /* Moves to frame; as fmt_record_seek (the frame is already range-checked). */
    int (*seek)(void *impl, int64_t frame, char *err, size_t errlen);
    void (*close)(void *impl);
} fmt_record_ops;

struct fmt_record {
    const fmt_record_ops *ops;
    void *impl;
    int nleads;
    double fs;
    int64_t nsamples;
    int64_t pos; /* next frame read() returns */
    fmt_lead leads[FMT_MAX_LEADS];
    fmt_patient patient;
    char name[256];
    char format[8];
};

/* Readers: each fills a zeroed *r (all fields but pos) or returns -1 with err. On error the
 * reader has released everything it acquired. */
int fmt_wfdb_open(const char *path, fmt_record *r, char *err, size_t errlen);
int fmt_edf_open(const char *path, fmt_record *r, char *err, size_t errlen);

/* Writes "name: message" into err; returns -1 so callers can `return fmt_fail(...)`. */
int fmt_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
