/*
 * srv_sweeps.c - the sweep manager (see srv_sweeps.h).
 *
 * Owns the live sweeps: which trials have started, the table of their
 * epoch results with the decision taken at each arrival, and when a sweep
 * ends: it submits the trials, records the decisions and hears about each
 * trial through its job's observer.  It does not validate (srv_sweepspec.c),
 * sample (srv_sweep_sample.c), decide (srv_sweep_sched.c), create, cancel
 * or delete a sweep (srv_sweeps_actions.c), run jobs (the executors) or
 * speak HTTP (srv_api_sweeps.c).
 *
 * DESIGN: the decision table is the record.  Every epoch a trial finishes
 * is appended to it, in arrival order, with the decision taken then (a
 * pure function of the rows before it), and committed before the stop is
 * asked for.  A restart reloads the table as it was and takes the missing
 * decisions from the same rows, so the same results give the same
 * decisions.  Trials are submitted in index order, each in the same
 * transaction as its trial row, so "the trials missing" after a crash are
 * simply the indices not started yet.
 */
#include "srv_sweeps_priv.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_executor.h"
#include "srv_jobspec.h"
#include "srv_log.h"
#include "srv_sweepspec.h"

const char *const srv_sweeps_state_names[3] = {"running", "succeeded", "cancelled"};
const char *const srv_sweeps_decision_names[3] = {"none", "continue", "stop"};

/* ------------------------------------------------------------------------ */
/* Memory                                                                   */
/* ------------------------------------------------------------------------ */

enum srv_status srv_sweeps_new(struct srv_sweeps **out, struct ae_err *err)
{
    struct srv_sweeps *m = calloc(1, sizeof *m);
    *out = NULL;
    if (!m) return srv_err_set(err, SRV_ERR_NOMEM, "out of memory starting the sweep manager");
    pthread_mutex_init(&m->lock, NULL);
    *out = m;
    return SRV_OK;
}

void srv_sweeps_sweep_free(struct sweep *sw)
{
    if (!sw) return;
    for (int32_t i = 0; i < sw->n_started; i++) json_decref(sw->trials[i].params);
    free(sw->trials);
    free(sw->rows);
    free(sw->dec);
    json_decref(sw->body);
    srv_sweepspec_fini(&sw->spec);
    free(sw);
}

struct sweep *srv_sweeps_make(const json_t *body, const struct srv_sweepspec *spec)
{
    struct sweep *sw = calloc(1, sizeof *sw);
    if (!sw) return NULL;
    sw->spec = *spec;
    sw->body = json_deep_copy(body);
    snprintf(sw->name, sizeof sw->name, "%s", spec->name);
    if (spec->stopping == SRV_SWEEP_STOP_ASHA)
        sw->n_rungs = srv_sweep_asha_rungs(&spec->asha, sw->rungs, SRV_SWEEP_MAX_RUNGS);
    return sw;
}

void srv_sweeps_set_id(struct sweep *sw, int64_t id)
{
    sw->id = id;
    snprintf(sw->dir, sizeof sw->dir, "sweep-%04lld-%s", (long long)id, sw->name);
}

void srv_sweeps_free(struct srv_sweeps *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) srv_sweeps_sweep_free(m->all[i]);
    free(m->all);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

struct sweep *srv_sweeps_find(struct srv_sweeps *m, int64_t id)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->all[i]->id == id) return m->all[i];
    return NULL;
}

bool srv_sweeps_add(struct srv_sweeps *m, struct sweep *sw)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        struct sweep **p = realloc(m->all, cap * sizeof *p);
        if (!p) return false;
        m->all = p;
        m->cap = cap;
    }
    m->all[m->n++] = sw;
    return true;
}

bool srv_sweeps_add_row(struct sweep *sw, int32_t trial, int32_t epoch, double v,
                        enum row_decision d)
{
    if (sw->n_rows == sw->cap_rows) {
        size_t cap = sw->cap_rows ? sw->cap_rows * 2 : 64;
        struct srv_sweep_result *r = realloc(sw->rows, cap * sizeof *r);
        enum row_decision *dd;
        if (!r) return false;
        sw->rows = r;
        dd = realloc(sw->dec, cap * sizeof *dd);
        if (!dd) return false;
        sw->dec = dd;
        sw->cap_rows = cap;
    }
    sw->rows[sw->n_rows] = (struct srv_sweep_result){.trial = trial, .epoch = epoch, .val_loss = v};
    sw->dec[sw->n_rows++] = d;
    sw->version++;
    return true;
}

static bool has_row(const struct sweep *sw, int32_t trial, int32_t epoch, enum row_decision *d)
{
    for (size_t i = 0; i < sw->n_rows; i++)
        if (sw->rows[i].trial == trial && sw->rows[i].epoch == epoch) {
            if (d) *d = sw->dec[i];
            return true;
        }
    return false;
}

static struct trial *trial_of_job(struct sweep *sw, int64_t job_id)
{
    for (int32_t i = 0; i < sw->n_started; i++)
        if (sw->trials[i].job_id == job_id) return &sw->trials[i];
    return NULL;
}

void srv_sweeps_make_env(struct srv_app *app, struct env_buf *b, bool all_installed)
{
    bool installed[SRV_DATA_N_SETS];
    size_t n = 0;
    srv_data_installed(app->data, installed);
    for (size_t i = 0; i < SRV_DATA_N_SETS; i++)
        if (installed[i] || all_installed) b->inst[n++] = srv_data_names[i];
    b->env = (struct srv_jobspec_env){
        .known = srv_data_names,
        .n_known = SRV_DATA_N_SETS,
        .installed = b->inst,
        .n_installed = n,
        .default_dataset = app->default_dataset,
        .default_threads = app->cfg.threads_per_job,
        .canonical = srv_data_canonical,
    };
}

/* ------------------------------------------------------------------------ */
/* Decisions                                                                */
/* ------------------------------------------------------------------------ */

/* The decision for trial finishing epoch with val_loss v, from the rows
 * recorded so far (a pure function of them). */
static enum row_decision decide(const struct sweep *sw, int32_t trial, int32_t epoch, double v)
{
    enum srv_sweep_decision d = SRV_SWEEP_CONTINUE;
    enum srv_status st = SRV_OK;
    switch (sw->spec.stopping) {
    case SRV_SWEEP_STOP_NONE: return DEC_NONE;
    case SRV_SWEEP_STOP_ASHA:
        if (!srv_sweep_asha_is_rung(&sw->spec.asha, epoch)) return DEC_NONE;
        st = srv_sweep_asha_decide(&sw->spec.asha, sw->rows, sw->n_rows, trial, epoch, v, &d, NULL);
        break;
    case SRV_SWEEP_STOP_MEDIAN:
        st = srv_sweep_median_decide(&sw->spec.median, sw->rows, sw->n_rows, trial, epoch, v, &d,
                                     NULL);
        break;
    }
    if (st != SRV_OK) return DEC_CONTINUE; /* out of memory: never stop a trial by accident */
    return d == SRV_SWEEP_STOP ? DEC_STOP : DEC_CONTINUE;
}

/* Take, commit and remember the decision for (trial, epoch).  Returns the
 * decision (the stored one when it was taken before).  Manager lock held. */
enum row_decision srv_sweeps_record(struct srv_app *app, struct sweep *sw, struct trial *t,
                                       int32_t epoch, double v)
{
    enum row_decision d;
    struct ae_err e = {0};
    int64_t seq = 0;
    char q[600];

    if (has_row(sw, t->index, epoch, &d)) return d; /* replayed epoch: the first decision stands */
    d = decide(sw, t->index, epoch, v);
    {
        struct srv_store_decision rec = {.sweep_id = sw->id, .trial = t->index, .epoch = epoch,
                                         .value = v, .decision = srv_sweeps_decision_names[d]};
        if (srv_store_decision_put(app->store, &rec, &seq, &e) != SRV_OK) {
            /* Not recorded: don't act on it (a restart decides again). */
            srv_log(SRV_LOG_ERROR, t->job_id, "msg=\"could not record a sweep decision\" "
                    "sweep=%lld error=\"%s\"", (long long)sw->id,
                    srv_log_quote(q, sizeof q, e.msg));
            return DEC_CONTINUE;
        }
    }
    srv_sweeps_add_row(sw, t->index, epoch, v, d);
    if (d == DEC_STOP) {
        t->stopped_at = epoch;
        srv_log(SRV_LOG_INFO, t->job_id, "msg=\"sweep stops trial\" sweep=%lld trial=%d epoch=%d "
                "val_loss=%.6f", (long long)sw->id, t->index, epoch, v);
    }
    return d;
}

/* val_loss of job j at epoch (NaN if none). */
static double job_val_loss(struct srv_job *j, int32_t epoch)
{
    double v = NAN;
    pthread_mutex_lock(&j->lock);
    for (int32_t i = 0; i < j->n_rows; i++)
        if (j->rows[i].epoch == epoch) v = j->rows[i].val_loss;
    pthread_mutex_unlock(&j->lock);
    return v;
}

/* ------------------------------------------------------------------------ */
/* Trials                                                                   */
/* ------------------------------------------------------------------------ */

/* Commit trial sw->n_started's job and queue it.  Manager lock held. */
static enum srv_status submit_trial_locked(struct srv_app *app, struct sweep *sw,
                                           struct ae_err *err)
{
    int32_t idx = sw->n_started;
    json_t *job = srv_sweepspec_trial_job(&sw->spec, idx);
    json_t *params = srv_sweepspec_trial_values(&sw->spec, idx), *settings = NULL;
    char *settings_txt = NULL, *params_txt = NULL;
    struct env_buf env;
    struct srv_jobspec js;
    struct srv_job *j = NULL;
    enum srv_status st;
    int64_t id = 0;
    bool replayed = false;
    struct trial *tp;

    if (!job || !params) {
        st = srv_err_set(err, SRV_ERR_NOMEM, "out of memory making trial %d", idx);
        goto out;
    }
    if (!sw->spec.keep_all) json_object_set_new(job, "keep", json_string("final"));
    srv_sweeps_make_env(app, &env, true);
    st = srv_jobspec_validate(job, &env.env, &js, NULL, err);
    if (st != SRV_OK) goto out;
    settings = srv_jobspec_settings_json(&js.cfg);
    settings_txt = settings ? json_dumps(settings, JSON_COMPACT) : NULL;
    params_txt = json_dumps(params, JSON_COMPACT);
    tp = realloc(sw->trials, (size_t)(idx + 1) * sizeof *tp);
    if (tp) sw->trials = tp;
    if (!settings_txt || !params_txt || !tp) {
        st = srv_err_set(err, SRV_ERR_NOMEM, "out of memory making trial %d", idx);
        goto out;
    }
    {
        struct srv_store_job rec = {
            .name = js.name, .model = js.model, .dataset = js.dataset,
            .settings = settings_txt, .state = "queued", .created_at = srv_log_now_unix(),
            .sweep_id = sw->id, .keep_final = js.keep_final, .run_parent = sw->dir,
            .trial = idx, .trial_params = params_txt,
            .executor = srv_executor_name(app->executor),
        };
        pthread_mutex_lock(&app->submit_lock);
        st = srv_store_job_insert(app->store, &rec, NULL, NULL, &id, &replayed, err);
        if (st == SRV_OK) {
            j = srv_job_new(id, js.name, js.model, js.dataset, &js.cfg, SRV_JOB_QUEUED,
                            rec.created_at);
            if (j) {
                srv_job_set_sweep(j, sw->id, sw->dir);
                srv_job_set_keep(j, js.keep_final);
                srv_job_set_placement(j, NULL, NULL, rec.executor, NULL, NULL, NULL);
                srv_sweeps_observe(app, j);
            }
            if (!j || srv_registry_add(app->registry, j, err) != SRV_OK ||
                srv_queue_push_force(app->queue, srv_job_ref(j), err) != SRV_OK) {
                /* On disk: it runs after a restart. */
                st = srv_err_set(err, SRV_ERR_NOMEM, "trial %d was saved but could not be "
                                 "queued; it runs after a restart", idx);
            }
        }
        pthread_mutex_unlock(&app->submit_lock);
    }
    if (id > 0) {
        /* Committed: the trial exists whatever happened after. */
        sw->trials[idx] = (struct trial){.index = idx, .job_id = id, .params = json_incref(params)};
        sw->n_started++;
        sw->version++;
    }
    if (j && st == SRV_OK) {
        srv_feed_publish(app->feed, j->id, SRV_FEED_CREATED, 0);
        srv_log(SRV_LOG_INFO, j->id, "msg=\"trial queued\" sweep=%lld trial=%d params=%s",
                (long long)sw->id, idx, params_txt);
    }
out:
    srv_job_unref(j);
    free(settings_txt);
    free(params_txt);
    json_decref(settings);
    json_decref(job);
    json_decref(params);
    return st;
}

/* Is the trial's job final (or gone)? */
static bool trial_final(struct srv_app *app, const struct trial *t)
{
    struct srv_job *j = srv_registry_get(app->registry, t->job_id);
    bool fin = !j || srv_job_state_final(srv_job_get_state(j));
    srv_job_unref(j);
    return fin;
}

/* Start trials while there is room, end the sweep when every trial is
 * final.  Manager lock held. */
void srv_sweeps_pump(struct srv_app *app, struct sweep *sw)
{
    int32_t active = 0;
    struct ae_err e = {0};
    char q[600];

    if (sw->state != SW_RUNNING) return;
    for (int32_t i = 0; i < sw->n_started; i++)
        if (!trial_final(app, &sw->trials[i])) active++;
    while (!sw->cancelling && !atomic_load(&app->stopping) && active < sw->spec.max_concurrent &&
           sw->n_started < sw->spec.n_trials) {
        int32_t before = sw->n_started;
        if (submit_trial_locked(app, sw, &e) != SRV_OK)
            srv_log(SRV_LOG_ERROR, 0, "msg=\"could not submit a trial\" sweep=%lld error=\"%s\"",
                    (long long)sw->id, srv_log_quote(q, sizeof q, e.msg));
        if (sw->n_started == before) return; /* nothing committed: try on the next event */
        active++;
    }
    if (active == 0 && (sw->cancelling || sw->n_started >= sw->spec.n_trials)) {
        enum sweep_state to = sw->cancelling ? SW_CANCELLED : SW_SUCCEEDED;
        double now = srv_log_now_unix();
        if (srv_store_sweep_update(app->store, sw->id, srv_sweeps_state_names[to], now, &e) !=
            SRV_OK) {
            srv_log(SRV_LOG_ERROR, 0, "msg=\"could not record a sweep's end\" sweep=%lld "
                    "error=\"%s\"", (long long)sw->id, srv_log_quote(q, sizeof q, e.msg));
            return; /* still running on disk: ended again after a restart */
        }
        sw->state = to;
        sw->finished_at = now;
        sw->version++;
        srv_log(SRV_LOG_INFO, 0, "msg=\"sweep %s\" sweep=%lld trials=%d",
                srv_sweeps_state_names[to],
                (long long)sw->id, sw->n_started);
    }
}

/* ------------------------------------------------------------------------ */
/* The observer                                                             */
/* ------------------------------------------------------------------------ */

static void obs_epoch(void *ctx, struct srv_job *j, int32_t epoch)
{
    struct srv_app *app = ctx;
    struct sweep *sw;
    struct trial *t;

    if (!j->sweep_id || !app->sweeps) return;
    pthread_mutex_lock(&app->sweeps->lock);
    sw = srv_sweeps_find(app->sweeps, j->sweep_id);
    t = sw ? trial_of_job(sw, j->id) : NULL;
    if (t) {
        sw->version++;
        if (srv_sweeps_record(app, sw, t, epoch, job_val_loss(j, epoch)) == DEC_STOP)
            srv_job_request_stop(j, app->feed);
    }
    pthread_mutex_unlock(&app->sweeps->lock);
}

static void obs_final(void *ctx, struct srv_job *j)
{
    struct srv_app *app = ctx;

    /* keep=final was pruned by the executor before the state was set. */
    if (j->sweep_id && app->sweeps) {
        struct sweep *sw;
        pthread_mutex_lock(&app->sweeps->lock);
        sw = srv_sweeps_find(app->sweeps, j->sweep_id);
        if (sw) {
            sw->version++;
            srv_sweeps_pump(app, sw);
        }
        pthread_mutex_unlock(&app->sweeps->lock);
    }
}

void srv_sweeps_observe(struct srv_app *app, struct srv_job *j)
{
    struct srv_job_observer o = {.on_epoch = obs_epoch, .on_final = obs_final, .ctx = app};
    srv_job_set_observer(j, &o);
}
