/* jinja_parse.c — recursive-descent parser from tokens to the AST, with jinja2's
 * grammar and operator precedence (loosest first): conditional `x if c else y`, `or`,
 * `and`, `not`, comparisons and `in`, `+ -`, `~`, `* / // %`, `**`, unary `- +`, then
 * primaries with `.attr`, `[index]`, `[a:b:c]`, calls, `|filter` and `is test`. */
#include "jinja.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct parser {
    const jtok *t;
    size_t n, i;
    jarena *a;
    char *err;
    size_t errcap;
    int depth;      /* recursion guard */
    int loop_depth; /* for break/continue checks */
    bool failed;
} parser;

static const jtok *cur(parser *P) { return &P->t[P->i < P->n ? P->i : P->n - 1]; }
static const jtok *peek(parser *P, size_t k) {
    return &P->t[P->i + k < P->n ? P->i + k : P->n - 1];
}

static const char *tok_desc(const jtok *t, char *buf, size_t cap) {
    switch (t->kind) {
    case JT_EOF: return "end of template";
    case JT_DATA: return "template text";
    case JT_VAR_BEGIN: return "'{{'";
    case JT_VAR_END: return "'}}'";
    case JT_BLOCK_BEGIN: return "'{%'";
    case JT_BLOCK_END: return "'%}'";
    case JT_STRING: return "a string";
    case JT_INT:
    case JT_FLOAT: return "a number";
    default: snprintf(buf, cap, "'%.*s'", (int)(t->n > 40 ? 40 : t->n), t->s); return buf;
    }
}

static void *pfail(parser *P, const jtok *at, const char *fmt, ...) {
    if (P->failed) return NULL;
    P->failed = true;
    int k = snprintf(P->err, P->errcap, "line %d, column %d: ", at->line, at->col);
    if (k < 0 || (size_t)k >= P->errcap) return NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(P->err + k, P->errcap - k, fmt, ap);
    va_end(ap);
    return NULL;
}

static bool is_op(const jtok *t, const char *op) {
    return t->kind == JT_OP && t->n == strlen(op) && memcmp(t->s, op, t->n) == 0;
}
static bool is_name(const jtok *t, const char *name) {
    return t->kind == JT_NAME && t->n == strlen(name) && memcmp(t->s, name, t->n) == 0;
}
static bool skip_op(parser *P, const char *op) {
    if (!is_op(cur(P), op)) return false;
    P->i++;
    return true;
}
static bool skip_name(parser *P, const char *name) {
    if (!is_name(cur(P), name)) return false;
    P->i++;
    return true;
}
static bool expect_op(parser *P, const char *op) {
    if (skip_op(P, op)) return true;
    char b[64];
    pfail(P, cur(P), "expected '%s', got %s", op, tok_desc(cur(P), b, sizeof b));
    return false;
}
static bool expect_end(parser *P, const char *what) {
    if (cur(P)->kind == JT_BLOCK_END) {
        P->i++;
        return true;
    }
    char b[64];
    pfail(P, cur(P), "expected '%%}' to end '%s', got %s", what, tok_desc(cur(P), b, sizeof b));
    return false;
}

static jnode *node(parser *P, int kind, const jtok *at) {
    jnode *n = jarena_alloc(P->a, sizeof *n);
    if (!n) return pfail(P, at, "out of memory");
    n->kind = (uint8_t)kind;
    n->line = at->line;
    n->col = at->col;
    return n;
}

static const char *tok_str(parser *P, const jtok *t) {
    char *s = jarena_strdup(P->a, t->s, t->n);
    if (!s) pfail(P, t, "out of memory");
    return s;
}

/* Growable node/name arrays built in the arena. */
typedef struct nvec {
    jnode **v;
    const char **names;
    int n, cap;
} nvec;

static bool nvec_push(parser *P, nvec *v, jnode *x, const char *name) {
    if (v->n == v->cap) {
        int cap = v->cap ? v->cap * 2 : 4;
        jnode **nv = jarena_alloc(P->a, (size_t)cap * sizeof *nv);
        const char **nn = jarena_alloc(P->a, (size_t)cap * sizeof *nn);
        if (!nv || !nn) {
            pfail(P, cur(P), "out of memory");
            return false;
        }
        if (v->n) {
            memcpy(nv, v->v, (size_t)v->n * sizeof *nv);
            memcpy(nn, v->names, (size_t)v->n * sizeof *nn);
        }
        v->v = nv;
        v->names = nn;
        v->cap = cap;
    }
    v->v[v->n] = x;
    v->names[v->n] = name;
    v->n++;
    return true;
}

static jnode *parse_expr(parser *P, bool with_cond);
static jnode *parse_or(parser *P);
static jnode *parse_unary(parser *P, bool with_filter);
static jnode *parse_primary(parser *P);
static jnode *parse_postfix(parser *P, jnode *n);

static bool enter(parser *P) {
    if (++P->depth > JINJA_MAX_DEPTH) {
        pfail(P, cur(P), "template nested too deeply (more than %d levels)", JINJA_MAX_DEPTH);
        return false;
    }
    return true;
}

/* "(" args ")" after the "(" was seen: positional and name=value arguments. */
static bool parse_args(parser *P, jnode *n) {
    nvec v = {0};
    bool kw = false;
    while (!is_op(cur(P), ")")) {
        if (v.n && !expect_op(P, ",")) return false;
        if (is_op(cur(P), ")")) break; /* trailing comma */
        if (is_op(cur(P), "*") || is_op(cur(P), "**"))
            return pfail(P, cur(P), "unsupported: *args / **kwargs in calls"), false;
        const char *name = NULL;
        if (cur(P)->kind == JT_NAME && is_op(peek(P, 1), "=")) {
            name = tok_str(P, cur(P));
            P->i += 2;
            kw = true;
        } else if (kw) {
            return pfail(P, cur(P), "positional argument after keyword argument"), false;
        }
        jnode *x = parse_expr(P, true);
        if (!x || !nvec_push(P, &v, x, name)) return false;
    }
    P->i++; /* ")" */
    n->v = v.v;
    n->names = v.names;
    n->nv = v.n;
    return true;
}

static jnode *parse_filter(parser *P, jnode *value) {
    /* after "|" */
    const jtok *t = cur(P);
    if (t->kind != JT_NAME) return pfail(P, t, "expected a filter name after '|'");
    jnode *f = node(P, JN_FILTER, t);
    if (!f) return NULL;
    f->a = value;
    f->s = tok_str(P, t);
    P->i++;
    if (skip_op(P, "(") && !parse_args(P, f)) return NULL;
    return f;
}

static jnode *parse_test(parser *P, jnode *value) {
    /* after "is" */
    bool neg = skip_name(P, "not");
    const jtok *t = cur(P);
    if (t->kind != JT_NAME) return pfail(P, t, "expected a test name after 'is'");
    jnode *x = node(P, JN_TEST, t);
    if (!x) return NULL;
    x->a = value;
    x->op = neg;
    x->s = tok_str(P, t);
    P->i++;
    const jtok *c = cur(P);
    if (skip_op(P, "(")) {
        if (!parse_args(P, x)) return NULL;
    } else if ((c->kind == JT_NAME || c->kind == JT_STRING || c->kind == JT_INT || c->kind == JT_FLOAT ||
                is_op(c, "[") || is_op(c, "{")) &&
               !is_name(c, "else") && !is_name(c, "or") && !is_name(c, "and")) {
        /* one argument without parentheses: `x is divisibleby 3` */
        if (is_name(c, "is")) return pfail(P, c, "'is' cannot follow a test");
        jnode *arg = parse_primary(P);
        if (!arg || !(arg = parse_postfix(P, arg))) return NULL;
        x->v = jarena_alloc(P->a, sizeof(jnode *));
        x->names = jarena_alloc(P->a, sizeof(char *));
        if (!x->v || !x->names) return pfail(P, c, "out of memory");
        x->v[0] = arg;
        x->nv = 1;
    }
    return x;
}

static jnode *parse_postfix(parser *P, jnode *n) {
    for (;;) {
        const jtok *t = cur(P);
        if (is_op(t, ".")) {
            P->i++;
            const jtok *a = cur(P);
            jnode *x = node(P, JN_ATTR, a);
            if (!x) return NULL;
            x->a = n;
            if (a->kind == JT_NAME) {
                x->s = tok_str(P, a);
                x->n = a->n;
            } else if (a->kind == JT_INT) {
                x->kind = JN_ITEM; /* x.0 is x[0] */
                x->b = node(P, JN_LIT, a);
                if (!x->b) return NULL;
                x->b->lit = jv_int(a->i);
            } else {
                return pfail(P, a, "expected an attribute name after '.'");
            }
            P->i++;
            n = x;
        } else if (is_op(t, "[")) {
            P->i++;
            jnode *idx[3] = {0};
            bool slice = false;
            for (int k = 0; k < 3; k++) {
                if (!is_op(cur(P), ":") && !is_op(cur(P), "]")) {
                    if (!(idx[k] = parse_expr(P, true))) return NULL;
                }
                if (k < 2 && skip_op(P, ":")) {
                    slice = true;
                    continue;
                }
                break;
            }
            if (!expect_op(P, "]")) return NULL;
            if (!slice && !idx[0]) return pfail(P, t, "empty subscript '[]'");
            jnode *x = node(P, slice ? JN_SLICE : JN_ITEM, t);
            if (!x) return NULL;
            x->a = n;
            if (slice) {
                x->v = jarena_alloc(P->a, 3 * sizeof(jnode *));
                if (!x->v) return pfail(P, t, "out of memory");
                memcpy(x->v, idx, sizeof idx);
                x->nv = 3;
            } else {
                x->b = idx[0];
            }
            n = x;
        } else if (is_op(t, "(")) {
            P->i++;
            jnode *x = node(P, JN_CALL, t);
            if (!x) return NULL;
            x->a = n;
            if (!parse_args(P, x)) return NULL;
            n = x;
        } else {
            return n;
        }
    }
}

static jnode *parse_filter_expr(parser *P, jnode *n) {
    for (;;) {
        const jtok *t = cur(P);
        if (is_op(t, "|")) {
            P->i++;
            if (!(n = parse_filter(P, n))) return NULL;
        } else if (is_name(t, "is")) {
            P->i++;
            if (!(n = parse_test(P, n))) return NULL;
        } else if (is_op(t, "(")) {
            P->i++;
            jnode *x = node(P, JN_CALL, t);
            if (!x) return NULL;
            x->a = n;
            if (!parse_args(P, x)) return NULL;
            n = x;
        } else {
            return n;
        }
    }
}

static jnode *parse_primary(parser *P) {
    const jtok *t = cur(P);
    char b[64];
    if (!enter(P)) return NULL;
    jnode *n = NULL;
    if (t->kind == JT_NAME) {
        n = node(P, JN_LIT, t);
        if (!n) return NULL;
        if (is_name(t, "true") || is_name(t, "True")) n->lit = jv_bool(true);
        else if (is_name(t, "false") || is_name(t, "False")) n->lit = jv_bool(false);
        else if (is_name(t, "none") || is_name(t, "None")) n->lit = jv_none();
        else {
            n->kind = JN_NAME;
            n->s = tok_str(P, t);
            n->n = t->n;
        }
        P->i++;
    } else if (t->kind == JT_STRING) {
        /* adjacent literals concatenate: "a" "b" */
        size_t total = 0, k = P->i;
        while (k < P->n && P->t[k].kind == JT_STRING) total += P->t[k++].n;
        char *s = jarena_alloc(P->a, total + 1);
        if (!s) return pfail(P, t, "out of memory");
        size_t o = 0;
        for (; P->i < k; P->i++) {
            memcpy(s + o, P->t[P->i].s, P->t[P->i].n);
            o += P->t[P->i].n;
        }
        n = node(P, JN_LIT, t);
        if (!n) return NULL;
        n->lit = jv_str(s, total);
    } else if (t->kind == JT_INT || t->kind == JT_FLOAT) {
        n = node(P, JN_LIT, t);
        if (!n) return NULL;
        n->lit = t->kind == JT_INT ? jv_int(t->i) : jv_float(t->f);
        P->i++;
    } else if (is_op(t, "(")) {
        P->i++;
        if (skip_op(P, ")")) {
            n = node(P, JN_TUPLE, t);
        } else {
            jnode *x = parse_expr(P, true);
            if (!x) return NULL;
            if (is_op(cur(P), ",")) {
                nvec v = {0};
                if (!nvec_push(P, &v, x, NULL)) return NULL;
                while (skip_op(P, ",")) {
                    if (is_op(cur(P), ")")) break;
                    if (!(x = parse_expr(P, true)) || !nvec_push(P, &v, x, NULL)) return NULL;
                }
                n = node(P, JN_TUPLE, t);
                if (!n) return NULL;
                n->v = v.v;
                n->nv = v.n;
            } else {
                n = x;
            }
            if (!expect_op(P, ")")) return NULL;
        }
    } else if (is_op(t, "[")) {
        P->i++;
        nvec v = {0};
        while (!is_op(cur(P), "]")) {
            if (v.n && !expect_op(P, ",")) return NULL;
            if (is_op(cur(P), "]")) break;
            jnode *x = parse_expr(P, true);
            if (!x || !nvec_push(P, &v, x, NULL)) return NULL;
        }
        P->i++;
        n = node(P, JN_LIST, t);
        if (!n) return NULL;
        n->v = v.v;
        n->nv = v.n;
    } else if (is_op(t, "{")) {
        P->i++;
        nvec v = {0};
        while (!is_op(cur(P), "}")) {
            if (v.n && !expect_op(P, ",")) return NULL;
            if (is_op(cur(P), "}")) break;
            jnode *k = parse_expr(P, true);
            if (!k || !expect_op(P, ":")) return NULL;
            jnode *x = parse_expr(P, true);
            if (!x || !nvec_push(P, &v, k, NULL) || !nvec_push(P, &v, x, NULL)) return NULL;
        }
        P->i++;
        n = node(P, JN_DICT, t);
        if (!n) return NULL;
        n->v = v.v;
        n->nv = v.n;
    } else {
        return pfail(P, t, "unexpected %s in an expression", tok_desc(t, b, sizeof b));
    }
    P->depth--;
    return n;
}

static jnode *parse_unary(parser *P, bool with_filter) {
    const jtok *t = cur(P);
    if (!enter(P)) return NULL;
    jnode *n;
    if (is_op(t, "-") || is_op(t, "+")) {
        P->i++;
        n = node(P, is_op(t, "-") ? JN_NEG : JN_POS, t);
        if (!n || !(n->a = parse_unary(P, false))) return NULL;
    } else {
        n = parse_primary(P);
    }
    if (n) n = parse_postfix(P, n);
    if (n && with_filter) n = parse_filter_expr(P, n);
    P->depth--;
    return n;
}

static jnode *binop(parser *P, const jtok *t, int kind, int op, jnode *a, jnode *b) {
    if (!a || !b) return NULL;
    jnode *n = node(P, kind, t);
    if (!n) return NULL;
    n->op = (uint8_t)op;
    n->a = a;
    n->b = b;
    return n;
}

static jnode *parse_pow(parser *P) {
    jnode *n = parse_unary(P, true);
    while (n && is_op(cur(P), "**")) {
        const jtok *t = cur(P);
        P->i++;
        n = binop(P, t, JN_BINOP, JOP_POW, n, parse_unary(P, true));
    }
    return n;
}

static jnode *parse_math2(parser *P) {
    jnode *n = parse_pow(P);
    for (;;) {
        const jtok *t = cur(P);
        int op = is_op(t, "*") ? JOP_MUL : is_op(t, "/") ? JOP_DIV : is_op(t, "//") ? JOP_FLOORDIV
                                                           : is_op(t, "%") ? JOP_MOD : 0;
        if (!n || !op) return n;
        P->i++;
        n = binop(P, t, JN_BINOP, op, n, parse_pow(P));
    }
}

static jnode *parse_concat(parser *P) {
    jnode *n = parse_math2(P);
    while (n && is_op(cur(P), "~")) {
        const jtok *t = cur(P);
        P->i++;
        n = binop(P, t, JN_BINOP, JOP_CONCAT, n, parse_math2(P));
    }
    return n;
}

static jnode *parse_math1(parser *P) {
    jnode *n = parse_concat(P);
    for (;;) {
        const jtok *t = cur(P);
        int op = is_op(t, "+") ? JOP_ADD : is_op(t, "-") ? JOP_SUB : 0;
        if (!n || !op) return n;
        P->i++;
        n = binop(P, t, JN_BINOP, op, n, parse_concat(P));
    }
}

static jnode *parse_compare(parser *P) {
    jnode *n = parse_math1(P);
    jnode *last = n; /* a < b < c is (a < b) and (b < c) */
    bool chained = false;
    for (;;) {
        if (!n) return NULL;
        const jtok *t = cur(P);
        int op = is_op(t, "==") ? JOP_EQ : is_op(t, "!=") ? JOP_NE : is_op(t, "<") ? JOP_LT
               : is_op(t, ">") ? JOP_GT : is_op(t, "<=") ? JOP_LE : is_op(t, ">=") ? JOP_GE
               : is_name(t, "in") ? JOP_IN : 0;
        if (!op && is_name(t, "not") && is_name(peek(P, 1), "in")) {
            op = JOP_NOTIN;
            P->i++;
        }
        if (!op) return n;
        P->i++;
        jnode *r = parse_math1(P);
        jnode *c = binop(P, t, JN_CMP, op, last, r);
        if (!c) return NULL;
        n = chained ? binop(P, t, JN_AND, 0, n, c) : c;
        chained = true;
        last = r;
    }
}

static jnode *parse_not(parser *P) {
    const jtok *t = cur(P);
    if (is_name(t, "not")) {
        P->i++;
        if (!enter(P)) return NULL;
        jnode *n = node(P, JN_NOT, t);
        if (!n || !(n->a = parse_not(P))) return NULL;
        P->depth--;
        return n;
    }
    return parse_compare(P);
}

static jnode *parse_and(parser *P) {
    jnode *n = parse_not(P);
    while (n && is_name(cur(P), "and")) {
        const jtok *t = cur(P);
        P->i++;
        n = binop(P, t, JN_AND, 0, n, parse_not(P));
    }
    return n;
}

static jnode *parse_or(parser *P) {
    jnode *n = parse_and(P);
    while (n && is_name(cur(P), "or")) {
        const jtok *t = cur(P);
        P->i++;
        n = binop(P, t, JN_OR, 0, n, parse_and(P));
    }
    return n;
}

static jnode *parse_expr(parser *P, bool with_cond) {
    if (!enter(P)) return NULL;
    jnode *n = parse_or(P);
    while (with_cond && n && is_name(cur(P), "if")) {
        const jtok *t = cur(P);
        P->i++;
        jnode *c = node(P, JN_COND, t);
        if (!c) return NULL;
        c->b = n;
        if (!(c->a = parse_or(P))) return NULL;
        if (skip_name(P, "else") && !(c->c = parse_expr(P, true))) return NULL;
        n = c;
    }
    P->depth--;
    return n;
}

/* ---- statements ----------------------------------------------------------------------- */

/* Parses statements until "{% <one of ends> ...": returns the body and leaves P at the
 * end name (just after "{%"). ends == NULL: up to the end of the template. */
static jnode *parse_body(parser *P, const char *const *ends, const char *opener, const jtok *open_tok);

static bool parse_targets(parser *P, jnode *n, const char *what) {
    nvec v = {0};
    bool paren = skip_op(P, "(");
    do {
        const jtok *t = cur(P);
        if (t->kind != JT_NAME) return pfail(P, t, "expected a variable name in '%s'", what), false;
        if (!nvec_push(P, &v, NULL, tok_str(P, t))) return false;
        P->i++;
    } while (skip_op(P, ","));
    if (paren && !expect_op(P, ")")) return false;
    n->names = v.names;
    n->nnames = v.n;
    return true;
}

static jnode *parse_if(parser *P, const jtok *t) {
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    jnode *n = node(P, JN_IF, t);
    if (!n || !(n->a = parse_expr(P, true)) || !expect_end(P, "if")) return NULL;
    if (!(n->b = parse_body(P, ends, "if", t))) return NULL;
    const jtok *e = cur(P);
    P->i++;
    if (is_name(e, "elif")) {
        n->c = parse_if(P, e); /* consumes through endif */
        return n->c ? n : NULL;
    }
    if (is_name(e, "else")) {
        static const char *const end2[] = {"endif", NULL};
        if (!expect_end(P, "else") || !(n->c = parse_body(P, end2, "if", t))) return NULL;
        P->i++;
    }
    return expect_end(P, "endif") ? n : NULL;
}

static jnode *parse_for(parser *P, const jtok *t) {
    static const char *const ends[] = {"else", "endfor", NULL};
    static const char *const end2[] = {"endfor", NULL};
    jnode *n = node(P, JN_FOR, t);
    if (!n || !parse_targets(P, n, "for")) return NULL;
    if (!skip_name(P, "in")) return pfail(P, cur(P), "expected 'in' in 'for'");
    if (!(n->a = parse_expr(P, false))) return NULL;
    if (is_op(cur(P), ",")) return pfail(P, cur(P), "unsupported: iterating over a tuple literal without parentheses");
    if (skip_name(P, "if") && !(n->c = parse_expr(P, false))) return NULL;
    if (is_name(cur(P), "recursive")) return pfail(P, cur(P), "unsupported: recursive for loops");
    if (!expect_end(P, "for")) return NULL;
    P->loop_depth++;
    n->b = parse_body(P, ends, "for", t);
    P->loop_depth--;
    if (!n->b) return NULL;
    if (skip_name(P, "else")) {
        jnode *e;
        if (!expect_end(P, "else") || !(e = parse_body(P, end2, "for", t))) return NULL;
        n->w = e->v;
        n->nw = e->nv;
    }
    P->i++; /* endfor */
    return expect_end(P, "endfor") ? n : NULL;
}

static jnode *parse_set(parser *P, const jtok *t) {
    static const char *const ends[] = {"endset", NULL};
    jnode *n = node(P, JN_SET, t);
    if (!n) return NULL;
    const jtok *a = cur(P);
    if (a->kind == JT_NAME && is_op(peek(P, 1), ".")) {
        /* namespace attribute: set ns.attr = value */
        n->s = tok_str(P, a);
        P->i += 2;
        const jtok *b = cur(P);
        if (b->kind != JT_NAME) return pfail(P, b, "expected an attribute name in 'set'");
        n->names = jarena_alloc(P->a, sizeof(char *));
        if (!n->names) return pfail(P, b, "out of memory");
        n->names[0] = tok_str(P, b);
        n->nnames = 1;
        P->i++;
    } else if (!parse_targets(P, n, "set")) {
        return NULL;
    }
    if (skip_op(P, "=")) {
        if (!(n->a = parse_expr(P, true))) return NULL;
        if (is_op(cur(P), ",")) {
            /* set a, b = 1, 2 */
            nvec v = {0};
            if (!nvec_push(P, &v, n->a, NULL)) return NULL;
            const jtok *c = cur(P);
            while (skip_op(P, ",")) {
                jnode *x = parse_expr(P, true);
                if (!x || !nvec_push(P, &v, x, NULL)) return NULL;
            }
            jnode *tu = node(P, JN_TUPLE, c);
            if (!tu) return NULL;
            tu->v = v.v;
            tu->nv = v.n;
            n->a = tu;
        }
        return expect_end(P, "set") ? n : NULL;
    }
    /* block form, with optional filters: {% set x | trim %}...{% endset %} */
    if (n->s || n->nnames != 1) return pfail(P, cur(P), "a block 'set' takes exactly one name");
    n->kind = JN_SETBLOCK;
    nvec f = {0};
    while (skip_op(P, "|")) {
        jnode *x = parse_filter(P, NULL);
        if (!x || !nvec_push(P, &f, x, NULL)) return NULL;
    }
    n->w = f.v;
    n->nw = f.n;
    if (!expect_end(P, "set") || !(n->b = parse_body(P, ends, "set", t))) return NULL;
    P->i++;
    return expect_end(P, "endset") ? n : NULL;
}

static jnode *parse_macro(parser *P, const jtok *t) {
    static const char *const ends[] = {"endmacro", NULL};
    jnode *n = node(P, JN_MACRO, t);
    if (!n) return NULL;
    if (cur(P)->kind != JT_NAME) return pfail(P, cur(P), "expected a macro name");
    n->s = tok_str(P, cur(P));
    P->i++;
    if (!expect_op(P, "(")) return NULL;
    nvec v = {0};
    bool have_default = false;
    while (!is_op(cur(P), ")")) {
        if (v.n && !expect_op(P, ",")) return NULL;
        const jtok *a = cur(P);
        if (a->kind != JT_NAME) return pfail(P, a, "expected a parameter name in macro '%s'", n->s);
        P->i++;
        jnode *def = NULL;
        if (skip_op(P, "=")) {
            if (!(def = parse_expr(P, true))) return NULL;
            have_default = true;
        } else if (have_default) {
            return pfail(P, a, "parameter without a default after one with a default");
        }
        if (!nvec_push(P, &v, def, tok_str(P, a))) return NULL;
    }
    P->i++;
    n->v = v.v;
    n->names = v.names;
    n->nv = n->nnames = v.n;
    if (!expect_end(P, "macro")) return NULL;
    int saved = P->loop_depth;
    P->loop_depth = 0;
    n->b = parse_body(P, ends, "macro", t);
    P->loop_depth = saved;
    if (!n->b) return NULL;
    P->i++;
    if (cur(P)->kind == JT_NAME) P->i++; /* {% endmacro name %} */
    return expect_end(P, "endmacro") ? n : NULL;
}

static jnode *parse_filter_block(parser *P, const jtok *t) {
    static const char *const ends[] = {"endfilter", NULL};
    jnode *n = node(P, JN_FILTERBLOCK, t);
    if (!n) return NULL;
    nvec f = {0};
    do {
        jnode *x = parse_filter(P, NULL);
        if (!x || !nvec_push(P, &f, x, NULL)) return NULL;
    } while (skip_op(P, "|"));
    n->w = f.v;
    n->nw = f.n;
    if (!expect_end(P, "filter") || !(n->b = parse_body(P, ends, "filter", t))) return NULL;
    P->i++;
    return expect_end(P, "endfilter") ? n : NULL;
}

static jnode *parse_statement(parser *P) {
    const jtok *t = cur(P); /* the tag name */
    char b[64];
    if (t->kind != JT_NAME) return pfail(P, t, "expected a tag name after '{%%', got %s", tok_desc(t, b, sizeof b));
    P->i++;
    if (is_name(t, "if")) return parse_if(P, t);
    if (is_name(t, "for")) return parse_for(P, t);
    if (is_name(t, "set")) return parse_set(P, t);
    if (is_name(t, "macro")) return parse_macro(P, t);
    if (is_name(t, "filter")) return parse_filter_block(P, t);
    if (is_name(t, "break") || is_name(t, "continue")) {
        if (P->loop_depth == 0) return pfail(P, t, "'%.*s' outside a for loop", (int)t->n, t->s);
        jnode *n = node(P, is_name(t, "break") ? JN_BREAK : JN_CONTINUE, t);
        return n && expect_end(P, "break") ? n : NULL;
    }
    if (is_name(t, "generation")) {
        /* transformers' {% generation %} marks assistant text; it renders its body */
        static const char *const ends[] = {"endgeneration", NULL};
        jnode *n;
        if (!expect_end(P, "generation") || !(n = parse_body(P, ends, "generation", t))) return NULL;
        P->i++;
        return expect_end(P, "endgeneration") ? n : NULL;
    }
    static const char *const unsupported[] = {"call", "include", "import", "from", "extends", "block",
                                              "with", "autoescape", "do", "trans", NULL};
    for (int i = 0; unsupported[i]; i++)
        if (is_name(t, unsupported[i])) return pfail(P, t, "unsupported tag '%s'", unsupported[i]);
    return pfail(P, t, "unknown tag '%.*s'", (int)(t->n > 40 ? 40 : t->n), t->s);
}

static jnode *parse_body(parser *P, const char *const *ends, const char *opener, const jtok *open_tok) {
    if (!enter(P)) return NULL;
    nvec v = {0};
    jnode *body = node(P, JN_BODY, cur(P));
    if (!body) return NULL;
    for (;;) {
        const jtok *t = cur(P);
        jnode *x = NULL;
        if (t->kind == JT_EOF) {
            if (ends) {
                const char *want = ends[0];
                for (int i = 0; ends[i]; i++)
                    if (strncmp(ends[i], "end", 3) == 0) want = ends[i];
                return pfail(P, open_tok, "unclosed '%s' (expected '{%% %s %%}' before the end of the template)",
                             opener, want);
            }
            break;
        } else if (t->kind == JT_DATA) {
            x = node(P, JN_TEXT, t);
            if (!x) return NULL;
            x->s = t->s;
            x->n = t->n;
            P->i++;
        } else if (t->kind == JT_VAR_BEGIN) {
            P->i++;
            x = node(P, JN_OUTPUT, t);
            if (!x || !(x->a = parse_expr(P, true))) return NULL;
            if (cur(P)->kind != JT_VAR_END) {
                char b[64];
                return pfail(P, cur(P), "expected '}}', got %s", tok_desc(cur(P), b, sizeof b));
            }
            P->i++;
        } else if (t->kind == JT_BLOCK_BEGIN) {
            const jtok *name = peek(P, 1);
            if (ends && name->kind == JT_NAME)
                for (int i = 0; ends[i]; i++)
                    if (is_name(name, ends[i])) {
                        P->i++;
                        goto done;
                    }
            if (name->kind == JT_NAME && name->n > 3 && memcmp(name->s, "end", 3) == 0)
                return pfail(P, name, "unexpected '%.*s'%s%s%s", (int)(name->n > 40 ? 40 : name->n), name->s,
                             opener ? " inside '" : " (no open block)", opener ? opener : "", opener ? "'" : "");
            if (name->kind == JT_NAME && (is_name(name, "else") || is_name(name, "elif")))
                return pfail(P, name, "unexpected '%.*s'%s", (int)name->n, name->s,
                             opener ? "" : " outside 'if' or 'for'");
            P->i++;
            if (!(x = parse_statement(P))) return NULL;
        } else {
            char b[64];
            return pfail(P, t, "unexpected %s", tok_desc(t, b, sizeof b));
        }
        if (!nvec_push(P, &v, x, NULL)) return NULL;
    }
done:
    body->v = v.v;
    body->nv = v.n;
    P->depth--;
    return body;
}

/* ---- jinja2's name analysis (idtracking), simplified ------------------------------------
 * Per frame (template, for body, macro body, set/filter block body): a name whose first
 * occurrence in the frame's own statements is a store made on every path starts out
 * "missing" (undefined, hiding outer values); one first read, or stored on some paths
 * only, is resolved from outside. Nested frames are analysed on their own. */
typedef struct names {
    const char **v;
    int n, cap;
} names;

typedef struct idtrack {
    names resolve, undef;
} idtrack;

static bool names_has(const names *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->v[i], name) == 0) return true;
    return false;
}

static void names_add(parser *P, names *s, const char *name) {
    if (names_has(s, name)) return;
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 8;
        const char **v = jarena_alloc(P->a, (size_t)cap * sizeof *v);
        if (!v) {
            pfail(P, &P->t[0], "out of memory");
            return;
        }
        if (s->n) memcpy(v, s->v, (size_t)s->n * sizeof *v);
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = name;
}

static bool decided(const idtrack *t, const char *name) {
    return names_has(&t->resolve, name) || names_has(&t->undef, name);
}

static void track_loads(parser *P, idtrack *t, const jnode *n, int depth) {
    if (!n || depth > JINJA_MAX_DEPTH * 2) return;
    if (n->kind == JN_NAME && !decided(t, n->s)) names_add(P, &t->resolve, n->s);
    track_loads(P, t, n->a, depth + 1);
    track_loads(P, t, n->b, depth + 1);
    track_loads(P, t, n->c, depth + 1);
    for (int i = 0; i < n->nv; i++) track_loads(P, t, n->v[i], depth + 1);
}

static void track_store(parser *P, idtrack *t, const char *name) {
    if (!decided(t, name)) names_add(P, &t->undef, name);
}

static void analyze_frame(parser *P, jnode *body, int depth);
static void track_body(parser *P, idtrack *t, const jnode *body, int depth);

static void track_stmt(parser *P, idtrack *t, jnode *n, int depth) {
    if (depth > JINJA_MAX_DEPTH * 2) return;
    switch (n->kind) {
    case JN_OUTPUT: track_loads(P, t, n->a, depth); break;
    case JN_SET:
        track_loads(P, t, n->a, depth);
        if (n->s) {
            if (!decided(t, n->s)) names_add(P, &t->resolve, n->s);
        } else {
            for (int i = 0; i < n->nnames; i++) track_store(P, t, n->names[i]);
        }
        break;
    case JN_SETBLOCK:
        track_store(P, t, n->names[0]);
        analyze_frame(P, n->b, depth + 1);
        break;
    case JN_MACRO:
        for (int i = 0; i < n->nv; i++) track_loads(P, t, n->v[i], depth);
        track_store(P, t, n->s);
        analyze_frame(P, n->b, depth + 1);
        break;
    case JN_FOR:
        track_loads(P, t, n->a, depth);
        analyze_frame(P, n->b, depth + 1); /* the else block is a frame of its own too */
        break;
    case JN_FILTERBLOCK: analyze_frame(P, n->b, depth + 1); break;
    case JN_BODY: track_body(P, t, n, depth + 1); break;
    case JN_IF: {
        /* each branch from the current state; a name stored in every branch keeps the
         * branch's decision, one stored in only some is resolved from outside */
        track_loads(P, t, n->a, depth);
        idtrack br[2];
        memset(br, 0, sizeof br);
        for (int b = 0; b < 2; b++) { /* copies: the branches must not share storage */
            for (int i = 0; i < t->resolve.n; i++) names_add(P, &br[b].resolve, t->resolve.v[i]);
            for (int i = 0; i < t->undef.n; i++) names_add(P, &br[b].undef, t->undef.v[i]);
        }
        track_body(P, &br[0], n->b, depth + 1);
        if (n->c) {
            if (n->c->kind == JN_IF) track_stmt(P, &br[1], n->c, depth + 1);
            else track_body(P, &br[1], n->c, depth + 1);
        }
        for (int b = 0; b < 2; b++)
            for (int i = 0; i < br[b].resolve.n; i++)
                if (!decided(t, br[b].resolve.v[i])) names_add(P, &t->resolve, br[b].resolve.v[i]);
        for (int b = 0; b < 2; b++)
            for (int i = 0; i < br[b].undef.n; i++) {
                const char *name = br[b].undef.v[i];
                if (decided(t, name)) continue;
                if (names_has(&br[1 - b].undef, name)) names_add(P, &t->undef, name);
                else names_add(P, &t->resolve, name);
            }
        break;
    }
    default: break;
    }
}

static void track_body(parser *P, idtrack *t, const jnode *body, int depth) {
    for (int i = 0; i < body->nv; i++) track_stmt(P, t, body->v[i], depth);
}

static void analyze_frame(parser *P, jnode *body, int depth) {
    if (!body || depth > JINJA_MAX_DEPTH * 2) return;
    idtrack t = {0};
    track_body(P, &t, body, depth);
    body->missing = t.undef.v;
    body->nmissing = t.undef.n;
}

jnode *jinja_parse(const jtokens *toks, jarena *a, char *err, size_t errcap) {
    parser P = {.t = toks->v, .n = toks->n, .a = a, .err = err, .errcap = errcap};
    if (P.n == 0) {
        snprintf(err, errcap, "empty token stream");
        return NULL;
    }
    jnode *root = parse_body(&P, NULL, NULL, NULL);
    if (root && !P.failed) analyze_frame(&P, root, 0);
    return P.failed ? NULL : root;
}
