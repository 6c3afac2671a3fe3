/* traits.c — the kernel traits table (to_float, from_float, vec_dot, vec_dot_type per
 * tensor type), run-time choice of SIMD kernels, and the public row converters
 * lmc_dequantize_row / lmc_quantize_row. */
#include "quants.h"
#include "kernels_simd.h"

#include <stdlib.h>

static const lmc_type_traits g_traits[LMC_TYPE_COUNT] = {
    [LMC_TYPE_F32] = {lmc_to_float_f32, lmc_from_float_f32, lmc_from_float_f32, vec_dot_f32_ref,
                      LMC_TYPE_F32},
    [LMC_TYPE_F16] = {lmc_to_float_f16, lmc_from_float_f16, lmc_from_float_f16, vec_dot_f16_ref,
                      LMC_TYPE_F16},
    [LMC_TYPE_BF16] = {lmc_to_float_bf16, lmc_from_float_bf16, lmc_from_float_bf16,
                       vec_dot_bf16_ref, LMC_TYPE_BF16},
    [LMC_TYPE_Q4_0] = {dequantize_row_q4_0_ref, quantize_row_q4_0_ref, quantize_row_q4_0_ref,
                       vec_dot_q4_0_q8_0_ref, LMC_TYPE_Q8_0},
    [LMC_TYPE_Q4_1] = {dequantize_row_q4_1_ref, quantize_row_q4_1_ref, quantize_row_q4_1_ref,
                       vec_dot_q4_1_q8_1_ref, LMC_TYPE_Q8_1},
    [LMC_TYPE_Q5_0] = {dequantize_row_q5_0_ref, quantize_row_q5_0_ref, quantize_row_q5_0_ref,
                       vec_dot_q5_0_q8_0_ref, LMC_TYPE_Q8_0},
    [LMC_TYPE_Q5_1] = {dequantize_row_q5_1_ref, quantize_row_q5_1_ref, quantize_row_q5_1_ref,
                       vec_dot_q5_1_q8_1_ref, LMC_TYPE_Q8_1},
    [LMC_TYPE_Q8_0] = {dequantize_row_q8_0_ref, quantize_row_q8_0_ref, quantize_row_q8_0_act,
                       vec_dot_q8_0_q8_0_ref, LMC_TYPE_Q8_0},
    [LMC_TYPE_Q8_1] = {dequantize_row_q8_1_ref, quantize_row_q8_1_ref, quantize_row_q8_1_act, NULL,
                       LMC_TYPE_Q8_1},
    [LMC_TYPE_Q2_K] = {dequantize_row_q2_K_ref, quantize_row_q2_K_ref, NULL,
                       vec_dot_q2_K_q8_K_ref, LMC_TYPE_Q8_K},
    [LMC_TYPE_Q3_K] = {dequantize_row_q3_K_ref, quantize_row_q3_K_ref, NULL,
                       vec_dot_q3_K_q8_K_ref, LMC_TYPE_Q8_K},
    [LMC_TYPE_Q4_K] = {dequantize_row_q4_K_ref, quantize_row_q4_K_ref, NULL,
                       vec_dot_q4_K_q8_K_ref, LMC_TYPE_Q8_K},
    [LMC_TYPE_Q5_K] = {dequantize_row_q5_K_ref, quantize_row_q5_K_ref, NULL,
                       vec_dot_q5_K_q8_K_ref, LMC_TYPE_Q8_K},
    [LMC_TYPE_Q6_K] = {dequantize_row_q6_K_ref, quantize_row_q6_K_ref, NULL,
                       vec_dot_q6_K_q8_K_ref, LMC_TYPE_Q8_K},
    [LMC_TYPE_Q8_K] = {dequantize_row_q8_K_ref, quantize_row_q8_K_ref, quantize_row_q8_K_ref, NULL,
                       LMC_TYPE_Q8_K},
};

const lmc_type_traits *lmc_get_type_traits(lmc_type t) {
    if ((unsigned)t >= LMC_TYPE_COUNT || g_traits[t].to_float == NULL) return NULL;
    return &g_traits[t];
}

/* ---- run-time kernel choice ----------------------------------------------------- */

enum { ISA_AUTO = 0, ISA_SCALAR = 1, ISA_AVX2 = 2, ISA_AVX512 = 3 };

static int g_isa = -1; /* resolved ISA; -1 until first use */

static bool isa_available(int isa) {
    if (isa == ISA_SCALAR) return true;
#ifndef LMC_SCALAR_ONLY
    __builtin_cpu_init();
    /* every AVX2 CPU also has F16C (and clang 14 cannot test "f16c" here) */
    bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (isa == ISA_AVX2) return avx2;
    if (isa == ISA_AVX512)
        return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vnni");
#endif
    return false;
}

static int resolve_isa(void) {
    int isa = __atomic_load_n(&g_isa, __ATOMIC_ACQUIRE);
    if (isa >= 0) return isa;
    isa = isa_available(ISA_AVX512) ? ISA_AVX512 : isa_available(ISA_AVX2) ? ISA_AVX2 : ISA_SCALAR;
    const char *want = getenv("LMC_KERNELS"); /* a lower family on request, for comparisons */
    if (want) {
        int w = strcmp(want, "scalar") == 0 ? ISA_SCALAR : strcmp(want, "avx2") == 0 ? ISA_AVX2
              : strcmp(want, "avx512") == 0 ? ISA_AVX512 : -1;
        if (w > 0 && isa_available(w)) isa = w;
    }
    __atomic_store_n(&g_isa, isa, __ATOMIC_RELEASE);
    return isa;
}

bool lmc_kernels_force_isa(int isa) {
    if (isa == ISA_AUTO) {
        __atomic_store_n(&g_isa, -1, __ATOMIC_RELEASE);
        resolve_isa();
        return true;
    }
    if (!isa_available(isa)) return false;
    __atomic_store_n(&g_isa, isa, __ATOMIC_RELEASE);
    return true;
}

const char *lmc_kernels_isa(void) {
    switch (resolve_isa()) {
    case ISA_AVX512: return "avx512";
    case ISA_AVX2: return "avx2";
    default: return "scalar";
    }
}

lmc_vec_dot_fn lmc_get_vec_dot(lmc_type t) {
    const lmc_type_traits *tr = lmc_get_type_traits(t);
    if (!tr) return NULL;
#ifndef LMC_SCALAR_ONLY
    int isa = resolve_isa();
    lmc_vec_dot_fn f = NULL;
    if (isa == ISA_AVX512) f = lmc_vec_dot_avx512(t);
    if (!f && isa >= ISA_AVX2) f = lmc_vec_dot_avx2(t);
    if (f) return f;
#endif
    return tr->vec_dot;
}

lmc_vec_dot4_fn lmc_get_vec_dot4(lmc_type t) {
#ifndef LMC_SCALAR_ONLY
    int isa = resolve_isa();
    /* the 4-token kernel must match the 1-token one in use: take both from one family */
    if (isa == ISA_AVX512 && lmc_vec_dot_avx512(t)) return lmc_vec_dot4_avx512(t);
    if (isa >= ISA_AVX2) return lmc_vec_dot4_avx2(t);
#endif
    (void)t;
    return NULL;
}

lmc_gemm_tile_fn lmc_get_gemm_tile(lmc_type t) {
#ifndef LMC_SCALAR_ONLY
    int isa = resolve_isa();
    /* a tile must match the 1-token dot in use: take both from one family */
    if (isa == ISA_AVX512 && lmc_vec_dot_avx512(t)) return lmc_gemm_tile_avx512(t);
    if (isa >= ISA_AVX2) return lmc_gemm_tile_avx2(t);
#endif
    (void)t;
    return NULL;
}

lmc_from_float_fn lmc_get_act_from_float(lmc_type vdt) {
    const lmc_type_traits *tr = lmc_get_type_traits(vdt);
    if (!tr) return NULL;
#ifndef LMC_SCALAR_ONLY
    int isa = resolve_isa();
    lmc_from_float_fn f = NULL;
    if (isa == ISA_AVX512) f = lmc_act_from_float_avx512(vdt);
    if (!f && isa >= ISA_AVX2) f = lmc_act_from_float_avx2(vdt);
    if (f) return f;
#endif
    return tr->act_from_float;
}

/* ---- public row converters -------------------------------------------------------- */

int lmc_dequantize_row(lmc_type t, const void *src, float *dst, int64_t n) {
    const lmc_type_traits *tr = lmc_get_type_traits(t);
    if (!tr)
        return lmc_set_error(LMC_ERR_UNSUPPORTED, "dequantize: no kernel for type %s (%d)",
                             lmc_type_name(t) ? lmc_type_name(t) : "?", (int)t);
    if (!src || !dst || n < 0 || n % lmc_type_block_size(t) != 0)
        return lmc_set_error(LMC_ERR_INVALID_ARG,
                             "dequantize %s: %lld elements is not a multiple of the block size %lld",
                             lmc_type_name(t), (long long)n, (long long)lmc_type_block_size(t));
    tr->to_float(src, dst, n);
    return LMC_OK;
}

int lmc_quantize_row(lmc_type t, const float *src, void *dst, int64_t n) {
    const lmc_type_traits *tr = lmc_get_type_traits(t);
    if (!tr || !tr->from_float)
        return lmc_set_error(LMC_ERR_UNSUPPORTED, "quantize: cannot quantize to type %s (%d)",
                             lmc_type_name(t) ? lmc_type_name(t) : "?", (int)t);
    if (!src || !dst || n < 0 || n % lmc_type_block_size(t) != 0)
        return lmc_set_error(LMC_ERR_INVALID_ARG,
                             "quantize %s: %lld elements is not a multiple of the block size %lld",
                             lmc_type_name(t), (long long)n, (long long)lmc_type_block_size(t));
    tr->from_float(src, dst, n);
    return LMC_OK;
}
