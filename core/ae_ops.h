/*
 * ae_ops.h - the kernels' former headers, kept for tests and benchmarks that
 * include them by this name.  core/ itself includes ae_kernels.h, the one
 * door to the kernels.
 */
#ifndef AE_OPS_H
#define AE_OPS_H

#include "ae_kernels.h"

#endif /* AE_OPS_H */
