/*
 * ae_rng.h - internal: the random numbers of core/.
 *
 * Two kinds:
 *  - a stream generator (xoshiro256**, seeded through splitmix64) whose
 *    state is four words, saved in checkpoints: weight init and shuffling;
 *  - counter-based draws, a pure function of (key, counter): the denoise
 *    noise and the vae's eps, so they need no state, are the same for any
 *    thread count and can be recomputed (reconstruct shows the exact noisy
 *    inputs validation used).
 */
#ifndef AE_RNG_H
#define AE_RNG_H

#include <stdint.h>

struct ae_rng {
    uint64_t s[4];
};

/* Seed the stream from a 64-bit seed and a stream id (different ids give
 * independent streams from the same seed). */
void ae_rng_seed(struct ae_rng *r, uint64_t seed, uint64_t stream);
uint64_t ae_rng_next(struct ae_rng *r);
/* Uniform float in [0, 1) with 24 random bits. */
float ae_rng_uniform(struct ae_rng *r);
/* Uniform integer in [0, bound) without bias (Lemire); bound >= 1. */
uint32_t ae_rng_below(struct ae_rng *r, uint32_t bound);
/* Fisher-Yates shuffle of idx[0..n). */
void ae_rng_shuffle(struct ae_rng *r, int32_t *idx, int32_t n);

/* splitmix64's finaliser: a bijective 64-bit mix. */
static inline uint64_t ae_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Counter-based draw: 64 random bits for (key, counter). */
static inline uint64_t ae_rng_at(uint64_t key, uint64_t counter)
{
    return ae_mix64(key + counter * 0x9E3779B97F4A7C15ull);
}

/* Key of a named purpose for a seed: AE_KEY_NOISE_TRAIN etc. */
enum ae_rng_purpose {
    AE_RNG_INIT = 1,
    AE_RNG_SHUFFLE = 2,
    AE_RNG_NOISE_TRAIN = 3,
    AE_RNG_NOISE_TEST = 4,
    AE_RNG_EPS_TRAIN = 5,
    AE_RNG_EPS_TEST = 6,
    AE_RNG_PRIOR = 7, /* vae: draws from N(0, I) for ae_model_sample_prior */
};
static inline uint64_t ae_rng_key(uint64_t seed, enum ae_rng_purpose purpose)
{
    return ae_mix64(ae_mix64(seed ^ 0x6A09E667F3BCC909ull) + (uint64_t)purpose * 0xD1B54A32D192ED03ull);
}

/* A standard normal from 64 random bits (Box-Muller, float32, polynomial
 * log and cos shared with the vector code so every path gives the same
 * bits). */
float ae_normal_from_bits(uint64_t bits);

#endif /* AE_RNG_H */
