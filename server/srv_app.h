/*
 * srv_app.h - the daemon's process state: one struct, made in srv_main.c
 * and passed to everything that needs it (no globals).
 *
 * Fields are set during start-up, before any thread starts, and are
 * read-only afterwards, except the objects that lock themselves (store,
 * registry, queue, feed, data) and the atomics.
 */
#ifndef SRV_APP_H
#define SRV_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "srv_config.h"
#include "srv_data.h"
#include "srv_feed.h"
#include "srv_metrics.h"
#include "srv_queue.h"
#include "srv_registry.h"
#include "srv_store.h"

#define SRV_VERSION AELAB_VERSION /* meson project() version, see meson.build */
#define SRV_MAX_BODY_BYTES (64 * 1024)

struct srv_executor;
struct srv_http;
struct srv_sweeps;

struct srv_app {
    struct srv_config cfg;

    /* Resolved at start-up. */
    char logdir[4096];        /* cfg.logdir, created if missing */
    char web_root[4096];      /* realpath of the web root; "" if there is none */
    char token[512];          /* bearer token; "" = no auth */
    char tensorboard_url[512];
    char default_dataset[32];
    char data_dir[4096];      /* the data directory, absolute ("" = srv_data's defaults) */
    char self_dir[4096];      /* the directory of the aelabd binary */
    char *openapi;            /* the served OpenAPI document (settings filled in) */
    size_t openapi_len;
    char *models;             /* the "models" array of /api/models, JSON text */

    struct srv_store *store;
    struct srv_registry *registry;
    struct srv_queue *queue;
    struct srv_feed *feed;
    struct srv_data *data;
    struct srv_executor *executor;
    struct srv_sweeps *sweeps;
    struct srv_http *http;
    struct srv_metrics metrics;

    /* Held from a submission's commit to its push, so the queue's order is
     * the order of ids (the order a restart restores). */
    pthread_mutex_t submit_lock;

    atomic_bool stopping;     /* shutdown began: running jobs suspend */
    double started_mono;      /* srv_log_now_mono() at start-up */
    unsigned short port;      /* the bound port */
};

/* The run directory of job j: <logdir>/<run_name>. */
int srv_app_run_dir(const struct srv_app *app, const struct srv_job *j, char *buf, size_t len);
/* Delete dir and everything under it (a job's run directory or a sweep's
 * directory).  0 when done or when dir does not exist, else the errno. */
int srv_app_remove_tree(const char *dir);

#endif /* SRV_APP_H */
