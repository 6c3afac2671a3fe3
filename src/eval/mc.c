/* mc.c — log-likelihood scoring: multiple choice (acc, acc_norm) and single targets
 * (LAMBADA-style acc and perplexity).
 *
 * A choice's score is the sum of its continuation tokens' log-probabilities given the
 * item's context. acc picks the largest sum; acc_norm divides by the choice's length
 * in bytes (lm-evaluation-harness's acc_norm, which uses the text length) or, with
 * "norm: tokens", by its token count (llama.cpp's --hellaswag). The split between
 * context and continuation is lm-evaluation-harness's by default: tokenize context
 * and context+choice, and the choice's tokens are those past the context's count;
 * "split: common_prefix" scores each choice after the tokens all choices share, as
 * llama.cpp's --hellaswag does. */
#include "eval-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *where(const cJSON *it, char *buf, size_t cap) {
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(it, "_file"), *l = cJSON_GetObjectItemCaseSensitive(it, "_line");
    snprintf(buf, cap, "%s:%d", cJSON_IsString(f) ? f->valuestring : "?", cJSON_IsNumber(l) ? l->valueint : 0);
    return buf;
}

int eval_mc_choices(const lmc_task *t, const cJSON *item, char ***out, int *n_out, int *gold) {
    char w[600], what[600];
    int n = t->choices_field ? cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(item, t->choices_field))
                             : t->n_choices_list;
    if (t->choices_field && !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(item, t->choices_field)))
        return lmc_set_error(LMC_ERR_FORMAT, "%s: field '%s' (from %s: field 'choices_field') is missing or not an array",
                             where(item, w, sizeof w), t->choices_field, t->path);
    if (n < 1) return lmc_set_error(LMC_ERR_FORMAT, "%s: no choices", where(item, w, sizeof w));
    char **ch = calloc((size_t)n, sizeof(char *));
    if (!ch) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    int rc = LMC_OK;
    for (int k = 0; k < n && !rc; k++) {
        if (t->choices_field || t->choices_are_fields) {
            const cJSON *v = t->choices_field
                                 ? cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(item, t->choices_field), k)
                                 : cJSON_GetObjectItemCaseSensitive(item, t->choices_list[k]);
            if (!cJSON_IsString(v) && !cJSON_IsNumber(v)) {
                rc = lmc_set_error(LMC_ERR_FORMAT, "%s: choice %d ('%s') is missing or not text (spec %s)",
                                   where(item, w, sizeof w), k + 1, t->choices_field ? t->choices_field
                                   : t->choices_list[k], t->path);
                break;
            }
            char num[64];
            if (cJSON_IsNumber(v)) snprintf(num, sizeof num, "%g", v->valuedouble);
            snprintf(what, sizeof what, "%s: field 'choice_template'", t->path);
            ch[k] = eval_render(t->choice_template, item, cJSON_IsString(v) ? v->valuestring : num, what);
            if (!ch[k]) rc = LMC_ERR_FORMAT;
        } else if (t->choice_template) {
            snprintf(what, sizeof what, "%s: field 'choice_template'", t->path);
            ch[k] = eval_render(t->choice_template, item, t->choices_list[k], what);
            if (!ch[k]) rc = LMC_ERR_FORMAT;
        } else if (!(ch[k] = strdup(t->choices_list[k])))
            rc = lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    }
    /* Gold: an index, or a value found in gold_map. */
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(item, t->gold_field);
    long gi = -1;
    if (!rc && !g)
        rc = lmc_set_error(LMC_ERR_FORMAT, "%s: no field '%s' (spec %s: field 'gold_field')", where(item, w, sizeof w),
                           t->gold_field, t->path);
    if (!rc) {
        const char *gs = cJSON_IsString(g) ? g->valuestring : NULL;
        if (t->n_gold_map && gs) {
            while (*gs == ' ') gs++;
            for (int k = 0; k < t->n_gold_map; k++)
                if (!strcmp(t->gold_map[k], gs)) gi = k;
        } else if (cJSON_IsNumber(g))
            gi = (long)g->valuedouble;
        else if (gs) {
            char *end;
            gi = strtol(gs, &end, 10);
            if (end == gs || *end) gi = -1;
        }
        if (gi < 0 || gi >= n)
            rc = lmc_set_error(LMC_ERR_FORMAT, "%s: gold '%s' = %s is not a choice index 0..%d%s (spec %s)",
                               where(item, w, sizeof w), t->gold_field,
                               gs ? gs : (cJSON_IsNumber(g) ? "(number)" : "(not text)"), n - 1,
                               t->n_gold_map ? " or a value of 'gold_map'" : "", t->path);
    }
    if (rc) {
        for (int k = 0; k < n; k++) free(ch[k]);
        free(ch);
        return rc;
    }
    *out = ch;
    *n_out = n;
    *gold = (int)gi;
    return LMC_OK;
}

/* lm-evaluation-harness's split: trailing spaces of the context move to the
 * continuation; cont = tokens(ctx + cont)[len(tokens(ctx)):]. */
static int split_context(eval_scorer *s, const char *ctx, const char *cont, int32_t **ct, int64_t *nct, int32_t **co,
                         int64_t *nco) {
    size_t L = strlen(ctx), k = L;
    while (k && ctx[k - 1] == ' ') k--;
    size_t cl = strlen(cont);
    char *c2 = malloc(k + 1), *whole = malloc(L + cl + 1);
    if (!c2 || !whole) {
        free(c2);
        free(whole);
        return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    }
    memcpy(c2, ctx, k);
    c2[k] = 0;
    memcpy(whole, ctx, L);
    memcpy(whole + L, cont, cl + 1);
    int32_t *a = NULL, *b = NULL;
    int64_t na = 0, nb = 0;
    int rc = eval_tokenize(s, c2, true, &a, &na);
    if (!rc) rc = eval_tokenize(s, whole, true, &b, &nb);
    free(c2);
    free(whole);
    if (!rc && na == 0) { /* empty context without BOS: condition on EOS, as the harness does */
        int32_t e = lmc_vocab_eos(s->vocab);
        int32_t *nbuf = malloc(((size_t)nb + 1) * sizeof(int32_t));
        if (e < 0 || !nbuf) rc = lmc_set_error(LMC_ERR_INVALID_ARG, "eval: empty context and no BOS/EOS token");
        else {
            nbuf[0] = e;
            memcpy(nbuf + 1, b, (size_t)nb * sizeof(int32_t));
            free(b);
            b = nbuf;
            nb++;
            na = 1;
        }
    }
    if (!rc && nb <= na) rc = lmc_set_error(LMC_ERR_FORMAT, "eval: a choice/target adds no tokens to its context ('%.40s')", cont);
    if (rc) {
        free(a);
        free(b);
        return rc;
    }
    free(a);
    *ct = b; /* the context is b's first na tokens */
    *nct = na;
    *co = b + na;
    *nco = nb - na;
    return LMC_OK;
}

int eval_run_mc(eval_scorer *s, const lmc_task *t, const lmc_eval_params *p, lmc_eval_result *r) {
    int64_t N = p->limit > 0 ? LMC_MIN(p->limit, t->data.n) : t->data.n;
    double *acc = calloc((size_t)N + 1, sizeof(double)), *accn = calloc((size_t)N + 1, sizeof(double));
    cJSON *details = cJSON_CreateArray();
    if (!acc || !accn || !details) {
        free(acc);
        free(accn);
        cJSON_Delete(details);
        return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    }
    int rc = LMC_OK;
    for (int64_t i = 0; i < N && !rc; i++) {
        const cJSON *item = t->data.items[i];
        char **ch = NULL;
        int nc = 0, gold = 0;
        char *ctx = eval_build_context(t, i, p->shots);
        if (!ctx) {
            rc = LMC_ERR_FORMAT;
            break;
        }
        if ((rc = eval_mc_choices(t, item, &ch, &nc, &gold))) {
            free(ctx);
            break;
        }
        double ll[64], norm[64];
        int64_t ntok[64];
        if (nc > 64) rc = lmc_set_error(LMC_ERR_LIMIT, "eval: more than 64 choices");
        int32_t **full = calloc((size_t)nc, sizeof(int32_t *));
        int64_t *nfull = calloc((size_t)nc, sizeof(int64_t));
        int64_t cp = 0;
        if (!full || !nfull) rc = lmc_set_error(LMC_ERR_NOMEM, "out of memory");
        if (!rc && t->split_common) {
            /* llama.cpp: tokenize context + choice whole; the shared prefix is context. */
            size_t cl = strlen(ctx);
            int64_t minlen = INT64_MAX;
            for (int k = 0; k < nc && !rc; k++) {
                char *w = malloc(cl + strlen(ch[k]) + 1);
                if (!w) {
                    rc = lmc_set_error(LMC_ERR_NOMEM, "out of memory");
                    break;
                }
                strcpy(w, ctx);
                strcat(w, ch[k]);
                rc = eval_tokenize(s, w, true, &full[k], &nfull[k]);
                free(w);
                if (!rc) minlen = LMC_MIN(minlen, nfull[k]);
            }
            if (!rc) {
                while (cp < minlen - 1) {
                    bool same = true;
                    for (int k = 1; k < nc; k++) same &= full[k][cp] == full[0][cp];
                    if (!same) break;
                    cp++;
                }
                if (cp < 1) rc = lmc_set_error(LMC_ERR_FORMAT, "eval: choices share no context token");
            }
        }
        for (int k = 0; k < nc && !rc; k++) {
            int32_t *ct, *co;
            int64_t nct, nco;
            int32_t *own = NULL;
            if (t->split_common) {
                ct = full[k];
                nct = cp;
                co = full[k] + cp;
                nco = nfull[k] - cp;
            } else {
                if ((rc = split_context(s, ctx, ch[k], &ct, &nct, &co, &nco))) break;
                own = ct;
            }
            rc = eval_score(s, ct, nct, co, nco, &ll[k], NULL, NULL);
            ntok[k] = nco;
            norm[k] = t->norm_tokens ? ll[k] / (double)nco : ll[k] / (double)LMC_MAX(strlen(ch[k]), 1);
            free(own);
        }
        for (int k = 0; k < nc && full; k++) free(full[k]);
        free(full);
        free(nfull);
        if (!rc) {
            int best = 0, bestn = 0;
            for (int k = 1; k < nc; k++) {
                if (ll[k] > ll[best]) best = k;
                if (norm[k] > norm[bestn]) bestn = k;
            }
            acc[i] = best == gold;
            accn[i] = bestn == gold;
            cJSON *d = cJSON_CreateObject();
            const cJSON *l = cJSON_GetObjectItemCaseSensitive(item, "_line");
            cJSON_AddNumberToObject(d, "item", (double)i);
            cJSON_AddNumberToObject(d, "line", cJSON_IsNumber(l) ? l->valuedouble : 0);
            if (i == 0) cJSON_AddStringToObject(d, "context", ctx); /* to check the prompt */
            cJSON_AddNumberToObject(d, "gold", gold);
            cJSON_AddNumberToObject(d, "pred", best);
            cJSON_AddNumberToObject(d, "pred_norm", bestn);
            cJSON *a = cJSON_AddArrayToObject(d, "loglikelihoods");
            cJSON *b = cJSON_AddArrayToObject(d, "continuation_tokens");
            for (int k = 0; k < nc; k++) {
                cJSON_AddItemToArray(a, cJSON_CreateNumber(ll[k]));
                cJSON_AddItemToArray(b, cJSON_CreateNumber((double)ntok[k]));
            }
            cJSON_AddBoolToObject(d, "acc", best == gold);
            cJSON_AddBoolToObject(d, "acc_norm", bestn == gold);
            cJSON_AddItemToArray(details, d);
        }
        for (int k = 0; k < nc; k++) free(ch[k]);
        free(ch);
        free(ctx);
        if (p->progress) p->progress(p->progress_user, (uint64_t)(i + 1), (uint64_t)N);
    }
    if (!rc) {
        double m;
        double se = eval_mean_stderr(acc, N, &m);
        eval_add_metric(r, "acc", m, se);
        se = eval_mean_stderr(accn, N, &m);
        eval_add_metric(r, "acc_norm", m, se);
        r->n_items = N;
        snprintf(r->scoring, sizeof r->scoring, "%d-shot; acc: argmax of sum log p(choice | context); acc_norm: of "
                 "that sum / choice %s; split: %s", r->shots, t->norm_tokens ? "tokens" : "bytes",
                 t->split_common ? "after the choices' common token prefix (llama.cpp --hellaswag)"
                                 : "context tokens | rest (lm-evaluation-harness)");
        r->details_json = cJSON_PrintUnformatted(details);
    }
    cJSON_Delete(details);
    free(acc);
    free(accn);
    return rc;
}

int eval_run_loglikelihood(eval_scorer *s, const lmc_task *t, const lmc_eval_params *p, lmc_eval_result *r) {
    int64_t N = p->limit > 0 ? LMC_MIN(p->limit, t->data.n) : t->data.n;
    double *acc = calloc((size_t)N + 1, sizeof(double)), *lls = calloc((size_t)N + 1, sizeof(double));
    cJSON *details = cJSON_CreateArray();
    int rc = acc && lls && details ? LMC_OK : lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    char what[600];
    snprintf(what, sizeof what, "%s: field 'target'", t->path);
    for (int64_t i = 0; i < N && !rc; i++) {
        const cJSON *item = t->data.items[i];
        char *ctx = eval_build_context(t, i, p->shots);
        char *tg = ctx ? eval_render(t->target, item, NULL, what) : NULL;
        int32_t *ct, *co;
        int64_t nct, nco;
        bool greedy = false;
        if (!ctx || !tg) rc = LMC_ERR_FORMAT;
        else if (!(rc = split_context(s, ctx, tg, &ct, &nct, &co, &nco))) {
            rc = eval_score(s, ct, nct, co, nco, &lls[i], &greedy, NULL);
            free(ct);
        }
        if (!rc) {
            acc[i] = greedy;
            cJSON *d = cJSON_CreateObject();
            cJSON_AddNumberToObject(d, "item", (double)i);
            cJSON_AddStringToObject(d, "target", tg);
            cJSON_AddNumberToObject(d, "loglikelihood", lls[i]);
            cJSON_AddBoolToObject(d, "greedy", greedy);
            cJSON_AddItemToArray(details, d);
        }
        free(ctx);
        free(tg);
        if (p->progress) p->progress(p->progress_user, (uint64_t)(i + 1), (uint64_t)N);
    }
    if (!rc) {
        double m, mll;
        double se = eval_mean_stderr(acc, N, &m);
        eval_add_metric(r, "acc", m, se);
        double sell = eval_mean_stderr(lls, N, &mll);
        eval_add_metric(r, "ppl", exp(-mll), exp(-mll) * sell); /* delta method */
        r->n_items = N;
        snprintf(r->scoring, sizeof r->scoring, "%d-shot; acc: the target is the greedy continuation; ppl: "
                 "exp(-mean log p(target | context))", r->shots);
        r->details_json = cJSON_PrintUnformatted(details);
    }
    cJSON_Delete(details);
    free(acc);
    free(lls);
    return rc;
}
