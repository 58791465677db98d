/*
 * srv_sweeps_actions.c - what a user does to a sweep: create it
 * (srv_sweeps_create), cancel it (srv_sweeps_cancel) and delete it
 * (srv_sweeps_delete).
 *
 * Each checks the request against the sweep's state, commits the change
 * and hands the running sweep back to the manager (srv_sweeps.c) through
 * srv_sweeps_pump.  It does not validate the spec (srv_sweepspec.c),
 * submit trials or take decisions (srv_sweeps.c), or speak HTTP
 * (srv_api_sweeps.c).
 */
#include "srv_sweeps_priv.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_log.h"
#include "srv_sweep_tb.h"
#include "srv_sweepspec.h"

/* ------------------------------------------------------------------------ */
/* Create                                                                   */
/* ------------------------------------------------------------------------ */


enum srv_status srv_sweeps_create(struct srv_app *app, const json_t *body, const char *idem_key,
                                  const char *request_sha256, json_t **out, bool *replayed,
                                  json_t **problem, struct ae_err *err)
{
    struct srv_sweeps *m = app->sweeps;
    struct srv_sweepspec spec;
    struct env_buf env;
    struct sweep *sw;
    enum srv_status st;
    char *text = NULL;
    int64_t id = 0;

    *out = NULL;
    *replayed = false;
    srv_sweeps_make_env(app, &env, false);
    st = srv_sweepspec_validate(body, &env.env, &spec, problem, err);
    if (st != SRV_OK) return st;
    sw = srv_sweeps_make(body, &spec); /* takes spec's memory */
    if (!sw) {
        srv_sweepspec_fini(&spec);
        return srv_err_set(err, SRV_ERR_NOMEM, "out of memory creating the sweep");
    }
    text = sw->body ? json_dumps(sw->body, JSON_COMPACT) : NULL;
    if (!text) {
        srv_sweeps_sweep_free(sw);
        return srv_err_set(err, SRV_ERR_NOMEM, "out of memory creating the sweep");
    }
    sw->created_at = srv_log_now_unix();
    pthread_mutex_lock(&m->lock);
    {
        struct srv_store_sweep rec = {.name = sw->name, .spec = text, .state = "running",
                                      .seed = spec.seed, .created_at = sw->created_at};
        st = srv_store_sweep_insert(app->store, &rec, idem_key, request_sha256, &id, replayed,
                                    err);
    }
    free(text);
    if (st == SRV_OK && *replayed) {
        /* A retry of a sweep made already: that sweep, nothing new. */
        struct sweep *old = srv_sweeps_find(m, id);
        srv_sweeps_sweep_free(sw);
        if (!old) {
            pthread_mutex_unlock(&m->lock);
            return srv_err_set(err, SRV_ERR_NOTFOUND, "the sweep of this Idempotency-Key "
                               "(%lld) is gone", (long long)id);
        }
        *out = srv_sweeps_json(app, old);
        pthread_mutex_unlock(&m->lock);
        return *out ? SRV_OK : srv_err_set(err, SRV_ERR_NOMEM, "out of memory building the sweep");
    }
    if (st != SRV_OK || !srv_sweeps_add(m, sw)) {
        pthread_mutex_unlock(&m->lock);
        srv_sweeps_sweep_free(sw);
        return st != SRV_OK ? st
                            : srv_err_set(err, SRV_ERR_NOMEM, "out of memory creating the sweep");
    }
    srv_sweeps_set_id(sw, id);
    {
        char root[4400];
        struct ae_err e = {0};
        snprintf(root, sizeof root, "%s/%s", app->logdir, sw->dir);
        if (srv_sweep_tb_write(root, &sw->spec, sw->body, srv_log_now_unix(), &e) != AE_OK)
            srv_log(SRV_LOG_WARN, 0, "msg=\"could not write the sweep's hparams experiment\" "
                    "sweep=%lld error=\"%s\"", (long long)id, e.msg);
    }
    srv_log(SRV_LOG_INFO, 0, "msg=\"sweep created\" sweep=%lld name=%s trials=%d concurrent=%d",
            (long long)id, sw->name, sw->spec.n_trials, sw->spec.max_concurrent);
    srv_sweeps_pump(app, sw);
    *out = srv_sweeps_json(app, sw);
    pthread_mutex_unlock(&m->lock);
    if (!*out) return srv_err_set(err, SRV_ERR_NOMEM, "out of memory building the sweep");
    return SRV_OK;
}

/* ------------------------------------------------------------------------ */
/* Cancel and delete                                                        */
/* ------------------------------------------------------------------------ */

/* New references to the sweep's trial jobs still in the registry. */
static struct srv_job **trial_jobs_locked(struct srv_app *app, struct sweep *sw, int32_t *n)
{
    struct srv_job **js = calloc((size_t)(sw->n_started ? sw->n_started : 1), sizeof *js);
    *n = 0;
    for (int32_t i = 0; js && i < sw->n_started; i++) {
        struct srv_job *j = srv_registry_get(app->registry, sw->trials[i].job_id);
        if (j) js[(*n)++] = j;
    }
    return js;
}

enum srv_status srv_sweeps_cancel(struct srv_app *app, int64_t id, struct ae_err *err)
{
    struct srv_sweeps *m = app->sweeps;
    struct srv_job **js;
    struct sweep *sw;
    int32_t n = 0;

    pthread_mutex_lock(&m->lock);
    sw = srv_sweeps_find(m, id);
    if (!sw) {
        pthread_mutex_unlock(&m->lock);
        return srv_err_set(err, SRV_ERR_NOTFOUND, "no sweep %lld", (long long)id);
    }
    if (sw->state != SW_RUNNING) {
        enum sweep_state s = sw->state;
        pthread_mutex_unlock(&m->lock);
        return srv_err_set(err, SRV_ERR_STATE, "sweep %lld has already %s", (long long)id,
                           s == SW_CANCELLED ? "been cancelled" : srv_sweeps_state_names[s]);
    }
    sw->cancelling = true;
    sw->version++;
    js = trial_jobs_locked(app, sw, &n);
    pthread_mutex_unlock(&m->lock);

    /* Without the manager's lock: a cancelled job's observer takes it. */
    for (int32_t i = 0; js && i < n; i++) {
        struct srv_job *j = js[i];
        if (srv_job_cancel_queued(j, app->store, app->feed, NULL) == SRV_OK) {
            if (srv_queue_remove(app->queue, j)) srv_job_unref(j);
        } else if (srv_job_get_state(j) == SRV_JOB_RUNNING) {
            srv_store_job_cancel(app->store, j->id, NULL);
            srv_job_request_cancel(j, app->feed);
        }
        srv_job_unref(j);
    }
    free(js);
    pthread_mutex_lock(&m->lock);
    sw = srv_sweeps_find(m, id);
    if (sw) srv_sweeps_pump(app, sw);
    pthread_mutex_unlock(&m->lock);
    srv_log(SRV_LOG_INFO, 0, "msg=\"sweep cancel requested\" sweep=%lld", (long long)id);
    return SRV_OK;
}

enum srv_status srv_sweeps_delete(struct srv_app *app, int64_t id, bool purge,
                                  struct ae_err *err)
{
    struct srv_sweeps *m = app->sweeps;
    struct srv_job **js;
    struct sweep *sw;
    enum srv_status st;
    int32_t n = 0;
    int rc;
    char dir[4400];

    pthread_mutex_lock(&m->lock);
    sw = srv_sweeps_find(m, id);
    if (!sw) {
        pthread_mutex_unlock(&m->lock);
        return srv_err_set(err, SRV_ERR_NOTFOUND, "no sweep %lld", (long long)id);
    }
    if (sw->state == SW_RUNNING) {
        pthread_mutex_unlock(&m->lock);
        return srv_err_set(err, SRV_ERR_STATE,
                           "sweep %lld is running; cancel it first (POST /api/sweeps/%lld/cancel), "
                           "then delete it", (long long)id, (long long)id);
    }
    snprintf(dir, sizeof dir, "%s/%s", app->logdir, sw->dir);
    /* Purge first: if it fails, the records stay and the client can retry. */
    if (purge && (rc = srv_app_remove_tree(dir)) != 0) {
        st = srv_err_set(err, SRV_ERR_IO, "could not delete the sweep's directory %.400s: %s; "
                         "the sweep was kept", dir, strerror(rc));
        pthread_mutex_unlock(&m->lock);
        return st;
    }
    st = srv_store_sweep_delete(app->store, id, err);
    if (st != SRV_OK && st != SRV_ERR_NOTFOUND) {
        pthread_mutex_unlock(&m->lock);
        return st;
    }
    js = trial_jobs_locked(app, sw, &n);
    for (size_t i = 0; i < m->n; i++)
        if (m->all[i] == sw) {
            memmove(m->all + i, m->all + i + 1, (m->n - i - 1) * sizeof *m->all);
            m->n--;
            break;
        }
    pthread_mutex_unlock(&m->lock);
    srv_sweeps_sweep_free(sw);
    for (int32_t i = 0; js && i < n; i++) {
        struct srv_job *gone;
        srv_store_job_delete(app->store, js[i]->id, NULL);
        gone = srv_registry_remove(app->registry, js[i]->id);
        srv_job_mark_removed(js[i], app->feed);
        srv_job_unref(gone);
        srv_job_unref(js[i]);
    }
    free(js);
    srv_log(SRV_LOG_INFO, 0, "msg=\"sweep deleted\" sweep=%lld purge=%s", (long long)id,
            purge ? "true" : "false");
    return SRV_OK;
}
