/*
 * srv_sweep_sched.c - ASHA and median-stopping decisions (see
 * srv_sweep_sched.h for the rules and their sources).
 *
 * Owns the decision rules only: it does not store results, start or stop
 * trials, or know about jobs.  Design: every decision first reduces the
 * table to "the other trials' values at this epoch" (one value per trial,
 * finite values only), a multiset, so the answer cannot depend on the
 * order of the rows.
 */
#include "srv_sweep_sched.h"

#include <math.h>
#include <stdlib.h>

const char *srv_sweep_decision_name(enum srv_sweep_decision d)
{
    return d == SRV_SWEEP_STOP ? "stop" : "continue";
}

static bool asha_ok(const struct srv_sweep_asha *a)
{
    return a && a->min_epochs >= 1 && a->max_epochs >= a->min_epochs &&
           a->reduction_factor >= 2;
}

size_t srv_sweep_asha_rungs(const struct srv_sweep_asha *a, int32_t *rungs, size_t cap)
{
    size_t n = 0;
    if (!asha_ok(a)) return 0;
    /* int64 so r * rf cannot overflow before the comparison stops it */
    for (int64_t r = a->min_epochs; r < a->max_epochs && n < SRV_SWEEP_MAX_RUNGS;
         r *= a->reduction_factor) {
        if (rungs && n < cap) rungs[n] = (int32_t)r;
        n++;
    }
    return n;
}

bool srv_sweep_asha_is_rung(const struct srv_sweep_asha *a, int32_t epoch)
{
    if (!asha_ok(a)) return false;
    for (int64_t r = a->min_epochs; r < a->max_epochs; r *= a->reduction_factor)
        if (r == epoch) return true;
    return false;
}

struct tv {
    int32_t trial;
    double v;
};

static int tv_cmp(const void *pa, const void *pb)
{
    const struct tv *a = pa, *b = pb;
    if (a->trial != b->trial) return a->trial < b->trial ? -1 : 1;
    return (a->v > b->v) - (a->v < b->v);
}

static int dbl_cmp(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* The other trials' finite values at epoch, one per trial (the lowest when
 * a trial has several), sorted ascending, into a new array *vals (caller
 * frees with free(); NULL when *n == 0). */
static enum srv_status others_at(const struct srv_sweep_result *rows, size_t n_rows, int32_t trial,
                                 int32_t epoch, double **vals, size_t *n, struct ae_err *err)
{
    struct tv *t;
    size_t k = 0, m = 0;

    *vals = NULL;
    *n = 0;
    for (size_t i = 0; i < n_rows; i++)
        if (rows[i].epoch == epoch && rows[i].trial != trial && isfinite(rows[i].val_loss)) k++;
    if (k == 0) return SRV_OK;
    t = malloc(k * sizeof *t);
    *vals = malloc(k * sizeof **vals);
    if (!t || !*vals) {
        free(t);
        free(*vals);
        *vals = NULL;
        return srv_err_set(err, SRV_ERR_NOMEM, "out of memory deciding a sweep trial");
    }
    k = 0;
    for (size_t i = 0; i < n_rows; i++)
        if (rows[i].epoch == epoch && rows[i].trial != trial && isfinite(rows[i].val_loss))
            t[k++] = (struct tv){rows[i].trial, rows[i].val_loss};
    qsort(t, k, sizeof *t, tv_cmp);
    for (size_t i = 0; i < k; i++)
        if (i == 0 || t[i].trial != t[i - 1].trial) (*vals)[m++] = t[i].v;
    free(t);
    qsort(*vals, m, sizeof **vals, dbl_cmp);
    *n = m;
    return SRV_OK;
}

enum srv_status srv_sweep_asha_decide(const struct srv_sweep_asha *a,
                                      const struct srv_sweep_result *rows, size_t n_rows,
                                      int32_t trial, int32_t epoch, double val_loss,
                                      enum srv_sweep_decision *out, struct ae_err *err)
{
    double *vals;
    size_t n_others, better = 0;
    enum srv_status st;

    *out = SRV_SWEEP_CONTINUE;
    if (!asha_ok(a))
        return srv_err_set(err, SRV_ERR_ARG,
                           "ASHA needs min_epochs >= 1, max_epochs >= min_epochs and "
                           "reduction_factor >= 2");
    if (!srv_sweep_asha_is_rung(a, epoch)) return SRV_OK;
    if (!isfinite(val_loss)) {
        *out = SRV_SWEEP_STOP;
        return SRV_OK;
    }
    st = others_at(rows, n_rows, trial, epoch, &vals, &n_others, err);
    if (st != SRV_OK) return st;
    for (size_t i = 0; i < n_others; i++)
        if (vals[i] < val_loss) better++;
    free(vals);
    /* continue iff fewer than 1/rf of the n = n_others + 1 trials are ahead */
    if ((uint64_t)better * (uint64_t)a->reduction_factor >= (uint64_t)n_others + 1)
        *out = SRV_SWEEP_STOP;
    return SRV_OK;
}

enum srv_status srv_sweep_median_decide(const struct srv_sweep_median *m,
                                        const struct srv_sweep_result *rows, size_t n_rows,
                                        int32_t trial, int32_t epoch, double val_loss,
                                        enum srv_sweep_decision *out, struct ae_err *err)
{
    double *vals, median;
    size_t n;
    enum srv_status st;

    *out = SRV_SWEEP_CONTINUE;
    if (!m || m->grace_epochs < 1 || m->min_trials < 1)
        return srv_err_set(err, SRV_ERR_ARG,
                           "median stopping needs grace_epochs >= 1 and min_trials >= 1");
    if (epoch < m->grace_epochs) return SRV_OK;
    st = others_at(rows, n_rows, trial, epoch, &vals, &n, err);
    if (st != SRV_OK) return st;
    if (n < (size_t)m->min_trials) {
        free(vals);
        return SRV_OK;
    }
    median = n % 2 ? vals[n / 2] : 0.5 * (vals[n / 2 - 1] + vals[n / 2]);
    free(vals);
    /* !(v <= median) so that a NaN value stops */
    if (!(val_loss <= median)) *out = SRV_SWEEP_STOP;
    return SRV_OK;
}
