/*
 * tb_hparams_json.c - the hparams group name: SHA-256 of Python's compact JSON.
 *
 * Owns tb_hparams_json() and tb_hparams_group_name().  TensorBoard's
 * summary_v2.hparams_pb names a session group
 *     sha256(json.dumps(hparams, sort_keys=True, separators=(",", ":")))
 * so jobs with equal hparams share a row of the HPARAMS table.  To get the
 * same name we print exactly what Python prints: keys sorted by code point,
 * strings escaped with ensure_ascii (\uXXXX, lowercase hex, surrogate pairs,
 * DEL escaped too), integers as integers, floats in repr's shortest
 * round-trip form ("1e-09", "0.001", "50.0", "1e+16"), NaN/Infinity as
 * Python spells them.  It does not write records (tb_hparams.c).
 *
 * Design: the shortest round-trip digits come from printf's correctly rounded
 * %.*e at increasing precision, checked with strtod; the neighbours of the
 * rounded digit string are tried as well, because next to a power of two the
 * rounding interval is lopsided and the nearest decimal may miss it while a
 * neighbour hits it (what Python's dtoa mode 0 would pick).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#include "proto/tb_internal.h"

/* A growing string. */
struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

/* ------------------------------------------------------------------------ */
/* Python's repr(float)                                                     */
/* ------------------------------------------------------------------------ */

/* Decimal digits d[0..nd) with value 0.d0d1... * 10^decpt. */
struct decimal {
    char d[24];
    int nd;
    int decpt;
};

static bool round_trips(const struct decimal *x, double v)
{
    char s[48];
    snprintf(s, sizeof s, "0.%.*se%d", x->nd, x->d, x->decpt);
    return strtod(s, NULL) == v;
}

/* x + or - one unit in its last digit (same digit count when possible). */
static struct decimal step_last(struct decimal x, int dir)
{
    int i = x.nd - 1;
    if (dir > 0) {
        while (i >= 0 && x.d[i] == '9')
            x.d[i--] = '0';
        if (i >= 0) {
            x.d[i]++;
        } else {   /* 99..9 -> 100..0 */
            x.d[0] = '1';
            memset(x.d + 1, '0', (size_t)x.nd - 1);
            x.decpt++;
        }
    } else {
        while (i >= 0 && x.d[i] == '0')
            x.d[i--] = '9';
        if (i >= 0)
            x.d[i]--;
        if (x.d[0] == '0' && x.nd > 1) {   /* 10..0 -> 09..9 */
            memmove(x.d, x.d + 1, (size_t)x.nd - 1);
            x.nd--;
            x.d[x.nd] = '\0';
            x.decpt--;
        }
    }
    return x;
}

/* The shortest digits that read back as v (v finite and non-zero, |v|). */
static struct decimal shortest(double v)
{
    struct decimal best = {{0}, 0, 0};
    for (int p = 1; p <= 17; p++) {
        char s[48];
        snprintf(s, sizeof s, "%.*e", p - 1, v);
        struct decimal x = {{0}, 0, 0};
        const char *c = s;
        for (; *c && *c != 'e'; c++)
            if (*c >= '0' && *c <= '9')
                x.d[x.nd++] = *c;
        x.decpt = atoi(c + 1) + 1;
        if (round_trips(&x, v))
            return x;
        struct decimal up = step_last(x, +1), down = step_last(x, -1);
        if (round_trips(&up, v))
            return up;
        if (x.nd > 1 && round_trips(&down, v))
            return down;
        best = x;
    }
    return best;   /* 17 digits always round-trip; not reached */
}

void tb_py_float_repr(double v, char out[32])
{
    if (isnan(v)) {
        strcpy(out, "NaN");
        return;
    }
    if (isinf(v)) {
        strcpy(out, v < 0 ? "-Infinity" : "Infinity");
        return;
    }
    char *o = out;
    if (signbit(v)) {
        *o++ = '-';
        v = -v;
    }
    if (v == 0) {
        strcpy(o, "0.0");
        return;
    }
    struct decimal x = shortest(v);
    while (x.nd > 1 && x.d[x.nd - 1] == '0')
        x.nd--;
    x.d[x.nd] = '\0';

    if (x.decpt <= -4 || x.decpt > 16) {
        /* d[.ddd]e+XX with at least two exponent digits */
        int e = x.decpt - 1;
        *o++ = x.d[0];
        if (x.nd > 1) {
            *o++ = '.';
            memcpy(o, x.d + 1, (size_t)x.nd - 1);
            o += x.nd - 1;
        }
        sprintf(o, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    } else if (x.decpt <= 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -x.decpt; i++)
            *o++ = '0';
        strcpy(o, x.d);
    } else if (x.decpt < x.nd) {
        memcpy(o, x.d, (size_t)x.decpt);
        o += x.decpt;
        *o++ = '.';
        strcpy(o, x.d + x.decpt);
    } else {
        memcpy(o, x.d, (size_t)x.nd);
        o += x.nd;
        for (int i = x.nd; i < x.decpt; i++)
            *o++ = '0';
        strcpy(o, ".0");
    }
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                     */
/* ------------------------------------------------------------------------ */

/* A JSON string as json.dumps(ensure_ascii=True) writes it; false when s is
 * not valid UTF-8. */
static bool put_json_string(struct sbuf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    sb_putn(b, "\"", 1);
    while (n > 0) {
        uint32_t cp;
        int k = tb_utf8_decode(p, n, &cp);
        if (k == 0)
            return false;
        p += k;
        n -= (size_t)k;
        char esc[16];
        switch (cp) {
        case '"': sb_puts(b, "\\\""); continue;
        case '\\': sb_puts(b, "\\\\"); continue;
        case '\n': sb_puts(b, "\\n"); continue;
        case '\r': sb_puts(b, "\\r"); continue;
        case '\t': sb_puts(b, "\\t"); continue;
        case '\b': sb_puts(b, "\\b"); continue;
        case '\f': sb_puts(b, "\\f"); continue;
        default: break;
        }
        if (cp >= 0x20 && cp <= 0x7e) {
            char c = (char)cp;
            sb_putn(b, &c, 1);
        } else if (cp < 0x10000) {
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
            sb_puts(b, esc);
        } else {
            uint32_t v = cp - 0x10000;
            snprintf(esc, sizeof esc, "\\u%04x\\u%04x", (unsigned)(0xD800 + (v >> 10)),
                     (unsigned)(0xDC00 + (v & 0x3FF)));
            sb_puts(b, esc);
        }
    }
    sb_putn(b, "\"", 1);
    return true;
}

static int cmp_by_name(const void *a, const void *b)
{
    const struct tb_hparam_value *x = *(const struct tb_hparam_value *const *)a;
    const struct tb_hparam_value *y = *(const struct tb_hparam_value *const *)b;
    return strcmp(x->name, y->name);
}

enum tb_status tb_hparams_sorted(const struct tb_hparam_value *values, int32_t n_values,
                                 const struct tb_hparam_value ***sorted, struct tb_err *err)
{
    *sorted = NULL;
    if (n_values < 0 || (n_values > 0 && !values))
        return tb_err_set(err, TB_ERR_ARG, 0, "hparams: bad value list");
    const struct tb_hparam_value **v = malloc(((size_t)n_values + 1) * sizeof *v);
    if (!v)
        return tb_err_set(err, TB_ERR_NOMEM, 0, "hparams: out of memory");
    for (int32_t i = 0; i < n_values; i++) {
        const struct tb_hparam_value *h = &values[i];
        const char *bad = NULL;
        if (!h->name || !*h->name)
            bad = "has no name";
        else if (!tb_utf8_valid(h->name))
            bad = "has a name that is not valid UTF-8";
        else if (h->kind == TB_VALUE_STRING && (!h->s || !tb_utf8_valid(h->s)))
            bad = "is a string that is NULL or not valid UTF-8";
        else if (h->kind != TB_VALUE_STRING && h->kind != TB_VALUE_INT &&
                 h->kind != TB_VALUE_FLOAT && h->kind != TB_VALUE_BOOL)
            bad = "has an unknown kind";
        if (bad) {
            free(v);
            return tb_err_set(err, TB_ERR_ARG, 0, "hparam %d %s", (int)i, bad);
        }
        v[i] = h;
    }
    qsort(v, (size_t)n_values, sizeof *v, cmp_by_name);
    for (int32_t i = 1; i < n_values; i++)
        if (strcmp(v[i - 1]->name, v[i]->name) == 0) {
            enum tb_status st = tb_err_set(err, TB_ERR_ARG, 0, "hparam %s is given twice",
                                           v[i]->name);
            free(v);
            return st;
        }
    *sorted = v;
    return TB_OK;
}

enum tb_status tb_hparams_json(const struct tb_hparam_value *values, int32_t n_values,
                               char **json, struct tb_err *err)
{
    const struct tb_hparam_value **v = NULL;
    struct sbuf b = {0};
    enum tb_status st;

    if (!json)
        return tb_err_set(err, TB_ERR_ARG, 0, "tb_hparams_json: NULL output");
    *json = NULL;
    if ((st = tb_hparams_sorted(values, n_values, &v, err)) != TB_OK)
        return st;
    sb_putn(&b, "{", 1);
    for (int32_t i = 0; i < n_values; i++) {
        char num[32];
        if (i > 0)
            sb_putn(&b, ",", 1);
        put_json_string(&b, v[i]->name);   /* validated by tb_hparams_sorted */
        sb_putn(&b, ":", 1);
        switch (v[i]->kind) {
        case TB_VALUE_STRING:
            put_json_string(&b, v[i]->s);
            break;
        case TB_VALUE_INT:
            snprintf(num, sizeof num, "%lld", (long long)v[i]->i);
            sb_puts(&b, num);
            break;
        case TB_VALUE_FLOAT:
            tb_py_float_repr(v[i]->f, num);
            sb_puts(&b, num);
            break;
        case TB_VALUE_BOOL:
            sb_puts(&b, v[i]->b ? "true" : "false");
            break;
        }
    }
    sb_putn(&b, "}", 1);
    free(v);
    if (b.oom) {
        free(b.p);
        return tb_err_set(err, TB_ERR_NOMEM, 0, "hparams JSON: out of memory");
    }
    *json = b.p;
    return TB_OK;
}

enum tb_status tb_hparams_group_name(const struct tb_hparam_value *values, int32_t n_values,
                                     char out[65], struct tb_err *err)
{
    char *json = NULL;
    enum tb_status st;
    if (!out)
        return tb_err_set(err, TB_ERR_ARG, 0, "tb_hparams_group_name: NULL output");
    out[0] = '\0';
    if ((st = tb_hparams_json(values, n_values, &json, err)) != TB_OK)
        return st;
    struct sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, strlen(json), (const uint8_t *)json);
    sha256_digest(&ctx, sizeof digest, digest);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
    free(json);
    return TB_OK;
}
