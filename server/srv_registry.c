/*
 * srv_registry.c - id -> job (see srv_registry.h).
 *
 * Owns the set of known jobs; not their states (srv_job.c) nor their
 * order of execution (srv_queue.c).  Design: ids only grow (SQLite
 * AUTOINCREMENT), so a plain array sorted by id gives appends at the end,
 * binary-search lookups and newest-first listing by walking backwards —
 * no hash table needed.
 */
#include "srv_registry.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct srv_registry {
    pthread_mutex_t lock;
    struct srv_job **jobs; /* sorted by id */
    size_t n, cap;
};

enum srv_status srv_registry_new(struct srv_registry **out, struct ae_err *err)
{
    struct srv_registry *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r) return srv_err_set(err, SRV_ERR_NOMEM, "out of memory creating the registry");
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return SRV_OK;
}

void srv_registry_free(struct srv_registry *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) srv_job_unref(r->jobs[i]);
    free(r->jobs);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* Index of the first job with id >= id.  Lock held. */
static size_t lower_bound(const struct srv_registry *r, int64_t id)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->jobs[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

enum srv_status srv_registry_add(struct srv_registry *r, struct srv_job *j, struct ae_err *err)
{
    enum srv_status st = SRV_OK;
    size_t i;

    pthread_mutex_lock(&r->lock);
    i = lower_bound(r, j->id);
    if (i < r->n && r->jobs[i]->id == j->id) {
        st = srv_err_set(err, SRV_ERR_ARG, "job %lld is already registered", (long long)j->id);
        goto out;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct srv_job **p = realloc(r->jobs, cap * sizeof *p);
        if (!p) {
            st = srv_err_set(err, SRV_ERR_NOMEM, "out of memory registering job %lld",
                             (long long)j->id);
            goto out;
        }
        r->jobs = p;
        r->cap = cap;
    }
    memmove(r->jobs + i + 1, r->jobs + i, (r->n - i) * sizeof *r->jobs);
    r->jobs[i] = srv_job_ref(j);
    r->n++;
out:
    pthread_mutex_unlock(&r->lock);
    return st;
}

struct srv_job *srv_registry_get(struct srv_registry *r, int64_t id)
{
    struct srv_job *j = NULL;
    size_t i;
    pthread_mutex_lock(&r->lock);
    i = lower_bound(r, id);
    if (i < r->n && r->jobs[i]->id == id) j = srv_job_ref(r->jobs[i]);
    pthread_mutex_unlock(&r->lock);
    return j;
}

struct srv_job *srv_registry_remove(struct srv_registry *r, int64_t id)
{
    struct srv_job *j = NULL;
    size_t i;
    pthread_mutex_lock(&r->lock);
    i = lower_bound(r, id);
    if (i < r->n && r->jobs[i]->id == id) {
        j = r->jobs[i];
        memmove(r->jobs + i, r->jobs + i + 1, (r->n - i - 1) * sizeof *r->jobs);
        r->n--;
    }
    pthread_mutex_unlock(&r->lock);
    return j;
}

static bool matches(struct srv_job *j, const struct srv_job_filter *f)
{
    if (f->model && strcmp(f->model, j->model) != 0) return false;
    if (f->sweep && j->sweep_id != f->sweep) return false;
    if (f->state_mask) {
        enum srv_job_state s = srv_job_get_state(j);
        if (!(f->state_mask & (1u << s))) return false;
    }
    return true;
}

size_t srv_registry_list(struct srv_registry *r, const struct srv_job_filter *f,
                         struct srv_job **out, size_t max, size_t *total)
{
    size_t n = 0, t = 0;
    pthread_mutex_lock(&r->lock);
    for (size_t i = r->n; i-- > 0;) {
        struct srv_job *j = r->jobs[i];
        if (!matches(j, f)) continue;
        t++;
        if (f->before > 0 && j->id >= f->before) continue;
        if (n < max) out[n++] = srv_job_ref(j);
    }
    pthread_mutex_unlock(&r->lock);
    if (total) *total = t;
    return n;
}

void srv_registry_count(struct srv_registry *r, size_t *counts)
{
    memset(counts, 0, SRV_JOB_STATE_COUNT * sizeof *counts);
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n; i++) counts[srv_job_get_state(r->jobs[i])]++;
    pthread_mutex_unlock(&r->lock);
}

void srv_registry_foreach(struct srv_registry *r, void (*fn)(void *user, struct srv_job *j),
                          void *user)
{
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n; i++) fn(user, r->jobs[i]);
    pthread_mutex_unlock(&r->lock);
}
