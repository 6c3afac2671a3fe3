/* test_embed_packed.c — a tied Q8_0 output head is repacked at load on AVX-512 VNNI CPUs
 * and the file's embedding pages dropped; the embedding lookup then reads the packed copy
 * (lmc_model_embed_row). Every row must equal the file's row, dequantized, exactly.
 * And after a forward pass, no page of the file wholly inside a repacked matrix is mapped
 * in the process (/proc/self/pagemap): reading the weights left in the file (norms) must
 * not map the dropped pages back (the kernel maps neighbouring pages of a fault, or a
 * whole 2 MiB page-cache folio). */
#include "lmc.h"
#include "test_util.h"
#include "../../src/model/model-impl.h"
#include "../../src/tensor/quants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* pages wholly inside [p, p + n) that are mapped in this process; -1 if pagemap is unreadable */
static long mapped_pages(FILE *pm, const void *p, size_t n) {
    const long pg = sysconf(_SC_PAGESIZE);
    const uintptr_t b = ((uintptr_t)p + (uintptr_t)pg - 1) / (uintptr_t)pg, e = ((uintptr_t)p + n) / (uintptr_t)pg;
    long k = 0;
    for (uintptr_t v = b; v < e; v++) {
        uint64_t ent;
        if (fseeko(pm, (off_t)(v * 8), SEEK_SET) || fread(&ent, 8, 1, pm) != 1) return -1;
        k += (long)(ent >> 63);
    }
    return k;
}

/* adds w's mapped pages (if it is repacked) to the totals */
static void tally(FILE *pm, const lmc_weight *w, long *mapped, long *pages, long *n_packed) {
    if (!w->packed) return;
    const long got = mapped_pages(pm, w->data, w->mat_bytes);
    CHECK(got >= 0);
    *mapped += got;
    *pages += (long)(w->mat_bytes / (size_t)sysconf(_SC_PAGESIZE));
    ++*n_packed;
}

static void check_dropped(lmc_model *m, const char *path) {
    lmc_context_params cp = lmc_context_default_params();
    cp.n_ctx = 32;
    lmc_context *c = lmc_context_init(m, cp);
    CHECK_MSG(c != NULL, "%s", lmc_last_error());
    if (!c) return;
    const int32_t toks[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    float *logits = malloc(sizeof(float) * (size_t)m->hp.n_vocab);
    CHECK_EQ_INT(lmc_decode(c, toks, 8, logits, false), LMC_OK);
    CHECK_EQ_INT(lmc_decode(c, toks, 1, logits, false), LMC_OK);
    FILE *pm = fopen("/proc/self/pagemap", "rb");
    if (!pm) {
        printf("no /proc/self/pagemap here: the dropped pages are not checked\n");
    } else {
        long mapped = 0, pages = 0, n_packed = 0;
        for (int il = 0; il < m->hp.n_layer; il++) {
            const lmc_layer *L = &m->layers[il];
            const lmc_weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wqkv, &L->wo, &L->ffn_gate, &L->ffn_up, &L->ffn_down};
            for (size_t k = 0; k < sizeof ws / sizeof ws[0]; k++) tally(pm, ws[k], &mapped, &pages, &n_packed);
        }
        tally(pm, &m->output, &mapped, &pages, &n_packed);
        fclose(pm);
        CHECK_MSG(mapped == 0, "%ld of the file's ~%ld pages inside %ld repacked matrices are mapped again", mapped,
                  pages, n_packed);
        printf("%s: after a forward pass, %ld of ~%ld file pages inside its %ld repacked matrices are mapped\n", path,
               mapped, pages, n_packed);
    }
    free(logits);
    lmc_context_free(c);
}

int main(int argc, char **argv) {
    /* "default": the cached default model (SmolLM2-135M Q4_1, whose tied output is Q8_0;
     * ctest model_dropped_pages), a path: that model; else the synthetic GPT-2 */
    char dflt[4096];
    const char *path = t_shared("models/synthetic/synth-gpt2-Q8_0.gguf");
    if (argc > 1 && strcmp(argv[1], "default") == 0) {
        if (lmc_default_model_path(dflt, sizeof dflt) != LMC_OK) {
            printf("no default model in the cache: skipped (%s)\n", lmc_last_error());
            return 77;
        }
        path = dflt;
    } else if (argc > 1) {
        path = argv[1];
    }
    lmc_model *m = lmc_model_load(path);
    CHECK_MSG(m != NULL, "%s", lmc_last_error());
    if (!m) return t_done("test_embed_packed");
    CHECK(m->hp.tied_output);
    CHECK_EQ_INT(m->tok_embd.type, LMC_TYPE_Q8_0);
    const bool packed = m->output.packed != NULL;
    CHECK_EQ_INT(packed, lmc_r8_available(LMC_TYPE_Q8_0));
    if (packed) check_dropped(m, path); /* before the loop below reads the file's rows */
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
