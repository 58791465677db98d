/*
 * srv_api_handlers.h - the handlers, one per route; srv_api.c dispatches
 * to them after its checks.  Each file that defines handlers includes
 * this for their prototypes and calls no other handler.
 */
#ifndef SRV_API_HANDLERS_H
#define SRV_API_HANDLERS_H

#include "srv_api_common.h"

/* One per route (srv_api_jobs.c, srv_api_artifacts.c,
 * srv_api_latent.c, srv_api_service.c, srv_api_sweeps.c, srv_sse.c,
 * srv_static.c). */
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
void srv_api_sweeps_create(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_sweeps_list(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_sweep_get(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_sweep_cancel(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_sweep_delete(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_sweep_metrics(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_sweep_events(struct srv_app *app, const struct srv_request *req, struct srv_response *r);
void srv_api_static(struct srv_app *app, const struct srv_request *req, struct srv_response *r);

#endif /* SRV_API_HANDLERS_H */
