/*
 * srv_api_common.c - the look-ups the API handlers share (see
 * srv_api_common.h): the job a request names, the epoch it asks for, the
 * weights file of that epoch.
 *
 * Owns turning those request parts into a job/epoch/path or a 400/404
 * problem.  It calls no handler, so the handlers depend on it and never on
 * each other or on the dispatcher.
 */
#include "srv_api_common.h"

#include <string.h>
#include <stdio.h>

#include "srv_response.h"

/* See srv_api_common.h. */
struct srv_job *srv_api_find_job(struct srv_app *app, const struct srv_request *req,
                                 struct srv_response *r)
{
    struct srv_job *j = srv_registry_get(app->registry, req->route.job_id);
    if (!j) {
        char d[160];
        snprintf(d, sizeof d, "there is no job %lld; GET /api/jobs lists the jobs there are",
                 (long long)req->route.job_id);
        srv_response_problem(r, 404, "not-found", d, NULL);
    }
    return j;
}

/* See srv_api_common.h. */
int32_t srv_api_latest_epoch(struct srv_job *j)
{
    int32_t e;
    pthread_mutex_lock(&j->lock);
    e = j->n_rows ? j->rows[j->n_rows - 1].epoch : 0;
    pthread_mutex_unlock(&j->lock);
    return e;
}

/* See srv_api_common.h. */
int32_t srv_api_pick_epoch(struct srv_job *j, const struct srv_request *req, struct srv_response *r)
{
    const char *s = srv_uri_param(&req->uri, "epoch");
    int32_t latest = srv_api_latest_epoch(j);
    long long want = latest;
    struct ae_err e;
    char d[200];

    if (s && srv_parse_int(s, 1, j->cfg.epochs, "epoch", &want, &e) != SRV_OK) {
        srv_response_problem(r, 400, "invalid-parameter", e.msg, json_pack("{s:s}", "field",
                             "epoch"));
        return 0;
    }
    if (latest == 0) {
        snprintf(d, sizeof d,
                 "job %lld has no finished epoch yet; this appears when epoch 1 is done",
                 (long long)j->id);
        srv_response_problem(r, 404, "not-ready", d, NULL);
        return 0;
    }
    if (want > latest) {
        snprintf(d, sizeof d, "epoch %lld of job %lld has not finished (latest: %d)", want,
                 (long long)j->id, latest);
        srv_response_problem(r, 404, "not-ready", d, NULL);
        return 0;
    }
    return (int32_t)want;
}

void srv_api_weights_path(struct srv_app *app, struct srv_job *j, int32_t epoch, char *buf,
                          size_t len)
{
    char run_dir[4400];
    srv_app_run_dir(app, j, run_dir, sizeof run_dir);
    snprintf(buf, len, "%s/weights/epoch-%04d.aew", run_dir, epoch);
}

bool srv_api_parse_body(const struct srv_request *req, json_t **out, struct srv_response *r)
{
    struct ae_err e = {0};
    int line = 0, col = 0;

    if (srv_response_parse_json(req->body, req->body_len, out, &line, &col, &e) == SRV_OK)
        return true;
    json_t *x = json_object();
    if (x && line > 0) {
        json_object_set_new(x, "line", json_integer(line));
        json_object_set_new(x, "column", json_integer(col));
    }
    srv_response_problem(r, 400, "malformed-json", e.msg, x);
    return false;
}

bool srv_api_purge_param(const struct srv_request *req, bool *purge, struct srv_response *r)
{
    const char *v = srv_uri_param(&req->uri, "purge");
    *purge = false;
    if (!v || !strcmp(v, "false") || !strcmp(v, "0")) return true;
    if (!strcmp(v, "true") || !strcmp(v, "1")) {
        *purge = true;
        return true;
    }
    srv_response_problem(r, 400, "invalid-parameter", "purge must be true or false",
                         json_pack("{s:s}", "field", "purge"));
    return false;
}
