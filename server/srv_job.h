/*
 * srv_job.h - one job: its settings, its state machine and its live
 * progress, shared by the registry, the queue, a worker and handlers.
 *
 * Lifetime: refcounted.  srv_job_new returns one reference; the registry,
 * the queue, a running worker and each handler in flight hold their own
 * (srv_job_ref / srv_job_unref; the last unref frees).
 *
 * Locking: the fields under "guarded by lock" change only through the
 * functions below, under job->lock, and every state change is committed to
 * the store first.  Handlers read them under the lock (srv_job_to_json).
 * Every change is published to the feed (srv_feed.h), which is what event
 * streams wait on; a worker never waits for a reader.
 */
#ifndef SRV_JOB_H
#define SRV_JOB_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/ae.h"
#include "srv_feed.h"
#include "srv_jobspec.h"
#include "srv_status.h"
#include "srv_store.h"

enum srv_job_state {
    SRV_JOB_QUEUED = 0,
    SRV_JOB_RUNNING,
    SRV_JOB_SUCCEEDED,
    SRV_JOB_FAILED,
    SRV_JOB_CANCELLED,
    SRV_JOB_STOPPED, /* a sweep stopped the trial early (not a cancel) */
    SRV_JOB_STATE_COUNT
};

const char *srv_job_state_name(enum srv_job_state s);
bool srv_job_state_parse(const char *name, enum srv_job_state *out);
static inline bool srv_job_state_final(enum srv_job_state s)
{
    return s == SRV_JOB_SUCCEEDED || s == SRV_JOB_FAILED || s == SRV_JOB_CANCELLED ||
           s == SRV_JOB_STOPPED;
}

struct srv_job;

/* Who hears about a job's epochs and its end, whatever runs it (a sweep,
 * the keep=final pruning).  Set with srv_job_set_observer before the job
 * is shared.  Both are called after the change is committed and published,
 * outside job->lock, in the thread that made the change; they must not
 * block for long. */
struct srv_job_observer {
    void (*on_epoch)(void *ctx, struct srv_job *j, int32_t epoch);
    void (*on_final)(void *ctx, struct srv_job *j);
    void *ctx;
};

struct srv_job {
    /* Immutable after srv_job_new. */
    int64_t id;
    char name[SRV_JOB_NAME_MAX + 1];
    char model[16];
    char dataset[32];
    struct ae_config cfg;
    char run_name[128]; /* "0007-conv" or "sweep-0003-lr/0007-conv": the run
                         * directory under the log dir */
    double created_at; /* Unix time */
    int64_t sweep_id;  /* the sweep this job is a trial of; 0 = none */
    bool keep_final;   /* "keep": "final": prune the run directory at the end */
    struct srv_job_observer observer;

    atomic_int refs;
    atomic_bool cancel_requested; /* set by cancel; the worker stops at the next batch */
    /* Set by a sweep's early stop.  It also sets cancel_requested, so an
     * executor that watches only that flag stops the job too; srv_job_finish
     * turns the resulting "cancelled" into "stopped". */
    atomic_bool stop_requested;

    pthread_mutex_t lock;
    /* Guarded by lock. */
    uint64_t version;  /* bumped by every change below (for the JSON cache) */
    enum srv_job_state state;
    bool removed;      /* deleted from the registry: streams end */
    bool suspended;    /* stopped by shutdown; still "running" in the database */
    double started_at, finished_at;
    char error[512];
    char executor[8];      /* "local" or "slurm": the engine that runs it */
    char slurm_job_id[32]; /* "" until handed to Slurm */
    char node[64];         /* where it runs or ran; "" when not known */
    int32_t start_epoch;          /* epochs already done when this run (re)started */
    int32_t cur_epoch, batch, n_batches; /* live progress of the epoch in training */
    double batch_loss;            /* running mean loss of that epoch */
    int64_t samples;              /* images seen in that epoch */
    double epoch_t0;              /* monotonic time the epoch started */
    double rate;                  /* recent training images per second */
    double last_batch_t;          /* monotonic time of the last batch report */
    int64_t last_batch_samples;
    double last_publish_t;        /* monotonic time progress was last published */
    struct ae_epoch_stats *rows; /* completed epochs, in epoch order */
    int32_t n_rows, cap_rows;
    /* Latest reconstructions.png (for the latest epoch only). */
    uint8_t *png;
    size_t png_len;
    int32_t png_epoch, png_n;
    /* The job's JSON text, [0] without and [1] with the per-epoch rows,
     * valid while version and queue position are unchanged, for at most
     * SRV_JOB_JSON_MAX_AGE seconds (durations and ETAs move with time). */
    struct {
        char *text;
        size_t len;
        uint64_t version;
        size_t queue_position;
        double t;
    } json_cache[2];
};

#define SRV_JOB_JSON_MAX_AGE 0.25

/* A job in state `state` (as loaded or freshly submitted).  Copies every
 * string.  Returns NULL when out of memory. */
struct srv_job *srv_job_new(int64_t id, const char *name, const char *model, const char *dataset,
                            const struct ae_config *cfg, enum srv_job_state state,
                            double created_at);
struct srv_job *srv_job_ref(struct srv_job *j);
void srv_job_unref(struct srv_job *j); /* NULL-safe */

/* Before the job is shared: make it a trial of sweep sweep_id, whose run
 * directory is <run_parent>/<id>-<model> (run_parent NULL keeps the
 * default), say what it keeps, and who observes it (NULL for nobody). */
void srv_job_set_sweep(struct srv_job *j, int64_t sweep_id, const char *run_parent);
void srv_job_set_keep(struct srv_job *j, bool keep_final);
void srv_job_set_observer(struct srv_job *j, const struct srv_job_observer *o);

/* Restore fields loaded from the database (start-up only, before sharing). */
void srv_job_restore(struct srv_job *j, double started_at, double finished_at, const char *error);
/* Add or replace an epoch row in memory only (start-up loading). */
enum srv_status srv_job_put_row(struct srv_job *j, const struct ae_epoch_stats *m,
                                struct ae_err *err);

/* State changes.  Each commits to store first (store may be NULL in unit
 * tests), then changes memory and publishes to feed (may be NULL).  SRV_ERR_STATE when the job is not in the
 * state the change starts from (err says which state it is in). */

/* Times: `at` is when it happened, by the clock of whoever saw it happen
 * (a Slurm node's own line in the progress file); 0 means now.  It is kept
 * between the job's creation and now, so a skewed clock cannot make a job
 * start before it was made or end in the future. */

/* queued -> running, or a suspended/restarted running job running again.
 * started_at is set by the first start only. */
enum srv_status srv_job_start(struct srv_job *j, struct srv_store *st, struct srv_feed *feed,
                              int32_t start_epoch, double at, struct ae_err *err);
/* running -> succeeded | failed | cancelled | stopped (error text for
 * failed).  "cancelled" becomes "stopped" when stop_requested is set and
 * the job was never cancelled by a user.  Calls the observer's on_final. */
enum srv_status srv_job_finish(struct srv_job *j, struct srv_store *st, struct srv_feed *feed,
                               enum srv_job_state to, const char *error, double at,
                               struct ae_err *err);
/* queued -> cancelled (the caller removed it from the queue). */
enum srv_status srv_job_cancel_queued(struct srv_job *j, struct srv_store *st,
                                      struct srv_feed *feed, struct ae_err *err);
/* Ask a running job to stop at its next batch (memory only). */
void srv_job_request_cancel(struct srv_job *j, struct srv_feed *feed);
/* Record where the job runs: executor, Slurm job id, node (NULL keeps a
 * field, "" clears it).  Commits (when something changed), then
 * publishes.  Also used at start-up before sharing (st and feed NULL). */
enum srv_status srv_job_set_placement(struct srv_job *j, struct srv_store *st,
                                      struct srv_feed *feed, const char *executor,
                                      const char *slurm_job_id, const char *node,
                                      struct ae_err *err);
/* Ask a running (or queued) job to stop early for its sweep: it ends
 * "stopped" (memory only; the sweep's decision table is the record). */
void srv_job_request_stop(struct srv_job *j, struct srv_feed *feed);
/* Mark a running job suspended by shutdown (memory only). */
void srv_job_suspend(struct srv_job *j, struct srv_feed *feed);
/* Mark deleted: event streams end (memory only). */
void srv_job_mark_removed(struct srv_job *j, struct srv_feed *feed);

/* After every batch (memory only; never blocks on readers; publishes at
 * most every 0.25 s). */
void srv_job_progress(struct srv_job *j, struct srv_feed *feed, const struct ae_progress *p);
/* After an epoch: commit the row (upsert), publish it, then call the
 * observer's on_epoch. */
enum srv_status srv_job_epoch(struct srv_job *j, struct srv_store *st, struct srv_feed *feed,
                              const struct ae_epoch_stats *m, struct ae_err *err);

/* The job as the API shows it (lock taken inside).  full adds the per-epoch
 * rows.  queue_position is 1-based for queued jobs, else 0.  run_dir is the
 * job's run directory path.  New reference; NULL when out of memory. */
json_t *srv_job_to_json(struct srv_job *j, bool full, size_t queue_position, const char *run_dir);

/* The same as srv_job_to_json, as text (caller frees with free(); *len
 * receives its length), served from the job's cache when nothing changed:
 * polling a job costs a copy, not a rebuild.  NULL when out of memory. */
char *srv_job_json_text(struct srv_job *j, bool full, size_t queue_position, const char *run_dir,
                        size_t *len);

/* The progress fields only (the payload of `progress` events). */
json_t *srv_job_progress_json(struct srv_job *j);
/* One epoch's row as JSON, or NULL if the job has no such epoch. */
json_t *srv_job_epoch_json(struct srv_job *j, int32_t epoch);

/* Current state (lock taken inside). */
enum srv_job_state srv_job_get_state(struct srv_job *j);

#endif /* SRV_JOB_H */
