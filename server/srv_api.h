/*
 * srv_api.h - the REST API: a request in, a response out.
 *
 * Independent of libmicrohttpd (srv_http.c adapts), so tests and fuzzers
 * can call it without a socket.  Thread-safe: any number of HTTP threads
 * call these at once; handlers return quickly (no training, no waiting on
 * jobs).
 */
#ifndef SRV_API_H
#define SRV_API_H

#include <stdbool.h>
#include <stddef.h>

#include "server/srv_app.h"
#include "server/srv_response.h"
#include "server/srv_router.h"
#include "server/srv_uri.h"

struct srv_request {
    const char *method;
    struct srv_uri uri;     /* parsed request target */
    struct srv_route route; /* srv_router_match(method, uri) */
    /* Headers (NULL when absent). */
    const char *content_type;
    const char *content_length; /* as sent */
    const char *accept;
    const char *authorization;
    const char *idempotency_key;
    const char *last_event_id;
    const char *body; /* the request body (NULL/0 when none) */
    size_t body_len;
};

/* Everything that can be decided before the body arrives: route errors
 * (400/404/405), the token (401), Content-Length over the limit (413) and
 * the media type (415).  Returns true when r holds the answer; then the
 * body need not be read. */
bool srv_api_precheck(struct srv_app *app, const struct srv_request *req, struct srv_response *r);

/* Answer a request whose body (if any) has been read in full. */
void srv_api_handle(struct srv_app *app, const struct srv_request *req, struct srv_response *r);

/* Handlers, one per route (srv_api_jobs.c, srv_api_artifacts.c,
 * srv_api_latent.c, srv_api_service.c, srv_sse.c, srv_static.c). */
void srv_api_jobs_create(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_jobs_list(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_job_get(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_job_delete(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_job_cancel(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_job_recon(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_job_latent(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_job_manifold(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_job_samples(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_job_metrics(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_job_summary(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_job_weights(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_job_events(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_events(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_models(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_health(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_openapi(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_prometheus(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_static(struct srv_app *app, const struct srv_request *req, struct srv_response *r);

/* The epoch a request's ?epoch= names (default: j's latest finished one),
 * checked against what j has finished; 0 with r set to the error (400 for
 * a malformed or out-of-range value, 404 when that epoch is not done). */
int32_t srv_api_pick_epoch(struct srv_job *j, const struct srv_request *req, struct srv_response *r);
/* Path of j's weights file for epoch. */
void srv_api_weights_path(struct srv_app *app, struct srv_job *j, int32_t epoch, char *buf,
                          size_t len);

/* The job a /api/jobs/{id}/... request names (new reference), or NULL
 * with r set to 404. */
struct srv_job *srv_api_find_job(struct srv_app *app, const struct srv_request *req,
                                 struct srv_response *r);

#endif /* SRV_API_H */
