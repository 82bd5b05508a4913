/* test_route.c - route pattern matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "route.h"

static void literal_routes_match_exactly(void **state)
{
    (void)state;
    assert_true(route_match("/health", "/health", NULL));
    assert_false(route_match("/health", "/health/", NULL));
    assert_false(route_match("/health", "/healthz", NULL));
    assert_false(route_match("/health", "/", NULL));
    assert_false(route_match("/health", "", NULL));
}

static void parameters_capture_one_segment(void **state)
{
    (void)state;
    struct route_params p;
    assert_true(route_match("/api/v1/tenants/{id}/settings/notifications",
                            "/api/v1/tenants/abc-123/settings/notifications", &p));
    assert_int_equal(p.count, 1);
    assert_int_equal(p.p[0].name_len, 2);
    assert_memory_equal(p.p[0].name, "id", 2);
    assert_int_equal(p.p[0].value_len, 7);
    assert_memory_equal(p.p[0].value, "abc-123", 7);
}

static void parameters_never_empty_nor_span_segments(void **state)
{
    (void)state;
    assert_false(route_match("/t/{id}/x", "/t//x", NULL));
    assert_false(route_match("/t/{id}/x", "/t/a/b/x", NULL));
    assert_false(route_match("/t/{id}", "/t/", NULL));
    assert_false(route_match("/t/{id}", "/t/a/", NULL));
}

static void several_parameters(void **state)
{
    (void)state;
    struct route_params p;
    assert_true(route_match("/{v}/{phone}/messages", "/v18.0/1234/messages", &p));
    assert_int_equal(p.count, 2);
    assert_memory_equal(p.p[0].value, "v18.0", 5);
    assert_memory_equal(p.p[1].value, "1234", 4);
}

static void star_takes_the_rest(void **state)
{
    (void)state;
    struct route_params p;
    assert_true(route_match("/app/*", "/app/admin/whatsapp", &p));
    assert_int_equal(p.count, 1);
    assert_int_equal(p.p[0].value_len, strlen("admin/whatsapp"));
    assert_true(route_match("/app/*", "/app/", &p));
    assert_int_equal(p.p[0].value_len, 0);
    assert_false(route_match("/app/*", "/ap", &p));
}

static void too_many_parameters_do_not_overflow(void **state)
{
    (void)state;
    struct route_params p;
    assert_false(route_match("/{a}/{b}/{c}/{d}/{e}", "/1/2/3/4/5", &p));
    assert_true(p.count <= ROUTE_MAX_PARAMS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(literal_routes_match_exactly),
        cmocka_unit_test(parameters_capture_one_segment),
        cmocka_unit_test(parameters_never_empty_nor_span_segments),
        cmocka_unit_test(several_parameters),
        cmocka_unit_test(star_takes_the_rest),
        cmocka_unit_test(too_many_parameters_do_not_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
