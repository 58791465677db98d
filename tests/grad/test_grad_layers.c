/*
 * test_grad_layers.c - every layer's backward against central finite
 * differences (ggml test-backend-ops' grad mode).
 *
 * Each check defines a scalar L = sum(R * layer(x)) with a fixed random R,
 * evaluates it with the float kernels, accumulates and differences in
 * double, and compares dL/dx and dL/dw from the backward kernels.  The
 * tolerance is written next to each check: linear layers (dense, conv,
 * upsample) are exact up to float rounding of L, so a small step works;
 * piecewise layers (relu, pool) use inputs kept at least 4 steps away from
 * their kinks and ties.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/ae_kernels.h"

#define LN AE_LANES

static uint32_t rs = 12345;
static float frand(void) /* uniform in [-1, 1) */
{
    rs = rs * 1664525u + 1013904223u;
    return (float)(rs >> 8) * (2.f / 16777216.f) - 1.f;
}
static void fill(float *x, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++) x[i] = frand() * scale;
}
/* Values with |v| in [lo, lo + 1): away from 0 by lo. */
static void fill_away(float *x, size_t n, float lo)
{
    for (size_t i = 0; i < n; i++) {
        float v = frand();
        x[i] = v < 0 ? v - lo : v + lo;
    }
}
static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
    return s;
}

/* Compare analytic grad g[i] with the central difference of f at x[i] for
 * the indices i = 0, stride, 2 stride, ...; relative tolerance rtol on the
 * largest gradient magnitude. */
typedef double (*loss_fn)(void *ctx);
static int check_fd(const char *what, float *x, size_t n, size_t stride, const float *g, float h,
                    double rtol, loss_fn f, void *ctx)
{
    double gmax = 1e-12, worst = 0;
    size_t worst_i = 0;
    for (size_t i = 0; i < n; i += stride) gmax = fmax(gmax, fabs(g[i]));
    for (size_t i = 0; i < n; i += stride) {
        float keep = x[i];
        x[i] = keep + h;
        double fp = f(ctx);
        x[i] = keep - h;
        double fm = f(ctx);
        x[i] = keep;
        double fd = (fp - fm) / (2.0 * ((double)(keep + h) - (double)keep));
        double err = fabs(fd - g[i]) / gmax;
        if (err > worst) {
            worst = err;
            worst_i = i;
        }
    }
    CHECK_MSG(worst <= rtol, "%s: worst relative error %.3g at %zu (tol %.3g)", what, worst, worst_i,
              rtol);
    return worst <= rtol;
}

/* ---- dense -------------------------------------------------------------- */
struct dense_ctx { float *in, *w, *b, *out, *R; int n, ni, no; };
static double dense_loss(void *p)
{
    struct dense_ctx *c = p;
    ae_dense_forward(c->out, c->in, c->w, c->b, c->n, c->ni, c->no, AE_ACT_LINEAR);
    return dot(c->out, c->R, (size_t)c->n * c->no);
}
static void grad_dense(int n, int ni, int no)
{
    struct dense_ctx c = {malloc(4 * n * ni), malloc(4 * ni * no), malloc(4 * no), malloc(4 * n * no),
                          malloc(4 * n * no), n, ni, no};
    float *din = malloc(4 * n * ni), *dw = calloc((size_t)ni * no, 4), *db = calloc(no, 4);
    fill(c.in, (size_t)n * ni, 1);
    fill(c.w, (size_t)ni * no, 0.5f);
    fill(c.b, no, 0.5f);
    fill(c.R, (size_t)n * no, 1);
    ae_dense_backward(din, dw, db, c.R, c.in, c.w, n, ni, no);
    /* linear: tolerance 2e-3 of the largest gradient, step 1e-2 */
    check_fd("dense dW", c.w, (size_t)ni * no, 1, dw, 1e-2f, 2e-3, dense_loss, &c);
    check_fd("dense db", c.b, no, 1, db, 1e-2f, 2e-3, dense_loss, &c);
    check_fd("dense dx", c.in, (size_t)n * ni, 1, din, 1e-2f, 2e-3, dense_loss, &c);
    free(c.in); free(c.w); free(c.b); free(c.out); free(c.R); free(din); free(dw); free(db);
}

/* ---- conv (blocked layout) --------------------------------------------- */
struct conv_ctx { float *in, *w, *b, *out, *R; int H, W, ci, co, pad; };
static double conv_loss(void *p)
{
    struct conv_ctx *c = p;
    ae_conv_forward(c->out, c->in, c->w, c->b, c->H, c->W, c->ci, c->co, c->pad, AE_ACT_LINEAR);
    int Ho = c->H + 2 * c->pad - 2, Wo = c->W + 2 * c->pad - 2;
    return dot(c->out, c->R, (size_t)Ho * Wo * c->co * LN);
}
static void grad_conv(int H, int W, int ci, int co, int pad)
{
    int Ho = H + 2 * pad - 2, Wo = W + 2 * pad - 2;
    size_t nin = (size_t)H * W * ci * LN, nout = (size_t)Ho * Wo * co * LN, nw = 9 * (size_t)ci * co;
    struct conv_ctx c = {malloc(4 * nin), malloc(4 * nw), malloc(4 * co), malloc(4 * nout),
                         malloc(4 * nout), H, W, ci, co, pad};
    float *din = malloc(4 * nin), *dwl = calloc(nw * LN, 4), *dbl = calloc((size_t)co * LN, 4);
    float *dw = calloc(nw, 4), *db = calloc(co, 4);
    fill(c.in, nin, 1);
    fill(c.w, nw, 0.5f);
    fill(c.b, co, 0.5f);
    fill(c.R, nout, 1);
    ae_conv_backward_weights(dwl, dbl, c.in, c.R, H, W, ci, co, pad);
    ae_lanes_reduce(dw, dwl, (int64_t)nw);
    ae_lanes_reduce(db, dbl, co);
    ae_conv_backward_data(din, c.R, c.w, H, W, ci, co, pad);
    char name[64];
    /* linear in w, b and x: tolerance 2e-3 of the largest gradient */
    snprintf(name, sizeof name, "conv %dx%dx%d->%d pad %d dW", H, W, ci, co, pad);
    check_fd(name, c.w, nw, 1, dw, 1e-2f, 2e-3, conv_loss, &c);
    snprintf(name, sizeof name, "conv %dx%dx%d->%d pad %d db", H, W, ci, co, pad);
    check_fd(name, c.b, co, 1, db, 1e-2f, 2e-3, conv_loss, &c);
    snprintf(name, sizeof name, "conv %dx%dx%d->%d pad %d dx", H, W, ci, co, pad);
    check_fd(name, c.in, nin, nin > 4000 ? 7 : 1, din, 1e-2f, 2e-3, conv_loss, &c);
    free(c.in); free(c.w); free(c.b); free(c.out); free(c.R); free(din); free(dwl); free(dbl);
    free(dw); free(db);
}

/* ---- relu + max pool (fused backward) ---------------------------------- */
struct pool_ctx { float *x, *relu, *out, *R; int H, W, C; };
static double pool_loss(void *p)
{
    struct pool_ctx c = *(struct pool_ctx *)p;
    size_t n = (size_t)c.H * c.W * c.C * LN;
    for (size_t i = 0; i < n; i++) c.relu[i] = c.x[i] > 0 ? c.x[i] : 0;
    ae_maxpool_forward(c.out, 0, c.relu, c.H, c.W, c.C);
    return dot(c.out, c.R, (size_t)((c.H + 1) / 2) * ((c.W + 1) / 2) * c.C * LN);
}
static void grad_pool(int H, int W, int C)
{
    size_t n = (size_t)H * W * C * LN, no = (size_t)((H + 1) / 2) * ((W + 1) / 2) * C * LN;
    struct pool_ctx c = {malloc(4 * n), malloc(4 * n), malloc(4 * no), malloc(4 * no), H, W, C};
    float *dx = malloc(4 * n);
    /* Each window's cells get distinct ranks 0.1 apart (plus jitter of at
     * most 0.04) and a random sign, so no two cells of a window are within
     * 0.02 of each other and none is within 0.05 of 0: a step of 1e-3
     * never changes the winner or crosses the relu kink. */
    for (int y = 0; y < H; y += 2)
        for (int xw = 0; xw < W; xw += 2)
            for (int k = 0; k < C * LN; k++) {
                int rank[4] = {0, 1, 2, 3};
                for (int j = 3; j > 0; j--) {
                    rs = rs * 1664525u + 1013904223u;
                    int r = (int)((rs >> 16) % (uint32_t)(j + 1)), t = rank[j];
                    rank[j] = rank[r];
                    rank[r] = t;
                }
                for (int j = 0; j < 4; j++) {
                    int iy = y + j / 2, ix = xw + j % 2;
                    if (iy >= H || ix >= W) continue;
                    float v = 0.05f + 0.1f * rank[j] + 0.04f * (0.5f + 0.5f * frand());
                    c.x[((size_t)iy * W + ix) * C * LN + k] = frand() < -0.3f ? -v : v;
                }
            }
    fill(c.R, no, 1);
    pool_loss(&c);
    ae_maxpool_backward_relu(dx, c.R, c.relu, c.out, 0, H, W, C);
    char name[64];
    snprintf(name, sizeof name, "relu+maxpool %dx%dx%d dx", H, W, C);
    /* piecewise linear away from kinks: 1e-3 */
    check_fd(name, c.x, n, 1, dx, 1e-3f, 1e-3, pool_loss, &c);
    /* Ties: equal maxima send the gradient to the first cell only. */
    float tie_in[4 * LN], tie_out[LN], tie_dout[LN], tie_dx[4 * LN];
    for (int i = 0; i < 4 * LN; i++) tie_in[i] = 0.5f;
    for (int i = 0; i < LN; i++) tie_dout[i] = 1.f;
    ae_maxpool_forward(tie_out, 0, tie_in, 2, 2, 1);
    ae_maxpool_backward_relu(tie_dx, tie_dout, tie_in, tie_out, 0, 2, 2, 1);
    double s0 = 0, rest = 0;
    for (int l = 0; l < LN; l++) {
        s0 += tie_dx[l];
        rest += tie_dx[LN + l] + tie_dx[2 * LN + l] + tie_dx[3 * LN + l];
    }
    CHECK_NEAR(s0, LN, 0);
    CHECK_NEAR(rest, 0, 0);
    free(c.x); free(c.relu); free(c.out); free(c.R); free(dx);
}

/* ---- upsample ---------------------------------------------------------- */
struct up_ctx { float *x, *out, *R; int H, W, C; };
static double up_loss(void *p)
{
    struct up_ctx *c = p;
    ae_upsample_forward(c->out, 0, c->x, c->H, c->W, c->C);
    return dot(c->out, c->R, (size_t)4 * c->H * c->W * c->C * LN);
}
static void grad_upsample(int H, int W, int C)
{
    size_t n = (size_t)H * W * C * LN;
    struct up_ctx c = {malloc(4 * n), malloc(16 * n), malloc(16 * n), H, W, C};
    float *dx = malloc(4 * n);
    fill(c.x, n, 1);
    fill(c.R, 4 * n, 1);
    ae_upsample_backward(dx, c.R, H, W, C);
    /* linear: 1e-3 */
    check_fd("upsample dx", c.x, n, 1, dx, 1e-2f, 1e-3, up_loss, &c);
    free(c.x); free(c.out); free(c.R); free(dx);
}

/* ---- relu -------------------------------------------------------------- */
struct relu_ctx { float *x, *R; size_t n; };
static double relu_loss(void *p)
{
    struct relu_ctx *c = p;
    double s = 0;
    for (size_t i = 0; i < c->n; i++) s += (double)(c->x[i] > 0 ? c->x[i] : 0) * c->R[i];
    return s;
}
static void grad_relu(void)
{
    size_t n = 200;
    struct relu_ctx c = {malloc(4 * n), malloc(4 * n), n};
    float *y = malloc(4 * n), *dz = malloc(4 * n);
    fill_away(c.x, n, 0.05f);
    fill(c.R, n, 1);
    for (size_t i = 0; i < n; i++) y[i] = c.x[i] > 0 ? c.x[i] : 0;
    ae_relu_backward(dz, c.R, y, (int64_t)n);
    /* piecewise linear away from 0: 1e-3 */
    check_fd("relu dx", c.x, n, 1, dz, 1e-2f, 1e-3, relu_loss, &c);
    free(c.x); free(c.R); free(y); free(dz);
}

/* ---- sigmoid + BCE ----------------------------------------------------- */
struct bce_ctx { float *z, *tmp, *y; size_t n; int lanes; };
static double bce_loss(void *p)
{
    struct bce_ctx *c = p;
    memcpy(c->tmp, c->z, 4 * c->n);
    return ae_bce_sigmoid(c->tmp, NULL, c->y, (int64_t)c->n, 1.f, c->lanes);
}
static void grad_bce(int lanes)
{
    size_t n = 64;
    struct bce_ctx c = {malloc(4 * n), malloc(4 * n), malloc(4 * n), n, lanes};
    float *dz = malloc(4 * n), *p = malloc(4 * n);
    /* |z| <= 3: the loss takes logs of the float32 p (as Keras does), whose
     * rounding near 1 would dominate a finite difference at larger z. */
    fill(c.z, n, 3);
    for (size_t i = 0; i < n; i++) c.y[i] = (float)(rs % 256) / 255.f, rs = rs * 1103515245u + 12345u;
    c.z[3] = 25.f;  /* clipped high: gradient 0 */
    c.z[4] = -25.f; /* clipped low: gradient 0 */
    memcpy(p, c.z, 4 * n);
    double loss = ae_bce_sigmoid(p, dz, c.y, (int64_t)n, 1.f, lanes);
    CHECK(isfinite(loss) && loss > 0);
    CHECK_NEAR(dz[3], 0, 0);
    CHECK_NEAR(dz[4], 0, 0);
    /* p written back is the sigmoid */
    CHECK_NEAR(p[0], 1 / (1 + exp(-(double)c.z[0])), 2e-7);
    /* The clipped loss value: -(y log(1-1e-7) + (1-y) log(1e-7)) for z=25. */
    double want3 = -(c.y[3] * log((double)(1.f - 1e-7f)) + (1 - c.y[3]) * log((double)(1.f - (1.f - 1e-7f))));
    float one[1] = {25.f}, g1[1], y1[1] = {c.y[3]};
    CHECK_REL(ae_bce_sigmoid(one, g1, y1, 1, 1.f, LN), want3, 1e-5, 0);
    /* smooth: 2e-3 with step 1e-2 */
    check_fd(lanes < LN ? "bce (masked lanes) dz" : "bce dz", c.z, n, 1, dz, 1e-2f, 2e-3, bce_loss, &c);
    if (lanes < LN) {
        int zero = 1;
        for (size_t i = 0; i < n; i++)
            if ((int)(i % LN) >= lanes) zero &= dz[i] == 0.f;
        CHECK(zero);
    }
    free(c.z); free(c.tmp); free(c.y); free(dz); free(p);
}

/* ---- L1 activity ------------------------------------------------------- */
struct l1_ctx { float *x; size_t n; float l1; };
static double l1_loss(void *p)
{
    struct l1_ctx *c = p;
    return c->l1 * ae_l1_activity(c->x, NULL, (int64_t)c->n, 0.f, LN);
}
static void grad_l1(void)
{
    size_t n = 48;
    struct l1_ctx c = {malloc(4 * n), n, 0.37f};
    float *d = calloc(n, 4);
    fill_away(c.x, n, 0.05f);
    double s = ae_l1_activity(c.x, d, (int64_t)n, c.l1, LN);
    double want = 0;
    for (size_t i = 0; i < n; i++) want += fabs(c.x[i]);
    CHECK_REL(s, want, 1e-6, 0);
    /* piecewise linear away from 0: 1e-3 */
    check_fd("l1 activity", c.x, n, 1, d, 1e-2f, 1e-3, l1_loss, &c);
    float zero[1] = {0.f}, dz[1] = {0.f};
    ae_l1_activity(zero, dz, 1, 0.5f, LN);
    CHECK_NEAR(dz[0], 0, 0); /* sign(0) = 0 */
    free(c.x); free(d);
}

int main(void)
{
    grad_dense(5, 7, 3);
    grad_dense(9, 20, 33);
    /* The model's shapes (channels 1, 8, 16) on small images, plus odd ones. */
    grad_conv(5, 4, 3, 2, 1);
    grad_conv(5, 6, 2, 3, 0);
    grad_conv(6, 6, 1, 16, 1);
    grad_conv(5, 5, 16, 8, 1);
    grad_conv(7, 7, 8, 8, 1);
    grad_conv(4, 4, 8, 8, 1);
    grad_conv(6, 6, 8, 16, 0);
    grad_conv(6, 5, 16, 1, 1);
    grad_pool(7, 7, 2);  /* same padding: 7 -> 4 */
    grad_pool(4, 6, 3);
    grad_pool(5, 3, 8);
    grad_upsample(3, 2, 2);
    grad_upsample(4, 4, 8);
    grad_relu();
    grad_bce(LN);
    grad_bce(5);
    grad_l1();
    return check_summary("test_grad_layers");
}
