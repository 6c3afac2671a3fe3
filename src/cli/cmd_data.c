/* cmd_data.c — `lmc data prepare`: corpus files -> token shards for `lmc train`. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char *HELP =
    "usage: lmc data prepare --tokenizer char|byte|TOK.gguf|MODEL.gguf --out DIR [--val-fraction F] CORPUS...\n"
    "\n"
    "Tokenizes the corpus files (joined in order) and writes DIR/train.bin, DIR/val.bin\n"
    "(the last F of the tokens, default 0.1, as nanoGPT splits) and DIR/tokenizer.gguf,\n"
    "the vocabulary the trained model will carry. Tokenizers: char = the bytes that occur\n"
    "in the corpus (one token per character for ASCII text), byte = all 256 bytes, or the\n"
    "vocabulary of a GGUF file (e.g. from `lmc tokenizer train`).\n"
    "\n"
    "example:\n"
    "  lmc data prepare --tokenizer char --out data/shakespeare ../shared/data/tinyshakespeare/input.txt\n";

int cmd_data(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(HELP, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[1], "prepare")) return cli_usage_error("data", "unknown subcommand '%s' (lmc data prepare ...)", argv[1]);
    argc--, argv++;
    const char *tok = NULL, *out = NULL, *s;
    double vf = 0.1;
    const char **files = calloc((size_t)argc, sizeof *files);
    int nf = 0, rc = CLI_OK;
    if (!files) return cli_error("out of memory");
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(HELP, stdout);
            free(files);
            return CLI_OK;
        } else if (!strcmp(a, "--tokenizer")) rc = cli_value("data", argc, argv, &i, &tok);
        else if (!strcmp(a, "--out")) rc = cli_value("data", argc, argv, &i, &out);
        else if (!strcmp(a, "--val-fraction")) {
            if (!(rc = cli_value("data", argc, argv, &i, &s))) {
                char *e;
                vf = strtod(s, &e);
                if (*e || !(vf >= 0 && vf < 1)) rc = cli_usage_error("data", "--val-fraction must be in [0, 1), got '%s'", s);
            }
        } else if (a[0] == '-' && a[1]) rc = cli_usage_error("data", "unknown option '%s'", a);
        else files[nf++] = a;
    }
    if (!rc && !tok) rc = cli_usage_error("data", "--tokenizer is required (char, byte or a GGUF file)");
    if (!rc && !out) rc = cli_usage_error("data", "--out DIR is required");
    if (!rc && !nf) rc = cli_usage_error("data", "give at least one corpus file");
    if (!rc) {
        int64_t nt, nv;
        int32_t V;
        if (lmc_data_prepare(tok, files, nf, out, vf, &nt, &nv, &V)) rc = cli_lib_error();
        else fprintf(stderr, "lmc: %s: %lld training and %lld validation tokens, vocabulary of %d\n", out, (long long)nt,
                     (long long)nv, V);
    }
    free(files);
    return rc;
}
