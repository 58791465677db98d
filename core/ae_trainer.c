/*
 * ae_trainer.c - the training loop: shuffled minibatches, data-parallel
 * forward/backward over the trainer's threads, Adam, validation, hooks.
 *
 * Owns the trainer object and its arenas, the epoch loop and the progress
 * bookkeeping (including a stop in the middle of an epoch).  Does not own
 * the file format (ae_ckpt.c) or any layer maths (ae_net.c, ae_ops.h).
 *
 * Design: a minibatch is split into nth contiguous slices (conv models: in
 * whole blocks of 16); thread ith runs its slice into its own gradient
 * buffer; after a barrier each thread sums the nth buffers in thread order
 * over its own range of parameters and applies Adam there.  The split
 * depends only on the batch and nth, so a given seed and thread count give
 * the same bits every time.  Everything is allocated in ae_trainer_new;
 * an epoch allocates nothing.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "ae_ops.h"
#include "ae_trainer.h"

#define L AE_LANES

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Images a thread handles at most in one minibatch of n. */
static int32_t slice_cap(const struct ae_model *m, int32_t batch, int nth)
{
    if (m->blocked) return L;
    return (batch + nth - 1) / nth;
}

/* Thread ith's share [*k0, *k0 + *n) of a minibatch of n images. */
static void slice_of(const struct ae_model *m, int32_t n, int ith, int nth, int32_t *k0, int32_t *kn)
{
    if (m->blocked) {
        int32_t blocks = (n + L - 1) / L;
        int32_t b0 = (int32_t)((int64_t)blocks * ith / nth);
        int32_t b1 = (int32_t)((int64_t)blocks * (ith + 1) / nth);
        int32_t a = b0 * L, b = b1 * L;
        if (a > n) a = n;
        if (b > n) b = n;
        *k0 = a;
        *kn = b - a;
    } else {
        int32_t a = (int32_t)((int64_t)n * ith / nth);
        int32_t b = (int32_t)((int64_t)n * (ith + 1) / nth);
        *k0 = a;
        *kn = b - a;
    }
}

/* Parameter range of thread ith for the reduction and Adam, in multiples
 * of 16 floats (64-byte lines) so threads never share a line. */
static void param_range(int64_t n_params, int ith, int nth, int64_t *a, int64_t *b)
{
    int64_t lines = (n_params + 15) / 16;
    *a = lines * ith / nth * 16;
    *b = lines * (ith + 1) / nth * 16;
    if (*a > n_params) *a = n_params;
    if (*b > n_params) *b = n_params;
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

    t->moments = ae_aligned_alloc(2 * pbytes);
    t->grads = ae_aligned_alloc((size_t)t->nth * pbytes);
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

    int32_t cap = slice_cap(t->model, cfg->batch_size, t->nth);
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
    struct ae_net_ctx ctx;    /* shared settings; params/dparams per thread below */
    bool train;
    struct ae_adam_hp hp;
    struct ae_loss_parts parts[256];
};

static void batch_thread(void *arg, int ith, int nth)
{
    struct batch_job *job = arg;
    struct ae_trainer *t = job->t;
    const struct ae_model *m = t->model;
    int64_t P = m->n_params;
    size_t stride = (size_t)((P + 15) & ~(int64_t)15);
    float *mygrad = t->grads + stride * (size_t)ith;

    struct ae_src s = *job->src;
    int32_t k0, kn;
    slice_of(m, s.n, ith, nth, &k0, &kn);
    if (s.idx)
        s.idx += k0;
    else
        s.first += k0;
    s.n = kn;

    struct ae_net_ctx ctx = job->ctx;
    ctx.dparams = job->train ? mygrad : NULL;
    memset(&job->parts[ith], 0, sizeof job->parts[ith]);
    if (job->train) memset(mygrad, 0, sizeof(float) * (size_t)P);
    if (kn > 0) ae_net_run(&t->works[ith], &ctx, &s, &job->parts[ith]);
    if (!job->train) return;

    ae_team_barrier(t->team);
    int64_t a, b;
    param_range(P, ith, nth, &a, &b);
    if (b <= a) return;
    /* Sum the per-thread gradients in thread order into thread 0's buffer. */
    float *g0 = t->grads;
    for (int k = 1; k < nth; k++) {
        const float *gk = t->grads + stride * (size_t)k;
        for (int64_t i = a; i < b; i++) g0[i] += gk[i];
    }
    ae_adam_update(m->params + a, t->adam_m + a, t->adam_v + a, g0 + a, b - a, &job->hp);
}

/* Run one minibatch; returns its parts summed in thread order. */
static struct ae_loss_parts run_batch(struct ae_trainer *t, struct batch_job *job)
{
    ae_team_run(t->team, batch_thread, job);
    struct ae_loss_parts sum = {0, 0, 0};
    for (int i = 0; i < t->nth; i++) {
        sum.bce += job->parts[i].bce;
        sum.reg += job->parts[i].reg;
        sum.kl += job->parts[i].kl;
    }
    return sum;
}

static void job_init(struct batch_job *job, struct ae_trainer *t, bool train)
{
    memset(job, 0, sizeof *job);
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
        struct ae_loss_parts p = run_batch(t, &job);
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
        struct ae_loss_parts p = run_batch(t, &job);
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
