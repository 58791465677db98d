/*
 * srv_deadline.c - closes HTTP connections that take too long to deliver a
 * request (see srv_deadline.h).
 *
 * Owns the list of watched connections, the watcher thread and the rule
 * "a whole request within limit seconds".  It does not read or write the
 * sockets and does not know libmicrohttpd.
 *
 * DESIGN: the watcher wakes four times per limit, and a late connection
 * gets shutdown(SHUT_RDWR) on its socket.  That makes the connection's own
 * thread see end-of-file and close it the ordinary way, so nothing is freed
 * or closed behind the HTTP library's back.  The socket is never closed
 * here; srv_deadline_remove is called (by the library's "connection
 * closed" notice) before the library closes it, and it takes the same
 * mutex, so the watcher never shuts down a descriptor that has been
 * reused.
 */
#include "srv_deadline.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "srv_log.h"

struct srv_deadline_conn {
    struct srv_deadline *owner;
    struct srv_deadline_conn *prev, *next;
    int fd;
    double start;     /* when the current request's clock started */
    bool answered;    /* a response is queued: no deadline */
    bool shut;        /* already shut down */
};

struct srv_deadline {
    double limit;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    struct srv_deadline_conn *head;
    uint64_t closed;
    pthread_t thread;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *watch_main(void *arg)
{
    struct srv_deadline *d = arg;
    pthread_mutex_lock(&d->lock);
    while (!d->stop) {
        struct timespec until;
        double step = d->limit / 4 < 0.25 ? d->limit / 4 : 0.25, now = mono();
        unsigned n = 0;
        for (struct srv_deadline_conn *c = d->head; c; c = c->next) {
            if (c->answered || c->shut || now - c->start <= d->limit) continue;
            shutdown(c->fd, SHUT_RDWR);
            c->shut = true;
            d->closed++;
            n++;
        }
        if (n)
            srv_log(SRV_LOG_DEBUG, 0,
                    "msg=\"closed connections that sent no whole request in time\" count=%u "
                    "limit_s=%g",
                    n, d->limit);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)(step * 1e9);
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        /* A timeout or a spurious wake-up both just mean "look again". */
        pthread_cond_timedwait(&d->wake, &d->lock, &until);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

enum srv_status srv_deadline_new(double limit_s, struct srv_deadline **out, struct ae_err *err)
{
    struct srv_deadline *d;
    *out = NULL;
    if (!(limit_s > 0)) return srv_err_set(err, SRV_ERR_ARG, "request deadline must be > 0");
    d = calloc(1, sizeof *d);
    if (!d) return srv_err_set(err, SRV_ERR_NOMEM, "out of memory starting the request deadline");
    d->limit = limit_s;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    if (pthread_create(&d->thread, NULL, watch_main, d) != 0) {
        pthread_cond_destroy(&d->wake);
        pthread_mutex_destroy(&d->lock);
        free(d);
        return srv_err_set(err, SRV_ERR_INTERNAL, "could not start the request deadline thread");
    }
    *out = d;
    return SRV_OK;
}

void srv_deadline_free(struct srv_deadline *d)
{
    if (!d) return;
    pthread_mutex_lock(&d->lock);
    d->stop = true;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->thread, NULL);
    while (d->head) {
        struct srv_deadline_conn *c = d->head;
        d->head = c->next;
        free(c);
    }
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

struct srv_deadline_conn *srv_deadline_add(struct srv_deadline *d, int fd)
{
    struct srv_deadline_conn *c;
    if (!d || fd < 0 || !(c = calloc(1, sizeof *c))) return NULL;
    c->fd = fd;
    c->owner = d;
    pthread_mutex_lock(&d->lock);
    c->start = mono();
    c->next = d->head;
    if (d->head) d->head->prev = c;
    d->head = c;
    pthread_mutex_unlock(&d->lock);
    return c;
}

void srv_deadline_answered(struct srv_deadline_conn *c)
{
    struct srv_deadline *d = c ? c->owner : NULL;
    if (!d) return;
    pthread_mutex_lock(&d->lock);
    c->answered = true;
    pthread_mutex_unlock(&d->lock);
}

void srv_deadline_restart(struct srv_deadline_conn *c)
{
    struct srv_deadline *d = c ? c->owner : NULL;
    if (!d) return;
    pthread_mutex_lock(&d->lock);
    c->answered = false;
    c->start = mono();
    pthread_mutex_unlock(&d->lock);
}

void srv_deadline_remove(struct srv_deadline_conn *c)
{
    struct srv_deadline *d = c ? c->owner : NULL;
    if (!d) return;
    pthread_mutex_lock(&d->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        d->head = c->next;
    if (c->next) c->next->prev = c->prev;
    pthread_mutex_unlock(&d->lock);
    free(c);
}

uint64_t srv_deadline_closed(struct srv_deadline *d)
{
    uint64_t n;
    if (!d) return 0;
    pthread_mutex_lock(&d->lock);
    n = d->closed;
    pthread_mutex_unlock(&d->lock);
    return n;
}
