/* rhythm_pwave.c — P-wave repeatability before each beat (correlation with a running template). */
#include "rhythm_pwave.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define TEMPLATE_WEIGHT (1.0 / 16.0) /* a running average over the last ~16 beats */
/* The previous beat's T wave ends about a QT after it; Bazett's QT = QTc * sqrt(RR) with QTc at
 * the upper limit of normal. Before that the segment holds the T wave, which repeats in AF too. */
#define QTC_S 0.45
/* Less clean segment than this (about one P wave) says nothing about atrial activity. */
#define MIN_CLEAN_S 0.08

struct rh_pwave {
    int nleads;
    size_t len;       /* samples per lead in the segment */
    int64_t from;     /* segment offset before the fiducial point, samples */
    double fs;
    int have_template;
    int64_t last_r;   /* the previous beat, -1 before the first */
    double *tmpl;     /* nleads * len, mean removed per lead */
    double *seg;      /* scratch: the current beat's segment */
};

/* Adds x's and y's products to the sums, each with its least-squares line removed: a slope
 * across the segment is the previous beat's repolarisation ending or baseline wander, which
 * repeat from beat to beat in AF as well; a P wave or flutter wave is a bump that a line leaves. */
static void accumulate(const double *x, const double *y, size_t m, double *sxy, double *sxx, double *syy)
{
    double mt = 0.5 * (double)(m - 1), stt = 0, mx = 0, my = 0, stx = 0, sty = 0;
    /* These run for every beat: `omp simd` lets the compiler vectorise the sums. */
#pragma omp simd reduction(+ : mx, my)
    for (size_t i = 0; i < m; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)m;
    my /= (double)m;
#pragma omp simd reduction(+ : stt, stx, sty)
    for (size_t i = 0; i < m; i++) {
        double t = (double)i - mt;
        stt += t * t;
        stx += t * (x[i] - mx);
        sty += t * (y[i] - my);
    }
    double bx = stt > 0 ? stx / stt : 0, by = stt > 0 ? sty / stt : 0, xy = 0, xx = 0, yy = 0;
#pragma omp simd reduction(+ : xy, xx, yy)
    for (size_t i = 0; i < m; i++) {
        double t = (double)i - mt, dx = x[i] - mx - bx * t, dy = y[i] - my - by * t;
        xy += dx * dy;
        xx += dx * dx;
        yy += dy * dy;
    }
    *sxy += xy;
    *sxx += xx;
    *syy += yy;
}

rh_pwave *rh_pwave_create(double fs, int nleads, char *err, size_t errlen)
{
    if (!(fs >= 50 && fs <= 100000) || nleads < 1 || nleads > 64) {
        snprintf(err, errlen, "P-wave tracker: %g Hz with %d leads is outside 50..100000 Hz, 1..64 leads", fs, nleads);
        return NULL;
    }
    rh_pwave *p = calloc(1, sizeof *p);
    if (!p) goto oom;
    p->nleads = nleads;
    p->fs = fs;
    p->last_r = -1;
    p->from = (int64_t)(RH_PWAVE_FROM_S * fs + 0.5);
    p->len = (size_t)(p->from - (int64_t)(RH_PWAVE_TO_S * fs + 0.5));
    p->tmpl = calloc((size_t)nleads * p->len, sizeof *p->tmpl);
    p->seg = calloc((size_t)nleads * p->len, sizeof *p->seg);
    if (!p->tmpl || !p->seg) goto oom;
    return p;
oom:
    rh_pwave_free(p);
    snprintf(err, errlen, "P-wave tracker: out of memory");
    return NULL;
}

void rh_pwave_free(rh_pwave *p)
{
    if (!p) return;
    free(p->seg);
    free(p->tmpl);
    free(p);
}

double rh_pwave_beat(rh_pwave *p, const float *uv, size_t stride, int64_t start, int64_t end, int64_t r)
{
    int64_t a = r - p->from, prev = p->last_r;
    p->last_r = r;
    if (a < start || a + (int64_t)p->len > end) return NAN;
    size_t len = p->len;
    /* The part of the segment after the previous beat's T wave: all of it at sinus rates. */
    size_t skip = 0;
    if (prev >= 0 && prev < r) {
        double rr = (double)(r - prev) / p->fs;
        int64_t t_end = prev + (int64_t)(QTC_S * sqrt(rr) * p->fs + 0.5);
        if (t_end > a) skip = t_end - a >= (int64_t)len ? len : (size_t)(t_end - a);
    }
    int clean = (double)(len - skip) >= MIN_CLEAN_S * p->fs;
    /* Each lead's mean removed: the segment's level is the baseline, not atrial activity. */
    for (int l = 0; l < p->nleads; l++) {
        const float *x = uv + (size_t)l * stride + (size_t)(a - start);
        double mean = 0;
#pragma omp simd reduction(+ : mean)
        for (size_t i = 0; i < len; i++) mean += x[i];
        mean /= (double)len;
        for (size_t i = 0; i < len; i++) p->seg[(size_t)l * len + i] = x[i] - mean;
    }
    size_t n = (size_t)p->nleads * len;
    double corr = NAN;
    if (p->have_template) {
        if (clean) {
            double sxy = 0, sxx = 0, syy = 0;
            for (int l = 0; l < p->nleads; l++)
                accumulate(p->seg + (size_t)l * len + skip, p->tmpl + (size_t)l * len + skip, len - skip, &sxy,
                           &sxx, &syy);
            corr = (sxx > 0 && syy > 0) ? sxy / sqrt(sxx * syy) : 0.0;
        }
#pragma omp simd
        for (size_t i = 0; i < n; i++) p->tmpl[i] += TEMPLATE_WEIGHT * (p->seg[i] - p->tmpl[i]);
    } else {
        for (size_t i = 0; i < n; i++) p->tmpl[i] = p->seg[i];
        p->have_template = 1;
    }
    return corr;
}
