/*
 * test_srv_queue.c - the bounded FIFO (srv_queue.c): order, capacity with
 * reservations, removal from the middle, and blocking pops across threads.
 */
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include "check.h"
#include "server/srv_queue.h"

static int items[16];

struct popper {
    struct srv_queue *q;
    int n_popped;
    int order_ok;
    int last;
};

static void *pop_all(void *arg)
{
    struct popper *p = arg;
    void *it;
    while ((it = srv_queue_pop(p->q)) != NULL) {
        int v = *(int *)it;
        if (v < p->last) p->order_ok = 0;
        p->last = v;
        p->n_popped++;
    }
    return NULL;
}

int main(void)
{
    struct srv_queue *q = NULL;
    struct ae_err e;

    for (int i = 0; i < 16; i++) items[i] = i;
    CHECK_EQ_INT(srv_queue_new(0, &q, &e), SRV_ERR_ARG);
    CHECK_EQ_INT(srv_queue_new(3, &q, &e), SRV_OK);
    CHECK_EQ_INT(srv_queue_capacity(q), 3);

    /* Reservations count against the capacity. */
    CHECK(srv_queue_reserve(q));
    CHECK(srv_queue_reserve(q));
    CHECK(srv_queue_reserve(q));
    CHECK(!srv_queue_reserve(q));
    srv_queue_unreserve(q);
    srv_queue_push_reserved(q, &items[0]);
    srv_queue_push_reserved(q, &items[1]);
    CHECK_EQ_INT(srv_queue_length(q), 2);
    CHECK(srv_queue_reserve(q));
    srv_queue_push_reserved(q, &items[2]);
    CHECK(!srv_queue_reserve(q));

    /* Positions, removal from the middle, FIFO order. */
    CHECK_EQ_INT(srv_queue_position(q, &items[2]), 3);
    CHECK(srv_queue_remove(q, &items[1]));
    CHECK(!srv_queue_remove(q, &items[1]));
    CHECK_EQ_INT(srv_queue_position(q, &items[2]), 2);
    CHECK_EQ_INT(srv_queue_position(q, &items[1]), 0);
    CHECK(srv_queue_pop(q) == &items[0]);
    CHECK(srv_queue_pop(q) == &items[2]);
    CHECK_EQ_INT(srv_queue_length(q), 0);

    /* Forced pushes go past the limit (restoring jobs at start-up). */
    for (int i = 0; i < 7; i++) CHECK_EQ_INT(srv_queue_push_force(q, &items[i], &e), SRV_OK);
    CHECK_EQ_INT(srv_queue_length(q), 7);
    CHECK(!srv_queue_reserve(q));
    for (int i = 0; i < 7; i++) CHECK(srv_queue_drain(q) == &items[i]);
    CHECK(srv_queue_drain(q) == NULL);

    /* Two blocked poppers get everything in order, then NULL on close. */
    {
        struct popper p[2] = {{q, 0, 1, -1}, {q, 0, 1, -1}};
        pthread_t t[2];
        for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, pop_all, &p[i]);
        usleep(20000);
        for (int i = 0; i < 10; i++) {
            while (!srv_queue_reserve(q)) usleep(1000);
            srv_queue_push_reserved(q, &items[i]);
        }
        while (srv_queue_length(q) > 0) usleep(1000);
        srv_queue_close(q);
        for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
        CHECK_EQ_INT(p[0].n_popped + p[1].n_popped, 10);
        CHECK(p[0].order_ok && p[1].order_ok);
        CHECK(!srv_queue_reserve(q)); /* closed */
        CHECK(srv_queue_pop(q) == NULL);
    }
    srv_queue_free(q);
    srv_queue_free(NULL);
    return check_summary("test_srv_queue");
}
