/*
 * srv_registry.h - every job the daemon knows, by id.
 *
 * The registry holds one reference to each job.  Lookups return a new
 * reference (the caller unrefs).  Lock order: the registry lock is taken
 * before any job lock, never after.  All functions are thread-safe.
 */
#ifndef SRV_REGISTRY_H
#define SRV_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srv_job.h"

struct srv_registry;

enum srv_status srv_registry_new(struct srv_registry **out, struct ae_err *err);
/* Drops the registry's references. */
void srv_registry_free(struct srv_registry *r);

/* Add j (takes a new reference).  Ids must be unique (SRV_ERR_ARG). */
enum srv_status srv_registry_add(struct srv_registry *r, struct srv_job *j, struct ae_err *err);
/* The job with this id (new reference) or NULL. */
struct srv_job *srv_registry_get(struct srv_registry *r, int64_t id);
/* Remove and return the registry's reference (caller unrefs), or NULL. */
struct srv_job *srv_registry_remove(struct srv_registry *r, int64_t id);

/* Filter for srv_registry_list: a job matches when its state bit is in
 * state_mask (bit 1 << state; 0 = any state) and model is NULL or equal. */
struct srv_job_filter {
    unsigned state_mask;
    const char *model;
    int64_t before; /* only ids below this; 0 = no bound */
    int64_t sweep;  /* only trials of this sweep; 0 = any job */
};

/* Newest first: up to max matching jobs (new references in out), and the
 * total number that match (ignoring `before` and max) in *total.  Returns
 * the number stored. */
size_t srv_registry_list(struct srv_registry *r, const struct srv_job_filter *f,
                         struct srv_job **out, size_t max, size_t *total);

/* Number of jobs in each state (counts[SRV_JOB_STATE_COUNT]). */
void srv_registry_count(struct srv_registry *r, size_t *counts);

/* Call fn for every job, oldest first, under the registry lock (fn may
 * take job locks, must not call the registry). */
void srv_registry_foreach(struct srv_registry *r, void (*fn)(void *user, struct srv_job *j),
                          void *user);

#endif /* SRV_REGISTRY_H */
