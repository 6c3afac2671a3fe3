/* chat_batch.c — test helper for the jinja2 differential test: reads JSON lines
 *   {"template": "...", "messages": [...], "tools": [...]|null, "vars": {...},
 *    "add_generation_prompt": bool}
 * from stdin and writes one JSON line per case: {"ok": true, "out": "..."} or
 * {"ok": false, "error": "..."}. One process renders thousands of cases. */
#include "lmc.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    size_t cap = 1 << 20;
    char *line = malloc(cap);
    if (!line) return 1;
    for (;;) {
        size_t n = 0;
        int ch;
        while ((ch = getchar()) != EOF && ch != '\n') {
            if (n + 1 >= cap) {
                char *nl = realloc(line, cap *= 2);
                if (!nl) return 1;
                line = nl;
            }
            line[n++] = (char)ch;
        }
        if (ch == EOF && n == 0) break;
        line[n] = 0;
        cJSON *in = cJSON_Parse(line), *res = cJSON_CreateObject();
        if (!in) {
            fprintf(stderr, "chat_batch: bad input line\n");
            return 1;
        }
        cJSON *tj = cJSON_GetObjectItem(in, "template");
        const char *src = cJSON_GetStringValue(tj);
        lmc_chat_template *t = src ? lmc_chat_template_init(src, strlen(src)) : NULL;
        char *out = NULL;
        size_t out_len = 0;
        int rc = LMC_ERR_FORMAT;
        if (t) {
            char *messages = cJSON_PrintUnformatted(cJSON_GetObjectItem(in, "messages"));
            cJSON *tools = cJSON_GetObjectItem(in, "tools");
            char *tools_s = tools && !cJSON_IsNull(tools) ? cJSON_PrintUnformatted(tools) : NULL;
            cJSON *vars = cJSON_GetObjectItem(in, "vars");
            char *vars_s = vars ? cJSON_PrintUnformatted(vars) : NULL;
            lmc_chat_params p = lmc_chat_default_params();
            p.messages_json = messages;
            p.tools_json = tools_s;
            p.vars_json = vars_s;
            p.add_generation_prompt = cJSON_IsTrue(cJSON_GetObjectItem(in, "add_generation_prompt"));
            p.now = "2024-07-26T00:00:00";
            rc = lmc_chat_render(t, &p, &out, &out_len);
            free(messages);
            free(tools_s);
            free(vars_s);
        }
        cJSON_AddBoolToObject(res, "ok", rc == LMC_OK);
        if (rc == LMC_OK) {
            /* outputs are text without NUL bytes in these tests */
            cJSON_AddStringToObject(res, "out", out);
        } else {
            cJSON_AddStringToObject(res, "error", lmc_last_error());
        }
        char *s = cJSON_PrintUnformatted(res);
        fputs(s, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        free(s);
        free(out);
        lmc_chat_template_free(t);
        cJSON_Delete(in);
        cJSON_Delete(res);
    }
    free(line);
    return 0;
}
