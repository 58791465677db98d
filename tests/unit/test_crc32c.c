/*
 * test_crc32c.c - both CRC32C implementations, and TFRecord's masking.
 *
 * The table and the SSE4.2 paths are checked against the published check
 * value and against a bit-at-a-time reference written here from the
 * polynomial alone, on random buffers of every length 0..300 at every
 * alignment 0..7, and on long buffers that go through the three-stream
 * interleaved path (multiples of 3 KiB and odd sizes around them).
 */
#include <stdlib.h>

#include "check.h"
#include "proto/tb_internal.h"

/* Reflected CRC32C, one bit at a time: no tables, no instruction. */
static uint32_t crc_ref(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int b = 0; b < 8; b++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

static uint32_t crc_sw(const uint8_t *p, size_t n)
{
    return tb_crc32c_sw(0xFFFFFFFFu, p, n) ^ 0xFFFFFFFFu;
}

static uint32_t crc_hw(const uint8_t *p, size_t n)
{
    return tb_crc32c_hw(0xFFFFFFFFu, p, n) ^ 0xFFFFFFFFu;
}

/* xorshift64: reproducible random bytes. */
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint8_t next_byte(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint8_t)(rng >> 24);
}

int main(void)
{
    const bool hw = tb_crc32c_hw_available();
    printf("SSE4.2 crc32 instruction: %s\n", hw ? "available (both paths tested)"
                                                : "NOT available (table path only)");

    /* Published check value. */
    const uint8_t *check = (const uint8_t *)"123456789";
    CHECK_EQ_INT(crc_ref(check, 9), 0xE3069283u);
    CHECK_EQ_INT(crc_sw(check, 9), 0xE3069283u);
    CHECK_EQ_INT(tb_crc32c(check, 9), 0xE3069283u);
    if (hw)
        CHECK_EQ_INT(crc_hw(check, 9), 0xE3069283u);
    CHECK_EQ_INT(tb_crc32c(NULL, 0), 0);
    CHECK_EQ_INT(tb_crc32c("", 0), 0);

    /* The README's worked example: record 0's length bytes and data. */
    const uint8_t len24[8] = {0x18, 0, 0, 0, 0, 0, 0, 0};
    CHECK_EQ_INT(tb_crc32c_mask(tb_crc32c(len24, 8)), 0x224b7fa3u);
    const uint8_t data0[24] = {0x09, 0x00, 0x00, 0x00, 0x40, 0xfc, 0x54, 0xd9, 0x41, 0x1a,
                               0x0d, 'b', 'r', 'a', 'i', 'n', '.', 'E', 'v', 'e', 'n', 't',
                               ':', '2'};
    CHECK_EQ_INT(tb_crc32c(data0, 24), 0x818a7d86u);
    CHECK_EQ_INT(tb_crc32c_mask(0x818a7d86u), 0x9d8fedecu);
    /* Masking wraps mod 2^32. */
    CHECK_EQ_INT(tb_crc32c_mask(0xFFFFFFFFu), (uint32_t)(0xFFFFFFFFu + 0xa282ead8u));

    /* Every length 0..300 at every alignment 0..7. */
    static uint8_t buf[300 + 8];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = next_byte();
    int bad_sw = 0, bad_hw = 0;
    for (size_t align = 0; align < 8; align++)
        for (size_t n = 0; n <= 300; n++) {
            uint32_t want = crc_ref(buf + align, n);
            bad_sw += crc_sw(buf + align, n) != want;
            if (hw)
                bad_hw += crc_hw(buf + align, n) != want;
            CHECK_EQ_INT(tb_crc32c(buf + align, n), want);
        }
    CHECK_EQ_INT(bad_sw, 0);
    CHECK_EQ_INT(bad_hw, 0);

    /* Long buffers: the interleaved rounds and their tails. */
    size_t big = 200000 + 8;
    uint8_t *b = malloc(big);
    CHECK(b != NULL);
    if (b) {
        for (size_t i = 0; i < big; i++)
            b[i] = next_byte();
        static const size_t sizes[] = {3071, 3072, 3073, 6143, 6144, 6151, 9216 + 5,
                                       65536, 100003, 200000};
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
            for (size_t align = 0; align < 8; align += 3) {
                uint32_t want = crc_ref(b + align, sizes[k]);
                CHECK_EQ_INT(crc_sw(b + align, sizes[k]), want);
                if (hw)
                    CHECK_EQ_INT(crc_hw(b + align, sizes[k]), want);
            }
        /* Incremental use: crc over two pieces equals crc over the whole. */
        uint32_t c = tb_crc32c_sw(0xFFFFFFFFu, b, 5000);
        c = hw ? tb_crc32c_hw(c, b + 5000, 20000) : tb_crc32c_sw(c, b + 5000, 20000);
        CHECK_EQ_INT(c ^ 0xFFFFFFFFu, crc_ref(b, 25000));
        /* A single flipped bit changes the CRC. */
        uint32_t before = tb_crc32c(b, 10000);
        b[1234] ^= 0x10;
        CHECK(tb_crc32c(b, 10000) != before);
        free(b);
    }
    return check_summary("test_crc32c");
}
