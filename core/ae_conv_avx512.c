/*
 * ae_conv_avx512.c - AVX-512 kernels of the 3x3 convolutions in the blocked
 * layout (H, W, C, 16): the valid correlation (used for the forward pass
 * over zero-bordered inputs and for the data gradient over zero-bordered
 * output gradients with flipped weights) and the weight gradient.
 *
 * Owns only these two inner loops and their register tiling:
 *  - correlation: a tile of P output pixels x CO output channels lives in
 *    P*CO zmm accumulators; each (tap, input channel) loads P input vectors
 *    (16 images each) and broadcasts CO weights.  CO = 16: P = 1; CO = 8:
 *    P = 3; CO = 1: P = 14.  Other channel counts use the portable kernel.
 *  - weight gradient: for one tap and a group of NI input channels, NI*CO
 *    accumulators of per-image partial sums run along an output row.
 * The 16 lanes of a weight gradient are summed once per batch.  Compiled
 * with target attributes; called only when ae_simd_avx512().
 */
#include <immintrin.h>

#include "ae_kernels.h"

#define TGT __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,avx2")))
#define L 16

/* One tile of P pixels x CO channels of the valid correlation. */
#define DEFINE_CORR(NAME, P, CO)                                                                  \
    TGT static void NAME(float *out, const float *in, int64_t in_rs, int Cin, const float *w,   \
                         const float *b, int relu)                                               \
    {                                                                                            \
        __m512 acc[P][CO];                                                                       \
        for (int o = 0; o < CO; o++) {                                                           \
            __m512 bv = _mm512_set1_ps(b ? b[o] : 0.f);                                          \
            for (int p = 0; p < P; p++) acc[p][o] = bv;                                          \
        }                                                                                        \
        for (int ky = 0; ky < 3; ky++)                                                           \
            for (int kx = 0; kx < 3; kx++) {                                                     \
                const float *ip = in + ky * in_rs + (int64_t)kx * Cin * L;                       \
                const float *wp = w + (ky * 3 + kx) * Cin * CO;                                  \
                for (int i = 0; i < Cin; i++) {                                                  \
                    __m512 x[P];                                                                 \
                    for (int p = 0; p < P; p++) x[p] = _mm512_loadu_ps(ip + ((int64_t)p * Cin + i) * L); \
                    for (int o = 0; o < CO; o++) {                                               \
                        __m512 wv = _mm512_set1_ps(wp[i * CO + o]);                              \
                        for (int p = 0; p < P; p++) acc[p][o] = _mm512_fmadd_ps(x[p], wv, acc[p][o]); \
                    }                                                                            \
                }                                                                                \
            }                                                                                    \
        for (int p = 0; p < P; p++)                                                              \
            for (int o = 0; o < CO; o++) {                                                       \
                __m512 v = relu ? _mm512_max_ps(acc[p][o], _mm512_setzero_ps()) : acc[p][o];     \
                _mm512_storeu_ps(out + ((int64_t)p * CO + o) * L, v);                             \
            }                                                                                    \
    }

DEFINE_CORR(corr_p1_c16, 1, 16)
DEFINE_CORR(corr_p3_c8, 3, 8)
DEFINE_CORR(corr_p2_c8, 2, 8)
DEFINE_CORR(corr_p1_c8, 1, 8)
DEFINE_CORR(corr_p14_c1, 14, 1)
DEFINE_CORR(corr_p4_c1, 4, 1)
DEFINE_CORR(corr_p1_c1, 1, 1)

TGT bool ae_conv3_valid_avx512(float *out, const float *in, int64_t in_rs, int Ho, int Wo, int Cin,
                           int Cout, const float *w, const float *b, int relu)
{
    if (Cout != 16 && Cout != 8 && Cout != 1) return false;
    int64_t out_px = (int64_t)Cout * L, in_px = (int64_t)Cin * L;
    for (int y = 0; y < Ho; y++) {
        float *orow = out + (int64_t)y * Wo * out_px;
        const float *irow = in + (int64_t)y * in_rs;
        int x = 0;
        if (Cout == 16) {
            for (; x < Wo; x++) corr_p1_c16(orow + x * out_px, irow + x * in_px, in_rs, Cin, w, b, relu);
        } else if (Cout == 8) {
            for (; x + 3 <= Wo; x += 3) corr_p3_c8(orow + x * out_px, irow + x * in_px, in_rs, Cin, w, b, relu);
            if (Wo - x == 2) corr_p2_c8(orow + x * out_px, irow + x * in_px, in_rs, Cin, w, b, relu);
            if (Wo - x == 1) corr_p1_c8(orow + x * out_px, irow + x * in_px, in_rs, Cin, w, b, relu);
        } else {
            for (; x + 14 <= Wo; x += 14) corr_p14_c1(orow + x * out_px, irow + x * in_px, in_rs, Cin, w, b, relu);
            for (; x + 4 <= Wo; x += 4) corr_p4_c1(orow + x * out_px, irow + x * in_px, in_rs, Cin, w, b, relu);
            for (; x < Wo; x++) corr_p1_c1(orow + x * out_px, irow + x * in_px, in_rs, Cin, w, b, relu);
        }
    }
    return true;
}

/* Weight gradient for one tap (ky, kx) and input channels i0..i0+NI over
 * output rows y0..y1: acc[i][o] += in[y+ky][x+kx][i0+i] * dz[y][x][o]. */
#define DEFINE_WGRAD(NAME, NI, CO)                                                                \
    TGT static void NAME(float *dwl, const float *in, int64_t in_rs, const float *dz, int64_t dz_rs, \
                         int y0, int y1, int Wo, int Cin, int ky, int kx, int i0)                  \
    {                                                                                              \
        __m512 acc[NI][CO];                                                                        \
        float *dst = dwl + ((int64_t)(ky * 3 + kx) * Cin + i0) * CO * L;                           \
        for (int i = 0; i < NI; i++)                                                               \
            for (int o = 0; o < CO; o++) acc[i][o] = _mm512_loadu_ps(dst + (i * CO + o) * L);       \
        for (int y = y0; y < y1; y++) {                                                            \
            const float *ip = in + (int64_t)(y + ky) * in_rs + ((int64_t)kx * Cin + i0) * L;       \
            const float *dp = dz + (int64_t)y * dz_rs;                                             \
            for (int x = 0; x < Wo; x++) {                                                         \
                __m512 xv[NI];                                                                     \
                for (int i = 0; i < NI; i++) xv[i] = _mm512_loadu_ps(ip + ((int64_t)x * Cin + i) * L); \
                for (int o = 0; o < CO; o++) {                                                     \
                    __m512 d = _mm512_loadu_ps(dp + ((int64_t)x * CO + o) * L);                     \
                    for (int i = 0; i < NI; i++) acc[i][o] = _mm512_fmadd_ps(xv[i], d, acc[i][o]); \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
        for (int i = 0; i < NI; i++)                                                               \
            for (int o = 0; o < CO; o++) _mm512_storeu_ps(dst + (i * CO + o) * L, acc[i][o]);       \
    }

DEFINE_WGRAD(wgrad_i1_c16, 1, 16)
DEFINE_WGRAD(wgrad_i3_c8, 3, 8)
DEFINE_WGRAD(wgrad_i2_c8, 2, 8)
DEFINE_WGRAD(wgrad_i1_c8, 1, 8)
DEFINE_WGRAD(wgrad_i16_c1, 16, 1)
DEFINE_WGRAD(wgrad_i1_c1, 1, 1)

TGT bool ae_conv3_wgrad_avx512(float *dwl, float *dbl, const float *in, int64_t in_rs, const float *dz,
                           int64_t dz_rs, int Ho, int Wo, int Cin, int Cout)
{
    if (Cout != 16 && Cout != 8 && Cout != 1) return false;
    /* The 1x16 and 16x1 tiles load a vector per FMA, so they are bound by
     * L2 bandwidth when every (tap, channel) pass streams the whole image
     * (a 28x28x16 dz is 800 KB per block).  For them, go in bands of rows
     * that fit in L1 (about 24 KB) and run all passes over a band before the
     * next; this made those three kernels 1.3-1.5x faster.  The 3x8 tile
     * (11 loads per 24 FMAs) is faster over whole images. */
    int64_t row_bytes = (int64_t)Wo * (Cout + 3 * Cin) * L * (int64_t)sizeof(float);
    int band = Cout == 8 ? Ho : (int)(24 * 1024 / row_bytes);
    if (band < 1) band = 1;
    for (int y0 = 0; y0 < Ho; y0 += band) {
        int y1 = y0 + band < Ho ? y0 + band : Ho;
        for (int t = 0; t < 9; t++) {
            int ky = t / 3, kx = t % 3, i = 0;
            if (Cout == 16) {
                for (; i < Cin; i++) wgrad_i1_c16(dwl, in, in_rs, dz, dz_rs, y0, y1, Wo, Cin, ky, kx, i);
            } else if (Cout == 8) {
                for (; i + 3 <= Cin; i += 3) wgrad_i3_c8(dwl, in, in_rs, dz, dz_rs, y0, y1, Wo, Cin, ky, kx, i);
                if (Cin - i == 2) wgrad_i2_c8(dwl, in, in_rs, dz, dz_rs, y0, y1, Wo, Cin, ky, kx, i);
                if (Cin - i == 1) wgrad_i1_c8(dwl, in, in_rs, dz, dz_rs, y0, y1, Wo, Cin, ky, kx, i);
            } else {
                for (; i + 16 <= Cin; i += 16)
                    wgrad_i16_c1(dwl, in, in_rs, dz, dz_rs, y0, y1, Wo, Cin, ky, kx, i);
                for (; i < Cin; i++) wgrad_i1_c1(dwl, in, in_rs, dz, dz_rs, y0, y1, Wo, Cin, ky, kx, i);
            }
        }
    }
    /* bias: db[o] += dz[y][x][o] */
    for (int o = 0; o < Cout; o++) {
        __m512 acc = _mm512_loadu_ps(dbl + o * L);
        for (int y = 0; y < Ho; y++)
            for (int x = 0; x < Wo; x++)
                acc = _mm512_add_ps(acc, _mm512_loadu_ps(dz + (int64_t)y * dz_rs + ((int64_t)x * Cout + o) * L));
        _mm512_storeu_ps(dbl + o * L, acc);
    }
    return true;
}
