/*
 * srv_log.c - the server's only writer to stderr.
 *
 * Owns the line format (RFC 3339 UTC time, level, job id, key=value).  Does
 * not buffer or rotate: stderr is unbuffered and whoever runs the daemon
 * decides where it goes.  The one design decision: format the whole line in
 * a stack buffer and emit it with one write(2), so concurrent lines stay
 * whole without a lock.
 */
#include "srv_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_min = SRV_LOG_INFO;

void srv_log_set_level(enum srv_log_level min)
{
    atomic_store(&log_min, (int)min);
}

int srv_log_level_parse(const char *s, enum srv_log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        if (s && strcmp(s, names[i]) == 0) {
            *out = (enum srv_log_level)i;
            return 1;
        }
    }
    return 0;
}

const char *srv_log_quote(char *buf, size_t len, const char *s)
{
    size_t o = 0;
    if (!s) s = "";
    for (; *s && o + 3 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            buf[o++] = '\\';
            buf[o++] = c == '\n' ? 'n' : c == '\t' ? 't' : '?';
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o] = '\0';
    return buf;
}

void srv_log(enum srv_log_level level, int64_t job_id, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    char line[2048];
    struct timespec ts;
    struct tm tm;
    size_t n;
    int k;
    va_list ap;

    if ((int)level < atomic_load(&log_min)) return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    k = snprintf(line + n, sizeof line - n, ".%03ldZ level=%s", ts.tv_nsec / 1000000L,
                 names[level >= 0 && level <= SRV_LOG_ERROR ? level : SRV_LOG_ERROR]);
    n += (size_t)(k > 0 ? k : 0);
    if (job_id > 0) {
        k = snprintf(line + n, sizeof line - n, " job=%lld", (long long)job_id);
        n += (size_t)(k > 0 ? k : 0);
    }
    line[n++] = ' ';
    va_start(ap, fmt);
    k = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    if (k < 0) k = 0;
    n += (size_t)k;
    if (n > sizeof line - 2) n = sizeof line - 2; /* truncated line */
    line[n++] = '\n';
    /* A short write to stderr is not worth retrying for a log line. */
    if (write(STDERR_FILENO, line, n) < 0) {
    }
}

/* See srv_log.h. */
double srv_log_now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double srv_log_now_unix(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
