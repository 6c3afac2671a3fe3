/* quants.c — scalar reference kernels of the plain (F32, F16, BF16) and the legacy
 * 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1): dequantize, quantize,
 * activation quantize and dot product.
 *
 * Dequantize evaluates exactly the float expressions gguf-py's numpy code does (one
 * rounding per product / sum, same order), so results are bit-identical to it. This
 * file must not be built with FMA contraction (it is compiled for baseline x86-64).
 * Quantize follows GGML's *_ref rules, which gguf-py reproduces byte for byte. */
#include "quants.h"

#include <float.h>

/* ---- plain types ------------------------------------------------------------ */

void lmc_to_float_f32(const void *src, float *dst, int64_t n) {
    memcpy(dst, src, (size_t)n * sizeof(float));
}

void lmc_to_float_f16(const void *src, float *dst, int64_t n) {
    const lmc_fp16 *x = src;
    for (int64_t i = 0; i < n; i++) dst[i] = lmc_fp16_to_fp32(x[i]);
}

void lmc_to_float_bf16(const void *src, float *dst, int64_t n) {
    const lmc_bf16 *x = src;
    for (int64_t i = 0; i < n; i++) dst[i] = lmc_bf16_to_fp32(x[i]);
}

void lmc_from_float_f32(const float *src, void *dst, int64_t n) {
    memcpy(dst, src, (size_t)n * sizeof(float));
}

void lmc_from_float_f16(const float *src, void *dst, int64_t n) {
    lmc_fp16 *y = dst;
    for (int64_t i = 0; i < n; i++) y[i] = lmc_fp32_to_fp16(src[i]);
}

void lmc_from_float_bf16(const float *src, void *dst, int64_t n) {
    lmc_bf16 *y = dst;
    for (int64_t i = 0; i < n; i++) y[i] = lmc_fp32_to_bf16(src[i]);
}

/* ---- dequantize --------------------------------------------------------------- */

void dequantize_row_q4_0_ref(const void *src, float *dst, int64_t n) {
    const block_q4_0 *x = src;
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const float d = lmc_fp16_to_fp32(x[i].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            dst[j] = (float)((x[i].qs[j] & 0xF) - 8) * d;
            dst[j + QK4_0 / 2] = (float)((x[i].qs[j] >> 4) - 8) * d;
        }
        dst += QK4_0;
    }
}

void dequantize_row_q4_1_ref(const void *src, float *dst, int64_t n) {
    const block_q4_1 *x = src;
    for (int64_t i = 0; i < n / QK4_1; i++) {
        const float d = lmc_fp16_to_fp32(x[i].d), m = lmc_fp16_to_fp32(x[i].m);
        for (int j = 0; j < QK4_1 / 2; j++) {
            float p0 = d * (float)(x[i].qs[j] & 0xF);
            float p1 = d * (float)(x[i].qs[j] >> 4);
            dst[j] = p0 + m;
            dst[j + QK4_1 / 2] = p1 + m;
        }
        dst += QK4_1;
    }
}

void dequantize_row_q5_0_ref(const void *src, float *dst, int64_t n) {
    const block_q5_0 *x = src;
    for (int64_t i = 0; i < n / QK5_0; i++) {
        const float d = lmc_fp16_to_fp32(x[i].d);
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        for (int j = 0; j < QK5_0 / 2; j++) {
            int h0 = ((qh >> j) << 4) & 0x10;
            int h1 = (qh >> (j + 12)) & 0x10;
            dst[j] = (float)(((x[i].qs[j] & 0xF) | h0) - 16) * d;
            dst[j + QK5_0 / 2] = (float)(((x[i].qs[j] >> 4) | h1) - 16) * d;
        }
        dst += QK5_0;
    }
}

void dequantize_row_q5_1_ref(const void *src, float *dst, int64_t n) {
    const block_q5_1 *x = src;
    for (int64_t i = 0; i < n / QK5_1; i++) {
        const float d = lmc_fp16_to_fp32(x[i].d), m = lmc_fp16_to_fp32(x[i].m);
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        for (int j = 0; j < QK5_1 / 2; j++) {
            int h0 = ((qh >> j) << 4) & 0x10;
            int h1 = (qh >> (j + 12)) & 0x10;
            float p0 = d * (float)((x[i].qs[j] & 0xF) | h0);
            float p1 = d * (float)((x[i].qs[j] >> 4) | h1);
            dst[j] = p0 + m;
            dst[j + QK5_1 / 2] = p1 + m;
        }
        dst += QK5_1;
    }
}

void dequantize_row_q8_0_ref(const void *src, float *dst, int64_t n) {
    const block_q8_0 *x = src;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        const float d = lmc_fp16_to_fp32(x[i].d);
        for (int j = 0; j < QK8_0; j++) dst[j] = (float)x[i].qs[j] * d;
        dst += QK8_0;
    }
}

void dequantize_row_q8_1_ref(const void *src, float *dst, int64_t n) {
    const block_q8_1 *x = src;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        const float d = lmc_fp16_to_fp32(x[i].d);
        for (int j = 0; j < QK8_1; j++) dst[j] = (float)x[i].qs[j] * d;
        dst += QK8_1;
    }
}

/* ---- quantize (model-file quality, GGML *_ref rules) ----------------------------- */

/* Value of largest magnitude in x[0..n) (the first one on ties, x[0] if all are
 * zero, keeping its sign as gguf-py's argmax does). */
static float signed_absmax(const float *x, int n) {
    int imax = 0;
    for (int j = 1; j < n; j++)
        if (fabsf(x[j]) > fabsf(x[imax])) imax = j;
    return x[imax];
}

static void minmax(const float *x, int n, float *mn, float *mx) {
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < lo) lo = x[j];
        if (x[j] > hi) hi = x[j];
    }
    *mn = lo;
    *mx = hi;
}

/* float -> small unsigned int the way GGML's ref code and gguf-py agree on x86:
 * truncate to int32 (out of range or NaN gives INT32_MIN), keep the low byte, cap.
 * Only non-finite or huge values (from a subnormal scale) reach the odd cases. */
static inline uint8_t trunc_cap(float v, int cap) {
    int32_t i = (v > -2147483648.0f && v < 2147483648.0f) ? (int32_t)v : INT32_MIN;
    int q = (int)((uint32_t)i & 0xFF);
    return (uint8_t)(q > cap ? cap : q);
}

void quantize_row_q4_0_ref(const float *src, void *dst, int64_t n) {
    block_q4_0 *y = dst;
    for (int64_t i = 0; i < n / QK4_0; i++, src += QK4_0) {
        const float max = signed_absmax(src, QK4_0);
        const float d = max / -8;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = lmc_fp32_to_fp16(d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            uint8_t q0 = trunc_cap(src[j] * id + 8.5f, 15);
            uint8_t q1 = trunc_cap(src[j + QK4_0 / 2] * id + 8.5f, 15);
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

void quantize_row_q4_1_ref(const float *src, void *dst, int64_t n) {
    block_q4_1 *y = dst;
    for (int64_t i = 0; i < n / QK4_1; i++, src += QK4_1) {
        float mn, mx;
        minmax(src, QK4_1, &mn, &mx);
        const float d = (mx - mn) / 15;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = lmc_fp32_to_fp16(d);
        y[i].m = lmc_fp32_to_fp16(mn);
        for (int j = 0; j < QK4_1 / 2; j++) {
            uint8_t q0 = trunc_cap((src[j] - mn) * id + 0.5f, 15);
            uint8_t q1 = trunc_cap((src[j + QK4_1 / 2] - mn) * id + 0.5f, 15);
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

static void pack_q5(const uint8_t q[32], uint8_t qs[16], uint8_t qh_out[4]) {
    uint32_t qh = 0;
    for (int j = 0; j < 16; j++) {
        qs[j] = (uint8_t)((q[j] & 0xF) | ((q[j + 16] & 0xF) << 4));
        qh |= (uint32_t)((q[j] >> 4) & 1) << j;
        qh |= (uint32_t)((q[j + 16] >> 4) & 1) << (j + 16);
    }
    memcpy(qh_out, &qh, 4);
}

void quantize_row_q5_0_ref(const float *src, void *dst, int64_t n) {
    block_q5_0 *y = dst;
    for (int64_t i = 0; i < n / QK5_0; i++, src += QK5_0) {
        const float max = signed_absmax(src, QK5_0);
        const float d = max / -16;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = lmc_fp32_to_fp16(d);
        uint8_t q[32];
        for (int j = 0; j < 32; j++) q[j] = trunc_cap(src[j] * id + 16.5f, 31);
        pack_q5(q, y[i].qs, y[i].qh);
    }
}

void quantize_row_q5_1_ref(const float *src, void *dst, int64_t n) {
    block_q5_1 *y = dst;
    for (int64_t i = 0; i < n / QK5_1; i++, src += QK5_1) {
        float mn, mx;
        minmax(src, QK5_1, &mn, &mx);
        const float d = (mx - mn) / 31;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = lmc_fp32_to_fp16(d);
        y[i].m = lmc_fp32_to_fp16(mn);
        uint8_t q[32];
        for (int j = 0; j < 32; j++) q[j] = trunc_cap((src[j] - mn) * id + 0.5f, 31);
        pack_q5(q, y[i].qs, y[i].qh);
    }
}

static float block_amax(const float *x, int n) {
    float amax = 0.0f;
    for (int j = 0; j < n; j++) amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
    return amax;
}

void quantize_row_q8_0_ref(const float *src, void *dst, int64_t n) {
    block_q8_0 *y = dst;
    for (int64_t i = 0; i < n / QK8_0; i++, src += QK8_0) {
        const float d = block_amax(src, QK8_0) / 127;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = lmc_fp32_to_fp16(d);
        for (int j = 0; j < QK8_0; j++) y[i].qs[j] = (int8_t)roundf(src[j] * id);
    }
}

void quantize_row_q8_1_ref(const float *src, void *dst, int64_t n) {
    block_q8_1 *y = dst;
    for (int64_t i = 0; i < n / QK8_1; i++, src += QK8_1) {
        const float d = block_amax(src, QK8_1) / 127;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = lmc_fp32_to_fp16(d);
        int sum = 0;
        for (int j = 0; j < QK8_1; j++) {
            y[i].qs[j] = (int8_t)roundf(src[j] * id);
            sum += y[i].qs[j];
        }
        y[i].s = lmc_fp32_to_fp16((float)sum * d);
    }
}

/* ---- activation quantizers (llama.cpp x86 CPU path) ------------------------------ */

/* Round half to even, saturating to int8 like cvtps_epi32 + packs: NaN and values
 * outside int32 become INT32_MIN and so -128 (also for +inf, as on x86). */
static inline int8_t rne_i8(float v) {
    if (!(v > -2147483648.0f && v < 2147483648.0f)) return -128;
    float r = nearbyintf(v);
    if (r > 127.0f) return 127;
    if (r < -128.0f) return -128;
    return (int8_t)r;
}

void quantize_row_q8_0_act(const float *src, void *dst, int64_t n) {
    block_q8_0 *y = dst;
    for (int64_t i = 0; i < n / QK8_0; i++, src += QK8_0) {
        const float amax = block_amax(src, QK8_0);
        const float d = amax / 127.f;
        const float id = amax != 0.0f ? 127.f / amax : 0.0f;
        y[i].d = lmc_fp32_to_fp16(d);
        for (int j = 0; j < QK8_0; j++) y[i].qs[j] = rne_i8(src[j] * id);
    }
}

void quantize_row_q8_1_act(const float *src, void *dst, int64_t n) {
    block_q8_1 *y = dst;
    for (int64_t i = 0; i < n / QK8_1; i++, src += QK8_1) {
        const float amax = block_amax(src, QK8_1);
        const float d = amax / 127.f;
        const float id = amax != 0.0f ? 127.f / amax : 0.0f;
        y[i].d = lmc_fp32_to_fp16(d);
        int sum = 0;
        for (int j = 0; j < QK8_1; j++) {
            y[i].qs[j] = rne_i8(src[j] * id);
            sum += y[i].qs[j];
        }
        y[i].s = lmc_fp32_to_fp16(d * (float)sum);
    }
}

/* ---- dot products (scalar references) -------------------------------------------- */

void vec_dot_f32_ref(int64_t n, float *s, const void *vx, const void *vy) {
    const float *x = vx, *y = vy;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(x[i] * y[i]);
    *s = (float)sum;
}

void vec_dot_f16_ref(int64_t n, float *s, const void *vx, const void *vy) {
    const lmc_fp16 *x = vx, *y = vy;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(lmc_fp16_to_fp32(x[i]) * lmc_fp16_to_fp32(y[i]));
    *s = (float)sum;
}

void vec_dot_bf16_ref(int64_t n, float *s, const void *vx, const void *vy) {
    const lmc_bf16 *x = vx, *y = vy;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(lmc_bf16_to_fp32(x[i]) * lmc_bf16_to_fp32(y[i]));
    *s = (float)sum;
}

void vec_dot_q4_0_q8_0_ref(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q4_0 *x = vx;
    const block_q8_0 *y = vy;
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            sumi += ((x[i].qs[j] & 0xF) - 8) * y[i].qs[j];
            sumi += ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
        }
        sumf += (float)sumi * (lmc_fp16_to_fp32(x[i].d) * lmc_fp16_to_fp32(y[i].d));
    }
    *s = sumf;
}

void vec_dot_q4_1_q8_1_ref(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q4_1 *x = vx;
    const block_q8_1 *y = vy;
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            sumi += (x[i].qs[j] & 0xF) * y[i].qs[j];
            sumi += (x[i].qs[j] >> 4) * y[i].qs[j + 16];
        }
        sumf += (lmc_fp16_to_fp32(x[i].d) * lmc_fp16_to_fp32(y[i].d)) * (float)sumi +
                lmc_fp16_to_fp32(x[i].m) * lmc_fp16_to_fp32(y[i].s);
    }
    *s = sumf;
}

void vec_dot_q5_0_q8_0_ref(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q5_0 *x = vx;
    const block_q8_0 *y = vy;
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
            sumi += (((x[i].qs[j] & 0xF) | h0) - 16) * y[i].qs[j];
            sumi += (((x[i].qs[j] >> 4) | h1) - 16) * y[i].qs[j + 16];
        }
        sumf += (float)sumi * (lmc_fp16_to_fp32(x[i].d) * lmc_fp16_to_fp32(y[i].d));
    }
    *s = sumf;
}

void vec_dot_q5_1_q8_1_ref(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q5_1 *x = vx;
    const block_q8_1 *y = vy;
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
            sumi += ((x[i].qs[j] & 0xF) | h0) * y[i].qs[j];
            sumi += ((x[i].qs[j] >> 4) | h1) * y[i].qs[j + 16];
        }
        sumf += (lmc_fp16_to_fp32(x[i].d) * lmc_fp16_to_fp32(y[i].d)) * (float)sumi +
                lmc_fp16_to_fp32(x[i].m) * lmc_fp16_to_fp32(y[i].s);
    }
    *s = sumf;
}

void vec_dot_q8_0_q8_0_ref(int64_t n, float *s, const void *vx, const void *vy) {
    const block_q8_0 *x = vx, *y = vy;
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        int sumi = 0;
        for (int j = 0; j < QK8_0; j++) sumi += x[i].qs[j] * y[i].qs[j];
        sumf += (float)sumi * (lmc_fp16_to_fp32(x[i].d) * lmc_fp16_to_fp32(y[i].d));
    }
    *s = sumf;
}
