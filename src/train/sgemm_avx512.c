/* sgemm_avx512.c — single-threaded float GEMM for training, C = alpha op(A) op(B) +
 * beta C in row-major, on AVX-512. Why our own: training runs one GEMM per thread (each
 * thread a slice of the batch) at sizes like 2048 x 384 x 384, where OpenBLAS 0.3.21's
 * SkylakeX kernel measured 121-152 GFLOP/s a thread against a 211 GFLOP/s FMA peak.
 *
 * The usual structure (BLIS, Goto): the rows of op(A) are packed KC deep into panels of
 * MR rows (k-major: MR values per k), the columns of op(B) into panels of NR; the micro-
 * kernel keeps an MR x NR tile of C in 28 registers and per k does 2 loads of B, MR
 * broadcasts of A and 2 * MR FMAs. Loop order: an A micro-panel (MR x KC = 21 KB) stays
 * in L1 while B micro-panels stream from L2 (a KC x NB block of B, 768 KB); op(A) is
 * packed once per KC step for all rows. Packing transposes 16 x 16 blocks in registers
 * where the source is the wrong way round (op = N for A, T for B).
 *
 * Causal attention's products pass a triangle hint (LMC_TRI_*): tiles right of C's
 * diagonal are skipped, or each A panel's k range is cut to where op(A) is not zero.
 * An epilogue (lmc_sgemm_epi: bias, GELU, GELU') runs on the final tile in registers.
 *
 * Sums run over k in order within a KC step, the steps in order: deterministic, and the
 * same bits for a given shape whatever the data. */
#include "train-impl.h"

#include <immintrin.h>
#include <string.h>

#define MR LMC_SGEMM_MR
#define NR 32
#define KC LMC_SGEMM_KC
#define NB LMC_SGEMM_NB

/* in-place 16 x 16 transpose of r[0..15] */
static inline __attribute__((always_inline)) void tr16(__m512 r[16]) {
    __m512 t[16];
    #pragma GCC unroll 16
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    #pragma GCC unroll 16
    for (int i = 0; i < 4; i++) {
        const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    /* r[4i + c] now holds, in 128-bit lane L, rows 4i..4i+3 at column 4L + c: gather
     * lane L of the four groups into output row 4L + c */
    #pragma GCC unroll 16
    for (int j = 0; j < 4; j++) {
        const __m512 a = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88), b = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xDD);
        const __m512 c = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88), d = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xDD);
        t[j] = _mm512_shuffle_f32x4(a, c, 0x88);
        t[8 + j] = _mm512_shuffle_f32x4(a, c, 0xDD);
        t[4 + j] = _mm512_shuffle_f32x4(b, d, 0x88);
        t[12 + j] = _mm512_shuffle_f32x4(b, d, 0xDD);
    }
    #pragma GCC unroll 16
    for (int i = 0; i < 16; i++) r[i] = t[i];
}

static inline __mmask16 lanes(int n) { return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1); }

/* rows [i0, i0 + mr) of op(A), k in [k0, k0 + kc), into Ap[k][MR] (zeros past mr) */
static void pack_a(bool ta, const float *A, int64_t lda, int64_t i0, int mr, int64_t k0, int kc, float *Ap) {
    if (ta) { /* A is K x M: each k's MR values are contiguous */
        const __mmask16 m = lanes(mr);
        for (int k = 0; k < kc; k++) {
            _mm_prefetch((const char *)(A + (k0 + k + 8) * lda + i0), _MM_HINT_T0);
            _mm512_mask_storeu_ps(Ap + k * MR, lanes(MR), _mm512_maskz_loadu_ps(m, A + (k0 + k) * lda + i0));
        }
        return;
    }
    __m512 r[16];
    for (int kb = 0; kb < kc; kb += 16) {
        const int kn = kc - kb < 16 ? kc - kb : 16;
        const __mmask16 km = lanes(kn);
        #pragma GCC unroll 16
        for (int i = 0; i < 16; i++) {
            if (i < mr) _mm_prefetch((const char *)(A + (i0 + i) * lda + k0 + kb + 64), _MM_HINT_T0);
            r[i] = i < mr ? _mm512_maskz_loadu_ps(km, A + (i0 + i) * lda + k0 + kb) : _mm512_setzero_ps();
        }
        tr16(r); /* r[k] = the 16 rows' values at k */
        #pragma GCC unroll 16
        for (int k = 0; k < kn; k++) _mm512_mask_storeu_ps(Ap + (kb + k) * MR, lanes(MR), r[k]);
    }
}

/* op(B) for k in [k0, k0 + kc), columns [j0, j0 + nr), into Bp[k][NR] (zeros past nr) */
static void pack_b(bool tb, const float *B, int64_t ldb, int64_t k0, int kc, int64_t j0, int nr, float *Bp) {
    if (!tb) { /* B is K x N: rows are contiguous */
        const __mmask16 m0 = lanes(nr), m1 = lanes(nr - 16);
        for (int k = 0; k < kc; k++) {
            const float *b = B + (k0 + k) * ldb + j0;
            _mm_prefetch((const char *)(b + 8 * ldb), _MM_HINT_T0);
            _mm_prefetch((const char *)(b + 8 * ldb + 16), _MM_HINT_T0);
            _mm512_store_ps(Bp + k * NR, _mm512_maskz_loadu_ps(m0, b));
            _mm512_store_ps(Bp + k * NR + 16, _mm512_maskz_loadu_ps(m1, b + 16));
        }
        return;
    }
    __m512 r[16];
    for (int half = 0; half < 2; half++) {
        const int jn = nr - 16 * half;
        for (int kb = 0; kb < kc; kb += 16) {
            const int kn = kc - kb < 16 ? kc - kb : 16;
            const __mmask16 km = lanes(kn);
            #pragma GCC unroll 16
            for (int j = 0; j < 16; j++)
                r[j] = j < jn ? _mm512_maskz_loadu_ps(km, B + (j0 + 16 * half + j) * ldb + k0 + kb) : _mm512_setzero_ps();
            tr16(r);
            #pragma GCC unroll 16
            for (int k = 0; k < kn; k++) _mm512_store_ps(Bp + (kb + k) * NR + 16 * half, r[k]);
        }
    }
}

/* ---- epilogues (lmc_sgemm_epi): GELU, tanh form, on the finished C tile --------------
 * exp as train_ops.c's exp_fast (Cephes' polynomial, inputs clamped to [-87.3, 88.3]),
 * 16 lanes; tanh(u) = 1 - 2 / (exp(2u) + 1). */
static inline __m512 exp16(__m512 x) {
    __m512 c = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.3f));
    const __m512 t = _mm512_fmadd_ps(c, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f));
    const __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    const __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), c));
    __m512 y = _mm512_set1_ps(1.9875691500e-4f);
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.3981999507e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(4.1665795894e-2f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.6666665459e-1f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(5.0000001201e-1f));
    y = _mm512_fmadd_ps(_mm512_mul_ps(y, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    c = _mm512_mul_ps(y, _mm512_castsi512_ps(e));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), c, x); /* NaN stays NaN */
}
#define GELU_K 0.7978845608028654f
static inline __m512 tanh_gelu16(__m512 a) { /* tanh(K (a + 0.044715 a^3)) */
    const __m512 u = _mm512_mul_ps(_mm512_set1_ps(GELU_K),
                                   _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(0.044715f), a), _mm512_mul_ps(a, a), a));
    const __m512 e = exp16(_mm512_add_ps(u, u));
    return _mm512_sub_ps(_mm512_set1_ps(1.0f), _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, _mm512_set1_ps(1.0f))));
}
static inline __m512 gelu16(__m512 a) {
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), a), _mm512_add_ps(_mm512_set1_ps(1.0f), tanh_gelu16(a)));
}
static inline __m512 gelu_grad16(__m512 a) { /* d gelu / da */
    const __m512 th = tanh_gelu16(a), half = _mm512_set1_ps(0.5f);
    const __m512 du = _mm512_mul_ps(_mm512_set1_ps(GELU_K),
                                    _mm512_fmadd_ps(_mm512_set1_ps(3 * 0.044715f), _mm512_mul_ps(a, a), _mm512_set1_ps(1.0f)));
    const __m512 sech2 = _mm512_fnmadd_ps(th, th, _mm512_set1_ps(1.0f));
    return _mm512_fmadd_ps(_mm512_mul_ps(_mm512_mul_ps(half, a), sech2), du, _mm512_mul_ps(half, _mm512_add_ps(_mm512_set1_ps(1.0f), th)));
}
#undef GELU_K

/* the tile's final values x (columns under mask m, row i at column j0) through the epilogue */
static inline __m512 epi_apply(const lmc_sgemm_epi *e, __m512 x, __mmask16 m, int64_t i, int64_t j0) {
    if (e->bias) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, e->bias + j0));
    if (e->type == LMC_EPI_GELU) {
        _mm512_mask_storeu_ps(e->out2 + i * e->ld2 + j0, m, gelu16(x));
    } else if (e->type == LMC_EPI_GELU_BWD) {
        x = _mm512_mul_ps(x, gelu_grad16(_mm512_maskz_loadu_ps(m, e->aux + i * e->ld2 + j0)));
    }
    return x;
}

#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)

/* C[0..mr)[0..nr) = alpha * Ap.Bp + beta * C (beta 0: C is not read) */
static void micro(int kc, const float *Ap, const float *Bp, float *C, int64_t ldc, int mr, int nr, float alpha,
                  float beta, const lmc_sgemm_epi *epi, int64_t row0, int64_t col0) {
#define DECL(i) __m512 c##i##a = _mm512_setzero_ps(), c##i##b = _mm512_setzero_ps();
    ROWS(DECL)
#undef DECL
    /* the C tile is read (beta != 0) or written at the end: ask for its lines now */
    for (int i = 0; i < mr; i++) {
        _mm_prefetch((const char *)(C + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(C + i * ldc + 16), _MM_HINT_T0);
    }
    for (int k = 0; k < kc; k++) {
        const __m512 b0 = _mm512_load_ps(Bp + k * NR), b1 = _mm512_load_ps(Bp + k * NR + 16);
        /* the B micro-panel comes from L2: 8 k ahead */
        _mm_prefetch((const char *)(Bp + (k + 8) * NR), _MM_HINT_T0);
        _mm_prefetch((const char *)(Bp + (k + 8) * NR + 16), _MM_HINT_T0);
#define FMA(i)                                                                                       \
    {                                                                                                \
        const __m512 a = _mm512_set1_ps(Ap[k * MR + i]);                                             \
        c##i##a = _mm512_fmadd_ps(a, b0, c##i##a);                                                   \
        c##i##b = _mm512_fmadd_ps(a, b1, c##i##b);                                                   \
    }
        ROWS(FMA)
#undef FMA
    }
    const __mmask16 m0 = lanes(nr), m1 = lanes(nr - 16);
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#define STORE(i)                                                                                     \
    if (i < mr) {                                                                                    \
        float *c = C + (int64_t)(i) * ldc;                                                           \
        __m512 x0 = _mm512_mul_ps(va, c##i##a), x1 = _mm512_mul_ps(va, c##i##b);                     \
        if (beta != 0) {                                                                             \
            x0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, c), x0);                              \
            x1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, c + 16), x1);                         \
        }                                                                                            \
        if (epi) {                                                                                   \
            x0 = epi_apply(epi, x0, m0, row0 + (i), col0);                                           \
            x1 = epi_apply(epi, x1, m1, row0 + (i), col0 + 16);                                      \
        }                                                                                            \
        _mm512_mask_storeu_ps(c, m0, x0);                                                            \
        _mm512_mask_storeu_ps(c + 16, m1, x1);                                                       \
    }
    ROWS(STORE)
#undef STORE
}

void lmc_sgemm_avx512(int tri, const lmc_sgemm_epi *epi, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                      float alpha, const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                      int64_t ldc, float *ws) {
    if (M <= 0 || N <= 0) return;
    if (epi && epi->type == LMC_EPI_NONE && !epi->bias) epi = NULL;
    if (epi) tri = LMC_TRI_NONE; /* a hint: the full product is right too */
    if (K <= 0) { /* C = beta C, then the epilogue */
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) C[i * ldc + j] = beta == 0 ? 0 : beta * C[i * ldc + j];
        if (epi)
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j += 16) {
                    const __mmask16 m = lanes((int)LMC_MIN(N - j, (int64_t)16));
                    _mm512_mask_storeu_ps(C + i * ldc + j, m, epi_apply(epi, _mm512_maskz_loadu_ps(m, C + i * ldc + j), m, i, j));
                }
        return;
    }
    /* rows of C in blocks of LMC_SGEMM_MB: the packed A block stays within the workspace */
    for (int64_t ic = 0; ic < M; ic += LMC_SGEMM_MB) {
        const int64_t mb = M - ic < LMC_SGEMM_MB ? M - ic : LMC_SGEMM_MB, mp = (mb + MR - 1) / MR;
        float *Ap = (float *)(((uintptr_t)ws + 63) & ~(uintptr_t)63), *Bp = Ap + (size_t)mp * MR * KC;
        const float *Ai = ta ? A + ic : A + ic * lda;
        float *Ci = C + ic * ldc;
        for (int64_t pc = 0; pc < K; pc += KC) {
            const int kc = (int)(K - pc < KC ? K - pc : KC);
            for (int64_t p = 0; p < mp; p++)
                pack_a(ta, Ai, lda, p * MR, (int)(mb - p * MR < MR ? mb - p * MR : MR), pc, kc, Ap + (size_t)p * MR * KC);
            for (int64_t jc = 0; jc < N; jc += NB) {
                const int64_t nb = N - jc < NB ? N - jc : NB;
                for (int64_t jr = 0; jr < nb; jr += NR)
                    pack_b(tb, B, ldb, pc, kc, jc + jr, (int)(nb - jr < NR ? nb - jr : NR), Bp + (jr / NR) * KC * NR);
                for (int64_t p = 0; p < mp; p++) {
                    const int mr = (int)(mb - p * MR < MR ? mb - p * MR : MR);
                    const int64_t r0 = ic + p * MR, r1 = r0 + mr; /* this panel's rows of C */
                    /* the k this panel needs (causal attention: see LMC_TRI_*), within [pc, pc + kc) */
                    int64_t k0 = pc, k1 = pc + kc;
                    if (tri == LMC_TRI_A_LOWER && k1 > r1) k1 = r1;
                    if (tri == LMC_TRI_A_UPPER && k0 < r0) k0 = r0;
                    if (k1 <= k0) continue; /* nothing here; an upper panel's first block comes later */
                    /* beta on the first k block a panel takes, 1 after it */
                    const float bet = k0 == (tri == LMC_TRI_A_UPPER ? LMC_MAX(r0, (int64_t)0) : 0) ? beta : 1.0f;
                    for (int64_t jr = 0; jr < nb; jr += NR) {
                        if (tri == LMC_TRI_C && jc + jr > r1 - 1) break; /* tiles right of the diagonal */
                        micro((int)(k1 - k0), Ap + (size_t)p * MR * KC + (k0 - pc) * MR,
                              Bp + (jr / NR) * KC * NR + (k0 - pc) * NR, Ci + p * MR * ldc + jc + jr, ldc, mr,
                              (int)(nb - jr < NR ? nb - jr : NR), alpha, bet, pc + kc >= K ? epi : NULL, r0,
                              jc + jr);
                    }
                }
            }
        }
    }
}
