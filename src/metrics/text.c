/* text.c — the Python string semantics sacreBLEU's scores depend on: UTF-8 code
 * points, str.isspace()/split()/rstrip(), str.lower(). */
#include "metrics-impl.h"

#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

size_t lmc_txt_utf8_valid_prefix(const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) n = 2, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0) n = 3, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0) n = 4, cp = c & 0x07, min = 0x10000;
        else return i;
        if (len - i < n) return i;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += n;
    }
    return len;
}

uint32_t lmc_txt_decode(const char *str, size_t *i) {
    const unsigned char *s = (const unsigned char *)str + *i;
    uint32_t c = s[0];
    if (c < 0x80) {
        *i += 1;
        return c;
    }
    if ((c & 0xE0) == 0xC0) {
        *i += 2;
        return ((c & 0x1F) << 6) | (s[1] & 0x3F);
    }
    if ((c & 0xF0) == 0xE0) {
        *i += 3;
        return ((c & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    }
    *i += 4;
    return ((c & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) | (s[3] & 0x3F);
}

int lmc_txt_encode(uint32_t cp, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

bool lmc_txt_isspace(uint32_t cp) {
    /* Python: bidirectional class WS, B or S, or category Zs. */
    if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
    if (cp < 0x85) return false;
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* Start of the code point that ends at s[end) (s valid UTF-8, end > 0). */
static size_t prev_cp(const char *s, size_t end) {
    size_t i = end - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
    return i;
}

size_t lmc_txt_rstrip(const char *s, size_t len) {
    while (len > 0) {
        size_t st = prev_cp(s, len), j = st;
        if (!lmc_txt_isspace(lmc_txt_decode(s, &j))) break;
        len = st;
    }
    return len;
}

int lmc_txt_split(const char *s, size_t len, lmc_txt_span **spans, size_t *n, size_t *cap) {
    size_t i = 0;
    while (i < len) {
        size_t st = i;
        uint32_t cp = (unsigned char)s[i] < 0x80 ? (uint32_t)(unsigned char)s[i++] : lmc_txt_decode(s, &i);
        if (lmc_txt_isspace(cp)) continue;
        size_t end = i;
        while (i < len) {
            size_t j = i;
            cp = (unsigned char)s[j] < 0x80 ? (uint32_t)(unsigned char)s[j++] : lmc_txt_decode(s, &j);
            if (lmc_txt_isspace(cp)) break;
            i = end = j;
        }
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 64;
            lmc_txt_span *p = realloc(*spans, nc * sizeof *p);
            if (!p) return lmc_set_error(LMC_ERR_NOMEM, "out of memory splitting text");
            *spans = p;
            *cap = nc;
        }
        (*spans)[(*n)++] = (lmc_txt_span){(uint32_t)st, (uint32_t)(end - st)};
    }
    return LMC_OK;
}

static locale_t g_utf8_locale;
static pthread_once_t g_locale_once = PTHREAD_ONCE_INIT;
static void locale_init(void) {
    g_utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    if (!g_utf8_locale) g_utf8_locale = newlocale(LC_CTYPE_MASK, "en_US.UTF-8", (locale_t)0);
}

/* Cased / case-ignorable, approximately as Unicode defines them (for final sigma). */
static bool is_cased(uint32_t cp) {
    if (cp < 0x80) return (cp | 32) >= 'a' && (cp | 32) <= 'z';
    return g_utf8_locale && (towlower_l((wint_t)cp, g_utf8_locale) != (wint_t)cp ||
                             towupper_l((wint_t)cp, g_utf8_locale) != (wint_t)cp);
}
static bool is_case_ignorable(uint32_t cp) {
    return cp == '\'' || cp == '.' || cp == ':' || cp == '^' || cp == '`' || cp == 0xB7 || cp == 0x2019 ||
           cp == 0xAD || (cp >= 0x300 && cp <= 0x36F) || (cp >= 0x2B0 && cp <= 0x2FF) || cp == 0x200B ||
           cp == 0x200C || cp == 0x200D;
}

/* Python's Final_Sigma: capital sigma after a cased letter and not before one (case-
 * ignorable characters skipped both ways) lowercases to final sigma. */
static bool final_sigma(const char *s, size_t len, size_t at, size_t after) {
    bool before = false;
    for (size_t i = at; i > 0;) {
        i = prev_cp(s, i);
        size_t j = i;
        uint32_t cp = lmc_txt_decode(s, &j);
        if (is_case_ignorable(cp)) continue;
        before = is_cased(cp);
        break;
    }
    if (!before) return false;
    for (size_t i = after; i < len;) {
        uint32_t cp = lmc_txt_decode(s, &i);
        if (is_case_ignorable(cp)) continue;
        return !is_cased(cp);
    }
    return true;
}

int lmc_txt_lower(const char *s, size_t len, char **out, size_t *out_len) {
    pthread_once(&g_locale_once, locale_init);
    char *o = malloc(len * 2 + 1); /* a lowercase form is at most 2x longer in UTF-8 */
    if (!o) return lmc_set_error(LMC_ERR_NOMEM, "out of memory lowercasing text");
    size_t i = 0, k = 0;
    while (i < len) {
        size_t at = i;
        uint32_t cp = lmc_txt_decode(s, &i);
        uint32_t lo = cp;
        if (cp < 0x80) {
            if (cp >= 'A' && cp <= 'Z') lo = cp + 32;
        } else if (cp == 0x130) {
            /* Python: U+0130 lowercases to "i" + combining dot above. */
            o[k++] = 'i';
            lo = 0x307;
        } else if (cp == 0x3A3) {
            lo = final_sigma(s, len, at, i) ? 0x3C2 : 0x3C3;
        } else if (g_utf8_locale) {
            lo = (uint32_t)towlower_l((wint_t)cp, g_utf8_locale);
        }
        k += (size_t)lmc_txt_encode(lo, o + k);
    }
    o[k] = 0;
    *out = o;
    *out_len = k;
    return LMC_OK;
}

int lmc_txt_buf_put(lmc_txt_buf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n + 1) nc *= 2;
        char *p = realloc(b->p, nc);
        if (!p) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
        b->p = p;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
    return LMC_OK;
}
