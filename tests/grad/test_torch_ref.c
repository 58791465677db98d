/*
 * test_torch_ref.c - the engine against reference values computed by
 * PyTorch (tests/gen/torch_fixtures.py; files in tests/fixtures/torch, made
 * once and committed, so this test needs no torch).
 *
 * Layer forward and backward, three Keras-form Adam steps, and a few
 * full-batch training steps of a tiny dense autoencoder and of the seed's
 * conv autoencoder from given initial weights (loss per step, first
 * gradients, final weights).  Tolerances are stated at each comparison.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/ae_kernels.h"
#include "core/ae_model.h"
#include "core/ae_net.h"
#include "core/ae_rng.h"

#define LN AE_LANES

struct tensor {
    char name[64];
    int ndim;
    int dims[8];
    size_t n;
    float *data;
};
struct bundle {
    int count;
    struct tensor t[128];
};

static int load(struct bundle *b, const char *file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", AE_TORCH_FIXTURES, file);
    FILE *f = fopen(path, "rb");
    memset(b, 0, sizeof *b);
    if (!f) return 0;
    char magic[4];
    uint32_t count;
    int ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "AETF", 4) == 0 && fread(&count, 4, 1, f) == 1 &&
             count <= 128;
    for (uint32_t i = 0; ok && i < count; i++) {
        struct tensor *t = &b->t[i];
        uint32_t len, nd, d;
        ok = fread(&len, 4, 1, f) == 1 && len < sizeof t->name && fread(t->name, 1, len, f) == len &&
             fread(&nd, 4, 1, f) == 1 && nd <= 8;
        t->ndim = (int)nd;
        t->n = 1;
        for (uint32_t k = 0; ok && k < nd; k++) {
            ok = fread(&d, 4, 1, f) == 1;
            t->dims[k] = (int)d;
            t->n *= d;
        }
        if (!ok) break;
        t->data = malloc(4 * (t->n ? t->n : 1));
        ok = fread(t->data, 4, t->n, f) == t->n;
        b->count = (int)i + 1;
    }
    fclose(f);
    return ok;
}

static void unload(struct bundle *b)
{
    for (int i = 0; i < b->count; i++) free(b->t[i].data);
}

static const struct tensor *get(const struct bundle *b, const char *name)
{
    for (int i = 0; i < b->count; i++)
        if (strcmp(b->t[i].name, name) == 0) return &b->t[i];
    CHECK_MSG(0, "fixture tensor %s missing", name);
    return NULL;
}

/* Compare n floats: |a - b| <= atol + rtol |b|; report the first few. */
static void compare(const char *what, const float *got, const float *want, size_t n, double rtol,
                    double atol)
{
    int bad = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        double lim = atol + rtol * fabs(want[i]);
        if (!(d <= lim)) {
            if (bad < 3) fprintf(stderr, "  %s[%zu]: %.9g vs torch %.9g\n", what, i, got[i], want[i]);
            bad++;
        }
        if (d > worst) worst = d;
    }
    CHECK_MSG(bad == 0, "%s: %d of %zu values outside tolerance (worst abs diff %.3g)", what, bad, n, worst);
}

/* NHWC (n <= 16 images) <-> blocked (H, W, C, 16). */
static float *to_blocked(const float *x, int n, size_t per_image)
{
    float *b = calloc(per_image * LN, 4);
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < per_image; k++) b[k * LN + i] = x[i * per_image + k];
    return b;
}
static float *from_blocked(const float *b, int n, size_t per_image)
{
    float *x = malloc(4 * per_image * (size_t)n);
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < per_image; k++) x[i * per_image + k] = b[k * LN + i];
    return x;
}

static void test_dense(const struct bundle *b)
{
    const struct tensor *x = get(b, "dense.x"), *w = get(b, "dense.w"), *bias = get(b, "dense.b"),
                        *r = get(b, "dense.r");
    if (!x || !w || !bias || !r) return;
    int n = x->dims[0], ni = x->dims[1], no = w->dims[1];
    float *y = malloc(4 * n * no), *dx = malloc(4 * n * ni), *dw = calloc(ni * no, 4), *db = calloc(no, 4);
    ae_dense_forward(y, x->data, w->data, bias->data, n, ni, no, AE_ACT_LINEAR);
    ae_dense_backward(dx, dw, db, r->data, x->data, w->data, n, ni, no);
    /* float sums of 10 products: 1e-5 relative + 1e-6 */
    compare("dense.y", y, get(b, "dense.y")->data, (size_t)n * no, 1e-5, 1e-6);
    compare("dense.dx", dx, get(b, "dense.dx")->data, (size_t)n * ni, 1e-5, 1e-6);
    compare("dense.dw", dw, get(b, "dense.dw")->data, (size_t)ni * no, 1e-5, 1e-6);
    compare("dense.db", db, get(b, "dense.db")->data, no, 1e-5, 1e-6);
    free(y); free(dx); free(dw); free(db);
}

static void test_conv(const struct bundle *b, const char *name, int pad)
{
    char k[64];
#define T(s) (snprintf(k, sizeof k, "%s.%s", name, s), get(b, k))
    const struct tensor *x = T("x"), *w = T("w"), *bias = T("b"), *r = T("r");
    if (!x || !w || !bias || !r) return;
    int n = x->dims[0], H = x->dims[1], W = x->dims[2], ci = x->dims[3], co = w->dims[3];
    int Ho = H + 2 * pad - 2, Wo = W + 2 * pad - 2;
    size_t in_sz = (size_t)H * W * ci, out_sz = (size_t)Ho * Wo * co, nw = 9 * (size_t)ci * co;
    float *xb = to_blocked(x->data, n, in_sz), *rb = to_blocked(r->data, n, out_sz);
    float *yb = malloc(4 * out_sz * LN), *dxb = malloc(4 * in_sz * LN);
    float *dwl = calloc(nw * LN, 4), *dbl = calloc((size_t)co * LN, 4), *dw = calloc(nw, 4), *db = calloc(co, 4);
    ae_conv_forward(yb, xb, w->data, bias->data, H, W, ci, co, pad, AE_ACT_LINEAR);
    ae_conv_backward_data(dxb, rb, w->data, H, W, ci, co, pad);
    ae_conv_backward_weights(dwl, dbl, xb, rb, H, W, ci, co, pad);
    ae_lanes_reduce(dw, dwl, (int64_t)nw);
    ae_lanes_reduce(db, dbl, co);
    float *y = from_blocked(yb, n, out_sz), *dx = from_blocked(dxb, n, in_sz);
    char what[80];
    /* sums of up to 144 products (dw: up to 3*196): 1e-4 relative + 1e-5 */
    snprintf(what, sizeof what, "%s.y", name);
    compare(what, y, T("y")->data, n * out_sz, 1e-4, 1e-5);
    snprintf(what, sizeof what, "%s.dx", name);
    compare(what, dx, T("dx")->data, n * in_sz, 1e-4, 1e-5);
    snprintf(what, sizeof what, "%s.dw", name);
    compare(what, dw, T("dw")->data, nw, 1e-4, 1e-4);
    snprintf(what, sizeof what, "%s.db", name);
    compare(what, db, T("db")->data, co, 1e-4, 1e-4);
#undef T
    free(xb); free(rb); free(yb); free(dxb); free(dwl); free(dbl); free(dw); free(db); free(y); free(dx);
}

static void test_pool_up(const struct bundle *b)
{
    const struct tensor *x = get(b, "pool.x"), *r = get(b, "pool.r");
    if (x && r) {
        int n = x->dims[0], H = x->dims[1], C = x->dims[3], Ho = (H + 1) / 2;
        size_t in_sz = (size_t)H * H * C, out_sz = (size_t)Ho * Ho * C;
        float *xb = to_blocked(x->data, n, in_sz), *rb = to_blocked(r->data, n, out_sz);
        for (size_t i = 0; i < in_sz * LN; i++) xb[i] = xb[i] > 0 ? xb[i] : 0;
        float *yb = malloc(4 * out_sz * LN), *dxb = malloc(4 * in_sz * LN);
        ae_maxpool_forward(yb, 0, xb, H, H, C);
        ae_maxpool_backward_relu(dxb, rb, xb, yb, 0, H, H, C);
        float *y = from_blocked(yb, n, out_sz), *dx = from_blocked(dxb, n, in_sz);
        /* pooling moves values: exact */
        compare("pool.y", y, get(b, "pool.y")->data, n * out_sz, 0, 0);
        compare("pool.dx", dx, get(b, "pool.dx")->data, n * in_sz, 0, 0);
        free(xb); free(rb); free(yb); free(dxb); free(y); free(dx);
    }
    x = get(b, "up.x");
    r = get(b, "up.r");
    if (x && r) {
        int n = x->dims[0], H = x->dims[1], C = x->dims[3];
        size_t in_sz = (size_t)H * H * C, out_sz = 4 * in_sz;
        float *xb = to_blocked(x->data, n, in_sz), *rb = to_blocked(r->data, n, out_sz);
        float *yb = malloc(4 * out_sz * LN), *dxb = malloc(4 * in_sz * LN);
        ae_upsample_forward(yb, 0, xb, H, H, C);
        ae_upsample_backward(dxb, rb, H, H, C);
        float *y = from_blocked(yb, n, out_sz), *dx = from_blocked(dxb, n, in_sz);
        compare("up.y", y, get(b, "up.y")->data, n * out_sz, 0, 0);
        /* sum of 4 values, maybe in another order: 1e-6 relative */
        compare("up.dx", dx, get(b, "up.dx")->data, n * in_sz, 1e-6, 1e-7);
        free(xb); free(rb); free(yb); free(dxb); free(y); free(dx);
    }
}

static void test_bce_l1(const struct bundle *b)
{
    const struct tensor *z = get(b, "bce.z"), *y = get(b, "bce.y");
    if (z && y) {
        size_t n = z->n;
        float *zz = malloc(4 * n), *dz = malloc(4 * n);
        memcpy(zz, z->data, 4 * n);
        double sum = ae_bce_sigmoid(zz, dz, y->data, (int64_t)n, 1.f / (float)n, LN);
        /* mean of 3136 terms: 1e-6 relative */
        CHECK_REL(sum / (double)n, get(b, "bce.loss")->data[0], 1e-6, 0);
        /* gradient (p - y)/N, 0 where clipped: 1e-5 relative + 1e-10 */
        compare("bce.dz", dz, get(b, "bce.dz")->data, n, 1e-5, 1e-10);
        free(zz); free(dz);
    }
    const struct tensor *c = get(b, "l1.code");
    if (c) {
        float *d = calloc(c->n, 4);
        double s = 0.01 * ae_l1_activity(c->data, d, (int64_t)c->n, 0.01f, LN);
        CHECK_REL(s, get(b, "l1.loss")->data[0], 1e-6, 0);
        compare("l1.dcode", d, get(b, "l1.dcode")->data, c->n, 1e-6, 0);
        free(d);
    }
}

static void test_adam(void)
{
    struct bundle b;
    CHECK(load(&b, "adam.aetf"));
    const struct tensor *w0 = get(&b, "adam.w0"), *g = get(&b, "adam.g");
    if (w0 && g) {
        size_t n = w0->n;
        float *w = malloc(4 * n), *m = calloc(n, 4), *v = calloc(n, 4);
        memcpy(w, w0->data, 4 * n);
        for (int s = 1; s <= 3; s++) {
            struct ae_adam_hp hp = ae_adam_hparams(0.001, s);
            ae_adam_update(w, m, v, g->data + (size_t)(s - 1) * n, (int64_t)n, &hp);
            char k[32];
            /* float32 update: weights within 2e-7 + 1e-6 relative */
            snprintf(k, sizeof k, "adam.w%d", s);
            compare(k, w, get(&b, k)->data, n, 1e-6, 2e-7);
            snprintf(k, sizeof k, "adam.m%d", s);
            compare(k, m, get(&b, k)->data, n, 1e-6, 1e-9);
            snprintf(k, sizeof k, "adam.v%d", s);
            compare(k, v, get(&b, k)->data, n, 1e-5, 1e-12);
        }
        free(w); free(m); free(v);
    }
    unload(&b);
}

/* Train the engine's model from the fixture's weights on its images, one
 * full batch per epoch, and compare with PyTorch step by step. */
static void test_training(const char *file, enum ae_model_kind kind, int encoding_dim, int steps,
                          double loss_rtol, double weight_atol)
{
    struct bundle b;
    CHECK_MSG(load(&b, file), "cannot load %s", file);
    const struct tensor *imgs = get(&b, "images"), *losses = get(&b, "losses");
    if (!imgs || !losses) {
        unload(&b);
        return;
    }
    int n = imgs->dims[0];
    uint8_t *px = malloc((size_t)n * 784);
    for (size_t i = 0; i < (size_t)n * 784; i++) px[i] = (uint8_t)imgs->data[i];
    struct ae_dataset ds = {n, n, px, px, px, px};
    struct ae_config c;
    ae_config_defaults(&c, kind);
    c.encoding_dim = encoding_dim;
    c.batch_size = n;
    c.train_size = n;
    c.test_size = n;
    struct ae_trainer *t = NULL;
    CHECK_EQ_INT(ae_trainer_new(&c, &ds, &t, NULL), AE_OK);
    struct ae_model *m = (struct ae_model *)ae_trainer_model(t);
    int np = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const struct ae_layer *l = &m->layers[i];
        if (!l->n_params) continue;
        char k[16];
        snprintf(k, sizeof k, "p%d", np++);
        const struct tensor *w = get(&b, k);
        snprintf(k, sizeof k, "p%d", np++);
        const struct tensor *bias = get(&b, k);
        if (!w || !bias) continue;
        memcpy(m->params + l->w_off, w->data, 4 * w->n);
        memcpy(m->params + l->b_off, bias->data, 4 * bias->n);
    }

    /* First-step gradients through the executor. */
    float *grad = calloc((size_t)m->n_params, 4);
    float *arena = ae_aligned_alloc(sizeof(float) * (size_t)ae_work_floats(m, m->blocked ? LN : n));
    struct ae_work w;
    ae_work_init(&w, m, m->blocked ? LN : n, arena);
    struct ae_net_ctx ctx = {m->params, grad, n, false, 0, false, 0, true};
    struct ae_src src = {px, NULL, 0, n};
    struct ae_loss_parts parts = {0, 0, 0};
    ae_net_run(&w, &ctx, &src, &parts);
    CHECK_REL(ae_net_batch_loss(m, &parts, n), losses->data[0], 1e-6, 0);
    np = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const struct ae_layer *l = &m->layers[i];
        if (!l->n_params) continue;
        char k[16], what[64];
        snprintf(k, sizeof k, "grad%d", np);
        snprintf(what, sizeof what, "%s %s", file, k);
        /* gradients: 1e-3 relative + 1e-6 of float summation differences */
        compare(what, grad + l->w_off, get(&b, k)->data, (size_t)(l->n_params - l->out_c), 1e-3, 1e-6);
        snprintf(k, sizeof k, "grad%d", np + 1);
        snprintf(what, sizeof what, "%s %s", file, k);
        compare(what, grad + l->b_off, get(&b, k)->data, (size_t)l->out_c, 1e-3, 1e-6);
        np += 2;
    }

    /* Steps: epoch s's loss is torch's loss at step s; its val_loss is the
     * loss before step s + 1. */
    for (int s = 0; s < steps; s++) {
        struct ae_epoch_stats st;
        CHECK_EQ_INT(ae_trainer_run_epoch(t, NULL, &st, NULL), AE_OK);
        double want_val = s + 1 < steps ? losses->data[s + 1] : get(&b, "final_loss")->data[0];
        CHECK_REL(st.loss, losses->data[s], loss_rtol, 0);
        CHECK_REL(st.val_loss, want_val, loss_rtol, 0);
    }
    np = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const struct ae_layer *l = &m->layers[i];
        if (!l->n_params) continue;
        char k[16], what[64];
        snprintf(k, sizeof k, "final%d", np);
        snprintf(what, sizeof what, "%s %s", file, k);
        compare(what, m->params + l->w_off, get(&b, k)->data, (size_t)(l->n_params - l->out_c), 1e-3,
                weight_atol);
        snprintf(k, sizeof k, "final%d", np + 1);
        compare(what, m->params + l->b_off, get(&b, k)->data, (size_t)l->out_c, 1e-3, weight_atol);
        np += 2;
    }
    ae_free(arena);
    free(grad);
    ae_trainer_free(t);
    free(px);
    unload(&b);
}

int main(void)
{
    struct bundle b;
    CHECK_MSG(load(&b, "layers.aetf"), "cannot load %s/layers.aetf", AE_TORCH_FIXTURES);
    test_dense(&b);
    test_conv(&b, "conv_same", 1);
    test_conv(&b, "conv_valid", 0);
    test_conv(&b, "conv_in1", 1);
    test_conv(&b, "conv_out1", 1);
    test_pool_up(&b);
    test_bce_l1(&b);
    unload(&b);
    test_adam();
    /* After a few Adam steps (each moves a weight by about lr = 1e-3),
     * losses agree to 1e-5 relative and weights to 2e-6 absolute. */
    test_training("train_dense.aetf", AE_MODEL_SIMPLE, 4, 5, 1e-5, 2e-6);
    test_training("train_conv.aetf", AE_MODEL_CONV, 32, 3, 1e-5, 2e-6);
    return check_summary("test_torch_ref");
}
