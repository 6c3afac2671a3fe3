/* kernels_avx512.c — kernels for CPUs with AVX-512 VNNI (+ VL): the legacy quant types
 * (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) with vpdpbusd, which does the u8 x s8 products and the
 * 4-way sum into int32 in one instruction (AVX2 needs maddubs + madd). The kernels are
 * kernels_legacy.h, shared with kernels_avx2.c: the integer sums are equal exactly and
 * the float steps are the same code, so results are identical to the AVX2 family.
 * Other types return NULL here and use the AVX2 kernels (the K-quants multiply 16-bit sub-block scales, which VNNI does not help with; F32/F16
 * are memory-bound).
 *
 * Built with the AVX-512 flags; traits.c only calls in after checking the CPU. Define
 * LMC_EMULATE_VNNI to build the same code for AVX2-only CPUs (used to test the logic
 * where no AVX-512 hardware is at hand). */
#include "kernels_simd.h"

#include <immintrin.h>

#ifdef LMC_EMULATE_VNNI
#define DPBUSD(acc, u, s) _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1)))
#else
#define DPBUSD(acc, u, s) _mm256_dpbusd_epi32((acc), (u), (s))
#endif

#define LMC_UDOT(u, s) DPBUSD(_mm256_setzero_si256(), (u), (s))
#include "kernels_legacy.h"

lmc_vec_dot_fn lmc_vec_dot_avx512(lmc_type t) {
    switch (t) {
    case LMC_TYPE_Q4_0: return dot_q4_0;
    case LMC_TYPE_Q4_1: return dot_q4_1;
    case LMC_TYPE_Q5_0: return dot_q5_0;
    case LMC_TYPE_Q5_1: return dot_q5_1;
    case LMC_TYPE_Q8_0: return dot_q8_0;
    default: return NULL;
    }
}

lmc_vec_dot4_fn lmc_vec_dot4_avx512(lmc_type t) {
    switch (t) {
    case LMC_TYPE_Q4_0: return dot4_q4_0;
    case LMC_TYPE_Q4_1: return dot4_q4_1;
    case LMC_TYPE_Q5_0: return dot4_q5_0;
    case LMC_TYPE_Q5_1: return dot4_q5_1;
    case LMC_TYPE_Q8_0: return dot4_q8_0;
    default: return NULL;
    }
}

lmc_gemm_tile_fn lmc_gemm_tile_avx512(lmc_type t) {
    switch (t) {
    case LMC_TYPE_Q4_0: return tile_q4_0;
    case LMC_TYPE_Q4_1: return tile_q4_1;
    case LMC_TYPE_Q5_0: return tile_q5_0;
    case LMC_TYPE_Q5_1: return tile_q5_1;
    case LMC_TYPE_Q8_0: return tile_q8_0;
    default: return NULL;
    }
}

/* ---- activation quantizers ------------------------------------------------------------- */

#ifndef LMC_EMULATE_VNNI
/* One block of 32 floats as kernels_avx2.c's act_q8_0 / act_q8_1 quantize it: scale
 * 127 / amax, round half to even, saturate to int8; the sum of the saturated quants
 * (exact in int32, as the 8-lane code's maddubs/madd sum is). Two vectors a block, F16C
 * for the scales (round to nearest even, as lmc_fp32_to_fp16). */
static inline float q8_block(const float *x, int8_t *qs, int32_t *sum) {
    const __m512 a = _mm512_loadu_ps(x), b = _mm512_loadu_ps(x + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(a), _mm512_abs_ps(b)));
    const __m512 id = _mm512_set1_ps(amax != 0.0f ? 127.f / amax : 0.0f);
    const __m512i ia = _mm512_cvt_roundps_epi32(_mm512_mul_ps(a, id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512i ib = _mm512_cvt_roundps_epi32(_mm512_mul_ps(b, id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128((__m128i *)qs, _mm512_cvtsepi32_epi8(ia));
    _mm_storeu_si128((__m128i *)(qs + 16), _mm512_cvtsepi32_epi8(ib));
    if (sum) {
        const __m512i lo = _mm512_set1_epi32(-128), hi = _mm512_set1_epi32(127);
        *sum = _mm512_reduce_add_epi32(_mm512_add_epi32(_mm512_max_epi32(_mm512_min_epi32(ia, hi), lo),
                                                        _mm512_max_epi32(_mm512_min_epi32(ib, hi), lo)));
    }
    return amax;
}

static void act_q8_0_512(const float *src, void *dst, int64_t n) {
    block_q8_0 *y = dst;
    for (int64_t i = 0; i < n / QK8_0; i++, src += QK8_0) {
        const float amax = q8_block(src, y[i].qs, NULL);
        y[i].d = _cvtss_sh(amax / 127.f, _MM_FROUND_TO_NEAREST_INT);
    }
}

static void act_q8_1_512(const float *src, void *dst, int64_t n) {
    block_q8_1 *y = dst;
    for (int64_t i = 0; i < n / QK8_1; i++, src += QK8_1) {
        int32_t sum;
        const float d = q8_block(src, y[i].qs, &sum) / 127.f;
        y[i].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        y[i].s = _cvtss_sh(d * (float)sum, _MM_FROUND_TO_NEAREST_INT);
    }
}
#endif

lmc_from_float_fn lmc_act_from_float_avx512(lmc_type t) {
#ifndef LMC_EMULATE_VNNI
    if (t == LMC_TYPE_Q8_0) return act_q8_0_512;
    if (t == LMC_TYPE_Q8_1) return act_q8_1_512;
#endif
    (void)t;
    return NULL;
}

/* ---- repacked Q8_0 / Q4_1 x 8 rows (repack.c) ------------------------------------------------- */

#include "kernels_r8.h"

#ifndef LMC_EMULATE_VNNI /* 512-bit paths: real AVX-512 only */
/* two 8-row groups' vectors as one 512-bit vector (the second group in the upper half) */
static inline __m512i pair256(const uint8_t *lo, const uint8_t *hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(loadu256(lo)), loadu256(hi), 1);
}
static inline __m256i pair128(const uint8_t *lo, const uint8_t *hi) {
    return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)lo)),
                                   _mm_loadu_si128((const __m128i *)hi), 1);
}
/* how far ahead a batch's first pass over a pair of groups asks for their weights: with
 * 16 tokens a pass (engine, 16 streams of SmolLM2, alternating runs) 4096 bytes gave
 * 886/952/972 t/s, 8192 950/1002/986, 12288 938/1002/953 */
#define R16_FIRST_PASS_AHEAD 8192
#define R16_BCAST(q, c) _mm512_set1_epi32(load_i32((q) + 4 * (c)))
#define R16_STEP(acc, q, start_, dy_) LMC_R8_STEP(512, si512, _mm512_dpbusd_epi32, R16_BCAST, acc, q, start_, dy_)
#define R16_Q80_TOKEN(acc, q, ysum_, dy_) R16_STEP(acc, q, _mm512_set1_epi32(-128 * (ysum_)), dy_)
#define R16_Q41_DOT(acc, q, dy_) R16_STEP(acc, q, _mm512_setzero_si512(), dy_)
#define R16_Q41_TOKEN(acc, accm, q, dy_, sy_)                                                        \
    do {                                                                                             \
        R16_Q41_DOT(acc, q, dy_);                                                                    \
        accm = _mm512_fmadd_ps(mx, _mm512_set1_ps(sy_), accm);                                       \
    } while (0)

#endif

/* Q8_0: the 8 rows' integer dots with token q (weights stored as q + 128: 128 * ysum is
 * taken off), then acc = fma(dx * dy, dot, acc). */
#define R8_Q80_TOKEN(acc, q, ysum_, dy_) R8_STEP(acc, q, _mm256_set1_epi32(-128 * (ysum_)), dy_)

void lmc_q8_0_r8_gemm_avx512(int64_t n_in, int64_t g0, int64_t g1, int64_t n_tok, const void *P, const void *A,
                             size_t a_row, const int32_t *ysum, const float *yd, float *Y, int64_t ldy) {
    const int64_t nb = n_in / 32;
    const size_t gb = 8 * sizeof(lmc_fp16) + 8 * 32;
    const char *a = A;
#define R8_Q80_LOAD(b)                                                                               \
    const __m256 dx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b)));                       \
    const __m256i w0 = loadu256((b) + 16), w1 = loadu256((b) + 48), w2 = loadu256((b) + 80);          \
    const __m256i w3 = loadu256((b) + 112), w4 = loadu256((b) + 144), w5 = loadu256((b) + 176);       \
    const __m256i w6 = loadu256((b) + 208), w7 = loadu256((b) + 240)
#define R8_Q80_Q(k) (((const block_q8_0 *)(a + (size_t)(t + (k)) * a_row) + i)->qs)
#ifndef LMC_EMULATE_VNNI
#define R16_Q80_LOAD(b, bh)                                                                          \
    const __m512 dx = _mm512_cvtph_ps(pair128((b), (bh)));                                          \
    const __m512i w0 = pair256((b) + 16, (bh) + 16), w1 = pair256((b) + 48, (bh) + 48);              \
    const __m512i w2 = pair256((b) + 80, (bh) + 80), w3 = pair256((b) + 112, (bh) + 112);            \
    const __m512i w4 = pair256((b) + 144, (bh) + 144), w5 = pair256((b) + 176, (bh) + 176);          \
    const __m512i w6 = pair256((b) + 208, (bh) + 208), w7 = pair256((b) + 240, (bh) + 240)
#endif
    int64_t g = g0;
#ifndef LMC_EMULATE_VNNI
    /* Batches: two groups side by side in 512-bit vectors (16 rows, lanes 8-15 the second
     * group), each lane the same steps as below */
    for (; n_tok >= 4 && g + 2 <= g1; g += 2) {
        const uint8_t *pg = (const uint8_t *)P + (size_t)g * (size_t)nb * gb, *ph = pg + (size_t)nb * gb;
        int64_t t = 0;
        /* 16 tokens per pass over the weights where there are 16, then 8, then 4 (a
         * group's weights come in from memory on the batch's first pass, and 16 tokens give
         * that pass enough work to hide the reading): TOKENS steps and STORES writes the
         * pass's accumulators c0.. */
#define R16_Q80_PASS(TOKENS, STORES)                                                                 \
    do {                                                                                             \
        const int32_t *s0 = ysum + t * nb;                                                           \
        const float *d0 = yd + t * nb;                                                               \
        for (int64_t i = 0; i < nb; i++) {                                                           \
            const uint8_t *b = pg + (size_t)i * gb, *bh = ph + (size_t)i * gb;                       \
            if (t == 0) pf_span(b + R16_FIRST_PASS_AHEAD, gb), pf_span(bh + R16_FIRST_PASS_AHEAD, gb); \
            R16_Q80_LOAD(b, bh);                                                                     \
            TOKENS;                                                                                  \
        }                                                                                            \
        STORES;                                                                                      \
    } while (0)
#define R16_Q80_T(k) R16_Q80_TOKEN(c##k, R8_Q80_Q(k), s0[(k) * nb + i], d0[(k) * nb + i])
#define R16_ST(k) _mm512_storeu_ps(Y + (t + (k)) * ldy + g * 8, c##k)
#define R16_Q80_T4 R16_Q80_T(0); R16_Q80_T(1); R16_Q80_T(2); R16_Q80_T(3)
#define R16_Q80_T8 R16_Q80_T4; R16_Q80_T(4); R16_Q80_T(5); R16_Q80_T(6); R16_Q80_T(7)
#define R16_ST4 R16_ST(0); R16_ST(1); R16_ST(2); R16_ST(3)
#define R16_ST8 R16_ST4; R16_ST(4); R16_ST(5); R16_ST(6); R16_ST(7)
#define R16_Q80_T16 R16_Q80_T8; R16_Q80_T(8); R16_Q80_T(9); R16_Q80_T(10); R16_Q80_T(11); \
    R16_Q80_T(12); R16_Q80_T(13); R16_Q80_T(14); R16_Q80_T(15)
#define R16_ST16 R16_ST8; R16_ST(8); R16_ST(9); R16_ST(10); R16_ST(11); R16_ST(12); R16_ST(13); R16_ST(14); R16_ST(15)
        for (; t + 16 <= n_tok; t += 16) {
            __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
            __m512 c8 = c0, c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0;
            R16_Q80_PASS(R16_Q80_T16, R16_ST16);
        }
        for (; t + 8 <= n_tok; t += 8) {
            __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
            R16_Q80_PASS(R16_Q80_T8, R16_ST8);
        }
        for (; t + 4 <= n_tok; t += 4) {
            __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
            R16_Q80_PASS(R16_Q80_T4, R16_ST4);
        }
#undef R16_ST16
#undef R16_Q80_T16
#undef R16_ST8
#undef R16_ST4
#undef R16_Q80_T8
#undef R16_Q80_T4
#undef R16_ST
#undef R16_Q80_T
#undef R16_Q80_PASS
        for (; t < n_tok; t++) {
            __m512 c0 = _mm512_setzero_ps();
            for (int64_t i = 0; i < nb; i++) {
                const uint8_t *b = pg + (size_t)i * gb, *bh = ph + (size_t)i * gb;
                R16_Q80_LOAD(b, bh);
                R16_Q80_TOKEN(c0, R8_Q80_Q(0), ysum[t * nb + i], yd[t * nb + i]);
            }
            _mm512_storeu_ps(Y + t * ldy + g * 8, c0);
        }
    }
#endif
#define R8_Q80_TOK(acc, k) R8_Q80_TOKEN(acc, R8_Q80_Q(k), ysum[(t + (k)) * nb + i], yd[(t + (k)) * nb + i])
#define R8_NO_FIRST(b) (void)(b)
    R8_Q80_GROUPS(R8_Q80_LOAD, R8_Q80_TOK, R8_NO_FIRST);
#undef R8_NO_FIRST
#undef R8_Q80_TOK
#undef R8_Q80_LOAD
#undef R16_Q80_LOAD
#undef R8_Q80_Q
}

void lmc_q4_1_r8_gemm_avx512(int64_t n_in, int64_t g0, int64_t g1, int64_t n_tok, const void *P, const void *A,
                             size_t a_row, const float *yd, const float *ys, float *Y, int64_t ldy) {
    int64_t g = g0;
#ifndef LMC_EMULATE_VNNI
    const int64_t nb = n_in / 32;
    const size_t gb = 16 * sizeof(lmc_fp16) + 8 * 16;
    const char *a = A;
#define R8_Q41_Q(k) (((const block_q8_1 *)(a + (size_t)(t + (k)) * a_row) + i)->qs)
#define R16_Q41_LOAD(b, bh)                                                                          \
    const __m512 dx = _mm512_cvtph_ps(pair128((b), (bh)));                                          \
    const __m512 mx = _mm512_cvtph_ps(pair128((b) + 16, (bh) + 16));                               \
    const __m512i x0 = pair256((b) + 32, (bh) + 32), x1 = pair256((b) + 64, (bh) + 64);              \
    const __m512i x2 = pair256((b) + 96, (bh) + 96), x3 = pair256((b) + 128, (bh) + 128);            \
    const __m512i w0 = _mm512_and_si512(x0, lo16), w4 = _mm512_and_si512(_mm512_srli_epi16(x0, 4), lo16); \
    const __m512i w1 = _mm512_and_si512(x1, lo16), w5 = _mm512_and_si512(_mm512_srli_epi16(x1, 4), lo16); \
    const __m512i w2 = _mm512_and_si512(x2, lo16), w6 = _mm512_and_si512(_mm512_srli_epi16(x2, 4), lo16); \
    const __m512i w3 = _mm512_and_si512(x3, lo16), w7 = _mm512_and_si512(_mm512_srli_epi16(x3, 4), lo16)
    const __m512i lo16 = _mm512_set1_epi8(0x0F);
    for (; n_tok >= 4 && g + 2 <= g1; g += 2) { /* two groups at once, as for Q8_0 */
        const uint8_t *pg = (const uint8_t *)P + (size_t)g * (size_t)nb * gb, *ph = pg + (size_t)nb * gb;
        int64_t t = 0;
        /* 16 tokens per pass over the weights where there are 16 (so that a group's
         * weights, read from memory on the first pass, meet enough work to hide the
         * reading), then 8; their min chains (m * s, the same per (row, token) chain in
         * its own order) in a second, short pass, which keeps the dot accumulators and
         * the weights in registers. ZM declares the min accumulators, DOTS, MINS and
         * STORES are the pass's token steps. */
#define R16_Q41_PASS(DOTS, ZM, MINS, STORES)                                                         \
    do {                                                                                             \
        const float *d0 = yd + t * nb, *s0 = ys + t * nb;                                            \
        for (int64_t i = 0; i < nb; i++) {                                                           \
            const uint8_t *b = pg + (size_t)i * gb, *bh = ph + (size_t)i * gb;                       \
            if (t == 0) pf_span(b + R16_FIRST_PASS_AHEAD, gb), pf_span(bh + R16_FIRST_PASS_AHEAD, gb); \
            R16_Q41_LOAD(b, bh);                                                                     \
            (void)mx;                                                                                \
            DOTS;                                                                                    \
        }                                                                                            \
        ZM;                                                                                          \
        for (int64_t i = 0; i < nb; i++) {                                                           \
            const uint8_t *b = pg + (size_t)i * gb, *bh = ph + (size_t)i * gb;                       \
            const __m512 mx = _mm512_cvtph_ps(pair128(b + 16, bh + 16));                            \
            MINS;                                                                                    \
        }                                                                                            \
        STORES;                                                                                      \
    } while (0)
#define Q41_D(k) R16_Q41_DOT(c##k, R8_Q41_Q(k), d0[(k) * nb + i])
#define Q41_M(k) m##k = _mm512_fmadd_ps(mx, _mm512_set1_ps(s0[(k) * nb + i]), m##k)
#define Q41_ST(k) _mm512_storeu_ps(Y + (t + (k)) * ldy + g * 8, _mm512_add_ps(c##k, m##k))
#define Q41_8(X) X(0); X(1); X(2); X(3); X(4); X(5); X(6); X(7)
#define Q41_16(X) Q41_8(X); X(8); X(9); X(10); X(11); X(12); X(13); X(14); X(15)
#define Z8(v) __m512 v##0 = _mm512_setzero_ps(), v##1 = v##0, v##2 = v##0, v##3 = v##0, v##4 = v##0, \
                     v##5 = v##0, v##6 = v##0, v##7 = v##0
#define Z16(v) Z8(v); __m512 v##8 = v##0, v##9 = v##0, v##10 = v##0, v##11 = v##0, v##12 = v##0,     \
                      v##13 = v##0, v##14 = v##0, v##15 = v##0
        for (; t + 16 <= n_tok; t += 16) {
            Z16(c);
            R16_Q41_PASS(Q41_16(Q41_D), Z16(m), Q41_16(Q41_M), Q41_16(Q41_ST));
        }
        for (; t + 8 <= n_tok; t += 8) {
            Z8(c);
            R16_Q41_PASS(Q41_8(Q41_D), Z8(m), Q41_8(Q41_M), Q41_8(Q41_ST));
        }
#undef Z16
#undef Z8
#undef Q41_16
#undef Q41_8
#undef Q41_ST
#undef Q41_M
#undef Q41_D
#undef R16_Q41_PASS
        for (; t + 4 <= n_tok; t += 4) {
            __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, m0 = c0, m1 = c0, m2 = c0, m3 = c0;
            const float *d0 = yd + t * nb, *s0 = ys + t * nb;
            for (int64_t i = 0; i < nb; i++) {
                const uint8_t *b = pg + (size_t)i * gb, *bh = ph + (size_t)i * gb;
                if (t == 0) pf_span(b + R16_FIRST_PASS_AHEAD, gb), pf_span(bh + R16_FIRST_PASS_AHEAD, gb);
                R16_Q41_LOAD(b, bh);
                R16_Q41_TOKEN(c0, m0, R8_Q41_Q(0), d0[i], s0[i]);
                R16_Q41_TOKEN(c1, m1, R8_Q41_Q(1), d0[nb + i], s0[nb + i]);
                R16_Q41_TOKEN(c2, m2, R8_Q41_Q(2), d0[2 * nb + i], s0[2 * nb + i]);
                R16_Q41_TOKEN(c3, m3, R8_Q41_Q(3), d0[3 * nb + i], s0[3 * nb + i]);
            }
            _mm512_storeu_ps(Y + t * ldy + g * 8, _mm512_add_ps(c0, m0));
            _mm512_storeu_ps(Y + (t + 1) * ldy + g * 8, _mm512_add_ps(c1, m1));
            _mm512_storeu_ps(Y + (t + 2) * ldy + g * 8, _mm512_add_ps(c2, m2));
            _mm512_storeu_ps(Y + (t + 3) * ldy + g * 8, _mm512_add_ps(c3, m3));
        }
        for (; t < n_tok; t++) {
            __m512 c0 = _mm512_setzero_ps(), m0 = c0;
            for (int64_t i = 0; i < nb; i++) {
                const uint8_t *b = pg + (size_t)i * gb, *bh = ph + (size_t)i * gb;
                R16_Q41_LOAD(b, bh);
                R16_Q41_TOKEN(c0, m0, R8_Q41_Q(0), yd[t * nb + i], ys[t * nb + i]);
            }
            _mm512_storeu_ps(Y + t * ldy + g * 8, _mm512_add_ps(c0, m0));
        }
    }
#endif
    lmc_q4_1_r8_ymm(n_in, g, g1, n_tok, P, A, a_row, yd, ys, Y, ldy); /* the rest, and one token */
#undef R16_Q41_LOAD
#undef R8_Q41_Q
}

/* ---- FP32 FMA peak (benchmark) ---------------------------------------------------------- */

double lmc_fma_burn_avx512(int64_t iters, float *sink) {
#ifdef LMC_EMULATE_VNNI
    (void)iters;
    *sink = 0;
    return 0;
#else
    LMC_FMA_BURN(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, iters);
    *sink = _mm512_reduce_add_ps(s);
    return (double)iters * 12 * 16 * 2;
#endif
}
