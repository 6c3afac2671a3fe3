/* chat_ref.c — renders the reference chat templates (ref/chat/, produced by Python's
 * jinja2 the way transformers calls it) for every conversation and both values of
 * add_generation_prompt; "ok" rows must match byte for byte, "error" rows must fail
 * (with the template's own raise_exception text where there is one).
 *
 * usage: chat_ref [TEMPLATE_NAME]   (no argument: all templates) */
#include "lmc.h"
#include "test_util.h"

#include <cjson/cJSON.h>

#define CHAT_MIN(a, b) ((a) < (b) ? (a) : (b))

static char g_dir[4096];

static char *ref_path(const char *rel) {
    static char buf[8192];
    snprintf(buf, sizeof buf, "%s/%s", g_dir, rel);
    return buf;
}

/* Undo expected.tsv's escaping (\\ \t \n \r). */
static void unescape(char *s) {
    char *o = s;
    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            s++;
            *o++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s == 'r' ? '\r' : *s;
        } else {
            *o++ = *s;
        }
    }
    *o = 0;
}

int main(int argc, char **argv) {
    const char *only = argc > 1 ? argv[1] : NULL;
    snprintf(g_dir, sizeof g_dir, "%s/ref/chat", t_shared_dir());
    char *tj = t_read_file(ref_path("templates.json"), NULL), *cj = t_read_file(ref_path("conversations.json"), NULL),
         *tsv = t_read_file(ref_path("expected.tsv"), NULL);
    if (!tj || !cj || !tsv) {
        fprintf(stderr, "cannot read %s (templates.json, conversations.json, expected.tsv)\n", g_dir);
        return 1;
    }
    cJSON *templates = cJSON_Parse(tj), *convs = cJSON_Parse(cj);
    CHECK(templates && convs);
    const char *now = cJSON_GetStringValue(cJSON_GetObjectItem(templates, "strftime_now"));
    int rows = 0, ok_rows = 0, err_rows = 0, matched_templates = 0;
    char *save = NULL;
    char *line = strtok_r(tsv, "\n", &save); /* header */
    for (line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[6] = {0};
        char *s2 = NULL, *p = line;
        for (int i = 0; i < 6; i++) {
            f[i] = p;
            char *tab = strchr(p, '\t');
            if (!tab) break;
            *tab = 0;
            p = tab + 1;
        }
        (void)s2;
        if (!f[5]) continue;
        if (only && strcmp(only, f[0]) != 0) continue;
        rows++;
        /* template and its variables */
        char file[512];
        snprintf(file, sizeof file, "%s.jinja", f[0]);
        cJSON *tinfo = NULL, *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(templates, "templates")) {
            if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(it, "file")), file) == 0) tinfo = it;
        }
        CHECK_MSG(tinfo != NULL, "template %s not in templates.json", file);
        if (!tinfo) continue;
        char rel[600];
        snprintf(rel, sizeof rel, "templates/%s", file);
        size_t slen;
        char *src = t_read_file(ref_path(rel), &slen);
        CHECK_MSG(src != NULL, "cannot read %s", rel);
        if (!src) continue;
        lmc_chat_template *t = lmc_chat_template_init(src, slen);
        CHECK_MSG(t != NULL, "%s: %s", file, lmc_last_error());
        free(src);
        if (!t) continue;
        cJSON *conv = NULL;
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(convs, "conversations")) {
            if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(it, "name")), f[1]) == 0) conv = it;
        }
        CHECK_MSG(conv != NULL, "conversation %s missing", f[1]);
        if (!conv) {
            lmc_chat_template_free(t);
            continue;
        }
        char *messages = cJSON_PrintUnformatted(cJSON_GetObjectItem(conv, "messages"));
        cJSON *tools_item = cJSON_GetObjectItem(conv, "tools");
        char *tools = tools_item ? cJSON_PrintUnformatted(tools_item) : NULL;
        char *vars = cJSON_PrintUnformatted(cJSON_GetObjectItem(tinfo, "variables"));
        lmc_chat_params prm = lmc_chat_default_params();
        prm.messages_json = messages;
        prm.tools_json = tools;
        prm.vars_json = vars;
        prm.add_generation_prompt = strcmp(f[2], "true") == 0;
        prm.now = now;
        char *out = NULL;
        size_t out_len = 0;
        int rc = lmc_chat_render(t, &prm, &out, &out_len);
        if (strcmp(f[3], "ok") == 0) {
            ok_rows++;
            size_t elen;
            char *want = t_read_file(ref_path(f[4]), &elen);
            CHECK_MSG(want != NULL, "cannot read %s", f[4]);
            CHECK_MSG(rc == LMC_OK, "%s %s %s: render failed: %s", f[0], f[1], f[2], lmc_last_error());
            if (rc == LMC_OK && want) {
                bool same = out_len == elen && memcmp(out, want, elen) == 0;
                if (!same) {
                    size_t k = 0;
                    while (k < out_len && k < elen && out[k] == want[k]) k++;
                    size_t from = k > 60 ? k - 60 : 0;
                    fprintf(stderr, "--- %s: first difference at byte %zu (got %zu bytes, want %zu)\n", f[4], k,
                            out_len, elen);
                    fprintf(stderr, "got : [%.*s]\nwant: [%.*s]\n", (int)(CHAT_MIN(out_len, k + 60) - from),
                            out + from, (int)(CHAT_MIN(elen, k + 60) - from), want + from);
                }
                CHECK_MSG(same, "%s differs", f[4]);
            }
            free(want);
        } else {
            err_rows++;
            CHECK_MSG(rc != LMC_OK, "%s %s %s: rendered but the reference fails (%s)", f[0], f[1], f[2], f[4]);
            unescape(f[4]);
            if (rc != LMC_OK && strncmp(f[4], "TemplateError: ", 15) == 0)
                CHECK_MSG(strstr(lmc_last_error(), f[4] + 15) != NULL, "error '%s' lacks '%s'", lmc_last_error(),
                          f[4] + 15);
            if (rc != LMC_OK) fprintf(stderr, "  (expected error) %s %s %s: %s\n", f[0], f[1], f[2], lmc_last_error());
        }
        matched_templates++;
        free(out);
        free(messages);
        free(tools);
        free(vars);
        lmc_chat_template_free(t);
    }
    CHECK_MSG(rows > 0, "no rows for template '%s'", only ? only : "(all)");
    fprintf(stderr, "%s: %d rows (%d ok, %d error)\n", only ? only : "all templates", rows, ok_rows, err_rows);
    cJSON_Delete(templates);
    cJSON_Delete(convs);
    free(tj);
    free(cj);
    free(tsv);
    return t_done("chat_ref");
}
