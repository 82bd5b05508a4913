/* test_openapi.c - each service serves its part of docs/openapi.yaml at
 * GET /api/v1/openapi.json without a token: an OpenAPI 3.1 document with only its own
 * paths and the shared components. The documents served are kept in
 * .run/test-logs/openapi/<service>.openapi.json, from which tests/openapi/client.test.mjs
 * generates and compiles a TypeScript client. The pages are fetched too, so that the
 * recorded responses cover them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "harness.h"
#include "harness_stack.h"

static struct h_stack stack;

static int setup(void **state)
{
    (void)state;
    /* A failed run must not leave the client test an older document. */
    remove(".run/test-logs/openapi/tenant.openapi.json");
    remove(".run/test-logs/openapi/notification.openapi.json");
    return hs_start(&stack, "openapi", NULL, NULL) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return hs_stop(&stack) == 0 ? 0 : -1;
}

/* Fetches p's description without a token, checks what every one must hold, and keeps
 * it for the client test. Returns the parsed document (the caller decrefs). */
static json_t *served(const struct h_proc *p, const char *service)
{
    char *url = h_url(p->url, "/api/v1/openapi.json");
    struct h_resp r = h_get(url, NULL);
    free(url);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.content_type, "application/json"));
    assert_non_null(r.json);
    assert_string_equal(json_string_value(json_object_get(r.json, "openapi")), "3.1.0");
    assert_true(json_is_object(json_object_get(json_object_get(r.json, "components"), "schemas")));
    assert_non_null(json_object_get(json_object_get(r.json, "components"), "securitySchemes"));
    const char *path;
    json_t *item;
    json_object_foreach (json_object_get(r.json, "paths"), path, item) {
        bool ours = false;
        size_t i;
        json_t *s;
        json_array_foreach (json_object_get(item, "x-service"), i, s)
            ours = ours || strcmp(json_string_value(s), service) == 0;
        if (!ours)
            fail_msg("%s-service serves %s, which is not its path", service, path);
    }

    mkdir(".run/test-logs/openapi", 0755);
    char file[128];
    snprintf(file, sizeof file, ".run/test-logs/openapi/%s.openapi.json", service);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(r.body, 1, r.len, f), r.len);
    assert_int_equal(fclose(f), 0);
    json_t *doc = json_incref(r.json);
    h_resp_free(&r);
    return doc;
}

static void each_service_serves_its_own_paths(void **state)
{
    (void)state;
    json_t *ts = served(&stack.ts, "tenant");
    json_t *ns = served(&stack.notif, "notification");
    const json_t *tp = json_object_get(ts, "paths");
    const json_t *np = json_object_get(ns, "paths");

    assert_non_null(json_object_get(tp, "/api/v1/admin/whatsapp/tenants/{id}/assign-phone"));
    assert_null(json_object_get(tp, "/api/v1/notifications/purchase-orders"));
    assert_non_null(json_object_get(np, "/api/v1/notifications/purchase-orders"));
    assert_null(json_object_get(np, "/api/v1/tenants"));
    /* both serve the shared operational paths, this one included */
    assert_non_null(json_object_get(tp, "/api/v1/openapi.json"));
    assert_non_null(json_object_get(np, "/api/v1/openapi.json"));
    json_decref(ts);
    json_decref(ns);
}

static void no_token_is_needed_and_a_bad_one_is_ignored(void **state)
{
    (void)state;
    char *url = h_url(stack.ts.url, "/api/v1/openapi.json");
    struct h_resp r = h_get(url, "not-a-token");
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(url);
}

/* The pages are described as text/html, their files by type; the responses test checks
 * what these get against the description. */
static void pages_and_assets_are_served_as_described(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        const char *type;
    } files[] = {
        {"/app/admin/whatsapp", "text/html"},
        {"/app/settings/notifications", "text/html"},
        {"/app/css/app.css", "text/css"},
        {"/app/js/common.js", "text/javascript"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *url = h_url(stack.ts.url, "%s", files[i].path);
        struct h_resp r = h_get(url, NULL);
        assert_int_equal(r.status, 200);
        assert_ptr_equal(strstr(r.content_type, files[i].type), r.content_type);
        h_resp_free(&r);
        free(url);
    }
    char *url = h_url(stack.ts.url, "/app/no-such-page");
    struct h_resp r = h_get(url, NULL);
    h_assert_error(&r, 404, "not_found");
    h_resp_free(&r);
    free(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_service_serves_its_own_paths),
        cmocka_unit_test(no_token_is_needed_and_a_bad_one_is_ignored),
        cmocka_unit_test(pages_and_assets_are_served_as_described),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
