/* test_ae_net.c - a layer whose kind its chain does not run (an unknown
 * value, a conv layer in the dense chain, a dense layer in the conv chain)
 * is an error everywhere the executor is reached: ae_net_check, ae_net_run
 * (training and forward-only), ae_trainer_run_epoch and
 * ae_model_reconstruct each return AE_ERR_ARG naming the layer and its
 * kind, and leave the weights as they were.  Restoring the kind makes every
 * one of them succeed again. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ae_testdata.h"
#include "core/ae_net.h"
#include "core/ae_trainer.h"

#define N_TRAIN 128
#define N_TEST 64

/* What the message of a refused layer must name. */
static void check_names(const char *what, const char *msg, int32_t layer, int kind, const char *name)
{
    char want_layer[32], want_kind[48];
    snprintf(want_layer, sizeof want_layer, "layer %d ", (int)layer);
    snprintf(want_kind, sizeof want_kind, "kind %d (%s)", kind, name);
    CHECK_MSG(strstr(msg, want_layer) != NULL, "%s: \"%s\" does not name \"%s\"", what, msg,
              want_layer);
    CHECK_MSG(strstr(msg, want_kind) != NULL, "%s: \"%s\" does not name \"%s\"", what, msg,
              want_kind);
}

/* ae_net_run over the first n training images, three ways: with a
 * gradient, forward and loss only, forward only.  Each must return
 * `expect`; *loss gets the batch loss of the training run. */
static void run_net(struct ae_work *w, const struct ae_dataset *ds, float *dparams, int32_t n,
                    enum ae_status expect, const char *what, double *loss)
{
    const struct ae_model *m = w->m;
    struct ae_src src = {ds->train_images, NULL, 0, n};
    struct ae_net_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.params = m->params;
    ctx.n_total = n;
    ctx.want_loss = true;
    struct ae_loss_parts parts = {0, 0, 0}, fwd = {0, 0, 0};
    ctx.dparams = dparams;
    CHECK_MSG(ae_net_run(w, &ctx, &src, &parts) == expect, "%s: ae_net_run (training) did not "
              "return %d", what, (int)expect);
    *loss = ae_net_batch_loss(m, &parts, n);
    ctx.dparams = NULL;
    CHECK_MSG(ae_net_run(w, &ctx, &src, &fwd) == expect, "%s: ae_net_run (loss only) did not "
              "return %d", what, (int)expect);
    if (expect == AE_OK) CHECK_REL(fwd.bce, parts.bce, 1e-6, 0);
    ctx.want_loss = false;
    CHECK_MSG(ae_net_run(w, &ctx, &src, NULL) == expect, "%s: ae_net_run (forward only) did not "
              "return %d", what, (int)expect);
}

/* Layer `layer` of the trainer's model given kind `bad`: every entry point
 * refuses it and the weights stay; with its kind back, all of them run. */
static void check_refused(struct ae_trainer *t, const struct ae_dataset *ds, struct ae_work *w,
                          float *dparams, int32_t layer, int bad, const char *bad_name)
{
    struct ae_model *m = t->model;
    const char *model = ae_model_name(m->cfg.model);
    size_t bytes = sizeof(float) * (size_t)m->n_params;
    float *before = malloc(bytes);
    float *recon = malloc(sizeof(float) * 16 * AE_IMAGE_PIXELS);
    if (!before || !recon) {
        CHECK_MSG(0, "out of memory");
        free(before);
        free(recon);
        return;
    }
    memcpy(before, m->params, bytes);
    int32_t epochs = ae_trainer_epoch(t);
    int32_t n = m->blocked ? 2 * AE_LANES : N_TRAIN / 2;
    enum ae_layer_kind good = m->layers[layer].kind;
    char what[96];
    snprintf(what, sizeof what, "%s, layer %d as kind %d", model, (int)layer, bad);

    m->layers[layer].kind = (enum ae_layer_kind)bad;
    struct ae_err err;
    memset(&err, 0, sizeof err);
    CHECK_EQ_INT(ae_net_check(m, &err), AE_ERR_ARG);
    check_names(what, err.msg, layer, bad, bad_name);
    double loss = 0;
    run_net(w, ds, dparams, n, AE_ERR_ARG, what, &loss);
    memset(&err, 0, sizeof err);
    CHECK_EQ_INT(ae_trainer_run_epoch(t, NULL, NULL, &err), AE_ERR_ARG);
    check_names(what, err.msg, layer, bad, bad_name);
    CHECK_MSG(memcmp(m->params, before, bytes) == 0, "%s: the refused epoch changed the weights",
              what);
    CHECK_EQ_INT(ae_trainer_epoch(t), epochs);
    memset(&err, 0, sizeof err);
    CHECK_EQ_INT(ae_model_reconstruct(m, ds, 16, NULL, recon, &err), AE_ERR_ARG);
    check_names(what, err.msg, layer, bad, bad_name);

    m->layers[layer].kind = good;
    CHECK_EQ_INT(ae_net_check(m, NULL), AE_OK);
    run_net(w, ds, dparams, n, AE_OK, what, &loss);
    CHECK_MSG(loss > 0 && isfinite(loss), "%s restored: batch loss %.17g", what, loss);
    CHECK_EQ_INT(ae_model_reconstruct(m, ds, 16, NULL, recon, NULL), AE_OK);
    /* The trainer's interrupted epoch reruns from its start and trains. */
    struct ae_epoch_stats es;
    memset(&err, 0, sizeof err);
    CHECK_MSG(ae_trainer_run_epoch(t, NULL, &es, &err) == AE_OK, "%s restored: %s", what, err.msg);
    CHECK_EQ_INT(ae_trainer_epoch(t), epochs + 1);
    CHECK_MSG(memcmp(m->params, before, bytes) != 0, "%s restored: the epoch did not train", what);
    free(before);
    free(recon);
}

static void test_model(const struct ae_dataset *ds, enum ae_model_kind kind,
                       const int32_t *layers, int n_layers, int wrong_chain,
                       const char *wrong_name)
{
    struct ae_config c;
    ae_config_defaults(&c, kind);
    c.threads = 2;
    c.train_size = N_TRAIN;
    c.test_size = N_TEST;
    c.batch_size = 64;
    c.seed = 3;
    struct ae_trainer *t = NULL;
    struct ae_err err;
    if (ae_trainer_new(&c, ds, &t, &err) != AE_OK) {
        CHECK_MSG(0, "%s: %s", ae_model_name(kind), err.msg);
        return;
    }
    const struct ae_model *m = t->model;
    int32_t cap = m->blocked ? AE_LANES : N_TRAIN;
    float *arena = ae_aligned_alloc(sizeof(float) * (size_t)ae_work_floats(m, cap));
    float *dparams = ae_aligned_alloc(sizeof(float) * (size_t)m->n_params);
    if (arena && dparams) {
        struct ae_work w;
        ae_work_init(&w, m, cap, arena);
        for (int i = 0; i < n_layers; i++) {
            int32_t l = layers[i] < 0 ? m->n_layers - 1 : layers[i];
            check_refused(t, ds, &w, dparams, l, 99, "unknown");
            check_refused(t, ds, &w, dparams, l, wrong_chain, wrong_name);
        }
    } else {
        CHECK_MSG(0, "out of memory");
    }
    ae_free(arena);
    ae_free(dparams);
    ae_trainer_free(t);
}

int main(void)
{
    struct ae_dataset *ds = td_synthetic(N_TRAIN, N_TEST, 7);
    /* The dense chain (first, a middle and the last layer) with an unknown
     * kind and a conv layer; the vae's sample layer too. */
    const int32_t deep_layers[] = {0, 2, -1};
    test_model(ds, AE_MODEL_DEEP, deep_layers, 3, AE_LAYER_CONV, "conv");
    const int32_t vae_layers[] = {2};
    test_model(ds, AE_MODEL_VAE, vae_layers, 1, AE_LAYER_MAXPOOL, "maxpool");
    /* The conv chain with an unknown kind and a dense layer. */
    const int32_t conv_layers[] = {1, -1};
    test_model(ds, AE_MODEL_CONV, conv_layers, 2, AE_LAYER_DENSE, "dense");
    td_free(ds);
    return check_summary("test_ae_net");
}
