/*
 * srv_queue.c - bounded FIFO with a mutex and a condition variable
 * (see srv_queue.h; the shape of redis bio.c's job lists).
 *
 * Owns ordering and capacity, nothing about what the items are.  Design:
 * a plain array kept in order; removing a cancelled job from the middle
 * shifts the rest.  With at most a few thousand entries that is cheaper
 * and simpler than a linked list, and the array is allocated once, so
 * pushing into a reserved slot cannot fail.
 */
#include "srv_queue.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct srv_queue {
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    void **items;
    size_t n, cap, max, reserved;
    bool closed;
};

enum srv_status srv_queue_new(size_t max, struct srv_queue **out, struct ae_err *err)
{
    struct srv_queue *q;
    *out = NULL;
    if (max < 1) return srv_err_set(err, SRV_ERR_ARG, "queue capacity must be at least 1");
    q = calloc(1, sizeof *q);
    if (!q) return srv_err_set(err, SRV_ERR_NOMEM, "out of memory creating the queue");
    q->items = calloc(max, sizeof *q->items);
    if (!q->items) {
        free(q);
        return srv_err_set(err, SRV_ERR_NOMEM, "out of memory creating a queue of %zu", max);
    }
    q->cap = q->max = max;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->nonempty, NULL);
    *out = q;
    return SRV_OK;
}

void srv_queue_free(struct srv_queue *q)
{
    if (!q) return;
    pthread_cond_destroy(&q->nonempty);
    pthread_mutex_destroy(&q->lock);
    free(q->items);
    free(q);
}

bool srv_queue_reserve(struct srv_queue *q)
{
    bool ok;
    pthread_mutex_lock(&q->lock);
    ok = !q->closed && q->n + q->reserved < q->max;
    if (ok) q->reserved++;
    pthread_mutex_unlock(&q->lock);
    return ok;
}

void srv_queue_unreserve(struct srv_queue *q)
{
    pthread_mutex_lock(&q->lock);
    if (q->reserved > 0) q->reserved--;
    pthread_mutex_unlock(&q->lock);
}

void srv_queue_push_reserved(struct srv_queue *q, void *item)
{
    pthread_mutex_lock(&q->lock);
    if (q->reserved > 0) q->reserved--;
    /* n + reserved <= max <= cap held before, so there is room. */
    q->items[q->n++] = item;
    pthread_cond_signal(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
}

enum srv_status srv_queue_push_force(struct srv_queue *q, void *item, struct ae_err *err)
{
    enum srv_status st = SRV_OK;
    pthread_mutex_lock(&q->lock);
    if (q->n + q->reserved >= q->cap) {
        size_t cap = q->cap * 2;
        void **p = realloc(q->items, cap * sizeof *p);
        if (!p) {
            st = srv_err_set(err, SRV_ERR_NOMEM, "out of memory growing the queue to %zu", cap);
            goto out;
        }
        q->items = p;
        q->cap = cap;
    }
    q->items[q->n++] = item;
    pthread_cond_signal(&q->nonempty);
out:
    pthread_mutex_unlock(&q->lock);
    return st;
}

void *srv_queue_pop(struct srv_queue *q)
{
    void *item = NULL;
    pthread_mutex_lock(&q->lock);
    while (!q->closed && q->n == 0) pthread_cond_wait(&q->nonempty, &q->lock);
    if (!q->closed) {
        item = q->items[0];
        q->n--;
        memmove(q->items, q->items + 1, q->n * sizeof *q->items);
    }
    pthread_mutex_unlock(&q->lock);
    return item;
}

void *srv_queue_drain(struct srv_queue *q)
{
    void *item = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->n > 0) {
        item = q->items[0];
        q->n--;
        memmove(q->items, q->items + 1, q->n * sizeof *q->items);
    }
    pthread_mutex_unlock(&q->lock);
    return item;
}

bool srv_queue_remove(struct srv_queue *q, void *item)
{
    bool found = false;
    pthread_mutex_lock(&q->lock);
    for (size_t i = 0; i < q->n; i++) {
        if (q->items[i] != item) continue;
        memmove(q->items + i, q->items + i + 1, (q->n - i - 1) * sizeof *q->items);
        q->n--;
        found = true;
        break;
    }
    pthread_mutex_unlock(&q->lock);
    return found;
}

size_t srv_queue_position(struct srv_queue *q, const void *item)
{
    size_t pos = 0;
    pthread_mutex_lock(&q->lock);
    for (size_t i = 0; i < q->n; i++) {
        if (q->items[i] == item) {
            pos = i + 1;
            break;
        }
    }
    pthread_mutex_unlock(&q->lock);
    return pos;
}

size_t srv_queue_length(struct srv_queue *q)
{
    size_t n;
    pthread_mutex_lock(&q->lock);
    n = q->n;
    pthread_mutex_unlock(&q->lock);
    return n;
}

size_t srv_queue_capacity(const struct srv_queue *q)
{
    return q->max;
}

void srv_queue_close(struct srv_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    pthread_cond_broadcast(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
}
