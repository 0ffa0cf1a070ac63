/* test_biquad.c — specification of the Butterworth biquads (dsp/biquad.h): the gains a
 * second-order Butterworth section has, measured on sinusoids at steady state. */
#include "check.h"

#include "biquad.h"

#include <math.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* The section's gain at f Hz: output RMS over input RMS across the last 10 s of 40 s of a unit
 * sinusoid (whole cycles for the frequencies used), or the output level for DC (f = 0). */
static double gain(const dsp_biquad *q, double f, double fs)
{
    dsp_biquad_state s = {0, 0, 0, 0};
    double sy = 0, sx = 0;
    long n = (long)(40 * fs), from = n - (long)(10 * fs);
    for (long i = 0; i < n; i++) {
        double x = f > 0 ? sin(2 * M_PI * f * (double)i / fs) : 1.0, y = dsp_biquad_run(q, &s, x);
        if (i >= from) {
            sy += y * y;
            sx += x * x;
        }
    }
    return sqrt(sy / sx);
}

static void a_low_pass_passes_dc_is_3_db_down_at_its_corner_and_falls_12_db_an_octave(void)
{
    dsp_biquad lp = dsp_biquad_butter(25.0, 100.0, 0);
    CHECK_NEAR(gain(&lp, 0, 100.0), 1.0, 1e-9, "DC");
    CHECK_NEAR(gain(&lp, 25.0, 100.0), M_SQRT1_2, 0.01, "at the corner");
    CHECK(gain(&lp, 2.0, 100.0) > 0.99, "2 Hz passes: %g", gain(&lp, 2.0, 100.0));
    dsp_biquad lp5 = dsp_biquad_butter(5.0, 100.0, 0);
    CHECK_NEAR(gain(&lp5, 10.0, 100.0), 0.25, 0.05, "an octave above a 5 Hz corner (-12 dB)");
}

static void a_high_pass_blocks_dc_is_3_db_down_at_its_corner_and_passes_above(void)
{
    dsp_biquad hp = dsp_biquad_butter(1.0, 100.0, 1);
    CHECK(gain(&hp, 0, 100.0) < 1e-6, "DC: %g", gain(&hp, 0, 100.0));
    CHECK_NEAR(gain(&hp, 1.0, 100.0), M_SQRT1_2, 0.01, "at the corner");
    CHECK(gain(&hp, 10.0, 100.0) > 0.99, "10 Hz passes: %g", gain(&hp, 10.0, 100.0));
}

int main(void)
{
    RUN(a_low_pass_passes_dc_is_3_db_down_at_its_corner_and_falls_12_db_an_octave);
    RUN(a_high_pass_blocks_dc_is_3_db_down_at_its_corner_and_passes_above);
    return check_report();
}
