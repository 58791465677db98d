/*
 * srv_data_sums.c - MNIST's files against the SHA-256 sums in data/README.md.
 *
 * Owns: the table of sums and sizes, hashing a file (raw, or its gzip
 * content through zlib), and the per-process memory of checked files.
 *
 * Does not: parse IDX (core's ae_dataset_load does), or know where data
 * sets live (srv_data.c does).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <nettle/sha2.h>
#include <zlib.h>

#include "srv_data_sums.h"

struct mnist_file {
    const char *name;
    long long gz_bytes, bytes; /* .gz as shipped; content */
    const char *gz_sum, *sum;  /* hex SHA-256 of the .gz; of the content */
};

/* The copy of data/README.md's table (keep the two the same). */
static const struct mnist_file files[4] = {
    {"train-images-idx3-ubyte", 9719438, 47040016,
     "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
     "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"},
    {"train-labels-idx1-ubyte", 28857, 60008,
     "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",
     "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"},
    {"t10k-images-idx3-ubyte", 1616508, 7840016,
     "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",
     "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"},
    {"t10k-labels-idx1-ubyte", 4517, 10008,
     "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",
     "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"},
};

/* Files found good, by identity, so each is hashed once per process. */
#define N_SEEN 16
struct seen {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct seen seen[N_SEEN];
static int n_seen, next_seen;

static bool same(const struct seen *s, const struct stat *sb)
{
    return s->dev == sb->st_dev && s->ino == sb->st_ino && s->size == sb->st_size &&
           s->mtime.tv_sec == sb->st_mtim.tv_sec && s->mtime.tv_nsec == sb->st_mtim.tv_nsec;
}

static bool was_seen(const struct stat *sb)
{
    bool hit = false;
    pthread_mutex_lock(&seen_lock);
    for (int i = 0; i < n_seen && !hit; i++) hit = same(&seen[i], sb);
    pthread_mutex_unlock(&seen_lock);
    return hit;
}

static void remember(const struct stat *sb)
{
    pthread_mutex_lock(&seen_lock);
    seen[next_seen] = (struct seen){sb->st_dev, sb->st_ino, sb->st_size, sb->st_mtim};
    next_seen = (next_seen + 1) % N_SEEN;
    if (n_seen < N_SEEN) n_seen++;
    pthread_mutex_unlock(&seen_lock);
}

static void to_hex(const uint8_t *d, char hex[2 * SHA256_DIGEST_SIZE + 1])
{
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

/* Hash path's bytes (gz: its decompressed content) into hex; *n receives
 * how many bytes were hashed.  Returns 0, or -1 on a read error (errno
 * kept) or -2 on a gzip error (the loader reports those in its words). */
static int hash_stream(const char *path, bool gz, uint8_t *buf, size_t chunk,
                       char hex[2 * SHA256_DIGEST_SIZE + 1], long long *n)
{
    uint8_t digest[SHA256_DIGEST_SIZE];
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    *n = 0;
    if (gz) {
        gzFile f = gzopen(path, "rb");
        if (!f) return -1;
        int got;
        while ((got = gzread(f, buf, (unsigned)chunk)) > 0) {
            sha256_update(&ctx, (size_t)got, buf);
            *n += got;
        }
        int zerr = Z_OK;
        gzerror(f, &zerr);
        gzclose(f);
        if (got < 0 || (zerr != Z_OK && zerr != Z_STREAM_END)) return -2;
    } else {
        FILE *f = fopen(path, "rb");
        if (!f) return -1;
        size_t got;
        while ((got = fread(buf, 1, chunk, f)) > 0) {
            sha256_update(&ctx, got, buf);
            *n += (long long)got;
        }
        int bad = ferror(f);
        int saved = errno;
        fclose(f);
        if (bad) {
            errno = saved;
            return -1;
        }
    }
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
    to_hex(digest, hex);
    return 0;
}

static int hash_file(const char *path, bool gz, char hex[2 * SHA256_DIGEST_SIZE + 1],
                     long long *n)
{
    size_t chunk = (size_t)1 << 16; /* on the heap, off a worker's stack */
    uint8_t *buf = malloc(chunk);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    int r = hash_stream(path, gz, buf, chunk, hex, n);
    int saved = errno;
    free(buf);
    errno = saved;
    return r;
}

static enum ae_status check_one(const char *dir, const struct mnist_file *mf, struct ae_err *err)
{
    char path[4096];
    struct stat sb;
    int len = snprintf(path, sizeof path, "%s/%s", dir, mf->name);
    if (len < 0 || (size_t)len + 3 >= sizeof path)
        return ae_err_set(err, AE_ERR_ARG, "%s/%s: path too long", dir, mf->name);
    bool gz = false;
    if (stat(path, &sb) != 0) {
        strcat(path, ".gz");
        if (stat(path, &sb) != 0) return AE_OK; /* missing: the loader says so */
        gz = true;
    }
    if (!S_ISREG(sb.st_mode) || was_seen(&sb)) return AE_OK;

    char got[2 * SHA256_DIGEST_SIZE + 1];
    long long n;
    const char *want = NULL;
    /* A .gz of the shipped size is held to the .gz sum; else the content
     * of the shipped size to the content sum. */
    bool raw = !gz || sb.st_size == mf->gz_bytes;
    if (!gz && sb.st_size != mf->bytes) return AE_OK;
    int r = hash_file(path, gz && !raw, got, &n);
    if (r == -1)
        return ae_err_set(err, AE_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    if (r == -2) return AE_OK;
    if (gz && raw) want = mf->gz_sum;
    else if (n == mf->bytes) want = mf->sum;
    else return AE_OK;
    if (strcmp(got, want) != 0)
        return ae_err_set(err, AE_ERR_FORMAT,
                          "%s: SHA-256 does not match data/README.md (file damaged or "
                          "replaced); expected %s, got %s",
                          path, want, got);
    remember(&sb);
    return AE_OK;
}

enum ae_status srv_data_sums_check(const char *dir, struct ae_err *err)
{
    if (!dir) return ae_err_set(err, AE_ERR_ARG, "srv_data_sums_check: NULL argument");
    for (int i = 0; i < 4; i++) {
        enum ae_status st = check_one(dir, &files[i], err);
        if (st != AE_OK) return st;
    }
    return AE_OK;
}
