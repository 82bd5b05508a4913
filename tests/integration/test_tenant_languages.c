/* test_tenant_languages.c - the languages a bakery may pick for its messages (issue 19):
 * GET /api/v1/tenants/{id}/whatsapp/languages against the real notification-service with
 * graph-sim behind it follows Meta's status of po_notification in each language as
 * graph-sim changes it; who may read it; what it answers when notification-service
 * cannot be asked; and the settings accepting Catalan and Galician. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "harness_stack.h"
#include "harness_tenant.h"
#include "po_template.h"
#include "uuidutil.h"

static struct {
    struct h_stack s;
    char a[HT_ID_LEN], b[HT_ID_LEN];
    char *owner_a, *member_a, *owner_b;
} w;

static int setup(void **state)
{
    (void)state;
    if (!hs_start(&w.s, "languages", NULL, NULL))
        return -1;
    ht_create_tenant(&w.s.ts, "Forn de Sant Jaume", w.a);
    ht_create_tenant(&w.s.ts, "Panadería Goiko", w.b);
    w.owner_a = ht_user(w.a, "owner");
    w.member_a = ht_user(w.a, "member");
    w.owner_b = ht_user(w.b, "owner");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(w.owner_a);
    free(w.member_a);
    free(w.owner_b);
    return hs_stop(&w.s) == 0 ? 0 : -1;
}

/* ---------- helpers ---------- */

static struct h_resp languages(const struct h_proc *ts, const char *tenant, const char *token)
{
    char *path = xasprintf("/api/v1/tenants/%s/whatsapp/languages", tenant);
    struct h_resp r = ht_call(ts, "GET", path, token, NULL);
    free(path);
    return r;
}

/* Asserts that the answer lists the offered languages in common/po_template.c's order
 * with their own names, template_status_known as known, and returns the status of
 * language ("" for null) after checking that available follows it. */
static const char *status_of(const struct h_resp *r, bool known, const char *language)
{
    assert_int_equal(r->status, 200);
    assert_int_equal(json_object_size(r->json), 2);
    assert_true(json_is_boolean(json_object_get(r->json, "template_status_known")));
    assert_int_equal(json_is_true(json_object_get(r->json, "template_status_known")), known);
    const json_t *list = json_object_get(r->json, "languages");
    assert_int_equal(json_array_size(list), po_texts_count);
    const char *found = NULL;
    for (size_t i = 0; i < po_texts_count; i++) {
        const json_t *item = json_array_get(list, i);
        assert_int_equal(json_object_size(item), 4);
        assert_string_equal(json_string_value(json_object_get(item, "code")), po_texts[i].language);
        assert_string_equal(json_string_value(json_object_get(item, "name")), po_texts[i].name);
        const json_t *status = json_object_get(item, "template_status");
        assert_true(json_is_string(status) || json_is_null(status));
        const char *s = json_is_string(status) ? json_string_value(status) : "";
        bool available = json_is_true(json_object_get(item, "available"));
        assert_true(json_is_boolean(json_object_get(item, "available")));
        if (known)
            assert_int_equal(available, strcmp(s, "APPROVED") == 0);
        else
            assert_true(available && json_is_null(status));
        if (strcmp(po_texts[i].language, language) == 0)
            found = s;
    }
    assert_non_null(found);
    return found;
}

/* POSTs body to graph-sim's control API path. */
static void sim(const char *path, const char *body)
{
    char *url = h_url(w.s.sim.url, "%s", path);
    struct h_resp r = h_json("POST", url, NULL, body);
    if (r.status != 200)
        fail_msg("graph-sim %s %s: %ld %s", path, body, r.status, r.body);
    h_resp_free(&r);
    free(url);
}

/* Adds po_notification in language to graph-sim's account with status, as its text. */
static void sim_add_template(const char *language, const char *status)
{
    const struct po_text *text = po_text(language);
    assert_non_null(text);
    json_t *body =
        json_pack("{s:[{s:s, s:s, s:s, s:s, s:[{s:s, s:s}]}]}", "templates", "name",
                  PO_TEMPLATE_NAME, "language", language, "category", PO_TEMPLATE_CATEGORY,
                  "status", status, "components", "type", "BODY", "text", text->body);
    char *s = json_dumps(body, JSON_COMPACT);
    sim("/_sim/templates", s);
    free(s);
    json_decref(body);
}

static void sim_set_status(const char *language, const char *status)
{
    char *body = xasprintf("{\"name\": \"" PO_TEMPLATE_NAME "\", \"language\": \"%s\", "
                           "\"status\": \"%s\"}",
                           language, status);
    sim("/_sim/templates/update", body);
    free(body);
}

/* The five statuses, "es en eu ca gl", as the owner of A reads them. */
static char *statuses(void)
{
    struct h_resp r = languages(&w.s.ts, w.a, w.owner_a);
    struct buf b = {0};
    for (size_t i = 0; i < po_texts_count; i++)
        buf_printf(&b, "%s%s", i ? " " : "", status_of(&r, true, po_texts[i].language));
    h_resp_free(&r);
    return buf_steal(&b);
}

static void assert_statuses(const char *want)
{
    char *got = statuses();
    assert_string_equal(got, want);
    free(got);
}

/* ---------- cases ---------- */

/* graph-sim seeds po_notification APPROVED in es, en, eu: Catalan and Galician start
 * MISSING, and each change at Meta shows at the next read (the stack runs
 * notification-service with PHONE_NUMBERS_CACHE_SECONDS=0). */
static void languages_follow_the_template_statuses_graph_sim_has(void **state)
{
    (void)state;
    assert_statuses("APPROVED APPROVED APPROVED MISSING MISSING");

    sim_add_template("ca", "PENDING");
    sim_add_template("gl", "REJECTED");
    assert_statuses("APPROVED APPROVED APPROVED PENDING REJECTED");

    sim_set_status("ca", "APPROVED");
    sim_set_status("eu", "PAUSED");
    assert_statuses("APPROVED APPROVED PAUSED APPROVED REJECTED");
    sim_set_status("en", "DISABLED");
    assert_statuses("APPROVED DISABLED PAUSED APPROVED REJECTED");

    /* a member and a service read the same list; an admin too */
    const char *readers[] = {w.member_a, ht_service(), ht_admin()};
    for (size_t i = 0; i < sizeof readers / sizeof readers[0]; i++) {
        struct h_resp r = languages(&w.s.ts, w.a, readers[i]);
        assert_string_equal(status_of(&r, true, "ca"), "APPROVED");
        h_resp_free(&r);
    }

    /* back to graph-sim's seed, Catalan and Galician gone */
    sim("/_sim/reset", "{}");
    assert_statuses("APPROVED APPROVED APPROVED MISSING MISSING");
}

/* The rights of the tenant's settings: a user of another tenant is refused (even for a
 * tenant that does not exist, so ids cannot be probed); an id that is not a UUID, or
 * the UUID of nobody, is 404 tenant_not_found as for the sibling routes. */
static void rights_and_ids_are_those_of_the_settings(void **state)
{
    (void)state;
    char nobody[UUID_STR_LEN];
    uuid_new(nobody);

    struct h_resp r = languages(&w.s.ts, w.a, w.owner_b);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    r = languages(&w.s.ts, nobody, w.owner_b);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    r = languages(&w.s.ts, "not-a-uuid", ht_admin());
    h_assert_error(&r, 404, "tenant_not_found");
    h_resp_free(&r);
    r = languages(&w.s.ts, nobody, ht_admin());
    h_assert_error(&r, 404, "tenant_not_found");
    h_resp_free(&r);
    r = languages(&w.s.ts, w.a, NULL);
    h_assert_error(&r, 401, "unauthorized");
    h_resp_free(&r);
    /* upper case names the same tenant */
    char upper[HT_ID_LEN];
    for (size_t i = 0; i < sizeof upper; i++)
        upper[i] = (char)(w.a[i] >= 'a' && w.a[i] <= 'f' ? w.a[i] - 'a' + 'A' : w.a[i]);
    r = languages(&w.s.ts, upper, w.owner_a);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
}

/* A tenant-service whose notification-service cannot be reached still answers the list,
 * every language available and no status known, so the owner can save; a tenant that
 * does not exist is still 404. */
static void notification_service_down_leaves_the_statuses_unknown(void **state)
{
    (void)state;
    struct h_proc ts;
    assert_true(ht_start_tenant(&ts, w.s.tenant_db, ht_dead_url(), NULL, NULL));
    struct h_resp r = languages(&ts, w.a, w.owner_a);
    for (size_t i = 0; i < po_texts_count; i++)
        assert_string_equal(status_of(&r, false, po_texts[i].language), "");
    h_resp_free(&r);

    char nobody[UUID_STR_LEN];
    uuid_new(nobody);
    r = languages(&ts, nobody, ht_admin());
    h_assert_error(&r, 404, "tenant_not_found");
    h_resp_free(&r);

    /* and the owner saves a language whose status nobody could tell */
    char *path = xasprintf("/api/v1/tenants/%s/settings/notifications", w.a);
    r = ht_call(&ts, "PUT", path, w.owner_a, "{\"whatsapp_default_language\": \"gl\"}");
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_str(&r, "whatsapp_default_language"), "gl");
    h_resp_free(&r);
    free(path);
    assert_int_equal(h_stop(&ts), 0);
}

/* Catalan and Galician are offered languages: the owner may pick them; a language the
 * platform does not offer is 422 naming the field and changes nothing. */
static void settings_accept_catalan_and_galician(void **state)
{
    (void)state;
    char *path = xasprintf("/api/v1/tenants/%s/settings/notifications", w.a);
    static const char *const offered[] = {"ca", "gl", "es"};
    for (size_t i = 0; i < sizeof offered / sizeof offered[0]; i++) {
        char *body = xasprintf("{\"whatsapp_default_language\": \"%s\"}", offered[i]);
        struct h_resp r = ht_call(&w.s.ts, "PUT", path, w.owner_a, body);
        if (r.status != 200)
            fail_msg("PUT %s: %ld %s", body, r.status, r.body);
        assert_string_equal(ht_str(&r, "whatsapp_default_language"), offered[i]);
        h_resp_free(&r);
        r = ht_call(&w.s.ts, "GET", path, w.member_a, NULL);
        assert_string_equal(ht_str(&r, "whatsapp_default_language"), offered[i]);
        h_resp_free(&r);
        free(body);
    }
    struct h_resp r =
        ht_call(&w.s.ts, "PUT", path, w.owner_a, "{\"whatsapp_default_language\": \"ca\"}");
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    static const char *const refused[] = {"fr", "CA", "gl_ES", ""};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char *body = xasprintf("{\"whatsapp_default_language\": \"%s\"}", refused[i]);
        r = ht_call(&w.s.ts, "PUT", path, w.owner_a, body);
        h_assert_error(&r, 422, "validation_error");
        assert_string_equal(ht_str(&r, "field"), "whatsapp_default_language");
        assert_non_null(strstr(ht_str(&r, "message"), "whatsapp_default_language"));
        h_resp_free(&r);
        free(body);
    }
    r = ht_call(&w.s.ts, "GET", path, w.owner_a, NULL);
    assert_string_equal(ht_str(&r, "whatsapp_default_language"), "ca");
    h_resp_free(&r);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(languages_follow_the_template_statuses_graph_sim_has),
        cmocka_unit_test(rights_and_ids_are_those_of_the_settings),
        cmocka_unit_test(notification_service_down_leaves_the_statuses_unknown),
        cmocka_unit_test(settings_accept_catalan_and_galician),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
