/* cmd.h — the `ecgnet` subcommands and the exit codes they share. */
#ifndef ECGNET_CMD_H
#define ECGNET_CMD_H

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

/* The reference-data directory for defaults: $ECGNET_DATA, else "../shared/ecgdata". */
const char *cmd_data_dir(void);

#endif
