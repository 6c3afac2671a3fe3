/* test_util.h — a few macros for lmc's test programs: every failed check prints
 * where and why, and the program's exit status is the truth (non-zero on any failure). */
#ifndef LMC_TEST_UTIL_H
#define LMC_TEST_UTIL_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failures = 0;
static int t_checks = 0;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        t_checks++;                                                                      \
        if (!(cond)) {                                                                   \
            t_failures++;                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
        }                                                                                \
    } while (0)

#define CHECK_MSG(cond, ...)                                                             \
    do {                                                                                 \
        t_checks++;                                                                      \
        if (!(cond)) {                                                                   \
            t_failures++;                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                                \
            fputc('\n', stderr);                                                         \
        }                                                                                \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                               \
    do {                                                                                 \
        long long _a = (long long)(a), _b = (long long)(b);                              \
        CHECK_MSG(_a == _b, "%s = %lld, %s = %lld", #a, _a, #b, _b);                     \
    } while (0)

#define CHECK_STR(a, b)                                                                  \
    do {                                                                                 \
        const char *_a = (a), *_b = (b);                                                 \
        CHECK_MSG(_a && _b && strcmp(_a, _b) == 0, "\"%s\" != \"%s\"", _a ? _a : "(null)", \
                  _b ? _b : "(null)");                                                   \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                            \
    do {                                                                                 \
        double _a = (double)(a), _b = (double)(b);                                       \
        CHECK_MSG(fabs(_a - _b) <= (tol), "%s = %.9g, %s = %.9g (tol %g)", #a, _a, #b, _b, \
                  (double)(tol));                                                        \
    } while (0)

/* The shared test data folder (models/, data/, ref/), from the environment. */
static inline const char *t_shared_dir(void) {
    const char *d = getenv("LMC_SHARED_DIR");
    return d ? d : "../shared";
}

/* Joins the shared dir and a relative path into a static buffer (one at a time). */
static inline const char *t_shared(const char *rel) {
    static char buf[4][4096];
    static int k = 0;
    k = (k + 1) & 3;
    snprintf(buf[k], sizeof buf[k], "%s/%s", t_shared_dir(), rel);
    return buf[k];
}

/* The whole file at path, NUL-terminated, malloc'ed (free() it); NULL if it cannot be
 * read. *len (if not NULL) gets its length. */
static inline char *t_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    if (!buf) return NULL;
    buf[n] = 0;
    if (len) *len = (size_t)n;
    return buf;
}

/* Generated tokens collected by an lmc_generate callback (tokens has room for them all). */
typedef struct {
    int32_t *tokens;
    int64_t n;
} t_token_list;
static inline bool t_collect_token(int32_t tok, void *user) {
    t_token_list *l = user;
    l->tokens[l->n++] = tok;
    return true;
}

static inline int t_done(const char *name) {
    if (t_failures) {
        fprintf(stderr, "%s: %d of %d checks FAILED\n", name, t_failures, t_checks);
        return 1;
    }
    printf("%s: all %d checks passed\n", name, t_checks);
    return 0;
}

#endif /* LMC_TEST_UTIL_H */
