/* test_ae_config.c - settings table, defaults, range errors, model names, and the
 * per-epoch metrics table (ae_metrics). */
#include <string.h>

#include "check.h"
#include "core/ae.h"

/* The per-epoch metrics table: unique names, each row reads and writes its
 * own field, every model has loss, val_loss and both timings, only vae its
 * loss parts. */
static void test_metrics_table(void)
{
    size_t n = 0;
    const struct ae_metric *t = ae_metrics(&n);
    struct ae_epoch_stats s = {0};
    CHECK(n >= 4);
    for (size_t i = 0; i < n; i++) {
        CHECK(ae_metric_find(t[i].name) == &t[i]);
        ae_metric_set(&s, i, 100.0 + (double)i);
    }
    for (size_t i = 0; i < n; i++) CHECK_NEAR(ae_metric_get(&s, i), 100.0 + (double)i, 0);
    CHECK(ae_metric_find("seconds") == NULL && ae_metric_find("epoch_seconds") == NULL);
    CHECK_NEAR(s.train_seconds, 100.0 + (double)(ae_metric_find("train_seconds") - t), 0);
    CHECK_NEAR(s.val_kl_loss, 100.0 + (double)(ae_metric_find("val_kl_loss") - t), 0);
    for (int k = 0; k < AE_MODEL_COUNT; k++) {
        bool vae = k == AE_MODEL_VAE;
        CHECK(ae_metric_applies(ae_metric_find("loss"), (enum ae_model_kind)k));
        CHECK(ae_metric_applies(ae_metric_find("val_loss"), (enum ae_model_kind)k));
        CHECK(ae_metric_applies(ae_metric_find("train_seconds"), (enum ae_model_kind)k));
        CHECK(ae_metric_applies(ae_metric_find("val_seconds"), (enum ae_model_kind)k));
        CHECK_EQ_INT(ae_metric_applies(ae_metric_find("kl_loss"), (enum ae_model_kind)k), vae);
        CHECK_EQ_INT(ae_metric_applies(ae_metric_find("reconstruction_loss"),
                                       (enum ae_model_kind)k), vae);
    }
    CHECK_EQ_STR(ae_metric_find("train_seconds")->unit, "s");
    CHECK_EQ_STR(ae_metric_find("loss")->unit, "");
}

int main(void)
{
    size_t n = 0;
    const struct ae_setting *s = ae_settings(&n);
    CHECK(n >= 11);
    const char *names[] = {"epochs", "batch_size", "encoding_dim", "latent_dim", "l1", "noise_factor",
                           "learning_rate", "seed", "train_size", "test_size", "threads"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const struct ae_setting *f = ae_setting_find(names[i]);
        CHECK_MSG(f != NULL, "setting %s missing", names[i]);
        if (f) CHECK(f->min <= f->max && f->help && f->help[0]);
    }
    CHECK(ae_setting_find("nope") == NULL);
    CHECK(s[0].name != NULL);

    /* Defaults are the seed's values. */
    struct ae_config c;
    ae_config_defaults(&c, AE_MODEL_SIMPLE);
    CHECK_EQ_INT(c.epochs, 50);
    CHECK_EQ_INT(c.batch_size, 256);
    CHECK_EQ_INT(c.encoding_dim, 32);
    CHECK_NEAR(c.l1, 1e-9, 0);
    CHECK_NEAR(c.learning_rate, 0.001, 0);
    CHECK_EQ_INT(c.threads, 1);
    ae_config_defaults(&c, AE_MODEL_CONV);
    CHECK_EQ_INT(c.batch_size, 128);
    ae_config_defaults(&c, AE_MODEL_DENOISE);
    CHECK_EQ_INT(c.batch_size, 128);
    CHECK_NEAR(c.noise_factor, 0.5, 0);
    ae_config_defaults(&c, AE_MODEL_VAE);
    CHECK_EQ_INT(c.batch_size, 100);
    CHECK_EQ_INT(c.latent_dim, 2);
    CHECK_EQ_INT(ae_config_check(&c, NULL), AE_OK);

    /* Set, get, range and type errors that name the setting and range. */
    struct ae_err err;
    CHECK_EQ_INT(ae_config_set(&c, "batch_size", 64, &err), AE_OK);
    CHECK_EQ_INT(c.batch_size, 64);
    double v = 0;
    CHECK_EQ_INT(ae_config_get(&c, "batch_size", &v), AE_OK);
    CHECK_NEAR(v, 64, 0);
    CHECK_EQ_INT(ae_config_set(&c, "batch_size", 0, &err), AE_ERR_ARG);
    CHECK(strstr(err.msg, "batch_size") && strstr(err.msg, "[1, 4096]"));
    CHECK_EQ_INT(c.batch_size, 64);
    CHECK_EQ_INT(ae_config_set(&c, "epochs", 2.5, &err), AE_ERR_ARG);
    CHECK(strstr(err.msg, "epochs") && strstr(err.msg, "whole"));
    CHECK_EQ_INT(ae_config_set(&c, "learning_rate", 5, &err), AE_ERR_ARG);
    CHECK(strstr(err.msg, "learning_rate") != NULL);
    CHECK_EQ_INT(ae_config_set(&c, "learning_rate", 0.01, &err), AE_OK);
    CHECK_NEAR(c.learning_rate, 0.01, 0);
    CHECK_EQ_INT(ae_config_set(&c, "l1", -1, &err), AE_ERR_ARG);
    CHECK_EQ_INT(ae_config_set(&c, "bogus", 1, &err), AE_ERR_ARG);
    CHECK(strstr(err.msg, "bogus") != NULL);
    CHECK_EQ_INT(ae_config_set(&c, "seed", 12345, &err), AE_OK);
    CHECK(c.seed == 12345);
    CHECK_EQ_INT(ae_config_set(&c, "threads", 0.0 / 0.0, &err), AE_ERR_ARG);

    c.threads = 0;
    CHECK_EQ_INT(ae_config_check(&c, &err), AE_ERR_ARG);
    CHECK(strstr(err.msg, "threads") != NULL);
    c.threads = 1;
    c.model = (enum ae_model_kind)42;
    CHECK_EQ_INT(ae_config_check(&c, &err), AE_ERR_ARG);

    /* Model names round-trip. */
    for (int k = 0; k < AE_MODEL_COUNT; k++) {
        enum ae_model_kind back;
        CHECK(ae_model_parse(ae_model_name((enum ae_model_kind)k), &back));
        CHECK_EQ_INT(back, k);
    }
    CHECK_EQ_STR(ae_model_name(AE_MODEL_DENOISE), "denoise");
    CHECK(ae_model_name(AE_MODEL_COUNT) == NULL);
    CHECK(!ae_model_parse("conv2", NULL));
    CHECK_EQ_STR(ae_status_str(AE_ERR_NOMEM), "out of memory");
    CHECK(ae_err_set(&err, AE_ERR_IO, "x %d", 3) == AE_ERR_IO);
    CHECK_EQ_STR(err.msg, "x 3");
    CHECK(ae_err_set(NULL, AE_ERR_IO, "no crash") == AE_ERR_IO);
    test_metrics_table();
    return check_summary("test_ae_config");
}
