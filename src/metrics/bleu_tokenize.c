/* bleu_tokenize.c — sacreBLEU's tokenizers: 13a (mteval-v13a), intl (mteval-v14
 * international), char and none. The regular expressions are sacreBLEU's, applied in
 * its order with PCRE2's global substitution, which replaces non-overlapping matches
 * left to right exactly as Python's re.sub does. */
#include "metrics-impl.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rule {
    const char *pattern;
    const char *replacement;
} rule;

/* mteval-v13a's language-dependent part (sacreBLEU tokenizer_re.py). */
static const rule RULES_13A[] = {
    {"([\\{-\\~\\[-\\` -\\&\\(-\\+\\:-\\@\\/])", " $1 "}, /* ASCII punctuation and symbols */
    {"([^0-9])([\\.,])", "$1 $2 "},                     /* period/comma unless after a digit */
    {"([\\.,])([^0-9])", " $1 $2"},                     /* ... unless before a digit */
    {"([0-9])(-)", "$1 $2 "},                           /* dash after a digit */
};
/* mteval-v14 international (sacreBLEU tokenizer_intl.py). */
static const rule RULES_INTL[] = {
    {"(\\P{N})(\\p{P})", "$1 $2 "}, /* punctuation after a non-digit */
    {"(\\p{P})(\\P{N})", " $1 $2"}, /* punctuation before a non-digit */
    {"(\\p{S})", " $1 "},           /* symbols */
};
#define N_13A (sizeof RULES_13A / sizeof RULES_13A[0])
#define N_INTL (sizeof RULES_INTL / sizeof RULES_INTL[0])

static pcre2_code *g_13a[N_13A], *g_intl[N_INTL];
static int g_compile_status = LMC_OK;
static char g_compile_msg[256];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static pcre2_code *compile(const char *pat) {
    int err;
    PCRE2_SIZE off;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off, NULL);
    if (!c) {
        PCRE2_UCHAR msg[128];
        pcre2_get_error_message(err, msg, sizeof msg);
        snprintf(g_compile_msg, sizeof g_compile_msg, "BLEU tokenizer pattern %s: %s at %zu", pat, (char *)msg,
                 (size_t)off);
        g_compile_status = LMC_ERR_INTERNAL;
        return NULL;
    }
    pcre2_jit_compile(c, PCRE2_JIT_COMPLETE); /* optional: falls back to the interpreter */
    return c;
}

static void compile_all(void) {
    for (size_t i = 0; i < N_13A; i++) g_13a[i] = compile(RULES_13A[i].pattern);
    for (size_t i = 0; i < N_INTL; i++) g_intl[i] = compile(RULES_INTL[i].pattern);
}

/* Applies one rule to b (in place). */
static int substitute(pcre2_code *code, const char *repl, lmc_txt_buf *b, pcre2_match_data *md) {
    PCRE2_SIZE out_len = b->len * 2 + 64;
    for (int attempt = 0; attempt < 2; attempt++) {
        char *out = malloc(out_len + 1);
        if (!out) return lmc_set_error(LMC_ERR_NOMEM, "out of memory tokenizing");
        PCRE2_SIZE cap = out_len + 1;
        int rc = pcre2_substitute(code, (PCRE2_SPTR)b->p, b->len, 0,
                                  PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH | PCRE2_NO_UTF_CHECK,
                                  md, NULL, (PCRE2_SPTR)repl, PCRE2_ZERO_TERMINATED, (PCRE2_UCHAR *)out, &cap);
        if (rc >= 0) {
            free(b->p);
            b->p = out;
            b->len = cap;
            b->cap = out_len + 1;
            return LMC_OK;
        }
        free(out);
        if (rc != PCRE2_ERROR_NOMEMORY) {
            PCRE2_UCHAR msg[128];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return lmc_set_error(LMC_ERR_INTERNAL, "BLEU tokenizer: %s", (char *)msg);
        }
        out_len = cap; /* the length it needs */
    }
    return lmc_set_error(LMC_ERR_INTERNAL, "BLEU tokenizer: output buffer sizing failed");
}

/* Python's s.replace(from, to) on b (from non-empty). */
static int replace_all(lmc_txt_buf *b, const char *from, const char *to) {
    size_t fl = strlen(from), tl = strlen(to);
    if (!b->len || !memmem(b->p, b->len, from, fl)) return LMC_OK;
    lmc_txt_buf o = {0};
    size_t i = 0;
    while (i < b->len) {
        char *hit = memmem(b->p + i, b->len - i, from, fl);
        size_t end = hit ? (size_t)(hit - b->p) : b->len;
        if (lmc_txt_buf_put(&o, b->p + i, end - i) || (hit && lmc_txt_buf_put(&o, to, tl))) {
            free(o.p);
            return LMC_ERR_NOMEM;
        }
        i = hit ? end + fl : b->len;
    }
    if (!o.p && lmc_txt_buf_put(&o, "", 0)) return LMC_ERR_NOMEM;
    free(b->p);
    *b = o;
    return LMC_OK;
}

/* Tokens of b joined by single spaces (Python's ' '.join(s.split())), into *out. */
static int join_words(const char *s, size_t len, char **out) {
    lmc_txt_span *sp = NULL;
    size_t n = 0, cap = 0;
    int rc = lmc_txt_split(s, len, &sp, &n, &cap);
    if (rc) return rc;
    lmc_txt_buf o = {0};
    rc = lmc_txt_buf_put(&o, "", 0);
    for (size_t i = 0; i < n && !rc; i++) {
        if (i) rc = lmc_txt_buf_put(&o, " ", 1);
        if (!rc) rc = lmc_txt_buf_put(&o, s + sp[i].off, sp[i].len);
    }
    free(sp);
    if (rc) {
        free(o.p);
        return rc;
    }
    *out = o.p;
    return LMC_OK;
}

static int run_rules(pcre2_code **codes, const rule *rules, size_t n_rules, lmc_txt_buf *b) {
    pcre2_match_data *md = pcre2_match_data_create(8, NULL);
    if (!md) return lmc_set_error(LMC_ERR_NOMEM, "out of memory tokenizing");
    int rc = LMC_OK;
    for (size_t i = 0; i < n_rules && !rc; i++) rc = substitute(codes[i], rules[i].replacement, b, md);
    pcre2_match_data_free(md);
    return rc;
}

int lmc_bleu_tokenize(const lmc_bleu_params *p, const char *text, size_t len, char **out) {
    *out = NULL;
    if (!p || (!text && len)) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_bleu_tokenize: NULL argument");
    if (!text) text = "";
    size_t ok = lmc_txt_utf8_valid_prefix(text, len);
    if (ok != len) return lmc_set_error(LMC_ERR_FORMAT, "invalid UTF-8 at byte %zu of the segment", ok + 1);
    pthread_once(&g_once, compile_all);
    if (g_compile_status) return lmc_set_error(g_compile_status, "%s", g_compile_msg);

    char *lower = NULL;
    if (p->lowercase) {
        int rc = lmc_txt_lower(text, len, &lower, &len);
        if (rc) return rc;
        text = lower;
    }
    len = lmc_txt_rstrip(text, len);
    lmc_txt_buf b = {0};
    int rc = LMC_OK;
    switch (p->tokenize) {
    case LMC_BLEU_TOK_NONE:
        rc = join_words(text, len, out);
        break;
    case LMC_BLEU_TOK_CHAR: {
        /* " ".join(line): every code point a token; whitespace then disappears in split(). */
        rc = lmc_txt_buf_put(&b, "", 0);
        for (size_t i = 0; i < len && !rc;) {
            size_t st = i;
            lmc_txt_decode(text, &i);
            rc = lmc_txt_buf_put(&b, text + st, i - st);
            if (!rc) rc = lmc_txt_buf_put(&b, " ", 1);
        }
        if (!rc) rc = join_words(b.p, b.len, out);
        break;
    }
    case LMC_BLEU_TOK_13A:
        rc = lmc_txt_buf_put(&b, " ", 1);
        if (!rc) rc = lmc_txt_buf_put(&b, text, len);
        if (!rc) rc = lmc_txt_buf_put(&b, " ", 1);
        /* mteval-v13a's language-independent part: the line is wrapped in spaces first
         * (the replacements below do not touch them). */
        if (!rc) rc = replace_all(&b, "<skipped>", "");
        if (!rc) rc = replace_all(&b, "-\n", "");
        if (!rc) rc = replace_all(&b, "\n", " ");
        if (!rc && memchr(b.p, '&', b.len)) {
            rc = replace_all(&b, "&quot;", "\"");
            if (!rc) rc = replace_all(&b, "&amp;", "&");
            if (!rc) rc = replace_all(&b, "&lt;", "<");
            if (!rc) rc = replace_all(&b, "&gt;", ">");
        }
        if (!rc) rc = run_rules(g_13a, RULES_13A, N_13A, &b);
        if (!rc) rc = join_words(b.p, b.len, out);
        break;
    case LMC_BLEU_TOK_INTL:
        rc = lmc_txt_buf_put(&b, text, len);
        if (!rc) rc = run_rules(g_intl, RULES_INTL, N_INTL, &b);
        if (!rc) rc = join_words(b.p, b.len, out);
        break;
    default:
        rc = lmc_set_error(LMC_ERR_INVALID_ARG, "unknown BLEU tokenizer %d", (int)p->tokenize);
    }
    free(b.p);
    free(lower);
    return rc;
}
