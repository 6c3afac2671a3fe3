/* chat_bad.c — bad templates and inputs give clear errors (naming the construct, with
 * line and column) and bounded work, never a crash: syntax errors, unknown filters and
 * tags, runaway recursion and loops, huge outputs, bad JSON. */
#include "lmc.h"
#include "test_util.h"

static const char *MSGS = "[{\"role\": \"user\", \"content\": \"hi\"}]";

/* Parses (and renders) src; returns the status, with the error text in err. */
static int run(const char *src, size_t max_output, char *err, size_t cap) {
    lmc_chat_template *t = lmc_chat_template_init(src, strlen(src));
    if (!t) {
        snprintf(err, cap, "%s", lmc_last_error());
        return LMC_ERR_FORMAT;
    }
    lmc_chat_params p = lmc_chat_default_params();
    p.messages_json = MSGS;
    p.max_output = max_output;
    char *out = NULL;
    int rc = lmc_chat_render(t, &p, &out, NULL);
    snprintf(err, cap, "%s", rc == LMC_OK ? (out ? out : "") : lmc_last_error());
    free(out);
    lmc_chat_template_free(t);
    return rc;
}

#define EXPECT_ERR(src, want)                                                              \
    do {                                                                                   \
        char e_[1024];                                                                     \
        int rc_ = run(src, 0, e_, sizeof e_);                                              \
        CHECK_MSG(rc_ != LMC_OK, "%s: rendered, want error containing '%s'", #src, want); \
        CHECK_MSG(strstr(e_, want) != NULL, "%s: error '%s' lacks '%s'", #src, e_, want);  \
    } while (0)

int main(void) {
    /* syntax errors name the problem and where */
    EXPECT_ERR("hello\n{% if x %}", "line 2, column 4: unclosed 'if'");
    EXPECT_ERR("ab {{ x ", "line 1, column 4: unterminated '{{' tag");
    EXPECT_ERR("{% for x in y %}", "expected '{% endfor %}'");
    EXPECT_ERR("x\n\n  {% endif %}", "line 3, column 6: unexpected 'endif'");
    EXPECT_ERR("{# never closed", "unterminated comment");
    EXPECT_ERR("{% raw %} no end", "unterminated 'raw' block");
    EXPECT_ERR("{{ 'abc }}", "unterminated string literal");
    EXPECT_ERR("{% foo %}", "unknown tag 'foo'");
    EXPECT_ERR("{% include 'x.jinja' %}", "unsupported tag 'include'");
    EXPECT_ERR("{% break %}", "'break' outside a for loop");
    EXPECT_ERR("{{ x + }}", "line 1, column 8: unexpected '}}'");
    EXPECT_ERR("{{ a b }}", "expected '}}'");
    EXPECT_ERR("{{ x $ y }}", "unexpected character '$'");
    /* runtime errors name the construct and where */
    EXPECT_ERR("\n  {{ messages|nosuchfilter }}", "line 2, column 15: unknown filter 'nosuchfilter'");
    EXPECT_ERR("{{ 1 is nosuchtest }}", "unknown test 'nosuchtest'");
    EXPECT_ERR("{{ raise_exception('Only user and assistant roles') }}", "Only user and assistant roles");
    EXPECT_ERR("{{ undefined_thing.attr }}", "'undefined_thing' is undefined");
    EXPECT_ERR("{{ 'a' + 1 }}", "can only concatenate str");
    EXPECT_ERR("{% for x in none %}{% endfor %}", "'NoneType' object is not iterable");
    EXPECT_ERR("{{ 1 // 0 }}", "division or modulo by zero");
    /* bounded work */
    EXPECT_ERR("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "nested too deeply");
    EXPECT_ERR("{% for i in range(10**6) %}{% endfor %}", "Range too big");
    EXPECT_ERR("{% set r = range(99999) %}{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}", "ran too long");
    EXPECT_ERR("{{ 'x' * 1000000000000 }}", "repetition too large");
    EXPECT_ERR("{% set ns = namespace(s='xxxxxxxxxxxxxxxx') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
               "too long");
    {
        char deep[16384];
        size_t k = 0;
        k += (size_t)snprintf(deep + k, sizeof deep - k, "{{ ");
        for (int i = 0; i < 3000; i++) deep[k++] = '(';
        deep[k++] = '1';
        for (int i = 0; i < 3000; i++) deep[k++] = ')';
        k += (size_t)snprintf(deep + k, sizeof deep - k, " }}");
        EXPECT_ERR(deep, "nested too deeply");
        k = 0;
        for (int i = 0; i < 1000; i++) k += (size_t)snprintf(deep + k, sizeof deep - k, "{%% if x %%}");
        EXPECT_ERR(deep, "nested too deeply");
    }
    {
        char e[1024];
        int rc = run("{% for i in range(1000) %}0123456789{% endfor %}", 5000, e, sizeof e);
        CHECK_EQ_INT(rc, LMC_ERR_LIMIT);
        CHECK_MSG(strstr(e, "longer than 5000 bytes") != NULL, "%s", e);
    }
    /* bad JSON input */
    {
        lmc_chat_template *t = lmc_chat_template_init("{{ messages }}", 14);
        CHECK(t != NULL);
        lmc_chat_params p = lmc_chat_default_params();
        char *out = NULL;
        p.messages_json = "[{\"role\": \"user\",\n \"content\": }]";
        CHECK_EQ_INT(lmc_chat_render(t, &p, &out, NULL), LMC_ERR_INVALID_ARG);
        CHECK_MSG(strstr(lmc_last_error(), "JSON line 2, column 13") != NULL, "%s", lmc_last_error());
        p.messages_json = "{\"role\": \"user\"}";
        CHECK_EQ_INT(lmc_chat_render(t, &p, &out, NULL), LMC_ERR_INVALID_ARG);
        p.messages_json = MSGS;
        p.vars_json = "[1]";
        CHECK_EQ_INT(lmc_chat_render(t, &p, &out, NULL), LMC_ERR_INVALID_ARG);
        CHECK(out == NULL);
        p.vars_json = NULL;
        CHECK_EQ_INT(lmc_chat_render(t, &p, &out, NULL), LMC_OK);
        CHECK_STR(out, "[{'role': 'user', 'content': 'hi'}]");
        free(out);
        lmc_chat_template_free(t);
    }
    /* a template that does not parse leaves no object behind; NULL is a no-op to free */
    lmc_chat_template_free(NULL);
    CHECK(lmc_chat_template_init(NULL, 0) == NULL);
    return t_done("chat_bad");
}
