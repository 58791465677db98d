/*
 * srv_response.h - what a handler answers, independent of libmicrohttpd:
 * the response, its JSON bodies (and the JSON a request sends), and every
 * error as application/problem+json.
 *
 * Handlers fill a struct srv_response; srv_http.c turns it into an MHD
 * response.  Keeping MHD out of the handlers lets tests and fuzzers call
 * them directly.  A response has exactly one body kind: bytes in memory, an
 * open file, or a stream (Server-Sent Events).
 */
#ifndef SRV_RESPONSE_H
#define SRV_RESPONSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "srv_status.h"

#define SRV_RESPONSE_MAX_HEADERS 8

/* Stream body: called until it returns SRV_STREAM_END or SRV_STREAM_ERROR;
 * may block (each connection has its own thread).  Returns bytes written
 * into buf (at most max, more than 0), or one of the negatives below. */
#define SRV_STREAM_END (-1)
#define SRV_STREAM_ERROR (-2)
typedef long (*srv_stream_fn)(void *cls, uint64_t pos, char *buf, size_t max);

struct srv_response {
    int status;
    const char *content_type; /* static string */
    char *body;               /* malloc'd, owned by the response */
    size_t body_len;
    int fd;                   /* file body when >= 0, owned (closed by the HTTP layer) */
    off_t fd_size;
    srv_stream_fn stream;     /* stream body when non-NULL */
    void (*stream_free)(void *cls);
    void *stream_cls;         /* owned; released with stream_free */
    int n_headers;
    struct {
        char name[32];
        char value[256];
    } headers[SRV_RESPONSE_MAX_HEADERS];
};

/* An empty 200 response with no body. */
void srv_response_init(struct srv_response *r);
/* Release whatever body the response still owns (NULL-safe). */
void srv_response_fini(struct srv_response *r);

/* Add a header (name and value are copied; values are truncated to 255
 * bytes; headers past the limit are dropped).  Returns false if dropped. */
int srv_response_header(struct srv_response *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Body = compact JSON of j (borrowed) with Content-Type application/json.
 * On allocation failure the response becomes a plain 500. */
void srv_response_json(struct srv_response *r, int status, const json_t *j);
/* Body = a copy of text with the given content type. */
void srv_response_text(struct srv_response *r, int status, const char *content_type,
                       const char *text, size_t len);
/* Body = buf (takes ownership of a malloc'd buffer). */
void srv_response_take(struct srv_response *r, int status, const char *content_type, char *buf,
                       size_t len);

/* ---------------------------------------------------------------------
 * Errors: application/problem+json (RFC 9457), formerly srv_response_problem.h.
 *
 * Every error the API returns goes through here, so every error has the
 * same shape: {"type","title","status","detail"} plus, where useful,
 * "field" (the request field at fault, so the dashboard can show the error
 * next to it), "valid" (the accepted values) and "errors" (one entry per bad
 * field).  "type" is "about:blank": the status and "code" identify the
 * problem, "detail" says what to change.
 */

/* Fill r with a problem: status, a short machine-readable code
 * ("invalid-setting"), and detail (copied).  extra (may be NULL) is an
 * object whose members are added to the body; the call steals the
 * reference.  Thread-safe. */
void srv_response_problem(struct srv_response *r, int status, const char *code, const char *detail,
                 json_t *extra);

/* The same for a server status: its HTTP status and a code derived from it. */
void srv_response_problem_status(struct srv_response *r, enum srv_status s, const char *detail);

/* HTTP reason phrase ("Not Found"). */
const char *srv_response_reason(int status);

/* ---------------------------------------------------------------------
 * JSON helpers on top of jansson, formerly srv_json.h.
 *
 * Parsing request bodies with an error a person can act on ("line 3,
 * column 14: ..."), and small builders used by several handlers.
 */

/* Parse len bytes of buf as one JSON value (duplicate object keys are an
 * error).  On success *out is a new reference (caller json_decref's it).
 * On failure returns SRV_ERR_ARG with err saying "malformed JSON at line L,
 * column C: <what>" and, when line/column are not NULL, stores them.
 * Thread-safe. */
enum srv_status srv_response_parse_json(const char *buf, size_t len, json_t **out, int *line,
                                        int *column,
                               struct ae_err *err);

/* A JSON number for a double that is finite, else null (JSON has no NaN). */
json_t *srv_response_real(double v);

/* An RFC 3339 UTC timestamp string for Unix time t, or null when t <= 0. */
json_t *srv_response_time(double t);

#endif /* SRV_RESPONSE_H */
