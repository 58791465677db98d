/*
 * srv_sweep_sample.c - grid and random trial values (see srv_sweep_sample.h).
 *
 * Owns the order of a grid and the random draws of a sweep; it does not
 * validate parameters (srv_sweepspec.c does) or know about jobs.
 * Design: counter-based randomness.  Draw k of trial i is a hash of
 * (seed, i, parameter name, k), so any trial can be drawn on its own, in
 * any order, after any restart, with the same result.
 */
#include "srv_sweep_sample.h"

#include <math.h>

#define GOLDEN 0x9e3779b97f4a7c15ull

/* The splitmix64 output function: a bijective 64-bit mixer. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* FNV-1a of the name, so a parameter's stream follows its name. */
static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; s && *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static uint64_t stream_key(uint64_t seed, uint64_t trial, const char *name)
{
    uint64_t k = mix64(seed + GOLDEN);
    k = mix64(k ^ (trial * GOLDEN + 0x632be59bd9b4e019ull));
    return mix64(k ^ name_hash(name));
}

uint64_t srv_sweep_rand_u64(uint64_t seed, uint64_t trial, const char *name, uint64_t counter)
{
    return mix64(stream_key(seed, trial, name) + (counter + 1) * GOLDEN);
}

const char *srv_sweep_dist_name(enum srv_sweep_dist d)
{
    switch (d) {
    case SRV_SWEEP_VALUES: return "values";
    case SRV_SWEEP_UNIFORM: return "uniform";
    case SRV_SWEEP_LOG_UNIFORM: return "log_uniform";
    case SRV_SWEEP_INT_UNIFORM: return "int_uniform";
    }
    return "?";
}

/* ------------------------------------------------------------------------ */
/* Grid                                                                      */
/* ------------------------------------------------------------------------ */

enum srv_status srv_sweep_grid_size(const struct srv_sweep_param *params, size_t n_params,
                                    int64_t limit, int64_t *n, struct ae_err *err)
{
    int64_t prod = 1;
    *n = 0;
    for (size_t j = 0; j < n_params; j++) {
        const struct srv_sweep_param *p = &params[j];
        if (p->dist != SRV_SWEEP_VALUES || p->n_values == 0)
            return srv_err_set(err, SRV_ERR_ARG, "grid parameter '%s' has no \"values\" list",
                               p->name);
        /* prod * n_values > limit, without overflow */
        if (prod > limit / (int64_t)p->n_values ||
            prod * (int64_t)p->n_values > limit) {
            *n = limit + 1;
            return srv_err_set(err, SRV_ERR_ARG, "grid has more than %lld trials",
                               (long long)limit);
        }
        prod *= (int64_t)p->n_values;
    }
    *n = prod;
    return SRV_OK;
}

enum srv_status srv_sweep_grid_point(const struct srv_sweep_param *params, size_t n_params,
                                     int64_t index, double *out, struct ae_err *err)
{
    int64_t size;
    enum srv_status st = srv_sweep_grid_size(params, n_params, INT64_MAX / 2, &size, err);
    if (st != SRV_OK) return st;
    if (index < 0 || index >= size)
        return srv_err_set(err, SRV_ERR_ARG, "grid trial %lld is outside the grid of %lld",
                           (long long)index, (long long)size);
    /* Mixed radix, last parameter least significant (varies fastest). */
    for (size_t j = n_params; j-- > 0;) {
        int64_t nv = (int64_t)params[j].n_values;
        out[j] = params[j].values[index % nv];
        index /= nv;
    }
    return SRV_OK;
}

/* ------------------------------------------------------------------------ */
/* Random                                                                    */
/* ------------------------------------------------------------------------ */

struct stream {
    uint64_t key;
    uint64_t ctr;
};

static uint64_t next_u64(struct stream *s)
{
    s->ctr++;
    return mix64(s->key + s->ctr * GOLDEN);
}

/* Uniform in [0, 1) with 53 random bits. */
static double next_unit(struct stream *s)
{
    return (double)(next_u64(s) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, range) for range >= 1, without modulo bias:
 * reject the lowest 2^64 mod range words, leaving a multiple of range. */
static uint64_t next_below(struct stream *s, uint64_t range)
{
    uint64_t reject = (0 - range) % range; /* 2^64 mod range */
    uint64_t x;
    do {
        x = next_u64(s);
    } while (x < reject);
    return x % range;
}

static double draw(const struct srv_sweep_param *p, struct stream *s)
{
    double v;
    switch (p->dist) {
    case SRV_SWEEP_VALUES:
        if (p->n_values == 0) return 0;
        return p->values[next_below(s, p->n_values)];
    case SRV_SWEEP_UNIFORM:
        v = p->min + next_unit(s) * (p->max - p->min);
        return v < p->max ? v : p->min; /* rounding could reach max */
    case SRV_SWEEP_LOG_UNIFORM: {
        double lo = log(p->min), hi = log(p->max);
        v = exp(lo + next_unit(s) * (hi - lo));
        if (v < p->min) v = p->min;
        if (v >= p->max && p->max > p->min) v = nextafter(p->max, p->min);
        return v;
    }
    case SRV_SWEEP_INT_UNIFORM: {
        double lo = ceil(p->min), hi = floor(p->max);
        if (hi <= lo) return lo;
        return lo + (double)next_below(s, (uint64_t)(hi - lo) + 1);
    }
    }
    return p->min;
}

void srv_sweep_random_point(const struct srv_sweep_param *params, size_t n_params, uint64_t seed,
                            uint64_t index, double *out)
{
    for (size_t j = 0; j < n_params; j++) {
        struct stream s = {stream_key(seed, index, params[j].name), 0};
        out[j] = draw(&params[j], &s);
    }
}

json_t *srv_sweep_point_json(const struct srv_sweep_param *params, size_t n_params,
                             const double *values)
{
    json_t *o = json_object();
    if (!o) return NULL;
    for (size_t j = 0; j < n_params; j++) {
        json_t *v = params[j].type == AE_SETTING_INT ? json_integer((json_int_t)llround(values[j]))
                                                     : json_real(values[j]);
        if (!v || json_object_set_new(o, params[j].name, v) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}
