/* model-impl.h — internals of the model area (src/model/): the bound weights, the KV
 * cache, the context's activation buffers and the per-layer forward functions.
 *
 * Shape legend used in every comment of this area:
 *   T   tokens in the current step (1 for decode, up to n_batch for prefill)
 *   C   n_embd, the residual width           F   n_ff, the feed-forward width
 *   H   query heads      Hkv  key/value heads      D   head_dim
 *   Ckv = Hkv*D, the width of one K or V row   V   n_vocab
 *   N   KV positions visible to a token (pos + 1)
 *   E   experts          Eu   experts used per token
 * Matrices are row-major, [rows][cols]; a GGUF weight with ne = [n_in, n_out] is
 * [n_out][n_in] here (n_out rows of n_in elements). */
#ifndef LMC_MODEL_IMPL_H
#define LMC_MODEL_IMPL_H

#include "lmc-impl.h"

#include <string.h>

/* ---- half precision conversions (round to nearest even, like F16C) ----------- */

static inline float lmc_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, x;
    if (e == 0) {
        float f = (float)m * 0x1p-24f; /* zero or subnormal: exact in float */
        memcpy(&x, &f, 4);
        x |= sign;
    } else if (e == 31) {
        x = sign | 0x7f800000u | (m << 13);
    } else {
        x = sign | ((e + 112) << 23) | (m << 13);
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

static inline uint16_t lmc_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return (uint16_t)(sign | (ax > 0x7f800000u ? 0x7e00 : 0x7c00));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* rounds to >= 65520: inf */
    if (ax >= 0x38800000u) {                                  /* normal half */
        uint32_t h = (ax >> 13) - (112u << 10), r = ax & 0x1fff;
        if (r > 0x1000 || (r == 0x1000 && (h & 1))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t e = ax >> 23;                                    /* subnormal half or zero */
    int shift = 126 - (int)e;
    if (e == 0 || shift > 24) return (uint16_t)sign;
    uint32_t m = (ax & 0x7fffff) | 0x800000, q = m >> shift, rem = m & ((1u << shift) - 1),
             half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) q++;
    return (uint16_t)(sign | q);
}

/* ---- weights ---------------------------------------------------------------- */

/* A weight matrix (or stack of E matrices) as stored in the file. */
typedef struct lmc_weight {
    lmc_type type;
    int64_t n_in;        /* ne[0]: elements per row                         */
    int64_t n_out;       /* ne[1]: rows per matrix                          */
    int64_t n_mat;       /* ne[2]: matrices (experts), 1 for a plain weight */
    size_t row_bytes;
    size_t mat_bytes;    /* n_out * row_bytes                               */
    const void *data;    /* NULL when the tensor is absent                  */
    const void *packed;  /* interleaved 8 rows (repack.c) or NULL; owned by
                            the model, used by lmc_weight_matmul           */
} lmc_weight;

typedef struct lmc_layer {
    const float *attn_norm, *attn_norm_b;          /* [C]                          */
    lmc_weight wq, wk, wv;                          /* [H*D][C], [Ckv][C], [Ckv][C] */
    const float *bq, *bk, *bv;                      /* [H*D], [Ckv], [Ckv] or NULL  */
    lmc_weight wqkv;                                /* gpt2: [H*D + 2 Ckv][C]       */
    const float *bqkv;
    lmc_weight wo;                                  /* [C][H*D]                     */
    const float *bo;                                /* [C] or NULL                  */
    const float *ffn_norm, *ffn_norm_b;             /* [C]                          */
    lmc_weight ffn_gate, ffn_up, ffn_down;          /* [F][C], [F][C], [C][F]       */
    const float *ffn_gate_b, *ffn_up_b, *ffn_down_b;
    lmc_weight ffn_gate_inp;                        /* MoE router [E][C]            */
    lmc_weight ffn_gate_exps, ffn_up_exps;          /* E x [F][C]                   */
    lmc_weight ffn_down_exps;                       /* E x [C][F]                   */
} lmc_layer;

struct lmc_model {
    lmc_gguf *gguf;            /* owns the mapping every weight points into */
    lmc_model_hparams hp;
    lmc_weight tok_embd;       /* [V][C]                         */
    lmc_weight pos_embd;       /* gpt2: [n_ctx_train][C]         */
    lmc_weight output;         /* [V][C] (token_embd when tied)  */
    const float *output_b;     /* [V] or NULL                    */
    const float *output_norm, *output_norm_b; /* [C]             */
    const float *rope_freqs;   /* [n_rot/2] or NULL (llama 3)    */
    lmc_layer *layers;         /* [n_layer]                      */
    uint8_t *swa;              /* [n_layer] 1 = sliding window, or NULL */
    void **owned;              /* 1-D tensors converted to F32   */
    int n_owned;
    int64_t n_params;
};

/* ---- sliding-window attention (swa.c) ------------------------------------------- */

/* How far back layer il attends: a query at position p sees keys at positions
 * p-W+1 .. p for a window of W tokens; 0 means every earlier position (full attention).
 * Every attention implementation (the context's and the engine's) asks this. */
int32_t lmc_model_layer_window(const lmc_model *m, int il);
/* Reads <arch>.attention.sliding_window and .sliding_window_pattern (at load). */
int lmc_model_read_swa(lmc_model *m, const char *arch, const char *path);

/* ---- KV cache (kv_cache.c) ----------------------------------------------------- */

/* One contiguous K and one V array per layer, each [n_ctx][Ckv] of type F32 or F16. */
typedef struct lmc_kv_cache {
    lmc_type type;
    int n_layer;
    int64_t n_ctx, n_embd_kv;
    size_t row_bytes;          /* bytes of one [Ckv] row      */
    void *k, *v;               /* [n_layer][n_ctx][Ckv] each  */
} lmc_kv_cache;

int lmc_kv_cache_init(lmc_kv_cache *c, int n_layer, int64_t n_ctx, int64_t n_embd_kv, lmc_type type);
void lmc_kv_cache_free(lmc_kv_cache *c);
/* Writes T rows of K and V (each [T][Ckv] floats) at positions pos0..pos0+T-1. */
void lmc_kv_cache_store(lmc_kv_cache *c, int layer, int64_t pos0, int64_t T, const float *k, const float *v);
/* Start of a layer's K or V rows. */
const void *lmc_kv_cache_k(const lmc_kv_cache *c, int layer);
const void *lmc_kv_cache_v(const lmc_kv_cache *c, int layer);

/* ---- per-layer forward functions (layers.c) ------------------------------------ */

/* out[T][C] = x / sqrt(mean(x^2) + eps) * w. rstd[T] (may be NULL) keeps 1/rms for a
 * backward pass. out may equal x. */
void lmc_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int64_t T, int64_t C,
                         float eps);
/* out[T][C] = (x - mean) / sqrt(var + eps) * w + b (w, b may be NULL). mean[T], rstd[T]
 * may be NULL. out may equal x. */
void lmc_layernorm_forward(float *out, float *mean, float *rstd, const float *x, const float *w,
                           const float *b, int64_t T, int64_t C, float eps);
/* x[T][n_head][D] rotated in place at positions pos[T]; only the first n_rot elements
 * of each head rotate (pairs (2i, 2i+1) for NORM, (i, i + n_rot/2) for NEOX).
 * freq_factors[n_rot/2] may be NULL. */
void lmc_rope_forward(float *x, const int32_t *pos, int64_t T, int n_head, int D, int n_rot,
                      lmc_rope_type type, float freq_base, float freq_scale, const float *freq_factors);
/* The same in two parts, so that a forward computes the angles once for all its layers:
 * cs[T][n_rot] = (cos, sin) of each position's pair angles; then x[T][n_head][D] rotated
 * by them. */
void lmc_rope_angles(float *cs, const int32_t *pos, int64_t T, int n_rot, float freq_base, float freq_scale,
                     const float *freq_factors);
void lmc_rope_apply(float *x, const float *cs, int64_t T, int n_head, int D, int n_rot, lmc_rope_type type);
/* lmc_rope_apply's loop, compiled twice: portable (fmaf may be a libm call there) and with
 * FMA instructions (layers_avx2.c); fmaf is exact either way, so the bits agree */
#define LMC_ROPE_APPLY_BODY(x, cs, T, n_head, D, n_rot, type)                                    \
    do {                                                                                         \
        const int half_ = (n_rot) / 2;                                                           \
        for (int64_t t_ = 0; t_ < (T); t_++) {                                                   \
            const float *c_ = (cs) + t_ * (n_rot);                                               \
            for (int h_ = 0; h_ < (n_head); h_++) {                                              \
                float *v_ = (x) + (t_ * (n_head) + h_) * (int64_t)(D);                           \
                for (int i_ = 0; i_ < half_; i_++) {                                             \
                    const int i0_ = (type) == LMC_ROPE_NORM ? 2 * i_ : i_;                       \
                    const int i1_ = (type) == LMC_ROPE_NORM ? 2 * i_ + 1 : i_ + half_;           \
                    const float co_ = c_[2 * i_], si_ = c_[2 * i_ + 1];                          \
                    const float x0_ = v_[i0_], x1_ = v_[i1_];                                    \
                    /* llama.cpp is built with FMA contraction: x0*c - x1*s becomes            \
                     * fma(x0, c, -(x1*s)); doing the same keeps the bits equal */             \
                    v_[i0_] = fmaf(x0_, co_, -(x1_ * si_));                                      \
                    v_[i1_] = fmaf(x0_, si_, x1_ * co_);                                         \
                }                                                                                \
            }                                                                                    \
        }                                                                                        \
    } while (0)
/* x[T][n] += b[n] */
void lmc_bias_forward(float *x, const float *b, int64_t T, int64_t n);
/* x[n] += y[n] */
void lmc_residual_forward(float *x, const float *y, int64_t n);
/* out[n] = silu(gate) * up, silu(g) = g / (1 + exp(-g)). out may equal gate or up. */
void lmc_swiglu_forward(float *out, const float *gate, const float *up, int64_t n);
/* out[n] = gelu(x) (tanh form) evaluated the way llama.cpp's CPU backend does: x is
 * rounded to F16 and looked up in a table of F16 results (x <= -10 -> 0, x >= 10 -> x). */
void lmc_gelu_forward(float *out, const float *x, int64_t n);
/* In place softmax of x[n] (max-subtracted, sum in double). */
void lmc_softmax_forward(float *x, int64_t n);

/* dst[n] = x rounded to F16 (to nearest even, as lmc_f32_to_f16; F16C when the CPU has
 * it): how K/V rows enter an F16 cache. */
void lmc_f32_to_f16_row(uint16_t *dst, const float *x, int64_t n);

/* Causal self-attention of T new tokens over the KV cache.
 *   q       [T][H*D]   queries (RoPE applied), token t sits at position pos0 + t
 *   kc, vc  [n_ctx][Ckv] cache rows of type kv_type (F32 or F16), rows 0..pos0+T-1 filled
 *   out     [T][H*D]   softmax(scale * q.k) . v per head; head h reads KV head h / (H/Hkv)
 *   probs   [T][H][pos0+T] saved attention weights (0 where masked), or NULL
 *   scratch [n_threads][scratch_stride] floats, scratch_stride >= lmc_attn_scratch_floats(pos0 + T, D)
 * With an F16 cache, q and the weights are rounded to F16 before their dot products,
 * as llama.cpp does when it multiplies by an F16 cache. */
/* Cache positions p0 .. p0+n-1 of one run (a KV block of a paged cache, or a whole
 * contiguous cache): position p0 + r of KV head h starts at element
 * r * row_stride + h * head_stride of k (and of v). A contiguous cache is row-major
 * (row_stride = n_head_kv * D, head_stride = D); a paged f32/f16 block is head-major
 * (row_stride = D, head_stride = S * D), so that one head's rows are contiguous. */
typedef struct lmc_kv_seg {
    int64_t p0, n;
    const void *k, *v;
    int64_t row_stride, head_stride;
} lmc_kv_seg;

typedef struct lmc_attn_args {
    float *out, *probs;
    const float *q;
    const void *kc, *vc;
    const lmc_kv_seg *seg;   /* when set (n_seg runs in position order, covering every
                              * position attended): read the cache through these
                              * instead of kc/vc. Not with flash or probs. */
    int n_seg;
    lmc_type kv_type;
    int64_t T, pos0;
    int n_head, n_head_kv, D;
    int64_t window;          /* sliding window (0 = full): query at p sees p-window+1..p */
    bool flash;              /* llama.cpp's flash-attention numerics (F16 cache only)   */
    float scale;
    float *scratch;
    int64_t scratch_stride;  /* floats per thread in scratch (see below) */
} lmc_attn_args;
/* Attention's scratch per thread for up to n_ctx positions. */
static inline int64_t lmc_attn_scratch_floats(int64_t n_ctx, int D) {
    /* the most any path takes: the grouped decode path's (layers.c) scores of 3 heads
     * (3 n_ctx), their partial sums (96 D) and rounded queries (3 D), a K and a V row
     * pointer per position (4 n_ctx), alignment; one head's path needs n_ctx + 32 D */
    return 7 * n_ctx + 99 * (int64_t)D + 16;
}
void lmc_attention_forward(lmc_threadpool *tp, const lmc_attn_args *a);
/* How one decode token's heads of a KV group are attended (F16 cache, D % 32 == 0):
 * 0 one head at a time, 1 together with AVX-512 kernels (attn_avx512.c), 2 together with
 * AVX2 ones (layers_avx2.c). The default is the best the CPU has (LMC_KERNELS=avx2: 2;
 * LMC_ATTN_GROUP=0: 0). mode 0, 1 or 2 sets it (tests compare the paths; not while
 * attention runs) and returns it, or -1 if the CPU lacks it; -1 only asks. */
int lmc_attn_group_decode(int mode);
#ifndef LMC_SCALAR_ONLY
/* layers_avx2.c (see there): s[j] = q . k_j over n_kv cache rows stride elements apart
 * (F16 when f16, else F32); in-place softmax of scale * s; out[D] = sum_j p[j] v_j. */
void lmc_attn_scores_avx2(float *s, const float *q, const void *kc, bool f16, int64_t n_kv, int64_t stride, int D,
                          bool vec_dot_order);
void lmc_attn_softmax_avx2(float *s, int64_t n, float scale);
void lmc_rope_apply_fma(float *x, const float *cs, int64_t T, int n_head, int D, int n_rot, lmc_rope_type type);
/* lmc_rmsnorm_forward with the sum of squares in 16 double partial sums (the portable
 * loop sums them in order, as llama.cpp does): both are exact to double rounding, so the
 * float mean differs only when it sits within ~1e-16 of a float rounding boundary */
void lmc_rmsnorm_avx2(float *out, float *rstd, const float *x, const float *w, int64_t T, int64_t C, float eps);
/* layers_avx512.c: lmc_attn_softmax_avx2, lmc_swiglu_avx2, lmc_attn_accum_reduce and
 * lmc_round_f16_avx2 in 16 lanes, same bits */
void lmc_attn_softmax_avx512(float *s, int64_t n, float scale);
void lmc_swiglu_avx512(float *out, const float *gate, const float *up, int64_t n);
void lmc_attn_accum_reduce_avx512(float *out, const float *acc, int D, bool vec_dot_order);
void lmc_round_f16_avx512(float *x, int64_t n);
/* the grouped decode path's G <= 3 rows of scores (s + g * stride, n each): each row's
 * lmc_attn_softmax_avx512 then lmc_round_f16_avx512, the rows interleaved */
void lmc_attn_softmax_round_group_avx512(float *s, int64_t stride, int G, int64_t n, float scale);
/* acc[P][D] += the weighted V rows j0 .. j0+n-1 of the attended range, row j into
 * partial sum j mod P (P = 32 in vec_dot order, 8 in tinyBLAS's); then out[D] = the
 * partial sums added in llama.cpp's order. */
void lmc_attn_accum_rows_avx2(float *acc, const float *p, const void *vc, bool f16, int64_t j0, int64_t n,
                              int64_t stride, int D, int P);
void lmc_attn_accum_reduce(float *out, const float *acc, int D, bool vec_dot_order);
/* output d of that reduction on its own, the tree of adds the vector lanes compute (the
 * SIMD functions' tails) */
static inline float lmc_accum_reduce_one(const float *acc, int D, int d, bool vec_dot_order) {
#define A_(m) acc[(size_t)(m) * (size_t)D + (size_t)d]
    if (!vec_dot_order) return ((A_(0) + A_(4)) + (A_(2) + A_(6))) + ((A_(1) + A_(5)) + (A_(3) + A_(7)));
    float x[8];
    for (int l = 0; l < 8; l++) x[l] = (A_(l) + A_(16 + l)) + (A_(8 + l) + A_(24 + l));
    const float t0 = x[0] + x[4], t1 = x[1] + x[5], t2 = x[2] + x[6], t3 = x[3] + x[7];
    return (t0 + t1) + (t2 + t3);
#undef A_
}
/* attn_avx512.c (see there): one query's scores for G heads (q [G][D], rounded to F16;
 * s + g * s_stride) over the n F16 key rows krows[0..n-1], asking for the keys `ahead`
 * on and for the value rows vrows[0..n-1] as it goes; and their p.V partial sums
 * acc[G][32][D] over the value rows rows[0..n-1] (row j into sum j mod 32). D % 32 == 0,
 * G <= 3. */
void lmc_attn_scores_group_avx512(float *s, int64_t s_stride, const float *q, int G, const uint16_t *const *krows,
                                  const uint16_t *const *vrows, int64_t n, int64_t ahead, int D);
void lmc_attn_accum_group_avx512(float *acc, const float *p, int64_t p_stride, int G, const uint16_t *const *rows,
                                 int64_t n, int D);
/* asks for the cache lines of one F16 K/V row of D values: into L1, or into L2 (l2) for
 * rows read later (GCC's locality 3 / 2 are prefetcht0 / prefetcht1 on x86) */
static inline void lmc_pf_row(const uint16_t *r, int D, bool l2) {
    for (int b = 0; b < 2 * D; b += 64) {
        if (l2) __builtin_prefetch((const uint8_t *)r + b, 0, 2);
        else __builtin_prefetch((const uint8_t *)r + b, 0, 3);
    }
}
/* fn(..., G) with G a constant 1, 2 or 3, so that the unused heads' code folds away
 * (the grouped kernels' inline bodies take G last) */
#define LMC_WITH_G(G, fn, ...)                                                                    \
    do {                                                                                          \
        if ((G) == 1) fn(__VA_ARGS__, 1);                                                         \
        else if ((G) == 2) fn(__VA_ARGS__, 2);                                                    \
        else fn(__VA_ARGS__, 3);                                                                  \
    } while (0)
/* layers_avx2.c: the same two with 256-bit vectors (same bits) */
void lmc_attn_scores_group_avx2(float *s, int64_t s_stride, const float *q, int G, const uint16_t *const *krows,
                                const uint16_t *const *vrows, int64_t n, int64_t ahead, int D);
void lmc_attn_accum_group_avx2(float *acc, const float *p, int64_t p_stride, int G, const uint16_t *const *rows,
                               int64_t n, int D);
void lmc_swiglu_avx2(float *out, const float *gate, const float *up, int64_t n);
/* x[n] rounded to the nearest F16 value, kept as float */
void lmc_round_f16_avx2(float *x, int64_t n);
void lmc_f32_to_f16_row_avx2(uint16_t *dst, const float *x, int64_t n);
#endif

/* The row-wise steps of a llama block on c's T rows (c->x, xb, xb2, q, k, v, hb, hb2,
 * rope_cs), split over c->tp by whole tokens when T >= min_rows: each row is computed by the
 * same code either way, so results do not depend on the split. ROPE_STORE also writes
 * K/V to c->kv at c->n_past (the single-sequence path; the engine stores into blocks). */
typedef enum {
    LMC_ROWS_ATTN_NORM, /* xb = attn_norm(x)                 */
    LMC_ROWS_ROPE,      /* RoPE on q and k                   */
    LMC_ROWS_ROPE_STORE,
    LMC_ROWS_MID,       /* x += xb2; xb = ffn_norm(x)        */
    LMC_ROWS_SWIGLU,    /* hb = silu(hb) * hb2               */
    LMC_ROWS_RESIDUAL   /* x += xb2                          */
} lmc_rows_kind;
void lmc_layer_rows(lmc_context *c, const lmc_layer *L, int il, lmc_rows_kind kind, int64_t T, int64_t min_rows);
/* c->rope_cs for c's T positions (c->pos): once per forward, before LMC_ROWS_ROPE */
void lmc_layer_rope_angles(lmc_context *c, int64_t T);

/* Y[T][n_out] = X[T][n_in] . W^T for matrix e of w (0 for a plain weight). */
int lmc_weight_matmul(lmc_threadpool *tp, const lmc_weight *w, int64_t e, const float *X, int64_t T,
                      float *Y);
/* c->x[T][C] = token_embd[tokens[t]] (+ position_embd[c->pos[t]] for gpt2); uses c->xb */
int lmc_embed_tokens(lmc_context *c, const int32_t *tokens, int64_t T);
/* Y = X . w^T (+ b when not NULL): lmc_weight_matmul and the bias. */
int lmc_linear(lmc_threadpool *tp, const lmc_weight *w, const float *b, const float *X, int64_t T, float *Y);
/* The same for n (1..4) weights of the same input X (q/k/v, gate/up): one dispatch and
 * one activation conversion when they are repacked alike, else one call each; the
 * results are those of lmc_linear. */
int lmc_linear_shared(lmc_threadpool *tp, int n, const lmc_weight *const *w, const float *const *b, const float *X,
                      int64_t T, float *const *Y);
/* a llama block's q/k/v projections of X (+ biases), and its gate/up ones */
int lmc_qkv_forward(lmc_threadpool *tp, const lmc_layer *L, const float *X, int64_t T, float *q, float *k, float *v);
int lmc_gate_up_forward(lmc_threadpool *tp, const lmc_layer *L, const float *X, int64_t T, float *g, float *u);
/* lmc_matmul for a dense (non-expert) weight: a batch of >= 2 tokens uses llama.cpp's
 * sgemm sum order where it differs (F16). Defined in src/tensor/matmul.c. */
int lmc_matmul_dense(lmc_threadpool *tp, lmc_type wt, const void *W, int64_t n_out, int64_t n_in,
                     const float *X, int64_t n_tok, float *Y);
/* Row `token` of token_embd as floats. With a tied output that was repacked, from the
 * packed copy (same values), so the file's embedding pages stay out of memory. The
 * repacked weights (src/tensor/repack.c) are declared in src/tensor/quants.h. */
int lmc_model_embed_row(const lmc_model *m, int32_t token, float *dst);

/* ---- the context ----------------------------------------------------------------- */

struct lmc_context {
    const lmc_model *model;
    lmc_context_params params;
    lmc_threadpool *tp;
    lmc_kv_cache kv;
    int64_t n_past;            /* tokens in the cache                       */
    int64_t shift_keep;        /* lmc_context_set_shift (0 = stop when full) */
    int64_t n_ubatch;          /* tokens per forward step (buffer capacity)  */
    /* activations of one step, B = n_ubatch tokens */
    float *x;                  /* [B][C]  residual stream                    */
    float *xb;                 /* [B][C]  normalized input of a sub-layer    */
    float *xb2;                /* [B][C]  sub-layer output                   */
    float *q;                  /* [B][H*D]                                   */
    float *k, *v;              /* [B][Ckv]                                   */
    float *qkv;                /* gpt2: [B][H*D + 2 Ckv]                     */
    float *att;                /* [B][H*D] attention output before wo        */
    float *hb, *hb2;           /* [B][F]   gate and up (MoE: per-expert F)   */
    float *router;             /* MoE: [B][E] router probabilities           */
    int32_t *sel;              /* MoE: [B][Eu] chosen experts                */
    float *selw;               /* MoE: [B][Eu] their normalized weights      */
    float *xe;                 /* MoE: [B][C] inputs gathered for one expert  */
    float *ye;                 /* MoE: [B][Eu][C] expert outputs per slot     */
    int32_t *rows;             /* MoE: [B] token rows for one expert         */
    float *scratch;            /* attention: [n_threads][n_ctx + 32 D]       */
    int32_t *pos;              /* [B] positions                              */
    float *rope_cs;            /* [B][n_rot] RoPE (cos, sin) of pos's angles  */
    float *block;              /* the one allocation all of the above live in */
};

/* forward.c: runs T <= n_ubatch tokens at positions n_past.. and writes logits for the
 * last token (all_logits false) or for all T tokens into logits (may be NULL). */
int lmc_forward_step(lmc_context *c, const int32_t *tokens, int64_t T, float *logits, bool all_logits);

/* moe.c: out[T][C] = sum over the Eu best experts of weight * SwiGLU expert(x). */
int lmc_moe_forward(lmc_context *c, const lmc_layer *L, const float *x, float *out, int64_t T);

#endif /* LMC_MODEL_IMPL_H */
