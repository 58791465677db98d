/*
 * srv_uri.h - split a raw request target into decoded path segments and
 * query parameters.
 *
 * A pure function of its input (no I/O, no globals), so tests and fuzzers
 * call it directly with the bytes a client sent.  The HTTP layer gives it
 * the raw target ("/api/jobs/7/reconstructions.png?n=10") before any
 * decoding, so an encoded slash (%2F) stays inside its segment and can
 * never change which route matches.
 */
#ifndef SRV_URI_H
#define SRV_URI_H

#include <stddef.h>

#include "srv_status.h"

#define SRV_URI_MAX_BYTES 4096   /* longer targets are rejected */
#define SRV_URI_MAX_SEGMENTS 16  /* path segments */
#define SRV_URI_MAX_PARAMS 32    /* query parameters */

struct srv_param {
    const char *key;   /* decoded, NUL-free */
    const char *value; /* decoded ("" for "?flag"), NUL-free */
};

struct srv_uri {
    /* Decoded segments of the path: "/api/jobs/" -> "api", "jobs", "".
     * "/" has no segments. */
    const char *seg[SRV_URI_MAX_SEGMENTS];
    int n_seg;
    struct srv_param params[SRV_URI_MAX_PARAMS];
    int n_params;
    char *buf_; /* owns every string above */
};

/* Parse raw (a request target in origin form: it must start with '/').
 * Segments are percent-decoded one by one; query keys and values are
 * percent-decoded with '+' as space.  Errors (SRV_ERR_ARG, with err naming
 * the problem): not starting with '/', over SRV_URI_MAX_BYTES, bad %XX,
 * a decoded NUL byte, too many segments or parameters, a fragment.
 * On success the caller releases u with srv_uri_fini; on failure u holds
 * nothing.  Thread-safe. */
enum srv_status srv_uri_parse(const char *raw, struct srv_uri *u, struct ae_err *err);
void srv_uri_fini(struct srv_uri *u);

/* Value of the first parameter named key, or NULL. */
const char *srv_uri_param(const struct srv_uri *u, const char *key);
/* Number of parameters named key. */
int srv_uri_param_count(const struct srv_uri *u, const char *key);

/* Parse a whole decimal integer in [min, max] (no sign for min >= 0, no
 * spaces, no leading '+').  Returns SRV_ERR_ARG with err naming `what`
 * and the range otherwise. */
enum srv_status srv_parse_int(const char *s, long long min, long long max, const char *what,
                              long long *out, struct ae_err *err);

#endif /* SRV_URI_H */
