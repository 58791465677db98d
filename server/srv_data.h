/*
 * srv_data.h - data sets by name, each loaded once per process and shared.
 *
 * Names: "mnist" and "fashion-mnist" ("fashion_mnist" is accepted as an
 * alias).  Where the four IDX files are looked for, in order:
 *   with a data dir DIR:  DIR/<name>/, then DIR itself
 *   without:              ./data/<name>/, and for fashion-mnist
 *                         /usr/share/datasets/fashion-mnist (Debian's
 *                         dataset-fashion-mnist package)
 * A directory counts when it holds all four files (each plain or .gz).
 *
 * Threads: every function here is thread-safe.  A struct ae_dataset handed
 * out by srv_data_get is read-only and stays valid until the matching
 * srv_data_put; the daemon's workers share one copy.
 */
#ifndef SRV_DATA_H
#define SRV_DATA_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ae.h"

#define SRV_DATA_N_SETS 2

/* The canonical names, in a fixed order ("mnist", "fashion-mnist"). */
extern const char *const srv_data_names[SRV_DATA_N_SETS];

/* Canonical name of a data set name or alias; NULL if unknown. */
const char *srv_data_canonical(const char *name);

/* Find the directory holding name's four files (data_dir may be NULL).
 * Errors: AE_ERR_ARG for an unknown name (the message lists the valid ones),
 * AE_ERR_IO when no candidate directory holds the files (the message lists
 * the places looked in). */
enum ae_status srv_data_resolve(const char *name, const char *data_dir, char *dir, size_t len,
                                struct ae_err *err);

struct srv_data;

/* A registry that loads from data_dir (copied; may be NULL for the
 * defaults).  Caller frees with srv_data_free once every data set it
 * handed out was put back. */
enum ae_status srv_data_new(const char *data_dir, struct srv_data **out, struct ae_err *err);
void srv_data_free(struct srv_data *d);

/* The data set called name, loading it on first use (callers asking for
 * one that is being loaded wait for that load instead of starting a second
 * one).  A failed load is not remembered: the next call tries again.
 * *ds is borrowed until srv_data_put(d, *ds).  *canonical (may be NULL)
 * receives the canonical name (static storage). */
enum ae_status srv_data_get(struct srv_data *d, const char *name, const struct ae_dataset **ds,
                            const char **canonical, struct ae_err *err);
void srv_data_put(struct srv_data *d, const struct ae_dataset *ds);

/* Free the data sets nobody holds (a daemon may call this when idle); the
 * next srv_data_get loads them again.  Returns how many were freed. */
int srv_data_trim(struct srv_data *d);

/* Which data sets are installed: installed[i] tells whether
 * srv_data_names[i] resolves to a directory with all four files.  Looks at
 * the file system only (nothing is loaded). */
void srv_data_installed(const struct srv_data *d, bool installed[SRV_DATA_N_SETS]);

#endif /* SRV_DATA_H */
