/* rhythm_afl.c — atrial flutter window verdicts from the QRS-T-cancelled residual's
 * autocorrelation (see rhythm_afl.h). */
#include "rhythm_afl.h"

#include "biquad.h"
#include "rhythm_af.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TARGET_HZ 50.0     /* analysis rate: flutter waves (<= 6 Hz) need far less than the input's */
#define RING_S 24.0        /* decimated signal kept: a window plus the longest wait for the next beat */
#define PRE_S 0.25         /* the template starts before the fiducial point: the P wave is in it */
#define POST_S 0.60        /* ... and ends after the T wave */
#define QRS_BEFORE_S 0.06  /* the QRS itself is masked: a template shifted by one sample leaves */
#define QRS_AFTER_S 0.10   /* most of it, far above any flutter wave */
#define TEMPLATE_WEIGHT (1.0 / 16.0) /* a running average over about 16 beats */
#define TEMPLATE_MIN 4     /* beats before the template is trusted */
#define HP_HZ 2.5          /* the T waves' remains and baseline wander out */
#define LP_HZ 10.0         /* muscle noise out; flutter waves are 2.8-6 Hz */
#define LAG_MIN_S 0.17     /* flutter cycles: 350/min ... */
#define LAG_MAX_S 0.36     /* ... to 167/min (treated, slowed flutter) */
#define R1_MIN 0.6         /* one cycle later the waveform repeats ... */
#define R2_MIN 0.45        /* ... and two cycles later still: no drift in the cycle */
#define RMS_MIN_UV 35.0    /* below: a flat baseline or low noise, nothing atrial to measure */
#define VALID_MIN 0.25     /* unmasked fraction a window needs */
#define AF_STRIDE 16       /* the RR intervals' AF verdict is taken every 16th beat ... */
#define AF_PRECHECK 0.05   /* ... when their mean successive difference is >= 5 % of their mean */

typedef struct {
    int64_t r;   /* decimated sample */
    int64_t raw; /* input sample */
    int v;       /* ventricular */
} beat;

struct rh_afl {
    int nleads;
    int decim;
    double fd;             /* analysis rate */
    size_t ring;           /* decimated samples kept (power of two) */
    int pre, post, tlen, qb, qa, lag_min, lag_max, window, hop;
    int64_t next_in;       /* next input sample expected, -1 before the first */
    int64_t nd;            /* decimated samples produced */
    float *x;              /* nleads * ring: decimated signal */
    float *bp;             /* nleads * ring: band-passed residual */
    unsigned char *mask;   /* ring: 1 where the residual is not atrial activity */
    int64_t *valid;        /* ring: unmasked samples before each one, since the first beat */
    int64_t done;          /* residual computed below this, -1 before the first beat */
    int64_t next_end;      /* end of the next window to measure */
    double *tmpl;          /* nleads * tlen */
    int *tcount;           /* tlen: beats each template sample has learnt from */
    int nt;                /* beats in the template */
    dsp_biquad hp, lp;
    dsp_biquad_state hs[RH_AFL_MAX_LEADS], ls[RH_AFL_MAX_LEADS];
    beat *beats;           /* beats whose stretch is not done yet */
    size_t bhead, bcount, bcap;
    int64_t last_beat;     /* input sample of the last beat, -1 before the first */
    int64_t rr[RH_AF_WINDOW];    /* the latest RR intervals (input samples), a ring */
    int64_t nrr;                 /* intervals seen */
    int64_t rr_sum, drr_sum;     /* over the ring: the intervals, their successive differences */
    int af;                      /* the last RR window was AF */
    double *scratch;       /* 3 * window */
    rh_afl_verdict *out;
    size_t ohead, ocount, ocap;
};

rh_afl *rh_afl_create(double fs, int nleads, char *err, size_t errlen)
{
    if (!(fs >= 50 && fs <= 100000) || nleads < 1 || nleads > RH_AFL_MAX_LEADS) {
        snprintf(err, errlen, "flutter detector: %g Hz with %d leads is outside 50..100000 Hz, 1..%d leads", fs,
                 nleads, RH_AFL_MAX_LEADS);
        return NULL;
    }
    rh_afl *a = calloc(1, sizeof *a);
    if (!a) goto oom;
    a->nleads = nleads;
    a->decim = (int)floor(fs / TARGET_HZ + 0.5);
    if (a->decim < 1) a->decim = 1;
    a->fd = fs / a->decim;
    a->ring = 1;
    while ((double)a->ring < RING_S * a->fd) a->ring *= 2;
    a->pre = (int)(PRE_S * a->fd + 0.5);
    a->post = (int)(POST_S * a->fd + 0.5);
    a->tlen = a->pre + a->post + 1;
    a->qb = (int)(QRS_BEFORE_S * a->fd + 0.5);
    a->qa = (int)(QRS_AFTER_S * a->fd + 0.5);
    a->lag_min = (int)(LAG_MIN_S * a->fd + 0.5);
    a->lag_max = (int)(LAG_MAX_S * a->fd + 0.5);
    a->window = (int)(RH_AFL_WINDOW_S * a->fd + 0.5);
    a->hop = (int)(RH_AFL_HOP_S * a->fd + 0.5);
    a->next_in = -1;
    a->done = -1;
    a->last_beat = -1;
    a->hp = dsp_biquad_butter(HP_HZ, a->fd, 1);
    a->lp = dsp_biquad_butter(LP_HZ < 0.45 * a->fd ? LP_HZ : 0.45 * a->fd, a->fd, 0);
    a->x = calloc((size_t)nleads * a->ring, sizeof *a->x);
    a->bp = calloc((size_t)nleads * a->ring, sizeof *a->bp);
    a->mask = calloc(a->ring, 1);
    a->valid = calloc(a->ring + 1, sizeof *a->valid);
    a->tmpl = calloc((size_t)nleads * (size_t)a->tlen, sizeof *a->tmpl);
    a->tcount = calloc((size_t)a->tlen, sizeof *a->tcount);
    a->scratch = calloc(3 * (size_t)a->window, sizeof *a->scratch);
    if (!a->x || !a->bp || !a->mask || !a->valid || !a->tmpl || !a->tcount || !a->scratch) goto oom;
    return a;
oom:
    rh_afl_free(a);
    snprintf(err, errlen, "flutter detector: out of memory");
    return NULL;
}

void rh_afl_free(rh_afl *a)
{
    if (!a) return;
    free(a->out);
    free(a->beats);
    free(a->scratch);
    free(a->tmpl);
    free(a->tcount);
    free(a->mask);
    free(a->valid);
    free(a->bp);
    free(a->x);
    free(a);
}

/* The autocorrelation of x at lag L over the pairs both unmasked (ok), normalised by both
 * ends' energies; 0 with too few pairs to say anything. */
static double autocorr(const double *x, const double *x2, const double *ok, int n, int lag)
{
    /* Masked samples are 0 in x and x2: no branch, the products of a pair with a masked end
     * vanish. */
    double sxy = 0, sxx = 0, syy = 0, pairs = 0;
    for (int i = 0; i < n - lag; i++) {
        sxy += x[i] * x[i + lag];
        sxx += x2[i] * ok[i + lag];
        syy += ok[i] * x2[i + lag];
        pairs += ok[i] * ok[i + lag];
    }
    return pairs >= 2 * lag && sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : 0.0;
}

static int push_verdict(rh_afl *a, const rh_afl_verdict *v)
{
    if (a->ohead + a->ocount == a->ocap) {
        if (a->ohead) {
            memmove(a->out, a->out + a->ohead, a->ocount * sizeof *a->out);
            a->ohead = 0;
        }
        if (a->ocount == a->ocap) {
            size_t cap = a->ocap ? 2 * a->ocap : 16;
            rh_afl_verdict *n = realloc(a->out, cap * sizeof *n);
            if (!n) return -1;
            a->out = n;
            a->ocap = cap;
        }
    }
    a->out[a->ohead + a->ocount++] = *v;
    return 0;
}

/* Measures the window [next_end - window, next_end) of the residual. */
static int measure(rh_afl *a)
{
    int n = a->window;
    int64_t w0 = a->next_end - n;
    double *x = a->scratch, *ok = a->scratch + n, *x2 = a->scratch + 2 * (size_t)n;
    rh_afl_verdict v;
    memset(&v, 0, sizeof v);
    int64_t c = a->next_end - n / 2, s = (c - a->hop / 2) * a->decim;
    v.start = s < 0 ? 0 : s;
    v.end = (c - a->hop / 2 + a->hop) * a->decim;
    v.nleads = a->nleads;
    /* Unmasked samples in the window, from the running count (the window starts at or after
     * the first stretch: the first window ends a window after it). */
    int64_t nvalid = a->valid[(size_t)a->next_end & (a->ring - 1)] - a->valid[(size_t)w0 & (a->ring - 1)];
    for (int l = 0; l < a->nleads; l++) v.lead[l].valid = (double)nvalid / n;
    if (nvalid < VALID_MIN * n) return push_verdict(a, &v); /* regular or ventricular beats: nothing to measure */
    for (int i = 0; i < n; i++) ok[i] = !a->mask[(size_t)(w0 + i) & (a->ring - 1)];
    for (int l = 0; l < a->nleads; l++) {
        rh_afl_lead *d = &v.lead[l];
        double e = 0;
        for (int i = 0; i < n; i++) {
            x[i] = ok[i] != 0 ? a->bp[(size_t)l * a->ring + ((size_t)(w0 + i) & (a->ring - 1))] : 0.0;
            x2[i] = x[i] * x[i];
            e += x2[i];
        }
        d->rms_uv = nvalid ? sqrt(e / nvalid) : 0.0;
        d->r1 = d->r2 = 0;
        d->lag_s = 0;
        /* A flat residual: no autocorrelation to compute. */
        if (d->valid < VALID_MIN || d->rms_uv < RMS_MIN_UV) continue;
        /* Every other lag, then the two beside the best: a periodic wave's autocorrelation peak
         * spans several lags at 50 Hz, so the best even lag lies next to it. */
        d->r1 = -1;
        int best = a->lag_min;
        for (int lag = a->lag_min; lag <= a->lag_max; lag += 2) {
            double r = autocorr(x, x2, ok, n, lag);
            if (r > d->r1) {
                d->r1 = r;
                best = lag;
            }
        }
        for (int lag = best - 1; lag <= best + 1; lag += 2) {
            if (lag < a->lag_min || lag > a->lag_max) continue;
            double r = autocorr(x, x2, ok, n, lag);
            if (r > d->r1) {
                d->r1 = r;
                best = lag;
            }
        }
        d->lag_s = best / a->fd;
        if (d->r1 >= R1_MIN) d->r2 = autocorr(x, x2, ok, n, 2 * best);
        d->flutter = d->valid >= VALID_MIN && d->rms_uv >= RMS_MIN_UV && d->r1 >= R1_MIN && d->r2 >= R2_MIN;
        v.flutter |= d->flutter;
    }
    return push_verdict(a, &v);
}

/* The stretch of the oldest waiting beat, from PRE before it to PRE before the next one: its
 * residual once the next beat and enough signal have arrived. Returns 1 when one was done, 0
 * when it must wait, -1 when out of memory. */
static int stretch(rh_afl *a)
{
    if (a->bcount < 2) return 0;
    beat b = a->beats[a->bhead], nb = a->beats[a->bhead + 1];
    int64_t s0 = b.r - a->pre, s1 = nb.r - a->pre, tend = b.r + a->post + 1;
    if (a->nd < (s1 > tend ? s1 : tend)) return 0;
    if (a->done < 0) {
        a->done = s0 < 0 ? 0 : s0;
        a->next_end = a->done + a->window;
    }
    if (s0 < a->done) s0 = a->done;
    int64_t lost = a->nd - (int64_t)a->ring; /* older decimated samples are overwritten */
    /* Only AF is told apart as flutter (rhythm.h): stretches are measured where the last 64 RR
     * intervals are AF by the rhythm analysis's own test (rhythm_af.h, without its P-wave veto)
     * and are otherwise masked without computing their residual. That is most of the time in
     * most recordings: the detector's cost. The window trails the beats, so about the first half
     * window of an AF episode goes unmeasured. */
    int64_t rr = nb.raw - b.raw, *slot = &a->rr[a->nrr % RH_AF_WINDOW];
    if (a->nrr >= RH_AF_WINDOW) { /* the oldest interval and its difference to the next leave */
        a->rr_sum -= *slot;
        a->drr_sum -= llabs(a->rr[(a->nrr + 1) % RH_AF_WINDOW] - *slot);
    }
    if (a->nrr) a->drr_sum += llabs(rr - a->rr[(a->nrr - 1) % RH_AF_WINDOW]);
    *slot = rr;
    a->rr_sum += rr;
    a->nrr++;
    if (a->nrr >= RH_AF_WINDOW && a->nrr % AF_STRIDE == 0) {
        /* A regular rhythm (most of the time) fails a cheap check first: Dash et al.'s test
         * wants a normalised RMSSD of 0.1, which the mean difference (never above the RMS one)
         * cannot reach at half that. */
        a->af = 0;
        if ((double)a->drr_sum / (RH_AF_WINDOW - 1) >= AF_PRECHECK * (double)a->rr_sum / RH_AF_WINDOW) {
            double w[RH_AF_WINDOW]; /* in time order: turning points depend on it */
            for (int i = 0; i < RH_AF_WINDOW; i++) w[i] = (double)a->rr[(a->nrr + i) % RH_AF_WINDOW];
            rh_af_features f;
            rh_af_measure(w, RH_AF_WINDOW, &f);
            a->af = rh_af_decide(&f, RH_AF_WINDOW);
        }
    }
    int trusted = !b.v && a->nt >= TEMPLATE_MIN && a->af;
    if (!trusted) {
        /* Masked in one go (in at most two pieces where the ring wraps). */
        int64_t before = a->valid[(size_t)s0 & (a->ring - 1)];
        for (int64_t t = s0; t < s1;) {
            size_t j = (size_t)t & (a->ring - 1), m = a->ring - j;
            if ((int64_t)m > s1 - t) m = (size_t)(s1 - t);
            memset(a->mask + j, 1, m);
            for (int l = 0; l < a->nleads; l++) memset(a->bp + (size_t)l * a->ring + j, 0, m * sizeof *a->bp);
            for (size_t i = 1; i <= m; i++) a->valid[(j + i) & (a->ring - 1)] = before;
            t += (int64_t)m;
        }
        memset(a->hs, 0, sizeof a->hs); /* the band-pass starts afresh on the next stretch */
        memset(a->ls, 0, sizeof a->ls);
        s0 = s1;
    }
    for (int64_t t = s0; t < s1; t++) {
        size_t j = (size_t)t & (a->ring - 1);
        int masked = t < lost || (t >= b.r - a->qb && t <= b.r + a->qa);
        int64_t o = t - (b.r - a->pre);
        if (o >= a->tlen) o = a->tlen - 1;
        a->mask[j] = (unsigned char)masked;
        a->valid[((size_t)t + 1) & (a->ring - 1)] = a->valid[j] + !masked;
        for (int l = 0; l < a->nleads; l++) {
            double res = masked ? 0.0 : a->x[(size_t)l * a->ring + j] - a->tmpl[(size_t)l * a->tlen + o];
            a->bp[(size_t)l * a->ring + j] =
                (float)dsp_biquad_run(&a->lp, &a->ls[l], dsp_biquad_run(&a->hp, &a->hs[l], res));
        }
    }
    if (s1 > a->done) a->done = s1;
    /* The template learns from supraventricular beats whose span is still in the ring, up to
     * the next beat's QRS: past it lies the next beat, at a different place every time. Each
     * template sample is the mean of the beats it has seen until 16, then a running average.
     * It learns only where the stretches are measured (AF by the RR intervals): a few beats
     * make it, and outside AF it would be work for nothing. */
    int64_t o_end = nb.r - a->qb - (b.r - a->pre);
    if (o_end > a->tlen) o_end = a->tlen;
    if (a->af && !b.v && b.r - a->pre >= 0 && b.r - a->pre >= lost) {
        for (int o = 0; o < o_end; o++) {
            double w = a->tcount[o] < 16 ? 1.0 / (a->tcount[o] + 1) : TEMPLATE_WEIGHT;
            a->tcount[o]++;
            for (int l = 0; l < a->nleads; l++) {
                double *tp = &a->tmpl[(size_t)l * a->tlen + o];
                *tp += w * (a->x[(size_t)l * a->ring + ((size_t)(b.r - a->pre + o) & (a->ring - 1))] - *tp);
            }
        }
        a->nt++;
    }
    a->bhead++;
    a->bcount--;
    while (a->done >= a->next_end) {
        if (measure(a)) return -1;
        a->next_end += a->hop;
    }
    return 1;
}

static int drain(rh_afl *a, char *err, size_t errlen)
{
    int r;
    while ((r = stretch(a)) > 0) {
    }
    if (r < 0) {
        snprintf(err, errlen, "flutter detector: out of memory");
        return -1;
    }
    return 0;
}

int rh_afl_push(rh_afl *a, const float *uv, size_t stride, int64_t start, size_t n, char *err, size_t errlen)
{
    if (a->next_in >= 0 && start != a->next_in) {
        snprintf(err, errlen, "flutter detector: samples from %lld pushed where %lld was expected", (long long)start,
                 (long long)a->next_in);
        return -1;
    }
    if (a->next_in < 0) a->nd = (start + a->decim - 1) / a->decim;
    /* Every decim-th sample: the filter chain has already band-limited the leads (40 Hz when
     * monitoring), and what aliases down is broadband noise, which can only lower the
     * autocorrelation. Averaging would cost an addition per input sample and lead. */
    int64_t first = (start + a->decim - 1) / a->decim * a->decim;
    for (int64_t i = first - start; i < (int64_t)n; i += a->decim) {
        size_t j = (size_t)a->nd & (a->ring - 1);
        for (int l = 0; l < a->nleads; l++) a->x[(size_t)l * a->ring + j] = uv[(size_t)l * stride + (size_t)i];
        a->nd++;
    }
    a->next_in = start + (int64_t)n;
    return drain(a, err, errlen);
}

int rh_afl_beat(rh_afl *a, int64_t r, char label, char *err, size_t errlen)
{
    if (r < 0 || r <= a->last_beat) {
        snprintf(err, errlen, "flutter detector: beat at sample %lld is not after the previous one (%lld)",
                 (long long)r, (long long)a->last_beat);
        return -1;
    }
    a->last_beat = r;
    if (a->bhead + a->bcount == a->bcap) {
        if (a->bhead) {
            memmove(a->beats, a->beats + a->bhead, a->bcount * sizeof *a->beats);
            a->bhead = 0;
        }
        if (a->bcount == a->bcap) {
            size_t cap = a->bcap ? 2 * a->bcap : 64;
            beat *nb = realloc(a->beats, cap * sizeof *nb);
            if (!nb) {
                snprintf(err, errlen, "flutter detector: out of memory");
                return -1;
            }
            a->beats = nb;
            a->bcap = cap;
        }
    }
    a->beats[a->bhead + a->bcount++] = (beat){(r + a->decim / 2) / a->decim, r, label == 'V'};
    return drain(a, err, errlen);
}

int rh_afl_next(rh_afl *a, rh_afl_verdict *out)
{
    if (!a->ocount) return 0;
    *out = a->out[a->ohead++];
    if (!--a->ocount) a->ohead = 0;
    return 1;
}
