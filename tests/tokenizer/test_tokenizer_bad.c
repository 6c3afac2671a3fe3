/* test_tokenizer_bad.c — bad vocabs and bad input give a clear error, never a crash:
 * missing or malformed merges, duplicate tokens, unknown tokenizer or pre-tokenizer,
 * short score / type arrays, wrong types, out-of-range special ids (ignored, as
 * llama.cpp does), invalid UTF-8, out-of-range ids, small buffers, NULL arguments.
 * The vocab files are written with lmc's GGUF writer into the working directory.
 */
#include "lmc.h"
#include "test_util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A tiny byte-level BPE vocab: the 256 GPT-2 byte characters, "ab", "abc". */
static const char *g_tokens[260];
static char g_tokbuf[256][4];

static size_t put_cp(char *o, unsigned c) {
    if (c < 0x80) return o[0] = (char)c, 1;
    o[0] = (char)(0xC0 | (c >> 6));
    o[1] = (char)(0x80 | (c & 0x3F));
    return 2;
}

static void init_tokens(void) {
    int k = 0;
    for (int b = 0; b < 256; b++) {
        bool keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        unsigned cp = keep ? (unsigned)b : 0x100u + (unsigned)k++;
        size_t n = put_cp(g_tokbuf[b], cp);
        g_tokbuf[b][n] = 0;
        g_tokens[b] = g_tokbuf[b];
    }
    g_tokens[256] = "ab";
    g_tokens[257] = "abc";
    g_tokens[258] = "<|endoftext|>";
}

enum {
    F_NO_MERGES = 1,
    F_BAD_MERGE = 2,
    F_DUP = 4,
    F_PRE_UNKNOWN = 8,
    F_MODEL_UNKNOWN = 16,
    F_SHORT_TYPES = 32,
    F_BAD_SPECIAL = 64,
    F_NO_TOKENS = 128,
    F_SCORES_STR = 256,
    F_TYPES_FLOAT = 512,
};

static lmc_vocab *make(int flags, const char *path) {
    lmc_gguf_writer *w = lmc_gguf_writer_init();
    if (!w) return NULL;
    lmc_gguf_writer_set_str(w, "general.architecture", "gpt2");
    lmc_gguf_writer_set_str(w, "tokenizer.ggml.model", flags & F_MODEL_UNKNOWN ? "wordpiece-ish" : "gpt2");
    lmc_gguf_writer_set_str(w, "tokenizer.ggml.pre", flags & F_PRE_UNKNOWN ? "no-such-pre" : "gpt-2");
    const char *toks[259];
    memcpy(toks, g_tokens, sizeof toks);
    if (flags & F_DUP) toks[257] = "ab";
    if (!(flags & F_NO_TOKENS)) lmc_gguf_writer_set_array_str(w, "tokenizer.ggml.tokens", toks, 259);
    int32_t types[259];
    for (int i = 0; i < 259; i++) types[i] = i == 258 ? 3 : 1;
    if (flags & F_TYPES_FLOAT) {
        float ft[259] = {0};
        lmc_gguf_writer_set_array(w, "tokenizer.ggml.token_type", LMC_GGUF_FLOAT32, ft, 259);
    } else {
        lmc_gguf_writer_set_array(w, "tokenizer.ggml.token_type", LMC_GGUF_INT32, types, flags & F_SHORT_TYPES ? 100 : 259);
    }
    if (flags & F_SCORES_STR) lmc_gguf_writer_set_array_str(w, "tokenizer.ggml.scores", toks, 259);
    const char *merges[] = {"a b", flags & F_BAD_MERGE ? "abc" : "ab c"};
    if (!(flags & F_NO_MERGES)) lmc_gguf_writer_set_array_str(w, "tokenizer.ggml.merges", merges, 2);
    lmc_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", flags & F_BAD_SPECIAL ? 100000u : 258u);
    lmc_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", flags & F_BAD_SPECIAL ? 4294967295u : 258u);
    int rc = lmc_gguf_writer_write(w, path);
    lmc_gguf_writer_free(w);
    if (rc != LMC_OK) {
        fprintf(stderr, "cannot write %s: %s\n", path, lmc_last_error());
        return NULL;
    }
    lmc_gguf *g = lmc_gguf_open(path);
    if (!g) {
        fprintf(stderr, "cannot open %s: %s\n", path, lmc_last_error());
        return NULL;
    }
    lmc_vocab *v = lmc_vocab_load(g);
    lmc_gguf_close(g);
    return v;
}

/* Loading must fail with a message containing word. */
static void expect_fail(int flags, const char *word) {
    char path[64];
    snprintf(path, sizeof path, "tok_bad_%d.gguf", flags);
    lmc_vocab *v = make(flags, path);
    CHECK_MSG(v == NULL, "flags %d: a bad vocab loaded", flags);
    CHECK_MSG(strstr(lmc_last_error(), word) != NULL, "flags %d: error \"%s\" does not mention \"%s\"", flags,
              lmc_last_error(), word);
    printf("flags %3d -> %s\n", flags, lmc_last_error());
    lmc_vocab_free(v);
    unlink(path);
}

int main(void) {
    init_tokens();
    /* the good vocab works: "abc" is one token after the merges a+b, ab+c */
    lmc_vocab *v = make(0, "tok_bad_0.gguf");
    CHECK_MSG(v != NULL, "good vocab: %s", lmc_last_error());
    if (v) {
        int32_t *ids = NULL;
        int64_t n = 0;
        CHECK(lmc_tokenize(v, "abc ab", 6, false, false, &ids, &n) == LMC_OK);
        CHECK_EQ_INT(n, 3); /* "abc" | " ab" -> abc, the space byte (id 0x20), ab */
        if (n == 3) {
            CHECK_EQ_INT(ids[0], 257);
            CHECK_EQ_INT(ids[1], 0x20);
            CHECK_EQ_INT(ids[2], 256);
        }
        free(ids);

        /* invalid UTF-8 is refused with the offset */
        const char *bad[] = {"ab\xff", "\xc0\x80", "a\xed\xa0\x80", "\xe4\xb8", "\xf4\x90\x80\x80", "x\x80y"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            ids = NULL;
            int rc = lmc_tokenize(v, bad[i], strlen(bad[i]), false, false, &ids, &n);
            CHECK_MSG(rc == LMC_ERR_INVALID_ARG && ids == NULL, "invalid UTF-8 case %zu accepted", i);
            CHECK_MSG(strstr(lmc_last_error(), "UTF-8") != NULL, "message: %s", lmc_last_error());
        }
        /* NUL bytes are valid UTF-8 text */
        CHECK(lmc_tokenize(v, "a\0b", 3, false, false, &ids, &n) == LMC_OK && n == 3);
        free(ids);
        CHECK(lmc_tokenize(v, NULL, 0, false, false, &ids, &n) == LMC_OK && n == 0);
        free(ids);
        CHECK(lmc_tokenize(v, NULL, 5, false, false, &ids, &n) == LMC_ERR_INVALID_ARG);
        CHECK(lmc_tokenize(v, "a", 1, false, false, NULL, &n) == LMC_ERR_INVALID_ARG);

        /* out-of-range ids */
        char buf[8];
        CHECK(lmc_token_to_piece(v, -1, false, buf, sizeof buf) == LMC_ERR_INVALID_ARG);
        CHECK(strstr(lmc_last_error(), "out of range") != NULL);
        CHECK(lmc_token_to_piece(v, 259, false, buf, sizeof buf) == LMC_ERR_INVALID_ARG);
        CHECK(lmc_token_to_piece(v, 258, true, buf, 4) == LMC_ERR_LIMIT); /* "<|endoftext|>" needs 13 bytes */
        CHECK_EQ_INT(lmc_token_to_piece(v, 258, false, buf, 4), 0);        /* control: invisible */
        int32_t some[] = {257, 1000000};
        char *text = NULL;
        size_t tl;
        CHECK(lmc_detokenize(v, some, 2, false, &text, &tl) == LMC_ERR_INVALID_ARG && text == NULL);
        CHECK(strstr(lmc_last_error(), "1000000") != NULL);
        lmc_detok *d = lmc_detok_init(v, false);
        const char *c;
        size_t cl;
        CHECK(lmc_detok_push(d, -5, &c, &cl) == LMC_ERR_INVALID_ARG);
        CHECK(lmc_detok_push(d, 257, &c, &cl) == LMC_OK && cl == 3 && memcmp(c, "abc", 3) == 0);
        lmc_detok_free(d);
        CHECK(lmc_vocab_token_text(v, 259) == NULL);
        CHECK(lmc_vocab_token_type(v, -1) == LMC_TOKEN_UNDEFINED);
        CHECK(!lmc_vocab_is_eog(v, 99999));
        CHECK_EQ_INT(lmc_vocab_find_token(v, "nope", 4), -1);
        CHECK_EQ_INT(lmc_vocab_eos(v), 258);
        CHECK(lmc_vocab_is_eog(v, 258));
        lmc_vocab_free(v);
    }
    unlink("tok_bad_0.gguf");

    /* special ids out of range: ignored (llama.cpp keeps its default), not a crash */
    v = make(F_BAD_SPECIAL, "tok_bad_sp.gguf");
    CHECK_MSG(v != NULL, "out-of-range special ids: %s", lmc_last_error());
    if (v) {
        CHECK(lmc_vocab_bos(v) == 11 || lmc_vocab_bos(v) == -1);
        lmc_vocab_free(v);
    }
    unlink("tok_bad_sp.gguf");

    expect_fail(F_NO_MERGES, "merges");
    expect_fail(F_BAD_MERGE, "merge 1");
    expect_fail(F_DUP, "duplicate");
    expect_fail(F_PRE_UNKNOWN, "no-such-pre");
    expect_fail(F_MODEL_UNKNOWN, "wordpiece-ish");
    expect_fail(F_SHORT_TYPES, "token_type");
    expect_fail(F_NO_TOKENS, "tokenizer.ggml.tokens");
    expect_fail(F_SCORES_STR, "scores");
    expect_fail(F_TYPES_FLOAT, "token_type");

    CHECK(lmc_vocab_load(NULL) == NULL);
    lmc_vocab_free(NULL);
    lmc_detok_free(NULL);
    return t_done("test_tokenizer_bad");
}
