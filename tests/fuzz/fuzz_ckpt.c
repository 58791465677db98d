/*
 * fuzz_ckpt.c - libFuzzer harness: checkpoint and weights files
 * (core/ae_ckpt.c) through ae_checkpoint_read_config, ae_model_load and
 * ae_trainer_load.
 *
 * Input: one mode byte, then the file.
 *   mode & 1       recompute the trailing CRC-32 before writing the file
 *   mode & 2       store the real file length in the header's length field
 *   (mode>>2) & 3  0: read_config, 1: model_load, 2: trainer_load, 3: all
 * Both fix-ups let mutations get past the checks that would otherwise stop
 * nearly every input at the door (the CRC, the length), so the config,
 * parameter-count and epoch checks behind them are fuzzed too.
 *
 * The trainer is made once, for the config of the seed checkpoints
 * (tests/fuzz/make_seeds.sh trains it with the aelab CLI on the tiny
 * fixture): simple, encoding_dim 1, batch 8, 16 training and 8 test images.
 * Properties checked (FUZZ_CHECK), besides "no crash, no leak, no UB":
 *   - whatever loads has a config that passes ae_config_check, and the
 *     three readers agree on it;
 *   - a model that loads saves back to the same header and weights;
 *   - a checkpoint the trainer accepts saves back to the same bytes, but
 *     for the settings a resume may change (epochs, threads) or the model
 *     ignores, zero padding and the CRC;
 *   - a failure always says why.
 */
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/ae.h"
#include "fuzz.h"

#define HEADER_BYTES 192
#define HISTORY_BYTES 72

static struct ae_trainer *trainer;
static struct ae_dataset ds;
static uint8_t images[16 * AE_IMAGE_PIXELS], labels[16];

static struct ae_config harness_cfg(void)
{
    struct ae_config c;
    ae_config_defaults(&c, AE_MODEL_SIMPLE);
    c.encoding_dim = 1;
    c.batch_size = 8;
    c.train_size = 16;
    c.test_size = 8;
    c.epochs = 2;
    c.threads = 1;
    return c;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct ae_config c = harness_cfg();
    struct ae_err e = {0};
    (void)argc, (void)argv;
    for (size_t i = 0; i < sizeof images; i++) images[i] = (uint8_t)(i * 131u >> 3);
    ds.n_train = 16;
    ds.n_test = 16;
    ds.train_images = ds.test_images = images;
    ds.train_labels = ds.test_labels = labels;
    if (ae_trainer_new(&c, &ds, &trainer, &e) != AE_OK) {
        fprintf(stderr, "fuzz_ckpt: %s\n", e.msg);
        abort();
    }
    return 0;
}

static uint8_t *read_whole(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long len;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        abort();
    buf = malloc((size_t)len + 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) abort();
    fclose(f);
    *n = (size_t)len;
    return buf;
}

/* a and b agree outside the byte ranges in skip (pairs of [from, to)). */
static bool same_except(const uint8_t *a, const uint8_t *b, size_t n, const size_t *skip,
                        size_t n_skip)
{
    for (size_t i = 0; i < n; i++) {
        bool skipped = false;
        for (size_t k = 0; k < n_skip; k++) skipped |= i >= skip[2 * k] && i < skip[2 * k + 1];
        if (!skipped && a[i] != b[i]) return false;
    }
    return true;
}

static bool same_cfg(const struct ae_config *a, const struct ae_config *b)
{
    return a->model == b->model && a->epochs == b->epochs && a->batch_size == b->batch_size &&
           a->encoding_dim == b->encoding_dim && a->latent_dim == b->latent_dim &&
           a->train_size == b->train_size && a->test_size == b->test_size &&
           a->threads == b->threads && a->seed == b->seed &&
           !memcmp(&a->l1, &b->l1, sizeof a->l1) &&
           !memcmp(&a->noise_factor, &b->noise_factor, sizeof a->noise_factor) &&
           !memcmp(&a->learning_rate, &b->learning_rate, sizeof a->learning_rate);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *file;
    size_t n;
    int which;
    const char *path;
    char saved[4200];
    struct ae_config cfg;
    int32_t epoch = -1;
    bool have_cfg = false;
    struct ae_err e = {0};

    if (size < 1) return 0;
    if (!trainer) LLVMFuzzerInitialize(NULL, NULL);
    which = (data[0] >> 2) & 3;
    n = size - 1;
    file = malloc(n ? n : 1);
    if (!file) abort();
    memcpy(file, data + 1, n);
    if ((data[0] & 2) && n >= 24)
        for (int i = 0; i < 8; i++) file[16 + i] = (uint8_t)((uint64_t)n >> (8 * i));
    if ((data[0] & 1) && n >= 4) {
        uint32_t crc = (uint32_t)crc32(0L, file, (uInt)(n - 4));
        for (int i = 0; i < 4; i++) file[n - 4 + i] = (uint8_t)(crc >> (8 * i));
    }
    path = fuzz_write_file("input.aeck", file, n);
    snprintf(saved, sizeof saved, "%s/saved.aeck", fuzz_tmpdir());

    if (which == 0 || which == 3) {
        if (ae_checkpoint_read_config(path, &cfg, &epoch, &e) == AE_OK) {
            FUZZ_CHECK(ae_config_check(&cfg, &e) == AE_OK);
            FUZZ_CHECK(epoch >= 0);
            have_cfg = true;
        } else {
            FUZZ_CHECK(e.msg[0] != '\0');
        }
    }
    if (which == 1 || which == 3) {
        struct ae_model *m = NULL;
        e.msg[0] = '\0';
        if (ae_model_load(path, &m, &e) == AE_OK) {
            uint8_t *back;
            size_t back_n;
            int64_t p = ae_model_n_params(m);
            FUZZ_CHECK(ae_config_check(ae_model_config(m), &e) == AE_OK);
            FUZZ_CHECK(!have_cfg || same_cfg(&cfg, ae_model_config(m)));
            FUZZ_CHECK(n >= HEADER_BYTES + 4 * (size_t)p + 4);
            /* The magic, the config and the weights come back; the kind,
             * length and training fields are the weights file's own. */
            FUZZ_CHECK(ae_model_save(m, saved, &e) == AE_OK);
            back = read_whole(saved, &back_n);
            FUZZ_CHECK(back_n == HEADER_BYTES + 4 * (size_t)p + 4);
            FUZZ_CHECK(memcmp(back, file, 12) == 0);          /* magic, version */
            FUZZ_CHECK(memcmp(back + 24, file + 24, 96 - 24) == 0); /* config, n_params */
            FUZZ_CHECK(memcmp(back + HEADER_BYTES, file + HEADER_BYTES, 4 * (size_t)p) == 0);
            free(back);
            ae_model_free(m);
        } else {
            FUZZ_CHECK(m == NULL && e.msg[0] != '\0');
        }
    }
    if (which == 2 || which == 3) {
        e.msg[0] = '\0';
        if (ae_trainer_load(trainer, path, &e) == AE_OK) {
            uint8_t *back;
            size_t back_n;
            int32_t n_hist = 0;
            FUZZ_CHECK(!have_cfg || epoch == ae_trainer_epoch(trainer));
            ae_trainer_history(trainer, &n_hist);
            FUZZ_CHECK(n_hist == ae_trainer_epoch(trainer));
            FUZZ_CHECK(ae_trainer_save(trainer, saved, &e) == AE_OK);
            back = read_whole(saved, &back_n);
            FUZZ_CHECK(back_n == n);
            {
                /* The trainer writes its own epochs and threads, and its
                 * own values of the settings the simple model ignores
                 * (latent_dim, l1, noise_factor: a checkpoint may differ
                 * there, see same_maths in ae_ckpt.c); padding is written
                 * as zeros; the CRC covers all of that. */
                size_t n_skip = 0, hist0 = n - 4 - (size_t)n_hist * HISTORY_BYTES;
                size_t *skip = malloc(2 * (6 + (size_t)n_hist) * sizeof *skip);
                if (!skip) abort();
                skip[2 * n_skip] = 28, skip[2 * n_skip + 1] = 32, n_skip++;
                skip[2 * n_skip] = 40, skip[2 * n_skip + 1] = 44, n_skip++;
                skip[2 * n_skip] = 52, skip[2 * n_skip + 1] = 72, n_skip++;
                skip[2 * n_skip] = 188, skip[2 * n_skip + 1] = 192, n_skip++;
                skip[2 * n_skip] = n - 4, skip[2 * n_skip + 1] = n, n_skip++;
                for (int32_t i = 0; i < n_hist; i++) {
                    skip[2 * n_skip] = hist0 + (size_t)i * HISTORY_BYTES + 4;
                    skip[2 * n_skip + 1] = hist0 + (size_t)i * HISTORY_BYTES + 8;
                    n_skip++;
                }
                FUZZ_CHECK(same_except(back, file, n, skip, n_skip));
                free(skip);
            }
            free(back);
        } else {
            FUZZ_CHECK(e.msg[0] != '\0');
        }
    }
    unlink(saved);
    free(file);
    return 0;
}
