/* tokenizer_pretok_dump.c — prints how lmc's pre-tokenizer PRE splits each string of
 * FILE (strings each followed by "\n__ggml_vocab_test__\n"): one line per string,
 * the pieces as hex bytes separated by spaces. tests/tokenizer/tokenizer_pretok_ref.py compares
 * this with Hugging Face tokenizers running the published regular expressions. */
#include "vocab-impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int piece(const char *w, size_t n, void *ud) {
    int *first = ud;
    if (!*first) putchar(' ');
    *first = 0;
    for (size_t i = 0; i < n; i++) printf("%02x", (unsigned char)w[i]);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s PRE FILE\n", argv[0]);
        return 2;
    }
    int clean, ignore;
    pretok *p = pretok_create(argv[1], &clean, &ignore);
    if (!p) {
        fprintf(stderr, "%s\n", lmc_last_error());
        return 1;
    }
    FILE *f = fopen(argv[2], "rb");
    if (!f) return 1;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)sz + 1);
    if (!b || fread(b, 1, (size_t)sz, f) != (size_t)sz) return 1;
    fclose(f);
    static const char SEP[] = "\n__ggml_vocab_test__\n";
    for (char *s = b, *e = b + sz; s < e;) {
        char *q = memmem(s, (size_t)(e - s), SEP, sizeof SEP - 1);
        if (!q) break;
        int first = 1;
        int rc = pretok_split(p, s, (size_t)(q - s), piece, &first);
        if (rc) {
            fprintf(stderr, "%s\n", lmc_last_error());
            return 1;
        }
        putchar('\n');
        s = q + sizeof SEP - 1;
    }
    free(b);
    pretok_free(p);
    return 0;
}
