/* pretok.c — byte-level BPE pre-tokenizers: tokenizer.ggml.pre -> regular expressions.
 *
 * A pre-tokenizer is a list of regexes applied in turn, as Hugging Face's
 * Sequence of Split(behavior = Isolated) and llama.cpp's unicode_regex_split do:
 * regex k cuts every piece produced by regex k-1 into matches and the gaps
 * between them, and both become pieces. Each piece is matched on its own, so a
 * lookahead never sees past its end. The expressions are the published ones (as
 * adapted in llama.cpp b10573: "(?i:'s|...)" spelled out as "'[sS]|..." so that
 * no other Unicode case folding applies). PCRE2 runs them with UTF + UCP, so
 * \p{L}, \p{N}, \s are Unicode classes; JIT-compiled when available.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "vocab-impl.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define RE_CONTRACT "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define RE_LLAMA3 RE_CONTRACT "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2 RE_CONTRACT "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_PORO " ?[^(\\s|.,!?…。，、।۔،)]+"

#define MAX_RE 7

typedef struct pretok_def {
    const char *names;            /* '|'-separated tokenizer.ggml.pre values */
    const char *re[MAX_RE];       /* NULL-terminated */
    int clean_spaces;             /* detokenizer clean-up (llama.cpp's clean_spaces) */
    int ignore_merges;            /* a word that is a whole token skips BPE */
} pretok_def;

/* Verified against Hugging Face vectors in ../shared/ref/tokenizer: gpt-2, starcoder
 * (= smollm, refact, command-r regexes), falcon, deepseek-coder. The others follow
 * the published expressions and have unit tests of their splits only. */
static const pretok_def DEFS[] = {
    {"gpt-2|phi-2|mpt|olmo|jais|jina-es|jina-de|jina-v2-es|jina-v2-de|gigachat|exaone4|a.x-4.0|mellum|modern-bert",
     {RE_GPT2, NULL}, 1, 0},
    {"trillion|granite-docling", {RE_GPT2, NULL}, 0, 0},
    {"starcoder|refact|codeshell|exaone|minerva-7b|mellum2", {"\\p{N}", RE_GPT2, NULL}, 1, 0},
    {"smollm|command-r", {"\\p{N}", RE_GPT2, NULL}, 0, 0},
    {"falcon", {"[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]", NULL}, 1, 0},
    {"default", {"[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]", NULL}, 1, 0},
    {"llama3|llama-v3|llama-bpe|falcon3|falcon-h1|pixtral|midm-2.0|lfm2|jina-v5-nano", {RE_LLAMA3, NULL}, 1, 1},
    {"dbrx|smaug-bpe", {RE_LLAMA3, NULL}, 1, 0},
    {"qwen2|deepseek-r1-qwen|kormo|f2llmv2|hunyuan|solar-open", {RE_QWEN2, NULL}, 0, 0},
    {"stablelm2|megrez", {RE_QWEN2, NULL}, 1, 0},
    {"deepseek-coder",
     {"[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}", NULL}, 0, 0},
    {"deepseek-llm",
     {"[\\r\\n]",
      "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
      "\\s?[!-/:-~！-／：-～‘-‟　-。]+", "\\s+$", "[一-龥ࠀ-一가-퟿]+", "\\p{N}+", NULL},
     0, 0},
    {"poro-chat", {RE_PORO, NULL}, 0, 0},
    {"bloom|gpt3-finnish", {RE_PORO, NULL}, 1, 0},
    {"viking", {RE_PORO, "\\p{N}", NULL}, 0, 0},
    {NULL, {NULL}, 0, 0},
};

const char *const tok_pretok_names[] = {
    "gpt-2", "phi-2", "mpt", "olmo", "jais", "jina-es", "jina-de", "jina-v2-es", "jina-v2-de", "gigachat", "exaone4",
    "a.x-4.0", "mellum", "modern-bert", "trillion", "granite-docling", "starcoder", "refact", "codeshell", "exaone",
    "minerva-7b", "mellum2", "smollm", "command-r", "falcon", "default", "llama3", "llama-v3", "llama-bpe", "falcon3",
    "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano", "dbrx", "smaug-bpe", "qwen2", "deepseek-r1-qwen", "kormo",
    "f2llmv2", "hunyuan", "solar-open", "stablelm2", "megrez", "deepseek-coder", "deepseek-llm", "poro-chat", "bloom",
    "gpt3-finnish", "viking", NULL,
};

struct pretok {
    int n;
    pcre2_code *code[MAX_RE];
    bool jit[MAX_RE];
};

static bool name_in(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, '|');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && memcmp(p, name, n) == 0) return true;
        if (!e) break;
        p = e + 1;
    }
    return false;
}

pretok *pretok_create(const char *name, int *clean_spaces, int *ignore_merges) {
    const pretok_def *d = DEFS;
    while (d->names && !name_in(d->names, name)) d++;
    if (!d->names)
        return lmc_set_error_null(LMC_ERR_UNSUPPORTED,
                                  "tokenizer: unknown pre-tokenizer tokenizer.ggml.pre = \"%s\" (lmc knows gpt-2, smollm, starcoder, "
                                  "falcon, deepseek-coder, deepseek-llm, refact, mpt, llama-bpe, qwen2, command-r and aliases; "
                                  "see `lmc tokenize --list-pre`)",
                                  name);
    pretok *p = calloc(1, sizeof *p);
    if (!p) return lmc_set_error_null(LMC_ERR_NOMEM, "tokenizer: out of memory");
    for (int k = 0; k < MAX_RE && d->re[k]; k++) {
        int err;
        PCRE2_SIZE off;
        p->code[k] = pcre2_compile((PCRE2_SPTR)d->re[k], PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY | PCRE2_NO_UTF_CHECK, &err, &off, NULL);
        if (!p->code[k]) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(err, msg, sizeof msg);
            pretok_free(p);
            return lmc_set_error_null(LMC_ERR_INTERNAL, "tokenizer: pre-tokenizer \"%s\" regex %d does not compile at %zu: %s",
                                      name, k, (size_t)off, (const char *)msg);
        }
        p->jit[k] = pcre2_jit_compile(p->code[k], PCRE2_JIT_COMPLETE) == 0;
        p->n++;
    }
    *clean_spaces = d->clean_spaces;
    *ignore_merges = d->ignore_merges;
    return p;
}

void pretok_free(pretok *p) {
    if (!p) return;
    for (int k = 0; k < p->n; k++) pcre2_code_free(p->code[k]);
    free(p);
}

typedef struct split_ctx {
    const pretok *p;
    pcre2_match_data *md;
    pcre2_match_context *mc;
    int (*fn)(const char *w, size_t n, void *ud);
    void *ud;
} split_ctx;

/* Applies regex k (and the ones after it) to s[0..n). */
static int split_level(split_ctx *c, int k, const char *s, size_t n) {
    if (k == c->p->n) return c->fn(s, n, c->ud);
    pcre2_code *code = c->p->code[k];
    size_t pos = 0;
    while (pos < n) {
        int rc = c->p->jit[k]
                     ? pcre2_jit_match(code, (PCRE2_SPTR)s, n, pos, PCRE2_NOTEMPTY, c->md, c->mc)
                     : pcre2_match(code, (PCRE2_SPTR)s, n, pos, PCRE2_NOTEMPTY | PCRE2_NO_UTF_CHECK, c->md, c->mc);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return lmc_set_error(LMC_ERR_LIMIT, "tokenize: pre-tokenizer regex failed on a %zu-byte piece: %s", n,
                                 (const char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
        size_t ms = ov[0], me = ov[1];
        int r;
        if (ms > pos && (r = split_level(c, k + 1, s + pos, ms - pos))) return r;
        if ((r = split_level(c, k + 1, s + ms, me - ms))) return r;
        pos = me;
    }
    if (pos < n) return split_level(c, k + 1, s + pos, n - pos);
    return LMC_OK;
}

int pretok_split(const pretok *p, const char *text, size_t len, int (*fn)(const char *w, size_t n, void *ud),
                 void *ud) {
    if (len == 0) return LMC_OK;
    split_ctx c = {p, NULL, NULL, fn, ud};
    c.md = pcre2_match_data_create(4, NULL);
    c.mc = pcre2_match_context_create(NULL);
    pcre2_jit_stack *js = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, NULL);
    if (!c.md || !c.mc) {
        pcre2_match_data_free(c.md);
        pcre2_match_context_free(c.mc);
        pcre2_jit_stack_free(js);
        return lmc_set_error(LMC_ERR_NOMEM, "tokenize: out of memory");
    }
    if (js) pcre2_jit_stack_assign(c.mc, NULL, js);
    int rc = split_level(&c, 0, text, len);
    pcre2_match_data_free(c.md);
    pcre2_match_context_free(c.mc);
    pcre2_jit_stack_free(js);
    return rc;
}
