/*
 * cli_summary.c - `aelab summary`: print a model's Keras-style summary table.
 *
 * Owns: the summary subcommand's flags and output.  The table itself is the
 * engine's (ae_model_summary), the same text the daemon serves and the run
 * directory's text summary holds.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: aelab summary --model M [--<setting> V ...]\n"
            "\n"
            "Print the model's summary table as Keras' model.summary() does.\n"
            "\n"
            "  --model M   simple, sparse, deep, conv, denoise or vae\n"
            "  --help      this text\n"
            "\n"
            "Settings that change the model's shape (e.g. --encoding-dim) apply; all are\n"
            "accepted and checked:\n");
    cli_settings_help(out);
}

int cli_summary_main(int argc, char **argv)
{
    const char *model = NULL;
    struct cli_settings settings = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        int r = cli_flag_value("summary", argc, argv, &i, "model", &model);
        if (r < 0) return CLI_EXIT_USAGE;
        if (r == 1) continue;
        r = cli_settings_take("summary", &settings, argc, argv, &i);
        if (r < 0) return CLI_EXIT_USAGE;
        if (r == 1) continue;
        fprintf(stderr, "aelab summary: unknown option '%s' (see aelab summary --help)\n",
                argv[i]);
        return CLI_EXIT_USAGE;
    }
    enum ae_model_kind kind;
    if (!cli_model_parse("summary", model, &kind)) return CLI_EXIT_USAGE;
    struct ae_config cfg;
    ae_config_defaults(&cfg, kind);
    if (!cli_settings_apply("summary", &settings, &cfg)) return CLI_EXIT_USAGE;

    struct ae_err err = {0};
    struct ae_model *m = NULL;
    if (ae_model_new(&cfg, &m, &err) != AE_OK) {
        fprintf(stderr, "aelab summary: %s\n", err.msg);
        return CLI_EXIT_FAIL;
    }
    size_t need = ae_model_summary(m, NULL, 0);
    char *buf = malloc(need + 1);
    if (!buf) {
        ae_model_free(m);
        fprintf(stderr, "aelab summary: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    ae_model_summary(m, buf, need + 1);
    fputs(buf, stdout);
    if (need == 0 || buf[need - 1] != '\n') putchar('\n');
    free(buf);
    ae_model_free(m);
    return CLI_EXIT_OK;
}
