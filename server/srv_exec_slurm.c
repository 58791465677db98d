/*
 * srv_exec_slurm.c - the Slurm executor: each aelab job is one Slurm batch
 * job that runs the aelab CLI in the job's run directory (see
 * srv_executor.h; README "Running on a cluster").
 *
 * Two threads:
 * - submit: pops app->queue in order, writes the batch script and runs
 *   sbatch (srv_slurm_submit.c).  The Slurm job id is stored at once.  When
 *   the controller does not answer, the job it holds stays at the head of
 *   the line and is retried with backoff (1 s doubling to 30 s); when Slurm
 *   refuses it (unknown partition, a limit), the job fails with Slurm's
 *   own message.
 * - monitor: every 0.25 s reads the new whole lines of each followed
 *   job's progress file (srv_slurm_follow.c: start -> running on a node,
 *   batch -> live progress, epoch -> upserted row, end -> outcome); every
 *   ~1 s asks squeue where the jobs are; scancels jobs whose cancel was
 *   asked; and records final states.
 *
 * Outcome rules: the end line decides succeeded/failed; "suspended" is a
 * cancel when we asked for one (scancel sends SIGTERM, aelab checkpoints
 * and writes it), else Slurm is requeueing the job and we keep following.
 * A Slurm job that is gone (or in a final Slurm state) without a deciding
 * end line is cancelled if we asked, else failed with what Slurm said.
 *
 * DESIGN: aelabd never talks to a node; the shared run directory is the
 * channel (CONTRACTS.md A), so a restart re-attaches by replaying the
 * progress file from offset 0 (epochs are upserts).  Slurm jobs outlive
 * aelabd: stop() only ends our threads.  Every Slurm command has a
 * deadline (srv_slurm_cmd.c), so a dead controller costs seconds, never a
 * hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "srv_data.h"
#include "srv_executor.h"
#include "srv_log.h"
#include "srv_registry.h"
#include "srv_slurm_cmd.h"
#include "srv_slurm_follow.h"
#include "srv_slurm_submit.h"

#define TICK 0.25          /* seconds between progress-file reads */
#define SQUEUE_EVERY 1.0   /* seconds between squeue calls */
#define CMD_TIMEOUT 10.0   /* squeue, scontrol, scancel */
#define GONE_GRACE 2.0     /* seconds to wait for an end line after Slurm is done */
#define BACKOFF_MAX 30.0

struct sjob {
    struct srv_job *job;
    char slurm_id[32];
    struct srv_follow follow;
    int64_t last_samples;
    bool end_seen;
    char end_status[16];
    char end_error[512];
    bool scancel_sent;
    bool gone;             /* squeue no longer lists it, or it is in a final Slurm state */
    double gone_at;        /* monotonic time gone was first seen */
    char slurm_state[64];  /* last squeue state */
    char slurm_reason[64];
};

struct slurm {
    struct srv_app *app;
    char aelab[PATH_MAX];
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct sjob **list; /* followed jobs (added by submit, removed by monitor) */
    size_t n, cap;
    pthread_t submit_thr, monitor_thr;
    bool submit_on, monitor_on;
    atomic_bool quit;
    atomic_int controller;     /* 1 answers, 0 unreachable, -1 not asked yet */
    atomic_ulong submitted, refused;
    char last_error[600];      /* guarded by lock */
};

static const char *const final_states[] = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT",
                                           "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL",
                                           "DEADLINE", "PREEMPTED", NULL};

static bool slurm_state_final(const char *s)
{
    for (int i = 0; final_states[i]; i++)
        if (!strcmp(s, final_states[i])) return true;
    return false;
}

static void set_controller(struct slurm *s, bool up, const char *why)
{
    int was = atomic_exchange(&s->controller, up ? 1 : 0);
    if (was == (up ? 1 : 0)) return;
    if (up)
        srv_log(SRV_LOG_INFO, 0, "msg=\"Slurm controller answers\"");
    else {
        char q[700];
        srv_log(SRV_LOG_WARN, 0,
                "msg=\"Slurm controller unreachable; jobs wait in aelabd's queue\" error=\"%s\"",
                srv_log_quote(q, sizeof q, why));
    }
}

/* Sleep up to secs, waking early on quit (or a signal on the cond). */
static void nap(struct slurm *s, double secs)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double t = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec + secs;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    pthread_mutex_lock(&s->lock);
    if (!atomic_load(&s->quit)) pthread_cond_timedwait(&s->wake, &s->lock, &ts);
    pthread_mutex_unlock(&s->lock);
}

/* Follow job j (a new reference is taken). */
static bool follow(struct slurm *s, struct srv_job *j, const char *slurm_id)
{
    struct sjob *sj = calloc(1, sizeof *sj);
    char run_dir[4400];
    if (!sj) return false;
    sj->job = srv_job_ref(j);
    snprintf(sj->slurm_id, sizeof sj->slurm_id, "%s", slurm_id);
    srv_app_run_dir(s->app, j, run_dir, sizeof run_dir);
    snprintf(sj->follow.path, sizeof sj->follow.path, "%.4300s/progress.jsonl", run_dir);
    pthread_mutex_lock(&s->lock);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct sjob **p = realloc(s->list, cap * sizeof *p);
        if (!p) {
            pthread_mutex_unlock(&s->lock);
            srv_job_unref(sj->job);
            free(sj);
            return false;
        }
        s->list = p;
        s->cap = cap;
    }
    s->list[s->n++] = sj;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
    return true;
}

/* ---- submission -------------------------------------------------------- */

static void submit_one(struct slurm *s, struct srv_job *j, struct srv_cmd *cmd)
{
    struct srv_app *app = s->app;
    char data_dir[PATH_MAX] = "", dir[PATH_MAX], msg[1600], id[32], q[1700];
    struct ae_err e = {0};
    double backoff = 1.0;

    if (srv_data_resolve(j->dataset, app->cfg.data_dir, dir, sizeof dir, &e) != AE_OK ||
        !realpath(dir, data_dir)) {
        snprintf(msg, sizeof msg, "data set %s: %s", j->dataset,
                 e.msg[0] ? e.msg : strerror(errno));
        srv_exec_job_finish(app, j, SRV_JOB_FAILED, msg);
        return;
    }
    for (;;) {
        enum srv_submit_result r;
        if (atomic_load(&s->quit) || atomic_load(&app->stopping)) return; /* stays queued */
        if (srv_job_state_final(srv_job_get_state(j))) return;              /* cancelled */
        r = srv_slurm_submit(app, j, s->aelab, data_dir, cmd, id, sizeof id, msg, sizeof msg);
        if (r == SRV_SUBMIT_OK) {
            set_controller(s, true, NULL);
            if (srv_job_set_placement(j, app->store, app->feed, "slurm", id, "", &e) != SRV_OK)
                srv_log(SRV_LOG_ERROR, j->id,
                        "msg=\"could not store the Slurm job id\" slurm_job_id=%s error=\"%s\"", id,
                        srv_log_quote(q, sizeof q, e.msg));
            atomic_fetch_add(&s->submitted, 1);
            srv_log(SRV_LOG_INFO, j->id,
                    "msg=\"submitted to Slurm\" slurm_job_id=%s mem_mb=%d cpus=%d",
                    id, srv_slurm_mem_mb(&j->cfg), j->cfg.threads);
            if (!follow(s, j, id))
                srv_log(SRV_LOG_ERROR, j->id, "msg=\"out of memory following the Slurm job; it "
                                              "is re-attached on the next start\"");
            return;
        }
        pthread_mutex_lock(&s->lock);
        snprintf(s->last_error, sizeof s->last_error, "%.500s", msg);
        pthread_mutex_unlock(&s->lock);
        if (r == SRV_SUBMIT_UNREACHABLE) {
            set_controller(s, false, msg);
            srv_log(SRV_LOG_WARN, j->id,
                    "msg=\"sbatch failed; retrying\" in_seconds=%.0f error=\"%s\"",
                    backoff, srv_log_quote(q, sizeof q, msg));
            nap(s, backoff);
            backoff = fmin(backoff * 2, BACKOFF_MAX);
            continue;
        }
        if (r == SRV_SUBMIT_REFUSED) {
            set_controller(s, true, NULL);
            atomic_fetch_add(&s->refused, 1);
        }
        srv_exec_job_finish(app, j, SRV_JOB_FAILED, msg);
        return;
    }
}

static void *submit_main(void *arg)
{
    struct slurm *s = arg;
    struct srv_cmd *cmd = malloc(sizeof *cmd);
    struct srv_job *j;
    while ((j = srv_queue_pop(s->app->queue)) != NULL) {
        if (cmd && !atomic_load(&s->app->stopping)) submit_one(s, j, cmd);
        srv_job_unref(j); /* the queue's reference */
    }
    free(cmd);
    return NULL;
}

/* ---- the progress file ---------------------------------------------------- */

static double num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *str(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

struct line_ctx {
    struct slurm *s;
    struct sjob *sj;
};

static void on_line(void *user, json_t *o)
{
    struct line_ctx *c = user;
    struct sjob *sj = c->sj;
    struct srv_app *app = c->s->app;
    struct srv_job *j = sj->job;
    const char *ev = str(o, "event");
    struct ae_err e = {0};
    char q[700];

    if (!ev || srv_job_state_final(srv_job_get_state(j))) return;
    if (!strcmp(ev, "start")) {
        const char *node = str(o, "node");
        double se = num(o, "start_epoch");
        sj->end_seen = false;
        sj->last_samples = 0;
        if (srv_exec_job_started(app, j, isfinite(se) ? (int32_t)se : 0, node, &e) != SRV_OK)
            srv_log(SRV_LOG_WARN, j->id, "msg=\"could not record the start\" error=\"%s\"",
                    srv_log_quote(q, sizeof q, e.msg));
    } else if (!strcmp(ev, "batch")) {
        struct ae_progress p = {
            .epoch = (int32_t)num(o, "epoch"),
            .n_epochs = (int32_t)num(o, "epochs"),
            .batch = (int32_t)num(o, "batch"),
            .n_batches = (int32_t)num(o, "batches"),
            .samples = (int64_t)num(o, "samples"),
            .loss = num(o, "loss"),
        };
        if (srv_job_get_state(j) == SRV_JOB_RUNNING)
            srv_exec_job_batch(app, j, &p, &sj->last_samples);
    } else if (!strcmp(ev, "epoch")) {
        struct ae_epoch_stats m = {.epoch = (int32_t)num(o, "epoch")};
        size_t n;
        const struct ae_metric *t = ae_metrics(&n);
        /* Every figure by its canonical name (CONTRACTS.md A). */
        for (size_t i = 0; i < n; i++) ae_metric_set(&m, i, num(o, t[i].name));
        sj->last_samples = 0;
        if (m.epoch < 1) return;
        if (srv_exec_job_epoch(app, j, &m, &e) != SRV_OK)
            srv_log(SRV_LOG_ERROR, j->id, "msg=\"could not record an epoch\" error=\"%s\"",
                    srv_log_quote(q, sizeof q, e.msg));
    } else if (!strcmp(ev, "end")) {
        const char *st = str(o, "status"), *err = str(o, "error");
        sj->end_seen = true;
        snprintf(sj->end_status, sizeof sj->end_status, "%s", st ? st : "");
        snprintf(sj->end_error, sizeof sj->end_error, "%s", err ? err : "");
    }
}

/* ---- Slurm's view ----------------------------------------------------------- */

/* squeue for every followed job: state, node, and which are gone. */
static void poll_squeue(struct slurm *s, struct sjob **v, size_t n, struct srv_cmd *cmd)
{
    char *ids = malloc(n * 34 + 1), *argv[10];
    size_t o = 0;
    if (!ids) return;
    ids[0] = '\0';
    for (size_t i = 0; i < n; i++)
        o += (size_t)sprintf(ids + o, "%s%s", o ? "," : "", v[i]->slurm_id);
    argv[0] = "squeue";
    argv[1] = "-h";
    argv[2] = "-t";
    argv[3] = "all";
    argv[4] = "-j";
    argv[5] = ids;
    argv[6] = "-o";
    argv[7] = "%i|%T|%N|%r";
    argv[8] = NULL;
    srv_cmd_run(argv, CMD_TIMEOUT, cmd);
    free(ids);
    if (cmd->status != 0 && srv_cmd_unreachable(cmd)) {
        char m[600];
        srv_cmd_message(cmd, m, sizeof m);
        set_controller(s, false, m);
        return;
    }
    if (cmd->status != 0 && !strstr(cmd->err, "Invalid job id")) return; /* learn nothing */
    set_controller(s, true, NULL);
    for (size_t i = 0; i < n; i++) {
        struct sjob *sj = v[i];
        bool seen = false;
        char *line = cmd->out;
        while (line && *line) {
            char *end = strchr(line, '\n');
            size_t len = end ? (size_t)(end - line) : strlen(line);
            size_t idl = strlen(sj->slurm_id);
            if (len > idl && !strncmp(line, sj->slurm_id, idl) && line[idl] == '|') {
                char f[4][64] = {{0}};
                const char *p = line;
                for (int k = 0; k < 4; k++) {
                    size_t m = strcspn(p, "|\n");
                    snprintf(f[k], sizeof f[k], "%.*s", (int)(m < 63 ? m : 63), p);
                    p += m;
                    if (*p == '|') p++;
                    else break;
                }
                seen = true;
                snprintf(sj->slurm_state, sizeof sj->slurm_state, "%s", f[1]);
                snprintf(sj->slurm_reason, sizeof sj->slurm_reason, "%s", f[3]);
                if (!strcmp(f[1], "RUNNING") && f[2][0]) {
                    bool differs;
                    pthread_mutex_lock(&sj->job->lock);
                    differs = strcmp(sj->job->node, f[2]) != 0;
                    pthread_mutex_unlock(&sj->job->lock);
                    if (differs)
                        srv_job_set_placement(sj->job, s->app->store, s->app->feed, NULL, NULL,
                                              f[2], NULL);
                }
                if (slurm_state_final(f[1]) && !sj->gone) {
                    sj->gone = true;
                    sj->gone_at = srv_log_now_mono();
                } else if (!slurm_state_final(f[1])) {
                    sj->gone = false;
                }
                break;
            }
            line = end ? end + 1 : NULL;
        }
        if (!seen && !sj->gone) {
            sj->gone = true;
            sj->gone_at = srv_log_now_mono();
            snprintf(sj->slurm_state, sizeof sj->slurm_state, "%s", "(forgotten by Slurm)");
        }
    }
}

static bool do_scancel(struct slurm *s, struct sjob *sj, struct srv_cmd *cmd)
{
    char *argv[] = {"scancel", sj->slurm_id, NULL};
    srv_cmd_run(argv, CMD_TIMEOUT, cmd);
    if (cmd->status == 0) {
        srv_log(SRV_LOG_INFO, sj->job->id, "msg=\"scancel sent\" slurm_job_id=%s", sj->slurm_id);
        return true;
    }
    char m[600], q[700];
    srv_cmd_message(cmd, m, sizeof m);
    if (srv_cmd_unreachable(cmd)) set_controller(s, false, m);
    srv_log(SRV_LOG_WARN, sj->job->id,
            "msg=\"scancel failed; retrying\" slurm_job_id=%s error=\"%s\"",
            sj->slurm_id, srv_log_quote(q, sizeof q, m));
    return false;
}

/* What Slurm says about a job that ended without a deciding end line. */
static void slurm_says(struct sjob *sj, struct srv_cmd *cmd, char *buf, size_t len)
{
    char *argv[] = {"scontrol", "show", "job", "-o", sj->slurm_id, NULL};
    char extra[400] = "";
    srv_cmd_run(argv, CMD_TIMEOUT, cmd);
    if (cmd->status == 0) {
        const char *keys[] = {"JobState=", "Reason=", "ExitCode=", NULL};
        size_t o = 0;
        for (int k = 0; keys[k]; k++) {
            const char *p = strstr(cmd->out, keys[k]);
            if (!p) continue;
            size_t m = strcspn(p, " \n");
            o += (size_t)snprintf(extra + o, sizeof extra - o, "%s%.*s", o ? " " : "", (int)m, p);
            if (o >= sizeof extra) break;
        }
    } else {
        /* sacct where accounting answers; never required. */
        char *sa[] = {"sacct", "-n", "-P", "-X", "-j", sj->slurm_id, "-o", "State,ExitCode", NULL};
        if (srv_cmd_on_path("sacct")) {
            srv_cmd_run(sa, 5.0, cmd);
            if (cmd->status == 0 && cmd->out[0])
                snprintf(extra, sizeof extra, "sacct: %.*s", (int)strcspn(cmd->out, "\n"),
                         cmd->out);
        }
    }
    bool reason = sj->slurm_reason[0] && strcmp(sj->slurm_reason, "None") != 0;
    snprintf(buf, len,
             "Slurm job %s ended without finishing the training (Slurm: %s%s%s); its output is "
             "in the run directory, slurm-%s.out",
             sj->slurm_id, sj->slurm_state[0] ? sj->slurm_state : "unknown",
             reason ? ", reason " : "", reason ? sj->slurm_reason : "", sj->slurm_id);
    if (extra[0]) {
        size_t l = strlen(buf);
        snprintf(buf + l, len - l, "; %s", extra);
    }
}

static bool stop_asked(struct srv_job *j)
{
    return atomic_load(&j->cancel_requested);
}

/* Decide what happens to sj now.  True when it is done (stop following). */
static bool decide(struct slurm *s, struct sjob *sj, struct srv_cmd *cmd)
{
    struct srv_app *app = s->app;
    struct srv_job *j = sj->job;
    enum srv_job_state st = srv_job_get_state(j);

    if (srv_job_state_final(st)) {
        /* Cancelled while pending in Slurm (or deleted): make Slurm forget it. */
        if (!sj->gone && !sj->scancel_sent) sj->scancel_sent = do_scancel(s, sj, cmd);
        return sj->gone || sj->scancel_sent;
    }
    if (stop_asked(j) && !sj->scancel_sent && !sj->gone) sj->scancel_sent = do_scancel(s, sj, cmd);
    if (sj->end_seen) {
        if (!strcmp(sj->end_status, "succeeded")) {
            srv_exec_job_finish(app, j, SRV_JOB_SUCCEEDED, NULL);
            return true;
        }
        if (!strcmp(sj->end_status, "failed")) {
            srv_exec_job_finish(app, j, SRV_JOB_FAILED,
                                sj->end_error[0] ? sj->end_error : "aelab train failed");
            return true;
        }
        if (stop_asked(j)) {
            srv_exec_job_finish(app, j, srv_exec_stop_state(j), NULL);
            return true;
        }
        /* Suspended without our asking: Slurm is requeueing it. */
        srv_log(SRV_LOG_INFO, j->id,
                "msg=\"the Slurm job was interrupted (requeue, preemption or node failure); "
                "following its next run\" slurm_job_id=%s",
                sj->slurm_id);
        sj->end_seen = false;
        return false;
    }
    if (sj->gone && srv_log_now_mono() - sj->gone_at >= (stop_asked(j) ? 0.0 : GONE_GRACE)) {
        if (stop_asked(j)) {
            srv_exec_job_finish(app, j, srv_exec_stop_state(j), NULL);
        } else {
            char msg[1200];
            slurm_says(sj, cmd, msg, sizeof msg);
            srv_exec_job_finish(app, j, SRV_JOB_FAILED, msg);
        }
        return true;
    }
    return false;
}

static void drop(struct slurm *s, struct sjob *sj)
{
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n; i++)
        if (s->list[i] == sj) {
            s->list[i] = s->list[--s->n];
            break;
        }
    pthread_mutex_unlock(&s->lock);
    srv_job_unref(sj->job);
    free(sj);
}

static void *monitor_main(void *arg)
{
    struct slurm *s = arg;
    struct srv_cmd *cmd = malloc(sizeof *cmd);
    struct sjob **v = NULL;
    size_t cap = 0;
    double last_squeue = 0;

    while (cmd && !atomic_load(&s->quit)) {
        size_t n;
        pthread_mutex_lock(&s->lock);
        n = s->n;
        if (n > cap) {
            struct sjob **p = realloc(v, n * sizeof *p);
            if (p) {
                v = p;
                cap = n;
            } else {
                n = cap;
            }
        }
        if (n) memcpy(v, s->list, n * sizeof *v);
        pthread_mutex_unlock(&s->lock);

        if (n && srv_log_now_mono() - last_squeue >= SQUEUE_EVERY) {
            poll_squeue(s, v, n, cmd);
            last_squeue = srv_log_now_mono();
        }
        for (size_t i = 0; i < n && !atomic_load(&s->quit); i++) {
            struct line_ctx c = {s, v[i]};
            srv_follow_poll(&v[i]->follow, on_line, &c);
            if (decide(s, v[i], cmd)) drop(s, v[i]);
        }
        nap(s, TICK);
    }
    free(v);
    free(cmd);
    return NULL;
}

/* ---- start-up ---------------------------------------------------------------- */

static enum srv_status find_aelab(struct slurm *s, struct ae_err *err)
{
    const struct srv_app *app = s->app;
    char cand[2][PATH_MAX];
    int nc = 0;
    if (app->cfg.slurm_aelab) {
        snprintf(cand[nc++], PATH_MAX, "%s", app->cfg.slurm_aelab);
    } else {
        /* Installed, aelab sits beside aelabd; in a build tree aelabd is
         * build/server/aelabd and aelab build/cli/aelab. */
        snprintf(cand[nc++], PATH_MAX, "%.4000s/aelab", app->self_dir);
        snprintf(cand[nc++], PATH_MAX, "%.4000s/../cli/aelab", app->self_dir);
    }
    for (int i = 0; i < nc; i++) {
        if (access(cand[i], X_OK) == 0 && realpath(cand[i], s->aelab)) return SRV_OK;
    }
    if (app->cfg.slurm_aelab)
        return srv_err_set(err, SRV_ERR_ARG, "--slurm-aelab %s: not an executable file",
                           app->cfg.slurm_aelab);
    return srv_err_set(err, SRV_ERR_ARG,
                       "--executor slurm: no aelab CLI beside aelabd (%s/aelab or "
                       "%s/../cli/aelab); name it with --slurm-aelab PATH",
                       app->self_dir, app->self_dir);
}

static enum srv_status check_logdir(struct srv_app *app, struct ae_err *err)
{
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/.aelabd-write-test-%ld", app->logdir, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, "x", 1) != 1) {
        int e = errno;
        if (fd >= 0) close(fd);
        unlink(probe);
        return srv_err_set(err, SRV_ERR_IO, "--logdir %s is not writable: %s", app->logdir,
                           strerror(e));
    }
    close(fd);
    unlink(probe);
    return SRV_OK;
}

/* Ask the controller about partitions.  Refuses an unknown --slurm-partition
 * when the controller answers; an unreachable controller only warns. */
static enum srv_status check_controller(struct slurm *s, struct ae_err *err)
{
    struct srv_cmd *cmd = malloc(sizeof *cmd);
    char *argv[] = {"scontrol", "show", "partition", "-o", NULL};
    enum srv_status st = SRV_OK;
    char m[600];
    if (!cmd) return srv_err_set(err, SRV_ERR_NOMEM, "out of memory");
    srv_cmd_run(argv, CMD_TIMEOUT, cmd);
    if (cmd->status != 0) {
        srv_cmd_message(cmd, m, sizeof m);
        if (srv_cmd_unreachable(cmd)) {
            set_controller(s, false, m);
        } else {
            st = srv_err_set(err, SRV_ERR_ARG, "--executor slurm: scontrol show partition: %s", m);
        }
        free(cmd);
        return st;
    }
    set_controller(s, true, NULL);
    if (s->app->cfg.slurm_partition) {
        char want[300];
        snprintf(want, sizeof want, "PartitionName=%s ", s->app->cfg.slurm_partition);
        bool found = false;
        char names[400] = "";
        size_t o = 0;
        for (char *line = cmd->out; line && *line;) {
            char *end = strchr(line, '\n');
            if (!strncmp(line, want, strlen(want))) found = true;
            if (!strncmp(line, "PartitionName=", 14) && o < sizeof names - 1) {
                size_t n = strcspn(line + 14, " \n");
                o += (size_t)snprintf(names + o, sizeof names - o, "%s%.*s", o ? ", " : "",
                                      (int)n, line + 14);
            }
            line = end ? end + 1 : NULL;
        }
        if (!found)
            st = srv_err_set(err, SRV_ERR_ARG,
                             "--slurm-partition %s: the Slurm cluster has no such partition "
                             "(it has: %s)",
                             s->app->cfg.slurm_partition, names[0] ? names : "none");
    }
    free(cmd);
    return st;
}

struct reattach_ctx {
    struct srv_job **jobs;
    size_t n, cap;
};

static void collect(void *user, struct srv_job *j)
{
    struct reattach_ctx *c = user;
    bool take;
    pthread_mutex_lock(&j->lock);
    take = !srv_job_state_final(j->state) && j->slurm_job_id[0];
    pthread_mutex_unlock(&j->lock);
    if (!take) return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct srv_job **p = realloc(c->jobs, cap * sizeof *p);
        if (!p) return;
        c->jobs = p;
        c->cap = cap;
    }
    c->jobs[c->n++] = srv_job_ref(j);
}

/* Slurm jobs of ours that aelabd already considers ended (cancelled while
 * pending, then a crash before the scancel): scancel them, so nothing runs
 * for a job that is over.  A Slurm job counts as ours only when its id is
 * the one stored for the aelab job of its name. */
static void reap_orphans(struct slurm *s)
{
    struct srv_cmd *cmd = malloc(sizeof *cmd);
    char user[32];
    char *argv[] = {"squeue", "-h", "-u", user, "-o", "%i|%j", NULL};
    snprintf(user, sizeof user, "%ld", (long)getuid());
    if (!cmd) return;
    srv_cmd_run(argv, CMD_TIMEOUT, cmd);
    for (char *line = cmd->status == 0 ? cmd->out : NULL; line && *line;) {
        char *end = strchr(line, '\n');
        char id[32] = "";
        long long aid = 0;
        if (end) *end = '\0';
        if (sscanf(line, "%31[^|]|aelab-%lld", id, &aid) == 2 && aid > 0) {
            struct srv_job *j = srv_registry_get(s->app->registry, aid);
            bool over = false;
            if (j) {
                pthread_mutex_lock(&j->lock);
                over = srv_job_state_final(j->state) && !strcmp(j->slurm_job_id, id);
                pthread_mutex_unlock(&j->lock);
            }
            if (over) {
                struct sjob tmp = {.job = j};
                snprintf(tmp.slurm_id, sizeof tmp.slurm_id, "%s", id);
                srv_log(SRV_LOG_INFO, j->id,
                        "msg=\"the job ended but its Slurm job is still there; scancel\" "
                        "slurm_job_id=%s",
                        id);
                struct srv_cmd *c2 = malloc(sizeof *c2);
                if (c2) do_scancel(s, &tmp, c2);
                free(c2);
            }
            srv_job_unref(j);
        }
        line = end ? end + 1 : NULL;
    }
    free(cmd);
}

static enum srv_status slurm_start(struct srv_executor *ex, struct ae_err *err)
{
    struct slurm *s = ex->impl;
    struct srv_app *app = ex->app;
    const char *need[] = {"sbatch", "squeue", "scancel", "scontrol", NULL};
    enum srv_status st;
    struct reattach_ctx rc = {0};

    for (int i = 0; need[i]; i++)
        if (!srv_cmd_on_path(need[i]))
            return srv_err_set(err, SRV_ERR_ARG,
                               "--executor slurm: %s is not on the PATH (install Slurm's client "
                               "commands, e.g. Debian's slurm-client, or add their directory to "
                               "PATH)",
                               need[i]);
    if ((st = find_aelab(s, err)) != SRV_OK) return st;
    if ((st = check_logdir(app, err)) != SRV_OK) return st;
    if ((st = check_controller(s, err)) != SRV_OK) return st;
    srv_log(SRV_LOG_INFO, 0,
            "msg=\"executor\" executor=slurm aelab=%s partition=%s account=%s controller=%s",
            s->aelab, app->cfg.slurm_partition ? app->cfg.slurm_partition : "(default)",
            app->cfg.slurm_account ? app->cfg.slurm_account : "(default)",
            atomic_load(&s->controller) == 1 ? "up" : "unreachable");
    srv_log(SRV_LOG_WARN, 0,
            "msg=\"--executor slurm: the log dir, the data dir and the aelab binary must be on "
            "storage every compute node sees at the same path\" logdir=%s data_dir=%s aelab=%s",
            app->logdir, app->data_dir[0] ? app->data_dir : "(default ./data)", s->aelab);

    srv_registry_foreach(app->registry, collect, &rc);
    for (size_t i = 0; i < rc.n; i++) {
        srv_log(SRV_LOG_INFO, rc.jobs[i]->id,
                "msg=\"re-attached to its Slurm job\" slurm_job_id=%s",
                rc.jobs[i]->slurm_job_id);
        if (!follow(s, rc.jobs[i], rc.jobs[i]->slurm_job_id))
            srv_log(SRV_LOG_ERROR, rc.jobs[i]->id, "msg=\"out of memory re-attaching\"");
        srv_job_unref(rc.jobs[i]);
    }
    free(rc.jobs);
    if (atomic_load(&s->controller) == 1) reap_orphans(s);

    if (pthread_create(&s->monitor_thr, NULL, monitor_main, s) != 0)
        return srv_err_set(err, SRV_ERR_INTERNAL, "could not start the Slurm monitor thread");
    s->monitor_on = true;
    if (pthread_create(&s->submit_thr, NULL, submit_main, s) != 0)
        return srv_err_set(err, SRV_ERR_INTERNAL, "could not start the Slurm submit thread");
    s->submit_on = true;
    return SRV_OK;
}

/* The Slurm jobs keep running; the next start re-attaches them. */
static void slurm_stop(struct srv_executor *ex)
{
    struct slurm *s = ex->impl;
    if (!s) return;
    atomic_store(&s->quit, true);
    pthread_mutex_lock(&s->lock);
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
    if (s->submit_on) {
        srv_queue_close(ex->app->queue); /* already closed by main; harmless */
        pthread_join(s->submit_thr, NULL);
    }
    if (s->monitor_on) pthread_join(s->monitor_thr, NULL);
    for (size_t i = 0; i < s->n; i++) {
        srv_job_unref(s->list[i]->job);
        free(s->list[i]);
    }
    free(s->list);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    free(s);
    ex->impl = NULL;
}

static const char *controller_word(struct slurm *s)
{
    int c = atomic_load(&s->controller);
    return c == 1 ? "up" : c == 0 ? "unreachable" : "unknown";
}

static void slurm_health(struct srv_executor *ex, json_t *o)
{
    struct slurm *s = ex->impl;
    size_t n;
    char last[600];
    pthread_mutex_lock(&s->lock);
    n = s->n;
    snprintf(last, sizeof last, "%s", s->last_error);
    pthread_mutex_unlock(&s->lock);
    json_object_set_new(o, "executor", json_string("slurm"));
    json_object_set_new(o, "slurm", json_string(controller_word(s)));
    json_object_set_new(o, "slurm_partition", ex->app->cfg.slurm_partition
                                                  ? json_string(ex->app->cfg.slurm_partition)
                                                  : json_null());
    json_object_set_new(o, "slurm_jobs_followed", json_integer((json_int_t)n));
    json_object_set_new(o, "slurm_last_error", last[0] ? json_string(last) : json_null());
}

struct node_count {
    char node[64];
    size_t n;
};

static void slurm_metrics(struct srv_executor *ex, void (*put)(void *b, const char *text), void *b)
{
    struct slurm *s = ex->impl;
    struct node_count nodes[64];
    size_t nn = 0, followed;
    char line[400];

    pthread_mutex_lock(&s->lock);
    followed = s->n;
    for (size_t i = 0; i < s->n; i++) {
        struct srv_job *j = s->list[i]->job;
        char node[64];
        pthread_mutex_lock(&j->lock);
        snprintf(node, sizeof node, "%s", j->state == SRV_JOB_RUNNING ? j->node : "");
        pthread_mutex_unlock(&j->lock);
        if (!node[0]) continue;
        size_t k = 0;
        while (k < nn && strcmp(nodes[k].node, node)) k++;
        if (k == nn && nn < 64) {
            snprintf(nodes[nn].node, sizeof nodes[nn].node, "%s", node);
            nodes[nn++].n = 0;
        }
        if (k < nn) nodes[k].n++;
    }
    pthread_mutex_unlock(&s->lock);
    snprintf(line, sizeof line,
             "# HELP aelab_slurm_controller_up 1 when the Slurm controller answered last time.\n"
             "# TYPE aelab_slurm_controller_up gauge\naelab_slurm_controller_up %d\n",
             atomic_load(&s->controller) == 1);
    put(b, line);
    snprintf(line, sizeof line,
             "# HELP aelab_slurm_jobs_followed Slurm jobs aelabd follows (pending or running).\n"
             "# TYPE aelab_slurm_jobs_followed gauge\naelab_slurm_jobs_followed %zu\n",
             followed);
    put(b, line);
    snprintf(line, sizeof line,
             "# HELP aelab_slurm_submitted_total Jobs handed to sbatch since start.\n"
             "# TYPE aelab_slurm_submitted_total counter\naelab_slurm_submitted_total %lu\n"
             "# HELP aelab_slurm_refused_total Jobs Slurm refused (they failed).\n"
             "# TYPE aelab_slurm_refused_total counter\naelab_slurm_refused_total %lu\n",
             (unsigned long)atomic_load(&s->submitted), (unsigned long)atomic_load(&s->refused));
    put(b, line);
    put(b, "# HELP aelab_jobs_running_by_node Running Slurm jobs by node.\n"
           "# TYPE aelab_jobs_running_by_node gauge\n");
    for (size_t k = 0; k < nn; k++) {
        char node[64];
        size_t o = 0;
        for (const char *p = nodes[k].node; *p && o < sizeof node - 1; p++)
            if (*p != '"' && *p != '\\' && *p != '\n') node[o++] = *p;
        node[o] = '\0';
        snprintf(line, sizeof line, "aelab_jobs_running_by_node{node=\"%s\"} %zu\n", node,
                 nodes[k].n);
        put(b, line);
    }
}

static const struct srv_executor_ops slurm_ops = {
    .name = "slurm",
    .start = slurm_start,
    .stop = slurm_stop,
    .health = slurm_health,
    .metrics = slurm_metrics,
};

enum srv_status srv_exec_slurm_new(struct srv_executor *ex, struct ae_err *err)
{
    struct slurm *s = calloc(1, sizeof *s);
    if (!s) return srv_err_set(err, SRV_ERR_NOMEM, "out of memory making the executor");
    s->app = ex->app;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    atomic_init(&s->quit, false);
    atomic_init(&s->controller, -1);
    atomic_init(&s->submitted, 0);
    atomic_init(&s->refused, 0);
    ex->impl = s;
    ex->ops = &slurm_ops;
    return SRV_OK;
}
