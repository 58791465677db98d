/*
 * srv_json.h - JSON helpers on top of jansson.
 *
 * Parsing request bodies with an error a person can act on ("line 3,
 * column 14: ..."), and small builders used by several handlers.
 */
#ifndef SRV_JSON_H
#define SRV_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "server/srv_status.h"

/* Parse len bytes of buf as one JSON value (duplicate object keys are an
 * error).  On success *out is a new reference (caller json_decref's it).
 * On failure returns SRV_ERR_ARG with err saying "malformed JSON at line L,
 * column C: <what>" and, when line/column are not NULL, stores them.
 * Thread-safe. */
enum srv_status srv_json_parse(const char *buf, size_t len, json_t **out, int *line, int *column,
                               struct ae_err *err);

/* A JSON number for a double that is finite, else null (JSON has no NaN). */
json_t *srv_json_real(double v);

/* An RFC 3339 UTC timestamp string for Unix time t, or null when t <= 0. */
json_t *srv_json_time(double t);

#endif /* SRV_JSON_H */
