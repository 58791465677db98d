/*
 * srv_slurm_checks.c - what the Slurm executor checks before it starts:
 * Slurm's client commands on the PATH, the aelab CLI the nodes run, a
 * writable log dir, the controller (and --slurm-partition); and, once the
 * followed jobs are re-attached, scancel for Slurm jobs of ours whose aelab
 * job is already over.  It starts no thread and follows no job
 * (srv_exec_slurm.c, srv_slurm_monitor.c).
 *
 * DESIGN: a bad setting refuses to start (SRV_ERR_ARG with the flag to
 * change); a controller that does not answer only warns, because jobs can
 * wait in aelabd's queue until it does.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "srv_log.h"
#include "srv_registry.h"
#include "srv_slurm_priv.h"

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
    srv_cmd_run(argv, SRV_SLURM_CMD_TIMEOUT, cmd);
    if (cmd->status != 0) {
        srv_cmd_message(cmd, m, sizeof m);
        if (srv_cmd_unreachable(cmd)) {
            srv_exec_slurm_set_controller(s, false, m);
        } else {
            st = srv_err_set(err, SRV_ERR_ARG, "--executor slurm: scontrol show partition: %s", m);
        }
        free(cmd);
        return st;
    }
    srv_exec_slurm_set_controller(s, true, NULL);
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

/* Slurm jobs of ours that aelabd already considers ended (cancelled while
 * pending, then a crash before the scancel): scancel them, so nothing runs
 * for a job that is over.  A Slurm job counts as ours only when its id is
 * the one stored for the aelab job of its name. */
void srv_slurm_checks_reap_orphans(struct slurm *s)
{
    struct srv_cmd *cmd = malloc(sizeof *cmd);
    char user[32];
    char *argv[] = {"squeue", "-h", "-u", user, "-o", "%i|%j", NULL};
    snprintf(user, sizeof user, "%ld", (long)getuid());
    if (!cmd) return;
    srv_cmd_run(argv, SRV_SLURM_CMD_TIMEOUT, cmd);
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
                srv_log(SRV_LOG_INFO, j->id,
                        "msg=\"the job ended but its Slurm job is still there; scancel\" "
                        "slurm_job_id=%s",
                        id);
                struct srv_cmd *c2 = malloc(sizeof *c2);
                if (c2) srv_slurm_monitor_scancel(s, j, id, c2);
                free(c2);
            }
            srv_job_unref(j);
        }
        line = end ? end + 1 : NULL;
    }
    free(cmd);
}

enum srv_status srv_slurm_checks_run(struct slurm *s, struct ae_err *err)
{
    const char *need[] = {"sbatch", "squeue", "scancel", "scontrol", NULL};
    enum srv_status st;

    for (int i = 0; need[i]; i++)
        if (!srv_cmd_on_path(need[i]))
            return srv_err_set(err, SRV_ERR_ARG,
                               "--executor slurm: %s is not on the PATH (install Slurm's client "
                               "commands, e.g. Debian's slurm-client, or add their directory to "
                               "PATH)",
                               need[i]);
    if ((st = find_aelab(s, err)) != SRV_OK) return st;
    if ((st = check_logdir(s->app, err)) != SRV_OK) return st;
    return check_controller(s, err);
}
