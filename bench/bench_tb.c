/*
 * bench_tb.c - the event writer against plain write() of the same bytes.
 *
 * For each case (scalar records; image records with a reconstruction-grid
 * PNG; image records with a 1 MiB payload) it first writes the records with
 * tb_writer, reads the file back and checks that re-writing its records with
 * plain write() (one call per record, same boundaries) gives the identical
 * file.  Then it alternates timed rounds of the two, each into a fresh file
 * in the same directory (same disk, page cache, no fsync), and prints the
 * median records/s, MB/s and the ratio writer/plain (of the medians, and of
 * the best rounds, which the other processes on a shared machine disturb
 * least).  PNG encoding is not
 * timed: a job makes the PNG anyway; the writer's cost is framing, CRC32C,
 * protobuf packing and the copy into its record buffer.
 *
 * usage: bench_tb [DIR] [--quick]   (DIR defaults to the current directory)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proto/tb.h"
#include "proto/tb_internal.h"
#include "bench_util.h"

#define ROUNDS 9


struct bench_case {
    const char *name;
    int n_records;
    const uint8_t *image;    /* NULL: scalar records */
    size_t image_bytes;
    int32_t width, height;
};

/* One round through tb_writer; returns seconds (or -1) and the file path. */
static double run_writer(const char *dir, const struct bench_case *c, char *path, size_t cap)
{
    struct tb_writer *w = NULL;
    struct tb_err err = {0};
    double t = bu_now();
    if (tb_writer_open(dir, 1700000000.0, "bench", getpid(), &w, &err) != TB_OK) {
        fprintf(stderr, "bench_tb: %s\n", err.msg);
        return -1;
    }
    for (int i = 0; i < c->n_records; i++) {
        enum tb_status st =
            c->image ? tb_writer_add_image(w, 1700000000.0 + i, i, "reconstructions", c->image,
                                           c->image_bytes, c->width, c->height, 1, &err)
                     : tb_writer_add_scalar(w, 1700000000.0 + i, i, i % 2 ? "val_loss" : "loss",
                                            1.0f / (float)(i + 1), &err);
        if (st != TB_OK) {
            fprintf(stderr, "bench_tb: %s\n", err.msg);
            tb_writer_close(w, NULL);
            return -1;
        }
    }
    double dt = bu_now() - t;
    snprintf(path, cap, "%s", tb_writer_path(w));
    tb_writer_close(w, NULL);
    return dt;
}

/* The same bytes with plain write(), one call per record. */
static double run_plain(const char *path, const uint8_t *data, const size_t *rec_off,
                        int n_records, size_t total)
{
    double t = bu_now();
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "bench_tb: create %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n_records; i++) {
        size_t a = rec_off[i], b = i + 1 < n_records ? rec_off[i + 1] : total;
        if (write(fd, data + a, b - a) != (ssize_t)(b - a)) {
            fprintf(stderr, "bench_tb: write %s: %s\n", path, strerror(errno));
            close(fd);
            return -1;
        }
    }
    double dt = bu_now() - t;
    close(fd);
    return dt;
}

static uint8_t *slurp(const char *path, size_t *n)
{
    struct stat sb;
    int fd = open(path, O_RDONLY);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    uint8_t *p = malloc((size_t)sb.st_size + 1);
    size_t got = 0;
    while (p && got < (size_t)sb.st_size) {
        ssize_t k = read(fd, p + got, (size_t)sb.st_size - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    *n = got;
    return p;
}

static int bench(const char *dir, const struct bench_case *c)
{
    char path[4096], plain_path[4096 + 64];
    /* Reference file and record boundaries. */
    if (run_writer(dir, c, path, sizeof path) < 0)
        return 1;
    size_t total = 0;
    uint8_t *data = slurp(path, &total);
    unlink(path);
    size_t *rec_off = malloc(((size_t)c->n_records + 1) * sizeof *rec_off);
    if (!data || !rec_off)
        return 1;
    /* Record 0 is file_version; the timed plain loop writes the same
     * records, that one included. */
    int n = 0;
    for (size_t off = 0; off + 12 <= total && n <= c->n_records; n++) {
        uint64_t len = 0;
        for (int i = 7; i >= 0; i--)
            len = len << 8 | data[off + (size_t)i];
        rec_off[n] = off;
        off += 16 + (size_t)len;
    }
    if (n != c->n_records + 1) {
        fprintf(stderr, "bench_tb: %s: %d records in the file, expected %d\n", c->name, n,
                c->n_records + 1);
        return 1;
    }
    /* Check: plain write() of those records rebuilds the identical file. */
    snprintf(plain_path, sizeof plain_path, "%s/plain-%d.bin", dir, (int)getpid());
    if (run_plain(plain_path, data, rec_off, n, total) < 0)
        return 1;
    size_t n_plain = 0;
    uint8_t *again = slurp(plain_path, &n_plain);
    unlink(plain_path);
    if (!again || n_plain != total || memcmp(again, data, total) != 0) {
        fprintf(stderr, "bench_tb: %s: plain copy differs\n", c->name);
        return 1;
    }
    free(again);

    double tw[ROUNDS], tp[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        /* Alternate which goes first, so neither always gets a warm cache. */
        for (int k = 0; k < 2; k++) {
            if ((r + k) % 2 == 0) {
                tw[r] = run_writer(dir, c, path, sizeof path);
                unlink(path);
            } else {
                tp[r] = run_plain(plain_path, data, rec_off, n, total);
                unlink(plain_path);
            }
        }
        if (tw[r] < 0 || tp[r] < 0)
            return 1;
    }
    double bw = tw[0], bp = tp[0];
    for (int r = 1; r < ROUNDS; r++) {
        bw = tw[r] < bw ? tw[r] : bw;
        bp = tp[r] < bp ? tp[r] : bp;
    }
    double mw = bu_median(tw, ROUNDS), mp = bu_median(tp, ROUNDS);
    double mb = (double)total / 1e6;
    printf("%-18s %8d %9zu %12.0f %10.1f %12.0f %10.1f %7.0f%% %7.0f%%\n", c->name,
           c->n_records, (total - rec_off[1]) / (size_t)c->n_records, (double)n / mw, mb / mw,
           (double)n / mp, mb / mp, 100.0 * mp / mw, 100.0 * bp / bw);
    free(rec_off);
    free(data);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = ".";
    bool quick = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = true;
        else
            dir = argv[i];
    }
    char work[4096];
    snprintf(work, sizeof work, "%s/bench_tb-%d", dir, (int)getpid());
    if (mkdir(work, 0755) != 0) {
        fprintf(stderr, "bench_tb: mkdir %s: %s\n", work, strerror(errno));
        return 1;
    }

    /* A reconstruction-grid-like PNG: 10 x 3 cells of 28x28 digits-ish blobs
     * with noise, so it compresses like real images (not like a ramp). */
    static uint8_t grid[84 * 280];
    uint32_t s = 12345;
    for (int y = 0; y < 84; y++)
        for (int x = 0; x < 280; x++) {
            int cx = x % 28 - 14, cy = y % 28 - 14;
            s = s * 1664525u + 1013904223u;
            int v = cx * cx + cy * cy < 80 ? 200 + (int)(s >> 28) : (int)(s >> 29);
            grid[y * 280 + x] = (uint8_t)v;
        }
    uint8_t *png = NULL;
    size_t png_len = 0;
    struct tb_err err = {0};
    if (tb_png_encode_gray(grid, 280, 84, &png, &png_len, &err) != TB_OK) {
        fprintf(stderr, "bench_tb: %s\n", err.msg);
        return 1;
    }
    size_t big_len = 1 << 20;
    uint8_t *big = malloc(big_len);
    for (size_t i = 0; big && i < big_len; i++) {
        s = s * 1664525u + 1013904223u;
        big[i] = (uint8_t)(s >> 24);
    }
    if (!big)
        return 1;

    /* CRC32C alone, both paths, on the 1 MiB buffer (checked equal first). */
    if (tb_crc32c_hw_available() &&
        tb_crc32c_hw(~0u, big, big_len) != tb_crc32c_sw(~0u, big, big_len)) {
        fprintf(stderr, "bench_tb: CRC32C paths disagree\n");
        return 1;
    }
    for (int hw = 0; hw < 2; hw++) {
        if (hw && !tb_crc32c_hw_available())
            break;
        double t[ROUNDS];
        volatile uint32_t sink = 0;
        for (int r = 0; r < ROUNDS; r++) {
            double t0 = bu_now();
            for (int k = 0; k < 16; k++)
                sink ^= hw ? tb_crc32c_hw(~0u, big, big_len) : tb_crc32c_sw(~0u, big, big_len);
            t[r] = (bu_now() - t0) / 16;
        }
        printf("crc32c %-6s %8.2f GB/s (1 MiB buffer, median of %d)\n", hw ? "SSE4.2" : "table",
               (double)big_len / bu_median(t, ROUNDS) / 1e9, ROUNDS);
        (void)sink;
    }

    int scale = quick ? 10 : 1;
    struct bench_case cases[] = {
        {"scalar", 200000 / scale, NULL, 0, 0, 0},
        {"image 280x84 png", 20000 / scale, png, png_len, 280, 84},
        {"image 1 MiB", 400 / scale, big, big_len, 1024, 1024},
    };
    printf("bench_tb: %d rounds each, medians; CRC32C path: %s; files in %s\n", ROUNDS,
           tb_crc32c_hw_available() ? "SSE4.2" : "table", work);
    printf("%-18s %8s %9s %12s %10s %12s %10s %8s %8s\n", "case", "records", "B/record",
           "writer rec/s", "writer MB/s", "plain rec/s", "plain MB/s", "ratio", "best");
    int rc = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0] && rc == 0; i++)
        rc = bench(work, &cases[i]);
    rmdir(work);
    free(png);
    free(big);
    return rc;
}
