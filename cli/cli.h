/*
 * cli.h - the `aelab` command-line tool: one entry point per subcommand,
 * called by the dispatcher in aelab.c with argv[0] = the subcommand's name,
 * and the helpers the subcommands share (cli_settings.c).
 *
 * Exit statuses: 0 success, 1 the job or its data failed, 2 bad usage (an
 * unknown flag, a value out of range: a one-line message names the flag and
 * the range), 130 stopped by SIGINT.
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "core/ae.h"

enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAIL = 1,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_INTERRUPTED = 130,
};

int cli_train_main(int argc, char **argv);
int cli_summary_main(int argc, char **argv);
/* `aelab events FILE [--json]` (proto/, cli/cli_events.c): every record of
 * a TensorBoard event file and any damage, as text or one JSON object per
 * line.  Exit 1 means the file is damaged (CRC error, truncated or
 * undecodable record). */
int cli_events_main(int argc, char **argv);

/* ------------------------------------------------------------------------ */
/* Shared flag handling (cli_settings.c)                                     */
/* ------------------------------------------------------------------------ */

/* If argv[*i] is `--name` or `--name=V`, take its value (the next argument
 * in the first form, advancing *i) into *value and return 1; return 0 if it
 * is another flag; print a usage error and return -1 if the value is
 * missing. */
int cli_flag_value(const char *cmd, int argc, char **argv, int *i, const char *name,
                   const char **value);

/* Settings given as `--<setting-with-dashes> V`, collected while parsing
 * and applied once the model (and so the defaults) is known. */
#define CLI_MAX_SETTINGS 64
struct cli_settings {
    int n;
    const struct ae_setting *setting[CLI_MAX_SETTINGS];
    const char *value[CLI_MAX_SETTINGS];
    const char *flag[CLI_MAX_SETTINGS]; /* as typed, for messages */
    bool threads_given;
};

/* If argv[*i] names a setting of the engine's table (or --threads), record it
 * and return 1; 0 if it names none; -1 after printing a usage error. */
int cli_settings_take(const char *cmd, struct cli_settings *s, int argc, char **argv, int *i);

/* Apply the recorded settings to cfg (whose model is already set), checking
 * each value's form, range and whether it applies to the model.  Prints a
 * one-line error naming the flag and returns false on the first bad one. */
bool cli_settings_apply(const char *cmd, const struct cli_settings *s, struct ae_config *cfg);

/* Parse a model name, printing a usage error listing the valid ones. */
bool cli_model_parse(const char *cmd, const char *name, enum ae_model_kind *kind);

/* Print every setting as a flag with its help, default(s) and range. */
void cli_settings_help(FILE *out);

/* The CLI's default thread count: the machine's online CPUs, within the
 * table's range. */
int cli_default_threads(void);

#endif /* CLI_H */
