/* eval.c — running a task: defaults, the few-shot context of an item, metric
 * helpers, and the dispatch to the scoring kinds (mc.c, exact_match.c) or to
 * perplexity.c. */
#include "eval-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

lmc_eval_params lmc_eval_default_params(void) {
    lmc_eval_params p = {.limit = 0, .shots = -1, .n_ctx = 0, .n_threads = 1, .kv_type = LMC_TYPE_F16,
                         .share_prefix = true};
    return p;
}

void eval_add_metric(lmc_eval_result *r, const char *name, double value, double se) {
    if (r->n_metrics >= LMC_EVAL_MAX_METRICS) return;
    lmc_eval_metric *m = &r->metrics[r->n_metrics++];
    snprintf(m->name, sizeof m->name, "%s", name);
    m->value = value;
    m->stderr_ = se;
}

/* Mean and its standard error (sample standard deviation / sqrt(n)), as
 * lm-evaluation-harness's mean_stderr. */
double eval_mean_stderr(const double *x, int64_t n, double *mean) {
    double s = 0, ss = 0;
    for (int64_t i = 0; i < n; i++) s += x[i];
    double m = n ? s / (double)n : 0;
    for (int64_t i = 0; i < n; i++) ss += (x[i] - m) * (x[i] - m);
    if (mean) *mean = m;
    return n > 1 ? sqrt(ss / (double)(n - 1)) / sqrt((double)n) : 0;
}

static void sappend(char **s, size_t *n, const char *add) {
    if (!*s || !add) return;
    size_t a = strlen(add);
    char *t = realloc(*s, *n + a + 1);
    if (!t) {
        free(*s);
        *s = NULL;
        return;
    }
    memcpy(t + *n, add, a + 1);
    *s = t;
    *n += a;
}

static const char *subject_of(const cJSON *it) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(it, "subject");
    return cJSON_IsString(s) ? s->valuestring : "";
}

char *eval_build_context(const lmc_task *t, int64_t i, int32_t shots) {
    const cJSON *item = t->data.items[i];
    char what[512];
    size_t n = 0;
    char *out = calloc(1, 1);
    if (t->description) {
        snprintf(what, sizeof what, "%s: field 'description'", t->path);
        char *d = eval_render(t->description, item, NULL, what);
        if (!d) {
            free(out);
            return NULL;
        }
        sappend(&out, &n, d);
        free(d);
    }
    const eval_dataset *src = t->fewshot.n ? &t->fewshot : &t->data;
    int32_t got = 0;
    for (int64_t j = 0; out && got < shots && j < src->n; j++) {
        if (src == &t->data && j == i) continue;
        if (t->fewshot_same_subject && strcmp(subject_of(src->items[j]), subject_of(item))) continue;
        snprintf(what, sizeof what, "%s: field 'prompt' (few-shot example)", t->path);
        char *q = eval_render(t->prompt, src->items[j], NULL, what);
        char *a = NULL;
        if (q && t->target) {
            snprintf(what, sizeof what, "%s: field 'target' (few-shot example)", t->path);
            a = eval_render(t->target, src->items[j], NULL, what);
        } else if (q) {
            char **ch = NULL;
            int nc = 0, gold = -1;
            if (!eval_mc_choices(t, src->items[j], &ch, &nc, &gold)) a = strdup(ch[gold]);
            for (int k = 0; k < nc; k++) free(ch[k]);
            free(ch);
        }
        if (!q || !a) {
            free(q);
            free(a);
            free(out);
            return NULL;
        }
        sappend(&out, &n, q);
        sappend(&out, &n, a);
        sappend(&out, &n, t->fewshot_sep);
        free(q);
        free(a);
        got++;
    }
    if (out && got < shots) {
        free(out);
        return lmc_set_error_null(LMC_ERR_FORMAT, "%s: field 'shots': only %d few-shot examples available for item "
                                  "%lld, %d asked", t->path, got, (long long)i, shots);
    }
    snprintf(what, sizeof what, "%s: field 'prompt'", t->path);
    char *q = eval_render(t->prompt, item, NULL, what);
    if (!q) {
        free(out);
        return NULL;
    }
    sappend(&out, &n, q);
    free(q);
    if (!out) return lmc_set_error_null(LMC_ERR_NOMEM, "out of memory");
    return out;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void ppl_progress(void *user, int64_t i, int64_t n, double ppl) {
    const lmc_eval_params *p = user;
    (void)ppl;
    if (p->progress) p->progress(p->progress_user, (uint64_t)(i + 1), (uint64_t)n);
}

static int run_perplexity(const lmc_model *m, const lmc_vocab *v, const lmc_task *t, const lmc_eval_params *p,
                          lmc_eval_result *r) {
    FILE *f = fopen(t->data_path, "rb");
    if (!f) return lmc_set_error(LMC_ERR_IO, "%s: cannot open", t->data_path);
    size_t cap = 1 << 20, len = 0;
    char *text = malloc(cap);
    while (text) {
        len += fread(text + len, 1, cap - len - 1, f);
        if (len + 1 < cap) break;
        char *nt = realloc(text, cap *= 2);
        if (!nt) free(text);
        text = nt;
    }
    fclose(f);
    if (!text) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    text[len] = 0;
    lmc_ppl_params pp = lmc_ppl_default_params();
    pp.n_ctx = t->ppl_ctx;
    pp.stride = t->ppl_stride;
    pp.n_threads = p->n_threads;
    pp.kv_type = p->kv_type;
    pp.max_chunks = p->limit;
    pp.on_chunk = ppl_progress;
    pp.user = (void *)p;
    lmc_ppl_result pr;
    int rc = lmc_perplexity(m, v, text, len, &pp, &pr);
    free(text);
    if (rc) return rc;
    r->n_items = pr.n_chunks;
    r->n_tokens = pr.n_chunks * t->ppl_ctx;
    snprintf(r->scoring, sizeof r->scoring, "%s, ctx %d: %s", t->ppl_stride ? "sliding window" : "llama-perplexity chunks",
             t->ppl_ctx, t->ppl_stride ? "every token scored once" : "second half of each chunk scored");
    eval_add_metric(r, "ppl", pr.ppl, pr.ppl_err);
    if (pr.covers_text) {
        eval_add_metric(r, "word_perplexity", pr.word_ppl, 0);
        eval_add_metric(r, "byte_perplexity", pr.byte_ppl, 0);
        eval_add_metric(r, "bits_per_byte", pr.bits_per_byte, 0);
    }
    char d[512];
    snprintf(d, sizeof d, "[{\"tokens\": %lld, \"chunks\": %lld, \"scored\": %lld, \"nll_sum\": %.9g, \"words\": %lld, "
             "\"bytes\": %lld}]", (long long)pr.n_tokens, (long long)pr.n_chunks, (long long)pr.n_scored, pr.nll_sum,
             (long long)pr.n_words, (long long)pr.n_bytes);
    r->details_json = strdup(d);
    return LMC_OK;
}

int lmc_eval_run(const lmc_model *m, const lmc_vocab *v, const lmc_task *t, const lmc_eval_params *pp,
                 lmc_eval_result *r) {
    if (!m || !v || !t || !r) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_eval_run: missing argument");
    lmc_eval_params p = pp ? *pp : lmc_eval_default_params();
    memset(r, 0, sizeof *r);
    snprintf(r->task, sizeof r->task, "%s", t->name);
    r->shots = p.shots >= 0 ? p.shots : t->shots;
    double t0 = now_s();
    int rc;
    if (t->type == EVAL_PERPLEXITY) {
        rc = run_perplexity(m, v, t, &p, r);
    } else {
        int64_t n_ctx = p.n_ctx > 0 ? p.n_ctx : LMC_MIN(lmc_model_get_hparams(m)->n_ctx_train, 2048);
        eval_scorer s;
        rc = eval_scorer_init(&s, m, v, n_ctx, 512, p.n_threads, p.kv_type, false, p.share_prefix);
        if (rc) return rc;
        p.shots = r->shots;
        if (t->type == EVAL_MULTIPLE_CHOICE) rc = eval_run_mc(&s, t, &p, r);
        else if (t->type == EVAL_LOGLIKELIHOOD) rc = eval_run_loglikelihood(&s, t, &p, r);
        else rc = eval_run_generate(&s, t, &p, r);
        r->n_tokens = s.n_tokens;
        eval_scorer_free(&s);
    }
    r->seconds = now_s() - t0;
    if (rc) lmc_eval_result_free(r);
    return rc;
}

void lmc_eval_result_free(lmc_eval_result *r) {
    if (!r) return;
    free(r->details_json);
    r->details_json = NULL;
}
