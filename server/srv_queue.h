/*
 * srv_queue.h - the bounded FIFO between HTTP handlers and workers.
 *
 * Holds opaque pointers (the daemon stores job references).  Capacity is
 * reserved before a job is persisted, so a submission that gets 201 can
 * always be queued, and the check-then-push race between two submissions
 * cannot overfill the queue.  All functions are thread-safe.
 */
#ifndef SRV_QUEUE_H
#define SRV_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "srv_status.h"

struct srv_queue;

/* A queue for at most max items (max >= 1).  Caller frees with
 * srv_queue_free (which does not free the items). */
enum srv_status srv_queue_new(size_t max, struct srv_queue **out, struct ae_err *err);
void srv_queue_free(struct srv_queue *q);

/* Reserve room for one item; false when the queue (items plus
 * reservations) is full or closed. */
bool srv_queue_reserve(struct srv_queue *q);
/* Give back a reservation that will not be used. */
void srv_queue_unreserve(struct srv_queue *q);
/* Append item into a reserved slot. */
void srv_queue_push_reserved(struct srv_queue *q, void *item);
/* Append item even past the limit (restoring jobs at start-up). */
enum srv_status srv_queue_push_force(struct srv_queue *q, void *item, struct ae_err *err);

/* Wait for the oldest item and remove it; NULL once the queue is closed
 * (items still queued stay queued). */
void *srv_queue_pop(struct srv_queue *q);
/* Remove item if it is queued; true if it was. */
bool srv_queue_remove(struct srv_queue *q, void *item);
/* 1-based position of item, 0 if not queued. */
size_t srv_queue_position(struct srv_queue *q, const void *item);
/* Items queued now. */
size_t srv_queue_length(struct srv_queue *q);
/* Capacity given to srv_queue_new. */
size_t srv_queue_capacity(const struct srv_queue *q);
/* Wake every pop with NULL and refuse new reservations. */
void srv_queue_close(struct srv_queue *q);
/* Remove and return the oldest item without waiting, or NULL (used to
 * release what is left at shutdown). */
void *srv_queue_drain(struct srv_queue *q);

#endif /* SRV_QUEUE_H */
