/*
 * srv_api.c - API dispatch and the checks every request passes
 * (see srv_api.h).
 *
 * Owns the order of checks: route (404/405/400 id) -> token (401) ->
 * Content-Length (413) -> media type (415) -> the handler.  It does not
 * implement any route itself.  Design: the token check happens before the
 * body is read, so an unauthenticated client cannot make the server buffer
 * 64 KiB; the comparison takes the same time whatever the token's prefix.
 */
#include "srv_api.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "srv_api_handlers.h"
#include "srv_response.h"

/* Compare in time independent of where the strings differ. */
static bool same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++) diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

static bool authorized(const struct srv_app *app, const struct srv_request *req)
{
    const char *h = req->authorization;
    if (!app->token[0]) return true;
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return false;
    h += 7;
    while (*h == ' ') h++;
    return same_secret(h, app->token);
}

static bool is_json_type(const char *ct)
{
    size_t n;
    if (!ct) return false;
    while (*ct == ' ') ct++;
    n = strcspn(ct, "; ");
    return n == strlen("application/json") && strncasecmp(ct, "application/json", n) == 0;
}

bool srv_api_precheck(struct srv_app *app, const struct srv_request *req, struct srv_response *r)
{
    const struct srv_route *rt = &req->route;

    if (rt->id == SRV_ROUTE_NONE) {
        const char *code = rt->status == 405 ? "method-not-allowed"
                           : rt->status == 400 ? "invalid-id"
                                               : "not-found";
        srv_problem(r, rt->status ? rt->status : 404, code, rt->detail, NULL);
        if (rt->status == 405 && rt->allow) srv_response_header(r, "Allow", "%s", rt->allow);
        return true;
    }
    if (rt->mutating && !authorized(app, req)) {
        srv_problem(r, 401, "unauthorized",
                    req->authorization
                        ? "the bearer token is wrong; send the token from the daemon's "
                          "--token-file as 'Authorization: Bearer <token>'"
                        : "this server requires a token for POST and DELETE; send "
                          "'Authorization: Bearer <token>' with the token from the daemon's "
                          "--token-file",
                    NULL);
        srv_response_header(r, "WWW-Authenticate", "Bearer realm=\"aelabd\"");
        return true;
    }
    if (req->content_length) {
        long long n = -1;
        if (srv_parse_int(req->content_length, 0, (long long)1 << 62, "Content-Length", &n,
                          NULL) == SRV_OK &&
            n > SRV_MAX_BODY_BYTES) {
            char d[160];
            snprintf(d, sizeof d,
                     "the request body is %lld bytes; the limit is %d bytes (64 KiB)", n,
                     SRV_MAX_BODY_BYTES);
            srv_problem(r, 413, "too-large", d, NULL);
            return true;
        }
    }
    if ((rt->id == SRV_ROUTE_JOBS_CREATE || rt->id == SRV_ROUTE_SWEEPS_CREATE) &&
        !is_json_type(req->content_type)) {
        char d[300];
        snprintf(d, sizeof d,
                 "the body must be JSON sent with 'Content-Type: application/json' (got %.100s)",
                 req->content_type ? req->content_type : "no Content-Type");
        srv_problem(r, 415, "unsupported-media-type", d, NULL);
        srv_response_header(r, "Accept-Post", "application/json");
        return true;
    }
    return false;
}

void srv_api_handle(struct srv_app *app, const struct srv_request *req, struct srv_response *r)
{
    if (srv_api_precheck(app, req, r)) return;
    if (req->body_len > SRV_MAX_BODY_BYTES) {
        char d[160];
        snprintf(d, sizeof d, "the request body is over the limit of %d bytes (64 KiB)",
                 SRV_MAX_BODY_BYTES);
        srv_problem(r, 413, "too-large", d, NULL);
        return;
    }
    switch (req->route.id) {
    case SRV_ROUTE_JOBS_CREATE: srv_api_jobs_create(app, req, r); break;
    case SRV_ROUTE_JOBS_LIST: srv_api_jobs_list(app, req, r); break;
    case SRV_ROUTE_JOB_GET: srv_api_job_get(app, req, r); break;
    case SRV_ROUTE_JOB_DELETE: srv_api_job_delete(app, req, r); break;
    case SRV_ROUTE_JOB_CANCEL: srv_api_job_cancel(app, req, r); break;
    case SRV_ROUTE_JOB_RECON: srv_api_job_recon(app, req, r); break;
    case SRV_ROUTE_JOB_LATENT: srv_api_job_latent(app, req, r); break;
    case SRV_ROUTE_JOB_MANIFOLD: srv_api_job_manifold(app, req, r); break;
    case SRV_ROUTE_JOB_SAMPLES: srv_api_job_samples(app, req, r); break;
    case SRV_ROUTE_JOB_METRICS: srv_api_job_metrics(app, req, r); break;
    case SRV_ROUTE_JOB_SUMMARY: srv_api_job_summary(app, req, r); break;
    case SRV_ROUTE_JOB_WEIGHTS: srv_api_job_weights(app, req, r); break;
    case SRV_ROUTE_JOB_EVENTS: srv_api_job_events(app, req, r); break;
    case SRV_ROUTE_EVENTS: srv_api_events(app, req, r); break;
    case SRV_ROUTE_MODELS: srv_api_models(app, req, r); break;
    case SRV_ROUTE_HEALTH: srv_api_health(app, req, r); break;
    case SRV_ROUTE_OPENAPI: srv_api_openapi(app, req, r); break;
    case SRV_ROUTE_PROMETHEUS: srv_api_prometheus(app, req, r); break;
    case SRV_ROUTE_SWEEPS_CREATE: srv_api_sweeps_create(app, req, r); break;
    case SRV_ROUTE_SWEEPS_LIST: srv_api_sweeps_list(app, req, r); break;
    case SRV_ROUTE_SWEEP_GET: srv_api_sweep_get(app, req, r); break;
    case SRV_ROUTE_SWEEP_DELETE: srv_api_sweep_delete(app, req, r); break;
    case SRV_ROUTE_SWEEP_CANCEL: srv_api_sweep_cancel(app, req, r); break;
    case SRV_ROUTE_SWEEP_EVENTS: srv_api_sweep_events(app, req, r); break;
    case SRV_ROUTE_SWEEP_METRICS: srv_api_sweep_metrics(app, req, r); break;
    case SRV_ROUTE_STATIC: srv_api_static(app, req, r); break;
    case SRV_ROUTE_NONE:
    case SRV_ROUTE_COUNT: srv_problem(r, 404, "not-found", "no route", NULL); break;
    }
}
