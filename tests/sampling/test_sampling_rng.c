/* test_sampling_rng.c — lmc_rng against published vectors: xoshiro256** from the
 * state {1,2,3,4} (the reference outputs in rand_xoshiro's and Vigna's test
 * suites), splitmix64 from seeds 0 and 1234567 (Vigna's splitmix64.c outputs, as in
 * Java's SplittableRandom tests), plus uniformity of lmc_rng_uniform. */
#include "lmc.h"
#include "test_util.h"

#include <inttypes.h>

int main(void) {
    /* xoshiro256** reference vector */
    static const uint64_t xo[10] = {11520ull,
                                    0ull,
                                    1509978240ull,
                                    1215971899390074240ull,
                                    1216172134540287360ull,
                                    607988272756665600ull,
                                    16172922978634559625ull,
                                    8476171486693032832ull,
                                    10595114339597558777ull,
                                    2904607092377533576ull};
    lmc_rng r = {{1, 2, 3, 4}};
    for (int i = 0; i < 10; i++) {
        uint64_t v = lmc_rng_u64(&r);
        CHECK_MSG(v == xo[i], "xoshiro256** output %d = %" PRIu64 ", want %" PRIu64, i, v, xo[i]);
    }

    /* seeding = four splitmix64 outputs */
    static const uint64_t sm0[4] = {0xE220A8397B1DCDAFull, 0x6E789E6AA1B965F4ull, 0x06C45D188009454Full,
                                    0xF88BB8A8724C81ECull};
    static const uint64_t sm1234567[4] = {6457827717110365317ull, 3203168211198807973ull, 9817491932198370423ull,
                                          4593380528125082431ull};
    lmc_rng_seed(&r, 0);
    for (int i = 0; i < 4; i++) CHECK_MSG(r.s[i] == sm0[i], "splitmix64(0) word %d = %" PRIx64, i, r.s[i]);
    lmc_rng_seed(&r, 1234567);
    for (int i = 0; i < 4; i++) CHECK_MSG(r.s[i] == sm1234567[i], "splitmix64(1234567) word %d = %" PRIu64, i, r.s[i]);

    /* same seed, same stream; different seeds, different streams */
    lmc_rng a, b, c;
    lmc_rng_seed(&a, 42);
    lmc_rng_seed(&b, 42);
    lmc_rng_seed(&c, 43);
    int same_ab = 1, same_ac = 1;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = lmc_rng_u64(&a), y = lmc_rng_u64(&b), z = lmc_rng_u64(&c);
        same_ab &= x == y;
        same_ac &= x == z;
    }
    CHECK(same_ab);
    CHECK(!same_ac);

    /* a random seed is resolved to something else than the sentinel, and differs */
    uint64_t s1 = lmc_rng_random_seed(), s2 = lmc_rng_random_seed();
    CHECK(s1 != LMC_SEED_RANDOM && s2 != LMC_SEED_RANDOM);
    CHECK(s1 != s2);

    /* uniform in [0,1): range, mean and a 16-bin chi-square over 160000 draws
     * (df 15, critical value at p = 0.001 is 37.70) */
    lmc_rng_seed(&a, 7);
    int bins[16] = {0};
    double sum = 0, mn = 1, mx = 0;
    const int N = 160000;
    for (int i = 0; i < N; i++) {
        double u = lmc_rng_uniform(&a);
        if (u < mn) mn = u;
        if (u > mx) mx = u;
        sum += u;
        bins[(int)(u * 16)]++;
    }
    CHECK(mn >= 0.0 && mx < 1.0);
    CHECK_NEAR(sum / N, 0.5, 0.005);
    double chi = 0;
    for (int k = 0; k < 16; k++) chi += (bins[k] - N / 16.0) * (bins[k] - N / 16.0) / (N / 16.0);
    CHECK_MSG(chi < 37.70, "chi-square of 16 bins = %g", chi);
    return t_done("test_sampling_rng");
}
