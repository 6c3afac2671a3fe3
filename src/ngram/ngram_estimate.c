/* ngram_estimate.c — from counts to a back-off model (ARPA form) with one of five
 * smoothing methods.
 *
 * Every method fills, order by order (1 first), p(w | h) for each counted n-gram h w
 * and the back-off weight bow(h) that scales the lower-order distribution for words
 * never seen after h, so that p(. | h) sums to 1 over the vocabulary without <s>:
 *   interpolated (mkn, kn, witten-bell):  p(w|h) = u(w|h) + gamma(h) p(w|h'),
 *       bow(h) = gamma(h), where h' drops the oldest word of h;
 *   back-off (katz, add-k):  p(w|h) = discounted estimate for seen w,
 *       bow(h) = (1 - sum_seen p(w|h)) / (1 - sum_seen p(w|h')).
 * Katz discounts counts 1..5 with Good-Turing (Katz 1987); a context whose
 * continuations all have larger counts would leave nothing for unseen words, so it
 * scales its seen words by c/(c+T) (T distinct continuations), as Witten-Bell does.
 * Unigrams are interpolated with the uniform distribution over the vocabulary by each
 * method's left-over mass, so unseen words (<unk> with --unk) get probability.
 *
 * Kneser-Ney uses adjusted counts (Chen & Goodman 1998; Heafield et al. 2013): the
 * highest order and n-grams starting with <s> keep raw counts, the others count the
 * distinct words seen before them. Discounts come from the count-of-counts t_k of
 * each order: Y = t1/(t1 + 2 t2), D_k = k - (k+1) Y t_{k+1}/t_k (modified: k = 1,2,3+;
 * plain KN: D = Y). When the counts cannot support them (tiny corpora) the discounts
 * fall back to KenLM's defaults 0.5 / 1 / 1.5. */
#include "ngram-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *SMOOTH_NAMES[] = {"mkn", "kn", "add-k", "katz", "witten-bell"};

lmc_ngram_params lmc_ngram_default_params(void) {
    lmc_ngram_params p = {3, LMC_NGRAM_MKN, 1.0, false};
    return p;
}

const char *lmc_ngram_smoothing_name(lmc_ngram_smoothing s) {
    return (unsigned)s < 5 ? SMOOTH_NAMES[s] : NULL;
}

int lmc_ngram_smoothing_from_name(const char *name) {
    for (int i = 0; name && i < 5; i++)
        if (strcmp(name, SMOOTH_NAMES[i]) == 0) return i;
    if (name && strcmp(name, "wb") == 0) return LMC_NGRAM_WITTEN_BELL;
    return -1;
}

static double to_log10(double p) {
    return p > 0 ? log10(p) : NG_LOG_ZERO;
}
static double from_log10(double l) {
    return l <= NG_LOG_ZERO ? 0.0 : pow(10.0, l);
}

/* Discounts for counts 1, 2, 3+ (D[1..3]) from the counts a[0..n) (entries with
 * skip[i] set are left out). */
static void kn_discounts(const double *a, size_t n, int32_t skip, bool modified, double D[4]) {
    double t[5] = {0};
    for (size_t i = 0; i < n; i++) {
        if ((int32_t)i == skip) continue;
        double c = a[i];
        if (c >= 1 && c <= 4 && c == floor(c)) t[(int)c] += 1;
    }
    double Y = t[1] + 2 * t[2] > 0 ? t[1] / (t[1] + 2 * t[2]) : 0;
    D[0] = 0;
    if (!modified) {
        double d = (t[1] > 0 && Y > 0 && Y <= 1) ? Y : 0.5;
        D[1] = D[2] = D[3] = d;
        return;
    }
    bool ok = t[1] > 0 && t[2] > 0 && t[3] > 0 && t[4] > 0;
    if (ok) {
        D[1] = 1 - 2 * Y * t[2] / t[1];
        D[2] = 2 - 3 * Y * t[3] / t[2];
        D[3] = 3 - 4 * Y * t[4] / t[3];
        ok = D[1] > 0 && D[1] < 1 && D[2] > 0 && D[2] < 2 && D[3] > 0 && D[3] < 3;
    }
    if (!ok) D[1] = 0.5, D[2] = 1.0, D[3] = 1.5;
}

static double kn_d(const double D[4], double a) {
    if (a <= 0) return 0;
    double d = D[a >= 3 ? 3 : (int)a];
    return d < a ? d : a;
}

/* Katz: Good-Turing discount ratios d[r] for r = 1..5 (d = 1 above). */
#define KATZ_K 5
static void katz_discounts(const double *c, size_t n, int32_t skip, double d[KATZ_K + 2]) {
    double nr[KATZ_K + 3] = {0};
    for (size_t i = 0; i < n; i++) {
        if ((int32_t)i == skip) continue;
        if (c[i] >= 1 && c[i] <= KATZ_K + 1) nr[(int)c[i]] += 1;
    }
    for (int r = 0; r <= KATZ_K + 1; r++) d[r] = 1.0;
    if (nr[1] <= 0) return;
    double common = (KATZ_K + 1) * nr[KATZ_K + 1] / nr[1];
    if (1 - common <= 0) return;
    for (int r = 1; r <= KATZ_K; r++) {
        if (nr[r] <= 0) continue;
        double rstar = (r + 1) * nr[r + 1] / nr[r];
        double dr = (rstar / r - common) / (1 - common);
        if (dr > 0 && dr <= 1) d[r] = dr;
    }
}

static double katz_d(const double d[KATZ_K + 2], double c) {
    return c >= 1 && c <= KATZ_K ? d[(int)c] : 1.0;
}

lmc_ngram_lm *lmc_ngram_estimate(const lmc_ngram_counts *c, const lmc_ngram_params *p) {
    if (!c || !p) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "lmc_ngram_estimate: NULL argument");
    if (p->order < 1 || p->order > c->order)
        return lmc_set_error_null(LMC_ERR_INVALID_ARG, "model order %d: the counts go up to order %d", p->order,
                                  c->order);
    if ((unsigned)p->smoothing > LMC_NGRAM_WITTEN_BELL)
        return lmc_set_error_null(LMC_ERR_INVALID_ARG, "unknown smoothing %d", (int)p->smoothing);
    if (p->smoothing == LMC_NGRAM_ADD_K && !(p->k > 0))
        return lmc_set_error_null(LMC_ERR_INVALID_ARG, "add-k needs k > 0 (got %g)", p->k);
    if (c->sentences == 0) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "empty corpus: no sentences to train on");

    const int N = p->order;
    const lmc_ngram_smoothing sm = p->smoothing;
    const bool kn = sm == LMC_NGRAM_MKN || sm == LMC_NGRAM_KN;
    lmc_ngram_lm *lm = ng_lm_alloc(N);
    if (!lm) return NULL;
    double *a[LMC_NGRAM_MAX_ORDER] = {0};
    uint32_t *ctx = NULL, *low = NULL;
    double *st = NULL; /* per context: denom, n1, n2, n3+, distinct, sum_p, sum_low, scale */
    int rc = LMC_OK;

    /* vocabulary and tables (same ids, same entry order) */
    for (int32_t i = 2; i < c->vocab.n && rc == LMC_OK; i++)
        if (ng_vocab_add(&lm->vocab, c->vocab.words[i], strlen(c->vocab.words[i])) != i) rc = LMC_ERR_NOMEM;
    int32_t unk = ng_vocab_find(&lm->vocab, "<unk>", 5);
    if (rc == LMC_OK && unk < 0 && p->unk) {
        unk = ng_vocab_add(&lm->vocab, "<unk>", 5);
        if (unk < 0) rc = LMC_ERR_NOMEM;
    }
    lm->unk = unk;
    for (int n = 0; n < N && rc == LMC_OK; n++) {
        const ng_table *src = &c->t[n];
        ng_table *t = &lm->t[n];
        size_t extra = n == 0 ? (size_t)lm->vocab.n : 0; /* room for zero-count words */
        size_t cap = src->n_entries + extra + 1;
        free(t->slots);
        t->ids = malloc(cap * (size_t)(n + 1) * sizeof(int32_t));
        t->count = malloc(cap * sizeof(int64_t));
        t->slots = malloc(src->n_slots * sizeof(uint32_t));
        t->prob = calloc(cap, sizeof(double));
        t->bow = calloc(cap, sizeof(double));
        a[n] = calloc(cap, sizeof(double));
        if (!t->ids || !t->count || !t->slots || !t->prob || !t->bow || !a[n]) {
            rc = lmc_set_error(LMC_ERR_NOMEM, "out of memory (model of %zu %d-grams)", src->n_entries, n + 1);
            break;
        }
        if (src->n_entries) {
            memcpy(t->ids, src->ids, src->n_entries * (size_t)(n + 1) * sizeof(int32_t));
            memcpy(t->count, src->count, src->n_entries * sizeof(int64_t));
        }
        memcpy(t->slots, src->slots, src->n_slots * sizeof(uint32_t));
        t->n_entries = src->n_entries;
        t->n_slots = src->n_slots;
        t->cap = cap;
    }
    /* every vocabulary word is a unigram (the uniform share reaches words with no count) */
    for (int32_t w = 0; w < lm->vocab.n && rc == LMC_OK; w++)
        if (ng_table_find(&lm->t[0], &w) < 0) {
            int64_t e = ng_table_insert(&lm->t[0], &w);
            if (e < 0) rc = LMC_ERR_NOMEM;
            else lm->t[0].count[e] = 0;
        }
    if (rc) goto fail;

    /* counts used by the estimates: raw, or Kneser-Ney's adjusted counts */
    for (int n = 0; n < N; n++) {
        ng_table *t = &lm->t[n];
        for (size_t e = 0; e < t->n_entries; e++)
            a[n][e] = (!kn || n == N - 1 || ng_entry(t, e)[0] == NG_BOS) ? (double)t->count[e] : 0.0;
    }
    if (kn) {
        for (int n = 1; n < N; n++) { /* each (n+1)-gram v x adds one left context to x */
            ng_table *hi = &lm->t[n], *lo = &lm->t[n - 1];
            for (size_t e = 0; e < hi->n_entries; e++) {
                int64_t x = ng_table_find(lo, ng_entry(hi, e) + 1);
                if (x < 0) {
                    rc = lmc_set_error(LMC_ERR_INTERNAL, "n-gram suffix missing from the counts");
                    goto fail;
                }
                a[n - 1][x] += 1;
            }
        }
    }

    /* ---- order 1 ---- */
    {
        ng_table *t = &lm->t[0];
        int64_t bos = ng_table_find(t, &(int32_t){NG_BOS});
        double V = (double)(lm->vocab.n - 1), denom = 0, types = 0, D[4], d[KATZ_K + 2];
        for (size_t e = 0; e < t->n_entries; e++)
            if ((int64_t)e != bos) denom += a[0][e], types += a[0][e] > 0;
        if (kn) kn_discounts(a[0], t->n_entries, (int32_t)bos, sm == LMC_NGRAM_MKN, D);
        if (sm == LMC_NGRAM_KATZ) katz_discounts(a[0], t->n_entries, (int32_t)bos, d);
        double mass = 0, left;
        for (size_t e = 0; e < t->n_entries; e++) {
            if ((int64_t)e == bos) continue;
            double x = a[0][e], u;
            if (kn) u = (x - kn_d(D, x)) / denom;
            else if (sm == LMC_NGRAM_WITTEN_BELL) u = x / (denom + types);
            else if (sm == LMC_NGRAM_ADD_K) u = (x + p->k) / (denom + p->k * V);
            else u = katz_d(d, x) * x / denom;
            t->prob[e] = u;
            mass += u;
        }
        if (sm == LMC_NGRAM_KATZ && 1.0 - mass < 1e-9) { /* no Good-Turing mass left: see above */
            double f = denom / (denom + types);
            for (size_t e = 0; e < t->n_entries; e++) t->prob[e] *= f;
            mass *= f;
        }
        left = sm == LMC_NGRAM_WITTEN_BELL ? types / (denom + types) : 1.0 - mass;
        if (sm == LMC_NGRAM_ADD_K || left < 0) left = 0;
        for (size_t e = 0; e < t->n_entries; e++)
            t->prob[e] = (int64_t)e == bos ? NG_LOG_ZERO : to_log10(t->prob[e] + left / V);
    }

    /* ---- orders 2..N ---- */
    for (int n = 1; n < N; n++) {
        ng_table *t = &lm->t[n], *lo = &lm->t[n - 1];
        size_t ne = t->n_entries, nc = lo->n_entries;
        free(ctx);
        free(low);
        free(st);
        ctx = malloc(ne * sizeof *ctx);
        low = malloc(ne * sizeof *low);
        st = calloc(nc * 8, sizeof *st);
        if (!ctx || !low || !st) {
            rc = lmc_set_error(LMC_ERR_NOMEM, "out of memory (order %d)", n + 1);
            goto fail;
        }
        for (size_t e = 0; e < ne; e++) {
            const int32_t *ids = ng_entry(t, e);
            int64_t h = ng_table_find(lo, ids), l = ng_table_find(lo, ids + 1);
            if (h < 0 || l < 0) {
                rc = lmc_set_error(LMC_ERR_INTERNAL, "n-gram prefix or suffix missing from the counts");
                goto fail;
            }
            ctx[e] = (uint32_t)h;
            low[e] = (uint32_t)l;
            double x = a[n][e];
            double *s = st + 8 * (size_t)h;
            s[0] += x;
            if (x >= 1) s[x >= 3 ? 3 : (int)x] += 1; /* n1, n2, n3+ */
            s[4] += x > 0;
        }
        double D[4], d[KATZ_K + 2];
        if (kn) kn_discounts(a[n], ne, -1, sm == LMC_NGRAM_MKN, D);
        if (sm == LMC_NGRAM_KATZ) katz_discounts(a[n], ne, -1, d);
        double V = (double)(lm->vocab.n - 1);
        for (size_t e = 0; e < ne; e++) {
            double *s = st + 8 * (size_t)ctx[e];
            double x = a[n][e], den = s[0], pl = from_log10(lo->prob[low[e]]), pr;
            if (kn) {
                double gamma = (D[1] * s[1] + D[2] * s[2] + D[3] * s[3]) / den;
                pr = (x - kn_d(D, x)) / den + gamma * pl;
            } else if (sm == LMC_NGRAM_WITTEN_BELL) {
                pr = (x + s[4] * pl) / (den + s[4]);
            } else if (sm == LMC_NGRAM_ADD_K) {
                pr = (x + p->k) / (den + p->k * V);
            } else {
                pr = katz_d(d, x) * x / den;
            }
            s[5] += pr;
            s[6] += pl;
            t->prob[e] = to_log10(pr);
        }
        if (sm == LMC_NGRAM_KATZ) {
            /* Good-Turing leaves no mass where every continuation was seen more than
             * KATZ_K times; such contexts keep Witten-Bell's escape mass T/(c+T) for
             * the words never seen after them instead of giving them probability 0 */
            for (size_t h = 0; h < nc; h++) {
                double *s = st + 8 * h;
                if (s[0] > 0 && 1.0 - s[5] < 1e-9) {
                    s[7] = s[0] / (s[0] + s[4]);
                    s[5] *= s[7];
                }
            }
            for (size_t e = 0; e < ne; e++) {
                double f = st[8 * (size_t)ctx[e] + 7];
                if (f > 0 && t->prob[e] > NG_LOG_ZERO) t->prob[e] += log10(f);
            }
        }
        for (size_t h = 0; h < nc; h++) {
            double *s = st + 8 * h;
            if (s[0] <= 0) continue; /* never a context: bow stays log10(1) */
            double bow;
            if (kn) bow = (D[1] * s[1] + D[2] * s[2] + D[3] * s[3]) / s[0];
            else if (sm == LMC_NGRAM_WITTEN_BELL) bow = s[4] / (s[0] + s[4]);
            else {
                double num = 1.0 - s[5], den = 1.0 - s[6];
                bow = num <= 0 || den <= 1e-12 ? 0.0 : num / den;
            }
            lo->bow[h] = to_log10(bow);
        }
        if (!kn && sm != LMC_NGRAM_WITTEN_BELL) {
            /* back-off with nothing to back off to (every word the lower order can
             * produce after h' was seen after h): the seen words take all the mass */
            for (size_t e = 0; e < ne; e++) {
                double *s = st + 8 * (size_t)ctx[e];
                if (1.0 - s[6] <= 1e-12 && s[5] > 0 && s[5] < 1.0 && t->prob[e] > NG_LOG_ZERO)
                    t->prob[e] -= log10(s[5]);
            }
        }
    }
    free(ctx);
    free(low);
    free(st);
    for (int n = 0; n < N; n++) free(a[n]);
    return lm;
fail:
    free(ctx);
    free(low);
    free(st);
    for (int n = 0; n < N; n++) free(a[n]);
    lmc_ngram_free(lm);
    return NULL;
}
