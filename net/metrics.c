/* metrics.c — counters, the latency histogram and their Prometheus text rendering. */
#include "metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double net_metrics_latency_bounds[NET_LATENCY_BUCKETS] = {
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, INFINITY};

void net_metrics_latency(net_metrics *m, int64_t us)
{
    double s = (double)us / 1e6;
    for (int i = 0; i < NET_LATENCY_BUCKETS; i++)
        if (s <= net_metrics_latency_bounds[i]) atomic_fetch_add(&m->latency_bucket[i], 1);
    atomic_fetch_add(&m->latency_count, 1);
    atomic_fetch_add(&m->latency_sum_us, us);
}

double net_metrics_latency_quantile(const net_metrics *m, double q)
{
    long long total = atomic_load(&m->latency_count);
    if (total == 0) return 0;
    double want = q * (double)total, lo = 0;
    long long below = 0;
    for (int i = 0; i < NET_LATENCY_BUCKETS; i++) {
        long long c = atomic_load(&m->latency_bucket[i]);
        double hi = net_metrics_latency_bounds[i];
        if ((double)c >= want) {
            if (isinf(hi)) return lo;
            double in = (double)(c - below);
            return in > 0 ? lo + (hi - lo) * (want - (double)below) / in : hi;
        }
        below = c;
        lo = hi;
    }
    return lo;
}

/* A growing string buffer for the rendering. */
typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(buf *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n) * 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

static void metric(buf *b, const char *name, const char *type, const char *help, long long v)
{
    put(b, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", name, help, name, type, name, v);
}

char *net_metrics_render(const net_metrics *m, int64_t queue_depth)
{
    buf b = {malloc(4096), 0, 4096, 0};
    if (!b.s) return NULL;
    b.s[0] = 0;
    metric(&b, "ecgnet_connections", "gauge", "Open device connections.", atomic_load(&m->connections));
    metric(&b, "ecgnet_connections_total", "counter", "Device connections accepted.", atomic_load(&m->connections_total));
    metric(&b, "ecgnet_recordings_active", "gauge", "Recordings held in memory (streaming or resumable).", atomic_load(&m->recordings_active));
    metric(&b, "ecgnet_samples_total", "counter", "Samples (one per lead per instant: frames) durably journaled.", atomic_load(&m->samples_total));
    metric(&b, "ecgnet_lead_samples_total", "counter", "Lead-samples durably journaled.", atomic_load(&m->lead_samples_total));
    metric(&b, "ecgnet_frames_total", "counter", "Binary sample frames accepted.", atomic_load(&m->frames_total));
    metric(&b, "ecgnet_frames_rejected_total", "counter", "Messages rejected as malformed, oversized or out of order.", atomic_load(&m->frames_rejected_total));
    metric(&b, "ecgnet_duplicate_frames_total", "counter", "Frames ignored because they were already stored (resends).", atomic_load(&m->duplicates_total));
    metric(&b, "ecgnet_gaps_total", "counter", "Frames refused because samples before them were missing.", atomic_load(&m->gaps_total));
    metric(&b, "ecgnet_fsyncs_total", "counter", "Journal fsyncs (group commits).", atomic_load(&m->fsyncs_total));
    metric(&b, "ecgnet_flags_total", "counter", "Flags raised while streaming.", atomic_load(&m->flags_total));
    metric(&b, "ecgnet_auth_failures_total", "counter", "Hellos refused: unknown device, wrong or revoked token.", atomic_load(&m->auth_failures_total));
    metric(&b, "ecgnet_storage_errors_total", "counter", "Journal or store writes that failed (disk full, I/O error).", atomic_load(&m->storage_errors_total));
    if (queue_depth >= 0) metric(&b, "ecgnet_queue_depth", "gauge", "Recordings waiting in the review queue.", queue_depth);
    const char *h = "ecgnet_pipeline_latency_seconds";
    put(&b, "# HELP %s From a frame's arrival to the end of its journaling and analysis.\n# TYPE %s histogram\n", h, h);
    for (int i = 0; i < NET_LATENCY_BUCKETS; i++) {
        long long c = atomic_load(&m->latency_bucket[i]);
        if (isinf(net_metrics_latency_bounds[i])) put(&b, "%s_bucket{le=\"+Inf\"} %lld\n", h, c);
        else put(&b, "%s_bucket{le=\"%g\"} %lld\n", h, net_metrics_latency_bounds[i], c);
    }
    put(&b, "%s_sum %.6f\n%s_count %lld\n", h, (double)atomic_load(&m->latency_sum_us) / 1e6, h,
        atomic_load(&m->latency_count));
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
