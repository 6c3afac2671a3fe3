/* jinja_eval.c — walks the AST: scopes, statements and expressions with jinja2's
 * semantics (undefined names print as "", a for loop body gets a fresh scope on every
 * iteration, `if` does not open a scope, macros resolve free names where they were
 * defined, at call time). Every step is counted and nesting is bounded, so a hostile
 * template ends in an error, not a hang or a crash. */
#include "jinja.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct jscope {
    struct jscope *parent;
    size_t n, cap;
    const char **names;
    jv *vals;
    /* The body this scope runs (a jinja2 frame): its `missing` names, which the body
     * stores before any read, stay undefined here until stored (jinja2 compiles them to
     * locals that start out missing), hiding outer values of the same name. */
    const jnode *missing;
} jscope;

struct jctx {
    jarena *a;
    jscope *top;  /* template-level variables */
    jdict *vars;  /* variables passed by the caller */
    const jrender_opts *o;
    char *err;
    size_t errcap;
    bool failed;
    int depth;
    long long steps;
    size_t max_output;
};

enum { EV_OK, EV_BREAK, EV_CONTINUE, EV_ERR };

bool jinja_fail(jctx *c, const jnode *at, const char *fmt, ...) {
    if (c->failed) return false;
    c->failed = true;
    int k = at ? snprintf(c->err, c->errcap, "line %d, column %d: ", at->line, at->col) : 0;
    if (k < 0 || (size_t)k >= c->errcap) return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + k, c->errcap - k, fmt, ap);
    va_end(ap);
    return false;
}

jarena *jinja_arena(jctx *c) { return c->a; }
const char *jinja_now(jctx *c) { return c->o ? c->o->now : NULL; }

static bool oom(jctx *c, const jnode *at) {
    if (c->a->failed) return jinja_fail(c, at, "template used more than %u MiB of memory", JINJA_MAX_ARENA >> 20);
    return jinja_fail(c, at, "out of memory");
}

static bool step(jctx *c, const jnode *at) {
    if (++c->steps > JINJA_MAX_STEPS)
        return jinja_fail(c, at, "template ran too long (more than %lld steps)", (long long)JINJA_MAX_STEPS);
    return true;
}

/* ---- scopes --------------------------------------------------------------------------- */
static jscope *scope_new(jctx *c, jscope *parent) {
    jscope *s = jarena_alloc(c->a, sizeof *s);
    if (s) s->parent = parent;
    return s;
}

static bool scope_set(jctx *c, jscope *s, const char *name, jv v) {
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0) {
            s->vals[i] = v;
            return true;
        }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        const char **nn = jarena_alloc(c->a, cap * sizeof *nn);
        jv *nv = jarena_alloc(c->a, cap * sizeof *nv);
        if (!nn || !nv) return false;
        if (s->n) {
            memcpy(nn, s->names, s->n * sizeof *nn);
            memcpy(nv, s->vals, s->n * sizeof *nv);
        }
        s->names = nn;
        s->vals = nv;
        s->cap = cap;
    }
    s->names[s->n] = name;
    s->vals[s->n] = v;
    s->n++;
    return true;
}

static bool lookup(jctx *c, jscope *s, const char *name, jv *out) {
    for (; s; s = s->parent) {
        for (size_t i = s->n; i-- > 0;)
            if (strcmp(s->names[i], name) == 0) {
                *out = s->vals[i];
                return true;
            }
        if (s->missing)
            for (int i = 0; i < s->missing->nmissing; i++)
                if (strcmp(s->missing->missing[i], name) == 0) {
                    *out = jv_undef(name);
                    return false;
                }
    }
    if (jdict_get_str(c->vars, name, out)) return true;
    int fn = jinja_global_index(name);
    if (fn >= 0) {
        *out = (jv){.t = JV_FUNC, .u.fn = fn};
        return true;
    }
    *out = jv_undef(name);
    return false;
}

/* ---- helpers shared with the builtins ----------------------------------------------------- */
bool jinja_to_str(jctx *c, const jnode *at, jv v, jv *out) {
    if (v.t == JV_STR) {
        *out = v;
        return true;
    }
    jbuf b = {.limit = c->max_output};
    jv_write_str(&b, v);
    if (b.overflow) {
        jbuf_free(&b);
        return jinja_fail(c, at, "string too long");
    }
    char *p = jarena_strdup(c->a, b.p ? b.p : "", b.n);
    size_t n = b.n;
    jbuf_free(&b);
    if (!p) return oom(c, at);
    *out = jv_str(p, n);
    return true;
}

bool jinja_iterate(jctx *c, const jnode *at, jv v, jlist **out) {
    switch (v.t) {
    case JV_UNDEF: *out = jlist_new(c->a, 0); break;
    case JV_LIST: *out = v.u.l; return true;
    case JV_DICT: {
        if (v.flags & JF_NAMESPACE) return jinja_fail(c, at, "'Namespace' object is not iterable");
        jlist *l = jlist_new(c->a, v.u.d->n);
        if (!l) return oom(c, at);
        for (size_t i = 0; i < v.u.d->n; i++) l->v[l->n++] = v.u.d->k[i];
        *out = l;
        return true;
    }
    case JV_STR: {
        jlist *l = jlist_new(c->a, v.u.s.n);
        if (!l) return oom(c, at);
        for (size_t i = 0; i < v.u.s.n;) {
            uint32_t cp;
            int k = ju_decode(v.u.s.p + i, v.u.s.n - i, &cp);
            l->v[l->n++] = jv_str(v.u.s.p + i, (size_t)k);
            i += (size_t)k;
        }
        *out = l;
        return true;
    }
    default: return jinja_fail(c, at, "'%s' object is not iterable", jv_type_name(v));
    }
    if (!*out) return oom(c, at);
    return true;
}

static bool undefined_error(jctx *c, const jnode *at, jv v) {
    if (v.u.s.p) return jinja_fail(c, at, "'%s' is undefined", v.u.s.p);
    return jinja_fail(c, at, "undefined value used");
}

bool jinja_getattr(jctx *c, const jnode *at, jv obj, const char *name, size_t n, jv *out) {
    (void)n;
    if (obj.t == JV_UNDEF) return undefined_error(c, at, obj);
    if (obj.t == JV_LOOP) {
        jloop *L = obj.u.loop;
        int64_t len = (int64_t)L->items->n, i = L->index0;
        if (!strcmp(name, "index")) *out = jv_int(i + 1);
        else if (!strcmp(name, "index0")) *out = jv_int(i);
        else if (!strcmp(name, "revindex")) *out = jv_int(len - i);
        else if (!strcmp(name, "revindex0")) *out = jv_int(len - i - 1);
        else if (!strcmp(name, "first")) *out = jv_bool(i == 0);
        else if (!strcmp(name, "last")) *out = jv_bool(i == len - 1);
        else if (!strcmp(name, "length")) *out = jv_int(len);
        else if (!strcmp(name, "depth")) *out = jv_int(1);
        else if (!strcmp(name, "depth0")) *out = jv_int(0);
        else if (!strcmp(name, "previtem")) *out = i > 0 ? L->items->v[i - 1] : jv_undef("previtem");
        else if (!strcmp(name, "nextitem")) *out = i + 1 < len ? L->items->v[i + 1] : jv_undef("nextitem");
        else if (!strcmp(name, "cycle")) goto method;
        else *out = jv_undef(name);
        return true;
    }
    if (obj.t == JV_DICT && (obj.flags & JF_NAMESPACE)) {
        if (!jdict_get_str(obj.u.d, name, out)) *out = jv_undef(name);
        return true;
    }
    if (jinja_has_method(obj, name)) goto method;
    if (obj.t == JV_DICT && jdict_get_str(obj.u.d, name, out)) return true;
    *out = jv_undef(name);
    return true;
method: {
    jmethod *m = jarena_alloc(c->a, sizeof *m);
    if (!m) return oom(c, at);
    m->self = obj;
    m->name = name;
    *out = (jv){.t = JV_METHOD, .u.meth = m};
    return true;
}
}

static bool getitem(jctx *c, const jnode *at, jv obj, jv key, jv *out) {
    if (obj.t == JV_UNDEF) return undefined_error(c, at, obj);
    if (obj.t == JV_DICT) {
        if (jdict_get(obj.u.d, key, out)) return true;
    } else if ((obj.t == JV_LIST || obj.t == JV_STR) && (key.t == JV_INT || key.t == JV_BOOL)) {
        int64_t i = key.t == JV_BOOL ? key.u.b : key.u.i;
        if (obj.t == JV_LIST) {
            int64_t n = (int64_t)obj.u.l->n;
            if (i < 0) i += n;
            if (i >= 0 && i < n) {
                *out = obj.u.l->v[i];
                return true;
            }
        } else {
            int64_t n = (int64_t)ju_len(obj.u.s.p, obj.u.s.n);
            if (i < 0) i += n;
            if (i >= 0 && i < n) {
                size_t b = ju_offset(obj.u.s.p, obj.u.s.n, (size_t)i);
                uint32_t cp;
                *out = jv_str(obj.u.s.p + b, (size_t)ju_decode(obj.u.s.p + b, obj.u.s.n - b, &cp));
                return true;
            }
        }
    }
    /* jinja2 falls back to attribute lookup for string keys */
    if (key.t == JV_STR && obj.t != JV_DICT) {
        char *name = jarena_strdup(c->a, key.u.s.p, key.u.s.n);
        if (!name) return oom(c, at);
        return jinja_getattr(c, at, obj, name, key.u.s.n, out);
    }
    if (key.t == JV_STR && jinja_has_method(obj, "get")) {
        char *name = jarena_strdup(c->a, key.u.s.p, key.u.s.n);
        if (!name) return oom(c, at);
        if (jinja_has_method(obj, name)) return jinja_getattr(c, at, obj, name, key.u.s.n, out);
    }
    *out = jv_undef(key.t == JV_STR ? jarena_strdup(c->a, key.u.s.p, key.u.s.n) : NULL);
    return true;
}

/* Python slice indices for a sequence of length n. */
static bool slice_index(jctx *c, const jnode *at, jv v, int64_t n, int64_t step, bool is_start, int64_t *out) {
    if (v.t == JV_NONE || v.t == JV_UNDEF) {
        *out = step > 0 ? (is_start ? 0 : n) : (is_start ? n - 1 : -1);
        return true;
    }
    if (v.t != JV_INT && v.t != JV_BOOL)
        return jinja_fail(c, at, "slice indices must be integers or None, not %s", jv_type_name(v));
    int64_t i = v.t == JV_BOOL ? v.u.b : v.u.i;
    if (i < 0) {
        i += n;
        if (i < 0) i = step > 0 ? 0 : -1;
    } else if (i >= n) {
        i = step > 0 ? n : n - 1;
    }
    *out = i;
    return true;
}

static bool do_slice(jctx *c, const jnode *at, jv obj, jv vs, jv ve, jv vstep, jv *out) {
    if (obj.t == JV_UNDEF) return undefined_error(c, at, obj);
    int64_t step = 1;
    if (vstep.t == JV_INT) step = vstep.u.i;
    else if (vstep.t != JV_NONE && vstep.t != JV_UNDEF) return jinja_fail(c, at, "slice step must be an integer");
    if (step == 0) return jinja_fail(c, at, "slice step cannot be zero");
    if (obj.t != JV_LIST && obj.t != JV_STR) {
        *out = jv_undef(NULL); /* jinja2: subscript errors give undefined */
        return true;
    }
    bool is_str = obj.t == JV_STR;
    jlist *items = NULL;
    int64_t n;
    if (is_str) {
        if (!jinja_iterate(c, at, obj, &items)) return false;
    } else {
        items = obj.u.l;
    }
    n = (int64_t)items->n;
    int64_t b, e;
    if (!slice_index(c, at, vs, n, step, true, &b) || !slice_index(c, at, ve, n, step, false, &e)) return false;
    jlist *r = jlist_new(c->a, 0);
    if (!r) return oom(c, at);
    for (int64_t i = b; step > 0 ? i < e : i > e; i += step)
        if (!jlist_push(c->a, r, items->v[i])) return oom(c, at);
    if (!is_str) {
        if (obj.flags & JF_RANGE) {
            /* Python: range(start + b*step, start + e*step, step*slice_step), e clamped as above */
            jlist *o = obj.u.l;
            r->r_start = o->r_start + b * o->r_step;
            r->r_stop = o->r_start + e * o->r_step;
            r->r_step = o->r_step * step;
        }
        *out = jv_list(r, obj.flags & (JF_TUPLE | JF_RANGE));
        return true;
    }
    size_t total = 0;
    for (size_t i = 0; i < r->n; i++) total += r->v[i].u.s.n;
    char *p = jarena_alloc(c->a, total + 1);
    if (!p) return oom(c, at);
    size_t o = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].u.s.n) memcpy(p + o, r->v[i].u.s.p, r->v[i].u.s.n);
        o += r->v[i].u.s.n;
    }
    *out = jv_str(p, total);
    return true;
}

/* ---- operators ---------------------------------------------------------------------------- */
static const char *opname(int op) {
    static const char *names[] = {"", "+", "-", "*", "/", "//", "%", "**", "~",
                                  "==", "!=", "<", ">", "<=", ">=", "in", "not in"};
    return names[op];
}

static bool str_cat(jctx *c, const jnode *at, jv a, jv b, jv *out) {
    if (a.u.s.n > c->max_output || b.u.s.n > c->max_output - a.u.s.n) return jinja_fail(c, at, "string too long");
    char *p = jarena_alloc(c->a, a.u.s.n + b.u.s.n + 1);
    if (!p) return oom(c, at);
    if (a.u.s.n) memcpy(p, a.u.s.p, a.u.s.n);
    if (b.u.s.n) memcpy(p + a.u.s.n, b.u.s.p, b.u.s.n);
    *out = jv_str(p, a.u.s.n + b.u.s.n);
    return true;
}

static bool repeat(jctx *c, const jnode *at, jv seq, int64_t k, jv *out) {
    if (k < 0) k = 0;
    size_t unit = seq.t == JV_STR ? seq.u.s.n : seq.u.l->n * sizeof(jv);
    if (unit && (uint64_t)k > c->max_output / unit) return jinja_fail(c, at, "repetition too large");
    if (seq.t == JV_STR) {
        char *p = jarena_alloc(c->a, unit * (size_t)k + 1);
        if (!p) return oom(c, at);
        for (int64_t i = 0; unit && i < k; i++) memcpy(p + (size_t)i * unit, seq.u.s.p, unit);
        *out = jv_str(p, unit * (size_t)k);
        return true;
    }
    jlist *l = jlist_new(c->a, seq.u.l->n * (size_t)k);
    if (!l) return oom(c, at);
    for (int64_t i = 0; i < k; i++)
        for (size_t j = 0; j < seq.u.l->n; j++) l->v[l->n++] = seq.u.l->v[j];
    *out = jv_list(l, seq.flags);
    return true;
}

static bool is_intlike(jv v) { return v.t == JV_INT || v.t == JV_BOOL; }
static int64_t ival(jv v) { return v.t == JV_BOOL ? v.u.b : v.u.i; }

/* Python's printf-style "fmt % args" for the common conversions. */
static bool str_format(jctx *c, const jnode *at, jv fmt, jv args, jv *out) {
    jbuf b = {.limit = c->max_output};
    size_t ai = 0;
    jlist one = {.n = 1, .cap = 1, .v = &args};
    jlist *al = args.t == JV_LIST && (args.flags & JF_TUPLE) ? args.u.l : &one;
    bool ok = true;
    for (size_t i = 0; i < fmt.u.s.n && ok; i++) {
        char ch = fmt.u.s.p[i];
        if (ch != '%') {
            jbuf_putc(&b, ch);
            continue;
        }
        if (++i >= fmt.u.s.n) {
            ok = jinja_fail(c, at, "incomplete format");
            break;
        }
        char spec = fmt.u.s.p[i];
        if (spec == '%') {
            jbuf_putc(&b, '%');
            continue;
        }
        if (ai >= al->n) {
            ok = jinja_fail(c, at, "not enough arguments for format string");
            break;
        }
        jv v = al->v[ai++];
        if (spec == 's') jv_write_str(&b, v);
        else if (spec == 'r') jv_write_repr(&b, v);
        else if ((spec == 'd' || spec == 'i') && jv_is_number(v)) jbuf_printf(&b, "%lld", (long long)jv_num(v));
        else if (spec == 'f' && jv_is_number(v)) jbuf_printf(&b, "%f", jv_num(v));
        else ok = jinja_fail(c, at, "unsupported format '%%%c' for %s", spec, jv_type_name(v));
    }
    /* Python treats a non-tuple list or dict argument as a mapping: unused is fine */
    bool mapping = al == &one && (args.t == JV_DICT || args.t == JV_LIST);
    if (ok && ai < al->n && !mapping) ok = jinja_fail(c, at, "not all arguments converted during string formatting");
    if (ok && b.overflow) ok = jinja_fail(c, at, "string too long");
    if (ok) {
        char *p = jarena_strdup(c->a, b.p ? b.p : "", b.n);
        if (!p) ok = oom(c, at);
        else *out = jv_str(p, b.n);
    }
    jbuf_free(&b);
    return ok;
}

static bool binop(jctx *c, const jnode *at, int op, jv a, jv b, jv *out) {
    if (op == JOP_CONCAT) {
        jv sa, sb;
        if (!jinja_to_str(c, at, a, &sa) || !jinja_to_str(c, at, b, &sb)) return false;
        return str_cat(c, at, sa, sb, out);
    }
    if (a.t == JV_UNDEF) return undefined_error(c, at, a);
    if (b.t == JV_UNDEF) return undefined_error(c, at, b);
    if (jv_is_number(a) && jv_is_number(b)) {
        bool ints = is_intlike(a) && is_intlike(b);
        int64_t x = ints ? ival(a) : 0, y = ints ? ival(b) : 0, r;
        double p = jv_num(a), q = jv_num(b);
        switch (op) {
        case JOP_ADD:
            if (!ints) { *out = jv_float(p + q); return true; }
            if (__builtin_add_overflow(x, y, &r)) break;
            *out = jv_int(r);
            return true;
        case JOP_SUB:
            if (!ints) { *out = jv_float(p - q); return true; }
            if (__builtin_sub_overflow(x, y, &r)) break;
            *out = jv_int(r);
            return true;
        case JOP_MUL:
            if (!ints) { *out = jv_float(p * q); return true; }
            if (__builtin_mul_overflow(x, y, &r)) break;
            *out = jv_int(r);
            return true;
        case JOP_DIV:
            if (q == 0) return jinja_fail(c, at, "division by zero");
            *out = jv_float(p / q);
            return true;
        case JOP_FLOORDIV:
        case JOP_MOD:
            if (q == 0) return jinja_fail(c, at, "integer division or modulo by zero");
            if (ints) {
                if (x == INT64_MIN && y == -1) break;
                int64_t d = x / y, m = x % y;
                if (m != 0 && ((m < 0) != (y < 0))) {
                    d--;
                    m += y;
                }
                *out = jv_int(op == JOP_MOD ? m : d);
            } else {
                double m = fmod(p, q);
                if (m != 0 && ((m < 0) != (q < 0))) m += q;
                if (m == 0) m = copysign(0.0, q); /* Python: a zero remainder takes the divisor's sign */
                *out = jv_float(op == JOP_MOD ? m : floor(p / q));
            }
            return true;
        case JOP_POW:
            if (ints && y >= 0) {
                int64_t acc = 1, base = x, e = y;
                if (x == 0 || x == 1) acc = y == 0 ? 1 : x;
                else if (x == -1) acc = (y % 2) ? -1 : 1;
                else
                    while (e > 0) {
                        if ((e & 1) && __builtin_mul_overflow(acc, base, &acc)) goto overflow;
                        e >>= 1;
                        if (e && __builtin_mul_overflow(base, base, &base)) goto overflow;
                    }
                *out = jv_int(acc);
                return true;
            }
            *out = jv_float(pow(p, q));
            return true;
        }
    overflow:
        return jinja_fail(c, at, "integer overflow in '%s'", opname(op));
    }
    if (op == JOP_ADD && a.t == JV_STR && b.t == JV_STR) return str_cat(c, at, a, b, out);
    if (((a.t == JV_LIST && (a.flags & JF_RANGE)) || (b.t == JV_LIST && (b.flags & JF_RANGE))) && op != JOP_MOD)
        return jinja_fail(c, at, "unsupported operand type(s) for %s: '%s' and '%s'", opname(op), jv_type_name(a),
                          jv_type_name(b));
    if (op == JOP_ADD && a.t == JV_LIST && b.t == JV_LIST && (a.flags & JF_TUPLE) == (b.flags & JF_TUPLE)) {
        jlist *l = jlist_new(c->a, a.u.l->n + b.u.l->n);
        if (!l) return oom(c, at);
        if (a.u.l->n) memcpy(l->v, a.u.l->v, a.u.l->n * sizeof(jv));
        if (b.u.l->n) memcpy(l->v + a.u.l->n, b.u.l->v, b.u.l->n * sizeof(jv));
        l->n = a.u.l->n + b.u.l->n;
        *out = jv_list(l, a.flags);
        return true;
    }
    if (op == JOP_MUL && (a.t == JV_STR || a.t == JV_LIST) && is_intlike(b)) return repeat(c, at, a, ival(b), out);
    if (op == JOP_MUL && (b.t == JV_STR || b.t == JV_LIST) && is_intlike(a)) return repeat(c, at, b, ival(a), out);
    if (op == JOP_MOD && a.t == JV_STR) return str_format(c, at, a, b, out);
    if (op == JOP_ADD && a.t == JV_STR)
        return jinja_fail(c, at, "can only concatenate str (not \"%s\") to str", jv_type_name(b));
    if (op == JOP_ADD && a.t == JV_LIST)
        return jinja_fail(c, at, "can only concatenate list (not \"%s\") to list", jv_type_name(b));
    return jinja_fail(c, at, "unsupported operand type(s) for %s: '%s' and '%s'", opname(op), jv_type_name(a),
                      jv_type_name(b));
}

static bool contains(jctx *c, const jnode *at, jv item, jv seq, bool *out) {
    switch (seq.t) {
    case JV_UNDEF: *out = false; return true;
    case JV_STR:
        if (item.t != JV_STR)
            return jinja_fail(c, at, "'in <string>' requires string as left operand, not %s", jv_type_name(item));
        *out = item.u.s.n == 0 || memmem(seq.u.s.p, seq.u.s.n, item.u.s.p, item.u.s.n) != NULL;
        return true;
    case JV_LIST:
        *out = false;
        for (size_t i = 0; i < seq.u.l->n && !*out; i++) *out = jv_equal(item, seq.u.l->v[i]);
        return true;
    case JV_DICT: {
        jv tmp;
        if ((item.t == JV_LIST && !(item.flags & JF_TUPLE)) || item.t == JV_DICT)
            return jinja_fail(c, at, "unhashable type: '%s'", jv_type_name(item));
        *out = jdict_get(seq.u.d, item, &tmp);
        return true;
    }
    default: return jinja_fail(c, at, "argument of type '%s' is not iterable", jv_type_name(seq));
    }
}

static bool compare(jctx *c, const jnode *at, int op, jv a, jv b, jv *out) {
    bool r = false;
    int cmp;
    switch (op) {
    case JOP_EQ: *out = jv_bool(jv_equal(a, b)); return true;
    case JOP_NE: *out = jv_bool(!jv_equal(a, b)); return true;
    case JOP_IN:
    case JOP_NOTIN:
        if (!contains(c, at, a, b, &r)) return false;
        *out = jv_bool(op == JOP_IN ? r : !r);
        return true;
    default:
        if (a.t == JV_UNDEF) return undefined_error(c, at, a);
        if (b.t == JV_UNDEF) return undefined_error(c, at, b);
        if (!jv_compare(a, b, &cmp))
            return jinja_fail(c, at, "'%s' not supported between instances of '%s' and '%s'", opname(op),
                              jv_type_name(a), jv_type_name(b));
        r = op == JOP_LT ? cmp < 0 : op == JOP_GT ? cmp > 0 : op == JOP_LE ? cmp <= 0 : cmp >= 0;
        *out = jv_bool(r);
        return true;
    }
}

/* ---- expressions ---------------------------------------------------------------------------- */
static bool eval(jctx *c, jscope *s, const jnode *n, jv *out);
static int exec_body(jctx *c, jscope *s, const jnode *body, jbuf *out);

static bool eval_args(jctx *c, jscope *s, const jnode *n, jargs *args) {
    args->n = n->nv;
    args->names = n->names;
    args->v = NULL;
    if (!n->nv) return true;
    args->v = jarena_alloc(c->a, (size_t)n->nv * sizeof(jv));
    if (!args->v) return oom(c, n);
    for (int i = 0; i < n->nv; i++)
        if (!eval(c, s, n->v[i], &args->v[i])) return false;
    return true;
}

static bool call_macro(jctx *c, const jnode *at, jmacro *m, const jargs *args, jv *out) {
    const jnode *def = m->def;
    if (++c->depth > JINJA_MAX_DEPTH) return jinja_fail(c, at, "macro calls nested too deeply (more than %d)", JINJA_MAX_DEPTH);
    jscope *s = scope_new(c, m->closure);
    if (!s) return oom(c, at);
    s->missing = def->b;
    int npos = 0;
    for (int i = 0; i < args->n; i++)
        if (!args->names || !args->names[i]) npos++;
    if (npos > def->nnames)
        return jinja_fail(c, at, "macro '%s' takes not more than %d argument(s)", def->s, def->nnames);
    for (int p = 0; p < def->nnames; p++) {
        jv v = jv_undef(def->names[p]);
        bool have = false;
        if (p < npos) {
            v = args->v[p];
            have = true;
        }
        for (int i = npos; i < args->n; i++)
            if (args->names[i] && strcmp(args->names[i], def->names[p]) == 0) {
                if (have) return jinja_fail(c, at, "macro '%s' got multiple values for argument '%s'", def->s, def->names[p]);
                v = args->v[i];
                have = true;
            }
        if (!have && def->v[p] && !eval(c, s, def->v[p], &v)) return false;
        if (!scope_set(c, s, def->names[p], v)) return oom(c, at);
    }
    for (int i = npos; i < args->n; i++) {
        bool known = false;
        for (int p = 0; p < def->nnames; p++) known |= strcmp(args->names[i], def->names[p]) == 0;
        if (!known) return jinja_fail(c, at, "macro '%s' has no parameter named '%s'", def->s, args->names[i]);
    }
    jbuf b = {.limit = c->max_output};
    int r = exec_body(c, s, def->b, &b);
    c->depth--;
    if (r == EV_ERR) {
        jbuf_free(&b);
        return false;
    }
    char *p = jarena_strdup(c->a, b.p ? b.p : "", b.n);
    size_t len = b.n;
    jbuf_free(&b);
    if (!p) return oom(c, at);
    *out = jv_str(p, len);
    return true;
}

bool jinja_call_value(jctx *c, const jnode *at, jv fn, const jargs *args, jv *out) {
    if (!step(c, at)) return false;
    switch (fn.t) {
    case JV_MACRO: return call_macro(c, at, fn.u.m, args, out);
    case JV_FUNC: return jinja_global_call(c, at, fn.u.fn, args, out);
    case JV_METHOD: return jinja_method(c, at, fn.u.meth->self, fn.u.meth->name, args, out);
    case JV_UNDEF: return undefined_error(c, at, fn);
    default: return jinja_fail(c, at, "'%s' object is not callable", jv_type_name(fn));
    }
}

static bool eval(jctx *c, jscope *s, const jnode *n, jv *out) {
    jv a, b;
    if (++c->depth > JINJA_MAX_DEPTH * 4) return jinja_fail(c, n, "expression nested too deeply");
    bool ok = true;
    switch (n->kind) {
    case JN_LIT: *out = n->lit; break;
    case JN_NAME: lookup(c, s, n->s, out); break;
    case JN_ATTR:
        ok = eval(c, s, n->a, &a) && jinja_getattr(c, n, a, n->s, n->n, out);
        break;
    case JN_ITEM: ok = eval(c, s, n->a, &a) && eval(c, s, n->b, &b) && getitem(c, n, a, b, out); break;
    case JN_SLICE: {
        jv idx[3] = {jv_none(), jv_none(), jv_none()};
        ok = eval(c, s, n->a, &a);
        for (int i = 0; i < 3 && ok; i++)
            if (n->v[i]) ok = eval(c, s, n->v[i], &idx[i]);
        ok = ok && do_slice(c, n, a, idx[0], idx[1], idx[2], out);
        break;
    }
    case JN_CALL: {
        jargs args;
        if (n->a->kind == JN_ATTR) {
            /* obj.method(...): call without making a bound-method value */
            ok = eval(c, s, n->a->a, &a);
            if (ok && a.t != JV_UNDEF && a.t != JV_LOOP && !(a.t == JV_DICT && (a.flags & JF_NAMESPACE)) &&
                jinja_has_method(a, n->a->s)) {
                ok = eval_args(c, s, n, &args) && step(c, n) && jinja_method(c, n, a, n->a->s, &args, out);
                break;
            }
            ok = ok && jinja_getattr(c, n->a, a, n->a->s, n->a->n, &b);
        } else {
            ok = eval(c, s, n->a, &b);
        }
        ok = ok && eval_args(c, s, n, &args) && jinja_call_value(c, n, b, &args, out);
        break;
    }
    case JN_FILTER: {
        jargs args;
        ok = eval(c, s, n->a, &a) && eval_args(c, s, n, &args) && jinja_filter(c, n, n->s, a, &args, out);
        break;
    }
    case JN_TEST: {
        jargs args;
        bool r;
        ok = eval(c, s, n->a, &a) && eval_args(c, s, n, &args) && jinja_test(c, n, n->s, a, &args, &r);
        if (ok) *out = jv_bool(n->op ? !r : r);
        break;
    }
    case JN_BINOP: ok = eval(c, s, n->a, &a) && eval(c, s, n->b, &b) && binop(c, n, n->op, a, b, out); break;
    case JN_CMP: ok = eval(c, s, n->a, &a) && eval(c, s, n->b, &b) && compare(c, n, n->op, a, b, out); break;
    case JN_AND:
        ok = eval(c, s, n->a, &a);
        if (ok && jv_truthy(a)) ok = eval(c, s, n->b, out);
        else *out = a;
        break;
    case JN_OR:
        ok = eval(c, s, n->a, &a);
        if (ok && !jv_truthy(a)) ok = eval(c, s, n->b, out);
        else *out = a;
        break;
    case JN_NOT:
        ok = eval(c, s, n->a, &a);
        if (ok) *out = jv_bool(!jv_truthy(a));
        break;
    case JN_NEG:
    case JN_POS:
        ok = eval(c, s, n->a, &a);
        if (!ok) break;
        if (a.t == JV_UNDEF) ok = undefined_error(c, n, a);
        else if (!jv_is_number(a)) ok = jinja_fail(c, n, "bad operand type for unary %s: '%s'", n->kind == JN_NEG ? "-" : "+", jv_type_name(a));
        else if (n->kind == JN_POS) *out = a.t == JV_BOOL ? jv_int(a.u.b) : a;
        else if (a.t == JV_FLOAT) *out = jv_float(-a.u.f);
        else if (ival(a) == INT64_MIN) ok = jinja_fail(c, n, "integer overflow in unary -");
        else *out = jv_int(-ival(a));
        break;
    case JN_COND:
        ok = eval(c, s, n->a, &a);
        if (!ok) break;
        if (jv_truthy(a)) ok = eval(c, s, n->b, out);
        else if (n->c) ok = eval(c, s, n->c, out);
        else *out = jv_undef(NULL);
        break;
    case JN_LIST:
    case JN_TUPLE: {
        jlist *l = jlist_new(c->a, (size_t)n->nv);
        if (!l) {
            ok = oom(c, n);
            break;
        }
        for (int i = 0; i < n->nv && ok; i++) ok = eval(c, s, n->v[i], &l->v[l->n++]);
        *out = jv_list(l, n->kind == JN_TUPLE ? JF_TUPLE : 0);
        break;
    }
    case JN_DICT: {
        jdict *d = jdict_new(c->a, (size_t)n->nv / 2);
        if (!d) {
            ok = oom(c, n);
            break;
        }
        for (int i = 0; i + 1 < n->nv && ok; i += 2) {
            ok = eval(c, s, n->v[i], &a) && eval(c, s, n->v[i + 1], &b);
            if (ok && (a.t == JV_LIST && !(a.flags & JF_TUPLE)))
                ok = jinja_fail(c, n->v[i], "unhashable type: 'list'");
            if (ok && a.t == JV_DICT) ok = jinja_fail(c, n->v[i], "unhashable type: 'dict'");
            if (ok && !jdict_set(c->a, d, a, b)) ok = oom(c, n);
        }
        *out = jv_dict(d, 0);
        break;
    }
    default: ok = jinja_fail(c, n, "internal error: node %d is not an expression", n->kind);
    }
    c->depth--;
    return ok && !c->failed;
}

/* ---- statements ---------------------------------------------------------------------------- */
static bool write_value(jctx *c, const jnode *at, jbuf *out, jv v) {
    jv_write_str(out, v);
    if (out->overflow) return jinja_fail(c, at, "rendered text longer than %zu bytes", c->max_output);
    return true;
}

static bool assign(jctx *c, jscope *s, const jnode *at, const char **names, int nnames, jv v) {
    if (nnames == 1) {
        if (!scope_set(c, s, names[0], v)) return oom(c, at);
        return true;
    }
    jlist *l;
    if (v.t == JV_UNDEF || !jinja_iterate(c, at, v, &l)) {
        if (v.t == JV_UNDEF) return undefined_error(c, at, v);
        return false;
    }
    if ((int)l->n != nnames)
        return jinja_fail(c, at, "cannot unpack %zu value(s) into %d name(s)", l->n, nnames);
    for (int i = 0; i < nnames; i++)
        if (!scope_set(c, s, names[i], l->v[i])) return oom(c, at);
    return true;
}

static bool apply_filters(jctx *c, jscope *s, const jnode *n, jv v, jv *out) {
    for (int i = 0; i < n->nw; i++) {
        jargs args;
        if (!eval_args(c, s, n->w[i], &args) || !jinja_filter(c, n->w[i], n->w[i]->s, v, &args, &v)) return false;
    }
    *out = v;
    return true;
}

static int exec_for(jctx *c, jscope *s, const jnode *n, jbuf *out) {
    jv seq;
    jlist *items;
    if (!eval(c, s, n->a, &seq)) return EV_ERR;
    if (seq.t == JV_UNDEF) {
        items = jlist_new(c->a, 0);
        if (!items) return oom(c, n), EV_ERR;
    } else if (!jinja_iterate(c, n->a, seq, &items)) {
        return EV_ERR;
    }
    jscope *body = scope_new(c, s);
    if (!body) return oom(c, n), EV_ERR;
    body->missing = n->b;
    if (n->c) {
        /* `for x in xs if cond`: filter first, so loop.* counts the kept items */
        jlist *kept = jlist_new(c->a, 0);
        if (!kept) return oom(c, n), EV_ERR;
        for (size_t i = 0; i < items->n; i++) {
            jv t;
            body->n = 0;
            if (!step(c, n) || !assign(c, body, n, n->names, n->nnames, items->v[i]) || !eval(c, body, n->c, &t))
                return EV_ERR;
            if (jv_truthy(t) && !jlist_push(c->a, kept, items->v[i])) return oom(c, n), EV_ERR;
        }
        items = kept;
    }
    jloop *L = jarena_alloc(c->a, sizeof *L);
    if (!L) return oom(c, n), EV_ERR;
    L->items = items;
    jv loopv = {.t = JV_LOOP, .u.loop = L};
    /* jinja2 runs the else block unless some iteration reached the end of the body
     * (so it also runs when every iteration ended in break or continue) */
    bool completed = false;
    for (size_t i = 0; i < items->n; i++) {
        if (!step(c, n)) return EV_ERR;
        body->n = 0; /* each iteration starts from the enclosing scope's values */
        L->index0 = (int64_t)i;
        if (!scope_set(c, body, "loop", loopv)) return oom(c, n), EV_ERR;
        if (!assign(c, body, n, n->names, n->nnames, items->v[i])) return EV_ERR;
        int r = exec_body(c, body, n->b, out);
        if (r == EV_ERR) return EV_ERR;
        if (r == EV_OK) completed = true;
        if (r == EV_BREAK) break;
    }
    if (!completed && n->nw) {
        jnode fake = {.kind = JN_BODY, .v = n->w, .nv = n->nw};
        jscope *es = scope_new(c, s); /* jinja2 runs the else block in a frame of its own */
        if (!es) return oom(c, n), EV_ERR;
        return exec_body(c, es, &fake, out) == EV_ERR ? EV_ERR : EV_OK;
    }
    return EV_OK;
}

static int exec_stmt(jctx *c, jscope *s, const jnode *n, jbuf *out) {
    jv v;
    if (!step(c, n)) return EV_ERR;
    switch (n->kind) {
    case JN_TEXT:
        if (!jbuf_put(out, n->s, n->n)) return jinja_fail(c, n, "rendered text longer than %zu bytes", c->max_output), EV_ERR;
        return EV_OK;
    case JN_OUTPUT:
        if (!eval(c, s, n->a, &v) || !write_value(c, n, out, v)) return EV_ERR;
        return EV_OK;
    case JN_BODY: return exec_body(c, s, n, out);
    case JN_IF:
        if (!eval(c, s, n->a, &v)) return EV_ERR;
        if (jv_truthy(v)) return exec_body(c, s, n->b, out);
        if (n->c) return n->c->kind == JN_IF ? exec_stmt(c, s, n->c, out) : exec_body(c, s, n->c, out);
        return EV_OK;
    case JN_FOR: return exec_for(c, s, n, out);
    case JN_SET:
        if (!eval(c, s, n->a, &v)) return EV_ERR;
        if (n->s) {
            jv ns;
            lookup(c, s, n->s, &ns);
            if (ns.t != JV_DICT || !(ns.flags & JF_NAMESPACE))
                return jinja_fail(c, n, "cannot assign attribute on non-namespace object '%s'", n->s), EV_ERR;
            jv key = jv_str(n->names[0], strlen(n->names[0]));
            if (!jdict_set(c->a, ns.u.d, key, v)) return oom(c, n), EV_ERR;
            return EV_OK;
        }
        return assign(c, s, n, n->names, n->nnames, v) ? EV_OK : EV_ERR;
    case JN_SETBLOCK:
    case JN_FILTERBLOCK: {
        jbuf b = {.limit = c->max_output};
        jscope *inner = scope_new(c, s); /* the body is a scope of its own in jinja2 */
        if (!inner) return oom(c, n), EV_ERR;
        inner->missing = n->b;
        int r = exec_body(c, inner, n->b, &b);
        if (r == EV_ERR) {
            jbuf_free(&b);
            return EV_ERR;
        }
        char *p = jarena_strdup(c->a, b.p ? b.p : "", b.n);
        size_t len = b.n;
        jbuf_free(&b);
        if (!p) return oom(c, n), EV_ERR;
        if (!apply_filters(c, s, n, jv_str(p, len), &v)) return EV_ERR;
        if (n->kind == JN_FILTERBLOCK) return write_value(c, n, out, v) ? EV_OK : EV_ERR;
        return assign(c, s, n, n->names, 1, v) ? r : EV_ERR;
    }
    case JN_MACRO: {
        jmacro *m = jarena_alloc(c->a, sizeof *m);
        if (!m) return oom(c, n), EV_ERR;
        m->def = n;
        m->closure = s;
        return scope_set(c, s, n->s, (jv){.t = JV_MACRO, .u.m = m}) ? EV_OK : (oom(c, n), EV_ERR);
    }
    case JN_BREAK: return EV_BREAK;
    case JN_CONTINUE: return EV_CONTINUE;
    default: return jinja_fail(c, n, "internal error: node %d is not a statement", n->kind), EV_ERR;
    }
}

static int exec_body(jctx *c, jscope *s, const jnode *body, jbuf *out) {
    if (++c->depth > JINJA_MAX_DEPTH * 4) return jinja_fail(c, body, "blocks nested too deeply"), EV_ERR;
    int r = EV_OK;
    for (int i = 0; i < body->nv && r == EV_OK; i++) r = exec_stmt(c, s, body->v[i], out);
    c->depth--;
    if (c->failed) return EV_ERR;
    return r;
}

bool jinja_render(const jnode *root, jarena *a, jdict *globals, const jrender_opts *o, jbuf *out, char *err,
                  size_t errcap) {
    jctx c = {.a = a, .vars = globals, .o = o, .err = err, .errcap = errcap};
    c.max_output = o && o->max_output ? o->max_output : JINJA_MAX_OUTPUT;
    out->limit = c.max_output;
    c.top = scope_new(&c, NULL);
    if (!c.top) return oom(&c, root);
    c.top->missing = root;
    int r = exec_body(&c, c.top, root, out);
    return r != EV_ERR && !c.failed;
}
