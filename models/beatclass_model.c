/* beatclass_model.c — the beat model file (find, read, check, write) and inference with OpenBLAS.
 *
 * The file is text, one item a line, closed by "end" so that a truncated file is caught:
 *   ecgnet-beat-model <version>  (1: linear discriminant, 2: MLP)
 *   program <name version>      date <YYYY-MM-DD>      records <list>
 *   features <n>, then n lines "feature <name> <mean> <std>"
 *   classes <k> <labels...>
 *   version 2 only: hidden <h>, then h lines "unit <bias> <w_1> ... <w_n>" (tanh units)
 *   k lines "class <label> <bias> <w_1> ... <w_m>" (m = n features, or h hidden units)
 *   end
 * Weights are written with 9 significant digits, so a saved model classifies exactly as before.
 */
#include "beatclass_model.h"

#include <cblas.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "ecgnet-beat-model"
#define LINE_MAX_LEN 8192

void bc_model_set_describe(bc_model *m)
{
    char kind[64];
    if (m->version == BC_MODEL_VERSION_MLP)
        snprintf(kind, sizeof kind, "MLP %d-%d-%d", m->nfeat, m->nhidden, m->nclass);
    else
        snprintf(kind, sizeof kind, "linear discriminant");
    snprintf(m->describe, sizeof m->describe,
             "beat model v%d (%s, %d features, classes %.*s; trained %s by %s on %s)", m->version,
             kind, m->nfeat, m->nclass, m->classes, m->date, m->program, m->records);
}

int bc_model_version(const bc_model *m) { return m->version; }

void bc_model_free(bc_model *m) { free(m); }

int bc_model_reads(const bc_model *m, int i)
{
    return i >= 0 && i < m->nfeat && m->inv_std[i] != 0.0f;
}

const char *bc_model_describe(const bc_model *m) { return m ? m->describe : "no model"; }

/* tanh by one expf (libm's tanhf costs several times more, and this runs for every hidden unit of
 * every beat); within 2e-7 of tanhf. */
static float unit(float x)
{
    float e = expf(-2.0f * fabsf(x));
    return copysignf((1.0f - e) / (1.0f + e), x);
}

char bc_model_classify(const bc_model *m, const float *features, float *confidence)
{
    float z[BC_MAX_FEATURES], score[BC_MAX_CLASSES];
    for (int f = 0; f < m->nfeat; f++) {
        if (!isfinite(features[f])) {
            *confidence = 0.0f;
            return 'Q';
        }
        z[f] = (features[f] - m->mean[f]) * m->inv_std[f];
    }
    const float *in = z;
    int nin = m->nfeat;
    float hidden[BC_MAX_HIDDEN];
    if (m->version == BC_MODEL_VERSION_MLP) {
        memcpy(hidden, m->b1, (size_t)m->nhidden * sizeof *hidden);
        cblas_sgemv(CblasRowMajor, CblasNoTrans, m->nhidden, m->nfeat, 1.0f, m->w1, m->nfeat, z, 1,
                    1.0f, hidden, 1);
        for (int h = 0; h < m->nhidden; h++) hidden[h] = unit(hidden[h]);
        in = hidden;
        nin = m->nhidden;
    }
    memcpy(score, m->bias, (size_t)m->nclass * sizeof *score);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, m->nclass, nin, 1.0f, m->w, nin, in, 1, 1.0f, score, 1);
    int best = 0;
    for (int k = 1; k < m->nclass; k++)
        if (score[k] > score[best]) best = k;
    double sum = 0;
    for (int k = 0; k < m->nclass; k++) sum += exp((double)score[k] - score[best]);
    *confidence = (float)(1.0 / sum);
    return m->classes[best];
}

/* ---- reading ---- */

typedef struct {
    FILE *f;
    const char *path;
    int line;
    char buf[LINE_MAX_LEN];
    char *err;
    size_t errlen;
} reader;

/* Next line without its newline; -1 at the end of the file or on an over-long line. */
static int next_line(reader *r)
{
    if (!fgets(r->buf, sizeof r->buf, r->f)) {
        snprintf(r->err, r->errlen, "%s: the beat model ends early after line %d (truncated file?)",
                 r->path, r->line);
        return -1;
    }
    r->line++;
    size_t n = strlen(r->buf);
    if (n && r->buf[n - 1] == '\n') r->buf[--n] = 0;
    else if (!feof(r->f)) {
        snprintf(r->err, r->errlen, "%s:%d: line too long for a beat model", r->path, r->line);
        return -1;
    }
    if (n && r->buf[n - 1] == '\r') r->buf[--n] = 0;
    return 0;
}

static int bad(reader *r, const char *what)
{
    snprintf(r->err, r->errlen, "%s:%d: not a valid beat model: %s", r->path, r->line, what);
    return -1;
}

/* The text after "key " on the current line, or NULL. */
static char *value_of(reader *r, const char *key)
{
    size_t n = strlen(key);
    if (strncmp(r->buf, key, n) || r->buf[n] != ' ') return NULL;
    return r->buf + n + 1;
}

static int parse_float(char **p, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(*p, &end);
    if (end == *p || errno || !isfinite(v) || fabs(v) > 3.0e38) return -1;
    *out = (float)v;
    *p = end;
    return 0;
}

static int parse_model(reader *r, bc_model *m)
{
    char *v;
    if (next_line(r)) return -1;
    if (!(v = value_of(r, MAGIC))) return bad(r, "no '" MAGIC "' first line");
    char *end;
    long version = strtol(v, &end, 10);
    if (end == v || *end) return bad(r, "the version is not a number");
    if (version != BC_MODEL_VERSION_LDA && version != BC_MODEL_VERSION_MLP) {
        snprintf(r->err, r->errlen, "%s: beat model version %ld is not supported (this program reads "
                 "versions %d and %d; retrain with `ecgnet train`)", r->path, version,
                 BC_MODEL_VERSION_LDA, BC_MODEL_VERSION_MLP);
        return -1;
    }
    m->version = (int)version;
    if (next_line(r)) return -1;
    if (!(v = value_of(r, "program"))) return bad(r, "no program line");
    snprintf(m->program, sizeof m->program, "%s", v);
    if (next_line(r)) return -1;
    if (!(v = value_of(r, "date"))) return bad(r, "no date line");
    snprintf(m->date, sizeof m->date, "%s", v);
    if (next_line(r)) return -1;
    if (!(v = value_of(r, "records"))) return bad(r, "no records line");
    snprintf(m->records, sizeof m->records, "%s", v);

    if (next_line(r)) return -1;
    if (!(v = value_of(r, "features"))) return bad(r, "no features line");
    long nf = strtol(v, &end, 10);
    if (end == v || *end || nf < 1 || nf > BC_MAX_FEATURES) return bad(r, "bad feature count");
    if (nf != bc_feature_count()) {
        snprintf(r->err, r->errlen, "%s: the beat model has %ld features, this program computes %d "
                 "(a model of another version; retrain with `ecgnet train`)", r->path, nf,
                 bc_feature_count());
        return -1;
    }
    m->nfeat = (int)nf;
    for (int f = 0; f < m->nfeat; f++) {
        if (next_line(r)) return -1;
        if (!(v = value_of(r, "feature"))) return bad(r, "expected a feature line");
        char *sp = strchr(v, ' ');
        if (!sp) return bad(r, "feature line without values");
        *sp = 0;
        if (strcmp(v, bc_feature_name(f))) {
            snprintf(r->err, r->errlen, "%s:%d: the beat model's feature %d is '%s', this program's is "
                     "'%s' (retrain with `ecgnet train`)", r->path, r->line, f + 1, v, bc_feature_name(f));
            return -1;
        }
        char *p = sp + 1;
        if (parse_float(&p, &m->mean[f]) || parse_float(&p, &m->std[f]) || *p || m->std[f] < 0)
            return bad(r, "feature mean and std expected");
        m->inv_std[f] = m->std[f] > 0 ? 1.0f / m->std[f] : 0.0f;
    }
    if (next_line(r)) return -1;
    if (!(v = value_of(r, "classes"))) return bad(r, "no classes line");
    long nc = strtol(v, &end, 10);
    if (end == v || nc < 2 || nc > BC_MAX_CLASSES) return bad(r, "bad class count");
    m->nclass = (int)nc;
    for (int k = 0; k < m->nclass; k++) {
        if (end[0] != ' ' || !strchr("NSVFQ", end[1]) || !end[1] || (end[2] && end[2] != ' '))
            return bad(r, "classes are N, S, V, F or Q");
        m->classes[k] = end[1];
        for (int j = 0; j < k; j++)
            if (m->classes[j] == m->classes[k]) return bad(r, "a class is listed twice");
        end += 2;
    }
    if (*end) return bad(r, "more classes than counted");
    int nin = m->nfeat;
    if (m->version == BC_MODEL_VERSION_MLP) {
        if (next_line(r)) return -1;
        if (!(v = value_of(r, "hidden"))) return bad(r, "no hidden line");
        long nh = strtol(v, &end, 10);
        if (end == v || *end || nh < 1 || nh > BC_MAX_HIDDEN) return bad(r, "bad hidden unit count");
        m->nhidden = nin = (int)nh;
        for (int h = 0; h < m->nhidden; h++) {
            if (next_line(r)) return -1;
            if (!(v = value_of(r, "unit"))) return bad(r, "expected a unit line");
            char *p = v;
            if (parse_float(&p, &m->b1[h])) return bad(r, "unit bias expected");
            for (int f = 0; f < m->nfeat; f++)
                if (parse_float(&p, &m->w1[h * m->nfeat + f])) return bad(r, "too few unit weights");
            if (*p) return bad(r, "too many unit weights");
        }
    }
    for (int k = 0; k < m->nclass; k++) {
        if (next_line(r)) return -1;
        if (!(v = value_of(r, "class")) || v[0] != m->classes[k] || v[1] != ' ')
            return bad(r, "expected the class lines in the order of the classes line");
        char *p = v + 2;
        if (parse_float(&p, &m->bias[k])) return bad(r, "class bias expected");
        for (int i = 0; i < nin; i++)
            if (parse_float(&p, &m->w[k * nin + i])) return bad(r, "too few coefficients");
        if (*p) return bad(r, "too many coefficients");
    }
    if (next_line(r)) return -1;
    if (strcmp(r->buf, "end")) return bad(r, "no end line");
    return 0;
}

static int load_file(const char *path, bc_model **out, char *err, size_t errlen)
{
    bc_model *m = calloc(1, sizeof *m);
    reader *r = calloc(1, sizeof *r);
    if (!m || !r) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    r->path = path;
    r->err = err;
    r->errlen = errlen;
    if (!(r->f = fopen(path, "r"))) {
        snprintf(err, errlen, "%s: cannot open the beat model: %s", path, strerror(errno));
        goto fail;
    }
    if (parse_model(r, m)) goto fail;
    fclose(r->f);
    free(r);
    bc_model_set_describe(m);
    /* Inference is one small GEMV per beat: extra OpenBLAS threads only spin, and one thread
     * gives the one summation order (the same labels on every machine and run). Process-wide. */
    openblas_set_num_threads(1);
    *out = m;
    return 0;
fail:
    if (r && r->f) fclose(r->f);
    free(r);
    free(m);
    return -1;
}

int bc_model_load(const char *path, bc_model **out, char *err, size_t errlen)
{
    *out = NULL;
    if (path) return load_file(path, out, err, errlen);
    char cand[3][PATH_MAX];
    int n = 0;
    const char *env = getenv("ECGNET_BEAT_MODEL");
    if (env && *env) snprintf(cand[n++], PATH_MAX, "%s", env);
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(cand[n++], PATH_MAX, "%.*s/../share/ecgnet/beats.model", PATH_MAX - 64, exe);
        }
    }
    snprintf(cand[n++], PATH_MAX, "%s", ECGNET_MODELS_SOURCE_DIR "/beats.model");
    for (int i = 0; i < n; i++)
        if (access(cand[i], F_OK) == 0) return load_file(cand[i], out, err, errlen);
    int w = snprintf(err, errlen, "no beat model found (looked for");
    for (int i = 0; i < n && w >= 0 && (size_t)w < errlen; i++)
        w += snprintf(err + w, errlen - (size_t)w, "%s %s", i ? "," : "", cand[i]);
    if (w >= 0 && (size_t)w < errlen)
        snprintf(err + w, errlen - (size_t)w, "); set ECGNET_BEAT_MODEL or pass a model file");
    return -1;
}

/* ---- writing ---- */

int bc_model_save(const bc_model *m, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: cannot write the beat model: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, MAGIC " %d\nprogram %s\ndate %s\nrecords %s\nfeatures %d\n", m->version,
            m->program, m->date, m->records, m->nfeat);
    for (int i = 0; i < m->nfeat; i++)
        fprintf(f, "feature %s %.9g %.9g\n", bc_feature_name(i), (double)m->mean[i], (double)m->std[i]);
    fprintf(f, "classes %d", m->nclass);
    for (int k = 0; k < m->nclass; k++) fprintf(f, " %c", m->classes[k]);
    fputc('\n', f);
    int nin = m->nfeat;
    if (m->version == BC_MODEL_VERSION_MLP) {
        nin = m->nhidden;
        fprintf(f, "hidden %d\n", m->nhidden);
        for (int h = 0; h < m->nhidden; h++) {
            fprintf(f, "unit %.9g", (double)m->b1[h]);
            for (int i = 0; i < m->nfeat; i++) fprintf(f, " %.9g", (double)m->w1[h * m->nfeat + i]);
            fputc('\n', f);
        }
    }
    for (int k = 0; k < m->nclass; k++) {
        fprintf(f, "class %c %.9g", m->classes[k], (double)m->bias[k]);
        for (int i = 0; i < nin; i++) fprintf(f, " %.9g", (double)m->w[k * nin + i]);
        fputc('\n', f);
    }
    fputs("end\n", f);
    int bad_write = ferror(f);
    if (fclose(f) || bad_write) {
        snprintf(err, errlen, "%s: error writing the beat model", path);
        return -1;
    }
    return 0;
}
