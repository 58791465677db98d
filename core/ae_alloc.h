/*
 * ae_alloc.h - internal: fault injection and accounting for core/'s
 * allocation wrappers (ae_malloc, ae_calloc, ae_aligned_alloc, ae_free in
 * ae.h).  For tests only: the product calls these only from aelabd's test
 * hook (server/srv_testhook.c), which is inert unless AELABD_TEST_FAULTS=1.
 *
 * The countdown is thread-local, so a test that makes "the Nth allocation of
 * this thread fail" does not disturb trainers running in other threads.
 * The live count is process-wide (atomic): tests compare it before and after
 * a sequence of calls to find leaks on error paths.
 */
#ifndef AE_ALLOC_H
#define AE_ALLOC_H

#include <stdint.h>

/* Make the n-th allocation (1-based) made by the calling thread from now on
 * fail, and every one after it, until ae_alloc_fail_reset().  n <= 0 turns
 * injection off. */
void ae_alloc_fail_at(int64_t n);
void ae_alloc_fail_reset(void);
/* Allocations the calling thread has attempted since the last
 * ae_alloc_fail_at / ae_alloc_fail_reset. */
int64_t ae_alloc_attempts(void);
/* Blocks currently allocated through the wrappers (all threads). */
int64_t ae_alloc_live(void);

#endif /* AE_ALLOC_H */
