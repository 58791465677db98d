/*
 * test_tb_writer.c - the event writer's contract and its error paths.
 *
 * Real files in a private temp dir.  Checked: argument errors write nothing;
 * O_EXCL naming never reuses a file; a write that hits RLIMIT_FSIZE (the
 * "disk full" every machine can simulate; SIGXFSZ ignored) fails with the
 * path and strerror text and is rolled back so the file stays readable and
 * the writer usable; a removed run directory is reported by flush and sync
 * and by the next open; a directory we may not write (a child process that
 * drops root, since root ignores permission bits) gives EACCES; and, where
 * this process may create a mount namespace, a read-only mount (EROFS) and
 * a 64 KiB tmpfs that fills up (ENOSPC).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "check.h"
#include "tests/golden/tb_test_util.h"
#include "proto/tb.h"

#define WALL 1700000000.0

/* Count the whole records of path; returns -1 on any damage. */
static int count_records(const char *path)
{
    struct tb_reader *r = NULL;
    struct tb_record rec;
    struct tb_err err = {0};
    if (tb_reader_open(path, &r, &err) != TB_OK)
        return -1;
    int n = 0;
    enum tb_status st;
    while ((st = tb_reader_next(r, &rec, &err)) == TB_OK)
        n++;
    tb_reader_close(r);
    if (st != TB_END) {
        fprintf(stderr, "count_records: %s\n", err.msg);
        return -1;
    }
    return n;
}

static off_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* err names the file and carries errno e and its text. */
#define CHECK_IO_ERR(err, e, path)                                                     \
    do {                                                                               \
        CHECK_EQ_INT((err).code, TB_ERR_IO);                                           \
        CHECK_EQ_INT((err).sys_errno, (e));                                            \
        CHECK_MSG(strstr((err).msg, (path)) != NULL, "no path in: %s", (err).msg);     \
        CHECK_MSG(strstr((err).msg, strerror(e)) != NULL, "no errno text in: %s",      \
                  (err).msg);                                                          \
    } while (0)

static void test_arguments(const char *dir)
{
    struct tb_writer *w = NULL;
    struct tb_err err = {0};
    CHECK_EQ_INT(tb_writer_open(NULL, WALL, "h", 1, &w, &err), TB_ERR_ARG);
    CHECK_EQ_INT(tb_writer_open(dir, -1.0, "h", 1, &w, &err), TB_ERR_ARG);
    CHECK_EQ_INT(tb_writer_open(dir, 0.0 / 0.0, "h", 1, &w, &err), TB_ERR_ARG);
    CHECK(w == NULL);
    CHECK_EQ_INT(tb_writer_open(dir, WALL, "args", 1, &w, &err), TB_OK);
    if (!w)
        return;
    uint64_t size = tb_writer_bytes(w);
    CHECK_EQ_INT(size, 40);
    CHECK_EQ_INT(tb_writer_add_scalar(w, WALL, 1, "", 1.0f, &err), TB_ERR_ARG);
    CHECK_EQ_INT(tb_writer_add_scalar(w, WALL, 1, NULL, 1.0f, &err), TB_ERR_ARG);
    CHECK_EQ_INT(tb_writer_add_scalar(w, WALL, 1, "bad\xff", 1.0f, &err), TB_ERR_ARG);
    CHECK(strstr(err.msg, "UTF-8") != NULL);
    CHECK_EQ_INT(tb_writer_add_scalar_as(w, WALL, 1, "x", 1.0f, (enum tb_scalar_form)9, &err),
                 TB_ERR_ARG);
    CHECK_EQ_INT(tb_writer_add_text(w, WALL, 1, "notes", "\xc0\xaf", &err), TB_ERR_ARG);
    CHECK_EQ_INT(tb_writer_add_image(w, WALL, 1, "img", NULL, 0, 2, 2, 1, &err), TB_ERR_ARG);
    CHECK_EQ_INT(tb_writer_add_image(w, WALL, 1, "img", (const uint8_t *)"x", 1, 0, 2, 1, &err),
                 TB_ERR_ARG);
    const char *none[1] = {NULL};
    struct tb_chart bad_chart = {"c", none, 1};
    struct tb_category bad_cat = {"cat", &bad_chart, 1};
    CHECK_EQ_INT(tb_writer_add_layout(w, WALL, 0, &bad_cat, 1, &err), TB_ERR_ARG);
    struct tb_hparam_value dup[2] = {{.name = "a", .kind = TB_VALUE_INT, .i = 1},
                                     {.name = "a", .kind = TB_VALUE_INT, .i = 2}};
    CHECK_EQ_INT(tb_writer_add_hparams_start(w, WALL, 0, dup, 2, NULL, WALL, &err), TB_ERR_ARG);
    CHECK(strstr(err.msg, "twice") != NULL);
    CHECK_EQ_INT(tb_writer_add_hparams_end(w, WALL, 0, (enum tb_session_status)7, WALL, &err),
                 TB_ERR_ARG);
    /* Nothing of the above reached the file. */
    CHECK_EQ_INT(tb_writer_bytes(w), size);
    CHECK_EQ_INT(file_size(tb_writer_path(w)), (off_t)size);
    /* A zero scalar is still written (it is a oneof member). */
    CHECK_EQ_INT(tb_writer_add_scalar(w, WALL + 1, 1, "zero", 0.0f, &err), TB_OK);
    CHECK_EQ_INT(count_records(tb_writer_path(w)), 2);
    CHECK_EQ_INT(tb_writer_flush(w, &err), TB_OK);
    CHECK_EQ_INT(tb_writer_sync(w, &err), TB_OK);
    CHECK_EQ_INT(tb_writer_close(w, &err), TB_OK);
    CHECK_EQ_INT(tb_writer_close(NULL, &err), TB_OK);
}

/* Existing names are skipped, never opened for appending. */
static void test_never_appends(const char *dir)
{
    char path[4096];
    for (int n = 0; n < 3; n++) {
        snprintf(path, sizeof path, "%s/events.out.tfevents.1700000000.excl.9.%d", dir, n);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        CHECK(fd >= 0 && write(fd, "old", 3) == 3);
        if (fd >= 0)
            close(fd);
    }
    struct tb_writer *w = NULL;
    struct tb_err err = {0};
    CHECK_EQ_INT(tb_writer_open(dir, WALL, "excl", 9, &w, &err), TB_OK);
    snprintf(path, sizeof path, "%s/events.out.tfevents.1700000000.excl.9.3", dir);
    CHECK_EQ_STR(w ? tb_writer_path(w) : NULL, path);
    tb_writer_close(w, NULL);
    snprintf(path, sizeof path, "%s/events.out.tfevents.1700000000.excl.9.0", dir);
    CHECK_EQ_INT(file_size(path), 3);
}

/* RLIMIT_FSIZE: the kernel cuts a write short, then fails it with EFBIG. */
static void test_file_size_limit(const char *dir)
{
    struct rlimit old;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, SIG_IGN);

    struct tb_writer *w = NULL;
    struct tb_err err = {0};
    CHECK_EQ_INT(tb_writer_open(dir, WALL, "fsize", 1, &w, &err), TB_OK);
    if (!w)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s", tb_writer_path(w));

    struct rlimit lim = {200, old.rlim_max};
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    uint8_t blob[300];
    memset(blob, 0xab, sizeof blob);
    /* 40 bytes in the file + a ~340-byte record crosses the 200-byte limit. */
    enum tb_status st = tb_writer_add_image(w, WALL + 1, 1, "big", blob, sizeof blob, 10, 30, 1,
                                            &err);
    CHECK_EQ_INT(st, TB_ERR_IO);
    CHECK_IO_ERR(err, EFBIG, path);
    printf("file size limit: %s\n", err.msg);
    /* The partial record was cut off again. */
    CHECK_EQ_INT(file_size(path), 40);
    CHECK_EQ_INT(tb_writer_bytes(w), 40);
    /* The writer goes on: a small record still fits under the limit. */
    CHECK_EQ_INT(tb_writer_add_scalar(w, WALL + 1, 1, "loss", 0.25f, &err), TB_OK);
    CHECK_EQ_INT(tb_writer_flush(w, &err), TB_OK);

    /* A new file whose very first record does not fit: no file is left. */
    lim.rlim_cur = 10;
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    struct tb_writer *w2 = NULL;
    st = tb_writer_open(dir, WALL, "fsize2", 1, &w2, &err);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    CHECK_EQ_INT(st, TB_ERR_IO);
    CHECK_EQ_INT(err.sys_errno, EFBIG);
    CHECK(w2 == NULL);
    char path2[4096];
    snprintf(path2, sizeof path2, "%s/events.out.tfevents.1700000000.fsize2.1.0", dir);
    CHECK_MSG(access(path2, F_OK) != 0, "%s was left behind", path2);

    CHECK_EQ_INT(tb_writer_close(w, &err), TB_OK);
    CHECK_EQ_INT(count_records(path), 2);
    signal(SIGXFSZ, SIG_DFL);
}

/* The run directory disappears under a running job. */
static void test_removed_directory(const char *base)
{
    char dir[4096], path[4096];
    snprintf(dir, sizeof dir, "%s/gone", base);
    CHECK(mkdir(dir, 0755) == 0);
    struct tb_writer *w = NULL;
    struct tb_err err = {0};
    CHECK_EQ_INT(tb_writer_open(dir, WALL, "gone", 1, &w, &err), TB_OK);
    if (!w)
        return;
    snprintf(path, sizeof path, "%s", tb_writer_path(w));
    CHECK_EQ_INT(tb_writer_flush(w, &err), TB_OK);
    tu_rmtree(dir);
    /* write() itself still succeeds on the orphaned inode ... */
    tb_writer_add_scalar(w, WALL + 1, 1, "loss", 0.5f, &err);
    /* ... but flush (after every epoch) and sync (at the end) say so. */
    CHECK_EQ_INT(tb_writer_flush(w, &err), TB_ERR_IO);
    CHECK_IO_ERR(err, ENOENT, path);
    printf("removed directory: %s\n", err.msg);
    CHECK_EQ_INT(tb_writer_sync(w, &err), TB_ERR_IO);
    CHECK_IO_ERR(err, ENOENT, path);
    tb_writer_close(w, NULL);
    /* And a restarted job cannot open a file there. */
    CHECK_EQ_INT(tb_writer_open(dir, WALL, "gone", 1, &w, &err), TB_ERR_IO);
    CHECK_MSG(strstr(err.msg, dir) != NULL, "%s", err.msg);
    CHECK_EQ_INT(err.sys_errno, ENOENT);
}

/* Run fn in a child process; its exit status: 0 pass, 1 fail, 77 skipped. */
static int in_child(int (*fn)(const char *), const char *dir)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        int rc = fn(dir);
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int child_permission(const char *dir)
{
    if (chmod(dir, 0555) != 0)
        return 1;
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
        return 77;
    struct tb_writer *w = NULL;
    struct tb_err err = {0};
    enum tb_status st = tb_writer_open(dir, WALL, "perm", 1, &w, &err);
    printf("no permission: %s\n", err.msg);
    CHECK_EQ_INT(st, TB_ERR_IO);
    CHECK_IO_ERR(err, EACCES, dir);
    CHECK(w == NULL);
    return check_n_failed ? 1 : 0;
}

/* A private mount namespace with a tmpfs on dir; false when not allowed. */
static bool mount_tmpfs(const char *dir, unsigned long flags, const char *opts)
{
    if (unshare(CLONE_NEWNS) != 0)
        return false;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return false;
    return mount("tmpfs", dir, "tmpfs", flags, opts) == 0;
}

static int child_read_only(const char *dir)
{
    if (!mount_tmpfs(dir, MS_RDONLY, "size=64k"))
        return 77;
    struct tb_writer *w = NULL;
    struct tb_err err = {0};
    enum tb_status st = tb_writer_open(dir, WALL, "ro", 1, &w, &err);
    printf("read-only mount: %s\n", err.msg);
    CHECK_EQ_INT(st, TB_ERR_IO);
    CHECK_IO_ERR(err, EROFS, dir);
    return check_n_failed ? 1 : 0;
}

static int child_disk_full(const char *dir)
{
    if (!mount_tmpfs(dir, 0, "size=64k"))
        return 77;
    struct tb_writer *w = NULL;
    struct tb_err err = {0};
    CHECK_EQ_INT(tb_writer_open(dir, WALL, "full", 1, &w, &err), TB_OK);
    if (!w)
        return 1;
    char path[4096];
    snprintf(path, sizeof path, "%s", tb_writer_path(w));
    uint8_t blob[5000];
    for (size_t i = 0; i < sizeof blob; i++)
        blob[i] = (uint8_t)(i * 7);
    int written = 1;
    enum tb_status st = TB_OK;
    for (int step = 1; step < 1000 && st == TB_OK; step++) {
        st = tb_writer_add_image(w, WALL + step, step, "img", blob, sizeof blob, 50, 100, 1, &err);
        written += st == TB_OK;
    }
    printf("disk full after %d records: %s\n", written, err.msg);
    CHECK_EQ_INT(st, TB_ERR_IO);
    CHECK_IO_ERR(err, ENOSPC, path);
    /* Every record that was reported written is whole; the failed one is gone. */
    CHECK_EQ_INT(count_records(path), written);
    CHECK_EQ_INT(file_size(path), (off_t)tb_writer_bytes(w));
    tb_writer_close(w, NULL);
    return check_n_failed ? 1 : 0;
}

static void run_child(const char *what, int (*fn)(const char *), const char *base)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", base, what);
    CHECK(mkdir(dir, 0755) == 0);
    int rc = in_child(fn, dir);
    if (rc == 77)
        printf("%s: SKIPPED (this process may not do that here)\n", what);
    else
        CHECK_MSG(rc == 0, "%s: child failed (status %d)", what, rc);
    chmod(dir, 0755);
}

int main(void)
{
    char *dir = tu_mkdtemp("writer");
    CHECK(dir != NULL);
    if (!dir)
        return check_summary("test_tb_writer");
    /* mkdtemp made it 0700; others must be able to reach the subdirectories
     * so that the permission test fails on the subdirectory itself. */
    CHECK(chmod(dir, 0755) == 0);
    test_arguments(dir);
    test_never_appends(dir);
    test_file_size_limit(dir);
    test_removed_directory(dir);
    run_child("permission", child_permission, dir);
    run_child("read_only", child_read_only, dir);
    run_child("disk_full", child_disk_full, dir);
    tu_rmtree(dir);
    free(dir);
    return check_summary("test_tb_writer");
}
