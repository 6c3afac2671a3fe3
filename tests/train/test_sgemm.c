/* test_sgemm — the training GEMM (lmc_tr_sgemm: lmc's AVX-512 kernel when this thread has
 * a workspace, else cblas_sgemm) against a plain double-precision product, for the three
 * forms training uses (NN, NT, TN) and TT, over shapes that end inside every blocking
 * level (micro-tile 14 x 32, KC 384, NB 512), strided views (attention's per-head
 * slices), alpha and beta, the causal triangles (LMC_TRI_*), the GELU epilogues (against
 * double formulas); beta 0 must not read C (NaN there stays out of the result).
 * Tolerance per element: 1e-5 x (sum_k |alpha a b| + |beta c|) + 1e-30. */
#include "test_util.h"
#include "train-impl.h"

#include <cblas.h>

static float frand(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((*s >> 40) & 0xFFFFFF) / (float)0x1000000 * 2.0f - 1.0f;
}

static int64_t g_worst_shape[5];
static double g_worst;

/* one product; C starts as c0 (NaN when beta is 0). tri (LMC_TRI_*): A_LOWER / A_UPPER
 * make op(A) triangular; C compares only j <= i. */
static void check_tri(int tri, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, float beta, int64_t pad,
                      uint64_t *seed, bool ours) {
    const int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    const int64_t ar = ta ? K : M, br = tb ? N : K;
    float *A = malloc(sizeof(float) * (size_t)(ar * lda)), *B = malloc(sizeof(float) * (size_t)(br * ldb));
    float *Cm = malloc(sizeof(float) * (size_t)(M * ldc));
    double *ref = malloc(sizeof(double) * (size_t)(M * N)), *bound = malloc(sizeof(double) * (size_t)(M * N));
    for (int64_t i = 0; i < ar * lda; i++) A[i] = frand(seed);
    for (int64_t i = 0; i < M; i++) /* op(A)[i][k] */
        for (int64_t k = 0; k < K; k++)
            if ((tri == LMC_TRI_A_LOWER && k > i) || (tri == LMC_TRI_A_UPPER && k < i)) *(ta ? &A[k * lda + i] : &A[i * lda + k]) = 0;
    for (int64_t i = 0; i < br * ldb; i++) B[i] = frand(seed);
    for (int64_t i = 0; i < M * ldc; i++) Cm[i] = beta == 0 ? NAN : frand(seed);
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0, b = 0;
            for (int64_t k = 0; k < K; k++) {
                const double a = ta ? A[k * lda + i] : A[i * lda + k], x = tb ? B[j * ldb + k] : B[k * ldb + j];
                s += a * x, b += fabs(a * x);
            }
            const double c = beta == 0 ? 0 : (double)beta * Cm[i * ldc + j];
            ref[i * N + j] = alpha * s + c;
            bound[i * N + j] = 1e-5 * (fabs(alpha) * b + fabs(c)) + 1e-30;
        }
    const size_t wn = lmc_sgemm_ws_floats(M);
    float *ws = ours ? malloc(sizeof(float) * wn) : NULL;
    lmc_tr_gemm_ws(ws, wn);
    lmc_tr_sgemm_tri(tri, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, Cm, ldc);
    lmc_tr_gemm_ws(NULL, 0);
    int64_t bad = 0, pad_touched = 0;
    for (int64_t i = 0; i < M; i++) {
        for (int64_t j = 0; j < (tri == LMC_TRI_C ? LMC_MIN(N, i + 1) : N); j++) {
            const double e = fabs((double)Cm[i * ldc + j] - ref[i * N + j]);
            if (!(e <= bound[i * N + j])) bad++;
            if (e / bound[i * N + j] > g_worst) {
                g_worst = e / bound[i * N + j];
                g_worst_shape[0] = ta, g_worst_shape[1] = tb, g_worst_shape[2] = M, g_worst_shape[3] = N,
                g_worst_shape[4] = K;
            }
        }
        /* the padding of C's rows is not C: never written */
        for (int64_t j = N; j < ldc; j++) pad_touched += beta == 0 && !isnan(Cm[i * ldc + j]);
    }
    CHECK_MSG(bad == 0 && pad_touched == 0, "%s tri %d %c%c M %lld N %lld K %lld alpha %g beta %g pad %lld: %lld of %lld wrong, "
              "%lld padding values written", ours ? "lmc" : "cblas", tri, ta ? 'T' : 'N', tb ? 'T' : 'N', (long long)M,
              (long long)N, (long long)K, alpha, beta, (long long)pad, (long long)bad, (long long)(M * N),
              (long long)pad_touched);
    free(A), free(B), free(Cm), free(ref), free(bound), free(ws);
}

static void check(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, float beta, int64_t pad,
                  uint64_t *seed, bool ours) {
    check_tri(LMC_TRI_NONE, ta, tb, M, N, K, alpha, beta, pad, seed, ours);
}

static double gelu_d(double x) { return 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
static double gelu_grad_d(double x) {
    const double u = 0.7978845608028654 * (x + 0.044715 * x * x * x), th = tanh(u);
    return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * 0.7978845608028654 * (1 + 3 * 0.044715 * x * x);
}

/* an epilogue (bias, then GELU into out2, or times GELU'(aux)) against the double product
 * put through the same formulas in double */
static void check_epi(int type, bool bias, bool ta, bool tb, int64_t M, int64_t N, int64_t K, uint64_t *seed, bool ours) {
    const int64_t lda = ta ? M : K, ldb = tb ? K : N;
    float *A = malloc(sizeof(float) * (size_t)(M * K)), *B = malloc(sizeof(float) * (size_t)(K * N));
    float *Cm = malloc(sizeof(float) * (size_t)(M * N)), *X2 = malloc(sizeof(float) * (size_t)(M * N));
    float *b = malloc(sizeof(float) * (size_t)N);
    for (int64_t i = 0; i < M * K; i++) A[i] = frand(seed);
    for (int64_t i = 0; i < K * N; i++) B[i] = frand(seed);
    for (int64_t i = 0; i < N; i++) b[i] = frand(seed);
    for (int64_t i = 0; i < M * N; i++) X2[i] = 3 * frand(seed), Cm[i] = NAN; /* aux in [-3, 3) */
    const lmc_sgemm_epi e = {.type = type, .bias = bias ? b : NULL, .aux = X2, .out2 = X2, .ld2 = N};
    float *aux = malloc(sizeof(float) * (size_t)(M * N));
    memcpy(aux, X2, sizeof(float) * (size_t)(M * N));
    const size_t wn = lmc_sgemm_ws_floats(M);
    float *ws = ours ? malloc(sizeof(float) * wn) : NULL;
    lmc_tr_gemm_ws(ws, wn);
    lmc_tr_sgemm_epi(&e, ta, tb, M, N, K, 1, A, lda, B, ldb, 0, Cm, N);
    lmc_tr_gemm_ws(NULL, 0);
    int64_t bad = 0;
    double worst = 0;
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double x = 0, mag = 0;
            for (int64_t k = 0; k < K; k++) {
                const double p = (double)(ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
                x += p, mag += fabs(p);
            }
            if (bias) x += b[j], mag += fabs(b[j]);
            const double ex = 1e-5 * mag + 1e-30; /* the product's own bound */
            double got, want, tol;
            if (type == LMC_EPI_GELU_BWD) {
                got = Cm[i * N + j], want = x * gelu_grad_d(aux[i * N + j]);
                tol = 1.2 * ex + 4e-6 * (fabs(want) + fabs(x));
            } else {
                /* C holds x, out2 gelu(x) */
                const double e1 = fabs(Cm[i * N + j] - x);
                if (!(e1 <= ex)) bad++;
                got = type == LMC_EPI_GELU ? X2[i * N + j] : Cm[i * N + j];
                want = type == LMC_EPI_GELU ? gelu_d(x) : x;
                tol = 1.2 * ex + 4e-6 * (fabs(want) + 1e-3);
            }
            const double err = fabs(got - want);
            if (!(err <= tol)) bad++;
            worst = fmax(worst, err / tol);
        }
    CHECK_MSG(bad == 0, "%s epilogue %d%s %c%c %lld x %lld x %lld: %lld wrong (worst %.3g of the bound)",
              ours ? "lmc" : "cblas", type, bias ? " + bias" : "", ta ? 'T' : 'N', tb ? 'T' : 'N', (long long)M,
              (long long)N, (long long)K, (long long)bad, worst);
    free(A), free(B), free(Cm), free(X2), free(b), free(aux), free(ws);
}

int main(void) {
    const bool avx512 = strcmp(lmc_kernels_isa(), "avx512") == 0;
    printf("kernels: %s (%s)\n", lmc_kernels_isa(), avx512 ? "lmc's GEMM with a workspace" : "cblas_sgemm only");
    uint64_t seed = 42;
    /* edges of every blocking level: M around 14 and the 3080-row blocks, N around 32 and
     * 512, K around 16 (packing transposes) and 384 */
    const int64_t Ms[] = {1, 13, 14, 15, 29, 64}, Ns[] = {1, 16, 31, 33, 64, 100}, Ks[] = {1, 7, 16, 17, 64, 385};
    int n = 0;
    for (int f = 0; f < 4; f++) {
        const bool ta = f & 1, tb = f & 2;
        for (int a = 0; a < 6; a++)
            for (int b = 0; b < 6; b++)
                for (int c = 0; c < 6; c++, n++) {
                    const float beta = (a + b + c) % 3 == 0 ? 0.0f : (a + b + c) % 3 == 1 ? 1.0f : 0.5f;
                    const float alpha = c % 2 ? 0.125f : 1.0f;
                    check(ta, tb, Ms[a], Ns[b], Ks[c], alpha, beta, (a + c) % 2 ? 3 : 0, &seed, true);
                }
    }
    /* training's own sizes: a ~10M model's slice, the NB and MB block edges */
    check(false, true, 2048, 384, 384, 1, 0, 0, &seed, true);
    check(false, false, 600, 1536, 400, 1, 1, 0, &seed, true);
    check(true, false, 384, 520, 1100, 1, 1, 5, &seed, true);
    check(false, true, 3100, 40, 20, 1, 0, 0, &seed, true);
    check(false, true, 64, 256, 64, 0.125f, 0, 1088, &seed, true); /* attention: S = Q K^T per head */
    n += 5;
    /* causal attention's triangles, as train_ops.inc asks for them: S = Q K^T (C lower),
     * O = P V and dQ = dS K (A lower), dV = P^T dO and dK = dS^T Q (A upper, beta 0 or 1);
     * T across the 14-row panels, the 32-column tiles and KC */
    const int64_t Ts[] = {5, 14, 15, 33, 64, 100, 400};
    for (int t = 0; t < 7; t++) {
        const int64_t T = Ts[t];
        check_tri(LMC_TRI_C, false, true, T, T, 64, 0.125f, 0, 7, &seed, true);
        check_tri(LMC_TRI_A_LOWER, false, false, T, 64, T, 1, 0, 5, &seed, true);
        check_tri(LMC_TRI_A_UPPER, true, false, T, 64, T, 1, t % 2 ? 1.0f : 0.0f, 3, &seed, true);
        check_tri(LMC_TRI_A_UPPER, true, false, T, 48, T, 1, 0, 0, &seed, false); /* cblas: the full product */
        n += 4;
    }
    /* the MLP's epilogues: forward f1 = x W^T (+ b), act = gelu(f1); backward df1 = (dy W) * gelu'(f1) */
    for (int ours = 1; ours >= 0; ours--) {
        check_epi(LMC_EPI_GELU, true, false, true, 45, 70, 33, &seed, ours);
        check_epi(LMC_EPI_GELU, false, false, true, 100, 512 + 17, 400, &seed, ours);
        check_epi(LMC_EPI_GELU_BWD, false, false, false, 45, 70, 33, &seed, ours);
        check_epi(LMC_EPI_GELU_BWD, false, false, false, 29, 48, 390, &seed, ours);
        check_epi(LMC_EPI_NONE, true, false, true, 15, 33, 7, &seed, ours);
        check_epi(LMC_EPI_GELU, true, false, false, 3, 5, 0, &seed, ours); /* K = 0: bias and GELU alone */
        n += 6;
    }
    /* without a workspace: OpenBLAS, the same contract */
    check(false, true, 37, 45, 19, 0.5f, 0, 2, &seed, false);
    check(true, false, 33, 70, 400, 1, 1, 0, &seed, false);
    printf("%d products checked; worst error %.3g of its bound (%c%c %lld x %lld x %lld)\n", n + 2, g_worst,
           g_worst_shape[0] ? 'T' : 'N', g_worst_shape[1] ? 'T' : 'N', (long long)g_worst_shape[2],
           (long long)g_worst_shape[3], (long long)g_worst_shape[4]);
    return t_done("test_sgemm");
}
