/* repack.c — Q8_0 weights interleaved 8 rows at a time ("Q8_0 x 8"), for CPUs with
 * AVX-512 VNNI. Why: the row-major kernels give every (row, token) pair its own 8-lane
 * accumulator, which costs a conversion, a multiply-add and finally a horizontal sum per
 * pair; with 8 rows interleaved, one vpdpbusd advances 8 rows at once, the lanes ARE the
 * rows and no horizontal sum is left (llama.cpp's CPU backend repacks for the same
 * reason). One group-block (272 bytes, the size of 8 original blocks):
 *   d[8]          the 8 rows' fp16 scales
 *   qs[8][8][4]   chunk c (elements 4c..4c+3) of row r at qs[c][r], stored as q + 128
 *                 (u8), the unsigned operand vpdpbusd wants; the kernel subtracts
 *                 128 * (sum of the activation block) to get the signed dot exactly.
 * Every (row, token) result is one float chain over the blocks, acc = fma(dx*dy, dot,
 * acc), the same whatever the batch, so batching never changes a token's numbers. */
#include "quants.h"
#include "kernels_simd.h"

#include <stdlib.h>
#include <string.h>

#define GROUP_BYTES (8 * sizeof(lmc_fp16) + 8 * 32)

bool lmc_q8_0_r8_available(void) {
#ifdef LMC_SCALAR_ONLY
    return false;
#else
    const char *e = getenv("LMC_REPACK"); /* LMC_REPACK=0: keep the row-major kernels */
    if (e && strcmp(e, "0") == 0) return false;
    return strcmp(lmc_kernels_isa(), "avx512") == 0;
#endif
}

bool lmc_q8_0_r8_fits(int64_t n_out, int64_t n_in) { return n_out > 0 && n_out % 8 == 0 && n_in > 0 && n_in % 32 == 0; }

size_t lmc_q8_0_r8_bytes(int64_t n_out, int64_t n_in) { return (size_t)(n_out / 8) * (size_t)(n_in / 32) * GROUP_BYTES; }

void lmc_q8_0_r8_pack(const void *src, int64_t n_out, int64_t n_in, void *dst) {
    const int64_t nb = n_in / 32;
    const block_q8_0 *w = src;
    uint8_t *o = dst;
    for (int64_t g = 0; g < n_out / 8; g++)
        for (int64_t i = 0; i < nb; i++, o += GROUP_BYTES) {
            lmc_fp16 d[8];
            for (int r = 0; r < 8; r++) d[r] = w[(g * 8 + r) * nb + i].d;
            memcpy(o, d, sizeof d);
            uint8_t *q = o + sizeof d;
            for (int c = 0; c < 8; c++)
                for (int r = 0; r < 8; r++)
                    for (int j = 0; j < 4; j++)
                        q[(c * 8 + r) * 4 + j] = (uint8_t)(w[(g * 8 + r) * nb + i].qs[4 * c + j] ^ 0x80);
        }
}
