/*
 * srv_router.h - which handler serves a request: a pure function of the
 * method and the parsed path.
 *
 * No I/O and no state, so it is unit-tested and fuzzed without a socket.
 * Paths under /api/ that match no route are 404; a known path with a
 * method it does not support is 405 with the Allow list; everything
 * outside /api/ and /metrics is a static file (GET and HEAD only).
 */
#ifndef SRV_ROUTER_H
#define SRV_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srv_uri.h"

enum srv_route_id {
    SRV_ROUTE_NONE = 0,    /* no route: see status */
    SRV_ROUTE_JOBS_CREATE, /* POST   /api/jobs */
    SRV_ROUTE_JOBS_LIST,   /* GET    /api/jobs */
    SRV_ROUTE_JOB_GET,     /* GET    /api/jobs/{id} */
    SRV_ROUTE_JOB_DELETE,  /* DELETE /api/jobs/{id} */
    SRV_ROUTE_JOB_CANCEL,  /* POST   /api/jobs/{id}/cancel */
    SRV_ROUTE_JOB_RECON,   /* GET    /api/jobs/{id}/reconstructions.png */
    SRV_ROUTE_JOB_LATENT,  /* GET    /api/jobs/{id}/latent.png */
    SRV_ROUTE_JOB_MANIFOLD, /* GET   /api/jobs/{id}/manifold.png (vae) */
    SRV_ROUTE_JOB_SAMPLES, /* GET    /api/jobs/{id}/samples.png (vae) */
    SRV_ROUTE_JOB_METRICS, /* GET    /api/jobs/{id}/metrics */
    SRV_ROUTE_JOB_SUMMARY, /* GET    /api/jobs/{id}/summary */
    SRV_ROUTE_JOB_WEIGHTS, /* GET    /api/jobs/{id}/weights */
    SRV_ROUTE_JOB_EVENTS,  /* GET    /api/jobs/{id}/events (SSE) */
    SRV_ROUTE_EVENTS,      /* GET    /api/events (SSE of every job) */
    SRV_ROUTE_MODELS,      /* GET    /api/models */
    SRV_ROUTE_HEALTH,      /* GET    /api/health */
    SRV_ROUTE_OPENAPI,     /* GET    /api/openapi.json */
    SRV_ROUTE_PROMETHEUS,  /* GET    /metrics */
    SRV_ROUTE_SWEEPS_CREATE, /* POST /api/sweeps */
    SRV_ROUTE_SWEEPS_LIST, /* GET    /api/sweeps */
    SRV_ROUTE_SWEEP_GET,   /* GET    /api/sweeps/{id} */
    SRV_ROUTE_SWEEP_DELETE, /* DELETE /api/sweeps/{id} */
    SRV_ROUTE_SWEEP_CANCEL, /* POST  /api/sweeps/{id}/cancel */
    SRV_ROUTE_SWEEP_EVENTS, /* GET   /api/sweeps/{id}/events (SSE) */
    SRV_ROUTE_SWEEP_METRICS, /* GET  /api/sweeps/{id}/metrics (JSON or CSV) */
    SRV_ROUTE_STATIC,      /* GET    anything else: a file under the web root */
    SRV_ROUTE_COUNT
};

struct srv_route {
    enum srv_route_id id;
    int64_t job_id;     /* for /api/jobs/{id}... and /api/sweeps/{id}... routes */
    bool mutating;      /* POST or DELETE: needs the token when one is set */
    /* When id == SRV_ROUTE_NONE: 400 (malformed id), 404 or 405. */
    int status;
    const char *allow;  /* for 405: the Allow header value (static string) */
    char detail[200];   /* for 400/404/405: what to change */
};

/* Match method (e.g. "GET"; HEAD is accepted wherever GET is) and the
 * parsed path.  Always fills r.  Thread-safe. */
void srv_router_match(const char *method, const struct srv_uri *u, struct srv_route *r);

/* Name of a route for logs and metrics ("jobs_create", ...). */
const char *srv_route_name(enum srv_route_id id);

/* For tests: the method and path template ("/api/jobs/{id}/cancel", written
 * into path) of the i-th API route, i from 0; returns false past the end.
 * The OpenAPI document is checked against this list.  Thread-safe. */
bool srv_router_template(int i, const char **method, char *path, size_t len);

#endif /* SRV_ROUTER_H */
