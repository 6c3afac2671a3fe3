/* test_tokenizer_ref.c — lmc's tokenizer against llama.cpp's test vectors (ids from
 * Hugging Face tokenizers / llama.cpp b10573), every case must match exactly.
 *
 * usage: test_tokenizer_ref VOCAB.gguf CASES.inp CASES.out   (paths relative to
 * LMC_SHARED_DIR unless absolute). .inp holds strings each followed by
 * "\n__ggml_vocab_test__\n"; .out one line per string: " id id id" (empty line for
 * no tokens). Tokenized with add_special = false, parse_special = false. Each
 * case is also decoded again and must give back its text.
 */
#include "lmc.h"
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

static const char *path_of(const char *p) { return p[0] == '/' ? p : t_shared(p); }

static void print_ids(const char *label, const int32_t *ids, int64_t n) {
    fprintf(stderr, "  %s:", label);
    for (int64_t i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s VOCAB.gguf CASES.inp CASES.out\n", argv[0]);
        return 2;
    }
    char vocab_path[4096], inp_path[4096], out_path[4096];
    snprintf(vocab_path, sizeof vocab_path, "%s", path_of(argv[1]));
    snprintf(inp_path, sizeof inp_path, "%s", path_of(argv[2]));
    snprintf(out_path, sizeof out_path, "%s", path_of(argv[3]));

    lmc_gguf *g = lmc_gguf_open(vocab_path);
    if (!g) {
        fprintf(stderr, "cannot open %s: %s\n", vocab_path, lmc_last_error());
        return 1;
    }
    lmc_vocab *v = lmc_vocab_load(g);
    lmc_gguf_close(g); /* the vocab must not depend on the file staying open */
    if (!v) {
        fprintf(stderr, "cannot load vocab %s: %s\n", vocab_path, lmc_last_error());
        return 1;
    }
    size_t ni, no;
    char *inp = t_read_file(inp_path, &ni), *out = t_read_file(out_path, &no);
    if (!inp || !out) {
        fprintf(stderr, "cannot read %s or %s\n", inp_path, out_path);
        return 1;
    }
    static const char SEP[] = "\n__ggml_vocab_test__\n";
    const size_t seplen = sizeof SEP - 1;
    char *p = inp, *end = inp + ni, *q = out;
    int cases = 0, failed = 0;
    while (p < end) {
        char *s = memmem(p, (size_t)(end - p), SEP, seplen);
        if (!s) {
            fprintf(stderr, "%s: text after the last separator\n", inp_path);
            t_failures++;
            break;
        }
        size_t len = (size_t)(s - p);
        char *nl = strchr(q, '\n');
        if (!nl) {
            fprintf(stderr, "%s: fewer lines than cases in %s\n", out_path, inp_path);
            t_failures++;
            break;
        }
        *nl = 0;
        int32_t want[4096];
        int64_t nw = 0;
        for (char *r = q; *r;) {
            char *e;
            long x = strtol(r, &e, 10);
            if (e == r) break;
            if (nw < 4096) want[nw++] = (int32_t)x;
            r = e;
        }
        q = nl + 1;

        int32_t *ids = NULL;
        int64_t n = 0;
        int rc = lmc_tokenize(v, p, len, false, false, &ids, &n);
        bool ok = rc == LMC_OK && n == nw && (n == 0 || memcmp(ids, want, (size_t)n * sizeof *ids) == 0);
        cases++;
        t_checks++;
        if (!ok) {
            failed++;
            t_failures++;
            fprintf(stderr, "case %d mismatch (rc %d %s), text (%zu bytes): \"%.*s\"\n", cases, rc,
                    rc ? lmc_last_error() : "", len, (int)len, p);
            print_ids("want", want, nw);
            print_ids("got ", ids, n);
        }
        char *back = NULL;
        size_t blen = 0;
        if (rc == LMC_OK) {
            rc = lmc_detokenize(v, ids, n, false, &back, &blen);
            CHECK_MSG(rc == LMC_OK && blen == len && memcmp(back, p, len) == 0,
                      "case %d: decode(encode(x)) != x: \"%.*s\" -> \"%s\"", cases, (int)len, p, back ? back : "(null)");
        }
        free(back);
        free(ids);
        p = s + seplen;
    }
    CHECK_MSG(*q == 0, "%s has more lines than %s has cases", out_path, inp_path);
    printf("%s: %d cases, %d mismatches\n", argv[2], cases, failed);
    free(inp);
    free(out);
    lmc_vocab_free(v);
    return t_done("test_tokenizer_ref");
}
