/* train_ops.c — the layer forward/backward source (train_ops.inc) instantiated for
 * float (training) and double (gradient checks): one source, two types. */
#include "train-impl.h"

#include <cblas.h>
#include <math.h>

/* tanh from one exp: glibc's tanhf costs several times expf, and GELU calls it for
 * every activation. Absolute error ~1e-7, what GELU's output needs. */
static inline float tanh_fast(float u) { return 1.0f - 2.0f / (expf(2.0f * u) + 1.0f); }

#define REAL float
#define SFX(name) name##_f32
#define GEMM(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) \
    cblas_sgemm(CblasRowMajor, ta, tb, (blasint)(M), (blasint)(N), (blasint)(K), alpha, A, (blasint)(lda), B, (blasint)(ldb), beta, C, (blasint)(ldc))
#define SQRT sqrtf
#define EXP expf
#define LOG logf
#define POW powf
#define SIN sinf
#define COS cosf
#define TANH tanh_fast
#include "train_ops.inc"
#undef REAL
#undef SFX
#undef GEMM
#undef SQRT
#undef EXP
#undef LOG
#undef POW
#undef SIN
#undef COS
#undef TANH

#define REAL double
#define SFX(name) name##_f64
#define GEMM(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) \
    cblas_dgemm(CblasRowMajor, ta, tb, (blasint)(M), (blasint)(N), (blasint)(K), alpha, A, (blasint)(lda), B, (blasint)(ldb), beta, C, (blasint)(ldc))
#define SQRT sqrt
#define EXP exp
#define LOG log
#define POW pow
#define SIN sin
#define COS cos
#define TANH tanh
#include "train_ops.inc"
