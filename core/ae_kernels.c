/*
 * ae_kernels.c - the run-time choice of each kernel's version: the CPU
 * checks, and every entry point of ae_kernels.h that picks between the
 * portable reference and a vector version.
 *
 * Owns nothing but that choice; the kernels themselves are in the files
 * ae_kernels.h lists.  The order of preference is AVX-512, then AVX2 + FMA,
 * then the portable code; all give the same bits, so the choice only
 * changes speed.  The environment switches (AE_SIMD, AE_NZ) are read once
 * per process.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ae_kernels.h"

/* ---- the CPU checks ---------------------------------------------------- */

bool ae_simd_avx512(void)
{
    /* Every thread computes the same value; the atomic makes the race
     * well-defined. */
    static atomic_int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        const char *force = getenv("AE_SIMD");
        __builtin_cpu_init();
        v = !(force && (strcmp(force, "scalar") == 0 || strcmp(force, "avx2") == 0)) &&
            __builtin_cpu_supports("avx512f") &&
            __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512vl");
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
}

bool ae_simd_avx2(void)
{
    static atomic_int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        const char *force = getenv("AE_SIMD");
        __builtin_cpu_init();
        v = !(force && strcmp(force, "scalar") == 0) && __builtin_cpu_supports("avx2") &&
            __builtin_cpu_supports("fma");
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
}

/* AE_NZ=off in the environment turns the zero-skipping kernels off
 * (benchmarks compare both ways in one run). */
static bool nz_enabled(void)
{
    static atomic_int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        const char *e = getenv("AE_NZ");
        v = !(e && strcmp(e, "off") == 0);
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
}

/* ---- elementwise and loss ---------------------------------------------- */

void ae_relu_backward(float *dz, const float *dy, const float *y, int64_t n)
{
    if (ae_simd_avx512())
        ae_relu_backward_avx512(dz, dy, y, n);
    else if (ae_simd_avx2())
        ae_relu_backward_avx2(dz, dy, y, n);
    else
        ae_relu_backward_scalar(dz, dy, y, n);
}

void ae_sigmoid(float *x, int64_t n)
{
    if (ae_simd_avx512())
        ae_sigmoid_avx512(x, n);
    else if (ae_simd_avx2())
        ae_sigmoid_avx2(x, n);
    else
        ae_sigmoid_scalar(x, n);
}

double ae_bce_sigmoid(float *z, float *dz, const float *y, int64_t n, float grad_scale, int lanes)
{
    if (ae_simd_avx512()) return ae_bce_sigmoid_avx512(z, dz, y, n, grad_scale, lanes);
    if (ae_simd_avx2()) return ae_bce_sigmoid_avx2(z, dz, y, n, grad_scale, lanes);
    return ae_bce_sigmoid_scalar(z, dz, y, n, grad_scale, lanes);
}

/* ---- optimiser --------------------------------------------------------- */

void ae_adam_update_sum(float *w, float *m, float *v, const float *const *g, int k, int64_t n,
                        const struct ae_adam_hp *hp)
{
    if (ae_simd_avx512())
        ae_adam_update_avx512(w, m, v, g, k, n, hp);
    else if (ae_simd_avx2())
        ae_adam_update_avx2(w, m, v, g, k, n, hp);
    else
        ae_adam_update_scalar(w, m, v, g, k, n, hp);
}

/* ---- input assembly ---------------------------------------------------- */

void ae_pixels_row(float *x, float *target, const uint8_t *px, float noise_factor, uint64_t key,
                   int64_t image)
{
    if (ae_simd_avx512())
        ae_pixels_row_avx512(x, target, px, noise_factor, key, image);
    else
        ae_pixels_row_scalar(x, target, px, noise_factor, key, image);
}

/* ---- conv, pool, upsample (blocked layout) ----------------------------- */

void ae_conv3_valid(float *out, const float *in, int64_t in_rs, int Ho, int Wo, int Cin, int Cout,
                    const float *w, const float *b, enum ae_act act)
{
    int relu = act == AE_ACT_RELU;
    if (ae_simd_avx512() && ae_conv3_valid_avx512(out, in, in_rs, Ho, Wo, Cin, Cout, w, b, relu)) return;
    if (ae_simd_avx2() && ae_conv3_valid_avx2(out, in, in_rs, Ho, Wo, Cin, Cout, w, b, relu)) return;
    ae_conv3_valid_scalar(out, in, in_rs, Ho, Wo, Cin, Cout, w, b, act);
}

void ae_conv3_wgrad(float *dwl, float *dbl, const float *in, int64_t in_rs, const float *dz,
                    int64_t dz_rs, int Ho, int Wo, int Cin, int Cout)
{
    if (ae_simd_avx512() && ae_conv3_wgrad_avx512(dwl, dbl, in, in_rs, dz, dz_rs, Ho, Wo, Cin, Cout)) return;
    if (ae_simd_avx2() && ae_conv3_wgrad_avx2(dwl, dbl, in, in_rs, dz, dz_rs, Ho, Wo, Cin, Cout)) return;
    ae_conv3_wgrad_scalar(dwl, dbl, in, in_rs, dz, dz_rs, Ho, Wo, Cin, Cout);
}

void ae_maxpool_forward(float *out, int out_pad, const float *in, int H, int W, int C)
{
    if (ae_simd_avx512())
        ae_maxpool_forward_avx512(out, out_pad, in, H, W, C);
    else
        ae_maxpool_forward_scalar(out, out_pad, in, H, W, C);
}

void ae_maxpool_backward_relu(float *din, const float *dout, const float *in, const float *out,
                              int out_pad, int H, int W, int C)
{
    if (ae_simd_avx512())
        ae_maxpool_backward_relu_avx512(din, dout, in, out, out_pad, H, W, C);
    else
        ae_maxpool_backward_relu_scalar(din, dout, in, out, out_pad, H, W, C);
}

void ae_upsample_forward(float *out, int out_pad, const float *in, int H, int W, int C)
{
    if (ae_simd_avx512())
        ae_upsample_forward_avx512(out, out_pad, in, H, W, C);
    else
        ae_upsample_forward_scalar(out, out_pad, in, H, W, C);
}

void ae_upsample_backward(float *din, const float *dout, int H, int W, int C)
{
    if (ae_simd_avx512())
        ae_upsample_backward_avx512(din, dout, H, W, C);
    else
        ae_upsample_backward_scalar(din, dout, H, W, C);
}

/* ---- dense layers skipping zero inputs --------------------------------- */

bool ae_nz_usable(int n_in, int n_out)
{
    return n_in % 16 == 0 && n_in <= AE_NZ_MAX_IN && n_out % 16 == 0 && n_out >= AE_NZ_TILE &&
           ae_simd_avx512() && nz_enabled();
}

void ae_nz_scan(struct ae_nz_mask *mk, const float *x, int n)
{
    if (ae_simd_avx512())
        ae_nz_scan_avx512(mk, x, n);
    else
        ae_nz_scan_scalar(mk, x, n);
}

void ae_nz_forward(float *out, const float *x, const struct ae_nz_mask *mk, const float *w,
                   const float *b, int n_out, enum ae_act act)
{
    if (ae_nz_usable(mk->n_in, n_out))
        ae_nz_forward_avx512(out, x, mk, w, b, n_out, act);
    else
        ae_nz_forward_scalar(out, x, mk, w, b, n_out, act);
}

void ae_nz_backward_w(float *dw, const float *x, const struct ae_nz_mask *mk, const float *dz,
                      int n_out, bool set)
{
    if (ae_nz_usable(mk->n_in, n_out))
        ae_nz_backward_w_avx512(dw, x, mk, dz, n_out, set);
    else
        ae_nz_backward_w_scalar(dw, x, mk, dz, n_out, set);
}
