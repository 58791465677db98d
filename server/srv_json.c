/*
 * srv_json.c - JSON parsing and small builders (see srv_json.h).
 *
 * Owns how request bodies are parsed and how malformed JSON is reported.
 * Does not know what a job spec means (srv_jobspec.c).
 */
#include "server/srv_json.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

enum srv_status srv_json_parse(const char *buf, size_t len, json_t **out, int *line, int *column,
                               struct ae_err *err)
{
    json_error_t je;
    json_t *j;

    *out = NULL;
    if (len == 0 || !buf)
        return srv_err_set(err, SRV_ERR_ARG, "the request body is empty; send a JSON object");
    j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        if (line) *line = je.line;
        if (column) *column = je.column;
        return srv_err_set(err, SRV_ERR_ARG, "malformed JSON at line %d, column %d: %s", je.line,
                           je.column, je.text);
    }
    *out = j;
    return SRV_OK;
}

json_t *srv_json_real(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *srv_json_time(double t)
{
    char buf[40];
    struct tm tm;
    time_t s;
    int ms;
    size_t n;

    if (!(t > 0)) return json_null();
    s = (time_t)t;
    ms = (int)((t - (double)s) * 1000.0);
    if (ms < 0) ms = 0;
    if (ms > 999) ms = 999;
    gmtime_r(&s, &tm);
    n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%03dZ", ms);
    return json_string(buf);
}
