/*
 * ae_pool.c - max pooling 2x2 (same padding) and 2x nearest upsampling in
 * the blocked layout (H, W, C, 16).
 *
 * Owns these two resampling layers, forward and backward.  The pool's
 * backward recomputes which cell won from the saved input and output rather
 * than storing argmax indices: the first cell (row-major) equal to the max
 * wins, like TensorFlow and PyTorch.  It also applies the preceding relu's
 * backward (a winner of value 0 passes no gradient), since in every model
 * here a relu conv feeds each pool.
 *
 * These are the portable references; ae_kernels.c chooses between them and
 * the AVX-512 versions (ae_simd_avx512.c).
 */
#include <string.h>

#include "ae_kernels.h"

#define L AE_LANES

void ae_maxpool_forward_scalar(float *out, int out_pad, const float *in, int H, int W, int C)
{
    int Ho = (H + 1) / 2, Wo = (W + 1) / 2, rs = Wo + 2 * out_pad;
    out += ((size_t)out_pad * rs + out_pad) * C * L;
    for (int y = 0; y < Ho; y++)
        for (int x = 0; x < Wo; x++) {
            float *op = out + ((size_t)y * rs + x) * C * L;
            const float *p00 = in + ((size_t)(2 * y) * W + 2 * x) * C * L;
            memcpy(op, p00, sizeof(float) * (size_t)C * L);
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++) {
                    if ((dy == 0 && dx == 0) || 2 * y + dy >= H || 2 * x + dx >= W) continue;
                    const float *ip = in + ((size_t)(2 * y + dy) * W + 2 * x + dx) * C * L;
                    for (int k = 0; k < C * L; k++) op[k] = ip[k] > op[k] ? ip[k] : op[k];
                }
        }
}

void ae_maxpool_backward_relu_scalar(float *din, const float *dout, const float *in, const float *out,
                                     int out_pad, int H, int W, int C)
{
    int Ho = (H + 1) / 2, Wo = (W + 1) / 2, rs = Wo + 2 * out_pad;
    size_t cell = (size_t)C * L;
    out += ((size_t)out_pad * rs + out_pad) * cell;
    /* Cells of a window in row-major order; the innermost loops run over a
     * cell's C*16 values so a compiler vectorises them. */
    unsigned char taken[64 * L];
    for (int y = 0; y < Ho; y++)
        for (int x = 0; x < Wo; x++) {
            const float *op = out + ((size_t)y * rs + x) * cell;
            const float *gp = dout + ((size_t)y * Wo + x) * cell;
            memset(taken, 0, cell);
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++) {
                    int iy = 2 * y + dy, ix = 2 * x + dx;
                    if (iy >= H || ix >= W) continue;
                    size_t at = ((size_t)iy * W + ix) * cell;
                    for (size_t k = 0; k < cell; k++) {
                        int win = !taken[k] && in[at + k] == op[k];
                        taken[k] |= (unsigned char)win;
                        din[at + k] = (win && op[k] > 0.f) ? gp[k] : 0.f;
                    }
                }
        }
}

void ae_upsample_forward_scalar(float *out, int out_pad, const float *in, int H, int W, int C)
{
    size_t cell = (size_t)C * L;
    int rs = 2 * W + 2 * out_pad;
    out += ((size_t)out_pad * rs + out_pad) * cell;
    for (int y = 0; y < 2 * H; y++)
        for (int x = 0; x < 2 * W; x++)
            memcpy(out + ((size_t)y * rs + x) * cell, in + ((size_t)(y / 2) * W + x / 2) * cell,
                   sizeof(float) * cell);
}

void ae_upsample_backward_scalar(float *din, const float *dout, int H, int W, int C)
{
    size_t cell = (size_t)C * L;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float *dp = din + ((size_t)y * W + x) * cell;
            const float *a = dout + ((size_t)(2 * y) * 2 * W + 2 * x) * cell;
            const float *b = a + cell;
            const float *c = a + (size_t)2 * W * cell;
            const float *d = c + cell;
            for (size_t k = 0; k < cell; k++) dp[k] = (a[k] + b[k]) + (c[k] + d[k]);
        }
}
