/*
 * test_srv_store.c - the SQLite store (srv_store.c) on a real file in a
 * fresh temp dir: jobs, metrics, idempotency keys (of jobs and of sweeps),
 * reopen, read-only dir.
 */
#include <ftw.h>
#include <math.h>
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

struct loaded {
    int n_jobs, n_metrics;
    int64_t ids[16];
    char states[16][16];
    char placement[16][80]; /* "executor|slurm_job_id|node" ("-" for NULL) */
    double losses[16];
    int metric_epochs[16];
    bool nan_ok;
};

static int on_job(void *user, const struct srv_store_job *j)
{
    struct loaded *l = user;
    if (l->n_jobs < 16) {
        l->ids[l->n_jobs] = j->id;
        snprintf(l->states[l->n_jobs], 16, "%s", j->state);
        snprintf(l->placement[l->n_jobs], 80, "%s|%s|%s", j->executor,
                 j->slurm_job_id ? j->slurm_job_id : "-", j->node ? j->node : "-");
    }
    l->n_jobs++;
    return 0;
}

static int on_metric(void *user, int64_t id, const struct ae_epoch_stats *m)
{
    struct loaded *l = user;
    (void)id;
    if (l->n_metrics < 16) {
        l->losses[l->n_metrics] = m->loss;
        l->metric_epochs[l->n_metrics] = m->epoch;
        if (isnan(m->val_loss)) l->nan_ok = true;
    }
    l->n_metrics++;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Sweeps: a sweep, its trials (written with their jobs), its decisions in
 * arrival order, the first decision of an (trial, epoch) standing, and a
 * delete that takes the trial and decision rows with it. */

struct sweeps_seen {
    int n_sweeps, n_trials, n_decisions;
    char state[16];
    uint64_t seed;
    int64_t trial_job[4];
    char params[64];
    int64_t seqs[8];
    char decisions[8][12];
    int32_t epochs[8];
};

static int on_sweep(void *user, const struct srv_store_sweep *sw)
{
    struct sweeps_seen *x = user;
    x->n_sweeps++;
    snprintf(x->state, sizeof x->state, "%s", sw->state);
    x->seed = sw->seed;
    return 0;
}

static int on_trial(void *user, const struct srv_store_trial *t)
{
    struct sweeps_seen *x = user;
    if (t->trial >= 0 && t->trial < 4) x->trial_job[t->trial] = t->job_id;
    snprintf(x->params, sizeof x->params, "%s", t->params);
    x->n_trials++;
    return 0;
}

static int on_decision(void *user, const struct srv_store_decision *d)
{
    struct sweeps_seen *x = user;
    if (x->n_decisions < 8) {
        x->seqs[x->n_decisions] = d->seq;
        x->epochs[x->n_decisions] = d->epoch;
        snprintf(x->decisions[x->n_decisions], 12, "%s", d->decision);
    }
    x->n_decisions++;
    return 0;
}

static void test_sweeps(const char *path)
{
    struct srv_store *s = NULL;
    struct ae_err e = {0};
    struct sweeps_seen x = {0};
    int64_t sid = 0, jid = 0, seq = 0, seq2 = 0;
    bool replayed = false;
    struct srv_store_sweep sw = {.name = "lr", .spec = "{\"name\":\"lr\"}", .state = "running",
                                 .seed = 42, .created_at = 1000};

    CHECK_EQ_INT(srv_store_open(path, &s, &e), SRV_OK);
    CHECK_EQ_INT(srv_store_sweep_insert(s, &sw, NULL, NULL, &sid, &replayed, &e), SRV_OK);
    CHECK(sid > 0 && !replayed);
    {
        struct srv_store_job j = {.name = "lr-0", .model = "simple", .dataset = "mnist",
                                  .settings = "{}", .state = "queued", .sweep_id = sid,
                                  .keep_final = true, .run_parent = "sweep-0001-lr", .trial = 0,
                                  .trial_params = "{\"learning_rate\":0.001}"};
        CHECK_EQ_INT(srv_store_job_insert(s, &j, NULL, NULL, &jid, &replayed, &e), SRV_OK);
    }
    {
        struct srv_store_decision d1 = {.sweep_id = sid, .trial = 0, .epoch = 1, .value = 0.5,
                                        .decision = "continue"};
        struct srv_store_decision d2 = {.sweep_id = sid, .trial = 0, .epoch = 3, .value = NAN,
                                        .decision = "stop"};
        struct srv_store_decision again = d1;
        again.decision = "stop";
        CHECK_EQ_INT(srv_store_decision_put(s, &d1, &seq, &e), SRV_OK);
        CHECK(seq > 0);
        CHECK_EQ_INT(srv_store_decision_put(s, &d2, &seq2, &e), SRV_OK);
        CHECK(seq2 > seq);
        /* The same (trial, epoch) again: ignored, the first decision stands. */
        CHECK_EQ_INT(srv_store_decision_put(s, &again, &seq, &e), SRV_OK);
        CHECK_EQ_INT((int)seq, 0);
    }
    CHECK_EQ_INT(srv_store_sweep_update(s, sid, "succeeded", 2000, &e), SRV_OK);
    srv_store_close(s);

    /* Reopened: everything as written, decisions in arrival order. */
    CHECK_EQ_INT(srv_store_open(path, &s, &e), SRV_OK);
    CHECK_EQ_INT(srv_store_sweeps_load(s, on_sweep, on_trial, on_decision, &x, &e), SRV_OK);
    CHECK_EQ_INT(x.n_sweeps, 1);
    CHECK_EQ_STR(x.state, "succeeded");
    CHECK(x.seed == 42);
    CHECK_EQ_INT(x.n_trials, 1);
    CHECK(x.trial_job[0] == jid);
    CHECK_EQ_STR(x.params, "{\"learning_rate\":0.001}");
    CHECK_EQ_INT(x.n_decisions, 2);
    CHECK_EQ_INT(x.epochs[0], 1);
    CHECK_EQ_STR(x.decisions[0], "continue");
    CHECK_EQ_STR(x.decisions[1], "stop");
    CHECK(x.seqs[0] < x.seqs[1]);

    /* Delete: the sweep's rows go; the job stays (the API deletes it). */
    CHECK_EQ_INT(srv_store_sweep_delete(s, sid, &e), SRV_OK);
    CHECK_EQ_INT(srv_store_sweep_delete(s, sid, &e), SRV_ERR_NOTFOUND);
    memset(&x, 0, sizeof x);
    CHECK_EQ_INT(srv_store_sweeps_load(s, on_sweep, on_trial, on_decision, &x, &e), SRV_OK);
    CHECK_EQ_INT(x.n_sweeps + x.n_trials + x.n_decisions, 0);
    CHECK_EQ_INT(srv_store_job_delete(s, jid, &e), SRV_OK);
    srv_store_close(s);
}

/* Sweeps' Idempotency-Keys: a key and hash stored with the sweep; the
 * same pair again is the earlier sweep with nothing inserted, another hash
 * a conflict naming the key and the sweep; sweeps without a key never
 * collide; the key outlives a reopen; a job may use the same string; a
 * deleted sweep's key is free again. */
static void test_sweep_keys(const char *path)
{
    const char *h1 = "1111111111111111111111111111111111111111111111111111111111111111";
    const char *h2 = "2222222222222222222222222222222222222222222222222222222222222222";
    struct srv_store_sweep sw = {.name = "k", .spec = "{\"name\":\"k\"}", .state = "running",
                                 .seed = 7, .created_at = 1000};
    struct srv_store *s = NULL;
    struct ae_err e = {0};
    struct sweeps_seen x = {0};
    int64_t a = 0, b = 0, c = 0, r = 0, jid = 0;
    bool replayed = true;

    CHECK_EQ_INT(srv_store_open(path, &s, &e), SRV_OK);
    if (!s) return;
    CHECK_EQ_INT(srv_store_sweep_insert(s, &sw, "sweep-key", h1, &a, &replayed, &e), SRV_OK);
    CHECK(a > 0 && !replayed);
    CHECK_EQ_INT(srv_store_sweep_insert(s, &sw, "sweep-key", h1, &r, &replayed, &e), SRV_OK);
    CHECK(replayed);
    CHECK(r == a);
    r = 99;
    CHECK_EQ_INT(srv_store_sweep_insert(s, &sw, "sweep-key", h2, &r, &replayed, &e),
                 SRV_ERR_CONFLICT);
    CHECK(r == 0 && !replayed);
    CHECK(strstr(e.msg, "sweep-key") != NULL && strstr(e.msg, "different request body") != NULL);
    CHECK(strstr(e.msg, "sweep") != NULL);
    CHECK_EQ_INT(srv_store_sweep_insert(s, &sw, NULL, NULL, &b, &replayed, &e), SRV_OK);
    CHECK_EQ_INT(srv_store_sweep_insert(s, &sw, NULL, NULL, &c, &replayed, &e), SRV_OK);
    CHECK(b > a && c > b && !replayed);
    {
        /* The jobs' keys are apart from the sweeps'. */
        struct srv_store_job j = {.name = "j", .model = "simple", .dataset = "mnist",
                                  .settings = "{}", .state = "queued"};
        CHECK_EQ_INT(srv_store_job_insert(s, &j, "sweep-key", h2, &jid, &replayed, &e), SRV_OK);
        CHECK(jid > 0 && !replayed);
    }
    CHECK_EQ_INT(srv_store_sweeps_load(s, on_sweep, NULL, NULL, &x, &e), SRV_OK);
    CHECK_EQ_INT(x.n_sweeps, 3);
    srv_store_close(s);
    s = NULL;

    CHECK_EQ_INT(srv_store_open(path, &s, &e), SRV_OK);
    if (!s) return;
    CHECK_EQ_INT(srv_store_sweep_insert(s, &sw, "sweep-key", h1, &r, &replayed, &e), SRV_OK);
    CHECK(replayed && r == a);
    CHECK_EQ_INT(srv_store_sweep_insert(s, &sw, "sweep-key", h2, &r, &replayed, &e),
                 SRV_ERR_CONFLICT);
    CHECK_EQ_INT(srv_store_sweep_delete(s, a, &e), SRV_OK);
    CHECK_EQ_INT(srv_store_sweep_insert(s, &sw, "sweep-key", h2, &r, &replayed, &e), SRV_OK);
    CHECK(!replayed && r > c);
    srv_store_close(s);
}

int main(void)
{
    char dir[] = "/tmp/test_srv_store.XXXXXX";
    char path[400];
    struct srv_store *s = NULL;
    struct ae_err e = {0};
    int64_t id1 = 0, id2 = 0, id3 = 0, idr = 0;
    bool replayed = false;
    const char *h1 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const char *h2 = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    struct srv_store_job j = {.name = "first", .model = "conv", .dataset = "mnist",
                              .settings = "{\"epochs\":2}", .state = "queued"};

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/aelab.db", dir);
    CHECK_EQ_INT(srv_store_open(path, &s, &e), SRV_OK);

    CHECK_EQ_INT(srv_store_job_insert(s, &j, NULL, NULL, &id1, &replayed, &e), SRV_OK);
    CHECK(id1 > 0 && !replayed);
    CHECK_EQ_INT(srv_store_job_insert(s, &j, "key-1", h1, &id2, &replayed, &e), SRV_OK);
    CHECK(id2 > id1 && !replayed);
    /* Same key, same body: the earlier job, nothing inserted. */
    CHECK_EQ_INT(srv_store_job_insert(s, &j, "key-1", h1, &idr, &replayed, &e), SRV_OK);
    CHECK(replayed);
    CHECK_EQ_INT(idr, id2);
    /* Same key, other body: conflict naming the job. */
    CHECK_EQ_INT(srv_store_job_insert(s, &j, "key-1", h2, &idr, &replayed, &e), SRV_ERR_CONFLICT);
    CHECK(strstr(e.msg, "key-1") != NULL && strstr(e.msg, "different request body") != NULL);

    CHECK_EQ_INT(srv_store_job_update(s, id1, "running", 100.0, 0, NULL, &e), SRV_OK);
    /* Where a job runs (executor, Slurm job id, node); "" stores NULL. */
    CHECK_EQ_INT(srv_store_job_place(s, id1, "slurm", "4242", "", &e), SRV_OK);
    CHECK_EQ_INT(srv_store_job_place(s, id1, "slurm", "4242", "node2", &e), SRV_OK);
    {
        struct ae_epoch_stats m = {.epoch = 1, .loss = 0.25, .val_loss = NAN,
                                     .train_seconds = 1.5};
        CHECK_EQ_INT(srv_store_metric_put(s, id1, &m, &e), SRV_OK);
        m.loss = 0.2; /* upsert replaces */
        CHECK_EQ_INT(srv_store_metric_put(s, id1, &m, &e), SRV_OK);
        m.epoch = 2;
        m.loss = 0.15;
        CHECK_EQ_INT(srv_store_metric_put(s, id1, &m, &e), SRV_OK);
    }
    /* A bad state violates the CHECK constraint: an error, not a crash. */
    CHECK_EQ_INT(srv_store_job_update(s, id1, "bogus", 0, 0, NULL, &e), SRV_ERR_DB);
    CHECK(strstr(e.msg, "CHECK constraint") != NULL);

    CHECK_EQ_INT(srv_store_job_insert(s, &j, NULL, NULL, &id3, &replayed, &e), SRV_OK);
    CHECK_EQ_INT(srv_store_job_delete(s, id3, &e), SRV_OK);
    CHECK_EQ_INT(srv_store_job_delete(s, id3, &e), SRV_ERR_NOTFOUND);
    CHECK_EQ_INT(srv_store_check(s, &e), SRV_OK);
    srv_store_close(s);
    s = NULL;

    /* Reopen: everything committed is there; ids are never reused. */
    CHECK_EQ_INT(srv_store_open(path, &s, &e), SRV_OK);
    {
        struct loaded l = {0};
        int64_t id4 = 0;
        CHECK_EQ_INT(srv_store_load(s, on_job, on_metric, &l, &e), SRV_OK);
        CHECK_EQ_INT(l.n_jobs, 2);
        CHECK_EQ_INT(l.ids[0], id1);
        CHECK_EQ_STR(l.states[0], "running");
        CHECK_EQ_STR(l.states[1], "queued");
        CHECK_EQ_STR(l.placement[0], "slurm|4242|node2");
        CHECK_EQ_STR(l.placement[1], "local|-|-"); /* inserted without an executor */
        CHECK_EQ_INT(l.n_metrics, 2);
        CHECK_NEAR(l.losses[0], 0.2, 1e-12);
        CHECK_EQ_INT(l.metric_epochs[1], 2);
        CHECK(l.nan_ok); /* NaN goes in as NULL and comes back as NaN */
        CHECK_EQ_INT(srv_store_job_insert(s, &j, NULL, NULL, &id4, &replayed, &e), SRV_OK);
        CHECK(id4 > id3);
        /* Deleting a job removes its key: the key can be used again. */
        CHECK_EQ_INT(srv_store_job_delete(s, id2, &e), SRV_OK);
        CHECK_EQ_INT(srv_store_job_insert(s, &j, "key-1", h2, &idr, &replayed, &e), SRV_OK);
        CHECK(!replayed);
    }
    srv_store_close(s);
    s = NULL;
    {
        char sp[400];
        snprintf(sp, sizeof sp, "%s/sweeps.db", dir);
        test_sweeps(sp);
        snprintf(sp, sizeof sp, "%s/sweep_keys.db", dir);
        test_sweep_keys(sp);
    }

    /* A directory we cannot write: a clear error naming the path. */
    if (geteuid() != 0) {
        char ro[300];
        snprintf(ro, sizeof ro, "%s/ro", dir);
        mkdir(ro, 0500);
        snprintf(path, sizeof path, "%s/aelab.db", ro);
        CHECK(srv_store_open(path, &s, &e) != SRV_OK);
        CHECK(strstr(e.msg, ro) != NULL);
        srv_store_close(s);
    }
    {
        /* A directory that does not exist. */
        snprintf(path, sizeof path, "%s/missing/aelab.db", dir);
        CHECK_EQ_INT(srv_store_open(path, &s, &e), SRV_ERR_IO);
        CHECK(strstr(e.msg, "missing") != NULL);
    }
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    return check_summary("test_srv_store");
}
