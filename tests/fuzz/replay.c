/*
 * replay.c - a plain main() that feeds files to a harness's
 * LLVMFuzzerTestOneInput: CI's regression test for the fuzz corpora.
 *
 *   replay_<harness> DIR_OR_FILE...
 *
 * Every regular file of every directory (sorted by name, so runs are
 * repeatable) is read into a buffer of exactly its size (ASan then sees
 * any read past the end) and run once.  A broken property or a sanitizer
 * report aborts the process, which fails the meson test; an empty or
 * missing directory fails it too (the corpus must not vanish silently).
 * Owns nothing else: the harness does the checking.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"
#include "fuzz.h"

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    uint8_t *buf;
    size_t n;
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &sb) != 0) {
        fclose(f);
        return -1;
    }
    n = (size_t)sb.st_size;
    buf = malloc(n ? n : 1);
    if (!buf || fread(buf, 1, n, f) != n) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run every regular file in dir; returns how many ran, -1 on error. */
static int run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int ran = 0;
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            names = realloc(names, cap * sizeof *names);
            if (!names) abort();
        }
        names[n] = strdup(de->d_name);
        if (!names[n]) abort();
        n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        char path[8192];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
            if (run_file(path) != 0) ran = -1;
            else if (ran >= 0) ran++;
        }
        free(names[i]);
    }
    free(names);
    return ran;
}

int main(int argc, char **argv)
{
    const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    struct timespec t0, t1;
    long total = 0;

    CHECK_MSG(argc >= 2, "usage: %s DIR_OR_FILE...", name);
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        int ran;
        if (stat(argv[i], &sb) == 0 && S_ISREG(sb.st_mode))
            ran = run_file(argv[i]) == 0 ? 1 : -1;
        else
            ran = run_dir(argv[i]);
        CHECK_MSG(ran > 0, "%s: no input could be replayed (missing or empty?)", argv[i]);
        if (ran > 0) total += ran;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%s: replayed %ld inputs in %.2f s\n", name, total,
           (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    return check_summary(name);
}
