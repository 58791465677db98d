/*
 * srv_sse.c - Server-Sent Events: /api/jobs/{id}/events (one job),
 * /api/events (every job) and /api/sweeps/{id}/events (one sweep).
 *
 * Owns the event names and payloads of both streams.  It does not decide
 * when things change: workers and handlers publish to the feed
 * (srv_feed.c) and a stream only follows it.
 *
 * DESIGN: each stream runs in its connection's own thread (aelabd uses
 * libmicrohttpd's thread-per-connection mode), so the body callback may
 * block: it waits on the feed with a timeout for the next heartbeat.  A
 * stream reads the job's current state when a record arrives, so however
 * slow the client, it only ever sees fresh data and the worker never
 * waits for it.  Progress records are coalesced per wake-up.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_api_handlers.h"
#include "srv_job.h"
#include "srv_log.h"
#include "srv_response.h"
#include "srv_sweeps.h"

#define HEARTBEAT_SECONDS 15.0
/* A sweep's own changes (its end, a trial's decision) are not feed
 * records: its stream looks at the sweep at least this often. */
#define SWEEP_POLL_SECONDS 0.5
#define BATCH 64

struct stream {
    struct srv_app *app;
    struct srv_job *job; /* NULL: every job (or a sweep's) */
    int64_t sweep;       /* a sweep's stream: its id */
    uint64_t sweep_version;
    uint64_t cursor;
    bool started, ended;
    char *buf;           /* pending output */
    size_t len, off, cap;
    double last_write;
};

static bool emit(struct stream *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool emit(struct stream *s, const char *fmt, ...)
{
    va_list ap;
    int w;
    for (;;) {
        va_start(ap, fmt);
        w = vsnprintf(s->buf + s->len, s->cap - s->len, fmt, ap);
        va_end(ap);
        if (w < 0) return false;
        if ((size_t)w < s->cap - s->len) {
            s->len += (size_t)w;
            return true;
        }
        {
            size_t cap = (s->cap + (size_t)w + 1) * 2;
            char *p = realloc(s->buf, cap);
            if (!p) return false;
            s->buf = p;
            s->cap = cap;
        }
    }
}

/* One event: "id: N\nevent: NAME\ndata: JSON\n\n" (steals j). */
static bool emit_json(struct stream *s, uint64_t id, const char *name, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    bool ok;
    json_decref(j);
    if (!text) return false;
    ok = emit(s, "id: %llu\nevent: %s\ndata: %s\n\n", (unsigned long long)id, name, text);
    free(text);
    return ok;
}

static json_t *job_json(struct stream *s, struct srv_job *j, bool full)
{
    char run_dir[4400];
    srv_app_run_dir(s->app, j, run_dir, sizeof run_dir);
    return srv_job_to_json(j, full, srv_queue_position(s->app->queue, j), run_dir);
}

/* Initial events. */
static void start(struct stream *s)
{
    s->started = true;
    s->cursor = srv_feed_head(s->app->feed); /* before the snapshot: nothing is missed */
    emit(s, "retry: 3000\n\n");
    if (s->sweep) {
        json_t *o = srv_sweeps_get_json(s->app, s->sweep);
        bool fin = false;
        srv_sweeps_version(s->app, s->sweep, &s->sweep_version, &fin);
        if (!o) {
            s->ended = true;
            return;
        }
        emit_json(s, s->cursor, "snapshot", json_incref(o));
        if (fin) {
            emit(s, "id: %llu\nevent: end\ndata: {\"state\":\"%s\"}\n\n",
                 (unsigned long long)s->cursor, json_string_value(json_object_get(o, "state")));
            s->ended = true;
        }
        json_decref(o);
    } else if (s->job) {
        enum srv_job_state st = srv_job_get_state(s->job);
        emit_json(s, s->cursor, "snapshot", job_json(s, s->job, true));
        if (srv_job_state_final(st)) {
            emit(s, "id: %llu\nevent: end\ndata: {\"state\":\"%s\"}\n\n",
                 (unsigned long long)s->cursor, srv_job_state_name(st));
            s->ended = true;
        }
    } else {
        emit(s, "id: %llu\nevent: hello\ndata: {\"seq\":%llu}\n\n", (unsigned long long)s->cursor,
             (unsigned long long)s->cursor);
    }
}

static void job_events(struct stream *s, const struct srv_feed_event *ev, size_t n, bool lost)
{
    struct srv_job *j = s->job;
    uint64_t last_progress = 0;

    if (lost) emit_json(s, s->cursor, "snapshot", job_json(s, j, true));
    for (size_t i = 0; i < n; i++)
        if (ev[i].job_id == j->id && ev[i].kind == SRV_FEED_PROGRESS) last_progress = ev[i].seq;
    for (size_t i = 0; i < n && !s->ended; i++) {
        if (ev[i].job_id != j->id) continue;
        switch (ev[i].kind) {
        case SRV_FEED_PROGRESS:
            if (ev[i].seq == last_progress)
                emit_json(s, ev[i].seq, "progress", srv_job_progress_json(j));
            break;
        case SRV_FEED_EPOCH: {
            json_t *row = srv_job_epoch_json(j, ev[i].epoch);
            if (row) emit_json(s, ev[i].seq, "epoch", row);
            break;
        }
        case SRV_FEED_STATE: {
            enum srv_job_state st = srv_job_get_state(j);
            emit_json(s, ev[i].seq, "state", job_json(s, j, false));
            if (srv_job_state_final(st)) {
                emit(s, "id: %llu\nevent: end\ndata: {\"state\":\"%s\"}\n\n",
                     (unsigned long long)ev[i].seq, srv_job_state_name(st));
                s->ended = true;
            }
            break;
        }
        case SRV_FEED_DELETED:
            emit(s, "id: %llu\nevent: deleted\ndata: {\"id\":%lld}\n\n",
                 (unsigned long long)ev[i].seq, (long long)j->id);
            s->ended = true;
            break;
        case SRV_FEED_CREATED:
            break;
        }
    }
}

static void all_events(struct stream *s, const struct srv_feed_event *ev, size_t n, bool lost)
{
    if (lost) emit(s, "id: %llu\nevent: resync\ndata: {}\n\n", (unsigned long long)s->cursor);
    for (size_t i = 0; i < n; i++) {
        bool later = false;
        struct srv_job *j;
        /* Only the last record of each job in this batch: the job's state is
         * read now, so earlier ones would repeat it. */
        for (size_t k = i + 1; k < n && !later; k++)
            later = ev[k].job_id == ev[i].job_id && ev[k].kind != SRV_FEED_DELETED &&
                    ev[i].kind != SRV_FEED_DELETED;
        if (later) continue;
        if (ev[i].kind == SRV_FEED_DELETED) {
            emit(s, "id: %llu\nevent: deleted\ndata: {\"id\":%lld}\n\n",
                 (unsigned long long)ev[i].seq, (long long)ev[i].job_id);
            continue;
        }
        j = srv_registry_get(s->app->registry, ev[i].job_id);
        if (!j) continue; /* deleted since; its DELETED record follows */
        emit_json(s, ev[i].seq, "job", job_json(s, j, false));
        srv_job_unref(j);
    }
}

/* The trial entry of the sweep's JSON for job id (new reference) or NULL. */
static json_t *trial_of(json_t *sweep, int64_t job_id)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(sweep, "trials"), i, t)
        if (json_integer_value(json_object_get(t, "job")) == job_id) return json_incref(t);
    return NULL;
}

static void sweep_events(struct stream *s, const struct srv_feed_event *ev, size_t n, bool lost)
{
    json_t *o = srv_sweeps_get_json(s->app, s->sweep);
    uint64_t version = 0;
    bool fin = false;

    if (!o) { /* deleted */
        emit(s, "id: %llu\nevent: deleted\ndata: {\"id\":%lld}\n\n", (unsigned long long)s->cursor,
             (long long)s->sweep);
        s->ended = true;
        return;
    }
    srv_sweeps_version(s->app, s->sweep, &version, &fin);
    if (lost) emit_json(s, s->cursor, "snapshot", json_incref(o));
    for (size_t i = 0; i < n; i++) {
        json_t *t = trial_of(o, ev[i].job_id);
        if (!t) continue; /* not one of this sweep's trials */
        if (ev[i].kind == SRV_FEED_EPOCH) {
            struct srv_job *j = srv_registry_get(s->app->registry, ev[i].job_id);
            json_t *row = j ? srv_job_epoch_json(j, ev[i].epoch) : NULL;
            srv_job_unref(j);
            if (row) {
                json_object_del(row, "id");
                json_object_set(row, "trial", json_object_get(t, "trial"));
                json_object_set(row, "job", json_object_get(t, "job"));
                emit_json(s, ev[i].seq, "epoch", row);
            }
        } else if (ev[i].kind == SRV_FEED_STATE || ev[i].kind == SRV_FEED_CREATED) {
            emit_json(s, ev[i].seq, "trial", json_incref(t));
        }
        json_decref(t);
    }
    if (version != s->sweep_version) {
        s->sweep_version = version;
        emit_json(s, s->cursor, "state",
                  json_pack("{s:O,s:O,s:O,s:O,s:O}", "id", json_object_get(o, "id"), "state",
                            json_object_get(o, "state"), "best", json_object_get(o, "best"),
                            "epochs_trained", json_object_get(o, "epochs_trained"), "finished_at",
                            json_object_get(o, "finished_at")));
    }
    if (fin) {
        emit(s, "id: %llu\nevent: end\ndata: {\"state\":\"%s\"}\n\n", (unsigned long long)s->cursor,
             json_string_value(json_object_get(o, "state")));
        s->ended = true;
    }
    json_decref(o);
}

static long stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct stream *s = cls;
    (void)pos;

    for (;;) {
        if (s->off < s->len) {
            size_t n = s->len - s->off;
            if (n > max) n = max;
            memcpy(out, s->buf + s->off, n);
            s->off += n;
            if (s->off == s->len) s->off = s->len = 0;
            s->last_write = srv_now_mono();
            return (long)n;
        }
        if (s->ended || atomic_load(&s->app->stopping)) return SRV_STREAM_END;
        if (!s->started) {
            start(s);
            continue;
        }
        {
            struct srv_feed_event ev[BATCH];
            bool lost = false, closed = false;
            double wait = HEARTBEAT_SECONDS - (srv_now_mono() - s->last_write);
            size_t n;
            if (wait < 0.001) {
                emit(s, ": ping\n\n");
                continue;
            }
            if (s->sweep && wait > SWEEP_POLL_SECONDS) wait = SWEEP_POLL_SECONDS;
            n = srv_feed_wait(s->app->feed, &s->cursor, ev, BATCH, wait, &lost, &closed);
            if (closed) return SRV_STREAM_END;
            if (s->sweep)
                sweep_events(s, ev, n, lost);
            else if (s->job)
                job_events(s, ev, n, lost);
            else
                all_events(s, ev, n, lost);
        }
    }
}

static void stream_free(void *cls)
{
    struct stream *s = cls;
    if (!s) return;
    atomic_fetch_sub(&s->app->metrics.sse_clients, 1);
    srv_job_unref(s->job);
    free(s->buf);
    free(s);
}

static void stream_response(struct srv_app *app, struct srv_job *j, const struct srv_request *req,
                            struct srv_response *r);

void srv_api_sweep_events(struct srv_app *app, const struct srv_request *req,
                          struct srv_response *r)
{
    uint64_t v;
    bool fin;
    char d[120];
    if (!srv_sweeps_version(app, req->route.job_id, &v, &fin)) {
        snprintf(d, sizeof d, "no sweep %lld; GET /api/sweeps lists them",
                 (long long)req->route.job_id);
        srv_problem(r, 404, "not-found", d, NULL);
        return;
    }
    stream_response(app, NULL, req, r);
    if (r->stream) ((struct stream *)r->stream_cls)->sweep = req->route.job_id;
}

static void stream_response(struct srv_app *app, struct srv_job *j, const struct srv_request *req,
                            struct srv_response *r)
{
    struct stream *s = calloc(1, sizeof *s);
    (void)req;
    if (!s) {
        srv_job_unref(j);
        srv_problem(r, 500, "internal-error", "out of memory", NULL);
        return;
    }
    s->app = app;
    s->job = j;
    s->cap = 4096;
    s->buf = malloc(s->cap);
    s->last_write = srv_now_mono();
    if (!s->buf) {
        s->cap = 0;
    }
    atomic_fetch_add(&app->metrics.sse_clients, 1);
    r->status = 200;
    r->content_type = "text/event-stream";
    r->stream = stream_read;
    r->stream_free = stream_free;
    r->stream_cls = s;
    srv_response_header(r, "Cache-Control", "no-cache");
    srv_response_header(r, "X-Accel-Buffering", "no");
}

void srv_api_job_events(struct srv_app *app, const struct srv_request *req, struct srv_response *r)
{
    struct srv_job *j = srv_api_find_job(app, req, r);
    if (!j) return;
    stream_response(app, j, req, r); /* takes the reference */
}

void srv_api_events(struct srv_app *app, const struct srv_request *req, struct srv_response *r)
{
    stream_response(app, NULL, req, r);
    /* A reconnecting EventSource continues after the last id it saw. */
    if (r->stream && req->last_event_id) {
        long long id;
        if (srv_parse_int(req->last_event_id, 0, ((long long)1 << 62), "Last-Event-ID", &id,
                          NULL) == SRV_OK) {
            struct stream *s = r->stream_cls;
            s->started = true;
            s->cursor = (uint64_t)id;
        }
    }
}
