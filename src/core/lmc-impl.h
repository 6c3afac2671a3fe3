/* lmc-impl.h — internal helpers shared by the library's source files (not installed). */
#ifndef LMC_IMPL_H
#define LMC_IMPL_H

#include "lmc.h"

#include <stdarg.h>

/* Record an error message for this thread and return code (so callers can write
 * `return lmc_set_error(LMC_ERR_FORMAT, "...")`). */
int lmc_set_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, for functions that return a pointer: sets the message and returns NULL. */
void *lmc_set_error_null(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lmc_clear_error(void);

#define LMC_UNUSED(x) ((void)(x))
#define LMC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define LMC_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Overflow-checked size arithmetic: return false on overflow. */
static inline bool lmc_mul_ok(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool lmc_add_ok(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

/* n bytes (rounded up to 2 MiB) on 2 MiB boundaries, on huge pages where the kernel
 * allows them; zeroed (every page touched, so resident from the start) when zero is
 * set. NULL when out of memory. Freed with free() (src/core/memory.c). */
void *lmc_alloc_huge(uint64_t n, bool zero);

/* Reads a whole file into a malloc'ed buffer (NUL-terminated; *len excludes the NUL).
 * LMC_ERR_IO / LMC_ERR_NOMEM with the path in the message (src/core/file.c). */
int lmc_read_file(const char *path, char **buf, size_t *len);

/* GPT-2's byte -> unicode map: the UTF-8 (1 or 2 bytes) of byte b's character
 * (src/tokenizer/vocab.c; also used by tokenizer training and data preparation). */
int tok_byte_to_utf8(uint8_t b, char out[2]);

#endif /* LMC_IMPL_H */
