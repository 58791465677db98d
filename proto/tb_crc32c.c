/*
 * tb_crc32c.c - CRC32C (Castagnoli) for TFRecord framing.
 *
 * Owns the two implementations and the choice between them: the SSE4.2
 * crc32 instruction (compiled with a target attribute, so it exists even in
 * a portable build, and used only when __builtin_cpu_supports says so) and
 * a slicing-by-8 table for other CPUs.  Both are always compiled and both
 * are tested against each other.  It does not frame records (tb_writer.c,
 * tb_reader.c).
 *
 * Design: the crc32 instruction has a latency of about 3 cycles but can
 * start one per cycle, so one dependency chain uses a third of it.  Long
 * inputs are cut into rounds of three TB_CRC32C_SHIFT_BYTES blocks whose
 * CRCs run interleaved, then merged with a generated table of the linear map
 * "append TB_CRC32C_SHIFT_BYTES zero bytes".  The tables come from
 * tb_crc32c_gen.c at build time (constant data, no lazy initialisation).
 */
#include <string.h>

#include "proto/tb_internal.h"
#include "tb_crc32c_tables.h"

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define TB_HAVE_X86 1
#endif

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);   /* unaligned, little-endian on every CPU with crc32 */
    return v;
}

uint32_t tb_crc32c_sw(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n && ((uintptr_t)p & 7)) {
        crc = (crc >> 8) ^ tb_crc32c_slice[0][(crc ^ *p++) & 0xff];
        n--;
    }
    while (n >= 8) {
        /* Slicing-by-8 reads the word as little-endian bytes. */
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                             (uint32_t)p[3] << 24);
        uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                      (uint32_t)p[7] << 24;
        crc = tb_crc32c_slice[7][lo & 0xff] ^ tb_crc32c_slice[6][(lo >> 8) & 0xff] ^
              tb_crc32c_slice[5][(lo >> 16) & 0xff] ^ tb_crc32c_slice[4][lo >> 24] ^
              tb_crc32c_slice[3][hi & 0xff] ^ tb_crc32c_slice[2][(hi >> 8) & 0xff] ^
              tb_crc32c_slice[1][(hi >> 16) & 0xff] ^ tb_crc32c_slice[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ tb_crc32c_slice[0][(crc ^ *p++) & 0xff];
    return crc;
}

/* The CRC register after TB_CRC32C_SHIFT_BYTES more zero bytes. */
static inline uint32_t shift_block(uint32_t crc)
{
    return tb_crc32c_shift[0][crc & 0xff] ^ tb_crc32c_shift[1][(crc >> 8) & 0xff] ^
           tb_crc32c_shift[2][(crc >> 16) & 0xff] ^ tb_crc32c_shift[3][crc >> 24];
}

#ifdef TB_HAVE_X86

__attribute__((target("sse4.2")))
uint32_t tb_crc32c_hw(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n && ((uintptr_t)p & 7)) {
        crc = _mm_crc32_u8(crc, *p++);
        n--;
    }
#if defined(__x86_64__)
    const size_t blk = TB_CRC32C_SHIFT_BYTES;
    while (n >= 3 * blk) {
        /* Stream 0 continues crc; streams 1 and 2 start from 0 and are
         * merged by linearity: crc(A|B|C) = Z(Z(a) ^ b) ^ c, Z = shift_block. */
        uint64_t c0 = crc, c1 = 0, c2 = 0;
        for (size_t i = 0; i < blk; i += 8) {
            c0 = _mm_crc32_u64(c0, load64(p + i));
            c1 = _mm_crc32_u64(c1, load64(p + blk + i));
            c2 = _mm_crc32_u64(c2, load64(p + 2 * blk + i));
        }
        crc = shift_block(shift_block((uint32_t)c0) ^ (uint32_t)c1) ^ (uint32_t)c2;
        p += 3 * blk;
        n -= 3 * blk;
    }
    uint64_t c = crc;
    while (n >= 8) {
        c = _mm_crc32_u64(c, load64(p));
        p += 8;
        n -= 8;
    }
    crc = (uint32_t)c;
#else
    while (n >= 4) {
        uint32_t v;
        memcpy(&v, p, 4);
        crc = _mm_crc32_u32(crc, v);
        p += 4;
        n -= 4;
    }
#endif
    while (n--)
        crc = _mm_crc32_u8(crc, *p++);
    return crc;
}

bool tb_crc32c_hw_available(void)
{
    return __builtin_cpu_supports("sse4.2");
}

#else /* no x86: only the table */

uint32_t tb_crc32c_hw(uint32_t crc, const void *data, size_t n)
{
    return tb_crc32c_sw(crc, data, n);
}

bool tb_crc32c_hw_available(void)
{
    return false;
}

#endif

uint32_t tb_crc32c(const void *data, size_t n)
{
    if (n == 0)
        return 0;
    if (tb_crc32c_hw_available())
        return tb_crc32c_hw(0xFFFFFFFFu, data, n) ^ 0xFFFFFFFFu;
    return tb_crc32c_sw(0xFFFFFFFFu, data, n) ^ 0xFFFFFFFFu;
}

uint32_t tb_crc32c_mask(uint32_t crc)
{
    return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}
