/*
 * srv_slurm_cmd.h - running one Slurm client command (sbatch, squeue,
 * scontrol, scancel) safely: fork/exec through posix_spawnp with an argv
 * (never a shell), stdout and stderr captured, and a deadline after which
 * the command is killed, so a dead controller can never hang aelabd.
 */
#ifndef SRV_SLURM_CMD_H
#define SRV_SLURM_CMD_H

#include <stdbool.h>
#include <stddef.h>

struct srv_cmd {
    int status;       /* exit status; -1 not started, -2 killed at the deadline,
                         -3 ended by a signal */
    char out[65536];  /* stdout (cut at the buffer's size), NUL-terminated */
    char err[4096];   /* stderr, the same */
    size_t out_len;
    int spawn_errno;  /* why it did not start (status -1) */
};

/* Run argv[0] (looked up on the PATH) with the daemon's environment, wait
 * at most timeout_s seconds.  Returns r->status. */
int srv_cmd_run(char *const argv[], double timeout_s, struct srv_cmd *r);

/* True when the command's output says the controller could not be
 * reached (or the command timed out): try again later, not the job's
 * fault. */
bool srv_cmd_unreachable(const struct srv_cmd *r);

/* The command's stderr as one line (Slurm's message), trimmed: "sbatch:
 * error: " prefixes are kept, newlines become "; ". */
void srv_cmd_message(const struct srv_cmd *r, char *buf, size_t len);

/* Is name an executable file in a directory of $PATH?  (An empty entry is
 * the current directory.)  Also how aelabd looks for tensorboard. */
bool srv_cmd_on_path(const char *name);

#endif /* SRV_SLURM_CMD_H */
