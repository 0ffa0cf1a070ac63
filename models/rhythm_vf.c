/* rhythm_vf.c — ventricular flutter/fibrillation window verdicts: VF-filter leakage, TCSC and
 * dominant frequency on decimated, band-passed leads (see rhythm_vf.h). */
#include "rhythm_vf.h"

#include "biquad.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TARGET_HZ 100.0      /* analysis rate after the boxcar decimation */
#define HP_HZ 1.0            /* baseline wander out */
#define LP_HZ 25.0           /* muscle noise and QRS sharpness down; VF lies at 2.5-9 Hz */
#define LEAKAGE_MAX 0.5      /* VF filter: a notch at the mean period leaves under half */
#define TCSC_MIN 0.4         /* no isoelectric baseline: 40 % of samples above 0.2 of the peak */
#define TCSC_BASELINE 0.25   /* below: a clear isoelectric baseline, an organised rhythm */
#define TCSC_LEVEL 0.2       /* Arafat et al.'s threshold, a fraction of the window's largest |x| */
#define FREQ_MIN_HZ 2.5      /* 150/min: slower is VT or a wide-complex rhythm, not flutter */
#define FREQ_MAX_HZ 9.0      /* faster is muscle or mains noise, not VF */
#define PP_MIN_UV 150.0      /* below: an electrode off, or fine VF no one can see either */
#define PP_MAX_UV 8000.0     /* above: motion, no ECG swings this much band-passed */

typedef struct {
    double acc;            /* boxcar sum of the current decimation group */
    dsp_biquad_state hp, lp;
    float *ring;           /* the last window of band-passed samples */
    rh_vf_lead last;
} lead_state;

struct rh_vf {
    int nleads;
    int decim;             /* raw samples per analysis sample */
    int in_group;          /* raw samples in the current group */
    int window, hop;       /* analysis samples */
    int64_t produced;      /* analysis samples produced */
    int at, since_hop;     /* produced % window and produced % hop, kept as counters */
    int64_t windows;
    dsp_biquad hp, lp;
    lead_state *leads;
    float *scratch;        /* one window, linearised */
    rh_vf_verdict *out;    /* verdicts not yet popped */
    size_t head, count, cap;
};

rh_vf *rh_vf_create(double fs, int nleads, char *err, size_t errlen)
{
    if (!(fs >= 125.0 && fs <= 2000.0) || nleads < 1 || nleads > 64) {
        snprintf(err, errlen, "VF detection: %d leads at %g Hz (1..64 leads at 125..2000 Hz supported)", nleads, fs);
        return NULL;
    }
    rh_vf *v = calloc(1, sizeof *v);
    if (!v) goto oom;
    v->nleads = nleads;
    v->decim = (int)floor(fs / TARGET_HZ + 0.5);
    if (v->decim < 1) v->decim = 1;
    double fd = fs / v->decim;
    v->hop = (int)floor(fd * RH_VF_HOP_S + 0.5);
    v->window = (int)(RH_VF_WINDOW_S / RH_VF_HOP_S + 0.5) * v->hop;
    v->hp = dsp_biquad_butter(HP_HZ, fd, 1);
    v->lp = dsp_biquad_butter(LP_HZ, fd, 0);
    v->leads = calloc((size_t)nleads, sizeof *v->leads);
    v->scratch = malloc((size_t)v->window * sizeof *v->scratch);
    if (!v->leads || !v->scratch) goto oom;
    for (int l = 0; l < nleads; l++)
        if (!(v->leads[l].ring = calloc((size_t)v->window, sizeof *v->leads[l].ring))) goto oom;
    return v;
oom:
    snprintf(err, errlen, "VF detection: out of memory");
    rh_vf_free(v);
    return NULL;
}

void rh_vf_free(rh_vf *v)
{
    if (!v) return;
    for (int l = 0; v->leads && l < v->nleads; l++) free(v->leads[l].ring);
    free(v->leads);
    free(v->scratch);
    free(v->out);
    free(v);
}

/* The three measurements of one lead's window x[0..n) (band-passed, so without DC). Every window
 * of every lead passes here each second: the loops are `omp simd` reductions, vectorised. */
static void measure(const float *x, int n, double fs, rh_vf_lead *m)
{
    double s_abs = 0.0, s_diff = 0.0, lo = x[0], hi = x[0], peak = 0.0;
#pragma omp simd reduction(+ : s_abs) reduction(max : peak, hi) reduction(min : lo)
    for (int i = 0; i < n; i++) {
        double a = fabs((double)x[i]);
        s_abs += a;
        peak = a > peak ? a : peak;
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
#pragma omp simd reduction(+ : s_diff)
    for (int i = 1; i < n; i++) s_diff += fabs((double)x[i] - (double)x[i - 1]);
    memset(m, 0, sizeof *m);
    m->pp_uv = hi - lo;
    m->leakage = 1.0;
    m->readable = m->pp_uv >= PP_MIN_UV && m->pp_uv <= PP_MAX_UV;
    if (s_diff <= 0.0) return;
    /* For a sinusoid, pi * mean|x| / mean|dx| is its half period in samples: a notch there
     * (x[i] + x[i - N]) cancels it, and cancels little of anything spiky or broadband. */
    double half = M_PI * s_abs / s_diff;
    m->freq_hz = fs / (2.0 * half);
    int N = (int)floor(half + 0.5);
    if (N >= 1 && N < n / 2) {
        double num = 0.0, den = 0.0;
#pragma omp simd reduction(+ : num, den)
        for (int i = N; i < n; i++) {
            num += fabs((double)x[i] + (double)x[i - N]);
            den += fabs((double)x[i]) + fabs((double)x[i - N]);
        }
        m->leakage = den > 0.0 ? num / den : 1.0;
    }
    int above = 0;
    float level = (float)(TCSC_LEVEL * peak);
#pragma omp simd reduction(+ : above)
    for (int i = 0; i < n; i++) above += fabsf(x[i]) > level;
    m->tcsc = (double)above / n;
    m->vf = m->readable && m->leakage < LEAKAGE_MAX && m->tcsc >= TCSC_MIN && m->freq_hz >= FREQ_MIN_HZ &&
            m->freq_hz <= FREQ_MAX_HZ;
}

static int judge(rh_vf *v)
{
    int readable = 0, votes = 0, organised = 0;
    int64_t pos = v->produced % v->window; /* the oldest sample of the window in the ring */
    double fd = (double)v->hop / RH_VF_HOP_S;
    for (int l = 0; l < v->nleads; l++) {
        lead_state *L = &v->leads[l];
        size_t first = (size_t)(v->window - pos);
        memcpy(v->scratch, L->ring + pos, first * sizeof *v->scratch);
        memcpy(v->scratch + first, L->ring, (size_t)pos * sizeof *v->scratch);
        measure(v->scratch, v->window, fd, &L->last);
        readable += L->last.readable;
        votes += L->last.vf;
        organised += L->last.readable && L->last.tcsc < TCSC_BASELINE;
    }
    v->windows++;
    /* The window's centre second, in input samples. */
    int64_t centre = v->produced - v->window / 2;
    rh_vf_verdict d = {(centre - v->hop / 2) * v->decim, (centre - v->hop / 2 + v->hop) * v->decim,
                       votes >= 1 && 2 * votes >= readable && !organised};
    if (v->head + v->count == v->cap) {
        if (v->head) {
            memmove(v->out, v->out + v->head, v->count * sizeof *v->out);
            v->head = 0;
        }
        if (v->count == v->cap) {
            size_t cap = v->cap ? 2 * v->cap : 16;
            rh_vf_verdict *o = realloc(v->out, cap * sizeof *o);
            if (!o) return -1;
            v->out = o;
            v->cap = cap;
        }
    }
    v->out[v->head + v->count++] = d;
    return 0;
}

int rh_vf_push(rh_vf *v, const float *uv, size_t stride, size_t n)
{
    int rc = 0;
    size_t i = 0;
    while (i < n) {
        /* The rest of the current decimation group, lead by lead. */
        size_t m = (size_t)(v->decim - v->in_group);
        if (m > n - i) m = n - i;
        for (int l = 0; l < v->nleads; l++) {
            const float *x = uv + (size_t)l * stride + i;
            double acc = v->leads[l].acc;
            for (size_t j = 0; j < m; j++) acc += x[j];
            v->leads[l].acc = acc;
        }
        i += m;
        v->in_group += (int)m;
        if (v->in_group < v->decim) break;
        for (int l = 0; l < v->nleads; l++) {
            lead_state *L = &v->leads[l];
            double x = L->acc / v->decim;
            L->acc = 0.0;
            L->ring[v->at] = (float)dsp_biquad_run(&v->lp, &L->lp, dsp_biquad_run(&v->hp, &L->hp, x));
        }
        v->in_group = 0;
        v->produced++;
        if (++v->at == v->window) v->at = 0;
        if (++v->since_hop == v->hop) v->since_hop = 0;
        if (v->produced >= v->window && v->since_hop == 0 && judge(v)) rc = -1;
    }
    return rc;
}

int rh_vf_next(rh_vf *v, rh_vf_verdict *out)
{
    if (!v->count) return 0;
    *out = v->out[v->head++];
    if (!--v->count) v->head = 0;
    return 1;
}

const rh_vf_lead *rh_vf_last(const rh_vf *v, int l)
{
    return &v->leads[l].last;
}

int64_t rh_vf_windows(const rh_vf *v)
{
    return v->windows;
}
