/*
 * srv_slurm_submit.c - the batch script and sbatch, and the squeue look-up
 * for a job whose sbatch got no answer (see srv_slurm_submit.h).
 *
 * DESIGN: the script only `exec`s the aelab CLI; every word of it is
 * single-quoted (a ' inside becomes '\''), so paths and names with spaces
 * or shell characters reach aelab unchanged.  sbatch itself is run from
 * an argv array by srv_cmd_run, never through a shell.
 */
#include "srv_slurm_submit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srv_run.h"

#define SBATCH_TIMEOUT 15.0 /* seconds; sbatch retries a dead controller ~MessageTimeout */
#define MAX_ARGS 96
#define FIND_TIMEOUT 10.0   /* seconds; as every squeue of the executor */

int srv_slurm_mem_mb(const struct ae_config *cfg)
{
    /* Peak RSS of `aelab train --json` (peak_rss_bytes) on mnist, MiB:
     *   threads        1     2     4     8
     *   simple/sparse  63    65
     *   deep           67    69
     *   conv/denoise   66    72    83   107
     *   vae            69    71    73    78
     * independent of train_size (the data set is loaded whole) and the
     * same for fashion-mnist (same shapes): about 64 MiB + 6 MiB per
     * thread at worst (conv).  Twice that, so the limit stops a runaway
     * job and never a healthy one: 128 + 12 per thread. */
    int t = cfg->threads > 0 ? cfg->threads : 1;
    return 128 + 12 * t;
}

/* Append 'word' (shell single-quoted) to f. */
static void put_quoted(FILE *f, const char *w)
{
    fputc('\'', f);
    for (; *w; w++) {
        if (*w == '\'')
            fputs("'\\''", f);
        else
            fputc(*w, f);
    }
    fputc('\'', f);
}

static int write_script(const char *path, char **words, int n, char *msg, size_t msg_len)
{
    char tmp[4500];
    snprintf(tmp, sizeof tmp, "%.4400s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(msg, msg_len, "writing the batch script %s: %s", tmp, strerror(errno));
        return -1;
    }
    fputs("#!/bin/sh\n# Written by aelabd: one aelab job as one Slurm batch job.\n"
          "# The progress file is how aelabd follows it (README: Running on a cluster).\n"
          "exec",
          f);
    for (int i = 0; i < n; i++) {
        fputc(' ', f);
        put_quoted(f, words[i]);
    }
    fputc('\n', f);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0) {
        snprintf(msg, msg_len, "writing the batch script %s: %s", tmp, strerror(errno));
        return -1;
    }
    if (chmod(tmp, 0755) != 0 || rename(tmp, path) != 0) {
        snprintf(msg, msg_len, "writing the batch script %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* A copy of s kept in pool (freed by the caller with the pool). */
static char *keep(char **pool, int *n, const char *s)
{
    char *c = strdup(s);
    if (c) pool[(*n)++] = c;
    return c;
}

enum srv_submit_result srv_slurm_submit(struct srv_app *app, struct srv_job *j, const char *aelab,
                                        const char *data_dir, struct srv_cmd *cmd,
                                        char *slurm_id, size_t id_len, char *msg, size_t msg_len)
{
    char run_dir[4400], script[4500], progress[4500], out[4500], buf[64];
    char *words[MAX_ARGS], *argv[MAX_ARGS], *pool[2 * MAX_ARGS];
    int nw = 0, na = 0, np = 0;
    enum srv_submit_result res = SRV_SUBMIT_LOCAL_ERROR;
    json_t *settings = srv_jobspec_settings_json(&j->cfg);
    struct ae_err e = {0};
    char *extra = NULL;

    if (!settings) {
        snprintf(msg, msg_len, "out of memory");
        return res;
    }
    srv_app_run_dir(app, j, run_dir, sizeof run_dir);
    if (srv_run_mkdirs(run_dir, &e) != AE_OK) {
        snprintf(msg, msg_len, "run directory: %s", e.msg);
        goto out;
    }
    snprintf(script, sizeof script, "%s/aelab-job.sh", run_dir);
    snprintf(progress, sizeof progress, "%s/progress.jsonl", run_dir);
    snprintf(out, sizeof out, "--output=%s/slurm-%%j.out", run_dir);

    /* The script: aelab train with the run directory and every setting. */
    words[nw++] = keep(pool, &np, aelab);
    words[nw++] = "train";
    words[nw++] = "--run-dir";
    words[nw++] = run_dir;
    words[nw++] = "--job-id";
    snprintf(buf, sizeof buf, "%lld", (long long)j->id);
    words[nw++] = keep(pool, &np, buf);
    words[nw++] = "--run-name";
    words[nw++] = j->name[0] ? j->name : j->run_name;
    words[nw++] = "--progress";
    words[nw++] = progress;
    words[nw++] = "--model";
    words[nw++] = j->model;
    words[nw++] = "--dataset";
    words[nw++] = j->dataset;
    if (data_dir && *data_dir) {
        words[nw++] = "--data-dir";
        words[nw++] = (char *)data_dir;
    }
    {
        const char *k;
        json_t *v;
        json_object_foreach(settings, k, v)
        {
            char flag[80], val[64];
            if (nw + 2 >= MAX_ARGS) break;
            if (json_is_null(v)) continue;
            snprintf(flag, sizeof flag, "--%s", k);
            if (json_is_integer(v))
                snprintf(val, sizeof val, "%lld", (long long)json_integer_value(v));
            else if (json_is_real(v))
                snprintf(val, sizeof val, "%.17g", json_real_value(v));
            else if (json_is_string(v))
                snprintf(val, sizeof val, "%s", json_string_value(v));
            else if (json_is_boolean(v))
                snprintf(val, sizeof val, "%s", json_is_true(v) ? "true" : "false");
            else
                continue;
            words[nw++] = keep(pool, &np, flag);
            words[nw++] = keep(pool, &np, val);
        }
    }
    for (int i = 0; i < nw; i++)
        if (!words[i]) {
            snprintf(msg, msg_len, "out of memory");
            goto out;
        }
    if (write_script(script, words, nw, msg, msg_len) != 0) goto out;

    /* sbatch's argv. */
    argv[na++] = "sbatch";
    argv[na++] = "--parsable";
    snprintf(buf, sizeof buf, "--job-name=aelab-%lld", (long long)j->id);
    argv[na++] = keep(pool, &np, buf);
    snprintf(buf, sizeof buf, "--cpus-per-task=%d", j->cfg.threads > 0 ? j->cfg.threads : 1);
    argv[na++] = keep(pool, &np, buf);
    snprintf(buf, sizeof buf, "--mem=%dM", srv_slurm_mem_mb(&j->cfg));
    argv[na++] = keep(pool, &np, buf);
    argv[na++] = "--requeue";
    argv[na++] = "--open-mode=append";
    argv[na++] = out;
    {
        char chdir_arg[4500];
        snprintf(chdir_arg, sizeof chdir_arg, "--chdir=%s", run_dir);
        argv[na++] = keep(pool, &np, chdir_arg);
    }
    if (app->cfg.slurm_partition) {
        char a[300];
        snprintf(a, sizeof a, "--partition=%s", app->cfg.slurm_partition);
        argv[na++] = keep(pool, &np, a);
    }
    if (app->cfg.slurm_account) {
        char a[300];
        snprintf(a, sizeof a, "--account=%s", app->cfg.slurm_account);
        argv[na++] = keep(pool, &np, a);
    }
    if (app->cfg.slurm_sbatch_args) {
        extra = strdup(app->cfg.slurm_sbatch_args);
        char *save = NULL;
        for (char *t = extra ? strtok_r(extra, " \t", &save) : NULL; t && na < MAX_ARGS - 3;
             t = strtok_r(NULL, " \t", &save))
            argv[na++] = t;
    }
    argv[na++] = script;
    argv[na] = NULL;
    for (int i = 0; i < na; i++)
        if (!argv[i]) {
            snprintf(msg, msg_len, "out of memory");
            goto out;
        }

    srv_cmd_run(argv, SBATCH_TIMEOUT, cmd);
    if (cmd->status == 0) {
        /* "42" or "42;cluster". */
        size_t n = strcspn(cmd->out, ";\n \t");
        if (n == 0 || n >= id_len) {
            snprintf(msg, msg_len, "sbatch answered no job id: '%.200s'", cmd->out);
            res = SRV_SUBMIT_REFUSED;
            goto out;
        }
        memcpy(slurm_id, cmd->out, n);
        slurm_id[n] = '\0';
        res = SRV_SUBMIT_OK;
    } else {
        char m[1500];
        srv_cmd_message(cmd, m, sizeof m);
        snprintf(msg, msg_len, "%s%s", strncmp(m, "sbatch", 6) ? "sbatch: " : "", m);
        res = srv_cmd_unreachable(cmd) ? SRV_SUBMIT_UNREACHABLE : SRV_SUBMIT_REFUSED;
    }
out:
    for (int i = 0; i < np; i++) free(pool[i]);
    free(extra);
    json_decref(settings);
    return res;
}

/* Insert id into ids[0..*n), kept ascending; when full, the lowest max stay. */
static void put_sorted(long long *ids, int *n, int max, long long id)
{
    int i;
    if (*n == max) {
        if (ids[max - 1] <= id) return;
        i = max - 1;
    } else {
        i = (*n)++;
    }
    while (i > 0 && ids[i - 1] > id) {
        ids[i] = ids[i - 1];
        i--;
    }
    ids[i] = id;
}

int srv_slurm_submit_find(struct srv_app *app, struct srv_job *j, struct srv_cmd *cmd,
                          long long *ids, int max, bool *unreachable, char *msg, size_t msg_len)
{
    char name[64], user[32], run_dir[4400];
    char *argv[] = {"squeue", "-h", "-t", "all", "-u", user, "-n", name, "-o", "%i|%Z", NULL};
    int n = 0, total = 0;

    snprintf(name, sizeof name, "aelab-%lld", (long long)j->id);
    snprintf(user, sizeof user, "%ld", (long)getuid());
    srv_app_run_dir(app, j, run_dir, sizeof run_dir);
    srv_cmd_run(argv, FIND_TIMEOUT, cmd);
    if (cmd->status != 0) {
        char m[1500];
        srv_cmd_message(cmd, m, sizeof m);
        snprintf(msg, msg_len, "squeue: %s", m);
        *unreachable = srv_cmd_unreachable(cmd);
        return -1;
    }
    for (char *line = cmd->out; *line;) {
        char *end = strchr(line, '\n'), *bar;
        if (end) *end = '\0';
        errno = 0;
        long long id = strtoll(line, &bar, 10);
        if (!errno && id > 0 && *bar == '|' && !strcmp(bar + 1, run_dir)) {
            total++;
            if (max > 0) put_sorted(ids, &n, max, id);
        }
        if (!end) break;
        line = end + 1;
    }
    return total;
}
