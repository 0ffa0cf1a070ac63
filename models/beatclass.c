/* beatclass.c — the streaming beat classifier: each detected beat's features (RR intervals, QRS
 * width, morphology, likeness to the record's own dominant beat) from the filtered signal, then
 * the model's label.
 *
 * Morphology uses the first two leads at most: Holter records have two, and the first two of a
 * 12-lead record (I, II) carry the rhythm; a 1-lead record repeats its lead in the second slot so
 * that the model sees a consistent (if less informed) vector. The signal window of a beat is
 * -250..+400 ms around the fiducial point, resampled to a 5 ms grid so that the features and
 * the model do not depend on the sample rate. */
#include "beatclass_model.h"
#include "beatclass_shape.h"

#include "rhythm_af.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NL BC_NL              /* leads used for morphology */
#define STEP_MS BC_STEP_MS
#define PRE_MS BC_PRE_MS
#define POST_MS BC_POST_MS
#define G BC_G                /* grid points per lead */
#define Z BC_Z                /* grid index of the fiducial point */
#define GI(ms) BC_GI(ms)      /* grid index of an offset in ms */
#define RING_S 12.0          /* filtered signal kept: covers the detector's worst latency */
#define NBANK 4              /* beat-shape clusters per record */
#define RR_LOCAL 10          /* beats in the local RR average */
#define RR_LONG_S 300.0      /* span of the long-term RR average */
#define RR_CTX 32            /* RR intervals of the rhythm context (AF or not, about 30 s) */
#define MATCH_CORR 0.85      /* a beat joins a cluster at this QRS correlation... */
#define MATCH_AMP_LO 0.7     /* ...and amplitude ratio */
#define MATCH_AMP_HI 1.4
#define BANK_DECAY 0.99f     /* cluster weights forget over about a hundred beats */
#define BANK_SLOW 20         /* a template moves by 1/20 of a matching beat once established */

typedef struct {
    dsp_beat b;
    int snapped;
    float w[NL * G];
} pending;

/* Where grid point k of a beat's window lies: sample + off[k] + frac[k] (the fiducial point is a
 * whole sample, so this is the same for every beat at a sample rate). */
typedef struct {
    int off[G];
    float frac[G];
} grid;

typedef struct {
    float t[NL * G];
    float weight;
    long n;
    float spread;  /* running mean of 1 - (aligned QRS correlation) of the beats that joined */
    float prem;    /* running mean of their RR before / local RR: near 1 for a conducted shape */
} cluster;

struct bc_stream {
    const bc_model *model;
    bc_rule_opts rules;
    double fs;
    int nleads, used, keep;
    float *ring[NL];
    int64_t cap, base, end; /* ring holds samples [max(base, end - cap), end) */
    grid grid;
    int have_base;
    pending *pend;
    size_t p_head, p_count, p_cap;
    bc_beat *out;
    size_t o_head, o_count, o_cap;
    cluster bank[NBANK];    /* shapes as the detector's fiducial point gives them: the model's */
    int nbank;
    cluster abank[NBANK];   /* shapes aligned to each other: the rules' (dom_*, clu_* features) */
    int nabank;
    int64_t prev_sample;    /* last emitted beat, -1 before the first */
    float prev_w[NL * G];   /* its window */
    double rr_hist[RR_LOCAL];
    int rr_n, rr_pos;
    double rr_ctx[RR_CTX];  /* the last RR_CTX intervals, oldest first once full */
    int ctx_n, ctx_pos;
    double rr_long, rr_time;
    int finished;
};

static const char *const names[] = {
    "rr_pre", "rr_post", "rr_local", "rr_long", "rr_pre_local", "rr_post_local", "rr_pre_long",
    "rr_post_pre", "rr_local_long", "rr_local_cv", "prem_regular", "prem_shape", "qrs_width", "qrs_width_ratio", "det_match", "det_strength",
    "l0_corr_qrs", "l0_corr_all", "l0_corr_p", "l0_corr_t", "l0_amp_ratio", "l0_diff_qrs",
    "l1_corr_qrs", "l1_corr_all", "l1_corr_p", "l1_corr_t", "l1_amp_ratio", "l1_diff_qrs",
    "dom_acorr_l0", "dom_acorr_l1", "dom_adiff_l0", "dom_adiff_l1", "dom_shift", "width_diff",
    "dom_spread", "clu_prem", "clu_share", "rhythm_af",
    "l0_m-250", "l0_m-200", "l0_m-150", "l0_m-100", "l0_m-75", "l0_m-50", "l0_m-25", "l0_m0",
    "l0_m25", "l0_m50", "l0_m75", "l0_m100", "l0_m150", "l0_m200", "l0_m250", "l0_m300",
    "l0_m350", "l0_m400",
    "l1_m-250", "l1_m-200", "l1_m-150", "l1_m-100", "l1_m-75", "l1_m-50", "l1_m-25", "l1_m0",
    "l1_m25", "l1_m50", "l1_m75", "l1_m100", "l1_m150", "l1_m200", "l1_m250", "l1_m300",
    "l1_m350", "l1_m400",
};
static const int morph_ms[] = {-250, -200, -150, -100, -75, -50, -25, 0, 25, 50, 75, 100,
                               150, 200, 250, 300, 350, 400};
#define L0 16 /* first per-lead template feature */
#define D0 (L0 + 6 * NL) /* first aligned-to-the-dominant-beat feature */
#define M0 (D0 + 10) /* first morphology sample */
#define NFEAT ((int)(sizeof names / sizeof names[0]))
#define NMORPH ((int)(sizeof morph_ms / sizeof morph_ms[0]))
_Static_assert(NFEAT <= BC_MAX_FEATURES, "feature vector too long");
_Static_assert(NFEAT == M0 + NL * NMORPH, "feature names out of step with the features");

int bc_feature_count(void) { return NFEAT; }

const char *bc_feature_name(int i) { return i >= 0 && i < NFEAT ? names[i] : ""; }

int bc_feature_rule_only(int i) { return i >= D0 && i < M0; }

bc_stream *bc_stream_create(const bc_model *model, double fs, int nleads, int keep_features,
                            char *err, size_t errlen)
{
    if (!(fs >= 100.0 && fs <= 10000.0) || nleads < 1) {
        snprintf(err, errlen, "beat classifier: %g Hz and %d leads are not supported", fs, nleads);
        return NULL;
    }
    bc_stream *s = calloc(1, sizeof *s);
    if (!s) goto oom;
    s->model = model;
    bc_rule_opts_default(&s->rules);
    s->fs = fs;
    s->nleads = nleads;
    s->used = nleads < NL ? nleads : NL;
    s->keep = keep_features;
    s->cap = (int64_t)ceil(RING_S * fs);
    for (int l = 0; l < s->used; l++)
        if (!(s->ring[l] = calloc((size_t)s->cap, sizeof *s->ring[l]))) goto oom;
    s->prev_sample = -1;
    for (int k = 0; k < G; k++) {
        double x = (k * STEP_MS - PRE_MS) * 1e-3 * fs, fl = floor(x);
        s->grid.off[k] = (int)fl;
        s->grid.frac[k] = (float)(x - fl);
    }
    return s;
oom:
    bc_stream_free(s);
    snprintf(err, errlen, "beat classifier: out of memory");
    return NULL;
}

void bc_stream_free(bc_stream *s)
{
    if (!s) return;
    free(s->out);
    free(s->pend);
    for (int l = 0; l < NL; l++) free(s->ring[l]);
    free(s);
}

/* Filtered sample t of used lead l; 0 outside what the ring holds (before the record, or a beat
 * so late that its signal has gone, which the detector's latency bound rules out). */
static float at(const bc_stream *s, int l, int64_t t)
{
    if (t < s->base || t >= s->end || t < s->end - s->cap) return 0.0f;
    return s->ring[l][t % s->cap];
}

/* Last sample index the window of a beat needs (for the interpolation). */
static int64_t window_end(const bc_stream *s, int64_t sample)
{
    return sample + (int64_t)ceil(POST_MS * 1e-3 * s->fs) + 1;
}

static void snapshot(const bc_stream *s, pending *p)
{
    const grid *g = &s->grid;
    int64_t lo = p->b.sample + g->off[0], hi = p->b.sample + g->off[G - 1] + 1;
    int whole = lo >= s->base && lo >= s->end - s->cap && hi < s->end;
    for (int l = 0; l < NL; l++) {
        int src = l < s->used ? l : 0;
        float *w = p->w + l * G;
        if (!whole) { /* the record's first or last moments: the samples outside read 0 */
            for (int k = 0; k < G; k++) {
                int64_t i = p->b.sample + g->off[k];
                w[k] = (1.0f - g->frac[k]) * at(s, src, i) + g->frac[k] * at(s, src, i + 1);
            }
            continue;
        }
        const float *r = s->ring[src];
        int64_t j0 = lo % s->cap;
        for (int k = 0; k < G; k++) {
            int64_t j = j0 + (g->off[k] - g->off[0]), j1;
            if (j >= s->cap) j -= s->cap;
            j1 = j + 1 == s->cap ? 0 : j + 1;
            w[k] = (1.0f - g->frac[k]) * r[j] + g->frac[k] * r[j1];
        }
    }
    p->snapped = 1;
}

static double corr(const float *a, const float *b, int from, int to)
{
    return bc_corr(a + from, b + from, to - from + 1);
}

/* Correlation of a shifted by sh grid points (a[k + sh] against b[k]) over b's indices
 * from..to, kept to where both exist. */
static double corr_at(const float *a, const float *b, int from, int to, int sh)
{
    if (from + sh < 0) from = -sh;
    if (to + sh > G - 1) to = G - 1 - sh;
    return corr(a + sh, b, from, to);
}

/* Peak-to-peak amplitude of the QRS region (-100..+100 ms). */
static float ppk(const float *a)
{
    float lo = a[GI(-100)], hi = lo;
#pragma omp simd reduction(min : lo) reduction(max : hi)
    for (int k = GI(-100); k <= GI(100); k++) {
        lo = a[k] < lo ? a[k] : lo;
        hi = a[k] > hi ? a[k] : hi;
    }
    return hi - lo;
}

/* QRS duration is measured on the summed slope of the leads (each scaled to its template
 * amplitude) over -155..+205 ms: from the steepest slope within 70 ms of the centre outwards to
 * where the slope stays under 15 % of it. SL_LO is the first grid point of the profile. */
#define SL_LO (GI(-150) - 1)
#define SL_N (GI(200) + 2 - SL_LO)

static void slope_profile(const float *w, const float *inv_scale, float *slope)
{
    for (int k = 0; k < SL_N; k++) {
        int g = SL_LO + k;
        slope[k] = 0;
        for (int l = 0; l < NL; l++) slope[k] += fabsf(w[l * G + g + 1] - w[l * G + g]) * inv_scale[l];
    }
}

/* QRS duration in seconds around grid point centre, from a slope profile. */
static double qrs_width(const float *slope, int centre)
{
    const float *sl = slope - SL_LO; /* indexed by grid point */
    float mx = 0;
    for (int k = centre - 70 / STEP_MS; k <= centre + 70 / STEP_MS; k++)
        if (sl[k] > mx) mx = sl[k];
    float thr = 0.15f * mx;
    int on = centre, off = centre;
    while (on > GI(-150) && !(sl[on] < thr && sl[on - 1] < thr)) on--;
    while (off < GI(200) && !(sl[off] < thr && sl[off + 1] < thr)) off++;
    return (off - on) * STEP_MS * 1e-3;
}

/* Index of the cluster with the most weight (the dominant beat), -1 if none. */
static int dominant(const cluster *bank, int nbank)
{
    int best = -1;
    for (int c = 0; c < nbank; c++)
        if (best < 0 || bank[c].weight > bank[best].weight) best = c;
    return best;
}

/* The slot for a new cluster: a free one, else the lightest. */
static int bank_slot(cluster *bank, int *nbank)
{
    if (*nbank < NBANK) return (*nbank)++;
    int best = 0;
    for (int c = 1; c < NBANK; c++)
        if (bank[c].weight < bank[best].weight) best = c;
    return best;
}

/* Adds the beat to the cluster it matches without alignment (its template moves towards it), or
 * starts a new cluster in place of the lightest one: the model's templates. No labels: the
 * dominant cluster is whatever shape the record mostly has. */
static void bank_update_plain(bc_stream *s, const float *w, const double (*qc)[NL])
{
    int best = -1;
    double best_c = MATCH_CORR;
    float pb = ppk(w);
    for (int c = 0; c < s->nbank; c++) {
        const float *t = s->bank[c].t;
        double cc = 0.5 * (qc[c][0] + qc[c][1]);
        float pt = ppk(t);
        double amp = pt > 0 ? pb / pt : 0;
        if (cc >= best_c && amp >= MATCH_AMP_LO && amp <= MATCH_AMP_HI) {
            best_c = cc;
            best = c;
        }
    }
    for (int c = 0; c < s->nbank; c++) s->bank[c].weight *= BANK_DECAY;
    if (best < 0) {
        best = bank_slot(s->bank, &s->nbank);
        memcpy(s->bank[best].t, w, sizeof s->bank[best].t);
        s->bank[best].weight = 1.0f;
        s->bank[best].n = 1;
        return;
    }
    cluster *c = &s->bank[best];
    c->n++;
    float a = 1.0f / (float)(c->n < BANK_SLOW ? c->n : BANK_SLOW);
#pragma omp simd
    for (int k = 0; k < NL * G; k++) c->t[k] += a * (w[k] - c->t[k]);
    c->weight += 1.0f;
}

/* The cluster the beat matches best once aligned to it (QRS correlation of both leads and
 * amplitude), -1 if none; shifts[c] and ccs[c] are the alignment and correlation with cluster
 * c, computed for the dominant one (dom, may be -1) and those of a matching amplitude only. */
static int bank_match(const cluster *bank, int nbank, int dom, const float *w, const bc_prefix *pw,
                      int *shifts, double *ccs)
{
    int best = -1;
    double best_c = MATCH_CORR;
    float pb = ppk(w);
    for (int c = 0; c < nbank; c++) {
        const float *t = bank[c].t;
        float pt = ppk(t);
        double amp = pt > 0 ? pb / pt : 0;
        int amp_ok = amp >= MATCH_AMP_LO && amp <= MATCH_AMP_HI;
        shifts[c] = 0;
        ccs[c] = 0;
        if (!amp_ok && c != dom) continue; /* cannot match: spare the alignment */
        double ac;
        int sh = bc_align(w, pw, t, 2, &ac);
        shifts[c] = sh;
        ccs[c] = ac;
        if (ac >= best_c && amp_ok) {
            best_c = ac;
            best = c;
        }
    }
    return best;
}

/* Adds the beat to aligned cluster `best` (its template moves towards the beat, aligned by
 * shift), or starts a new one in place of the lightest when best < 0. prem is the beat's RR
 * before / local RR. */
static void bank_update_aligned(bc_stream *s, const float *w, int best, int shift, double cc,
                                double prem)
{
    for (int c = 0; c < s->nabank; c++) s->abank[c].weight *= BANK_DECAY;
    if (best < 0) {
        best = bank_slot(s->abank, &s->nabank);
        cluster *c = &s->abank[best];
        memcpy(c->t, w, sizeof c->t);
        c->weight = 1.0f;
        c->n = 1;
        c->spread = 0.05f; /* unknown yet: a typical spread of a clean shape */
        c->prem = (float)prem;
        return;
    }
    cluster *c = &s->abank[best];
    c->n++;
    float a = 1.0f / (float)(c->n < BANK_SLOW ? c->n : BANK_SLOW);
    /* The template learns the beat as aligned to it, so that a fiducial point that wanders
     * between the R and the S wave does not smear it. */
    int from = shift < 0 ? -shift : 0, to = shift > 0 ? G - shift : G; /* k + shift on the grid */
    for (int l = 0; l < NL; l++) {
        float *t = c->t + l * G;
        const float *x = w + l * G + shift;
#pragma omp simd
        for (int k = from; k < to; k++) t[k] += a * (x[k] - t[k]);
    }
    c->spread += a * ((float)(1.0 - cc) - c->spread);
    c->prem += a * ((float)prem - c->prem);
    c->weight += 1.0f;
}

static double clamp_rr(double rr) { return rr < 0.1 ? 0.1 : rr > 5.0 ? 5.0 : rr; }

/* Is the rhythm of the last RR_CTX intervals atrial fibrillation, by the AF detector's own test
 * (rhythm_af.h: irregular without pattern, irregular still once ectopy is edited out)? */
static int rhythm_is_af(const bc_stream *s)
{
    double rr[RR_CTX];
    int n = s->ctx_n;
    if (n < RR_CTX) return 0; /* too few to say: taken as regular */
    for (int i = 0; i < n; i++) rr[i] = s->rr_ctx[(s->ctx_pos + i) % RR_CTX];
    rh_af_features af;
    rh_af_measure(rr, (size_t)n, &af);
    return rh_af_decide(&af, (size_t)n);
}

/* Features of the front pending beat (next: the following beat's sample, or -1), then the RR
 * history and the templates learn from it. */
static void features(bc_stream *s, const pending *p, const bc_prefix *pw, int64_t next, float *f)
{
    double fs = s->fs;
    /* The local RR is the median of the last beats' (an ectopic beat and its pause do not move
     * it); its spread tells an irregular rhythm (AF), where a short RR says little. */
    double sorted[RR_LOCAL], local = 0, mean = 0, var = 0;
    for (int i = 0; i < s->rr_n; i++) {
        double v = s->rr_hist[i];
        int j = i;
        for (; j > 0 && sorted[j - 1] > v; j--) sorted[j] = sorted[j - 1];
        sorted[j] = v;
        mean += v;
    }
    if (s->rr_n) {
        local = s->rr_n % 2 ? sorted[s->rr_n / 2] : 0.5 * (sorted[s->rr_n / 2 - 1] + sorted[s->rr_n / 2]);
        mean /= s->rr_n;
        for (int i = 0; i < s->rr_n; i++) var += (s->rr_hist[i] - mean) * (s->rr_hist[i] - mean);
        var /= s->rr_n;
    }
    double pre = s->prev_sample >= 0 ? clamp_rr((double)(p->b.sample - s->prev_sample) / fs) : 0;
    double post = next >= 0 ? clamp_rr((double)(next - p->b.sample) / fs) : 0;
    if (!s->rr_n) local = pre ? pre : post ? post : 1.0;
    double cv = s->rr_n ? sqrt(var) / mean : 0.0;
    if (!pre) pre = local;
    if (!post) post = local;
    double lng = s->rr_time > 0 ? s->rr_long : local;
    f[0] = (float)pre;
    f[1] = (float)post;
    f[2] = (float)local;
    f[3] = (float)lng;
    f[4] = (float)(pre / local);
    f[5] = (float)(post / local);
    f[6] = (float)(pre / lng);
    f[7] = (float)(post / pre);
    f[8] = (float)(local / lng);
    /* A linear model cannot say "premature AND regular rhythm AND normal shape": products do. */
    double prem = pre < local ? 1.0 - pre / local : 0.0;
    f[9] = (float)cv;
    f[10] = (float)(prem / (cv + 0.05));

    /* Each plain template's QRS correlation with the beat, per lead: the dominant one's is a
     * feature, and all of them place the beat in the bank. */
    double qc[NBANK][NL];
    for (int c = 0; c < s->nbank; c++)
        for (int l = 0; l < NL; l++) qc[c][l] = corr(p->w + l * G, s->bank[c].t + l * G, GI(-100), GI(100));
    int d = dominant(s->bank, s->nbank);
    const float *t = d >= 0 ? s->bank[d].t : p->w;
    float scale[NL];
    for (int l = 0; l < NL; l++) {
        scale[l] = ppk(t + l * G);
        if (scale[l] < 10.0f) scale[l] = 10.0f; /* a flat lead: 10 µV keeps its features small */
    }
    float inv_scale[NL], sw[SL_N], st[SL_N];
    for (int l = 0; l < NL; l++) inv_scale[l] = 1.0f / scale[l];
    slope_profile(p->w, inv_scale, sw);
    slope_profile(t, inv_scale, st);
    double wb = qrs_width(sw, Z), wt = qrs_width(st, Z);
    f[L0 - 4] = (float)wb;
    f[L0 - 3] = (float)(wt > 0 ? wb / wt : 1.0);
    f[L0 - 2] = p->b.match;
    f[L0 - 1] = p->b.strength;
    for (int l = 0; l < NL; l++) {
        const float *a = p->w + l * G, *b = t + l * G;
        float *o = f + L0 + 6 * l;
        o[0] = (float)(d >= 0 ? qc[d][l] : corr(a, b, GI(-100), GI(100)));
        o[1] = (float)corr(a, b, 0, G - 1);
        o[2] = (float)corr(a, b, 0, GI(-60));
        o[3] = (float)corr(a, b, GI(150), G - 1);
        o[4] = ppk(a) / scale[l];
        double e = 0;
#pragma omp simd reduction(+ : e)
        for (int k = GI(-100); k <= GI(100); k++) e += (double)(a[k] - b[k]) * (a[k] - b[k]);
        o[5] = (float)(sqrt(e / (GI(100) - GI(-100) + 1)) / scale[l]);
        if (l == 0) f[11] = (float)(prem * (o[0] > 0 ? o[0] : 0));
        for (int m = 0; m < NMORPH; m++) f[M0 + l * NMORPH + m] = a[GI(morph_ms[m])] / scale[l];
    }

    /* The beat against the dominant template once aligned to it (both leads shifted together):
     * judged against the record's own usual beat and how much that beat itself varies, a wide
     * bundle-branch-block beat that is the patient's usual shape is not ectopic. */
    int da = dominant(s->abank, s->nabank);
    const float *ta = da >= 0 ? s->abank[da].t : p->w;
    int shifts[NBANK];
    double ccs[NBANK];
    int mc = bank_match(s->abank, s->nabank, da, p->w, pw, shifts, ccs);
    int dsh = da >= 0 ? shifts[da] : 0;
    for (int l = 0; l < NL; l++) {
        const float *a = p->w + l * G, *b = ta + l * G;
        f[D0 + l] = (float)corr_at(a, b, GI(-100), GI(100), dsh);
        double e = 0;
#pragma omp simd reduction(+ : e)
        for (int k = GI(-100); k <= GI(100); k++) {
            double v = a[k + dsh] - b[k];
            e += v * v;
        }
        f[D0 + 2 + l] = (float)(sqrt(e / (GI(100) - GI(-100) + 1)) / scale[l]);
    }
    f[D0 + 4] = (float)(abs(dsh) * STEP_MS * 1e-3);
    slope_profile(ta, inv_scale, st);
    f[D0 + 5] = (float)(qrs_width(sw, Z + dsh) - qrs_width(st, Z));
    f[D0 + 6] = da >= 0 ? s->abank[da].spread : 0.05f;
    /* The shape's own timing: a cluster whose beats come on time is a conducted rhythm (e.g.
     * intermittent bundle-branch block), one whose beats come early is ectopic. */
    f[D0 + 7] = mc >= 0 ? s->abank[mc].prem : (float)(pre / local);
    f[D0 + 8] = mc >= 0 && da >= 0 ? s->abank[mc].weight / s->abank[da].weight : 0.0f;
    f[D0 + 9] = 0.0f; /* the rhythm before the beat: emit() fills it in where it is read */

    if (s->prev_sample >= 0) {
        double rr = (double)(p->b.sample - s->prev_sample) / fs;
        s->rr_hist[s->rr_pos] = clamp_rr(rr);
        s->rr_pos = (s->rr_pos + 1) % RR_LOCAL;
        if (s->rr_n < RR_LOCAL) s->rr_n++;
        /* A plain mean over the first 5 minutes, then an exponential one of the same span. */
        s->rr_time += rr;
        double a = s->rr_time < RR_LONG_S ? rr / s->rr_time : rr / RR_LONG_S;
        s->rr_long += a * (clamp_rr(rr) - s->rr_long);
    }
    s->prev_sample = p->b.sample;
    bank_update_plain(s, p->w, (const double (*)[NL])qc);
    bank_update_aligned(s, p->w, mc, mc >= 0 ? shifts[mc] : 0, mc >= 0 ? ccs[mc] : 0.0, pre / local);
}

static int push_out(bc_stream *s, const bc_beat *b)
{
    if (s->o_head + s->o_count == s->o_cap) {
        if (s->o_head) {
            memmove(s->out, s->out + s->o_head, s->o_count * sizeof *s->out);
            s->o_head = 0;
        } else {
            size_t cap = s->o_cap ? 2 * s->o_cap : 16;
            bc_beat *n = realloc(s->out, cap * sizeof *n);
            if (!n) return -1;
            s->out = n;
            s->o_cap = cap;
        }
    }
    s->out[s->o_head + s->o_count++] = *b;
    return 0;
}

/* Emits the front beats whose window and following beat have arrived (all, once finished). */
static int emit(bc_stream *s)
{
    while (s->p_count) {
        pending *p = &s->pend[s->p_head];
        if (!p->snapped || (s->p_count < 2 && !s->finished)) break;
        int64_t next = s->p_count >= 2 ? s->pend[s->p_head + 1].b.sample : -1;
        bc_beat o;
        memset(&o, 0, sizeof o);
        o.sample = p->b.sample;
        bc_prefix pw;
        bc_prefix_of(p->w, &pw);
        int64_t prev = s->prev_sample;
        if (prev >= 0) {
            double cc;
            (void)bc_align(p->w, &pw, s->prev_w, 2, &cc);
            o.prev_corr = (float)cc;
        } else {
            o.prev_corr = NAN;
        }
        memcpy(s->prev_w, p->w, sizeof s->prev_w);
        features(s, p, &pw, next, o.features);
        /* The rhythm before this beat (its own RR joins the context below). The AF test is the
         * dearest feature, and only an S or V label (or a model that reads it) needs it. */
        int in_af = -1;
        if (s->keep || (s->model && bc_model_reads(s->model, BC_F_RHYTHM_AF)))
            o.features[BC_F_RHYTHM_AF] = (float)(in_af = rhythm_is_af(s));
        int blank = 1;
        for (int k = GI(-100); k <= GI(100) && blank; k++) blank = p->w[k] == 0.0f;
        if (blank) {
            o.label = 'Q'; /* no signal to judge it by */
            o.confidence = 0.0f;
        } else if (s->model) {
            o.label = bc_model_classify(s->model, o.features, &o.confidence);
            if (in_af < 0 && (o.label == 'S' || o.label == 'V'))
                o.features[BC_F_RHYTHM_AF] = (float)(in_af = rhythm_is_af(s));
            o.label = bc_rules_apply(&s->rules, o.label, o.features);
            /* MIT-BIH, like AAMI, labels the beats of AF 'N' however early they come: in AF an
             * early beat is the rhythm, not an atrial premature beat. */
            if (o.label == 'S' && in_af == 1) o.label = 'N';
        } else {
            o.label = 'N';
            o.confidence = 0.0f;
        }
        if (prev >= 0) {
            s->rr_ctx[s->ctx_pos] = clamp_rr((double)(p->b.sample - prev) / s->fs);
            s->ctx_pos = (s->ctx_pos + 1) % RR_CTX;
            if (s->ctx_n < RR_CTX) s->ctx_n++;
        }
        o.nfeatures = s->keep ? NFEAT : 0;
        if (push_out(s, &o)) return -1;
        s->p_head++;
        if (--s->p_count == 0) s->p_head = 0;
    }
    return 0;
}

/* Takes the window of every pending beat whose signal has all arrived. */
static void snap_ready(bc_stream *s)
{
    for (size_t i = 0; i < s->p_count; i++) {
        pending *p = &s->pend[s->p_head + i];
        if (!p->snapped && window_end(s, p->b.sample) < s->end) snapshot(s, p);
    }
}

int bc_stream_signal(bc_stream *s, int64_t start, const float *uv, size_t stride, size_t n,
                     char *err, size_t errlen)
{
    if (!s->have_base) {
        s->base = s->end = start;
        s->have_base = 1;
    }
    /* In pieces small enough that a window completed by a piece is still whole in the ring. */
    int64_t piece = s->cap - (int64_t)ceil((PRE_MS + POST_MS) * 1e-3 * s->fs) - 4;
    size_t done = 0;
    while (done < n) {
        size_t m = n - done < (size_t)piece ? n - done : (size_t)piece;
        size_t pos = (size_t)(s->end % s->cap), first = (size_t)s->cap - pos < m ? (size_t)s->cap - pos : m;
        for (int l = 0; l < s->used; l++) {
            const float *src = uv + (size_t)l * stride + done;
            memcpy(s->ring[l] + pos, src, first * sizeof *src);
            memcpy(s->ring[l], src + first, (m - first) * sizeof *src);
        }
        s->end += (int64_t)m;
        done += m;
        snap_ready(s);
    }
    if (emit(s)) {
        if (err) snprintf(err, errlen, "beat classifier: out of memory");
        return -1;
    }
    return 0;
}

int bc_stream_beat(bc_stream *s, const dsp_beat *b, char *err, size_t errlen)
{
    if (s->p_head + s->p_count == s->p_cap) {
        if (s->p_head) {
            memmove(s->pend, s->pend + s->p_head, s->p_count * sizeof *s->pend);
            s->p_head = 0;
        } else {
            size_t cap = s->p_cap ? 2 * s->p_cap : 16;
            pending *np = realloc(s->pend, cap * sizeof *np);
            if (!np) goto oom;
            s->pend = np;
            s->p_cap = cap;
        }
    }
    pending *p = &s->pend[s->p_head + s->p_count++];
    p->b = *b;
    p->snapped = 0;
    if (s->have_base && window_end(s, b->sample) < s->end) snapshot(s, p);
    if (emit(s)) goto oom;
    return 0;
oom:
    snprintf(err, errlen, "beat classifier: out of memory");
    return -1;
}

void bc_stream_finish(bc_stream *s)
{
    s->finished = 1;
    for (size_t i = 0; i < s->p_count; i++)
        if (!s->pend[s->p_head + i].snapped) snapshot(s, &s->pend[s->p_head + i]);
    /* Out of memory here leaves the rest pending; the contract has no error to return. */
    (void)emit(s);
}

int bc_stream_next(bc_stream *s, bc_beat *out)
{
    if (!s->o_count) return 0;
    *out = s->out[s->o_head++];
    if (--s->o_count == 0) s->o_head = 0;
    return 1;
}
