/* test_ae_vmath.c - the polynomial exp/log/cos and the normal draw against
 * libm and against the normal distribution's moments; the RNG's shuffle. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "core/ae_rng.h"
#include "core/ae_vmath.h"

int main(void)
{
    double worst = 0;
    for (float x = -87.f; x <= 88.f; x += 0.013f) {
        double want = exp((double)x), got = ae_expf_poly(x);
        double rel = fabs(got - want) / want;
        if (rel > worst) worst = rel;
    }
    CHECK_MSG(worst < 4e-7, "exp worst relative error %g", worst);
    worst = 0;
    for (float x = 1e-30f; x < 1e30f; x *= 1.37f) {
        double want = log((double)x), got = ae_logf_poly(x);
        double err = fabs(got - want) / fmax(fabs(want), 1.0);
        if (err > worst) worst = err;
    }
    for (float x = 0.5f; x < 2.f; x += 1e-4f) {
        double want = log((double)x), got = ae_logf_poly(x);
        double err = fabs(got - want) / fmax(fabs(want), 1e-3);
        if (err > worst) worst = err;
    }
    CHECK_MSG(worst < 4e-7, "log worst error %g", worst);
    worst = 0;
    for (float u = 0; u < 1.f; u += 1e-4f) {
        double want = cos(2 * M_PI * (double)u), got = ae_cos2pi_poly(u);
        if (fabs(got - want) > worst) worst = fabs(got - want);
    }
    CHECK_MSG(worst < 3e-7, "cos worst error %g", worst);

    /* Normal draws: mean 0, variance 1, symmetric tails. */
    double s1 = 0, s2 = 0, s4 = 0;
    int n = 400000, beyond2 = 0;
    uint64_t key = ae_rng_key(7, AE_RNG_NOISE_TRAIN);
    for (int i = 0; i < n; i++) {
        double z = ae_normal_from_bits(ae_rng_at(key, (uint64_t)i));
        s1 += z;
        s2 += z * z;
        s4 += z * z * z * z;
        if (fabs(z) > 2) beyond2++;
    }
    CHECK_NEAR(s1 / n, 0, 0.01);
    CHECK_NEAR(s2 / n, 1, 0.01);
    CHECK_NEAR(s4 / n, 3, 0.06);
    CHECK_NEAR((double)beyond2 / n, 0.0455, 0.002);
    /* Counter-based: the same (key, counter) gives the same bits. */
    CHECK(ae_rng_at(key, 12345) == ae_rng_at(key, 12345));
    CHECK(ae_rng_at(key, 12345) != ae_rng_at(key, 12346));
    CHECK(ae_rng_key(1, AE_RNG_NOISE_TRAIN) != ae_rng_key(1, AE_RNG_NOISE_TEST));

    /* Shuffle: a permutation, different per seed, reproducible. */
    struct ae_rng a, b;
    int32_t p[1000], q[1000], seen[1000] = {0};
    for (int i = 0; i < 1000; i++) p[i] = q[i] = i;
    ae_rng_seed(&a, 1, AE_RNG_SHUFFLE);
    ae_rng_seed(&b, 1, AE_RNG_SHUFFLE);
    ae_rng_shuffle(&a, p, 1000);
    ae_rng_shuffle(&b, q, 1000);
    int same = 1, fixed = 0;
    for (int i = 0; i < 1000; i++) {
        same &= p[i] == q[i];
        seen[p[i]]++;
        fixed += p[i] == i;
    }
    CHECK(same);
    CHECK(fixed < 10);
    int perm = 1;
    for (int i = 0; i < 1000; i++) perm &= seen[i] == 1;
    CHECK(perm);
    /* Uniformity of ae_rng_below over a small bound. */
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) counts[ae_rng_below(&a, 7)]++;
    for (int i = 0; i < 7; i++) CHECK_NEAR(counts[i], 10000, 400);
    return check_summary("test_ae_vmath");
}
