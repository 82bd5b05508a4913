/* test_graph_errors.c - the classification of Graph answers as a table of cases, the
 * reading of Meta's bodies, and the retry delays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "graph/errors.h"

struct answer_case {
    long status;
    const char *body;
    enum graph_class cls;
    long code;
    const char *wamid;   /* GRAPH_SENT */
    const char *message; /* failures: a substring of the kept message */
};

#define META_ERROR(code, msg, details)                                                             \
    "{\"error\":{\"message\":\"" msg "\",\"type\":\"OAuthException\",\"code\":" #code              \
    ",\"error_data\":{\"messaging_product\":\"whatsapp\",\"details\":\"" details                   \
    "\"},\"fbtrace_id\":\"Az8or2yhqkZfEZ-_4Qn_Bam\"}}"

static const struct answer_case answers[] = {
    /* accepted */
    {200,
     "{\"messaging_product\":\"whatsapp\",\"contacts\":[{\"input\":\"+34612345678\",\"wa_id\":"
     "\"34612345678\"}],\"messages\":[{\"id\":\"wamid.HBgLMzQ2MTIzNDU2NzgVAgARGBI\","
     "\"message_status\":\"accepted\"}]}",
     GRAPH_SENT, GRAPH_NO_CODE, "wamid.HBgLMzQ2MTIzNDU2NzgVAgARGBI", NULL},
    {200,
     "{\"messages\":[{\"id\":\"wamid.X\",\"message_status\":\"held_for_quality_assessment\"}]}",
     GRAPH_SENT, GRAPH_NO_CODE, "wamid.X", NULL},
    /* 200 means accepted even when the body cannot be read: never resend it */
    {200, "not json", GRAPH_SENT, GRAPH_NO_CODE, "", NULL},
    {200, NULL, GRAPH_SENT, GRAPH_NO_CODE, "", NULL},
    {201, "{\"messages\":[]}", GRAPH_SENT, GRAPH_NO_CODE, "", NULL},
    /* token errors, whatever the HTTP status */
    {401, META_ERROR(190, "Error validating access token: Session has expired", "expired"),
     GRAPH_PAUSE, 190, NULL, "Session has expired: expired"},
    {400, META_ERROR(190, "(#190) Access token has expired", "Access token has expired"),
     GRAPH_PAUSE, 190, NULL, "(#190) Access token has expired"},
    {401, META_ERROR(0, "(#0) AuthException", "We were unable to authenticate the app user."),
     GRAPH_PAUSE, 0, NULL, "(#0) AuthException"},
    /* transient by code: Meta's statuses and graph-sim's all-400 style alike */
    {429,
     META_ERROR(130429, "(#130429) Rate limit hit",
                "Cloud API message throughput has been reached."),
     GRAPH_TRANSIENT, 130429, NULL, "(#130429) Rate limit hit: Cloud API"},
    {400, META_ERROR(130429, "(#130429) Rate limit hit", "x"), GRAPH_TRANSIENT, 130429, NULL, NULL},
    {400, META_ERROR(131056, "(#131056) pair rate limit hit", "x"), GRAPH_TRANSIENT, 131056, NULL,
     NULL},
    {400, META_ERROR(1, "(#1) API Unknown", "x"), GRAPH_TRANSIENT, 1, NULL, NULL},
    {503, META_ERROR(2, "(#2) API Service", "x"), GRAPH_TRANSIENT, 2, NULL, NULL},
    {400, META_ERROR(4, "(#4) Application request limit reached", "x"), GRAPH_TRANSIENT, 4, NULL,
     NULL},
    {400, META_ERROR(80007, "(#80007) Rate limit issues", "x"), GRAPH_TRANSIENT, 80007, NULL, NULL},
    {500, META_ERROR(131000, "(#131000) Something went wrong", "x"), GRAPH_TRANSIENT, 131000, NULL,
     NULL},
    {503, META_ERROR(131016, "(#131016) Service unavailable", "x"), GRAPH_TRANSIENT, 131016, NULL,
     NULL},
    /* one number, one template language: held, not failed (issue 18) */
    {400, META_ERROR(131057, "(#131057) Account in maintenance mode", "x"), GRAPH_HOLD, 131057,
     NULL, NULL},
    {400, META_ERROR(132015, "(#132015) Template is paused", "x"), GRAPH_HOLD, 132015, NULL, NULL},
    /* permanent by code, even on a 5xx */
    {404,
     META_ERROR(132001, "(#132001) Template name does not exist in the translation",
                "template po_notification does not exist in fr"),
     GRAPH_PERMANENT, 132001, NULL,
     "(#132001) Template name does not exist in the translation: template po_notification"},
    {400, META_ERROR(132000, "(#132000) Number of parameters does not match", "x"), GRAPH_PERMANENT,
     132000, NULL, NULL},
    {400, META_ERROR(100, "(#100) Invalid parameter", "Invalid parameter"), GRAPH_PERMANENT, 100,
     NULL, "(#100) Invalid parameter"},
    {500, META_ERROR(131026, "(#131026) Message undeliverable", "x"), GRAPH_PERMANENT, 131026, NULL,
     NULL},
    /* the account cannot send: every bakery at once, so it pauses, whatever the status */
    {403, META_ERROR(368, "(#368) Temporarily blocked", "x"), GRAPH_PAUSE, 368, NULL, NULL},
    {429, META_ERROR(131048, "(#131048) Spam rate limit hit", "x"), GRAPH_PAUSE, 131048, NULL,
     NULL},
    {402, META_ERROR(131042, "(#131042) Business eligibility payment issue", "x"), GRAPH_PAUSE,
     131042, NULL, NULL},
    /* unknown codes go by the HTTP status */
    {400, META_ERROR(999999, "(#999999) Something new", "x"), GRAPH_PERMANENT, 999999, NULL,
     "(#999999) Something new"},
    {503, META_ERROR(999999, "(#999999) Something new", "x"), GRAPH_TRANSIENT, 999999, NULL, NULL},
    {429, META_ERROR(999999, "(#999999) Something new", "x"), GRAPH_TRANSIENT, 999999, NULL, NULL},
    {200, META_ERROR(999999, "(#999999) Something new", "x"), GRAPH_PERMANENT, 999999, NULL, NULL},
    /* no error object: the status decides */
    {500, NULL, GRAPH_TRANSIENT, GRAPH_NO_CODE, NULL, "HTTP 500 from the Graph API"},
    {502, "<html>Bad Gateway</html>", GRAPH_TRANSIENT, GRAPH_NO_CODE, NULL, "HTTP 502"},
    {503, "{}", GRAPH_TRANSIENT, GRAPH_NO_CODE, NULL, "HTTP 503"},
    {429, "", GRAPH_TRANSIENT, GRAPH_NO_CODE, NULL, NULL},
    {408, NULL, GRAPH_TRANSIENT, GRAPH_NO_CODE, NULL, NULL},
    {404, "<html>Not Found</html>", GRAPH_PERMANENT, GRAPH_NO_CODE, NULL, "HTTP 404"},
    {401, NULL, GRAPH_PERMANENT, GRAPH_NO_CODE, NULL, NULL},
    /* malformed error objects never crash and never invent a code */
    {400, "{\"error\":\"text\"}", GRAPH_PERMANENT, GRAPH_NO_CODE, NULL, "HTTP 400"},
    {400, "{\"error\":{\"code\":\"190\"}}", GRAPH_PERMANENT, GRAPH_NO_CODE, NULL,
     "Graph API error"},
    {503, "{\"error\":{\"code\":-5,\"message\":\"odd\"}}", GRAPH_TRANSIENT, GRAPH_NO_CODE, NULL,
     "odd"},
    {400, "{\"error\":{\"code\":130429,\"message\":\"m\",\"error_data\":{\"details\":7}}}",
     GRAPH_TRANSIENT, 130429, NULL, "m"},
    {400, "[1,2]", GRAPH_PERMANENT, GRAPH_NO_CODE, NULL, NULL},
};

static void answers_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
        const struct answer_case *c = &answers[i];
        struct graph_outcome o;
        graph_parse_answer(c->status, c->body, c->body ? strlen(c->body) : 0, &o);
        if (o.cls != c->cls || o.code != c->code)
            fail_msg("case %zu (%ld %s): class %d code %ld, want class %d code %ld", i, c->status,
                     c->body ? c->body : "(none)", o.cls, o.code, c->cls, c->code);
        if (c->wamid)
            assert_string_equal(o.wamid, c->wamid);
        if (c->message && !strstr(o.message, c->message))
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, o.message, c->message);
        if (o.cls != GRAPH_SENT)
            assert_true(strlen(o.message) > 0);
    }
}

static void design_lists_classify_as_written(void **state)
{
    (void)state;
    static const long transient[] = {1, 2, 4, 80007, 130429, 131000, 131016, 131056};
    static const long permanent[] = {100,    131008, 131009, 131021, 131026, 131045, 131051,
                                     132000, 132001, 132005, 132007, 132012, 133010};
    static const long held[] = {131057, 132015, 132016};
    static const long account[] = {0, 190, 368, 131031, 131042, 131048, 131064, 130497};
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++) {
        assert_int_equal(graph_classify(400, transient[i]), GRAPH_TRANSIENT);
        assert_int_equal(graph_classify(503, transient[i]), GRAPH_TRANSIENT);
    }
    for (size_t i = 0; i < sizeof permanent / sizeof permanent[0]; i++) {
        assert_int_equal(graph_classify(400, permanent[i]), GRAPH_PERMANENT);
        assert_int_equal(graph_classify(500, permanent[i]), GRAPH_PERMANENT);
    }
    for (size_t i = 0; i < sizeof account / sizeof account[0]; i++) {
        assert_int_equal(graph_classify(400, account[i]), GRAPH_PAUSE);
        assert_int_equal(graph_classify(403, account[i]), GRAPH_PAUSE);
    }
    for (size_t i = 0; i < sizeof held / sizeof held[0]; i++) {
        assert_int_equal(graph_classify(400, held[i]), GRAPH_HOLD);
        assert_int_equal(graph_classify(503, held[i]), GRAPH_HOLD);
    }
    /* a token error pauses whatever the HTTP status Meta gives it */
    assert_int_equal(graph_classify(401, 190), GRAPH_PAUSE);
    assert_int_equal(graph_classify(400, 0), GRAPH_PAUSE);
    assert_int_equal(graph_classify(401, 0), GRAPH_PAUSE);
    assert_int_equal(graph_classify(200, GRAPH_NO_CODE), GRAPH_SENT);
    assert_int_equal(graph_classify(504, GRAPH_NO_CODE), GRAPH_TRANSIENT);
}

static void long_answers_are_cut_not_overrun(void **state)
{
    (void)state;
    char body[4096];
    char big[3000];
    memset(big, 'w', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    snprintf(body, sizeof body, "{\"messages\":[{\"id\":\"%s\"}]}", big);
    struct graph_outcome o;
    graph_parse_answer(200, body, strlen(body), &o);
    assert_int_equal(o.cls, GRAPH_SENT);
    assert_string_equal(o.wamid, ""); /* never a truncated wamid */
    snprintf(body, sizeof body, "{\"error\":{\"code\":100,\"message\":\"%s\"}}", big);
    graph_parse_answer(400, body, strlen(body), &o);
    assert_int_equal(o.cls, GRAPH_PERMANENT);
    assert_int_equal(strlen(o.message), GRAPH_MESSAGE_MAX - 1);
    /* The body need not be NUL-terminated. */
    const char *two = "{\"messages\":[{\"id\":\"wamid.A\"}]}{\"messages\":[{\"id\":\"wamid.B\"}]}";
    graph_parse_answer(200, two, strlen(two) / 2, &o);
    assert_string_equal(o.wamid, "wamid.A");
}

static void transport_failures_are_transient(void **state)
{
    (void)state;
    struct graph_outcome o;
    graph_transport_failure("Connection refused", &o);
    assert_int_equal(o.cls, GRAPH_TRANSIENT);
    assert_int_equal(o.code, GRAPH_NO_CODE);
    assert_string_equal(o.message, "no answer from the Graph API: Connection refused");
    graph_transport_failure(NULL, &o);
    assert_non_null(strstr(o.message, "unknown"));
}

static void backoff_doubles_with_full_jitter_and_caps(void **state)
{
    (void)state;
    /* The largest random value reaches the cap of each attempt exactly. */
    const uint64_t top = UINT64_MAX;
    assert_int_equal(graph_retry_delay_ms(130429, 1, 1000, 300000, 1000), 1000);
    assert_int_equal(graph_retry_delay_ms(130429, 2, 1000, 300000, 2000), 2000);
    assert_int_equal(graph_retry_delay_ms(130429, 3, 1000, 300000, 4000), 4000);
    assert_int_equal(graph_retry_delay_ms(2, 9, 1000, 300000, 256000), 256000);
    assert_int_equal(graph_retry_delay_ms(2, 10, 1000, 300000, 300000), 300000);
    assert_int_equal(graph_retry_delay_ms(2, 1000, 1000, 300000, 300000), 300000);
    assert_true(graph_retry_delay_ms(2, 1000, 1000, 300000, top) <= 300000);
    /* Full jitter: anything from 0 up to the cap. */
    assert_int_equal(graph_retry_delay_ms(2, 5, 1000, 300000, 0), 0);
    for (uint64_t r = 0; r < 100000; r += 997)
        assert_true(graph_retry_delay_ms(2, 4, 100, 60000, r * 7919) <= 800);
    /* Nonsense bounds are clamped. */
    assert_true(graph_retry_delay_ms(2, 0, 0, 0, top) <= 1);
}

static void pair_limit_waits_four_to_the_n_seconds(void **state)
{
    (void)state;
    assert_int_equal(graph_retry_delay_ms(131056, 1, 1000, 300000, 0), 4000);
    assert_int_equal(graph_retry_delay_ms(131056, 2, 1000, 300000, 12345), 16000);
    assert_int_equal(graph_retry_delay_ms(131056, 3, 1000, 300000, 0), 64000);
    assert_int_equal(graph_retry_delay_ms(131056, 4, 1000, 300000, 0), 256000);
    assert_int_equal(graph_retry_delay_ms(131056, 5, 1000, 300000, 0), 300000);
    assert_int_equal(graph_retry_delay_ms(131056, 60, 1000, 300000, 0), 300000);
    assert_int_equal(graph_retry_delay_ms(131056, 1, 10, 200, 0), 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answers_table),
        cmocka_unit_test(design_lists_classify_as_written),
        cmocka_unit_test(long_answers_are_cut_not_overrun),
        cmocka_unit_test(transport_failures_are_transient),
        cmocka_unit_test(backoff_doubles_with_full_jitter_and_caps),
        cmocka_unit_test(pair_limit_waits_four_to_the_n_seconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
