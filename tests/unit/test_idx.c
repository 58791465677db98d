/*
 * test_idx.c - the IDX reader and ae_dataset_load on good and bad files.
 *
 * Good: the committed tiny fixture (tests/fixtures/idx/tiny, two files plain
 * and two gzipped; every pixel is recomputed here with the generator's
 * formula) and the real MNIST files.  Bad: files written at test time into a
 * temp dir, each checked for its error code and for a message that names the
 * file and the problem.
 *
 * Usage: test_idx FIXTURE_DIR MNIST_DIR
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "ae.h"
#include "ae_idx.h"
#include "check.h"

static const char *fixture_dir;
static char tmp_root[256];

/* The generator's formula (tests/gen/make_idx_fixtures.py). */
static int fixture_pixel(int i, int r, int c)
{
    int x0 = (i * 7) % 14 + 2, y0 = (i * 11) % 14 + 2;
    int w = 6 + (i * 3) % 8, h = 6 + (i * 5) % 8;
    return (y0 <= r && r < y0 + h && x0 <= c && c < x0 + w) ? 255 : 0;
}

/* ---------------------------------------------------------------------- */
/* Writing files                                                           */
/* ---------------------------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void write_bytes(const char *path, const void *data, size_t len, bool gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        if (!f) {
            perror(path);
            exit(2);
        }
        if (len) gzwrite(f, data, (unsigned)len);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        if (!f) {
            perror(path);
            exit(2);
        }
        fwrite(data, 1, len, f);
        fclose(f);
    }
}

/* An IDX file with the given magic and dims; payload is `have` bytes of a
 * pattern (which may differ from what the dims promise). */
static void write_idx(const char *path, uint32_t magic, const uint32_t *dims, int nd, size_t have,
                      bool gz)
{
    size_t head = 4 + 4 * (size_t)nd;
    uint8_t *buf = calloc(1, head + have);
    put_be32(buf, magic);
    for (int i = 0; i < nd; i++) put_be32(buf + 4 + 4 * i, dims[i]);
    for (size_t i = 0; i < have; i++) buf[head + i] = (uint8_t)(i * 31);
    write_bytes(path, buf, head + have, gz);
    free(buf);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

/* A fresh directory holding a good copy of the tiny data set (all four
 * files plain), into which a test then drops one bad file. */
static void make_case(char *dir, size_t len, const char *name)
{
    snprintf(dir, len, "%s/%s", tmp_root, name);
    mkdir(dir, 0755);
    static const uint32_t img_train[3] = {64, 28, 28}, img_test[3] = {32, 28, 28};
    char path[512];
    uint8_t *px = malloc(64 * 784);
    uint8_t lab[64];
    for (int set = 0; set < 2; set++) {
        int n = set ? 32 : 64, first = set ? 64 : 0;
        for (int k = 0; k < n; k++) {
            for (int p = 0; p < 784; p++) px[k * 784 + p] = (uint8_t)fixture_pixel(first + k, p / 28, p % 28);
            lab[k] = (uint8_t)((first + k) % 10);
        }
        uint8_t head[16];
        put_be32(head, 0x803);
        for (int i = 0; i < 3; i++) put_be32(head + 4 + 4 * i, (set ? img_test : img_train)[i]);
        snprintf(path, sizeof path, "%s/%s", dir, set ? "t10k-images-idx3-ubyte" : "train-images-idx3-ubyte");
        FILE *f = fopen(path, "wb");
        fwrite(head, 1, 16, f);
        fwrite(px, 1, (size_t)n * 784, f);
        fclose(f);
        put_be32(head, 0x801);
        put_be32(head + 4, (uint32_t)n);
        snprintf(path, sizeof path, "%s/%s", dir, set ? "t10k-labels-idx1-ubyte" : "train-labels-idx1-ubyte");
        f = fopen(path, "wb");
        fwrite(head, 1, 8, f);
        fwrite(lab, 1, (size_t)n, f);
        fclose(f);
    }
    free(px);
}

/* Load dir and expect failure `code` with a message that contains every
 * one of the given fragments. */
static void expect_fail(const char *dir, enum ae_status code, const char *frag1,
                        const char *frag2, const char *frag3)
{
    struct ae_dataset *ds = NULL;
    struct ae_err err = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    enum ae_status st = ae_dataset_load(dir, &ds, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    CHECK_MSG(st == code, "%s: status %s, expected %s (%s)", dir, ae_status_str(st),
              ae_status_str(code), err.msg);
    CHECK_MSG(ds == NULL, "%s: data set returned on failure", dir);
    const char *frags[3] = {frag1, frag2, frag3};
    for (int i = 0; i < 3; i++)
        if (frags[i]) CHECK_MSG(strstr(err.msg, frags[i]) != NULL, "message \"%s\" lacks \"%s\"", err.msg, frags[i]);
    /* A bad file is rejected without reading or allocating its claim. */
    CHECK_MSG(secs < 2.0, "%s: took %.2f s to reject", dir, secs);
    ae_dataset_free(ds);
}

/* ---------------------------------------------------------------------- */
/* Good files                                                              */
/* ---------------------------------------------------------------------- */

static void test_fixture(void)
{
    struct ae_dataset *ds = NULL;
    struct ae_err err = {0};
    enum ae_status st = ae_dataset_load(fixture_dir, &ds, &err);
    CHECK_MSG(st == AE_OK, "fixture load: %s", err.msg);
    if (st != AE_OK) return;
    CHECK_EQ_INT(ds->n_train, 64);
    CHECK_EQ_INT(ds->n_test, 32);
    int bad = 0;
    for (int k = 0; k < 64; k++) {
        for (int p = 0; p < 784; p++)
            bad += ds->train_images[k * 784 + p] != fixture_pixel(k, p / 28, p % 28);
        bad += ds->train_labels[k] != k % 10;
    }
    for (int k = 0; k < 32; k++) {
        for (int p = 0; p < 784; p++)
            bad += ds->test_images[k * 784 + p] != fixture_pixel(64 + k, p / 28, p % 28);
        bad += ds->test_labels[k] != (64 + k) % 10;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(ae_dataset_bytes(ds), sizeof *ds + 96 * 785);
    ae_dataset_free(ds);

    /* ae_idx_read on single files, plain and gz, 3 and 1 dimensions. */
    char path[512];
    uint8_t *data = NULL;
    int32_t dims[3];
    int nd = 0;
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", fixture_dir);
    st = ae_idx_read(path, &data, dims, &nd, &err);
    CHECK_MSG(st == AE_OK, "%s", err.msg);
    CHECK_EQ_INT(nd, 3);
    CHECK_EQ_INT(dims[0], 32);
    CHECK_EQ_INT(dims[1], 28);
    CHECK_EQ_INT(dims[2], 28);
    if (data) CHECK_EQ_INT(data[5 * 784 + 10 * 28 + 12], fixture_pixel(69, 10, 12));
    ae_free(data);
    data = NULL;
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte", fixture_dir);
    st = ae_idx_read(path, &data, dims, &nd, &err);
    CHECK_MSG(st == AE_OK, "%s", err.msg);
    CHECK_EQ_INT(nd, 1);
    CHECK_EQ_INT(dims[0], 32);
    if (data) CHECK_EQ_INT(data[31], 95 % 10);
    ae_free(data);
}

static void test_mnist(const char *dir)
{
    struct ae_dataset *ds = NULL;
    struct ae_err err = {0};
    enum ae_status st = ae_dataset_load(dir, &ds, &err);
    CHECK_MSG(st == AE_OK, "real MNIST: %s", err.msg);
    if (st != AE_OK) return;
    CHECK_EQ_INT(ds->n_train, 60000);
    CHECK_EQ_INT(ds->n_test, 10000);
    /* Reference figures computed from the same files with Python's gzip. */
    static const uint8_t train_first[10] = {5, 0, 4, 1, 9, 2, 1, 3, 1, 4};
    static const uint8_t test_first[10] = {7, 2, 1, 0, 4, 1, 4, 9, 5, 9};
    for (int i = 0; i < 10; i++) {
        CHECK_EQ_INT(ds->train_labels[i], train_first[i]);
        CHECK_EQ_INT(ds->test_labels[i], test_first[i]);
    }
    CHECK_EQ_INT(ds->train_labels[59999], 8);
    CHECK_EQ_INT(ds->test_labels[9999], 6);
    CHECK_EQ_INT(ds->train_images[14 * 28 + 14], 240);
    CHECK_EQ_INT(ds->train_images[5 * 28 + 21], 255);
    uint64_t sum0 = 0, sum_train = 0, sum_test = 0;
    for (int p = 0; p < 784; p++) sum0 += ds->train_images[p];
    for (size_t p = 0; p < (size_t)60000 * 784; p++) sum_train += ds->train_images[p];
    for (size_t p = 0; p < (size_t)10000 * 784; p++) sum_test += ds->test_images[p];
    CHECK_EQ_INT(sum0, 27525);
    CHECK_EQ_INT(sum_train, 1567298545ull);
    CHECK_EQ_INT(sum_test, 264923200ull);
    CHECK_EQ_INT(ae_dataset_bytes(ds), sizeof *ds + (size_t)70000 * 785);
    ae_dataset_free(ds);
}

/* ---------------------------------------------------------------------- */
/* Bad files                                                               */
/* ---------------------------------------------------------------------- */

static void test_bad(void)
{
    char dir[512], path[600];
    static const uint32_t img64[3] = {64, 28, 28};

    /* Sanity: the generated good copy loads. */
    make_case(dir, sizeof dir, "good");
    struct ae_dataset *ds = NULL;
    struct ae_err err = {0};
    CHECK_MSG(ae_dataset_load(dir, &ds, &err) == AE_OK, "good copy: %s", err.msg);
    ae_dataset_free(ds);

    make_case(dir, sizeof dir, "missing");
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte", dir);
    remove(path);
    expect_fail(dir, AE_ERR_IO, "t10k-labels-idx1-ubyte", "missing", NULL);

    /* A labels header where images belong. */
    make_case(dir, sizeof dir, "magic");
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    write_idx(path, 0x801, (const uint32_t[]){64}, 1, 64, false);
    expect_fail(dir, AE_ERR_FORMAT, "train-images-idx3-ubyte", "wrong magic 0x00000801",
                "expected 0x00000803");

    /* Same through gzip: the message still names the .gz file. */
    make_case(dir, sizeof dir, "magic_gz");
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte", dir);
    remove(path);
    strcat(path, ".gz");
    write_idx(path, 0x12345678, (const uint32_t[]){64}, 1, 64, true);
    expect_fail(dir, AE_ERR_FORMAT, "train-labels-idx1-ubyte.gz", "wrong magic 0x12345678",
                "expected 0x00000801");

    make_case(dir, sizeof dir, "truncated");
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    write_idx(path, 0x803, img64, 3, 64 * 784 - 100, false);
    expect_fail(dir, AE_ERR_FORMAT, "train-images-idx3-ubyte", "truncated", "50176");

    make_case(dir, sizeof dir, "truncated_gz");
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    remove(path);
    strcat(path, ".gz");
    write_idx(path, 0x803, img64, 3, 64 * 784 - 100, true);
    expect_fail(dir, AE_ERR_FORMAT, "train-images-idx3-ubyte.gz", "truncated", "file has 50076");

    make_case(dir, sizeof dir, "trailing");
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", dir);
    write_idx(path, 0x803, (const uint32_t[]){32, 28, 28}, 3, 32 * 784 + 5, false);
    expect_fail(dir, AE_ERR_FORMAT, "t10k-images-idx3-ubyte", "trailing garbage: 5 bytes", NULL);

    make_case(dir, sizeof dir, "trailing_gz");
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte", dir);
    remove(path);
    strcat(path, ".gz");
    write_idx(path, 0x801, (const uint32_t[]){32}, 1, 40, true);
    expect_fail(dir, AE_ERR_FORMAT, "t10k-labels-idx1-ubyte.gz", "trailing garbage: 8 bytes", NULL);

    make_case(dir, sizeof dir, "count");
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte", dir);
    write_idx(path, 0x801, (const uint32_t[]){63}, 1, 63, false);
    expect_fail(dir, AE_ERR_FORMAT, "train-labels-idx1-ubyte", "63 labels", "64 images");

    make_case(dir, sizeof dir, "27x28");
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", dir);
    write_idx(path, 0x803, (const uint32_t[]){32, 27, 28}, 3, 32 * 27 * 28, false);
    expect_fail(dir, AE_ERR_FORMAT, "t10k-images-idx3-ubyte", "27x28", "not 28x28");

    make_case(dir, sizeof dir, "empty");
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    write_bytes(path, "", 0, false);
    expect_fail(dir, AE_ERR_FORMAT, "train-images-idx3-ubyte", "empty file", NULL);

    make_case(dir, sizeof dir, "short_header");
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    write_bytes(path, "\0\0\x08\x03\0\0", 6, false);
    expect_fail(dir, AE_ERR_FORMAT, "train-images-idx3-ubyte", "truncated", "header");

    /* Corrupt deflate data: a valid gzip file with bytes flipped in the middle. */
    make_case(dir, sizeof dir, "corrupt_gz");
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    remove(path);
    strcat(path, ".gz");
    {
        size_t n = 16 + 64 * 784;
        uint8_t *raw = malloc(n);
        put_be32(raw, 0x803);
        for (int i = 0; i < 3; i++) put_be32(raw + 4 + 4 * i, img64[i]);
        for (size_t i = 16; i < n; i++) raw[i] = (uint8_t)((i * 2654435761u) >> 13);
        uLongf zlen = compressBound(n) + 64;
        uint8_t *z = malloc(zlen);
        /* gzip wrapper by hand: header, raw deflate, (CRC, size) trailer. */
        z_stream zs = {0};
        deflateInit2(&zs, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY);
        zs.next_in = raw;
        zs.avail_in = (uInt)n;
        zs.next_out = z;
        zs.avail_out = (uInt)zlen;
        deflate(&zs, Z_FINISH);
        size_t zn = zs.total_out;
        deflateEnd(&zs);
        for (size_t i = zn / 2; i < zn / 2 + 16; i++) z[i] ^= 0x5a;
        write_bytes(path, z, zn, false);
        free(z);
        free(raw);
    }
    expect_fail(dir, AE_ERR_FORMAT, "train-images-idx3-ubyte.gz", "gzip", NULL);

    /* A gzip file cut short: the stream ends early. */
    make_case(dir, sizeof dir, "cut_gz");
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    remove(path);
    strcat(path, ".gz");
    {
        char whole[600];
        snprintf(whole, sizeof whole, "%s/whole.gz", tmp_root);
        write_idx(whole, 0x803, img64, 3, 64 * 784, true);
        FILE *f = fopen(whole, "rb");
        uint8_t z[65536];
        size_t zn = fread(z, 1, sizeof z, f);
        fclose(f);
        write_bytes(path, z, zn / 2, false);
    }
    expect_fail(dir, AE_ERR_FORMAT, "train-images-idx3-ubyte.gz", "truncated", "unexpected end");

    /* Headers claiming huge counts: caught before any allocation. */
    make_case(dir, sizeof dir, "huge");
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    write_idx(path, 0x803, (const uint32_t[]){0x80000000u, 28, 28}, 3, 784, false);
    expect_fail(dir, AE_ERR_FORMAT, "train-images-idx3-ubyte", "dimension 0 is 2147483648", NULL);

    make_case(dir, sizeof dir, "huge2");
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    write_idx(path, 0x803, (const uint32_t[]){0x7fffffffu, 28, 28}, 3, 784, false);
    expect_fail(dir, AE_ERR_FORMAT, "train-images-idx3-ubyte", "more than 1073741824 bytes", NULL);

    make_case(dir, sizeof dir, "huge_plain");
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    write_idx(path, 0x803, (const uint32_t[]){1000000, 28, 28}, 3, 784, false);
    expect_fail(dir, AE_ERR_FORMAT, "train-images-idx3-ubyte", "truncated", "784000000");

    make_case(dir, sizeof dir, "huge_gz");
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    remove(path);
    strcat(path, ".gz");
    write_idx(path, 0x803, (const uint32_t[]){1000000, 28, 28}, 3, 784, true);
    expect_fail(dir, AE_ERR_FORMAT, "train-images-idx3-ubyte.gz", "truncated",
                "more than a");

    /* A directory where a file should be. */
    make_case(dir, sizeof dir, "isdir");
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", dir);
    remove(path);
    mkdir(path, 0755);
    expect_fail(dir, AE_ERR_IO, "t10k-images-idx3-ubyte", "not a regular file", NULL);

    /* ae_idx_read itself: the wrong magic message lists what it accepts. */
    snprintf(path, sizeof path, "%s/magic/train-images-idx3-ubyte", tmp_root);
    write_idx(path, 0x802, (const uint32_t[]){64, 5}, 2, 320, false);
    uint8_t *data = (uint8_t *)1;
    int32_t dims[3];
    int nd = 7;
    CHECK(ae_idx_read(path, &data, dims, &nd, &err) == AE_ERR_FORMAT);
    CHECK(data == NULL && nd == 0);
    CHECK_MSG(strstr(err.msg, "0x00000801 or 0x00000803") != NULL, "%s", err.msg);
    CHECK(ae_idx_read(NULL, &data, dims, &nd, &err) == AE_ERR_ARG);
    CHECK(ae_dataset_load(NULL, &ds, &err) == AE_ERR_ARG);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s FIXTURE_DIR MNIST_DIR\n", argv[0]);
        return 2;
    }
    fixture_dir = argv[1];
    const char *tmp = getenv("TMPDIR");
    snprintf(tmp_root, sizeof tmp_root, "%s/test_idx.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 2;
    }
    test_fixture();
    test_bad();
    test_mnist(argv[2]);
    nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return check_summary("test_idx");
}
