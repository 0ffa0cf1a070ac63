/* cmd_replay.c — `ecgnet replay`: stream a record to ecgnetd as one or many devices would. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "device.h"
#include "journal.h"

static const char help[] =
    "usage: ecgnet replay RECORD --url URL --device ID --token TOKEN [--recording ID]\n"
    "                     [--speed X] [--devices N] [--mode resting|continuous] [--frame-ms MS]\n"
    "                     [--encounter outpatient|inpatient]\n"
    "                     [--insecure] [--timeout S] [--stagger S] [--quiet] [--verify DATA_DIR]\n"
    "\n"
    "Streams a WFDB record or EDF file to ecgnetd over ecgnet.v1, as a bedside device would:\n"
    "paced in real time (or X times faster; --speed 0: as fast as the server acknowledges),\n"
    "keeping every sample until it is acknowledged and, after a dropped connection, resuming\n"
    "where the server's journal ends. Prints one line per device and exits 0 when every device's\n"
    "recording was stored complete.\n"
    "\n"
    "  --url URL         ws://HOST:PORT or wss://HOST:PORT (the server's address)\n"
    "  --device ID       the device's id and the token `ecgnet device add` printed for it\n"
    "  --token TOKEN\n"
    "  --recording ID    recording id (default: the record's name); with N devices, ID-0 … ID-(N-1)\n"
    "  --devices N       simulate N devices streaming the record concurrently (default 1)\n"
    "  --mode M          resting (default for records up to a minute) or continuous\n"
    "  --encounter E     outpatient or inpatient: how long the recording is kept (`ecgnet\n"
    "                    retention`); default: not said, which counts as outpatient\n"
    "  --frame-ms MS     signal per frame (default 200)\n"
    "  --insecure        accept a self-signed TLS certificate (test installations)\n"
    "  --timeout S       give up after S seconds\n"
    "  --stagger S       start the N devices spread over S seconds (default 0: all at once)\n"
    "  --verify DIR      afterwards, compare every recording's journal in the server's data\n"
    "                    directory DIR with the record, sample by sample (load tests on one machine)\n";

/* Compares the journal of each simulated device with the record; returns how many differ. */
static int verify(const char *dir, const device_config *c, const device_source *src)
{
    int bad = 0;
    for (int i = 0; i < c->ndevices; i++) {
        char path[4400], err[1536];
        if (c->ndevices == 1) snprintf(path, sizeof path, "%s/journal/%s/%s.ej", dir, c->device, c->recording);
        else snprintf(path, sizeof path, "%s/journal/%s/%s-%d.ej", dir, c->device, c->recording, i);
        store_journal_diff d;
        if (store_journal_compare(path, src->samples, src->nframes, src->nleads, &d, err, sizeof err)) {
            printf("verify: %s\n", err);
            bad++;
        } else if (d.mismatches || d.frames != src->nframes) {
            printf("verify: %s: %lld samples differ, %lld of %lld stored\n", path, (long long)d.mismatches,
                   (long long)d.frames, (long long)src->nframes);
            bad++;
        }
    }
    printf("verify: %d of %d journals bit-exact\n", c->ndevices - bad, c->ndevices);
    return bad;
}

int cmd_replay(int argc, char **argv)
{
    const char *path = NULL, *mode = NULL, *encounter = NULL, *verify_dir = NULL;
    device_config c = {0};
    c.ndevices = 1;
    c.speed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(help, stdout);
            return CMD_OK;
        } else if (!strcmp(a, "--url") && more) c.url = argv[++i];
        else if (!strcmp(a, "--device") && more) c.device = argv[++i];
        else if (!strcmp(a, "--token") && more) c.token = argv[++i];
        else if (!strcmp(a, "--recording") && more) c.recording = argv[++i];
        else if (!strcmp(a, "--mode") && more) mode = argv[++i];
        else if (!strcmp(a, "--encounter") && more) encounter = argv[++i];
        else if (!strcmp(a, "--verify") && more) verify_dir = argv[++i];
        else if (!strcmp(a, "--insecure")) c.insecure = 1;
        else if (!strcmp(a, "--quiet")) c.quiet = 1;
        else if ((!strcmp(a, "--speed") || !strcmp(a, "--devices") || !strcmp(a, "--frame-ms") ||
                  !strcmp(a, "--timeout") || !strcmp(a, "--stagger")) && more) {
            char *end;
            double v = strtod(argv[++i], &end);
            if (*end || v < 0 || (!strcmp(a, "--devices") && (v < 1 || v > 100000)) ||
                (!strcmp(a, "--frame-ms") && (v < 1 || v > 2000))) {
                fprintf(stderr, "ecgnet replay: %s: '%s' is not a valid number\n", a, argv[i]);
                return CMD_EUSAGE;
            }
            if (!strcmp(a, "--speed")) c.speed = v;
            else if (!strcmp(a, "--devices")) c.ndevices = (int)v;
            else if (!strcmp(a, "--frame-ms")) c.frame_s = v / 1000;
            else if (!strcmp(a, "--stagger")) c.stagger_s = v;
            else c.timeout_s = v;
        } else if (a[0] != '-' && !path) path = a;
        else {
            fprintf(stderr, "ecgnet replay: unknown or incomplete option '%s'\n\n%s", a, help);
            return CMD_EUSAGE;
        }
    }
    if (!path || !c.url || !c.device || !c.token) {
        fprintf(stderr, "ecgnet replay: RECORD, --url, --device and --token are required\n\n%s", help);
        return CMD_EUSAGE;
    }
    if (mode && strcmp(mode, "resting") && strcmp(mode, "continuous")) {
        fprintf(stderr, "ecgnet replay: --mode takes resting or continuous, not '%s'\n", mode);
        return CMD_EUSAGE;
    }
    if (encounter && strcmp(encounter, "outpatient") && strcmp(encounter, "inpatient")) {
        fprintf(stderr, "ecgnet replay: --encounter takes outpatient or inpatient, not '%s'\n", encounter);
        return CMD_EUSAGE;
    }
    if (encounter)
        c.encounter = strcmp(encounter, "inpatient") ? PROTO_ENCOUNTER_OUTPATIENT : PROTO_ENCOUNTER_INPATIENT;
    char err[512];
    device_source src;
    int32_t *samples = NULL;
    if (device_source_load(path, &src, &samples, err, sizeof err)) {
        fprintf(stderr, "ecgnet replay: %s\n", err);
        return CMD_EINPUT;
    }
    /* As `ecgnet analyze` decides: anything over a minute is a continuous recording. */
    c.mode = mode ? (strcmp(mode, "continuous") ? PROTO_MODE_RESTING : PROTO_MODE_CONTINUOUS)
                  : ((double)src.nframes > 60.0 * src.fs ? PROTO_MODE_CONTINUOUS : PROTO_MODE_RESTING);
    char name[129];
    if (!c.recording) {
        const char *base = strrchr(path, '/');
        snprintf(name, sizeof name, "%s", base ? base + 1 : path);
        char *dot = strrchr(name, '.');
        if (dot && dot != name) *dot = 0;
        c.recording = name;
    }
    /* One socket per simulated device. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    device_stats *st = calloc((size_t)c.ndevices, sizeof *st);
    if (!st) {
        free(samples);
        fputs("ecgnet replay: out of memory\n", stderr);
        return CMD_EINPUT;
    }
    int done = device_run(&c, &src, st, err, sizeof err);
    int rc = CMD_OK;
    if (done < 0) {
        fprintf(stderr, "ecgnet replay: %s\n", err);
        rc = CMD_EINPUT;
    } else {
        long long sent = 0;
        int reconnects = 0;
        for (int i = 0; i < c.ndevices; i++) {
            sent += st[i].sent;
            reconnects += st[i].reconnects;
            if (!c.quiet || st[i].error[0])
                printf("device %d: sent %lld acked %lld of %lld samples, %d reconnects, %d gaps, %d flags%s%s%s\n", i,
                       (long long)st[i].sent, (long long)st[i].acked, (long long)src.nframes, st[i].reconnects,
                       st[i].gaps, st[i].flags, st[i].first_flag_code[0] ? ", first critical " : "",
                       st[i].first_flag_code, st[i].error[0] ? "" : "");
            if (st[i].error[0]) printf("device %d: %s\n", i, st[i].error);
        }
        printf("%d of %d devices complete; %lld samples sent, %d reconnects\n", done, c.ndevices, sent, reconnects);
        if (done < c.ndevices) rc = CMD_EINPUT;
        if (verify_dir && verify(verify_dir, &c, &src)) rc = CMD_EINPUT;
    }
    free(st);
    free(samples);
    return rc;
}
