/*
 * events_main.c - a stand-alone `aelab events` for the tests, so that
 * cli_events.c is tested before (and independently of) the aelab dispatcher.
 * Called like the real tool, `aelab-events-test events FILE [--json]`, it
 * hands cli_events_main what the dispatcher would: argv from "events" on.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "events") != 0) {
        fprintf(stderr, "usage: %s events FILE [--json]\n", argv[0]);
        return 2;
    }
    return cli_events_main(argc - 1, argv + 1);
}
