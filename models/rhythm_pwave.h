/* rhythm_pwave.h — atrial activity before each beat: does a repeatable P wave precede the QRS? */
#ifndef ECGNET_MODELS_RHYTHM_PWAVE_H
#define ECGNET_MODELS_RHYTHM_PWAVE_H

#include <stddef.h>
#include <stdint.h>

/* The P-wave segment: from 300 ms to 60 ms before the fiducial point (the P wave ends 120-200 ms
 * before the QRS onset, itself 20-50 ms before the R peak). */
#define RH_PWAVE_FROM_S 0.300
#define RH_PWAVE_TO_S 0.060

typedef struct rh_pwave rh_pwave;

/* A P-wave tracker for nleads leads at fs Hz. Returns NULL with a message in err. */
rh_pwave *rh_pwave_create(double fs, int nleads, char *err, size_t errlen);
void rh_pwave_free(rh_pwave *p);

/* For the beat at sample r, with the filtered signal uv[l * stride + (i - start)] of lead l at
 * sample i known for start <= i < end (microvolts, baseline removed): the Pearson correlation of
 * the beat's P-wave segment (all leads together) with the running average of the previous beats'
 * segments, in -1..1. A sinus P wave repeats (near 1); AF's fibrillatory waves do not (near 0).
 * Only the part of the segment after the previous beat's T wave counts (the previous beat is the
 * one of the previous call; its T wave ends a Bazett QT of QTc 0.45 s after it: at fast rates the
 * T wave repeats in AF too), each lead's least-squares line removed (a slope is a T wave's tail or
 * baseline wander, not atrial activity). Returns NaN when the segment is not inside [start, end),
 * when less than 80 ms of it is left after the T wave, or for the first beat (no template yet).
 * The beat's whole segment then joins the running average (1/16 weight). */
double rh_pwave_beat(rh_pwave *p, const float *uv, size_t stride, int64_t start, int64_t end, int64_t r);

#endif
