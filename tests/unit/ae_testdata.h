/*
 * ae_testdata.h - test-only helpers for the core engine tests: the real
 * MNIST files (through ae_dataset_load) and synthetic data sets.
 *
 * AE_TEST_MNIST_DIR is set by meson to <source root>/data/mnist.
 */
#ifndef AE_TESTDATA_H
#define AE_TESTDATA_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ae.h"

/* An MNIST-shaped data set from dir through the product's loader,
 * optionally cut to the first max_train / max_test images; NULL (with the
 * loader's message on stderr) if it cannot be read. */
static inline struct ae_dataset *td_mnist_dir(const char *dir, int32_t max_train, int32_t max_test)
{
    struct ae_dataset *ds = NULL;
    struct ae_err err;
    if (ae_dataset_load(dir, &ds, &err) != AE_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return NULL;
    }
    if (max_train > 0 && max_train < ds->n_train) ds->n_train = max_train;
    if (max_test > 0 && max_test < ds->n_test) ds->n_test = max_test;
    return ds;
}

#ifdef AE_TEST_MNIST_DIR
/* The real MNIST the repository carries (data/mnist). */
static inline struct ae_dataset *td_mnist(int32_t max_train, int32_t max_test)
{
    return td_mnist_dir(AE_TEST_MNIST_DIR, max_train, max_test);
}
#endif

/* A synthetic data set of blurry blobs, deterministic in seed. */
static inline struct ae_dataset *td_synthetic(int32_t n_train, int32_t n_test, uint32_t seed)
{
    /* Allocated like the loader's, so ae_dataset_free releases both kinds. */
    struct ae_dataset *ds = ae_calloc(1, sizeof *ds);
    uint8_t *tr = ae_malloc((size_t)n_train * 784), *te = ae_malloc((size_t)n_test * 784);
    uint8_t *lt = ae_calloc((size_t)n_train, 1), *le = ae_calloc((size_t)n_test, 1);
    uint32_t s = seed * 2654435761u + 1;
    for (int32_t k = 0; k < n_train + n_test; k++) {
        uint8_t *img = k < n_train ? tr + (size_t)k * 784 : te + (size_t)(k - n_train) * 784;
        s = s * 1664525u + 1013904223u;
        int cx = 6 + (int)(s >> 28), cy = 6 + (int)((s >> 24) & 15);
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) {
                int d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
                int v = d2 < 40 ? 255 - d2 * 5 : 0;
                img[y * 28 + x] = (uint8_t)v;
            }
    }
    ds->n_train = n_train;
    ds->n_test = n_test;
    ds->train_images = tr;
    ds->test_images = te;
    ds->train_labels = lt;
    ds->test_labels = le;
    return ds;
}

static inline void td_free(struct ae_dataset *ds) { ae_dataset_free(ds); }

#endif /* AE_TESTDATA_H */
