/* train_ops.c — the layer forward/backward source (train_ops.inc) instantiated for
 * float (training) and double (gradient checks): one source, two types; and the float
 * GEMM dispatch (lmc's AVX-512 kernel with a slice's workspace, else cblas_sgemm). */
#include "train-impl.h"

#include <cblas.h>
#include <math.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* exp without a libm call, branch-free so the compiler vectorizes the loops that use it
 * (softmax, cross-entropy, GELU): Cephes' expf polynomial after reduction by ln 2, within
 * 2 ulp of expf. Inputs are clamped to the normal range (exp(-87.3) ~ 1e-38 instead of
 * 0, which no sum here can tell apart); NaN stays NaN so a diverged run is still caught. */
/* p ? a : b on the bits: GCC (12) leaves a loop scalar when it sees a float min/max
 * select and SSE4.1 or later is enabled, which the target_clones below are */
static inline float fsel(int p, float a, float b) {
    const uint32_t m = (uint32_t)0 - (uint32_t)p;
    uint32_t ab, bb;
    memcpy(&ab, &a, sizeof ab);
    memcpy(&bb, &b, sizeof bb);
    ab = (ab & m) | (bb & ~m);
    memcpy(&a, &ab, sizeof a);
    return a;
}

static inline float exp_fast(float x) {
    float c = fsel(x == x, x, 0.0f); /* NaN: computed on 0 (no out-of-range int conversion), restored below */
    c = fsel(c > 88.3f, 88.3f, c);
    c = fsel(c < -87.3f, -87.3f, c);
    float t = c * 1.44269504088896341f + 0.5f;
    float n = (float)(int32_t)t;
    n = n > t ? n - 1.0f : n; /* floor */
    const float r = c - n * 0.693359375f + n * 2.12194440e-4f;
    float y = 1.9875691500e-4f;
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * r * r + r + 1.0f;
    const uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    const float e = y * scale;
    return fsel(x != x, x, e);
}

/* tanh from one exp: glibc's tanhf costs several times expf, and GELU calls it for
 * every activation. Absolute error ~1e-7, what GELU's output needs. */
static inline float tanh_fast(float u) { return 1.0f - 2.0f / (exp_fast(2.0f * u) + 1.0f); }

/* the workspace of this thread's GEMMs (borrowed from the model: see lmc_tr_gemm_ws) */
static _Thread_local float *tl_ws;
static _Thread_local size_t tl_ws_n;

void lmc_tr_gemm_ws(float *ws, size_t n_floats) {
    tl_ws = ws;
    tl_ws_n = ws ? n_floats : 0;
}

size_t lmc_sgemm_ws_floats(int64_t M) {
    const int64_t mb = M < LMC_SGEMM_MB ? M : LMC_SGEMM_MB, mp = (mb + LMC_SGEMM_MR - 1) / LMC_SGEMM_MR;
    return (size_t)mp * LMC_SGEMM_MR * LMC_SGEMM_KC + (size_t)LMC_SGEMM_KC * LMC_SGEMM_NB + 64;
}

#ifndef LMC_SCALAR_ONLY
static bool sgemm_ours(int64_t M) {
    static int ours = -1; /* AVX-512 kernels in force and LMC_SGEMM is not "blas" */
    int o = __atomic_load_n(&ours, __ATOMIC_RELAXED);
    if (o < 0) {
        const char *e = getenv("LMC_SGEMM");
        o = strcmp(lmc_kernels_isa(), "avx512") == 0 && !(e && strcmp(e, "blas") == 0);
        __atomic_store_n(&ours, o, __ATOMIC_RELAXED);
    }
    return o && tl_ws && lmc_sgemm_ws_floats(M) <= tl_ws_n;
}
#endif

void lmc_tr_sgemm_tri(int tri, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                      int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
#ifndef LMC_SCALAR_ONLY
    if (sgemm_ours(M)) {
        lmc_sgemm_avx512(tri, NULL, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, tl_ws);
        return;
    }
#endif
    (void)tri; /* the full product is right too */
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (blasint)M, (blasint)N,
                (blasint)K, alpha, A, (blasint)lda, B, (blasint)ldb, beta, C, (blasint)ldc);
}

void lmc_tr_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                  const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    lmc_tr_sgemm_tri(LMC_TRI_NONE, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void lmc_tr_sgemm_epi(const lmc_sgemm_epi *epi, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                      const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
#ifndef LMC_SCALAR_ONLY
    if (sgemm_ours(M)) { /* in the kernel's store: no second pass over C */
        lmc_sgemm_avx512(LMC_TRI_NONE, epi, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, tl_ws);
        return;
    }
#endif
    lmc_tr_sgemm_tri(LMC_TRI_NONE, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (!epi) return;
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (epi->bias)
            for (int64_t j = 0; j < N; j++) c[j] += epi->bias[j];
        if (epi->type == LMC_EPI_GELU) lmc_tr_gelu_fwd_f32(epi->out2 + i * epi->ld2, c, N);
        else if (epi->type == LMC_EPI_GELU_BWD) lmc_tr_gelu_bwd_f32(c, c, epi->aux + i * epi->ld2, N);
    }
}

/* The float layers' elementwise and row loops are built three times, for x86-64-v4
 * (AVX-512), v3 (AVX2 + FMA) and the baseline, and the loader picks one for the CPU
 * (GCC's target_clones): the baseline alone is SSE2, 4 lanes and no FMA, and GELU
 * forward + backward were a quarter of a small model's step. Results are deterministic
 * on a given machine; across CPUs the float roundings may differ (contracted FMAs), as
 * they already do through OpenBLAS. The double instantiation (gradient checks) stays
 * plain. Clang (the fuzz build) gets the baseline only. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(LMC_SCALAR_ONLY)
#define HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define HOT
#endif
#define REAL float
#define SFX(name) name##_f32
#define GEMM(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) \
    lmc_tr_sgemm((ta) == CblasTrans, (tb) == CblasTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
#define GEMM_TRI(tri, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) \
    lmc_tr_sgemm_tri(tri, (ta) == CblasTrans, (tb) == CblasTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
#define SQRT sqrtf
#define EXP exp_fast
#define LOG logf
#define POW powf
#define SIN sinf
#define COS cosf
#define TANH tanh_fast
#include "train_ops.inc"
#undef REAL
#undef SFX
#undef GEMM
#undef GEMM_TRI
#undef SQRT
#undef EXP
#undef LOG
#undef POW
#undef SIN
#undef COS
#undef TANH
#undef HOT

#define HOT
#define REAL double
#define SFX(name) name##_f64
#define GEMM(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) \
    cblas_dgemm(CblasRowMajor, ta, tb, (blasint)(M), (blasint)(N), (blasint)(K), alpha, A, (blasint)(lda), B, (blasint)(ldb), beta, C, (blasint)(ldc))
#define GEMM_TRI(tri, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) \
    GEMM(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
#define SQRT sqrt
#define EXP exp
#define LOG log
#define POW pow
#define SIN sin
#define COS cos
#define TANH tanh
#include "train_ops.inc"
