/*
 * srv_problem.c - RFC 9457 problem details (see srv_problem.h).
 *
 * Owns the body format of every error and the table of reason phrases.
 * Does not decide statuses: callers do, through srv_status_http.
 */
#include "server/srv_problem.h"

#include <string.h>

const char *srv_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    }
    return "Error";
}

void srv_problem(struct srv_response *r, int status, const char *code, const char *detail,
                 json_t *extra)
{
    json_t *j = json_object();
    if (j) {
        json_object_set_new(j, "type", json_string("about:blank"));
        json_object_set_new(j, "title", json_string(srv_http_reason(status)));
        json_object_set_new(j, "status", json_integer(status));
        /* json_string rejects invalid UTF-8; fall back so detail is never lost. */
        json_t *d = json_string(detail ? detail : "");
        if (!d) d = json_string("(the message was not valid UTF-8)");
        json_object_set_new(j, "detail", d);
        if (code) json_object_set_new(j, "code", json_string(code));
        if (extra && json_is_object(extra)) json_object_update(j, extra);
    }
    json_decref(extra);
    srv_response_json(r, status, j);
    if (r->status == status) r->content_type = "application/problem+json";
    json_decref(j);
}

void srv_problem_status(struct srv_response *r, enum srv_status s, const char *detail)
{
    static const char *codes[] = {
        [SRV_OK] = "ok",
        [SRV_ERR_ARG] = "bad-request",
        [SRV_ERR_NOTFOUND] = "not-found",
        [SRV_ERR_STATE] = "wrong-state",
        [SRV_ERR_CONFLICT] = "idempotency-conflict",
        [SRV_ERR_FULL] = "queue-full",
        [SRV_ERR_TOO_LARGE] = "too-large",
        [SRV_ERR_NOMEM] = "out-of-memory",
        [SRV_ERR_IO] = "io-error",
        [SRV_ERR_DB] = "database-error",
        [SRV_ERR_INTERNAL] = "internal-error",
    };
    const char *code = (s >= 0 && s <= SRV_ERR_INTERNAL) ? codes[s] : "internal-error";
    srv_problem(r, srv_status_http(s), code, detail, NULL);
}
