/* cmd_serve.c — `lmc serve`: the OpenAI-compatible HTTP server (src/server/) until
 * SIGINT/SIGTERM. */
#include "cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char *SERVE_HELP =
    "usage: lmc serve -m MODEL [options]\n"
    "\n"
    "Serves the model over HTTP with OpenAI's API: POST /v1/chat/completions,\n"
    "/v1/completions, /v1/embeddings (mean pooling of the final hidden states, L2-normalized),\n"
    "/tokenize, /detokenize; GET /v1/models, /health, /metrics (Prometheus) and the web\n"
    "chat at /. Every request runs through the continuous-batching engine. Ctrl-C or\n"
    "SIGTERM stops accepting, cancels what is in flight and exits.\n"
    "\n"
    "options:\n"
    "  -m FILE            GGUF model\n"
    "  --host ADDR        IPv4 address to bind (default 127.0.0.1: this machine only)\n"
    "  --port N           TCP port (default 8080; 0 = any free port, printed at start)\n"
    "  --parallel N       sequences decoded together (default 8)\n"
    "  -c, --ctx-size N   context per request, prompt + max_tokens (default 4096, at most\n"
    "                     the model's)\n"
    "  -t, --threads N    compute threads (default: " CLI_THREADS_HELP ")\n"
    "  --kv-type T        f16 (default), f32 or q8_0\n"
    "  --kv-mem MIB       KV pool size in MiB (default: --parallel contexts, up to 8192 tokens)\n"
    "  --api-key KEY      require 'Authorization: Bearer KEY' (also $LMC_API_KEY)\n"
    "  --cors-origin O    Access-Control-Allow-Origin (default *)\n"
    "  --timeout S        close idle connections after S seconds (default 600)\n"
    "  --max-body BYTES   largest request body (default 1048576; 413 beyond)\n"
    "  --max-queue N      generations in flight before 503 + Retry-After (default 64)\n"
    "  --max-n N          largest n per request (default 8)\n"
    "  --alias NAME       model name in responses (default: the file name)\n"
    "\n"
    "example:\n"
    "  lmc serve -m ~/.cache/lmc/models/SmolLM2-135M-Instruct.Q4_1.gguf --port 8080\n"
    "  curl http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \\\n"
    "       -d '{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}'\n";

static lmc_server *g_server;

static void on_signal(int sig) {
    (void)sig;
    if (g_server) lmc_server_stop(g_server);
}

int cmd_serve(int argc, char **argv) {
    const char *cmd = "serve";
    lmc_server_params p = lmc_server_default_params();
    p.n_threads = cli_default_threads();
    p.api_key = getenv("LMC_API_KEY");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long long v;
        int rc = 0;
        if (cli_is_help(a)) {
            printf("%s", SERVE_HELP);
            return CLI_OK;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            rc = cli_value(cmd, argc, argv, &i, &p.model_path);
        } else if (!strcmp(a, "--host")) {
            rc = cli_value(cmd, argc, argv, &i, &p.host);
        } else if (!strcmp(a, "--port")) {
            if (!(rc = cli_int(cmd, argc, argv, &i, 0, 65535, &v))) p.port = (int)v;
        } else if (!strcmp(a, "--parallel") || !strcmp(a, "-np")) {
            if (!(rc = cli_int(cmd, argc, argv, &i, 1, 1024, &v))) p.n_parallel = (int)v;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) {
            if (!(rc = cli_int(cmd, argc, argv, &i, 0, 1 << 24, &v))) p.n_ctx = (int)v;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (!(rc = cli_int(cmd, argc, argv, &i, 1, 1024, &v))) p.n_threads = (int)v;
        } else if (!strcmp(a, "--kv-type")) {
            const char *t;
            if (!(rc = cli_value(cmd, argc, argv, &i, &t))) {
                if (!strcmp(t, "f16")) p.kv_type = LMC_TYPE_F16;
                else if (!strcmp(t, "f32")) p.kv_type = LMC_TYPE_F32;
                else if (!strcmp(t, "q8_0")) p.kv_type = LMC_TYPE_Q8_0;
                else return cli_usage_error(cmd, "--kv-type must be f16, f32 or q8_0, got '%s'", t);
            }
        } else if (!strcmp(a, "--kv-mem")) {
            if (!(rc = cli_int(cmd, argc, argv, &i, 1, 1 << 20, &v))) p.kv_mem = (int64_t)v << 20;
        } else if (!strcmp(a, "--api-key")) {
            rc = cli_value(cmd, argc, argv, &i, &p.api_key);
        } else if (!strcmp(a, "--cors-origin")) {
            rc = cli_value(cmd, argc, argv, &i, &p.cors_origin);
        } else if (!strcmp(a, "--timeout")) {
            if (!(rc = cli_int(cmd, argc, argv, &i, 0, 86400, &v))) p.timeout_s = (int)v;
        } else if (!strcmp(a, "--max-body")) {
            if (!(rc = cli_int(cmd, argc, argv, &i, 64, 1LL << 30, &v))) p.max_body = (size_t)v;
        } else if (!strcmp(a, "--max-queue")) {
            if (!(rc = cli_int(cmd, argc, argv, &i, 1, 100000, &v))) p.max_queue = (int)v;
        } else if (!strcmp(a, "--max-n")) {
            if (!(rc = cli_int(cmd, argc, argv, &i, 1, 128, &v))) p.max_n = (int)v;
        } else if (!strcmp(a, "--alias")) {
            rc = cli_value(cmd, argc, argv, &i, &p.model_alias);
        } else {
            return cli_usage_error(cmd, "unknown option '%s'", a);
        }
        if (rc) return rc;
    }
    if (!p.model_path) return cli_usage_error(cmd, "no model given (-m FILE)");
    lmc_server *s = lmc_server_init(&p);
    if (!s) return cli_lib_error();
    if (lmc_server_uses_chatml(s))
        fprintf(stderr, "lmc serve: warning: the model has no chat template; chat requests use ChatML\n");
    g_server = s;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "lmc serve: listening on http://%s:%d (Ctrl-C stops)\n", p.host, lmc_server_port(s));
    fflush(stderr);
    int rc = lmc_server_run(s);
    fprintf(stderr, "lmc serve: stopped\n");
    g_server = NULL;
    lmc_server_free(s);
    return rc == LMC_OK ? CLI_OK : cli_lib_error();
}
