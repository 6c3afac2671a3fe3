/* jinja.h — internals of lmc's Jinja interpreter for chat templates (not installed).
 *
 * Pipeline: source --jinja_lex--> tokens --jinja_parse--> AST (jnode) --jinja_eval--> text.
 * Semantics follow Python's jinja2 as Hugging Face transformers configures it:
 * trim_blocks, lstrip_blocks, no autoescape, loopcontrols, sandboxed (no mutation of
 * lists/dicts except namespace attributes), Python str()/repr()/json.dumps formatting.
 *
 * Memory: the AST lives in the template's arena; every value made while rendering lives
 * in a per-render arena freed in one go, so values are plain structs with no ownership.
 */
#ifndef LMC_JINJA_H
#define LMC_JINJA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits: bad templates fail with an error instead of exhausting the machine -- */
#define JINJA_MAX_DEPTH 200                 /* nesting of expressions/blocks/macro calls */
#define JINJA_MAX_OUTPUT (64u << 20)        /* bytes of rendered text                    */
#define JINJA_MAX_ARENA (256u << 20)        /* bytes of values made while rendering      */
#define JINJA_MAX_STEPS 5000000LL           /* loop iterations + calls + statements      */
#define JINJA_MAX_RANGE 100000              /* range() length, as jinja2's sandbox       */

/* ---- arena ---------------------------------------------------------------------- */
typedef struct jarena_block jarena_block;
typedef struct jarena {
    jarena_block *head;
    size_t used_total, cap_total; /* cap_total 0 = unlimited */
    bool failed;
} jarena;

void *jarena_alloc(jarena *a, size_t n); /* zeroed; NULL when over the cap or OOM */
void jarena_free(jarena *a);
char *jarena_strdup(jarena *a, const char *s, size_t n);

/* ---- values ----------------------------------------------------------------------- */
typedef enum jtype {
    JV_UNDEF, /* a name/attribute that does not exist (jinja2.Undefined) */
    JV_NONE,
    JV_BOOL,
    JV_INT,
    JV_FLOAT,
    JV_STR,
    JV_LIST,   /* also tuples (flag JF_TUPLE) */
    JV_DICT,   /* also namespace() objects and loop (flags) */
    JV_MACRO,
    JV_FUNC,   /* a global function: range, namespace, raise_exception, ... */
    JV_METHOD, /* a bound method of a str/list/dict, e.g. the value of `d.items` */
    JV_LOOP,   /* the `loop` variable of a for loop */
} jtype;

enum { JF_TUPLE = 1, JF_NAMESPACE = 2, JF_RANGE = 4 /* a range() object: list + start/stop/step */ };

typedef struct jlist jlist;
typedef struct jdict jdict;
typedef struct jmacro jmacro;
typedef struct jmethod jmethod;
typedef struct jloop jloop;

typedef struct jv {
    uint8_t t;     /* jtype */
    uint8_t flags; /* JF_* for lists/dicts */
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            const char *p;
            size_t n;
        } s;       /* JV_STR bytes (UTF-8), JV_UNDEF: the missing name (may be NULL) */
        jlist *l;
        jdict *d;
        jmacro *m;
        int fn;    /* JV_FUNC: index into the globals table */
        jmethod *meth;
        jloop *loop;
    } u;
} jv;

struct jlist {
    size_t n, cap;
    jv *v;
    int64_t r_start, r_stop, r_step; /* JF_RANGE only: how Python prints it */
};
struct jdict {
    size_t n, cap;
    jv *k, *v; /* insertion order kept, as Python dicts */
};
struct jloop {
    jlist *items;   /* what is being iterated (after a loop filter) */
    int64_t index0; /* current position */
};
struct jmacro {
    const struct jnode *def;
    struct jscope *closure; /* scope the macro was defined in: names resolve there at call time */
};
struct jmethod {
    jv self;
    const char *name;
};

static inline jv jv_undef(const char *name) {
    jv v = {.t = JV_UNDEF};
    v.u.s.p = name;
    return v;
}
static inline jv jv_none(void) { return (jv){.t = JV_NONE}; }
static inline jv jv_bool(bool b) { return (jv){.t = JV_BOOL, .u.b = b}; }
static inline jv jv_int(int64_t i) { return (jv){.t = JV_INT, .u.i = i}; }
static inline jv jv_float(double f) { return (jv){.t = JV_FLOAT, .u.f = f}; }
static inline jv jv_str(const char *p, size_t n) {
    jv v = {.t = JV_STR};
    v.u.s.p = p;
    v.u.s.n = n;
    return v;
}

/* Growable byte buffer (malloc'ed) with a size cap. */
typedef struct jbuf {
    char *p;
    size_t n, cap, limit;
    bool overflow; /* hit limit or OOM */
} jbuf;
bool jbuf_put(jbuf *b, const char *s, size_t n);
bool jbuf_puts(jbuf *b, const char *s);
bool jbuf_putc(jbuf *b, char c);
bool jbuf_printf(jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void jbuf_free(jbuf *b);

jlist *jlist_new(jarena *a, size_t cap);
bool jlist_push(jarena *a, jlist *l, jv v);
jdict *jdict_new(jarena *a, size_t cap);
bool jdict_set(jarena *a, jdict *d, jv k, jv v);            /* replaces an existing key */
bool jdict_get(const jdict *d, jv k, jv *out);
bool jdict_get_str(const jdict *d, const char *k, jv *out);
jv jv_list(jlist *l, uint8_t flags);
jv jv_dict(jdict *d, uint8_t flags);

bool jv_truthy(jv v);
bool jv_is_number(jv v); /* int, float or bool (Python bool is an int) */
double jv_num(jv v);
bool jv_equal(jv a, jv b);
/* Python ordering of two values: sets *cmp to -1/0/1; false if they do not compare. */
bool jv_compare(jv a, jv b, int *cmp);
const char *jv_type_name(jv v); /* Python's name: 'str', 'NoneType', 'dict', ... */

/* Python str(v) appended to b (undefined gives ""). false on overflow. */
bool jv_write_str(jbuf *b, jv v);
/* Python repr(v). */
bool jv_write_repr(jbuf *b, jv v);
/* Python float repr ("0.5", "1e-05", "1.0"). */
void jv_format_float(double f, char *buf, size_t cap);

/* json.dumps(v, ensure_ascii, indent (<0: none), separators, sort_keys). Returns false and
 * sets *bad to the offending value when v holds something JSON cannot encode. */
typedef struct jjson_opts {
    bool ensure_ascii, sort_keys;
    int indent;             /* -1: single line */
    const char *item_sep;   /* NULL: ", " (or "," with indent) */
    const char *key_sep;    /* NULL: ": " */
} jjson_opts;
bool jv_write_json(jbuf *b, jv v, const jjson_opts *o, int depth, const char **why);

/* UTF-8 helpers: number of code points; byte offset of code point i (clamped). */
size_t ju_len(const char *s, size_t n);
size_t ju_offset(const char *s, size_t n, size_t cp);
/* Decodes one code point at s (n > 0); returns its byte length (1 for invalid bytes). */
int ju_decode(const char *s, size_t n, uint32_t *cp);
bool ju_is_space(uint32_t cp);

/* ---- tokens ----------------------------------------------------------------------- */
typedef enum jtok_kind {
    JT_EOF,
    JT_DATA,        /* template text, whitespace control already applied */
    JT_VAR_BEGIN,   /* {{ */
    JT_VAR_END,     /* }} */
    JT_BLOCK_BEGIN, /* {% */
    JT_BLOCK_END,   /* %} */
    JT_NAME,
    JT_STRING,      /* s holds the decoded value */
    JT_INT,
    JT_FLOAT,
    JT_OP,          /* s holds the operator text: + - * / // % ** ~ ( ) [ ] { } . , : | = == != < > <= >= */
} jtok_kind;

typedef struct jtok {
    jtok_kind kind;
    int line, col;
    const char *s;
    size_t n;
    int64_t i;
    double f;
} jtok;

typedef struct jtokens {
    jtok *v;
    size_t n, cap;
} jtokens;

/* Tokenizes a template; on error writes "line L, column C: ..." into err and returns false.
 * Strings and data are allocated in a. */
bool jinja_lex(const char *src, size_t len, jarena *a, jtokens *out, char *err, size_t errcap);

/* ---- AST -------------------------------------------------------------------------- */
typedef enum jnode_kind {
    /* expressions */
    JN_LIT,     /* lit */
    JN_NAME,    /* s */
    JN_ATTR,    /* a.s */
    JN_ITEM,    /* a[b] */
    JN_SLICE,   /* a[v[0]:v[1]:v[2]] (entries may be NULL) */
    JN_CALL,    /* a(v...) with names[i] for keyword args (NULL = positional) */
    JN_FILTER,  /* a|s(v...) (a NULL inside a filter block) */
    JN_TEST,    /* a is [not: op] s(v...) */
    JN_BINOP,   /* a op b: + - * / // % ** ~ */
    JN_CMP,     /* a op b: == != < > <= >= in notin */
    JN_AND,
    JN_OR,
    JN_NOT,
    JN_NEG,
    JN_POS,
    JN_COND,    /* b if a else c (c may be NULL) */
    JN_LIST,    /* [v...] */
    JN_TUPLE,   /* (v...) */
    JN_DICT,    /* {v[0]: v[1], ...} */
    /* statements */
    JN_BODY,    /* v: statements */
    JN_TEXT,    /* s */
    JN_OUTPUT,  /* {{ a }} */
    JN_IF,      /* if a: b (body) else c (body or nested if) */
    JN_FOR,     /* for names in a [if c]: b else w */
    JN_SET,     /* set names = a; or set s.names[0] = a (namespace attribute, s = object) */
    JN_SETBLOCK,/* set names[0] %}b{% endset (filters in w applied to the result) */
    JN_MACRO,   /* macro s(names, defaults v) body b */
    JN_FILTERBLOCK, /* filter w %}b{% endfilter */
    JN_BREAK,
    JN_CONTINUE,
} jnode_kind;

typedef struct jnode jnode;
struct jnode {
    uint8_t kind;
    uint8_t op;  /* JOP_* for binops/compares; 1 = negated test */
    int line, col;
    jnode *a, *b, *c;
    jnode **v;
    int nv;
    jnode **w;
    int nw;
    const char **names; /* parallel to v for calls; targets for for/set; params for macros */
    int nnames;
    const char *s;
    size_t n;
    jv lit;
    const char **missing; /* JN_BODY of a frame: names first seen as unconditional stores */
    int nmissing;
};

enum {
    JOP_ADD = 1, JOP_SUB, JOP_MUL, JOP_DIV, JOP_FLOORDIV, JOP_MOD, JOP_POW, JOP_CONCAT,
    JOP_EQ, JOP_NE, JOP_LT, JOP_GT, JOP_LE, JOP_GE, JOP_IN, JOP_NOTIN,
};

/* Parses tokens into a JN_BODY; on error writes "line L, column C: ..." into err. */
jnode *jinja_parse(const jtokens *toks, jarena *a, char *err, size_t errcap);

/* ---- evaluation ------------------------------------------------------------------- */
typedef struct jctx jctx;

typedef struct jrender_opts {
    const char *now;          /* "YYYY-MM-DDTHH:MM:SS" for strftime_now; NULL: current time */
    size_t max_output;        /* 0: JINJA_MAX_OUTPUT */
} jrender_opts;

/* Renders root with the variables in globals (a dict of the render arena a). On error
 * returns false with the message in err ("line L, column C: ..."). */
bool jinja_render(const jnode *root, jarena *a, jdict *globals, const jrender_opts *o, jbuf *out,
                  char *err, size_t errcap);

/* ---- builtins (jinja_builtins.c), called by the evaluator ------------------------- */
typedef struct jargs {
    int n;            /* all arguments */
    jv *v;
    const char **names; /* NULL entries for positional arguments */
} jargs;

/* Each returns false after jinja_fail(). */
bool jinja_filter(jctx *c, const jnode *at, const char *name, jv self, const jargs *args, jv *out);
bool jinja_test(jctx *c, const jnode *at, const char *name, jv self, const jargs *args, bool *out);
bool jinja_method(jctx *c, const jnode *at, jv self, const char *name, const jargs *args, jv *out);
bool jinja_has_method(jv self, const char *name);
/* Global functions: index by name (-1 if none), and call. */
int jinja_global_index(const char *name);
bool jinja_global_call(jctx *c, const jnode *at, int fn, const jargs *args, jv *out);

/* Evaluator services used by builtins. */
bool jinja_fail(jctx *c, const jnode *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
jarena *jinja_arena(jctx *c);
const char *jinja_now(jctx *c);
/* Calls a value (macro, global or method) with arguments. */
bool jinja_call_value(jctx *c, const jnode *at, jv fn, const jargs *args, jv *out);
/* Python str(v) as a new string value in the arena. */
bool jinja_to_str(jctx *c, const jnode *at, jv v, jv *out);
/* Attribute lookup as jinja2's environment.getattr (undefined when missing). */
bool jinja_getattr(jctx *c, const jnode *at, jv obj, const char *name, size_t n, jv *out);
/* Iterates a value as a list (strings by code point, dicts by key). */
bool jinja_iterate(jctx *c, const jnode *at, jv v, jlist **out);

#endif /* LMC_JINJA_H */
