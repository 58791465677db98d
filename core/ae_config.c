/*
 * ae_config.c - model names, the settings table and struct ae_config.
 *
 * Owns the single source of truth for every per-job setting: name, help,
 * type, range, which models use it, and its default.  The CLI, the REST API
 * and the dashboard are generated from ae_settings().  Does not own any
 * model maths.
 *
 * Design: each table row carries the offset of its field in struct
 * ae_config, so get/set/check are one loop over the table and a new setting
 * is one new row.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "ae.h"

static const char *const model_names[AE_MODEL_COUNT] = {
    "simple", "sparse", "deep", "conv", "denoise", "vae",
};

const char *ae_model_name(enum ae_model_kind kind)
{
    if ((unsigned)kind >= AE_MODEL_COUNT) return NULL;
    return model_names[kind];
}

bool ae_model_parse(const char *name, enum ae_model_kind *out)
{
    if (!name) return false;
    for (int k = 0; k < AE_MODEL_COUNT; k++) {
        if (strcmp(name, model_names[k]) == 0) {
            if (out) *out = (enum ae_model_kind)k;
            return true;
        }
    }
    return false;
}

#define ALL_MODELS ((1u << AE_MODEL_COUNT) - 1)
#define M(k) (1u << (k))

/* Field storage kinds for the offset table. */
enum field_kind { F_I32, F_F64, F_U64 };

/* 2^53 - 1: the largest seed a double (JSON number) carries exactly. */
#define SEED_MAX 9007199254740991.0

/* X(name, help, type, min, max, models, hparam, field kind, member) */
#define SETTINGS(X)                                                                         \
    X("epochs", "training epochs (passes over the training images)", AE_SETTING_INT, 1,      \
      100000, ALL_MODELS, true, F_I32, epochs)                                              \
    X("batch_size", "images per minibatch (seed: 256 dense, 128 conv, 100 vae)",            \
      AE_SETTING_INT, 1, 4096, ALL_MODELS, true, F_I32, batch_size)                         \
    X("encoding_dim", "units in the code layer of simple and sparse", AE_SETTING_INT, 1,    \
      784, M(AE_MODEL_SIMPLE) | M(AE_MODEL_SPARSE), true, F_I32, encoding_dim)              \
    X("latent_dim", "dimensions of the vae's latent space", AE_SETTING_INT, 1, 64,          \
      M(AE_MODEL_VAE), true, F_I32, latent_dim)                                             \
    X("l1", "L1 activity penalty on the sparse model's code (seed 10e-10)",                 \
      AE_SETTING_FLOAT, 0, 1, M(AE_MODEL_SPARSE), true, F_F64, l1)                          \
    X("noise_factor", "std of the Gaussian noise added to denoise inputs",                  \
      AE_SETTING_FLOAT, 0, 2, M(AE_MODEL_DENOISE), true, F_F64, noise_factor)               \
    X("learning_rate", "Adam learning rate", AE_SETTING_FLOAT, 1e-6, 1, ALL_MODELS, true,   \
      F_F64, learning_rate)                                                                 \
    X("seed", "random seed: weights, shuffling, noise and sampling", AE_SETTING_INT, 0,     \
      SEED_MAX, ALL_MODELS, true, F_U64, seed)                                              \
    X("train_size", "train on the first N training images (0 = all)", AE_SETTING_INT, 0,    \
      100000000, ALL_MODELS, true, F_I32, train_size)                                       \
    X("test_size", "validate on the first N test images (0 = all)", AE_SETTING_INT, 0,      \
      100000000, ALL_MODELS, false, F_I32, test_size)                                       \
    X("threads", "worker threads of this job's trainer", AE_SETTING_INT, 1, 256,            \
      ALL_MODELS, false, F_I32, threads)

#define PUB_ROW(name, help, type, lo, hi, models, hp, fk, member) \
    {name, help, type, lo, hi, models, hp},
static const struct ae_setting settings[] = {SETTINGS(PUB_ROW)};

struct setting_row {
    enum field_kind field;
    size_t offset;
};
#define FIELD_ROW(name, help, type, lo, hi, models, hp, fk, member) \
    {fk, offsetof(struct ae_config, member)},
static const struct setting_row rows[] = {SETTINGS(FIELD_ROW)};

#define N_ROWS (sizeof rows / sizeof rows[0])

const struct ae_setting *ae_settings(size_t *n)
{
    if (n) *n = N_ROWS;
    return settings;
}

static int row_index(const char *name)
{
    if (!name) return -1;
    for (size_t i = 0; i < N_ROWS; i++)
        if (strcmp(settings[i].name, name) == 0) return (int)i;
    return -1;
}

const struct ae_setting *ae_setting_find(const char *name)
{
    int i = row_index(name);
    return i < 0 ? NULL : &settings[i];
}

void ae_config_defaults(struct ae_config *cfg, enum ae_model_kind kind)
{
    if (!cfg) return;
    memset(cfg, 0, sizeof *cfg);
    if ((unsigned)kind >= AE_MODEL_COUNT) kind = AE_MODEL_SIMPLE;
    cfg->model = kind;
    cfg->epochs = 50;
    switch (kind) {
    case AE_MODEL_CONV:
    case AE_MODEL_DENOISE: cfg->batch_size = 128; break;
    case AE_MODEL_VAE: cfg->batch_size = 100; break;
    default: cfg->batch_size = 256; break;
    }
    cfg->encoding_dim = 32;
    cfg->latent_dim = 2;
    cfg->l1 = 1e-9;
    cfg->noise_factor = 0.5;
    cfg->learning_rate = 0.001;
    cfg->seed = 1;
    cfg->train_size = 0;
    cfg->test_size = 0;
    cfg->threads = 1;
}

static double field_get(const struct ae_config *cfg, const struct setting_row *r)
{
    const char *base = (const char *)cfg + r->offset;
    switch (r->field) {
    case F_I32: { int32_t v; memcpy(&v, base, sizeof v); return v; }
    case F_F64: { double v; memcpy(&v, base, sizeof v); return v; }
    case F_U64: { uint64_t v; memcpy(&v, base, sizeof v); return (double)v; }
    }
    return 0;
}

static void field_put(struct ae_config *cfg, const struct setting_row *r, double value)
{
    char *base = (char *)cfg + r->offset;
    switch (r->field) {
    case F_I32: { int32_t v = (int32_t)value; memcpy(base, &v, sizeof v); break; }
    case F_F64: memcpy(base, &value, sizeof value); break;
    case F_U64: { uint64_t v = (uint64_t)value; memcpy(base, &v, sizeof v); break; }
    }
}

/* The range check shared by set and check; the message names the setting
 * and its range. */
static enum ae_status check_value(const struct ae_setting *s, double value, struct ae_err *err)
{
    if (s->type == AE_SETTING_INT) {
        if (!(value >= s->min && value <= s->max) || value != floor(value))
            return ae_err_set(err, AE_ERR_ARG, "%s must be a whole number in [%.0f, %.0f], got %.17g",
                              s->name, s->min, s->max, value);
    } else {
        if (!(value >= s->min && value <= s->max))
            return ae_err_set(err, AE_ERR_ARG, "%s must be in [%g, %g], got %.17g", s->name,
                              s->min, s->max, value);
    }
    return AE_OK;
}

enum ae_status ae_config_set(struct ae_config *cfg, const char *name, double value,
                             struct ae_err *err)
{
    int i = row_index(name);
    if (!cfg) return ae_err_set(err, AE_ERR_ARG, "ae_config_set: cfg is NULL");
    if (i < 0) return ae_err_set(err, AE_ERR_ARG, "unknown setting \"%s\"", name ? name : "(null)");
    enum ae_status st = check_value(&settings[i], value, err);
    if (st != AE_OK) return st;
    field_put(cfg, &rows[i], value);
    return AE_OK;
}

enum ae_status ae_config_get(const struct ae_config *cfg, const char *name, double *value)
{
    int i = row_index(name);
    if (!cfg || !value || i < 0) return AE_ERR_ARG;
    *value = field_get(cfg, &rows[i]);
    return AE_OK;
}

enum ae_status ae_config_check(const struct ae_config *cfg, struct ae_err *err)
{
    if (!cfg) return ae_err_set(err, AE_ERR_ARG, "config is NULL");
    if ((unsigned)cfg->model >= AE_MODEL_COUNT)
        return ae_err_set(err, AE_ERR_ARG, "model must be one of simple, sparse, deep, conv, "
                          "denoise, vae (got kind %d)", (int)cfg->model);
    for (size_t i = 0; i < N_ROWS; i++) {
        /* seed is stored as uint64 and may exceed what a double holds
         * exactly; check it as an integer. */
        if (rows[i].field == F_U64) {
            if (cfg->seed > (uint64_t)SEED_MAX)
                return ae_err_set(err, AE_ERR_ARG, "seed must be a whole number in [0, %.0f], "
                                  "got %llu", SEED_MAX, (unsigned long long)cfg->seed);
            continue;
        }
        enum ae_status st = check_value(&settings[i], field_get(cfg, &rows[i]), err);
        if (st != AE_OK) return st;
    }
    return AE_OK;
}
