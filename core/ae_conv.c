/*
 * ae_conv.c - 3x3 convolutions in the blocked layout (H, W, C, 16).
 *
 * Owns two sets of kernels:
 *  - the reference ones (ae_conv_forward/backward_data/backward_weights),
 *    straightforward loops over unpadded tensors that clip the taps at the
 *    borders; the tests and benchmarks check the fast path against them;
 *  - the fast path the executor uses (ae_conv3_valid, ae_conv3_wgrad,
 *    ae_conv3_flip): every convolution is a *valid* 3x3 correlation over a
 *    zero-bordered input, so no kernel has border cases.  The forward pass
 *    reads an input stored with a 1-pixel zero border (same padding); the
 *    data gradient is the valid correlation of dz stored with a 2 - pad
 *    border and the flipped, transposed weights.  These dispatch to
 *    ae_conv_avx512.c when the CPU has AVX-512; the portable loops here keep
 *    the 16 images innermost so a compiler vectorises them too.
 *
 * Backward maths (NOTES.md): out[y][x][o] = b[o] + sum_{ky,kx,i}
 * w[ky][kx][i][o] in[y+ky-p][x+kx-p][i]; din[u][v][i] = sum over (y, x) with
 * u = y+ky-p, v = x+kx-p of w[ky][kx][i][o] dz[y][x][o]; dw[ky][kx][i][o] =
 * sum_{y,x} in[y+ky-p][x+kx-p][i] dz[y][x][o].
 */
#include <string.h>

#include "ae_kernels.h"

#define L AE_LANES

void ae_conv_forward(float *out, const float *in, const float *w, const float *b, int H, int W,
                     int Cin, int Cout, int pad, enum ae_act act)
{
    int Ho = H + 2 * pad - 2, Wo = W + 2 * pad - 2;
    for (int y = 0; y < Ho; y++) {
        for (int x = 0; x < Wo; x++) {
            float acc[64][L];
            for (int o = 0; o < Cout; o++)
                for (int l = 0; l < L; l++) acc[o][l] = b[o];
            for (int ky = 0; ky < 3; ky++) {
                int iy = y + ky - pad;
                if (iy < 0 || iy >= H) continue;
                for (int kx = 0; kx < 3; kx++) {
                    int ix = x + kx - pad;
                    if (ix < 0 || ix >= W) continue;
                    const float *ip = in + ((size_t)iy * W + ix) * Cin * L;
                    const float *wp = w + (size_t)(ky * 3 + kx) * Cin * Cout;
                    for (int i = 0; i < Cin; i++)
                        for (int o = 0; o < Cout; o++) {
                            float wv = wp[i * Cout + o];
                            for (int l = 0; l < L; l++) acc[o][l] += wv * ip[i * L + l];
                        }
                }
            }
            float *op = out + ((size_t)y * Wo + x) * Cout * L;
            for (int o = 0; o < Cout; o++)
                for (int l = 0; l < L; l++) {
                    float v = acc[o][l];
                    if (act == AE_ACT_RELU && !(v > 0.f)) v = 0.f;
                    op[o * L + l] = v;
                }
        }
    }
}

void ae_conv_backward_data(float *din, const float *dz, const float *w, int H, int W, int Cin,
                           int Cout, int pad)
{
    int Ho = H + 2 * pad - 2, Wo = W + 2 * pad - 2;
    for (int u = 0; u < H; u++) {
        for (int v = 0; v < W; v++) {
            float acc[64][L];
            memset(acc, 0, sizeof(float) * (size_t)Cin * L);
            for (int ky = 0; ky < 3; ky++) {
                int y = u - ky + pad;
                if (y < 0 || y >= Ho) continue;
                for (int kx = 0; kx < 3; kx++) {
                    int x = v - kx + pad;
                    if (x < 0 || x >= Wo) continue;
                    const float *dp = dz + ((size_t)y * Wo + x) * Cout * L;
                    const float *wp = w + (size_t)(ky * 3 + kx) * Cin * Cout;
                    for (int i = 0; i < Cin; i++)
                        for (int o = 0; o < Cout; o++) {
                            float wv = wp[i * Cout + o];
                            for (int l = 0; l < L; l++) acc[i][l] += wv * dp[o * L + l];
                        }
                }
            }
            memcpy(din + ((size_t)u * W + v) * Cin * L, acc, sizeof(float) * (size_t)Cin * L);
        }
    }
}

void ae_conv_backward_weights(float *dw_lanes, float *db_lanes, const float *in, const float *dz,
                              int H, int W, int Cin, int Cout, int pad)
{
    int Ho = H + 2 * pad - 2, Wo = W + 2 * pad - 2;
    for (int y = 0; y < Ho; y++) {
        for (int x = 0; x < Wo; x++) {
            const float *dp = dz + ((size_t)y * Wo + x) * Cout * L;
            for (int o = 0; o < Cout; o++)
                for (int l = 0; l < L; l++) db_lanes[o * L + l] += dp[o * L + l];
            for (int ky = 0; ky < 3; ky++) {
                int iy = y + ky - pad;
                if (iy < 0 || iy >= H) continue;
                for (int kx = 0; kx < 3; kx++) {
                    int ix = x + kx - pad;
                    if (ix < 0 || ix >= W) continue;
                    const float *ip = in + ((size_t)iy * W + ix) * Cin * L;
                    float *wp = dw_lanes + (size_t)(ky * 3 + kx) * Cin * Cout * L;
                    for (int i = 0; i < Cin; i++)
                        for (int o = 0; o < Cout; o++)
                            for (int l = 0; l < L; l++)
                                wp[(i * Cout + o) * L + l] += ip[i * L + l] * dp[o * L + l];
                }
            }
        }
    }
}

void ae_lanes_sum(float *out, const float *lanes, int64_t n)
{
    for (int64_t k = 0; k < n; k++) {
        float s = 0.f;
        for (int l = 0; l < L; l++) s += lanes[k * L + l];
        out[k] = s;
    }
}

void ae_lanes_reduce(float *out, const float *lanes, int64_t n)
{
    for (int64_t k = 0; k < n; k++) {
        float s = 0.f;
        for (int l = 0; l < L; l++) s += lanes[k * L + l];
        out[k] += s;
    }
}

/* ---- the fast path: valid correlation over zero-bordered inputs ------- */

static void conv3_valid_c(float *out, const float *in, int64_t in_rs, int Ho, int Wo, int Cin,
                          int Cout, const float *w, const float *b, int relu)
{
    for (int y = 0; y < Ho; y++)
        for (int x = 0; x < Wo; x++) {
            float acc[64][L];
            for (int o = 0; o < Cout; o++)
                for (int l = 0; l < L; l++) acc[o][l] = b ? b[o] : 0.f;
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++) {
                    const float *ip = in + (int64_t)(y + ky) * in_rs + (int64_t)(x + kx) * Cin * L;
                    const float *wp = w + (ky * 3 + kx) * Cin * Cout;
                    for (int i = 0; i < Cin; i++)
                        for (int o = 0; o < Cout; o++) {
                            float wv = wp[i * Cout + o];
                            for (int l = 0; l < L; l++) acc[o][l] += ip[i * L + l] * wv;
                        }
                }
            float *op = out + ((int64_t)y * Wo + x) * Cout * L;
            for (int o = 0; o < Cout; o++)
                for (int l = 0; l < L; l++) {
                    float v = acc[o][l];
                    op[o * L + l] = relu && !(v > 0.f) ? 0.f : v;
                }
        }
}

void ae_conv3_valid_scalar(float *out, const float *in, int64_t in_rs, int Ho, int Wo, int Cin,
                           int Cout, const float *w, const float *b, enum ae_act act)
{
    conv3_valid_c(out, in, in_rs, Ho, Wo, Cin, Cout, w, b, act == AE_ACT_RELU);
}

static void conv3_wgrad_c(float *dwl, float *dbl, const float *in, int64_t in_rs, const float *dz,
                          int64_t dz_rs, int Ho, int Wo, int Cin, int Cout)
{
    for (int t = 0; t < 9; t++) {
        int ky = t / 3, kx = t % 3;
        for (int i = 0; i < Cin; i++) {
            float *dst = dwl + ((int64_t)t * Cin + i) * Cout * L;
            for (int y = 0; y < Ho; y++)
                for (int x = 0; x < Wo; x++) {
                    const float *ip = in + (int64_t)(y + ky) * in_rs + ((int64_t)(x + kx) * Cin + i) * L;
                    const float *dp = dz + (int64_t)y * dz_rs + (int64_t)x * Cout * L;
                    for (int o = 0; o < Cout; o++)
                        for (int l = 0; l < L; l++) dst[o * L + l] += ip[l] * dp[o * L + l];
                }
        }
    }
    for (int o = 0; o < Cout; o++)
        for (int y = 0; y < Ho; y++)
            for (int x = 0; x < Wo; x++)
                for (int l = 0; l < L; l++) dbl[o * L + l] += dz[(int64_t)y * dz_rs + ((int64_t)x * Cout + o) * L + l];
}

void ae_conv3_wgrad_scalar(float *dwl, float *dbl, const float *in, int64_t in_rs, const float *dz,
                           int64_t dz_rs, int Ho, int Wo, int Cin, int Cout)
{
    conv3_wgrad_c(dwl, dbl, in, in_rs, dz, dz_rs, Ho, Wo, Cin, Cout);
}

void ae_conv3_flip(float *wt, const float *w, int Cin, int Cout)
{
    for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++)
            for (int i = 0; i < Cin; i++)
                for (int o = 0; o < Cout; o++)
                    wt[((ky * 3 + kx) * Cout + o) * Cin + i] = w[(((2 - ky) * 3 + (2 - kx)) * Cin + i) * Cout + o];
}
