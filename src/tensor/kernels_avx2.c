/* kernels_avx2.c — AVX2 + FMA + F16C dot products and activation quantizers.
 *
 * Integer paths: quants are widened to int8/uint8 vectors of 32 and multiplied with
 * maddubs (u8 x s8 -> pairs of s16) and madd (s16 x s16 -> s32); every integer sum is
 * exact (no saturation for any block a quantizer produces), only the float scaling
 * and the final summation order differ from the scalar references.
 * Float paths: 4 x 8-lane FMA accumulators. */
#include "kernels_simd.h"

#include <immintrin.h>

/* ---- helpers ---------------------------------------------------------------------- */

static inline __m256i ones16(void) { return _mm256_set1_epi16(1); }

#define LMC_UDOT(u, s) _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), ones16())
#include "kernels_legacy.h"
#define DPBUSD(acc, u, s) _mm256_add_epi32((acc), LMC_UDOT((u), (s)))
#include "kernels_r8.h"

static inline __m256 fp16x8(const lmc_fp16 *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

static inline __m256 bf16x8(const lmc_bf16 *p) {
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

/* ---- float types --------------------------------------------------------------------- */

/* Every dot kernel has a 4-token twin (dot4_*: one weight row against 4 activation rows
 * y, y + y_stride, ...) that decodes each weight block once and keeps the per-token
 * accumulation exactly as the 1-token kernel does, so a token's result does not depend
 * on the batch it comes in. Float types: 2 accumulators over 16-element steps. */
static inline float f32_1(const float *p) { return *p; }
static inline float f16_1(const lmc_fp16 *p) { return h2f(*p); }
static inline float bf16_1(const lmc_bf16 *p) { return lmc_bf16_to_fp32(*p); }

#define FLOAT_DOTS(SUFFIX, T, LOAD8, LOAD1)                                                    \
    static void dot_##SUFFIX(int64_t n, float *s, const void *vx, const void *vy) {            \
        const T *x = vx, *y = vy;                                                              \
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;                                              \
        int64_t i = 0;                                                                         \
        for (; i + 16 <= n; i += 16) {                                                         \
            pf_weights(x + i);                                                                 \
            a0 = _mm256_fmadd_ps(LOAD8(x + i), LOAD8(y + i), a0);                              \
            a1 = _mm256_fmadd_ps(LOAD8(x + i + 8), LOAD8(y + i + 8), a1);                      \
        }                                                                                      \
        for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(LOAD8(x + i), LOAD8(y + i), a0);       \
        float sum = hsum_ps(_mm256_add_ps(a0, a1));                                            \
        for (; i < n; i++) sum += LOAD1(x + i) * LOAD1(y + i);                                 \
        *s = sum;                                                                              \
    }                                                                                          \
    static void dot4_##SUFFIX(int64_t n, float *s, const void *vx, const void *vy, size_t ys) { \
        const T *x = vx;                                                                       \
        const T *y[4];                                                                         \
        for (int t = 0; t < 4; t++) y[t] = (const T *)((const char *)vy + t * ys);             \
        __m256 a0[4], a1[4];                                                                   \
        for (int t = 0; t < 4; t++) a0[t] = a1[t] = _mm256_setzero_ps();                       \
        int64_t i = 0;                                                                         \
        for (; i + 16 <= n; i += 16) {                                                         \
            __m256 w0 = LOAD8(x + i), w1 = LOAD8(x + i + 8);                                   \
            for (int t = 0; t < 4; t++) {                                                      \
                a0[t] = _mm256_fmadd_ps(w0, LOAD8(y[t] + i), a0[t]);                           \
                a1[t] = _mm256_fmadd_ps(w1, LOAD8(y[t] + i + 8), a1[t]);                       \
            }                                                                                  \
        }                                                                                      \
        for (; i + 8 <= n; i += 8) {                                                           \
            __m256 w0 = LOAD8(x + i);                                                          \
            for (int t = 0; t < 4; t++) a0[t] = _mm256_fmadd_ps(w0, LOAD8(y[t] + i), a0[t]);   \
        }                                                                                      \
        for (int t = 0; t < 4; t++) {                                                          \
            float sum = hsum_ps(_mm256_add_ps(a0[t], a1[t]));                                  \
            for (int64_t k = i; k < n; k++) sum += LOAD1(x + k) * LOAD1(y[t] + k);             \
            s[t] = sum;                                                                        \
        }                                                                                      \
    }

FLOAT_DOTS(f32, float, _mm256_loadu_ps, f32_1)

/* F16 weights follow the reference machine's (AVX-512) llama.cpp sums, emulated with
 * 8-lane halves, because activations are rounded to F16 after every product: a last-bit
 * difference in one sum can flip a later rounding and move the logits by ~1e-3.
 * ggml_vec_dot_f16 (token by token, and every expert product): 4 accumulators of 16
 * lanes over 64-element steps, acc0+acc2, acc1+acc3, then their sum, then
 * _mm512_reduce_add_ps (upper 8 + lower 8, upper 4 + lower 4, (0+2)+(1+3)); the tail
 * is added in double. */
static inline float reduce16(__m256 lo, __m256 hi) {
    __m256 t8 = _mm256_add_ps(hi, lo);
    __m128 t4 = _mm_add_ps(_mm256_extractf128_ps(t8, 1), _mm256_castps256_ps128(t8));
    __m128 t2 = _mm_add_ps(t4, _mm_movehl_ps(t4, t4)); /* (0+2, 1+3) */
    return _mm_cvtss_f32(_mm_add_ss(t2, _mm_movehdup_ps(t2)));
}

static void dot4_f16(int64_t n, float *s, const void *vx, const void *vy, size_t ys) {
    const lmc_fp16 *x = vx;
    const lmc_fp16 *y[4];
    for (int t = 0; t < 4; t++) y[t] = (const lmc_fp16 *)((const char *)vy + t * ys);
    __m256 lo[4][4], hi[4][4]; /* [token][accumulator] */
    for (int t = 0; t < 4; t++)
        for (int j = 0; j < 4; j++) lo[t][j] = hi[t][j] = _mm256_setzero_ps();
    const int64_t np = n & ~(int64_t)63;
    for (int64_t i = 0; i < np; i += 64)
        for (int j = 0; j < 4; j++) {
            __m256 w0 = fp16x8(x + i + 16 * j), w1 = fp16x8(x + i + 16 * j + 8);
            for (int t = 0; t < 4; t++) {
                lo[t][j] = _mm256_fmadd_ps(w0, fp16x8(y[t] + i + 16 * j), lo[t][j]);
                hi[t][j] = _mm256_fmadd_ps(w1, fp16x8(y[t] + i + 16 * j + 8), hi[t][j]);
            }
        }
    for (int t = 0; t < 4; t++) {
        __m256 l0 = _mm256_add_ps(lo[t][0], lo[t][2]), l1 = _mm256_add_ps(lo[t][1], lo[t][3]);
        __m256 h0 = _mm256_add_ps(hi[t][0], hi[t][2]), h1 = _mm256_add_ps(hi[t][1], hi[t][3]);
        double sum = reduce16(_mm256_add_ps(l0, l1), _mm256_add_ps(h0, h1));
        for (int64_t k = np; k < n; k++) sum += (double)(f16_1(x + k) * f16_1(y[t] + k));
        s[t] = (float)sum;
    }
}

static void dot_f16(int64_t n, float *s, const void *vx, const void *vy) {
    const lmc_fp16 *x = vx, *y = vy;
    __m256 lo[4], hi[4];
    for (int j = 0; j < 4; j++) lo[j] = hi[j] = _mm256_setzero_ps();
    const int64_t np = n & ~(int64_t)63;
    for (int64_t i = 0; i < np; i += 64) {
        pf_weights(x + i), pf_weights(x + i + 32);
        for (int j = 0; j < 4; j++) {
            lo[j] = _mm256_fmadd_ps(fp16x8(x + i + 16 * j), fp16x8(y + i + 16 * j), lo[j]);
            hi[j] = _mm256_fmadd_ps(fp16x8(x + i + 16 * j + 8), fp16x8(y + i + 16 * j + 8), hi[j]);
        }
    }
    __m256 l0 = _mm256_add_ps(lo[0], lo[2]), l1 = _mm256_add_ps(lo[1], lo[3]);
    __m256 h0 = _mm256_add_ps(hi[0], hi[2]), h1 = _mm256_add_ps(hi[1], hi[3]);
    double sum = reduce16(_mm256_add_ps(l0, l1), _mm256_add_ps(h0, h1));
    for (int64_t i = np; i < n; i++) sum += (double)(f16_1(x + i) * f16_1(y + i));
    *s = (float)sum;
}

/* llama.cpp's llamafile tinyBLAS<16> order, which it uses for a dense F16 product of 2
 * or more tokens with rows a multiple of 16: one 16-lane accumulator, then
 * _mm512_reduce_add_ps. n % 16 == 0. */
static void dot_f16_gemm(int64_t n, float *s, const void *vx, const void *vy) {
    const lmc_fp16 *x = vx, *y = vy;
    __m256 lo = _mm256_setzero_ps(), hi = lo;
    for (int64_t i = 0; i < n; i += 16) {
        lo = _mm256_fmadd_ps(fp16x8(x + i), fp16x8(y + i), lo);
        hi = _mm256_fmadd_ps(fp16x8(x + i + 8), fp16x8(y + i + 8), hi);
    }
    *s = reduce16(lo, hi);
}

lmc_vec_dot_fn lmc_vec_dot_gemm_avx2(lmc_type t) {
    return t == LMC_TYPE_F16 ? dot_f16_gemm : NULL;
}
FLOAT_DOTS(bf16, lmc_bf16, bf16x8, bf16_1)

/* ---- K-quants x Q8_K ----------------------------------------------------------------- */

/* Shuffle that spreads int8 scales 2g (bytes 0..7) and 2g+1 (bytes 8..15): the pair of
 * 16-element sub-blocks in group g of 32 elements. */
static inline __m128i pair_shuffle(int g) {
    return _mm_set_epi64x((long long)(0x0101010101010101ull * (uint64_t)(2 * g + 1)),
                          (long long)(0x0101010101010101ull * (uint64_t)(2 * g)));
}

/* int16 scales for group g: lanes 0..7 = sc[2g], lanes 8..15 = sc[2g+1] (sc signed). */
static inline __m256i pair_scales_s8(__m128i sc, int g) {
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc, pair_shuffle(g)));
}

/* The same, in two steps: once per block the 16 scales widened to int16 with each half
 * in both 128-bit lanes, then one in-lane shuffle per group. */
static inline void pair_scale_table(__m128i sc, __m256i tab[2]) {
    __m256i all = _mm256_cvtepi8_epi16(sc);
    tab[0] = _mm256_permute2x128_si256(all, all, 0x00);
    tab[1] = _mm256_permute2x128_si256(all, all, 0x11);
}
static inline __m256i pair_scale(const __m256i tab[2], int g) {
    int r = g & 3;
    return _mm256_shuffle_epi8(tab[g >> 2], _mm256_set_m128i(_mm_set1_epi16((short)(0x0100 + 0x0202 * (2 * r + 1))),
                                                             _mm_set1_epi16((short)(0x0100 + 0x0202 * (2 * r)))));
}

/* int16 lane j of v (j < 8) broadcast to all 16 lanes (v holds the same 8 in both halves) */
static inline __m256i bcast16(__m256i v, int j) {
    return _mm256_shuffle_epi8(v, _mm256_set1_epi16((short)(0x0100 + 0x0202 * j)));
}

/* Per block of a K-quant: the float steps, given the block's int32 lanes. */

/* Q2_K: acc += (-dmin) * (mins . bsums) per lane, then acc += d * sumi. */
static inline __m256 q2k_scale(__m256 acc, const block_q2_K *x, const block_q8_K *y, __m256i mn16, __m256i sumi) {
    const float d = y->d * h2f(x->d);
    const float dmin = -y->d * h2f(x->dmin);
    __m256i prod = _mm256_madd_epi16(mn16, loadu256(y->bsums));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(prod), acc);
    return _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
}

static inline void q2k_decode(const block_q2_K *x, __m128i *sc, __m256i *mn16) {
    __m128i raw = _mm_loadu_si128((const __m128i *)x->scales);
    *sc = _mm_and_si128(raw, _mm_set1_epi8(0xF));
    *mn16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), _mm_set1_epi8(0xF)));
}

static inline __m256i q2k_quants(__m256i qb, int j) {
    return _mm256_and_si256(_mm256_srli_epi16(qb, 2 * j), _mm256_set1_epi8(3));
}

static void dot_q2_K(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q2_K *x = vx;
    const block_q8_K *y = vy;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        pf_weights_span(x + i, sizeof *x);
        __m128i sc;
        __m256i mn16;
        q2k_decode(&x[i], &sc, &mn16);
        __m256i tab[2];
        pair_scale_table(sc, tab);
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i qb = loadu256(x[i].qs + 32 * h);
            for (int j = 0; j < 4; j++) {
                int g = 4 * h + j; /* group of 32 elements */
                __m256i p16 = _mm256_maddubs_epi16(q2k_quants(qb, j), loadu256(y[i].qs + 32 * g));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p16, pair_scale(tab, g)));
            }
        }
        acc = q2k_scale(acc, &x[i], &y[i], mn16, sumi);
    }
    *s = hsum_ps(acc);
}

static void dot4_q2_K(int64_t n, float *s, const void *vx, const void *vy, size_t ys) {
    const block_q2_K *x = vx;
    const block_q8_K *y[4];
    for (int t = 0; t < 4; t++) y[t] = (const block_q8_K *)((const char *)vy + t * ys);
    __m256 acc[4];
    for (int t = 0; t < 4; t++) acc[t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m128i sc;
        __m256i mn16, sumi[4];
        q2k_decode(&x[i], &sc, &mn16);
        for (int t = 0; t < 4; t++) sumi[t] = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i qb = loadu256(x[i].qs + 32 * h);
            for (int j = 0; j < 4; j++) {
                int g = 4 * h + j;
                __m256i q = q2k_quants(qb, j), ps = pair_scales_s8(sc, g);
                for (int t = 0; t < 4; t++) {
                    __m256i p16 = _mm256_maddubs_epi16(q, loadu256(y[t][i].qs + 32 * g));
                    sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p16, ps));
                }
            }
        }
        for (int t = 0; t < 4; t++) acc[t] = q2k_scale(acc[t], &x[i], &y[t][i], mn16, sumi[t]);
    }
    for (int t = 0; t < 4; t++) s[t] = hsum_ps(acc[t]);
}

/* The 16 Q3_K scales (6 bits, minus 32) as int8 in one vector. */
static inline __m128i q3k_scales(const uint8_t *p) {
    uint32_t a[3];
    memcpy(a, p, 12);
    const uint32_t m4 = 0x0f0f0f0f, m2 = 0x03030303;
    uint32_t s0 = (a[0] & m4) | (((a[2] >> 0) & m2) << 4);
    uint32_t s1 = (a[1] & m4) | (((a[2] >> 2) & m2) << 4);
    uint32_t s2 = ((a[0] >> 4) & m4) | (((a[2] >> 4) & m2) << 4);
    uint32_t s3 = ((a[1] >> 4) & m4) | (((a[2] >> 6) & m2) << 4);
    return _mm_sub_epi8(_mm_setr_epi32((int)s0, (int)s1, (int)s2, (int)s3), _mm_set1_epi8(32));
}

/* Q3_K group g: low 2 bits and "4 where the high bit is clear"; the product is
 * maddubs(lo, y) - maddubs(4*!h, y) in int16, as llama.cpp forms it. */
static inline void q3k_quants(__m256i qb, __m256i hm, int j, int g, __m256i *lo, __m256i *hn) {
    *lo = _mm256_and_si256(_mm256_srli_epi16(qb, 2 * j), _mm256_set1_epi8(3));
    __m256i bit = _mm256_set1_epi8((char)(1 << g));
    *hn = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), _mm256_setzero_si256()), _mm256_set1_epi8(4));
}

static void dot_q3_K(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q3_K *x = vx;
    const block_q8_K *y = vy;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        pf_weights_span(x + i, sizeof *x);
        __m256i tab[2];
        pair_scale_table(q3k_scales(x[i].scales), tab);
        __m256i hm = loadu256(x[i].hmask);
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i qb = loadu256(x[i].qs + 32 * h);
            for (int j = 0; j < 4; j++) {
                int g = 4 * h + j;
                __m256i lo, hn, yq = loadu256(y[i].qs + 32 * g);
                q3k_quants(qb, hm, j, g, &lo, &hn);
                __m256i p16 = _mm256_sub_epi16(_mm256_maddubs_epi16(lo, yq), _mm256_maddubs_epi16(hn, yq));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p16, pair_scale(tab, g)));
            }
        }
        const float d = y[i].d * h2f(x[i].d);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = hsum_ps(acc);
}

static void dot4_q3_K(int64_t n, float *s, const void *vx, const void *vy, size_t ys) {
    const block_q3_K *x = vx;
    const block_q8_K *y[4];
    for (int t = 0; t < 4; t++) y[t] = (const block_q8_K *)((const char *)vy + t * ys);
    __m256 acc[4];
    for (int t = 0; t < 4; t++) acc[t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m128i sc = q3k_scales(x[i].scales);
        __m256i hm = loadu256(x[i].hmask);
        __m256i sumi[4];
        for (int t = 0; t < 4; t++) sumi[t] = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i qb = loadu256(x[i].qs + 32 * h);
            for (int j = 0; j < 4; j++) {
                int g = 4 * h + j;
                __m256i lo, hn, ps = pair_scales_s8(sc, g);
                q3k_quants(qb, hm, j, g, &lo, &hn);
                for (int t = 0; t < 4; t++) {
                    __m256i yq = loadu256(y[t][i].qs + 32 * g);
                    __m256i p16 = _mm256_sub_epi16(_mm256_maddubs_epi16(lo, yq), _mm256_maddubs_epi16(hn, yq));
                    sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p16, ps));
                }
            }
        }
        for (int t = 0; t < 4; t++)
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(y[t][i].d * h2f(x[i].d)), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
    }
    for (int t = 0; t < 4; t++) s[t] = hsum_ps(acc[t]);
}

/* Q4_K/Q5_K 6-bit scales and mins: bytes 0..7 of the result are the scales, 8..15 the
 * mins (the packing of lmc_q4k_scale_min, four at a time). */
static inline __m128i q4k_scales_mins(const uint8_t *p) {
    uint32_t u[3];
    memcpy(u, p, 12);
    const uint32_t k1 = 0x3f3f3f3f, k2 = 0x0f0f0f0f, k3 = 0x03030303;
    uint32_t sc_lo = u[0] & k1;
    uint32_t sc_hi = (u[2] & k2) | (((u[0] >> 6) & k3) << 4);
    uint32_t mn_lo = u[1] & k1;
    uint32_t mn_hi = ((u[2] >> 4) & k2) | (((u[1] >> 6) & k3) << 4);
    return _mm_setr_epi32((int)sc_lo, (int)sc_hi, (int)mn_lo, (int)mn_hi);
}

/* 4 int32 lanes: lane k = min[2k] * (b[4k] + b[4k+1]) + min[2k+1] * (b[4k+2] + b[4k+3]). */
static inline __m128i q4k_mins_prod(const block_q8_K *y, __m128i sm) {
    __m256i b = loadu256(y->bsums);
    __m128i pairs = _mm_hadd_epi16(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
    return _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_unpackhi_epi64(sm, sm)), pairs);
}

static inline float reduce4(__m128 m) {
    m = _mm_add_ps(m, _mm_movehl_ps(m, m));
    m = _mm_add_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* Q4_K / Q5_K quants of chunk c (64 elements): low and high 32. */
static inline void q4k_quants(const block_q4_K *x, int c, __m256i *lo, __m256i *hi) {
    __m256i qb = loadu256(x->qs + 32 * c), m4 = _mm256_set1_epi8(0xF);
    *lo = _mm256_and_si256(qb, m4);
    *hi = _mm256_and_si256(_mm256_srli_epi16(qb, 4), m4);
}

static inline void q5k_quants(const block_q5_K *x, __m256i qh, int c, __m256i *lo, __m256i *hi) {
    __m256i qb = loadu256(x->qs + 32 * c), m4 = _mm256_set1_epi8(0xF), m16 = _mm256_set1_epi8(0x10);
    int sl = 2 * c, sh = 2 * c + 1; /* qh bit sl -> 0x10 for the low nibbles, bit sh for the high */
    __m256i hl = sl <= 4 ? _mm256_slli_epi16(qh, 4 - sl) : _mm256_srli_epi16(qh, sl - 4);
    __m256i hh = sh <= 4 ? _mm256_slli_epi16(qh, 4 - sh) : _mm256_srli_epi16(qh, sh - 4);
    *lo = _mm256_or_si256(_mm256_and_si256(qb, m4), _mm256_and_si256(hl, m16));
    *hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qb, 4), m4), _mm256_and_si256(hh, m16));
}

static inline __m256i q4k_chunk(__m256i lo, __m256i hi, const int8_t *yq, __m256i sl, __m256i sh) {
    __m256i pl = _mm256_maddubs_epi16(lo, loadu256(yq));
    __m256i ph = _mm256_maddubs_epi16(hi, loadu256(yq + 32));
    return _mm256_add_epi32(_mm256_madd_epi16(sl, pl), _mm256_madd_epi16(sh, ph));
}

/* Q4_K: mins into a 4-lane accumulator (acc_m += -dmin * prod), scales into acc;
 * result hsum(acc) + reduce(acc_m). Q5_K: mins summed as an int, summs += -dmin * int. */
#define Q45K_DOTS(SUFFIX, XT, DECODE, MINS_VECTOR)                                             \
    static void dot_##SUFFIX(int64_t n, float *s, const void *vx, const void *vy) {             \
        const XT *x = vx;                                                                      \
        const block_q8_K *y = vy;                                                              \
        __m256 acc = _mm256_setzero_ps();                                                      \
        __m128 acc_m = _mm_setzero_ps();                                                       \
        float summs = 0;                                                                       \
        for (int64_t i = 0; i < n / QK_K; i++) {                                               \
            pf_weights_span(x + i, sizeof *x);                                                 \
            const float d = y[i].d * h2f(x[i].d);                                              \
            const float dmin = -y[i].d * h2f(x[i].dmin);                                       \
            __m128i sm = q4k_scales_mins(x[i].scales);                                         \
            __m128i prod = q4k_mins_prod(&y[i], sm);                                           \
            if (MINS_VECTOR) acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), acc_m); \
            else summs = fmaf(dmin, (float)hsum_epi32x4(prod), summs);                         \
            __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));                 \
            __m256i sumi = _mm256_setzero_si256();                                             \
            DECODE_PREP_##SUFFIX                                                               \
            for (int c = 0; c < 4; c++) {                                                      \
                __m256i lo, hi;                                                                \
                DECODE;                                                                        \
                sumi = _mm256_add_epi32(sumi, q4k_chunk(lo, hi, y[i].qs + 64 * c, bcast16(sc16, 2 * c), \
                                                        bcast16(sc16, 2 * c + 1)));            \
            }                                                                                  \
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);           \
        }                                                                                      \
        *s = MINS_VECTOR ? hsum_ps(acc) + reduce4(acc_m) : hsum_ps(acc) + summs;               \
    }                                                                                          \
    static void dot4_##SUFFIX(int64_t n, float *s, const void *vx, const void *vy, size_t ys) { \
        const XT *x = vx;                                                                      \
        const block_q8_K *yy[4];                                                               \
        for (int t = 0; t < 4; t++) yy[t] = (const block_q8_K *)((const char *)vy + t * ys);   \
        __m256 acc[4];                                                                         \
        __m128 acc_m[4];                                                                       \
        float summs[4] = {0, 0, 0, 0};                                                         \
        for (int t = 0; t < 4; t++) acc[t] = _mm256_setzero_ps(), acc_m[t] = _mm_setzero_ps(); \
        for (int64_t i = 0; i < n / QK_K; i++) {                                               \
            __m128i sm = q4k_scales_mins(x[i].scales);                                         \
            __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));                 \
            __m256i sumi[4];                                                                   \
            for (int t = 0; t < 4; t++) sumi[t] = _mm256_setzero_si256();                      \
            DECODE_PREP_##SUFFIX                                                               \
            for (int c = 0; c < 4; c++) {                                                      \
                __m256i lo, hi;                                                                \
                DECODE;                                                                        \
                __m256i sl = bcast16(sc16, 2 * c), sh = bcast16(sc16, 2 * c + 1);              \
                for (int t = 0; t < 4; t++)                                                    \
                    sumi[t] = _mm256_add_epi32(sumi[t], q4k_chunk(lo, hi, yy[t][i].qs + 64 * c, sl, sh)); \
            }                                                                                  \
            for (int t = 0; t < 4; t++) {                                                      \
                const float d = yy[t][i].d * h2f(x[i].d);                                      \
                const float dmin = -yy[t][i].d * h2f(x[i].dmin);                               \
                __m128i prod = q4k_mins_prod(&yy[t][i], sm);                                   \
                if (MINS_VECTOR) acc_m[t] = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), acc_m[t]); \
                else summs[t] = fmaf(dmin, (float)hsum_epi32x4(prod), summs[t]);               \
                acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi[t]), acc[t]); \
            }                                                                                  \
        }                                                                                      \
        for (int t = 0; t < 4; t++)                                                            \
            s[t] = MINS_VECTOR ? hsum_ps(acc[t]) + reduce4(acc_m[t]) : hsum_ps(acc[t]) + summs[t]; \
    }

static inline int hsum_epi32x4(__m128i p) {
    p = _mm_add_epi32(p, _mm_shuffle_epi32(p, 0x4E));
    p = _mm_add_epi32(p, _mm_shuffle_epi32(p, 0xB1));
    return _mm_cvtsi128_si32(p);
}

#define DECODE_PREP_q4_K
#define DECODE_PREP_q5_K __m256i qh = loadu256(x[i].qh);
Q45K_DOTS(q4_K, block_q4_K, q4k_quants(&x[i], c, &lo, &hi), 1)
Q45K_DOTS(q5_K, block_q5_K, q5k_quants(&x[i], qh, c, &lo, &hi), 0)

/* Q6_K: quants as unsigned 0..63; the -32 per lane through 32 * (bsums . scales). */
static inline void q6k_quants(const block_q6_K *x, int h, __m256i q[4]) {
    const __m256i m4 = _mm256_set1_epi8(0xF), m3 = _mm256_set1_epi8(0x30);
    __m256i l0 = loadu256(x->ql + 64 * h), l1 = loadu256(x->ql + 64 * h + 32);
    __m256i qh = loadu256(x->qh + 32 * h);
    q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m3));
    q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m3));
    q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m3));
    q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                           _mm256_and_si256(_mm256_srli_epi16(qh, 2), m3));
}

static inline __m256 q6k_scale(__m256 acc, const block_q6_K *x, const block_q8_K *y, __m256i sc16, __m256i sumi) {
    const float d = y->d * h2f(x->d);
    __m256i sub = _mm256_slli_epi32(_mm256_madd_epi16(loadu256(y->bsums), sc16), 5);
    return _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(_mm256_sub_epi32(sumi, sub)), acc);
}

static void dot_q6_K(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q6_K *x = vx;
    const block_q8_K *y = vy;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        pf_weights_span(x + i, sizeof *x);
        __m128i sc = _mm_loadu_si128((const __m128i *)x[i].scales);
        __m256i tab[2];
        pair_scale_table(sc, tab);
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i q[4];
            q6k_quants(&x[i], h, q);
            for (int r = 0; r < 4; r++) {
                int g = 4 * h + r;
                __m256i p16 = _mm256_maddubs_epi16(q[r], loadu256(y[i].qs + 32 * g));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p16, pair_scale(tab, g)));
            }
        }
        acc = q6k_scale(acc, &x[i], &y[i], _mm256_cvtepi8_epi16(sc), sumi);
    }
    *s = hsum_ps(acc);
}

static void dot4_q6_K(int64_t n, float *s, const void *vx, const void *vy, size_t ys) {
    const block_q6_K *x = vx;
    const block_q8_K *y[4];
    for (int t = 0; t < 4; t++) y[t] = (const block_q8_K *)((const char *)vy + t * ys);
    __m256 acc[4];
    for (int t = 0; t < 4; t++) acc[t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m128i sc = _mm_loadu_si128((const __m128i *)x[i].scales);
        __m256i sumi[4];
        for (int t = 0; t < 4; t++) sumi[t] = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i q[4];
            q6k_quants(&x[i], h, q);
            for (int r = 0; r < 4; r++) {
                int g = 4 * h + r;
                __m256i ps = pair_scales_s8(sc, g);
                for (int t = 0; t < 4; t++) {
                    __m256i p16 = _mm256_maddubs_epi16(q[r], loadu256(y[t][i].qs + 32 * g));
                    sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p16, ps));
                }
            }
        }
        __m256i sc16 = _mm256_cvtepi8_epi16(sc);
        for (int t = 0; t < 4; t++) acc[t] = q6k_scale(acc[t], &x[i], &y[t][i], sc16, sumi[t]);
    }
    for (int t = 0; t < 4; t++) s[t] = hsum_ps(acc[t]);
}

/* ---- activation quantizers --------------------------------------------------------------- */

/* 32 floats -> 32 int8 = round_half_even(x * id), saturating, in element order. */
static inline __m256i quant32(const float *x, float id) {
    __m256 mul = _mm256_set1_ps(id);
    __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x), mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8), mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 16), mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 24), mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
    /* the packs work per 128-bit lane; restore element order */
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static inline float absmax32(const float *x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_andnot_ps(sign, _mm256_loadu_ps(x));
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8)));
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 16)));
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 24)));
    __m128 h = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

static void act_q8_0(const float *src, void *dst, int64_t n) {
    block_q8_0 *y = dst;
    for (int64_t i = 0; i < n / QK8_0; i++, src += QK8_0) {
        const float amax = absmax32(src);
        y[i].d = lmc_fp32_to_fp16(amax / 127.f);
        _mm256_storeu_si256((__m256i *)y[i].qs, quant32(src, amax != 0.0f ? 127.f / amax : 0.0f));
    }
}

static void act_q8_1(const float *src, void *dst, int64_t n) {
    block_q8_1 *y = dst;
    for (int64_t i = 0; i < n / QK8_1; i++, src += QK8_1) {
        const float amax = absmax32(src), d = amax / 127.f;
        y[i].d = lmc_fp32_to_fp16(d);
        __m256i q = quant32(src, amax != 0.0f ? 127.f / amax : 0.0f);
        _mm256_storeu_si256((__m256i *)y[i].qs, q);
        __m256i s32 = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), ones16());
        __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
        t = _mm_hadd_epi32(t, t);
        t = _mm_hadd_epi32(t, t);
        y[i].s = lmc_fp32_to_fp16(d * (float)_mm_cvtsi128_si32(t));
    }
}

/* Q8_K, identical to quantize_row_q8_K_ref: scale -127/x where x is the first element
 * of largest magnitude; rounding half to even. */
static void act_q8_K(const float *src, void *dst, int64_t n) {
    block_q8_K *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
        float amax = 0;
        for (int k = 0; k < QK_K; k += 32) {
            float m = absmax32(src + k);
            amax = m > amax ? m : amax;
        }
        int j = 0;
        while (j < QK_K && fabsf(src[j]) != amax) j++;
        const float iscale = j < QK_K ? -127.f / src[j] : 0.0f;
        if (!(amax > 0) || !isfinite(amax) || !isfinite(iscale)) {
            /* zero, NaN, inf or subnormal blocks: the reference's exact odd results */
            quantize_row_q8_K_ref(src, &y[i], QK_K);
            continue;
        }
        for (int k = 0; k < QK_K; k += 32) {
            __m256i q = quant32(src + k, iscale);
            /* quant32 saturates to [-128, 127]; the reference caps at 127 only, and
             * -128 cannot occur because |iscale * x| <= 127 up to rounding */
            _mm256_storeu_si256((__m256i *)(y[i].qs + k), q);
            __m256i p16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), q); /* pairs */
            __m256i s16 = _mm256_hadd_epi16(p16, p16);                  /* per-4 (lane-local) */
            s16 = _mm256_hadd_epi16(s16, s16);                          /* per-8 */
            __m256i s8 = _mm256_hadd_epi16(s16, s16);                   /* per-16 in words 0 (lane0), 8 (lane1) */
            y[i].bsums[k / 16] = (int16_t)_mm256_extract_epi16(s8, 0);
            y[i].bsums[k / 16 + 1] = (int16_t)_mm256_extract_epi16(s8, 8);
        }
        y[i].d = 1 / iscale;
    }
}

static void act_f16(const float *src, void *dst, int64_t n) {
    lmc_fp16 *y = dst;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) y[i] = lmc_fp32_to_fp16(src[i]);
}

/* ---- tables ---------------------------------------------------------------------------- */

lmc_vec_dot_fn lmc_vec_dot_avx2(lmc_type t) {
    switch (t) {
    case LMC_TYPE_F32: return dot_f32;
    case LMC_TYPE_F16: return dot_f16;
    case LMC_TYPE_BF16: return dot_bf16;
    case LMC_TYPE_Q4_0: return dot_q4_0;
    case LMC_TYPE_Q4_1: return dot_q4_1;
    case LMC_TYPE_Q5_0: return dot_q5_0;
    case LMC_TYPE_Q5_1: return dot_q5_1;
    case LMC_TYPE_Q8_0: return dot_q8_0;
    case LMC_TYPE_Q2_K: return dot_q2_K;
    case LMC_TYPE_Q3_K: return dot_q3_K;
    case LMC_TYPE_Q4_K: return dot_q4_K;
    case LMC_TYPE_Q5_K: return dot_q5_K;
    case LMC_TYPE_Q6_K: return dot_q6_K;
    default: return NULL;
    }
}

lmc_vec_dot4_fn lmc_vec_dot4_avx2(lmc_type t) {
    switch (t) {
    case LMC_TYPE_F32: return dot4_f32;
    case LMC_TYPE_F16: return dot4_f16;
    case LMC_TYPE_BF16: return dot4_bf16;
    case LMC_TYPE_Q4_0: return dot4_q4_0;
    case LMC_TYPE_Q5_0: return dot4_q5_0;
    case LMC_TYPE_Q8_0: return dot4_q8_0;
    case LMC_TYPE_Q4_1: return dot4_q4_1;
    case LMC_TYPE_Q5_1: return dot4_q5_1;
    case LMC_TYPE_Q2_K: return dot4_q2_K;
    case LMC_TYPE_Q3_K: return dot4_q3_K;
    case LMC_TYPE_Q4_K: return dot4_q4_K;
    case LMC_TYPE_Q5_K: return dot4_q5_K;
    case LMC_TYPE_Q6_K: return dot4_q6_K;
    default: return NULL;
    }
}

lmc_gemm_tile_fn lmc_gemm_tile_avx2(lmc_type t) {
    switch (t) {
    case LMC_TYPE_Q4_0: return tile_q4_0;
    case LMC_TYPE_Q5_0: return tile_q5_0;
    case LMC_TYPE_Q8_0: return tile_q8_0;
    case LMC_TYPE_Q4_1: return tile_q4_1;
    case LMC_TYPE_Q5_1: return tile_q5_1;
    default: return NULL;
    }
}

lmc_from_float_fn lmc_act_from_float_avx2(lmc_type t) {
    switch (t) {
    case LMC_TYPE_Q8_0: return act_q8_0;
    case LMC_TYPE_Q8_1: return act_q8_1;
    case LMC_TYPE_Q8_K: return act_q8_K;
    case LMC_TYPE_F16: return act_f16;
    default: return NULL;
    }
}

/* ---- FP32 FMA peak (benchmark) ----------------------------------------------------------- */

/* ---- repacked Q4_1 (repack.c, kernels_r8.h) ---------------------------------------------- */

void lmc_q4_1_r8_gemm_avx2(int64_t n_in, int64_t g0, int64_t g1, int64_t n_tok, const void *P, const void *A,
                           size_t a_row, const float *yd, const float *ys, float *Y, int64_t ldy) {
    lmc_q4_1_r8_ymm(n_in, g0, g1, n_tok, P, A, a_row, yd, ys, Y, ldy);
}

double lmc_fma_burn_avx2(int64_t iters, float *sink) {
    LMC_FMA_BURN(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, iters);
    *sink = hsum_ps(s);
    return (double)iters * 12 * 8 * 2;
}

/* ---- repacked Q8_0 (repack.c) ------------------------------------------------------------ */

/* The layout stores q + 128 for vpdpbusd's unsigned operand, which maddubs would saturate
 * on (255 x 127 twice > 32767). Back to signed, then |w| x (a with w's sign): |w| <= 128
 * and |a| <= 127, so a pair sums to at most 32512 and the integer dot is exact, the one
 * the AVX-512 kernel gets as dot(q + 128, a) - 128 * sum(a). */
#define Q80_SDOT(acc, w, a)                                                                         \
    _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8((a), (w))), \
                                              _mm256_set1_epi16(1)))
#define R8S_STEP(acc, q, dy_) LMC_R8_STEP(256, si256, Q80_SDOT, R8_BCAST, acc, q, _mm256_setzero_si256(), dy_)

void lmc_q8_0_r8_gemm_avx2(int64_t n_in, int64_t g0, int64_t g1, int64_t n_tok, const void *P, const void *A,
                           size_t a_row, const float *yd, float *Y, int64_t ldy) {
    const int64_t nb = n_in / 32;
    const size_t gb = 8 * sizeof(lmc_fp16) + 8 * 32;
    const char *a = A;
    const __m256i sign = _mm256_set1_epi8((char)0x80);
#define R8S_LOAD(b)                                                                                  \
    const __m256 dx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b)));                       \
    const __m256i w0 = _mm256_xor_si256(loadu256((b) + 16), sign), w1 = _mm256_xor_si256(loadu256((b) + 48), sign); \
    const __m256i w2 = _mm256_xor_si256(loadu256((b) + 80), sign), w3 = _mm256_xor_si256(loadu256((b) + 112), sign); \
    const __m256i w4 = _mm256_xor_si256(loadu256((b) + 144), sign), w5 = _mm256_xor_si256(loadu256((b) + 176), sign); \
    const __m256i w6 = _mm256_xor_si256(loadu256((b) + 208), sign), w7 = _mm256_xor_si256(loadu256((b) + 240), sign)
#define R8S_Q(k) (((const block_q8_0 *)(a + (size_t)(t + (k)) * a_row) + i)->qs)
    int64_t g = g0;
#define R8S_TOK(acc, k) R8S_STEP(acc, R8S_Q(k), yd[(t + (k)) * nb + i])
#define R8S_FIRST(b) if (t == 0) pf_span((b) + R8_FIRST_PASS_AHEAD, gb) /* a batch brings the weights in */
    R8_Q80_GROUPS(R8S_LOAD, R8S_TOK, R8S_FIRST);
#undef R8S_FIRST
#undef R8S_TOK
#undef R8S_LOAD
#undef R8S_Q
}
#undef R8S_STEP
#undef Q80_SDOT
