/* rhythm_vf.h — is the signal ventricular flutter/fibrillation? Window verdicts from the raw leads.
 *
 * VF and ventricular flutter are a continuous, near-sinusoidal oscillation at 2.5–9 Hz with no
 * isoelectric baseline and no separable QRS complexes, so beats cannot show them: the detector
 * looks at the signal. Per lead, each raw sample goes through a boxcar decimation to about 100 Hz
 * and a causal band-pass (1–25 Hz, second-order Butterworth sections; group delay under 50 ms).
 * Every second, a window of the last 4 s is measured on every lead by two published time-domain
 * VF detectors, combined:
 *   - the VF-filter leakage (Kuo & Dillman 1978, as defined in Amann, Tratnig, Unterkofler,
 *     BioMed Eng OnLine 4:60, 2005): the mean period from sum|x| / sum|dx|, and how much of the
 *     signal a notch at that period leaves (a sinusoid: none; spiky QRS complexes: most);
 *   - the threshold-crossing sample count, TCSC (Arafat, Chowdhury, Hasan, Signal Image Video
 *     Process 5:1, 2011): the fraction of samples above a fifth of the window's peak, i.e. the
 *     lack of an isoelectric baseline;
 *   and the dominant frequency that the leakage's period implies (2.5–9 Hz).
 * A lead votes VF when all three say so: leakage under 0.5, TCSC of 0.4 or more, 2.5–9 Hz. A
 * lead is readable in a window when its band-passed peak to peak lies within 0.15–8 mV (an
 * electrode off, or motion, is not VF). VF is a rhythm of the whole heart, so the leads must
 * agree: the window is VF when at least one lead votes VF, at least half of the readable leads
 * do, and no readable lead shows an isoelectric baseline (TCSC under 0.25: separate complexes).
 * On MIT-BIH the only windows this calls VF outside the reference flutter are fast VT and SVT
 * (docs/accuracy.md); noise does not pass the leakage and frequency tests.
 * Each window's verdict labels the second at its centre: verdicts tile time without gaps and
 * reach the caller when the window's last sample is pushed, 2.5 s after the end of the second
 * they label (the decision point is the window's end; the spans are not shifted for the
 * band-pass delay, under 20 ms). Persistence (two consecutive VF windows) is the episode rule's
 * business (rhythm.h).
 * Output does not depend on the sizes of the pushed blocks; memory is one window per lead.
 */
#ifndef ECGNET_MODELS_RHYTHM_VF_H
#define ECGNET_MODELS_RHYTHM_VF_H

#include <stddef.h>
#include <stdint.h>

#define RH_VF_WINDOW_S 4.0   /* measured window */
#define RH_VF_HOP_S 1.0      /* a window every second; each labels the second at its centre */

/* One lead's measurements over the last window. */
typedef struct {
    double leakage;     /* VF-filter leakage, 0 (pure sinusoid) .. 1 */
    double freq_hz;     /* dominant frequency the mean period implies */
    double tcsc;        /* fraction of samples above 0.2 of the window's largest |x|, 0..1 */
    double pp_uv;       /* band-passed peak to peak, µV */
    int readable;       /* pp within the readable range */
    int vf;             /* this lead votes VF */
} rh_vf_lead;

/* A window's verdict: [start, end) (samples at the input rate) is VF (1) or not (0). */
typedef struct {
    int64_t start, end;
    int vf;
} rh_vf_verdict;

typedef struct rh_vf rh_vf;

/* A detector for nleads (1..64) leads at fs Hz (125..2000). Returns NULL with a message in err. */
rh_vf *rh_vf_create(double fs, int nleads, char *err, size_t errlen);
void rh_vf_free(rh_vf *v);

/* Pushes n samples of every lead, microvolts, lead-major: uv[l * stride + i]. Returns 0, or -1
 * when out of memory for the verdicts not yet popped (the input is then lost for the verdicts). */
int rh_vf_push(rh_vf *v, const float *uv, size_t stride, size_t n);

/* Pops the next verdict, in time order. Returns 1 and fills *out, or 0 when none is ready. */
int rh_vf_next(rh_vf *v, rh_vf_verdict *out);

/* The last judged window's measurements of lead l (zeros before the first window), and how many
 * windows have been judged: for diagnostics and tests. */
const rh_vf_lead *rh_vf_last(const rh_vf *v, int l);
int64_t rh_vf_windows(const rh_vf *v);

#endif
