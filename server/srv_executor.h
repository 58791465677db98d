/*
 * srv_executor.h - where jobs train: one interface, one implementation per
 * engine (srv_exec_local.c: threads inside aelabd; srv_exec_slurm.c: one
 * Slurm batch job per aelab job).  A new engine is one new file with an
 * ops table and a line in srv_executor_new.
 *
 * The contract with the rest of the daemon:
 * - Jobs reach an executor only through app->queue, in submission order
 *   (POST /api/jobs, the sweep manager and the restart all push there).
 * - A job loaded non-final at start-up that an executor owns elsewhere
 *   (a Slurm job id) is not queued: srv_executor_owns says so, and the
 *   executor's start() re-attaches it.
 * - Running jobs are asked to stop only through their flags
 *   (cancel_requested, and stop_requested where sweeps add it); the
 *   executor watches them and records the final state.
 * - On shutdown (app->stopping set, queue closed) stop() returns once no
 *   thread of the executor touches a job; what happens to running work is
 *   the engine's business (local: suspended to a checkpoint; Slurm: keeps
 *   running and is re-attached on the next start).
 * - Every state change goes through the helpers below, so the log lines,
 *   counters and store writes are the same whatever the engine.
 */
#ifndef SRV_EXECUTOR_H
#define SRV_EXECUTOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "srv_app.h"
#include "srv_job.h"

struct srv_executor;

struct srv_executor_ops {
    const char *name; /* "local", "slurm": the job JSON's "executor" */
    /* Check the engine (binaries, controller, partition) and start its
     * threads.  Errors are start-up errors: aelabd refuses to start. */
    enum srv_status (*start)(struct srv_executor *ex, struct ae_err *err);
    /* Join every thread and free the engine's state (see above). */
    void (*stop)(struct srv_executor *ex);
    /* Add the engine's fields to the /api/health object (may be NULL). */
    void (*health)(struct srv_executor *ex, json_t *o);
    /* Append Prometheus lines for /metrics (may be NULL); put() appends. */
    void (*metrics)(struct srv_executor *ex, void (*put)(void *b, const char *text), void *b);
};

struct srv_executor {
    const struct srv_executor_ops *ops;
    struct srv_app *app;
    void *impl; /* the engine's own state */
};

/* The executor called name ("local" or "slurm"), not started.  Caller
 * frees with srv_executor_stop (started or not). */
enum srv_status srv_executor_new(struct srv_app *app, const char *name, struct srv_executor **out,
                                 struct ae_err *err);
static inline const char *srv_executor_name(const struct srv_executor *ex)
{
    return ex->ops->name;
}
/* Start (see ops.start). */
enum srv_status srv_executor_start(struct srv_executor *ex, struct ae_err *err);
/* Stop and free; NULL-safe. */
void srv_executor_stop(struct srv_executor *ex);

/* True when job j, loaded non-final at start-up, is in the hands of an
 * outside engine (it has a Slurm job id) and ex will re-attach it instead
 * of taking it from the queue. */
bool srv_executor_owns(const struct srv_executor *ex, struct srv_job *j);

/* ---- Job-lifecycle helpers shared by every engine --------------------- */

/* The job started (or restarted) training at start_epoch epochs done.
 * node: where (NULL keeps what is known); at: when, by the clock that saw
 * it (0: now; see srv_job_start).  Commits, publishes, logs. */
enum srv_status srv_exec_job_started(struct srv_app *app, struct srv_job *j, int32_t start_epoch,
                                     const char *node, double at, struct ae_err *err);
/* One epoch finished: upsert its row (idempotent, so a replayed progress
 * file is harmless), count it, log it.  A figure the model does not
 * report (ae_metric_applies) is stored as NULL. */
enum srv_status srv_exec_job_epoch(struct srv_app *app, struct srv_job *j,
                                   const struct ae_epoch_stats *m, struct ae_err *err);
/* A batch report (memory only; counts training samples for /metrics).
 * last_samples is the engine's per-job memory of the previous report. */
void srv_exec_job_batch(struct srv_app *app, struct srv_job *j, const struct ae_progress *p,
                        int64_t *last_samples);
/* The job ended in final state `to` (error text for failed): commit,
 * publish, log.  A job already final is left alone (logged). */
void srv_exec_job_finish(struct srv_app *app, struct srv_job *j, enum srv_job_state to,
                         const char *error, double at);
/* The state a job that stopped because of its flags ends in. */
enum srv_job_state srv_exec_stop_state(struct srv_job *j);

#endif /* SRV_EXECUTOR_H */
