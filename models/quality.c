/* quality.c — per-lead signal quality over one-second windows, and the unreadable stretches. */
#include "quality.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLAT_UV 10.0          /* a lead moving less than this in a second is off */
#define SATURATED_FRACTION 0.2
#define MOTION_UV 10000.0     /* no ECG swings 10 mV in a second; electrode motion does */
#define NOISE_RATIO 0.2       /* sample-to-sample RMS against the second's peak to peak: white noise
                                 * alone gives 0.24, an ECG under heavy muscle noise about 0.15 */

typedef struct {
    double lo, hi;            /* µV extremes in the window */
    double diff2;             /* sum of squared sample-to-sample differences, µV² */
    double prev;
    int32_t adc_lo, adc_hi;   /* the lead's ADC limits */
    double scale, offset;
    long at_limit;
    sq_state state;
    long good, judged;
} lead_q;

struct sq_stream {
    int nleads;
    long window;              /* samples per judgement (one second) */
    long filled;              /* samples in the current window */
    int64_t window_start;
    lead_q *leads;
    int64_t open_start;       /* start of the unreadable stretch in progress, -1 if none */
    sq_stretch *done;         /* closed stretches not yet popped */
    size_t head, count, cap;
};

const char *sq_state_name(sq_state st)
{
    static const char *names[] = {"good", "off", "saturated", "noisy"};
    return names[st];
}

sq_stream *sq_stream_create(double fs, int nleads, const fmt_lead *leads, char *err, size_t errlen)
{
    if (!(fs > 0) || nleads < 1 || nleads > FMT_MAX_LEADS) {
        snprintf(err, errlen, "signal quality: %d leads at %g Hz is not a recording", nleads, fs);
        return NULL;
    }
    sq_stream *s = calloc(1, sizeof *s);
    if (!s || !(s->leads = calloc((size_t)nleads, sizeof *s->leads))) {
        free(s);
        snprintf(err, errlen, "signal quality: out of memory");
        return NULL;
    }
    s->nleads = nleads;
    s->window = lround(fs) > 1 ? lround(fs) : 1;
    s->open_start = -1;
    for (int l = 0; l < nleads; l++) {
        lead_q *q = &s->leads[l];
        q->adc_lo = leads[l].adc_min;
        q->adc_hi = leads[l].adc_max;
        q->scale = leads[l].uv_per_unit;
        q->offset = leads[l].baseline;
        q->lo = INFINITY;
        q->hi = -INFINITY;
    }
    return s;
}

void sq_stream_free(sq_stream *s)
{
    if (!s) return;
    free(s->done);
    free(s->leads);
    free(s);
}

static void close_stretch(sq_stream *s, int64_t end)
{
    if (s->open_start < 0) return;
    if (s->head + s->count == s->cap) {
        if (s->head) {
            memmove(s->done, s->done + s->head, s->count * sizeof *s->done);
            s->head = 0;
        }
        if (s->count == s->cap) {
            size_t cap = s->cap ? 2 * s->cap : 16;
            sq_stretch *d = realloc(s->done, cap * sizeof *d);
            if (!d) return; /* out of memory: the stretch is not reported, analysis goes on */
            s->done = d;
            s->cap = cap;
        }
    }
    s->done[s->head + s->count++] = (sq_stretch){s->open_start, end};
    s->open_start = -1;
}

static sq_state judge(const lead_q *q, long n)
{
    if (n < 2) return q->state;
    double pp = q->hi - q->lo;
    if (q->adc_hi > q->adc_lo && (double)q->at_limit >= SATURATED_FRACTION * (double)n) return SQ_SATURATED;
    if (pp < FLAT_UV) return SQ_OFF;
    if (pp > MOTION_UV) return SQ_NOISY;
    if (sqrt(q->diff2 / (double)(n - 1)) > NOISE_RATIO * pp) return SQ_NOISY;
    return SQ_GOOD;
}

/* Judges the window just filled and starts the next. */
static void end_window(sq_stream *s)
{
    int any_good = 0;
    for (int l = 0; l < s->nleads; l++) {
        lead_q *q = &s->leads[l];
        q->state = judge(q, s->filled);
        q->judged++;
        q->good += q->state == SQ_GOOD;
        any_good |= q->state == SQ_GOOD;
        q->lo = INFINITY;
        q->hi = -INFINITY;
        q->diff2 = 0.0;
        q->at_limit = 0;
    }
    if (!any_good && s->open_start < 0) s->open_start = s->window_start;
    if (any_good) close_stretch(s, s->window_start);
    s->window_start += s->filled;
    s->filled = 0;
}

void sq_stream_push(sq_stream *s, const int32_t *frames, size_t n)
{
    for (size_t f = 0; f < n; f++) {
        const int32_t *fr = frames + f * (size_t)s->nleads;
        for (int l = 0; l < s->nleads; l++) {
            lead_q *q = &s->leads[l];
            double uv = ((double)fr[l] - q->offset) * q->scale;
            if (uv < q->lo) q->lo = uv;
            if (uv > q->hi) q->hi = uv;
            if (s->filled) q->diff2 += (uv - q->prev) * (uv - q->prev);
            q->prev = uv;
            q->at_limit += fr[l] <= q->adc_lo || fr[l] >= q->adc_hi;
        }
        if (++s->filled == s->window) end_window(s);
    }
}

void sq_stream_finish(sq_stream *s)
{
    if (s->filled) end_window(s);
    close_stretch(s, s->window_start);
}

int sq_stream_next_unreadable(sq_stream *s, sq_stretch *out)
{
    if (!s->count) return 0;
    *out = s->done[s->head++];
    s->count--;
    return 1;
}

sq_state sq_lead_state(const sq_stream *s, int l) { return s->leads[l].state; }

double sq_lead_quality(const sq_stream *s, int l)
{
    const lead_q *q = &s->leads[l];
    return q->judged ? (double)q->good / (double)q->judged : 1.0;
}
