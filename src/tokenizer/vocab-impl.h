/* vocab-impl.h — the tokenizer's internal data (not installed).
 *
 * A vocab is built once from GGUF metadata and is read-only afterwards, so any
 * number of threads may tokenize with it at the same time. Every per-call buffer
 * (symbols, heap, word cache, PCRE2 match data) lives in the call, not here.
 */
#ifndef LMC_VOCAB_IMPL_H
#define LMC_VOCAB_IMPL_H

#include "lmc-impl.h"

#include <stdint.h>

enum { VOCAB_SPM = 1, VOCAB_BPE = 2 };

/* Token attribute bits (llama.cpp's llama_token_attr values, so that the rules
 * ported from it read the same). */
enum {
    TA_UNDEFINED = 0,
    TA_UNKNOWN = 1 << 0,
    TA_UNUSED = 1 << 1,
    TA_NORMAL = 1 << 2,
    TA_CONTROL = 1 << 3,
    TA_USER_DEFINED = 1 << 4,
    TA_BYTE = 1 << 5,
    TA_NORMALIZED = 1 << 6,
    TA_LSTRIP = 1 << 7,
    TA_RSTRIP = 1 << 8,
    TA_SINGLE_WORD = 1 << 9,
};

/* Open-addressed hash set of byte strings -> int32 value. The strings are not
 * owned: each entry points at text owned by the vocab. */
typedef struct str_map {
    uint64_t *slot;          /* high 32 bits: hash check, low 32: value index + 1; 0 = empty */
    uint32_t mask;           /* capacity - 1 (power of two) */
    const char *const *key;  /* key[i], key_len[i] for value index i */
    const uint32_t *key_len;
} str_map;

/* Pair (left id, right id) -> (rank, merged id) for BPE; one cache line per probe. */
typedef struct pair_entry {
    uint64_t key; /* (left << 32 | right) + 1, 0 = empty */
    int32_t rank;
    int32_t result;
} pair_entry;
typedef struct pair_map {
    pair_entry *e;
    uint32_t mask;
} pair_map;

typedef struct pretok pretok; /* pretok.c: compiled pre-tokenizer regexes */

struct lmc_vocab {
    int kind;           /* VOCAB_SPM or VOCAB_BPE */
    char model[32];     /* tokenizer.ggml.model */
    char pre[64];       /* tokenizer.ggml.pre ("" if none) */
    char name[128];     /* general.name, lower case (for per-model token attributes) */

    int32_t n_tokens;
    char *arena;        /* all token texts, each NUL-terminated */
    const char **text;  /* [n_tokens + n_virtual] */
    uint32_t *text_len; /* [n_tokens + n_virtual] */
    float *score;       /* [n_tokens] */
    int32_t *ttype;     /* [n_tokens] GGUF token type as stored */
    uint16_t *attr;     /* [n_tokens] TA_* bits */
    uint8_t *eog;       /* [n_tokens] 1 = ends generation */
    str_map map;        /* text -> id over real tokens */

    /* Rendered pieces (special = true), as token_to_piece gives them. */
    char *piece_arena;
    uint32_t *piece_off, *piece_len; /* [n_tokens] */
    uint32_t max_piece_len;

    int32_t bos, eos, eot, eom, unk, sep, pad;
    bool add_bos, add_eos, add_space_prefix, clean_spaces, ignore_merges;

    /* Special-token partition: tokens with CONTROL | USER_DEFINED | UNKNOWN,
     * longest text first (ties by id). */
    int32_t *special;
    int32_t n_special;
    uint8_t special_first[256]; /* 1 if some special token starts with this byte */

    /* SPM: token for each byte (<0xXX>, else the 1-byte token), -1 if none. */
    int32_t byte_tok[256];
    /* SPM: set of adjacent character pairs (a, b) that occur inside some token.
     * Where the text has a pair that is not in it, no merge can cross, so the
     * text is cut there into independent chunks (same result, small heaps, and
     * chunks repeat, so they are cached). Keys: UTF-8 bytes of a << 32 | of b, + 1. */
    uint64_t *cpairs;
    uint32_t cpairs_mask;
    uint8_t cpair_bits[129 * 129 / 8 + 1]; /* the same for ASCII and "▁" pairs: a bitmap */

    /* BPE. Symbols ids >= n_tokens are "virtual": strings that appear in merges
     * but are not tokens; they are never output directly. */
    int32_t n_virtual;
    char *virtual_arena;
    int32_t byte_sym[256];     /* symbol for each raw byte (its GPT-2 char) */
    int32_t byte_tok1[256];    /* token of the 1-byte string (fallback), -1 */
    pair_map merges;
    pretok *pt;
};

/* Hashing and lookup. */
uint64_t tok_hash(const char *s, size_t n);
int32_t str_map_find(const str_map *m, const char *s, size_t n); /* -1 if absent */
static inline int32_t vocab_find(const lmc_vocab *v, const char *s, size_t n) {
    return str_map_find(&v->map, s, n);
}
static inline bool pair_find(const pair_map *m, int32_t l, int32_t r, int32_t *rank, int32_t *res) {
    uint64_t k = (((uint64_t)(uint32_t)l << 32) | (uint32_t)r) + 1;
    uint64_t h = k * 0x9E3779B97F4A7C15ull;
    uint32_t i = (uint32_t)(h >> 32) & m->mask;
    for (;;) {
        const pair_entry *e = &m->e[i];
        if (e->key == k) {
            *rank = e->rank;
            *res = e->result;
            return true;
        }
        if (e->key == 0) return false;
        i = (i + 1) & m->mask;
    }
}

/* UTF-8: length of the sequence starting at s[0] if it is valid (1-4), else 0. */
int tok_utf8_valid_len(const unsigned char *s, size_t n);
/* Byte offset of the first invalid UTF-8 sequence, or n if the text is valid. */
size_t tok_utf8_check(const char *s, size_t n);

/* GPT-2 byte <-> unicode mapping: tok_byte_to_utf8 is declared in lmc-impl.h (other
 * areas use it too). */
/* Code point -> byte for GPT-2's mapping, or -1 if cp is not in it. */
int tok_cp_to_byte(uint32_t cp);

/* Growing int32 output array. */
typedef struct tok_out {
    int32_t *ids;
    int64_t n, cap;
} tok_out;
int tok_out_push(tok_out *o, int32_t id);
int tok_out_append(tok_out *o, const int32_t *ids, size_t n);

/* Per-call cache of pieces already tokenized (wcache.c): bytes -> ids. Words
 * longer than WCACHE_MAX_LEN are not cached. A zeroed wcache (slot == NULL) is
 * "no cache". */
#define WCACHE_MAX_LEN 256
typedef struct wcache {
    uint64_t *slot; /* high 32 bits: hash check, low 32: entry + 1; 0 = empty */
    uint32_t mask;
    uint64_t *hash;
    uint32_t *woff, *wlen, *ioff, *ilen;
    uint32_t n, cap;
    char *bytes;
    size_t nbytes, cbytes;
    int32_t *ids;
    size_t nids, cids;
} wcache;
int wcache_init(wcache *c, size_t text_len); /* no table for short texts */
void wcache_free(wcache *c);
bool wcache_get(const wcache *c, uint64_t h, const char *w, size_t n, const int32_t **ids, uint32_t *k);
int wcache_put(wcache *c, uint64_t h, const char *w, size_t n, const int32_t *ids, size_t k);

/* Pre-tokenizers (pretok.c). */
pretok *pretok_create(const char *name, int *clean_spaces, int *ignore_merges);
void pretok_free(pretok *p);
/* Splits text into words; calls fn(word, len, ud) for each in order. Returns
 * LMC_OK or an error code (fn's non-zero return is passed through). */
int pretok_split(const pretok *p, const char *text, size_t len,
                 int (*fn)(const char *w, size_t n, void *ud), void *ud);
/* Pre-tokenizer names lmc knows, NULL-terminated. */
extern const char *const tok_pretok_names[];

/* Tokenizers of one raw-text fragment (no special tokens inside). */
int spm_build(lmc_vocab *v);
int spm_tokenize(const lmc_vocab *v, const char *text, size_t len, bool prefix_space, tok_out *out);
/* whole = true: the plain algorithm on the whole text, no chunks, no cache (the
 * reference the chunked version is tested against). */
int spm_tokenize_ex(const lmc_vocab *v, const char *text, size_t len, bool prefix_space, bool whole, tok_out *out);
typedef struct bpe_session bpe_session;
bpe_session *bpe_session_init(const lmc_vocab *v, size_t text_len);
void bpe_session_free(bpe_session *s);
int bpe_tokenize(bpe_session *s, const char *text, size_t len, tok_out *out);

/* Loading helpers (bpe.c). */
int bpe_build(lmc_vocab *v, const lmc_gguf_value *merges);

/* Renders a token's piece (detok.c); used to build the piece cache. */
int detok_build_pieces(lmc_vocab *v);

#endif /* LMC_VOCAB_IMPL_H */
