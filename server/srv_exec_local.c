/*
 * srv_exec_local.c - the local executor: N worker threads inside aelabd,
 * each training one job at a time through srv_run_job (see
 * srv_executor.h).
 *
 * Workers pop jobs from app->queue, report progress and epochs into the
 * job (and so to SQLite and the event feed) and record the final state.
 * When app->stopping is set they suspend their jobs at the next batch
 * (checkpoint on disk, state left "running" in the database so the next
 * start resumes them).  It does not touch HTTP and never waits for a
 * reader: hooks only take the job's own lock briefly, and per-epoch
 * commits happen before that lock is taken.
 *
 * DESIGN: the worker is the only thread that trains a given job, so the
 * hooks' context (last sample count, whether a suspend was asked for) is
 * plain worker-local state; everything shared goes through srv_job.c and
 * the lifecycle helpers of srv_executor.c.
 */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_executor.h"
#include "srv_job.h"
#include "srv_log.h"
#include "srv_run.h"
#include "srv_testhook.h"

struct local {
    int n;
    pthread_t *threads;
};

struct run_ctx {
    struct srv_app *app;
    struct srv_job *job;
    int64_t last_samples;
    bool suspending;
};

static void hook_start(void *user, int32_t start_epoch)
{
    struct run_ctx *c = user;
    /* Memory only (the store has said running since run_one's start). */
    srv_job_start(c->job, NULL, c->app->feed, start_epoch, 0, NULL);
    if (start_epoch > 0)
        srv_log(SRV_LOG_INFO, c->job->id, "msg=\"job resumed from checkpoint\" epoch=%d",
                start_epoch);
}

static void hook_batch(void *user, const struct ae_progress *p)
{
    struct run_ctx *c = user;
    srv_exec_job_batch(c->app, c->job, p, &c->last_samples);
}

static enum ae_status hook_epoch(void *user, const struct ae_epoch_stats *s, struct ae_err *err)
{
    struct run_ctx *c = user;
    struct ae_err e = {0};
    c->last_samples = 0;
    if (srv_exec_job_epoch(c->app, c->job, s, &e) != SRV_OK)
        return ae_err_set(err, AE_ERR_IO, "%s", e.msg);
    return AE_OK;
}

static enum srv_run_next hook_next(void *user)
{
    struct run_ctx *c = user;
    if (atomic_load(&c->app->stopping)) {
        c->suspending = true;
        return SRV_RUN_SUSPEND;
    }
    if (atomic_load(&c->job->cancel_requested)) return SRV_RUN_CANCEL;
    return SRV_RUN_CONTINUE;
}

static void finish(struct srv_app *app, struct srv_job *j, enum srv_job_state to, const char *error)
{
    srv_exec_job_finish(app, j, to, error, 0);
}

static void run_one(struct srv_app *app, struct srv_job *j)
{
    struct ae_err e = {0};
    const struct ae_dataset *ds = NULL;
    struct run_ctx ctx = {.app = app, .job = j};
    char run_dir[4400];
    enum ae_status rc;

    /* Popped while shutting down: it stays queued in the database. */
    if (atomic_load(&app->stopping)) return;
    {
        enum srv_status st = srv_job_start(j, app->store, app->feed, 0, 0, &e);
        if (st == SRV_ERR_STATE) return; /* cancelled while it waited */
        atomic_fetch_add(&app->metrics.workers_busy, 1);
        if (st != SRV_OK) {
            char msg[700];
            snprintf(msg, sizeof msg, "could not start: %s", e.msg);
            finish(app, j, SRV_JOB_FAILED, msg);
            goto out;
        }
    }
    srv_log(SRV_LOG_INFO, j->id, "msg=\"job started\" model=%s dataset=%s epochs=%d threads=%d",
            j->model, j->dataset, j->cfg.epochs, j->cfg.threads);

    if (atomic_load(&j->cancel_requested)) {
        finish(app, j, srv_exec_stop_state(j), NULL);
        goto out;
    }
    if (srv_data_get(app->data, j->dataset, &ds, NULL, &e) != AE_OK) {
        char msg[700];
        snprintf(msg, sizeof msg, "data set %s: %s", j->dataset, e.msg);
        finish(app, j, SRV_JOB_FAILED, msg);
        goto out;
    }
    srv_app_run_dir(app, j, run_dir, sizeof run_dir);
    {
        struct srv_run_opts o = {
            .run_dir = run_dir,
            .run_name = j->name[0] ? j->name : j->run_name,
            .job_id = j->id,
            .dataset_name = j->dataset,
            .cfg = &j->cfg,
            .ds = ds,
            .clock = NULL,
        };
        struct srv_run_hooks h = {
            .on_start = hook_start,
            .on_batch = hook_batch,
            .on_epoch = hook_epoch,
            .next = hook_next,
            .user = &ctx,
        };
        rc = srv_run_job(&o, &h, &e);
    }
    if (rc == AE_OK) {
        finish(app, j, SRV_JOB_SUCCEEDED, NULL);
    } else if (rc == AE_ERR_CANCELLED && ctx.suspending) {
        srv_job_suspend(j, app->feed);
        srv_log(SRV_LOG_INFO, j->id,
                "msg=\"job suspended for shutdown; it resumes on the next start\"");
    } else if (rc == AE_ERR_CANCELLED) {
        finish(app, j, srv_exec_stop_state(j), NULL);
    } else {
        finish(app, j, SRV_JOB_FAILED, e.msg[0] ? e.msg : ae_status_str(rc));
    }
out:
    if (ds) srv_data_put(app->data, ds);
    atomic_fetch_sub(&app->metrics.workers_busy, 1);
}

static void *worker_main(void *arg)
{
    struct srv_app *app = arg;
    struct srv_job *j;
    struct sched_param sp = {.sched_priority = 0};

    /* SCHED_BATCH: the scheduler treats training as the CPU-bound work it
     * is, so a woken HTTP thread preempts it at once (short requests, low
     * latency) while the jobs keep their share.  The trainer's own threads
     * inherit the policy.  Unprivileged and harmless if refused. */
    pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
    while ((j = srv_queue_pop(app->queue)) != NULL) {
        srv_testhook_job_begin(app->data, j->id);
        run_one(app, j);
        srv_testhook_job_end(app->data, j->id);
        srv_job_unref(j); /* the queue's reference */
    }
    return NULL;
}

static enum srv_status local_start(struct srv_executor *ex, struct ae_err *err)
{
    struct srv_app *app = ex->app;
    struct local *w = ex->impl;
    int n = app->cfg.workers;
    w->threads = calloc((size_t)n, sizeof *w->threads);
    if (!w->threads) return srv_err_set(err, SRV_ERR_NOMEM, "out of memory starting workers");
    for (int i = 0; i < n; i++) {
        if (pthread_create(&w->threads[i], NULL, worker_main, app) != 0) {
            w->n = i;
            srv_queue_close(app->queue);
            return srv_err_set(err, SRV_ERR_INTERNAL, "could not start worker thread %d", i + 1);
        }
    }
    w->n = n;
    srv_log(SRV_LOG_INFO, 0, "msg=\"executor\" executor=local workers=%d", n);
    return SRV_OK;
}

/* The caller has set app->stopping and closed the queue first (so running
 * jobs suspend and idle workers wake). */
static void local_stop(struct srv_executor *ex)
{
    struct local *w = ex->impl;
    if (!w) return;
    for (int i = 0; i < w->n; i++) pthread_join(w->threads[i], NULL);
    free(w->threads);
    free(w);
    ex->impl = NULL;
}

static void local_health(struct srv_executor *ex, json_t *o)
{
    (void)ex;
    json_object_set_new(o, "executor", json_string("local"));
}

static const struct srv_executor_ops local_ops = {
    .name = "local",
    .start = local_start,
    .stop = local_stop,
    .health = local_health,
    .metrics = NULL,
};

enum srv_status srv_exec_local_new(struct srv_executor *ex, struct ae_err *err)
{
    ex->impl = calloc(1, sizeof(struct local));
    if (!ex->impl) return srv_err_set(err, SRV_ERR_NOMEM, "out of memory making the executor");
    ex->ops = &local_ops;
    return SRV_OK;
}
