/*
 * test_srv_data.c - data sets by name: names and aliases, where files are
 * looked for, one shared copy under concurrent first use, put/trim, and the
 * installed list.
 *
 * Usage: test_srv_data FIXTURE_DIR   (the tiny IDX data set)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "server/srv_data.h"

#define N_THREADS 8

static struct srv_data *shared_reg;
static const struct ae_dataset *got[N_THREADS];

static void *get_thread(void *arg)
{
    int i = (int)(size_t)arg;
    struct ae_err err = {0};
    if (srv_data_get(shared_reg, "mnist", &got[i], NULL, &err) != AE_OK)
        fprintf(stderr, "thread %d: %s\n", i, err.msg);
    return NULL;
}

static void link_fixture(const char *fixture, const char *dir)
{
    static const char *const names[4] = {
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte",
    };
    char src[4096], dst[4096];
    mkdir(dir, 0755);
    for (int i = 0; i < 4; i++) {
        snprintf(src, sizeof src, "%s/%s", fixture, names[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, names[i]);
        if (symlink(src, dst) != 0) perror(dst);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]);
        return 2;
    }
    char fixture[4096];
    if (!realpath(argv[1], fixture)) {
        perror(argv[1]);
        return 2;
    }

    CHECK_EQ_STR(srv_data_canonical("mnist"), "mnist");
    CHECK_EQ_STR(srv_data_canonical("fashion-mnist"), "fashion-mnist");
    CHECK_EQ_STR(srv_data_canonical("fashion_mnist"), "fashion-mnist");
    CHECK(srv_data_canonical("cifar") == NULL);
    CHECK(srv_data_canonical(NULL) == NULL);

    struct ae_err err = {0};
    char dir[4096];
    CHECK(srv_data_resolve("cifar", NULL, dir, sizeof dir, &err) == AE_ERR_ARG);
    CHECK_MSG(strstr(err.msg, "cifar") && strstr(err.msg, "mnist, fashion-mnist"), "%s", err.msg);

    /* A data dir holding the files directly, and one with a subdirectory
     * per data set. */
    char tmp[256];
    const char *t = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/test_srv_data.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 2;
    }
    char flat[512], nested[512], sub[600];
    snprintf(flat, sizeof flat, "%s/flat", tmp);
    snprintf(nested, sizeof nested, "%s/nested", tmp);
    snprintf(sub, sizeof sub, "%s/nested/mnist", tmp);
    link_fixture(fixture, flat);
    mkdir(nested, 0755);
    link_fixture(fixture, sub);

    CHECK(srv_data_resolve("mnist", flat, dir, sizeof dir, &err) == AE_OK);
    CHECK_EQ_STR(dir, flat);
    CHECK(srv_data_resolve("mnist", nested, dir, sizeof dir, &err) == AE_OK);
    CHECK_EQ_STR(dir, sub);
    /* Files lying directly in the data dir are MNIST, never Fashion-MNIST,
     * and nested/ has no fashion-mnist/: both are errors that list where
     * aelab looked (--data-dir replaces the default search path). */
    CHECK(srv_data_resolve("fashion_mnist", flat, dir, sizeof dir, &err) == AE_ERR_IO);
    CHECK_MSG(strstr(err.msg, "flat/fashion-mnist/") && strstr(err.msg, "--data-dir"), "%s",
              err.msg);
    CHECK(srv_data_resolve("fashion_mnist", nested, dir, sizeof dir, &err) == AE_ERR_IO);
    CHECK_MSG(strstr(err.msg, "nested/fashion-mnist/") && strstr(err.msg, "--data-dir"), "%s",
              err.msg);
    struct stat sb;
    bool debian_fashion = stat("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", &sb) == 0;

    /* Defaults are relative to the working directory: ./data/<name>/. */
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) return 2;
    char data_root[600];
    snprintf(data_root, sizeof data_root, "%s/work", tmp);
    mkdir(data_root, 0755);
    if (chdir(data_root) != 0) return 2;
    CHECK(srv_data_resolve("mnist", NULL, dir, sizeof dir, &err) == AE_ERR_IO);
    CHECK_MSG(strstr(err.msg, "data/mnist/") && strstr(err.msg, "./data/mnist/"), "%s", err.msg);
    mkdir("data", 0755);
    link_fixture(fixture, "data/mnist");
    CHECK(srv_data_resolve("mnist", NULL, dir, sizeof dir, &err) == AE_OK);
    CHECK_EQ_STR(dir, "data/mnist");

    /* The installed list follows the file system. */
    struct srv_data *reg = NULL;
    CHECK(srv_data_new(NULL, &reg, &err) == AE_OK);
    bool inst[SRV_DATA_N_SETS];
    srv_data_installed(reg, inst);
    CHECK(inst[0]);
    CHECK_EQ_INT(inst[1], debian_fashion);
    srv_data_free(reg);
    if (chdir(cwd) != 0) return 2;

    reg = NULL;
    CHECK(srv_data_new(nested, &reg, &err) == AE_OK);
    srv_data_installed(reg, inst);
    CHECK(inst[0] && !inst[1]);
    srv_data_free(reg);

    /* Many threads asking at once share one loaded copy. */
    CHECK(srv_data_new(flat, &shared_reg, &err) == AE_OK);
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) pthread_create(&th[i], NULL, get_thread, (void *)(size_t)i);
    for (int i = 0; i < N_THREADS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < N_THREADS; i++) {
        CHECK(got[i] != NULL);
        CHECK(got[i] == got[0]);
    }
    if (got[0]) {
        CHECK_EQ_INT(got[0]->n_train, 64);
        CHECK_EQ_INT(got[0]->n_test, 32);
    }
    /* Held: trim keeps it.  Released by all: trim frees it, and the next
     * get loads a fresh copy. */
    for (int i = 0; i < N_THREADS - 1; i++) srv_data_put(shared_reg, got[i]);
    CHECK_EQ_INT(srv_data_trim(shared_reg), 0);
    srv_data_put(shared_reg, got[N_THREADS - 1]);
    CHECK_EQ_INT(srv_data_trim(shared_reg), 1);
    const struct ae_dataset *again = NULL;
    const char *canon = NULL;
    CHECK(srv_data_get(shared_reg, "mnist", &again, &canon, &err) == AE_OK);
    CHECK(again != NULL);
    CHECK_EQ_STR(canon, "mnist");
    srv_data_put(shared_reg, again);

    srv_data_free(shared_reg);

    /* A failed load is reported each time, not cached. */
    struct srv_data *bad = NULL;
    CHECK(srv_data_new(data_root, &bad, &err) == AE_OK); /* holds only data/ */
    CHECK(srv_data_get(bad, "mnist", &again, NULL, &err) == AE_ERR_IO);
    CHECK(again == NULL);
    CHECK(srv_data_get(bad, "mnist", &again, NULL, &err) == AE_ERR_IO);
    CHECK(srv_data_get(bad, "nope", &again, NULL, &err) == AE_ERR_ARG);
    srv_data_free(bad);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return check_summary("test_srv_data");
}
