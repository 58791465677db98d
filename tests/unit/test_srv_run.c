/*
 * test_srv_run.c - the job runner on the tiny fixture: what a run directory
 * holds, record by record (read back with proto's reader), the hooks, a
 * suspend and resume (new file, START at the resume step, the same losses
 * as an uninterrupted job), cancel and hook failures (session end FAILURE),
 * write errors with the path, and the reconstructions grid.
 *
 * Usage: test_srv_run FIXTURE_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "proto/tb.h"
#include "server/srv_data.h"
#include "server/srv_latent.h"
#include "server/srv_run.h"

static char tmp_root[256];
static const struct ae_dataset *ds;

static double fake_time;
static double fake_clock(void) { return fake_time += 1.0; }

/* ---------------------------------------------------------------------- */
/* Hooks that record what they were told                                   */
/* ---------------------------------------------------------------------- */

struct rec {
    int n_start, start_epoch;
    int n_batches;
    int n_epochs;
    struct ae_epoch_stats epochs[16];
    int stop_after_batches;      /* 0: never */
    enum srv_run_next stop_with;
    bool fail_on_epoch;
};

static void h_start(void *u, int32_t e)
{
    struct rec *r = u;
    r->n_start++;
    r->start_epoch = e;
}

static void h_batch(void *u, const struct ae_progress *p)
{
    struct rec *r = u;
    (void)p;
    r->n_batches++;
}

static enum ae_status h_epoch(void *u, const struct ae_epoch_stats *s, struct ae_err *err)
{
    struct rec *r = u;
    if (r->n_epochs < 16) r->epochs[r->n_epochs] = *s;
    r->n_epochs++;
    if (r->fail_on_epoch) return ae_err_set(err, AE_ERR_IO, "the store is gone");
    return AE_OK;
}

static enum srv_run_next h_next(void *u)
{
    struct rec *r = u;
    if (r->stop_after_batches && r->n_batches >= r->stop_after_batches) return r->stop_with;
    return SRV_RUN_CONTINUE;
}

static struct srv_run_hooks hooks_for(struct rec *r)
{
    return (struct srv_run_hooks){.on_start = h_start, .on_batch = h_batch, .on_epoch = h_epoch,
                                  .next = h_next, .user = r};
}

/* ---------------------------------------------------------------------- */
/* Reading a run directory back                                            */
/* ---------------------------------------------------------------------- */

/* One line per record: "step kind tag [extra]", e.g. "2 scalar loss". */
struct summary {
    int n;
    char line[128][96];
    float loss[16], val_loss[16];
    int32_t img_w, img_h;       /* the reconstructions image */
    int32_t latent_w, latent_h; /* the latent_scatter image */
};

static int list_event_files(const char *run_dir, char names[8][512])
{
    DIR *d = opendir(run_dir);
    int n = 0;
    if (!d) return 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strstr(de->d_name, "tfevents") && n < 8) snprintf(names[n++], 512, "%s", de->d_name);
    closedir(d);
    /* name order = time order */
    for (int i = 0; i < n; i++)
        for (int k = i + 1; k < n; k++)
            if (strcmp(names[k], names[i]) < 0) {
                char t[512];
                memcpy(t, names[i], 512);
                memcpy(names[i], names[k], 512);
                memcpy(names[k], t, 512);
            }
    return n;
}

static void read_file(const char *path, struct summary *s)
{
    struct tb_reader *r = NULL;
    struct tb_err terr = {0};
    memset(s, 0, sizeof *s);
    CHECK_MSG(tb_reader_open(path, &r, &terr) == TB_OK, "%s", terr.msg);
    if (!r) return;
    struct tb_record rec;
    enum tb_status st;
    while ((st = tb_reader_next(r, &rec, &terr)) == TB_OK && s->n < 128) {
        const struct tb_event *e = &rec.event;
        char *l = s->line[s->n++];
        switch (e->kind) {
        case TB_EVENT_FILE_VERSION: snprintf(l, 96, "%lld file_version %s", (long long)e->step, e->file_version); break;
        case TB_EVENT_SESSION_LOG: snprintf(l, 96, "%lld session_log %d", (long long)e->step, e->session_status); break;
        case TB_EVENT_SUMMARY: {
            const struct tb_value *v = &e->values[0];
            static const char *const kinds[] = {"scalar", "image", "text", "hparams", "layout", "tensor", "other"};
            snprintf(l, 96, "%lld %s %s", (long long)e->step, kinds[v->type], v->tag);
            if (v->type == TB_VAL_SCALAR && e->step >= 0 && e->step < 16) {
                if (strcmp(v->tag, "loss") == 0) s->loss[e->step] = v->scalar;
                if (strcmp(v->tag, "val_loss") == 0) s->val_loss[e->step] = v->scalar;
            }
            if (v->type == TB_VAL_IMAGE && strcmp(v->tag, "reconstructions") == 0) {
                s->img_w = v->width;
                s->img_h = v->height;
            }
            if (v->type == TB_VAL_IMAGE && strcmp(v->tag, "latent_scatter") == 0) {
                s->latent_w = v->width;
                s->latent_h = v->height;
            }
            if (v->type == TB_VAL_HPARAMS) {
                size_t used = strlen(l);
                snprintf(l + used, 96 - used, " %d/%d/%d", (int)v->hparams_kind,
                         v->hparams_kind == TB_HPARAMS_SESSION_END ? v->session_status : v->n_hparams,
                         v->n_metrics);
            }
            break;
        }
        default: snprintf(l, 96, "%lld other", (long long)e->step); break;
        }
    }
    CHECK_MSG(st == TB_END, "%s ends cleanly (%s)", path, terr.msg);
    tb_reader_close(r);
}

static bool has_line(const struct summary *s, const char *line)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->line[i], line) == 0) return true;
    return false;
}

static int count_prefix(const struct summary *s, const char *prefix)
{
    int n = 0;
    for (int i = 0; i < s->n; i++) n += strncmp(s->line[i], prefix, strlen(prefix)) == 0;
    return n;
}

static bool exists(const char *dir, const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

/* ---------------------------------------------------------------------- */
/* Cases                                                                   */
/* ---------------------------------------------------------------------- */

static struct ae_config small_cfg(enum ae_model_kind kind, int epochs)
{
    struct ae_config cfg;
    ae_config_defaults(&cfg, kind);
    cfg.epochs = epochs;
    cfg.batch_size = 16; /* 4 batches per epoch on 64 images */
    cfg.threads = 1;
    cfg.seed = 11;
    return cfg;
}

static struct srv_run_opts opts_for(const char *run_dir, const struct ae_config *cfg)
{
    return (struct srv_run_opts){.run_dir = run_dir, .run_name = "test-run", .job_id = 7,
                                 .dataset_name = "mnist", .cfg = cfg, .ds = ds,
                                 .clock = fake_clock};
}

/* A fresh job: every record in order. */
static void test_fresh(struct rec *ref, struct summary *ref_sum)
{
    char run[512];
    snprintf(run, sizeof run, "%s/runs/0007-simple", tmp_root);
    struct ae_config cfg = small_cfg(AE_MODEL_SIMPLE, 3);
    struct srv_run_opts o = opts_for(run, &cfg);
    struct srv_run_hooks h = hooks_for(ref);
    struct ae_err err = {0};
    fake_time = 1700000000.0;
    CHECK_MSG(srv_run_job(&o, &h, &err) == AE_OK, "fresh job: %s", err.msg);
    CHECK_EQ_INT(ref->n_start, 1);
    CHECK_EQ_INT(ref->start_epoch, 0);
    CHECK_EQ_INT(ref->n_epochs, 3);
    CHECK_EQ_INT(ref->n_batches, 12);
    for (int k = 0; k < 3 && k < ref->n_epochs; k++) CHECK_EQ_INT(ref->epochs[k].epoch, k + 1);

    CHECK(exists(run, "checkpoint.aeck"));
    CHECK(exists(run, "weights/epoch-0001.aew"));
    CHECK(exists(run, "weights/epoch-0003.aew"));
    char names[8][512];
    int nf = list_event_files(run, names);
    CHECK_EQ_INT(nf, 1);
    if (nf != 1) return;
    /* events.out.tfevents.<10 digits>.<host>.<pid>.<n>, time from the clock */
    CHECK_MSG(strncmp(names[0], "events.out.tfevents.1700000001.", 31) == 0, "%s", names[0]);
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", run, names[0]);
    read_file(path, ref_sum);
    struct summary *s = ref_sum;
    CHECK_EQ_STR(s->line[0], "0 file_version brain.Event:2");
    CHECK_EQ_STR(s->line[1], "0 session_log 1");
    CHECK_EQ_STR(s->line[2], "0 layout custom_scalars__config__");
    /* experiment: model, dataset + the table's hparams; 2 metrics */
    size_t n_set = 0;
    const struct ae_setting *tab = ae_settings(&n_set);
    int n_hp = 2;
    for (size_t k = 0; k < n_set; k++) n_hp += tab[k].hparam;
    char want[96];
    snprintf(want, sizeof want, "0 hparams _hparams_/experiment 1/%d/2", n_hp);
    CHECK_EQ_STR(s->line[3], want);
    snprintf(want, sizeof want, "0 hparams _hparams_/session_start_info 2/%d/0", n_hp);
    CHECK_EQ_STR(s->line[4], want);
    CHECK_EQ_STR(s->line[5], "0 text summary/text_summary");
    /* Each epoch: one scalar per ae_metrics() row of the model, tagged with
     * its name, then the two images. */
    size_t n_met = 0, n_sc = 0;
    const struct ae_metric *met = ae_metrics(&n_met);
    for (size_t k = 0; k < n_met; k++) n_sc += ae_metric_applies(&met[k], cfg.model);
    CHECK(n_sc >= 4); /* loss, val_loss, train_seconds, val_seconds */
    int per_epoch = (int)n_sc + 2, line = 6;
    for (int e = 1; e <= 3; e++) {
        char l[96];
        for (size_t k = 0; k < n_met; k++) {
            if (!ae_metric_applies(&met[k], cfg.model)) continue;
            snprintf(l, sizeof l, "%d scalar %s", e, met[k].name);
            CHECK_EQ_STR(s->line[line++], l);
        }
        snprintf(l, sizeof l, "%d image reconstructions", e);
        CHECK_EQ_STR(s->line[line++], l);
        snprintf(l, sizeof l, "%d image latent_scatter", e);
        CHECK_EQ_STR(s->line[line++], l);
        CHECK_NEAR(s->loss[e], (float)ref->epochs[e - 1].loss, 0);
        CHECK_NEAR(s->val_loss[e], (float)ref->epochs[e - 1].val_loss, 0);
    }
    CHECK_EQ_INT(line, 6 + 3 * per_epoch);
    CHECK_EQ_STR(s->line[line], "3 hparams _hparams_/session_end_info 3/1/0");
    CHECK_EQ_INT(s->n, line + 1);
    CHECK_EQ_INT(s->img_w, 280);
    CHECK_EQ_INT(s->img_h, 56);
    CHECK_EQ_INT(s->latent_w, 640);
    CHECK_EQ_INT(s->latent_h, 480);
}

/* Suspend during epoch 2, then resume: a new file starting with START at
 * step 1 (epoch 1 is written again), then epochs 2..3, the same losses as
 * the uninterrupted job, and on_epoch for the history. */
static void test_suspend_resume(const struct rec *ref)
{
    char run[512];
    snprintf(run, sizeof run, "%s/runs/0008-simple", tmp_root);
    struct ae_config cfg = small_cfg(AE_MODEL_SIMPLE, 3);
    struct srv_run_opts o = opts_for(run, &cfg);
    struct rec r1 = {.stop_after_batches = 6, .stop_with = SRV_RUN_SUSPEND};
    struct srv_run_hooks h = hooks_for(&r1);
    struct ae_err err = {0};
    fake_time = 1700000100.0;
    CHECK(srv_run_job(&o, &h, &err) == AE_ERR_CANCELLED);
    CHECK_MSG(strstr(err.msg, "suspended") != NULL, "%s", err.msg);
    CHECK_EQ_INT(r1.n_epochs, 1);
    CHECK(exists(run, "checkpoint.aeck"));
    CHECK(!exists(run, "weights/epoch-0002.aew"));

    struct rec r2 = {0};
    h = hooks_for(&r2);
    /* A restart within the same second: the new file must still sort last. */
    fake_time = 1700000100.0;
    CHECK_MSG(srv_run_job(&o, &h, &err) == AE_OK, "resume: %s", err.msg);
    CHECK_EQ_INT(r2.start_epoch, 1);
    /* history (epoch 1) then epochs 2 and 3 */
    CHECK_EQ_INT(r2.n_epochs, 3);
    for (int k = 0; k < 3 && k < r2.n_epochs; k++) {
        CHECK_EQ_INT(r2.epochs[k].epoch, k + 1);
        CHECK_MSG(r2.epochs[k].loss == ref->epochs[k].loss &&
                      r2.epochs[k].val_loss == ref->epochs[k].val_loss,
                  "epoch %d: %.9g/%.9g vs uninterrupted %.9g/%.9g", k + 1, r2.epochs[k].loss,
                  r2.epochs[k].val_loss, ref->epochs[k].loss, ref->epochs[k].val_loss);
    }

    char names[8][512];
    int nf = list_event_files(run, names);
    CHECK_EQ_INT(nf, 2);
    if (nf != 2) return;
    CHECK_MSG(strncmp(names[0], "events.out.tfevents.1700000101.", 31) == 0, "%s", names[0]);
    CHECK_MSG(strncmp(names[1], "events.out.tfevents.1700000102.", 31) == 0, "%s", names[1]);
    char path[1100];
    struct summary s1, s2;
    snprintf(path, sizeof path, "%s/%s", run, names[0]);
    read_file(path, &s1);
    snprintf(path, sizeof path, "%s/%s", run, names[1]);
    read_file(path, &s2);
    /* First file: through epoch 1, no session end (the job went on). */
    CHECK(has_line(&s1, "0 session_log 1"));
    CHECK(has_line(&s1, "1 scalar loss"));
    CHECK(!has_line(&s1, "2 scalar loss"));
    CHECK_EQ_INT(count_prefix(&s1, "0 hparams _hparams_/session_end_info"), 0);
    CHECK_EQ_INT(count_prefix(&s1, "1 hparams _hparams_/session_end_info"), 0);
    /* Second file: START at step 1, epoch 1 again, then 2 and 3, one end. */
    CHECK_EQ_STR(s2.line[0], "0 file_version brain.Event:2");
    CHECK_EQ_STR(s2.line[1], "1 session_log 1");
    CHECK_EQ_STR(s2.line[2], "1 scalar loss");
    CHECK(has_line(&s2, "1 image reconstructions"));
    CHECK(has_line(&s2, "3 image reconstructions"));
    CHECK_EQ_INT(count_prefix(&s2, "0 text"), 0);
    CHECK_EQ_STR(s2.line[s2.n - 1], "3 hparams _hparams_/session_end_info 3/1/0");
    for (int e = 1; e <= 3; e++) {
        CHECK_NEAR(s2.loss[e], (float)ref->epochs[e - 1].loss, 0);
        CHECK_NEAR(s2.val_loss[e], (float)ref->epochs[e - 1].val_loss, 0);
    }
    CHECK(exists(run, "weights/epoch-0003.aew"));
}

/* Cancel and a failing on_epoch: the job ends with session_end FAILURE. */
static void test_cancel_and_failure(void)
{
    struct ae_err err = {0};
    char run[512], names[8][512], path[1100];
    struct summary s;

    snprintf(run, sizeof run, "%s/runs/0009-conv", tmp_root);
    struct ae_config cfg = small_cfg(AE_MODEL_CONV, 2);
    struct srv_run_opts o = opts_for(run, &cfg);
    struct rec r = {.stop_after_batches = 2, .stop_with = SRV_RUN_CANCEL};
    struct srv_run_hooks h = hooks_for(&r);
    CHECK(srv_run_job(&o, &h, &err) == AE_ERR_CANCELLED);
    CHECK_MSG(strstr(err.msg, "cancelled") != NULL, "%s", err.msg);
    CHECK_EQ_INT(r.n_epochs, 0);
    if (list_event_files(run, names) == 1) {
        snprintf(path, sizeof path, "%s/%s", run, names[0]);
        read_file(path, &s);
        CHECK_EQ_STR(s.line[s.n - 1], "0 hparams _hparams_/session_end_info 3/2/0");
    } else {
        CHECK_MSG(false, "one event file in %s", run);
    }

    snprintf(run, sizeof run, "%s/runs/0010-denoise", tmp_root);
    cfg = small_cfg(AE_MODEL_DENOISE, 2);
    o = opts_for(run, &cfg);
    struct rec r2 = {.fail_on_epoch = true};
    h = hooks_for(&r2);
    CHECK(srv_run_job(&o, &h, &err) == AE_ERR_IO);
    CHECK_MSG(strstr(err.msg, "the store is gone") != NULL, "%s", err.msg);
    CHECK_EQ_INT(r2.n_epochs, 1);
    if (list_event_files(run, names) == 1) {
        snprintf(path, sizeof path, "%s/%s", run, names[0]);
        read_file(path, &s);
        CHECK_EQ_STR(s.line[s.n - 1], "1 hparams _hparams_/session_end_info 3/2/0");
        /* denoise: clean, noisy and reconstructed rows */
        CHECK_EQ_INT(s.img_w, 280);
        CHECK_EQ_INT(s.img_h, 84);
    } else {
        CHECK_MSG(false, "one event file in %s", run);
    }

    /* No hooks at all is fine. */
    snprintf(run, sizeof run, "%s/runs/0011-deep", tmp_root);
    cfg = small_cfg(AE_MODEL_DEEP, 1);
    o = opts_for(run, &cfg);
    CHECK_MSG(srv_run_job(&o, NULL, &err) == AE_OK, "%s", err.msg);
}

/* Errors carry the path and the errno text. */
static void test_errors(void)
{
    struct ae_err err = {0};
    char file[512], run[600];
    snprintf(file, sizeof file, "%s/plain-file", tmp_root);
    FILE *f = fopen(file, "w");
    if (f) fclose(f);
    snprintf(run, sizeof run, "%s/run", file);
    struct ae_config cfg = small_cfg(AE_MODEL_SIMPLE, 1);
    struct srv_run_opts o = opts_for(run, &cfg);
    CHECK(srv_run_job(&o, NULL, &err) == AE_ERR_IO);
    CHECK_MSG(strstr(err.msg, "plain-file") && strstr(err.msg, "Not a directory"), "%s", err.msg);

    o.cfg = NULL;
    CHECK(srv_run_job(&o, NULL, &err) == AE_ERR_ARG);
    CHECK(srv_run_job(NULL, NULL, &err) == AE_ERR_ARG);
}

static void test_grid_and_name(void)
{
    char buf[64];
    CHECK_EQ_INT(srv_run_dir_name(buf, sizeof buf, 7, "conv"), 9);
    CHECK_EQ_STR(buf, "0007-conv");
    srv_run_dir_name(buf, sizeof buf, 12345, "deep");
    CHECK_EQ_STR(buf, "12345-deep");

    struct ae_config cfg = small_cfg(AE_MODEL_DENOISE, 1);
    struct ae_model *m = NULL;
    struct ae_err err = {0};
    CHECK(ae_model_new(&cfg, &m, &err) == AE_OK);
    uint8_t *png = NULL;
    size_t len = 0;
    int32_t w = 0, h = 0;
    CHECK_MSG(srv_run_grid_png(m, ds, 3, &png, &len, &w, &h, &err) == AE_OK, "%s", err.msg);
    CHECK_EQ_INT(w, 84);
    CHECK_EQ_INT(h, 84);
    CHECK(len > 8 && png && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
    /* IHDR: width and height big-endian at bytes 16..23 */
    if (png && len > 24) {
        CHECK_EQ_INT((png[16] << 24) | (png[17] << 16) | (png[18] << 8) | png[19], 84);
        CHECK_EQ_INT((png[20] << 24) | (png[21] << 16) | (png[22] << 8) | png[23], 84);
    }
    free(png);
    png = NULL;
    CHECK(srv_run_grid_png(m, ds, 0, &png, &len, &w, &h, &err) == AE_ERR_ARG);
    CHECK(srv_run_grid_png(m, ds, 33, &png, &len, &w, &h, &err) == AE_ERR_ARG); /* 32 test images */
    CHECK_MSG(strstr(err.msg, "[1, 32]") != NULL, "%s", err.msg);
    CHECK(png == NULL);
    ae_model_free(m);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]);
        return 2;
    }
    const char *t = getenv("TMPDIR");
    snprintf(tmp_root, sizeof tmp_root, "%s/test_srv_run.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 2;
    }
    struct srv_data *reg = NULL;
    struct ae_err err = {0};
    if (srv_data_new(argv[1], &reg, &err) != AE_OK ||
        srv_data_get(reg, "mnist", &ds, NULL, &err) != AE_OK) {
        fprintf(stderr, "fixture: %s\n", err.msg);
        return 2;
    }
    struct rec ref = {0};
    static struct summary ref_sum;
    test_fresh(&ref, &ref_sum);
    test_suspend_resume(&ref);
    test_cancel_and_failure();
    test_errors();
    test_grid_and_name();

    srv_data_put(reg, ds);
    srv_data_free(reg);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_root);
    srv_latent_release_fonts(); /* as aelabd and aelab do at exit */
    return check_summary("test_srv_run");
}
