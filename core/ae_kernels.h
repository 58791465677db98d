/*
 * ae_kernels.h - internal: the kernels, and the one door through which the
 * rest of core reaches them.
 *
 * Plain functions with explicit buffers and sizes (llm.c style); backward
 * functions ADD into parameter gradients (+=) and OVERWRITE input gradients.
 * Maths of each backward pass: core/NOTES.md.
 *
 * Two layouts (NOTES.md explains why):
 *  - dense models: row-major (n, features);
 *  - conv models: blocked (H, W, C, 16) per block of 16 images, the image
 *    index innermost, so every kernel works on full 16-float vectors
 *    whatever the channel count or width.
 * The blocked-layout kernels take at most 64 channels (the portable ones
 * keep a cell of C x 16 values on the stack); the models use 1, 8 and 16.
 *
 * Each kernel is declared once, as its entry point, then its portable
 * reference (_scalar) and its vector versions (_avx2, _avx512).  Callers use
 * the entry point; only tests and benchmarks call a version by name.  The
 * entry points that choose a version at run time all live in ae_kernels.c,
 * with the CPU checks; the versions are:
 *
 *   kernel                     portable (file)        AVX2 (file)          AVX-512 (file)
 *   relu backward, sigmoid,    ae_loss.c              ae_simd_avx2.c       ae_simd_avx512.c
 *     BCE + sigmoid
 *   Adam                       ae_adam.c              ae_simd_avx2.c       ae_simd_avx512.c
 *   pixels_row (input)         ae_net.c               -                    ae_simd_avx512.c
 *   maxpool, upsample          ae_pool.c              -                    ae_simd_avx512.c
 *   conv3_valid, conv3_wgrad   ae_conv.c              ae_conv_avx2.c       ae_conv_avx512.c
 *   nz scan/forward/backward_w ae_dense_nz.c          -                    ae_dense_nz_avx512.c
 *   dense (sgemm)              ae_dense.c (OpenBLAS; no dispatch)
 *
 * The elementwise, loss, Adam, pixel, pool, upsample and zero-skipping
 * versions perform the same float operations in the same order as their
 * portable reference (the shared scalar maths are in ae_vmath.h), so they
 * give the same bits (tests/unit/test_ae_simd.c, test_ae_dense_nz.c).  The
 * conv tiles sum with fused multiply-adds in another order and agree with
 * the portable conv within rounding (test_ae_conv.c).  AE_SIMD=scalar
 * forces the portable versions, AE_SIMD=avx2 turns off AVX-512 only, and
 * AE_NZ=off turns the zero-skipping dense layers off (sgemm instead).
 *
 * Thread-safety: every kernel writes only its output buffers; the CPU
 * checks cache their answer in an atomic.
 */
#ifndef AE_KERNELS_H
#define AE_KERNELS_H

#include <stdbool.h>
#include <stdint.h>

#include "ae_model.h"

/* ---- the run-time choice (ae_kernels.c) -------------------------------- */

/* True when the CPU has AVX-512 F/BW/DQ/VL and the kernels may be used.
 * AE_SIMD=scalar or AE_SIMD=avx2 in the environment turns it off. */
bool ae_simd_avx512(void);
/* True when the CPU has AVX2 and FMA (the second choice).  AE_SIMD=scalar
 * turns it off too. */
bool ae_simd_avx2(void);

/* ---- dense, row-major -------------------------------------------------- */

/* Make OpenBLAS single-threaded (once per process): the trainer owns the
 * threads.  Called by every entry point that reaches sgemm. */
void ae_dense_setup(void);

/* out (n, n_out) = in (n, n_in) . w (n_in, n_out) + b, then relu if act is
 * AE_ACT_RELU.  AE_ACT_SIGMOID leaves the logits (the loss kernel or
 * ae_sigmoid applies it). */
void ae_dense_forward(float *out, const float *in, const float *w, const float *b, int n,
                      int n_in, int n_out, enum ae_act act);
/* dz (n, n_out) is the gradient wrt the pre-activation.  dw (n_in, n_out)
 * += in^T dz, db += column sums of dz, din (n, n_in) = dz w^T (skipped
 * when din is NULL). */
void ae_dense_backward(float *din, float *dw, float *db, const float *dz, const float *in,
                       const float *w, int n, int n_in, int n_out);
/* The same with dw and db overwritten instead of accumulated. */
void ae_dense_backward_set(float *din, float *dw, float *db, const float *dz, const float *in,
                           const float *w, int n, int n_in, int n_out);

/* db (n_out) += column sums of dz (n, n_out); overwritten when set. */
void ae_dense_bias_grad(float *db, const float *dz, int n, int n_out, bool set);
/* din (n, n_in) = dz (n, n_out) . w^T (sgemm). */
void ae_dense_input_grad(float *din, const float *dz, const float *w, int n, int n_in, int n_out);

/* ---- dense layers skipping zero inputs (ae_dense_nz.c) ---------------- */

#define AE_NZ_TILE 128   /* output columns per vector tile; n_out >= AE_NZ_TILE */
#define AE_NZ_MAX_IN 784 /* widest input the vector mask scan takes */
/* Skip zeros only while at most NUM/DEN of the inputs are nonzero. */
#define AE_NZ_DENSITY_NUM 3
#define AE_NZ_DENSITY_DEN 4

/* Which inputs of a chunk of rows (n_in floats each) are nonzero: bit
 * k % 16 of row[r * ae_nz_row_words(n_in) + k / 16] (the last word of a row
 * is zero), and bit r % 64 of col[(r / 64) * n_in + k]. */
struct ae_nz_mask {
    uint16_t *row;
    uint64_t *col;
    int n_in;
    int n;       /* rows scanned */
    int64_t nnz; /* nonzero inputs among them */
};

static inline int ae_nz_row_words(int n_in) { return (n_in + 15) / 16 + 1; }
/* Bytes of mask storage for cap rows of n_in inputs (64-byte multiples). */
int64_t ae_nz_mask_bytes(int cap, int n_in);
/* Point mk into mem (ae_nz_mask_bytes(cap, n_in) bytes, 64-byte aligned). */
void ae_nz_mask_init(struct ae_nz_mask *mk, int cap, int n_in, void *mem);

/* True when the zero-skipping kernels take this layer shape on this CPU
 * (n_in and n_out multiples of 16, n_in <= AE_NZ_MAX_IN, n_out >=
 * AE_NZ_TILE, AVX-512, and AE_NZ=off not set); else use ae_dense_*. */
bool ae_nz_usable(int n_in, int n_out);
/* Fill mk from x (n rows of mk->n_in floats), n <= its capacity. */
void ae_nz_scan(struct ae_nz_mask *mk, const float *x, int n);
/* True when the rows mk describes are sparse enough for the kernels to win. */
bool ae_nz_worth_it(const struct ae_nz_mask *mk);
/* ae_dense_forward for the rows of mk (n_in = mk->n_in). */
void ae_nz_forward(float *out, const float *x, const struct ae_nz_mask *mk, const float *w,
                   const float *b, int n_out, enum ae_act act);
/* dw (mk->n_in, n_out) += x^T dz over the nonzero inputs (set: =). */
void ae_nz_backward_w(float *dw, const float *x, const struct ae_nz_mask *mk, const float *dz,
                      int n_out, bool set);
/* ae_dense_backward (set: _set) for the rows of mk: dw as ae_nz_backward_w,
 * db += column sums of dz, din = dz w^T with sgemm (skipped when NULL). */
void ae_nz_backward(float *din, float *dw, float *db, const float *dz, const float *x,
                    const float *w, const struct ae_nz_mask *mk, int n_out, bool set);
/* ae_dense_forward, skipping zero inputs when the kernels take the shape
 * and x is sparse enough (then mk, which may be NULL, holds x's masks and
 * true is returned).  Every caller decides the same way, so a layer gives
 * the same bits whichever path (training, inference) runs it. */
bool ae_nz_dense_forward(float *out, const float *x, const float *w, const float *b, int n,
                         int n_in, int n_out, enum ae_act act, struct ae_nz_mask *mk);
/* The portable reference of the three kernels (tests compare). */
void ae_nz_scan_scalar(struct ae_nz_mask *mk, const float *x, int n);
void ae_nz_forward_scalar(float *out, const float *x, const struct ae_nz_mask *mk, const float *w,
                          const float *b, int n_out, enum ae_act act);
void ae_nz_backward_w_scalar(float *dw, const float *x, const struct ae_nz_mask *mk,
                             const float *dz, int n_out, bool set);
/* AVX-512 (ae_dense_nz_avx512.c; shapes as ae_nz_usable). */
void ae_nz_scan_avx512(struct ae_nz_mask *mk, const float *x, int n);
void ae_nz_forward_avx512(float *out, const float *x, const struct ae_nz_mask *mk, const float *w,
                          const float *b, int n_out, enum ae_act act);
void ae_nz_backward_w_avx512(float *dw, const float *x, const struct ae_nz_mask *mk,
                             const float *dz, int n_out, bool set);

/* ---- conv model, blocked (H, W, C, 16) --------------------------------- */

/* out (Ho, Wo, Cout, 16) = conv3x3(in (H, W, Cin, 16), w (3,3,Cin,Cout)) + b,
 * Ho = H + 2 pad - 2; relu if act is AE_ACT_RELU (sigmoid: logits, as above). */
void ae_conv_forward(float *out, const float *in, const float *w, const float *b, int H, int W,
                     int Cin, int Cout, int pad, enum ae_act act);
/* din (H, W, Cin, 16) = gradient wrt the input for dz (Ho, Wo, Cout, 16). */
void ae_conv_backward_data(float *din, const float *dz, const float *w, int H, int W, int Cin,
                           int Cout, int pad);
/* dw_lanes (3,3,Cin,Cout,16) += per-lane products, db_lanes (Cout,16) += dz;
 * the 16 lanes are summed once per batch (ae_lanes_reduce). */
void ae_conv_backward_weights(float *dw_lanes, float *db_lanes, const float *in, const float *dz,
                              int H, int W, int Cin, int Cout, int pad);
/* The fast path (NOTES.md).  Valid 3x3 correlation: out (Ho, Wo, Cout, 16),
 * dense rows, = b + sum_{ky,kx,i} w[ky][kx][i][o] in[y+ky][x+kx][i], where
 * in has row stride in_rs floats and at least (Ho+2, Wo+2) pixels; b may
 * be NULL (zero).  Relu if act is AE_ACT_RELU. */
void ae_conv3_valid(float *out, const float *in, int64_t in_rs, int Ho, int Wo, int Cin, int Cout,
                    const float *w, const float *b, enum ae_act act);
/* Weight gradient lanes: dwl (3,3,Cin,Cout,16) += in[y+ky][x+kx][i] dz[y][x][o],
 * dbl (Cout,16) += dz, over y < Ho, x < Wo; row strides in floats. */
void ae_conv3_wgrad(float *dwl, float *dbl, const float *in, int64_t in_rs, const float *dz,
                    int64_t dz_rs, int Ho, int Wo, int Cin, int Cout);
/* wt (3,3,Cout,Cin)[ky][kx][o][i] = w[2-ky][2-kx][i][o]: the weights that
 * turn the data gradient into a valid correlation. */
void ae_conv3_flip(float *wt, const float *w, int Cin, int Cout);
/* Portable versions of the two kernels above (tests compare). */
void ae_conv3_valid_scalar(float *out, const float *in, int64_t in_rs, int Ho, int Wo, int Cin,
                           int Cout, const float *w, const float *b, enum ae_act act);
void ae_conv3_wgrad_scalar(float *dwl, float *dbl, const float *in, int64_t in_rs, const float *dz,
                           int64_t dz_rs, int Ho, int Wo, int Cin, int Cout);
/* AVX-512 and AVX2 tiles of the two kernels (ae_conv_avx512.c,
 * ae_conv_avx2.c).  Each returns false for a channel count it has no tile
 * for, and the dispatch then runs the portable kernel. */
bool ae_conv3_valid_avx512(float *out, const float *in, int64_t in_rs, int Ho, int Wo, int Cin,
                           int Cout, const float *w, const float *b, int relu);
bool ae_conv3_wgrad_avx512(float *dwl, float *dbl, const float *in, int64_t in_rs, const float *dz,
                           int64_t dz_rs, int Ho, int Wo, int Cin, int Cout);
bool ae_conv3_valid_avx2(float *out, const float *in, int64_t in_rs, int Ho, int Wo, int Cin,
                         int Cout, const float *w, const float *b, int relu);
bool ae_conv3_wgrad_avx2(float *dwl, float *dbl, const float *in, int64_t in_rs, const float *dz,
                         int64_t dz_rs, int Ho, int Wo, int Cin, int Cout);

/* out[k] += sum of the 16 lanes of lanes[k*16 ..], in lane order. */
void ae_lanes_reduce(float *out, const float *lanes, int64_t n);
/* out[k] = sum of the 16 lanes, in lane order. */
void ae_lanes_sum(float *out, const float *lanes, int64_t n);

/* Max pool 2x2 stride 2, same padding at the bottom/right (padded cells
 * never win): out (Ho, Wo, C, 16), Ho = (H + 1) / 2, written inside a zero
 * border of out_pad pixels (0 or 1; the buffer is (Ho+2p, Wo+2p)). */
void ae_maxpool_forward(float *out, int out_pad, const float *in, int H, int W, int C);
/* din (H, W, C, 16): dout (Ho, Wo, C, 16) goes to the first maximum of each
 * window (row-major order), and only where that maximum is > 0 (fusing the
 * backward of the relu that precedes every pool in our models).  out is
 * the forward output with its border out_pad. */
void ae_maxpool_backward_relu(float *din, const float *dout, const float *in, const float *out,
                              int out_pad, int H, int W, int C);
/* 2x nearest upsampling (output inside a border of out_pad pixels) and its
 * backward (sum of each 2x2 block, no borders). */
void ae_upsample_forward(float *out, int out_pad, const float *in, int H, int W, int C);
void ae_upsample_backward(float *din, const float *dout, int H, int W, int C);
/* Portable (ae_pool.c) and AVX-512 (ae_simd_avx512.c) versions. */
void ae_maxpool_forward_scalar(float *out, int out_pad, const float *in, int H, int W, int C);
void ae_maxpool_backward_relu_scalar(float *din, const float *dout, const float *in,
                                     const float *out, int out_pad, int H, int W, int C);
void ae_upsample_forward_scalar(float *out, int out_pad, const float *in, int H, int W, int C);
void ae_upsample_backward_scalar(float *din, const float *dout, int H, int W, int C);
void ae_maxpool_forward_avx512(float *out, int out_pad, const float *in, int H, int W, int C);
void ae_maxpool_backward_relu_avx512(float *din, const float *dout, const float *in,
                                     const float *out, int out_pad, int H, int W, int C);
void ae_upsample_forward_avx512(float *out, int out_pad, const float *in, int H, int W, int C);
void ae_upsample_backward_avx512(float *din, const float *dout, int H, int W, int C);

/* ---- input assembly ---------------------------------------------------- */

/* One image: x (784) = pixels / 255, made noisy when noise_factor > 0
 * (clip(x + f n, 0, 1), n the normal draw of (key, image * 784 + p));
 * target (784) = the clean values. */
void ae_pixels_row(float *x, float *target, const uint8_t *px, float noise_factor, uint64_t key,
                   int64_t image);
void ae_pixels_row_scalar(float *x, float *target, const uint8_t *px, float noise_factor,
                          uint64_t key, int64_t image);
void ae_pixels_row_avx512(float *x, float *target, const uint8_t *px, float noise_factor,
                          uint64_t key, int64_t image);

/* ---- elementwise ------------------------------------------------------- */

/* dz[i] = dy[i] if y[i] > 0 else 0 (relu backward from the relu output). */
void ae_relu_backward(float *dz, const float *dy, const float *y, int64_t n);
void ae_relu_backward_scalar(float *dz, const float *dy, const float *y, int64_t n);
void ae_relu_backward_avx2(float *dz, const float *dy, const float *y, int64_t n);
void ae_relu_backward_avx512(float *dz, const float *dy, const float *y, int64_t n);
/* x[i] = sigmoid(x[i]). */
void ae_sigmoid(float *x, int64_t n);
void ae_sigmoid_scalar(float *x, int64_t n);
void ae_sigmoid_avx2(float *x, int64_t n);
void ae_sigmoid_avx512(float *x, int64_t n);

/* Fused sigmoid + Keras binary cross-entropy + gradient, in one pass over
 * logits z (n values): p = sigmoid(z) is written back into z, and
 * dz = (p - y) * grad_scale where p lies inside [1e-7, 1 - 1e-7], else 0
 * (the clip's gradient).  Returns the sum over elements of the clipped BCE.
 * If lanes < 16 the arrays are (n/16, 16) blocks and lanes >= `lanes` are
 * ignored (loss 0, gradient 0).  dz may be NULL (validation). */
double ae_bce_sigmoid(float *z, float *dz, const float *y, int64_t n, float grad_scale, int lanes);
double ae_bce_sigmoid_scalar(float *z, float *dz, const float *y, int64_t n, float grad_scale,
                             int lanes);
double ae_bce_sigmoid_avx2(float *z, float *dz, const float *y, int64_t n, float grad_scale,
                           int lanes);
double ae_bce_sigmoid_avx512(float *z, float *dz, const float *y, int64_t n, float grad_scale,
                             int lanes);

/* The sum of 16 per-lane double accumulators in a fixed order (every
 * implementation of the loss reduces this way): (i, i+8), then (i, i+4),
 * (i, i+2), (0, 1). */
static inline double ae_lane_sum16d(const double *a)
{
    double b[8], c[4];
    for (int i = 0; i < 8; i++) b[i] = a[i] + a[i + 8];
    for (int i = 0; i < 4; i++) c[i] = b[i] + b[i + 4];
    return (c[0] + c[2]) + (c[1] + c[3]);
}

/* Keras-2 L1 activity regularizer on a relu code: returns sum |code| and,
 * if dcode is not NULL, adds l1 * sign(code) to it.  Lanes as above. */
double ae_l1_activity(const float *code, float *dcode, int64_t n, float l1, int lanes);

/* ---- optimiser --------------------------------------------------------- */

struct ae_adam_hp {
    float lr_t;   /* lr * sqrt(1 - b2^t) / (1 - b1^t), Keras form */
    float beta1, beta2, eps;
};
/* One Adam step on w[0..n) with gradient g (Keras' form; see NOTES.md). */
void ae_adam_update(float *w, float *m, float *v, const float *g, int64_t n,
                    const struct ae_adam_hp *hp);
/* The same with gradient g[0][i] + g[1][i] + ... + g[k-1][i], summed left to
 * right (the chunk gradients of a minibatch). */
void ae_adam_update_sum(float *w, float *m, float *v, const float *const *g, int k, int64_t n,
                        const struct ae_adam_hp *hp);
void ae_adam_update_scalar(float *w, float *m, float *v, const float *const *g, int k, int64_t n,
                           const struct ae_adam_hp *hp);
void ae_adam_update_avx2(float *w, float *m, float *v, const float *const *g, int k, int64_t n,
                         const struct ae_adam_hp *hp);
void ae_adam_update_avx512(float *w, float *m, float *v, const float *const *g, int k, int64_t n,
                           const struct ae_adam_hp *hp);
struct ae_adam_hp ae_adam_hparams(double lr, int64_t t);

#endif /* AE_KERNELS_H */
