/*
 * srv_deadline.h - a deadline for receiving each HTTP request.
 *
 * libmicrohttpd's connection timeout counts idle seconds, so a client that
 * sends one byte every few seconds (slow-loris) is never idle and keeps its
 * connection, and in thread-per-connection mode a thread, for as long as it
 * likes.  This module closes any connection that has not delivered a whole
 * request within `limit` seconds of opening, or of the end of its previous
 * request.  Once a response is queued the clock stops (long answers and
 * event streams are governed by the idle timeout only).
 *
 * It knows nothing of libmicrohttpd: srv_http.c reports each connection's
 * socket and the moments above.  All functions are thread-safe.
 */
#ifndef SRV_DEADLINE_H
#define SRV_DEADLINE_H

#include <stdint.h>

#include "srv_status.h"

struct srv_deadline;
struct srv_deadline_conn;

/* Start the watcher thread.  Caller frees with srv_deadline_free. */
enum srv_status srv_deadline_new(double limit_s, struct srv_deadline **out, struct ae_err *err);
/* Stop the thread and free.  Every connection must have been removed.
 * NULL-safe. */
void srv_deadline_free(struct srv_deadline *d);

/* A connection opened on socket fd; its clock starts now.  Returns NULL when
 * out of memory (that connection is then not watched).  The fd must stay
 * open until srv_deadline_remove returns. */
struct srv_deadline_conn *srv_deadline_add(struct srv_deadline *d, int fd);
/* A response was queued: stop the clock (NULL-safe). */
void srv_deadline_answered(struct srv_deadline_conn *c);
/* The request is over; the next one's clock starts now (NULL-safe). */
void srv_deadline_restart(struct srv_deadline_conn *c);
/* The connection is closing: forget it and free c (NULL-safe). */
void srv_deadline_remove(struct srv_deadline_conn *c);

/* Connections closed for missing their deadline so far. */
uint64_t srv_deadline_closed(struct srv_deadline *d);

#endif /* SRV_DEADLINE_H */
