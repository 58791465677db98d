/*
 * ae_idx.h - internal: the IDX reader behind ae_idx_read and ae_dataset_load.
 * Not part of the public API (tests include it directly).
 */
#ifndef AE_IDX_H
#define AE_IDX_H

#include <stdint.h>

#include "ae.h"

/* Largest payload an IDX file may claim (1 GiB: room for any 28x28 data set
 * with up to ~1.3 million images, e.g. EMNIST). */
#define AE_IDX_MAX_BYTES (UINT64_C(1) << 30)

/* ae_idx_read, but the magic must announce want_dims dimensions (1 or 3),
 * or either when want_dims is 0; the error then says which magic was found
 * and which was expected.  Same ownership and errors as ae_idx_read. */
enum ae_status ae_idx_read_expect(const char *path, int want_dims, uint8_t **data,
                                  int32_t dims[3], int *n_dims, struct ae_err *err);

#endif /* AE_IDX_H */
