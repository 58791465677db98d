/*
 * fuzz_jobspec.c - libFuzzer harness: the body of POST /api/jobs.
 *
 * Runs exactly what srv_api_jobs_create does with a body before it touches
 * the queue or the database: srv_response_parse_json, srv_jobspec_validate against
 * the daemon's real data set names (two daemon set-ups: both data sets
 * installed, and only one with the default missing), the problem response
 * built from the errors, the canonical dump hashed for Idempotency-Key, and
 * the settings JSON stored in the database and read back at restart.
 *
 * Properties checked (FUZZ_CHECK), besides "no crash, no leak, no UB":
 *   - an accepted spec passes ae_config_check, names a real model and an
 *     installed data set, and its name obeys the documented limits;
 *   - its stored settings reload (srv_jobspec_from_settings) to the same
 *     config, so a restart never changes a job;
 *   - a rejected spec yields a message and a problem+json body that parses
 *     and carries status, code and detail;
 *   - the canonical dump reparses to an equal value.
 * Does not: create jobs or open a socket (fuzz_http.c does the full path).
 */
#include <jansson.h>
#include <string.h>

#include "fuzz.h"
#include "server/srv_data.h"
#include "server/srv_jobspec.h"
#include "server/srv_response.h"

static bool same_cfg(const struct ae_config *a, const struct ae_config *b)
{
    size_t n;
    const struct ae_setting *t = ae_settings(&n);
    if (a->model != b->model) return false;
    for (size_t i = 0; i < n; i++) {
        double va, vb;
        if (!srv_setting_applies(&t[i], a->model) || !strcmp(t[i].name, "threads")) continue;
        if (ae_config_get(a, t[i].name, &va) != AE_OK || ae_config_get(b, t[i].name, &vb) != AE_OK)
            return false;
        if (va != vb) return false;
    }
    return true;
}

static void check_problem_body(const struct srv_response *r)
{
    json_error_t je;
    json_t *b;
    FUZZ_CHECK(r->status == 400 && r->body != NULL);
    b = json_loadb(r->body, r->body_len, 0, &je);
    FUZZ_CHECK(json_is_object(b));
    FUZZ_CHECK(json_integer_value(json_object_get(b, "status")) == 400);
    FUZZ_CHECK(json_is_string(json_object_get(b, "detail")));
    FUZZ_CHECK(json_is_string(json_object_get(b, "code")));
    json_decref(b);
}

static void validate(const json_t *spec, const struct srv_jobspec_env *env)
{
    struct srv_jobspec js;
    struct ae_err e = {0};
    json_t *problem = NULL;

    if (srv_jobspec_validate(spec, env, &js, &problem, &e) == SRV_OK) {
        struct ae_config back;
        enum ae_model_kind kind;
        json_t *settings, *reloaded;
        char *text;
        json_error_t je;
        bool installed = false;

        FUZZ_CHECK(problem == NULL);
        FUZZ_CHECK(ae_config_check(&js.cfg, &e) == AE_OK);
        FUZZ_CHECK(ae_model_parse(js.model, &kind) && kind == js.cfg.model);
        for (size_t i = 0; i < env->n_installed; i++)
            installed |= strcmp(js.dataset, env->installed[i]) == 0;
        FUZZ_CHECK(installed);
        FUZZ_CHECK(strlen(js.name) <= SRV_JOB_NAME_MAX);
        for (const char *c = js.name; *c; c++)
            FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);

        /* What the database stores, and what a restart rebuilds from it. */
        settings = srv_jobspec_settings_json(&js.cfg);
        FUZZ_CHECK(settings != NULL);
        text = json_dumps(settings, JSON_COMPACT);
        FUZZ_CHECK(text != NULL);
        reloaded = json_loads(text, 0, &je);
        FUZZ_CHECK(reloaded != NULL);
        FUZZ_CHECK(srv_jobspec_from_settings(js.model, reloaded, &back, &e) == SRV_OK);
        FUZZ_CHECK(same_cfg(&js.cfg, &back));
        json_decref(reloaded);
        free(text);
        json_decref(settings);
    } else {
        struct srv_response r;
        const char *code = "invalid-setting";
        json_t *c = problem ? json_object_get(problem, "code") : NULL;
        FUZZ_CHECK(e.msg[0] != '\0');
        FUZZ_CHECK(json_is_object(problem));
        if (json_is_string(c)) code = json_string_value(c);
        srv_response_init(&r);
        srv_response_problem(&r, 400, code, e.msg, problem); /* steals problem */
        check_problem_body(&r);
        srv_response_fini(&r);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const both[] = {"mnist", "fashion-mnist"};
    static const char *const one[] = {"mnist"};
    const struct srv_jobspec_env env_all = {
        .known = srv_data_names, .n_known = SRV_DATA_N_SETS,
        .installed = both, .n_installed = 2,
        .default_dataset = "mnist", .default_threads = 2,
        .canonical = srv_data_canonical,
    };
    const struct srv_jobspec_env env_one = {
        .known = srv_data_names, .n_known = SRV_DATA_N_SETS,
        .installed = one, .n_installed = 1,
        .default_dataset = "fashion-mnist", .default_threads = 0,
        .canonical = srv_data_canonical,
    };
    json_t *spec = NULL;
    struct ae_err e = {0};
    int line = 0, col = 0;

    if (srv_response_parse_json((const char *)data, size, &spec, &line, &col, &e) != SRV_OK) {
        struct srv_response r;
        FUZZ_CHECK(spec == NULL && e.msg[0] != '\0');
        /* The malformed-json answer, as the handler builds it. */
        srv_response_init(&r);
        srv_response_problem(&r, 400, "malformed-json", e.msg, NULL);
        check_problem_body(&r);
        srv_response_fini(&r);
        return 0;
    }

    /* The Idempotency-Key hash covers this canonical form. */
    {
        char *canon = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        json_error_t je;
        json_t *again;
        FUZZ_CHECK(canon != NULL);
        again = json_loads(canon, JSON_DECODE_ANY, &je);
        FUZZ_CHECK(again != NULL && json_equal(again, spec));
        json_decref(again);
        free(canon);
    }

    validate(spec, &env_all);
    validate(spec, &env_one);
    json_decref(spec);
    return 0;
}
