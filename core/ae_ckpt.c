/*
 * ae_ckpt.c - checkpoint and weights files.
 *
 * Owns the on-disk format (below) and the atomic write.  Does not own what
 * the numbers mean (the trainer and model do).
 *
 * Format, little-endian, version 1:
 *   0    8  magic "AELABCK\x1a"
 *   8    4  u32 version (1)
 *   12   4  u32 kind: 1 = weights only (ae_model_save), 2 = full checkpoint
 *   16   8  u64 total file length in bytes
 *   24  32  i32 model, epochs, batch_size, encoding_dim, latent_dim,
 *           train_size, test_size, threads
 *   56  32  f64 l1, noise_factor, learning_rate; u64 seed
 *   88   8  i64 n_params
 *   96  16  i32 epoch (completed), batch_pos (batches done in the next
 *           epoch), n_train, n_test (images actually used)
 *   112  8  i64 Adam steps taken
 *   120 32  u64 rng[4]: shuffle stream at the start of the next epoch
 *   152 32  f64 acc_loss, acc_rec, acc_kl; i64 acc_samples (mid-epoch sums)
 *   184  8  i32 n_history, i32 0
 *   192     f32 params[n_params]; a full checkpoint then has f32 m[n_params],
 *           f32 v[n_params] and n_history records of 72 bytes: i32 epoch,
 *           i32 0, f64 loss, val_loss, reconstruction_loss, kl_loss,
 *           val_reconstruction_loss, val_kl_loss, train_seconds, val_seconds
 *   end-4 4 u32 CRC-32 (zlib's) of every byte before it
 *
 * Design: the header alone determines the file length.  Readers check the
 * stored config, the parameter count it implies and that length against
 * the real file size before allocating anything, then the CRC, so a
 * truncated, corrupt or foreign file is an error, never a crash.  Writers
 * go through tmp file -> fsync -> rename -> fsync(dir) (redis rdbSave).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "ae_trainer.h"

#define MAGIC "AELABCK\x1a"
#define VERSION 1u
#define KIND_WEIGHTS 1u
#define KIND_FULL 2u
#define HEADER_BYTES 192
#define HISTORY_BYTES 72

/* ---- little-endian encoding ------------------------------------------- */

static void put_u32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put_u64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put_f64(uint8_t *p, double d) { uint64_t v; memcpy(&v, &d, 8); put_u64(p, v); }
static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}
static double get_f64(const uint8_t *p) { uint64_t v = get_u64(p); double d; memcpy(&d, &v, 8); return d; }
static void put_floats(uint8_t *p, const float *f, int64_t n)
{
    for (int64_t i = 0; i < n; i++) { uint32_t v; memcpy(&v, &f[i], 4); put_u32(p + 4 * i, v); }
}
static void get_floats(float *f, const uint8_t *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++) { uint32_t v = get_u32(p + 4 * i); memcpy(&f[i], &v, 4); }
}

struct header {
    uint32_t version, kind;
    uint64_t file_bytes;
    struct ae_config cfg;
    int64_t n_params;
    int32_t epoch, batch_pos, n_train, n_test;
    int64_t step;
    uint64_t rng[4];
    double acc_loss, acc_rec, acc_kl;
    int64_t acc_samples;
    int32_t n_history;
};

static void encode_header(uint8_t *p, const struct header *h)
{
    memset(p, 0, HEADER_BYTES);
    memcpy(p, MAGIC, 8);
    put_u32(p + 8, h->version);
    put_u32(p + 12, h->kind);
    put_u64(p + 16, h->file_bytes);
    const struct ae_config *c = &h->cfg;
    int32_t ints[8] = {(int32_t)c->model, c->epochs, c->batch_size, c->encoding_dim, c->latent_dim,
                       c->train_size, c->test_size, c->threads};
    for (int i = 0; i < 8; i++) put_u32(p + 24 + 4 * i, (uint32_t)ints[i]);
    put_f64(p + 56, c->l1);
    put_f64(p + 64, c->noise_factor);
    put_f64(p + 72, c->learning_rate);
    put_u64(p + 80, c->seed);
    put_u64(p + 88, (uint64_t)h->n_params);
    put_u32(p + 96, (uint32_t)h->epoch);
    put_u32(p + 100, (uint32_t)h->batch_pos);
    put_u32(p + 104, (uint32_t)h->n_train);
    put_u32(p + 108, (uint32_t)h->n_test);
    put_u64(p + 112, (uint64_t)h->step);
    for (int i = 0; i < 4; i++) put_u64(p + 120 + 8 * i, h->rng[i]);
    put_f64(p + 152, h->acc_loss);
    put_f64(p + 160, h->acc_rec);
    put_f64(p + 168, h->acc_kl);
    put_u64(p + 176, (uint64_t)h->acc_samples);
    put_u32(p + 184, (uint32_t)h->n_history);
}

static void decode_header(const uint8_t *p, struct header *h)
{
    memset(h, 0, sizeof *h);
    h->version = get_u32(p + 8);
    h->kind = get_u32(p + 12);
    h->file_bytes = get_u64(p + 16);
    struct ae_config *c = &h->cfg;
    c->model = (enum ae_model_kind)(int32_t)get_u32(p + 24);
    c->epochs = (int32_t)get_u32(p + 28);
    c->batch_size = (int32_t)get_u32(p + 32);
    c->encoding_dim = (int32_t)get_u32(p + 36);
    c->latent_dim = (int32_t)get_u32(p + 40);
    c->train_size = (int32_t)get_u32(p + 44);
    c->test_size = (int32_t)get_u32(p + 48);
    c->threads = (int32_t)get_u32(p + 52);
    c->l1 = get_f64(p + 56);
    c->noise_factor = get_f64(p + 64);
    c->learning_rate = get_f64(p + 72);
    c->seed = get_u64(p + 80);
    h->n_params = (int64_t)get_u64(p + 88);
    h->epoch = (int32_t)get_u32(p + 96);
    h->batch_pos = (int32_t)get_u32(p + 100);
    h->n_train = (int32_t)get_u32(p + 104);
    h->n_test = (int32_t)get_u32(p + 108);
    h->step = (int64_t)get_u64(p + 112);
    for (int i = 0; i < 4; i++) h->rng[i] = get_u64(p + 120 + 8 * i);
    h->acc_loss = get_f64(p + 152);
    h->acc_rec = get_f64(p + 160);
    h->acc_kl = get_f64(p + 168);
    h->acc_samples = (int64_t)get_u64(p + 176);
    h->n_history = (int32_t)get_u32(p + 184);
}

static uint64_t expected_bytes(const struct header *h)
{
    uint64_t n = HEADER_BYTES + 4ull * (uint64_t)h->n_params;
    if (h->kind == KIND_FULL)
        n += 8ull * (uint64_t)h->n_params + (uint64_t)HISTORY_BYTES * (uint64_t)h->n_history;
    return n + 4;
}

/* ---- writing ----------------------------------------------------------- */

static enum ae_status write_atomic(const char *path, const uint8_t *buf, size_t len,
                                   struct ae_err *err)
{
    char tmp[4096], dir[4096];
    int fd = -1;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return ae_err_set(err, AE_ERR_ARG, "path too long: %s", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return ae_err_set(err, AE_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, buf + done, len - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            return ae_err_set(err, AE_ERR_IO, "cannot write %s: %s", tmp, strerror(e));
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return ae_err_set(err, AE_ERR_IO, "cannot fsync %s: %s", tmp, strerror(e));
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return ae_err_set(err, AE_ERR_IO, "cannot close %s: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return ae_err_set(err, AE_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(e));
    }
    /* fsync the directory so the rename itself is durable. */
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = 0;
    else if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0 && errno != EINVAL) {
            int e = errno;
            close(dfd);
            return ae_err_set(err, AE_ERR_IO, "cannot fsync directory %s: %s", dir, strerror(e));
        }
        close(dfd);
    }
    return AE_OK;
}

static enum ae_status save(const struct header *h0, const float *params, const float *m,
                           const float *v, const struct ae_epoch_stats *hist, const char *path,
                           struct ae_err *err)
{
    struct header h = *h0;
    h.version = VERSION;
    h.file_bytes = expected_bytes(&h);
    uint8_t *buf = ae_malloc((size_t)h.file_bytes);
    if (!buf) return ae_err_set(err, AE_ERR_NOMEM, "out of memory writing %s", path);
    encode_header(buf, &h);
    uint8_t *p = buf + HEADER_BYTES;
    put_floats(p, params, h.n_params);
    p += 4 * h.n_params;
    if (h.kind == KIND_FULL) {
        put_floats(p, m, h.n_params);
        p += 4 * h.n_params;
        put_floats(p, v, h.n_params);
        p += 4 * h.n_params;
        for (int32_t i = 0; i < h.n_history; i++) {
            const struct ae_epoch_stats *s = &hist[i];
            memset(p, 0, HISTORY_BYTES);
            put_u32(p, (uint32_t)s->epoch);
            double d[8] = {s->loss, s->val_loss, s->reconstruction_loss, s->kl_loss,
                           s->val_reconstruction_loss, s->val_kl_loss, s->train_seconds,
                           s->val_seconds};
            for (int k = 0; k < 8; k++) put_f64(p + 8 + 8 * k, d[k]);
            p += HISTORY_BYTES;
        }
    }
    uint32_t crc = (uint32_t)crc32(0L, buf, (uInt)(p - buf));
    put_u32(p, crc);
    enum ae_status st = write_atomic(path, buf, (size_t)h.file_bytes, err);
    ae_free(buf);
    return st;
}

enum ae_status ae_model_save(const struct ae_model *m, const char *path, struct ae_err *err)
{
    if (!m || !path) return ae_err_set(err, AE_ERR_ARG, "ae_model_save: model and path are required");
    struct header h;
    memset(&h, 0, sizeof h);
    h.kind = KIND_WEIGHTS;
    h.cfg = m->cfg;
    h.n_params = m->n_params;
    return save(&h, m->params, NULL, NULL, NULL, path, err);
}

enum ae_status ae_trainer_save(const struct ae_trainer *t, const char *path, struct ae_err *err)
{
    if (!t || !path) return ae_err_set(err, AE_ERR_ARG, "ae_trainer_save: trainer and path are required");
    struct header h;
    memset(&h, 0, sizeof h);
    h.kind = KIND_FULL;
    h.cfg = t->cfg;
    h.n_params = t->model->n_params;
    h.epoch = t->epoch;
    h.batch_pos = t->batch_pos;
    h.n_train = t->n_train;
    h.n_test = t->n_test;
    h.step = t->step;
    memcpy(h.rng, t->rng_epoch.s, sizeof h.rng);
    h.acc_loss = t->acc_loss;
    h.acc_rec = t->acc_rec;
    h.acc_kl = t->acc_kl;
    h.acc_samples = t->acc_samples;
    h.n_history = t->epoch;
    return save(&h, t->model->params, t->adam_m, t->adam_v, t->history, path, err);
}

/* ---- reading ----------------------------------------------------------- */

/* Open path, read and check the header against the file size.  On success
 * *fd is open and positioned after the header. */
static enum ae_status open_checked(const char *path, struct header *h, int *fd_out,
                                   struct ae_err *err)
{
    uint8_t hb[HEADER_BYTES];
    struct stat sb;
    *fd_out = -1;
    if (!path) return ae_err_set(err, AE_ERR_ARG, "checkpoint path is NULL");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ae_err_set(err, AE_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    enum ae_status st;
    if (fstat(fd, &sb) != 0) {
        st = ae_err_set(err, AE_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
        goto fail;
    }
    if (sb.st_size < HEADER_BYTES + 4) {
        st = ae_err_set(err, AE_ERR_FORMAT, "%s: too short for an aelab checkpoint (%lld bytes)",
                        path, (long long)sb.st_size);
        goto fail;
    }
    size_t got = 0;
    while (got < HEADER_BYTES) {
        ssize_t r = read(fd, hb + got, HEADER_BYTES - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            st = ae_err_set(err, AE_ERR_IO, "cannot read %s: %s", path, r < 0 ? strerror(errno) : "short read");
            goto fail;
        }
        got += (size_t)r;
    }
    if (memcmp(hb, MAGIC, 8) != 0) {
        st = ae_err_set(err, AE_ERR_FORMAT, "%s: not an aelab checkpoint (bad magic)", path);
        goto fail;
    }
    decode_header(hb, h);
    if (h->version != VERSION) {
        st = ae_err_set(err, AE_ERR_FORMAT, "%s: checkpoint version %u, this build reads %u", path,
                        h->version, VERSION);
        goto fail;
    }
    if (h->kind != KIND_WEIGHTS && h->kind != KIND_FULL) {
        st = ae_err_set(err, AE_ERR_FORMAT, "%s: unknown checkpoint kind %u", path, h->kind);
        goto fail;
    }
    struct ae_err cerr;
    if (ae_config_check(&h->cfg, &cerr) != AE_OK) {
        st = ae_err_set(err, AE_ERR_FORMAT, "%s: stored config is invalid: %s", path, cerr.msg);
        goto fail;
    }
    struct ae_model plan;
    if (ae_model_plan(&plan, &h->cfg, &cerr) != AE_OK || plan.n_params != h->n_params) {
        st = ae_err_set(err, AE_ERR_FORMAT, "%s: parameter count %lld does not fit its model", path,
                        (long long)h->n_params);
        goto fail;
    }
    if (h->n_history < 0 || h->n_history > 100000000 || h->epoch < 0 || h->batch_pos < 0 ||
        (h->kind == KIND_FULL && h->n_history != h->epoch)) {
        st = ae_err_set(err, AE_ERR_FORMAT, "%s: bad epoch counts in the header", path);
        goto fail;
    }
    uint64_t want = expected_bytes(h);
    if (h->file_bytes != want || (uint64_t)sb.st_size != want) {
        st = ae_err_set(err, AE_ERR_FORMAT, "%s: file is %lld bytes, its header says %llu (truncated "
                        "or corrupt)", path, (long long)sb.st_size, (unsigned long long)want);
        goto fail;
    }
    *fd_out = fd;
    return AE_OK;
fail:
    close(fd);
    return st;
}

/* Read the rest of an opened file and check the CRC; *body (ae_free) holds
 * the bytes after the header, CRC excluded. */
static enum ae_status read_body(int fd, const char *path, const struct header *h, uint8_t **body,
                                struct ae_err *err)
{
    size_t n = (size_t)h->file_bytes - HEADER_BYTES;
    uint8_t *buf = ae_malloc(n);
    *body = NULL;
    if (!buf) return ae_err_set(err, AE_ERR_NOMEM, "out of memory reading %s", path);
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            ae_free(buf);
            return ae_err_set(err, AE_ERR_IO, "cannot read %s: %s", path, r < 0 ? strerror(errno) : "short read");
        }
        got += (size_t)r;
    }
    /* CRC over header + body (minus the stored CRC). */
    uint8_t hb[HEADER_BYTES];
    if (pread(fd, hb, HEADER_BYTES, 0) != HEADER_BYTES) {
        ae_free(buf);
        return ae_err_set(err, AE_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    }
    uLong crc = crc32(0L, hb, HEADER_BYTES);
    crc = crc32(crc, buf, (uInt)(n - 4));
    if ((uint32_t)crc != get_u32(buf + n - 4)) {
        ae_free(buf);
        return ae_err_set(err, AE_ERR_FORMAT, "%s: checksum mismatch (file is corrupt)", path);
    }
    *body = buf;
    return AE_OK;
}

enum ae_status ae_checkpoint_read_config(const char *path, struct ae_config *cfg, int32_t *epoch,
                                         struct ae_err *err)
{
    struct header h;
    int fd;
    enum ae_status st = open_checked(path, &h, &fd, err);
    if (st != AE_OK) return st;
    close(fd);
    if (cfg) *cfg = h.cfg;
    if (epoch) *epoch = h.epoch;
    return AE_OK;
}

enum ae_status ae_model_load(const char *path, struct ae_model **out, struct ae_err *err)
{
    struct header h;
    int fd = -1;
    uint8_t *body = NULL;
    struct ae_model *m = NULL;
    if (!out) return ae_err_set(err, AE_ERR_ARG, "ae_model_load: out is NULL");
    *out = NULL;
    enum ae_status st = open_checked(path, &h, &fd, err);
    if (st != AE_OK) return st;
    st = read_body(fd, path, &h, &body, err);
    if (st != AE_OK) goto fail;
    st = ae_model_alloc(&h.cfg, &m, err);
    if (st != AE_OK) goto fail;
    get_floats(m->params, body, h.n_params);
    *out = m;
    m = NULL;
fail:
    ae_model_free(m);
    ae_free(body);
    if (fd >= 0) close(fd);
    return st;
}

/* Settings that change the maths must match; epochs and threads may differ
 * (a resumed job may train longer, or on another machine). */
static bool same_maths(const struct ae_config *a, const struct ae_config *b)
{
    return a->model == b->model && a->batch_size == b->batch_size &&
           (a->model > AE_MODEL_SPARSE || a->encoding_dim == b->encoding_dim) &&
           (a->model != AE_MODEL_VAE || a->latent_dim == b->latent_dim) &&
           (a->model != AE_MODEL_SPARSE || a->l1 == b->l1) &&
           (a->model != AE_MODEL_DENOISE || a->noise_factor == b->noise_factor) &&
           a->learning_rate == b->learning_rate && a->seed == b->seed &&
           a->train_size == b->train_size && a->test_size == b->test_size;
}

enum ae_status ae_trainer_load(struct ae_trainer *t, const char *path, struct ae_err *err)
{
    struct header h;
    int fd = -1;
    uint8_t *body = NULL;
    if (!t) return ae_err_set(err, AE_ERR_ARG, "ae_trainer_load: trainer is NULL");
    enum ae_status st = open_checked(path, &h, &fd, err);
    if (st != AE_OK) return st;
    if (h.kind != KIND_FULL) {
        st = ae_err_set(err, AE_ERR_MISMATCH, "%s is a weights-only file, not a training checkpoint",
                        path);
        goto fail;
    }
    if (!same_maths(&h.cfg, &t->cfg)) {
        st = ae_err_set(err, AE_ERR_MISMATCH, "%s was written for a different configuration "
                        "(model %s, batch_size %d, seed %llu)", path,
                        ae_model_name(h.cfg.model), h.cfg.batch_size, (unsigned long long)h.cfg.seed);
        goto fail;
    }
    if (h.n_train != t->n_train || h.n_test != t->n_test) {
        st = ae_err_set(err, AE_ERR_MISMATCH, "%s was trained on %d/%d images, this data set gives "
                        "%d/%d", path, h.n_train, h.n_test, t->n_train, t->n_test);
        goto fail;
    }
    int32_t n_batches = (t->n_train + t->cfg.batch_size - 1) / t->cfg.batch_size;
    if (h.batch_pos >= n_batches) {
        st = ae_err_set(err, AE_ERR_FORMAT, "%s: batch position %d out of range", path, h.batch_pos);
        goto fail;
    }
    st = read_body(fd, path, &h, &body, err);
    if (st != AE_OK) goto fail;
    st = ae_trainer_history_reserve(t, h.n_history + 1, err);
    if (st != AE_OK) goto fail;

    int64_t P = h.n_params;
    const uint8_t *p = body;
    get_floats(t->model->params, p, P);
    p += 4 * P;
    get_floats(t->adam_m, p, P);
    p += 4 * P;
    get_floats(t->adam_v, p, P);
    p += 4 * P;
    for (int32_t i = 0; i < h.n_history; i++) {
        struct ae_epoch_stats *s = &t->history[i];
        s->epoch = (int32_t)get_u32(p);
        double *d[8] = {&s->loss, &s->val_loss, &s->reconstruction_loss, &s->kl_loss,
                        &s->val_reconstruction_loss, &s->val_kl_loss, &s->train_seconds,
                        &s->val_seconds};
        for (int k = 0; k < 8; k++) *d[k] = get_f64(p + 8 + 8 * k);
        p += HISTORY_BYTES;
    }
    t->epoch = h.epoch;
    t->batch_pos = h.batch_pos;
    t->step = h.step;
    memcpy(t->rng_epoch.s, h.rng, sizeof h.rng);
    t->acc_loss = h.acc_loss;
    t->acc_rec = h.acc_rec;
    t->acc_kl = h.acc_kl;
    t->acc_samples = h.acc_samples;
fail:
    ae_free(body);
    if (fd >= 0) close(fd);
    return st;
}
