/*
 * ae_dense_px.c - the first dense layer of the dense models, which reads
 * the pixels: its products skip the zero pixels.
 *
 * Owns the nonzero masks of a chunk of input rows (struct ae_px_mask), the
 * portable reference of the two zero-skipping products and the choice
 * between them and sgemm.  The AVX-512 kernels are in ae_dense_px_avx512.c
 * and give the same bits as the reference here.
 *
 * Why: a dense model's first layer is half of its matrix work (forward
 * x W and weight gradient x^T dz, both 784 deep), and half the pixels of a
 * Fashion-MNIST image (four fifths of an MNIST digit) are exactly zero.
 * sgemm multiplies them anyway.  Numbers and the layout: NOTES.md.
 *
 * Order of the sums (the same in every path, so the bits do not depend on
 * the dispatch): forward out[r][j] = b[j], then one fused multiply-add per
 * nonzero pixel p in increasing p; weight gradient dw[p][j] = 0 (set) or
 * its old value, then one fused multiply-add per row r with a nonzero
 * pixel p, in increasing r.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ae_ops.h"
#include "ae_simd.h"

/* AE_PX=off in the environment turns the fast kernels off (benchmarks
 * compare both ways in one run). */
static bool px_enabled(void)
{
    static atomic_int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        const char *e = getenv("AE_PX");
        v = !(e && strcmp(e, "off") == 0);
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
}

void ae_px_scan_scalar(struct ae_px_mask *mk, const float *x, int n)
{
    memset(mk->col, 0, sizeof(uint64_t) * AE_IMAGE_PIXELS * (size_t)((n + 63) / 64));
    int64_t nnz = 0;
    for (int r = 0; r < n; r++) {
        const float *row = x + (size_t)r * AE_IMAGE_PIXELS;
        uint16_t *rm = mk->row + (size_t)r * AE_PX_ROW_WORDS;
        uint64_t *cm = mk->col + (size_t)(r / 64) * AE_IMAGE_PIXELS;
        for (int g = 0; g < AE_PX_ROW_WORDS; g++) rm[g] = 0;
        for (int p = 0; p < AE_IMAGE_PIXELS; p++) {
            if (row[p] == 0.f) continue;
            rm[p / 16] |= (uint16_t)(1u << (p % 16));
            cm[p] |= 1ull << (r % 64);
            nnz++;
        }
    }
    mk->n = n;
    mk->nnz = nnz;
}

void ae_px_forward_scalar(float *out, const float *x, const struct ae_px_mask *mk, const float *w,
                          const float *b, int n_out, enum ae_act act)
{
    for (int r = 0; r < mk->n; r++) {
        const float *row = x + (size_t)r * AE_IMAGE_PIXELS;
        float *o = out + (size_t)r * n_out;
        memcpy(o, b, sizeof(float) * (size_t)n_out);
        for (int p = 0; p < AE_IMAGE_PIXELS; p++) {
            if (row[p] == 0.f) continue;
            const float *wp = w + (size_t)p * n_out;
            for (int j = 0; j < n_out; j++) o[j] = fmaf(row[p], wp[j], o[j]);
        }
        if (act == AE_ACT_RELU)
            for (int j = 0; j < n_out; j++) o[j] = o[j] > 0.f ? o[j] : 0.f;
    }
}

void ae_px_backward_w_scalar(float *dw, const float *x, const struct ae_px_mask *mk,
                             const float *dz, int n_out, bool set)
{
    if (set) memset(dw, 0, sizeof(float) * AE_IMAGE_PIXELS * (size_t)n_out);
    for (int r = 0; r < mk->n; r++) {
        const float *row = x + (size_t)r * AE_IMAGE_PIXELS, *d = dz + (size_t)r * n_out;
        for (int p = 0; p < AE_IMAGE_PIXELS; p++) {
            if (row[p] == 0.f) continue;
            float *o = dw + (size_t)p * n_out;
            for (int j = 0; j < n_out; j++) o[j] = fmaf(row[p], d[j], o[j]);
        }
    }
}

bool ae_px_usable(int n_out)
{
    return n_out % AE_PX_TILE == 0 && ae_simd_avx512() && px_enabled();
}

void ae_px_scan(struct ae_px_mask *mk, const float *x, int n)
{
    if (ae_simd_avx512())
        ae_px_scan_avx512(mk, x, n);
    else
        ae_px_scan_scalar(mk, x, n);
}

bool ae_px_worth_it(const struct ae_px_mask *mk)
{
    /* Measured crossover (bench_dense): see NOTES.md. */
    return mk->nnz * AE_PX_DENSITY_DEN < (int64_t)mk->n * AE_IMAGE_PIXELS * AE_PX_DENSITY_NUM;
}

void ae_px_forward(float *out, const float *x, const struct ae_px_mask *mk, const float *w,
                   const float *b, int n_out, enum ae_act act)
{
    if (ae_px_usable(n_out))
        ae_px_forward_avx512(out, x, mk, w, b, n_out, act);
    else
        ae_px_forward_scalar(out, x, mk, w, b, n_out, act);
}

void ae_px_backward(float *dw, float *db, const float *dz, const float *x,
                    const struct ae_px_mask *mk, int n_out, bool set)
{
    if (ae_px_usable(n_out))
        ae_px_backward_w_avx512(dw, x, mk, dz, n_out, set);
    else
        ae_px_backward_w_scalar(dw, x, mk, dz, n_out, set);
    ae_dense_bias_grad(db, dz, mk->n, n_out, set);
}
