/*
 * srv_fs.h - small file-system helpers shared by the job runner and the CLI.
 */
#ifndef SRV_FS_H
#define SRV_FS_H

#include "core/ae.h"

/* mkdir -p: create path and any missing parents (mode 0777 before umask).
 * Existing directories are fine.  Errors: AE_ERR_IO naming the directory
 * that could not be created and the errno text, or path naming something
 * that is not a directory; AE_ERR_ARG for a path over 4095 bytes.
 * Thread-safe. */
enum ae_status srv_fs_mkdirs(const char *path, struct ae_err *err);

#endif /* SRV_FS_H */
