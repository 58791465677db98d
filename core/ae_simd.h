/*
 * ae_simd.h - internal: run-time choice between the portable kernels and
 * the AVX-512 ones (ae_simd_avx512.c, compiled with target attributes so it
 * builds with or without -march=native).
 *
 * The AVX-512 kernels perform the same float operations in the same order
 * as the scalar reference, so both paths give the same bits;
 * tests/unit/test_ae_simd.c checks that.
 */
#ifndef AE_SIMD_H
#define AE_SIMD_H

#include <stdbool.h>
#include <stdint.h>

#include "ae_ops.h"

/* The sum of 16 per-lane double accumulators in a fixed order:
 * (i, i+8), then (i, i+4), (i, i+2), (0, 1). */
static inline double ae_lane_sum16d(const double *a)
{
    double b[8], c[4];
    for (int i = 0; i < 8; i++) b[i] = a[i] + a[i + 8];
    for (int i = 0; i < 4; i++) c[i] = b[i] + b[i + 4];
    return (c[0] + c[2]) + (c[1] + c[3]);
}

/* True when the CPU has AVX-512 F/BW/DQ/VL and the kernels may be used.
 * AE_SIMD=scalar in the environment forces the portable path (tests). */
bool ae_simd_avx512(void);

/* True when the CPU has AVX2 and FMA (the conv kernels' second choice).
 * AE_SIMD=scalar turns it off too; AE_SIMD=avx2 turns off only AVX-512
 * (tests of the AVX2 path on AVX-512 machines). */
bool ae_simd_avx2(void);

/* AVX-512 versions of ae_ops.h kernels (call only if ae_simd_avx512()). */
double ae_bce_sigmoid_avx512(float *z, float *dz, const float *y, int64_t n, float grad_scale,
                             int lanes);
void ae_sigmoid_avx512(float *x, int64_t n);
void ae_adam_update_avx512(float *w, float *m, float *v, const float *const *g, int k, int64_t n,
                           const struct ae_adam_hp *hp);
void ae_relu_backward_avx512(float *dz, const float *dy, const float *y, int64_t n);
void ae_maxpool_forward_avx512(float *out, int out_pad, const float *in, int H, int W, int C);
void ae_maxpool_backward_relu_avx512(float *din, const float *dout, const float *in,
                                     const float *out, int out_pad, int H, int W, int C);
void ae_upsample_forward_avx512(float *out, int out_pad, const float *in, int H, int W, int C);
void ae_upsample_backward_avx512(float *din, const float *dout, int H, int W, int C);
/* row (784 floats) = pixels / 255, noisy when noise_factor > 0. */
void ae_pixels_row_avx512(float *x, float *target, const uint8_t *px, float noise_factor,
                          uint64_t key, int64_t image);

/* The zero-skipping dense kernels (ae_dense_nz_avx512.c; shapes as
 * ae_nz_usable). */
void ae_nz_scan_avx512(struct ae_nz_mask *mk, const float *x, int n);
void ae_nz_forward_avx512(float *out, const float *x, const struct ae_nz_mask *mk, const float *w,
                          const float *b, int n_out, enum ae_act act);
void ae_nz_backward_w_avx512(float *dw, const float *x, const struct ae_nz_mask *mk,
                             const float *dz, int n_out, bool set);

/* AVX2 + FMA versions (call only if ae_simd_avx2()). */
double ae_bce_sigmoid_avx2(float *z, float *dz, const float *y, int64_t n, float grad_scale,
                           int lanes);
void ae_sigmoid_avx2(float *x, int64_t n);
void ae_adam_update_avx2(float *w, float *m, float *v, const float *const *g, int k, int64_t n,
                         const struct ae_adam_hp *hp);
void ae_relu_backward_avx2(float *dz, const float *dy, const float *y, int64_t n);

/* The portable versions (what the dispatchers in ae_ops.h call without
 * AVX-512); exposed so tests can compare both paths bit for bit. */
double ae_bce_sigmoid_scalar(float *z, float *dz, const float *y, int64_t n, float grad_scale,
                             int lanes);
void ae_sigmoid_scalar(float *x, int64_t n);
void ae_adam_update_scalar(float *w, float *m, float *v, const float *const *g, int k, int64_t n,
                           const struct ae_adam_hp *hp);
void ae_relu_backward_scalar(float *dz, const float *dy, const float *y, int64_t n);
void ae_pixels_row_scalar(float *x, float *target, const uint8_t *px, float noise_factor,
                          uint64_t key, int64_t image);

#endif /* AE_SIMD_H */
