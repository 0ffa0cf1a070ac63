/* result_json.c — a pipeline result as the JSON report shared by `ecgnet analyze` and ecgnetd. */
#include "result_json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "flags.h"

char *result_json(const pipeline_result *r, const result_json_info *info, int pretty)
{
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    cJSON_AddStringToObject(root, "record", info->record);
    cJSON_AddStringToObject(root, "format", info->format);
    cJSON_AddNumberToObject(root, "fs", r->fs);
    cJSON_AddNumberToObject(root, "n_samples", (double)r->nsamples);
    cJSON_AddNumberToObject(root, "duration_s", (double)r->nsamples / r->fs);
    cJSON *leads = cJSON_AddArrayToObject(root, "leads");
    for (int l = 0; l < r->nleads; l++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", info->leads[l].name);
        cJSON_AddNumberToObject(o, "uv_per_unit", info->leads[l].uv_per_unit);
        cJSON_AddNumberToObject(o, "quality", r->lead_quality[l]);
        cJSON_AddItemToArray(leads, o);
    }
    cJSON *unreadable = cJSON_AddArrayToObject(root, "unreadable");
    for (size_t i = 0; i < r->nunreadable; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "start_sample", (double)r->unreadable[i].start);
        cJSON_AddNumberToObject(o, "end_sample", (double)r->unreadable[i].end);
        cJSON_AddItemToArray(unreadable, o);
    }
    const fmt_patient *pt = info->patient;
    cJSON *patient = cJSON_AddObjectToObject(root, "patient");
    if (pt->sex) {
        char sex[2] = {pt->sex, 0};
        cJSON_AddStringToObject(patient, "sex", sex);
    } else {
        cJSON_AddNullToObject(patient, "sex");
    }
    if (pt->age >= 0) cJSON_AddNumberToObject(patient, "age", pt->age);
    else cJSON_AddNullToObject(patient, "age");
    cJSON_AddNumberToObject(root, "beat_count", (double)r->nbeats);
    cJSON *counts = cJSON_AddObjectToObject(root, "beat_classes");
    for (const char *c = "NSVFQ"; *c; c++) {
        size_t n = 0;
        for (size_t i = 0; i < r->nbeats; i++) n += r->beats[i].label == *c;
        char key[2] = {*c, 0};
        cJSON_AddNumberToObject(counts, key, (double)n);
    }
    cJSON *rhythms = cJSON_AddArrayToObject(root, "rhythms");
    for (size_t i = 0; i < r->nrhythms; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "label", r->rhythms[i].label);
        cJSON_AddNumberToObject(o, "start_sample", (double)r->rhythms[i].start);
        cJSON_AddNumberToObject(o, "end_sample", (double)r->rhythms[i].end);
        cJSON_AddNumberToObject(o, "rate_bpm", r->rhythms[i].rate_bpm);
        cJSON_AddItemToArray(rhythms, o);
    }
    static const char *event_names[] = {"pause", "couplet", "triplet", "vt_run", "asystole"};
    cJSON *events = cJSON_AddArrayToObject(root, "events");
    for (size_t i = 0; i < r->nevents; i++) {
        const rh_event *e = &r->events[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", event_names[e->type]);
        cJSON_AddNumberToObject(o, "start_sample", (double)e->start);
        cJSON_AddNumberToObject(o, "end_sample", (double)e->end);
        cJSON_AddNumberToObject(o, "beats", e->nbeats);
        cJSON_AddNumberToObject(o, "rate_bpm", e->rate_bpm);
        cJSON_AddNumberToObject(o, "longest_rr_s", e->longest_rr_s);
        if (e->type == RH_VT_RUN) cJSON_AddNumberToObject(o, "polymorphism", e->polymorphism);
        cJSON_AddItemToArray(events, o);
    }
    cJSON *flags = cJSON_AddArrayToObject(root, "flags");
    for (size_t i = 0; i < r->nflags; i++) {
        const flag *f = &r->flags[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "code", f->code);
        cJSON_AddStringToObject(o, "priority", flag_priority_name(f->priority));
        cJSON_AddNumberToObject(o, "start_sample", (double)f->start);
        cJSON_AddNumberToObject(o, "end_sample", (double)f->end);
        cJSON *fl = cJSON_AddArrayToObject(o, "leads");
        for (int l = 0; l < r->nleads && l < 64; l++)
            if (f->leads >> l & 1) cJSON_AddItemToArray(fl, cJSON_CreateString(info->leads[l].name));
        if (f->first_beat >= 0) {
            cJSON_AddNumberToObject(o, "first_beat_sample", (double)f->first_beat);
            cJSON_AddNumberToObject(o, "last_beat_sample", (double)f->last_beat);
        }
        cJSON_AddNumberToObject(o, "value", f->value);
        cJSON_AddStringToObject(o, "reason_zh", f->reason_zh);
        cJSON_AddStringToObject(o, "reason_en", f->reason_en);
        cJSON_AddItemToArray(flags, o);
    }
    cJSON *hr = cJSON_AddObjectToObject(root, "heart_rate");
    cJSON_AddNumberToObject(hr, "mean", r->hr_mean);
    cJSON_AddNumberToObject(hr, "min", r->hr_min);
    cJSON_AddNumberToObject(hr, "max", r->hr_max);
    if (info->with_beats) {
        cJSON *beats = cJSON_AddArrayToObject(root, "beats");
        for (size_t i = 0; i < r->nbeats; i++) {
            cJSON *b = cJSON_CreateArray();
            char label[2] = {r->beats[i].label, 0};
            cJSON_AddItemToArray(b, cJSON_CreateNumber((double)r->beats[i].sample));
            cJSON_AddItemToArray(b, cJSON_CreateString(label));
            cJSON_AddItemToArray(beats, b);
        }
    }
    /* cJSON's adders fail quietly when out of memory; the printer then still succeeds on a
       partial tree, so say "out of memory" only when printing fails. */
    char *text = pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

int result_json_read_facts(const char *json, result_json_facts *f)
{
    memset(f, 0, sizeof *f);
    if (!json) return 0;
    cJSON *root = cJSON_Parse(json);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return -1;
    }
    const cJSON *hr = cJSON_GetObjectItemCaseSensitive(root, "heart_rate");
    const cJSON *mean = cJSON_GetObjectItemCaseSensitive(hr, "mean"), *lo = cJSON_GetObjectItemCaseSensitive(hr, "min"),
                *hi = cJSON_GetObjectItemCaseSensitive(hr, "max");
    if (cJSON_IsNumber(mean) && isfinite(mean->valuedouble) && mean->valuedouble > 0) {
        f->has_hr = 1;
        f->hr_mean = mean->valuedouble;
        /* The range only when both ends make sense. */
        if (cJSON_IsNumber(lo) && cJSON_IsNumber(hi) && lo->valuedouble > 0 && hi->valuedouble >= lo->valuedouble &&
            isfinite(hi->valuedouble)) {
            f->hr_min = lo->valuedouble;
            f->hr_max = hi->valuedouble;
        }
    }
    const cJSON *beats = cJSON_GetObjectItemCaseSensitive(root, "beat_count");
    if (cJSON_IsNumber(beats) && beats->valuedouble >= 0 && isfinite(beats->valuedouble)) {
        f->has_beats = 1;
        f->beats = beats->valuedouble;
    }
    const cJSON *rh;
    cJSON_ArrayForEach(rh, cJSON_GetObjectItemCaseSensitive(root, "rhythms"))
    {
        const cJSON *label = cJSON_GetObjectItemCaseSensitive(rh, "label");
        if (!cJSON_IsString(label) || !*label->valuestring || strlen(label->valuestring) > RESULT_JSON_RHYTHM_LABEL_MAX)
            continue;
        int seen = 0;
        for (size_t i = 0; i < f->nrhythms && !seen; i++) seen = !strcmp(f->rhythms[i], label->valuestring);
        if (!seen && f->nrhythms < RESULT_JSON_MAX_RHYTHMS) strcpy(f->rhythms[f->nrhythms++], label->valuestring);
    }
    cJSON_Delete(root);
    return 0;
}
