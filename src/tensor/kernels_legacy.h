/* kernels_legacy.h — the legacy 32-block quant kernels (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 x
 * Q8_0/Q8_1 activations): 1-token dots, 4-token dots and 2-row x 4-token tiles.
 * Included by kernels_avx2.c and kernels_avx512.c, each compiled with its own ISA flags,
 * after defining
 *   LMC_UDOT(u, s): u8 x s8 -> 8 x s32, each the sum of 4 adjacent products
 * (AVX2: maddubs + madd; AVX-512 VNNI: vpdpbusd). Every integer sum is exact in both
 * (no s16 saturation for any block a quantizer produces), and the float steps are the
 * same code, so the two families give identical bits. Static functions only: each
 * including file gets its own copies. */
#ifndef LMC_KERNELS_LEGACY_H
#define LMC_KERNELS_LEGACY_H

#ifndef LMC_UDOT
#error "define LMC_UDOT before including kernels_legacy.h"
#endif

#include <immintrin.h>
#include <string.h>

/* Software prefetch of the weight stream, LMC_PF_DIST bytes ahead of the block being
 * multiplied, in the 1-token dots (generation). Why: the hardware prefetchers keep only
 * a few lines ahead, and a kernel that spends many instructions per weight byte (the
 * 4-bit types) then waits on memory; measured on a Sapphire-Rapids-class VM with
 * `lmc bench --kernels`, 1 thread: Q4_1 matrix-vector 2.7 -> 8.1 GB/s, Q8_0 7.7 -> 21.9.
 * A prefetch is a hint: one past the end of a tensor does not fault. */
#ifndef LMC_PF_DIST
#define LMC_PF_DIST 4096
#endif

static inline void pf_weights(const void *p) { _mm_prefetch((const char *)p + LMC_PF_DIST, _MM_HINT_T0); }
/* every cache line of `bytes` at p */
static inline void pf_span(const void *p, size_t bytes) {
    for (size_t o = 0; o < bytes; o += 64) _mm_prefetch((const char *)p + o, _MM_HINT_T0);
}
/* every cache line of one block of `bytes` (the K-quant superblocks span several) */
static inline void pf_weights_span(const void *p, size_t bytes) { pf_span((const char *)p + LMC_PF_DIST, bytes); }

static inline float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* fp16 -> f32 with F16C: exact, same value as lmc_fp16_to_fp32 */
static inline float h2f(lmc_fp16 h) { return _cvtsh_ss(h); }

/* s8 x s8 -> 8 x s32 (sums of 4 adjacent products); sign trick because the u8 x s8
 * product wants its first operand unsigned. */
static inline __m256i dot_s8(__m256i x, __m256i y) {
    return LMC_UDOT(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

/* u8 x s8 -> 8 x s32. */
static inline __m256i dot_u8(__m256i x, __m256i y) { return LMC_UDOT(x, y); }

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
    b = _mm256_and_si256(b, bit);
    return _mm256_cmpeq_epi8(b, bit);
}


/* ---- legacy quants x Q8_0 / Q8_1 ------------------------------------------------------- */

/* The float steps of every quantized kernel below follow llama.cpp's AVX2 kernels
 * (ggml-cpu/arch/x86/quants.c, b10573) operation for operation: the same integer
 * partial sums land in the same vector lanes, are scaled and accumulated in the same
 * order and reduced the same way, so a dot product gives the same float bits as
 * llama.cpp's ggml_vec_dot_* (where llama.cpp does not repack the weights). */

/* Legacy 32-blocks x Q8_0: one accumulator, acc = d * q + acc per block. */
#define LEGACY_DOTS(SUFFIX, XT, QEXPR)                                                         \
    static void dot_##SUFFIX(int64_t n, float *s, const void *vx, const void *vy) {             \
        const XT *x = vx;                                                                      \
        const block_q8_0 *y = vy;                                                              \
        __m256 acc = _mm256_setzero_ps();                                                      \
        for (int64_t i = 0; i < n / 32; i++) {                                                 \
            pf_weights(x + i);                                                                 \
            __m256i p = dot_s8(QEXPR(x + i), loadu256(y[i].qs));                               \
            acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), _mm256_cvtepi32_ps(p), acc); \
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
                __m256i sy = _mm256_sign_epi8(loadu256(y[t][i].qs), q);                        \
                __m256i p = LMC_UDOT(aq, sy);         \
                acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dx * h2f(y[t][i].d)), _mm256_cvtepi32_ps(p), acc[t]); \
            }                                                                                  \
        }                                                                                      \
        for (int t = 0; t < 4; t++) s[t] = hsum_ps(acc[t]);                                    \
    }

static inline __m256i q8_0_quants(const block_q8_0 *b) { return loadu256(b->qs); }
static inline __m256i q4_0_quants(const block_q4_0 *b) {
    return _mm256_sub_epi8(nibbles32(b->qs), _mm256_set1_epi8(8));
}
/* (nibble | 0x10*bit) - 16 == nibble | (bit ? 0 : 0xF0) as int8 */
static inline __m256i q5_0_quants(const block_q5_0 *b) {
    __m256i hi = _mm256_andnot_si256(bits32(b->qh), _mm256_set1_epi8((char)0xF0));
    return _mm256_or_si256(nibbles32(b->qs), hi);
}

LEGACY_DOTS(q8_0, block_q8_0, q8_0_quants)
LEGACY_DOTS(q4_0, block_q4_0, q4_0_quants)
LEGACY_DOTS(q5_0, block_q5_0, q5_0_quants)

static inline __m256i q4_1_quants(const block_q4_1 *b) { return nibbles32(b->qs); }
static inline __m256i q5_1_quants(const block_q5_1 *b) {
    return _mm256_or_si256(nibbles32(b->qs), _mm256_and_si256(bits32(b->qh), _mm256_set1_epi8(0x10)));
}

/* Q4_1 / Q5_1 x Q8_1: summs = fma(m, s, summs) per block, result hsum(acc) + summs. */
#define LEGACY1_DOTS(SUFFIX, XT, QEXPR)                                                        \
    static void dot_##SUFFIX(int64_t n, float *s, const void *vx, const void *vy) {             \
        const XT *x = vx;                                                                      \
        const block_q8_1 *y = vy;                                                              \
        __m256 acc = _mm256_setzero_ps();                                                      \
        float summs = 0;                                                                       \
        for (int64_t i = 0; i < n / QK8_1; i++) {                                              \
            pf_weights(x + i);                                                                 \
            summs = fmaf(h2f(x[i].m), h2f(y[i].s), summs);                                     \
            __m256i p = dot_u8(QEXPR(x + i), loadu256(y[i].qs));                               \
            acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), _mm256_cvtepi32_ps(p), acc); \
        }                                                                                      \
        *s = hsum_ps(acc) + summs;                                                             \
    }                                                                                          \
    static void dot4_##SUFFIX(int64_t n, float *s, const void *vx, const void *vy, size_t ys) { \
        const XT *x = vx;                                                                      \
        const block_q8_1 *y[4];                                                                \
        for (int t = 0; t < 4; t++) y[t] = (const block_q8_1 *)((const char *)vy + t * ys);    \
        __m256 acc[4];                                                                         \
        float summs[4] = {0, 0, 0, 0};                                                         \
        for (int t = 0; t < 4; t++) acc[t] = _mm256_setzero_ps();                              \
        for (int64_t i = 0; i < n / QK8_1; i++) {                                              \
            __m256i q = QEXPR(x + i);                                                          \
            const float dx = h2f(x[i].d), mx = h2f(x[i].m);                                    \
            for (int t = 0; t < 4; t++) {                                                      \
                summs[t] = fmaf(mx, h2f(y[t][i].s), summs[t]);                                 \
                __m256i p = dot_u8(q, loadu256(y[t][i].qs));                                   \
                acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dx * h2f(y[t][i].d)), _mm256_cvtepi32_ps(p), acc[t]); \
            }                                                                                  \
        }                                                                                      \
        for (int t = 0; t < 4; t++) s[t] = hsum_ps(acc[t]) + summs[t];                         \
    }

LEGACY1_DOTS(q4_1, block_q4_1, q4_1_quants)
LEGACY1_DOTS(q5_1, block_q5_1, q5_1_quants)

/* ---- register-blocked tiles (legacy 32-blocks) ------------------------------------------ *
 * Same per-pair float steps as dot_* above, so every Y element has the same bits as the
 * 1-row kernel; the gain is sharing work across the tile:
 *   2 rows x 4 tokens: each weight block is decoded once for 4 tokens and each activation
 *     block loaded once for 2 rows, scales for 4 tokens converted and multiplied in one
 *     vector op; 8 accumulators hide the FMA latency (prefill, batches).
 * The tile walks tokens in groups of 4 outside and row pairs inside, so a 16-row weight
 * tile and 4 activation rows stay in L1. */

/* _0 family (x Q8_0): p = udot(|q|, sign(y, q)), acc += (dx * dy) * p */
#define PAIR_S8(ax, q, yq) LMC_UDOT(ax, _mm256_sign_epi8(yq, q))
/* _1 family (x Q8_1): p = udot(q, y) */
#define PAIR_U8(ax, q, yq) LMC_UDOT(ax, yq) /* ax == q */

static inline __m128 fp16x4(lmc_fp16 a, lmc_fp16 b, lmc_fp16 c, lmc_fp16 d) {
    return _mm_cvtph_ps(_mm_setr_epi16((short)a, (short)b, (short)c, (short)d, 0, 0, 0, 0));
}

/* HAS_M: the _1 family's min term, summs = fma(m, s, summs) per block, added after hsum */
#define LEGACY_TILE(SUFFIX, XT, YT, QEXPR, ABS, PAIR, HAS_M, TILE_M, TILE_S)                                   \
    static void tile_##SUFFIX(int64_t n, int64_t nr, int64_t nt, const void *W, size_t wr,      \
                              const void *A, size_t ar, float *Y, int64_t ldy) {                \
        const int64_t nb = n / 32;                                                             \
        const char *w = W, *a = A;                                                             \
        int64_t t = 0;                                                                         \
        for (; t + 4 <= nt; t += 4) {                                                          \
            const YT *y0 = (const YT *)(a + (size_t)t * ar), *y1 = (const YT *)((const char *)y0 + ar); \
            const YT *y2 = (const YT *)((const char *)y1 + ar), *y3 = (const YT *)((const char *)y2 + ar); \
            int64_t r = 0;                                                                     \
            for (; r + 2 <= nr; r += 2) {                                                      \
                const XT *x0 = (const XT *)(w + (size_t)r * wr), *x1 = (const XT *)(w + (size_t)(r + 1) * wr); \
                __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c03 = c00;              \
                __m256 c10 = c00, c11 = c00, c12 = c00, c13 = c00;                              \
                __m128 m0 = _mm_setzero_ps(), m1 = m0;                                         \
                for (int64_t i = 0; i < nb; i++) {                                             \
                    const __m256i q0 = QEXPR(x0 + i), q1 = QEXPR(x1 + i);                       \
                    const __m256i a0 = ABS(q0), a1 = ABS(q1);                                  \
                    const __m128 dy = fp16x4(y0[i].d, y1[i].d, y2[i].d, y3[i].d);               \
                    if (HAS_M) {                                                               \
                        const __m128 sy = fp16x4(TILE_S(y0, i), TILE_S(y1, i), TILE_S(y2, i), TILE_S(y3, i)); \
                        m0 = _mm_fmadd_ps(_mm_set1_ps(TILE_M(x0, i)), sy, m0);                \
                        m1 = _mm_fmadd_ps(_mm_set1_ps(TILE_M(x1, i)), sy, m1);                \
                    }                                                                          \
                    float s0[4], s1[4];                                                        \
                    _mm_storeu_ps(s0, _mm_mul_ps(_mm_set1_ps(h2f(x0[i].d)), dy));              \
                    _mm_storeu_ps(s1, _mm_mul_ps(_mm_set1_ps(h2f(x1[i].d)), dy));              \
                    __m256i yq;                                                                \
                    yq = loadu256(y0[i].qs);                                                   \
                    c00 = _mm256_fmadd_ps(_mm256_set1_ps(s0[0]), _mm256_cvtepi32_ps(PAIR(a0, q0, yq)), c00); \
                    c10 = _mm256_fmadd_ps(_mm256_set1_ps(s1[0]), _mm256_cvtepi32_ps(PAIR(a1, q1, yq)), c10); \
                    yq = loadu256(y1[i].qs);                                                   \
                    c01 = _mm256_fmadd_ps(_mm256_set1_ps(s0[1]), _mm256_cvtepi32_ps(PAIR(a0, q0, yq)), c01); \
                    c11 = _mm256_fmadd_ps(_mm256_set1_ps(s1[1]), _mm256_cvtepi32_ps(PAIR(a1, q1, yq)), c11); \
                    yq = loadu256(y2[i].qs);                                                   \
                    c02 = _mm256_fmadd_ps(_mm256_set1_ps(s0[2]), _mm256_cvtepi32_ps(PAIR(a0, q0, yq)), c02); \
                    c12 = _mm256_fmadd_ps(_mm256_set1_ps(s1[2]), _mm256_cvtepi32_ps(PAIR(a1, q1, yq)), c12); \
                    yq = loadu256(y3[i].qs);                                                   \
                    c03 = _mm256_fmadd_ps(_mm256_set1_ps(s0[3]), _mm256_cvtepi32_ps(PAIR(a0, q0, yq)), c03); \
                    c13 = _mm256_fmadd_ps(_mm256_set1_ps(s1[3]), _mm256_cvtepi32_ps(PAIR(a1, q1, yq)), c13); \
                }                                                                              \
                float e0[4], e1[4];                                                            \
                _mm_storeu_ps(e0, m0);                                                         \
                _mm_storeu_ps(e1, m1);                                                         \
                float *yo = Y + t * ldy + r;                                                   \
                yo[0] = hsum_ps(c00) + e0[0], yo[1] = hsum_ps(c10) + e1[0], yo += ldy;         \
                yo[0] = hsum_ps(c01) + e0[1], yo[1] = hsum_ps(c11) + e1[1], yo += ldy;         \
                yo[0] = hsum_ps(c02) + e0[2], yo[1] = hsum_ps(c12) + e1[2], yo += ldy;         \
                yo[0] = hsum_ps(c03) + e0[3], yo[1] = hsum_ps(c13) + e1[3];                    \
            }                                                                                  \
            for (; r < nr; r++) {                                                              \
                float s4[4];                                                                   \
                dot4_##SUFFIX(n, s4, w + (size_t)r * wr, y0, ar);                              \
                for (int k = 0; k < 4; k++) Y[(t + k) * ldy + r] = s4[k];                      \
            }                                                                                  \
        }                                                                                      \
        for (; t < nt; t++) {                                                                  \
            const YT *y = (const YT *)(a + (size_t)t * ar);                                    \
            float *yo = Y + t * ldy;                                                           \
            /* one token: row by row (a 4-row variant measured slower on Zen) */            \
            for (int64_t r = 0; r < nr; r++) dot_##SUFFIX(n, &yo[r], w + (size_t)r * wr, y);    \
        }                                                                                      \
    }

#define ABS_S8(q) _mm256_sign_epi8(q, q)
#define ABS_NONE(q) (q)
/* the min (weights) and sum (activations) fields of the _1 family; the _0 family has none */
#define M_OF(xp, i) h2f((xp)[i].m)
#define S_OF(yp, i) ((yp)[i].s)
#define M_NONE(xp, i) 0.0f
#define S_NONE(yp, i) ((lmc_fp16)0)

LEGACY_TILE(q8_0, block_q8_0, block_q8_0, q8_0_quants, ABS_S8, PAIR_S8, 0, M_NONE, S_NONE)
LEGACY_TILE(q4_0, block_q4_0, block_q8_0, q4_0_quants, ABS_S8, PAIR_S8, 0, M_NONE, S_NONE)
LEGACY_TILE(q5_0, block_q5_0, block_q8_0, q5_0_quants, ABS_S8, PAIR_S8, 0, M_NONE, S_NONE)
LEGACY_TILE(q4_1, block_q4_1, block_q8_1, q4_1_quants, ABS_NONE, PAIR_U8, 1, M_OF, S_OF)
LEGACY_TILE(q5_1, block_q5_1, block_q8_1, q5_1_quants, ABS_NONE, PAIR_U8, 1, M_OF, S_OF)

#endif /* LMC_KERNELS_LEGACY_H */
