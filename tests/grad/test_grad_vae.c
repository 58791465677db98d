/*
 * test_grad_vae.c - the vae's own pieces, at chosen points of the latent
 * space rather than at a fresh model's (mean, logvar) ~ (0, 0):
 *
 *  - the sampling step: z = mean + exp(logvar / 2) eps with the eps the
 *    executor drew (and z = mean when sampling is off, as in inference);
 *  - the KL term against its closed form 0.5 sum(mean^2 + e^logvar - 1 -
 *    logvar) for given mean and logvar, and the gradient it sends back
 *    (mean, (e^logvar - 1) / 2), exactly, with the decoder cut off;
 *  - the gradient through the sampling step with a fixed eps against
 *    central differences of the whole loss, wrt the heads' outputs;
 *  - the parameter count 784*256+256 + 2*(256L+L) + L*256+256 + 256*784+784
 *    for several latent_dim.
 *
 * The heads (layer 1) get weights w and biases b = (mean | logvar): with
 * w = 0 every image has exactly the chosen mean and logvar; with small w
 * they vary around them.  The gradient wrt b is the sum over images of the
 * gradient wrt the heads' outputs, i.e. what the sampling layer's backward
 * produced.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/ae_model.h"
#include "core/ae_net.h"
#include "core/ae_rng.h"

enum { N = 6, LD = 3 };
static const float MEAN[LD] = {0.5f, -1.25f, 0.3f};
static const float LOGVAR[LD] = {-0.5f, 0.75f, -2.0f};

struct run {
    struct ae_model *m;
    struct ae_work w;
    struct ae_net_ctx ctx;
    struct ae_src src;
    float *arena;
    uint8_t images[N * 784];
};

static void run_init(struct run *r, int latent)
{
    struct ae_config c;
    ae_config_defaults(&c, AE_MODEL_VAE);
    c.latent_dim = latent;
    c.seed = 21;
    memset(r, 0, sizeof *r);
    CHECK_EQ_INT(ae_model_new(&c, &r->m, NULL), AE_OK);
    if (!r->m) return;
    uint32_t s = 7;
    for (int i = 0; i < N * 784; i++) {
        s = s * 1664525u + 1013904223u;
        int px = i % 784, y = px / 28, x = px % 28, k = i / 784;
        r->images[i] = (uint8_t)((abs(x - 10 - k) < 3 + k % 3 && y > 4 && y < 24) ? 180 + (s >> 27)
                                                                                 : (s >> 29));
    }
    r->arena = ae_aligned_alloc(sizeof(float) * (size_t)ae_work_floats(r->m, N));
    ae_work_init(&r->w, r->m, N, r->arena);
    r->ctx.params = r->m->params;
    r->ctx.n_total = N;
    r->ctx.want_loss = true;
    r->ctx.sample = true;
    r->ctx.eps_key = ae_rng_key(c.seed, AE_RNG_EPS_TRAIN); /* fixed: the same eps every run */
    r->src.images = r->images;
    r->src.n = N;
}

static void run_fini(struct run *r)
{
    ae_free(r->arena);
    ae_model_free(r->m);
}

/* Heads: weights scaled by w_scale (0 = every image gets exactly MEAN and
 * LOGVAR), biases = (MEAN | LOGVAR). */
static void set_heads(struct run *r, float w_scale)
{
    const struct ae_layer *h = &r->m->layers[1];
    float *w = r->m->params + h->w_off, *b = r->m->params + h->b_off;
    for (int64_t k = 0; k < h->n_params - h->out_c; k++) w[k] *= w_scale;
    for (int j = 0; j < LD; j++) {
        b[j] = MEAN[j];
        b[LD + j] = LOGVAR[j];
    }
}

static double loss_of(struct run *r, struct ae_loss_parts *out)
{
    struct ae_loss_parts p = {0, 0, 0};
    r->ctx.dparams = NULL;
    ae_net_run(&r->w, &r->ctx, &r->src, &p);
    if (out) *out = p;
    return ae_net_batch_loss(r->m, &p, N);
}

static double kl_closed_form(void)
{
    double kl = 0;
    for (int j = 0; j < LD; j++)
        kl += 0.5 * ((double)MEAN[j] * MEAN[j] + exp((double)LOGVAR[j]) - 1.0 - LOGVAR[j]);
    return kl;
}

/* z = mean + exp(logvar/2) eps, KL = closed form, loss = (BCE + KL) / N. */
static void test_sampling_and_kl(void)
{
    struct run r;
    run_init(&r, LD);
    if (!r.m) return;
    set_heads(&r, 0.0f);
    struct ae_loss_parts p;
    double loss = loss_of(&r, &p);
    double kl1 = kl_closed_form();
    CHECK_REL(p.kl, N * kl1, 1e-6, 0);
    CHECK_REL(loss, (p.bce + p.kl) / N, 1e-12, 0);
    CHECK(p.bce > 0);

    const float *heads = r.w.act[2], *z = r.w.act[3];
    int distinct = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < LD; j++) {
            float mu = heads[i * 2 * LD + j], lv = heads[i * 2 * LD + LD + j];
            float eps = r.w.eps[i * LD + j];
            CHECK_NEAR(mu, MEAN[j], 1e-6);
            CHECK_NEAR(lv, LOGVAR[j], 1e-6);
            CHECK_NEAR(z[i * LD + j], MEAN[j] + exp(0.5 * LOGVAR[j]) * eps, 1e-5);
            distinct += eps != r.w.eps[0];
        }
    CHECK_MSG(distinct >= N * LD - 1, "eps should differ between images and dimensions");
    /* The same key gives the same eps (the finite differences below rely on it). */
    float keep[N * LD];
    memcpy(keep, r.w.eps, sizeof keep);
    loss_of(&r, NULL);
    CHECK(memcmp(keep, r.w.eps, sizeof keep) == 0);

    /* Without sampling (inference): z = mean and the KL is unchanged. */
    r.ctx.sample = false;
    struct ae_loss_parts q;
    loss_of(&r, &q);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < LD; j++) CHECK(r.w.act[3][i * LD + j] == r.w.act[2][i * 2 * LD + j]);
    CHECK_REL(q.kl, p.kl, 1e-12, 0);
    run_fini(&r);
}

/* With the decoder's first kernel at zero the reconstruction does not
 * depend on z, so the gradient wrt the heads' biases is the KL's alone:
 * d/dmean = mean, d/dlogvar = (e^logvar - 1) / 2 (the batch mean of equal
 * per-image terms). */
static void test_kl_gradient(void)
{
    struct run r;
    run_init(&r, LD);
    if (!r.m) return;
    set_heads(&r, 0.0f);
    const struct ae_layer *d1 = &r.m->layers[3];
    memset(r.m->params + d1->w_off, 0, sizeof(float) * (size_t)(d1->n_params - d1->out_c));
    float *grad = calloc((size_t)r.m->n_params, sizeof(float));
    struct ae_loss_parts p = {0, 0, 0};
    r.ctx.dparams = grad;
    ae_net_run(&r.w, &r.ctx, &r.src, &p);
    const float *gb = grad + r.m->layers[1].b_off;
    for (int j = 0; j < LD; j++) {
        CHECK_REL(gb[j], MEAN[j], 1e-5, 1e-7);
        CHECK_REL(gb[LD + j], 0.5 * (exp((double)LOGVAR[j]) - 1.0), 1e-5, 1e-7);
    }
    free(grad);
    run_fini(&r);
}

/* The loss in double precision as a function of the heads' outputs
 * heads (N, 2L) = (mean | logvar), with the eps the executor drew and the
 * model's decoder: z = mean + exp(logvar/2) eps, 784 * BCE (clipped as
 * Keras does) + KL, averaged over the images. */
static double ref_loss(const struct run *r, const double *heads)
{
    const struct ae_model *m = r->m;
    const struct ae_layer *d1 = &m->layers[3], *d2 = &m->layers[4];
    const float *P = m->params;
    double total = 0;
    for (int i = 0; i < N; i++) {
        const double *mu = heads + i * 2 * LD, *lv = mu + LD;
        double z[LD], hid[256];
        for (int j = 0; j < LD; j++) z[j] = mu[j] + exp(0.5 * lv[j]) * r->w.eps[i * LD + j];
        for (int o = 0; o < 256; o++) {
            double a = P[d1->b_off + o];
            for (int j = 0; j < LD; j++) a += z[j] * P[d1->w_off + j * 256 + o];
            hid[o] = a > 0 ? a : 0;
        }
        for (int px = 0; px < 784; px++) {
            double a = P[d2->b_off + px];
            for (int o = 0; o < 256; o++) a += hid[o] * P[d2->w_off + o * 784 + px];
            double y = 1.0 / (1.0 + exp(-a)), t = r->images[i * 784 + px] / 255.0;
            y = fmin(fmax(y, 1e-7), 1.0 - 1e-7);
            total -= t * log(y) + (1 - t) * log(1 - y);
        }
        for (int j = 0; j < LD; j++) total += 0.5 * (mu[j] * mu[j] + exp(lv[j]) - 1.0 - lv[j]);
    }
    return total / N;
}

/* The backward pass through the sampling step (fixed eps) and the KL
 * against central differences of ref_loss in double precision, wrt each
 * image's heads; the heads' bias and kernel gradients follow from those
 * (sums over images, weighted by the hidden activations for the kernel). */
static void test_sampling_gradient(void)
{
    struct run r;
    run_init(&r, LD);
    if (!r.m) return;
    set_heads(&r, 0.05f);
    float *grad = calloc((size_t)r.m->n_params, sizeof(float));
    struct ae_loss_parts p = {0, 0, 0};
    r.ctx.dparams = grad;
    ae_net_run(&r.w, &r.ctx, &r.src, &p);
    double loss = ae_net_batch_loss(r.m, &p, N);

    double heads[N * 2 * LD], G[N * 2 * LD];
    for (int k = 0; k < N * 2 * LD; k++) heads[k] = r.w.act[2][k];
    CHECK_REL(ref_loss(&r, heads), loss, 1e-5, 0);
    const double step = 1e-5;
    for (int k = 0; k < N * 2 * LD; k++) {
        double keep = heads[k];
        heads[k] = keep + step;
        double fp = ref_loss(&r, heads);
        heads[k] = keep - step;
        double fm = ref_loss(&r, heads);
        heads[k] = keep;
        G[k] = (fp - fm) / (2 * step);
    }
    const struct ae_layer *h = &r.m->layers[1];
    const float *gb = grad + h->b_off, *gw = grad + h->w_off, *hid = r.w.act[1];
    double bmax = 0, worst_b = 0;
    for (int o = 0; o < 2 * LD; o++) {
        double want = 0;
        for (int i = 0; i < N; i++) want += G[i * 2 * LD + o];
        bmax = fmax(bmax, fabs(want));
        worst_b = fmax(worst_b, fabs(want - gb[o]));
    }
    CHECK(bmax > 0.1);
    CHECK_MSG(worst_b <= 1e-5 * bmax, "heads' bias gradient: worst error %.3g (largest %.3g)",
              worst_b, bmax);
    double wmax = 0, worst_w = 0;
    for (int in = 0; in < 256; in++)
        for (int o = 0; o < 2 * LD; o++) {
            double want = 0;
            for (int i = 0; i < N; i++) want += hid[i * 256 + in] * G[i * 2 * LD + o];
            wmax = fmax(wmax, fabs(want));
            worst_w = fmax(worst_w, fabs(want - gw[in * 2 * LD + o]));
        }
    CHECK(wmax > 0.01);
    CHECK_MSG(worst_w <= 1e-5 * wmax, "heads' kernel gradient: worst error %.3g (largest %.3g)",
              worst_w, wmax);
    free(grad);
    run_fini(&r);
}

static void test_param_counts(void)
{
    static const int dims[] = {1, 2, 5, 64};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        int L = dims[i];
        struct ae_config c;
        ae_config_defaults(&c, AE_MODEL_VAE);
        c.latent_dim = L;
        struct ae_model *m = NULL;
        CHECK_EQ_INT(ae_model_new(&c, &m, NULL), AE_OK);
        if (!m) continue;
        int64_t want = 784 * 256 + 256 + 2 * (256 * L + L) + L * 256 + 256 + 256 * 784 + 784;
        CHECK_EQ_INT(ae_model_n_params(m), want);
        CHECK_EQ_INT(ae_model_code_dim(m), L);
        ae_model_free(m);
    }
    struct ae_config c;
    ae_config_defaults(&c, AE_MODEL_VAE);
    CHECK_EQ_INT(c.latent_dim, 2);
    CHECK_EQ_INT(c.batch_size, 100);
    CHECK_NEAR(c.learning_rate, 1e-3, 0);
}

int main(void)
{
    test_sampling_and_kl();
    test_kl_gradient();
    test_sampling_gradient();
    test_param_counts();
    return check_summary("test_grad_vae");
}
