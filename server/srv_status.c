/*
 * srv_status.c - status codes and their detail messages.
 *
 * Owns the mapping from server statuses to HTTP statuses, so every handler
 * answers the same condition with the same code.  Does not build responses
 * (srv_response.c does).
 */
#include "srv_status.h"

#include <stdarg.h>
#include <stdio.h>

enum srv_status srv_err_set(struct ae_err *err, enum srv_status s, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        switch (s) {
        case SRV_OK: err->code = AE_OK; break;
        case SRV_ERR_NOMEM: err->code = AE_ERR_NOMEM; break;
        case SRV_ERR_IO:
        case SRV_ERR_DB: err->code = AE_ERR_IO; break;
        default: err->code = AE_ERR_ARG; break;
        }
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return s;
}

int srv_status_http(enum srv_status s)
{
    switch (s) {
    case SRV_OK: return 200;
    case SRV_ERR_ARG: return 400;
    case SRV_ERR_NOTFOUND: return 404;
    case SRV_ERR_STATE: return 409;
    case SRV_ERR_CONFLICT: return 422;
    case SRV_ERR_FULL: return 429;
    case SRV_ERR_TOO_LARGE: return 413;
    default: return 500;
    }
}

const char *srv_status_str(enum srv_status s)
{
    switch (s) {
    case SRV_OK: return "ok";
    case SRV_ERR_ARG: return "bad request";
    case SRV_ERR_NOTFOUND: return "not found";
    case SRV_ERR_STATE: return "wrong state";
    case SRV_ERR_CONFLICT: return "conflict";
    case SRV_ERR_FULL: return "queue full";
    case SRV_ERR_TOO_LARGE: return "too large";
    case SRV_ERR_NOMEM: return "out of memory";
    case SRV_ERR_IO: return "I/O error";
    case SRV_ERR_DB: return "database error";
    case SRV_ERR_INTERNAL: return "internal error";
    }
    return "unknown";
}
