/*
 * test_srv_jobspec.c - job spec validation (srv_jobspec.c) against the
 * engine's real settings table: defaults, every kind of bad field, the
 * problem object's members, and the settings JSON round trip used when
 * jobs are reloaded from the database.
 */
#include <string.h>

#include "check.h"
#include "server/srv_jobspec.h"
#include "server/srv_response.h"

static const char *known[] = {"mnist", "fashion-mnist"};
static const char *installed[] = {"mnist"};

static const char *canon(const char *n)
{
    return strcmp(n, "fashion_mnist") == 0 ? "fashion-mnist" : NULL;
}

static const struct srv_jobspec_env env = {
    .known = known, .n_known = 2, .installed = installed, .n_installed = 1,
    .default_dataset = "mnist", .default_threads = 3, .canonical = canon,
};

/* Validate text; returns the status and leaves the problem in *pb. */
static enum srv_status run(const char *text, struct srv_jobspec *js, json_t **pb,
                           struct ae_err *e)
{
    json_t *spec = NULL;
    enum srv_status st = srv_response_parse_json(text, strlen(text), &spec, NULL, NULL, e);
    if (st != SRV_OK) return st;
    st = srv_jobspec_validate(spec, &env, js, pb, e);
    json_decref(spec);
    return st;
}

static const char *pcode(json_t *pb)
{
    return json_string_value(json_object_get(pb, "code"));
}

int main(void)
{
    struct srv_jobspec js;
    struct ae_err e = {0};
    json_t *pb = NULL;

    /* Defaults come from the engine, threads from the daemon. */
    CHECK_EQ_INT(run("{\"model\":\"conv\"}", &js, &pb, &e), SRV_OK);
    CHECK(pb == NULL);
    CHECK_EQ_STR(js.model, "conv");
    CHECK_EQ_STR(js.dataset, "mnist");
    CHECK_EQ_STR(js.name, "");
    CHECK_EQ_INT(js.cfg.model, AE_MODEL_CONV);
    CHECK_EQ_INT(js.cfg.batch_size, 128);
    CHECK_EQ_INT(js.cfg.epochs, 50);
    CHECK_EQ_INT(js.cfg.threads, 3);

    CHECK_EQ_INT(run("{\"model\":\"denoise\",\"epochs\":7,\"noise_factor\":0.25,\"name\":\"n1\","
                     "\"seed\":null,\"threads\":1}",
                     &js, &pb, &e),
                 SRV_OK);
    CHECK_EQ_INT(js.cfg.epochs, 7);
    CHECK_NEAR(js.cfg.noise_factor, 0.25, 0);
    CHECK_EQ_INT(js.cfg.seed, 1); /* null keeps the default */
    CHECK_EQ_INT(js.cfg.threads, 1);
    CHECK_EQ_STR(js.name, "n1");

    /* Data set aliases map to the canonical name; others must be known and installed. */
    CHECK_EQ_INT(run("{\"model\":\"vae\",\"dataset\":\"fashion_mnist\"}", &js, &pb, &e),
                 SRV_ERR_ARG);
    CHECK_EQ_STR(pcode(pb), "dataset-not-installed");
    CHECK(strstr(e.msg, "'fashion-mnist' is not installed") && strstr(e.msg, "installed: mnist"));
    json_decref(pb);
    CHECK_EQ_INT(run("{\"model\":\"vae\",\"dataset\":\"svhn\"}", &js, &pb, &e), SRV_ERR_ARG);
    CHECK_EQ_STR(pcode(pb), "unknown-dataset");
    CHECK_EQ_INT(json_array_size(json_object_get(pb, "valid")), 2);
    json_decref(pb);

    /* Body shape and model. */
    CHECK_EQ_INT(run("[]", &js, &pb, &e), SRV_ERR_ARG);
    CHECK_EQ_STR(pcode(pb), "not-an-object");
    json_decref(pb);
    CHECK_EQ_INT(run("{}", &js, &pb, &e), SRV_ERR_ARG);
    CHECK_EQ_STR(pcode(pb), "missing-model");
    json_decref(pb);
    CHECK_EQ_INT(run("{\"model\":7}", &js, &pb, &e), SRV_ERR_ARG);
    CHECK_EQ_STR(pcode(pb), "wrong-type");
    json_decref(pb);
    CHECK_EQ_INT(run("{\"model\":\"CONV\"}", &js, &pb, &e), SRV_ERR_ARG);
    CHECK_EQ_STR(pcode(pb), "unknown-model");
    CHECK_EQ_STR(json_string_value(json_object_get(pb, "field")), "model");
    CHECK_EQ_INT(json_array_size(json_object_get(pb, "valid")), AE_MODEL_COUNT);
    json_decref(pb);

    /* Fields: unknown, not for this model, wrong type, out of range (the
     * engine's message), not whole; all reported together. */
    CHECK_EQ_INT(run("{\"model\":\"simple\",\"epohcs\":3,\"latent_dim\":2,\"l1\":\"x\","
                     "\"batch_size\":0,\"learning_rate\":0.5,\"seed\":1.5}",
                     &js, &pb, &e),
                 SRV_ERR_ARG);
    {
        json_t *errs = json_object_get(pb, "errors");
        size_t i;
        json_t *x;
        char seen[400] = "";
        CHECK_EQ_INT(json_array_size(errs), 5);
        json_array_foreach(errs, i, x) {
            strcat(seen, json_string_value(json_object_get(x, "field")));
            strcat(seen, ":");
            strcat(seen, json_string_value(json_object_get(x, "code")));
            strcat(seen, " ");
        }
        CHECK(strstr(seen, "epohcs:unknown-field"));
        CHECK(strstr(seen, "latent_dim:unknown-field"));
        CHECK(strstr(seen, "l1:unknown-field")); /* l1 is sparse-only */
        CHECK(strstr(seen, "batch_size:invalid-setting"));
        CHECK(strstr(seen, "seed:invalid-setting"));
    }
    CHECK(strstr(e.msg, "unknown field 'epohcs'") && strstr(e.msg, "epochs"));
    CHECK(strstr(e.msg, "'latent_dim' does not apply to model simple (only to vae)"));
    CHECK(strstr(e.msg, "batch_size"));
    json_decref(pb);
    CHECK_EQ_INT(run("{\"model\":\"sparse\",\"l1\":\"x\"}", &js, &pb, &e), SRV_ERR_ARG);
    CHECK_EQ_STR(pcode(pb), "wrong-type");
    CHECK(strstr(e.msg, "'l1' must be a number"));
    json_decref(pb);
    CHECK_EQ_INT(run("{\"model\":\"sparse\",\"epochs\":100001}", &js, &pb, &e), SRV_ERR_ARG);
    CHECK_EQ_STR(pcode(pb), "invalid-setting");
    CHECK(strstr(e.msg, "epochs") && strstr(e.msg, "100000"));
    json_decref(pb);

    /* Names. */
    {
        char big[300];
        snprintf(big, sizeof big, "{\"model\":\"deep\",\"name\":\"%0101d\"}", 0);
        CHECK_EQ_INT(run(big, &js, &pb, &e), SRV_ERR_ARG);
        CHECK_EQ_STR(pcode(pb), "invalid-name");
        json_decref(pb);
    }
    CHECK_EQ_INT(run("{\"model\":\"deep\",\"name\":\"tab\\there\"}", &js, &pb, &e), SRV_ERR_ARG);
    json_decref(pb);
    CHECK_EQ_INT(run("{\"model\":\"deep\",\"name\":\"caf\\u00e9 \\u2603\"}", &js, &pb, &e), SRV_OK);

    /* Malformed JSON: line and column. */
    {
        int line = 0, col = 0;
        json_t *j = NULL;
        const char *bad = "{\n\"model\": \"conv\"\n\"epochs\": 3}";
        CHECK_EQ_INT(srv_response_parse_json(bad, strlen(bad), &j, &line, &col, &e), SRV_ERR_ARG);
        CHECK_EQ_INT(line, 3);
        CHECK(strstr(e.msg, "line 3, column"));
        CHECK_EQ_INT(srv_response_parse_json("", 0, &j, NULL, NULL, &e), SRV_ERR_ARG);
        CHECK(strstr(e.msg, "empty"));
        CHECK_EQ_INT(srv_response_parse_json("{\"a\":1,\"a\":2}", 13, &j, NULL, NULL, &e),
                                             SRV_ERR_ARG);
    }

    /* Settings JSON round trip (what the database stores). */
    {
        struct ae_config back;
        json_t *s;
        CHECK_EQ_INT(run("{\"model\":\"sparse\",\"epochs\":9,\"l1\":0.0001,\"seed\":"
                         "9007199254740991}",
                         &js, &pb, &e),
                     SRV_OK);
        s = srv_jobspec_settings_json(&js.cfg);
        CHECK(json_is_integer(json_object_get(s, "epochs")));
        CHECK(json_is_real(json_object_get(s, "l1")));
        CHECK(json_object_get(s, "noise_factor") == NULL);
        CHECK_EQ_INT(srv_jobspec_from_settings("sparse", s, &back, &e), SRV_OK);
        CHECK(memcmp(&back, &js.cfg, sizeof back) == 0);
        CHECK_EQ_INT(back.seed, 9007199254740991ULL);
        CHECK_EQ_INT(srv_jobspec_from_settings("nope", s, &back, &e), SRV_ERR_ARG);
        json_object_set_new(s, "epochs", json_string("x"));
        CHECK_EQ_INT(srv_jobspec_from_settings("sparse", s, &back, &e), SRV_ERR_ARG);
        json_decref(s);
    }
    return check_summary("test_srv_jobspec");
}
