/* biquad.h — second-order IIR sections for the detectors that band-pass a decimated signal
 * (ventricular flutter, atrial flutter): cheap where linear phase does not matter. */
#ifndef ECGNET_DSP_BIQUAD_H
#define ECGNET_DSP_BIQUAD_H

typedef struct {
    double b0, b1, b2, a1, a2; /* normalised by a0 */
} dsp_biquad;

typedef struct {
    double x1, x2, y1, y2;     /* zero to start from rest */
} dsp_biquad_state;

/* A second-order Butterworth (Q = 1/sqrt(2)) low-pass (highpass 0) or high-pass (1) with its
 * -3 dB corner at fc Hz for sample rate fs (bilinear transform, as in R. Bristow-Johnson's
 * cookbook). The caller keeps 0 < fc < fs / 2. */
dsp_biquad dsp_biquad_butter(double fc, double fs, int highpass);

/* Runs one sample x through section q with state s (direct form I); returns the output. */
static inline double dsp_biquad_run(const dsp_biquad *q, dsp_biquad_state *s, double x)
{
    double y = q->b0 * x + q->b1 * s->x1 + q->b2 * s->x2 - q->a1 * s->y1 - q->a2 * s->y2;
    s->x2 = s->x1;
    s->x1 = x;
    s->y2 = s->y1;
    s->y1 = y;
    return y;
}

#endif
