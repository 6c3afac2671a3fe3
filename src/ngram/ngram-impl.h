/* ngram-impl.h — internals shared by the n-gram language model files.
 *
 * A vocabulary maps words to ids (<s> = 0, </s> = 1). Table n holds every n-gram of
 * order n as n ids in one flat array, found through an open-addressing hash (slot ->
 * entry + 1). Counts (lmc_ngram_counts) and models (lmc_ngram_lm) both use them:
 * counts add a raw count per entry, models a log10 probability and back-off weight. */
#ifndef LMC_NGRAM_IMPL_H
#define LMC_NGRAM_IMPL_H

#include "lmc-impl.h"

#include <stdint.h>

#define NG_BOS 0 /* <s>  */
#define NG_EOS 1 /* </s> */
#define NG_LOG_ZERO (-99.0) /* ARPA's stand-in for log10(0) */

typedef struct ng_vocab {
    char **words;     /* id -> word (owned)   */
    int32_t n, cap;
    uint32_t *slots;  /* hash slot -> id + 1  */
    size_t n_slots;
} ng_vocab;

int ng_vocab_init(ng_vocab *v);            /* adds <s> and </s> */
void ng_vocab_free(ng_vocab *v);
int32_t ng_vocab_find(const ng_vocab *v, const char *w, size_t len); /* -1 if absent */
int32_t ng_vocab_add(ng_vocab *v, const char *w, size_t len);        /* id, or -1 (no memory) */

typedef struct ng_table {
    int order;        /* n: ids per entry              */
    int32_t *ids;     /* [n_entries][order]            */
    size_t n_entries, cap;
    uint32_t *slots;  /* hash slot -> entry + 1        */
    size_t n_slots;
    int64_t *count;   /* raw counts (counts only)      */
    double *prob;     /* log10 p (models only)         */
    double *bow;      /* log10 back-off (models only)  */
} ng_table;

int ng_table_init(ng_table *t, int order, bool with_counts);
void ng_table_free(ng_table *t);
int64_t ng_table_find(const ng_table *t, const int32_t *ids); /* entry or -1 */
/* Entry of ids, added (count 0) if new; -1 on out of memory. */
int64_t ng_table_insert(ng_table *t, const int32_t *ids);
static inline const int32_t *ng_entry(const ng_table *t, size_t i) {
    return t->ids + i * (size_t)t->order;
}

struct lmc_ngram_counts {
    int order;
    ng_vocab vocab;
    ng_table t[LMC_NGRAM_MAX_ORDER]; /* t[n-1]: order n */
    int64_t sentences, tokens;
    int32_t *buf;                     /* ids of the sentence being added */
    size_t buf_cap;
    const lmc_vocab *tok;             /* sentences are model tokens when set */
};

struct lmc_ngram_lm {
    int order;
    ng_vocab vocab;
    ng_table t[LMC_NGRAM_MAX_ORDER]; /* prob/bow set; t[0] has every vocabulary word */
    int32_t unk;                     /* -1 if the model has no <unk> */
    const lmc_vocab *tok;            /* sentences are model tokens when set */
};

/* Reads a text file line by line (".gz" through gzip), calling fn for each line
 * (without its line end) with its 1-based number; stops at fn's first error. */
typedef int (*ng_line_fn)(void *user, const char *line, size_t len, int64_t lineno);
int ng_read_lines(const char *path, ng_line_fn fn, void *user);

/* Splits a sentence into word spans (ASCII whitespace). */
typedef struct ng_word {
    const char *p;
    size_t len;
} ng_word;
size_t ng_split(const char *s, size_t len, ng_word *out, size_t cap);

lmc_ngram_lm *ng_lm_alloc(int order);

/* The sentence as token words (see lmc_ngram_counts_set_tokenizer), malloc'ed. */
int ng_token_words(const lmc_vocab *v, const char *text, size_t len, char **out, size_t *out_len);

#endif /* LMC_NGRAM_IMPL_H */
