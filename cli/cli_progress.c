/*
 * cli_progress.c - the progress file of `aelab train --progress` (see
 * cli_progress.h).
 *
 * Owns: the line formats, the 0.2 s batch throttle, the one-write-per-line
 * and fdatasync discipline, and remembering the first write error.
 *
 * Does not: decide when the job starts, ends or fails (cli_train.c does).
 */
#include "cli_progress.h"
#include "srv_run.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH_INTERVAL 0.2 /* seconds between batch lines */

struct cli_progress {
    int fd;
    char path[1024];
    double last_batch;   /* monotonic time of the last batch line; < 0 none yet */
    bool torn;           /* a write went out partly: write nothing more */
    char error[1200];    /* the first write error, "" if none */
};

static double clock_seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

struct cli_progress *cli_progress_open(const char *path, char *err, size_t err_len)
{
    struct cli_progress *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    /* The file may live in the run directory, which is made later. */
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) {
        snprintf(err, err_len, "%.200s...: path too long", path);
        free(p);
        return NULL;
    }
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        struct ae_err e = {0};
        if (srv_run_mkdirs(dir, &e) != AE_OK) {
            snprintf(err, err_len, "%s", e.msg);
            free(p);
            return NULL;
        }
    }
    p->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (p->fd < 0) {
        snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        free(p);
        return NULL;
    }
    snprintf(p->path, sizeof p->path, "%s", path);
    p->last_batch = -1.0;
    return p;
}

void cli_progress_close(struct cli_progress *p)
{
    if (!p) return;
    close(p->fd);
    free(p);
}

const char *cli_progress_failed(const struct cli_progress *p)
{
    return p && p->error[0] ? p->error : NULL;
}

static void note_error(struct cli_progress *p, const char *what)
{
    if (!p->error[0])
        snprintf(p->error, sizeof p->error, "%s: %s: %s", p->path, what, strerror(errno));
}

/* A number, or null when it is not finite (JSON has no NaN). */
static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* A new line's object: "event" first (jansson keeps insertion order), then
 * "time" (Unix time). */
static json_t *line_new(const char *event)
{
    json_t *o = json_object();
    json_object_set_new(o, "event", json_string(event));
    json_object_set_new(o, "time", json_real(clock_seconds(CLOCK_REALTIME)));
    return o;
}

/* A string (an error text, a host name) as JSON: jansson takes only UTF-8,
 * so other bytes become '?'. */
static json_t *text(const char *s)
{
    json_t *j = json_string(s);
    if (j) return j;
    char buf[1200];
    size_t k = 0;
    for (; s[k] && k < sizeof buf - 1; k++)
        buf[k] = (unsigned char)s[k] < 0x80 ? s[k] : '?';
    buf[k] = '\0';
    return json_string(buf);
}

/* Write o as one line with one write(2), fdatasync if asked.  Steals o. */
static void emit(struct cli_progress *p, json_t *o, bool sync)
{
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!line) {
        if (!p->error[0]) snprintf(p->error, sizeof p->error, "%s: out of memory", p->path);
        return;
    }
    size_t len = strlen(line);
    line[len] = '\n'; /* json_dumps' terminator becomes the line's end */
    if (!p->torn) {
        ssize_t w;
        do {
            w = write(p->fd, line, len + 1);
        } while (w < 0 && errno == EINTR);
        if (w != (ssize_t)(len + 1)) {
            if (w >= 0) {
                p->torn = w > 0;
                errno = ENOSPC; /* a short write: the disk is full */
            }
            note_error(p, "cannot write");
        } else if (sync && fdatasync(p->fd) != 0) {
            note_error(p, "cannot sync");
        }
    }
    free(line);
}

void cli_progress_start(struct cli_progress *p, int32_t start_epoch, int32_t epochs)
{
    if (!p) return;
    char host[256] = "";
    const char *node = getenv("SLURMD_NODENAME");
    if (!node || !node[0]) {
        if (gethostname(host, sizeof host) != 0) host[0] = '\0';
        host[sizeof host - 1] = '\0';
        node = host;
    }
    const char *sjob = getenv("SLURM_JOB_ID");
    const char *restart = getenv("SLURM_RESTART_COUNT");
    long long restarts = 0;
    if (restart) {
        char *end = NULL;
        restarts = strtoll(restart, &end, 10);
        if (end == restart || *end != '\0' || restarts < 0) restarts = 0;
    }
    json_t *o = line_new("start");
    json_object_set_new(o, "node", text(node));
    json_object_set_new(o, "pid", json_integer((json_int_t)getpid()));
    json_object_set_new(o, "slurm_job_id", sjob && sjob[0] ? json_string(sjob) : json_null());
    json_object_set_new(o, "restart", json_integer(restarts));
    json_object_set_new(o, "start_epoch", json_integer(start_epoch));
    json_object_set_new(o, "epochs", json_integer(epochs));
    emit(p, o, true);
}

void cli_progress_batch(struct cli_progress *p, const struct ae_progress *b)
{
    if (!p) return;
    double t = clock_seconds(CLOCK_MONOTONIC);
    bool last = b->batch >= b->n_batches;
    if (!last && p->last_batch >= 0 && t - p->last_batch < BATCH_INTERVAL) return;
    p->last_batch = t;
    json_t *o = line_new("batch");
    json_object_set_new(o, "epoch", json_integer(b->epoch));
    json_object_set_new(o, "epochs", json_integer(b->n_epochs));
    json_object_set_new(o, "batch", json_integer(b->batch));
    json_object_set_new(o, "batches", json_integer(b->n_batches));
    json_object_set_new(o, "samples", json_integer((json_int_t)b->samples));
    json_object_set_new(o, "loss", num(b->loss));
    emit(p, o, false);
}

void cli_progress_epoch(struct cli_progress *p, const struct ae_epoch_stats *s,
                        enum ae_model_kind kind)
{
    if (!p) return;
    size_t n;
    const struct ae_metric *t = ae_metrics(&n);
    json_t *o = line_new("epoch");
    json_object_set_new(o, "epoch", json_integer(s->epoch));
    /* The engine's per-epoch metrics table: the same names as everywhere. */
    for (size_t i = 0; i < n; i++)
        if (ae_metric_applies(&t[i], kind))
            json_object_set_new(o, t[i].name, num(ae_metric_get(s, i)));
    emit(p, o, true);
}

void cli_progress_end(struct cli_progress *p, const char *status, const char *error)
{
    if (!p) return;
    json_t *o = line_new("end");
    json_object_set_new(o, "status", json_string(status));
    if (error) json_object_set_new(o, "error", text(error));
    emit(p, o, true);
}
