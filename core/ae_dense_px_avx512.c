/*
 * ae_dense_px_avx512.c - AVX-512 versions of the zero-skipping first-layer
 * products (ae_dense_px.c has the reference and the reasons).
 *
 * Owns only vector code.  Each output row tile is 128 floats, eight zmm
 * accumulators, fed by one broadcast pixel value and eight fused
 * multiply-adds per nonzero pixel, in the reference's order, so the bits
 * are the reference's.  Blocking (measured, NOTES.md): the forward walks
 * 64 pixels (32 KB of a 128-wide W) at a time over all rows, so the rows
 * of W stay in L1; the weight gradient walks 64 rows of dz (32 KB) at a
 * time over all pixels, one 128-wide tile of dz at a time.  Wider layers
 * use shorter blocks (block_rows).
 */
#include <immintrin.h>
#include <string.h>

#include "ae_ops.h"
#include "ae_simd.h"

#define TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,bmi,bmi2")))


TARGET void ae_px_scan_avx512(struct ae_px_mask *mk, const float *x, int n)
{
    enum { G = AE_IMAGE_PIXELS / 16 }; /* 49 */
    __m512i acc[2 * G];
    __m512i ones = _mm512_setzero_si512();
    int64_t nnz = 0;
    for (int r0 = 0; r0 < n; r0 += 64) {
        int r1 = r0 + 64 < n ? r0 + 64 : n;
        for (int g = 0; g < 2 * G; g++) acc[g] = ones;
        for (int r = r0; r < r1; r++) {
            const float *row = x + (size_t)r * AE_IMAGE_PIXELS;
            uint16_t *rm = mk->row + (size_t)r * AE_PX_ROW_WORDS;
            __m512i bit = _mm512_set1_epi64((long long)(1ull << (r - r0)));
            for (int g = 0; g < G; g++) {
                __mmask16 k = _mm512_cmpneq_ps_mask(_mm512_loadu_ps(row + 16 * g), _mm512_setzero_ps());
                rm[g] = (uint16_t)k;
                nnz += __builtin_popcount(k);
                acc[2 * g] = _mm512_mask_or_epi64(acc[2 * g], (__mmask8)k, acc[2 * g], bit);
                acc[2 * g + 1] = _mm512_mask_or_epi64(acc[2 * g + 1], (__mmask8)(k >> 8), acc[2 * g + 1], bit);
            }
            rm[G] = 0;
        }
        uint64_t *cm = mk->col + (size_t)(r0 / 64) * AE_IMAGE_PIXELS;
        for (int g = 0; g < 2 * G; g++) _mm512_storeu_si512(cm + 8 * g, acc[g]);
    }
    mk->n = n;
    mk->nnz = nnz;
}

#define LOAD8(a, src)                                                                       \
    __m512 a##0 = _mm512_loadu_ps(src), a##1 = _mm512_loadu_ps((src) + 16),               \
           a##2 = _mm512_loadu_ps((src) + 32), a##3 = _mm512_loadu_ps((src) + 48),         \
           a##4 = _mm512_loadu_ps((src) + 64), a##5 = _mm512_loadu_ps((src) + 80),         \
           a##6 = _mm512_loadu_ps((src) + 96), a##7 = _mm512_loadu_ps((src) + 112)
#define FMA8(a, v, src)                                                                     \
    do {                                                                                    \
        a##0 = _mm512_fmadd_ps(v, _mm512_loadu_ps(src), a##0);                              \
        a##1 = _mm512_fmadd_ps(v, _mm512_loadu_ps((src) + 16), a##1);                       \
        a##2 = _mm512_fmadd_ps(v, _mm512_loadu_ps((src) + 32), a##2);                       \
        a##3 = _mm512_fmadd_ps(v, _mm512_loadu_ps((src) + 48), a##3);                       \
        a##4 = _mm512_fmadd_ps(v, _mm512_loadu_ps((src) + 64), a##4);                       \
        a##5 = _mm512_fmadd_ps(v, _mm512_loadu_ps((src) + 80), a##5);                       \
        a##6 = _mm512_fmadd_ps(v, _mm512_loadu_ps((src) + 96), a##6);                       \
        a##7 = _mm512_fmadd_ps(v, _mm512_loadu_ps((src) + 112), a##7);                      \
    } while (0)
#define MAX8(a, z)                                                                          \
    do {                                                                                    \
        a##0 = _mm512_max_ps(a##0, z), a##1 = _mm512_max_ps(a##1, z);                      \
        a##2 = _mm512_max_ps(a##2, z), a##3 = _mm512_max_ps(a##3, z);                      \
        a##4 = _mm512_max_ps(a##4, z), a##5 = _mm512_max_ps(a##5, z);                      \
        a##6 = _mm512_max_ps(a##6, z), a##7 = _mm512_max_ps(a##7, z);                      \
    } while (0)
#define STORE8(dst, a)                                                                      \
    do {                                                                                    \
        _mm512_storeu_ps(dst, a##0), _mm512_storeu_ps((dst) + 16, a##1);                   \
        _mm512_storeu_ps((dst) + 32, a##2), _mm512_storeu_ps((dst) + 48, a##3);            \
        _mm512_storeu_ps((dst) + 64, a##4), _mm512_storeu_ps((dst) + 80, a##5);            \
        _mm512_storeu_ps((dst) + 96, a##6), _mm512_storeu_ps((dst) + 112, a##7);           \
    } while (0)

/* Blocks sized so the rows of W (forward) or of dz (weight gradient) a
 * block reads fill at most 32 KB: 64 x 512 bytes for a 128-wide layer.
 * Wider layers have longer rows, which also map to fewer L1 sets, so the
 * block shrinks with the width. */
static int block_rows(int n_out)
{
    int k = 64 * AE_PX_TILE / n_out;
    return k < 16 ? 16 : k;
}

TARGET void ae_px_forward_avx512(float *out, const float *x, const struct ae_px_mask *mk,
                                 const float *w, const float *b, int n_out, enum ae_act act)
{
    enum { G = AE_IMAGE_PIXELS / 16 }; /* mask words per row */
    const __m512 zero = _mm512_setzero_ps();
    int kg = block_rows(n_out) / 16; /* mask words per block */
    for (int j0 = 0; j0 < n_out; j0 += AE_PX_TILE)
        for (int g0 = 0; g0 < G; g0 += kg) {
            int g1 = g0 + kg < G ? g0 + kg : G;
            for (int r = 0; r < mk->n; r++) {
                const float *row = x + (size_t)r * AE_IMAGE_PIXELS;
                const uint16_t *rm = mk->row + (size_t)r * AE_PX_ROW_WORDS;
                float *o = out + (size_t)r * n_out + j0;
                /* The first block starts from the bias, later ones from
                 * the partial sums the block before stored. */
                const float *start = g0 == 0 ? b + j0 : o;
                LOAD8(a, start);
                /* Two mask words at a time (32 pixels) when the block
                 * allows: fewer loop exits.  Word G is zero. */
                int step = kg % 2 ? 1 : 2;
                for (int g = g0; g < g1; g += step) {
                    uint32_t m = rm[g];
                    if (step == 2) m |= (uint32_t)rm[g + 1] << 16;
                    while (m) {
                        int p = 16 * g + __builtin_ctz(m);
                        m &= m - 1;
                        __m512 v = _mm512_set1_ps(row[p]);
                        const float *wp = w + (size_t)p * n_out + j0;
                        FMA8(a, v, wp);
                    }
                }
                if (g1 == G && act == AE_ACT_RELU) MAX8(a, zero);
                STORE8(o, a);
            }
        }
}

TARGET void ae_px_backward_w_avx512(float *dw, const float *x, const struct ae_px_mask *mk,
                                    const float *dz, int n_out, bool set)
{
    if (set && mk->n == 0) memset(dw, 0, sizeof(float) * AE_IMAGE_PIXELS * (size_t)n_out);
    for (int j0 = 0; j0 < n_out; j0 += AE_PX_TILE)
        for (int r0 = 0; r0 < mk->n; r0 += block_rows(n_out)) {
            /* rows r0 .. r0 + block_rows - 1: bits s .. of one mask word */
            const uint64_t *cm = mk->col + (size_t)(r0 / 64) * AE_IMAGE_PIXELS;
            int s = r0 % 64, nb = block_rows(n_out);
            uint64_t sel = nb >= 64 ? ~0ull : ((1ull << nb) - 1) << s;
            const float *dzb = dz + (size_t)(r0 - s) * n_out + j0;
            bool fresh = set && r0 == 0;
            for (int p = 0; p < AE_IMAGE_PIXELS; p++) {
                const float *xc = x + (size_t)(r0 - s) * AE_IMAGE_PIXELS + p;
                float *o = dw + (size_t)p * n_out + j0;
                __m512 a0, a1, a2, a3, a4, a5, a6, a7;
                if (fresh) {
                    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = _mm512_setzero_ps();
                } else {
                    a0 = _mm512_loadu_ps(o), a1 = _mm512_loadu_ps(o + 16);
                    a2 = _mm512_loadu_ps(o + 32), a3 = _mm512_loadu_ps(o + 48);
                    a4 = _mm512_loadu_ps(o + 64), a5 = _mm512_loadu_ps(o + 80);
                    a6 = _mm512_loadu_ps(o + 96), a7 = _mm512_loadu_ps(o + 112);
                }
                uint64_t m = cm[p] & sel;
                while (m) {
                    int r = __builtin_ctzll(m);
                    m &= m - 1;
                    __m512 v = _mm512_set1_ps(xc[(size_t)r * AE_IMAGE_PIXELS]);
                    const float *d = dzb + (size_t)r * n_out;
                    FMA8(a, v, d);
                }
                STORE8(o, a);
            }
        }
}
