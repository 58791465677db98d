/*
 * fuzz.h - what every harness in tests/fuzz/ shares.
 *
 * Each harness is one .c file that defines LLVMFuzzerTestOneInput (and
 * LLVMFuzzerInitialize when it needs set-up).  The same file is linked two
 * ways: with clang's libFuzzer (-fsanitize=fuzzer, tests/fuzz/build.sh) for
 * the campaigns, and with replay.c (a plain main()) in every normal build,
 * where meson's `fuzz` suite feeds it the committed corpus.
 *
 * A harness must be deterministic (same input, same path), must not leak
 * across inputs, and reports a broken property with FUZZ_CHECK, which
 * aborts: libFuzzer saves the input as a crash, the replay test fails.
 */
#ifndef AELAB_FUZZ_H
#define AELAB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property of the code under test that must hold for every input. */
#define FUZZ_CHECK(cond)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "%s:%d: fuzz property failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                       \
            abort();                                                              \
        }                                                                         \
    } while (0)

/* The calling process's scratch directory (created on first use under
 * $TMPDIR or /tmp, removed with everything in it at exit).  Never NULL:
 * a harness that cannot get one aborts, since that is the machine's
 * problem, not the input's. */
const char *fuzz_tmpdir(void);

/* Write n bytes to <fuzz_tmpdir()>/<name> (replacing it) and return the
 * full path in a static buffer valid until the next call.  Aborts on I/O
 * errors (see fuzz_tmpdir). */
const char *fuzz_write_file(const char *name, const void *data, size_t n);

#endif /* AELAB_FUZZ_H */
