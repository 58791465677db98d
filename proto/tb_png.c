/*
 * tb_png.c - PNG encoding of 8-bit grayscale and RGB images with libpng.
 *
 * Owns tb_png_encode_gray() and tb_png_encode_rgb().  It only encodes: the
 * picture (e.g. the reconstruction grid) is drawn by the caller, and the
 * bytes go into an image record through tb_writer_add_image().
 *
 * Design: libpng reports errors by longjmp.  Everything that must survive the
 * jump (the output buffer, row pointers, libpng's structs, the message) lives
 * in one heap context whose pointer is set before setjmp and never changed
 * afterwards, so the single cleanup path after a jump sees valid values and
 * nothing leaks.  libpng's own messages go into the caller's tb_err instead
 * of stderr.
 */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "proto/tb_internal.h"

#define TB_PNG_MAX_SIDE 65535

struct png_ctx {
    png_structp png;
    png_infop info;
    png_bytep *rows;
    uint8_t *out;
    size_t len, cap;
    char msg[256];
};

static void on_error(png_structp png, png_const_charp msg)
{
    struct png_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg ? msg : "unknown libpng error");
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;   /* warnings are not failures; proto/ never prints */
}

static void on_write(png_structp png, png_bytep data, png_size_t n)
{
    struct png_ctx *c = png_get_io_ptr(png);
    if (n > c->cap - c->len) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap - c->len < n) {
            if (cap > SIZE_MAX / 2)
                png_error(png, "PNG too large");
            cap *= 2;
        }
        uint8_t *p = realloc(c->out, cap);
        if (!p)
            png_error(png, "out of memory");
        c->out = p;
        c->cap = cap;
    }
    memcpy(c->out + c->len, data, n);
    c->len += n;
}

static void on_flush(png_structp png)
{
    (void)png;
}

/* libpng's part, alone in a function so that no local of the caller lives
 * across setjmp.  false after a libpng error (message in c->msg). */
static bool write_png(struct png_ctx *c, int32_t width, int32_t height, int channels)
{
    if (setjmp(png_jmpbuf(c->png)))
        return false;
    png_set_write_fn(c->png, c, on_write, on_flush);
    png_set_IHDR(c->png, c->info, (png_uint_32)width, (png_uint_32)height, 8,
                 channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(c->png, c->info);
    png_write_image(c->png, c->rows);
    png_write_end(c->png, NULL);
    return true;
}

static enum tb_status encode(const uint8_t *pixels, int32_t width, int32_t height, int channels,
                             uint8_t **png, size_t *len, struct tb_err *err)
{
    enum tb_status st = TB_OK;
    struct png_ctx *c = NULL;

    if (png)
        *png = NULL;
    if (len)
        *len = 0;
    if (!pixels || !png || !len || width <= 0 || height <= 0 || width > TB_PNG_MAX_SIDE ||
        height > TB_PNG_MAX_SIDE)
        return tb_err_set(err, TB_ERR_ARG, 0,
                          "PNG encode: need pixels, output pointers and a size in "
                          "1..%d (got %dx%d)", TB_PNG_MAX_SIDE, (int)width, (int)height);

    c = calloc(1, sizeof *c);
    if (c)
        c->rows = malloc((size_t)height * sizeof *c->rows);
    if (!c || !c->rows) {
        st = tb_err_set(err, TB_ERR_NOMEM, 0, "PNG encode %dx%d: out of memory", (int)width,
                        (int)height);
        goto fail;
    }
    for (int32_t y = 0; y < height; y++)
        c->rows[y] = (png_bytep)(pixels + (size_t)y * (size_t)width * (size_t)channels);

    c->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, c, on_error, on_warning);
    if (c->png)
        c->info = png_create_info_struct(c->png);
    if (!c->png || !c->info) {
        st = tb_err_set(err, TB_ERR_NOMEM, 0, "PNG encode: libpng could not start");
        goto fail;
    }
    if (!write_png(c, width, height, channels)) {
        st = tb_err_set(err, TB_ERR_PNG, 0, "PNG encode %dx%d: %s", (int)width, (int)height,
                        c->msg);
        goto fail;
    }
    *png = c->out;
    *len = c->len;
    c->out = NULL;

fail:
    if (c) {
        if (c->png)
            png_destroy_write_struct(&c->png, c->info ? &c->info : NULL);
        free(c->out);
        free(c->rows);
        free(c);
    }
    return st;
}

enum tb_status tb_png_encode_gray(const uint8_t *pixels, int32_t width, int32_t height,
                                  uint8_t **png, size_t *len, struct tb_err *err)
{
    return encode(pixels, width, height, 1, png, len, err);
}

enum tb_status tb_png_encode_rgb(const uint8_t *pixels, int32_t width, int32_t height,
                                 uint8_t **png, size_t *len, struct tb_err *err)
{
    return encode(pixels, width, height, 3, png, len, err);
}
