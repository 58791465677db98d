/*
 * srv_store_sweeps.c - the sweeps' rows in SQLite (see srv_store.h).
 *
 * Owns the SQL of the sweeps, sweep_trials and sweep_decisions tables
 * (their CREATE text is in srv_store.c with the rest of the schema).  It
 * knows nothing of the sweep manager's memory.  Sweep operations are rare
 * (one per submission, cancel, epoch of a trial), so statements are
 * prepared per call rather than kept.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_store_priv.h"

/* Prepare sql or set err; the caller holds the lock. */
static enum srv_status prep(struct srv_store *s, const char *sql, sqlite3_stmt **q,
                            const char *what, struct ae_err *err)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, q, NULL);
    return rc == SQLITE_OK ? SRV_OK : srv_store_db_error(s, rc, what, err);
}

int srv_store_trial_put_locked(struct srv_store *s, int64_t sweep_id, int32_t trial,
                               int64_t job_id, const char *params)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->db,
                                "INSERT OR REPLACE INTO sweep_trials(sweep_id, trial, job_id, "
                                "params) VALUES (?1,?2,?3,?4)",
                                -1, &q, NULL);
    if (rc != SQLITE_OK) return rc;
    sqlite3_bind_int64(q, 1, sweep_id);
    sqlite3_bind_int(q, 2, trial);
    sqlite3_bind_int64(q, 3, job_id);
    sqlite3_bind_text(q, 4, params, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The sweep an Idempotency-Key was stored with: SQLITE_ROW with *id and
 * same (the stored hash equals request_sha256), SQLITE_DONE when the key is
 * new, else an SQLite error.  The caller holds the lock. */
static int idem_lookup(struct srv_store *s, const char *key, const char *request_sha256,
                       int64_t *id, bool *same)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT request_sha256, id FROM sweeps "
                                       "WHERE idempotency_key = ?1", -1, &q, NULL);
    if (rc != SQLITE_OK) return rc;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const unsigned char *h = sqlite3_column_text(q, 0);
        *same = h && request_sha256 && strcmp((const char *)h, request_sha256) == 0;
        *id = sqlite3_column_int64(q, 1);
    }
    sqlite3_finalize(q);
    return rc;
}

enum srv_status srv_store_sweep_insert(struct srv_store *s, const struct srv_store_sweep *sw,
                                       const char *idem_key, const char *request_sha256,
                                       int64_t *id, bool *replayed, struct ae_err *err)
{
    sqlite3_stmt *q = NULL;
    enum srv_status st = SRV_OK;
    int rc;

    *id = 0;
    *replayed = false;
    pthread_mutex_lock(&s->lock);
    /* The look-up and the insert under one hold of the lock (the store's
     * only connection), so two requests with one key make one sweep; the
     * unique index would refuse a second row anyway. */
    if (idem_key) {
        bool same = false;
        int64_t old = 0;
        rc = idem_lookup(s, idem_key, request_sha256, &old, &same);
        if (rc == SQLITE_ROW) {
            if (same) {
                *id = old;
                *replayed = true;
            } else {
                st = srv_store_idem_conflict(err, idem_key, "sweep", old);
            }
            goto out;
        }
        if (rc != SQLITE_DONE) {
            st = srv_store_db_error(s, rc, "reading an idempotency key", err);
            goto out;
        }
    }
    st = prep(s, "INSERT INTO sweeps(name, spec, state, seed, created_at, idempotency_key, "
                 "request_sha256) VALUES (?1,?2,?3,?4,?5,?6,?7)",
              &q, "preparing a sweep insert", err);
    if (st == SRV_OK) {
        sqlite3_bind_text(q, 1, sw->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, sw->spec, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, sw->state ? sw->state : "running", -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 4, (sqlite3_int64)sw->seed);
        sqlite3_bind_double(q, 5, sw->created_at);
        if (idem_key) {
            sqlite3_bind_text(q, 6, idem_key, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 7, request_sha256 ? request_sha256 : "", -1, SQLITE_STATIC);
        } else {
            sqlite3_bind_null(q, 6);
            sqlite3_bind_null(q, 7);
        }
        rc = sqlite3_step(q);
        if (rc != SQLITE_DONE)
            st = srv_store_db_error(s, rc, "inserting a sweep", err);
        else
            *id = sqlite3_last_insert_rowid(s->db);
    }
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&s->lock);
    return st;
}

enum srv_status srv_store_sweep_update(struct srv_store *s, int64_t id, const char *state,
                                       double finished_at, struct ae_err *err)
{
    sqlite3_stmt *q = NULL;
    enum srv_status st;
    int rc;

    pthread_mutex_lock(&s->lock);
    st = prep(s, "UPDATE sweeps SET state = ?2, finished_at = ?3 WHERE id = ?1", &q,
              "preparing a sweep update", err);
    if (st == SRV_OK) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_text(q, 2, state, -1, SQLITE_STATIC);
        if (finished_at > 0)
            sqlite3_bind_double(q, 3, finished_at);
        else
            sqlite3_bind_null(q, 3);
        rc = sqlite3_step(q);
        if (rc != SQLITE_DONE) st = srv_store_db_error(s, rc, "updating a sweep", err);
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&s->lock);
    return st;
}

enum srv_status srv_store_sweep_delete(struct srv_store *s, int64_t id, struct ae_err *err)
{
    sqlite3_stmt *q = NULL;
    enum srv_status st;
    int rc;

    pthread_mutex_lock(&s->lock);
    st = prep(s, "DELETE FROM sweeps WHERE id = ?1", &q, "preparing a sweep delete", err);
    if (st == SRV_OK) {
        sqlite3_bind_int64(q, 1, id);
        rc = sqlite3_step(q);
        if (rc != SQLITE_DONE)
            st = srv_store_db_error(s, rc, "deleting a sweep", err);
        else if (sqlite3_changes(s->db) == 0)
            st = srv_err_set(err, SRV_ERR_NOTFOUND, "no sweep %lld in the database",
                             (long long)id);
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&s->lock);
    return st;
}

enum srv_status srv_store_decision_put(struct srv_store *s, const struct srv_store_decision *d,
                                       int64_t *seq, struct ae_err *err)
{
    sqlite3_stmt *q = NULL;
    enum srv_status st;
    int rc;

    *seq = 0;
    pthread_mutex_lock(&s->lock);
    st = prep(s,
              "INSERT OR IGNORE INTO sweep_decisions(sweep_id, trial, epoch, value, decision) "
              "VALUES (?1,?2,?3,?4,?5)",
              &q, "preparing a decision insert", err);
    if (st == SRV_OK) {
        sqlite3_bind_int64(q, 1, d->sweep_id);
        sqlite3_bind_int(q, 2, d->trial);
        sqlite3_bind_int(q, 3, d->epoch);
        if (isfinite(d->value))
            sqlite3_bind_double(q, 4, d->value);
        else
            sqlite3_bind_null(q, 4);
        sqlite3_bind_text(q, 5, d->decision, -1, SQLITE_STATIC);
        rc = sqlite3_step(q);
        if (rc != SQLITE_DONE)
            st = srv_store_db_error(s, rc, "recording a sweep decision", err);
        else if (sqlite3_changes(s->db) > 0)
            *seq = sqlite3_last_insert_rowid(s->db);
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&s->lock);
    return st;
}

static const char *text_or(sqlite3_stmt *q, int i, const char *dflt)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? (const char *)t : dflt;
}

enum srv_status srv_store_sweeps_load(struct srv_store *s,
                                      int (*on_sweep)(void *user, const struct srv_store_sweep *sw),
                                      int (*on_trial)(void *user, const struct srv_store_trial *t),
                                      int (*on_decision)(void *user,
                                                         const struct srv_store_decision *d),
                                      void *user, struct ae_err *err)
{
    sqlite3_stmt *q = NULL;
    enum srv_status st;
    int rc = SQLITE_DONE;

    pthread_mutex_lock(&s->lock);
    st = prep(s, "SELECT id, name, spec, state, seed, created_at, finished_at FROM sweeps "
                 "ORDER BY id", &q, "reading sweeps", err);
    while (st == SRV_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct srv_store_sweep sw = {
            .id = sqlite3_column_int64(q, 0),
            .name = text_or(q, 1, ""),
            .spec = text_or(q, 2, "{}"),
            .state = text_or(q, 3, "running"),
            .seed = (uint64_t)sqlite3_column_int64(q, 4),
            .created_at = sqlite3_column_double(q, 5),
            .finished_at =
                sqlite3_column_type(q, 6) == SQLITE_NULL ? 0 : sqlite3_column_double(q, 6),
        };
        if (on_sweep && on_sweep(user, &sw))
            st = srv_err_set(err, SRV_ERR_INTERNAL, "loading sweep %lld failed", (long long)sw.id);
    }
    if (st == SRV_OK && rc != SQLITE_DONE) st = srv_store_db_error(s, rc, "reading sweeps", err);
    sqlite3_finalize(q);
    q = NULL;
    if (st == SRV_OK)
        st = prep(s, "SELECT sweep_id, trial, job_id, params FROM sweep_trials "
                     "ORDER BY sweep_id, trial", &q, "reading sweep trials", err);
    while (st == SRV_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct srv_store_trial t = {
            .sweep_id = sqlite3_column_int64(q, 0),
            .trial = sqlite3_column_int(q, 1),
            .job_id = sqlite3_column_int64(q, 2),
            .params = text_or(q, 3, "{}"),
        };
        if (on_trial && on_trial(user, &t))
            st = srv_err_set(err, SRV_ERR_INTERNAL, "loading a sweep trial failed");
    }
    if (st == SRV_OK && rc != SQLITE_DONE)
        st = srv_store_db_error(s, rc, "reading sweep trials", err);
    sqlite3_finalize(q);
    q = NULL;
    if (st == SRV_OK)
        st = prep(s, "SELECT seq, sweep_id, trial, epoch, value, decision FROM sweep_decisions "
                     "ORDER BY seq", &q, "reading sweep decisions", err);
    while (st == SRV_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct srv_store_decision d = {
            .seq = sqlite3_column_int64(q, 0),
            .sweep_id = sqlite3_column_int64(q, 1),
            .trial = sqlite3_column_int(q, 2),
            .epoch = sqlite3_column_int(q, 3),
            .value = sqlite3_column_type(q, 4) == SQLITE_NULL ? NAN : sqlite3_column_double(q, 4),
            .decision = text_or(q, 5, "none"),
        };
        if (on_decision && on_decision(user, &d))
            st = srv_err_set(err, SRV_ERR_INTERNAL, "loading a sweep decision failed");
    }
    if (st == SRV_OK && rc != SQLITE_DONE)
        st = srv_store_db_error(s, rc, "reading sweep decisions", err);
    sqlite3_finalize(q);
    pthread_mutex_unlock(&s->lock);
    return st;
}
