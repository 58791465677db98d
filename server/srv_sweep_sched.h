/*
 * srv_sweep_sched.h - early-stopping decisions of a sweep (ASHA, median).
 *
 * Pure functions of a table of results: no I/O, no clock, no globals.  The
 * table holds one row per (trial, epoch) that a trial has finished: its
 * val_loss (the sweep's metric, minimised).  A trial that failed before an
 * epoch simply has no row for it, so it takes no part in any decision at
 * that epoch.  Rows with a non-finite val_loss are ignored.  If the table
 * has two rows for one (trial, epoch), the lower val_loss counts.  Rows of
 * the deciding trial itself are ignored (its value is passed separately),
 * so the answer is the same whether or not its row is already stored.
 *
 * ASHA (Li et al., "A System for Massively Parallel Hyperparameter
 * Tuning", MLSys 2020, Algorithm 2).  Rungs at min_epochs * rf^k epochs,
 * k = 0, 1, ..., for every such epoch BELOW max_epochs (a trial that
 * reaches max_epochs is finished; there is nothing to decide).  The paper's
 * asynchronous ASHA promotes a configuration when it is in the top 1/rf of
 * the rung; here the decision is taken when the trial arrives, without
 * waiting for the others (the arrival-time form that Ray Tune's
 * AsyncHyperBandScheduler also uses).  The rule:
 *
 *     n      = trials with a row at this rung, counting the arriving one
 *     better = other trials with a STRICTLY lower val_loss at this rung
 *     CONTINUE  iff  better * rf < n      (rank <= ceil(n / rf))
 *
 * i.e. fewer than 1/rf of the trials that reached the rung so far are ahead
 * of it.  Consequences: the first trial at a rung always continues (n = 1,
 * better = 0), a tie never stops a trial (equal values are not "better"),
 * and a trial arriving late at a rung is judged against every trial that
 * reached it before, promoted or not.  A non-finite val_loss stops.  The
 * decision is a pure function of the table, so the same results give the
 * same decisions for any seed.
 *
 * Median stopping (the rule of the issue; Golovin et al., "Google Vizier",
 * KDD 2017, section 3.2.2, and Optuna's MedianPruner are the same idea).
 * At epoch e >= grace_epochs, if at least min_trials OTHER trials have a
 * row at epoch e, STOP iff this trial's val_loss at epoch e is strictly
 * greater than the median of those others' val_loss at epoch e (the mean
 * of the two middle values for an even count).  Otherwise CONTINUE.  This
 * compares the value AT epoch e, not the best so far (Optuna compares the
 * trial's best so far; Vizier a running average): a rising val_loss
 * (overfitting) counts against a trial.  A non-finite val_loss stops once
 * the rule applies.
 */
#ifndef SRV_SWEEP_SCHED_H
#define SRV_SWEEP_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srv_status.h"

#define SRV_SWEEP_MAX_RUNGS 64

enum srv_sweep_decision {
    SRV_SWEEP_CONTINUE = 0,
    SRV_SWEEP_STOP, /* the trial ends in state "stopped" */
};

/* One finished epoch of one trial. */
struct srv_sweep_result {
    int32_t trial;   /* trial index in the sweep */
    int32_t epoch;   /* 1-based */
    double val_loss; /* the metric, lower is better */
};

struct srv_sweep_asha {
    int32_t min_epochs;       /* >= 1 */
    int32_t max_epochs;       /* >= min_epochs: every trial's epoch budget */
    int32_t reduction_factor; /* >= 2 (default 3) */
};

struct srv_sweep_median {
    int32_t grace_epochs; /* >= 1: no decision before this epoch */
    int32_t min_trials;   /* >= 1: other trials needed at the epoch */
};

/* "continue", "stop". */
const char *srv_sweep_decision_name(enum srv_sweep_decision d);

/* The rung epochs of a (ascending, each < max_epochs) into rungs[cap];
 * returns how many there are (at most SRV_SWEEP_MAX_RUNGS; fewer written
 * when cap is smaller).  0 for invalid a. */
size_t srv_sweep_asha_rungs(const struct srv_sweep_asha *a, int32_t *rungs, size_t cap);

/* Is epoch one of a's rungs? */
bool srv_sweep_asha_is_rung(const struct srv_sweep_asha *a, int32_t epoch);

/* ASHA's decision for `trial` finishing `epoch` with val_loss, given the
 * rows[n_rows] recorded so far (borrowed).  An epoch that is not a rung
 * gives CONTINUE.  SRV_ERR_ARG for an invalid a, SRV_ERR_NOMEM on OOM.
 * Thread-safe. */
enum srv_status srv_sweep_asha_decide(const struct srv_sweep_asha *a,
                                      const struct srv_sweep_result *rows, size_t n_rows,
                                      int32_t trial, int32_t epoch, double val_loss,
                                      enum srv_sweep_decision *out, struct ae_err *err);

/* The median rule's decision, same conventions. */
enum srv_status srv_sweep_median_decide(const struct srv_sweep_median *m,
                                        const struct srv_sweep_result *rows, size_t n_rows,
                                        int32_t trial, int32_t epoch, double val_loss,
                                        enum srv_sweep_decision *out, struct ae_err *err);

#endif /* SRV_SWEEP_SCHED_H */
