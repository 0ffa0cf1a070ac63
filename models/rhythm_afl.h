/* rhythm_afl.h — is the atrial activity between the beats organised flutter? Window verdicts.
 *
 * Atrial flutter is a macro-reentrant atrial rhythm: flutter waves at a steady cycle, with no
 * isoelectric baseline between them, whatever the ventricles do. The QRS-T complexes hide them,
 * so each beat's QRS-T is removed first: a running average of the beats' signal aligned on the
 * fiducial point (the template, 0.25 s before to 0.6 s after; each part of it learnt only from
 * beats whose next QRS comes later) is subtracted from each beat's stretch (from 0.25 s before
 * it to 0.25 s before the next beat). What is left is the atrial activity not locked to the QRS:
 * flutter waves under a varying block and AV conduction, fibrillatory waves. A sinus P wave is
 * locked to its QRS and leaves with the template, and so do flutter waves under a fixed block
 * with a fixed conduction time: this detector does not see those. QRS complexes (-60..+100 ms)
 * and the whole stretch of ventricular beats (their template is another) are masked. The leads
 * are taken every n-th sample down to about 50 Hz, the residual band-passed to 2.5-10 Hz, and,
 * every 2 s, its last 8 s are measured per lead:
 *   - r1: the normalised autocorrelation at the best lag between 0.17 and 0.36 s (flutter cycles
 *     of 167-350/min, slow treated flutter included), over the sample pairs both unmasked;
 *   - r2: the autocorrelation at twice that lag: flutter repeats cycle after cycle, while
 *     band-passed noise and fibrillatory waves lose their phase within a cycle or two;
 *   - rms: the residual's level (a flat baseline has none to speak of).
 * A lead votes flutter when r1 >= 0.6, r2 >= 0.45, rms >= 35 µV, and at least a quarter of the
 * window is unmasked; the window is flutter when a lead votes so.
 * Only AF is told apart as flutter (rhythm.h), so only stretches where the last 64 RR intervals
 * are AF by the rhythm analysis's own RR test (rhythm_af.h, taken every 16 beats; no P-wave
 * veto) are measured: elsewhere the window is masked, its verdict "not flutter" with valid 0.
 * That keeps the cost to a small share of the analysis (docs/accuracy.md).
 * Each window's verdict labels the 2 s at its centre; verdicts tile time. They need the beats
 * around their window: they come once a beat 0.25 s past the window's end and the signal up to
 * 0.6 s after the beat before it have both arrived.
 */
#ifndef ECGNET_MODELS_RHYTHM_AFL_H
#define ECGNET_MODELS_RHYTHM_AFL_H

#include <stddef.h>
#include <stdint.h>

#define RH_AFL_WINDOW_S 8.0 /* measured window */
#define RH_AFL_HOP_S 2.0    /* a window every 2 s; each labels the 2 s at its centre */
#define RH_AFL_MAX_LEADS 4

/* One lead's measurements over a window. */
typedef struct {
    double r1;      /* autocorrelation at the best flutter lag, -1..1 */
    double r2;      /* at twice that lag */
    double lag_s;   /* the best lag: the flutter cycle, seconds */
    double rms_uv;  /* residual level, µV, over the unmasked samples */
    double valid;   /* unmasked fraction of the window, 0..1 */
    int flutter;    /* this lead votes flutter */
} rh_afl_lead;

/* A window's verdict: [start, end) (samples at the input rate) is flutter (1) or not (0). */
typedef struct {
    int64_t start, end;
    int flutter;
    int nleads;
    rh_afl_lead lead[RH_AFL_MAX_LEADS];
} rh_afl_verdict;

typedef struct rh_afl rh_afl;

/* A detector for nleads (1..RH_AFL_MAX_LEADS) leads at fs Hz (50..100000). Returns NULL with a
 * message in err. */
rh_afl *rh_afl_create(double fs, int nleads, char *err, size_t errlen);
void rh_afl_free(rh_afl *a);

/* Pushes n filtered samples of every lead (µV, baseline removed), lead-major:
 * uv[l * stride + i] is lead l at sample start + i. Blocks come in order; start must be where
 * the previous block ended (the first block may start anywhere). Returns 0, or -1 with err
 * (a gap or overlap, out of memory). */
int rh_afl_push(rh_afl *a, const float *uv, size_t stride, int64_t start, size_t n, char *err, size_t errlen);

/* A beat at sample r with its AAMI label ('V' beats are masked), in order of sample. It may come
 * before or after the signal around it. Returns 0, or -1 with err (out of order, out of memory). */
int rh_afl_beat(rh_afl *a, int64_t r, char label, char *err, size_t errlen);

/* Pops the next verdict, in time order. Returns 1 and fills *out, or 0 when none is ready. */
int rh_afl_next(rh_afl *a, rh_afl_verdict *out);

#endif
