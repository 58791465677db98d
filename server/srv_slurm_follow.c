/*
 * srv_slurm_follow.c - reading new whole lines of a progress file (see
 * srv_slurm_follow.h).
 */
#include "srv_slurm_follow.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

int srv_follow_poll(struct srv_follow *f, void (*on_line)(void *user, json_t *o), void *user)
{
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    int lines = 0;
    char *buf;
    if (fd < 0) return 0;
    buf = malloc(CHUNK + 1);
    if (!buf) {
        close(fd);
        return 0;
    }
    for (;;) {
        ssize_t n = pread(fd, buf, CHUNK, (off_t)f->offset);
        if (n <= 0) break;
        buf[n] = '\0';
        char *p = buf, *end = buf + n;
        char *nl;
        while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            *nl = '\0';
            json_error_t je;
            json_t *o = json_loadb(p, (size_t)(nl - p), 0, &je);
            if (o && json_is_object(o)) {
                on_line(user, o);
                lines++;
            }
            json_decref(o);
            p = nl + 1;
        }
        if (p == buf) {
            /* No whole line in a full chunk: a line this long is not ours;
             * skip it rather than stall. */
            if (n == CHUNK) f->offset += n;
            break;
        }
        f->offset += p - buf;
        if (n < CHUNK) break;
    }
    free(buf);
    close(fd);
    return lines;
}
