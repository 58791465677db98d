/*
 * srv_slurm_cmd.c - Slurm client commands with a deadline (see
 * srv_slurm_cmd.h).
 *
 * DESIGN: aelabd blocks SIGINT/SIGTERM in every thread and ignores
 * SIGPIPE; a spawned command gets an empty mask and default dispositions
 * back (POSIX_SPAWN_SETSIGMASK / SETSIGDEF), or sbatch would pass them on.
 */
#include "srv_slurm_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int srv_cmd_run(char *const argv[], double timeout_s, struct srv_cmd *r)
{
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, defs;
    pid_t pid;
    size_t err_len = 0;
    double deadline = mono() + timeout_s;
    bool killed = false;
    int ws = 0;

    r->status = -1;
    r->out[0] = r->err[0] = '\0';
    r->out_len = 0;
    r->spawn_errno = 0;
    if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
        r->spawn_errno = errno;
        if (po[0] >= 0) close(po[0]), close(po[1]);
        return -1;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    posix_spawnattr_init(&at);
    sigemptyset(&none);
    sigemptyset(&defs);
    sigaddset(&defs, SIGPIPE);
    sigaddset(&defs, SIGINT);
    sigaddset(&defs, SIGTERM);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &defs);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(po[1]);
    close(pe[1]);
    if (rc != 0) {
        r->spawn_errno = rc;
        close(po[0]);
        close(pe[0]);
        return -1;
    }
    {
        struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
        int open_n = 2;
        while (open_n > 0) {
            double left = deadline - mono();
            if (left <= 0) {
                kill(pid, SIGKILL);
                killed = true;
                break;
            }
            int n = poll(fds, 2, (int)(left * 1000) + 1);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) break;
            for (int i = 0; i < 2; i++) {
                if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                char tmp[4096];
                ssize_t got = read(fds[i].fd, tmp, sizeof tmp);
                if (got <= 0) {
                    fds[i].fd = -1;
                    open_n--;
                    continue;
                }
                char *dst = i == 0 ? r->out : r->err;
                size_t cap = i == 0 ? sizeof r->out : sizeof r->err;
                size_t *len = i == 0 ? &r->out_len : &err_len;
                size_t take = (size_t)got < cap - 1 - *len ? (size_t)got : cap - 1 - *len;
                memcpy(dst + *len, tmp, take);
                *len += take;
                dst[*len] = '\0';
            }
        }
    }
    close(po[0]);
    close(pe[0]);
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    if (killed)
        r->status = -2;
    else if (WIFEXITED(ws))
        r->status = WEXITSTATUS(ws);
    else
        r->status = -3;
    return r->status;
}

bool srv_cmd_unreachable(const struct srv_cmd *r)
{
    return r->status == -2 || strstr(r->err, "Unable to contact slurm controller") != NULL ||
           strstr(r->err, "Socket timed out") != NULL ||
           strstr(r->err, "Connection refused") != NULL;
}

void srv_cmd_message(const struct srv_cmd *r, char *buf, size_t len)
{
    size_t o = 0;
    const char *p = r->err;
    if (r->status == -1) {
        snprintf(buf, len, "could not run: %s", strerror(r->spawn_errno));
        return;
    }
    if (r->status == -2) {
        snprintf(buf, len, "no answer within the time limit (controller down or slow)");
        return;
    }
    buf[0] = '\0';
    while (*p && o + 1 < len) {
        size_t n = strcspn(p, "\n");
        if (n > 0) {
            int w = snprintf(buf + o, len - o, "%s%.*s", o ? "; " : "", (int)n, p);
            if (w < 0) break;
            o += (size_t)w < len - o ? (size_t)w : len - o - 1;
        }
        p += n;
        if (*p) p++;
    }
    if (!buf[0]) snprintf(buf, len, "exit status %d", r->status);
}

bool srv_cmd_on_path(const char *name)
{
    const char *path = getenv("PATH");
    if (!path || !*path) return false;
    while (*path) {
        size_t n = strcspn(path, ":");
        char full[PATH_MAX];
        int w = n ? snprintf(full, sizeof full, "%.*s/%s", (int)n, path, name)
                  : snprintf(full, sizeof full, "./%s", name);
        struct stat sb;
        if (w > 0 && (size_t)w < sizeof full && stat(full, &sb) == 0 && S_ISREG(sb.st_mode) &&
            access(full, X_OK) == 0)
            return true;
        path += n;
        if (*path == ':') path++;
    }
    return false;
}
