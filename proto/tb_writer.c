/*
 * tb_writer.c - one event file: naming, TFRecord framing, writing, syncing.
 *
 * Owns the file descriptor, the record buffer and the error policy of a
 * struct tb_writer.  It does not know what an event means: tb_events.c and
 * tb_hparams.c build the Event messages and hand them to tb_writer_put().
 *
 * Design: each record is framed in one buffer (reused between records) and
 * goes to the kernel with a single write(), looping only on short writes and
 * EINTR, so there is no user-space buffering to lose and flush has no I/O
 * to do.  A failed write (disk full, file size limit) is rolled back with
 * ftruncate() to the end of the last whole record; a writer that cannot
 * roll back is broken and refuses every later record with the same error,
 * so nothing is dropped silently and the file never ends in a torn record
 * that we keep appending after.  Files are created with O_EXCL: a restarted
 * job gets a new file and never appends to one that may end in a torn record.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/tb_writer_internal.h"

struct tb_writer {
    int fd;
    char *path;
    uint64_t bytes;          /* file size: whole records only */
    uint8_t *buf;            /* record buffer, grown as needed */
    size_t cap;
    bool broken;             /* a failed write could not be rolled back */
    struct tb_err broken_err;
};

/* Largest n tried in events.out.tfevents.<t>.<host>.<pid>.<n>. */
#define TB_NAME_MAX_TRIES 10000

/* ------------------------------------------------------------------------ */
/* Framing                                                                  */
/* ------------------------------------------------------------------------ */

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void tb_record_frame(uint8_t *rec, size_t n)
{
    uint64_t len = n;
    for (int i = 0; i < 8; i++)
        rec[i] = (uint8_t)(len >> (8 * i));
    put_le32(rec + 8, tb_crc32c_mask(tb_crc32c(rec, 8)));
    put_le32(rec + TB_RECORD_HEADER_BYTES + n,
             tb_crc32c_mask(tb_crc32c(rec + TB_RECORD_HEADER_BYTES, n)));
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */
/* ------------------------------------------------------------------------ */

static enum tb_status broken_status(const struct tb_writer *w, struct tb_err *err)
{
    if (err)
        *err = w->broken_err;
    return w->broken_err.code;
}

uint8_t *tb_writer_reserve(struct tb_writer *w, size_t data_bytes, struct tb_err *err)
{
    if (data_bytes > TB_RECORD_MAX_BYTES) {
        tb_err_set(err, TB_ERR_ARG, 0, "%s: event of %zu bytes is larger than the 1 GiB limit",
                   w->path, data_bytes);
        return NULL;
    }
    size_t need = data_bytes + TB_RECORD_HEADER_BYTES + TB_RECORD_FOOTER_BYTES;
    if (need > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < need)
            cap *= 2;
        uint8_t *buf = realloc(w->buf, cap);
        if (!buf) {
            tb_err_set(err, TB_ERR_NOMEM, ENOMEM, "%s: no memory for a record of %zu bytes",
                       w->path, data_bytes);
            return NULL;
        }
        w->buf = buf;
        w->cap = cap;
    }
    return w->buf + TB_RECORD_HEADER_BYTES;
}

/* write() all n bytes; returns 0 or the errno of the failure. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (r == 0)
            return EIO;   /* no progress and no errno: don't spin */
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

enum tb_status tb_writer_commit(struct tb_writer *w, size_t data_bytes, struct tb_err *err)
{
    if (w->broken)
        return broken_status(w, err);
    size_t total = data_bytes + TB_RECORD_HEADER_BYTES + TB_RECORD_FOOTER_BYTES;
    tb_record_frame(w->buf, data_bytes);
    int e = write_all(w->fd, w->buf, total);
    if (e == 0) {
        w->bytes += total;
        return TB_OK;
    }
    /* Roll back whatever part of the record reached the file. */
    if (ftruncate(w->fd, (off_t)w->bytes) == 0 &&
        lseek(w->fd, (off_t)w->bytes, SEEK_SET) == (off_t)w->bytes)
        return tb_err_set(err, TB_ERR_IO, e, "write %s (record of %zu bytes at offset %llu): %s",
                          w->path, total, (unsigned long long)w->bytes, strerror(e));
    int e2 = errno;
    w->broken = true;
    tb_err_set(&w->broken_err, TB_ERR_IO, e,
               "write %s (record of %zu bytes at offset %llu): %s; cannot cut the partial "
               "record off (%s), so the writer is closed for further records",
               w->path, total, (unsigned long long)w->bytes, strerror(e), strerror(e2));
    return broken_status(w, err);
}

enum tb_status tb_writer_add_raw(struct tb_writer *w, const uint8_t *data, size_t n,
                                 struct tb_err *err)
{
    if (!w || (!data && n > 0))
        return tb_err_set(err, TB_ERR_ARG, 0, "tb_writer_add_raw: NULL argument");
    uint8_t *dst = tb_writer_reserve(w, n, err);
    if (!dst)
        return err ? err->code : TB_ERR_NOMEM;
    if (n)
        memcpy(dst, data, n);
    return tb_writer_commit(w, n, err);
}

enum tb_status tb_writer_put(struct tb_writer *w, const ProtobufCMessage *event, struct tb_err *err)
{
    size_t n = protobuf_c_message_get_packed_size(event);
    uint8_t *dst = tb_writer_reserve(w, n, err);
    if (!dst)
        return err ? err->code : TB_ERR_NOMEM;
    size_t packed = protobuf_c_message_pack(event, dst);
    if (packed != n)
        return tb_err_set(err, TB_ERR_ARG, 0, "%s: event packed to %zu bytes, expected %zu",
                          w->path, packed, n);
    return tb_writer_commit(w, n, err);
}

/* ------------------------------------------------------------------------ */
/* Lifetime                                                                 */
/* ------------------------------------------------------------------------ */

/* Directory + file name, or NULL. */
static char *make_path(const char *dir, long long secs, const char *host, long long pid, int n)
{
    const char *fmt = "%s/events.out.tfevents.%010lld.%s.%lld.%d";
    int len = snprintf(NULL, 0, fmt, dir, secs, host, pid, n);
    if (len < 0)
        return NULL;
    char *p = malloc((size_t)len + 1);
    if (p)
        snprintf(p, (size_t)len + 1, fmt, dir, secs, host, pid, n);
    return p;
}

enum tb_status tb_writer_open(const char *run_dir, double wall_time, const char *hostname,
                              int64_t pid, struct tb_writer **out, struct tb_err *err)
{
    enum tb_status st = TB_OK;
    struct tb_writer *w = NULL;
    char *host = NULL;

    if (out)
        *out = NULL;
    if (!run_dir || !*run_dir || !out || !isfinite(wall_time) || wall_time < 0 ||
        wall_time >= 1e10)
        return tb_err_set(err, TB_ERR_ARG, 0,
                          "tb_writer_open: need a run directory, an output pointer and a "
                          "wall time in [0, 1e10) seconds");

    host = strdup(hostname && *hostname ? hostname : "localhost");
    w = calloc(1, sizeof *w);
    if (!host || !w) {
        st = tb_err_set(err, TB_ERR_NOMEM, ENOMEM, "tb_writer_open: out of memory");
        goto fail;
    }
    w->fd = -1;
    for (char *c = host; *c; c++)
        if (*c == '/')
            *c = '_';

    for (int n = 0; n < TB_NAME_MAX_TRIES; n++) {
        free(w->path);
        w->path = make_path(run_dir, (long long)wall_time, host, (long long)pid, n);
        if (!w->path) {
            st = tb_err_set(err, TB_ERR_NOMEM, ENOMEM, "tb_writer_open: out of memory");
            goto fail;
        }
        w->fd = open(w->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (w->fd >= 0 || errno != EEXIST)
            break;
    }
    if (w->fd < 0) {
        int e = errno;
        st = tb_err_set(err, TB_ERR_IO, e, "create %s: %s", w->path, strerror(e));
        goto fail;
    }

    /* Event{wall_time, file_version: "brain.Event:2"}. */
    Tensorboard__Event ev = TENSORBOARD__EVENT__INIT;
    ev.wall_time = wall_time;
    ev.what_case = TENSORBOARD__EVENT__WHAT_FILE_VERSION;
    ev.file_version = (char *)"brain.Event:2";
    st = tb_writer_put(w, &ev.base, err);
    if (st != TB_OK) {
        unlink(w->path);   /* an empty or torn new file helps nobody */
        goto fail;
    }
    free(host);
    *out = w;
    return TB_OK;

fail:
    if (w) {
        if (w->fd >= 0)
            close(w->fd);
        free(w->path);
        free(w->buf);
        free(w);
    }
    free(host);
    return st;
}

const char *tb_writer_path(const struct tb_writer *w)
{
    return w ? w->path : NULL;
}

uint64_t tb_writer_bytes(const struct tb_writer *w)
{
    return w ? w->bytes : 0;
}

/* TB_ERR_IO when the file no longer has a name (its directory was removed):
 * writes would still succeed but nobody could ever read them. */
static enum tb_status check_linked(struct tb_writer *w, struct tb_err *err)
{
    struct stat sb;
    if (fstat(w->fd, &sb) != 0) {
        int e = errno;
        return tb_err_set(err, TB_ERR_IO, e, "stat %s: %s", w->path, strerror(e));
    }
    if (sb.st_nlink == 0)
        return tb_err_set(err, TB_ERR_IO, ENOENT,
                          "%s: %s (the file or its run directory was deleted while the job "
                          "was writing; later records would be lost)",
                          w->path, strerror(ENOENT));
    return TB_OK;
}

enum tb_status tb_writer_flush(struct tb_writer *w, struct tb_err *err)
{
    if (!w)
        return tb_err_set(err, TB_ERR_ARG, 0, "tb_writer_flush: NULL writer");
    if (w->broken)
        return broken_status(w, err);
    return check_linked(w, err);
}

enum tb_status tb_writer_sync(struct tb_writer *w, struct tb_err *err)
{
    if (!w)
        return tb_err_set(err, TB_ERR_ARG, 0, "tb_writer_sync: NULL writer");
    if (w->broken)
        return broken_status(w, err);
    if (fsync(w->fd) != 0) {
        int e = errno;
        return tb_err_set(err, TB_ERR_IO, e, "fsync %s: %s", w->path, strerror(e));
    }
    return check_linked(w, err);
}

enum tb_status tb_writer_close(struct tb_writer *w, struct tb_err *err)
{
    enum tb_status st = TB_OK;
    if (!w)
        return TB_OK;
    if (w->fd >= 0 && close(w->fd) != 0) {
        int e = errno;
        st = tb_err_set(err, TB_ERR_IO, e, "close %s: %s", w->path, strerror(e));
    }
    free(w->path);
    free(w->buf);
    free(w);
    return st;
}
