/* qrs.c — the streaming multi-lead QRS detector (see qrs.h for what it promises).
 *
 * Per lead, two short linear-phase FIRs run on the raw samples: a derivative of a Gaussian
 * tuned to the QRS band (the "band-pass") and a sharper one that T and P waves barely excite.
 * The band-pass magnitude, integrated over about one QRS duration, is the lead's feature; the
 * detector's feature is the weighted sum over leads, each lead weighted by 1 / its usual QRS
 * level and by how clean it has been between recent beats. Local maxima of that feature are
 * peaks; each is decided once nothing larger can appear within the dominance span:
 *   - smaller than a neighbour within 200 ms, or within 200 ms of the last beat: noise;
 *   - less sharp than a fifth of the usual QRS (unless shaped like a recent beat: the amplitude
 *     may have fallen), or than half of it within 360 ms of the last beat (a T wave): noise;
 *   - over the threshold between the running noise and QRS levels (twice that right after a beat,
 *     falling to it by 0.8 median RR), and seen by the other leads too (an artefact under one
 *     electrode is not), or shaped like a recent beat: a beat;
 *   - else noise, kept as a candidate for the search-back that runs when no beat came for
 *     1.5 median RR (more in irregular rhythms, never more than 1.7) and takes the largest
 *     candidate over half the threshold that is as sharp for its size as the usual QRS, those
 *     the other leads saw too first, then those seen by one lead that cleared the threshold, the rest
 *     only after 3 s without a beat.
 * After 3 s without a beat the levels halve each second, but only a peak shaped like a recent
 * beat (template correlation) may then be a beat.
 *
 * Index bookkeeping: the FIRs are symmetric, so their output for input t belongs to sample
 * c = t - half ("centre index"); rings, the feature, peaks and beats are kept in centre indices,
 * which are input sample indices.
 *
 * Every parameter is a physiological duration or a ratio from the literature (Pan & Tompkins
 * 1985, Hamilton & Tompkins 1986), frozen here; none is fitted to a record. The lead-support
 * ratios (SUPPORT_MIN, SUPPORT_REL) were chosen as round values on the gross MIT-BIH figures
 * (docs/accuracy.md), as gqrs's parameters were.
 */
#include "qrs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BP_SIGMA_S 0.012      /* Gaussian of the derivative band-pass: peak response ~13 Hz */
#define SHARP_SIGMA_S 0.004   /* a sharper derivative (peak ~40 Hz) tells QRS from T and P waves */
#define MWI_S 0.100           /* moving-window integration: about one QRS duration */
#define REFRACTORY_S 0.200    /* no second QRS within 200 ms */
#define DOMINANCE_S 0.200     /* a peak loses to a larger one within 200 ms (P or noise beside R) */
#define TWAVE_S 0.360         /* before this, a weak-sloped candidate is a T wave */
#define TWAVE_SHARP 0.5       /* ... weak means under half the usual QRS sharpness */
#define SHARP_FLOOR 0.2       /* never a beat: under a fifth of the usual QRS sharpness */
#define QUIET_AFTER_S 0.250   /* a lead's noise is measured from 250 ms after a beat ... */
#define QUIET_BEFORE_S 0.100  /* ... to 100 ms before the next one's feature peak */
#define NOISE_GAIN 4.0        /* a lead's weight halves when its noise reaches a quarter of its QRS */
#define MIN_LEVEL 0.1         /* no lead is amplified beyond ten times the strongest */
#define THRESHOLD 0.3125      /* detection threshold between noise and QRS levels */
#define EARLY_RR 0.8          /* ... doubled at the last beat, back to itself at 0.8 median RR */
#define SEARCHBACK_RR 1.5     /* search back after 1.5 median RR without a beat */
#define SEARCHBACK_LONGEST 1.1 /* ... or after 1.1 times the longest of the recent RRs */
#define SEARCHBACK_MAX_RR 1.7 /* ... but never later than 1.7 median RR */
#define SEARCHBACK_TH 0.5     /* ... accepting peaks over half the threshold */
#define FIRST_RR_S 1.0        /* the RR assumed until two beats give a real one */
#define RELEARN 4.0           /* a 2nd or 3rd beat this much above the first restarts learning */
#define DECAY_AFTER_S 3.0     /* with no beat for this long the QRS level halves every second */
#define DECAY_FLOOR 3.0       /* ... but stays at least three times the noise level */
#define FIDUCIAL_S 0.080      /* the R peak lies within 80 ms of the steepest slope */
#define HIST 8                /* beats and noise peaks remembered for the running levels */
#define TEMPLATE_S 0.050      /* a beat's shape: the band-pass 50 ms either side of its fiducial */
#define TEMPLATES 8           /* recent beats' shapes kept for matching */
#define TEMPLATE_LAG_S 0.015  /* ... allowing fiducials 15 ms apart */
#define MATCH_SAME 0.9        /* a correlation this high means the same shape as a recent beat */
#define MATCH_SHIFT 0.95      /* ... and one this high needs no search for a better shift */
#define TEMPLATE_SHARP 0.5    /* beats at least half as sharp as usual become templates */
#define SUPPORT_MIN 0.2       /* the other leads see a QRS: a fifth of their usual one, */
#define SUPPORT_REL 0.5       /* ... or half of what the dominant lead sees */
#define CHUNK 256             /* frames filtered per FIR call */
#define MAX_PEAKS 1024        /* recent peaks kept (pending, and search-back candidates) */
#define MAX_LEADS 64

/* The last HIST values of a quantity, also kept sorted so that medians cost nothing. */
typedef struct {
    float v[HIST];      /* in arrival order, v[pos] is the oldest once full */
    float sorted[HIST];
    int n, pos;
} hist;

static void hist_clear(hist *h) { h->n = h->pos = 0; }

static void hist_push(hist *h, float x)
{
    int i;
    if (h->n == HIST) { /* drop the oldest from the sorted copy */
        float old = h->v[h->pos];
        for (i = 0; i < HIST - 1 && h->sorted[i] != old; i++) {}
        memmove(h->sorted + i, h->sorted + i + 1, (size_t)(HIST - 1 - i) * sizeof(float));
        h->n--;
    }
    for (i = h->n; i > 0 && h->sorted[i - 1] > x; i--) h->sorted[i] = h->sorted[i - 1];
    h->sorted[i] = x;
    h->n++;
    h->v[h->pos] = x;
    h->pos = (h->pos + 1) % HIST;
}

static float hist_median(const hist *h) { return h->n ? h->sorted[h->n / 2] : 0.0f; }
static float hist_max(const hist *h) { return h->n ? h->sorted[h->n - 1] : 0.0f; }

/* Multiplies every value by r > 0 (order is kept), raising each to at least floor. */
static void hist_scale(hist *h, float r, float floor)
{
    for (int i = 0; i < HIST; i++) {
        h->v[i] = fmaxf(h->v[i] * r, floor);
        h->sorted[i] = fmaxf(h->sorted[i] * r, floor);
    }
}

typedef struct {
    int64_t c;          /* centre index of the feature's local maximum */
    float h;            /* feature height */
    float sharp;        /* weighted steepest sharp-derivative slope around it */
    int64_t fid;        /* fiducial point, once measured */
    float match;        /* best correlation with the template bank, once matched */
    uint8_t matched;
    uint8_t lead;       /* dominant lead, once measured */
    uint8_t candidate;  /* decided as noise but eligible for search-back: a CAND_ value, or 0 */
} peak;

/* Search-back candidates, in order of preference. */
enum { CAND_SUPPORTED = 1, /* under the threshold, seen by the other leads too */
       CAND_LONE,          /* over the threshold, but seen by its dominant lead only */
       CAND_LONE_WEAK };   /* under the threshold and seen by one lead only */

typedef struct {
    float *work;        /* FIR input: taps - 1 history samples, then up to CHUNK new ones */
    float *bp;          /* band-pass output by centre index, ring of ring_len */
    float *sharp;       /* sharp derivative by centre index, ring of ring_len */
    float *mwi;         /* moving-window integral of |band-pass| by centre index, ring */
    double sum;         /* running sum behind mwi */
    hist level;         /* the lead's integrated feature at recent beats */
    hist noise;         /* its largest integrated value between recent beats */
    float weight;
    float *templates;   /* TEMPLATES recent beats' band-pass around their fiducials, tlen each */
} lead_state;

struct dsp_qrs {
    const dsp_kernels *k;
    double fs;
    int nleads;
    int half, taps;         /* band-pass: 2 * half + 1 taps */
    int sharp_half;         /* sharp derivative: 2 * sharp_half + 1 taps */
    float *h, *hs;          /* their kernels */
    float *scratch;         /* one chunk of FIR output */
    float f[CHUNK];         /* one chunk of the feature */
    int reweighed;          /* the lead weights changed since f was computed */
    int mwi, refractory, dominance, twave, fid_win;
    int thalf, tlen;        /* template: 2 * thalf + 1 samples */
    int tlag;               /* matched at shifts up to this many samples either way */
    int ntemplates, tpos;   /* templates filled, next to replace */
    int ring_len;           /* power of two */
    lead_state *leads;

    int64_t t;              /* input samples processed before the current chunk */
    int64_t newest;         /* centre index of the newest band-pass sample */
    int64_t total;          /* after flush: input length; later beats are dropped */
    int started;
    float f1, f2;           /* feature at cm - 1 and cm - 2, for local maxima */

    peak peaks[MAX_PEAKS];
    int npeaks;             /* peaks[0..npeaks) in order of c */
    int pending;            /* index of the first undecided peak */

    hist qrs, noise, sharp, rr; /* feature heights of beats and noise peaks; beat sharpness; RR */
    hist shape;             /* beats' sharpness relative to their own height (size-free) */
    float max_peak;         /* before the first beat, the threshold's reference */
    float thr;              /* cached threshold, valid unless thr_dirty */
    int thr_dirty;
    int64_t sb_limit;       /* search back when this long passes without a beat */
    int64_t last_beat_c;    /* centre index of the last beat's feature peak, -1 if none */
    int64_t searched_until; /* search-back already tried up to this centre index */
    int64_t decay_next;     /* centre index of the next QRS-level decay */
    float relax;            /* 1, or less during a silence: scales the QRS and sharpness levels */
    int64_t quiet_from;     /* centre index where the leads' noise windows start */

    dsp_beat *out;          /* decided beats not yet popped: out[head .. head + count) */
    size_t out_head, out_count, out_cap;
};

static int odd_at_least_3(double x)
{
    int n = (int)lround(x);
    return (n < 3 ? 3 : n) | 1;
}

/* Derivative of a Gaussian of sigma samples, 2 * half + 1 taps, scaled so that a ramp of slope 1
 * per sample gives 1. The correlation form of the FIR (out = sum h[k] x[i+k]) wants
 * h[k] ~ +(k - half). */
static void derivative_of_gaussian(float *h, int half, double sigma)
{
    double norm = 0.0;
    for (int i = 0; i <= 2 * half; i++) {
        double u = i - half;
        norm += u * u * exp(-u * u / (2.0 * sigma * sigma));
    }
    for (int i = 0; i <= 2 * half; i++) {
        double u = i - half;
        h[i] = (float)(u * exp(-u * u / (2.0 * sigma * sigma)) / norm);
    }
}

static void update_searchback_limit(dsp_qrs *q);

dsp_qrs *dsp_qrs_create(double fs, int nleads, const dsp_kernels *k, char *err, size_t errlen)
{
    if (!(fs >= 125.0 && fs <= 2000.0)) {
        snprintf(err, errlen, "QRS detector: sample rate %g Hz is outside 125..2000 Hz", fs);
        return NULL;
    }
    if (nleads < 1 || nleads > MAX_LEADS) {
        snprintf(err, errlen, "QRS detector: %d leads (1..%d supported)", nleads, MAX_LEADS);
        return NULL;
    }
    dsp_qrs *q = calloc(1, sizeof *q);
    if (!q) goto oom;
    q->k = k ? k : dsp_kernels_for(dsp_simd_best());
    q->fs = fs;
    q->nleads = nleads;
    double sigma = BP_SIGMA_S * fs, ssigma = SHARP_SIGMA_S * fs;
    q->half = (int)ceil(3.0 * sigma);
    q->taps = 2 * q->half + 1;
    q->sharp_half = (int)ceil(3.0 * ssigma);
    q->mwi = odd_at_least_3(MWI_S * fs);
    q->refractory = (int)lround(REFRACTORY_S * fs);
    q->dominance = (int)lround(DOMINANCE_S * fs);
    q->twave = (int)lround(TWAVE_S * fs);
    q->fid_win = (int)lround(FIDUCIAL_S * fs);
    q->thalf = (int)lround(TEMPLATE_S * fs);
    q->tlen = 2 * q->thalf + 1;
    q->tlag = (int)lround(TEMPLATE_LAG_S * fs);
    /* The rings reach back from the newest sample over the dominance wait, the integration
     * window and the fiducial search (steepest slope, zero crossing, lobe), with a chunk written
     * ahead of the per-sample pass. */
    int need = q->dominance + q->mwi + 6 * q->fid_win + 8 + CHUNK + q->half;
    q->ring_len = 1;
    while (q->ring_len < need) q->ring_len <<= 1;

    q->h = malloc((size_t)q->taps * sizeof *q->h);
    q->hs = malloc((size_t)(2 * q->sharp_half + 1) * sizeof *q->hs);
    q->scratch = malloc(CHUNK * sizeof *q->scratch);
    q->leads = calloc((size_t)nleads, sizeof *q->leads);
    q->out_cap = 64;
    q->out = malloc(q->out_cap * sizeof *q->out);
    if (!q->h || !q->hs || !q->scratch || !q->leads || !q->out) goto oom;
    derivative_of_gaussian(q->h, q->half, sigma);
    derivative_of_gaussian(q->hs, q->sharp_half, ssigma);
    for (int l = 0; l < nleads; l++) {
        lead_state *ls = &q->leads[l];
        ls->work = calloc((size_t)(q->taps - 1 + CHUNK), sizeof *ls->work);
        ls->bp = calloc((size_t)q->ring_len, sizeof *ls->bp);
        ls->sharp = calloc((size_t)q->ring_len, sizeof *ls->sharp);
        ls->mwi = calloc((size_t)q->ring_len, sizeof *ls->mwi);
        ls->templates = calloc((size_t)(TEMPLATES * q->tlen), sizeof *ls->templates);
        if (!ls->work || !ls->bp || !ls->sharp || !ls->mwi || !ls->templates) goto oom;
        ls->weight = 1.0f;
    }
    q->last_beat_c = -1;
    q->total = -1;
    q->relax = 1.0f;
    q->thr_dirty = 1;
    update_searchback_limit(q);
    return q;
oom:
    snprintf(err, errlen, "QRS detector: out of memory");
    dsp_qrs_free(q);
    return NULL;
}

void dsp_qrs_free(dsp_qrs *q)
{
    if (!q) return;
    if (q->leads)
        for (int l = 0; l < q->nleads; l++) {
            free(q->leads[l].work);
            free(q->leads[l].bp);
            free(q->leads[l].sharp);
            free(q->leads[l].mwi);
            free(q->leads[l].templates);
        }
    free(q->leads);
    free(q->out);
    free(q->scratch);
    free(q->hs);
    free(q->h);
    free(q);
}

size_t dsp_qrs_state_bytes(const dsp_qrs *q)
{
    size_t per_lead = sizeof(lead_state) + (size_t)(q->taps - 1 + CHUNK) * sizeof(float) +
                      (3 * (size_t)q->ring_len + TEMPLATES * (size_t)q->tlen) * sizeof(float);
    return sizeof *q + (size_t)(q->taps + 2 * q->sharp_half + 1 + CHUNK) * sizeof(float) +
           q->out_cap * sizeof(dsp_beat) + (size_t)q->nleads * per_lead;
}

static float at(const dsp_qrs *q, const float *ring, int64_t c)
{
    return ring[c & (q->ring_len - 1)];
}

/* The oldest centre index still in the rings (a chunk is written ahead of the per-sample pass,
 * so they hold ring_len - CHUNK samples of history). */
static int64_t oldest_kept(const dsp_qrs *q)
{
    return q->newest - (q->mwi - 1) / 2 - (q->ring_len - CHUNK) + 1;
}

/* ---- the levels behind the decisions ---- */

static float threshold(dsp_qrs *q)
{
    if (q->thr_dirty) {
        float qrs = q->qrs.n ? hist_median(&q->qrs) * q->relax : q->max_peak;
        qrs = fmaxf(qrs, fminf((float)DECAY_FLOOR * hist_median(&q->noise), hist_median(&q->qrs)));
        float noise = fminf(hist_median(&q->noise), qrs);
        q->thr = noise + (float)THRESHOLD * (qrs - noise);
        q->thr_dirty = 0;
    }
    return q->thr;
}

static void push_noise(dsp_qrs *q, float h)
{
    hist_push(&q->noise, h);
    q->thr_dirty = 1;
}

/* When to search back: 1.5 median RR after the last beat, or 1.1 times the longest recent RR
 * when that is later (an irregular rhythm such as atrial fibrillation has long intervals of its
 * own), but never later than 1.7 median RR. */
static void update_searchback_limit(dsp_qrs *q)
{
    double rr = q->rr.n ? hist_median(&q->rr) : FIRST_RR_S * q->fs;
    double limit = fmax(SEARCHBACK_RR * rr, SEARCHBACK_LONGEST * hist_max(&q->rr));
    q->sb_limit = (int64_t)fmin(limit, SEARCHBACK_MAX_RR * rr);
}

/* Each lead's QRS level A is its integrated |band-pass| at recent beats (median), its noise
 * level N the median of its largest integrated values between recent beats (a median, so that
 * one missed beat in a window does not silence the lead). The weight 1/A makes every lead's usual
 * QRS 1; the factor 1 / (1 + (4N/A)^2) then lets a clean lead count fully, one with noise or T
 * waves a quarter of its QRS count half, and one whose noise rivals its QRS hardly at all. A is never under a tenth of the strongest lead's, so a flat or
 * disconnected lead cannot turn its noise into beats. Called at each beat, centred on c. */
static void update_weights(dsp_qrs *q, int64_t c)
{
    if (c < oldest_kept(q)) return; /* a search-back beat long gone from the rings */
    float now[MAX_LEADS], a[MAX_LEADS], top = 0.0f, before = 0.0f, after = 0.0f;
    for (int l = 0; l < q->nleads; l++) {
        lead_state *ls = &q->leads[l];
        now[l] = at(q, ls->mwi, c);
        hist_push(&ls->level, now[l]);
        a[l] = hist_median(&ls->level);
        top = fmaxf(top, a[l]);
    }
    if (top <= 0.0f) return; /* a flat signal: nothing to normalise by */
    for (int l = 0; l < q->nleads; l++) {
        lead_state *ls = &q->leads[l];
        float al = fmaxf(a[l], (float)MIN_LEVEL * top);
        float r = (float)NOISE_GAIN * hist_median(&ls->noise) / al;
        before += ls->weight * now[l];
        ls->weight = 1.0f / ((1.0f + r * r) * al);
        after += ls->weight * now[l];
    }
    q->reweighed = 1;
    /* What is remembered in feature units follows the new scale, so that the levels learnt
     * under the old weights keep their meaning. */
    if (before <= 0.0f || after <= 0.0f) return;
    float ratio = after / before;
    hist_scale(&q->qrs, ratio, 0.0f);
    hist_scale(&q->noise, ratio, 0.0f);
    hist_scale(&q->sharp, ratio, 0.0f);
    for (int i = 0; i < q->npeaks; i++) {
        q->peaks[i].h *= ratio;
        q->peaks[i].sharp *= ratio;
    }
    q->max_peak *= ratio;
    q->f1 *= ratio;
    q->f2 *= ratio;
    q->thr_dirty = 1;
}

/* Ends the leads' noise windows at a beat whose feature peaks at c: the largest integrated value
 * each lead reached between the beats (a T wave, a step, a burst of noise) joins its noise
 * history. The window ends QUIET_BEFORE_S before c so that it never reaches into the QRS. */
static void close_quiet_window(dsp_qrs *q, int64_t c)
{
    int64_t from = q->quiet_from, to = c - (int64_t)(QUIET_BEFORE_S * q->fs) - (q->mwi - 1) / 2;
    if (from < oldest_kept(q)) from = oldest_kept(q);
    if (q->last_beat_c >= 0 && from <= to)
        for (int l = 0; l < q->nleads; l++) {
            float m = 0.0f;
            for (int64_t i = from; i <= to; i++) {
                float v = at(q, q->leads[l].mwi, i);
                if (v > m) m = v;
            }
            hist_push(&q->leads[l].noise, m);
        }
    q->quiet_from = c + (int64_t)(QUIET_AFTER_S * q->fs);
}

/* ---- measuring a peak ---- */

/* Weighted |band-pass| or |sharp derivative| summed over leads at centre index c. */
static float weighted_abs(const dsp_qrs *q, int sharp, int64_t c)
{
    float s = 0.0f;
    for (int l = 0; l < q->nleads; l++)
        s += q->leads[l].weight * fabsf(at(q, sharp ? q->leads[l].sharp : q->leads[l].bp, c));
    return s;
}

/* The steepest slopes near a peak, its dominant lead, and its fiducial point: the R peak, i.e.
 * the most prominent positive deflection of the smoothed signal on any lead (each lead weighted
 * as the feature weighs it), or the most prominent negative one when no R wave reaches half its
 * size (a QS complex). The smoothed signal is the running sum of the band-pass (a derivative of
 * a Gaussian), prominence is measured from the straight line joining the window's ends. */
static void measure_peak(const dsp_qrs *q, peak *p)
{
    int64_t lo = p->c - q->fid_win, hi = p->c + q->fid_win, s = p->c;
    float best = -1.0f;
    p->sharp = 0.0f;
    for (int64_t c = lo; c <= hi; c++) {
        float v = weighted_abs(q, 0, c);
        if (v > best) { best = v; s = c; }
        p->sharp = fmaxf(p->sharp, weighted_abs(q, 1, c));
    }
    float pos = -1.0f, neg = -1.0f;
    int64_t pos_at = s, neg_at = s;
    int pos_lead = 0, neg_lead = 0;
    const int64_t a = s - q->fid_win, n = 2 * (int64_t)q->fid_win;
    for (int l = 0; l < q->nleads; l++) {
        const float *d = q->leads[l].bp;
        float total = 0.0f;
        for (int64_t i = 0; i <= n; i++) total += at(q, d, a + i);
        float y = 0.0f, w = q->leads[l].weight;
        for (int64_t i = 0; i <= n; i++) {
            y += at(q, d, a + i);
            float e = w * (y - total * (float)i / (float)n);
            if (e > pos) { pos = e; pos_at = a + i; pos_lead = l; }
            if (-e > neg) { neg = -e; neg_at = a + i; neg_lead = l; }
        }
    }
    if (pos >= 0.5f * neg) {
        p->fid = pos_at;
        p->lead = (uint8_t)pos_lead;
    } else {
        p->fid = neg_at;
        p->lead = (uint8_t)neg_lead;
    }
    if (p->fid < 0) p->fid = 0;
}

/* The best correlation of the peak's band-passed QRS (all leads, weighted as the feature weighs
 * them) with the recent beats' templates: near 1 for a beat like one seen lately, low for noise. */
/* Correlation of the band-pass centred on centre index c (all leads, weighted as the feature
 * weighs them) with template k. */
static float correlate(const dsp_qrs *q, int k, int64_t c)
{
    float xy = 0.0f, xx = 0.0f, yy = 0.0f;
    for (int l = 0; l < q->nleads; l++) {
        const lead_state *ls = &q->leads[l];
        const float *t = ls->templates + (size_t)k * q->tlen;
        float w2 = ls->weight * ls->weight, sxy = 0.0f, sxx = 0.0f, syy = 0.0f;
        for (int i = 0; i < q->tlen; i++) {
            float x = at(q, ls->bp, c - q->thalf + i);
            sxy += x * t[i];
            sxx += x * x;
            syy += t[i] * t[i];
        }
        xy += w2 * sxy;
        xx += w2 * sxx;
        yy += w2 * syy;
    }
    return xx > 0.0f && yy > 0.0f ? xy / sqrtf(xx * yy) : 0.0f;
}

/* Sets p->match once: the template most like the peak at its fiducial, then the best shift of
 * that one within the lag. */
static void match_templates(const dsp_qrs *q, peak *p)
{
    if (p->matched) return;
    p->matched = 1;
    p->match = 0.0f;
    int best_k = -1;
    for (int k = 0; k < q->ntemplates; k++) {
        float r = correlate(q, k, p->fid);
        if (best_k < 0 || r > p->match) {
            p->match = r;
            best_k = k;
        }
    }
    /* Already alike at the fiducial: shifting cannot change the verdict (saves most of the work). */
    for (int lag = -q->tlag; best_k >= 0 && p->match < (float)MATCH_SHIFT && lag <= q->tlag; lag++)
        if (lag) p->match = fmaxf(p->match, correlate(q, best_k, p->fid + lag));
    p->match = fmaxf(p->match, 0.0f);
}

static void remember_template(dsp_qrs *q, const peak *p)
{
    if (p->fid - q->thalf < oldest_kept(q)) return;
    for (int l = 0; l < q->nleads; l++) {
        float *t = q->leads[l].templates + (size_t)q->tpos * q->tlen;
        for (int i = 0; i < q->tlen; i++) t[i] = at(q, q->leads[l].bp, p->fid - q->thalf + i);
    }
    q->tpos = (q->tpos + 1) % TEMPLATES;
    if (q->ntemplates < TEMPLATES) q->ntemplates++;
}

/* ---- decisions ---- */

static void emit(dsp_qrs *q, const peak *p, float strength, int searchback, int64_t now_t)
{
    if (q->total >= 0 && p->fid >= q->total) return; /* found in the flush padding */
    if (q->out_count == q->out_cap) {
        dsp_beat *nb = malloc(2 * q->out_cap * sizeof *nb);
        if (!nb) return; /* out of memory: the beat is lost, the stream goes on */
        for (size_t i = 0; i < q->out_count; i++) nb[i] = q->out[(q->out_head + i) % q->out_cap];
        free(q->out);
        q->out = nb;
        q->out_head = 0;
        q->out_cap *= 2;
    }
    dsp_beat *b = &q->out[(q->out_head + q->out_count++) % q->out_cap];
    b->sample = p->fid;
    b->decided_at = now_t;
    b->strength = strength;
    b->match = p->match;
    b->lead = p->lead;
    b->searchback = (uint8_t)searchback;
}

/* Accepts peak p as a beat: updates the running levels and lead weights, queues the beat. */
static void accept(dsp_qrs *q, peak *p, int searchback, int64_t now_t)
{
    match_templates(q, p);
    float strength = q->qrs.n ? p->h / hist_median(&q->qrs) : 1.0f;
    if (q->qrs.n <= 2 && strength > (float)RELEARN) {
        /* The first "beats" were smaller things (a P wave, the start of the record) before the
         * first real QRS: learn again from this one. */
        hist_clear(&q->qrs);
        hist_clear(&q->sharp);
        hist_clear(&q->shape);
        hist_clear(&q->rr);
        for (int l = 0; l < q->nleads; l++) hist_clear(&q->leads[l].level);
        strength = 1.0f;
    }
    hist_push(&q->qrs, p->h);
    hist_push(&q->sharp, p->sharp);
    if (p->h > 0.0f) hist_push(&q->shape, p->sharp / p->h);
    if (q->last_beat_c >= 0) hist_push(&q->rr, (float)(p->c - q->last_beat_c));
    q->thr_dirty = 1;
    q->relax = 1.0f; /* a beat ends the silence: the levels are the beats' again */
    close_quiet_window(q, p->c);
    q->last_beat_c = p->c;
    q->searched_until = p->c;
    update_searchback_limit(q);
    /* Only clearly QRS-like beats become templates, so that a T wave or an artefact taken for a
     * beat once cannot make its likes familiar. */
    if (p->sharp >= (float)TEMPLATE_SHARP * hist_median(&q->sharp)) remember_template(q, p);
    update_weights(q, p->c);
    emit(q, p, strength, searchback, now_t);
}

/* A beat is likelier near the expected time than just after the last one: the threshold stands
 * twice as high right after a beat and falls linearly to itself by EARLY_RR of the median RR.
 * Premature beats of ordinary size clear it easily; weak early noise does not. */
static float early_factor(const dsp_qrs *q, int64_t since)
{
    if (q->rr.n == 0 || since == INT64_MAX) return 1.0f;
    double frac = (double)since / (EARLY_RR * hist_median(&q->rr));
    return frac >= 1.0 ? 1.0f : (float)(2.0 - frac);
}

/* After a long silence the levels have been lowered (search_back), so that beats whose amplitude
 * fell are found again; then only a peak shaped like the beats before the silence may end it,
 * so that the noise of a real asystole is never taken for beats. */
static int plausible_after_silence(const dsp_qrs *q, peak *p)
{
    if (q->last_beat_c < 0 || p->c - q->last_beat_c < (int64_t)(DECAY_AFTER_S * q->fs)) return 1;
    match_templates(q, p);
    return p->match >= (float)MATCH_SAME;
}

/* How far a lead can be trusted, as its weight counts it: 1 when clean between beats, 1/2 when
 * its noise is a quarter of its QRS. */
static float lead_clean(const lead_state *ls)
{
    float a = hist_median(&ls->level);
    if (a <= 0.0f) return 0.0f;
    float r = (float)NOISE_GAIN * hist_median(&ls->noise) / a;
    return 1.0f / (1.0f + r * r);
}

/* Whether the leads other than the peak's dominant one see it too. An electrode artefact or a
 * burst of muscle noise is mostly confined to one lead, a QRS is not: the other leads, each
 * relative to its own usual QRS and trusted as far as it is clean, must reach SUPPORT_MIN of a
 * usual QRS, or SUPPORT_REL of what the dominant lead reaches (when the gain has fallen, a QRS is
 * small alike in every lead). A peak shaped like a recent beat needs no support: an ectopic beat
 * may be all but invisible in one lead. With one lead, or before the first beat, every peak is
 * supported. */
static int seen_by_other_leads(const dsp_qrs *q, peak *p)
{
    if (q->nleads < 2 || q->leads[0].level.n == 0) return 1;
    float r[MAX_LEADS], c[MAX_LEADS];
    int dom = 0;
    for (int l = 0; l < q->nleads; l++) {
        const lead_state *ls = &q->leads[l];
        float a = hist_median(&ls->level);
        r[l] = a > 0.0f ? at(q, ls->mwi, p->c) / a : 0.0f;
        c[l] = lead_clean(ls);
        if (c[l] * r[l] > c[dom] * r[dom]) dom = l;
    }
    float seen = 0.0f, trust = 0.0f;
    for (int l = 0; l < q->nleads; l++)
        if (l != dom) {
            seen += c[l] * r[l];
            trust += c[l];
        }
    if (trust <= 0.0f) return 1; /* no other lead to ask */
    float rest = seen / trust;
    if (rest >= (float)SUPPORT_MIN || rest >= (float)SUPPORT_REL * r[dom]) return 1;
    match_templates(q, p);
    return p->match >= (float)MATCH_SAME;
}

/* Decides the oldest pending peak: beat, or noise (and maybe a search-back candidate). */
static void decide(dsp_qrs *q, peak *p, int64_t now_t)
{
    for (int i = 0; i < q->npeaks; i++) {
        const peak *o = &q->peaks[i];
        if (o == p || llabs(o->c - p->c) > q->dominance) continue;
        if (o->h > p->h || (o->h == p->h && o->c < p->c)) {
            push_noise(q, p->h);
            return;
        }
    }
    if (q->qrs.n == 0 && p->h > q->max_peak) {
        q->max_peak = p->h;
        q->thr_dirty = 1;
    }
    int64_t since = q->last_beat_c >= 0 ? p->c - q->last_beat_c : INT64_MAX;
    float thr = threshold(q);
    if (since < q->refractory || p->h < (float)SEARCHBACK_TH * thr) {
        push_noise(q, p->h); /* too early, or too small even for search-back: not measured */
        return;
    }
    measure_peak(q, p);
    float usual = hist_median(&q->sharp) * q->relax;
    int blunt = p->sharp < (float)SHARP_FLOOR * usual;
    if (blunt && p->sharp >= 0.5f * (float)SHARP_FLOOR * usual) {
        /* Shaped like a recent beat: perhaps only its size fell (an electrode, the gain). */
        match_templates(q, p);
        blunt = p->match < (float)MATCH_SAME;
    }
    if (blunt ||
        (since < q->twave && p->sharp < (float)TWAVE_SHARP * usual)) {
        push_noise(q, p->h);
        return;
    }
    if (!plausible_after_silence(q, p)) {
        push_noise(q, p->h);
        return;
    }
    int over = p->h >= thr * early_factor(q, since), supported = seen_by_other_leads(q, p);
    if (over && supported) {
        accept(q, p, 0, now_t);
        return;
    }
    p->candidate = supported ? CAND_SUPPORTED : over ? CAND_LONE : CAND_LONE_WEAK;
    push_noise(q, p->h);
}

/* After the search-back limit without a beat, takes the largest candidate over half the
 * threshold; after a long silence, lowers the QRS level. */
static void search_back(dsp_qrs *q, int64_t now_c, int64_t now_t)
{
    if (q->last_beat_c < 0 || now_c - q->last_beat_c < q->sb_limit) return;
    if (q->searched_until >= now_c - q->dominance) return;
    q->searched_until = now_c - q->dominance;
    /* Search-back lowers the bar for size, not for shape: a missed QRS, however small, is as
     * sharp for its size as the usual one, a T or P wave is not. */
    float th = (float)SEARCHBACK_TH * threshold(q), shape = (float)TWAVE_SHARP * hist_median(&q->shape);
    /* A candidate that only one lead saw comes after those the others saw too; one that also
     * stayed under the threshold only after a long silence (when the lead levels may be stale:
     * a lead came off, the QRS changed shape). */
    int silence = now_c - q->last_beat_c >= (int64_t)(DECAY_AFTER_S * q->fs);
    peak *best = NULL;
    for (int i = 0; i < q->pending; i++) {
        peak *p = &q->peaks[i];
        if (p->candidate && (p->candidate != CAND_LONE_WEAK || silence) && p->c > q->last_beat_c &&
            p->h >= th && p->sharp >= shape * p->h &&
            (!best || p->candidate < best->candidate || (p->candidate == best->candidate && p->h > best->h)))
            best = p;
    }
    if (best && plausible_after_silence(q, best)) {
        best->candidate = 0;
        accept(q, best, 1, now_t);
        return;
    }
    /* Perhaps the amplitude fell (electrode, gain): lower the QRS and sharpness levels until a
     * beat comes (never below three times the noise; and plausible_after_silence() admits only
     * a familiar shape), then restore them. */
    if (now_c - q->last_beat_c < (int64_t)(DECAY_AFTER_S * q->fs) || now_c < q->decay_next) return;
    q->decay_next = now_c + (int64_t)q->fs;
    q->relax = fmaxf(0.5f * q->relax, 1.0f / 1024.0f);
    q->thr_dirty = 1;
}

/* Forgets peaks no longer needed: decided ones before the last beat and the dominance span. */
static void prune(dsp_qrs *q, int64_t now_c)
{
    int64_t keep_from = now_c - 2 * q->dominance;
    if (q->last_beat_c >= 0 && q->last_beat_c - q->dominance < keep_from)
        keep_from = q->last_beat_c - q->dominance;
    int drop = 0;
    while (drop < q->pending && q->peaks[drop].c < keep_from) drop++;
    if (q->npeaks == MAX_PEAKS && drop == 0) drop = 1; /* bounded memory under endless noise */
    if (drop) {
        memmove(q->peaks, q->peaks + drop, (size_t)(q->npeaks - drop) * sizeof *q->peaks);
        q->npeaks -= drop;
        q->pending = q->pending > drop ? q->pending - drop : 0;
    }
}

/* One new feature value f at centre index cm; the input index is now_t. */
static void step(dsp_qrs *q, int64_t cm, float f, int64_t now_t)
{
    /* A local maximum at cm - 1, unless its integration window began before the record did: a
     * QRS cut by the start of the recording cannot be measured (and is usually not one). One
     * branch, rarely taken: this runs for every sample. */
    if ((q->f1 > q->f2) & (q->f1 >= f) & (q->f1 > 0.0f) & (cm - 1 > (q->mwi - 1) / 2)) {
        if (q->npeaks == MAX_PEAKS) prune(q, cm);
        peak *p = &q->peaks[q->npeaks++];
        memset(p, 0, sizeof *p);
        p->c = cm - 1;
        p->h = q->f1;
    }
    q->f2 = q->f1;
    q->f1 = f;
    if (q->pending < q->npeaks && q->peaks[q->pending].c + q->dominance < cm) {
        do {
            decide(q, &q->peaks[q->pending], now_t);
            q->pending++;
        } while (q->pending < q->npeaks && q->peaks[q->pending].c + q->dominance < cm);
    }
    if (q->last_beat_c >= 0 && cm - q->last_beat_c >= q->sb_limit) search_back(q, cm, now_t);
    if ((cm & 63) == 0) prune(q, cm);
}

/* q->f[i] for i in [from, n): the weighted sum over leads of the integrated band-pass at centre
 * index cm0 + i. */
static void feature(dsp_qrs *q, int64_t cm0, size_t from, size_t n)
{
    const int mask = q->ring_len - 1;
    for (size_t i = from; i < n; i++) q->f[i] = 0.0f;
    for (int l = 0; l < q->nleads; l++) {
        const float w = q->leads[l].weight, *m = q->leads[l].mwi;
        for (size_t i = from; i < n; i++) q->f[i] += w * m[(cm0 + (int64_t)i) & mask];
    }
}

/* Filters n (<= CHUNK) new samples already in every lead's work buffer, then runs the
 * per-sample feature and peak logic. */
static void process_chunk(dsp_qrs *q, size_t n)
{
    const int w = (q->mwi - 1) / 2, mask = q->ring_len - 1;
    const int64_t c0 = q->t - q->half; /* centre index of the chunk's first FIR output */
    const double inv_mwi = 1.0 / q->mwi;
    for (int l = 0; l < q->nleads; l++) {
        lead_state *ls = &q->leads[l];
        /* Straight into the ring unless the chunk wraps around its end. */
        int64_t at0 = c0 & mask;
        int wraps = at0 + (int64_t)n > q->ring_len;
        q->k->fir(ls->work + (q->half - q->sharp_half), n, q->hs, (size_t)(2 * q->sharp_half + 1),
                  wraps ? q->scratch : ls->sharp + at0);
        if (wraps)
            for (size_t i = 0; i < n; i++) ls->sharp[(c0 + (int64_t)i) & mask] = q->scratch[i];
        q->k->fir(ls->work, n, q->h, (size_t)q->taps, q->scratch);
        /* The ring outlasts a chunk plus the window, so bp[c - mwi] is still there. */
        for (size_t i = 0; i < n; i++) {
            int64_t c = c0 + (int64_t)i;
            ls->bp[c & mask] = q->scratch[i];
            ls->sum += fabsf(q->scratch[i]) - fabsf(ls->bp[(c - q->mwi) & mask]);
            ls->mwi[(c - w) & mask] = (float)(ls->sum * inv_mwi);
        }
        memmove(ls->work, ls->work + n, (size_t)(q->taps - 1) * sizeof *ls->work);
    }
    /* The feature for the whole chunk with the current weights; a beat that changes them (the
     * per-sample pass below) has the rest of the chunk recomputed. */
    feature(q, c0 - w, 0, n);
    for (size_t i = 0; i < n; i++) {
        int64_t t = q->t + (int64_t)i, c = t - q->half, cm = c - w;
        q->newest = c;
        if (q->reweighed) {
            q->reweighed = 0;
            feature(q, c0 - w, i, n);
        }
        if (cm >= 0) step(q, cm, q->f[i], t);
    }
    q->t += (int64_t)n;
}

void dsp_qrs_push(dsp_qrs *q, const float *in, size_t stride, size_t n)
{
    if (n && !q->started) {
        /* Prime the FIR history with the first sample: no step from zero at the start. */
        for (int l = 0; l < q->nleads; l++)
            for (int i = 0; i < q->taps - 1; i++) q->leads[l].work[i] = in[(size_t)l * stride];
        q->started = 1;
    }
    for (size_t done = 0; done < n;) {
        size_t m = n - done < CHUNK ? n - done : CHUNK;
        for (int l = 0; l < q->nleads; l++)
            memcpy(q->leads[l].work + q->taps - 1, in + (size_t)l * stride + done, m * sizeof(float));
        process_chunk(q, m);
        done += m;
    }
}

void dsp_qrs_flush(dsp_qrs *q)
{
    if (!q->started || q->total >= 0) return;
    q->total = q->t;
    /* Hold the last sample long enough for every pending peak to be decided. */
    size_t tail = (size_t)(q->half + q->mwi + q->dominance + 2);
    while (tail) {
        size_t m = tail < CHUNK ? tail : CHUNK;
        for (int l = 0; l < q->nleads; l++) {
            float *w = q->leads[l].work, last = w[q->taps - 2];
            for (size_t i = 0; i < m; i++) w[q->taps - 1 + i] = last;
        }
        process_chunk(q, m);
        tail -= m;
    }
}

int dsp_qrs_next(dsp_qrs *q, dsp_beat *b)
{
    if (!q->out_count) return 0;
    *b = q->out[q->out_head];
    q->out_head = (q->out_head + 1) % q->out_cap;
    q->out_count--;
    return 1;
}
