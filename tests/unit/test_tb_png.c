/*
 * test_tb_png.c - our PNGs decode, with libpng, to the pixels we encoded.
 *
 * Grayscale and RGB, several sizes (1x1 up to the reconstruction-grid shape
 * and a tall strip), random and smooth content; the IHDR must state the size
 * and colour type, and every pixel must come back.  Bad arguments fail with
 * TB_ERR_ARG and leave the output NULL.
 */
#include <png.h>
#include <stdlib.h>

#include "check.h"
#include "proto/tb.h"

static uint64_t rng = 88172645463325252ull;
static uint8_t next_byte(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint8_t)(rng >> 32);
}

/* Read the IHDR fields straight from the bytes (big-endian, after the
 * 8-byte signature and the chunk's length and type). */
static void check_ihdr(const uint8_t *png, size_t len, int w, int h, int color_type)
{
    CHECK(len > 33);
    if (len <= 33)
        return;
    CHECK(memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
    CHECK(memcmp(png + 12, "IHDR", 4) == 0);
    uint32_t pw = (uint32_t)png[16] << 24 | png[17] << 16 | png[18] << 8 | png[19];
    uint32_t ph = (uint32_t)png[20] << 24 | png[21] << 16 | png[22] << 8 | png[23];
    CHECK_EQ_INT(pw, w);
    CHECK_EQ_INT(ph, h);
    CHECK_EQ_INT(png[24], 8);            /* bit depth */
    CHECK_EQ_INT(png[25], color_type);   /* 0 gray, 2 RGB */
}

static void round_trip(int w, int h, int channels, bool random)
{
    size_t n = (size_t)w * (size_t)h * (size_t)channels;
    uint8_t *pix = malloc(n), *back = malloc(n);
    CHECK(pix && back);
    if (!pix || !back)
        goto done;
    for (size_t i = 0; i < n; i++)
        pix[i] = random ? next_byte() : (uint8_t)((i / (size_t)channels) % (size_t)w * 255 / (size_t)w);

    uint8_t *png = NULL;
    size_t len = 0;
    struct tb_err err = {0};
    enum tb_status st = channels == 1 ? tb_png_encode_gray(pix, w, h, &png, &len, &err)
                                      : tb_png_encode_rgb(pix, w, h, &png, &len, &err);
    CHECK_MSG(st == TB_OK, "%dx%dx%d: %s", w, h, channels, err.msg);
    if (st != TB_OK)
        goto done;
    check_ihdr(png, len, w, h, channels == 1 ? 0 : 2);

    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    CHECK(png_image_begin_read_from_memory(&img, png, len));
    CHECK_EQ_INT(img.width, w);
    CHECK_EQ_INT(img.height, h);
    img.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    CHECK(png_image_finish_read(&img, NULL, back, 0, NULL));
    CHECK_MSG(memcmp(pix, back, n) == 0, "%dx%dx%d: pixels differ after decoding", w, h,
              channels);
    png_image_free(&img);
    free(png);
done:
    free(pix);
    free(back);
}

int main(void)
{
    static const int sizes[][2] = {{1, 1}, {28, 28}, {280, 56}, {280, 84}, {3, 1000}, {777, 5}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (int random = 0; random < 2; random++) {
            round_trip(sizes[i][0], sizes[i][1], 1, random);
            round_trip(sizes[i][0], sizes[i][1], 3, random);
        }

    uint8_t px[4] = {0}, *png = (uint8_t *)1;
    size_t len = 99;
    struct tb_err err = {0};
    CHECK_EQ_INT(tb_png_encode_gray(px, 0, 2, &png, &len, &err), TB_ERR_ARG);
    CHECK(png == NULL && len == 0);
    CHECK_EQ_INT(tb_png_encode_gray(px, 2, -1, &png, &len, &err), TB_ERR_ARG);
    CHECK_EQ_INT(tb_png_encode_rgb(px, 70000, 1, &png, &len, &err), TB_ERR_ARG);
    CHECK(strstr(err.msg, "70000x1") != NULL);
    CHECK_EQ_INT(tb_png_encode_gray(NULL, 2, 2, &png, &len, &err), TB_ERR_ARG);
    CHECK_EQ_INT(tb_png_encode_gray(px, 2, 2, NULL, &len, &err), TB_ERR_ARG);
    return check_summary("test_tb_png");
}
