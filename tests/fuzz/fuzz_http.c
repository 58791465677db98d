/*
 * fuzz_http.c - libFuzzer harness: requests through aelabd's API, without
 * a socket.
 *
 * One input is a short session of up to 8 requests separated by a line
 * "@@".  Each request is text:
 *
 *     METHOD TARGET
 *     Header-Name: value        (Content-Type, Content-Length, Accept,
 *     ...                        Authorization, Idempotency-Key, Last-Event-ID)
 *     <empty line>
 *     body
 *
 * and goes down the same path as in srv_http.c: srv_uri_parse on the raw
 * target, srv_router_match, srv_api_precheck (route errors, bearer token,
 * Content-Length, media type), then srv_api_handle and the real handler.
 * Every input gets a fresh daemon state (an in-memory SQLite store, the
 * registry, the queue of 4 and the feed) holding five jobs, one in each
 * state, so results never depend on earlier inputs; what is built once is
 * read-only (settings, the OpenAPI text, a tiny data set, the web root and
 * the weights files of jobs 1 and 2, put back if a purge removed them).
 * Event streams are run at the end of the session against a closed feed,
 * so they emit their opening events and end instead of waiting for
 * heartbeats.
 *
 * Properties checked (FUZZ_CHECK), besides "no crash, no leak, no UB":
 *   - a status is 1xx..5xx, every JSON body parses, and every problem+json
 *     body carries the same status plus a detail string;
 *   - a 405 says what is allowed; a 401 asks for the Bearer scheme;
 *   - a file body (static file or weights) is never the secret file that
 *     sits next to the web root, nor reached through the symlink that
 *     points at it.
 * Does not: run workers or train (no job changes state except by API
 * calls), or test libmicrohttpd's own parsing.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "server/srv_api.h"
#include "server/srv_api_service.h"
#include "server/srv_executor.h"
#include "server/srv_job.h"
#include "server/srv_log.h"
#include "server/srv_latent.h"
#include "server/srv_run.h"
#include "server/srv_sweeps.h"

extern const char srv_openapi_doc[];
extern const unsigned long srv_openapi_doc_len;

#define MAX_REQUESTS 8
#define MAX_STREAMS 4
#define TOKEN "s3cret"

static struct srv_app app;
static struct stat secret_sb;
/* Jobs whose weights files exist: 1 (simple, epochs 1 and 2) and 2 (vae,
 * epoch 1).  Put back before each input if a purge removed them. */
static struct weights_job {
    int64_t id;
    const char *model;
    int32_t n_epochs;
    struct ae_model *m;
    char dir[4300];
} wjobs[2] = {{1, "simple", 2, NULL, ""}, {2, "vae", 1, NULL, ""}};

/* ------------------------------------------------------------------------ */
/* Set-up done once                                                         */
/* ------------------------------------------------------------------------ */

static void put_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "fuzz_http: cannot write %s\n", path);
        abort();
    }
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "fuzz_http: mkdir %s: %s\n", path, strerror(errno));
        abort();
    }
}

/* An IDX ubyte file: dims then n bytes of a fixed pattern. */
static void put_idx(const char *dir, const char *name, int nd, uint32_t n)
{
    char path[4200];
    uint8_t head[16] = {0, 0, 8, (uint8_t)nd};
    uint32_t dims[3] = {n, 28, 28};
    size_t payload = nd == 3 ? (size_t)n * 784 : n;
    uint8_t *buf = malloc(payload);
    FILE *f;
    for (int i = 0; i < nd; i++)
        for (int b = 0; b < 4; b++) head[4 + 4 * i + b] = (uint8_t)(dims[i] >> (24 - 8 * b));
    for (size_t i = 0; i < payload; i++) buf[i] = (uint8_t)((i * 37u) ^ (i >> 5));
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(head, 1, 4 + 4 * (size_t)nd, f) != 4 + 4 * (size_t)nd ||
        fwrite(buf, 1, payload, f) != payload || fclose(f) != 0) {
        fprintf(stderr, "fuzz_http: cannot write %s\n", path);
        abort();
    }
    free(buf);
}

/* A model's defaults on 16 training and 16 test images. */
static struct ae_config tiny_cfg(enum ae_model_kind k, int32_t epochs)
{
    struct ae_config c;
    ae_config_defaults(&c, k);
    c.epochs = epochs;
    c.train_size = 16;
    c.test_size = 16;
    return c;
}

/* Job 1: simple, 2 of 3 epochs done (succeeded), weights on disk. */
static struct ae_config job1_cfg(void)
{
    struct ae_config c = tiny_cfg(AE_MODEL_SIMPLE, 3);
    c.encoding_dim = 4;
    return c;
}

/* Job 2: vae, failed after epoch 1 of 4, weights on disk. */
static struct ae_config job2_cfg(void) { return tiny_cfg(AE_MODEL_VAE, 4); }

static void ensure_weights(void)
{
    struct ae_err e = {0};
    char path[4400], run_dir[4300];
    for (int k = 0; k < 2; k++) {
        struct weights_job *w = &wjobs[k];
        for (int32_t ep = 1; ep <= w->n_epochs; ep++) {
            snprintf(path, sizeof path, "%s/epoch-%04d.aew", w->dir, ep);
            if (access(path, F_OK) == 0) continue;
            snprintf(run_dir, sizeof run_dir, "%s", w->dir);
            *strrchr(run_dir, '/') = '\0';
            make_dir(run_dir);
            make_dir(w->dir);
            if (ae_model_save(w->m, path, &e) != AE_OK) {
                fprintf(stderr, "fuzz_http: %s\n", e.msg);
                abort();
            }
        }
    }
}

static void setup(void)
{
    const char *tmp = fuzz_tmpdir();
    char path[4200], run[64];
    struct ae_err e = {0};
    struct ae_config c1 = job1_cfg(), c2 = job2_cfg();

    srv_log_set_level(SRV_LOG_ERROR);
    srv_config_defaults(&app.cfg, 2);
    app.cfg.max_queued = 4;
    app.cfg.threads_per_job = 1;
    srv_metrics_init(&app.metrics);
    pthread_mutex_init(&app.submit_lock, NULL);
    atomic_init(&app.stopping, false);
    snprintf(app.token, sizeof app.token, "%s", TOKEN);
    snprintf(app.default_dataset, sizeof app.default_dataset, "mnist");
    snprintf(app.tensorboard_url, sizeof app.tensorboard_url, "http://localhost:6006/");
    app.started_mono = srv_log_now_mono();

    /* Run directories. */
    snprintf(app.logdir, sizeof app.logdir, "%s/runs", tmp);
    make_dir(app.logdir);
    for (int k = 0; k < 2; k++) {
        srv_run_dir_name(run, sizeof run, wjobs[k].id, wjobs[k].model);
        snprintf(wjobs[k].dir, sizeof wjobs[k].dir, "%s/%s/weights", app.logdir, run);
    }

    /* Web root with a secret next to it and a symlink pointing there. */
    snprintf(path, sizeof path, "%s/secret.txt", tmp);
    put_text(path, "secret: never served\n");
    if (stat(path, &secret_sb) != 0) abort();
    snprintf(app.web_root, sizeof app.web_root, "%s/web", tmp);
    make_dir(app.web_root);
    snprintf(path, sizeof path, "%s/index.html", app.web_root);
    put_text(path, "<!doctype html><title>aelab</title>\n");
    snprintf(path, sizeof path, "%s/app.js", app.web_root);
    put_text(path, "console.log(1);\n");
    snprintf(path, sizeof path, "%s/.hidden", app.web_root);
    put_text(path, "hidden\n");
    snprintf(path, sizeof path, "%s/css", app.web_root);
    make_dir(path);
    snprintf(path, sizeof path, "%s/css/site.css", app.web_root);
    put_text(path, "body{}\n");
    snprintf(path, sizeof path, "%s/link.txt", app.web_root);
    if (symlink("../secret.txt", path) != 0 && errno != EEXIST) abort();

    /* A tiny data set: both names resolve to it. */
    snprintf(path, sizeof path, "%s/data", tmp);
    make_dir(path);
    put_idx(path, "train-images-idx3-ubyte", 3, 16);
    put_idx(path, "train-labels-idx1-ubyte", 1, 16);
    put_idx(path, "t10k-images-idx3-ubyte", 3, 16);
    put_idx(path, "t10k-labels-idx1-ubyte", 1, 16);
    if (srv_data_new(path, &app.data, &e) != AE_OK ||
        srv_api_build_models(&app, &e) != SRV_OK ||
        srv_api_build_openapi(&app, srv_openapi_doc, srv_openapi_doc_len, &e) != SRV_OK ||
        ae_model_new(&c1, &wjobs[0].m, &e) != AE_OK ||
        ae_model_new(&c2, &wjobs[1].m, &e) != AE_OK) {
        fprintf(stderr, "fuzz_http: set-up: %s\n", e.msg);
        abort();
    }
    /* Load the fonts now (the latent pictures have text): fontconfig's
     * one-off start-up then belongs to no input.  Released at exit, as
     * aelabd does, so the leak check at exit sees only our own blocks. */
    {
        static const float xy[4] = {0, 0, 1, 1};
        static const uint8_t labels[2] = {1, 2};
        struct srv_scatter sc = {.xy = xy, .labels = labels, .n = 2, .title = "warm-up"};
        uint8_t *png = NULL;
        size_t len = 0;
        if (srv_latent_plot_png(&sc, &png, &len, NULL, &e) != AE_OK) abort();
        free(png);
        atexit(srv_latent_release_fonts);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    setup();
    return 0;
}

/* ------------------------------------------------------------------------ */
/* A fresh daemon state per input                                           */
/* ------------------------------------------------------------------------ */

static struct srv_job *add_job(const char *model, const char *name, const struct ae_config *cfg)
{
    struct srv_store_job rec = {
        .name = name, .model = model, .dataset = "mnist",
        .settings = "{}", .state = "queued", .created_at = 1.7e9,
    };
    struct ae_err e = {0};
    int64_t id = 0;
    bool replayed = false;
    struct srv_job *j;
    if (srv_store_job_insert(app.store, &rec, NULL, NULL, &id, &replayed, &e) != SRV_OK) abort();
    j = srv_job_new(id, name, model, "mnist", cfg, SRV_JOB_QUEUED, rec.created_at);
    if (!j || srv_registry_add(app.registry, j, &e) != SRV_OK) abort();
    return j;
}

static void open_state(void)
{
    struct ae_err e = {0};
    struct ae_config c = job1_cfg(), cv;
    struct srv_job *j;
    struct ae_epoch_stats m = {.epoch = 1, .loss = 0.25, .val_loss = 0.24,
                                 .train_seconds = 1.5, .val_seconds = 0.1};
    struct ae_progress p = {.epoch = 1, .n_epochs = 5, .batch = 3, .n_batches = 10,
                            .samples = 384, .loss = 0.4};

    atomic_store(&app.stopping, false);
    if (srv_store_open(":memory:", &app.store, &e) != SRV_OK ||
        srv_registry_new(&app.registry, &e) != SRV_OK ||
        srv_queue_new((size_t)app.cfg.max_queued, &app.queue, &e) != SRV_OK ||
        srv_feed_new(64, &app.feed, &e) != SRV_OK ||
        srv_sweeps_new(&app.sweeps, &e) != SRV_OK ||
        srv_executor_new(&app, "local", &app.executor, &e) != SRV_OK) { /* never started */
        fprintf(stderr, "fuzz_http: %s\n", e.msg);
        abort();
    }
    ensure_weights();

    /* 1: succeeded after 2 epochs (weights on disk). */
    j = add_job("simple", "first", &c);
    srv_job_start(j, app.store, app.feed, 0, 0, &e);
    srv_job_epoch(j, app.store, app.feed, &m, &e);
    m.epoch = 2, m.loss = 0.2, m.val_loss = 0.21;
    srv_job_epoch(j, app.store, app.feed, &m, &e);
    srv_job_finish(j, app.store, app.feed, SRV_JOB_SUCCEEDED, NULL, 0, &e);
    srv_job_unref(j);
    /* 2: vae that failed after epoch 1 (weights on disk). */
    cv = job2_cfg();
    j = add_job("vae", "v \"quoted\" \xc3\xa9", &cv);
    srv_job_start(j, app.store, app.feed, 0, 0, &e);
    m.epoch = 1, m.loss = 190.5, m.val_loss = 185.25, m.reconstruction_loss = 180.0;
    m.kl_loss = 10.5, m.val_reconstruction_loss = 176.0, m.val_kl_loss = 9.25;
    srv_job_epoch(j, app.store, app.feed, &m, &e);
    srv_job_finish(j, app.store, app.feed, SRV_JOB_FAILED, "data set \"x\" vanished", 0, &e);
    srv_job_unref(j);
    /* 3: conv, running mid-epoch. */
    ae_config_defaults(&cv, AE_MODEL_CONV);
    j = add_job("conv", "", &cv);
    srv_job_start(j, app.store, app.feed, 0, 0, &e);
    srv_job_progress(j, app.feed, &p);
    srv_job_unref(j);
    /* 4: deep, queued. */
    ae_config_defaults(&cv, AE_MODEL_DEEP);
    j = add_job("deep", "waiting", &cv);
    if (srv_queue_push_force(app.queue, j, &e) != SRV_OK) abort(); /* the queue keeps the ref */
    /* 5: denoise, cancelled while queued. */
    ae_config_defaults(&cv, AE_MODEL_DENOISE);
    j = add_job("denoise", "", &cv);
    srv_job_cancel_queued(j, app.store, app.feed, &e);
    srv_job_unref(j);
}

static void close_state(void)
{
    void *j;
    while ((j = srv_queue_drain(app.queue)) != NULL) srv_job_unref(j);
    srv_executor_stop(app.executor);
    srv_sweeps_free(app.sweeps);
    srv_registry_free(app.registry);
    srv_queue_free(app.queue);
    srv_feed_free(app.feed);
    srv_store_close(app.store);
    app.executor = NULL;
    app.sweeps = NULL;
    app.registry = NULL;
    app.queue = NULL;
    app.feed = NULL;
    app.store = NULL;
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                 */
/* ------------------------------------------------------------------------ */

/* A NUL-terminated copy of p[0..n) cut at the first NUL (MHD's strings
 * cannot hold one). */
static char *cstr(const char *p, size_t n)
{
    const char *z = memchr(p, '\0', n);
    char *s;
    if (z) n = (size_t)(z - p);
    s = malloc(n + 1);
    if (!s) abort();
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static const char *find(const char *p, const char *end, const char *needle)
{
    size_t k = strlen(needle);
    for (; p + k <= end; p++)
        if (memcmp(p, needle, k) == 0) return p;
    return NULL;
}

static void check_response(const struct srv_response *r, int route_status)
{
    FUZZ_CHECK(r->status >= 100 && r->status <= 599);
    if (r->body && r->content_type && strstr(r->content_type, "json")) {
        json_error_t je;
        json_t *b = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, &je);
        FUZZ_CHECK(b != NULL);
        if (!strcmp(r->content_type, "application/problem+json")) {
            FUZZ_CHECK(json_is_object(b));
            FUZZ_CHECK(json_integer_value(json_object_get(b, "status")) == r->status);
            FUZZ_CHECK(json_is_string(json_object_get(b, "detail")));
        }
        json_decref(b);
    }
    if (r->status == 405 && route_status == 405) {
        bool allow = false;
        for (int i = 0; i < r->n_headers; i++) allow |= !strcmp(r->headers[i].name, "Allow");
        FUZZ_CHECK(allow);
    }
    if (r->status == 401) {
        bool www = false;
        for (int i = 0; i < r->n_headers; i++)
            www |= !strcmp(r->headers[i].name, "WWW-Authenticate") &&
                   !strncmp(r->headers[i].value, "Bearer", 6);
        FUZZ_CHECK(www);
    }
    if (r->fd >= 0) {
        struct stat sb;
        FUZZ_CHECK(fstat(r->fd, &sb) == 0 && S_ISREG(sb.st_mode));
        FUZZ_CHECK(!(sb.st_dev == secret_sb.st_dev && sb.st_ino == secret_sb.st_ino));
        FUZZ_CHECK(r->fd_size == sb.st_size);
    }
}

struct held {
    struct srv_response r[MAX_STREAMS];
    int n;
};

/* Run one request text; a streaming response is kept in h for later. */
static void run_request(const char *p, size_t n, struct held *h)
{
    const char *end = p + n, *eol, *sp, *blank;
    char *line, *method = NULL, *target = NULL, *body = NULL;
    char *hdr_val[6] = {0};
    static const char *const hdr_name[6] = {"Content-Type", "Content-Length", "Accept",
                                            "Authorization", "Idempotency-Key", "Last-Event-ID"};
    struct srv_request req;
    struct srv_response r;
    struct ae_err e = {0};

    memset(&req, 0, sizeof req);
    srv_response_init(&r);

    /* Request line. */
    eol = memchr(p, '\n', n);
    if (!eol) eol = end;
    line = cstr(p, (size_t)(eol - p));
    sp = strchr(line, ' ');
    if (!sp) {
        free(line);
        return;
    }
    method = cstr(line, (size_t)(sp - line));
    target = cstr(sp + 1, strlen(sp + 1));
    free(line);
    if (!method[0] || !target[0]) goto out; /* MHD rejects these itself */

    /* Headers until an empty line; the rest is the body. */
    p = eol < end ? eol + 1 : end;
    blank = find(p, end, "\n\n");
    {
        const char *hend = blank ? blank + 1 : end;
        while (p < hend) {
            const char *nl = memchr(p, '\n', (size_t)(hend - p));
            const char *colon;
            if (!nl) nl = hend;
            colon = memchr(p, ':', (size_t)(nl - p));
            if (colon) {
                for (int i = 0; i < 6; i++) {
                    size_t k = strlen(hdr_name[i]);
                    if ((size_t)(colon - p) == k && strncasecmp(p, hdr_name[i], k) == 0 &&
                        !hdr_val[i]) {
                        const char *v = colon + 1;
                        while (v < nl && *v == ' ') v++;
                        hdr_val[i] = cstr(v, (size_t)(nl - v));
                    }
                }
            }
            p = nl + 1;
        }
    }
    if (blank) {
        size_t blen = (size_t)(end - (blank + 2));
        body = malloc(blen + 1);
        if (!body) abort();
        memcpy(body, blank + 2, blen);
        body[blen] = '\0';
        req.body = body;
        req.body_len = blen;
    }

    /* What srv_http.c's access callback does. */
    req.method = method;
    if (srv_uri_parse(target, &req.uri, &e) != SRV_OK) {
        FUZZ_CHECK(e.msg[0] != '\0');
        goto out;
    }
    FUZZ_CHECK(req.uri.n_seg >= 0 && req.uri.n_seg <= SRV_URI_MAX_SEGMENTS);
    FUZZ_CHECK(req.uri.n_params >= 0 && req.uri.n_params <= SRV_URI_MAX_PARAMS);
    for (int i = 0; i < req.uri.n_seg; i++) FUZZ_CHECK(req.uri.seg[i] != NULL);
    srv_router_match(method, &req.uri, &req.route);
    FUZZ_CHECK(req.route.id >= SRV_ROUTE_NONE && req.route.id < SRV_ROUTE_COUNT);
    FUZZ_CHECK(srv_route_name(req.route.id) != NULL);
    req.content_type = hdr_val[0];
    req.content_length = hdr_val[1];
    req.accept = hdr_val[2];
    req.authorization = hdr_val[3];
    req.idempotency_key = hdr_val[4];
    req.last_event_id = hdr_val[5];
    if (!srv_api_precheck(&app, &req, &r)) {
        if (req.route.mutating) FUZZ_CHECK(req.authorization != NULL);
        srv_api_handle(&app, &req, &r);
    }
    check_response(&r, req.route.status);
    srv_metrics_http(&app.metrics, r.status);
    if (r.stream && h->n < MAX_STREAMS) {
        h->r[h->n++] = r; /* run at the end of the session */
        srv_response_init(&r);
    }
    srv_uri_fini(&req.uri);
out:
    srv_response_fini(&r);
    for (int i = 0; i < 6; i++) free(hdr_val[i]);
    free(body);
    free(method);
    free(target);
}

/* Drain a stream against the closed feed: its opening events, then END. */
static void run_stream(struct srv_response *r)
{
    char buf[1024];
    uint64_t pos = 0;
    for (int i = 0; i < 256; i++) {
        long k = r->stream(r->stream_cls, pos, buf, sizeof buf);
        if (k == SRV_STREAM_END || k == SRV_STREAM_ERROR) break;
        FUZZ_CHECK(k > 0 && (size_t)k <= sizeof buf);
        pos += (uint64_t)k;
    }
    srv_response_fini(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    struct held h = {.n = 0};
    int n_req = 0;

    if (!app.data) setup(); /* a libFuzzer build calls LLVMFuzzerInitialize first */
    open_state();
    while (p < end && n_req < MAX_REQUESTS) {
        const char *sep = find(p, end, "\n@@\n");
        const char *stop = sep ? sep : end;
        run_request(p, (size_t)(stop - p), &h);
        n_req++;
        p = sep ? sep + 4 : end;
    }
    srv_feed_close(app.feed);
    for (int i = 0; i < h.n; i++) run_stream(&h.r[i]);
    FUZZ_CHECK(atomic_load(&app.metrics.sse_clients) == 0);
    close_state();
    return 0;
}
