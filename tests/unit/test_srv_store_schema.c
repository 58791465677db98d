/*
 * test_srv_store_schema.c - the store's metrics columns come from
 * ae_metrics(): a version-2 database file written here with the v2 schema
 * as it was shipped opens with its rows intact, and a metrics table that
 * lacks a column of the table (a metric added since) gets it, old rows
 * reading back NaN there; a version-4 file gains the sweeps' Idempotency-Key
 * columns (step 4 -> 5) with its sweeps intact.  Real SQLite files in a
 * fresh temp dir.
 */
#include <ftw.h>
#include <math.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "server/srv_store.h"

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb, (void)flag, (void)f;
    return remove(p);
}

/* The tables of schema version 2 (what aelabd 0.1.0 created), one job and
 * its epoch-1 row.  metrics_cols lists the metric columns to create. */
static bool write_v2(const char *path, const char *metrics_cols, const char *metric_insert)
{
    sqlite3 *db = NULL;
    char sql[2048];
    bool ok;
    snprintf(sql, sizeof sql,
             "CREATE TABLE jobs(id INTEGER PRIMARY KEY AUTOINCREMENT,"
             " name TEXT NOT NULL DEFAULT '', model TEXT NOT NULL, dataset TEXT NOT NULL,"
             " settings TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN"
             " ('queued','running','succeeded','failed','cancelled')),"
             " created_at REAL NOT NULL, started_at REAL, finished_at REAL, error TEXT,"
             " cancel_requested INTEGER NOT NULL DEFAULT 0);"
             "CREATE TABLE metrics(job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
             " epoch INTEGER NOT NULL, %s, PRIMARY KEY (job_id, epoch)) WITHOUT ROWID;"
             "CREATE TABLE idempotency(key TEXT PRIMARY KEY, request_sha256 TEXT NOT NULL,"
             " job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
             " created_at REAL NOT NULL);"
             "INSERT INTO jobs(name, model, dataset, settings, state, created_at)"
             " VALUES ('old', 'vae', 'mnist', '{}', 'succeeded', 1700000000);"
             "%s;"
             "PRAGMA user_version = 2;",
             metrics_cols, metric_insert);
    if (sqlite3_open(path, &db) != SQLITE_OK) return false;
    ok = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_close(db);
    return ok;
}

static int user_version(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    int v = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

/* Does the file's sweeps table have the Idempotency-Key columns of
 * version 5 and their unique index? */
static bool has_sweep_keys(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    int n = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db,
                           "SELECT (SELECT count(*) FROM pragma_table_info('sweeps') WHERE name IN"
                           " ('idempotency_key', 'request_sha256')) + (SELECT count(*) FROM"
                           " pragma_index_list('sweeps') WHERE name = 'sweeps_idempotency_key'"
                           " AND \"unique\" = 1)",
                           -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n == 3;
}

static bool exec_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    bool ok = sqlite3_open(path, &db) == SQLITE_OK &&
              sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK;
    if (msg) fprintf(stderr, "%s: %s\n", sql, msg);
    sqlite3_free(msg);
    sqlite3_close(db);
    return ok;
}

struct sweep_seen {
    int n;
    char name[32];
};

static int on_sweep(void *user, const struct srv_store_sweep *sw)
{
    struct sweep_seen *x = user;
    x->n++;
    snprintf(x->name, sizeof x->name, "%s", sw->name);
    return 0;
}

struct got {
    int n;
    struct ae_epoch_stats m;
};

static int on_metric(void *user, int64_t id, const struct ae_epoch_stats *m)
{
    struct got *g = user;
    (void)id;
    g->n++;
    g->m = *m;
    return 0;
}

/* Open path with the store, load its one metrics row into *g, put epoch 2
 * with every table metric set, reload and check it all comes back. */
static void open_load_put(const char *path, struct got *g)
{
    struct srv_store *s = NULL;
    struct ae_err e = {0};
    size_t n;
    ae_metrics(&n);
    CHECK_MSG(srv_store_open(path, &s, &e) == SRV_OK, "open %s: %s", path, e.msg);
    if (!s) return;
    CHECK_EQ_INT(srv_store_load(s, NULL, on_metric, g, &e), SRV_OK);
    {
        struct ae_epoch_stats m = {.epoch = 2};
        struct got all = {0};
        for (size_t i = 0; i < n; i++) ae_metric_set(&m, i, 10.0 + (double)i);
        CHECK_EQ_INT(srv_store_metric_put(s, 1, &m, &e), SRV_OK);
        CHECK_EQ_INT(srv_store_load(s, NULL, on_metric, &all, &e), SRV_OK);
        CHECK_EQ_INT(all.n, 2);
        CHECK_EQ_INT(all.m.epoch, 2);
        for (size_t i = 0; i < n; i++) CHECK_NEAR(ae_metric_get(&all.m, i), 10.0 + (double)i, 0);
    }
    srv_store_close(s);
}

int main(void)
{
    char dir[] = "/tmp/test_srv_store_schema.XXXXXX";
    char path[400];

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }

    /* 1. A version-2 file with the columns it shipped with. */
    snprintf(path, sizeof path, "%s/v2.db", dir);
    CHECK(write_v2(path,
                   "loss REAL, val_loss REAL, train_seconds REAL, val_seconds REAL,"
                   " reconstruction_loss REAL, kl_loss REAL,"
                   " val_reconstruction_loss REAL, val_kl_loss REAL",
                   "INSERT INTO metrics VALUES"
                   " (1, 1, 0.5, 0.6, 1.25, 0.125, 0.4, 0.1, 0.45, 0.15)"));
    {
        struct got g = {0};
        open_load_put(path, &g);
        CHECK_EQ_INT(g.n, 1);
        CHECK_EQ_INT(g.m.epoch, 1);
        CHECK_NEAR(g.m.loss, 0.5, 0);
        CHECK_NEAR(g.m.val_loss, 0.6, 0);
        CHECK_NEAR(g.m.train_seconds, 1.25, 0);
        CHECK_NEAR(g.m.val_seconds, 0.125, 0);
        CHECK_NEAR(g.m.reconstruction_loss, 0.4, 0);
        CHECK_NEAR(g.m.kl_loss, 0.1, 0);
        CHECK_NEAR(g.m.val_reconstruction_loss, 0.45, 0);
        CHECK_NEAR(g.m.val_kl_loss, 0.15, 0);
        CHECK_EQ_INT(user_version(path), SRV_STORE_SCHEMA_VERSION);
        CHECK(has_sweep_keys(path)); /* through every step, 2 -> 3 -> 4 -> 5 */
    }

    /* 2. A metrics table that lacks two of the table's columns: they are
     * added, and the old row reads NaN in them. */
    snprintf(path, sizeof path, "%s/fewer.db", dir);
    CHECK(write_v2(path,
                   "loss REAL, val_loss REAL, train_seconds REAL,"
                   " reconstruction_loss REAL, kl_loss REAL, val_reconstruction_loss REAL",
                   "INSERT INTO metrics VALUES (1, 1, 0.5, 0.6, 1.25, 0.4, 0.1, 0.45)"));
    {
        struct got g = {0};
        open_load_put(path, &g);
        CHECK_EQ_INT(g.n, 1);
        CHECK_NEAR(g.m.loss, 0.5, 0);
        CHECK_NEAR(g.m.train_seconds, 1.25, 0);
        CHECK(isnan(g.m.val_seconds));
        CHECK(isnan(g.m.val_kl_loss));
        CHECK_NEAR(g.m.val_reconstruction_loss, 0.45, 0);
    }

    /* 3. Reopening a database the store made changes nothing. */
    snprintf(path, sizeof path, "%s/new.db", dir);
    {
        struct srv_store *s = NULL;
        struct ae_err e = {0};
        CHECK_EQ_INT(srv_store_open(path, &s, &e), SRV_OK);
        srv_store_close(s);
        s = NULL;
        CHECK_EQ_INT(srv_store_open(path, &s, &e), SRV_OK);
        srv_store_close(s);
        CHECK_EQ_INT(user_version(path), SRV_STORE_SCHEMA_VERSION);
        CHECK(has_sweep_keys(path));
    }

    /* 4. A version-4 database (sweeps without the Idempotency-Key columns
     * of step 4 -> 5) holding a sweep: the step adds the columns and the
     * index, the old sweep is kept, and keys work on it at once. */
    snprintf(path, sizeof path, "%s/v4.db", dir);
    {
        struct srv_store *s = NULL;
        struct ae_err e = {0};
        struct srv_store_sweep sw = {.name = "old-sweep", .spec = "{}", .state = "succeeded",
                                     .seed = 3, .created_at = 1700000000};
        const char *h = "abababababababababababababababababababababababababababababababab";
        int64_t id = 0, old = 0, again = 0;
        bool replayed = false;
        struct sweep_seen x = {0};
        CHECK_EQ_INT(srv_store_open(path, &s, &e), SRV_OK);
        CHECK_EQ_INT(srv_store_sweep_insert(s, &sw, NULL, NULL, &old, &replayed, &e), SRV_OK);
        srv_store_close(s);
        s = NULL;
        CHECK(exec_sql(path, "DROP INDEX sweeps_idempotency_key;"
                             "ALTER TABLE sweeps DROP COLUMN idempotency_key;"
                             "ALTER TABLE sweeps DROP COLUMN request_sha256;"
                             "PRAGMA user_version = 4;"));
        CHECK(!has_sweep_keys(path));
        CHECK_EQ_INT(user_version(path), 4);
        CHECK_MSG(srv_store_open(path, &s, &e) == SRV_OK, "open v4: %s", e.msg);
        if (s) {
            CHECK_EQ_INT(srv_store_sweeps_load(s, on_sweep, NULL, NULL, &x, &e), SRV_OK);
            CHECK_EQ_INT(x.n, 1);
            CHECK_EQ_STR(x.name, "old-sweep");
            sw.name = "new-sweep";
            CHECK_EQ_INT(srv_store_sweep_insert(s, &sw, "k5", h, &id, &replayed, &e), SRV_OK);
            CHECK(id > old && !replayed);
            CHECK_EQ_INT(srv_store_sweep_insert(s, &sw, "k5", h, &again, &replayed, &e), SRV_OK);
            CHECK(replayed && again == id);
            srv_store_close(s);
        }
        CHECK_EQ_INT(user_version(path), SRV_STORE_SCHEMA_VERSION);
        CHECK(has_sweep_keys(path));
    }
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    return check_summary("test_srv_store_schema");
}
