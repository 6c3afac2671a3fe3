/* fuzz_tokenize.c — libFuzzer target for the tokenizer.
 *
 * The vocabs are loaded once: every file named in LMC_FUZZ_VOCABS (colon-separated),
 * else the shared test vocabs under LMC_SHARED_DIR (default ../shared): gpt-2,
 * llama-spm, phi-3, starcoder, falcon, deepseek-coder, stories260K. The first input
 * byte picks the vocab and mode; the rest is
 *   mode 0: text. Invalid UTF-8 must be refused with an error; valid UTF-8 must
 *           tokenize to in-range ids, and decode(encode(x)) == x whenever the vocab
 *           has a token for every byte of x (byte-level BPE vocabs may lack some)
 *           and, for SentencePiece, x has no "▁" (U+2581 is how it writes a space);
 *   mode 1: text with parse_special (special-token text becomes tokens): no crash,
 *           ids in range, decoding succeeds;
 *   mode 2: little-endian int32 ids (any value): the streaming detokenizer must
 *           return valid UTF-8 for every chunk and reject out-of-range ids cleanly.
 * A broken invariant abort()s, which libFuzzer reports as a crash.
 */
#include "lmc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define REQUIRE(cond)                                                                          \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz_tokenize: invariant failed: %s (%s:%d)\n", #cond, __FILE__, \
                    __LINE__);                                                                 \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

#define MAX_VOCABS 16
static lmc_vocab *g_vocab[MAX_VOCABS];
static bool g_has_byte[MAX_VOCABS][256];
static int g_n;

static void add_vocab(const char *path) {
    if (g_n == MAX_VOCABS) return;
    lmc_gguf *g = lmc_gguf_open(path);
    if (!g) {
        fprintf(stderr, "fuzz_tokenize: skipping %s: %s\n", path, lmc_last_error());
        return;
    }
    lmc_vocab *v = lmc_vocab_load(g);
    lmc_gguf_close(g);
    if (!v) {
        fprintf(stderr, "fuzz_tokenize: skipping %s: %s\n", path, lmc_last_error());
        return;
    }
    /* which single bytes survive a round trip: tokenize each byte as text where valid,
     * and for byte-level BPE check the byte's alphabet character is a token */
    bool spm = strcmp(lmc_vocab_model(v), "llama") == 0;
    for (int b = 0; b < 256; b++) {
        if (spm) {
            g_has_byte[g_n][b] = true;
            continue;
        }
        bool keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        int k = 0;
        for (int c = 0; c < b; c++) k += !((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE);
        unsigned cp = keep ? (unsigned)b : 0x100u + (unsigned)k;
        char e[2];
        size_t el = cp < 0x80 ? (e[0] = (char)cp, 1) : (e[0] = (char)(0xC0 | (cp >> 6)), e[1] = (char)(0x80 | (cp & 0x3F)), 2);
        g_has_byte[g_n][b] = lmc_vocab_find_token(v, e, el) >= 0;
    }
    g_vocab[g_n++] = v;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *list = getenv("LMC_FUZZ_VOCABS");
    if (list && *list) {
        char *copy = strdup(list);
        for (char *tok = strtok(copy, ":"); tok; tok = strtok(NULL, ":")) add_vocab(tok);
        free(copy);
    } else {
        const char *shared = getenv("LMC_SHARED_DIR") ? getenv("LMC_SHARED_DIR") : "../shared";
        static const char *const rel[] = {
            "ref/tokenizer/ggml-vocab-gpt-2.gguf", "ref/tokenizer/ggml-vocab-llama-spm.gguf",
            "ref/tokenizer/ggml-vocab-phi-3.gguf", "ref/tokenizer/ggml-vocab-starcoder.gguf",
            "ref/tokenizer/ggml-vocab-falcon.gguf", "ref/tokenizer/ggml-vocab-deepseek-coder.gguf",
            "models/stories260K.gguf",
        };
        for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", shared, rel[i]);
            add_vocab(path);
        }
    }
    if (!g_n) {
        fprintf(stderr, "fuzz_tokenize: no vocab could be loaded (set LMC_SHARED_DIR or LMC_FUZZ_VOCABS)\n");
        abort();
    }
    return 0;
}

static bool utf8_valid(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        size_t l = c < 0x80 ? 1 : (c >= 0xC2 && c < 0xE0) ? 2 : (c >= 0xE0 && c < 0xF0) ? 3 : (c >= 0xF0 && c < 0xF5) ? 4 : 0;
        if (!l || i + l > n) return false;
        for (size_t k = 1; k < l; k++)
            if ((u[i + k] & 0xC0) != 0x80) return false;
        if (c == 0xE0 && u[i + 1] < 0xA0) return false;
        if (c == 0xED && u[i + 1] >= 0xA0) return false;
        if (c == 0xF0 && u[i + 1] < 0x90) return false;
        if (c == 0xF4 && u[i + 1] >= 0x90) return false;
        i += l;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || !g_n) return 0;
    int which = data[0] % g_n, mode = (data[0] / g_n) % 3;
    lmc_vocab *v = g_vocab[which];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    int32_t nt = lmc_vocab_n_tokens(v);

    if (mode == 0 || mode == 1) {
        int32_t *ids = NULL;
        int64_t n = 0;
        int rc = lmc_tokenize(v, text, len, mode == 0 && (len & 1), mode == 1, &ids, &n);
        bool valid = utf8_valid(text, len);
        REQUIRE(valid ? rc == LMC_OK : rc == LMC_ERR_INVALID_ARG);
        if (rc != LMC_OK) return 0;
        for (int64_t i = 0; i < n; i++) REQUIRE(ids[i] >= 0 && ids[i] < nt);
        char *back = NULL;
        size_t blen = 0;
        REQUIRE(lmc_detokenize(v, ids, n, mode == 1, &back, &blen) == LMC_OK);
        REQUIRE(utf8_valid(back, blen));
        if (mode == 0) {
            bool representable = true;
            for (size_t i = 0; i < len; i++) representable &= g_has_byte[which][(uint8_t)text[i]];
            /* SentencePiece writes spaces as U+2581 "▁", so a "▁" in the text decodes as a space */
            if (strcmp(lmc_vocab_model(v), "llama") == 0 && memmem(text, len, "\xe2\x96\x81", 3)) representable = false;
            if (representable) REQUIRE(blen == len && memcmp(back, text, len) == 0);
        }
        free(back);
        free(ids);
        return 0;
    }
    /* mode 2: ids */
    lmc_detok *d = lmc_detok_init(v, data[0] & 1);
    REQUIRE(d != NULL);
    for (size_t i = 1; i + 4 <= size; i += 4) {
        int32_t id;
        memcpy(&id, data + i, 4);
        if (id >= 0) id %= (nt + 8); /* mostly valid ids, a few just past the end */
        const char *c;
        size_t cl;
        int rc = lmc_detok_push(d, id, &c, &cl);
        REQUIRE((id >= 0 && id < nt) ? rc == LMC_OK : rc == LMC_ERR_INVALID_ARG);
        if (rc == LMC_OK) REQUIRE(utf8_valid(c, cl));
        char piece[8];
        int pn = lmc_token_to_piece(v, id, true, piece, sizeof piece);
        REQUIRE(pn >= 0 || pn == LMC_ERR_LIMIT || pn == LMC_ERR_INVALID_ARG);
    }
    const char *c;
    size_t cl;
    REQUIRE(lmc_detok_flush(d, &c, &cl) == LMC_OK && utf8_valid(c, cl));
    lmc_detok_free(d);
    return 0;
}
