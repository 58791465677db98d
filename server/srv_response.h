/*
 * srv_response.h - what a handler answers, independent of libmicrohttpd.
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

#endif /* SRV_RESPONSE_H */
