/* train-impl.h — the training area's internal interface: layer forward/backward for
 * float (_f32, training) and double (_f64, finite-difference checks), from the one
 * source train_ops.inc. */
#ifndef LMC_TRAIN_IMPL_H
#define LMC_TRAIN_IMPL_H

#include "lmc-impl.h"

/* Float GEMMs of the training layers (train_ops.c): C = alpha op(A) op(B) + beta C,
 * row-major. With a workspace given to this thread (lmc_tr_gemm_ws; NULL takes it back)
 * on an AVX-512 CPU, lmc's kernel (sgemm_avx512.c); else, or with LMC_SGEMM=blas,
 * cblas_sgemm. lmc_sgemm_ws_floats(M): the workspace a product with M rows of C needs. */
void lmc_tr_gemm_ws(float *ws, size_t n_floats);
size_t lmc_sgemm_ws_floats(int64_t M);
/* the kernel's blocking: MR rows of C per micro-tile (and 32 columns), KC deep, NB
 * columns of op(B) packed at once, MB rows of op(A) */
#define LMC_SGEMM_MR 14
#define LMC_SGEMM_KC 384
#define LMC_SGEMM_NB 512
#define LMC_SGEMM_MB 3080 /* rows of op(A) packed at once (a multiple of MR) */
/* What causal attention lets a product skip (square op(A) and C, M = K or M = N):
 * LMC_TRI_C only C[i][j], j <= i, is wanted (the rest may be left anything);
 * LMC_TRI_A_LOWER op(A)[i][k] = 0 for k > i; LMC_TRI_A_UPPER op(A)[i][k] = 0 for k < i.
 * A hint: computing everything is also right, and cblas_sgemm does. */
enum { LMC_TRI_NONE = 0, LMC_TRI_C, LMC_TRI_A_LOWER, LMC_TRI_A_UPPER };
/* What to do with C's final values x (after alpha, beta): add bias[j] if given, then
 * LMC_EPI_GELU: C = x and out2 = gelu(x) (GPT-2's tanh form);
 * LMC_EPI_GELU_BWD: C = x * gelu'(aux) (backward through the GELU of aux).
 * aux and out2 are M x N with row stride ld2. */
enum { LMC_EPI_NONE = 0, LMC_EPI_GELU, LMC_EPI_GELU_BWD };
typedef struct {
    int type;
    const float *bias;
    const float *aux;
    float *out2;
    int64_t ld2;
} lmc_sgemm_epi;
/* lmc_tr_sgemm with an epilogue (cblas_sgemm, then the same in a pass, without the kernel) */
void lmc_tr_sgemm_epi(const lmc_sgemm_epi *epi, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                      const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
void lmc_tr_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                  const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
void lmc_tr_sgemm_tri(int tri, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                      int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
#ifndef LMC_SCALAR_ONLY
void lmc_sgemm_avx512(int tri, const lmc_sgemm_epi *epi, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                      float alpha, const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                      int64_t ldc, float *ws);
#endif

/* Dropout (inverted: kept values scaled by 1/(1-p)). The mask of element idx is a hash of
 * (key, idx): nothing is stored, backward recomputes it, and it does not depend on how
 * the batch is split over threads (idx counts from the batch's first element). key
 * mixes the seed, the optimizer step, the micro-batch, the layer and the site. */
typedef struct lmc_tr_drop {
    float p;       /* 0 < p < 1 */
    uint64_t key;
    int64_t b0;    /* attention: the batch index of the first sequence passed */
} lmc_tr_drop;

static inline uint64_t lmc_tr_mix64(uint64_t z) { /* splitmix64's finalizer */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline bool lmc_tr_keep(const lmc_tr_drop *d, int64_t idx) {
    const uint64_t h = lmc_tr_mix64(d->key + (uint64_t)idx * 0x9E3779B97F4A7C15ull);
    return (double)(h >> 11) * (1.0 / 9007199254740992.0) >= (double)d->p;
}

#define LMC_TR_DECLARE(REAL, S)                                                                                     \
    void lmc_tr_linear_fwd##S(REAL *Y, const REAL *X, const REAL *W, const REAL *b, int64_t N, int64_t NI, int64_t O); \
    void lmc_tr_linear_bwd##S(REAL *dX, REAL *dW, REAL *db, const REAL *dY, const REAL *X, const REAL *W, int64_t N,  \
                              int64_t NI, int64_t O);                                                                \
    void lmc_tr_linear_bwd_set##S(REAL *dX, REAL *dW, REAL *db, const REAL *dY, const REAL *X, const REAL *W,      \
                                  int64_t N, int64_t NI, int64_t O);                                             \
    void lmc_tr_rmsnorm_fwd##S(REAL *y, REAL *rstd, const REAL *x, const REAL *w, int64_t N, int64_t C, REAL eps);    \
    void lmc_tr_rmsnorm_bwd##S(REAL *dx, REAL *dw, const REAL *dy, const REAL *x, const REAL *w, const REAL *rstd,    \
                               int64_t N, int64_t C);                                                               \
    void lmc_tr_layernorm_fwd##S(REAL *y, REAL *mean, REAL *rstd, const REAL *x, const REAL *w, const REAL *b,       \
                                 int64_t N, int64_t C, REAL eps);                                                   \
    void lmc_tr_layernorm_bwd##S(REAL *dx, REAL *dw, REAL *db, const REAL *dy, const REAL *x, const REAL *w,         \
                                 const REAL *mean, const REAL *rstd, int64_t N, int64_t C);                         \
    void lmc_tr_rope_fwd##S(REAL *x, const int32_t *pos, int64_t N, int H, int D, int n_rot, REAL base);              \
    void lmc_tr_rope_bwd##S(REAL *dx, const int32_t *pos, int64_t N, int H, int D, int n_rot, REAL base);             \
    void lmc_tr_attn_fwd##S(REAL *out, REAL *P, const REAL *q, const REAL *k, const REAL *v, int64_t B, int64_t T,   \
                            int H, int Hkv, int D, const lmc_tr_drop *drop, REAL *scratch);                         \
    void lmc_tr_attn_bwd##S(REAL *dq, REAL *dk, REAL *dv, const REAL *dout, const REAL *P, const REAL *q,             \
                            const REAL *k, const REAL *v, int64_t B, int64_t T, int H, int Hkv, int D,              \
                            const lmc_tr_drop *drop, REAL *scratch);                                                \
    void lmc_tr_dropout##S(REAL *x, int64_t n, int64_t idx0, const lmc_tr_drop *drop);                              \
    void lmc_tr_swiglu_fwd##S(REAL *h, const REAL *g, const REAL *u, int64_t n);                                     \
    void lmc_tr_swiglu_bwd##S(REAL *dg, REAL *du, const REAL *dh, const REAL *g, const REAL *u, int64_t n);          \
    void lmc_tr_gelu_fwd##S(REAL *y, const REAL *x, int64_t n);                                                      \
    void lmc_tr_gelu_bwd##S(REAL *dx, const REAL *dy, const REAL *x, int64_t n);                                     \
    void lmc_tr_embed_fwd##S(REAL *x, const REAL *E, const REAL *Pos, const int32_t *ids, const int32_t *pos,        \
                             int64_t N, int64_t C);                                                                 \
    void lmc_tr_embed_bwd##S(REAL *dE, REAL *dPos, const REAL *dx, const int32_t *ids, const int32_t *pos,           \
                             int64_t N, int64_t C);                                                                 \
    REAL lmc_tr_xent##S(REAL *dlogits, const REAL *logits, const int32_t *targets, int64_t N, int64_t V,             \
                        int64_t *n_counted);

LMC_TR_DECLARE(float, _f32)
LMC_TR_DECLARE(double, _f64)

#endif
