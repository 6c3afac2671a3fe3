/* fuzz_jinja.c — libFuzzer target for the chat-template interpreter (src/chat/).
 *
 * Input: template source, optionally followed by a NUL byte and a messages JSON text
 * (a fixed conversation is used when there is none or it does not parse). The template is
 * parsed and, when it parses, rendered once (add_generation_prompt from the input size's
 * parity) with a small output limit. Any input must give text or an error with a message — never a
 * crash, a hang or a sanitizer report; invariants that must hold abort().
 *
 * Built by fuzz/CMakeLists.txt with -fsanitize=fuzzer,address,undefined:
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DLMC_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
 *   cmake --build build-fuzz --target fuzz_jinja
 *   mkdir -p /tmp/jinja-corpus && build-fuzz/fuzz/fuzz_jinja /tmp/jinja-corpus fuzz/corpus/jinja \
 *       -max_len=4096 -timeout=20
 * and without libFuzzer by tests/fuzz_replay.c (ctest chat_fuzz_replay) on fuzz/corpus/jinja. */
#include "lmc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *DEFAULT_MESSAGES =
    "[{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Hi {{ x }}\"},"
    " {\"role\": \"assistant\", \"content\": \"\", \"tool_calls\": [{\"type\": \"function\", \"function\":"
    " {\"name\": \"f\", \"arguments\": {\"a\": 1.5, \"b\": [true, null]}}}]},"
    " {\"role\": \"tool\", \"content\": \"{\\\"ok\\\": 1}\"}, {\"role\": \"user\", \"content\": \"Москва\"}]";

#define REQUIRE(cond)                                                                    \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "fuzz_jinja: invariant failed: %s (%s:%d)\n", #cond, __FILE__, \
                    __LINE__);                                                           \
            abort();                                                                     \
        }                                                                                \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *src = (const char *)data;
    size_t src_len = size;
    const uint8_t *nul = memchr(data, 0, size);
    char *messages = NULL;
    if (nul) {
        src_len = (size_t)(nul - data);
        size_t mlen = size - src_len - 1;
        messages = malloc(mlen + 1);
        if (!messages) return 0;
        memcpy(messages, nul + 1, mlen);
        messages[mlen] = 0;
    }
    lmc_chat_template *t = lmc_chat_template_init(src, src_len);
    if (!t) {
        REQUIRE(lmc_last_error()[0] != 0);
        free(messages);
        return 0;
    }
    /* one render per input (add_generation_prompt from the size's parity) keeps the
     * worst case, a template that runs into the step limit, a few seconds under ASan */
    bool agp = size & 1;
    for (int pass = 0; pass < 2; pass++) {
        lmc_chat_params p = lmc_chat_default_params();
        p.messages_json = messages ? messages : DEFAULT_MESSAGES;
        p.tools_json = "[{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": {}}}]";
        p.vars_json = "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\"}";
        p.add_generation_prompt = agp;
        p.now = "2024-07-26T00:00:00";
        p.max_output = 1 << 20;
        char *out = NULL;
        size_t n = 0;
        int rc = lmc_chat_render(t, &p, &out, &n);
        if (rc == LMC_OK) {
            REQUIRE(out != NULL && n <= p.max_output && out[n] == 0);
        } else {
            REQUIRE(out == NULL && lmc_last_error()[0] != 0);
        }
        free(out);
        if (rc != LMC_ERR_INVALID_ARG || !messages) break;
        free(messages); /* bad JSON: once more with the fixed conversation */
        messages = NULL;
    }
    lmc_chat_template_free(t);
    free(messages);
    return 0;
}
