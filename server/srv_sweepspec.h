/*
 * srv_sweepspec.h - validate a submitted sweep (POST /api/sweeps).
 *
 * A pure function of the body and the daemon's data sets, like
 * srv_jobspec_validate, whose rules it reuses for the "job" member and
 * whose problem shape it returns: {code, field, valid?, errors: [{field,
 * code, detail}]}, one entry per problem, every problem collected.  Errors
 * inside "job" are reported with the field "job.<name>"; errors of a
 * parameter with "parameters.<setting>".
 *
 * The body (every member but "name", "job", "parameters" and "method" is
 * optional; defaults in brackets):
 *   name            1..64 bytes of [A-Za-z0-9._-], starting with a letter or
 *                   digit: safe as a directory name (no "/", no "..", not
 *                   hidden)
 *   job             any valid job spec (srv_jobspec_validate)
 *   parameters      1..16 settings of the job's model (ae_settings()), each
 *                   {"values": [up to 64 numbers]} or {"min", "max",
 *                   "distribution"}; ranges lie within the setting's own;
 *                   integer settings take integer values or int_uniform
 *                   (their default distribution); float settings uniform
 *                   (default) or log_uniform (min > 0); min <= max
 *   method          "grid" (every parameter has values; trials = the
 *                   product, at most max_trials) or "random"
 *   max_trials      1..1000 [grid: the grid's size; random: 10]
 *   max_concurrent  1..64 [2]
 *   seed            0..2^53-1 [1]: random draws (not the job's seed)
 *   metric          "val_loss" (minimised) ["val_loss"]
 *   keep            "all" or "default" ["default"]: "all" keeps every
 *                   trial's artifacts; what "default" keeps is the store's
 *   early_stopping  null or {"type": "none"} [none]
 *                   {"type": "asha", "min_epochs" [1], "max_epochs"
 *                    [the job's epochs], "reduction_factor" [3]}
 *                   {"type": "median", "grace_epochs" [1], "min_trials" [3],
 *                    "max_epochs" [the job's epochs]}
 *
 * Epochs: without early stopping every trial trains the job's epochs (and
 * "epochs" may be a swept parameter).  With early stopping every trial's
 * budget is max_epochs, which defaults to the job's epochs; giving both
 * job.epochs and a different max_epochs is an error, and so is sweeping
 * "epochs" (the rungs need one budget).  srv_sweepspec_trial_job writes
 * trial_epochs into every trial's job.
 */
#ifndef SRV_SWEEPSPEC_H
#define SRV_SWEEPSPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "srv_jobspec.h"
#include "srv_sweep_sample.h"
#include "srv_sweep_sched.h"

#define SRV_SWEEP_NAME_MAX 64         /* bytes */
#define SRV_SWEEP_MAX_TRIALS 1000
#define SRV_SWEEP_MAX_CONCURRENT 64
#define SRV_SWEEP_DEFAULT_CONCURRENT 2
#define SRV_SWEEP_DEFAULT_RANDOM_TRIALS 10

enum srv_sweep_method { SRV_SWEEP_GRID = 0, SRV_SWEEP_RANDOM };
enum srv_sweep_stopping { SRV_SWEEP_STOP_NONE = 0, SRV_SWEEP_STOP_ASHA, SRV_SWEEP_STOP_MEDIAN };

struct srv_sweepspec {
    char name[SRV_SWEEP_NAME_MAX + 1];
    json_t *job;               /* the "job" object as given (a deep copy; owned) */
    struct srv_jobspec base;   /* the job validated (defaults filled in) */
    size_t n_params;
    struct srv_sweep_param params[SRV_SWEEP_MAX_PARAMS]; /* in request order */
    enum srv_sweep_method method;
    int32_t max_trials;
    int32_t n_trials;          /* grid: its size; random: max_trials */
    int32_t max_concurrent;
    uint64_t seed;
    bool keep_all;
    enum srv_sweep_stopping stopping;
    struct srv_sweep_asha asha;     /* when stopping == ASHA */
    struct srv_sweep_median median; /* when stopping == MEDIAN */
    int32_t trial_epochs;      /* every trial's epochs */
};

/* Validate a parsed sweep body.  On success fills out (release with
 * srv_sweepspec_fini) and returns SRV_OK.  On failure returns SRV_ERR_ARG
 * (out needs no fini), err->msg holds every problem joined with "; ", and
 * *problem (when not NULL) receives a new object {code, field, valid?,
 * errors} as srv_jobspec_validate's.  Codes: those of srv_jobspec_validate
 * plus "missing-field", "invalid-value", "invalid-range",
 * "too-many-trials", "conflict".  SRV_ERR_NOMEM on OOM.  Thread-safe. */
enum srv_status srv_sweepspec_validate(const json_t *body, const struct srv_jobspec_env *env,
                                       struct srv_sweepspec *out, json_t **problem,
                                       struct ae_err *err);

/* Release what s holds (NULL-safe; s itself is the caller's). */
void srv_sweepspec_fini(struct srv_sweepspec *s);

/* The values of trial `index` (0 <= index < n_trials) as {setting: value}:
 * the grid point or the random draw for s->seed.  New reference; NULL on a
 * bad index or OOM. */
json_t *srv_sweepspec_trial_values(const struct srv_sweepspec *s, int32_t index);

/* The job spec of trial `index`: a copy of s->job with the trial's values
 * merged in, "epochs" set to s->trial_epochs and "name" set to
 * "<sweep name>-<index>" (so a trial's job is a normal job: submit it with
 * srv_jobspec_validate).  New reference; NULL on a bad index or OOM. */
json_t *srv_sweepspec_trial_job(const struct srv_sweepspec *s, int32_t index);

#endif /* SRV_SWEEPSPEC_H */
