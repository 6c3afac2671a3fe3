/* data_shards.c — token shards for training: `lmc data prepare` writes them, the
 * training loop reads them.
 *
 * A shard file: "LMCTOKS\0", u32 version (1), u32 token width in bytes (2 or 4),
 * u64 token count, then the tokens little-endian. A prepared folder holds train.bin,
 * val.bin and tokenizer.gguf (the vocabulary, which the trained model carries). The
 * validation split is the last fraction of the text, as nanoGPT does. */
#include "train-impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_shard(const char *path, const int32_t *tok, int64_t n, int width) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return lmc_set_error(LMC_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    uint32_t hdr[2] = {1, (uint32_t)width};
    uint64_t cnt = (uint64_t)n;
    bool ok = fwrite("LMCTOKS\0", 1, 8, f) == 8 && fwrite(hdr, 4, 2, f) == 2 && fwrite(&cnt, 8, 1, f) == 1;
    for (int64_t i = 0; ok && i < n; i++) {
        if (width == 2) {
            uint16_t t = (uint16_t)tok[i];
            ok = fwrite(&t, 2, 1, f) == 1;
        } else {
            ok = fwrite(&tok[i], 4, 1, f) == 1;
        }
    }
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0) ok = false;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return lmc_set_error(LMC_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    }
    return LMC_OK;
}

int lmc_shard_read(const char *path, int32_t **tokens, int64_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return lmc_set_error(LMC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char magic[8];
    uint32_t hdr[2];
    uint64_t cnt;
    struct stat st;
    int rc = LMC_OK;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "LMCTOKS\0", 8) || fread(hdr, 4, 2, f) != 2 || fread(&cnt, 8, 1, f) != 1)
        rc = lmc_set_error(LMC_ERR_FORMAT, "%s: not an lmc token shard (run `lmc data prepare`)", path);
    else if (hdr[0] != 1 || (hdr[1] != 2 && hdr[1] != 4))
        rc = lmc_set_error(LMC_ERR_FORMAT, "%s: shard version %u / token width %u not supported", path, hdr[0], hdr[1]);
    else if (fstat(fileno(f), &st) != 0)
        rc = lmc_set_error(LMC_ERR_IO, "%s: %s", path, strerror(errno));
    else if (S_ISREG(st.st_mode) ? cnt > ((uint64_t)st.st_size - 24) / hdr[1] : cnt > (1ULL << 40))
        /* checked before any memory is asked for */
        rc = lmc_set_error(LMC_ERR_FORMAT, "%s: truncated: the header counts %llu tokens of %u bytes, the file has %llu "
                           "bytes after its 24-byte header", path, (unsigned long long)cnt, hdr[1],
                           (unsigned long long)st.st_size - 24);
    int32_t *t = NULL;
    uint16_t *buf = NULL; /* a chunk of 2-byte tokens */
    enum { CHUNK = 65536 };
    if (!rc) {
        t = malloc((cnt ? cnt : 1) * sizeof *t);
        if (hdr[1] == 2) buf = malloc(CHUNK * sizeof *buf);
        if (!t || (hdr[1] == 2 && !buf)) rc = lmc_set_error(LMC_ERR_NOMEM, "%s: out of memory", path);
    }
    for (uint64_t i = 0; !rc && i < cnt;) {
        const size_t k = cnt - i < CHUNK ? (size_t)(cnt - i) : CHUNK;
        if (hdr[1] == 2 ? fread(buf, 2, k, f) != k : fread(t + i, 4, k, f) != k) {
            rc = lmc_set_error(LMC_ERR_FORMAT, "%s: truncated at token %llu of %llu", path, (unsigned long long)i,
                               (unsigned long long)cnt);
            break;
        }
        if (hdr[1] == 2)
            for (size_t j = 0; j < k; j++) t[i + j] = buf[j];
        i += k;
    }
    free(buf);
    fclose(f);
    if (rc) {
        free(t);
        return rc;
    }
    *tokens = t;
    *n = (int64_t)cnt;
    return LMC_OK;
}

/* A byte-level vocabulary over the given bytes (all 256, or those of a corpus): each
 * token is one byte, written in GPT-2's byte-to-unicode form with no merges, so the
 * usual BPE path tokenizes text byte by byte and lmc (and llama.cpp) read it. */
static int write_byte_vocab(const char *path, const bool used[256], int32_t map[256]) {
    const char *toks[256];
    char store[256][3];
    int32_t types[256];
    int n = 0;
    for (int b = 0; b < 256; b++) {
        map[b] = -1;
        if (!used[b]) continue;
        char e[2];
        int k = tok_byte_to_utf8((uint8_t)b, e);
        store[n][0] = e[0], store[n][1] = k > 1 ? e[1] : 0, store[n][2] = 0;
        toks[n] = store[n];
        types[n] = 1;
        map[b] = n++;
    }
    lmc_gguf_writer *w = lmc_gguf_writer_init();
    if (!w) return LMC_ERR_NOMEM;
    const char *no_merges[1] = {NULL};
    int rc;
    if ((rc = lmc_gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2")) ||
        (rc = lmc_gguf_writer_set_str(w, "tokenizer.ggml.pre", "gpt-2")) ||
        (rc = lmc_gguf_writer_set_array_str(w, "tokenizer.ggml.tokens", toks, (uint64_t)n)) ||
        (rc = lmc_gguf_writer_set_array(w, "tokenizer.ggml.token_type", LMC_GGUF_INT32, types, (uint64_t)n)) ||
        (rc = lmc_gguf_writer_set_array_str(w, "tokenizer.ggml.merges", no_merges, 0)) ||
        (rc = lmc_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", false)) ||
        /* no BOS/EOS among the characters: one past the last id says "none" to lmc
         * (otherwise the gpt2 default, id 11, would end generation at a character) */
        (rc = lmc_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)n)) ||
        (rc = lmc_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)n)) ||
        (rc = lmc_gguf_writer_write(w, path))) {
        /* rc tells */
    }
    lmc_gguf_writer_free(w);
    return rc;
}

int lmc_data_prepare(const char *tokenizer, const char *const *files, int n_files, const char *out_dir,
                     double val_fraction, int64_t *n_train, int64_t *n_val, int32_t *n_vocab) {
    if (!tokenizer || !files || n_files < 1 || !out_dir)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "data prepare: a tokenizer, corpus files and an output folder are needed");
    if (!(val_fraction >= 0 && val_fraction < 1))
        return lmc_set_error(LMC_ERR_INVALID_ARG, "data prepare: --val-fraction must be in [0, 1), got %g", val_fraction);
    const bool is_char = !strcmp(tokenizer, "char"), is_byte = !strcmp(tokenizer, "byte");
    if (!is_char && !is_byte) { /* check the tokenizer before anything is written */
        lmc_gguf *g = lmc_gguf_open(tokenizer);
        lmc_vocab *v = g ? lmc_vocab_load(g) : NULL;
        const bool ok = v != NULL;
        lmc_vocab_free(v);
        lmc_gguf_close(g);
        if (!ok)
            return lmc_set_error(LMC_ERR_INVALID_ARG, "data prepare: unknown tokenizer '%s': use char, byte or a GGUF file "
                                 "with a vocabulary (%s)", tokenizer, lmc_last_error());
    }
    /* the whole corpus, files joined */
    char *text = NULL;
    size_t len = 0;
    int rc = LMC_OK;
    for (int i = 0; i < n_files && !rc; i++) {
        char *b = NULL;
        size_t n = 0;
        if ((rc = lmc_read_file(files[i], &b, &n))) break;
        char *nt = realloc(text, len + n + 1);
        if (!nt) {
            free(b);
            rc = lmc_set_error(LMC_ERR_NOMEM, "data prepare: out of memory");
            break;
        }
        text = nt;
        memcpy(text + len, b, n);
        len += n;
        free(b);
    }
    if (rc) {
        free(text);
        return rc;
    }
    if (len == 0) {
        free(text);
        return lmc_set_error(LMC_ERR_FORMAT, "data prepare: the corpus is empty");
    }
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        free(text);
        return lmc_set_error(LMC_ERR_IO, "%s: cannot create the folder: %s", out_dir, strerror(errno));
    }
    char vpath[4200], tpath[4200], vapath[4200];
    snprintf(vpath, sizeof vpath, "%s/tokenizer.gguf", out_dir);
    snprintf(tpath, sizeof tpath, "%s/train.bin", out_dir);
    snprintf(vapath, sizeof vapath, "%s/val.bin", out_dir);

    int32_t *tok = NULL;
    int64_t n = 0;
    int32_t V = 0;
    if (is_char || is_byte) {
        bool used[256] = {0};
        int32_t map[256];
        for (size_t i = 0; i < len; i++) used[(uint8_t)text[i]] = true;
        if (is_byte)
            for (int b = 0; b < 256; b++) used[b] = true;
        for (int b = 0; b < 256; b++) V += used[b];
        rc = write_byte_vocab(vpath, used, map);
        tok = rc ? NULL : malloc(len * sizeof *tok);
        if (!rc && !tok) rc = lmc_set_error(LMC_ERR_NOMEM, "data prepare: out of memory");
        for (size_t i = 0; !rc && i < len; i++) tok[i] = map[(uint8_t)text[i]];
        n = (int64_t)len;
    } else {
        lmc_gguf *g = lmc_gguf_open(tokenizer);
        lmc_vocab *v = g ? lmc_vocab_load(g) : NULL;
        if (!v) {
            rc = lmc_last_error()[0] ? LMC_ERR_FORMAT
                                     : lmc_set_error(LMC_ERR_FORMAT, "%s: not a tokenizer (char, byte or a GGUF)", tokenizer);
        } else {
            V = lmc_vocab_n_tokens(v);
            rc = lmc_tokenize(v, text, len, false, false, &tok, &n);
            /* the vocabulary travels with the data: copy the tokenizer keys */
            lmc_gguf_writer *w = rc ? NULL : lmc_gguf_writer_init();
            for (int64_t i = 0; w && !rc && i < lmc_gguf_n_kv(g); i++) {
                const char *key = lmc_gguf_kv_key(g, i);
                if (!strncmp(key, "tokenizer.", 10)) rc = lmc_gguf_writer_set_value(w, key, lmc_gguf_kv_value(g, i));
            }
            if (w && !rc) rc = lmc_gguf_writer_write(w, vpath);
            lmc_gguf_writer_free(w);
        }
        lmc_vocab_free(v);
        lmc_gguf_close(g);
    }
    free(text);
    if (!rc && n < 2) rc = lmc_set_error(LMC_ERR_FORMAT, "data prepare: the corpus has %lld tokens; too little to train on",
                                         (long long)n);
    const int64_t nt = (int64_t)((double)n * (1.0 - val_fraction)), nv = n - nt; /* as nanoGPT: int(n * 0.9) */
    const int width = V <= 65536 ? 2 : 4;
    if (!rc) rc = write_shard(tpath, tok, nt, width);
    if (!rc) rc = write_shard(vapath, tok + nt, nv, width);
    free(tok);
    if (!rc) {
        if (n_train) *n_train = nt;
        if (n_val) *n_val = nv;
        if (n_vocab) *n_vocab = V;
    }
    return rc;
}
