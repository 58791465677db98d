/*
 * srv_exec_slurm.c - the Slurm executor: each aelab job is one Slurm batch
 * job that runs the aelab CLI in the job's run directory (see
 * srv_executor.h; README "Running on a cluster").  This file owns the ops
 * table, start/stop, health and metrics, the list of followed jobs and the
 * submit thread; the rest lives in
 * - srv_slurm_monitor.c: the monitor thread (progress files, squeue,
 *   scancel, outcomes);
 * - srv_slurm_checks.c: the start-up checks and orphan reaping;
 * - srv_slurm_submit.c, srv_slurm_follow.c, srv_slurm_cmd.c: the batch
 *   script and sbatch, reading a progress file, running a Slurm command;
 * - srv_slurm_priv.h: the shared structs, and which lock guards what.
 *
 * Two threads:
 * - submit: pops app->queue in order, writes the batch script and runs
 *   sbatch (srv_slurm_submit.c).  The Slurm job id is stored at once.  When
 *   the controller does not answer, the job it holds stays at the head of
 *   the line and is retried with backoff (1 s doubling to 30 s); each retry
 *   first asks squeue whether Slurm took the job anyway (the answer lost)
 *   and then follows that Slurm job instead of making a second; when Slurm
 *   refuses it (unknown partition, a limit), the job fails with Slurm's
 *   own message.
 * - monitor (srv_slurm_monitor.c): follows each job's progress file and
 *   Slurm's view of it, scancels on request, and records final states.
 *
 * DESIGN: aelabd never talks to a node; the shared run directory is the
 * channel (CONTRACTS.md A), so a restart re-attaches by replaying the
 * progress file from offset 0 (epochs are upserts).  Slurm jobs outlive
 * aelabd: stop() only ends our threads.  Every Slurm command has a
 * deadline (srv_slurm_cmd.c), so a dead controller costs seconds, never a
 * hang.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "srv_data.h"
#include "srv_executor.h"
#include "srv_log.h"
#include "srv_registry.h"
#include "srv_slurm_priv.h"
#include "srv_slurm_submit.h"

#define BACKOFF_MAX 30.0
#define MAX_COPIES 16 /* Slurm jobs of one aelab job looked at after a lost sbatch */

/* ---- shared with the monitor and the checks ------------------------------------- */

void srv_exec_slurm_set_controller(struct slurm *s, bool up, const char *why)
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
void srv_exec_slurm_nap(struct slurm *s, double secs)
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
bool srv_exec_slurm_follow(struct slurm *s, struct srv_job *j, const char *slurm_id)
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

/* j is Slurm job id (new, or found after a lost answer): store the id and
 * count it. */
static void place(struct slurm *s, struct srv_job *j, const char *id)
{
    struct ae_err e = {0};
    char q[700];
    srv_exec_slurm_set_controller(s, true, NULL);
    if (srv_job_set_placement(j, s->app->store, s->app->feed, "slurm", id, "", &e) != SRV_OK)
        srv_log(SRV_LOG_ERROR, j->id,
                "msg=\"could not store the Slurm job id\" slurm_job_id=%s error=\"%s\"", id,
                srv_log_quote(q, sizeof q, e.msg));
    atomic_fetch_add(&s->submitted, 1);
}

/* Follow j's Slurm job id (after place). */
static void follow_placed(struct slurm *s, struct srv_job *j, const char *id)
{
    if (!srv_exec_slurm_follow(s, j, id))
        srv_log(SRV_LOG_ERROR, j->id, "msg=\"out of memory following the Slurm job; it "
                                      "is re-attached on the next start\"");
}

/* A Slurm command failed (what: the log line, msg: why; down: the
 * controller did not answer): note it, log it, wait backoff seconds and
 * double it. */
static void back_off(struct slurm *s, struct srv_job *j, const char *what, const char *msg,
                     bool down, double *backoff)
{
    char q[1700];
    pthread_mutex_lock(&s->lock);
    snprintf(s->last_error, sizeof s->last_error, "%.500s", msg);
    pthread_mutex_unlock(&s->lock);
    if (down) srv_exec_slurm_set_controller(s, false, msg);
    srv_log(SRV_LOG_WARN, j->id, "msg=\"%s\" in_seconds=%.0f error=\"%s\"", what, *backoff,
            srv_log_quote(q, sizeof q, msg));
    srv_exec_slurm_nap(s, *backoff);
    *backoff = fmin(*backoff * 2, BACKOFF_MAX);
}

/* A Slurm job of j that must not run (why: the log line's msg): scancel it. */
static void cancel_copy(struct slurm *s, struct srv_job *j, long long id, const char *why,
                        struct srv_cmd *cmd)
{
    char sid[32];
    snprintf(sid, sizeof sid, "%lld", id);
    srv_log(SRV_LOG_WARN, j->id, "msg=\"%s\" slurm_job_id=%s", why, sid);
    srv_slurm_monitor_scancel(s, j, sid, cmd);
}

/* An sbatch for j got no answer: did Slurm take it anyway?  1: yes, and it
 * is followed now (the lowest id; other copies scancelled); 0: no, submit
 * again; -1: squeue failed as well (msg says why; *down: no answer). */
static int adopt_lost(struct slurm *s, struct srv_job *j, struct srv_cmd *cmd, bool *down,
                      char *msg, size_t msg_len)
{
    long long ids[MAX_COPIES];
    char id[32];
    int n = srv_slurm_submit_find(s->app, j, cmd, ids, MAX_COPIES, down, msg, msg_len);
    if (n <= 0) return n;
    snprintf(id, sizeof id, "%lld", ids[0]);
    place(s, j, id);
    srv_log(SRV_LOG_INFO, j->id,
            "msg=\"Slurm had taken the job though sbatch's answer was lost; following it\" "
            "slurm_job_id=%s",
            id);
    for (int i = 1; i < n && i < MAX_COPIES; i++)
        cancel_copy(s, j, ids[i], "Slurm holds more than one job for this job; scancel the extra",
                    cmd);
    follow_placed(s, j, id);
    return 1;
}

/* j was cancelled while the answer of an sbatch for it was lost: scancel
 * the Slurm jobs that sbatch may have made, so none trains unfollowed. */
static void cancel_lost(struct slurm *s, struct srv_job *j, struct srv_cmd *cmd)
{
    long long ids[MAX_COPIES];
    bool down = false;
    char msg[600], q[700];
    int n = srv_slurm_submit_find(s->app, j, cmd, ids, MAX_COPIES, &down, msg, sizeof msg);
    if (n < 0)
        srv_log(SRV_LOG_WARN, j->id,
                "msg=\"cancelled after an sbatch got no answer, and Slurm could not be asked "
                "whether it took the job\" error=\"%s\"",
                srv_log_quote(q, sizeof q, msg));
    for (int i = 0; i < n && i < MAX_COPIES; i++)
        cancel_copy(s, j, ids[i], "cancelled while an sbatch answer was lost; scancel its Slurm job",
                    cmd);
}

static void submit_one(struct slurm *s, struct srv_job *j, struct srv_cmd *cmd)
{
    struct srv_app *app = s->app;
    char data_dir[PATH_MAX] = "", dir[PATH_MAX], msg[1600], id[32];
    struct ae_err e = {0};
    double backoff = 1.0;
    /* Slurm may hold the job already: an sbatch got no answer, or the job
     * was queued under an earlier aelabd, which may have died between its
     * sbatch and storing the id. */
    bool lost = j->created_at < s->started_unix;

    if (srv_data_resolve(j->dataset, app->cfg.data_dir, dir, sizeof dir, &e) != AE_OK ||
        !realpath(dir, data_dir)) {
        snprintf(msg, sizeof msg, "data set %s: %s", j->dataset,
                 e.msg[0] ? e.msg : strerror(errno));
        srv_exec_job_finish(app, j, SRV_JOB_FAILED, msg, 0);
        return;
    }
    for (;;) {
        enum srv_submit_result r;
        if (atomic_load(&s->quit) || atomic_load(&app->stopping)) return; /* stays queued */
        if (srv_job_state_final(srv_job_get_state(j))) { /* cancelled */
            if (lost) cancel_lost(s, j, cmd);
            return;
        }
        if (lost) {
            bool down = false;
            int a = adopt_lost(s, j, cmd, &down, msg, sizeof msg);
            if (a > 0) return;
            if (a < 0) {
                back_off(s, j, "could not ask Slurm whether it took the job; retrying", msg,
                         down, &backoff);
                continue;
            }
        }
        r = srv_slurm_submit(app, j, s->aelab, data_dir, cmd, id, sizeof id, msg, sizeof msg);
        if (r == SRV_SUBMIT_OK) {
            place(s, j, id);
            srv_log(SRV_LOG_INFO, j->id,
                    "msg=\"submitted to Slurm\" slurm_job_id=%s mem_mb=%d cpus=%d",
                    id, srv_slurm_mem_mb(&j->cfg), j->cfg.threads);
            follow_placed(s, j, id);
            return;
        }
        if (r == SRV_SUBMIT_UNREACHABLE) {
            lost = true;
            back_off(s, j, "sbatch failed; retrying", msg, true, &backoff);
            continue;
        }
        pthread_mutex_lock(&s->lock);
        snprintf(s->last_error, sizeof s->last_error, "%.500s", msg);
        pthread_mutex_unlock(&s->lock);
        if (r == SRV_SUBMIT_REFUSED) {
            srv_exec_slurm_set_controller(s, true, NULL);
            atomic_fetch_add(&s->refused, 1);
        }
        srv_exec_job_finish(app, j, SRV_JOB_FAILED, msg, 0);
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

/* ---- start and stop ---------------------------------------------------------- */

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

static enum srv_status slurm_start(struct srv_executor *ex, struct ae_err *err)
{
    struct slurm *s = ex->impl;
    struct srv_app *app = ex->app;
    enum srv_status st;
    struct reattach_ctx rc = {0};

    s->started_unix = srv_log_now_unix();
    if ((st = srv_slurm_checks_run(s, err)) != SRV_OK) return st;
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
        if (!srv_exec_slurm_follow(s, rc.jobs[i], rc.jobs[i]->slurm_job_id))
            srv_log(SRV_LOG_ERROR, rc.jobs[i]->id, "msg=\"out of memory re-attaching\"");
        srv_job_unref(rc.jobs[i]);
    }
    free(rc.jobs);
    if (atomic_load(&s->controller) == 1) srv_slurm_checks_reap_orphans(s);

    if (pthread_create(&s->monitor_thr, NULL, srv_slurm_monitor_main, s) != 0)
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
