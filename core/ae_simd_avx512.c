/*
 * ae_simd_avx512.c - AVX-512 versions of the elementwise kernels: fused
 * sigmoid + BCE, sigmoid, relu backward, Adam, pixel scaling with noise.
 *
 * Owns only vector code; the maths and the operation order are those of
 * the scalar kernels (ae_loss.c, ae_adam.c, ae_vmath.h), written lane-wise,
 * so results are bit-identical.  Compiled with target attributes, so the
 * file builds with -Dnative=false and is only called when the CPU has
 * AVX-512 (ae_simd_avx512()).
 */
#include <immintrin.h>
#include <string.h>

#include "ae_kernels.h"
#include "ae_vmath.h"

#define TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,avx2")))

/* ---- vector exp / log / cos, mirroring ae_vmath.h ----------------------- */

TARGET static inline __m512 v_exp(__m512 x)
{
    __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(AE_LOG2E)), _MM_FROUND_TO_NEAREST_INT);
    __m512 r = _mm512_fmadd_ps(_mm512_sub_ps(_mm512_setzero_ps(), k), _mm512_set1_ps(AE_LN2_HI), x);
    r = _mm512_fmadd_ps(_mm512_sub_ps(_mm512_setzero_ps(), k), _mm512_set1_ps(AE_LN2_LO), r);
    __m512 p = _mm512_set1_ps(1.f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
    __m512i ki = _mm512_cvtps_epi32(k);
    __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(ki, _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
}

TARGET static inline __m512 v_log(__m512 x)
{
    __m512i u = _mm512_castps_si512(x);
    __m512i e = _mm512_srai_epi32(_mm512_sub_epi32(u, _mm512_set1_epi32(0x3F3504F3)), 23);
    __m512 m = _mm512_castsi512_ps(_mm512_sub_epi32(u, _mm512_slli_epi32(e, 23)));
    __m512 one = _mm512_set1_ps(1.f);
    __m512 s = _mm512_div_ps(_mm512_sub_ps(m, one), _mm512_add_ps(m, one));
    __m512 s2 = _mm512_mul_ps(s, s);
    __m512 p = _mm512_set1_ps(1.f / 9);
    p = _mm512_fmadd_ps(p, s2, _mm512_set1_ps(1.f / 7));
    p = _mm512_fmadd_ps(p, s2, _mm512_set1_ps(1.f / 5));
    p = _mm512_fmadd_ps(p, s2, _mm512_set1_ps(1.f / 3));
    p = _mm512_mul_ps(p, s2);
    __m512 t = _mm512_mul_ps(_mm512_set1_ps(2.f), s);
    __m512 ef = _mm512_cvtepi32_ps(e);
    return _mm512_fmadd_ps(ef, _mm512_set1_ps(AE_LN2_HI),
                           _mm512_fmadd_ps(t, p, _mm512_fmadd_ps(ef, _mm512_set1_ps(AE_LN2_LO), t)));
}

TARGET static inline __m512 v_cos2pi(__m512 u)
{
    __m512 rn = _mm512_roundscale_ps(u, _MM_FROUND_TO_NEAREST_INT);
    __m512 a = _mm512_abs_ps(_mm512_sub_ps(u, rn));
    __m512 y = _mm512_mul_ps(_mm512_sub_ps(_mm512_set1_ps(0.25f), a), _mm512_set1_ps(6.28318530717958648f));
    __m512 y2 = _mm512_mul_ps(y, y);
    __m512 p = _mm512_set1_ps(-1.f / 6227020800.f);
    p = _mm512_fmadd_ps(p, y2, _mm512_set1_ps(1.f / 39916800.f));
    p = _mm512_fmadd_ps(p, y2, _mm512_set1_ps(-1.f / 362880.f));
    p = _mm512_fmadd_ps(p, y2, _mm512_set1_ps(1.f / 5040.f));
    p = _mm512_fmadd_ps(p, y2, _mm512_set1_ps(-1.f / 120.f));
    p = _mm512_fmadd_ps(p, y2, _mm512_set1_ps(1.f / 6.f));
    p = _mm512_mul_ps(p, y2);
    return _mm512_fnmadd_ps(y, p, y);
}

/* sigmoid as in ae_loss.c: t = min(|z|, 87), a = exp(-t), 1/(1+a) or a/(1+a). */
TARGET static inline __m512 v_sigmoid(__m512 z)
{
    __m512 t = _mm512_min_ps(_mm512_abs_ps(z), _mm512_set1_ps(87.f));
    __m512 a = v_exp(_mm512_sub_ps(_mm512_setzero_ps(), t));
    __m512 inv = _mm512_div_ps(_mm512_set1_ps(1.f), _mm512_add_ps(_mm512_set1_ps(1.f), a));
    __mmask16 neg = _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_mul_ps(inv, neg, a, inv);
}

/* One vector of ae_bce_sigmoid_avx512: stores p (and g), returns the
 * masked loss. */
TARGET static inline __m512 bce16(float *z, float *dz, const float *y, __mmask16 tail, __mmask16 live,
                                  __m512 scale)
{
    const __m512 eps = _mm512_set1_ps(1e-7f), one_m_eps = _mm512_set1_ps(1.f - 1e-7f);
    const __m512 one = _mm512_set1_ps(1.f), zero = _mm512_setzero_ps();
    __m512 zv = _mm512_maskz_loadu_ps(tail, z);
    __m512 yv = _mm512_maskz_loadu_ps(tail, y);
    __m512 p = v_sigmoid(zv);
    __m512 pc = _mm512_min_ps(_mm512_max_ps(p, eps), one_m_eps);
    __mmask16 inside = _mm512_cmp_ps_mask(p, eps, _CMP_GE_OQ) & _mm512_cmp_ps_mask(p, one_m_eps, _CMP_LE_OQ);
    __m512 g = _mm512_maskz_mul_ps(inside & live, _mm512_sub_ps(p, yv), scale);
    __m512 t2 = _mm512_mul_ps(_mm512_sub_ps(one, yv), v_log(_mm512_sub_ps(one, pc)));
    __m512 sum;
    if (_mm512_cmp_ps_mask(yv, zero, _CMP_NEQ_UQ) == 0)
        sum = t2; /* y = 0 everywhere: y log p is -0 and adds nothing */
    else
        sum = _mm512_add_ps(_mm512_mul_ps(yv, v_log(pc)), t2);
    _mm512_mask_storeu_ps(z, tail, p);
    if (dz) _mm512_mask_storeu_ps(dz, tail, g);
    return _mm512_maskz_sub_ps(live, zero, sum);
}

/* Add a vector's 16 float losses into the per-lane double sums. */
TARGET static inline void add_lanes(__m512d *lo, __m512d *hi, __m512 loss)
{
    *lo = _mm512_add_pd(*lo, _mm512_cvtps_pd(_mm512_castps512_ps256(loss)));
    *hi = _mm512_add_pd(*hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(loss, 1)));
}

TARGET double ae_bce_sigmoid_avx512(float *z, float *dz, const float *y, int64_t n, float grad_scale,
                                    int lanes)
{
    const __m512 scale = _mm512_set1_ps(grad_scale);
    const __mmask16 lane_mask = lanes >= 16 ? 0xFFFF : (__mmask16)((1u << lanes) - 1);
    /* per-lane sums in double, as the scalar code's acc[16] */
    __m512d acc_lo = _mm512_setzero_pd(), acc_hi = _mm512_setzero_pd();
    int64_t i = 0;
    /* Two independent vectors per step give the out-of-order core more to
     * overlap; their losses are added in order, so the sums are unchanged. */
    for (; i + 32 <= n; i += 32) {
        __m512 l0 = bce16(z + i, dz ? dz + i : NULL, y + i, 0xFFFF, lane_mask, scale);
        __m512 l1 = bce16(z + i + 16, dz ? dz + i + 16 : NULL, y + i + 16, 0xFFFF, lane_mask, scale);
        add_lanes(&acc_lo, &acc_hi, l0);
        add_lanes(&acc_lo, &acc_hi, l1);
    }
    for (; i < n; i += 16) {
        __mmask16 tail = n - i >= 16 ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        add_lanes(&acc_lo, &acc_hi, bce16(z + i, dz ? dz + i : NULL, y + i, tail, tail & lane_mask, scale));
    }
    double acc[16];
    _mm512_storeu_pd(acc, acc_lo);
    _mm512_storeu_pd(acc + 8, acc_hi);
    return ae_lane_sum16d(acc);
}

TARGET void ae_sigmoid_avx512(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 tail = n - i >= 16 ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(x + i, tail, v_sigmoid(_mm512_maskz_loadu_ps(tail, x + i)));
    }
}

TARGET void ae_relu_backward_avx512(float *dz, const float *dy, const float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 tail = n - i >= 16 ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 yv = _mm512_maskz_loadu_ps(tail, y + i);
        __mmask16 pos = _mm512_cmp_ps_mask(yv, _mm512_setzero_ps(), _CMP_GT_OQ);
        _mm512_mask_storeu_ps(dz + i, tail, _mm512_maskz_loadu_ps(tail & pos, dy + i));
    }
}

TARGET void ae_adam_update_avx512(float *w, float *m, float *v, const float *const *g, int k,
                                  int64_t n, const struct ae_adam_hp *hp)
{
    const __m512 b1 = _mm512_set1_ps(hp->beta1), b2 = _mm512_set1_ps(hp->beta2);
    const __m512 c1 = _mm512_set1_ps(1.f - hp->beta1), c2 = _mm512_set1_ps(1.f - hp->beta2);
    const __m512 lr = _mm512_set1_ps(hp->lr_t), eps = _mm512_set1_ps(hp->eps);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 tail = n - i >= 16 ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 gi = _mm512_maskz_loadu_ps(tail, g[0] + i);
        for (int c = 1; c < k; c++) gi = _mm512_add_ps(gi, _mm512_maskz_loadu_ps(tail, g[c] + i));
        __m512 mi = _mm512_add_ps(_mm512_mul_ps(b1, _mm512_maskz_loadu_ps(tail, m + i)), _mm512_mul_ps(c1, gi));
        __m512 vi = _mm512_add_ps(_mm512_mul_ps(b2, _mm512_maskz_loadu_ps(tail, v + i)),
                                  _mm512_mul_ps(c2, _mm512_mul_ps(gi, gi)));
        __m512 step = _mm512_div_ps(_mm512_mul_ps(lr, mi), _mm512_add_ps(_mm512_sqrt_ps(vi), eps));
        _mm512_mask_storeu_ps(m + i, tail, mi);
        _mm512_mask_storeu_ps(v + i, tail, vi);
        _mm512_mask_storeu_ps(w + i, tail, _mm512_sub_ps(_mm512_maskz_loadu_ps(tail, w + i), step));
    }
}

/* ---- pixels ------------------------------------------------------------ */

/* 8 x ae_mix64(key + c * golden) for counters c. */
TARGET static inline __m512i v_mix64(__m512i z)
{
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)), _mm512_set1_epi64((long long)0xBF58476D1CE4E5B9ull));
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)), _mm512_set1_epi64((long long)0x94D049BB133111EBull));
    return _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
}

/* 16 normals for counters base + 0..15, as ae_normal_scalar(ae_rng_at()). */
TARGET static inline __m512 v_normal16(uint64_t key, uint64_t base)
{
    const __m512i golden = _mm512_set1_epi64((long long)0x9E3779B97F4A7C15ull);
    __m512i c0 = _mm512_add_epi64(_mm512_set1_epi64((long long)base), _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7));
    __m512i c1 = _mm512_add_epi64(c0, _mm512_set1_epi64(8));
    __m512i k = _mm512_set1_epi64((long long)key);
    __m512i h0 = v_mix64(_mm512_add_epi64(k, _mm512_mullo_epi64(c0, golden)));
    __m512i h1 = v_mix64(_mm512_add_epi64(k, _mm512_mullo_epi64(c1, golden)));
    /* top 24 bits + 1 and low 24 bits of each 64-bit hash, as 16 x u32 */
    __m256i hi0 = _mm512_cvtepi64_epi32(_mm512_srli_epi64(h0, 40));
    __m256i hi1 = _mm512_cvtepi64_epi32(_mm512_srli_epi64(h1, 40));
    __m256i lo0 = _mm512_cvtepi64_epi32(_mm512_and_si512(h0, _mm512_set1_epi64(0xFFFFFF)));
    __m256i lo1 = _mm512_cvtepi64_epi32(_mm512_and_si512(h1, _mm512_set1_epi64(0xFFFFFF)));
    __m512i hi = _mm512_inserti64x4(_mm512_castsi256_si512(hi0), hi1, 1);
    __m512i lo = _mm512_inserti64x4(_mm512_castsi256_si512(lo0), lo1, 1);
    const __m512 ulp = _mm512_set1_ps(0x1.0p-24f);
    __m512 u1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(hi, _mm512_set1_epi32(1))), ulp);
    __m512 u2 = _mm512_mul_ps(_mm512_cvtepi32_ps(lo), ulp);
    __m512 r = _mm512_sqrt_ps(_mm512_mul_ps(_mm512_set1_ps(-2.f), v_log(u1)));
    return _mm512_mul_ps(r, v_cos2pi(u2));
}

TARGET void ae_pixels_row_avx512(float *x, float *target, const uint8_t *px, float noise_factor,
                                 uint64_t key, int64_t image)
{
    const __m512 d255 = _mm512_set1_ps(255.f), f = _mm512_set1_ps(noise_factor);
    const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.f);
    for (int p = 0; p < AE_IMAGE_PIXELS; p += 16) { /* 784 = 49 x 16 */
        __m512 v = _mm512_div_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const void *)(px + p)))), d255);
        _mm512_storeu_ps(target + p, v);
        if (noise_factor > 0.f) {
            __m512 nv = v_normal16(key, (uint64_t)image * AE_IMAGE_PIXELS + (uint64_t)p);
            __m512 s = _mm512_add_ps(v, _mm512_mul_ps(f, nv));
            /* clip as the scalar code: v < 0 ? 0 : (v > 1 ? 1 : v) */
            s = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(s, zero, _CMP_LT_OQ), s, zero);
            s = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(s, one, _CMP_GT_OQ), s, one);
            v = s;
        }
        _mm512_storeu_ps(x + p, v);
    }
}

/* ---- max pool and upsample, blocked layout ------------------------------ */

TARGET void ae_maxpool_forward_avx512(float *out, int out_pad, const float *in, int H, int W, int C)
{
    int Ho = (H + 1) / 2, Wo = (W + 1) / 2, rs = Wo + 2 * out_pad;
    int64_t cell = (int64_t)C * 16;
    out += ((int64_t)out_pad * rs + out_pad) * cell;
    for (int y = 0; y < Ho; y++)
        for (int x = 0; x < Wo; x++) {
            float *op = out + ((int64_t)y * rs + x) * cell;
            const float *p00 = in + ((int64_t)(2 * y) * W + 2 * x) * cell;
            bool right = 2 * x + 1 < W, down = 2 * y + 1 < H;
            for (int64_t k = 0; k < cell; k += 16) {
                /* same order as the scalar code: max(max(max(a, b), c), d) */
                __m512 m = _mm512_loadu_ps(p00 + k);
                if (right) m = _mm512_max_ps(_mm512_loadu_ps(p00 + cell + k), m);
                if (down) m = _mm512_max_ps(_mm512_loadu_ps(p00 + (int64_t)W * cell + k), m);
                if (right && down) m = _mm512_max_ps(_mm512_loadu_ps(p00 + (int64_t)W * cell + cell + k), m);
                _mm512_storeu_ps(op + k, m);
            }
        }
}

TARGET void ae_maxpool_backward_relu_avx512(float *din, const float *dout, const float *in,
                                            const float *out, int out_pad, int H, int W, int C)
{
    int Ho = (H + 1) / 2, Wo = (W + 1) / 2, rs = Wo + 2 * out_pad;
    int64_t cell = (int64_t)C * 16;
    out += ((int64_t)out_pad * rs + out_pad) * cell;
    for (int y = 0; y < Ho; y++)
        for (int x = 0; x < Wo; x++) {
            const float *op = out + ((int64_t)y * rs + x) * cell;
            const float *gp = dout + ((int64_t)y * Wo + x) * cell;
            int64_t at[4];
            int n = 0;
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++)
                    if (2 * y + dy < H && 2 * x + dx < W) at[n++] = ((int64_t)(2 * y + dy) * W + 2 * x + dx) * cell;
            for (int64_t k = 0; k < cell; k += 16) {
                __m512 o = _mm512_loadu_ps(op + k), g = _mm512_loadu_ps(gp + k);
                __mmask16 positive = _mm512_cmp_ps_mask(o, _mm512_setzero_ps(), _CMP_GT_OQ), taken = 0;
                for (int j = 0; j < n; j++) {
                    __mmask16 win = _mm512_cmp_ps_mask(_mm512_loadu_ps(in + at[j] + k), o, _CMP_EQ_OQ) & ~taken;
                    taken |= win;
                    _mm512_storeu_ps(din + at[j] + k, _mm512_maskz_mov_ps(win & positive, g));
                }
            }
        }
}

TARGET void ae_upsample_forward_avx512(float *out, int out_pad, const float *in, int H, int W, int C)
{
    int64_t cell = (int64_t)C * 16;
    int64_t rs = (int64_t)(2 * W + 2 * out_pad) * cell;
    out += out_pad * rs + out_pad * cell;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const float *ip = in + ((int64_t)y * W + x) * cell;
            float *o0 = out + (2 * y) * rs + 2 * x * cell, *o1 = o0 + rs;
            for (int64_t k = 0; k < cell; k += 16) {
                __m512 v = _mm512_loadu_ps(ip + k);
                _mm512_storeu_ps(o0 + k, v);
                _mm512_storeu_ps(o0 + cell + k, v);
                _mm512_storeu_ps(o1 + k, v);
                _mm512_storeu_ps(o1 + cell + k, v);
            }
        }
}

TARGET void ae_upsample_backward_avx512(float *din, const float *dout, int H, int W, int C)
{
    int64_t cell = (int64_t)C * 16, rs = (int64_t)2 * W * cell;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float *dp = din + ((int64_t)y * W + x) * cell;
            const float *a = dout + (2 * y) * rs + 2 * x * cell, *c = a + rs;
            for (int64_t k = 0; k < cell; k += 16) {
                /* (a + b) + (c + d), as the scalar code */
                __m512 ab = _mm512_add_ps(_mm512_loadu_ps(a + k), _mm512_loadu_ps(a + cell + k));
                __m512 cd = _mm512_add_ps(_mm512_loadu_ps(c + k), _mm512_loadu_ps(c + cell + k));
                _mm512_storeu_ps(dp + k, _mm512_add_ps(ab, cd));
            }
        }
}
