/* quants_k.c — scalar reference kernels of the K-quants (Q2_K..Q6_K over 256-element
 * super-blocks, and Q8_K, the activation type their dot products use): dequantize and
 * dot product. The model-file quantizers are in quants_k_quantize.c.
 *
 * Dequantize evaluates the same float expressions in the same order as gguf-py's
 * numpy code (scale = d * sub_scale, then scale * q - min), so results are
 * bit-identical. Dot products work on the integer quants of a whole super-block
 * (unpacked once to int8) and apply the float scales per sub-block, as GGML does. */
#include "quants.h"

/* ---- unpacking: one super-block -> 256 small ints ----------------------------- */

/* Q2_K: element e lives in qs[(e/128)*32 + e%32] at bit 2*((e%128)/32). */
static void unpack_q2_K(const block_q2_K *b, int8_t q[QK_K]) {
    for (int e = 0; e < QK_K; e++)
        q[e] = (int8_t)((b->qs[(e / 128) * 32 + e % 32] >> (2 * ((e % 128) / 32))) & 3);
}

/* Q3_K: low 2 bits as Q2_K; the high bit of element e is hmask[e%32] bit e/32, and
 * a clear bit means -4. */
static void unpack_q3_K(const block_q3_K *b, int8_t q[QK_K]) {
    for (int e = 0; e < QK_K; e++) {
        int lo = (b->qs[(e / 128) * 32 + e % 32] >> (2 * ((e % 128) / 32))) & 3;
        int hi = (b->hmask[e % 32] >> (e / 32)) & 1;
        q[e] = (int8_t)(lo - (hi ? 0 : 4));
    }
}

/* Q4_K: 64-element chunks c; low nibbles of qs[32c..] are elements 64c..64c+31, high
 * nibbles the next 32. */
static void unpack_q4_K(const block_q4_K *b, int8_t q[QK_K]) {
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) {
            q[64 * c + l] = (int8_t)(b->qs[32 * c + l] & 0xF);
            q[64 * c + 32 + l] = (int8_t)(b->qs[32 * c + l] >> 4);
        }
}

/* Q5_K: as Q4_K plus a 5th bit: qh[l] bit 2c for the low half, bit 2c+1 for the high. */
static void unpack_q5_K(const block_q5_K *b, int8_t q[QK_K]) {
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) {
            q[64 * c + l] = (int8_t)((b->qs[32 * c + l] & 0xF) | (((b->qh[l] >> (2 * c)) & 1) << 4));
            q[64 * c + 32 + l] =
                (int8_t)((b->qs[32 * c + l] >> 4) | (((b->qh[l] >> (2 * c + 1)) & 1) << 4));
        }
}

/* Q6_K: 128-element halves h; within one, 4 rows of 32 from ql (nibbles of two 32-byte
 * runs) and qh (2-bit fields), minus 32. */
static void unpack_q6_K(const block_q6_K *b, int8_t q[QK_K]) {
    for (int h = 0; h < 2; h++) {
        const uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
        int8_t *o = q + 128 * h;
        for (int l = 0; l < 32; l++) {
            o[l] = (int8_t)(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
            o[l + 32] = (int8_t)(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
            o[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
            o[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
        }
    }
}

/* ---- dequantize ------------------------------------------------------------------ */

void dequantize_row_q2_K_ref(const void *src, float *dst, int64_t n) {
    const block_q2_K *x = src;
    int8_t q[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, dst += QK_K) {
        const float d = lmc_fp16_to_fp32(x[i].d), dmin = lmc_fp16_to_fp32(x[i].dmin);
        unpack_q2_K(&x[i], q);
        for (int s = 0; s < 16; s++) {
            const float dl = d * (float)(x[i].scales[s] & 0xF);
            const float ml = dmin * (float)(x[i].scales[s] >> 4);
            for (int l = 0; l < 16; l++) {
                float p = dl * (float)q[16 * s + l];
                dst[16 * s + l] = p - ml;
            }
        }
    }
}

void dequantize_row_q3_K_ref(const void *src, float *dst, int64_t n) {
    const block_q3_K *x = src;
    int8_t q[QK_K], sc[16];
    for (int64_t i = 0; i < n / QK_K; i++, dst += QK_K) {
        const float d = lmc_fp16_to_fp32(x[i].d);
        unpack_q3_K(&x[i], q);
        lmc_q3k_scales(x[i].scales, sc);
        for (int s = 0; s < 16; s++) {
            const float dl = d * (float)sc[s];
            for (int l = 0; l < 16; l++) dst[16 * s + l] = dl * (float)q[16 * s + l];
        }
    }
}

/* Q4_K and Q5_K share their 8 sub-blocks of 32 with 6-bit scales and mins:
 * dst = d * scale * q - dmin * min. */
static void scale_min_to_float(float d, float dmin, const uint8_t *scales, const int8_t *q, float *dst) {
    for (int s = 0; s < 8; s++) {
        uint8_t sc, m;
        lmc_q4k_scale_min(s, scales, &sc, &m);
        const float dl = d * (float)sc, ml = dmin * (float)m;
        for (int l = 0; l < 32; l++) {
            float p = dl * (float)q[32 * s + l];
            dst[32 * s + l] = p - ml;
        }
    }
}

void dequantize_row_q4_K_ref(const void *src, float *dst, int64_t n) {
    const block_q4_K *x = src;
    int8_t q[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, dst += QK_K) {
        const float d = lmc_fp16_to_fp32(x[i].d), dmin = lmc_fp16_to_fp32(x[i].dmin);
        unpack_q4_K(&x[i], q);
        scale_min_to_float(d, dmin, x[i].scales, q, dst);
    }
}

void dequantize_row_q5_K_ref(const void *src, float *dst, int64_t n) {
    const block_q5_K *x = src;
    int8_t q[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, dst += QK_K) {
        const float d = lmc_fp16_to_fp32(x[i].d), dmin = lmc_fp16_to_fp32(x[i].dmin);
        unpack_q5_K(&x[i], q);
        scale_min_to_float(d, dmin, x[i].scales, q, dst);
    }
}

void dequantize_row_q6_K_ref(const void *src, float *dst, int64_t n) {
    const block_q6_K *x = src;
    int8_t q[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, dst += QK_K) {
        const float d = lmc_fp16_to_fp32(x[i].d);
        unpack_q6_K(&x[i], q);
        for (int s = 0; s < 16; s++) {
            const float dl = d * (float)x[i].scales[s];
            for (int l = 0; l < 16; l++) dst[16 * s + l] = dl * (float)q[16 * s + l];
        }
    }
}

void dequantize_row_q8_K_ref(const void *src, float *dst, int64_t n) {
    const block_q8_K *x = src;
    for (int64_t i = 0; i < n / QK_K; i++, dst += QK_K)
        for (int l = 0; l < QK_K; l++) dst[l] = x[i].d * (float)x[i].qs[l];
}

/* ---- Q8_K: the activation type -------------------------------------------------- */

/* Round half to even via the float mantissa, as GGML's nearest_int does (exact for
 * |v| < 2^22; what it gives beyond that is reproduced too). */
static inline int nearest_int(float v) {
    float t = v + 12582912.f;
    int32_t i;
    memcpy(&i, &t, 4);
    return (i & 0x007fffff) - 0x00400000;
}

void quantize_row_q8_K_ref(const float *src, void *dst, int64_t n) {
    block_q8_K *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
        float max = 0, amax = 0;
        for (int j = 0; j < QK_K; j++) {
            float ax = fabsf(src[j]);
            if (ax > amax) {
                amax = ax;
                max = src[j];
            }
        }
        if (!amax) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        /* -127/max (not -128): keeps every quant in [-127, 127] */
        const float iscale = -127.f / max;
        for (int j = 0; j < QK_K; j++) {
            int q = nearest_int(iscale * src[j]);
            y[i].qs[j] = (int8_t)(uint8_t)(q > 127 ? 127 : q); /* low byte, as GGML's cast */
        }
        for (int j = 0; j < QK_K / 16; j++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) sum += y[i].qs[16 * j + l];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1 / iscale;
    }
}

/* ---- dot products with Q8_K ------------------------------------------------------ */

static inline int dot16(const int8_t *a, const int8_t *b, int n) {
    int s = 0;
    for (int l = 0; l < n; l++) s += a[l] * b[l];
    return s;
}

void vec_dot_q2_K_q8_K_ref(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q2_K *x = vx;
    const block_q8_K *y = vy;
    int8_t q[QK_K];
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        unpack_q2_K(&x[i], q);
        int summs = 0, isum = 0;
        for (int j = 0; j < 16; j++) {
            summs += y[i].bsums[j] * (x[i].scales[j] >> 4);
            isum += (x[i].scales[j] & 0xF) * dot16(q + 16 * j, y[i].qs + 16 * j, 16);
        }
        const float dall = y[i].d * lmc_fp16_to_fp32(x[i].d);
        const float dmin = y[i].d * lmc_fp16_to_fp32(x[i].dmin);
        sumf += dall * (float)isum - dmin * (float)summs;
    }
    *s = sumf;
}

void vec_dot_q3_K_q8_K_ref(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q3_K *x = vx;
    const block_q8_K *y = vy;
    int8_t q[QK_K], sc[16];
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        unpack_q3_K(&x[i], q);
        lmc_q3k_scales(x[i].scales, sc);
        int isum = 0;
        for (int j = 0; j < 16; j++) isum += sc[j] * dot16(q + 16 * j, y[i].qs + 16 * j, 16);
        sumf += lmc_fp16_to_fp32(x[i].d) * y[i].d * (float)isum;
    }
    *s = sumf;
}

static float dot_q45_K(const int8_t *q, const uint8_t *scales, lmc_fp16 d, lmc_fp16 dmin,
                       const block_q8_K *y) {
    int isum = 0, summs = 0;
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        lmc_q4k_scale_min(j, scales, &sc, &m);
        isum += sc * dot16(q + 32 * j, y->qs + 32 * j, 32);
        summs += m * (y->bsums[2 * j] + y->bsums[2 * j + 1]);
    }
    return lmc_fp16_to_fp32(d) * y->d * (float)isum - lmc_fp16_to_fp32(dmin) * y->d * (float)summs;
}

void vec_dot_q4_K_q8_K_ref(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q4_K *x = vx;
    const block_q8_K *y = vy;
    int8_t q[QK_K];
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        unpack_q4_K(&x[i], q);
        sumf += dot_q45_K(q, x[i].scales, x[i].d, x[i].dmin, &y[i]);
    }
    *s = sumf;
}

void vec_dot_q5_K_q8_K_ref(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q5_K *x = vx;
    const block_q8_K *y = vy;
    int8_t q[QK_K];
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        unpack_q5_K(&x[i], q);
        sumf += dot_q45_K(q, x[i].scales, x[i].d, x[i].dmin, &y[i]);
    }
    *s = sumf;
}

void vec_dot_q6_K_q8_K_ref(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q6_K *x = vx;
    const block_q8_K *y = vy;
    int8_t q[QK_K];
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        unpack_q6_K(&x[i], q);
        int isum = 0;
        for (int j = 0; j < 16; j++) isum += x[i].scales[j] * dot16(q + 16 * j, y[i].qs + 16 * j, 16);
        sumf += lmc_fp16_to_fp32(x[i].d) * y[i].d * (float)isum;
    }
    *s = sumf;
}
