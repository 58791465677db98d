/*
 * ae_trainer.h - internal: the trainer's state, shared by ae_trainer.c (the
 * epoch loop) and ae_ckpt.c (saving and restoring it).
 */
#ifndef AE_TRAINER_H
#define AE_TRAINER_H

#include "ae_model.h"
#include "ae_net.h"
#include "ae_rng.h"
#include "ae_team.h"

struct ae_trainer {
    struct ae_config cfg;
    const struct ae_dataset *ds;
    struct ae_model *model;
    struct ae_team *team;
    int nth;
    int32_t n_train, n_test;

    /* Arenas: Adam moments (2 n_params), per-chunk gradients (max_chunks
     * n_params), per-thread work areas. */
    float *moments, *adam_m, *adam_v;
    float *grads;
    int32_t max_chunks;
    float *work_arena;
    struct ae_work *works;
    int32_t *perm;

    /* Progress. */
    int64_t step;            /* Adam steps taken (t of the next step is step + 1) */
    int32_t epoch;           /* completed epochs */
    struct ae_rng rng_epoch; /* stream state at the start of the epoch to run (or being run) */
    int32_t batch_pos;       /* batches done in an unfinished epoch (0: at a boundary) */
    double acc_loss;         /* sum over done batches of batch loss * batch size */
    double acc_rec, acc_kl;  /* vae: the same for the two parts */
    int64_t acc_samples;

    struct ae_epoch_stats *history;
    int32_t history_cap;
};

/* Make room for n history entries. */
enum ae_status ae_trainer_history_reserve(struct ae_trainer *t, int32_t n, struct ae_err *err);

#endif /* AE_TRAINER_H */
