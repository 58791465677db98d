/*
 * bench_conv.c - micro-benchmark of the conv kernels, one case per conv
 * layer of the seed's model, for one block of 16 images.
 *
 * For each case: check the fast path (ae_conv3_*, AVX-512 when available)
 * against the reference kernels first, warm up, then time and print the
 * median ns per call and GFLOP/s of forward, data gradient and weight
 * gradient.  `meson test --benchmark conv` runs it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ae_kernels.h"
#include "bench_util.h"

#define LN AE_LANES
#define REPS 31

static double now_ns(void) { return 1e9 * bu_now(); }
static float *rnd(size_t n, float scale) { return bu_random_floats(n, scale); }
static float *bordered(const float *x, int H, int W, int C, int p)
{
    size_t n = (size_t)(H + 2 * p) * (W + 2 * p) * C * LN;
    float *b = aligned_alloc(64, ((n * 4 + 63) / 64) * 64);
    memset(b, 0, n * 4);
    for (int y = 0; y < H; y++)
        memcpy(b + ((size_t)(y + p) * (W + 2 * p) + p) * C * LN, x + (size_t)y * W * C * LN, 4 * (size_t)W * C * LN);
    return b;
}
static double maxdiff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

typedef void (*thunk)(void *);
static double median_ns(thunk f, void *arg)
{
    double t[REPS];
    for (int i = 0; i < 3; i++) f(arg); /* warm-up */
    for (int i = 0; i < REPS; i++) {
        double t0 = now_ns();
        f(arg);
        t[i] = now_ns() - t0;
    }
    qsort(t, REPS, sizeof t[0], bu_cmp_double);
    return t[REPS / 2];
}

struct cs {
    int H, W, ci, co, pad, Ho, Wo, q;
    float *x, *xb, *w, *wt, *b, *dz, *dzb, *out, *din, *dwl, *dbl;
};
static void run_fwd(void *p)
{
    struct cs *c = p;
    ae_conv3_valid(c->out, c->xb, (int64_t)(c->W + 2 * c->pad) * c->ci * LN, c->Ho, c->Wo, c->ci, c->co, c->w, c->b, AE_ACT_RELU);
}
static void run_bwd_data(void *p)
{
    struct cs *c = p;
    ae_conv3_valid(c->din, c->dzb, (int64_t)(c->Wo + 2 * c->q) * c->co * LN, c->H, c->W, c->co, c->ci, c->wt, NULL, AE_ACT_LINEAR);
}
static void run_bwd_w(void *p)
{
    struct cs *c = p;
    ae_conv3_wgrad(c->dwl, c->dbl, c->xb, (int64_t)(c->W + 2 * c->pad) * c->ci * LN, c->dz, (int64_t)c->Wo * c->co * LN, c->Ho, c->Wo, c->ci, c->co);
}

int main(void)
{
    static const int shapes[7][5] = {{28, 28, 1, 16, 1}, {14, 14, 16, 8, 1}, {7, 7, 8, 8, 1}, {4, 4, 8, 8, 1},
                                     {8, 8, 8, 8, 1},    {16, 16, 8, 16, 0}, {28, 28, 16, 1, 1}};
    printf("conv kernels (%s), one block of 16 images; median of %d\n",
           ae_simd_avx512() ? "AVX-512" : ae_simd_avx2() ? "AVX2" : "portable", REPS);
    printf("%-22s %-10s %12s %9s\n", "case", "pass", "ns/call", "GFLOP/s");
    int bad = 0;
    for (int s = 0; s < 7; s++) {
        struct cs c;
        memset(&c, 0, sizeof c);
        c.H = shapes[s][0], c.W = shapes[s][1], c.ci = shapes[s][2], c.co = shapes[s][3], c.pad = shapes[s][4];
        c.Ho = c.H + 2 * c.pad - 2;
        c.Wo = c.W + 2 * c.pad - 2;
        c.q = 2 - c.pad;
        size_t nin = (size_t)c.H * c.W * c.ci * LN, nout = (size_t)c.Ho * c.Wo * c.co * LN, nw = 9 * (size_t)c.ci * c.co;
        c.x = rnd(nin, 2);
        c.w = rnd(nw, 0.5f);
        c.b = rnd(c.co, 0.5f);
        c.dz = rnd(nout, 2);
        c.xb = bordered(c.x, c.H, c.W, c.ci, c.pad);
        c.dzb = bordered(c.dz, c.Ho, c.Wo, c.co, c.q);
        c.wt = rnd(nw, 1);
        ae_conv3_flip(c.wt, c.w, c.ci, c.co);
        c.out = rnd(nout, 1);
        c.din = rnd(nin, 1);
        c.dwl = rnd(nw * LN, 0);
        c.dbl = rnd((size_t)c.co * LN, 0);
        memset(c.dwl, 0, nw * LN * 4);
        memset(c.dbl, 0, (size_t)c.co * LN * 4);
        /* Check against the reference kernels before timing. */
        float *ref_out = rnd(nout, 0), *ref_din = rnd(nin, 0), *ref_dwl = rnd(nw * LN, 0), *ref_dbl = rnd((size_t)c.co * LN, 0);
        memset(ref_dwl, 0, nw * LN * 4);
        memset(ref_dbl, 0, (size_t)c.co * LN * 4);
        ae_conv_forward(ref_out, c.x, c.w, c.b, c.H, c.W, c.ci, c.co, c.pad, AE_ACT_RELU);
        ae_conv_backward_data(ref_din, c.dz, c.w, c.H, c.W, c.ci, c.co, c.pad);
        ae_conv_backward_weights(ref_dwl, ref_dbl, c.x, c.dz, c.H, c.W, c.ci, c.co, c.pad);
        run_fwd(&c);
        run_bwd_data(&c);
        run_bwd_w(&c);
        double e1 = maxdiff(c.out, ref_out, nout), e2 = maxdiff(c.din, ref_din, nin), e3 = maxdiff(c.dwl, ref_dwl, nw * LN);
        if (e1 > 1e-3 || e2 > 1e-3 || e3 > 1e-2) {
            printf("MISMATCH %dx%d %d->%d: forward %.3g data %.3g weights %.3g\n", c.H, c.W, c.ci, c.co, e1, e2, e3);
            bad = 1;
        }
        char name[40];
        snprintf(name, sizeof name, "%dx%dx%d->%d %s", c.H, c.W, c.ci, c.co, c.pad ? "same" : "valid");
        double flops = 2.0 * c.Ho * c.Wo * c.co * 9.0 * c.ci * LN;
        double t1 = median_ns(run_fwd, &c), t2 = median_ns(run_bwd_data, &c), t3 = median_ns(run_bwd_w, &c);
        printf("%-22s %-10s %12.0f %9.2f\n", name, "forward", t1, flops / t1);
        printf("%-22s %-10s %12.0f %9.2f\n", name, "data-grad", t2, flops / t2);
        printf("%-22s %-10s %12.0f %9.2f\n", name, "wgrad", t3, flops / t3);
        free(ref_out); free(ref_din); free(ref_dwl); free(ref_dbl);
        free(c.x); free(c.xb); free(c.w); free(c.wt); free(c.b); free(c.dz); free(c.dzb); free(c.out); free(c.din);
        free(c.dwl); free(c.dbl);
    }
    return bad;
}
