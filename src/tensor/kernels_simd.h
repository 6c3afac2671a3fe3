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
lmc_vec_dot_fn lmc_vec_dot_avx512(lmc_type t);
lmc_vec_dot4_fn lmc_vec_dot4_avx512(lmc_type t);
lmc_gemm_tile_fn lmc_gemm_tile_avx512(lmc_type t);
/* Repacked Q8_0 (repack.c) x Q8_0 activations: groups [g0, g1) of 8 rows, all n_tok
 * tokens; ysum[t * (n_in / 32) + i] = the sum of activation block i of token t. */
void lmc_q8_0_r8_gemm_avx512(int64_t n_in, int64_t g0, int64_t g1, int64_t n_tok, const void *P, const void *A,
                             size_t a_row, const int32_t *ysum, float *Y, int64_t ldy);
/* Repacked Q4_1 x Q8_1 activations, same arguments (no sums needed). */
void lmc_q4_1_r8_gemm_avx512(int64_t n_in, int64_t g0, int64_t g1, int64_t n_tok, const void *P, const void *A,
                             size_t a_row, float *Y, int64_t ldy);
/* iters rounds of 12 independent 8-/16-lane FMAs (for the FP32 peak benchmark);
 * returns the flops done and writes a sum to *sink so nothing is optimised away. */
double lmc_fma_burn_avx2(int64_t iters, float *sink);
double lmc_fma_burn_avx512(int64_t iters, float *sink);
#endif

#endif /* LMC_KERNELS_SIMD_H */
