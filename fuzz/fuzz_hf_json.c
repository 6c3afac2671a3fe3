/* fuzz_hf_json.c — libFuzzer target for the Hugging Face folder parsers (src/hf/convert.c):
 * config.json, tokenizer.json and tokenizer_config.json.
 *
 * The input is split at NUL bytes into config.json, tokenizer.json and tokenizer_config.json,
 * written into a scratch folder next to a tiny valid model.safetensors (1 layer, n_embd 4,
 * 2 heads, n_ff 4, 8 rows, all zeros, made here), and converted with lmc_hf_convert. A
 * rejection must set an error message; a success must write a GGUF that lmc_gguf opens.
 *   build: cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DLMC_FUZZ=ON; cmake --build build-fuzz --target fuzz_hf_json
 *   run:   build-fuzz/fuzz/fuzz_hf_json /tmp/hf-corpus fuzz/corpus/hf_json
 * Replayed without libFuzzer by ctest hf_json_fuzz_replay (tests/fuzz_replay.c). */
#include "lmc.h"
#include "fuzz_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char g_dir[64];

/* model.safetensors for the dims above: every tensor F32 zeros. */
static void make_model(void) {
    static const struct { const char *name; int r, c; } t[] = {
        {"model.embed_tokens.weight", 8, 4}, {"model.norm.weight", 0, 4}, {"lm_head.weight", 8, 4},
        {"model.layers.0.input_layernorm.weight", 0, 4}, {"model.layers.0.post_attention_layernorm.weight", 0, 4},
        {"model.layers.0.self_attn.q_proj.weight", 4, 4}, {"model.layers.0.self_attn.k_proj.weight", 4, 4},
        {"model.layers.0.self_attn.v_proj.weight", 4, 4}, {"model.layers.0.self_attn.o_proj.weight", 4, 4},
        {"model.layers.0.mlp.gate_proj.weight", 4, 4}, {"model.layers.0.mlp.up_proj.weight", 4, 4},
        {"model.layers.0.mlp.down_proj.weight", 4, 4}};
    char hdr[4096];
    size_t h = 0, off = 0;
    h += (size_t)snprintf(hdr + h, sizeof hdr - h, "{");
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t n = (size_t)(t[i].r ? t[i].r : 1) * (size_t)t[i].c * 4;
        if (t[i].r)
            h += (size_t)snprintf(hdr + h, sizeof hdr - h, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}",
                                  i ? "," : "", t[i].name, t[i].r, t[i].c, off, off + n);
        else
            h += (size_t)snprintf(hdr + h, sizeof hdr - h, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}",
                                  i ? "," : "", t[i].name, t[i].c, off, off + n);
        off += n;
    }
    h += (size_t)snprintf(hdr + h, sizeof hdr - h, "}");
    size_t total = 8 + h + off;
    uint8_t *buf = calloc(1, total);
    if (!buf) abort();
    uint64_t hl = h;
    memcpy(buf, &hl, 8); /* little-endian host */
    memcpy(buf + 8, hdr, h);
    fuzz_put(g_dir, "model.safetensors", buf, total);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g_dir[0]) {
        snprintf(g_dir, sizeof g_dir, "/tmp/lmc-fuzz-hf-XXXXXX");
        if (!mkdtemp(g_dir)) abort();
        make_model();
    }
    static const char *const names[3] = {"config.json", "tokenizer.json", "tokenizer_config.json"};
    size_t pos = 0;
    for (int k = 0; k < 3; k++) {
        const uint8_t *end = pos < size ? memchr(data + pos, 0, size - pos) : NULL;
        size_t n = end ? (size_t)(end - (data + pos)) : size - (pos < size ? pos : size);
        char path[128];
        snprintf(path, sizeof path, "%s/%s", g_dir, names[k]);
        if (pos <= size && (k == 0 || n)) fuzz_put(g_dir, names[k], data + pos, n);
        else unlink(path);
        pos += n + 1;
    }
    char out[128];
    snprintf(out, sizeof out, "%s/out.gguf", g_dir);
    if (lmc_hf_convert(g_dir, out, "f32") != LMC_OK) {
        if (!lmc_last_error()[0]) abort(); /* a rejection always says why */
    } else {
        lmc_gguf *g = lmc_gguf_open(out);
        if (!g) abort();
        lmc_gguf_close(g);
        unlink(out);
    }
    return 0;
}
