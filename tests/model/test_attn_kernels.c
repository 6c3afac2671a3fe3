/* test_attn_kernels.c — the AVX2 attention loops (src/model/layers_avx2.c) give, bit for
 * bit, the sums their comments promise, written here in scalar C:
 *   accum: P partial sums, row j of the run into sum (j0 + j) mod P, each an fmaf chain
 *          in row order from what acc held; for P = 8 and runs starting on a multiple of
 *          8 the kernel keeps the sums in registers over blocks of 64 rows, so run lengths
 *          around 8 and 64 and other starts are all checked, for F16 and F32 rows;
 *   softmax: the maximum and the last scaling are vectorized: weights finite, summing
 *          to 1, in their inputs' order; a spike in any lane takes all the weight;
 *   F16 rows: the vector conversion into an F16 cache gives lmc_f32_to_f16's bits.
 * On a CPU without AVX2/FMA there is nothing to check (a scalar-only build does not
 * build this test). */
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

static bool same_bits(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

static void check_accum(bool f16, int64_t j0, int64_t n, int64_t stride, int D, int P) {
    const size_t esz = f16 ? 2 : 4;
    uint8_t *v = malloc((size_t)(n * stride) * esz + 64);
    float *p = malloc((size_t)n * sizeof(float));
    float *acc = malloc((size_t)P * (size_t)D * sizeof(float)), *ref = malloc((size_t)P * (size_t)D * sizeof(float));
    for (int64_t i = 0; i < n * stride; i++) {
        if (f16) ((uint16_t *)v)[i] = lmc_f32_to_f16(frand());
        else ((float *)v)[i] = frand();
    }
    for (int64_t j = 0; j < n; j++) p[j] = lmc_f16_to_f32(lmc_f32_to_f16(fabsf(frand()) / (float)n));
    for (int i = 0; i < P * D; i++) acc[i] = ref[i] = frand() * 0.01f; /* a run after earlier runs */
    for (int64_t j = 0; j < n; j++) {
        float *a = ref + (size_t)((j0 + j) % P) * (size_t)D;
        for (int d = 0; d < D; d++) {
            const int64_t at = j * stride + d;
            const float x = f16 ? lmc_f16_to_f32(((const uint16_t *)v)[at]) : ((const float *)v)[at];
            a[d] = fmaf(x, p[j], a[d]);
        }
    }
    lmc_attn_accum_rows_avx2(acc, p, v, f16, j0, n, stride, D, P);
    CHECK_MSG(same_bits(acc, ref, (size_t)P * (size_t)D), "accum %s j0 %lld n %lld D %d P %d", f16 ? "f16" : "f32",
              (long long)j0, (long long)n, D, P);
    free(v), free(p), free(acc), free(ref);
}

/* softmax: the maximum is found 8 lanes at a time and the last scaling is vectorized;
 * the exp values come from the kernel's own polynomial, so this checks the properties
 * any correct softmax has, over lengths with and without a vector tail: finite weights
 * that sum to 1, in the order of their inputs */
static void check_softmax(int64_t n) {
    float *s = malloc((size_t)n * sizeof(float)), *x = malloc((size_t)n * sizeof(float));
    for (int64_t j = 0; j < n; j++) s[j] = x[j] = frand() * 40.0f;
    lmc_attn_softmax_avx2(s, n, 0.125f);
    double sum = 0.0;
    bool finite = true, ordered = true;
    for (int64_t j = 0; j < n; j++) sum += s[j], finite &= isfinite(s[j]) && s[j] >= 0.0f;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) ordered &= !(x[i] < x[j]) || s[i] <= s[j];
    CHECK_MSG(finite && fabs(sum - 1.0) < 1e-5, "softmax of %lld: sum %.9f", (long long)n, sum);
    CHECK_MSG(ordered, "softmax of %lld: weights out of their inputs' order", (long long)n);
    /* a spike anywhere (every lane of the vectors and the tail): exp(x - max) overflows
     * unless that lane's value is the maximum subtracted */
    bool spikes = true;
    for (int64_t k = 0; k < n; k++) {
        for (int64_t j = 0; j < n; j++) s[j] = frand();
        s[k] = 2000.0f;
        lmc_attn_softmax_avx2(s, n, 0.125f);
        spikes &= s[k] == 1.0f;
    }
    CHECK_MSG(spikes, "softmax of %lld: a spike does not take all the weight", (long long)n);
    free(s), free(x);
}

/* K/V rows into an F16 cache: the vector conversion rounds as lmc_f32_to_f16 (to
 * nearest even) over normal, subnormal, halfway, overflowing and infinite values */
static void check_to_f16(void) {
    enum { N = 4099 };
    static float x[N];
    static uint16_t a[N], b[N];
    uint32_t u = 1;
    for (int i = 0; i < N; i++) {
        u = u * 1664525u + 1013904223u;
        const int kind = i % 5;
        if (kind == 0) x[i] = frand() * 70000.0f;                   /* some overflow */
        else if (kind == 1) x[i] = frand() * 1e-5f;                 /* subnormal halves */
        else if (kind == 2) x[i] = lmc_f16_to_f32((uint16_t)(u >> 16)) + 0.0f; /* exact halves */
        else if (kind == 3) { /* halfway between two halves: ties to even */
            const float lo = lmc_f16_to_f32((uint16_t)((u >> 17) & 0x7bfe));
            const float hi = lmc_f16_to_f32((uint16_t)(((u >> 17) & 0x7bfe) + 1));
            x[i] = lo + (hi - lo) * 0.5f;
        } else x[i] = frand();
        if (x[i] != x[i]) x[i] = 0.0f; /* NaN payloads may differ; not a cache value */
    }
    x[0] = INFINITY, x[1] = -INFINITY, x[2] = -0.0f, x[3] = 65520.0f, x[4] = 65519.0f;
    lmc_f32_to_f16_row(a, x, N);
    for (int i = 0; i < N; i++) b[i] = lmc_f32_to_f16(x[i]);
    CHECK_MSG(memcmp(a, b, sizeof a) == 0, "F16 rows differ from lmc_f32_to_f16");
}

int main(void) {
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        printf("test_attn_kernels: no AVX2/FMA on this CPU, nothing to check\n");
        return 0;
    }
    const int64_t lens[] = {1, 5, 7, 8, 9, 15, 16, 17, 63, 64, 65, 100, 128, 129, 200};
    const int64_t starts[] = {0, 8, 16, 64, 3, 13};
    const int dims[][2] = {{64, 192}, {64, 64}, {128, 256}, {48, 96}, {80, 80}, {12, 36}};
    for (int f = 0; f < 2; f++)
        for (size_t a = 0; a < sizeof starts / sizeof *starts; a++)
            for (size_t b = 0; b < sizeof lens / sizeof *lens; b++)
                for (size_t c = 0; c < sizeof dims / sizeof *dims; c++) {
                    check_accum(f == 1, starts[a], lens[b], dims[c][1], dims[c][0], 8);
                    check_accum(f == 1, starts[a], lens[b], dims[c][1], dims[c][0], 32);
                }
    for (size_t b = 0; b < sizeof lens / sizeof *lens; b++) check_softmax(lens[b]);
    check_to_f16();
    return t_done("test_attn_kernels");
}
