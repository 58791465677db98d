/*
 * srv_exec_slurm.c - the Slurm executor (work in progress on this branch:
 * this commit only reserves its place behind the interface).
 */
#include "srv_executor.h"

enum srv_status srv_exec_slurm_new(struct srv_executor *ex, struct ae_err *err)
{
    (void)ex;
    return srv_err_set(err, SRV_ERR_ARG, "--executor slurm is not available in this build yet");
}
