/*
 * ae_trainer.c - the training loop: shuffled minibatches, data-parallel
 * forward/backward over the trainer's threads, Adam, validation, hooks.
 *
 * Owns the trainer object and its arenas, the epoch loop and the progress
 * bookkeeping (including a stop in the middle of an epoch).  Does not own
 * the file format (ae_ckpt.c) or any layer maths (ae_net.c, ae_kernels.h).
 *
 * Design: a minibatch is cut into a fixed number of chunks that depends
 * only on its size (dense: about 128 rows each, two at least from 64 rows;
 * conv: whole blocks of 16
 * images), each with its own gradient buffer.  The trainer's threads take
 * chunks from an atomic counter, so a thread that the OS preempts (several
 * jobs on two cores) delays the batch by at most one chunk instead of
 * stalling the others.  After a barrier, ranges of parameters are taken
 * the same way: each sums the chunk buffers in chunk order and applies
 * Adam.  The arithmetic therefore does not depend on which thread did what,
 * nor on the thread count: the same seed gives the same bits with 1 or 8
 * threads.  Everything is allocated in ae_trainer_new; an epoch allocates
 * nothing.
 */
#include <math.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "ae_kernels.h"
#include "ae_trainer.h"

#define L AE_LANES

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define MAX_CHUNKS 16
#define DENSE_CHUNK_ROWS 128
#define PARAM_RANGE 4096 /* floats per Adam work item (a multiple of 16) */

/* Chunks of a minibatch of n images: depends only on n and the model.
 * Dense: about 128 rows each (sgemm is ~7% faster per epoch than with 64),
 * but at least two once n >= 64 so two threads always have work (the vae's
 * batch is 100). */
static int32_t n_chunks(const struct ae_model *m, int32_t n)
{
    int32_t units;
    if (m->blocked) {
        units = (n + L - 1) / L;
    } else {
        units = (n + DENSE_CHUNK_ROWS - 1) / DENSE_CHUNK_ROWS;
        if (n >= 64 && units < 2) units = 2;
    }
    if (units < 1) units = 1;
    return units < MAX_CHUNKS ? units : MAX_CHUNKS;
}

/* Chunk c of k of a minibatch of n images: [*k0, *k0 + *kn).  Conv models
 * cut on block boundaries. */
static void chunk_of(const struct ae_model *m, int32_t n, int32_t k, int32_t c, int32_t *k0, int32_t *kn)
{
    int32_t unit = m->blocked ? L : 1;
    int32_t units = (n + unit - 1) / unit;
    int32_t a = (int32_t)((int64_t)units * c / k) * unit, b = (int32_t)((int64_t)units * (c + 1) / k) * unit;
    if (a > n) a = n;
    if (b > n) b = n;
    *k0 = a;
    *kn = b - a;
}

/* Most images in one chunk of any minibatch of n <= batch images (the last
 * minibatch of an epoch is smaller), found by trying every n. */
static int32_t chunk_cap(const struct ae_model *m, int32_t batch)
{
    int32_t cap = 1;
    for (int32_t n = 1; n <= batch; n++) {
        int32_t k = n_chunks(m, n);
        for (int32_t c = 0; c < k; c++) {
            int32_t k0, kn;
            chunk_of(m, n, k, c, &k0, &kn);
            if (kn > cap) cap = kn;
        }
    }
    return m->blocked ? L : cap;
}

void ae_trainer_free(struct ae_trainer *t)
{
    if (!t) return;
    ae_team_free(t->team);
    ae_model_free(t->model);
    ae_free(t->moments);
    ae_free(t->grads);
    ae_free(t->work_arena);
    ae_free(t->works);
    ae_free(t->perm);
    ae_free(t->history);
    ae_free(t);
}

enum ae_status ae_trainer_history_reserve(struct ae_trainer *t, int32_t n, struct ae_err *err)
{
    if (n <= t->history_cap) return AE_OK;
    int32_t cap = t->history_cap ? t->history_cap : 16;
    while (cap < n) cap *= 2;
    struct ae_epoch_stats *h = ae_calloc((size_t)cap, sizeof *h);
    if (!h) return ae_err_set(err, AE_ERR_NOMEM, "out of memory for %d epochs of history", cap);
    if (t->history) memcpy(h, t->history, sizeof *h * (size_t)t->epoch);
    ae_free(t->history);
    t->history = h;
    t->history_cap = cap;
    return AE_OK;
}

enum ae_status ae_trainer_new(const struct ae_config *cfg, const struct ae_dataset *ds,
                              struct ae_trainer **out, struct ae_err *err)
{
    struct ae_trainer *t = NULL;
    enum ae_status st;
    if (!out) return ae_err_set(err, AE_ERR_ARG, "ae_trainer_new: out is NULL");
    *out = NULL;
    if (!cfg || !ds) return ae_err_set(err, AE_ERR_ARG, "ae_trainer_new: config and data set are required");
    st = ae_config_check(cfg, err);
    if (st != AE_OK) return st;
    if (ds->n_train < 1 || ds->n_test < 1 || !ds->train_images || !ds->test_images)
        return ae_err_set(err, AE_ERR_ARG, "data set has no training or no test images");
    if (cfg->train_size > ds->n_train)
        return ae_err_set(err, AE_ERR_ARG, "train_size %d is more than the %d training images",
                          cfg->train_size, ds->n_train);
    if (cfg->test_size > ds->n_test)
        return ae_err_set(err, AE_ERR_ARG, "test_size %d is more than the %d test images",
                          cfg->test_size, ds->n_test);

    ae_dense_setup();
    t = ae_calloc(1, sizeof *t);
    if (!t) return ae_err_set(err, AE_ERR_NOMEM, "out of memory allocating a trainer");
    t->cfg = *cfg;
    t->ds = ds;
    t->nth = cfg->threads;
    t->n_train = cfg->train_size ? cfg->train_size : ds->n_train;
    t->n_test = cfg->test_size ? cfg->test_size : ds->n_test;

    st = ae_model_new(cfg, &t->model, err);
    if (st != AE_OK) goto fail;
    int64_t P = t->model->n_params;
    size_t pbytes = sizeof(float) * (size_t)((P + 15) & ~(int64_t)15);

    t->max_chunks = n_chunks(t->model, cfg->batch_size);
    t->moments = ae_aligned_alloc(2 * pbytes);
    t->grads = ae_aligned_alloc((size_t)t->max_chunks * pbytes);
    t->works = ae_calloc((size_t)t->nth, sizeof *t->works);
    t->perm = ae_malloc(sizeof(int32_t) * (size_t)t->n_train);
    if (!t->moments || !t->grads || !t->works || !t->perm) {
        st = ae_err_set(err, AE_ERR_NOMEM, "out of memory for the optimiser state of %lld parameters",
                        (long long)P);
        goto fail;
    }
    memset(t->moments, 0, 2 * pbytes);
    t->adam_m = t->moments;
    t->adam_v = t->moments + pbytes / sizeof(float);

    int32_t cap = chunk_cap(t->model, cfg->batch_size);
    int64_t wfloats = (ae_work_floats(t->model, cap) + 15) & ~(int64_t)15;
    t->work_arena = ae_aligned_alloc(sizeof(float) * (size_t)wfloats * (size_t)t->nth);
    if (!t->work_arena) {
        st = ae_err_set(err, AE_ERR_NOMEM, "out of memory for activations (%lld bytes)",
                        (long long)(sizeof(float) * (size_t)wfloats * (size_t)t->nth));
        goto fail;
    }
    for (int i = 0; i < t->nth; i++)
        ae_work_init(&t->works[i], t->model, cap, t->work_arena + (size_t)wfloats * (size_t)i);

    st = ae_trainer_history_reserve(t, cfg->epochs, err);
    if (st != AE_OK) goto fail;
    ae_rng_seed(&t->rng_epoch, cfg->seed, AE_RNG_SHUFFLE);
    st = ae_team_new(t->nth, &t->team, err);
    if (st != AE_OK) goto fail;
    *out = t;
    return AE_OK;
fail:
    ae_trainer_free(t);
    return st;
}

int32_t ae_trainer_epoch(const struct ae_trainer *t) { return t ? t->epoch : 0; }

const struct ae_model *ae_trainer_model(const struct ae_trainer *t) { return t ? t->model : NULL; }

const struct ae_epoch_stats *ae_trainer_history(const struct ae_trainer *t, int32_t *n)
{
    if (n) *n = t ? t->epoch : 0;
    return t ? t->history : NULL;
}

/* ---- one parallel minibatch ------------------------------------------- */

struct batch_job {
    struct ae_trainer *t;
    const struct ae_src *src; /* the whole minibatch */
    struct ae_net_ctx ctx;    /* shared settings; dparams per chunk below */
    bool train;
    struct ae_adam_hp hp;
    int32_t k;                /* chunks in this minibatch */
    atomic_int next_chunk, next_range;
    atomic_int status;        /* AE_OK, or what a chunk's ae_net_run returned */
    struct ae_loss_parts parts[MAX_CHUNKS];
};

/* The minibatch's loss parts, summed in chunk order. */
static struct ae_loss_parts parts_sum(const struct batch_job *job)
{
    struct ae_loss_parts sum = {0, 0, 0};
    for (int32_t c = 0; c < job->k; c++) {
        sum.bce += job->parts[c].bce;
        sum.reg += job->parts[c].reg;
        sum.kl += job->parts[c].kl;
    }
    return sum;
}

static void batch_thread(void *arg, int ith, int nth)
{
    (void)nth;
    struct batch_job *job = arg;
    struct ae_trainer *t = job->t;
    const struct ae_model *m = t->model;
    int64_t P = m->n_params;
    size_t stride = (size_t)((P + 15) & ~(int64_t)15);

    for (;;) {
        int32_t c = atomic_fetch_add_explicit(&job->next_chunk, 1, memory_order_relaxed);
        if (c >= job->k) break;
        struct ae_src s = *job->src;
        int32_t k0, kn;
        chunk_of(m, s.n, job->k, c, &k0, &kn);
        if (s.idx)
            s.idx += k0;
        else
            s.first += k0;
        s.n = kn;
        struct ae_net_ctx ctx = job->ctx;
        float *cgrad = t->grads + stride * (size_t)c;
        ctx.dparams = job->train ? cgrad : NULL;
        memset(&job->parts[c], 0, sizeof job->parts[c]);
        enum ae_status st = ae_net_run(&t->works[ith], &ctx, &s, &job->parts[c]); /* overwrites cgrad */
        if (st != AE_OK) atomic_store(&job->status, (int)st);
    }
    if (!job->train) return;

    ae_team_barrier(t->team);
    /* A chunk that did not run leaves no gradient to apply. */
    if (atomic_load(&job->status) != AE_OK) return;
    /* A non-finite loss means a non-finite gradient somewhere: leave the
     * weights as they were (the caller gets AE_ERR_NUMERIC).  Every thread
     * sums the same parts in the same order, so all agree. */
    struct ae_loss_parts sum = parts_sum(job);
    if (!isfinite(ae_net_batch_loss(m, &sum, job->src->n))) return;
    /* Adam, one range of parameters at a time, on the chunk gradients
     * summed in chunk order (inside the same pass). */
    int64_t n_ranges = (P + PARAM_RANGE - 1) / PARAM_RANGE;
    for (;;) {
        int64_t r = atomic_fetch_add_explicit(&job->next_range, 1, memory_order_relaxed);
        if (r >= n_ranges) break;
        int64_t a = r * PARAM_RANGE, b = a + PARAM_RANGE < P ? a + PARAM_RANGE : P;
        const float *g[MAX_CHUNKS];
        for (int32_t c = 0; c < job->k; c++) g[c] = t->grads + stride * (size_t)c + a;
        ae_adam_update_sum(m->params + a, t->adam_m + a, t->adam_v + a, g, job->k, b - a, &job->hp);
    }
}

/* Run one minibatch; *p gets its loss parts summed in chunk order.  An
 * error names the layer the executor refused (the weights are unchanged). */
static enum ae_status run_batch(struct ae_trainer *t, struct batch_job *job, struct ae_loss_parts *p,
                                struct ae_err *err)
{
    job->k = n_chunks(t->model, job->src->n);
    atomic_store(&job->next_chunk, 0);
    atomic_store(&job->next_range, 0);
    atomic_store(&job->status, (int)AE_OK);
    ae_team_run(t->team, batch_thread, job);
    *p = parts_sum(job);
    if (atomic_load(&job->status) == AE_OK) return AE_OK;
    enum ae_status st = ae_net_check(t->model, err);
    return st != AE_OK ? st : ae_err_set(err, AE_ERR_ARG, "the executor refused a layer");
}

static void job_init(struct batch_job *job, struct ae_trainer *t, bool train)
{
    memset(job, 0, sizeof *job);
    atomic_init(&job->next_chunk, 0);
    atomic_init(&job->next_range, 0);
    atomic_init(&job->status, (int)AE_OK);
    job->t = t;
    job->train = train;
    job->ctx.params = t->model->params;
    job->ctx.want_loss = true;
    job->ctx.noisy = t->cfg.model == AE_MODEL_DENOISE;
    job->ctx.noise_key = ae_rng_key(t->cfg.seed, train ? AE_RNG_NOISE_TRAIN : AE_RNG_NOISE_TEST);
    job->ctx.sample = true;
}

/* Keras' validation: minibatches of batch_size over the test images, the
 * mean of the batch losses weighted by batch size. */
static enum ae_status validate(struct ae_trainer *t, struct ae_epoch_stats *st, struct ae_err *err)
{
    struct batch_job job;
    job_init(&job, t, false);
    /* vae: fresh eps for every validation pass, as Keras' sampling layer. */
    job.ctx.eps_key = ae_rng_at(ae_rng_key(t->cfg.seed, AE_RNG_EPS_TEST), (uint64_t)t->epoch);
    double acc = 0, rec = 0, kl = 0;
    int32_t B = t->cfg.batch_size;
    for (int32_t k = 0; k < t->n_test; k += B) {
        int32_t n = t->n_test - k < B ? t->n_test - k : B;
        struct ae_src src = {t->ds->test_images, NULL, k, n};
        job.src = &src;
        job.ctx.n_total = n;
        struct ae_loss_parts p;
        enum ae_status rs = run_batch(t, &job, &p, err);
        if (rs != AE_OK) return rs;
        double loss = ae_net_batch_loss(t->model, &p, n);
        acc += loss * n;
        rec += p.bce;
        kl += p.kl;
    }
    st->val_loss = acc / t->n_test;
    if (t->cfg.model == AE_MODEL_VAE) {
        st->val_reconstruction_loss = rec / t->n_test;
        st->val_kl_loss = kl / t->n_test;
    }
    if (!isfinite(st->val_loss))
        return ae_err_set(err, AE_ERR_NUMERIC, "validation loss is not finite (%g) after epoch %d",
                          st->val_loss, t->epoch + 1);
    return AE_OK;
}

enum ae_status ae_trainer_run_epoch(struct ae_trainer *t, const struct ae_hooks *hooks,
                                    struct ae_epoch_stats *out, struct ae_err *err)
{
    if (!t) return ae_err_set(err, AE_ERR_ARG, "ae_trainer_run_epoch: trainer is NULL");
    enum ae_status st = ae_trainer_history_reserve(t, t->epoch + 1, err);
    if (st != AE_OK) return st;

    int32_t B = t->cfg.batch_size, N = t->n_train;
    int32_t n_batches = (N + B - 1) / B;
    double t0 = now_seconds();

    /* The permutation is a function of the epoch-start RNG state, so a
     * resumed epoch regenerates it exactly. */
    struct ae_rng rng = t->rng_epoch;
    for (int32_t i = 0; i < N; i++) t->perm[i] = i;
    ae_rng_shuffle(&rng, t->perm, N);
    if (t->batch_pos == 0) {
        t->acc_loss = t->acc_rec = t->acc_kl = 0;
        t->acc_samples = 0;
    }

    struct batch_job job;
    job_init(&job, t, true);
    job.ctx.eps_key = ae_rng_at(ae_rng_key(t->cfg.seed, AE_RNG_EPS_TRAIN), (uint64_t)t->epoch);
    for (int32_t b = t->batch_pos; b < n_batches; b++) {
        if (hooks && hooks->should_stop && hooks->should_stop(hooks->user))
            return ae_err_set(err, AE_ERR_CANCELLED, "stopped in epoch %d after %d of %d batches",
                              t->epoch + 1, b, n_batches);
        int32_t k = b * B;
        int32_t n = N - k < B ? N - k : B;
        struct ae_src src = {t->ds->train_images, t->perm + k, 0, n};
        job.src = &src;
        job.ctx.n_total = n;
        job.hp = ae_adam_hparams(t->cfg.learning_rate, t->step + 1);
        struct ae_loss_parts p;
        st = run_batch(t, &job, &p, err);
        if (st != AE_OK) return st;
        double loss = ae_net_batch_loss(t->model, &p, n);
        if (!isfinite(loss))
            return ae_err_set(err, AE_ERR_NUMERIC, "training loss is not finite (%g) in epoch %d, "
                              "batch %d", loss, t->epoch + 1, b + 1);
        t->step++;
        t->batch_pos = b + 1;
        t->acc_loss += loss * n;
        t->acc_rec += p.bce;
        t->acc_kl += p.kl;
        t->acc_samples += n;
        if (hooks && hooks->on_batch) {
            struct ae_progress pr = {t->epoch + 1, t->cfg.epochs, b + 1, n_batches, t->acc_samples,
                                     t->acc_loss / (double)t->acc_samples};
            hooks->on_batch(hooks->user, &pr);
        }
    }
    double t1 = now_seconds();

    struct ae_epoch_stats es;
    memset(&es, 0, sizeof es);
    es.epoch = t->epoch + 1;
    es.loss = t->acc_loss / (double)t->acc_samples;
    if (t->cfg.model == AE_MODEL_VAE) {
        es.reconstruction_loss = t->acc_rec / (double)t->acc_samples;
        es.kl_loss = t->acc_kl / (double)t->acc_samples;
    }
    st = validate(t, &es, err);
    if (st != AE_OK) return st;
    es.train_seconds = t1 - t0;
    es.val_seconds = now_seconds() - t1;

    t->rng_epoch = rng;
    t->batch_pos = 0;
    t->history[t->epoch] = es;
    t->epoch++;
    if (out) *out = es;
    return AE_OK;
}
