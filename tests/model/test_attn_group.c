/* test_attn_group.c — one decode token's attention with the heads of a KV group taken
 * together (AVX-512: src/model/attn_avx512.c; AVX2: layers_avx2.c) gives the bits of the
 * per-head loops (layers_avx2.c, which follow llama.cpp's order) for every head: over
 * group sizes 1 to 6 (sub-groups of at most 3), head sizes 32 to 128, context lengths
 * around the 4-key and 32-row steps, sliding windows (runs that start off a multiple of
 * 32), a contiguous cache and paged blocks of 16 and of 5 positions, and head ranges split
 * over 2 threads across a group. Each grouped variant the CPU has is compared; without
 * AVX2 there is nothing to compare. */
#include "test_util.h"
#include "lmc.h"
#include "../../src/model/model-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_s = 0x9E3779B97F4A7C15ull;
static float frand(void) {
    g_s ^= g_s << 13, g_s ^= g_s >> 7, g_s ^= g_s << 17;
    return (float)((double)(g_s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* out for the query at position N-1 of a cache of N positions, through grouped path
 * `group` (1 AVX-512, 2 AVX2) or the per-head one (0); paged: blocks of S positions, head-major,
 * laid out in reverse order so that runs are not adjacent */
static void run(float *out, int group, lmc_threadpool *tp, const float *q, const uint16_t *kc, const uint16_t *vc,
                int H, int Hkv, int D, int64_t N, int64_t window, int S, uint16_t *kp, uint16_t *vp, float *scratch,
                int64_t stride) {
    lmc_attn_group_decode(group);
    const int64_t Ckv = (int64_t)Hkv * D;
    lmc_kv_seg seg[300];
    int n_seg = 0;
    if (S > 0) {
        const int64_t nb = (N + S - 1) / S;
        for (int64_t b = 0; b < nb; b++) {
            const int64_t slot = nb - 1 - b, rows = LMC_MIN((int64_t)S, N - b * S);
            uint16_t *kd = kp + slot * S * Ckv, *vd = vp + slot * S * Ckv;
            for (int64_t r = 0; r < rows; r++)
                for (int h = 0; h < Hkv; h++) {
                    memcpy(kd + ((int64_t)h * S + r) * D, kc + (b * S + r) * Ckv + (int64_t)h * D, (size_t)D * 2);
                    memcpy(vd + ((int64_t)h * S + r) * D, vc + (b * S + r) * Ckv + (int64_t)h * D, (size_t)D * 2);
                }
            seg[n_seg++] = (lmc_kv_seg){.p0 = b * S, .n = rows, .k = kd, .v = vd, .row_stride = D,
                                        .head_stride = (int64_t)S * D};
        }
    }
    lmc_attn_args a = {.out = out, .q = q, .kc = kc, .vc = vc, .seg = S > 0 ? seg : NULL, .n_seg = n_seg,
                       .kv_type = LMC_TYPE_F16, .T = 1, .pos0 = N - 1, .n_head = H, .n_head_kv = Hkv, .D = D,
                       .window = window, .scale = 1.0f / sqrtf((float)D), .scratch = scratch, .scratch_stride = stride};
    lmc_attention_forward(tp, &a);
}

int main(void) {
    const int best = lmc_attn_group_decode(-1);
    if (best <= 0) {
        printf("no grouped decode path on this CPU (or LMC_ATTN_GROUP=0): nothing to compare\n");
        return 0;
    }
    lmc_threadpool *tp = lmc_threadpool_init(2);
    CHECK(tp != NULL);
    const struct { int H, Hkv; } shapes[] = {{9, 3}, {4, 4}, {4, 2}, {8, 2}, {10, 2}, {6, 1}};
    const int Ds[] = {32, 64, 128};
    const int64_t Ns[] = {1, 2, 3, 4, 5, 7, 8, 31, 32, 33, 64, 65, 100, 191, 257};
    const int64_t windows[] = {0, 20, 37};
    const int Ss[] = {0, 16, 5};
    int n_cases = 0;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (size_t di = 0; di < sizeof Ds / sizeof Ds[0]; di++) {
            const int H = shapes[si].H, Hkv = shapes[si].Hkv, D = Ds[di];
            const int64_t Nmax = 257, Ckv = (int64_t)Hkv * D, stride = lmc_attn_scratch_floats(Nmax, D);
            float *q = malloc((size_t)H * D * sizeof(float)), *o1 = malloc((size_t)H * D * sizeof(float)),
                  *o2 = malloc((size_t)H * D * sizeof(float)), *scratch = malloc((size_t)(2 * stride) * sizeof(float));
            uint16_t *kc = malloc((size_t)(Nmax * Ckv) * 2), *vc = malloc((size_t)(Nmax * Ckv) * 2);
            uint16_t *kp = malloc((size_t)((Nmax + 16) * Ckv) * 2), *vp = malloc((size_t)((Nmax + 16) * Ckv) * 2);
            for (int64_t i = 0; i < Nmax * Ckv; i++) kc[i] = lmc_f32_to_f16(frand()), vc[i] = lmc_f32_to_f16(frand());
            for (int i = 0; i < H * D; i++) q[i] = frand() * 3.0f;
            for (size_t ni = 0; ni < sizeof Ns / sizeof Ns[0]; ni++)
                for (size_t wi = 0; wi < sizeof windows / sizeof windows[0]; wi++)
                    for (size_t sj = 0; sj < sizeof Ss / sizeof Ss[0]; sj++)
                        for (int th = 0; th < 2; th++)
                        for (int mode = best; mode <= 2; mode++) {
                            const int64_t N = Ns[ni], W = windows[wi];
                            lmc_threadpool *p = th ? tp : NULL;
                            run(o1, 0, NULL, q, kc, vc, H, Hkv, D, N, W, Ss[sj], kp, vp, scratch, stride);
                            memset(o2, 0xFF, (size_t)H * D * sizeof(float)); /* NaN: every head must be written */
                            run(o2, mode, p, q, kc, vc, H, Hkv, D, N, W, Ss[sj], kp, vp, scratch, stride);
                            CHECK_MSG(memcmp(o1, o2, (size_t)H * D * sizeof(float)) == 0,
                                      "%s: H %d Hkv %d D %d N %lld window %lld S %d threads %d",
                                      mode == 1 ? "avx512" : "avx2", H, Hkv, D, (long long)N, (long long)W, Ss[sj],
                                      th ? 2 : 1);
                            n_cases++;
                        }
            free(q), free(o1), free(o2), free(scratch), free(kc), free(vc), free(kp), free(vp);
        }
    CHECK_EQ_INT(lmc_attn_group_decode(best), best);
    printf("%d cases compared\n", n_cases);
    lmc_threadpool_free(tp);
    return t_done("test_attn_group");
}
