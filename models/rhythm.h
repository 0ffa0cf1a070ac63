/* rhythm.h — rhythm episodes and rhythm events from labelled beats, streaming.
 *
 * Input: labelled beats in order (sample, AAMI class), and stretches the signal-quality check
 * calls unreadable, merged in time order. Output:
 *   - episodes: sorted, contiguous, non-overlapping, end exclusive, covering [0, nsamples) (the
 *     time before the first beat takes the first rhythm, the time after the last the last one),
 *     each with a label in WFDB rhythm notation;
 *   - events: pauses, asystole, ventricular couplets/triplets/runs, each with its beats.
 * Labels, in priority order where rules overlap:
 *   U     unreadable stretch, exactly as reported;
 *   VFL   ventricular flutter/fibrillation, from the signal (rhythm_vf.h window verdicts, given
 *         with rh_stream_vfl): two consecutive VF windows (>= 1.5 s of verdicts) make an
 *         episode, a single non-VF window inside one does not end it; MIT-BIH writes flutter and
 *         fibrillation alike as "VFL";
 *   VT    >= 3 consecutive V at >= 100 bpm lasting >= 30 s (first to last V), until the next beat;
 *   AFIB  atrial fibrillation: RR irregularity over a 64-interval window centred on each interval
 *         (rhythm_af.h: Dash et al. 2009 plus ectopy editing and a bigeminy/trigeminy check; beat
 *         labels are not used), vetoed interval by interval where the P-wave correlations of
 *         the 9 beats around it say the atria are organised (rh_stream_beat_atrial; premature
 *         and ventricular beats left out); episodes >= 30 s, gaps < 10 s merged. A recording
 *         shorter than 30 s (a resting ECG) is AFIB throughout when all its intervals (>= 8)
 *         pass the same RR test and the median P-wave correlation of its on-time, non-V beats
 *         does not say the atria are organised;
 *   AFL   the part of an AF episode where the atrial activity is flutter (rhythm_afl.h window
 *         verdicts, given with rh_stream_afl): >= 15 s of flutter verdicts, lapses < 3 s bridged.
 *         Only AF the RR intervals found is told apart this way: flutter with a regular (fixed
 *         block) ventricular response is not AF here and is not found;
 *   B, T  ventricular bigeminy (N V) / trigeminy (N N V) for >= 3 cycles, from the first sinus
 *         beat of the first cycle to the beat after the last V;
 *   SVTA  rate > 100 bpm (median of 9 RR intervals) for >= 10 s, intervals ending in a V beat
 *         excluded: MIT-BIH has no sinus-tachycardia code, so every narrow-complex tachycardia
 *         that is not AF is SVTA here, sinus tachycardia included;
 *   SBR   rate < 60 bpm (median of 9 RR intervals) for >= 10 s;
 *   N     everything else (sinus rhythm, or a rhythm the rules do not name).
 * Decision delay: episodes are final at most 32 beats + 30 s after the time they describe (the AF
 * window's half and the AF minimum), and VT/B/T within 30 s / 3 cycles; an episode is output when
 * the next one begins. Memory is bounded by that delay (plus output not yet popped).
 * Knows nothing of files or the network.
 */
#ifndef ECGNET_MODELS_RHYTHM_H
#define ECGNET_MODELS_RHYTHM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char label[8];        /* WFDB rhythm notation, e.g. "AFIB" */
    int64_t start, end;   /* samples, end exclusive */
    double rate_bpm;      /* mean ventricular rate over the episode */
} rh_episode;

typedef enum {
    RH_PAUSE,             /* an RR interval >= 2.0 s (and < 4 s): the two beats around it */
    RH_COUPLET,           /* two consecutive V beats */
    RH_TRIPLET,           /* three consecutive V beats at < 100 bpm, or a salvo */
    RH_VT_RUN,            /* >= 3 consecutive V beats at >= 100 bpm (sustained when >= 30 s) */
    RH_ASYSTOLE           /* no beat for >= 4 s in a readable signal (instead of a pause) */
} rh_event_type;

typedef struct {
    rh_event_type type;
    int64_t start, end;   /* samples, end exclusive */
    int nbeats;
    double rate_bpm;      /* for runs: rate over the run; for pauses: 60 / RR */
    double longest_rr_s;  /* for pauses: the RR; for runs: their longest RR */
    double polymorphism;  /* VT runs: the fraction of successive V beats whose QRS shapes differ
                             (correlation < RH_POLY_CORR), over runs of >= RH_POLY_MIN_PAIRS
                             such pairs with known shapes; 0 otherwise (monomorphic, too short
                             to judge, or no shapes given) */
} rh_event;

/* A QRS is another shape than the one before it below this correlation (both leads, aligned):
 * beats of one focus correlate above 0.9 even through noise; the twisting axis of torsades
 * and the shifting foci of polymorphic VT take successive beats well under it. */
#define RH_POLY_CORR 0.7
/* Shape pairs a run needs before its polymorphism is judged (a run of 5 V beats). */
#define RH_POLY_MIN_PAIRS 4

typedef struct rh_stream rh_stream;

/* A rhythm analyser at fs Hz. Returns NULL with a message in err. */
rh_stream *rh_stream_create(double fs, char *err, size_t errlen);
void rh_stream_free(rh_stream *s);

/* A labelled beat ('N','S','V','F','Q'), in order of sample. A beat inside an unreadable stretch
 * already reported is ignored. Returns 0, or -1 with err (out of order, unknown label, after
 * rh_stream_finish, out of memory). */
int rh_stream_beat(rh_stream *s, int64_t sample, char label, char *err, size_t errlen);

/* As rh_stream_beat, with the beat's atrial activity: pwave is the correlation of the P-wave
 * segment before it with the recent beats' (rhythm_pwave.h), NaN when unknown. Where at least 3
 * of the 9 beats around an RR interval have one (beats more than 20 % premature and beats
 * labelled 'V' do not count: no sinus P wave precedes them) and their median is >= 0.5
 * (repeatable P waves), the interval is not AF whatever the RR intervals around it. */
int rh_stream_beat_atrial(rh_stream *s, int64_t sample, char label, double pwave, char *err, size_t errlen);

/* As rh_stream_beat_atrial, with the beat's QRS shape against the beat before it: shape is their
 * correlation (beatclass.h, bc_beat.prev_corr), NaN when unknown. Within a run of V beats the
 * successive correlations give the run's polymorphism (rh_event.polymorphism). */
int rh_stream_beat_shape(rh_stream *s, int64_t sample, char label, double pwave, double shape,
                         char *err, size_t errlen);

/* [start, end) is unreadable (no beats can be trusted there). Stretches arrive in order, before
 * any beat after their start (a stretch reaching back before the last beat is cut after it). The
 * RR interval across a stretch counts for nothing (no pause, runs end). Returns 0, or -1 with err. */
int rh_stream_unreadable(rh_stream *s, int64_t start, int64_t end, char *err, size_t errlen);

/* The caller will give ventricular flutter verdicts (rh_stream_vfl): episodes then wait for them
 * too. Call right after rh_stream_create; without it no VFL is ever output. */
void rh_stream_expect_vfl(rh_stream *s);

/* [start, end) is (on = 1) or is not (on = 0) ventricular flutter/fibrillation, as a VF detector's
 * window verdict says (rhythm_vf.h). Verdicts come in time order and may leave gaps (not VF).
 * The VFL track is final up to the last verdict's end, minus the persistence rule's 1.5 s.
 * Returns 0, or -1 with err (without rh_stream_expect_vfl, out of order, after finish, out of
 * memory). */
int rh_stream_vfl(rh_stream *s, int64_t start, int64_t end, int on, char *err, size_t errlen);

/* The caller will give atrial flutter verdicts (rh_stream_afl): episodes then wait for them
 * too. Call right after rh_stream_create; without it AF is always "AFIB". */
void rh_stream_expect_afl(rh_stream *s);

/* [start, end) shows (on = 1) or does not show (on = 0) flutter waves, as a flutter detector's
 * window verdict says (rhythm_afl.h). Verdicts come in time order and may leave gaps (not
 * flutter). AF time inside >= 15 s of flutter verdicts (lapses < 3 s bridged) is labelled "AFL".
 * Returns 0, or -1 with err (without rh_stream_expect_afl, out of order, after finish, out of
 * memory). */
int rh_stream_afl(rh_stream *s, int64_t start, int64_t end, int on, char *err, size_t errlen);

/* The episodes not output yet, as they stand: the episode in progress up to where its label is
 * final, then up to sample now each stretch labelled by the highest-priority rhythm already
 * confirmed there ("N" where none is). Writes at most cap of them to out and returns how many
 * there are (call again with more room when that is more than cap). Their starts are where the
 * rhythm was confirmed, so they do not move while it lasts; a later higher-priority rhythm, or
 * one of the slower rules (AF) deciding, may still relabel the time. Nothing is consumed: this
 * is a look, for live alarms while the record streams. Work is bounded by the decision delay. */
size_t rh_stream_open_episodes(const rh_stream *s, int64_t now, rh_episode *out, size_t cap);

/* The record ended at nsamples: episodes and events still open are closed. */
void rh_stream_finish(rh_stream *s, int64_t nsamples);

/* Pop closed episodes (in order of time) / events (in the order they end). Return 1 and fill
 * *out, or 0 if none is ready. */
int rh_stream_next_episode(rh_stream *s, rh_episode *out);
int rh_stream_next_event(rh_stream *s, rh_event *out);

/* Duration-weighted comparison of AF episodes (AFIB or AFL) with a reference: over [from, to),
 * the samples that both call AF (tp), only the reference (fn), only the test (fp). Episodes are
 * sorted and non-overlapping. Adds to the counts. */
void rh_compare_af(const rh_episode *ref, size_t nref, const rh_episode *test, size_t ntest,
                   int64_t from, int64_t to, int64_t *tp, int64_t *fn, int64_t *fp);

/* As rh_compare_af, for ventricular flutter/fibrillation episodes ("VFL"). */
void rh_compare_vfl(const rh_episode *ref, size_t nref, const rh_episode *test, size_t ntest,
                    int64_t from, int64_t to, int64_t *tp, int64_t *fn, int64_t *fp);

#endif
