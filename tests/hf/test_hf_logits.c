/* Tiny random llama / gpt2 / qwen2 models made by transformers (tests/hf/make_hf_fixtures.py,
 * committed under tests/hf/fixtures/ARCH): lmc's logits from the Hugging Face folder itself
 * (lmc_model_load on a directory) and from the GGUF lmc_hf_convert writes (F32) match
 * transformers' within 1e-4, and the folder's tokenizer.json gives the ids the `tokenizers`
 * package gave for the same prompt.
 *
 * usage: test_hf_logits FIXTURE_DIR WORK_DIR */
#include "lmc.h"
#include "test_util.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *k_prompt = "ROMEO:\nBut soft, what light through yonder window breaks?";

static double run(const char *what, const char *path, const int32_t *ids, int32_t n, int32_t V, const float *ref) {
    lmc_model *m = lmc_model_load(path);
    CHECK_MSG(m != NULL, "%s: %s\n", what, lmc_last_error());
    if (!m) return INFINITY;
    CHECK(lmc_model_get_hparams(m)->n_vocab == V);
    lmc_vocab *v = lmc_vocab_load(lmc_model_gguf(m));
    CHECK_MSG(v != NULL, "%s: vocab: %s\n", what, lmc_last_error());
    if (v) { /* the folder's tokenizer gives the tokenizers package's ids */
        int32_t *got = NULL;
        int64_t ng = 0;
        CHECK(lmc_tokenize(v, k_prompt, strlen(k_prompt), false, false, &got, &ng) == LMC_OK);
        CHECK_MSG(ng == n && got && memcmp(got, ids, sizeof(int32_t) * (size_t)n) == 0, "%s: token ids differ (%lld vs %d)\n",
                  what, (long long)ng, n);
        free(got);
        lmc_vocab_free(v);
    }
    lmc_context_params cp = lmc_context_default_params();
    cp.n_ctx = 64;
    cp.kv_type = LMC_TYPE_F32;
    lmc_context *c = lmc_context_init(m, cp);
    float *logits = malloc(sizeof(float) * (size_t)n * (size_t)V);
    double md = INFINITY;
    if (c && logits && lmc_decode(c, ids, n, logits, true) == LMC_OK) {
        md = 0;
        for (int64_t i = 0; i < (int64_t)n * V; i++) md = fmax(md, fabs((double)logits[i] - ref[i]));
    } else {
        CHECK_MSG(0, "%s: decode: %s\n", what, lmc_last_error());
    }
    printf("%s: %d tokens x %d logits, max |lmc - transformers| = %.3g\n", what, n, V, md);
    CHECK(md < 1e-4);
    free(logits);
    lmc_context_free(c);
    lmc_model_free(m);
    return md;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    char path[4096];
    snprintf(path, sizeof path, "%s/logits.bin", argv[1]);
    size_t len = 0;
    char *buf = t_read_file(path, &len);
    CHECK(buf != NULL && len >= 8);
    if (!buf || len < 8) return t_done("hf_logits");
    int32_t n, V;
    memcpy(&n, buf, 4), memcpy(&V, buf + 4, 4);
    CHECK(n > 0 && V > 0 && len == 8 + 4 * (size_t)n + 4 * (size_t)n * (size_t)V);
    int32_t *ids = malloc(4 * (size_t)n);
    float *ref = malloc(4 * (size_t)n * (size_t)V);
    memcpy(ids, buf + 8, 4 * (size_t)n);
    memcpy(ref, buf + 8 + 4 * (size_t)n, 4 * (size_t)n * (size_t)V);
    run("folder", argv[1], ids, n, V, ref);
    mkdir(argv[2], 0755);
    char out[4200];
    snprintf(out, sizeof out, "%s/converted-f32.gguf", argv[2]);
    CHECK_MSG(lmc_hf_convert(argv[1], out, "f32") == LMC_OK, "convert: %s\n", lmc_last_error());
    run("converted GGUF", out, ids, n, V, ref);
    /* a folder without config.json: a clear error naming the file, no model */
    snprintf(out, sizeof out, "%s/empty", argv[2]);
    mkdir(out, 0755);
    lmc_model *bad = lmc_model_load(out);
    CHECK_MSG(bad == NULL && strstr(lmc_last_error(), "config.json"), "empty folder: %s\n", lmc_last_error());
    lmc_model_free(bad);
    free(ids), free(ref), free(buf);
    return t_done("hf_logits");
}
