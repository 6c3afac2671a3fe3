/* kernels_avx512.c — kernels for CPUs with AVX-512 VNNI (+ VL): the legacy quant types
 * (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) with vpdpbusd, which does the u8 x s8 products and the
 * 4-way sum into int32 in one instruction (AVX2 needs maddubs + madd). The integer sums
 * equal the AVX2 ones exactly, and the float steps are the same, so results are
 * identical to kernels_avx2.c. Other types return NULL here and use the AVX2 kernels
 * (the K-quants multiply 16-bit sub-block scales, which VNNI does not help with; F32/F16
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

static inline float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float h2f(lmc_fp16 h) { return _cvtsh_ss(h); }

static inline __m256i loadu256(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* 16 bytes of nibbles -> 32 bytes: low nibbles in bytes 0..15, high in 16..31. */
static inline __m256i nibbles32(const uint8_t *q) {
    __m128i t = _mm_loadu_si128((const __m128i *)q);
    __m256i b = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
}

/* 32 bits -> 32 bytes, 0xFF where the bit is set. */
static inline __m256i bits32(const uint8_t *p) {
    uint32_t x;
    memcpy(&x, p, 4);
    const __m256i shuf = _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101,
                                            0x0202020202020202, 0x0303030303030303);
    __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x), shuf);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    return _mm256_cmpeq_epi8(_mm256_and_si256(b, bit), bit);
}

/* s8 x s8 -> 8 x s32 (sums of 4 adjacent products). */
static inline __m256i dot_s8(__m256i x, __m256i y) {
    return DPBUSD(_mm256_setzero_si256(), _mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

static inline __m256i q8_0_quants(const block_q8_0 *b) { return loadu256(b->qs); }
static inline __m256i q4_0_quants(const block_q4_0 *b) {
    return _mm256_sub_epi8(nibbles32(b->qs), _mm256_set1_epi8(8));
}
static inline __m256i q5_0_quants(const block_q5_0 *b) {
    __m256i hi = _mm256_andnot_si256(bits32(b->qh), _mm256_set1_epi8((char)0xF0));
    return _mm256_or_si256(nibbles32(b->qs), hi);
}

/* Same float steps as kernels_avx2.c (one accumulator, as llama.cpp). */
#define LEGACY_DOTS(SUFFIX, XT, QEXPR)                                                         \
    static void dot_##SUFFIX(int64_t n, float *s, const void *vx, const void *vy) {             \
        const XT *x = vx;                                                                      \
        const block_q8_0 *y = vy;                                                              \
        __m256 acc = _mm256_setzero_ps();                                                      \
        for (int64_t i = 0; i < n / 32; i++) {                                                 \
            __m256i p = dot_s8(QEXPR(x + i), loadu256(y[i].qs));                               \
            acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)),                   \
                                  _mm256_cvtepi32_ps(p), acc);                                 \
        }                                                                                      \
        *s = hsum_ps(acc);                                                                     \
    }                                                                                          \
    static void dot4_##SUFFIX(int64_t n, float *s, const void *vx, const void *vy, size_t ys) { \
        const XT *x = vx;                                                                      \
        const block_q8_0 *y[4];                                                                \
        for (int t = 0; t < 4; t++) y[t] = (const block_q8_0 *)((const char *)vy + t * ys);    \
        __m256 acc[4];                                                                         \
        for (int t = 0; t < 4; t++) acc[t] = _mm256_setzero_ps();                              \
        for (int64_t i = 0; i < n / 32; i++) {                                                 \
            __m256i q = QEXPR(x + i);                                                          \
            __m256i aq = _mm256_sign_epi8(q, q);                                               \
            const float dx = h2f(x[i].d);                                                      \
            for (int t = 0; t < 4; t++) {                                                      \
                __m256i p = DPBUSD(_mm256_setzero_si256(), aq,                                 \
                                   _mm256_sign_epi8(loadu256(y[t][i].qs), q));                 \
                acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dx * h2f(y[t][i].d)),                  \
                                         _mm256_cvtepi32_ps(p), acc[t]);                       \
            }                                                                                  \
        }                                                                                      \
        for (int t = 0; t < 4; t++) s[t] = hsum_ps(acc[t]);                                    \
    }

LEGACY_DOTS(q8_0, block_q8_0, q8_0_quants)
LEGACY_DOTS(q4_0, block_q4_0, q4_0_quants)
LEGACY_DOTS(q5_0, block_q5_0, q5_0_quants)

static void dot_q4_1(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q4_1 *x = vx;
    const block_q8_1 *y = vy;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        summs = fmaf(h2f(x[i].m), h2f(y[i].s), summs);
        __m256 d = _mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d));
        __m256i p = DPBUSD(_mm256_setzero_si256(), nibbles32(x[i].qs), loadu256(y[i].qs));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
    }
    *s = hsum_ps(acc) + summs;
}

static void dot_q5_1(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q5_1 *x = vx;
    const block_q8_1 *y = vy;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        summs = fmaf(h2f(x[i].m), h2f(y[i].s), summs);
        __m256 d = _mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d));
        __m256i hi = _mm256_and_si256(bits32(x[i].qh), _mm256_set1_epi8(0x10));
        __m256i q = _mm256_or_si256(nibbles32(x[i].qs), hi);
        __m256i p = DPBUSD(_mm256_setzero_si256(), q, loadu256(y[i].qs));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
    }
    *s = hsum_ps(acc) + summs;
}

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
    case LMC_TYPE_Q5_0: return dot4_q5_0;
    case LMC_TYPE_Q8_0: return dot4_q8_0;
    default: return NULL;
    }
}

/* ---- FP32 FMA peak (benchmark) ---------------------------------------------------------- */

double lmc_fma_burn_avx512(int64_t iters, float *sink) {
#ifdef LMC_EMULATE_VNNI
    (void)iters;
    *sink = 0;
    return 0;
#else
    __m512 a[12];
    for (int k = 0; k < 12; k++) a[k] = _mm512_set1_ps(1.0f + 0.01f * (float)k);
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int64_t i = 0; i < iters; i++)
        for (int k = 0; k < 12; k++) a[k] = _mm512_fmadd_ps(a[k], m, c);
    __m512 s = a[0];
    for (int k = 1; k < 12; k++) s = _mm512_add_ps(s, a[k]);
    *sink = _mm512_reduce_add_ps(s);
    return (double)iters * 12 * 16 * 2;
#endif
}
