/*
 * srv_uri.c - request-target parsing (see srv_uri.h).
 *
 * Owns percent-decoding and the split into segments and parameters.  It
 * does not decide what a path means (srv_router.c) or whether a file may be
 * served (srv_static.c).  Design: decode into one private buffer sized from
 * the input, so the parse makes one allocation and every string in the
 * result lives exactly as long as the struct.
 */
#include "srv_uri.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decode src[0..n) into dst (NUL-terminated); returns false on bad escapes
 * or a decoded NUL. */
static int decode(const char *src, size_t n, int plus_is_space, char *dst)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= n) return 0;
            hi = hexval(src[i + 1]);
            lo = hexval(src[i + 2]);
            if (hi < 0 || lo < 0) return 0;
            c = (char)(hi * 16 + lo);
            if (c == '\0') return 0;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        dst[o++] = c;
    }
    dst[o] = '\0';
    return 1;
}

enum srv_status srv_uri_parse(const char *raw, struct srv_uri *u, struct ae_err *err)
{
    size_t len, pos = 0;
    const char *query, *end;
    char *out;
    enum srv_status st = SRV_ERR_ARG;

    memset(u, 0, sizeof *u);
    if (!raw || raw[0] != '/')
        return srv_err_set(err, SRV_ERR_ARG, "the request target must start with '/'");
    len = strlen(raw);
    if (len > SRV_URI_MAX_BYTES)
        return srv_err_set(err, SRV_ERR_ARG, "the request target is %zu bytes; the limit is %d",
                           len, SRV_URI_MAX_BYTES);
    if (strchr(raw, '#'))
        return srv_err_set(err, SRV_ERR_ARG, "the request target must not contain a fragment ('#')");
    for (const char *p = raw; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c == 0x7f)
            return srv_err_set(err, SRV_ERR_ARG,
                               "the request target contains a space or control character");
    }
    /* Decoding never grows a string, and each piece gets its own NUL. */
    u->buf_ = malloc(len + SRV_URI_MAX_SEGMENTS + 2 * SRV_URI_MAX_PARAMS + 2);
    if (!u->buf_) return srv_err_set(err, SRV_ERR_NOMEM, "out of memory parsing the URI");
    out = u->buf_;

    query = strchr(raw, '?');
    end = query ? query : raw + len;

    /* Path: segments between slashes; "/" alone has none. */
    if (end - raw > 1) {
        const char *s = raw + 1;
        for (;;) {
            const char *slash = memchr(s, '/', (size_t)(end - s));
            const char *e = slash ? slash : end;
            if (u->n_seg == SRV_URI_MAX_SEGMENTS) {
                srv_err_set(err, SRV_ERR_ARG, "the path has more than %d segments",
                            SRV_URI_MAX_SEGMENTS);
                goto fail;
            }
            if (!decode(s, (size_t)(e - s), 0, out + pos)) {
                srv_err_set(err, SRV_ERR_ARG,
                            "the path has a malformed percent-escape or an encoded NUL byte");
                goto fail;
            }
            u->seg[u->n_seg++] = out + pos;
            pos += strlen(out + pos) + 1;
            if (!slash) break;
            s = slash + 1;
        }
    }

    /* Query: key[=value] pairs separated by '&'; empty pieces are skipped. */
    if (query) {
        const char *s = query + 1;
        const char *qend = raw + len;
        while (s < qend) {
            const char *amp = memchr(s, '&', (size_t)(qend - s));
            const char *e = amp ? amp : qend;
            if (e > s) {
                const char *eq = memchr(s, '=', (size_t)(e - s));
                const char *kend = eq ? eq : e;
                struct srv_param *p;
                if (u->n_params == SRV_URI_MAX_PARAMS) {
                    srv_err_set(err, SRV_ERR_ARG, "the query has more than %d parameters",
                                SRV_URI_MAX_PARAMS);
                    goto fail;
                }
                p = &u->params[u->n_params];
                if (!decode(s, (size_t)(kend - s), 1, out + pos)) goto bad_query;
                p->key = out + pos;
                pos += strlen(out + pos) + 1;
                if (eq) {
                    if (!decode(eq + 1, (size_t)(e - eq - 1), 1, out + pos)) goto bad_query;
                } else {
                    out[pos] = '\0';
                }
                p->value = out + pos;
                pos += strlen(out + pos) + 1;
                u->n_params++;
            }
            if (!amp) break;
            s = amp + 1;
        }
    }
    return SRV_OK;

bad_query:
    srv_err_set(err, SRV_ERR_ARG,
                "the query string has a malformed percent-escape or an encoded NUL byte");
fail:
    srv_uri_fini(u);
    return st;
}

void srv_uri_fini(struct srv_uri *u)
{
    if (!u) return;
    free(u->buf_);
    memset(u, 0, sizeof *u);
}

const char *srv_uri_param(const struct srv_uri *u, const char *key)
{
    for (int i = 0; i < u->n_params; i++)
        if (strcmp(u->params[i].key, key) == 0) return u->params[i].value;
    return NULL;
}

int srv_uri_param_count(const struct srv_uri *u, const char *key)
{
    int n = 0;
    for (int i = 0; i < u->n_params; i++)
        if (strcmp(u->params[i].key, key) == 0) n++;
    return n;
}

enum srv_status srv_parse_int(const char *s, long long min, long long max, const char *what,
                              long long *out, struct ae_err *err)
{
    const char *p = s;
    long long v;
    char *end;

    if (!s || !*s) goto bad;
    if (*p == '-') p++;
    if (*p < '0' || *p > '9') goto bad;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9') goto bad;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno == ERANGE || *end || v < min || v > max) goto bad;
    *out = v;
    return SRV_OK;
bad:
    return srv_err_set(err, SRV_ERR_ARG, "%s must be a whole number from %lld to %lld, got '%.40s'",
                       what, min, max, s ? s : "");
}
