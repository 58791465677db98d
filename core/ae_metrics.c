/*
 * ae_metrics.c - the per-epoch metrics table.
 *
 * Owns the single source of truth for what one epoch reports: each figure's
 * name, unit, help and which models have it.  The CLI's JSON lines, the
 * SQLite columns, the API's JSON and CSV, the SSE epoch event, the OpenAPI
 * schema and the TensorBoard scalar tags are all generated from ae_metrics(),
 * so one concept has one name everywhere.
 *
 * Design: like the settings table, each row carries the offset of its field
 * in struct ae_epoch_stats, so reading and writing a figure by row is one
 * line and a new metric is one new row (plus its field).
 */
#include <stddef.h>
#include <string.h>

#include "ae.h"

#define ALL_MODELS ((1u << AE_MODEL_COUNT) - 1)
#define VAE (1u << AE_MODEL_VAE)

/* X(name, unit, help, models, member) */
#define METRICS(X)                                                                         \
    X("loss", "", "mean training loss of the epoch", ALL_MODELS, loss)                     \
    X("val_loss", "", "loss on the test images after the epoch", ALL_MODELS, val_loss)     \
    X("train_seconds", "s", "wall-clock seconds of the epoch's training pass", ALL_MODELS, \
      train_seconds)                                                                       \
    X("val_seconds", "s", "wall-clock seconds of the epoch's validation pass",             \
      ALL_MODELS, val_seconds)                                                             \
    X("reconstruction_loss", "", "reconstruction part of loss", VAE, reconstruction_loss)  \
    X("kl_loss", "", "KL-divergence part of loss", VAE, kl_loss)                           \
    X("val_reconstruction_loss", "", "reconstruction part of val_loss", VAE,               \
      val_reconstruction_loss)                                                             \
    X("val_kl_loss", "", "KL-divergence part of val_loss", VAE, val_kl_loss)

#define PUB_ROW(name, unit, help, models, member) {name, unit, help, models},
static const struct ae_metric metrics[] = {METRICS(PUB_ROW)};

#define OFF_ROW(name, unit, help, models, member) offsetof(struct ae_epoch_stats, member),
static const size_t offsets[] = {METRICS(OFF_ROW)};

#define N_ROWS (sizeof offsets / sizeof offsets[0])

const struct ae_metric *ae_metrics(size_t *n)
{
    if (n) *n = N_ROWS;
    return metrics;
}

const struct ae_metric *ae_metric_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < N_ROWS; i++)
        if (strcmp(metrics[i].name, name) == 0) return &metrics[i];
    return NULL;
}

bool ae_metric_applies(const struct ae_metric *m, enum ae_model_kind kind)
{
    return m && (unsigned)kind < AE_MODEL_COUNT && (m->models & (1u << kind)) != 0;
}

double ae_metric_get(const struct ae_epoch_stats *s, size_t i)
{
    if (!s || i >= N_ROWS) return 0;
    return *(const double *)(const void *)((const char *)s + offsets[i]);
}

void ae_metric_set(struct ae_epoch_stats *s, size_t i, double v)
{
    if (!s || i >= N_ROWS) return;
    *(double *)(void *)((char *)s + offsets[i]) = v;
}
