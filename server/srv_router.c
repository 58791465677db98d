/*
 * srv_router.c - the route table (see srv_router.h).
 *
 * Owns the mapping from (method, path) to a route and a job id.  It does
 * not look jobs up (a well-formed id that names no job is the handler's
 * 404) and does not read files.  Design: the table below is the single list
 * of API routes; the OpenAPI test walks it through srv_router_template, so
 * a route cannot be added without documenting it.
 */
#include "srv_router.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define ID "{id}"

struct route_def {
    enum srv_route_id id;
    const char *method;
    const char *path[5]; /* segments after the leading '/', NULL-terminated */
};

static const struct route_def routes[] = {
    {SRV_ROUTE_JOBS_CREATE, "POST", {"api", "jobs", NULL}},
    {SRV_ROUTE_JOBS_LIST, "GET", {"api", "jobs", NULL}},
    {SRV_ROUTE_JOB_GET, "GET", {"api", "jobs", ID, NULL}},
    {SRV_ROUTE_JOB_DELETE, "DELETE", {"api", "jobs", ID, NULL}},
    {SRV_ROUTE_JOB_CANCEL, "POST", {"api", "jobs", ID, "cancel", NULL}},
    {SRV_ROUTE_JOB_RECON, "GET", {"api", "jobs", ID, "reconstructions.png", NULL}},
    {SRV_ROUTE_JOB_LATENT, "GET", {"api", "jobs", ID, "latent.png", NULL}},
    {SRV_ROUTE_JOB_MANIFOLD, "GET", {"api", "jobs", ID, "manifold.png", NULL}},
    {SRV_ROUTE_JOB_SAMPLES, "GET", {"api", "jobs", ID, "samples.png", NULL}},
    {SRV_ROUTE_JOB_METRICS, "GET", {"api", "jobs", ID, "metrics", NULL}},
    {SRV_ROUTE_JOB_SUMMARY, "GET", {"api", "jobs", ID, "summary", NULL}},
    {SRV_ROUTE_JOB_WEIGHTS, "GET", {"api", "jobs", ID, "weights", NULL}},
    {SRV_ROUTE_JOB_EVENTS, "GET", {"api", "jobs", ID, "events", NULL}},
    {SRV_ROUTE_EVENTS, "GET", {"api", "events", NULL}},
    {SRV_ROUTE_MODELS, "GET", {"api", "models", NULL}},
    {SRV_ROUTE_HEALTH, "GET", {"api", "health", NULL}},
    {SRV_ROUTE_OPENAPI, "GET", {"api", "openapi.json", NULL}},
    {SRV_ROUTE_PROMETHEUS, "GET", {"metrics", NULL}},
    {SRV_ROUTE_SWEEPS_CREATE, "POST", {"api", "sweeps", NULL}},
    {SRV_ROUTE_SWEEPS_LIST, "GET", {"api", "sweeps", NULL}},
    {SRV_ROUTE_SWEEP_GET, "GET", {"api", "sweeps", ID, NULL}},
    {SRV_ROUTE_SWEEP_DELETE, "DELETE", {"api", "sweeps", ID, NULL}},
    {SRV_ROUTE_SWEEP_CANCEL, "POST", {"api", "sweeps", ID, "cancel", NULL}},
    {SRV_ROUTE_SWEEP_EVENTS, "GET", {"api", "sweeps", ID, "events", NULL}},
    {SRV_ROUTE_SWEEP_METRICS, "GET", {"api", "sweeps", ID, "metrics", NULL}},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

const char *srv_route_name(enum srv_route_id id)
{
    static const char *names[SRV_ROUTE_COUNT] = {
        "none", "jobs_create", "jobs_list", "job_get", "job_delete", "job_cancel",
        "job_reconstructions", "job_latent", "job_manifold", "job_samples", "job_metrics",
        "job_summary", "job_weights", "job_events", "events",
        "models", "health", "openapi", "prometheus", "sweeps_create", "sweeps_list",
        "sweep_get", "sweep_delete", "sweep_cancel", "sweep_events", "sweep_metrics", "static",
    };
    return (id >= 0 && id < SRV_ROUTE_COUNT) ? names[id] : "none";
}

bool srv_router_template(int i, const char **method, char *path, size_t len)
{
    size_t o = 0;
    if (i < 0 || (size_t)i >= N_ROUTES || len == 0) return false;
    path[0] = '\0';
    for (int k = 0; routes[i].path[k] && o < len; k++) {
        int w = snprintf(path + o, len - o, "/%s", routes[i].path[k]);
        if (w < 0) break;
        o += (size_t)w;
    }
    *method = routes[i].method;
    return true;
}

/* Does the path match the template?  Any segment matches "{id}". */
static bool path_matches(const struct route_def *d, const struct srv_uri *u, int *id_seg)
{
    int k = 0;
    for (; d->path[k]; k++) {
        if (k >= u->n_seg) return false;
        if (strcmp(d->path[k], ID) == 0) {
            if (!u->seg[k][0]) return false; /* "/api/jobs/" is no route */
            *id_seg = k;
        }
        else if (strcmp(d->path[k], u->seg[k]) != 0)
            return false;
    }
    return k == u->n_seg;
}

static bool method_is(const char *method, const char *want)
{
    if (strcmp(method, want) == 0) return true;
    return strcmp(want, "GET") == 0 && strcmp(method, "HEAD") == 0;
}

/* Job ids are positive integers below 2^53 (exact in a JSON number). */
static bool parse_id(const char *s, int64_t *out)
{
    int64_t v = 0;
    int n = 0;
    if (!*s) return false;
    for (; *s; s++, n++) {
        if (*s < '0' || *s > '9' || n >= 16) return false;
        v = v * 10 + (*s - '0');
    }
    if (v < 1 || v > ((int64_t)1 << 53) - 1) return false;
    *out = v;
    return true;
}

static const char *allow_for(const struct srv_uri *u)
{
    /* Build the Allow value from every route with the same path; the
     * combinations are few, so keep them as constants. */
    bool get = false, post = false, del = false;
    int id_seg = -1;
    for (size_t i = 0; i < N_ROUTES; i++) {
        if (!path_matches(&routes[i], u, &id_seg)) continue;
        if (strcmp(routes[i].method, "GET") == 0) get = true;
        if (strcmp(routes[i].method, "POST") == 0) post = true;
        if (strcmp(routes[i].method, "DELETE") == 0) del = true;
    }
    if (get && post) return "GET, HEAD, POST";
    if (get && del) return "GET, HEAD, DELETE";
    if (post) return "POST";
    if (get) return "GET, HEAD";
    return NULL;
}

void srv_router_match(const char *method, const struct srv_uri *u, struct srv_route *r)
{
    int id_seg = -1;
    bool path_known = false;

    memset(r, 0, sizeof *r);
    if (!method) method = "";
    r->mutating = strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;

    for (size_t i = 0; i < N_ROUTES; i++) {
        int seg = -1;
        if (!path_matches(&routes[i], u, &seg)) continue;
        path_known = true;
        if (!method_is(method, routes[i].method)) continue;
        id_seg = seg;
        if (id_seg >= 0 && !parse_id(u->seg[id_seg], &r->job_id)) {
            r->id = SRV_ROUTE_NONE;
            r->status = 400;
            snprintf(r->detail, sizeof r->detail,
                     "'%.40s' is not a %s id: ids are positive whole numbers such as 7",
                     u->seg[id_seg], strcmp(u->seg[1], "sweeps") == 0 ? "sweep" : "job");
            return;
        }
        r->id = routes[i].id;
        r->status = 200;
        return;
    }
    if (path_known) {
        r->status = 405;
        r->allow = allow_for(u);
        snprintf(r->detail, sizeof r->detail, "%.16s is not allowed here; use %s", method,
                 r->allow ? r->allow : "another path");
        return;
    }
    if (u->n_seg >= 1 && strcmp(u->seg[0], "api") == 0) {
        r->status = 404;
        snprintf(r->detail, sizeof r->detail,
                 "no API route matches this path; /api/openapi.json lists every route");
        return;
    }
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
        r->id = SRV_ROUTE_STATIC;
        r->status = 200;
        return;
    }
    r->status = 405;
    r->allow = "GET, HEAD";
    snprintf(r->detail, sizeof r->detail,
             "%.16s is not allowed for static files; use GET or HEAD", method);
}
