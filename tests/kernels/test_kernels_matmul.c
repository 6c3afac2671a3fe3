/* test_kernels_matmul.c — lmc_matmul and the thread pool.
 *
 * matmul is checked against a float64 product of independently computed operands:
 * the weights dequantized (dequantize is checked bit-exact against gguf-py by
 * test_kernels_gguf) times the activations after the conversion llama.cpp applies to
 * them (F16/BF16 rounding, or Q8_0/Q8_1/Q8_K quantization, dequantized back). The
 * activation quantizers are checked against gguf-py's Q8_0 rule (scale, and quants to
 * within the one-step rounding difference of llama.cpp's x86 path). Results must not
 * depend on the thread count. */
#include "test_util.h"
#include "lmc.h"
#include "../../src/tensor/quants.h"

#include <stddef.h>

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}
static float frand(void) { return (float)((double)(rnd() >> 11) / 9007199254740992.0 * 2.0 - 1.0); }

/* ---- thread pool --------------------------------------------------------------- */
typedef struct {
    int hits[16];
    int nth_seen[16];
} tp_arg;

static void tp_task(void *p, int ith, int nth) {
    tp_arg *a = p;
    __atomic_add_fetch(&a->hits[ith], 1, __ATOMIC_RELAXED);
    a->nth_seen[ith] = nth;
}

static void test_threadpool(void) {
    for (int n = 1; n <= 4; n++) {
        lmc_threadpool *tp = lmc_threadpool_init(n);
        CHECK(tp != NULL);
        if (!tp) continue;
        CHECK_EQ_INT(lmc_threadpool_n_threads(tp), n);
        tp_arg a = {0};
        for (int r = 0; r < 2000; r++) lmc_threadpool_run(tp, tp_task, &a);
        for (int i = 0; i < n; i++) {
            CHECK_EQ_INT(a.hits[i], 2000);
            CHECK_EQ_INT(a.nth_seen[i], n);
        }
        CHECK_EQ_INT(a.hits[n], 0);
        lmc_threadpool_free(tp);
    }
    CHECK(lmc_threadpool_init(0) == NULL);
    lmc_threadpool_free(NULL);
}

/* ---- random weights of any type --------------------------------------------------- */

/* Random bytes with sane scales: quants are arbitrary bit patterns, scales are small
 * finite fp16 values (random bytes would make inf/NaN scales). */
static void random_weights(lmc_type t, void *dst, int64_t rows, int64_t n) {
    size_t rb = lmc_type_row_bytes(t, n);
    uint8_t *b = dst;
    for (size_t i = 0; i < rb * (size_t)rows; i++) b[i] = (uint8_t)rnd();
    if (t == LMC_TYPE_F32 || t == LMC_TYPE_F16 || t == LMC_TYPE_BF16) {
        float *tmp = malloc((size_t)n * sizeof(float));
        for (int64_t r = 0; r < rows; r++) {
            for (int64_t i = 0; i < n; i++) tmp[i] = frand();
            lmc_quantize_row(t, tmp, b + r * rb, n);
        }
        free(tmp);
        return;
    }
    size_t bb = lmc_type_block_bytes(t);
    int64_t nb = (int64_t)(rb * (size_t)rows / bb);
    for (int64_t k = 0; k < nb; k++) {
        uint8_t *blk = b + k * bb;
        lmc_fp16 d = lmc_fp32_to_fp16(0.01f + 0.02f * (float)(rnd() % 1000) / 1000.0f);
        lmc_fp16 m = lmc_fp32_to_fp16(-0.01f * (float)(rnd() % 1000) / 1000.0f);
        switch (t) {
        case LMC_TYPE_Q4_0: ((block_q4_0 *)blk)->d = d; break;
        case LMC_TYPE_Q5_0: ((block_q5_0 *)blk)->d = d; break;
        case LMC_TYPE_Q8_0: ((block_q8_0 *)blk)->d = d; break;
        case LMC_TYPE_Q4_1: ((block_q4_1 *)blk)->d = d; ((block_q4_1 *)blk)->m = m; break;
        case LMC_TYPE_Q5_1: ((block_q5_1 *)blk)->d = d; ((block_q5_1 *)blk)->m = m; break;
        case LMC_TYPE_Q2_K: ((block_q2_K *)blk)->d = d; ((block_q2_K *)blk)->dmin = d; break;
        case LMC_TYPE_Q3_K: ((block_q3_K *)blk)->d = d; break;
        case LMC_TYPE_Q4_K: ((block_q4_K *)blk)->d = d; ((block_q4_K *)blk)->dmin = d; break;
        case LMC_TYPE_Q5_K: ((block_q5_K *)blk)->d = d; ((block_q5_K *)blk)->dmin = d; break;
        case LMC_TYPE_Q6_K: ((block_q6_K *)blk)->d = d; break;
        default: break;
        }
    }
}

/* Activations after llama.cpp's conversion to vec_dot_type, as floats. */
static void converted_activation(lmc_type vdt, const float *x, float *out, int64_t n) {
    if (vdt == LMC_TYPE_F32) {
        memcpy(out, x, (size_t)n * sizeof(float));
        return;
    }
    void *tmp = malloc(lmc_type_row_bytes(vdt, n));
    lmc_get_type_traits(vdt)->act_from_float(x, tmp, n);
    lmc_dequantize_row(vdt, tmp, out, n);
    free(tmp);
}

static const lmc_type k_types[] = {LMC_TYPE_F32,  LMC_TYPE_F16,  LMC_TYPE_BF16, LMC_TYPE_Q4_0,
                                   LMC_TYPE_Q4_1, LMC_TYPE_Q5_0, LMC_TYPE_Q5_1, LMC_TYPE_Q8_0,
                                   LMC_TYPE_Q2_K, LMC_TYPE_Q3_K, LMC_TYPE_Q4_K, LMC_TYPE_Q5_K,
                                   LMC_TYPE_Q6_K};
#define N_TYPES (int)(sizeof k_types / sizeof k_types[0])

static void test_matmul_type(lmc_type t, lmc_threadpool *tp2, lmc_threadpool *tp3) {
    const int64_t n_in = 512, n_out = 37;
    const int64_t toks[] = {1, 3, 17};
    const lmc_type vdt = lmc_get_type_traits(t)->vec_dot_type;
    void *W = malloc(lmc_type_row_bytes(t, n_in) * n_out);
    random_weights(t, W, n_out, n_in);
    float *Wf = malloc(sizeof(float) * n_in * n_out);
    for (int64_t r = 0; r < n_out; r++)
        lmc_dequantize_row(t, (char *)W + r * lmc_type_row_bytes(t, n_in), Wf + r * n_in, n_in);
    for (int k = 0; k < 3; k++) {
        int64_t T = toks[k];
        float *X = malloc(sizeof(float) * n_in * T), *Xc = malloc(sizeof(float) * n_in * T);
        float *Y1 = malloc(sizeof(float) * n_out * T), *Y2 = malloc(sizeof(float) * n_out * T),
              *Y3 = malloc(sizeof(float) * n_out * T);
        for (int64_t i = 0; i < n_in * T; i++) X[i] = frand() * 2.0f;
        for (int64_t i = 0; i < T; i++) converted_activation(vdt, X + i * n_in, Xc + i * n_in, n_in);
        CHECK_EQ_INT(lmc_matmul(NULL, t, W, n_out, n_in, X, T, Y1), LMC_OK);
        CHECK_EQ_INT(lmc_matmul(tp2, t, W, n_out, n_in, X, T, Y2), LMC_OK);
        CHECK_EQ_INT(lmc_matmul(tp3, t, W, n_out, n_in, X, T, Y3), LMC_OK);
        double worst = 0;
        for (int64_t i = 0; i < T; i++)
            for (int64_t o = 0; o < n_out; o++) {
                double s = 0, mag = 0;
                for (int64_t j = 0; j < n_in; j++) {
                    double p = (double)Wf[o * n_in + j] * (double)Xc[i * n_in + j];
                    s += p;
                    mag += fabs(p);
                }
                double err = fabs(Y1[i * n_out + o] - s) / (mag + 1e-30);
                if (err > worst) worst = err;
            }
        /* float32 accumulation over 512 terms: relative to sum |w*x| */
        CHECK_MSG(worst < 2e-5, "%s T=%lld: worst relative error %.3g", lmc_type_name(t), (long long)T, worst);
        CHECK_MSG(memcmp(Y1, Y2, sizeof(float) * n_out * T) == 0, "%s: 2 threads differ from 1",
                  lmc_type_name(t));
        CHECK_MSG(memcmp(Y1, Y3, sizeof(float) * n_out * T) == 0, "%s: 3 threads differ from 1",
                  lmc_type_name(t));
        free(X), free(Xc), free(Y1), free(Y2), free(Y3);
    }
    free(W), free(Wf);
}

/* Q8_0/Q8_1 activation quantizers vs gguf-py's Q8_0 rule (= quantize_row_q8_0_ref,
 * checked byte-exact against gguf-py by test_kernels_gguf): same scale, quants differ
 * by at most one step (127/amax vs 1/(amax/127), ties to even vs away from zero). */
static void test_act_quant(void) {
    const int64_t n = 4096;
    float *x = malloc(sizeof(float) * n);
    block_q8_0 *a = malloc(sizeof(block_q8_0) * n / 32), *r = malloc(sizeof(block_q8_0) * n / 32);
    block_q8_1 *a1 = malloc(sizeof(block_q8_1) * n / 32);
    for (int64_t i = 0; i < n; i++) x[i] = frand() * (i % 64 == 0 ? 100.0f : 1.0f);
    for (int64_t i = 64; i < 96; i++) x[i] = 0;                /* zero block */
    for (int64_t i = 96; i < 128; i++) x[i] = (float)(i - 112) * 0.5f; /* halves: ties */
    quantize_row_q8_0_act(x, a, n);
    quantize_row_q8_0_ref(x, r, n);
    quantize_row_q8_1_act(x, a1, n);
    int maxdiff = 0, ndiff = 0;
    for (int64_t b = 0; b < n / 32; b++) {
        CHECK_EQ_INT(a[b].d, r[b].d);
        CHECK_EQ_INT(a1[b].d, r[b].d);
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            int dq = abs(a[b].qs[j] - r[b].qs[j]);
            maxdiff = dq > maxdiff ? dq : maxdiff;
            ndiff += dq != 0;
            CHECK_EQ_INT(a1[b].qs[j], a[b].qs[j]);
            sum += a1[b].qs[j];
        }
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[b * 32 + j]));
        CHECK_EQ_INT(a1[b].s, lmc_fp32_to_fp16(amax / 127.f * (float)sum));
    }
    CHECK_MSG(maxdiff <= 1, "activation Q8_0 differs from the ref by %d steps", maxdiff);
    printf("act q8_0 vs ref: %d of %lld quants differ by one step\n", ndiff, (long long)n);
    free(x), free(a), free(r), free(a1);
}

static void test_errors(void) {
    float x[64] = {0}, y[4];
    char w[256] = {0};
    CHECK(lmc_matmul(NULL, LMC_TYPE_Q4_0, w, 1, 48, x, 1, y) == LMC_ERR_INVALID_ARG);
    CHECK(lmc_matmul(NULL, LMC_TYPE_IQ2_XXS, w, 1, 256, x, 1, y) == LMC_ERR_UNSUPPORTED);
    CHECK(lmc_dequantize_row(LMC_TYPE_Q4_K, w, x, 32) == LMC_ERR_INVALID_ARG);
    CHECK(lmc_dequantize_row(LMC_TYPE_I32, w, x, 4) == LMC_ERR_UNSUPPORTED);
    CHECK(strlen(lmc_last_error()) > 0);
}

int main(void) {
    test_threadpool();
    test_act_quant();
    test_errors();
    lmc_threadpool *tp2 = lmc_threadpool_init(2), *tp3 = lmc_threadpool_init(3);
    for (int i = 0; i < N_TYPES; i++) test_matmul_type(k_types[i], tp2, tp3);
    lmc_threadpool_free(tp2);
    lmc_threadpool_free(tp3);
    return t_done("test_kernels_matmul");
}
