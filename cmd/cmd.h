/* cmd.h — the `ecgnet` subcommands and the exit codes they share. */
#ifndef ECGNET_CMD_H
#define ECGNET_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Exit codes, documented in `ecgnet --help` and docs/cli.md. */
enum {
    CMD_OK = 0,       /* success */
    CMD_EINPUT = 1,   /* a record or file could not be read or written (the message says which) */
    CMD_EUSAGE = 2,   /* bad command line */
    CMD_ETARGET = 3   /* eval: the results fell below a --min-se/--min-ppv floor that was asked for */
};

int cmd_analyze(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_device(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_retention(int argc, char **argv);

/* ecgnetd's data directory when no --data is given (the daemon's default too). */
#define CMD_DEFAULT_DATA_DIR "./ecgnet-data"

/* Opens ecgnetd's store: URL when given, else DATA/ecgnet.db (DATA defaults to
 * CMD_DEFAULT_DATA_DIR), creating DATA with mode 0700 when CREATE (a missing DATA is an error
 * otherwise). Returns the store (store_close it), or NULL after printing why, prefixed by NAME
 * ("ecgnet device"). */
store *cmd_store_open(const char *name, const char *data, const char *url, int create);

/* MS (Unix ms) as local "YYYY-MM-DD HH:MM:SS" in BUF, or NONE for 0; returns the text. */
const char *cmd_format_ms(int64_t ms, const char *none, char *buf, size_t len);

/* Prints "NAME: MSG 'ARG'" (ARG may be NULL) and the command's HELP to stderr; returns
 * CMD_EUSAGE, for `return cmd_usage_error(...)`. */
int cmd_usage_error(const char *name, const char *help, const char *msg, const char *arg);

/* The reference-data directory for defaults: $ECGNET_DATA, else "../shared/ecgdata". */
const char *cmd_data_dir(void);

#endif
