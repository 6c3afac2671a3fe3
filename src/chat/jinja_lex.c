/* jinja_lex.c — splits a template into data and tag tokens, applying Jinja's
 * whitespace rules the way transformers configures jinja2: newlines normalised to "\n",
 * one trailing newline dropped, trim_blocks (first "\n" after a block or comment tag),
 * lstrip_blocks (spaces/tabs before a block or comment tag that starts a line), and
 * the "-" / "+" markers on tags. */
#include "jinja.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lexer {
    const char *s; /* normalised source */
    size_t n, pos;
    jarena *a;
    jtokens *out;
    char *err;
    size_t errcap;
    /* incremental line/column tracking (positions only move forward) */
    size_t lc_pos, lc_line_start;
    int lc_line;
    bool line_starting; /* the previous tag ended a line (jinja2's lstrip rule) */
    size_t tag_end;     /* just past the last tag's end marker, before any stripping */
} lexer;

static void where(lexer *L, size_t pos, int *line, int *col) {
    if (pos < L->lc_pos) { /* rare: restart */
        L->lc_pos = 0;
        L->lc_line = 1;
        L->lc_line_start = 0;
    }
    for (; L->lc_pos < pos && L->lc_pos < L->n; L->lc_pos++)
        if (L->s[L->lc_pos] == '\n') {
            L->lc_line++;
            L->lc_line_start = L->lc_pos + 1;
        }
    *line = L->lc_line;
    *col = (int)(pos - L->lc_line_start) + 1;
}

static bool lex_fail(lexer *L, size_t pos, const char *fmt, ...) {
    int line, col;
    where(L, pos, &line, &col);
    int k = snprintf(L->err, L->errcap, "line %d, column %d: ", line, col);
    if (k < 0 || (size_t)k >= L->errcap) return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->err + k, L->errcap - k, fmt, ap);
    va_end(ap);
    return false;
}

static jtok *push(lexer *L, jtok_kind kind, size_t pos) {
    jtokens *t = L->out;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        jtok *v = jarena_alloc(L->a, cap * sizeof *v);
        if (!v) return NULL;
        if (t->n) memcpy(v, t->v, t->n * sizeof *v);
        t->v = v;
        t->cap = cap;
    }
    jtok *k = &t->v[t->n++];
    memset(k, 0, sizeof *k);
    k->kind = kind;
    where(L, pos, &k->line, &k->col);
    return k;
}

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* Emits template text src[b, e) with the stripping the following tag asks for. */
static bool emit_data(lexer *L, size_t b, size_t e, char strip, bool lstrip_ok) {
    if (strip == '-') {
        while (e > b && is_ws(L->s[e - 1])) e--;
    } else if (strip != '+' && lstrip_ok) {
        size_t l = e;
        while (l > b && L->s[l - 1] != '\n') l--;
        bool at_line_start = l > b || L->line_starting;
        if (at_line_start) {
            size_t k = l;
            while (k < e && (L->s[k] == ' ' || L->s[k] == '\t')) k++;
            if (k == e) e = l;
        }
    }
    if (e <= b) return true;
    jtok *t = push(L, JT_DATA, b);
    if (!t) return lex_fail(L, b, "out of memory");
    t->s = L->s + b;
    t->n = e - b;
    return true;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void put_utf8(char *o, size_t *k, uint32_t cp) {
    if (cp < 0x80) {
        o[(*k)++] = (char)cp;
    } else if (cp < 0x800) {
        o[(*k)++] = (char)(0xC0 | (cp >> 6));
        o[(*k)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        o[(*k)++] = (char)(0xE0 | (cp >> 12));
        o[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[(*k)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        o[(*k)++] = (char)(0xF0 | (cp >> 18));
        o[(*k)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[(*k)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* A quoted string at L->pos; decodes Python's unicode-escape sequences. */
static bool lex_string(lexer *L) {
    size_t start = L->pos;
    char q = L->s[L->pos++];
    size_t b = L->pos;
    while (L->pos < L->n && L->s[L->pos] != q) {
        if (L->s[L->pos] == '\\' && L->pos + 1 < L->n) L->pos++;
        L->pos++;
    }
    if (L->pos >= L->n) return lex_fail(L, start, "unterminated string literal");
    size_t e = L->pos++;
    char *o = jarena_alloc(L->a, e - b + 1);
    if (!o) return lex_fail(L, start, "out of memory");
    size_t k = 0;
    for (size_t i = b; i < e; i++) {
        char c = L->s[i];
        if (c != '\\' || i + 1 >= e) {
            o[k++] = c;
            continue;
        }
        char d = L->s[++i];
        switch (d) {
        case 'n': o[k++] = '\n'; break;
        case 't': o[k++] = '\t'; break;
        case 'r': o[k++] = '\r'; break;
        case '\\': o[k++] = '\\'; break;
        case '\'': o[k++] = '\''; break;
        case '"': o[k++] = '"'; break;
        case 'a': o[k++] = '\a'; break;
        case 'b': o[k++] = '\b'; break;
        case 'f': o[k++] = '\f'; break;
        case 'v': o[k++] = '\v'; break;
        case '\n': break; /* line continuation */
        case 'x':
        case 'u':
        case 'U': {
            int nd = d == 'x' ? 2 : d == 'u' ? 4 : 8;
            uint32_t cp = 0;
            if (i + nd >= e) return lex_fail(L, start, "truncated \\%c escape in string", d);
            for (int j = 1; j <= nd; j++) {
                int h = hexval(L->s[i + j]);
                if (h < 0) return lex_fail(L, start, "bad \\%c escape in string", d);
                cp = cp * 16 + (uint32_t)h;
            }
            if (cp > 0x10FFFF) return lex_fail(L, start, "escape \\%c out of range in string", d);
            i += nd;
            /* UTF-8 of cp is never longer than the escape that wrote it */
            put_utf8(o, &k, cp);
            break;
        }
        default:
            if (d >= '0' && d <= '7') {
                uint32_t cp = 0;
                int j = 0;
                while (j < 3 && i < e && L->s[i] >= '0' && L->s[i] <= '7') {
                    cp = cp * 8 + (uint32_t)(L->s[i] - '0');
                    i++;
                    j++;
                }
                i--;
                put_utf8(o, &k, cp);
            } else {
                o[k++] = '\\';
                o[k++] = d;
            }
        }
    }
    jtok *t = push(L, JT_STRING, start);
    if (!t) return lex_fail(L, start, "out of memory");
    t->s = o;
    t->n = k;
    return true;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_name0(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

static bool lex_number(lexer *L) {
    size_t start = L->pos, p = L->pos;
    char buf[128];
    size_t k = 0;
    bool is_float = false;
#define DIGITS()                                                                         \
    while (p < L->n && (is_digit(L->s[p]) || (L->s[p] == '_' && p + 1 < L->n && is_digit(L->s[p + 1])))) { \
        if (L->s[p] != '_' && k < sizeof buf - 2) buf[k++] = L->s[p];                    \
        p++;                                                                             \
    }
    DIGITS();
    if (p + 1 < L->n && L->s[p] == '.' && is_digit(L->s[p + 1])) {
        is_float = true;
        buf[k++] = L->s[p++];
        DIGITS();
    }
    if (p < L->n && (L->s[p] == 'e' || L->s[p] == 'E')) {
        size_t q = p + 1;
        if (q < L->n && (L->s[q] == '+' || L->s[q] == '-')) q++;
        if (q < L->n && is_digit(L->s[q])) {
            is_float = true;
            while (p < q && k < sizeof buf - 2) buf[k++] = L->s[p++];
            DIGITS();
        }
    }
#undef DIGITS
    buf[k] = 0;
    jtok *t = push(L, is_float ? JT_FLOAT : JT_INT, start);
    if (!t) return lex_fail(L, start, "out of memory");
    if (is_float) {
        t->f = strtod(buf, NULL);
    } else {
        unsigned long long v = strtoull(buf, NULL, 10);
        if (k > 18 && (v > (unsigned long long)INT64_MAX || k > 19))
            return lex_fail(L, start, "integer literal too large");
        t->i = (int64_t)v;
    }
    t->s = L->s + start;
    t->n = p - start;
    L->pos = p;
    return true;
}

static const char *OPS2[] = {"//", "**", "==", "!=", "<=", ">="};
static const char OPS1[] = "+-*/%~()[]{}.,:|=<>";

/* Tokens of one tag up to its end marker. kind: JT_VAR_BEGIN or JT_BLOCK_BEGIN. */
static bool lex_tag(lexer *L, jtok_kind kind, size_t tag_start) {
    int depth = 0; /* open brackets: "}}" inside a dict literal is not the tag's end */
    for (;;) {
        while (L->pos < L->n && is_ws(L->s[L->pos])) L->pos++;
        if (L->pos >= L->n)
            return lex_fail(L, tag_start, "unterminated '%s' tag (missing '%s')",
                            kind == JT_VAR_BEGIN ? "{{" : "{%", kind == JT_VAR_BEGIN ? "}}" : "%}");
        const char *c = L->s + L->pos;
        size_t left = L->n - L->pos;
        /* end of tag */
        char strip = 0;
        size_t endlen = 0;
        if (kind == JT_BLOCK_BEGIN) {
            if (left >= 3 && (c[0] == '-' || c[0] == '+') && c[1] == '%' && c[2] == '}') strip = c[0], endlen = 3;
            else if (left >= 2 && c[0] == '%' && c[1] == '}') endlen = 2;
        } else if (depth == 0) {
            if (left >= 3 && c[0] == '-' && c[1] == '}' && c[2] == '}') strip = '-', endlen = 3;
            else if (left >= 2 && c[0] == '}' && c[1] == '}') endlen = 2;
        }
        if (endlen) {
            if (!push(L, kind == JT_VAR_BEGIN ? JT_VAR_END : JT_BLOCK_END, L->pos))
                return lex_fail(L, L->pos, "out of memory");
            L->pos += endlen;
            L->tag_end = L->pos;
            if (strip == '-') {
                while (L->pos < L->n && is_ws(L->s[L->pos])) L->pos++;
            } else if (kind == JT_BLOCK_BEGIN && strip != '+' && L->pos < L->n && L->s[L->pos] == '\n') {
                L->pos++; /* trim_blocks */
            }
            L->line_starting = L->pos > 0 && L->s[L->pos - 1] == '\n';
            return true;
        }
        if (*c == '\'' || *c == '"') {
            if (!lex_string(L)) return false;
            continue;
        }
        if (is_digit(*c)) {
            if (!lex_number(L)) return false;
            continue;
        }
        if (is_name0(*c)) {
            size_t b = L->pos;
            while (L->pos < L->n && (is_name0(L->s[L->pos]) || is_digit(L->s[L->pos]))) L->pos++;
            jtok *t = push(L, JT_NAME, b);
            if (!t) return lex_fail(L, b, "out of memory");
            t->s = L->s + b;
            t->n = L->pos - b;
            continue;
        }
        size_t oplen = 0;
        for (size_t i = 0; i < sizeof OPS2 / sizeof OPS2[0]; i++)
            if (left >= 2 && c[0] == OPS2[i][0] && c[1] == OPS2[i][1]) oplen = 2;
        if (!oplen && strchr(OPS1, *c)) oplen = 1;
        if (!oplen) {
            if (*c == '{' || *c == '%' || *c == '#')
                return lex_fail(L, L->pos, "unexpected '%c' inside a tag (is a '%s' missing?)", *c,
                                kind == JT_VAR_BEGIN ? "}}" : "%}");
            return lex_fail(L, L->pos, "unexpected character '%c' (0x%02x) in a tag",
                            (unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f ? *c : '?', (unsigned char)*c);
        }
        if (oplen == 1) {
            if (*c == '(' || *c == '[' || *c == '{') depth++;
            if ((*c == ')' || *c == ']' || *c == '}') && depth > 0) depth--;
        }
        jtok *t = push(L, JT_OP, L->pos);
        if (!t) return lex_fail(L, L->pos, "out of memory");
        t->s = c;
        t->n = oplen;
        L->pos += oplen;
    }
}

/* After "{% raw %}": everything up to "{% endraw %}" is data. */
static bool lex_raw(lexer *L, size_t tag_start) {
    size_t b = L->pos;
    for (size_t p = b; p + 1 < L->n; p++) {
        if (L->s[p] != '{' || L->s[p + 1] != '%') continue;
        size_t q = p + 2;
        char strip = 0;
        if (q < L->n && (L->s[q] == '-' || L->s[q] == '+')) strip = L->s[q++];
        while (q < L->n && is_ws(L->s[q])) q++;
        if (L->n - q < 6 || memcmp(L->s + q, "endraw", 6) != 0) continue;
        q += 6;
        while (q < L->n && is_ws(L->s[q])) q++;
        char estrip = 0;
        if (q < L->n && (L->s[q] == '-' || L->s[q] == '+')) estrip = L->s[q++];
        if (L->n - q < 2 || L->s[q] != '%' || L->s[q + 1] != '}') continue;
        if (!emit_data(L, b, p, strip, true)) return false;
        L->pos = q + 2;
        if (estrip == '-') {
            while (L->pos < L->n && is_ws(L->s[L->pos])) L->pos++;
        } else if (estrip != '+' && L->pos < L->n && L->s[L->pos] == '\n') {
            L->pos++;
        }
        L->line_starting = L->s[L->pos - 1] == '\n';
        return true;
    }
    return lex_fail(L, tag_start, "unterminated 'raw' block (missing '{%% endraw %%}')");
}

bool jinja_lex(const char *src, size_t len, jarena *a, jtokens *out, char *err, size_t errcap) {
    /* jinja2 reads the source with splitlines() and joins with "\n": CRLF/CR become LF
     * and a single trailing newline disappears (keep_trailing_newline=False). */
    char *s = jarena_alloc(a, len + 1);
    if (!s) {
        snprintf(err, errcap, "out of memory");
        return false;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            s[n++] = '\n';
            if (i + 1 < len && src[i + 1] == '\n') i++;
        } else {
            s[n++] = src[i];
        }
    }
    if (n > 0 && s[n - 1] == '\n') n--;
    lexer L = {.s = s, .n = n, .a = a, .out = out, .err = err, .errcap = errcap, .lc_line = 1,
               .line_starting = true};
    memset(out, 0, sizeof *out);
    while (L.pos < n) {
        /* next tag start */
        size_t p = L.pos;
        const char *hit = NULL;
        while (p + 1 < n) {
            hit = memchr(s + p, '{', n - p - 1);
            if (!hit) break;
            char d = hit[1];
            if (d == '{' || d == '%' || d == '#') break;
            p = (size_t)(hit - s) + 1;
            hit = NULL;
        }
        if (!hit) {
            if (!emit_data(&L, L.pos, n, 0, false)) return false;
            break;
        }
        size_t t = (size_t)(hit - s);
        char kindc = s[t + 1];
        char strip = t + 2 < n && (s[t + 2] == '-' || s[t + 2] == '+') ? s[t + 2] : 0;
        if (kindc == '{' && strip == '+') strip = 0; /* "{{+" is not a marker */
        if (!emit_data(&L, L.pos, t, strip, kindc != '{')) return false;
        L.pos = t + 2 + (strip ? 1 : 0);
        if (kindc == '#') {
            /* comment: up to "#}", with its own markers */
            size_t q = L.pos;
            const char *e = NULL;
            while (q + 1 < n) {
                e = memchr(s + q, '#', n - q - 1);
                if (!e || e[1] == '}') break;
                q = (size_t)(e - s) + 1;
                e = NULL;
            }
            if (!e) return lex_fail(&L, t, "unterminated comment (missing '#}')");
            size_t ce = (size_t)(e - s);
            char cstrip = ce > L.pos && (s[ce - 1] == '-' || s[ce - 1] == '+') ? s[ce - 1] : 0;
            L.pos = ce + 2;
            if (cstrip == '-') {
                while (L.pos < n && is_ws(s[L.pos])) L.pos++;
            } else if (cstrip != '+' && L.pos < n && s[L.pos] == '\n') {
                L.pos++;
            }
            L.line_starting = s[L.pos - 1] == '\n';
            continue;
        }
        jtok_kind kind = kindc == '{' ? JT_VAR_BEGIN : JT_BLOCK_BEGIN;
        if (!push(&L, kind, t)) return lex_fail(&L, t, "out of memory");
        size_t first = out->n;
        if (!lex_tag(&L, kind, t)) return false;
        /* {% raw %} switches to verbatim text */
        if (kind == JT_BLOCK_BEGIN && out->n == first + 2 && out->v[first].kind == JT_NAME &&
            out->v[first].n == 3 && memcmp(out->v[first].s, "raw", 3) == 0) {
            if (s[L.tag_end - 3] == '+') return lex_fail(&L, t, "unknown tag 'raw' ('raw' cannot end with '+%%}')");
            out->n = first - 1;
            /* jinja2's raw_begin rule has no trim_blocks newline */
            if (L.pos > L.tag_end && s[L.tag_end - 3] != '-') L.pos = L.tag_end;
            if (!lex_raw(&L, t)) return false;
        }
    }
    if (!push(&L, JT_EOF, n)) return lex_fail(&L, n, "out of memory");
    return true;
}
