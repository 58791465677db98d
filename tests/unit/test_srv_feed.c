/*
 * test_srv_feed.c - the change feed (srv_feed.c): order, cursors, a reader
 * that falls behind, timeouts, wake-ups across threads and close.
 */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "server/srv_feed.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *publisher(void *arg)
{
    struct srv_feed *f = arg;
    usleep(50000);
    srv_feed_publish(f, 42, SRV_FEED_EPOCH, 3);
    return NULL;
}

static void *closer(void *arg)
{
    usleep(50000);
    srv_feed_close(arg);
    return NULL;
}

int main(void)
{
    struct srv_feed *f = NULL;
    struct srv_feed_event ev[8];
    struct ae_err e;
    uint64_t cur = 0;
    bool lost, closed;
    size_t n;
    double t0;

    CHECK_EQ_INT(srv_feed_new(0, &f, &e), SRV_ERR_ARG);
    CHECK_EQ_INT(srv_feed_new(4, &f, &e), SRV_OK);
    CHECK_EQ_INT(srv_feed_head(f), 0);

    /* Timeout with nothing published. */
    t0 = now();
    n = srv_feed_wait(f, &cur, ev, 8, 0.1, &lost, &closed);
    CHECK_EQ_INT(n, 0);
    CHECK(!lost && !closed);
    CHECK(now() - t0 >= 0.09);

    srv_feed_publish(f, 1, SRV_FEED_CREATED, 0);
    srv_feed_publish(f, 1, SRV_FEED_STATE, 0);
    srv_feed_publish(f, 2, SRV_FEED_PROGRESS, 1);
    n = srv_feed_wait(f, &cur, ev, 2, 1.0, &lost, &closed);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(ev[0].seq, 1);
    CHECK_EQ_INT(ev[0].kind, SRV_FEED_CREATED);
    CHECK_EQ_INT(ev[1].seq, 2);
    CHECK_EQ_INT(cur, 2);
    n = srv_feed_wait(f, &cur, ev, 8, 1.0, &lost, &closed);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(ev[0].job_id, 2);
    CHECK_EQ_INT(ev[0].epoch, 1);

    /* A reader 6 records behind a ring of 4 lost 2 and is told so. */
    for (int i = 0; i < 6; i++) srv_feed_publish(f, 10 + i, SRV_FEED_STATE, 0);
    n = srv_feed_wait(f, &cur, ev, 8, 1.0, &lost, &closed);
    CHECK(lost);
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_INT(ev[0].job_id, 12);
    CHECK_EQ_INT(ev[3].job_id, 15);
    CHECK_EQ_INT(cur, srv_feed_head(f));

    /* A cursor from the future (a client of an earlier daemon) is reset. */
    cur = 1000;
    t0 = now();
    n = srv_feed_wait(f, &cur, ev, 8, 5.0, &lost, &closed);
    CHECK(now() - t0 < 1.0); /* told at once, not after the timeout */
    CHECK(lost);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(cur, srv_feed_head(f));

    /* A waiting reader wakes when something is published ... */
    {
        pthread_t t;
        pthread_create(&t, NULL, publisher, f);
        t0 = now();
        n = srv_feed_wait(f, &cur, ev, 8, 5.0, &lost, &closed);
        pthread_join(t, NULL);
        CHECK_EQ_INT(n, 1);
        CHECK_EQ_INT(ev[0].job_id, 42);
        CHECK(now() - t0 < 2.0);
    }
    /* ... and when the feed closes. */
    {
        pthread_t t;
        pthread_create(&t, NULL, closer, f);
        t0 = now();
        n = srv_feed_wait(f, &cur, ev, 8, 5.0, &lost, &closed);
        pthread_join(t, NULL);
        CHECK_EQ_INT(n, 0);
        CHECK(closed);
        CHECK(now() - t0 < 2.0);
    }
    srv_feed_publish(NULL, 1, SRV_FEED_STATE, 0); /* NULL feed is a no-op */
    srv_feed_free(f);
    srv_feed_free(NULL);
    return check_summary("test_srv_feed");
}
