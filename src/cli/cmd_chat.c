/* cmd_chat.c — `lmc chat`: multi-turn chat that keeps the KV cache between turns, so
 * each turn only runs its new tokens. The conversation is written in ChatML; until
 * chat templates are rendered in general, the model's own template is used when it is
 * ChatML and ChatML otherwise (and lmc says so). */
#include "cli_gen.h"

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
    "  --system TEXT    system message (default: the template's default one, if any)\n";
static const char *CHAT_HELP_TAIL =
    "  (-n is the most tokens per answer, default 512)\n"
    "\n"
    "example:\n"
    "  lmc chat -m ~/.cache/lmc/models/SmolLM2-135M-Instruct.Q4_1.gguf -p \"What is the capital of France?\"\n";

typedef struct {
    cli_session *s;
    int32_t im_end;   /* <|im_end|> token id, or -1 */
    int64_t n_out;
    bool ended;       /* the answer ended with an end token (not printed) */
} chat_state;

static bool on_token(int32_t tok, void *user) {
    chat_state *c = user;
    if (tok == c->im_end || lmc_vocab_is_eog(c->s->vocab, tok)) {
        c->ended = true;
        return false;
    }
    cli_print_piece(c->s, stdout, tok, false);
    fflush(stdout);
    c->n_out++;
    return true;
}

/* The default system message written into a ChatML template as a literal, e.g.
 * SmolLM2's "{{ '<|im_start|>system\nYou are a helpful AI assistant ...<|im_end|>\n' }}". */
static char *template_default_system(lmc_str t) {
    static const char *open = "<|im_start|>system";
    const char *end = t.ptr + t.len;
    for (const char *p = t.ptr; p && p < end;) {
        p = memmem(p, (size_t)(end - p), open, strlen(open));
        if (!p) break;
        p += strlen(open);
        if (p < end && *p == '\n') p++;
        else if (p + 1 < end && p[0] == '\\' && p[1] == 'n') p += 2;
        else continue;
        const char *q = memmem(p, (size_t)(end - p), "<|im_end|>", 10);
        if (!q || q <= p) continue;
        bool literal = true;
        for (const char *r = p; r < q; r++)
            if (*r == '\'' || *r == '"' || *r == '{' || *r == '}' || *r == '+') literal = false;
        if (!literal) continue;
        char *out = malloc((size_t)(q - p) + 1), *w = out;
        for (const char *r = p; r < q && out; r++) {
            if (r + 1 < q && r[0] == '\\' && r[1] == 'n') {
                *w++ = '\n';
                r++;
            } else {
                *w++ = *r;
            }
        }
        if (out) *w = 0;
        return out;
    }
    return NULL;
}

/* Appends the tokens of text to *ids. */
static int append_tokens(cli_session *s, int32_t **ids, int64_t *n, int64_t *cap, const char *text, bool add_special,
                         bool parse_special) {
    int32_t *t = NULL;
    int64_t nt = 0;
    if (cli_tokenize(s, text, strlen(text), add_special, parse_special, &t, &nt)) return CLI_ERR;
    if (*n + nt > *cap) {
        int64_t nc = (*n + nt) * 2 + 16;
        int32_t *p = realloc(*ids, (size_t)nc * sizeof *p);
        if (!p) {
            free(t);
            return cli_error("out of memory");
        }
        *ids = p;
        *cap = nc;
    }
    memcpy(*ids + *n, t, (size_t)nt * sizeof *t);
    *n += nt;
    free(t);
    return CLI_OK;
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

    /* template: ChatML if the model's is, else ChatML anyway (said on stderr) */
    lmc_str tpl = {0};
    bool has_tpl = lmc_gguf_get_str(lmc_model_gguf(s.model), "tokenizer.chat_template", &tpl) == LMC_OK;
    bool chatml = has_tpl && memmem(tpl.ptr, tpl.len, "<|im_start|>", 12) != NULL;
    char *def_system = chatml ? template_default_system(tpl) : NULL;
    if (chatml)
        fprintf(stderr, "lmc chat: using the model's chat template (ChatML)\n");
    else
        fprintf(stderr, "lmc chat: the model's chat template is %s; using ChatML instead\n",
                has_tpl ? "not ChatML" : "missing");
    if (!system) system = def_system;
    {
        int32_t *t = NULL;
        int64_t nt = 0;
        if (lmc_tokenize(s.vocab, "<|im_end|>", 10, false, true, &t, &nt) == LMC_OK && nt == 1) st.im_end = t[0];
        free(t);
        if (st.im_end < 0)
            fprintf(stderr, "lmc chat: warning: the vocabulary has no <|im_end|> token; answers end at EOS or -n\n");
    }

    const bool interactive = !o.prompt && isatty(0);
    if (interactive) fprintf(stderr, "lmc chat: type a message; /reset starts over, /exit quits\n");
    int rc = CLI_OK;
    bool first = true;
    int32_t pending = -1;      /* chosen last turn, not yet in the cache */
    bool pending_ended = false; /* ... and it was the end token          */
    int32_t *ids = NULL;
    int64_t cap = 0;
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
                first = true;
                pending = -1;
                free(msg);
                fprintf(stderr, "lmc chat: conversation cleared\n");
                continue;
            }
            if (!*msg && interactive) {
                free(msg);
                continue;
            }
        }
        /* the new tokens of this turn */
        int64_t n = 0;
        int e = CLI_OK;
        if (pending >= 0) {
            if (cap < 16) {
                int32_t *p = realloc(ids, 16 * sizeof *p);
                if (!p) {
                    free(msg);
                    rc = cli_error("out of memory");
                    break;
                }
                ids = p;
                cap = 16;
            }
            ids[n++] = pending;
        }
        if (first && system) {
            e = append_tokens(&s, &ids, &n, &cap, "<|im_start|>system\n", true, true);
            if (!e) e = append_tokens(&s, &ids, &n, &cap, system, false, false);
            if (!e) e = append_tokens(&s, &ids, &n, &cap, "<|im_end|>\n<|im_start|>user\n", false, true);
        } else {
            const char *head = first ? "<|im_start|>user\n"
                               : pending_ended ? "\n<|im_start|>user\n"
                                               : "<|im_end|>\n<|im_start|>user\n";
            e = append_tokens(&s, &ids, &n, &cap, head, first, true);
        }
        if (!e) e = append_tokens(&s, &ids, &n, &cap, msg, false, false);
        if (!e) e = append_tokens(&s, &ids, &n, &cap, "<|im_end|>\n<|im_start|>assistant\n", false, true);
        free(msg);
        if (e) {
            rc = CLI_ERR;
            break;
        }
        const int64_t n_ctx = lmc_context_n_ctx(s.ctx), used = lmc_context_n_past(s.ctx);
        if (used + n + 1 > n_ctx) {
            cli_error("the conversation no longer fits in the context (%lld + %lld of %lld tokens); %s", (long long)used,
                      (long long)n, (long long)n_ctx, interactive ? "type /reset to start over" : "use a larger -c");
            if (interactive) continue;
            rc = CLI_ERR;
            break;
        }
        st.n_out = 0;
        st.ended = false;
        lmc_gen_stats gs;
        if (lmc_generate(s.ctx, ids, n, o.n_predict, cli_pick, &s, on_token, &st, &gs) != LMC_OK) {
            rc = cli_lib_error();
            break;
        }
        first = false;
        pending = gs.pending;
        pending_ended = st.ended && pending == st.im_end;
        if (st.ended && pending != st.im_end) pending = -1; /* another end token (EOS): close the turn by text */
        putchar('\n');
        fflush(stdout);
        if (gs.ctx_full) fprintf(stderr, "lmc chat: the answer was cut: the context is full\n");
        fprintf(stderr, "lmc: prompt %lld tokens (%.1f tok/s), answer %lld tokens (%.1f tok/s), context %lld/%lld\n",
                (long long)gs.n_prompt, gs.t_prompt_ms > 0 ? gs.n_prompt * 1e3 / gs.t_prompt_ms : 0.0,
                (long long)gs.n_gen, gs.t_gen_ms > 0 ? gs.n_decoded * 1e3 / gs.t_gen_ms : 0.0,
                (long long)lmc_context_n_past(s.ctx), (long long)n_ctx);
    }
    free(ids);
    free(def_system);
    cli_session_close(&s);
    return rc;
}
