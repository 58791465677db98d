/*
 * ae_loss.c - elementwise layers and the losses: relu backward, sigmoid,
 * the fused sigmoid + binary cross-entropy + gradient, the L1 activity
 * penalty.
 *
 * Owns the loss maths exactly as Keras computes it (NOTES.md):
 * p = sigmoid(z) in float32, clipped to [1e-7, 1 - 1e-7],
 * BCE = -(y log p + (1 - y) log(1 - p)), gradient zero where p was clipped.
 * The logs are taken of the float32 p, as Keras and PyTorch do, so the
 * loss inherits the same rounding of p near 1 (a softplus form of the
 * logit would be more exact, and differ from Keras by up to 1e-4 in the
 * mean loss when logits are large).
 */
#include <math.h>

#include "ae_kernels.h"
#include "ae_vmath.h"

#define EPS 1e-7f
#define ONE_M_EPS (1.f - 1e-7f)

void ae_relu_backward_scalar(float *dz, const float *dy, const float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++) dz[i] = y[i] > 0.f ? dy[i] : 0.f;
}

static inline float sigmoid_from(float z, float *a_out)
{
    float t = fminf(fabsf(z), 87.f);
    float a = ae_expf_poly(-t);
    float inv = 1.f / (1.f + a);
    if (a_out) *a_out = a;
    return z >= 0.f ? inv : a * inv;
}

void ae_sigmoid_scalar(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) x[i] = sigmoid_from(x[i], NULL);
}

/* One element: returns the loss, writes p into *z and the gradient. */
static inline float bce_one(float *z, float *dz, float y, float scale)
{
    float p = sigmoid_from(*z, NULL);
    float pc = p < EPS ? EPS : (p > ONE_M_EPS ? ONE_M_EPS : p);
    float g = (p >= EPS && p <= ONE_M_EPS) ? (p - y) * scale : 0.f;
    float loss = 0.f - (y * ae_logf_poly(pc) + (1.f - y) * ae_logf_poly(1.f - pc));
    *z = p;
    if (dz) *dz = g;
    return loss;
}

double ae_bce_sigmoid_scalar(float *z, float *dz, const float *y, int64_t n, float grad_scale,
                             int lanes)
{
    /* Losses add up per lane in double (element i into lane i % 16) and the
     * 16 lane sums are added once at the end, as the AVX-512 kernel does. */
    double acc[AE_LANES] = {0};
    for (int64_t i0 = 0; i0 < n; i0 += AE_LANES) {
        int64_t len = n - i0 < AE_LANES ? n - i0 : AE_LANES;
        for (int64_t k = 0; k < len; k++) {
            float *dzp = dz ? dz + i0 + k : NULL;
            if (k >= lanes) {
                z[i0 + k] = sigmoid_from(z[i0 + k], NULL);
                if (dzp) *dzp = 0.f;
                acc[k] += 0.0;
                continue;
            }
            acc[k] += (double)bce_one(z + i0 + k, dzp, y[i0 + k], grad_scale);
        }
        for (int64_t k = len; k < AE_LANES; k++) acc[k] += 0.0;
    }
    return ae_lane_sum16d(acc);
}

double ae_l1_activity(const float *code, float *dcode, int64_t n, float l1, int lanes)
{
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (lanes < AE_LANES && (i % AE_LANES) >= lanes) continue;
        float c = code[i];
        total += fabsf(c);
        if (dcode) dcode[i] += c > 0.f ? l1 : (c < 0.f ? -l1 : 0.f);
    }
    return total;
}
