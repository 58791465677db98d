/*
 * simd_probe.c - prints which element-wise kernels the engine's run-time
 * dispatch picks on this CPU ("avx512" or "portable").
 *
 * The valgrind test runs it natively and under valgrind: valgrind 3.19
 * cannot execute AVX-512, so under it the dispatch must say "portable"
 * (valgrind's CPUID hides AVX-512), or the daemon would die of SIGILL
 * there.  Owns nothing else.
 */
#include <stdio.h>

#include "core/ae_kernels.h"

int main(void)
{
    printf("%s\n", ae_simd_avx512() ? "avx512" : "portable");
    return 0;
}
