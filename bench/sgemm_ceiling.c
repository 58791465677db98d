/*
 * sgemm_ceiling.c - this machine's single-precision GEMM ceiling through OpenBLAS.
 *
 * Owns: one measurement, large square C = A * B (row-major, float32) at each
 * size and thread count asked for, the median GFLOP/s of several timed runs
 * after a warm-up run, printed as one JSON object.  The "ceiling" for a
 * thread count is the best median over the sizes.  bench/train_speed.py
 * runs it in the same session as the training runs, so aelab's GFLOP/s can
 * be read against what the hardware and a tuned BLAS reach.
 *
 * Does not: link anything of aelab, or judge the numbers.
 *
 * Design decision: before timing, a small product is checked against a
 * naive triple loop, so a broken or mis-linked BLAS cannot report a
 * ceiling.  Threads are set with openblas_set_num_threads, and the library
 * actually mapped (read from /proc/self/maps) is printed, since Debian
 * switches libopenblas.so.0 between builds with update-alternatives.
 */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

#define MAX_LIST 16

struct list {
    int n;
    int v[MAX_LIST];
};

/* Parse "1024,1536,2048" into l; every value in [lo, hi]. */
static int parse_list(const char *s, struct list *l, int lo, int hi)
{
    l->n = 0;
    while (*s) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || errno || v < lo || v > hi || l->n == MAX_LIST)
            return -1;
        l->v[l->n++] = (int)v;
        if (*end == ',')
            end++;
        else if (*end)
            return -1;
        s = end;
    }
    return l->n > 0 ? 0 : -1;
}

static void fill(float *x, size_t n, unsigned long long *state)
{
    for (size_t i = 0; i < n; i++) {
        *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((*state >> 40) & 0xffffff) / (float)0x800000 - 1.0f; /* [-1, 1) */
    }
}

/* cblas_sgemm against a naive loop on an m x k by k x n product. */
static int check_sgemm(void)
{
    enum { M = 37, K = 53, N = 29 };
    static float a[M * K], b[K * N], c[M * N];
    unsigned long long st = 42;
    fill(a, M * K, &st);
    fill(b, K * N, &st);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double ref = 0.0;
            for (int p = 0; p < K; p++)
                ref += (double)a[i * K + p] * (double)b[p * N + j];
            if (fabs(ref - (double)c[i * N + j]) > 1e-4 * (1.0 + fabs(ref))) {
                fprintf(stderr, "sgemm_ceiling: cblas_sgemm is wrong at (%d,%d): %g vs %g\n",
                        i, j, (double)c[i * N + j], ref);
                return -1;
            }
        }
    }
    return 0;
}

/* Path of the mapped library whose name contains "blas", or "unknown". */
static void blas_path(char *out, size_t len)
{
    snprintf(out, len, "unknown");
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *path = strchr(line, '/');
        if (!path)
            continue;
        path[strcspn(path, "\n")] = '\0';
        const char *base = strrchr(path, '/') + 1;
        if (strstr(base, "blas")) {
            snprintf(out, len, "%s", path);
            break;
        }
    }
    fclose(f);
}

/* Median seconds of reps timed runs of an n x n x n sgemm (after one
 * untimed run), or a negative value if memory ran out. */
static double time_sgemm(int n, int reps)
{
    size_t nn = (size_t)n * (size_t)n;
    float *a = aligned_alloc(64, nn * sizeof(float));
    float *b = aligned_alloc(64, nn * sizeof(float));
    float *c = aligned_alloc(64, nn * sizeof(float));
    double *t = malloc((size_t)reps * sizeof(double));
    double median = -1.0;
    if (!a || !b || !c || !t)
        goto fail;
    unsigned long long st = 7;
    fill(a, nn, &st);
    fill(b, nn, &st);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    for (int r = 0; r < reps; r++) {
        double t0 = bu_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f,
                    c, n);
        t[r] = bu_now() - t0;
    }
    qsort(t, (size_t)reps, sizeof(double), bu_cmp_double);
    median = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
fail:
    free(t);
    free(c);
    free(b);
    free(a);
    return median;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sgemm_ceiling [--sizes N,N,...] [--threads T,T,...] [--reps R]\n"
            "Median GFLOP/s of square float32 GEMM through OpenBLAS, as JSON.\n"
            "Defaults: --sizes 1024,1536,2048 --threads 1,2 --reps 5\n");
}

int main(int argc, char **argv)
{
    struct list sizes = {3, {1024, 1536, 2048}};
    struct list threads = {2, {1, 2}};
    int reps = 5;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--sizes") && v) {
            if (parse_list(v, &sizes, 16, 8192)) {
                fprintf(stderr, "sgemm_ceiling: --sizes wants up to %d integers in [16, 8192]\n",
                        MAX_LIST);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--threads") && v) {
            if (parse_list(v, &threads, 1, 256)) {
                fprintf(stderr, "sgemm_ceiling: --threads wants integers in [1, 256]\n");
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--reps") && v) {
            char *end;
            long r = strtol(v, &end, 10);
            if (*end || r < 1 || r > 1000) {
                fprintf(stderr, "sgemm_ceiling: --reps wants an integer in [1, 1000]\n");
                return 2;
            }
            reps = (int)r;
            i++;
        } else {
            fprintf(stderr, "sgemm_ceiling: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }

    if (check_sgemm())
        return 1;

    char lib[512];
    blas_path(lib, sizeof lib);
    printf("{\"bench\":\"sgemm_ceiling\",\"openblas_config\":\"%s\",\"library\":\"%s\","
           "\"reps\":%d,\"results\":[",
           openblas_get_config(), lib, reps);
    double best[MAX_LIST] = {0};
    for (int ti = 0; ti < threads.n; ti++) {
        openblas_set_num_threads(threads.v[ti]);
        for (int si = 0; si < sizes.n; si++) {
            int n = sizes.v[si];
            double s = time_sgemm(n, reps);
            if (s <= 0.0) {
                fprintf(stderr, "\nsgemm_ceiling: out of memory for n=%d\n", n);
                return 1;
            }
            double gflops = 2.0 * (double)n * (double)n * (double)n / s * 1e-9;
            if (gflops > best[ti])
                best[ti] = gflops;
            printf("%s{\"threads\":%d,\"n\":%d,\"median_seconds\":%.6f,\"gflops\":%.2f}",
                   ti || si ? "," : "", threads.v[ti], n, s, gflops);
            fflush(stdout);
        }
    }
    printf("],\"ceiling_gflops\":{");
    for (int ti = 0; ti < threads.n; ti++)
        printf("%s\"%d\":%.2f", ti ? "," : "", threads.v[ti], best[ti]);
    printf("}}\n");
    return 0;
}
