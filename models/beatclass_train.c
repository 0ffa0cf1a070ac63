/* beatclass_train.c — fits the beat model: a class-weighted linear discriminant (de Chazal 2004)
 * on standardised features, solved with OpenBLAS and LAPACKE; the steps shared with the MLP
 * trainer (class map, standardisation, header); and bc_train, which picks the kind. */
#include "beatclass_model.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char all_classes[] = "NSVFQ";

void bc_fit_opts_default(bc_fit_opts *o)
{
    /* Chosen by leave-one-record-out cross-validation on DS1 (`ecgnet train --cv`). */
    o->ridge = 3.0;
    o->prior_power = 1.0;
    o->min_count = 50;
    o->rule_inputs = 0;
}

static void set_date(bc_model *m)
{
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    time_t t = sde && *sde ? (time_t)strtoll(sde, NULL, 10) : time(NULL);
    struct tm tm;
    if (gmtime_r(&t, &tm)) strftime(m->date, sizeof m->date, "%Y-%m-%d", &tm);
    else snprintf(m->date, sizeof m->date, "unknown");
}

void bc_model_stamp(bc_model *m, const char *records)
{
    snprintf(m->records, sizeof m->records, "%s", records && *records ? records : "unnamed");
    snprintf(m->program, sizeof m->program, "%s", BC_PROGRAM_VERSION);
    set_date(m);
    bc_model_set_describe(m);
}

size_t bc_prepare(bc_model *m, const float *X, const char *y, size_t n, long min_count, int *cls,
                  long *nk, int rule_inputs, char *err, size_t errlen)
{
    const int F = bc_feature_count();
    long count[5] = {0};
    for (size_t i = 0; i < n; i++) {
        const char *c = y[i] ? strchr(all_classes, y[i]) : NULL;
        if (c) count[c - all_classes]++;
    }
    int map[5];
    m->nclass = 0;
    for (int k = 0; k < 5; k++) {
        map[k] = -1;
        if (count[k] >= min_count && count[k] > 0) {
            map[k] = m->nclass;
            m->classes[m->nclass++] = all_classes[k];
        }
    }
    if (m->nclass < 2) {
        snprintf(err, errlen, "beat model: training needs at least two classes with %ld beats each",
                 min_count);
        return 0;
    }
    for (int k = 0; k < BC_MAX_CLASSES; k++) nk[k] = 0;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        const char *c = y[i] ? strchr(all_classes, y[i]) : NULL;
        cls[i] = c ? map[c - all_classes] : -1;
        if (cls[i] >= 0) {
            nk[cls[i]]++;
            used++;
        }
    }
    m->nfeat = F;
    for (int f = 0; f < F; f++) {
        double s = 0, ss = 0;
        for (size_t i = 0; i < n; i++) {
            if (cls[i] < 0) continue;
            double v = X[i * (size_t)F + (size_t)f];
            if (!isfinite(v)) {
                snprintf(err, errlen, "beat model: training beat %zu has a non-finite %s", i + 1,
                         bc_feature_name(f));
                return 0;
            }
            s += v;
        }
        double mean = s / (double)used;
        for (size_t i = 0; i < n; i++) {
            if (cls[i] < 0) continue;
            double d = X[i * (size_t)F + (size_t)f] - mean;
            ss += d * d;
        }
        double sd = sqrt(ss / (double)used);
        m->mean[f] = (float)mean;
        m->std[f] = sd > 1e-9 * (fabs(mean) + 1e-30) && sd > 0 ? (float)sd : 0.0f;
        if (!rule_inputs && bc_feature_rule_only(f)) m->std[f] = 0.0f;
        m->inv_std[f] = m->std[f] > 0 ? 1.0f / m->std[f] : 0.0f;
    }
    return used;
}

int bc_fit(const float *X, const char *y, size_t n, const char *records, const bc_fit_opts *opts,
           bc_model **out, char *err, size_t errlen)
{
    bc_fit_opts def;
    if (!opts) {
        bc_fit_opts_default(&def);
        opts = &def;
    }
    *out = NULL;
    const int F = bc_feature_count();
    bc_model *m = calloc(1, sizeof *m);
    double *z = NULL, *cov = NULL, *mu = NULL, *a = NULL;
    int *cls = NULL;
    long nk[BC_MAX_CLASSES];
    if (!m) goto oom;
    m->version = BC_MODEL_VERSION_LDA;
    cls = malloc((n ? n : 1) * sizeof *cls);
    if (!cls) goto oom;
    size_t used = bc_prepare(m, X, y, n, opts->min_count, cls, nk, opts->rule_inputs, err, errlen);
    if (!used) goto fail;
    const int K = m->nclass;
    z = malloc(used * (size_t)F * sizeof *z);
    mu = calloc((size_t)K * (size_t)F, sizeof *mu);
    cov = calloc((size_t)F * (size_t)F, sizeof *cov);
    a = calloc((size_t)F * (size_t)K, sizeof *a);
    if (!z || !mu || !cov || !a) goto oom;
    size_t r = 0;
    for (size_t i = 0; i < n; i++) {
        if (cls[i] < 0) continue;
        for (int f = 0; f < F; f++) {
            double v = ((double)X[i * (size_t)F + (size_t)f] - m->mean[f]) * m->inv_std[f];
            z[r * (size_t)F + (size_t)f] = v;
            mu[(size_t)cls[i] * (size_t)F + (size_t)f] += v;
        }
        r++;
    }
    for (int k = 0; k < K; k++)
        for (int f = 0; f < F; f++) mu[(size_t)k * (size_t)F + (size_t)f] /= (double)nk[k];
    /* Class weights (1/n_k)^p, summing to 1 over the beats: p = 1 gives every class the same say
     * in the pooled covariance and the same prior, however rare. */
    double wk[BC_MAX_CLASSES], total = 0;
    for (int k = 0; k < K; k++) {
        wk[k] = pow(1.0 / (double)nk[k], opts->prior_power);
        total += wk[k] * (double)nk[k];
    }
    for (int k = 0; k < K; k++) wk[k] /= total;
    r = 0;
    for (size_t i = 0; i < n; i++) {
        if (cls[i] < 0) continue;
        double sw = sqrt(wk[cls[i]]);
        for (int f = 0; f < F; f++) {
            double *v = &z[r * (size_t)F + (size_t)f];
            *v = (*v - mu[(size_t)cls[i] * (size_t)F + (size_t)f]) * sw;
        }
        r++;
    }
    openblas_set_num_threads(1); /* one summation order: the same inputs give the same bytes */
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, F, (int)used, 1.0, z, F, 0.0, cov, F);
    for (int f = 0; f < F; f++) cov[f * F + f] += opts->ridge;
    for (int f = 0; f < F; f++)
        for (int k = 0; k < K; k++) a[f * K + k] = mu[(size_t)k * (size_t)F + (size_t)f];
    lapack_int info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', F, K, cov, F, a, K);
    if (info != 0) {
        snprintf(err, errlen, "beat model: the feature covariance is singular (LAPACKE_dposv %d); "
                 "raise the ridge", (int)info);
        goto fail;
    }
    for (int k = 0; k < K; k++) {
        double q = 0;
        for (int f = 0; f < F; f++) {
            double w = a[f * K + k];
            m->w[k * F + f] = (float)w;
            q += w * mu[(size_t)k * (size_t)F + (size_t)f];
        }
        m->bias[k] = (float)(-0.5 * q + log(wk[k] * (double)nk[k]));
    }
    bc_model_stamp(m, records);
    free(a);
    free(cov);
    free(mu);
    free(z);
    free(cls);
    *out = m;
    return 0;
oom:
    snprintf(err, errlen, "beat model: out of memory for %zu training beats", n);
fail:
    free(a);
    free(cov);
    free(mu);
    free(z);
    free(cls);
    free(m);
    return -1;
}

int bc_train(const float *X, const char *y, size_t n, const char *records, const char *path,
             char *err, size_t errlen)
{
    /* The MLP: better than the discriminant in 4-fold (by record) cross-validation on DS1, each
     * at its best settings (see bc_mlp_opts_default and docs/accuracy). */
    bc_model *m;
    if (bc_fit_mlp(X, y, n, records, NULL, NULL, NULL, &m, err, errlen)) return -1;
    int rc = bc_model_save(m, path, err, errlen);
    bc_model_free(m);
    return rc;
}
