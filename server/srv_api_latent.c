/*
 * srv_api_latent.c - a job's latent space through the API: latent.png (the
 * scatter, every model), manifold.png (vae with latent_dim 2) and
 * samples.png (vae: decoded draws from the prior).
 *
 * Owns these three handlers: parameter checks, which weights to use, and
 * the HTTP answer.  Does not draw (srv_latent.c does, the same pictures the
 * runner writes into the event files) and never writes to the run dir.
 *
 * Design: like reconstructions.png, every picture is rebuilt from the
 * weights file of the epoch asked for (default: the latest finished one),
 * so it works alike for running, finished and restarted jobs.  Order of
 * checks: unknown job (404), a model that cannot draw the picture (409),
 * bad parameters (400), epoch not finished yet (404).  Drawing takes well
 * under 0.2 s (5,000 points), which keeps HTTP threads responsive without
 * a cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "srv_api_handlers.h"
#include "srv_response.h"
#include "srv_latent.h"

#define SAMPLES_DEFAULT_N 20
#define SEED_MAX ((1LL << 53) - 1) /* exact in a JSON number and in JavaScript */

/* 409 unless j's model can draw `what`: a vae (with latent_dim 2 when
 * need_2d).  Returns true when it can. */
static bool vae_check(const struct srv_job *j, const char *what, bool need_2d,
                      struct srv_response *r)
{
    char d[300];
    if (j->cfg.model != AE_MODEL_VAE) {
        snprintf(d, sizeof d,
                 "%s is drawn by the vae's decoder, and job %lld is a %s model; "
                 "latent.png shows any model's latent space",
                 what, (long long)j->id, ae_model_name(j->cfg.model));
        srv_response_problem(r, 409, "wrong-model", d, json_pack("{s:s}", "model", j->model));
        return false;
    }
    if (need_2d && j->cfg.latent_dim != 2) {
        snprintf(d, sizeof d,
                 "%s is a 2-D grid of latent points and needs latent_dim 2; job %lld has "
                 "latent_dim %d (latent.png and samples.png work for it)",
                 what, (long long)j->id, j->cfg.latent_dim);
        srv_response_problem(r, 409, "wrong-model", d, json_pack("{s:s}", "model", j->model));
        return false;
    }
    return true;
}

/* j's model after `epoch`, from its weights file; NULL with r set. */
static struct ae_model *load_epoch(struct srv_app *app, struct srv_job *j, int32_t epoch,
                                   struct srv_response *r)
{
    char path[4600], d[800];
    struct ae_err e = {0};
    struct ae_model *m = NULL;
    srv_api_weights_path(app, j, epoch, path, sizeof path);
    if (ae_model_load(path, &m, &e) == AE_OK) return m;
    bool missing = e.code == AE_ERR_IO && access(path, F_OK) != 0;
    snprintf(d, sizeof d, "%s of job %lld: %s",
             missing ? "no weights for that epoch" : "could not read the weights",
             (long long)j->id, e.msg);
    srv_response_problem(r, missing ? 404 : 500, missing ? "not-found" : "io-error", d, NULL);
    return NULL;
}

/* The PNG, or a 500 naming what failed. */
static void answer(struct srv_response *r, enum ae_status st, const struct ae_err *e,
                   uint8_t *png, size_t len, const char *what, const struct srv_request *req,
                   int32_t epoch, bool cacheable)
{
    if (st != AE_OK) {
        char d[700];
        snprintf(d, sizeof d, "could not draw the %s: %s", what, e->msg);
        srv_response_problem(r, 500, "internal-error", d, NULL);
        free(png);
        return;
    }
    srv_response_take(r, 200, "image/png", (char *)png, len);
    srv_response_header(r, "X-Epoch", "%d", epoch);
    srv_response_header(r, "Cache-Control", "%s",
                        cacheable && srv_uri_param(&req->uri, "epoch") ? "private, max-age=86400"
                                                                       : "no-cache");
}

void srv_api_job_latent(struct srv_app *app, const struct srv_request *req, struct srv_response *r)
{
    struct srv_job *j = srv_api_find_job(app, req, r);
    const struct ae_dataset *ds = NULL;
    struct ae_model *m = NULL;
    struct ae_err e = {0};
    uint8_t *png = NULL;
    size_t len = 0;
    const char *canonical = NULL;
    if (!j) return;
    int32_t epoch = srv_api_pick_epoch(j, req, r);
    if (!epoch) goto out;
    if (!(m = load_epoch(app, j, epoch, r))) goto out;
    if (srv_data_get(app->data, j->dataset, &ds, &canonical, &e) != AE_OK) {
        char d[800];
        snprintf(d, sizeof d, "data set %s is needed for the test images: %s", j->dataset, e.msg);
        srv_response_problem(r, 500, "dataset-unavailable", d, NULL);
        goto out;
    }
    enum ae_status st = srv_latent_scatter_png(m, ds, canonical, SRV_LATENT_POINTS, &png, &len,
                                               NULL, NULL, &e);
    answer(r, st, &e, png, len, "latent scatter", req, epoch, true);
out:
    if (ds) srv_data_put(app->data, ds);
    ae_model_free(m);
    srv_job_unref(j);
}

void srv_api_job_manifold(struct srv_app *app, const struct srv_request *req,
                          struct srv_response *r)
{
    struct srv_job *j = srv_api_find_job(app, req, r);
    struct ae_model *m = NULL;
    struct ae_err e = {0};
    uint8_t *png = NULL;
    size_t len = 0;
    if (!j) return;
    if (!vae_check(j, "manifold.png", true, r)) goto out;
    int32_t epoch = srv_api_pick_epoch(j, req, r);
    if (!epoch) goto out;
    if (!(m = load_epoch(app, j, epoch, r))) goto out;
    enum ae_status st = srv_latent_manifold_png(m, &png, &len, NULL, NULL, &e);
    answer(r, st, &e, png, len, "latent manifold", req, epoch, true);
out:
    ae_model_free(m);
    srv_job_unref(j);
}

/* A seed for a request without one: from the kernel's random source (the
 * clock, mixed, if that fails), so every call differs. */
static long long fresh_seed(void)
{
    unsigned long long x = 0;
    if (getrandom(&x, sizeof x, GRND_NONBLOCK) != (ssize_t)sizeof x) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        x = ((unsigned long long)ts.tv_sec << 30) ^ (unsigned long long)ts.tv_nsec;
        x ^= x >> 31;
        x *= 0xBF58476D1CE4E5B9ull;
        x ^= x >> 29;
    }
    return (long long)(x & (unsigned long long)SEED_MAX);
}

void srv_api_job_samples(struct srv_app *app, const struct srv_request *req,
                         struct srv_response *r)
{
    struct srv_job *j = srv_api_find_job(app, req, r);
    struct ae_model *m = NULL;
    struct ae_err e = {0};
    uint8_t *png = NULL;
    size_t len = 0;
    long long n = SAMPLES_DEFAULT_N, seed = 0;
    const char *n_s = srv_uri_param(&req->uri, "n"), *seed_s = srv_uri_param(&req->uri, "seed");
    if (!j) return;
    if (!vae_check(j, "samples.png", false, r)) goto out;
    if (n_s && srv_parse_int(n_s, 1, SRV_LATENT_SAMPLES_MAX, "n", &n, &e) != SRV_OK) {
        srv_response_problem(r, 400, "invalid-parameter", e.msg, json_pack("{s:s}", "field", "n"));
        goto out;
    }
    if (seed_s && srv_parse_int(seed_s, 0, SEED_MAX, "seed", &seed, &e) != SRV_OK) {
        srv_response_problem(r, 400, "invalid-parameter", e.msg, json_pack("{s:s}", "field",
                             "seed"));
        goto out;
    }
    if (!seed_s) seed = fresh_seed();
    int32_t epoch = srv_api_pick_epoch(j, req, r);
    if (!epoch) goto out;
    if (!(m = load_epoch(app, j, epoch, r))) goto out;
    enum ae_status st = srv_latent_samples_png(m, (int32_t)n, (uint64_t)seed, &png, &len, NULL,
                                               NULL, &e);
    /* Only a request naming both its seed and its epoch always gets the
     * same picture. */
    answer(r, st, &e, png, len, "samples", req, epoch, seed_s != NULL);
    if (st == AE_OK) srv_response_header(r, "X-Seed", "%lld", seed);
out:
    ae_model_free(m);
    srv_job_unref(j);
}
