/*
 * srv_store.h - the daemon's SQLite database: jobs, per-epoch metrics,
 * idempotency keys, and sweeps (their trials and decisions).
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

/* The schema version this aelabd writes (PRAGMA user_version); older
 * databases are upgraded in place, step by step, when opened. */
#define SRV_STORE_SCHEMA_VERSION 5

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
    int64_t sweep_id;      /* 0 = not a sweep's trial */
    bool keep_final;       /* "keep": "final" */
    const char *run_parent; /* a sweep trial: its run directory is <run_parent>/<id>-<model> */
    const char *executor;  /* "local" (NULL = local) or "slurm" */
    const char *slurm_job_id; /* NULL until handed to Slurm */
    const char *node;      /* NULL until known */
    /* Insert only: with sweep_id, the trial row (index, sampled params JSON)
     * is recorded in the same transaction as the job. */
    int32_t trial;
    const char *trial_params;
};

/* One epoch's figures are a struct ae_epoch_stats: one column per row of
 * ae_metrics() (NaN is stored as NULL and read back as NaN). */

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
                                     const struct ae_epoch_stats *m, struct ae_err *err);

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
                                                const struct ae_epoch_stats *m),
                               void *user, struct ae_err *err);

/* ------------------------------------------------------------------------
 * Sweeps (srv_store_sweeps.c).  A sweep row keeps its validated spec as
 * JSON text; its trials' rows are written with their jobs
 * (srv_store_job_insert); its decisions are every epoch result of every
 * trial in arrival order (seq) with the decision taken then.
 * ------------------------------------------------------------------------ */
struct srv_store_sweep {
    int64_t id;
    const char *name;
    const char *spec;   /* JSON object text: the request as accepted */
    const char *state;  /* "running", "succeeded", "cancelled" */
    uint64_t seed;
    double created_at, finished_at; /* 0 = not yet */
};

struct srv_store_trial {
    int64_t sweep_id;
    int32_t trial;
    int64_t job_id;
    const char *params; /* JSON object text */
};

struct srv_store_decision {
    int64_t seq;
    int64_t sweep_id;
    int32_t trial, epoch;
    double value;         /* NaN when not finite */
    const char *decision; /* "none" (not a rung), "continue", "stop" */
};

/* Insert a sweep (sw->id ignored); *id receives its id.  With idem_key
 * (not NULL) the key and the request's SHA-256 (64 hex chars) are stored
 * with the sweep, and a key stored already is answered as in
 * srv_store_job_insert: with the same hash nothing is inserted, *id is the
 * earlier sweep and *replayed is true; with another, SRV_ERR_CONFLICT.
 * Keys of sweeps and of jobs are apart (one string may be both).  A
 * deleted sweep's key is free again. */
enum srv_status srv_store_sweep_insert(struct srv_store *s, const struct srv_store_sweep *sw,
                                       const char *idem_key, const char *request_sha256,
                                       int64_t *id, bool *replayed, struct ae_err *err);
/* Set a sweep's state and finished_at. */
enum srv_status srv_store_sweep_update(struct srv_store *s, int64_t id, const char *state,
                                       double finished_at, struct ae_err *err);
/* Delete a sweep with its trial and decision rows (not its jobs).
 * SRV_ERR_NOTFOUND if there is none. */
enum srv_status srv_store_sweep_delete(struct srv_store *s, int64_t id, struct ae_err *err);
/* Record one epoch result and its decision.  A second row for the same
 * (sweep, trial, epoch) is ignored (*seq then 0): the first decision stands. */
enum srv_status srv_store_decision_put(struct srv_store *s, const struct srv_store_decision *d,
                                       int64_t *seq, struct ae_err *err);
/* Call on_sweep for every sweep (id order), then on_trial for every trial
 * ((sweep, trial) order), then on_decision for every decision (seq order).
 * Callbacks run with the store's lock held: they must not call the store.
 * A callback returning non-zero stops with SRV_ERR_INTERNAL. */
enum srv_status srv_store_sweeps_load(struct srv_store *s,
                                      int (*on_sweep)(void *user, const struct srv_store_sweep *sw),
                                      int (*on_trial)(void *user, const struct srv_store_trial *t),
                                      int (*on_decision)(void *user,
                                                         const struct srv_store_decision *d),
                                      void *user, struct ae_err *err);

/* PRAGMA integrity_check; SRV_OK when it says "ok". */
enum srv_status srv_store_check(struct srv_store *s, struct ae_err *err);

#endif /* SRV_STORE_H */
