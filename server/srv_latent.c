/*
 * srv_latent.c - pictures of the latent space: the scatter of the test
 * set's codes, the vae's manifold and its prior samples (srv_latent.h).
 *
 * Owns the layout and drawing of those pictures.  Does not own any maths:
 * codes come from ae_model_encode, principal components from ae_pca_fit,
 * grid points from ae_normal_quantile and images from ae_model_decode /
 * ae_model_sample_prior (core/); PNG encoding is proto's tb_png_encode_*.
 *
 * Design: charts are drawn with cairo (a well-kept 2-D library) into an
 * RGB24 image surface whose pixels go to tb_png_encode_rgb, so every PNG
 * aelab writes comes out of one encoder.  The palette is fixed and
 * documented (Tableau 10), and dots are discs of radius 2.5 px centred
 * where srv_plot_to_pixel says: the pixel holding a centre is fully
 * covered, so its colour is exactly the label's (tests rely on that).
 */
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/tb.h"
#include "srv_latent.h"

const uint8_t srv_latent_palette[10][3] = {
    {0x1f, 0x77, 0xb4}, {0xff, 0x7f, 0x0e}, {0x2c, 0xa0, 0x2c}, {0xd6, 0x27, 0x28},
    {0x94, 0x67, 0xbd}, {0x8c, 0x56, 0x4b}, {0xe3, 0x77, 0xc2}, {0x7f, 0x7f, 0x7f},
    {0xbc, 0xbd, 0x22}, {0x17, 0xbe, 0xcf},
};

static const char *const digit_names[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                              "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                              "Bag",         "Ankle boot"};

const char *const *srv_latent_class_names(const char *dataset)
{
    return dataset && strcmp(dataset, "fashion-mnist") == 0 ? fashion_names : digit_names;
}

/* Layout of the scatter picture, in pixels. */
#define PLOT_LEFT 70.0
#define PLOT_TOP 34.0
#define PLOT_RIGHT ((double)SRV_LATENT_WIDTH - 150.0)
#define PLOT_BOTTOM ((double)SRV_LATENT_HEIGHT - 50.0)
#define DOT_RADIUS 2.5
#define FONT_SIZE 12.0

void srv_plot_to_pixel(const struct srv_plot_frame *f, double x, double y, double *px, double *py)
{
    *px = f->px0 + (x - f->x0) / (f->x1 - f->x0) * (f->px1 - f->px0);
    *py = f->py0 + (y - f->y0) / (f->y1 - f->y0) * (f->py1 - f->py0);
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static uint8_t to_grey(float x)
{
    if (!(x > 0.0f)) return 0; /* also NaN */
    if (x >= 1.0f) return 255;
    return (uint8_t)(x * 255.0f + 0.5f);
}

static enum ae_status png_fail(struct ae_err *err, const struct tb_err *terr, const char *what)
{
    return ae_err_set(err, terr->code == TB_ERR_NOMEM ? AE_ERR_NOMEM : AE_ERR_IO, "%s PNG: %s",
                      what, terr->msg);
}

/* Data range [lo, hi] of one coordinate, padded by 5% on each side; a
 * single value gets +-1 around it. */
static void data_range(const float *xy, int32_t n, int axis, double *lo, double *hi)
{
    double a = INFINITY, b = -INFINITY;
    for (int32_t i = 0; i < n; i++) {
        float x = xy[2 * i], y = xy[2 * i + 1];
        if (!isfinite(x) || !isfinite(y)) continue;
        double v = axis ? y : x;
        a = fmin(a, v);
        b = fmax(b, v);
    }
    if (!(a <= b)) a = b = 0.0; /* no finite point */
    if (b - a < 1e-9 * fmax(1.0, fabs(a))) {
        a -= 1.0;
        b += 1.0;
    }
    double pad = 0.05 * (b - a);
    *lo = a - pad;
    *hi = b + pad;
}

/* A round tick spacing: 1, 2 or 5 times a power of ten, about range/6. */
static double tick_step(double range)
{
    double raw = range / 6.0, mag = pow(10.0, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * mag;
}

static void text_at(cairo_t *cr, const char *s, double x, double y, double align_x, double align_y)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - e.x_bearing - align_x * e.width, y - e.y_bearing - align_y * e.height);
    cairo_show_text(cr, s);
}

static void set_rgb(cairo_t *cr, const uint8_t c[3])
{
    cairo_set_source_rgb(cr, c[0] / 255.0, c[1] / 255.0, c[2] / 255.0);
}

static void draw_axes(cairo_t *cr, const struct srv_plot_frame *f, const struct srv_scatter *s)
{
    char buf[64];
    cairo_set_line_width(cr, 1.0);
    /* Grid and ticks, x then y. */
    for (int axis = 0; axis < 2; axis++) {
        double lo = axis ? f->y0 : f->x0, hi = axis ? f->y1 : f->x1, step = tick_step(hi - lo);
        if (!(step > 0.0) || !isfinite(step) || !isfinite(lo) || !isfinite(hi)) continue;
        for (long long k = (long long)ceil(lo / step); k <= (long long)floor(hi / step); k++) {
            double v = (double)k * step, px, py;
            srv_plot_to_pixel(f, axis ? f->x0 : v, axis ? v : f->y0, &px, &py);
            snprintf(buf, sizeof buf, "%g", fabs(v) < 1e-9 * step ? 0.0 : v);
            cairo_set_source_rgb(cr, 0.925, 0.925, 0.925);
            if (axis) {
                py = floor(py) + 0.5;
                cairo_move_to(cr, f->px0, py);
                cairo_line_to(cr, f->px1, py);
            } else {
                px = floor(px) + 0.5;
                cairo_move_to(cr, px, f->py1);
                cairo_line_to(cr, px, f->py0);
            }
            cairo_stroke(cr);
            cairo_set_source_rgb(cr, 0, 0, 0);
            if (axis) {
                cairo_move_to(cr, f->px0 - 5, py);
                cairo_line_to(cr, f->px0, py);
                cairo_stroke(cr);
                text_at(cr, buf, f->px0 - 8, py, 1.0, 0.5);
            } else {
                cairo_move_to(cr, px, f->py0);
                cairo_line_to(cr, px, f->py0 + 5);
                cairo_stroke(cr);
                text_at(cr, buf, px, f->py0 + 8, 0.5, 0.0);
            }
        }
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, f->px0 - 0.5, f->py1 - 0.5, f->px1 - f->px0 + 1, f->py0 - f->py1 + 1);
    cairo_stroke(cr);
    if (s->title) text_at(cr, s->title, (f->px0 + f->px1) / 2, 10, 0.5, 0.0);
    if (s->x_label) text_at(cr, s->x_label, (f->px0 + f->px1) / 2, SRV_LATENT_HEIGHT - 8, 0.5, 1.0);
    if (s->y_label) {
        cairo_save(cr);
        cairo_translate(cr, 14, (f->py0 + f->py1) / 2);
        cairo_rotate(cr, -M_PI / 2);
        text_at(cr, s->y_label, 0, 0, 0.5, 0.0);
        cairo_restore(cr);
    }
}

static void draw_legend(cairo_t *cr, const struct srv_scatter *s)
{
    const char *const *names = s->class_names ? s->class_names : digit_names;
    double x = PLOT_RIGHT + 18, y = PLOT_TOP + 4;
    cairo_set_source_rgb(cr, 0, 0, 0);
    text_at(cr, s->legend_title ? s->legend_title : "label", x, y, 0.0, 0.0);
    for (int k = 0; k < 10; k++) {
        double cy = y + 28 + 20 * k;
        set_rgb(cr, srv_latent_palette[k]);
        cairo_arc(cr, x + 5, cy, 5, 0, 2 * M_PI);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text_at(cr, names[k], x + 16, cy, 0.0, 0.5);
    }
}

/* ------------------------------------------------------------------------ */
/* Scatter                                                                  */
/* ------------------------------------------------------------------------ */

static pthread_mutex_t cairo_lock = PTHREAD_MUTEX_INITIALIZER;

enum ae_status srv_latent_plot_png(const struct srv_scatter *s, uint8_t **png, size_t *png_len,
                                   struct srv_plot_frame *frame, struct ae_err *err)
{
    if (!s || !png || !png_len || s->n < 0 || (s->n > 0 && (!s->xy || !s->labels)))
        return ae_err_set(err, AE_ERR_ARG, "srv_latent_plot_png: bad arguments");
    *png = NULL;
    *png_len = 0;
    const int W = SRV_LATENT_WIDTH, H = SRV_LATENT_HEIGHT;
    struct srv_plot_frame f = {.px0 = PLOT_LEFT, .px1 = PLOT_RIGHT, .py0 = PLOT_BOTTOM,
                               .py1 = PLOT_TOP};
    data_range(s->xy, s->n, 0, &f.x0, &f.x1);
    data_range(s->xy, s->n, 1, &f.y0, &f.y1);

    enum ae_status st = AE_OK;
    uint8_t *rgb = NULL;
    /* One drawing at a time: two workers drawing at once race inside
     * libcairo's shared caches (font and free-block caches, guarded by
     * atomics that ThreadSanitizer cannot see; it reports them in
     * test_faults_kill).  A picture takes ~25 ms once per epoch, so the lock
     * costs nothing, and it makes the order visible to TSan. */
    pthread_mutex_lock(&cairo_lock);
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, FONT_SIZE);
    draw_axes(cr, &f, s);
    draw_legend(cr, s);

    cairo_save(cr);
    cairo_rectangle(cr, f.px0, f.py1, f.px1 - f.px0, f.py0 - f.py1);
    cairo_clip(cr);
    for (int32_t i = 0; i < s->n; i++) {
        float x = s->xy[2 * i], y = s->xy[2 * i + 1];
        if (!isfinite(x) || !isfinite(y)) continue;
        double px, py;
        srv_plot_to_pixel(&f, x, y, &px, &py);
        if (s->labels[i] < 10)
            set_rgb(cr, srv_latent_palette[s->labels[i]]);
        else
            cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_new_path(cr);
        cairo_arc(cr, px, py, DOT_RADIUS, 0, 2 * M_PI);
        cairo_fill(cr);
    }
    cairo_restore(cr);
    cairo_surface_flush(surf);

    cairo_status_t cs = cairo_status(cr);
    if (cs == CAIRO_STATUS_SUCCESS) cs = cairo_surface_status(surf);
    if (cs != CAIRO_STATUS_SUCCESS) {
        st = ae_err_set(err, cs == CAIRO_STATUS_NO_MEMORY ? AE_ERR_NOMEM : AE_ERR_IO,
                        "drawing the scatter plot: cairo: %s", cairo_status_to_string(cs));
        goto fail;
    }
    rgb = malloc((size_t)W * (size_t)H * 3);
    if (!rgb) {
        st = ae_err_set(err, AE_ERR_NOMEM, "out of memory for a %dx%d picture", W, H);
        goto fail;
    }
    const unsigned char *data = cairo_image_surface_get_data(surf);
    int stride = cairo_image_surface_get_stride(surf);
    for (int yy = 0; yy < H; yy++) {
        const uint32_t *row = (const uint32_t *)(const void *)(data + (size_t)yy * (size_t)stride);
        uint8_t *out = rgb + (size_t)yy * (size_t)W * 3;
        for (int xx = 0; xx < W; xx++) {
            out[3 * xx] = (uint8_t)(row[xx] >> 16);
            out[3 * xx + 1] = (uint8_t)(row[xx] >> 8);
            out[3 * xx + 2] = (uint8_t)row[xx];
        }
    }
    struct tb_err terr = {0};
    if (tb_png_encode_rgb(rgb, W, H, png, png_len, &terr) != TB_OK) {
        st = png_fail(err, &terr, "scatter");
        goto fail;
    }
    if (frame) *frame = f;
fail:
    free(rgb);
    cairo_destroy(cr);
    cairo_surface_destroy(surf);
    pthread_mutex_unlock(&cairo_lock);
    return st;
}

enum ae_status srv_latent_points(const struct ae_model *m, const struct ae_dataset *ds, int32_t n,
                                 float *xy, char *x_label, char *y_label, struct ae_err *err)
{
    if (!m || !ds || !xy) return ae_err_set(err, AE_ERR_ARG, "srv_latent_points: NULL argument");
    if (n < 2 || n > ds->n_test)
        return ae_err_set(err, AE_ERR_ARG, "the scatter needs 2 to %d test images, got %d",
                          ds->n_test, n);
    const struct ae_config *cfg = ae_model_config(m);
    int32_t d = ae_model_code_dim(m);
    bool direct = cfg->model == AE_MODEL_VAE && d <= 2; /* plot the means themselves */
    enum ae_status st;
    double *pm = NULL, *comp = NULL;
    float *codes = malloc(sizeof(float) * (size_t)n * (size_t)d);
    if (!codes) return ae_err_set(err, AE_ERR_NOMEM, "out of memory for %d codes", n);
    st = ae_model_encode(m, ds, n, codes, err);
    if (st != AE_OK) goto fail;
    if (direct || d == 1) {
        for (int32_t i = 0; i < n; i++) {
            xy[2 * i] = codes[(size_t)i * d];
            xy[2 * i + 1] = d > 1 ? codes[(size_t)i * d + 1] : 0.0f;
        }
        if (x_label) snprintf(x_label, 64, "%s", direct ? "z[0] (encoded mean)" : "code");
        if (y_label) snprintf(y_label, 64, "%s", d > 1 ? "z[1] (encoded mean)" : "(one-dimensional code)");
    } else {
        pm = malloc(sizeof(double) * (size_t)d);
        comp = malloc(sizeof(double) * 2 * (size_t)d);
        if (!pm || !comp) {
            st = ae_err_set(err, AE_ERR_NOMEM, "out of memory for the principal components");
            goto fail;
        }
        st = ae_pca_fit(codes, n, d, 2, pm, comp, NULL, err);
        if (st != AE_OK) goto fail;
        ae_pca_project(codes, n, d, 2, pm, comp, xy);
        if (x_label) snprintf(x_label, 64, "PC1");
        if (y_label) snprintf(y_label, 64, "PC2");
    }
fail:
    free(comp);
    free(pm);
    free(codes);
    return st;
}

enum ae_status srv_latent_scatter_png(const struct ae_model *m, const struct ae_dataset *ds,
                                      const char *dataset, int32_t n, uint8_t **png,
                                      size_t *png_len, int32_t *width, int32_t *height,
                                      struct ae_err *err)
{
    if (!m || !ds || !png || !png_len)
        return ae_err_set(err, AE_ERR_ARG, "srv_latent_scatter_png: NULL argument");
    if (ds->n_test < n) n = ds->n_test;
    char xl[64], yl[64], title[160];
    float *xy = malloc(sizeof(float) * 2 * (size_t)(n > 0 ? n : 1));
    if (!xy) return ae_err_set(err, AE_ERR_NOMEM, "out of memory for %d points", n);
    enum ae_status st = srv_latent_points(m, ds, n, xy, xl, yl, err);
    if (st == AE_OK) {
        const struct ae_config *cfg = ae_model_config(m);
        int32_t d = ae_model_code_dim(m);
        if (cfg->model == AE_MODEL_VAE && d <= 2)
            snprintf(title, sizeof title, "vae: encoded means of %d test images", n);
        else if (d == 1)
            snprintf(title, sizeof title, "%s: the one-unit code of %d test images",
                     ae_model_name(cfg->model), n);
        else
            snprintf(title, sizeof title, "%s: first two principal components of the %d-unit %s, %d test images",
                     ae_model_name(cfg->model), d, cfg->model == AE_MODEL_VAE ? "mean" : "code", n);
        bool fashion = dataset && strcmp(dataset, "fashion-mnist") == 0;
        struct srv_scatter s = {.xy = xy, .labels = ds->test_labels, .n = n, .title = title,
                                .x_label = xl, .y_label = yl,
                                .legend_title = fashion ? "class" : "digit",
                                .class_names = srv_latent_class_names(dataset)};
        st = srv_latent_plot_png(&s, png, png_len, NULL, err);
    }
    free(xy);
    if (st == AE_OK) {
        if (width) *width = SRV_LATENT_WIDTH;
        if (height) *height = SRV_LATENT_HEIGHT;
    }
    return st;
}

/* ------------------------------------------------------------------------ */
/* Manifold and samples                                                     */
/* ------------------------------------------------------------------------ */

/* Cells of 28x28 images into a grey picture of cols x rows cells; cells
 * past n stay black. */
static enum ae_status cells_png(const float *images, int32_t n, int32_t cols, int32_t rows,
                                const char *what, uint8_t **png, size_t *png_len, int32_t *width,
                                int32_t *height, struct ae_err *err)
{
    int32_t W = cols * AE_IMAGE_SIDE, H = rows * AE_IMAGE_SIDE;
    uint8_t *pix = calloc((size_t)W * (size_t)H, 1);
    if (!pix) return ae_err_set(err, AE_ERR_NOMEM, "out of memory for a %dx%d picture", W, H);
    for (int32_t k = 0; k < n; k++) {
        int32_t r0 = (k / cols) * AE_IMAGE_SIDE, c0 = (k % cols) * AE_IMAGE_SIDE;
        const float *img = images + (size_t)k * AE_IMAGE_PIXELS;
        for (int32_t y = 0; y < AE_IMAGE_SIDE; y++)
            for (int32_t x = 0; x < AE_IMAGE_SIDE; x++)
                pix[(size_t)(r0 + y) * (size_t)W + (size_t)(c0 + x)] = to_grey(img[y * AE_IMAGE_SIDE + x]);
    }
    struct tb_err terr = {0};
    enum ae_status st = AE_OK;
    if (tb_png_encode_gray(pix, W, H, png, png_len, &terr) != TB_OK)
        st = png_fail(err, &terr, what);
    else {
        if (width) *width = W;
        if (height) *height = H;
    }
    free(pix);
    return st;
}

static enum ae_status need_vae(const struct ae_model *m, const char *what, struct ae_err *err)
{
    const struct ae_config *cfg = ae_model_config(m);
    if (cfg->model != AE_MODEL_VAE)
        return ae_err_set(err, AE_ERR_ARG,
                          "the %s is drawn by the vae's decoder; a %s model has none", what,
                          ae_model_name(cfg->model));
    return AE_OK;
}

enum ae_status srv_latent_manifold_png(const struct ae_model *m, uint8_t **png, size_t *png_len,
                                       int32_t *width, int32_t *height, struct ae_err *err)
{
    if (!m || !png || !png_len) return ae_err_set(err, AE_ERR_ARG, "srv_latent_manifold_png: NULL argument");
    *png = NULL;
    *png_len = 0;
    enum ae_status st = need_vae(m, "latent manifold", err);
    if (st != AE_OK) return st;
    int32_t L = ae_model_config(m)->latent_dim;
    if (L != 2)
        return ae_err_set(err, AE_ERR_ARG,
                          "the latent manifold is a 2-D grid and needs latent_dim 2; this vae has "
                          "latent_dim %d", L);
    enum { S = SRV_LATENT_GRID_SIDE };
    double q[S];
    for (int k = 0; k < S; k++) q[k] = ae_normal_quantile(0.05 + 0.9 * k / (S - 1));
    float *z = malloc(sizeof(float) * S * S * 2);
    float *images = malloc(sizeof(float) * S * S * AE_IMAGE_PIXELS);
    if (!z || !images) {
        st = ae_err_set(err, AE_ERR_NOMEM, "out of memory for the manifold");
        goto fail;
    }
    for (int r = 0; r < S; r++)
        for (int c = 0; c < S; c++) {
            z[2 * (r * S + c)] = (float)q[c];
            z[2 * (r * S + c) + 1] = (float)q[S - 1 - r];
        }
    st = ae_model_decode(m, z, S * S, images, err);
    if (st != AE_OK) goto fail;
    st = cells_png(images, S * S, S, S, "manifold", png, png_len, width, height, err);
fail:
    free(images);
    free(z);
    return st;
}

enum ae_status srv_latent_samples_png(const struct ae_model *m, int32_t n, uint64_t seed,
                                      uint8_t **png, size_t *png_len, int32_t *width,
                                      int32_t *height, struct ae_err *err)
{
    if (!m || !png || !png_len) return ae_err_set(err, AE_ERR_ARG, "srv_latent_samples_png: NULL argument");
    *png = NULL;
    *png_len = 0;
    enum ae_status st = need_vae(m, "samples picture", err);
    if (st != AE_OK) return st;
    if (n < 1 || n > SRV_LATENT_SAMPLES_MAX)
        return ae_err_set(err, AE_ERR_ARG, "n is %d; it must be in [1, %d]", n, SRV_LATENT_SAMPLES_MAX);
    float *images = malloc(sizeof(float) * (size_t)n * AE_IMAGE_PIXELS);
    if (!images) return ae_err_set(err, AE_ERR_NOMEM, "out of memory for %d samples", n);
    st = ae_model_sample_prior(m, n, seed, NULL, images, err);
    if (st == AE_OK) {
        int32_t cols = n < SRV_LATENT_SAMPLES_COLS ? n : SRV_LATENT_SAMPLES_COLS;
        int32_t rows = (n + SRV_LATENT_SAMPLES_COLS - 1) / SRV_LATENT_SAMPLES_COLS;
        st = cells_png(images, n, cols, rows, "samples", png, png_len, width, height, err);
    }
    free(images);
    return st;
}

void srv_latent_release_fonts(void)
{
    /* cairo's font caches hold fontconfig patterns: drop them first. */
    cairo_debug_reset_static_data();
    FcFini();
}
