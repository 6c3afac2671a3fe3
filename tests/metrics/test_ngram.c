/* test_ngram.c — n-gram language models:
 *   - every context's distribution sums to 1 (within 1e-6) for each smoothing method,
 *     counted by brute force over the whole vocabulary, before and after an ARPA
 *     write/read round trip;
 *   - sampling follows the probabilities written in a hand-made ARPA file;
 *   - bad input (malformed ARPA files, invalid UTF-8, empty corpora) fails with the
 *     file and line named.
 * The perplexity anchor (PTB, Mikolov et al. 2011) is test_ngram_ptb; agreement with
 * KenLM's ARPA reader is ngram_vs_kenlm.py. */
#include "lmc.h"
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_tmp[256];

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int k = 0;
    k = (k + 1) & 3;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_tmp, name);
    return buf[k];
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

typedef struct ctx_set {
    int32_t *ids; /* [n][LMC_NGRAM_MAX_ORDER] */
    int *len;
    size_t n, cap;
} ctx_set;

static void ctx_add(ctx_set *s, const int32_t *ids, int len) {
    for (size_t i = 0; i < s->n; i++) /* small sets: linear de-duplication is fine */
        if (s->len[i] == len && memcmp(s->ids + i * LMC_NGRAM_MAX_ORDER, ids, (size_t)len * sizeof *ids) == 0) return;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->ids = realloc(s->ids, s->cap * LMC_NGRAM_MAX_ORDER * sizeof *s->ids);
        s->len = realloc(s->len, s->cap * sizeof *s->len);
    }
    memcpy(s->ids + s->n * LMC_NGRAM_MAX_ORDER, ids, (size_t)len * sizeof *ids);
    s->len[s->n++] = len;
}

/* Every context of length 0..N-1 that occurs in the sentences (with <s> padding),
 * plus one that never occurs ("the </s>" is skipped: nothing follows </s>). */
static void collect_contexts(const lmc_ngram_lm *lm, char **lines, int n_lines, ctx_set *s) {
    int N = lmc_ngram_order(lm);
    int32_t buf[512];
    ctx_add(s, buf, 0);
    for (int l = 0; l < n_lines; l++) {
        int L = 0;
        buf[L++] = lmc_ngram_bos(lm);
        char *copy = strdup(lines[l]), *save = NULL;
        for (char *w = strtok_r(copy, " ", &save); w && L < 500; w = strtok_r(NULL, " ", &save))
            buf[L++] = lmc_ngram_word_id(lm, w, strlen(w));
        free(copy);
        for (int i = 0; i < L; i++)
            for (int k = 1; k <= N - 1 && i + k <= L; k++) ctx_add(s, buf + i, k);
    }
    /* contexts the model never saw: reversed pairs of words */
    for (int l = 0; l + 1 < n_lines && l < 20; l++) {
        int32_t a[2] = {lmc_ngram_word_id(lm, "the", 3), lmc_ngram_eos(lm)};
        if (a[0] >= 0 && N > 2) ctx_add(s, a, 2);
    }
}

static double check_sums(const lmc_ngram_lm *lm, const ctx_set *s) {
    int32_t V = lmc_ngram_vocab_size(lm), bos = lmc_ngram_bos(lm);
    double worst = 0;
    for (size_t c = 0; c < s->n; c++) {
        const int32_t *h = s->ids + c * LMC_NGRAM_MAX_ORDER;
        int len = s->len[c];
        bool ok = true;
        for (int i = 0; i < len; i++) ok &= h[i] >= 0;
        if (!ok) continue;
        /* the context "... </s>" is never used: nothing follows </s> */
        if (len > 0 && h[len - 1] == lmc_ngram_eos(lm)) continue;
        double sum = 0;
        for (int32_t w = 0; w < V; w++)
            if (w != bos) sum += pow(10.0, lmc_ngram_logprob(lm, h, len, w));
        if (fabs(sum - 1) > worst) worst = fabs(sum - 1);
    }
    return worst;
}

static void sums_to_one(void) {
    /* training text: the first 100 sentences of the PTB test split */
    FILE *f = fopen(t_shared("data/ptb/ptb.test.txt"), "r");
    CHECK(f != NULL);
    if (!f) return;
    char *lines[100], buf[4096];
    int n = 0;
    while (n < 100 && fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = 0;
        lines[n++] = strdup(buf);
    }
    fclose(f);
    lmc_ngram_counts *c = lmc_ngram_counts_init(4);
    CHECK(c != NULL);
    for (int i = 0; i < n; i++) CHECK_EQ_INT(lmc_ngram_counts_add(c, lines[i], strlen(lines[i])), LMC_OK);
    CHECK_EQ_INT(lmc_ngram_counts_sentences(c), 100);

    for (int sm = 0; sm <= LMC_NGRAM_WITTEN_BELL; sm++) {
        for (int order = 1; order <= (sm == LMC_NGRAM_MKN ? 4 : 3); order++) {
            for (int unk = 0; unk <= (order == 2); unk++) {
                lmc_ngram_params p = lmc_ngram_default_params();
                p.order = order;
                p.smoothing = (lmc_ngram_smoothing)sm;
                p.unk = unk;
                p.k = 0.5;
                lmc_ngram_lm *lm = lmc_ngram_estimate(c, &p);
                CHECK_MSG(lm != NULL, "%s", lmc_last_error());
                if (!lm) continue;
                if (unk) CHECK(lmc_ngram_unk(lm) >= 0); /* PTB text has <unk> anyway */
                ctx_set s = {0};
                collect_contexts(lm, lines, n, &s);
                double w = check_sums(lm, &s);
                CHECK_MSG(w <= 1e-6, "%s order %d unk %d: a context sums to 1 %+.3g", lmc_ngram_smoothing_name(p.smoothing),
                          order, unk, w);
                /* the same after writing and reading the ARPA file (highest order) */
                const char *path = tmp_path("model.arpa");
                int top = sm == LMC_NGRAM_MKN ? 4 : 3;
                CHECK_EQ_INT(lmc_ngram_write_arpa(lm, path), LMC_OK);
                lmc_ngram_lm *back = lmc_ngram_load_arpa(path);
                CHECK_MSG(back != NULL, "%s", lmc_last_error());
                double w2 = !back ? 1 : order == top ? check_sums(back, &s) : 0;
                CHECK_MSG(w2 <= 1e-6, "%s order %d after ARPA round trip: %+.3g", lmc_ngram_smoothing_name(p.smoothing),
                          order, w2);
                if (back) {
                    CHECK_EQ_INT(lmc_ngram_vocab_size(back), lmc_ngram_vocab_size(lm));
                    for (int k = 1; k <= order; k++) CHECK_EQ_INT(lmc_ngram_n_entries(back, k), lmc_ngram_n_entries(lm, k));
                }
                printf("sum to 1: %-11s order %d unk %d: %zu contexts x %d words, worst |sum-1| %.2g (ARPA %.2g)\n",
                       lmc_ngram_smoothing_name(p.smoothing), order, unk, s.n, lmc_ngram_vocab_size(lm) - 1, w, w2);
                lmc_ngram_free(back);
                lmc_ngram_free(lm);
                free(s.ids);
                free(s.len);
            }
        }
    }
    lmc_ngram_counts_free(c);
    for (int i = 0; i < n; i++) free(lines[i]);
}

/* Sampling draws words with the probabilities the ARPA file states. */
static void sampling(void) {
    const char *arpa = "\\data\\\nngram 1=5\nngram 2=3\n\n\\1-grams:\n"
                       "-99\t<s>\t0\n"
                       "-0.6989700043\t</s>\n"          /* 0.2 */
                       "-0.3979400087\ta\t-0.3010299957\n" /* 0.4, bow 0.5 */
                       "-0.5228787453\tb\n"             /* 0.3 */
                       "-1\tc\n\n"                      /* 0.1 */
                       "\\2-grams:\n"
                       "-0.096910013\t<s> a\n" /* p(a|<s>) = 0.8 */
                       "-1\t<s> b\n"           /* p(b|<s>) = 0.1 */
                       "-1\ta b\n\n"           /* p(b|a) = 0.1 */
                       "\\end\\\n";
    const char *path = tmp_path("tiny.arpa");
    write_file(path, arpa);
    lmc_ngram_lm *lm = lmc_ngram_load_arpa(path);
    CHECK_MSG(lm != NULL, "%s", lmc_last_error());
    if (!lm) return;
    int32_t a = lmc_ngram_word_id(lm, "a", 1), b = lmc_ngram_word_id(lm, "b", 1), cc = lmc_ngram_word_id(lm, "c", 1);
    int32_t eos = lmc_ngram_eos(lm), bos = lmc_ngram_bos(lm);
    /* back-off arithmetic: p(c|a) = bow(a) p(c) = 0.5 * 0.1; p(c|<s>) = 1 * 0.1 */
    CHECK_NEAR(pow(10, lmc_ngram_logprob(lm, &a, 1, cc)), 0.05, 1e-9);
    CHECK_NEAR(pow(10, lmc_ngram_logprob(lm, &bos, 1, cc)), 0.1, 1e-9);
    CHECK_NEAR(pow(10, lmc_ngram_logprob(lm, &a, 1, b)), 0.1, 1e-9);
    /* draws after a: b 0.1, </s> 0.5*0.2, a 0.5*0.4, c 0.5*0.1 (sum 0.45 — sampling renormalises) */
    const int32_t words[4] = {eos, a, b, cc};
    const double expect[4] = {0.1 / 0.45, 0.2 / 0.45, 0.1 / 0.45, 0.05 / 0.45};
    lmc_rng rng;
    lmc_rng_seed(&rng, 42);
    int counts[4] = {0};
    const int draws = 20000;
    for (int i = 0; i < draws; i++) {
        int32_t w = lmc_ngram_sample(lm, &a, 1, &rng);
        for (int k = 0; k < 4; k++) counts[k] += w == words[k];
    }
    for (int k = 0; k < 4; k++) {
        double sd = sqrt(expect[k] * (1 - expect[k]) / draws);
        CHECK_MSG(fabs((double)counts[k] / draws - expect[k]) < 5 * sd, "word %d: frequency %.4f, probability %.4f", k,
                  (double)counts[k] / draws, expect[k]);
    }
    /* the same seed gives the same words */
    lmc_rng r1, r2;
    lmc_rng_seed(&r1, 7);
    lmc_rng_seed(&r2, 7);
    bool same = true;
    for (int i = 0; i < 100; i++) same &= lmc_ngram_sample(lm, &bos, 1, &r1) == lmc_ngram_sample(lm, &bos, 1, &r2);
    CHECK(same);
    lmc_ngram_free(lm);
}

/* Open vocabulary: --unk gives <unk> probability even when the text never has it;
 * without it unknown words are OOVs, not scored. */
static void unknown_words(void) {
    const char *text[] = {"a b c", "b c a", "c a b b", "a a c"};
    lmc_ngram_counts *c = lmc_ngram_counts_init(3);
    for (int i = 0; i < 4; i++) CHECK_EQ_INT(lmc_ngram_counts_add(c, text[i], strlen(text[i])), LMC_OK);
    for (int sm = 0; sm <= LMC_NGRAM_WITTEN_BELL; sm++) {
        for (int unk = 0; unk <= 1; unk++) {
            lmc_ngram_params p = lmc_ngram_default_params();
            p.smoothing = (lmc_ngram_smoothing)sm;
            p.unk = unk;
            lmc_ngram_lm *lm = lmc_ngram_estimate(c, &p);
            CHECK_MSG(lm != NULL, "%s", lmc_last_error());
            if (!lm) continue;
            CHECK_EQ_INT(lmc_ngram_unk(lm) >= 0, unk);
            lmc_ngram_ppl pp = {0};
            CHECK_EQ_INT(lmc_ngram_score(lm, "a zzz b", 7, &pp), LMC_OK);
            CHECK_EQ_INT(pp.words, 3);
            CHECK_EQ_INT(pp.oovs, unk ? 0 : 1);
            CHECK(isfinite(pp.logprob) && pp.logprob < 0 && pp.logprob > -50);
            if (unk) {
                int32_t u = lmc_ngram_unk(lm), a = lmc_ngram_word_id(lm, "a", 1);
                double lp = lmc_ngram_logprob(lm, &a, 1, u);
                CHECK_MSG(lp > -20 && lp < 0, "%s: log10 p(<unk> | a) = %g", lmc_ngram_smoothing_name(p.smoothing), lp);
            }
            /* every context still sums to 1 with the extra word */
            int32_t V = lmc_ngram_vocab_size(lm);
            for (int32_t h0 = 0; h0 < V; h0++) {
                for (int32_t h1 = 0; h1 < V; h1++) {
                    int32_t h[2] = {h0, h1};
                    if (h1 == lmc_ngram_eos(lm) || h1 == lmc_ngram_bos(lm)) continue;
                    double sum = 0;
                    for (int32_t w = 0; w < V; w++)
                        if (w != lmc_ngram_bos(lm)) sum += pow(10.0, lmc_ngram_logprob(lm, h, 2, w));
                    CHECK_MSG(fabs(sum - 1) < 1e-6, "%s unk %d: context %d %d sums to %.9f",
                              lmc_ngram_smoothing_name(p.smoothing), unk, h0, h1, sum);
                }
            }
            lmc_ngram_free(lm);
        }
    }
    lmc_ngram_counts_free(c);
}

typedef struct bad_case {
    const char *text;
    const char *expect; /* substring of the error after "file:" */
} bad_case;

static void bad_input(void) {
    static const bad_case arpa[] = {
        {"", "no \\data\\"},
        {"\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\n-1\t</s>\n", "no \\end\\"},
        {"\\data\\\nngram 1=3\n\n\\1-grams:\n-1\t<s>\n-1\t</s>\n\n\\end\\\n", ":8: wrong number of n-grams"},
        {"\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\nxyz\t</s>\n\n\\end\\\n", ":6: the probability is not a number"},
        {"\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\n-1\t</s>\t1\t2\n\n\\end\\\n", ":6: malformed n-gram entry"},
        {"\\data\\\nngram 1=2\nngram 2=1\n\n\\1-grams:\n-1\t<s>\n-1\t</s>\n\n\\2-grams:\n-1\t<s> zz\n\\end\\\n",
         ":10: word missing from the unigrams"},
        {"\\data\\\nngram 1=2\nngram 2=0\n\n\\2-grams:\n\\end\\\n", ":5: n-gram sections out of order"},
        {"\\data\\\nngram 1=2\nngram x\n", ":3: expected 'ngram N=count'"},
        {"\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\n-1\t<s>\n\n\\end\\\n", ":6: the same n-gram appears twice"},
        {"\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\n-1\tword\n\n\\end\\\n", "the unigrams have no </s>"},
        {"\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\n-1\t</s>\n\\3-grams:\n", "out of order"},
        {"\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\n-1\t</s>\n\\end\\\nmore\n", ":8: text after \\end\\"},
        /* a header claiming ~4e9 unigrams is checked against the entries, not allocated
         * for (it was: 2 x 32 GiB, "out of memory" where the machine has less) */
        {"\\data\\\nngram 1=4294967000\n\n\\1-grams:\n-1\t<s>\n-1\t</s>\n\n\\end\\\n",
         ":8: wrong number of n-grams"},
    };
    for (size_t i = 0; i < sizeof arpa / sizeof arpa[0]; i++) {
        const char *path = tmp_path("bad.arpa");
        write_file(path, arpa[i].text);
        lmc_ngram_lm *lm = lmc_ngram_load_arpa(path);
        CHECK_MSG(lm == NULL, "case %zu loaded", i);
        lmc_ngram_free(lm);
        const char *e = lmc_last_error();
        CHECK_MSG(strstr(e, path) && strstr(e, arpa[i].expect), "case %zu: '%s' should name the file and say '%s'", i, e,
                  arpa[i].expect);
    }
    CHECK(lmc_ngram_load_arpa(tmp_path("missing.arpa")) == NULL);
    { /* a NUL byte inside a word: refused (no lookup by text could find that word) */
        static const char nul[] = "\\data\\\nngram 1=3\n\n\\1-grams:\n-1\t<s>\n-1\t</s>\n-1\ta\0b\n\n\\end\\\n";
        const char *path = tmp_path("nul.arpa");
        FILE *f = fopen(path, "wb");
        CHECK(f && fwrite(nul, 1, sizeof nul - 1, f) == sizeof nul - 1);
        if (f) fclose(f);
        lmc_ngram_lm *lm = lmc_ngram_load_arpa(path);
        CHECK(lm == NULL);
        lmc_ngram_free(lm);
        CHECK_MSG(strstr(lmc_last_error(), ":7: a NUL byte in the line"), "%s", lmc_last_error());
    }

    lmc_ngram_counts *c = lmc_ngram_counts_init(3);
    const char *corpus = tmp_path("bad.txt");
    write_file(corpus, "a fine line\n\nsecond \xc3\x28 line\n");
    CHECK_EQ_INT(lmc_ngram_counts_add_file(c, corpus), LMC_ERR_FORMAT);
    CHECK_MSG(strstr(lmc_last_error(), ":3: invalid UTF-8"), "%s", lmc_last_error());
    write_file(corpus, "ok\nthe </s> inside\n");
    CHECK_EQ_INT(lmc_ngram_counts_add_file(c, corpus), LMC_ERR_FORMAT);
    CHECK_MSG(strstr(lmc_last_error(), ":2: '</s>' inside a sentence"), "%s", lmc_last_error());
    lmc_ngram_counts_free(c);

    c = lmc_ngram_counts_init(2);
    write_file(corpus, "\n   \n\n");
    CHECK_EQ_INT(lmc_ngram_counts_add_file(c, corpus), LMC_OK);
    lmc_ngram_params p = lmc_ngram_default_params();
    p.order = 2;
    CHECK(lmc_ngram_estimate(c, &p) == NULL);
    CHECK_MSG(strstr(lmc_last_error(), "empty corpus"), "%s", lmc_last_error());
    p.order = 3; /* above the counts' order */
    CHECK(lmc_ngram_estimate(c, &p) == NULL);
    lmc_ngram_counts_free(c);
    CHECK(lmc_ngram_counts_init(0) == NULL);
    CHECK(lmc_ngram_counts_init(LMC_NGRAM_MAX_ORDER + 1) == NULL);
}

int main(void) {
    snprintf(g_tmp, sizeof g_tmp, "/tmp/lmc_test_ngram_XXXXXX");
    if (!mkdtemp(g_tmp)) return 1;
    sums_to_one();
    sampling();
    unknown_words();
    bad_input();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
    return t_done("test_ngram");
}
