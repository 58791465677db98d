/*
 * ae_dense_nz_avx512.c - AVX-512 versions of the zero-skipping dense
 * products (ae_dense_nz.c has the reference and the reasons).
 *
 * Owns only vector code.  An output tile of 128 columns is eight zmm
 * accumulators fed by one broadcast input value and eight fused
 * multiply-adds per nonzero input, in the reference's order, so the bits
 * are the reference's.  Columns past the last full tile (784 = 6 x 128 +
 * 16) go 16 at a time through one accumulator.  Blocking (measured,
 * NOTES.md): the forward walks 64 inputs (32 KB of a 128-wide tile of W)
 * at a time over all rows, so those rows of W stay in L1; the weight
 * gradient walks 64 rows of dz (32 KB of a tile) at a time over all
 * inputs.  Row strides that are multiples of 1 KB map to few L1 sets, so
 * such layers use shorter blocks (block_rows).
 */
#include <immintrin.h>
#include <string.h>

#include "ae_kernels.h"

#define TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,bmi,bmi2")))

TARGET void ae_nz_scan_avx512(struct ae_nz_mask *mk, const float *x, int n)
{
    int K = mk->n_in, G = K / 16, words = ae_nz_row_words(K);
    __m512i acc[2 * (AE_NZ_MAX_IN / 16)];
    int64_t nnz = 0;
    for (int r0 = 0; r0 < n; r0 += 64) {
        int r1 = r0 + 64 < n ? r0 + 64 : n;
        for (int g = 0; g < 2 * G; g++) acc[g] = _mm512_setzero_si512();
        for (int r = r0; r < r1; r++) {
            const float *row = x + (size_t)r * K;
            uint16_t *rm = mk->row + (size_t)r * words;
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
        uint64_t *cm = mk->col + (size_t)(r0 / 64) * K;
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

/* Rows of W (forward) or of dz (weight gradient) per block: 64 rows of a
 * 128-wide tile are 32 KB.  A row stride that is a multiple of 1 KB maps
 * those rows to a fraction of L1's sets, so such widths get fewer rows. */
static int block_rows(int n_out)
{
    if (n_out % 256) return 64;
    int k = 64 * AE_NZ_TILE / n_out;
    return k < 16 ? 16 : k;
}

TARGET void ae_nz_forward_avx512(float *out, const float *x, const struct ae_nz_mask *mk,
                                 const float *w, const float *b, int n_out, enum ae_act act)
{
    int K = mk->n_in, G = K / 16, words = ae_nz_row_words(K);
    const __m512 zero = _mm512_setzero_ps();
    int kg = block_rows(n_out) / 16; /* mask words per block */
    int full = n_out / AE_NZ_TILE * AE_NZ_TILE;
    for (int j0 = 0; j0 < full; j0 += AE_NZ_TILE)
        for (int g0 = 0; g0 < G; g0 += kg) {
            int g1 = g0 + kg < G ? g0 + kg : G;
            /* Two mask words at a time (32 inputs) when the block allows:
             * fewer loop exits.  Word G of a row is zero. */
            int step = kg % 2 ? 1 : 2;
            for (int r = 0; r < mk->n; r++) {
                const float *row = x + (size_t)r * K;
                const uint16_t *rm = mk->row + (size_t)r * words;
                float *o = out + (size_t)r * n_out + j0;
                /* The first block starts from the bias, later ones from
                 * the partial sums the block before stored. */
                const float *start = g0 == 0 ? b + j0 : o;
                LOAD8(a, start);
                for (int g = g0; g < g1; g += step) {
                    uint32_t m = rm[g];
                    if (step == 2) m |= (uint32_t)rm[g + 1] << 16;
                    while (m) {
                        int k = 16 * g + __builtin_ctz(m);
                        m &= m - 1;
                        __m512 v = _mm512_set1_ps(row[k]);
                        const float *wk = w + (size_t)k * n_out + j0;
                        FMA8(a, v, wk);
                    }
                }
                if (g1 == G && act == AE_ACT_RELU) MAX8(a, zero);
                STORE8(o, a);
            }
        }
    for (int j0 = full; j0 < n_out; j0 += 16)
        for (int r = 0; r < mk->n; r++) {
            const float *row = x + (size_t)r * K;
            const uint16_t *rm = mk->row + (size_t)r * words;
            __m512 a = _mm512_loadu_ps(b + j0);
            for (int g = 0; g < G; g++)
                for (unsigned m = rm[g]; m; m &= m - 1) {
                    int k = 16 * g + __builtin_ctz(m);
                    a = _mm512_fmadd_ps(_mm512_set1_ps(row[k]), _mm512_loadu_ps(w + (size_t)k * n_out + j0), a);
                }
            if (act == AE_ACT_RELU) a = _mm512_max_ps(a, zero);
            _mm512_storeu_ps(out + (size_t)r * n_out + j0, a);
        }
}

TARGET void ae_nz_backward_w_avx512(float *dw, const float *x, const struct ae_nz_mask *mk,
                                    const float *dz, int n_out, bool set)
{
    int K = mk->n_in, nb = block_rows(n_out);
    int full = n_out / AE_NZ_TILE * AE_NZ_TILE;
    if (set && mk->n == 0) {
        memset(dw, 0, sizeof(float) * (size_t)K * (size_t)n_out);
        return;
    }
    for (int j0 = 0; j0 < full; j0 += AE_NZ_TILE)
        for (int r0 = 0; r0 < mk->n; r0 += nb) {
            /* rows r0 .. r0 + nb - 1: bits s .. s + nb - 1 of one mask word */
            const uint64_t *cm = mk->col + (size_t)(r0 / 64) * K;
            int s = r0 % 64;
            uint64_t sel = nb >= 64 ? ~0ull : ((1ull << nb) - 1) << s;
            const float *dzb = dz + (size_t)(r0 - s) * n_out + j0;
            const float *xb = x + (size_t)(r0 - s) * K;
            bool fresh = set && r0 == 0;
            for (int k = 0; k < K; k++) {
                float *o = dw + (size_t)k * n_out + j0;
                __m512 a0, a1, a2, a3, a4, a5, a6, a7;
                if (fresh) {
                    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = _mm512_setzero_ps();
                } else {
                    a0 = _mm512_loadu_ps(o), a1 = _mm512_loadu_ps(o + 16);
                    a2 = _mm512_loadu_ps(o + 32), a3 = _mm512_loadu_ps(o + 48);
                    a4 = _mm512_loadu_ps(o + 64), a5 = _mm512_loadu_ps(o + 80);
                    a6 = _mm512_loadu_ps(o + 96), a7 = _mm512_loadu_ps(o + 112);
                }
                for (uint64_t m = cm[k] & sel; m; m &= m - 1) {
                    int r = __builtin_ctzll(m);
                    __m512 v = _mm512_set1_ps(xb[(size_t)r * K + k]);
                    const float *d = dzb + (size_t)r * n_out;
                    FMA8(a, v, d);
                }
                STORE8(o, a);
            }
        }
    for (int j0 = full; j0 < n_out; j0 += 16)
        for (int r0 = 0; r0 < mk->n; r0 += 64) {
            const uint64_t *cm = mk->col + (size_t)(r0 / 64) * K;
            bool fresh = set && r0 == 0;
            for (int k = 0; k < K; k++) {
                float *o = dw + (size_t)k * n_out + j0;
                __m512 a = fresh ? _mm512_setzero_ps() : _mm512_loadu_ps(o);
                for (uint64_t m = cm[k]; m; m &= m - 1) {
                    int r = r0 + __builtin_ctzll(m);
                    a = _mm512_fmadd_ps(_mm512_set1_ps(x[(size_t)r * K + k]),
                                        _mm512_loadu_ps(dz + (size_t)r * n_out + j0), a);
                }
                _mm512_storeu_ps(o, a);
            }
        }
}
