/* layers.c — the per-layer forward functions of the transformer, over explicit float
 * buffers (shape legend in model-impl.h). Each is written so that a matching
 * *_backward can be added next to it: inputs are const, and what a backward pass needs
 * (rstd, mean, attention weights) can be saved through optional pointers.
 *
 * The arithmetic follows llama.cpp's CPU backend where the order of operations
 * changes the result beyond float rounding noise: RMSNorm and LayerNorm sums in double,
 * RoPE angles built by repeated multiplication in float, softmax sums in double, and
 * GELU through a table of F16 values. */
#include "model-impl.h"
#include "../tensor/quants.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

/* the SIMD variants of the inner loops below are chosen once, at first use */
static pthread_once_t g_simd_once = PTHREAD_ONCE_INIT;
static void pick_kernels(void);

/* ---- normalization ---------------------------------------------------------------- */

static void rmsnorm_scalar(float *out, float *rstd, const float *x, const float *w, int64_t T, int64_t C,
                           float eps) {
    for (int64_t t = 0; t < T; t++) {
        const float *xt = x + t * C;
        float *ot = out + t * C;
        double sum = 0.0;
        for (int64_t i = 0; i < C; i++) sum += (double)(xt[i] * xt[i]);
        const float mean = (float)(sum / (double)C);
        const float scale = 1.0f / sqrtf(mean + eps);
        if (rstd) rstd[t] = scale;
        if (w)
            for (int64_t i = 0; i < C; i++) ot[i] = (xt[i] * scale) * w[i];
        else
            for (int64_t i = 0; i < C; i++) ot[i] = xt[i] * scale;
    }
}

static void (*g_rmsnorm)(float *, float *, const float *, const float *, int64_t, int64_t, float) = rmsnorm_scalar;

void lmc_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int64_t T, int64_t C,
                         float eps) {
    pthread_once(&g_simd_once, pick_kernels);
    g_rmsnorm(out, rstd, x, w, T, C, eps);
}

void lmc_layernorm_forward(float *out, float *mean_out, float *rstd, const float *x, const float *w,
                           const float *b, int64_t T, int64_t C, float eps) {
    for (int64_t t = 0; t < T; t++) {
        const float *xt = x + t * C;
        float *ot = out + t * C;
        double sum = 0.0;
        for (int64_t i = 0; i < C; i++) sum += (double)xt[i];
        const float mean = (float)(sum / (double)C);
        double var = 0.0;
        for (int64_t i = 0; i < C; i++) {
            float d = xt[i] - mean;
            ot[i] = d;
            var += (double)(d * d);
        }
        const float variance = (float)(var / (double)C);
        const float scale = 1.0f / sqrtf(variance + eps);
        if (mean_out) mean_out[t] = mean;
        if (rstd) rstd[t] = scale;
        for (int64_t i = 0; i < C; i++) {
            float y = ot[i] * scale;
            if (w) y = y * w[i];
            if (b) y = y + b[i];
            ot[i] = y;
        }
    }
}

/* ---- rotary position embedding ------------------------------------------------------ */

void lmc_rope_angles(float *cs, const int32_t *pos, int64_t T, int n_rot, float freq_base, float freq_scale,
                     const float *freq_factors) {
    const float theta_scale = powf(freq_base, -2.0f / (float)n_rot);
    const int half = n_rot / 2;
    for (int64_t t = 0; t < T; t++, cs += n_rot) {
        /* angle of pair i: pos * base^(-2i/n_rot) / ff_i * freq_scale, built by repeated
         * multiplication in float (bit-exact with llama.cpp's cache of angles) */
        float theta = (float)pos[t];
        for (int i = 0; i < half; i++) {
            const float ff = freq_factors ? freq_factors[i] : 1.0f;
            const float th = freq_scale * (theta / ff);
            cs[2 * i] = cosf(th);
            cs[2 * i + 1] = sinf(th);
            theta *= theta_scale;
        }
    }
}

static void rope_apply_scalar(float *x, const float *cs, int64_t T, int n_head, int D, int n_rot,
                              lmc_rope_type type) {
    LMC_ROPE_APPLY_BODY(x, cs, T, n_head, D, n_rot, type);
}
static void (*g_rope_apply)(float *, const float *, int64_t, int, int, int, lmc_rope_type) = rope_apply_scalar;

void lmc_rope_apply(float *x, const float *cs, int64_t T, int n_head, int D, int n_rot, lmc_rope_type type) {
    if (type == LMC_ROPE_NONE || n_rot <= 0) return;
    pthread_once(&g_simd_once, pick_kernels);
    g_rope_apply(x, cs, T, n_head, D, n_rot, type);
}

void lmc_rope_forward(float *x, const int32_t *pos, int64_t T, int n_head, int D, int n_rot,
                      lmc_rope_type type, float freq_base, float freq_scale, const float *freq_factors) {
    if (type == LMC_ROPE_NONE || n_rot <= 0) return;
    float cs[2 * 512]; /* cos, sin per pair; n_rot <= 1024 is checked at load */
    for (int64_t t = 0; t < T; t++) {
        lmc_rope_angles(cs, pos + t, 1, n_rot, freq_base, freq_scale, freq_factors);
        lmc_rope_apply(x + t * n_head * (int64_t)D, cs, 1, n_head, D, n_rot, type);
    }
}

/* ---- element-wise ------------------------------------------------------------------ */

void lmc_bias_forward(float *x, const float *b, int64_t T, int64_t n) {
    for (int64_t t = 0; t < T; t++)
        for (int64_t i = 0; i < n; i++) x[t * n + i] += b[i];
}

void lmc_residual_forward(float *x, const float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] += y[i];
}

static void swiglu_scalar(float *out, const float *gate, const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i];
        out[i] = (g / (1.0f + expf(-g))) * up[i];
    }
}

static void (*g_swiglu)(float *, const float *, const float *, int64_t) = swiglu_scalar;

void lmc_swiglu_forward(float *out, const float *gate, const float *up, int64_t n) {
    pthread_once(&g_simd_once, pick_kernels);
    g_swiglu(out, gate, up, n);
}

static uint16_t g_gelu_table[1 << 16];
static pthread_once_t g_gelu_once = PTHREAD_ONCE_INIT;

static void gelu_table_init(void) {
    const float sqrt_2_over_pi = 0.79788456080286535587989211986876f, coef_a = 0.044715f;
    for (uint32_t i = 0; i < (1u << 16); i++) {
        const float x = lmc_f16_to_f32((uint16_t)i);
        const float y = 0.5f * x * (1.0f + tanhf(sqrt_2_over_pi * x * (1.0f + coef_a * x * x)));
        g_gelu_table[i] = lmc_f32_to_f16(y);
    }
}

void lmc_gelu_forward(float *out, const float *x, int64_t n) {
    pthread_once(&g_gelu_once, gelu_table_init);
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i];
        if (v <= -10.0f)
            out[i] = 0.0f;
        else if (v >= 10.0f)
            out[i] = v;
        else
            out[i] = lmc_f16_to_f32(g_gelu_table[lmc_f32_to_f16(v)]);
    }
}

void lmc_softmax_forward(float *x, int64_t n) {
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        if (x[i] > max) max = x[i];
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float e = expf(x[i] - max);
        x[i] = e;
        sum += (double)e;
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

/* ---- attention ------------------------------------------------------------------------ */

static inline float dot_f32(const float *a, const float *b, int n) {
    /* 8 partial sums: lets the compiler vectorize without reassociation flags */
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += a[i + j] * b[i + j];
    float s = 0.0f;
    for (; i < n; i++) s += a[i] * b[i];
    return s + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static inline float dot_f16(const float *a, const uint16_t *b, int n) {
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += a[i + j] * lmc_f16_to_f32(b[i + j]);
    float s = 0.0f;
    for (; i < n; i++) s += a[i] * lmc_f16_to_f32(b[i]);
    return s + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static void scores_scalar(float *s, const float *q, const void *kc, bool f16, int64_t n_kv, int64_t stride, int D,
                          bool vec_dot_order) {
    (void)vec_dot_order;
    for (int64_t j = 0; j < n_kv; j++)
        s[j] = f16 ? dot_f16(q, (const uint16_t *)kc + j * stride, D) : dot_f32(q, (const float *)kc + j * stride, D);
}

/* s[n] = softmax(scale * s): max-subtracted, sum in double (as ggml_soft_max) */
static void softmax_scalar(float *s, int64_t n, float scale) {
    for (int64_t j = 0; j < n; j++) s[j] *= scale;
    lmc_softmax_forward(s, n);
}

/* portable: one partial sum (P = 1), every row added in order */
static void accum_rows_scalar(float *acc, const float *p, const void *vc, bool f16, int64_t j0, int64_t n,
                              int64_t stride, int D, int P) {
    (void)j0;
    (void)P;
    for (int64_t j = 0; j < n; j++) {
        if (f16) {
            const uint16_t *v = (const uint16_t *)vc + j * stride;
            for (int d = 0; d < D; d++) acc[d] += p[j] * lmc_f16_to_f32(v[d]);
        } else {
            const float *v = (const float *)vc + j * stride;
            for (int d = 0; d < D; d++) acc[d] += p[j] * v[d];
        }
    }
}

static void accum_reduce_scalar(float *out, const float *acc, int D, bool vec_dot_order) {
    (void)vec_dot_order;
    memcpy(out, acc, (size_t)D * sizeof(float));
}

static void round_f16_scalar(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = lmc_f16_to_f32(lmc_f32_to_f16(x[i]));
}

/* The inner loops, chosen once: portable C or AVX2 (layers_avx2.c). */
static void (*g_scores)(float *, const float *, const void *, bool, int64_t, int64_t, int, bool) = scores_scalar;
static void (*g_softmax)(float *, int64_t, float) = softmax_scalar;
static void (*g_round_f16)(float *, int64_t) = round_f16_scalar;
static void f32_to_f16_row_scalar(uint16_t *dst, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = lmc_f32_to_f16(x[i]);
}
static void (*g_to_f16_row)(uint16_t *, const float *, int64_t) = f32_to_f16_row_scalar;
static void (*g_accum_rows)(float *, const float *, const void *, bool, int64_t, int64_t, int64_t, int,
                            int) = accum_rows_scalar;
static void (*g_accum_reduce)(float *, const float *, int, bool) = accum_reduce_scalar;
/* the softmax of G <= 3 rows of scores (s + g * stride, n each), each then rounded to F16
 * values: row by row through g_softmax and g_round_f16, or (AVX-512) interleaved */
static void softmax_round_rows(float *s, int64_t stride, int G, int64_t n, float scale) {
    for (int g = 0; g < G; g++) {
        g_softmax(s + g * stride, n, scale);
        g_round_f16(s + g * stride, n);
    }
}
static void (*g_softmax_round)(float *, int64_t, int, int64_t, float) = softmax_round_rows;

/* one decode token's heads of a KV group together: 0 off, 1 with AVX-512 (attn_avx512.c),
 * 2 with AVX2 (layers_avx2.c); what the CPU has is in g_group_best */
static int g_group_decode = 0;
#ifndef LMC_SCALAR_ONLY
static int g_group_best = 0;
static void (*g_scores_group)(float *, int64_t, const float *, int, const uint16_t *const *, const uint16_t *const *,
                              int64_t, int64_t, int);
static void (*g_accum_group)(float *, const float *, int64_t, int, const uint16_t *const *, int64_t, int);
static void set_group(int mode) {
    g_group_decode = mode;
    g_scores_group = mode == 1 ? lmc_attn_scores_group_avx512 : lmc_attn_scores_group_avx2;
    g_accum_group = mode == 1 ? lmc_attn_accum_group_avx512 : lmc_attn_accum_group_avx2;
}
#endif

static void pick_kernels(void) {
#ifndef LMC_SCALAR_ONLY
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        g_group_best = strcmp(lmc_kernels_isa(), "avx512") == 0 ? 1 : strcmp(lmc_kernels_isa(), "avx2") == 0 ? 2 : 0;
    const char *grp = getenv("LMC_ATTN_GROUP"); /* 0: per-head loops, for comparisons */
    set_group(grp && strcmp(grp, "0") == 0 ? 0 : g_group_best);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
        g_scores = lmc_attn_scores_avx2;
        g_softmax = lmc_attn_softmax_avx2;
        g_accum_rows = lmc_attn_accum_rows_avx2;
        g_accum_reduce = lmc_attn_accum_reduce;
        g_swiglu = lmc_swiglu_avx2;
        g_round_f16 = lmc_round_f16_avx2;
        g_to_f16_row = lmc_f32_to_f16_row_avx2;
        g_rope_apply = lmc_rope_apply_fma;
        g_rmsnorm = lmc_rmsnorm_avx2;
    }
    if (g_group_best == 1) { /* the AVX-512 kernels are in force */
        g_softmax = lmc_attn_softmax_avx512;
        g_swiglu = lmc_swiglu_avx512;
        g_accum_reduce = lmc_attn_accum_reduce_avx512;
        g_round_f16 = lmc_round_f16_avx512;
        g_softmax_round = lmc_attn_softmax_round_group_avx512;
    }
#endif
}

/* llama.cpp's CPU flash attention for one (query, head) when it does not tile: q is
 * rounded to F16, each q.k is an F16 dot product, and the output is accumulated in
 * F16 with an online softmax (rescaled whenever the running maximum grows). Short
 * heads go through ggml's scalar tails (products summed in double, every F16 update
 * rounded); longer ones are summed here in the same element order. */
static void attend_row_flash_f16(const float *q, const uint16_t *kc, const uint16_t *vc, int64_t n_kv,
                                 int64_t stride, int D, float scale, float *out) {
    uint16_t qh[1024], acc[1024];
    for (int d = 0; d < D; d++) qh[d] = lmc_f32_to_f16(q[d]), acc[d] = 0;
    float M = -INFINITY, S = 0.0f;
    for (int64_t j = 0; j < n_kv; j++) {
        const uint16_t *k = kc + j * stride, *v = vc + j * stride;
        double dot = 0.0;
        for (int d = 0; d < D; d++) dot += (double)(lmc_f16_to_f32(qh[d]) * lmc_f16_to_f32(k[d]));
        const float sc = (float)dot * scale;
        float ms = 1.0f, vs = 1.0f;
        if (sc > M) {
            const float Mold = M;
            M = sc;
            ms = expf(Mold - M);
            for (int d = 0; d < D; d++) acc[d] = lmc_f32_to_f16(lmc_f16_to_f32(acc[d]) * ms);
        } else {
            vs = expf(sc - M);
        }
        for (int d = 0; d < D; d++) acc[d] = lmc_f32_to_f16(lmc_f16_to_f32(acc[d]) + lmc_f16_to_f32(v[d]) * vs);
        S = S * ms + vs;
    }
    const float inv = S == 0.0f ? 0.0f : 1.0f / S;
    for (int d = 0; d < D; d++) out[d] = lmc_f16_to_f32(acc[d]) * inv;
}

/* The positions of run g within first..last: their number (<= 0: none), the first in *lo. */
static inline int64_t seg_clip(const lmc_kv_seg *g, int64_t first, int64_t last, int64_t *lo) {
    *lo = LMC_MAX(g->p0, first);
    return LMC_MIN(g->p0 + g->n, last + 1) - *lo;
}
/* the row of position pos, KV head kvh, in run g's K or V (base), elements of esz bytes */
static inline const uint8_t *seg_row(const void *base, const lmc_kv_seg *g, int64_t pos, int kvh, size_t esz) {
    return (const uint8_t *)base + (size_t)((pos - g->p0) * g->row_stride + kvh * g->head_stride) * esz;
}

/* One (token, head) row of attention: out[D] from q[D] over n_kv cache rows. */
static void attend_row(const lmc_attn_args *a, int64_t t, int h, float *s) {
    const int D = a->D, group = a->n_head / a->n_head_kv, kvh = h / group;
    const int64_t Ckv = (int64_t)a->n_head_kv * D, HD = (int64_t)a->n_head * D;
    /* sliding window: the query at position p sees keys first..p only */
    const int64_t pos = a->pos0 + t;
    const int64_t first = a->window > 0 && pos + 1 > a->window ? pos + 1 - a->window : 0;
    const int64_t n_kv = pos + 1 - first;
    const float *q = a->q + t * HD + (int64_t)h * D;
    float *out = a->out + t * HD + (int64_t)h * D;
    const bool f16 = a->kv_type == LMC_TYPE_F16;
    const size_t esz = f16 ? 2 : 4, head_off = ((size_t)first * (size_t)Ckv + (size_t)kvh * (size_t)D) * esz;
    const bool flash = a->flash && f16, tiled = flash && a->T >= 64 && D % 16 == 0;

    /* flash attention: llama.cpp tiles >= 64 queries when the head size is a multiple
     * of the SIMD width (16 floats on AVX-512) and then works in F32 throughout */
    if (flash && !tiled && !a->probs) {
        attend_row_flash_f16(q, (const uint16_t *)((const uint8_t *)a->kc + head_off),
                             (const uint16_t *)((const uint8_t *)a->vc + head_off), n_kv, Ckv, D, a->scale, out);
        return;
    }
    float qh[1024]; /* D <= 1024 is checked at load */
    if (f16 && !tiled) { /* llama.cpp converts q to the F16 cache's type before the dot */
        memcpy(qh, q, (size_t)D * sizeof(float));
        g_round_f16(qh, D);
        q = qh;
    }
    /* llama.cpp forms q.k with its tinyBLAS GEMM for several F16 queries and with
     * vec_dot otherwise (an F32 query block is a strided view, one query is a GEMV),
     * and p.V with tinyBLAS for several queries, vec_dot for one */
    const bool vdo_scores = !(f16 && a->T > 1), vdo_acc = a->T == 1;
    /* the cache as runs of positions: a paged cache's blocks where they are (in position
     * order), or the contiguous cache as one run from position 0 */
    const lmc_kv_seg whole = {.p0 = 0, .n = pos + 1, .k = a->kc, .v = a->vc, .row_stride = Ckv, .head_stride = D};
    const lmc_kv_seg *seg = a->seg ? a->seg : &whole;
    const int n_seg = a->seg ? a->n_seg : 1;
    for (int i = 0; i < n_seg; i++) {
        int64_t lo;
        const int64_t n = seg_clip(&seg[i], first, pos, &lo);
        if (n > 0)
            g_scores(s + (lo - first), q, seg_row(seg[i].k, &seg[i], lo, kvh, esz), f16, n, seg[i].row_stride, D,
                     vdo_scores);
    }
    g_softmax(s, n_kv, a->scale);
    if (f16 && !tiled) g_round_f16(s, n_kv); /* the weights meet an F16 V */
    if (a->probs) {
        float *p = a->probs + (t * a->n_head + h) * (a->pos0 + a->T);
        memset(p, 0, (size_t)first * sizeof(float));
        memcpy(p + first, s, (size_t)n_kv * sizeof(float));
        memset(p + pos + 1, 0, (size_t)(a->pos0 + a->T - pos - 1) * sizeof(float));
    }
    float *acc = s + a->pos0 + a->T; /* [P][D] partial sums: llama.cpp's 32 or 8, or one (portable) */
    const int P = g_accum_rows == accum_rows_scalar ? 1 : vdo_acc ? 32 : 8;
    memset(acc, 0, (size_t)P * (size_t)D * sizeof(float));
    for (int i = 0; i < n_seg; i++) {
        int64_t lo;
        const int64_t n = seg_clip(&seg[i], first, pos, &lo);
        if (n > 0)
            g_accum_rows(acc, s + (lo - first), seg_row(seg[i].v, &seg[i], lo, kvh, esz), f16, lo - first, n,
                         seg[i].row_stride, D, P);
    }
    g_accum_reduce(out, acc, D, vdo_acc);
}

#ifndef LMC_SCALAR_ONLY
/* keys looked ahead by the grouped decode path's prefetches (~2 memory latencies of its work) */
#define DECODE_AHEAD 32

/* the rows of KV head kvh at positions first .. first+n-1 (K into kr, V into vr, either
 * may be NULL), from the runs of a paged cache or the one run of a contiguous one */
static void decode_rows(const lmc_kv_seg *seg, int n_seg, int kvh, int64_t first, int64_t last, const uint16_t **kr,
                        const uint16_t **vr) {
    for (int i = 0; i < n_seg; i++) {
        int64_t lo;
        const int64_t n = seg_clip(&seg[i], first, last, &lo);
        if (n <= 0) continue;
        const uint16_t *k = (const uint16_t *)seg_row(seg[i].k, &seg[i], lo, kvh, 2);
        const uint16_t *v = (const uint16_t *)seg_row(seg[i].v, &seg[i], lo, kvh, 2);
        for (int64_t r = 0; r < n; r++) {
            if (kr) kr[lo - first + r] = k + r * seg[i].row_stride;
            if (vr) vr[lo - first + r] = v + r * seg[i].row_stride;
        }
    }
}

/* Heads h0 .. h0+nh-1 (nh <= 3, one KV group) of a single F16 query (T = 1): the same
 * numbers as attend_row for each, with each K and V row read once for all of them
 * (g_scores_group, g_accum_group: attn_avx512.c's or layers_avx2.c's kernels). s
 * holds lmc_attn_scratch_floats: scores [3][n_ctx], partial sums [3][32][D], the
 * rounded queries and the K and V row pointers. The rows come from memory: the scores
 * kernel asks for keys DECODE_AHEAD on and for the values as it goes, and the first
 * keys of the next KV head (next_kvh, or -1) are asked for before the weighted sum. */
static void attend_heads_decode(const lmc_attn_args *a, int h0, int nh, int next_kvh, float *s) {
    const int D = a->D, kvh = h0 / (a->n_head / a->n_head_kv);
    const int64_t Ckv = (int64_t)a->n_head_kv * D, pos = a->pos0;
    const int64_t first = a->window > 0 && pos + 1 > a->window ? pos + 1 - a->window : 0, n_kv = pos + 1 - first;
    const int64_t n_ctx = a->pos0 + a->T;
    float *sc = s, *acc = s + 3 * n_ctx, *qh = acc + 3 * 32 * (int64_t)D;
    const uint16_t **kr = (const uint16_t **)(((uintptr_t)(qh + 3 * (int64_t)D) + 15) & ~(uintptr_t)15),
                   **vr = kr + n_kv;
    memcpy(qh, a->q + (int64_t)h0 * D, (size_t)nh * (size_t)D * sizeof(float));
    g_round_f16(qh, (int64_t)nh * D); /* llama.cpp converts q to the F16 cache's type */
    const lmc_kv_seg whole = {.p0 = 0, .n = pos + 1, .k = a->kc, .v = a->vc, .row_stride = Ckv, .head_stride = D};
    const lmc_kv_seg *seg = a->seg ? a->seg : &whole;
    const int n_seg = a->seg ? a->n_seg : 1;
    decode_rows(seg, n_seg, kvh, first, pos, kr, vr);
    g_scores_group(sc, n_ctx, qh, nh, kr, vr, n_kv, DECODE_AHEAD, D);
    if (next_kvh >= 0) { /* the next head's first keys (its row pointers go where these were) */
        const int64_t m = LMC_MIN((int64_t)DECODE_AHEAD, n_kv);
        decode_rows(seg, n_seg, next_kvh, first, first + m - 1, kr, NULL);
        for (int64_t j = 0; j < m; j++) lmc_pf_row(kr[j], D, false);
    }
    g_softmax_round(sc, n_ctx, nh, n_kv, a->scale); /* the weights meet an F16 V */
    g_accum_group(acc, sc, n_ctx, nh, vr, n_kv, D);
    for (int g = 0; g < nh; g++) g_accum_reduce(a->out + (int64_t)(h0 + g) * D, acc + (int64_t)g * 32 * D, D, true);
}
#endif

/* heads [r0, r1) of a single query through attend_heads_decode, when it applies */
static bool attend_decode_range(const lmc_attn_args *a, int64_t r0, int64_t r1, float *s) {
#ifndef LMC_SCALAR_ONLY
    if (!g_group_decode || a->T != 1 || a->kv_type != LMC_TYPE_F16 || a->flash || a->probs || a->D % 32 != 0)
        return false;
    const int group = a->n_head / a->n_head_kv;
    for (int64_t h = r0; h < r1;) {
        const int64_t end = LMC_MIN(LMC_MIN(r1, (h / group + 1) * group), h + 3);
        const int next_kvh = end < r1 && end / group != h / group ? (int)(end / group) : -1;
        attend_heads_decode(a, (int)h, (int)(end - h), next_kvh, s);
        h = end;
    }
    return true;
#else
    (void)a, (void)r0, (void)r1, (void)s;
    return false;
#endif
}

static void attention_task(void *arg, int ith, int nth) {
    const lmc_attn_args *a = arg;
    float *s = a->scratch + (int64_t)ith * a->scratch_stride;
    if (a->T >= 4 * nth) {
        /* a prompt: causal rows cost their position, so contiguous halves would give the
         * last thread three quarters of the work; tokens are dealt out in turn instead */
        for (int64_t t = ith; t < a->T; t += nth)
            for (int h = 0; h < a->n_head; h++) attend_row(a, t, h, s);
        return;
    }
    const int64_t n_rows = a->T * a->n_head;
    const int64_t per = (n_rows + nth - 1) / nth, r0 = per * ith, r1 = LMC_MIN(r0 + per, n_rows);
    if (attend_decode_range(a, r0, r1, s)) return;
    for (int64_t r = r0; r < r1; r++) attend_row(a, r / a->n_head, (int)(r % a->n_head), s);
}

void lmc_f32_to_f16_row(uint16_t *dst, const float *x, int64_t n) {
    pthread_once(&g_simd_once, pick_kernels);
    g_to_f16_row(dst, x, n);
}

int lmc_attn_group_decode(int mode) {
    pthread_once(&g_simd_once, pick_kernels);
#ifndef LMC_SCALAR_ONLY
    if (mode == 0 || (mode == 1 && g_group_best == 1) || (mode == 2 && g_group_best >= 1)) {
        set_group(mode);
    } else if (mode > 0) {
        return -1;
    }
#else
    if (mode > 0) return -1;
#endif
    return g_group_decode;
}

void lmc_attention_forward(lmc_threadpool *tp, const lmc_attn_args *a) {
    pthread_once(&g_simd_once, pick_kernels);
    if (tp && lmc_threadpool_n_threads(tp) > 1 && a->T * a->n_head > 1)
        lmc_threadpool_run(tp, attention_task, (void *)a);
    else
        attention_task((void *)a, 0, 1);
}

/* ---- weights --------------------------------------------------------------------------- */

int lmc_linear_shared(lmc_threadpool *tp, int n, const lmc_weight *const *w, const float *const *b, const float *X,
                      int64_t T, float *const *Y) {
    bool one = n >= 2 && n <= 4; /* one dispatch when every matrix is repacked alike */
    for (int k = 0; one && k < n; k++)
        one = w[k]->packed && w[k]->type == w[0]->type && w[k]->n_in == w[0]->n_in;
    int rc = LMC_OK;
    if (one) {
        const void *P[4];
        int64_t n_out[4];
        for (int k = 0; k < n; k++) P[k] = w[k]->packed, n_out[k] = w[k]->n_out;
        rc = lmc_matmul_r8_multi(tp, w[0]->type, n, P, n_out, w[0]->n_in, X, T, Y);
    } else {
        for (int k = 0; !rc && k < n; k++) rc = lmc_weight_matmul(tp, w[k], 0, X, T, Y[k]);
    }
    for (int k = 0; !rc && k < n; k++)
        if (b[k]) lmc_bias_forward(Y[k], b[k], T, w[k]->n_out);
    return rc;
}

int lmc_linear(lmc_threadpool *tp, const lmc_weight *w, const float *b, const float *X, int64_t T, float *Y) {
    return lmc_linear_shared(tp, 1, &w, &b, X, T, &Y);
}

int lmc_qkv_forward(lmc_threadpool *tp, const lmc_layer *L, const float *X, int64_t T, float *q, float *k, float *v) {
    const lmc_weight *w[3] = {&L->wq, &L->wk, &L->wv};
    const float *b[3] = {L->bq, L->bk, L->bv};
    float *Y[3] = {q, k, v};
    return lmc_linear_shared(tp, 3, w, b, X, T, Y);
}

int lmc_gate_up_forward(lmc_threadpool *tp, const lmc_layer *L, const float *X, int64_t T, float *g, float *u) {
    const lmc_weight *w[2] = {&L->ffn_gate, &L->ffn_up};
    const float *b[2] = {L->ffn_gate_b, L->ffn_up_b};
    float *Y[2] = {g, u};
    return lmc_linear_shared(tp, 2, w, b, X, T, Y);
}

int lmc_weight_matmul(lmc_threadpool *tp, const lmc_weight *w, int64_t e, const float *X, int64_t T, float *Y) {
    if (w->packed) return lmc_matmul_r8(tp, w->type, w->packed, w->n_out, w->n_in, X, T, Y);
    const uint8_t *W = (const uint8_t *)w->data + (size_t)e * w->mat_bytes;
    /* dense weights as llama.cpp's mul_mat (sgemm for batches), experts as its mul_mat_id */
    if (w->n_mat == 1) return lmc_matmul_dense(tp, w->type, W, w->n_out, w->n_in, X, T, Y);
    return lmc_matmul(tp, w->type, W, w->n_out, w->n_in, X, T, Y);
}

/* ---- row-wise steps of a llama block ---------------------------------------------------- */

typedef struct {
    lmc_context *c;
    const lmc_layer *L;
    int il;
    lmc_rows_kind kind;
    int64_t T;
} rows_job;

static void rows_run(const rows_job *j, int64_t t0, int64_t t1) {
    lmc_context *c = j->c;
    const lmc_model *m = c->model;
    const lmc_model_hparams *hp = &m->hp;
    const int64_t C = hp->n_embd, F = hp->n_ff, n = t1 - t0, HD = (int64_t)hp->n_head * hp->head_dim,
                  Ckv = (int64_t)hp->n_head_kv * hp->head_dim;
    switch (j->kind) {
    case LMC_ROWS_ATTN_NORM:
        lmc_rmsnorm_forward(c->xb + t0 * C, NULL, c->x + t0 * C, j->L->attn_norm, n, C, hp->norm_eps);
        break;
    case LMC_ROWS_ROPE:
    case LMC_ROWS_ROPE_STORE:
        /* the angles were computed once for the forward (lmc_layer_rope_angles) */
        lmc_rope_apply(c->q + t0 * HD, c->rope_cs + t0 * hp->n_rot, n, hp->n_head, hp->head_dim, hp->n_rot,
                       hp->rope_type);
        lmc_rope_apply(c->k + t0 * Ckv, c->rope_cs + t0 * hp->n_rot, n, hp->n_head_kv, hp->head_dim, hp->n_rot,
                       hp->rope_type);
        if (j->kind == LMC_ROWS_ROPE_STORE)
            lmc_kv_cache_store(&c->kv, j->il, c->n_past + t0, n, c->k + t0 * Ckv, c->v + t0 * Ckv);
        break;
    case LMC_ROWS_MID: /* x += attention; xb = ffn_norm(x) */
        lmc_residual_forward(c->x + t0 * C, c->xb2 + t0 * C, n * C);
        lmc_rmsnorm_forward(c->xb + t0 * C, NULL, c->x + t0 * C, j->L->ffn_norm, n, C, hp->norm_eps);
        break;
    case LMC_ROWS_SWIGLU: lmc_swiglu_forward(c->hb + t0 * F, c->hb + t0 * F, c->hb2 + t0 * F, n * F); break;
    default: lmc_residual_forward(c->x + t0 * C, c->xb2 + t0 * C, n * C);
    }
}

static void rows_task(void *arg, int ith, int nth) {
    const rows_job *j = arg;
    const int64_t t0 = j->T * ith / nth, t1 = j->T * (ith + 1) / nth;
    if (t0 < t1) rows_run(j, t0, t1);
}

void lmc_layer_rope_angles(lmc_context *c, int64_t T) {
    const lmc_model_hparams *hp = &c->model->hp;
    if (hp->rope_type == LMC_ROPE_NONE || hp->n_rot <= 0) return;
    lmc_rope_angles(c->rope_cs, c->pos, T, hp->n_rot, hp->rope_freq_base, hp->rope_freq_scale, c->model->rope_freqs);
}

void lmc_layer_rows(lmc_context *c, const lmc_layer *L, int il, lmc_rows_kind kind, int64_t T, int64_t min_rows) {
    rows_job j = {.c = c, .L = L, .il = il, .kind = kind, .T = T};
    if (c->tp && T >= min_rows && lmc_threadpool_n_threads(c->tp) > 1) lmc_threadpool_run(c->tp, rows_task, &j);
    else rows_run(&j, 0, T);
}
