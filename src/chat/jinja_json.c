/* jinja_json.c — JSON text to interpreter values, as Python's json.loads builds them:
 * objects keep key order (a repeated key keeps its first place, last value), integers
 * stay integers and numbers with a fraction or exponent are floats (cJSON cannot tell
 * 1 from 1.0, and tojson must print them as Python would). */
#include "jinja_json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct jp {
    const char *s;
    size_t n, i;
    jarena *a;
    char *err;
    size_t errcap;
    int depth;
} jp;

static bool jfail(jp *P, const char *what) {
    int line = 1, col = 1;
    for (size_t k = 0; k < P->i && k < P->n; k++) {
        if (P->s[k] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    snprintf(P->err, P->errcap, "JSON line %d, column %d: %s", line, col, what);
    return false;
}

static void ws(jp *P) {
    while (P->i < P->n && (P->s[P->i] == ' ' || P->s[P->i] == '\t' || P->s[P->i] == '\n' || P->s[P->i] == '\r')) P->i++;
}

static bool lit(jp *P, const char *word) {
    size_t k = strlen(word);
    if (P->n - P->i >= k && memcmp(P->s + P->i, word, k) == 0) {
        P->i += k;
        return true;
    }
    return false;
}

static int hex4(const char *p) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int h = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t utf8(char *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static bool parse_string(jp *P, jv *out) {
    P->i++; /* opening quote */
    size_t b = P->i;
    while (P->i < P->n && P->s[P->i] != '"') {
        if ((unsigned char)P->s[P->i] < 0x20) return jfail(P, "control character in string");
        if (P->s[P->i] == '\\') P->i++;
        P->i++;
    }
    if (P->i >= P->n) return jfail(P, "unterminated string");
    size_t e = P->i++;
    char *o = jarena_alloc(P->a, e - b + 1);
    if (!o) return jfail(P, "out of memory");
    size_t k = 0;
    for (size_t i = b; i < e; i++) {
        if (P->s[i] != '\\') {
            o[k++] = P->s[i];
            continue;
        }
        char d = P->s[++i];
        switch (d) {
        case '"': o[k++] = '"'; break;
        case '\\': o[k++] = '\\'; break;
        case '/': o[k++] = '/'; break;
        case 'b': o[k++] = '\b'; break;
        case 'f': o[k++] = '\f'; break;
        case 'n': o[k++] = '\n'; break;
        case 'r': o[k++] = '\r'; break;
        case 't': o[k++] = '\t'; break;
        case 'u': {
            if (i + 4 >= e) return jfail(P, "truncated \\u escape");
            int h = hex4(P->s + i + 1);
            if (h < 0) return jfail(P, "bad \\u escape");
            i += 4;
            uint32_t cp = (uint32_t)h;
            if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < e && P->s[i + 1] == '\\' && P->s[i + 2] == 'u') {
                int lo = hex4(P->s + i + 3);
                if (lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (uint32_t)(lo - 0xDC00);
                    i += 6;
                }
            }
            k += utf8(o + k, cp); /* a lone surrogate becomes its 3-byte form */
            break;
        }
        default: P->i = i; return jfail(P, "bad escape in string");
        }
    }
    *out = jv_str(o, k);
    return true;
}

static bool parse_number(jp *P, jv *out) {
    size_t b = P->i;
    bool is_float = false;
    if (P->s[P->i] == '-') P->i++;
    if (P->i >= P->n || P->s[P->i] < '0' || P->s[P->i] > '9') return jfail(P, "bad number");
    while (P->i < P->n && P->s[P->i] >= '0' && P->s[P->i] <= '9') P->i++;
    if (P->i < P->n && P->s[P->i] == '.') {
        is_float = true;
        P->i++;
        if (P->i >= P->n || P->s[P->i] < '0' || P->s[P->i] > '9') return jfail(P, "bad number");
        while (P->i < P->n && P->s[P->i] >= '0' && P->s[P->i] <= '9') P->i++;
    }
    if (P->i < P->n && (P->s[P->i] == 'e' || P->s[P->i] == 'E')) {
        is_float = true;
        P->i++;
        if (P->i < P->n && (P->s[P->i] == '+' || P->s[P->i] == '-')) P->i++;
        if (P->i >= P->n || P->s[P->i] < '0' || P->s[P->i] > '9') return jfail(P, "bad number");
        while (P->i < P->n && P->s[P->i] >= '0' && P->s[P->i] <= '9') P->i++;
    }
    char tmp[400];
    size_t len = P->i - b;
    if (len >= sizeof tmp) return jfail(P, "number too long");
    memcpy(tmp, P->s + b, len);
    tmp[len] = 0;
    if (!is_float) {
        char *end;
        errno = 0;
        long long v = strtoll(tmp, &end, 10);
        if (errno == 0) {
            *out = jv_int(v);
            return true;
        }
        return jfail(P, "integer out of the 64-bit range");
    }
    *out = jv_float(strtod(tmp, NULL));
    return true;
}

static bool parse_value(jp *P, jv *out) {
    ws(P);
    if (P->i >= P->n) return jfail(P, "unexpected end of input");
    if (++P->depth > 512) return jfail(P, "nested too deeply");
    char c = P->s[P->i];
    bool ok = true;
    if (c == '"') {
        ok = parse_string(P, out);
    } else if (c == '{') {
        P->i++;
        jdict *d = jdict_new(P->a, 0);
        if (!d) return jfail(P, "out of memory");
        ws(P);
        if (P->i < P->n && P->s[P->i] == '}') {
            P->i++;
        } else {
            for (;;) {
                jv k, v;
                ws(P);
                if (P->i >= P->n || P->s[P->i] != '"') return jfail(P, "expected a string key");
                if (!parse_string(P, &k)) return false;
                ws(P);
                if (P->i >= P->n || P->s[P->i] != ':') return jfail(P, "expected ':'");
                P->i++;
                if (!parse_value(P, &v)) return false;
                if (!jdict_set(P->a, d, k, v)) return jfail(P, "out of memory");
                ws(P);
                if (P->i < P->n && P->s[P->i] == ',') {
                    P->i++;
                    continue;
                }
                if (P->i < P->n && P->s[P->i] == '}') {
                    P->i++;
                    break;
                }
                return jfail(P, "expected ',' or '}'");
            }
        }
        *out = jv_dict(d, 0);
    } else if (c == '[') {
        P->i++;
        jlist *l = jlist_new(P->a, 0);
        if (!l) return jfail(P, "out of memory");
        ws(P);
        if (P->i < P->n && P->s[P->i] == ']') {
            P->i++;
        } else {
            for (;;) {
                jv v;
                if (!parse_value(P, &v)) return false;
                if (!jlist_push(P->a, l, v)) return jfail(P, "out of memory");
                ws(P);
                if (P->i < P->n && P->s[P->i] == ',') {
                    P->i++;
                    continue;
                }
                if (P->i < P->n && P->s[P->i] == ']') {
                    P->i++;
                    break;
                }
                return jfail(P, "expected ',' or ']'");
            }
        }
        *out = jv_list(l, 0);
    } else if (lit(P, "true")) {
        *out = jv_bool(true);
    } else if (lit(P, "false")) {
        *out = jv_bool(false);
    } else if (lit(P, "null")) {
        *out = jv_none();
    } else if (lit(P, "NaN")) {
        *out = jv_float(NAN);
    } else if (lit(P, "Infinity")) {
        *out = jv_float(INFINITY);
    } else if (lit(P, "-Infinity")) {
        *out = jv_float(-INFINITY);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        ok = parse_number(P, out);
    } else {
        return jfail(P, "unexpected character");
    }
    P->depth--;
    return ok;
}

bool jinja_json_parse(const char *s, size_t n, jarena *a, jv *out, char *err, size_t errcap) {
    jp P = {.s = s, .n = n, .a = a, .err = err, .errcap = errcap};
    if (!parse_value(&P, out)) return false;
    ws(&P);
    if (P.i != P.n) return jfail(&P, "extra data after the JSON value");
    return true;
}
