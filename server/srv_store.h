/*
 * srv_store.h - the daemon's SQLite database: jobs, per-epoch metrics and
 * idempotency keys.
 *
 * Every write is its own committed transaction before the call returns, so
 * "committed before reported" is just "call the store, then answer".  One
 * connection guarded by a mutex: every function is thread-safe, none calls
 * back into the caller while holding it.
 */
#ifndef SRV_STORE_H
#define SRV_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "srv_status.h"

struct srv_store;

/* A job row.  Strings are borrowed for the call (and, in srv_store_load,
 * valid only during the callback). */
struct srv_store_job {
    int64_t id;
    const char *name;     /* "" when none */
    const char *model;
    const char *dataset;
    const char *settings; /* JSON object text */
    const char *state;    /* "queued", "running", ... */
    const char *error;    /* NULL unless failed */
    double created_at, started_at, finished_at; /* Unix time; 0 = not yet */
    bool cancel_requested; /* a cancel was accepted while it ran */
    const char *executor;  /* "local" (NULL = local) or "slurm" */
    const char *slurm_job_id; /* NULL until handed to Slurm */
    const char *node;      /* NULL until known */
};

/* One epoch's figures (NaN is stored as NULL and read back as NaN). */
struct srv_store_metric {
    int32_t epoch;
    double loss, val_loss;
    double train_seconds, val_seconds;
    double reconstruction_loss, kl_loss, val_reconstruction_loss, val_kl_loss;
};

/* Open or create the database at path (WAL, synchronous=FULL,
 * busy_timeout, schema created if missing).  Caller frees with
 * srv_store_close.  Errors name the path and SQLite's message. */
enum srv_status srv_store_open(const char *path, struct srv_store **out, struct ae_err *err);
void srv_store_close(struct srv_store *s);

/* Insert a new job (j->id ignored) and, when idem_key is not NULL, record
 * the key with the request's SHA-256 (64 hex chars), in one transaction.
 * *id receives the new id.  If the key exists already: with the same hash,
 * nothing is inserted, *id is the earlier job and *replayed is true; with
 * another hash, SRV_ERR_CONFLICT. */
enum srv_status srv_store_job_insert(struct srv_store *s, const struct srv_store_job *j,
                                     const char *idem_key, const char *request_sha256,
                                     int64_t *id, bool *replayed, struct ae_err *err);

/* Look up an idempotency key: SRV_OK with *id and the stored hash (65
 * bytes) when it exists, SRV_ERR_NOTFOUND when it does not. */
enum srv_status srv_store_idem_find(struct srv_store *s, const char *key, int64_t *id,
                                    char request_sha256[65], struct ae_err *err);

/* Update a job's state, times and error text. */
enum srv_status srv_store_job_update(struct srv_store *s, int64_t id, const char *state,
                                     double started_at, double finished_at, const char *error,
                                     struct ae_err *err);

/* Record where a job runs: executor ("local"/"slurm"), its Slurm job id
 * and node (NULL or "" store NULL). */
enum srv_status srv_store_job_place(struct srv_store *s, int64_t id, const char *executor,
                                    const char *slurm_job_id, const char *node, struct ae_err *err);

/* Record that a running job was asked to cancel, so that a crash before
 * it stops does not lose the request: a job loaded in a non-final state
 * with this mark is cancelled instead of resumed. */
enum srv_status srv_store_job_cancel(struct srv_store *s, int64_t id, struct ae_err *err);

/* Insert or replace one epoch's metrics for a job. */
enum srv_status srv_store_metric_put(struct srv_store *s, int64_t id,
                                     const struct srv_store_metric *m, struct ae_err *err);

/* Delete a job with its metrics and idempotency keys.  SRV_ERR_NOTFOUND if
 * there is no such job. */
enum srv_status srv_store_job_delete(struct srv_store *s, int64_t id, struct ae_err *err);

/* Call on_job for every job in id order, then on_metric for every metric
 * row in (job, epoch) order.  The rows are read first and the callbacks run
 * without the store's lock (they may write to the store).  A callback
 * returning non-zero stops the load with SRV_ERR_INTERNAL. */
enum srv_status srv_store_load(struct srv_store *s,
                               int (*on_job)(void *user, const struct srv_store_job *j),
                               int (*on_metric)(void *user, int64_t id,
                                                const struct srv_store_metric *m),
                               void *user, struct ae_err *err);

/* PRAGMA integrity_check; SRV_OK when it says "ok". */
enum srv_status srv_store_check(struct srv_store *s, struct ae_err *err);

#endif /* SRV_STORE_H */
