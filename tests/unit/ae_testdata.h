/*
 * ae_testdata.h - test-only helpers for the core engine tests: the real
 * MNIST files (through a small private gzip IDX reader until the product's
 * loader, ae_dataset_load, is merged) and synthetic data sets.
 *
 * AE_TEST_MNIST_DIR is set by meson to <source root>/../shared/data/mnist.
 */
#ifndef AE_TESTDATA_H
#define AE_TESTDATA_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/ae.h"

/* Read a gzipped IDX ubyte file: returns malloc'd payload and item count. */
static inline uint8_t *td_read_idx(const char *path, int32_t *count, int32_t item_bytes)
{
    gzFile f = gzopen(path, "rb");
    if (!f) return NULL;
    uint8_t hdr[16];
    int dims = item_bytes == 1 ? 1 : 3;
    int hlen = 4 + 4 * dims;
    if (gzread(f, hdr, hlen) != hlen) { gzclose(f); return NULL; }
    int32_t n = (int32_t)((uint32_t)hdr[4] << 24 | (uint32_t)hdr[5] << 16 | (uint32_t)hdr[6] << 8 | hdr[7]);
    size_t bytes = (size_t)n * (size_t)item_bytes;
    uint8_t *data = malloc(bytes);
    if (!data || gzread(f, data, (unsigned)bytes) != (int)bytes) { free(data); gzclose(f); return NULL; }
    gzclose(f);
    *count = n;
    return data;
}

/* The real MNIST (optionally only the first max_train / max_test images);
 * NULL if the files are missing. */
static inline struct ae_dataset *td_mnist(int32_t max_train, int32_t max_test)
{
    char path[1024];
    struct ae_dataset *ds = calloc(1, sizeof *ds);
    int32_t n1 = 0, n2 = 0, n3 = 0, n4 = 0;
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", AE_TEST_MNIST_DIR);
    uint8_t *a = td_read_idx(path, &n1, 784);
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", AE_TEST_MNIST_DIR);
    uint8_t *b = td_read_idx(path, &n2, 1);
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", AE_TEST_MNIST_DIR);
    uint8_t *c = td_read_idx(path, &n3, 784);
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte.gz", AE_TEST_MNIST_DIR);
    uint8_t *d = td_read_idx(path, &n4, 1);
    if (!a || !b || !c || !d) {
        free(a); free(b); free(c); free(d); free(ds);
        return NULL;
    }
    ds->n_train = max_train > 0 && max_train < n1 ? max_train : n1;
    ds->n_test = max_test > 0 && max_test < n3 ? max_test : n3;
    ds->train_images = a;
    ds->train_labels = b;
    ds->test_images = c;
    ds->test_labels = d;
    return ds;
}

/* A synthetic data set of blurry blobs, deterministic in seed. */
static inline struct ae_dataset *td_synthetic(int32_t n_train, int32_t n_test, uint32_t seed)
{
    struct ae_dataset *ds = calloc(1, sizeof *ds);
    uint8_t *tr = malloc((size_t)n_train * 784), *te = malloc((size_t)n_test * 784);
    uint8_t *lt = calloc((size_t)n_train, 1), *le = calloc((size_t)n_test, 1);
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

static inline void td_free(struct ae_dataset *ds)
{
    if (!ds) return;
    free((void *)ds->train_images);
    free((void *)ds->train_labels);
    free((void *)ds->test_images);
    free((void *)ds->test_labels);
    free(ds);
}

#endif /* AE_TESTDATA_H */
