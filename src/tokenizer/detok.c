/* detok.c — token ids back to text: pieces, whole sequences, and a streaming decoder.
 *
 * A token's piece is computed once at load time (piece cache), the way llama.cpp's
 * token_to_piece renders it: SentencePiece "▁" -> space, byte tokens -> their
 * byte, byte-level BPE text -> the bytes GPT-2's alphabet stands for, and
 * control / unknown tokens only on request. Pieces are bytes, not text: a byte
 * token or a BPE piece may hold part of a UTF-8 character. The streaming decoder
 * holds such a tail until the character is complete and turns invalid bytes into
 * U+FFFD, so what it returns is always valid UTF-8.
 */
#include "vocab-impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char REPL[] = "\xEF\xBF\xBD"; /* U+FFFD */

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Byte of a byte token "<0xAB>" (as strtol on the two characters after "<0x"). */
static uint8_t byte_of(const char *t, uint32_t n) {
    int v = 0;
    for (uint32_t i = 3; i < 5 && i < n; i++) {
        int h = hexval(t[i]);
        if (h < 0) break;
        v = v * 16 + h;
    }
    return (uint8_t)v;
}

/* Decodes one UTF-8 code point at s (n > 0 bytes); returns its length, or 0 if invalid. */
static int decode_cp(const unsigned char *s, size_t n, uint32_t *cp) {
    int l = tok_utf8_valid_len(s, n);
    if (l == 1) *cp = s[0];
    else if (l == 2) *cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
    else if (l == 3) *cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    else if (l == 4)
        *cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) | ((uint32_t)(s[2] & 0x3F) << 6) |
              (s[3] & 0x3F);
    return l;
}

/* Piece of token id with special = true, written to out (NULL: only measure). */
static size_t render(const lmc_vocab *v, int32_t id, char *out) {
    const char *t = v->text[id];
    uint32_t n = v->text_len[id];
    uint16_t a = v->attr[id];
    size_t m = 0;
    if (a & (TA_UNKNOWN | TA_CONTROL | TA_USER_DEFINED)) {
        if (out) memcpy(out, t, n);
        return n;
    }
    if (a & TA_NORMAL) {
        if (v->kind == VOCAB_SPM) {
            for (uint32_t i = 0; i < n; i++) {
                if (i + 2 < n && memcmp(t + i, "\xe2\x96\x81", 3) == 0) {
                    if (out) out[m] = ' ';
                    m++;
                    i += 2;
                } else {
                    if (out) out[m] = t[i];
                    m++;
                }
            }
            return m;
        }
        /* GPT-2 byte alphabet -> bytes; a character outside it is shown as llama.cpp does */
        for (uint32_t i = 0; i < n;) {
            uint32_t cp = 0xFFFD;
            int l = decode_cp((const unsigned char *)t + i, n - i, &cp);
            if (l == 0) l = 1;
            int b = tok_cp_to_byte(cp);
            if (b >= 0) {
                if (out) out[m] = (char)b;
                m++;
            } else {
                char tmp[64];
                int k = snprintf(tmp, sizeof tmp, "[UNK_BYTE_0x");
                for (int j = 0; j < l; j++) k += snprintf(tmp + k, sizeof tmp - (size_t)k, "%02x", (unsigned char)t[i + (uint32_t)j]);
                if (out) {
                    memcpy(out + m, tmp, (size_t)k);
                    memcpy(out + m + k, t, n);
                    out[m + (size_t)k + n] = ']';
                }
                m += (size_t)k + n + 1;
            }
            i += (uint32_t)l;
        }
        return m;
    }
    if (a & TA_BYTE) {
        if (out) out[0] = (char)byte_of(t, n);
        return 1;
    }
    return 0;
}

int detok_build_pieces(lmc_vocab *v) {
    size_t total = 0;
    v->piece_off = malloc((size_t)v->n_tokens * sizeof *v->piece_off);
    v->piece_len = malloc((size_t)v->n_tokens * sizeof *v->piece_len);
    if (!v->piece_off || !v->piece_len) return lmc_set_error(LMC_ERR_NOMEM, "tokenizer: out of memory");
    for (int32_t i = 0; i < v->n_tokens; i++) {
        size_t n = render(v, i, NULL);
        if (total + n > UINT32_MAX) return lmc_set_error(LMC_ERR_LIMIT, "tokenizer: token texts are too large");
        v->piece_off[i] = (uint32_t)total;
        v->piece_len[i] = (uint32_t)n;
        if (n > v->max_piece_len) v->max_piece_len = (uint32_t)n;
        total += n;
    }
    v->piece_arena = malloc(total + 1);
    if (!v->piece_arena) return lmc_set_error(LMC_ERR_NOMEM, "tokenizer: out of memory");
    for (int32_t i = 0; i < v->n_tokens; i++) render(v, i, v->piece_arena + v->piece_off[i]);
    return LMC_OK;
}

static const char *piece(const lmc_vocab *v, int32_t id, bool special, size_t *n) {
    if (!special && (v->attr[id] & (TA_CONTROL | TA_UNKNOWN))) {
        *n = 0;
        return "";
    }
    *n = v->piece_len[id];
    return v->piece_arena + v->piece_off[id];
}

int lmc_token_to_piece(const lmc_vocab *v, int32_t id, bool special, char *buf, size_t cap) {
    if (!v) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_token_to_piece: no vocab");
    if (id < 0 || id >= v->n_tokens)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "token id %d is out of range (the vocab has %d tokens)", id, v->n_tokens);
    size_t n;
    const char *p = piece(v, id, special, &n);
    if (n > cap || !buf) {
        if (n == 0) return 0;
        return lmc_set_error(LMC_ERR_LIMIT, "lmc_token_to_piece: token %d needs %zu bytes, the buffer has %zu", id, n, cap);
    }
    memcpy(buf, p, n);
    if (n < cap) buf[n] = 0;
    return (int)n;
}

/* ---- UTF-8 repair ---------------------------------------------------------- */

/* At s[0..n): 1 = a complete valid character of *len bytes; 0 = invalid, skip *len
 * bytes (the maximal valid prefix, at least 1); -1 = a valid but unfinished prefix. */
static int utf8_scan(const unsigned char *s, size_t n, size_t *len) {
    unsigned c = s[0];
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) return *len = 1, 1;
    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else
        return *len = 1, 0;
    if (n < 2) return -1;
    if (s[1] < lo || s[1] > hi) return *len = 1, 0;
    for (size_t i = 2; i < need; i++) {
        if (i >= n) return -1;
        if ((s[i] & 0xC0) != 0x80) return *len = i, 0;
    }
    *len = need;
    return 1;
}

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static int buf_add(buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) return lmc_set_error(LMC_ERR_NOMEM, "detokenize: out of memory");
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return LMC_OK;
}

/* Appends s[0..n) to out with invalid sequences replaced; returns the number of
 * bytes of an unfinished character at the end that were not consumed (if hold),
 * or a negative error. */
static int64_t repair(buf *out, const char *s, size_t n, bool hold) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0; /* run: start of valid bytes not yet copied */
    while (i < n) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t l;
        int r = utf8_scan(u + i, n - i, &l);
        if (r == 1) {
            i += l;
            continue;
        }
        if (buf_add(out, s + run, i - run)) return LMC_ERR_NOMEM;
        if (r < 0 && hold) return (int64_t)(n - i);
        if (buf_add(out, REPL, 3)) return LMC_ERR_NOMEM;
        i += r < 0 ? n - i : l;
        run = i;
    }
    if (buf_add(out, s + run, n - run)) return LMC_ERR_NOMEM;
    return 0;
}

int lmc_detokenize(const lmc_vocab *v, const int32_t *ids, int64_t n, bool special, char **text, size_t *len) {
    if (!text) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_detokenize: text must not be NULL");
    *text = NULL;
    if (len) *len = 0;
    if (!v || (n > 0 && !ids) || n < 0) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_detokenize: bad arguments");
    buf raw = {0}, out = {0};
    bool strip = v->add_space_prefix; /* drop the space lmc_tokenize put in front */
    int rc = LMC_OK;
    for (int64_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= v->n_tokens) {
            rc = lmc_set_error(LMC_ERR_INVALID_ARG, "detokenize: token id %d (at position %lld) is out of range (the vocab has %d tokens)",
                               id, (long long)i, v->n_tokens);
            goto done;
        }
        size_t pn;
        const char *p = piece(v, id, special, &pn);
        if (v->attr[id] & (TA_CONTROL | TA_USER_DEFINED | TA_UNKNOWN)) {
            if ((rc = buf_add(&raw, p, pn))) goto done;
            strip = v->add_space_prefix; /* lmc_tokenize adds a prefix space after a special token */
            continue;
        }
        if (strip && pn > 0 && p[0] == ' ') p++, pn--;
        strip = false;
        if ((rc = buf_add(&raw, p, pn))) goto done;
    }
    if (repair(&out, raw.p ? raw.p : "", raw.n, false) < 0) {
        rc = LMC_ERR_NOMEM;
        goto done;
    }
    if (!out.p && (rc = buf_add(&out, "", 0))) goto done;
    *text = out.p;
    out.p = NULL;
    if (len) *len = out.n;
done:
    free(raw.p);
    free(out.p);
    return rc;
}

/* ---- streaming ------------------------------------------------------------- */

struct lmc_detok {
    const lmc_vocab *v;
    bool special;
    char held[8];
    size_t nheld;
    buf in, out;
};

lmc_detok *lmc_detok_init(const lmc_vocab *v, bool special) {
    if (!v) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "lmc_detok_init: no vocab");
    lmc_detok *d = calloc(1, sizeof *d);
    if (!d) return lmc_set_error_null(LMC_ERR_NOMEM, "detokenize: out of memory");
    d->v = v;
    d->special = special;
    return d;
}

void lmc_detok_free(lmc_detok *d) {
    if (!d) return;
    free(d->in.p);
    free(d->out.p);
    free(d);
}

void lmc_detok_reset(lmc_detok *d) {
    if (d) d->nheld = 0;
}

int lmc_detok_push(lmc_detok *d, int32_t id, const char **text, size_t *len) {
    if (!d || !text || !len) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_detok_push: bad arguments");
    *text = "";
    *len = 0;
    const lmc_vocab *v = d->v;
    if (id < 0 || id >= v->n_tokens)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "detokenize: token id %d is out of range (the vocab has %d tokens)", id,
                             v->n_tokens);
    size_t pn;
    const char *p = piece(v, id, d->special, &pn);
    d->in.n = 0;
    d->out.n = 0;
    if (buf_add(&d->in, d->held, d->nheld) || buf_add(&d->in, p, pn)) return LMC_ERR_NOMEM;
    int64_t keep = repair(&d->out, d->in.p, d->in.n, true);
    if (keep < 0) return LMC_ERR_NOMEM;
    memcpy(d->held, d->in.p + d->in.n - (size_t)keep, (size_t)keep);
    d->nheld = (size_t)keep;
    *text = d->out.p ? d->out.p : "";
    *len = d->out.n;
    return LMC_OK;
}

int lmc_detok_flush(lmc_detok *d, const char **text, size_t *len) {
    if (!d || !text || !len) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_detok_flush: bad arguments");
    d->out.n = 0;
    if (repair(&d->out, d->held, d->nheld, false) < 0) return LMC_ERR_NOMEM;
    d->nheld = 0;
    *text = d->out.p ? d->out.p : "";
    *len = d->out.n;
    return LMC_OK;
}
