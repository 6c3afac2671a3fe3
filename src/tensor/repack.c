/* repack.c — Q8_0 and Q4_1 weights interleaved 8 rows at a time ("r8"), for CPUs with
 * AVX-512 VNNI or AVX2 (maddubs + madd do vpdpbusd's work; Q8_0 through |w| and w's sign). Why:
 * the row-major kernels give every (row, token) pair its own 8-lane
 * accumulator, which costs a conversion, a multiply-add and finally a horizontal sum per
 * pair; with 8 rows interleaved, one vpdpbusd advances 8 rows at once, the lanes ARE the
 * rows and no horizontal sum is left (llama.cpp's CPU backend repacks for the same
 * reason). A group-block (8 rows x 32 elements) is the size of the 8 original blocks:
 *   Q8_0 (272 bytes): d[8] fp16, then qs[c][r][4]: chunk c (elements 4c..4c+3) of row r,
 *     stored as q + 128 (u8), the unsigned operand vpdpbusd wants; the kernel subtracts
 *     128 * (sum of the activation block) to get the signed dot exactly.
 *   Q4_1 (160 bytes): d[8], m[8] fp16, then 4 vectors of 32 bytes: byte 4r + j of vector
 *     v holds row r's element 4v + j in its low nibble and 4(v + 4) + j in its high one
 *     (one load, an AND and a shift give two chunks for all 8 rows).
 * Every (row, token) result is one float chain over the blocks, acc = fma(dx*dy, dot,
 * acc) (+ Q4_1's min chain, as its row-major dot keeps it), the same whatever the batch,
 * so batching never changes a token's numbers. */
#include "quants.h"
#include "kernels_simd.h"

#include <stdlib.h>
#include <string.h>

static size_t group_bytes(lmc_type t) {
    return t == LMC_TYPE_Q8_0 ? 8 * sizeof(lmc_fp16) + 8 * 32 : t == LMC_TYPE_Q4_1 ? 16 * sizeof(lmc_fp16) + 8 * 16 : 0;
}

bool lmc_r8_available(lmc_type t) {
#ifdef LMC_SCALAR_ONLY
    (void)t;
    return false;
#else
    if (!group_bytes(t)) return false;
    static int on = -1; /* read once: every matmul asks */
    int v = __atomic_load_n(&on, __ATOMIC_ACQUIRE);
    if (v < 0) {
        const char *e = getenv("LMC_REPACK"); /* LMC_REPACK=0: keep the row-major kernels */
        const char *isa = lmc_kernels_isa();
        /* 2: AVX-512 VNNI; 1: AVX2 (Q8_0's kernel takes q + 128 back to signed, which
         * maddubs needs); 0: none */
        v = e && strcmp(e, "0") == 0 ? 0 : strcmp(isa, "avx512") == 0 ? 2 : strcmp(isa, "avx2") == 0 ? 1 : 0;
        __atomic_store_n(&on, v, __ATOMIC_RELEASE);
    }
    return v >= 1;
#endif
}

bool lmc_r8_fits(lmc_type t, int64_t n_out, int64_t n_in) {
    return group_bytes(t) && n_out > 0 && n_out % 8 == 0 && n_in > 0 && n_in % 32 == 0;
}

size_t lmc_r8_bytes(lmc_type t, int64_t n_out, int64_t n_in) {
    return (size_t)(n_out / 8) * (size_t)(n_in / 32) * group_bytes(t);
}

void lmc_r8_pack(lmc_type t, const void *src, int64_t n_out, int64_t n_in, void *dst) {
    const int64_t nb = n_in / 32;
    const size_t gb = group_bytes(t);
    uint8_t *o = dst;
    for (int64_t g = 0; g < n_out / 8; g++)
        for (int64_t i = 0; i < nb; i++, o += gb) {
            if (t == LMC_TYPE_Q8_0) {
                const block_q8_0 *w = src;
                for (int r = 0; r < 8; r++) memcpy(o + 2 * r, &w[(g * 8 + r) * nb + i].d, 2);
                uint8_t *q = o + 16;
                for (int c = 0; c < 8; c++)
                    for (int r = 0; r < 8; r++)
                        for (int j = 0; j < 4; j++)
                            q[(c * 8 + r) * 4 + j] = (uint8_t)(w[(g * 8 + r) * nb + i].qs[4 * c + j] ^ 0x80);
            } else {
                const block_q4_1 *w = src;
                for (int r = 0; r < 8; r++) {
                    memcpy(o + 2 * r, &w[(g * 8 + r) * nb + i].d, 2);
                    memcpy(o + 16 + 2 * r, &w[(g * 8 + r) * nb + i].m, 2);
                }
                uint8_t *q = o + 32;
                for (int r = 0; r < 8; r++) {
                    /* element e: e < 16 the low nibble of s[e], else the high one of s[e - 16] */
                    const uint8_t *s = w[(g * 8 + r) * nb + i].qs;
                    uint8_t e[32];
                    for (int k = 0; k < 16; k++) e[k] = s[k] & 0x0F, e[k + 16] = s[k] >> 4;
                    for (int v = 0; v < 4; v++)
                        for (int j = 0; j < 4; j++)
                            q[v * 32 + 4 * r + j] = (uint8_t)(e[4 * v + j] | (e[4 * (v + 4) + j] << 4));
                }
            }
        }
}

void lmc_r8_get_row(lmc_type t, const void *P, int64_t n_in, int64_t row, float *dst) {
    /* group row / 8, lane row % 8 of every group-block; the same float steps as the
     * row-major dequantizers (d * q, then + m for Q4_1), so the same values */
    const int64_t nb = n_in / 32;
    const size_t gb = group_bytes(t);
    const uint8_t *g = (const uint8_t *)P + (size_t)(row / 8) * (size_t)nb * gb;
    const int r = (int)(row % 8);
    for (int64_t i = 0; i < nb; i++, g += gb, dst += 32) {
        lmc_fp16 h;
        memcpy(&h, g + 2 * r, sizeof h);
        const float d = lmc_fp16_to_fp32(h);
        if (t == LMC_TYPE_Q8_0) {
            for (int c = 0; c < 8; c++)
                for (int j = 0; j < 4; j++) dst[4 * c + j] = d * (float)(int8_t)(g[16 + (c * 8 + r) * 4 + j] ^ 0x80);
        } else {
            memcpy(&h, g + 16 + 2 * r, sizeof h);
            const float m = lmc_fp16_to_fp32(h);
            for (int v = 0; v < 4; v++)
                for (int j = 0; j < 4; j++) {
                    const uint8_t b = g[32 + v * 32 + 4 * r + j];
                    const float p0 = d * (float)(b & 0x0F), p1 = d * (float)(b >> 4);
                    dst[4 * v + j] = p0 + m;
                    dst[4 * (v + 4) + j] = p1 + m;
                }
        }
    }
}
