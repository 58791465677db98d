/*
 * cli_train.c - `aelab train`: train one model from the command line.
 *
 * Owns: the train subcommand's flags, the Keras-like epoch lines and live
 * progress bar, the --json lines the benchmarks read, --checkpoint/--resume
 * for plain runs, picking a fresh `cli-NNNN-<model>` run directory for
 * --logdir, and Ctrl-C (stop at the next batch, save, say how to resume).
 * For executors (aelabd's Slurm executor): --run-dir (train in exactly that
 * directory, resuming from its checkpoint), --job-id, --run-name, and
 * --progress (the progress file, written by cli_progress.c); there SIGTERM
 * and SIGINT suspend the job (checkpoint kept) and exit 0.
 *
 * Does not: write event files or run-directory contents itself: with
 * --logdir the job goes through srv_run_job, exactly as a daemon worker's
 * job does, so both leave the same run directory.
 *
 * Design: two ways to run, one reporter.  Without --logdir the trainer is
 * driven here epoch by epoch; with --logdir srv_run_job drives it.  Both
 * report through the same on_batch/on_epoch functions, so the output is the
 * same either way.  Everything that is not the job's result (run directory,
 * hints) goes to stderr in --json mode, so stdout is pure JSON lines.
 * --run-dir runs are --logdir runs whose directory is given, not picked.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_progress.h"
#include "srv_data.h"
#include "srv_run.h"

#define CHECKPOINT_NAME "checkpoint.aeck"

struct train_args {
    const char *model, *dataset, *data_dir, *checkpoint, *resume, *logdir;
    const char *run_dir, *job_id, *run_name, *progress; /* for executors */
    bool json;
    struct cli_settings settings;
};

/* Set by SIGINT (and SIGTERM with --run-dir); read between batches. */
static volatile sig_atomic_t stop_requested;

/* With --run-dir: why the job failed, for the progress file's end line. */
static char fail_text[1200];

static void on_sigint(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: aelab train --model M [--dataset D] [--data-dir DIR] [--epochs N]\n"
            "                   [--batch-size B] [--threads T] [--seed S]\n"
            "                   [--checkpoint FILE] [--resume FILE|RUN_DIR] [--logdir DIR]\n"
            "                   [--json] [--<setting> V ...]\n"
            "\n"
            "Train one of the tutorial's autoencoders and print Keras-like epoch lines.\n"
            "\n"
            "  --model M          simple, sparse, deep, conv, denoise or vae\n"
            "  --dataset D        mnist (default) or fashion-mnist\n"
            "  --data-dir DIR     directory with the four IDX files, or with a\n"
            "                     subdirectory per data set (default ./data/<name>/;\n"
            "                     fashion-mnist also /usr/share/datasets/fashion-mnist)\n"
            "  --checkpoint FILE  write a full checkpoint after every epoch (and on Ctrl-C)\n"
            "  --resume FILE      continue from a checkpoint (model and settings come from\n"
            "                     it; --epochs may raise the total); keeps writing FILE\n"
            "  --resume RUN_DIR   continue a --logdir run in its own directory\n"
            "  --logdir DIR       write TensorBoard event files, weights and checkpoints to a\n"
            "                     new run directory DIR/cli-NNNN-<model>\n"
            "  --json             one JSON object per epoch, and a final summary line\n"
            "\n"
            "For executors (aelabd runs jobs on other machines with these):\n"
            "  --run-dir DIR      train in exactly DIR (created if missing), resuming from\n"
            "                     DIR/checkpoint.aeck if it exists; SIGTERM or SIGINT saves\n"
            "                     the checkpoint and exits 0 (the same command resumes)\n"
            "  --job-id N         the daemon's job id (shown in the run's text summary)\n"
            "  --run-name NAME    the run's name in its text summary (default: DIR's name)\n"
            "  --progress FILE    append progress as JSON lines (start, batch, epoch, end)\n"
            "  --help             this text\n"
            "\n"
            "Settings (from the engine's table; defaults are the tutorial's):\n");
    cli_settings_help(out);
}

/* ------------------------------------------------------------------------ */
/* Reporting                                                                */
/* ------------------------------------------------------------------------ */

struct reporter {
    bool json;
    bool tty;           /* draw the live progress bar */
    int32_t epochs;
    int32_t skip_upto;  /* on resume: epochs reported by an earlier run */
    int64_t n_samples;  /* training images per epoch, for the bar */
    double last_draw;
    bool bar_shown;
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void report_batch(struct reporter *r, const struct ae_progress *p)
{
    if (!r->tty) return;
    double t = now_seconds();
    if (p->batch != p->n_batches && t - r->last_draw < 0.1) return;
    r->last_draw = t;
    enum { WIDTH = 30 };
    int64_t total = r->n_samples > 0 ? r->n_samples : p->samples;
    int filled = total > 0 ? (int)(WIDTH * p->samples / total) : WIDTH;
    if (filled > WIDTH) filled = WIDTH;
    char bar[WIDTH + 1];
    for (int k = 0; k < WIDTH; k++) bar[k] = k < filled ? '=' : '.';
    if (filled < WIDTH && filled > 0) bar[filled - 1] = '>';
    bar[WIDTH] = '\0';
    printf("\rEpoch %d/%d %lld/%lld [%s] - loss: %.4f", p->epoch, p->n_epochs,
           (long long)p->samples, (long long)total, bar, p->loss);
    fflush(stdout);
    r->bar_shown = true;
}

static void report_epoch(struct reporter *r, const struct ae_epoch_stats *s,
                         enum ae_model_kind kind)
{
    if (s->epoch <= r->skip_upto) return;
    if (r->bar_shown) {
        printf("\r\033[K");
        r->bar_shown = false;
    }
    if (r->json) {
        size_t n;
        const struct ae_metric *t = ae_metrics(&n);
        json_t *o = json_object();
        json_object_set_new(o, "epoch", json_integer(s->epoch));
        json_object_set_new(o, "epochs", json_integer(r->epochs));
        for (size_t i = 0; i < n; i++)
            if (ae_metric_applies(&t[i], kind))
                json_object_set_new(o, t[i].name, json_real(ae_metric_get(s, i)));
        json_dumpf(o, stdout, JSON_COMPACT);
        json_decref(o);
        putchar('\n');
    } else {
        printf("Epoch %d/%d - %.2fs - loss: %.4f - val_loss: %.4f", s->epoch, r->epochs,
               s->train_seconds, s->loss, s->val_loss);
        if (kind == AE_MODEL_VAE)
            printf(" - reconstruction_loss: %.4f - kl_loss: %.4f - val_reconstruction_loss: %.4f"
                   " - val_kl_loss: %.4f",
                   s->reconstruction_loss, s->kl_loss, s->val_reconstruction_loss, s->val_kl_loss);
        putchar('\n');
    }
    fflush(stdout);
}

/* Lines that are not results: stdout normally, stderr under --json. */
static FILE *info_out(const struct reporter *r) { return r->json ? stderr : stdout; }

/* ------------------------------------------------------------------------ */
/* Plain runs: the trainer driven here                                      */
/* ------------------------------------------------------------------------ */

static void plain_on_batch(void *user, const struct ae_progress *p)
{
    report_batch(user, p);
}

static bool plain_should_stop(void *user)
{
    (void)user;
    return stop_requested != 0;
}

static int run_plain(const struct train_args *a, const struct ae_config *cfg,
                     const struct ae_dataset *ds, struct reporter *rep, int64_t *n_params)
{
    struct ae_trainer *t = NULL;
    struct ae_err err = {0};
    int rc = CLI_EXIT_FAIL;
    const char *ck = a->checkpoint ? a->checkpoint : a->resume;

    if (ae_trainer_new(cfg, ds, &t, &err) != AE_OK) {
        fprintf(stderr, "aelab train: %s\n", err.msg);
        goto fail;
    }
    *n_params = ae_model_n_params(ae_trainer_model(t));
    if (a->resume) {
        if (ae_trainer_load(t, a->resume, &err) != AE_OK) {
            fprintf(stderr, "aelab train: %s\n", err.msg);
            goto fail;
        }
        fprintf(info_out(rep), "Resuming from %s after epoch %d\n", a->resume,
                ae_trainer_epoch(t));
    }
    if (ae_trainer_epoch(t) >= cfg->epochs)
        fprintf(info_out(rep), "Nothing to do: %d of %d epochs are done (raise --epochs)\n",
                ae_trainer_epoch(t), cfg->epochs);
    struct ae_hooks hooks = {.on_batch = plain_on_batch, .should_stop = plain_should_stop,
                             .user = rep};
    while (ae_trainer_epoch(t) < cfg->epochs) {
        struct ae_epoch_stats s;
        enum ae_status st = ae_trainer_run_epoch(t, &hooks, &s, &err);
        if (st == AE_ERR_CANCELLED) {
            if (rep->bar_shown) printf("\n");
            if (ck) {
                /* The engine saves mid-epoch state, so resuming finishes
                 * this same epoch. */
                if (ae_trainer_save(t, ck, &err) != AE_OK) {
                    fprintf(stderr, "aelab train: interrupted; saving the checkpoint failed: %s\n",
                            err.msg);
                    goto fail;
                }
                fprintf(stderr,
                        "aelab train: interrupted during epoch %d; checkpoint saved to %s\n"
                        "resume with: aelab train --resume %s --dataset %s%s%s\n",
                        ae_trainer_epoch(t) + 1, ck, ck, a->dataset,
                        a->data_dir ? " --data-dir " : "", a->data_dir ? a->data_dir : "");
            } else {
                fprintf(stderr, "aelab train: interrupted during epoch %d (no checkpoint: "
                                "use --checkpoint FILE to be able to resume)\n",
                        ae_trainer_epoch(t) + 1);
            }
            rc = CLI_EXIT_INTERRUPTED;
            goto fail;
        }
        if (st != AE_OK) {
            if (rep->bar_shown) printf("\n");
            fprintf(stderr, "aelab train: %s\n", err.msg);
            goto fail;
        }
        if (ck && ae_trainer_save(t, ck, &err) != AE_OK) {
            fprintf(stderr, "aelab train: %s\n", err.msg);
            goto fail;
        }
        report_epoch(rep, &s, cfg->model);
    }
    rc = CLI_EXIT_OK;
fail:
    ae_trainer_free(t);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* --logdir runs: srv_run_job drives the trainer                            */
/* ------------------------------------------------------------------------ */

struct logdir_ctx {
    struct reporter *rep;
    enum ae_model_kind kind;
    struct cli_progress *pg; /* NULL without --progress */
    int32_t epochs;
};

static void run_on_start(void *user, int32_t start_epoch)
{
    struct logdir_ctx *c = user;
    c->rep->skip_upto = start_epoch;
    cli_progress_start(c->pg, start_epoch, c->epochs);
    if (start_epoch > 0) fprintf(info_out(c->rep), "Resuming after epoch %d\n", start_epoch);
}

static void run_on_batch(void *user, const struct ae_progress *p)
{
    struct logdir_ctx *c = user;
    report_batch(c->rep, p);
    cli_progress_batch(c->pg, p);
}

static enum ae_status run_on_epoch(void *user, const struct ae_epoch_stats *s,
                                   struct ae_err *err)
{
    struct logdir_ctx *c = user;
    report_epoch(c->rep, s, c->kind);
    /* Also the epochs a resumed job replays from its checkpoint's history:
     * the reader upserts, and this way none is missing after a crash. */
    cli_progress_epoch(c->pg, s, c->kind);
    const char *why = cli_progress_failed(c->pg);
    if (why) return ae_err_set(err, AE_ERR_IO, "progress file: %s", why);
    return AE_OK;
}

static enum srv_run_next run_next(void *user)
{
    (void)user;
    return stop_requested ? SRV_RUN_SUSPEND : SRV_RUN_CONTINUE;
}

/* Create logdir/cli-NNNN-<model> with the next number after the highest one
 * there.  mkdir either creates the directory or fails with EEXIST, so two
 * CLIs starting at once never share one: the loser moves on to the next
 * number.  The "cli-" prefix keeps clear of the daemon's "NNNN-<model>". */
static int make_run_dir(const char *logdir, const char *model, char *out, size_t len)
{
    struct ae_err err = {0};
    if (srv_run_mkdirs(logdir, &err) != AE_OK) {
        fprintf(stderr, "aelab train: %s\n", err.msg);
        return -1;
    }
    int highest = 0;
    DIR *d = opendir(logdir);
    if (!d) {
        fprintf(stderr, "aelab train: %s: cannot read: %s\n", logdir, strerror(errno));
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        int n = 0, used = 0;
        if (sscanf(de->d_name, "cli-%d-%n", &n, &used) == 1 && used > 0 && n > highest)
            highest = n;
    }
    closedir(d);
    for (int n = highest + 1; n < highest + 10000; n++) {
        if (snprintf(out, len, "%s/cli-%04d-%s", logdir, n, model) >= (int)len) {
            fprintf(stderr, "aelab train: %s: path too long\n", logdir);
            return -1;
        }
        if (mkdir(out, 0777) == 0) return 0;
        if (errno != EEXIST) {
            fprintf(stderr, "aelab train: %s: cannot create: %s\n", out, strerror(errno));
            return -1;
        }
    }
    fprintf(stderr, "aelab train: %s: no free run directory name\n", logdir);
    return -1;
}

/* *suspended: with --run-dir, the job stopped on a signal with its
 * checkpoint saved (exit status 0). */
static int run_logdir(const struct train_args *a, const char *run_dir, const char *logdir,
                      const char *dataset, const struct ae_config *cfg,
                      const struct ae_dataset *ds, struct reporter *rep,
                      struct cli_progress *pg, int64_t job_id, bool *suspended)
{
    const char *slash = strrchr(run_dir, '/');
    struct srv_run_opts o = {
        .run_dir = run_dir,
        .run_name = a->run_name ? a->run_name : slash ? slash + 1 : run_dir,
        .job_id = job_id,
        .dataset_name = dataset,
        .cfg = cfg,
        .ds = ds,
        .clock = NULL,
    };
    struct logdir_ctx ctx = {.rep = rep, .kind = cfg->model, .pg = pg, .epochs = cfg->epochs};
    struct srv_run_hooks h = {
        .on_start = run_on_start,
        .on_batch = run_on_batch,
        .on_epoch = run_on_epoch,
        .next = run_next,
        .user = &ctx,
    };
    FILE *info = info_out(rep);
    fprintf(info, "Run directory: %s\nWatch it with: tensorboard --logdir %s\n", run_dir, logdir);
    fflush(info);
    struct ae_err err = {0};
    enum ae_status st = srv_run_job(&o, &h, &err);
    if (rep->bar_shown) printf("\n");
    if (st == AE_ERR_CANCELLED && a->run_dir) {
        fprintf(stderr, "aelab train: suspended; the checkpoint is in %s (the same command "
                        "resumes)\n", run_dir);
        *suspended = true;
        return CLI_EXIT_OK;
    }
    if (st == AE_ERR_CANCELLED) {
        fprintf(stderr,
                "aelab train: interrupted; the job is saved in %s\n"
                "resume with: aelab train --resume %s --dataset %s%s%s\n",
                run_dir, run_dir, dataset, a->data_dir ? " --data-dir " : "",
                a->data_dir ? a->data_dir : "");
        return CLI_EXIT_INTERRUPTED;
    }
    if (st != AE_OK) {
        fprintf(stderr, "aelab train: %s\n", err.msg);
        snprintf(fail_text, sizeof fail_text, "%s", err.msg[0] ? err.msg : ae_status_str(st));
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* main                                                                     */
/* ------------------------------------------------------------------------ */

/* 0 parsed, 1 --help, -1 usage error (printed). */
static int parse_args(int argc, char **argv, struct train_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int r;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) return 1;
        if (strcmp(arg, "--json") == 0) {
            a->json = true;
            continue;
        }
        static const struct {
            const char *name;
            size_t off;
        } flags[] = {
            {"model", offsetof(struct train_args, model)},
            {"dataset", offsetof(struct train_args, dataset)},
            {"data-dir", offsetof(struct train_args, data_dir)},
            {"checkpoint", offsetof(struct train_args, checkpoint)},
            {"resume", offsetof(struct train_args, resume)},
            {"logdir", offsetof(struct train_args, logdir)},
            {"run-dir", offsetof(struct train_args, run_dir)},
            {"job-id", offsetof(struct train_args, job_id)},
            {"run-name", offsetof(struct train_args, run_name)},
            {"progress", offsetof(struct train_args, progress)},
        };
        bool matched = false;
        for (size_t k = 0; k < sizeof flags / sizeof flags[0] && !matched; k++) {
            const char **slot = (const char **)((char *)a + flags[k].off);
            r = cli_flag_value("train", argc, argv, &i, flags[k].name, slot);
            if (r < 0) return -1;
            matched = r == 1;
        }
        if (matched) continue;
        r = cli_settings_take("train", &a->settings, argc, argv, &i);
        if (r < 0) return -1;
        if (r == 1) continue;
        if (strncmp(arg, "--", 2) == 0)
            fprintf(stderr, "aelab train: unknown option '%s' (see aelab train --help)\n", arg);
        else
            fprintf(stderr, "aelab train: unexpected argument '%s' (see aelab train --help)\n",
                    arg);
        return -1;
    }
    return 0;
}

/* This process's peak resident set size.  VmHWM belongs to the address space
 * made by execve, whereas ru_maxrss is carried over from the parent across
 * fork + exec (a benchmark driver's own peak would show up as ours). */
static long long peak_rss_bytes(void)
{
    long long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "VmHWM: %lld kB", &kb) == 1) break;
        fclose(f);
    }
    if (kb < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kb = ru.ru_maxrss;
    }
    return kb * 1024;
}

/* The run given by the flags (after parse_args); pg, job_id: --run-dir's
 * executor flags.  *suspended as for run_logdir. */
static int train(struct train_args *a_in, struct cli_progress *pg, int64_t job_id,
                 bool *suspended)
{
    struct train_args a = *a_in;
    const char *dataset = srv_data_canonical(a.dataset ? a.dataset : "mnist");
    if (!dataset) {
        fprintf(stderr, "aelab train: --dataset: unknown data set '%s' (valid: mnist, "
                        "fashion-mnist)\n", a.dataset);
        return CLI_EXIT_USAGE;
    }
    a.dataset = dataset;

    /* Where the config comes from: the model's defaults, or a checkpoint. */
    struct ae_config cfg;
    struct ae_err err = {0};
    char run_dir[4096] = "", resume_ck[4200] = "";
    bool resume_run_dir = false;
    struct stat sb;
    if (a.resume) {
        resume_run_dir = stat(a.resume, &sb) == 0 && S_ISDIR(sb.st_mode);
        if (resume_run_dir) {
            if (a.logdir || a.checkpoint) {
                fprintf(stderr, "aelab train: --resume RUN_DIR continues that run in place; "
                                "drop --logdir and --checkpoint\n");
                return CLI_EXIT_USAGE;
            }
            snprintf(run_dir, sizeof run_dir, "%s", a.resume);
            snprintf(resume_ck, sizeof resume_ck, "%s/%s", a.resume, CHECKPOINT_NAME);
        } else {
            if (a.logdir) {
                fprintf(stderr, "aelab train: --resume FILE cannot start a --logdir run; "
                                "resume a --logdir run with --resume RUN_DIR\n");
                return CLI_EXIT_USAGE;
            }
            snprintf(resume_ck, sizeof resume_ck, "%s", a.resume);
        }
        int32_t done = 0;
        if (ae_checkpoint_read_config(resume_ck, &cfg, &done, &err) != AE_OK) {
            fprintf(stderr, "aelab train: --resume: %s\n", err.msg);
            return CLI_EXIT_FAIL;
        }
        if (a.model) {
            enum ae_model_kind kind;
            if (!cli_model_parse("train", a.model, &kind)) return CLI_EXIT_USAGE;
            if (kind != cfg.model) {
                fprintf(stderr, "aelab train: --model %s, but %s holds a %s model\n", a.model,
                        resume_ck, ae_model_name(cfg.model));
                return CLI_EXIT_USAGE;
            }
        }
    } else {
        if (a.logdir && a.checkpoint) {
            fprintf(stderr, "aelab train: --checkpoint and --logdir: the run directory holds "
                            "the checkpoint; use one of them\n");
            return CLI_EXIT_USAGE;
        }
        enum ae_model_kind kind;
        if (!cli_model_parse("train", a.model, &kind)) return CLI_EXIT_USAGE;
        ae_config_defaults(&cfg, kind);
        cfg.threads = cli_default_threads();
    }
    if (!cli_settings_apply("train", &a.settings, &cfg)) return CLI_EXIT_USAGE;
    if (ae_config_check(&cfg, &err) != AE_OK) {
        fprintf(stderr, "aelab train: %s\n", err.msg);
        return CLI_EXIT_USAGE;
    }

    /* The data. */
    struct srv_data *reg = NULL;
    const struct ae_dataset *ds = NULL;
    if (srv_data_new(a.data_dir, &reg, &err) != AE_OK ||
        srv_data_get(reg, dataset, &ds, NULL, &err) != AE_OK) {
        fprintf(stderr, "aelab train: %s\n", err.msg);
        snprintf(fail_text, sizeof fail_text, "%s", err.msg);
        srv_data_free(reg);
        return CLI_EXIT_FAIL;
    }

    struct reporter rep = {
        .json = a.json,
        .tty = !a.json && isatty(STDOUT_FILENO),
        .epochs = cfg.epochs,
        .n_samples = cfg.train_size > 0 && cfg.train_size < ds->n_train ? cfg.train_size
                                                                        : ds->n_train,
    };

    if (!a.run_dir) { /* --run-dir set its handlers before loading the data */
        struct sigaction sa = {0};
        sa.sa_handler = on_sigint;
        sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C ends the process at once */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
    }

    int64_t n_params = 0;
    int rc;
    if (a.logdir || resume_run_dir || a.run_dir) {
        char logdir[4096];
        if (a.run_dir) {
            snprintf(run_dir, sizeof run_dir, "%s", a.run_dir);
            size_t n = strlen(run_dir);
            while (n > 1 && run_dir[n - 1] == '/') run_dir[--n] = '\0';
        }
        if (resume_run_dir || a.run_dir) {
            snprintf(logdir, sizeof logdir, "%s", run_dir);
            char *slash = strrchr(logdir, '/');
            if (slash && slash != logdir) *slash = '\0';
            else snprintf(logdir, sizeof logdir, ".");
        } else {
            snprintf(logdir, sizeof logdir, "%s", a.logdir);
            if (make_run_dir(a.logdir, ae_model_name(cfg.model), run_dir, sizeof run_dir) != 0) {
                srv_data_put(reg, ds);
                srv_data_free(reg);
                return CLI_EXIT_FAIL;
            }
        }
        struct ae_model *m = NULL;
        if (ae_model_new(&cfg, &m, &err) == AE_OK) n_params = ae_model_n_params(m);
        ae_model_free(m);
        rc = run_logdir(&a, run_dir, logdir, dataset, &cfg, ds, &rep, pg, job_id, suspended);
    } else {
        rc = run_plain(&a, &cfg, ds, &rep, &n_params);
    }

    if (rc == CLI_EXIT_OK && !*suspended && a.json) {
        json_t *o = json_object();
        json_object_set_new(o, "done", json_true());
        json_object_set_new(o, "params", json_integer(n_params));
        json_object_set_new(o, "peak_rss_bytes", json_integer((json_int_t)peak_rss_bytes()));
        json_dumpf(o, stdout, JSON_COMPACT);
        json_decref(o);
        putchar('\n');
        fflush(stdout);
    }
    srv_data_put(reg, ds);
    srv_data_free(reg);
    return rc;
}

/* The executor flags' rules: --run-dir excludes --logdir, --checkpoint and
 * --resume; --job-id, --run-name and --progress need it.  False after
 * printing a usage error. */
static bool check_executor_flags(const struct train_args *a, int64_t *job_id)
{
    static const char *const need[3] = {"--job-id", "--run-name", "--progress"};
    const char *given[3] = {a->job_id, a->run_name, a->progress};
    if (!a->run_dir) {
        for (int k = 0; k < 3; k++)
            if (given[k]) {
                fprintf(stderr, "aelab train: %s needs --run-dir\n", need[k]);
                return false;
            }
        return true;
    }
    if (!a->run_dir[0]) {
        fprintf(stderr, "aelab train: --run-dir: expected a directory, got ''\n");
        return false;
    }
    if (a->logdir) {
        fprintf(stderr, "aelab train: --run-dir and --logdir cannot be used together "
                        "(--run-dir names the run directory itself)\n");
        return false;
    }
    if (a->checkpoint) {
        fprintf(stderr, "aelab train: --run-dir and --checkpoint cannot be used together "
                        "(the run directory holds the checkpoint)\n");
        return false;
    }
    if (a->resume) {
        fprintf(stderr, "aelab train: --run-dir and --resume cannot be used together "
                        "(--run-dir resumes from DIR/" CHECKPOINT_NAME " by itself)\n");
        return false;
    }
    if (a->job_id) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(a->job_id, &end, 10);
        if (end == a->job_id || *end != '\0' || errno == ERANGE || v < 1) {
            fprintf(stderr, "aelab train: --job-id: expected a whole number >= 1, got '%s'\n",
                    a->job_id);
            return false;
        }
        *job_id = v;
    }
    if (a->run_name && !a->run_name[0]) {
        fprintf(stderr, "aelab train: --run-name: expected a name, got ''\n");
        return false;
    }
    if (a->progress && !a->progress[0]) {
        fprintf(stderr, "aelab train: --progress: expected a file, got ''\n");
        return false;
    }
    return true;
}

int cli_train_main(int argc, char **argv)
{
    struct train_args a = {0};
    int r = parse_args(argc, argv, &a);
    if (r == 1) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (r < 0) return CLI_EXIT_USAGE;
    int64_t job_id = 0;
    if (!check_executor_flags(&a, &job_id)) return CLI_EXIT_USAGE;
    bool suspended = false;
    if (!a.run_dir) return train(&a, NULL, 0, &suspended);

    /* An executor's run: the progress file and the signals come first, so
     * whatever happens next ends with an end line. */
    struct cli_progress *pg = NULL;
    if (a.progress) {
        char why[1200];
        pg = cli_progress_open(a.progress, why, sizeof why);
        if (!pg) {
            fprintf(stderr, "aelab train: --progress: %s\n", why);
            return CLI_EXIT_FAIL;
        }
    }
    /* SIGTERM is what scancel, requeue and preemption send.  Not reset after
     * the first: a repeated SIGTERM must not kill the job while it saves. */
    struct sigaction sa = {0};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C ends the process at once */
    sigaction(SIGINT, &sa, NULL);

    fail_text[0] = '\0';
    int rc = train(&a, pg, job_id, &suspended);
    const char *why = cli_progress_failed(pg);
    if (rc == CLI_EXIT_OK && why) {
        fprintf(stderr, "aelab train: progress file: %s\n", why);
        snprintf(fail_text, sizeof fail_text, "progress file: %s", why);
        rc = CLI_EXIT_FAIL;
    }
    if (rc == CLI_EXIT_OK)
        cli_progress_end(pg, suspended ? "suspended" : "succeeded", NULL);
    else if (rc == CLI_EXIT_USAGE)
        cli_progress_end(pg, "failed", "bad usage (exit status 2; the message is on stderr)");
    else
        cli_progress_end(pg, "failed", fail_text[0] ? fail_text : "see the job's stderr");
    cli_progress_close(pg);
    return rc;
}
