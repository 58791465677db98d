/*
 * ae_net.h - internal: running a model's layers over a set of images.
 *
 * One struct ae_work per thread holds the activations of up to `cap` images
 * (dense: rows; conv: one block of 16 at a time) and the activation
 * gradients.  ae_net_run() builds the inputs from uint8 pixels, runs the
 * forward pass, the loss, and (when ctx->dparams is set) the backward pass,
 * adding this thread's parameter gradients into ctx->dparams.  It never
 * allocates.
 */
#ifndef AE_NET_H
#define AE_NET_H

#include "ae_model.h"
#include "ae_kernels.h"

struct ae_work {
    const struct ae_model *m;
    int32_t cap;                        /* rows, or AE_LANES for blocked models */
    float *act[AE_MAX_LAYERS + 1];      /* act[0] input, act[i + 1] output of layer i */
    int32_t act_pad[AE_MAX_LAYERS + 1]; /* blocked: zero border of act[k] (1 if a same conv reads it) */
    float *dzp[AE_MAX_LAYERS];          /* blocked: conv i's output gradient with a 2 - pad border */
    int32_t dz_pad[AE_MAX_LAYERS];
    float *wflip[AE_MAX_LAYERS];        /* blocked: conv i's flipped weights (data gradient) */
    float *target;                      /* clean images in the input's layout */
    float *g0, *g1;                     /* activation gradients (ping-pong) */
    float *eps;                         /* vae: (cap, latent_dim) */
    float *dlanes;                      /* blocked: (n_params, 16) gradient lanes */
    struct ae_nz_mask nz[AE_MAX_LAYERS]; /* dense: nonzero inputs of layer i (act[i]), for the
                                          * layers that may skip zeros (row == NULL otherwise) */
    bool nz_on[AE_MAX_LAYERS];          /* dense: layer i skips zero inputs in this run */
    float *arena;
};

/* Where the images of one run come from. */
struct ae_src {
    const uint8_t *images;  /* the split's images, (count, 784) */
    const int32_t *idx;     /* image numbers, or NULL for first, first + 1, ... */
    int32_t first;
    int32_t n;              /* images in this run */
};

/* How to run. */
struct ae_net_ctx {
    const float *params;
    float *dparams;         /* NULL: forward and loss only; else receives (overwritten)
                             * the parameter gradient of this run */
    int32_t n_total;        /* images in the whole minibatch: the loss is their mean */
    bool noisy;             /* denoise: inputs are noisy, targets clean */
    uint64_t noise_key;
    bool sample;            /* vae: z = mean + exp(logvar/2) eps (else z = mean) */
    uint64_t eps_key;       /* vae eps = normal(eps_key, image * latent + j) */
    bool want_loss;         /* compute the loss (else just the forward, with sigmoid) */
};

struct ae_loss_parts {
    double bce;  /* sum over pixels and images of the clipped BCE */
    double reg;  /* sparse: sum |code| */
    double kl;   /* vae: sum over images of KL(q(z|x) || N(0, I)) */
};

/* Floats a work area for cap images needs. */
int64_t ae_work_floats(const struct ae_model *m, int32_t cap);
/* Point w's buffers into arena (ae_work_floats(m, cap) floats). */
void ae_work_init(struct ae_work *w, const struct ae_model *m, int32_t cap, float *arena);

/* AE_OK when every layer of m is one the chain of its layout runs (dense
 * rows: dense, sample; blocked: conv, maxpool, upsample); else AE_ERR_ARG
 * naming the layer and its kind.  ae_model_plan calls it, so a model never
 * reaches ae_net_run with a layer the executor would skip. */
enum ae_status ae_net_check(const struct ae_model *m, struct ae_err *err);

/* Run the images of src through the model in chunks of w->cap, adding loss
 * parts into *parts (may be NULL without want_loss) and, when
 * ctx->dparams is set, writing the summed parameter gradient there.
 * AE_ERR_ARG when a layer's kind is not one the chain runs (the outputs
 * are then incomplete; ae_net_check gives the message naming it).
 * Thread-safe for different w. */
enum ae_status ae_net_run(struct ae_work *w, const struct ae_net_ctx *ctx, const struct ae_src *src,
                          struct ae_loss_parts *parts);

/* After a forward-only run of one chunk (src->n <= cap): copy image r's
 * values of act[k] (row-major, h*w*c floats, NHWC) into out. */
void ae_work_read(const struct ae_work *w, int k, int32_t r, float *out);
/* The same for the input (noisy for denoise) of image r. */
void ae_work_read_input(const struct ae_work *w, int32_t r, float *out);

/* The loss of a minibatch from its parts (Keras' batch loss). */
double ae_net_batch_loss(const struct ae_model *m, const struct ae_loss_parts *p, int64_t n);

#endif /* AE_NET_H */
