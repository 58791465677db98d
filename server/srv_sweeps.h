/*
 * srv_sweeps.h - the sweep manager: every sweep the daemon knows, its
 * trials (ordinary jobs) and its early-stopping decisions.
 *
 * Trials reach the executors the way POST /api/jobs does (committed, then
 * pushed to app->queue); the manager hears about them through each job's
 * observer (srv_job.h), whatever runs them.  All functions are
 * thread-safe.  Lock order: the manager's lock may be held while taking
 * the store's, the registry's, the queue's or a job's lock; it is never
 * held while a job changes state (so observers can take it).
 */
#ifndef SRV_SWEEPS_H
#define SRV_SWEEPS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "srv_app.h"
#include "srv_job.h"

struct srv_sweeps;

enum srv_status srv_sweeps_new(struct srv_sweeps **out, struct ae_err *err);
void srv_sweeps_free(struct srv_sweeps *m); /* NULL-safe */

/* Give job j the daemon's observer (keep=final pruning, its sweep's
 * decisions).  Before j is shared. */
void srv_sweeps_observe(struct srv_app *app, struct srv_job *j);

/* Start-up, after the jobs are loaded and queued and before the executors
 * start: reload the sweeps, take the decisions missing from the stored
 * table (in trial and epoch order), stop trials decided "stop", submit
 * the trials missing, end sweeps whose trials are all final, and give
 * every job its observer. */
enum srv_status srv_sweeps_load(struct srv_app *app, struct ae_err *err);

/* POST /api/sweeps: validate body, commit the sweep and its first trials.
 * On success *out is the sweep's JSON (new reference).  On a bad sweep
 * SRV_ERR_ARG with *problem {code, field, errors} (new reference).  With
 * idem_key (not NULL; request_sha256 the body's hash, srv_api_idempotency),
 * a key stored with the same hash gives the earlier sweep with *replayed
 * true and nothing new; with another hash SRV_ERR_CONFLICT. */
enum srv_status srv_sweeps_create(struct srv_app *app, const json_t *body, const char *idem_key,
                                  const char *request_sha256, json_t **out, bool *replayed,
                                  json_t **problem, struct ae_err *err);

/* The sweep's JSON (new reference) or NULL when there is no such sweep. */
json_t *srv_sweeps_get_json(struct srv_app *app, int64_t id);
/* {"sweeps": [...newest first], "total": N}; state_mask: bit 1 << k for
 * k = 0 running, 1 succeeded, 2 cancelled; 0 = all. */
json_t *srv_sweeps_list_json(struct srv_app *app, unsigned state_mask);
/* Parse "running" / "succeeded" / "cancelled" into a state_mask bit. */
bool srv_sweeps_state_bit(const char *name, unsigned *bit);

/* Cancel every trial still queued or running; the sweep ends "cancelled"
 * when they have stopped.  SRV_ERR_NOTFOUND, SRV_ERR_STATE when final. */
enum srv_status srv_sweeps_cancel(struct srv_app *app, int64_t id, struct ae_err *err);
/* Delete a final sweep with its trial jobs (purge: and its directory).
 * SRV_ERR_NOTFOUND, SRV_ERR_STATE unless final, SRV_ERR_IO. */
enum srv_status srv_sweeps_delete(struct srv_app *app, int64_t id, bool purge,
                                  struct ae_err *err);

/* One row per trial and epoch: [{trial, job, epoch, loss, val_loss, ...}]
 * (new reference), or NULL when there is no such sweep. */
json_t *srv_sweeps_metrics_json(struct srv_app *app, int64_t id);

/* A number that changes whenever sweep id changes (for event streams), and
 * whether it is final; false when there is no such sweep. */
bool srv_sweeps_version(struct srv_app *app, int64_t id, uint64_t *version, bool *final);

/* Sweeps by state (counts[3]: running, succeeded, cancelled). */
void srv_sweeps_count(struct srv_app *app, size_t counts[3]);

#endif /* SRV_SWEEPS_H */
