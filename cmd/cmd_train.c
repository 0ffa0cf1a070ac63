/* cmd_train.c — `ecgnet train`: fits the beat classifier to annotated records (and cross-validates). */
#include "annot.h"
#include "beatclass.h"
#include "cmd.h"
#include "ec57_classes.h"
#include "pipeline.h"
#include "record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: ecgnet train DB_DIR --records LIST [--kind lda|mlp] --out FILE\n"
    "       ecgnet train DB_DIR --records LIST --cv [--folds K] [--kind lda|mlp] [options]\n"
    "       ecgnet train DB_DIR --records LIST --dump FILE\n"
    "\n"
    "Runs the analysis pipeline (monitoring filter) over each record, pairs the detected beats\n"
    "with the reference beats (RECORD.atr; 150 ms, as EC57) to give each its AAMI class\n"
    "(unpaired detections, beats inside ventricular flutter and records with paced beats are left\n"
    "out), fits the beat classifier and writes the model file. The same records give the same\n"
    "bytes ($SOURCE_DATE_EPOCH fixes the date line).\n"
    "\n"
    "  --records LIST     training records (comma- or space-separated), e.g. DS1 of de Chazal 2004:\n"
    "                     101,106,108,109,112,114,115,116,118,119,122,124,201,203,205,207,208,\n"
    "                     209,215,220,223,230\n"
    "  --out FILE         the model file to write\n"
    "  --kind lda|mlp     the model: a linear discriminant (file version 1) or a small neural\n"
    "                     network (version 2); default: the built-in choice, made by\n"
    "                     cross-validation on DS1 (for --cv: mlp)\n"
    "  --cv               instead: cross-validation over LIST, printing V and S Se/+P of the paired\n"
    "                     beats of held-out records for each combination of the options below\n"
    "                     (the MLP: after every 5th epoch, for choosing when to stop)\n"
    "  --folds K          records r, r+K, r+2K... held out together (default: one record at a time)\n"
    "  --prior-power LIST class weighting(s) to try: 1 = classes alike, 0 = beats alike\n"
    "  --ridge LIST       lda: covariance regularisation(s) to try (default: the built-in one)\n"
    "  --hidden LIST      mlp: hidden units to try;  --l2 LIST: weight decay(s) to try\n"
    "  --epochs N         mlp: training epochs (for --cv, the most to try)\n"
    "  --lr X, --seed N   mlp: Adam's step size; the seed of the initial weights and beat order\n"
    "  --members N        mlp: networks from N seeds, their scores averaged (one wider network)\n"
    "  --rule-inputs 0|1  whether the features meant for the rules (dom_*, clu_*) are model inputs\n"
    "  --rule-k LIST, --rule-floor LIST, --rule-width LIST, --rule-match-prem LIST,\n"
    "  --rule-ontime LIST with --cv: the settings of the rules after the model (beatclass.h,\n"
    "                     bc_rule_opts) to try on the held-out labels of each model setting;\n"
    "  --rule-af 0|1      and whether in AF the dominant-shape match needs no timing;\n"
    "  --rule-ontime-beat X  and the beat's own on-time bound (default: the built-in one)\n"
    "  --dump FILE        write every detected beat as CSV (record, sample, reference class or\n"
    "                     '-', label, then the features by name) to study features and errors:\n"
    "                     the default model's label (rules included), or with --cv the held-out\n"
    "                     label of the last model setting (before the rules)\n";

#define MATCH_WINDOW_S 0.150
#define MAX_GRID 16
#define MAX_EPOCHS 400

typedef struct {
    float *x;      /* nbeats * nfeat */
    char *y;       /* AAMI class, 0 when left out */
    char *label;   /* the pipeline's label (a beat model's only when one was given) */
    int64_t *sample;
    size_t n, cap;
    size_t *start; /* beats of record r: [start[r], start[r + 1]) */
} train_set;

/* Features and labels of one record appended to *t. Returns 0, 1 when the record is left out
 * (paced), -1 after printing the error. */
static int add_record(const char *dir, const char *name, train_set *t, const bc_model *model)
{
    char path[4096], err[FMT_ERRLEN];
    fmt_record *rec = NULL;
    fmt_annot_list ann = {0};
    pipeline_result *res = NULL;
    int64_t *test = NULL;
    ec57_reference ref = {0};
    long *pair = NULL;
    int rc = -1;
    const int F = bc_feature_count();

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (fmt_record_open(path, &rec, err, sizeof err)) goto fail;
    snprintf(path, sizeof path, "%s/%s.atr", dir, name);
    if (fmt_annot_read_wfdb(path, &ann, err, sizeof err)) goto fail;
    for (size_t i = 0; i < ann.count; i++)
        if (ann.items[i].code == 12) { /* '/': a paced record, outside the AAMI protocol */
            fprintf(stderr, "ecgnet train: %s: paced beats, record left out\n", name);
            rc = 1;
            goto fail;
        }
    pipeline_opts o;
    pipeline_opts_default(&o);
    o.keep_features = 1;
    o.beat_model = model;
    if (pipeline_run_record(rec, &o, &res, err, sizeof err)) goto fail;
    if (res->nbeats && res->nfeatures != F) {
        snprintf(err, sizeof err, "%s: %d features per beat, expected %d", name, res->nfeatures, F);
        goto fail;
    }
    test = malloc((res->nbeats + 1) * sizeof *test);
    pair = malloc((res->nbeats + 1) * sizeof *pair);
    /* The reference as eval reads it: ventricular flutter episodes left out entirely. */
    if (!test || !pair || ec57_reference_read(&ann, &ref)) goto oom;
    for (size_t i = 0; i < res->nbeats; i++) test[i] = res->beats[i].sample;
    ec57_pair(ref.sample, ref.n, test, res->nbeats, (int64_t)(MATCH_WINDOW_S * fmt_record_fs(rec) + 0.5), pair);
    size_t need = t->n + res->nbeats;
    if (need > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < need) cap *= 2;
        float *nx = realloc(t->x, cap * (size_t)F * sizeof *nx);
        if (!nx) goto oom;
        t->x = nx;
        char *ny = realloc(t->y, cap);
        if (!ny) goto oom;
        t->y = ny;
        char *nl = realloc(t->label, cap);
        if (!nl) goto oom;
        t->label = nl;
        int64_t *ns = realloc(t->sample, cap * sizeof *ns);
        if (!ns) goto oom;
        t->sample = ns;
        t->cap = cap;
    }
    if (res->nbeats)
        memcpy(t->x + t->n * (size_t)F, res->features, res->nbeats * (size_t)F * sizeof *t->x);
    for (size_t i = 0; i < res->nbeats; i++) t->y[t->n + i] = pair[i] >= 0 ? ref.cls[pair[i]] : 0;
    for (size_t i = 0; i < res->nbeats; i++) {
        t->label[t->n + i] = res->beats[i].label;
        t->sample[t->n + i] = res->beats[i].sample;
    }
    t->n = need;
    rc = 0;
    goto done;
oom:
    snprintf(err, sizeof err, "%s: out of memory", name);
fail:
    if (rc < 0) fprintf(stderr, "ecgnet train: %s\n", err);
done:
    free(pair);
    free(test);
    ec57_reference_free(&ref);
    pipeline_result_free(res);
    fmt_annot_list_free(&ann);
    fmt_record_free(rec);
    return rc;
}

/* Every beat as a CSV row: record, sample, reference class ('-' if none), label, features. */
static int write_dump(const char *path, const train_set *t, int nrec, char names[][32],
                      const char *labels)
{
    const int F = bc_feature_count();
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "ecgnet train: %s: cannot write: %s\n", path, strerror(errno));
        return -1;
    }
    fputs("record,sample,ref,label", f);
    for (int k = 0; k < F; k++) fprintf(f, ",%s", bc_feature_name(k));
    fputc('\n', f);
    for (int r = 0; r < nrec; r++)
        for (size_t i = t->start[r]; i < t->start[r + 1]; i++) {
            fprintf(f, "%s,%lld,%c,%c", names[r], (long long)t->sample[i], t->y[i] ? t->y[i] : '-',
                    labels[i]);
            for (int k = 0; k < F; k++) fprintf(f, ",%.6g", (double)t->x[i * (size_t)F + (size_t)k]);
            fputc('\n', f);
        }
    if (fclose(f)) {
        fprintf(stderr, "ecgnet train: %s: write failed\n", path);
        return -1;
    }
    return 0;
}

static int parse_list(const char *s, double *v, int max)
{
    int n = 0;
    char *copy = strdup(s), *save = NULL;
    for (char *t = copy ? strtok_r(copy, ", ", &save) : NULL; t; t = strtok_r(NULL, ", ", &save)) {
        char *end;
        double x = strtod(t, &end);
        if (*end || n == max) {
            n = -1;
            break;
        }
        v[n++] = x;
    }
    free(copy);
    return copy ? n : -1;
}

/* One cross-validation setting: the model kind and its options. */
typedef struct {
    int mlp;
    bc_fit_opts lda;
    bc_mlp_opts net;
} cv_setting;

/* Held-out records of one fold and the confusion matrices to add their beats to (one per epoch
 * for the MLP). */
typedef struct {
    const train_set *t;
    int nrec, folds, fold;
    ec57_confusion *gross;
    int last_epoch;
    char *oof;     /* the model's label of every beat while its record was held out */
} cv_fold;

static void score_fold(const cv_fold *c, const bc_model *m, ec57_confusion *into, int keep)
{
    const int F = bc_feature_count();
    for (int r = c->fold; r < c->nrec; r += c->folds)
        for (size_t i = c->t->start[r]; i < c->t->start[r + 1]; i++) {
            if (!c->t->y[i]) continue;
            float conf;
            char label = bc_model_classify(m, c->t->x + i * (size_t)F, &conf);
            if (keep) c->oof[i] = label;
            into->m[ec57_class_index(c->t->y[i])][ec57_class_index(label)]++;
        }
}

static void on_epoch(void *ctx, int epoch, const bc_model *m)
{
    const cv_fold *c = ctx;
    score_fold(c, m, &c->gross[epoch - 1], epoch == c->last_epoch);
}

static void print_cv(const cv_setting *o, int epoch, const ec57_confusion *gross)
{
    ec57_class_stats v, s;
    ec57_class_stats_of(gross, 'V', &v);
    ec57_class_stats_of(gross, 'S', &s);
    if (o->mlp)
        printf("hidden %-3d x%d l2 %-8g prior-power %-5g epochs %-4d", o->net.hidden, o->net.members,
               o->net.l2, o->net.prior_power, epoch);
    else
        printf("ridge %-8g prior-power %-5g", o->lda.ridge, o->lda.prior_power);
    /* One figure to rank the settings by: the mean of the four, each of which matters. */
    printf("  V Se %6.2f +P %6.2f FPR %5.2f   S Se %6.2f +P %6.2f FPR %5.2f   mean %6.2f\n", v.se,
           v.ppv, v.fpr, s.se, s.ppv, s.fpr, (v.se + v.ppv + s.se + s.ppv) / 4);
}

/* The rules after the model (bc_rules_apply) over the held-out labels, for each combination of
 * the rule settings asked for. */
static void print_rules(const train_set *t, const char *oof, int match_af, double ontime_beat,
                        const double *ks, int nk,
                        const double *floors, int nfloor, const double *widths, int nwidth,
                        const double *prems, int nprem, const double *mprems, int nmprem)
{
    const int F = bc_feature_count();
    for (int a = 0; a < nk; a++)
        for (int b = 0; b < nfloor; b++)
            for (int c = 0; c < nwidth; c++)
                for (int d = 0; d < nprem * nmprem; d++) {
                    bc_rule_opts r;
                    bc_rule_opts_default(&r);
                    r.match_k = ks[a];
                    r.match_floor = floors[b];
                    r.width_s = widths[c];
                    r.ontime_prem = prems[d / nmprem];
                    r.match_prem = mprems[d % nmprem];
                    r.match_af = match_af;
                    if (ontime_beat > 0) r.ontime_beat = ontime_beat;
                    ec57_confusion g;
                    memset(&g, 0, sizeof g);
                    for (size_t i = 0; i < t->n; i++) {
                        if (!t->y[i]) continue;
                        char label = bc_rules_apply(&r, oof[i], t->x + i * (size_t)F);
                        g.m[ec57_class_index(t->y[i])][ec57_class_index(label)]++;
                    }
                    ec57_class_stats v, s;
                    ec57_class_stats_of(&g, 'V', &v);
                    ec57_class_stats_of(&g, 'S', &s);
                    printf("  rules k %-4g floor %-4g width %-5g mprem %-4g ontime %-4g/%-4g af %d  V Se %6.2f +P %6.2f FPR %5.2f"
                           "   S Se %6.2f +P %6.2f FPR %5.2f   mean %6.2f\n", r.match_k, r.match_floor,
                           r.width_s, r.match_prem, r.ontime_prem, r.ontime_beat, r.match_af, v.se, v.ppv, v.fpr, s.se, s.ppv, s.fpr,
                           (v.se + v.ppv + s.se + s.ppv) / 4);
                }
}

/* Each fold of records classified by a model fitted to the others; oof receives each beat's
 * label from the fold that held its record out (the last epoch's, for the MLP). */
static int cross_validate(const train_set *t, int nrec, int folds, const cv_setting *o, char *oof)
{
    const int F = bc_feature_count();
    if (folds < 2 || folds > nrec) folds = nrec;
    int nconf = o->mlp ? o->net.epochs : 1;
    ec57_confusion *gross = calloc((size_t)nconf, sizeof *gross);
    float *x = malloc((t->n ? t->n : 1) * (size_t)F * sizeof *x);
    char *y = malloc(t->n ? t->n : 1);
    int rc = -1;
    if (!x || !y || !gross) {
        fprintf(stderr, "ecgnet train: out of memory\n");
        goto done;
    }
    for (int fold = 0; fold < folds; fold++) {
        size_t n = 0;
        for (int q = 0; q < nrec; q++) {
            if (q % folds == fold) continue;
            size_t a = t->start[q], b = t->start[q + 1];
            memcpy(x + n * (size_t)F, t->x + a * (size_t)F, (b - a) * (size_t)F * sizeof *x);
            memcpy(y + n, t->y + a, b - a);
            n += b - a;
        }
        cv_fold c = {t, nrec, folds, fold, gross, nconf, oof};
        bc_model *m;
        char err[256];
        int bad = o->mlp ? bc_fit_mlp(x, y, n, "cv", &o->net, on_epoch, &c, &m, err, sizeof err)
                         : bc_fit(x, y, n, "cv", &o->lda, &m, err, sizeof err);
        if (bad) {
            fprintf(stderr, "ecgnet train: cross-validation fold %d: %s\n", fold + 1, err);
            goto done;
        }
        if (!o->mlp) score_fold(&c, m, &gross[0], 1);
        bc_model_free(m);
    }
    for (int e = 0; e < nconf; e++)
        if (!o->mlp || (e + 1) % 5 == 0 || e + 1 == nconf) print_cv(o, e + 1, &gross[e]);
    fflush(stdout);
    rc = 0;
done:
    free(gross);
    free(x);
    free(y);
    return rc;
}

int cmd_train(int argc, char **argv)
{
    const char *dir = NULL, *list = NULL, *out = NULL, *ridge_list = NULL, *power_list = NULL;
    const char *hidden_list = NULL, *l2_list = NULL, *kind = NULL, *dump_path = NULL;
    const char *rk_list = NULL, *rfloor_list = NULL, *rwidth_list = NULL, *rprem_list = NULL;
    const char *rmprem_list = NULL;
    int cv = 0, folds = 0, epochs = 0;
    double lr = 0;
    long long seed = -1;
    int members = 0, rule_inputs = -1, rule_af = -1;
    double rule_beat = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(help, stdout);
            return CMD_OK;
        } else if (!strcmp(argv[i], "--records") && i + 1 < argc) {
            list = argv[++i];
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "--dump") && i + 1 < argc) {
            dump_path = argv[++i];
        } else if (!strcmp(argv[i], "--rule-k") && i + 1 < argc) {
            rk_list = argv[++i];
        } else if (!strcmp(argv[i], "--rule-floor") && i + 1 < argc) {
            rfloor_list = argv[++i];
        } else if (!strcmp(argv[i], "--rule-width") && i + 1 < argc) {
            rwidth_list = argv[++i];
        } else if (!strcmp(argv[i], "--rule-match-prem") && i + 1 < argc) {
            rmprem_list = argv[++i];
        } else if (!strcmp(argv[i], "--rule-ontime") && i + 1 < argc) {
            rprem_list = argv[++i];
        } else if (!strcmp(argv[i], "--rule-ontime-beat") && i + 1 < argc) {
            rule_beat = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--rule-af") && i + 1 < argc) {
            rule_af = atoi(argv[++i]) != 0;
        } else if (!strcmp(argv[i], "--rule-inputs") && i + 1 < argc) {
            rule_inputs = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--cv")) {
            cv = 1;
        } else if (!strcmp(argv[i], "--ridge") && i + 1 < argc) {
            ridge_list = argv[++i];
        } else if (!strcmp(argv[i], "--prior-power") && i + 1 < argc) {
            power_list = argv[++i];
        } else if (!strcmp(argv[i], "--hidden") && i + 1 < argc) {
            hidden_list = argv[++i];
        } else if (!strcmp(argv[i], "--l2") && i + 1 < argc) {
            l2_list = argv[++i];
        } else if (!strcmp(argv[i], "--kind") && i + 1 < argc) {
            kind = argv[++i];
        } else if (!strcmp(argv[i], "--folds") && i + 1 < argc) {
            folds = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--epochs") && i + 1 < argc) {
            epochs = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--lr") && i + 1 < argc) {
            lr = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--members") && i + 1 < argc) {
            members = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = atoll(argv[++i]);
        } else if (argv[i][0] == '-' || dir) {
            fprintf(stderr, "ecgnet train: unexpected argument '%s'\n\n%s", argv[i], help);
            return CMD_EUSAGE;
        } else {
            dir = argv[i];
        }
    }
    if (!dir || !list || (!out && !cv && !dump_path)) {
        fprintf(stderr, "ecgnet train: %s\n\n%s", !dir ? "no database directory given"
                : !list ? "no --records given" : "no --out file given", help);
        return CMD_EUSAGE;
    }
    if (kind && strcmp(kind, "lda") && strcmp(kind, "mlp")) {
        fprintf(stderr, "ecgnet train: --kind is lda or mlp, not '%s'\n", kind);
        return CMD_EUSAGE;
    }
    if (!kind && !cv && (ridge_list || power_list || hidden_list || l2_list || epochs || lr > 0 ||
                         seed >= 0 || members)) {
        fprintf(stderr, "ecgnet train: training options need --kind lda or --kind mlp\n");
        return CMD_EUSAGE;
    }
    int mlp = kind ? !strcmp(kind, "mlp") : cv;
    bc_fit_opts def;
    bc_fit_opts_default(&def);
    bc_mlp_opts ndef;
    bc_mlp_opts_default(&ndef);
    if (epochs) ndef.epochs = epochs;
    if (lr > 0) ndef.lr = lr;
    if (seed >= 0) ndef.seed = (uint64_t)seed;
    if (members > 0) ndef.members = members;
    if (rule_inputs >= 0) def.rule_inputs = ndef.rule_inputs = rule_inputs != 0;
    double ridges[MAX_GRID] = {def.ridge}, powers[MAX_GRID] = {mlp ? ndef.prior_power : def.prior_power};
    double hiddens[MAX_GRID] = {ndef.hidden}, l2s[MAX_GRID] = {ndef.l2};
    int nridge = ridge_list ? parse_list(ridge_list, ridges, MAX_GRID) : 1;
    int npower = power_list ? parse_list(power_list, powers, MAX_GRID) : 1;
    int nhidden = hidden_list ? parse_list(hidden_list, hiddens, MAX_GRID) : 1;
    int nl2 = l2_list ? parse_list(l2_list, l2s, MAX_GRID) : 1;
    bc_rule_opts rdef;
    bc_rule_opts_default(&rdef);
    double rks[MAX_GRID] = {rdef.match_k}, rfloors[MAX_GRID] = {rdef.match_floor};
    double rwidths[MAX_GRID] = {rdef.width_s}, rprems[MAX_GRID] = {rdef.ontime_prem};
    double rmprems[MAX_GRID] = {rdef.match_prem};
    int nrmprem = rmprem_list ? parse_list(rmprem_list, rmprems, MAX_GRID) : 1;
    int nrk = rk_list ? parse_list(rk_list, rks, MAX_GRID) : 1;
    int nrfloor = rfloor_list ? parse_list(rfloor_list, rfloors, MAX_GRID) : 1;
    int nrwidth = rwidth_list ? parse_list(rwidth_list, rwidths, MAX_GRID) : 1;
    int nrprem = rprem_list ? parse_list(rprem_list, rprems, MAX_GRID) : 1;
    if (nrk < 1 || nrfloor < 1 || nrwidth < 1 || nrprem < 1 || nrmprem < 1) {
        fprintf(stderr, "ecgnet train: --rule-k, --rule-floor, --rule-width, --rule-match-prem and --rule-ontime take up "
                "to %d numbers\n", MAX_GRID);
        return CMD_EUSAGE;
    }
    if (nridge < 1 || npower < 1 || nhidden < 1 || nl2 < 1) {
        fprintf(stderr, "ecgnet train: --ridge, --prior-power, --hidden and --l2 take up to %d numbers\n",
                MAX_GRID);
        return CMD_EUSAGE;
    }
    if (ndef.epochs < 1 || ndef.epochs > MAX_EPOCHS || folds < 0) {
        fprintf(stderr, "ecgnet train: --epochs takes 1..%d, --folds a positive number\n", MAX_EPOCHS);
        return CMD_EUSAGE;
    }

    int rc = CMD_EINPUT, nrec = 0;
    train_set t = {0};
    bc_model *dump_model = NULL;
    char *oof = NULL;
    char *copy = strdup(list), *save = NULL, used[4096] = "";
    char (*names)[32] = calloc(256, sizeof *names);
    t.start = calloc(257, sizeof *t.start);
    if (!copy || !t.start || !names) {
        fprintf(stderr, "ecgnet train: out of memory\n");
        goto done;
    }
    if (dump_path && !cv) { /* the labels of the default model, rules included */
        char derr[1024];
        if (bc_model_load(NULL, &dump_model, derr, sizeof derr)) {
            fprintf(stderr, "ecgnet train: %s\n", derr);
            goto done;
        }
    }
    for (char *tok = strtok_r(copy, ", \t\n", &save); tok; tok = strtok_r(NULL, ", \t\n", &save)) {
        if (nrec == 256) {
            fprintf(stderr, "ecgnet train: more than 256 records\n");
            goto done;
        }
        int r = add_record(dir, tok, &t, dump_model);
        if (r < 0) goto done;
        if (r > 0) continue;
        snprintf(names[nrec], sizeof names[nrec], "%s", tok);
        nrec++;
        t.start[nrec] = t.n;
        size_t len = strlen(used);
        snprintf(used + len, sizeof used - len, "%s%s", len ? "," : "", tok);
        fprintf(stderr, "ecgnet train: %s: %zu beats\n", tok, t.start[nrec] - t.start[nrec - 1]);
    }
    if (dump_path && !cv) {
        if (!write_dump(dump_path, &t, nrec, names, t.label)) rc = CMD_OK;
        goto done;
    }
    if (cv) {
        if (!(oof = calloc(t.n ? t.n : 1, 1))) {
            fprintf(stderr, "ecgnet train: out of memory\n");
            goto done;
        }
        int na = mlp ? nhidden : nridge, nc = mlp ? nl2 : 1;
        for (int a = 0; a < na; a++)
            for (int b = 0; b < npower; b++)
                for (int c = 0; c < nc; c++) {
                    cv_setting o = {mlp, def, ndef};
                    o.lda.ridge = ridges[a];
                    o.lda.prior_power = o.net.prior_power = powers[b];
                    o.net.hidden = (int)hiddens[a];
                    o.net.l2 = l2s[c];
                    if (cross_validate(&t, nrec, folds, &o, oof)) goto done;
                    print_rules(&t, oof, rule_af >= 0 ? rule_af : rdef.match_af, rule_beat, rks, nrk, rfloors, nrfloor, rwidths, nrwidth, rprems, nrprem,
                                rmprems, nrmprem);
                }
        /* The last setting's held-out labels, to study its errors. */
        if (dump_path && write_dump(dump_path, &t, nrec, names, oof)) goto done;
        rc = CMD_OK;
        goto done;
    }
    char err[512];
    bc_model *m = NULL;
    int bad;
    if (!kind) {
        bad = bc_train(t.x, t.y, t.n, used, out, err, sizeof err);
    } else {
        def.prior_power = ndef.prior_power = powers[0];
        def.ridge = ridges[0];
        ndef.hidden = (int)hiddens[0];
        ndef.l2 = l2s[0];
        bad = mlp ? bc_fit_mlp(t.x, t.y, t.n, used, &ndef, NULL, NULL, &m, err, sizeof err)
                  : bc_fit(t.x, t.y, t.n, used, &def, &m, err, sizeof err);
        if (!bad) bad = bc_model_save(m, out, err, sizeof err);
        bc_model_free(m);
    }
    if (bad) {
        fprintf(stderr, "ecgnet train: %s\n", err);
        goto done;
    }
    fprintf(stderr, "ecgnet train: %s written (%zu beats from %d records)\n", out, t.n, nrec);
    rc = CMD_OK;
done:
    bc_model_free(dump_model);
    free(oof);
    free(names);
    free(t.label);
    free(t.sample);
    free(copy);
    free(t.start);
    free(t.x);
    free(t.y);
    return rc;
}
