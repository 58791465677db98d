/*
 * srv_slurm_submit.h - handing one job to Slurm: its batch script (in the
 * run directory) and the sbatch command line, built as argv arrays (no
 * shell ever sees an aelabd string unquoted).
 */
#ifndef SRV_SLURM_SUBMIT_H
#define SRV_SLURM_SUBMIT_H

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

#endif /* SRV_SLURM_SUBMIT_H */
