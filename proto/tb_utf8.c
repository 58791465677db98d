/*
 * tb_utf8.c - UTF-8 checking and decoding.
 *
 * Protobuf's proto3 `string` fields must hold valid UTF-8: TensorBoard's
 * parser rejects a whole Event otherwise, so every string we write is checked
 * first.  The JSON of the hparams group name also needs code points (Python
 * escapes non-ASCII as \uXXXX).  Strict: no overlong forms, no surrogates,
 * nothing above U+10FFFF.
 */
#include "proto/tb_internal.h"

int tb_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int len;
    uint32_t v, min;
    if ((c & 0xE0) == 0xC0) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if ((size_t)len > n)
        return 0;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

bool tb_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    while (p[n])
        n++;
    while (n > 0) {
        uint32_t cp;
        int k = tb_utf8_decode(p, n, &cp);
        if (k == 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}
