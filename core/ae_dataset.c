/*
 * ae_dataset.c - an MNIST-shaped data set from its four standard IDX files.
 *
 * Owns: finding the four files in a directory (each plain or .gz), checking
 * that they fit together (28x28 images, as many labels as images) and the
 * struct ae_dataset that holds them.
 *
 * Does not: read bytes itself (ae_idx.c does), scale pixels (trainers do it
 * per batch, so the shared copy stays uint8), or know data set names and
 * default directories (that is the server's srv_data.c).
 *
 * Design: the four payload buffers from ae_idx_read become the data set's
 * arrays as they are, with no copy, so loading peaks at the data set's own
 * size.  The result is read-only and may be shared by any number of threads.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ae.h"
#include "ae_idx.h"

enum { IMAGES_TRAIN, LABELS_TRAIN, IMAGES_TEST, LABELS_TEST, N_FILES };

static const char *const file_names[N_FILES] = {
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
};

/* path = dir/name, or dir/name.gz when only that exists. */
static enum ae_status find_file(const char *dir, const char *name, char *path, size_t len,
                                struct ae_err *err)
{
    struct stat sb;
    int n = snprintf(path, len, "%s/%s", dir, name);
    if (n < 0 || (size_t)n + 3 >= len)
        return ae_err_set(err, AE_ERR_ARG, "%s/%s: path too long", dir, name);
    if (stat(path, &sb) == 0) return AE_OK;
    int plain_errno = errno;
    strcat(path, ".gz");
    if (stat(path, &sb) == 0) return AE_OK;
    if (plain_errno == ENOENT && errno == ENOENT)
        return ae_err_set(err, AE_ERR_IO, "%s/%s: missing (neither %s nor %s.gz exists)", dir,
                          name, name, name);
    return ae_err_set(err, AE_ERR_IO, "%s/%s[.gz]: cannot access: %s", dir, name,
                      strerror(plain_errno != ENOENT ? plain_errno : errno));
}

enum ae_status ae_dataset_load(const char *dir, struct ae_dataset **out, struct ae_err *err)
{
    uint8_t *bufs[N_FILES] = {0};
    int32_t dims[N_FILES][3];
    char paths[N_FILES][4096];
    struct ae_dataset *ds = NULL;
    enum ae_status st;

    if (!dir || !out) return ae_err_set(err, AE_ERR_ARG, "ae_dataset_load: NULL argument");
    *out = NULL;

    for (int i = 0; i < N_FILES; i++) {
        st = find_file(dir, file_names[i], paths[i], sizeof paths[i], err);
        if (st != AE_OK) goto fail;
    }
    for (int i = 0; i < N_FILES; i++) {
        bool images = i == IMAGES_TRAIN || i == IMAGES_TEST;
        int nd = 0;
        st = ae_idx_read_expect(paths[i], images ? 3 : 1, &bufs[i], dims[i], &nd, err);
        if (st != AE_OK) goto fail;
        if (images && (dims[i][1] != AE_IMAGE_SIDE || dims[i][2] != AE_IMAGE_SIDE)) {
            st = ae_err_set(err, AE_ERR_FORMAT, "%s: images are %dx%d, not 28x28", paths[i],
                            dims[i][1], dims[i][2]);
            goto fail;
        }
        if (dims[i][0] < 1) {
            st = ae_err_set(err, AE_ERR_FORMAT, "%s: holds no %s", paths[i],
                            images ? "images" : "labels");
            goto fail;
        }
    }
    for (int i = IMAGES_TRAIN; i < N_FILES; i += 2) {
        if (dims[i][0] != dims[i + 1][0]) {
            st = ae_err_set(err, AE_ERR_FORMAT,
                            "%s: %d labels, but %s has %d images (the counts must agree)",
                            paths[i + 1], dims[i + 1][0], paths[i], dims[i][0]);
            goto fail;
        }
    }

    ds = ae_calloc(1, sizeof *ds);
    if (!ds) {
        st = ae_err_set(err, AE_ERR_NOMEM, "%s: out of memory", dir);
        goto fail;
    }
    ds->n_train = dims[IMAGES_TRAIN][0];
    ds->n_test = dims[IMAGES_TEST][0];
    ds->train_images = bufs[IMAGES_TRAIN];
    ds->train_labels = bufs[LABELS_TRAIN];
    ds->test_images = bufs[IMAGES_TEST];
    ds->test_labels = bufs[LABELS_TEST];
    *out = ds;
    return AE_OK;

fail:
    for (int i = N_FILES - 1; i >= 0; i--) ae_free(bufs[i]);
    return st;
}

void ae_dataset_free(struct ae_dataset *ds)
{
    if (!ds) return;
    /* The arrays are const to users of the data set; this file allocated them. */
    ae_free((void *)ds->test_labels);
    ae_free((void *)ds->test_images);
    ae_free((void *)ds->train_labels);
    ae_free((void *)ds->train_images);
    ae_free(ds);
}

size_t ae_dataset_bytes(const struct ae_dataset *ds)
{
    if (!ds) return 0;
    return sizeof *ds + ((size_t)ds->n_train + (size_t)ds->n_test) * (AE_IMAGE_PIXELS + 1);
}
