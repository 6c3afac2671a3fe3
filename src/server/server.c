/* server.c — lmc_server_*: model, vocab, chat template (ChatML fallback) and engine
 * set up once; run until lmc_server_stop, then a clean shutdown. */
#include "server-impl.h"

#include "lmc-impl.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Used when the model has no template (or one lmc cannot parse). */
static const char CHATML[] =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

lmc_server_params lmc_server_default_params(void) {
    lmc_server_params p;
    memset(&p, 0, sizeof p);
    p.host = "127.0.0.1";
    p.port = 8080;
    p.n_parallel = 8;
    p.n_ctx = 4096;
    p.n_threads = 2;
    p.kv_type = LMC_TYPE_F16;
    p.cors_origin = "*";
    p.timeout_s = 600;
    p.max_body = 1 << 20;
    p.max_queue = 64;
    p.max_n = 8;
    p.max_connections = 128;
    return p;
}

static char *dup_s(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

lmc_server *lmc_server_init(const lmc_server_params *pp) {
    if (!pp || !pp->model_path) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "server: no model given");
    lmc_server_params p = *pp;
    if (p.n_parallel < 1 || p.n_threads < 1 || p.n_ctx < 0 || p.max_queue < 1 || p.max_n < 1 || p.port < 0 ||
        p.port > 65535 || p.max_body < 64 || p.timeout_s < 0 || p.max_connections < 1)
        return lmc_set_error_null(LMC_ERR_INVALID_ARG, "server: bad parameters");
    if (!p.host) p.host = "127.0.0.1";
    if (!p.cors_origin) p.cors_origin = "*";
    lmc_server *s = calloc(1, sizeof *s);
    if (!s) return lmc_set_error_null(LMC_ERR_NOMEM, "server: out of memory");
    s->p = p;
    const char *base = strrchr(p.model_path, '/');
    s->model_name = dup_s(p.model_alias ? p.model_alias : base ? base + 1 : p.model_path);
    s->metrics = srv_metrics_init();
    if (!s->model_name || !s->metrics) goto fail_nomem;
    s->model = lmc_model_load(p.model_path);
    if (!s->model) goto fail;
    s->vocab = lmc_vocab_load(lmc_model_gguf(s->model));
    if (!s->vocab) goto fail;
    s->tmpl = lmc_chat_template_from_gguf(lmc_model_gguf(s->model), NULL);
    if (!s->tmpl) {
        s->chatml = true;
        s->tmpl = lmc_chat_template_init(CHATML, sizeof CHATML - 1);
        if (!s->tmpl) goto fail;
    }
    lmc_engine_params ep = lmc_engine_default_params();
    ep.n_ctx = p.n_ctx;
    ep.kv_mem = p.kv_mem;
    ep.kv_type = p.kv_type;
    ep.n_threads = p.n_threads;
    ep.n_seq_max = p.n_parallel;
    ep.background = true;
    const lmc_model_hparams *hp = lmc_model_get_hparams(s->model);
    if (ep.n_ctx == 0 || (hp->n_ctx_train > 0 && ep.n_ctx > hp->n_ctx_train)) ep.n_ctx = hp->n_ctx_train;
    if (p.kv_mem == 0) {
        /* room for the parallel sequences (at most 8192 tokens beyond one full context);
         * the engine preempts when they need more */
        int64_t tokens = (int64_t)ep.n_ctx * p.n_parallel;
        int64_t cap = ep.n_ctx > 8192 ? ep.n_ctx : 8192;
        if (tokens > cap) tokens = cap;
        double elem = p.kv_type == LMC_TYPE_F32 ? 4 : p.kv_type == LMC_TYPE_Q8_0 ? 34.0 / 32 : 2;
        ep.kv_mem = (int64_t)((double)tokens * hp->n_layer * hp->n_head_kv * hp->head_dim * 2 * elem) + (1 << 20);
    }
    s->engine = lmc_engine_init(s->model, s->vocab, ep);
    if (!s->engine) goto fail;
    s->n_ctx = lmc_engine_get_params(s->engine).n_ctx;
    s->lim.max_n = p.max_n;
    s->lim.max_tokens = (int64_t)1 << 30; /* beyond the context: 400 context_length_exceeded */
    s->lim.max_stop = SRV_MAX_STOP;
    s->lim.max_prompt = p.max_body;
    atomic_init(&s->in_flight, 0);
    atomic_init(&s->next_id, (long)time(NULL) % 100000 * 1000);
    if (srv_http_start(s) != LMC_OK) goto fail;
    return s;
fail_nomem:
    lmc_set_error(LMC_ERR_NOMEM, "server: out of memory");
fail:
    lmc_server_free(s);
    return NULL;
}

int lmc_server_port(const lmc_server *s) { return s->port; }
bool lmc_server_uses_chatml(const lmc_server *s) { return s->chatml; }

int lmc_server_run(lmc_server *s) {
    struct timespec ts = {0, 50 * 1000000L};
    while (!s->stop) nanosleep(&ts, NULL);
    /* In-flight handlers see s->stop and cancel their sequences; the daemon joins them. */
    srv_http_stop(s);
    return LMC_OK;
}

void lmc_server_stop(lmc_server *s) { s->stop = 1; }

void lmc_server_free(lmc_server *s) {
    if (!s) return;
    s->stop = 1;
    srv_http_stop(s);
    lmc_engine_free(s->engine);
    lmc_chat_template_free(s->tmpl);
    lmc_vocab_free(s->vocab);
    lmc_model_free(s->model);
    srv_metrics_free(s->metrics);
    free(s->model_name);
    free(s);
}
