/*
 * srv_jobspec.h - validate a submitted job: JSON in, engine config out.
 *
 * A pure function of the body and the list of data sets (no I/O, no
 * globals), so it is unit-tested and fuzzed directly.  The settings, their
 * types, defaults and ranges all come from the engine's table
 * (ae_settings, ae_config_set), so the API accepts exactly what the CLI
 * accepts.  Besides the settings a spec has "model" (required), "dataset",
 * "name" and "keep" ("all" or "final": what stays on disk when it ends).
 */
#ifndef SRV_JOBSPEC_H
#define SRV_JOBSPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/ae.h"
#include "srv_status.h"

#define SRV_JOB_NAME_MAX 100 /* bytes */

/* What the validator needs to know about the daemon. */
struct srv_jobspec_env {
    const char *const *known;     /* every data set name the daemon knows */
    size_t n_known;
    const char *const *installed; /* the ones whose files are present */
    size_t n_installed;
    const char *default_dataset;  /* used when the spec has no "dataset" */
    int32_t default_threads;      /* cfg.threads unless the spec sets it */
    /* Maps an accepted alias to its canonical name ("fashion_mnist" ->
     * "fashion-mnist"); NULL when the name is not an alias.  May be NULL. */
    const char *(*canonical)(const char *name);
};

struct srv_jobspec {
    struct ae_config cfg;
    char model[16];
    char dataset[32];
    char name[SRV_JOB_NAME_MAX + 1]; /* "" when not given */
    bool keep_final;                 /* "keep": "final" (default "all") */
};

/* Validate a parsed spec.  On success fills out.  On failure returns
 * SRV_ERR_ARG, err->msg holds every problem (joined with "; "), and
 * *problem (when problem is not NULL) receives a new object with
 * "code" (first problem's kind: "not-an-object", "missing-model",
 * "unknown-model", "unknown-field", "wrong-type", "invalid-setting",
 * "unknown-dataset", "dataset-not-installed", "invalid-name", "invalid-value"), "field",
 * "valid" where a list applies, and "errors": [{field, code, detail}].
 * Thread-safe. */
enum srv_status srv_jobspec_validate(const json_t *spec, const struct srv_jobspec_env *env,
                                     struct srv_jobspec *out, json_t **problem,
                                     struct ae_err *err);

/* The settings of cfg that apply to its model, as a JSON object
 * {"epochs": 50, ...} (integers as integers).  New reference; NULL on OOM. */
json_t *srv_jobspec_settings_json(const struct ae_config *cfg);

/* Rebuild cfg from a model name and a settings object written by
 * srv_jobspec_settings_json (used when jobs are reloaded from the
 * database).  Errors name the bad setting. */
enum srv_status srv_jobspec_from_settings(const char *model, const json_t *settings,
                                          struct ae_config *cfg, struct ae_err *err);

/* Does setting s apply to model kind? */
bool srv_setting_applies(const struct ae_setting *s, enum ae_model_kind kind);

/* ------------------------------------------------------------------------ */
/* Problems: the RFC 9457 "errors" list both validators (jobs and sweeps)    */
/* collect, every problem rather than the first.                             */
/* ------------------------------------------------------------------------ */

struct srv_jobspec_problems {
    json_t *errors;      /* array of {field, code, detail} */
    json_t *first_valid; /* "valid" list of the first problem, or NULL */
    char msg[sizeof ((struct ae_err *)0)->msg]; /* every detail, joined with "; " */
    size_t msg_len;
    char first_code[32];  /* "" while there is no problem */
    char first_field[96];
};

/* Start an empty list (zeroes p).  False when out of memory. */
bool srv_jobspec_problems_init(struct srv_jobspec_problems *p);

/* Record one problem for field (NULL: the whole body) with a printf-style
 * detail; steals valid (may be NULL), kept as the answer's "valid" when this
 * is the first problem. */
void srv_jobspec_problem_add(struct srv_jobspec_problems *p, const char *field, const char *code,
                             json_t *valid,
                             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* End a list holding at least one problem: err gets SRV_ERR_ARG and every
 * detail, *problem (when problem is not NULL) a new object with "code" and
 * "field" of the first problem, its "valid" if any, and "errors"; p is
 * released.  Returns SRV_ERR_ARG. */
enum srv_status srv_jobspec_problems_fail(struct srv_jobspec_problems *p, json_t **problem,
                                          struct ae_err *err);

/* Release a list without answering (no problem, or nothing to report). */
void srv_jobspec_problems_fini(struct srv_jobspec_problems *p);

/* "an object", "a string", "a number", ... for error messages. */
const char *srv_jobspec_type_name(const json_t *v);

#endif /* SRV_JOBSPEC_H */
