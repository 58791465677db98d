/*
 * srv_data_sums.h - the SHA-256 sums of the MNIST files the repository
 * ships (data/mnist/, listed in data/README.md), and the check of a
 * directory's files against them.
 *
 * Rule: a file is held to the sums when it has the size of the file as
 * shipped: a .gz of the shipped size must match the .gz sum; any file
 * whose (decompressed) content has MNIST's full size must match the
 * content sum (so plain copies made with gunzip, and MNIST's original .gz
 * downloads, pass).  Files of other sizes are someone's own cut of the data
 * (or test fixtures): the IDX loader's own checks judge those.
 *
 * Each file is checked once per process (remembered by device, inode, size
 * and modification time).  Thread-safe.
 */
#ifndef SRV_DATA_SUMS_H
#define SRV_DATA_SUMS_H

#include "core/ae.h"

/* Check the MNIST files in dir (each the plain file, or else the .gz, as
 * ae_dataset_load picks them).  AE_ERR_FORMAT naming the file when one does
 * not match its sum; AE_ERR_IO when one cannot be read; AE_OK otherwise
 * (also for files the rule above does not hold to the sums). */
enum ae_status srv_data_sums_check(const char *dir, struct ae_err *err);

#endif /* SRV_DATA_SUMS_H */
