/*
 * srv_api_common.c - the look-ups the API handlers share (see
 * srv_api_common.h): the job a request names, the epoch it asks for, the
 * weights file of that epoch, the Idempotency-Key of a creating POST.
 *
 * Owns turning those request parts into a job/epoch/path or a 400/404
 * problem.  It calls no handler, so the handlers depend on it and never on
 * each other or on the dispatcher.
 */
#include "srv_api_common.h"

#include <nettle/sha2.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "srv_response.h"

/* See srv_api_common.h. */
struct srv_job *srv_api_find_job(struct srv_app *app, const struct srv_request *req,
                                 struct srv_response *r)
{
    struct srv_job *j = srv_registry_get(app->registry, req->route.job_id);
    if (!j) {
        char d[160];
        snprintf(d, sizeof d, "there is no job %lld; GET /api/jobs lists the jobs there are",
                 (long long)req->route.job_id);
        srv_response_problem(r, 404, "not-found", d, NULL);
    }
    return j;
}

/* See srv_api_common.h. */
int32_t srv_api_latest_epoch(struct srv_job *j)
{
    int32_t e;
    pthread_mutex_lock(&j->lock);
    e = j->n_rows ? j->rows[j->n_rows - 1].epoch : 0;
    pthread_mutex_unlock(&j->lock);
    return e;
}

/* See srv_api_common.h. */
int32_t srv_api_pick_epoch(struct srv_job *j, const struct srv_request *req, struct srv_response *r)
{
    const char *s = srv_uri_param(&req->uri, "epoch");
    int32_t latest = srv_api_latest_epoch(j);
    long long want = latest;
    struct ae_err e;
    char d[200];

    if (s && srv_parse_int(s, 1, j->cfg.epochs, "epoch", &want, &e) != SRV_OK) {
        srv_response_problem(r, 400, "invalid-parameter", e.msg, json_pack("{s:s}", "field",
                             "epoch"));
        return 0;
    }
    if (latest == 0) {
        snprintf(d, sizeof d,
                 "job %lld has no finished epoch yet; this appears when epoch 1 is done",
                 (long long)j->id);
        srv_response_problem(r, 404, "not-ready", d, NULL);
        return 0;
    }
    if (want > latest) {
        snprintf(d, sizeof d, "epoch %lld of job %lld has not finished (latest: %d)", want,
                 (long long)j->id, latest);
        srv_response_problem(r, 404, "not-ready", d, NULL);
        return 0;
    }
    return (int32_t)want;
}

void srv_api_weights_path(struct srv_app *app, struct srv_job *j, int32_t epoch, char *buf,
                          size_t len)
{
    char run_dir[4400];
    srv_app_run_dir(app, j, run_dir, sizeof run_dir);
    snprintf(buf, len, "%s/weights/epoch-%04d.aew", run_dir, epoch);
}

bool srv_api_parse_body(const struct srv_request *req, json_t **out, struct srv_response *r)
{
    struct ae_err e = {0};
    int line = 0, col = 0;

    if (srv_response_parse_json(req->body, req->body_len, out, &line, &col, &e) == SRV_OK)
        return true;
    json_t *x = json_object();
    if (x && line > 0) {
        json_object_set_new(x, "line", json_integer(line));
        json_object_set_new(x, "column", json_integer(col));
    }
    srv_response_problem(r, 400, "malformed-json", e.msg, x);
    return false;
}

bool srv_api_purge_param(const struct srv_request *req, bool *purge, struct srv_response *r)
{
    const char *v = srv_uri_param(&req->uri, "purge");
    *purge = false;
    if (!v || !strcmp(v, "false") || !strcmp(v, "0")) return true;
    if (!strcmp(v, "true") || !strcmp(v, "1")) {
        *purge = true;
        return true;
    }
    srv_response_problem(r, 400, "invalid-parameter", "purge must be true or false",
                         json_pack("{s:s}", "field", "purge"));
    return false;
}

#define IDEM_KEY_MAX 200

static bool idem_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n < 1 || n > IDEM_KEY_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] < 0x20 || (unsigned char)k[i] > 0x7e) return false;
    return true;
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
    struct sha256_ctx ctx;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, len, (const uint8_t *)data);
    sha256_digest(&ctx, sizeof d, d);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* See srv_api_common.h. */
bool srv_api_idempotency(const struct srv_request *req, const json_t *body, char hash[65],
                         struct srv_response *r)
{
    const char *key = req->idempotency_key;
    char *canon;
    hash[0] = '\0';
    if (!key) return true;
    if (!idem_key_ok(key)) {
        srv_response_problem(r, 400, "invalid-parameter",
                             "Idempotency-Key must be 1 to 200 printable ASCII characters", NULL);
        return false;
    }
    canon = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    if (!canon) {
        srv_response_problem(r, 500, "internal-error", "out of memory", NULL);
        return false;
    }
    sha256_hex(canon, strlen(canon), hash);
    free(canon);
    return true;
}

/* See srv_api_common.h. */
void srv_api_replayed(struct srv_response *r)
{
    srv_response_header(r, "Idempotent-Replayed", "true");
}
