/* cmd_backup.c — `ecgnet backup`: a consistent copy of ecgnetd's data directory, also while it runs. */
#include "backup.h"
#include "cmd.h"

#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: ecgnet backup DEST [--data DIR]\n"
    "\n"
    "Copies ecgnetd's data directory into DEST, which must be new or empty: the database\n"
    "(ecgnet.db, by SQLite's online backup: a consistent snapshot), every recording's journal\n"
    "(journal/DEVICE/RECORDING.ej, as far as written when its copy starts) and every finished EDF+\n"
    "archive (archive/DEVICE/RECORDING.edf). Safe while ecgnetd runs and devices stream: the data\n"
    "directory is only read. Every copy is synced to disk, then verified (the database's integrity\n"
    "check, every journal read back). After a failure DEST holds a partial copy: remove it before\n"
    "trying again.\n"
    "A PostgreSQL store (ecgnetd --store postgresql://...) is not in the data directory: back it up\n"
    "with PostgreSQL's own tools (pg_dump, or continuous archiving); this command copies a data\n"
    "directory with its SQLite store.\n"
    "\n"
    "  DEST        the backup directory (created with mode 0700; it holds patient data)\n"
    "  --data DIR  the data directory (default ./ecgnet-data)\n"
    "\n"
    "Restore:\n"
    "  1. stop ecgnetd;\n"
    "  2. replace the data directory by the copy (move the old one aside, then move or copy DEST\n"
    "     to the data directory's path: the database names its files by that path);\n"
    "  3. start ecgnetd. Journals resume where the copy ends: devices that reconnect send the\n"
    "     samples after it, and recovery drops a torn tail a journal copy may end with.\n"
    "\n"
    "exit codes: 0 copied and verified; 1 a file could not be read, written or verified (the\n"
    "message names it: e.g. no data directory, DEST not empty, the destination disk is full);\n"
    "2 bad command line.\n";

static int usage_error(const char *msg, const char *arg)
{
    return cmd_usage_error("ecgnet backup", help, msg, arg);
}

int cmd_backup(int argc, char **argv)
{
    const char *dest = NULL, *data = CMD_DEFAULT_DATA_DIR;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(help, stdout);
            return CMD_OK;
        } else if (!strcmp(argv[i], "--data") && i + 1 < argc) {
            data = argv[++i];
        } else if (argv[i][0] == '-' || dest) {
            return usage_error("unexpected argument", argv[i]);
        } else {
            dest = argv[i];
        }
    }
    if (!dest) return usage_error("no destination directory given", NULL);
    store_backup_stats st;
    char err[2048];
    if (store_backup(data, dest, &st, err, sizeof err)) {
        fprintf(stderr, "ecgnet backup: %s\n", err);
        return CMD_EINPUT;
    }
    printf("backed up %s to %s: the database (%lld recordings), %lld journals, %lld archives; "
           "%lld files, %lld bytes, verified\n",
           data, dest, (long long)st.recordings, (long long)st.journals, (long long)st.archives, (long long)st.files,
           (long long)st.bytes);
    return CMD_OK;
}
