/*
 * ae_model.h - internal: a model is data, a list of layers with shapes and
 * parameter offsets, plus one parameter arena (llm.c's
 * malloc_and_point_parameters).
 *
 * Shapes are (h, w, c) per image; dense layers have h = w = 1.  Parameters
 * are stored in Keras' order and layout: dense kernel (in, out) then bias
 * (out); conv kernel (3, 3, in_c, out_c) then bias (out_c).
 */
#ifndef AE_MODEL_H
#define AE_MODEL_H

#include "ae.h"

#define AE_MAX_LAYERS 16
#define AE_LANES 16 /* images per block in the conv layout, see NOTES.md */

enum ae_layer_kind {
    AE_LAYER_DENSE,
    AE_LAYER_CONV,     /* 3x3, stride 1, pad 1 (same) or 0 (valid) */
    AE_LAYER_MAXPOOL,  /* 2x2, stride 2, same padding (bottom/right) */
    AE_LAYER_UPSAMPLE, /* 2x nearest */
    AE_LAYER_SAMPLE,   /* vae: (mean | logvar) -> z = mean + exp(logvar/2) eps */
};

enum ae_act { AE_ACT_LINEAR, AE_ACT_RELU, AE_ACT_SIGMOID };

struct ae_layer {
    enum ae_layer_kind kind;
    enum ae_act act;
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t pad;        /* conv only */
    int32_t heads;      /* dense: 1, or 2 for the vae's mean/logvar heads */
    int64_t w_off, b_off, n_params; /* into the parameter arena */
};

struct ae_model {
    struct ae_config cfg;
    int32_t n_layers;
    struct ae_layer layers[AE_MAX_LAYERS];
    int32_t code_layer;  /* index of the layer whose output is the code */
    bool blocked;        /* conv layout (N/16, H, W, C, 16) instead of (N, F) */
    int64_t n_params;
    float *params;       /* n_params floats, 64-byte aligned */
};

static inline int64_t ae_layer_in_size(const struct ae_layer *l)
{
    return (int64_t)l->in_h * l->in_w * l->in_c;
}
static inline int64_t ae_layer_out_size(const struct ae_layer *l)
{
    return (int64_t)l->out_h * l->out_w * l->out_c;
}

/* Fill m's layer list and n_params for cfg (no allocation). */
enum ae_status ae_model_plan(struct ae_model *m, const struct ae_config *cfg, struct ae_err *err);
/* Glorot-uniform kernels, zero biases, from the seed's init stream. */
void ae_model_init_params(const struct ae_model *m, float *params);
/* Allocate a model for cfg without initialising the weights. */
enum ae_status ae_model_alloc(const struct ae_config *cfg, struct ae_model **out,
                              struct ae_err *err);

#endif /* AE_MODEL_H */
