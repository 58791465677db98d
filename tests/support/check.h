/*
 * check.h - the assertions every aelab test uses.
 *
 * CHECK* macros report file:line and the values involved, count the failure
 * and keep going, so one run shows every broken expectation.  A test's main()
 * ends with `return check_summary("name");`, which prints one line and
 * returns non-zero if anything failed (meson counts the binary as failed).
 * A test that checked nothing also fails: a test must assert something.
 */
#ifndef CHECK_H
#define CHECK_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_n_run;
static int check_n_failed;

#define CHECK_FAIL_(...)                                   \
    do {                                                   \
        check_n_failed++;                                  \
        fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__);                      \
        fputc('\n', stderr);                               \
    } while (0)

/* CHECK(cond): cond must hold. */
#define CHECK(cond)                                        \
    do {                                                   \
        check_n_run++;                                     \
        if (!(cond)) CHECK_FAIL_("%s", #cond);             \
    } while (0)

/* CHECK_MSG(cond, fmt, ...): like CHECK with an explanation. */
#define CHECK_MSG(cond, ...)                               \
    do {                                                   \
        check_n_run++;                                     \
        if (!(cond)) CHECK_FAIL_(__VA_ARGS__);             \
    } while (0)

/* CHECK_EQ_INT(a, b): integers equal. */
#define CHECK_EQ_INT(a, b)                                                  \
    do {                                                                    \
        long long a_ = (long long)(a), b_ = (long long)(b);                 \
        check_n_run++;                                                      \
        if (a_ != b_) CHECK_FAIL_("%s == %s (%lld != %lld)", #a, #b, a_, b_); \
    } while (0)

/* CHECK_EQ_STR(a, b): C strings equal (NULL-safe). */
#define CHECK_EQ_STR(a, b)                                                   \
    do {                                                                     \
        const char *a_ = (a), *b_ = (b);                                     \
        check_n_run++;                                                       \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                               \
            CHECK_FAIL_("%s == %s (\"%s\" != \"%s\")", #a, #b,               \
                        a_ ? a_ : "(null)", b_ ? b_ : "(null)");             \
    } while (0)

/* CHECK_NEAR(a, b, tol): |a - b| <= tol, and neither is NaN. */
#define CHECK_NEAR(a, b, tol)                                                \
    do {                                                                     \
        double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol);       \
        check_n_run++;                                                       \
        if (!(fabs(a_ - b_) <= t_))                                          \
            CHECK_FAIL_("%s ~= %s (%.9g vs %.9g, diff %.3g > tol %.3g)", #a, #b, \
                        a_, b_, fabs(a_ - b_), t_);                          \
    } while (0)

/* CHECK_REL(a, b, rtol, atol): |a - b| <= atol + rtol * |b|. */
#define CHECK_REL(a, b, rtol, atol)                                          \
    do {                                                                     \
        double a_ = (double)(a), b_ = (double)(b);                           \
        double lim_ = (double)(atol) + (double)(rtol) * fabs(b_);            \
        check_n_run++;                                                       \
        if (!(fabs(a_ - b_) <= lim_))                                        \
            CHECK_FAIL_("%s ~= %s (%.9g vs %.9g, diff %.3g > %.3g)", #a, #b, \
                        a_, b_, fabs(a_ - b_), lim_);                        \
    } while (0)

/* Print "name: N checks, M failed" and return the exit status for main(). */
static inline int check_summary(const char *name)
{
    if (check_n_run == 0) {
        fprintf(stderr, "%s: FAIL: no checks ran\n", name);
        return 1;
    }
    printf("%s: %d checks, %d failed\n", name, check_n_run, check_n_failed);
    return check_n_failed ? 1 : 0;
}

#endif /* CHECK_H */
