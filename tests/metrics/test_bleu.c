/* test_bleu.c — corpus BLEU against scores we did not compute: the WMT23 organisers'
 * official sacreBLEU scores for three English->Russian systems, and the expected values
 * of sacreBLEU's own unit tests (its README example). Plus the bad-input errors. */
#include "lmc.h"
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits a TSV line in place into at most max fields; returns the count. */
static int tsv_fields(char *line, char **f, int max) {
    int n = 0;
    line[strcspn(line, "\r\n")] = 0;
    for (char *p = line; n < max;) {
        f[n++] = p;
        char *t = strchr(p, '\t');
        if (!t) break;
        *t = 0;
        p = t + 1;
    }
    return n;
}

static void wmt23(void) {
    const char *dir = t_shared("data/bleu/wmt23_en-ru");
    char path[4096], line[4096];
    snprintf(path, sizeof path, "%s/expected_bleu.tsv", dir);
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot open %s", path);
    if (!f) return;
    int cases = 0;
    fgets(line, sizeof line, f); /* header */
    while (fgets(line, sizeof line, f)) {
        char *c[8];
        if (tsv_fields(line, c, 8) < 6) continue;
        lmc_text_lines hyp, ref;
        snprintf(path, sizeof path, "%s/%s", dir, c[2]);
        CHECK_EQ_INT(lmc_text_lines_read(path, &hyp), LMC_OK);
        snprintf(path, sizeof path, "%s/%s", dir, c[3]);
        CHECK_EQ_INT(lmc_text_lines_read(path, &ref), LMC_OK);
        CHECK_EQ_INT(hyp.n, ref.n);
        const char *const *refs[1] = {(const char *const *)ref.lines};
        lmc_bleu_params p = lmc_bleu_default_params();
        lmc_bleu_score s;
        CHECK_EQ_INT(lmc_bleu_corpus(&p, (const char *const *)hyp.lines, hyp.n, refs, 1, &s), LMC_OK);
        double expected = atof(c[4]);
        CHECK_NEAR(s.score, expected, 1e-6);
        printf("WMT23 en-ru %-12s BLEU %.10f (official %.10f, diff %.2g)\n", c[1], s.score, expected,
               s.score - expected);
        /* the signature matches the organisers' except for the sacreBLEU version */
        char sig[256];
        CHECK(lmc_bleu_signature(&p, s.n_refs, sig, sizeof sig) > 0);
        char *v1 = strstr(sig, "version:"), *v2 = strstr(c[5], "version:");
        CHECK(v1 && v2 && v1 - sig == v2 - c[5] && strncmp(sig, c[5], (size_t)(v1 - sig)) == 0);
        lmc_text_lines_free(&hyp);
        lmc_text_lines_free(&ref);
        cases++;
    }
    fclose(f);
    CHECK_EQ_INT(cases, 3);
}

static void sacrebleu_example(void) {
    const char *dir = t_shared("data/bleu/sacrebleu_example");
    char path[4096], line[4096];
    lmc_text_lines hyp, ra, rb;
    snprintf(path, sizeof path, "%s/hyp.txt", dir);
    CHECK_EQ_INT(lmc_text_lines_read(path, &hyp), LMC_OK);
    snprintf(path, sizeof path, "%s/ref.A.txt", dir);
    CHECK_EQ_INT(lmc_text_lines_read(path, &ra), LMC_OK);
    snprintf(path, sizeof path, "%s/ref.B.txt", dir);
    CHECK_EQ_INT(lmc_text_lines_read(path, &rb), LMC_OK);
    CHECK_EQ_INT(hyp.n, 3);
    const char *const *refs[2] = {(const char *const *)ra.lines, (const char *const *)rb.lines};
    snprintf(path, sizeof path, "%s/expected_bleu.tsv", dir);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    int cases = 0;
    if (f) {
        fgets(line, sizeof line, f);
        while (fgets(line, sizeof line, f)) {
            char *c[8];
            if (tsv_fields(line, c, 8) < 6) continue;
            lmc_bleu_params p = lmc_bleu_default_params();
            p.tokenize = (lmc_bleu_tokenizer)lmc_bleu_tokenizer_from_name(c[2]);
            p.smooth = (lmc_bleu_smooth)lmc_bleu_smooth_from_name(c[3]);
            p.lowercase = strcmp(c[4], "yes") == 0;
            CHECK((int)p.tokenize >= 0 && (int)p.smooth >= 0);
            const char *empty[3] = {"", "", ""};
            const char *const *h = strcmp(c[0], "empty_hyps") == 0 ? empty : (const char *const *)hyp.lines;
            lmc_bleu_score s;
            CHECK_EQ_INT(lmc_bleu_corpus(&p, h, 3, refs, 2, &s), LMC_OK);
            CHECK_NEAR(s.score, atof(c[5]), 1e-6);
            printf("sacreBLEU example %-12s %.8f (expected %s)\n", c[0], s.score, c[5]);
            cases++;
        }
        fclose(f);
    }
    CHECK_EQ_INT(cases, 6);
    /* README: "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)" */
    lmc_bleu_params p = lmc_bleu_default_params();
    lmc_bleu_score s;
    char buf[256];
    CHECK_EQ_INT(lmc_bleu_corpus(&p, (const char *const *)hyp.lines, 3, refs, 2, &s), LMC_OK);
    CHECK(lmc_bleu_format(&s, buf, sizeof buf) > 0);
    CHECK_STR(buf, "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)");
    CHECK(lmc_bleu_signature(&p, s.n_refs, buf, sizeof buf) > 0);
    CHECK_STR(buf, "nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:" LMC_SACREBLEU_VERSION);
    lmc_text_lines_free(&hyp);
    lmc_text_lines_free(&ra);
    lmc_text_lines_free(&rb);
}

static void bad_input(void) {
    lmc_bleu_params p = lmc_bleu_default_params();
    lmc_bleu_score s;
    const char *hyp[1] = {"caf\xc3 bad"};
    const char *ref[1] = {"fine"};
    const char *const *refs[1] = {ref};
    CHECK_EQ_INT(lmc_bleu_corpus(&p, hyp, 1, refs, 1, &s), LMC_ERR_FORMAT);
    CHECK_MSG(strstr(lmc_last_error(), "segment 1") && strstr(lmc_last_error(), "UTF-8"), "%s", lmc_last_error());
    CHECK_EQ_INT(lmc_bleu_corpus(&p, hyp, 0, refs, 1, &s), LMC_ERR_INVALID_ARG);
    p.max_order = 0;
    CHECK_EQ_INT(lmc_bleu_corpus(&p, ref, 1, refs, 1, &s), LMC_ERR_INVALID_ARG);

    char path[] = "/tmp/lmc_test_bleu_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("good line\nsecond \xff line\n", f);
    fclose(f);
    lmc_text_lines t;
    CHECK_EQ_INT(lmc_text_lines_read(path, &t), LMC_ERR_FORMAT);
    CHECK_MSG(strstr(lmc_last_error(), path) && strstr(lmc_last_error(), ":2:"), "%s", lmc_last_error());
    remove(path);
    CHECK_EQ_INT(lmc_text_lines_read("/nonexistent/file.txt", &t), LMC_ERR_IO);
}

int main(void) {
    wmt23();
    sacrebleu_example();
    bad_input();
    return t_done("test_bleu");
}
