/* biquad.c — Butterworth biquad design (see biquad.h). */
#include "biquad.h"

#include <math.h>

dsp_biquad dsp_biquad_butter(double fc, double fs, int highpass)
{
    double w0 = 2.0 * M_PI * fc / fs, c = cos(w0), alpha = sin(w0) / (2.0 * M_SQRT1_2);
    double a0 = 1.0 + alpha;
    dsp_biquad q;
    if (highpass) {
        q.b0 = (1.0 + c) / 2.0 / a0;
        q.b1 = -(1.0 + c) / a0;
    } else {
        q.b0 = (1.0 - c) / 2.0 / a0;
        q.b1 = (1.0 - c) / a0;
    }
    q.b2 = q.b0;
    q.a1 = -2.0 * c / a0;
    q.a2 = (1.0 - alpha) / a0;
    return q;
}
