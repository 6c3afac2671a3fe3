/* test_embed_packed.c — a tied Q8_0 output head is repacked at load on AVX-512 VNNI CPUs
 * and the file's embedding pages dropped; the embedding lookup then reads the packed copy
 * (lmc_model_embed_row). Every row must equal the file's row, dequantized, exactly. */
#include "lmc.h"
#include "test_util.h"
#include "../../src/model/model-impl.h"
#include "../../src/tensor/quants.h"

#include <stdlib.h>

int main(void) {
    const char *path = t_shared("models/synthetic/synth-gpt2-Q8_0.gguf");
    lmc_model *m = lmc_model_load(path);
    CHECK_MSG(m != NULL, "%s", lmc_last_error());
    if (!m) return t_done("test_embed_packed");
    CHECK(m->hp.tied_output);
    CHECK_EQ_INT(m->tok_embd.type, LMC_TYPE_Q8_0);
    const bool packed = m->output.packed != NULL;
    CHECK_EQ_INT(packed, lmc_r8_available(LMC_TYPE_Q8_0));
    const int64_t C = m->hp.n_embd, V = m->hp.n_vocab;
    float *a = malloc(sizeof(float) * (size_t)C), *b = malloc(sizeof(float) * (size_t)C);
    int64_t bad = 0;
    for (int32_t t = 0; t < V; t++) {
        CHECK_EQ_INT(lmc_model_embed_row(m, t, a), LMC_OK);
        const uint8_t *row = (const uint8_t *)m->tok_embd.data + (size_t)t * m->tok_embd.row_bytes;
        CHECK_EQ_INT(lmc_dequantize_row(LMC_TYPE_Q8_0, row, b, C), LMC_OK);
        for (int64_t k = 0; k < C; k++) bad += a[k] != b[k];
    }
    CHECK_MSG(bad == 0, "%lld embedding values differ from the file's", (long long)bad);
    printf("%lld embedding rows of %s: %s, identical to the file's\n", (long long)V, path,
           packed ? "read from the repacked output" : "read from the file (nothing repacked: no AVX-512 VNNI, or LMC_REPACK=0)");
    free(a), free(b);
    lmc_model_free(m);
    return t_done("test_embed_packed");
}
