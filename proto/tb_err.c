/*
 * tb_err.c - error codes and messages of proto/.
 *
 * Owns tb_status_str() and tb_err_set().  Messages are tied to the call
 * (the caller's struct tb_err), never to a global, so they are thread-safe.
 */
#include <stdio.h>

#include "proto/tb_internal.h"

const char *tb_status_str(enum tb_status s)
{
    switch (s) {
    case TB_OK: return "ok";
    case TB_ERR_ARG: return "bad argument";
    case TB_ERR_NOMEM: return "out of memory";
    case TB_ERR_IO: return "I/O error";
    case TB_ERR_PNG: return "PNG error";
    case TB_ERR_TRUNCATED: return "truncated record";
    case TB_ERR_CORRUPT: return "CRC mismatch";
    case TB_ERR_FORMAT: return "bad record format";
    case TB_END: return "end of file";
    }
    return "unknown status";
}

enum tb_status tb_err_set(struct tb_err *err, enum tb_status code, int sys_errno,
                          const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        err->sys_errno = sys_errno;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}
