/*
 * srv_problem.h - error responses as application/problem+json (RFC 9457).
 *
 * Every error the API returns goes through here, so every error has the
 * same shape: {"type","title","status","detail"} plus, where useful,
 * "field" (the request field at fault, so the dashboard can show the error
 * next to it), "valid" (the accepted values) and "errors" (one entry per bad
 * field).  "type" is "about:blank": the status and "code" identify the
 * problem, "detail" says what to change.
 */
#ifndef SRV_PROBLEM_H
#define SRV_PROBLEM_H

#include <jansson.h>

#include "server/srv_response.h"
#include "server/srv_status.h"

/* Fill r with a problem: status, a short machine-readable code
 * ("invalid-setting"), and detail (copied).  extra (may be NULL) is an
 * object whose members are added to the body; the call steals the
 * reference.  Thread-safe. */
void srv_problem(struct srv_response *r, int status, const char *code, const char *detail,
                 json_t *extra);

/* The same for a server status: its HTTP status and a code derived from it. */
void srv_problem_status(struct srv_response *r, enum srv_status s, const char *detail);

/* HTTP reason phrase ("Not Found"). */
const char *srv_http_reason(int status);

#endif /* SRV_PROBLEM_H */
