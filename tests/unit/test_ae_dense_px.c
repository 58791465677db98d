/* test_ae_dense_px.c - the zero-skipping first layer (core/ae_dense_px.c):
 *  - the masks: every bit and the nonzero count, against the pixels;
 *  - the portable reference equals sgemm (ae_dense_forward/backward) up to
 *    the order of the sums, for set and for accumulated gradients;
 *  - the AVX-512 kernels give the reference's exact bits (skipped, with a
 *    note, on CPUs without AVX-512);
 *  - the density rule takes sparse pixel rows and leaves dense ones to sgemm;
 * on row counts around the 64-row mask words and widths of one and several
 * 128-wide tiles, with densities from all-zero to all-nonzero. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/ae_ops.h"
#include "core/ae_simd.h"

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

static void mask_init(struct ae_px_mask *mk, int cap)
{
    mk->row = malloc(sizeof(uint16_t) * (size_t)cap * AE_PX_ROW_WORDS);
    mk->col = malloc(sizeof(uint64_t) * AE_IMAGE_PIXELS * (size_t)((cap + 63) / 64));
    if (!mk->row || !mk->col) abort();
}
static void mask_fini(struct ae_px_mask *mk)
{
    free(mk->row);
    free(mk->col);
}

/* Pixels of n rows, nonzero with probability dens, as k/255 like real data. */
static void pixels(float *x, int n, double dens)
{
    for (size_t i = 0; i < (size_t)n * AE_IMAGE_PIXELS; i++)
        x[i] = frand01() < dens ? (float)(1 + (int)(frand01() * 254.f)) / 255.f : 0.f;
}

static void check_masks(const struct ae_px_mask *mk, const float *x, int n, const char *what)
{
    int64_t nnz = 0;
    int bad = 0;
    for (int r = 0; r < n; r++) {
        const uint16_t *rm = mk->row + (size_t)r * AE_PX_ROW_WORDS;
        for (int p = 0; p < AE_IMAGE_PIXELS; p++) {
            int nz = x[(size_t)r * AE_IMAGE_PIXELS + p] != 0.f;
            nnz += nz;
            int rb = (rm[p / 16] >> (p % 16)) & 1;
            int cb = (int)((mk->col[(size_t)(r / 64) * AE_IMAGE_PIXELS + p] >> (r % 64)) & 1);
            bad += rb != nz || cb != nz;
        }
        bad += rm[AE_PX_ROW_WORDS - 1] != 0;
    }
    /* bits of rows past n in the last column word stay clear */
    if (n % 64)
        for (int p = 0; p < AE_IMAGE_PIXELS; p++)
            bad += (mk->col[(size_t)(n / 64) * AE_IMAGE_PIXELS + p] >> (n % 64)) != 0;
    CHECK_MSG(bad == 0, "%s: %d mask bits wrong", what, bad);
    CHECK_MSG(mk->nnz == nnz && mk->n == n, "%s: nnz %lld n %d, expected %lld %d", what,
              (long long)mk->nnz, mk->n, (long long)nnz, n);
}

static void run_case(int n, int n_out, double dens, int have)
{
    char what[80];
    snprintf(what, sizeof what, "n=%d n_out=%d density %.2f", n, n_out, dens);
    size_t nx = (size_t)n * AE_IMAGE_PIXELS, nw = (size_t)AE_IMAGE_PIXELS * n_out,
           ny = (size_t)n * n_out;
    float *x = falloc(nx), *w = falloc(nw), *b = falloc(n_out), *dz = falloc(ny);
    float *y_ref = falloc(ny), *y_s = falloc(ny), *y_v = falloc(ny);
    float *dw_ref = falloc(nw), *dw_s = falloc(nw), *dw_v = falloc(nw);
    float *db_ref = falloc(n_out), *db_v = falloc(n_out);
    pixels(x, n, dens);
    for (size_t i = 0; i < nw; i++) w[i] = frand01() - 0.5f;
    for (int j = 0; j < n_out; j++) b[j] = frand01() - 0.5f;
    for (size_t i = 0; i < ny; i++) dz[i] = frand01() - 0.5f;

    struct ae_px_mask ms, mv;
    mask_init(&ms, n);
    mask_init(&mv, n);
    ae_px_scan_scalar(&ms, x, n);
    check_masks(&ms, x, n, what);

    /* reference against sgemm: forward with relu, and the set and then
     * accumulated weight gradient */
    ae_dense_forward(y_ref, x, w, b, n, AE_IMAGE_PIXELS, n_out, AE_ACT_RELU);
    ae_px_forward_scalar(y_s, x, &ms, w, b, n_out, AE_ACT_RELU);
    CHECK_MSG(max_rel(y_s, y_ref, ny) < 1e-5, "%s: forward off sgemm by %.3g", what, max_rel(y_s, y_ref, ny));
    ae_dense_backward_set(NULL, dw_ref, db_ref, dz, x, w, n, AE_IMAGE_PIXELS, n_out);
    ae_dense_backward(NULL, dw_ref, db_ref, dz, x, w, n, AE_IMAGE_PIXELS, n_out);
    ae_px_backward_w_scalar(dw_s, x, &ms, dz, n_out, true);
    ae_px_backward_w_scalar(dw_s, x, &ms, dz, n_out, false);
    CHECK_MSG(max_rel(dw_s, dw_ref, nw) < 1e-5, "%s: weight gradient off sgemm by %.3g", what,
              max_rel(dw_s, dw_ref, nw));

    /* the dispatching entry points (AVX-512 where usable) */
    ae_px_scan(&mv, x, n);
    check_masks(&mv, x, n, what);
    ae_px_forward(y_v, x, &mv, w, b, n_out, AE_ACT_RELU);
    ae_px_backward(dw_v, db_v, dz, x, &mv, n_out, true);
    ae_px_backward(dw_v, db_v, dz, x, &mv, n_out, false);
    CHECK_MSG(max_rel(db_v, db_ref, (size_t)n_out) < 1e-6, "%s: bias gradient", what);
    if (have) {
        CHECK_MSG(same_bits(y_v, y_s, ny), "%s: AVX-512 forward differs from the reference", what);
        CHECK_MSG(same_bits(dw_v, dw_s, nw), "%s: AVX-512 weight gradient differs from the reference",
                  what);
        /* linear activation: no relu on the last block */
        ae_px_forward_scalar(y_s, x, &ms, w, b, n_out, AE_ACT_LINEAR);
        ae_px_forward(y_v, x, &mv, w, b, n_out, AE_ACT_LINEAR);
        CHECK_MSG(same_bits(y_v, y_s, ny), "%s: AVX-512 linear forward differs", what);
    } else {
        CHECK_MSG(max_rel(y_v, y_ref, ny) < 1e-5 && max_rel(dw_v, dw_ref, nw) < 1e-5, "%s: portable path", what);
    }
    mask_fini(&ms);
    mask_fini(&mv);
    free(x); free(w); free(b); free(dz); free(y_ref); free(y_s); free(y_v);
    free(dw_ref); free(dw_s); free(dw_v); free(db_ref); free(db_v);
}

static void check_density_rule(void)
{
    enum { N = 128 };
    float *x = falloc((size_t)N * AE_IMAGE_PIXELS);
    struct ae_px_mask mk;
    mask_init(&mk, N);
    pixels(x, N, 0.5); /* a Fashion-MNIST-like chunk */
    ae_px_scan(&mk, x, N);
    CHECK_MSG(ae_px_worth_it(&mk), "half-zero rows should skip zeros");
    pixels(x, N, 0.95); /* e.g. noisy inputs */
    ae_px_scan(&mk, x, N);
    CHECK_MSG(!ae_px_worth_it(&mk), "rows 95%% nonzero should go to sgemm");
    mask_fini(&mk);
    free(x);
}

int main(void)
{
    ae_dense_setup();
    int have = ae_px_usable(AE_PX_TILE);
    printf("zero-skipping kernels: %s\n", have ? "AVX-512, compared bit for bit with the reference"
                                              : "not available (no AVX-512 or AE_PX=off); reference only");
    static const int rows[] = {1, 5, 63, 64, 65, 100, 128, 130};
    static const int outs[] = {128, 256, 512};
    static const double dens[] = {0.0, 0.19, 0.5, 1.0};
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (size_t o = 0; o < sizeof outs / sizeof outs[0]; o++)
            for (size_t d = 0; d < sizeof dens / sizeof dens[0]; d++)
                run_case(rows[r], outs[o], dens[d], have);
    check_density_rule();
    return check_summary("ae_dense_px");
}
