/* kernels_r8.h — the 256-bit kernels of the repacked Q4_1 layout (repack.c): 8 rows per
 * vector, one group of 8 rows at a time. Included by kernels_avx512.c (DPBUSD =
 * vpdpbusd; its 512-bit path takes pairs of groups and leaves the rest to these) and
 * kernels_avx2.c (DPBUSD = maddubs + madd: the nibbles are at most 15, so no 16-bit sum
 * saturates and the integer dots are the same). The float steps are the same code in
 * both, so a (row, token) result has the same bits on either family. Expects DPBUSD(acc,
 * u8 vector, s8 vector), loadu256 and the prefetch helpers (kernels_legacy.h). */
#ifndef LMC_KERNELS_R8_H
#define LMC_KERNELS_R8_H

#include <immintrin.h>
#include <string.h>

/* Written out by hand, every value a named register: given loops over w[8] and the
 * tokens, GCC kept the weights and accumulators on the stack and ran the 8 products of
 * a block as one serial chain (10 MACs a cycle). Here each token's 8 products run as
 * two chains of 4 (integer sums: the same value in any order) and the activation
 * scales arrive as floats (yd, ys: exact conversions of the fp16 scales, made once per
 * matmul), so the float steps, hence the bits, are those of the scalar chain. */
#define R8_BCAST(q, c) _mm256_set1_epi32(load_i32((q) + 4 * (c)))
static inline int32_t load_i32(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* the 8 chunks' integer dots of token q_ against w0..w7, as two chains pa_ / pb_ (each
 * started by the caller): integer sums, the same in any order. DP(acc, u8, s8) and
 * BC(q, chunk) for the vector width (256 here; kernels_avx512.c's pairs use 512). */
#define LMC_DOT8(DP, BC, pa_, pb_)                                                                   \
    pa_ = DP(pa_, w0, BC(q_, 0));                                                                    \
    pb_ = DP(pb_, w1, BC(q_, 1));                                                                    \
    pa_ = DP(pa_, w2, BC(q_, 2));                                                                    \
    pb_ = DP(pb_, w3, BC(q_, 3));                                                                    \
    pa_ = DP(pa_, w4, BC(q_, 4));                                                                    \
    pb_ = DP(pb_, w5, BC(q_, 5));                                                                    \
    pa_ = DP(pa_, w6, BC(q_, 6));                                                                    \
    pb_ = DP(pb_, w7, BC(q_, 7))

/* One token q's step on a group-block: the exact integer dot (its first chain started at
 * start_, Q8_0's -128 * ysum, else 0), then acc = fma(dx * dy, dot, acc). VW is the
 * width's suffix pair (256 / si256, 512 / si512); dx is the block's d, loaded by the
 * caller. */
#define LMC_R8_STEP(VW, SI, DP, BC, acc, q, start_, dy_)                                            \
    do {                                                                                             \
        const int8_t *q_ = (q);                                                                      \
        __m##VW##i pa_ = (start_), pb_ = _mm##VW##_setzero_##SI();                                   \
        LMC_DOT8(DP, BC, pa_, pb_);                                                                  \
        const __m##VW p_ = _mm##VW##_cvtepi32_ps(_mm##VW##_add_epi32(pa_, pb_));                      \
        acc = _mm##VW##_fmadd_ps(_mm##VW##_mul_ps(dx, _mm##VW##_set1_ps(dy_)), p_, acc);             \
    } while (0)
#define R8_STEP(acc, q, start_, dy_) LMC_R8_STEP(256, si256, DPBUSD, R8_BCAST, acc, q, start_, dy_)

/* Q4_1: one token's dot scaled into acc, and the min term m * s into its own chain accm,
 * as the row-major dot keeps them. Vector v of the block holds chunk v in its low
 * nibbles and chunk v + 4 in its high ones, 8 rows each. */
#define R8_Q41_TOKEN(acc, accm, q, dy_, sy_)                                                         \
    do {                                                                                             \
        R8_STEP(acc, q, _mm256_setzero_si256(), dy_);                                                \
        accm = _mm256_fmadd_ps(mx, _mm256_set1_ps(sy_), accm);                                       \
    } while (0)

/* a batch's first pass over a group brings its blocks in from memory, this far ahead, in
 * the 256-bit passes (4 tokens each). Measured when the 512-bit pair passes took 8 tokens
 * and used it too (engine, 16 streams of SmolLM2: 2048 bytes 745 t/s, 4096 784, 8192 and
 * more no better); those now take 16 and use R16_FIRST_PASS_AHEAD (kernels_avx512.c). */
#define R8_FIRST_PASS_AHEAD 4096

/* Q8_0's 8-row groups [g, g1) x all n_tok tokens, 256 bits wide (the AVX-512 kernel's
 * odd groups and the AVX2 kernel): 4 tokens share each weight load, the tail runs the
 * same steps one token at a time. LOAD(b) declares block b's dx and w0..w7, TOK(acc, k)
 * adds token t + k's step for block i, FIRST(b) runs on a 4-token pass's blocks. Expects
 * g, g1, n_tok, nb, gb, P, Y, ldy in scope. */
#define R8_Q80_GROUPS(LOAD, TOK, FIRST)                                                              \
    for (; g < g1; g++) {                                                                            \
        const uint8_t *pg = (const uint8_t *)P + (size_t)g * (size_t)nb * gb;                        \
        int64_t t = 0;                                                                               \
        for (; t + 4 <= n_tok; t += 4) {                                                             \
            __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;                              \
            for (int64_t i = 0; i < nb; i++) {                                                       \
                const uint8_t *b = pg + (size_t)i * gb;                                              \
                FIRST(b);                                                                            \
                LOAD(b);                                                                             \
                TOK(c0, 0);                                                                          \
                TOK(c1, 1);                                                                          \
                TOK(c2, 2);                                                                          \
                TOK(c3, 3);                                                                          \
            }                                                                                        \
            _mm256_storeu_ps(Y + t * ldy + g * 8, c0);                                               \
            _mm256_storeu_ps(Y + (t + 1) * ldy + g * 8, c1);                                         \
            _mm256_storeu_ps(Y + (t + 2) * ldy + g * 8, c2);                                         \
            _mm256_storeu_ps(Y + (t + 3) * ldy + g * 8, c3);                                         \
        }                                                                                            \
        for (; t < n_tok; t++) {                                                                     \
            __m256 c0 = _mm256_setzero_ps();                                                         \
            for (int64_t i = 0; i < nb; i++) {                                                       \
                const uint8_t *b = pg + (size_t)i * gb;                                              \
                pf_weights_span(b, gb); /* generation streams the weights */                         \
                LOAD(b);                                                                             \
                TOK(c0, 0);                                                                          \
            }                                                                                        \
            _mm256_storeu_ps(Y + t * ldy + g * 8, c0);                                               \
        }                                                                                            \
    }

static inline void lmc_q4_1_r8_ymm(int64_t n_in, int64_t g, int64_t g1, int64_t n_tok, const void *P, const void *A,
                                   size_t a_row, const float *yd, const float *ys, float *Y, int64_t ldy) {
    const int64_t nb = n_in / 32;
    const size_t gb = 16 * sizeof(lmc_fp16) + 8 * 16;
    const char *a = A;
    const __m256i lo = _mm256_set1_epi8(0x0F);
#define R8_Q41_LOAD(b)                                                                               \
    const __m256 dx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b)));                       \
    const __m256 mx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((b) + 16)));                \
    const __m256i x0 = loadu256((b) + 32), x1 = loadu256((b) + 64);                                   \
    const __m256i x2 = loadu256((b) + 96), x3 = loadu256((b) + 128);                                  \
    const __m256i w0 = _mm256_and_si256(x0, lo), w4 = _mm256_and_si256(_mm256_srli_epi16(x0, 4), lo); \
    const __m256i w1 = _mm256_and_si256(x1, lo), w5 = _mm256_and_si256(_mm256_srli_epi16(x1, 4), lo); \
    const __m256i w2 = _mm256_and_si256(x2, lo), w6 = _mm256_and_si256(_mm256_srli_epi16(x2, 4), lo); \
    const __m256i w3 = _mm256_and_si256(x3, lo), w7 = _mm256_and_si256(_mm256_srli_epi16(x3, 4), lo)
#define R8_Q41_Q(k) (((const block_q8_1 *)(a + (size_t)(t + (k)) * a_row) + i)->qs)
    for (; g < g1; g++) {
        const uint8_t *pg = (const uint8_t *)P + (size_t)g * (size_t)nb * gb;
        int64_t t = 0;
        for (; t + 4 <= n_tok; t += 4) {
            __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, m0 = c0, m1 = c0, m2 = c0, m3 = c0;
            const float *d0 = yd + t * nb, *s0 = ys + t * nb;
            for (int64_t i = 0; i < nb; i++) {
                const uint8_t *b = pg + (size_t)i * gb;
                if (t == 0) pf_span(b + R8_FIRST_PASS_AHEAD, gb);
                R8_Q41_LOAD(b);
                R8_Q41_TOKEN(c0, m0, R8_Q41_Q(0), d0[i], s0[i]);
                R8_Q41_TOKEN(c1, m1, R8_Q41_Q(1), d0[nb + i], s0[nb + i]);
                R8_Q41_TOKEN(c2, m2, R8_Q41_Q(2), d0[2 * nb + i], s0[2 * nb + i]);
                R8_Q41_TOKEN(c3, m3, R8_Q41_Q(3), d0[3 * nb + i], s0[3 * nb + i]);
            }
            _mm256_storeu_ps(Y + t * ldy + g * 8, _mm256_add_ps(c0, m0));
            _mm256_storeu_ps(Y + (t + 1) * ldy + g * 8, _mm256_add_ps(c1, m1));
            _mm256_storeu_ps(Y + (t + 2) * ldy + g * 8, _mm256_add_ps(c2, m2));
            _mm256_storeu_ps(Y + (t + 3) * ldy + g * 8, _mm256_add_ps(c3, m3));
        }
        for (; t < n_tok; t++) {
            __m256 c0 = _mm256_setzero_ps(), m0 = c0;
            for (int64_t i = 0; i < nb; i++) {
                const uint8_t *b = pg + (size_t)i * gb;
                pf_weights_span(b, gb); /* generation streams the weights */
                R8_Q41_LOAD(b);
                R8_Q41_TOKEN(c0, m0, R8_Q41_Q(0), yd[t * nb + i], ys[t * nb + i]);
            }
            _mm256_storeu_ps(Y + t * ldy + g * 8, _mm256_add_ps(c0, m0));
        }
    }
#undef R8_Q41_LOAD
#undef R8_Q41_Q
}

#endif /* LMC_KERNELS_R8_H */
