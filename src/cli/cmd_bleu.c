/* cmd_bleu.c — `lmc bleu HYP REF...`: corpus BLEU (and chrF) as sacreBLEU reports it. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char *BLEU_HELP =
    "usage: lmc bleu [options] HYP REF [REF...]\n"
    "\n"
    "Scores a system output against one or more references, one segment per line, the\n"
    "way sacreBLEU " LMC_SACREBLEU_VERSION " does (same numbers, same signature).\n"
    "\n"
    "options:\n"
    "  --tokenize T       13a (default), intl, none or char\n"
    "  -lc, --lowercase   case-insensitive BLEU (and chrF)\n"
    "  --smooth M         exp (default), floor, add-k or none\n"
    "  --smooth-value V   value for floor (default 0.1) or add-k (default 1)\n"
    "  --max-order N      largest n-gram (default 4)\n"
    "  --effective-order  leave out orders with no n-grams (sentence BLEU does)\n"
    "  --sentence         also print one sentence BLEU per segment (effective order)\n"
    "  --chrf             also compute chrF (--chrf-word-order 2 gives chrF++)\n"
    "  --chrf-word-order N, --chrf-char-order N, --chrf-beta N\n"
    "  --json             one JSON object: score (full precision), signature,\n"
    "                     precisions, bp, ratio, sys_len, ref_len, counts, totals\n"
    "\n"
    "Lines are compared without trailing whitespace; empty lines are scored (as sacreBLEU\n"
    "does) with a warning. Files must be UTF-8 and have the same number of lines.\n"
    "\n"
    "example:\n"
    "  lmc bleu hyp.ONLINE-B.ru ref.ru          (WMT23 en-ru, in the shared test data)\n"
    "  BLEU = 40.36 66.0/45.4/33.9/26.1 (BP = 1.000 ratio = 1.008 hyp_len = 38076 ref_len = 37775)\n"
    "  signature: nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:" LMC_SACREBLEU_VERSION "\n";

int cmd_bleu(int argc, char **argv) {
    lmc_bleu_params bp = lmc_bleu_default_params();
    lmc_chrf_params cp = lmc_chrf_default_params();
    bool json = false, chrf = false, sentence = false;
    const char *files[64];
    int n_files = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long long n;
        double d;
        int rc = 0;
        if (cli_is_help(a)) {
            fputs(BLEU_HELP, stdout);
            return CLI_OK;
        } else if (strcmp(a, "--tokenize") == 0 || strcmp(a, "-tok") == 0) {
            rc = cli_value("bleu", argc, argv, &i, &v);
            if (!rc && lmc_bleu_tokenizer_from_name(v) < 0)
                rc = cli_usage_error("bleu", "--tokenize must be 13a, intl, none or char, got '%s'", v);
            if (!rc) bp.tokenize = (lmc_bleu_tokenizer)lmc_bleu_tokenizer_from_name(v);
        } else if (strcmp(a, "--smooth") == 0 || strcmp(a, "--smooth-method") == 0) {
            rc = cli_value("bleu", argc, argv, &i, &v);
            if (!rc && lmc_bleu_smooth_from_name(v) < 0)
                rc = cli_usage_error("bleu", "--smooth must be exp, floor, add-k or none, got '%s'", v);
            if (!rc) bp.smooth = (lmc_bleu_smooth)lmc_bleu_smooth_from_name(v);
        } else if (strcmp(a, "--smooth-value") == 0) {
            rc = cli_float("bleu", argc, argv, &i, 0, 1e9, &d);
            bp.smooth_value = d;
        } else if (strcmp(a, "--max-order") == 0) {
            rc = cli_int("bleu", argc, argv, &i, 1, LMC_BLEU_MAX_ORDER, &n);
            bp.max_order = (int)n;
        } else if (strcmp(a, "-lc") == 0 || strcmp(a, "--lowercase") == 0) {
            bp.lowercase = cp.lowercase = true;
        } else if (strcmp(a, "--effective-order") == 0) {
            bp.effective_order = true;
        } else if (strcmp(a, "--sentence") == 0) {
            sentence = true;
        } else if (strcmp(a, "--chrf") == 0) {
            chrf = true;
        } else if (strcmp(a, "--chrf-word-order") == 0) {
            rc = cli_int("bleu", argc, argv, &i, 0, LMC_CHRF_MAX_ORDER, &n);
            cp.word_order = (int)n;
            chrf = true;
        } else if (strcmp(a, "--chrf-char-order") == 0) {
            rc = cli_int("bleu", argc, argv, &i, 0, LMC_CHRF_MAX_ORDER, &n);
            cp.char_order = (int)n;
            chrf = true;
        } else if (strcmp(a, "--chrf-beta") == 0) {
            rc = cli_int("bleu", argc, argv, &i, 0, 100, &n);
            cp.beta = (int)n;
            chrf = true;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (a[0] == '-' && a[1]) {
            rc = cli_usage_error("bleu", "unknown option '%s'", a);
        } else if (n_files < 64) {
            files[n_files++] = a;
        } else {
            rc = cli_usage_error("bleu", "too many files");
        }
        if (rc) return rc;
    }
    if (n_files < 2) return cli_usage_error("bleu", "need a hypothesis file and at least one reference file");

    lmc_text_lines t[64];
    memset(t, 0, sizeof t);
    int ret = CLI_OK;
    for (int f = 0; f < n_files && ret == CLI_OK; f++) {
        if (lmc_text_lines_read(files[f], &t[f]) != LMC_OK) ret = cli_lib_error();
        else if (t[f].n == 0) ret = cli_error("%s is empty: nothing to score", files[f]);
        else if (f > 0 && t[f].n != t[0].n)
            ret = cli_error("%s has %zu lines but %s has %zu: hypotheses and references must be line-aligned",
                            files[f], t[f].n, files[0], t[0].n);
    }
    size_t n = ret == CLI_OK ? t[0].n : 0;
    for (int f = 0; f < n_files && ret == CLI_OK; f++) {
        size_t n_empty = 0, first = 0;
        for (size_t i = 0; i < n; i++) {
            const char *s = t[f].lines[i];
            while (*s == ' ' || *s == '\t' || *s == '\r') s++;
            if (!*s && !n_empty++) first = i + 1;
        }
        if (n_empty)
            fprintf(stderr, "lmc bleu: warning: %s:%zu: empty line (%zu in all); scored as an empty segment\n",
                    files[f], first, n_empty);
    }
    const char *const **refs = NULL;
    if (ret == CLI_OK) {
        refs = malloc((size_t)(n_files - 1) * sizeof *refs);
        if (!refs) ret = cli_error("out of memory");
        for (int f = 1; f < n_files && refs; f++) refs[f - 1] = (const char *const *)t[f].lines;
    }
    const char *const *hyps = ret == CLI_OK ? (const char *const *)t[0].lines : NULL;
    size_t n_refs = (size_t)n_files - 1;
    lmc_bleu_score s;
    double chrf_score = 0;
    char sig[256], csig[256], cname[32], line[512];
    if (ret == CLI_OK && lmc_bleu_corpus(&bp, hyps, n, refs, n_refs, &s) != LMC_OK) ret = cli_lib_error();
    if (ret == CLI_OK && chrf && lmc_chrf_corpus(&cp, hyps, n, refs, n_refs, &chrf_score) != LMC_OK)
        ret = cli_lib_error();
    if (ret == CLI_OK) {
        lmc_bleu_signature(&bp, s.n_refs, sig, sizeof sig);
        lmc_bleu_format(&s, line, sizeof line);
        if (chrf) {
            lmc_chrf_signature(&cp, s.n_refs, csig, sizeof csig);
            lmc_chrf_name(&cp, cname, sizeof cname);
        }
    }
    cJSON *jsent = NULL;
    if (ret == CLI_OK && sentence) {
        lmc_bleu_params sp = bp;
        sp.effective_order = true;
        const char **r1 = malloc(n_refs * sizeof *r1);
        if (json) jsent = cJSON_CreateArray();
        for (size_t i = 0; i < n && ret == CLI_OK && r1; i++) {
            lmc_bleu_score ss;
            for (size_t r = 0; r < n_refs; r++) r1[r] = refs[r][i];
            if (lmc_bleu_sentence(&sp, hyps[i], r1, n_refs, &ss) != LMC_OK) {
                ret = cli_lib_error();
                break;
            }
            if (json) cJSON_AddItemToArray(jsent, cJSON_CreateNumber(ss.score));
            else printf("%zu\t%.4f\n", i + 1, ss.score);
        }
        free(r1);
    }
    if (ret == CLI_OK && json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", "BLEU");
        cJSON_AddNumberToObject(o, "score", s.score);
        cJSON_AddStringToObject(o, "signature", sig);
        cJSON_AddStringToObject(o, "verbose_score", strchr(line, '=') + 2);
        cJSON *pr = cJSON_AddArrayToObject(o, "precisions");
        cJSON *co = cJSON_AddArrayToObject(o, "counts");
        cJSON *to = cJSON_AddArrayToObject(o, "totals");
        for (int k = 0; k < s.max_order; k++) {
            cJSON_AddItemToArray(pr, cJSON_CreateNumber(s.precisions[k]));
            cJSON_AddItemToArray(co, cJSON_CreateNumber(s.counts[k]));
            cJSON_AddItemToArray(to, cJSON_CreateNumber(s.totals[k]));
        }
        cJSON_AddNumberToObject(o, "bp", s.bp);
        cJSON_AddNumberToObject(o, "ratio", s.ratio);
        cJSON_AddNumberToObject(o, "sys_len", (double)s.sys_len);
        cJSON_AddNumberToObject(o, "ref_len", (double)s.ref_len);
        if (chrf) {
            cJSON *c = cJSON_AddObjectToObject(o, "chrf");
            cJSON_AddStringToObject(c, "name", cname);
            cJSON_AddNumberToObject(c, "score", chrf_score);
            cJSON_AddStringToObject(c, "signature", csig);
        }
        if (jsent) {
            cJSON_AddItemToObject(o, "sentence_bleu", jsent);
            jsent = NULL;
        }
        char *text = cJSON_Print(o);
        if (text) puts(text);
        free(text);
        cJSON_Delete(o);
    } else if (ret == CLI_OK) {
        printf("%s\n", line);
        printf("signature: %s\n", sig);
        if (chrf) {
            printf("%s = %.2f\n", cname, chrf_score);
            printf("signature: %s\n", csig);
        }
    }
    cJSON_Delete(jsent);
    free(refs);
    for (int f = 0; f < n_files; f++) lmc_text_lines_free(&t[f]);
    return ret;
}
