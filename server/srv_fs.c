/*
 * srv_fs.c - file-system helpers for server/ (see srv_fs.h).
 *
 * Owns: creating directory chains for run directories and log dirs.  Does
 * not: decide names or layouts (srv_run.c and the CLI do).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "srv_fs.h"

enum ae_status srv_fs_mkdirs(const char *path, struct ae_err *err)
{
    char buf[4096];
    if (!path || !*path) return ae_err_set(err, AE_ERR_ARG, "empty directory path");
    if ((size_t)snprintf(buf, sizeof buf, "%s", path) >= sizeof buf)
        return ae_err_set(err, AE_ERR_ARG, "%.64s...: path too long", path);
    /* Each prefix ending at a '/', then the whole path. */
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return ae_err_set(err, AE_ERR_IO, "%s: cannot create directory: %s", buf,
                              strerror(errno));
        *p = saved;
        if (saved == '\0') break;
    }
    struct stat sb;
    if (stat(path, &sb) != 0)
        return ae_err_set(err, AE_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return ae_err_set(err, AE_ERR_IO, "%s: not a directory", path);
    return AE_OK;
}
