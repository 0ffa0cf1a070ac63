/* device.h — a device simulator: streams a recording over ecgnet.v1 as a bedside device would.
 *
 * N simulated devices from one libwebsockets client loop, each paced in real time (or faster),
 * keeping everything not yet acknowledged and, after a dropped connection, reconnecting with
 * the same recording id and resending from the sample the server asks for. Used by
 * `ecgnet replay`, the tests and the load benchmark.
 */
#ifndef ECGNET_NET_DEVICE_H
#define ECGNET_NET_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* What to stream: interleaved samples as the record holds them, with the leads' scaling. */
typedef struct {
    double fs;
    int nleads;
    fmt_lead leads[PROTO_MAX_LEADS];
    int sample_bytes;          /* 2 or 4 */
    fmt_patient patient;
    const int32_t *samples;    /* nframes * nleads, borrowed */
    int64_t nframes;
} device_source;

typedef struct {
    const char *url;           /* ws://HOST:PORT or wss://HOST:PORT (the path is PROTO_PATH) */
    const char *device;        /* device id and its token */
    const char *token;
    const char *recording;     /* recording id; with ndevices > 1, device i uses "<id>-<i>" */
    int ndevices;              /* 1 by default */
    double speed;              /* 1: real time; 10: ten times; 0: as fast as acknowledged */
    double frame_s;            /* seconds of signal per frame; 0: 0.2 */
    proto_mode mode;
    proto_encounter encounter; /* PROTO_ENCOUNTER_UNSTATED (0): no "encounter" in the hello */
    int insecure;              /* wss:// accepting a self-signed certificate (tests, labs) */
    double drop_every_s;       /* > 0: each device drops its connection this often, to exercise
                                  resuming (tests); 0: never */
    double timeout_s;          /* give up after this long; 0: never */
    double stagger_s;          /* device i starts i * stagger_s / ndevices seconds after the first,
                                  as devices in a region do not all start in the same instant */
    int quiet;
} device_config;

typedef struct {
    int64_t sent;              /* highest sample index sent + 1 (resends not counted twice) */
    int64_t acked;             /* the server's latest cumulative acknowledgement */
    int64_t ended_samples;     /* the server's "ended" count, -1 until then */
    int reconnects;
    int gaps;                  /* gap messages received */
    int flags;                 /* flag messages received */
    double first_flag_s;       /* stream time (seconds of signal sent) at the first critical flag,
                                  -1 if none */
    char first_flag_code[32];
    int close_code;            /* the last close code the server gave (0 none) */
    char error[256];           /* why the device gave up, "" if it finished */
} device_stats;

/* Streams SRC from c->ndevices simulated devices until every one has ended (or failed
 * fatally: authentication refused, malformed, limits) or the timeout passes. STATS has
 * c->ndevices entries. Returns the number of devices that completed (server said "ended" with
 * every sample), or -1 with err (bad URL, cannot create the client). */
int device_run(const device_config *c, const device_source *src, device_stats *stats, char *err,
               size_t errlen);

/* Loads a record file (WFDB or EDF) into a device_source. The samples are
 * malloc'd into *samples (caller frees). Returns 0 or -1 with err. */
int device_source_load(const char *path, device_source *src, int32_t **samples, char *err,
                       size_t errlen);

#endif
