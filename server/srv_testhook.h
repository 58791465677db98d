/*
 * srv_testhook.h - fault injection for the reliability tests
 * (tests/integration/test_faults_*.py).  Compiled into aelabd always, and
 * inert unless the environment holds AELABD_TEST_FAULTS=1 when it starts.
 *
 * When enabled, a request header arms allocation failures:
 *
 *   X-Aelab-Test-Fault: daemon=N     this request: the N-th and later jansson
 *                                    and SQLite allocations of its thread fail
 *   X-Aelab-Test-Fault: core=N       this request: the N-th and later core
 *                                    (ae_malloc...) allocations fail
 *   X-Aelab-Test-Fault: job-core=N   the next job a worker takes: its N-th and
 *                                    later core allocations fail
 *   X-Aelab-Test-Fault: job-daemon=N the next job: its N-th and later jansson
 *                                    and SQLite allocations fail
 *
 * N = 0 counts without failing.  Several may be given, comma-separated.
 * An armed request's answer carries X-Aelab-Test-Allocations: daemon=A
 * core=B (allocations attempted so far); an armed job logs one line
 * msg="test fault hook" with its counts and core blocks live before and
 * after.  For an armed job the shared data sets are dropped before and
 * after it (when no job holds them), so every armed job loads its data set
 * and the same job makes the same allocations each time.
 *
 * Not enabled, every function here returns at once and nothing is changed
 * (the allocators stay the libraries' own).
 */
#ifndef SRV_TESTHOOK_H
#define SRV_TESTHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct srv_data;

/* Read AELABD_TEST_FAULTS and, when it is 1, install the counting
 * allocators into jansson and SQLite.  Call from main() before any thread
 * starts and before SQLite or jansson is used. */
void srv_testhook_init(void);
bool srv_testhook_enabled(void);

/* HTTP thread: arm this request from its X-Aelab-Test-Fault header value
 * (NULL: nothing armed).  Directives for jobs are remembered for the next
 * job.  Thread-safe. */
void srv_testhook_request_begin(const char *header_value);
/* "daemon=A core=B" into buf when this thread's request is armed; false
 * otherwise. */
bool srv_testhook_request_report(char *buf, size_t len);
/* Disarm this thread (request completed). */
void srv_testhook_request_end(void);

/* Worker thread, around one job. */
void srv_testhook_job_begin(struct srv_data *data, int64_t job_id);
void srv_testhook_job_end(struct srv_data *data, int64_t job_id);

/* At a clean exit, after everything is freed: log the core blocks still
 * live (0 when nothing leaked). */
void srv_testhook_exit(void);

#endif /* SRV_TESTHOOK_H */
