/* test_ae_ckpt.c - checkpoint and weights files: round trip, and corrupt,
 * truncated, foreign and mismatched files rejected cleanly. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "ae_testdata.h"
#include "core/ae_model.h"

static char dir[] = "/tmp/aelab-ckpt-XXXXXX";

static void path_in(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", dir, name); }

static long file_size(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 ? (long)sb.st_size : -1;
}

static unsigned char *slurp(const char *p, long *n)
{
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    *n = file_size(p);
    unsigned char *b = malloc((size_t)*n);
    if (fread(b, 1, (size_t)*n, f) != (size_t)*n) { free(b); b = NULL; }
    fclose(f);
    return b;
}

static void spit(const char *p, const unsigned char *b, long n)
{
    FILE *f = fopen(p, "wb");
    fwrite(b, 1, (size_t)n, f);
    fclose(f);
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    struct ae_dataset *ds = td_synthetic(200, 50, 9);
    struct ae_config c;
    ae_config_defaults(&c, AE_MODEL_SIMPLE);
    c.encoding_dim = 6; /* a small file keeps the damage loops fast */
    c.train_size = 200;
    c.test_size = 50;
    c.batch_size = 32;
    c.epochs = 3;
    struct ae_trainer *t = NULL;
    struct ae_err err;
    CHECK_EQ_INT(ae_trainer_new(&c, ds, &t, &err), AE_OK);
    struct ae_epoch_stats s;
    CHECK_EQ_INT(ae_trainer_run_epoch(t, NULL, &s, &err), AE_OK);
    CHECK_EQ_INT(ae_trainer_run_epoch(t, NULL, &s, &err), AE_OK);

    char ck[512], wt[512], bad[512];
    path_in(ck, sizeof ck, "run.aeck");
    path_in(wt, sizeof wt, "w.aew");
    path_in(bad, sizeof bad, "bad.aeck");
    CHECK_EQ_INT(ae_trainer_save(t, ck, &err), AE_OK);
    CHECK_EQ_INT(ae_model_save(ae_trainer_model(t), wt, &err), AE_OK);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", ck);
    CHECK(access(tmp, F_OK) != 0); /* the tmp file was renamed away */
    int64_t P = ae_model_n_params(ae_trainer_model(t));
    CHECK_EQ_INT(file_size(ck), 192 + 12 * P + 2 * 72 + 4);
    CHECK_EQ_INT(file_size(wt), 192 + 4 * P + 4);

    /* Config and epoch without loading the weights. */
    struct ae_config rc;
    int32_t ep = -1;
    CHECK_EQ_INT(ae_checkpoint_read_config(ck, &rc, &ep, &err), AE_OK);
    CHECK_EQ_INT(ep, 2);
    CHECK_EQ_INT(rc.model, AE_MODEL_SIMPLE);
    CHECK_EQ_INT(rc.encoding_dim, 6);
    CHECK_EQ_INT(rc.batch_size, 32);
    CHECK(rc.seed == c.seed && rc.learning_rate == c.learning_rate && rc.l1 == c.l1);
    CHECK_EQ_INT(ae_checkpoint_read_config(wt, &rc, &ep, &err), AE_OK);
    CHECK_EQ_INT(ep, 0);

    /* Both files load into a model with the same parameters. */
    const struct ae_model *tm = ae_trainer_model(t);
    const char *both[2] = {ck, wt};
    for (int i = 0; i < 2; i++) {
        struct ae_model *m = NULL;
        CHECK_EQ_INT(ae_model_load(both[i], &m, &err), AE_OK);
        if (!m) continue;
        CHECK_EQ_INT(ae_model_n_params(m), P);
        CHECK(memcmp(m->params, tm->params, sizeof(float) * (size_t)P) == 0);
        ae_model_free(m);
    }

    /* Round trip into a new trainer: history, epoch, and the next epoch
     * equal to the original trainer's next epoch. */
    struct ae_trainer *r = NULL;
    CHECK_EQ_INT(ae_trainer_new(&c, ds, &r, &err), AE_OK);
    CHECK_EQ_INT(ae_trainer_load(r, ck, &err), AE_OK);
    int32_t n1, n2;
    const struct ae_epoch_stats *h1 = ae_trainer_history(t, &n1), *h2 = ae_trainer_history(r, &n2);
    CHECK_EQ_INT(n1, 2);
    CHECK_EQ_INT(n2, 2);
    CHECK(memcmp(h1, h2, sizeof *h1 * 2) == 0);
    struct ae_epoch_stats s1, s2;
    CHECK_EQ_INT(ae_trainer_run_epoch(t, NULL, &s1, &err), AE_OK);
    CHECK_EQ_INT(ae_trainer_run_epoch(r, NULL, &s2, &err), AE_OK);
    CHECK(s1.loss == s2.loss && s1.val_loss == s2.val_loss);

    /* A weights-only file is not a training checkpoint. */
    CHECK_EQ_INT(ae_trainer_load(r, wt, &err), AE_ERR_MISMATCH);
    /* Another config's checkpoint is refused. */
    struct ae_config c2 = c;
    c2.seed = 99;
    struct ae_trainer *o = NULL;
    CHECK_EQ_INT(ae_trainer_new(&c2, ds, &o, &err), AE_OK);
    CHECK_EQ_INT(ae_trainer_load(o, ck, &err), AE_ERR_MISMATCH);
    CHECK(strstr(err.msg, ck) != NULL);
    ae_trainer_free(o);
    struct ae_config c3;
    ae_config_defaults(&c3, AE_MODEL_DEEP);
    c3.train_size = 200;
    c3.test_size = 50;
    c3.batch_size = 32;
    CHECK_EQ_INT(ae_trainer_new(&c3, ds, &o, &err), AE_OK);
    CHECK_EQ_INT(ae_trainer_load(o, ck, &err), AE_ERR_MISMATCH);
    ae_trainer_free(o);
    /* Epochs and threads may differ on resume. */
    struct ae_config c4 = c;
    c4.epochs = 10;
    c4.threads = 2;
    CHECK_EQ_INT(ae_trainer_new(&c4, ds, &o, &err), AE_OK);
    CHECK_EQ_INT(ae_trainer_load(o, ck, &err), AE_OK);
    CHECK_EQ_INT(ae_trainer_epoch(o), 2);
    ae_trainer_free(o);

    /* Damaged files: every truncation length, flipped bytes, foreign
     * content; each is AE_ERR_FORMAT and the trainer is left unchanged. */
    long n = 0;
    unsigned char *orig = slurp(ck, &n);
    CHECK(orig != NULL);
    float before = tm->params[0];
    int all_format = 1;
    for (long cut = 0; orig && cut < n; cut += cut < 256 ? 1 : 97) {
        spit(bad, orig, cut);
        enum ae_status st = ae_trainer_load(r, bad, &err);
        all_format &= st == AE_ERR_FORMAT;
        struct ae_model *m = NULL;
        all_format &= ae_model_load(bad, &m, &err) == AE_ERR_FORMAT && m == NULL;
        all_format &= ae_checkpoint_read_config(bad, NULL, NULL, &err) == AE_ERR_FORMAT;
    }
    CHECK_MSG(all_format, "a truncated checkpoint was not rejected as AE_ERR_FORMAT");
    int flips_rejected = 1;
    for (long at = 0; orig && at < n; at += at < 200 ? 1 : 101) {
        unsigned char *copy = malloc((size_t)n);
        memcpy(copy, orig, (size_t)n);
        copy[at] ^= 0x5a;
        spit(bad, copy, n);
        enum ae_status st = ae_trainer_load(r, bad, &err);
        /* A flipped config byte may turn into a mismatch; never success. */
        flips_rejected &= st == AE_ERR_FORMAT || st == AE_ERR_MISMATCH;
        free(copy);
    }
    CHECK_MSG(flips_rejected, "a corrupt checkpoint was accepted");
    CHECK(tm->params[0] == before);
    unsigned char junk[4096];
    for (int i = 0; i < 4096; i++) junk[i] = (unsigned char)(i * 131 + 7);
    spit(bad, junk, sizeof junk);
    CHECK_EQ_INT(ae_trainer_load(r, bad, &err), AE_ERR_FORMAT);
    CHECK(strstr(err.msg, "magic") != NULL);
    /* A header claiming a huge history is refused before allocating. */
    if (orig) {
        unsigned char *copy = malloc((size_t)n);
        memcpy(copy, orig, (size_t)n);
        copy[184] = 0xff;
        copy[185] = 0xff;
        copy[186] = 0xff;
        copy[187] = 0x7f;
        spit(bad, copy, n);
        CHECK_EQ_INT(ae_trainer_load(r, bad, &err), AE_ERR_FORMAT);
        free(copy);
    }
    CHECK_EQ_INT(ae_trainer_load(r, "/nonexistent/dir/x.aeck", &err), AE_ERR_IO);
    CHECK(strstr(err.msg, "/nonexistent/dir/x.aeck") != NULL);
    CHECK_EQ_INT(ae_trainer_save(r, "/nonexistent/dir/x.aeck", &err), AE_ERR_IO);
    /* After all that, r still trains. */
    CHECK_EQ_INT(ae_trainer_run_epoch(r, NULL, &s2, &err), AE_OK);

    free(orig);
    ae_trainer_free(t);
    ae_trainer_free(r);
    td_free(ds);
    unlink(ck);
    unlink(wt);
    unlink(bad);
    rmdir(dir);
    return check_summary("test_ae_ckpt");
}
