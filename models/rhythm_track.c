/* rhythm_track.c — on-interval FIFOs with a finality horizon, and the hysteresis feeding them. */
#include "rhythm_track.h"

#include <stdlib.h>
#include <string.h>

void rh_track_init(rh_track *t)
{
    memset(t, 0, sizeof *t);
}

void rh_track_free(rh_track *t)
{
    free(t->v);
    memset(t, 0, sizeof *t);
}

int rh_track_add(rh_track *t, int64_t start, int64_t end)
{
    if (end <= start) return 0;
    if (t->count && t->v[t->head + t->count - 1].end >= start) {
        rh_span *last = &t->v[t->head + t->count - 1];
        if (end > last->end) last->end = end;
        return 0;
    }
    if (t->head + t->count == t->cap) {
        if (t->head > 0) { /* the consumed front makes room: the FIFO stays as small as its backlog */
            memmove(t->v, t->v + t->head, t->count * sizeof *t->v);
            t->head = 0;
        }
        if (t->count == t->cap) {
            size_t cap = t->cap ? 2 * t->cap : 16;
            rh_span *v = realloc(t->v, cap * sizeof *v);
            if (!v) return -1;
            t->v = v;
            t->cap = cap;
        }
    }
    t->v[t->head + t->count++] = (rh_span){start, end};
    return 0;
}

const rh_span *rh_track_at(rh_track *t, int64_t time)
{
    while (t->count && t->v[t->head].end <= time) {
        t->head++;
        t->count--;
    }
    if (!t->count) t->head = 0;
    return t->count ? &t->v[t->head] : NULL;
}

void rh_hyst_init(rh_hyst *h, int64_t min_on, int64_t gap, rh_track *out)
{
    memset(h, 0, sizeof *h);
    h->min_on = min_on;
    h->gap = gap;
    h->out = out;
}

static void update_horizon(rh_hyst *h)
{
    int64_t hz = h->has ? (h->confirmed ? h->ce : h->cs) : h->now;
    if (hz > h->out->horizon) h->out->horizon = hz;
}

int rh_hyst_feed(rh_hyst *h, int64_t start, int64_t end, int on)
{
    if (end <= start) return 0;
    if (on) {
        if (h->has && (start - h->ce < h->gap || start <= h->ce)) {
            h->ce = end;
        } else {
            h->has = 1;
            h->confirmed = 0;
            h->cs = h->emitted = start;
            h->ce = end;
        }
        if (!h->confirmed && h->ce - h->cs >= h->min_on) h->confirmed = 1;
        if (h->confirmed) {
            if (rh_track_add(h->out, h->emitted, h->ce)) return -1;
            h->emitted = h->ce;
        }
    }
    h->now = end;
    /* A gap as long as the bridge ends the run; an unconfirmed run is dropped (it stays off). */
    if (h->has && !on && h->now - h->ce >= h->gap) h->has = 0;
    update_horizon(h);
    return 0;
}

void rh_hyst_finish(rh_hyst *h)
{
    h->has = 0;
    h->out->horizon = INT64_MAX;
}
