/* test_ae_alloc.c - allocation failure injected at the Nth allocation of
 * trainer creation (and of checkpoint save/load) returns AE_ERR_NOMEM and
 * leaks nothing. */
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "ae_testdata.h"
#include "core/ae.h"

static void trainer_oom(enum ae_model_kind kind, int threads, struct ae_dataset *ds)
{
    struct ae_config c;
    ae_config_defaults(&c, kind);
    c.threads = threads;
    c.train_size = 64;
    c.test_size = 32;
    int64_t live0 = ae_alloc_live();
    int failures = 0;
    for (int64_t n = 1; n < 200; n++) {
        struct ae_trainer *t = NULL;
        struct ae_err err = {0};
        ae_alloc_fail_at(n);
        enum ae_status st = ae_trainer_new(&c, ds, &t, &err);
        int64_t attempts = ae_alloc_attempts();
        ae_alloc_fail_reset();
        if (st == AE_OK) {
            /* n is past the last allocation: creation is complete. */
            CHECK(attempts < n);
            CHECK(failures > 3);
            struct ae_epoch_stats s;
            CHECK_EQ_INT(ae_trainer_run_epoch(t, NULL, &s, NULL), AE_OK);
            ae_trainer_free(t);
            break;
        }
        failures++;
        CHECK_MSG(st == AE_ERR_NOMEM, "%s n=%lld: status %d (%s)", ae_model_name(kind), (long long)n,
                  st, err.msg);
        CHECK(t == NULL);
        CHECK_MSG(ae_alloc_live() == live0, "%s: leak after failing allocation %lld (%lld live)",
                  ae_model_name(kind), (long long)n, (long long)(ae_alloc_live() - live0));
    }
    CHECK_EQ_INT(ae_alloc_live(), live0);
}

int main(void)
{
    struct ae_dataset *ds = td_synthetic(64, 32, 3);
    for (int k = 0; k < AE_MODEL_COUNT; k++) {
        trainer_oom((enum ae_model_kind)k, 1, ds);
        trainer_oom((enum ae_model_kind)k, 2, ds);
    }

    /* Save and load under OOM. */
    struct ae_config c;
    ae_config_defaults(&c, AE_MODEL_SIMPLE);
    c.train_size = 64;
    c.test_size = 32;
    struct ae_trainer *t = NULL;
    CHECK_EQ_INT(ae_trainer_new(&c, ds, &t, NULL), AE_OK);
    char path[] = "/tmp/aelab-alloc-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    int64_t live0 = ae_alloc_live();
    ae_alloc_fail_at(1);
    CHECK_EQ_INT(ae_trainer_save(t, path, NULL), AE_ERR_NOMEM);
    ae_alloc_fail_reset();
    CHECK_EQ_INT(ae_trainer_save(t, path, NULL), AE_OK);
    for (int64_t n = 1; n < 10; n++) {
        struct ae_model *m = NULL;
        ae_alloc_fail_at(n);
        enum ae_status st = ae_model_load(path, &m, NULL);
        ae_alloc_fail_reset();
        if (st == AE_OK) {
            ae_model_free(m);
            break;
        }
        CHECK_EQ_INT(st, AE_ERR_NOMEM);
        CHECK_EQ_INT(ae_alloc_live(), live0);
    }
    ae_alloc_fail_at(1);
    CHECK_EQ_INT(ae_trainer_load(t, path, NULL), AE_ERR_NOMEM);
    ae_alloc_fail_reset();
    CHECK_EQ_INT(ae_alloc_live(), live0);
    ae_trainer_free(t);
    unlink(path);
    td_free(ds);
    return check_summary("test_ae_alloc");
}
