/* test_ae_simd.c - the AVX-512 kernels give the same bits as the portable
 * ones (same operations in the same order), on random data including
 * tails, masked lanes, clipped logits and noisy pixels.  Skips the
 * comparison (but still checks the portable path) on CPUs without AVX-512. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/ae_rng.h"
#include "core/ae_kernels.h"

static uint32_t rs = 777;
static float frand(float scale)
{
    rs = rs * 1664525u + 1013904223u;
    return ((float)(rs >> 8) / 8388608.f - 1.f) * scale;
}

static int same_bits(const float *a, const float *b, size_t n)
{
    return memcmp(a, b, n * sizeof(float)) == 0;
}

int main(void)
{
    int have = ae_simd_avx512(), have2 = ae_simd_avx2();
    printf("AVX-512 kernels %s, AVX2 kernels %s\n", have ? "compared" : "not available",
           have2 ? "compared" : "not available");
    enum { N = 16 * 200 + 7 };
    static float z[N], y[N], z1[N], z2[N], d1[N], d2[N];
    for (int i = 0; i < N; i++) {
        z[i] = frand(20.f);
        y[i] = (float)(i * 37 % 256) / 255.f;
    }
    z[5] = 90.f;
    z[6] = -90.f;
    z[7] = 0.f;
    int lane_cases[3] = {16, 5, 1};
    for (int c = 0; c < 3; c++) {
        for (int64_t n = N; n >= N - 16; n -= 9) {
            memcpy(z1, z, sizeof z);
            double s1 = ae_bce_sigmoid_scalar(z1, d1, y, n, 0.001f, lane_cases[c]);
            CHECK(isfinite(s1) && s1 > 0);
            if (have2) {
                memcpy(z2, z, sizeof z);
                double s3 = ae_bce_sigmoid_avx2(z2, d2, y, n, 0.001f, lane_cases[c]);
                CHECK_MSG(s1 == s3, "avx2 bce sum n=%lld lanes=%d: %.17g vs %.17g", (long long)n,
                          lane_cases[c], s1, s3);
                CHECK(same_bits(z1, z2, (size_t)n));
                CHECK(same_bits(d1, d2, (size_t)n));
            }
            if (!have) continue;
            memcpy(z2, z, sizeof z);
            double s2 = ae_bce_sigmoid_avx512(z2, d2, y, n, 0.001f, lane_cases[c]);
            CHECK_MSG(s1 == s2, "bce sum n=%lld lanes=%d: %.17g vs %.17g", (long long)n, lane_cases[c], s1, s2);
            CHECK(same_bits(z1, z2, (size_t)n));
            CHECK(same_bits(d1, d2, (size_t)n));
        }
    }
    /* Without a gradient buffer (validation). */
    memcpy(z1, z, sizeof z);
    memcpy(z2, z, sizeof z);
    double v1 = ae_bce_sigmoid_scalar(z1, NULL, y, N, 1.f, 16);
    if (have) CHECK(v1 == ae_bce_sigmoid_avx512(z2, NULL, y, N, 1.f, 16));

    memcpy(z1, z, sizeof z);
    memcpy(z2, z, sizeof z);
    ae_sigmoid_scalar(z1, N - 3);
    if (have2) {
        ae_sigmoid_avx2(z2, N - 3);
        CHECK(same_bits(z1, z2, N));
        memcpy(z2, z, sizeof z);
    }
    if (have) {
        ae_sigmoid_avx512(z2, N - 3);
        CHECK(same_bits(z1, z2, N));
    }
    CHECK_NEAR(z1[0], 1 / (1 + exp(-(double)z[0])), 3e-7);

    ae_relu_backward_scalar(d1, y, z, N - 5);
    if (have2) {
        ae_relu_backward_avx2(d2, y, z, N - 5);
        CHECK(same_bits(d1, d2, N - 5));
    }
    if (have) {
        ae_relu_backward_avx512(d2, y, z, N - 5);
        CHECK(same_bits(d1, d2, N - 5));
    }

    /* Adam over 3 steps. */
    static float w1[N], m1[N], vv1[N], w2[N], m2[N], vv2[N], g[N], w3[N], m3[N], vv3[N];
    for (int i = 0; i < N; i++) w1[i] = w2[i] = w3[i] = frand(1.f);
    memset(m3, 0, sizeof m3);
    memset(vv3, 0, sizeof vv3);
    memset(m1, 0, sizeof m1); memset(m2, 0, sizeof m2); memset(vv1, 0, sizeof vv1); memset(vv2, 0, sizeof vv2);
    for (int t = 1; t <= 3; t++) {
        for (int i = 0; i < N; i++) g[i] = frand(0.01f);
        struct ae_adam_hp hp = ae_adam_hparams(0.001, t);
        /* the gradient as three chunk buffers summed in order */
        static float g2[N], g3[N];
        for (int i = 0; i < N; i++) g2[i] = frand(0.01f), g3[i] = frand(0.01f);
        const float *gs[3] = {g, g2, g3};
        ae_adam_update_scalar(w1, m1, vv1, gs, t, N - 2, &hp);
        if (have) ae_adam_update_avx512(w2, m2, vv2, gs, t, N - 2, &hp);
        if (have2) ae_adam_update_avx2(w3, m3, vv3, gs, t, N - 2, &hp);
    }
    if (have2) CHECK(same_bits(w1, w3, N) && same_bits(m1, m3, N) && same_bits(vv1, vv3, N));
    if (have) CHECK(same_bits(w1, w2, N) && same_bits(m1, m2, N) && same_bits(vv1, vv2, N));

    /* Pixels, clean and noisy. */
    uint8_t px[784];
    for (int i = 0; i < 784; i++) px[i] = (uint8_t)(i * 91 % 256);
    float x1[784], t1[784], x2[784], t2[784];
    uint64_t key = ae_rng_key(5, AE_RNG_NOISE_TRAIN);
    float factors[2] = {0.f, 0.5f};
    for (int k = 0; k < 2; k++) {
        ae_pixels_row_scalar(x1, t1, px, factors[k], key, 12345);
        for (int i = 0; i < 784; i++) CHECK_NEAR(t1[i], px[i] / 255.f, 0);
        int clipped_ok = 1;
        for (int i = 0; i < 784; i++) clipped_ok &= x1[i] >= 0.f && x1[i] <= 1.f;
        CHECK(clipped_ok);
        if (!have) continue;
        ae_pixels_row_avx512(x2, t2, px, factors[k], key, 12345);
        CHECK_MSG(same_bits(x1, x2, 784), "pixels (noise %.1f) differ", factors[k]);
        CHECK(same_bits(t1, t2, 784));
    }
    return check_summary("test_ae_simd");
}
