/* beatclass_mlp.c — trains the beat MLP (standardised features -> one hidden tanh layer ->
 * softmax over the AAMI classes) by Adam on mini-batches, every layer an OpenBLAS sgemm. A linear
 * discriminant cannot express "premature AND regular rhythm AND normal shape"; one hidden layer can. */
#include "beatclass_model.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bc_mlp_opts_default(bc_mlp_opts *o)
{
    /* Chosen by 4-fold (by record) cross-validation on DS1 (`ecgnet train --cv --folds 4`), by the
     * mean of V and S Se and +P of the held-out records. One 32-unit network scored 58.6-61.7
     * depending on the seed alone (LDA at its best: 54.9); four 16-unit networks averaged, with
     * l2 1e-2 and the classes weighted alike, scored 60.8 with either of two seeds, after 30
     * epochs (25-40: 60.4-61.0). */
    o->hidden = 16;
    o->members = 4;
    o->epochs = 30;
    o->batch = 128;
    o->lr = 1e-3;
    o->l2 = 1e-2;
    o->prior_power = 1.0;
    o->min_count = 50;
    o->rule_inputs = 0;
    o->seed = 1;
}

/* splitmix64: a fixed, portable sequence, so the same seed gives the same model everywhere. */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float uniform01(uint64_t *s) { return (float)(next_rand(s) >> 40) * (1.0f / 16777216.0f); }

/* The flat parameter vector of one member: W1 (H x F), b1 (H), W2 (K x H), b2 (K). */
typedef struct {
    size_t F, H, K;
    size_t n, o_b1, o_w2, o_b2;
} layout;

/* One independently initialised network and its Adam state. */
typedef struct {
    float *p, *g, *am, *av;
    size_t *order;
    uint64_t rng;
    long step;
} member;

/* The training data and shared workspace. */
typedef struct {
    const layout *L;
    const bc_mlp_opts *o;
    const float *z, *sw; /* standardised beats (used x F) and their class weights */
    const int *lab;
    size_t used, B;
    float *zb, *hb, *db, *sb; /* batch: inputs B x F, hidden B x H, its gradient, scores B x K */
} trainer;

/* Averaging the members' scores (logits) is itself one network whose hidden layer is all the
 * members' units side by side: the ensemble costs no more at inference than one wide layer. */
static void merge_into(const layout *L, const member *mb, int nm, bc_model *m)
{
    const size_t F = L->F, H = L->H, K = L->K, HT = H * (size_t)nm;
    m->nhidden = (int)HT;
    for (size_t k = 0; k < K; k++) m->bias[k] = 0;
    for (int j = 0; j < nm; j++) {
        const float *p = mb[j].p;
        memcpy(m->w1 + (size_t)j * H * F, p, H * F * sizeof *p);
        memcpy(m->b1 + (size_t)j * H, p + L->o_b1, H * sizeof *p);
        for (size_t k = 0; k < K; k++) {
            for (size_t h = 0; h < H; h++)
                m->w[k * HT + (size_t)j * H + h] = p[L->o_w2 + k * H + h] / (float)nm;
            m->bias[k] += p[L->o_b2 + k] / (float)nm;
        }
    }
}

static void train_epoch(const trainer *t, member *mb)
{
    const layout *L = t->L;
    const size_t F = L->F, H = L->H, K = L->K, B = t->B;
    float *zb = t->zb, *hb = t->hb, *db = t->db, *sb = t->sb, *p = mb->p, *g = mb->g;
    const float *w1 = p, *b1 = p + L->o_b1, *w2 = p + L->o_w2, *b2 = p + L->o_b2;
    float *gw1 = g, *gb1 = g + L->o_b1, *gw2 = g + L->o_w2, *gb2 = g + L->o_b2;
    const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    size_t *order = mb->order;
    for (size_t i = t->used - 1; i > 0; i--) {
        size_t j = (size_t)(next_rand(&mb->rng) % (uint64_t)(i + 1));
        size_t tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    for (size_t s0 = 0; s0 + B <= t->used; s0 += B) { /* the short tail batch is skipped */
        for (size_t b = 0; b < B; b++) memcpy(zb + b * F, t->z + order[s0 + b] * F, F * sizeof *zb);
        /* forward: hidden = tanh(Z W1' + b1), scores = hidden W2' + b2 */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)H, (int)F, 1.0f, zb,
                    (int)F, w1, (int)F, 0.0f, hb, (int)H);
        for (size_t b = 0; b < B; b++)
            for (size_t h = 0; h < H; h++) hb[b * H + h] = tanhf(hb[b * H + h] + b1[h]);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)K, (int)H, 1.0f, hb,
                    (int)H, w2, (int)H, 0.0f, sb, (int)K);
        /* softmax, then d(loss)/d(scores) = weight * (P - onehot) / B */
        for (size_t b = 0; b < B; b++) {
            float *sc = sb + b * K, mx = -INFINITY, sum = 0;
            for (size_t k = 0; k < K; k++) {
                sc[k] += b2[k];
                if (sc[k] > mx) mx = sc[k];
            }
            for (size_t k = 0; k < K; k++) sum += (sc[k] = expf(sc[k] - mx));
            size_t at = order[s0 + b];
            float wb = t->sw[at] / (float)B;
            for (size_t k = 0; k < K; k++)
                sc[k] = wb * (sc[k] / sum - ((int)k == t->lab[at] ? 1.0f : 0.0f));
        }
        /* backward */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)H, (int)B, 1.0f, sb,
                    (int)K, hb, (int)H, 0.0f, gw2, (int)H);
        for (size_t k = 0; k < K; k++) gb2[k] = 0;
        for (size_t b = 0; b < B; b++)
            for (size_t k = 0; k < K; k++) gb2[k] += sb[b * K + k];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)H, (int)K, 1.0f, sb,
                    (int)K, w2, (int)H, 0.0f, db, (int)H);
        for (size_t i = 0; i < B * H; i++) db[i] *= 1.0f - hb[i] * hb[i];
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)H, (int)F, (int)B, 1.0f, db,
                    (int)H, zb, (int)F, 0.0f, gw1, (int)F);
        for (size_t h = 0; h < H; h++) gb1[h] = 0;
        for (size_t b = 0; b < B; b++)
            for (size_t h = 0; h < H; h++) gb1[h] += db[b * H + h];
        for (size_t i = 0; i < H * F; i++) gw1[i] += (float)t->o->l2 * p[i];
        for (size_t i = 0; i < K * H; i++) gw2[i] += (float)t->o->l2 * p[L->o_w2 + i];
        /* Adam */
        mb->step++;
        double c1 = 1.0 - pow(beta1, (double)mb->step), c2 = 1.0 - pow(beta2, (double)mb->step);
        float lr = (float)(t->o->lr * sqrt(c2) / c1);
        for (size_t i = 0; i < L->n; i++) {
            mb->am[i] = (float)beta1 * mb->am[i] + (float)(1.0 - beta1) * g[i];
            mb->av[i] = (float)beta2 * mb->av[i] + (float)(1.0 - beta2) * g[i] * g[i];
            p[i] -= lr * mb->am[i] / (sqrtf(mb->av[i]) + (float)eps);
        }
    }
}

int bc_fit_mlp(const float *X, const char *y, size_t n, const char *records, const bc_mlp_opts *opts,
               bc_epoch_fn on_epoch, void *ctx, bc_model **out, char *err, size_t errlen)
{
    bc_mlp_opts def;
    if (!opts) {
        bc_mlp_opts_default(&def);
        opts = &def;
    }
    *out = NULL;
    const int nm = opts->members;
    if (opts->hidden < 1 || nm < 1 || opts->hidden * nm > BC_MAX_HIDDEN || opts->epochs < 1 ||
        opts->batch < 1 || !(opts->lr > 0) || !(opts->l2 >= 0)) {
        snprintf(err, errlen, "beat model: MLP options out of range (hidden units times members "
                 "1..%d, at least one epoch and one beat a batch, a positive learning rate)",
                 BC_MAX_HIDDEN);
        return -1;
    }
    bc_model *m = calloc(1, sizeof *m);
    member mb[BC_MAX_HIDDEN];
    memset(mb, 0, sizeof mb);
    int *cls = NULL;
    float *z = NULL, *sw = NULL, *buf = NULL;
    long nk[BC_MAX_CLASSES];
    if (!m || !(cls = malloc((n ? n : 1) * sizeof *cls))) goto oom;
    m->version = BC_MODEL_VERSION_MLP;
    size_t used = bc_prepare(m, X, y, n, opts->min_count, cls, nk, opts->rule_inputs, err, errlen);
    if (!used) goto fail;
    layout L = {.F = (size_t)m->nfeat, .H = (size_t)opts->hidden, .K = (size_t)m->nclass};
    const size_t F = L.F, H = L.H, K = L.K;
    L.o_b1 = H * F;
    L.o_w2 = L.o_b1 + H;
    L.o_b2 = L.o_w2 + K * H;
    L.n = L.o_b2 + K;
    const size_t B = (size_t)opts->batch < used ? (size_t)opts->batch : used;
    z = malloc(used * F * sizeof *z);
    sw = malloc(used * sizeof *sw);
    buf = malloc(B * (F + 2 * H + K) * sizeof *buf);
    if (!z || !sw || !buf) goto oom;
    for (int j = 0; j < nm; j++) {
        mb[j].p = calloc(L.n, sizeof *mb[j].p);
        mb[j].g = calloc(L.n, sizeof *mb[j].g);
        mb[j].am = calloc(L.n, sizeof *mb[j].am);
        mb[j].av = calloc(L.n, sizeof *mb[j].av);
        mb[j].order = malloc(used * sizeof *mb[j].order);
        if (!mb[j].p || !mb[j].g || !mb[j].am || !mb[j].av || !mb[j].order) goto oom;
    }

    /* Class weights (1/n_k)^p scaled to a mean of 1 over the beats (p = 1: classes alike). */
    double wk[BC_MAX_CLASSES], total = 0;
    for (size_t k = 0; k < K; k++) {
        wk[k] = pow(1.0 / (double)nk[k], opts->prior_power);
        total += wk[k] * (double)nk[k];
    }
    int *lab = cls; /* compacted in place: lab[r] for the r-th beat kept */
    size_t r = 0;
    for (size_t i = 0; i < n; i++) {
        if (cls[i] < 0) continue;
        for (size_t f = 0; f < F; f++)
            z[r * F + f] = (X[i * F + f] - m->mean[f]) * m->inv_std[f];
        lab[r] = cls[i];
        sw[r] = (float)(wk[cls[i]] * (double)used / total);
        r++;
    }
    /* Glorot-uniform weights, zero biases; each member its own stream of the seed. */
    float a1 = sqrtf(6.0f / (float)(F + H)), a2 = sqrtf(6.0f / (float)(H + K));
    for (int j = 0; j < nm; j++) {
        mb[j].rng = opts->seed + (uint64_t)j * 0x632be59bd9b4e019ull;
        for (size_t i = 0; i < used; i++) mb[j].order[i] = i;
        for (size_t i = 0; i < H * F; i++) mb[j].p[i] = (2.0f * uniform01(&mb[j].rng) - 1.0f) * a1;
        for (size_t i = 0; i < K * H; i++)
            mb[j].p[L.o_w2 + i] = (2.0f * uniform01(&mb[j].rng) - 1.0f) * a2;
    }
    openblas_set_num_threads(1); /* one summation order: the same inputs give the same bytes */
    trainer t = {&L, opts, z, sw, lab, used, B, buf, buf + B * F, buf + B * (F + H), buf + B * (F + 2 * H)};
    for (int epoch = 1; epoch <= opts->epochs; epoch++) {
        for (int j = 0; j < nm; j++) train_epoch(&t, &mb[j]);
        if (on_epoch) {
            merge_into(&L, mb, nm, m);
            on_epoch(ctx, epoch, m);
        }
    }
    merge_into(&L, mb, nm, m);
    bc_model_stamp(m, records);
    *out = m;
    m = NULL;
    goto done;
oom:
    snprintf(err, errlen, "beat model: out of memory for %zu training beats", n);
fail:
    free(m);
done:
    for (int j = nm - 1; j >= 0 && j < BC_MAX_HIDDEN; j--) {
        free(mb[j].order);
        free(mb[j].av);
        free(mb[j].am);
        free(mb[j].g);
        free(mb[j].p);
    }
    free(buf);
    free(sw);
    free(z);
    free(cls);
    return *out ? 0 : -1;
}
