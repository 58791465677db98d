/*
 * srv_executor.c - choosing an executor, and the job-lifecycle steps every
 * executor takes the same way (see srv_executor.h).
 */
#include "srv_executor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_log.h"
#include "srv_run.h"

/* The engines (each in its own srv_exec_*.c). */
enum srv_status srv_exec_local_new(struct srv_executor *ex, struct ae_err *err);
enum srv_status srv_exec_slurm_new(struct srv_executor *ex, struct ae_err *err);

static const struct {
    const char *name;
    enum srv_status (*make)(struct srv_executor *ex, struct ae_err *err);
} engines[] = {
    {"local", srv_exec_local_new},
    {"slurm", srv_exec_slurm_new},
};

enum srv_status srv_executor_new(struct srv_app *app, const char *name, struct srv_executor **out,
                                 struct ae_err *err)
{
    struct srv_executor *ex;
    *out = NULL;
    for (size_t i = 0; i < sizeof engines / sizeof engines[0]; i++) {
        if (strcmp(engines[i].name, name) != 0) continue;
        ex = calloc(1, sizeof *ex);
        if (!ex) return srv_err_set(err, SRV_ERR_NOMEM, "out of memory making the executor");
        ex->app = app;
        enum srv_status st = engines[i].make(ex, err);
        if (st != SRV_OK) {
            free(ex);
            return st;
        }
        *out = ex;
        return SRV_OK;
    }
    return srv_err_set(err, SRV_ERR_ARG, "--executor %s: unknown; use local or slurm", name);
}

enum srv_status srv_executor_start(struct srv_executor *ex, struct ae_err *err)
{
    return ex->ops->start(ex, err);
}

void srv_executor_stop(struct srv_executor *ex)
{
    if (!ex) return;
    ex->ops->stop(ex); /* frees ex->impl */
    free(ex);
}

bool srv_executor_owns(const struct srv_executor *ex, struct srv_job *j)
{
    bool has_id;
    pthread_mutex_lock(&j->lock);
    has_id = j->slurm_job_id[0] != '\0';
    pthread_mutex_unlock(&j->lock);
    return has_id && strcmp(ex->ops->name, "slurm") == 0;
}

enum srv_status srv_exec_job_started(struct srv_app *app, struct srv_job *j, int32_t start_epoch,
                                     const char *node, double at, struct ae_err *err)
{
    enum srv_status st = srv_job_start(j, app->store, app->feed, start_epoch, at, err);
    if (st != SRV_OK) return st;
    if (node && *node) srv_job_set_placement(j, app->store, app->feed, NULL, NULL, node, NULL);
    if (start_epoch > 0)
        srv_log(SRV_LOG_INFO, j->id, "msg=\"job resumed from checkpoint\" epoch=%d node=%s",
                start_epoch, node && *node ? node : "-");
    else
        srv_log(SRV_LOG_INFO, j->id,
                "msg=\"job started\" model=%s dataset=%s epochs=%d threads=%d executor=%s node=%s",
                j->model, j->dataset, j->cfg.epochs, j->cfg.threads, j->executor,
                node && *node ? node : "-");
    return SRV_OK;
}

enum srv_status srv_exec_job_epoch(struct srv_app *app, struct srv_job *j,
                                   const struct ae_epoch_stats *m0, struct ae_err *err)
{
    struct ae_epoch_stats m = *m0;
    struct ae_err e = {0};
    size_t n;
    const struct ae_metric *t = ae_metrics(&n);
    for (size_t i = 0; i < n; i++)
        if (!ae_metric_applies(&t[i], j->cfg.model)) ae_metric_set(&m, i, NAN);
    if (srv_job_epoch(j, app->store, app->feed, &m, &e) != SRV_OK)
        return srv_err_set(err, SRV_ERR_IO, "recording epoch %d: %s", m.epoch, e.msg);
    atomic_fetch_add(&app->metrics.epochs_total, 1);
    srv_log(SRV_LOG_INFO, j->id,
            "msg=\"epoch\" epoch=%d/%d loss=%.6f val_loss=%.6f train_seconds=%.2f",
            m.epoch, j->cfg.epochs, m.loss, m.val_loss, m.train_seconds);
    return SRV_OK;
}

void srv_exec_job_batch(struct srv_app *app, struct srv_job *j, const struct ae_progress *p,
                        int64_t *last_samples)
{
    int64_t delta = p->samples - *last_samples;
    if (delta < 0) delta = p->samples; /* a new epoch */
    *last_samples = p->samples;
    atomic_fetch_add(&app->metrics.samples_total, (unsigned long)delta);
    srv_job_progress(j, app->feed, p);
}

void srv_exec_job_finish(struct srv_app *app, struct srv_job *j, enum srv_job_state to,
                         const char *error, double at)
{
    struct ae_err e = {0};
    char q[600];
    /* keep=final: the run directory is pruned before the final state is
     * committed and published, so whoever sees the state sees the pruned
     * directory. */
    if (j->keep_final) {
        char dir[4400];
        srv_app_run_dir(app, j, dir, sizeof dir);
        if (srv_run_prune(dir, &e) != AE_OK)
            srv_log(SRV_LOG_WARN, j->id, "msg=\"keep=final: could not prune\" error=\"%s\"",
                    srv_log_quote(q, sizeof q, e.msg));
        e = (struct ae_err){0};
    }
    if (srv_job_finish(j, app->store, app->feed, to, error, at, &e) != SRV_OK) {
        srv_log(SRV_LOG_ERROR, j->id,
                "msg=\"could not record the final state\" state=%s error=\"%s\"",
                srv_job_state_name(to), srv_log_quote(q, sizeof q, e.msg));
        return;
    }
    if (to == SRV_JOB_FAILED)
        srv_log(SRV_LOG_WARN, j->id, "msg=\"job failed\" error=\"%s\"",
                srv_log_quote(q, sizeof q, error ? error : ""));
    else
        srv_log(SRV_LOG_INFO, j->id, "msg=\"job %s\"", srv_job_state_name(to));
}

enum srv_job_state srv_exec_stop_state(struct srv_job *j)
{
    return atomic_load(&j->stop_requested) ? SRV_JOB_STOPPED : SRV_JOB_CANCELLED;
}
