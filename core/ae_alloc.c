/*
 * ae_alloc.c - the allocation wrappers every allocation in core/ goes through.
 *
 * Owns: ae_malloc/ae_calloc/ae_aligned_alloc/ae_free and the test hooks of
 * ae_alloc.h.  Does not own any policy about what to do on failure: callers
 * turn NULL into AE_ERR_NOMEM.
 *
 * Design: all three allocators hand out blocks that free() releases
 * (posix_memalign for the aligned one), so ae_free needs no header in front
 * of the block.  The fault-injection countdown is thread-local, the live
 * counter atomic; they exist for the OOM tests (STYLE.md section 8).  The
 * only other mutable statics in core/ are write-once: the cached CPU check
 * (ae_simd_avx512.c) and the pthread_once that makes OpenBLAS
 * single-threaded (ae_dense.c).
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "ae.h"

static _Thread_local int64_t fail_at;    /* 0 = off */
static _Thread_local int64_t attempts;
static atomic_llong live_blocks;

static int should_fail(void)
{
    attempts++;
    return fail_at > 0 && attempts >= fail_at;
}

void ae_alloc_fail_at(int64_t n)
{
    fail_at = n > 0 ? n : 0;
    attempts = 0;
}

void ae_alloc_fail_reset(void)
{
    fail_at = 0;
    attempts = 0;
}

int64_t ae_alloc_attempts(void) { return attempts; }

int64_t ae_alloc_live(void) { return (int64_t)atomic_load(&live_blocks); }

static void *counted(void *p)
{
    if (p) atomic_fetch_add(&live_blocks, 1);
    return p;
}

void *ae_malloc(size_t n_bytes)
{
    if (should_fail()) return NULL;
    return counted(malloc(n_bytes ? n_bytes : 1));
}

void *ae_calloc(size_t n, size_t size)
{
    if (should_fail()) return NULL;
    if (n == 0 || size == 0) n = size = 1;
    return counted(calloc(n, size));
}

void *ae_aligned_alloc(size_t n_bytes)
{
    void *p = NULL;
    if (should_fail()) return NULL;
    /* Round up so vector loops may read a whole 64-byte line at the end. */
    n_bytes = (n_bytes + 63) & ~(size_t)63;
    if (n_bytes == 0) n_bytes = 64;
    if (posix_memalign(&p, 64, n_bytes) != 0) return NULL;
    return counted(p);
}

void ae_free(void *p)
{
    if (!p) return;
    atomic_fetch_sub(&live_blocks, 1);
    free(p);
}
