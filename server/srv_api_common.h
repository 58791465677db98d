/*
 * srv_api_common.h - what every API handler shares: the request, and the
 * look-ups that turn a request into a job, an epoch or a weights file.
 *
 * Sits below the handlers (srv_api_*.c, srv_sse.c, srv_static.c) and the
 * dispatcher (srv_api.c); it calls none of them.  Thread-safe.
 */
#ifndef SRV_API_COMMON_H
#define SRV_API_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srv_app.h"
#include "srv_response.h"
#include "srv_router.h"
#include "srv_uri.h"

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

/* Latest finished epoch of j (0 if none). */
int32_t srv_api_latest_epoch(struct srv_job *j);

/* The epoch a request's ?epoch= names (default: j's latest finished one),
 * checked against what j has finished; 0 with r set to the error (400 for
 * a malformed or out-of-range value, 404 when that epoch is not done). */
int32_t srv_api_pick_epoch(struct srv_job *j, const struct srv_request *req, struct srv_response *r);
/* Path of j's weights file for epoch. */
void srv_api_weights_path(struct srv_app *app, struct srv_job *j, int32_t epoch, char *buf,
                          size_t len);

/* ?purge=true|1|false|0 (absent: false) into *purge; false with r set to
 * a 400 naming the field when it is anything else. */
bool srv_api_purge_param(const struct srv_request *req, bool *purge, struct srv_response *r);

/* Parse req's body as JSON into *out (new reference); false with r set to
 * 400 "malformed-json" (with the "line" and "column" where known). */
bool srv_api_parse_body(const struct srv_request *req, json_t **out, struct srv_response *r);

/* The Idempotency-Key of a POST that creates something (a job, a sweep).
 * Without the header: true, hash "".  With a well-formed key (1 to 200
 * printable ASCII characters): true, hash the SHA-256 (64 hex digits) of
 * body's canonical form (compact, keys sorted), so that spacing and key
 * order don't make a retry look like another request.  Otherwise false
 * with r set: 400 "invalid-parameter" for a malformed key, 500 when out of
 * memory.  The store keeps (key, hash) with what was created; a replay
 * answers like the first time plus srv_api_replayed. */
bool srv_api_idempotency(const struct srv_request *req, const json_t *body, char hash[65],
                         struct srv_response *r);
/* Mark r as the answer of an earlier request with the same key. */
void srv_api_replayed(struct srv_response *r);

/* The job a /api/jobs/{id}/... request names (new reference), or NULL
 * with r set to 404. */
struct srv_job *srv_api_find_job(struct srv_app *app, const struct srv_request *req,
                                 struct srv_response *r);

#endif /* SRV_API_COMMON_H */
