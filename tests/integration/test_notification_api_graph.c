/* test_notification_api_graph.c - notification-service's views of the master WABA:
 * GET /api/v1/whatsapp/phone-numbers and /templates against a fake Graph API served by
 * this test (every page followed, cached, stale on failure, Meta's message on error,
 * links off the base URL refused, the token never leaked), against graph-sim when it is
 * built, and against nothing (502); the health, which answers 200 with its local parts
 * and Graph's error when Graph fails; /config-status; /ready with every dependency up, and
 * 503 once a token error has paused sending; and, end to end through the sender, a status
 * that beats the send's own answer kept pending and applied by webhook_apply_pending()
 * (this suite's fake also plays tenant-service). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "alloc.h"
#include "harness.h"
#include "http.h"
#include "log.h"

#define TOKEN "EAAfake-graph-token-0123456789"
#define WABA "987654321098765"
#define PHONES "/api/v1/whatsapp/phone-numbers"
#define TEMPLATES "/api/v1/whatsapp/templates"
#define STATUS "/api/v1/whatsapp/config-status"
#define HEALTH "/api/v1/whatsapp/health"

/* What the fake Graph API does with the next request. */
enum fake_mode { FAKE_OK, FAKE_DOWN, FAKE_BAD_PARAM, FAKE_QUOTES_TOKEN, FAKE_OFFSITE };

static _Atomic int fake_mode = FAKE_OK;
enum send_mode { SEND_TOKEN_ERROR, SEND_STATUS_FIRST };
static _Atomic int send_mode = SEND_TOKEN_ERROR;
static atomic_int sends;
static char hook_url[128]; /* the webhook SEND_STATUS_FIRST posts to */
static atomic_int phone_requests;
static atomic_int template_requests;
static struct http_server *fake;
static char fake_url[64];
static char db_url[256];
static struct h_proc cached;   /* PHONE_NUMBERS_CACHE_SECONDS=60 */
static struct h_proc uncached; /* PHONE_NUMBERS_CACHE_SECONDS=0 */
static char *svc, *admin, *user;

/* ---------- the fake Graph API (and tenant-service's /health) ---------- */

static void reply_meta_error(struct http_request *req, unsigned status, int code,
                             const char *message)
{
    http_reply_json(req, status,
                    json_pack("{s:{s:s, s:s, s:i, s:s}}", "error", "message", message, "type",
                              "OAuthException", "code", code, "fbtrace_id", "AbCdEf"));
}

static bool fake_refuses(struct http_request *req)
{
    const char *auth = http_header(req, "Authorization");
    int mode = atomic_load(&fake_mode);
    if (!auth || strcmp(auth, "Bearer " TOKEN) != 0) {
        reply_meta_error(req, 401, 190, "Invalid OAuth access token - Cannot parse access token");
        return true;
    }
    if (strcmp(http_param(req, "waba"), WABA) != 0) {
        reply_meta_error(req, 400, 100, "Unsupported get request.");
        return true;
    }
    if (mode == FAKE_DOWN) {
        reply_meta_error(req, 503, 2, "(#2) Service temporarily unavailable");
        return true;
    }
    if (mode == FAKE_BAD_PARAM) {
        reply_meta_error(req, 400, 100, "(#100) Tried accessing nonexisting field (foo)");
        return true;
    }
    if (mode == FAKE_QUOTES_TOKEN) {
        reply_meta_error(req, 400, 190, "Malformed access token " TOKEN);
        return true;
    }
    return false;
}

/* Answers page `after` (0, 2, 4, ...) of items, two per page, with Meta's paging. */
static void reply_page(struct http_request *req, json_t *items, const char *edge)
{
    const char *after = http_query(req, "after");
    long start = after ? strtol(after, NULL, 10) : 0;
    long n = (long)json_array_size(items);
    json_t *data = json_array();
    for (long i = start; i < n && i < start + 2; i++)
        json_array_append(data, json_array_get(items, (size_t)i));
    json_t *paging = json_pack("{s:{s:s, s:s}}", "cursors", "before", "QVFI", "after", "QVFJ");
    if (start + 2 < n) {
        const char *base =
            atomic_load(&fake_mode) == FAKE_OFFSITE ? "http://graph.invalid" : fake_url;
        char *next = xasprintf("%s/v25.0/%s/%s?access_token=%s&limit=2&after=%ld", base, WABA, edge,
                               TOKEN, start + 2);
        json_object_set_new(paging, "next", json_string(next));
        free(next);
    }
    http_reply_json(req, 200, json_pack("{s:o, s:o}", "data", data, "paging", paging));
    json_decref(items);
}

static void fake_phone_numbers(struct http_request *req)
{
    atomic_fetch_add(&phone_requests, 1);
    if (fake_refuses(req))
        return;
    json_t *items = json_array();
    for (int i = 0; i < 5; i++) {
        char id[32], display[32];
        snprintf(id, sizeof id, "10654035224292%d", i);
        snprintf(display, sizeof display, "+34 612 345 67%d", i);
        json_array_append_new(
            items, json_pack("{s:s, s:s, s:s, s:s, s:s}", "verified_name", "Bakery Platform",
                             "display_phone_number", display, "id", id, "quality_rating",
                             i == 4 ? "YELLOW" : "GREEN", "code_verification_status", "VERIFIED"));
    }
    /* an item without an id is skipped, not fatal */
    json_array_append_new(items, json_pack("{s:s}", "verified_name", "broken"));
    reply_page(req, items, "phone_numbers");
}

static void fake_templates(struct http_request *req)
{
    atomic_fetch_add(&template_requests, 1);
    if (fake_refuses(req))
        return;
    json_t *items = json_pack(
        "[{s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s}]", "name",
        "po_notification", "language", "es", "status", "APPROVED", "category", "UTILITY", "id", "1",
        "name", "po_notification", "language", "en", "status", "PENDING", "category", "UTILITY",
        "id", "2", "name", "weekly_offer", "language", "es", "status", "APPROVED", "category",
        "MARKETING", "id", "3");
    reply_page(req, items, "message_templates");
}

/* Sends are refused as Meta refuses an expired token, or accepted after a status
 * webhook for the new wamid has already been delivered (Meta's status racing its own
 * answer). */
static void fake_send(struct http_request *req)
{
    if (atomic_load(&send_mode) == SEND_TOKEN_ERROR) {
        reply_meta_error(req, 401, 190,
                         "Error validating access token: Session has expired on Friday, 17-Jan-25");
        return;
    }
    char wamid[64];
    snprintf(wamid, sizeof wamid, "wamid.HBgLMzQ2MTIzNDU2NzgVAgARGBI%d",
             atomic_fetch_add(&sends, 1));
    char *status = xasprintf(
        "{\"object\": \"whatsapp_business_account\", \"entry\": [{\"changes\": [{\"field\":"
        " \"messages\", \"value\": {\"metadata\": {\"phone_number_id\": \"%s\"},"
        " \"statuses\": [{\"id\": \"%s\", \"status\": \"delivered\", \"timestamp\":"
        " \"1750263800\"}]}}]}]}",
        http_param(req, "phone"), wamid);
    struct h_resp r = h_json("POST", hook_url, NULL, status);
    if (r.status != 200)
        fprintf(stderr, "early status answered %ld: %s\n", r.status, r.body);
    h_resp_free(&r);
    free(status);
    http_reply_json(req, 200,
                    json_pack("{s:s, s:[{s:s, s:s}], s:[{s:s}]}", "messaging_product", "whatsapp",
                              "contacts", "input", "+34612345678", "wa_id", "34612345678",
                              "messages", "id", wamid));
}

/* tenant-service's settings feed: every tenant asked for exists, with WhatsApp on and a
 * number assigned; nothing ever changes. */
static void fake_settings(struct http_request *req)
{
    json_t *tenants = json_array();
    const char *ids = http_query(req, "tenant_id");
    while (ids && *ids) {
        size_t len = strcspn(ids, ",");
        json_array_append_new(tenants, json_pack("{s:s%, s:i, s:{s:b, s:s, s:s, s:s, s:b}}",
                                                 "tenant_id", ids, len, "seq", 1, "settings",
                                                 "whatsapp_enabled", 1, "whatsapp_phone_number_id",
                                                 "106540352242921", "whatsapp_display_phone_number",
                                                 "+34 612 345 671", "whatsapp_default_language",
                                                 "es", "enable_po_notifications", 1));
        ids += len + (ids[len] == ',');
    }
    http_reply_json(req, 200,
                    json_pack("{s:i, s:s, s:[], s:o, s:b, s:b}", "position", 1, "epoch",
                              "fake-epoch", "changes", "tenants", tenants, "more", 0, "reset", 0));
}

static const struct http_route fake_routes[] = {
    {"GET", "/health", http_handle_health, 0, HTTP_ROUTE_QUIET},
    {"GET", "/api/v1/internal/settings-changes", fake_settings, 0, HTTP_ROUTE_QUIET},
    {"POST", "/v25.0/{phone}/messages", fake_send, 0, HTTP_ROUTE_QUIET | HTTP_ROUTE_RAW_BODY},
    {"GET", "/v25.0/{waba}/phone_numbers", fake_phone_numbers, 0, HTTP_ROUTE_QUIET},
    {"GET", "/v25.0/{waba}/message_templates", fake_templates, 0, HTTP_ROUTE_QUIET},
};

static struct http_server_config fake_config = {
    .bind_address = "127.0.0.1",
    .threads = 2,
    .body_limit = 65536,
    .conn_timeout = 30,
    .routes = fake_routes,
    .nroutes = sizeof fake_routes / sizeof fake_routes[0],
};

/* ---------- helpers ---------- */

/* A daemon with the master account configured, on database (db_url when NULL). */
static bool start_daemon(struct h_proc *p, const char *graph_url, const char *ttl,
                         const char *database)
{
    char db[320], graph[96], cache[64], timeout[48];
    char tenant[96];
    snprintf(db, sizeof db, "NOTIFICATION_DATABASE_URL=%s", database ? database : db_url);
    snprintf(graph, sizeof graph, "GRAPH_API_BASE_URL=%s", graph_url);
    snprintf(cache, sizeof cache, "PHONE_NUMBERS_CACHE_SECONDS=%s", ttl);
    /* no test here times Graph out; under valgrind, on a loaded machine, graph-sim's
     * list of 120 numbers took longer than 2 s */
    snprintf(timeout, sizeof timeout, "GRAPH_TIMEOUT_MS=%d", h_wrapped() ? 60000 : 2000);
    /* the fake also answers tenant-service's /health and settings */
    snprintf(tenant, sizeof tenant, "TENANT_SERVICE_URL=%s", fake_url);
    const char *env[] = {db, "JWT_SECRET=" H_JWT_SECRET, graph, cache, tenant,
                         "WHATSAPP_BUSINESS_ACCOUNT_ID=" WABA, "WHATSAPP_ACCESS_TOKEN=" TOKEN,
                         "WHATSAPP_PHONE_NUMBER_ID=106540352242920", timeout,
                         /* no background read of the templates: the tests count the
                          * requests the fake Graph sees */
                         "TEMPLATE_SYNC_INTERVAL_SECONDS=0", NULL};
    return h_start(p, "notification-service", "NOTIFICATION_PORT", env, "/ready");
}

static struct h_resp get(const struct h_proc *p, const char *path, const char *token)
{
    char *url = h_url(p->url, "%s", path);
    struct h_resp r = h_get(url, token);
    free(url);
    return r;
}

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* The value of a response header, fetched with a second request (the harness keeps only
 * the content type). */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    size_t n = size * nmemb;
    if (n > 9 && strncasecmp(ptr, "X-Cache: ", 9) == 0)
        snprintf(userdata, 16, "%.*s", (int)strcspn(ptr + 9, "\r\n"), ptr + 9);
    return n;
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

static void cache_state(const struct h_proc *p, const char *path, char out[16])
{
    char *url = h_url(p->url, "%s", path);
    char *auth = xasprintf("Authorization: Bearer %s", svc);
    struct curl_slist *hdrs = curl_slist_append(NULL, auth);
    CURL *c = curl_easy_init();
    out[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_perform(c);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    free(auth);
    free(url);
}

/* ---------- setup ---------- */

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    log_init("fake-graph", LOG_WARN);
    fake = http_server_start(&fake_config);
    if (!fake)
        return -1;
    snprintf(fake_url, sizeof fake_url, "http://127.0.0.1:%u", http_server_port(fake));
    if (!h_fresh_database("it_notif_api_graph", db_url, sizeof db_url))
        return -1;
    svc = h_token("service", NULL, NULL, "tenant-service", 3600);
    admin = h_token("admin", NULL, NULL, "root", 3600);
    user = h_token("user", "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "owner", "alice", 3600);
    if (!start_daemon(&cached, fake_url, "60", NULL))
        return -1;
    return start_daemon(&uncached, fake_url, "0", NULL) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    h_stop(&cached);
    h_stop(&uncached);
    http_server_stop(fake);
    free(svc);
    free(admin);
    free(user);
    curl_global_cleanup();
    return 0;
}

/* ---------- tests ---------- */

static void phone_numbers_follow_every_page_and_are_cached(void **state)
{
    (void)state;
    atomic_store(&fake_mode, FAKE_OK);
    int before = atomic_load(&phone_requests);
    struct h_resp r = get(&cached, PHONES, svc);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(r.json), 5);
    assert_int_equal(atomic_load(&phone_requests) - before, 3);
    json_t *first = json_array_get(r.json, 0);
    assert_string_equal(str(first, "id"), "106540352242920");
    assert_string_equal(str(first, "display_phone_number"), "+34 612 345 670");
    assert_string_equal(str(first, "verified_name"), "Bakery Platform");
    assert_string_equal(str(first, "quality_rating"), "GREEN");
    /* WHATSAPP_PHONE_NUMBER_ID is this first number, and only it */
    assert_true(json_is_true(json_object_get(first, "is_default")));
    assert_int_equal(json_object_size(first), 5);
    assert_true(json_is_false(json_object_get(json_array_get(r.json, 1), "is_default")));
    assert_string_equal(str(json_array_get(r.json, 4), "quality_rating"), "YELLOW");
    h_resp_free(&r);

    /* within the cache time Graph is not asked again */
    char state_text[16];
    cache_state(&cached, PHONES, state_text);
    assert_string_equal(state_text, "hit");
    r = get(&cached, PHONES, admin);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(r.json), 5);
    h_resp_free(&r);
    assert_int_equal(atomic_load(&phone_requests) - before, 3);

    /* roles: services and admins */
    r = get(&cached, PHONES, user);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    r = get(&cached, PHONES, NULL);
    h_assert_error(&r, 401, "unauthorized");
    h_resp_free(&r);
}

static void templates_are_filtered_by_name(void **state)
{
    (void)state;
    atomic_store(&fake_mode, FAKE_OK);
    struct h_resp r = get(&cached, TEMPLATES, svc);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(r.json), 3);
    h_resp_free(&r);
    int before = atomic_load(&template_requests);
    r = get(&cached, TEMPLATES "?name=po_notification", admin);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(r.json), 2);
    json_t *es = json_array_get(r.json, 0);
    assert_string_equal(str(es, "name"), "po_notification");
    assert_string_equal(str(es, "language"), "es");
    assert_string_equal(str(es, "status"), "APPROVED");
    assert_string_equal(str(es, "category"), "UTILITY");
    assert_string_equal(str(json_array_get(r.json, 1), "status"), "PENDING");
    h_resp_free(&r);
    assert_int_equal(atomic_load(&template_requests), before);
    r = get(&cached, TEMPLATES "?name=missing", svc);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(r.json), 0);
    h_resp_free(&r);
}

static void graph_errors_are_502_with_metas_message(void **state)
{
    (void)state;
    struct h_resp r;
    atomic_store(&fake_mode, FAKE_BAD_PARAM);
    r = get(&uncached, PHONES, svc);
    h_assert_error(&r, 502, "graph_unavailable");
    assert_string_equal(str(r.json, "message"), "(#100) Tried accessing nonexisting field (foo)");
    h_resp_free(&r);

    atomic_store(&fake_mode, FAKE_QUOTES_TOKEN);
    r = get(&uncached, TEMPLATES, svc);
    h_assert_error(&r, 502, "graph_unavailable");
    assert_null(strstr(r.body, TOKEN));
    h_resp_free(&r);

    atomic_store(&fake_mode, FAKE_OFFSITE);
    r = get(&uncached, PHONES, svc);
    h_assert_error(&r, 502, "graph_unavailable");
    assert_non_null(strstr(str(r.json, "message"), "base URL"));
    h_resp_free(&r);

    atomic_store(&fake_mode, FAKE_DOWN);
    r = get(&uncached, PHONES, svc);
    h_assert_error(&r, 502, "graph_unavailable");
    assert_string_equal(str(r.json, "message"), "(#2) Service temporarily unavailable");
    h_resp_free(&r);

    /* once fetched, a failing Graph gets the last list served (stale) */
    atomic_store(&fake_mode, FAKE_OK);
    char state_text[16];
    cache_state(&uncached, PHONES, state_text);
    assert_string_equal(state_text, "miss");
    atomic_store(&fake_mode, FAKE_DOWN);
    r = get(&uncached, PHONES, svc);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(r.json), 5);
    h_resp_free(&r);
    cache_state(&uncached, PHONES, state_text);
    assert_string_equal(state_text, "stale");
    atomic_store(&fake_mode, FAKE_OK);
    assert_true(h_log_count(&uncached, "graph list stale") >= 1);
}

static void graph_unreachable_is_502(void **state)
{
    (void)state;
    struct h_proc p;
    char dead[64];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%u", h_free_port());
    assert_true(start_daemon(&p, dead, "60", NULL));
    struct h_resp r = get(&p, PHONES, svc);
    h_assert_error(&r, 502, "graph_unavailable");
    assert_non_null(strstr(str(r.json, "message"), "unreachable"));
    h_resp_free(&r);
    r = get(&p, TEMPLATES, admin);
    h_assert_error(&r, 502, "graph_unavailable");
    h_resp_free(&r);
    assert_int_equal(h_stop(&p), 0);
}

/* Graph unreachable and nothing cached: the health still answers, with the local parts
 * (the version asked for, the account's state), empty lists and the reason. */
static void health_answers_when_graph_is_down(void **state)
{
    (void)state;
    struct h_proc p;
    char dead[64];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%u", h_free_port());
    assert_true(start_daemon(&p, dead, "60", NULL));
    struct h_resp r = get(&p, HEALTH, svc);
    assert_int_equal(r.status, 200);
    json_t *version = json_object_get(r.json, "api_version");
    assert_string_equal(str(version, "asked"), "v25.0");
    assert_true(json_is_null(json_object_get(version, "served"))); /* nothing sent yet */
    assert_true(json_is_false(json_object_get(version, "differs")));
    json_t *account = json_object_get(r.json, "account");
    assert_string_equal(str(account, "state"), "sending");
    assert_true(json_is_null(json_object_get(account, "paused")));
    assert_true(json_is_null(json_object_get(r.json, "messaging_limit")));
    assert_int_equal(json_array_size(json_object_get(r.json, "phone_numbers")), 0);
    assert_int_equal(json_array_size(json_object_get(r.json, "templates")), 0);
    json_t *graph = json_object_get(r.json, "graph");
    assert_true(json_is_null(json_object_get(graph, "cache")));
    assert_non_null(strstr(str(graph, "error"), "unreachable"));
    h_resp_free(&r);
    r = get(&p, HEALTH, user);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    r = get(&p, HEALTH, admin);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    assert_int_equal(h_stop(&p), 0);
}

/* Graph failing after a good read: the cached lists (stale) and Meta's message; Graph is
 * asked once per answer, not once per list. The fake knows none of the health's extra
 * fields, so they are null. */
static void health_serves_the_cached_lists_when_graph_fails(void **state)
{
    (void)state;
    atomic_store(&fake_mode, FAKE_OK);
    struct h_resp r = get(&uncached, HEALTH, admin);
    assert_int_equal(r.status, 200);
    assert_string_equal(str(json_object_get(r.json, "graph"), "cache"), "miss");
    h_resp_free(&r);

    atomic_store(&fake_mode, FAKE_DOWN);
    int phones_before = atomic_load(&phone_requests);
    int templates_before = atomic_load(&template_requests);
    r = get(&uncached, HEALTH, admin);
    assert_int_equal(r.status, 200);
    json_t *numbers = json_object_get(r.json, "phone_numbers");
    assert_int_equal(json_array_size(numbers), 5);
    json_t *first = json_array_get(numbers, 0);
    assert_string_equal(str(first, "id"), "106540352242920");
    assert_string_equal(str(first, "quality_rating"), "GREEN");
    assert_true(json_is_true(json_object_get(first, "is_default")));
    assert_true(json_is_null(json_object_get(first, "can_send_message")));
    assert_int_equal(json_object_size(first), 10); /* and "held": null */
    assert_true(json_is_null(json_object_get(first, "held")));
    json_t *templates = json_object_get(r.json, "templates");
    assert_int_equal(json_array_size(templates), 3);
    assert_string_equal(str(json_array_get(templates, 0), "id"), "1");
    json_t *graph = json_object_get(r.json, "graph");
    assert_string_equal(str(graph, "cache"), "stale");
    assert_string_equal(str(graph, "error"), "(#2) Service temporarily unavailable");
    h_resp_free(&r);
    assert_int_equal(atomic_load(&phone_requests) - phones_before, 1);
    assert_int_equal(atomic_load(&template_requests) - templates_before, 0);
    atomic_store(&fake_mode, FAKE_OK);
}

static void config_status_and_missing_credentials(void **state)
{
    (void)state;
    struct h_resp r = get(&cached, STATUS, svc);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.json, "credentials_configured")));
    assert_int_equal(json_array_size(json_object_get(r.json, "missing")), 0);
    assert_true(json_is_true(json_object_get(r.json, "enabled")));
    assert_true(json_is_false(json_object_get(r.json, "sending_paused")));
    assert_true(json_is_null(json_object_get(r.json, "paused_reason")));
    assert_string_equal(str(r.json, "default_phone_number_id"), "106540352242920");
    h_resp_free(&r);
    r = get(&cached, STATUS, user);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);

    /* no master account at all */
    struct h_proc p;
    char db[320], graph[96];
    snprintf(db, sizeof db, "NOTIFICATION_DATABASE_URL=%s", db_url);
    snprintf(graph, sizeof graph, "GRAPH_API_BASE_URL=%s", fake_url);
    const char *env[] = {db,
                         "JWT_SECRET=" H_JWT_SECRET,
                         graph,
                         "WHATSAPP_PHONE_NUMBER_ID=106540352242920",
                         "ENABLE_WHATSAPP_NOTIFICATIONS=false",
                         NULL};
    assert_true(h_start(&p, "notification-service", "NOTIFICATION_PORT", env, "/ready"));
    r = get(&p, STATUS, admin);
    assert_int_equal(r.status, 200);
    assert_true(json_is_false(json_object_get(r.json, "credentials_configured")));
    assert_true(json_is_false(json_object_get(r.json, "enabled")));
    json_t *missing = json_object_get(r.json, "missing");
    assert_int_equal(json_array_size(missing), 2);
    assert_string_equal(json_string_value(json_array_get(missing, 0)),
                        "WHATSAPP_BUSINESS_ACCOUNT_ID");
    assert_string_equal(json_string_value(json_array_get(missing, 1)), "WHATSAPP_ACCESS_TOKEN");
    h_resp_free(&r);
    r = get(&p, PHONES, svc);
    h_assert_error(&r, 503, "whatsapp_not_configured");
    assert_string_equal(str(r.json, "message"), "WhatsApp master account not configured");
    h_resp_free(&r);
    r = get(&p, TEMPLATES, svc);
    h_assert_error(&r, 503, "whatsapp_not_configured");
    h_resp_free(&r);
    /* the health says so inside a 200 */
    r = get(&p, HEALTH, svc);
    assert_int_equal(r.status, 200);
    json_t *account = json_object_get(r.json, "account");
    assert_string_equal(str(account, "state"), "disabled");
    assert_int_equal(json_array_size(json_object_get(account, "missing")), 2);
    assert_string_equal(str(json_object_get(r.json, "graph"), "error"),
                        "WhatsApp master account not configured");
    h_resp_free(&r);
    assert_int_equal(h_stop(&p), 0);
}

static void ready_with_every_dependency_up(void **state)
{
    (void)state;
    struct h_resp r = get(&cached, "/ready", NULL);
    assert_int_equal(r.status, 200);
    json_t *checks = json_object_get(r.json, "checks");
    assert_string_equal(str(checks, "database"), "ok");
    assert_string_equal(str(checks, "graph"), "ok");
    assert_string_equal(str(checks, "tenant_service"), "ok");
    assert_int_equal(json_array_size(json_object_get(r.json, "degraded")), 0);
    h_resp_free(&r);
}

/* A daemon that sends through the fake in the given mode, on its own fresh database
 * (the long-running daemons would otherwise send its messages too). */
static bool start_sending_daemon(struct h_proc *p, const char *db_name, enum send_mode mode,
                                 char *database, size_t len)
{
    atomic_store(&send_mode, mode);
    return h_fresh_database(db_name, database, len) && start_daemon(p, fake_url, "60", database);
}

/* Posts a purchase order for event_id; expects 202 and returns the message id (freed by
 * the caller). */
static char *post_po(const struct h_proc *p, const char *event_id)
{
    char *url = h_url(p->url, "/api/v1/notifications/purchase-orders");
    char *body = xasprintf("{\"event_id\": \"%s\", \"tenant_id\":"
                           " \"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa\", \"po_number\": \"PO-1\","
                           " \"supplier_name\": \"ABC\", \"supplier_phone\": \"+34612345678\","
                           " \"total_amount\": 10, \"currency\": \"EUR\"}",
                           event_id);
    struct h_resp r = h_json("POST", url, svc, body);
    assert_int_equal(r.status, 202);
    char *id = xstrdup(str(r.json, "message_id"));
    h_resp_free(&r);
    free(body);
    free(url);
    return id;
}

static bool paused(void *arg)
{
    struct h_resp r = get(arg, "/ready", NULL);
    bool p = r.status == 503;
    h_resp_free(&r);
    return p;
}

static void a_token_error_makes_ready_fail(void **state)
{
    (void)state;
    struct h_proc p;
    char database[256];
    assert_true(start_sending_daemon(&p, "it_notif_api_pause", SEND_TOKEN_ERROR, database,
                                     sizeof database));
    free(post_po(&p, "5b0f4a52-8c1e-4d3c-9a57-0a4c3f6e2b11"));
    /* eventually, not a bound of the contract: generous for sanitized daemons on a busy
     * machine */
    assert_true(h_wait_until(paused, &p, 30000));

    struct h_resp r = get(&p, "/ready", NULL);
    assert_int_equal(r.status, 503);
    assert_string_equal(str(r.json, "failing"), "graph");
    const char *graph = str(json_object_get(r.json, "checks"), "graph");
    assert_non_null(graph);
    assert_true(strncmp(graph, "paused: ", 8) == 0);
    assert_non_null(strstr(graph, "Session has expired"));
    h_resp_free(&r);

    r = get(&p, STATUS, admin);
    assert_true(json_is_true(json_object_get(r.json, "sending_paused")));
    assert_non_null(strstr(str(r.json, "paused_reason"), "Session has expired"));
    h_resp_free(&r);
    assert_int_equal(h_stop(&p), 0);
    assert_int_equal(h_log_count(&p, TOKEN), 0);
}

struct row_wait {
    const char *database;
    const char *sql;
    const char *want;
};

static bool row_is(void *arg)
{
    const struct row_wait *w = arg;
    char *v = h_sql(w->database, w->sql);
    bool ok = v && strcmp(v, w->want) == 0;
    free(v);
    return ok;
}

static void a_status_before_the_send_answer_is_kept_and_applied(void **state)
{
    (void)state;
    struct h_proc p;
    char database[256];
    assert_true(start_sending_daemon(&p, "it_notif_api_handover", SEND_STATUS_FIRST, database,
                                     sizeof database));
    snprintf(hook_url, sizeof hook_url, "%s/api/v1/whatsapp/webhook", p.url);
    char *id = post_po(&p, "7d2c4a52-8c1e-4d3c-9a57-0a4c3f6e2b12");
    /* the time Meta reported (delivered_at itself is never before the send) */
    char *sql = xasprintf("SELECT status || ' ' || coalesce(extract(epoch FROM "
                          "delivered_reported_at)"
                          "::bigint::text, '-') || ' ' || (sent_at IS NOT NULL) || ' ' ||"
                          " (wamid LIKE 'wamid.%%') FROM whatsapp_messages WHERE id = '%s'",
                          id);
    struct row_wait w = {database, sql, "delivered 1750263800 true true"};
    bool done = h_wait_until(row_is, &w, 30000); /* eventually, as above */
    if (!done) {
        char *v = h_sql(database, sql);
        fprintf(stderr, "row: %s\n", v ? v : "(none)");
        free(v);
    }
    assert_true(done);
    char *left = h_sql(database, "SELECT count(*) FROM whatsapp_pending_statuses");
    assert_string_equal(left, "0");
    free(left);
    free(sql);
    free(id);
    atomic_store(&send_mode, SEND_TOKEN_ERROR);
    assert_int_equal(h_stop(&p), 0);
    assert_true(h_log_count(&p, "pending statuses applied") == 1);
}

static void phone_numbers_from_graph_sim(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/graph-sim",
             getenv("BIN_DIR") && *getenv("BIN_DIR") ? getenv("BIN_DIR") : "build/asan");
    if (access(path, X_OK) != 0)
        fail_msg("graph-sim is not built: %s", path); /* make builds it with the services */
    struct h_proc sim, p;
    const char *sim_env[] = {"GRAPH_SIM_ACCESS_TOKEN=" TOKEN, "GRAPH_SIM_WABA_ID=" WABA,
                             "GRAPH_SIM_PHONE_COUNT=120", NULL};
    assert_true(h_start(&sim, "graph-sim", "GRAPH_SIM_PORT", sim_env, "/health"));
    assert_true(start_daemon(&p, sim.url, "60", NULL));
    struct h_resp r = get(&p, PHONES, svc);
    if (r.status != 200)
        fprintf(stderr, "phone-numbers: %s\n", r.body);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(r.json), 120);
    size_t i;
    json_t *item;
    json_array_foreach (r.json, i, item) {
        assert_non_null(str(item, "id"));
        assert_non_null(str(item, "display_phone_number"));
        assert_non_null(str(item, "quality_rating"));
    }
    h_resp_free(&r);
    r = get(&p, TEMPLATES "?name=po_notification", svc);
    assert_int_equal(r.status, 200);
    assert_true(json_array_size(r.json) >= 1);
    h_resp_free(&r);
    assert_int_equal(h_stop(&p), 0);
    assert_int_equal(h_stop(&sim), 0);

    /* graph-sim gone: 502 */
    assert_true(start_daemon(&p, sim.url, "60", NULL));
    r = get(&p, PHONES, svc);
    h_assert_error(&r, 502, "graph_unavailable");
    h_resp_free(&r);
    assert_int_equal(h_stop(&p), 0);
}

static void the_token_never_reaches_a_log(void **state)
{
    (void)state;
    assert_int_equal(h_stop(&cached), 0);
    assert_int_equal(h_stop(&uncached), 0);
    assert_int_equal(h_log_count(&cached, TOKEN), 0);
    assert_int_equal(h_log_count(&uncached, TOKEN), 0);
    assert_int_equal(h_log_count(&uncached, "EAAfake"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(phone_numbers_follow_every_page_and_are_cached),
        cmocka_unit_test(templates_are_filtered_by_name),
        cmocka_unit_test(graph_errors_are_502_with_metas_message),
        cmocka_unit_test(graph_unreachable_is_502),
        cmocka_unit_test(health_answers_when_graph_is_down),
        cmocka_unit_test(health_serves_the_cached_lists_when_graph_fails),
        cmocka_unit_test(config_status_and_missing_credentials),
        cmocka_unit_test(ready_with_every_dependency_up),
        cmocka_unit_test(a_token_error_makes_ready_fail),
        cmocka_unit_test(a_status_before_the_send_answer_is_kept_and_applied),
        cmocka_unit_test(phone_numbers_from_graph_sim),
        cmocka_unit_test(the_token_never_reaches_a_log),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
