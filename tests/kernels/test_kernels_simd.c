/* test_kernels_simd.c — every SIMD kernel (AVX2, AVX-512 where the CPU has it) against
 * the scalar reference (*_ref), on random and adversarial inputs.
 *
 *   integer paths: blocks whose scales are 1 and whose quants are small, so every
 *                  partial sum is an exact integer in float: results must be identical
 *   float paths:   |simd - ref| <= 2e-6 * sum|x_i * y_i| (+ 1e-30), i.e. float32
 *                  accumulation error for these lengths; non-finite results must agree
 *                  in being non-finite
 *   adversarial:   zero scales, subnormal and huge values, +-inf blocks, NaN-free
 *                  odd lengths 1..67 for the float types
 *   activation quantizers (Q8_0, Q8_1, Q8_K, F16): byte-identical to the scalar ones
 *   4-token kernels and register-blocked tiles: bit-identical to the 1-token kernel of
 *   the same family. */
#include "test_util.h"
#include "lmc.h"
#include "../../src/tensor/quants.h"

static uint64_t g_rng = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}
static float frand(void) { return (float)((double)(rnd() >> 11) / 9007199254740992.0 * 2.0 - 1.0); }

static const lmc_type k_types[] = {LMC_TYPE_F32,  LMC_TYPE_F16,  LMC_TYPE_BF16, LMC_TYPE_Q4_0,
                                   LMC_TYPE_Q4_1, LMC_TYPE_Q5_0, LMC_TYPE_Q5_1, LMC_TYPE_Q8_0,
                                   LMC_TYPE_Q2_K, LMC_TYPE_Q3_K, LMC_TYPE_Q4_K, LMC_TYPE_Q5_K,
                                   LMC_TYPE_Q6_K};
#define N_TYPES (int)(sizeof k_types / sizeof k_types[0])

static bool is_float_type(lmc_type t) {
    return t == LMC_TYPE_F32 || t == LMC_TYPE_F16 || t == LMC_TYPE_BF16;
}

/* Where the scale fields of a block are (d, and m/dmin or -1). */
static void scale_offsets(lmc_type t, int *od, int *om) {
    *om = -1;
    switch (t) {
    case LMC_TYPE_Q4_0: *od = 0; break;
    case LMC_TYPE_Q5_0: *od = 0; break;
    case LMC_TYPE_Q8_0: *od = 0; break;
    case LMC_TYPE_Q4_1: *od = 0, *om = 2; break;
    case LMC_TYPE_Q5_1: *od = 0, *om = 2; break;
    case LMC_TYPE_Q2_K: *od = 80, *om = 82; break;
    case LMC_TYPE_Q3_K: *od = 108; break;
    case LMC_TYPE_Q4_K: *od = 0, *om = 2; break;
    case LMC_TYPE_Q5_K: *od = 0, *om = 2; break;
    case LMC_TYPE_Q6_K: *od = 208; break;
    default: *od = -1;
    }
}

enum { W_RANDOM, W_UNIT, W_ZERO_SCALE, W_INF_SCALE };

/* Weight row of n elements: random quant bits, scales by mode. For W_UNIT the quants
 * are small (and the K-quant sub-scales too) so integer sums stay exact in float. */
static void make_weights(lmc_type t, uint8_t *w, int64_t n, int mode) {
    size_t rb = lmc_type_row_bytes(t, n), bb = lmc_type_block_bytes(t);
    for (size_t i = 0; i < rb; i++) w[i] = (uint8_t)rnd();
    if (is_float_type(t)) {
        float *x = malloc(sizeof(float) * (size_t)n);
        for (int64_t i = 0; i < n; i++) {
            x[i] = mode == W_UNIT ? (float)((int)(rnd() % 7) - 3) : frand();
            if (mode == W_ZERO_SCALE && i % 5 == 0) x[i] = 1e-40f; /* subnormal */
            if (mode == W_INF_SCALE && i == n / 2) x[i] = INFINITY;
        }
        lmc_get_type_traits(t)->from_float(x, w, n);
        free(x);
        return;
    }
    int od, om;
    scale_offsets(t, &od, &om);
    for (size_t b = 0; b < rb / bb; b++) {
        uint8_t *blk = w + b * bb;
        lmc_fp16 d = lmc_fp32_to_fp16(0.001f + 0.05f * (float)(rnd() % 1000) / 1000.0f);
        lmc_fp16 m = lmc_fp32_to_fp16(0.01f * (float)(rnd() % 1000) / 1000.0f);
        if (mode == W_UNIT) d = m = 0x3C00; /* 1.0 */
        if (mode == W_ZERO_SCALE && b % 2 == 0) d = m = 0;
        if (mode == W_INF_SCALE && b == 0) d = 0x7C00;
        memcpy(blk + od, &d, 2);
        if (om >= 0) memcpy(blk + om, &m, 2);
        if (mode == W_UNIT) {
            /* keep K-quant sub-scales small: scales bytes masked to a few bits */
            if (t == LMC_TYPE_Q4_K || t == LMC_TYPE_Q5_K)
                for (int k = 0; k < 12; k++) blk[4 + k] &= 0x33;
            if (t == LMC_TYPE_Q6_K)
                for (int k = 0; k < 16; k++) blk[192 + k] = (uint8_t)((int)(rnd() % 9) - 4);
        }
    }
}

/* Activation row in vec_dot_type. */
static void make_act(lmc_type vdt, uint8_t *a, int64_t n, int mode) {
    float *x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        x[i] = frand() * 4.0f;
        if (mode == W_ZERO_SCALE && (i / 32) % 3 == 1) x[i] = 0;        /* zero blocks */
        if (mode == W_ZERO_SCALE && (i / 32) % 3 == 2) x[i] *= 1e-39f;  /* subnormal */
    }
    lmc_get_type_traits(vdt)->act_from_float(x, a, n);
    if (mode == W_UNIT && !is_float_type(vdt)) {
        /* rebuild as unit-scale small integers */
        for (int64_t i = 0; i < n; i++) x[i] = (float)((int)(rnd() % 7) - 3);
        if (vdt == LMC_TYPE_Q8_K) {
            block_q8_K *y = (block_q8_K *)a;
            for (int64_t b = 0; b < n / QK_K; b++) {
                y[b].d = 1.0f;
                for (int j = 0; j < QK_K; j++) y[b].qs[j] = (int8_t)x[b * QK_K + j];
                for (int j = 0; j < 16; j++) {
                    int s = 0;
                    for (int l = 0; l < 16; l++) s += y[b].qs[16 * j + l];
                    y[b].bsums[j] = (int16_t)s;
                }
            }
        } else if (vdt == LMC_TYPE_Q8_0) {
            block_q8_0 *y = (block_q8_0 *)a;
            for (int64_t b = 0; b < n / 32; b++) {
                y[b].d = 0x3C00;
                for (int j = 0; j < 32; j++) y[b].qs[j] = (int8_t)x[b * 32 + j];
            }
        } else if (vdt == LMC_TYPE_Q8_1) {
            block_q8_1 *y = (block_q8_1 *)a;
            for (int64_t b = 0; b < n / 32; b++) {
                int s = 0;
                y[b].d = 0x3C00;
                for (int j = 0; j < 32; j++) s += y[b].qs[j] = (int8_t)x[b * 32 + j];
                y[b].s = lmc_fp32_to_fp16((float)s);
            }
        }
    } else if (mode == W_UNIT) {
        for (int64_t i = 0; i < n; i++) x[i] = (float)((int)(rnd() % 7) - 3);
        lmc_get_type_traits(vdt)->act_from_float(x, a, n);
    }
    free(x);
}

/* sum |x_i * y_i| in double, from the dequantized rows. */
static double magnitude(lmc_type t, lmc_type vdt, const void *w, const void *a, int64_t n) {
    float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n);
    lmc_dequantize_row(t, w, x, n);
    lmc_dequantize_row(vdt, a, y, n);
    double m = 0;
    for (int64_t i = 0; i < n; i++) m += fabs((double)x[i] * (double)y[i]);
    free(x), free(y);
    return m;
}

static int g_isa_checked = 0;

static void test_isa(int isa, const char *name) {
    if (!lmc_kernels_force_isa(isa)) {
        printf("%s: not available on this CPU/build, skipped\n", name);
        return;
    }
    g_isa_checked++;
    for (int ti = 0; ti < N_TYPES; ti++) {
        lmc_type t = k_types[ti];
        const lmc_type_traits *tr = lmc_get_type_traits(t);
        lmc_type vdt = tr->vec_dot_type;
        lmc_vec_dot_fn simd = lmc_get_vec_dot(t), ref = tr->vec_dot;
        CHECK(simd != NULL);
        if (simd == ref) printf("%s: %s has no SIMD kernel (uses the scalar one)\n", name, lmc_type_name(t));
        int64_t bs = LMC_MAX(lmc_type_block_size(t), lmc_type_block_size(vdt));
        int64_t lens[8] = {bs, 2 * bs, 7 * bs, 16 * bs, 0, 0, 0, 0};
        int n_lens = 4;
        if (bs == 1) { /* odd lengths for the float types */
            int64_t odd[] = {1, 7, 31, 33, 67, 4096};
            for (int k = 0; k < 6; k++) lens[k] = odd[k];
            n_lens = 6;
        }
        int n_bad = 0;
        for (int li = 0; li < n_lens; li++) {
            int64_t n = lens[li];
            uint8_t *w = malloc(lmc_type_row_bytes(t, n) + 64), *a = malloc(lmc_type_row_bytes(vdt, n) + 64);
            for (int mode = W_RANDOM; mode <= W_INF_SCALE; mode++)
                for (int rep = 0; rep < 8; rep++) {
                    make_weights(t, w, n, mode);
                    make_act(vdt, a, n, mode);
                    float s_ref = -1, s_simd = -2;
                    ref(n, &s_ref, w, a);
                    simd(n, &s_simd, w, a);
                    bool ok;
                    if (mode == W_UNIT) {
                        ok = s_ref == s_simd;
                    } else if (!isfinite(s_ref) || !isfinite(s_simd)) {
                        ok = !isfinite(s_ref) && !isfinite(s_simd);
                    } else {
                        double mag = magnitude(t, vdt, w, a, n);
                        ok = fabs((double)s_ref - (double)s_simd) <= 2e-6 * mag + 1e-30;
                    }
                    if (!ok && n_bad++ < 3)
                        fprintf(stderr, "%s %s n=%lld mode=%d: ref %.9g simd %.9g\n", name, lmc_type_name(t),
                                (long long)n, mode, s_ref, s_simd);
                    CHECK(ok);
                }
            free(w), free(a);
        }
        /* the 4-token kernel: bit-identical to the 1-token kernel for each token */
        lmc_vec_dot4_fn d4 = lmc_get_vec_dot4(t);
        if (d4) {
            int64_t n = 4 * bs > 256 ? 4 * bs : (bs == 1 ? 67 : 256);
            size_t arb = lmc_type_row_bytes(vdt, n);
            uint8_t *w = malloc(lmc_type_row_bytes(t, n)), *a = malloc(arb * 4);
            for (int mode = W_RANDOM; mode <= W_INF_SCALE; mode++) {
                make_weights(t, w, n, mode);
                for (int k = 0; k < 4; k++) make_act(vdt, a + k * arb, n, mode);
                float s4[4], s1;
                d4(n, s4, w, a, arb);
                for (int k = 0; k < 4; k++) {
                    simd(n, &s1, w, a + k * arb);
                    CHECK_MSG(memcmp(&s1, &s4[k], sizeof s1) == 0, "%s %s dot4[%d] %.9g != dot %.9g (mode %d)", name,
                              lmc_type_name(t), k, s4[k], s1, mode);
                }
            }
            free(w), free(a);
        }
        /* the register-blocked tile: bit-identical to the 1-token kernel for every (row,
         * token), for tile shapes with and without remainders in both directions */
        lmc_gemm_tile_fn tile = lmc_get_gemm_tile(t);
        if (tile) {
            int64_t n = 7 * bs;
            size_t wrb = lmc_type_row_bytes(t, n), arb = lmc_type_row_bytes(vdt, n);
            enum { MAXR = 7, MAXT = 9 };
            uint8_t *w = malloc(wrb * MAXR), *a = malloc(arb * MAXT);
            float Y[MAXT * MAXR], s1;
            for (int mode = W_RANDOM; mode <= W_INF_SCALE; mode++) {
                for (int r = 0; r < MAXR; r++) make_weights(t, w + r * wrb, n, mode);
                for (int k = 0; k < MAXT; k++) make_act(vdt, a + k * arb, n, mode);
                for (int nr = 1; nr <= MAXR; nr++)
                    for (int nt = 1; nt <= MAXT; nt++) {
                        memset(Y, 0xFF, sizeof Y);
                        tile(n, nr, nt, w, wrb, a, arb, Y, MAXR);
                        for (int k = 0; k < nt; k++)
                            for (int r = 0; r < nr; r++) {
                                simd(n, &s1, w + r * wrb, a + k * arb);
                                CHECK_MSG(memcmp(&s1, &Y[k * MAXR + r], sizeof s1) == 0,
                                          "%s %s tile %dx%d [%d,%d] %.9g != dot %.9g (mode %d)", name,
                                          lmc_type_name(t), nr, nt, r, k, Y[k * MAXR + r], s1, mode);
                            }
                    }
            }
            free(w), free(a);
        }
    }

    /* activation quantizers: byte-identical to the scalar ones */
    const lmc_type acts[] = {LMC_TYPE_Q8_0, LMC_TYPE_Q8_1, LMC_TYPE_Q8_K, LMC_TYPE_F16, LMC_TYPE_BF16};
    const int64_t n = 1024;
    float *x = malloc(sizeof(float) * n);
    for (int k = 0; k < 5; k++) {
        lmc_type vdt = acts[k];
        size_t rb = lmc_type_row_bytes(vdt, n);
        uint8_t *p = malloc(rb), *q = malloc(rb);
        for (int mode = 0; mode < 6; mode++) {
            for (int64_t i = 0; i < n; i++) {
                float v = frand();
                switch (mode) {
                case 0: x[i] = v; break;
                case 1: x[i] = v * 1e-39f; break;                          /* subnormal */
                case 2: x[i] = (i / 32) % 2 ? 0.0f : v * 3e38f; break;      /* huge + zero blocks */
                case 3: x[i] = (float)((int)(rnd() % 255) - 127); break;    /* integers: id = 1 */
                case 4: x[i] = ((float)((int)(rnd() % 64) - 32) + 0.5f) * (127.f / 32.5f); break; /* near ties */
                default: x[i] = (i % 256 == 7) ? -v * 100 : v; break;       /* negative max */
                }
            }
            if (mode == 3) x[0] = 127; /* amax 127: scale exactly 1 */
            lmc_get_type_traits(vdt)->act_from_float(x, p, n);
            lmc_get_act_from_float(vdt)(x, q, n);
            CHECK_MSG(memcmp(p, q, rb) == 0, "%s: activation quantizer %s differs from scalar (mode %d)", name,
                      lmc_type_name(vdt), mode);
        }
        free(p), free(q);
    }
    free(x);
}

int main(void) {
    printf("kernels auto-selected: %s\n", lmc_kernels_isa());
    test_isa(2, "avx2");
    test_isa(3, "avx512");
    lmc_kernels_force_isa(0);
    if (!g_isa_checked) printf("no SIMD kernels on this CPU/build: nothing to compare\n");
    return t_done("test_kernels_simd");
}
