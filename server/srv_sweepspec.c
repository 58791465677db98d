/*
 * srv_sweepspec.c - sweep validation (see srv_sweepspec.h for the rules).
 *
 * Owns what a sweep body may contain and the wording of its errors; it does
 * not create trials, store sweeps or decide early stopping.  Design: like
 * srv_jobspec.c, collect every problem into one RFC 9457 "errors" list
 * (srv_jobspec.h's struct srv_jobspec_problems);
 * the job is checked by srv_jobspec_validate itself and the values of the
 * parameters by the engine's ae_config_set, so the range messages are the
 * ones a bad job gets.
 */
#include "srv_sweepspec.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Helpers (the problems list itself is srv_jobspec.h's)                     */
/* ------------------------------------------------------------------------ */

static json_t *strings(const char *const *s, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) json_array_append_new(a, json_string(s[i]));
    return a;
}

static bool present(const json_t *v)
{
    return v && !json_is_null(v);
}

/* An optional whole number in [lo, hi] at obj[key]; *out keeps its default
 * when absent or null.  Returns false (and records why) when bad. */
static bool get_int(const json_t *obj, const char *key, const char *field, double lo, double hi,
                    int64_t *out, struct srv_jobspec_problems *p)
{
    const json_t *v = json_object_get(obj, key);
    double d;
    if (!present(v)) return true;
    if (!json_is_number(v)) {
        srv_jobspec_problem_add(p, field, "wrong-type", NULL,
                        "'%s' must be a whole number from %.0f to %.0f (got %s)", field, lo, hi,
                        srv_jobspec_type_name(v));
        return false;
    }
    d = json_number_value(v);
    if (d != floor(d) || d < lo || d > hi) {
        srv_jobspec_problem_add(p, field, "invalid-value", NULL,
                        "'%s' must be a whole number from %.0f to %.0f (got %g)", field, lo, hi, d);
        return false;
    }
    *out = (int64_t)d;
    return true;
}

/* An optional string at obj[key] that must be one of valid[n]; returns its
 * index, def when absent or null, -1 (recorded) when bad. */
static int get_choice(const json_t *obj, const char *key, const char *field,
                      const char *const *valid, size_t n, int def, struct srv_jobspec_problems *p)
{
    const json_t *v = json_object_get(obj, key);
    char list[200];
    size_t o = 0;

    if (!present(v)) return def;
    list[0] = '\0';
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(list + o, o < sizeof list ? sizeof list - o : 0, "%s%s",
                              i ? ", " : "", valid[i]);
    if (!json_is_string(v)) {
        srv_jobspec_problem_add(p, field, "wrong-type", strings(valid, n),
                        "'%s' must be a string, one of %s (got %s)", field, list,
                        srv_jobspec_type_name(v));
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(json_string_value(v), valid[i]) == 0) return (int)i;
    srv_jobspec_problem_add(p, field, "invalid-value", strings(valid, n),
                            "'%s' must be one of %s (got "
                    "'%.40s')", field, list, json_string_value(v));
    return -1;
}

/* Every member of obj must be in allowed[n]. */
static void check_members(const json_t *obj, const char *prefix, const char *const *allowed,
                          size_t n, struct srv_jobspec_problems *p)
{
    const char *key;
    json_t *v;
    char field[96], list[300];
    size_t o = 0;

    list[0] = '\0';
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(list + o, o < sizeof list ? sizeof list - o : 0, "%s%s",
                              i ? ", " : "", allowed[i]);
    json_object_foreach((json_t *)obj, key, v) {
        bool ok = false;
        for (size_t i = 0; i < n && !ok; i++) ok = strcmp(key, allowed[i]) == 0;
        if (ok) continue;
        snprintf(field, sizeof field, "%s%.40s", prefix, key);
        srv_jobspec_problem_add(p, field, "unknown-field", strings(allowed, n),
                        "unknown field '%s'; valid fields are: %s", field, list);
    }
}

/* ------------------------------------------------------------------------ */
/* Members                                                                   */
/* ------------------------------------------------------------------------ */

static void check_name(const json_t *body, struct srv_sweepspec *out,
                       struct srv_jobspec_problems *p)
{
    const json_t *n = json_object_get(body, "name");
    const char *s;
    size_t len;

    if (!present(n)) {
        srv_jobspec_problem_add(p, "name", "missing-field", NULL,
                        "\"name\" is required: 1 to %d letters, digits, '.', '_' or '-', starting "
                        "with a letter or digit", SRV_SWEEP_NAME_MAX);
        return;
    }
    if (!json_is_string(n)) {
        srv_jobspec_problem_add(p, "name", "wrong-type", NULL, "\"name\" must be a string (got %s)",
                        srv_jobspec_type_name(n));
        return;
    }
    s = json_string_value(n);
    len = json_string_length(n);
    if (len == 0 || len > SRV_SWEEP_NAME_MAX) {
        srv_jobspec_problem_add(p, "name", "invalid-name", NULL,
                        "\"name\" is %zu bytes long; it must be 1 to %d", len, SRV_SWEEP_NAME_MAX);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (alnum || (i > 0 && (c == '.' || c == '_' || c == '-'))) continue;
        srv_jobspec_problem_add(p, "name", "invalid-name", NULL,
                        "\"name\" may hold only letters, digits, '.', '_' and '-', and must start "
                        "with a letter or digit (byte %zu is not allowed)", i);
        return;
    }
    memcpy(out->name, s, len);
    out->name[len] = '\0';
}

/* Validate "job" with the job validator; its problems come back as
 * "job.<field>".  Returns true when the job is valid. */
static bool check_job(const json_t *body, const struct srv_jobspec_env *env,
                      struct srv_sweepspec *out, struct srv_jobspec_problems *p)
{
    const json_t *job = json_object_get(body, "job");
    json_t *jp = NULL, *e;
    struct ae_err je = {0};
    size_t i;

    if (!present(job)) {
        srv_jobspec_problem_add(p, "job", "missing-field", NULL,
                        "\"job\" is required: the job spec every trial starts from, such as "
                        "{\"model\": \"deep\"}");
        return false;
    }
    if (!json_is_object(job)) {
        srv_jobspec_problem_add(p, "job", "wrong-type", NULL,
                        "\"job\" must be a job spec object such as {\"model\": \"deep\"} (got %s)",
                        srv_jobspec_type_name(job));
        return false;
    }
    if (srv_jobspec_validate(job, env, &out->base, &jp, &je) == SRV_OK) {
        out->job = json_deep_copy(job);
        return true;
    }
    json_array_foreach(json_object_get(jp, "errors"), i, e) {
        const char *f = json_string_value(json_object_get(e, "field"));
        const char *c = json_string_value(json_object_get(e, "code"));
        const char *d = json_string_value(json_object_get(e, "detail"));
        json_t *valid = i == 0 ? json_incref(json_object_get(jp, "valid")) : NULL;
        char field[96];
        if (f) snprintf(field, sizeof field, "job.%s", f);
        else snprintf(field, sizeof field, "job");
        srv_jobspec_problem_add(p, field, c ? c : "invalid-setting", valid, "job: %s",
                                d ? d : je.msg);
    }
    if (json_array_size(json_object_get(jp, "errors")) == 0)
        srv_jobspec_problem_add(p, "job", "invalid-setting", NULL, "job: %s", je.msg);
    json_decref(jp);
    return false;
}

/* Is v a valid value of setting s (type and range, the engine's words)? */
static bool value_ok(const struct ae_setting *s, const json_t *v, const char *field,
                     const char *what, const char *code, struct srv_jobspec_problems *p)
{
    struct ae_config tmp;
    struct ae_err e = {0};

    if (!json_is_number(v)) {
        srv_jobspec_problem_add(p, field, "wrong-type", NULL,
                        "'%s' %s must be a number from %g to %g (got %s)", field, what, s->min,
                        s->max, srv_jobspec_type_name(v));
        return false;
    }
    ae_config_defaults(&tmp, AE_MODEL_SIMPLE);
    if (ae_config_set(&tmp, s->name, json_number_value(v), &e) != AE_OK) {
        srv_jobspec_problem_add(p, field, code, NULL, "'%s' %s: %s", field, what, e.msg);
        return false;
    }
    return true;
}

static const char *const dist_names[] = {"uniform", "log_uniform", "int_uniform"};

static void check_range(const json_t *pv, const struct ae_setting *s, const char *field,
                        struct srv_sweep_param *q, struct srv_jobspec_problems *p)
{
    const json_t *lo = json_object_get(pv, "min"), *hi = json_object_get(pv, "max");
    char f[128];
    int d;
    bool ok = true;

    snprintf(f, sizeof f, "%s.distribution", field);
    d = get_choice(pv, "distribution", f, dist_names, 3,
                   s->type == AE_SETTING_INT ? 2 : 0, p);
    if (!present(lo) || !present(hi)) {
        srv_jobspec_problem_add(p, field, "missing-field", NULL,
                                "'%s' needs both \"min\" and \"max\"",
                        field);
        return;
    }
    ok &= value_ok(s, lo, field, "min", "invalid-range", p);
    ok &= value_ok(s, hi, field, "max", "invalid-range", p);
    if (!ok || d < 0) return;
    q->min = json_number_value(lo);
    q->max = json_number_value(hi);
    q->dist = d == 0 ? SRV_SWEEP_UNIFORM : d == 1 ? SRV_SWEEP_LOG_UNIFORM : SRV_SWEEP_INT_UNIFORM;
    if (q->min > q->max) {
        srv_jobspec_problem_add(p, field, "invalid-range", NULL, "'%s': min %g is above max %g",
                                field,
                        q->min, q->max);
        return;
    }
    if (s->type == AE_SETTING_INT && q->dist != SRV_SWEEP_INT_UNIFORM)
        srv_jobspec_problem_add(p, f, "invalid-value", strings(&dist_names[2], 1),
                        "'%s' is an integer setting: its range must use \"int_uniform\" (or give "
                        "\"values\"), not \"%s\"", s->name, srv_sweep_dist_name(q->dist));
    else if (s->type == AE_SETTING_FLOAT && q->dist == SRV_SWEEP_INT_UNIFORM)
        srv_jobspec_problem_add(p, f, "invalid-value", strings(dist_names, 2),
                        "'%s' is not an integer setting: use \"uniform\" or \"log_uniform\"",
                        s->name);
    else if (q->dist == SRV_SWEEP_LOG_UNIFORM && !(q->min > 0))
        srv_jobspec_problem_add(p, field, "invalid-range", NULL,
                        "'%s': log_uniform needs min > 0 (got %g)", field, q->min);
}

static void check_values(const json_t *vals, const struct ae_setting *s, const char *field,
                         struct srv_sweep_param *q, struct srv_jobspec_problems *p)
{
    size_t i;
    const json_t *v;
    char f[128];

    if (!json_is_array(vals) || json_array_size(vals) == 0 ||
        json_array_size(vals) > SRV_SWEEP_MAX_VALUES) {
        srv_jobspec_problem_add(p, field, json_is_array(vals) ? "invalid-value" : "wrong-type",
                                NULL,
                        "'%s.values' must be a list of 1 to %d numbers (got %s of %zu)", field,
                        SRV_SWEEP_MAX_VALUES, srv_jobspec_type_name(vals), json_array_size(vals));
        return;
    }
    q->dist = SRV_SWEEP_VALUES;
    json_array_foreach(vals, i, v) {
        snprintf(f, sizeof f, "%s.values[%zu]", field, i);
        if (value_ok(s, v, f, "value", "invalid-value", p))
            q->values[q->n_values++] = json_number_value(v);
    }
}

static void check_parameters(const json_t *body, struct srv_sweepspec *out, bool job_ok,
                             struct srv_jobspec_problems *p)
{
    const json_t *params = json_object_get(body, "parameters");
    const char *key;
    json_t *pv;
    static const char *const members[] = {"values", "min", "max", "distribution"};

    if (!present(params) || !json_is_object(params) || json_object_size(params) == 0 ||
        json_object_size(params) > SRV_SWEEP_MAX_PARAMS) {
        srv_jobspec_problem_add(p, "parameters",
                                present(params) ? "invalid-value" : "missing-field", NULL,
                        "\"parameters\" must be an object naming 1 to %d job settings, such as "
                        "{\"learning_rate\": {\"min\": 0.0001, \"max\": 0.01}}",
                        SRV_SWEEP_MAX_PARAMS);
        return;
    }
    json_object_foreach((json_t *)params, key, pv) {
        const struct ae_setting *s = ae_setting_find(key);
        struct srv_sweep_param *q = &out->params[out->n_params];
        char field[96];
        bool has_values, has_range;

        snprintf(field, sizeof field, "parameters.%.40s", key);
        if (!s) {
            size_t n;
            const struct ae_setting *t = ae_settings(&n);
            json_t *valid = json_array();
            for (size_t i = 0; valid && i < n; i++)
                json_array_append_new(valid, json_string(t[i].name));
            srv_jobspec_problem_add(p, field, "unknown-field", valid,
                            "'%.40s' is not a job setting; see GET /api/models for the settings",
                            key);
            continue;
        }
        if (job_ok && !srv_setting_applies(s, out->base.cfg.model)) {
            srv_jobspec_problem_add(p, field, "unknown-field", NULL,
                            "'%s' does not apply to model %s", key, out->base.model);
            continue;
        }
        if (!json_is_object(pv)) {
            srv_jobspec_problem_add(p, field, "wrong-type", NULL,
                            "'%s' must be an object with \"values\" or \"min\" and \"max\" "
                            "(got %s)",
                            field, srv_jobspec_type_name(pv));
            continue;
        }
        snprintf(field, sizeof field, "parameters.%s.", key);
        check_members(pv, field, members, 4, p);
        snprintf(field, sizeof field, "parameters.%s", key);
        memset(q, 0, sizeof *q);
        snprintf(q->name, sizeof q->name, "%s", s->name);
        q->type = s->type;
        has_values = present(json_object_get(pv, "values"));
        has_range = present(json_object_get(pv, "min")) || present(json_object_get(pv, "max")) ||
                    present(json_object_get(pv, "distribution"));
        if (has_values && has_range) {
            srv_jobspec_problem_add(p, field, "conflict", NULL,
                            "'%s' gives both \"values\" and a range; choose one", field);
            continue;
        }
        if (!has_values && !has_range) {
            srv_jobspec_problem_add(p, field, "missing-field", NULL,
                            "'%s' needs \"values\" or \"min\" and \"max\"", field);
            continue;
        }
        if (has_values) check_values(json_object_get(pv, "values"), s, field, q, p);
        else check_range(pv, s, field, q, p);
        out->n_params++;
    }
}

static const char *const stop_names[] = {"none", "asha", "median"};

/* early_stopping; sets out->stopping, asha/median and trial_epochs. */
static void check_stopping(const json_t *body, struct srv_sweepspec *out, bool job_ok,
                           struct srv_jobspec_problems *p)
{
    const json_t *es = json_object_get(body, "early_stopping");
    const json_t *job = json_object_get(body, "job");
    static const char *const asha_m[] = {"type", "min_epochs", "max_epochs", "reduction_factor"};
    static const char *const median_m[] = {"type", "grace_epochs", "min_trials", "max_epochs"};
    const struct ae_setting *ep = ae_setting_find("epochs");
    int64_t min_e = 1, max_e = -1, rf = 3, grace = 1, min_trials = 3;
    int t;
    bool ok = true;

    out->trial_epochs = job_ok ? out->base.cfg.epochs : 0;
    if (!present(es)) return;
    if (!json_is_object(es)) {
        srv_jobspec_problem_add(p, "early_stopping", "wrong-type", strings(stop_names, 3),
                        "\"early_stopping\" must be an object such as {\"type\": \"asha\"} "
                        "(got %s)",
                        srv_jobspec_type_name(es));
        return;
    }
    t = get_choice(es, "type", "early_stopping.type", stop_names, 3, -2, p);
    if (t == -2) {
        srv_jobspec_problem_add(p, "early_stopping.type", "missing-field", strings(stop_names, 3),
                        "\"early_stopping\" needs a \"type\": none, asha or median");
        return;
    }
    if (t < 0) return;
    if (t == 0) {
        static const char *const none_m[] = {"type"};
        check_members(es, "early_stopping.", none_m, 1, p);
        return;
    }
    out->stopping = t == 1 ? SRV_SWEEP_STOP_ASHA : SRV_SWEEP_STOP_MEDIAN;
    check_members(es, "early_stopping.", t == 1 ? asha_m : median_m, 4, p);
    ok &= get_int(es, "max_epochs", "early_stopping.max_epochs", 1, ep->max, &max_e, p);
    if (t == 1) {
        ok &= get_int(es, "min_epochs", "early_stopping.min_epochs", 1, ep->max, &min_e, p);
        ok &= get_int(es, "reduction_factor", "early_stopping.reduction_factor", 2, 1000, &rf, p);
    } else {
        ok &= get_int(es, "grace_epochs", "early_stopping.grace_epochs", 1, ep->max, &grace, p);
        ok &= get_int(es, "min_trials", "early_stopping.min_trials", 1, SRV_SWEEP_MAX_TRIALS,
                      &min_trials, p);
    }
    if (!ok || !job_ok) return;
    if (max_e < 0) {
        max_e = out->base.cfg.epochs;
    } else if (present(json_object_get(job, "epochs")) && max_e != out->base.cfg.epochs) {
        srv_jobspec_problem_add(p, "early_stopping.max_epochs", "conflict", NULL,
                        "early_stopping.max_epochs (%lld) and job.epochs (%d) differ; every "
                        "trial's budget is max_epochs: give one of them, or the same value",
                        (long long)max_e, out->base.cfg.epochs);
        return;
    }
    out->trial_epochs = (int32_t)max_e;
    if (t == 1 && min_e > max_e)
        srv_jobspec_problem_add(p, "early_stopping.min_epochs", "invalid-range", NULL,
                        "early_stopping.min_epochs (%lld) is above max_epochs (%lld)",
                        (long long)min_e, (long long)max_e);
    if (t == 2 && grace > max_e)
        srv_jobspec_problem_add(p, "early_stopping.grace_epochs", "invalid-range", NULL,
                        "early_stopping.grace_epochs (%lld) is above max_epochs (%lld)",
                        (long long)grace, (long long)max_e);
    out->asha = (struct srv_sweep_asha){(int32_t)min_e, (int32_t)max_e, (int32_t)rf};
    out->median = (struct srv_sweep_median){(int32_t)grace, (int32_t)min_trials};
}

/* method, max_trials and the number of trials. */
static void check_trials(const json_t *body, struct srv_sweepspec *out, bool params_ok,
                         struct srv_jobspec_problems *p)
{
    static const char *const methods[] = {"grid", "random"};
    int64_t max_trials = -1, size;
    int m = get_choice(body, "method", "method", methods, 2, -2, p);
    bool mt_ok = get_int(body, "max_trials", "max_trials", 1, SRV_SWEEP_MAX_TRIALS, &max_trials, p);

    if (m == -2) {
        srv_jobspec_problem_add(p, "method", "missing-field", strings(methods, 2),
                        "\"method\" is required: grid or random");
        return;
    }
    if (m < 0 || !mt_ok) return;
    out->method = m == 0 ? SRV_SWEEP_GRID : SRV_SWEEP_RANDOM;
    if (out->method == SRV_SWEEP_RANDOM) {
        out->max_trials = max_trials > 0 ? (int32_t)max_trials : SRV_SWEEP_DEFAULT_RANDOM_TRIALS;
        out->n_trials = out->max_trials;
        return;
    }
    if (!params_ok) return;
    for (size_t j = 0; j < out->n_params; j++)
        if (out->params[j].dist != SRV_SWEEP_VALUES) {
            char field[96];
            snprintf(field, sizeof field, "parameters.%s", out->params[j].name);
            srv_jobspec_problem_add(p, field, "invalid-value", NULL,
                            "method grid needs \"values\" for every parameter; '%s' has a range",
                            out->params[j].name);
            return;
        }
    out->max_trials = max_trials > 0 ? (int32_t)max_trials : SRV_SWEEP_MAX_TRIALS;
    if (srv_sweep_grid_size(out->params, out->n_params, 1000000000000000ll, &size, NULL) !=
        SRV_OK) {
        srv_jobspec_problem_add(p, "max_trials", "too-many-trials", NULL,
                        "grid has more than 1000000000000000 trials, over max_trials %d",
                        out->max_trials);
        return;
    }
    if (size > out->max_trials) {
        srv_jobspec_problem_add(p, "max_trials", "too-many-trials", NULL,
                        "grid has %lld trials, over max_trials %d%s", (long long)size,
                        out->max_trials, max_trials > 0 ? "" : " (the limit)");
        return;
    }
    out->n_trials = (int32_t)size;
}

/* ------------------------------------------------------------------------ */
/* Entry points                                                              */
/* ------------------------------------------------------------------------ */

enum srv_status srv_sweepspec_validate(const json_t *body, const struct srv_jobspec_env *env,
                                       struct srv_sweepspec *out, json_t **problem,
                                       struct ae_err *err)
{
    static const char *const top[] = {"name", "job", "parameters", "method", "max_trials",
                                      "max_concurrent", "seed", "metric", "keep",
                                      "early_stopping"};
    static const char *const metrics[] = {"val_loss"};
    static const char *const keeps[] = {"default", "all"};
    struct srv_jobspec_problems p;
    int64_t conc = SRV_SWEEP_DEFAULT_CONCURRENT, seed = 1;
    bool job_ok;
    size_t n_before;

    if (problem) *problem = NULL;
    memset(out, 0, sizeof *out);
    if (!srv_jobspec_problems_init(&p))
        return srv_err_set(err, SRV_ERR_NOMEM, "out of memory validating the sweep");

    if (!json_is_object(body)) {
        srv_jobspec_problem_add(&p, NULL, "not-an-object", NULL,
                        "the body must be a JSON object such as {\"name\": \"lr\", \"job\": "
                        "{\"model\": \"deep\"}, \"parameters\": {...}, \"method\": \"random\"} "
                        "(got %s)", body ? srv_jobspec_type_name(body) : "nothing");
        goto fail;
    }
    check_members(body, "", top, sizeof top / sizeof top[0], &p);
    check_name(body, out, &p);
    job_ok = check_job(body, env, out, &p);
    n_before = json_array_size(p.errors);
    check_parameters(body, out, job_ok, &p);
    check_trials(body, out, json_array_size(p.errors) == n_before, &p);
    if (get_int(body, "max_concurrent", "max_concurrent", 1, SRV_SWEEP_MAX_CONCURRENT, &conc, &p))
        out->max_concurrent = (int32_t)conc;
    if (get_int(body, "seed", "seed", 0, 9007199254740991.0, &seed, &p))
        out->seed = (uint64_t)seed;
    get_choice(body, "metric", "metric", metrics, 1, 0, &p);
    out->keep_all = get_choice(body, "keep", "keep", keeps, 2, 0, &p) == 1;
    check_stopping(body, out, job_ok, &p);
    if (out->stopping != SRV_SWEEP_STOP_NONE)
        for (size_t j = 0; j < out->n_params; j++)
            if (strcmp(out->params[j].name, "epochs") == 0)
                srv_jobspec_problem_add(&p, "parameters.epochs", "conflict", NULL,
                                "\"epochs\" cannot be swept with early stopping: every trial's "
                                "budget is early_stopping.max_epochs");
    if (!p.first_code[0]) {
        srv_jobspec_problems_fini(&p);
        if (job_ok && !out->job) {
            srv_sweepspec_fini(out);
            return srv_err_set(err, SRV_ERR_NOMEM, "out of memory validating the sweep");
        }
        return SRV_OK;
    }

fail:
    srv_sweepspec_fini(out);
    return srv_jobspec_problems_fail(&p, problem, err);
}

void srv_sweepspec_fini(struct srv_sweepspec *s)
{
    if (!s) return;
    json_decref(s->job);
    s->job = NULL;
}

json_t *srv_sweepspec_trial_values(const struct srv_sweepspec *s, int32_t index)
{
    double v[SRV_SWEEP_MAX_PARAMS];
    if (!s || index < 0 || index >= s->n_trials) return NULL;
    if (s->method == SRV_SWEEP_GRID) {
        if (srv_sweep_grid_point(s->params, s->n_params, index, v, NULL) != SRV_OK) return NULL;
    } else {
        srv_sweep_random_point(s->params, s->n_params, s->seed, (uint64_t)index, v);
    }
    return srv_sweep_point_json(s->params, s->n_params, v);
}

json_t *srv_sweepspec_trial_job(const struct srv_sweepspec *s, int32_t index)
{
    json_t *vals = srv_sweepspec_trial_values(s, index), *job;
    char name[SRV_SWEEP_NAME_MAX + 16];

    if (!vals) return NULL;
    job = json_deep_copy(s->job);
    snprintf(name, sizeof name, "%s-%d", s->name, (int)index);
    /* epochs first, so that a swept "epochs" (no early stopping) wins */
    if (!job || json_object_set_new(job, "epochs", json_integer(s->trial_epochs)) != 0 ||
        json_object_update(job, vals) != 0 ||
        json_object_set_new(job, "name", json_string(name)) != 0) {
        json_decref(job);
        job = NULL;
    }
    json_decref(vals);
    return job;
}
