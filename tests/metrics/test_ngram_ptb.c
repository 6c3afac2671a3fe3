/* test_ngram_ptb.c — the published anchor: an interpolated modified Kneser-Ney 5-gram
 * trained on Penn Treebank (Mikolov's split) has test perplexity 141.2 (Mikolov et al.,
 * "Empirical evaluation and combination of advanced language modeling techniques",
 * Interspeech 2011, KN5 without count cutoffs). lmc must land within 2% of 141. */
#include "lmc.h"
#include "test_util.h"

#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(void) {
    double t0 = now();
    lmc_ngram_counts *c = lmc_ngram_counts_init(5);
    CHECK(c != NULL);
    /* the library reads the gzipped training text directly */
    CHECK_MSG(lmc_ngram_counts_add_file(c, t_shared("data/ptb/ptb.train.txt.gz")) == LMC_OK, "%s", lmc_last_error());
    CHECK_EQ_INT(lmc_ngram_counts_sentences(c), 42068);
    CHECK_EQ_INT(lmc_ngram_counts_tokens(c), 929589); /* 887521 words + one </s> per line */
    double t1 = now();
    lmc_ngram_params p = lmc_ngram_default_params();
    p.order = 5;
    p.smoothing = LMC_NGRAM_MKN;
    lmc_ngram_lm *lm = lmc_ngram_estimate(c, &p);
    CHECK_MSG(lm != NULL, "%s", lmc_last_error());
    double t2 = now();
    if (lm) {
        CHECK_EQ_INT(lmc_ngram_vocab_size(lm), 10001); /* 10k words incl. <unk>, plus <s> */
        lmc_ngram_ppl pp;
        CHECK_EQ_INT(lmc_ngram_perplexity_file(lm, t_shared("data/ptb/ptb.test.txt"), &pp), LMC_OK);
        CHECK_EQ_INT(pp.sentences, 3761);
        CHECK_EQ_INT(pp.words, 78669);
        CHECK_EQ_INT(pp.oovs, 0);
        CHECK_MSG(fabs(pp.ppl / 141.0 - 1) < 0.02, "perplexity %.3f is not within 2%% of 141", pp.ppl);
        printf("PTB test perplexity, MKN 5-gram: %.3f (Mikolov et al. 2011: 141.2); count %.1f s, estimate %.1f s\n",
               pp.ppl, t1 - t0, t2 - t1);
    }
    lmc_ngram_free(lm);
    lmc_ngram_counts_free(c);
    return t_done("test_ngram_ptb");
}
