/*
 * srv_worker.h - the worker pool: N threads, each training one job at a
 * time through srv_run_job.
 *
 * Workers pop jobs from app->queue, report progress and epochs into the
 * job (and so to SQLite and the event feed) and record the final state.
 * When app->stopping is set they suspend their jobs at the next batch
 * (checkpoint on disk, state left "running" in the database so the next
 * start resumes them).
 */
#ifndef SRV_WORKER_H
#define SRV_WORKER_H

#include "srv_app.h"

struct srv_workers;

/* Start n worker threads.  Caller stops them with srv_workers_stop. */
enum srv_status srv_workers_start(struct srv_app *app, int n, struct srv_workers **out,
                                  struct ae_err *err);
/* Join every worker.  The caller has set app->stopping and closed the
 * queue first (so running jobs suspend and idle workers wake).  NULL-safe. */
void srv_workers_stop(struct srv_workers *w);

#endif /* SRV_WORKER_H */
