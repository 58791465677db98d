/*
 * ae_err.c - error reporting for core/: a status code plus a sentence.
 *
 * Owns ae_err_set and ae_status_str.  The message lives in the caller's
 * struct ae_err (SQLite's code + message, tied to the call rather than to a
 * global so it stays thread-safe).  Never prints.
 */
#include <stdarg.h>
#include <stdio.h>

#include "ae.h"

enum ae_status ae_err_set(struct ae_err *err, enum ae_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *ae_status_str(enum ae_status s)
{
    switch (s) {
    case AE_OK: return "ok";
    case AE_ERR_ARG: return "bad argument";
    case AE_ERR_NOMEM: return "out of memory";
    case AE_ERR_IO: return "i/o error";
    case AE_ERR_FORMAT: return "bad file format";
    case AE_ERR_MISMATCH: return "checkpoint does not match";
    case AE_ERR_CANCELLED: return "cancelled";
    case AE_ERR_NUMERIC: return "numeric error";
    }
    return "unknown status";
}
