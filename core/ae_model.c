/*
 * ae_model.c - the six models as layer lists, their parameters and init.
 *
 * Owns: building a model from a config (ae_model_plan), the parameter arena,
 * Glorot-uniform init, and the small accessors of ae.h.  Does not own any
 * forward/backward maths (ae_net.c) or file formats (ae_ckpt.c).
 *
 * Design: a model is data (darknet's parser, without its god-struct): each
 * layer records its input and output shape and where its parameters live in
 * one arena, so counting parameters, the summary table, init, checkpoints
 * and the executor all walk the same list.
 */
#include <math.h>
#include <string.h>

#include "ae_model.h"
#include "ae_net.h"
#include "ae_rng.h"

struct plan {
    struct ae_model *m;
    int32_t h, w, c; /* current shape */
};

static struct ae_layer *push(struct plan *p, enum ae_layer_kind kind, enum ae_act act)
{
    struct ae_model *m = p->m;
    struct ae_layer *l = &m->layers[m->n_layers++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->act = act;
    l->in_h = p->h;
    l->in_w = p->w;
    l->in_c = p->c;
    l->w_off = l->b_off = -1;
    l->heads = 1;
    return l;
}

static void finish(struct plan *p, struct ae_layer *l)
{
    p->h = l->out_h;
    p->w = l->out_w;
    p->c = l->out_c;
    if (l->n_params) {
        l->w_off = p->m->n_params;
        l->b_off = l->w_off + l->n_params - l->out_c;
        p->m->n_params += l->n_params;
    }
}

static void dense(struct plan *p, int32_t n_out, enum ae_act act)
{
    struct ae_layer *l = push(p, AE_LAYER_DENSE, act);
    l->in_c = p->h * p->w * p->c;
    l->in_h = l->in_w = 1;
    l->out_h = l->out_w = 1;
    l->out_c = n_out;
    l->n_params = (int64_t)l->in_c * n_out + n_out;
    finish(p, l);
}

static void conv(struct plan *p, int32_t n_out, enum ae_act act, bool same)
{
    struct ae_layer *l = push(p, AE_LAYER_CONV, act);
    l->pad = same ? 1 : 0;
    l->out_h = p->h + 2 * l->pad - 2;
    l->out_w = p->w + 2 * l->pad - 2;
    l->out_c = n_out;
    l->n_params = 9LL * p->c * n_out + n_out;
    finish(p, l);
}

static void maxpool(struct plan *p)
{
    struct ae_layer *l = push(p, AE_LAYER_MAXPOOL, AE_ACT_LINEAR);
    l->out_h = (p->h + 1) / 2;
    l->out_w = (p->w + 1) / 2;
    l->out_c = p->c;
    finish(p, l);
}

static void upsample(struct plan *p)
{
    struct ae_layer *l = push(p, AE_LAYER_UPSAMPLE, AE_ACT_LINEAR);
    l->out_h = p->h * 2;
    l->out_w = p->w * 2;
    l->out_c = p->c;
    finish(p, l);
}

enum ae_status ae_model_plan(struct ae_model *m, const struct ae_config *cfg, struct ae_err *err)
{
    enum ae_status st = ae_config_check(cfg, err);
    if (st != AE_OK) return st;
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    struct plan p = {m, 1, 1, AE_IMAGE_PIXELS};
    switch (cfg->model) {
    case AE_MODEL_SIMPLE:
    case AE_MODEL_SPARSE:
        dense(&p, cfg->encoding_dim, AE_ACT_RELU);
        m->code_layer = 0;
        dense(&p, AE_IMAGE_PIXELS, AE_ACT_SIGMOID);
        break;
    case AE_MODEL_DEEP:
        dense(&p, 128, AE_ACT_RELU);
        dense(&p, 64, AE_ACT_RELU);
        dense(&p, 32, AE_ACT_RELU);
        m->code_layer = 2;
        dense(&p, 64, AE_ACT_RELU);
        dense(&p, 128, AE_ACT_RELU);
        dense(&p, AE_IMAGE_PIXELS, AE_ACT_SIGMOID);
        break;
    case AE_MODEL_CONV:
    case AE_MODEL_DENOISE:
        m->blocked = true;
        p.h = p.w = AE_IMAGE_SIDE;
        p.c = 1;
        conv(&p, 16, AE_ACT_RELU, true);
        maxpool(&p);
        conv(&p, 8, AE_ACT_RELU, true);
        maxpool(&p);
        conv(&p, 8, AE_ACT_RELU, true);
        maxpool(&p);
        m->code_layer = m->n_layers - 1;
        conv(&p, 8, AE_ACT_RELU, true);
        upsample(&p);
        conv(&p, 8, AE_ACT_RELU, true);
        upsample(&p);
        conv(&p, 16, AE_ACT_RELU, false);
        upsample(&p);
        conv(&p, 1, AE_ACT_SIGMOID, true);
        break;
    case AE_MODEL_VAE: {
        dense(&p, 256, AE_ACT_RELU);
        /* The mean and log-variance heads are two Keras layers; they share
         * one (256, 2*latent) product here, with the heads side by side. */
        dense(&p, 2 * cfg->latent_dim, AE_ACT_LINEAR);
        m->layers[m->n_layers - 1].heads = 2;
        struct ae_layer *l = push(&p, AE_LAYER_SAMPLE, AE_ACT_LINEAR);
        l->out_h = l->out_w = 1;
        l->out_c = cfg->latent_dim;
        finish(&p, l);
        m->code_layer = 1; /* the means are the first latent_dim outputs */
        dense(&p, 256, AE_ACT_RELU);
        dense(&p, AE_IMAGE_PIXELS, AE_ACT_SIGMOID);
        break;
    }
    default:
        return ae_err_set(err, AE_ERR_ARG, "unknown model kind %d", (int)cfg->model);
    }
    /* Every layer must be one the executor runs: never skipped silently. */
    return ae_net_check(m, err);
}

void ae_model_init_params(const struct ae_model *m, float *params)
{
    struct ae_rng rng;
    ae_rng_seed(&rng, m->cfg.seed, AE_RNG_INIT);
    for (int32_t i = 0; i < m->n_layers; i++) {
        const struct ae_layer *l = &m->layers[i];
        if (!l->n_params) continue;
        int64_t n_w = l->n_params - l->out_c;
        double fan_in, fan_out;
        if (l->kind == AE_LAYER_CONV) {
            fan_in = 9.0 * l->in_c;
            fan_out = 9.0 * l->out_c;
        } else {
            fan_in = l->in_c;
            fan_out = (double)l->out_c / l->heads;
        }
        float limit = (float)sqrt(6.0 / (fan_in + fan_out));
        float *w = params + l->w_off;
        for (int64_t k = 0; k < n_w; k++) w[k] = (2.f * ae_rng_uniform(&rng) - 1.f) * limit;
        memset(params + l->b_off, 0, sizeof(float) * (size_t)l->out_c);
    }
}

enum ae_status ae_model_alloc(const struct ae_config *cfg, struct ae_model **out,
                              struct ae_err *err)
{
    struct ae_model *m = NULL;
    enum ae_status st;
    if (!out) return ae_err_set(err, AE_ERR_ARG, "ae_model_new: out is NULL");
    *out = NULL;
    m = ae_calloc(1, sizeof *m);
    if (!m) {
        st = ae_err_set(err, AE_ERR_NOMEM, "out of memory allocating a model");
        goto fail;
    }
    st = ae_model_plan(m, cfg, err);
    if (st != AE_OK) goto fail;
    m->params = ae_aligned_alloc(sizeof(float) * (size_t)m->n_params);
    if (!m->params) {
        st = ae_err_set(err, AE_ERR_NOMEM, "out of memory allocating %lld parameters",
                        (long long)m->n_params);
        goto fail;
    }
    *out = m;
    return AE_OK;
fail:
    ae_model_free(m);
    return st;
}

enum ae_status ae_model_new(const struct ae_config *cfg, struct ae_model **out, struct ae_err *err)
{
    enum ae_status st = ae_model_alloc(cfg, out, err);
    if (st != AE_OK) return st;
    ae_model_init_params(*out, (*out)->params);
    return AE_OK;
}

void ae_model_free(struct ae_model *m)
{
    if (!m) return;
    ae_free(m->params);
    ae_free(m);
}

const struct ae_config *ae_model_config(const struct ae_model *m) { return m ? &m->cfg : NULL; }

int64_t ae_model_n_params(const struct ae_model *m) { return m ? m->n_params : 0; }

int32_t ae_model_code_dim(const struct ae_model *m)
{
    if (!m) return 0;
    if (m->cfg.model == AE_MODEL_VAE) return m->cfg.latent_dim;
    return (int32_t)ae_layer_out_size(&m->layers[m->code_layer]);
}
