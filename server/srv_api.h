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

#include "srv_api_common.h"

/* Everything that can be decided before the body arrives: route errors
 * (400/404/405), the token (401), Content-Length over the limit (413) and
 * the media type (415).  Returns true when r holds the answer; then the
 * body need not be read. */
bool srv_api_precheck(struct srv_app *app, const struct srv_request *req, struct srv_response *r);

/* Answer a request whose body (if any) has been read in full. */
void srv_api_handle(struct srv_app *app, const struct srv_request *req, struct srv_response *r);

#endif /* SRV_API_H */
