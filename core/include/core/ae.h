/*
 * ae.h - the public interface of aelab's training engine (core/, prefix ae_).
 *
 * core/ owns the maths: layers, loss, Adam, the six autoencoder models, the
 * IDX data loader and the checkpoint format.  It prints nothing, never exits,
 * keeps no mutable globals, and starts no threads except the worker threads a
 * trainer owns (created by ae_trainer_new, joined by ae_trainer_free).  It
 * knows nothing of HTTP, JSON, SQLite or TensorBoard: the server connects it
 * to those through the hooks below.
 *
 * Errors: fallible functions return enum ae_status (AE_OK == 0) and, when the
 * caller passes a struct ae_err, a sentence saying what failed and where
 * (file, setting, expected vs actual).  Bad input from outside the program
 * (files, settings) is always an error return, never a crash.
 *
 * Threads: every object here belongs to one thread at a time; none of these
 * functions take locks.  Different objects may be used from different threads
 * at once.  A struct ae_dataset is read-only after loading and may be shared
 * by any number of trainers and models in any threads.
 *
 * Tensors are float32.  Images are 28x28 uint8 in the data set and scaled to
 * [0,1] per batch.
 */
#ifndef AE_H
#define AE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

enum ae_status {
    AE_OK = 0,
    AE_ERR_ARG,        /* bad argument or out-of-range setting */
    AE_ERR_NOMEM,      /* allocation failed */
    AE_ERR_IO,         /* open/read/write/fsync/rename failed (errno text in msg) */
    AE_ERR_FORMAT,     /* file content is wrong: magic, version, size, gzip */
    AE_ERR_MISMATCH,   /* checkpoint does not belong to this model/config */
    AE_ERR_CANCELLED,  /* should_stop() returned true; training stopped between batches */
    AE_ERR_NUMERIC,    /* loss became NaN or infinite */
};

struct ae_err {
    enum ae_status code;
    char msg[512];
};

/* Fill err (may be NULL) with code and a printf-style message; returns code. */
enum ae_status ae_err_set(struct ae_err *err, enum ae_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Short constant name of a status ("ok", "out of memory", ...). */
const char *ae_status_str(enum ae_status s);

/* ------------------------------------------------------------------------ */
/* Allocation: every allocation in core/ goes through these, so that tests  */
/* can make the Nth one fail (see the end of this file).     */
/* ------------------------------------------------------------------------ */

void *ae_malloc(size_t n_bytes);
void *ae_calloc(size_t n, size_t size);
void *ae_aligned_alloc(size_t n_bytes); /* 64-byte aligned; release with ae_free */
void ae_free(void *p);                  /* accepts NULL */

/* ------------------------------------------------------------------------ */
/* Data sets                                                                */
/* ------------------------------------------------------------------------ */

#define AE_IMAGE_SIDE 28
#define AE_IMAGE_PIXELS (AE_IMAGE_SIDE * AE_IMAGE_SIDE)

/* The four standard IDX files of an MNIST-shaped data set, uint8, read-only
 * after ae_dataset_load returns.  Images are (n, 28, 28) row-major. */
struct ae_dataset {
    int32_t n_train;
    int32_t n_test;
    const uint8_t *train_images; /* (n_train, 784) */
    const uint8_t *train_labels; /* (n_train) */
    const uint8_t *test_images;  /* (n_test, 784) */
    const uint8_t *test_labels;  /* (n_test) */
};

/* Load train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
 * and t10k-labels-idx1-ubyte from dir, each either plain or with a .gz suffix
 * (gzip through zlib).  Errors name the file and what is wrong: missing,
 * wrong magic, not 28x28, truncated, gzip error, image and label counts
 * disagree.  Caller frees *out with ae_dataset_free.  Thread-safe. */
enum ae_status ae_dataset_load(const char *dir, struct ae_dataset **out, struct ae_err *err);
void ae_dataset_free(struct ae_dataset *ds);

/* Bytes held by a loaded data set (for memory accounting). */
size_t ae_dataset_bytes(const struct ae_dataset *ds);

/* Read one IDX file (ubyte data only; 1 or 3 dimensions).  On success *data
 * (caller frees with ae_free) holds the payload and dims[0..n_dims-1] the
 * sizes. */
enum ae_status ae_idx_read(const char *path, uint8_t **data, int32_t dims[3], int *n_dims,
                           struct ae_err *err);

/* ------------------------------------------------------------------------ */
/* Models and settings                                                      */
/* ------------------------------------------------------------------------ */

enum ae_model_kind {
    AE_MODEL_SIMPLE = 0, /* Dense 784->32 relu -> Dense 784 sigmoid (seed 2.1) */
    AE_MODEL_SPARSE,     /* simple + L1 activity penalty on the code (seed 2.2) */
    AE_MODEL_DEEP,       /* 784-128-64-32-64-128-784 (seed 2.3) */
    AE_MODEL_CONV,       /* convolutional, 4x4x8 code (seed 2.4) */
    AE_MODEL_DENOISE,    /* conv trained on noisy inputs, clean targets (seed 2.5) */
    AE_MODEL_VAE,        /* variational: Dense 256 -> (mean, logvar) -> Dense 256 -> 784 */
    AE_MODEL_COUNT
};

/* "simple", "sparse", "deep", "conv", "denoise", "vae"; NULL if out of range. */
const char *ae_model_name(enum ae_model_kind kind);
/* Parse a model name; returns false if unknown. */
bool ae_model_parse(const char *name, enum ae_model_kind *out);

/* Every per-job setting.  Defaults are the seed tutorial's values. */
struct ae_config {
    enum ae_model_kind model;
    int32_t epochs;        /* 50 */
    int32_t batch_size;    /* 256 dense, 128 conv/denoise, 100 vae */
    int32_t encoding_dim;  /* 32; simple and sparse */
    int32_t latent_dim;    /* 2; vae */
    double l1;             /* 1e-9 (the seed's 10e-10); sparse */
    double noise_factor;   /* 0.5; denoise */
    double learning_rate;  /* 0.001 */
    uint64_t seed;         /* 1; weights, shuffling, noise, sampling */
    int32_t train_size;    /* 0 = every training image, else the first N */
    int32_t test_size;     /* 0 = every test image, else the first N */
    int32_t threads;       /* worker threads of this job's trainer, >= 1 */
};

enum ae_setting_type { AE_SETTING_INT, AE_SETTING_FLOAT };

/* Description of one setting of struct ae_config: the single source of truth
 * for defaults, ranges and help text (the CLI, the REST API, /api/models and
 * the dashboard form are all built from this table). */
struct ae_setting {
    const char *name;          /* "epochs", "batch_size", ... as in the API */
    const char *help;          /* one line for --help and the dashboard */
    enum ae_setting_type type;
    double min, max;           /* inclusive range */
    unsigned models;           /* bit (1u << kind) for each model it applies to */
    bool hparam;               /* listed in TensorBoard's hparams table */
};

/* The settings table; *n receives its length.  Static, thread-safe. */
const struct ae_setting *ae_settings(size_t *n);
/* Look up a setting by name; NULL if unknown. */
const struct ae_setting *ae_setting_find(const char *name);

/* Fill cfg with the defaults for model kind (threads = 1). */
void ae_config_defaults(struct ae_config *cfg, enum ae_model_kind kind);
/* Set one setting by name, checking the type (integers must be whole) and the
 * range; the error names the setting and its range.  Thread-safe. */
enum ae_status ae_config_set(struct ae_config *cfg, const char *name, double value,
                             struct ae_err *err);
/* Read one setting by name as a double. */
enum ae_status ae_config_get(const struct ae_config *cfg, const char *name, double *value);
/* Check every field of cfg against the table. */
enum ae_status ae_config_check(const struct ae_config *cfg, struct ae_err *err);

struct ae_model;

/* Build a model for cfg with Glorot-uniform kernels and zero biases drawn
 * from cfg->seed.  Caller frees with ae_model_free. */
enum ae_status ae_model_new(const struct ae_config *cfg, struct ae_model **out,
                            struct ae_err *err);
void ae_model_free(struct ae_model *m);

const struct ae_config *ae_model_config(const struct ae_model *m);
int64_t ae_model_n_params(const struct ae_model *m);
/* Number of code units (simple/sparse: encoding_dim, deep: 32, conv and
 * denoise: 128 = 4x4x8, vae: latent_dim). */
int32_t ae_model_code_dim(const struct ae_model *m);

/* Keras' model.summary() table for this model, written like snprintf into
 * buf (always NUL-terminated when len > 0); returns the length it needs. */
size_t ae_model_summary(const struct ae_model *m, char *buf, size_t len);

/* Reconstruct the first n test images of ds with m's own weights.
 * recon: (n, 784) in [0,1].  noisy (may be NULL): (n, 784), the exact inputs
 * the model saw (for denoise the noisy images, the same ones validation
 * uses; for the other models the clean images).  Uses one thread, allocates
 * its own scratch; m is not modified, so this may run while nobody trains m.
 * n in [1, ds->n_test]. */
enum ae_status ae_model_reconstruct(const struct ae_model *m, const struct ae_dataset *ds,
                                    int32_t n, float *noisy, float *recon, struct ae_err *err);

/* Encode the first n test images: codes (n, ae_model_code_dim(m)); for vae
 * the mean of q(z|x). */
enum ae_status ae_model_encode(const struct ae_model *m, const struct ae_dataset *ds,
                               int32_t n, float *codes, struct ae_err *err);

/* vae only: decode n latent points z (n, latent_dim) into images (n, 784). */
enum ae_status ae_model_decode(const struct ae_model *m, const float *z, int32_t n,
                               float *images, struct ae_err *err);

/* vae only: decode n draws z ~ N(0, I) from the prior into images
 * (n, 784).  The draws are a pure function of (seed, draw index), so the
 * same seed gives the same pictures, and the first k of n draws are those
 * of n = k.  z (may be NULL): receives the draws, (n, latent_dim).  Same
 * threading as ae_model_reconstruct.  AE_ERR_ARG for other models. */
enum ae_status ae_model_sample_prior(const struct ae_model *m, int32_t n, uint64_t seed,
                                     float *z, float *images, struct ae_err *err);

/* Weights-only file (with the config), written atomically: tmp file, fsync,
 * rename, fsync of the directory. */
enum ae_status ae_model_save(const struct ae_model *m, const char *path, struct ae_err *err);
/* Build a model from a weights-only file or from a full checkpoint. */
enum ae_status ae_model_load(const char *path, struct ae_model **out, struct ae_err *err);

/* ------------------------------------------------------------------------ */
/* The latent space: principal components and Gaussian quantiles            */
/* ------------------------------------------------------------------------ */

/* Principal components of the rows of x (n, d): the k directions of largest
 * variance of the sample covariance (divisor n - 1), in double precision
 * (LAPACK dsyevr).  mean: (d) receives the column means.  components: (k, d)
 * receives unit vectors, largest variance first, each flipped so that its
 * largest-magnitude entry is positive (the first such entry on ties), so
 * the result does not depend on the solver.  variances (may be NULL): (k)
 * the eigenvalues.  AE_ERR_ARG unless n >= 2 and 1 <= k <= d; AE_ERR_NUMERIC
 * for a NaN or infinite value in x.  Thread-safe; allocates d*d doubles. */
enum ae_status ae_pca_fit(const float *x, int32_t n, int32_t d, int32_t k, double *mean,
                          double *components, double *variances, struct ae_err *err);
/* out (n, k) = (x - mean) . components^T, for the output of ae_pca_fit. */
void ae_pca_project(const float *x, int32_t n, int32_t d, int32_t k, const double *mean,
                    const double *components, float *out);

/* The standard normal's inverse CDF (quantile) to double precision:
 * ae_normal_quantile(0.975) = 1.959963984540054.  -inf at 0, +inf at 1,
 * NaN outside [0, 1]. */
double ae_normal_quantile(double p);

/* ------------------------------------------------------------------------ */
/* Training                                                                 */
/* ------------------------------------------------------------------------ */

struct ae_trainer;

/* Progress inside an epoch, reported after every batch. */
struct ae_progress {
    int32_t epoch;     /* 1-based epoch being trained */
    int32_t n_epochs;
    int32_t batch;     /* batches done in this epoch, 1..n_batches */
    int32_t n_batches;
    int64_t samples;   /* training images seen in this epoch so far */
    double loss;       /* running mean of the training loss this epoch */
};

/* What one epoch produced (Keras' logs). */
struct ae_epoch_stats {
    int32_t epoch;          /* 1-based */
    double loss;            /* mean training loss over the epoch, as Keras reports it */
    double val_loss;        /* loss on the test images after the epoch */
    /* vae only (0 otherwise): the two parts of loss and val_loss. */
    double reconstruction_loss, kl_loss;
    double val_reconstruction_loss, val_kl_loss;
    /* Wall-clock seconds (CLOCK_MONOTONIC) of the training pass and of the
     * validation pass.  Timing never influences the maths. */
    double train_seconds, val_seconds;
};

/* Description of one per-epoch figure of struct ae_epoch_stats (epoch itself
 * is the key, not a row): the single source of truth for its name in the
 * CLI's JSON, the SQLite columns, the API's JSON, CSV and OpenAPI schema and
 * the TensorBoard scalar tags.  Every figure is a double. */
struct ae_metric {
    const char *name;  /* "loss", "train_seconds", ... */
    const char *unit;  /* "s" for seconds, "" for a loss */
    const char *help;  /* one line for the API documentation */
    unsigned models;   /* bit (1u << kind) for each model that reports it */
};

/* The metrics table in reporting order; *n receives its length.  Static,
 * thread-safe. */
const struct ae_metric *ae_metrics(size_t *n);
/* Look up a metric by name; NULL if unknown. */
const struct ae_metric *ae_metric_find(const char *name);
/* Whether model kind reports metric m. */
bool ae_metric_applies(const struct ae_metric *m, enum ae_model_kind kind);
/* Read or write row i of the table (0 <= i < n) in s. */
double ae_metric_get(const struct ae_epoch_stats *s, size_t i);
void ae_metric_set(struct ae_epoch_stats *s, size_t i, double v);

/* Called from the thread that runs ae_trainer_run_epoch.  All may be NULL. */
struct ae_hooks {
    void (*on_batch)(void *user, const struct ae_progress *p);
    /* Asked between batches; returning true stops the epoch with
     * AE_ERR_CANCELLED within one batch. */
    bool (*should_stop)(void *user);
    void *user;
};

/* Make a trainer for cfg on ds (borrowed; must outlive the trainer): the
 * model, gradients, Adam moments, activations for cfg->batch_size, and
 * cfg->threads - 1 worker threads.  Same seed and thread count give the same
 * weights and losses, bit for bit.  Caller frees with ae_trainer_free. */
enum ae_status ae_trainer_new(const struct ae_config *cfg, const struct ae_dataset *ds,
                              struct ae_trainer **out, struct ae_err *err);
void ae_trainer_free(struct ae_trainer *t);

/* Epochs completed so far (0 for a new trainer, k after resuming at k). */
int32_t ae_trainer_epoch(const struct ae_trainer *t);
/* The model being trained (valid until ae_trainer_free; changes while an
 * epoch runs). */
const struct ae_model *ae_trainer_model(const struct ae_trainer *t);

/* Train one epoch (shuffled minibatches over the training images) and then
 * validate on the test images.  On AE_ERR_CANCELLED or any error the trainer
 * is mid-epoch and must be reloaded from a checkpoint before training again. */
enum ae_status ae_trainer_run_epoch(struct ae_trainer *t, const struct ae_hooks *hooks,
                                    struct ae_epoch_stats *out, struct ae_err *err);

/* Full checkpoint: config, weights, Adam state, epoch and RNG state, in a
 * versioned file written atomically (tmp, fsync, rename, fsync dir). */
enum ae_status ae_trainer_save(const struct ae_trainer *t, const char *path,
                               struct ae_err *err);
/* Restore a checkpoint written by ae_trainer_save for the same config
 * (AE_ERR_MISMATCH otherwise).  Training on from epoch k gives the same
 * curve as a run that was never interrupted. */
enum ae_status ae_trainer_load(struct ae_trainer *t, const char *path, struct ae_err *err);

/* Stats of every completed epoch, oldest first; *n receives
 * ae_trainer_epoch(t).  Saved in and restored from checkpoints, so a resumed
 * job can report an epoch whose report was lost in a crash.  Valid until the
 * next call that changes t. */
const struct ae_epoch_stats *ae_trainer_history(const struct ae_trainer *t, int32_t *n);

/* Read only the config stored in a checkpoint or weights file (sizes are
 * checked against the file length before anything is allocated). */
enum ae_status ae_checkpoint_read_config(const char *path, struct ae_config *cfg,
                                         int32_t *epoch, struct ae_err *err);

/* ------------------------------------------------------------------------ */
/* Fault injection and accounting for the allocation wrappers above.  For    */
/* tests only: the product calls these only from aelabd's test hook         */
/* (server/srv_testhook.c), which is inert unless AELABD_TEST_FAULTS=1.      */
/* The countdown is thread-local, so "the Nth allocation of this thread      */
/* fails" does not disturb trainers in other threads; the live count is      */
/* process-wide (atomic), for finding leaks on error paths.                  */
/* ------------------------------------------------------------------------ */
/* Make the n-th allocation (1-based) made by the calling thread from now on
 * fail, and every one after it, until ae_alloc_fail_reset().  n <= 0 turns
 * injection off. */
void ae_alloc_fail_at(int64_t n);
void ae_alloc_fail_reset(void);
/* Allocations the calling thread has attempted since the last
 * ae_alloc_fail_at / ae_alloc_fail_reset. */
int64_t ae_alloc_attempts(void);
/* Blocks currently allocated through the wrappers (all threads). */
int64_t ae_alloc_live(void);


#endif /* AE_H */
