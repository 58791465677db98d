/*
 * write_run.c - writes a run directory through proto/tb.h the way a training
 * job does, for decode_run.py to check (and as a worked example of the API).
 *
 * usage: write_run RUN_DIR [--epochs N] [--wall T0] [--crash-in E]
 *                          [--resume-from E] [--start-step S] [--no-start]
 *                          [--status success|failure|none]
 *
 * A fresh job (no --resume-from) writes, in its first file: file_version,
 * SessionLog START at step 0, the custom-scalars layout, the hparams
 * experiment and session start (step 0), the text summary; then per epoch
 * e = 1..N at step e: loss, val_loss, train_seconds, val_seconds and a
 * 280x56 grayscale PNG `reconstructions`, and a flush; at the end session_end_info and fsync.
 * --crash-in E stops in epoch E after writing only its `loss` (what a crash
 * mid-epoch leaves) and writes no end record.  --resume-from E opens a NEW
 * file (wall time T0 + 1000, so its name sorts after the first) with START at
 * step E (or --start-step S; --no-start omits it, both to make broken runs for
 * the checker's negative tests), then epochs E..N.
 * The values are made up but deterministic: loss = 0.3 / e, val_loss =
 * 0.32 / e (plus 0.001 in a resumed file, so replaced points differ).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/tb.h"

static int die(const char *what, const struct tb_err *err)
{
    fprintf(stderr, "write_run: %s: %s\n", what, err->msg);
    return 1;
}

#define TRY(what, call)                    \
    do {                                   \
        if ((call) != TB_OK)               \
            return die((what), &err);      \
    } while (0)

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: write_run RUN_DIR [--epochs N] [--wall T0] [--crash-in E] "
                        "[--resume-from E] [--start-step S] [--no-start] [--status S]\n");
        return 2;
    }
    const char *dir = argv[1];
    int epochs = 3, crash_in = 0, resume_from = 0, start_step = -1;
    double t0 = 1700000000.0;
    bool no_start = false;
    const char *status = "success";
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-start")) {
            no_start = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "write_run: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--epochs"))
            epochs = atoi(v);
        else if (!strcmp(a, "--wall"))
            t0 = atof(v);
        else if (!strcmp(a, "--crash-in"))
            crash_in = atoi(v);
        else if (!strcmp(a, "--resume-from"))
            resume_from = atoi(v);
        else if (!strcmp(a, "--start-step"))
            start_step = atoi(v);
        else if (!strcmp(a, "--status"))
            status = v;
        else {
            fprintf(stderr, "write_run: unknown option %s\n", a);
            return 2;
        }
    }

    struct tb_err err = {0};
    struct tb_writer *w = NULL;
    double wall = resume_from ? t0 + 1000 : t0;
    TRY("open", tb_writer_open(dir, wall, "testhost", 4242, &w, &err));
    int first = resume_from ? resume_from : 1;
    if (!no_start) {
        /* Fresh: step 0.  Resumed: the first step this file writes. */
        int64_t s = start_step >= 0 ? start_step : resume_from;
        TRY("start", tb_writer_add_session_start(w, wall, s, &err));
    }

    if (!resume_from) {
        static const char *const regex[] = {"^(val_)?loss$"};
        struct tb_chart chart = {"loss and val_loss", regex, 1};
        struct tb_category cat = {"losses", &chart, 1};
        TRY("layout", tb_writer_add_layout(w, wall, 0, &cat, 1, &err));

        static const char *const models[] = {"conv", "deep", "denoise", "simple", "sparse", "vae"};
        static const char *const datasets[] = {"fashion_mnist", "mnist"};
        struct tb_hparam_info infos[] = {
            {.name = "model", .type = TB_HPARAM_STRING, .values = models, .n_values = 6},
            {.name = "dataset", .type = TB_HPARAM_STRING, .values = datasets, .n_values = 2},
            {.name = "epochs", .type = TB_HPARAM_FLOAT64, .has_interval = true, .min_value = 1, .max_value = 1000},
            {.name = "batch_size", .type = TB_HPARAM_FLOAT64, .has_interval = true, .min_value = 1, .max_value = 60000},
            {.name = "learning_rate", .type = TB_HPARAM_FLOAT64, .has_interval = true, .max_value = 1},
        };
        struct tb_metric_info metrics[] = {
            {NULL, "loss", TB_DATASET_TRAINING},
            {NULL, "val_loss", TB_DATASET_VALIDATION},
        };
        struct tb_hparam_value vals[] = {
            {.name = "model", .kind = TB_VALUE_STRING, .s = "conv"},
            {.name = "dataset", .kind = TB_VALUE_STRING, .s = "mnist"},
            {.name = "epochs", .kind = TB_VALUE_INT, .i = epochs},
            {.name = "batch_size", .kind = TB_VALUE_INT, .i = 128},
            {.name = "learning_rate", .kind = TB_VALUE_FLOAT, .f = 0.001},
        };
        TRY("experiment", tb_writer_add_hparams_experiment(w, wall, 0, infos, 5, metrics, 2, wall, &err));
        TRY("session start", tb_writer_add_hparams_start(w, wall, 0, vals, 5, NULL, wall, &err));
        TRY("text", tb_writer_add_text(w, wall, 0, "summary",
                                       "```\nLayer (type)    Output Shape    Param #\n"
                                       "dense (Dense)   (None, 32)      25120\n```\n\n"
                                       "| setting | value |\n|---|---|\n| model | conv |\n",
                                       &err));
    }

    /* A 280x56 grid: 10 cells of 28x28 on two rows, a different ramp per cell. */
    static uint8_t grid[56 * 280];
    for (int y = 0; y < 56; y++)
        for (int x = 0; x < 280; x++)
            grid[y * 280 + x] = (uint8_t)((x % 28) * 9 + (y % 28) * (x / 28 + 1));

    for (int e = first; e <= epochs; e++) {
        double t = wall + e;
        float bump = resume_from ? 0.001f : 0.0f;
        TRY("loss", tb_writer_add_scalar(w, t, e, "loss", 0.3f / (float)e + bump, &err));
        if (e == crash_in) {
            /* The process dies here: no more records, no end, no close,
             * no clean-up of any kind. */
            _exit(0);
        }
        TRY("val_loss", tb_writer_add_scalar(w, t, e, "val_loss", 0.32f / (float)e + bump, &err));
        TRY("train_seconds", tb_writer_add_scalar(w, t, e, "train_seconds", 1.5f, &err));
        TRY("val_seconds", tb_writer_add_scalar(w, t, e, "val_seconds", 0.25f, &err));
        uint8_t *png = NULL;
        size_t png_len = 0;
        grid[e % 56 * 280] = (uint8_t)e;
        TRY("png", tb_png_encode_gray(grid, 280, 56, &png, &png_len, &err));
        enum tb_status st = tb_writer_add_image(w, t, e, "reconstructions", png, png_len, 280, 56, 1, &err);
        free(png);
        if (st != TB_OK)
            return die("image", &err);
        TRY("flush", tb_writer_flush(w, &err));
    }
    if (!strcmp(status, "success") || !strcmp(status, "failure"))
        TRY("session end", tb_writer_add_hparams_end(w, wall + epochs, epochs,
                                                     !strcmp(status, "success") ? TB_SESSION_SUCCESS
                                                                                : TB_SESSION_FAILURE,
                                                     wall + epochs, &err));
    TRY("sync", tb_writer_sync(w, &err));
    TRY("close", tb_writer_close(w, &err));
    return 0;
}
