/* fuzz_server.c — libFuzzer target for the server's request parsing (src/server/request.c).
 *
 * Input: one selector byte (mod 5: chat, completion, embeddings, tokenize, detokenize)
 * followed by the HTTP body. Whatever parses is checked against the limits it claims
 * to enforce, then freed (ASan sees leaks and overruns).
 *   cmake --build build-fuzz --target fuzz_server
 *   mkdir -p /tmp/srv-corpus && build-fuzz/fuzz/fuzz_server /tmp/srv-corpus fuzz/corpus/server -max_len=4096
 * Replayed without libFuzzer by ctest server_fuzz_replay (tests/fuzz_replay.c). */
#include "../src/server/server-impl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int which = data[0] % 5;
    /* a copy without a terminating NUL, so reads past the end are caught */
    size_t len = size - 1;
    char *body = malloc(len ? len : 1);
    if (!body) return 0;
    memcpy(body, data + 1, len);
    srv_limits lim = {.max_n = 8, .max_tokens = 4096, .max_stop = 4, .max_prompt = 2048};
    char err[256];
    const char *param = NULL;
    if (which <= 1) {
        srv_gen_request r;
        if (srv_parse_gen(which ? SRV_COMPLETION : SRV_CHAT, body, len, &lim, &r, err, sizeof err, &param) == LMC_OK) {
            if (r.n < 1 || r.n > lim.max_n || r.max_tokens > lim.max_tokens || r.n_stop > SRV_MAX_STOP ||
                r.n_prompt_tokens > (int64_t)lim.max_prompt || (r.kind == SRV_CHAT && !r.messages_json) ||
                (r.kind == SRV_COMPLETION && !r.prompt && !r.prompt_tokens) || r.logprobs > 20 ||
                !(r.sp.temp >= 0 && r.sp.temp <= 2) || !(r.sp.top_p > 0 && r.sp.top_p <= 1))
                abort();
            if (lmc_sampler_params_check(&r.sp) != LMC_OK) abort();
            srv_gen_request_free(&r);
        } else if (!err[0]) {
            abort(); /* every refusal explains itself */
        }
    } else if (which == 2) {
        srv_embed_request r;
        if (srv_parse_embed(body, len, &lim, &r, err, sizeof err, &param) == LMC_OK) {
            if (r.n_inputs < 1 || r.n_inputs > 256) abort();
            srv_embed_request_free(&r);
        }
    } else {
        srv_tok_request r;
        int rc = which == 3 ? srv_parse_tokenize(body, len, &lim, &r, err, sizeof err)
                            : srv_parse_detokenize(body, len, &lim, &r, err, sizeof err);
        if (rc == LMC_OK) srv_tok_request_free(&r);
    }
    free(body);
    return 0;
}
