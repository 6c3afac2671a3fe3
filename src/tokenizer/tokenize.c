/* tokenize.c — lmc_tokenize: special tokens first, then SentencePiece or BPE on the rest.
 *
 * Special-token text is found the way llama.cpp's tokenizer_st_partition does:
 * special tokens are tried longest first; each one is searched left to right in
 * the text not yet claimed, and every occurrence found becomes that token. User-
 * defined (added) tokens are always matched; control and unknown tokens only when
 * parse_special is true. The raw text between them goes to the model's tokenizer.
 */
#include "vocab-impl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct st_match {
    size_t pos;
    int32_t id;
} st_match;

enum { RAW = 0, TAKEN = 1, DROPPED = 2 };

static int cmp_match(const void *a, const void *b) {
    const st_match *x = a, *y = b;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Finds the special tokens in text. *m gets the matches sorted by position and
 * *state (NULL if there are none) marks each byte RAW, TAKEN or DROPPED (spaces
 * stripped next to tokens with LSTRIP / RSTRIP). */
static int partition(const lmc_vocab *v, const char *text, size_t len, bool parse_special, st_match **m,
                     size_t *nm, uint8_t **state) {
    size_t cap = 0;
    *m = NULL;
    *nm = 0;
    *state = NULL;
    /* cheap exit: no byte of the text starts a special token */
    bool any = false;
    for (size_t i = 0; i < len && !any; i++) any = v->special_first[(uint8_t)text[i]];
    if (!any) return LMC_OK;
    for (int32_t k = 0; k < v->n_special; k++) {
        int32_t id = v->special[k];
        uint16_t a = v->attr[id];
        if (!parse_special && (a & (TA_CONTROL | TA_UNKNOWN))) continue;
        const char *t = v->text[id];
        size_t tl = v->text_len[id];
        size_t pos = 0;
        while (pos + tl <= len) {
            const char *p = memmem(text + pos, len - pos, t, tl);
            if (!p) break;
            size_t s = (size_t)(p - text);
            bool raw = true;
            if (*state)
                for (size_t j = 0; j < tl && raw; j++) raw = (*state)[s + j] == RAW;
            if (!raw) {
                pos = s + 1;
                continue;
            }
            if (!*state && !(*state = calloc(len, 1))) return lmc_set_error(LMC_ERR_NOMEM, "tokenize: out of memory");
            uint8_t *st = *state;
            memset(st + s, TAKEN, tl);
            if (a & TA_LSTRIP)
                for (size_t j = s; j > 0 && st[j - 1] == RAW && isspace((unsigned char)text[j - 1]); j--) st[j - 1] = DROPPED;
            size_t e = s + tl;
            if (a & TA_RSTRIP)
                for (; e < len && st[e] == RAW && isspace((unsigned char)text[e]); e++) st[e] = DROPPED;
            if (*nm == cap) {
                cap = cap ? cap * 2 : 16;
                st_match *q = realloc(*m, cap * sizeof *q);
                if (!q) return lmc_set_error(LMC_ERR_NOMEM, "tokenize: out of memory");
                *m = q;
            }
            (*m)[(*nm)++] = (st_match){s, id};
            pos = e;
        }
    }
    if (*nm > 1) qsort(*m, *nm, sizeof **m, cmp_match);
    return LMC_OK;
}

int lmc_tokenize(const lmc_vocab *v, const char *text, size_t len, bool add_special, bool parse_special,
                 int32_t **ids, int64_t *n_ids) {
    if (!ids || !n_ids) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_tokenize: ids and n_ids must not be NULL");
    *ids = NULL;
    *n_ids = 0;
    if (!v) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_tokenize: no vocab");
    if (!text && len) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_tokenize: text is NULL");
    if (!text) text = "";
    size_t bad = tok_utf8_check(text, len);
    if (bad < len)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "tokenize: the text is not valid UTF-8 (byte 0x%02X at offset %zu)",
                             (unsigned char)text[bad], bad);

    tok_out out = {0};
    st_match *m = NULL;
    size_t nm = 0;
    uint8_t *state = NULL;
    bpe_session *bs = NULL;
    int rc = partition(v, text, len, parse_special, &m, &nm, &state);
    if (rc) goto done;
    if (v->kind == VOCAB_BPE && !(bs = bpe_session_init(v, len))) {
        rc = LMC_ERR_NOMEM;
        goto done;
    }
    if (add_special && v->add_bos && (rc = tok_out_push(&out, v->bos))) goto done;

    bool prev_special = true; /* SentencePiece: a prefix space at the start and after each special token */
    size_t pos = 0, k = 0;
    while (pos < len || k < nm) {
        size_t end = k < nm ? m[k].pos : len;
        /* raw text in [pos, end), minus stripped spaces (only ever next to a token) */
        size_t a = pos, b = end;
        if (state) {
            while (a < b && state[a] == DROPPED) a++;
            while (b > a && state[b - 1] == DROPPED) b--;
        }
        if (b > a) {
            if (v->kind == VOCAB_SPM)
                rc = spm_tokenize(v, text + a, b - a, v->add_space_prefix && prev_special, &out);
            else
                rc = bpe_tokenize(bs, text + a, b - a, &out);
            if (rc) goto done;
            prev_special = false;
        }
        if (k == nm) break;
        if ((rc = tok_out_push(&out, m[k].id))) goto done;
        prev_special = true;
        pos = m[k].pos + v->text_len[m[k].id];
        k++;
    }
    if (add_special && v->add_eos && (rc = tok_out_push(&out, v->eos))) goto done;
done:
    free(m);
    free(state);
    bpe_session_free(bs);
    if (rc) {
        free(out.ids);
        return rc;
    }
    if (!out.ids && !(out.ids = malloc(sizeof *out.ids))) return lmc_set_error(LMC_ERR_NOMEM, "tokenize: out of memory");
    *ids = out.ids;
    *n_ids = out.n;
    return LMC_OK;
}
