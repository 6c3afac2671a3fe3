/* test_tokenizer_props.c — properties of the tokenizer on every shared vocab:
 *  - round trip: lmc_detokenize(lmc_tokenize(x)) == x for random valid UTF-8 x
 *    (Latin, Cyrillic, CJK, emoji with ZWJ and skin tones, combining marks,
 *    whitespace runs incl. CR/LF/tabs/NBSP, and random code points of all planes),
 *    with and without BOS/EOS;
 *  - the streaming detokenizer returns valid UTF-8 in every chunk, and its output
 *    is the same text (SentencePiece: with the prefix space);
 *  - ids are in range; a second run gives the same ids (no state between calls);
 *  - four threads tokenizing with one vocab at once get the single-thread ids.
 * Also fixed cases: byte fallback split across tokens, stray bytes -> U+FFFD,
 * special-token parsing on and off.
 */
#include "lmc.h"
#include "test_util.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_rng = 0x1234567887654321ull;
static uint32_t rnd(uint32_t n) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng % n);
}

static size_t put_cp(char *o, uint32_t c) {
    if (c < 0x80) return o[0] = (char)c, 1;
    if (c < 0x800) return o[0] = (char)(0xC0 | (c >> 6)), o[1] = (char)(0x80 | (c & 0x3F)), 2;
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

static bool utf8_ok(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        size_t l = c < 0x80 ? 1 : c >= 0xC2 && c < 0xE0 ? 2 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xF0 && c < 0xF5 ? 4 : 0;
        if (!l || i + l > n) return false;
        for (size_t k = 1; k < l; k++)
            if ((u[i + k] & 0xC0) != 0x80) return false;
        uint32_t cp = l == 1 ? c : l == 2 ? c & 0x1F : l == 3 ? c & 0x0F : c & 0x07;
        for (size_t k = 1; k < l; k++) cp = (cp << 6) | (u[i + k] & 0x3F);
        if ((l == 2 && cp < 0x80) || (l == 3 && cp < 0x800) || (l == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp < 0xE000))
            return false;
        i += l;
    }
    return true;
}

/* One random string of about n code points. */
static size_t random_text(char *o, size_t n, const bool *has_byte) {
    static const uint32_t ranges[][2] = {
        {'a', 'z'}, {'A', 'Z'}, {'0', '9'}, {0x20, 0x7E}, {0x410, 0x44F}, {0x4E00, 0x9FFF}, {0x3040, 0x30FF},
        {0xAC00, 0xD7A3}, {0x1F300, 0x1F64F}, {0x300, 0x36F}, {0x80, 0x24F}, {0x600, 0x6FF}, {0x900, 0x97F},
        {0x1, 0x10FFFF},
    };
    static const char *const extra[] = {" ", "  ", "    ", "\t", "\n", "\r\n", "\n\n", "\u00a0", "\u3000",
                                        "👨\u200d👩\u200d👧", "👍🏽", "🇫🇷", "e\u0301", "'s", "'ll", "1234567"};
    size_t m = 0;
    for (size_t k = 0; k < n; k++) {
        if (rnd(5) == 0) {
            const char *e = extra[rnd(sizeof extra / sizeof extra[0])];
            memcpy(o + m, e, strlen(e));
            m += strlen(e);
            continue;
        }
        for (;;) { /* a code point whose bytes the vocab can represent */
            size_t r = rnd(sizeof ranges / sizeof ranges[0]);
            uint32_t c = ranges[r][0] + rnd(ranges[r][1] - ranges[r][0] + 1);
            if (c >= 0xD800 && c < 0xE000) continue; /* surrogates are not valid UTF-8 */
            if (c == 0x2581) continue; /* SentencePiece's space mark: decodes as a space */
            size_t l = put_cp(o + m, c);
            bool ok = true;
            for (size_t i = 0; i < l; i++) ok &= has_byte[(unsigned char)o[m + i]];
            if (ok) {
                m += l;
                break;
            }
        }
    }
    return m;
}

/* GPT-2's byte alphabet (bytes_to_unicode): the character a byte-level BPE vocab
 * stores for byte b, as UTF-8. */
static size_t gpt2_char(int b, char *o) {
    bool keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    if (keep) return put_cp(o, (uint32_t)b);
    int k = 0;
    for (int c = 0; c < b; c++) k += !((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE);
    return put_cp(o, 0x100u + (uint32_t)k);
}

static void check_vocab(const char *path, int n_strings) {
    lmc_gguf *g = lmc_gguf_open(path);
    CHECK_MSG(g != NULL, "%s: %s", path, lmc_last_error());
    if (!g) return;
    lmc_vocab *v = lmc_vocab_load(g);
    lmc_gguf_close(g);
    CHECK_MSG(v != NULL, "%s: %s", path, lmc_last_error());
    if (!v) return;
    bool spm = strcmp(lmc_vocab_model(v), "llama") == 0;
    int32_t nt = lmc_vocab_n_tokens(v);
    /* Some BPE vocabs have no token for bytes that never occurred in training (the lead
     * bytes of rare planes): such text cannot round-trip (llama.cpp drops the byte too),
     * so the generator only uses characters the vocab can represent. */
    bool has_byte[256];
    for (int b = 0; b < 256; b++) {
        char e[4];
        size_t el = gpt2_char(b, e);
        has_byte[b] = spm || lmc_vocab_find_token(v, e, el) >= 0;
    }
    lmc_detok *d = lmc_detok_init(v, false);
    char text[4096];
    int fails = 0, skipped = 0;
    for (int t = 0; t < n_strings && fails < 5; t++) {
        size_t len = random_text(text, 1 + rnd(200), has_byte);
        text[len] = 0;
        if (!utf8_ok(text, len)) {
            CHECK_MSG(0, "generator made invalid UTF-8");
            continue;
        }
        bool representable = true;
        for (size_t i = 0; i < len; i++) representable &= has_byte[(unsigned char)text[i]];
        if (!representable) {
            skipped++;
            continue;
        }
        bool add = t & 1;
        int32_t *ids = NULL, *ids2 = NULL;
        int64_t n = 0, n2 = 0;
        int rc = lmc_tokenize(v, text, len, add, false, &ids, &n);
        CHECK_MSG(rc == LMC_OK, "%s: tokenize failed: %s", path, lmc_last_error());
        if (rc) {
            fails++;
            continue;
        }
        bool in_range = true;
        for (int64_t i = 0; i < n; i++) in_range &= ids[i] >= 0 && ids[i] < nt;
        CHECK_MSG(in_range, "%s: id out of range", path);
        rc = lmc_tokenize(v, text, len, add, false, &ids2, &n2);
        CHECK_MSG(rc == LMC_OK && n2 == n && memcmp(ids, ids2, (size_t)n * sizeof *ids) == 0, "%s: not deterministic", path);
        char *back = NULL;
        size_t blen = 0;
        rc = lmc_detokenize(v, ids, n, false, &back, &blen);
        bool ok = rc == LMC_OK && blen == len && memcmp(back, text, len) == 0;
        CHECK_MSG(ok, "%s: decode(encode(x)) != x for \"%s\" -> \"%s\"", path, text, back ? back : "(null)");
        fails += !ok;
        /* streaming: every chunk valid UTF-8; the concatenation is the text */
        lmc_detok_reset(d);
        char *st = malloc(len + 64);
        size_t sl = 0;
        bool chunks_ok = true, fits = true;
        for (int64_t i = 0; i <= n; i++) {
            const char *c;
            size_t cl;
            rc = i < n ? lmc_detok_push(d, ids[i], &c, &cl) : lmc_detok_flush(d, &c, &cl);
            chunks_ok &= rc == LMC_OK && utf8_ok(c, cl);
            if (sl + cl <= len + 64) memcpy(st + sl, c, cl), sl += cl;
            else fits = false;
        }
        const char *want = st;
        size_t wl = sl;
        if (spm && wl > 0 && want[0] == ' ') want++, wl--; /* the prefix space */
        CHECK_MSG(chunks_ok, "%s: a streamed chunk is not valid UTF-8", path);
        CHECK_MSG(fits && wl == len && memcmp(want, text, len) == 0, "%s: streamed text differs for \"%s\"", path, text);
        free(st);
        free(back);
        free(ids);
        free(ids2);
    }
    CHECK_MSG(skipped == 0, "%s: %d of %d strings not representable", path, skipped, n_strings);
    lmc_detok_free(d);
    lmc_vocab_free(v);
}

static lmc_vocab *load(const char *rel) {
    lmc_gguf *g = lmc_gguf_open(t_shared(rel));
    if (!g) return NULL;
    lmc_vocab *v = lmc_vocab_load(g);
    lmc_gguf_close(g);
    return v;
}

static void fixed_cases(void) {
    /* stories260K has 512 tokens: "中" is three byte-fallback tokens <0xE4><0xB8><0xAD> */
    lmc_vocab *v = load("models/stories260K.gguf");
    CHECK(v != NULL);
    if (!v) return;
    int32_t *ids = NULL;
    int64_t n = 0;
    CHECK(lmc_tokenize(v, "\xe4\xb8\xad", 3, false, false, &ids, &n) == LMC_OK);
    int32_t e2 = lmc_vocab_find_token(v, "<0xE4>", 6), x82 = lmc_vocab_find_token(v, "<0xB8>", 6),
            xac = lmc_vocab_find_token(v, "<0xAD>", 6);
    CHECK(e2 >= 0 && x82 >= 0 && xac >= 0);
    CHECK_EQ_INT(n, 4); /* "▁" + 3 bytes */
    if (n == 4) {
        CHECK_EQ_INT(ids[1], e2);
        CHECK_EQ_INT(ids[2], x82);
        CHECK_EQ_INT(ids[3], xac);
    }
    CHECK_EQ_INT(lmc_vocab_token_type(v, e2), LMC_TOKEN_BYTE);
    free(ids);
    lmc_detok *d = lmc_detok_init(v, false);
    const char *c;
    size_t cl;
    CHECK(lmc_detok_push(d, e2, &c, &cl) == LMC_OK && cl == 0); /* held: incomplete character */
    CHECK(lmc_detok_push(d, x82, &c, &cl) == LMC_OK && cl == 0);
    CHECK(lmc_detok_push(d, xac, &c, &cl) == LMC_OK && cl == 3 && memcmp(c, "\xe4\xb8\xad", 3) == 0);
    /* a stray lead byte followed by ASCII becomes U+FFFD, never a raw byte */
    int32_t a = lmc_vocab_find_token(v, "a", 1);
    CHECK(a >= 0);
    CHECK(lmc_detok_push(d, e2, &c, &cl) == LMC_OK && cl == 0);
    CHECK(lmc_detok_push(d, a, &c, &cl) == LMC_OK && cl == 4 && memcmp(c, "\xef\xbf\xbd" "a", 4) == 0);
    /* an unfinished character at the end of the stream */
    CHECK(lmc_detok_push(d, e2, &c, &cl) == LMC_OK && cl == 0);
    CHECK(lmc_detok_flush(d, &c, &cl) == LMC_OK && cl == 3 && memcmp(c, "\xef\xbf\xbd", 3) == 0);
    /* a lone continuation byte */
    CHECK(lmc_detok_push(d, x82, &c, &cl) == LMC_OK && cl == 3 && memcmp(c, "\xef\xbf\xbd", 3) == 0);
    lmc_detok_free(d);
    /* BOS is added by default for SentencePiece; BOS/EOS pieces are invisible unless asked */
    CHECK_EQ_INT(lmc_vocab_bos(v), 1);
    CHECK_EQ_INT(lmc_vocab_eos(v), 2);
    CHECK(lmc_vocab_is_eog(v, 2));
    CHECK(!lmc_vocab_is_eog(v, 1));
    char buf[16];
    CHECK_EQ_INT(lmc_token_to_piece(v, 1, false, buf, sizeof buf), 0);
    CHECK_EQ_INT(lmc_token_to_piece(v, 1, true, buf, sizeof buf), 3);
    CHECK_STR(buf, "<s>");
    lmc_vocab_free(v);

    /* special tokens: parsed only when asked (starcoder: <fim_prefix> = 1, control) */
    v = load("ref/tokenizer/ggml-vocab-starcoder.gguf");
    CHECK(v != NULL);
    if (!v) return;
    const char *s = "<fim_prefix>def f():<fim_suffix>";
    CHECK(lmc_tokenize(v, s, strlen(s), false, true, &ids, &n) == LMC_OK);
    CHECK(n >= 3 && ids[0] == 1 && ids[n - 1] == 3);
    char *back = NULL;
    size_t bl;
    CHECK(lmc_detokenize(v, ids, n, true, &back, &bl) == LMC_OK && back && strcmp(back, s) == 0);
    free(back);
    CHECK(lmc_detokenize(v, ids, n, false, &back, &bl) == LMC_OK && back && strcmp(back, "def f():") == 0);
    free(back);
    free(ids);
    CHECK(lmc_tokenize(v, s, strlen(s), false, false, &ids, &n) == LMC_OK);
    bool none = true;
    for (int64_t i = 0; i < n; i++) none &= ids[i] != 1 && ids[i] != 3;
    CHECK(none);
    CHECK(lmc_detokenize(v, ids, n, false, &back, &bl) == LMC_OK && back && strcmp(back, s) == 0);
    free(back);
    free(ids);
    CHECK_EQ_INT(lmc_vocab_find_token(v, "<fim_prefix>", 12), 1);
    CHECK(lmc_vocab_is_control(v, 1));
    CHECK(lmc_vocab_is_eog(v, 0)); /* <|endoftext|> */
    CHECK(lmc_vocab_is_eog(v, 4)); /* <fim_pad> ends generation, as in llama.cpp */
    CHECK_STR(lmc_vocab_pre(v), "starcoder");
    lmc_vocab_free(v);

    /* deepseek-coder's user-defined tokens are matched even without parse_special */
    v = load("ref/tokenizer/ggml-vocab-deepseek-coder.gguf");
    CHECK(v != NULL);
    if (!v) return;
    int32_t ud = lmc_vocab_find_token(v, "\xc3\xb5", 2); /* "õ" */
    CHECK_EQ_INT(lmc_vocab_token_type(v, ud), LMC_TOKEN_USER_DEFINED);
    CHECK(lmc_tokenize(v, "a\xc3\xb5" "b", 4, false, false, &ids, &n) == LMC_OK);
    CHECK(n == 3 && ids[1] == ud);
    free(ids);
    lmc_vocab_free(v);
}

typedef struct job {
    const lmc_vocab *v;
    const char *text;
    size_t len;
    int32_t *ids;
    int64_t n;
    int rc;
} job;

static void *run_job(void *arg) {
    job *j = arg;
    j->rc = lmc_tokenize(j->v, j->text, j->len, true, false, &j->ids, &j->n);
    return NULL;
}

static void threads_case(const char *vocab_rel) {
    lmc_vocab *v = load(vocab_rel);
    CHECK(v != NULL);
    if (!v) return;
    static char text[200000];
    FILE *f = fopen(t_shared("data/wikitext2/wiki.test.tokens"), "rb");
    size_t len = f ? fread(text, 1, sizeof text, f) : 0;
    if (f) fclose(f);
    while (len > 0 && ((unsigned char)text[len - 1] & 0x80)) len--; /* end on ASCII */
    CHECK(len > 1000);
    job one = {v, text, len, NULL, 0, 0};
    run_job(&one);
    job j[4];
    pthread_t th[4];
    for (int k = 0; k < 4; k++) {
        j[k] = (job){v, text, len, NULL, 0, 0};
        pthread_create(&th[k], NULL, run_job, &j[k]);
    }
    for (int k = 0; k < 4; k++) {
        pthread_join(th[k], NULL);
        CHECK_MSG(j[k].rc == LMC_OK && j[k].n == one.n && memcmp(j[k].ids, one.ids, (size_t)one.n * 4) == 0,
                  "%s: thread %d got different ids", vocab_rel, k);
        free(j[k].ids);
    }
    free(one.ids);
    lmc_vocab_free(v);
}

int main(void) {
    static const char *const vocabs[] = {
        "ref/tokenizer/ggml-vocab-gpt-2.gguf", "ref/tokenizer/ggml-vocab-llama-spm.gguf",
        "ref/tokenizer/ggml-vocab-phi-3.gguf", "ref/tokenizer/ggml-vocab-starcoder.gguf",
        "ref/tokenizer/ggml-vocab-falcon.gguf", "ref/tokenizer/ggml-vocab-deepseek-coder.gguf",
        "models/stories260K.gguf",
    };
    int n = getenv("LMC_TOK_PROP_N") ? atoi(getenv("LMC_TOK_PROP_N")) : 300;
    for (size_t i = 0; i < sizeof vocabs / sizeof vocabs[0]; i++) check_vocab(t_shared(vocabs[i]), n);
    fixed_cases();
    threads_case("ref/tokenizer/ggml-vocab-gpt-2.gguf");
    threads_case("ref/tokenizer/ggml-vocab-llama-spm.gguf");
    return t_done("test_tokenizer_props");
}
