/*
 * fuzz_util.c - scratch files for the harnesses (see fuzz.h).
 *
 * Owns one temporary directory per process and its clean-up at exit.  It
 * does not interpret any input.  Design: the loaders under test take paths,
 * so the input goes to a real file; one directory per process keeps
 * parallel fuzzers (-jobs, or the replay tests run by meson in parallel)
 * from overwriting each other's files.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static char tmpdir[4096];
static char path_buf[4096 + 256];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void cleanup(void)
{
    if (tmpdir[0]) nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    tmpdir[0] = '\0';
}

const char *fuzz_tmpdir(void)
{
    const char *base;
    if (tmpdir[0]) return tmpdir;
    base = getenv("TMPDIR");
    if (!base || !base[0]) base = "/tmp";
    snprintf(tmpdir, sizeof tmpdir, "%s/aelab-fuzz-XXXXXX", base);
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "fuzz: cannot create a directory under %s: %s\n", base, strerror(errno));
        abort();
    }
    atexit(cleanup);
    return tmpdir;
}

const char *fuzz_write_file(const char *name, const void *data, size_t n)
{
    const char *p = data;
    int fd;
    snprintf(path_buf, sizeof path_buf, "%s/%s", fuzz_tmpdir(), name);
    fd = open(path_buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "fuzz: cannot create %s: %s\n", path_buf, strerror(errno));
        abort();
    }
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            fprintf(stderr, "fuzz: cannot write %s: %s\n", path_buf, strerror(errno));
            abort();
        }
        p += w;
        n -= (size_t)w;
    }
    close(fd);
    return path_buf;
}
