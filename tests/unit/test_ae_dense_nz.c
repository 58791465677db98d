/* test_ae_dense_nz.c - the zero-skipping dense layers (core/ae_dense_nz.c):
 *  - the masks: every bit and the nonzero count, against the inputs;
 *  - the portable reference equals sgemm (ae_dense_forward/backward) up to
 *    the order of the sums, for set and for accumulated gradients, and the
 *    input gradient is sgemm's;
 *  - the AVX-512 kernels give the reference's exact bits (skipped, with a
 *    note, on CPUs without AVX-512);
 *  - the density rule takes sparse rows and leaves dense ones to sgemm;
 * on row counts around the 64-row mask words, every layer shape of the
 * dense models that can skip zeros (784 -> 128/256, 128/256 -> 784, and
 * 32/64 inputs), plus 512-wide outputs, with densities from all-zero to
 * all-nonzero. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/ae_kernels.h"

static uint32_t rs = 4242;
static float frand01(void)
{
    rs = rs * 1664525u + 1013904223u;
    return (float)(rs >> 8) / 16777216.f;
}

static float *falloc(size_t n)
{
    float *p = aligned_alloc(64, ((n * sizeof(float) + 63) / 64) * 64);
    if (!p) abort();
    return p;
}

static double max_rel(const float *a, const float *b, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++) e = fmax(e, fabs((double)a[i] - b[i]) / (1.0 + fabs((double)b[i])));
    return e;
}

static int same_bits(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

static void *mask_new(struct ae_nz_mask *mk, int cap, int n_in)
{
    size_t bytes = (size_t)ae_nz_mask_bytes(cap, n_in);
    void *mem = aligned_alloc(64, bytes);
    if (!mem) abort();
    ae_nz_mask_init(mk, cap, n_in, mem);
    return mem;
}

/* n rows of K inputs, nonzero with probability dens (k/255 like pixels). */
static void inputs(float *x, int n, int K, double dens)
{
    for (size_t i = 0; i < (size_t)n * K; i++)
        x[i] = frand01() < dens ? (float)(1 + (int)(frand01() * 254.f)) / 255.f : 0.f;
}

static void check_masks(const struct ae_nz_mask *mk, const float *x, int n, const char *what)
{
    int K = mk->n_in, words = ae_nz_row_words(K);
    int64_t nnz = 0;
    int bad = 0;
    for (int r = 0; r < n; r++) {
        const uint16_t *rm = mk->row + (size_t)r * words;
        for (int k = 0; k < K; k++) {
            int nz = x[(size_t)r * K + k] != 0.f;
            nnz += nz;
            int rb = (rm[k / 16] >> (k % 16)) & 1;
            int cb = (int)((mk->col[(size_t)(r / 64) * K + k] >> (r % 64)) & 1);
            bad += rb != nz || cb != nz;
        }
        bad += rm[words - 1] != 0;
    }
    /* bits of rows past n in the last column word stay clear */
    if (n % 64)
        for (int k = 0; k < K; k++) bad += (mk->col[(size_t)(n / 64) * K + k] >> (n % 64)) != 0;
    CHECK_MSG(bad == 0, "%s: %d mask bits wrong", what, bad);
    CHECK_MSG(mk->nnz == nnz && mk->n == n, "%s: nnz %lld n %d, expected %lld %d", what,
              (long long)mk->nnz, mk->n, (long long)nnz, n);
}

static void run_case(int n, int K, int n_out, double dens, int have)
{
    char what[96];
    snprintf(what, sizeof what, "n=%d %d->%d density %.2f", n, K, n_out, dens);
    size_t nx = (size_t)n * K, nw = (size_t)K * n_out, ny = (size_t)n * n_out;
    float *x = falloc(nx), *w = falloc(nw), *b = falloc(n_out), *dz = falloc(ny);
    float *y_ref = falloc(ny), *y_s = falloc(ny), *y_v = falloc(ny);
    float *dw_ref = falloc(nw), *dw_s = falloc(nw), *dw_v = falloc(nw);
    float *db_ref = falloc(n_out), *db_v = falloc(n_out), *dx_ref = falloc(nx), *dx_v = falloc(nx);
    inputs(x, n, K, dens);
    for (size_t i = 0; i < nw; i++) w[i] = frand01() - 0.5f;
    for (int j = 0; j < n_out; j++) b[j] = frand01() - 0.5f;
    for (size_t i = 0; i < ny; i++) dz[i] = frand01() - 0.5f;

    struct ae_nz_mask ms, mv;
    void *mem_s = mask_new(&ms, n, K), *mem_v = mask_new(&mv, n, K);
    ae_nz_scan_scalar(&ms, x, n);
    check_masks(&ms, x, n, what);

    /* reference against sgemm: forward with relu, and the set and then
     * accumulated weight gradient */
    ae_dense_forward(y_ref, x, w, b, n, K, n_out, AE_ACT_RELU);
    ae_nz_forward_scalar(y_s, x, &ms, w, b, n_out, AE_ACT_RELU);
    CHECK_MSG(max_rel(y_s, y_ref, ny) < 1e-5, "%s: forward off sgemm by %.3g", what, max_rel(y_s, y_ref, ny));
    ae_dense_backward_set(dx_ref, dw_ref, db_ref, dz, x, w, n, K, n_out);
    ae_dense_backward(dx_ref, dw_ref, db_ref, dz, x, w, n, K, n_out);
    ae_nz_backward_w_scalar(dw_s, x, &ms, dz, n_out, true);
    ae_nz_backward_w_scalar(dw_s, x, &ms, dz, n_out, false);
    CHECK_MSG(max_rel(dw_s, dw_ref, nw) < 1e-5, "%s: weight gradient off sgemm by %.3g", what,
              max_rel(dw_s, dw_ref, nw));

    /* the dispatching entry points (AVX-512 where usable) */
    ae_nz_scan(&mv, x, n);
    check_masks(&mv, x, n, what);
    ae_nz_forward(y_v, x, &mv, w, b, n_out, AE_ACT_RELU);
    ae_nz_backward(dx_v, dw_v, db_v, dz, x, w, &mv, n_out, true);
    ae_nz_backward(dx_v, dw_v, db_v, dz, x, w, &mv, n_out, false);
    CHECK_MSG(max_rel(db_v, db_ref, (size_t)n_out) < 1e-6, "%s: bias gradient", what);
    CHECK_MSG(same_bits(dx_v, dx_ref, nx), "%s: input gradient is not sgemm's", what);
    if (have) {
        CHECK_MSG(same_bits(y_v, y_s, ny), "%s: AVX-512 forward differs from the reference", what);
        CHECK_MSG(same_bits(dw_v, dw_s, nw), "%s: AVX-512 weight gradient differs from the reference",
                  what);
        /* linear activation: no relu on the last block */
        ae_nz_forward_scalar(y_s, x, &ms, w, b, n_out, AE_ACT_LINEAR);
        ae_nz_forward(y_v, x, &mv, w, b, n_out, AE_ACT_LINEAR);
        CHECK_MSG(same_bits(y_v, y_s, ny), "%s: AVX-512 linear forward differs", what);
    } else {
        CHECK_MSG(max_rel(y_v, y_ref, ny) < 1e-5 && max_rel(dw_v, dw_ref, nw) < 1e-5, "%s: portable path", what);
    }
    free(mem_s); free(mem_v);
    free(x); free(w); free(b); free(dz); free(y_ref); free(y_s); free(y_v);
    free(dw_ref); free(dw_s); free(dw_v); free(db_ref); free(db_v); free(dx_ref); free(dx_v);
}

static void check_density_rule(void)
{
    enum { N = 128, K = 784 };
    float *x = falloc((size_t)N * K);
    struct ae_nz_mask mk;
    void *mem = mask_new(&mk, N, K);
    inputs(x, N, K, 0.5); /* a Fashion-MNIST-like chunk */
    ae_nz_scan(&mk, x, N);
    CHECK_MSG(ae_nz_worth_it(&mk), "half-zero rows should skip zeros");
    inputs(x, N, K, 0.95); /* e.g. noisy inputs */
    ae_nz_scan(&mk, x, N);
    CHECK_MSG(!ae_nz_worth_it(&mk), "rows 95%% nonzero should go to sgemm");
    free(mem);
    free(x);
}

int main(void)
{
    ae_dense_setup();
    int have = ae_nz_usable(784, AE_NZ_TILE);
    printf("zero-skipping kernels: %s\n", have ? "AVX-512, compared bit for bit with the reference"
                                              : "not available (no AVX-512 or AE_NZ=off); reference only");
    CHECK(!ae_nz_usable(784, 64) && !ae_nz_usable(100, 128) && !ae_nz_usable(784, 136));
    static const int rows[] = {1, 5, 63, 64, 65, 100, 128, 130};
    static const int shapes[][2] = {{784, 128}, {784, 256}, {128, 784}, {256, 784},
                                    {32, 784}, {64, 128}, {784, 512}};
    static const double dens[] = {0.0, 0.19, 0.5, 1.0};
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (size_t d = 0; d < sizeof dens / sizeof dens[0]; d++)
                run_case(rows[r], shapes[s][0], shapes[s][1], dens[d], have);
    check_density_rule();
    return check_summary("ae_dense_nz");
}
