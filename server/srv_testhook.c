/*
 * srv_testhook.c - allocation fault injection for the reliability tests
 * (see srv_testhook.h).
 *
 * Owns: the switch (AELABD_TEST_FAULTS=1 at start-up), the counting
 * allocators handed to jansson and SQLite in that mode, the parsing of the
 * X-Aelab-Test-Fault header, and arming core's countdown (core/ae.h)
 * around one request or one job.  It does not decide what a failure does:
 * the code that gets NULL (or SQLITE_NOMEM, AE_ERR_NOMEM) handles it as it
 * would for a real shortage.
 *
 * DESIGN: every countdown is thread-local.  aelabd runs each connection in
 * its own thread and each job in one worker thread, so arming "this
 * request" or "this job" needs no lock and cannot make another client's
 * request or another job fail.  The only shared state is the directive
 * waiting for the next job (atomics) and the flag set once before threads
 * start.  Off (the default), nothing is installed and every entry point
 * returns after one branch.
 */
#include "srv_testhook.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ae.h"
#include "srv_data.h"
#include "srv_log.h"

static bool enabled;

/* Armed for the next job a worker takes; -1 = nothing. */
static atomic_llong next_job_core = -1;
static atomic_llong next_job_daemon = -1;

/* This thread's countdown over jansson + SQLite allocations. */
static _Thread_local bool d_armed;
static _Thread_local int64_t d_fail_at;  /* 0 = count only */
static _Thread_local int64_t d_attempts;

/* This thread's request or job: is core's countdown armed too? */
static _Thread_local bool c_armed;
static _Thread_local int64_t c_fail_at;
static _Thread_local int64_t job_live_before;

static sqlite3_mem_methods sqlite_orig;

static bool daemon_alloc_fails(void)
{
    if (!d_armed) return false;
    d_attempts++;
    return d_fail_at > 0 && d_attempts >= d_fail_at;
}

/* ------------------------------------------------------------------------ */
/* The allocators installed in test mode                                    */
/* ------------------------------------------------------------------------ */

static void *json_malloc_hook(size_t n)
{
    return daemon_alloc_fails() ? NULL : malloc(n);
}

static void json_free_hook(void *p)
{
    free(p);
}

static void *sqlite_malloc_hook(int n)
{
    return daemon_alloc_fails() ? NULL : sqlite_orig.xMalloc(n);
}

static void *sqlite_realloc_hook(void *p, int n)
{
    return daemon_alloc_fails() ? NULL : sqlite_orig.xRealloc(p, n);
}

void srv_testhook_init(void)
{
    const char *v = getenv("AELABD_TEST_FAULTS");
    sqlite3_mem_methods m;

    if (!v || strcmp(v, "1") != 0) return;
    if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sqlite_orig) != SQLITE_OK) {
        srv_log(SRV_LOG_ERROR, 0, "msg=\"test fault hook: cannot read SQLite's allocator\"");
        return;
    }
    m = sqlite_orig;
    m.xMalloc = sqlite_malloc_hook;
    m.xRealloc = sqlite_realloc_hook;
    if (sqlite3_config(SQLITE_CONFIG_MALLOC, &m) != SQLITE_OK) {
        srv_log(SRV_LOG_ERROR, 0, "msg=\"test fault hook: cannot install SQLite's allocator\"");
        return;
    }
    json_set_alloc_funcs(json_malloc_hook, json_free_hook);
    enabled = true;
    srv_log(SRV_LOG_WARN, 0,
            "msg=\"AELABD_TEST_FAULTS=1: allocation fault injection is on (tests only)\"");
}

bool srv_testhook_enabled(void)
{
    return enabled;
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                 */
/* ------------------------------------------------------------------------ */

/* Parse "name=N[, name=N...]" and act on each directive. */
static void parse_directives(const char *s)
{
    while (s && *s) {
        char name[16];
        long long n;
        int used = 0;
        while (*s == ' ' || *s == ',') s++;
        if (!*s) break;
        if (sscanf(s, "%15[a-z-]=%lld%n", name, &n, &used) == 2 && used > 0 && n >= 0) {
            if (!strcmp(name, "daemon")) {
                d_armed = true;
                d_fail_at = n;
                d_attempts = 0;
            } else if (!strcmp(name, "core")) {
                c_armed = true;
                c_fail_at = n;
                ae_alloc_fail_at(n);
            } else if (!strcmp(name, "job-core")) {
                atomic_store(&next_job_core, n);
            } else if (!strcmp(name, "job-daemon")) {
                atomic_store(&next_job_daemon, n);
            }
            s += used;
        } else {
            s += strcspn(s, ",");
        }
    }
}

void srv_testhook_request_begin(const char *header_value)
{
    if (!enabled || !header_value) return;
    parse_directives(header_value);
}

bool srv_testhook_request_report(char *buf, size_t len)
{
    if (!enabled || (!d_armed && !c_armed)) return false;
    snprintf(buf, len, "daemon=%lld core=%lld", (long long)d_attempts,
             (long long)(c_armed ? ae_alloc_attempts() : 0));
    return true;
}

void srv_testhook_request_end(void)
{
    if (!enabled) return;
    if (c_armed) ae_alloc_fail_reset();
    d_armed = c_armed = false;
    d_fail_at = c_fail_at = d_attempts = 0;
}

/* ------------------------------------------------------------------------ */
/* Jobs                                                                     */
/* ------------------------------------------------------------------------ */

void srv_testhook_job_begin(struct srv_data *data, int64_t job_id)
{
    long long core, dmn;
    (void)job_id;
    if (!enabled) return;
    core = atomic_exchange(&next_job_core, -1);
    dmn = atomic_exchange(&next_job_daemon, -1);
    if (core < 0 && dmn < 0) return;
    srv_data_trim(data);
    job_live_before = ae_alloc_live();
    if (core >= 0) {
        c_armed = true;
        c_fail_at = core;
        ae_alloc_fail_at(core);
    }
    if (dmn >= 0) {
        d_armed = true;
        d_fail_at = dmn;
        d_attempts = 0;
    }
}

void srv_testhook_job_end(struct srv_data *data, int64_t job_id)
{
    int64_t core_attempts;
    if (!enabled || (!c_armed && !d_armed)) return;
    core_attempts = c_armed ? ae_alloc_attempts() : -1;
    ae_alloc_fail_reset();
    srv_data_trim(data);
    srv_log(SRV_LOG_INFO, job_id,
            "msg=\"test fault hook\" core_fail_at=%lld core_allocations=%lld "
            "daemon_fail_at=%lld daemon_allocations=%lld core_live_before=%lld "
            "core_live_after=%lld",
            c_armed ? (long long)c_fail_at : -1LL, (long long)core_attempts,
            d_armed ? (long long)d_fail_at : -1LL, d_armed ? (long long)d_attempts : -1LL,
            (long long)job_live_before, (long long)ae_alloc_live());
    d_armed = c_armed = false;
    d_fail_at = c_fail_at = d_attempts = 0;
}

void srv_testhook_exit(void)
{
    if (!enabled) return;
    srv_log(SRV_LOG_INFO, 0, "msg=\"test fault hook: at exit\" core_live=%lld",
            (long long)ae_alloc_live());
}
