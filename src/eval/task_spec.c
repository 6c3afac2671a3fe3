/* task_spec.c — task spec files: parsing, validation, loading the data they name, and
 * the {{field}} templates.
 *
 * A spec is lines of "key: value" ('#' starts a comment line). A value is bare text
 * (trimmed) or a list of items separated by commas; an item in double quotes keeps
 * its spaces and understands \n \t \" \\ escapes. tasks/README.md lists the keys.
 * Every error names the spec file, the line and the field. */
#include "eval-impl.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct spec_kv {
    char *key;
    char **items; /* parsed value items */
    int n_items;
    int line;
    bool used;
} spec_kv;

typedef struct spec {
    const char *path;
    spec_kv *kv;
    int n;
} spec;

static void spec_free(spec *s) {
    for (int i = 0; i < s->n; i++) {
        free(s->kv[i].key);
        for (int j = 0; j < s->kv[i].n_items; j++) free(s->kv[i].items[j]);
        free(s->kv[i].items);
    }
    free(s->kv);
}

static int push_item(spec_kv *kv, const char *b, size_t n) {
    char **it = realloc(kv->items, (size_t)(kv->n_items + 1) * sizeof(char *));
    if (!it) return LMC_ERR_NOMEM;
    kv->items = it;
    char *v = malloc(n + 1);
    if (!v) return LMC_ERR_NOMEM;
    memcpy(v, b, n);
    v[n] = 0;
    kv->items[kv->n_items++] = v;
    return LMC_OK;
}

/* Splits a value into items. Returns LMC_OK or a format error naming the line. */
static int parse_value(const spec *s, spec_kv *kv, const char *v) {
    const char *p = v;
    char *buf = malloc(strlen(v) + 1);
    if (!buf) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    int rc = LMC_OK;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        size_t n = 0;
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\') {
                    p++;
                    switch (*p) {
                    case 'n': buf[n++] = '\n'; break;
                    case 't': buf[n++] = '\t'; break;
                    case '"': buf[n++] = '"'; break;
                    case '\\': buf[n++] = '\\'; break;
                    default:
                        rc = lmc_set_error(LMC_ERR_FORMAT, "%s:%d: field '%s': unknown escape '\\%c' in a quoted value",
                                           s->path, kv->line, kv->key, *p ? *p : '0');
                        goto done;
                    }
                    p++;
                } else
                    buf[n++] = *p++;
            }
            if (*p != '"') {
                rc = lmc_set_error(LMC_ERR_FORMAT, "%s:%d: field '%s': unterminated quoted value", s->path, kv->line,
                                   kv->key);
                goto done;
            }
            p++;
            while (*p == ' ' || *p == '\t') p++;
            if (*p && *p != ',') {
                rc = lmc_set_error(LMC_ERR_FORMAT, "%s:%d: field '%s': text after a closing quote (missing comma?)",
                                   s->path, kv->line, kv->key);
                goto done;
            }
        } else {
            const char *e = p;
            while (*e && *e != ',') e++;
            const char *t = e;
            while (t > p && (t[-1] == ' ' || t[-1] == '\t')) t--;
            memcpy(buf, p, (size_t)(t - p));
            n = (size_t)(t - p);
            p = e;
        }
        if ((rc = push_item(kv, buf, n))) {
            rc = lmc_set_error(LMC_ERR_NOMEM, "out of memory");
            goto done;
        }
        if (*p != ',') break;
        p++;
    }
done:
    free(buf);
    return rc;
}

static int spec_parse(spec *s, const char *path, const char *text) {
    memset(s, 0, sizeof *s);
    s->path = path;
    int line = 0, rc = LMC_OK;
    const char *p = text;
    while (*p && !rc) {
        line++;
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char *l = malloc(n + 1);
        if (!l) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
        memcpy(l, p, n);
        l[n] = 0;
        p = e ? e + 1 : p + n; /* before the '\r' is cut: a last line ending in '\r' looped */
        if (n && l[n - 1] == '\r') l[--n] = 0;
        char *q = l;
        while (*q == ' ' || *q == '\t') q++;
        if (*q == 0 || *q == '#') {
            free(l);
            continue;
        }
        char *colon = strchr(q, ':');
        char *k = q;
        size_t kn = colon ? (size_t)(colon - q) : 0;
        while (kn && (k[kn - 1] == ' ' || k[kn - 1] == '\t')) kn--;
        bool key_ok = colon && kn > 0;
        for (size_t i = 0; key_ok && i < kn; i++)
            if (!(isalnum((unsigned char)k[i]) || k[i] == '_')) key_ok = false;
        if (!key_ok) {
            rc = lmc_set_error(LMC_ERR_FORMAT, "%s:%d: expected 'key: value', got '%.40s'", path, line, q);
            free(l);
            break;
        }
        k[kn] = 0;
        for (int i = 0; i < s->n; i++)
            if (!strcmp(s->kv[i].key, k)) {
                rc = lmc_set_error(LMC_ERR_FORMAT, "%s:%d: field '%s' given twice (first on line %d)", path, line, k,
                                   s->kv[i].line);
                break;
            }
        if (!rc) {
            spec_kv *nk = realloc(s->kv, (size_t)(s->n + 1) * sizeof *nk);
            if (!nk) rc = lmc_set_error(LMC_ERR_NOMEM, "out of memory");
            else {
                s->kv = nk;
                spec_kv *kv = &s->kv[s->n++];
                memset(kv, 0, sizeof *kv);
                kv->key = strdup(k);
                kv->line = line;
                rc = kv->key ? parse_value(s, kv, colon + 1) : lmc_set_error(LMC_ERR_NOMEM, "out of memory");
            }
        }
        free(l);
    }
    return rc;
}

static spec_kv *spec_get(spec *s, const char *key) {
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->kv[i].key, key)) {
            s->kv[i].used = true;
            return &s->kv[i];
        }
    return NULL;
}

/* One string value (NULL when absent and not required). */
static int spec_str(spec *s, const char *key, bool required, char **out) {
    *out = NULL;
    spec_kv *kv = spec_get(s, key);
    if (!kv) {
        if (required) return lmc_set_error(LMC_ERR_FORMAT, "%s: missing field '%s'", s->path, key);
        return LMC_OK;
    }
    if (kv->n_items != 1)
        return lmc_set_error(LMC_ERR_FORMAT, "%s:%d: field '%s': expected one value, got a list of %d (quote it if it "
                             "holds a comma)", s->path, kv->line, key, kv->n_items);
    if (required && !kv->items[0][0]) return lmc_set_error(LMC_ERR_FORMAT, "%s:%d: field '%s' is empty", s->path, kv->line, key);
    *out = strdup(kv->items[0]);
    return *out ? LMC_OK : lmc_set_error(LMC_ERR_NOMEM, "out of memory");
}

static int spec_int(spec *s, const char *key, long long lo, long long hi, int64_t dflt, int64_t *out) {
    *out = dflt;
    spec_kv *kv = spec_get(s, key);
    if (!kv) return LMC_OK;
    char *end = NULL;
    errno = 0;
    long long v = kv->n_items == 1 ? strtoll(kv->items[0], &end, 10) : 0;
    if (kv->n_items != 1 || !end || end == kv->items[0] || *end || errno || v < lo || v > hi)
        return lmc_set_error(LMC_ERR_FORMAT, "%s:%d: field '%s': expected an integer in %lld..%lld, got '%s'", s->path,
                             kv->line, key, lo, hi, kv->n_items ? kv->items[0] : "");
    *out = v;
    return LMC_OK;
}

static int spec_bool(spec *s, const char *key, bool *out) {
    spec_kv *kv = spec_get(s, key);
    if (!kv) return LMC_OK;
    const char *v = kv->n_items == 1 ? kv->items[0] : "";
    if (!strcmp(v, "true") || !strcmp(v, "yes")) *out = true;
    else if (!strcmp(v, "false") || !strcmp(v, "no")) *out = false;
    else
        return lmc_set_error(LMC_ERR_FORMAT, "%s:%d: field '%s': expected true or false, got '%s'", s->path, kv->line,
                             key, v);
    return LMC_OK;
}

static int spec_list(spec *s, const char *key, char ***out, int *n) {
    *out = NULL;
    *n = 0;
    spec_kv *kv = spec_get(s, key);
    if (!kv) return LMC_OK;
    char **l = calloc((size_t)kv->n_items, sizeof(char *));
    if (!l) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < kv->n_items; i++)
        if (!(l[i] = strdup(kv->items[i]))) {
            for (int j = 0; j < i; j++) free(l[j]);
            free(l);
            return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
        }
    for (int i = 0; i < kv->n_items; i++)
        if (!l[i][0]) {
            for (int j = 0; j < kv->n_items; j++) free(l[j]);
            free(l);
            return lmc_set_error(LMC_ERR_FORMAT, "%s:%d: field '%s': item %d is empty", s->path, kv->line, key, i + 1);
        }
    *out = l;
    *n = kv->n_items;
    return LMC_OK;
}

static int spec_line(spec *s, const char *key) {
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->kv[i].key, key)) return s->kv[i].line;
    return 0;
}

/* Column names: a list, kept as one comma-separated string for the loader. */
static int spec_columns(spec *s, char **out) {
    char **l;
    int n;
    *out = NULL;
    int rc = spec_list(s, "columns", &l, &n);
    if (rc || !l) return rc;
    size_t len = 1;
    for (int i = 0; i < n; i++) len += strlen(l[i]) + 1;
    char *c = calloc(1, len);
    for (int i = 0; c && i < n; i++) {
        if (i) strcat(c, ",");
        strcat(c, l[i]);
    }
    for (int i = 0; i < n; i++) free(l[i]);
    free(l);
    *out = c;
    return c ? LMC_OK : lmc_set_error(LMC_ERR_NOMEM, "out of memory");
}

/* ---- templates ------------------------------------------------------------ */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *t = realloc(b->p, cap);
        if (!t) {
            b->oom = true;
            return;
        }
        b->p = t;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static const char *item_where(const cJSON *item, char *buf, size_t cap) {
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(item, "_file");
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(item, "_line");
    snprintf(buf, cap, "%s:%d", cJSON_IsString(f) ? f->valuestring : "?", cJSON_IsNumber(l) ? l->valueint : 0);
    return buf;
}

/* Text of a field value: strings as they are, numbers without a needless ".0". */
static int value_text(const cJSON *v, sbuf *b) {
    char num[64];
    if (cJSON_IsString(v)) sb_add(b, v->valuestring, strlen(v->valuestring));
    else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == (double)(long long)d) snprintf(num, sizeof num, "%lld", (long long)d);
        else snprintf(num, sizeof num, "%.17g", d);
        sb_add(b, num, strlen(num));
    } else if (cJSON_IsBool(v))
        sb_add(b, cJSON_IsTrue(v) ? "true" : "false", cJSON_IsTrue(v) ? 4 : 5);
    else
        return -1;
    return 0;
}

static int apply_filter(const char *f, size_t fn, sbuf *in, sbuf *out) {
    const char *s = in->p ? in->p : "";
    size_t n = in->n;
#define F(name) (fn == strlen(name) && !strncmp(f, name, fn))
    if (F("strip")) {
        while (n && isspace((unsigned char)*s)) s++, n--;
        while (n && isspace((unsigned char)s[n - 1])) n--;
        sb_add(out, s, n);
    } else if (F("last_word") || F("before_last_word")) {
        size_t k = n; /* lambada: split at the last space */
        while (k && s[k - 1] != ' ') k--;
        if (F("last_word")) sb_add(out, s + k, n - k);
        else sb_add(out, s, k ? k - 1 : 0);
    } else if (F("spaces")) {
        for (size_t i = 0; i < n; i++) sb_add(out, s[i] == '_' ? " " : s + i, 1);
    } else if (F("upper") || F("lower")) {
        for (size_t i = 0; i < n; i++) {
            char c = (char)(F("upper") ? toupper((unsigned char)s[i]) : tolower((unsigned char)s[i]));
            sb_add(out, &c, 1);
        }
    } else
        return -1;
#undef F
    return 0;
}

char *eval_render(const char *tmpl, const cJSON *item, const char *choice, const char *what) {
    sbuf b = {0};
    sb_add(&b, "", 0);
    const char *p = tmpl;
    char where[512];
    while (*p) {
        const char *o = strstr(p, "{{");
        if (!o) {
            sb_add(&b, p, strlen(p));
            break;
        }
        sb_add(&b, p, (size_t)(o - p));
        const char *c = strstr(o + 2, "}}");
        if (!c) {
            free(b.p);
            return lmc_set_error_null(LMC_ERR_FORMAT, "%s: '{{' without '}}'", what);
        }
        /* {{name}} {{name[i]}} {{name|filter|filter}} */
        const char *e = o + 2, *end = c;
        while (e < end && *e == ' ') e++;
        while (end > e && end[-1] == ' ') end--;
        const char *bar = memchr(e, '|', (size_t)(end - e));
        const char *ne = bar ? bar : end;
        const char *br = memchr(e, '[', (size_t)(ne - e));
        size_t nn = (size_t)((br ? br : ne) - e);
        char name[128];
        if (nn == 0 || nn >= sizeof name) {
            free(b.p);
            return lmc_set_error_null(LMC_ERR_FORMAT, "%s: bad placeholder '%.*s'", what, (int)(c + 2 - o), o);
        }
        memcpy(name, e, nn);
        name[nn] = 0;
        sbuf v = {0};
        sb_add(&v, "", 0);
        int bad = 0;
        if (!strcmp(name, "choice") && choice) sb_add(&v, choice, strlen(choice));
        else {
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(item, name);
            if (f && br) {
                long idx = strtol(br + 1, NULL, 10);
                f = cJSON_IsArray(f) ? cJSON_GetArrayItem(f, (int)idx) : NULL;
                if (!f) bad = 2;
            }
            if (!f && !bad) bad = 1;
            if (!bad && value_text(f, &v)) bad = 3;
        }
        if (bad) {
            free(v.p);
            free(b.p);
            return lmc_set_error_null(LMC_ERR_FORMAT, "%s: %s '%.*s' of the data record at %s", what,
                                      bad == 1 ? "no field" : bad == 2 ? "no element" : "not text:",
                                      (int)(ne - e), e, item_where(item, where, sizeof where));
        }
        const char *fp = bar;
        while (fp && fp < end) {
            const char *fs = fp + 1, *fe = memchr(fs, '|', (size_t)(end - fs));
            if (!fe) fe = end;
            sbuf w = {0};
            sb_add(&w, "", 0);
            if (apply_filter(fs, (size_t)(fe - fs), &v, &w)) {
                free(w.p);
                free(v.p);
                free(b.p);
                return lmc_set_error_null(LMC_ERR_FORMAT, "%s: unknown filter '%.*s' (strip, last_word, "
                                          "before_last_word, spaces, upper, lower)", what, (int)(fe - fs), fs);
            }
            free(v.p);
            v = w;
            fp = fe < end ? fe : NULL;
        }
        sb_add(&b, v.p, v.n);
        free(v.p);
        p = c + 2;
    }
    if (b.oom) {
        free(b.p);
        return lmc_set_error_null(LMC_ERR_NOMEM, "out of memory");
    }
    return b.p;
}

/* ---- loading ---------------------------------------------------------------- */

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return lmc_set_error_null(LMC_ERR_IO, "%s: %s", path, strerror(errno));
    sbuf b = {0};
    char tmp[65536];
    size_t r;
    sb_add(&b, "", 0);
    while ((r = fread(tmp, 1, sizeof tmp, f)) > 0) sb_add(&b, tmp, r);
    fclose(f);
    if (b.oom) {
        free(b.p);
        return lmc_set_error_null(LMC_ERR_NOMEM, "out of memory");
    }
    return b.p;
}

static char *path_join(const char *dir, const char *rel) {
    if (rel[0] == '/') return strdup(rel);
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, rel);
    return p;
}

/* Data paths: "./x" next to the spec; otherwise under the data folder. */
static char *data_path(const lmc_task *t, const char *rel) {
    if (!strncmp(rel, "./", 2)) return path_join(t->dir, rel + 2);
    return path_join(t->data_dir, rel);
}

static void free_list(char **l, int n) {
    for (int i = 0; i < n; i++) free(l[i]);
    free(l);
}

void lmc_task_free(lmc_task *t) {
    if (!t) return;
    free(t->path);
    free(t->name);
    free(t->dir);
    free(t->data_dir);
    free(t->data_path);
    free(t->fewshot_path);
    eval_dataset_free(&t->data);
    eval_dataset_free(&t->fewshot);
    free(t->description);
    free(t->prompt);
    free(t->target);
    free(t->fewshot_sep);
    free(t->choices_field);
    free_list(t->choices_list, t->n_choices_list);
    free(t->choice_template);
    free(t->gold_field);
    free_list(t->gold_map, t->n_gold_map);
    free_list(t->stop, t->n_stop);
    free(t->answer_regex);
    free(t->answer_field_regex);
    free(t->metric);
    free(t);
}

const char *lmc_task_name(const lmc_task *t) { return t->name; }
int64_t lmc_task_n_items(const lmc_task *t) { return t->type == EVAL_PERPLEXITY ? 1 : t->data.n; }
const char *lmc_task_type(const lmc_task *t) {
    static const char *names[] = {"perplexity", "multiple_choice", "loglikelihood", "generate"};
    return names[t->type];
}

static const char *KNOWN_KEYS[] = {
    "name", "type", "data", "format", "columns", "labels", "parallel", "description", "prompt", "target",
    "fewshot_data", "fewshot_format", "shots", "fewshot_separator", "fewshot_same_subject", "choices_field",
    "choices", "choice_fields", "choice_template", "gold_field", "gold_map", "split", "norm", "stop",
    "max_tokens", "answer_regex", "gold_regex", "metric", "ctx", "stride", NULL};

lmc_task *lmc_task_load(const char *spec_path, const char *data_dir) {
    if (!spec_path) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "lmc_task_load: no spec path");
    char *text = read_text(spec_path);
    if (!text) return NULL;
    lmc_task *t = calloc(1, sizeof *t);
    spec s;
    int rc = spec_parse(&s, spec_path, text);
    free(text);
    if (!t) rc = lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    if (rc) goto fail;
    t->path = strdup(spec_path);
    {
        const char *sl = strrchr(spec_path, '/');
        t->dir = sl ? strndup(spec_path, (size_t)(sl - spec_path)) : strdup(".");
    }
    if (data_dir && *data_dir) t->data_dir = strdup(data_dir);
    else if (getenv("LMC_DATA_DIR") && *getenv("LMC_DATA_DIR")) t->data_dir = strdup(getenv("LMC_DATA_DIR"));
    else t->data_dir = path_join(t->dir ? t->dir : ".", "../../shared/data");
    for (int i = 0; i < s.n; i++) {
        bool known = false;
        for (int k = 0; KNOWN_KEYS[k]; k++) known |= !strcmp(KNOWN_KEYS[k], s.kv[i].key);
        if (!known) {
            rc = lmc_set_error(LMC_ERR_FORMAT, "%s:%d: unknown field '%s'", spec_path, s.kv[i].line, s.kv[i].key);
            goto fail;
        }
    }
    char *type = NULL, *data = NULL, *format = NULL, *columns = NULL, *labels = NULL, *parallel = NULL;
    char *fs_data = NULL, *fs_format = NULL, *split = NULL, *norm = NULL, **cf = NULL;
    int n_cf = 0;
    int64_t v;
    if ((rc = spec_str(&s, "name", true, &t->name)) || (rc = spec_str(&s, "type", true, &type))) goto fail_str;
    if (!strcmp(type, "perplexity")) t->type = EVAL_PERPLEXITY;
    else if (!strcmp(type, "multiple_choice")) t->type = EVAL_MULTIPLE_CHOICE;
    else if (!strcmp(type, "loglikelihood")) t->type = EVAL_LOGLIKELIHOOD;
    else if (!strcmp(type, "generate")) t->type = EVAL_GENERATE;
    else {
        rc = lmc_set_error(LMC_ERR_FORMAT, "%s:%d: field 'type': expected perplexity, multiple_choice, loglikelihood "
                           "or generate, got '%s'", spec_path, spec_line(&s, "type"), type);
        goto fail_str;
    }
    if ((rc = spec_str(&s, "data", true, &data)) || (rc = spec_str(&s, "format", false, &format)) ||
        (rc = spec_columns(&s, &columns)) || (rc = spec_str(&s, "labels", false, &labels)) ||
        (rc = spec_str(&s, "parallel", false, &parallel)) || (rc = spec_str(&s, "description", false, &t->description)) ||
        (rc = spec_str(&s, "prompt", t->type != EVAL_PERPLEXITY, &t->prompt)) ||
        (rc = spec_str(&s, "target", t->type == EVAL_LOGLIKELIHOOD, &t->target)) ||
        (rc = spec_str(&s, "fewshot_data", false, &fs_data)) || (rc = spec_str(&s, "fewshot_format", false, &fs_format)) ||
        (rc = spec_str(&s, "fewshot_separator", false, &t->fewshot_sep)) ||
        (rc = spec_bool(&s, "fewshot_same_subject", &t->fewshot_same_subject)) ||
        (rc = spec_str(&s, "choices_field", false, &t->choices_field)) ||
        (rc = spec_list(&s, "choices", &t->choices_list, &t->n_choices_list)) ||
        (rc = spec_list(&s, "choice_fields", &cf, &n_cf)) ||
        (rc = spec_str(&s, "choice_template", false, &t->choice_template)) ||
        (rc = spec_str(&s, "gold_field", t->type == EVAL_MULTIPLE_CHOICE || t->type == EVAL_GENERATE, &t->gold_field)) ||
        (rc = spec_list(&s, "gold_map", &t->gold_map, &t->n_gold_map)) || (rc = spec_str(&s, "split", false, &split)) ||
        (rc = spec_str(&s, "norm", false, &norm)) || (rc = spec_list(&s, "stop", &t->stop, &t->n_stop)) ||
        (rc = spec_str(&s, "answer_regex", false, &t->answer_regex)) ||
        (rc = spec_str(&s, "gold_regex", false, &t->answer_field_regex)) ||
        (rc = spec_str(&s, "metric", false, &t->metric)))
        goto fail_str;
    if ((rc = spec_int(&s, "shots", 0, 1000, 0, &v))) goto fail_str;
    t->shots = (int32_t)v;
    if ((rc = spec_int(&s, "max_tokens", 1, 1 << 20, 256, &t->max_tokens))) goto fail_str;
    if ((rc = spec_int(&s, "ctx", 4, 1 << 20, 512, &v))) goto fail_str;
    t->ppl_ctx = (int32_t)v;
    if ((rc = spec_int(&s, "stride", 0, 1 << 20, 0, &v))) goto fail_str;
    t->ppl_stride = (int32_t)v;
    if (t->ppl_stride > t->ppl_ctx) {
        rc = lmc_set_error(LMC_ERR_FORMAT, "%s:%d: field 'stride': %d is larger than ctx %d", spec_path,
                           spec_line(&s, "stride"), t->ppl_stride, t->ppl_ctx);
        goto fail_str;
    }
    if (!t->fewshot_sep) t->fewshot_sep = strdup("\n\n");
    if (cf) {
        if (t->choices_list || t->choices_field) {
            rc = lmc_set_error(LMC_ERR_FORMAT, "%s:%d: field 'choice_fields': give only one of choices, choice_fields, "
                               "choices_field", spec_path, spec_line(&s, "choice_fields"));
            goto fail_str;
        }
        t->choices_list = cf;
        t->n_choices_list = n_cf;
        t->choices_are_fields = true;
        cf = NULL, n_cf = 0; /* the task's now */
    }
    if (t->type == EVAL_MULTIPLE_CHOICE && !t->choices_list && !t->choices_field) {
        rc = lmc_set_error(LMC_ERR_FORMAT, "%s: missing field 'choices', 'choice_fields' or 'choices_field' (a "
                           "multiple-choice task needs its choices)", spec_path);
        goto fail_str;
    }
    if (t->choices_list && t->choices_field) {
        rc = lmc_set_error(LMC_ERR_FORMAT, "%s:%d: field 'choices': give only one of choices, choice_fields, "
                           "choices_field", spec_path, spec_line(&s, "choices"));
        goto fail_str;
    }
    if (!t->choice_template && (t->choices_field || t->choices_are_fields)) t->choice_template = strdup(" {{choice}}");
    if (split && strcmp(split, "context") && strcmp(split, "common_prefix")) {
        rc = lmc_set_error(LMC_ERR_FORMAT, "%s:%d: field 'split': expected context or common_prefix, got '%s'",
                           spec_path, spec_line(&s, "split"), split);
        goto fail_str;
    }
    t->split_common = split && !strcmp(split, "common_prefix");
    if (norm && strcmp(norm, "bytes") && strcmp(norm, "tokens")) {
        rc = lmc_set_error(LMC_ERR_FORMAT, "%s:%d: field 'norm': expected bytes or tokens, got '%s'", spec_path,
                           spec_line(&s, "norm"), norm);
        goto fail_str;
    }
    t->norm_tokens = norm && !strcmp(norm, "tokens");
    static const char *FORMATS[] = {"jsonl", "json", "tsv", "csv", "hellaswag", "lines", NULL};
    bool fmt_ok = !format;
    for (int k = 0; format && FORMATS[k]; k++) fmt_ok |= !strcmp(format, FORMATS[k]);
    if (!fmt_ok) {
        rc = lmc_set_error(LMC_ERR_FORMAT, "%s:%d: field 'format': expected jsonl, json, tsv, csv, hellaswag or lines, "
                           "got '%s'", spec_path, spec_line(&s, "format"), format);
        goto fail_str;
    }
    if (t->type == EVAL_GENERATE) {
        if (!t->metric) t->metric = strdup("exact_match");
        if (strcmp(t->metric, "exact_match") && strcmp(t->metric, "bleu")) {
            rc = lmc_set_error(LMC_ERR_FORMAT, "%s:%d: field 'metric': expected exact_match or bleu, got '%s'",
                               spec_path, spec_line(&s, "metric"), t->metric);
            goto fail_str;
        }
    }
    /* The data. */
    t->data_path = data_path(t, data);
    if (t->type == EVAL_PERPLEXITY) {
        FILE *f = fopen(t->data_path, "rb");
        if (!f) {
            rc = lmc_set_error(LMC_ERR_IO, "%s:%d: field 'data': cannot open %s: %s (set the data folder with "
                               "--data-dir or LMC_DATA_DIR)", spec_path, spec_line(&s, "data"), t->data_path,
                               strerror(errno));
            goto fail_str;
        }
        fclose(f);
    } else {
        char *lp = labels ? data_path(t, labels) : NULL, *pp = parallel ? data_path(t, parallel) : NULL;
        char where[64];
        snprintf(where, sizeof where, "%d", spec_line(&s, "data"));
        eval_data_opts o = {.format = format ? format : "jsonl", .columns = columns, .labels = lp, .parallel = pp,
                            .spec = spec_path, .spec_line = spec_line(&s, "data")};
        rc = eval_dataset_load(t->data_path, &o, &t->data);
        free(lp);
        free(pp);
        if (rc) goto fail_str;
        if (fs_data) {
            t->fewshot_path = data_path(t, fs_data);
            eval_data_opts fo = {.format = fs_format ? fs_format : o.format, .columns = columns, .spec = spec_path,
                                 .spec_line = spec_line(&s, "fewshot_data")};
            if ((rc = eval_dataset_load(t->fewshot_path, &fo, &t->fewshot))) goto fail_str;
        }
        if (t->shots > 0 && (t->type == EVAL_GENERATE || !t->choices_field) && !t->target &&
            t->type != EVAL_MULTIPLE_CHOICE) {
            rc = lmc_set_error(LMC_ERR_FORMAT, "%s:%d: field 'shots': few-shot examples need a 'target' template",
                               spec_path, spec_line(&s, "shots"));
            goto fail_str;
        }
    }
fail_str:
    free_list(cf, n_cf); /* still ours when a later field failed */
    free(type);
    free(data);
    free(format);
    free(columns);
    free(labels);
    free(parallel);
    free(fs_data);
    free(fs_format);
    free(split);
    free(norm);
    if (rc) goto fail;
    spec_free(&s);
    return t;
fail:
    spec_free(&s);
    lmc_task_free(t);
    return NULL;
}
