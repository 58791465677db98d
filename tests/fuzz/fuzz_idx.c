/*
 * fuzz_idx.c - libFuzzer harness: the IDX loader (core/ae_idx.c) and the
 * data set loader on top of it (core/ae_dataset.c), plain and gzip.
 *
 * Input: one mode byte, then the file bytes.
 *   mode & 1      gzip the bytes here first (so mutations of a valid IDX
 *                 file reach the gzip path intact); otherwise the bytes
 *                 are written as they are (and may be gzip themselves)
 *   (mode>>1) & 3 0: ae_idx_read, 1: expect IDX1, 2: expect IDX3,
 *                 3: data set mode: the bytes hold four files, the first
 *                 three each preceded by a u16le length, loaded with
 *                 ae_dataset_load from a directory
 *
 * Properties checked (FUZZ_CHECK), besides "no crash, no leak, no UB":
 *   - a file that loads has 1 or 3 dimensions of the expected kind and
 *     its payload is exactly the bytes after the header (compared byte
 *     for byte when the harness knows them: plain files, or files it
 *     gzipped itself); a plain file is exactly header + payload long;
 *   - a failure always says why (err.msg), and leaves *data NULL;
 *   - a data set that loads is 28x28 with matching image/label counts.
 * Does not: test zlib itself.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/ae_idx.h"
#include "fuzz.h"

/* gzip src into a new buffer (*out, malloc); returns its length. */
static size_t gzip_bytes(const uint8_t *src, size_t n, uint8_t **out)
{
    z_stream z;
    uLong cap = compressBound((uLong)n) + 64;
    uint8_t *buf = malloc(cap);
    if (!buf) abort();
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
    z.next_in = (Bytef *)src;
    z.avail_in = (uInt)n;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) abort();
    *out = buf;
    n = z.total_out;
    deflateEnd(&z);
    return n;
}

static const char *put(const char *name, const uint8_t *p, size_t n, bool gz)
{
    const char *path;
    if (gz) {
        uint8_t *z = NULL;
        size_t zn = gzip_bytes(p, n, &z);
        path = fuzz_write_file(name, z, zn);
        free(z);
    } else {
        path = fuzz_write_file(name, p, n);
    }
    return path;
}

static void one_file(const uint8_t *p, size_t n, bool gz, int want)
{
    uint8_t *data = (uint8_t *)"not touched";
    int32_t dims[3] = {-1, -1, -1};
    int nd = -1;
    struct ae_err e = {0};
    const char *path = put("input.idx", p, n, gz);
    bool plain = !gz && !(n >= 2 && p[0] == 0x1f && p[1] == 0x8b);
    enum ae_status st = want ? ae_idx_read_expect(path, want, &data, dims, &nd, &e)
                             : ae_idx_read(path, &data, dims, &nd, &e);

    if (st != AE_OK) {
        FUZZ_CHECK(data == NULL);
        FUZZ_CHECK(e.msg[0] != '\0');
        return;
    }
    FUZZ_CHECK(nd == 1 || nd == 3);
    FUZZ_CHECK(!want || nd == want);
    {
        uint64_t payload = 1;
        size_t header = 4 + 4 * (size_t)nd;
        for (int i = 0; i < nd; i++) {
            FUZZ_CHECK(dims[i] >= 0);
            payload *= (uint64_t)dims[i];
        }
        for (int i = nd; i < 3; i++) FUZZ_CHECK(dims[i] == 0);
        FUZZ_CHECK(payload <= AE_IDX_MAX_BYTES);
        if (plain || gz) {
            /* The harness knows the uncompressed bytes: they must be it. */
            FUZZ_CHECK(n == header + payload);
            FUZZ_CHECK(memcmp(data, p + header, (size_t)payload) == 0);
        } else if (payload) {
            /* Touch both ends of the buffer (ASan checks its size). */
            volatile uint8_t x = data[0] ^ data[payload - 1];
            (void)x;
        }
    }
    ae_free(data);
}

static void data_set(const uint8_t *p, size_t n, bool gz)
{
    static const char *const names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char dir[4200], name[256];
    struct ae_dataset *ds = NULL;
    struct ae_err e = {0};

    snprintf(dir, sizeof dir, "%s/set", fuzz_tmpdir());
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) abort();
    for (int i = 0; i < 4; i++) {
        size_t len = n;
        if (i < 3) {
            if (n < 2) return;
            len = (size_t)p[0] | (size_t)p[1] << 8;
            p += 2, n -= 2;
            if (len > n) len = n;
        }
        /* Alternate plain and .gz names so both lookups are used. */
        snprintf(name, sizeof name, "set/%s%s", names[i], gz && (i & 1) == 0 ? ".gz" : "");
        put(name, p, len, gz && (i & 1) == 0);
        snprintf(name, sizeof name, "set/%s%s", names[i], gz && (i & 1) == 0 ? "" : ".gz");
        unlink(fuzz_write_file(name, "", 0)); /* no stale twin from an earlier input */
        p += len, n -= len;
    }
    if (ae_dataset_load(dir, &ds, &e) != AE_OK) {
        FUZZ_CHECK(ds == NULL && e.msg[0] != '\0');
        return;
    }
    FUZZ_CHECK(ds->n_train >= 1 && ds->n_test >= 1);
    FUZZ_CHECK(ae_dataset_bytes(ds) >= (size_t)(ds->n_train + ds->n_test) * (AE_IMAGE_PIXELS + 1));
    {
        volatile uint8_t x = ds->train_images[(size_t)ds->n_train * AE_IMAGE_PIXELS - 1] ^
                             ds->test_images[(size_t)ds->n_test * AE_IMAGE_PIXELS - 1] ^
                             ds->train_labels[ds->n_train - 1] ^ ds->test_labels[ds->n_test - 1];
        (void)x;
    }
    ae_dataset_free(ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int kind;
    bool gz;
    if (size < 1) return 0;
    gz = data[0] & 1;
    kind = (data[0] >> 1) & 3;
    if (kind == 3)
        data_set(data + 1, size - 1, gz);
    else
        one_file(data + 1, size - 1, gz, kind == 0 ? 0 : kind == 1 ? 1 : 3);
    return 0;
}
