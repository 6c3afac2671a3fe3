/* test_model_ref.c — lmc's forward pass against llama.cpp's logits and greedy tokens
 * (shared/ref/generation, produced by llama.cpp b10573 with an F32 KV cache).
 *
 * usage: test_model_ref CASE [--max-diff X] [--p99 X] [--margin M] [--threads N]
 *                            [--kv f32|f16]
 *   CASE        file stem in ref/generation, e.g. stories260K.once-upon-a-time
 *   --max-diff  largest allowed |logit - reference| over every stored row
 *   --p99       largest allowed 99th percentile of |logit - reference|
 *   --margin    tokens must agree at every step before the first step whose
 *               reference argmax margin is below M (near ties may flip)
 *
 * Teacher forcing: the reference's own tokens are fed (the prompt in one batch, then
 * one token per step, as llama.cpp ran it), so every row is compared with the same
 * history. Then a free-running greedy generation from the prompt is compared with the
 * reference tokens. */
#include "lmc.h"
#include "test_util.h"

#include <cjson/cJSON.h>

static int32_t *int_array(const cJSON *a, int *n) {
    *n = cJSON_GetArraySize(a);
    int32_t *v = malloc(sizeof(int32_t) * (size_t)(*n ? *n : 1));
    for (int i = 0; i < *n; i++) v[i] = (int32_t)cJSON_GetArrayItem(a, i)->valuedouble;
    return v;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}


int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s CASE [--max-diff X] [--p99 X] [--margin M] [--threads N] [--kv f32|f16]\n", argv[0]);
        return 2;
    }
    const char *name = argv[1];
    double max_diff_tol = 1e-4, p99_tol = 1e9, margin_tol = 0.0;
    int threads = 1;
    lmc_type kv = LMC_TYPE_F32;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--max-diff")) max_diff_tol = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--p99")) p99_tol = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--margin")) margin_tol = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--kv")) kv = !strcmp(argv[i + 1], "f16") ? LMC_TYPE_F16 : LMC_TYPE_F32;
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }

    char rel[512];
    snprintf(rel, sizeof rel, "ref/generation/%s.json", name);
    char *json_text = t_read_file(t_shared(rel), NULL);
    if (!json_text) {
        fprintf(stderr, "cannot read %s\n", t_shared(rel));
        return 1;
    }
    cJSON *j = cJSON_Parse(json_text);
    CHECK(j != NULL);
    if (!j) return t_done(name);
    int n_prompt, n_gen, n_margins;
    int32_t *prompt = int_array(cJSON_GetObjectItem(j, "prompt_tokens"), &n_prompt);
    int32_t *gen = int_array(cJSON_GetObjectItem(j, "generated_tokens"), &n_gen);
    const cJSON *jm = cJSON_GetObjectItem(j, "argmax_margins");
    n_margins = cJSON_GetArraySize(jm);
    double *margins = malloc(sizeof(double) * (size_t)n_margins);
    for (int i = 0; i < n_margins; i++) margins[i] = cJSON_GetArrayItem(jm, i)->valuedouble;
    const int V = cJSON_GetObjectItem(j, "n_vocab")->valueint;
    const int R = cJSON_GetObjectItem(j, "logits_rows")->valueint;
    char mrel[512];
    snprintf(mrel, sizeof mrel, "models/%s", cJSON_GetObjectItem(j, "model_path")->valuestring);
    snprintf(rel, sizeof rel, "ref/generation/%s", cJSON_GetObjectItem(j, "logits_file")->valuestring);
    size_t ref_len;
    float *ref = (float *)t_read_file(t_shared(rel), &ref_len);
    CHECK_MSG(ref && ref_len == (size_t)R * V * sizeof(float), "reference logits %s", t_shared(rel));
    if (!ref) return t_done(name);

    /* steps that must agree: those before the first step with a margin below the bound */
    int n_strict = n_gen;
    for (int k = 0; k < n_margins && k < n_gen; k++)
        if (margins[k] < margin_tol) {
            n_strict = k;
            break;
        }

    lmc_model *m = lmc_model_load(t_shared(mrel));
    CHECK_MSG(m != NULL, "load %s: %s", mrel, lmc_last_error());
    if (!m) return t_done(name);
    CHECK_EQ_INT(lmc_model_get_hparams(m)->n_vocab, V);
    lmc_context_params cp = lmc_context_default_params();
    cp.n_ctx = n_prompt + n_gen + 8;
    cp.kv_type = kv;
    cp.n_threads = threads;
    lmc_context *c = lmc_context_init(m, cp);
    CHECK_MSG(c != NULL, "context: %s", lmc_last_error());
    if (!c) return t_done(name);

    /* teacher forcing: rows[P + N - 1][V] */
    const int n_rows = n_prompt + n_gen - 1;
    float *rows = malloc(sizeof(float) * (size_t)n_rows * V);
    int rc = lmc_decode(c, prompt, n_prompt, rows, true);
    CHECK_MSG(rc == LMC_OK, "decode prompt: %s", lmc_last_error());
    for (int k = 0; k + 1 < n_gen && rc == LMC_OK; k++) {
        rc = lmc_decode(c, &gen[k], 1, rows + (size_t)(n_prompt + k) * V, false);
        CHECK_MSG(rc == LMC_OK, "decode step %d: %s", k, lmc_last_error());
    }

    float *diffs = malloc(sizeof(float) * (size_t)R * V);
    double max_diff = 0;
    int max_row = 0, max_id = 0, rows_tight = 0;
    for (int r = 0; r < R; r++) {
        double row_max = 0;
        for (int i = 0; i < V; i++) {
            float d = fabsf(rows[(size_t)r * V + i] - ref[(size_t)r * V + i]);
            if (!(d == d)) d = INFINITY; /* NaN counts as a failure */
            diffs[(size_t)r * V + i] = d;
            if (d > row_max) row_max = d;
            if (d > max_diff) {
                max_diff = d;
                max_row = r;
                max_id = i;
            }
        }
        rows_tight += row_max <= 1e-4;
        if (getenv("LMC_TEST_VERBOSE")) printf("  row %d: max |diff| %.3g\n", r, row_max);
    }
    qsort(diffs, (size_t)R * V, sizeof(float), cmp_float);
    const double p99 = diffs[(size_t)((double)R * V * 0.99)], p50 = diffs[(size_t)R * V / 2];

    /* teacher-forced argmax at each generation step (rows that exist) */
    int tf_agree = 0, tf_first_bad = -1;
    for (int k = 0; k < n_gen; k++) {
        const int r = n_prompt - 1 + k;
        if (r >= n_rows) break;
        const int32_t a = lmc_argmax(rows + (size_t)r * V, V);
        if (a == gen[k]) tf_agree++;
        else if (tf_first_bad < 0) tf_first_bad = k;
        if (k < n_strict) CHECK_MSG(a == gen[k], "teacher-forced step %d: argmax %d, reference %d (margin %.3g)", k, a, gen[k], margins[k]);
    }

    /* free-running greedy generation */
    lmc_context_reset(c);
    t_token_list col = {.tokens = malloc(sizeof(int32_t) * (size_t)n_gen), .n = 0};
    lmc_gen_stats st;
    rc = lmc_generate(c, prompt, n_prompt, n_gen, NULL, NULL, t_collect_token, &col, &st);
    CHECK_MSG(rc == LMC_OK, "generate: %s", lmc_last_error());
    CHECK_EQ_INT(col.n, n_gen);
    int fr_first_diff = -1;
    for (int k = 0; k < col.n; k++)
        if (col.tokens[k] != gen[k]) {
            fr_first_diff = k;
            break;
        }
    if (fr_first_diff >= 0 && fr_first_diff < n_strict)
        CHECK_MSG(0, "free-running greedy differs at step %d (token %d, reference %d, margin %.3g)", fr_first_diff,
                  col.tokens[fr_first_diff], gen[fr_first_diff], margins[fr_first_diff]);

    printf("%s: %d rows x %d logits: max |diff| %.3g (row %d, id %d), p99 %.3g, median %.3g, rows within 1e-4: %d/%d\n",
           name, R, V, max_diff, max_row, max_id, p99, p50, rows_tight, R);
    printf("%s: teacher-forced argmax %d/%d agree%s; free-running greedy %s; strict steps %d/%d (margin bound %g)\n",
           name, tf_agree, (n_gen < n_rows - n_prompt + 1 ? n_gen : n_rows - n_prompt + 1), tf_first_bad >= 0 ? " (first differs at a later step)" : "",
           fr_first_diff < 0 ? "identical" : "differs", n_strict, n_gen, margin_tol);
    if (fr_first_diff >= 0) printf("%s: free-running first differs at step %d (margin %.3g)\n", name, fr_first_diff, margins[fr_first_diff]);
    CHECK_MSG(max_diff <= max_diff_tol, "max |diff| %.3g > %.3g", max_diff, max_diff_tol);
    CHECK_MSG(p99 <= p99_tol, "p99 |diff| %.3g > %.3g", p99, p99_tol);

    free(col.tokens);
    free(diffs);
    free(rows);
    lmc_context_free(c);
    lmc_model_free(m);
    free(ref);
    free(margins);
    free(prompt);
    free(gen);
    cJSON_Delete(j);
    free(json_text);
    return t_done(name);
}
