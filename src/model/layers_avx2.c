/* layers_avx2.c — hot loops of layers.c with AVX2/FMA/F16C (this file is compiled with
 * those flags and only called when the CPU has them):
 *   swiglu: silu(g) * u with llama.cpp's vectorized exp
 *   attention: scores, softmax and weighted sum of V
 * The order of every sum follows llama.cpp's AVX2 CPU code for the same op (ggml's
 * vec_dot_f32 for q.k during prompt processing, llamafile's tinyBLAS for q.k of one
 * token and for p.V, ggml_vec_soft_max_f32), so on an AVX2 machine the results match
 * llama.cpp's bit for bit; elsewhere they differ by float rounding only.
 *   scores: s[j] = q . k_j           over n_kv cache rows
 *   accum:  out += sum_j p_j * v_j   over n_kv cache rows
 * Cache rows are F32 or F16 (converted with vcvtph2ps). */
#include "model-impl.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __m256 load8(const void *p, bool f16, int64_t i) {
    return f16 ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)p + i)))
               : _mm256_loadu_ps((const float *)p + i);
}

static inline float load1(const void *p, bool f16, int64_t i) {
    return f16 ? lmc_f16_to_f32(((const uint16_t *)p)[i]) : ((const float *)p)[i];
}

/* exp(x) as llama.cpp's AVX2 code computes it (ggml_v_expf: a polynomial after range
 * reduction, max error ~1.5 ulp); the same operations give the same bits. */
static inline __m256 v_expf(__m256 x) {
    const __m256 r = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
    const __m256 n = _mm256_sub_ps(z, r);
    const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f), _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
    const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1))));
    const __m256i c = _mm256_castps_si256(_mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.f), n), _mm256_set1_ps(126), _CMP_GT_OQ));
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 j = _mm256_fmadd_ps(
        _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                        _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
        u, _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));
    if (!_mm256_movemask_ps(_mm256_castsi256_ps(c))) return _mm256_fmadd_ps(j, k, k);
    const __m256i g = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)),
                                       _mm256_set1_epi32((int)0x82000000u));
    const __m256 s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f000000)));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
    const __m256i d = _mm256_castps_si256(_mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.f), n), _mm256_set1_ps(192), _CMP_GT_OQ));
    return _mm256_or_ps(
        _mm256_and_ps(_mm256_castsi256_ps(d), _mm256_mul_ps(s1, s1)),
        _mm256_andnot_ps(_mm256_castsi256_ps(d),
                         _mm256_or_ps(_mm256_and_ps(_mm256_castsi256_ps(c), _mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1)),
                                      _mm256_andnot_ps(_mm256_castsi256_ps(c), _mm256_fmadd_ps(k, j, k)))));
}

void lmc_swiglu_avx2(float *out, const float *gate, const float *up, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(gate + i);
        const __m256 e = v_expf(_mm256_sub_ps(_mm256_setzero_ps(), x));
        const __m256 silu = _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++) out[i] = (gate[i] / (1.0f + expf(-gate[i]))) * up[i];
}

/* ---- attention ------------------------------------------------------------------ */

/* tinyBLAS's horizontal sum: ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)) */
static inline float hsum_tinyblas(__m256 v) { return hsum256(v); }

/* ggml's GGML_F32x8_REDUCE of one vector: via two hadds */
static inline float hsum_hadd(__m256 v) {
    const __m128 t0 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 t1 = _mm_hadd_ps(t0, t0);
    return _mm_cvtss_f32(_mm_hadd_ps(t1, t1));
}

/* Named accumulators and the F16/F32 choice taken outside the loops: with an array and
 * the branch inside, GCC kept the sums on the stack (about 70 cycles a key). */
#define LOAD8_F16(p, i) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)(p) + (i))))
#define LOAD8_F32(p, i) _mm256_loadu_ps((const float *)(p) + (i))
/* One key's 4 accumulators in ggml_vec_dot_f32's order, folded to the 128-bit vector
 * GGML_F32x8_REDUCE hadds (the tail d, when D is not a multiple of 32, is added later) */
#define VDO_PARTIAL(LOAD8, k, out)                                                                            \
    do {                                                                                                      \
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                            \
        for (int d = 0; d < np; d += 32) {                                                                    \
            a0 = _mm256_fmadd_ps(LOAD8(k, d), _mm256_loadu_ps(q + d), a0);                                     \
            a1 = _mm256_fmadd_ps(LOAD8(k, d + 8), _mm256_loadu_ps(q + d + 8), a1);                             \
            a2 = _mm256_fmadd_ps(LOAD8(k, d + 16), _mm256_loadu_ps(q + d + 16), a2);                           \
            a3 = _mm256_fmadd_ps(LOAD8(k, d + 24), _mm256_loadu_ps(q + d + 24), a3);                           \
        }                                                                                                     \
        const __m256 x_ = _mm256_add_ps(_mm256_add_ps(a0, a2), _mm256_add_ps(a1, a3));                         \
        out = _mm_add_ps(_mm256_castps256_ps128(x_), _mm256_extractf128_ps(x_, 1));                           \
    } while (0)
#define SCORES_BODY(LOAD8, ESZ)                                                                               \
    const int np = D & ~31;                                                                                   \
    int64_t j = 0;                                                                                            \
    if (vec_dot_order) { /* ggml_vec_dot_f32: 4 accumulators over steps of 32 */                              \
        /* 4 keys at a time: hadd(hadd(t0, t1), hadd(t2, t3)) does each key's two hadd                        \
         * steps of hsum_hadd exactly, for the four at once */                                                \
        for (; j + 4 <= n_kv; j += 4) {                                                                       \
            const uint8_t *k = (const uint8_t *)kc + (size_t)(j * stride) * (ESZ);                            \
            const size_t st = (size_t)stride * (ESZ);                                                         \
            __m128 t0, t1, t2, t3;                                                                            \
            VDO_PARTIAL(LOAD8, k, t0);                                                                        \
            VDO_PARTIAL(LOAD8, k + st, t1);                                                                   \
            VDO_PARTIAL(LOAD8, k + 2 * st, t2);                                                               \
            VDO_PARTIAL(LOAD8, k + 3 * st, t3);                                                               \
            _mm_storeu_ps(s + j, _mm_hadd_ps(_mm_hadd_ps(t0, t1), _mm_hadd_ps(t2, t3)));                      \
        }                                                                                                     \
        if (np < D) /* the tails of those keys */                                                             \
            for (int64_t i = 0; i < j; i++) {                                                                 \
                const void *k = (const uint8_t *)kc + (size_t)(i * stride) * (ESZ);                           \
                for (int d = np; d < D; d++) s[i] += q[d] * load1(k, f16, d);                                 \
            }                                                                                                 \
        for (; j < n_kv; j++) {                                                                               \
            const void *k = (const uint8_t *)kc + (size_t)(j * stride) * (ESZ);                               \
            __m128 t;                                                                                         \
            VDO_PARTIAL(LOAD8, k, t);                                                                         \
            const __m128 h = _mm_hadd_ps(t, t);                                                               \
            float r = _mm_cvtss_f32(_mm_hadd_ps(h, h));                                                       \
            for (int d = np; d < D; d++) r += q[d] * load1(k, f16, d);                                        \
            s[j] = r;                                                                                         \
        }                                                                                                     \
        return;                                                                                               \
    }                                                                                                         \
    /* tinyBLAS: one accumulator over steps of 8. 4 keys at a time: their 128-bit folds          \
     * transposed, then (c0 + c2) + (c1 + c3) is each key's hsum256 order */                                 \
    const int D8 = D & ~7;                                                                                    \
    for (; j + 4 <= n_kv; j += 4) {                                                                           \
        const uint8_t *k = (const uint8_t *)kc + (size_t)(j * stride) * (ESZ);                                \
        const size_t st = (size_t)stride * (ESZ);                                                             \
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                            \
        for (int d = 0; d < D8; d += 8) {                                                                     \
            const __m256 qd = _mm256_loadu_ps(q + d);                                                         \
            a0 = _mm256_fmadd_ps(LOAD8(k, d), qd, a0);                                                        \
            a1 = _mm256_fmadd_ps(LOAD8(k + st, d), qd, a1);                                                   \
            a2 = _mm256_fmadd_ps(LOAD8(k + 2 * st, d), qd, a2);                                               \
            a3 = _mm256_fmadd_ps(LOAD8(k + 3 * st, d), qd, a3);                                               \
        }                                                                                                     \
        __m128 t0 = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));                     \
        __m128 t1 = _mm_add_ps(_mm256_castps256_ps128(a1), _mm256_extractf128_ps(a1, 1));                     \
        __m128 t2 = _mm_add_ps(_mm256_castps256_ps128(a2), _mm256_extractf128_ps(a2, 1));                     \
        __m128 t3 = _mm_add_ps(_mm256_castps256_ps128(a3), _mm256_extractf128_ps(a3, 1));                     \
        _MM_TRANSPOSE4_PS(t0, t1, t2, t3);                                                                    \
        _mm_storeu_ps(s + j, _mm_add_ps(_mm_add_ps(t0, t2), _mm_add_ps(t1, t3)));                             \
        if (D8 < D) /* the tails, added after the vector sum as below */                                      \
            for (int i = 0; i < 4; i++)                                                                       \
                for (int d = D8; d < D; d++) s[j + i] += q[d] * load1(k + (size_t)i * st, f16, d);            \
    }                                                                                                         \
    for (; j < n_kv; j++) {                                                                                   \
        const void *k = (const uint8_t *)kc + (size_t)(j * stride) * (ESZ);                                   \
        __m256 a = _mm256_setzero_ps();                                                                       \
        int d = 0;                                                                                            \
        for (; d + 8 <= D; d += 8) a = _mm256_fmadd_ps(LOAD8(k, d), _mm256_loadu_ps(q + d), a);               \
        float t = hsum_tinyblas(a);                                                                           \
        for (; d < D; d++) t += q[d] * load1(k, f16, d);                                                      \
        s[j] = t;                                                                                             \
    }

void lmc_attn_scores_avx2(float *s, const float *q, const void *kc, bool f16, int64_t n_kv, int64_t stride, int D,
                          bool vec_dot_order) {
    if (f16) {
        SCORES_BODY(LOAD8_F16, 2)
    } else {
        SCORES_BODY(LOAD8_F32, 4)
    }
}
#undef SCORES_BODY
#undef VDO_PARTIAL

void lmc_rmsnorm_avx2(float *out, float *rstd, const float *x, const float *w, int64_t T, int64_t C, float eps) {
    for (int64_t t = 0; t < T; t++) {
        const float *xt = x + t * C;
        float *ot = out + t * C;
        /* each square rounded to float, as (double)(x * x) in the portable loop, then
         * added in double: 4 chains of 4 lanes, so the adds do not wait on each other */
        __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
        int64_t i = 0;
        for (; i + 16 <= C; i += 16) {
            const __m256 a = _mm256_loadu_ps(xt + i), b = _mm256_loadu_ps(xt + i + 8);
            const __m256 a2 = _mm256_mul_ps(a, a), b2 = _mm256_mul_ps(b, b);
            s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(a2)));
            s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(a2, 1)));
            s2 = _mm256_add_pd(s2, _mm256_cvtps_pd(_mm256_castps256_ps128(b2)));
            s3 = _mm256_add_pd(s3, _mm256_cvtps_pd(_mm256_extractf128_ps(b2, 1)));
        }
        const __m256d s = _mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3));
        const __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
        double sum = _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
        for (; i < C; i++) sum += (double)(xt[i] * xt[i]);
        const float mean = (float)(sum / (double)C);
        const float scale = 1.0f / sqrtf(mean + eps);
        if (rstd) rstd[t] = scale;
        const __m256 vs = _mm256_set1_ps(scale);
        i = 0;
        if (w)
            for (; i + 8 <= C; i += 8)
                _mm256_storeu_ps(ot + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(xt + i), vs), _mm256_loadu_ps(w + i)));
        else
            for (; i + 8 <= C; i += 8) _mm256_storeu_ps(ot + i, _mm256_mul_ps(_mm256_loadu_ps(xt + i), vs));
        for (; i < C; i++) ot[i] = w ? (xt[i] * scale) * w[i] : xt[i] * scale;
    }
}

void lmc_rope_apply_fma(float *x, const float *cs, int64_t T, int n_head, int D, int n_rot, lmc_rope_type type) {
    LMC_ROPE_APPLY_BODY(x, cs, T, n_head, D, n_rot, type);
}

void lmc_attn_softmax_avx2(float *s, int64_t n, float scale) {
    /* the maximum 8 lanes at a time (any order gives the same maximum; NaN lanes are
     * skipped as the scalar test skips them: max_ps returns its second operand) */
    __m256 vm = _mm256_set1_ps(-INFINITY);
    const __m256 vs = _mm256_set1_ps(scale);
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256 x = _mm256_mul_ps(_mm256_loadu_ps(s + j), vs);
        _mm256_storeu_ps(s + j, x);
        vm = _mm256_max_ps(x, vm);
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vm), _mm256_extractf128_ps(vm, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    float max = _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
    for (; j < n; j++) {
        s[j] *= scale;
        if (s[j] > max) max = s[j];
    }
    double sum = 0.0;
    const __m256 vmax = _mm256_set1_ps(max);
    j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256 e = v_expf(_mm256_sub_ps(_mm256_loadu_ps(s + j), vmax));
        _mm256_storeu_ps(s + j, e);
        sum += (double)hsum_tinyblas(e);
    }
    if (j < n) { /* the tail as llama.cpp sees it: masked (-inf) lanes give 0 */
        float tail[8];
        for (int l = 0; l < 8; l++) tail[l] = j + l < n ? s[j + l] : -INFINITY;
        const __m256 e = v_expf(_mm256_sub_ps(_mm256_loadu_ps(tail), vmax));
        _mm256_storeu_ps(tail, e);
        for (int l = 0; j + l < n; l++) s[j + l] = tail[l];
        sum += (double)hsum_tinyblas(e);
    }
    const float inv = (float)(1.0 / sum);
    const __m256 vi = _mm256_set1_ps(inv);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(s + i, _mm256_mul_ps(_mm256_loadu_ps(s + i), vi));
    for (; i < n; i++) s[i] *= inv;
}

/* Partial sums per output d, as llama.cpp forms them: tinyBLAS keeps 8 lanes (j mod 8),
 * vec_dot 4 vectors of 8 lanes over steps of 32 (j mod 32); acc holds [P][D] floats.
 * Rows j0 .. j0+n-1 of the attended range add into acc (a KV block at a time when the
 * cache is paged; the order per partial sum is j's, whatever the split). Positions past
 * n_kv are zero in llama.cpp's padded cache, so they add nothing and need no visit. */
/* P = 8 for a run starting on a multiple of 8, rows taken 64 at a time: 8 outputs d of
 * the 8 partial sums stay in registers over the 64 rows (row j into sum j mod 8, in j
 * order, as in ACCUM_BODY below), and the rows stay in L1 while the outputs go by,
 * instead of a load and a store of the sums for every row. */
#define ACC8_ROW(r, LOAD8)                                                                                    \
    a##r = _mm256_fmadd_ps(LOAD8(v + (size_t)((j + (r)) * stride) * esz, d), _mm256_set1_ps(p[j + (r)]), a##r)
#define ACC8_BLOCK(NAME, LOAD8, ESZ)                                                                          \
    static void NAME(float *acc, const float *p, const uint8_t *v, int64_t nb, int64_t stride, int D) {      \
        const size_t esz = (ESZ);                                                                             \
        for (int d = 0; d < D; d += 8) {                                                                      \
            __m256 a0 = _mm256_loadu_ps(acc + 0 * D + d), a1 = _mm256_loadu_ps(acc + 1 * D + d);               \
            __m256 a2 = _mm256_loadu_ps(acc + 2 * D + d), a3 = _mm256_loadu_ps(acc + 3 * D + d);               \
            __m256 a4 = _mm256_loadu_ps(acc + 4 * D + d), a5 = _mm256_loadu_ps(acc + 5 * D + d);               \
            __m256 a6 = _mm256_loadu_ps(acc + 6 * D + d), a7 = _mm256_loadu_ps(acc + 7 * D + d);               \
            int64_t j = 0;                                                                                    \
            for (; j + 8 <= nb; j += 8) {                                                                     \
                ACC8_ROW(0, LOAD8); ACC8_ROW(1, LOAD8); ACC8_ROW(2, LOAD8); ACC8_ROW(3, LOAD8);               \
                ACC8_ROW(4, LOAD8); ACC8_ROW(5, LOAD8); ACC8_ROW(6, LOAD8); ACC8_ROW(7, LOAD8);               \
            }                                                                                                 \
            const int64_t rem = nb - j; /* the last rows: sums 0 .. rem-1 */                                  \
            if (rem > 0) ACC8_ROW(0, LOAD8);                                                                  \
            if (rem > 1) ACC8_ROW(1, LOAD8);                                                                  \
            if (rem > 2) ACC8_ROW(2, LOAD8);                                                                  \
            if (rem > 3) ACC8_ROW(3, LOAD8);                                                                  \
            if (rem > 4) ACC8_ROW(4, LOAD8);                                                                  \
            if (rem > 5) ACC8_ROW(5, LOAD8);                                                                  \
            if (rem > 6) ACC8_ROW(6, LOAD8);                                                                  \
            _mm256_storeu_ps(acc + 0 * D + d, a0), _mm256_storeu_ps(acc + 1 * D + d, a1);                     \
            _mm256_storeu_ps(acc + 2 * D + d, a2), _mm256_storeu_ps(acc + 3 * D + d, a3);                     \
            _mm256_storeu_ps(acc + 4 * D + d, a4), _mm256_storeu_ps(acc + 5 * D + d, a5);                     \
            _mm256_storeu_ps(acc + 6 * D + d, a6), _mm256_storeu_ps(acc + 7 * D + d, a7);                     \
        }                                                                                                     \
    }
ACC8_BLOCK(accum8_f16, LOAD8_F16, 2)
ACC8_BLOCK(accum8_f32, LOAD8_F32, 4)
#undef ACC8_BLOCK
#undef ACC8_ROW

void lmc_attn_accum_rows_avx2(float *acc, const float *p, const void *vc, bool f16, int64_t j0, int64_t n,
                              int64_t stride, int D, int P) {
    const int D8 = D & ~7;
    if (P == 8 && j0 % 8 == 0 && D8 == D) {
        const size_t esz = f16 ? 2 : 4;
        for (int64_t jb = 0; jb < n; jb += 64) {
            const uint8_t *v = (const uint8_t *)vc + (size_t)(jb * stride) * esz;
            if (f16) accum8_f16(acc, p + jb, v, LMC_MIN((int64_t)64, n - jb), stride, D);
            else accum8_f32(acc, p + jb, v, LMC_MIN((int64_t)64, n - jb), stride, D);
        }
        return;
    }
#define ACCUM_BODY(LOAD8, ESZ)                                                                                     \
    for (int64_t j = 0, part = j0 % P; j < n; j++, part = part + 1 == P ? 0 : part + 1) { /* no division per row */ \
        const void *v = (const uint8_t *)vc + (size_t)(j * stride) * (ESZ);                                        \
        float *a = acc + (size_t)part * (size_t)D;                                                                 \
        const __m256 w = _mm256_set1_ps(p[j]);                                                                     \
        int d = 0;                                                                                                 \
        for (; d + 32 <= D8; d += 32) {                                                                            \
            _mm256_storeu_ps(a + d, _mm256_fmadd_ps(LOAD8(v, d), w, _mm256_loadu_ps(a + d)));                      \
            _mm256_storeu_ps(a + d + 8, _mm256_fmadd_ps(LOAD8(v, d + 8), w, _mm256_loadu_ps(a + d + 8)));          \
            _mm256_storeu_ps(a + d + 16, _mm256_fmadd_ps(LOAD8(v, d + 16), w, _mm256_loadu_ps(a + d + 16)));       \
            _mm256_storeu_ps(a + d + 24, _mm256_fmadd_ps(LOAD8(v, d + 24), w, _mm256_loadu_ps(a + d + 24)));       \
        }                                                                                                          \
        for (; d < D8; d += 8) _mm256_storeu_ps(a + d, _mm256_fmadd_ps(LOAD8(v, d), w, _mm256_loadu_ps(a + d)));   \
        for (; d < D; d++) a[d] = fmaf(load1(v, f16, d), p[j], a[d]);                                              \
    }
    if (f16) {
        ACCUM_BODY(LOAD8_F16, 2)
    } else {
        ACCUM_BODY(LOAD8_F32, 4)
    }
#undef ACCUM_BODY
}

/* ---- one decode token, the heads of a KV group together (AVX2) --------------------------
 * attn_avx512.c's scheme with 256-bit vectors: each K and V row converted once for up to 3
 * heads, each head's key in the vec_dot order above (4 accumulators over steps of 32, the
 * 128-bit fold, 4 keys' two hadd steps at once), the 32 p.V partial sums in registers
 * across rows, 4 of them x 8 outputs a pass. Same operations, same bits as the per-head
 * loops (test_attn_group). D % 32 == 0, G <= 3. */
#define GK_ACC(g)                                                                                     \
    do {                                                                                              \
        const float *qg_ = q + (g) * D + d;                                                           \
        a##g##0 = _mm256_fmadd_ps(k0, _mm256_loadu_ps(qg_), a##g##0);                                 \
        a##g##1 = _mm256_fmadd_ps(k1, _mm256_loadu_ps(qg_ + 8), a##g##1);                             \
        a##g##2 = _mm256_fmadd_ps(k2, _mm256_loadu_ps(qg_ + 16), a##g##2);                            \
        a##g##3 = _mm256_fmadd_ps(k3, _mm256_loadu_ps(qg_ + 24), a##g##3);                            \
    } while (0)
#define GK_ZERO(g) __m256 a##g##0 = _mm256_setzero_ps(), a##g##1 = a##g##0, a##g##2 = a##g##0, a##g##3 = a##g##0
#define GK_FOLD(g)                                                                                    \
    do {                                                                                              \
        const __m256 x_ = _mm256_add_ps(_mm256_add_ps(a##g##0, a##g##2), _mm256_add_ps(a##g##1, a##g##3)); \
        t[g] = _mm_add_ps(_mm256_castps256_ps128(x_), _mm256_extractf128_ps(x_, 1));                 \
    } while (0)

/* one key's 128-bit folds for G heads into t[0..G-1] */
static inline void group_key(__m128 *t, const float *q, const int G, const uint16_t *k, int D) {
    GK_ZERO(0);
    GK_ZERO(1);
    GK_ZERO(2);
    for (int d = 0; d < D; d += 32) {
        const __m256 k0 = LOAD8_F16(k, d), k1 = LOAD8_F16(k, d + 8), k2 = LOAD8_F16(k, d + 16),
                     k3 = LOAD8_F16(k, d + 24);
        GK_ACC(0);
        if (G > 1) GK_ACC(1);
        if (G > 2) GK_ACC(2);
    }
    GK_FOLD(0);
    if (G > 1) GK_FOLD(1);
    if (G > 2) GK_FOLD(2);
}
#undef GK_ACC
#undef GK_ZERO
#undef GK_FOLD

static inline void scores_group2(float *s, int64_t s_stride, const float *q, const uint16_t *const *krows,
                                 const uint16_t *const *vrows, int64_t n, int64_t ahead, int D, const int G) {
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        for (int64_t i = j + ahead; i < LMC_MIN(j + ahead + 4, n); i++) lmc_pf_row(krows[i], D, false);
        for (int64_t i = j; i < j + 4; i++) lmc_pf_row(vrows[i], D, true);
        __m128 t0[3], t1[3], t2[3], t3[3];
        group_key(t0, q, G, krows[j], D);
        group_key(t1, q, G, krows[j + 1], D);
        group_key(t2, q, G, krows[j + 2], D);
        group_key(t3, q, G, krows[j + 3], D);
        for (int g = 0; g < G; g++)
            _mm_storeu_ps(s + g * s_stride + j, _mm_hadd_ps(_mm_hadd_ps(t0[g], t1[g]), _mm_hadd_ps(t2[g], t3[g])));
    }
    for (; j < n; j++) {
        lmc_pf_row(vrows[j], D, true);
        __m128 t[3];
        group_key(t, q, G, krows[j], D);
        for (int g = 0; g < G; g++) {
            const __m128 h = _mm_hadd_ps(t[g], t[g]);
            s[g * s_stride + j] = _mm_cvtss_f32(_mm_hadd_ps(h, h));
        }
    }
}

void lmc_attn_scores_group_avx2(float *s, int64_t s_stride, const float *q, int G, const uint16_t *const *krows,
                                const uint16_t *const *vrows, int64_t n, int64_t ahead, int D) {
    LMC_WITH_G(G, scores_group2, s, s_stride, q, krows, vrows, n, ahead, D);
}

/* 4 partial sums (rows j with j mod 32 in o4 .. o4+3) of G <= 3 heads over outputs
 * d0 .. d0+7, in 12 registers across every such row */
#define GA_ROW(r)                                                                                     \
    do {                                                                                              \
        const int64_t j_ = m + (r);                                                                   \
        if (j_ < n) {                                                                                 \
            const __m256 v_ = LOAD8_F16(rows[j_], d0);                                                \
            c0##r = _mm256_fmadd_ps(v_, _mm256_broadcast_ss(p + j_), c0##r);                          \
            if (G > 1) c1##r = _mm256_fmadd_ps(v_, _mm256_broadcast_ss(p + p_stride + j_), c1##r);    \
            if (G > 2) c2##r = _mm256_fmadd_ps(v_, _mm256_broadcast_ss(p + 2 * p_stride + j_), c2##r); \
        }                                                                                             \
    } while (0)
#define GA_ZERO(g) __m256 c##g##0 = _mm256_setzero_ps(), c##g##1 = c##g##0, c##g##2 = c##g##0, c##g##3 = c##g##0
#define GA_STORE(g)                                                                                   \
    do {                                                                                              \
        float *a_ = acc + ((int64_t)(g) * 32 + o4) * D + d0;                                          \
        _mm256_storeu_ps(a_, c##g##0), _mm256_storeu_ps(a_ + D, c##g##1);                             \
        _mm256_storeu_ps(a_ + 2 * D, c##g##2), _mm256_storeu_ps(a_ + 3 * D, c##g##3);                 \
    } while (0)
static inline void accum_group2(float *acc, const float *p, int64_t p_stride, const uint16_t *const *rows, int64_t n,
                                int D, int o4, int d0, const int G) {
    GA_ZERO(0);
    GA_ZERO(1);
    GA_ZERO(2);
    for (int64_t m = o4; m < n; m += 32) {
        GA_ROW(0);
        GA_ROW(1);
        GA_ROW(2);
        GA_ROW(3);
    }
    GA_STORE(0);
    if (G > 1) GA_STORE(1);
    if (G > 2) GA_STORE(2);
}
#undef GA_ROW
#undef GA_ZERO
#undef GA_STORE

void lmc_attn_accum_group_avx2(float *acc, const float *p, int64_t p_stride, int G, const uint16_t *const *rows,
                               int64_t n, int D) {
    for (int d0 = 0; d0 < D; d0 += 8)
        for (int o4 = 0; o4 < 32; o4 += 4) {
            LMC_WITH_G(G, accum_group2, acc, p, p_stride, rows, n, D, o4, d0);
        }
}

/* The partial sums added as llama.cpp adds them, 8 outputs d at a time (the same
 * operations per d as one at a time). */
void lmc_attn_accum_reduce(float *out, const float *acc, int D, bool vec_dot_order) {
#define V(m) _mm256_loadu_ps(acc + (size_t)(m) * (size_t)D + (size_t)d)
    int d = 0;
    if (vec_dot_order) {
        for (; d + 8 <= D; d += 8) {
            __m256 x[8];
            for (int l = 0; l < 8; l++)
                x[l] = _mm256_add_ps(_mm256_add_ps(V(l), V(16 + l)), _mm256_add_ps(V(8 + l), V(24 + l)));
            const __m256 t0 = _mm256_add_ps(x[0], x[4]), t1 = _mm256_add_ps(x[1], x[5]);
            const __m256 t2 = _mm256_add_ps(x[2], x[6]), t3 = _mm256_add_ps(x[3], x[7]);
            _mm256_storeu_ps(out + d, _mm256_add_ps(_mm256_add_ps(t0, t1), _mm256_add_ps(t2, t3)));
        }
        for (; d < D; d++) out[d] = lmc_accum_reduce_one(acc, D, d, true);
    } else {
        for (; d + 8 <= D; d += 8) {
            const __m256 a = _mm256_add_ps(_mm256_add_ps(V(0), V(4)), _mm256_add_ps(V(2), V(6)));
            const __m256 b = _mm256_add_ps(_mm256_add_ps(V(1), V(5)), _mm256_add_ps(V(3), V(7)));
            _mm256_storeu_ps(out + d, _mm256_add_ps(a, b));
        }
        for (; d < D; d++) out[d] = lmc_accum_reduce_one(acc, D, d, false);
    }
#undef V
}

void lmc_f32_to_f16_row_avx2(uint16_t *dst, const float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) dst[i] = lmc_f32_to_f16(x[i]);
}

void lmc_round_f16_avx2(float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    for (; i < n; i++) x[i] = lmc_f16_to_f32(lmc_f32_to_f16(x[i]));
}
