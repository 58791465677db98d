/*
 * srv_slurm_submit.h - handing one job to Slurm: its batch script (in the
 * run directory) and the sbatch command line, built as argv arrays (no
 * shell ever sees an aelabd string unquoted); and finding the Slurm job a
 * lost sbatch answer may have left.
 */
#ifndef SRV_SLURM_SUBMIT_H
#define SRV_SLURM_SUBMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "srv_app.h"
#include "srv_job.h"
#include "srv_slurm_cmd.h"

/* --mem for a job, in MiB (the formula measured from peak RSS: README,
 * "Running on a cluster"). */
int srv_slurm_mem_mb(const struct ae_config *cfg);

/* What sbatch said. */
enum srv_submit_result {
    SRV_SUBMIT_OK,          /* *slurm_id set */
    SRV_SUBMIT_REFUSED,     /* Slurm said no (msg): the job fails */
    SRV_SUBMIT_UNREACHABLE, /* controller down or slow (msg): try again later */
    SRV_SUBMIT_LOCAL_ERROR, /* aelabd could not write the script (msg): the job fails */
};

/* Write <run dir>/aelab-job.sh and run sbatch for job j (aelab: the CLI
 * the node runs; data_dir: absolute, resolved for the job's data set).
 * cmd is scratch space (big; the caller owns it). */
enum srv_submit_result srv_slurm_submit(struct srv_app *app, struct srv_job *j, const char *aelab,
                                        const char *data_dir, struct srv_cmd *cmd,
                                        char *slurm_id, size_t id_len, char *msg, size_t msg_len);

/* After an sbatch for j that got no answer (SRV_SUBMIT_UNREACHABLE): the
 * Slurm jobs it may have made anyway, in any state.  A Slurm job is j's
 * when it belongs to this user, is named aelab-<id> (as for orphan
 * reaping) and works in j's run directory (the --chdir given to sbatch),
 * so another aelabd's job of the same id never counts.  Fills ids (lowest
 * first, at most max) and returns how many there are (0: none); -1 when
 * squeue itself failed (msg says why; *unreachable tells whether the
 * controller did not answer).  cmd is scratch space. */
int srv_slurm_submit_find(struct srv_app *app, struct srv_job *j, struct srv_cmd *cmd,
                          long long *ids, int max, bool *unreachable, char *msg, size_t msg_len);

#endif /* SRV_SLURM_SUBMIT_H */
