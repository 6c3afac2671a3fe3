/* exact_match.c — generation tasks: greedy few-shot generation, then exact match of
 * the extracted answer (GSM8K) or corpus BLEU (translation, through the metrics
 * area's sacreBLEU-compatible lmc_bleu_corpus).
 *
 * Answer extraction: the spec's regex (group 1, first match), else "#### N", else the
 * last number in the text; both sides are normalised (commas, '$', spaces and a
 * trailing '.' removed). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "eval-impl.h"

#include <ctype.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* First (or last) match of re in text: group 1 if the pattern has one, else the
 * whole match. NULL if none; *err set on a bad pattern. */
static char *regex_find(const char *re, const char *text, bool last, int *err) {
    int ec;
    PCRE2_SIZE eo;
    *err = 0;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eo, NULL);
    if (!code) {
        char msg[256];
        pcre2_get_error_message(ec, (PCRE2_UCHAR *)msg, sizeof msg);
        *err = lmc_set_error(LMC_ERR_FORMAT, "regex '%s': %s at offset %zu", re, msg, (size_t)eo);
        return NULL;
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
    size_t len = strlen(text), off = 0;
    char *found = NULL;
    while (md && off <= len) {
        int n = pcre2_match(code, (PCRE2_SPTR)text, len, off, 0, md, NULL);
        if (n < 0) break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        int g = n > 1 && ov[2] != PCRE2_UNSET ? 1 : 0;
        free(found);
        found = strndup(text + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
        if (!last) break;
        off = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
    }
    pcre2_match_data_free(md);
    pcre2_code_free(code);
    return found;
}

char *eval_normalize_answer(const char *s) {
    size_t n = strlen(s), j = 0;
    char *o = malloc(n + 1);
    if (!o) return NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] != ',' && s[i] != '$' && !isspace((unsigned char)s[i])) o[j++] = s[i];
    while (j && o[j - 1] == '.') j--;
    o[j] = 0;
    return o;
}

char *eval_extract_answer(const char *text, const char *regex) {
    int err;
    char *a = NULL;
    if (regex) {
        a = regex_find(regex, text, false, &err);
        if (err) return NULL;
    }
    if (!a) a = regex_find("#### *(-?[$0-9.,]*[0-9])", text, false, &err);
    if (!a) a = regex_find("-?[$0-9.,]*[0-9]", text, true, &err);
    char *n = eval_normalize_answer(a ? a : "");
    free(a);
    return n;
}

int eval_run_generate(eval_scorer *s, const lmc_task *t, const lmc_eval_params *p, lmc_eval_result *r) {
    int64_t N = p->limit > 0 ? LMC_MIN(p->limit, t->data.n) : t->data.n;
    bool bleu = !strcmp(t->metric, "bleu");
    double *em = calloc((size_t)N + 1, sizeof(double));
    char **hyps = calloc((size_t)N + 1, sizeof(char *)), **refs = calloc((size_t)N + 1, sizeof(char *));
    cJSON *details = cJSON_CreateArray();
    int rc = em && hyps && refs && details ? LMC_OK : lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    /* Check the regexes once, so a bad one fails before any generation. */
    int err = 0;
    if (!rc && t->answer_regex) free(regex_find(t->answer_regex, "", false, &err));
    if (!rc && !err && t->answer_field_regex) free(regex_find(t->answer_field_regex, "", false, &err));
    if (err) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", lmc_last_error());
        rc = lmc_set_error(LMC_ERR_FORMAT, "%s: field 'answer_regex' / 'gold_regex': %s", t->path, msg);
    }
    int64_t done = 0;
    for (int64_t i = 0; i < N && !rc; i++) {
        const cJSON *item = t->data.items[i];
        char *ctx = eval_build_context(t, i, p->shots), *out = NULL, *ctx0 = NULL;
        int32_t *ids = NULL;
        int64_t n = 0;
        if (!ctx) rc = LMC_ERR_FORMAT;
        if (!rc) rc = eval_tokenize(s, ctx, true, &ids, &n);
        if (!rc) rc = eval_generate(s, ids, n, (const char *const *)t->stop, (size_t)t->n_stop, t->max_tokens, &out);
        free(ids);
        if (i == 0) ctx0 = ctx; /* kept for the details, to check the prompt */
        else free(ctx);
        if (rc) {
            free(ctx0);
            break;
        }
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(item, t->gold_field);
        if (!cJSON_IsString(g) && !cJSON_IsNumber(g)) {
            const cJSON *l = cJSON_GetObjectItemCaseSensitive(item, "_line");
            rc = lmc_set_error(LMC_ERR_FORMAT, "%s:%d: no text field '%s' (spec %s: field 'gold_field')", t->data_path,
                               cJSON_IsNumber(l) ? l->valueint : 0, t->gold_field, t->path);
            free(out);
            break;
        }
        char num[64];
        if (cJSON_IsNumber(g)) snprintf(num, sizeof num, "%.17g", g->valuedouble);
        const char *gold = cJSON_IsString(g) ? g->valuestring : num;
        cJSON *d = cJSON_CreateObject();
        cJSON_AddNumberToObject(d, "item", (double)i);
        if (ctx0) cJSON_AddStringToObject(d, "context", ctx0);
        free(ctx0);
        cJSON_AddStringToObject(d, "output", out);
        if (bleu) {
            /* sacreBLEU ignores trailing whitespace; leading too, for a generated line */
            char *h = out;
            while (isspace((unsigned char)*h)) h++;
            hyps[i] = strdup(h);
            refs[i] = strdup(gold);
            cJSON_AddStringToObject(d, "reference", gold);
        } else {
            char *pred = eval_extract_answer(out, t->answer_regex);
            char *gx = t->answer_field_regex ? regex_find(t->answer_field_regex, gold, false, &err) : NULL;
            char *gn = eval_normalize_answer(gx ? gx : gold);
            em[i] = pred && gn && !strcmp(pred, gn);
            cJSON_AddStringToObject(d, "extracted", pred ? pred : "");
            cJSON_AddStringToObject(d, "gold", gn ? gn : "");
            cJSON_AddBoolToObject(d, "exact_match", em[i] != 0);
            free(pred);
            free(gx);
            free(gn);
        }
        cJSON_AddItemToArray(details, d);
        free(out);
        done = i + 1;
        if (p->progress) p->progress(p->progress_user, (uint64_t)(i + 1), (uint64_t)N);
    }
    if (!rc) {
        r->n_items = N;
        if (bleu) {
            lmc_bleu_params bp = lmc_bleu_default_params();
            lmc_bleu_score sc;
            const char *const *rr = (const char *const *)refs;
            rc = lmc_bleu_corpus(&bp, (const char *const *)hyps, (size_t)N, &rr, 1, &sc);
            if (!rc) eval_add_metric(r, "bleu", sc.score, 0);
            char sig[200] = "";
            lmc_bleu_signature(&bp, 1, sig, sizeof sig);
            snprintf(r->scoring, sizeof r->scoring, "%d-shot greedy generation; corpus BLEU, sacreBLEU %s", r->shots, sig);
        } else {
            double m, se = eval_mean_stderr(em, N, &m);
            eval_add_metric(r, "exact_match", m, se);
            snprintf(r->scoring, sizeof r->scoring, "%d-shot greedy generation (max %lld tokens); exact match of the "
                     "answer: %s, else '#### N', else the last number", r->shots, (long long)t->max_tokens,
                     t->answer_regex ? t->answer_regex : "-");
        }
        if (!rc) r->details_json = cJSON_PrintUnformatted(details);
    }
    for (int64_t i = 0; i < done; i++) {
        free(hyps ? hyps[i] : NULL);
        free(refs ? refs[i] : NULL);
    }
    free(hyps);
    free(refs);
    free(em);
    cJSON_Delete(details);
    return rc;
}
