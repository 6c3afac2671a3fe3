/* ngram_table.c — the word vocabulary and the per-order n-gram hash tables, plus
 * line-by-line reading of (possibly gzipped) text. */
#include "ngram-impl.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static uint64_t hash_str(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static uint64_t hash_ids(const int32_t *ids, int n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n;
    for (int i = 0; i < n; i++) {
        h = (h ^ (uint32_t)ids[i]) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h;
}

/* ---- vocabulary --------------------------------------------------------------- */

static int vocab_rehash(ng_vocab *v, size_t ns) {
    uint32_t *sl = calloc(ns, sizeof *sl);
    if (!sl) return lmc_set_error(LMC_ERR_NOMEM, "out of memory (vocabulary)");
    for (int32_t i = 0; i < v->n; i++) {
        size_t j = hash_str(v->words[i], strlen(v->words[i])) & (ns - 1);
        while (sl[j]) j = (j + 1) & (ns - 1);
        sl[j] = (uint32_t)i + 1;
    }
    free(v->slots);
    v->slots = sl;
    v->n_slots = ns;
    return LMC_OK;
}

int ng_vocab_init(ng_vocab *v) {
    memset(v, 0, sizeof *v);
    if (vocab_rehash(v, 1024)) return LMC_ERR_NOMEM;
    if (ng_vocab_add(v, "<s>", 3) != NG_BOS || ng_vocab_add(v, "</s>", 4) != NG_EOS) {
        ng_vocab_free(v);
        return LMC_ERR_NOMEM;
    }
    return LMC_OK;
}

void ng_vocab_free(ng_vocab *v) {
    for (int32_t i = 0; i < v->n; i++) free(v->words[i]);
    free(v->words);
    free(v->slots);
    memset(v, 0, sizeof *v);
}

int32_t ng_vocab_find(const ng_vocab *v, const char *w, size_t len) {
    if (!v->n_slots) return -1;
    for (size_t j = hash_str(w, len) & (v->n_slots - 1); v->slots[j]; j = (j + 1) & (v->n_slots - 1)) {
        const char *s = v->words[v->slots[j] - 1];
        if (strncmp(s, w, len) == 0 && s[len] == 0) return (int32_t)v->slots[j] - 1;
    }
    return -1;
}

int32_t ng_vocab_add(ng_vocab *v, const char *w, size_t len) {
    int32_t id = ng_vocab_find(v, w, len);
    if (id >= 0) return id;
    if ((size_t)(v->n + 1) * 2 > v->n_slots && vocab_rehash(v, v->n_slots * 2)) return -1;
    if (v->n == v->cap) {
        int32_t nc = v->cap ? v->cap * 2 : 1024;
        char **q = realloc(v->words, (size_t)nc * sizeof *q);
        if (!q) return lmc_set_error(LMC_ERR_NOMEM, "out of memory (vocabulary)"), -1;
        v->words = q;
        v->cap = nc;
    }
    char *c = malloc(len + 1);
    if (!c) return lmc_set_error(LMC_ERR_NOMEM, "out of memory (vocabulary)"), -1;
    memcpy(c, w, len);
    c[len] = 0;
    size_t j = hash_str(w, len) & (v->n_slots - 1);
    while (v->slots[j]) j = (j + 1) & (v->n_slots - 1);
    v->slots[j] = (uint32_t)v->n + 1;
    v->words[v->n] = c;
    return v->n++;
}

/* ---- n-gram tables -------------------------------------------------------------- */

int ng_table_init(ng_table *t, int order, bool with_counts) {
    memset(t, 0, sizeof *t);
    t->order = order;
    t->n_slots = 1024;
    t->slots = calloc(t->n_slots, sizeof *t->slots);
    if (!t->slots) return lmc_set_error(LMC_ERR_NOMEM, "out of memory (n-gram table)");
    (void)with_counts; /* arrays are allocated as entries arrive */
    return LMC_OK;
}

void ng_table_free(ng_table *t) {
    free(t->ids);
    free(t->slots);
    free(t->count);
    free(t->prob);
    free(t->bow);
    memset(t, 0, sizeof *t);
}

int64_t ng_table_find(const ng_table *t, const int32_t *ids) {
    if (!t->n_slots) return -1;
    size_t bytes = (size_t)t->order * sizeof(int32_t);
    for (size_t j = hash_ids(ids, t->order) & (t->n_slots - 1); t->slots[j]; j = (j + 1) & (t->n_slots - 1)) {
        size_t e = t->slots[j] - 1;
        if (memcmp(ng_entry(t, e), ids, bytes) == 0) return (int64_t)e;
    }
    return -1;
}

static int table_rehash(ng_table *t, size_t ns) {
    uint32_t *sl = calloc(ns, sizeof *sl);
    if (!sl) return lmc_set_error(LMC_ERR_NOMEM, "out of memory (n-gram table)");
    for (size_t e = 0; e < t->n_entries; e++) {
        size_t j = hash_ids(ng_entry(t, e), t->order) & (ns - 1);
        while (sl[j]) j = (j + 1) & (ns - 1);
        sl[j] = (uint32_t)e + 1;
    }
    free(t->slots);
    t->slots = sl;
    t->n_slots = ns;
    return LMC_OK;
}

int64_t ng_table_insert(ng_table *t, const int32_t *ids) {
    size_t bytes = (size_t)t->order * sizeof(int32_t);
    size_t j = hash_ids(ids, t->order) & (t->n_slots - 1);
    for (; t->slots[j]; j = (j + 1) & (t->n_slots - 1)) {
        size_t e = t->slots[j] - 1;
        if (memcmp(ng_entry(t, e), ids, bytes) == 0) return (int64_t)e;
    }
    if (t->n_entries >= UINT32_MAX - 1) return lmc_set_error(LMC_ERR_LIMIT, "too many n-grams of order %d", t->order), -1;
    if (t->n_entries == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 1024;
        int32_t *ni = realloc(t->ids, nc * bytes);
        if (!ni) return lmc_set_error(LMC_ERR_NOMEM, "out of memory (n-gram table)"), -1;
        t->ids = ni;
        int64_t *nc_ = realloc(t->count, nc * sizeof *nc_);
        if (!nc_) return lmc_set_error(LMC_ERR_NOMEM, "out of memory (n-gram table)"), -1;
        t->count = nc_;
        t->cap = nc;
    }
    size_t e = t->n_entries++;
    memcpy(t->ids + e * (size_t)t->order, ids, bytes);
    t->count[e] = 0;
    t->slots[j] = (uint32_t)e + 1;
    if (t->n_entries * 2 > t->n_slots && table_rehash(t, t->n_slots * 2)) return -1;
    return (int64_t)e;
}

lmc_ngram_lm *ng_lm_alloc(int order) {
    lmc_ngram_lm *lm = calloc(1, sizeof *lm);
    if (!lm) return lmc_set_error_null(LMC_ERR_NOMEM, "out of memory");
    lm->order = order;
    lm->unk = -1;
    if (ng_vocab_init(&lm->vocab)) {
        free(lm);
        return NULL;
    }
    for (int n = 0; n < order; n++) {
        if (ng_table_init(&lm->t[n], n + 1, false)) {
            lmc_ngram_free(lm);
            return NULL;
        }
    }
    return lm;
}

/* ---- text ------------------------------------------------------------------------ */

size_t ng_split(const char *s, size_t len, ng_word *out, size_t cap) {
    size_t n = 0, i = 0;
    while (i < len) {
        while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\v' || s[i] == '\f')) i++;
        if (i >= len) break;
        size_t st = i;
        while (i < len && !(s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\v' || s[i] == '\f')) i++;
        if (n < cap) out[n] = (ng_word){s + st, i - st};
        n++;
    }
    return n;
}

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

int ng_read_lines(const char *path, ng_line_fn fn, void *user) {
    FILE *f = NULL;
    pid_t pid = 0;
    if (ends_with(path, ".gz")) {
        /* decompress through gzip (no zlib dependency); no shell, so any file name works */
        int fds[2];
        if (access(path, R_OK) != 0) return lmc_set_error(LMC_ERR_IO, "%s: %s", path, strerror(errno));
        if (pipe(fds) != 0) return lmc_set_error(LMC_ERR_IO, "%s: pipe: %s", path, strerror(errno));
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
        posix_spawn_file_actions_addclose(&fa, fds[0]);
        posix_spawn_file_actions_addclose(&fa, fds[1]);
        char *argv[] = {"gzip", "-dc", "--", (char *)path, NULL};
        int rc = posix_spawnp(&pid, "gzip", &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(fds[1]);
        if (rc != 0) {
            close(fds[0]);
            return lmc_set_error(LMC_ERR_IO, "%s: cannot run gzip to decompress it: %s", path, strerror(rc));
        }
        f = fdopen(fds[0], "r");
    } else {
        f = fopen(path, "r");
        if (!f) return lmc_set_error(LMC_ERR_IO, "%s: %s", path, strerror(errno));
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int64_t lineno = 0;
    int rc = LMC_OK;
    while (rc == LMC_OK && (got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        if (len && line[len - 1] == '\n') len--;
        if (len && line[len - 1] == '\r') len--;
        line[len] = 0;
        rc = fn(user, line, len, lineno);
    }
    if (rc == LMC_OK && ferror(f)) rc = lmc_set_error(LMC_ERR_IO, "%s: read error", path);
    free(line);
    fclose(f);
    if (pid > 0) {
        int status = 0;
        waitpid(pid, &status, 0);
        if (rc == LMC_OK && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
            rc = lmc_set_error(LMC_ERR_FORMAT, "%s: gzip could not decompress it (corrupt or not gzip)", path);
    }
    return rc;
}
