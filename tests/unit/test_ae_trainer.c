/* test_ae_trainer.c - the trainer: determinism, resume after k epochs,
 * suspend mid-epoch and resume, hooks and cancel, reconstructions from the
 * job's own weights (val_loss recomputed from them), and for every model
 * the loss falling on a 2,000-image subset of real MNIST. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "ae_testdata.h"
#include "core/ae_model.h"

static struct ae_config small_cfg(enum ae_model_kind k, int threads)
{
    struct ae_config c;
    ae_config_defaults(&c, k);
    c.threads = threads;
    c.train_size = 300;
    c.test_size = 100;
    c.batch_size = k == AE_MODEL_VAE ? 50 : 64;
    c.seed = 11;
    return c;
}

/* Bitwise comparison of two trainers' parameters (tests may read the
 * internal model struct). */
static int same_params(const struct ae_trainer *a, const struct ae_trainer *b)
{
    const struct ae_model *ma = ae_trainer_model(a), *mb = ae_trainer_model(b);
    return ma->n_params == mb->n_params &&
           memcmp(ma->params, mb->params, sizeof(float) * (size_t)ma->n_params) == 0;
}

/* Reconstructions of the first 20 test images (bitwise comparison of
 * models). */
static int same_outputs(const struct ae_trainer *a, const struct ae_trainer *b,
                        const struct ae_dataset *ds)
{
    float ra[20 * 784], rb[20 * 784];
    if (ae_model_reconstruct(ae_trainer_model(a), ds, 20, NULL, ra, NULL) != AE_OK) return 0;
    if (ae_model_reconstruct(ae_trainer_model(b), ds, 20, NULL, rb, NULL) != AE_OK) return 0;
    return memcmp(ra, rb, sizeof ra) == 0;
}

static void test_determinism(const struct ae_dataset *ds, enum ae_model_kind k, int threads)
{
    struct ae_config c = small_cfg(k, threads);
    struct ae_trainer *a = NULL, *b = NULL;
    CHECK_EQ_INT(ae_trainer_new(&c, ds, &a, NULL), AE_OK);
    CHECK_EQ_INT(ae_trainer_new(&c, ds, &b, NULL), AE_OK);
    if (!a || !b) return;
    for (int e = 0; e < 2; e++) {
        struct ae_epoch_stats sa, sb;
        CHECK_EQ_INT(ae_trainer_run_epoch(a, NULL, &sa, NULL), AE_OK);
        CHECK_EQ_INT(ae_trainer_run_epoch(b, NULL, &sb, NULL), AE_OK);
        CHECK_MSG(sa.loss == sb.loss && sa.val_loss == sb.val_loss,
                  "%s/%d threads: epoch %d losses differ: %.17g/%.17g vs %.17g/%.17g",
                  ae_model_name(k), threads, e + 1, sa.loss, sa.val_loss, sb.loss, sb.val_loss);
    }
    CHECK_MSG(same_outputs(a, b, ds), "%s/%d threads: outputs differ", ae_model_name(k), threads);
    CHECK(same_params(a, b));
    /* A different seed gives a different model. */
    struct ae_config c2 = c;
    c2.seed = 12;
    struct ae_trainer *d = NULL;
    CHECK_EQ_INT(ae_trainer_new(&c2, ds, &d, NULL), AE_OK);
    struct ae_epoch_stats sd;
    CHECK_EQ_INT(ae_trainer_run_epoch(d, NULL, &sd, NULL), AE_OK);
    CHECK(!same_outputs(a, d, ds));
    ae_trainer_free(d);
    ae_trainer_free(a);
    ae_trainer_free(b);
}

/* The chunking of a minibatch depends only on its size, so 1, 2 and 3
 * threads give the same bits.  Batch 65 over 129 images also covers a last
 * batch (64) that is one chunk larger than the full batch's chunks. */
static void test_thread_counts(const struct ae_dataset *ds, enum ae_model_kind k)
{
    struct ae_trainer *t[3] = {NULL, NULL, NULL};
    struct ae_epoch_stats s[3];
    for (int i = 0; i < 3; i++) {
        struct ae_config c = small_cfg(k, i + 1);
        c.train_size = 129;
        c.batch_size = 65;
        CHECK_EQ_INT(ae_trainer_new(&c, ds, &t[i], NULL), AE_OK);
        if (!t[i]) return;
        CHECK_EQ_INT(ae_trainer_run_epoch(t[i], NULL, &s[i], NULL), AE_OK);
        CHECK_EQ_INT(ae_trainer_run_epoch(t[i], NULL, &s[i], NULL), AE_OK);
    }
    for (int i = 1; i < 3; i++) {
        CHECK_MSG(s[i].loss == s[0].loss && s[i].val_loss == s[0].val_loss,
                  "%s: %d threads %.17g/%.17g vs 1 thread %.17g/%.17g", ae_model_name(k), i + 1,
                  s[i].loss, s[i].val_loss, s[0].loss, s[0].val_loss);
        CHECK(same_params(t[0], t[i]));
    }
    for (int i = 0; i < 3; i++) ae_trainer_free(t[i]);
}

/* Train 3 epochs straight vs 1 epoch, checkpoint, new trainer (with
 * resume_threads threads), load, 2 more: identical losses and weights. */
static void test_resume(const struct ae_dataset *ds, enum ae_model_kind k, int threads,
                        int resume_threads)
{
    struct ae_config c = small_cfg(k, threads);
    struct ae_config cr = small_cfg(k, resume_threads);
    char path[] = "/tmp/aelab-resume-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    struct ae_trainer *a = NULL, *b = NULL, *r = NULL;
    struct ae_epoch_stats sa[3], sb[3];
    CHECK_EQ_INT(ae_trainer_new(&c, ds, &a, NULL), AE_OK);
    CHECK_EQ_INT(ae_trainer_new(&c, ds, &b, NULL), AE_OK);
    CHECK_EQ_INT(ae_trainer_new(&cr, ds, &r, NULL), AE_OK);
    if (!a || !b || !r) return;
    for (int e = 0; e < 3; e++) CHECK_EQ_INT(ae_trainer_run_epoch(a, NULL, &sa[e], NULL), AE_OK);
    CHECK_EQ_INT(ae_trainer_run_epoch(b, NULL, &sb[0], NULL), AE_OK);
    struct ae_err err;
    CHECK_EQ_INT(ae_trainer_save(b, path, &err), AE_OK);
    ae_trainer_free(b);
    CHECK_EQ_INT(ae_trainer_load(r, path, &err), AE_OK);
    CHECK_EQ_INT(ae_trainer_epoch(r), 1);
    int32_t nh = 0;
    const struct ae_epoch_stats *h = ae_trainer_history(r, &nh);
    CHECK_EQ_INT(nh, 1);
    CHECK(h && h[0].loss == sa[0].loss && h[0].val_loss == sa[0].val_loss);
    for (int e = 1; e < 3; e++) {
        CHECK_EQ_INT(ae_trainer_run_epoch(r, NULL, &sb[e], NULL), AE_OK);
        CHECK_MSG(sb[e].loss == sa[e].loss && sb[e].val_loss == sa[e].val_loss,
                  "%s: resumed epoch %d differs: %.17g vs %.17g", ae_model_name(k), e + 1, sb[e].loss,
                  sa[e].loss);
        CHECK_EQ_INT(sb[e].epoch, e + 1);
    }
    CHECK(same_outputs(a, r, ds));
    CHECK(same_params(a, r));
    ae_trainer_free(a);
    ae_trainer_free(r);
    unlink(path);
}

struct stopper {
    int stop_after; /* should_stop returns true when this many batches are done */
    int batches;
    int asked;
    int last_batch, last_n_batches;
    double last_loss;
};

static void on_batch(void *user, const struct ae_progress *p)
{
    struct stopper *s = user;
    s->batches++;
    s->last_batch = p->batch;
    s->last_n_batches = p->n_batches;
    s->last_loss = p->loss;
}

static bool should_stop(void *user)
{
    struct stopper *s = user;
    s->asked++;
    return s->stop_after >= 0 && s->batches >= s->stop_after;
}

/* Stop in the middle of epoch 2, save, load into a fresh trainer, finish:
 * the same as never stopping. */
static void test_suspend(const struct ae_dataset *ds, enum ae_model_kind k, int threads)
{
    struct ae_config c = small_cfg(k, threads);
    char path[] = "/tmp/aelab-suspend-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    struct ae_trainer *a = NULL, *b = NULL, *r = NULL;
    struct ae_epoch_stats sa[2], sb;
    CHECK_EQ_INT(ae_trainer_new(&c, ds, &a, NULL), AE_OK);
    CHECK_EQ_INT(ae_trainer_new(&c, ds, &b, NULL), AE_OK);
    CHECK_EQ_INT(ae_trainer_new(&c, ds, &r, NULL), AE_OK);
    if (!a || !b || !r) return;
    for (int e = 0; e < 2; e++) CHECK_EQ_INT(ae_trainer_run_epoch(a, NULL, &sa[e], NULL), AE_OK);

    struct stopper st = {-1, 0, 0, 0, 0, 0};
    struct ae_hooks hooks = {on_batch, should_stop, &st};
    CHECK_EQ_INT(ae_trainer_run_epoch(b, &hooks, &sb, NULL), AE_OK);
    int per_epoch = st.batches;
    CHECK_EQ_INT(per_epoch, (300 + c.batch_size - 1) / c.batch_size);
    CHECK_EQ_INT(st.last_batch, per_epoch);
    CHECK_NEAR(st.last_loss, sa[0].loss, 1e-12);
    st.batches = 0;
    st.stop_after = 2;
    struct ae_err err;
    CHECK_EQ_INT(ae_trainer_run_epoch(b, &hooks, &sb, &err), AE_ERR_CANCELLED);
    CHECK_EQ_INT(st.batches, 2); /* stopped within one batch of asking */
    CHECK_EQ_INT(ae_trainer_epoch(b), 1);
    CHECK_EQ_INT(ae_trainer_save(b, path, &err), AE_OK);
    ae_trainer_free(b);

    CHECK_EQ_INT(ae_trainer_load(r, path, &err), AE_OK);
    struct stopper st2 = {-1, 0, 0, 0, 0, 0};
    struct ae_hooks h2 = {on_batch, should_stop, &st2};
    CHECK_EQ_INT(ae_trainer_run_epoch(r, &h2, &sb, &err), AE_OK);
    CHECK_EQ_INT(st2.batches, per_epoch - 2);
    CHECK_EQ_INT(st2.last_batch, per_epoch);
    CHECK_MSG(sb.loss == sa[1].loss && sb.val_loss == sa[1].val_loss,
              "%s/%d: suspended epoch differs: %.17g/%.17g vs %.17g/%.17g", ae_model_name(k), threads,
              sb.loss, sb.val_loss, sa[1].loss, sa[1].val_loss);
    CHECK(same_outputs(a, r, ds));
    CHECK(same_params(a, r));
    ae_trainer_free(a);
    ae_trainer_free(r);
    unlink(path);
}

/* val_loss recomputed from ae_model_reconstruct: the reconstructions come
 * from the trainer's own weights, and for denoise from the same noisy
 * inputs validation used. */
static void test_reconstruct(const struct ae_dataset *ds, enum ae_model_kind k)
{
    struct ae_config c = small_cfg(k, 1);
    c.batch_size = 100; /* one validation batch: Keras' mean is then plain */
    struct ae_trainer *t = NULL;
    CHECK_EQ_INT(ae_trainer_new(&c, ds, &t, NULL), AE_OK);
    if (!t) return;
    struct ae_epoch_stats s;
    CHECK_EQ_INT(ae_trainer_run_epoch(t, NULL, &s, NULL), AE_OK);
    static float noisy[100 * 784], recon[100 * 784];
    CHECK_EQ_INT(ae_model_reconstruct(ae_trainer_model(t), ds, 100, noisy, recon, NULL), AE_OK);
    double sum = 0;
    int differs = 0, differs_range = 0;
    for (int i = 0; i < 100 * 784; i++) {
        float y = ds->test_images[i] / 255.f;
        double p = recon[i];
        p = p < 1e-7 ? 1e-7 : (p > 1 - 1e-7 ? 1 - 1e-7 : p);
        sum += -(y * log(p) + (1 - y) * log(1 - p));
        differs += noisy[i] != y;
        differs_range += !(recon[i] >= 0 && recon[i] <= 1);
    }
    CHECK_EQ_INT(differs_range, 0);
    /* (the vae's val_loss is 784 BCE + KL with sampled z; not comparable) */
    if (k != AE_MODEL_VAE) CHECK_REL(sum / (100 * 784), s.val_loss, 2e-4, 1e-6);
    if (k == AE_MODEL_DENOISE)
        CHECK(differs > 100 * 784 / 3);
    else
        CHECK_EQ_INT(differs, 0);
    /* Encode: code_dim values per image, finite. */
    int32_t dim = ae_model_code_dim(ae_trainer_model(t));
    float *codes = malloc(sizeof(float) * 10 * (size_t)dim);
    CHECK_EQ_INT(ae_model_encode(ae_trainer_model(t), ds, 10, codes, NULL), AE_OK);
    int finite = 1;
    for (int i = 0; i < 10 * dim; i++) finite &= isfinite(codes[i]);
    CHECK(finite);
    free(codes);
    CHECK_EQ_INT(ae_model_reconstruct(ae_trainer_model(t), ds, 0, NULL, recon, NULL), AE_ERR_ARG);
    CHECK_EQ_INT(ae_model_reconstruct(ae_trainer_model(t), ds, ds->n_test + 1, NULL, recon, NULL), AE_ERR_ARG);
    ae_trainer_free(t);
}

/* Two trainers training at the same time in two threads of one process
 * (as the daemon runs jobs) give the same bits as each alone. */
struct job {
    const struct ae_dataset *ds;
    enum ae_model_kind kind;
    struct ae_trainer *t;
    struct ae_epoch_stats s;
    enum ae_status st;
};

static void *job_main(void *p)
{
    struct job *j = p;
    struct ae_config c = small_cfg(j->kind, 2);
    j->st = ae_trainer_new(&c, j->ds, &j->t, NULL);
    for (int e = 0; e < 2 && j->st == AE_OK; e++) j->st = ae_trainer_run_epoch(j->t, NULL, &j->s, NULL);
    return NULL;
}

static void test_concurrent(const struct ae_dataset *ds)
{
    struct job alone[2] = {{ds, AE_MODEL_DEEP, NULL, {0}, AE_OK}, {ds, AE_MODEL_CONV, NULL, {0}, AE_OK}};
    struct job both[2] = {alone[0], alone[1]};
    job_main(&alone[0]);
    job_main(&alone[1]);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) CHECK_EQ_INT(pthread_create(&th[i], NULL, job_main, &both[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(alone[i].st, AE_OK);
        CHECK_EQ_INT(both[i].st, AE_OK);
        if (!alone[i].t || !both[i].t) continue;
        CHECK(alone[i].s.loss == both[i].s.loss && alone[i].s.val_loss == both[i].s.val_loss);
        CHECK(same_params(alone[i].t, both[i].t));
        ae_trainer_free(alone[i].t);
        ae_trainer_free(both[i].t);
    }
}

/* vae: decoding the encoded means gives the reconstructions (both use the
 * means), and decode refuses other models. */
static void test_vae_decode(const struct ae_dataset *ds)
{
    struct ae_config c = small_cfg(AE_MODEL_VAE, 1);
    struct ae_trainer *t = NULL;
    CHECK_EQ_INT(ae_trainer_new(&c, ds, &t, NULL), AE_OK);
    if (!t) return;
    struct ae_epoch_stats s;
    CHECK_EQ_INT(ae_trainer_run_epoch(t, NULL, &s, NULL), AE_OK);
    const struct ae_model *m = ae_trainer_model(t);
    enum { N = 70 };
    static float z[N * 2], dec[N * 784], rec[N * 784];
    CHECK_EQ_INT(ae_model_code_dim(m), 2);
    CHECK_EQ_INT(ae_model_encode(m, ds, N, z, NULL), AE_OK);
    CHECK_EQ_INT(ae_model_decode(m, z, N, dec, NULL), AE_OK);
    CHECK_EQ_INT(ae_model_reconstruct(m, ds, N, NULL, rec, NULL), AE_OK);
    CHECK(memcmp(dec, rec, sizeof dec) == 0);
    struct ae_err err;
    struct ae_trainer *o = NULL;
    struct ae_config c2 = small_cfg(AE_MODEL_SIMPLE, 1);
    CHECK_EQ_INT(ae_trainer_new(&c2, ds, &o, NULL), AE_OK);
    CHECK_EQ_INT(ae_model_decode(ae_trainer_model(o), z, 1, dec, &err), AE_ERR_ARG);
    CHECK(strstr(err.msg, "vae") != NULL);
    ae_trainer_free(o);
    ae_trainer_free(t);
}

/* A loss that blows up (vae at learning rate 1) stops the epoch with
 * AE_ERR_NUMERIC and leaves the weights finite: the failing batch's update
 * is not applied. */
static void test_numeric(const struct ae_dataset *ds)
{
    struct ae_config c = small_cfg(AE_MODEL_VAE, 2);
    c.learning_rate = 1.0;
    struct ae_trainer *t = NULL;
    CHECK_EQ_INT(ae_trainer_new(&c, ds, &t, NULL), AE_OK);
    if (!t) return;
    enum ae_status st = AE_OK;
    struct ae_err err;
    for (int e = 0; e < 20 && st == AE_OK; e++) {
        struct ae_epoch_stats s;
        st = ae_trainer_run_epoch(t, NULL, &s, &err);
    }
    CHECK_EQ_INT(st, AE_ERR_NUMERIC);
    CHECK(strstr(err.msg, "not finite") != NULL);
    const struct ae_model *m = ae_trainer_model(t);
    int64_t bad = 0;
    for (int64_t i = 0; i < m->n_params; i++) bad += !isfinite(m->params[i]);
    CHECK_EQ_INT(bad, 0);
    ae_trainer_free(t);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* Every model's loss falls clearly on 2,000 real MNIST images. */
static void test_loss_falls(const struct ae_dataset *mnist, enum ae_model_kind k)
{
    struct ae_config c;
    ae_config_defaults(&c, k);
    c.train_size = 2000;
    c.test_size = 500;
    c.threads = 2;
    struct ae_trainer *t = NULL;
    CHECK_EQ_INT(ae_trainer_new(&c, mnist, &t, NULL), AE_OK);
    if (!t) return;
    double t0 = seconds();
    struct ae_epoch_stats first, s;
    int epochs = k == AE_MODEL_CONV || k == AE_MODEL_DENOISE ? 3 : 5;
    CHECK_EQ_INT(ae_trainer_run_epoch(t, NULL, &first, NULL), AE_OK);
    s = first;
    for (int e = 1; e < epochs; e++) CHECK_EQ_INT(ae_trainer_run_epoch(t, NULL, &s, NULL), AE_OK);
    printf("%-8s %d epochs on 2000 images: loss %.4f -> %.4f, val_loss %.4f -> %.4f (%.2fs)\n",
           ae_model_name(k), epochs, first.loss, s.loss, first.val_loss, s.val_loss, seconds() - t0);
    if (k == AE_MODEL_VAE) {
        CHECK_MSG(s.val_loss < 0.9 * first.val_loss, "vae val_loss %.2f -> %.2f", first.val_loss, s.val_loss);
        CHECK(s.kl_loss > 0 && s.reconstruction_loss > 0);
        CHECK_NEAR(s.reconstruction_loss + s.kl_loss, s.loss, 1e-6 * s.loss);
    } else {
        CHECK_MSG(s.loss < 0.75 * first.loss, "%s loss %.4f -> %.4f", ae_model_name(k), first.loss, s.loss);
        CHECK_MSG(s.val_loss < 0.8 * first.val_loss && s.val_loss < 0.35, "%s val_loss %.4f -> %.4f",
                  ae_model_name(k), first.val_loss, s.val_loss);
    }
    ae_trainer_free(t);
}

int main(void)
{
    struct ae_dataset *syn = td_synthetic(300, 100, 5);
    for (int k = 0; k < AE_MODEL_COUNT; k++) {
        test_determinism(syn, (enum ae_model_kind)k, 1);
        test_determinism(syn, (enum ae_model_kind)k, 2);
        test_resume(syn, (enum ae_model_kind)k, 2, 2);
        test_resume(syn, (enum ae_model_kind)k, 1, 3); /* resumed on another thread count */
        test_suspend(syn, (enum ae_model_kind)k, k % 2 + 1);
        test_reconstruct(syn, (enum ae_model_kind)k);
        test_thread_counts(syn, (enum ae_model_kind)k);
    }
    test_concurrent(syn);
    test_vae_decode(syn);
    test_numeric(syn);
    /* Config errors reach the caller with the setting's name. */
    struct ae_config c = small_cfg(AE_MODEL_SIMPLE, 1);
    c.train_size = 301;
    struct ae_err err;
    struct ae_trainer *t = NULL;
    CHECK_EQ_INT(ae_trainer_new(&c, syn, &t, &err), AE_ERR_ARG);
    CHECK(strstr(err.msg, "train_size") != NULL);
    c.train_size = 10;
    c.batch_size = 5000;
    CHECK_EQ_INT(ae_trainer_new(&c, syn, &t, &err), AE_ERR_ARG);
    CHECK(strstr(err.msg, "batch_size") != NULL);
    td_free(syn);

    struct ae_dataset *mnist = td_mnist(2000, 500);
    CHECK_MSG(mnist != NULL, "MNIST not found in %s", AE_TEST_MNIST_DIR);
    if (mnist) {
        for (int k = 0; k < AE_MODEL_COUNT; k++) test_loss_falls(mnist, (enum ae_model_kind)k);
        td_free(mnist);
    }
    return check_summary("test_ae_trainer");
}
