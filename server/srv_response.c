/*
 * srv_response.c - building handler responses (see srv_response.h).
 *
 * Owns body ownership rules: a response owns whatever body it holds until
 * the HTTP layer hands it to libmicrohttpd; the body format of every error
 * and the table of reason phrases; how request bodies are parsed and how
 * malformed JSON is reported.  Does not talk to MHD, decide statuses
 * (callers do, through srv_status_http) or know what a job spec means
 * (srv_jobspec.c).
 */
#include "srv_response.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char oom_body[] = "{\"type\":\"about:blank\",\"title\":\"Internal Server Error\","
                               "\"status\":500,\"detail\":\"out of memory\"}";

void srv_response_init(struct srv_response *r)
{
    memset(r, 0, sizeof *r);
    r->status = 200;
    r->fd = -1;
}

void srv_response_fini(struct srv_response *r)
{
    if (!r) return;
    free(r->body);
    if (r->fd >= 0) close(r->fd);
    if (r->stream_free) r->stream_free(r->stream_cls);
    srv_response_init(r);
}

int srv_response_header(struct srv_response *r, const char *name, const char *fmt, ...)
{
    va_list ap;
    if (r->n_headers >= SRV_RESPONSE_MAX_HEADERS) return 0;
    snprintf(r->headers[r->n_headers].name, sizeof r->headers[0].name, "%s", name);
    va_start(ap, fmt);
    vsnprintf(r->headers[r->n_headers].value, sizeof r->headers[0].value, fmt, ap);
    va_end(ap);
    r->n_headers++;
    return 1;
}

static void set_oom(struct srv_response *r)
{
    free(r->body);
    r->status = 500;
    r->content_type = "application/problem+json";
    r->body = NULL;
    r->body_len = 0;
    r->body = malloc(sizeof oom_body);
    if (r->body) {
        memcpy(r->body, oom_body, sizeof oom_body);
        r->body_len = sizeof oom_body - 1;
    }
}

void srv_response_take(struct srv_response *r, int status, const char *content_type, char *buf,
                       size_t len)
{
    free(r->body);
    r->status = status;
    r->content_type = content_type;
    r->body = buf;
    r->body_len = len;
    if (!buf && len) set_oom(r);
}

void srv_response_text(struct srv_response *r, int status, const char *content_type,
                       const char *text, size_t len)
{
    char *b = malloc(len + 1);
    if (!b) {
        set_oom(r);
        return;
    }
    memcpy(b, text, len);
    b[len] = '\0';
    srv_response_take(r, status, content_type, b, len);
}

void srv_response_json(struct srv_response *r, int status, const json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (!s) {
        set_oom(r);
        return;
    }
    srv_response_take(r, status, "application/json", s, strlen(s));
}

/* --- problem+json ------------------------------------------------------ */

const char *srv_response_reason(int status)
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

void srv_response_problem(struct srv_response *r, int status, const char *code, const char *detail,
                 json_t *extra)
{
    json_t *j = json_object();
    if (j) {
        json_object_set_new(j, "type", json_string("about:blank"));
        json_object_set_new(j, "title", json_string(srv_response_reason(status)));
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

void srv_response_problem_status(struct srv_response *r, enum srv_status s, const char *detail)
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
    srv_response_problem(r, srv_status_http(s), code, detail, NULL);
}

/* --- JSON ---------------------------------------------------------------- */

enum srv_status srv_response_parse_json(const char *buf, size_t len, json_t **out, int *line,
                                        int *column,
                               struct ae_err *err)
{
    json_error_t je;
    json_t *j;

    *out = NULL;
    if (len == 0 || !buf)
        return srv_err_set(err, SRV_ERR_ARG, "the request body is empty; send a JSON object");
    j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        if (line) *line = je.line;
        if (column) *column = je.column;
        return srv_err_set(err, SRV_ERR_ARG, "malformed JSON at line %d, column %d: %s", je.line,
                           je.column, je.text);
    }
    *out = j;
    return SRV_OK;
}

json_t *srv_response_real(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *srv_response_time(double t)
{
    char buf[40];
    struct tm tm;
    time_t s;
    int ms;
    size_t n;

    if (!(t > 0)) return json_null();
    s = (time_t)t;
    ms = (int)((t - (double)s) * 1000.0);
    if (ms < 0) ms = 0;
    if (ms > 999) ms = 999;
    gmtime_r(&s, &tm);
    n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%03dZ", ms);
    return json_string(buf);
}
