/* cmd_chat.c — `lmc chat`: multi-turn chat that keeps the KV cache between turns.
 * Each turn renders the whole conversation with the model's own chat template (a
 * Jinja template, as transformers renders it; ChatML when the model has none),
 * tokenizes it and runs only the tokens after the longest prefix already in the
 * cache, so earlier turns are never recomputed. */
#include "cli_gen.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *CHAT_HELP_HEAD =
    "usage: lmc chat -m MODEL [options]\n"
    "\n"
    "Chats with an instruction-tuned model. Each line read is one user message; the\n"
    "conversation is kept (in the KV cache) between turns. In a terminal, type /reset\n"
    "to start over and /exit (or Ctrl-D) to quit. With -p, or when stdin is not a\n"
    "terminal, it runs without prompts: -p sends one message and exits; otherwise every\n"
    "line of stdin is a message. Answers go to stdout, speeds to stderr.\n"
    "\n"
    "options:\n"
    "  -p TEXT          send this one message, print the answer and exit\n"
    "  --system TEXT    system message (default: none, so the template's own default applies)\n";
static const char *CHAT_HELP_TAIL =
    "  (-n is the most tokens per answer, default 512)\n"
    "\n"
    "example:\n"
    "  lmc chat -m ~/.cache/lmc/models/SmolLM2-135M-Instruct.Q4_1.gguf -p \"What is the capital of France?\"\n";

/* Used when the model has no template (or one lmc cannot parse): ChatML. */
static const char CHATML_TEMPLATE[] =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

typedef struct {
    cli_session *s;
    int32_t im_end;   /* <|im_end|> token id, or -1 */
    int32_t *gen;     /* tokens chosen this turn (the last one is not in the cache) */
    int64_t n_gen, cap_gen;
    char *text;       /* the answer's bytes, for the conversation history */
    size_t n_text, cap_text;
    bool ended;       /* the answer ended with an end token (not printed) */
    bool oom;
} chat_state;

static bool on_token(int32_t tok, void *user) {
    chat_state *c = user;
    if (c->n_gen == c->cap_gen) {
        int64_t nc = c->cap_gen * 2 + 64;
        int32_t *p = realloc(c->gen, (size_t)nc * sizeof *p);
        if (!p) {
            c->oom = true;
            return false;
        }
        c->gen = p;
        c->cap_gen = nc;
    }
    c->gen[c->n_gen++] = tok;
    if (tok == c->im_end || lmc_vocab_is_eog(c->s->vocab, tok)) {
        c->ended = true;
        return false;
    }
    char piece[256];
    int n = lmc_token_to_piece(c->s->vocab, tok, false, piece, sizeof piece);
    if (n > 0) {
        if (c->n_text + (size_t)n + 1 > c->cap_text) {
            size_t nc = (c->cap_text + (size_t)n + 1) * 2;
            char *p = realloc(c->text, nc);
            if (!p) {
                c->oom = true;
                return false;
            }
            c->text = p;
            c->cap_text = nc;
        }
        memcpy(c->text + c->n_text, piece, (size_t)n);
        c->n_text += (size_t)n;
        c->text[c->n_text] = 0;
    }
    cli_print_piece(c->s, stdout, tok);
    fflush(stdout);
    return true;
}

/* Renders messages (+ the assistant header) and tokenizes the result. */
static int render_tokens(cli_session *s, const lmc_chat_template *t, cJSON *messages, int32_t **ids, int64_t *n) {
    char *json = cJSON_PrintUnformatted(messages);
    if (!json) return cli_error("out of memory");
    lmc_chat_params p = lmc_chat_default_params();
    p.messages_json = json;
    p.add_generation_prompt = true;
    char *text = NULL;
    size_t len = 0;
    int rc = lmc_chat_render(t, &p, &text, &len);
    free(json);
    if (rc != LMC_OK) return cli_lib_error();
    /* Add BOS as the vocabulary asks, unless the template already wrote it. */
    bool add_special = true;
    int32_t bos = lmc_vocab_bos(s->vocab);
    if (bos >= 0) {
        char b[128];
        int bl = lmc_token_to_piece(s->vocab, bos, true, b, sizeof b);
        if (bl > 0 && len >= (size_t)bl && memcmp(text, b, (size_t)bl) == 0) add_special = false;
    }
    rc = cli_tokenize(s, text, len, add_special, true, ids, n);
    free(text);
    return rc;
}

/* Reads one line from f (without the newline) into a malloc'ed string; NULL at EOF. */
static char *read_line(FILE *f) {
    size_t cap = 0;
    char *line = NULL;
    ssize_t n = getline(&line, &cap, f);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    return line;
}

static void add_message(cJSON *messages, const char *role, const char *content) {
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", role);
    cJSON_AddStringToObject(m, "content", content);
    cJSON_AddItemToArray(messages, m);
}

int cmd_chat(int argc, char **argv) {
    const char *cmd = "chat";
    cli_gen_opts o;
    cli_gen_defaults(&o, 512);
    const char *system = NULL;
    for (int i = 1; i < argc; i++) {
        bool matched;
        int rc;
        if (cli_is_help(argv[i])) {
            printf("%s%s%s", CHAT_HELP_HEAD, CLI_GEN_OPTIONS_HELP, CHAT_HELP_TAIL);
            return CLI_OK;
        }
        if ((rc = cli_gen_option(cmd, argc, argv, &i, &o, &matched))) return rc;
        if (matched) continue;
        if (!strcmp(argv[i], "--system")) {
            if ((rc = cli_value(cmd, argc, argv, &i, &system))) return rc;
        } else {
            return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        }
    }
    if (!o.model) return cli_usage_error(cmd, "no model given (-m FILE)");
    if (o.prompt_file) return cli_usage_error(cmd, "-f is not supported; pipe the messages to stdin, one per line");
    size_t bad;
    if (o.prompt && !cli_utf8_valid(o.prompt, strlen(o.prompt), &bad))
        return cli_error("the message is not valid UTF-8 (byte 0x%02X at offset %zu)", (unsigned char)o.prompt[bad], bad);
    if (system && !cli_utf8_valid(system, strlen(system), &bad))
        return cli_error("the system message is not valid UTF-8 (byte 0x%02X at offset %zu)", (unsigned char)system[bad], bad);

    cli_session s;
    if (cli_session_open(&o, &s)) return CLI_ERR;
    chat_state st = {.s = &s, .im_end = -1};

    lmc_chat_template *tpl = lmc_chat_template_from_gguf(lmc_model_gguf(s.model), NULL);
    if (tpl) {
        fprintf(stderr, "lmc chat: using the model's chat template\n");
    } else {
        fprintf(stderr, "lmc chat: %s; using ChatML\n", lmc_last_error()[0] ? lmc_last_error() : "the model has no chat template");
        tpl = lmc_chat_template_init(CHATML_TEMPLATE, sizeof CHATML_TEMPLATE - 1);
        if (!tpl) {
            cli_session_close(&s);
            return cli_lib_error();
        }
    }
    {
        int32_t *t = NULL;
        int64_t nt = 0;
        if (lmc_tokenize(s.vocab, "<|im_end|>", 10, false, true, &t, &nt) == LMC_OK && nt == 1) st.im_end = t[0];
        free(t);
    }
    cJSON *messages = cJSON_CreateArray();
    if (system) add_message(messages, "system", system);

    const bool interactive = !o.prompt && isatty(0);
    if (interactive) fprintf(stderr, "lmc chat: type a message; /reset starts over, /exit quits\n");
    int rc = CLI_OK;
    int32_t *hist = NULL;  /* the tokens in the KV cache, in order */
    int64_t n_hist = 0;
    for (int turn = 0;; turn++) {
        char *msg = NULL;
        if (o.prompt) {
            if (turn > 0) break;
            msg = strdup(o.prompt);
        } else {
            if (interactive) fprintf(stderr, "> ");
            msg = read_line(stdin);
            if (!msg) break;
            if (!cli_utf8_valid(msg, strlen(msg), &bad)) {
                cli_error("the message is not valid UTF-8 (byte 0x%02X at offset %zu)", (unsigned char)msg[bad], bad);
                free(msg);
                if (interactive) continue;
                rc = CLI_ERR;
                break;
            }
            if (!strcmp(msg, "/exit")) {
                free(msg);
                break;
            }
            if (!strcmp(msg, "/reset")) {
                lmc_context_reset(s.ctx);
                n_hist = 0;
                cJSON_Delete(messages);
                messages = cJSON_CreateArray();
                if (system) add_message(messages, "system", system);
                free(msg);
                fprintf(stderr, "lmc chat: conversation cleared\n");
                continue;
            }
            if (!*msg && interactive) {
                free(msg);
                continue;
            }
        }
        add_message(messages, "user", msg);
        free(msg);
        int32_t *ids = NULL;
        int64_t n = 0;
        if (render_tokens(&s, tpl, messages, &ids, &n)) {
            rc = CLI_ERR;
            break;
        }
        const int64_t n_ctx = lmc_context_n_ctx(s.ctx);
        if (n + 1 > n_ctx) {
            cli_error("the conversation no longer fits in the context (%lld of %lld tokens); %s", (long long)n,
                      (long long)n_ctx, interactive ? "type /reset to start over" : "use a larger -c");
            free(ids);
            cJSON_DeleteItemFromArray(messages, cJSON_GetArraySize(messages) - 1);
            if (interactive) continue;
            rc = CLI_ERR;
            break;
        }
        /* Reuse the longest prefix already in the cache; keep at least one token to run. */
        int64_t keep = 0;
        while (keep < n_hist && keep < n - 1 && hist[keep] == ids[keep]) keep++;
        lmc_context_truncate(s.ctx, keep);
        st.n_gen = 0;
        st.n_text = 0;
        if (st.text) st.text[0] = 0;
        st.ended = false;
        lmc_gen_stats gs;
        int e = lmc_generate(s.ctx, ids + keep, n - keep, o.n_predict, cli_pick, &s, on_token, &st, &gs);
        cli_print_flush(&s, stdout);
        if (e != LMC_OK || st.oom) {
            free(ids);
            rc = st.oom ? cli_error("out of memory") : cli_lib_error();
            break;
        }
        /* The cache now holds ids + every chosen token but the last. */
        int64_t n_new = n + (st.n_gen > 0 ? st.n_gen - 1 : 0);
        int32_t *h = realloc(hist, (size_t)(n_new + 1) * sizeof *h);
        if (!h) {
            free(ids);
            rc = cli_error("out of memory");
            break;
        }
        hist = h;
        memcpy(hist, ids, (size_t)n * sizeof *ids);
        if (st.n_gen > 1) memcpy(hist + n, st.gen, (size_t)(st.n_gen - 1) * sizeof *st.gen);
        n_hist = n_new;
        free(ids);
        add_message(messages, "assistant", st.text ? st.text : "");
        putchar('\n');
        fflush(stdout);
        if (gs.ctx_full) fprintf(stderr, "lmc chat: the answer was cut: the context is full\n");
        fprintf(stderr, "lmc: prompt %lld tokens (%lld reused from the cache, %.1f tok/s), answer %lld tokens (%.1f tok/s), context %lld/%lld\n",
                (long long)n, (long long)keep, gs.t_prompt_ms > 0 ? gs.n_prompt * 1e3 / gs.t_prompt_ms : 0.0,
                (long long)gs.n_gen, gs.t_gen_ms > 0 ? gs.n_decoded * 1e3 / gs.t_gen_ms : 0.0,
                (long long)lmc_context_n_past(s.ctx), (long long)n_ctx);
    }
    free(hist);
    free(st.gen);
    free(st.text);
    cJSON_Delete(messages);
    lmc_chat_template_free(tpl);
    cli_session_close(&s);
    return rc;
}
