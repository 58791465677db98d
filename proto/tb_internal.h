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

#endif /* TB_INTERNAL_H */
