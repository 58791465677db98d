/*
 * aelab.c - the `aelab` command: dispatch to a subcommand.
 *
 * Owns: the list of subcommands, top-level --help and --version, and the
 * exit status for an unknown command.  Each subcommand parses its own flags
 * (cli_*.c) and is called with argv[0] set to its name.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "srv_latent.h"

static const struct {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"train", cli_train_main, "train a model (Keras-like output, --json, --logdir)"},
    {"summary", cli_summary_main, "print a model's Keras-style summary table"},
    {"events", cli_events_main, "print the records of a TensorBoard event file"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: aelab <command> [options]\n\ncommands:\n");
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        fprintf(out, "  %-9s %s\n", commands[k].name, commands[k].help);
    fprintf(out, "\n`aelab <command> --help` describes each command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("aelab %s\n", AELAB_VERSION);
        return CLI_EXIT_OK;
    }
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
        if (strcmp(cmd, commands[k].name) == 0) {
            int status = commands[k].main(argc - 1, argv + 1);
            srv_latent_release_fonts(); /* what training's pictures cached */
            return status;
        }
    }
    fprintf(stderr, "aelab: unknown command '%s' (try aelab --help)\n", cmd);
    return CLI_EXIT_USAGE;
}
