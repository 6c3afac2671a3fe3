/* chat_gguf_cli.c — the chat template taken from a GGUF file (tokenizer.chat_template,
 * named variants, bos/eos tokens preset from the vocabulary), and `lmc template` end to
 * end: its output must be the reference rendering (ref/chat, made by jinja2) byte for
 * byte, and usage errors exit with status 2. */
#include "lmc.h"
#include "test_util.h"

#include <cjson/cJSON.h>
#include <sys/wait.h>

/* Runs a shell command and captures stdout; returns the exit status. */
static int run_cmd(const char *cmd, char **out, size_t *len) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t k;
    while (buf && (k = fread(buf + n, 1, cap - n, p)) > 0) {
        n += k;
        if (n == cap) buf = realloc(buf, cap *= 2);
    }
    int st = pclose(p);
    *out = buf;
    *len = n;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void) {
    const char *bin = getenv("LMC_BIN");
    char *tmpl = t_read_file(t_shared("ref/chat/templates/chatml.jinja"), NULL);
    size_t want_len;
    char *want = t_read_file(t_shared("ref/chat/expected/chatml.multiturn.gen.txt"), &want_len);
    char *convs = t_read_file(t_shared("ref/chat/conversations.json"), NULL);
    if (!tmpl || !want || !convs) {
        fprintf(stderr, "cannot read ref/chat under %s\n", t_shared_dir());
        return 1;
    }
    cJSON *cj = cJSON_Parse(convs), *it, *msgs = NULL;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(cj, "conversations")) {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(it, "name")), "multiturn") == 0)
            msgs = cJSON_GetObjectItem(it, "messages");
    }
    CHECK(msgs != NULL);
    char *messages = cJSON_PrintUnformatted(msgs);

    /* a vocab-only GGUF carrying the template, a named variant and special tokens */
    const char *gguf_path = "chat_gguf_cli.gguf", *msgs_path = "chat_gguf_cli.messages.json";
    const char *tokens[] = {"<unk>", "<s>", "</s>", "hello"};
    lmc_gguf_writer *w = lmc_gguf_writer_init();
    CHECK(w != NULL);
    lmc_gguf_writer_set_str(w, "general.architecture", "llama");
    lmc_gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    lmc_gguf_writer_set_array_str(w, "tokenizer.ggml.tokens", tokens, 4);
    lmc_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1);
    lmc_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2);
    lmc_gguf_writer_set_str(w, "tokenizer.chat_template", tmpl);
    lmc_gguf_writer_set_str(w, "tokenizer.chat_template.tool_use",
                            "{{ bos_token }}{{ messages[0].role }}{{ eos_token }}|{{ tools|length }}");
    CHECK_EQ_INT(lmc_gguf_writer_write(w, gguf_path), LMC_OK);
    lmc_gguf_writer_free(w);
    FILE *f = fopen(msgs_path, "wb");
    CHECK(f != NULL);
    if (f) {
        fputs(messages, f);
        fclose(f);
    }

    lmc_gguf *g = lmc_gguf_open(gguf_path);
    CHECK_MSG(g != NULL, "%s", lmc_last_error());
    if (g) {
        lmc_chat_template *t = lmc_chat_template_from_gguf(g, NULL);
        CHECK_MSG(t != NULL, "%s", lmc_last_error());
        lmc_chat_params p = lmc_chat_default_params();
        p.messages_json = messages;
        p.add_generation_prompt = true;
        char *out = NULL;
        size_t n = 0;
        CHECK_EQ_INT(lmc_chat_render(t, &p, &out, &n), LMC_OK);
        CHECK_MSG(out && n == want_len && memcmp(out, want, n) == 0, "GGUF template rendering differs");
        free(out);
        lmc_chat_template_free(t);

        t = lmc_chat_template_from_gguf(g, "tool_use");
        CHECK_MSG(t != NULL, "%s", lmc_last_error());
        p.tools_json = "[{\"type\": \"function\"}, {\"type\": \"function\"}]";
        CHECK_EQ_INT(lmc_chat_render(t, &p, &out, NULL), LMC_OK);
        CHECK_STR(out, "<s>system</s>|2");
        free(out);
        p.vars_json = "{\"bos_token\": \"[B]\"}"; /* the caller's variables win */
        CHECK_EQ_INT(lmc_chat_render(t, &p, &out, NULL), LMC_OK);
        CHECK_STR(out, "[B]system</s>|2");
        free(out);
        lmc_chat_template_free(t);

        CHECK(lmc_chat_template_from_gguf(g, "nope") == NULL);
        CHECK(strstr(lmc_last_error(), "tokenizer.chat_template.nope") != NULL);
        lmc_gguf_close(g);
    }

    /* the CLI, from the model and from the template file */
    if (bin) {
        char cmd[8192], *out = NULL;
        size_t n = 0;
        snprintf(cmd, sizeof cmd, "'%s' template -m %s --messages %s --add-generation-prompt", bin, gguf_path,
                 msgs_path);
        CHECK_EQ_INT(run_cmd(cmd, &out, &n), 0);
        CHECK_MSG(out && n == want_len && memcmp(out, want, n) == 0, "lmc template -m output differs");
        free(out);
        snprintf(cmd, sizeof cmd, "'%s' template --template '%s' --messages %s --add-generation-prompt", bin,
                 t_shared("ref/chat/templates/chatml.jinja"), msgs_path);
        CHECK_EQ_INT(run_cmd(cmd, &out, &n), 0);
        CHECK_MSG(out && n == want_len && memcmp(out, want, n) == 0, "lmc template --template output differs");
        free(out);
        snprintf(cmd, sizeof cmd,
                 "'%s' template -m %s --name tool_use --messages %s --tools %s --var bos_token='<x>' --var n=3",
                 bin, gguf_path, msgs_path, msgs_path);
        CHECK_EQ_INT(run_cmd(cmd, &out, &n), 0);
        CHECK_MSG(out && n == 15 && memcmp(out, "<x>system</s>|4", 15) == 0, "got %.*s", (int)n, out ? out : "");
        free(out);
        snprintf(cmd, sizeof cmd, "'%s' template --messages %s 2>/dev/null", bin, msgs_path);
        CHECK_EQ_INT(run_cmd(cmd, &out, &n), 2); /* no template source */
        free(out);
        snprintf(cmd, sizeof cmd, "echo '{%% if x %%}' > chat_gguf_cli.bad.jinja && '%s' template --template "
                 "chat_gguf_cli.bad.jinja --messages %s 2>&1 >/dev/null", bin, msgs_path);
        CHECK_EQ_INT(run_cmd(cmd, &out, &n), 1);
        CHECK_MSG(out && strstr(out, "line 1, column 4: unclosed 'if'") != NULL, "%.*s", (int)n, out ? out : "");
        free(out);
    } else {
        CHECK_MSG(bin != NULL, "LMC_BIN not set");
    }
    remove(gguf_path);
    remove(msgs_path);
    remove("chat_gguf_cli.bad.jinja");
    free(messages);
    cJSON_Delete(cj);
    free(tmpl);
    free(want);
    free(convs);
    return t_done("chat_gguf_cli");
}
