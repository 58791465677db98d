/*
 * ae_summary.c - Keras' model.summary() table for our models.
 *
 * Owns only text formatting.  Reproduces Keras 2's print_summary: a
 * sequential-like model gets line length 65 and columns at 29/55/65; the
 * vae (a branching functional model) gets line length 98, columns at
 * 32/53/65/98 and a "Connected to" column.  As in Keras, each field is cut
 * to its column and the last character of the previous column is replaced
 * by a space, which is why a long name shows as "max_pooling2d_1 (MaxPooling".
 * Layer names are Keras' automatic ones for a fresh session (input_1,
 * dense_1, conv2d_1, ...).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ae_model.h"

struct out {
    char *buf;
    size_t len, pos;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *dst = o->pos < o->len ? o->buf + o->pos : NULL;
    size_t room = o->pos < o->len ? o->len - o->pos : 0;
    int n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (n > 0) o->pos += (size_t)n;
}

static void rule(struct out *o, char ch, int n)
{
    char line[128];
    memset(line, ch, (size_t)n);
    line[n] = 0;
    put(o, "%s\n", line);
}

/* Keras' print_row: cut each field to its column, pad, and overwrite the
 * last character before each new field with a space. */
static void row(struct out *o, const char *const *fields, const int *positions, int n)
{
    char line[160] = "";
    int len = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && len > 0) line[len - 1] = ' ';
        int flen = (int)strlen(fields[i]);
        for (int k = 0; k < flen && len < positions[i]; k++) line[len++] = fields[i][k];
        while (len < positions[i]) line[len++] = ' ';
        line[len] = 0;
    }
    put(o, "%s\n", line);
}

static void thousands(char *buf, size_t len, long long v)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%lld", v);
    size_t k = 0;
    for (int i = 0; i < n && k + 1 < len; i++) {
        if (i > 0 && (n - i) % 3 == 0 && k + 1 < len) buf[k++] = ',';
        if (k + 1 < len) buf[k++] = digits[i];
    }
    buf[k] = 0;
}

static void shape_str(char *buf, size_t len, const struct ae_model *m, int h, int w, int c)
{
    if (m->blocked)
        snprintf(buf, len, "(None, %d, %d, %d)", h, w, c);
    else
        snprintf(buf, len, "(None, %d)", h * w * c);
}

static void footer(struct out *o, long long total, int width)
{
    char t[32];
    thousands(t, sizeof t, total);
    put(o, "Total params: %s\n", t);
    put(o, "Trainable params: %s\n", t);
    put(o, "Non-trainable params: 0\n");
    rule(o, '_', width);
}

static void sequential(struct out *o, const struct ae_model *m)
{
    static const int pos[3] = {29, 55, 65};
    static const char *const head[3] = {"Layer (type)", "Output Shape", "Param #"};
    int n_dense = 0, n_conv = 0, n_pool = 0, n_up = 0;
    char name[64], shape[64], params[32];

    rule(o, '_', 65);
    row(o, head, pos, 3);
    rule(o, '=', 65);
    const struct ae_layer *first = &m->layers[0];
    shape_str(shape, sizeof shape, m, first->in_h, first->in_w, first->in_c);
    const char *input_row[3] = {"input_1 (InputLayer)", shape, "0"};
    row(o, input_row, pos, 3);
    for (int32_t i = 0; i < m->n_layers; i++) {
        const struct ae_layer *l = &m->layers[i];
        rule(o, '_', 65);
        switch (l->kind) {
        case AE_LAYER_DENSE: snprintf(name, sizeof name, "dense_%d (Dense)", ++n_dense); break;
        case AE_LAYER_CONV: snprintf(name, sizeof name, "conv2d_%d (Conv2D)", ++n_conv); break;
        case AE_LAYER_MAXPOOL:
            snprintf(name, sizeof name, "max_pooling2d_%d (MaxPooling2D)", ++n_pool);
            break;
        case AE_LAYER_UPSAMPLE:
            snprintf(name, sizeof name, "up_sampling2d_%d (UpSampling2D)", ++n_up);
            break;
        default: snprintf(name, sizeof name, "layer_%d", (int)i); break;
        }
        shape_str(shape, sizeof shape, m, l->out_h, l->out_w, l->out_c);
        snprintf(params, sizeof params, "%lld", (long long)l->n_params);
        const char *f[3] = {name, shape, params};
        row(o, f, pos, 3);
    }
    rule(o, '=', 65);
    footer(o, m->n_params, 65);
}

/* The vae as Keras' functional API prints it: input_1 -> dense_1 ->
 * (dense_2 = z_mean, dense_3 = z_log_var) -> lambda_1 -> dense_4 -> dense_5. */
static void functional_vae(struct out *o, const struct ae_model *m)
{
    static const int pos[4] = {32, 53, 65, 98};
    static const char *const head[4] = {"Layer (type)", "Output Shape", "Param #", "Connected to"};
    const struct ae_layer *enc = &m->layers[0], *heads = &m->layers[1];
    const struct ae_layer *dec_h = &m->layers[3], *dec_out = &m->layers[4];
    int L = m->cfg.latent_dim;
    char s_in[32], s_h[32], s_l[32], s_out[32], p_enc[32], p_head[32], p_dh[32], p_do[32];
    snprintf(s_in, sizeof s_in, "(None, %d)", AE_IMAGE_PIXELS);
    snprintf(s_h, sizeof s_h, "(None, %d)", enc->out_c);
    snprintf(s_l, sizeof s_l, "(None, %d)", L);
    snprintf(s_out, sizeof s_out, "(None, %d)", dec_out->out_c);
    snprintf(p_enc, sizeof p_enc, "%lld", (long long)enc->n_params);
    snprintf(p_head, sizeof p_head, "%lld", (long long)heads->n_params / 2);
    snprintf(p_dh, sizeof p_dh, "%lld", (long long)dec_h->n_params);
    snprintf(p_do, sizeof p_do, "%lld", (long long)dec_out->n_params);
    const char *rows[8][4] = {
        {"input_1 (InputLayer)", s_in, "0", ""},
        {"dense_1 (Dense)", s_h, p_enc, "input_1[0][0]"},
        {"dense_2 (Dense)", s_l, p_head, "dense_1[0][0]"},
        {"dense_3 (Dense)", s_l, p_head, "dense_1[0][0]"},
        {"lambda_1 (Lambda)", s_l, "0", "dense_2[0][0]"},
        {"", "", "", "dense_3[0][0]"},
        {"dense_4 (Dense)", s_h, p_dh, "lambda_1[0][0]"},
        {"dense_5 (Dense)", s_out, p_do, "dense_4[0][0]"},
    };
    rule(o, '_', 98);
    row(o, head, pos, 4);
    rule(o, '=', 98);
    for (int i = 0; i < 8; i++) {
        row(o, rows[i], pos, 4);
        if (i == 4) continue; /* lambda_1's second input goes on the next line */
        rule(o, i == 7 ? '=' : '_', 98);
    }
    footer(o, m->n_params, 98);
}

size_t ae_model_summary(const struct ae_model *m, char *buf, size_t len)
{
    struct out o = {buf, len, 0};
    if (buf && len) buf[0] = 0;
    if (!m) return 0;
    if (m->cfg.model == AE_MODEL_VAE)
        functional_vae(&o, m);
    else
        sequential(&o, m);
    if (buf && len && o.pos >= len) buf[len - 1] = 0;
    return o.pos;
}
