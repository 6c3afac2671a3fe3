/* bleu.c — corpus and sentence BLEU with sacreBLEU's statistics and smoothing:
 * clipped n-gram matches against the per-n-gram maximum over the references, the
 * closest reference length (ties: the shorter) for the brevity penalty, and the
 * smoothing methods of Chen & Cherry (2014) as sacreBLEU numbers them. */
#include "metrics-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *TOK_NAMES[] = {"13a", "none", "intl", "char"};
static const char *SMOOTH_NAMES[] = {"exp", "none", "floor", "add-k"};

lmc_bleu_params lmc_bleu_default_params(void) {
    lmc_bleu_params p = {LMC_BLEU_TOK_13A, LMC_BLEU_SMOOTH_EXP, -1.0, false, false, 4};
    return p;
}

lmc_bleu_params lmc_bleu_sentence_default_params(void) {
    lmc_bleu_params p = lmc_bleu_default_params();
    p.effective_order = true;
    return p;
}

const char *lmc_bleu_tokenizer_name(lmc_bleu_tokenizer t) {
    return (unsigned)t < 4 ? TOK_NAMES[t] : NULL;
}
int lmc_bleu_tokenizer_from_name(const char *name) {
    for (int i = 0; name && i < 4; i++)
        if (strcmp(name, TOK_NAMES[i]) == 0) return i;
    return -1;
}
const char *lmc_bleu_smooth_name(lmc_bleu_smooth s) {
    return (unsigned)s < 4 ? SMOOTH_NAMES[s] : NULL;
}
int lmc_bleu_smooth_from_name(const char *name) {
    for (int i = 0; name && i < 4; i++)
        if (strcmp(name, SMOOTH_NAMES[i]) == 0) return i;
    return -1;
}

static double smooth_value(const lmc_bleu_params *p) {
    if (p->smooth_value >= 0) return p->smooth_value;
    return p->smooth == LMC_BLEU_SMOOTH_FLOOR ? 0.1 : p->smooth == LMC_BLEU_SMOOTH_ADD_K ? 1.0 : 0.0;
}

static int check_params(const lmc_bleu_params *p) {
    if (!p) return lmc_set_error(LMC_ERR_INVALID_ARG, "BLEU: no parameters");
    if ((unsigned)p->tokenize > LMC_BLEU_TOK_CHAR)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "BLEU: unknown tokenizer %d", (int)p->tokenize);
    if ((unsigned)p->smooth > LMC_BLEU_SMOOTH_ADD_K)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "BLEU: unknown smoothing %d", (int)p->smooth);
    if (p->max_order < 1 || p->max_order > LMC_BLEU_MAX_ORDER)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "BLEU: max order %d is not in 1..%d", p->max_order,
                             LMC_BLEU_MAX_ORDER);
    return LMC_OK;
}

/* ---- token interning: every distinct token string gets an id ----------------- */

typedef struct interner {
    char **keys;  /* slot -> token (owned) */
    int32_t *ids; /* slot -> id             */
    size_t cap, n;
} interner;

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static int intern_grow(interner *t) {
    size_t nc = t->cap ? t->cap * 2 : 1024;
    char **keys = calloc(nc, sizeof *keys);
    int32_t *ids = calloc(nc, sizeof *ids);
    if (!keys || !ids) {
        free(keys);
        free(ids);
        return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->keys[i]) continue;
        size_t j = hash_bytes(t->keys[i], strlen(t->keys[i])) & (nc - 1);
        while (keys[j]) j = (j + 1) & (nc - 1);
        keys[j] = t->keys[i];
        ids[j] = t->ids[i];
    }
    free(t->keys);
    free(t->ids);
    t->keys = keys;
    t->ids = ids;
    t->cap = nc;
    return LMC_OK;
}

static int32_t intern(interner *t, const char *s, size_t n) {
    if ((t->n + 1) * 2 > t->cap && intern_grow(t)) return -1;
    size_t j = hash_bytes(s, n) & (t->cap - 1);
    while (t->keys[j]) {
        if (strlen(t->keys[j]) == n && memcmp(t->keys[j], s, n) == 0) return t->ids[j];
        j = (j + 1) & (t->cap - 1);
    }
    char *k = malloc(n + 1);
    if (!k) return lmc_set_error(LMC_ERR_NOMEM, "out of memory"), -1;
    memcpy(k, s, n);
    k[n] = 0;
    t->keys[j] = k;
    t->ids[j] = (int32_t)t->n++;
    return t->ids[j];
}

static void intern_free(interner *t) {
    for (size_t i = 0; i < t->cap; i++) free(t->keys[i]);
    free(t->keys);
    free(t->ids);
}

/* ---- n-gram statistics of one segment ----------------------------------------- */

typedef struct ngram {
    int32_t ids[LMC_BLEU_MAX_ORDER];
    int32_t n;     /* order */
    int32_t count;
} ngram;

static int ngram_cmp(const void *a, const void *b) {
    const ngram *x = a, *y = b;
    if (x->n != y->n) return x->n < y->n ? -1 : 1;
    for (int i = 0; i < x->n; i++)
        if (x->ids[i] != y->ids[i]) return x->ids[i] < y->ids[i] ? -1 : 1;
    return 0;
}

/* Scratch buffers reused across segments. */
typedef struct work {
    interner words;
    int32_t *toks;
    size_t toks_cap;
    ngram *a, *b; /* n-gram lists */
    size_t a_cap, b_cap;
} work;

static int reserve(void **p, size_t *cap, size_t need, size_t elt) {
    if (need <= *cap) return LMC_OK;
    size_t nc = *cap ? *cap : 256;
    while (nc < need) nc *= 2;
    void *q = realloc(*p, nc * elt);
    if (!q) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    *p = q;
    *cap = nc;
    return LMC_OK;
}

/* Tokenizes text into w->toks; returns the token count or a negative error. */
static int64_t tokens_of(const lmc_bleu_params *p, work *w, const char *text) {
    char *tok = NULL;
    int rc = lmc_bleu_tokenize(p, text, strlen(text), &tok);
    if (rc) return rc;
    int64_t n = 0;
    size_t len = strlen(tok);
    for (size_t i = 0; i < len;) {
        size_t e = i;
        while (e < len && tok[e] != ' ') e++;
        if (reserve((void **)&w->toks, &w->toks_cap, (size_t)n + 1, sizeof(int32_t))) {
            free(tok);
            return LMC_ERR_NOMEM;
        }
        int32_t id = intern(&w->words, tok + i, e - i);
        if (id < 0) {
            free(tok);
            return LMC_ERR_NOMEM;
        }
        w->toks[n++] = id;
        i = e + 1;
    }
    free(tok);
    return n;
}

/* Appends the counted n-grams (orders 1..max) of toks[0..n) to *list at *len. */
static int add_ngrams(const int32_t *toks, int64_t n, int max_order, ngram **list, size_t *cap, size_t *len) {
    size_t start = *len;
    for (int k = 1; k <= max_order; k++) {
        for (int64_t i = 0; i + k <= n; i++) {
            if (reserve((void **)list, cap, *len + 1, sizeof(ngram))) return LMC_ERR_NOMEM;
            ngram *g = &(*list)[(*len)++];
            memset(g, 0, sizeof *g);
            g->n = k;
            memcpy(g->ids, toks + i, (size_t)k * sizeof(int32_t));
            g->count = 1;
        }
    }
    /* sort the new part and merge equal n-grams into counts */
    ngram *base = *list + start;
    size_t m = *len - start, out = 0;
    if (m > 1) qsort(base, m, sizeof(ngram), ngram_cmp);
    for (size_t i = 0; i < m; i++) {
        if (out && ngram_cmp(&base[out - 1], &base[i]) == 0) base[out - 1].count += base[i].count;
        else base[out++] = base[i];
    }
    *len = start + out;
    return LMC_OK;
}

/* Sufficient statistics of one segment: [hyp_len, ref_len, correct[k], total[k]]. */
typedef struct seg_stats {
    int64_t hyp_len, ref_len;
    int64_t correct[LMC_BLEU_MAX_ORDER], total[LMC_BLEU_MAX_ORDER];
} seg_stats;

static int segment_stats(const lmc_bleu_params *p, work *w, const char *hyp, const char *const *refs,
                         size_t n_refs, seg_stats *st) {
    memset(st, 0, sizeof *st);
    /* references: per n-gram, the largest count in any one reference */
    size_t na = 0;
    int64_t closest = -1, closest_diff = -1;
    int64_t hyp_len = tokens_of(p, w, hyp);
    if (hyp_len < 0) return (int)hyp_len;
    size_t nb = 0;
    if (add_ngrams(w->toks, hyp_len, p->max_order, &w->b, &w->b_cap, &nb)) return LMC_ERR_NOMEM;
    for (size_t r = 0; r < n_refs; r++) {
        if (!refs[r]) continue;
        int64_t rl = tokens_of(p, w, refs[r]);
        if (rl < 0) return (int)rl;
        int64_t diff = llabs(hyp_len - rl);
        if (closest_diff < 0 || diff < closest_diff) closest_diff = diff, closest = rl;
        else if (diff == closest_diff && rl < closest) closest = rl;
        if (add_ngrams(w->toks, rl, p->max_order, &w->a, &w->a_cap, &na)) return LMC_ERR_NOMEM;
    }
    /* merge the references' lists: max count per n-gram */
    if (na > 1) qsort(w->a, na, sizeof(ngram), ngram_cmp);
    size_t m = 0;
    for (size_t i = 0; i < na; i++) {
        if (m && ngram_cmp(&w->a[m - 1], &w->a[i]) == 0) {
            if (w->a[i].count > w->a[m - 1].count) w->a[m - 1].count = w->a[i].count;
        } else {
            w->a[m++] = w->a[i];
        }
    }
    /* clipped matches: both lists are sorted */
    size_t i = 0, j = 0;
    for (; i < nb; i++) {
        const ngram *h = &w->b[i];
        st->total[h->n - 1] += h->count;
        while (j < m && ngram_cmp(&w->a[j], h) < 0) j++;
        if (j < m && ngram_cmp(&w->a[j], h) == 0)
            st->correct[h->n - 1] += h->count < w->a[j].count ? h->count : w->a[j].count;
    }
    st->hyp_len = hyp_len;
    st->ref_len = closest;
    return LMC_OK;
}

static void work_free(work *w) {
    intern_free(&w->words);
    free(w->toks);
    free(w->a);
    free(w->b);
}

/* sacreBLEU's compute_bleu on summed statistics. */
static void compute_bleu(const lmc_bleu_params *p, const seg_stats *s, lmc_bleu_score *out) {
    int N = p->max_order;
    double k = smooth_value(p);
    out->max_order = N;
    out->sys_len = s->hyp_len;
    out->ref_len = s->ref_len;
    out->ratio = s->ref_len ? (double)s->hyp_len / (double)s->ref_len : 0.0;
    out->bp = 1.0;
    if (s->hyp_len < s->ref_len)
        out->bp = s->hyp_len > 0 ? exp(1.0 - (double)s->ref_len / (double)s->hyp_len) : 0.0;
    bool any = false;
    for (int n = 0; n < N; n++) {
        out->counts[n] = (double)s->correct[n];
        out->totals[n] = (double)s->total[n];
        out->precisions[n] = 0.0;
        any |= s->correct[n] != 0;
    }
    if (!any) {
        out->score = 0.0;
        return;
    }
    double smooth_mteval = 1.0;
    int eff = N;
    for (int n = 1; n <= N; n++) {
        if (p->smooth == LMC_BLEU_SMOOTH_ADD_K && n > 1) {
            out->counts[n - 1] += k;
            out->totals[n - 1] += k;
        }
        if (out->totals[n - 1] == 0) break;
        if (p->effective_order) eff = n;
        if (out->counts[n - 1] == 0) {
            if (p->smooth == LMC_BLEU_SMOOTH_EXP) {
                smooth_mteval *= 2;
                out->precisions[n - 1] = 100.0 / (smooth_mteval * out->totals[n - 1]);
            } else if (p->smooth == LMC_BLEU_SMOOTH_FLOOR) {
                out->precisions[n - 1] = 100.0 * k / out->totals[n - 1];
            }
        } else {
            out->precisions[n - 1] = 100.0 * out->counts[n - 1] / out->totals[n - 1];
        }
    }
    double sum = 0.0;
    for (int n = 0; n < eff; n++) sum += out->precisions[n] == 0.0 ? -9999999999.0 : log(out->precisions[n]);
    out->score = out->bp * exp(sum / eff);
}

int lmc_bleu_corpus(const lmc_bleu_params *p, const char *const *hyps, size_t n,
                    const char *const *const *refs, size_t n_refs, lmc_bleu_score *out) {
    int rc = check_params(p);
    if (rc) return rc;
    if (!out || (n && (!hyps || !refs))) return lmc_set_error(LMC_ERR_INVALID_ARG, "BLEU: NULL argument");
    if (n == 0) return lmc_set_error(LMC_ERR_INVALID_ARG, "BLEU: no segments to score");
    if (n_refs == 0) return lmc_set_error(LMC_ERR_INVALID_ARG, "BLEU: no references");
    memset(out, 0, sizeof *out);
    work w = {0};
    seg_stats sum = {0};
    const char **seg_refs = malloc(n_refs * sizeof *seg_refs);
    if (!seg_refs) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    int nrefs_seen = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        int have = 0;
        for (size_t r = 0; r < n_refs; r++) {
            seg_refs[r] = refs[r] ? refs[r][i] : NULL;
            have += seg_refs[r] != NULL;
        }
        if (!hyps[i]) {
            rc = lmc_set_error(LMC_ERR_INVALID_ARG, "BLEU: hypothesis %zu is NULL", i + 1);
            break;
        }
        if (!have) {
            rc = lmc_set_error(LMC_ERR_INVALID_ARG, "BLEU: segment %zu has no reference", i + 1);
            break;
        }
        nrefs_seen = i == 0 ? have : (nrefs_seen == have ? have : -1);
        seg_stats st;
        rc = segment_stats(p, &w, hyps[i], seg_refs, n_refs, &st);
        if (rc) {
            {
                char msg[512];
                snprintf(msg, sizeof msg, "%s", lmc_last_error());
                lmc_set_error(rc, "BLEU: segment %zu: %s", i + 1, msg);
            }
            break;
        }
        sum.hyp_len += st.hyp_len;
        sum.ref_len += st.ref_len;
        for (int k = 0; k < p->max_order; k++) {
            sum.correct[k] += st.correct[k];
            sum.total[k] += st.total[k];
        }
    }
    free(seg_refs);
    work_free(&w);
    if (rc) return rc;
    compute_bleu(p, &sum, out);
    out->n_refs = nrefs_seen;
    return LMC_OK;
}

int lmc_bleu_sentence(const lmc_bleu_params *p, const char *hyp, const char *const *refs, size_t n_refs,
                      lmc_bleu_score *out) {
    if (!refs || n_refs == 0) return lmc_set_error(LMC_ERR_INVALID_ARG, "BLEU: no references");
    const char *const **cols = malloc(n_refs * sizeof *cols);
    if (!cols) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    for (size_t r = 0; r < n_refs; r++) cols[r] = &refs[r];
    int rc = lmc_bleu_corpus(p, &hyp, 1, cols, n_refs, out);
    free(cols);
    return rc;
}

int lmc_bleu_signature(const lmc_bleu_params *p, int n_refs, char *buf, size_t cap) {
    int rc = check_params(p);
    if (rc) return rc;
    char nrefs[32], smooth[48];
    if (n_refs < 0) snprintf(nrefs, sizeof nrefs, "var");
    else snprintf(nrefs, sizeof nrefs, "%d", n_refs);
    if (p->smooth == LMC_BLEU_SMOOTH_FLOOR || p->smooth == LMC_BLEU_SMOOTH_ADD_K)
        snprintf(smooth, sizeof smooth, "%s[%.2f]", SMOOTH_NAMES[p->smooth], smooth_value(p));
    else snprintf(smooth, sizeof smooth, "%s", SMOOTH_NAMES[p->smooth]);
    int n = snprintf(buf, cap, "nrefs:%s|case:%s|eff:%s|tok:%s|smooth:%s|version:%s", nrefs,
                     p->lowercase ? "lc" : "mixed", p->effective_order ? "yes" : "no", TOK_NAMES[p->tokenize],
                     smooth, LMC_SACREBLEU_VERSION);
    if (n < 0 || (size_t)n >= cap) return lmc_set_error(LMC_ERR_LIMIT, "BLEU signature: buffer too small");
    return n;
}

int lmc_bleu_format(const lmc_bleu_score *s, char *buf, size_t cap) {
    if (!s || !buf) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_bleu_format: NULL argument");
    char prec[LMC_BLEU_MAX_ORDER * 24] = "";
    size_t k = 0;
    for (int n = 0; n < s->max_order && n < LMC_BLEU_MAX_ORDER; n++)
        k += (size_t)snprintf(prec + k, sizeof prec - k, "%s%.1f", n ? "/" : "", s->precisions[n]);
    int n = snprintf(buf, cap, "BLEU = %.2f %s (BP = %.3f ratio = %.3f hyp_len = %lld ref_len = %lld)", s->score,
                     prec, s->bp, s->ratio, (long long)s->sys_len, (long long)s->ref_len);
    if (n < 0 || (size_t)n >= cap) return lmc_set_error(LMC_ERR_LIMIT, "BLEU report: buffer too small");
    return n;
}
