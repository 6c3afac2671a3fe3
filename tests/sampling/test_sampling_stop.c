/* test_sampling_stop.c — stop conditions: stop strings split across tokens are
 * found and never shown, text that only looked like a stop string is shown, EOG
 * tokens and the token budget end generation; and a randomized comparison with a
 * naive oracle (the shown text must be the full text cut at the first occurrence
 * of a stop string, found with strstr on the text so far after each token). */
#include "lmc.h"
#include "test_util.h"

typedef struct {
    char text[4096];
    size_t len;
} sink;

static lmc_stop_reason feed(lmc_stop *s, sink *o, int32_t tok, const char *piece) {
    const char *out;
    size_t n;
    lmc_stop_reason r = lmc_stop_push(s, tok, piece, strlen(piece), &out, &n);
    memcpy(o->text + o->len, out, n);
    o->len += n;
    o->text[o->len] = 0;
    return r;
}

static void finish(lmc_stop *s, sink *o) {
    const char *out;
    size_t n;
    lmc_stop_flush(s, &out, &n);
    memcpy(o->text + o->len, out, n);
    o->len += n;
    o->text[o->len] = 0;
}

static void test_split(void) {
    const char *stops[] = {"</s>", "\nUser:"};
    lmc_stop *s = lmc_stop_init(stops, 2, 0);
    sink o = {0};
    CHECK(feed(s, &o, 10, "Hello") == LMC_STOP_NONE);
    CHECK_STR(o.text, "Hello");
    CHECK(feed(s, &o, 11, " wor") == LMC_STOP_NONE);
    CHECK(feed(s, &o, 12, "ld\nUs") == LMC_STOP_NONE);
    CHECK_STR(o.text, "Hello world"); /* "\nUs" is held back */
    CHECK(feed(s, &o, 13, "er: hi") == LMC_STOP_STRING);
    CHECK_STR(o.text, "Hello world");
    finish(s, &o);
    CHECK_STR(o.text, "Hello world"); /* nothing after a stop string */
    CHECK(feed(s, &o, 14, "more") == LMC_STOP_STRING); /* stays stopped */
    CHECK_EQ_INT(lmc_stop_n_tokens(s), 4);
    lmc_stop_free(s);

    /* it only looked like one */
    s = lmc_stop_init(stops, 2, 0);
    o = (sink){0};
    CHECK(feed(s, &o, 1, "a\nUs") == LMC_STOP_NONE);
    CHECK_STR(o.text, "a");
    CHECK(feed(s, &o, 2, "ually <") == LMC_STOP_NONE);
    CHECK_STR(o.text, "a\nUsually "); /* "<" could start "</s>" */
    CHECK(feed(s, &o, 3, "3") == LMC_STOP_NONE);
    CHECK_STR(o.text, "a\nUsually <3");
    lmc_stop_free(s);

    /* inside one token, with text on both sides */
    s = lmc_stop_init(stops, 2, 0);
    o = (sink){0};
    CHECK(feed(s, &o, 1, "abc</s>def") == LMC_STOP_STRING);
    CHECK_STR(o.text, "abc");
    lmc_stop_free(s);

    /* one byte per token */
    s = lmc_stop_init(stops, 2, 0);
    o = (sink){0};
    const char *t = "x</s";
    for (const char *p = t; *p; p++) {
        char b[2] = {*p, 0};
        CHECK(feed(s, &o, 1, b) == LMC_STOP_NONE);
    }
    CHECK_STR(o.text, "x");
    CHECK(feed(s, &o, 1, ">") == LMC_STOP_STRING);
    CHECK_STR(o.text, "x");
    lmc_stop_free(s);
}

static void test_overlaps(void) {
    const char *st1[] = {"bc", "ab"};
    lmc_stop *s = lmc_stop_init(st1, 2, 0);
    sink o = {0};
    CHECK(feed(s, &o, 1, "xa") == LMC_STOP_NONE);
    CHECK(feed(s, &o, 1, "bc") == LMC_STOP_STRING);
    CHECK_STR(o.text, "x"); /* "ab" starts first */
    lmc_stop_free(s);

    const char *st2[] = {"aab"};
    s = lmc_stop_init(st2, 1, 0);
    o = (sink){0};
    CHECK(feed(s, &o, 1, "a") == LMC_STOP_NONE);
    CHECK(feed(s, &o, 1, "a") == LMC_STOP_NONE);
    CHECK(feed(s, &o, 1, "a") == LMC_STOP_NONE);
    CHECK_STR(o.text, "a");
    CHECK(feed(s, &o, 1, "b") == LMC_STOP_STRING);
    CHECK_STR(o.text, "a");
    lmc_stop_free(s);
}

static void test_eog_and_budget(void) {
    const char *stops[] = {"###"};
    lmc_stop *s = lmc_stop_init(stops, 1, 0);
    CHECK(lmc_stop_add_eog(s, 2) == LMC_OK);
    CHECK(lmc_stop_add_eog(s, 7) == LMC_OK);
    sink o = {0};
    CHECK(feed(s, &o, 5, "ok #") == LMC_STOP_NONE);
    CHECK_STR(o.text, "ok ");
    CHECK(feed(s, &o, 7, "<|im_end|>") == LMC_STOP_EOG);
    CHECK_STR(o.text, "ok #"); /* held-back text released, EOG text not shown */
    lmc_stop_free(s);

    s = lmc_stop_init(stops, 1, 3);
    o = (sink){0};
    CHECK(feed(s, &o, 1, "a") == LMC_STOP_NONE);
    CHECK(feed(s, &o, 1, "b#") == LMC_STOP_NONE);
    CHECK(feed(s, &o, 1, "#") == LMC_STOP_MAX_TOKENS);
    CHECK_STR(o.text, "ab##"); /* budget spent: everything shown */
    CHECK_EQ_INT(lmc_stop_n_tokens(s), 3);
    lmc_stop_free(s);

    /* no stop strings, no budget: flush shows all */
    s = lmc_stop_init(NULL, 0, 0);
    o = (sink){0};
    CHECK(feed(s, &o, 1, "abc") == LMC_STOP_NONE);
    finish(s, &o);
    CHECK_STR(o.text, "abc");
    lmc_stop_free(s);

    const char *empty[] = {"ok", ""};
    CHECK(lmc_stop_init(empty, 2, 0) == NULL && strstr(lmc_last_error(), "empty"));
    CHECK_STR(lmc_stop_reason_name(LMC_STOP_STRING), "stop string");
}

static void test_random(void) {
    lmc_rng r;
    lmc_rng_seed(&r, 11);
    int bad = 0;
    for (int round = 0; round < 3000; round++) {
        char text[64], stop_buf[3][8];
        const char *stops[3];
        const int n_stops = 1 + (int)(lmc_rng_u64(&r) % 3);
        for (int k = 0; k < n_stops; k++) {
            int L = 1 + (int)(lmc_rng_u64(&r) % 4);
            for (int j = 0; j < L; j++) stop_buf[k][j] = (char)('a' + lmc_rng_u64(&r) % 3);
            stop_buf[k][L] = 0;
            stops[k] = stop_buf[k];
        }
        const int T = 1 + (int)(lmc_rng_u64(&r) % 40);
        for (int j = 0; j < T; j++) text[j] = (char)('a' + lmc_rng_u64(&r) % 3);
        text[T] = 0;
        /* split into pieces first: generation stops at the first piece after which
         * the text so far contains a stop string, cut at its first occurrence */
        int ends[64], n_pieces = 0, cut = T, stop_piece = -1;
        for (int j = 0; j < T;) {
            int L = 1 + (int)(lmc_rng_u64(&r) % 5);
            j = j + L > T ? T : j + L;
            ends[n_pieces++] = j;
        }
        for (int q = 0; q < n_pieces && stop_piece < 0; q++) {
            char so_far[64];
            memcpy(so_far, text, (size_t)ends[q]);
            so_far[ends[q]] = 0;
            for (int k = 0; k < n_stops; k++) {
                const char *f = strstr(so_far, stops[k]);
                if (f && f - so_far < cut) cut = (int)(f - so_far), stop_piece = q;
            }
        }
        lmc_stop *s = lmc_stop_init(stops, (size_t)n_stops, 0);
        sink o = {0};
        lmc_stop_reason last = LMC_STOP_NONE;
        for (int q = 0, j = 0; q < n_pieces && last == LMC_STOP_NONE; q++) {
            char piece[8];
            memcpy(piece, text + j, (size_t)(ends[q] - j));
            piece[ends[q] - j] = 0;
            last = feed(s, &o, 1, piece);
            j = ends[q];
            /* what is shown is always a prefix of the final answer */
            if (o.len > (size_t)cut || memcmp(o.text, text, o.len) != 0) bad++;
            if ((last == LMC_STOP_STRING) != (q == stop_piece)) bad++;
        }
        if (last == LMC_STOP_NONE) finish(s, &o);
        if ((cut < T) != (last == LMC_STOP_STRING) || o.len != (size_t)cut || memcmp(o.text, text, (size_t)cut)) {
            if (bad < 5) fprintf(stderr, "text %s stops %s,%s,%s (%d) cut %d got '%s' reason %d\n", text, stops[0], n_stops > 1 ? stops[1] : "", n_stops > 2 ? stops[2] : "", n_stops, cut, o.text, last);
            bad++;
        }
        lmc_stop_free(s);
    }
    CHECK_MSG(bad == 0, "%d random cases disagree with the oracle", bad);
}

int main(void) {
    test_split();
    test_overlaps();
    test_eog_and_budget();
    test_random();
    return t_done("test_sampling_stop");
}
