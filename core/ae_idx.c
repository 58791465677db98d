/*
 * ae_idx.c - read one IDX file (the MNIST container format), plain or gzip.
 *
 * Owns: parsing the IDX header (magic 0x0000 08 NN, then NN big-endian u32
 * sizes), checking it, and reading the ubyte payload into one buffer from
 * ae_malloc.  Knows nothing of images vs labels; ae_dataset.c says which
 * magic and sizes it expects and turns this into a data set.
 *
 * Does not: accept element types other than ubyte (0x08), keep any state
 * between calls, or trust a size it has not bounded.
 *
 * Design: the payload size is known from the header, so it is checked before
 * anything is allocated.  A plain file must be exactly header + payload bytes
 * long (fstat), so a lying header is caught without reading.  A gzip file's
 * real size is only known after inflating it, so the claim is bounded
 * instead: by AE_IDX_MAX_BYTES and by what deflate can possibly expand the
 * compressed bytes to (at most ~1032:1).  The buffer is then filled by
 * streaming gzread into it; physical memory grows as the bytes arrive (the
 * allocator maps large blocks lazily), there is no second copy, and a file
 * that ends early reports expected vs actual bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "ae.h"
#include "ae_idx.h"

/* Deflate's best case is a 258-byte match in about 2 bits: ~1032:1. */
#define GZ_MAX_RATIO 1032u

/* A source of bytes: a plain fd or a gzip stream. */
struct src {
    int fd;
    gzFile gz;
    bool gz_cut; /* the gzip stream ended in the middle (zlib's Z_BUF_ERROR) */
};

/* zlib's message without the "<fd:N>: " it prefixes for gzdopen streams
 * (our own messages name the file). */
static const char *gz_message(gzFile gz, int *zerr)
{
    const char *m = gzerror(gz, zerr);
    if (*zerr == Z_ERRNO) return strerror(errno);
    if (!m) return "unknown";
    if (strncmp(m, "<fd:", 4) == 0) {
        const char *colon = strstr(m, ": ");
        if (colon) m = colon + 2;
    }
    return m;
}

/* Read up to n bytes; returns bytes read (< n only at end of data) or -1
 * with msg filled. */
static int64_t src_read(struct src *s, uint8_t *buf, size_t n, char *msg, size_t msg_len)
{
    size_t done = 0;
    while (done < n) {
        size_t want = n - done;
        if (want > (1u << 30)) want = 1u << 30;
        if (s->gz) {
            int r = gzread(s->gz, buf + done, (unsigned)want);
            if (r < 0) {
                int zerr = 0;
                snprintf(msg, msg_len, "gzip error: %s", gz_message(s->gz, &zerr));
                return -1;
            }
            if (r == 0) {
                /* gzread returns 0 at EOF, but also when the stream ends in the
                 * middle of a deflate block: zlib flags that as an error. */
                int zerr = 0;
                const char *zmsg = gz_message(s->gz, &zerr);
                if (zerr == Z_BUF_ERROR) {
                    s->gz_cut = true;
                    break;
                }
                if (zerr != Z_OK && zerr != Z_STREAM_END) {
                    snprintf(msg, msg_len, "gzip error: %s", zmsg);
                    return -1;
                }
                break;
            }
            done += (size_t)r;
        } else {
            ssize_t r = read(s->fd, buf + done, want);
            if (r < 0) {
                if (errno == EINTR) continue;
                snprintf(msg, msg_len, "read failed: %s", strerror(errno));
                return -1;
            }
            if (r == 0) break;
            done += (size_t)r;
        }
    }
    return (int64_t)done;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* ---- the steps of one read --------------------------------------------- */

/* One read in progress: what each step has learnt so far. */
struct reader {
    const char *path;
    struct src s;
    uint64_t file_bytes;   /* size on disk (compressed for gzip) */
    bool is_gz;
    int nd;                /* dimensions from the magic */
    size_t header_bytes;   /* 4 + 4 nd */
    uint64_t payload;      /* data bytes the header promises */
    uint8_t head[16];
};

/* Open path read-only; it must be a regular file. */
static enum ae_status step_open(struct reader *rd, struct ae_err *err)
{
    rd->s.fd = open(rd->path, O_RDONLY | O_CLOEXEC);
    if (rd->s.fd < 0)
        return ae_err_set(err, AE_ERR_IO, "%s: cannot open: %s", rd->path, strerror(errno));
    struct stat sb;
    if (fstat(rd->s.fd, &sb) != 0)
        return ae_err_set(err, AE_ERR_IO, "%s: cannot stat: %s", rd->path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return ae_err_set(err, AE_ERR_IO, "%s: not a regular file", rd->path);
    rd->file_bytes = (uint64_t)sb.st_size;
    return AE_OK;
}

/* gzip is recognised by its two magic bytes, not by the file name; a gzip
 * file is then read through a zlib stream on a second descriptor. */
static enum ae_status step_detect_gzip(struct reader *rd, struct ae_err *err)
{
    ssize_t got = pread(rd->s.fd, rd->head, 2, 0);
    if (got < 0)
        return ae_err_set(err, AE_ERR_IO, "%s: read failed: %s", rd->path, strerror(errno));
    rd->is_gz = got == 2 && rd->head[0] == 0x1f && rd->head[1] == 0x8b;
    if (!rd->is_gz) return AE_OK;
    int fd2 = dup(rd->s.fd);
    if (fd2 < 0) return ae_err_set(err, AE_ERR_IO, "%s: dup failed: %s", rd->path, strerror(errno));
    rd->s.gz = gzdopen(fd2, "rb");
    if (!rd->s.gz) {
        close(fd2);
        return ae_err_set(err, AE_ERR_NOMEM, "%s: cannot start gzip stream", rd->path);
    }
    gzbuffer(rd->s.gz, 1u << 17);
    return AE_OK;
}

/* The 4-byte magic (ubyte, want_dims dimensions or 1 or 3 when 0). */
static enum ae_status step_magic(struct reader *rd, int want_dims, struct ae_err *err)
{
    char msg[256];
    int64_t r = src_read(&rd->s, rd->head, 4, msg, sizeof msg);
    if (r < 0) return ae_err_set(err, AE_ERR_FORMAT, "%s: %s", rd->path, msg);
    if (r == 0)
        return ae_err_set(err, AE_ERR_FORMAT, "%s: empty file (expected an IDX header)", rd->path);
    if (r < 4)
        return ae_err_set(err, AE_ERR_FORMAT,
                          "%s: truncated: %lld bytes, shorter than the 4-byte IDX magic", rd->path,
                          (long long)r);
    const uint8_t *head = rd->head;
    uint32_t magic = be32(head);
    int nd = head[3];
    bool ok_magic = head[0] == 0 && head[1] == 0 && head[2] == 0x08 &&
                    (want_dims ? nd == want_dims : (nd == 1 || nd == 3));
    if (!ok_magic) {
        if (want_dims)
            return ae_err_set(err, AE_ERR_FORMAT,
                              "%s: wrong magic 0x%08x (expected 0x%08x, an IDX%d ubyte file)",
                              rd->path, magic, 0x800u | (unsigned)want_dims, want_dims);
        return ae_err_set(err, AE_ERR_FORMAT,
                          "%s: wrong magic 0x%08x (expected 0x00000801 or 0x00000803, "
                          "an IDX1 or IDX3 ubyte file)",
                          rd->path, magic);
    }
    rd->nd = nd;
    rd->header_bytes = 4 + 4 * (size_t)nd;
    return AE_OK;
}

/* One big-endian u32 per dimension into dims; their product is the
 * payload, capped at AE_IDX_MAX_BYTES as it is formed. */
static enum ae_status step_dims(struct reader *rd, int32_t dims[3], struct ae_err *err)
{
    char msg[256];
    int nd = rd->nd;
    int64_t r = src_read(&rd->s, rd->head + 4, 4 * (size_t)nd, msg, sizeof msg);
    if (r < 0) return ae_err_set(err, AE_ERR_FORMAT, "%s: %s", rd->path, msg);
    if (r < 4 * nd)
        return ae_err_set(err, AE_ERR_FORMAT, "%s: truncated: header needs %zu bytes, file has %lld",
                          rd->path, rd->header_bytes, (long long)(4 + r));
    uint64_t payload = 1;
    for (int i = 0; i < nd; i++) {
        uint32_t d = be32(rd->head + 4 + 4 * i);
        if (d > INT32_MAX)
            return ae_err_set(err, AE_ERR_FORMAT, "%s: dimension %d is %u, more than %d", rd->path,
                              i, d, INT32_MAX);
        dims[i] = (int32_t)d;
        payload *= d; /* <= 2^31 ^ 3 fits: checked against the cap below per step */
        if (payload > AE_IDX_MAX_BYTES)
            return ae_err_set(err, AE_ERR_FORMAT,
                              "%s: header claims more than %llu bytes of data (the limit)",
                              rd->path, (unsigned long long)AE_IDX_MAX_BYTES);
    }
    for (int i = nd; i < 3; i++) dims[i] = 0;
    rd->payload = payload;
    return AE_OK;
}

/* Bound the claim before allocating: a plain file must hold exactly the
 * header and the payload; a gzip file at most what deflate can expand. */
static enum ae_status step_bounds(const struct reader *rd, struct ae_err *err)
{
    uint64_t payload = rd->payload;
    if (!rd->is_gz) {
        uint64_t have = rd->file_bytes - rd->header_bytes;
        if (have < payload)
            return ae_err_set(err, AE_ERR_FORMAT,
                              "%s: truncated: header promises %llu data bytes, file has %llu",
                              rd->path, (unsigned long long)payload, (unsigned long long)have);
        if (have > payload)
            return ae_err_set(err, AE_ERR_FORMAT,
                              "%s: trailing garbage: %llu bytes after the %llu data bytes the "
                              "header promises",
                              rd->path, (unsigned long long)(have - payload),
                              (unsigned long long)payload);
    } else if (payload + rd->header_bytes > rd->file_bytes * GZ_MAX_RATIO + 1024) {
        return ae_err_set(err, AE_ERR_FORMAT,
                          "%s: truncated: header promises %llu data bytes, more than a "
                          "%llu-byte gzip file can hold",
                          rd->path, (unsigned long long)payload,
                          (unsigned long long)rd->file_bytes);
    }
    return AE_OK;
}

/* Allocate the payload and stream it in; *buf is the caller's to free
 * (also on error). */
static enum ae_status step_payload(struct reader *rd, uint8_t **buf, struct ae_err *err)
{
    char msg[256];
    uint64_t payload = rd->payload;
    *buf = ae_malloc(payload ? payload : 1);
    if (!*buf)
        return ae_err_set(err, AE_ERR_NOMEM, "%s: out of memory for %llu bytes", rd->path,
                          (unsigned long long)payload);
    int64_t r = src_read(&rd->s, *buf, payload, msg, sizeof msg);
    if (r < 0) return ae_err_set(err, AE_ERR_FORMAT, "%s: %s", rd->path, msg);
    if ((uint64_t)r < payload)
        return ae_err_set(err, AE_ERR_FORMAT,
                          "%s: truncated: header promises %llu data bytes, file has %lld%s",
                          rd->path, (unsigned long long)payload, (long long)r,
                          rd->s.gz_cut ? " (gzip: unexpected end of file)" : "");
    return AE_OK;
}

/* Anything after the promised data is an error too.  A plain file's size
 * was checked in step_bounds; a gzip stream is read on (up to 1 MiB). */
static enum ae_status step_trailing(struct reader *rd, struct ae_err *err)
{
    if (!rd->is_gz) return AE_OK;
    char msg[256];
    uint8_t extra[4096];
    uint64_t n_extra = 0;
    for (;;) {
        int64_t r = src_read(&rd->s, extra, sizeof extra, msg, sizeof msg);
        if (r < 0) return ae_err_set(err, AE_ERR_FORMAT, "%s: %s", rd->path, msg);
        n_extra += (uint64_t)r;
        if (r < (int64_t)sizeof extra || n_extra > (1u << 20)) break;
    }
    if (n_extra)
        return ae_err_set(err, AE_ERR_FORMAT,
                          "%s: trailing garbage: %s%llu bytes after the %llu data bytes the "
                          "header promises",
                          rd->path, n_extra > (1u << 20) ? "more than " : "",
                          (unsigned long long)n_extra, (unsigned long long)rd->payload);
    return AE_OK;
}

/* ---- the read ------------------------------------------------------------ */

enum ae_status ae_idx_read_expect(const char *path, int want_dims, uint8_t **data,
                                  int32_t dims[3], int *n_dims, struct ae_err *err)
{
    if (!path || !data || !dims || !n_dims)
        return ae_err_set(err, AE_ERR_ARG, "ae_idx_read: NULL argument");
    *data = NULL;
    *n_dims = 0;

    struct reader rd = {.path = path, .s = {.fd = -1, .gz = NULL, .gz_cut = false}};
    uint8_t *buf = NULL;
    enum ae_status st = step_open(&rd, err);
    if (st == AE_OK) st = step_detect_gzip(&rd, err);
    if (st == AE_OK) st = step_magic(&rd, want_dims, err);
    if (st == AE_OK) st = step_dims(&rd, dims, err);
    if (st == AE_OK) st = step_bounds(&rd, err);
    if (st == AE_OK) st = step_payload(&rd, &buf, err);
    if (st == AE_OK) st = step_trailing(&rd, err);

    if (rd.s.gz) gzclose(rd.s.gz);
    if (rd.s.fd >= 0) close(rd.s.fd);
    if (st != AE_OK) {
        ae_free(buf);
        return st;
    }
    *data = buf;
    *n_dims = rd.nd;
    return AE_OK;
}

enum ae_status ae_idx_read(const char *path, uint8_t **data, int32_t dims[3], int *n_dims,
                           struct ae_err *err)
{
    return ae_idx_read_expect(path, 0, data, dims, n_dims, err);
}
