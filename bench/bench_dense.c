/*
 * bench_dense.c - micro-benchmark of the dense kernels (OpenBLAS sgemm,
 * single-threaded, plus our bias/relu pass) and of the fused sigmoid + BCE
 * pass, on the shapes of the dense models for one thread's slice of a
 * 256-image batch (128 rows) and a whole batch (256 rows).
 *
 * Each case is checked against a naive triple loop first, warmed up, then
 * timed: median ns per call and GFLOP/s.  `meson test --benchmark dense`.
 *
 * Then every dense layer shape that can skip zero inputs, 128 rows, both
 * ways: sgemm, and the zero-skipping kernels (ae_dense_nz.c, mask scan
 * included), forward plus weight gradient, on inputs with a given
 * fraction of nonzeros at random places.  The crossover density sets
 * AE_NZ_DENSITY_NUM / _DEN.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ae_kernels.h"
#include "bench_util.h"

#define REPS 31

static double now_ns(void) { return 1e9 * bu_now(); }
static float *rnd(size_t n, float scale) { return bu_random_floats(n, scale); }

struct dc {
    int n, ni, no;
    float *x, *w, *b, *y, *dz, *dx, *dw, *db;
};
static void fwd(void *p)
{
    struct dc *c = p;
    ae_dense_forward(c->y, c->x, c->w, c->b, c->n, c->ni, c->no, AE_ACT_RELU);
}
static void bwd(void *p)
{
    struct dc *c = p;
    ae_dense_backward(c->dx, c->dw, c->db, c->dz, c->x, c->w, c->n, c->ni, c->no);
}

/* Median ns of REPS calls of f(c), after 3 warm-up calls. */
static double median_ns(void (*f)(void *), void *c)
{
    double t[REPS];
    for (int i = 0; i < 3; i++) f(c);
    for (int i = 0; i < REPS; i++) {
        double t0 = now_ns();
        f(c);
        t[i] = now_ns() - t0;
    }
    return bu_median(t, REPS);
}

/* ---- dense layers with zero inputs: sgemm against skipping them ------- */

struct nzc {
    int n, ni, no;
    float *x, *w, *b, *y, *dz, *dw, *db;
    struct ae_nz_mask mk;
};
static void nz_sgemm(void *p)
{
    struct nzc *c = p;
    ae_dense_forward(c->y, c->x, c->w, c->b, c->n, c->ni, c->no, AE_ACT_RELU);
    ae_dense_backward_set(NULL, c->dw, c->db, c->dz, c->x, c->w, c->n, c->ni, c->no);
}
static void nz_skip(void *p)
{
    struct nzc *c = p;
    ae_nz_scan(&c->mk, c->x, c->n);
    ae_nz_forward(c->y, c->x, &c->mk, c->w, c->b, c->no, AE_ACT_RELU);
    ae_nz_backward(NULL, c->dw, c->db, c->dz, c->x, c->w, &c->mk, c->no, true);
}

static int bench_nz(void)
{
    static const double density[] = {0.19, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};
    static const int shapes[][2] = {{784, 128}, {784, 256}, {128, 784}, {256, 784}, {32, 784}, {64, 128}};
    int bad = 0;
    if (!ae_nz_usable(784, AE_NZ_TILE)) {
        printf("\nzero-skipping dense kernels: not available here (need AVX-512; AE_NZ=off turns them off)\n");
        return 0;
    }
    printf("\ndense layer, 128 rows, forward + weight gradient: sgemm vs skipping zero inputs "
           "(scan included; median of %d)\n", REPS);
    printf("%-16s %8s %12s %12s %8s\n", "case", "nonzero", "sgemm ns", "skip ns", "ratio");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t d = 0; d < sizeof density / sizeof density[0]; d++) {
            struct nzc c;
            memset(&c, 0, sizeof c);
            c.n = 128, c.ni = shapes[s][0], c.no = shapes[s][1];
            size_t nx = (size_t)c.n * c.ni, nw = (size_t)c.ni * c.no;
            c.x = rnd(nx, 2);
            for (size_t i = 0; i < nx; i++)
                c.x[i] = (double)rand() / RAND_MAX < density[d] ? fabsf(c.x[i]) + 1e-3f : 0.f;
            c.w = rnd(nw, 0.2f), c.b = rnd(c.no, 0.2f), c.dz = rnd((size_t)c.n * c.no, 1);
            c.y = rnd((size_t)c.n * c.no, 0), c.dw = rnd(nw, 0), c.db = rnd(c.no, 0);
            float *y2 = rnd((size_t)c.n * c.no, 0), *dw2 = rnd(nw, 0);
            void *mem = aligned_alloc(64, (size_t)ae_nz_mask_bytes(c.n, c.ni));
            ae_nz_mask_init(&c.mk, c.n, c.ni, mem);
            /* the two paths agree (up to the order of the sums) */
            nz_sgemm(&c);
            memcpy(y2, c.y, sizeof(float) * (size_t)c.n * c.no);
            memcpy(dw2, c.dw, sizeof(float) * nw);
            nz_skip(&c);
            double err = 0;
            for (size_t i = 0; i < (size_t)c.n * c.no; i++) err = fmax(err, fabs(y2[i] - c.y[i]));
            for (size_t i = 0; i < nw; i++) err = fmax(err, fabs(dw2[i] - c.dw[i]));
            if (err > 1e-3) {
                printf("MISMATCH %d->%d at density %.2f: %.3g\n", c.ni, c.no, density[d], err);
                bad = 1;
            }
            double ts = median_ns(nz_sgemm, &c), tk = median_ns(nz_skip, &c);
            char name[40];
            snprintf(name, sizeof name, "%d -> %d", c.ni, c.no);
            printf("%-16s %8.2f %12.0f %12.0f %8.2f\n", name, (double)c.mk.nnz / (double)nx, ts, tk,
                   tk / ts);
            free(c.x); free(c.w); free(c.b); free(c.y); free(c.dz); free(c.dw); free(c.db);
            free(y2); free(dw2); free(mem);
        }
    return bad;
}

int main(void)
{
    ae_dense_setup();
    static const int shapes[][2] = {{784, 32}, {32, 784}, {784, 128}, {128, 64}, {128, 784}, {784, 256}, {256, 784}};
    int rows[2] = {128, 256};
    int bad = 0;
    printf("dense kernels (OpenBLAS sgemm, 1 thread), median of %d\n", REPS);
    printf("%-22s %-9s %12s %9s\n", "case", "pass", "ns/call", "GFLOP/s");
    for (int r = 0; r < 2; r++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            struct dc c;
            memset(&c, 0, sizeof c);
            c.n = rows[r], c.ni = shapes[s][0], c.no = shapes[s][1];
            c.x = rnd((size_t)c.n * c.ni, 2);
            c.w = rnd((size_t)c.ni * c.no, 0.2f);
            c.b = rnd(c.no, 0.2f);
            c.y = rnd((size_t)c.n * c.no, 0);
            c.dz = rnd((size_t)c.n * c.no, 1);
            c.dx = rnd((size_t)c.n * c.ni, 0);
            c.dw = rnd((size_t)c.ni * c.no, 0);
            c.db = rnd(c.no, 0);
            memset(c.dw, 0, sizeof(float) * (size_t)c.ni * c.no);
            memset(c.db, 0, sizeof(float) * (size_t)c.no);
            /* naive check of forward and of the weight and data gradients */
            fwd(&c);
            bwd(&c);
            double err = 0;
            for (int i = 0; i < c.n; i += 7)
                for (int j = 0; j < c.no; j += 3) {
                    double a = c.b[j];
                    for (int k = 0; k < c.ni; k++) a += (double)c.x[(size_t)i * c.ni + k] * c.w[(size_t)k * c.no + j];
                    err = fmax(err, fabs((a > 0 ? a : 0) - c.y[(size_t)i * c.no + j]));
                }
            for (int k = 0; k < c.ni; k += 5)
                for (int j = 0; j < c.no; j += 3) {
                    double a = 0;
                    for (int i = 0; i < c.n; i++) a += (double)c.x[(size_t)i * c.ni + k] * c.dz[(size_t)i * c.no + j];
                    err = fmax(err, fabs(a - c.dw[(size_t)k * c.no + j]));
                }
            for (int i = 0; i < c.n; i += 7)
                for (int k = 0; k < c.ni; k += 5) {
                    double a = 0;
                    for (int j = 0; j < c.no; j++) a += (double)c.dz[(size_t)i * c.no + j] * c.w[(size_t)k * c.no + j];
                    err = fmax(err, fabs(a - c.dx[(size_t)i * c.ni + k]));
                }
            if (err > 1e-3) {
                printf("MISMATCH %dx%d->%d: %.3g\n", c.n, c.ni, c.no, err);
                bad = 1;
            }
            char name[40];
            snprintf(name, sizeof name, "%d x %d -> %d", c.n, c.ni, c.no);
            double f = 2.0 * c.n * c.ni * c.no;
            double t1 = median_ns(fwd, &c), t2 = median_ns(bwd, &c);
            printf("%-22s %-9s %12.0f %9.2f\n", name, "forward", t1, f / t1);
            printf("%-22s %-9s %12.0f %9.2f\n", name, "backward", t2, 2 * f / t2);
            free(c.x); free(c.w); free(c.b); free(c.y); free(c.dz); free(c.dx); free(c.dw); free(c.db);
        }
    bad |= bench_nz();
    /* fused sigmoid + BCE over a 256 x 784 batch */
    size_t n = 256 * 784;
    float *z = rnd(n, 8), *y = rnd(n, 1), *dz = rnd(n, 0), *zz = rnd(n, 0);
    for (size_t i = 0; i < n; i++) y[i] = fabsf(y[i]) * 2;
    double t[REPS];
    for (int i = 0; i < REPS + 3; i++) {
        memcpy(zz, z, n * 4);
        double t0 = now_ns();
        ae_bce_sigmoid(zz, dz, y, (int64_t)n, 1e-5f, 16);
        if (i >= 3) t[i - 3] = now_ns() - t0;
    }
    qsort(t, REPS, sizeof t[0], bu_cmp_double);
    printf("%-22s %-9s %12.0f %9.2f  (%.2f ns/element, %s)\n", "256 x 784 sigmoid+BCE", "fused", t[REPS / 2],
           0.0, t[REPS / 2] / (double)n, ae_simd_avx512() ? "AVX-512" : "portable");
    free(z); free(y); free(dz); free(zz);
    return bad;
}
