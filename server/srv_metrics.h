/*
 * srv_metrics.h - counters for /metrics (Prometheus text format).
 *
 * Counters are atomics bumped from any thread without locks; gauges
 * (jobs by state, queue depth, samples/s) are computed when /metrics is
 * scraped.
 */
#ifndef SRV_METRICS_H
#define SRV_METRICS_H

#include <stdatomic.h>
#include <stddef.h>

#define SRV_METRICS_MAX_STATUS 600

struct srv_metrics {
    atomic_ulong http[SRV_METRICS_MAX_STATUS]; /* responses by status code */
    atomic_ulong samples_total;                /* training images processed */
    atomic_ulong epochs_total;                 /* epochs finished */
    atomic_int sse_clients;                    /* open event streams */
    atomic_int workers_busy;                   /* workers training a job */
};

void srv_metrics_init(struct srv_metrics *m);
/* Count one response with this status. */
void srv_metrics_http(struct srv_metrics *m, int status);

struct srv_app;
/* The whole exposition text (caller frees with free()); NULL on OOM. */
char *srv_metrics_render(struct srv_app *app, size_t *len);

#endif /* SRV_METRICS_H */
