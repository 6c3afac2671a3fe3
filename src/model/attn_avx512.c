/* attn_avx512.c — one decode token's attention for the query heads that share a KV
 * head (grouped-query attention), on an F16 cache, with AVX-512: each K and V row is
 * read and converted once for up to 3 heads, and the 32 partial sums of p.V stay in
 * registers across rows instead of a load and a store per row (layers_avx2.c's
 * per-head loops spent ~10 ns per (head, key) in cache, most of it there).
 * The arithmetic is layers_avx2.c's, operation for operation, so the bits are too:
 *   scores: ggml_vec_dot_f32's 4 accumulators over steps of 32 (here as two 512-bit
 *           halves [a0|a1], [a2|a3]), then (a0+a2)+(a1+a3), its 128-bit fold and the
 *           two hadd steps, done lane-wise for 4 keys at once;
 *   accum:  row j into partial sum j mod 32, each sum one fma chain in j order.
 * The rows come from memory (a step of 16 streams reads ~70 MB of K/V): the scores loop
 * asks for keys a fixed distance ahead and for the values as it goes.
 * Called only when the CPU has AVX-512 (layers.c). */
#include "model-impl.h"

#include <immintrin.h>

/* the 16-lane (a0+a2 | a1+a3) sums of one key: x = lo256 + hi256 is (a0+a2)+(a1+a3) */
static inline __m512 key_sum(__m512 A, __m512 B) { return _mm512_add_ps(A, B); }

/* s[0..3] from 4 keys' (A+B) vectors: each key's (a0+a2)+(a1+a3), its 128-bit fold,
 * then (o0+o1)+(o2+o3), as hsum_hadd / hadd(hadd(t0,t1),hadd(t2,t3)) form them
 * (o1+o0 equals o0+o1, so the swapped lanes give the same sums) */
static inline void reduce4(float *s, __m512 X0, __m512 X1, __m512 X2, __m512 X3) {
    const __m512 y01 = _mm512_add_ps(_mm512_shuffle_f32x4(X0, X1, 0x44), _mm512_shuffle_f32x4(X0, X1, 0xEE));
    const __m512 y23 = _mm512_add_ps(_mm512_shuffle_f32x4(X2, X3, 0x44), _mm512_shuffle_f32x4(X2, X3, 0xEE));
    /* y01 = [x0 | x1], y23 = [x2 | x3] (256-bit halves); now each x's two 128-bit halves */
    const __m512 o = _mm512_add_ps(_mm512_shuffle_f32x4(y01, y23, 0x88), _mm512_shuffle_f32x4(y01, y23, 0xDD));
    /* o = [o_0 | o_1 | o_2 | o_3], 4 lanes each */
    const __m512 p = _mm512_add_ps(o, _mm512_permute_ps(o, 0xB1));     /* o0+o1, ., o2+o3, . */
    const __m512 r = _mm512_add_ps(p, _mm512_permute_ps(p, 0x4E));     /* (o0+o1)+(o2+o3)    */
    const __m512i idx = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 8, 4, 0);
    _mm_storeu_ps(s, _mm512_castps512_ps128(_mm512_permutexvar_ps(idx, r)));
}

/* one key alone: the same steps on lane-0 scalars */
static inline float reduce1(__m512 X) {
    const __m256 x = _mm256_add_ps(_mm512_castps512_ps256(X), _mm512_extractf32x8_ps(X, 1));
    const __m128 o = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    const __m128 h = _mm_hadd_ps(o, o);
    return _mm_cvtss_f32(_mm_hadd_ps(h, h));
}

#define LOADK(p, d) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((p) + (d))))

/* 4 keys' scores for G <= 3 heads: each step of 32 converts the 4 keys' 32 values once
 * and adds them into every head's (A, B) pair: A = [a0|a1] (values d .. d+15), B =
 * [a2|a3] (d+16 .. d+31) */
#define KSTEP(X, d) const __m512 X##a = LOADK(X, d), X##b = LOADK(X, (d) + 16)
#define HSTEP(g, d)                                                                                    \
    do {                                                                                               \
        const __m512 qa_ = _mm512_loadu_ps(q + (g) * D + (d)), qb_ = _mm512_loadu_ps(q + (g) * D + (d) + 16); \
        A##g##0 = _mm512_fmadd_ps(k0a, qa_, A##g##0), B##g##0 = _mm512_fmadd_ps(k0b, qb_, B##g##0);   \
        A##g##1 = _mm512_fmadd_ps(k1a, qa_, A##g##1), B##g##1 = _mm512_fmadd_ps(k1b, qb_, B##g##1);   \
        A##g##2 = _mm512_fmadd_ps(k2a, qa_, A##g##2), B##g##2 = _mm512_fmadd_ps(k2b, qb_, B##g##2);   \
        A##g##3 = _mm512_fmadd_ps(k3a, qa_, A##g##3), B##g##3 = _mm512_fmadd_ps(k3b, qb_, B##g##3);   \
    } while (0)
#define HZERO(g) __m512 A##g##0 = _mm512_setzero_ps(), A##g##1 = A##g##0, A##g##2 = A##g##0, A##g##3 = A##g##0, \
                        B##g##0 = A##g##0, B##g##1 = A##g##0, B##g##2 = A##g##0, B##g##3 = A##g##0
#define HOUT(g) reduce4(s + (g) * s_stride + j, key_sum(A##g##0, B##g##0), key_sum(A##g##1, B##g##1), \
                        key_sum(A##g##2, B##g##2), key_sum(A##g##3, B##g##3))

static inline void scores_g(float *s, int64_t s_stride, const float *q, const uint16_t *const *krows,
                            const uint16_t *const *vrows, int64_t n, int64_t ahead, int D, const int G) {
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const uint16_t *k0 = krows[j], *k1 = krows[j + 1], *k2 = krows[j + 2], *k3 = krows[j + 3];
        /* the rows come from memory: keys `ahead` on, and these keys' values (for the
         * weighted sum after the softmax, into L2, a little faster in the engine than L1:
         * 16 streams 823/851 -> 860/853 t/s), asked for a few at a time as the keys go by
         * rather than a block's worth at once, which would stall on the fill buffers */
        for (int64_t i = j + ahead; i < LMC_MIN(j + ahead + 4, n); i++) lmc_pf_row(krows[i], D, false);
        for (int64_t i = j; i < j + 4; i++) lmc_pf_row(vrows[i], D, true);
        HZERO(0);
        HZERO(1);
        HZERO(2);
        for (int d = 0; d < D; d += 32) {
            KSTEP(k0, d);
            KSTEP(k1, d);
            KSTEP(k2, d);
            KSTEP(k3, d);
            HSTEP(0, d);
            if (G > 1) HSTEP(1, d);
            if (G > 2) HSTEP(2, d);
        }
        HOUT(0);
        if (G > 1) HOUT(1);
        if (G > 2) HOUT(2);
    }
    for (; j < n; j++) { /* the last keys one at a time, the same steps */
        const uint16_t *k = krows[j];
        lmc_pf_row(vrows[j], D, true);
        for (int g = 0; g < G; g++) {
            const float *qg = q + (int64_t)g * D;
            __m512 A = _mm512_setzero_ps(), B = A;
            for (int d = 0; d < D; d += 32) {
                A = _mm512_fmadd_ps(LOADK(k, d), _mm512_loadu_ps(qg + d), A);
                B = _mm512_fmadd_ps(LOADK(k, d + 16), _mm512_loadu_ps(qg + d + 16), B);
            }
            s[g * s_stride + j] = reduce1(key_sum(A, B));
        }
    }
}
#undef KSTEP
#undef HSTEP
#undef HZERO
#undef HOUT

void lmc_attn_scores_group_avx512(float *s, int64_t s_stride, const float *q, int G, const uint16_t *const *krows,
                                  const uint16_t *const *vrows, int64_t n, int64_t ahead, int D) {
    LMC_WITH_G(G, scores_g, s, s_stride, q, krows, vrows, n, ahead, D);
}

/* 4 partial sums (rows j with j mod 32 in o4 .. o4+3) of G <= 3 heads over 32 outputs
 * d0 .. d0+31, in registers across every such row (24 of them: each row's two converted
 * halves and each head's weight are used twice), then stored into acc[g][32][D] */
#define ACC_ROW(r)                                                                                     \
    do {                                                                                               \
        const int64_t j_ = m + (r);                                                                    \
        if (j_ < n) {                                                                                  \
            const __m512 va_ = LOADK(rows[j_], d0), vb_ = LOADK(rows[j_], d0 + 16);                     \
            const __m512 w0_ = _mm512_set1_ps(p[j_]);                                                  \
            c0##r##a = _mm512_fmadd_ps(va_, w0_, c0##r##a), c0##r##b = _mm512_fmadd_ps(vb_, w0_, c0##r##b); \
            if (G > 1) {                                                                               \
                const __m512 w1_ = _mm512_set1_ps(p[p_stride + j_]);                                   \
                c1##r##a = _mm512_fmadd_ps(va_, w1_, c1##r##a), c1##r##b = _mm512_fmadd_ps(vb_, w1_, c1##r##b); \
            }                                                                                          \
            if (G > 2) {                                                                               \
                const __m512 w2_ = _mm512_set1_ps(p[2 * p_stride + j_]);                               \
                c2##r##a = _mm512_fmadd_ps(va_, w2_, c2##r##a), c2##r##b = _mm512_fmadd_ps(vb_, w2_, c2##r##b); \
            }                                                                                          \
        }                                                                                              \
    } while (0)
#define ZERO4(g) __m512 c##g##0a = _mm512_setzero_ps(), c##g##0b = c##g##0a, c##g##1a = c##g##0a, c##g##1b = c##g##0a, \
                        c##g##2a = c##g##0a, c##g##2b = c##g##0a, c##g##3a = c##g##0a, c##g##3b = c##g##0a
#define STORE4(g)                                                                                      \
    do {                                                                                               \
        float *a_ = acc + ((int64_t)(g) * 32 + o4) * D + d0;                                           \
        _mm512_storeu_ps(a_, c##g##0a), _mm512_storeu_ps(a_ + 16, c##g##0b);                           \
        _mm512_storeu_ps(a_ + D, c##g##1a), _mm512_storeu_ps(a_ + D + 16, c##g##1b);                   \
        _mm512_storeu_ps(a_ + 2 * D, c##g##2a), _mm512_storeu_ps(a_ + 2 * D + 16, c##g##2b);           \
        _mm512_storeu_ps(a_ + 3 * D, c##g##3a), _mm512_storeu_ps(a_ + 3 * D + 16, c##g##3b);           \
    } while (0)

static inline void accum_pass(float *acc, const float *p, int64_t p_stride, const uint16_t *const *rows, int64_t n,
                              int D, int o4, int d0, const int G) {
    ZERO4(0);
    ZERO4(1);
    ZERO4(2);
    for (int64_t m = o4; m < n; m += 32) {
        ACC_ROW(0); ACC_ROW(1); ACC_ROW(2); ACC_ROW(3);
    }
    STORE4(0);
    if (G > 1) STORE4(1);
    if (G > 2) STORE4(2);
}
#undef ACC_ROW
#undef ZERO4
#undef STORE4

void lmc_attn_accum_group_avx512(float *acc, const float *p, int64_t p_stride, int G, const uint16_t *const *rows,
                                 int64_t n, int D) {
    for (int d0 = 0; d0 < D; d0 += 32)
        for (int o4 = 0; o4 < 32; o4 += 4) {
            LMC_WITH_G(G, accum_pass, acc, p, p_stride, rows, n, D, o4, d0);
        }
}
#undef LOADK
