/* test_attn_kernels.c — the AVX2 attention loops (src/model/layers_avx2.c) give, bit for
 * bit, the sums their comments promise, written here in scalar C:
 *   accum: P partial sums, row j of the run into sum (j0 + j) mod P, each an fmaf chain
 *          in row order from what acc held; for P = 8 and runs starting on a multiple of
 *          8 the kernel keeps the sums in registers over blocks of 64 rows, so run lengths
 *          around 8 and 64 and other starts are all checked, for F16 and F32 rows;
 *   softmax: the maximum and the last scaling are vectorized: weights finite, summing
 *          to 1, in their inputs' order; a spike in any lane takes all the weight;
 *   F16 rows: the vector conversion into an F16 cache gives lmc_f32_to_f16's bits;
 *   AVX-512: the 16-lane softmax (also 1-3 rows together, rounded to F16), SwiGLU,
 *          p.V reduction and F16 rounding (layers_avx512.c) give the 8-lane ones' bits, over lengths around 8 and 16,
 *          head sizes with and without a 16-lane tail, and inputs that take exp's
 *          special cases;
 *   RMSNorm: the sum of squares in double partial sums gives the serial double sum's
 *          output (llama.cpp's order, written here) on every row tried, widths with and
 *          without a 16-float tail, with and without a weight;
 *   RoPE: the angles computed once for T positions and applied to T rows give what
 *          llama.cpp's formula gives one token at a time, written here with libm.
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

/* the 16-lane softmax and SwiGLU against the 8-lane ones, bit for bit */
static void check_avx512_same(void) {
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512dq") ||
        !__builtin_cpu_supports("avx512bw")) {
        printf("test_attn_kernels: no AVX-512 on this CPU, its softmax and SwiGLU not checked\n");
        return;
    }
    enum { N = 1100 };
    static float a[N], b[N], g[N], u[N];
    const int64_t lens[] = {1, 2, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 40, 47, 48, 63, 64, 65, 100, 1000, 1093};
    for (size_t l = 0; l < sizeof lens / sizeof *lens; l++) {
        const int64_t n = lens[l];
        for (int kind = 0; kind < 3; kind++) {
            for (int64_t i = 0; i < n; i++) {
                a[i] = 40.0f * frand();
                /* kind 1: a few scores far below the maximum (exp's |n| > 126 and > 192
                 * lanes); kind 2: one huge score, everything else underflows */
                if (kind == 1 && i % 5 == 2) a[i] = -800.0f - 900.0f * (float)(i % 3);
                if (kind == 2 && i == n / 2) a[i] = 3000.0f;
            }
            memcpy(b, a, (size_t)n * sizeof(float));
            lmc_attn_softmax_avx2(a, n, 0.125f);
            lmc_attn_softmax_avx512(b, n, 0.125f);
            CHECK_MSG(same_bits(a, b, (size_t)n), "softmax of %lld (kind %d): 16 lanes differ from 8", (long long)n, kind);
        }
        /* 1-3 rows at once, each then rounded to F16 values, against row by row */
        for (int G = 1; G <= 3; G++) {
            static float r1[3 * N], r2[3 * N];
            for (int64_t i = 0; i < 3 * n; i++) r1[i] = r2[i] = (i % 11 == 5 ? -900.0f : 40.0f) * frand();
            for (int g = 0; g < G; g++) {
                lmc_attn_softmax_avx512(r1 + g * n, n, 0.125f);
                lmc_round_f16_avx512(r1 + g * n, n);
            }
            lmc_attn_softmax_round_group_avx512(r2, n, G, n, 0.125f);
            CHECK_MSG(same_bits(r1, r2, (size_t)(3 * n)), "softmax of %d rows of %lld: rows together differ", G,
                      (long long)n);
        }
        for (int64_t i = 0; i < n; i++) {
            g[i] = 12.0f * frand();
            u[i] = frand();
        }
        /* SwiGLU inputs where exp(-x) over- or underflows, or takes the split 2^n path */
        const float special[] = {88.0f, 90.0f, 100.0f, 140.0f, -88.0f, -90.0f, -100.0f, -140.0f, 0.0f, -0.0f,
                                 1e30f, -1e30f, INFINITY, -INFINITY, 1e-40f};
        for (size_t k = 0; k < sizeof special / sizeof *special; k++)
            if ((int64_t)(k * 7 % 29) < n) g[k * 7 % 29] = special[k];
        lmc_swiglu_avx2(a, g, u, n);
        lmc_swiglu_avx512(b, g, u, n);
        CHECK_MSG(same_bits(a, b, (size_t)n), "swiglu of %lld: 16 lanes differ from 8", (long long)n);
    }
    /* the p.V partial sums' reduction (32 sums in vec_dot order, 8 in tinyBLAS's) and the
     * rounding to F16 values */
    const int dims[] = {64, 128, 80, 48, 12, 20, 8, 16, 33};
    for (size_t k = 0; k < sizeof dims / sizeof *dims; k++)
        for (int vdo = 0; vdo < 2; vdo++) {
            const int D = dims[k];
            static float acc[32 * 160];
            for (int i = 0; i < 32 * D; i++) acc[i] = 3.0f * frand();
            lmc_attn_accum_reduce(a, acc, D, vdo);
            lmc_attn_accum_reduce_avx512(b, acc, D, vdo);
            CHECK_MSG(same_bits(a, b, (size_t)D), "accum reduce of D %d (vec_dot order %d): 16 lanes differ", D, vdo);
        }
    for (size_t l = 0; l < sizeof lens / sizeof *lens; l++) {
        const int64_t n = lens[l];
        for (int64_t i = 0; i < n; i++) a[i] = b[i] = (i % 9 == 4 ? 70000.0f : i % 9 == 5 ? 1e-6f : 2.0f) * frand();
        lmc_round_f16_avx2(a, n);
        lmc_round_f16_avx512(b, n);
        CHECK_MSG(same_bits(a, b, (size_t)n), "F16 rounding of %lld: 16 lanes differ", (long long)n);
    }
}

static void check_rmsnorm(void) {
    const int64_t widths[] = {576, 64, 17, 15, 1, 1000, 2048};
    enum { T = 300 };
    for (size_t k = 0; k < sizeof widths / sizeof *widths; k++) {
        const int64_t C = widths[k];
        float *x = malloc(sizeof(float) * T * C), *w = malloc(sizeof(float) * C), *a = malloc(sizeof(float) * T * C),
              *b = malloc(sizeof(float) * T * C), ra[T], rb[T];
        for (int64_t i = 0; i < T * C; i++) x[i] = (i / C) % 7 == 3 ? 1e-3f * frand() : 5.0f * frand();
        for (int64_t i = 0; i < C; i++) w[i] = 1.0f + frand();
        for (int pass = 0; pass < 2; pass++) {
            const float *wt = pass ? w : NULL;
            for (int64_t t = 0; t < T; t++) { /* the serial double sum */
                double sum = 0.0;
                for (int64_t i = 0; i < C; i++) sum += (double)(x[t * C + i] * x[t * C + i]);
                const float scale = 1.0f / sqrtf((float)(sum / (double)C) + 1e-5f);
                ra[t] = scale;
                for (int64_t i = 0; i < C; i++) a[t * C + i] = wt ? (x[t * C + i] * scale) * wt[i] : x[t * C + i] * scale;
            }
            lmc_rmsnorm_avx2(b, rb, x, wt, T, C, 1e-5f);
            CHECK_MSG(same_bits(a, b, (size_t)(T * C)) && same_bits(ra, rb, T), "rmsnorm of width %lld (weight %d) differs",
                      (long long)C, pass);
        }
        free(x), free(w), free(a), free(b);
    }
}

/* RoPE as llama.cpp computes one token (ggml's rope cache: theta multiplied by
 * base^(-2/n_rot) pair after pair, fma contraction), against the angles-once path */
static void check_rope(void) {
    enum { T = 5, H = 3, D = 64 };
    const int32_t pos[T] = {0, 1, 17, 4095, 100000};
    const float ff[D / 2 + 1] = {1.0f, 2.5f, 1.0f, 8.0f, 0.5f};
    for (int type = 0; type < 2; type++)
        for (int n_rot = 64; n_rot >= 32; n_rot -= 32) {
            float x[T * H * D], y[T * H * D], z[T * H * D], cs[T * D];
            for (int i = 0; i < T * H * D; i++) x[i] = y[i] = z[i] = 4.0f * frand();
            const lmc_rope_type rt = type ? LMC_ROPE_NEOX : LMC_ROPE_NORM;
            const float *f = n_rot == 32 ? ff : NULL;
            const float theta_scale = powf(10000.0f, -2.0f / (float)n_rot);
            for (int t = 0; t < T; t++)
                for (int h = 0; h < H; h++) {
                    float theta = (float)pos[t];
                    float *v = x + (t * H + h) * D;
                    for (int i = 0; i < n_rot / 2; i++) {
                        const float th = 0.5f * (theta / (f ? f[i] : 1.0f));
                        const int i0 = type ? i : 2 * i, i1 = type ? i + n_rot / 2 : 2 * i + 1;
                        const float c = cosf(th), sn = sinf(th), x0 = v[i0], x1 = v[i1];
                        v[i0] = fmaf(x0, c, -(x1 * sn));
                        v[i1] = fmaf(x0, sn, x1 * c);
                        theta *= theta_scale;
                    }
                }
            lmc_rope_forward(y, pos, T, H, D, n_rot, rt, 10000.0f, 0.5f, f);
            lmc_rope_angles(cs, pos, T, n_rot, 10000.0f, 0.5f, f);
            lmc_rope_apply(z, cs, T, H, D, n_rot, rt);
            CHECK_MSG(same_bits(x, y, T * H * D), "rope (type %d, n_rot %d): one token at a time differs", type, n_rot);
            CHECK_MSG(same_bits(x, z, T * H * D), "rope (type %d, n_rot %d): angles once differ", type, n_rot);
        }
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
    check_avx512_same();
    check_rope();
    check_rmsnorm();
    return t_done("test_attn_kernels");
}
