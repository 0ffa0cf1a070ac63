/* qrs.h — streaming multi-lead QRS detector for any sample rate from 125 to 2000 Hz.
 *
 * It works on the raw samples (microvolts) with its own short linear-phase band-pass (a derivative
 * of a Gaussian, centred on the QRS band, deaf to mains and baseline wander), so it does not wait
 * behind the diagnostic filter chain. Every lead contributes, each normalised by its own running
 * QRS level and trusted as far as it has been clean between recent beats. Peaks of the
 * moving-window-integrated feature are beats when they clear an adaptive threshold between the
 * running QRS and noise levels and the other leads see them too (an artefact confined to one
 * lead is no beat, unless shaped like the recent beats); a refractory period, T- and P-wave
 * discrimination by sharpness, and a search-back for beats missed after 1.5 median RR (up to 1.7
 * in irregular rhythms) complete it. After a silence of 3 s the levels fall, but only a beat shaped like the earlier
 * ones may end the silence, so that an asystole stays silent. There is no learning period: the
 * thresholds start from the first peaks.
 *
 * Causality, which a live stream needs: a beat found directly is decided about 0.3 s after its R
 * peak (always under 0.5 s); one found by search-back at most 1.7 median RR + 0.2 s after the
 * previous beat. Results do not depend on how the samples are split into pushes.
 */
#ifndef ECGNET_DSP_QRS_H
#define ECGNET_DSP_QRS_H

#include <stddef.h>
#include <stdint.h>

#include "simd.h"

typedef struct {
    int64_t sample;     /* fiducial point: the R peak (the most prominent positive deflection of
                           the smoothed QRS on any lead, or the nadir of a QS complex), as a
                           sample index of the input record */
    int64_t decided_at; /* index of the input sample whose push decided the beat */
    float strength;     /* feature height relative to the running QRS level (about 1 typically) */
    float match;        /* best correlation (-1..1) of its band-passed QRS, all leads, with the
                           recent beats' (0 for the first beat) */
    uint8_t lead;       /* dominant lead */
    uint8_t searchback; /* 1 when found by search-back with the lowered threshold */
} dsp_beat;

typedef struct dsp_qrs dsp_qrs;

/* A detector for nleads (1..64) leads at fs Hz (125..2000), running the kernels k (NULL = the
 * best the CPU has). Returns NULL with a message in err on bad arguments or out of memory. */
dsp_qrs *dsp_qrs_create(double fs, int nleads, const dsp_kernels *k, char *err, size_t errlen);
void dsp_qrs_free(dsp_qrs *q);

/* Pushes n frames; lead l's samples (microvolts) are in[l * stride + i] for i < n. Beats that
 * become decided are queued for dsp_qrs_next. */
void dsp_qrs_push(dsp_qrs *q, const float *in, size_t stride, size_t n);

/* Ends the stream: decides the peaks still pending (as if the signal stayed flat). */
void dsp_qrs_flush(dsp_qrs *q);

/* Pops the next decided beat, in order of sample. Returns 1 and fills *b, or 0 if none. */
int dsp_qrs_next(dsp_qrs *q, dsp_beat *b);

/* Bytes of state (all leads), for `ecgnet bench`. */
size_t dsp_qrs_state_bytes(const dsp_qrs *q);

#endif
