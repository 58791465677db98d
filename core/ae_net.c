/*
 * ae_net.c - the executor: input assembly, forward, loss, backward.
 *
 * Owns the order in which the layer kernels of ae_kernels.h are called for a
 * model, and the per-thread work area.  Does not own threads (the trainer
 * cuts a minibatch into chunks, one ae_net_run each) or the optimiser.
 *
 * Design: dense models run a whole chunk of rows per layer, so each layer
 * is one sgemm; the conv models run one block of 16 images through every
 * layer and back before the next block, so a block's activations (2.4 MB)
 * stay in cache and the work area is small whatever the batch size.  Conv
 * weight gradients accumulate per lane and are summed over lanes once per
 * run (ae_lanes_sum).
 */
#include <math.h>
#include <string.h>

#include "ae_net.h"
#include "ae_kernels.h"
#include "ae_rng.h"
#include "ae_vmath.h"

#define L AE_LANES

/* i / 255.f for every byte value, exactly as numpy's float32 division. */
#define S1(i) ((float)(i) / 255.f)
#define S4(i) S1(i), S1(i + 1), S1(i + 2), S1(i + 3)
#define S16(i) S4(i), S4(i + 4), S4(i + 8), S4(i + 12)
#define S64(i) S16(i), S16(i + 16), S16(i + 32), S16(i + 48)
static const float byte_scale[256] = {S64(0), S64(64), S64(128), S64(192)};

static int64_t max_layer_size(const struct ae_model *m)
{
    int64_t mx = AE_IMAGE_PIXELS;
    for (int32_t i = 0; i < m->n_layers; i++) {
        int64_t a = ae_layer_in_size(&m->layers[i]), b = ae_layer_out_size(&m->layers[i]);
        if (a > mx) mx = a;
        if (b > mx) mx = b;
    }
    return mx;
}

/* Dense layer i may skip zero inputs: it reads the pixels or a relu
 * output, and the kernels take its shape here (ae_dense_nz.c). */
static bool nz_candidate(const struct ae_model *m, int i)
{
    const struct ae_layer *l = &m->layers[i];
    if (l->kind != AE_LAYER_DENSE) return false;
    if (i > 0 && !(m->layers[i - 1].kind == AE_LAYER_DENSE && m->layers[i - 1].act == AE_ACT_RELU))
        return false;
    return ae_nz_usable(l->in_c, l->out_c);
}

static int64_t round16(int64_t n) { return (n + 15) & ~(int64_t)15; }

/* Per-image floats of act[k] including its border (blocked models). */
static int64_t act_floats(const struct ae_model *m, int k, int pad)
{
    const struct ae_layer *l = k < m->n_layers ? &m->layers[k] : NULL;
    int h, w, c;
    if (l) {
        h = l->in_h, w = l->in_w, c = l->in_c;
    } else {
        l = &m->layers[m->n_layers - 1];
        h = l->out_h, w = l->out_w, c = l->out_c;
    }
    return (int64_t)(h + 2 * pad) * (w + 2 * pad) * c;
}

static int act_pad_of(const struct ae_model *m, int k)
{
    if (!m->blocked || k >= m->n_layers) return 0;
    const struct ae_layer *l = &m->layers[k];
    return l->kind == AE_LAYER_CONV && l->pad == 1;
}

static int dz_pad_of(const struct ae_model *m, int i)
{
    const struct ae_layer *l = &m->layers[i];
    return i > 0 ? 2 - l->pad : 0;
}

/* Lay out (or just size, when arena is NULL) a work area; returns floats. */
static int64_t work_layout(struct ae_work *w, const struct ae_model *m, int32_t cap, float *arena)
{
    int64_t at = 0;
    float *base = arena;
#define TAKE(n) (at += round16(n), base ? base + at - round16(n) : NULL)
    int64_t rows = m->blocked ? L : cap;
    for (int k = 0; k <= m->n_layers; k++) {
        int pad = act_pad_of(m, k);
        if (w) w->act_pad[k] = pad;
        float *p = TAKE(rows * act_floats(m, k, pad));
        if (w) w->act[k] = p;
    }
    float *t = TAKE(rows * AE_IMAGE_PIXELS);
    int64_t g = round16(rows * max_layer_size(m));
    float *g0 = TAKE(g), *g1 = TAKE(g);
    float *eps = TAKE(rows * (m->cfg.latent_dim > 0 ? m->cfg.latent_dim : 1));
    if (w) {
        w->target = t;
        w->g0 = g0;
        w->g1 = g1;
        w->eps = eps;
    }
    for (int i = 0; i < m->n_layers && !m->blocked; i++) {
        if (!nz_candidate(m, i)) continue;
        const struct ae_layer *l = &m->layers[i];
        float *mem = TAKE(ae_nz_mask_bytes((int)rows, l->in_c) / (int64_t)sizeof(float));
        if (w) ae_nz_mask_init(&w->nz[i], (int)rows, l->in_c, mem);
    }
    if (m->blocked) {
        float *dl = TAKE(m->n_params * L);
        if (w) w->dlanes = dl;
        for (int i = 0; i < m->n_layers; i++) {
            const struct ae_layer *l = &m->layers[i];
            if (l->kind != AE_LAYER_CONV) continue;
            int q = dz_pad_of(m, i);
            float *dz = TAKE((int64_t)L * (l->out_h + 2 * q) * (l->out_w + 2 * q) * l->out_c);
            float *wf = TAKE(9LL * l->in_c * l->out_c);
            if (w) {
                w->dzp[i] = dz;
                w->dz_pad[i] = q;
                w->wflip[i] = wf;
            }
        }
    }
#undef TAKE
    return at;
}

int64_t ae_work_floats(const struct ae_model *m, int32_t cap)
{
    return work_layout(NULL, m, cap, NULL);
}

void ae_work_init(struct ae_work *w, const struct ae_model *m, int32_t cap, float *arena)
{
    memset(w, 0, sizeof *w);
    w->m = m;
    w->cap = cap;
    w->arena = arena;
    int64_t n = work_layout(w, m, cap, arena);
    /* The zero borders are never written afterwards. */
    memset(arena, 0, sizeof(float) * (size_t)n);
}

static inline int32_t src_image(const struct ae_src *s, int32_t k)
{
    return s->idx ? s->idx[k] : s->first + k;
}

/* Pixel value of the noisy input: clip(x + f n, 0, 1). */
static inline float noisy_pixel(float x, float f, uint64_t key, int64_t image, int p)
{
    float n = ae_normal_scalar(ae_rng_at(key, (uint64_t)image * AE_IMAGE_PIXELS + (uint64_t)p));
    float v = x + f * n;
    return v < 0.f ? 0.f : (v > 1.f ? 1.f : v);
}

/* One image: x = pixels / 255 (noisy when noise_factor > 0), t = clean. */
void ae_pixels_row_scalar(float *x, float *t, const uint8_t *px, float f, uint64_t key, int64_t img)
{
    for (int p = 0; p < AE_IMAGE_PIXELS; p++) {
        float v = byte_scale[px[p]];
        t[p] = v;
        x[p] = f > 0.f ? noisy_pixel(v, f, key, img, p) : v;
    }
}

/* Rows k0..k0+n of src into act[0] and target, row-major. */
static void fill_rows(struct ae_work *w, const struct ae_net_ctx *ctx, const struct ae_src *s,
                      int32_t k0, int32_t n)
{
    float f = ctx->noisy ? (float)w->m->cfg.noise_factor : 0.f;
    for (int32_t r = 0; r < n; r++) {
        int32_t img = src_image(s, k0 + r);
        ae_pixels_row(w->act[0] + (size_t)r * AE_IMAGE_PIXELS,
                      w->target + (size_t)r * AE_IMAGE_PIXELS,
                      s->images + (size_t)img * AE_IMAGE_PIXELS, f, ctx->noise_key, img);
    }
}

/* Images k0..k0+nv of src into one block (784, 16); lanes >= nv are 0. */
static void fill_block(struct ae_work *w, const struct ae_net_ctx *ctx, const struct ae_src *s,
                       int32_t k0, int nv)
{
    float f = ctx->noisy ? (float)w->m->cfg.noise_factor : 0.f;
    int pad = w->act_pad[0], S = AE_IMAGE_SIDE, rs = S + 2 * pad;
    float *x = w->act[0] + ((size_t)pad * rs + pad) * L, *t = w->target;
    float row_x[AE_IMAGE_PIXELS], row_t[AE_IMAGE_PIXELS];
    for (int l = 0; l < L; l++) {
        if (l >= nv) {
            memset(row_x, 0, sizeof row_x);
            memset(row_t, 0, sizeof row_t);
        } else {
            int32_t img = src_image(s, k0 + l);
            ae_pixels_row(row_x, row_t, s->images + (size_t)img * AE_IMAGE_PIXELS, f, ctx->noise_key, img);
        }
        for (int y = 0; y < S; y++)
            for (int xx = 0; xx < S; xx++) {
                x[((size_t)y * rs + xx) * L + l] = row_x[y * S + xx];
                t[((size_t)y * S + xx) * L + l] = row_t[y * S + xx];
            }
    }
}

/* ---- vae sampling layer ------------------------------------------------ */

static void sample_forward(struct ae_work *w, const struct ae_net_ctx *ctx, const struct ae_src *s,
                           int32_t k0, int32_t n, const float *in, float *z)
{
    int32_t Ld = w->m->cfg.latent_dim;
    for (int32_t r = 0; r < n; r++) {
        const float *mean = in + (size_t)r * 2 * Ld, *logvar = mean + Ld;
        float *e = w->eps + (size_t)r * Ld;
        int64_t img = src_image(s, k0 + r);
        for (int32_t j = 0; j < Ld; j++) {
            e[j] = ctx->sample ? ae_normal_scalar(ae_rng_at(ctx->eps_key, (uint64_t)img * Ld + j))
                               : 0.f;
            z[(size_t)r * Ld + j] = mean[j] + expf(0.5f * logvar[j]) * e[j];
        }
    }
}

/* Sum over rows of KL(N(mean, exp(logvar)) || N(0, 1)). */
static double kl_sum(const float *in, int32_t n, int32_t Ld)
{
    double total = 0.0;
    for (int32_t r = 0; r < n; r++) {
        const float *mean = in + (size_t)r * 2 * Ld, *logvar = mean + Ld;
        float s = 0.f;
        for (int32_t j = 0; j < Ld; j++)
            s += 1.f + logvar[j] - mean[j] * mean[j] - expf(logvar[j]);
        total += -0.5 * (double)s;
    }
    return total;
}

/* din = gradient wrt (mean | logvar) from dz (gradient wrt z) plus the KL
 * term scaled by kl_scale. */
static void sample_backward(const struct ae_work *w, float *din, const float *dz, const float *in,
                            int32_t n, float kl_scale)
{
    int32_t Ld = w->m->cfg.latent_dim;
    for (int32_t r = 0; r < n; r++) {
        const float *mean = in + (size_t)r * 2 * Ld, *logvar = mean + Ld;
        const float *e = w->eps + (size_t)r * Ld, *g = dz + (size_t)r * Ld;
        float *dmean = din + (size_t)r * 2 * Ld, *dlogvar = dmean + Ld;
        for (int32_t j = 0; j < Ld; j++) {
            float sd = expf(0.5f * logvar[j]);
            dmean[j] = g[j] + kl_scale * mean[j];
            dlogvar[j] = g[j] * e[j] * 0.5f * sd + kl_scale * 0.5f * (expf(logvar[j]) - 1.f);
        }
    }
}

/* ---- dense chain ------------------------------------------------------- */

/* One chunk of n rows through the dense chain (forward, loss, backward).
 * Returns -1, or the index of a layer the chain does not run. */
static int32_t run_rows(struct ae_work *w, const struct ae_net_ctx *ctx, const struct ae_src *s,
                        int32_t k0, int32_t n, struct ae_loss_parts *parts, bool first)
{
    const struct ae_model *m = w->m;
    const float *P = ctx->params;
    int32_t last = m->n_layers - 1;
    bool train = ctx->dparams != NULL;
    fill_rows(w, ctx, s, k0, n);
    for (int32_t i = 0; i <= last; i++) {
        const struct ae_layer *l = &m->layers[i];
        switch (l->kind) {
        case AE_LAYER_DENSE:
            /* Skip the zero inputs (pixels, relu outputs) when there are enough. */
            w->nz_on[i] = ae_nz_dense_forward(w->act[i + 1], w->act[i], P + l->w_off, P + l->b_off,
                                              n, l->in_c, l->out_c, l->act,
                                              w->nz[i].row ? &w->nz[i] : NULL);
            break;
        case AE_LAYER_SAMPLE:
            sample_forward(w, ctx, s, k0, n, w->act[i], w->act[i + 1]);
            w->nz_on[i] = false;
            break;
        case AE_LAYER_CONV:
        case AE_LAYER_MAXPOOL:
        case AE_LAYER_UPSAMPLE:
        default:
            return i; /* not a row layer (ae_net_check refuses such models) */
        }
    }
    float *z = w->act[last + 1];
    if (!ctx->want_loss) {
        ae_sigmoid(z, (int64_t)n * AE_IMAGE_PIXELS);
        return -1;
    }
    bool vae = m->cfg.model == AE_MODEL_VAE;
    bool sparse = m->cfg.model == AE_MODEL_SPARSE;
    float scale = vae ? 1.f / (float)ctx->n_total : 1.f / ((float)ctx->n_total * AE_IMAGE_PIXELS);
    float *g = w->g0, *gn = w->g1;
    parts->bce += ae_bce_sigmoid(z, train ? g : NULL, w->target, (int64_t)n * AE_IMAGE_PIXELS,
                                 scale, L);
    const struct ae_layer *code = &m->layers[m->code_layer];
    if (sparse)
        parts->reg += ae_l1_activity(w->act[m->code_layer + 1], NULL, (int64_t)n * code->out_c,
                                     0.f, L);
    if (vae) parts->kl += kl_sum(w->act[2], n, m->cfg.latent_dim);
    if (!train) return -1;

    for (int32_t i = last; i >= 0; i--) {
        const struct ae_layer *l = &m->layers[i];
        /* g holds the gradient wrt layer i's output; make it wrt the
         * pre-activation. */
        if (sparse && i == m->code_layer)
            ae_l1_activity(w->act[i + 1], g, (int64_t)n * l->out_c, (float)m->cfg.l1, L);
        if (l->act == AE_ACT_RELU) ae_relu_backward(g, g, w->act[i + 1], (int64_t)n * l->out_c);
        switch (l->kind) {
        case AE_LAYER_DENSE:
            /* The first chunk overwrites the gradient (no memset), later ones add. */
            if (w->nz_on[i])
                ae_nz_backward(i > 0 ? gn : NULL, ctx->dparams + l->w_off, ctx->dparams + l->b_off,
                               g, w->act[i], P + l->w_off, &w->nz[i], l->out_c, first);
            else
                (first ? ae_dense_backward_set : ae_dense_backward)(
                    i > 0 ? gn : NULL, ctx->dparams + l->w_off, ctx->dparams + l->b_off, g,
                    w->act[i], P + l->w_off, n, l->in_c, l->out_c);
            break;
        case AE_LAYER_SAMPLE:
            sample_backward(w, gn, g, w->act[i], n, 1.f / (float)ctx->n_total);
            break;
        case AE_LAYER_CONV:
        case AE_LAYER_MAXPOOL:
        case AE_LAYER_UPSAMPLE:
        default:
            return i;
        }
        float *t = g;
        g = gn;
        gn = t;
    }
    return -1;
}

/* ---- conv chain, one block -------------------------------------------- */

/* Row stride in floats of act[k] (blocked). */
static int64_t act_rs(const struct ae_work *w, int k, int width, int channels)
{
    return (int64_t)(width + 2 * w->act_pad[k]) * channels * L;
}

/* dz (Ho, Wo, C) -> the interior of conv i's bordered gradient buffer,
 * masked by the relu of y when mask_relu. */
static void to_bordered(float *dst, int q, const float *g, const float *y, int Ho, int Wo, int C,
                        bool mask_relu)
{
    int64_t row = (int64_t)Wo * C * L, rs = (int64_t)(Wo + 2 * q) * C * L;
    dst += q * rs + (int64_t)q * C * L;
    for (int r = 0; r < Ho; r++) {
        if (mask_relu)
            ae_relu_backward(dst + r * rs, g + r * row, y + r * row, row);
        else
            memcpy(dst + r * rs, g + r * row, sizeof(float) * (size_t)row);
    }
}

/* One block of nv <= 16 images through the conv chain (forward, loss,
 * backward).  Returns -1, or the index of a layer the chain does not run. */
static int32_t run_block(struct ae_work *w, const struct ae_net_ctx *ctx, const struct ae_src *s,
                         int32_t k0, int nv, struct ae_loss_parts *parts)
{
    const struct ae_model *m = w->m;
    const float *P = ctx->params;
    int32_t last = m->n_layers - 1;
    bool train = ctx->dparams != NULL;
    fill_block(w, ctx, s, k0, nv);
    for (int32_t i = 0; i <= last; i++) {
        const struct ae_layer *l = &m->layers[i];
        switch (l->kind) {
        case AE_LAYER_CONV:
            /* A conv's output is never read by a conv here, so it has no border. */
            ae_conv3_valid(w->act[i + 1], w->act[i], act_rs(w, i, l->in_w, l->in_c), l->out_h,
                           l->out_w, l->in_c, l->out_c, P + l->w_off, P + l->b_off, l->act);
            break;
        case AE_LAYER_MAXPOOL:
            ae_maxpool_forward(w->act[i + 1], w->act_pad[i + 1], w->act[i], l->in_h, l->in_w, l->in_c);
            break;
        case AE_LAYER_UPSAMPLE:
            ae_upsample_forward(w->act[i + 1], w->act_pad[i + 1], w->act[i], l->in_h, l->in_w, l->in_c);
            break;
        case AE_LAYER_DENSE:
        case AE_LAYER_SAMPLE:
        default:
            return i; /* not a block layer (ae_net_check refuses such models) */
        }
    }
    float *z = w->act[last + 1];
    if (!ctx->want_loss) {
        ae_sigmoid(z, (int64_t)AE_IMAGE_PIXELS * L);
        return -1;
    }
    float scale = 1.f / ((float)ctx->n_total * AE_IMAGE_PIXELS);
    float *g = w->g0, *gn = w->g1;
    parts->bce += ae_bce_sigmoid(z, train ? g : NULL, w->target, (int64_t)AE_IMAGE_PIXELS * L,
                                 scale, nv);
    if (!train) return -1;

    bool preact = true; /* g is wrt the pre-activation of layer i */
    for (int32_t i = last; i >= 0; i--) {
        const struct ae_layer *l = &m->layers[i];
        switch (l->kind) {
        case AE_LAYER_CONV: {
            bool mask = l->act == AE_ACT_RELU && !preact;
            int q = w->dz_pad[i];
            const float *dz = g;
            int64_t dz_rs = (int64_t)l->out_w * l->out_c * L;
            if (q > 0 || mask) {
                to_bordered(w->dzp[i], q, g, w->act[i + 1], l->out_h, l->out_w, l->out_c, mask);
                dz_rs = (int64_t)(l->out_w + 2 * q) * l->out_c * L;
                dz = w->dzp[i] + q * dz_rs + (int64_t)q * l->out_c * L;
            }
            ae_conv3_wgrad(w->dlanes + l->w_off * L, w->dlanes + l->b_off * L, w->act[i],
                           act_rs(w, i, l->in_w, l->in_c), dz, dz_rs, l->out_h, l->out_w, l->in_c,
                           l->out_c);
            if (i > 0)
                ae_conv3_valid(gn, w->dzp[i], dz_rs, l->in_h, l->in_w, l->out_c, l->in_c, w->wflip[i],
                               NULL, AE_ACT_LINEAR);
            preact = false;
            break;
        }
        case AE_LAYER_MAXPOOL:
            /* Every pool follows a relu conv: the relu's backward is fused. */
            ae_maxpool_backward_relu(gn, g, w->act[i], w->act[i + 1], w->act_pad[i + 1], l->in_h,
                                     l->in_w, l->in_c);
            preact = true;
            break;
        case AE_LAYER_UPSAMPLE:
            ae_upsample_backward(gn, g, l->in_h, l->in_w, l->in_c);
            preact = false;
            break;
        case AE_LAYER_DENSE:
        case AE_LAYER_SAMPLE:
        default:
            return i;
        }
        float *t = g;
        g = gn;
        gn = t;
    }
    return -1;
}

/* ---- the executor ----------------------------------------------------- */

static const char *kind_name(enum ae_layer_kind k)
{
    switch (k) {
    case AE_LAYER_DENSE: return "dense";
    case AE_LAYER_CONV: return "conv";
    case AE_LAYER_MAXPOOL: return "maxpool";
    case AE_LAYER_UPSAMPLE: return "upsample";
    case AE_LAYER_SAMPLE: return "sample";
    }
    return "unknown";
}

/* Whether the chain of this layout (blocked: conv; else rows) runs kind k. */
static bool chain_runs(bool blocked, enum ae_layer_kind k)
{
    switch (k) {
    case AE_LAYER_DENSE:
    case AE_LAYER_SAMPLE: return !blocked;
    case AE_LAYER_CONV:
    case AE_LAYER_MAXPOOL:
    case AE_LAYER_UPSAMPLE: return blocked;
    }
    return false;
}

enum ae_status ae_net_check(const struct ae_model *m, struct ae_err *err)
{
    if (!m || m->n_layers < 1 || m->n_layers > AE_MAX_LAYERS)
        return ae_err_set(err, AE_ERR_ARG, "a model needs 1 to %d layers", AE_MAX_LAYERS);
    for (int32_t i = 0; i < m->n_layers; i++) {
        enum ae_layer_kind k = m->layers[i].kind;
        if (!chain_runs(m->blocked, k))
            return ae_err_set(err, AE_ERR_ARG, "layer %d of the %s model has kind %d (%s), which "
                              "the %s chain does not run", (int)i, ae_model_name(m->cfg.model),
                              (int)k, kind_name(k), m->blocked ? "conv (blocked)" : "dense (rows)");
    }
    return AE_OK;
}

enum ae_status ae_net_run(struct ae_work *w, const struct ae_net_ctx *ctx, const struct ae_src *src,
                          struct ae_loss_parts *parts)
{
    const struct ae_model *m = w->m;
    bool train = ctx->dparams != NULL;
    int32_t bad = -1;
    if (m->blocked) {
        if (train) {
            memset(w->dlanes, 0, sizeof(float) * (size_t)(m->n_params * L));
            for (int32_t i = 1; i < m->n_layers; i++) {
                const struct ae_layer *l = &m->layers[i];
                if (l->kind == AE_LAYER_CONV)
                    ae_conv3_flip(w->wflip[i], ctx->params + l->w_off, l->in_c, l->out_c);
            }
        }
        for (int32_t k = 0; k < src->n && bad < 0; k += L) {
            int nv = src->n - k < L ? src->n - k : L;
            bad = run_block(w, ctx, src, k, nv, parts);
        }
        if (train && bad < 0) ae_lanes_sum(ctx->dparams, w->dlanes, m->n_params);
    } else {
        if (train && src->n == 0) memset(ctx->dparams, 0, sizeof(float) * (size_t)m->n_params);
        for (int32_t k = 0; k < src->n && bad < 0; k += w->cap) {
            int32_t n = src->n - k < w->cap ? src->n - k : w->cap;
            bad = run_rows(w, ctx, src, k, n, parts, k == 0);
        }
    }
    return bad < 0 ? AE_OK : AE_ERR_ARG;
}

void ae_work_read(const struct ae_work *w, int k, int32_t r, float *out)
{
    const struct ae_model *m = w->m;
    int64_t size = k == 0 ? AE_IMAGE_PIXELS : ae_layer_out_size(&m->layers[k - 1]);
    const float *a = w->act[k];
    if (m->blocked) {
        const struct ae_layer *l = k < m->n_layers ? &m->layers[k] : &m->layers[k - 1];
        int h = k < m->n_layers ? l->in_h : l->out_h, wd = k < m->n_layers ? l->in_w : l->out_w;
        int c = k < m->n_layers ? l->in_c : l->out_c, pad = w->act_pad[k];
        int64_t i = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < wd; x++)
                for (int ch = 0; ch < c; ch++)
                    out[i++] = a[(((int64_t)(y + pad) * (wd + 2 * pad) + x + pad) * c + ch) * L + r];
    } else {
        memcpy(out, a + (size_t)r * size, sizeof(float) * (size_t)size);
    }
}

void ae_work_read_input(const struct ae_work *w, int32_t r, float *out)
{
    ae_work_read(w, 0, r, out);
}

double ae_net_batch_loss(const struct ae_model *m, const struct ae_loss_parts *p, int64_t n)
{
    if (n <= 0) return 0.0;
    switch (m->cfg.model) {
    case AE_MODEL_VAE: return (p->bce + p->kl) / (double)n;
    case AE_MODEL_SPARSE:
        return p->bce / ((double)n * AE_IMAGE_PIXELS) + m->cfg.l1 * p->reg;
    default: return p->bce / ((double)n * AE_IMAGE_PIXELS);
    }
}
