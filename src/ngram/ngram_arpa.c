/* ngram_arpa.c — reading and writing ARPA back-off language model files:
 *
 *   \data\
 *   ngram 1=<count>          one line per order
 *   ...
 *   \1-grams:
 *   <log10 p> <w1> [<log10 bow>]
 *   ...
 *   \2-grams:
 *   <log10 p> <w1> <w2> [<log10 bow>]
 *   ...
 *   \end\
 *
 * Fields are separated by tabs or spaces. Anything before \data\ is ignored (tools put
 * comments there). Every problem is reported with the file name and line number. */
#include "ngram-impl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lmc_ngram_write_arpa(const lmc_ngram_lm *lm, const char *path) {
    if (!lm || !path) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_ngram_write_arpa: NULL argument");
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "%s: path too long", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return lmc_set_error(LMC_ERR_IO, "%s: %s", tmp, strerror(errno));
    static char iobuf[1 << 16];
    setvbuf(f, iobuf, _IOFBF, sizeof iobuf);
    fprintf(f, "\n\\data\\\n");
    for (int n = 1; n <= lm->order; n++) fprintf(f, "ngram %d=%zu\n", n, lm->t[n - 1].n_entries);
    for (int n = 1; n <= lm->order; n++) {
        const ng_table *t = &lm->t[n - 1];
        fprintf(f, "\n\\%d-grams:\n", n);
        for (size_t e = 0; e < t->n_entries; e++) {
            const int32_t *ids = ng_entry(t, e);
            /* 9 significant digits keep a distribution's sum within ~1e-8 of 1 */
            fprintf(f, "%.9g", t->prob[e] <= NG_LOG_ZERO ? NG_LOG_ZERO : t->prob[e]);
            for (int i = 0; i < n; i++) {
                fputc(i ? ' ' : '\t', f);
                fputs(lm->vocab.words[ids[i]], f);
            }
            if (n < lm->order && t->bow[e] != 0.0) fprintf(f, "\t%.9g", t->bow[e]);
            fputc('\n', f);
        }
    }
    fprintf(f, "\n\\end\\\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        remove(tmp);
        return lmc_set_error(LMC_ERR_IO, "%s: write failed", tmp);
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return lmc_set_error(LMC_ERR_IO, "%s: %s", path, strerror(e));
    }
    return LMC_OK;
}

/* ---- reader --------------------------------------------------------------------- */

enum { ST_PREAMBLE, ST_COUNTS, ST_GRAMS, ST_END };

typedef struct reader {
    const char *path;
    lmc_ngram_lm *lm;
    int state;
    int order;                          /* from the header */
    int64_t expect[LMC_NGRAM_MAX_ORDER]; /* ngram n=count */
    int cur;                            /* order of the current section, 0 before any */
    int64_t seen;                       /* entries read in the current section */
    int next_section;                   /* sections must come in order 1, 2, ... */
    size_t pcap[LMC_NGRAM_MAX_ORDER];   /* room in each table's prob/bow arrays */
} reader;

static int bad(reader *r, int64_t lineno, const char *fmt, const char *detail) {
    return lmc_set_error(LMC_ERR_FORMAT, "%s:%lld: %s%s%s", r->path, (long long)lineno, fmt, detail ? ": " : "",
                         detail ? detail : "");
}

static bool parse_num(const char *s, size_t len, double *out) {
    char buf[64];
    if (len == 0 || len >= sizeof buf) return false;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end || errno == ERANGE) {
        if (*end == 0 && errno == ERANGE && v == 0) { /* underflow: a tiny probability */
            *out = NG_LOG_ZERO;
            return true;
        }
        return false;
    }
    if (isnan(v)) return false;
    *out = v;
    return true;
}

static int end_section(reader *r, int64_t lineno) {
    if (r->cur > 0 && r->seen != r->expect[r->cur - 1]) {
        char d[128];
        snprintf(d, sizeof d, "the header says %lld %d-grams, the section has %lld", (long long)r->expect[r->cur - 1],
                 r->cur, (long long)r->seen);
        return bad(r, lineno, "wrong number of n-grams", d);
    }
    return LMC_OK;
}

static int start_model(reader *r, int64_t lineno) {
    if (r->order == 0) return bad(r, lineno, "the \\data\\ section lists no 'ngram N=count' lines", NULL);
    for (int n = 0; n < r->order; n++)
        if (r->expect[n] < 0) {
            char d[64];
            snprintf(d, sizeof d, "no count for order %d", n + 1);
            return bad(r, lineno, "incomplete \\data\\ section", d);
        }
    r->lm = ng_lm_alloc(r->order);
    if (!r->lm) return LMC_ERR_NOMEM;
    for (int n = 0; n < r->order; n++) {
        ng_table *t = &r->lm->t[n];
        /* the header's counts are not trusted with memory (a 100-byte file may claim
         * billions): the arrays grow with the entries actually read */
        size_t cap = (size_t)(r->expect[n] < 1024 ? r->expect[n] + 1 : 1024);
        t->prob = calloc(cap, sizeof(double));
        t->bow = calloc(cap, sizeof(double));
        if (!t->prob || !t->bow) return lmc_set_error(LMC_ERR_NOMEM, "%s: out of memory", r->path);
        r->pcap[n] = cap;
    }
    return LMC_OK;
}

/* room for entry e in table n's prob/bow */
static int reserve_entry(reader *r, int n, size_t e) {
    if (e < r->pcap[n]) return LMC_OK;
    ng_table *t = &r->lm->t[n];
    size_t nc = r->pcap[n] * 2 > e + 1 ? r->pcap[n] * 2 : e + 1;
    double *p = realloc(t->prob, nc * sizeof *p);
    if (p) t->prob = p;
    double *b = p ? realloc(t->bow, nc * sizeof *b) : NULL;
    if (b) t->bow = b;
    if (!p || !b) return lmc_set_error(LMC_ERR_NOMEM, "%s: out of memory", r->path);
    r->pcap[n] = nc;
    return LMC_OK;
}

static int arpa_line(void *user, const char *line, size_t len, int64_t lineno) {
    reader *r = user;
    /* a word with a NUL byte could not be looked up by its text again */
    if (r->state != ST_PREAMBLE && memchr(line, 0, len)) return bad(r, lineno, "a NUL byte in the line", NULL);
    while (len && (line[len - 1] == ' ' || line[len - 1] == '\t')) len--;
    size_t s0 = 0;
    while (s0 < len && (line[s0] == ' ' || line[s0] == '\t')) s0++;
    line += s0;
    len -= s0;
    if (r->state == ST_PREAMBLE) {
        if (len == 6 && memcmp(line, "\\data\\", 6) == 0) r->state = ST_COUNTS;
        return LMC_OK;
    }
    if (r->state == ST_END) {
        if (len) return bad(r, lineno, "text after \\end\\", NULL);
        return LMC_OK;
    }
    if (len == 0) return LMC_OK;
    if (line[0] == '\\') {
        if (len == 5 && memcmp(line, "\\end\\", 5) == 0) {
            if (r->state == ST_COUNTS) return bad(r, lineno, "\\end\\ before any n-gram section", NULL);
            int rc = end_section(r, lineno);
            if (rc) return rc;
            if (r->cur != r->order) {
                char d[64];
                snprintf(d, sizeof d, "sections stop at order %d of %d", r->cur, r->order);
                return bad(r, lineno, "missing n-gram sections", d);
            }
            r->state = ST_END;
            return LMC_OK;
        }
        int n = 0, used = 0;
        if (sscanf(line, "\\%d-grams:%n", &n, &used) == 1 && (size_t)used == len) {
            if (r->state == ST_COUNTS) {
                int rc = start_model(r, lineno);
                if (rc) return rc;
            }
            int rc = end_section(r, lineno);
            if (rc) return rc;
            if (n != r->next_section + 1 || n > r->order) {
                char d[96];
                snprintf(d, sizeof d, "found \\%d-grams: where \\%d-grams: was expected", n, r->next_section + 1);
                return bad(r, lineno, "n-gram sections out of order", d);
            }
            r->next_section = r->cur = n;
            r->seen = 0;
            r->state = ST_GRAMS;
            return LMC_OK;
        }
        return bad(r, lineno, "unknown section header", line);
    }
    if (r->state == ST_COUNTS) {
        int n = 0, used = 0;
        long long cnt = -1;
        if (sscanf(line, "ngram %d=%lld%n", &n, &cnt, &used) != 2 || (size_t)used != len)
            return bad(r, lineno, "expected 'ngram N=count' in the \\data\\ section", line);
        if (n < 1 || n > LMC_NGRAM_MAX_ORDER || cnt < 0 || cnt > (long long)UINT32_MAX - 2) {
            char d[96];
            snprintf(d, sizeof d, "order %d / count %lld (orders 1..%d supported)", n, cnt, LMC_NGRAM_MAX_ORDER);
            return bad(r, lineno, "bad n-gram count", d);
        }
        if (n != r->order + 1) return bad(r, lineno, "'ngram N=' lines must count up from 1", NULL);
        r->expect[n - 1] = cnt;
        r->order = n;
        return LMC_OK;
    }
    /* an entry: prob w1 .. wn [bow] */
    int n = r->cur;
    ng_table *t = &r->lm->t[n - 1];
    if (r->seen >= r->expect[n - 1]) return bad(r, lineno, "more n-grams than the \\data\\ header says", NULL);
    ng_word f[LMC_NGRAM_MAX_ORDER + 3];
    size_t nf = ng_split(line, len, f, LMC_NGRAM_MAX_ORDER + 3);
    if (nf != (size_t)n + 1 && nf != (size_t)n + 2) {
        char d[96];
        snprintf(d, sizeof d, "%zu fields where a %d-gram entry has %d or %d", nf, n, n + 1, n + 2);
        return bad(r, lineno, "malformed n-gram entry", d);
    }
    double prob, bow = 0.0;
    if (!parse_num(f[0].p, f[0].len, &prob)) return bad(r, lineno, "the probability is not a number", NULL);
    if (prob > 1e-6) return bad(r, lineno, "log10 probability above 0", NULL);
    if (nf == (size_t)n + 2 && !parse_num(f[n + 1].p, f[n + 1].len, &bow))
        return bad(r, lineno, "the back-off weight is not a number", NULL);
    int32_t ids[LMC_NGRAM_MAX_ORDER];
    for (int i = 0; i < n; i++) {
        int32_t id = n == 1 ? ng_vocab_add(&r->lm->vocab, f[1 + i].p, f[1 + i].len)
                            : ng_vocab_find(&r->lm->vocab, f[1 + i].p, f[1 + i].len);
        if (id < 0 && n == 1) return LMC_ERR_NOMEM;
        if (id < 0) {
            char w[128];
            snprintf(w, sizeof w, "'%.*s'", (int)(f[1 + i].len < 100 ? f[1 + i].len : 100), f[1 + i].p);
            return bad(r, lineno, "word missing from the unigrams", w);
        }
        ids[i] = id;
    }
    size_t before = t->n_entries;
    int64_t e = ng_table_insert(t, ids);
    if (e < 0) return LMC_ERR_NOMEM;
    if (t->n_entries == before) return bad(r, lineno, "the same n-gram appears twice", NULL);
    if (reserve_entry(r, n - 1, (size_t)e)) return LMC_ERR_NOMEM;
    t->prob[e] = prob < NG_LOG_ZERO ? NG_LOG_ZERO : prob;
    t->bow[e] = bow;
    r->seen++;
    return LMC_OK;
}

lmc_ngram_lm *lmc_ngram_load_arpa(const char *path) {
    if (!path) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "lmc_ngram_load_arpa: no path");
    reader r = {0};
    r.path = path;
    for (int n = 0; n < LMC_NGRAM_MAX_ORDER; n++) r.expect[n] = -1;
    int rc = ng_read_lines(path, arpa_line, &r);
    if (rc == LMC_OK && r.state != ST_END) {
        rc = lmc_set_error(LMC_ERR_FORMAT, "%s: %s", path,
                           r.state == ST_PREAMBLE ? "not an ARPA file (no \\data\\ line)" : "truncated (no \\end\\ line)");
    }
    if (rc == LMC_OK) {
        lmc_ngram_lm *lm = r.lm;
        /* every model needs the sentence markers as unigrams */
        int32_t m[2] = {NG_BOS, NG_EOS};
        for (int i = 0; i < 2 && rc == LMC_OK; i++)
            if (ng_table_find(&lm->t[0], &m[i]) < 0)
                rc = lmc_set_error(LMC_ERR_FORMAT, "%s: the unigrams have no %s", path, i ? "</s>" : "<s>");
        lm->unk = ng_vocab_find(&lm->vocab, "<unk>", 5);
        if (lm->unk >= 0 && ng_table_find(&lm->t[0], &lm->unk) < 0) lm->unk = -1;
    }
    if (rc != LMC_OK) {
        lmc_ngram_free(r.lm);
        return NULL;
    }
    return r.lm;
}
