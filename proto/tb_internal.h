/*
 * tb_internal.h - what the files of proto/ share with each other and with
 * the tests (tests may include it; the server must not).
 */
#ifndef TB_INTERNAL_H
#define TB_INTERNAL_H

#include <stdarg.h>

#include "proto/tb.h"

/* Fill err (may be NULL) with code, sys_errno and a printf-style message;
 * returns code. */
enum tb_status tb_err_set(struct tb_err *err, enum tb_status code, int sys_errno,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* CRC32C implementations behind tb_crc32c().  crc is the running value
 * before the final xor: start with 0xFFFFFFFF, finish with ^ 0xFFFFFFFF.
 * tb_crc32c_hw may only be called when tb_crc32c_hw_available(). */
uint32_t tb_crc32c_sw(uint32_t crc, const void *data, size_t n);
uint32_t tb_crc32c_hw(uint32_t crc, const void *data, size_t n);
bool tb_crc32c_hw_available(void);

/* Size of the TFRecord header (length + its CRC) and footer (data CRC). */
#define TB_RECORD_HEADER_BYTES 12
#define TB_RECORD_FOOTER_BYTES 4
/* The reader rejects records longer than this (no blind huge allocation). */
#define TB_RECORD_MAX_BYTES ((uint64_t)1 << 30)

/* Frame n bytes of data already placed at rec + TB_RECORD_HEADER_BYTES: fill
 * in the header and footer.  rec must hold n + 16 bytes. */
void tb_record_frame(uint8_t *rec, size_t n);

/* UTF-8 (tb_utf8.c).  tb_utf8_decode: length (1..4) of the valid sequence at
 * s[0..n) with its code point in *cp, or 0 if invalid.  tb_utf8_valid: the
 * whole NUL-terminated string is valid UTF-8. */
int tb_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
bool tb_utf8_valid(const char *s);

/* Python's repr() of a float as json.dumps prints it: "1e-09", "0.001",
 * "50.0", "NaN", "-Infinity" (tb_hparams_json.c). */
void tb_py_float_repr(double v, char out[32]);

/* Check values and return them sorted by name in *sorted (caller frees the
 * array, not the values): TB_ERR_ARG on a missing, duplicate or non-UTF-8
 * name, a NULL or non-UTF-8 string value or an unknown kind. */
enum tb_status tb_hparams_sorted(const struct tb_hparam_value *values, int32_t n_values,
                                 const struct tb_hparam_value ***sorted, struct tb_err *err);

#endif /* TB_INTERNAL_H */
