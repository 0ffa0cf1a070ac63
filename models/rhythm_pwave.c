/* rhythm_pwave.c — P-wave repeatability before each beat (correlation with a running template). */
#include "rhythm_pwave.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define TEMPLATE_WEIGHT (1.0 / 16.0) /* a running average over the last ~16 beats */

struct rh_pwave {
    int nleads;
    size_t len;       /* samples per lead in the segment */
    int64_t from;     /* segment offset before the fiducial point, samples */
    int have_template;
    double *tmpl;     /* nleads * len, mean removed per lead */
    double *seg;      /* scratch: the current beat's segment */
};

rh_pwave *rh_pwave_create(double fs, int nleads, char *err, size_t errlen)
{
    if (!(fs >= 50 && fs <= 100000) || nleads < 1 || nleads > 64) {
        snprintf(err, errlen, "P-wave tracker: %g Hz with %d leads is outside 50..100000 Hz, 1..64 leads", fs, nleads);
        return NULL;
    }
    rh_pwave *p = calloc(1, sizeof *p);
    if (!p) goto oom;
    p->nleads = nleads;
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
    int64_t a = r - p->from;
    if (a < start || a + (int64_t)p->len > end) return NAN;
    size_t len = p->len;
    /* Each lead's mean removed: the segment's level is the baseline, not atrial activity. */
    for (int l = 0; l < p->nleads; l++) {
        const float *x = uv + (size_t)l * stride + (size_t)(a - start);
        double mean = 0;
        for (size_t i = 0; i < len; i++) mean += x[i];
        mean /= (double)len;
        for (size_t i = 0; i < len; i++) p->seg[(size_t)l * len + i] = x[i] - mean;
    }
    size_t n = (size_t)p->nleads * len;
    double corr = NAN;
    if (p->have_template) {
        double sxy = 0, sxx = 0, syy = 0;
        for (size_t i = 0; i < n; i++) {
            sxy += p->seg[i] * p->tmpl[i];
            sxx += p->seg[i] * p->seg[i];
            syy += p->tmpl[i] * p->tmpl[i];
        }
        corr = (sxx > 0 && syy > 0) ? sxy / sqrt(sxx * syy) : 0.0;
        for (size_t i = 0; i < n; i++) p->tmpl[i] += TEMPLATE_WEIGHT * (p->seg[i] - p->tmpl[i]);
    } else {
        for (size_t i = 0; i < n; i++) p->tmpl[i] = p->seg[i];
        p->have_template = 1;
    }
    return corr;
}
