/*
 * srv_latent.h - pictures of a model's latent space, as PNG (issue 6).
 *
 *  - scatter: the first n test images' codes in 2-D, one dot per image
 *    coloured by its label, with axes, ticks and a legend.  The 2-D
 *    position is the vae's encoded mean (latent_dim 2) or the first two
 *    principal components of the code (every other model, and a vae with
 *    another latent_dim); a one-dimensional code is drawn on y = 0.  The
 *    codes are those of the inputs validation uses (for denoise the noisy
 *    test images, ae_model_encode).
 *  - manifold (vae, latent_dim 2): the decoder's images on a 15x15 grid of
 *    latent points at Gaussian quantiles, 420x420 grayscale.
 *  - samples (vae): decoded draws from the prior N(0, I).
 *
 * The same functions make the per-epoch image summaries (srv_run.c) and
 * the API's PNGs, so both show the same picture.  Each call uses one
 * thread, reads the model without changing it, and allocates its own
 * scratch: thread-safe for distinct outputs.  PNGs are the caller's to
 * free with free().
 */
#ifndef SRV_LATENT_H
#define SRV_LATENT_H

#include <stdint.h>

#include "core/ae.h"

#define SRV_LATENT_POINTS 5000       /* test images in the scatter */
#define SRV_LATENT_WIDTH 640         /* scatter size in pixels */
#define SRV_LATENT_HEIGHT 480
#define SRV_LATENT_GRID_SIDE 15      /* manifold cells per side: 420x420 */
#define SRV_LATENT_SAMPLES_MAX 100   /* samples: n in [1, 100] */
#define SRV_LATENT_SAMPLES_COLS 10   /* samples per row */

/* The colour of each label 0-9 (RGB), fixed: Tableau 10, the palette
 * matplotlib calls tab10: 0 #1f77b4 blue, 1 #ff7f0e orange, 2 #2ca02c
 * green, 3 #d62728 red, 4 #9467bd purple, 5 #8c564b brown, 6 #e377c2 pink,
 * 7 #7f7f7f grey, 8 #bcbd22 olive, 9 #17becf cyan. */
extern const uint8_t srv_latent_palette[10][3];

/* Legend names of the 10 labels for a data set ("mnist": the digits;
 * "fashion-mnist": T-shirt/top, Trouser, ...).  Static storage. */
const char *const *srv_latent_class_names(const char *dataset);

/* Where data coordinates land in a scatter picture:
 * px = px0 + (x - x0) / (x1 - x0) * (px1 - px0), and likewise for y with
 * y0 at the bottom (py0 > py1). */
struct srv_plot_frame {
    double x0, x1, y0, y1;     /* data range shown */
    double px0, px1, py0, py1; /* the plot area's edges in pixels */
};
void srv_plot_to_pixel(const struct srv_plot_frame *f, double x, double y, double *px, double *py);

/* A scatter plot of n points xy (n, 2) with labels (n) in [0, 9] (other
 * values are drawn black and left out of the legend; non-finite points are
 * skipped), drawn in index order (later dots cover earlier ones), as an RGB
 * PNG of SRV_LATENT_WIDTH x SRV_LATENT_HEIGHT.  Texts may be NULL.  frame
 * (may be NULL) receives the mapping used.  Each dot is a disc of radius
 * 2.5 px, so the pixel holding its centre has exactly its label's palette
 * colour unless a later dot covers it. */
struct srv_scatter {
    const float *xy;
    const uint8_t *labels;
    int32_t n;
    const char *title, *x_label, *y_label, *legend_title;
    const char *const *class_names; /* 10 names, or NULL for the digits */
};
enum ae_status srv_latent_plot_png(const struct srv_scatter *s, uint8_t **png, size_t *png_len,
                                   struct srv_plot_frame *frame, struct ae_err *err);

/* The 2-D positions of the first n test images of ds under model m
 * (n in [2, ds->n_test]): xy (n, 2).  x_label and y_label (each at least
 * 64 bytes, may be NULL) receive the axis titles ("z[0]", "PC1", ...). */
enum ae_status srv_latent_points(const struct ae_model *m, const struct ae_dataset *ds, int32_t n,
                                 float *xy, char *x_label, char *y_label, struct ae_err *err);

/* The scatter picture of m on the first min(n, ds->n_test) test images
 * (n >= 2): srv_latent_points then srv_latent_plot_png, with the legend
 * names of dataset.  width/height (may be NULL) receive the size. */
enum ae_status srv_latent_scatter_png(const struct ae_model *m, const struct ae_dataset *ds,
                                      const char *dataset, int32_t n, uint8_t **png,
                                      size_t *png_len, int32_t *width, int32_t *height,
                                      struct ae_err *err);

/* vae with latent_dim 2 only (AE_ERR_ARG otherwise, with a message saying
 * so): cell (row r, column c) of the 15x15 grid shows the decoder's image of
 * z = (q[c], q[14 - r]), q[k] = the normal quantile of 0.05 + 0.9 k / 14
 * (linspace(0.05, 0.95, 15), as in the Keras VAE example), so z[0] grows to
 * the right and z[1] upwards, as in the scatter.  Grayscale 420x420. */
enum ae_status srv_latent_manifold_png(const struct ae_model *m, uint8_t **png, size_t *png_len,
                                       int32_t *width, int32_t *height, struct ae_err *err);

/* vae only: n (1..100) decoded draws from the prior (ae_model_sample_prior
 * with seed), 28x28 cells in rows of 10 (fewer columns when n < 10; unused
 * cells of the last row black).  Grayscale. */
enum ae_status srv_latent_samples_png(const struct ae_model *m, int32_t n, uint64_t seed,
                                      uint8_t **png, size_t *png_len, int32_t *width,
                                      int32_t *height, struct ae_err *err);

/* Free the font caches cairo and fontconfig keep for the whole process
 * once a picture with text was drawn.  They are never freed otherwise, and
 * valgrind and LeakSanitizer report some of their blocks as definitely lost
 * at exit.  Call once at exit, after every thread that draws has stopped;
 * drawing again afterwards starts the caches anew.  Not thread-safe. */
void srv_latent_release_fonts(void);

#endif /* SRV_LATENT_H */
