/*
 * bench_epoch.c - time whole training epochs of the engine on real data.
 *
 *   bench_epoch DIR [--threads N] [--epochs E] [--models simple,deep,...]
 *                   [--train-size N]
 *
 * DIR holds the four IDX files (gzipped or not) of MNIST or Fashion-MNIST.
 * Prints, per model, seconds of each training pass and validation pass
 * (the engine's own CLOCK_MONOTONIC figures) and the losses, then the
 * median train seconds.  A measuring tool for engine work; the comparison
 * with PyTorch is bench/'s other command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ae.h"
#include "tests/unit/ae_testdata.h"
#include "bench_util.h"

/* CPU seconds of all threads of the process: robust to other load on the
 * machine, unlike wall time. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr, "usage: %s DIR [--threads N] [--epochs E] [--models a,b] [--train-size N]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    int threads = 2, epochs = 2, train_size = 0;
    char models[256] = "simple,sparse,deep,conv,denoise,vae";
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--threads") == 0) threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--epochs") == 0) epochs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--train-size") == 0) train_size = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--models") == 0) snprintf(models, sizeof models, "%s", argv[i + 1]);
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    struct ae_dataset *ds = td_mnist_dir(dir, 0, 0);
    if (!ds) {
        fprintf(stderr, "cannot read the IDX files in %s\n", dir);
        return 1;
    }
    printf("data %s: %d train, %d test; %d threads\n", dir, ds->n_train, ds->n_test, threads);
    for (char *name = strtok(models, ","); name; name = strtok(NULL, ",")) {
        enum ae_model_kind kind;
        if (!ae_model_parse(name, &kind)) {
            fprintf(stderr, "unknown model %s\n", name);
            return 2;
        }
        struct ae_config cfg;
        ae_config_defaults(&cfg, kind);
        cfg.threads = threads;
        cfg.train_size = train_size;
        struct ae_trainer *t = NULL;
        struct ae_err err;
        if (ae_trainer_new(&cfg, ds, &t, &err) != AE_OK) {
            fprintf(stderr, "%s: %s\n", name, err.msg);
            return 1;
        }
        double tr[64];
        int n = epochs < 64 ? epochs : 64;
        for (int e = 0; e < n; e++) {
            struct ae_epoch_stats s;
            double c0 = cpu_seconds();
            enum ae_status st = ae_trainer_run_epoch(t, NULL, &s, &err);
            double cpu = cpu_seconds() - c0;
            if (st != AE_OK) {
                fprintf(stderr, "%s: %s\n", name, err.msg);
                return 1;
            }
            tr[e] = s.train_seconds;
            printf("%-8s epoch %d  train %.3f s  val %.3f s  (cpu %.3f s, all threads)  loss %.4f  "
                   "val_loss %.4f\n", name, s.epoch, s.train_seconds, s.val_seconds, cpu, s.loss, s.val_loss);
            fflush(stdout);
        }
        qsort(tr, (size_t)n, sizeof tr[0], bu_cmp_double);
        printf("%-8s median train %.3f s/epoch (%d threads, batch %d)\n", name, tr[n / 2], threads,
               cfg.batch_size);
        ae_trainer_free(t);
    }
    td_free(ds);
    return 0;
}
