/*
 * ae_infer.c - using a model outside training: reconstruct, encode, decode.
 *
 * Owns the single-threaded inference entry points of ae.h.  Each call
 * allocates its own small work area, so a model may be read by several
 * threads at once while nobody trains it.  The denoise model sees exactly
 * the noisy test inputs validation uses (same counter-based noise key); the
 * vae reconstructs and encodes from the means (no sampling).
 */
#include <string.h>

#include "ae_net.h"
#include "ae_kernels.h"
#include "ae_rng.h"

#define ROWS 64

static int32_t infer_cap(const struct ae_model *m) { return m->blocked ? AE_LANES : ROWS; }

static enum ae_status work_new(const struct ae_model *m, struct ae_work *w, struct ae_err *err)
{
    int32_t cap = infer_cap(m);
    ae_dense_setup();
    float *arena = ae_aligned_alloc(sizeof(float) * (size_t)ae_work_floats(m, cap));
    if (!arena) return ae_err_set(err, AE_ERR_NOMEM, "out of memory for inference scratch");
    ae_work_init(w, m, cap, arena);
    return AE_OK;
}

/* ae_net_run refused a layer: the message names it. */
static enum ae_status net_failed(const struct ae_model *m, struct ae_err *err)
{
    enum ae_status st = ae_net_check(m, err);
    return st != AE_OK ? st : ae_err_set(err, AE_ERR_ARG, "the executor refused a layer");
}

static void ctx_init(const struct ae_model *m, struct ae_net_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->params = m->params;
    ctx->noisy = m->cfg.model == AE_MODEL_DENOISE;
    ctx->noise_key = ae_rng_key(m->cfg.seed, AE_RNG_NOISE_TEST);
    ctx->sample = false;
}

static enum ae_status check_args(const struct ae_model *m, const struct ae_dataset *ds, int32_t n,
                                 const void *out, struct ae_err *err)
{
    if (!m || !ds || !out) return ae_err_set(err, AE_ERR_ARG, "model, data set and output are required");
    if (!ds->test_images || n < 1 || n > ds->n_test)
        return ae_err_set(err, AE_ERR_ARG, "n must be in [1, %d], got %d", ds->n_test, n);
    return AE_OK;
}

enum ae_status ae_model_reconstruct(const struct ae_model *m, const struct ae_dataset *ds,
                                    int32_t n, float *noisy, float *recon, struct ae_err *err)
{
    struct ae_work w;
    struct ae_net_ctx ctx;
    enum ae_status st = check_args(m, ds, n, recon, err);
    if (st != AE_OK) return st;
    st = work_new(m, &w, err);
    if (st != AE_OK) return st;
    ctx_init(m, &ctx);
    int32_t last = m->n_layers;
    for (int32_t k = 0; k < n; k += w.cap) {
        struct ae_src src = {ds->test_images, NULL, k, n - k < w.cap ? n - k : w.cap};
        if (ae_net_run(&w, &ctx, &src, NULL) != AE_OK) {
            ae_free(w.arena);
            return net_failed(m, err);
        }
        for (int32_t r = 0; r < src.n; r++) {
            ae_work_read(&w, last, r, recon + (size_t)(k + r) * AE_IMAGE_PIXELS);
            if (noisy) ae_work_read_input(&w, r, noisy + (size_t)(k + r) * AE_IMAGE_PIXELS);
        }
    }
    ae_free(w.arena);
    return AE_OK;
}

enum ae_status ae_model_encode(const struct ae_model *m, const struct ae_dataset *ds, int32_t n,
                               float *codes, struct ae_err *err)
{
    struct ae_work w;
    struct ae_net_ctx ctx;
    enum ae_status st = check_args(m, ds, n, codes, err);
    if (st != AE_OK) return st;
    st = work_new(m, &w, err);
    if (st != AE_OK) return st;
    ctx_init(m, &ctx);
    int32_t dim = ae_model_code_dim(m);
    int64_t row = ae_layer_out_size(&m->layers[m->code_layer]);
    float tmp[2 * 64];
    for (int32_t k = 0; k < n; k += w.cap) {
        struct ae_src src = {ds->test_images, NULL, k, n - k < w.cap ? n - k : w.cap};
        if (ae_net_run(&w, &ctx, &src, NULL) != AE_OK) {
            ae_free(w.arena);
            return net_failed(m, err);
        }
        for (int32_t r = 0; r < src.n; r++) {
            float *dst = codes + (size_t)(k + r) * dim;
            if (row == dim) {
                ae_work_read(&w, m->code_layer + 1, r, dst);
            } else { /* vae: (mean | logvar), keep the means */
                ae_work_read(&w, m->code_layer + 1, r, tmp);
                memcpy(dst, tmp, sizeof(float) * (size_t)dim);
            }
        }
    }
    ae_free(w.arena);
    return AE_OK;
}

enum ae_status ae_model_decode(const struct ae_model *m, const float *z, int32_t n, float *images,
                               struct ae_err *err)
{
    if (!m || !z || !images || n < 1)
        return ae_err_set(err, AE_ERR_ARG, "model, z, images and n >= 1 are required");
    if (m->cfg.model != AE_MODEL_VAE)
        return ae_err_set(err, AE_ERR_ARG, "decode needs the vae model, not %s",
                          ae_model_name(m->cfg.model));
    ae_dense_setup();
    const struct ae_layer *h = &m->layers[3], *o = &m->layers[4];
    /* The output layer reads a relu output: it skips zeros exactly as the
     * training and reconstruction runs do (same ROWS chunks), so decoding
     * the encoded means gives the reconstructions bit for bit. */
    int64_t mask_bytes = ae_nz_mask_bytes(ROWS, o->in_c);
    float *hid = ae_aligned_alloc(sizeof(float) * (size_t)ROWS * (size_t)h->out_c);
    void *mask_mem = ae_aligned_alloc((size_t)mask_bytes);
    if (!hid || !mask_mem) {
        ae_free(hid);
        ae_free(mask_mem);
        return ae_err_set(err, AE_ERR_NOMEM, "out of memory for decode scratch");
    }
    struct ae_nz_mask mk;
    ae_nz_mask_init(&mk, ROWS, o->in_c, mask_mem);
    int32_t Ld = m->cfg.latent_dim;
    for (int32_t k = 0; k < n; k += ROWS) {
        int32_t c = n - k < ROWS ? n - k : ROWS;
        float *out = images + (size_t)k * AE_IMAGE_PIXELS;
        ae_dense_forward(hid, z + (size_t)k * Ld, m->params + h->w_off, m->params + h->b_off, c,
                         h->in_c, h->out_c, h->act);
        ae_nz_dense_forward(out, hid, m->params + o->w_off, m->params + o->b_off, c, o->in_c,
                            o->out_c, o->act, &mk);
        ae_sigmoid(out, (int64_t)c * AE_IMAGE_PIXELS);
    }
    ae_free(hid);
    ae_free(mask_mem);
    return AE_OK;
}
