/* test_jsonutil.c - body parsing limits and declarative object validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "jsonutil.h"

static const struct json_field fields[] = {
    {"name", JK_STRING, true, 10},       {"enabled", JK_BOOL, false, 0},
    {"count", JK_INTEGER, false, 0},     {"amount", JK_NUMBER, false, 0},
    {"tags", JK_STRING_ARRAY, false, 3},
};
#define NF (sizeof fields / sizeof fields[0])

static json_t *parse(const char *s)
{
    char err[256];
    return json_parse_body(s, strlen(s), err, sizeof err);
}

static void check(const char *body, bool expect_ok, const char *expect_field)
{
    json_t *v = parse(body);
    assert_non_null(v);
    const char *field = NULL, *problem = NULL;
    bool ok = json_check_object(v, fields, NF, false, &field, &problem);
    assert_int_equal(ok, expect_ok);
    if (!expect_ok) {
        assert_non_null(problem);
        if (expect_field)
            assert_string_equal(field, expect_field);
        else
            assert_null(field);
    }
    json_decref(v);
}

static void valid_objects_pass(void **state)
{
    (void)state;
    check("{\"name\":\"a\"}", true, NULL);
    check("{\"name\":\"a\",\"enabled\":false,\"count\":3,\"amount\":1.5,\"tags\":[\"x\"]}", true,
          NULL);
    check("{\"name\":\"a\",\"amount\":2}", true, NULL);
    check("{\"name\":\"a\",\"enabled\":null}", true, NULL);
}

static void each_problem_names_its_field(void **state)
{
    (void)state;
    check("{}", false, "name");
    check("{\"name\":null}", false, "name");
    check("{\"name\":5}", false, "name");
    check("{\"name\":\"01234567890\"}", false, "name");
    check("{\"name\":\"a\",\"enabled\":\"yes\"}", false, "enabled");
    check("{\"name\":\"a\",\"count\":1.5}", false, "count");
    check("{\"name\":\"a\",\"amount\":\"1\"}", false, "amount");
    check("{\"name\":\"a\",\"tags\":[1]}", false, "tags");
    check("{\"name\":\"a\",\"tags\":[\"a\",\"b\",\"c\",\"d\"]}", false, "tags");
    check("{\"name\":\"a\",\"extra\":1}", false, "extra");
    check("[1,2]", false, NULL);
}

static void hostile_bodies_are_refused_not_crashed(void **state)
{
    (void)state;
    char err[256];
    assert_null(json_parse_body("", 0, err, sizeof err));
    assert_null(parse("{"));
    assert_null(parse("{\"a\":1}{\"b\":2}"));
    assert_null(parse("{\"a\":\"\\u0000\"}"));
    assert_null(parse("{\"a\":1,\"a\":2}"));
    assert_null(json_parse_body("{\"a\":\"\xff\xfe\"}", 12, err, sizeof err));
    assert_null(json_parse_body("{\"a\":1}\0", 8, err, sizeof err));
    /* nesting 10,000 deep */
    size_t depth = 10000;
    char *deep = xmalloc(depth * 2 + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[depth * 2] = '\0';
    assert_null(json_parse_body(deep, depth * 2, err, sizeof err));
    assert_non_null(strstr(err, "depth"));
    free(deep);
}

static void dump_escapes_non_ascii(void **state)
{
    (void)state;
    json_t *v = json_pack("{s:s}", "name",
                          "Panader\xc3\xad"
                          "a");
    char *s = json_dump_compact(v);
    assert_string_equal(s, "{\"name\":\"Panader\\u00EDa\"}");
    free(s);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_objects_pass),
        cmocka_unit_test(each_problem_names_its_field),
        cmocka_unit_test(hostile_bodies_are_refused_not_crashed),
        cmocka_unit_test(dump_escapes_non_ascii),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
