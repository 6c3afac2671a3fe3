/* datasets.c — task data as records (cJSON objects), whatever the file holds:
 * jsonl, a json array, tsv/csv (header line or named columns), llama.cpp's 6-line
 * HellaSwag format, or plain lines (with an optional parallel file of references).
 * Each record carries "_file" and "_line" so later errors can point at the data. */
#include "eval-impl.h"

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void eval_dataset_free(eval_dataset *d) {
    if (!d) return;
    for (int64_t i = 0; i < d->n; i++) cJSON_Delete(d->items[i]);
    free(d->items);
    d->items = NULL;
    d->n = 0;
}

static int ds_push(eval_dataset *d, cJSON *it, const char *file, int line) {
    if (!it) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    cJSON_AddStringToObject(it, "_file", file);
    cJSON_AddNumberToObject(it, "_line", line);
    cJSON **n = realloc(d->items, (size_t)(d->n + 1) * sizeof(cJSON *));
    if (!n) {
        cJSON_Delete(it);
        return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    }
    d->items = n;
    d->items[d->n++] = it;
    return LMC_OK;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return lmc_set_error_null(LMC_ERR_IO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n - 1, f);
        if (n + 1 < cap) break;
        char *nb = realloc(b, cap *= 2);
        if (!nb) free(b);
        b = nb;
    }
    fclose(f);
    if (!b) return lmc_set_error_null(LMC_ERR_NOMEM, "out of memory reading %s", path);
    b[n] = 0;
    *len = n;
    return b;
}

/* Splits buf into lines in place ("\n" or "\r\n"); returns the count. */
static size_t split_lines(char *buf, size_t len, char ***lines) {
    size_t n = 0, cap = 1024;
    char **l = malloc(cap * sizeof(char *));
    char *p = buf, *end = buf + len;
    while (l && p < end) {
        char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e) e = end;
        *e = 0;
        if (e > p && e[-1] == '\r') e[-1] = 0;
        if (n == cap) {
            char **nl = realloc(l, (cap *= 2) * sizeof(char *));
            if (!nl) free(l);
            l = nl;
            if (!l) break;
        }
        l[n++] = p;
        p = e + 1;
    }
    *lines = l;
    return l ? n : 0;
}

/* One CSV/TSV line into fields (quotes only for csv). Fields point into a new buffer. */
static int split_fields(const char *line, char sep, char ***out, int *n_out, char **store) {
    size_t L = strlen(line);
    char *b = malloc(L + 1);
    char **f = malloc((L + 2) * sizeof(char *));
    if (!b || !f) {
        free(b);
        free(f);
        return LMC_ERR_NOMEM;
    }
    int n = 0;
    size_t j = 0;
    const char *p = line;
    for (;;) {
        f[n++] = b + j;
        if (sep == ',' && *p == '"') {
            p++;
            while (*p) {
                if (*p == '"' && p[1] == '"') {
                    b[j++] = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else
                    b[j++] = *p++;
            }
        }
        while (*p && *p != sep) b[j++] = *p++;
        b[j++] = 0;
        if (*p != sep) break;
        p++;
    }
    *out = f;
    *n_out = n;
    *store = b;
    return LMC_OK;
}

/* CSV records may span lines inside quotes (MMLU has a few): joins them. */
static bool quotes_open(const char *s) {
    bool in = false;
    for (; *s; s++)
        if (*s == '"') in = !in;
    return in;
}

static int load_table(const char *path, char *buf, size_t len, char sep, const eval_data_opts *o, eval_dataset *d,
                      const char *subject) {
    char **lines;
    size_t n = split_lines(buf, len, &lines);
    char **cols = NULL, *cstore = NULL;
    int n_cols = 0, rc = LMC_OK;
    size_t i = 0;
    if (o->columns) rc = split_fields(o->columns, ',', &cols, &n_cols, &cstore);
    else if (n > 0) {
        rc = split_fields(lines[0], sep, &cols, &n_cols, &cstore);
        i = 1;
    }
    if (rc) rc = lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    char *joined = NULL;
    for (; !rc && i < n; i++) {
        int line_no = (int)i + 1;
        if (!lines[i][0]) continue;
        const char *rec = lines[i];
        if (sep == ',' && quotes_open(lines[i])) {
            size_t jl = strlen(lines[i]);
            free(joined);
            joined = strdup(lines[i]);
            while (joined && quotes_open(joined) && i + 1 < n) {
                i++;
                size_t add = strlen(lines[i]);
                char *nj = realloc(joined, jl + add + 2);
                if (!nj) break;
                joined = nj;
                joined[jl++] = '\n';
                memcpy(joined + jl, lines[i], add + 1);
                jl += add;
            }
            if (!joined) {
                rc = lmc_set_error(LMC_ERR_NOMEM, "out of memory");
                break;
            }
            rec = joined;
        }
        char **f, *store;
        int nf;
        if (split_fields(rec, sep, &f, &nf, &store)) {
            rc = lmc_set_error(LMC_ERR_NOMEM, "out of memory");
            break;
        }
        if (nf != n_cols) {
            rc = lmc_set_error(LMC_ERR_FORMAT, "%s:%d: %d fields, but the %s names %d (%s:%d: field '%s')", path,
                               line_no, nf, o->columns ? "spec's 'columns'" : "header", n_cols, o->spec, o->spec_line,
                               o->columns ? "columns" : "data");
        } else {
            cJSON *it = cJSON_CreateObject();
            for (int k = 0; it && k < nf; k++) cJSON_AddStringToObject(it, cols[k], f[k]);
            if (it && subject) cJSON_AddStringToObject(it, "subject", subject);
            rc = ds_push(d, it, path, line_no);
        }
        free(f);
        free(store);
    }
    free(joined);
    free(cols);
    free(cstore);
    free(lines);
    return rc;
}

static int load_one(const char *path, const eval_data_opts *o, eval_dataset *d, const char *subject) {
    size_t len;
    char *buf = slurp(path, &len);
    if (!buf) return lmc_last_error()[0] ? LMC_ERR_IO : LMC_ERR_NOMEM;
    int rc = LMC_OK;
    const char *fmt = o->format;
    if (!strcmp(fmt, "tsv") || !strcmp(fmt, "csv")) {
        rc = load_table(path, buf, len, fmt[0] == 't' ? '\t' : ',', o, d, subject);
    } else if (!strcmp(fmt, "json")) {
        cJSON *root = cJSON_ParseWithLength(buf, len);
        if (!cJSON_IsArray(root)) {
            rc = lmc_set_error(LMC_ERR_FORMAT, "%s: expected a JSON array of objects (spec %s:%d: field 'format')", path,
                               o->spec, o->spec_line);
        } else {
            int k = 0;
            cJSON *it;
            cJSON_ArrayForEach(it, root) {
                k++;
                if (!cJSON_IsObject(it)) {
                    rc = lmc_set_error(LMC_ERR_FORMAT, "%s: element %d is not an object", path, k);
                    break;
                }
                if ((rc = ds_push(d, cJSON_Duplicate(it, true), path, k))) break;
            }
        }
        cJSON_Delete(root);
    } else {
        char **lines;
        size_t n = split_lines(buf, len, &lines);
        if (!lines && len) rc = lmc_set_error(LMC_ERR_NOMEM, "out of memory");
        if (!strcmp(fmt, "jsonl")) {
            for (size_t i = 0; !rc && i < n; i++) {
                const char *q = lines[i];
                while (*q == ' ' || *q == '\t') q++;
                if (!*q) continue;
                cJSON *it = cJSON_Parse(lines[i]);
                if (!cJSON_IsObject(it)) {
                    const char *ep = cJSON_GetErrorPtr();
                    long col = it ? 1 : (ep && ep >= lines[i] && ep <= lines[i] + strlen(lines[i]) ? ep - lines[i] + 1 : 1);
                    cJSON_Delete(it);
                    rc = lmc_set_error(LMC_ERR_FORMAT, "%s:%zu: column %ld: not a JSON object (format 'jsonl' from "
                                       "%s:%d)", path, i + 1, col, o->spec, o->spec_line);
                    break;
                }
                if (subject) cJSON_AddStringToObject(it, "subject", subject);
                rc = ds_push(d, it, path, (int)i + 1);
            }
        } else if (!strcmp(fmt, "hellaswag")) {
            /* context, gold index, 4 endings */
            if (n % 6) rc = lmc_set_error(LMC_ERR_FORMAT, "%s: %zu lines, not a multiple of 6 (hellaswag format: "
                                          "context, label, 4 endings)", path, n);
            for (size_t i = 0; !rc && i < n; i += 6) {
                char *end;
                long lab = strtol(lines[i + 1], &end, 10);
                if (end == lines[i + 1] || *end || lab < 0 || lab > 3) {
                    rc = lmc_set_error(LMC_ERR_FORMAT, "%s:%zu: the label must be 0..3, got '%.20s'", path, i + 2,
                                       lines[i + 1]);
                    break;
                }
                cJSON *it = cJSON_CreateObject();
                cJSON_AddStringToObject(it, "context", lines[i]);
                cJSON_AddNumberToObject(it, "label", (double)lab);
                cJSON *e = cJSON_AddArrayToObject(it, "endings");
                for (int k = 0; k < 4; k++) cJSON_AddItemToArray(e, cJSON_CreateString(lines[i + 2 + k]));
                rc = ds_push(d, it, path, (int)i + 1);
            }
        } else if (!strcmp(fmt, "lines")) {
            const char *field = o->columns ? o->columns : "text";
            char **ref = NULL, *rbuf = NULL;
            size_t nr = 0, rlen;
            if (o->parallel) {
                rbuf = slurp(o->parallel, &rlen);
                if (!rbuf) rc = LMC_ERR_IO;
                else nr = split_lines(rbuf, rlen, &ref);
                if (!rc && nr != n)
                    rc = lmc_set_error(LMC_ERR_FORMAT, "%s has %zu lines but %s has %zu (spec %s: field 'parallel')",
                                       path, n, o->parallel, nr, o->spec);
            }
            for (size_t i = 0; !rc && i < n; i++) {
                cJSON *it = cJSON_CreateObject();
                cJSON_AddStringToObject(it, field, lines[i]);
                if (ref) cJSON_AddStringToObject(it, "ref", ref[i]);
                rc = ds_push(d, it, path, (int)i + 1);
            }
            free(ref);
            free(rbuf);
        } else {
            rc = lmc_set_error(LMC_ERR_FORMAT, "%s:%d: field 'format': expected jsonl, json, tsv, csv, hellaswag or "
                               "lines, got '%s'", o->spec, o->spec_line, fmt);
        }
        free(lines);
    }
    free(buf);
    return rc;
}

static int attach_labels(eval_dataset *d, const eval_data_opts *o) {
    size_t len;
    char *buf = slurp(o->labels, &len);
    if (!buf) return LMC_ERR_IO;
    char **lines;
    size_t n = split_lines(buf, len, &lines);
    while (n && !lines[n - 1][0]) n--;
    int rc = LMC_OK;
    if ((int64_t)n != d->n)
        rc = lmc_set_error(LMC_ERR_FORMAT, "%s has %zu labels for %lld records (spec %s: field 'labels')", o->labels, n,
                           (long long)d->n, o->spec);
    for (size_t i = 0; !rc && i < n; i++) cJSON_AddStringToObject(d->items[i], "label", lines[i]);
    free(lines);
    free(buf);
    return rc;
}

int eval_dataset_load(const char *path, const eval_data_opts *o, eval_dataset *out) {
    memset(out, 0, sizeof *out);
    int rc = LMC_OK;
    const char *star = strchr(path, '*');
    if (!star) rc = load_one(path, o, out, NULL);
    else {
        glob_t g;
        int gr = glob(path, 0, NULL, &g);
        if (gr || g.gl_pathc == 0) {
            if (!gr) globfree(&g);
            return lmc_set_error(LMC_ERR_IO, "%s: no file matches (spec %s:%d: field 'data'; set the data folder with "
                                 "--data-dir or LMC_DATA_DIR)", path, o->spec, o->spec_line);
        }
        size_t pre = (size_t)(star - path), post = strlen(star + 1);
        for (size_t i = 0; !rc && i < g.gl_pathc; i++) {
            const char *p = g.gl_pathv[i];
            size_t L = strlen(p);
            char *subj = L >= pre + post ? strndup(p + pre, L - pre - post) : strdup("");
            rc = subj ? load_one(p, o, out, subj) : lmc_set_error(LMC_ERR_NOMEM, "out of memory");
            free(subj);
        }
        globfree(&g);
    }
    if (!rc && o->labels) rc = attach_labels(out, o);
    if (!rc && out->n == 0)
        rc = lmc_set_error(LMC_ERR_FORMAT, "%s: no records (spec %s:%d: field 'data')", path, o->spec, o->spec_line);
    if (rc) eval_dataset_free(out);
    return rc;
}
