/*
 * test_grad_models.c - whole-model gradients against finite differences:
 * for every model, dLoss/dparam from the executor's backward pass against
 * central differences of the batch loss (double accumulation), on a
 * sample of parameters from every layer.  This covers the composition of
 * the layers, the sparse model's L1 term (l1 raised to 1e-2 so it shows),
 * and the vae's sampling step and KL term with a fixed eps.
 *
 * Tolerance: 3e-2 of the largest sampled gradient of the layer (the loss is
 * a float forward pass; a step of 1e-3 (the test showed errors growing with the step: 3e-3
 * and 1e-2 cross relu kinks) may still cross an occasional kink or
 * pool winner in the deeper layers, which this bound absorbs while still
 * catching any wrong term, sign or scale).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/ae_model.h"
#include "core/ae_net.h"
#include "core/ae_rng.h"

struct run {
    struct ae_model *m;
    struct ae_work w;
    struct ae_net_ctx ctx;
    struct ae_src src;
    uint8_t *images;
};

static double loss_at(struct run *r)
{
    struct ae_loss_parts p = {0, 0, 0};
    r->ctx.dparams = NULL;
    ae_net_run(&r->w, &r->ctx, &r->src, &p);
    return ae_net_batch_loss(r->m, &p, r->src.n);
}

static void check_model(enum ae_model_kind kind)
{
    struct ae_config c;
    ae_config_defaults(&c, kind);
    c.seed = 3;
    c.encoding_dim = 8;
    c.l1 = 1e-2;
    struct run r;
    memset(&r, 0, sizeof r);
    CHECK_EQ_INT(ae_model_new(&c, &r.m, NULL), AE_OK);
    if (!r.m) return;
    int n = 12;
    r.images = malloc((size_t)n * 784);
    uint32_t s = 99;
    for (int i = 0; i < n * 784; i++) {
        s = s * 1664525u + 1013904223u;
        int px = i % 784, y = px / 28, x = px % 28;
        r.images[i] = (uint8_t)(((x - 14) * (x - 14) + (y - 12) * (y - 12) < 60 + (int)(i / 784) * 4) ? 200 + (s >> 29) : (s >> 28));
    }
    int32_t cap = r.m->blocked ? AE_LANES : n;
    float *arena = ae_aligned_alloc(sizeof(float) * (size_t)ae_work_floats(r.m, cap));
    ae_work_init(&r.w, r.m, cap, arena);
    r.ctx.params = r.m->params;
    r.ctx.n_total = n;
    r.ctx.want_loss = true;
    r.ctx.noisy = kind == AE_MODEL_DENOISE;
    r.ctx.noise_key = ae_rng_key(c.seed, AE_RNG_NOISE_TRAIN);
    r.ctx.sample = true;
    r.ctx.eps_key = ae_rng_key(c.seed, AE_RNG_EPS_TRAIN);
    r.src.images = r.images;
    r.src.n = n;

    float *grad = calloc((size_t)r.m->n_params, sizeof(float));
    struct ae_loss_parts parts = {0, 0, 0};
    r.ctx.dparams = grad;
    ae_net_run(&r.w, &r.ctx, &r.src, &parts);
    double loss0 = ae_net_batch_loss(r.m, &parts, n);
    CHECK(isfinite(loss0) && loss0 > 0);
    CHECK_NEAR(loss_at(&r), loss0, 1e-9 * fabs(loss0));

    const float h = 1e-3f;
    for (int32_t li = 0; li < r.m->n_layers; li++) {
        const struct ae_layer *l = &r.m->layers[li];
        if (!l->n_params) continue;
        double gmax = 1e-12, worst = 0;
        int64_t worst_i = -1, count = 0;
        int64_t stride = l->n_params / 24 + 1;
        for (int64_t k = 0; k < l->n_params; k += stride) gmax = fmax(gmax, fabs(grad[l->w_off + k]));
        for (int64_t k = 0; k < l->n_params; k += stride) {
            int64_t i = l->w_off + k;
            float keep = r.m->params[i];
            r.m->params[i] = keep + h;
            double fp = loss_at(&r);
            r.m->params[i] = keep - h;
            double fm = loss_at(&r);
            r.m->params[i] = keep;
            double fd = (fp - fm) / (2.0 * h);
            double err = fabs(fd - grad[i]) / gmax;
            if (err > worst) {
                worst = err;
                worst_i = k;
            }
            count++;
        }
        CHECK_MSG(worst <= 3e-2, "%s layer %d: worst relative error %.3g at param %lld of %lld (gmax %.3g)",
                  ae_model_name(kind), (int)li, worst, (long long)worst_i, (long long)l->n_params, gmax);
        CHECK(count > 0 && gmax > 1e-9);
    }
    /* Bias gradients are exactly sums of the pre-activation gradients, so
     * a fresh model's biases get a non-zero gradient somewhere. */
    if (kind == AE_MODEL_VAE) {
        /* KL against its closed form from the encoder's (mean, logvar). */
        struct ae_loss_parts p = {0, 0, 0};
        r.ctx.dparams = NULL;
        ae_net_run(&r.w, &r.ctx, &r.src, &p);
        const float *heads = r.w.act[2];
        double kl = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c.latent_dim; j++) {
                double mu = heads[i * 2 * c.latent_dim + j], lv = heads[i * 2 * c.latent_dim + c.latent_dim + j];
                kl += 0.5 * (mu * mu + exp(lv) - 1 - lv);
            }
        CHECK_REL(p.kl, kl, 1e-5, 1e-7);
    }
    ae_free(arena);
    free(grad);
    free(r.images);
    ae_model_free(r.m);
}

int main(void)
{
    for (int k = 0; k < AE_MODEL_COUNT; k++) check_model((enum ae_model_kind)k);
    return check_summary("test_grad_models");
}
