/*
 * srv_slurm_follow.h - following a job's progress file (CONTRACTS.md A):
 * the JSON lines `aelab train --progress` appends in the shared run
 * directory, read by offset, whole lines only.
 */
#ifndef SRV_SLURM_FOLLOW_H
#define SRV_SLURM_FOLLOW_H

#include <jansson.h>
#include <stdint.h>

struct srv_follow {
    char path[4400];
    int64_t offset; /* bytes consumed: everything before is whole lines */
};

/* Call on_line for each new whole line ('\n'-terminated) that is a JSON
 * object (other lines are skipped), in file order, and advance the
 * offset past them; a last line without '\n' waits for the next call.
 * A missing file is no lines.  Returns the lines handed over. */
int srv_follow_poll(struct srv_follow *f, void (*on_line)(void *user, json_t *o), void *user);

#endif /* SRV_SLURM_FOLLOW_H */
