/*
 * srv_response.c - building handler responses (see srv_response.h).
 *
 * Owns body ownership rules: a response owns whatever body it holds until
 * the HTTP layer hands it to libmicrohttpd.  Does not talk to MHD.
 */
#include "server/srv_response.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
