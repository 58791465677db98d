/*
 * srv_store.c - SQLite persistence (see srv_store.h).
 *
 * Owns the schema and every SQL statement.  It knows nothing of the
 * in-memory job objects (srv_job.c maps them), and nothing of HTTP.
 *
 * DESIGN: WAL journal with synchronous=FULL.  With synchronous=NORMAL a
 * WAL commit survives a crash of the process (kill -9) but may be lost on a
 * power cut or kernel crash, because the WAL is only fsynced at
 * checkpoints.  The API promises that a job it answered 201 for, and an
 * epoch it reported, is never lost, so every commit fsyncs the WAL (FULL).
 * The cost is one fsync per submission and per epoch: milliseconds, on
 * events that happen seconds apart.  One connection, one mutex, statements
 * prepared once; busy_timeout covers another process (a backup, the
 * sqlite3 shell) holding the lock briefly.
 */
#include "srv_store.h"

#include <math.h>
#include <stdio.h>
#include <time.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

enum stmt_id {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_IDEM_GET,
    ST_IDEM_PUT,
    ST_JOB_INSERT,
    ST_JOB_UPDATE,
    ST_JOB_CANCEL,
    ST_JOB_PLACE,
    ST_JOB_DELETE,
    ST_METRIC_PUT,
    ST_JOBS_ALL,
    ST_METRICS_ALL,
    ST_COUNT
};

_Static_assert(ST_COUNT <= 32, "srv_store_priv.h: struct srv_store's st[] is too small");

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_IDEM_GET] = "SELECT request_sha256, job_id FROM idempotency WHERE key = ?1",
    [ST_IDEM_PUT] = "INSERT INTO idempotency(key, request_sha256, job_id, created_at) "
                    "VALUES (?1, ?2, ?3, ?4)",
    [ST_JOB_INSERT] = "INSERT INTO jobs(name, model, dataset, settings, state, created_at, "
                      "started_at, finished_at, error, sweep_id, keep, run_parent, executor) "
                      "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
    [ST_JOB_UPDATE] = "UPDATE jobs SET state = ?2, started_at = ?3, finished_at = ?4, error = ?5 "
                      "WHERE id = ?1",
    [ST_JOB_CANCEL] = "UPDATE jobs SET cancel_requested = 1 WHERE id = ?1",
    [ST_JOB_PLACE] = "UPDATE jobs SET executor = ?2, slurm_job_id = ?3, node = ?4 WHERE id = ?1",
    [ST_JOB_DELETE] = "DELETE FROM jobs WHERE id = ?1",
    /* ST_METRIC_PUT and ST_METRICS_ALL: built from ae_metrics() (metric_sql). */
    [ST_JOBS_ALL] = "SELECT id, name, model, dataset, settings, state, created_at, started_at, "
                    "finished_at, error, cancel_requested, sweep_id, keep, run_parent, "
                    "executor, slurm_job_id, node "
                    "FROM jobs ORDER BY id",
};

/* The sweeps' tables (schema version 3, with the Idempotency-Key columns
 * of version 5: a database the v3 step makes has them from the start).
 * sweep_decisions holds every epoch result of every trial in the order
 * they arrived (seq), with the decision taken then: the table a restart
 * replays to take the same decisions. */
#define SWEEP_TABLES_SQL \
    "CREATE TABLE IF NOT EXISTS sweeps(" \
    " id INTEGER PRIMARY KEY AUTOINCREMENT," \
    " name TEXT NOT NULL," \
    " spec TEXT NOT NULL," \
    " state TEXT NOT NULL CHECK (state IN ('running','succeeded','cancelled'))," \
    " seed INTEGER NOT NULL," \
    " created_at REAL NOT NULL," \
    " finished_at REAL," \
    " idempotency_key TEXT," \
    " request_sha256 TEXT);" \
    "CREATE TABLE IF NOT EXISTS sweep_trials(" \
    " sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE," \
    " trial INTEGER NOT NULL," \
    " job_id INTEGER NOT NULL," \
    " params TEXT NOT NULL," \
    " PRIMARY KEY (sweep_id, trial)) WITHOUT ROWID;" \
    "CREATE TABLE IF NOT EXISTS sweep_decisions(" \
    " seq INTEGER PRIMARY KEY AUTOINCREMENT," \
    " sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE," \
    " trial INTEGER NOT NULL," \
    " epoch INTEGER NOT NULL," \
    " value REAL," \
    " decision TEXT NOT NULL CHECK (decision IN ('none','continue','stop'))," \
    " UNIQUE (sweep_id, trial, epoch));"

/* A POST /api/sweeps Idempotency-Key names at most one sweep (NULLs, the
 * sweeps made without a key, are all distinct).  Deleting the sweep frees
 * its key, as deleting a job frees the job's. */
#define SWEEP_IDEM_INDEX_SQL \
    "CREATE UNIQUE INDEX IF NOT EXISTS sweeps_idempotency_key ON sweeps(idempotency_key);"

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS jobs("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name TEXT NOT NULL DEFAULT '',"
    " model TEXT NOT NULL,"
    " dataset TEXT NOT NULL,"
    " settings TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN "
    "  ('queued','running','succeeded','failed','cancelled','stopped')),"
    " created_at REAL NOT NULL,"
    " started_at REAL,"
    " finished_at REAL,"
    " error TEXT,"
    " cancel_requested INTEGER NOT NULL DEFAULT 0,"
    " sweep_id INTEGER,"
    " keep TEXT NOT NULL DEFAULT 'all',"
    " run_parent TEXT,"
    " executor TEXT NOT NULL DEFAULT 'local',"
    " slurm_job_id TEXT,"
    " node TEXT);"
    "CREATE TABLE IF NOT EXISTS metrics("
    " job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    " epoch INTEGER NOT NULL," /* then one REAL column per ae_metrics() row */
    " PRIMARY KEY (job_id, epoch)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS idempotency("
    " key TEXT PRIMARY KEY,"
    " request_sha256 TEXT NOT NULL,"
    " job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    " created_at REAL NOT NULL);"
    SWEEP_TABLES_SQL
    SWEEP_IDEM_INDEX_SQL;

/* The schema's version in PRAGMA user_version, and the step from each
 * older one (migrate_step(v) brings version v to v + 1).  A new database is
 * made at SCHEMA_VERSION by schema_sql.  The metrics table has one REAL
 * column per row of ae_metrics(), named as the row: a column the table
 * lacks (a new database, or a metric added since) is added by
 * add_metric_columns, so adding a metric needs no version step; renaming
 * one would.
 *   1 -> 2  jobs.cancel_requested (a running job's cancel was kept in
 *           memory only, so a crash lost it).
 *   2 -> 3  sweeps (to be renumbered after the executors' step, CONTRACTS
 *           C: v5): the state "stopped" in jobs' CHECK (a rebuild of the
 *           table), jobs.sweep_id, keep, run_parent, and the sweeps'
 *           tables.
 *   3 -> 4  executors (CONTRACTS C's v4, after the sweeps' step that landed
 *           first): where a job runs, jobs.executor ('local' or 'slurm'),
 *           jobs.slurm_job_id and jobs.node.
 *   4 -> 5  the Idempotency-Key of POST /api/sweeps: sweeps.idempotency_key
 *           and sweeps.request_sha256, and a unique index on the key. */
enum { SCHEMA_VERSION = SRV_STORE_SCHEMA_VERSION };

static const char migrate_1_to_2[] =
    "ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;";

/* The sweeps step's columns of jobs (added when missing, so the step can
 * run again on a database whose user_version was set back by hand). */
static const char *const sweep_job_columns[][2] = {
    {"sweep_id", "INTEGER"},
    {"keep", "TEXT NOT NULL DEFAULT 'all'"},
    {"run_parent", "TEXT"},
};

static int add_column_if_missing(sqlite3 *db, const char *table, const char *col,
                                 const char *decl, char **emsg)
{
    char sql[200];
    sqlite3_stmt *q;
    bool have;
    int rc;
    snprintf(sql, sizeof sql, "SELECT 1 FROM pragma_table_info('%s') WHERE name = ?1", table);
    rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);
    if (rc != SQLITE_OK) return rc;
    sqlite3_bind_text(q, 1, col, -1, SQLITE_STATIC);
    have = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
    if (have) return SQLITE_OK;
    snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s", table, col, decl);
    return sqlite3_exec(db, sql, NULL, NULL, emsg);
}

/* Each {name, declaration} of cols[0..n) that table lacks, added. */
static int add_columns(sqlite3 *db, const char *table, const char *const (*cols)[2], size_t n,
                       char **emsg)
{
    int rc = SQLITE_OK;
    for (size_t i = 0; rc == SQLITE_OK && i < n; i++)
        rc = add_column_if_missing(db, table, cols[i][0], cols[i][1], emsg);
    return rc;
}

#define N_COLUMNS(cols) (sizeof cols / sizeof *cols)

static int migrate_sweeps(sqlite3 *db, char **emsg)
{
    int rc = add_columns(db, "jobs", sweep_job_columns, N_COLUMNS(sweep_job_columns), emsg);
    return rc == SQLITE_OK ? sqlite3_exec(db, SWEEP_TABLES_SQL, NULL, NULL, emsg) : rc;
}

/* The executors' step: columns of jobs, added when missing. */
static const char *const executor_job_columns[][2] = {
    {"executor", "TEXT NOT NULL DEFAULT 'local'"},
    {"slurm_job_id", "TEXT"},
    {"node", "TEXT"},
};

static int migrate_executors(sqlite3 *db, char **emsg)
{
    return add_columns(db, "jobs", executor_job_columns, N_COLUMNS(executor_job_columns), emsg);
}

/* SQLite cannot change a CHECK constraint in place: make a copy of jobs
 * whose CREATE text has the new state list, copy every row (whatever
 * columns earlier steps added), drop the old table and rename the copy.
 * Foreign keys are off during the migration (srv_store_open turns them on
 * after it), so metrics and idempotency rows keep pointing at "jobs". */
static int rebuild_jobs_with_stopped(sqlite3 *db, char **emsg)
{
    sqlite3_stmt *q = NULL;
    char *create = NULL, *sql = NULL;
    const char *old = "'cancelled')", *at;
    int rc = sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE type='table' AND "
                                    "name='jobs'", -1, &q, NULL);
    if (rc == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
        create = strdup((const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    if (rc != SQLITE_OK) return rc;
    if (!create) return SQLITE_CORRUPT;
    at = strstr(create, old);
    if (!at) { /* already allows "stopped" (or has no such CHECK) */
        free(create);
        return SQLITE_OK;
    }
    {
        const char *body = strchr(create, '(');
        size_t n_head = (size_t)(at - body), n = strlen(create) + 64;
        sql = body ? malloc(n) : NULL;
        if (sql)
            snprintf(sql, n, "CREATE TABLE jobs_v_new%.*s'cancelled','stopped')%s", (int)n_head,
                     body, at + strlen(old));
    }
    free(create);
    if (!sql) return SQLITE_NOMEM;
    rc = sqlite3_exec(db, sql, NULL, NULL, emsg);
    free(sql);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "INSERT INTO jobs_v_new SELECT * FROM jobs; DROP TABLE jobs; "
                              "ALTER TABLE jobs_v_new RENAME TO jobs;", NULL, NULL, emsg);
    return rc;
}

/* The sweeps' Idempotency-Key step: columns of sweeps, added when
 * missing, and their index. */
static const char *const idem_sweep_columns[][2] = {
    {"idempotency_key", "TEXT"},
    {"request_sha256", "TEXT"},
};

static int migrate_sweep_idem(sqlite3 *db, char **emsg)
{
    int rc = add_columns(db, "sweeps", idem_sweep_columns, N_COLUMNS(idem_sweep_columns), emsg);
    return rc == SQLITE_OK ? sqlite3_exec(db, SWEEP_IDEM_INDEX_SQL, NULL, NULL, emsg) : rc;
}

static int schema_version(sqlite3 *db)
{
    sqlite3_stmt *q;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(q) == SQLITE_ROW) v = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return v;
}

/* The step from version v to v + 1. */
static int migrate_step(sqlite3 *db, int v, char **emsg)
{
    int rc;
    switch (v) {
    case 1: return sqlite3_exec(db, migrate_1_to_2, NULL, NULL, emsg);
    case 2:
        rc = rebuild_jobs_with_stopped(db, emsg);
        return rc == SQLITE_OK ? migrate_sweeps(db, emsg) : rc;
    case 3: return migrate_executors(db, emsg);
    case 4: return migrate_sweep_idem(db, emsg);
    default: return SQLITE_MISMATCH;
    }
}

/* Add a REAL column for each ae_metrics() row the metrics table lacks. */
static int add_metric_columns(sqlite3 *db, char **emsg)
{
    size_t n;
    const struct ae_metric *t = ae_metrics(&n);
    for (size_t i = 0; i < n; i++) {
        char sql[160];
        sqlite3_stmt *q;
        bool have = false;
        int rc = sqlite3_prepare_v2(
            db, "SELECT 1 FROM pragma_table_info('metrics') WHERE name = ?1", -1, &q, NULL);
        if (rc != SQLITE_OK) return rc;
        sqlite3_bind_text(q, 1, t[i].name, -1, SQLITE_STATIC);
        have = sqlite3_step(q) == SQLITE_ROW;
        sqlite3_finalize(q);
        if (have) continue;
        snprintf(sql, sizeof sql, "ALTER TABLE metrics ADD COLUMN %s REAL", t[i].name);
        rc = sqlite3_exec(db, sql, NULL, NULL, emsg);
        if (rc != SQLITE_OK) return rc;
    }
    return SQLITE_OK;
}

/* Create the tables of a new database, or bring an older one up to
 * SCHEMA_VERSION step by step, in one transaction. */
static int schema_setup(sqlite3 *db, char **emsg)
{
    int v, rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, emsg);
    if (rc != SQLITE_OK) return rc;
    v = schema_version(db);
    if (v == 0)
        rc = sqlite3_exec(db, schema_sql, NULL, NULL, emsg);
    else if (v < 0 || v > SCHEMA_VERSION)
        rc = SQLITE_MISMATCH; /* unreadable, or written by a newer aelabd */
    else
        for (int k = v; rc == SQLITE_OK && k < SCHEMA_VERSION; k++) rc = migrate_step(db, k, emsg);
    if (rc == SQLITE_OK) rc = add_metric_columns(db, emsg);
    if (rc == SQLITE_OK && v != SCHEMA_VERSION) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", SCHEMA_VERSION);
        rc = sqlite3_exec(db, sql, NULL, NULL, emsg);
    }
    if (rc == SQLITE_OK) return sqlite3_exec(db, "COMMIT", NULL, NULL, emsg);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

#include "srv_store_priv.h"

/* The metric statements, with the columns of ae_metrics() in table order:
 * put binds job_id, epoch, then metric i at 3 + i; all selects job_id,
 * epoch, then metric i at column 2 + i. */
static void metric_sql(char *put, size_t put_cap, char *all, size_t all_cap)
{
    size_t n, p, a, v;
    const struct ae_metric *t = ae_metrics(&n);
    char vals[512];
    p = (size_t)snprintf(put, put_cap, "INSERT OR REPLACE INTO metrics(job_id, epoch");
    a = (size_t)snprintf(all, all_cap, "SELECT job_id, epoch");
    v = (size_t)snprintf(vals, sizeof vals, "?1, ?2");
    for (size_t i = 0; i < n; i++) {
        if (p < put_cap) p += (size_t)snprintf(put + p, put_cap - p, ", %s", t[i].name);
        if (a < all_cap) a += (size_t)snprintf(all + a, all_cap - a, ", %s", t[i].name);
        if (v < sizeof vals) v += (size_t)snprintf(vals + v, sizeof vals - v, ", ?%zu", i + 3);
    }
    if (p < put_cap) snprintf(put + p, put_cap - p, ") VALUES (%s)", vals);
    if (a < all_cap) snprintf(all + a, all_cap - a, " FROM metrics ORDER BY job_id, epoch");
}

static enum srv_status db_error(struct srv_store *s, int rc, const char *what, struct ae_err *err)
{
    int ext = s->db ? sqlite3_extended_errcode(s->db) : rc;
    const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    enum srv_status st = SRV_ERR_DB;
    if ((rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_READONLY ||
        (rc & 0xff) == SQLITE_CANTOPEN)
        st = SRV_ERR_IO;
    if ((rc & 0xff) == SQLITE_NOMEM) st = SRV_ERR_NOMEM;
    return srv_err_set(err, st, "database %s: %s failed: %s (SQLite code %d)", s->path, what, msg,
                       ext);
}

enum srv_status srv_store_idem_conflict(struct ae_err *err, const char *key, const char *what,
                                        int64_t id)
{
    return srv_err_set(err, SRV_ERR_CONFLICT,
                       "Idempotency-Key '%.80s' was already used for %s %lld with a different "
                       "request body; use a new key for a new %s",
                       key, what, (long long)id, what);
}

enum srv_status srv_store_db_error(struct srv_store *s, int rc, const char *what,
                                   struct ae_err *err)
{
    return db_error(s, rc, what, err);
}

static double now_unix(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void bind_time(sqlite3_stmt *st, int i, double t)
{
    if (t > 0)
        sqlite3_bind_double(st, i, t);
    else
        sqlite3_bind_null(st, i);
}

static void bind_real(sqlite3_stmt *st, int i, double v)
{
    if (isfinite(v))
        sqlite3_bind_double(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static double col_real(sqlite3_stmt *st, int i, double if_null)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? if_null : sqlite3_column_double(st, i);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : NULL;
}

/* Run a prepared statement that returns no rows, then reset it. */
static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* ------------------------------------------------------------------------ */
/* Open and close                                                           */
/* ------------------------------------------------------------------------ */

enum srv_status srv_store_open(const char *path, struct srv_store **out, struct ae_err *err)
{
    struct srv_store *s;
    enum srv_status st;
    char *emsg = NULL;
    char put_sql[1024], all_sql[1024];
    int rc;

    *out = NULL;
    s = calloc(1, sizeof *s);
    if (!s) return srv_err_set(err, SRV_ERR_NOMEM, "out of memory opening the database");
    pthread_mutex_init(&s->lock, NULL);
    snprintf(s->path, sizeof s->path, "%s", path);

    rc = sqlite3_open_v2(path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        st = db_error(s, rc, "open", err);
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, 5000);
    rc = sqlite3_exec(s->db,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
                      NULL, NULL, &emsg);
    if (rc != SQLITE_OK) {
        sqlite3_free(emsg);
        st = db_error(s, rc, "setting WAL mode", err);
        goto fail;
    }
    /* Foreign keys go on after the migration (a table rebuild needs them off). */
    rc = schema_setup(s->db, &emsg);
    if (rc == SQLITE_OK) rc = sqlite3_exec(s->db, "PRAGMA foreign_keys=ON;", NULL, NULL, &emsg);
    if (rc != SQLITE_OK) {
        sqlite3_free(emsg);
        st = rc == SQLITE_MISMATCH
                 ? srv_err_set(err, SRV_ERR_DB, "%s: database schema version %d is not one this "
                               "aelabd knows (1 to %d)", path, schema_version(s->db), SCHEMA_VERSION)
                 : db_error(s, rc, "creating the schema", err);
        goto fail;
    }
    metric_sql(put_sql, sizeof put_sql, all_sql, sizeof all_sql);
    for (int i = 0; i < ST_COUNT; i++) {
        const char *sql = i == ST_METRIC_PUT    ? put_sql
                          : i == ST_METRICS_ALL ? all_sql
                                                : stmt_sql[i];
        rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
        if (rc != SQLITE_OK) {
            st = db_error(s, rc, "preparing a statement", err);
            goto fail;
        }
    }
    *out = s;
    return SRV_OK;

fail:
    srv_store_close(s);
    return st;
}

void srv_store_close(struct srv_store *s)
{
    if (!s) return;
    for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(s->st[i]);
    /* sqlite3_close checkpoints the WAL when it is the last connection. */
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* ------------------------------------------------------------------------ */
/* Writes: one committed transaction each                                   */
/* ------------------------------------------------------------------------ */

enum srv_status srv_store_job_insert(struct srv_store *s, const struct srv_store_job *j,
                                     const char *idem_key, const char *request_sha256,
                                     int64_t *id, bool *replayed, struct ae_err *err)
{
    enum srv_status st = SRV_OK;
    sqlite3_stmt *q;
    int rc;

    *replayed = false;
    *id = 0;
    pthread_mutex_lock(&s->lock);
    rc = step_done(s->st[ST_BEGIN]);
    if (rc != SQLITE_OK) {
        st = db_error(s, rc, "BEGIN", err);
        goto out;
    }
    if (idem_key) {
        q = s->st[ST_IDEM_GET];
        sqlite3_bind_text(q, 1, idem_key, -1, SQLITE_STATIC);
        rc = sqlite3_step(q);
        if (rc == SQLITE_ROW) {
            const char *h = col_text(q, 0);
            int same = h && request_sha256 && strcmp(h, request_sha256) == 0;
            *id = sqlite3_column_int64(q, 1);
            sqlite3_reset(q);
            sqlite3_clear_bindings(q);
            step_done(s->st[ST_ROLLBACK]);
            if (same) {
                *replayed = true;
            } else {
                st = srv_store_idem_conflict(err, idem_key, "job", *id);
                *id = 0;
            }
            goto out;
        }
        sqlite3_reset(q);
        sqlite3_clear_bindings(q);
        if (rc != SQLITE_DONE) {
            st = db_error(s, rc, "reading an idempotency key", err);
            goto rollback;
        }
    }
    q = s->st[ST_JOB_INSERT];
    sqlite3_bind_text(q, 1, j->name ? j->name : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, j->model, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, j->dataset, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, j->settings, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, j->state, -1, SQLITE_STATIC);
    sqlite3_bind_double(q, 6, j->created_at > 0 ? j->created_at : now_unix());
    bind_time(q, 7, j->started_at);
    bind_time(q, 8, j->finished_at);
    if (j->error)
        sqlite3_bind_text(q, 9, j->error, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 9);
    if (j->sweep_id > 0)
        sqlite3_bind_int64(q, 10, j->sweep_id);
    else
        sqlite3_bind_null(q, 10);
    sqlite3_bind_text(q, 11, j->keep_final ? "final" : "all", -1, SQLITE_STATIC);
    if (j->run_parent && j->run_parent[0])
        sqlite3_bind_text(q, 12, j->run_parent, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 12);
    sqlite3_bind_text(q, 13, j->executor && *j->executor ? j->executor : "local", -1,
                      SQLITE_STATIC);
    rc = step_done(q);
    if (rc != SQLITE_OK) {
        st = db_error(s, rc, "inserting a job", err);
        goto rollback;
    }
    *id = sqlite3_last_insert_rowid(s->db);
    if (j->sweep_id > 0 && j->trial_params) {
        rc = srv_store_trial_put_locked(s, j->sweep_id, j->trial, *id, j->trial_params);
        if (rc != SQLITE_OK) {
            st = db_error(s, rc, "recording a sweep's trial", err);
            goto rollback;
        }
    }
    if (idem_key) {
        q = s->st[ST_IDEM_PUT];
        sqlite3_bind_text(q, 1, idem_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, request_sha256 ? request_sha256 : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, *id);
        sqlite3_bind_double(q, 4, now_unix());
        rc = step_done(q);
        if (rc != SQLITE_OK) {
            st = db_error(s, rc, "recording an idempotency key", err);
            goto rollback;
        }
    }
    rc = step_done(s->st[ST_COMMIT]);
    if (rc != SQLITE_OK) {
        st = db_error(s, rc, "COMMIT", err);
        goto rollback;
    }
    goto out;

rollback:
    *id = 0;
    step_done(s->st[ST_ROLLBACK]);
out:
    pthread_mutex_unlock(&s->lock);
    return st;
}

enum srv_status srv_store_idem_find(struct srv_store *s, const char *key, int64_t *id,
                                    char request_sha256[65], struct ae_err *err)
{
    enum srv_status st;
    sqlite3_stmt *q;
    int rc;

    pthread_mutex_lock(&s->lock);
    q = s->st[ST_IDEM_GET];
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const char *h = col_text(q, 0);
        snprintf(request_sha256, 65, "%s", h ? h : "");
        *id = sqlite3_column_int64(q, 1);
        st = SRV_OK;
    } else if (rc == SQLITE_DONE) {
        st = SRV_ERR_NOTFOUND;
    } else {
        st = db_error(s, rc, "reading an idempotency key", err);
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    pthread_mutex_unlock(&s->lock);
    return st;
}

enum srv_status srv_store_job_update(struct srv_store *s, int64_t id, const char *state,
                                     double started_at, double finished_at, const char *error,
                                     struct ae_err *err)
{
    enum srv_status st = SRV_OK;
    sqlite3_stmt *q;
    int rc;

    pthread_mutex_lock(&s->lock);
    q = s->st[ST_JOB_UPDATE];
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_text(q, 2, state, -1, SQLITE_STATIC);
    bind_time(q, 3, started_at);
    bind_time(q, 4, finished_at);
    if (error)
        sqlite3_bind_text(q, 5, error, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 5);
    rc = step_done(q);
    if (rc != SQLITE_OK) st = db_error(s, rc, "updating a job", err);
    pthread_mutex_unlock(&s->lock);
    return st;
}

enum srv_status srv_store_job_cancel(struct srv_store *s, int64_t id, struct ae_err *err)
{
    enum srv_status st = SRV_OK;
    sqlite3_stmt *q;
    int rc;

    pthread_mutex_lock(&s->lock);
    q = s->st[ST_JOB_CANCEL];
    sqlite3_bind_int64(q, 1, id);
    rc = step_done(q);
    if (rc != SQLITE_OK) st = db_error(s, rc, "recording a cancel", err);
    pthread_mutex_unlock(&s->lock);
    return st;
}

static void bind_text_or_null(sqlite3_stmt *q, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
}

enum srv_status srv_store_job_place(struct srv_store *s, int64_t id, const char *executor,
                                    const char *slurm_job_id, const char *node, struct ae_err *err)
{
    enum srv_status st = SRV_OK;
    sqlite3_stmt *q;
    int rc;

    pthread_mutex_lock(&s->lock);
    q = s->st[ST_JOB_PLACE];
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_text(q, 2, executor && *executor ? executor : "local", -1, SQLITE_STATIC);
    bind_text_or_null(q, 3, slurm_job_id);
    bind_text_or_null(q, 4, node);
    rc = step_done(q);
    if (rc != SQLITE_OK) st = db_error(s, rc, "recording where a job runs", err);
    pthread_mutex_unlock(&s->lock);
    return st;
}

enum srv_status srv_store_metric_put(struct srv_store *s, int64_t id,
                                     const struct ae_epoch_stats *m, struct ae_err *err)
{
    enum srv_status st = SRV_OK;
    sqlite3_stmt *q;
    size_t n_metrics;
    int rc;

    ae_metrics(&n_metrics);
    pthread_mutex_lock(&s->lock);
    q = s->st[ST_METRIC_PUT];
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int(q, 2, m->epoch);
    for (size_t i = 0; i < n_metrics; i++) bind_real(q, 3 + (int)i, ae_metric_get(m, i));
    rc = step_done(q);
    if (rc != SQLITE_OK) st = db_error(s, rc, "storing epoch metrics", err);
    pthread_mutex_unlock(&s->lock);
    return st;
}

enum srv_status srv_store_job_delete(struct srv_store *s, int64_t id, struct ae_err *err)
{
    enum srv_status st = SRV_OK;
    int rc;

    pthread_mutex_lock(&s->lock);
    sqlite3_bind_int64(s->st[ST_JOB_DELETE], 1, id);
    rc = step_done(s->st[ST_JOB_DELETE]);
    if (rc != SQLITE_OK)
        st = db_error(s, rc, "deleting a job", err);
    else if (sqlite3_changes(s->db) == 0)
        st = srv_err_set(err, SRV_ERR_NOTFOUND, "no job %lld in the database", (long long)id);
    pthread_mutex_unlock(&s->lock);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Reads                                                                    */
/* ------------------------------------------------------------------------ */

/* Rows copied out of SQLite, so callbacks run without the store's lock. */
struct loaded_job {
    struct srv_store_job j;
    char *strs[10];
};

static char *dup_text(sqlite3_stmt *q, int i)
{
    const char *t = col_text(q, i);
    return t ? strdup(t) : NULL;
}

static void free_loaded(struct loaded_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 10; k++) free(jobs[i].strs[k]);
    free(jobs);
}

enum srv_status srv_store_load(struct srv_store *s,
                               int (*on_job)(void *user, const struct srv_store_job *j),
                               int (*on_metric)(void *user, int64_t id,
                                                const struct ae_epoch_stats *m),
                               void *user, struct ae_err *err)
{
    enum srv_status st = SRV_OK;
    struct loaded_job *jobs = NULL;
    struct ae_epoch_stats *ms = NULL;
    int64_t *mids = NULL;
    size_t n_metrics;
    size_t n_jobs = 0, cap_jobs = 0, n_ms = 0, cap_ms = 0;
    sqlite3_stmt *q;
    int rc;

    ae_metrics(&n_metrics);
    pthread_mutex_lock(&s->lock);
    q = s->st[ST_JOBS_ALL];
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct loaded_job *l;
        if (n_jobs == cap_jobs) {
            size_t cap = cap_jobs ? cap_jobs * 2 : 64;
            struct loaded_job *p = realloc(jobs, cap * sizeof *p);
            if (!p) {
                st = srv_err_set(err, SRV_ERR_NOMEM, "out of memory loading jobs");
                break;
            }
            jobs = p;
            cap_jobs = cap;
        }
        l = &jobs[n_jobs];
        memset(l, 0, sizeof *l);
        l->strs[0] = dup_text(q, 1);
        l->strs[1] = dup_text(q, 2);
        l->strs[2] = dup_text(q, 3);
        l->strs[3] = dup_text(q, 4);
        l->strs[4] = dup_text(q, 5);
        l->strs[5] = dup_text(q, 9);
        l->strs[6] = dup_text(q, 13);
        l->strs[7] = dup_text(q, 14);
        l->strs[8] = dup_text(q, 15);
        l->strs[9] = dup_text(q, 16);
        l->j = (struct srv_store_job){
            .id = sqlite3_column_int64(q, 0),
            .name = l->strs[0] ? l->strs[0] : "",
            .model = l->strs[1],
            .dataset = l->strs[2],
            .settings = l->strs[3],
            .state = l->strs[4],
            .error = l->strs[5],
            .created_at = col_real(q, 6, 0),
            .started_at = col_real(q, 7, 0),
            .finished_at = col_real(q, 8, 0),
            .cancel_requested = sqlite3_column_int(q, 10) != 0,
            .sweep_id = sqlite3_column_int64(q, 11),
            .keep_final = col_text(q, 12) && !strcmp(col_text(q, 12), "final"),
            .run_parent = l->strs[6],
            .executor = l->strs[7] ? l->strs[7] : "local",
            .slurm_job_id = l->strs[8],
            .node = l->strs[9],
        };
        n_jobs++;
    }
    sqlite3_reset(q);
    if (st == SRV_OK && rc != SQLITE_DONE) st = db_error(s, rc, "reading jobs", err);

    q = s->st[ST_METRICS_ALL];
    while (st == SRV_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (n_ms == cap_ms) {
            size_t cap = cap_ms ? cap_ms * 2 : 256;
            struct ae_epoch_stats *p = realloc(ms, cap * sizeof *p);
            int64_t *pi = realloc(mids, cap * sizeof *pi);
            if (p) ms = p;
            if (pi) mids = pi;
            if (!p || !pi) {
                st = srv_err_set(err, SRV_ERR_NOMEM, "out of memory loading metrics");
                break;
            }
            cap_ms = cap;
        }
        mids[n_ms] = sqlite3_column_int64(q, 0);
        ms[n_ms] = (struct ae_epoch_stats){.epoch = sqlite3_column_int(q, 1)};
        for (size_t i = 0; i < n_metrics; i++)
            ae_metric_set(&ms[n_ms], i, col_real(q, 2 + (int)i, NAN));
        n_ms++;
    }
    sqlite3_reset(q);
    if (st == SRV_OK && rc != SQLITE_DONE) st = db_error(s, rc, "reading metrics", err);
    pthread_mutex_unlock(&s->lock);

    /* Callbacks run without the lock: they may call the store again. */
    for (size_t i = 0; st == SRV_OK && i < n_jobs; i++) {
        const struct srv_store_job *j = &jobs[i].j;
        if (!j->model || !j->dataset || !j->settings || !j->state) continue; /* NOT NULL columns */
        if (on_job && on_job(user, j))
            st = srv_err_set(err, SRV_ERR_INTERNAL, "loading job %lld failed", (long long)j->id);
    }
    for (size_t i = 0; st == SRV_OK && i < n_ms; i++)
        if (on_metric && on_metric(user, mids[i], &ms[i]))
            st = srv_err_set(err, SRV_ERR_INTERNAL, "loading metrics failed");
    free_loaded(jobs, n_jobs);
    free(ms);
    free(mids);
    return st;
}

enum srv_status srv_store_check(struct srv_store *s, struct ae_err *err)
{
    enum srv_status st = SRV_OK;
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &q, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        st = db_error(s, rc, "integrity_check", err);
    } else {
        const char *r = col_text(q, 0);
        if (!r || strcmp(r, "ok") != 0)
            st = srv_err_set(err, SRV_ERR_DB, "database %s: integrity_check says: %s", s->path,
                             r ? r : "(null)");
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&s->lock);
    return st;
}
