/*
 * srv_log.h - structured log lines on stderr, and the clocks (srv_log_now_*).
 *
 * One line per call, written with a single write(2) so lines from different
 * threads never interleave:
 *
 *   2025-05-01T12:00:03.127Z level=info job=7 msg="job started" model=conv
 *
 * fmt produces the part after "job=..": by convention a quoted msg first,
 * then key=value pairs.  job_id 0 means "not about a job" (the key is left
 * out).  Thread-safe.
 */
#ifndef SRV_LOG_H
#define SRV_LOG_H

#include <stddef.h>
#include <stdint.h>

enum srv_log_level { SRV_LOG_DEBUG = 0, SRV_LOG_INFO, SRV_LOG_WARN, SRV_LOG_ERROR };

/* Lines below min are dropped (default SRV_LOG_INFO). */
void srv_log_set_level(enum srv_log_level min);
/* Parse "debug", "info", "warn", "error"; returns false if unknown. */
int srv_log_level_parse(const char *s, enum srv_log_level *out);

void srv_log(enum srv_log_level level, int64_t job_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copy s into buf (len > 0) as the inside of a log value: quotes, backslashes
 * and control characters escaped, truncated to fit.  Returns buf. */
const char *srv_log_quote(char *buf, size_t len, const char *s);

/* The clocks the daemon reads (log lines, job times, deadlines, uptime).
 * Monotonic clock in seconds. */
double srv_log_now_mono(void);
/* Wall clock (Unix time) in seconds. */
double srv_log_now_unix(void);

#endif /* SRV_LOG_H */
