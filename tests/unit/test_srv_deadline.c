/*
 * test_srv_deadline.c - the request deadline (srv_deadline.c) on real
 * sockets: a connection that sends nothing whole in time is shut down (its
 * peer reads end-of-file), an answered one is left alone however long it
 * lasts, a restarted clock counts from the restart, and a removed
 * connection is never touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "server/srv_deadline.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Seconds until the peer sees end-of-file, or -1 if not within max_s. */
static double eof_after(int peer, double max_s)
{
    double t0 = now();
    for (;;) {
        double left = max_s - (now() - t0);
        if (left <= 0) return -1;
        struct pollfd p = {.fd = peer, .events = POLLIN};
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r > 0) {
            char c;
            ssize_t n = recv(peer, &c, 1, MSG_DONTWAIT);
            if (n == 0) return now() - t0;
        }
    }
}

int main(void)
{
    struct srv_deadline *d = NULL;
    struct ae_err e;
    int late[2], answered[2], restarted[2], removed[2];

    CHECK_EQ_INT(srv_deadline_new(0, &d, &e), SRV_ERR_ARG);
    CHECK(d == NULL);
    CHECK_EQ_INT(srv_deadline_new(0.4, &d, &e), SRV_OK);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, late) == 0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, answered) == 0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, restarted) == 0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, removed) == 0);

    double t0 = now();
    struct srv_deadline_conn *cl = srv_deadline_add(d, late[0]);
    struct srv_deadline_conn *ca = srv_deadline_add(d, answered[0]);
    struct srv_deadline_conn *cr = srv_deadline_add(d, restarted[0]);
    struct srv_deadline_conn *cx = srv_deadline_add(d, removed[0]);
    CHECK(cl && ca && cr && cx);
    CHECK(srv_deadline_add(d, -1) == NULL);
    srv_deadline_answered(ca);
    srv_deadline_remove(cx);

    /* Before the limit, the third one's request ends and the next begins. */
    usleep(250 * 1000);
    double t_restart = now();
    srv_deadline_restart(cr);

    /* The late one: shut down after the limit (0.4 s), within a watcher tick. */
    CHECK(eof_after(late[1], 3.0) >= 0);
    double t = now() - t0;
    CHECK_MSG(t >= 0.4 && t <= 2.0, "late connection shut down after %.2f s", t);

    /* The restarted one: 0.4 s after its restart, not after its start. */
    CHECK(eof_after(restarted[1], 3.0) >= 0);
    t = now() - t_restart;
    CHECK_MSG(t >= 0.4 && t <= 2.0, "restarted connection shut down %.2f s after restart", t);
    CHECK_EQ_INT((int)srv_deadline_closed(d), 2);

    /* The answered and the removed ones are left alone. */
    CHECK(eof_after(answered[1], 1.0) < 0);
    CHECK(eof_after(removed[1], 0.2) < 0);
    CHECK_EQ_INT((int)srv_deadline_closed(d), 2);

    /* After the answer, the next request's clock runs again. */
    t_restart = now();
    srv_deadline_restart(ca);
    CHECK(eof_after(answered[1], 3.0) >= 0);
    t = now() - t_restart;
    CHECK_MSG(t >= 0.4 && t <= 2.0, "next request on the answered connection: %.2f s", t);
    CHECK_EQ_INT((int)srv_deadline_closed(d), 3);

    srv_deadline_remove(cl);
    srv_deadline_remove(ca);
    srv_deadline_remove(cr);
    srv_deadline_remove(NULL);
    srv_deadline_free(d);
    srv_deadline_free(NULL);
    for (int i = 0; i < 2; i++) {
        close(late[i]);
        close(answered[i]);
        close(restarted[i]);
        close(removed[i]);
    }
    return check_summary("test_srv_deadline");
}
