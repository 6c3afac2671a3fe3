/* matmul.c — Y = X . W^T with weights of any supported type, split across a thread pool.
 *
 * Legend: O = n_out (weight rows), I = n_in (row length), T = n_tok (activation rows).
 *   W: (O, I) of type wt        X: (T, I) f32        Y: (T, O) f32
 *
 * As in llama.cpp's CPU backend, X is first converted to the weight type's
 * vec_dot_type (F32 -> F32, F16 -> F16, BF16 -> BF16, Q4_0/Q5_0/Q8_0 -> Q8_0,
 * Q4_1/Q5_1 -> Q8_1, K-quants -> Q8_K), then every output is one dot product of a
 * weight row with a converted activation row. Threads split the weight rows, so each
 * streams its share of W once; tokens are walked inside a tile of rows to reuse it
 * from cache. */
#include "kernels_simd.h"
#include "quants.h"
#include "threadpool.h"

#include <stdlib.h>

#define ROW_TILE 16 /* weight rows per tile, reused across all tokens */

typedef struct {
    /* conversion X -> A */
    lmc_from_float_fn conv;
    const float *X;
    char *A;
    size_t a_row;   /* bytes of a converted activation row */
    /* dot products */
    lmc_vec_dot_fn dot;
    lmc_vec_dot4_fn dot4; /* NULL: token by token */
    lmc_gemm_tile_fn tile; /* register-blocked kernel for a whole row tile, or NULL */
    const char *W;
    size_t w_row;   /* bytes of a weight row */
    int64_t n_out, n_in, n_tok;
    float *Y;
} mm_task;

static void convert_task(void *p, int ith, int nth) {
    const mm_task *t = p;
    int64_t t0 = t->n_tok * ith / nth, t1 = t->n_tok * (ith + 1) / nth;
    for (int64_t i = t0; i < t1; i++) t->conv(t->X + i * t->n_in, t->A + (size_t)i * t->a_row, t->n_in);
}

static void dot_task(void *p, int ith, int nth) {
    const mm_task *t = p;
    /* split rows in whole tiles where possible so threads do not share cache lines of Y */
    int64_t n_tiles = (t->n_out + ROW_TILE - 1) / ROW_TILE;
    int64_t r0 = n_tiles * ith / nth * ROW_TILE, r1 = n_tiles * (ith + 1) / nth * ROW_TILE;
    if (r1 > t->n_out) r1 = t->n_out;
    for (int64_t rb = r0; rb < r1; rb += ROW_TILE) {
        int64_t re = rb + ROW_TILE < r1 ? rb + ROW_TILE : r1;
        if (t->tile) {
            t->tile(t->n_in, re - rb, t->n_tok, t->W + (size_t)rb * t->w_row, t->w_row, t->A, t->a_row,
                    t->Y + rb, t->n_out);
            continue;
        }
        int64_t k = 0;
        if (t->dot4) {
            /* 4 tokens at a time: each weight block is decoded once for all four */
            for (; k + 4 <= t->n_tok; k += 4) {
                const char *a = t->A + (size_t)k * t->a_row;
                for (int64_t r = rb; r < re; r++) {
                    float s4[4];
                    t->dot4(t->n_in, s4, t->W + (size_t)r * t->w_row, a, t->a_row);
                    for (int j = 0; j < 4; j++) t->Y[(k + j) * t->n_out + r] = s4[j];
                }
            }
        }
        for (; k < t->n_tok; k++) {
            const char *a = t->A + (size_t)k * t->a_row;
            float *y = t->Y + k * t->n_out;
            for (int64_t r = rb; r < re; r++) t->dot(t->n_in, &y[r], t->W + (size_t)r * t->w_row, a);
        }
    }
}

static int matmul(lmc_threadpool *tp, lmc_type wt, const void *W, int64_t n_out, int64_t n_in,
                  const float *X, int64_t n_tok, float *Y, bool gemm) {
    const lmc_type_traits *tr = lmc_get_type_traits(wt);
    if (!tr || !tr->vec_dot)
        return lmc_set_error(LMC_ERR_UNSUPPORTED, "matmul: no kernel for weight type %s (%d)",
                             lmc_type_name(wt) ? lmc_type_name(wt) : "?", (int)wt);
    if (!W || !X || !Y || n_out < 0 || n_in <= 0 || n_tok < 0)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "matmul: bad arguments (n_out %lld, n_in %lld, n_tok %lld)",
                             (long long)n_out, (long long)n_in, (long long)n_tok);
    const lmc_type vdt = tr->vec_dot_type;
    if (n_in % lmc_type_block_size(wt) != 0 || n_in % lmc_type_block_size(vdt) != 0)
        return lmc_set_error(LMC_ERR_INVALID_ARG,
                             "matmul: row length %lld is not a multiple of the %s block size %lld",
                             (long long)n_in, lmc_type_name(wt),
                             (long long)LMC_MAX(lmc_type_block_size(wt), lmc_type_block_size(vdt)));
    if (n_out == 0 || n_tok == 0) return LMC_OK;

    mm_task t = {
        .conv = lmc_get_act_from_float(vdt),
        .X = X,
        .a_row = lmc_type_row_bytes(vdt, n_in),
        .dot = lmc_get_vec_dot(wt),
        .dot4 = lmc_get_vec_dot4(wt),
        .tile = lmc_get_gemm_tile(wt),
        .W = W,
        .w_row = lmc_type_row_bytes(wt, n_in),
        .n_out = n_out,
        .n_in = n_in,
        .n_tok = n_tok,
        .Y = Y,
    };

#ifndef LMC_SCALAR_ONLY
    /* llama.cpp multiplies a dense F16 weight by >= 2 tokens with tinyBLAS, whose sum
     * order differs from its vec_dot's; F16 activations make that difference visible */
    lmc_vec_dot_fn gdot = gemm && n_tok >= 2 && n_in % 16 == 0 && strcmp(lmc_kernels_isa(), "scalar") != 0
                              ? lmc_vec_dot_gemm_avx2(wt) : NULL;
    if (gdot) { t.dot = gdot; t.dot4 = NULL; t.tile = NULL; }
#else
    (void)gemm;
#endif
    void *owned = NULL;
    if (vdt == LMC_TYPE_F32) {
        t.A = (char *)X; /* used as is */
    } else {
        size_t bytes = t.a_row * (size_t)n_tok;
        t.A = tp ? lmc_threadpool_scratch(tp, bytes) : (owned = malloc(bytes));
        if (!t.A) return lmc_set_error(LMC_ERR_NOMEM, "matmul: cannot allocate %zu bytes", bytes);
        /* converting one row is cheap next to waking the workers for it */
        if (tp && n_tok > 1) lmc_threadpool_run(tp, convert_task, &t);
        else convert_task(&t, 0, 1);
    }
    lmc_threadpool_run(tp, dot_task, &t);
    free(owned);
    return LMC_OK;
}

int lmc_matmul(lmc_threadpool *tp, lmc_type wt, const void *W, int64_t n_out, int64_t n_in,
               const float *X, int64_t n_tok, float *Y) {
    return matmul(tp, wt, W, n_out, n_in, X, n_tok, Y, false);
}

int lmc_matmul_dense(lmc_threadpool *tp, lmc_type wt, const void *W, int64_t n_out, int64_t n_in,
                     const float *X, int64_t n_tok, float *Y) {
    return matmul(tp, wt, W, n_out, n_in, X, n_tok, Y, true);
}

/* ---- repacked weights (repack.c) -------------------------------------------------------- */

#define R8_MAX_MATS 4

/* up to R8_MAX_MATS matrices of one type and width over the same activations */
typedef struct {
    lmc_type type;
    const float *X;
    char *A;
    int32_t *ysum; /* Q8_0: per token and block, the sum of the activation quants */
    float *yd, *ys; /* per token and block, the scale d (and Q8_1's s) as floats */
    size_t a_row;
    int n_mat;
    const void *P[R8_MAX_MATS];
    int64_t n_out[R8_MAX_MATS];
    float *Y[R8_MAX_MATS];
    int64_t n_in, n_tok;
    lmc_from_float_fn conv;
    bool avx512; /* the kernel family in force (AVX-512 VNNI, or AVX2) */
} r8_task;

static void r8_convert_task(void *p, int ith, int nth) {
    const r8_task *t = p;
    const int64_t nb = t->n_in / 32;
    int64_t t0 = t->n_tok * ith / nth, t1 = t->n_tok * (ith + 1) / nth;
    for (int64_t i = t0; i < t1; i++) {
        t->conv(t->X + i * t->n_in, t->A + (size_t)i * t->a_row, t->n_in);
        if (t->type == LMC_TYPE_Q4_1) {
            const block_q8_1 *y = (const block_q8_1 *)(t->A + (size_t)i * t->a_row);
            for (int64_t b = 0; b < nb; b++) {
                t->yd[i * nb + b] = LMC_FP16_TO_FP32(y[b].d);
                t->ys[i * nb + b] = LMC_FP16_TO_FP32(y[b].s);
            }
            continue;
        }
        const block_q8_0 *y = (const block_q8_0 *)(t->A + (size_t)i * t->a_row);
        for (int64_t b = 0; b < nb; b++) {
            int32_t s = 0;
            for (int k = 0; k < 32; k++) s += y[b].qs[k];
            t->ysum[i * nb + b] = s;
            t->yd[i * nb + b] = LMC_FP16_TO_FP32(y[b].d);
        }
    }
}

static void r8_dot_task(void *p, int ith, int nth) {
    const r8_task *t = p;
#ifdef LMC_SCALAR_ONLY
    (void)t, (void)ith, (void)nth; /* never called: a scalar-only build repacks nothing */
#else
    /* the matrices' 8-row groups as one range, split evenly over the threads */
    int64_t ng = 0;
    for (int k = 0; k < t->n_mat; k++) ng += t->n_out[k] / 8;
    const int64_t a0 = ng * ith / nth, a1 = ng * (ith + 1) / nth;
    int64_t base = 0;
    for (int k = 0; k < t->n_mat; base += t->n_out[k] / 8, k++) {
        const int64_t g0 = LMC_MAX(a0 - base, (int64_t)0), g1 = LMC_MIN(a1 - base, t->n_out[k] / 8);
        if (g1 <= g0) continue;
        if (t->type == LMC_TYPE_Q8_0 && t->avx512)
            lmc_q8_0_r8_gemm_avx512(t->n_in, g0, g1, t->n_tok, t->P[k], t->A, t->a_row, t->ysum, t->yd, t->Y[k],
                                    t->n_out[k]);
        else if (t->type == LMC_TYPE_Q8_0)
            lmc_q8_0_r8_gemm_avx2(t->n_in, g0, g1, t->n_tok, t->P[k], t->A, t->a_row, t->yd, t->Y[k], t->n_out[k]);
        else if (t->avx512)
            lmc_q4_1_r8_gemm_avx512(t->n_in, g0, g1, t->n_tok, t->P[k], t->A, t->a_row, t->yd, t->ys, t->Y[k],
                                    t->n_out[k]);
        else
            lmc_q4_1_r8_gemm_avx2(t->n_in, g0, g1, t->n_tok, t->P[k], t->A, t->a_row, t->yd, t->ys, t->Y[k],
                                  t->n_out[k]);
    }
#endif
}

int lmc_matmul_r8_multi(lmc_threadpool *tp, lmc_type type, int n_mat, const void *const *P, const int64_t *n_out,
                        int64_t n_in, const float *X, int64_t n_tok, float *const *Y) {
    if (n_mat < 1 || n_mat > R8_MAX_MATS || !X || n_tok < 0)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "matmul (repacked): bad arguments (%d matrices)", n_mat);
    for (int k = 0; k < n_mat; k++)
        if (!P[k] || !Y[k] || !lmc_r8_fits(type, n_out[k], n_in))
            return lmc_set_error(LMC_ERR_INVALID_ARG, "matmul (repacked %s): bad arguments (n_out %lld, n_in %lld)",
                                 lmc_type_name(type) ? lmc_type_name(type) : "?", (long long)n_out[k], (long long)n_in);
    if (!lmc_r8_available(type))
        return lmc_set_error(LMC_ERR_UNSUPPORTED, "matmul (repacked %s): needs AVX2 or AVX-512 VNNI",
                             lmc_type_name(type));
    if (n_tok == 0) return LMC_OK;
    const lmc_type vdt = lmc_get_type_traits(type)->vec_dot_type;
    r8_task t = {.type = type, .X = X, .a_row = lmc_type_row_bytes(vdt, n_in), .n_mat = n_mat, .n_in = n_in,
                 .n_tok = n_tok, .conv = lmc_get_act_from_float(vdt),
                 .avx512 = strcmp(lmc_kernels_isa(), "avx512") == 0};
    for (int k = 0; k < n_mat; k++) t.P[k] = P[k], t.n_out[k] = n_out[k], t.Y[k] = Y[k];
    const size_t a_bytes = (t.a_row * (size_t)n_tok + 63) & ~(size_t)63;
    /* after the quants: Q8_0's ysum and yd, or Q4_1's yd and ys (4 bytes per token and block each) */
    const size_t s_bytes = 2 * sizeof(float) * (size_t)n_tok * (size_t)(n_in / 32);
    void *owned = NULL;
    t.A = tp ? lmc_threadpool_scratch(tp, a_bytes + s_bytes) : (owned = malloc(a_bytes + s_bytes));
    if (!t.A) return lmc_set_error(LMC_ERR_NOMEM, "matmul: cannot allocate %zu bytes", a_bytes + s_bytes);
    float *side = (float *)(t.A + a_bytes);
    const size_t n_side = (size_t)n_tok * (size_t)(n_in / 32);
    if (type == LMC_TYPE_Q8_0) {
        t.ysum = (int32_t *)side;
        t.yd = side + n_side;
    } else {
        t.yd = side;
        t.ys = side + n_side;
    }
    /* the activations are quantized once for all the matrices */
    if (tp && n_tok > 1) lmc_threadpool_run(tp, r8_convert_task, &t);
    else r8_convert_task(&t, 0, 1);
    if (tp) lmc_threadpool_run(tp, r8_dot_task, &t);
    else r8_dot_task(&t, 0, 1);
    free(owned);
    return LMC_OK;
}

int lmc_matmul_r8(lmc_threadpool *tp, lmc_type type, const void *P, int64_t n_out, int64_t n_in, const float *X,
                  int64_t n_tok, float *Y) {
    return lmc_matmul_r8_multi(tp, type, 1, &P, &n_out, n_in, X, n_tok, &Y);
}
