/* nst.h — Noise Stress Test mixer: a clean record plus a noise record scaled to a chosen SNR.
 *
 * The method of the MIT-BIH Noise Stress Test Database (Moody, Muldrow, Mark, Computers in
 * Cardiology 11:381, 1984) and of WFDB's `nst` program, read as an fmt_record:
 *
 * - Protocol: the first 5 minutes are clean; from 5:00 noise is on for 2 minutes, off for 2,
 *   on for 2, ... (on 5:00-7:00, off 7:00-9:00, on 9:00-11:00, ...) to the end of the record.
 *   Outside the noisy segments the mixed record equals the clean one sample for sample.
 * - Noise channel i % nnoise is added to signal channel i. The noise record is read in step
 *   with the clean one (noise frame t for output frame t) and starts again from its beginning
 *   when it is shorter. Both records must have the same sample rate.
 * - Signal amplitude S_i (as nst takes it from `sigamp -a atr`): the peak-to-peak amplitude of
 *   lead i in a window of +-0.05 s (rounded to samples) around each of the first 300 "normal"
 *   reference beats of the clean record's .atr file, averaged as a trimmed mean that drops the
 *   n/20 smallest and n/20 largest values. "Normal" is WFDB map1()'s NORMAL class: beats that are
 *   not ventricular, fusion, paced or unclassifiable (N L R a J A S j e n B).
 * - Noise amplitude N_j (as nst takes it from `sigamp`): the RMS of noise channel j, after
 *   removing each window's mean, over consecutive 1-second windows, averaged with the same
 *   trimmed mean. Unlike nst, which measures the first 300 s of the noise record, the windows
 *   are those of the noise actually added (every whole second of every noisy segment), so that
 *   the stated SNR holds for what a detector sees.
 * - SNR = 10 log10(S^2 / (8 N^2)) dB, i.e. the peak-to-peak amplitude is taken as 2*sqrt(2)
 *   times the RMS of a sinusoid. The gain of noise channel j on lead i is therefore
 *   g_i = 10^(-SNR/20) * (sqrt(2)/4) * S_i / N_(i % nnoise), exactly nst's formula.
 * - Output samples are the clean record's ADC units: clean + round(g * (noise - m)), where m is
 *   the noise channel's mean over the noisy segments (nst instead shifts offsets at each switch
 *   to keep the output continuous; removing the mean keeps both the clean segments exact and
 *   the steps at the switches small). No clipping: samples may leave the clean leads' adc range.
 */
#ifndef ECGNET_FORMATS_NST_H
#define ECGNET_FORMATS_NST_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

#define FMT_NST_CLEAN_S 300.0   /* noise starts at 5:00 */
#define FMT_NST_SEGMENT_S 120.0 /* then 2 minutes on, 2 minutes off */
#define FMT_NST_MAX_BEATS 300   /* normal beats measured for S, as sigamp */

/* Opens the mixed record. clean_path is a WFDB record (path without extension, or its .hea);
 * its reference annotations are read from "<clean record>.atr". noise_path is any record
 * fmt_record_open accepts. snr_db is the SNR in dB (finite; e.g. 24, 12, 6, 0, -6).
 * The record is named "<clean>_<noise>_<snr>dB" (e.g. "118_em_6dB", "118_em_-6dB").
 * Returns 0 and sets *out (free with fmt_record_free), or -1 with a message naming the file and
 * the problem: a missing or unreadable record or annotation file, different sample rates, a
 * clean record no longer than 5 minutes (nothing would be noisy), no normal beats to measure,
 * or a lead or noise channel of zero amplitude (no gain can reach the SNR). */
int fmt_nst_open(const char *clean_path, const char *noise_path, double snr_db, fmt_record **out,
                 char *err, size_t errlen);

/* 1 when frame `frame` of a record sampled at fs Hz lies in a noisy segment, else 0. The
 * segment edges are at round(300 fs) + k round(120 fs) frames, as nst's strtim("5:0"). */
int fmt_nst_is_noisy(int64_t frame, double fs);

typedef struct {
    double snr_db;
    int nbeats;                     /* normal beats that entered S */
    int nnoise;                     /* channels of the noise record */
    double qrs_pp[FMT_MAX_LEADS];   /* S_i, clean ADC units, per lead */
    double noise_rms[FMT_MAX_LEADS];/* N_j, noise ADC units, per noise channel */
    double noise_mean[FMT_MAX_LEADS];/* m_j, noise ADC units, per noise channel */
    double gain[FMT_MAX_LEADS];     /* g_i, per lead */
} fmt_nst_info;

/* Copies the measurements behind a record fmt_nst_open made. Returns 0, or -1 when r is not
 * such a record. */
int fmt_nst_info_get(const fmt_record *r, fmt_nst_info *out);

#endif
