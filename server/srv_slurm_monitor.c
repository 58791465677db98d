/*
 * srv_slurm_monitor.c - the Slurm executor's monitor thread: every 0.25 s
 * it reads the new whole lines of each followed job's progress file
 * (srv_slurm_follow.c: start -> running on a node, batch -> live progress,
 * epoch -> upserted row, end -> outcome); every ~1 s asks squeue where the
 * jobs are; scancels jobs whose cancel was asked; and records final states.
 * It does not submit (srv_exec_slurm.c) and never talks to a node.
 *
 * Outcome rules (decide): the end line decides succeeded/failed;
 * "suspended" is a cancel when we asked for one (scancel sends SIGTERM,
 * aelab checkpoints and writes it), else Slurm is requeueing the job and we
 * keep following.  A Slurm job that is gone (or in a final Slurm state)
 * without a deciding end line is cancelled if we asked, else failed with
 * what Slurm said.
 *
 * DESIGN: only this thread touches a followed job's sjob fields (see
 * srv_slurm_priv.h); it works on a copy of the list taken under the lock,
 * so no Slurm command or file read runs with the lock held.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_executor.h"
#include "srv_log.h"
#include "srv_slurm_priv.h"

#define TICK 0.25          /* seconds between progress-file reads */
#define SQUEUE_EVERY 1.0   /* seconds between squeue calls */
#define GONE_GRACE 2.0     /* seconds to wait for an end line after Slurm is done */

static const char *const final_states[] = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT",
                                           "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL",
                                           "DEADLINE", "PREEMPTED", NULL};

static bool slurm_state_final(const char *s)
{
    for (int i = 0; final_states[i]; i++)
        if (!strcmp(s, final_states[i])) return true;
    return false;
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
        double se = num(o, "start_epoch"), at = num(o, "time");
        sj->end_seen = false;
        sj->last_samples = 0;
        /* The node's clock: the start a late reader (aelabd restarted, or
         * polling) finds is dated when it happened, not when it was read. */
        if (srv_exec_job_started(app, j, isfinite(se) ? (int32_t)se : 0, node,
                                 isfinite(at) ? at : 0, &e) != SRV_OK)
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
        double at = num(o, "time");
        sj->end_seen = true;
        sj->end_time = isfinite(at) ? at : 0;
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
    srv_cmd_run(argv, SRV_SLURM_CMD_TIMEOUT, cmd);
    free(ids);
    if (cmd->status != 0 && srv_cmd_unreachable(cmd)) {
        char m[600];
        srv_cmd_message(cmd, m, sizeof m);
        srv_exec_slurm_set_controller(s, false, m);
        return;
    }
    if (cmd->status != 0 && !strstr(cmd->err, "Invalid job id")) return; /* learn nothing */
    srv_exec_slurm_set_controller(s, true, NULL);
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

/* ---- acting on Slurm jobs ---------------------------------------------------- */

bool srv_slurm_monitor_scancel(struct slurm *s, struct srv_job *j, const char *slurm_id,
                               struct srv_cmd *cmd)
{
    char *argv[] = {"scancel", (char *)slurm_id, NULL};
    srv_cmd_run(argv, SRV_SLURM_CMD_TIMEOUT, cmd);
    if (cmd->status == 0) {
        srv_log(SRV_LOG_INFO, j->id, "msg=\"scancel sent\" slurm_job_id=%s", slurm_id);
        return true;
    }
    char m[600], q[700];
    srv_cmd_message(cmd, m, sizeof m);
    if (srv_cmd_unreachable(cmd)) srv_exec_slurm_set_controller(s, false, m);
    srv_log(SRV_LOG_WARN, j->id,
            "msg=\"scancel failed; retrying\" slurm_job_id=%s error=\"%s\"",
            slurm_id, srv_log_quote(q, sizeof q, m));
    return false;
}

/* What Slurm says about a job that ended without a deciding end line. */
static void slurm_says(struct sjob *sj, struct srv_cmd *cmd, char *buf, size_t len)
{
    char *argv[] = {"scontrol", "show", "job", "-o", sj->slurm_id, NULL};
    char extra[400] = "";
    srv_cmd_run(argv, SRV_SLURM_CMD_TIMEOUT, cmd);
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
        if (!sj->gone && !sj->scancel_sent)
            sj->scancel_sent = srv_slurm_monitor_scancel(s, j, sj->slurm_id, cmd);
        return sj->gone || sj->scancel_sent;
    }
    if (stop_asked(j) && !sj->scancel_sent && !sj->gone)
        sj->scancel_sent = srv_slurm_monitor_scancel(s, j, sj->slurm_id, cmd);
    if (sj->end_seen) {
        if (!strcmp(sj->end_status, "succeeded")) {
            srv_exec_job_finish(app, j, SRV_JOB_SUCCEEDED, NULL, sj->end_time);
            return true;
        }
        if (!strcmp(sj->end_status, "failed")) {
            srv_exec_job_finish(app, j, SRV_JOB_FAILED,
                                sj->end_error[0] ? sj->end_error : "aelab train failed",
                                sj->end_time);
            return true;
        }
        if (stop_asked(j)) {
            srv_exec_job_finish(app, j, srv_exec_stop_state(j), NULL, sj->end_time);
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
            srv_exec_job_finish(app, j, srv_exec_stop_state(j), NULL, 0);
        } else {
            char msg[1200];
            slurm_says(sj, cmd, msg, sizeof msg);
            srv_exec_job_finish(app, j, SRV_JOB_FAILED, msg, 0);
        }
        return true;
    }
    return false;
}

/* Stop following sj: off the list (under lock), then freed.  Only this
 * thread frees an sjob, so its copy of the list stays valid until here. */
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

/* ---- the thread ------------------------------------------------------------- */

void *srv_slurm_monitor_main(void *arg)
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
        srv_exec_slurm_nap(s, TICK);
    }
    free(v);
    free(cmd);
    return NULL;
}
