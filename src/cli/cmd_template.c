/* cmd_template.c — `lmc template`: render a chat template for a conversation, byte for
 * byte as transformers' apply_chat_template(..., tokenize=False) would. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char *TEMPLATE_HELP =
    "usage: lmc template (-m MODEL.gguf | --template FILE.jinja) --messages FILE.json [options]\n"
    "\n"
    "Prints the chat template's rendering of a conversation, byte for byte, and nothing else.\n"
    "\n"
    "options:\n"
    "  -m FILE                 take the template (and bos/eos tokens) from a GGUF model\n"
    "  --template FILE         take the template from a Jinja file\n"
    "  --name NAME             with -m: the named template tokenizer.chat_template.NAME\n"
    "  --messages FILE         JSON array of messages ({\"role\", \"content\", ...}); '-' = stdin\n"
    "  --tools FILE            JSON array of tool definitions (default: tools is none)\n"
    "  --add-generation-prompt end with the assistant turn's opening\n"
    "  --var NAME=VALUE        set a template variable; VALUE is JSON if it parses as JSON\n"
    "                          (true, 3, {\"a\": 1}), a string otherwise (<s>)\n"
    "  --now YYYY-MM-DDTHH:MM:SS  the time strftime_now sees (default: the current time)\n"
    "\n"
    "example:\n"
    "  lmc template -m model.gguf --messages chat.json --add-generation-prompt\n"
    "  lmc template --template qwen3.jinja --messages chat.json --var enable_thinking=false\n";

static char *read_all(const char *path, size_t *len) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t k = fread(buf + n, 1, cap - n - 1, f);
        n += k;
        if (n + 1 < cap) break;
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    if (f != stdin) fclose(f);
    if (buf) buf[n] = 0;
    if (len) *len = n;
    return buf;
}

int cmd_template(int argc, char **argv) {
    const char *model = NULL, *tmpl_path = NULL, *messages_path = NULL, *tools_path = NULL, *now = NULL,
               *name = NULL;
    bool agp = false;
    cJSON *vars = cJSON_CreateObject();
    int rc = CLI_OK;
    char *src = NULL, *messages = NULL, *tools = NULL, *vars_json = NULL, *out = NULL;
    lmc_gguf *g = NULL;
    lmc_chat_template *t = NULL;
    if (!vars) return cli_error("out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (cli_is_help(a)) {
            fputs(TEMPLATE_HELP, stdout);
            goto done;
        }
        if (strcmp(a, "-m") == 0 || strcmp(a, "--model") == 0) rc = cli_value("template", argc, argv, &i, &model);
        else if (strcmp(a, "--template") == 0) rc = cli_value("template", argc, argv, &i, &tmpl_path);
        else if (strcmp(a, "--name") == 0) rc = cli_value("template", argc, argv, &i, &name);
        else if (strcmp(a, "--messages") == 0) rc = cli_value("template", argc, argv, &i, &messages_path);
        else if (strcmp(a, "--tools") == 0) rc = cli_value("template", argc, argv, &i, &tools_path);
        else if (strcmp(a, "--now") == 0) rc = cli_value("template", argc, argv, &i, &now);
        else if (strcmp(a, "--add-generation-prompt") == 0) agp = true;
        else if (strcmp(a, "--var") == 0) {
            if ((rc = cli_value("template", argc, argv, &i, &v))) goto done;
            const char *eq = strchr(v, '=');
            if (!eq || eq == v) {
                rc = cli_usage_error("template", "--var wants NAME=VALUE, got '%s'", v);
                goto done;
            }
            char key[256];
            snprintf(key, sizeof key, "%.*s", (int)(eq - v), v);
            cJSON *val = cJSON_Parse(eq + 1);
            if (!val) val = cJSON_CreateString(eq + 1);
            cJSON_DeleteItemFromObject(vars, key);
            cJSON_AddItemToObject(vars, key, val);
        } else {
            rc = cli_usage_error("template", "unknown option '%s'", a);
        }
        if (rc) goto done;
    }
    if (!model == !tmpl_path) {
        rc = cli_usage_error("template", "give exactly one of -m MODEL or --template FILE");
        goto done;
    }
    if (!messages_path) {
        rc = cli_usage_error("template", "--messages FILE is required");
        goto done;
    }
    if (model) {
        if (!(g = lmc_gguf_open_model(model)) || !(t = lmc_chat_template_from_gguf(g, name))) {
            rc = cli_lib_error();
            goto done;
        }
    } else {
        size_t len;
        if (!(src = read_all(tmpl_path, &len))) {
            rc = cli_error("cannot read template '%s'", tmpl_path);
            goto done;
        }
        if (!(t = lmc_chat_template_init(src, len))) {
            rc = cli_lib_error();
            goto done;
        }
    }
    if (!(messages = read_all(messages_path, NULL))) {
        rc = cli_error("cannot read messages '%s'", messages_path);
        goto done;
    }
    if (tools_path && !(tools = read_all(tools_path, NULL))) {
        rc = cli_error("cannot read tools '%s'", tools_path);
        goto done;
    }
    vars_json = cJSON_PrintUnformatted(vars);
    lmc_chat_params p = lmc_chat_default_params();
    p.messages_json = messages;
    p.tools_json = tools;
    p.vars_json = vars_json;
    p.add_generation_prompt = agp;
    p.now = now;
    size_t n;
    if (lmc_chat_render(t, &p, &out, &n) != LMC_OK) {
        rc = cli_lib_error();
        goto done;
    }
    if (fwrite(out, 1, n, stdout) != n || fflush(stdout) != 0) rc = cli_error("cannot write the output");
done:
    free(out);
    free(vars_json);
    free(tools);
    free(messages);
    free(src);
    lmc_chat_template_free(t);
    lmc_gguf_close(g);
    cJSON_Delete(vars);
    return rc;
}
