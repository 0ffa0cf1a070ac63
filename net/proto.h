/* proto.h — the ecgnet.v1 device protocol: parsing and building its messages (docs/protocol.md).
 *
 * Pure functions over bytes: no sockets, no state, no threads, so the parsers are fuzzed directly
 * (tests/fuzz/fuzz_hello.c, fuzz_frame.c) and shared by the server and the device client.
 *
 * Text messages are JSON objects with a "type"; sample frames are binary:
 *
 *     offset size  field
 *          0    1  kind: 1 = samples
 *          1    1  flags: bit 0 pacemaker pulse in this frame
 *          2    2  nframes: samples per lead in this frame, 1..PROTO_MAX_FRAMES
 *          4    2  lead-off mask (bit l: lead l off)
 *          6    2  saturation mask (bit l: lead l saturated)
 *          8    8  first: index of the frame's first sample since the recording began
 *         16    …  nframes × nleads samples, interleaved (s[f * nleads + l]), int16 or int32
 *
 * All integers little-endian. The lead count and sample width come from the hello.
 */
#ifndef ECGNET_NET_PROTO_H
#define ECGNET_NET_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

#define PROTO_NAME "ecgnet.v1"          /* the WebSocket subprotocol */
#define PROTO_PATH "/v1/device"         /* where devices connect */
#define PROTO_MAX_LEADS 16
#define PROTO_MIN_FS 125.0
#define PROTO_MAX_FS 2000.0
#define PROTO_MAX_FRAMES 4000           /* per binary frame: 2 s at the highest rate */
#define PROTO_HEADER_BYTES 16
#define PROTO_MAX_FRAME_BYTES (PROTO_HEADER_BYTES + PROTO_MAX_FRAMES * PROTO_MAX_LEADS * 4)
#define PROTO_MAX_TEXT_BYTES 16384      /* any JSON message */

#define PROTO_FLAG_PACE 0x01u

/* WebSocket close codes (4000–4999 are the application's), each sent with a reason text. */
enum {
    PROTO_CLOSE_NORMAL = 1000,        /* the recording ended */
    PROTO_CLOSE_GOING_AWAY = 1001,    /* the server shuts down: reconnect and resume */
    PROTO_CLOSE_AUTH = 4001,          /* unknown device or wrong token */
    PROTO_CLOSE_REVOKED = 4002,       /* the device's token was revoked */
    PROTO_CLOSE_MALFORMED = 4003,     /* a message that does not parse or breaks a rule */
    PROTO_CLOSE_TOO_BIG = 4004,       /* a message over the size limit */
    PROTO_CLOSE_BACKWARDS = 4005,     /* a frame's first sample before the previous frame's */
    PROTO_CLOSE_UNKNOWN_TYPE = 4006,  /* an unknown message type */
    PROTO_CLOSE_LIMITS = 4007,        /* leads, sample rate or sample type outside the limits */
    PROTO_CLOSE_ORDER = 4008,         /* samples before hello, a second hello, data after end */
    PROTO_CLOSE_BUSY = 4009,          /* the recording is streaming on another connection */
    PROTO_CLOSE_STORAGE = 4010,       /* the server cannot store (disk full): retry later */
    PROTO_CLOSE_TIMEOUT = 4011,       /* no hello in time, or a client that never reads */
};

typedef enum { PROTO_MODE_RESTING, PROTO_MODE_CONTINUOUS } proto_mode;

/* The patient's encounter, which decides how long the recording is kept (docs/cli.md, `ecgnet
 * retention`). UNSTATED (no "encounter" member) counts as outpatient; it is kept apart so that a
 * hello without the member is rebuilt without it, byte for byte (journals written before the
 * member existed keep matching). */
typedef enum { PROTO_ENCOUNTER_UNSTATED, PROTO_ENCOUNTER_OUTPATIENT, PROTO_ENCOUNTER_INPATIENT } proto_encounter;

/* "inpatient" for PROTO_ENCOUNTER_INPATIENT, "outpatient" for anything else (a static string). */
const char *proto_encounter_name(proto_encounter e);

/* The device's hello, as parsed. Strings are NUL-terminated copies. */
typedef struct {
    char device[65];          /* [A-Za-z0-9._-], 1..64 */
    char token[128];
    char recording[129];      /* chosen by the device so it can resume; [A-Za-z0-9._:-], 1..128 */
    fmt_patient patient;      /* id, sex 'M'/'F'/0, age or -1, birthdate or "" */
    double fs;                /* PROTO_MIN_FS..PROTO_MAX_FS */
    int nleads;               /* 1..PROTO_MAX_LEADS */
    fmt_lead leads[PROTO_MAX_LEADS]; /* name, uv_per_unit, baseline (0 unless sent),
                                        adc_min/adc_max as sent or the sample type's range */
    int sample_bytes;         /* 2 ("int16") or 4 ("int32") */
    double dev_hp_hz, dev_lp_hz, dev_notch_hz; /* the device's own filter; 0 = none/unknown */
    char start_time[40];      /* device clock, ISO 8601 as sent, or "" */
    proto_mode mode;
    proto_encounter encounter;
} proto_hello;

/* Parses a hello (JSON text of LEN bytes, not necessarily NUL-terminated). Returns 0, or a
 * PROTO_CLOSE_* code with a message in err saying which field is wrong and why. */
int proto_hello_parse(const char *text, size_t len, proto_hello *h, char *err, size_t errlen);

/* The hello as JSON (without the token), for the journal's header and the store; malloc'd,
 * NULL when out of memory. */
char *proto_hello_json(const proto_hello *h);

/* Builds a hello (the device side). Returns a malloc'd NUL-terminated string, or NULL. */
char *proto_hello_build(const proto_hello *h);

typedef struct {
    uint8_t flags;
    uint16_t nframes;
    uint16_t lead_off, saturated;
    int64_t first;
    const uint8_t *samples;   /* points into the parsed buffer */
} proto_frame;

/* Parses a binary frame of LEN bytes for a stream of NLEADS leads and SAMPLE_BYTES per sample.
 * Returns 0, or a PROTO_CLOSE_* code with err (length not matching the header, nframes 0 or too
 * many, first negative, unknown kind, lead bits beyond nleads; PROTO_CLOSE_LIMITS when NLEADS is
 * not 1..PROTO_MAX_LEADS or SAMPLE_BYTES not 2 or 4). */
int proto_frame_parse(const uint8_t *buf, size_t len, int nleads, int sample_bytes, proto_frame *f,
                      char *err, size_t errlen);

/* Decodes frames [skip, f->nframes) of F into out (interleaved int32), returns the count. */
size_t proto_frame_samples(const proto_frame *f, int nleads, int sample_bytes, size_t skip,
                           int32_t *out);

/* Encodes a frame into buf (PROTO_HEADER_BYTES + nframes*nleads*sample_bytes bytes; the caller
 * sizes it) and returns the length, or 0 when a sample does not fit SAMPLE_BYTES. */
size_t proto_frame_build(uint8_t *buf, int64_t first, const int32_t *samples, size_t nframes,
                         int nleads, int sample_bytes, uint8_t flags, uint16_t lead_off,
                         uint16_t saturated);

/* The type of a JSON text message ("hello", "end", ...) copied into type; 0, or
 * PROTO_CLOSE_MALFORMED with err when it is not a JSON object with a string "type". */
int proto_text_type(const char *text, size_t len, char *type, size_t typelen, char *err,
                    size_t errlen);

/* Reads an integer member NAME of a JSON object message ("next_sample" of an ack, "samples"
 * of an end). Returns 0, or -1 when absent or not a whole number >= 0. */
int proto_text_int(const char *text, size_t len, const char *name, int64_t *out);

#endif
