/*
 * srv_store_priv.h - the store's insides, shared by srv_store.c (jobs,
 * metrics) and srv_store_sweeps.c (sweeps).  Nothing else includes it.
 */
#ifndef SRV_STORE_PRIV_H
#define SRV_STORE_PRIV_H

#include <pthread.h>
#include <sqlite3.h>

#include "srv_store.h"

struct srv_store {
    sqlite3 *db;
    pthread_mutex_t lock;
    sqlite3_stmt *st[32]; /* srv_store.c's prepared statements (ST_COUNT of them) */
    char path[512];
};

/* Insert a trial row; the store's lock is held by the caller (inside its
 * transaction).  Returns an SQLite code. */
int srv_store_trial_put_locked(struct srv_store *s, int64_t sweep_id, int32_t trial,
                               int64_t job_id, const char *params);

/* An SQLite failure as a srv_status with the database's path and message. */
enum srv_status srv_store_db_error(struct srv_store *s, int rc, const char *what,
                                   struct ae_err *err);

/* SRV_ERR_CONFLICT: key was used before for what ("job", "sweep") id with
 * another request body.  The one wording of that error for every kind. */
enum srv_status srv_store_idem_conflict(struct ae_err *err, const char *key, const char *what,
                                        int64_t id);

#endif /* SRV_STORE_PRIV_H */
