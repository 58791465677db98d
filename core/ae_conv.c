/*
 * ae_conv.c - 3x3 convolutions in the blocked layout (H, W, C, 16).
 *
 * Owns the portable kernels: forward, data gradient, weight gradient, each
 * written as loops whose innermost dimension is the 16 images of a block,
 * so the compiler vectorises them.  Padding is handled by clipping the tap
 * range at the borders rather than by padded copies.
 *
 * Backward maths (NOTES.md): out[y][x][o] = b[o] + sum_{ky,kx,i}
 * w[ky][kx][i][o] in[y+ky-p][x+kx-p][i]; din[u][v][i] = sum over (y, x) with
 * u = y+ky-p, v = x+kx-p of w[ky][kx][i][o] dz[y][x][o]; dw[ky][kx][i][o] =
 * sum_{y,x} in[y+ky-p][x+kx-p][i] dz[y][x][o].
 */
#include <string.h>

#include "ae_ops.h"

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

void ae_lanes_reduce(float *out, const float *lanes, int64_t n)
{
    for (int64_t k = 0; k < n; k++) {
        float s = 0.f;
        for (int l = 0; l < L; l++) s += lanes[k * L + l];
        out[k] += s;
    }
}
