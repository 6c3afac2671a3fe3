/* layers_avx512.c — layers_avx2.c's softmax and SwiGLU in 16 lanes. Every lane runs the
 * 8-lane code's operations (llama.cpp's ggml_v_expf, the same constants and special
 * cases), and the softmax adds its double sum one 8-lane half at a time, in the same
 * order, so the results are the AVX2 functions' bit for bit (test_attn_kernels compares
 * them); only the work per instruction doubles. Called only when the AVX-512 kernels
 * are in force (layers.c). */
#include "model-impl.h"

#include <immintrin.h>
#include <math.h>

/* layers_avx2.c's v_expf, lane for lane */
static inline __m512 v_expf16(__m512 x) {
    const __m512 r = _mm512_set1_ps(0x1.8p23f);
    const __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), r);
    const __m512 n = _mm512_sub_ps(z, r);
    const __m512 b =
        _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f), _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
    const __m512i e = _mm512_slli_epi32(_mm512_castps_si512(z), 23);
    const __m512 k = _mm512_castsi512_ps(_mm512_add_epi32(e, _mm512_castps_si512(_mm512_set1_ps(1))));
    const __m512 an = _mm512_abs_ps(n);
    const __mmask16 c = _mm512_cmp_ps_mask(an, _mm512_set1_ps(126), _CMP_GT_OQ);
    const __m512 u = _mm512_mul_ps(b, b);
    const __m512 j = _mm512_fmadd_ps(
        _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f)), u,
                        _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b, _mm512_set1_ps(0x1.fffdb6p-2f))),
        u, _mm512_mul_ps(_mm512_set1_ps(0x1.ffffecp-1f), b));
    const __m512 fast = _mm512_fmadd_ps(j, k, k);
    if (!c) return fast;
    /* lanes with |n| > 126: 2^n split in two factors; |n| > 192: over/underflow */
    const __mmask16 le0 = _mm512_cmp_ps_mask(n, _mm512_setzero_ps(), _CMP_LE_OQ);
    const __m512i g = _mm512_maskz_mov_epi32(le0, _mm512_set1_epi32((int)0x82000000u));
    const __m512 s1 = _mm512_castsi512_ps(_mm512_add_epi32(g, _mm512_set1_epi32(0x7f000000)));
    const __m512 s2 = _mm512_castsi512_ps(_mm512_sub_epi32(e, g));
    const __mmask16 d = _mm512_cmp_ps_mask(an, _mm512_set1_ps(192), _CMP_GT_OQ);
    __m512 y = _mm512_mask_mov_ps(fast, c, _mm512_mul_ps(_mm512_fmadd_ps(s2, j, s2), s1));
    return _mm512_mask_mov_ps(y, d, _mm512_mul_ps(s1, s1));
}

/* layers_avx2.c's hsum_tinyblas of one 8-lane half */
static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

void lmc_swiglu_avx512(float *out, const float *gate, const float *up, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 x = _mm512_loadu_ps(gate + i);
        const __m512 e = v_expf16(_mm512_sub_ps(_mm512_setzero_ps(), x));
        const __m512 silu = _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
        _mm512_storeu_ps(out + i, _mm512_mul_ps(silu, _mm512_loadu_ps(up + i)));
    }
    if (i < n) lmc_swiglu_avx2(out + i, gate + i, up + i, n - i); /* its 8-lane steps and scalar tail */
}

/* lmc_attn_accum_reduce's sums in 16 lanes: the same adds per output d, in the same
 * order */
void lmc_attn_accum_reduce_avx512(float *out, const float *acc, int D, bool vec_dot_order) {
#define V16(m) _mm512_loadu_ps(acc + (size_t)(m) * (size_t)D + (size_t)d)
    int d = 0;
    if (vec_dot_order)
        for (; d + 16 <= D; d += 16) {
            __m512 x[8];
            for (int l = 0; l < 8; l++)
                x[l] = _mm512_add_ps(_mm512_add_ps(V16(l), V16(16 + l)), _mm512_add_ps(V16(8 + l), V16(24 + l)));
            const __m512 t0 = _mm512_add_ps(x[0], x[4]), t1 = _mm512_add_ps(x[1], x[5]);
            const __m512 t2 = _mm512_add_ps(x[2], x[6]), t3 = _mm512_add_ps(x[3], x[7]);
            _mm512_storeu_ps(out + d, _mm512_add_ps(_mm512_add_ps(t0, t1), _mm512_add_ps(t2, t3)));
        }
    else
        for (; d + 16 <= D; d += 16) {
            const __m512 a = _mm512_add_ps(_mm512_add_ps(V16(0), V16(4)), _mm512_add_ps(V16(2), V16(6)));
            const __m512 b = _mm512_add_ps(_mm512_add_ps(V16(1), V16(5)), _mm512_add_ps(V16(3), V16(7)));
            _mm512_storeu_ps(out + d, _mm512_add_ps(a, b));
        }
#undef V16
    for (; d < D; d++) out[d] = lmc_accum_reduce_one(acc, D, d, vec_dot_order); /* the same tree of adds */
}

/* x rounded to the nearest F16 value, 16 at a time (vcvtps2ph is exact rounding either
 * way; the tail as the 8-lane function does it) */
void lmc_round_f16_avx512(float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(x + i, _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    if (i < n) lmc_round_f16_avx2(x + i, n - i);
}

/* layers_avx2.c's softmax of G <= 3 rows of scores (s + g * stride), n each, then (round)
 * each weight rounded to an F16 value as lmc_round_f16_avx512 does. Every lane runs the
 * 8-lane code's operations; the double sum takes one 8-lane half at a time, in order, the
 * last block's missing lanes -inf (exp 0) as the 8-lane code pads them. The rows go
 * interleaved, so that their sums (chains of dependent adds) overlap. */
static inline void softmax_rows(float *s, int64_t stride, int64_t n, float scale, const bool round, const int G) {
    const __m512 vs = _mm512_set1_ps(scale);
    const int64_t n16 = n & ~(int64_t)15;
    const __mmask16 live = (__mmask16)((1u << (n - n16)) - 1);
    __m512 vm[3];
    float max[3];
    double sum[3];
    /* the maximum (any order gives the same one; max_ps skips NaN lanes as the 8-lane
     * code does: it returns its second operand) */
    for (int g = 0; g < G; g++) vm[g] = _mm512_set1_ps(-INFINITY);
    for (int64_t j = 0; j < n16; j += 16)
        for (int g = 0; g < G; g++) {
            float *r = s + g * stride;
            const __m512 x = _mm512_mul_ps(_mm512_loadu_ps(r + j), vs);
            _mm512_storeu_ps(r + j, x);
            vm[g] = _mm512_max_ps(x, vm[g]);
        }
    for (int g = 0; g < G; g++) {
        float *r = s + g * stride;
        max[g] = _mm512_reduce_max_ps(vm[g]);
        for (int64_t j = n16; j < n; j++) {
            r[j] *= scale;
            if (r[j] > max[g]) max[g] = r[j];
        }
        vm[g] = _mm512_set1_ps(max[g]);
        sum[g] = 0.0;
    }
    for (int64_t j = 0; j < n16; j += 16)
        for (int g = 0; g < G; g++) {
            float *r = s + g * stride;
            const __m512 e = v_expf16(_mm512_sub_ps(_mm512_loadu_ps(r + j), vm[g]));
            _mm512_storeu_ps(r + j, e);
            sum[g] += (double)hsum8(_mm512_castps512_ps256(e));
            sum[g] += (double)hsum8(_mm512_extractf32x8_ps(e, 1));
        }
    if (n16 < n)
        for (int g = 0; g < G; g++) {
            float *r = s + g * stride;
            const __m512 x = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), live, r + n16);
            const __m512 e = v_expf16(_mm512_sub_ps(x, vm[g]));
            _mm512_mask_storeu_ps(r + n16, live, e);
            sum[g] += (double)hsum8(_mm512_castps512_ps256(e));
            if (n - n16 > 8) sum[g] += (double)hsum8(_mm512_extractf32x8_ps(e, 1));
        }
    for (int g = 0; g < G; g++) vm[g] = _mm512_set1_ps((float)(1.0 / sum[g]));
    /* vcvtps2ph rounds as lmc_f32_to_f16 does, so the tail's vector rounding equals the
     * 8-lane function's scalar one */
#define FIN(v) (round ? _mm512_cvtph_ps(_mm512_cvtps_ph((v), _MM_FROUND_TO_NEAREST_INT)) : (v))
    for (int64_t j = 0; j < n16; j += 16)
        for (int g = 0; g < G; g++) {
            float *r = s + g * stride;
            _mm512_storeu_ps(r + j, FIN(_mm512_mul_ps(_mm512_loadu_ps(r + j), vm[g])));
        }
    if (n16 < n)
        for (int g = 0; g < G; g++) {
            float *r = s + g * stride;
            _mm512_mask_storeu_ps(r + n16, live, FIN(_mm512_mul_ps(_mm512_maskz_loadu_ps(live, r + n16), vm[g])));
        }
#undef FIN
}

void lmc_attn_softmax_avx512(float *s, int64_t n, float scale) { softmax_rows(s, 0, n, scale, false, 1); }

void lmc_attn_softmax_round_group_avx512(float *s, int64_t stride, int G, int64_t n, float scale) {
    LMC_WITH_G(G, softmax_rows, s, stride, n, scale, true);
}
