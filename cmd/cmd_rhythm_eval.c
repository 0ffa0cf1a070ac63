/* cmd_rhythm_eval.c — `ecgnet eval --rhythm`: duration-weighted AF and ventricular flutter Se/+P
 * against '+' annotations and '[' ']' flutter brackets, and flutter episodes found. */
#include "cmd_rhythm_eval.h"

#include "cmd.h"
#include "record.h"
#include "rhythm_score.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

/* Se and +P in percent; negative when undefined (no AF in the reference, or none detected). */
static double pct(double tp, double other)
{
    return tp + other > 0 ? 100.0 * tp / (tp + other) : -1.0;
}

typedef struct {
    double tp, fn, fp; /* seconds of AF */
    double vtp, vfn, vfp; /* seconds of VFL */
    int vref, vfound, vdet, vtrue; /* VFL episodes: reference, found, detected, true */
} af_seconds;

static void print_pct(double v)
{
    if (v < 0) printf(" %8s", "-");
    else printf(" %8.2f", v);
}

static void print_row(const char *name, const af_seconds *s)
{
    printf("%-8s %9.1f %9.1f %9.1f %9.1f", name, s->tp + s->fn, s->tp, s->fn, s->fp);
    print_pct(pct(s->tp, s->fn));
    print_pct(pct(s->tp, s->fp));
    printf(" | %7.1f %7.1f %7.1f %7.1f %5d %5d %5d %5d\n", s->vtp + s->vfn, s->vtp, s->vfn, s->vfp, s->vref,
           s->vfound, s->vdet, s->vdet - s->vtrue);
}

static void add_pct(cJSON *o, const char *key, double v)
{
    if (v < 0) cJSON_AddNullToObject(o, key);
    else cJSON_AddNumberToObject(o, key, v);
}

static cJSON *json_row(const char *name, const af_seconds *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "record", name);
    cJSON_AddNumberToObject(o, "ref_af_s", s->tp + s->fn);
    cJSON_AddNumberToObject(o, "tp_s", s->tp);
    cJSON_AddNumberToObject(o, "fn_s", s->fn);
    cJSON_AddNumberToObject(o, "fp_s", s->fp);
    add_pct(o, "af_se", pct(s->tp, s->fn));
    add_pct(o, "af_ppv", pct(s->tp, s->fp));
    cJSON_AddNumberToObject(o, "ref_vfl_s", s->vtp + s->vfn);
    cJSON_AddNumberToObject(o, "vfl_tp_s", s->vtp);
    cJSON_AddNumberToObject(o, "vfl_fn_s", s->vfn);
    cJSON_AddNumberToObject(o, "vfl_fp_s", s->vfp);
    add_pct(o, "vfl_se", pct(s->vtp, s->vfn));
    add_pct(o, "vfl_ppv", pct(s->vtp, s->vfp));
    cJSON_AddNumberToObject(o, "vfl_ref_episodes", s->vref);
    cJSON_AddNumberToObject(o, "vfl_ref_episodes_found", s->vfound);
    cJSON_AddNumberToObject(o, "vfl_episodes", s->vdet);
    cJSON_AddNumberToObject(o, "vfl_false_episodes", s->vdet - s->vtrue);
    return o;
}

int cmd_eval_rhythm(const char *dir, char **names, int n, int json, double min_se, double min_ppv)
{
    cJSON *root = NULL, *recs = NULL;
    bc_model *model = NULL;
    char merr[1024];
    /* The beats labelled as analyze and the daemon label them: the rhythm analysis leaves
     * ventricular beats out of its P-wave check, and VT takes precedence over AF. */
    if (bc_model_load(NULL, &model, merr, sizeof merr)) {
        fprintf(stderr, "ecgnet eval: %s\n", merr);
        return CMD_EINPUT;
    }
    if (json) {
        root = cJSON_CreateObject();
        recs = root ? cJSON_AddArrayToObject(root, "records") : NULL;
        if (!recs) {
            cJSON_Delete(root);
            bc_model_free(model);
            fprintf(stderr, "ecgnet eval: out of memory\n");
            return CMD_EINPUT;
        }
    } else {
        printf("AF (AFIB or AFL) duration-weighted over whole records, seconds; RR intervals, P waves, beat classes\n");
        printf("| ventricular flutter (VFL): seconds, then episodes: reference, found, detected, false\n");
        printf("%-8s %9s %9s %9s %9s %8s %8s | %7s %7s %7s %7s %5s %5s %5s %5s\n", "record", "ref AF", "TP", "FN", "FP",
               "Se%", "+P%", "ref VFL", "TP", "FN", "FP", "ref", "found", "det", "false");
    }
    /* Pooled in seconds, so that records at different sample rates add up. */
    af_seconds pooled = {0};
    int rc = CMD_OK;
    for (int i = 0; i < n; i++) {
        char path[4096], err[FMT_ERRLEN];
        rh_af_score sc;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (rh_score_af_record(path, 1, model, &sc, err, sizeof err)) {
            fprintf(stderr, "ecgnet eval: %s\n", err);
            rc = CMD_EINPUT;
            break;
        }
        af_seconds s = {(double)sc.tp / sc.fs, (double)sc.fn / sc.fs, (double)sc.fp / sc.fs,
                        (double)sc.vfl_tp / sc.fs, (double)sc.vfl_fn / sc.fs, (double)sc.vfl_fp / sc.fs,
                        sc.vfl_ref, sc.vfl_ref_found, sc.vfl_det, sc.vfl_det_true};
        pooled.tp += s.tp;
        pooled.fn += s.fn;
        pooled.fp += s.fp;
        pooled.vtp += s.vtp;
        pooled.vfn += s.vfn;
        pooled.vfp += s.vfp;
        pooled.vref += s.vref;
        pooled.vfound += s.vfound;
        pooled.vdet += s.vdet;
        pooled.vtrue += s.vtrue;
        if (json) {
            cJSON_AddItemToArray(recs, json_row(names[i], &s));
        } else {
            print_row(names[i], &s);
            fflush(stdout);
        }
    }
    if (rc == CMD_OK) {
        if (json) {
            cJSON_AddItemToObject(root, "pooled", json_row("pooled", &pooled));
            char *text = cJSON_Print(root);
            if (text) puts(text);
            free(text);
        } else {
            print_row("pooled", &pooled);
        }
        double se = pct(pooled.tp, pooled.fn), ppv = pct(pooled.tp, pooled.fp);
        if ((min_se >= 0 && se < min_se) || (min_ppv >= 0 && ppv < min_ppv)) {
            fprintf(stderr, "ecgnet eval: pooled AF Se %.2f %% / +P %.2f %% below the floor %.2f / %.2f\n", se, ppv,
                    min_se, min_ppv);
            rc = CMD_ETARGET;
        }
    }
    cJSON_Delete(root);
    bc_model_free(model);
    return rc;
}

static cJSON *json_segments(const char *name, const rh_af_segments *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "record", name);
    cJSON_AddNumberToObject(o, "segments", s->segments);
    cJSON_AddNumberToObject(o, "ref_af", s->tp + s->fn);
    cJSON_AddNumberToObject(o, "tp", s->tp);
    cJSON_AddNumberToObject(o, "fn", s->fn);
    cJSON_AddNumberToObject(o, "fp", s->fp);
    add_pct(o, "af_se", pct(s->tp, s->fn));
    add_pct(o, "af_ppv", pct(s->tp, s->fp));
    return o;
}

static void print_segments(const char *name, const rh_af_segments *s)
{
    printf("%-8s %8d %8d %8d %8d %8d", name, s->segments, s->tp + s->fn, s->tp, s->fn, s->fp);
    print_pct(pct(s->tp, s->fn));
    print_pct(pct(s->tp, s->fp));
    putchar('\n');
}

int cmd_eval_rhythm_segments(const char *dir, char **names, int n, int json, double seconds, double min_se,
                             double min_ppv)
{
    bc_model *model = NULL;
    char err[FMT_ERRLEN];
    if (bc_model_load(NULL, &model, err, sizeof err)) {
        fprintf(stderr, "ecgnet eval: %s\n", err);
        return CMD_EINPUT;
    }
    cJSON *root = json ? cJSON_CreateObject() : NULL, *recs = root ? cJSON_AddArrayToObject(root, "records") : NULL;
    if (json && !recs) {
        cJSON_Delete(root);
        bc_model_free(model);
        fprintf(stderr, "ecgnet eval: out of memory\n");
        return CMD_EINPUT;
    }
    if (!json) {
        printf("AF (AFIB or AFL) in %g-s segments, each analysed on its own as a resting ECG\n", seconds);
        printf("%-8s %8s %8s %8s %8s %8s %8s %8s\n", "record", "segments", "ref AF", "TP", "FN", "FP", "Se%", "+P%");
    }
    rh_af_segments pooled = {0, 0, 0, 0};
    int rc = CMD_OK;
    for (int i = 0; i < n; i++) {
        char path[4096];
        rh_af_segments s;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (rh_score_af_segments(path, seconds, model, &s, err, sizeof err)) {
            fprintf(stderr, "ecgnet eval: %s\n", err);
            rc = CMD_EINPUT;
            break;
        }
        pooled.segments += s.segments;
        pooled.tp += s.tp;
        pooled.fn += s.fn;
        pooled.fp += s.fp;
        if (json) cJSON_AddItemToArray(recs, json_segments(names[i], &s));
        else print_segments(names[i], &s);
        fflush(stdout);
    }
    if (rc == CMD_OK) {
        if (json) {
            cJSON_AddItemToObject(root, "pooled", json_segments("pooled", &pooled));
            char *text = cJSON_Print(root);
            if (text) puts(text);
            free(text);
        } else {
            print_segments("pooled", &pooled);
        }
        double se = pct(pooled.tp, pooled.fn), ppv = pct(pooled.tp, pooled.fp);
        if ((min_se >= 0 && se < min_se) || (min_ppv >= 0 && ppv < min_ppv)) {
            fprintf(stderr, "ecgnet eval: pooled AF segment Se %.2f %% / +P %.2f %% below the floor %.2f / %.2f\n",
                    se, ppv, min_se, min_ppv);
            rc = CMD_ETARGET;
        }
    }
    cJSON_Delete(root);
    bc_model_free(model);
    return rc;
}
