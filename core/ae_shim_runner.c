/*
 * ae_shim_runner.c - TEMPORARY stand-ins for the engine's ae_malloc/ae_free
 * and ae_err_set, so the data loader builds and is tested before
 * core/ae_alloc.c and core/ae_err.c land on main.  Deleted at the first merge
 * of the engine's work.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "ae.h"

void *ae_malloc(size_t n_bytes) { return malloc(n_bytes); }
void *ae_calloc(size_t n, size_t size) { return calloc(n, size); }
void ae_free(void *p) { free(p); }

enum ae_status ae_err_set(struct ae_err *err, enum ae_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *ae_status_str(enum ae_status s)
{
    static const char *const names[] = {"ok", "bad argument", "out of memory", "I/O error",
                                        "bad file format", "mismatch", "cancelled",
                                        "numeric error"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}
