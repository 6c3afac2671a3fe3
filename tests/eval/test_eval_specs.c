/* test_eval_specs.c — malformed task specs and data that does not match them: every
 * error must name the file, the line and the field. Also the answer extraction of
 * exact-match tasks (cases from GSM8K's answer format and lm-evaluation-harness's
 * strict/flexible extraction). */
#include "../../src/eval/eval-impl.h"
#include "test_util.h"

#include <sys/stat.h>
#include <unistd.h>

static char g_dir[256];

static const char *write_file(const char *name, const char *text) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

/* Loads a spec; expects failure with every needle in the message. */
static void expect_bad(const char *spec_text, const char *const *needles) {
    const char *p = write_file("bad.task", spec_text);
    lmc_task *t = lmc_task_load(p, g_dir);
    CHECK_MSG(t == NULL, "spec should fail:\n%s", spec_text);
    const char *e = lmc_last_error();
    for (int i = 0; needles[i]; i++) CHECK_MSG(strstr(e, needles[i]) != NULL, "'%s' not in error: %s", needles[i], e);
    lmc_task_free(t);
}

#define BAD(text, ...)                                                                  \
    do {                                                                                \
        const char *n_[] = {__VA_ARGS__, NULL};                                         \
        expect_bad(text, n_);                                                           \
    } while (0)

#define HEAD "name: t\ntype: multiple_choice\ndata: ./d.jsonl\nprompt: \"{{q}}\"\nchoices_field: c\ngold_field: g\n"

/* Runs a valid spec on data that does not match it; expects the run to fail. */
static void expect_run_bad(lmc_model *m, lmc_vocab *v, const char *spec_text, const char *const *needles) {
    const char *p = write_file("run.task", spec_text);
    lmc_task *t = lmc_task_load(p, g_dir);
    CHECK_MSG(t != NULL, "spec should load: %s", lmc_last_error());
    if (!t) return;
    lmc_eval_params ep = lmc_eval_default_params();
    lmc_eval_result r;
    int rc = lmc_eval_run(m, v, t, &ep, &r);
    CHECK_MSG(rc != LMC_OK, "run should fail:\n%s", spec_text);
    const char *e = lmc_last_error();
    for (int i = 0; needles[i]; i++) CHECK_MSG(strstr(e, needles[i]) != NULL, "'%s' not in error: %s", needles[i], e);
    if (!rc) lmc_eval_result_free(&r);
    lmc_task_free(t);
}

#define RUN_BAD(text, ...)                                                              \
    do {                                                                                \
        const char *n_[] = {__VA_ARGS__, NULL};                                         \
        expect_run_bad(m, v, text, n_);                                                 \
    } while (0)

static void extraction(void) {
    struct {
        const char *text, *re, *want;
    } cases[] = {
        {"She makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18", NULL, "18"},
        {"so 1,234 apples\n#### 1,234", NULL, "1234"},
        {"The answer is $1,000.", NULL, "1000"},
        {"First 3, then 4, so the total is 7.\n\n", NULL, "7"},
        {"It is -5 degrees", NULL, "-5"},
        {"no number here", NULL, ""},
        {"The answer is 42. #### 41", NULL, "41"},
        {"ANSWER: (B) because", "ANSWER: \\(([A-D])\\)", "B"},
        {"x #### 12.50", NULL, "12.50"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *a = eval_extract_answer(cases[i].text, cases[i].re);
        CHECK_STR(a, cases[i].want);
        free(a);
    }
    char *b = eval_extract_answer("1", "(unclosed");
    CHECK(b == NULL);
    CHECK(strstr(lmc_last_error(), "(unclosed") != NULL);
    free(b);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/lmc_eval_specs_%d", (int)getpid());
    mkdir(g_dir, 0700);
    write_file("d.jsonl", "{\"q\": \"Once upon\", \"c\": [\" a time\", \" b\"], \"g\": 0}\n"
                          "{\"q\": \"There\", \"c\": [\" was\", \" is\"], \"g\": 1}\n");

    /* A good spec loads, and the data folder / ./ paths resolve. */
    const char *good = write_file("good.task", HEAD "# comment\n\n");
    lmc_task *t = lmc_task_load(good, "/nonexistent");
    CHECK_MSG(t != NULL, "%s", lmc_last_error());
    if (t) {
        CHECK_EQ_INT(lmc_task_n_items(t), 2);
        CHECK_STR(lmc_task_type(t), "multiple_choice");
        CHECK_STR(lmc_task_name(t), "t");
    }
    lmc_task_free(t);

    /* CRLF lines, the last one without its "\n" (the parser looped forever on it) */
    const char *crlf = write_file("crlf.task", "name: t\r\ntype: multiple_choice\r\ndata: ./d.jsonl\r\n"
                                               "prompt: \"{{q}}\"\r\nchoices_field: c\r\ngold_field: g\r");
    t = lmc_task_load(crlf, g_dir);
    CHECK_MSG(t != NULL, "%s", lmc_last_error());
    if (t) CHECK_STR(lmc_task_name(t), "t");
    lmc_task_free(t);

    /* Malformed specs: file, line and field named. */
    BAD(HEAD "promt: x\n", "bad.task:7", "unknown field 'promt'");
    BAD("name: t\ntype: multiple_choice\nprompt: x\nchoices_field: c\ngold_field: g\n", "bad.task", "missing field 'data'");
    BAD("name: t\ntype: essay\ndata: ./d.jsonl\n", "bad.task:2", "field 'type'", "essay");
    BAD(HEAD "shots: many\n", "bad.task:7", "field 'shots'", "integer");
    BAD(HEAD "shots: -1\n", "bad.task:7", "field 'shots'");
    BAD(HEAD "name: u\n", "bad.task:7", "field 'name' given twice", "line 1");
    BAD(HEAD "target: \"abc\n", "bad.task:7", "field 'target'", "unterminated");
    BAD(HEAD "target: \"a\\qb\"\n", "bad.task:7", "field 'target'", "escape");
    BAD(HEAD "just some words\n", "bad.task:7", "key: value");
    BAD(HEAD "prompt2 x: y\n", "bad.task:7");
    BAD(HEAD "split: middle\n", "bad.task:7", "field 'split'");
    BAD(HEAD "norm: words\n", "bad.task:7", "field 'norm'");
    BAD(HEAD "fewshot_same_subject: maybe\n", "bad.task:7", "field 'fewshot_same_subject'");
    BAD("name: t\ntype: multiple_choice\ndata: ./d.jsonl\nprompt: x\ngold_field: g\n", "bad.task", "choices");
    BAD("name: t\ntype: multiple_choice\ndata: ./d.jsonl\nprompt: x\ngold_field: g\nchoices_field: c\nchoices: a, b\n",
        "bad.task:7", "only one of");
    BAD("name: t\ntype: loglikelihood\ndata: ./d.jsonl\nprompt: x\n", "bad.task", "missing field 'target'");
    BAD("name: t\ntype: generate\ndata: ./d.jsonl\nprompt: x\ngold_field: g\nmetric: rouge\n", "bad.task:6", "field 'metric'");
    BAD("name: t\ntype: perplexity\ndata: ./d.jsonl\nctx: 64\nstride: 65\n", "bad.task:5", "field 'stride'");
    BAD("name: t\ntype: generate\ndata: ./d.jsonl\nprompt: \"{{q}}\"\ngold_field: g\nshots: 2\n", "bad.task:6",
        "field 'shots'", "target");
    /* Data that does not exist or does not match the spec. */
    BAD("name: t\ntype: multiple_choice\ndata: ./missing.jsonl\nprompt: x\nchoices_field: c\ngold_field: g\n",
        "missing.jsonl");
    BAD("name: t\ntype: perplexity\ndata: nowhere/wiki.txt\n", "bad.task:3", "field 'data'", "LMC_DATA_DIR");
    write_file("broken.jsonl", "{\"q\": \"a\"}\n{\"q\": oops}\n");
    BAD("name: t\ntype: multiple_choice\ndata: ./broken.jsonl\nprompt: x\nchoices_field: c\ngold_field: g\n",
        "broken.jsonl:2", "column", "jsonl");
    write_file("t.csv", "a,b,c\n1,2,3\n4,5\n");
    BAD("name: t\ntype: multiple_choice\nformat: csv\ndata: ./t.csv\nprompt: x\nchoices: a, b\ngold_field: c\n",
        "t.csv:3", "2 fields", "header");
    BAD("name: t\ntype: multiple_choice\nformat: csv\ncolumns: a, b\ndata: ./t.csv\nprompt: x\nchoices: a, b\n"
        "gold_field: c\n", "t.csv:1", "3 fields", "columns");
    write_file("hs.txt", "ctx\n2\na\nb\nc\n");
    BAD("name: t\ntype: multiple_choice\nformat: hellaswag\ndata: ./hs.txt\nprompt: x\nchoices_field: endings\n"
        "gold_field: label\n", "hs.txt", "multiple of 6");
    write_file("hs2.txt", "ctx\nseven\na\nb\nc\nd\n");
    BAD("name: t\ntype: multiple_choice\nformat: hellaswag\ndata: ./hs2.txt\nprompt: x\nchoices_field: endings\n"
        "gold_field: label\n", "hs2.txt:2", "label");
    write_file("labels.lst", "0\n");
    BAD(HEAD "labels: ./labels.lst\n", "labels.lst", "1 labels for 2 records", "labels");
    BAD("name: t\ntype: multiple_choice\nformat: yaml\ndata: ./d.jsonl\nprompt: x\nchoices_field: c\ngold_field: g\n",
        "bad.task:3", "field 'format'", "yaml");

    extraction();

    /* Every shipped spec in tasks/ parses and finds its data under the shared folder. */
    const char *src = getenv("LMC_SOURCE_DIR");
    char data_dir[1024];
    snprintf(data_dir, sizeof data_dir, "%s/data", t_shared_dir());
    static const char *shipped[] = {"wikitext2", "ptb", "lambada", "hellaswag", "hellaswag_llamacpp", "piqa",
                                    "arc_easy", "arc_challenge", "mmlu", "mmlu_cloze", "gsm8k", "wmt23_en_ru"};
    static const int64_t n_items[] = {1, 1, 4653, 4000, 4000, 1538, 2076, 972, 2041, 2041, 1019, 2074}; // SOURCES.md
    for (size_t i = 0; src && i < sizeof shipped / sizeof shipped[0]; i++) {
        char sp[1200];
        snprintf(sp, sizeof sp, "%s/tasks/%s.task", src, shipped[i]);
        lmc_task *st = lmc_task_load(sp, data_dir);
        CHECK_MSG(st != NULL, "%s: %s", sp, lmc_last_error());
        if (st) CHECK_MSG(lmc_task_n_items(st) == n_items[i], "%s: %lld items", shipped[i], (long long)lmc_task_n_items(st));
        lmc_task_free(st);
    }

    /* Errors that show when items are scored: need a model (the tiny shared one). */
    char mp[1024];
    snprintf(mp, sizeof mp, "%s/models/stories260K.gguf", t_shared_dir());
    lmc_model *m = lmc_model_load(mp);
    lmc_vocab *v = m ? lmc_vocab_load(lmc_model_gguf(m)) : NULL;
    CHECK_MSG(v != NULL, "%s", lmc_last_error());
    if (v) {
        write_file("g.jsonl", "{\"q\": \"Once\", \"c\": [\" a\", \" b\"], \"g\": 0}\n"
                              "{\"q\": \"Once\", \"c\": [\" a\", \" b\"], \"g\": 5}\n");
        RUN_BAD("name: t\ntype: multiple_choice\ndata: ./g.jsonl\nprompt: \"{{q}}\"\nchoices_field: c\ngold_field: g\n",
                "g.jsonl:2", "gold", "0..1");
        RUN_BAD("name: t\ntype: multiple_choice\ndata: ./g.jsonl\nprompt: \"{{question}}\"\nchoices_field: c\n"
                "gold_field: g\n", "field 'prompt'", "no field 'question'", "g.jsonl:1");
        RUN_BAD("name: t\ntype: multiple_choice\ndata: ./g.jsonl\nprompt: \"{{q|shout}}\"\nchoices_field: c\n"
                "gold_field: g\n", "field 'prompt'", "unknown filter 'shout'");
        RUN_BAD("name: t\ntype: multiple_choice\ndata: ./g.jsonl\nprompt: \"{{q}}\"\nchoices_field: q\ngold_field: g\n",
                "g.jsonl:1", "'q'", "not an array");
        RUN_BAD("name: t\ntype: multiple_choice\ndata: ./g.jsonl\nprompt: \"{{q}}\"\nchoices_field: c\n"
                "gold_field: answer\n", "g.jsonl:1", "no field 'answer'", "gold_field");
        RUN_BAD("name: t\ntype: generate\ndata: ./g.jsonl\nprompt: \"{{q}}\"\ngold_field: q\nanswer_regex: \"([a-\"\n"
                "max_tokens: 4\n", "answer_regex");
        write_file("s.jsonl", "{\"q\": \"Once\", \"c\": [\" a\", \" b\"], \"g\": 0}\n"
                              "{\"q\": \"Once\", \"c\": [\" a\", \" b\"], \"g\": 1}\n");
        RUN_BAD("name: t\ntype: multiple_choice\ndata: ./s.jsonl\nprompt: \"{{q}}\"\nchoices_field: c\ngold_field: g\n"
                "shots: 5\n", "field 'shots'", "only 1");
        /* The same spec with valid data runs. */
        write_file("ok.jsonl", "{\"q\": \"Once\", \"c\": [\" upon\", \" banana\"], \"g\": 0}\n");
        const char *ok = write_file("ok.task", "name: ok\ntype: multiple_choice\ndata: ./ok.jsonl\nprompt: \"{{q}}\"\n"
                                               "choices_field: c\ngold_field: g\n");
        lmc_task *tk = lmc_task_load(ok, NULL);
        CHECK(tk != NULL);
        lmc_eval_params ep = lmc_eval_default_params();
        lmc_eval_result r;
        if (tk && lmc_eval_run(m, v, tk, &ep, &r) == LMC_OK) {
            CHECK_EQ_INT(r.n_items, 1);
            CHECK_EQ_INT(r.n_metrics, 2);
            char *tab = NULL;
            CHECK(lmc_eval_report_table(&r, 1, &tab) == LMC_OK && strstr(tab, "acc_norm"));
            free(tab);
            char jp[600];
            snprintf(jp, sizeof jp, "%s/out.json", g_dir);
            CHECK(lmc_eval_report_json(&r, 1, mp, jp) == LMC_OK);
            CHECK(lmc_eval_report_json(&r, 1, mp, "/nonexistent/dir/x.json") != LMC_OK);
            lmc_eval_result_free(&r);
        } else
            CHECK_MSG(0, "valid task failed: %s", lmc_last_error());
        lmc_task_free(tk);
    }
    lmc_vocab_free(v);
    lmc_model_free(m);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", g_dir);
    return t_done("test_eval_specs");
}
