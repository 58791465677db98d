/*
 * srv_api_service.c - /api/models, /api/health, /api/openapi.json and
 * /metrics; plus building the models table and the served OpenAPI document
 * at start-up.
 *
 * Owns what the daemon says about itself.  Design: everything that comes
 * from the engine's settings table (models, settings, defaults, ranges,
 * parameter counts, the JobSpec schema) is generated once at start-up from
 * that table, so the API documentation cannot drift from what the
 * validator accepts.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_api_handlers.h"
#include "srv_api_service.h"
#include "srv_jobspec.h"
#include "srv_response.h"
#include "srv_worker.h"
#include "srv_log.h"

/* ------------------------------------------------------------------------ */
/* Start-up builders                                                        */
/* ------------------------------------------------------------------------ */

static json_t *setting_json(const struct ae_setting *s, const struct ae_config *defaults)
{
    double v = 0;
    json_t *o = json_object();
    if (!o) return NULL;
    ae_config_get(defaults, s->name, &v);
    json_object_set_new(o, "name", json_string(s->name));
    json_object_set_new(o, "help", json_string(s->help ? s->help : ""));
    json_object_set_new(o, "type", json_string(s->type == AE_SETTING_INT ? "integer" : "number"));
    if (s->type == AE_SETTING_INT) {
        json_object_set_new(o, "minimum", json_integer((json_int_t)s->min));
        json_object_set_new(o, "maximum", json_integer((json_int_t)s->max));
        json_object_set_new(o, "default", json_integer((json_int_t)llround(v)));
    } else {
        json_object_set_new(o, "minimum", json_real(s->min));
        json_object_set_new(o, "maximum", json_real(s->max));
        json_object_set_new(o, "default", json_real(v));
    }
    json_object_set_new(o, "hparam", json_boolean(s->hparam));
    return o;
}

enum srv_status srv_api_build_models(struct srv_app *app, struct ae_err *err)
{
    size_t n;
    const struct ae_setting *t = ae_settings(&n);
    json_t *models = json_array();

    if (!models) return srv_err_set(err, SRV_ERR_NOMEM, "out of memory");
    for (int k = 0; k < AE_MODEL_COUNT; k++) {
        struct ae_config cfg;
        struct ae_model *m = NULL;
        struct ae_err e = {0};
        json_t *o = json_object(), *settings = json_array();

        ae_config_defaults(&cfg, (enum ae_model_kind)k);
        cfg.threads = app->cfg.threads_per_job;
        if (!o || !settings) goto oom;
        json_object_set_new(o, "name", json_string(ae_model_name((enum ae_model_kind)k)));
        if (ae_model_new(&cfg, &m, &e) != AE_OK) {
            json_decref(o);
            json_decref(settings);
            json_decref(models);
            return srv_err_set(err, SRV_ERR_INTERNAL, "building model %s: %s",
                               ae_model_name((enum ae_model_kind)k), e.msg);
        }
        json_object_set_new(o, "params", json_integer(ae_model_n_params(m)));
        json_object_set_new(o, "code_dim", json_integer(ae_model_code_dim(m)));
        ae_model_free(m);
        for (size_t i = 0; i < n; i++)
            if (srv_setting_applies(&t[i], (enum ae_model_kind)k))
                json_array_append_new(settings, setting_json(&t[i], &cfg));
        json_object_set_new(o, "settings", settings);
        json_array_append_new(models, o);
        continue;
    oom:
        json_decref(o);
        json_decref(settings);
        json_decref(models);
        return srv_err_set(err, SRV_ERR_NOMEM, "out of memory");
    }
    app->models = json_dumps(models, JSON_COMPACT);
    json_decref(models);
    return app->models ? SRV_OK : srv_err_set(err, SRV_ERR_NOMEM, "out of memory");
}

/* components.schemas.EpochMetrics from ae_metrics(): "epoch" as written in
 * the document, then one nullable number per metric.  -1 if absent. */
static int fill_epoch_metrics(json_t *root)
{
    size_t n;
    const struct ae_metric *t = ae_metrics(&n);
    json_t *schema = json_object_get(
        json_object_get(json_object_get(root, "components"), "schemas"), "EpochMetrics");
    json_t *props = json_object_get(schema, "properties"), *epoch = json_object_get(props, "epoch");
    json_t *fresh = json_object(), *required = json_array();

    if (!json_is_object(props) || !epoch || !fresh || !required) {
        json_decref(fresh);
        json_decref(required);
        return -1;
    }
    json_object_set(fresh, "epoch", epoch);
    json_array_append_new(required, json_string("epoch"));
    for (size_t i = 0; i < n; i++) {
        char d[400], models[200];
        size_t o = 0;
        json_t *p = json_object();
        models[0] = '\0';
        for (int k = 0; k < AE_MODEL_COUNT; k++)
            if (ae_metric_applies(&t[i], (enum ae_model_kind)k))
                o += (size_t)snprintf(models + o, o < sizeof models ? sizeof models - o : 0,
                                      "%s%s", o ? ", " : "", ae_model_name((enum ae_model_kind)k));
        snprintf(d, sizeof d, "%s (%s%s%smodels: %s; null if not finite)", t[i].help,
                 t[i].unit[0] ? "unit: " : "", t[i].unit, t[i].unit[0] ? "; " : "", models);
        json_object_set_new(p, "type", json_string("number"));
        json_object_set_new(p, "nullable", json_true());
        json_object_set_new(p, "description", json_string(d));
        json_object_set_new(fresh, t[i].name, p);
        if (t[i].models == (1u << AE_MODEL_COUNT) - 1)
            json_array_append_new(required, json_string(t[i].name));
    }
    json_object_set_new(schema, "properties", fresh);
    json_object_set_new(schema, "required", required);
    return 0;
}

enum srv_status srv_api_build_openapi(struct srv_app *app, const char *doc, size_t len,
                                      struct ae_err *err)
{
    json_error_t je;
    json_t *root = json_loadb(doc, len, 0, &je), *props, *model_enum;
    size_t n;
    const struct ae_setting *t = ae_settings(&n);

    if (!root)
        return srv_err_set(err, SRV_ERR_INTERNAL, "embedded openapi.json: line %d: %s", je.line,
                           je.text);
    props = json_object_get(
        json_object_get(json_object_get(json_object_get(root, "components"), "schemas"),
                        "JobSpec"),
        "properties");
    model_enum = json_object_get(
        json_object_get(json_object_get(json_object_get(root, "components"), "schemas"),
                        "ModelName"),
        "enum");
    if (!json_is_object(props) || !json_is_array(model_enum)) {
        json_decref(root);
        return srv_err_set(err, SRV_ERR_INTERNAL,
                           "embedded openapi.json lacks components.schemas.JobSpec.properties");
    }
    /* Settings: exact names, types, ranges and which models they apply to. */
    for (size_t i = 0; i < n; i++) {
        char models[200];
        size_t o = 0;
        json_t *p = json_object();
        models[0] = '\0';
        for (int k = 0; k < AE_MODEL_COUNT; k++)
            if (srv_setting_applies(&t[i], (enum ae_model_kind)k))
                o += (size_t)snprintf(models + o, o < sizeof models ? sizeof models - o : 0,
                                      "%s%s", o ? ", " : "", ae_model_name((enum ae_model_kind)k));
        json_object_set_new(p, "type",
                            json_string(t[i].type == AE_SETTING_INT ? "integer" : "number"));
        json_object_set_new(p, "minimum", json_real(t[i].min));
        json_object_set_new(p, "maximum", json_real(t[i].max));
        json_object_set_new(p, "nullable", json_true());
        {
            char d[400];
            snprintf(d, sizeof d, "%s (models: %s; defaults per model in /api/models)",
                     t[i].help ? t[i].help : t[i].name, models);
            json_object_set_new(p, "description", json_string(d));
        }
        json_object_set_new(props, t[i].name, p);
    }
    /* Drop documented names the engine does not have. */
    {
        const char *key;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(props, tmp, key, v) {
            if (!strcmp(key, "model") || !strcmp(key, "dataset") || !strcmp(key, "name")) continue;
            if (!ae_setting_find(key)) json_object_del(props, key);
        }
    }
    json_array_clear(model_enum);
    for (int k = 0; k < AE_MODEL_COUNT; k++)
        json_array_append_new(model_enum, json_string(ae_model_name((enum ae_model_kind)k)));
    {
        json_t *ds = json_object_get(props, "dataset"), *en = json_array();
        for (size_t i = 0; i < SRV_DATA_N_SETS; i++)
            json_array_append_new(en, json_string(srv_data_names[i]));
        json_array_append_new(en, json_string("fashion_mnist"));
        if (json_is_object(ds)) json_object_set_new(ds, "enum", en);
        else json_decref(en);
    }
    if (fill_epoch_metrics(root) != 0) {
        json_decref(root);
        return srv_err_set(err, SRV_ERR_INTERNAL,
                           "embedded openapi.json lacks components.schemas.EpochMetrics");
    }
    json_object_set_new(json_object_get(root, "info"), "version", json_string(SRV_VERSION));
    app->openapi = json_dumps(root, JSON_INDENT(1));
    json_decref(root);
    if (!app->openapi) return srv_err_set(err, SRV_ERR_NOMEM, "out of memory");
    app->openapi_len = strlen(app->openapi);
    return SRV_OK;
}

/* ------------------------------------------------------------------------ */
/* Handlers                                                                 */
/* ------------------------------------------------------------------------ */

void srv_api_models(struct srv_app *app, const struct srv_request *req, struct srv_response *r)
{
    bool installed[SRV_DATA_N_SETS];
    size_t cap = strlen(app->models) + 512, o;
    char *buf = malloc(cap);
    (void)req;

    if (!buf) {
        srv_problem(r, 500, "internal-error", "out of memory", NULL);
        return;
    }
    srv_data_installed(app->data, installed);
    o = (size_t)snprintf(buf, cap, "{\"models\":%s,\"datasets\":[", app->models);
    for (size_t i = 0; i < SRV_DATA_N_SETS; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s{\"name\":\"%s\",\"installed\":%s}",
                              i ? "," : "", srv_data_names[i], installed[i] ? "true" : "false");
    o += (size_t)snprintf(buf + o, cap - o, "],\"default_dataset\":\"%s\"}", app->default_dataset);
    srv_response_take(r, 200, "application/json", buf, o);
}

void srv_api_health(struct srv_app *app, const struct srv_request *req, struct srv_response *r)
{
    size_t counts[SRV_JOB_STATE_COUNT];
    json_t *o = json_object(), *jobs = json_object();
    (void)req;

    if (!o || !jobs) {
        json_decref(o);
        json_decref(jobs);
        srv_problem(r, 500, "internal-error", "out of memory", NULL);
        return;
    }
    srv_registry_count(app->registry, counts);
    for (int s = 0; s < SRV_JOB_STATE_COUNT; s++)
        json_object_set_new(jobs, srv_job_state_name((enum srv_job_state)s),
                            json_integer((json_int_t)counts[s]));
    json_object_set_new(o, "status", json_string("ok"));
    json_object_set_new(o, "version", json_string(SRV_VERSION));
    json_object_set_new(o, "uptime_seconds", json_real(srv_now_mono() - app->started_mono));
    json_object_set_new(o, "workers", json_integer(app->cfg.workers));
    json_object_set_new(o, "workers_busy", json_integer(atomic_load(&app->metrics.workers_busy)));
    json_object_set_new(o, "threads_per_job", json_integer(app->cfg.threads_per_job));
    json_object_set_new(o, "queue_length", json_integer((json_int_t)srv_queue_length(app->queue)));
    json_object_set_new(o, "queue_capacity",
                        json_integer((json_int_t)srv_queue_capacity(app->queue)));
    json_object_set_new(o, "jobs", jobs);
    json_object_set_new(o, "auth_required", json_boolean(app->token[0] != '\0'));
    json_object_set_new(o, "tensorboard_url", json_string(app->tensorboard_url));
    json_object_set_new(o, "logdir", json_string(app->logdir));
    json_object_set_new(o, "default_dataset", json_string(app->default_dataset));
    srv_response_json(r, 200, o);
    json_decref(o);
}

void srv_api_openapi(struct srv_app *app, const struct srv_request *req, struct srv_response *r)
{
    (void)req;
    srv_response_text(r, 200, "application/json", app->openapi, app->openapi_len);
}

void srv_api_prometheus(struct srv_app *app, const struct srv_request *req, struct srv_response *r)
{
    size_t len = 0;
    char *text = srv_metrics_render(app, &len);
    (void)req;
    if (!text) {
        srv_problem(r, 500, "internal-error", "out of memory", NULL);
        return;
    }
    srv_response_take(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}
