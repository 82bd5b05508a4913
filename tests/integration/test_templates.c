/* test_templates.c - po_notification managed from the platform (issue 19), against
 * graph-sim with both services: the admin's sync creates every offered language at Meta
 * (PENDING, then APPROVED or REJECTED by the review webhook) and a second sync creates
 * nothing; an order in a language Meta has not approved waits and goes once it is, or,
 * with TEMPLATE_FALLBACK_LANGUAGE, goes in that language and says so; bad input to the
 * admin API gets the JSON error shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "harness_stack.h"
#include "harness_tenant.h"
#include "uuidutil.h"

static struct h_stack st;
static int next_phone;

/* ---------- helpers ---------- */

static struct h_resp admin(const char *method, const char *path, const char *body)
{
    return ht_call(&st.ts, method, path, ht_admin(), body);
}

/* The entry of language in a report. */
static const json_t *entry(const struct h_resp *r, const char *language)
{
    size_t i;
    const json_t *e;
    json_array_foreach (json_object_get(r->json, "languages"), i, e) {
        if (strcmp(json_string_value(json_object_get(e, "language")), language) == 0)
            return e;
    }
    fail_msg("no %s in the report: %s", language, r->body);
    return NULL;
}

static const char *status_in(const struct h_resp *r, const char *language)
{
    return json_string_value(json_object_get(entry(r, language), "status"));
}

static bool all_reviewed(void *arg)
{
    (void)arg;
    struct h_resp r = admin("GET", "/api/v1/admin/whatsapp/templates", NULL);
    bool done = r.status == 200;
    size_t i;
    const json_t *e;
    json_array_foreach (json_object_get(r.json, "languages"), i, e) {
        if (strcmp(json_string_value(json_object_get(e, "status")), "PENDING") == 0)
            done = false;
    }
    h_resp_free(&r);
    return done;
}

static char *post(const struct h_proc *p, const char *tenant)
{
    char to[16];
    snprintf(to, sizeof to, "+3460040%04d", next_phone++);
    return hs_post_order(p, tenant, to);
}

static bool is_sent(void *arg)
{
    char *s = hs_column(&st, arg, "status");
    bool sent = strcmp(s, "sent") == 0 || strcmp(s, "delivered") == 0 || strcmp(s, "read") == 0;
    free(s);
    return sent;
}

static bool is_waiting(void *arg)
{
    char *s = hs_column(&st, arg, "status"), *e = hs_column(&st, arg, "error_message");
    bool waiting = strcmp(s, "queued") == 0 && strncmp(e, "template_not_approved", 21) == 0;
    free(s);
    free(e);
    return waiting;
}

/* The language graph-sim accepted the message's send in ("" when none). */
static char *sent_language(const char *id)
{
    char *to = hs_column(&st, id, "recipient_phone");
    struct h_resp r = h_call("GET", st.sim.url, NULL, NULL, "/_sim/messages?to=%%2B%s", to + 1);
    const json_t *m = json_array_get(json_object_get(r.json, "messages"), 0);
    const char *lang = json_string_value(json_object_get(m, "language"));
    char *out = xstrdup(lang ? lang : "");
    size_t n = json_array_size(json_object_get(r.json, "messages"));
    h_resp_free(&r);
    free(to);
    if (n > 1)
        fail_msg("message %s was sent %zu times", id, n);
    return out;
}

static int start(const char *name, const char *fallback)
{
    static char fb[64];
    snprintf(fb, sizeof fb, "TEMPLATE_FALLBACK_LANGUAGE=%s", fallback);
    /* No background read of the list (2 s after the start, then hourly): cached for the
     * hour, it would answer the tests' reads with what graph-sim held before they changed
     * it, or not, depending on how fast the start was. What Meta holds reaches the
     * service by the webhooks, the sync's fresh read and the sends, as the tests say. */
    static const char *notif[] = {"WHATSAPP_PAUSE_PROBE_MS=300",
                                  "WHATSAPP_PAUSE_PROBE_MAX_MS=1200",
                                  "PHONE_NUMBERS_CACHE_SECONDS=3600",
                                  "TEMPLATE_SYNC_INTERVAL_SECONDS=0",
                                  NULL,
                                  NULL};
    notif[4] = fb;
    char db[64];
    snprintf(db, sizeof db, "%s_%ld", name, (long)getpid());
    if (!hs_start(&st, db, notif, NULL))
        return -1;
    char *set = xasprintf("{\"webhook_url\":\"%s/api/v1/whatsapp/webhook\",\"status_delay_ms\":50,"
                          "\"template_review_ms\":1500,\"reject_languages\":[\"gl\"]}",
                          st.notif.url);
    struct h_resp r = h_call("POST", st.sim.url, NULL, set, "/_sim/settings");
    free(set);
    bool ok = r.status == 200;
    h_resp_free(&r);
    return ok ? 0 : -1;
}

static int stop(void **state)
{
    (void)state;
    int rc = hs_stop(&st) != 0 ? -1 : 0;
    h_drop_database(st.tenant_db);
    h_drop_database(st.notif_db);
    return rc;
}

/* ---------- without a fallback language ---------- */

/* An empty account: the sync creates the five languages, PENDING; graph-sim's review
 * approves four and rejects gl with Meta's reason, each announced by webhook; a second
 * sync creates nothing. */
static void sync_creates_every_language_once(void **state)
{
    (void)state;
    hs_sim(&st, "/_sim/templates", "{\"templates\":[],\"replace\":true}");
    struct h_resp r = admin("GET", "/api/v1/admin/whatsapp/templates", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(status_in(&r, "es"), "MISSING");
    assert_string_equal(status_in(&r, "gl"), "MISSING");
    h_resp_free(&r);

    r = admin("POST", "/api/v1/admin/whatsapp/templates/sync", "{}");
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "created")), 5);
    static const char *const langs[] = {"es", "en", "eu", "ca", "gl"};
    for (size_t i = 0; i < 5; i++) {
        const json_t *e = entry(&r, langs[i]);
        assert_string_equal(json_string_value(json_object_get(e, "status")), "PENDING");
        assert_true(json_is_true(json_object_get(e, "created")));
        assert_string_equal(json_string_value(json_object_get(e, "category")), "UTILITY");
        assert_int_equal(json_integer_value(json_object_get(e, "message_send_ttl_seconds")), 43200);
    }
    h_resp_free(&r);

    assert_true(h_wait_until(all_reviewed, NULL, 10000));
    r = admin("GET", "/api/v1/admin/whatsapp/templates", NULL);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(status_in(&r, langs[i]), "APPROVED");
    const json_t *gl = entry(&r, "gl");
    assert_string_equal(json_string_value(json_object_get(gl, "status")), "REJECTED");
    assert_string_equal(json_string_value(json_object_get(gl, "reason")), "INVALID_FORMAT");
    h_resp_free(&r);

    r = admin("POST", "/api/v1/admin/whatsapp/templates/sync", "{}");
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "created")), 0);
    h_resp_free(&r);
    struct h_resp t = h_call("GET", st.sim.url, NULL, NULL, "/_sim/templates");
    assert_int_equal(json_array_size(json_object_get(t.json, "templates")), 5);
    h_resp_free(&t);
}

/* A bakery writing in Catalan while ca waits for Meta's review: its order waits
 * (template_not_approved, nothing sent, no attempt used) and goes in ca once the review
 * approves it. The review here is the test's own (graph-sim's timer is set far off), so a
 * slow run cannot see ca approved before the order was looked at. */
static void an_order_in_a_pending_language_waits_then_goes(void **state)
{
    (void)state;
    char t[HT_ID_LEN];
    ht_create_tenant(&st.ts, "Forn de la Vila", t);
    hs_settings(&st, t, "{\"whatsapp_enabled\": true, \"whatsapp_default_language\": \"ca\"}");
    /* ca disappears (deleted at Meta) and is created again: PENDING until approved below */
    hs_sim(&st, "/_sim/settings", "{\"template_review_ms\":600000}");
    hs_sim(&st, "/_sim/templates", "{\"templates\":[],\"replace\":true}");
    struct h_resp r =
        admin("POST", "/api/v1/admin/whatsapp/templates/sync", "{\"languages\": [\"ca\"]}");
    assert_int_equal(r.status, 200);
    assert_string_equal(status_in(&r, "ca"), "PENDING");
    h_resp_free(&r);
    char *id = post(&st.notif, t);
    assert_true(h_wait_until(is_waiting, id, 5000));
    char *attempts = hs_column(&st, id, "attempts");
    assert_string_equal(attempts, "0");
    free(attempts);
    char *none = sent_language(id);
    assert_string_equal(none, ""); /* nothing sent while ca waits */
    free(none);
    hs_sim(&st, "/_sim/settings", "{\"template_review_ms\":1500}");
    hs_sim(&st, "/_sim/templates/update",
           "{\"name\":\"po_notification\",\"language\":\"ca\",\"status\":\"APPROVED\"}");
    if (!h_wait_until(is_sent, id, 15000))
        fail_msg("the order did not go once ca was approved");
    char *lang = sent_language(id);
    assert_string_equal(lang, "ca");
    char *from = hs_column(&st, id, "fallback_from_language");
    assert_string_equal(from, "");
    free(from);
    free(lang);
    free(id);
}

/* Bad input to the admin API: the JSON error shape, a field named. */
static void bad_input_to_the_admin_api(void **state)
{
    (void)state;
    struct h_resp r = admin("GET", "/api/v1/admin/whatsapp/templates?language=fr", NULL);
    h_assert_error(&r, 422, "validation_error");
    assert_string_equal(json_string_value(json_object_get(r.json, "field")), "language");
    h_resp_free(&r);
    r = admin("GET", "/api/v1/admin/whatsapp/templates?name=welcome", NULL);
    h_assert_error(&r, 422, "validation_error");
    assert_string_equal(json_string_value(json_object_get(r.json, "field")), "name");
    h_resp_free(&r);
    r = admin("POST", "/api/v1/admin/whatsapp/templates/sync", "{\"languages\": [\"fr\"]}");
    h_assert_error(&r, 422, "validation_error");
    assert_string_equal(json_string_value(json_object_get(r.json, "field")), "languages");
    h_resp_free(&r);
    r = admin("POST", "/api/v1/admin/whatsapp/templates/sync", "{\"languages\": \"es\"}");
    h_assert_error(&r, 422, "validation_error");
    h_resp_free(&r);
    r = admin("POST", "/api/v1/admin/whatsapp/templates/sync", "{\"langs\": []}");
    h_assert_error(&r, 422, "validation_error");
    h_resp_free(&r);
    r = admin("POST", "/api/v1/admin/whatsapp/templates/sync", "{\"languages\": [");
    h_assert_error(&r, 400, "malformed_json");
    h_resp_free(&r);
    r = admin("GET", "/api/v1/admin/whatsapp/templates?language=ca", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "languages")), 1);
    h_resp_free(&r);
}

static int setup_plain(void **state)
{
    (void)state;
    return start("templates", "");
}

/* ---------- with TEMPLATE_FALLBACK_LANGUAGE=es ---------- */

/* gl is not at Meta: a Galician bakery's order goes out in es at once, and the message
 * says it fell back from gl. */
static void with_a_fallback_the_order_goes_in_es_and_says_so(void **state)
{
    (void)state;
    char t[HT_ID_LEN];
    ht_create_tenant(&st.ts, "Panadaría do Porto", t);
    hs_settings(&st, t, "{\"whatsapp_enabled\": true, \"whatsapp_default_language\": \"gl\"}");
    struct h_resp r = admin("GET", "/api/v1/admin/whatsapp/templates?language=gl", NULL);
    assert_string_equal(status_in(&r, "gl"), "MISSING"); /* and the holds know it now */
    h_resp_free(&r);
    char *id = post(&st.notif, t);
    if (!h_wait_until(is_sent, id, 10000))
        fail_msg("the order did not fall back");
    char *lang = sent_language(id);
    assert_string_equal(lang, "es");
    char *stored = hs_column(&st, id, "template_language"),
         *from = hs_column(&st, id, "fallback_from_language");
    assert_string_equal(stored, "es");
    assert_string_equal(from, "gl");
    struct h_resp m =
        h_call("GET", st.notif.url, ht_admin(), NULL, "/api/v1/whatsapp/messages/%s", id);
    assert_string_equal(json_string_value(json_object_get(m.json, "fallback_from_language")), "gl");
    h_resp_free(&m);
    free(stored);
    free(from);
    free(lang);
    free(id);
}

/* Without a read of the list first: Graph's 132001 holds the order instead of failing it,
 * and the next try falls back. */
static void graphs_132001_falls_back_instead_of_failing(void **state)
{
    (void)state;
    char t[HT_ID_LEN];
    ht_create_tenant(&st.ts, "Forn del Mar", t);
    hs_settings(&st, t, "{\"whatsapp_enabled\": true, \"whatsapp_default_language\": \"ca\"}");
    char *id = post(&st.notif, t); /* ca: not at Meta, never read here */
    if (!h_wait_until(is_sent, id, 15000)) {
        char *s = hs_column(&st, id, "status"), *e = hs_column(&st, id, "error_message");
        fail_msg("message %s: %s (%s)", id, s, e);
    }
    char *lang = sent_language(id), *from = hs_column(&st, id, "fallback_from_language");
    assert_string_equal(lang, "es");
    assert_string_equal(from, "ca");
    free(lang);
    free(from);
    free(id);
}

static int setup_fallback(void **state)
{
    (void)state;
    return start("templates_fb", "es");
}

int main(void)
{
    const struct CMUnitTest plain[] = {
        cmocka_unit_test(sync_creates_every_language_once),
        cmocka_unit_test(an_order_in_a_pending_language_waits_then_goes),
        cmocka_unit_test(bad_input_to_the_admin_api),
    };
    const struct CMUnitTest fallback[] = {
        cmocka_unit_test(graphs_132001_falls_back_instead_of_failing),
        cmocka_unit_test(with_a_fallback_the_order_goes_in_es_and_says_so),
    };
    if (!h_pg_start())
        return 1;
    int failed = cmocka_run_group_tests_name("templates", plain, setup_plain, stop);
    failed += cmocka_run_group_tests_name("templates_fallback", fallback, setup_fallback, stop);
    return failed;
}
