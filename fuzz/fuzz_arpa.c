/* fuzz_arpa.c — libFuzzer target for the ARPA language-model reader (src/ngram/ngram_arpa.c).
 *
 * Each input is written to a memory file (memfd) and loaded through its /proc/self/fd
 * path, as a real file. A rejection must set an error message. A model that loads is
 * queried all over: every word's id round trip, log-probabilities of words after
 * contexts taken from the input bytes (never NaN), a scored sentence of its own words,
 * so ASan sees any table access the reader's checks let through.
 *   cmake --build build-fuzz --target fuzz_arpa
 *   mkdir -p /tmp/arpa-corpus && build-fuzz/fuzz/fuzz_arpa /tmp/arpa-corpus fuzz/corpus/arpa
 * Replayed without libFuzzer by ctest ngram_fuzz_replay (tests/fuzz_replay.c). */
#include "lmc.h"
#include "fuzz_util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef LMC_FUZZ_NO_TOKENIZER
/* Model tokens (lmc_ngram_set_tokenizer) are never used here: the libFuzzer build leaves
 * the tokenizer out, and these stand in for its two entry points. (The ctest replay
 * links the whole library instead.) */
int lmc_tokenize(const lmc_vocab *v, const char *text, size_t len, bool add_special, bool parse_special,
                 int32_t **ids, int64_t *n_ids) {
    (void)v, (void)text, (void)len, (void)add_special, (void)parse_special, (void)ids, (void)n_ids;
    abort();
}
const char *lmc_vocab_token_text(const lmc_vocab *v, int32_t id) {
    (void)v, (void)id;
    abort();
}
#endif

static void query(const lmc_ngram_lm *lm, const uint8_t *data, size_t size) {
    const int order = lmc_ngram_order(lm);
    const int32_t V = lmc_ngram_vocab_size(lm);
    if (order < 1 || V < 0) abort();
    char text[512];
    size_t tn = 0;
    for (int32_t i = 0; i < V && i < 4096; i++) {
        const char *w = lmc_ngram_word(lm, i);
        if (!w) abort();
        const int32_t id = lmc_ngram_word_id(lm, w, strlen(w));
        if (id < 0 || id >= V || strcmp(lmc_ngram_word(lm, id), w) != 0) abort();
        const size_t wn = strlen(w);
        if (i < 16 && tn + wn + 1 < sizeof text && !strchr(w, ' ')) {
            memcpy(text + tn, w, wn);
            tn += wn;
            text[tn++] = ' ';
        }
    }
    if (V == 0) return;
    /* contexts and words from the input bytes */
    int32_t ctx[8];
    for (size_t k = 0; k + 9 <= size && k < 64 * 9; k += 9) {
        for (int j = 0; j < 8; j++) ctx[j] = (int32_t)(data[k + j] % (unsigned)V);
        const int n_ctx = data[k] % 9;
        const double lp = lmc_ngram_logprob(lm, ctx + (8 - n_ctx), n_ctx, (int32_t)(data[k + 8] % (unsigned)V));
        if (isnan(lp)) abort();
    }
    lmc_ngram_ppl acc = {0};
    (void)lmc_ngram_score(lm, text, tn, &acc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64];
    int fd = fuzz_memfd("fuzz_arpa", data, size, path, sizeof path);
    if (fd < 0) return 0;
    lmc_ngram_lm *lm = lmc_ngram_load_arpa(path);
    if (!lm) {
        if (!lmc_last_error()[0]) abort(); /* a rejection always says why */
    } else {
        query(lm, data, size);
        lmc_ngram_free(lm);
    }
    close(fd);
    return 0;
}
