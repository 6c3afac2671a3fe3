/* cli_gen.h — what `lmc run` and `lmc chat` share: model options, loading the model,
 * tokenizer and context, choosing tokens, printing speeds. */
#ifndef LMC_CLI_GEN_H
#define LMC_CLI_GEN_H

#include "cli.h"

typedef struct cli_gen_opts {
    const char *model;
    const char *prompt;       /* -p TEXT                                  */
    const char *prompt_file;  /* -f FILE                                  */
    long long n_predict;      /* -n, >= 0                                 */
    double temp;              /* --temp, 0 = greedy                       */
    unsigned long long seed;  /* --seed                                   */
    bool seed_set;
    long long n_threads;      /* -t, >= 1                                 */
    long long n_ctx;          /* -c, 0 = min(model's, 4096)               */
    long long n_batch;        /* -b                                       */
    lmc_type kv_type;         /* --kv-type f16 | f32                      */
} cli_gen_opts;

void cli_gen_defaults(cli_gen_opts *o, long long n_predict);
/* Consumes argv[*i] (and its value) if it is one of the shared options; returns 0 and
 * sets *matched, or a usage error code. */
int cli_gen_option(const char *cmd, int argc, char **argv, int *i, cli_gen_opts *o, bool *matched);
/* Help text of the shared options. */
extern const char *CLI_GEN_OPTIONS_HELP;

typedef struct cli_session {
    lmc_model *model;
    lmc_vocab *vocab;
    lmc_context *ctx;
    lmc_sampler *sampler;     /* NULL for greedy                          */
    lmc_detok *detok;         /* generated text, whole UTF-8 characters   */
    int32_t n_vocab;
} cli_session;

/* Loads model, tokenizer and context (messages to stderr). CLI_OK or CLI_ERR. */
int cli_session_open(const cli_gen_opts *o, cli_session *s);
void cli_session_close(cli_session *s);
/* The one place a token is chosen (lmc_pick_fn; user = cli_session). */
int32_t cli_pick(const float *logits, int32_t n_vocab, void *user);

/* Reads a whole file into a NUL-terminated malloc'ed buffer; NULL + message on error. */
char *cli_read_file(const char *path, size_t *len);
/* True if s[0..n) is valid UTF-8; else *bad = offset of the first bad byte. */
bool cli_utf8_valid(const char *s, size_t n, size_t *bad);
/* Tokenizes text (UTF-8 checked); *ids malloc'ed. CLI_OK or CLI_ERR (message printed). */
int cli_tokenize(const cli_session *s, const char *text, size_t len, bool add_special, bool parse_special,
                 int32_t **ids, int64_t *n);
/* Writes the text of one token to f (special tokens as text when special). */
/* Prints a generated token through the session's streaming detokenizer, so a character
 * split across byte tokens is never written in halves; cli_print_flush ends a stream. */
void cli_print_piece(cli_session *s, FILE *f, int32_t tok);
void cli_print_flush(cli_session *s, FILE *f);
/* "prompt: N tokens in X ms (Y tok/s), generation: ..." to stderr. */
void cli_print_speed(const lmc_gen_stats *st);

#endif /* LMC_CLI_GEN_H */
