/*
 * ae_simd.h - the kernels' former headers, kept for tests and benchmarks that
 * include them by this name.  core/ itself includes ae_kernels.h, the one
 * door to the kernels.
 */
#ifndef AE_SIMD_H
#define AE_SIMD_H

#include "ae_kernels.h"

#endif /* AE_SIMD_H */
