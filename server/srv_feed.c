/*
 * srv_feed.c - ring of change records (see srv_feed.h).
 *
 * Owns the record sequence and the wake-ups of event streams; it does not
 * format events (srv_sse.c) or know what a job is.  Design: one ring for
 * all jobs instead of a buffer per subscriber, so the cost of publishing
 * does not grow with the number of streams, and a slow client can only
 * ever lose its own place, never slow a worker down.
 */
#include "srv_feed.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct srv_feed {
    pthread_mutex_t lock;
    pthread_cond_t more;
    struct srv_feed_event *ring;
    size_t cap;
    uint64_t head; /* seq of the newest record */
    bool closed;
};

enum srv_status srv_feed_new(size_t capacity, struct srv_feed **out, struct ae_err *err)
{
    struct srv_feed *f;
    pthread_condattr_t ca;

    *out = NULL;
    if (capacity < 1) return srv_err_set(err, SRV_ERR_ARG, "feed capacity must be at least 1");
    f = calloc(1, sizeof *f);
    if (!f) return srv_err_set(err, SRV_ERR_NOMEM, "out of memory creating the feed");
    f->ring = calloc(capacity, sizeof *f->ring);
    if (!f->ring) {
        free(f);
        return srv_err_set(err, SRV_ERR_NOMEM, "out of memory creating the feed");
    }
    f->cap = capacity;
    pthread_mutex_init(&f->lock, NULL);
    /* Timed waits on the monotonic clock: a wall-clock jump must not make
     * heartbeats stall or spin. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->more, &ca);
    pthread_condattr_destroy(&ca);
    *out = f;
    return SRV_OK;
}

void srv_feed_free(struct srv_feed *f)
{
    if (!f) return;
    pthread_cond_destroy(&f->more);
    pthread_mutex_destroy(&f->lock);
    free(f->ring);
    free(f);
}

void srv_feed_publish(struct srv_feed *f, int64_t job_id, enum srv_feed_kind kind, int32_t epoch)
{
    struct srv_feed_event *e;
    if (!f) return;
    pthread_mutex_lock(&f->lock);
    f->head++;
    e = &f->ring[(f->head - 1) % f->cap];
    e->seq = f->head;
    e->job_id = job_id;
    e->kind = kind;
    e->epoch = epoch;
    pthread_cond_broadcast(&f->more);
    pthread_mutex_unlock(&f->lock);
}

uint64_t srv_feed_head(struct srv_feed *f)
{
    uint64_t h;
    pthread_mutex_lock(&f->lock);
    h = f->head;
    pthread_mutex_unlock(&f->lock);
    return h;
}

size_t srv_feed_wait(struct srv_feed *f, uint64_t *cursor, struct srv_feed_event *out, size_t max,
                     double timeout, bool *lost, bool *closed)
{
    struct timespec until;
    size_t n = 0;
    uint64_t oldest;

    bool behind = false;

    *lost = false;
    clock_gettime(CLOCK_MONOTONIC, &until);
    if (timeout > 0) {
        long long ns = until.tv_nsec + (long long)((timeout - (double)(long long)timeout) * 1e9);
        until.tv_sec += (time_t)timeout + (time_t)(ns / 1000000000LL);
        until.tv_nsec = (long)(ns % 1000000000LL);
    }
    pthread_mutex_lock(&f->lock);
    if (*cursor > f->head) { /* a cursor from before a restart: its records are gone */
        *cursor = f->head;
        behind = true;
    }
    while (!behind && !f->closed && f->head == *cursor && timeout > 0) {
        if (pthread_cond_timedwait(&f->more, &f->lock, &until) == ETIMEDOUT) break;
    }
    *closed = f->closed;
    oldest = f->head >= f->cap ? f->head - f->cap + 1 : 1;
    if (*cursor + 1 < oldest) {
        behind = true;
        *cursor = oldest - 1;
    }
    *lost = behind;
    while (n < max && *cursor < f->head) {
        out[n++] = f->ring[*cursor % f->cap];
        (*cursor)++;
    }
    pthread_mutex_unlock(&f->lock);
    return n;
}

void srv_feed_close(struct srv_feed *f)
{
    pthread_mutex_lock(&f->lock);
    f->closed = true;
    pthread_cond_broadcast(&f->more);
    pthread_mutex_unlock(&f->lock);
}
