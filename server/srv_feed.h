/*
 * srv_feed.h - the change feed: a bounded ring of "job N changed" records
 * that event streams follow.
 *
 * Publishers (workers, handlers) never wait: publishing overwrites the
 * oldest record when the ring is full.  A reader that falls more than the
 * ring's size behind is told so (lost) and resynchronises from a snapshot.
 * Records say what changed, not the new values: readers read the job
 * itself, so a record is small and the feed holds no references.
 * All functions are thread-safe.
 */
#ifndef SRV_FEED_H
#define SRV_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srv_status.h"

enum srv_feed_kind {
    SRV_FEED_CREATED = 0, /* a job was submitted */
    SRV_FEED_STATE,       /* state changed (or cancel was requested) */
    SRV_FEED_EPOCH,       /* an epoch finished; .epoch says which */
    SRV_FEED_PROGRESS,    /* batches progressed (at most a few per second per job) */
    SRV_FEED_DELETED,     /* the job was deleted */
};

struct srv_feed_event {
    uint64_t seq; /* 1, 2, 3, ... */
    int64_t job_id;
    enum srv_feed_kind kind;
    int32_t epoch;
};

struct srv_feed;

enum srv_status srv_feed_new(size_t capacity, struct srv_feed **out, struct ae_err *err);
void srv_feed_free(struct srv_feed *f);

/* Append a record and wake readers.  Never blocks on readers. */
void srv_feed_publish(struct srv_feed *f, int64_t job_id, enum srv_feed_kind kind, int32_t epoch);

/* Sequence number of the newest record (0 if none). */
uint64_t srv_feed_head(struct srv_feed *f);

/* Copy up to max records newer than *cursor into out, waiting up to
 * timeout seconds for one to appear.  Advances *cursor past what it
 * returns.  *lost is set when records after *cursor were already
 * overwritten (the copy then starts at the oldest kept).  Returns the
 * number copied (0 on timeout or when closed; *closed tells which). */
size_t srv_feed_wait(struct srv_feed *f, uint64_t *cursor, struct srv_feed_event *out, size_t max,
                     double timeout, bool *lost, bool *closed);

/* Wake every reader for good (shutdown). */
void srv_feed_close(struct srv_feed *f);

#endif /* SRV_FEED_H */
