/*
 * ae_simd_avx2.c - AVX2/FMA versions of the elementwise kernels (fused
 * sigmoid + BCE, sigmoid, relu backward, Adam) for CPUs without AVX-512.
 *
 * Owns only vector code, lane-wise copies of the scalar kernels' operations
 * in the same order (as ae_simd_avx512.c), so all three paths give the same
 * bits.  A 16-element group is two 8-lane halves; loss sums go per lane
 * (element i into lane i % 16) in double and are added in the scalar code's
 * order at the end.  Compiled with target attributes; called only when
 * ae_simd_avx2() and not ae_simd_avx512().
 */
#include <immintrin.h>

#include "ae_kernels.h"
#include "ae_vmath.h"

#define TARGET __attribute__((target("avx2,fma")))

TARGET static inline __m256 v_exp(__m256 x)
{
    __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(AE_LOG2E)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 nk = _mm256_sub_ps(_mm256_setzero_ps(), k);
    __m256 r = _mm256_fmadd_ps(nk, _mm256_set1_ps(AE_LN2_HI), x);
    r = _mm256_fmadd_ps(nk, _mm256_set1_ps(AE_LN2_LO), r);
    __m256 p = _mm256_set1_ps(1.f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

TARGET static inline __m256 v_log(__m256 x)
{
    __m256i u = _mm256_castps_si256(x);
    __m256i e = _mm256_srai_epi32(_mm256_sub_epi32(u, _mm256_set1_epi32(0x3F3504F3)), 23);
    __m256 m = _mm256_castsi256_ps(_mm256_sub_epi32(u, _mm256_slli_epi32(e, 23)));
    __m256 one = _mm256_set1_ps(1.f);
    __m256 s = _mm256_div_ps(_mm256_sub_ps(m, one), _mm256_add_ps(m, one));
    __m256 s2 = _mm256_mul_ps(s, s);
    __m256 p = _mm256_set1_ps(1.f / 9);
    p = _mm256_fmadd_ps(p, s2, _mm256_set1_ps(1.f / 7));
    p = _mm256_fmadd_ps(p, s2, _mm256_set1_ps(1.f / 5));
    p = _mm256_fmadd_ps(p, s2, _mm256_set1_ps(1.f / 3));
    p = _mm256_mul_ps(p, s2);
    __m256 t = _mm256_mul_ps(_mm256_set1_ps(2.f), s);
    __m256 ef = _mm256_cvtepi32_ps(e);
    return _mm256_fmadd_ps(ef, _mm256_set1_ps(AE_LN2_HI),
                           _mm256_fmadd_ps(t, p, _mm256_fmadd_ps(ef, _mm256_set1_ps(AE_LN2_LO), t)));
}

TARGET static inline __m256 v_sigmoid(__m256 z)
{
    __m256 absz = _mm256_andnot_ps(_mm256_set1_ps(-0.f), z);
    __m256 t = _mm256_min_ps(absz, _mm256_set1_ps(87.f));
    __m256 a = v_exp(_mm256_sub_ps(_mm256_setzero_ps(), t));
    __m256 inv = _mm256_div_ps(_mm256_set1_ps(1.f), _mm256_add_ps(_mm256_set1_ps(1.f), a));
    __m256 neg = _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_LT_OQ);
    return _mm256_blendv_ps(inv, _mm256_mul_ps(a, inv), neg);
}

/* Integer mask of lanes j < count (count in [0, 8]). */
TARGET static inline __m256i first_lanes(int64_t count)
{
    __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(count < 0 ? 0 : count)), idx);
}

TARGET double ae_bce_sigmoid_avx2(float *z, float *dz, const float *y, int64_t n, float grad_scale,
                                  int lanes)
{
    const __m256 eps = _mm256_set1_ps(1e-7f), one_m_eps = _mm256_set1_ps(1.f - 1e-7f);
    const __m256 one = _mm256_set1_ps(1.f), scale = _mm256_set1_ps(grad_scale), zero = _mm256_setzero_ps();
    __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
    for (int64_t i0 = 0; i0 < n; i0 += 16)
        for (int h = 0; h < 2; h++) {
            int64_t i = i0 + 8 * h;
            __m256i tail = first_lanes(n - i);
            __m256 live = _mm256_and_ps(_mm256_castsi256_ps(tail), _mm256_castsi256_ps(first_lanes(lanes - 8 * h)));
            __m256 zv = _mm256_maskload_ps(z + i, tail), yv = _mm256_maskload_ps(y + i, tail);
            __m256 p = v_sigmoid(zv);
            __m256 pc = _mm256_min_ps(_mm256_max_ps(p, eps), one_m_eps);
            __m256 inside = _mm256_and_ps(_mm256_cmp_ps(p, eps, _CMP_GE_OQ), _mm256_cmp_ps(p, one_m_eps, _CMP_LE_OQ));
            __m256 g = _mm256_and_ps(_mm256_and_ps(inside, live), _mm256_mul_ps(_mm256_sub_ps(p, yv), scale));
            __m256 t2 = _mm256_mul_ps(_mm256_sub_ps(one, yv), v_log(_mm256_sub_ps(one, pc)));
            __m256 sum;
            if (_mm256_movemask_ps(_mm256_cmp_ps(yv, zero, _CMP_NEQ_UQ)) == 0)
                sum = t2; /* y = 0 everywhere: y log p is -0 and adds nothing */
            else
                sum = _mm256_add_ps(_mm256_mul_ps(yv, v_log(pc)), t2);
            __m256 loss = _mm256_and_ps(live, _mm256_sub_ps(zero, sum));
            acc[2 * h] = _mm256_add_pd(acc[2 * h], _mm256_cvtps_pd(_mm256_castps256_ps128(loss)));
            acc[2 * h + 1] = _mm256_add_pd(acc[2 * h + 1], _mm256_cvtps_pd(_mm256_extractf128_ps(loss, 1)));
            _mm256_maskstore_ps(z + i, tail, p);
            if (dz) _mm256_maskstore_ps(dz + i, tail, g);
        }
    double lanes_sum[16];
    for (int q = 0; q < 4; q++) _mm256_storeu_pd(lanes_sum + 4 * q, acc[q]);
    return ae_lane_sum16d(lanes_sum);
}

TARGET void ae_sigmoid_avx2(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i += 8) {
        __m256i tail = first_lanes(n - i);
        _mm256_maskstore_ps(x + i, tail, v_sigmoid(_mm256_maskload_ps(x + i, tail)));
    }
}

TARGET void ae_relu_backward_avx2(float *dz, const float *dy, const float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i += 8) {
        __m256i tail = first_lanes(n - i);
        __m256 pos = _mm256_cmp_ps(_mm256_maskload_ps(y + i, tail), _mm256_setzero_ps(), _CMP_GT_OQ);
        _mm256_maskstore_ps(dz + i, tail, _mm256_and_ps(pos, _mm256_maskload_ps(dy + i, tail)));
    }
}

TARGET void ae_adam_update_avx2(float *w, float *m, float *v, const float *const *g, int k, int64_t n,
                                const struct ae_adam_hp *hp)
{
    const __m256 b1 = _mm256_set1_ps(hp->beta1), b2 = _mm256_set1_ps(hp->beta2);
    const __m256 c1 = _mm256_set1_ps(1.f - hp->beta1), c2 = _mm256_set1_ps(1.f - hp->beta2);
    const __m256 lr = _mm256_set1_ps(hp->lr_t), eps = _mm256_set1_ps(hp->eps);
    for (int64_t i = 0; i < n; i += 8) {
        __m256i tail = first_lanes(n - i);
        __m256 gi = _mm256_maskload_ps(g[0] + i, tail);
        for (int c = 1; c < k; c++) gi = _mm256_add_ps(gi, _mm256_maskload_ps(g[c] + i, tail));
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(b1, _mm256_maskload_ps(m + i, tail)), _mm256_mul_ps(c1, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_maskload_ps(v + i, tail)),
                                  _mm256_mul_ps(c2, _mm256_mul_ps(gi, gi)));
        __m256 step = _mm256_div_ps(_mm256_mul_ps(lr, mi), _mm256_add_ps(_mm256_sqrt_ps(vi), eps));
        _mm256_maskstore_ps(m + i, tail, mi);
        _mm256_maskstore_ps(v + i, tail, vi);
        _mm256_maskstore_ps(w + i, tail, _mm256_sub_ps(_mm256_maskload_ps(w + i, tail), step));
    }
}
