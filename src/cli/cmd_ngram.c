/* cmd_ngram.c — `lmc ngram train|ppl|generate`: n-gram language models in ARPA files. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char *NGRAM_HELP =
    "usage: lmc ngram train --order N [--smoothing S] [--unk] [--tokenizer GGUF] -o MODEL.arpa CORPUS...\n"
    "       lmc ngram ppl -m MODEL.arpa -f TEXT [--per-sentence] [--json] [--tokenizer GGUF]\n"
    "       lmc ngram generate -m MODEL.arpa [-n N] [--seed S] [-p PREFIX] [--tokenizer GGUF]\n"
    "\n"
    "Word n-gram language models in the ARPA format (SRILM, KenLM). Text is one sentence\n"
    "per line, words separated by spaces; each sentence is <s> w1 ... wk </s>. The order\n"
    "counts words: a bigram model is order 2. Empty lines are skipped.\n"
    "\n"
    "train options:\n"
    "  --order N          n-gram order, 1..10 (default 3)\n"
    "  --smoothing S      mkn (interpolated modified Kneser-Ney, default), kn, add-k,\n"
    "                     katz (Good-Turing + back-off), witten-bell\n"
    "  --k K              the constant of add-k (default 1)\n"
    "  --unk              reserve probability for unknown words as <unk>\n"
    "  -o FILE            where to write the model (ARPA text)\n"
    "  --eval FILE        also print the perplexity of FILE under the new model\n"
    "  --tokenizer GGUF   n-grams of that model's tokens instead of words (give it to\n"
    "                     ppl too); the ARPA words are the token texts\n"
    "  CORPUS             text files (.gz is decompressed)\n"
    "\n"
    "ppl: scores every line of TEXT (--per-sentence: also each line's log10 probability,\n"
    "--json: the totals as JSON). Words the model does not know are scored as <unk>\n"
    "when the model has it; otherwise they are OOVs: not scored, counted apart, and the\n"
    "context starts afresh after them. As in SRILM,\n"
    "  ppl  = 10^(-logprob / (words - OOVs + sentences))   (</s> counted)\n"
    "  ppl1 = 10^(-logprob / (words - OOVs))\n"
    "\n"
    "generate: samples N words (default 50) from the model, a sentence per line.\n"
    "\n"
    "example:\n"
    "  lmc ngram train --order 5 -o ptb5.arpa ptb.train.txt.gz\n"
    "  lmc ngram ppl -m ptb5.arpa -f ptb.test.txt\n"
    "  lmc ngram generate -m ptb5.arpa -n 30 --seed 1\n";

/* --tokenizer MODEL.gguf: the model's vocabulary (the file stays open with it). */
typedef struct tok_src {
    lmc_gguf *g;
    lmc_vocab *v;
} tok_src;

static int tok_open(const char *path, tok_src *t) {
    t->g = NULL;
    t->v = NULL;
    if (!path) return CLI_OK;
    t->g = lmc_gguf_open(path);
    if (!t->g) return cli_lib_error();
    t->v = lmc_vocab_load(t->g);
    if (!t->v) {
        lmc_gguf_close(t->g);
        t->g = NULL;
        return cli_lib_error();
    }
    return CLI_OK;
}

static void tok_close(tok_src *t) {
    lmc_vocab_free(t->v);
    lmc_gguf_close(t->g);
}

static void print_ppl(const char *file, const lmc_ngram_ppl *p, bool json) {
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", file);
        cJSON_AddNumberToObject(o, "sentences", (double)p->sentences);
        cJSON_AddNumberToObject(o, "words", (double)p->words);
        cJSON_AddNumberToObject(o, "oovs", (double)p->oovs);
        cJSON_AddNumberToObject(o, "logprob", p->logprob);
        cJSON_AddNumberToObject(o, "ppl", p->ppl);
        cJSON_AddNumberToObject(o, "ppl1", p->ppl1);
        char *t = cJSON_Print(o);
        if (t) puts(t);
        free(t);
        cJSON_Delete(o);
        return;
    }
    printf("file %s: %lld sentences, %lld words, %lld OOVs\n", file, (long long)p->sentences, (long long)p->words,
           (long long)p->oovs);
    printf("logprob= %.6f ppl= %.6f ppl1= %.6f\n", p->logprob, p->ppl, p->ppl1);
}

static int train(int argc, char **argv) {
    lmc_ngram_params p = lmc_ngram_default_params();
    const char *out = NULL, *eval = NULL, *files[256], *tokenizer = NULL;
    int n_files = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long long n;
        double d;
        int rc = 0;
        if (cli_is_help(a)) {
            fputs(NGRAM_HELP, stdout);
            return CLI_OK;
        } else if (strcmp(a, "--order") == 0) {
            rc = cli_int("ngram train", argc, argv, &i, 1, LMC_NGRAM_MAX_ORDER, &n);
            p.order = (int)n;
        } else if (strcmp(a, "--smoothing") == 0) {
            rc = cli_value("ngram train", argc, argv, &i, &v);
            if (!rc && lmc_ngram_smoothing_from_name(v) < 0)
                rc = cli_usage_error("ngram train", "--smoothing must be mkn, kn, add-k, katz or witten-bell, got '%s'", v);
            if (!rc) p.smoothing = (lmc_ngram_smoothing)lmc_ngram_smoothing_from_name(v);
        } else if (strcmp(a, "--k") == 0) {
            rc = cli_float("ngram train", argc, argv, &i, 1e-9, 1e9, &d);
            p.k = d;
        } else if (strcmp(a, "--unk") == 0) {
            p.unk = true;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            rc = cli_value("ngram train", argc, argv, &i, &out);
        } else if (strcmp(a, "--eval") == 0) {
            rc = cli_value("ngram train", argc, argv, &i, &eval);
        } else if (strcmp(a, "--tokenizer") == 0) {
            rc = cli_value("ngram train", argc, argv, &i, &tokenizer);
        } else if (a[0] == '-' && a[1]) {
            rc = cli_usage_error("ngram train", "unknown option '%s'", a);
        } else if (n_files < 256) {
            files[n_files++] = a;
        } else {
            rc = cli_usage_error("ngram train", "too many corpus files");
        }
        if (rc) return rc;
    }
    if (!n_files) return cli_usage_error("ngram train", "no corpus given");
    if (!out && !eval) return cli_usage_error("ngram train", "no output: give -o MODEL.arpa (or --eval TEXT)");

    double t0 = cli_now();
    tok_src ts;
    if (tok_open(tokenizer, &ts) != CLI_OK) return CLI_ERR;
    lmc_ngram_counts *c = lmc_ngram_counts_init(p.order);
    if (!c) {
        tok_close(&ts);
        return cli_lib_error();
    }
    if (ts.v) lmc_ngram_counts_set_tokenizer(c, ts.v);
    for (int f = 0; f < n_files; f++) {
        if (lmc_ngram_counts_add_file(c, files[f]) != LMC_OK) {
            lmc_ngram_counts_free(c);
            tok_close(&ts);
            return cli_lib_error();
        }
    }
    double t1 = cli_now();
    lmc_ngram_lm *lm = lmc_ngram_estimate(c, &p);
    int64_t sents = lmc_ngram_counts_sentences(c), toks = lmc_ngram_counts_tokens(c);
    lmc_ngram_counts_free(c);
    if (!lm) {
        tok_close(&ts);
        return cli_lib_error();
    }
    if (ts.v) lmc_ngram_set_tokenizer(lm, ts.v);
    double t2 = cli_now();
    fprintf(stderr, "lmc ngram: %lld sentences, %lld tokens (with </s>), vocabulary %d; %s order %d:", (long long)sents,
            (long long)toks, lmc_ngram_vocab_size(lm), lmc_ngram_smoothing_name(p.smoothing), p.order);
    for (int n = 1; n <= p.order; n++) fprintf(stderr, " %lld", (long long)lmc_ngram_n_entries(lm, n));
    fprintf(stderr, " n-grams; counted in %.2f s, estimated in %.2f s\n", t1 - t0, t2 - t1);
    int ret = CLI_OK;
    if (out) {
        if (lmc_ngram_write_arpa(lm, out) != LMC_OK) ret = cli_lib_error();
        else fprintf(stderr, "lmc ngram: wrote %s in %.2f s\n", out, cli_now() - t2);
    }
    if (ret == CLI_OK && eval) {
        lmc_ngram_ppl pp;
        if (lmc_ngram_perplexity_file(lm, eval, &pp) != LMC_OK) ret = cli_lib_error();
        else print_ppl(eval, &pp, false);
    }
    lmc_ngram_free(lm);
    tok_close(&ts);
    return ret;
}

static int ppl(int argc, char **argv) {
    const char *model = NULL, *text = NULL, *tokenizer = NULL;
    bool json = false, per_sentence = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc = 0;
        if (cli_is_help(a)) {
            fputs(NGRAM_HELP, stdout);
            return CLI_OK;
        } else if (strcmp(a, "-m") == 0 || strcmp(a, "--model") == 0) {
            rc = cli_value("ngram ppl", argc, argv, &i, &model);
        } else if (strcmp(a, "-f") == 0 || strcmp(a, "--file") == 0) {
            rc = cli_value("ngram ppl", argc, argv, &i, &text);
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--per-sentence") == 0) {
            per_sentence = true;
        } else if (strcmp(a, "--tokenizer") == 0) {
            rc = cli_value("ngram ppl", argc, argv, &i, &tokenizer);
        } else {
            rc = cli_usage_error("ngram ppl", "unexpected argument '%s'", a);
        }
        if (rc) return rc;
    }
    if (!model || !text) return cli_usage_error("ngram ppl", "give the model (-m) and the text (-f)");
    lmc_ngram_lm *lm = lmc_ngram_load_arpa(model);
    if (!lm) return cli_lib_error();
    tok_src ts;
    if (tok_open(tokenizer, &ts) != CLI_OK) {
        lmc_ngram_free(lm);
        return CLI_ERR;
    }
    if (ts.v) lmc_ngram_set_tokenizer(lm, ts.v);
    lmc_ngram_ppl pp;
    int ret = CLI_OK;
    if (!per_sentence) {
        if (lmc_ngram_perplexity_file(lm, text, &pp) != LMC_OK) ret = cli_lib_error();
        else print_ppl(text, &pp, json);
        lmc_ngram_free(lm);
        tok_close(&ts);
        return ret;
    }
    /* one line per sentence: line number, log10 probability (</s> included), OOVs */
    lmc_text_lines t;
    if (lmc_text_lines_read(text, &t) != LMC_OK) {
        lmc_ngram_free(lm);
        tok_close(&ts);
        return cli_lib_error();
    }
    memset(&pp, 0, sizeof pp);
    for (size_t i = 0; i < t.n && ret == CLI_OK; i++) {
        double before = pp.logprob;
        int64_t oov = pp.oovs;
        if (lmc_ngram_score(lm, t.lines[i], t.lens[i], &pp) != LMC_OK) ret = cli_lib_error();
        else if (!json) printf("%zu\t%.9g\t%lld\n", i + 1, pp.logprob - before, (long long)(pp.oovs - oov));
    }
    if (ret == CLI_OK && pp.sentences == 0) ret = cli_error("%s: no sentences to score (empty file)", text);
    if (ret == CLI_OK) print_ppl(text, &pp, json);
    lmc_text_lines_free(&t);
    lmc_ngram_free(lm);
    tok_close(&ts);
    return ret;
}

static int generate(int argc, char **argv) {
    const char *model = NULL, *prefix = NULL, *tokenizer = NULL;
    long long n_words = 50, seed = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc = 0;
        if (cli_is_help(a)) {
            fputs(NGRAM_HELP, stdout);
            return CLI_OK;
        } else if (strcmp(a, "-m") == 0 || strcmp(a, "--model") == 0) {
            rc = cli_value("ngram generate", argc, argv, &i, &model);
        } else if (strcmp(a, "-n") == 0) {
            rc = cli_int("ngram generate", argc, argv, &i, 1, 100000000, &n_words);
        } else if (strcmp(a, "--seed") == 0 || strcmp(a, "-s") == 0) {
            rc = cli_int("ngram generate", argc, argv, &i, 0, (long long)1 << 62, &seed);
        } else if (strcmp(a, "-p") == 0 || strcmp(a, "--prompt") == 0) {
            rc = cli_value("ngram generate", argc, argv, &i, &prefix);
        } else if (strcmp(a, "--tokenizer") == 0) {
            rc = cli_value("ngram generate", argc, argv, &i, &tokenizer);
        } else {
            rc = cli_usage_error("ngram generate", "unexpected argument '%s'", a);
        }
        if (rc) return rc;
    }
    if (!model) return cli_usage_error("ngram generate", "give the model (-m)");
    lmc_ngram_lm *lm = lmc_ngram_load_arpa(model);
    if (!lm) return cli_lib_error();
    tok_src ts;
    if (tok_open(tokenizer, &ts) != CLI_OK) {
        lmc_ngram_free(lm);
        return CLI_ERR;
    }
    if (ts.v && prefix) {
        tok_close(&ts);
        lmc_ngram_free(lm);
        return cli_usage_error("ngram generate", "-p cannot be combined with --tokenizer yet");
    }
    lmc_rng rng;
    uint64_t s = seed < 0 ? lmc_rng_random_seed() : (uint64_t)seed;
    lmc_rng_seed(&rng, s);
    int32_t ctx[LMC_NGRAM_MAX_ORDER];
    int n_ctx = 1, keep = lmc_ngram_order(lm) - 1;
    ctx[0] = lmc_ngram_bos(lm);
    bool line_open = false;
    if (prefix) { /* the prefix words become the context (unknown ones as <unk>, or cut) */
        const char *p = prefix;
        while (*p) {
            while (*p == ' ' || *p == '\t') p++;
            const char *st = p;
            while (*p && *p != ' ' && *p != '\t') p++;
            if (p == st) break;
            int32_t id = lmc_ngram_word_id(lm, st, (size_t)(p - st));
            if (id < 0) id = lmc_ngram_unk(lm);
            printf("%s%.*s", line_open ? " " : "", (int)(p - st), st);
            line_open = true;
            if (id < 0) {
                n_ctx = 0;
                continue;
            }
            if (keep > 0) {
                if (n_ctx == keep) memmove(ctx, ctx + 1, (size_t)(keep - 1) * sizeof *ctx), n_ctx--;
                ctx[n_ctx++] = id;
            }
        }
    }
    int ret = CLI_OK;
    for (long long i = 0; i < n_words; i++) {
        int32_t w = lmc_ngram_sample(lm, ctx, n_ctx < keep ? n_ctx : keep, &rng);
        if (w < 0) {
            ret = cli_lib_error();
            break;
        }
        if (w == lmc_ngram_eos(lm)) {
            putchar('\n');
            line_open = false;
            n_ctx = 1;
            ctx[0] = lmc_ngram_bos(lm);
            continue;
        }
        const char *word = lmc_ngram_word(lm, w);
        if (ts.v) { /* token words back to text */
            int id = -1;
            if (sscanf(word, "<id:%d>", &id) != 1) id = lmc_vocab_find_token(ts.v, word, strlen(word));
            char piece[256];
            int n = id >= 0 ? lmc_token_to_piece(ts.v, id, false, piece, sizeof piece) : -1;
            if (n > 0) fwrite(piece, 1, (size_t)n, stdout);
        } else {
            printf("%s%s", line_open ? " " : "", word);
        }
        line_open = true;
        if (keep > 0) {
            if (n_ctx == keep) memmove(ctx, ctx + 1, (size_t)(keep - 1) * sizeof *ctx), n_ctx--;
            ctx[n_ctx++] = w;
        }
    }
    if (line_open) putchar('\n');
    fprintf(stderr, "lmc ngram: seed %llu\n", (unsigned long long)s);
    tok_close(&ts);
    lmc_ngram_free(lm);
    return ret;
}

int cmd_ngram(int argc, char **argv) {
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(NGRAM_HELP, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[1], "train") == 0) return train(argc - 1, argv + 1);
    if (strcmp(argv[1], "ppl") == 0 || strcmp(argv[1], "perplexity") == 0) return ppl(argc - 1, argv + 1);
    if (strcmp(argv[1], "generate") == 0) return generate(argc - 1, argv + 1);
    return cli_usage_error("ngram", "unknown subcommand '%s' (train, ppl or generate)", argv[1]);
}
