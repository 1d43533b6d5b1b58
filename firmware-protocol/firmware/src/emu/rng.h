/*
 * Deterministic random numbers for the emulated chip: splitmix64 to seed, xoshiro256** to draw
 * (Blackman and Vigna). Header-only so tests and the emulator share one definition.
 */
#ifndef EMU_RNG_H
#define EMU_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct emu_rng {
    uint64_t s[4];
} emu_rng;

static inline uint64_t emu_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* One independent stream per (seed, stream): the chip draws block b from stream b. */
static inline void emu_rng_seed(emu_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t st = seed ^ (stream * UINT64_C(0xD1B54A32D192ED03));
    int i;
    for (i = 0; i < 4; i++)
        r->s[i] = emu_splitmix64(&st);
}

static inline uint64_t emu_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t emu_rng_next(emu_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = emu_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = emu_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1), 53 bits. */
static inline double emu_rng_double(emu_rng *r) { return (double)(emu_rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

/* Uniform in (0, 1], safe for log(). */
static inline double emu_rng_open0(emu_rng *r) { return 1.0 - emu_rng_double(r); }

#endif
