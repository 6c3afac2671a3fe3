/* test_tokenizer_spm_chunks.c — SentencePiece: the fast path (text cut where no
 * token can span, chunks cached) gives exactly the ids of the plain algorithm run
 * on the whole text, on English (WikiText-2) and Russian (WMT23) text, for the
 * Llama-2 vocab and the 512-token stories260K vocab (lots of byte fallback). */
#include "vocab-impl.h"
#include "test_util.h"

static char *head_of(const char *rel, size_t max, size_t *n) {
    FILE *f = fopen(t_shared(rel), "rb");
    if (!f) return NULL;
    char *b = malloc(max);
    *n = b ? fread(b, 1, max, f) : 0;
    fclose(f);
    while (*n > 0 && ((unsigned char)b[*n - 1] & 0xC0) == 0x80) (*n)--; /* whole characters only */
    if (*n > 0 && (unsigned char)b[*n - 1] >= 0xC0) (*n)--;
    return b;
}

int main(void) {
    const char *vocabs[] = {"ref/tokenizer/ggml-vocab-llama-spm.gguf", "models/stories260K.gguf"};
    const char *texts[] = {"data/wikitext2/wiki.test.tokens", "data/bleu/wmt23_en-ru/ref.ru"};
    for (int a = 0; a < 2; a++) {
        lmc_gguf *g = lmc_gguf_open(t_shared(vocabs[a]));
        CHECK_MSG(g != NULL, "%s", lmc_last_error());
        if (!g) continue;
        lmc_vocab *v = lmc_vocab_load(g);
        lmc_gguf_close(g);
        CHECK_MSG(v != NULL, "%s", lmc_last_error());
        if (!v) continue;
        for (int b = 0; b < 2; b++) {
            size_t n = 0;
            char *text = head_of(texts[b], 120000, &n);
            CHECK_MSG(text != NULL && n > 1000, "cannot read %s", texts[b]);
            if (!text) continue;
            tok_out fast = {0}, ref = {0};
            CHECK(spm_tokenize_ex(v, text, n, true, false, &fast) == LMC_OK);
            CHECK(spm_tokenize_ex(v, text, n, true, true, &ref) == LMC_OK);
            int64_t first = -1;
            for (int64_t i = 0; i < fast.n && i < ref.n && first < 0; i++)
                if (fast.ids[i] != ref.ids[i]) first = i;
            CHECK_MSG(fast.n == ref.n && first < 0, "%s on %s: %lld vs %lld ids, first difference at %lld", vocabs[a],
                      texts[b], (long long)fast.n, (long long)ref.n, (long long)first);
            printf("%s on %s: %zu bytes, %lld ids\n", vocabs[a], texts[b], n, (long long)fast.n);
            free(fast.ids);
            free(ref.ids);
            free(text);
        }
        lmc_vocab_free(v);
    }
    return t_done("test_tokenizer_spm_chunks");
}
