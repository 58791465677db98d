/*
 * srv_app.c - the daemon's shared state (see srv_app.h): where a job's run
 * directory is.
 */
#include "srv_app.h"

#include <stdio.h>

#include "srv_job.h"

/* See srv_app.h. */
int srv_app_run_dir(const struct srv_app *app, const struct srv_job *j, char *buf, size_t len)
{
    return snprintf(buf, len, "%s/%s", app->logdir, j->run_name);
}
