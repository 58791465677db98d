/*
 * srv_run.c - one training job, start to finish, in its run directory.
 *
 * Owns: the run directory's contents (event files, weights/epoch-NNNN.aew,
 * checkpoint.aeck), the order in which they are written, resuming from the
 * checkpoint, and what TensorBoard is told: file_version, SessionLog START,
 * the custom-scalars layout, the hparams experiment and session records,
 * the text summary, and per epoch the scalars, the reconstructions image and
 * the latent-space pictures (latent_scatter; latent_manifold for a 2-D vae).
 *
 * Does not: pick the run directory's name or location (the caller does),
 * load data, print, take locks or start threads (the trainer's own aside).
 *
 * Design: per epoch the order is train -> weights file and checkpoint (both
 * atomic) -> event records (flushed) -> hooks->on_epoch.  So whatever a
 * crash interrupts, the checkpoint on disk is never older than the newest
 * event records, and a resumed job starts from the checkpoint's epoch k in a
 * NEW event file (never appending to one that may end in a torn record).
 * Its records for epoch k may or may not have reached the old file, so the
 * new file opens with SessionLog START at step k and writes epoch k again
 * from the checkpoint's history and weights/epoch-k.aew: TensorBoard drops
 * whatever the old file held from step k on, and every step appears once.
 * (After a suspend in epoch 1, k is 0 and START is at step 1.)
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/tb.h"
#include "srv_data.h"
#include "srv_latent.h"
#include "srv_run.h"

#define CHECKPOINT_NAME "checkpoint.aeck"
#define GRID_N 10

int srv_run_dir_name(char *buf, size_t len, int64_t job_id, const char *model)
{
    return snprintf(buf, len, "%04lld-%s", (long long)job_id, model ? model : "model");
}

/* ------------------------------------------------------------------------ */
/* The job's state while it runs                                            */
/* ------------------------------------------------------------------------ */

struct job {
    const struct srv_run_opts *o;
    const struct srv_run_hooks *h;
    struct ae_trainer *t;
    struct tb_writer *w;
    char ck_path[4200];
    enum srv_run_next stop; /* what hooks->next asked for, once it asked to stop */
};

static double wall_now(const struct job *j)
{
    if (j->o->clock) return j->o->clock();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A tb_ error as an ae_ error (the message already names the path). */
static enum ae_status tb_fail(struct ae_err *err, const struct tb_err *terr, const char *what)
{
    enum ae_status code = terr->code == TB_ERR_NOMEM ? AE_ERR_NOMEM
                          : terr->code == TB_ERR_ARG ? AE_ERR_ARG
                                                     : AE_ERR_IO;
    return ae_err_set(err, code, "%s: %s", what, terr->msg);
}

/* ------------------------------------------------------------------------ */
/* Records written once per job                                             */
/* ------------------------------------------------------------------------ */

/* The hparams experiment: model and dataset as strings with their domains,
 * then every setting the engine's table marks as an hparam, with its range.
 * It depends on nothing job-specific (time_created_secs is 0), so every job
 * of a log dir writes the same definition, as TensorBoard needs. */
static enum ae_status write_experiment(struct job *j, double t, struct ae_err *err)
{
    size_t n_set = 0;
    const struct ae_setting *tab = ae_settings(&n_set);
    struct tb_hparam_info *infos = calloc(n_set + 2, sizeof *infos);
    const char *models[AE_MODEL_COUNT];
    if (!infos) return ae_err_set(err, AE_ERR_NOMEM, "out of memory");
    for (int k = 0; k < AE_MODEL_COUNT; k++) models[k] = ae_model_name((enum ae_model_kind)k);
    int32_t n = 0;
    infos[n++] = (struct tb_hparam_info){.name = "model", .type = TB_HPARAM_STRING,
                                         .values = models, .n_values = AE_MODEL_COUNT};
    infos[n++] = (struct tb_hparam_info){.name = "dataset", .type = TB_HPARAM_STRING,
                                         .values = srv_data_names, .n_values = SRV_DATA_N_SETS};
    for (size_t k = 0; k < n_set; k++) {
        if (!tab[k].hparam) continue;
        infos[n++] = (struct tb_hparam_info){.name = tab[k].name, .type = TB_HPARAM_FLOAT64,
                                             .has_interval = true, .min_value = tab[k].min,
                                             .max_value = tab[k].max};
    }
    static const struct tb_metric_info metrics[2] = {
        {.group = "", .tag = "loss", .dataset_type = TB_DATASET_TRAINING},
        {.group = "", .tag = "val_loss", .dataset_type = TB_DATASET_VALIDATION},
    };
    struct tb_err terr = {0};
    enum ae_status st = AE_OK;
    if (tb_writer_add_hparams_experiment(j->w, t, 0, infos, n, metrics, 2, 0.0, &terr) != TB_OK)
        st = tb_fail(err, &terr, "hparams experiment");
    free(infos);
    return st;
}

/* Is run_dir a sweep's trial (its parent holds SRV_RUN_SWEEP_MARKER)? */
static bool in_sweep_dir(const char *run_dir)
{
    char path[4600];
    const char *slash = strrchr(run_dir, '/');
    if (!slash) return false;
    snprintf(path, sizeof path, "%.*s/%s", (int)(slash - run_dir), run_dir, SRV_RUN_SWEEP_MARKER);
    return access(path, F_OK) == 0;
}

/* This job's values of the experiment's hparams: only the settings its
 * model uses (a conv job has no latent_dim), plus model and dataset. */
static enum ae_status write_session_start(struct job *j, double t, struct ae_err *err)
{
    size_t n_set = 0;
    const struct ae_setting *tab = ae_settings(&n_set);
    struct tb_hparam_value *vals = calloc(n_set + 2, sizeof *vals);
    if (!vals) return ae_err_set(err, AE_ERR_NOMEM, "out of memory");
    int32_t n = 0;
    vals[n++] = (struct tb_hparam_value){.name = "model", .kind = TB_VALUE_STRING,
                                         .s = ae_model_name(j->o->cfg->model)};
    vals[n++] = (struct tb_hparam_value){.name = "dataset", .kind = TB_VALUE_STRING,
                                         .s = j->o->dataset_name};
    for (size_t k = 0; k < n_set; k++) {
        if (!tab[k].hparam || !(tab[k].models & (1u << (unsigned)j->o->cfg->model))) continue;
        double v = 0;
        ae_config_get(j->o->cfg, tab[k].name, &v);
        if (tab[k].type == AE_SETTING_INT)
            vals[n++] = (struct tb_hparam_value){.name = tab[k].name, .kind = TB_VALUE_INT,
                                                 .i = (int64_t)v};
        else
            vals[n++] = (struct tb_hparam_value){.name = tab[k].name, .kind = TB_VALUE_FLOAT,
                                                 .f = v};
    }
    struct tb_err terr = {0};
    enum ae_status st = AE_OK;
    if (tb_writer_add_hparams_start(j->w, t, 0, vals, n, NULL, t, &terr) != TB_OK)
        st = tb_fail(err, &terr, "hparams session start");
    free(vals);
    return st;
}

/* Append printf-style text to a growing buffer; false when out of memory. */
struct strbuf {
    char *s;
    size_t len, cap;
};

static bool sb_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool sb_printf(struct strbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return false;
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return true;
        }
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) return false;
        b->s = s;
        b->cap = cap;
    }
}

/* The text summary: the Keras table in a code block, then the settings. */
static enum ae_status write_text_summary(struct job *j, double t, struct ae_err *err)
{
    const struct ae_model *m = ae_trainer_model(j->t);
    const struct ae_config *cfg = j->o->cfg;
    struct strbuf b = {0};
    enum ae_status st = AE_OK;
    size_t need = ae_model_summary(m, NULL, 0);
    char *table = malloc(need + 1);
    bool ok = table != NULL;
    if (ok) ae_model_summary(m, table, need + 1);
    ok = ok && sb_printf(&b, "## %s\n\n```\n%s%s```\n\n| setting | value |\n|---|---|\n",
                         j->o->run_name ? j->o->run_name : "job", table,
                         need && table[need - 1] == '\n' ? "" : "\n");
    ok = ok && sb_printf(&b, "| model | %s |\n| dataset | %s |\n", ae_model_name(cfg->model),
                         j->o->dataset_name ? j->o->dataset_name : "");
    size_t n_set = 0;
    const struct ae_setting *tab = ae_settings(&n_set);
    for (size_t k = 0; ok && k < n_set; k++) {
        if (!(tab[k].models & (1u << cfg->model))) continue;
        double v = 0;
        ae_config_get(cfg, tab[k].name, &v);
        ok = tab[k].type == AE_SETTING_INT
                 ? sb_printf(&b, "| %s | %.0f |\n", tab[k].name, v)
                 : sb_printf(&b, "| %s | %g |\n", tab[k].name, v);
    }
    if (ok && !ae_setting_find("threads")) ok = sb_printf(&b, "| threads | %d |\n", cfg->threads);
    if (ok && j->o->job_id > 0) ok = sb_printf(&b, "| job id | %lld |\n", (long long)j->o->job_id);
    ok = ok && sb_printf(&b, "| parameters | %lld |\n", (long long)ae_model_n_params(m));
    if (!ok) {
        st = ae_err_set(err, AE_ERR_NOMEM, "out of memory for the text summary");
    } else {
        struct tb_err terr = {0};
        if (tb_writer_add_text(j->w, t, 0, "summary", b.s, &terr) != TB_OK)
            st = tb_fail(err, &terr, "text summary");
    }
    free(table);
    free(b.s);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Records written per epoch                                                */
/* ------------------------------------------------------------------------ */

/* The latent pictures (srv_latent.h): latent_scatter for every model (the
 * first SRV_LATENT_POINTS test images), latent_manifold for a vae with
 * latent_dim 2.  The same pictures as the API's latent.png/manifold.png. */
static enum ae_status write_latent(struct job *j, double t, int64_t step, const struct ae_model *m,
                                   struct ae_err *err)
{
    struct tb_err terr = {0};
    uint8_t *png = NULL;
    size_t png_len = 0;
    int32_t w = 0, h = 0;
    int32_t n = j->o->ds->n_test < SRV_LATENT_POINTS ? j->o->ds->n_test : SRV_LATENT_POINTS;
    if (n >= 2) {
        enum ae_status st = srv_latent_scatter_png(m, j->o->ds, j->o->dataset_name, n, &png,
                                                   &png_len, &w, &h, err);
        if (st != AE_OK) return st;
        enum tb_status ts =
            tb_writer_add_image(j->w, t, step, "latent_scatter", png, png_len, w, h, 3, &terr);
        free(png);
        if (ts != TB_OK) return tb_fail(err, &terr, "latent_scatter");
    }
    const struct ae_config *cfg = ae_model_config(m);
    if (cfg->model == AE_MODEL_VAE && cfg->latent_dim == 2) {
        enum ae_status st = srv_latent_manifold_png(m, &png, &png_len, &w, &h, err);
        if (st != AE_OK) return st;
        enum tb_status ts =
            tb_writer_add_image(j->w, t, step, "latent_manifold", png, png_len, w, h, 1, &terr);
        free(png);
        if (ts != TB_OK) return tb_fail(err, &terr, "latent_manifold");
    }
    return AE_OK;
}

static enum ae_status write_epoch(struct job *j, const struct ae_epoch_stats *s,
                                  const struct ae_model *m, struct ae_err *err)
{
    struct tb_err terr = {0};
    double t = wall_now(j);
    int64_t step = s->epoch;
    size_t n_metrics;
    const struct ae_metric *tab = ae_metrics(&n_metrics);
    /* One scalar per ae_metrics() row of the model, tagged with its name. */
    for (size_t k = 0; k < n_metrics; k++) {
        if (!ae_metric_applies(&tab[k], j->o->cfg->model)) continue;
        if (tb_writer_add_scalar(j->w, t, step, tab[k].name, (float)ae_metric_get(s, k), &terr) !=
            TB_OK)
            return tb_fail(err, &terr, tab[k].name);
    }

    if (m) {
        uint8_t *png = NULL;
        size_t png_len = 0;
        int32_t w = 0, h = 0;
        int32_t n = j->o->ds->n_test < GRID_N ? j->o->ds->n_test : GRID_N;
        enum ae_status st = srv_run_grid_png(m, j->o->ds, n, &png, &png_len, &w, &h, err);
        if (st != AE_OK) return st;
        enum tb_status ts =
            tb_writer_add_image(j->w, t, step, "reconstructions", png, png_len, w, h, 1, &terr);
        free(png);
        if (ts != TB_OK) return tb_fail(err, &terr, "reconstructions");
        enum ae_status lst = write_latent(j, t, step, m, err);
        if (lst != AE_OK) return lst;
    }
    if (tb_writer_flush(j->w, &terr) != TB_OK) return tb_fail(err, &terr, "flush");
    return AE_OK;
}

/* The time for a new event file's name.  TensorBoard reads a run's files in
 * name order, and a resumed job's START only purges what was read before it,
 * so the new name must sort after every existing one.  Names start with the
 * 10-digit second, then host and pid: a restart within the same second (or
 * with the clock set back) could sort first, so the time is moved to one
 * second after the newest existing file when needed. */
static double new_file_time(const char *run_dir, double now)
{
    DIR *d = opendir(run_dir);
    if (!d) return now;
    long long newest = -1;
    struct dirent *de;
    while ((de = readdir(d))) {
        long long t = 0;
        int used = 0;
        if (sscanf(de->d_name, "events.out.tfevents.%10lld.%n", &t, &used) == 1 && used > 0 &&
            t > newest)
            newest = t;
    }
    closedir(d);
    if (newest >= 0 && now < (double)newest + 1.0) return (double)newest + 1.0;
    return now;
}

static void weights_path(const struct job *j, int32_t epoch, char *buf, size_t len)
{
    snprintf(buf, len, "%s/weights/epoch-%04d.aew", j->o->run_dir, epoch);
}

/* On resume: write epoch k again from the history and its weights file. */
static enum ae_status rewrite_epoch(struct job *j, const struct ae_epoch_stats *s,
                                    struct ae_err *err)
{
    char path[4200];
    weights_path(j, s->epoch, path, sizeof path);
    struct ae_model *m = NULL;
    /* Without its weights file the image is left out; the scalars still go. */
    if (access(path, F_OK) == 0) {
        enum ae_status st = ae_model_load(path, &m, err);
        if (st != AE_OK) return st;
    }
    enum ae_status st = write_epoch(j, s, m, err);
    ae_model_free(m);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Hooks into the trainer                                                   */
/* ------------------------------------------------------------------------ */

static void job_on_batch(void *user, const struct ae_progress *p)
{
    struct job *j = user;
    if (j->h && j->h->on_batch) j->h->on_batch(j->h->user, p);
}

static bool job_should_stop(void *user)
{
    struct job *j = user;
    if (!j->h || !j->h->next) return false;
    enum srv_run_next n = j->h->next(j->h->user);
    if (n == SRV_RUN_CONTINUE) return false;
    j->stop = n;
    return true;
}

static enum ae_status end_session(struct job *j, enum tb_session_status status, int64_t step,
                                  struct ae_err *err)
{
    struct tb_err terr = {0};
    double t = wall_now(j);
    if (tb_writer_add_hparams_end(j->w, t, step, status, t, &terr) != TB_OK)
        return tb_fail(err, &terr, "hparams session end");
    if (tb_writer_sync(j->w, &terr) != TB_OK) return tb_fail(err, &terr, "fsync");
    return AE_OK;
}

/* ------------------------------------------------------------------------ */
/* The job                                                                  */
/* ------------------------------------------------------------------------ */

enum ae_status srv_run_job(const struct srv_run_opts *o, const struct srv_run_hooks *h,
                           struct ae_err *err)
{
    if (!o || !o->run_dir || !o->cfg || !o->ds || !o->dataset_name)
        return ae_err_set(err, AE_ERR_ARG, "srv_run_job: missing option");

    struct job j = {.o = o, .h = h, .stop = SRV_RUN_CONTINUE};
    struct tb_err terr = {0};
    struct ae_err local = {0};
    if (!err) err = &local;
    enum ae_status st;
    bool session_started = false;
    int32_t last_step = 0;

    char dir[4200];
    snprintf(dir, sizeof dir, "%s/weights", o->run_dir);
    if ((st = srv_run_mkdirs(dir, err)) != AE_OK) goto fail;
    snprintf(j.ck_path, sizeof j.ck_path, "%s/%s", o->run_dir, CHECKPOINT_NAME);

    if ((st = ae_trainer_new(o->cfg, o->ds, &j.t, err)) != AE_OK) goto fail;
    bool resumed = access(j.ck_path, F_OK) == 0;
    if (resumed && (st = ae_trainer_load(j.t, j.ck_path, err)) != AE_OK) goto fail;
    int32_t start = ae_trainer_epoch(j.t);
    last_step = start;
    if (h && h->on_start) h->on_start(h->user, start);

    char host[256] = "";
    if (gethostname(host, sizeof host) != 0) host[0] = '\0';
    host[sizeof host - 1] = '\0';
    double t0 = new_file_time(o->run_dir, wall_now(&j));
    if (tb_writer_open(o->run_dir, t0, host, (int64_t)getpid(), &j.w, &terr) != TB_OK) {
        st = tb_fail(err, &terr, "event file");
        goto fail;
    }

    if (!resumed) {
        /* A fresh job: START at 0, then the step-0 records, once. */
        static const char *const loss_tags[1] = {"^(val_)?loss$"};
        static const struct tb_chart charts[1] = {
            {.title = "loss and val_loss", .tags = loss_tags, .n_tags = 1}};
        static const struct tb_category cats[1] = {
            {.title = "losses", .charts = charts, .n_charts = 1}};
        if (tb_writer_add_session_start(j.w, t0, 0, &terr) != TB_OK ||
            tb_writer_add_layout(j.w, t0, 0, cats, 1, &terr) != TB_OK) {
            st = tb_fail(err, &terr, "event file");
            goto fail;
        }
        /* A sweep's trial leaves the definition to the sweep's directory
         * (its domains are the swept ones): TensorBoard needs one. */
        if (!in_sweep_dir(o->run_dir) && (st = write_experiment(&j, t0, err)) != AE_OK) goto fail;
        if ((st = write_session_start(&j, t0, err)) != AE_OK) goto fail;
        session_started = true;
        if ((st = write_text_summary(&j, t0, err)) != AE_OK) goto fail;
        if (tb_writer_flush(j.w, &terr) != TB_OK) {
            st = tb_fail(err, &terr, "event file");
            goto fail;
        }
    } else {
        session_started = true;
        int32_t n_hist = 0;
        const struct ae_epoch_stats *hist = ae_trainer_history(j.t, &n_hist);
        int64_t start_step = start > 0 ? start : 1;
        if (tb_writer_add_session_start(j.w, t0, start_step, &terr) != TB_OK) {
            st = tb_fail(err, &terr, "event file");
            goto fail;
        }
        if (start > 0 && n_hist >= start &&
            (st = rewrite_epoch(&j, &hist[start - 1], err)) != AE_OK)
            goto fail;
        /* Callers upsert: the daemon may have lost the report of an epoch
         * whose checkpoint made it to disk. */
        for (int32_t k = 0; h && h->on_epoch && k < n_hist; k++) {
            struct ae_epoch_stats s = hist[k];
            if ((st = h->on_epoch(h->user, &s, err)) != AE_OK) goto fail;
        }
    }

    struct ae_hooks th = {.on_batch = job_on_batch, .should_stop = job_should_stop, .user = &j};
    while (ae_trainer_epoch(j.t) < o->cfg->epochs) {
        struct ae_epoch_stats s;
        st = ae_trainer_run_epoch(j.t, &th, &s, err);
        if (st == AE_ERR_CANCELLED) {
            if (j.stop == SRV_RUN_SUSPEND) {
                /* Mid-epoch state; a later srv_run_job finishes this epoch. */
                enum ae_status sst = ae_trainer_save(j.t, j.ck_path, err);
                if (sst != AE_OK) {
                    st = sst;
                    goto fail;
                }
                ae_err_set(err, AE_ERR_CANCELLED, "%s: suspended during epoch %d", o->run_dir,
                           ae_trainer_epoch(j.t) + 1);
                session_started = false; /* nothing ends: the job goes on later */
                tb_writer_sync(j.w, &terr);
            } else {
                ae_err_set(err, AE_ERR_CANCELLED, "%s: cancelled during epoch %d", o->run_dir,
                           ae_trainer_epoch(j.t) + 1);
            }
            goto fail;
        }
        if (st != AE_OK) goto fail;

        char wpath[4200];
        weights_path(&j, s.epoch, wpath, sizeof wpath);
        if ((st = ae_model_save(ae_trainer_model(j.t), wpath, err)) != AE_OK) goto fail;
        if ((st = ae_trainer_save(j.t, j.ck_path, err)) != AE_OK) goto fail;
        if ((st = write_epoch(&j, &s, ae_trainer_model(j.t), err)) != AE_OK) goto fail;
        last_step = s.epoch;
        if (h && h->on_epoch && (st = h->on_epoch(h->user, &s, err)) != AE_OK) goto fail;
    }

    if ((st = end_session(&j, TB_SESSION_SUCCESS, last_step, err)) != AE_OK) {
        session_started = false;
        goto fail;
    }
    if (tb_writer_close(j.w, &terr) != TB_OK) {
        j.w = NULL;
        st = tb_fail(err, &terr, "event file");
        goto fail_closed;
    }
    ae_trainer_free(j.t);
    return AE_OK;

fail:
    /* A job that ends here (failed or cancelled, not suspended) says so to
     * TensorBoard; the first error stays the one reported. */
    if (j.w && session_started) {
        struct ae_err ignored = {0};
        end_session(&j, TB_SESSION_FAILURE, last_step, &ignored);
    }
    tb_writer_close(j.w, &terr);
fail_closed:
    ae_trainer_free(j.t);
    return st;
}

/* See srv_run.h. */
enum ae_status srv_run_mkdirs(const char *path, struct ae_err *err)
{
    char buf[4096];
    if (!path || !*path) return ae_err_set(err, AE_ERR_ARG, "empty directory path");
    if ((size_t)snprintf(buf, sizeof buf, "%s", path) >= sizeof buf)
        return ae_err_set(err, AE_ERR_ARG, "%.64s...: path too long", path);
    /* Each prefix ending at a '/', then the whole path. */
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return ae_err_set(err, AE_ERR_IO, "%s: cannot create directory: %s", buf,
                              strerror(errno));
        *p = saved;
        if (saved == '\0') break;
    }
    struct stat sb;
    if (stat(path, &sb) != 0)
        return ae_err_set(err, AE_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return ae_err_set(err, AE_ERR_IO, "%s: not a directory", path);
    return AE_OK;
}

/* The epoch of a weights file's name "epoch-NNNN.aew", or -1. */
static int weights_epoch(const char *name)
{
    char *end;
    long ep;
    if (strncmp(name, "epoch-", 6) != 0) return -1;
    ep = strtol(name + 6, &end, 10);
    if (end == name + 6 || strcmp(end, ".aew") != 0 || ep < 0 || ep > 1000000) return -1;
    return (int)ep;
}

enum ae_status srv_run_prune(const char *run_dir, struct ae_err *err)
{
    char path[4600];
    struct dirent *e;
    DIR *d;
    int last = -1;

    snprintf(path, sizeof path, "%s/%s", run_dir, CHECKPOINT_NAME);
    if (unlink(path) != 0 && errno != ENOENT)
        return ae_err_set(err, AE_ERR_IO, "%s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/weights", run_dir);
    d = opendir(path);
    if (!d)
        return errno == ENOENT ? AE_OK
                               : ae_err_set(err, AE_ERR_IO, "%s: %s", path, strerror(errno));
    /* Two passes: find the last epoch, then remove the others. */
    while ((e = readdir(d)) != NULL)
        if (weights_epoch(e->d_name) > last) last = weights_epoch(e->d_name);
    rewinddir(d);
    while ((e = readdir(d)) != NULL) {
        int ep = weights_epoch(e->d_name);
        if (ep < 0 || ep == last) continue;
        snprintf(path, sizeof path, "%s/weights/%s", run_dir, e->d_name);
        if (unlink(path) != 0 && errno != ENOENT) {
            enum ae_status st = ae_err_set(err, AE_ERR_IO, "%s: %s", path, strerror(errno));
            closedir(d);
            return st;
        }
    }
    closedir(d);
    return AE_OK;
}
