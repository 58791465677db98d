/*
 * cli.h - the subcommands of the `aelab` command-line tool.
 *
 * Each subcommand is a main()-like function that server/aelab.c dispatches
 * to: argv[0] is the subcommand's name, the rest its arguments.  Each returns
 * the process exit status and may print; nothing here is used by aelabd.
 */
#ifndef CLI_H
#define CLI_H

/* `aelab events FILE [--json]`: print every record of a TensorBoard event
 * file (index, offset, wall time, step, what it holds) and any damage, as
 * text or as one JSON object per line.  Exit status: 0 the file is whole,
 * 1 it has damage (CRC error, truncated or undecodable record), 2 usage
 * error or the file cannot be opened. */
int cli_events_main(int argc, char **argv);

#endif /* CLI_H */
