/* test_model_bad.c — the model API refuses bad models and bad calls with a clear error
 * and leaves things as they were.
 * The bad models are described in bad_models.h. */
#include "lmc.h"
#include "test_util.h"
#include "model/bad_models.h"

/* Loads path and checks it fails with a message containing every needle. */
static void expect_load_error(const char *path, const char *needle1, const char *needle2) {
    lmc_model *m = lmc_model_load(path);
    CHECK_MSG(m == NULL, "%s loaded but should not", path);
    lmc_model_free(m);
    const char *msg = lmc_last_error();
    printf("%s -> %s\n", path, msg);
    CHECK_MSG(strstr(msg, needle1) != NULL, "message '%s' lacks '%s'", msg, needle1);
    if (needle2) CHECK_MSG(strstr(msg, needle2) != NULL, "message '%s' lacks '%s'", msg, needle2);
}

int main(void) {
    make_bad_models("model_bad");
    expect_load_error("model_bad_arch.gguf", "architecture 'mamba'", "not supported");
    expect_load_error("model_bad_missing.gguf", "missing tensor 'blk.0.ffn_up.weight'", NULL);
    expect_load_error("model_bad_shape.gguf", "'blk.2.ffn_norm.weight' has shape [32], expected [64]", NULL);
    expect_load_error("model_bad_shape2.gguf", "'blk.1.attn_k.weight' has shape [32, 64], expected [64, 32]",
                      NULL);
    expect_load_error("no-such-model.gguf", "no-such-model.gguf", NULL);

    /* a good model, then bad calls */
    lmc_model *m = lmc_model_load(t_shared("models/stories260K.gguf"));
    CHECK_MSG(m != NULL, "%s", lmc_last_error());
    if (!m) return t_done("test_model_bad");
    const lmc_model_hparams *hp = lmc_model_get_hparams(m);
    CHECK_EQ_INT(hp->arch, LMC_ARCH_LLAMA);
    CHECK_EQ_INT(hp->n_layer, 5);
    CHECK_EQ_INT(hp->n_embd, 64);
    CHECK_EQ_INT(hp->n_head, 8);
    CHECK_EQ_INT(hp->n_head_kv, 4);
    CHECK_EQ_INT(hp->head_dim, 8);
    CHECK_EQ_INT(hp->n_ff, 172);
    CHECK_EQ_INT(hp->n_vocab, 512);
    CHECK_EQ_INT(hp->n_rot, 8);
    CHECK(!hp->tied_output);
    CHECK_EQ_INT(lmc_model_n_params(m), 292800); /* models/SOURCES.md */

    lmc_context_params p = lmc_context_default_params();
    p.n_threads = 0;
    CHECK(lmc_context_init(m, p) == NULL);
    CHECK(strstr(lmc_last_error(), "threads") != NULL);
    p = lmc_context_default_params();
    p.kv_type = LMC_TYPE_Q8_0;
    CHECK(lmc_context_init(m, p) == NULL);
    CHECK(strstr(lmc_last_error(), "KV cache type") != NULL);

    p = lmc_context_default_params();
    p.n_ctx = 8;
    p.n_batch = 3; /* forces the prompt to be split */
    lmc_context *c = lmc_context_init(m, p);
    CHECK_MSG(c != NULL, "%s", lmc_last_error());
    if (c) {
        int32_t toks[10] = {1, 403, 407, 261, 378, 1, 2, 3, 4, 5};
        float *logits = malloc(sizeof(float) * 10 * 512);
        /* longer than the context: refused, cache untouched */
        CHECK_EQ_INT(lmc_decode(c, toks, 10, logits, true), LMC_ERR_LIMIT);
        CHECK(strstr(lmc_last_error(), "context full") != NULL);
        CHECK_EQ_INT(lmc_context_n_past(c), 0);
        CHECK_EQ_INT(lmc_decode(c, toks, 5, logits, true), LMC_OK);
        CHECK_EQ_INT(lmc_context_n_past(c), 5);
        CHECK_EQ_INT(lmc_decode(c, toks, 4, logits, false), LMC_ERR_LIMIT);
        CHECK_EQ_INT(lmc_context_n_past(c), 5);
        /* token outside the vocabulary */
        int32_t bad = 512;
        CHECK_EQ_INT(lmc_decode(c, &bad, 1, logits, false), LMC_ERR_INVALID_ARG);
        bad = -1;
        CHECK_EQ_INT(lmc_decode(c, &bad, 1, logits, false), LMC_ERR_INVALID_ARG);
        CHECK_EQ_INT(lmc_context_n_past(c), 5);
        /* truncate: only backwards; re-running a token after truncation gives the same row */
        CHECK_EQ_INT(lmc_context_truncate(c, 6), LMC_ERR_INVALID_ARG);
        float *again = malloc(sizeof(float) * 512);
        CHECK_EQ_INT(lmc_context_truncate(c, 4), LMC_OK);
        CHECK_EQ_INT(lmc_decode(c, &toks[4], 1, again, false), LMC_OK);
        float md = 0;
        for (int i = 0; i < 512; i++) md = fmaxf(md, fabsf(again[i] - logits[4 * 512 + i]));
        CHECK_MSG(md < 1e-3f, "row after truncate differs by %g", md); /* summed in another order */
        lmc_context_reset(c);
        CHECK_EQ_INT(lmc_context_n_past(c), 0);
        /* generation stops cleanly at a full context */
        lmc_gen_stats st;
        CHECK_EQ_INT(lmc_generate(c, toks, 5, 100, NULL, NULL, NULL, NULL, &st), LMC_OK);
        CHECK(st.ctx_full);
        CHECK_EQ_INT(st.n_gen, 4); /* 5 prompt + 3 decoded = 8 positions, the 4th choice is pending */
        CHECK_EQ_INT(lmc_context_n_past(c), 8);
        free(again);
        free(logits);
        lmc_context_free(c);
    }
    CHECK_EQ_INT(lmc_argmax((const float[]){1, 3, 3, 2}, 4), 1);
    lmc_model_free(m);
    return t_done("test_model_bad");
}
