/*
 * ae_latent.c - the vae's latent space from outside: Gaussian quantiles
 * (where the manifold picture places its grid) and decoded draws from the
 * prior N(0, I).
 *
 * Owns ae_normal_quantile and ae_model_sample_prior (ae.h).  Does not own
 * the decoder (ae_infer.c's ae_model_decode runs it) or any picture.
 *
 * Design: the quantile is Acklam's rational approximation (relative error
 * below 1.2e-9) polished by one Halley step on erfc, which brings it to
 * double precision; no table, no iteration count to tune.  Prior draws are
 * counter-based normals (ae_rng.h), a pure function of (seed, draw,
 * dimension), so the same seed gives the same samples on any machine and
 * for any n (the first n draws of a larger n are the same pictures).
 */
#include <math.h>

#include "ae.h"
#include "ae_rng.h"

/* Acklam's coefficients for the central region and the tails. */
static const double A[6] = {-3.969683028665376e+01, 2.209460984245205e+02,
                            -2.759285104469687e+02, 1.383577518672690e+02,
                            -3.066479806614716e+01, 2.506628277459239e+00};
static const double B[5] = {-5.447609879822406e+01, 1.615858368580409e+02,
                            -1.556989798598866e+02, 6.680131188771972e+01,
                            -1.328068155288572e+01};
static const double C[6] = {-7.784894002430293e-03, -3.223964580411365e-01,
                            -2.400758277161838e+00, -2.549732539343734e+00,
                            4.374664141464968e+00,  2.938163982698783e+00};
static const double D[4] = {7.784695709041462e-03, 3.224671290700398e-01,
                            2.445134137142996e+00, 3.754408661907416e+00};

#define P_LOW 0.02425

double ae_normal_quantile(double p)
{
    if (isnan(p) || p < 0.0 || p > 1.0) return NAN;
    if (p == 0.0) return -INFINITY;
    if (p == 1.0) return INFINITY;
    /* The upper half by symmetry: 1 - p is exact there (Sterbenz), and the
     * correction below needs Phi(x) - p where Phi(x) has relative
     * precision, i.e. on the lower side. */
    if (p > 0.5) return -ae_normal_quantile(1.0 - p);
    double x;
    if (p < P_LOW) {
        double q = sqrt(-2.0 * log(p));
        x = (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) /
            ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0);
    } else {
        double q = p - 0.5, r = q * q;
        x = (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q /
            (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0);
    }
    /* One Halley step on f(x) = Phi(x) - p, Phi(x) = erfc(-x / sqrt 2) / 2. */
    double e = 0.5 * erfc(-x / M_SQRT2) - p;
    double u = e * sqrt(2.0 * M_PI) * exp(0.5 * x * x);
    return x - u / (1.0 + 0.5 * x * u);
}

enum ae_status ae_model_sample_prior(const struct ae_model *m, int32_t n, uint64_t seed,
                                     float *z, float *images, struct ae_err *err)
{
    if (!m || !images || n < 1)
        return ae_err_set(err, AE_ERR_ARG, "ae_model_sample_prior: model, images and n >= 1 are required");
    const struct ae_config *cfg = ae_model_config(m);
    if (cfg->model != AE_MODEL_VAE)
        return ae_err_set(err, AE_ERR_ARG, "samples from the prior need the vae model, not %s",
                          ae_model_name(cfg->model));
    int32_t L = cfg->latent_dim;
    float *zz = z ? z : ae_malloc(sizeof *zz * (size_t)n * (size_t)L);
    if (!zz) return ae_err_set(err, AE_ERR_NOMEM, "out of memory for %d latent draws", n);
    uint64_t key = ae_rng_key(seed, AE_RNG_PRIOR);
    for (int64_t q = 0; q < (int64_t)n * L; q++) zz[q] = ae_normal_from_bits(ae_rng_at(key, (uint64_t)q));
    enum ae_status st = ae_model_decode(m, zz, n, images, err);
    if (zz != z) ae_free(zz);
    return st;
}
