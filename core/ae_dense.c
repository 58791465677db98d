/*
 * ae_dense.c - fully connected layers, row-major (n, features).
 *
 * Owns the dense forward and backward.  The matrix products go to OpenBLAS
 * sgemm (single-threaded: the trainer owns the threads, see ae_team.c);
 * bias and relu are applied in the same pass that follows.
 *
 * Backward maths (NOTES.md): z = x W + b, so dW = x^T dz, db = sum_rows dz,
 * dx = dz W^T.
 */
#include <cblas.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "ae_kernels.h"

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_single_thread(void) { openblas_set_num_threads(1); }

void ae_dense_setup(void) { pthread_once(&blas_once, blas_single_thread); }

void ae_dense_forward(float *out, const float *in, const float *w, const float *b, int n,
                      int n_in, int n_out, enum ae_act act)
{
    /* Start from the bias in every row, then accumulate the product. */
    for (int r = 0; r < n; r++) memcpy(out + (size_t)r * n_out, b, sizeof(float) * (size_t)n_out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n_out, n_in, 1.f, in, n_in, w, n_out,
                1.f, out, n_out);
    if (act == AE_ACT_RELU) {
        size_t total = (size_t)n * n_out;
        for (size_t i = 0; i < total; i++) out[i] = out[i] > 0.f ? out[i] : 0.f;
    }
}

void ae_dense_bias_grad(float *db, const float *dz, int n, int n_out, bool set)
{
    if (set) memset(db, 0, sizeof(float) * (size_t)n_out);
    for (int r = 0; r < n; r++) {
        const float *row = dz + (size_t)r * n_out;
        for (int j = 0; j < n_out; j++) db[j] += row[j];
    }
}

void ae_dense_input_grad(float *din, const float *dz, const float *w, int n, int n_in, int n_out)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n_in, n_out, 1.f, dz, n_out, w, n_out,
                0.f, din, n_in);
}

static void backward(float *din, float *dw, float *db, const float *dz, const float *in,
                     const float *w, int n, int n_in, int n_out, bool set)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n_in, n_out, n, 1.f, in, n_in, dz, n_out,
                set ? 0.f : 1.f, dw, n_out);
    ae_dense_bias_grad(db, dz, n, n_out, set);
    if (din) ae_dense_input_grad(din, dz, w, n, n_in, n_out);
}

void ae_dense_backward(float *din, float *dw, float *db, const float *dz, const float *in,
                       const float *w, int n, int n_in, int n_out)
{
    backward(din, dw, db, dz, in, w, n, n_in, n_out, false);
}

void ae_dense_backward_set(float *din, float *dw, float *db, const float *dz, const float *in,
                           const float *w, int n, int n_in, int n_out)
{
    backward(din, dw, db, dz, in, w, n, n_in, n_out, true);
}
