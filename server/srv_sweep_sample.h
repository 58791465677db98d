/*
 * srv_sweep_sample.h - the trial samplers of a sweep (grid and random).
 *
 * Pure functions: no I/O, no globals, no allocation except the JSON a
 * caller asks for.  A trial's values depend only on the parameters, the
 * seed and the trial's index, so a daemon that restarts mid-sweep draws
 * the same values again for the trials it has not started yet.
 *
 * Grid order: the parameters in the order they were given in the request
 * (jansson keeps an object's insertion order), each parameter's values in
 * the order listed, the LAST parameter varying fastest (like nested loops,
 * or Python's itertools.product).  Grid trial i is the mixed-radix number
 * i written in the parameters' value counts.
 *
 * Random draws: a counter-based generator written here (the splitmix64
 * finaliser applied to a key and a counter).  The key of a draw is made
 * from (seed, trial index, parameter NAME), so a trial's draws do not
 * depend on the other trials or on the order of the parameters.
 *   uniform      min + u * (max - min), u uniform in [0, 1): [min, max)
 *   log_uniform  exp(uniform in [log min, log max)): [min, max), min > 0
 *   int_uniform  every integer in [min, max] (both ends), equally likely,
 *                by rejection (no modulo bias)
 *   values       one of the listed values, equally likely
 * (min == max gives min for every distribution.)
 */
#ifndef SRV_SWEEP_SAMPLE_H
#define SRV_SWEEP_SAMPLE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ae.h"
#include "srv_status.h"

#define SRV_SWEEP_MAX_PARAMS 16  /* parameters in one sweep */
#define SRV_SWEEP_MAX_VALUES 64  /* entries of one "values" list */
#define SRV_SWEEP_PARAM_NAME 32  /* bytes, with the NUL */

enum srv_sweep_dist {
    SRV_SWEEP_VALUES = 0,    /* "values": [...] */
    SRV_SWEEP_UNIFORM,       /* "distribution": "uniform" */
    SRV_SWEEP_LOG_UNIFORM,   /* "log_uniform" */
    SRV_SWEEP_INT_UNIFORM,   /* "int_uniform" */
};

/* One swept setting, as validated by srv_sweepspec_validate. */
struct srv_sweep_param {
    char name[SRV_SWEEP_PARAM_NAME]; /* an ae_settings() name, e.g. "batch_size" */
    enum ae_setting_type type;       /* the setting's type: ints are emitted as integers */
    enum srv_sweep_dist dist;
    double min, max;                 /* ranges (dist != VALUES) */
    size_t n_values;                 /* dist == VALUES: 1..SRV_SWEEP_MAX_VALUES */
    double values[SRV_SWEEP_MAX_VALUES];
};

/* "values", "uniform", "log_uniform", "int_uniform". */
const char *srv_sweep_dist_name(enum srv_sweep_dist d);

/* The 64-bit word number `counter` of the stream keyed by (seed, trial,
 * name).  Exposed for tests.  Thread-safe. */
uint64_t srv_sweep_rand_u64(uint64_t seed, uint64_t trial, const char *name, uint64_t counter);

/* Number of grid points of params (product of n_values) into *n.
 * SRV_ERR_ARG when a parameter has no "values" list or the product is over
 * limit (*n then holds limit + 1, so the caller can say "over"). */
enum srv_status srv_sweep_grid_size(const struct srv_sweep_param *params, size_t n_params,
                                    int64_t limit, int64_t *n, struct ae_err *err);

/* Values of grid trial `index` (0-based) into out[n_params], in params'
 * order.  SRV_ERR_ARG when index is outside the grid or a parameter has no
 * values.  Thread-safe. */
enum srv_status srv_sweep_grid_point(const struct srv_sweep_param *params, size_t n_params,
                                     int64_t index, double *out, struct ae_err *err);

/* Values of random trial `index` for seed into out[n_params].  Never fails
 * for validated params.  Thread-safe. */
void srv_sweep_random_point(const struct srv_sweep_param *params, size_t n_params, uint64_t seed,
                            uint64_t index, double *out);

/* {"batch_size": 128, "learning_rate": 0.0003, ...} for out[] as filled by
 * the two functions above: integer settings as JSON integers, the others as
 * reals.  New reference (caller json_decref's); NULL on OOM. */
json_t *srv_sweep_point_json(const struct srv_sweep_param *params, size_t n_params,
                             const double *values);

#endif /* SRV_SWEEP_SAMPLE_H */
