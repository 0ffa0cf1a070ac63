/* rhythm_track.h — one rhythm's on-intervals as they become final, and the hysteresis that makes
 * them (minimum duration, merged gaps); the pieces rh_stream combines by priority. */
#ifndef ECGNET_MODELS_RHYTHM_TRACK_H
#define ECGNET_MODELS_RHYTHM_TRACK_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t start, end; /* samples, end exclusive */
} rh_span;

/* A FIFO of sorted, non-overlapping on-intervals, and the horizon: before it the track's on/off
 * state is final (no interval starting before it will be added). */
typedef struct {
    rh_span *v;
    size_t head, count, cap;
    int64_t horizon;
} rh_track;

void rh_track_init(rh_track *t);
void rh_track_free(rh_track *t);
/* Appends [start, end) (merged with the last interval when they touch). Returns 0 or -1 (memory). */
int rh_track_add(rh_track *t, int64_t start, int64_t end);
/* The first interval not ending at or before t, or NULL. Drops the ones before. */
const rh_span *rh_track_at(rh_track *t, int64_t time);

/* Hysteresis: input pieces of time in order, each on or off; a run of on-pieces becomes output
 * once it lasts min_on, and off-gaps shorter than gap between on-pieces are bridged. The output
 * track's horizon lags the input by at most max(min_on, gap). */
typedef struct {
    int64_t min_on, gap;
    int has, confirmed;
    int64_t cs, ce, emitted, now;
    rh_track *out;
} rh_hyst;

void rh_hyst_init(rh_hyst *h, int64_t min_on, int64_t gap, rh_track *out);
/* The piece [start, end) is on or off. Pieces arrive in order (gaps between them are off). */
int rh_hyst_feed(rh_hyst *h, int64_t start, int64_t end, int on);
/* No more input: the output is final everywhere. */
void rh_hyst_finish(rh_hyst *h);

#endif
