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

#define RESULT_JSON_MAX_RHYTHMS 16     /* distinct rhythm labels read back */
#define RESULT_JSON_RHYTHM_LABEL_MAX 31 /* bytes of one label; longer ones are skipped */

/* What the exports of a signed report (PDF, HL7, FHIR) say about the analysis. */
typedef struct {
    int has_hr;                 /* a mean heart rate, finite and > 0 */
    double hr_mean, hr_min, hr_max; /* min and max 0 unless both make sense (0 < min <= max) */
    int has_beats;
    double beats;               /* beat_count */
    size_t nrhythms;            /* the distinct rhythm labels, in order of first appearance */
    char rhythms[RESULT_JSON_MAX_RHYTHMS][RESULT_JSON_RHYTHM_LABEL_MAX + 1];
} result_json_facts;

/* Reads those facts back from an analysis JSON as result_json wrote it (JSON NULL: none, *OUT
 * zeroed); members missing or out of range are left out. Returns 0, or -1 when JSON does not
 * parse as an object. */
int result_json_read_facts(const char *json, result_json_facts *out);

#endif
