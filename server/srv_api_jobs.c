/*
 * srv_api_jobs.c - submit, list, get, cancel and delete jobs.
 *
 * Owns the job routes' rules: validation through srv_jobspec, the
 * reserve -> commit -> register -> queue order of a submission,
 * idempotency keys, pagination and filters, cancel and delete semantics.
 * It never trains and never waits on a job.
 *
 * DESIGN: a submission reserves its queue slot before it commits, and
 * commits before it answers.  So a 201 means the job is on disk and has a
 * place in the queue; a full queue is a 429 before anything is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_api_handlers.h"
#include "srv_response.h"
#include "srv_jobspec.h"
#include "srv_log.h"
#include "srv_executor.h"
#include "srv_sweeps.h"

#define LIST_MAX 500

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static void job_response(struct srv_app *app, struct srv_job *j, int status, bool full,
                         struct srv_response *r)
{
    char run_dir[4400];
    json_t *o;
    srv_app_run_dir(app, j, run_dir, sizeof run_dir);
    o = srv_job_to_json(j, full, srv_queue_position(app->queue, j), run_dir);
    if (!o) {
        srv_response_problem(r, 500, "internal-error", "out of memory building the job", NULL);
        return;
    }
    srv_response_json(r, status, o);
    json_decref(o);
}

/* job_response for a request that has already changed something (a job
 * created, a cancel recorded).  Running out of memory while building the
 * body must not turn that answer into a 500, which a client would retry (a
 * second job, or a cancel it believes failed): the same status goes out
 * with a minimal body made without jansson. */
static void job_response_done(struct srv_app *app, struct srv_job *j, int status,
                              struct srv_response *r)
{
    char b[320];
    int n;
    job_response(app, j, status, true, r);
    if (r->status == status) return;
    n = snprintf(b, sizeof b,
                 "{\"id\":%lld,\"state\":\"%s\",\"detail\":\"out of memory building the full "
                 "answer; GET /api/jobs/%lld shows the job\",\"links\":{\"self\":"
                 "\"/api/jobs/%lld\"}}",
                 (long long)j->id, srv_job_state_name(srv_job_get_state(j)), (long long)j->id,
                 (long long)j->id);
    srv_response_text(r, status, "application/json", b, (size_t)n);
}

/* Seconds a client should wait before retrying a full queue: the soonest
 * ETA among running jobs, clamped to [1, 600]; 10 when nothing is known. */
struct eta_scan {
    double best;
};
static void scan_eta(void *user, struct srv_job *j)
{
    struct eta_scan *s = user;
    json_t *p;
    if (srv_job_get_state(j) != SRV_JOB_RUNNING) return;
    p = srv_job_progress_json(j);
    if (p) {
        json_t *e = json_object_get(p, "eta_seconds");
        if (json_is_number(e) && (s->best < 0 || json_number_value(e) < s->best))
            s->best = json_number_value(e);
        json_decref(p);
    }
}
static int retry_after(struct srv_app *app)
{
    struct eta_scan s = {-1};
    srv_registry_foreach(app->registry, scan_eta, &s);
    if (s.best < 0) return 10;
    if (s.best < 1) return 1;
    return s.best > 600 ? 600 : (int)(s.best + 0.5);
}

/* ------------------------------------------------------------------------ */
/* POST /api/jobs                                                           */
/* ------------------------------------------------------------------------ */

void srv_api_jobs_create(struct srv_app *app, const struct srv_request *req, struct srv_response *r)
{
    json_t *spec = NULL, *problem = NULL, *settings = NULL;
    struct srv_jobspec js;
    struct srv_jobspec_env env;
    struct ae_err e = {0};
    bool installed[SRV_DATA_N_SETS];
    const char *inst_names[SRV_DATA_N_SETS];
    size_t n_inst = 0;
    char *settings_txt = NULL, hash[65] = "";
    const char *key = req->idempotency_key;
    bool reserved = false, replayed = false, locked = false;
    int64_t id = 0;
    struct srv_job *j = NULL;

    if (!srv_api_parse_body(req, &spec, r)) {
        goto out;
    }

    srv_data_installed(app->data, installed);
    for (size_t i = 0; i < SRV_DATA_N_SETS; i++)
        if (installed[i]) inst_names[n_inst++] = srv_data_names[i];
    env = (struct srv_jobspec_env){
        .known = srv_data_names,
        .n_known = SRV_DATA_N_SETS,
        .installed = inst_names,
        .n_installed = n_inst,
        .default_dataset = app->default_dataset,
        .default_threads = app->cfg.threads_per_job,
        .canonical = srv_data_canonical,
    };
    if (srv_jobspec_validate(spec, &env, &js, &problem, &e) != SRV_OK) {
        const char *code = "invalid-setting";
        json_t *c = problem ? json_object_get(problem, "code") : NULL;
        if (json_is_string(c)) code = json_string_value(c);
        srv_response_problem(r, 400, code, e.msg, problem);
        problem = NULL;
        goto out;
    }

    if (!srv_api_idempotency(req, spec, hash, r)) goto out;

    if (!srv_queue_reserve(app->queue)) {
        /* A retry of a submission that already succeeded is still a replay. */
        char old[65];
        if (key && srv_store_idem_find(app->store, key, &id, old, NULL) == SRV_OK &&
            strcmp(old, hash) == 0 && (j = srv_registry_get(app->registry, id))) {
            srv_response_header(r, "Location", "/api/jobs/%lld", (long long)id);
            srv_api_replayed(r);
            job_response_done(app, j, 201, r);
            goto out;
        }
        char d[200];
        int after = retry_after(app);
        snprintf(d, sizeof d,
                 "the queue is full (%zu jobs waiting); retry in about %d seconds or cancel "
                 "queued jobs",
                 srv_queue_capacity(app->queue), after);
        srv_response_problem(r, 429, "queue-full", d, NULL);
        srv_response_header(r, "Retry-After", "%d", after);
        goto out;
    }
    reserved = true;

    settings = srv_jobspec_settings_json(&js.cfg);
    settings_txt = settings ? json_dumps(settings, JSON_COMPACT) : NULL;
    if (!settings_txt) {
        srv_response_problem(r, 500, "internal-error", "out of memory", NULL);
        goto out;
    }
    {
        struct srv_store_job rec = {
            .name = js.name,
            .model = js.model,
            .dataset = js.dataset,
            .settings = settings_txt,
            .state = "queued",
            .created_at = srv_log_now_unix(),
            .executor = srv_executor_name(app->executor),
            .keep_final = js.keep_final,
        };
        enum srv_status st;
        pthread_mutex_lock(&app->submit_lock);
        locked = true;
        st = srv_store_job_insert(app->store, &rec, key, key ? hash : NULL, &id, &replayed, &e);
        if (st != SRV_OK) {
            srv_response_problem_status(r, st, e.msg);
            if (st != SRV_ERR_CONFLICT) srv_log(SRV_LOG_ERROR, 0, "msg=\"submit failed\" error=\"%s\"", e.msg);
            goto out;
        }
        if (replayed) {
            j = srv_registry_get(app->registry, id);
            if (!j) {
                srv_response_problem(r, 404, "not-found",
                                     "the job of this Idempotency-Key is gone", NULL);
                goto out;
            }
            srv_response_header(r, "Location", "/api/jobs/%lld", (long long)id);
            srv_api_replayed(r);
            job_response_done(app, j, 201, r);
            goto out;
        }
        j = srv_job_new(id, js.name, js.model, js.dataset, &js.cfg, SRV_JOB_QUEUED,
                        rec.created_at);
        if (j) srv_job_set_placement(j, NULL, NULL, rec.executor, NULL, NULL, NULL);
        if (j) {
            srv_job_set_keep(j, js.keep_final);
            srv_sweeps_observe(app, j);
        }
    }
    if (!j || srv_registry_add(app->registry, j, &e) != SRV_OK) {
        srv_response_problem(r, 500, "internal-error",
                    "the job was saved but could not be queued (out of memory); it will run "
                    "after the daemon restarts",
                    NULL);
        goto out;
    }
    srv_queue_push_reserved(app->queue, srv_job_ref(j));
    reserved = false;
    pthread_mutex_unlock(&app->submit_lock);
    locked = false;
    srv_feed_publish(app->feed, j->id, SRV_FEED_CREATED, 0);
    srv_log(SRV_LOG_INFO, j->id, "msg=\"job queued\" model=%s dataset=%s epochs=%d", j->model,
            j->dataset, j->cfg.epochs);
    srv_response_header(r, "Location", "/api/jobs/%lld", (long long)j->id);
    job_response_done(app, j, 201, r);

out:
    if (locked) pthread_mutex_unlock(&app->submit_lock);
    if (reserved) srv_queue_unreserve(app->queue);
    srv_job_unref(j);
    free(settings_txt);
    json_decref(settings);
    json_decref(problem);
    json_decref(spec);
}

/* ------------------------------------------------------------------------ */
/* GET /api/jobs                                                            */
/* ------------------------------------------------------------------------ */

/* Append prefix and then text[0..len) to the growing buffer *buf. */
static bool append(char **buf, size_t *o, size_t *cap, const char *prefix, const char *text,
                   size_t len)
{
    size_t pl = strlen(prefix);
    if (*o + pl + len + 1 > *cap) {
        size_t c = *cap;
        char *p;
        while (c < *o + pl + len + 1) c *= 2;
        p = realloc(*buf, c);
        if (!p) return false;
        *buf = p;
        *cap = c;
    }
    memcpy(*buf + *o, prefix, pl);
    if (len) memcpy(*buf + *o + pl, text, len);
    *o += pl + len;
    (*buf)[*o] = '\0';
    return true;
}

static bool parse_states(const char *s, unsigned *mask, char *bad, size_t bad_len)
{
    *mask = 0;
    while (*s) {
        size_t n = strcspn(s, ",");
        char name[32];
        enum srv_job_state st;
        if (n == 0 || n >= sizeof name) {
            snprintf(bad, bad_len, "%.*s", (int)(n < 40 ? n : 40), s);
            return false;
        }
        memcpy(name, s, n);
        name[n] = '\0';
        if (!srv_job_state_parse(name, &st)) {
            snprintf(bad, bad_len, "%s", name);
            return false;
        }
        *mask |= 1u << st;
        s += n;
        if (*s == ',') s++;
    }
    return *mask != 0;
}

void srv_api_jobs_list(struct srv_app *app, const struct srv_request *req, struct srv_response *r)
{
    struct srv_job_filter f = {0};
    struct srv_job *jobs[LIST_MAX + 1];
    const char *state = srv_uri_param(&req->uri, "state");
    const char *model = srv_uri_param(&req->uri, "model");
    const char *limit_s = srv_uri_param(&req->uri, "limit");
    const char *before_s = srv_uri_param(&req->uri, "before");
    const char *sweep_s = srv_uri_param(&req->uri, "sweep");
    long long limit = 50, before = 0, sweep = 0;
    size_t n, total = 0;
    struct ae_err e;
    enum ae_model_kind kind;

    if (state) {
        char bad[48];
        if (!parse_states(state, &f.state_mask, bad, sizeof bad)) {
            char d[200];
            snprintf(d, sizeof d,
                     "unknown state '%s' in ?state=; use queued, running, succeeded, failed, "
                     "cancelled or stopped (comma-separated for several)",
                     bad);
            srv_response_problem(r, 400, "invalid-parameter", d, json_pack("{s:s}", "field",
                                 "state"));
            return;
        }
    }
    if (model) {
        if (!ae_model_parse(model, &kind)) {
            char d[200];
            snprintf(d, sizeof d,
                     "unknown model '%.40s' in ?model=; use simple, sparse, deep, conv, denoise "
                     "or vae",
                     model);
            srv_response_problem(r, 400, "invalid-parameter", d, json_pack("{s:s}", "field",
                                 "model"));
            return;
        }
        f.model = ae_model_name(kind);
    }
    if (limit_s && srv_parse_int(limit_s, 1, LIST_MAX, "limit", &limit, &e) != SRV_OK) {
        srv_response_problem(r, 400, "invalid-parameter", e.msg, json_pack("{s:s}", "field",
                             "limit"));
        return;
    }
    if (before_s &&
        srv_parse_int(before_s, 1, ((long long)1 << 53) - 1, "before", &before, &e) != SRV_OK) {
        srv_response_problem(r, 400, "invalid-parameter", e.msg, json_pack("{s:s}", "field",
                             "before"));
        return;
    }
    if (sweep_s &&
        srv_parse_int(sweep_s, 1, ((long long)1 << 53) - 1, "sweep", &sweep, &e) != SRV_OK) {
        srv_response_problem(r, 400, "invalid-parameter", e.msg, json_pack("{s:s}", "field",
                             "sweep"));
        return;
    }
    f.before = before;
    f.sweep = sweep;
    n = srv_registry_list(app->registry, &f, jobs, (size_t)limit + 1, &total);

    /* {"jobs":[<job>,...],"total":N,"next":...}: each job's text comes from
     * its cache, so a poll of an unchanged list copies bytes. */
    {
        size_t cap = 256, o = 0;
        char *buf = malloc(cap);
        bool oom = !buf;
        for (size_t i = 0; !oom && i < n && i < (size_t)limit; i++) {
            char run_dir[4400], *t;
            size_t tl = 0;
            srv_app_run_dir(app, jobs[i], run_dir, sizeof run_dir);
            t = srv_job_json_text(jobs[i], false, srv_queue_position(app->queue, jobs[i]),
                                  run_dir, &tl);
            if (!t || !append(&buf, &o, &cap, i ? "," : "{\"jobs\":[", t, tl)) oom = true;
            free(t);
        }
        if (!oom && n == 0) oom = !append(&buf, &o, &cap, "{\"jobs\":[", NULL, 0);
        if (!oom) {
            char tail[600];
            int w = snprintf(tail, sizeof tail, "],\"total\":%zu,\"next\":", total);
            if (n > (size_t)limit) {
                w += snprintf(tail + w, sizeof tail - (size_t)w, "\"/api/jobs?limit=%lld&before=%lld",
                              limit, (long long)jobs[limit - 1]->id);
                if (f.state_mask) {
                    w += snprintf(tail + w, sizeof tail - (size_t)w, "&state=");
                    for (int s = 0, first = 1; s < SRV_JOB_STATE_COUNT; s++)
                        if (f.state_mask & (1u << s)) {
                            w += snprintf(tail + w, sizeof tail - (size_t)w, "%s%s",
                                          first ? "" : ",", srv_job_state_name((enum srv_job_state)s));
                            first = 0;
                        }
                }
                if (f.model) w += snprintf(tail + w, sizeof tail - (size_t)w, "&model=%s", f.model);
                if (f.sweep)
                    w += snprintf(tail + w, sizeof tail - (size_t)w, "&sweep=%lld",
                                  (long long)f.sweep);
                w += snprintf(tail + w, sizeof tail - (size_t)w, "\"}");
            } else {
                w += snprintf(tail + w, sizeof tail - (size_t)w, "null}");
            }
            oom = !append(&buf, &o, &cap, "", tail, (size_t)w);
        }
        if (oom) {
            free(buf);
            srv_response_problem(r, 500, "internal-error", "out of memory listing jobs", NULL);
        } else {
            srv_response_take(r, 200, "application/json", buf, o);
        }
    }
    for (size_t i = 0; i < n; i++) srv_job_unref(jobs[i]);
}

/* ------------------------------------------------------------------------ */
/* GET/DELETE /api/jobs/{id}, POST /api/jobs/{id}/cancel                    */
/* ------------------------------------------------------------------------ */

void srv_api_job_get(struct srv_app *app, const struct srv_request *req, struct srv_response *r)
{
    struct srv_job *j = srv_api_find_job(app, req, r);
    char run_dir[4400], *text;
    size_t len = 0;

    if (!j) return;
    srv_app_run_dir(app, j, run_dir, sizeof run_dir);
    text = srv_job_json_text(j, true, srv_queue_position(app->queue, j), run_dir, &len);
    if (text)
        srv_response_take(r, 200, "application/json", text, len);
    else
        srv_response_problem(r, 500, "internal-error", "out of memory building the job", NULL);
    srv_job_unref(j);
}

void srv_api_job_cancel(struct srv_app *app, const struct srv_request *req, struct srv_response *r)
{
    struct srv_job *j = srv_api_find_job(app, req, r);
    struct ae_err e = {0};
    enum srv_status st;
    enum srv_job_state now;

    if (!j) return;
    st = srv_job_cancel_queued(j, app->store, app->feed, &e);
    if (st == SRV_OK) {
        /* The queue's reference goes with the entry (a worker that popped
         * it first sees the cancelled state and drops it). */
        if (srv_queue_remove(app->queue, j)) srv_job_unref(j);
        srv_log(SRV_LOG_INFO, j->id, "msg=\"job cancelled while queued\"");
        job_response_done(app, j, 200, r);
        goto out;
    }
    if (st != SRV_ERR_STATE) {
        srv_response_problem_status(r, st, e.msg);
        goto out;
    }
    now = srv_job_get_state(j);
    if (now == SRV_JOB_RUNNING) {
        /* On disk first: a 202 must survive a crash before the job stops. */
        st = srv_store_job_cancel(app->store, j->id, &e);
        if (st != SRV_OK) {
            srv_response_problem_status(r, st, e.msg);
            goto out;
        }
        srv_job_request_cancel(j, app->feed);
        srv_log(SRV_LOG_INFO, j->id, "msg=\"cancel requested\"");
        job_response_done(app, j, 202, r);
    } else {
        char d[200];
        snprintf(d, sizeof d,
                 "job %lld has already %s; only queued or running jobs can be cancelled",
                 (long long)j->id, now == SRV_JOB_CANCELLED ? "been cancelled" : srv_job_state_name(now));
        srv_response_problem(r, 409, "wrong-state", d, json_pack("{s:s}", "state",
                             srv_job_state_name(now)));
    }
out:
    srv_job_unref(j);
}

void srv_api_job_delete(struct srv_app *app, const struct srv_request *req, struct srv_response *r)
{
    bool purge = false;
    struct srv_job *j = NULL, *gone;
    struct ae_err e = {0};
    enum srv_job_state now;
    enum srv_status st;
    char run_dir[4400];
    int rc;

    if (!srv_api_purge_param(req, &purge, r)) return;
    j = srv_api_find_job(app, req, r);
    if (!j) return;
    now = srv_job_get_state(j);
    if (!srv_job_state_final(now)) {
        char d[200];
        snprintf(d, sizeof d,
                 "job %lld is %s; cancel it first (POST /api/jobs/%lld/cancel), then delete it",
                 (long long)j->id, srv_job_state_name(now), (long long)j->id);
        srv_response_problem(r, 409, "wrong-state", d, json_pack("{s:s}", "state",
                             srv_job_state_name(now)));
        goto out;
    }
    srv_app_run_dir(app, j, run_dir, sizeof run_dir);
    /* Purge first: if it fails, the record stays and the client can retry. */
    if (purge && (rc = srv_app_remove_tree(run_dir)) != 0) {
        char d[600];
        snprintf(d, sizeof d, "could not delete the run directory %.400s: %s; the job was kept",
                 run_dir, strerror(rc));
        srv_response_problem(r, 500, "io-error", d, NULL);
        goto out;
    }
    st = srv_store_job_delete(app->store, j->id, &e);
    if (st != SRV_OK && st != SRV_ERR_NOTFOUND) {
        srv_response_problem_status(r, st, e.msg);
        goto out;
    }
    gone = srv_registry_remove(app->registry, j->id);
    srv_job_mark_removed(j, app->feed);
    srv_job_unref(gone);
    srv_log(SRV_LOG_INFO, j->id, "msg=\"job deleted\" purge=%s", purge ? "true" : "false");
    r->status = 204;
out:
    srv_job_unref(j);
}
