/*
 * cli_settings.c - the engine's settings as command-line flags.
 *
 * Owns: turning `--batch-size 128` into ae_config_set("batch_size", 128),
 * the one-line usage errors for bad values, and the settings part of every
 * subcommand's --help.
 *
 * Does not: know any setting by name (beyond `threads`, which the CLI
 * defaults to the machine's cores): names, types, ranges, defaults and the
 * models each applies to all come from ae_settings(), so a setting added to
 * the engine's table is a flag here with no change.
 *
 * Design: settings are collected while the arguments are scanned and applied
 * afterwards, because their defaults depend on the model (and, for --resume,
 * on the checkpoint's config), which may come later on the command line.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_flag_value(const char *cmd, int argc, char **argv, int *i, const char *name,
                   const char **value)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0) return 0;
    if (a[2 + n] == '=') {
        *value = a + 3 + n;
        return 1;
    }
    if (a[2 + n] != '\0') return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "aelab %s: --%s needs a value\n", cmd, name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

/* "--batch-size" or "--batch_size" -> the table entry for "batch_size". */
static const struct ae_setting *find_flag(const char *flag, size_t len)
{
    char name[64];
    if (len == 0 || len >= sizeof name) return NULL;
    for (size_t k = 0; k < len; k++) name[k] = flag[k] == '-' ? '_' : flag[k];
    name[len] = '\0';
    return ae_setting_find(name);
}

int cli_settings_take(const char *cmd, struct cli_settings *s, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (strncmp(a, "--", 2) != 0) return 0;
    const char *eq = strchr(a + 2, '=');
    size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
    const struct ae_setting *set = find_flag(a + 2, len);
    bool is_threads = len == 7 && strncmp(a + 2, "threads", 7) == 0;
    if (!set && !is_threads) return 0;
    const char *value;
    if (eq) {
        value = eq + 1;
    } else {
        if (*i + 1 >= argc) {
            fprintf(stderr, "aelab %s: %s needs a value\n", cmd, a);
            return -1;
        }
        value = argv[++*i];
    }
    if (s->n >= CLI_MAX_SETTINGS) {
        fprintf(stderr, "aelab %s: too many settings\n", cmd);
        return -1;
    }
    s->setting[s->n] = set; /* NULL: --threads outside the table */
    s->value[s->n] = value;
    s->flag[s->n] = a;
    s->n++;
    if (is_threads) s->threads_given = true;
    return 1;
}

/* The flag part of "--x=1" for messages. */
static void flag_name(const char *typed, char *out, size_t len)
{
    const char *eq = strchr(typed, '=');
    size_t n = eq ? (size_t)(eq - typed) : strlen(typed);
    if (n >= len) n = len - 1;
    memcpy(out, typed, n);
    out[n] = '\0';
}

static void models_of(unsigned mask, char *out, size_t len)
{
    out[0] = '\0';
    for (int k = 0; k < AE_MODEL_COUNT; k++) {
        if (!(mask & (1u << k))) continue;
        size_t used = strlen(out);
        snprintf(out + used, len - used, "%s%s", used ? ", " : "", ae_model_name(k));
    }
}

bool cli_settings_apply(const char *cmd, const struct cli_settings *s, struct ae_config *cfg)
{
    for (int k = 0; k < s->n; k++) {
        char flag[80];
        flag_name(s->flag[k], flag, sizeof flag);
        const char *v = s->value[k];
        char *end = NULL;
        errno = 0;
        double x = strtod(v, &end);
        if (!*v || *end || errno == ERANGE || !isfinite(x)) {
            fprintf(stderr, "aelab %s: %s: '%s' is not a number\n", cmd, flag, v);
            return false;
        }
        const struct ae_setting *set = s->setting[k];
        if (!set) { /* --threads, when the table has no such setting */
            if (x != floor(x) || x < 1 || x > 256) {
                fprintf(stderr, "aelab %s: %s: %s is out of range (a whole number in [1, 256])\n",
                        cmd, flag, v);
                return false;
            }
            cfg->threads = (int32_t)x;
            continue;
        }
        if (!(set->models & (1u << cfg->model))) {
            char models[128];
            models_of(set->models, models, sizeof models);
            fprintf(stderr, "aelab %s: %s does not apply to model %s (only to %s)\n", cmd, flag,
                    ae_model_name(cfg->model), models);
            return false;
        }
        struct ae_err err = {0};
        if (ae_config_set(cfg, set->name, x, &err) != AE_OK) {
            fprintf(stderr, "aelab %s: %s: %s\n", cmd, flag, err.msg);
            return false;
        }
    }
    return true;
}

bool cli_model_parse(const char *cmd, const char *name, enum ae_model_kind *kind)
{
    if (name && ae_model_parse(name, kind)) return true;
    char models[128];
    models_of((1u << AE_MODEL_COUNT) - 1, models, sizeof models);
    if (name)
        fprintf(stderr, "aelab %s: --model: unknown model '%s' (valid: %s)\n", cmd, name, models);
    else
        fprintf(stderr, "aelab %s: --model is required (one of: %s)\n", cmd, models);
    return false;
}

/* A value as a person would write it: whole numbers without a fraction. */
static void fmt_value(double v, char *out, size_t len)
{
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(out, len, "%.0f", v);
    else
        snprintf(out, len, "%g", v);
}

void cli_settings_help(FILE *out)
{
    size_t n = 0;
    const struct ae_setting *tab = ae_settings(&n);
    for (size_t k = 0; k < n; k++) {
        const struct ae_setting *s = &tab[k];
        char flag[64], lo[32], hi[32];
        snprintf(flag, sizeof flag, "--%s", s->name);
        for (char *p = flag + 2; *p; p++)
            if (*p == '_') *p = '-';
        fmt_value(s->min, lo, sizeof lo);
        fmt_value(s->max, hi, sizeof hi);
        fprintf(out, "  %-20s %s\n", flag, s->help ? s->help : "");
        /* Defaults per model, grouped where models share a value. */
        char defaults[256] = "";
        bool done[AE_MODEL_COUNT] = {0};
        int n_groups = 0;
        for (int m = 0; m < AE_MODEL_COUNT; m++) {
            if (done[m] || !(s->models & (1u << m))) continue;
            struct ae_config c;
            double v = 0, w = 0;
            ae_config_defaults(&c, (enum ae_model_kind)m);
            ae_config_get(&c, s->name, &v);
            unsigned group = 0;
            for (int m2 = m; m2 < AE_MODEL_COUNT; m2++) {
                if (done[m2] || !(s->models & (1u << m2))) continue;
                ae_config_defaults(&c, (enum ae_model_kind)m2);
                ae_config_get(&c, s->name, &w);
                if (w == v) {
                    group |= 1u << m2;
                    done[m2] = true;
                }
            }
            char val[32], models[128];
            fmt_value(v, val, sizeof val);
            models_of(group, models, sizeof models);
            size_t used = strlen(defaults);
            snprintf(defaults + used, sizeof defaults - used, "%s%s (%s)", n_groups ? ", " : "",
                     val, models);
            n_groups++;
        }
        if (n_groups == 1) {
            /* One default for every model it applies to: drop the list. */
            char *paren = strstr(defaults, " (");
            if (paren && (s->models & ((1u << AE_MODEL_COUNT) - 1)) == (1u << AE_MODEL_COUNT) - 1)
                *paren = '\0';
        }
        fprintf(out, "  %-20s default %s; %s in [%s, %s]\n", "", defaults,
                s->type == AE_SETTING_INT ? "whole number" : "number", lo, hi);
    }
    if (!ae_setting_find("threads"))
        fprintf(out, "  %-20s worker threads of the trainer\n"
                     "  %-20s default %d (this machine's cores); whole number in [1, 256]\n",
                "--threads", "", cli_default_threads());
}

int cli_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    const struct ae_setting *s = ae_setting_find("threads");
    double hi = s ? s->max : 256;
    if ((double)n > hi) n = (long)hi;
    return (int)n;
}
