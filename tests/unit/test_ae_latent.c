/*
 * test_ae_latent.c - core/ae_latent.c: the normal quantile against published
 * values and against erfc (its inverse), and decoded draws from the vae's
 * prior (reproducible by seed, N(0, 1) statistics, equal to decoding the
 * same z, refused for other models).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/ae.h"

static double phi(double x) { return 0.5 * erfc(-x / M_SQRT2); }
static double pdf(double x) { return exp(-0.5 * x * x) / sqrt(2.0 * M_PI); }

static void test_quantile(void)
{
    /* Published values of the standard normal's quantile function. */
    CHECK_NEAR(ae_normal_quantile(0.5), 0.0, 1e-15);
    CHECK_REL(ae_normal_quantile(0.975), 1.959963984540054, 1e-14, 0);
    CHECK_REL(ae_normal_quantile(0.95), 1.6448536269514722, 1e-14, 0);
    CHECK_REL(ae_normal_quantile(0.05), -1.6448536269514729, 1e-14, 0);
    CHECK_REL(ae_normal_quantile(0.999), 3.090232306167813, 1e-13, 0);
    CHECK_REL(ae_normal_quantile(1e-10), -6.361340902404056, 1e-12, 0);
    CHECK_REL(ae_normal_quantile(0.8413447460685429), 1.0, 1e-13, 0);
    /* The tails and the central region, against the CDF: the error of x
     * implied by the CDF's residual, dx = (Phi(x) - p) / pdf(x), measured
     * on the near tail (1 - Phi(x) = Phi(-x)) where the CDF has the digits,
     * in units of x's own rounding (2^-52 max(1, |x|)). */
    double worst = 0;
    for (int i = 1; i < 2000; i++) {
        double p = i / 2000.0;
        double x = ae_normal_quantile(p);
        double r = p < 0.5 ? phi(x) - p : (1.0 - p) - phi(-x);
        worst = fmax(worst, fabs(r / pdf(x)) / (DBL_EPSILON * fmax(1.0, fabs(x))));
        CHECK_NEAR(x, -ae_normal_quantile(1.0 - p), 1e-12 * (1 + fabs(x)));
    }
    for (double p = 1e-300; p < 0.02; p *= 7.3) {
        double x = ae_normal_quantile(p);
        worst = fmax(worst, fabs((phi(x) - p) / pdf(x)) / (DBL_EPSILON * fabs(x)));
    }
    CHECK_MSG(worst < 2, "quantile error is %.3g units of its rounding", worst);
    /* Monotone on the manifold's grid, linspace(0.05, 0.95, 15). */
    double prev = -INFINITY;
    for (int i = 0; i < 15; i++) {
        double x = ae_normal_quantile(0.05 + 0.9 * i / 14.0);
        CHECK(x > prev);
        prev = x;
    }
    CHECK(isinf(ae_normal_quantile(0.0)) && ae_normal_quantile(0.0) < 0);
    CHECK(isinf(ae_normal_quantile(1.0)) && ae_normal_quantile(1.0) > 0);
    CHECK(isnan(ae_normal_quantile(-0.1)) && isnan(ae_normal_quantile(1.5)) &&
          isnan(ae_normal_quantile(NAN)));
}

static void test_prior(void)
{
    struct ae_config c;
    ae_config_defaults(&c, AE_MODEL_VAE);
    c.latent_dim = 3;
    c.seed = 5;
    struct ae_model *m = NULL;
    CHECK_EQ_INT(ae_model_new(&c, &m, NULL), AE_OK);
    if (!m) return;
    enum { N = 1000 };
    float *z = malloc(sizeof(float) * N * 3), *img = malloc(sizeof(float) * N * 784);
    float *img2 = malloc(sizeof(float) * N * 784), *z2 = malloc(sizeof(float) * N * 3);
    CHECK_EQ_INT(ae_model_sample_prior(m, N, 42, z, img, NULL), AE_OK);

    /* z ~ N(0, 1): mean and variance of 3000 draws, and no two equal. */
    double s = 0, s2 = 0;
    for (int i = 0; i < N * 3; i++) {
        s += z[i];
        s2 += (double)z[i] * z[i];
    }
    double mean = s / (N * 3), var = s2 / (N * 3) - mean * mean;
    CHECK_MSG(fabs(mean) < 0.08 && fabs(var - 1.0) < 0.1, "prior draws: mean %.3f var %.3f", mean, var);
    CHECK(z[0] != z[1] && z[1] != z[2] && z[0] != z[3]);

    /* The images are the decoder's output for those z. */
    CHECK_EQ_INT(ae_model_decode(m, z, N, img2, NULL), AE_OK);
    CHECK(memcmp(img, img2, sizeof(float) * N * 784) == 0);
    float lo = 1, hi = 0;
    for (int i = 0; i < N * 784; i++) {
        lo = fminf(lo, img[i]);
        hi = fmaxf(hi, img[i]);
    }
    CHECK(lo >= 0.0f && hi <= 1.0f && hi > lo);

    /* Same seed, same pictures; the first 7 of N are the pictures of n = 7;
     * another seed gives other pictures; z may be NULL. */
    CHECK_EQ_INT(ae_model_sample_prior(m, 7, 42, NULL, img2, NULL), AE_OK);
    CHECK(memcmp(img, img2, sizeof(float) * 7 * 784) == 0);
    CHECK_EQ_INT(ae_model_sample_prior(m, 7, 43, z2, img2, NULL), AE_OK);
    CHECK(memcmp(img, img2, sizeof(float) * 7 * 784) != 0);
    CHECK(memcmp(z, z2, sizeof(float) * 7 * 3) != 0);

    /* Errors. */
    struct ae_err err;
    CHECK_EQ_INT(ae_model_sample_prior(m, 0, 1, NULL, img, &err), AE_ERR_ARG);
    CHECK_EQ_INT(ae_model_sample_prior(m, 1, 1, NULL, NULL, &err), AE_ERR_ARG);
    struct ae_model *o = NULL;
    ae_config_defaults(&c, AE_MODEL_DEEP);
    CHECK_EQ_INT(ae_model_new(&c, &o, NULL), AE_OK);
    CHECK_EQ_INT(ae_model_sample_prior(o, 1, 1, NULL, img, &err), AE_ERR_ARG);
    CHECK(strstr(err.msg, "vae") != NULL && strstr(err.msg, "deep") != NULL);
    ae_model_free(o);
    ae_model_free(m);
    free(z);
    free(z2);
    free(img);
    free(img2);
}

int main(void)
{
    test_quantile();
    test_prior();
    return check_summary("test_ae_latent");
}
