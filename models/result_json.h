/* result_json.h — a pipeline result as the JSON report that `ecgnet analyze --json` prints and
 * ecgnetd stores, so the CLI and the daemon describe a recording identically.
 */
#ifndef ECGNET_MODELS_RESULT_JSON_H
#define ECGNET_MODELS_RESULT_JSON_H

#include "pipeline.h"
#include "record.h"

typedef struct {
    const char *record;      /* record name or recording id */
    const char *format;      /* "WFDB", "EDF+", …, or "ecgnet.v1" for a live recording */
    const fmt_lead *leads;   /* r->nleads leads: names and scaling */
    const fmt_patient *patient;
    int with_beats;          /* 1: add "beats": [[sample, "label"], …] (the reviewer page's) */
} result_json_info;

/* Renders R as JSON text (pretty when PRETTY), malloc'd (caller frees); NULL when out of
 * memory. */
char *result_json(const pipeline_result *r, const result_json_info *info, int pretty);

#endif
