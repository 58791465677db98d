/*
 * srv_status.h - status codes shared by the server's modules (prefix srv_).
 *
 * Server functions return enum srv_status (SRV_OK == 0) and put a sentence
 * a person can act on into an optional struct ae_err (the same detail struct
 * core/ uses, so an engine error can be passed up unchanged).  The HTTP
 * layer maps each status to one HTTP status (srv_status_http).
 */
#ifndef SRV_STATUS_H
#define SRV_STATUS_H

#include "core/ae.h"

enum srv_status {
    SRV_OK = 0,
    SRV_ERR_ARG,       /* bad request content: 400 */
    SRV_ERR_NOTFOUND,  /* no such job or file: 404 */
    SRV_ERR_STATE,     /* the job is in the wrong state for this: 409 */
    SRV_ERR_CONFLICT,  /* idempotency key reused with another body: 422 */
    SRV_ERR_FULL,      /* the queue is full: 429 */
    SRV_ERR_TOO_LARGE, /* body over the limit: 413 */
    SRV_ERR_NOMEM,     /* allocation failed: 500 */
    SRV_ERR_IO,        /* file system error: 500 */
    SRV_ERR_DB,        /* SQLite error: 500 */
    SRV_ERR_INTERNAL,  /* anything else: 500 */
};

/* Write a printf-style message into err (may be NULL), with err->code set to
 * the closest enum ae_status; returns s.  Thread-safe. */
enum srv_status srv_err_set(struct ae_err *err, enum srv_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The HTTP status for s (200 for SRV_OK). */
int srv_status_http(enum srv_status s);

/* Short constant name of s ("not found", ...). */
const char *srv_status_str(enum srv_status s);

#endif /* SRV_STATUS_H */
