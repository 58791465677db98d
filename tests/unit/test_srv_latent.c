/*
 * test_srv_latent.c - the latent-space pictures (server/srv_latent.c),
 * decoded back with libpng:
 *
 *  - scatter colours match labels: at the plotted position of every dot no
 *    later dot covers, the pixel has exactly its label's palette colour;
 *    synthetic points first, then the real MNIST test images through a vae
 *    (encoded means) and a simple model (principal components);
 *  - the scatter is what srv_latent_points + srv_latent_plot_png draw, and
 *    the vae's points are its encoded means;
 *  - manifold: 420x420 grayscale, each cell the decoder's image of the grid
 *    point at the documented Gaussian quantiles; refused for other models
 *    and other latent_dim;
 *  - samples: sizes for several n, reproducible by seed, refused for bad n
 *    and non-vae models.
 */
#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ae_testdata.h"
#include "server/srv_latent.h"

struct picture {
    int32_t w, h, color_type; /* from IHDR */
    uint8_t *px;              /* decoded: 3 bytes (RGB) or 1 (gray) per pixel */
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Read IHDR by hand, then decode with libpng's simplified API in the
 * PNG's own format (RGB or gray). */
static bool decode(const uint8_t *png, size_t len, struct picture *pic)
{
    memset(pic, 0, sizeof *pic);
    if (len < 33 || memcmp(png, "\x89PNG\r\n\x1a\n", 8) != 0 || memcmp(png + 12, "IHDR", 4) != 0)
        return false;
    pic->w = (int32_t)be32(png + 16);
    pic->h = (int32_t)be32(png + 20);
    pic->color_type = png[25];
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, png, len)) return false;
    img.format = pic->color_type == 2 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    pic->px = malloc(PNG_IMAGE_SIZE(img));
    if (!pic->px || !png_image_finish_read(&img, NULL, pic->px, 0, NULL)) {
        png_image_free(&img);
        free(pic->px);
        pic->px = NULL;
        return false;
    }
    return (int32_t)img.width == pic->w && (int32_t)img.height == pic->h;
}

/* How many dots' centre pixels have their label's colour, out of how many
 * dots no later dot comes near (a later dot within 2 radii + 2 px might
 * cover the centre). */
static void check_dot_colours(const struct picture *pic, const struct srv_plot_frame *f,
                              const float *xy, const uint8_t *labels, int32_t n, const char *what)
{
    int32_t checked = 0, wrong = 0, first_wrong = -1;
    double *px = malloc(sizeof(double) * (size_t)n), *py = malloc(sizeof(double) * (size_t)n);
    for (int32_t i = 0; i < n; i++) srv_plot_to_pixel(f, xy[2 * i], xy[2 * i + 1], &px[i], &py[i]);
    for (int32_t i = 0; i < n; i++) {
        if (!isfinite(xy[2 * i]) || !isfinite(xy[2 * i + 1]) || labels[i] > 9) continue;
        bool covered = false;
        for (int32_t j = i + 1; j < n && !covered; j++)
            covered = isfinite(px[j]) && isfinite(py[j]) && fabs(px[j] - px[i]) < 7.0 &&
                      fabs(py[j] - py[i]) < 7.0;
        if (covered) continue;
        CHECK(px[i] >= f->px0 && px[i] <= f->px1 && py[i] >= f->py1 && py[i] <= f->py0);
        const uint8_t *c = pic->px + ((size_t)floor(py[i]) * (size_t)pic->w + (size_t)floor(px[i])) * 3;
        checked++;
        if (memcmp(c, srv_latent_palette[labels[i]], 3) != 0) {
            wrong++;
            if (first_wrong < 0) first_wrong = i;
        }
    }
    CHECK_MSG(wrong == 0, "%s: %d of %d dots have the wrong colour (first: dot %d, label %d)", what,
              wrong, checked, first_wrong, first_wrong >= 0 ? labels[first_wrong] : -1);
    CHECK_MSG(checked >= n / 10, "%s: only %d of %d dots could be checked", what, checked, n);
    free(px);
    free(py);
}

/* Ten clusters on a spiral, one per label, plus a few labels out of range
 * and non-finite points. */
static void test_synthetic_scatter(void)
{
    enum { PER = 25, N = 10 * PER + 4 };
    static float xy[2 * N];
    static uint8_t labels[N];
    uint32_t s = 3;
    for (int32_t i = 0; i < 10 * PER; i++) {
        int k = i % 10; /* interleaved, as shuffled test images are */
        s = s * 1664525u + 1013904223u;
        double jx = ((s >> 8) & 0xffff) / 65536.0 - 0.5, jy = ((s >> 24) & 0xff) / 256.0 - 0.5;
        xy[2 * i] = (float)((1 + k) * cos(1.3 * k) + 0.8 * jx);
        xy[2 * i + 1] = (float)((1 + k) * sin(1.3 * k) + 0.8 * jy);
        labels[i] = (uint8_t)k;
    }
    xy[2 * 250] = NAN, labels[250] = 3;
    xy[2 * 251 + 1] = INFINITY, labels[251] = 4;
    xy[2 * 252] = 0, xy[2 * 252 + 1] = 0, labels[252] = 12; /* black, no legend entry */
    xy[2 * 253] = 2, xy[2 * 253 + 1] = -3, labels[253] = 9;

    struct srv_scatter sc = {.xy = xy, .labels = labels, .n = N, .title = "synthetic",
                             .x_label = "x", .y_label = "y"};
    uint8_t *png = NULL;
    size_t len = 0;
    struct srv_plot_frame f;
    struct ae_err err;
    CHECK_EQ_INT(srv_latent_plot_png(&sc, &png, &len, &f, &err), AE_OK);
    struct picture pic;
    CHECK(png && decode(png, len, &pic));
    if (!pic.px) return;
    CHECK_EQ_INT(pic.w, SRV_LATENT_WIDTH);
    CHECK_EQ_INT(pic.h, SRV_LATENT_HEIGHT);
    CHECK_EQ_INT(pic.color_type, 2);
    /* The frame spans the finite data, with 5% to spare on each side. */
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int32_t i = 0; i < N; i++)
        if (isfinite(xy[2 * i]) && isfinite(xy[2 * i + 1]))
            for (int a = 0; a < 2; a++) {
                lo[a] = fmin(lo[a], xy[2 * i + a]);
                hi[a] = fmax(hi[a], xy[2 * i + a]);
            }
    CHECK_NEAR(f.x0, lo[0] - 0.05 * (hi[0] - lo[0]), 1e-9);
    CHECK_NEAR(f.x1, hi[0] + 0.05 * (hi[0] - lo[0]), 1e-9);
    CHECK_NEAR(f.y0, lo[1] - 0.05 * (hi[1] - lo[1]), 1e-9);
    CHECK_NEAR(f.y1, hi[1] + 0.05 * (hi[1] - lo[1]), 1e-9);
    CHECK(f.px0 < f.px1 && f.py1 < f.py0 && f.px1 < SRV_LATENT_WIDTH && f.py0 < SRV_LATENT_HEIGHT);
    check_dot_colours(&pic, &f, xy, labels, N, "synthetic");
    /* The black dot at the origin. */
    double ox, oy;
    srv_plot_to_pixel(&f, 0, 0, &ox, &oy);
    const uint8_t *o = pic.px + ((size_t)oy * (size_t)pic.w + (size_t)ox) * 3;
    CHECK(o[0] == 0 && o[1] == 0 && o[2] == 0);
    /* White background in the plot area away from every dot, and in the
     * corner. */
    CHECK(pic.px[0] == 255 && pic.px[1] == 255 && pic.px[2] == 255);
    /* The legend has a dot of every palette colour: count pixels of each
     * colour right of the plot area. */
    for (int k = 0; k < 10; k++) {
        int hits = 0;
        for (int32_t y = 0; y < pic.h; y++)
            for (int32_t x = (int32_t)f.px1 + 2; x < pic.w; x++)
                hits += memcmp(pic.px + ((size_t)y * pic.w + x) * 3, srv_latent_palette[k], 3) == 0;
        CHECK_MSG(hits >= 20, "legend: %d pixels of label %d's colour", hits, k);
    }
    free(pic.px);
    free(png);

    /* Codes at the ends of the float range (a diverging model): still a
     * picture, no ticks where the range overflows, no cairo error. */
    float huge[6] = {-3e38f, -3e38f, 3e38f, 3e38f, 0, 1e-30f};
    uint8_t hl[3] = {1, 2, 3};
    struct srv_scatter hs = {.xy = huge, .labels = hl, .n = 3};
    CHECK_EQ_INT(srv_latent_plot_png(&hs, &png, &len, &f, &err), AE_OK);
    CHECK(png && decode(png, len, &pic) && pic.w == SRV_LATENT_WIDTH);
    free(pic.px);
    free(png);

    /* No points at all still draws the axes. */
    sc.n = 0;
    CHECK_EQ_INT(srv_latent_plot_png(&sc, &png, &len, &f, &err), AE_OK);
    CHECK(png && len > 100);
    free(png);
    sc.n = -1;
    CHECK_EQ_INT(srv_latent_plot_png(&sc, &png, &len, &f, &err), AE_ERR_ARG);
}

/* A real model on real MNIST test images: the dots' colours are the
 * labels', and srv_latent_scatter_png draws exactly those points. */
static void test_model_scatter(const struct ae_dataset *ds, enum ae_model_kind kind)
{
    struct ae_config c;
    ae_config_defaults(&c, kind);
    c.train_size = 2000;
    c.test_size = 1000;
    c.threads = 1;
    c.seed = 4;
    struct ae_trainer *t = NULL;
    CHECK_EQ_INT(ae_trainer_new(&c, ds, &t, NULL), AE_OK);
    if (!t) return;
    struct ae_epoch_stats es;
    CHECK_EQ_INT(ae_trainer_run_epoch(t, NULL, &es, NULL), AE_OK);
    const struct ae_model *m = ae_trainer_model(t);
    enum { N = 1000 };
    static float xy[2 * N];
    char xl[64], yl[64];
    struct ae_err err;
    CHECK_EQ_INT(srv_latent_points(m, ds, N, xy, xl, yl, &err), AE_OK);
    if (kind == AE_MODEL_VAE) {
        static float means[2 * N];
        CHECK_EQ_INT(ae_model_encode(m, ds, N, means, NULL), AE_OK);
        CHECK(memcmp(means, xy, sizeof means) == 0);
        CHECK(strstr(xl, "z[0]") && strstr(yl, "z[1]"));
    } else {
        /* Principal components: centred, the first has the larger spread. */
        double mx = 0, my = 0, vx = 0, vy = 0;
        for (int i = 0; i < N; i++) mx += xy[2 * i] / N, my += xy[2 * i + 1] / N;
        for (int i = 0; i < N; i++) {
            vx += (xy[2 * i] - mx) * (xy[2 * i] - mx);
            vy += (xy[2 * i + 1] - my) * (xy[2 * i + 1] - my);
        }
        CHECK(fabs(mx) < 1e-3 * sqrt(vx / N) + 1e-5 && fabs(my) < 1e-3 * sqrt(vx / N) + 1e-5);
        CHECK(vx >= vy && vy > 0);
        CHECK_EQ_STR(xl, "PC1");
        CHECK_EQ_STR(yl, "PC2");
    }
    struct srv_scatter sc = {.xy = xy, .labels = ds->test_labels, .n = N, .title = NULL,
                             .x_label = xl, .y_label = yl};
    uint8_t *png = NULL, *png2 = NULL;
    size_t len = 0, len2 = 0;
    struct srv_plot_frame f;
    CHECK_EQ_INT(srv_latent_plot_png(&sc, &png, &len, &f, &err), AE_OK);
    struct picture pic;
    CHECK(png && decode(png, len, &pic));
    if (pic.px) check_dot_colours(&pic, &f, xy, ds->test_labels, N, ae_model_name(kind));
    free(pic.px);

    /* The product path: same size, and the same dots (its title and legend
     * differ from the bare plot above, so compare the plot area). */
    int32_t w = 0, h = 0;
    CHECK_EQ_INT(srv_latent_scatter_png(m, ds, "mnist", N, &png2, &len2, &w, &h, &err), AE_OK);
    CHECK_EQ_INT(w, SRV_LATENT_WIDTH);
    CHECK_EQ_INT(h, SRV_LATENT_HEIGHT);
    struct picture pic2;
    CHECK(png2 && decode(png2, len2, &pic2));
    if (pic2.px) check_dot_colours(&pic2, &f, xy, ds->test_labels, N, "srv_latent_scatter_png");
    free(pic2.px);
    free(png);
    free(png2);

    /* Too few points. */
    CHECK_EQ_INT(srv_latent_points(m, ds, 1, xy, NULL, NULL, &err), AE_ERR_ARG);
    ae_trainer_free(t);
}

static struct ae_model *vae_model(int latent)
{
    struct ae_config c;
    ae_config_defaults(&c, AE_MODEL_VAE);
    c.latent_dim = latent;
    c.seed = 9;
    struct ae_model *m = NULL;
    CHECK_EQ_INT(ae_model_new(&c, &m, NULL), AE_OK);
    return m;
}

static void test_manifold(void)
{
    struct ae_model *m = vae_model(2);
    if (!m) return;
    uint8_t *png = NULL;
    size_t len = 0;
    int32_t w = 0, h = 0;
    struct ae_err err;
    CHECK_EQ_INT(srv_latent_manifold_png(m, &png, &len, &w, &h, &err), AE_OK);
    CHECK_EQ_INT(w, 420);
    CHECK_EQ_INT(h, 420);
    struct picture pic;
    CHECK(png && decode(png, len, &pic));
    CHECK_EQ_INT(pic.w, 420);
    CHECK_EQ_INT(pic.h, 420);
    CHECK_EQ_INT(pic.color_type, 0);
    /* Cells: top-left is z = (q(0.05), q(0.95)), bottom-right (q(0.95),
     * q(0.05)); the middle is z = (0, 0). */
    static const int cells[][2] = {{0, 0}, {0, 14}, {14, 0}, {7, 7}, {3, 11}};
    for (size_t k = 0; pic.px && k < sizeof cells / sizeof cells[0]; k++) {
        int r = cells[k][0], col = cells[k][1];
        float z[2] = {(float)ae_normal_quantile(0.05 + 0.9 * col / 14.0),
                      (float)ae_normal_quantile(0.05 + 0.9 * (14 - r) / 14.0)};
        float img[784];
        CHECK_EQ_INT(ae_model_decode(m, z, 1, img, NULL), AE_OK);
        int bad = 0;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) {
                int want = (int)lrintf(img[y * 28 + x] * 255.0f);
                int got = pic.px[(size_t)(r * 28 + y) * 420 + (size_t)(col * 28 + x)];
                bad += abs(want - got) > 1;
            }
        CHECK_MSG(bad == 0, "manifold cell (%d, %d): %d pixels differ from the decoder's image", r,
                  col, bad);
    }
    CHECK_NEAR(ae_normal_quantile(0.05 + 0.9 * 7 / 14.0), 0.0, 1e-15);
    free(pic.px);
    free(png);
    ae_model_free(m);

    /* Not a 2-D vae, not a vae. */
    m = vae_model(3);
    if (m) {
        CHECK_EQ_INT(srv_latent_manifold_png(m, &png, &len, &w, &h, &err), AE_ERR_ARG);
        CHECK(strstr(err.msg, "latent_dim 2") && strstr(err.msg, "latent_dim 3"));
        CHECK(png == NULL);
    }
    ae_model_free(m);
    struct ae_config c;
    ae_config_defaults(&c, AE_MODEL_CONV);
    CHECK_EQ_INT(ae_model_new(&c, &m, NULL), AE_OK);
    CHECK_EQ_INT(srv_latent_manifold_png(m, &png, &len, &w, &h, &err), AE_ERR_ARG);
    CHECK(strstr(err.msg, "vae") && strstr(err.msg, "conv"));
    CHECK_EQ_INT(srv_latent_samples_png(m, 5, 1, &png, &len, &w, &h, &err), AE_ERR_ARG);
    ae_model_free(m);
}

static void test_samples(void)
{
    struct ae_model *m = vae_model(2);
    if (!m) return;
    static const int32_t ns[][3] = {{1, 28, 28}, {7, 196, 28}, {10, 280, 28}, {23, 280, 84},
                                    {100, 280, 280}};
    struct ae_err err;
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        uint8_t *png = NULL;
        size_t len = 0;
        int32_t w = 0, h = 0;
        CHECK_EQ_INT(srv_latent_samples_png(m, ns[k][0], 77, &png, &len, &w, &h, &err), AE_OK);
        struct picture pic;
        CHECK(png && decode(png, len, &pic));
        CHECK_MSG(w == ns[k][1] && h == ns[k][2] && pic.w == w && pic.h == h && pic.color_type == 0,
                  "n %d: %dx%d (PNG %dx%d), want %dx%d", ns[k][0], w, h, pic.w, pic.h, ns[k][1],
                  ns[k][2]);
        if (ns[k][0] == 23 && pic.px) {
            /* Cells 0..22 are the prior samples; 23..29 stay black. */
            float img[23 * 784];
            CHECK_EQ_INT(ae_model_sample_prior(m, 23, 77, NULL, img, NULL), AE_OK);
            int bad = 0, lit = 0;
            for (int cell = 0; cell < 30; cell++)
                for (int y = 0; y < 28; y++)
                    for (int x = 0; x < 28; x++) {
                        int got = pic.px[(size_t)((cell / 10) * 28 + y) * 280 + (size_t)((cell % 10) * 28 + x)];
                        int want = cell < 23 ? (int)lrintf(img[cell * 784 + y * 28 + x] * 255.0f) : 0;
                        bad += abs(got - want) > 1;
                        lit += cell >= 23 && got != 0;
                    }
            CHECK_EQ_INT(bad, 0);
            CHECK_EQ_INT(lit, 0);
        }
        free(pic.px);
        free(png);
    }
    /* Same seed, same bytes; another seed, other bytes. */
    uint8_t *a = NULL, *b = NULL, *c = NULL;
    size_t la = 0, lb = 0, lc = 0;
    CHECK_EQ_INT(srv_latent_samples_png(m, 12, 5, &a, &la, NULL, NULL, NULL), AE_OK);
    CHECK_EQ_INT(srv_latent_samples_png(m, 12, 5, &b, &lb, NULL, NULL, NULL), AE_OK);
    CHECK_EQ_INT(srv_latent_samples_png(m, 12, 6, &c, &lc, NULL, NULL, NULL), AE_OK);
    CHECK(a && b && c && la == lb && memcmp(a, b, la) == 0);
    CHECK(c && (lc != la || memcmp(a, c, la) != 0));
    free(a);
    free(b);
    free(c);
    uint8_t *png = NULL;
    size_t len = 0;
    CHECK_EQ_INT(srv_latent_samples_png(m, 0, 1, &png, &len, NULL, NULL, &err), AE_ERR_ARG);
    CHECK(strstr(err.msg, "[1, 100]") != NULL);
    CHECK_EQ_INT(srv_latent_samples_png(m, 101, 1, &png, &len, NULL, NULL, &err), AE_ERR_ARG);
    CHECK(png == NULL);
    ae_model_free(m);
}

int main(void)
{
    CHECK_EQ_STR(srv_latent_class_names("fashion-mnist")[9], "Ankle boot");
    CHECK_EQ_STR(srv_latent_class_names("fashion-mnist")[0], "T-shirt/top");
    CHECK_EQ_STR(srv_latent_class_names("mnist")[7], "7");
    test_synthetic_scatter();
    test_manifold();
    test_samples();
    struct ae_dataset *ds = td_mnist(2000, 1000);
    CHECK_MSG(ds != NULL, "the MNIST test data is needed (data/mnist in the source tree)");
    if (ds) {
        test_model_scatter(ds, AE_MODEL_VAE);
        test_model_scatter(ds, AE_MODEL_SIMPLE);
        test_model_scatter(ds, AE_MODEL_CONV);
        ae_dataset_free(ds);
    }
    srv_latent_release_fonts(); /* as aelabd and aelab do at exit */
    return check_summary("test_srv_latent");
}
