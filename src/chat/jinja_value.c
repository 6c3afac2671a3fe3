/* jinja_value.c — values of the Jinja interpreter: arena, buffers, lists and dicts, and
 * Python's truthiness, equality, ordering, str(), repr() and json.dumps() on them. */
#include "jinja.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ------------------------------------------------------------------------ */
struct jarena_block {
    jarena_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void *jarena_alloc(jarena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    jarena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        if (a->cap_total && a->used_total + cap > a->cap_total) {
            a->failed = true;
            return NULL;
        }
        b = malloc(sizeof *b + cap);
        if (!b) {
            a->failed = true;
            return NULL;
        }
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
        a->used_total += cap;
    }
    void *p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

void jarena_free(jarena *a) {
    jarena_block *b = a->head;
    while (b) {
        jarena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used_total = 0;
}

char *jarena_strdup(jarena *a, const char *s, size_t n) {
    char *p = jarena_alloc(a, n + 1);
    if (p && n) memcpy(p, s, n);
    return p;
}

/* ---- buffers ---------------------------------------------------------------------- */
bool jbuf_put(jbuf *b, const char *s, size_t n) {
    if (b->overflow) return false;
    if (n > (b->limit ? b->limit : (size_t)-1 / 2) - b->n) {
        b->overflow = true;
        return false;
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->overflow = true;
            return false;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return true;
}

bool jbuf_puts(jbuf *b, const char *s) { return jbuf_put(b, s, strlen(s)); }
bool jbuf_putc(jbuf *b, char c) { return jbuf_put(b, &c, 1); }

bool jbuf_printf(jbuf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0) return false;
    return jbuf_put(b, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

void jbuf_free(jbuf *b) {
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

/* ---- lists and dicts -------------------------------------------------------------- */
jlist *jlist_new(jarena *a, size_t cap) {
    jlist *l = jarena_alloc(a, sizeof *l);
    if (!l) return NULL;
    if (cap) {
        l->v = jarena_alloc(a, cap * sizeof(jv));
        if (!l->v) return NULL;
        l->cap = cap;
    }
    return l;
}

bool jlist_push(jarena *a, jlist *l, jv v) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        jv *nv = jarena_alloc(a, cap * sizeof(jv));
        if (!nv) return false;
        if (l->n) memcpy(nv, l->v, l->n * sizeof(jv));
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = v;
    return true;
}

jdict *jdict_new(jarena *a, size_t cap) {
    jdict *d = jarena_alloc(a, sizeof *d);
    if (!d) return NULL;
    if (cap) {
        d->k = jarena_alloc(a, cap * sizeof(jv));
        d->v = jarena_alloc(a, cap * sizeof(jv));
        if (!d->k || !d->v) return NULL;
        d->cap = cap;
    }
    return d;
}

static bool hashable_equal(jv a, jv b) { return jv_equal(a, b); }

bool jdict_set(jarena *a, jdict *d, jv k, jv v) {
    for (size_t i = 0; i < d->n; i++)
        if (hashable_equal(d->k[i], k)) {
            d->v[i] = v;
            return true;
        }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 4;
        jv *nk = jarena_alloc(a, cap * sizeof(jv));
        jv *nv = jarena_alloc(a, cap * sizeof(jv));
        if (!nk || !nv) return false;
        if (d->n) {
            memcpy(nk, d->k, d->n * sizeof(jv));
            memcpy(nv, d->v, d->n * sizeof(jv));
        }
        d->k = nk;
        d->v = nv;
        d->cap = cap;
    }
    d->k[d->n] = k;
    d->v[d->n] = v;
    d->n++;
    return true;
}

bool jdict_get(const jdict *d, jv k, jv *out) {
    for (size_t i = 0; i < d->n; i++)
        if (hashable_equal(d->k[i], k)) {
            *out = d->v[i];
            return true;
        }
    return false;
}

bool jdict_get_str(const jdict *d, const char *k, jv *out) {
    size_t n = strlen(k);
    for (size_t i = 0; i < d->n; i++)
        if (d->k[i].t == JV_STR && d->k[i].u.s.n == n && memcmp(d->k[i].u.s.p, k, n) == 0) {
            *out = d->v[i];
            return true;
        }
    return false;
}

jv jv_list(jlist *l, uint8_t flags) {
    jv v = {.t = JV_LIST, .flags = flags};
    v.u.l = l;
    return v;
}

jv jv_dict(jdict *d, uint8_t flags) {
    jv v = {.t = JV_DICT, .flags = flags};
    v.u.d = d;
    return v;
}

/* ---- Python semantics ------------------------------------------------------------- */
bool jv_truthy(jv v) {
    switch (v.t) {
    case JV_UNDEF:
    case JV_NONE: return false;
    case JV_BOOL: return v.u.b;
    case JV_INT: return v.u.i != 0;
    case JV_FLOAT: return v.u.f != 0.0;
    case JV_STR: return v.u.s.n != 0;
    case JV_LIST: return v.u.l->n != 0;
    case JV_DICT: return (v.flags & JF_NAMESPACE) || v.u.d->n != 0;
    default: return true;
    }
}

bool jv_is_number(jv v) { return v.t == JV_INT || v.t == JV_FLOAT || v.t == JV_BOOL; }

double jv_num(jv v) {
    if (v.t == JV_INT) return (double)v.u.i;
    if (v.t == JV_BOOL) return v.u.b;
    return v.u.f;
}

bool jv_equal(jv a, jv b) {
    if (jv_is_number(a) && jv_is_number(b)) {
        if (a.t != JV_FLOAT && b.t != JV_FLOAT) {
            int64_t x = a.t == JV_BOOL ? a.u.b : a.u.i, y = b.t == JV_BOOL ? b.u.b : b.u.i;
            return x == y;
        }
        return jv_num(a) == jv_num(b);
    }
    if (a.t != b.t) return false;
    switch (a.t) {
    case JV_UNDEF:
    case JV_NONE: return true;
    case JV_STR: return a.u.s.n == b.u.s.n && memcmp(a.u.s.p, b.u.s.p, a.u.s.n) == 0;
    case JV_LIST:
        if ((a.flags & (JF_TUPLE | JF_RANGE)) != (b.flags & (JF_TUPLE | JF_RANGE)) || a.u.l->n != b.u.l->n) return false;
        for (size_t i = 0; i < a.u.l->n; i++)
            if (!jv_equal(a.u.l->v[i], b.u.l->v[i])) return false;
        return true;
    case JV_DICT:
        if (a.flags & JF_NAMESPACE || b.flags & JF_NAMESPACE) return a.u.d == b.u.d;
        if (a.u.d->n != b.u.d->n) return false;
        for (size_t i = 0; i < a.u.d->n; i++) {
            jv o;
            if (!jdict_get(b.u.d, a.u.d->k[i], &o) || !jv_equal(a.u.d->v[i], o)) return false;
        }
        return true;
    case JV_MACRO: return a.u.m == b.u.m;
    case JV_FUNC: return a.u.fn == b.u.fn;
    default: return false;
    }
}

bool jv_compare(jv a, jv b, int *cmp) {
    if (jv_is_number(a) && jv_is_number(b)) {
        double x = jv_num(a), y = jv_num(b);
        if (a.t != JV_FLOAT && b.t != JV_FLOAT) {
            int64_t p = a.t == JV_BOOL ? a.u.b : a.u.i, q = b.t == JV_BOOL ? b.u.b : b.u.i;
            *cmp = p < q ? -1 : p > q;
        } else {
            *cmp = x < y ? -1 : x > y;
        }
        return true;
    }
    if (a.t == JV_STR && b.t == JV_STR) {
        /* UTF-8 byte order is code point order */
        size_t n = a.u.s.n < b.u.s.n ? a.u.s.n : b.u.s.n;
        int c = memcmp(a.u.s.p, b.u.s.p, n);
        *cmp = c < 0 ? -1 : c > 0 ? 1 : a.u.s.n < b.u.s.n ? -1 : a.u.s.n > b.u.s.n;
        return true;
    }
    if (a.t == JV_LIST && b.t == JV_LIST && !((a.flags | b.flags) & JF_RANGE) && (a.flags & JF_TUPLE) == (b.flags & JF_TUPLE)) {
        size_t n = a.u.l->n < b.u.l->n ? a.u.l->n : b.u.l->n;
        for (size_t i = 0; i < n; i++) {
            if (jv_equal(a.u.l->v[i], b.u.l->v[i])) continue;
            return jv_compare(a.u.l->v[i], b.u.l->v[i], cmp);
        }
        *cmp = a.u.l->n < b.u.l->n ? -1 : a.u.l->n > b.u.l->n;
        return true;
    }
    return false;
}

const char *jv_type_name(jv v) {
    switch (v.t) {
    case JV_UNDEF: return "Undefined";
    case JV_NONE: return "NoneType";
    case JV_BOOL: return "bool";
    case JV_INT: return "int";
    case JV_FLOAT: return "float";
    case JV_STR: return "str";
    case JV_LIST: return v.flags & JF_TUPLE ? "tuple" : v.flags & JF_RANGE ? "range" : "list";
    case JV_DICT: return v.flags & JF_NAMESPACE ? "Namespace" : "dict";
    case JV_LOOP: return "LoopContext";
    case JV_MACRO: return "Macro";
    case JV_FUNC: return "function";
    case JV_METHOD: return "builtin_function_or_method";
    }
    return "object";
}

/* Python's repr of a float: the shortest digits that round-trip, fixed notation for
 * decimal exponents in [-4, 16), scientific otherwise. */
void jv_format_float(double f, char *buf, size_t cap) {
    if (isnan(f)) {
        snprintf(buf, cap, "nan");
        return;
    }
    if (isinf(f)) {
        snprintf(buf, cap, f < 0 ? "-inf" : "inf");
        return;
    }
    char tmp[64];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, f);
        if (strtod(tmp, NULL) == f) break;
    }
    /* tmp: [-]d[.ddd]e[+-]XX */
    const char *p = tmp;
    bool neg = *p == '-';
    if (neg) p++;
    char digits[32];
    int nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.') digits[nd++] = *p;
    int exp = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = 0;
    char out[64];
    int o = 0;
    if (neg) out[o++] = '-';
    if (exp < -4 || exp >= 16) {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            for (int i = 1; i < nd; i++) out[o++] = digits[i];
        }
        o += snprintf(out + o, sizeof out - o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (exp < 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -exp - 1; i++) out[o++] = '0';
        for (int i = 0; i < nd; i++) out[o++] = digits[i];
        out[o] = 0;
    } else {
        for (int i = 0; i <= exp; i++) out[o++] = i < nd ? digits[i] : '0';
        out[o++] = '.';
        if (nd > exp + 1)
            for (int i = exp + 1; i < nd; i++) out[o++] = digits[i];
        else
            out[o++] = '0';
        out[o] = 0;
    }
    snprintf(buf, cap, "%s", out);
}

/* ---- UTF-8 -------------------------------------------------------------------------- */
int ju_decode(const char *s, size_t n, uint32_t *cp) {
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    int len = u[0] >= 0xF0 ? 4 : u[0] >= 0xE0 ? 3 : u[0] >= 0xC0 ? 2 : 1;
    if (len == 1 || (size_t)len > n) {
        *cp = u[0];
        return 1;
    }
    uint32_t c = u[0] & (0x7F >> len);
    for (int i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80) {
            *cp = u[0];
            return 1;
        }
        c = (c << 6) | (u[i] & 0x3F);
    }
    *cp = c;
    return len;
}

size_t ju_len(const char *s, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += ju_decode(s + i, n - i, &cp);
        k++;
    }
    return k;
}

size_t ju_offset(const char *s, size_t n, size_t cp) {
    size_t i = 0;
    while (cp-- > 0 && i < n) {
        uint32_t c;
        i += ju_decode(s + i, n - i, &c);
    }
    return i;
}

bool ju_is_space(uint32_t c) {
    return c == ' ' || (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x1f) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* ---- str() and repr() ----------------------------------------------------------------- */
static bool write_str_repr(jbuf *b, const char *s, size_t n) {
    bool has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
    char q = has_sq && !has_dq ? '"' : '\'';
    jbuf_putc(b, q);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == (unsigned char)q || c == '\\') {
            jbuf_putc(b, '\\');
            jbuf_putc(b, (char)c);
        } else if (c == '\n') {
            jbuf_puts(b, "\\n");
        } else if (c == '\r') {
            jbuf_puts(b, "\\r");
        } else if (c == '\t') {
            jbuf_puts(b, "\\t");
        } else if (c < 0x20 || c == 0x7f) {
            jbuf_printf(b, "\\x%02x", c);
        } else {
            jbuf_putc(b, (char)c);
        }
    }
    return jbuf_putc(b, q);
}

bool jv_write_repr(jbuf *b, jv v) {
    switch (v.t) {
    case JV_STR: return write_str_repr(b, v.u.s.p, v.u.s.n);
    case JV_UNDEF: return jbuf_puts(b, "Undefined");
    case JV_LIST: {
        if (v.flags & JF_RANGE) {
            jlist *l = v.u.l;
            if (l->r_step == 1) return jbuf_printf(b, "range(%lld, %lld)", (long long)l->r_start, (long long)l->r_stop);
            return jbuf_printf(b, "range(%lld, %lld, %lld)", (long long)l->r_start, (long long)l->r_stop,
                               (long long)l->r_step);
        }
        bool tuple = v.flags & JF_TUPLE;
        jbuf_putc(b, tuple ? '(' : '[');
        for (size_t i = 0; i < v.u.l->n; i++) {
            if (i) jbuf_puts(b, ", ");
            jv_write_repr(b, v.u.l->v[i]);
        }
        if (tuple && v.u.l->n == 1) jbuf_putc(b, ',');
        return jbuf_putc(b, tuple ? ')' : ']');
    }
    case JV_DICT:
        if (v.flags & JF_NAMESPACE) {
            jbuf_puts(b, "<Namespace {");
        } else {
            jbuf_putc(b, '{');
        }
        for (size_t i = 0; i < v.u.d->n; i++) {
            if (i) jbuf_puts(b, ", ");
            jv_write_repr(b, v.u.d->k[i]);
            jbuf_puts(b, ": ");
            jv_write_repr(b, v.u.d->v[i]);
        }
        return jbuf_puts(b, v.flags & JF_NAMESPACE ? "}>" : "}");
    default: return jv_write_str(b, v);
    }
}

bool jv_write_str(jbuf *b, jv v) {
    char tmp[64];
    switch (v.t) {
    case JV_UNDEF: return true;
    case JV_NONE: return jbuf_puts(b, "None");
    case JV_BOOL: return jbuf_puts(b, v.u.b ? "True" : "False");
    case JV_INT: return jbuf_printf(b, "%lld", (long long)v.u.i);
    case JV_FLOAT:
        jv_format_float(v.u.f, tmp, sizeof tmp);
        return jbuf_puts(b, tmp);
    case JV_STR: return jbuf_put(b, v.u.s.p, v.u.s.n);
    case JV_MACRO: return jbuf_puts(b, "<Macro>");
    case JV_FUNC: return jbuf_puts(b, "<function>");
    case JV_METHOD: return jbuf_printf(b, "<built-in method %s>", v.u.meth->name);
    case JV_LOOP: return jbuf_puts(b, "<LoopContext>");
    default: return jv_write_repr(b, v);
    }
}

/* ---- json.dumps ------------------------------------------------------------------------ */
static bool json_string(jbuf *b, const char *s, size_t n, bool ensure_ascii) {
    jbuf_putc(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') jbuf_puts(b, "\\\"");
        else if (c == '\\') jbuf_puts(b, "\\\\");
        else if (c == '\n') jbuf_puts(b, "\\n");
        else if (c == '\r') jbuf_puts(b, "\\r");
        else if (c == '\t') jbuf_puts(b, "\\t");
        else if (c == '\b') jbuf_puts(b, "\\b");
        else if (c == '\f') jbuf_puts(b, "\\f");
        else if (c < 0x20) jbuf_printf(b, "\\u%04x", c);
        else if (c < 0x80 || !ensure_ascii) {
            if (c >= 0x80 || !ensure_ascii) {
                /* pass whole UTF-8 sequences (and invalid bytes) through */
                jbuf_putc(b, (char)c);
            } else {
                jbuf_putc(b, (char)c);
            }
        } else {
            uint32_t cp;
            int k = ju_decode(s + i, n - i, &cp);
            if (cp >= 0x10000) {
                cp -= 0x10000;
                jbuf_printf(b, "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
            } else {
                jbuf_printf(b, "\\u%04x", cp);
            }
            i += k;
            continue;
        }
        i++;
    }
    return jbuf_putc(b, '"');
}

static void json_newline(jbuf *b, const jjson_opts *o, int level) {
    jbuf_putc(b, '\n');
    for (int i = 0; i < level * o->indent; i++) jbuf_putc(b, ' ');
}

static int cmp_keys(const void *x, const void *y) {
    const jv *a = *(const jv *const *)x, *b = *(const jv *const *)y;
    int c = 0;
    jv_compare(*a, *b, &c);
    return c;
}

bool jv_write_json(jbuf *b, jv v, const jjson_opts *o, int depth, const char **why) {
    char tmp[64];
    if (depth > JINJA_MAX_DEPTH) {
        *why = "nesting too deep";
        return false;
    }
    const char *item_sep = o->item_sep ? o->item_sep : o->indent >= 0 ? "," : ", ";
    const char *key_sep = o->key_sep ? o->key_sep : ": ";
    switch (v.t) {
    case JV_NONE: return jbuf_puts(b, "null");
    case JV_BOOL: return jbuf_puts(b, v.u.b ? "true" : "false");
    case JV_INT: return jbuf_printf(b, "%lld", (long long)v.u.i);
    case JV_FLOAT:
        if (isnan(v.u.f)) return jbuf_puts(b, "NaN");
        if (isinf(v.u.f)) return jbuf_puts(b, v.u.f < 0 ? "-Infinity" : "Infinity");
        jv_format_float(v.u.f, tmp, sizeof tmp);
        return jbuf_puts(b, tmp);
    case JV_STR: return json_string(b, v.u.s.p, v.u.s.n, o->ensure_ascii);
    case JV_LIST:
        if (v.flags & JF_RANGE) break;
        if (v.u.l->n == 0) return jbuf_puts(b, "[]");
        jbuf_putc(b, '[');
        for (size_t i = 0; i < v.u.l->n; i++) {
            if (i) jbuf_puts(b, item_sep);
            if (o->indent >= 0) json_newline(b, o, depth + 1);
            if (!jv_write_json(b, v.u.l->v[i], o, depth + 1, why)) return false;
        }
        if (o->indent >= 0) json_newline(b, o, depth);
        return jbuf_putc(b, ']');
    case JV_DICT: {
        if (v.flags & JF_NAMESPACE) break;
        jdict *d = v.u.d;
        if (d->n == 0) return jbuf_puts(b, "{}");
        size_t *order = malloc(d->n * sizeof *order);
        const jv **keys = malloc(d->n * sizeof *keys);
        if (!order || !keys) {
            free(order);
            free(keys);
            *why = "out of memory";
            return false;
        }
        for (size_t i = 0; i < d->n; i++) keys[i] = &d->k[i];
        if (o->sort_keys) qsort(keys, d->n, sizeof *keys, cmp_keys);
        for (size_t i = 0; i < d->n; i++) order[i] = (size_t)(keys[i] - d->k);
        free(keys);
        jbuf_putc(b, '{');
        bool ok = true;
        for (size_t j = 0; j < d->n && ok; j++) {
            size_t i = order[j];
            if (j) jbuf_puts(b, item_sep);
            if (o->indent >= 0) json_newline(b, o, depth + 1);
            jv k = d->k[i];
            /* json.dumps turns non-string keys into strings */
            if (k.t == JV_STR) {
                json_string(b, k.u.s.p, k.u.s.n, o->ensure_ascii);
            } else if (k.t == JV_INT || k.t == JV_FLOAT || k.t == JV_BOOL || k.t == JV_NONE) {
                jbuf_putc(b, '"');
                if (k.t == JV_BOOL) jbuf_puts(b, k.u.b ? "true" : "false");
                else if (k.t == JV_NONE) jbuf_puts(b, "null");
                else jv_write_str(b, k);
                jbuf_putc(b, '"');
            } else {
                *why = "keys must be str, int, float, bool or None";
                ok = false;
                break;
            }
            jbuf_puts(b, key_sep);
            ok = jv_write_json(b, d->v[i], o, depth + 1, why);
        }
        free(order);
        if (!ok) return false;
        if (o->indent >= 0) json_newline(b, o, depth);
        return jbuf_putc(b, '}');
    }
    default: break;
    }
    *why = jv_type_name(v);
    return false;
}
