/*
 * srv_data.c - data sets by name: where their files are, and one shared,
 * read-only copy of each per process.
 *
 * Owns: the list of names and aliases, the search path, and the registry of
 * loaded data sets with their reference counts.
 *
 * Does not: parse IDX files (core's ae_dataset_load does), or free a data
 * set someone still holds.
 *
 * Design: one mutex guards the table, but no lock is held while a data set
 * is read from disk (a second or two for a gzipped training set).  An entry
 * being loaded is marked LOADING; anyone else asking for it waits on a
 * condition variable for that load to finish, so a data set is read once no
 * matter how many workers start at the same moment.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "srv_data.h"
#include "srv_data_sums.h"

const char *const srv_data_names[SRV_DATA_N_SETS] = {"mnist", "fashion-mnist"};

/* Debian's dataset-fashion-mnist installs the four .gz files here. */
#define DEBIAN_FASHION_DIR "/usr/share/datasets/fashion-mnist"

static const char *const file_names[4] = {
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
};

enum entry_state { ENTRY_EMPTY, ENTRY_LOADING, ENTRY_READY };

struct entry {
    enum entry_state state;
    struct ae_dataset *ds;
    int refs;
};

struct srv_data {
    char *data_dir; /* NULL: the defaults */
    pthread_mutex_t lock;
    pthread_cond_t loaded; /* broadcast when a LOADING entry changes state */
    struct entry sets[SRV_DATA_N_SETS];
};

static int name_index(const char *name)
{
    if (!name) return -1;
    if (strcmp(name, "mnist") == 0) return 0;
    if (strcmp(name, "fashion-mnist") == 0 || strcmp(name, "fashion_mnist") == 0) return 1;
    return -1;
}

const char *srv_data_canonical(const char *name)
{
    int i = name_index(name);
    return i < 0 ? NULL : srv_data_names[i];
}

/* Is file i of the four in dir (plain or .gz)? */
static bool has_file(const char *dir, int i)
{
    char path[4096];
    struct stat sb;
    int n = snprintf(path, sizeof path, "%s/%s", dir, file_names[i]);
    if (n < 0 || (size_t)n + 3 >= sizeof path) return false;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) return true;
    strcat(path, ".gz");
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Does dir hold all four files? */
static bool has_files(const char *dir)
{
    for (int i = 0; i < 4; i++)
        if (!has_file(dir, i)) return false;
    return true;
}

enum ae_status srv_data_resolve(const char *name, const char *data_dir, char *dir, size_t len,
                                struct ae_err *err)
{
    int idx = name_index(name);
    if (idx < 0)
        return ae_err_set(err, AE_ERR_ARG, "unknown data set '%s' (valid: mnist, fashion-mnist)",
                          name ? name : "(null)");
    const char *canon = srv_data_names[idx];

    char cand[3][4096];
    int n_cand = 0;
    /* --data-dir replaces the default search path.  A directory holding the
     * four files directly is "the directory the user points at" for mnist
     * only: taking it for fashion-mnist too would train on the wrong images
     * under the wrong name. */
    if (data_dir && *data_dir) {
        snprintf(cand[n_cand++], sizeof cand[0], "%s/%s", data_dir, canon);
        if (idx == 0) snprintf(cand[n_cand++], sizeof cand[0], "%s", data_dir);
    } else {
        snprintf(cand[n_cand++], sizeof cand[0], "data/%s", canon);
        if (idx == 1) snprintf(cand[n_cand++], sizeof cand[0], "%s", DEBIAN_FASHION_DIR);
    }
    for (int i = 0; i < n_cand; i++) {
        if (!has_files(cand[i])) continue;
        if ((size_t)snprintf(dir, len, "%s", cand[i]) >= len)
            return ae_err_set(err, AE_ERR_ARG, "%s: path too long", cand[i]);
        return AE_OK;
    }
    char looked[sizeof cand + 16] = "";
    /* A directory holding some of the files is most likely the one meant
     * (a file deleted or renamed): say which are missing there. */
    char partial[4096 + 200] = "";
    for (int i = 0; i < n_cand; i++) {
        size_t used = strlen(looked);
        snprintf(looked + used, sizeof looked - used, "%s%s/", i ? ", " : "", cand[i]);
        int have = 0;
        for (int k = 0; k < 4; k++) have += has_file(cand[i], k);
        if (partial[0] || have == 0) continue;
        snprintf(partial, sizeof partial, "; %s/ lacks", cand[i]);
        for (int k = 0; k < 4; k++) {
            if (has_file(cand[i], k)) continue;
            used = strlen(partial);
            snprintf(partial + used, sizeof partial - used, " %s", file_names[k]);
        }
    }
    return ae_err_set(err, AE_ERR_IO,
                      "data set %s not found: none of %s holds the four IDX files "
                      "(train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                      "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each plain or .gz)%s%s",
                      canon, looked, partial,
                      idx == 1 ? "; install Debian's dataset-fashion-mnist or pass --data-dir"
                               : "; put them in ./data/mnist/ or pass --data-dir");
}

enum ae_status srv_data_new(const char *data_dir, struct srv_data **out, struct ae_err *err)
{
    if (!out) return ae_err_set(err, AE_ERR_ARG, "srv_data_new: NULL argument");
    struct srv_data *d = calloc(1, sizeof *d);
    if (!d) return ae_err_set(err, AE_ERR_NOMEM, "out of memory");
    if (data_dir && *data_dir && !(d->data_dir = strdup(data_dir))) {
        free(d);
        return ae_err_set(err, AE_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->loaded, NULL);
    *out = d;
    return AE_OK;
}

void srv_data_free(struct srv_data *d)
{
    if (!d) return;
    for (int i = 0; i < SRV_DATA_N_SETS; i++) ae_dataset_free(d->sets[i].ds);
    pthread_cond_destroy(&d->loaded);
    pthread_mutex_destroy(&d->lock);
    free(d->data_dir);
    free(d);
}

enum ae_status srv_data_get(struct srv_data *d, const char *name, const struct ae_dataset **ds,
                            const char **canonical, struct ae_err *err)
{
    if (!d || !ds) return ae_err_set(err, AE_ERR_ARG, "srv_data_get: NULL argument");
    *ds = NULL;
    int idx = name_index(name);
    if (idx < 0)
        return ae_err_set(err, AE_ERR_ARG, "unknown data set '%s' (valid: mnist, fashion-mnist)",
                          name ? name : "(null)");
    if (canonical) *canonical = srv_data_names[idx];
    struct entry *e = &d->sets[idx];

    pthread_mutex_lock(&d->lock);
    while (e->state == ENTRY_LOADING) pthread_cond_wait(&d->loaded, &d->lock);
    if (e->state == ENTRY_READY) {
        e->refs++;
        *ds = e->ds;
        pthread_mutex_unlock(&d->lock);
        return AE_OK;
    }
    e->state = ENTRY_LOADING;
    pthread_mutex_unlock(&d->lock);

    /* Load without the lock. */
    char dir[4096];
    struct ae_dataset *loaded = NULL;
    enum ae_status st = srv_data_resolve(name, d->data_dir, dir, sizeof dir, err);
    /* MNIST is held to the sums of the files the repository ships. */
    if (st == AE_OK && idx == 0) st = srv_data_sums_check(dir, err);
    if (st == AE_OK) st = ae_dataset_load(dir, &loaded, err);

    pthread_mutex_lock(&d->lock);
    if (st == AE_OK) {
        e->ds = loaded;
        e->refs = 1;
        e->state = ENTRY_READY;
        *ds = loaded;
    } else {
        e->state = ENTRY_EMPTY;
    }
    pthread_cond_broadcast(&d->loaded);
    pthread_mutex_unlock(&d->lock);
    return st;
}

void srv_data_put(struct srv_data *d, const struct ae_dataset *ds)
{
    if (!d || !ds) return;
    pthread_mutex_lock(&d->lock);
    for (int i = 0; i < SRV_DATA_N_SETS; i++)
        if (d->sets[i].ds == ds && d->sets[i].refs > 0) d->sets[i].refs--;
    pthread_mutex_unlock(&d->lock);
}

int srv_data_trim(struct srv_data *d)
{
    if (!d) return 0;
    struct ae_dataset *drop[SRV_DATA_N_SETS] = {0};
    int n = 0;
    pthread_mutex_lock(&d->lock);
    for (int i = 0; i < SRV_DATA_N_SETS; i++) {
        struct entry *e = &d->sets[i];
        if (e->state == ENTRY_READY && e->refs == 0) {
            drop[n++] = e->ds;
            e->ds = NULL;
            e->state = ENTRY_EMPTY;
        }
    }
    pthread_mutex_unlock(&d->lock);
    for (int i = 0; i < n; i++) ae_dataset_free(drop[i]);
    return n;
}

void srv_data_installed(const struct srv_data *d, bool installed[SRV_DATA_N_SETS])
{
    char dir[4096];
    for (int i = 0; i < SRV_DATA_N_SETS; i++)
        installed[i] = srv_data_resolve(srv_data_names[i], d ? d->data_dir : NULL, dir,
                                        sizeof dir, NULL) == AE_OK;
}
