/* test_ae_conv.c - the fast conv path (valid correlation over zero-bordered
 * buffers, flipped weights for the data gradient; AVX-512 and portable)
 * against the reference kernels, for every conv shape of the models and a
 * few odd ones.  Tolerance: float sums in another order, 2e-5 relative to
 * the largest output + 1e-6. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/ae_kernels.h"

#define LN AE_LANES
static uint32_t rs = 4242;
static float frand(void)
{
    rs = rs * 1664525u + 1013904223u;
    return (float)(rs >> 8) / 8388608.f - 1.f;
}

static void close_all(const char *what, const float *a, const float *b, size_t n)
{
    double mx = 0, worst = 0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(b[i]));
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)a[i] - b[i]));
    CHECK_MSG(worst <= 2e-5 * mx + 1e-6, "%s: worst diff %.3g (max %.3g)", what, worst, mx);
}

/* Copy (H, W, C, 16) into the interior of a (H+2p, W+2p) zero-bordered buffer. */
static float *bordered(const float *x, int H, int W, int C, int p)
{
    int rs_ = W + 2 * p;
    float *b = calloc((size_t)(H + 2 * p) * rs_ * C * LN, 4);
    for (int y = 0; y < H; y++)
        memcpy(b + (((size_t)(y + p) * rs_ + p) * C) * LN, x + ((size_t)y * W * C) * LN, sizeof(float) * (size_t)W * C * LN);
    return b;
}

static void check_shape(int H, int W, int ci, int co, int pad, int relu)
{
    int Ho = H + 2 * pad - 2, Wo = W + 2 * pad - 2;
    size_t nin = (size_t)H * W * ci * LN, nout = (size_t)Ho * Wo * co * LN, nw = 9 * (size_t)ci * co;
    float *x = malloc(4 * nin), *w = malloc(4 * nw), *b = malloc(4 * co), *dz = malloc(4 * nout);
    for (size_t i = 0; i < nin; i++) x[i] = frand();
    for (size_t i = 0; i < nw; i++) w[i] = frand() * 0.3f;
    for (int i = 0; i < co; i++) b[i] = frand();
    for (size_t i = 0; i < nout; i++) dz[i] = frand();
    enum ae_act act = relu ? AE_ACT_RELU : AE_ACT_LINEAR;
    char name[96];

    /* forward */
    float *ref = malloc(4 * nout), *fast = malloc(4 * nout), *port = malloc(4 * nout);
    ae_conv_forward(ref, x, w, b, H, W, ci, co, pad, act);
    float *xb = bordered(x, H, W, ci, pad);
    int64_t in_rs = (int64_t)(W + 2 * pad) * ci * LN;
    ae_conv3_valid(fast, xb, in_rs, Ho, Wo, ci, co, w, b, act);
    ae_conv3_valid_scalar(port, xb, in_rs, Ho, Wo, ci, co, w, b, act);
    snprintf(name, sizeof name, "forward %dx%d %d->%d pad %d", H, W, ci, co, pad);
    close_all(name, fast, ref, nout);
    close_all(name, port, ref, nout);

    /* data gradient: valid correlation of dz bordered by 2 - pad, flipped weights */
    float *dref = malloc(4 * nin), *dfast = malloc(4 * nin), *dport = malloc(4 * nin);
    float *wt = malloc(4 * nw);
    ae_conv_backward_data(dref, dz, w, H, W, ci, co, pad);
    ae_conv3_flip(wt, w, ci, co);
    int q = 2 - pad;
    float *dzb = bordered(dz, Ho, Wo, co, q);
    int64_t dz_rs = (int64_t)(Wo + 2 * q) * co * LN;
    ae_conv3_valid(dfast, dzb, dz_rs, H, W, co, ci, wt, NULL, AE_ACT_LINEAR);
    ae_conv3_valid_scalar(dport, dzb, dz_rs, H, W, co, ci, wt, NULL, AE_ACT_LINEAR);
    snprintf(name, sizeof name, "data grad %dx%d %d->%d pad %d", H, W, ci, co, pad);
    close_all(name, dfast, dref, nin);
    close_all(name, dport, dref, nin);

    /* weight gradient lanes, accumulated on top of existing values */
    float *wl_ref = malloc(4 * nw * LN), *wl_fast = malloc(4 * nw * LN), *wl_port = malloc(4 * nw * LN);
    float *bl_ref = malloc(4 * co * LN), *bl_fast = malloc(4 * co * LN), *bl_port = malloc(4 * co * LN);
    for (size_t i = 0; i < nw * LN; i++) wl_ref[i] = wl_fast[i] = wl_port[i] = frand();
    for (size_t i = 0; i < (size_t)co * LN; i++) bl_ref[i] = bl_fast[i] = bl_port[i] = frand();
    ae_conv_backward_weights(wl_ref, bl_ref, x, dz, H, W, ci, co, pad);
    ae_conv3_wgrad(wl_fast, bl_fast, xb, in_rs, dz, (int64_t)Wo * co * LN, Ho, Wo, ci, co);
    ae_conv3_wgrad_scalar(wl_port, bl_port, xb, in_rs, dz, (int64_t)Wo * co * LN, Ho, Wo, ci, co);
    snprintf(name, sizeof name, "weight grad %dx%d %d->%d pad %d", H, W, ci, co, pad);
    close_all(name, wl_fast, wl_ref, nw * LN);
    close_all(name, wl_port, wl_ref, nw * LN);
    close_all(name, bl_fast, bl_ref, (size_t)co * LN);
    close_all(name, bl_port, bl_ref, (size_t)co * LN);

    free(x); free(w); free(b); free(dz); free(ref); free(fast); free(port); free(xb);
    free(dref); free(dfast); free(dport); free(wt); free(dzb);
    free(wl_ref); free(wl_fast); free(wl_port); free(bl_ref); free(bl_fast); free(bl_port);
}

int main(void)
{
    printf("conv kernels: %s\n", ae_simd_avx512() ? "AVX-512" : ae_simd_avx2() ? "AVX2" : "portable");
    /* The seed's conv model, layer by layer. */
    check_shape(28, 28, 1, 16, 1, 1);
    check_shape(14, 14, 16, 8, 1, 1);
    check_shape(7, 7, 8, 8, 1, 1);
    check_shape(4, 4, 8, 8, 1, 1);
    check_shape(8, 8, 8, 8, 1, 1);
    check_shape(16, 16, 8, 16, 0, 1);
    check_shape(28, 28, 16, 1, 1, 0);
    /* Odd shapes: channel counts without an AVX-512 tile, widths that leave
     * remainders in every tile. */
    check_shape(5, 11, 3, 5, 1, 0);
    check_shape(6, 9, 2, 8, 0, 1);
    check_shape(5, 31, 16, 1, 1, 1);
    check_shape(3, 3, 7, 16, 1, 0);
    return check_summary("test_ae_conv");
}
