/*
 * test_ae_pca.c - principal components (core/ae_pca.c) against covariances
 * whose eigenpairs are known by construction, against an independent
 * double-precision covariance and power iteration written here, the sign
 * convention, projection, and the argument errors.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/ae.h"

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static double urand(void) /* uniform in [0, 1), xorshift64* */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

/* A random orthonormal basis q (d, d), row i = vector i (Gram-Schmidt twice). */
static void random_basis(double *q, int d)
{
    for (int i = 0; i < d; i++) {
        double *v = q + (size_t)i * d;
        for (int j = 0; j < d; j++) v[j] = urand() - 0.5;
        for (int pass = 0; pass < 2; pass++)
            for (int k = 0; k < i; k++) {
                const double *u = q + (size_t)k * d;
                double dot = 0;
                for (int j = 0; j < d; j++) dot += v[j] * u[j];
                for (int j = 0; j < d; j++) v[j] -= dot * u[j];
            }
        double nrm = 0;
        for (int j = 0; j < d; j++) nrm += v[j] * v[j];
        nrm = sqrt(nrm);
        for (int j = 0; j < d; j++) v[j] /= nrm;
    }
}

/* Flip v so its largest-magnitude entry is positive (the documented
 * convention), for comparing with expected vectors. */
static void canonical_sign(double *v, int d)
{
    int big = 0;
    for (int j = 1; j < d; j++)
        if (fabs(v[j]) > fabs(v[big])) big = j;
    if (v[big] < 0)
        for (int j = 0; j < d; j++) v[j] = -v[j];
}

static double max_abs_diff(const double *a, const double *b, int d)
{
    double m = 0;
    for (int j = 0; j < d; j++) m = fmax(m, fabs(a[j] - b[j]));
    return m;
}

/* Points mean +- s_i q_i for i < d: the sample covariance is exactly
 * sum_i 2 s_i^2 q_i q_i^T / (n - 1), so its eigenpairs are
 * (2 s_i^2 / (n - 1), q_i). */
static void test_known_covariance(int d)
{
    int n = 2 * d;
    double *q = malloc(sizeof(double) * (size_t)d * d);
    double *s = malloc(sizeof(double) * (size_t)d), *mu = malloc(sizeof(double) * (size_t)d);
    float *x = malloc(sizeof(float) * (size_t)n * d);
    double *mean = malloc(sizeof(double) * (size_t)d), *comp = malloc(sizeof(double) * 2 * (size_t)d);
    double var[2];
    random_basis(q, d);
    for (int i = 0; i < d; i++) {
        s[i] = 4.0 - 3.0 * i / d; /* distinct, decreasing: 4.0, ... */
        mu[i] = 10.0 * (urand() - 0.5);
    }
    for (int i = 0; i < d; i++)
        for (int sg = 0; sg < 2; sg++)
            for (int j = 0; j < d; j++)
                x[(size_t)(2 * i + sg) * d + j] = (float)(mu[j] + (sg ? -1 : 1) * s[i] * q[(size_t)i * d + j]);

    struct ae_err err;
    CHECK_EQ_INT(ae_pca_fit(x, n, d, 2, mean, comp, var, &err), AE_OK);
    for (int c = 0; c < 2; c++) {
        double want = 2.0 * s[c] * s[c] / (n - 1);
        CHECK_REL(var[c], want, 1e-5, 1e-9);
        double *expect = q + (size_t)c * d;
        canonical_sign(expect, d);
        double diff = max_abs_diff(comp + (size_t)c * d, expect, d);
        CHECK_MSG(diff < 1e-4, "d %d component %d differs from the construction by %.3g", d, c, diff);
    }
    CHECK_MSG(max_abs_diff(mean, mu, d) < 1e-5, "means");

    /* The projection of mean + s_0 q_0 is (s_0, 0); its mirror (-s_0, 0). */
    float out[4];
    ae_pca_project(x, 2, d, 2, mean, comp, out);
    double sign0 = 0; /* which way q_0 was flipped */
    for (int j = 0; j < d; j++) sign0 += comp[j] * (x[j] - mu[j]);
    CHECK_REL(fabs(out[0]), s[0], 1e-5, 1e-6);
    CHECK_NEAR(out[0], sign0, 1e-4);
    CHECK_NEAR(out[1], 0.0, 1e-4);
    CHECK_NEAR(out[2], -out[0], 1e-4);

    free(q);
    free(s);
    free(mu);
    free(x);
    free(mean);
    free(comp);
}

/* Random correlated data: compare with a covariance computed here in the
 * most naive way and check the eigen-equations, orthonormality and that no
 * direction has more variance (power iteration). */
static void test_against_naive(int n, int d)
{
    float *x = malloc(sizeof(float) * (size_t)n * d);
    double *cov = calloc((size_t)d * d, sizeof(double)), *mu = calloc((size_t)d, sizeof(double));
    double *mean = malloc(sizeof(double) * (size_t)d), *comp = malloc(sizeof(double) * 3 * (size_t)d);
    double var[3];
    /* x = a few latent factors mixed into d columns, plus noise. */
    for (int i = 0; i < n; i++) {
        double f0 = 3 * (urand() - 0.5), f1 = 2 * (urand() - 0.5), f2 = urand() - 0.5;
        for (int j = 0; j < d; j++)
            x[(size_t)i * d + j] = (float)(f0 * sin(0.1 * j + 1) + f1 * cos(0.37 * j) +
                                           f2 * ((j % 3) - 1) + 0.1 * (urand() - 0.5) + 5.0);
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mu[j] += x[(size_t)i * d + j] / (double)n;
    for (int i = 0; i < n; i++)
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++)
                cov[(size_t)a * d + b] += (x[(size_t)i * d + a] - mu[a]) * (x[(size_t)i * d + b] - mu[b]) /
                                          (double)(n - 1);

    CHECK_EQ_INT(ae_pca_fit(x, n, d, 3, mean, comp, var, NULL), AE_OK);
    CHECK(var[0] >= var[1] && var[1] >= var[2] && var[2] > 0);
    double *cv = malloc(sizeof(double) * (size_t)d);
    for (int c = 0; c < 3; c++) {
        const double *v = comp + (size_t)c * d;
        double res = 0, nrm = 0;
        for (int a = 0; a < d; a++) {
            double s = 0;
            for (int b = 0; b < d; b++) s += cov[(size_t)a * d + b] * v[b];
            res += (s - var[c] * v[a]) * (s - var[c] * v[a]);
            nrm += v[a] * v[a];
        }
        CHECK_MSG(sqrt(res) < 1e-8 * var[0], "n %d d %d: |C v - lambda v| = %.3g for component %d",
                  n, d, sqrt(res), c);
        CHECK_NEAR(nrm, 1.0, 1e-12);
        for (int c2 = 0; c2 < c; c2++) {
            double dot = 0;
            for (int a = 0; a < d; a++) dot += v[a] * comp[(size_t)c2 * d + a];
            CHECK_NEAR(dot, 0.0, 1e-10);
        }
        int big = 0;
        for (int a = 1; a < d; a++)
            if (fabs(v[a]) > fabs(v[big])) big = a;
        CHECK_MSG(v[big] > 0, "sign convention: component %d's largest entry is %g", c, v[big]);
    }
    /* Power iteration finds the largest eigenvalue independently. */
    for (int a = 0; a < d; a++) cv[a] = 1.0 + 0.01 * a;
    double lambda = 0;
    for (int it = 0; it < 500; it++) {
        double *nv = malloc(sizeof(double) * (size_t)d), nrm = 0;
        for (int a = 0; a < d; a++) {
            double s = 0;
            for (int b = 0; b < d; b++) s += cov[(size_t)a * d + b] * cv[b];
            nv[a] = s;
            nrm += s * s;
        }
        nrm = sqrt(nrm);
        lambda = nrm;
        for (int a = 0; a < d; a++) cv[a] = nv[a] / nrm;
        free(nv);
    }
    CHECK_REL(var[0], lambda, 1e-6, 0);
    /* The projected first coordinate has variance var[0]. */
    float *p = malloc(sizeof(float) * (size_t)n * 3);
    ae_pca_project(x, n, d, 3, mean, comp, p);
    double m0 = 0, v0 = 0;
    for (int i = 0; i < n; i++) m0 += p[(size_t)i * 3] / n;
    for (int i = 0; i < n; i++) v0 += (p[(size_t)i * 3] - m0) * (p[(size_t)i * 3] - m0) / (n - 1);
    CHECK_NEAR(m0, 0.0, 1e-4);
    CHECK_REL(v0, var[0], 1e-4, 0);

    /* The same data negated: the same covariance, so the same components
     * (the sign convention does not follow the data's sign). */
    double *comp2 = malloc(sizeof(double) * 3 * (size_t)d);
    for (size_t q = 0; q < (size_t)n * d; q++) x[q] = -x[q];
    CHECK_EQ_INT(ae_pca_fit(x, n, d, 3, mean, comp2, NULL, NULL), AE_OK);
    CHECK_MSG(max_abs_diff(comp, comp2, 3 * d) < 1e-9, "negated data: components differ by %.3g",
              max_abs_diff(comp, comp2, 3 * d));
    free(comp2);
    free(p);
    free(cv);
    free(x);
    free(cov);
    free(mu);
    free(mean);
    free(comp);
}

static void test_errors(void)
{
    float x[6] = {1, 2, 3, 4, 5, 6};
    double mean[3], comp[9], var[3];
    struct ae_err err;
    CHECK_EQ_INT(ae_pca_fit(x, 1, 3, 1, mean, comp, var, &err), AE_ERR_ARG);
    CHECK(strstr(err.msg, "n >= 2") != NULL);
    CHECK_EQ_INT(ae_pca_fit(x, 2, 3, 4, mean, comp, var, &err), AE_ERR_ARG);
    CHECK_EQ_INT(ae_pca_fit(x, 2, 3, 0, mean, comp, var, &err), AE_ERR_ARG);
    CHECK_EQ_INT(ae_pca_fit(NULL, 2, 3, 1, mean, comp, var, &err), AE_ERR_ARG);
    x[4] = NAN;
    CHECK_EQ_INT(ae_pca_fit(x, 2, 3, 1, mean, comp, var, &err), AE_ERR_NUMERIC);
    CHECK(strstr(err.msg, "row 1, column 1") != NULL);
    /* A single column works (k = d = 1): the component is +1. */
    float y[4] = {1, 3, 2, 6};
    CHECK_EQ_INT(ae_pca_fit(y, 4, 1, 1, mean, comp, var, &err), AE_OK);
    CHECK_NEAR(comp[0], 1.0, 1e-15);
    CHECK_NEAR(mean[0], 3.0, 1e-15);
    CHECK_NEAR(var[0], (4.0 + 0.0 + 1.0 + 9.0) / 3.0, 1e-12);
}

int main(void)
{
    test_known_covariance(3);
    test_known_covariance(32);
    test_known_covariance(128);
    test_against_naive(500, 20);
    test_against_naive(300, 784);
    test_errors();
    return check_summary("test_ae_pca");
}
