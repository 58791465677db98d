/*
 * ae_vmath.h - internal: exp, log and the normal draw as short polynomials.
 *
 * The scalar functions here are the reference the SIMD kernels mirror
 * operation for operation (same reductions, same coefficients, fused
 * multiply-adds in the same places), so the scalar fallback and the
 * AVX2/AVX-512 paths give the same bits.  Coefficients are Taylor
 * coefficients (1/n!, 1/(2k+1)); accuracy is a few float ulps over the
 * ranges used, which tests/unit/test_vmath.c checks against libm.
 */
#ifndef AE_VMATH_H
#define AE_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float ae_bits_to_float(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t ae_float_to_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

#define AE_LN2_HI 0.693145751953125f      /* ln 2 split so k*LN2_HI is exact */
#define AE_LN2_LO 1.42860682030941723e-6f
#define AE_LOG2E 1.44269504088896341f

/* exp(x) for x in [-87, 88] (callers clamp): x = k ln2 + r, |r| <= ln2/2,
 * exp(r) by its Taylor series to r^7 (error < 1e-8 relative). */
static inline float ae_expf_poly(float x)
{
    float k = rintf(x * AE_LOG2E);
    float r = fmaf(-k, AE_LN2_HI, x);
    r = fmaf(-k, AE_LN2_LO, r);
    float p = 1.f / 5040;
    p = fmaf(p, r, 1.f / 720);
    p = fmaf(p, r, 1.f / 120);
    p = fmaf(p, r, 1.f / 24);
    p = fmaf(p, r, 1.f / 6);
    p = fmaf(p, r, 0.5f);
    p = fmaf(p, r, 1.f);
    p = fmaf(p, r, 1.f);
    int32_t ki = (int32_t)k;
    return p * ae_bits_to_float((uint32_t)(ki + 127) << 23);
}

/* log(x) for normal positive x: x = m 2^e with m in [sqrt(1/2), sqrt(2)),
 * log m = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.172, series to s^9. */
static inline float ae_logf_poly(float x)
{
    uint32_t u = ae_float_to_bits(x);
    /* Subtract the bits of sqrt(1/2) so the exponent lands right. */
    int32_t e = ((int32_t)u - 0x3F3504F3) >> 23; /* arithmetic shift: floor */
    float m = ae_bits_to_float(u - ((uint32_t)e << 23));
    float s = (m - 1.f) / (m + 1.f);
    float s2 = s * s;
    float p = 1.f / 9;
    p = fmaf(p, s2, 1.f / 7);
    p = fmaf(p, s2, 1.f / 5);
    p = fmaf(p, s2, 1.f / 3);
    p = p * s2;
    float t = 2.f * s;
    float ef = (float)e;
    return fmaf(ef, AE_LN2_HI, fmaf(t, p, fmaf(ef, AE_LN2_LO, t)));
}

/* cos(2 pi u) for u in [0, 1): with a = |u - round(u)| in [0, 1/2],
 * cos(2 pi a) = sin(2 pi (1/4 - a)), argument in [-pi/2, pi/2], Taylor to
 * y^13. */
static inline float ae_cos2pi_poly(float u)
{
    float a = fabsf(u - rintf(u));
    float y = (0.25f - a) * 6.28318530717958648f;
    float y2 = y * y;
    float p = -1.f / 6227020800.f;
    p = fmaf(p, y2, 1.f / 39916800.f);
    p = fmaf(p, y2, -1.f / 362880.f);
    p = fmaf(p, y2, 1.f / 5040.f);
    p = fmaf(p, y2, -1.f / 120.f);
    p = fmaf(p, y2, 1.f / 6.f);
    p = p * y2;
    return fmaf(-y, p, y);
}

/* Standard normal from 64 random bits by Box-Muller (cos branch):
 * u1 in (0, 1] from the top 24 bits, u2 in [0, 1) from the low 24. */
static inline float ae_normal_scalar(uint64_t bits)
{
    float u1 = (float)((uint32_t)(bits >> 40) + 1u) * 0x1.0p-24f;
    float u2 = (float)((uint32_t)bits & 0xFFFFFFu) * 0x1.0p-24f;
    float r = sqrtf(-2.f * ae_logf_poly(u1));
    return r * ae_cos2pi_poly(u2);
}

#endif /* AE_VMATH_H */
