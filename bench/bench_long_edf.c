/* bench_long_edf.c — writes a long 12-lead EDF+ (default 24 h at 500 Hz) from a generated ECG,
 * streaming, so that the memory of `ecgnet analyze` on a Holter-length file can be measured.
 * usage: bench_long_edf OUT.edf [HOURS] */
#include "edf_write.h"
#include "synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define PIECE_S 600.0 /* generate 10 minutes at a time and repeat it */

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_long_edf OUT.edf [HOURS]\n");
        return 2;
    }
    double hours = argc > 2 ? atof(argv[2]) : 24.0;
    synth_opts so;
    synth_defaults(&so);
    so.fs = 500;
    so.nleads = 12;
    so.duration_s = PIECE_S;
    so.pvc_prob = 0.03;
    so.wander_mv = 0.2;
    so.emg_mv = 0.02;
    synth_ecg *e = synth_generate(&so);
    if (!e) return 1;
    fmt_lead leads[12];
    static const char *names[12] = {"I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"};
    for (int l = 0; l < 12; l++) {
        snprintf(leads[l].name, sizeof leads[l].name, "%s", names[l]);
        leads[l].uv_per_unit = 1.0;
        leads[l].baseline = 0.0;
        leads[l].adc_min = leads[l].adc_max = 0;
    }
    fmt_edf_writer_opts o = {0};
    o.nleads = 12;
    o.leads = leads;
    o.fs = so.fs;
    char err[FMT_ERRLEN];
    fmt_edf_writer *w = fmt_edf_writer_create(argv[1], &o, err, sizeof err);
    if (!w) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int32_t *frames = malloc((size_t)e->nsamples * 12 * sizeof *frames);
    for (int64_t i = 0; i < e->nsamples; i++)
        for (int l = 0; l < 12; l++) frames[i * 12 + l] = (int32_t)lrintf(e->uv[(size_t)l * (size_t)e->nsamples + (size_t)i]);
    int pieces = (int)ceil(hours * 3600.0 / PIECE_S);
    for (int p = 0; p < pieces; p++)
        if (fmt_edf_writer_write(w, frames, (long)e->nsamples, err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
    free(frames);
    synth_free(e);
    if (fmt_edf_writer_close(w, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("wrote %s: 12 leads, 500 Hz, %.1f h\n", argv[1], pieces * PIECE_S / 3600.0);
    return 0;
}
