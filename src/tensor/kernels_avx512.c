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

/* ---- repacked Q8_0 / Q4_1 x 8 rows (repack.c) ------------------------------------------------- */

/* One token against one group-block: the 8 rows' exact integer dots (weights stored as
 * q + 128, hence the 128 * ysum correction), scaled and added to acc in one step. */
static inline __m256 r8_step(__m256 acc, const __m256i w[8], const block_q8_0 *y, int32_t ysum, __m256 dx) {
    __m256i ip = _mm256_set1_epi32(-128 * ysum);
    for (int c = 0; c < 8; c++) {
        int32_t yc;
        memcpy(&yc, y->qs + 4 * c, sizeof yc);
        ip = DPBUSD(ip, w[c], _mm256_set1_epi32(yc));
    }
    return _mm256_fmadd_ps(_mm256_mul_ps(dx, _mm256_set1_ps(h2f(y->d))), _mm256_cvtepi32_ps(ip), acc);
}

void lmc_q8_0_r8_gemm_avx512(int64_t n_in, int64_t g0, int64_t g1, int64_t n_tok, const void *P, const void *A,
                             size_t a_row, const int32_t *ysum, float *Y, int64_t ldy) {
    const int64_t nb = n_in / 32;
    const size_t gb = 8 * sizeof(lmc_fp16) + 8 * 32;
    const char *a = A;
    for (int64_t g = g0; g < g1; g++) {
        const uint8_t *pg = (const uint8_t *)P + (size_t)g * (size_t)nb * gb;
        int64_t t = 0;
        /* 4 tokens share each weight load; the tail runs the same steps one token at a time */
        for (; t + 4 <= n_tok; t += 4) {
            __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
            for (int64_t i = 0; i < nb; i++) {
                const uint8_t *b = pg + (size_t)i * gb;
                const __m256 dx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b));
                __m256i w[8];
                for (int c = 0; c < 8; c++) w[c] = loadu256(b + 16 + 32 * c);
                const block_q8_0 *y = (const block_q8_0 *)(a + (size_t)t * a_row) + i;
                const int32_t *ys = ysum + t * nb + i;
                c0 = r8_step(c0, w, y, ys[0], dx);
                c1 = r8_step(c1, w, (const block_q8_0 *)((const char *)y + a_row), ys[nb], dx);
                c2 = r8_step(c2, w, (const block_q8_0 *)((const char *)y + 2 * a_row), ys[2 * nb], dx);
                c3 = r8_step(c3, w, (const block_q8_0 *)((const char *)y + 3 * a_row), ys[3 * nb], dx);
            }
            _mm256_storeu_ps(Y + t * ldy + g * 8, c0);
            _mm256_storeu_ps(Y + (t + 1) * ldy + g * 8, c1);
            _mm256_storeu_ps(Y + (t + 2) * ldy + g * 8, c2);
            _mm256_storeu_ps(Y + (t + 3) * ldy + g * 8, c3);
        }
        for (; t < n_tok; t++) {
            __m256 c0 = _mm256_setzero_ps();
            for (int64_t i = 0; i < nb; i++) {
                const uint8_t *b = pg + (size_t)i * gb;
                _mm_prefetch((const char *)b + 4096, _MM_HINT_T0); /* generation streams the weights */
                _mm_prefetch((const char *)b + 4096 + 64, _MM_HINT_T0);
                _mm_prefetch((const char *)b + 4096 + 128, _MM_HINT_T0);
                _mm_prefetch((const char *)b + 4096 + 192, _MM_HINT_T0);
                _mm_prefetch((const char *)b + 4096 + 256, _MM_HINT_T0);
                const __m256 dx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b));
                __m256i w[8];
                for (int c = 0; c < 8; c++) w[c] = loadu256(b + 16 + 32 * c);
                c0 = r8_step(c0, w, (const block_q8_0 *)(a + (size_t)t * a_row) + i, ysum[t * nb + i], dx);
            }
            _mm256_storeu_ps(Y + t * ldy + g * 8, c0);
        }
    }
}

/* Q4_1: the 4 loaded vectors give chunks v (low nibbles) and v + 4 (high) of 8 rows. */
static inline void r8_q41_weights(const uint8_t *b, __m256i w[8]) {
    const __m256i lo = _mm256_set1_epi8(0x0F);
    for (int v = 0; v < 4; v++) {
        const __m256i x = loadu256(b + 32 + 32 * v);
        w[v] = _mm256_and_si256(x, lo);
        w[v + 4] = _mm256_and_si256(_mm256_srli_epi16(x, 4), lo);
    }
}

/* One token: acc += (dx * dy) * dot (exact integers), accm += m * s (the min term). */
static inline void r8_q41_step(__m256 *acc, __m256 *accm, const __m256i w[8], const block_q8_1 *y, __m256 dx,
                               __m256 mx) {
    __m256i ip = _mm256_setzero_si256();
    for (int c = 0; c < 8; c++) {
        int32_t yc;
        memcpy(&yc, y->qs + 4 * c, sizeof yc);
        ip = DPBUSD(ip, w[c], _mm256_set1_epi32(yc));
    }
    *acc = _mm256_fmadd_ps(_mm256_mul_ps(dx, _mm256_set1_ps(h2f(y->d))), _mm256_cvtepi32_ps(ip), *acc);
    *accm = _mm256_fmadd_ps(mx, _mm256_set1_ps(h2f(y->s)), *accm);
}

void lmc_q4_1_r8_gemm_avx512(int64_t n_in, int64_t g0, int64_t g1, int64_t n_tok, const void *P, const void *A,
                             size_t a_row, float *Y, int64_t ldy) {
    const int64_t nb = n_in / 32;
    const size_t gb = 16 * sizeof(lmc_fp16) + 8 * 16;
    const char *a = A;
    for (int64_t g = g0; g < g1; g++) {
        const uint8_t *pg = (const uint8_t *)P + (size_t)g * (size_t)nb * gb;
        int64_t t = 0;
        for (; t + 4 <= n_tok; t += 4) {
            __m256 c[4], m[4];
            for (int k = 0; k < 4; k++) c[k] = m[k] = _mm256_setzero_ps();
            for (int64_t i = 0; i < nb; i++) {
                const uint8_t *b = pg + (size_t)i * gb;
                const __m256 dx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b));
                const __m256 mx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + 16)));
                __m256i w[8];
                r8_q41_weights(b, w);
                for (int k = 0; k < 4; k++)
                    r8_q41_step(&c[k], &m[k], w, (const block_q8_1 *)(a + (size_t)(t + k) * a_row) + i, dx, mx);
            }
            for (int k = 0; k < 4; k++) _mm256_storeu_ps(Y + (t + k) * ldy + g * 8, _mm256_add_ps(c[k], m[k]));
        }
        for (; t < n_tok; t++) {
            __m256 c0 = _mm256_setzero_ps(), m0 = c0;
            for (int64_t i = 0; i < nb; i++) {
                const uint8_t *b = pg + (size_t)i * gb;
                _mm_prefetch((const char *)b + 4096, _MM_HINT_T0); /* generation streams the weights */
                _mm_prefetch((const char *)b + 4096 + 64, _MM_HINT_T0);
                _mm_prefetch((const char *)b + 4096 + 128, _MM_HINT_T0);
                const __m256 dx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b));
                const __m256 mx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + 16)));
                __m256i w[8];
                r8_q41_weights(b, w);
                r8_q41_step(&c0, &m0, w, (const block_q8_1 *)(a + (size_t)t * a_row) + i, dx, mx);
            }
            _mm256_storeu_ps(Y + t * ldy + g * 8, _mm256_add_ps(c0, m0));
        }
    }
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
