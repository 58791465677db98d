/*
 * srv_api_artifacts.c - what a job produced: reconstructions.png, metrics
 * (JSON or CSV), the model summary and the weights files.
 *
 * Owns reading a job's run directory for the API.  It never writes there
 * (the worker does, through srv_run).  Design: the PNG is rebuilt from the
 * weights file of an epoch (ae_model_load + srv_run_grid_png), so it works
 * the same for running, finished and restarted jobs; the latest one is
 * cached on the job until the next epoch lands.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srv_api_handlers.h"
#include "srv_response.h"
#include "srv_run.h"

void srv_api_job_recon(struct srv_app *app, const struct srv_request *req, struct srv_response *r)
{
    struct srv_job *j = srv_api_find_job(app, req, r);
    const char *n_s = srv_uri_param(&req->uri, "n");
    long long n = 10;
    int32_t epoch, latest;
    struct ae_err e = {0};
    struct ae_model *m = NULL;
    const struct ae_dataset *ds = NULL;
    uint8_t *png = NULL;
    size_t png_len = 0;
    int32_t w = 0, h = 0;
    char path[4600];

    if (!j) return;
    if (n_s && srv_parse_int(n_s, 1, 100, "n", &n, &e) != SRV_OK) {
        srv_problem(r, 400, "invalid-parameter", e.msg, json_pack("{s:s}", "field", "n"));
        goto out;
    }
    epoch = srv_api_pick_epoch(j, req, r);
    if (!epoch) goto out;
    latest = srv_api_latest_epoch(j);

    /* Cached copy of the latest epoch's grid? */
    pthread_mutex_lock(&j->lock);
    if (j->png && j->png_epoch == epoch && j->png_n == n) {
        char *copy = malloc(j->png_len);
        if (copy) {
            memcpy(copy, j->png, j->png_len);
            srv_response_take(r, 200, "image/png", copy, j->png_len);
        }
    }
    pthread_mutex_unlock(&j->lock);
    if (r->body) goto headers;

    srv_api_weights_path(app, j, epoch, path, sizeof path);
    if (ae_model_load(path, &m, &e) != AE_OK) {
        int missing = e.code == AE_ERR_IO && access(path, F_OK) != 0;
        char d[800];
        snprintf(d, sizeof d, "%s of job %lld: %s", missing ? "no weights for that epoch" :
                 "could not read the weights", (long long)j->id, e.msg);
        srv_problem(r, missing ? 404 : 500, missing ? "not-found" : "io-error", d, NULL);
        goto out;
    }
    if (srv_data_get(app->data, j->dataset, &ds, NULL, &e) != AE_OK) {
        char d[800];
        snprintf(d, sizeof d, "data set %s is needed for the test images: %s", j->dataset, e.msg);
        srv_problem(r, 500, "dataset-unavailable", d, NULL);
        goto out;
    }
    if (n > ds->n_test) n = ds->n_test;
    if (srv_run_grid_png(m, ds, (int32_t)n, &png, &png_len, &w, &h, &e) != AE_OK) {
        char d[700];
        snprintf(d, sizeof d, "could not draw the reconstructions: %s", e.msg);
        srv_problem(r, 500, "internal-error", d, NULL);
        goto out;
    }
    /* Keep a copy when this is the latest epoch. */
    if (epoch == latest) {
        uint8_t *keep = malloc(png_len);
        if (keep) {
            memcpy(keep, png, png_len);
            pthread_mutex_lock(&j->lock);
            free(j->png);
            j->png = keep;
            j->png_len = png_len;
            j->png_epoch = epoch;
            j->png_n = (int32_t)n;
            pthread_mutex_unlock(&j->lock);
        }
    }
    srv_response_take(r, 200, "image/png", (char *)png, png_len);
    png = NULL;
headers:
    srv_response_header(r, "X-Epoch", "%d", epoch);
    if (srv_uri_param(&req->uri, "epoch"))
        srv_response_header(r, "Cache-Control", "private, max-age=86400");
    else
        srv_response_header(r, "Cache-Control", "no-cache");
out:
    free(png);
    if (ds) srv_data_put(app->data, ds);
    ae_model_free(m);
    srv_job_unref(j);
}

/* ------------------------------------------------------------------------ */
/* Metrics                                                                  */
/* ------------------------------------------------------------------------ */

/* Append ",v" (or "," for a non-finite v) at *o. */
static void csv_num(char *buf, size_t len, size_t *o, double v)
{
    int w;
    if (*o >= len) return;
    if (isfinite(v))
        w = snprintf(buf + *o, len - *o, ",%.9g", v);
    else
        w = snprintf(buf + *o, len - *o, ",");
    if (w > 0) *o += (size_t)w;
}

void srv_api_job_metrics(struct srv_app *app, const struct srv_request *req, struct srv_response *r)
{
    const char *fmt = srv_uri_param(&req->uri, "format");
    bool csv = false;
    struct srv_job *j;

    if (fmt) {
        if (!strcmp(fmt, "csv"))
            csv = true;
        else if (strcmp(fmt, "json") != 0) {
            srv_problem(r, 400, "invalid-parameter", "format must be json or csv",
                        json_pack("{s:s}", "field", "format"));
            return;
        }
    } else if (req->accept) {
        const char *a = req->accept;
        bool json_ok = strstr(a, "application/json") || strstr(a, "*/*") ||
                       strstr(a, "application/*");
        if (strstr(a, "text/csv") && !strstr(a, "application/json"))
            csv = true;
        else if (!json_ok && !strstr(a, "text/csv")) {
            srv_problem(r, 406, "not-acceptable",
                        "metrics come as application/json or text/csv; ask for one of them in "
                        "Accept (or use ?format=csv)",
                        NULL);
            return;
        }
    }
    j = srv_api_find_job(app, req, r);
    if (!j) return;
    if (csv) {
        size_t n_metrics, cap, o = 0;
        const struct ae_metric *t = ae_metrics(&n_metrics);
        char *buf;
        pthread_mutex_lock(&j->lock);
        cap = 200 + 40 * n_metrics + (size_t)j->n_rows * (16 + 20 * n_metrics);
        buf = malloc(cap);
        if (buf) {
            /* epoch, then the ae_metrics() columns of the job's model. */
            o = (size_t)snprintf(buf, cap, "epoch");
            for (size_t k = 0; k < n_metrics; k++)
                if (ae_metric_applies(&t[k], j->cfg.model))
                    o += (size_t)snprintf(buf + o, cap - o, ",%s", t[k].name);
            o += (size_t)snprintf(buf + o, cap - o, "\n");
            for (int32_t i = 0; i < j->n_rows; i++) {
                const struct ae_epoch_stats *m = &j->rows[i];
                o += (size_t)snprintf(buf + o, cap - o, "%d", m->epoch);
                for (size_t k = 0; k < n_metrics; k++)
                    if (ae_metric_applies(&t[k], j->cfg.model))
                        csv_num(buf, cap, &o, ae_metric_get(m, k));
                o += (size_t)snprintf(buf + o, cap - o, "\n");
            }
        }
        pthread_mutex_unlock(&j->lock);
        if (!buf) {
            srv_problem(r, 500, "internal-error", "out of memory", NULL);
        } else {
            const char *base = strrchr(j->run_name, '/') ? strrchr(j->run_name, '/') + 1
                                                         : j->run_name;
            srv_response_take(r, 200, "text/csv; charset=utf-8", buf, o);
            srv_response_header(r, "Content-Disposition", "inline; filename=\"%s-metrics.csv\"",
                                base);
        }
    } else {
        json_t *full = srv_job_to_json(j, true, 0, NULL);
        json_t *o = full ? json_pack("{s:I,s:s,s:O,s:O}", "id", (json_int_t)j->id, "model",
                                     j->model, "state", json_object_get(full, "state"), "metrics",
                                     json_object_get(full, "metrics"))
                         : NULL;
        if (o)
            srv_response_json(r, 200, o);
        else
            srv_problem(r, 500, "internal-error", "out of memory", NULL);
        json_decref(o);
        json_decref(full);
    }
    srv_response_header(r, "Vary", "Accept");
    srv_job_unref(j);
}

/* ------------------------------------------------------------------------ */
/* Summary and weights                                                      */
/* ------------------------------------------------------------------------ */

void srv_api_job_summary(struct srv_app *app, const struct srv_request *req, struct srv_response *r)
{
    struct srv_job *j = srv_api_find_job(app, req, r);
    struct ae_model *m = NULL;
    struct ae_err e = {0};
    size_t need;
    char *buf;

    if (!j) return;
    if (ae_model_new(&j->cfg, &m, &e) != AE_OK) {
        char d[700];
        snprintf(d, sizeof d, "could not build the model: %s", e.msg);
        srv_problem(r, 500, "internal-error", d, NULL);
        goto out;
    }
    need = ae_model_summary(m, NULL, 0);
    buf = malloc(need + 1);
    if (!buf) {
        srv_problem(r, 500, "internal-error", "out of memory", NULL);
        goto out;
    }
    ae_model_summary(m, buf, need + 1);
    srv_response_take(r, 200, "text/plain; charset=utf-8", buf, strlen(buf));
    srv_response_header(r, "X-Params", "%lld", (long long)ae_model_n_params(m));
out:
    ae_model_free(m);
    srv_job_unref(j);
}

void srv_api_job_weights(struct srv_app *app, const struct srv_request *req, struct srv_response *r)
{
    struct srv_job *j = srv_api_find_job(app, req, r);
    char path[4600], fname[200];
    const char *base;
    struct stat sb;
    int fd;

    if (!j) return;
    /* A sweep trial's run_name is "sweep-.../0007-deep": name the file by its last part. */
    base = strrchr(j->run_name, '/') ? strrchr(j->run_name, '/') + 1 : j->run_name;
    if (srv_uri_param(&req->uri, "epoch")) {
        int32_t epoch = srv_api_pick_epoch(j, req, r);
        if (!epoch) goto out;
        srv_api_weights_path(app, j, epoch, path, sizeof path);
        snprintf(fname, sizeof fname, "%s-epoch-%04d.aew", base, epoch);
    } else {
        char run_dir[4400];
        srv_app_run_dir(app, j, run_dir, sizeof run_dir);
        snprintf(path, sizeof path, "%s/checkpoint.aeck", run_dir);
        snprintf(fname, sizeof fname, "%s-checkpoint.aeck", base);
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        char d[300];
        int en = errno;
        if (fd >= 0) close(fd);
        snprintf(d, sizeof d, "job %lld has no %s yet (%s)", (long long)j->id,
                 strstr(path, "checkpoint") ? "checkpoint" : "weights file for that epoch",
                 strerror(en));
        srv_problem(r, 404, "not-ready", d, NULL);
        goto out;
    }
    r->status = 200;
    r->content_type = "application/octet-stream";
    r->fd = fd;
    r->fd_size = sb.st_size;
    srv_response_header(r, "Content-Disposition", "attachment; filename=\"%s\"", fname);
out:
    srv_job_unref(j);
}
