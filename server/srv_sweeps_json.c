/*
 * srv_sweeps_json.c - what the API shows of the sweeps (see srv_sweeps.h):
 * a sweep with its trials, the list, the metric rows, the counts.
 *
 * Reads the manager's memory and the trials' jobs under their own locks;
 * changes nothing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_response.h"
#include "srv_sweeps_priv.h"

/* ------------------------------------------------------------------------ */
/* JSON                                                                     */
/* ------------------------------------------------------------------------ */

static json_t *trial_json(struct srv_app *app, struct sweep *sw, struct trial *t,
                          double *best_v, int64_t *epochs_total)
{
    json_t *o = json_object();
    struct srv_job *j = srv_registry_get(app->registry, t->job_id);
    int32_t epochs = 0;
    double latest = NAN, best = NAN;
    const char *state = "deleted";

    if (!o) {
        srv_job_unref(j);
        return NULL;
    }
    if (j) {
        pthread_mutex_lock(&j->lock);
        state = srv_job_state_name(j->state);
        for (int32_t i = 0; i < j->n_rows; i++) {
            double v = j->rows[i].val_loss;
            if (j->rows[i].epoch > epochs) {
                epochs = j->rows[i].epoch;
                latest = v;
            }
            if (isfinite(v) && (!isfinite(best) || v < best)) best = v;
        }
        pthread_mutex_unlock(&j->lock);
    }
    json_object_set_new(o, "trial", json_integer(t->index));
    json_object_set_new(o, "job", json_integer(t->job_id));
    json_object_set_new(o, "params", json_incref(t->params));
    json_object_set_new(o, "state", json_string(state));
    json_object_set_new(o, "epochs", json_integer(epochs));
    {
        int k = -1;
        for (size_t r = 0; r < sw->n_rungs; r++)
            if (sw->rungs[r] <= epochs) k = (int)r;
        json_object_set_new(o, "rung", k >= 0 ? json_integer(k) : json_null());
    }
    json_object_set_new(o, "val_loss", srv_json_real(latest));
    json_object_set_new(o, "best_val_loss", srv_json_real(best));
    json_object_set_new(o, "stopped_at", t->stopped_at ? json_integer(t->stopped_at) : json_null());
    *best_v = best;
    *epochs_total += epochs;
    srv_job_unref(j);
    return o;
}

json_t *srv_sweeps_json(struct srv_app *app, struct sweep *sw)
{
    json_t *o = json_object(), *trials = json_array(), *es, *best = json_null(), *links;
    const char *methods[] = {"grid", "random"};
    int64_t epochs_total = 0;
    double best_v = NAN;
    char path[96];

    if (!o || !trials) {
        json_decref(o);
        json_decref(trials);
        return NULL;
    }
    json_object_set_new(o, "id", json_integer(sw->id));
    json_object_set_new(o, "name", json_string(sw->name));
    json_object_set_new(o, "state", json_string(srv_sweeps_state_names[sw->state]));
    json_object_set_new(o, "cancel_requested", json_boolean(sw->cancelling));
    json_object_set_new(o, "created_at", srv_json_time(sw->created_at));
    json_object_set_new(o, "finished_at", srv_json_time(sw->finished_at));
    json_object_set_new(o, "method", json_string(methods[sw->spec.method]));
    json_object_set_new(o, "metric", json_string("val_loss"));
    switch (sw->spec.stopping) {
    case SRV_SWEEP_STOP_ASHA:
        es = json_pack("{s:s,s:i,s:i,s:i}", "type", "asha", "min_epochs", sw->spec.asha.min_epochs,
                       "max_epochs", sw->spec.asha.max_epochs, "reduction_factor",
                       sw->spec.asha.reduction_factor);
        break;
    case SRV_SWEEP_STOP_MEDIAN:
        es = json_pack("{s:s,s:i,s:i,s:i}", "type", "median", "grace_epochs",
                       sw->spec.median.grace_epochs, "min_trials", sw->spec.median.min_trials,
                       "max_epochs", sw->spec.trial_epochs);
        break;
    default: es = json_pack("{s:s}", "type", "none"); break;
    }
    json_object_set_new(o, "early_stopping", es ? es : json_null());
    json_object_set(o, "parameters", json_object_get(sw->body, "parameters"));
    json_object_set(o, "job", json_object_get(sw->body, "job"));
    json_object_set_new(o, "max_trials", json_integer(sw->spec.max_trials));
    json_object_set_new(o, "n_trials", json_integer(sw->spec.n_trials));
    json_object_set_new(o, "max_concurrent", json_integer(sw->spec.max_concurrent));
    json_object_set_new(o, "seed", json_integer((json_int_t)sw->spec.seed));
    json_object_set_new(o, "keep", json_string(sw->spec.keep_all ? "all" : "final"));
    json_object_set_new(o, "trial_epochs", json_integer(sw->spec.trial_epochs));
    json_object_set_new(o, "run_dir", json_string(sw->dir));
    if (sw->spec.stopping == SRV_SWEEP_STOP_ASHA) {
        json_t *r = json_array();
        for (size_t k = 0; r && k < sw->n_rungs; k++)
            json_array_append_new(r, json_integer(sw->rungs[k]));
        json_object_set_new(o, "rungs", r ? r : json_null());
    } else {
        json_object_set_new(o, "rungs", json_null());
    }
    for (int32_t i = 0; i < sw->n_started; i++) {
        double b = NAN;
        json_t *t = trial_json(app, sw, &sw->trials[i], &b, &epochs_total);
        if (t) json_array_append_new(trials, t);
        if (isfinite(b) && (!isfinite(best_v) || b < best_v)) {
            best_v = b;
            json_decref(best);
            best = json_pack("{s:i,s:I,s:f,s:O}", "trial", sw->trials[i].index, "job",
                             (json_int_t)sw->trials[i].job_id, "val_loss", b, "params",
                             sw->trials[i].params);
            if (!best) best = json_null();
        }
    }
    json_object_set_new(o, "trials", trials);
    json_object_set_new(o, "best", best);
    {
        /* The decision table in arrival order: what the dashboard marks on
         * the chart, and what a client can replay to check the rule. */
        json_t *d = json_array();
        for (size_t i = 0; d && i < sw->n_rows; i++)
            json_array_append_new(d, json_pack("{s:i,s:i,s:o,s:s}", "trial", sw->rows[i].trial,
                                               "epoch", sw->rows[i].epoch, "val_loss",
                                               srv_json_real(sw->rows[i].val_loss), "decision",
                                               srv_sweeps_decision_names[sw->dec[i]]));
        json_object_set_new(o, "decisions", d ? d : json_null());
    }
    json_object_set_new(o, "epochs_trained", json_integer(epochs_total));
    json_object_set_new(o, "epochs_without_early_stopping",
                        json_integer((json_int_t)sw->spec.n_trials * sw->spec.trial_epochs));
    links = json_object();
    if (links) {
        static const char *rels[][2] = {{"self", ""}, {"cancel", "/cancel"}, {"events", "/events"},
                                        {"metrics", "/metrics"}};
        for (size_t i = 0; i < sizeof rels / sizeof rels[0]; i++) {
            snprintf(path, sizeof path, "/api/sweeps/%lld%s", (long long)sw->id, rels[i][1]);
            json_object_set_new(links, rels[i][0], json_string(path));
        }
        snprintf(path, sizeof path, "/api/jobs?sweep=%lld", (long long)sw->id);
        json_object_set_new(links, "jobs", json_string(path));
        json_object_set_new(o, "links", links);
    }
    return o;
}

json_t *srv_sweeps_get_json(struct srv_app *app, int64_t id)
{
    struct sweep *sw;
    json_t *o = NULL;
    pthread_mutex_lock(&app->sweeps->lock);
    sw = srv_sweeps_find(app->sweeps, id);
    if (sw) o = srv_sweeps_json(app, sw);
    pthread_mutex_unlock(&app->sweeps->lock);
    return o;
}

bool srv_sweeps_state_bit(const char *name, unsigned *bit)
{
    for (unsigned k = 0; k < 3; k++)
        if (!strcmp(name, srv_sweeps_state_names[k])) {
            *bit = 1u << k;
            return true;
        }
    return false;
}

json_t *srv_sweeps_list_json(struct srv_app *app, unsigned state_mask)
{
    json_t *arr = json_array(), *o;
    size_t total = 0;
    if (!arr) return NULL;
    pthread_mutex_lock(&app->sweeps->lock);
    for (size_t i = app->sweeps->n; i-- > 0;) {
        struct sweep *sw = app->sweeps->all[i];
        if (state_mask && !(state_mask & (1u << sw->state))) continue;
        json_array_append_new(arr, srv_sweeps_json(app, sw));
        total++;
    }
    pthread_mutex_unlock(&app->sweeps->lock);
    o = json_object();
    if (!o) {
        json_decref(arr);
        return NULL;
    }
    json_object_set_new(o, "sweeps", arr);
    json_object_set_new(o, "total", json_integer((json_int_t)total));
    return o;
}

json_t *srv_sweeps_metrics_json(struct srv_app *app, int64_t id)
{
    struct sweep *sw;
    json_t *rows = NULL;
    pthread_mutex_lock(&app->sweeps->lock);
    sw = srv_sweeps_find(app->sweeps, id);
    if (sw) rows = json_array();
    for (int32_t i = 0; rows && sw && i < sw->n_started; i++) {
        struct srv_job *j = srv_registry_get(app->registry, sw->trials[i].job_id);
        int32_t n = 0, *epochs = NULL;
        if (!j) continue;
        pthread_mutex_lock(&j->lock);
        epochs = malloc((size_t)(j->n_rows ? j->n_rows : 1) * sizeof *epochs);
        for (int32_t k = 0; epochs && k < j->n_rows; k++) epochs[n++] = j->rows[k].epoch;
        pthread_mutex_unlock(&j->lock);
        for (int32_t k = 0; k < n; k++) {
            json_t *r = srv_job_epoch_json(j, epochs[k]), *row = json_object();
            if (!r || !row) {
                json_decref(r);
                json_decref(row);
                continue;
            }
            /* trial and job first, then the job's own row (its names). */
            json_object_set_new(row, "trial", json_integer(sw->trials[i].index));
            json_object_set_new(row, "job", json_integer(sw->trials[i].job_id));
            json_object_del(r, "id");
            json_object_update(row, r);
            json_decref(r);
            json_array_append_new(rows, row);
        }
        free(epochs);
        srv_job_unref(j);
    }
    pthread_mutex_unlock(&app->sweeps->lock);
    return rows;
}

bool srv_sweeps_version(struct srv_app *app, int64_t id, uint64_t *version, bool *final)
{
    struct sweep *sw;
    bool found;
    pthread_mutex_lock(&app->sweeps->lock);
    sw = srv_sweeps_find(app->sweeps, id);
    found = sw != NULL;
    if (sw) {
        *version = sw->version;
        *final = sw->state != SW_RUNNING;
    }
    pthread_mutex_unlock(&app->sweeps->lock);
    return found;
}

void srv_sweeps_count(struct srv_app *app, size_t counts[3])
{
    counts[0] = counts[1] = counts[2] = 0;
    if (!app->sweeps) return;
    pthread_mutex_lock(&app->sweeps->lock);
    for (size_t i = 0; i < app->sweeps->n; i++) counts[app->sweeps->all[i]->state]++;
    pthread_mutex_unlock(&app->sweeps->lock);
}

