/* jinja_builtins.c — jinja2's built-in filters and tests, the Python str/dict/list methods
 * chat templates call, and the globals transformers provides (raise_exception,
 * strftime_now) next to jinja2's (range, namespace, dict). Semantics are Python's. */
#include "jinja.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool str_is(jv s, int kind);

/* ---- arguments ---------------------------------------------------------------------- */

/* Argument number pos (counting positional ones) or the keyword `name`. */
static bool arg(const jargs *a, int pos, const char *name, jv *out) {
    int k = 0;
    for (int i = 0; i < a->n; i++) {
        if (a->names && a->names[i]) {
            if (name && strcmp(a->names[i], name) == 0) {
                *out = a->v[i];
                return true;
            }
        } else if (k++ == pos) {
            *out = a->v[i];
            return true;
        }
    }
    return false;
}

static jv arg_or(const jargs *a, int pos, const char *name, jv def) {
    jv v;
    return arg(a, pos, name, &v) ? v : def;
}

static int n_positional(const jargs *a) {
    int k = 0;
    for (int i = 0; i < a->n; i++)
        if (!a->names || !a->names[i]) k++;
    return k;
}

static bool oom(jctx *c, const jnode *at) { return jinja_fail(c, at, "out of memory (or template memory limit hit)"); }

static bool new_str(jctx *c, const jnode *at, jbuf *b, jv *out) {
    if (b->overflow) {
        jbuf_free(b);
        return jinja_fail(c, at, "string too long");
    }
    char *p = jarena_strdup(jinja_arena(c), b->p ? b->p : "", b->n);
    size_t n = b->n;
    jbuf_free(b);
    if (!p) return oom(c, at);
    *out = jv_str(p, n);
    return true;
}

/* Arguments that must be strings (str() of undefined is ""). */
static bool want_str(jctx *c, const jnode *at, jv v, const char *what, jv *out) {
    if (v.t == JV_STR) {
        *out = v;
        return true;
    }
    return jinja_fail(c, at, "%s must be a string, not '%s'", what, jv_type_name(v));
}

/* ---- string helpers ------------------------------------------------------------------- */
static bool cp_in(uint32_t cp, jv chars) {
    for (size_t i = 0; i < chars.u.s.n;) {
        uint32_t d;
        i += (size_t)ju_decode(chars.u.s.p + i, chars.u.s.n - i, &d);
        if (d == cp) return true;
    }
    return false;
}

/* Python str.strip/lstrip/rstrip: whitespace, or the characters in chars. */
static jv strip(jv s, jv chars, bool left, bool right) {
    const char *p = s.u.s.p;
    size_t b = 0, e = s.u.s.n;
    bool ws = chars.t != JV_STR;
    if (left)
        while (b < e) {
            uint32_t cp;
            int k = ju_decode(p + b, e - b, &cp);
            if (ws ? !ju_is_space(cp) : !cp_in(cp, chars)) break;
            b += (size_t)k;
        }
    if (right)
        while (e > b) {
            size_t q = e - 1;
            while (q > b && ((unsigned char)p[q] & 0xC0) == 0x80) q--;
            uint32_t cp;
            ju_decode(p + q, e - q, &cp);
            if (ws ? !ju_is_space(cp) : !cp_in(cp, chars)) break;
            e = q;
        }
    return jv_str(p + b, e - b);
}

static bool str_replace(jctx *c, const jnode *at, jv s, jv old, jv new, int64_t count, jv *out) {
    jbuf b = {.limit = JINJA_MAX_OUTPUT};
    size_t i = 0;
    int64_t done = 0;
    if (old.u.s.n == 0) {
        /* Python inserts `new` before every character and at the end */
        while (i <= s.u.s.n) {
            if (count >= 0 && done >= count) break;
            jbuf_put(&b, new.u.s.p, new.u.s.n);
            done++;
            if (i == s.u.s.n) {
                i++;
                break;
            }
            uint32_t cp;
            int k = ju_decode(s.u.s.p + i, s.u.s.n - i, &cp);
            jbuf_put(&b, s.u.s.p + i, (size_t)k);
            i += (size_t)k;
        }
        if (i <= s.u.s.n) jbuf_put(&b, s.u.s.p + i, s.u.s.n - i);
        return new_str(c, at, &b, out);
    }
    while (i < s.u.s.n) {
        const char *hit = (count < 0 || done < count) ? memmem(s.u.s.p + i, s.u.s.n - i, old.u.s.p, old.u.s.n) : NULL;
        if (!hit) break;
        size_t h = (size_t)(hit - s.u.s.p);
        jbuf_put(&b, s.u.s.p + i, h - i);
        jbuf_put(&b, new.u.s.p, new.u.s.n);
        i = h + old.u.s.n;
        done++;
    }
    jbuf_put(&b, s.u.s.p + i, s.u.s.n - i);
    return new_str(c, at, &b, out);
}

/* Python str.split(sep=None, maxsplit=-1) and rsplit (from the right). */
static bool str_split(jctx *c, const jnode *at, jv s, jv sep, int64_t maxsplit, bool from_right, jv *out) {
    jarena *a = jinja_arena(c);
    jlist *l = jlist_new(a, 0);
    if (!l) return oom(c, at);
    const char *p = s.u.s.p;
    size_t n = s.u.s.n;
    if (sep.t == JV_STR && sep.u.s.n == 0) return jinja_fail(c, at, "empty separator");
    if (sep.t != JV_STR) {
        /* runs of whitespace, no empty strings */
        jlist *parts = jlist_new(a, 0);
        if (!parts) return oom(c, at);
        size_t i = 0;
        while (i < n) {
            uint32_t cp;
            int k = ju_decode(p + i, n - i, &cp);
            if (ju_is_space(cp)) {
                i += (size_t)k;
                continue;
            }
            size_t b = i;
            while (i < n) {
                k = ju_decode(p + i, n - i, &cp);
                if (ju_is_space(cp)) break;
                i += (size_t)k;
            }
            if (!jlist_push(a, parts, jv_str(p + b, i - b))) return oom(c, at);
        }
        if (maxsplit < 0 || (size_t)maxsplit + 1 >= parts->n) {
            *out = jv_list(parts, 0);
            return true;
        }
        /* keep the remainder (with its inner whitespace) as the last part */
        if (!from_right) {
            for (int64_t j = 0; j < maxsplit; j++) jlist_push(a, l, parts->v[j]);
            jv rest = parts->v[maxsplit];
            jv tail = jv_str(rest.u.s.p, (size_t)(p + n - rest.u.s.p));
            jv none = jv_none();
            jlist_push(a, l, strip(tail, none, false, true));
        } else {
            size_t keep = parts->n - (size_t)maxsplit;
            jv last = parts->v[keep - 1];
            jlist_push(a, l, jv_str(p + (parts->v[0].u.s.p - p), (size_t)(last.u.s.p + last.u.s.n - parts->v[0].u.s.p)));
            for (size_t j = keep; j < parts->n; j++) jlist_push(a, l, parts->v[j]);
        }
        *out = jv_list(l, 0);
        return true;
    }
    if (!from_right) {
        size_t i = 0;
        int64_t done = 0;
        for (;;) {
            const char *hit = (maxsplit < 0 || done < maxsplit) ? memmem(p + i, n - i, sep.u.s.p, sep.u.s.n) : NULL;
            if (!hit) break;
            if (!jlist_push(a, l, jv_str(p + i, (size_t)(hit - p) - i))) return oom(c, at);
            i = (size_t)(hit - p) + sep.u.s.n;
            done++;
        }
        if (!jlist_push(a, l, jv_str(p + i, n - i))) return oom(c, at);
    } else {
        jlist *rev = jlist_new(a, 0);
        if (!rev) return oom(c, at);
        size_t e = n;
        int64_t done = 0;
        while (maxsplit < 0 || done < maxsplit) {
            size_t found = (size_t)-1;
            for (size_t j = e; j >= sep.u.s.n; j--)
                if (memcmp(p + j - sep.u.s.n, sep.u.s.p, sep.u.s.n) == 0) {
                    found = j - sep.u.s.n;
                    break;
                }
            if (found == (size_t)-1) break;
            jlist_push(a, rev, jv_str(p + found + sep.u.s.n, e - found - sep.u.s.n));
            e = found;
            done++;
        }
        jlist_push(a, rev, jv_str(p, e));
        for (size_t j = rev->n; j-- > 0;) jlist_push(a, l, rev->v[j]);
    }
    *out = jv_list(l, 0);
    return true;
}

/* ASCII case mapping plus Latin-1/Cyrillic/Greek basic ranges (what chat templates meet). */
static uint32_t cp_upper(uint32_t c) {
    if (c >= 'a' && c <= 'z') return c - 32;
    if ((c >= 0xE0 && c <= 0xFE && c != 0xF7)) return c - 32;
    if (c >= 0x430 && c <= 0x44F) return c - 32;
    if (c >= 0x450 && c <= 0x45F) return c - 80;
    if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) return c - 32;
    return c;
}
static uint32_t cp_lower(uint32_t c) {
    if (c >= 'A' && c <= 'Z') return c + 32;
    if ((c >= 0xC0 && c <= 0xDE && c != 0xD7)) return c + 32;
    if (c >= 0x410 && c <= 0x42F) return c + 32;
    if (c >= 0x400 && c <= 0x40F) return c + 80;
    if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
    return c;
}
static bool cp_is_alpha(uint32_t c) { return cp_upper(c) != c || cp_lower(c) != c; }

static void put_cp(jbuf *b, uint32_t cp) {
    char o[4];
    int k = 0;
    if (cp < 0x80) o[k++] = (char)cp;
    else if (cp < 0x800) o[k++] = (char)(0xC0 | (cp >> 6)), o[k++] = (char)(0x80 | (cp & 0x3F));
    else if (cp < 0x10000)
        o[k++] = (char)(0xE0 | (cp >> 12)), o[k++] = (char)(0x80 | ((cp >> 6) & 0x3F)), o[k++] = (char)(0x80 | (cp & 0x3F));
    else
        o[k++] = (char)(0xF0 | (cp >> 18)), o[k++] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        o[k++] = (char)(0x80 | ((cp >> 6) & 0x3F)), o[k++] = (char)(0x80 | (cp & 0x3F));
    jbuf_put(b, o, (size_t)k);
}

/* mode: 'u' upper, 'l' lower, 'c' capitalize, 't' title */
static bool str_case(jctx *c, const jnode *at, jv s, char mode, jv *out) {
    jbuf b = {.limit = JINJA_MAX_OUTPUT};
    bool prev_alpha = false;
    for (size_t i = 0; i < s.u.s.n;) {
        uint32_t cp;
        int k = ju_decode(s.u.s.p + i, s.u.s.n - i, &cp);
        if (k == 1 && cp >= 0x80) {
            jbuf_put(&b, s.u.s.p + i, 1); /* invalid byte: keep */
            i++;
            continue;
        }
        uint32_t r = cp;
        if (mode == 'u') r = cp_upper(cp);
        else if (mode == 'l') r = cp_lower(cp);
        else if (mode == 'c') r = i == 0 ? cp_upper(cp) : cp_lower(cp);
        else r = prev_alpha ? cp_lower(cp) : cp_upper(cp);
        prev_alpha = cp_is_alpha(cp);
        put_cp(&b, r);
        i += (size_t)k;
    }
    return new_str(c, at, &b, out);
}

static bool str_affix(jv s, jv x, bool start) {
    if (x.t != JV_STR || x.u.s.n > s.u.s.n) return false;
    return memcmp(start ? s.u.s.p : s.u.s.p + s.u.s.n - x.u.s.n, x.u.s.p, x.u.s.n) == 0;
}

/* ---- sorting (stable, as Python's) ----------------------------------------------------- */
typedef struct sort_ctx {
    jctx *c;
    const jnode *at;
    bool case_sensitive, failed;
} sort_ctx;

static int sort_cmp(sort_ctx *S, jv a, jv b) {
    if (S->failed) return 0;
    if (!S->case_sensitive && a.t == JV_STR && b.t == JV_STR) {
        jv la, lb;
        if (!str_case(S->c, S->at, a, 'l', &la) || !str_case(S->c, S->at, b, 'l', &lb)) {
            S->failed = true;
            return 0;
        }
        a = la;
        b = lb;
    }
    int r;
    if (!jv_compare(a, b, &r)) {
        jinja_fail(S->c, S->at, "'<' not supported between instances of '%s' and '%s'", jv_type_name(a), jv_type_name(b));
        S->failed = true;
        return 0;
    }
    return r;
}

/* Merge sort of items by keys (parallel arrays of n). */
static void msort(sort_ctx *S, jv *keys, jv *items, jv *tk, jv *ti, size_t n, bool reverse) {
    if (n < 2) return;
    size_t m = n / 2;
    msort(S, keys, items, tk, ti, m, reverse);
    msort(S, keys + m, items + m, tk, ti, n - m, reverse);
    size_t i = 0, j = m, o = 0;
    while (i < m && j < n) {
        int r = sort_cmp(S, keys[j], keys[i]);
        bool take_right = reverse ? r > 0 : r < 0;
        if (take_right) tk[o] = keys[j], ti[o++] = items[j++];
        else tk[o] = keys[i], ti[o++] = items[i++];
    }
    while (i < m) tk[o] = keys[i], ti[o++] = items[i++];
    while (j < n) tk[o] = keys[j], ti[o++] = items[j++];
    memcpy(keys, tk, n * sizeof(jv));
    memcpy(items, ti, n * sizeof(jv));
}

/* Attribute path "a.b.0" on a value, as jinja2's make_attrgetter (getitem per part). */
static bool attr_path(jctx *c, const jnode *at, jv v, jv path, jv *out) {
    if (path.t == JV_INT) {
        if (v.t == JV_LIST && path.u.i >= 0 && (size_t)path.u.i < v.u.l->n) *out = v.u.l->v[path.u.i];
        else *out = jv_undef(NULL);
        return true;
    }
    if (path.t != JV_STR) return jinja_fail(c, at, "attribute must be a string");
    const char *p = path.u.s.p, *e = p + path.u.s.n;
    while (p <= e) {
        const char *dot = memchr(p, '.', (size_t)(e - p));
        if (!dot) dot = e;
        char *name = jarena_strdup(jinja_arena(c), p, (size_t)(dot - p));
        if (!name) return oom(c, at);
        bool digits = dot > p;
        for (const char *q = p; q < dot; q++) digits &= *q >= '0' && *q <= '9';
        if (v.t == JV_UNDEF) {
            *out = v;
            return true;
        }
        if (digits && v.t == JV_LIST) {
            long k = strtol(name, NULL, 10);
            v = (size_t)k < v.u.l->n ? v.u.l->v[k] : jv_undef(name);
        } else if (v.t == JV_DICT) {
            jv tmp;
            v = jdict_get_str(v.u.d, name, &tmp) ? tmp : jv_undef(name);
        } else if (!jinja_getattr(c, at, v, name, (size_t)(dot - p), &v)) {
            return false;
        }
        p = dot + 1;
    }
    *out = v;
    return true;
}

static bool sort_values(jctx *c, const jnode *at, jlist *src, jv attribute, bool reverse, bool case_sensitive,
                        jlist **out) {
    jarena *a = jinja_arena(c);
    size_t n = src->n;
    jlist *l = jlist_new(a, n);
    jv *keys = jarena_alloc(a, (n + 1) * sizeof(jv)), *tk = jarena_alloc(a, (n + 1) * sizeof(jv)),
       *ti = jarena_alloc(a, (n + 1) * sizeof(jv));
    if (!l || !keys || !tk || !ti) return oom(c, at);
    for (size_t i = 0; i < n; i++) {
        l->v[i] = src->v[i];
        keys[i] = src->v[i];
        if (attribute.t != JV_UNDEF && attribute.t != JV_NONE && !attr_path(c, at, src->v[i], attribute, &keys[i]))
            return false;
    }
    l->n = n;
    sort_ctx S = {.c = c, .at = at, .case_sensitive = case_sensitive};
    msort(&S, keys, l->v, tk, ti, n, reverse);
    if (S.failed) return false;
    *out = l;
    return true;
}

/* ---- filters --------------------------------------------------------------------------- */
static bool to_list(jctx *c, const jnode *at, jv v, jlist **out) { return jinja_iterate(c, at, v, out); }

static bool filter_tojson(jctx *c, const jnode *at, jv self, const jargs *args, jv *out) {
    /* transformers' tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False) */
    jjson_opts o = {.indent = -1};
    o.ensure_ascii = jv_truthy(arg_or(args, 0, "ensure_ascii", jv_bool(false)));
    jv ind = arg_or(args, 1, "indent", jv_none());
    if (ind.t == JV_INT) o.indent = ind.u.i < 0 ? 0 : ind.u.i > 64 ? 64 : (int)ind.u.i;
    else if (ind.t != JV_NONE) return jinja_fail(c, at, "tojson: indent must be an integer");
    jv sep = arg_or(args, 2, "separators", jv_none());
    if (sep.t == JV_LIST && sep.u.l->n == 2 && sep.u.l->v[0].t == JV_STR && sep.u.l->v[1].t == JV_STR) {
        o.item_sep = jarena_strdup(jinja_arena(c), sep.u.l->v[0].u.s.p, sep.u.l->v[0].u.s.n);
        o.key_sep = jarena_strdup(jinja_arena(c), sep.u.l->v[1].u.s.p, sep.u.l->v[1].u.s.n);
        if (!o.item_sep || !o.key_sep) return oom(c, at);
    } else if (sep.t != JV_NONE) {
        return jinja_fail(c, at, "tojson: separators must be a pair of strings");
    }
    o.sort_keys = jv_truthy(arg_or(args, 3, "sort_keys", jv_bool(false)));
    jbuf b = {.limit = JINJA_MAX_OUTPUT};
    const char *why = NULL;
    if (!jv_write_json(&b, self, &o, 0, &why)) {
        jbuf_free(&b);
        if (why && strcmp(why, "nesting too deep") == 0) return jinja_fail(c, at, "tojson: nesting too deep");
        return jinja_fail(c, at, "Object of type %s is not JSON serializable", why ? why : "?");
    }
    return new_str(c, at, &b, out);
}

static bool filter_join(jctx *c, const jnode *at, jv self, const jargs *args, jv *out) {
    jv sep = arg_or(args, 0, "d", jv_str("", 0)), attribute = arg_or(args, 1, "attribute", jv_none());
    jlist *l;
    if (!to_list(c, at, self, &l)) return false;
    jv ssep;
    if (!jinja_to_str(c, at, sep, &ssep)) return false;
    jbuf b = {.limit = JINJA_MAX_OUTPUT};
    for (size_t i = 0; i < l->n; i++) {
        jv v = l->v[i];
        if (attribute.t != JV_NONE && !attr_path(c, at, v, attribute, &v)) {
            jbuf_free(&b);
            return false;
        }
        if (i) jbuf_put(&b, ssep.u.s.p, ssep.u.s.n);
        jv_write_str(&b, v);
    }
    return new_str(c, at, &b, out);
}

/* select/reject/selectattr/rejectattr: keep items whose test (or truthiness) is `want`. */
static bool filter_select(jctx *c, const jnode *at, jv self, const jargs *args, bool by_attr, bool want, jv *out) {
    jlist *l;
    if (!jv_truthy(self)) self = jv_undef(NULL); /* jinja2: `if seq:` before iterating */
    if (!to_list(c, at, self, &l)) return false;
    jv attribute = jv_none(), test = jv_none();
    int first = 0;
    if (by_attr) {
        if (!arg(args, 0, NULL, &attribute)) return jinja_fail(c, at, "selectattr/rejectattr need an attribute");
        first = 1;
    }
    bool have_test = arg(args, first, NULL, &test);
    if (have_test && test.t != JV_STR) return jinja_fail(c, at, "test name must be a string");
    char *tname = have_test ? jarena_strdup(jinja_arena(c), test.u.s.p, test.u.s.n) : NULL;
    jargs rest = {0};
    if (have_test) {
        /* the remaining positional arguments go to the test */
        int skip = first + 1, k = 0;
        rest.v = args->v;
        rest.n = 0;
        for (int i = 0; i < args->n; i++) {
            if (args->names && args->names[i]) continue;
            if (k++ >= skip) {
                rest.v = args->v + i;
                rest.n = args->n - i;
                rest.names = args->names ? args->names + i : NULL;
                break;
            }
        }
    }
    jlist *r = jlist_new(jinja_arena(c), 0);
    if (!r) return oom(c, at);
    for (size_t i = 0; i < l->n; i++) {
        jv v = l->v[i];
        if (by_attr && !attr_path(c, at, v, attribute, &v)) return false;
        bool t;
        if (tname) {
            if (!jinja_test(c, at, tname, v, &rest, &t)) return false;
        } else {
            t = jv_truthy(v);
        }
        if (t == want && !jlist_push(jinja_arena(c), r, l->v[i])) return oom(c, at);
    }
    *out = jv_list(r, 0);
    return true;
}

static bool filter_map(jctx *c, const jnode *at, jv self, const jargs *args, jv *out) {
    jlist *l;
    if (!jv_truthy(self)) self = jv_undef(NULL); /* jinja2: `if value:` before iterating */
    if (!to_list(c, at, self, &l)) return false;
    jv attribute;
    bool by_attr = arg(args, -1, "attribute", &attribute);
    jv def = arg_or(args, -1, "default", jv_undef(NULL));
    jv fname = jv_none();
    jargs rest = {0};
    if (!by_attr) {
        if (!arg(args, 0, NULL, &fname) || fname.t != JV_STR) return jinja_fail(c, at, "map needs a filter name or attribute=");
        rest.v = args->v + 1;
        rest.n = args->n - 1;
        rest.names = args->names ? args->names + 1 : NULL;
    }
    char *name = fname.t == JV_STR ? jarena_strdup(jinja_arena(c), fname.u.s.p, fname.u.s.n) : NULL;
    jlist *r = jlist_new(jinja_arena(c), l->n);
    if (!r) return oom(c, at);
    for (size_t i = 0; i < l->n; i++) {
        jv v;
        if (by_attr) {
            if (!attr_path(c, at, l->v[i], attribute, &v)) return false;
            if (v.t == JV_UNDEF && def.t != JV_UNDEF) v = def;
        } else if (!jinja_filter(c, at, name, l->v[i], &rest, &v)) {
            return false;
        }
        r->v[r->n++] = v;
    }
    *out = jv_list(r, 0);
    return true;
}

static bool filter_indent(jctx *c, const jnode *at, jv self, const jargs *args, jv *out) {
    jv s = self;
    if (self.t != JV_STR) /* jinja2 does `s += "\n"` first */
        return jinja_fail(c, at, "indent: can only indent a string, not '%s'", jv_type_name(self));
    jv width = arg_or(args, 0, "width", jv_int(4));
    bool first = jv_truthy(arg_or(args, 1, "first", jv_bool(false)));
    bool blank = jv_truthy(arg_or(args, 2, "blank", jv_bool(false)));
    jv ind;
    if (width.t == JV_STR) {
        ind = width;
    } else if (width.t == JV_INT) {
        int64_t w = width.u.i < 0 ? 0 : width.u.i > 1024 ? 1024 : width.u.i;
        char *p = jarena_alloc(jinja_arena(c), (size_t)w + 1);
        if (!p) return oom(c, at);
        memset(p, ' ', (size_t)w);
        ind = jv_str(p, (size_t)w);
    } else {
        return jinja_fail(c, at, "indent: width must be an integer or a string");
    }
    /* jinja2: lines = (s + "\n").splitlines(); the first line as is, the others indented
     * unless empty (blank=True indents those too) */
    jbuf b = {.limit = JINJA_MAX_OUTPUT};
    if (first) jbuf_put(&b, ind.u.s.p, ind.u.s.n);
    char *p = jarena_alloc(jinja_arena(c), s.u.s.n + 2);
    if (!p) return oom(c, at);
    if (s.u.s.n) memcpy(p, s.u.s.p, s.u.s.n);
    size_t n = s.u.s.n;
    p[n++] = '\n'; /* every line of p now ends with a line break */
    size_t i = 0, line = 0;
    while (i < n) {
        size_t e = i;
        while (p[e] != '\n' && p[e] != '\r') e++;
        if (line > 0) {
            jbuf_putc(&b, '\n');
            if (blank || e > i) jbuf_put(&b, ind.u.s.p, ind.u.s.n);
        }
        jbuf_put(&b, p + i, e - i);
        line++;
        if (p[e] == '\r' && e + 1 < n && p[e + 1] == '\n') e++;
        i = e + 1;
    }
    return new_str(c, at, &b, out);
}

static bool filter_round(jctx *c, const jnode *at, jv self, const jargs *args, jv *out) {
    jv prec = arg_or(args, 0, "precision", jv_int(0));
    jv method = arg_or(args, 1, "method", jv_str("common", 6));
    if (!jv_is_number(self)) return jinja_fail(c, at, "round: not a number");
    if (prec.t != JV_INT) return jinja_fail(c, at, "round: precision must be an integer");
    double scale = pow(10.0, (double)prec.u.i), x = jv_num(self) * scale;
    double r;
    if (method.t == JV_STR && method.u.s.n == 4 && !memcmp(method.u.s.p, "ceil", 4)) r = ceil(x);
    else if (method.t == JV_STR && method.u.s.n == 5 && !memcmp(method.u.s.p, "floor", 5)) r = floor(x);
    else if (method.t == JV_STR && method.u.s.n == 6 && !memcmp(method.u.s.p, "common", 6)) {
        if (self.t != JV_FLOAT) { /* round(int, n) stays an int in Python */
            *out = self.t == JV_BOOL ? jv_int(self.u.b) : self;
            return true;
        }
        r = nearbyint(x);
    } else {
        return jinja_fail(c, at, "round: method must be 'common', 'ceil' or 'floor'");
    }
    *out = jv_float(r / scale);
    return true;
}

static bool filter_int(jctx *c, const jnode *at, jv self, const jargs *args, jv *out) {
    jv def = arg_or(args, 0, "default", jv_int(0));
    (void)c, (void)at;
    if (self.t == JV_INT) *out = self;
    else if (self.t == JV_BOOL) *out = jv_int(self.u.b);
    else if (self.t == JV_FLOAT && isfinite(self.u.f) && fabs(self.u.f) < 9.2e18) *out = jv_int((int64_t)self.u.f);
    else if (self.t == JV_STR) {
        char tmp[64];
        size_t n = self.u.s.n < 63 ? self.u.s.n : 63;
        memcpy(tmp, self.u.s.p, n);
        tmp[n] = 0;
        char *end;
        long long v = strtoll(tmp, &end, 10);
        while (*end == ' ' || *end == '\n' || *end == '\t') end++;
        if (end != tmp && !*end) *out = jv_int(v);
        else {
            double f = strtod(tmp, &end);
            while (*end == ' ' || *end == '\n' || *end == '\t') end++;
            *out = end != tmp && !*end && isfinite(f) && fabs(f) < 9.2e18 ? jv_int((int64_t)f) : def;
        }
    } else *out = def;
    return true;
}

static bool filter_float(jctx *c, const jnode *at, jv self, const jargs *args, jv *out) {
    jv def = arg_or(args, 0, "default", jv_float(0.0));
    (void)c, (void)at;
    if (jv_is_number(self)) *out = jv_float(jv_num(self));
    else if (self.t == JV_STR) {
        char tmp[64];
        size_t n = self.u.s.n < 63 ? self.u.s.n : 63;
        memcpy(tmp, self.u.s.p, n);
        tmp[n] = 0;
        char *end;
        double f = strtod(tmp, &end);
        while (*end == ' ' || *end == '\n' || *end == '\t') end++;
        *out = end != tmp && !*end ? jv_float(f) : def;
    } else *out = def;
    return true;
}

static bool filter_minmax(jctx *c, const jnode *at, jv self, const jargs *args, bool want_max, jv *out) {
    jlist *l;
    if (!to_list(c, at, self, &l)) return false;
    jv attribute = arg_or(args, 1, "attribute", jv_none());
    bool cs = jv_truthy(arg_or(args, 0, "case_sensitive", jv_bool(false)));
    if (l->n == 0) {
        *out = jv_undef(NULL);
        return true;
    }
    jlist *sorted;
    if (!sort_values(c, at, l, attribute, false, cs, &sorted)) return false;
    *out = want_max ? sorted->v[sorted->n - 1] : sorted->v[0];
    if (want_max) /* max keeps the first of equal maxima */
        for (size_t i = sorted->n - 1; i-- > 0;) {
            sort_ctx S = {.c = c, .at = at, .case_sensitive = cs};
            jv ka = sorted->v[i], kb = *out;
            if (attribute.t != JV_NONE && (!attr_path(c, at, ka, attribute, &ka) || !attr_path(c, at, kb, attribute, &kb)))
                return false;
            if (sort_cmp(&S, ka, kb) != 0) break;
            *out = sorted->v[i];
        }
    return true;
}

static bool filter_items(jctx *c, const jnode *at, jv self, jv *out) {
    jarena *a = jinja_arena(c);
    if (self.t == JV_UNDEF) {
        *out = jv_list(jlist_new(a, 0), 0);
        return out->u.l ? true : oom(c, at);
    }
    if (self.t != JV_DICT || (self.flags & JF_NAMESPACE)) return jinja_fail(c, at, "Can only get item pairs from a mapping.");
    jlist *l = jlist_new(a, self.u.d->n);
    if (!l) return oom(c, at);
    for (size_t i = 0; i < self.u.d->n; i++) {
        jlist *pair = jlist_new(a, 2);
        if (!pair) return oom(c, at);
        pair->v[0] = self.u.d->k[i];
        pair->v[1] = self.u.d->v[i];
        pair->n = 2;
        l->v[l->n++] = jv_list(pair, JF_TUPLE);
    }
    *out = jv_list(l, 0);
    return true;
}

static bool filter_escape(jctx *c, const jnode *at, jv self, jv *out) {
    jv s;
    if (!jinja_to_str(c, at, self, &s)) return false;
    jbuf b = {.limit = JINJA_MAX_OUTPUT};
    for (size_t i = 0; i < s.u.s.n; i++) {
        char ch = s.u.s.p[i];
        if (ch == '&') jbuf_puts(&b, "&amp;");
        else if (ch == '<') jbuf_puts(&b, "&lt;");
        else if (ch == '>') jbuf_puts(&b, "&gt;");
        else if (ch == '"') jbuf_puts(&b, "&#34;");
        else if (ch == '\'') jbuf_puts(&b, "&#39;");
        else jbuf_putc(&b, ch);
    }
    return new_str(c, at, &b, out);
}

bool jinja_filter(jctx *c, const jnode *at, const char *name, jv self, const jargs *args, jv *out) {
    jarena *a = jinja_arena(c);
    jv s;
#define IS(x) (strcmp(name, x) == 0)
    if (IS("tojson")) return filter_tojson(c, at, self, args, out);
    if (IS("trim")) {
        if (!jinja_to_str(c, at, self, &s)) return false;
        *out = strip(s, arg_or(args, 0, "chars", jv_none()), true, true);
        return true;
    }
    if (IS("length") || IS("count")) {
        if (self.t == JV_STR) *out = jv_int((int64_t)ju_len(self.u.s.p, self.u.s.n));
        else if (self.t == JV_LIST) *out = jv_int((int64_t)self.u.l->n);
        else if (self.t == JV_DICT) *out = jv_int((int64_t)self.u.d->n);
        else if (self.t == JV_UNDEF) *out = jv_int(0);
        else if (self.t == JV_LOOP) *out = jv_int((int64_t)self.u.loop->items->n);
        else return jinja_fail(c, at, "object of type '%s' has no len()", jv_type_name(self));
        return true;
    }
    if (IS("title")) {
        /* jinja2's own title: words start after whitespace, '-', '(', '{', '[' or '<' */
        if (!jinja_to_str(c, at, self, &s)) return false;
        jbuf b = {.limit = JINJA_MAX_OUTPUT};
        bool start = true;
        for (size_t i = 0; i < s.u.s.n;) {
            uint32_t cp;
            int k = ju_decode(s.u.s.p + i, s.u.s.n - i, &cp);
            bool sep = ju_is_space(cp) || cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<';
            if (k == 1 && cp >= 0x80) jbuf_put(&b, s.u.s.p + i, 1);
            else put_cp(&b, sep ? cp : start ? cp_upper(cp) : cp_lower(cp));
            start = sep;
            i += (size_t)k;
        }
        return new_str(c, at, &b, out);
    }
    if (IS("upper") || IS("lower") || IS("capitalize")) {
        if (!jinja_to_str(c, at, self, &s)) return false;
        return str_case(c, at, s, IS("upper") ? 'u' : IS("lower") ? 'l' : 'c', out);
    }
    if (IS("replace")) {
        jv old, new;
        if (!jinja_to_str(c, at, self, &s)) return false;
        if (!arg(args, 0, "old", &old) || !arg(args, 1, "new", &new)) return jinja_fail(c, at, "replace needs old and new");
        if (!jinja_to_str(c, at, old, &old) || !jinja_to_str(c, at, new, &new)) return false;
        jv cnt = arg_or(args, 2, "count", jv_none());
        return str_replace(c, at, s, old, new, cnt.t == JV_INT ? cnt.u.i : -1, out);
    }
    if (IS("join")) return filter_join(c, at, self, args, out);
    if (IS("select")) return filter_select(c, at, self, args, false, true, out);
    if (IS("reject")) return filter_select(c, at, self, args, false, false, out);
    if (IS("selectattr")) return filter_select(c, at, self, args, true, true, out);
    if (IS("rejectattr")) return filter_select(c, at, self, args, true, false, out);
    if (IS("map")) return filter_map(c, at, self, args, out);
    if (IS("default") || IS("d")) {
        jv def = arg_or(args, 0, "default_value", jv_str("", 0));
        bool boolean = jv_truthy(arg_or(args, 1, "boolean", jv_bool(false)));
        *out = self.t == JV_UNDEF || (boolean && !jv_truthy(self)) ? def : self;
        return true;
    }
    if (IS("list")) {
        jlist *l;
        if (!to_list(c, at, self, &l)) return false;
        jlist *copy = jlist_new(a, l->n);
        if (!copy) return oom(c, at);
        if (l->n) memcpy(copy->v, l->v, l->n * sizeof(jv));
        copy->n = l->n;
        *out = jv_list(copy, 0);
        return true;
    }
    if (IS("first") || IS("last")) {
        jlist *l;
        if (IS("last") && self.t == JV_UNDEF) /* reversed(Undefined) fails in jinja2 */
            return jinja_fail(c, at, "'%s' is undefined", self.u.s.p ? self.u.s.p : "value");
        if (!to_list(c, at, self, &l)) return false;
        *out = l->n ? l->v[IS("first") ? 0 : l->n - 1] : jv_undef(NULL);
        return true;
    }
    if (IS("items")) return filter_items(c, at, self, out);
    if (IS("string")) return jinja_to_str(c, at, self, out);
    if (IS("safe")) {
        *out = self;
        return true;
    }
    if (IS("e") || IS("escape") || IS("forceescape")) return filter_escape(c, at, self, out);
    if (IS("int")) return filter_int(c, at, self, args, out);
    if (IS("float")) return filter_float(c, at, self, args, out);
    if (IS("abs")) {
        if (!jv_is_number(self)) return jinja_fail(c, at, "bad operand type for abs(): '%s'", jv_type_name(self));
        if (self.t == JV_FLOAT) *out = jv_float(fabs(self.u.f));
        else if (self.t == JV_BOOL) *out = jv_int(self.u.b);
        else if (self.u.i == INT64_MIN) return jinja_fail(c, at, "integer overflow in abs");
        else *out = jv_int(self.u.i < 0 ? -self.u.i : self.u.i);
        return true;
    }
    if (IS("round")) return filter_round(c, at, self, args, out);
    if (IS("indent")) return filter_indent(c, at, self, args, out);
    if (IS("reverse")) {
        if (self.t == JV_STR) {
            jlist *l;
            if (!to_list(c, at, self, &l)) return false;
            char *p = jarena_alloc(a, self.u.s.n + 1);
            if (!p) return oom(c, at);
            size_t o = 0;
            for (size_t i = l->n; i-- > 0;) {
                memcpy(p + o, l->v[i].u.s.p, l->v[i].u.s.n);
                o += l->v[i].u.s.n;
            }
            *out = jv_str(p, o);
            return true;
        }
        jlist *l;
        if (!to_list(c, at, self, &l)) return false;
        jlist *r = jlist_new(a, l->n);
        if (!r) return oom(c, at);
        for (size_t i = l->n; i-- > 0;) r->v[r->n++] = l->v[i];
        *out = jv_list(r, 0);
        return true;
    }
    if (IS("sort")) {
        jlist *l, *r;
        if (!to_list(c, at, self, &l)) return false;
        bool rev = jv_truthy(arg_or(args, 0, "reverse", jv_bool(false)));
        bool cs = jv_truthy(arg_or(args, 1, "case_sensitive", jv_bool(false)));
        if (!sort_values(c, at, l, arg_or(args, 2, "attribute", jv_none()), rev, cs, &r)) return false;
        *out = jv_list(r, 0);
        return true;
    }
    if (IS("dictsort")) {
        jv items, by = arg_or(args, 1, "by", jv_str("key", 3));
        if (self.t != JV_DICT) return jinja_fail(c, at, "You can only sort by either 'key' or 'value'");
        if (!filter_items(c, at, self, &items)) return false;
        bool cs = jv_truthy(arg_or(args, 0, "case_sensitive", jv_bool(false)));
        bool rev = jv_truthy(arg_or(args, 2, "reverse", jv_bool(false)));
        bool by_value = by.t == JV_STR && by.u.s.n == 5 && !memcmp(by.u.s.p, "value", 5);
        jlist *r;
        if (!sort_values(c, at, items.u.l, jv_int(by_value ? 1 : 0), rev, cs, &r)) return false;
        *out = jv_list(r, 0);
        return true;
    }
    if (IS("unique")) {
        jlist *l;
        if (!to_list(c, at, self, &l)) return false;
        bool cs = jv_truthy(arg_or(args, 0, "case_sensitive", jv_bool(false)));
        jv attribute = arg_or(args, 1, "attribute", jv_none());
        jlist *r = jlist_new(a, 0), *seen = jlist_new(a, 0);
        if (!r || !seen) return oom(c, at);
        for (size_t i = 0; i < l->n; i++) {
            jv k = l->v[i];
            if (attribute.t != JV_NONE && !attr_path(c, at, k, attribute, &k)) return false;
            if (!cs && k.t == JV_STR && !str_case(c, at, k, 'l', &k)) return false;
            bool dup = false;
            for (size_t j = 0; j < seen->n && !dup; j++) dup = jv_equal(seen->v[j], k);
            if (dup) continue;
            if (!jlist_push(a, seen, k) || !jlist_push(a, r, l->v[i])) return oom(c, at);
        }
        *out = jv_list(r, 0);
        return true;
    }
    if (IS("sum")) {
        jlist *l;
        if (!to_list(c, at, self, &l)) return false;
        jv attribute = arg_or(args, 0, "attribute", jv_none());
        jv acc = arg_or(args, 1, "start", jv_int(0));
        for (size_t i = 0; i < l->n; i++) {
            jv v = l->v[i];
            if (attribute.t != JV_NONE && !attr_path(c, at, v, attribute, &v)) return false;
            if (!jv_is_number(v) || !jv_is_number(acc))
                return jinja_fail(c, at, "unsupported operand type(s) for +: '%s' and '%s'", jv_type_name(acc), jv_type_name(v));
            if (acc.t == JV_FLOAT || v.t == JV_FLOAT) acc = jv_float(jv_num(acc) + jv_num(v));
            else {
                int64_t r;
                if (__builtin_add_overflow((int64_t)jv_num(acc), (int64_t)jv_num(v), &r)) return jinja_fail(c, at, "integer overflow in sum");
                acc = jv_int(r);
            }
        }
        *out = acc;
        return true;
    }
    if (IS("min")) return filter_minmax(c, at, self, args, false, out);
    if (IS("max")) return filter_minmax(c, at, self, args, true, out);
    if (IS("attr")) {
        jv nm;
        if (!arg(args, 0, "name", &nm) || nm.t != JV_STR) return jinja_fail(c, at, "attr needs a name");
        char *p = jarena_strdup(a, nm.u.s.p, nm.u.s.n);
        if (!p) return oom(c, at);
        if (self.t == JV_DICT && !(self.flags & JF_NAMESPACE) && !jinja_has_method(self, p)) {
            *out = jv_undef(p); /* attr() does not fall back to items */
            return true;
        }
        return jinja_getattr(c, at, self, p, nm.u.s.n, out);
    }
    if (IS("batch")) {
        jlist *l;
        jv cnt, fill = arg_or(args, 1, "fill_with", jv_none());
        bool do_fill = arg(args, 1, "fill_with", &fill) && fill.t != JV_NONE;
        if (!arg(args, 0, "linecount", &cnt) || cnt.t != JV_INT || cnt.u.i <= 0)
            return jinja_fail(c, at, "batch needs a positive count");
        if (!to_list(c, at, self, &l)) return false;
        jlist *r = jlist_new(a, 0), *cur = NULL;
        if (!r) return oom(c, at);
        for (size_t i = 0; i < l->n; i++) {
            if (!cur || (int64_t)cur->n == cnt.u.i) {
                if (!(cur = jlist_new(a, 0)) || !jlist_push(a, r, jv_list(cur, 0))) return oom(c, at);
            }
            if (!jlist_push(a, cur, l->v[i])) return oom(c, at);
        }
        while (do_fill && cur && (int64_t)cur->n < cnt.u.i)
            if (!jlist_push(a, cur, fill)) return oom(c, at);
        *out = jv_list(r, 0);
        return true;
    }
    if (IS("wordcount")) {
        /* jinja2: len(re.findall(r"\w+", str(value))) */
        if (!jinja_to_str(c, at, self, &s)) return false;
        int64_t words = 0;
        bool in_word = false;
        for (size_t i = 0; i < s.u.s.n;) {
            uint32_t cp;
            i += (size_t)ju_decode(s.u.s.p + i, s.u.s.n - i, &cp);
            bool w = (cp >= '0' && cp <= '9') || cp == '_' || cp_is_alpha(cp) || (cp >= 0x80 && !ju_is_space(cp) && cp != 0xA0);
            if (w && !in_word) words++;
            in_word = w;
        }
        *out = jv_int(words);
        return true;
    }
    return jinja_fail(c, at, "unknown filter '%s'", name);
#undef IS
}

/* ---- tests ------------------------------------------------------------------------------- */
bool jinja_test(jctx *c, const jnode *at, const char *name, jv v, const jargs *args, bool *out) {
#define IS(x) (strcmp(name, x) == 0)
    jv x;
    if (IS("defined")) *out = v.t != JV_UNDEF;
    else if (IS("undefined")) *out = v.t == JV_UNDEF;
    else if (IS("none")) *out = v.t == JV_NONE;
    else if (IS("boolean")) *out = v.t == JV_BOOL;
    else if (IS("false")) *out = v.t == JV_BOOL && !v.u.b;
    else if (IS("true")) *out = v.t == JV_BOOL && v.u.b;
    else if (IS("integer")) *out = v.t == JV_INT;
    else if (IS("float")) *out = v.t == JV_FLOAT;
    else if (IS("number")) *out = jv_is_number(v);
    else if (IS("string")) *out = v.t == JV_STR;
    else if (IS("mapping")) *out = v.t == JV_DICT && !(v.flags & JF_NAMESPACE);
    else if (IS("iterable")) *out = v.t == JV_STR || v.t == JV_LIST || v.t == JV_DICT || v.t == JV_UNDEF;
    else if (IS("sequence")) *out = v.t == JV_STR || v.t == JV_LIST || v.t == JV_DICT || v.t == JV_UNDEF;
    else if (IS("callable")) /* jinja2's Undefined has a __call__ (that raises) */
        *out = v.t == JV_MACRO || v.t == JV_FUNC || v.t == JV_METHOD || v.t == JV_UNDEF;
    else if (IS("escaped")) *out = false;
    else if (IS("lower") || IS("upper")) {
        jv str; /* jinja2: str(value).islower() / .isupper() */
        if (!jinja_to_str(c, at, v, &str)) return false;
        *out = str_is(str, IS("upper") ? 'u' : 'l');
    } else if (IS("odd") || IS("even") || IS("divisibleby")) {
        int64_t d = 2;
        if (IS("divisibleby")) {
            if (!arg(args, 0, "num", &x) || x.t != JV_INT) return jinja_fail(c, at, "divisibleby needs an integer");
            d = x.u.i;
            if (d == 0) return jinja_fail(c, at, "integer division or modulo by zero");
        }
        if (!jv_is_number(v)) return jinja_fail(c, at, "test '%s' needs a number, not '%s'", name, jv_type_name(v));
        if (v.t == JV_FLOAT) {
            double m = fmod(v.u.f, (double)d);
            if (m != 0 && ((m < 0) != (d < 0))) m += (double)d;
            *out = IS("odd") ? m == 1.0 : m == 0;
        } else {
            int64_t i = v.t == JV_BOOL ? v.u.b : v.u.i, m = i % d;
            if (m != 0 && ((m < 0) != (d < 0))) m += d;
            *out = IS("odd") ? m == 1 : m == 0;
        }
    } else if (IS("eq") || IS("equalto") || IS("==") || IS("ne") || IS("!=")) {
        if (!arg(args, 0, "other", &x)) return jinja_fail(c, at, "test '%s' needs an argument", name);
        *out = jv_equal(v, x) == (IS("eq") || IS("equalto") || IS("=="));
    } else if (IS("lt") || IS("lessthan") || IS("le") || IS("gt") || IS("greaterthan") || IS("ge")) {
        int r;
        if (!arg(args, 0, "other", &x)) return jinja_fail(c, at, "test '%s' needs an argument", name);
        if (!jv_compare(v, x, &r))
            return jinja_fail(c, at, "comparison not supported between instances of '%s' and '%s'", jv_type_name(v),
                              jv_type_name(x));
        *out = IS("lt") || IS("lessthan") ? r < 0 : IS("le") ? r <= 0 : IS("ge") ? r >= 0 : r > 0;
    } else if (IS("in")) {
        if (!arg(args, 0, "seq", &x)) return jinja_fail(c, at, "test 'in' needs an argument");
        if (x.t == JV_STR) {
            if (v.t != JV_STR) return jinja_fail(c, at, "'in <string>' requires string as left operand");
            *out = v.u.s.n == 0 || memmem(x.u.s.p, x.u.s.n, v.u.s.p, v.u.s.n) != NULL;
        } else if (x.t == JV_LIST) {
            *out = false;
            for (size_t i = 0; i < x.u.l->n && !*out; i++) *out = jv_equal(v, x.u.l->v[i]);
        } else if (x.t == JV_DICT) {
            jv tmp;
            *out = jdict_get(x.u.d, v, &tmp);
        } else if (x.t == JV_UNDEF) {
            *out = false;
        } else {
            return jinja_fail(c, at, "argument of type '%s' is not iterable", jv_type_name(x));
        }
    } else if (IS("sameas")) {
        if (!arg(args, 0, "other", &x)) return jinja_fail(c, at, "test 'sameas' needs an argument");
        if (v.t != x.t) *out = false;
        else if (v.t == JV_LIST) *out = v.u.l == x.u.l;
        else if (v.t == JV_DICT) *out = v.u.d == x.u.d;
        else *out = jv_equal(v, x);
    } else if (IS("filter") || IS("test")) {
        *out = v.t == JV_STR; /* approximate: a name */
    } else {
        return jinja_fail(c, at, "unknown test '%s'", name);
    }
    return true;
#undef IS
}

/* ---- methods --------------------------------------------------------------------------------- */
static const char *const STR_METHODS[] = {"strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "replace",
                                          "startswith", "endswith", "upper", "lower", "title", "capitalize", "find",
                                          "rfind", "count", "join", "isdigit", "isalpha", "isalnum", "isspace",
                                          "isupper", "islower", "removeprefix", "removesuffix", "format", NULL};
static const char *const DICT_METHODS[] = {"items", "keys", "values", "get", NULL};
static const char *const LIST_METHODS[] = {"index", "count", NULL};

static bool in_table(const char *const *t, const char *name) {
    for (; *t; t++)
        if (strcmp(*t, name) == 0) return true;
    return false;
}

bool jinja_has_method(jv self, const char *name) {
    if (self.t == JV_STR) return in_table(STR_METHODS, name);
    if (self.t == JV_DICT && !(self.flags & JF_NAMESPACE)) return in_table(DICT_METHODS, name);
    if (self.t == JV_LIST) return in_table(LIST_METHODS, name);
    if (self.t == JV_LOOP) return strcmp(name, "cycle") == 0;
    return false;
}

static bool str_is(jv s, int kind) {
    if (s.u.s.n == 0) return false;
    bool any_cased = false;
    for (size_t i = 0; i < s.u.s.n;) {
        uint32_t cp;
        i += (size_t)ju_decode(s.u.s.p + i, s.u.s.n - i, &cp);
        bool digit = cp >= '0' && cp <= '9', alpha = cp_is_alpha(cp);
        switch (kind) {
        case 'd': if (!digit) return false; break;
        case 'a': if (!alpha) return false; break;
        case 'n': if (!digit && !alpha) return false; break;
        case 's': if (!ju_is_space(cp)) return false; break;
        case 'u': /* no lowercase letter, at least one uppercase */
            if (cp_upper(cp) != cp) return false;
            if (cp_lower(cp) != cp) any_cased = true;
            break;
        case 'l':
            if (cp_lower(cp) != cp) return false;
            if (cp_upper(cp) != cp) any_cased = true;
            break;
        }
    }
    return (kind == 'u' || kind == 'l') ? any_cased : true;
}

/* "{} and {0}".format(...) with positional and named fields (no format specs). */
static bool str_dot_format(jctx *c, const jnode *at, jv s, const jargs *args, jv *out) {
    jbuf b = {.limit = JINJA_MAX_OUTPUT};
    int auto_idx = 0;
    for (size_t i = 0; i < s.u.s.n; i++) {
        char ch = s.u.s.p[i];
        if ((ch == '{' || ch == '}') && i + 1 < s.u.s.n && s.u.s.p[i + 1] == ch) {
            jbuf_putc(&b, ch);
            i++;
            continue;
        }
        if (ch != '{') {
            jbuf_putc(&b, ch);
            continue;
        }
        const char *e = memchr(s.u.s.p + i, '}', s.u.s.n - i);
        if (!e) {
            jbuf_free(&b);
            return jinja_fail(c, at, "Single '{' encountered in format string");
        }
        size_t fb = i + 1, fe = (size_t)(e - s.u.s.p);
        jv v;
        bool found;
        if (fe == fb) {
            found = arg(args, auto_idx++, NULL, &v);
        } else if (s.u.s.p[fb] >= '0' && s.u.s.p[fb] <= '9') {
            found = arg(args, atoi(s.u.s.p + fb), NULL, &v);
        } else {
            char *nm = jarena_strdup(jinja_arena(c), s.u.s.p + fb, fe - fb);
            found = nm && arg(args, -1, nm, &v);
        }
        if (!found) {
            jbuf_free(&b);
            return jinja_fail(c, at, "format: missing argument for field '%.*s'", (int)(fe - fb), s.u.s.p + fb);
        }
        jv_write_str(&b, v);
        i = fe;
    }
    return new_str(c, at, &b, out);
}

bool jinja_method(jctx *c, const jnode *at, jv self, const char *name, const jargs *args, jv *out) {
    jarena *a = jinja_arena(c);
    jv x, y;
#define IS(n) (strcmp(name, n) == 0)
    if (self.t == JV_STR) {
        if (IS("strip") || IS("lstrip") || IS("rstrip")) {
            jv chars = arg_or(args, 0, "chars", jv_none());
            if (chars.t != JV_NONE && chars.t != JV_STR) return jinja_fail(c, at, "%s arg must be None or str", name);
            *out = strip(self, chars, !IS("rstrip"), !IS("lstrip"));
            return true;
        }
        if (IS("split") || IS("rsplit")) {
            jv sep = arg_or(args, 0, "sep", jv_none()), ms = arg_or(args, 1, "maxsplit", jv_int(-1));
            if (sep.t != JV_NONE && sep.t != JV_STR) return jinja_fail(c, at, "must be str or None, not %s", jv_type_name(sep));
            if (ms.t != JV_INT) return jinja_fail(c, at, "maxsplit must be an integer");
            return str_split(c, at, self, sep, ms.u.i, IS("rsplit"), out);
        }
        if (IS("splitlines")) {
            jlist *l = jlist_new(a, 0);
            if (!l) return oom(c, at);
            bool keep = jv_truthy(arg_or(args, 0, "keepends", jv_bool(false)));
            size_t i = 0, n = self.u.s.n;
            const char *p = self.u.s.p;
            while (i < n) {
                size_t e = i;
                while (e < n && p[e] != '\n' && p[e] != '\r') e++;
                size_t next = e < n ? e + 1 : e;
                if (e < n && p[e] == '\r' && e + 1 < n && p[e + 1] == '\n') next++;
                if (!jlist_push(a, l, jv_str(p + i, (keep ? next : e) - i))) return oom(c, at);
                i = next;
            }
            *out = jv_list(l, 0);
            return true;
        }
        if (IS("replace")) {
            if (!arg(args, 0, NULL, &x) || !arg(args, 1, NULL, &y)) return jinja_fail(c, at, "replace needs two arguments");
            if (!want_str(c, at, x, "replace() argument 1", &x) || !want_str(c, at, y, "replace() argument 2", &y)) return false;
            jv cnt = arg_or(args, 2, "count", jv_int(-1));
            return str_replace(c, at, self, x, y, cnt.t == JV_INT ? cnt.u.i : -1, out);
        }
        if (IS("startswith") || IS("endswith")) {
            if (!arg(args, 0, NULL, &x)) return jinja_fail(c, at, "%s needs an argument", name);
            bool r = false;
            if (x.t == JV_STR) r = str_affix(self, x, IS("startswith"));
            else if (x.t == JV_LIST && (x.flags & JF_TUPLE))
                for (size_t i = 0; i < x.u.l->n && !r; i++) r = str_affix(self, x.u.l->v[i], IS("startswith"));
            else return jinja_fail(c, at, "%s first arg must be str or a tuple of str, not %s", name, jv_type_name(x));
            *out = jv_bool(r);
            return true;
        }
        if (IS("upper") || IS("lower") || IS("title") || IS("capitalize"))
            return str_case(c, at, self, IS("upper") ? 'u' : IS("lower") ? 'l' : IS("title") ? 't' : 'c', out);
        if (IS("find") || IS("rfind") || IS("count")) {
            if (!arg(args, 0, NULL, &x) || !want_str(c, at, x, "argument", &x)) return jinja_fail(c, at, "%s needs a string", name);
            const char *p = self.u.s.p;
            size_t n = self.u.s.n;
            int64_t cnt = 0, pos = -1;
            for (size_t i = 0; i + x.u.s.n <= n;) {
                if (memcmp(p + i, x.u.s.p, x.u.s.n) == 0) {
                    if (pos < 0 || IS("rfind")) pos = (int64_t)ju_len(p, i);
                    cnt++;
                    if (IS("find")) break;
                    i += x.u.s.n ? x.u.s.n : 1;
                } else {
                    i++;
                }
            }
            if (IS("count") && x.u.s.n == 0) cnt = (int64_t)ju_len(p, n) + 1;
            *out = jv_int(IS("count") ? cnt : pos);
            return true;
        }
        if (IS("join")) {
            jlist *l;
            if (!arg(args, 0, NULL, &x) || !jinja_iterate(c, at, x, &l)) return jinja_fail(c, at, "join needs an iterable");
            jbuf b = {.limit = JINJA_MAX_OUTPUT};
            for (size_t i = 0; i < l->n; i++) {
                if (l->v[i].t != JV_STR) {
                    jbuf_free(&b);
                    return jinja_fail(c, at, "sequence item %zu: expected str instance, %s found", i, jv_type_name(l->v[i]));
                }
                if (i) jbuf_put(&b, self.u.s.p, self.u.s.n);
                jbuf_put(&b, l->v[i].u.s.p, l->v[i].u.s.n);
            }
            return new_str(c, at, &b, out);
        }
        if (IS("isdigit") || IS("isalpha") || IS("isalnum") || IS("isspace") || IS("isupper") || IS("islower")) {
            *out = jv_bool(str_is(self, IS("isdigit") ? 'd' : IS("isalpha") ? 'a' : IS("isalnum") ? 'n'
                                       : IS("isspace") ? 's' : IS("isupper") ? 'u' : 'l'));
            return true;
        }
        if (IS("removeprefix") || IS("removesuffix")) {
            if (!arg(args, 0, NULL, &x) || !want_str(c, at, x, "argument", &x)) return false;
            bool pre = IS("removeprefix");
            *out = self;
            if (str_affix(self, x, pre)) *out = jv_str(self.u.s.p + (pre ? x.u.s.n : 0), self.u.s.n - x.u.s.n);
            return true;
        }
        if (IS("format")) return str_dot_format(c, at, self, args, out);
    } else if (self.t == JV_DICT) {
        jdict *d = self.u.d;
        if (IS("get")) {
            if (!arg(args, 0, NULL, &x)) return jinja_fail(c, at, "get expected at least 1 argument, got 0");
            if (!jdict_get(d, x, out)) *out = arg_or(args, 1, NULL, jv_none());
            return true;
        }
        if (IS("items")) return filter_items(c, at, self, out);
        if (IS("keys") || IS("values")) {
            jlist *l = jlist_new(a, d->n);
            if (!l) return oom(c, at);
            for (size_t i = 0; i < d->n; i++) l->v[l->n++] = IS("keys") ? d->k[i] : d->v[i];
            *out = jv_list(l, 0);
            return true;
        }
    } else if (self.t == JV_LIST) {
        if (!arg(args, 0, NULL, &x)) return jinja_fail(c, at, "%s needs an argument", name);
        int64_t cnt = 0, pos = -1;
        for (size_t i = 0; i < self.u.l->n; i++)
            if (jv_equal(self.u.l->v[i], x)) {
                if (pos < 0) pos = (int64_t)i;
                cnt++;
            }
        if (IS("index") && pos < 0) return jinja_fail(c, at, "value is not in list");
        *out = jv_int(IS("index") ? pos : cnt);
        return true;
    } else if (self.t == JV_LOOP && IS("cycle")) {
        int np = n_positional(args);
        if (np == 0) return jinja_fail(c, at, "no items for cycling given");
        arg(args, (int)(self.u.loop->index0 % np), NULL, out);
        return true;
    }
    return jinja_fail(c, at, "'%s' object has no method '%s'", jv_type_name(self), name);
#undef IS
}

/* ---- globals ----------------------------------------------------------------------------------- */
static const char *const GLOBALS[] = {"range", "namespace", "dict", "raise_exception", "strftime_now", NULL};

int jinja_global_index(const char *name) {
    for (int i = 0; GLOBALS[i]; i++)
        if (strcmp(GLOBALS[i], name) == 0) return i;
    return -1;
}

static bool strftime_now(jctx *c, const jnode *at, const jargs *args, jv *out) {
    jv fmt;
    if (!arg(args, 0, NULL, &fmt) || fmt.t != JV_STR) return jinja_fail(c, at, "strftime_now needs a format string");
    struct tm tm = {0};
    const char *now = jinja_now(c);
    if (now) {
        int Y, M, D, h = 0, m = 0, s = 0;
        if (sscanf(now, "%d-%d-%dT%d:%d:%d", &Y, &M, &D, &h, &m, &s) < 3)
            return jinja_fail(c, at, "bad fixed time '%s' (want YYYY-MM-DDTHH:MM:SS)", now);
        tm.tm_year = Y - 1900;
        tm.tm_mon = M - 1;
        tm.tm_mday = D;
        tm.tm_hour = h;
        tm.tm_min = m;
        tm.tm_sec = s;
        time_t t = timegm(&tm); /* fills in weekday and day of year */
        gmtime_r(&t, &tm);
    } else {
        time_t t = time(NULL);
        localtime_r(&t, &tm);
    }
    char *f = jarena_strdup(jinja_arena(c), fmt.u.s.p, fmt.u.s.n);
    char buf[512];
    if (!f) return oom(c, at);
    size_t n = fmt.u.s.n ? strftime(buf, sizeof buf, f, &tm) : 0;
    if (fmt.u.s.n && n == 0) return jinja_fail(c, at, "strftime_now: format gives an empty or too long result");
    char *p = jarena_strdup(jinja_arena(c), buf, n);
    if (!p) return oom(c, at);
    *out = jv_str(p, n);
    return true;
}

bool jinja_global_call(jctx *c, const jnode *at, int fn, const jargs *args, jv *out) {
    jarena *a = jinja_arena(c);
    const char *name = GLOBALS[fn];
    if (strcmp(name, "range") == 0) {
        int np = n_positional(args);
        jv v[3];
        for (int i = 0; i < np && i < 3; i++) {
            arg(args, i, NULL, &v[i]);
            if (v[i].t != JV_INT && v[i].t != JV_BOOL)
                return jinja_fail(c, at, "'%s' object cannot be interpreted as an integer", jv_type_name(v[i]));
            if (v[i].t == JV_BOOL) v[i] = jv_int(v[i].u.b);
        }
        if (np < 1 || np > 3) return jinja_fail(c, at, "range expected 1 to 3 arguments, got %d", np);
        int64_t start = np == 1 ? 0 : v[0].u.i, stop = np == 1 ? v[0].u.i : v[1].u.i, stp = np == 3 ? v[2].u.i : 1;
        if (stp == 0) return jinja_fail(c, at, "range() arg 3 must not be zero");
        double len = stp > 0 ? ceil(((double)stop - (double)start) / (double)stp)
                             : ceil(((double)start - (double)stop) / (double)-stp);
        if (len < 0) len = 0;
        if (len > JINJA_MAX_RANGE)
            return jinja_fail(c, at, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (%d).", JINJA_MAX_RANGE);
        jlist *l = jlist_new(a, (size_t)len);
        if (!l) return oom(c, at);
        for (int64_t i = start; stp > 0 ? i < stop : i > stop; i += stp) l->v[l->n++] = jv_int(i);
        l->r_start = start;
        l->r_stop = stop;
        l->r_step = stp;
        *out = jv_list(l, JF_RANGE);
        return true;
    }
    if (strcmp(name, "namespace") == 0 || strcmp(name, "dict") == 0) {
        jdict *d = jdict_new(a, 0);
        if (!d) return oom(c, at);
        for (int i = 0; i < args->n; i++) {
            if (args->names && args->names[i]) {
                if (!jdict_set(a, d, jv_str(args->names[i], strlen(args->names[i])), args->v[i])) return oom(c, at);
            } else if (args->v[i].t == JV_DICT) {
                for (size_t j = 0; j < args->v[i].u.d->n; j++)
                    if (!jdict_set(a, d, args->v[i].u.d->k[j], args->v[i].u.d->v[j])) return oom(c, at);
            } else {
                return jinja_fail(c, at, "%s() takes keyword arguments or a dict", name);
            }
        }
        *out = jv_dict(d, name[0] == 'n' ? JF_NAMESPACE : 0);
        return true;
    }
    if (strcmp(name, "raise_exception") == 0) {
        jv msg = arg_or(args, 0, "message", jv_str("", 0)), s;
        if (!jinja_to_str(c, at, msg, &s)) return false;
        return jinja_fail(c, at, "%.*s", (int)(s.u.s.n > 2000 ? 2000 : s.u.s.n), s.u.s.p);
    }
    if (strcmp(name, "strftime_now") == 0) return strftime_now(c, at, args, out);
    return jinja_fail(c, at, "'%s' is not callable", name);
}
