/* cmd_rhythm_eval.h — the scoring of `ecgnet eval --rhythm`: AF episodes against the reference. */
#ifndef ECGNET_CMD_RHYTHM_EVAL_H
#define ECGNET_CMD_RHYTHM_EVAL_H

/* For each record names[0..n) in the WFDB database directory dir: detects beats
 * (pipeline_run_record) and labels them with the default beat model (bc_model_load(NULL), as
 * `ecgnet analyze` does), analyses their rhythm (rh_stream), builds the reference AF episodes from
 * the '+' rhythm annotations of NAME.atr ("(AFIB" and "(AFL" count as AF) and prints, per record
 * and pooled, the duration-weighted AF sensitivity and positive predictivity over the whole
 * record (with the AF seconds behind them); json: one JSON object on stdout instead of the table.
 * Returns CMD_OK (0), or CMD_EINPUT (1) after printing to stderr which record (or the model)
 * failed and why. */
int cmd_eval_rhythm(const char *dir, char **names, int n, int json);

#endif
