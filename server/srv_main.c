/*
 * srv_main.c - aelabd's main(): flags, start-up, signals and shutdown.
 *
 * Owns the process state (struct srv_app, one instance, on main's stack)
 * and the order in which things start and stop.  It handles no requests
 * and trains nothing.
 *
 * DESIGN: SIGINT and SIGTERM are blocked in every thread (the mask is set
 * before the first thread starts and inherited), and the main thread
 * waits for them with sigwait(): no async-signal handler, no self-pipe.
 * Shutdown order: stop accepting -> ask running jobs to suspend at their
 * next batch -> end event streams -> close HTTP (handlers read the
 * executor) -> wake and stop the executor (local: join workers; slurm: its
 * threads, the Slurm jobs keep running) -> close the database.  A second signal during shutdown kills the
 * process at once (the database and run directories are crash-safe).
 *
 * Start-up order matters for crash safety: jobs left "running" by a crash
 * or a shutdown are queued again, together with the queued ones, in id
 * (= submission) order; srv_run_job resumes each from its checkpoint.
 * Jobs already handed to Slurm (a Slurm job id) are not queued: the Slurm
 * executor re-attaches them (srv_executor_owns).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srv_api_service.h"
#include "srv_app.h"
#include "srv_executor.h"
#include "srv_http.h"
#include "srv_job.h"
#include "srv_latent.h"
#include "srv_log.h"
#include "srv_run.h"
#include "srv_slurm_cmd.h"
#include "srv_sweeps.h"
#include "srv_testhook.h"

extern const char srv_openapi_doc[];
extern const unsigned long srv_openapi_doc_len;

#ifndef SRV_SOURCE_WEB_ROOT
#define SRV_SOURCE_WEB_ROOT ""
#endif

static int cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* How to get TensorBoard (Debian 12 does not package it): said at start-up
 * when it is not on the PATH, and in README.md. */
#define TB_INSTALL_LINE "pip install tensorboard (or pipx install tensorboard), any 2.x"

/* mkdir -p */
static int make_dirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    return 0;
}

static bool is_dir(const char *p)
{
    struct stat sb;
    return p && *p && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* ------------------------------------------------------------------------ */
/* Start-up                                                                 */
/* ------------------------------------------------------------------------ */

static int read_token(struct srv_app *app, struct ae_err *err)
{
    FILE *f = fopen(app->cfg.token_file, "r");
    size_t n;
    if (!f) {
        srv_err_set(err, SRV_ERR_IO, "--token-file %s: %s", app->cfg.token_file, strerror(errno));
        return -1;
    }
    n = fread(app->token, 1, sizeof app->token - 1, f);
    if (!feof(f)) {
        fclose(f);
        srv_err_set(err, SRV_ERR_ARG, "--token-file %s: the token is longer than %zu bytes",
                    app->cfg.token_file, sizeof app->token - 1);
        return -1;
    }
    fclose(f);
    app->token[n] = '\0';
    while (n && (app->token[n - 1] == '\n' || app->token[n - 1] == '\r' ||
                 app->token[n - 1] == ' ' || app->token[n - 1] == '\t'))
        app->token[--n] = '\0';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)app->token[i];
        if (c <= 0x20 || c > 0x7e) {
            srv_err_set(err, SRV_ERR_ARG,
                        "--token-file %s: the token must be printable ASCII without spaces",
                        app->cfg.token_file);
            return -1;
        }
    }
    if (n == 0) {
        srv_err_set(err, SRV_ERR_ARG, "--token-file %s is empty", app->cfg.token_file);
        return -1;
    }
    return 0;
}

/* --web-root, else ./web, else the source tree's web/ (when run from a
 * build directory of this checkout); "" when none exists. */
static void resolve_web_root(struct srv_app *app)
{
    const char *cands[3] = {app->cfg.web_root, app->cfg.web_root ? NULL : "./web",
                            app->cfg.web_root ? NULL : SRV_SOURCE_WEB_ROOT};
    char real[PATH_MAX];
    app->web_root[0] = '\0';
    for (int i = 0; i < 3; i++) {
        if (!cands[i] || !is_dir(cands[i]) || !realpath(cands[i], real)) continue;
        snprintf(app->web_root, sizeof app->web_root, "%s", real);
        return;
    }
}

struct load_ctx {
    struct srv_app *app;
    int64_t *pending; /* ids to queue, in id order */
    bool *was_running; /* per pending id: left running by a crash or shutdown */
    size_t n_pending, cap_pending;
    int failed;
    int64_t *bad;      /* ids of records whose settings could not be read */
    int n_bad;
    int64_t *cancelled; /* ids of unfinished jobs whose cancel was accepted */
    int n_cancelled;
};

static bool note_id(int64_t **ids, int *n, int64_t id)
{
    int64_t *p = realloc(*ids, (size_t)(*n + 1) * sizeof *p);
    if (!p) return false;
    *ids = p;
    p[(*n)++] = id;
    return true;
}

static int on_load_job(void *user, const struct srv_store_job *r)
{
    struct load_ctx *c = user;
    struct ae_config cfg;
    struct ae_err e = {0};
    enum srv_job_state st;
    json_error_t je;
    json_t *settings = json_loads(r->settings, 0, &je);
    struct srv_job *j;
    bool bad = false;

    if (!srv_job_state_parse(r->state, &st)) st = SRV_JOB_FAILED;
    if (!settings || srv_jobspec_from_settings(r->model, settings, &cfg, &e) != SRV_OK) {
        /* A record this version cannot run (edited by hand?): keep it, as failed. */
        enum ae_model_kind k = AE_MODEL_SIMPLE;
        ae_model_parse(r->model, &k);
        ae_config_defaults(&cfg, k);
        bad = true;
    }
    json_decref(settings);
    j = srv_job_new(r->id, r->name, r->model, r->dataset, &cfg,
                    st == SRV_JOB_RUNNING ? SRV_JOB_QUEUED : st, r->created_at);
    if (!j) return 1;
    srv_job_restore(j, r->started_at, r->finished_at, r->error);
    srv_job_set_placement(j, NULL, NULL, r->executor ? r->executor : "local",
                          r->slurm_job_id ? r->slurm_job_id : "", r->node ? r->node : "", NULL);
    srv_job_set_sweep(j, r->sweep_id, r->run_parent);
    srv_job_set_keep(j, r->keep_final);
    if (bad && !srv_job_state_final(st)) {
        /* Memory only here (the store is busy loading); written below. */
        srv_job_finish(j, NULL, NULL, SRV_JOB_FAILED, "stored settings could not be read", 0, NULL);
        c->failed++;
        note_id(&c->bad, &c->n_bad, r->id);
    } else if (r->cancel_requested && !srv_job_state_final(st) &&
               srv_executor_owns(c->app->executor, j)) {
        /* The same for a Slurm job, which may still run: the executor
         * re-attaches it, sees the request, scancels it and records the
         * end (its checkpoint kept). */
        srv_job_request_cancel(j, NULL);
    } else if (r->cancel_requested && !srv_job_state_final(st)) {
        /* Its cancel was answered 202 but the daemon stopped before the job
         * did: the user's request stands.  Written below, as above. */
        srv_job_finish(j, NULL, NULL, SRV_JOB_CANCELLED, NULL, 0, NULL);
        note_id(&c->cancelled, &c->n_cancelled, r->id);
    }
    if (srv_registry_add(c->app->registry, j, &e) != SRV_OK) {
        srv_job_unref(j);
        return 1;
    }
    if (!srv_job_state_final(srv_job_get_state(j))) {
        if (c->n_pending == c->cap_pending) {
            size_t cap = c->cap_pending ? c->cap_pending * 2 : 64;
            int64_t *p = realloc(c->pending, cap * sizeof *p);
            bool *w = realloc(c->was_running, cap * sizeof *w);
            if (p) c->pending = p;
            if (w) c->was_running = w;
            if (!p || !w) {
                srv_job_unref(j);
                return 1;
            }
            c->cap_pending = cap;
        }
        c->was_running[c->n_pending] = st == SRV_JOB_RUNNING;
        c->pending[c->n_pending++] = r->id;
    }
    srv_job_unref(j);
    return 0;
}

static int on_load_metric(void *user, int64_t id, const struct ae_epoch_stats *m)
{
    struct load_ctx *c = user;
    struct srv_job *j = srv_registry_get(c->app->registry, id);
    int rc = 0;
    if (!j) return 0; /* orphan row */
    if (srv_job_put_row(j, m, NULL) != SRV_OK) rc = 1;
    srv_job_unref(j);
    return rc;
}

static enum srv_status load_jobs(struct srv_app *app, struct ae_err *err)
{
    struct load_ctx c = {.app = app};
    enum srv_status st = srv_store_load(app->store, on_load_job, on_load_metric, &c, err);
    /* Records that could not be read become failed ones. */
    for (int i = 0; st == SRV_OK && i < c.n_bad; i++) {
        struct srv_job *j = srv_registry_get(app->registry, c.bad[i]);
        if (!j) continue;
        srv_store_job_update(app->store, j->id, "failed", j->started_at, j->finished_at, j->error,
                             NULL);
        srv_job_unref(j);
    }
    free(c.bad);
    for (int i = 0; st == SRV_OK && i < c.n_cancelled; i++) {
        struct srv_job *j = srv_registry_get(app->registry, c.cancelled[i]);
        if (!j) continue;
        srv_store_job_update(app->store, j->id, "cancelled", j->started_at, j->finished_at, NULL,
                             NULL);
        srv_log(SRV_LOG_INFO, j->id, "msg=\"job was cancelled before the restart; not resumed\"");
        srv_job_unref(j);
    }
    free(c.cancelled);
    for (size_t i = 0; st == SRV_OK && i < c.n_pending; i++) {
        struct srv_job *j = srv_registry_get(app->registry, c.pending[i]);
        if (!j) continue;
        if (srv_executor_owns(app->executor, j)) {
            /* In Slurm's hands: the executor re-attaches it at start. */
            srv_log(SRV_LOG_INFO, j->id, "msg=\"job is a Slurm job; re-attaching\" slurm_job_id=%s",
                    j->slurm_job_id);
            srv_job_unref(j);
            continue;
        }
        if (j->slurm_job_id[0]) {
            srv_log(SRV_LOG_WARN, j->id,
                    "msg=\"job was handed to Slurm but this aelabd runs --executor %s; it is "
                    "queued here and resumes from its checkpoint (scancel the Slurm job if it "
                    "still runs)\" slurm_job_id=%s",
                    srv_executor_name(app->executor), j->slurm_job_id);
            srv_job_set_placement(j, app->store, NULL, NULL, "", "", NULL);
        }
        if (c.was_running[i]) {
            /* Interrupted by a crash or a shutdown: queued again; it resumes
             * from its checkpoint when a worker takes it. */
            srv_store_job_update(app->store, j->id, "queued", j->started_at, 0, NULL, NULL);
            srv_log(SRV_LOG_INFO, j->id, "msg=\"job was running; queued to resume\"");
        }
        st = srv_queue_push_force(app->queue, j, err); /* the queue keeps this ref */
        if (st != SRV_OK) srv_job_unref(j);
    }
    free(c.was_running);
    if (st == SRV_OK) {
        size_t counts[SRV_JOB_STATE_COUNT];
        srv_registry_count(app->registry, counts);
        srv_log(SRV_LOG_INFO, 0,
                "msg=\"jobs loaded\" queued=%zu succeeded=%zu failed=%zu cancelled=%zu "
                "unreadable=%d",
                counts[SRV_JOB_QUEUED], counts[SRV_JOB_SUCCEEDED], counts[SRV_JOB_FAILED],
                counts[SRV_JOB_CANCELLED], c.failed);
    }
    free(c.pending);
    return st;
}

static int write_port_file(const char *path, unsigned port, struct ae_err *err)
{
    char tmp[4200];
    FILE *f;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f || fprintf(f, "%u\n", port) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        if (f) fclose(f);
        srv_err_set(err, SRV_ERR_IO, "--port-file %s: %s", path, strerror(errno));
        return -1;
    }
    fclose(f);
    if (rename(tmp, path) != 0) {
        srv_err_set(err, SRV_ERR_IO, "--port-file %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* The directory of the running binary (for the aelab beside aelabd). */
static void resolve_self_dir(struct srv_app *app)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    app->self_dir[0] = '\0';
    if (n <= 0) return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) *slash = '\0';
    snprintf(app->self_dir, sizeof app->self_dir, "%s", exe);
}

static void free_app(struct srv_app *app)
{
    void *j;
    srv_http_stop(app->http);
    srv_executor_stop(app->executor); /* joins its threads; after HTTP, whose handlers read it */
    app->executor = NULL;
    if (app->queue)
        while ((j = srv_queue_drain(app->queue)) != NULL) srv_job_unref(j);
    srv_registry_free(app->registry);
    srv_sweeps_free(app->sweeps);
    srv_queue_free(app->queue);
    srv_feed_free(app->feed);
    srv_store_close(app->store);
    srv_data_free(app->data);
    free(app->openapi);
    free(app->models);
}

/* ------------------------------------------------------------------------ */
/* main                                                                     */
/* ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    static struct srv_app app; /* zeroed; big path buffers stay off the stack */
    struct srv_config defaults;
    struct ae_err e = {0};
    sigset_t sigs;
    int sig = 0, status = 1;
    const char *host_for_url, *missing = "";
    struct srv_http_tls tls = {0};

    srv_config_defaults(&defaults, cpu_count());
    app.cfg = defaults;
    if (srv_config_parse(&app.cfg, argc, argv, &e) != SRV_OK) {
        fprintf(stderr, "aelabd: %s\n", e.msg);
        return 2;
    }
    if (app.cfg.help) {
        srv_config_usage(stdout, &defaults);
        return 0;
    }
    if (app.cfg.version) {
        printf("aelabd %s\n", SRV_VERSION);
        return 0;
    }
    if (srv_config_check(&app.cfg, &missing, &e) != SRV_OK) {
        fprintf(stderr, "aelabd: %s\n", e.msg);
        return 2;
    }
    srv_log_set_level(app.cfg.log_level);
    srv_testhook_init(); /* tests only: inert unless AELABD_TEST_FAULTS=1 */
    srv_metrics_init(&app.metrics);
    atomic_init(&app.stopping, false);
    pthread_mutex_init(&app.submit_lock, NULL);
    app.started_mono = srv_log_now_mono();

    /* Signals: blocked here, before any thread exists, so every thread
     * inherits the mask and only sigwait() below sees them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Settings that need the file system. */
    if (make_dirs(app.cfg.logdir) != 0 || !realpath(app.cfg.logdir, app.logdir)) {
        fprintf(stderr, "aelabd: --logdir %s: %s\n", app.cfg.logdir, strerror(errno));
        return 1;
    }
    /* TensorBoard's one experiment for the whole log dir (see srv_run.h);
     * a log dir that cannot take it fails its jobs with the reason later. */
    if (srv_run_write_logdir_experiment(app.logdir, &e) != AE_OK) {
        char q[600];
        srv_log(SRV_LOG_WARN, 0, "msg=\"could not write the log dir's hparams experiment\" error=\"%s\"",
                srv_log_quote(q, sizeof q, e.msg));
    }
    if (app.cfg.token_file && read_token(&app, &e) != 0) {
        fprintf(stderr, "aelabd: %s\n", e.msg);
        return 2;
    }
    if (app.cfg.tls_cert &&
        srv_http_tls_load(app.cfg.tls_cert, app.cfg.tls_key, &tls, &e) != SRV_OK) {
        fprintf(stderr, "aelabd: %s\n", e.msg);
        return 2;
    }
    if (*missing)
        srv_log(SRV_LOG_WARN, 0,
                "msg=\"--insecure: serving a non-loopback address without %s; anyone who can "
                "reach it can %s\" listen=%s",
                missing, app.cfg.token_file ? "read its traffic" : "submit and delete jobs",
                app.cfg.listen_host);
    resolve_web_root(&app);
    host_for_url = app.cfg.listen_host;
    if (!strcmp(host_for_url, "0.0.0.0") || !strcmp(host_for_url, "::")) host_for_url = "localhost";
    if (app.cfg.tensorboard_url)
        snprintf(app.tensorboard_url, sizeof app.tensorboard_url, "%s", app.cfg.tensorboard_url);
    else
        snprintf(app.tensorboard_url, sizeof app.tensorboard_url,
                 strchr(host_for_url, ':') ? "http://[%s]:6006/" : "http://%s:6006/",
                 host_for_url);

    resolve_self_dir(&app);
    if (app.cfg.data_dir && !realpath(app.cfg.data_dir, app.data_dir)) {
        fprintf(stderr, "aelabd: --data-dir %s: %s\n", app.cfg.data_dir, strerror(errno));
        return 1;
    }
    if (srv_executor_new(&app, app.cfg.executor, &app.executor, &e) != SRV_OK) {
        fprintf(stderr, "aelabd: %s\n", e.msg);
        return 2;
    }
    if (srv_data_new(app.cfg.data_dir, &app.data, &e) != AE_OK) {
        fprintf(stderr, "aelabd: data sets: %s\n", e.msg);
        goto fail;
    }
    {
        bool inst[SRV_DATA_N_SETS];
        const char *d = NULL;
        srv_data_installed(app.data, inst);
        if (app.cfg.default_dataset) {
            d = srv_data_canonical(app.cfg.default_dataset);
            if (!d) {
                fprintf(stderr, "aelabd: --default-dataset %s: unknown; use mnist or "
                                "fashion-mnist\n", app.cfg.default_dataset);
                status = 2;
                goto fail;
            }
        } else {
            d = srv_data_names[0]; /* mnist: the repository ships it in data/mnist/ */
        }
        snprintf(app.default_dataset, sizeof app.default_dataset, "%s", d);
        for (size_t i = 0; i < SRV_DATA_N_SETS; i++)
            srv_log(SRV_LOG_INFO, 0, "msg=\"data set\" name=%s installed=%s", srv_data_names[i],
                    inst[i] ? "true" : "false");
    }
    bool have_tb = srv_cmd_on_path("tensorboard");
    if (!have_tb)
        srv_log(SRV_LOG_WARN, 0, "msg=\"tensorboard not found on the PATH\" install=\"%s\"",
                TB_INSTALL_LINE);
    if (srv_api_build_models(&app, &e) != SRV_OK ||
        srv_api_build_openapi(&app, srv_openapi_doc, srv_openapi_doc_len, &e) != SRV_OK) {
        fprintf(stderr, "aelabd: %s\n", e.msg);
        goto fail;
    }
    if (srv_store_open(app.cfg.db_path, &app.store, &e) != SRV_OK ||
        srv_registry_new(&app.registry, &e) != SRV_OK ||
        srv_queue_new((size_t)app.cfg.max_queued, &app.queue, &e) != SRV_OK ||
        srv_feed_new(4096, &app.feed, &e) != SRV_OK || srv_sweeps_new(&app.sweeps, &e) != SRV_OK ||
        load_jobs(&app, &e) != SRV_OK || srv_sweeps_load(&app, &e) != SRV_OK) {
        fprintf(stderr, "aelabd: %s\n", e.msg);
        goto fail;
    }
    if (srv_executor_start(app.executor, &e) != SRV_OK) {
        fprintf(stderr, "aelabd: %s\n", e.msg);
        status = 2;
        goto stop_workers;
    }
    if (srv_http_start(&app, app.cfg.tls_cert ? &tls : NULL, &app.http, &app.port, &e) !=
        SRV_OK) {
        fprintf(stderr, "aelabd: %s\n", e.msg);
        goto stop_workers;
    }
    {
        const char *scheme = app.cfg.tls_cert ? "https" : "http";
        const char *fmt = strchr(host_for_url, ':') ? "%s://[%s]:%u" : "%s://%s:%u";
        char url[400];
        snprintf(url, sizeof url, fmt, scheme, host_for_url, (unsigned)app.port);
        srv_log(SRV_LOG_INFO, 0,
                "msg=\"listening\" url=%s/ api=%s/api/ port=%u executor=%s workers=%d "
                "threads_per_job=%d "
                "logdir=%s db=%s web_root=%s auth=%s tls=%s",
                url, url, (unsigned)app.port, srv_executor_name(app.executor), app.cfg.workers,
                app.cfg.threads_per_job,
                app.logdir, app.cfg.db_path, app.web_root[0] ? app.web_root : "(none)",
                app.token[0] ? "bearer" : "none", app.cfg.tls_cert ? "on" : "off");
        /* The three addresses a person needs, on stdout (logs go to stderr). */
        printf("aelabd %s is serving\n"
               "  API:         %s/api/  (documented at %s/api/openapi.json)\n"
               "  dashboard:   %s/%s\n"
               "  TensorBoard: run `tensorboard --logdir %s` beside it (then %s)\n"
               "%s"
               "Stop with Ctrl-C: running jobs are suspended and resume on the next start.\n",
               SRV_VERSION, url, url, url, app.web_root[0] ? "" : "  (no web root found: see --web-root)",
               app.logdir, app.tensorboard_url,
               have_tb ? "" : "               (no tensorboard on the PATH: " TB_INSTALL_LINE ")\n");
        fflush(stdout);
    }
    /* Last: whoever waits for the port file finds the start-up lines said. */
    if (app.cfg.port_file && write_port_file(app.cfg.port_file, app.port, &e) != 0) {
        fprintf(stderr, "aelabd: %s\n", e.msg);
        goto stop_workers;
    }

    while (sigwait(&sigs, &sig) != 0) {
    }
    /* From here a second SIGINT/SIGTERM ends the process at once. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
    srv_log(SRV_LOG_INFO, 0, "msg=\"shutting down\" signal=%s", sig == SIGINT ? "SIGINT" : "SIGTERM");
    status = 0;

stop_workers:
    atomic_store(&app.stopping, true);
    srv_http_quiesce(app.http);
    if (app.feed) srv_feed_close(app.feed);
    srv_queue_close(app.queue);
    /* free_app stops HTTP (in-flight requests such as /api/health read the
     * executor) before it joins and frees the executor. */
fail:
    free_app(&app);
    srv_http_tls_fini(&tls); /* empty once the server took it */
    srv_latent_release_fonts(); /* every drawing thread has stopped */
    if (status == 0) srv_testhook_exit();
    if (status == 0) srv_log(SRV_LOG_INFO, 0, "msg=\"stopped\"");
    return status;
}
