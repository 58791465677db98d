/*
 * ae_conv_avx2.c - AVX2/FMA kernels of the 3x3 convolutions in the blocked
 * layout (H, W, C, 16), for CPUs without AVX-512.
 *
 * Owns the same two inner loops as ae_conv_avx512.c, with AVX2's 16 ymm
 * registers: a 16-image vector is handled as two halves of 8, one after the
 * other, so a tile of P pixels x CO channels needs P*CO accumulators:
 * correlation CO = 8: P = 1; CO = 16: two passes of 8 channels; CO = 1:
 * P = 12; weight gradient NI x CO = 1 x 8 (CO = 16: two passes) and 12 x 1.
 * Called only when the CPU has AVX2 and FMA (ae_simd_avx2()).
 */
#include <immintrin.h>

#include "ae_kernels.h"

#define TGT __attribute__((target("avx2,fma")))
#define L 16

/* P pixels x CO (<= 8) channels starting at channel o0, lanes h*8..h*8+7. */
#define DEFINE_CORR2(NAME, P, CO)                                                                  \
    TGT static void NAME(float *out, const float *in, int64_t in_rs, int Cin, int Cout, int o0,    \
                         const float *w, const float *b, int relu, int h)                          \
    {                                                                                              \
        __m256 acc[P][CO];                                                                         \
        for (int o = 0; o < CO; o++) {                                                             \
            __m256 bv = _mm256_set1_ps(b ? b[o0 + o] : 0.f);                                       \
            for (int p = 0; p < P; p++) acc[p][o] = bv;                                            \
        }                                                                                          \
        for (int ky = 0; ky < 3; ky++)                                                             \
            for (int kx = 0; kx < 3; kx++) {                                                       \
                const float *ip = in + ky * in_rs + (int64_t)kx * Cin * L + h * 8;                 \
                const float *wp = w + (ky * 3 + kx) * Cin * Cout + o0;                             \
                for (int i = 0; i < Cin; i++) {                                                    \
                    __m256 x[P];                                                                   \
                    for (int p = 0; p < P; p++) x[p] = _mm256_loadu_ps(ip + ((int64_t)p * Cin + i) * L); \
                    for (int o = 0; o < CO; o++) {                                                 \
                        __m256 wv = _mm256_broadcast_ss(wp + i * Cout + o);                        \
                        for (int p = 0; p < P; p++) acc[p][o] = _mm256_fmadd_ps(x[p], wv, acc[p][o]); \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
        for (int p = 0; p < P; p++)                                                                \
            for (int o = 0; o < CO; o++) {                                                         \
                __m256 v = relu ? _mm256_max_ps(acc[p][o], _mm256_setzero_ps()) : acc[p][o];       \
                _mm256_storeu_ps(out + ((int64_t)p * Cout + o0 + o) * L + h * 8, v);               \
            }                                                                                      \
    }

DEFINE_CORR2(corr2_p1_c8, 1, 8)
DEFINE_CORR2(corr2_p12_c1, 12, 1)
DEFINE_CORR2(corr2_p1_c1, 1, 1)

TGT bool ae_conv3_valid_avx2(float *out, const float *in, int64_t in_rs, int Ho, int Wo, int Cin,
                             int Cout, const float *w, const float *b, int relu)
{
    if (Cout != 16 && Cout != 8 && Cout != 1) return false;
    int64_t out_px = (int64_t)Cout * L, in_px = (int64_t)Cin * L;
    for (int y = 0; y < Ho; y++) {
        float *orow = out + (int64_t)y * Wo * out_px;
        const float *irow = in + (int64_t)y * in_rs;
        for (int h = 0; h < 2; h++) {
            if (Cout == 1) {
                int x = 0;
                for (; x + 12 <= Wo; x += 12)
                    corr2_p12_c1(orow + x * out_px, irow + x * in_px, in_rs, Cin, 1, 0, w, b, relu, h);
                for (; x < Wo; x++) corr2_p1_c1(orow + x * out_px, irow + x * in_px, in_rs, Cin, 1, 0, w, b, relu, h);
            } else {
                for (int x = 0; x < Wo; x++)
                    for (int o0 = 0; o0 < Cout; o0 += 8)
                        corr2_p1_c8(orow + x * out_px, irow + x * in_px, in_rs, Cin, Cout, o0, w, b, relu, h);
            }
        }
    }
    return true;
}

/* Weight gradient, one tap, NI input channels from i0, CO (<= 8) output
 * channels from o0, lanes of half h, over output rows y0..y1. */
#define DEFINE_WGRAD2(NAME, NI, CO)                                                                \
    TGT static void NAME(float *dwl, const float *in, int64_t in_rs, const float *dz, int64_t dz_rs, \
                         int y0, int y1, int Wo, int Cin, int Cout, int ky, int kx, int i0, int o0, \
                         int h)                                                                    \
    {                                                                                              \
        __m256 acc[NI][CO];                                                                        \
        float *dst = dwl + ((int64_t)(ky * 3 + kx) * Cin + i0) * Cout * L + h * 8;                 \
        for (int i = 0; i < NI; i++)                                                               \
            for (int o = 0; o < CO; o++) acc[i][o] = _mm256_loadu_ps(dst + ((int64_t)i * Cout + o0 + o) * L); \
        for (int y = y0; y < y1; y++) {                                                            \
            const float *ip = in + (int64_t)(y + ky) * in_rs + ((int64_t)kx * Cin + i0) * L + h * 8; \
            const float *dp = dz + (int64_t)y * dz_rs + (int64_t)o0 * L + h * 8;                   \
            for (int x = 0; x < Wo; x++) {                                                         \
                __m256 xv[NI];                                                                     \
                for (int i = 0; i < NI; i++) xv[i] = _mm256_loadu_ps(ip + ((int64_t)x * Cin + i) * L); \
                for (int o = 0; o < CO; o++) {                                                     \
                    __m256 d = _mm256_loadu_ps(dp + ((int64_t)x * Cout + o) * L);                  \
                    for (int i = 0; i < NI; i++) acc[i][o] = _mm256_fmadd_ps(xv[i], d, acc[i][o]); \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
        for (int i = 0; i < NI; i++)                                                               \
            for (int o = 0; o < CO; o++) _mm256_storeu_ps(dst + ((int64_t)i * Cout + o0 + o) * L, acc[i][o]); \
    }

DEFINE_WGRAD2(wgrad2_i1_c8, 1, 8)
DEFINE_WGRAD2(wgrad2_i12_c1, 12, 1)
DEFINE_WGRAD2(wgrad2_i1_c1, 1, 1)

TGT bool ae_conv3_wgrad_avx2(float *dwl, float *dbl, const float *in, int64_t in_rs, const float *dz,
                             int64_t dz_rs, int Ho, int Wo, int Cin, int Cout)
{
    if (Cout != 16 && Cout != 8 && Cout != 1) return false;
    int64_t row_bytes = (int64_t)Wo * (Cout + 3 * Cin) * L * (int64_t)sizeof(float);
    int band = (int)(24 * 1024 / row_bytes);
    if (band < 1) band = 1;
    for (int y0 = 0; y0 < Ho; y0 += band) {
        int y1 = y0 + band < Ho ? y0 + band : Ho;
        for (int h = 0; h < 2; h++)
            for (int t = 0; t < 9; t++) {
                int ky = t / 3, kx = t % 3;
                if (Cout == 1) {
                    int i = 0;
                    for (; i + 12 <= Cin; i += 12)
                        wgrad2_i12_c1(dwl, in, in_rs, dz, dz_rs, y0, y1, Wo, Cin, 1, ky, kx, i, 0, h);
                    for (; i < Cin; i++) wgrad2_i1_c1(dwl, in, in_rs, dz, dz_rs, y0, y1, Wo, Cin, 1, ky, kx, i, 0, h);
                } else {
                    for (int i = 0; i < Cin; i++)
                        for (int o0 = 0; o0 < Cout; o0 += 8)
                            wgrad2_i1_c8(dwl, in, in_rs, dz, dz_rs, y0, y1, Wo, Cin, Cout, ky, kx, i, o0, h);
                }
            }
    }
    for (int o = 0; o < Cout; o++)
        for (int h = 0; h < 2; h++) {
            __m256 acc = _mm256_loadu_ps(dbl + o * L + h * 8);
            for (int y = 0; y < Ho; y++)
                for (int x = 0; x < Wo; x++)
                    acc = _mm256_add_ps(acc, _mm256_loadu_ps(dz + (int64_t)y * dz_rs + ((int64_t)x * Cout + o) * L + h * 8));
            _mm256_storeu_ps(dbl + o * L + h * 8, acc);
        }
    return true;
}
