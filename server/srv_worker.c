/*
 * srv_worker.c - worker threads (see srv_worker.h).
 *
 * Owns the life of a job between the queue and its final state: start,
 * data set, srv_run_job with hooks, and the outcome.  It does not touch
 * HTTP and never waits for a reader: hooks only take the job's own lock
 * briefly, and per-epoch commits happen before that lock is taken.
 *
 * DESIGN: the worker is the only thread that trains a given job, so the
 * hooks' context (last sample count, whether a suspend was asked for) is
 * plain worker-local state; everything shared goes through srv_job.c.
 */
#include "srv_worker.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_job.h"
#include "srv_log.h"
#include "srv_run.h"
#include "srv_testhook.h"

struct srv_workers {
    struct srv_app *app;
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
    srv_job_start(c->job, NULL, c->app->feed, start_epoch, NULL);
    if (start_epoch > 0)
        srv_log(SRV_LOG_INFO, c->job->id, "msg=\"job resumed from checkpoint\" epoch=%d",
                start_epoch);
}

static void hook_batch(void *user, const struct ae_progress *p)
{
    struct run_ctx *c = user;
    int64_t delta = p->samples - c->last_samples;
    if (delta < 0) delta = p->samples; /* a new epoch */
    c->last_samples = p->samples;
    atomic_fetch_add(&c->app->metrics.samples_total, (unsigned long)delta);
    srv_job_progress(c->job, c->app->feed, p);
}

static enum ae_status hook_epoch(void *user, const struct ae_epoch_stats *s, struct ae_err *err)
{
    struct run_ctx *c = user;
    struct ae_err e = {0};
    struct ae_epoch_stats m = *s;
    size_t n;
    const struct ae_metric *t = ae_metrics(&n);
    /* A figure the model does not report is stored as NULL. */
    for (size_t i = 0; i < n; i++)
        if (!ae_metric_applies(&t[i], c->job->cfg.model)) ae_metric_set(&m, i, NAN);
    c->last_samples = 0;
    if (srv_job_epoch(c->job, c->app->store, c->app->feed, &m, &e) != SRV_OK)
        return ae_err_set(err, AE_ERR_IO, "recording epoch %d: %s", s->epoch, e.msg);
    atomic_fetch_add(&c->app->metrics.epochs_total, 1);
    srv_log(SRV_LOG_INFO, c->job->id,
            "msg=\"epoch\" epoch=%d/%d loss=%.6f val_loss=%.6f train_seconds=%.2f",
            s->epoch, c->job->cfg.epochs, s->loss, s->val_loss, s->train_seconds);
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
    struct ae_err e = {0};
    char q[600];
    if (srv_job_finish(j, app->store, app->feed, to, error, &e) != SRV_OK)
        srv_log(SRV_LOG_ERROR, j->id, "msg=\"could not record the final state\" state=%s error=\"%s\"",
                srv_job_state_name(to), srv_log_quote(q, sizeof q, e.msg));
    if (to == SRV_JOB_FAILED)
        srv_log(SRV_LOG_WARN, j->id, "msg=\"job failed\" error=\"%s\"",
                srv_log_quote(q, sizeof q, error ? error : ""));
    else
        srv_log(SRV_LOG_INFO, j->id, "msg=\"job %s\"", srv_job_state_name(to));
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
        enum srv_status st = srv_job_start(j, app->store, app->feed, 0, &e);
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
        finish(app, j, SRV_JOB_CANCELLED, NULL);
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
        srv_log(SRV_LOG_INFO, j->id, "msg=\"job suspended for shutdown; it resumes on the next start\"");
    } else if (rc == AE_ERR_CANCELLED) {
        finish(app, j, SRV_JOB_CANCELLED, NULL);
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

enum srv_status srv_workers_start(struct srv_app *app, int n, struct srv_workers **out,
                                  struct ae_err *err)
{
    struct srv_workers *w = calloc(1, sizeof *w);
    *out = NULL;
    if (!w) return srv_err_set(err, SRV_ERR_NOMEM, "out of memory starting workers");
    w->app = app;
    w->threads = calloc((size_t)n, sizeof *w->threads);
    if (!w->threads) {
        free(w);
        return srv_err_set(err, SRV_ERR_NOMEM, "out of memory starting workers");
    }
    for (int i = 0; i < n; i++) {
        if (pthread_create(&w->threads[i], NULL, worker_main, app) != 0) {
            w->n = i;
            srv_queue_close(app->queue);
            srv_workers_stop(w);
            return srv_err_set(err, SRV_ERR_INTERNAL, "could not start worker thread %d", i + 1);
        }
    }
    w->n = n;
    *out = w;
    return SRV_OK;
}

void srv_workers_stop(struct srv_workers *w)
{
    if (!w) return;
    for (int i = 0; i < w->n; i++) pthread_join(w->threads[i], NULL);
    free(w->threads);
    free(w);
}
