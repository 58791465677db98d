/*
 * srv_job.c - the job object and its state machine (see srv_job.h).
 *
 * Owns every change of a job's state and progress, and the JSON the API
 * shows for a job.  It does not run jobs (srv_exec_*.c), queue them
 * (srv_queue.c) or find them (srv_registry.c).
 *
 * DESIGN: a state change is committed to SQLite while job->lock is held,
 * then applied in memory.  Holding the lock across the commit makes the
 * check ("is it still queued?") and the change one step, so a cancel and
 * a worker's start cannot both win; state changes are rare, so readers
 * seldom wait.  Per-batch progress is memory-only and per-epoch rows are
 * committed before the lock is taken, so the worker's hot path never
 * waits on the disk while a reader waits on it.
 */
#include "srv_job.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "srv_response.h"
#include "srv_run.h"
#include "srv_log.h"

static const char *state_names[SRV_JOB_STATE_COUNT] = {
    "queued", "running", "succeeded", "failed", "cancelled", "stopped",
};

const char *srv_job_state_name(enum srv_job_state s)
{
    return (s >= 0 && s < SRV_JOB_STATE_COUNT) ? state_names[s] : "unknown";
}

bool srv_job_state_parse(const char *name, enum srv_job_state *out)
{
    for (int i = 0; i < SRV_JOB_STATE_COUNT; i++) {
        if (name && strcmp(name, state_names[i]) == 0) {
            *out = (enum srv_job_state)i;
            return true;
        }
    }
    return false;
}

struct srv_job *srv_job_new(int64_t id, const char *name, const char *model, const char *dataset,
                            const struct ae_config *cfg, enum srv_job_state state,
                            double created_at)
{
    struct srv_job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->id = id;
    snprintf(j->name, sizeof j->name, "%s", name ? name : "");
    snprintf(j->model, sizeof j->model, "%s", model);
    snprintf(j->dataset, sizeof j->dataset, "%s", dataset);
    j->cfg = *cfg;
    srv_run_dir_name(j->run_name, sizeof j->run_name, id, model);
    j->created_at = created_at;
    atomic_init(&j->refs, 1);
    atomic_init(&j->cancel_requested, false);
    atomic_init(&j->stop_requested, false);
    pthread_mutex_init(&j->lock, NULL);
    j->state = state;
    snprintf(j->executor, sizeof j->executor, "local");
    return j;
}

struct srv_job *srv_job_ref(struct srv_job *j)
{
    if (j) atomic_fetch_add(&j->refs, 1);
    return j;
}

void srv_job_unref(struct srv_job *j)
{
    if (!j || atomic_fetch_sub(&j->refs, 1) != 1) return;
    pthread_mutex_destroy(&j->lock);
    free(j->rows);
    free(j->png);
    free(j->json_cache[0].text);
    free(j->json_cache[1].text);
    free(j);
}

void srv_job_set_sweep(struct srv_job *j, int64_t sweep_id, const char *run_parent)
{
    char base[64];
    j->sweep_id = sweep_id;
    if (!run_parent || !run_parent[0]) return;
    srv_run_dir_name(base, sizeof base, j->id, j->model);
    snprintf(j->run_name, sizeof j->run_name, "%.60s/%s", run_parent, base);
}

void srv_job_set_keep(struct srv_job *j, bool keep_final)
{
    j->keep_final = keep_final;
}

void srv_job_set_observer(struct srv_job *j, const struct srv_job_observer *o)
{
    if (o)
        j->observer = *o;
    else
        memset(&j->observer, 0, sizeof j->observer);
}

static void notify_final(struct srv_job *j)
{
    if (j->observer.on_final) j->observer.on_final(j->observer.ctx, j);
}

void srv_job_restore(struct srv_job *j, double started_at, double finished_at, const char *error)
{
    j->version++;
    j->started_at = started_at;
    j->finished_at = finished_at;
    snprintf(j->error, sizeof j->error, "%s", error ? error : "");
}

/* Insert or replace m in j->rows, keeping epoch order.  Lock held (or the
 * job not shared yet). */
static enum srv_status put_row_locked(struct srv_job *j, const struct ae_epoch_stats *m,
                                      struct ae_err *err)
{
    int32_t i = j->n_rows;
    j->version++;
    while (i > 0 && j->rows[i - 1].epoch > m->epoch) i--;
    if (i > 0 && j->rows[i - 1].epoch == m->epoch) {
        j->rows[i - 1] = *m;
        return SRV_OK;
    }
    if (j->n_rows == j->cap_rows) {
        int32_t cap = j->cap_rows ? j->cap_rows * 2 : 16;
        struct ae_epoch_stats *r = realloc(j->rows, (size_t)cap * sizeof *r);
        if (!r) return srv_err_set(err, SRV_ERR_NOMEM, "out of memory recording an epoch");
        j->rows = r;
        j->cap_rows = cap;
    }
    memmove(j->rows + i + 1, j->rows + i, (size_t)(j->n_rows - i) * sizeof *j->rows);
    j->rows[i] = *m;
    j->n_rows++;
    return SRV_OK;
}

enum srv_status srv_job_put_row(struct srv_job *j, const struct ae_epoch_stats *m,
                                struct ae_err *err)
{
    enum srv_status st;
    pthread_mutex_lock(&j->lock);
    st = put_row_locked(j, m, err);
    pthread_mutex_unlock(&j->lock);
    return st;
}


/* ------------------------------------------------------------------------ */
/* State changes (persisted) and progress (memory only)                     */
/* ------------------------------------------------------------------------ */

/* `at` (0: now), kept within [lo, now]. */
static double clamp_time(double at, double lo)
{
    double now = srv_log_now_unix();
    if (!(at > 0) || at > now) return now;
    return at < lo ? lo : at;
}

enum srv_status srv_job_start(struct srv_job *j, struct srv_store *st, struct srv_feed *feed,
                              int32_t start_epoch, double at, struct ae_err *err)
{
    enum srv_status s = SRV_OK;
    double started;

    pthread_mutex_lock(&j->lock);
    if (j->state != SRV_JOB_QUEUED && j->state != SRV_JOB_RUNNING) {
        s = srv_err_set(err, SRV_ERR_STATE, "job %lld is %s, not queued", (long long)j->id,
                        srv_job_state_name(j->state));
        goto out;
    }
    started = j->started_at > 0 ? j->started_at : clamp_time(at, j->created_at);
    if (st) s = srv_store_job_update(st, j->id, "running", started, 0, NULL, err);
    if (s != SRV_OK) goto out;
    j->state = SRV_JOB_RUNNING;
    j->suspended = false;
    j->started_at = started;
    j->start_epoch = start_epoch;
    j->cur_epoch = start_epoch + 1;
    j->batch = 0;
    j->samples = 0;
    j->epoch_t0 = srv_log_now_mono();
    j->last_batch_t = j->epoch_t0;
    j->last_batch_samples = 0;
    j->last_publish_t = 0;
    j->version++;
    srv_feed_publish(feed, j->id, SRV_FEED_STATE, 0);
out:
    pthread_mutex_unlock(&j->lock);
    return s;
}

enum srv_status srv_job_finish(struct srv_job *j, struct srv_store *st, struct srv_feed *feed,
                               enum srv_job_state to, const char *error, double at,
                               struct ae_err *err)
{
    enum srv_status s = SRV_OK;
    double finished;
    bool ended = false;

    if (!srv_job_state_final(to))
        return srv_err_set(err, SRV_ERR_ARG, "%s is not a final state", srv_job_state_name(to));
    /* A sweep's early stop reaches an executor as a cancel. */
    if (to == SRV_JOB_CANCELLED && atomic_load(&j->stop_requested)) to = SRV_JOB_STOPPED;
    pthread_mutex_lock(&j->lock);
    if (j->state != SRV_JOB_RUNNING && j->state != SRV_JOB_QUEUED) {
        s = srv_err_set(err, SRV_ERR_STATE, "job %lld is already %s", (long long)j->id,
                        srv_job_state_name(j->state));
        goto out;
    }
    finished = clamp_time(at, j->started_at > 0 ? j->started_at : j->created_at);
    if (st)
        s = srv_store_job_update(st, j->id, srv_job_state_name(to), j->started_at, finished,
                                 to == SRV_JOB_FAILED ? (error ? error : "failed") : NULL, err);
    /* Memory follows even when the commit failed: the job did end, and the
     * caller logs the database error.  After a restart the job resumes from
     * its checkpoint and ends again. */
    j->state = to;
    j->finished_at = finished;
    j->rate = 0;
    snprintf(j->error, sizeof j->error, "%s", to == SRV_JOB_FAILED && error ? error : "");
    j->version++;
    ended = true;
    srv_feed_publish(feed, j->id, SRV_FEED_STATE, 0);
out:
    pthread_mutex_unlock(&j->lock);
    if (ended) notify_final(j);
    return s;
}

enum srv_status srv_job_cancel_queued(struct srv_job *j, struct srv_store *st,
                                      struct srv_feed *feed, struct ae_err *err)
{
    enum srv_status s = SRV_OK;
    double finished = srv_log_now_unix();
    bool ended = false;

    pthread_mutex_lock(&j->lock);
    if (j->state != SRV_JOB_QUEUED) {
        s = srv_err_set(err, SRV_ERR_STATE, "job %lld is %s, not queued", (long long)j->id,
                        srv_job_state_name(j->state));
        goto out;
    }
    if (st) s = srv_store_job_update(st, j->id, "cancelled", 0, finished, NULL, err);
    if (s != SRV_OK) goto out;
    j->state = SRV_JOB_CANCELLED;
    j->finished_at = finished;
    atomic_store(&j->cancel_requested, true);
    j->version++;
    ended = true;
    srv_feed_publish(feed, j->id, SRV_FEED_STATE, 0);
out:
    pthread_mutex_unlock(&j->lock);
    if (ended) notify_final(j);
    return s;
}

void srv_job_request_cancel(struct srv_job *j, struct srv_feed *feed)
{
    atomic_store(&j->stop_requested, false); /* a user's cancel wins over a sweep's stop */
    atomic_store(&j->cancel_requested, true);
    pthread_mutex_lock(&j->lock);
    j->version++;
    pthread_mutex_unlock(&j->lock);
    srv_feed_publish(feed, j->id, SRV_FEED_STATE, 0);
}

void srv_job_request_stop(struct srv_job *j, struct srv_feed *feed)
{
    if (atomic_load(&j->cancel_requested)) return; /* already cancelled by a user */
    atomic_store(&j->stop_requested, true);
    atomic_store(&j->cancel_requested, true);
    pthread_mutex_lock(&j->lock);
    j->version++;
    pthread_mutex_unlock(&j->lock);
    srv_feed_publish(feed, j->id, SRV_FEED_STATE, 0);
}

enum srv_status srv_job_set_placement(struct srv_job *j, struct srv_store *st,
                                      struct srv_feed *feed, const char *executor,
                                      const char *slurm_job_id, const char *node,
                                      struct ae_err *err)
{
    enum srv_status s = SRV_OK;
    char ex[sizeof j->executor], id[sizeof j->slurm_job_id], nd[sizeof j->node];

    pthread_mutex_lock(&j->lock);
    snprintf(ex, sizeof ex, "%s", executor ? executor : j->executor);
    snprintf(id, sizeof id, "%s", slurm_job_id ? slurm_job_id : j->slurm_job_id);
    snprintf(nd, sizeof nd, "%s", node ? node : j->node);
    if (!strcmp(ex, j->executor) && !strcmp(id, j->slurm_job_id) && !strcmp(nd, j->node))
        goto out;
    if (st) s = srv_store_job_place(st, j->id, ex, id, nd, err);
    if (s != SRV_OK) goto out;
    memcpy(j->executor, ex, sizeof ex);
    memcpy(j->slurm_job_id, id, sizeof id);
    memcpy(j->node, nd, sizeof nd);
    j->version++;
    srv_feed_publish(feed, j->id, SRV_FEED_STATE, 0);
out:
    pthread_mutex_unlock(&j->lock);
    return s;
}

void srv_job_suspend(struct srv_job *j, struct srv_feed *feed)
{
    pthread_mutex_lock(&j->lock);
    j->suspended = true;
    j->rate = 0;
    j->version++;
    srv_feed_publish(feed, j->id, SRV_FEED_STATE, 0);
    pthread_mutex_unlock(&j->lock);
}

void srv_job_mark_removed(struct srv_job *j, struct srv_feed *feed)
{
    pthread_mutex_lock(&j->lock);
    j->removed = true;
    j->version++;
    srv_feed_publish(feed, j->id, SRV_FEED_DELETED, 0);
    pthread_mutex_unlock(&j->lock);
}

enum srv_job_state srv_job_get_state(struct srv_job *j)
{
    enum srv_job_state s;
    pthread_mutex_lock(&j->lock);
    s = j->state;
    pthread_mutex_unlock(&j->lock);
    return s;
}

void srv_job_progress(struct srv_job *j, struct srv_feed *feed, const struct ae_progress *p)
{
    double now = srv_log_now_mono();
    pthread_mutex_lock(&j->lock);
    if (p->epoch != j->cur_epoch || p->batch < j->batch) {
        /* A new epoch began. */
        j->cur_epoch = p->epoch;
        j->epoch_t0 = now;
        j->last_batch_t = now;
        j->last_batch_samples = 0;
    }
    j->version++;
    j->batch = p->batch;
    j->n_batches = p->n_batches;
    j->samples = p->samples;
    j->batch_loss = p->loss;
    /* Rate over at least half a second, smoothed, so it doesn't jitter. */
    if (now - j->last_batch_t >= 0.5) {
        double r = (double)(p->samples - j->last_batch_samples) / (now - j->last_batch_t);
        if (r >= 0) j->rate = j->rate > 0 ? 0.7 * j->rate + 0.3 * r : r;
        j->last_batch_t = now;
        j->last_batch_samples = p->samples;
    }
    if (now - j->last_publish_t >= 0.25 || p->batch == p->n_batches) {
        j->last_publish_t = now;
        srv_feed_publish(feed, j->id, SRV_FEED_PROGRESS, p->epoch);
    }
    pthread_mutex_unlock(&j->lock);
}

enum srv_status srv_job_epoch(struct srv_job *j, struct srv_store *st, struct srv_feed *feed,
                              const struct ae_epoch_stats *m, struct ae_err *err)
{
    enum srv_status s = SRV_OK;
    if (st) s = srv_store_metric_put(st, j->id, m, err);
    if (s != SRV_OK) return s;
    pthread_mutex_lock(&j->lock);
    s = put_row_locked(j, m, err);
    /* The PNG cache holds the previous latest epoch: drop it. */
    free(j->png);
    j->png = NULL;
    j->png_len = 0;
    srv_feed_publish(feed, j->id, SRV_FEED_EPOCH, m->epoch);
    pthread_mutex_unlock(&j->lock);
    if (s == SRV_OK && j->observer.on_epoch) j->observer.on_epoch(j->observer.ctx, j, m->epoch);
    return s;
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                     */
/* ------------------------------------------------------------------------ */

/* One epoch: "epoch" and each ae_metrics() row the job's model reports. */
static json_t *row_json(const struct ae_epoch_stats *m, enum ae_model_kind kind)
{
    size_t n;
    const struct ae_metric *t = ae_metrics(&n);
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "epoch", json_integer(m->epoch));
    for (size_t i = 0; i < n; i++)
        if (ae_metric_applies(&t[i], kind))
            json_object_set_new(o, t[i].name, srv_response_real(ae_metric_get(m, i)));
    return o;
}

/* Seconds left, or a negative number when unknown.  Lock held. */
static double eta_locked(const struct srv_job *j)
{
    double per_epoch = -1, frac = 0, left;
    int32_t runs = 0;
    double sum = 0;

    if (j->state != SRV_JOB_RUNNING || j->suspended) return -1;
    for (int32_t i = 0; i < j->n_rows; i++) {
        double s = j->rows[i].train_seconds + j->rows[i].val_seconds;
        if (isfinite(s) && s > 0) {
            sum += s;
            runs++;
        }
    }
    if (j->n_batches > 0) frac = (double)j->batch / j->n_batches;
    if (runs > 0)
        per_epoch = sum / runs;
    else if (frac > 0.02)
        per_epoch = (srv_log_now_mono() - j->epoch_t0) / frac;
    if (per_epoch < 0) return -1;
    left = per_epoch * (1.0 - frac) + per_epoch * (j->cfg.epochs - j->cur_epoch);
    return left > 0 ? left : 0;
}

json_t *srv_job_to_json(struct srv_job *j, bool full, size_t queue_position, const char *run_dir)
{
    json_t *o = json_object(), *settings = srv_jobspec_settings_json(&j->cfg), *links;
    char path[96];
    double eta;

    if (!o || !settings) {
        json_decref(o);
        json_decref(settings);
        return NULL;
    }
    pthread_mutex_lock(&j->lock);
    json_object_set_new(o, "id", json_integer(j->id));
    json_object_set_new(o, "name", json_string(j->name));
    json_object_set_new(o, "model", json_string(j->model));
    json_object_set_new(o, "dataset", json_string(j->dataset));
    json_object_set_new(o, "state", json_string(srv_job_state_name(j->state)));
    json_object_set_new(o, "executor", json_string(j->executor[0] ? j->executor : "local"));
    json_object_set_new(o, "slurm_job_id",
                        j->slurm_job_id[0] ? json_string(j->slurm_job_id) : json_null());
    json_object_set_new(o, "node", j->node[0] ? json_string(j->node) : json_null());
    json_object_set_new(o, "cancel_requested", json_boolean(atomic_load(&j->cancel_requested) &&
                                                            !atomic_load(&j->stop_requested)));
    json_object_set_new(o, "stop_requested", json_boolean(atomic_load(&j->stop_requested)));
    json_object_set_new(o, "sweep", j->sweep_id ? json_integer(j->sweep_id) : json_null());
    json_object_set_new(o, "keep", json_string(j->keep_final ? "final" : "all"));
    json_object_set_new(o, "settings", settings);
    json_object_set_new(o, "epoch", json_integer(j->n_rows ? j->rows[j->n_rows - 1].epoch : 0));
    json_object_set_new(o, "epochs", json_integer(j->cfg.epochs));
    if (j->state == SRV_JOB_RUNNING) {
        json_object_set_new(o, "current_epoch", json_integer(j->cur_epoch));
        json_object_set_new(o, "batch", json_integer(j->batch));
        json_object_set_new(o, "batches", json_integer(j->n_batches));
        json_object_set_new(o, "batch_loss", j->batch > 0 ? srv_response_real(j->batch_loss)
                                                           : json_null());
        json_object_set_new(o, "samples_per_second", srv_response_real(j->rate));
    } else {
        json_object_set_new(o, "current_epoch", json_null());
        json_object_set_new(o, "batch", json_null());
        json_object_set_new(o, "batches", json_null());
        json_object_set_new(o, "batch_loss", json_null());
        json_object_set_new(o, "samples_per_second", json_null());
    }
    {
        double done = j->n_rows ? j->rows[j->n_rows - 1].epoch : 0;
        if (j->state == SRV_JOB_RUNNING && j->n_batches > 0 && j->cur_epoch > done)
            done += (double)j->batch / j->n_batches;
        if (j->state == SRV_JOB_SUCCEEDED) done = j->cfg.epochs;
        json_object_set_new(o, "progress",
                            json_real(j->cfg.epochs > 0 ? fmin(1.0, done / j->cfg.epochs) : 0));
    }
    if (j->n_rows) {
        json_object_set_new(o, "loss", srv_response_real(j->rows[j->n_rows - 1].loss));
        json_object_set_new(o, "val_loss", srv_response_real(j->rows[j->n_rows - 1].val_loss));
    } else {
        json_object_set_new(o, "loss", json_null());
        json_object_set_new(o, "val_loss", json_null());
    }
    eta = eta_locked(j);
    json_object_set_new(o, "eta_seconds", eta >= 0 ? json_real(eta) : json_null());
    json_object_set_new(o, "created_at", srv_response_time(j->created_at));
    json_object_set_new(o, "started_at", srv_response_time(j->started_at));
    json_object_set_new(o, "finished_at", srv_response_time(j->finished_at));
    if (j->started_at > 0) {
        double end = j->finished_at > 0 ? j->finished_at : srv_log_now_unix();
        json_object_set_new(o, "duration_seconds", json_real(fmax(0, end - j->started_at)));
    } else {
        json_object_set_new(o, "duration_seconds", json_null());
    }
    json_object_set_new(o, "queue_position",
                        queue_position ? json_integer((json_int_t)queue_position) : json_null());
    json_object_set_new(o, "run_dir", run_dir ? json_string(run_dir) : json_null());
    json_object_set_new(o, "error", j->error[0] ? json_string(j->error) : json_null());
    if (full) {
        json_t *rows = json_array();
        for (int32_t i = 0; rows && i < j->n_rows; i++)
            json_array_append_new(rows, row_json(&j->rows[i], j->cfg.model));
        json_object_set_new(o, "metrics", rows ? rows : json_null());
    }
    pthread_mutex_unlock(&j->lock);

    links = json_object();
    if (links) {
        static const char *rels[][2] = {
            {"self", ""},
            {"cancel", "/cancel"},
            {"events", "/events"},
            {"metrics", "/metrics"},
            {"summary", "/summary"},
            {"weights", "/weights"},
            {"reconstructions", "/reconstructions.png"},
            {"latent", "/latent.png"},
            {"samples", "/samples.png"},   /* vae only */
            {"manifold", "/manifold.png"}, /* vae with latent_dim 2 only */
        };
        bool vae = j->cfg.model == AE_MODEL_VAE;
        size_t n_rels = sizeof rels / sizeof rels[0] - (vae ? (j->cfg.latent_dim == 2 ? 0 : 1) : 2);
        for (size_t i = 0; i < n_rels; i++) {
            snprintf(path, sizeof path, "/api/jobs/%lld%s", (long long)j->id, rels[i][1]);
            json_object_set_new(links, rels[i][0], json_string(path));
        }
        json_object_set_new(o, "links", links);
    }
    return o;
}

json_t *srv_job_progress_json(struct srv_job *j)
{
    json_t *o = json_object();
    double eta, done;
    if (!o) return NULL;
    pthread_mutex_lock(&j->lock);
    done = j->n_rows ? j->rows[j->n_rows - 1].epoch : 0;
    json_object_set_new(o, "id", json_integer(j->id));
    json_object_set_new(o, "epoch", json_integer((json_int_t)done));
    json_object_set_new(o, "epochs", json_integer(j->cfg.epochs));
    json_object_set_new(o, "current_epoch", json_integer(j->cur_epoch));
    json_object_set_new(o, "batch", json_integer(j->batch));
    json_object_set_new(o, "batches", json_integer(j->n_batches));
    json_object_set_new(o, "batch_loss",
                        j->batch > 0 ? srv_response_real(j->batch_loss) : json_null());
    json_object_set_new(o, "samples_per_second", srv_response_real(j->rate));
    if (j->n_batches > 0 && j->cur_epoch > done) done += (double)j->batch / j->n_batches;
    json_object_set_new(o, "progress",
                        json_real(j->cfg.epochs > 0 ? fmin(1.0, done / j->cfg.epochs) : 0));
    eta = eta_locked(j);
    json_object_set_new(o, "eta_seconds", eta >= 0 ? json_real(eta) : json_null());
    pthread_mutex_unlock(&j->lock);
    return o;
}

json_t *srv_job_epoch_json(struct srv_job *j, int32_t epoch)
{
    json_t *o = NULL;
    pthread_mutex_lock(&j->lock);
    for (int32_t i = j->n_rows; i-- > 0;) {
        if (j->rows[i].epoch == epoch) {
            o = row_json(&j->rows[i], j->cfg.model);
            if (o) json_object_set_new(o, "id", json_integer(j->id));
            break;
        }
    }
    pthread_mutex_unlock(&j->lock);
    return o;
}

char *srv_job_json_text(struct srv_job *j, bool full, size_t queue_position, const char *run_dir,
                        size_t *len)
{
    int k = full ? 1 : 0;
    double now = srv_log_now_mono();
    uint64_t version;
    char *text = NULL, *copy;
    json_t *o;

    pthread_mutex_lock(&j->lock);
    version = j->version;
    if (j->json_cache[k].text && j->json_cache[k].version == version &&
        j->json_cache[k].queue_position == queue_position &&
        now - j->json_cache[k].t < SRV_JOB_JSON_MAX_AGE) {
        text = malloc(j->json_cache[k].len + 1);
        if (text) {
            memcpy(text, j->json_cache[k].text, j->json_cache[k].len + 1);
            *len = j->json_cache[k].len;
        }
        pthread_mutex_unlock(&j->lock);
        return text;
    }
    pthread_mutex_unlock(&j->lock);

    /* Build outside the lock; tag it with the version read before, so a
     * change made meanwhile makes the next request rebuild. */
    o = srv_job_to_json(j, full, queue_position, run_dir);
    text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) return NULL;
    *len = strlen(text);
    copy = malloc(*len + 1);
    if (copy) {
        memcpy(copy, text, *len + 1);
        pthread_mutex_lock(&j->lock);
        free(j->json_cache[k].text);
        j->json_cache[k].text = copy;
        j->json_cache[k].len = *len;
        j->json_cache[k].version = version;
        j->json_cache[k].queue_position = queue_position;
        j->json_cache[k].t = now;
        pthread_mutex_unlock(&j->lock);
    }
    return text;
}
