/* test_repack.c — Q8_0 and Q4_1 weights interleaved 8 rows at a time (src/tensor/repack.c) and
 * their matmul (AVX-512 VNNI: both; AVX2: Q4_1): every (row, token) result equals, bit for bit, the float
 * chain the layout promises (acc = fma(dx * dy, exact integer dot, acc) over the blocks,
 * written here in scalar C), whatever the batch it comes in and the thread count, so the
 * two kernel families agree bit for bit. On a CPU without AVX2 the repacked path is
 * never used, and this test says so. */
#include "test_util.h"
#include "lmc.h"
#include "../../src/core/threadpool.h"
#include "../../src/tensor/quants.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

static uint64_t g_s = 0x9E3779B97F4A7C15ull;
static float frand(void) {
    g_s ^= g_s << 13, g_s ^= g_s >> 7, g_s ^= g_s << 17;
    return (float)((double)(g_s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* The chain the layout promises, in scalar C: per (row, token),
 * acc = fma(dx * dy, exact integer dot, acc) over the blocks (+ Q4_1's min chain). */
static float ref_dot(lmc_type t, const void *wrow, const void *arow, int64_t nb) {
    float acc = 0, summ = 0;
    for (int64_t i = 0; i < nb; i++) {
        int32_t s = 0;
        float dx, dy;
        if (t == LMC_TYPE_Q8_0) {
            const block_q8_0 *x = (const block_q8_0 *)wrow + i, *y = (const block_q8_0 *)arow + i;
            for (int k = 0; k < 32; k++) s += (int32_t)x->qs[k] * (int32_t)y->qs[k];
            dx = lmc_fp16_to_fp32(x->d), dy = lmc_fp16_to_fp32(y->d);
        } else {
            const block_q4_1 *x = (const block_q4_1 *)wrow + i;
            const block_q8_1 *y = (const block_q8_1 *)arow + i;
            for (int k = 0; k < 16; k++)
                s += (int32_t)(x->qs[k] & 0x0F) * y->qs[k] + (int32_t)(x->qs[k] >> 4) * y->qs[k + 16];
            dx = lmc_fp16_to_fp32(x->d), dy = lmc_fp16_to_fp32(y->d);
            summ = fmaf(lmc_fp16_to_fp32(x->m), lmc_fp16_to_fp32(y->s), summ);
        }
        acc = fmaf(dx * dy, (float)s, acc);
    }
    return acc + summ;
}

static void check_type(lmc_type type, lmc_threadpool *tp) {
    const char *name = lmc_type_name(type);
    /* 31 tokens: a 16-token pass, an 8-token and a 4-token one and a tail of 3 (the 512-bit
     * path; the 256-bit one takes 4 at a time); 40 rows: two pairs of 8-row groups (the
     * 512-bit path) and a last group alone */
    const int64_t n_out = 40, n_in = 160, nb = n_in / 32, n_tok = 31;
    CHECK(lmc_r8_fits(type, n_out, n_in));
    CHECK(!lmc_r8_fits(type, 12, n_in) && !lmc_r8_fits(type, n_out, 48) && !lmc_r8_fits(LMC_TYPE_Q4_K, 256, 256));
    const size_t rb = lmc_type_row_bytes(type, n_in);
    uint8_t *W = malloc(rb * (size_t)n_out);
    float *row = malloc(sizeof(float) * (size_t)n_in), *X = malloc(sizeof(float) * (size_t)(n_tok * n_in));
    for (int64_t r = 0; r < n_out; r++) {
        /* rows of different scales and offsets, one with extremes, one all zero */
        for (int64_t k = 0; k < n_in; k++) row[k] = r == 3 ? 0.0f : frand() * (float)(1 + r % 5) + (float)(r % 3);
        if (r == 5) row[7] = 40.0f, row[8] = -40.0f;
        CHECK_EQ_INT(lmc_quantize_row(type, row, W + (size_t)r * rb, n_in), LMC_OK);
    }
    for (int64_t i = 0; i < n_tok * n_in; i++) X[i] = frand() * 3.0f;
    void *P = aligned_alloc(64, (lmc_r8_bytes(type, n_out, n_in) + 63) & ~(size_t)63);
    lmc_r8_pack(type, W, n_out, n_in, P);

    const lmc_type vdt = lmc_get_type_traits(type)->vec_dot_type;
    const size_t ab = lmc_type_row_bytes(vdt, n_in);
    uint8_t *A = malloc(ab * (size_t)n_tok);
    float *ref = malloc(sizeof(float) * (size_t)(n_tok * n_out));
    for (int64_t t = 0; t < n_tok; t++) {
        lmc_get_act_from_float(vdt)(X + t * n_in, A + (size_t)t * ab, n_in);
        for (int64_t r = 0; r < n_out; r++) ref[t * n_out + r] = ref_dot(type, W + (size_t)r * rb, A + (size_t)t * ab, nb);
    }

    float *Y = malloc(sizeof(float) * (size_t)(n_tok * n_out)), *Y1 = malloc(sizeof(float) * (size_t)n_out);
    for (int pass = 0; pass < 2; pass++) { /* 1 thread, then 2 */
        CHECK_EQ_INT(lmc_matmul_r8(pass ? tp : NULL, type, P, n_out, n_in, X, n_tok, Y), LMC_OK);
        int bad = 0;
        for (int64_t i = 0; i < n_tok * n_out; i++) bad += Y[i] != ref[i];
        CHECK_MSG(bad == 0, "%s: %d of %lld results differ from the scalar chain (%s)", name, bad,
                  (long long)(n_tok * n_out), pass ? "2 threads" : "1 thread");
    }
    /* several matrices over the same activations in one call (q/k/v): each gets what it
     * gets alone; the second is the first 16 rows packed on their own */
    {
        void *P2 = aligned_alloc(64, (lmc_r8_bytes(type, 16, n_in) + 63) & ~(size_t)63);
        lmc_r8_pack(type, W, 16, n_in, P2);
        float *Ya = malloc(sizeof(float) * (size_t)(n_tok * n_out)), *Yb = malloc(sizeof(float) * (size_t)(n_tok * 16));
        const void *Ps[3] = {P, P2, P};
        const int64_t nos[3] = {n_out, 16, n_out};
        float *Ys[3] = {Ya, Yb, Y};
        CHECK_EQ_INT(lmc_matmul_r8_multi(tp, type, 3, Ps, nos, n_in, X, n_tok, Ys), LMC_OK);
        int bad = 0;
        for (int64_t t = 0; t < n_tok; t++)
            for (int64_t r = 0; r < n_out; r++) {
                bad += Ya[t * n_out + r] != ref[t * n_out + r] || Y[t * n_out + r] != ref[t * n_out + r];
                if (r < 16) bad += Yb[t * 16 + r] != ref[t * n_out + r];
            }
        CHECK_MSG(bad == 0, "%s: %d results of a 3-matrix call differ from the scalar chain", name, bad);
        CHECK(lmc_matmul_r8_multi(tp, type, 5, Ps, nos, n_in, X, n_tok, Ys) != LMC_OK);
        free(P2), free(Ya), free(Yb);
    }
    /* each token alone: the same bits as in the batch */
    for (int64_t t = 0; t < n_tok; t++) {
        CHECK_EQ_INT(lmc_matmul_r8(NULL, type, P, n_out, n_in, X + t * n_in, 1, Y1), LMC_OK);
        for (int64_t r = 0; r < n_out; r++)
            CHECK_MSG(Y1[r] == ref[t * n_out + r], "%s: token %lld row %lld alone %.9g, in the batch %.9g", name,
                      (long long)t, (long long)r, Y1[r], ref[t * n_out + r]);
    }
    /* every row read back from the packed copy: the values of the row-major dequantizer */
    float *deq = malloc(sizeof(float) * (size_t)n_in), *got = malloc(sizeof(float) * (size_t)n_in);
    int64_t bad_rows = 0;
    for (int64_t r = 0; r < n_out; r++) {
        CHECK_EQ_INT(lmc_dequantize_row(type, W + (size_t)r * rb, deq, n_in), LMC_OK);
        lmc_r8_get_row(type, P, n_in, r, got);
        for (int64_t k = 0; k < n_in; k++)
            if (got[k] != deq[k]) {
                bad_rows++;
                break;
            }
    }
    CHECK_MSG(bad_rows == 0, "%s: %lld rows read from the packed copy differ from the file's", name, (long long)bad_rows);
    free(deq), free(got);
    /* and close to the row-major kernels (another float order) */
    CHECK_EQ_INT(lmc_matmul(NULL, type, W, n_out, n_in, X, n_tok, Y), LMC_OK);
    double worst = 0, big = 0; /* relative to the largest result: single results can cancel to ~0 */
    for (int64_t i = 0; i < n_tok * n_out; i++) worst = fmax(worst, fabs((double)Y[i] - ref[i])), big = fmax(big, fabs(ref[i]));
    worst /= big;
    CHECK_MSG(worst < 1e-6, "%s repacked vs row-major: difference %.3g of the largest result", name, worst);
    CHECK(lmc_matmul_r8(NULL, type, P, 12, n_in, X, 1, Y1) != LMC_OK);
    printf("repacked %s: %lld x %lld, %lld tokens: bit-identical to the scalar chain at 1 and 2 threads, per "
           "token and in a 3-matrix call; rows read back as dequantized; row-major kernels within %.2g of the largest result\n",
           name, (long long)n_out, (long long)n_in, (long long)n_tok, worst);
    free(W), free(row), free(X), free(P), free(A), free(ref), free(Y), free(Y1);
}

int main(void) {
    /* AVX-512 VNNI and AVX2 repack both types (test_repack_avx2 runs this with LMC_KERNELS=avx2) */
    const bool q8 = lmc_r8_available(LMC_TYPE_Q8_0), q41 = lmc_r8_available(LMC_TYPE_Q4_1);
    if (!q41) {
        printf("no repacked kernels here (kernels %s): the repacked path is not used\n", lmc_kernels_isa());
        CHECK(!q8);
        return t_done("test_repack");
    }
    CHECK(q8); /* both types wherever there are repacked kernels */
    CHECK(!lmc_r8_available(LMC_TYPE_Q4_0) && !lmc_r8_available(LMC_TYPE_F16));
    lmc_threadpool *tp = lmc_threadpool_init(2);
    check_type(LMC_TYPE_Q8_0, tp);
    check_type(LMC_TYPE_Q4_1, tp);
    lmc_threadpool_free(tp);
    return t_done("test_repack");
}
