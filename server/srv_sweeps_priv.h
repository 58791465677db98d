/*
 * srv_sweeps_priv.h - the sweep manager's insides, shared by srv_sweeps.c
 * (trials, decisions, the observer), srv_sweeps_actions.c (create, cancel,
 * delete), srv_sweeps_json.c (what the API shows) and srv_sweeps_load.c
 * (start-up).  Nothing else includes it.
 * Every function here expects the manager's lock held unless it says so.
 */
#ifndef SRV_SWEEPS_PRIV_H
#define SRV_SWEEPS_PRIV_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "srv_jobspec.h"
#include "srv_sweeps.h"
#include "srv_sweepspec.h"

enum sweep_state { SW_RUNNING = 0, SW_SUCCEEDED, SW_CANCELLED };
extern const char *const srv_sweeps_state_names[3];  /* "running", ... */

enum row_decision { DEC_NONE = 0, DEC_CONTINUE, DEC_STOP };
extern const char *const srv_sweeps_decision_names[3]; /* "none", "continue", "stop" */
struct trial {
    int32_t index;
    int64_t job_id;
    json_t *params;
    int32_t stopped_at; /* epoch of the stop decision; 0 = none */
};

struct sweep {
    int64_t id;
    char name[SRV_SWEEP_NAME_MAX + 1];
    char dir[96];           /* "sweep-0003-lr-search" under the log dir */
    json_t *body;           /* the request as accepted */
    struct srv_sweepspec spec;
    enum sweep_state state;
    bool cancelling;
    double created_at, finished_at;
    struct trial *trials;   /* trials[i].index == i; n_started of them */
    int32_t n_started;
    struct srv_sweep_result *rows; /* the decision table, arrival order */
    enum row_decision *dec;
    size_t n_rows, cap_rows;
    int32_t rungs[SRV_SWEEP_MAX_RUNGS];
    size_t n_rungs;
    uint64_t version;
};

struct srv_sweeps {
    pthread_mutex_t lock;
    struct sweep **all; /* id order */
    size_t n, cap;
};

/* The data sets as the validator sees them (all_installed: every known
 * set counts as installed; used at start-up, so a stored sweep stays
 * loadable and its trials fail with a clear error if the files are gone). */
struct env_buf {
    struct srv_jobspec_env env;
    const char *inst[SRV_DATA_N_SETS];
};
void srv_sweeps_make_env(struct srv_app *app, struct env_buf *b, bool all_installed);

struct sweep *srv_sweeps_find(struct srv_sweeps *m, int64_t id);
bool srv_sweeps_add(struct srv_sweeps *m, struct sweep *sw);
bool srv_sweeps_add_row(struct sweep *sw, int32_t trial, int32_t epoch, double v,
                        enum row_decision d);
/* A sweep for a validated spec (takes the spec's memory) and its body (copied). */
struct sweep *srv_sweeps_make(const json_t *body, const struct srv_sweepspec *spec);
void srv_sweeps_set_id(struct sweep *sw, int64_t id);
void srv_sweeps_sweep_free(struct sweep *sw);
/* Take, commit and remember the decision for (trial, epoch); the stored
 * one when it was taken before. */
enum row_decision srv_sweeps_record(struct srv_app *app, struct sweep *sw, struct trial *t,
                                    int32_t epoch, double v);
/* Start trials while there is room; end the sweep when all are final. */
void srv_sweeps_pump(struct srv_app *app, struct sweep *sw);
/* The sweep as the API shows it (new reference; NULL on OOM). */
json_t *srv_sweeps_json(struct srv_app *app, struct sweep *sw);

#endif /* SRV_SWEEPS_PRIV_H */
