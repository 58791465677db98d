/*
 * tb_test_util.h - small helpers for the proto/ tests: whole-file reads,
 * private temporary directories, hex.  Header-only; every function is
 * static, so each test binary gets its own copy.
 */
#ifndef TB_TEST_UTIL_H
#define TB_TEST_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The golden event files of tests/golden/tfevents, by base name: each
 * has NAME.tfevents and its NAME.json sidecar. */
static inline const char *const *tu_golden_names(size_t *n)
{
    static const char *const names[] = {
        "scalars", "scalars_tensor", "scalars_tensor_content", "image", "text",
        "hparams", "custom_scalars", "resume",
    };
    *n = sizeof names / sizeof names[0];
    return names;
}

/* Read a whole file; *data is malloc'd (NUL-terminated for convenience).
 * Returns 0 or -1 (with a message on stderr). */
static inline int tu_read_file(const char *path, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap + 1);
    while (buf) {
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (n < cap)
            break;
        cap *= 2;
        uint8_t *p = realloc(buf, cap + 1);
        if (!p) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = p;
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        free(buf);
        fprintf(stderr, "cannot read %s\n", path);
        return -1;
    }
    buf[n] = 0;
    *data = buf;
    *len = n;
    return 0;
}

/* A fresh directory under $TMPDIR (or /tmp); the caller frees the string. */
static inline char *tu_mkdtemp(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/aelab-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp(path)) {
        fprintf(stderr, "mkdtemp %s: %s\n", path, strerror(errno));
        return NULL;
    }
    return strdup(path);
}

/* Remove dir and everything in it (one level of subdirectories deep is
 * enough for these tests; recursion handles more). */
static inline void tu_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char *p = NULL;
            if (asprintf(&p, "%s/%s", dir, e->d_name) < 0)
                continue;
            struct stat sb;
            if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
                tu_rmtree(p);
            else
                unlink(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Parse an even-length hex string into bytes; returns the byte count or -1. */
static inline long tu_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex);
    if (n % 2 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return (long)(n / 2);
}

/* The 4 little-endian bytes in hex ("17d98e3e") as a float. */
static inline float tu_f32_from_le_hex(const char *hex)
{
    uint8_t b[4] = {0};
    tu_unhex(hex, b, 4);
    uint32_t bits = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                    (uint32_t)b[3] << 24;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* Print where two buffers first differ (for failure messages). */
static inline void tu_show_diff(const char *what, const uint8_t *a, size_t na, const uint8_t *b,
                         size_t nb)
{
    size_t i = 0;
    while (i < na && i < nb && a[i] == b[i])
        i++;
    fprintf(stderr, "%s: ours %zu bytes, golden %zu bytes, first difference at offset %zu",
            what, na, nb, i);
    if (i < na && i < nb)
        fprintf(stderr, " (ours 0x%02x, golden 0x%02x)", a[i], b[i]);
    fputc('\n', stderr);
}

#endif /* TB_TEST_UTIL_H */
