/* cmd_eval.c — `ecgnet eval`: QRS detection (and beat classes) scored against reference annotations (EC57). */
#include "annot.h"
#include "cmd.h"
#include "cmd_rhythm_eval.h"
#include "ec57.h"
#include "ec57_classes.h"
#include "pipeline.h"
#include "nst.h"
#include "record.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: ecgnet eval DB_DIR [--records LIST] [--from S] [--noise RECORD --snr LIST] [--json]\n"
    "                   [--min-se PCT] [--min-ppv PCT] [--classes [--model FILE] [--min-v-se PCT]\n"
    "                   [--min-v-ppv PCT] [--min-s-se PCT] [--min-s-ppv PCT]]\n"
    "\n"
    "Analyses every WFDB record in DB_DIR that has reference annotations (RECORD.atr) and prints,\n"
    "per record and gross, TP, FN, FP, sensitivity (Se) and positive predictivity (+P) by\n"
    "ANSI/AAMI EC57 beat-by-beat matching as WFDB's bxb does it: 150 ms window, statistics from\n"
    "minute 5 to the end; reference ventricular flutter episodes ([ ... ]) are left out (detections\n"
    "inside them are not false positives, the flutter waves in them are not beats).\n"
    "\n"
    "  --records LIST   only these records (comma- or space-separated names, e.g. 100,101)\n"
    "  --from S         count from S seconds instead of 300 (for records shorter than 5 minutes)\n"
    "  --noise RECORD   Noise Stress Test: add this noise record (e.g. .../noise/em) to each record\n"
    "                   from minute 5, 2 minutes on and 2 off, at each SNR of --snr (dB, e.g.\n"
    "                   24,18,12,6,0,-6; SNR from the QRS amplitude and the noise RMS as in the\n"
    "                   MIT-BIH NSTDB), and score each mixture\n"
    "  --json           print JSON only on stdout\n"
    "  --min-se PCT     exit 3 when gross Se falls below PCT (for regression tests)\n"
    "  --min-ppv PCT    exit 3 when gross +P falls below PCT\n"
    "  --rhythm         instead of beats, score the rhythm analysis's AF episodes (AFIB or AFL)\n"
    "                   against the reference rhythm annotations: duration-weighted Se and +P\n"
    "                   per record and pooled, over whole records (--min-se and --min-ppv are then\n"
    "                   floors on the pooled AF Se and +P)\n"
    "  --segments S     with --rhythm: as resting ECGs, each record cut into S-second segments\n"
    "                   analysed one by one; a segment is AF when half of it is (reference and\n"
    "                   analysis alike); Se and +P over segments (the floors then apply to them)\n"
    "  --classes        also classify the beats (AAMI N S V F Q) with the beat model and print, per\n"
    "                   record and gross, V and S sensitivity, +P and false-positive rate, bxb-style\n"
    "                   (a missed reference beat counts against Se, every beat labelled V or S in\n"
    "                   +P); gross S is given with and without record 232 (mostly S beats)\n"
    "  --model FILE     the beat model (default: $ECGNET_BEAT_MODEL, the installed one, the source\n"
    "                   tree's models/beats.model)\n"
    "  --min-v-se PCT, --min-v-ppv PCT, --min-s-se PCT, --min-s-ppv PCT\n"
    "                   exit 3 when a gross class figure falls below PCT\n";

#define MATCH_WINDOW_S 0.150
#define MAX_SNRS 16

typedef struct {
    char name[64];
    ec57_counts c;
    ec57_confusion conf;
} rec_score;

typedef struct {
    const char *dir;
    double from_s;           /* statistics from this time on */
    const char *noise;       /* NST noise record, or NULL */
    double snr_db;           /* its SNR, when noise is set */
    const bc_model *model;   /* --classes: label the beats with this model */
} eval_setup;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Record names: from LIST, or every NAME.atr in dir, sorted. Returns a count, -1 on error. */
static int list_records(const char *dir, const char *list, char ***out)
{
    char **names = NULL;
    int n = 0, cap = 0;
    if (list) {
        char *copy = strdup(list), *save = NULL;
        if (!copy) return -1;
        for (char *tok = strtok_r(copy, ", \t\n", &save); tok; tok = strtok_r(NULL, ", \t\n", &save)) {
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                char **nn = realloc(names, (size_t)cap * sizeof *nn);
                if (!nn) { free(copy); goto fail; }
                names = nn;
            }
            if (!(names[n] = strdup(tok))) { free(copy); goto fail; }
            n++;
        }
        free(copy);
    } else {
        DIR *d = opendir(dir);
        if (!d) {
            fprintf(stderr, "ecgnet eval: %s: cannot open the directory\n", dir);
            return -1;
        }
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t len = strlen(e->d_name);
            if (len < 5 || strcmp(e->d_name + len - 4, ".atr")) continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                char **nn = realloc(names, (size_t)cap * sizeof *nn);
                if (!nn) { closedir(d); goto fail; }
                names = nn;
            }
            if (!(names[n] = strndup(e->d_name, len - 4))) { closedir(d); goto fail; }
            n++;
        }
        closedir(d);
        qsort(names, (size_t)n, sizeof *names, cmp_str);
    }
    *out = names;
    return n;
fail:
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    fprintf(stderr, "ecgnet eval: out of memory\n");
    return -1;
}

/* Scores one record; returns 0, or -1 after printing the error. */
static int eval_record(const eval_setup *e, const char *name, rec_score *s)
{
    const char *dir = e->dir;
    char path[4096], err[FMT_ERRLEN];
    fmt_record *rec = NULL;
    fmt_annot_list ann = {0};
    pipeline_result *res = NULL;
    int64_t *test = NULL;
    char *test_class = NULL;
    ec57_reference ref = {0};
    int rc = -1;

    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (e->noise ? fmt_nst_open(path, e->noise, e->snr_db, &rec, err, sizeof err)
                 : fmt_record_open(path, &rec, err, sizeof err))
        goto fail;
    snprintf(path, sizeof path, "%s/%s.atr", dir, name);
    if (fmt_annot_read_wfdb(path, &ann, err, sizeof err)) goto fail;

    pipeline_opts o;
    pipeline_opts_default(&o);
    o.run_filter = e->model != NULL; /* beats alone need no filter; their classes do */
    o.rhythm = e->model != NULL;     /* the final labels need the rhythm (pipeline.h), as in analyze */
    o.beat_model = e->model;
    if (pipeline_run_record(rec, &o, &res, err, sizeof err)) goto fail;

    test = malloc((res->nbeats + 1) * sizeof *test);
    test_class = malloc(res->nbeats + 1);
    if (!test || !test_class || ec57_reference_read(&ann, &ref)) {
        snprintf(err, sizeof err, "%s: out of memory", name);
        goto fail;
    }
    for (size_t i = 0; i < res->nbeats; i++) {
        test[i] = res->beats[i].sample;
        test_class[i] = res->beats[i].label;
    }
    double fs = fmt_record_fs(rec);
    ec57_match(ref.sample, ref.counted, ref.n, test, res->nbeats, (int64_t)(e->from_s * fs),
               (int64_t)(MATCH_WINDOW_S * fs + 0.5), ref.vf, ref.nvf, &s->c);
    if (e->model)
        ec57_classes_match(ref.sample, ref.cls, ref.n, test, test_class, res->nbeats, (int64_t)(e->from_s * fs),
                           (int64_t)(MATCH_WINDOW_S * fs + 0.5), ref.vf, ref.nvf, &s->conf);
    rc = 0;
fail:
    if (rc) fprintf(stderr, "ecgnet eval: %s\n", err);
    free(test_class);
    free(test);
    ec57_reference_free(&ref);
    pipeline_result_free(res);
    fmt_annot_list_free(&ann);
    fmt_record_free(rec);
    return rc;
}

static void print_row(const char *name, const ec57_counts *c)
{
    printf("%-8s %7ld %6ld %6ld %6ld %8.3f %8.3f\n", name, c->tp + c->fn, c->tp, c->fn, c->fp,
           ec57_se(c), ec57_ppv(c));
}

static void print_class_row(const char *name, const ec57_confusion *c)
{
    ec57_class_stats v, s;
    ec57_class_stats_of(c, 'V', &v);
    ec57_class_stats_of(c, 'S', &s);
    printf("%-10s %6ld %7.2f %7.2f %6.2f  %6ld %7.2f %7.2f %6.2f\n", name, v.tp + v.fn, v.se, v.ppv,
           v.fpr, s.tp + s.fn, s.se, s.ppv, s.fpr);
}

static cJSON *json_class(const ec57_confusion *c, char cls)
{
    ec57_class_stats st;
    ec57_class_stats_of(c, cls, &st);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "tp", (double)st.tp);
    cJSON_AddNumberToObject(o, "fn", (double)st.fn);
    cJSON_AddNumberToObject(o, "fp", (double)st.fp);
    cJSON_AddNumberToObject(o, "se", st.se);
    cJSON_AddNumberToObject(o, "ppv", st.ppv);
    cJSON_AddNumberToObject(o, "fpr", st.fpr);
    return o;
}

/* Class statistics of the records (gross), and without record 232 when it is one of them. */
static void class_summary(const rec_score *scores, int n, int json, cJSON *pass, ec57_confusion *gross)
{
    ec57_confusion no232;
    memset(gross, 0, sizeof *gross);
    memset(&no232, 0, sizeof no232);
    int has232 = 0;
    for (int i = 0; i < n; i++) {
        ec57_confusion_add(gross, &scores[i].conf);
        if (strcmp(scores[i].name, "232")) ec57_confusion_add(&no232, &scores[i].conf);
        else has232 = 1;
    }
    if (json) {
        cJSON *cl = cJSON_AddObjectToObject(pass, "classes"), *recs = cJSON_AddArrayToObject(cl, "records");
        for (int i = 0; i < n; i++) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "record", scores[i].name);
            cJSON_AddItemToObject(r, "V", json_class(&scores[i].conf, 'V'));
            cJSON_AddItemToObject(r, "S", json_class(&scores[i].conf, 'S'));
            cJSON_AddItemToArray(recs, r);
        }
        cJSON *g = cJSON_AddObjectToObject(cl, "gross");
        cJSON_AddItemToObject(g, "V", json_class(gross, 'V'));
        cJSON_AddItemToObject(g, "S", json_class(gross, 'S'));
        if (has232) cJSON_AddItemToObject(g, "S_without_232", json_class(&no232, 'S'));
        return;
    }
    printf("\n%-10s %6s %7s %7s %6s  %6s %7s %7s %6s\n", "record", "V", "VSe%", "V+P%", "VFPR%", "S",
           "SSe%", "S+P%", "SFPR%");
    for (int i = 0; i < n; i++) print_class_row(scores[i].name, &scores[i].conf);
    print_class_row("gross", gross);
    if (has232) print_class_row("gross-232", &no232);
}

static cJSON *json_row(const char *name, const ec57_counts *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "record", name);
    cJSON_AddNumberToObject(o, "tp", (double)c->tp);
    cJSON_AddNumberToObject(o, "fn", (double)c->fn);
    cJSON_AddNumberToObject(o, "fp", (double)c->fp);
    cJSON_AddNumberToObject(o, "se", ec57_se(c));
    cJSON_AddNumberToObject(o, "ppv", ec57_ppv(c));
    return o;
}

int cmd_eval(int argc, char **argv)
{
    const char *dir = NULL, *list = NULL, *noise = NULL, *snr_list = NULL;
    double from_s = 300.0, snrs[MAX_SNRS];
    int json = 0, nsnr = 0;
    double min_se = -1.0, min_ppv = -1.0, min_v_se = -1.0, min_v_ppv = -1.0, min_s_se = -1.0,
           min_s_ppv = -1.0;
    int classes = 0, rhythm = 0;
    double segments = 0.0;
    const char *model_path = NULL;
    bc_model *model = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(help, stdout);
            return CMD_OK;
        } else if (!strcmp(argv[i], "--records") && i + 1 < argc) {
            list = argv[++i];
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--from") && i + 1 < argc) {
            from_s = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--noise") && i + 1 < argc) {
            noise = argv[++i];
        } else if (!strcmp(argv[i], "--snr") && i + 1 < argc) {
            snr_list = argv[++i];
        } else if (!strcmp(argv[i], "--min-se") && i + 1 < argc) {
            min_se = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--min-ppv") && i + 1 < argc) {
            min_ppv = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--classes")) {
            classes = 1;
        } else if (!strcmp(argv[i], "--rhythm")) {
            rhythm = 1;
        } else if (!strcmp(argv[i], "--segments") && i + 1 < argc) {
            segments = atof(argv[++i]);
            if (!(segments >= 1.0 && segments <= 600.0)) {
                fprintf(stderr, "ecgnet eval: --segments takes seconds from 1 to 600, not '%s'\n", argv[i]);
                return CMD_EUSAGE;
            }
        } else if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            model_path = argv[++i];
        } else if (!strcmp(argv[i], "--min-v-se") && i + 1 < argc) {
            min_v_se = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--min-v-ppv") && i + 1 < argc) {
            min_v_ppv = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--min-s-se") && i + 1 < argc) {
            min_s_se = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--min-s-ppv") && i + 1 < argc) {
            min_s_ppv = atof(argv[++i]);
        } else if (argv[i][0] == '-' || dir) {
            fprintf(stderr, "ecgnet eval: unexpected argument '%s'\n\n%s", argv[i], help);
            return CMD_EUSAGE;
        } else {
            dir = argv[i];
        }
    }
    if (!dir) {
        fprintf(stderr, "ecgnet eval: no database directory given\n\n%s", help);
        return CMD_EUSAGE;
    }
    if (!noise != !snr_list) {
        fprintf(stderr, "ecgnet eval: --noise and --snr go together\n\n%s", help);
        return CMD_EUSAGE;
    }
    if (snr_list) {
        char *copy = strdup(snr_list), *save = NULL;
        for (char *t = copy ? strtok_r(copy, ", ", &save) : NULL; t; t = strtok_r(NULL, ", ", &save)) {
            char *end;
            double v = strtod(t, &end);
            if (*end || nsnr == MAX_SNRS) {
                fprintf(stderr, "ecgnet eval: --snr takes up to %d numbers in dB, not '%s'\n", MAX_SNRS, t);
                free(copy);
                return CMD_EUSAGE;
            }
            snrs[nsnr++] = v;
        }
        free(copy);
    } else {
        snrs[nsnr++] = 0.0; /* one pass, no noise */
    }
    if (segments > 0 && !rhythm) {
        fprintf(stderr, "ecgnet eval: --segments goes with --rhythm\n\n%s", help);
        return CMD_EUSAGE;
    }
    if (model_path && !classes) {
        fprintf(stderr, "ecgnet eval: --model goes with --classes\n\n%s", help);
        return CMD_EUSAGE;
    }
    if (classes) {
        char err[1024];
        if (bc_model_load(model_path, &model, err, sizeof err)) {
            fprintf(stderr, "ecgnet eval: %s\n", err);
            return CMD_EINPUT;
        }
        if (!json) printf("%s\n", bc_model_describe(model));
    }
    char **names = NULL;
    int n = list_records(dir, list, &names);
    if (n < 0) return CMD_EINPUT;
    if (rhythm && n > 0) {
        int rrc = segments > 0 ? cmd_eval_rhythm_segments(dir, names, n, json, segments, min_se, min_ppv)
                               : cmd_eval_rhythm(dir, names, n, json, min_se, min_ppv);
        for (int i = 0; i < n; i++) free(names[i]);
        free(names);
        bc_model_free(model);
        return rrc;
    }
    if (n == 0) {
        fprintf(stderr, "ecgnet eval: %s: no records with reference annotations (.atr)\n", dir);
        free(names);
        bc_model_free(model);
        return CMD_EINPUT;
    }
    rec_score *scores = calloc((size_t)n, sizeof *scores);
    int rc = CMD_OK;
    cJSON *root = json ? cJSON_CreateObject() : NULL, *passes = json ? cJSON_AddArrayToObject(root, "passes") : NULL;
    if (!scores) {
        fprintf(stderr, "ecgnet eval: out of memory\n");
        rc = CMD_EINPUT;
        goto done;
    }
    for (int k = 0; k < nsnr; k++) {
        eval_setup e = {dir, from_s, noise, snrs[k], model};
        ec57_counts gross = {0, 0, 0};
        if (!json) {
            if (noise) printf("\nnoise %s at %g dB\n", noise, snrs[k]);
            printf("%-8s %7s %6s %6s %6s %8s %8s\n", "record", "beats", "TP", "FN", "FP", "Se%", "+P%");
        }
        memset(scores, 0, (size_t)n * sizeof *scores);
        for (int i = 0; i < n; i++) {
            if (eval_record(&e, names[i], &scores[i])) {
                rc = CMD_EINPUT;
                goto done;
            }
            gross.tp += scores[i].c.tp;
            gross.fn += scores[i].c.fn;
            gross.fp += scores[i].c.fp;
            if (!json) {
                print_row(scores[i].name, &scores[i].c);
                fflush(stdout);
            }
        }
        if (json) {
            cJSON *pass = cJSON_CreateObject(), *recs = cJSON_AddArrayToObject(pass, "records");
            if (noise) {
                cJSON_AddStringToObject(pass, "noise", noise);
                cJSON_AddNumberToObject(pass, "snr_db", snrs[k]);
            }
            for (int i = 0; i < n; i++) cJSON_AddItemToArray(recs, json_row(scores[i].name, &scores[i].c));
            cJSON_AddItemToObject(pass, "gross", json_row("gross", &gross));
            cJSON_AddItemToArray(passes, pass);
        } else {
            print_row("gross", &gross);
        }
        if (model) {
            ec57_confusion cg;
            class_summary(scores, n, json, json ? cJSON_GetArrayItem(passes, cJSON_GetArraySize(passes) - 1) : NULL, &cg);
            ec57_class_stats v, s;
            ec57_class_stats_of(&cg, 'V', &v);
            ec57_class_stats_of(&cg, 'S', &s);
            if ((min_v_se >= 0 && v.se < min_v_se) || (min_v_ppv >= 0 && v.ppv < min_v_ppv) ||
                (min_s_se >= 0 && s.se < min_s_se) || (min_s_ppv >= 0 && s.ppv < min_s_ppv)) {
                fprintf(stderr, "ecgnet eval: gross V Se %.2f / +P %.2f, S Se %.2f / +P %.2f below the "
                        "floors %.2f / %.2f, %.2f / %.2f\n", v.se, v.ppv, s.se, s.ppv, min_v_se,
                        min_v_ppv, min_s_se, min_s_ppv);
                rc = CMD_ETARGET;
            }
        }
        if ((min_se >= 0 && ec57_se(&gross) < min_se) || (min_ppv >= 0 && ec57_ppv(&gross) < min_ppv)) {
            fprintf(stderr, "ecgnet eval: gross Se %.3f %% / +P %.3f %% below the floor %.3f / %.3f\n",
                    ec57_se(&gross), ec57_ppv(&gross), min_se, min_ppv);
            rc = CMD_ETARGET;
        }
    }
    if (json) {
        char *text = cJSON_Print(root);
        if (text) puts(text);
        free(text);
    }
done:
    cJSON_Delete(root);
    bc_model_free(model);
    free(scores);
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}
