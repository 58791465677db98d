/*
 * bench_util.h - what every C benchmark in bench/ needs: a monotonic clock,
 * a median, random test data.  Header-only; each benchmark is one file.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

/* Monotonic wall clock, in seconds. */
static inline double bu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bu_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (n >= 1); sorts v in place. */
static inline double bu_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bu_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* n floats uniform in [-scale/2, scale/2), 64-byte aligned (rand(), so a
 * run is repeatable); scale 0 gives zeros. */
static inline float *bu_random_floats(size_t n, float scale)
{
    float *p = aligned_alloc(64, ((n * 4 + 63) / 64) * 64);
    if (!p) abort();
    for (size_t i = 0; i < n; i++) p[i] = ((float)rand() / (float)RAND_MAX - 0.5f) * scale;
    return p;
}

#endif
