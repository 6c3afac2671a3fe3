/* cmd_perplexity.c — `lmc perplexity`: perplexity of a text file (llama-perplexity's
 * method by default, or a sliding window). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char *PPL_HELP =
    "usage: lmc perplexity -m MODEL -f FILE [options]\n"
    "\n"
    "Perplexity of a text file. By default exactly llama.cpp's llama-perplexity: the text\n"
    "is tokenized once (with BOS), cut into chunks of -c tokens, each starting with BOS\n"
    "and run from an empty cache; only the second half of each chunk is scored. Prints the\n"
    "running estimate per chunk and a last line 'PPL = <value> +/- <err>'.\n"
    "\n"
    "options:\n"
    "  -m FILE        the model (default: the default model in the cache)\n"
    "  -f FILE        the text (UTF-8)\n"
    "  -c N           tokens per chunk / window (default 512)\n"
    "  -b N           tokens per forward step (default 512)\n"
    "  --stride S     sliding window instead: windows of -c tokens advance by S and every\n"
    "                 token is scored once; also prints word and byte perplexity and bits\n"
    "                 per byte (lm-evaluation-harness's definitions)\n"
    "  --chunks N     evaluate at most N chunks / windows\n"
    "  -t N           threads (default: " CLI_THREADS_HELP ")\n"
    "  --kv-type T    KV cache f16 (default) or f32 (llama.cpp's -fa off -ctk f32 -ctv f32)\n"
    "  -fa on|off     with the f16 cache, reproduce llama.cpp's flash-attention numerics\n"
    "                 (its default on CPU) instead of its -fa off numerics (default off)\n"
    "\n"
    "example:\n"
    "  lmc perplexity -m stories260K.gguf -f ../shared/ref/ppl/wiki16k.txt -c 128 --kv-type f32\n";

static void on_chunk(void *user, int64_t i, int64_t n, double ppl) {
    (void)user;
    printf("[%lld]%.4f%s", (long long)(i + 1), ppl, i + 1 == n ? "\n" : ",");
    fflush(stdout);
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    while (b) {
        size_t r = fread(b + n, 1, cap - n - 1, f);
        n += r;
        if (n + 1 < cap) break;
        char *nb = realloc(b, cap * 2);
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    fclose(f);
    if (b) b[n] = 0;
    *len = n;
    return b;
}

int cmd_perplexity(int argc, char **argv) {
    const char *model = NULL, *file = NULL, *s;
    lmc_ppl_params p = lmc_ppl_default_params();
    p.n_threads = cli_default_threads();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long long n;
        int rc = 0;
        if (cli_is_help(a)) {
            fputs(PPL_HELP, stdout);
            return CLI_OK;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model"))
            rc = cli_value("perplexity", argc, argv, &i, &model);
        else if (!strcmp(a, "-f") || !strcmp(a, "--file"))
            rc = cli_value("perplexity", argc, argv, &i, &file);
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) {
            if (!(rc = cli_int("perplexity", argc, argv, &i, 4, 1 << 20, &n))) p.n_ctx = (int32_t)n;
        } else if (!strcmp(a, "-b") || !strcmp(a, "--batch-size")) {
            if (!(rc = cli_int("perplexity", argc, argv, &i, 1, 1 << 20, &n))) p.n_batch = (int32_t)n;
        } else if (!strcmp(a, "--stride")) {
            if (!(rc = cli_int("perplexity", argc, argv, &i, 1, 1 << 20, &n))) p.stride = (int32_t)n;
        } else if (!strcmp(a, "--chunks")) {
            if (!(rc = cli_int("perplexity", argc, argv, &i, 1, 1LL << 40, &n))) p.max_chunks = n;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (!(rc = cli_int("perplexity", argc, argv, &i, 1, 1024, &n))) p.n_threads = (int32_t)n;
        } else if (!strcmp(a, "-fa") || !strcmp(a, "--flash-attn")) {
            if (!(rc = cli_value("perplexity", argc, argv, &i, &s))) {
                if (!strcmp(s, "on") || !strcmp(s, "1")) p.flash_attn = true;
                else if (!strcmp(s, "off") || !strcmp(s, "0")) p.flash_attn = false;
                else rc = cli_usage_error("perplexity", "-fa must be on or off, got '%s'", s);
            }
        } else if (!strcmp(a, "--kv-type")) {
            if (!(rc = cli_value("perplexity", argc, argv, &i, &s))) {
                if (!strcmp(s, "f16") || !strcmp(s, "F16")) p.kv_type = LMC_TYPE_F16;
                else if (!strcmp(s, "f32") || !strcmp(s, "F32")) p.kv_type = LMC_TYPE_F32;
                else rc = cli_usage_error("perplexity", "--kv-type must be f16 or f32, got '%s'", s);
            }
        } else
            rc = cli_usage_error("perplexity", "unknown option '%s'", a);
        if (rc) return rc;
    }
    if (!file) return cli_usage_error("perplexity", "-f FILE is required");
    if (p.stride > p.n_ctx) return cli_usage_error("perplexity", "--stride must be at most -c (%d)", p.n_ctx);
    char mpath[4096];
    if (!model) {
        if (lmc_default_model_path(mpath, sizeof mpath)) return cli_lib_error();
        model = mpath;
    }
    size_t len = 0;
    char *text = read_file(file, &len);
    if (!text) return cli_error("cannot read '%s'", file);
    lmc_model *m = lmc_model_load(model);
    lmc_vocab *v = m ? lmc_vocab_load(lmc_model_gguf(m)) : NULL;
    if (!v) {
        free(text);
        lmc_model_free(m);
        return cli_lib_error();
    }
    p.on_chunk = on_chunk;
    lmc_ppl_result r;
    int rc = lmc_perplexity(m, v, text, len, &p, &r);
    free(text);
    if (rc) {
        lmc_vocab_free(v);
        lmc_model_free(m);
        return cli_lib_error();
    }
    fprintf(stderr, "%lld tokens, %lld %s of %d, %lld scored, %.2f s (%.1f tokens/s)\n", (long long)r.n_tokens,
            (long long)r.n_chunks, p.stride ? "windows" : "chunks", p.n_ctx, (long long)r.n_scored, r.seconds,
            r.seconds > 0 ? (double)r.n_chunks * p.n_ctx / r.seconds : 0.0);
    if (r.covers_text)
        printf("word_perplexity = %.4f  byte_perplexity = %.6f  bits_per_byte = %.6f  (%lld words, %lld bytes)\n",
               r.word_ppl, r.byte_ppl, r.bits_per_byte, (long long)r.n_words, (long long)r.n_bytes);
    printf("PPL = %.4f +/- %.5f\n", r.ppl, r.ppl_err);
    lmc_vocab_free(v);
    lmc_model_free(m);
    return CLI_OK;
}
