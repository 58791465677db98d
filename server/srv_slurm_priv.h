/*
 * srv_slurm_priv.h - the Slurm executor's insides, shared by
 * srv_exec_slurm.c (the ops table, start/stop, the submit thread, health,
 * metrics), srv_slurm_monitor.c (the monitor thread) and
 * srv_slurm_checks.c (start-up checks and orphan reaping).  Nothing else
 * includes it.
 *
 * Who touches what:
 * - struct slurm is made by srv_exec_slurm_new and freed by slurm_stop,
 *   after both threads are joined.  app is fixed from creation; aelab is
 *   written once by the start-up checks, before the threads start, and
 *   only read afterwards.  The thread handles and *_on flags are the main
 *   thread's (start/stop).
 * - lock guards list, n, cap and last_error.  wake (with lock) wakes the
 *   threads' naps: on a new followed job and on quit.
 * - quit, controller, submitted and refused are atomics, read anywhere.
 * - A struct sjob is made by srv_exec_slurm_follow (submit thread, or start
 *   before the threads run), which puts it on list under lock.  From then
 *   on only the monitor thread reads or writes its fields, except that job
 *   and slurm_id never change and metrics reads job under lock.  The
 *   monitor takes it off the list under lock, then frees it (drop).
 */
#ifndef SRV_SLURM_PRIV_H
#define SRV_SLURM_PRIV_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "srv_app.h"
#include "srv_job.h"
#include "srv_slurm_cmd.h"
#include "srv_slurm_follow.h"

#define SRV_SLURM_CMD_TIMEOUT 10.0 /* seconds: squeue, scontrol, scancel */

/* One Slurm job aelabd follows. */
struct sjob {
    struct srv_job *job;   /* one reference, dropped when the sjob is freed */
    char slurm_id[32];
    struct srv_follow follow;
    int64_t last_samples;
    bool end_seen;
    char end_status[16];
    char end_error[512];
    double end_time;       /* the end line's "time": the node's clock, Unix seconds */
    bool scancel_sent;
    bool gone;             /* squeue no longer lists it, or it is in a final Slurm state */
    double gone_at;        /* monotonic time gone was first seen */
    char slurm_state[64];  /* last squeue state */
    char slurm_reason[64];
};

/* The executor (ex->impl). */
struct slurm {
    struct srv_app *app;
    char aelab[PATH_MAX];
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct sjob **list; /* followed jobs (added by submit, removed by monitor) */
    size_t n, cap;
    pthread_t submit_thr, monitor_thr;
    bool submit_on, monitor_on;
    atomic_bool quit;
    atomic_int controller;     /* 1 answers, 0 unreachable, -1 not asked yet */
    atomic_ulong submitted, refused;
    char last_error[600];      /* guarded by lock */
    double started_unix;       /* when this aelabd started (set before the threads) */
};

/* ---- srv_exec_slurm.c --------------------------------------------------- */

/* Record whether the controller answered (why: Slurm's message when it did
 * not); logs only a change.  Thread-safe. */
void srv_exec_slurm_set_controller(struct slurm *s, bool up, const char *why);

/* Sleep up to secs, waking early on quit (or a signal on wake).  Takes lock. */
void srv_exec_slurm_nap(struct slurm *s, double secs);

/* Follow job j, Slurm job slurm_id: a new sjob on the list, holding a new
 * reference to j.  False when out of memory (nothing is added).  Takes lock. */
bool srv_exec_slurm_follow(struct slurm *s, struct srv_job *j, const char *slurm_id);

/* ---- srv_slurm_monitor.c ------------------------------------------------ */

/* The monitor thread (arg: the struct slurm); returns on quit. */
void *srv_slurm_monitor_main(void *arg);

/* scancel Slurm job slurm_id of aelab job j (cmd: scratch, the caller's).
 * True when scancel succeeded; a failure is logged, and an unreachable
 * controller noted. */
bool srv_slurm_monitor_scancel(struct slurm *s, struct srv_job *j, const char *slurm_id,
                               struct srv_cmd *cmd);

/* ---- srv_slurm_checks.c ------------------------------------------------- */

/* Start-up checks, in order: Slurm's client commands on the PATH, the aelab
 * CLI (sets s->aelab), a writable log dir, the controller and
 * --slurm-partition.  SRV_ERR_ARG / SRV_ERR_IO / SRV_ERR_NOMEM with a
 * message in err; an unreachable controller only warns. */
enum srv_status srv_slurm_checks_run(struct slurm *s, struct ae_err *err);

/* scancel Slurm jobs of ours whose aelab job is already over. */
void srv_slurm_checks_reap_orphans(struct slurm *s);

#endif /* SRV_SLURM_PRIV_H */
