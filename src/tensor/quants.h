/* quants.h — block layouts of the quantized tensor types and the kernel traits table
 * (internal to the kernels area: src/tensor/).
 *
 * Layouts are GGML's, byte for byte, because they are what GGUF files store. Every
 * block struct has a static_assert on its size. Per type the library keeps:
 *   to_float      dequantize n elements (bit-identical to gguf-py's dequantize)
 *   from_float    quantize n floats the way model files are made (the *_ref kernels;
 *                 byte-identical to gguf-py where it can quantize)
 *   vec_dot       dot product of one row of this type with one row of vec_dot_type
 *   vec_dot_type  what activations are converted to before vec_dot (llama.cpp's CPU
 *                 choice: F32->F32, F16->F16, BF16->BF16, Q4_0/Q5_0/Q8_0->Q8_0,
 *                 Q4_1/Q5_1->Q8_1, K-quants->Q8_K)
 *   act_from_float  how activations are converted to this type inside a matmul
 *                 (matches llama.cpp's x86 CPU path, which for Q8_0/Q8_1 rounds
 *                 half-to-even with scale 127/amax, unlike the file-making ref).
 */
#ifndef LMC_QUANTS_H
#define LMC_QUANTS_H

#include "lmc-impl.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define QK_K 256
#define K_SCALE_SIZE 12

typedef uint16_t lmc_fp16;
typedef uint16_t lmc_bf16;

/* ---- legacy 32-element blocks ---------------------------------------------- */
typedef struct {
    lmc_fp16 d;           /* scale                          */
    uint8_t qs[QK4_0 / 2]; /* nibbles: low = j, high = j + 16 */
} block_q4_0;
static_assert(sizeof(block_q4_0) == 18, "block_q4_0 size");

typedef struct {
    lmc_fp16 d, m;        /* scale, min                     */
    uint8_t qs[QK4_1 / 2];
} block_q4_1;
static_assert(sizeof(block_q4_1) == 20, "block_q4_1 size");

typedef struct {
    lmc_fp16 d;
    uint8_t qh[4];        /* 5th bit of each of the 32 quants */
    uint8_t qs[QK5_0 / 2];
} block_q5_0;
static_assert(sizeof(block_q5_0) == 22, "block_q5_0 size");

typedef struct {
    lmc_fp16 d, m;
    uint8_t qh[4];
    uint8_t qs[QK5_1 / 2];
} block_q5_1;
static_assert(sizeof(block_q5_1) == 24, "block_q5_1 size");

typedef struct {
    lmc_fp16 d;
    int8_t qs[QK8_0];
} block_q8_0;
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 size");

typedef struct {
    lmc_fp16 d;           /* scale                  */
    lmc_fp16 s;           /* d * sum(qs)            */
    int8_t qs[QK8_1];
} block_q8_1;
static_assert(sizeof(block_q8_1) == 36, "block_q8_1 size");

/* ---- K-quants: 256-element super-blocks ------------------------------------ */
typedef struct {
    uint8_t scales[QK_K / 16]; /* low 4 bits scale, high 4 bits min, per 16 */
    uint8_t qs[QK_K / 4];      /* 2-bit quants                            */
    lmc_fp16 d, dmin;
} block_q2_K;
static_assert(sizeof(block_q2_K) == 84, "block_q2_K size");

typedef struct {
    uint8_t hmask[QK_K / 8];   /* high bit (set = no -4 offset)   */
    uint8_t qs[QK_K / 4];      /* low 2 bits                      */
    uint8_t scales[12];        /* 16 scales of 6 bits, offset 32  */
    lmc_fp16 d;
} block_q3_K;
static_assert(sizeof(block_q3_K) == 110, "block_q3_K size");

typedef struct {
    lmc_fp16 d, dmin;
    uint8_t scales[K_SCALE_SIZE]; /* 8 scales + 8 mins, 6 bits each */
    uint8_t qs[QK_K / 2];
} block_q4_K;
static_assert(sizeof(block_q4_K) == 144, "block_q4_K size");

typedef struct {
    lmc_fp16 d, dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
} block_q5_K;
static_assert(sizeof(block_q5_K) == 176, "block_q5_K size");

typedef struct {
    uint8_t ql[QK_K / 2];      /* low 4 bits  */
    uint8_t qh[QK_K / 4];      /* high 2 bits */
    int8_t scales[QK_K / 16];
    lmc_fp16 d;
} block_q6_K;
static_assert(sizeof(block_q6_K) == 210, "block_q6_K size");

typedef struct {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];  /* sum of each 16 quants */
} block_q8_K;
static_assert(sizeof(block_q8_K) == 292, "block_q8_K size");

/* ---- half-precision conversions (IEEE round-to-nearest-even) ---------------- */
static inline uint32_t lmc_f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline float lmc_bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline float lmc_fp16_to_fp32(lmc_fp16 h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e == 0) {
        /* zero or subnormal: m * 2^-24 is exact in float */
        float v = (float)m * 0x1p-24f;
        return lmc_bits_f32(sign | lmc_f32_bits(v));
    }
    if (e == 31) return lmc_bits_f32(sign | 0x7f800000u | (m << 13));
    return lmc_bits_f32(sign | ((e + 112) << 23) | (m << 13));
}

static inline lmc_fp16 lmc_fp32_to_fp16(float f) {
    uint32_t x = lmc_f32_bits(f);
    uint32_t sign = x & 0x80000000u;
    x ^= sign;
    uint16_t o;
    if (x >= (143u << 23)) {            /* >= 65536, inf or nan */
        o = x > 0x7f800000u ? (uint16_t)(0x7e00 | ((x >> 13) & 0x3ff)) : 0x7c00;
    } else if (x < (113u << 23)) {      /* below 2^-14: subnormal half or zero */
        /* adding 0.5 aligns the half's subnormal ulp (2^-24) with the float's ulp,
         * so the FPU's round-to-nearest-even does the rounding */
        const uint32_t magic = (126u - 14u + 23u - 10u + 1u) << 23; /* 0.5 */
        float t = lmc_bits_f32(x) + lmc_bits_f32(magic);
        o = (uint16_t)(lmc_f32_bits(t) - magic);
    } else {
        uint32_t odd = (x >> 13) & 1;
        x = x - (112u << 23) + 0xfffu + odd; /* rebias + round half to even */
        o = (uint16_t)(x >> 13);
    }
    return (lmc_fp16)(o | (sign >> 16));
}

static inline float lmc_bf16_to_fp32(lmc_bf16 h) { return lmc_bits_f32((uint32_t)h << 16); }

static inline lmc_bf16 lmc_fp32_to_bf16(float f) {
    uint32_t u = lmc_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (lmc_bf16)((u >> 16) | 64); /* quiet nan */
    return (lmc_bf16)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

#define LMC_FP16_TO_FP32(x) lmc_fp16_to_fp32(x)
#define LMC_FP32_TO_FP16(x) lmc_fp32_to_fp16(x)

/* ---- kernel signatures ------------------------------------------------------ */
typedef void (*lmc_to_float_fn)(const void *src, float *dst, int64_t n);
typedef void (*lmc_from_float_fn)(const float *src, void *dst, int64_t n);
/* *s = dot(x[0..n), y[0..n)); x of the weight type, y of its vec_dot_type. */
typedef void (*lmc_vec_dot_fn)(int64_t n, float *s, const void *x, const void *y);
/* s[0..4) = dots of x with 4 rows y, y + y_stride bytes, ...; each result identical
 * to the 1-row kernel's (so batching never changes a token's numbers). */
typedef void (*lmc_vec_dot4_fn)(int64_t n, float *s, const void *x, const void *y, size_t y_stride);
/* Register-blocked tile: Y[t * ldy + r] = dot(weight row r, activation row t) for r < nr,
 * t < nt (rows w_row bytes apart, activations a_row bytes apart); every result identical
 * to the 1-row kernel's. Weight decoding and activation loads are shared across the
 * tile, which is what makes prefill and batched decode faster than row-by-row dots. */
typedef void (*lmc_gemm_tile_fn)(int64_t n, int64_t nr, int64_t nt, const void *W, size_t w_row,
                                 const void *A, size_t a_row, float *Y, int64_t ldy);

typedef struct lmc_type_traits {
    lmc_to_float_fn to_float;
    lmc_from_float_fn from_float;     /* file-making quantizer (NULL: cannot quantize) */
    lmc_from_float_fn act_from_float; /* activation conversion inside matmul       */
    lmc_vec_dot_fn vec_dot;           /* scalar reference dot                       */
    lmc_type vec_dot_type;
} lmc_type_traits;

/* NULL for types without kernels. */
const lmc_type_traits *lmc_get_type_traits(lmc_type t);

/* Dispatched (fastest available on this CPU) dot product for weight type t; the
 * scalar traits one when no SIMD kernel applies. */
lmc_vec_dot_fn lmc_get_vec_dot(lmc_type t);
/* 4-token kernel for weight type t, or NULL (then use lmc_get_vec_dot per token). */
lmc_vec_dot4_fn lmc_get_vec_dot4(lmc_type t);
/* Tile kernel for weight type t matching lmc_get_vec_dot(t) bit for bit, or NULL. */
lmc_gemm_tile_fn lmc_get_gemm_tile(lmc_type t);
/* Same for the activation conversion. */
lmc_from_float_fn lmc_get_act_from_float(lmc_type vec_dot_type);

/* Q8_0 and Q4_1 weights interleaved 8 rows at a time (repack.c): used on AVX-512 VNNI
 * and AVX2 CPUs unless LMC_REPACK=0. fits: a type with an r8 layout, n_out % 8 == 0 and
 * n_in % 32 == 0. */
bool lmc_r8_available(lmc_type t);
bool lmc_r8_fits(lmc_type t, int64_t n_out, int64_t n_in);
size_t lmc_r8_bytes(lmc_type t, int64_t n_out, int64_t n_in);
void lmc_r8_pack(lmc_type t, const void *src, int64_t n_out, int64_t n_in, void *dst);
/* Row `row` of packed weights as floats: the values lmc_dequantize_row gives for the
 * original row (a tied output's embedding lookups read it, not the dropped file pages). */
void lmc_r8_get_row(lmc_type t, const void *P, int64_t n_in, int64_t row, float *dst);
/* lmc_matmul for repacked weights P of type t (matmul.c); activations quantized as for
 * the row-major kernels (Q8_0, Q8_1). */
int lmc_matmul_r8(lmc_threadpool *tp, lmc_type t, const void *P, int64_t n_out, int64_t n_in, const float *X,
                  int64_t n_tok, float *Y);
/* The same for n_mat (1..4) matrices of one type and width over the same X: the
 * activations are quantized once and all the matrices' rows share one dispatch. Each
 * Y[k] gets exactly what lmc_matmul_r8 would give. */
int lmc_matmul_r8_multi(lmc_threadpool *tp, lmc_type t, int n_mat, const void *const *P, const int64_t *n_out,
                        int64_t n_in, const float *X, int64_t n_tok, float *const *Y);

/* Tests can force a kernel family (lmc_kernels_isa() tells which is in use):
 * 0 = auto, 1 = scalar, 2 = avx2, 3 = avx512; false if this CPU/build cannot run it. */
bool lmc_kernels_force_isa(int isa);

/* ---- scalar kernels (quants.c: plain + legacy; quants_k.c: K-quants) --------- */
void lmc_to_float_f32(const void *src, float *dst, int64_t n);
void lmc_to_float_f16(const void *src, float *dst, int64_t n);
void lmc_to_float_bf16(const void *src, float *dst, int64_t n);
void lmc_from_float_f32(const float *src, void *dst, int64_t n);
void lmc_from_float_f16(const float *src, void *dst, int64_t n);
void lmc_from_float_bf16(const float *src, void *dst, int64_t n);

void dequantize_row_q4_0_ref(const void *src, float *dst, int64_t n);
void dequantize_row_q4_1_ref(const void *src, float *dst, int64_t n);
void dequantize_row_q5_0_ref(const void *src, float *dst, int64_t n);
void dequantize_row_q5_1_ref(const void *src, float *dst, int64_t n);
void dequantize_row_q8_0_ref(const void *src, float *dst, int64_t n);
void dequantize_row_q8_1_ref(const void *src, float *dst, int64_t n);
void dequantize_row_q2_K_ref(const void *src, float *dst, int64_t n);
void dequantize_row_q3_K_ref(const void *src, float *dst, int64_t n);
void dequantize_row_q4_K_ref(const void *src, float *dst, int64_t n);
void dequantize_row_q5_K_ref(const void *src, float *dst, int64_t n);
void dequantize_row_q6_K_ref(const void *src, float *dst, int64_t n);
void dequantize_row_q8_K_ref(const void *src, float *dst, int64_t n);

void quantize_row_q4_0_ref(const float *src, void *dst, int64_t n);
void quantize_row_q4_1_ref(const float *src, void *dst, int64_t n);
void quantize_row_q5_0_ref(const float *src, void *dst, int64_t n);
void quantize_row_q5_1_ref(const float *src, void *dst, int64_t n);
void quantize_row_q8_0_ref(const float *src, void *dst, int64_t n);
void quantize_row_q8_1_ref(const float *src, void *dst, int64_t n);
void quantize_row_q2_K_ref(const float *src, void *dst, int64_t n);
void quantize_row_q3_K_ref(const float *src, void *dst, int64_t n);
void quantize_row_q4_K_ref(const float *src, void *dst, int64_t n);
void quantize_row_q5_K_ref(const float *src, void *dst, int64_t n);
void quantize_row_q6_K_ref(const float *src, void *dst, int64_t n);
void quantize_row_q8_K_ref(const float *src, void *dst, int64_t n);

/* Activation quantizers as llama.cpp's x86 CPU backend does them (scale 127/amax,
 * round half to even). */
void quantize_row_q8_0_act(const float *src, void *dst, int64_t n);
void quantize_row_q8_1_act(const float *src, void *dst, int64_t n);

void vec_dot_f32_ref(int64_t n, float *s, const void *x, const void *y);
void vec_dot_f16_ref(int64_t n, float *s, const void *x, const void *y);
void vec_dot_bf16_ref(int64_t n, float *s, const void *x, const void *y);
void vec_dot_q4_0_q8_0_ref(int64_t n, float *s, const void *x, const void *y);
void vec_dot_q4_1_q8_1_ref(int64_t n, float *s, const void *x, const void *y);
void vec_dot_q5_0_q8_0_ref(int64_t n, float *s, const void *x, const void *y);
void vec_dot_q5_1_q8_1_ref(int64_t n, float *s, const void *x, const void *y);
void vec_dot_q8_0_q8_0_ref(int64_t n, float *s, const void *x, const void *y);
void vec_dot_q2_K_q8_K_ref(int64_t n, float *s, const void *x, const void *y);
void vec_dot_q3_K_q8_K_ref(int64_t n, float *s, const void *x, const void *y);
void vec_dot_q4_K_q8_K_ref(int64_t n, float *s, const void *x, const void *y);
void vec_dot_q5_K_q8_K_ref(int64_t n, float *s, const void *x, const void *y);
void vec_dot_q6_K_q8_K_ref(int64_t n, float *s, const void *x, const void *y);

/* Decoding helpers shared by the scalar and SIMD K-quant code. */
static inline void lmc_q4k_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}
/* The 16 signed 6-bit scales of a Q3_K block (already minus 32). */
static inline void lmc_q3k_scales(const uint8_t *s, int8_t out[16]) {
    for (int i = 0; i < 16; i++) {
        int lo = i < 8 ? (s[i] & 0xF) : (s[i - 8] >> 4);
        int hi = (s[8 + (i & 3)] >> (2 * (i >> 2))) & 3;
        out[i] = (int8_t)((lo | (hi << 4)) - 32);
    }
}

#endif /* LMC_QUANTS_H */
