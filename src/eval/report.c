/* report.c — results as a table (one row per metric) and as a JSON file with
 * per-item details. */
#include "eval-impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_fraction(const char *metric) {
    return !strcmp(metric, "acc") || !strcmp(metric, "acc_norm") || !strcmp(metric, "exact_match");
}

int lmc_eval_report_table(const lmc_eval_result *r, size_t n, char **out) {
    size_t cap = 256 + n * LMC_EVAL_MAX_METRICS * 160;
    char *b = malloc(cap);
    if (!b) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    size_t k = (size_t)snprintf(b, cap, "| %-22s | %5s | %6s | %-16s | %12s | %10s |\n|%s|%s|%s|%s|%s|%s|\n", "task", "shots",
                                "items", "metric", "value", "stderr", "------------------------", "-------", "--------",
                                "------------------", "-------------:", "-----------:");
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < r[i].n_metrics && k < cap; j++) {
            const lmc_eval_metric *m = &r[i].metrics[j];
            double sc = is_fraction(m->name) ? 100.0 : 1.0; /* accuracies shown in percent */
            k += (size_t)snprintf(b + k, cap - k, "| %-22s | %5d | %6lld | %-16s | %12.4f | %10.4f |\n", r[i].task,
                                  r[i].shots, (long long)r[i].n_items, m->name, m->value * sc, m->stderr_ * sc);
        }
    *out = b;
    return LMC_OK;
}

int lmc_eval_report_json(const lmc_eval_result *r, size_t n, const char *model_path, const char *path) {
    cJSON *root = cJSON_CreateObject(), *res = cJSON_AddObjectToObject(root, "results");
    cJSON *cfg = cJSON_AddObjectToObject(root, "config");
    cJSON *det = cJSON_AddObjectToObject(root, "details");
    cJSON_AddStringToObject(cfg, "model", model_path ? model_path : "");
    cJSON_AddStringToObject(cfg, "lmc_version", lmc_version());
    for (size_t i = 0; i < n; i++) {
        cJSON *t = cJSON_AddObjectToObject(res, r[i].task);
        cJSON_AddNumberToObject(t, "items", (double)r[i].n_items);
        cJSON_AddNumberToObject(t, "shots", r[i].shots);
        cJSON_AddStringToObject(t, "scoring", r[i].scoring);
        for (int j = 0; j < r[i].n_metrics; j++) {
            char k[64];
            cJSON_AddNumberToObject(t, r[i].metrics[j].name, r[i].metrics[j].value);
            snprintf(k, sizeof k, "%s_stderr", r[i].metrics[j].name);
            cJSON_AddNumberToObject(t, k, r[i].metrics[j].stderr_);
        }
        cJSON_AddNumberToObject(t, "seconds", r[i].seconds);
        cJSON_AddNumberToObject(t, "tokens", (double)r[i].n_tokens);
        cJSON_AddNumberToObject(t, "tokens_per_second", r[i].seconds > 0 ? (double)r[i].n_tokens / r[i].seconds : 0);
        cJSON *d = r[i].details_json ? cJSON_Parse(r[i].details_json) : NULL;
        cJSON_AddItemToObject(det, r[i].task, d ? d : cJSON_CreateArray());
    }
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    if (!s) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    FILE *f = fopen(path, "w");
    int rc = LMC_OK;
    if (!f) rc = lmc_set_error(LMC_ERR_IO, "%s: %s", path, strerror(errno));
    else {
        if (fputs(s, f) < 0 || fputc('\n', f) < 0) rc = lmc_set_error(LMC_ERR_IO, "%s: write failed", path);
        if (fclose(f)) rc = lmc_set_error(LMC_ERR_IO, "%s: %s", path, strerror(errno));
    }
    free(s);
    return rc;
}
