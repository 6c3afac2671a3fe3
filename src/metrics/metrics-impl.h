/* metrics-impl.h — text helpers shared by the metrics (BLEU, chrF) and n-gram files.
 *
 * sacreBLEU works on Python strings, so these helpers reproduce the parts of Python's
 * str semantics its scores depend on: code points (not bytes), str.split()/rstrip()
 * whitespace, and str.lower(). Internal (not installed); names start with lmc_txt_. */
#ifndef LMC_METRICS_IMPL_H
#define LMC_METRICS_IMPL_H

#include "lmc-impl.h"

#include <stddef.h>
#include <stdint.h>

/* Length of the valid UTF-8 prefix of s[0..len) (== len when all of it is valid).
 * Rejects overlong forms, surrogates and code points above U+10FFFF, as Python does. */
size_t lmc_txt_utf8_valid_prefix(const char *s, size_t len);

/* Decodes the code point at s[*i] (the text must be valid UTF-8) and advances *i. */
uint32_t lmc_txt_decode(const char *s, size_t *i);
/* Writes cp as UTF-8 to out (room for 4 bytes); returns the byte count. */
int lmc_txt_encode(uint32_t cp, char *out);

/* Python's str.isspace() (the separators str.split() and str.rstrip() use). */
bool lmc_txt_isspace(uint32_t cp);

/* Length of s without trailing whitespace (Python's rstrip()). */
size_t lmc_txt_rstrip(const char *s, size_t len);

/* A span of a string. */
typedef struct lmc_txt_span {
    uint32_t off, len;
} lmc_txt_span;

/* Python's s.split(): appends the words of s to *spans (grown with realloc; *n in use,
 * *cap allocated). LMC_OK or LMC_ERR_NOMEM. */
int lmc_txt_split(const char *s, size_t len, lmc_txt_span **spans, size_t *n, size_t *cap);

/* Python's str.lower() (simple case mapping from the C.UTF-8 locale), malloc'ed,
 * NUL-terminated; *out_len gets the length. */
int lmc_txt_lower(const char *s, size_t len, char **out, size_t *out_len);

/* A growable byte buffer. */
typedef struct lmc_txt_buf {
    char *p;
    size_t len, cap;
} lmc_txt_buf;
int lmc_txt_buf_put(lmc_txt_buf *b, const char *s, size_t n);

#endif /* LMC_METRICS_IMPL_H */
