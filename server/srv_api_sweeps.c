/*
 * srv_api_sweeps.c - submit, list, get, cancel and delete sweeps, and a
 * sweep's metrics (JSON or CSV).  The event stream is in srv_sse.c.
 *
 * Owns the sweep routes' HTTP rules (status codes, problem bodies, query
 * parameters, formats).  The sweep manager (srv_sweeps.c) owns everything
 * else; a handler never trains and never waits on a trial.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_api_handlers.h"
#include "srv_log.h"
#include "srv_response.h"
#include "srv_sweeps.h"

static void not_found(const struct srv_request *req, struct srv_response *r)
{
    char d[120];
    snprintf(d, sizeof d, "no sweep %lld; GET /api/sweeps lists them",
             (long long)req->route.job_id);
    srv_response_problem(r, 404, "not-found", d, NULL);
}

void srv_api_sweeps_create(struct srv_app *app, const struct srv_request *req,
                           struct srv_response *r)
{
    json_t *body = NULL, *problem = NULL, *out = NULL;
    struct ae_err e = {0};
    enum srv_status st;
    char hash[65];
    bool replayed = false;

    if (!srv_api_parse_body(req, &body, r)) {
        return;
    }
    if (!srv_api_idempotency(req, body, hash, r)) {
        json_decref(body);
        return;
    }
    st = srv_sweeps_create(app, body, req->idempotency_key, req->idempotency_key ? hash : NULL,
                           &out, &replayed, &problem, &e);
    if (st == SRV_ERR_ARG) {
        const char *code = "invalid-sweep";
        json_t *c = problem ? json_object_get(problem, "code") : NULL;
        if (json_is_string(c)) code = json_string_value(c);
        srv_response_problem(r, 400, code, e.msg, problem);
        problem = NULL;
    } else if (st != SRV_OK) {
        srv_response_problem_status(r, st, e.msg);
        if (st != SRV_ERR_CONFLICT)
            srv_log(SRV_LOG_ERROR, 0, "msg=\"sweep submit failed\" error=\"%s\"", e.msg);
    } else {
        srv_response_header(r, "Location", "/api/sweeps/%lld",
                            (long long)json_integer_value(json_object_get(out, "id")));
        if (replayed) srv_api_replayed(r);
        srv_response_json(r, 201, out);
    }
    json_decref(out);
    json_decref(problem);
    json_decref(body);
}

void srv_api_sweeps_list(struct srv_app *app, const struct srv_request *req, struct srv_response *r)
{
    const char *state = srv_uri_param(&req->uri, "state");
    unsigned mask = 0;
    json_t *o;

    if (state) {
        const char *s = state;
        while (*s) {
            size_t n = strcspn(s, ",");
            char name[32];
            unsigned bit;
            snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name - 1 ? n : sizeof name - 1),
                     s);
            if (n == 0 || n >= sizeof name || !srv_sweeps_state_bit(name, &bit)) {
                char d[200];
                snprintf(d, sizeof d, "unknown state '%.40s' in ?state=; use running, succeeded or "
                         "cancelled (comma-separated for several)", name);
                srv_response_problem(r, 400, "invalid-parameter", d, json_pack("{s:s}", "field",
                                     "state"));
                return;
            }
            mask |= bit;
            s += n;
            if (*s == ',') s++;
        }
    }
    o = srv_sweeps_list_json(app, mask);
    if (!o) {
        srv_response_problem(r, 500, "internal-error", "out of memory listing sweeps", NULL);
        return;
    }
    srv_response_json(r, 200, o);
    json_decref(o);
}

void srv_api_sweep_get(struct srv_app *app, const struct srv_request *req, struct srv_response *r)
{
    json_t *o = srv_sweeps_get_json(app, req->route.job_id);
    if (!o) {
        not_found(req, r);
        return;
    }
    srv_response_json(r, 200, o);
    json_decref(o);
}

/* 404/409/500 from a manager status. */
static void status_problem(const struct srv_request *req, struct srv_response *r,
                           enum srv_status st, const char *msg)
{
    if (st == SRV_ERR_NOTFOUND)
        not_found(req, r);
    else if (st == SRV_ERR_STATE)
        srv_response_problem(r, 409, "wrong-state", msg, NULL);
    else
        srv_response_problem_status(r, st, msg);
}

void srv_api_sweep_cancel(struct srv_app *app, const struct srv_request *req,
                          struct srv_response *r)
{
    struct ae_err e = {0};
    enum srv_status st = srv_sweeps_cancel(app, req->route.job_id, &e);
    json_t *o;
    if (st != SRV_OK) {
        status_problem(req, r, st, e.msg);
        return;
    }
    o = srv_sweeps_get_json(app, req->route.job_id);
    if (o) {
        /* 200 when it has ended already (every trial was queued), else 202. */
        const char *s = json_string_value(json_object_get(o, "state"));
        srv_response_json(r, s && !strcmp(s, "running") ? 202 : 200, o);
    } else {
        srv_response_text(r, 202, "application/json", "{}", 2);
    }
    json_decref(o);
}

void srv_api_sweep_delete(struct srv_app *app, const struct srv_request *req,
                          struct srv_response *r)
{
    struct ae_err e = {0};
    enum srv_status st;
    bool purge = false;

    if (!srv_api_purge_param(req, &purge, r)) return;
    st = srv_sweeps_delete(app, req->route.job_id, purge, &e);
    if (st != SRV_OK) {
        status_problem(req, r, st, e.msg);
        return;
    }
    r->status = 204;
}

/* One CSV field: numbers as %.9g, strings as they are (names and states
 * hold no commas or quotes), null as empty. */
static bool csv_field(char **buf, size_t *o, size_t *cap, const json_t *v, bool last)
{
    char tmp[64];
    const char *t = "";
    size_t n;
    if (json_is_integer(v))
        snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v)), t = tmp;
    else if (json_is_real(v) && isfinite(json_real_value(v)))
        snprintf(tmp, sizeof tmp, "%.9g", json_real_value(v)), t = tmp;
    else if (json_is_string(v))
        t = json_string_value(v);
    n = strlen(t);
    if (*o + n + 2 > *cap) {
        size_t c = (*cap + n + 2) * 2;
        char *p = realloc(*buf, c);
        if (!p) return false;
        *buf = p;
        *cap = c;
    }
    memcpy(*buf + *o, t, n);
    *o += n;
    (*buf)[(*o)++] = last ? '\n' : ',';
    return true;
}

void srv_api_sweep_metrics(struct srv_app *app, const struct srv_request *req,
                           struct srv_response *r)
{
    const char *fmt = srv_uri_param(&req->uri, "format");
    bool csv = false;
    json_t *rows;

    if (fmt) {
        if (!strcmp(fmt, "csv"))
            csv = true;
        else if (strcmp(fmt, "json") != 0) {
            srv_response_problem(r, 400, "invalid-parameter", "format must be json or csv",
                        json_pack("{s:s}", "field", "format"));
            return;
        }
    } else if (req->accept && strstr(req->accept, "text/csv") &&
               !strstr(req->accept, "application/json")) {
        csv = true;
    }
    rows = srv_sweeps_metrics_json(app, req->route.job_id);
    if (!rows) {
        not_found(req, r);
        return;
    }
    if (!csv) {
        srv_response_json(r, 200, rows);
    } else {
        /* Columns: the union of the rows' keys, in the order first seen
         * (trial, job, epoch, then the job's metric names). */
        json_t *cols = json_object(), *row, *v;
        const char *k;
        size_t i, cap = 1024, o = 0, n_cols;
        char *buf = malloc(cap);
        bool ok = buf && cols;
        json_array_foreach(rows, i, row) json_object_foreach(row, k, v)
            if (ok && !json_object_get(cols, k)) json_object_set_new(cols, k, json_true());
        n_cols = ok ? json_object_size(cols) : 0;
        i = 0;
        json_object_foreach(cols, k, v) {
            json_t *name = json_string(k);
            ok = ok && name && csv_field(&buf, &o, &cap, name, ++i == n_cols);
            json_decref(name);
        }
        json_array_foreach(rows, i, row) {
            size_t c = 0;
            json_object_foreach(cols, k, v)
                ok = ok && csv_field(&buf, &o, &cap, json_object_get(row, k), ++c == n_cols);
        }
        if (!ok) {
            free(buf);
            srv_response_problem(r, 500, "internal-error", "out of memory", NULL);
        } else {
            srv_response_take(r, 200, "text/csv; charset=utf-8", buf, o);
            srv_response_header(r, "Content-Disposition",
                                "inline; filename=\"sweep-%04lld-metrics.csv\"",
                                (long long)req->route.job_id);
        }
        json_decref(cols);
    }
    json_decref(rows);
}
