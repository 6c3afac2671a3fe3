/* rng.c — the seeded random generator behind sampling: xoshiro256** (Blackman &
 * Vigna, 2018) seeded by splitmix64, so a seed reproduces the same draws everywhere
 * (unlike rand() or std::mt19937 + uniform_real_distribution, whose output
 * depends on the C library). */
#include "lmc-impl.h"

#include <time.h>
#include <unistd.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void lmc_rng_seed(lmc_rng *r, uint64_t seed) {
    if (seed == LMC_SEED_RANDOM) seed = lmc_rng_random_seed();
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    /* splitmix64 never yields four zero words from one seed, but be explicit: the
     * all-zero state is xoshiro's one fixed point. */
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1;
}

uint64_t lmc_rng_u64(lmc_rng *r) {
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double lmc_rng_uniform(lmc_rng *r) {
    /* The top 53 bits as a fraction: every double in [0, 1) on a 2^-53 grid. */
    return (double)(lmc_rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t lmc_rng_random_seed(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    x ^= (uint64_t)getpid() << 32;
    /* 32 bits, like llama.cpp's seeds: short to print and to pass back as --seed
     * (and never the LMC_SEED_RANDOM sentinel) */
    return splitmix64(&x) >> 32;
}
