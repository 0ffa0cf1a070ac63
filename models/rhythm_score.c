/* rhythm_score.c — one record through the pipeline (rhythm analysis included), its AF and VFL scored. */
#include "rhythm_score.h"

#include "annot.h"
#include "pipeline.h"
#include "record.h"
#include "rhythm.h"
#include "rhythm_ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int overlaps(const rh_episode *e, const rh_episode *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].label, "VFL") && v[i].start < e->end && e->start < v[i].end) return 1;
    return 0;
}

/* Episode counts of VFL both ways (any overlap is a match, as EC57 scores episodes). */
static void score_vfl_episodes(const rh_episode *ref, size_t nref, const rh_episode *det, size_t ndet, rh_af_score *out)
{
    out->vfl_first_delay = -1;
    for (size_t i = 0; i < nref; i++) {
        if (strcmp(ref[i].label, "VFL")) continue;
        out->vfl_ref++;
        out->vfl_ref_found += overlaps(&ref[i], det, ndet);
        for (size_t j = 0; out->vfl_first_delay < 0 && j < ndet; j++)
            if (!strcmp(det[j].label, "VFL") && det[j].start >= ref[i].start && det[j].start < ref[i].end)
                out->vfl_first_delay = det[j].start - ref[i].start;
    }
    for (size_t j = 0; j < ndet; j++) {
        if (strcmp(det[j].label, "VFL")) continue;
        out->vfl_det++;
        out->vfl_det_true += overlaps(&det[j], ref, nref);
    }
}

/* The record streamed through the pipeline as analyze runs it; its rhythms against the reference. */
int rh_score_af_record(const char *path, int use_atrial, const bc_model *model, rh_af_score *out, char *err,
                       size_t errlen)
{
    char atr[4096];
    fmt_record *rec = NULL;
    fmt_annot_list ann = {0};
    pipeline_result *res = NULL;
    rh_episode *ref = NULL;
    size_t nref = 0;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (model && !use_atrial) {
        snprintf(err, errlen, "%s: beat classes need the filtered signal, which RR-only scoring leaves out", path);
        return -1;
    }
    if (fmt_record_open(path, &rec, err, errlen)) goto fail;
    snprintf(atr, sizeof atr, "%s.atr", path);
    if (fmt_annot_read_wfdb(atr, &ann, err, errlen)) goto fail;
    /* The pipeline's own rhythm analysis, as analyze and the daemon run it; the P-wave check
     * needs the filter chain, RR intervals alone do not. */
    pipeline_opts o;
    pipeline_opts_default(&o);
    o.run_filter = use_atrial;
    o.beat_model = model;
    if (pipeline_run_record(rec, &o, &res, err, errlen)) goto fail;
    out->fs = res->fs;
    if (rh_reference_episodes(&ann, res->nsamples, atr, &ref, &nref, err, errlen)) goto fail;
    rh_compare_af(ref, nref, res->rhythms, res->nrhythms, 0, res->nsamples, &out->tp, &out->fn, &out->fp);
    rh_compare_vfl(ref, nref, res->rhythms, res->nrhythms, 0, res->nsamples, &out->vfl_tp, &out->vfl_fn,
                   &out->vfl_fp);
    score_vfl_episodes(ref, nref, res->rhythms, res->nrhythms, out);
    rc = 0;
fail:
    free(ref);
    pipeline_result_free(res);
    fmt_annot_list_free(&ann);
    fmt_record_free(rec);
    return rc;
}

/* Samples of [from, to) inside AFIB/AFL episodes of v (sorted, non-overlapping), the episodes'
 * times shifted by `shift`. */
static int64_t af_inside(const rh_episode *v, size_t n, int64_t shift, int64_t from, int64_t to)
{
    int64_t in = 0;
    for (size_t i = 0; i < n; i++) {
        if (!rh_label_is_af(v[i].label)) continue;
        int64_t a = v[i].start + shift > from ? v[i].start + shift : from;
        int64_t b = v[i].end + shift < to ? v[i].end + shift : to;
        if (b > a) in += b - a;
    }
    return in;
}

int rh_score_af_segments(const char *path, double seconds, const bc_model *model, rh_af_segments *out,
                         char *err, size_t errlen)
{
    char atr[4096];
    fmt_record *rec = NULL;
    fmt_annot_list ann = {0};
    rh_episode *ref = NULL;
    size_t nref = 0;
    int32_t *frames = NULL;
    pipeline *p = NULL;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (fmt_record_open(path, &rec, err, errlen)) goto fail;
    snprintf(atr, sizeof atr, "%s.atr", path);
    if (fmt_annot_read_wfdb(atr, &ann, err, errlen)) goto fail;
    int nl = fmt_record_nleads(rec);
    double fs = fmt_record_fs(rec);
    int64_t seg = (int64_t)(seconds * fs + 0.5), got;
    if (seg < 1) {
        snprintf(err, errlen, "%s: segments of %g s", path, seconds);
        goto fail;
    }
    fmt_lead leads[FMT_MAX_LEADS];
    for (int l = 0; l < nl; l++) leads[l] = *fmt_record_lead(rec, l);
    if (fmt_record_read_all(rec, &frames, &got, err, errlen)) goto fail;
    if (rh_reference_episodes(&ann, got, atr, &ref, &nref, err, errlen)) goto fail;
    pipeline_opts o;
    pipeline_opts_default(&o);
    o.beat_model = model;
    for (int64_t at = 0; at + seg <= got; at += seg) {
        const pipeline_result *r;
        if (!(p = pipeline_create(&o, fs, nl, leads, err, errlen)) ||
            pipeline_push(p, frames + (size_t)at * (size_t)nl, (size_t)seg, err, errlen) ||
            pipeline_finish(p, &r, err, errlen))
            goto fail;
        int want = 2 * af_inside(ref, nref, 0, at, at + seg) >= seg;
        int found = 2 * af_inside(r->rhythms, r->nrhythms, at, at, at + seg) >= seg;
        out->segments++;
        out->tp += want && found;
        out->fn += want && !found;
        out->fp += !want && found;
        pipeline_free(p);
        p = NULL;
    }
    rc = 0;
fail:
    pipeline_free(p);
    free(frames);
    free(ref);
    fmt_annot_list_free(&ann);
    fmt_record_free(rec);
    return rc;
}
