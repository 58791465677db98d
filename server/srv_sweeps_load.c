/*
 * srv_sweeps_load.c - the sweeps after a restart (srv_sweeps_load).
 *
 * Reloads the sweeps, their trials and their decision table as stored,
 * takes the decisions missing from the table from the trials' stored
 * epochs (trial by trial, epoch by epoch), stops the trials decided
 * "stop", then lets the manager submit the trials not started yet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_log.h"
#include "srv_sweeps_priv.h"

/* ------------------------------------------------------------------------ */
/* Start-up                                                                 */
/* ------------------------------------------------------------------------ */

struct load_ctx {
    struct srv_app *app;
    struct env_buf env;
    int bad;
};

static int on_sweep(void *user, const struct srv_store_sweep *r)
{
    struct load_ctx *c = user;
    struct srv_sweepspec spec;
    json_error_t je;
    json_t *body = json_loads(r->spec, 0, &je);
    struct sweep *sw;

    if (!body || srv_sweepspec_validate(body, &c->env.env, &spec, NULL, NULL) != SRV_OK) {
        /* A sweep this version cannot read: left out, its jobs stay jobs. */
        json_decref(body);
        c->bad++;
        srv_log(SRV_LOG_WARN, 0, "msg=\"stored sweep could not be read; skipped\" sweep=%lld",
                (long long)r->id);
        return 0;
    }
    sw = srv_sweeps_make(body, &spec);
    json_decref(body);
    if (!sw) {
        srv_sweepspec_fini(&spec);
        return 1;
    }
    srv_sweeps_set_id(sw, r->id);
    for (int k = 0; k < 3; k++)
        if (!strcmp(r->state, srv_sweeps_state_names[k])) sw->state = (enum sweep_state)k;
    sw->created_at = r->created_at;
    sw->finished_at = r->finished_at;
    if (!srv_sweeps_add(c->app->sweeps, sw)) {
        srv_sweeps_sweep_free(sw);
        return 1;
    }
    return 0;
}

static int on_trial(void *user, const struct srv_store_trial *r)
{
    struct load_ctx *c = user;
    struct sweep *sw = srv_sweeps_find(c->app->sweeps, r->sweep_id);
    struct trial *tp;
    json_error_t je;
    if (!sw || r->trial != sw->n_started) return 0; /* gaps cannot happen; ignore if they do */
    tp = realloc(sw->trials, (size_t)(sw->n_started + 1) * sizeof *tp);
    if (!tp) return 1;
    sw->trials = tp;
    tp[sw->n_started] = (struct trial){.index = r->trial, .job_id = r->job_id,
                                       .params = json_loads(r->params, 0, &je)};
    if (!tp[sw->n_started].params) tp[sw->n_started].params = json_object();
    sw->n_started++;
    return 0;
}

static int on_decision(void *user, const struct srv_store_decision *d)
{
    struct load_ctx *c = user;
    struct sweep *sw = srv_sweeps_find(c->app->sweeps, d->sweep_id);
    enum row_decision k = DEC_NONE;
    if (!sw) return 0;
    for (int i = 0; i < 3; i++)
        if (!strcmp(d->decision, srv_sweeps_decision_names[i])) k = (enum row_decision)i;
    if (!srv_sweeps_add_row(sw, d->trial, d->epoch, d->value, k)) return 1;
    if (k == DEC_STOP && d->trial < sw->n_started) sw->trials[d->trial].stopped_at = d->epoch;
    return 0;
}

static void observe_one(void *user, struct srv_job *j)
{
    srv_sweeps_observe(user, j);
}

/* Take the decisions missing from the table and stop the trials decided
 * "stop" that have not stopped.  Start-up only (no observers yet). */
static void reconcile(struct srv_app *app, struct sweep *sw)
{
    for (int32_t i = 0; i < sw->n_started; i++) {
        struct trial *t = &sw->trials[i];
        struct srv_job *j = srv_registry_get(app->registry, t->job_id);
        struct ae_epoch_stats *rows = NULL;
        int32_t n = 0;
        bool stop = t->stopped_at > 0;
        if (!j) continue;
        pthread_mutex_lock(&j->lock);
        if (j->n_rows) rows = malloc((size_t)j->n_rows * sizeof *rows);
        if (rows) {
            n = j->n_rows;
            memcpy(rows, j->rows, (size_t)n * sizeof *rows);
        }
        pthread_mutex_unlock(&j->lock);
        for (int32_t k = 0; k < n && !stop; k++)
            if (srv_sweeps_record(app, sw, t, rows[k].epoch, rows[k].val_loss) == DEC_STOP)
                stop = true;
        free(rows);
        if (stop && !srv_job_state_final(srv_job_get_state(j))) {
            srv_job_request_stop(j, app->feed);
            if (srv_job_finish(j, app->store, app->feed, SRV_JOB_CANCELLED, NULL, 0, NULL) == SRV_OK &&
                srv_queue_remove(app->queue, j))
                srv_job_unref(j);
            srv_log(SRV_LOG_INFO, j->id, "msg=\"trial was stopped before the restart\" sweep=%lld",
                    (long long)sw->id);
        }
        srv_job_unref(j);
    }
}

enum srv_status srv_sweeps_load(struct srv_app *app, struct ae_err *err)
{
    struct load_ctx c = {.app = app};
    struct srv_sweeps *m = app->sweeps;
    enum srv_status st;
    size_t running = 0;

    srv_sweeps_make_env(app, &c.env, true);
    pthread_mutex_lock(&m->lock);
    st = srv_store_sweeps_load(app->store, on_sweep, on_trial, on_decision, &c, err);
    for (size_t i = 0; st == SRV_OK && i < m->n; i++)
        if (m->all[i]->state == SW_RUNNING) reconcile(app, m->all[i]);
    pthread_mutex_unlock(&m->lock);
    if (st != SRV_OK) return st;
    srv_registry_foreach(app->registry, observe_one, app);
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n; i++)
        if (m->all[i]->state == SW_RUNNING) {
            srv_sweeps_pump(app, m->all[i]);
            if (m->all[i]->state == SW_RUNNING) running++;
        }
    srv_log(SRV_LOG_INFO, 0, "msg=\"sweeps loaded\" sweeps=%zu running=%zu unreadable=%d", m->n,
            running, c.bad);
    pthread_mutex_unlock(&m->lock);
    return SRV_OK;
}
