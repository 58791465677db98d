/*
 * ae_ops.h - internal: the layer kernels.  Plain functions with explicit
 * buffers and sizes (llm.c style); backward functions ADD into parameter
 * gradients (+=) and OVERWRITE input gradients.
 *
 * Two layouts (NOTES.md explains why):
 *  - dense models: row-major (n, features);
 *  - conv models: blocked (H, W, C, 16) per block of 16 images, the image
 *    index innermost, so every kernel works on full 16-float vectors
 *    whatever the channel count or width.
 *
 * Maths of each backward pass: core/NOTES.md.
 *
 * The blocked-layout kernels take at most 64 channels (the portable ones
 * keep a cell of C x 16 values on the stack); the models use 1, 8 and 16.
 */
#ifndef AE_OPS_H
#define AE_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "ae_model.h"

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
/* ae_dense_backward (set: _set) for the rows of mk: dw += x^T dz skipping
 * zeros, db += column sums of dz, din = dz w^T with sgemm (skipped when
 * NULL). */
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

/* ---- elementwise ------------------------------------------------------- */

/* dz[i] = dy[i] if y[i] > 0 else 0 (relu backward from the relu output). */
void ae_relu_backward(float *dz, const float *dy, const float *y, int64_t n);
/* x[i] = sigmoid(x[i]). */
void ae_sigmoid(float *x, int64_t n);

/* Fused sigmoid + Keras binary cross-entropy + gradient, in one pass over
 * logits z (n values): p = sigmoid(z) is written back into z, and
 * dz = (p - y) * grad_scale where p lies inside [1e-7, 1 - 1e-7], else 0
 * (the clip's gradient).  Returns the sum over elements of the clipped BCE.
 * If lanes < 16 the arrays are (n/16, 16) blocks and lanes >= `lanes` are
 * ignored (loss 0, gradient 0).  dz may be NULL (validation). */
double ae_bce_sigmoid(float *z, float *dz, const float *y, int64_t n, float grad_scale, int lanes);

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
struct ae_adam_hp ae_adam_hparams(double lr, int64_t t);

#endif /* AE_OPS_H */
