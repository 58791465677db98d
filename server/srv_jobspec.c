/*
 * srv_jobspec.c - job spec validation (see srv_jobspec.h).
 *
 * Owns the rules for what a submission may contain and the wording of
 * every validation error.  It does not create jobs or touch the queue.
 * Design: collect every problem rather than stopping at the first, so a
 * client (and the dashboard's form) can fix all fields in one round trip;
 * the engine's ae_config_set produces the range messages, so they match
 * the CLI's word for word.
 */
#include "srv_jobspec.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Problems (shared with srv_sweepspec.c)                                    */
/* ------------------------------------------------------------------------ */

bool srv_jobspec_problems_init(struct srv_jobspec_problems *p)
{
    memset(p, 0, sizeof *p);
    p->errors = json_array();
    return p->errors != NULL;
}

void srv_jobspec_problem_add(struct srv_jobspec_problems *p, const char *field, const char *code,
                             json_t *valid,
                             const char *fmt, ...)
{
    char detail[400];
    va_list ap;
    json_t *e;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);

    if (!p->first_code[0]) {
        snprintf(p->first_code, sizeof p->first_code, "%s", code);
        snprintf(p->first_field, sizeof p->first_field, "%s", field ? field : "");
        p->first_valid = valid;
        valid = NULL;
    }
    json_decref(valid);
    if (p->msg_len + 3 < sizeof p->msg) {
        int w = snprintf(p->msg + p->msg_len, sizeof p->msg - p->msg_len, "%s%s",
                         p->msg_len ? "; " : "", detail);
        if (w > 0) p->msg_len += (size_t)w;
        if (p->msg_len >= sizeof p->msg) p->msg_len = sizeof p->msg - 1;
    }
    e = json_object();
    if (e) {
        json_object_set_new(e, "field", field ? json_string(field) : json_null());
        json_object_set_new(e, "code", json_string(code));
        json_t *d = json_string(detail);
        json_object_set_new(e, "detail", d ? d : json_string("(invalid UTF-8)"));
        json_array_append_new(p->errors, e);
    }
}

enum srv_status srv_jobspec_problems_fail(struct srv_jobspec_problems *p, json_t **problem,
                                          struct ae_err *err)
{
    srv_err_set(err, SRV_ERR_ARG, "%s", p->msg);
    if (problem) {
        json_t *x = json_object();
        if (x) {
            json_object_set_new(x, "code", json_string(p->first_code));
            json_object_set_new(x, "field",
                                p->first_field[0] ? json_string(p->first_field) : json_null());
            if (p->first_valid) json_object_set(x, "valid", p->first_valid);
            json_object_set(x, "errors", p->errors);
        }
        *problem = x;
    }
    srv_jobspec_problems_fini(p);
    return SRV_ERR_ARG;
}

void srv_jobspec_problems_fini(struct srv_jobspec_problems *p)
{
    json_decref(p->first_valid);
    json_decref(p->errors);
    p->first_valid = NULL;
    p->errors = NULL;
}

const char *srv_jobspec_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "something else";
}

/* ------------------------------------------------------------------------ */
/* The job spec                                                              */
/* ------------------------------------------------------------------------ */

bool srv_setting_applies(const struct ae_setting *s, enum ae_model_kind kind)
{
    return (s->models & (1u << (unsigned)kind)) != 0;
}

/* Comma-separated list and JSON array of the fields a spec for kind may
 * hold (the three fixed ones, then the settings that apply to kind). */
static json_t *valid_fields(enum ae_model_kind kind, bool kind_known, char *list, size_t len)
{
    size_t n, o = 0;
    const struct ae_setting *t = ae_settings(&n);
    json_t *arr = json_array();
    const char *fixed[] = {"model", "dataset", "name", "keep"};

    list[0] = '\0';
    for (int i = 0; i < 4; i++) {
        json_array_append_new(arr, json_string(fixed[i]));
        o += (size_t)snprintf(list + o, o < len ? len - o : 0, "%s%s", o ? ", " : "", fixed[i]);
    }
    for (size_t i = 0; i < n; i++) {
        if (kind_known && !srv_setting_applies(&t[i], kind)) continue;
        json_array_append_new(arr, json_string(t[i].name));
        if (o < len)
            o += (size_t)snprintf(list + o, len - o, ", %s", t[i].name);
    }
    return arr;
}

static json_t *model_names(char *list, size_t len)
{
    json_t *arr = json_array();
    size_t o = 0;
    list[0] = '\0';
    for (int k = 0; k < AE_MODEL_COUNT; k++) {
        const char *nm = ae_model_name((enum ae_model_kind)k);
        json_array_append_new(arr, json_string(nm));
        if (o < len) o += (size_t)snprintf(list + o, len - o, "%s%s", o ? ", " : "", nm);
    }
    return arr;
}

static json_t *name_list(const char *const *names, size_t n, char *list, size_t len)
{
    json_t *arr = json_array();
    size_t o = 0;
    list[0] = '\0';
    if (n == 0) snprintf(list, len, "(none)");
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, json_string(names[i]));
        if (o < len) o += (size_t)snprintf(list + o, len - o, "%s%s", o ? ", " : "", names[i]);
    }
    return arr;
}

static bool in_list(const char *s, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) return true;
    return false;
}

static void check_model(const json_t *spec, struct srv_jobspec_problems *p,
                        enum ae_model_kind *kind,
                        bool *known, struct srv_jobspec *out)
{
    char list[200];
    const json_t *m = json_object_get(spec, "model");

    *known = false;
    if (!m) {
        srv_jobspec_problem_add(p, "model", "missing-model", model_names(list, sizeof list),
                        "\"model\" is required; choose one of %s", list);
        return;
    }
    if (!json_is_string(m)) {
        srv_jobspec_problem_add(p, "model", "wrong-type", model_names(list, sizeof list),
                        "\"model\" must be a string, one of %s (got %s)", list,
                        srv_jobspec_type_name(m));
        return;
    }
    if (!ae_model_parse(json_string_value(m), kind)) {
        srv_jobspec_problem_add(p, "model", "unknown-model", model_names(list, sizeof list),
                        "unknown model '%.40s'; choose one of %s", json_string_value(m), list);
        return;
    }
    *known = true;
    snprintf(out->model, sizeof out->model, "%s", ae_model_name(*kind));
}

static void check_dataset(const json_t *spec, const struct srv_jobspec_env *env,
                          struct srv_jobspec_problems *p,
                          struct srv_jobspec *out)
{
    char list[200];
    const json_t *d = json_object_get(spec, "dataset");
    const char *name = env->default_dataset ? env->default_dataset : "";

    if (d && !json_is_null(d)) {
        if (!json_is_string(d)) {
            srv_jobspec_problem_add(p, "dataset", "wrong-type",
                            name_list(env->known, env->n_known, list, sizeof list),
                            "\"dataset\" must be a string, one of %s (got %s)", list,
                            srv_jobspec_type_name(d));
            return;
        }
        name = json_string_value(d);
        if (env->canonical && env->canonical(name)) name = env->canonical(name);
    }
    if (!in_list(name, env->known, env->n_known)) {
        srv_jobspec_problem_add(p, "dataset", "unknown-dataset",
                        name_list(env->known, env->n_known, list, sizeof list),
                        "unknown data set '%.40s'; choose one of %s", name, list);
        return;
    }
    if (!in_list(name, env->installed, env->n_installed)) {
        srv_jobspec_problem_add(p, "dataset", "dataset-not-installed",
                        name_list(env->installed, env->n_installed, list, sizeof list),
                        "data set '%s' is not installed on this server (its four IDX files were "
                        "not found); installed: %s",
                        name, list);
        return;
    }
    snprintf(out->dataset, sizeof out->dataset, "%s", name);
}

static void check_name(const json_t *spec, struct srv_jobspec_problems *p, struct srv_jobspec *out)
{
    const json_t *n = json_object_get(spec, "name");
    const char *s;
    size_t len;

    out->name[0] = '\0';
    if (!n || json_is_null(n)) return;
    if (!json_is_string(n)) {
        srv_jobspec_problem_add(p, "name", "wrong-type", NULL, "\"name\" must be a string (got %s)",
                        srv_jobspec_type_name(n));
        return;
    }
    s = json_string_value(n);
    len = json_string_length(n);
    if (len > SRV_JOB_NAME_MAX) {
        srv_jobspec_problem_add(p, "name", "invalid-name", NULL,
                        "\"name\" is %zu bytes long; the limit is %d", len, SRV_JOB_NAME_MAX);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            srv_jobspec_problem_add(p, "name", "invalid-name", NULL,
                            "\"name\" must not contain control characters (byte %zu)", i);
            return;
        }
    }
    memcpy(out->name, s, len);
    out->name[len] = '\0';
}

/* "keep": "all" (default: every epoch's weights and the checkpoint stay)
 * or "final" (when the job ends, only its last weights and its event files
 * stay).  Not a setting of the engine: it says what the daemon keeps. */
static void check_keep(const json_t *spec, struct srv_jobspec_problems *p, struct srv_jobspec *out)
{
    const json_t *k = json_object_get(spec, "keep");
    out->keep_final = false;
    if (!k || json_is_null(k)) return;
    if (json_is_string(k) && !strcmp(json_string_value(k), "all")) return;
    if (json_is_string(k) && !strcmp(json_string_value(k), "final")) {
        out->keep_final = true;
        return;
    }
    srv_jobspec_problem_add(p, "keep", "invalid-value", json_pack("[ss]", "all", "final"),
                    "\"keep\" must be \"all\" (keep every epoch's weights and the checkpoint) or "
                    "\"final\" (keep the last weights and the event files only)");
}

static void check_settings(const json_t *spec, struct srv_jobspec_problems *p,
                           enum ae_model_kind kind,
                           bool kind_known, struct srv_jobspec *out)
{
    const char *key;
    json_t *v;
    char list[600];

    json_object_foreach((json_t *)spec, key, v) {
        const struct ae_setting *s;
        struct ae_err e = {0};
        char models[120];
        size_t o = 0;

        if (!strcmp(key, "model") || !strcmp(key, "dataset") || !strcmp(key, "name") ||
            !strcmp(key, "keep"))
            continue;
        s = ae_setting_find(key);
        if (!s) {
            srv_jobspec_problem_add(p, key, "unknown-field",
                            valid_fields(kind, kind_known, list, sizeof list),
                            "unknown field '%.40s'; valid fields%s%s are: %s", key,
                            kind_known ? " for model " : "", kind_known ? out->model : "", list);
            continue;
        }
        if (!kind_known) continue; /* can't check applicability or range yet */
        if (!srv_setting_applies(s, kind)) {
            models[0] = '\0';
            for (int k = 0; k < AE_MODEL_COUNT; k++)
                if (srv_setting_applies(s, (enum ae_model_kind)k))
                    o += (size_t)snprintf(models + o, o < sizeof models ? sizeof models - o : 0,
                                          "%s%s", o ? ", " : "",
                                          ae_model_name((enum ae_model_kind)k));
            srv_jobspec_problem_add(p, key, "unknown-field", valid_fields(kind, true, list,
                                    sizeof list),
                            "'%s' does not apply to model %s (only to %s); valid fields for %s "
                            "are: %s",
                            key, out->model, models, out->model, list);
            continue;
        }
        if (json_is_null(v)) continue; /* null keeps the default */
        if (!json_is_number(v)) {
            srv_jobspec_problem_add(p, key, "wrong-type", NULL,
                            "'%s' must be a number from %g to %g (got %s)",
                            key, s->min, s->max, srv_jobspec_type_name(v));
            continue;
        }
        if (ae_config_set(&out->cfg, key, json_number_value(v), &e) != AE_OK)
            srv_jobspec_problem_add(p, key, "invalid-setting", NULL, "%s", e.msg);
    }
}

enum srv_status srv_jobspec_validate(const json_t *spec, const struct srv_jobspec_env *env,
                                     struct srv_jobspec *out, json_t **problem,
                                     struct ae_err *err)
{
    struct srv_jobspec_problems p;
    enum ae_model_kind kind = AE_MODEL_SIMPLE;
    bool kind_known = false;

    if (problem) *problem = NULL;
    memset(out, 0, sizeof *out);
    if (!srv_jobspec_problems_init(&p))
        return srv_err_set(err, SRV_ERR_NOMEM, "out of memory validating the job");

    if (!json_is_object(spec)) {
        srv_jobspec_problem_add(&p, NULL, "not-an-object", NULL,
                        "the body must be a JSON object such as {\"model\": \"conv\"} (got %s)",
                        spec ? srv_jobspec_type_name(spec) : "nothing");
        goto fail;
    }
    check_model(spec, &p, &kind, &kind_known, out);
    if (kind_known) {
        ae_config_defaults(&out->cfg, kind);
        if (env->default_threads >= 1) out->cfg.threads = env->default_threads;
    }
    check_settings(spec, &p, kind, kind_known, out);
    check_dataset(spec, env, &p, out);
    check_name(spec, &p, out);
    check_keep(spec, &p, out);
    if (!p.first_code[0] && kind_known) {
        struct ae_err e = {0};
        if (ae_config_check(&out->cfg, &e) != AE_OK)
            srv_jobspec_problem_add(&p, NULL, "invalid-setting", NULL, "%s", e.msg);
    }
    if (!p.first_code[0]) {
        srv_jobspec_problems_fini(&p);
        return SRV_OK;
    }

fail:
    return srv_jobspec_problems_fail(&p, problem, err);
}

json_t *srv_jobspec_settings_json(const struct ae_config *cfg)
{
    size_t n;
    const struct ae_setting *t = ae_settings(&n);
    json_t *o = json_object();
    if (!o) return NULL;
    for (size_t i = 0; i < n; i++) {
        double v;
        if (!srv_setting_applies(&t[i], cfg->model)) continue;
        if (ae_config_get(cfg, t[i].name, &v) != AE_OK) continue;
        if (t[i].type == AE_SETTING_INT)
            json_object_set_new(o, t[i].name, json_integer((json_int_t)llround(v)));
        else
            json_object_set_new(o, t[i].name, json_real(v));
    }
    return o;
}

enum srv_status srv_jobspec_from_settings(const char *model, const json_t *settings,
                                          struct ae_config *cfg, struct ae_err *err)
{
    enum ae_model_kind kind;
    const char *key;
    json_t *v;

    if (!model || !ae_model_parse(model, &kind))
        return srv_err_set(err, SRV_ERR_ARG, "unknown model '%s'", model ? model : "(null)");
    ae_config_defaults(cfg, kind);
    if (!json_is_object(settings))
        return srv_err_set(err, SRV_ERR_ARG, "stored settings are not a JSON object");
    json_object_foreach((json_t *)settings, key, v) {
        struct ae_err e = {0};
        if (!json_is_number(v))
            return srv_err_set(err, SRV_ERR_ARG, "stored setting '%s' is not a number", key);
        if (ae_config_set(cfg, key, json_number_value(v), &e) != AE_OK)
            return srv_err_set(err, SRV_ERR_ARG, "stored setting: %s", e.msg);
    }
    return SRV_OK;
}
