/*
 * srv_metrics.c - Prometheus text exposition of the daemon's counters
 * (see srv_metrics.h).
 *
 * Owns metric names and the rendering.  Counters are bumped elsewhere with
 * atomics; gauges are read from the registry and the queue at scrape time.
 */
#include "srv_metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_app.h"
#include "srv_job.h"
#include "srv_sweeps.h"
#include "srv_log.h"

void srv_metrics_init(struct srv_metrics *m)
{
    for (int i = 0; i < SRV_METRICS_MAX_STATUS; i++) atomic_init(&m->http[i], 0);
    atomic_init(&m->samples_total, 0);
    atomic_init(&m->epochs_total, 0);
    atomic_init(&m->sse_clients, 0);
    atomic_init(&m->workers_busy, 0);
}

void srv_metrics_http(struct srv_metrics *m, int status)
{
    if (status >= 100 && status < SRV_METRICS_MAX_STATUS) atomic_fetch_add(&m->http[status], 1);
}

struct buf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int w;
    if (b->oom) return;
    for (;;) {
        va_start(ap, fmt);
        w = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (w < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)w < b->cap - b->len) {
            b->len += (size_t)w;
            return;
        }
        {
            size_t cap = (b->cap + (size_t)w) * 2;
            char *p = realloc(b->p, cap);
            if (!p) {
                b->oom = true;
                return;
            }
            b->p = p;
            b->cap = cap;
        }
    }
}

static void sum_rate(void *user, struct srv_job *j)
{
    double *sum = user;
    pthread_mutex_lock(&j->lock);
    if (j->state == SRV_JOB_RUNNING && !j->suspended) *sum += j->rate;
    pthread_mutex_unlock(&j->lock);
}

char *srv_metrics_render(struct srv_app *app, size_t *len)
{
    struct buf b = {malloc(4096), 0, 4096, false};
    size_t counts[SRV_JOB_STATE_COUNT];
    double rate = 0;
    struct srv_metrics *m = &app->metrics;

    if (!b.p) return NULL;
    srv_registry_count(app->registry, counts);
    srv_registry_foreach(app->registry, sum_rate, &rate);

    put(&b, "# HELP aelab_jobs Jobs known to the daemon, by state.\n# TYPE aelab_jobs gauge\n");
    for (int s = 0; s < SRV_JOB_STATE_COUNT; s++)
        put(&b, "aelab_jobs{state=\"%s\"} %zu\n", srv_job_state_name((enum srv_job_state)s),
            counts[s]);
    {
        static const char *sweep_states[3] = {"running", "succeeded", "cancelled"};
        size_t sc[3];
        srv_sweeps_count(app, sc);
        put(&b, "# HELP aelab_sweeps Sweeps known to the daemon, by state.\n"
                "# TYPE aelab_sweeps gauge\n");
        for (int k = 0; k < 3; k++)
            put(&b, "aelab_sweeps{state=\"%s\"} %zu\n", sweep_states[k], sc[k]);
    }
    put(&b, "# HELP aelab_queue_depth Jobs waiting for a worker.\n# TYPE aelab_queue_depth gauge\n"
            "aelab_queue_depth %zu\n",
        srv_queue_length(app->queue));
    put(&b, "# HELP aelab_queue_capacity Queued jobs before submissions get 429.\n"
            "# TYPE aelab_queue_capacity gauge\naelab_queue_capacity %zu\n",
        srv_queue_capacity(app->queue));
    put(&b, "# HELP aelab_workers Worker threads (jobs trained at once).\n"
            "# TYPE aelab_workers gauge\naelab_workers %d\n",
        app->cfg.workers);
    put(&b, "# HELP aelab_workers_busy Workers training a job now.\n"
            "# TYPE aelab_workers_busy gauge\naelab_workers_busy %d\n",
        atomic_load(&m->workers_busy));
    put(&b, "# HELP aelab_train_samples_per_second Training images per second, all jobs.\n"
            "# TYPE aelab_train_samples_per_second gauge\naelab_train_samples_per_second %.3f\n",
        rate);
    put(&b, "# HELP aelab_train_samples_total Training images processed since start.\n"
            "# TYPE aelab_train_samples_total counter\naelab_train_samples_total %lu\n",
        (unsigned long)atomic_load(&m->samples_total));
    put(&b, "# HELP aelab_epochs_total Epochs finished since start.\n"
            "# TYPE aelab_epochs_total counter\naelab_epochs_total %lu\n",
        (unsigned long)atomic_load(&m->epochs_total));
    put(&b, "# HELP aelab_sse_clients Open Server-Sent Events streams.\n"
            "# TYPE aelab_sse_clients gauge\naelab_sse_clients %d\n",
        atomic_load(&m->sse_clients));
    put(&b, "# HELP aelab_http_requests_total HTTP responses by status code.\n"
            "# TYPE aelab_http_requests_total counter\n");
    for (int s = 100; s < SRV_METRICS_MAX_STATUS; s++) {
        unsigned long v = (unsigned long)atomic_load(&m->http[s]);
        if (v) put(&b, "aelab_http_requests_total{code=\"%d\"} %lu\n", s, v);
    }
    put(&b, "# HELP aelab_uptime_seconds Seconds since the daemon started.\n"
            "# TYPE aelab_uptime_seconds gauge\naelab_uptime_seconds %.3f\n",
        srv_now_mono() - app->started_mono);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
