/*
 * ae_conv_impl.h - internal: the AVX-512 and AVX2 conv kernels behind
 * ae_conv3_* (ae_conv.c dispatches).  Each returns false for channel counts it has no
 * tile for, and the caller then runs the portable kernel.
 */
#ifndef AE_CONV_IMPL_H
#define AE_CONV_IMPL_H

#include <stdbool.h>
#include <stdint.h>

bool ae_conv3_valid_avx512(float *out, const float *in, int64_t in_rs, int Ho, int Wo, int Cin,
                           int Cout, const float *w, const float *b, int relu);
bool ae_conv3_wgrad_avx512(float *dwl, float *dbl, const float *in, int64_t in_rs, const float *dz,
                           int64_t dz_rs, int Ho, int Wo, int Cin, int Cout);

bool ae_conv3_valid_avx2(float *out, const float *in, int64_t in_rs, int Ho, int Wo, int Cin,
                         int Cout, const float *w, const float *b, int relu);
bool ae_conv3_wgrad_avx2(float *dwl, float *dbl, const float *in, int64_t in_rs, const float *dz,
                         int64_t dz_rs, int Ho, int Wo, int Cin, int Cout);

#endif /* AE_CONV_IMPL_H */
