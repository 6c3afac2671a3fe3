/* cmd_eval.c — `lmc eval`: score a model on tasks described by spec files. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char *EVAL_HELP =
    "usage: lmc eval -m MODEL --task SPEC [--task SPEC ...] [options]\n"
    "\n"
    "Scores a model on benchmark tasks. A task is a spec file (see tasks/README.md in the\n"
    "repository: tasks/hellaswag.task, tasks/arc_easy.task, ...) naming its data, prompt\n"
    "template, few-shot examples, choices or answer extraction, and metric.\n"
    "\n"
    "options:\n"
    "  -m FILE          the model (default: the default model in the cache)\n"
    "  --task SPEC      a spec file (repeatable)\n"
    "  --limit N        only the first N items of each task (perplexity: N chunks)\n"
    "  --shots K        few-shot examples (default: the spec's)\n"
    "  --data-dir DIR   folder the specs' data paths are relative to (default:\n"
    "                   $LMC_DATA_DIR, else ../../shared/data from the spec file, i.e.\n"
    "                   ../shared/data beside the repository)\n"
    "  --out FILE       write results and per-item details as JSON\n"
    "  --no-share       re-run each choice's context instead of reusing the cache\n"
    "  -c N             context size (default: the model's, at most 2048)\n"
    "  -t N             threads (default: " CLI_THREADS_HELP ")\n"
    "  --kv-type T      KV cache f16 (default) or f32\n"
    "\n"
    "example:\n"
    "  lmc eval -m SmolLM2-135M-Instruct.Q4_1.gguf --task tasks/hellaswag.task --limit 500\n";

int cmd_eval(int argc, char **argv) {
    const char *model = NULL, *out = NULL, *data_dir = NULL, *s;
    const char *tasks[64];
    int n_tasks = 0;
    lmc_eval_params p = lmc_eval_default_params();
    p.n_threads = cli_default_threads();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long long n;
        int rc = 0;
        if (cli_is_help(a)) {
            fputs(EVAL_HELP, stdout);
            return CLI_OK;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model"))
            rc = cli_value("eval", argc, argv, &i, &model);
        else if (!strcmp(a, "--task")) {
            if (n_tasks == 64) return cli_usage_error("eval", "at most 64 tasks");
            rc = cli_value("eval", argc, argv, &i, &tasks[n_tasks]);
            if (!rc) n_tasks++;
        } else if (!strcmp(a, "--out"))
            rc = cli_value("eval", argc, argv, &i, &out);
        else if (!strcmp(a, "--data-dir"))
            rc = cli_value("eval", argc, argv, &i, &data_dir);
        else if (!strcmp(a, "--limit")) {
            if (!(rc = cli_int("eval", argc, argv, &i, 1, 1LL << 40, &n))) p.limit = n;
        } else if (!strcmp(a, "--shots")) {
            if (!(rc = cli_int("eval", argc, argv, &i, 0, 1000, &n))) p.shots = (int32_t)n;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) {
            if (!(rc = cli_int("eval", argc, argv, &i, 16, 1 << 20, &n))) p.n_ctx = (int32_t)n;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (!(rc = cli_int("eval", argc, argv, &i, 1, 1024, &n))) p.n_threads = (int32_t)n;
        } else if (!strcmp(a, "--no-share"))
            p.share_prefix = false;
        else if (!strcmp(a, "--kv-type")) {
            if (!(rc = cli_value("eval", argc, argv, &i, &s))) {
                if (!strcmp(s, "f16") || !strcmp(s, "F16")) p.kv_type = LMC_TYPE_F16;
                else if (!strcmp(s, "f32") || !strcmp(s, "F32")) p.kv_type = LMC_TYPE_F32;
                else rc = cli_usage_error("eval", "--kv-type must be f16 or f32, got '%s'", s);
            }
        } else
            rc = cli_usage_error("eval", "unknown option '%s'", a);
        if (rc) return rc;
    }
    if (!n_tasks) return cli_usage_error("eval", "give at least one --task SPEC");
    /* Load every spec first, so a bad one fails before the model is read. */
    lmc_task *tk[64] = {0};
    for (int i = 0; i < n_tasks; i++)
        if (!(tk[i] = lmc_task_load(tasks[i], data_dir))) {
            for (int j = 0; j < i; j++) lmc_task_free(tk[j]);
            return cli_lib_error();
        }
    char mpath[4096];
    if (!model) {
        if (lmc_default_model_path(mpath, sizeof mpath)) return cli_lib_error();
        model = mpath;
    }
    lmc_model *m = lmc_model_load(model);
    lmc_vocab *v = m ? lmc_vocab_load(lmc_model_gguf(m)) : NULL;
    int rc = v ? CLI_OK : cli_lib_error();
    lmc_eval_result res[64];
    int n_res = 0;
    for (int i = 0; i < n_tasks && rc == CLI_OK; i++) {
        char label[96];
        snprintf(label, sizeof label, "%s", lmc_task_name(tk[i]));
        cli_progress pr;
        cli_progress_init(&pr, label, 0);
        p.progress = cli_progress_update;
        p.progress_user = &pr;
        if (lmc_eval_run(m, v, tk[i], &p, &res[n_res])) {
            cli_progress_done(&pr);
            rc = cli_lib_error();
            break;
        }
        cli_progress_done(&pr);
        lmc_eval_result *r = &res[n_res++];
        fprintf(stderr, "%s: %lld items, %.1f s, %lld tokens (%.1f tokens/s); %s\n", r->task, (long long)r->n_items,
                r->seconds, (long long)r->n_tokens, r->seconds > 0 ? (double)r->n_tokens / r->seconds : 0.0,
                r->scoring);
    }
    if (n_res) {
        char *table;
        if (!lmc_eval_report_table(res, (size_t)n_res, &table)) {
            fputs(table, stdout);
            free(table);
        }
        if (out && lmc_eval_report_json(res, (size_t)n_res, model, out)) rc = cli_lib_error();
    }
    for (int i = 0; i < n_res; i++) lmc_eval_result_free(&res[i]);
    for (int i = 0; i < n_tasks; i++) lmc_task_free(tk[i]);
    lmc_vocab_free(v);
    lmc_model_free(m);
    return rc;
}
