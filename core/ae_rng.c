/*
 * ae_rng.c - stream RNG (xoshiro256**), shuffling, and the normal draw.
 *
 * Owns the random numbers; does not own which seed a purpose uses (the
 * callers combine seed and purpose through ae_rng_key).  Written from the
 * published descriptions of splitmix64, xoshiro256** and Lemire's bounded
 * integers.
 */
#include <math.h>

#include "ae_rng.h"
#include "ae_vmath.h"

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void ae_rng_seed(struct ae_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t z = seed ^ (stream * 0xA0761D6478BD642Full);
    for (int i = 0; i < 4; i++) {
        z += 0x9E3779B97F4A7C15ull;
        r->s[i] = ae_mix64(z);
    }
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0) r->s[0] = 1;
}

uint64_t ae_rng_next(struct ae_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float ae_rng_uniform(struct ae_rng *r)
{
    return (float)(ae_rng_next(r) >> 40) * 0x1.0p-24f;
}

uint32_t ae_rng_below(struct ae_rng *r, uint32_t bound)
{
    uint64_t m = (uint64_t)(uint32_t)(ae_rng_next(r) >> 32) * bound;
    uint32_t lo = (uint32_t)m;
    if (lo < bound) {
        uint32_t threshold = (uint32_t)(-bound) % bound;
        while (lo < threshold) {
            m = (uint64_t)(uint32_t)(ae_rng_next(r) >> 32) * bound;
            lo = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void ae_rng_shuffle(struct ae_rng *r, int32_t *idx, int32_t n)
{
    for (int32_t i = n - 1; i > 0; i--) {
        int32_t j = (int32_t)ae_rng_below(r, (uint32_t)i + 1);
        int32_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

float ae_normal_from_bits(uint64_t bits)
{
    return ae_normal_scalar(bits);
}
