/* kernels_simd.h — entry points of the SIMD kernel files (kernels_avx2.c,
 * kernels_avx512.c), each compiled with its own ISA flags. They return NULL for a
 * type they have no kernel for; traits.c falls back to the scalar reference.
 * Only call them after checking the CPU supports the ISA. */
#ifndef LMC_KERNELS_SIMD_H
#define LMC_KERNELS_SIMD_H

#include "quants.h"

#ifndef LMC_SCALAR_ONLY
lmc_vec_dot_fn lmc_vec_dot_avx2(lmc_type t);
lmc_vec_dot4_fn lmc_vec_dot4_avx2(lmc_type t);
lmc_gemm_tile_fn lmc_gemm_tile_avx2(lmc_type t);
/* dot in the order of llama.cpp's sgemm (tinyBLAS) for a dense product of >= 2 tokens,
 * or NULL where lmc's vec_dot order is used for those too (every type but F16) */
lmc_vec_dot_fn lmc_vec_dot_gemm_avx2(lmc_type t);
lmc_from_float_fn lmc_act_from_float_avx2(lmc_type vec_dot_type);
/* Q8_0 / Q8_1 activations in 16 lanes, the AVX2 quantizers' bits (NULL for other types) */
lmc_from_float_fn lmc_act_from_float_avx512(lmc_type vec_dot_type);
lmc_vec_dot_fn lmc_vec_dot_avx512(lmc_type t);
lmc_vec_dot4_fn lmc_vec_dot4_avx512(lmc_type t);
lmc_gemm_tile_fn lmc_gemm_tile_avx512(lmc_type t);
/* Repacked Q8_0 (repack.c) x Q8_0 activations: groups [g0, g1) of 8 rows, all n_tok
 * tokens; for activation block i of token t, at [t * (n_in / 32) + i]: ysum = the sum
 * of its quants, yd = its scale as a float. */
void lmc_q8_0_r8_gemm_avx512(int64_t n_in, int64_t g0, int64_t g1, int64_t n_tok, const void *P, const void *A,
                             size_t a_row, const int32_t *ysum, const float *yd, float *Y, int64_t ldy);
/* Repacked Q4_1 x Q8_1 activations, the same way: yd = the blocks' d, ys = their s. */
void lmc_q4_1_r8_gemm_avx512(int64_t n_in, int64_t g0, int64_t g1, int64_t n_tok, const void *P, const void *A,
                             size_t a_row, const float *yd, const float *ys, float *Y, int64_t ldy);
/* The same for AVX2 CPUs. Q8_0 takes the weights back to signed (q + 128 would saturate
 * maddubs) and needs no ysum. */
void lmc_q8_0_r8_gemm_avx2(int64_t n_in, int64_t g0, int64_t g1, int64_t n_tok, const void *P, const void *A,
                           size_t a_row, const float *yd, float *Y, int64_t ldy);
void lmc_q4_1_r8_gemm_avx2(int64_t n_in, int64_t g0, int64_t g1, int64_t n_tok, const void *P, const void *A,
                           size_t a_row, const float *yd, const float *ys, float *Y, int64_t ldy);
/* iters rounds of 12 independent 8-/16-lane FMAs (for the FP32 peak benchmark);
 * returns the flops done and writes a sum to *sink so nothing is optimised away. */
double lmc_fma_burn_avx2(int64_t iters, float *sink);
double lmc_fma_burn_avx512(int64_t iters, float *sink);
#endif

/* Body of the lmc_fma_burn_* functions for vector type V: twelve named accumulators, not
 * an array (an array can stay in memory, and the loop then measures store-to-load
 * forwarding instead of the FMA units); 12 independent chains cover FMA latency x
 * throughput on current cores. Leaves the sum of the chains in `s`. */
#define LMC_FMA_BURN(V, SET1, FMA, ADD, iters)                                                   \
    V a0 = SET1(1.00f), a1 = SET1(1.01f), a2 = SET1(1.02f), a3 = SET1(1.03f), a4 = SET1(1.04f);   \
    V a5 = SET1(1.05f), a6 = SET1(1.06f), a7 = SET1(1.07f), a8 = SET1(1.08f), a9 = SET1(1.09f);   \
    V a10 = SET1(1.10f), a11 = SET1(1.11f);                                                      \
    const V m_ = SET1(0.999999f), c_ = SET1(1e-7f);                                              \
    for (int64_t i_ = 0; i_ < (iters); i_++) {                                                   \
        a0 = FMA(a0, m_, c_), a1 = FMA(a1, m_, c_), a2 = FMA(a2, m_, c_), a3 = FMA(a3, m_, c_);  \
        a4 = FMA(a4, m_, c_), a5 = FMA(a5, m_, c_), a6 = FMA(a6, m_, c_), a7 = FMA(a7, m_, c_);  \
        a8 = FMA(a8, m_, c_), a9 = FMA(a9, m_, c_), a10 = FMA(a10, m_, c_), a11 = FMA(a11, m_, c_); \
    }                                                                                            \
    V s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));                     \
    s = ADD(s, ADD(ADD(a8, a9), ADD(a10, a11)))

#endif /* LMC_KERNELS_SIMD_H */
