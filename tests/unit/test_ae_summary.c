/* test_ae_summary.c - parameter counts and Keras' summary tables, compared
 * with the tables printed in the seed tutorial (our layer names are
 * Keras' names in a fresh session: input_1, dense_1, conv2d_1, ...). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/ae.h"

#define SEP "_________________________________________________________________\n"
#define EQ "=================================================================\n"

static const char simple_table[] =
    SEP
    "Layer (type)                 Output Shape              Param #   \n"
    EQ
    "input_1 (InputLayer)         (None, 784)               0         \n"
    SEP
    "dense_1 (Dense)              (None, 32)                25120     \n"
    SEP
    "dense_2 (Dense)              (None, 784)               25872     \n"
    EQ
    "Total params: 50,992\n"
    "Trainable params: 50,992\n"
    "Non-trainable params: 0\n"
    SEP;

static const char deep_table[] =
    SEP
    "Layer (type)                 Output Shape              Param #   \n"
    EQ
    "input_1 (InputLayer)         (None, 784)               0         \n"
    SEP
    "dense_1 (Dense)              (None, 128)               100480    \n"
    SEP
    "dense_2 (Dense)              (None, 64)                8256      \n"
    SEP
    "dense_3 (Dense)              (None, 32)                2080      \n"
    SEP
    "dense_4 (Dense)              (None, 64)                2112      \n"
    SEP
    "dense_5 (Dense)              (None, 128)               8320      \n"
    SEP
    "dense_6 (Dense)              (None, 784)               101136    \n"
    EQ
    "Total params: 222,384\n"
    "Trainable params: 222,384\n"
    "Non-trainable params: 0\n"
    SEP;

static const char conv_table[] =
    SEP
    "Layer (type)                 Output Shape              Param #   \n"
    EQ
    "input_1 (InputLayer)         (None, 28, 28, 1)         0         \n"
    SEP
    "conv2d_1 (Conv2D)            (None, 28, 28, 16)        160       \n"
    SEP
    "max_pooling2d_1 (MaxPooling2 (None, 14, 14, 16)        0         \n"
    SEP
    "conv2d_2 (Conv2D)            (None, 14, 14, 8)         1160      \n"
    SEP
    "max_pooling2d_2 (MaxPooling2 (None, 7, 7, 8)           0         \n"
    SEP
    "conv2d_3 (Conv2D)            (None, 7, 7, 8)           584       \n"
    SEP
    "max_pooling2d_3 (MaxPooling2 (None, 4, 4, 8)           0         \n"
    SEP
    "conv2d_4 (Conv2D)            (None, 4, 4, 8)           584       \n"
    SEP
    "up_sampling2d_1 (UpSampling2 (None, 8, 8, 8)           0         \n"
    SEP
    "conv2d_5 (Conv2D)            (None, 8, 8, 8)           584       \n"
    SEP
    "up_sampling2d_2 (UpSampling2 (None, 16, 16, 8)         0         \n"
    SEP
    "conv2d_6 (Conv2D)            (None, 14, 14, 16)        1168      \n"
    SEP
    "up_sampling2d_3 (UpSampling2 (None, 28, 28, 16)        0         \n"
    SEP
    "conv2d_7 (Conv2D)            (None, 28, 28, 1)         145       \n"
    EQ
    "Total params: 4,385\n"
    "Trainable params: 4,385\n"
    "Non-trainable params: 0\n"
    SEP;

static char *summary(enum ae_model_kind k, int64_t *n_params, struct ae_model **keep)
{
    struct ae_config c;
    struct ae_model *m = NULL;
    ae_config_defaults(&c, k);
    if (ae_model_new(&c, &m, NULL) != AE_OK) return NULL;
    size_t need = ae_model_summary(m, NULL, 0);
    char *buf = malloc(need + 1);
    size_t got = ae_model_summary(m, buf, need + 1);
    CHECK_EQ_INT(got, need);
    CHECK_EQ_INT(strlen(buf), need);
    *n_params = ae_model_n_params(m);
    if (keep)
        *keep = m;
    else
        ae_model_free(m);
    return buf;
}

/* Print the first differing line to make a failure readable. */
static void check_table(const char *got, const char *want, const char *name)
{
    int same = got && strcmp(got, want) == 0;
    CHECK_MSG(same, "%s summary differs:\n--- got\n%s--- want\n%s", name, got ? got : "(null)", want);
}

int main(void)
{
    int64_t n = 0;
    char *s = summary(AE_MODEL_SIMPLE, &n, NULL);
    CHECK_EQ_INT(n, 50992);
    check_table(s, simple_table, "simple");
    free(s);
    s = summary(AE_MODEL_SPARSE, &n, NULL);
    CHECK_EQ_INT(n, 50992);
    check_table(s, simple_table, "sparse");
    free(s);
    s = summary(AE_MODEL_DEEP, &n, NULL);
    CHECK_EQ_INT(n, 222384);
    check_table(s, deep_table, "deep");
    free(s);
    struct ae_model *m = NULL;
    s = summary(AE_MODEL_CONV, &n, &m);
    CHECK_EQ_INT(n, 4385);
    check_table(s, conv_table, "conv");
    CHECK_EQ_INT(ae_model_code_dim(m), 128);
    /* Truncation: a 31-character buffer gets 30 characters and a NUL. */
    char small[31];
    size_t need = ae_model_summary(m, small, sizeof small);
    CHECK_EQ_INT(need, strlen(s));
    CHECK_EQ_INT(strlen(small), 30);
    CHECK(strncmp(small, s, 30) == 0);
    ae_model_free(m);
    free(s);
    s = summary(AE_MODEL_DENOISE, &n, NULL);
    CHECK_EQ_INT(n, 4385);
    check_table(s, conv_table, "denoise");
    free(s);

    /* vae: 784-256 relu, two heads of latent_dim, 256 relu, 784 sigmoid. */
    s = summary(AE_MODEL_VAE, &n, NULL);
    CHECK_EQ_INT(n, 200960 + 2 * 514 + 768 + 201488);
    CHECK(s && strstr(s, "Total params: 404,244\n") != NULL);
    CHECK(s && strstr(s, "lambda_1 (Lambda)") != NULL && strstr(s, "Connected to") != NULL);
    free(s);

    /* encoding_dim changes the simple model. */
    struct ae_config c;
    ae_config_defaults(&c, AE_MODEL_SIMPLE);
    c.encoding_dim = 64;
    CHECK_EQ_INT(ae_model_new(&c, &m, NULL), AE_OK);
    CHECK_EQ_INT(ae_model_n_params(m), 784 * 64 + 64 + 64 * 784 + 784);
    CHECK_EQ_INT(ae_model_code_dim(m), 64);
    ae_model_free(m);
    return check_summary("test_ae_summary");
}
