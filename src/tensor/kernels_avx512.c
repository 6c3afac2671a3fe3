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

/* ---- FP32 FMA peak (benchmark) ---------------------------------------------------------- */

double lmc_fma_burn_avx512(int64_t iters, float *sink) {
#ifdef LMC_EMULATE_VNNI
    (void)iters;
    *sink = 0;
    return 0;
#else
    /* twelve named accumulators, not an array: an array can stay in memory, and the loop
     * then measures store-to-load forwarding instead of the FMA units */
#define BURN_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define BURN_INIT(k) __m512 a##k = _mm512_set1_ps(1.0f + 0.01f * (float)(k));
#define BURN_STEP(k) a##k = _mm512_fmadd_ps(a##k, m, c);
#define BURN_SUM(k) s = _mm512_add_ps(s, a##k);
    BURN_CHAINS(BURN_INIT)
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int64_t i = 0; i < iters; i++) {
        /* 12 independent chains cover FMA latency x throughput on current cores */
        BURN_CHAINS(BURN_STEP)
    }
    __m512 s = _mm512_set1_ps(0.0f);
    BURN_CHAINS(BURN_SUM)
    *sink = _mm512_reduce_add_ps(s);
#undef BURN_CHAINS
#undef BURN_INIT
#undef BURN_STEP
#undef BURN_SUM
    return (double)iters * 12 * 16 * 2;
#endif
}
