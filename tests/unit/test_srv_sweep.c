/*
 * test_srv_sweep.c - sweeps' pure logic: the spec validator
 * (srv_sweepspec.c, against the engine's real settings table and the real
 * job validator), the samplers (srv_sweep_sample.c) and the early-stopping
 * decisions (srv_sweep_sched.c) on fixed tables of results.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "server/srv_response.h"
#include "server/srv_sweepspec.h"

static const char *known[] = {"mnist", "fashion-mnist"};
static const char *installed[] = {"mnist"};

static const struct srv_jobspec_env env = {
    .known = known, .n_known = 2, .installed = installed, .n_installed = 1,
    .default_dataset = "mnist", .default_threads = 1, .canonical = NULL,
};

static enum srv_status run(const char *text, struct srv_sweepspec *s, json_t **pb,
                           struct ae_err *e)
{
    json_t *body = NULL;
    enum srv_status st = srv_response_parse_json(text, strlen(text), &body, NULL, NULL, e);
    if (st != SRV_OK) return st;
    st = srv_sweepspec_validate(body, &env, s, pb, e);
    json_decref(body);
    return st;
}

/* Does the problem's errors list hold {field, code} with detail containing
 * text (NULL: any)? */
static bool has_error(const json_t *pb, const char *field, const char *code, const char *text)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(pb, "errors"), i, e) {
        const char *f = json_string_value(json_object_get(e, "field"));
        const char *c = json_string_value(json_object_get(e, "code"));
        const char *d = json_string_value(json_object_get(e, "detail"));
        if (f && c && !strcmp(f, field) && !strcmp(c, code) && (!text || (d && strstr(d, text))))
            return true;
    }
    return false;
}

/* ------------------------------------------------------------------------ */
/* Spec validation                                                           */
/* ------------------------------------------------------------------------ */

#define OKJOB "\"job\":{\"model\":\"deep\",\"train_size\":600}"
#define HEAD "\"name\":\"s1\"," OKJOB ","
#define LR "\"parameters\":{\"learning_rate\":{\"min\":0.0001,\"max\":0.01}}"

struct bad_case {
    const char *name;
    const char *body;
    const char *field;
    const char *code;
    const char *text; /* in the detail, or NULL */
};

static const struct bad_case bad_cases[] = {
    {"missing name", "{" OKJOB "," LR ",\"method\":\"random\"}", "name", "missing-field", NULL},
    {"name with a slash", "{\"name\":\"a/b\"," OKJOB "," LR ",\"method\":\"random\"}", "name",
     "invalid-name", "byte 1"},
    {"name ..", "{\"name\":\"..\"," OKJOB "," LR ",\"method\":\"random\"}", "name",
     "invalid-name", "byte 0"},
    {"hidden name", "{\"name\":\".x\"," OKJOB "," LR ",\"method\":\"random\"}", "name",
     "invalid-name", NULL},
    {"name too long",
     "{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"," OKJOB "," LR
     ",\"method\":\"random\"}",
     "name", "invalid-name", "65 bytes"},
    {"missing job", "{\"name\":\"s\"," LR ",\"method\":\"random\"}", "job", "missing-field", NULL},
    {"job unknown model", "{\"name\":\"s\",\"job\":{\"model\":\"big\"}," LR ",\"method\":\"random\"}",
     "job.model", "unknown-model", "unknown model 'big'"},
    {"job bad setting", "{\"name\":\"s\",\"job\":{\"model\":\"deep\",\"epochs\":0}," LR
     ",\"method\":\"random\"}", "job.epochs", "invalid-setting", NULL},
    {"job dataset not installed",
     "{\"name\":\"s\",\"job\":{\"model\":\"deep\",\"dataset\":\"fashion-mnist\"}," LR
     ",\"method\":\"random\"}", "job.dataset", "dataset-not-installed", NULL},
    {"unknown top-level field", "{" HEAD LR ",\"method\":\"random\",\"budget\":3}", "budget",
     "unknown-field", NULL},
    {"unknown setting", "{" HEAD "\"parameters\":{\"momentum\":{\"values\":[0.9]}},"
     "\"method\":\"random\"}", "parameters.momentum", "unknown-field", "not a job setting"},
    {"setting of another model", "{" HEAD "\"parameters\":{\"noise_factor\":{\"values\":[0.1]}},"
     "\"method\":\"random\"}", "parameters.noise_factor", "unknown-field", "model deep"},
    {"range under the setting's", "{" HEAD "\"parameters\":{\"learning_rate\":{\"min\":0,"
     "\"max\":0.1}},\"method\":\"random\"}", "parameters.learning_rate", "invalid-range", "min"},
    {"range over the setting's", "{" HEAD "\"parameters\":{\"batch_size\":{\"min\":1,"
     "\"max\":5000}},\"method\":\"random\"}", "parameters.batch_size", "invalid-range", "max"},
    {"min above max", "{" HEAD "\"parameters\":{\"learning_rate\":{\"min\":0.1,\"max\":0.01}},"
     "\"method\":\"random\"}", "parameters.learning_rate", "invalid-range",
     "min 0.1 is above max 0.01"},
    {"log_uniform from 0", "{\"name\":\"s\",\"job\":{\"model\":\"sparse\"},\"parameters\":{\"l1\":"
     "{\"min\":0,\"max\":0.001,\"distribution\":\"log_uniform\"}},\"method\":\"random\"}",
     "parameters.l1", "invalid-range", "min > 0"},
    {"uniform on an int setting", "{" HEAD "\"parameters\":{\"batch_size\":{\"min\":16,\"max\":64,"
     "\"distribution\":\"uniform\"}},\"method\":\"random\"}",
     "parameters.batch_size.distribution", "invalid-value", "int_uniform"},
    {"int_uniform on a float setting", "{" HEAD "\"parameters\":{\"learning_rate\":{\"min\":0.001,"
     "\"max\":0.1,\"distribution\":\"int_uniform\"}},\"method\":\"random\"}",
     "parameters.learning_rate.distribution", "invalid-value", NULL},
    {"unknown distribution", "{" HEAD "\"parameters\":{\"learning_rate\":{\"min\":0.001,"
     "\"max\":0.1,\"distribution\":\"normal\"}},\"method\":\"random\"}",
     "parameters.learning_rate.distribution", "invalid-value", "normal"},
    {"fractional int value", "{" HEAD "\"parameters\":{\"batch_size\":{\"values\":[64,100.5]}},"
     "\"method\":\"grid\"}", "parameters.batch_size.values[1]", "invalid-value", NULL},
    {"string value", "{" HEAD "\"parameters\":{\"batch_size\":{\"values\":[64,\"big\"]}},"
     "\"method\":\"grid\"}", "parameters.batch_size.values[1]", "wrong-type", NULL},
    {"empty values", "{" HEAD "\"parameters\":{\"batch_size\":{\"values\":[]}},"
     "\"method\":\"grid\"}", "parameters.batch_size", "invalid-value", NULL},
    {"values and a range", "{" HEAD "\"parameters\":{\"batch_size\":{\"values\":[64],\"min\":1,"
     "\"max\":2}},\"method\":\"random\"}", "parameters.batch_size", "conflict", NULL},
    {"only min", "{" HEAD "\"parameters\":{\"learning_rate\":{\"min\":0.001}},"
     "\"method\":\"random\"}", "parameters.learning_rate", "missing-field", NULL},
    {"unknown parameter member", "{" HEAD "\"parameters\":{\"learning_rate\":{\"min\":0.001,"
     "\"max\":0.01,\"step\":2}},\"method\":\"random\"}", "parameters.learning_rate.step",
     "unknown-field", NULL},
    {"no parameters", "{" HEAD "\"parameters\":{},\"method\":\"random\"}", "parameters",
     "invalid-value", NULL},
    {"missing method", "{" HEAD LR "}", "method", "missing-field", NULL},
    {"unknown method", "{" HEAD LR ",\"method\":\"bayes\"}", "method", "invalid-value", "bayes"},
    {"grid over a range", "{" HEAD LR ",\"method\":\"grid\"}", "parameters.learning_rate",
     "invalid-value", "method grid needs"},
    {"grid over max_trials", "{" HEAD "\"parameters\":{\"batch_size\":{\"values\":[32,64,128]},"
     "\"learning_rate\":{\"values\":[0.001,0.01,0.1]}},\"method\":\"grid\",\"max_trials\":8}",
     "max_trials", "too-many-trials", "grid has 9 trials, over max_trials 8"},
    {"max_trials 0", "{" HEAD LR ",\"method\":\"random\",\"max_trials\":0}", "max_trials",
     "invalid-value", NULL},
    {"max_trials over the cap", "{" HEAD LR ",\"method\":\"random\",\"max_trials\":1001}",
     "max_trials", "invalid-value", "1000"},
    {"max_concurrent 0", "{" HEAD LR ",\"method\":\"random\",\"max_concurrent\":0}",
     "max_concurrent", "invalid-value", NULL},
    {"seed negative", "{" HEAD LR ",\"method\":\"random\",\"seed\":-1}", "seed", "invalid-value",
     NULL},
    {"metric other than val_loss", "{" HEAD LR ",\"method\":\"random\",\"metric\":\"loss\"}",
     "metric", "invalid-value", "val_loss"},
    {"keep something else", "{" HEAD LR ",\"method\":\"random\",\"keep\":\"best\"}", "keep",
     "invalid-value", NULL},
    {"early stopping of unknown type", "{" HEAD LR ",\"method\":\"random\",\"early_stopping\":"
     "{\"type\":\"hyperband\"}}", "early_stopping.type", "invalid-value", NULL},
    {"early stopping without type", "{" HEAD LR ",\"method\":\"random\",\"early_stopping\":"
     "{\"min_epochs\":1}}", "early_stopping.type", "missing-field", NULL},
    {"asha reduction factor 1", "{" HEAD LR ",\"method\":\"random\",\"early_stopping\":"
     "{\"type\":\"asha\",\"reduction_factor\":1}}", "early_stopping.reduction_factor",
     "invalid-value", NULL},
    {"asha min above max", "{" HEAD LR ",\"method\":\"random\",\"early_stopping\":"
     "{\"type\":\"asha\",\"min_epochs\":9,\"max_epochs\":3}}", "early_stopping.min_epochs",
     "invalid-range", NULL},
    {"asha with a median member", "{" HEAD LR ",\"method\":\"random\",\"early_stopping\":"
     "{\"type\":\"asha\",\"grace_epochs\":2}}", "early_stopping.grace_epochs", "unknown-field",
     NULL},
    {"max_epochs against job.epochs", "{\"name\":\"s\",\"job\":{\"model\":\"deep\",\"epochs\":5},"
     LR ",\"method\":\"random\",\"early_stopping\":{\"type\":\"asha\",\"max_epochs\":9}}",
     "early_stopping.max_epochs", "conflict", "differ"},
    {"epochs swept with asha", "{" HEAD "\"parameters\":{\"epochs\":{\"values\":[3,9]}},"
     "\"method\":\"grid\",\"early_stopping\":{\"type\":\"asha\",\"max_epochs\":9}}",
     "parameters.epochs", "conflict", NULL},
    {"median grace above max", "{" HEAD LR ",\"method\":\"random\",\"early_stopping\":"
     "{\"type\":\"median\",\"grace_epochs\":10,\"max_epochs\":5}}", "early_stopping.grace_epochs",
     "invalid-range", NULL},
    {"median min_trials 0", "{" HEAD LR ",\"method\":\"random\",\"early_stopping\":"
     "{\"type\":\"median\",\"min_trials\":0}}", "early_stopping.min_trials", "invalid-value", NULL},
};

static void test_bad_specs(void)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        struct srv_sweepspec s;
        struct ae_err e = {0};
        json_t *pb = NULL;
        enum srv_status st = run(c->body, &s, &pb, &e);
        CHECK_MSG(st == SRV_ERR_ARG, "case '%s': status %d", c->name, (int)st);
        CHECK_MSG(pb && has_error(pb, c->field, c->code, c->text),
                  "case '%s': no error {%s, %s%s%s}; got %s", c->name, c->field, c->code,
                  c->text ? ", " : "", c->text ? c->text : "", e.msg);
        CHECK_MSG(s.job == NULL, "case '%s': a failed validation holds no job", c->name);
        json_decref(pb);
    }

    /* Not an object; the problem's top-level members. */
    {
        struct srv_sweepspec s;
        struct ae_err e = {0};
        json_t *pb = NULL;
        CHECK_EQ_INT(run("[1]", &s, &pb, &e), SRV_ERR_ARG);
        CHECK_EQ_STR(json_string_value(json_object_get(pb, "code")), "not-an-object");
        json_decref(pb);
        CHECK_EQ_INT(run("{" HEAD LR ",\"method\":\"sobol\"}", &s, &pb, &e), SRV_ERR_ARG);
        CHECK_EQ_STR(json_string_value(json_object_get(pb, "code")), "invalid-value");
        CHECK_EQ_STR(json_string_value(json_object_get(pb, "field")), "method");
        CHECK_EQ_INT(json_array_size(json_object_get(pb, "valid")), 2);
        json_decref(pb);
    }

    /* Every problem is collected, one entry each, and err->msg joins them. */
    {
        struct srv_sweepspec s;
        struct ae_err e = {0};
        json_t *pb = NULL;
        CHECK_EQ_INT(run("{\"name\":\"a b\",\"job\":{\"model\":\"deep\",\"epochs\":0},"
                         "\"parameters\":{\"momentum\":{\"values\":[1]},"
                         "\"learning_rate\":{\"min\":0.1,\"max\":0.01}},"
                         "\"method\":\"random\",\"max_concurrent\":0,\"metric\":\"acc\"}",
                         &s, &pb, &e),
                     SRV_ERR_ARG);
        CHECK_EQ_INT(json_array_size(json_object_get(pb, "errors")), 6);
        CHECK(has_error(pb, "name", "invalid-name", NULL));
        CHECK(has_error(pb, "job.epochs", "invalid-setting", NULL));
        CHECK(has_error(pb, "parameters.momentum", "unknown-field", NULL));
        CHECK(has_error(pb, "parameters.learning_rate", "invalid-range", NULL));
        CHECK(has_error(pb, "max_concurrent", "invalid-value", NULL));
        CHECK(has_error(pb, "metric", "invalid-value", NULL));
        CHECK_EQ_STR(json_string_value(json_object_get(pb, "field")), "name");
        CHECK(strstr(e.msg, "; ") != NULL);
        json_decref(pb);
    }
}

/* The example is valid and gives what the header promises. */
static void test_good_spec(void)
{
    struct srv_sweepspec s;
    struct ae_err e = {0};
    json_t *pb = NULL, *job, *v;

    CHECK_EQ_INT(run("{\"name\": \"lr-search\","
                     " \"job\": {\"model\": \"deep\", \"dataset\": \"mnist\", \"train_size\": 6000},"
                     " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform\","
                     " \"min\": 0.0001, \"max\": 0.01}, \"batch_size\": {\"values\": [64, 128, 256]}},"
                     " \"method\": \"random\", \"max_trials\": 27, \"max_concurrent\": 2, \"seed\": 1,"
                     " \"metric\": \"val_loss\", \"early_stopping\": {\"type\": \"asha\","
                     " \"min_epochs\": 1, \"max_epochs\": 27, \"reduction_factor\": 3}}",
                     &s, &pb, &e),
                 SRV_OK);
    CHECK_MSG(pb == NULL, "%s", e.msg);
    CHECK_EQ_STR(s.name, "lr-search");
    CHECK_EQ_STR(s.base.model, "deep");
    CHECK_EQ_INT(s.base.cfg.train_size, 6000);
    CHECK_EQ_INT(s.n_params, 2);
    CHECK_EQ_STR(s.params[0].name, "learning_rate");
    CHECK_EQ_INT(s.params[0].dist, SRV_SWEEP_LOG_UNIFORM);
    CHECK_EQ_STR(s.params[1].name, "batch_size");
    CHECK_EQ_INT(s.params[1].n_values, 3);
    CHECK_EQ_INT(s.method, SRV_SWEEP_RANDOM);
    CHECK_EQ_INT(s.n_trials, 27);
    CHECK_EQ_INT(s.max_concurrent, 2);
    CHECK_EQ_INT(s.seed, 1);
    CHECK_EQ_INT(s.stopping, SRV_SWEEP_STOP_ASHA);
    CHECK_EQ_INT(s.asha.min_epochs, 1);
    CHECK_EQ_INT(s.asha.max_epochs, 27);
    CHECK_EQ_INT(s.asha.reduction_factor, 3);
    CHECK_EQ_INT(s.trial_epochs, 27);
    CHECK(!s.keep_all);

    /* A trial's job is a valid job with the trial's values. */
    job = srv_sweepspec_trial_job(&s, 4);
    CHECK(job != NULL);
    CHECK_EQ_INT(json_integer_value(json_object_get(job, "epochs")), 27);
    CHECK_EQ_STR(json_string_value(json_object_get(job, "name")), "lr-search-4");
    CHECK_EQ_INT(json_integer_value(json_object_get(job, "train_size")), 6000);
    v = json_object_get(job, "batch_size");
    CHECK(json_is_integer(v));
    CHECK(json_integer_value(v) == 64 || json_integer_value(v) == 128 ||
          json_integer_value(v) == 256);
    v = json_object_get(job, "learning_rate");
    CHECK(json_is_real(v) && json_real_value(v) >= 0.0001 && json_real_value(v) < 0.01);
    {
        struct srv_jobspec js;
        CHECK_EQ_INT(srv_jobspec_validate(job, &env, &js, NULL, &e), SRV_OK);
        CHECK_EQ_INT(js.cfg.epochs, 27);
    }
    json_decref(job);
    CHECK(srv_sweepspec_trial_job(&s, 27) == NULL);
    CHECK(srv_sweepspec_trial_job(&s, -1) == NULL);
    srv_sweepspec_fini(&s);
    srv_sweepspec_fini(&s); /* twice is harmless */

    /* Defaults: ints default to int_uniform, max_trials 10 for random, no
     * early stopping: trials train the job's epochs, which may be swept. */
    CHECK_EQ_INT(run("{\"name\":\"d\",\"job\":{\"model\":\"conv\",\"epochs\":4},"
                     "\"parameters\":{\"batch_size\":{\"min\":16,\"max\":64},"
                     "\"epochs\":{\"values\":[1,2]}},\"method\":\"random\",\"keep\":\"all\"}",
                     &s, &pb, &e),
                 SRV_OK);
    CHECK_EQ_INT(s.params[0].dist, SRV_SWEEP_INT_UNIFORM);
    CHECK_EQ_INT(s.n_trials, SRV_SWEEP_DEFAULT_RANDOM_TRIALS);
    CHECK_EQ_INT(s.max_concurrent, SRV_SWEEP_DEFAULT_CONCURRENT);
    CHECK_EQ_INT(s.stopping, SRV_SWEEP_STOP_NONE);
    CHECK_EQ_INT(s.trial_epochs, 4);
    CHECK(s.keep_all);
    job = srv_sweepspec_trial_job(&s, 0);
    v = json_object_get(job, "epochs");
    CHECK(json_integer_value(v) == 1 || json_integer_value(v) == 2); /* the swept value wins */
    json_decref(job);
    srv_sweepspec_fini(&s);

    /* ASHA's max_epochs defaults to the job's epochs; equal values are fine. */
    CHECK_EQ_INT(run("{\"name\":\"a\",\"job\":{\"model\":\"deep\",\"epochs\":9}," LR
                     ",\"method\":\"random\",\"early_stopping\":{\"type\":\"asha\"}}",
                     &s, &pb, &e),
                 SRV_OK);
    CHECK_EQ_INT(s.asha.max_epochs, 9);
    CHECK_EQ_INT(s.asha.reduction_factor, 3);
    CHECK_EQ_INT(s.trial_epochs, 9);
    srv_sweepspec_fini(&s);
    CHECK_EQ_INT(run("{\"name\":\"a\",\"job\":{\"model\":\"deep\",\"epochs\":9}," LR
                     ",\"method\":\"random\",\"early_stopping\":{\"type\":\"median\","
                     "\"max_epochs\":9}}",
                     &s, &pb, &e),
                 SRV_OK);
    CHECK_EQ_INT(s.median.grace_epochs, 1);
    CHECK_EQ_INT(s.median.min_trials, 3);
    srv_sweepspec_fini(&s);
    /* A grid exactly at max_trials is fine. */
    CHECK_EQ_INT(run("{" HEAD "\"parameters\":{\"batch_size\":{\"values\":[32,64,128]},"
                     "\"learning_rate\":{\"values\":[0.001,0.01,0.1]}},\"method\":\"grid\","
                     "\"max_trials\":9}",
                     &s, &pb, &e),
                 SRV_OK);
    CHECK_EQ_INT(s.n_trials, 9);
    srv_sweepspec_fini(&s);
}

/* ------------------------------------------------------------------------ */
/* Samplers                                                                  */
/* ------------------------------------------------------------------------ */

static struct srv_sweep_param param_values(const char *name, enum ae_setting_type type,
                                           const double *v, size_t n)
{
    struct srv_sweep_param p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "%s", name);
    p.type = type;
    p.dist = SRV_SWEEP_VALUES;
    p.n_values = n;
    memcpy(p.values, v, n * sizeof *v);
    return p;
}

static struct srv_sweep_param param_range(const char *name, enum ae_setting_type type,
                                          enum srv_sweep_dist d, double lo, double hi)
{
    struct srv_sweep_param p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "%s", name);
    p.type = type;
    p.dist = d;
    p.min = lo;
    p.max = hi;
    return p;
}

static void test_grid(void)
{
    const double a[] = {64, 128}, b[] = {0.1, 0.01, 0.001}, c[] = {7};
    struct srv_sweep_param ps[3] = {
        param_values("batch_size", AE_SETTING_INT, a, 2),
        param_values("learning_rate", AE_SETTING_FLOAT, b, 3),
        param_values("seed", AE_SETTING_INT, c, 1),
    };
    double out[3];
    int64_t n;
    struct ae_err e = {0};

    CHECK_EQ_INT(srv_sweep_grid_size(ps, 3, 1000, &n, &e), SRV_OK);
    CHECK_EQ_INT(n, 6);
    CHECK_EQ_INT(srv_sweep_grid_size(ps, 3, 5, &n, &e), SRV_ERR_ARG);
    CHECK_EQ_INT(n, 6); /* limit + 1: "over" */
    /* Request order, the last parameter fastest. */
    for (int i = 0; i < 6; i++) {
        CHECK_EQ_INT(srv_sweep_grid_point(ps, 3, i, out, &e), SRV_OK);
        CHECK_NEAR(out[0], a[i / 3], 0);
        CHECK_NEAR(out[1], b[i % 3], 0);
        CHECK_NEAR(out[2], 7, 0);
    }
    CHECK_EQ_INT(srv_sweep_grid_point(ps, 3, 6, out, &e), SRV_ERR_ARG);
    CHECK_EQ_INT(srv_sweep_grid_point(ps, 3, -1, out, &e), SRV_ERR_ARG);

    /* The same order through a validated spec. */
    {
        struct srv_sweepspec s;
        json_t *pb = NULL, *t;
        CHECK_EQ_INT(run("{" HEAD "\"parameters\":{\"batch_size\":{\"values\":[64,128]},"
                         "\"learning_rate\":{\"values\":[0.1,0.01,0.001]}},\"method\":\"grid\"}",
                         &s, &pb, &e),
                     SRV_OK);
        CHECK_EQ_INT(s.n_trials, 6);
        t = srv_sweepspec_trial_values(&s, 1);
        CHECK_EQ_INT(json_integer_value(json_object_get(t, "batch_size")), 64);
        CHECK_NEAR(json_real_value(json_object_get(t, "learning_rate")), 0.01, 0);
        json_decref(t);
        t = srv_sweepspec_trial_values(&s, 3);
        CHECK_EQ_INT(json_integer_value(json_object_get(t, "batch_size")), 128);
        CHECK_NEAR(json_real_value(json_object_get(t, "learning_rate")), 0.1, 0);
        json_decref(t);
        srv_sweepspec_fini(&s);
    }
}

static void test_random(void)
{
    const double bs[] = {32, 64, 128, 256};
    struct srv_sweep_param ps[2] = {
        param_range("learning_rate", AE_SETTING_FLOAT, SRV_SWEEP_LOG_UNIFORM, 1e-4, 1e-2),
        param_values("batch_size", AE_SETTING_INT, bs, 4),
    };
    struct srv_sweep_param swapped[2] = {ps[1], ps[0]};
    double x[2], y[2];
    int differ = 0, same = 0, below = 0, hits[4] = {0};
    const int N = 10000;

    /* Same seed, same draws (in any order); another seed, other draws. */
    for (int i = 0; i < 100; i++) {
        srv_sweep_random_point(ps, 2, 42, (uint64_t)i, x);
        srv_sweep_random_point(ps, 2, 42, (uint64_t)i, y);
        same += x[0] == y[0] && x[1] == y[1];
        srv_sweep_random_point(swapped, 2, 42, (uint64_t)i, y);
        same += x[0] == y[1] && x[1] == y[0]; /* by name, not by position */
        srv_sweep_random_point(ps, 2, 43, (uint64_t)i, y);
        differ += x[0] != y[0];
    }
    CHECK_EQ_INT(same, 200);
    CHECK_EQ_INT(differ, 100);
    /* Trial i does not depend on the trials before it. */
    srv_sweep_random_point(ps, 2, 42, 57, x);
    for (int i = 0; i < 57; i++) srv_sweep_random_point(ps, 2, 7, (uint64_t)i, y);
    srv_sweep_random_point(ps, 2, 42, 57, y);
    CHECK(x[0] == y[0] && x[1] == y[1]);
    /* Trials draw different values. */
    srv_sweep_random_point(ps, 2, 42, 1, y);
    CHECK(x[0] != y[0]);
    /* The streams differ by counter and by parameter name. */
    CHECK(srv_sweep_rand_u64(1, 0, "learning_rate", 0) != srv_sweep_rand_u64(1, 0, "learning_rate", 1));
    CHECK(srv_sweep_rand_u64(1, 0, "learning_rate", 0) != srv_sweep_rand_u64(1, 0, "batch_size", 0));

    /* log_uniform: inside [min, max), and half the draws below the
     * geometric midpoint 1e-3 (a plain uniform would put ~9% there).  The
     * standard deviation of the fraction is 0.005; the tolerance is 6 of it. */
    for (int i = 0; i < N; i++) {
        srv_sweep_random_point(ps, 2, 1, (uint64_t)i, x);
        CHECK_MSG(x[0] >= 1e-4 && x[0] < 1e-2, "log_uniform draw %g outside [1e-4, 1e-2)", x[0]);
        below += x[0] < 1e-3;
        for (int k = 0; k < 4; k++) hits[k] += x[1] == bs[k];
    }
    CHECK_NEAR((double)below / N, 0.5, 0.03);
    /* values: each of the 4 about N/4 (sd ~43; tolerance ~6 sd). */
    for (int k = 0; k < 4; k++) CHECK_NEAR(hits[k], N / 4, 260);

    /* uniform: inside [min, max), half below the arithmetic midpoint. */
    {
        struct srv_sweep_param u =
            param_range("noise_factor", AE_SETTING_FLOAT, SRV_SWEEP_UNIFORM, 0.5, 1.5);
        below = 0;
        for (int i = 0; i < N; i++) {
            srv_sweep_random_point(&u, 1, 9, (uint64_t)i, x);
            CHECK_MSG(x[0] >= 0.5 && x[0] < 1.5, "uniform draw %g", x[0]);
            below += x[0] < 1.0;
        }
        CHECK_NEAR((double)below / N, 0.5, 0.03);
    }

    /* int_uniform: both ends included, every value hit about equally, and
     * only whole numbers. */
    {
        struct srv_sweep_param q =
            param_range("batch_size", AE_SETTING_INT, SRV_SWEEP_INT_UNIFORM, 3, 7);
        int count[5] = {0}, outside = 0;
        json_t *o;
        for (int i = 0; i < N; i++) {
            srv_sweep_random_point(&q, 1, 5, (uint64_t)i, x);
            if (x[0] < 3 || x[0] > 7 || x[0] != floor(x[0])) outside++;
            else count[(int)x[0] - 3]++;
        }
        CHECK_EQ_INT(outside, 0);
        for (int k = 0; k < 5; k++) CHECK_NEAR(count[k], N / 5, 240); /* sd 40 */
        /* min == max */
        q.min = q.max = 9;
        srv_sweep_random_point(&q, 1, 5, 0, x);
        CHECK_NEAR(x[0], 9, 0);
        /* JSON: ints as integers, floats as reals */
        x[0] = 5;
        x[1] = 0.25;
        {
            struct srv_sweep_param two[2] = {
                param_range("batch_size", AE_SETTING_INT, SRV_SWEEP_INT_UNIFORM, 3, 7),
                param_range("learning_rate", AE_SETTING_FLOAT, SRV_SWEEP_UNIFORM, 0.1, 0.5),
            };
            o = srv_sweep_point_json(two, 2, x);
        }
        CHECK(json_is_integer(json_object_get(o, "batch_size")));
        CHECK_EQ_INT(json_integer_value(json_object_get(o, "batch_size")), 5);
        CHECK(json_is_real(json_object_get(o, "learning_rate")));
        json_decref(o);
    }

    /* A wide int range (no modulo bias to see, but the ends are still
     * reachable and nothing escapes). */
    {
        struct srv_sweep_param q =
            param_range("seed", AE_SETTING_INT, SRV_SWEEP_INT_UNIFORM, 0, 1);
        int ones = 0;
        for (int i = 0; i < N; i++) {
            srv_sweep_random_point(&q, 1, 11, (uint64_t)i, x);
            ones += x[0] == 1;
        }
        CHECK_NEAR((double)ones / N, 0.5, 0.03);
    }
}

/* ------------------------------------------------------------------------ */
/* ASHA                                                                      */
/* ------------------------------------------------------------------------ */

static enum srv_sweep_decision asha(const struct srv_sweep_asha *a,
                                    const struct srv_sweep_result *rows, size_t n, int32_t trial,
                                    int32_t epoch, double v)
{
    enum srv_sweep_decision d = SRV_SWEEP_CONTINUE;
    struct ae_err e = {0};
    CHECK_EQ_INT(srv_sweep_asha_decide(a, rows, n, trial, epoch, v, &d, &e), SRV_OK);
    return d;
}

static void test_asha(void)
{
    const struct srv_sweep_asha a = {1, 27, 3};
    int32_t r[8];
    enum { C = SRV_SWEEP_CONTINUE, S = SRV_SWEEP_STOP };

    /* Rungs: min * rf^k below max_epochs. */
    CHECK_EQ_INT(srv_sweep_asha_rungs(&a, r, 8), 3);
    CHECK(r[0] == 1 && r[1] == 3 && r[2] == 9);
    {
        const struct srv_sweep_asha b = {2, 20, 2};
        CHECK_EQ_INT(srv_sweep_asha_rungs(&b, r, 8), 4);
        CHECK(r[0] == 2 && r[1] == 4 && r[2] == 8 && r[3] == 16);
        const struct srv_sweep_asha one = {5, 5, 3};
        CHECK_EQ_INT(srv_sweep_asha_rungs(&one, r, 8), 0);
        const struct srv_sweep_asha bad = {1, 27, 1};
        CHECK_EQ_INT(srv_sweep_asha_rungs(&bad, r, 8), 0);
    }
    CHECK(srv_sweep_asha_is_rung(&a, 9));
    CHECK(!srv_sweep_asha_is_rung(&a, 27));
    CHECK(!srv_sweep_asha_is_rung(&a, 2));

    /* The first arrival continues, however bad. */
    CHECK_EQ_INT(asha(&a, NULL, 0, 0, 1, 99.0), C);
    /* Not a rung: continue. */
    {
        const struct srv_sweep_result t[] = {{0, 2, 0.1}, {1, 2, 0.2}};
        CHECK_EQ_INT(asha(&a, t, 2, 2, 2, 5.0), C);
    }
    /* n = 3: only the best of three goes on. */
    {
        const struct srv_sweep_result t[] = {{0, 1, 0.5}, {1, 1, 0.6}};
        CHECK_EQ_INT(asha(&a, t, 2, 2, 1, 0.4), C);
        CHECK_EQ_INT(asha(&a, t, 2, 2, 1, 0.55), S);
        CHECK_EQ_INT(asha(&a, t, 2, 2, 1, 0.7), S);
        /* n = 2: with rf 3 one ahead is already a third or more. */
        CHECK_EQ_INT(asha(&a, t, 1, 2, 1, 0.6), S);
        CHECK_EQ_INT(asha(&a, t, 1, 2, 1, 0.4), C);
    }
    /* n = 4: the top ceil(4/3) = 2 go on. */
    {
        const struct srv_sweep_result t[] = {{0, 1, 0.5}, {1, 1, 0.6}, {2, 1, 0.7}};
        CHECK_EQ_INT(asha(&a, t, 3, 3, 1, 0.55), C);
        CHECK_EQ_INT(asha(&a, t, 3, 3, 1, 0.65), S);
    }
    /* Ties never stop: equal values are not ahead. */
    {
        const struct srv_sweep_result t[] = {{0, 1, 0.5}, {1, 1, 0.5}};
        CHECK_EQ_INT(asha(&a, t, 2, 2, 1, 0.5), C);
        const struct srv_sweep_result u[] = {{0, 1, 0.4}, {1, 1, 0.5}, {2, 1, 0.5}};
        CHECK_EQ_INT(asha(&a, u, 3, 3, 1, 0.5), C); /* one ahead of four */
        const struct srv_sweep_result w[] = {{0, 1, 0.4}, {1, 1, 0.4}, {2, 1, 0.5}};
        CHECK_EQ_INT(asha(&a, w, 3, 3, 1, 0.5), S); /* two ahead of four */
    }
    /* A late arrival at rung 1 is judged against every trial that reached
     * rung 1, also those already promoted; their later rungs do not count. */
    {
        const struct srv_sweep_result t[] = {
            {0, 1, 0.1}, {1, 1, 0.2}, {2, 1, 0.3}, {3, 1, 0.7}, {4, 1, 0.8}, {5, 1, 0.9},
            {0, 2, 0.08}, {0, 3, 0.05}, {1, 2, 0.15}, {1, 3, 0.06}, {2, 3, 0.04},
        };
        CHECK_EQ_INT(asha(&a, t, 11, 6, 1, 0.25), C); /* 2 ahead of 7: 6 < 7 */
        CHECK_EQ_INT(asha(&a, t, 11, 6, 1, 0.35), S); /* 3 ahead of 7 */
        /* and at rung 3, only rung-3 rows count: 0.045 has one ahead of 4 */
        CHECK_EQ_INT(asha(&a, t, 11, 6, 3, 0.045), C);
        CHECK_EQ_INT(asha(&a, t, 11, 6, 3, 0.055), S);
        /* the rows' order does not matter */
        struct srv_sweep_result rev[11];
        for (int i = 0; i < 11; i++) rev[i] = t[10 - i];
        CHECK_EQ_INT(asha(&a, rev, 11, 6, 1, 0.25), C);
        CHECK_EQ_INT(asha(&a, rev, 11, 6, 1, 0.35), S);
    }
    /* A failed trial: one that failed before rung 1 has no row and does not
     * count; a failed run's non-finite value is ignored.  With rf 2: one of
     * two ahead stops, one of three ahead would continue. */
    {
        const struct srv_sweep_asha a2 = {1, 8, 2};
        const struct srv_sweep_result t[] = {{0, 1, 0.5}, {7, 1, NAN}};
        CHECK_EQ_INT(asha(&a2, t, 2, 1, 1, 0.6), S);
        const struct srv_sweep_result ok[] = {{0, 1, 0.5}, {7, 1, 0.9}};
        CHECK_EQ_INT(asha(&a2, ok, 2, 1, 1, 0.6), C); /* if 7 had finished, it counts */
        /* a trial that reached rung 1 and failed later still counts there */
        const struct srv_sweep_result f[] = {{0, 1, 0.5}, {3, 1, 0.9}, {3, 2, 0.8}};
        CHECK_EQ_INT(asha(&a2, f, 3, 1, 1, 0.6), C);
        /* the arriving trial's own non-finite loss stops it */
        CHECK_EQ_INT(asha(&a2, NULL, 0, 1, 1, NAN), S);
    }
    /* The deciding trial's own row and duplicate rows. */
    {
        const struct srv_sweep_result t[] = {{0, 1, 0.5}, {1, 1, 0.6}, {2, 1, 0.55}};
        CHECK_EQ_INT(asha(&a, t, 3, 2, 1, 0.55), S); /* same as without its row */
        const struct srv_sweep_result d[] = {{0, 1, 0.9}, {0, 1, 0.2}, {1, 1, 0.6}};
        CHECK_EQ_INT(asha(&a, d, 3, 2, 1, 0.55), S); /* trial 0 once, at 0.2 */
        CHECK_EQ_INT(asha(&a, d, 3, 2, 1, 0.1), C);
    }
    /* Bad parameters are an error, not a decision. */
    {
        const struct srv_sweep_asha bad = {0, 27, 3};
        enum srv_sweep_decision d;
        CHECK_EQ_INT(srv_sweep_asha_decide(&bad, NULL, 0, 0, 1, 0.1, &d, NULL), SRV_ERR_ARG);
    }
}

/* A whole sweep, replayed: trials arrive at the rungs in a fixed order with
 * fixed losses; the decisions must be the same every time, and include
 * both answers. */
static int replay(const struct srv_sweep_asha *a, enum srv_sweep_decision *dec, int n_trials)
{
    struct srv_sweep_result rows[64 * 4];
    size_t n = 0;
    int n_dec = 0;
    int32_t rungs[8];
    size_t n_rungs = srv_sweep_asha_rungs(a, rungs, 8);
    bool alive[64];

    for (int i = 0; i < n_trials; i++) alive[i] = true;
    for (size_t k = 0; k < n_rungs; k++)
        for (int i = 0; i < n_trials; i++) {
            double loss;
            if (!alive[i]) continue;
            if (i % 7 == 3) { /* fails before reaching any rung */
                alive[i] = false;
                continue;
            }
            loss = 0.5 / (double)(k + 1) + 0.01 * (double)((i * 37) % 11);
            dec[n_dec] = asha(a, rows, n, i, rungs[k], loss);
            rows[n++] = (struct srv_sweep_result){i, rungs[k], loss};
            if (dec[n_dec] == SRV_SWEEP_STOP) alive[i] = false;
            n_dec++;
        }
    return n_dec;
}

static void test_asha_replay(void)
{
    const struct srv_sweep_asha a = {1, 27, 3};
    enum srv_sweep_decision d1[256], d2[256];
    int n1 = replay(&a, d1, 27), n2 = replay(&a, d2, 27), stops = 0, conts = 0;
    CHECK_EQ_INT(n1, n2);
    for (int i = 0; i < n1 && i < n2; i++) {
        CHECK_EQ_INT(d1[i], d2[i]);
        stops += d1[i] == SRV_SWEEP_STOP;
        conts += d1[i] == SRV_SWEEP_CONTINUE;
    }
    CHECK(stops > 0 && conts > 0);
}

/* ------------------------------------------------------------------------ */
/* Median                                                                    */
/* ------------------------------------------------------------------------ */

static enum srv_sweep_decision med(const struct srv_sweep_median *m,
                                   const struct srv_sweep_result *rows, size_t n, int32_t trial,
                                   int32_t epoch, double v)
{
    enum srv_sweep_decision d = SRV_SWEEP_CONTINUE;
    struct ae_err e = {0};
    CHECK_EQ_INT(srv_sweep_median_decide(m, rows, n, trial, epoch, v, &d, &e), SRV_OK);
    return d;
}

static void test_median(void)
{
    const struct srv_sweep_median m = {2, 3};
    enum { C = SRV_SWEEP_CONTINUE, S = SRV_SWEEP_STOP };
    const struct srv_sweep_result t[] = {
        {0, 1, 0.1}, {1, 1, 0.2}, {2, 1, 0.3},
        {0, 2, 0.1}, {1, 2, 0.2}, {2, 2, 0.3},
        {0, 3, 0.01}, {1, 3, 0.02}, {2, 3, 0.03}, {5, 3, 0.04},
    };

    /* Before grace_epochs: no decision. */
    CHECK_EQ_INT(med(&m, t, 10, 9, 1, 5.0), C);
    /* Median of three others at epoch 2 is 0.2: worse stops, a tie goes on. */
    CHECK_EQ_INT(med(&m, t, 10, 9, 2, 0.25), S);
    CHECK_EQ_INT(med(&m, t, 10, 9, 2, 0.2), C);
    CHECK_EQ_INT(med(&m, t, 10, 9, 2, 0.15), C);
    /* Even count at epoch 3: median (0.02 + 0.03) / 2 = 0.025. */
    CHECK_EQ_INT(med(&m, t, 10, 9, 3, 0.026), S);
    CHECK_EQ_INT(med(&m, t, 10, 9, 3, 0.024), C);
    /* The value at the epoch counts, not the best so far: the trial's own
     * earlier rows (ignored) cannot save a rising loss. */
    {
        struct srv_sweep_result u[12];
        memcpy(u, t, sizeof t);
        u[10] = (struct srv_sweep_result){9, 1, 0.001};
        u[11] = (struct srv_sweep_result){9, 2, 0.001};
        CHECK_EQ_INT(med(&m, u, 12, 9, 3, 0.05), S);
    }
    /* Too few others at the epoch: a trial that failed after epoch 1 has
     * no epoch-2 row and does not count. */
    {
        const struct srv_sweep_result f[] = {{0, 1, 0.1}, {1, 1, 0.2}, {2, 1, 0.3},
                                             {0, 2, 0.1}, {1, 2, 0.2}};
        CHECK_EQ_INT(med(&m, f, 5, 9, 2, 9.0), C);
        /* the same trial deciding with its own row in the table: still 2 others */
        const struct srv_sweep_result g[] = {{0, 2, 0.1}, {1, 2, 0.2}, {9, 2, 9.0}};
        CHECK_EQ_INT(med(&m, g, 3, 9, 2, 9.0), C);
        /* non-finite rows are not counted */
        const struct srv_sweep_result h[] = {{0, 2, 0.1}, {1, 2, 0.2}, {4, 2, INFINITY}};
        CHECK_EQ_INT(med(&m, h, 3, 9, 2, 9.0), C);
        const struct srv_sweep_result k[] = {{0, 2, 0.1}, {1, 2, 0.2}, {4, 2, 0.15}};
        CHECK_EQ_INT(med(&m, k, 3, 9, 2, 9.0), S);
    }
    /* A non-finite loss stops once the rule applies. */
    CHECK_EQ_INT(med(&m, t, 10, 9, 2, NAN), S);
    /* Bad parameters. */
    {
        const struct srv_sweep_median bad = {0, 3};
        enum srv_sweep_decision d;
        CHECK_EQ_INT(srv_sweep_median_decide(&bad, t, 10, 9, 2, 0.1, &d, NULL), SRV_ERR_ARG);
    }
}

int main(void)
{
    test_bad_specs();
    test_good_spec();
    test_grid();
    test_random();
    test_asha();
    test_asha_replay();
    test_median();
    CHECK_EQ_STR(srv_sweep_decision_name(SRV_SWEEP_STOP), "stop");
    CHECK_EQ_STR(srv_sweep_dist_name(SRV_SWEEP_LOG_UNIFORM), "log_uniform");
    return check_summary("test_srv_sweep");
}
