/* metrics.h — the server's counters and the pipeline latency histogram, in Prometheus text format.
 *
 * Every field is updated with atomics from any thread (event loop and workers); rendering reads
 * them without a lock, so a scrape sees each counter exactly, the set of them approximately at
 * one instant — which is what Prometheus expects.
 */
#ifndef ECGNET_NET_METRICS_H
#define ECGNET_NET_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define NET_LATENCY_BUCKETS 12

typedef struct {
    atomic_long connections;       /* open device connections (gauge) */
    atomic_long connections_total;
    atomic_long recordings_active; /* recordings in memory (gauge) */
    atomic_llong samples_total;    /* frames (one sample of every lead) journaled */
    atomic_llong lead_samples_total;
    atomic_llong frames_total;     /* binary messages accepted */
    atomic_llong frames_rejected_total;
    atomic_llong duplicates_total; /* frames fully ignored as already stored */
    atomic_llong gaps_total;
    atomic_llong fsyncs_total;
    atomic_llong flags_total;
    atomic_llong auth_failures_total;
    atomic_llong storage_errors_total;
    atomic_llong latency_count;
    atomic_llong latency_sum_us;
    atomic_llong latency_bucket[NET_LATENCY_BUCKETS]; /* cumulative counts per upper bound */
} net_metrics;

/* Upper bounds of the latency buckets in seconds (the last is +Inf). */
extern const double net_metrics_latency_bounds[NET_LATENCY_BUCKETS];

/* Records one frame's latency from its arrival to the end of its processing, in microseconds. */
void net_metrics_latency(net_metrics *m, int64_t us);

/* Renders the metrics plus QUEUE_DEPTH (recordings waiting for review; -1: unknown) as
 * Prometheus text into a malloc'd string (caller frees); NULL when out of memory. */
char *net_metrics_render(const net_metrics *m, int64_t queue_depth);

/* The latency below which fraction Q (0..1) of the recorded frames fall, from the histogram
 * (interpolated within a bucket); 0 with no data. For benchmarks and logs. */
double net_metrics_latency_quantile(const net_metrics *m, double q);

#endif
