/*
 * bench_dense.c - micro-benchmark of the dense kernels (OpenBLAS sgemm,
 * single-threaded, plus our bias/relu pass) and of the fused sigmoid + BCE
 * pass, on the shapes of the dense models for one thread's slice of a
 * 256-image batch (128 rows) and a whole batch (256 rows).
 *
 * Each case is checked against a naive triple loop first, warmed up, then
 * timed: median ns per call and GFLOP/s.  `meson test --benchmark dense`.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ae_ops.h"
#include "core/ae_simd.h"
#include "bench_util.h"

#define REPS 31

static double now_ns(void) { return 1e9 * bu_now(); }
static float *rnd(size_t n, float scale) { return bu_random_floats(n, scale); }

struct dc {
    int n, ni, no;
    float *x, *w, *b, *y, *dz, *dx, *dw, *db;
};
static void fwd(struct dc *c) { ae_dense_forward(c->y, c->x, c->w, c->b, c->n, c->ni, c->no, AE_ACT_RELU); }
static void bwd(struct dc *c) { ae_dense_backward(c->dx, c->dw, c->db, c->dz, c->x, c->w, c->n, c->ni, c->no); }

static double median_ns(void (*f)(struct dc *), struct dc *c)
{
    double t[REPS];
    for (int i = 0; i < 3; i++) f(c);
    for (int i = 0; i < REPS; i++) {
        double t0 = now_ns();
        f(c);
        t[i] = now_ns() - t0;
    }
    qsort(t, REPS, sizeof t[0], bu_cmp_double);
    return t[REPS / 2];
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
