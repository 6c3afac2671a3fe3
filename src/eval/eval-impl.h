/* eval-impl.h — internals of the evaluation area (src/eval/).
 *
 * Every model call of the harness goes through the scorer below: score() for
 * log-likelihoods and generate() for free text, both requests to the serving engine
 * (lmc_engine_score / lmc_engine_submit), whose prefix cache computes the context an
 * item's choices (or consecutive items' shots) share only once. */
#ifndef LMC_EVAL_IMPL_H
#define LMC_EVAL_IMPL_H

#include "lmc-impl.h"

#include <cjson/cJSON.h>

/* ---- scorer.c: the one interface to the model ---------------------------- */

typedef struct eval_scorer {
    const lmc_model *model;
    const lmc_vocab *vocab;
    lmc_engine *engine; /* the serving engine, run in the caller's thread */
    int32_t n_vocab;
    int64_t n_ctx;
    float *lp;          /* [n_ctx] per-token log-probabilities of one score call */
    bool *greedy;       /* [n_ctx] */
    int64_t n_tokens;   /* tokens run through the model (for throughput) */
} eval_scorer;

int eval_scorer_init(eval_scorer *s, const lmc_model *m, const lmc_vocab *v, int64_t n_ctx, int32_t n_batch,
                     int32_t n_threads, lmc_type kv_type, bool flash_attn, bool share_prefix);
void eval_scorer_free(eval_scorer *s);
/* log p(cont | ctx) summed over cont's tokens (n_ctx >= 1, n_cont >= 1); *greedy: every
 * continuation token was the argmax. The context is cut from the left when both do
 * not fit. tok_logprobs (may be NULL) receives the n_cont per-token values. */
int eval_score(eval_scorer *s, const int32_t *ctx, int64_t n_ctx, const int32_t *cont, int64_t n_cont,
               double *logprob, bool *greedy, double *tok_logprobs);
/* Greedy continuation of prompt, stopping at an end-of-generation token, a stop
 * string (not included) or max_tokens; *text malloc'ed. */
int eval_generate(eval_scorer *s, const int32_t *prompt, int64_t n_prompt, const char *const *stop,
                  size_t n_stop, int64_t max_tokens, char **text);
/* Tokens of text (add_bos: the vocabulary's BOS if it adds one); *ids malloc'ed. */
int eval_tokenize(const eval_scorer *s, const char *text, bool add_bos, int32_t **ids, int64_t *n);

/* ---- datasets.c ------------------------------------------------------------ */

/* Records as cJSON objects, whatever the file format. */
typedef struct eval_dataset {
    cJSON **items;
    int64_t n;
} eval_dataset;

typedef struct eval_data_opts {
    const char *format;    /* jsonl | json | tsv | csv | hellaswag | lines */
    const char *columns;   /* comma-separated names for tsv/csv/lines without a header */
    const char *labels;    /* file with one value per line -> field "label"          */
    const char *parallel;  /* lines format: second file -> field "ref"                */
    const char *spec;      /* spec file and line, for messages                       */
    int spec_line;
} eval_data_opts;

/* path may contain one '*' in its file name (e.g. mmlu/test/ *_test.csv, sorted): each
 * record then gets the field "subject" = the part the '*' matched. */
int eval_dataset_load(const char *path, const eval_data_opts *o, eval_dataset *out);
void eval_dataset_free(eval_dataset *d);

/* ---- task_spec.c ------------------------------------------------------------ */

typedef enum eval_task_type {
    EVAL_PERPLEXITY = 0,
    EVAL_MULTIPLE_CHOICE = 1,
    EVAL_LOGLIKELIHOOD = 2, /* one target per item: acc (greedy) and ppl, as LAMBADA */
    EVAL_GENERATE = 3,
} eval_task_type;

struct lmc_task {
    char *path, *name, *dir, *data_dir;
    eval_task_type type;
    char *data_path, *fewshot_path;
    eval_dataset data, fewshot;
    /* templates: {{field}}, {{field[i]}}, {{field|filter}} */
    char *description;     /* before the shots, rendered with the item               */
    char *prompt;          /* the question                                           */
    char *target;          /* the answer as shown in shots / scored (loglikelihood)  */
    char *fewshot_sep;     /* between shots and the question (default "\n\n")       */
    char *choices_field;   /* array field holding the choices                        */
    char **choices_list;   /* or: fixed texts / field names                           */
    int n_choices_list;
    bool choices_are_fields;
    char *choice_template; /* applied to each choice (default " {{choice}}")        */
    char *gold_field;
    char **gold_map;       /* gold value -> index by position                         */
    int n_gold_map;
    bool split_common;     /* score each choice after the prefix all choices share   */
    bool norm_tokens;      /* acc_norm per token (llama.cpp hellaswag), else per byte */
    int32_t shots;
    bool fewshot_same_subject;
    char **stop;
    int n_stop;
    int64_t max_tokens;
    char *answer_regex;    /* PCRE2, group 1 = answer                                */
    char *answer_field_regex; /* applied to the gold field (e.g. "#### (.*)")        */
    char *metric;          /* generate: exact_match | bleu                           */
    int32_t ppl_ctx, ppl_stride;
};

/* Renders tmpl with the fields of item (choice: value of {{choice}}, may be NULL).
 * Returns malloc'ed text or NULL with the error set (naming what). */
char *eval_render(const char *tmpl, const cJSON *item, const char *choice, const char *what);

/* ---- mc.c, exact_match.c, perplexity.c ------------------------------------------------ */

int eval_run_mc(eval_scorer *s, const lmc_task *t, const lmc_eval_params *p, lmc_eval_result *r);
int eval_run_loglikelihood(eval_scorer *s, const lmc_task *t, const lmc_eval_params *p, lmc_eval_result *r);
int eval_run_generate(eval_scorer *s, const lmc_task *t, const lmc_eval_params *p, lmc_eval_result *r);
/* Builds "description + shots + prompt" for item i (shots drawn from the few-shot set,
 * first ones of the same subject when asked, never the item itself). */
char *eval_build_context(const lmc_task *t, int64_t i, int32_t shots);
/* The rendered choices of a multiple-choice item (malloc'ed array of malloc'ed
 * strings) and the gold index; errors name the data file and line. */
int eval_mc_choices(const lmc_task *t, const cJSON *item, char ***choices, int *n, int *gold);

/* Answer extraction for exact match: regex group 1, else "#### N", else the last
 * number; then normalised (commas, $ and a trailing '.' removed). malloc'ed. */
char *eval_extract_answer(const char *text, const char *regex);
char *eval_normalize_answer(const char *s);

/* Metric helpers. */
void eval_add_metric(lmc_eval_result *r, const char *name, double value, double se);
double eval_mean_stderr(const double *x, int64_t n, double *mean);

#endif /* LMC_EVAL_IMPL_H */
