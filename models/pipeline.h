/* pipeline.h — the one analysis pipeline shared by the CLI, the daemon and batch reanalysis:
 * raw frames in, filtered leads and detected beats (and, as they land, labels, rhythms, flags) out.
 *
 * Streaming: push interleaved ADC frames in any block sizes; results do not depend on the block
 * sizes. The pipeline knows nothing of files or the network: pipeline_run_record() is the
 * convenience that feeds it from an fmt_record.
 */
#ifndef ECGNET_MODELS_PIPELINE_H
#define ECGNET_MODELS_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "beatclass.h"
#include "filter.h"
#include "flags.h"
#include "qrs.h"
#include "quality.h"
#include "record.h"
#include "simd.h"

typedef struct {
    int diagnostic;        /* 1: diagnostic filter (0.05–150 Hz), 0: monitoring (0.67–40 Hz) */
    double mains_hz;       /* 50 (default) or 60 */
    dsp_simd_level simd;   /* kernels to run; dsp_simd_best() by default */
    int run_filter;        /* 0 skips the filter chain (detection only) */
    int run_detector;      /* 0 skips QRS detection (filtering only: benchmarks, display) */
    /* Called with each block of filtered output, lead-major: uv[l * stride + i] for i < n is the
     * filtered microvolt value of lead l at sample start + i. NULL: the output is discarded. */
    void (*on_filtered)(void *ctx, int64_t start, const float *uv, size_t stride, size_t n);
    void *ctx;
    const bc_model *beat_model; /* labels beats N/S/V/F/Q; NULL: every beat is 'N' */
    int keep_features;     /* 1: the result keeps every beat's classifier features (training) */
    int rhythm;            /* 1 (default): rhythm episodes and events */
    const flag_table *flags; /* rule table for flags (needs rhythm); NULL: no flags */
    flag_mode mode;        /* resting (10-second ECG) or continuous (Holter-style) recording */
} pipeline_opts;

/* Defaults: monitoring filter, 50 Hz mains, best SIMD, filter, detector and rhythm on, no
 * callback, no beat model, no flag table, resting recording. */
void pipeline_opts_default(pipeline_opts *o);

typedef struct {
    int64_t sample;     /* fiducial point, 0-based index at the record's sample rate */
    char label;         /* AAMI class: N, S, V, F or Q ('N' without a beat model). In the
                           finished result (with a beat model), beats inside unreadable
                           stretches are 'Q' and 'S' beats inside AF/AFL episodes 'N' */
    uint8_t lead;       /* dominant lead */
    uint8_t searchback; /* found by search-back */
    float confidence;   /* probability of the label (0 without a beat model) */
} pipeline_beat;

typedef struct {
    double fs;
    int nleads;
    int64_t nsamples;       /* frames pushed */
    pipeline_beat *beats;   /* in order of sample; owned by the result */
    size_t nbeats;
    double hr_mean, hr_min, hr_max; /* bpm; 0 when fewer than 2 beats. min/max over 8-beat
                                       windows, as monitors do, so one early beat is no spike */
    rh_episode *rhythms;    /* rhythm episodes, sorted, non-overlapping; owned */
    size_t nrhythms;
    rh_event *events;       /* pauses, ventricular runs, asystole; owned */
    size_t nevents;
    flag *flags;            /* by priority, then time; owned */
    size_t nflags;
    sq_stretch *unreadable; /* stretches where no lead was readable, in order; owned */
    size_t nunreadable;
    double lead_quality[FMT_MAX_LEADS]; /* fraction of seconds each lead was good */
    float *features;        /* with keep_features: nbeats * nfeatures, beat-major; else NULL */
    int nfeatures;
    int64_t filter_delay;   /* group delay of the filter chain, samples (already removed) */
    size_t state_bytes;     /* streaming state of filter and detector, all leads */
} pipeline_result;

typedef struct pipeline pipeline;

/* A pipeline for nleads leads (with their scaling) at fs Hz. Returns NULL with a message in err
 * (sample rate outside 125..2000 Hz, 0 or more than 64 leads, beat classes asked for without the
 * filter chain, out of memory). */
pipeline *pipeline_create(const pipeline_opts *o, double fs, int nleads, const fmt_lead *leads,
                          char *err, size_t errlen);
void pipeline_free(pipeline *p);

/* Pushes n interleaved frames (frames[f * nleads + l], ADC units). Returns 0, or -1 with a
 * message in err (out of memory). */
int pipeline_push(pipeline *p, const int32_t *frames, size_t n, char *err, size_t errlen);

/* Ends the stream and fills the result (owned by the pipeline, valid until pipeline_free).
 * Returns 0, or -1 with err. */
int pipeline_finish(pipeline *p, const pipeline_result **out, char *err, size_t errlen);

/* Flags known so far while streaming: the rule table evaluated over the episodes and events
 * detected up to now, episodes still open counted up to the current sample (rhythm.h,
 * rh_stream_open_episodes), and the beats, over the last 120 s (the longest rule window and the
 * slowest rhythm decision; a rule counting over the whole recording sees only that much live).
 * Owned by the pipeline, valid until the next push/finish; sorted by priority, then start. Every
 * flag once raised stays in the list with the same (code, start), its end, value and reason
 * brought up to date, so a caller may dedupe on (code, start). pipeline_finish's flags contain
 * every live flag's code (a live flag whose finding the whole record no longer supports is kept
 * as it was raised). After finish, these are the final flags. No flag table: none. Returns 0, or
 * -1 with err (out of memory).
 * Cost: bounded by the lookback's content (a few hundred beats), whatever the recording's length.
 * Latency of ventricular flutter (VF_FLUTTER): a VFL episode needs two consecutive VF windows of
 * 4 s (rhythm_vf.h), so it is raised once the second window's last sample has been pushed: that
 * is the sample that meets the rule, and the flag is there in the same push (the detector's
 * band-pass delays its signal by under 20 ms; it does not wait for the filter chain or the QRS
 * detector). From the onset of flutter that is about 5 s (the windows must fill with it). */
int pipeline_flags_live(pipeline *p, const flag **out, size_t *n, char *err, size_t errlen);

/* Beats labelled so far (a live view while streaming; valid until the next push). With a beat
 * model a beat appears once the filtered signal around it and the next beat have arrived; the
 * rules that need the whole analysis (Q in unreadable stretches, N for S in AF) are applied by
 * pipeline_finish. */
const pipeline_beat *pipeline_beats(const pipeline *p, size_t *count);

/* Runs the whole pipeline over a record from its current position; the result is a new copy
 * (free with pipeline_result_free). Returns 0, or -1 with err (read errors name the file). */
int pipeline_run_record(fmt_record *rec, const pipeline_opts *o, pipeline_result **out, char *err,
                        size_t errlen);
void pipeline_result_free(pipeline_result *r);

#endif
