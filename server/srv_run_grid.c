/*
 * srv_run_grid.c - the seed's showimages picture as a PNG: test images in the
 * top row, the model's reconstructions below (for denoise: clean, noisy,
 * reconstructed), one 28x28 cell per image with no gaps.
 *
 * Owns: laying out the grid and turning [0,1] floats into grey levels.
 * Does not: decide which weights to use (the caller passes the model: the
 * job's own, for the epoch shown) or encode PNG itself (proto's
 * tb_png_encode_gray does).
 */
#include <stdlib.h>
#include <string.h>

#include "proto/tb.h"
#include "srv_run.h"

#define GRID_MAX_N 100

static uint8_t to_grey(float x)
{
    if (!(x > 0.0f)) return 0; /* also NaN */
    if (x >= 1.0f) return 255;
    return (uint8_t)(x * 255.0f + 0.5f);
}

/* Copy image k (784 values) into row `row`, column k of the grid. */
static void put_cell(uint8_t *grid, int32_t width, int32_t row, int32_t k, const uint8_t *img8,
                     const float *imgf)
{
    for (int32_t r = 0; r < AE_IMAGE_SIDE; r++) {
        uint8_t *dst = grid + ((size_t)row * AE_IMAGE_SIDE + (size_t)r) * (size_t)width +
                       (size_t)k * AE_IMAGE_SIDE;
        for (int32_t c = 0; c < AE_IMAGE_SIDE; c++) {
            int32_t p = r * AE_IMAGE_SIDE + c;
            dst[c] = img8 ? img8[p] : to_grey(imgf[p]);
        }
    }
}

enum ae_status srv_run_grid_png(const struct ae_model *m, const struct ae_dataset *ds,
                                int32_t n, uint8_t **png, size_t *png_len,
                                int32_t *width, int32_t *height, struct ae_err *err)
{
    if (!m || !ds || !png || !png_len)
        return ae_err_set(err, AE_ERR_ARG, "srv_run_grid_png: NULL argument");
    *png = NULL;
    *png_len = 0;
    if (n < 1 || n > GRID_MAX_N || n > ds->n_test)
        return ae_err_set(err, AE_ERR_ARG, "n is %d; it must be in [1, %d]", n,
                          ds->n_test < GRID_MAX_N ? ds->n_test : GRID_MAX_N);

    const struct ae_config *cfg = ae_model_config(m);
    bool show_noisy = cfg->model == AE_MODEL_DENOISE;
    int32_t rows = show_noisy ? 3 : 2;
    int32_t w = n * AE_IMAGE_SIDE, h = rows * AE_IMAGE_SIDE;
    size_t n_px = (size_t)n * AE_IMAGE_PIXELS;

    enum ae_status st = AE_OK;
    float *noisy = malloc(n_px * sizeof *noisy);
    float *recon = malloc(n_px * sizeof *recon);
    uint8_t *grid = malloc((size_t)w * (size_t)h);
    if (!noisy || !recon || !grid) {
        st = ae_err_set(err, AE_ERR_NOMEM, "out of memory for a %dx%d grid", w, h);
        goto fail;
    }
    st = ae_model_reconstruct(m, ds, n, noisy, recon, err);
    if (st != AE_OK) goto fail;

    for (int32_t k = 0; k < n; k++) {
        put_cell(grid, w, 0, k, ds->test_images + (size_t)k * AE_IMAGE_PIXELS, NULL);
        if (show_noisy) put_cell(grid, w, 1, k, NULL, noisy + (size_t)k * AE_IMAGE_PIXELS);
        put_cell(grid, w, rows - 1, k, NULL, recon + (size_t)k * AE_IMAGE_PIXELS);
    }

    struct tb_err terr = {0};
    if (tb_png_encode_gray(grid, w, h, png, png_len, &terr) != TB_OK) {
        st = ae_err_set(err, terr.code == TB_ERR_NOMEM ? AE_ERR_NOMEM : AE_ERR_IO,
                        "reconstructions PNG: %s", terr.msg);
        goto fail;
    }
    if (width) *width = w;
    if (height) *height = h;

fail:
    free(grid);
    free(recon);
    free(noisy);
    return st;
}
