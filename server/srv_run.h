/*
 * srv_run.h - one training job, start to finish, in its run directory.
 *
 * This is where core/ (the maths) meets proto/ (TensorBoard event files).
 * Both front ends use it, so a job trained by `aelab train --logdir DIR` and a
 * job trained by an aelabd worker leave exactly the same run directory:
 *
 *   <logdir>/<run>/events.out.tfevents.<time>.<host>.<pid>.<n>  one per (re)start
 *   <logdir>/<run>/checkpoint.aeck                               latest full checkpoint
 *   <logdir>/<run>/weights/epoch-0007.aew                        weights after each epoch
 *
 * No other name in a run directory contains "tfevents".
 *
 * srv_run_job() runs in the caller's thread (a worker or the CLI's main
 * thread), starts no threads besides the trainer's own, takes no locks and
 * prints nothing: it talks to its caller through the hooks.
 */
#ifndef SRV_RUN_H
#define SRV_RUN_H

#include <stdint.h>

#include "core/ae.h"

/* What the caller wants after a batch. */
enum srv_run_next {
    SRV_RUN_CONTINUE = 0,
    SRV_RUN_CANCEL,   /* stop now; the job ends as cancelled */
    SRV_RUN_SUSPEND,  /* checkpoint where we are and stop; a later srv_run_job resumes */
};

struct srv_run_hooks {
    /* Training starts (or resumes) at epoch start_epoch + 1. */
    void (*on_start)(void *user, int32_t start_epoch);
    /* After every batch. */
    void (*on_batch)(void *user, const struct ae_progress *p);
    /* After epoch s->epoch: its checkpoint, weights and event records are
     * on disk.  The daemon commits the metrics to SQLite here.  Also called,
     * on resume, for completed epochs the caller may not have recorded
     * (every epoch in the checkpoint's history; callers upsert).  Returning
     * an error fails the job with that error. */
    enum ae_status (*on_epoch)(void *user, const struct ae_epoch_stats *s, struct ae_err *err);
    /* Asked between batches. */
    enum srv_run_next (*next)(void *user);
    void *user;
};

struct srv_run_opts {
    const char *run_dir;          /* created if missing */
    const char *run_name;         /* shown in the text summary */
    int64_t job_id;               /* 0 for the CLI */
    const char *dataset_name;     /* "mnist", "fashion-mnist" */
    const struct ae_config *cfg;
    const struct ae_dataset *ds;  /* borrowed, read-only */
    double (*clock)(void);        /* wall time in seconds for event records; NULL = real time */
};

/* Train cfg->epochs epochs (resuming from run_dir/checkpoint.aeck when it
 * exists), writing event records, weights and checkpoints as it goes.
 * Returns AE_OK when every epoch is done, AE_ERR_CANCELLED when hooks->next
 * asked to stop (after SRV_RUN_SUSPEND the checkpoint is on disk), or an
 * error with the path and errno text (disk full, log dir removed, ...). */
enum ae_status srv_run_job(const struct srv_run_opts *o, const struct srv_run_hooks *h,
                           struct ae_err *err);

/* "<%04d id>-<model>", e.g. "0007-conv".  Returns snprintf's result. */
int srv_run_dir_name(char *buf, size_t len, int64_t job_id, const char *model);

/* The seed's showimages grid for model m on the first n test images of ds
 * (n in [1, 100]): originals in the top row, reconstructions below, and for
 * denoise the noisy inputs in between; 28x28 cells, grayscale PNG.  *png is
 * the caller's to free with free(). */
enum ae_status srv_run_grid_png(const struct ae_model *m, const struct ae_dataset *ds,
                                int32_t n, uint8_t **png, size_t *png_len,
                                int32_t *width, int32_t *height, struct ae_err *err);

/* A sweep's directory holds this file (the sweep as submitted) and the
 * sweep's hparams experiment; a run directly inside it writes no experiment
 * of its own, so TensorBoard finds one definition there. */
#define SRV_RUN_SWEEP_MARKER "sweep.json"

/* keep=final: remove run_dir's checkpoint and every weights/epoch-N.aew
 * but the highest N; event files stay.  A missing file or directory is
 * fine.  AE_ERR_IO names the file that could not be removed. */
enum ae_status srv_run_prune(const char *run_dir, struct ae_err *err);

/* mkdir -p: create path and any missing parents (mode 0777 before umask).
 * Existing directories are fine.  Errors: AE_ERR_IO naming the directory
 * that could not be created and the errno text, or path naming something
 * that is not a directory; AE_ERR_ARG for a path over 4095 bytes.
 * Thread-safe. */
enum ae_status srv_run_mkdirs(const char *path, struct ae_err *err);

#endif /* SRV_RUN_H */
