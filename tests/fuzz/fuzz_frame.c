/* fuzz_frame.c — arbitrary bytes as a sample frame; whatever parses must rebuild byte for byte. */
#include "proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int32_t samples[PROTO_MAX_FRAMES * PROTO_MAX_LEADS];
static int32_t tail[PROTO_MAX_FRAMES * PROTO_MAX_LEADS];
static uint8_t rebuilt[PROTO_MAX_FRAME_BYTES];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    /* The first byte stands for the hello: low 4 bits the lead count - 1, bit 4 the sample width. */
    int nleads = (data[0] & 0x0f) + 1, sample_bytes = data[0] & 0x10 ? 4 : 2;
    const uint8_t *buf = data + 1;
    size_t len = size - 1;
    proto_frame f;
    char err[256] = "";
    int rc = proto_frame_parse(buf, len, nleads, sample_bytes, &f, err, sizeof err);
    if (rc != 0) {
        if (!err[0] || (rc != PROTO_CLOSE_MALFORMED && rc != PROTO_CLOSE_TOO_BIG && rc != PROTO_CLOSE_UNKNOWN_TYPE))
            abort(); /* every refusal is a frame close code and says why */
        return 0;
    }
    if (f.nframes < 1 || f.nframes > PROTO_MAX_FRAMES || f.first < 0) abort();
    if (proto_frame_samples(&f, nleads, sample_bytes, 0, samples) != f.nframes) abort();
    size_t n = proto_frame_build(rebuilt, f.first, samples, f.nframes, nleads, sample_bytes, f.flags, f.lead_off,
                                 f.saturated);
    if (n != len || memcmp(rebuilt, buf, len)) abort();
    /* Skipping k frames yields the tail of the same samples. */
    size_t skip = f.nframes / 2;
    if (proto_frame_samples(&f, nleads, sample_bytes, skip, tail) != f.nframes - skip ||
        memcmp(tail, samples + skip * (size_t)nleads, (f.nframes - skip) * (size_t)nleads * sizeof *tail))
        abort();
    return 0;
}
