/* cmd_rhythm_eval.h — the scoring of `ecgnet eval --rhythm`: AF episodes against the reference. */
#ifndef ECGNET_CMD_RHYTHM_EVAL_H
#define ECGNET_CMD_RHYTHM_EVAL_H

/* For each record names[0..n) in the WFDB database directory dir: detects beats
 * (pipeline_run_record) and labels them with the default beat model (bc_model_load(NULL), as
 * `ecgnet analyze` does), analyses their rhythm (rh_stream), builds the reference AF episodes from
 * the '+' rhythm annotations of NAME.atr ("(AFIB" and "(AFL" count as AF) and prints, per record
 * and pooled, the duration-weighted AF sensitivity and positive predictivity over the whole
 * record (with the AF seconds behind them); json: one JSON object on stdout instead of the table.
 * MIN_SE and MIN_PPV (< 0: none) are floors on the pooled AF Se and +P, in percent. Returns
 * CMD_OK (0), CMD_ETARGET (3) when a floor is not met (said on stderr), or CMD_EINPUT (1) after
 * printing to stderr which record (or the model) failed and why. */
int cmd_eval_rhythm(const char *dir, char **names, int n, int json, double min_se, double min_ppv);

/* As cmd_eval_rhythm, for resting ECGs: each record cut into segments of `seconds`, each
 * analysed on its own (rh_score_af_segments); prints per record and pooled the AF segments of the
 * reference and the analysis, Se and +P over segments. The floors apply to the pooled segment Se
 * and +P. Returns as cmd_eval_rhythm. */
int cmd_eval_rhythm_segments(const char *dir, char **names, int n, int json, double seconds, double min_se,
                             double min_ppv);

#endif
