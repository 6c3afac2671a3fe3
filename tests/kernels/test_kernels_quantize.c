/* test_kernels_quantize.c — lmc's quantizers against llama.cpp's llama-quantize, and
 * quantize -> dequantize error bounds on trained weights.
 *
 * 1. Byte-identical to llama-quantize (b10573, no imatrix): the shared models include
 *    files llama-quantize made from F32/F16 sources (models/SOURCES.md). Every tensor
 *    of a quantized file is re-made from the source tensor of the same name with
 *    lmc_quantize_row and must match byte for byte. This covers the K-quants, which the
 *    gguf Python package cannot quantize.
 * 2. Whole files: lmc_quantize_model (and `lmc quantize`) on the same sources writes
 *    files identical byte for byte to llama-quantize's (metadata, tensor order, types
 *    of each K-quant mix, fallbacks, data).
 * 3. Error: every type's relative RMSE (rmse / rms of the weights) on the trained
 *    weights of stories260K and aidreams260K stays under a per-type bound (the values
 *    measured with GGML's algorithms, plus ~15 %). */
#include "test_util.h"
#include "lmc.h"

#include <unistd.h>

typedef struct {
    const char *src, *dst;
} pair;

static const pair k_pairs[] = {
    {"models/synthetic/synth-llama-F32.gguf", "models/synthetic/synth-llama-Q8_0.gguf"},
    {"models/synthetic/synth-llama-F32.gguf", "models/synthetic/synth-llama-Q4_0.gguf"},
    {"models/synthetic/synth-llama-F32.gguf", "models/synthetic/synth-llama-Q4_1.gguf"},
    {"models/synthetic/synth-llama-F32.gguf", "models/synthetic/synth-llama-Q5_0.gguf"},
    {"models/synthetic/synth-llama-F32.gguf", "models/synthetic/synth-llama-Q5_1.gguf"},
    {"models/synthetic/synth-llama-F32.gguf", "models/synthetic/synth-llama-Q2_K.gguf"},
    {"models/synthetic/synth-llama-F32.gguf", "models/synthetic/synth-llama-Q3_K_M.gguf"},
    {"models/synthetic/synth-llama-F32.gguf", "models/synthetic/synth-llama-Q4_K_M.gguf"},
    {"models/synthetic/synth-llama-F32.gguf", "models/synthetic/synth-llama-Q5_K_M.gguf"},
    {"models/synthetic/synth-llama-F32.gguf", "models/synthetic/synth-llama-Q6_K.gguf"},
    {"models/synthetic/synth-gpt2-F32.gguf", "models/synthetic/synth-gpt2-Q8_0.gguf"},
    {"models/synthetic/synth-qwen2-F32.gguf", "models/synthetic/synth-qwen2-Q8_0.gguf"},
    {"models/stories260K.gguf", "models/converted/stories260K-F16.gguf"},
    {"models/stories260K.gguf", "models/converted/stories260K-Q8_0-ffndownF16.gguf"},
    {"models/random/llama-2-tiny-random.gguf", "models/random/llama-2-tiny-random-Q8_0.gguf"},
    {"models/random/llama-2-tiny-random.gguf", "models/random/llama-2-tiny-random-Q4_0.gguf"},
    {"models/random/llama-2-tiny-random.gguf", "models/random/llama-2-tiny-random-Q4_1.gguf"},
    {"models/random/llama-2-tiny-random.gguf", "models/random/llama-2-tiny-random-BF16.gguf"},
    {"models/random/llama-2-tiny-random.gguf", "models/random/llama-2-tiny-random-F32.gguf"},
};

static int g_types_matched[LMC_TYPE_COUNT];

static void test_pair(const pair *p) {
    lmc_gguf *src = lmc_gguf_open(t_shared(p->src));
    lmc_gguf *dst = lmc_gguf_open(t_shared(p->dst));
    CHECK_MSG(src && dst, "%s / %s: %s", p->src, p->dst, lmc_last_error());
    if (!src || !dst) {
        lmc_gguf_close(src);
        lmc_gguf_close(dst);
        return;
    }
    for (int64_t i = 0; i < lmc_gguf_n_tensors(dst); i++) {
        const lmc_tensor_info *q = lmc_gguf_tensor(dst, i);
        const lmc_tensor_info *s = lmc_gguf_find_tensor(src, q->name);
        CHECK_MSG(s != NULL, "%s: %s not in %s", p->dst, q->name, p->src);
        if (!s || q->type == s->type) continue;
        int64_t n = s->ne[0], rows = s->n_elements / n;
        size_t srb = lmc_type_row_bytes(s->type, n), qrb = lmc_type_row_bytes(q->type, n);
        float *f = malloc(sizeof(float) * (size_t)n);
        unsigned char *out = malloc(qrb);
        int64_t bad_rows = 0;
        for (int64_t r = 0; r < rows; r++) {
            /* llama-quantize widens F16/BF16 sources to F32 first, as here */
            CHECK_EQ_INT(lmc_dequantize_row(s->type, (const char *)s->data + r * srb, f, n), LMC_OK);
            CHECK_EQ_INT(lmc_quantize_row(q->type, f, out, n), LMC_OK);
            if (memcmp(out, (const char *)q->data + r * qrb, qrb) != 0) bad_rows++;
        }
        CHECK_MSG(bad_rows == 0, "%s: %s (%s): %lld of %lld rows differ from llama-quantize", p->dst, q->name,
                  lmc_type_name(q->type), (long long)bad_rows, (long long)rows);
        if (bad_rows == 0) g_types_matched[q->type]++;
        free(f);
        free(out);
    }
    lmc_gguf_close(src);
    lmc_gguf_close(dst);
}

/* ---- quantize -> dequantize error on trained weights ---------------------------------- */

typedef struct {
    lmc_type t;
    double bound; /* max relative RMSE */
} err_bound;

/* Measured with GGML's algorithms on these weights (which are heavy-tailed: small
 * trained models), plus ~15 %; a regression in any quantizer or dequantizer shows up
 * as a jump well past these. */
static const err_bound k_bounds[] = {
    {LMC_TYPE_F16, 0.00025}, {LMC_TYPE_BF16, 0.0020}, {LMC_TYPE_Q8_0, 0.0061}, {LMC_TYPE_Q6_K, 0.020},
    {LMC_TYPE_Q5_1, 0.043},  {LMC_TYPE_Q5_0, 0.049},  {LMC_TYPE_Q5_K, 0.042},  {LMC_TYPE_Q4_1, 0.094},
    {LMC_TYPE_Q4_0, 0.097},  {LMC_TYPE_Q4_K, 0.084},  {LMC_TYPE_Q3_K, 0.171},  {LMC_TYPE_Q2_K, 0.36},
};

static void test_errors(void) {
    const char *models[] = {"models/stories260K.gguf", "models/converted/aidreams260K.gguf"};
    printf("quantize->dequantize relative RMSE on trained weights (all 2-D tensors as rows of 256):\n");
    for (size_t b = 0; b < sizeof k_bounds / sizeof k_bounds[0]; b++) {
        lmc_type t = k_bounds[b].t;
        double se = 0, ss = 0;
        for (int m = 0; m < 2; m++) {
            lmc_gguf *g = lmc_gguf_open(t_shared(models[m]));
            CHECK_MSG(g != NULL, "%s: %s", models[m], lmc_last_error());
            if (!g) continue;
            for (int64_t i = 0; i < lmc_gguf_n_tensors(g); i++) {
                const lmc_tensor_info *ti = lmc_gguf_tensor(g, i);
                if (ti->type != LMC_TYPE_F32 || ti->n_dims < 2) continue;
                const int64_t n = 256;
                int64_t rows = ti->n_elements / n; /* tail elements (< 256) are skipped */
                const float *x = ti->data;
                size_t rb = lmc_type_row_bytes(t, n);
                void *q = malloc(rb);
                float y[256];
                for (int64_t r = 0; r < rows; r++) {
                    CHECK(lmc_quantize_row(t, x + r * n, q, n) == LMC_OK);
                    CHECK(lmc_dequantize_row(t, q, y, n) == LMC_OK);
                    for (int k = 0; k < n; k++) {
                        double d = (double)x[r * n + k] - y[k];
                        se += d * d;
                        ss += (double)x[r * n + k] * x[r * n + k];
                    }
                }
                free(q);
            }
            lmc_gguf_close(g);
        }
        double rel = ss > 0 ? sqrt(se / ss) : 0;
        printf("  %-5s %.5f (bound %.4f)\n", lmc_type_name(t), rel, k_bounds[b].bound);
        CHECK_MSG(rel > 0 && rel <= k_bounds[b].bound, "%s: relative RMSE %.5f above %.4f", lmc_type_name(t), rel,
                  k_bounds[b].bound);
    }
}

/* ---- whole files ------------------------------------------------------------------ */

typedef struct {
    const char *src, *type, *ref;
} model_case;

static const model_case k_models[] = {
    {"models/synthetic/synth-llama-F32.gguf", "Q2_K", "models/synthetic/synth-llama-Q2_K.gguf"},
    {"models/synthetic/synth-llama-F32.gguf", "Q3_K_M", "models/synthetic/synth-llama-Q3_K_M.gguf"},
    {"models/synthetic/synth-llama-F32.gguf", "Q4_0", "models/synthetic/synth-llama-Q4_0.gguf"},
    {"models/synthetic/synth-llama-F32.gguf", "Q4_1", "models/synthetic/synth-llama-Q4_1.gguf"},
    {"models/synthetic/synth-llama-F32.gguf", "q4_k_m", "models/synthetic/synth-llama-Q4_K_M.gguf"},
    {"models/synthetic/synth-llama-F32.gguf", "Q5_0", "models/synthetic/synth-llama-Q5_0.gguf"},
    {"models/synthetic/synth-llama-F32.gguf", "Q5_1", "models/synthetic/synth-llama-Q5_1.gguf"},
    {"models/synthetic/synth-llama-F32.gguf", "Q5_K_M", "models/synthetic/synth-llama-Q5_K_M.gguf"},
    {"models/synthetic/synth-llama-F32.gguf", "Q6_K", "models/synthetic/synth-llama-Q6_K.gguf"},
    {"models/synthetic/synth-llama-F32.gguf", "Q8_0", "models/synthetic/synth-llama-Q8_0.gguf"},
    {"models/synthetic/synth-gpt2-F32.gguf", "Q8_0", "models/synthetic/synth-gpt2-Q8_0.gguf"},
    {"models/synthetic/synth-qwen2-F32.gguf", "Q8_0", "models/synthetic/synth-qwen2-Q8_0.gguf"},
    {"models/stories260K.gguf", "F16", "models/converted/stories260K-F16.gguf"},
    /* ffn_down rows of 172 do not fit Q8_0: F16 fallback (llama-quantize needed an override) */
    {"models/stories260K.gguf", "Q8_0", "models/converted/stories260K-Q8_0-ffndownF16.gguf"},
    {"models/random/llama-2-tiny-random.gguf", "BF16", "models/random/llama-2-tiny-random-BF16.gguf"},
    {"models/random/llama-2-tiny-random.gguf", "F32", "models/random/llama-2-tiny-random-F32.gguf"},
};

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static bool same_file(const char *a, const char *b) {
    size_t la = 0, lb = 0;
    unsigned char *x = slurp(a, &la), *y = slurp(b, &lb);
    bool same = x && y && la == lb && memcmp(x, y, la) == 0;
    if (x && y && !same) {
        size_t i = 0;
        while (i < la && i < lb && x[i] == y[i]) i++;
        fprintf(stderr, "%s vs %s: sizes %zu / %zu, first difference at byte %zu\n", a, b, la, lb, i);
    }
    free(x), free(y);
    return same;
}

static int g_warnings;
static void count_warnings(void *user, const char *line) {
    (void)user;
    if (strncmp(line, "warning:", 8) == 0) g_warnings++;
}

static void test_models(void) {
    char out[512];
    snprintf(out, sizeof out, "/tmp/lmc-test-quantize-%d.gguf", (int)getpid());
    for (size_t i = 0; i < sizeof k_models / sizeof k_models[0]; i++) {
        const model_case *m = &k_models[i];
        lmc_quantize_params p = lmc_quantize_default_params();
        p.n_threads = 2;
        p.log = count_warnings;
        g_warnings = 0;
        int rc = lmc_quantize_model(t_shared(m->src), out, m->type, &p);
        CHECK_MSG(rc == LMC_OK, "quantize %s %s: %s", m->src, m->type, lmc_last_error());
        if (rc == LMC_OK)
            CHECK_MSG(same_file(out, t_shared(m->ref)), "%s %s differs from llama-quantize's %s", m->src, m->type,
                      m->ref);
        if (strcmp(m->type, "Q8_0") == 0 && strstr(m->src, "stories"))
            CHECK_MSG(g_warnings == 6, "expected 5 fallback warnings + summary, got %d", g_warnings);
    }
    /* the command line: same file, a fallback warning naming the tensor, usage errors */
    const char *bin = getenv("LMC_BIN");
    if (bin) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd,
                 "'%s' quantize -q '%s' '%s' Q8_0 >'%s.log' 2>&1 && grep -q 'blk.0.ffn_down.weight: row length 172' '%s.log'",
                 bin, t_shared("models/stories260K.gguf"), out, out, out);
        CHECK_MSG(system(cmd) == 0, "lmc quantize did not warn about the fallback: %s", cmd);
        CHECK(same_file(out, t_shared("models/converted/stories260K-Q8_0-ffndownF16.gguf")));
        snprintf(cmd, sizeof cmd, "'%s' quantize '%s' '%s' Q9_9 2>/dev/null", bin, t_shared("models/stories260K.gguf"), out);
        CHECK(system(cmd) != 0);
    }
    CHECK(lmc_quantize_model(t_shared("models/stories260K.gguf"), out, "Q9_9", NULL) == LMC_ERR_INVALID_ARG);
    remove(out);
    snprintf(out + strlen(out), sizeof out - strlen(out), ".log");
    remove(out);
}

int main(void) {
    for (size_t i = 0; i < sizeof k_pairs / sizeof k_pairs[0]; i++) test_pair(&k_pairs[i]);
    printf("types matched byte for byte with llama-quantize:");
    for (int t = 0; t < LMC_TYPE_COUNT; t++)
        if (g_types_matched[t]) printf(" %s(%d)", lmc_type_name((lmc_type)t), g_types_matched[t]);
    printf("\n");
    const lmc_type need[] = {LMC_TYPE_F16,  LMC_TYPE_BF16, LMC_TYPE_F32,  LMC_TYPE_Q8_0, LMC_TYPE_Q4_0,
                             LMC_TYPE_Q4_1, LMC_TYPE_Q5_0, LMC_TYPE_Q5_1, LMC_TYPE_Q2_K, LMC_TYPE_Q3_K,
                             LMC_TYPE_Q4_K, LMC_TYPE_Q5_K, LMC_TYPE_Q6_K};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        CHECK_MSG(g_types_matched[need[i]] > 0, "no %s tensor compared", lmc_type_name(need[i]));
    test_models();
    test_errors();
    return t_done("test_kernels_quantize");
}
