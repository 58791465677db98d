/*
 * srv_app.c - the daemon's shared state (see srv_app.h): where a job's run
 * directory is, and removing a run or sweep directory (?purge=true).
 */
#include "srv_app.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

#include "srv_job.h"

/* See srv_app.h. */
int srv_app_run_dir(const struct srv_app *app, const struct srv_job *j, char *buf, size_t len)
{
    return snprintf(buf, len, "%s/%s", app->logdir, j->run_name);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* See srv_app.h.  Depth first, so a directory is empty when it is removed;
 * symbolic links are removed, never followed. */
int srv_app_remove_tree(const char *dir)
{
    if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 || errno == ENOENT) return 0;
    return errno ? errno : EIO;
}
