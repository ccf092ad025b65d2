/*
 * jb_rng.h — the seeded random numbers of joulebench (weights, synthetic prompts, bootstrap
 * resampling): splitmix64, a counter-based generator whose whole state is one uint64_t, so a
 * seed and a step count reproduce any value.
 */
#ifndef JB_RNG_H
#define JB_RNG_H

#include <stdint.h>

/* splitmix64: *state advances by one step per call. */
static inline uint64_t jb_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 24 random bits. */
static inline float jb_rng_uniform(uint64_t *state)
{
    return (float)(jb_rng_next(state) >> 40) * (1.0f / 16777216.0f);
}

#endif
