/* main.c — `ecgnet`: dispatch to the subcommands. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ecgnet COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  analyze RECORD [--beats FILE] [--json] [--edf-out FILE] [--diagnostic] [--mains 50|60]\n"
    "                 analyse one EDF/BDF file or WFDB record and print its report\n"
    "  eval DB_DIR [--records LIST] [--json]\n"
    "                 score QRS detection against reference annotations (ANSI/AAMI EC57)\n"
    "  bench [RECORD] [--seconds S] [--leads N] [--fs HZ]\n"
    "                 throughput and memory of the filter chain and the detector on one core\n"
    "  train DB_DIR --records LIST --out FILE\n"
    "                 fit the beat classifier (N/S/V/F) to annotated records\n"
    "  synth DIR NAME [--seconds S] [--leads N] [--fs HZ] [--pvc P] ...\n"
    "                 write a synthetic ECG with known beats as a WFDB record\n"
    "  device add ID --site SITE | list | revoke ID [--data DIR] [--store URL]\n"
    "                 register (printing its token once), list or revoke the devices of ecgnetd\n"
    "  user add NAME --role ROLE [--site SITE] | passwd NAME | disable NAME | list [--data DIR]\n"
    "                 manage the review workflow's users (passwords are read from stdin)\n"
    "  replay RECORD --url URL --device ID --token T [--speed X] [--devices N]\n"
    "                 stream a record to ecgnetd as one or many devices would\n"
    "  backup DEST [--data DIR]\n"
    "                 copy the data directory consistently, also while ecgnetd runs\n"
    "  retention [--data DIR] [--outpatient-years N] [--inpatient-years N] [--apply]\n"
    "                 list (and with --apply delete) the samples of recordings past their retention\n"
    "\n"
    "`ecgnet COMMAND --help` describes each command.\n"
    "\n"
    "exit codes: 0 success; 1 a record or file could not be read or written (the message says\n"
    "which and why); 2 bad command line; 3 eval results below a requested floor.\n";

const char *cmd_data_dir(void)
{
    const char *d = getenv("ECGNET_DATA");
    return d && *d ? d : "../shared/ecgdata";
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CMD_EUSAGE : CMD_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        puts("ecgnet 0.1.0");
        return CMD_OK;
    }
    if (!strcmp(argv[1], "analyze")) return cmd_analyze(argc - 1, argv + 1);
    if (!strcmp(argv[1], "eval")) return cmd_eval(argc - 1, argv + 1);
    if (!strcmp(argv[1], "bench")) return cmd_bench(argc - 1, argv + 1);
    if (!strcmp(argv[1], "train")) return cmd_train(argc - 1, argv + 1);
    if (!strcmp(argv[1], "synth")) return cmd_synth(argc - 1, argv + 1);
    if (!strcmp(argv[1], "replay")) return cmd_replay(argc - 1, argv + 1);
    if (!strcmp(argv[1], "device")) return cmd_device(argc - 1, argv + 1);
    if (!strcmp(argv[1], "user")) return cmd_user(argc - 1, argv + 1);
    if (!strcmp(argv[1], "backup")) return cmd_backup(argc - 1, argv + 1);
    if (!strcmp(argv[1], "retention")) return cmd_retention(argc - 1, argv + 1);
    fprintf(stderr, "ecgnet: unknown command '%s'\n\n%s", argv[1], usage);
    return CMD_EUSAGE;
}
