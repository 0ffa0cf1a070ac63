/* rhythm_score.h — AF found on one annotated WFDB record, scored against its rhythm annotations
 * (the work behind `ecgnet eval --rhythm` and the accuracy tests). */
#ifndef ECGNET_MODELS_RHYTHM_SCORE_H
#define ECGNET_MODELS_RHYTHM_SCORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double fs;
    int64_t tp, fn, fp; /* samples of AF: both, reference only, detection only */
} rh_af_score;

/* Runs the pipeline (monitoring filter and beat detection) over the record PATH (WFDB, without
 * extension), feeds its beats to rh_stream with each beat's P-wave correlation (rhythm_pwave.h)
 * when use_atrial is 1 (RR intervals alone when 0), builds the reference episodes from PATH.atr
 * and compares AF (AFIB or AFL) over the whole record. Returns 0 and fills *out, or -1 with a
 * message naming the file in err. Keeps the filtered record in memory (4 bytes a sample a lead). */
int rh_score_af_record(const char *path, int use_atrial, rh_af_score *out, char *err, size_t errlen);

#endif
