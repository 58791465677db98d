/*
 * ae_dense_nz.c - dense layers whose input is mostly zeros: the pixels
 * (first layer) and relu outputs.  Their products skip the zero inputs.
 *
 * Owns the nonzero masks of a chunk of input rows (struct ae_nz_mask), the
 * portable reference of the two zero-skipping products, and the choice
 * between them and sgemm (ae_nz_dense_forward).  The AVX-512 kernels are in
 * ae_dense_nz_avx512.c and give the same bits as the reference here;
 * ae_kernels.c picks one.
 *
 * Why: the first layer is half of a dense model's matrix work (forward
 * x W and weight gradient x^T dz, both 784 deep), and half the pixels of a
 * Fashion-MNIST image (four fifths of an MNIST digit) are exactly zero;
 * a relu layer's output is a third to a half zeros.  sgemm multiplies them
 * anyway.  The input gradient dz W^T has no zeros to skip and stays with
 * sgemm.  Measurements: NOTES.md.
 *
 * Order of the sums (the same in every path, so the bits do not depend on
 * the dispatch): forward out[r][j] = b[j], then one fused multiply-add per
 * nonzero input k in increasing k; weight gradient dw[k][j] = 0 (set) or
 * its old value, then one fused multiply-add per row r whose input k is
 * nonzero, in increasing r.
 */
#include <math.h>
#include <string.h>

#include "ae_kernels.h"

int64_t ae_nz_mask_bytes(int cap, int n_in)
{
    int64_t row = (int64_t)cap * ae_nz_row_words(n_in) * (int64_t)sizeof(uint16_t);
    int64_t col = (int64_t)((cap + 63) / 64) * n_in * (int64_t)sizeof(uint64_t);
    return ((row + 63) & ~(int64_t)63) + col;
}

void ae_nz_mask_init(struct ae_nz_mask *mk, int cap, int n_in, void *mem)
{
    int64_t row = (int64_t)cap * ae_nz_row_words(n_in) * (int64_t)sizeof(uint16_t);
    mk->row = mem;
    mk->col = (uint64_t *)(void *)((char *)mem + ((row + 63) & ~(int64_t)63));
    mk->n_in = n_in;
    mk->n = 0;
    mk->nnz = 0;
}

void ae_nz_scan_scalar(struct ae_nz_mask *mk, const float *x, int n)
{
    int K = mk->n_in, words = ae_nz_row_words(K);
    memset(mk->col, 0, sizeof(uint64_t) * (size_t)K * (size_t)((n + 63) / 64));
    int64_t nnz = 0;
    for (int r = 0; r < n; r++) {
        const float *row = x + (size_t)r * K;
        uint16_t *rm = mk->row + (size_t)r * words;
        uint64_t *cm = mk->col + (size_t)(r / 64) * K;
        for (int g = 0; g < words; g++) rm[g] = 0;
        for (int k = 0; k < K; k++) {
            if (row[k] == 0.f) continue;
            rm[k / 16] |= (uint16_t)(1u << (k % 16));
            cm[k] |= 1ull << (r % 64);
            nnz++;
        }
    }
    mk->n = n;
    mk->nnz = nnz;
}

void ae_nz_forward_scalar(float *out, const float *x, const struct ae_nz_mask *mk, const float *w,
                          const float *b, int n_out, enum ae_act act)
{
    int K = mk->n_in;
    for (int r = 0; r < mk->n; r++) {
        const float *row = x + (size_t)r * K;
        float *o = out + (size_t)r * n_out;
        memcpy(o, b, sizeof(float) * (size_t)n_out);
        for (int k = 0; k < K; k++) {
            if (row[k] == 0.f) continue;
            const float *wk = w + (size_t)k * n_out;
            for (int j = 0; j < n_out; j++) o[j] = fmaf(row[k], wk[j], o[j]);
        }
        if (act == AE_ACT_RELU)
            for (int j = 0; j < n_out; j++) o[j] = o[j] > 0.f ? o[j] : 0.f;
    }
}

void ae_nz_backward_w_scalar(float *dw, const float *x, const struct ae_nz_mask *mk,
                             const float *dz, int n_out, bool set)
{
    int K = mk->n_in;
    if (set) memset(dw, 0, sizeof(float) * (size_t)K * (size_t)n_out);
    for (int r = 0; r < mk->n; r++) {
        const float *row = x + (size_t)r * K, *d = dz + (size_t)r * n_out;
        for (int k = 0; k < K; k++) {
            if (row[k] == 0.f) continue;
            float *o = dw + (size_t)k * n_out;
            for (int j = 0; j < n_out; j++) o[j] = fmaf(row[k], d[j], o[j]);
        }
    }
}

bool ae_nz_worth_it(const struct ae_nz_mask *mk)
{
    /* The crossover measured by bench_dense: NOTES.md. */
    return mk->nnz * AE_NZ_DENSITY_DEN < (int64_t)mk->n * mk->n_in * AE_NZ_DENSITY_NUM;
}

void ae_nz_backward(float *din, float *dw, float *db, const float *dz, const float *x,
                    const float *w, const struct ae_nz_mask *mk, int n_out, bool set)
{
    ae_nz_backward_w(dw, x, mk, dz, n_out, set);
    ae_dense_bias_grad(db, dz, mk->n, n_out, set);
    if (din) ae_dense_input_grad(din, dz, w, mk->n, mk->n_in, n_out);
}

bool ae_nz_dense_forward(float *out, const float *x, const float *w, const float *b, int n,
                         int n_in, int n_out, enum ae_act act, struct ae_nz_mask *mk)
{
    if (mk && ae_nz_usable(n_in, n_out)) {
        ae_nz_scan(mk, x, n);
        if (ae_nz_worth_it(mk)) {
            ae_nz_forward(out, x, mk, w, b, n_out, act);
            return true;
        }
    }
    ae_dense_forward(out, x, w, b, n, n_in, n_out, act);
    return false;
}
