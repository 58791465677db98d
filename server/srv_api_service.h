/*
 * srv_api_service.h - start-up builders for what the daemon says about
 * itself (see srv_api_service.c).
 */
#ifndef SRV_API_SERVICE_H
#define SRV_API_SERVICE_H

#include <stddef.h>

#include "srv_app.h"

/* Fill app->models: every model with its parameter count and the settings
 * that apply to it (defaults, ranges).  Call once at start-up. */
enum srv_status srv_api_build_models(struct srv_app *app, struct ae_err *err);

/* Fill app->openapi from the embedded document doc[0..len), with JobSpec's
 * properties and the model/data set enums replaced by the engine's. */
enum srv_status srv_api_build_openapi(struct srv_app *app, const char *doc, size_t len,
                                      struct ae_err *err);

#endif /* SRV_API_SERVICE_H */
