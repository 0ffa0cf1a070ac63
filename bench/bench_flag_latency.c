/* bench_flag_latency.c — how soon a critical flag reaches the queue after the sample that meets
 * its rule reaches ecgnetd (MIT-BIH 207's ventricular flutter, replayed as a device would).
 *
 * usage: bench_flag_latency [RECORD] [--speed X] [--frame-ms MS]
 *
 * 1. Offline, the record goes through the pipeline in the device's frame-sized blocks; the
 *    first push after which pipeline_flags_live holds a critical flag gives M, the sample that
 *    meets the rule (the same detector runs live, so the live server meets it at M too).
 * 2. An in-process ecgnetd on a free port takes the record from a simulated device paced at
 *    X times real time (default 1). The device notes how much it had sent when the flag
 *    message arrived; the store is polled for the flag's row.
 * Latency (wall clock) = (samples sent at the flag's arrival − M) / fs / X, within one frame.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beatclass.h"
#include "device.h"
#include "flags.h"
#include "log.h"
#include "pipeline.h"
#include "server.h"
#include "store.h"

static void *serve(void *sv)
{
    server_run(sv);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    double speed = 1, frame_ms = 200;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--speed") && i + 1 < argc) speed = atof(argv[++i]);
        else if (!strcmp(argv[i], "--frame-ms") && i + 1 < argc) frame_ms = atof(argv[++i]);
        else path = argv[i];
    }
    char defpath[1200];
    if (!path) {
        const char *d = getenv("ECGNET_DATA");
        snprintf(defpath, sizeof defpath, "%s/mitdb/207", d && *d ? d : "../shared/ecgdata");
        path = defpath;
    }
    net_log_set_level(NET_LOG_ERROR);
    char err[1536];
    flag_table *table = NULL;
    bc_model *model = NULL;
    device_source src;
    int32_t *samples = NULL;
    if (flag_table_load(NULL, &table, err, sizeof err) || bc_model_load(NULL, &model, err, sizeof err) ||
        device_source_load(path, &src, &samples, err, sizeof err)) {
        fprintf(stderr, "bench_flag_latency: %s\n", err);
        return 1;
    }
    size_t block = (size_t)(frame_ms / 1000 * src.fs + 0.5);

    /* 1. Offline: the sample that meets the rule. */
    pipeline_opts o;
    pipeline_opts_default(&o);
    o.flags = table;
    o.beat_model = model;
    o.mode = FLAG_CONTINUOUS;
    pipeline *p = pipeline_create(&o, src.fs, src.nleads, src.leads, err, sizeof err);
    int64_t meets = -1;
    char code[32] = "";
    for (int64_t at = 0; p && at < src.nframes && meets < 0;) {
        size_t n = (size_t)(src.nframes - at < (int64_t)block ? src.nframes - at : (int64_t)block);
        if (pipeline_push(p, samples + at * src.nleads, n, err, sizeof err)) break;
        at += (int64_t)n;
        const flag *f;
        size_t nf;
        if (pipeline_flags_live(p, &f, &nf, err, sizeof err)) break;
        for (size_t i = 0; i < nf; i++)
            if (f[i].priority == FLAG_CRITICAL) {
                meets = at;
                snprintf(code, sizeof code, "%s", f[i].code);
                break;
            }
    }
    pipeline_free(p);
    if (meets < 0) {
        fprintf(stderr, "bench_flag_latency: %s raises no critical flag\n", path);
        return 1;
    }
    printf("record %s: %s is met at sample %lld (%.1f s), %zu-sample frames\n", path, code, (long long)meets,
           (double)meets / src.fs, block);

    /* 2. Live: the record up to ten seconds past the rule is enough. */
    if (src.nframes > meets + (int64_t)(10 * src.fs)) src.nframes = meets + (int64_t)(10 * src.fs);
    char dir[] = "/tmp/ecgnet-flag-latency-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char url_store[1200], token[STORE_TOKEN_CHARS + 1];
    snprintf(url_store, sizeof url_store, "sqlite:%s/ecgnet.db", dir);
    store *st = store_open(url_store, err, sizeof err);
    if (!st || store_device_add(st, "bench", "Bench", token, err, sizeof err) != STORE_OK) {
        fprintf(stderr, "bench_flag_latency: %s\n", err);
        return 1;
    }
    server_config sc = {0};
    sc.ingest.data_dir = dir;
    sc.ingest.flags = table;
    sc.ingest.model = model;
    server *sv = server_create(&sc, err, sizeof err);
    if (!sv) {
        fprintf(stderr, "bench_flag_latency: %s\n", err);
        return 1;
    }
    pthread_t t;
    pthread_create(&t, NULL, serve, sv);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d", server_port(sv));
    device_config dc = {0};
    dc.url = url;
    dc.device = "bench";
    dc.token = token;
    dc.recording = "latency";
    dc.ndevices = 1;
    dc.speed = speed;
    dc.frame_s = frame_ms / 1000;
    dc.mode = PROTO_MODE_CONTINUOUS;
    dc.quiet = 1;
    device_stats ds;
    int done = device_run(&dc, &src, &ds, err, sizeof err);
    server_stop(sv);
    pthread_join(t, NULL);
    server_free(sv);
    store_recording rec;
    store_flag *flags = NULL;
    size_t nflags = 0;
    int in_queue = 0;
    if (store_recording_find(st, "bench", "latency", &rec, err, sizeof err) == STORE_OK &&
        store_flag_list(st, rec.id, &flags, &nflags, err, sizeof err) == STORE_OK)
        for (size_t i = 0; i < nflags; i++) in_queue += !strcmp(flags[i].code, code) && flags[i].priority == 0;
    free(flags);
    store_close(st);
    if (done != 1 || ds.first_flag_s < 0) {
        fprintf(stderr, "bench_flag_latency: the device saw no critical flag (%s)\n", ds.error);
        return 1;
    }
    double late_s = (ds.first_flag_s - (double)meets / src.fs) / (speed > 0 ? speed : 1);
    printf("live at %.1fx real time: first critical flag %s reached the device after %.1f s of signal; "
           "%s stored as critical: %s\n", speed, ds.first_flag_code, ds.first_flag_s, code, in_queue ? "yes" : "NO");
    printf("latency from the sample that meets the rule to the flag: %.2f s (wall clock, +/- one %.0f ms frame)\n",
           late_s, frame_ms);
    char rm[200];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    if (system(rm)) fprintf(stderr, "could not remove %s\n", dir);
    free(samples);
    flag_table_free(table);
    bc_model_free(model);
    return in_queue && late_s <= 2.0 ? 0 : 3;
}
