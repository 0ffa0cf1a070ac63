/* quality.h — signal quality per lead, second by second: lead-off, saturation, noise; and the
 * stretches where no lead is readable, which analysis leaves out instead of raising false alarms.
 *
 * Streaming over the raw samples (ADC units and microvolts), one verdict per lead per second:
 *   off        flat: under 10 µV peak to peak (an electrode off, or a disconnected channel);
 *   saturated  a fifth or more of the second at the ADC's limits;
 *   noisy      beyond what an ECG can be: over 10 mV peak to peak (motion), or sample-to-sample
 *              noise (muscle, mains) with an RMS over a fifth of the second's peak-to-peak;
 *   good       otherwise.
 * A second is unreadable when no lead is good; consecutive unreadable seconds form a stretch.
 */
#ifndef ECGNET_MODELS_QUALITY_H
#define ECGNET_MODELS_QUALITY_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

typedef enum { SQ_GOOD = 0, SQ_OFF, SQ_SATURATED, SQ_NOISY } sq_state;

typedef struct {
    int64_t start, end;  /* samples, end exclusive */
} sq_stretch;

typedef struct sq_stream sq_stream;

/* A quality checker for nleads leads (with their scaling and ADC range) at fs Hz. Returns NULL
 * with a message in err. */
sq_stream *sq_stream_create(double fs, int nleads, const fmt_lead *leads, char *err, size_t errlen);
void sq_stream_free(sq_stream *s);

/* Pushes n interleaved frames (frames[f * nleads + l], ADC units). */
void sq_stream_push(sq_stream *s, const int32_t *frames, size_t n);

/* Ends the stream: the last partial second is judged too. */
void sq_stream_finish(sq_stream *s);

/* Pops the next closed unreadable stretch, in order. Returns 1 and fills *out, or 0. */
int sq_stream_next_unreadable(sq_stream *s, sq_stretch *out);

/* Lead l's state in the last judged second (SQ_GOOD before the first). */
sq_state sq_lead_state(const sq_stream *s, int l);

/* Fraction of lead l's judged seconds that were good, 0..1 (1 before the first). */
double sq_lead_quality(const sq_stream *s, int l);

/* "good", "off", "saturated", "noisy". */
const char *sq_state_name(sq_state st);

#endif
