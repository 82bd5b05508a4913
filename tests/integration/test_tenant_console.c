/* test_tenant_console.c - the web pages' sign-in and live stream (issue 22) against two
 * real tenant-service instances on one database: a one-time link exchanged for an
 * HttpOnly SameSite=Strict cookie (once; used, expired and unknown codes refused; only
 * hashes stored), writes with the cookie need the CSRF token, sign-out ends the session
 * everywhere; GET /api/v1/events tells a change made through instance A on a stream of
 * instance B within 2 s, shows users only their own bakery, tells quota crossings and
 * (to admins only) the WhatsApp account's changes, and keeps to EVENTS_MAX_STREAMS. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "harness.h"
#include "harness_raw.h"
#include "harness_tenant.h"

#define MAX_STREAMS 3 /* instance B's EVENTS_MAX_STREAMS */

static struct {
    char db_url[512];
    struct h_proc a, b; /* two instances, one database */
    char t1[HT_ID_LEN], t2[HT_ID_LEN];
    char *owner1, *owner2;
} w;

static int setup(void **state)
{
    (void)state;
    if (!h_fresh_database("it_tenant_console", w.db_url, sizeof w.db_url))
        return -1;
    const char *env_b[] = {"EVENTS_MAX_STREAMS=3", "PUBLIC_URL=https://console.example.com/", NULL};
    if (!ht_start_tenant(&w.a, w.db_url, ht_dead_url(), NULL, NULL) ||
        !ht_start_tenant(&w.b, w.db_url, ht_dead_url(), NULL, env_b))
        return -1;
    ht_create_tenant(&w.a, "Panadería San Juan", w.t1);
    ht_create_tenant(&w.a, "Horno Santa Ana", w.t2);
    w.owner1 = ht_user(w.t1, "owner");
    w.owner2 = ht_user(w.t2, "owner");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = h_stop(&w.a) | h_stop(&w.b);
    free(w.owner1);
    free(w.owner2);
    return rc == 0 ? 0 : -1;
}

/* ---------- helpers ---------- */

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* POST /api/v1/auth/links on p with body, as token; returns the code of the 201 (a fresh
 * string) or fails. */
static char *make_link(const struct h_proc *p, const char *token, const char *body)
{
    struct h_resp r = ht_call(p, "POST", "/api/v1/auth/links", token, body);
    if (r.status != 201)
        fprintf(stderr, "link: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 201);
    const char *url = ht_str(&r, "url");
    const char *at = strstr(url, "/app/sign-in#code=");
    assert_non_null(at);
    char *code = xstrdup(at + strlen("/app/sign-in#code="));
    assert_int_equal(strlen(code), 64);
    h_resp_free(&r);
    return code;
}

static char *owner_link(const struct h_proc *p, const char *tenant)
{
    char *body = xasprintf("{\"role\": \"user\", \"tenant_id\": \"%s\", \"tenant_role\": "
                           "\"owner\", \"sub\": \"ana@sanjuan.example\", \"ttl_seconds\": 600}",
                           tenant);
    char *code = make_link(p, ht_admin(), body);
    free(body);
    return code;
}

/* POST /api/v1/auth/sessions {"code": code} on p (extra header lines may be NULL). */
static struct h_resp use_code(const struct h_proc *p, const char *code, const char *headers,
                              char **head)
{
    char *body = xasprintf("{\"code\": \"%s\"}", code);
    char *hdrs = xasprintf("Content-Type: application/json\r\n%s", headers ? headers : "");
    struct h_resp r =
        h_raw_request(p->port, "POST", "/api/v1/auth/sessions", hdrs, body, strlen(body), head);
    free(hdrs);
    free(body);
    return r;
}

/* The session cookie's value from a Set-Cookie in head, into out. */
static void cookie_of(const char *head, char out[80])
{
    char set[512];
    assert_true(h_head_value(head, "Set-Cookie", set, sizeof set));
    assert_true(strncmp(set, "bakery_session=", 15) == 0);
    size_t n = strcspn(set + 15, ";");
    assert_true(n < 80);
    memcpy(out, set + 15, n);
    out[n] = '\0';
}

/* method path on p with the session cookie, the CSRF token (NULL: none) and a JSON
 * body (NULL: none). */
static struct h_resp with_cookie(const struct h_proc *p, const char *method, const char *path,
                                 const char *cookie, const char *csrf, const char *body,
                                 char **head)
{
    char *hdrs = xasprintf("Cookie: theme=dark; bakery_session=%s\r\n%s%s%s%s", cookie,
                           csrf ? "X-CSRF-Token: " : "", csrf ? csrf : "", csrf ? "\r\n" : "",
                           body ? "Content-Type: application/json\r\n" : "");
    struct h_resp r =
        h_raw_request(p->port, method, path, hdrs, body, body ? strlen(body) : 0, head);
    free(hdrs);
    return r;
}

/* Signs the owner of tenant in through a link made on p: the cookie and CSRF token. */
static void sign_in(const struct h_proc *p, const char *tenant, char cookie[80], char csrf[80])
{
    char *code = owner_link(p, tenant);
    char *head = NULL;
    struct h_resp r = use_code(p, code, NULL, &head);
    assert_int_equal(r.status, 201);
    cookie_of(head, cookie);
    snprintf(csrf, 80, "%s", ht_str(&r, "csrf_token"));
    assert_int_equal(strlen(csrf), 64);
    h_resp_free(&r);
    free(head);
    free(code);
}

/* ---------- sign-in ---------- */

static void a_link_signs_in_once_into_an_httponly_strict_cookie(void **state)
{
    (void)state;
    char *code = owner_link(&w.b, w.t1);
    /* Only the code's SHA-256 is stored. */
    char *sql = xasprintf("SELECT count(*) FROM sign_in_links WHERE code_hash = "
                          "sha256(convert_to('%s', 'UTF8'))",
                          code);
    char *stored = h_sql(w.db_url, sql);
    assert_string_equal(stored, "1");
    free(stored);
    free(sql);
    sql = xasprintf("SELECT count(*) FROM sign_in_links WHERE encode(code_hash, 'hex') = '%s' "
                    "OR sub LIKE '%%%s%%'",
                    code, code);
    stored = h_sql(w.db_url, sql);
    assert_string_equal(stored, "0");
    free(stored);
    free(sql);

    /* Opened on the other instance: the link is the database's, not a process's. */
    char *head = NULL;
    struct h_resp r = use_code(&w.a, code, NULL, &head);
    assert_int_equal(r.status, 201);
    assert_string_equal(ht_str(&r, "role"), "user");
    assert_string_equal(ht_str(&r, "tenant_id"), w.t1);
    assert_string_equal(ht_str(&r, "tenant_role"), "owner");
    assert_string_equal(ht_str(&r, "sub"), "ana@sanjuan.example");
    assert_string_equal(ht_str(&r, "next"), "/app/settings/notifications");
    char set[512];
    assert_true(h_head_value(head, "Set-Cookie", set, sizeof set));
    assert_non_null(strstr(set, "; HttpOnly"));
    assert_non_null(strstr(set, "; SameSite=Strict"));
    assert_non_null(strstr(set, "; Path=/"));
    assert_null(strstr(set, "Secure")); /* plain HTTP, and A has no PUBLIC_URL */
    h_resp_free(&r);
    free(head);

    /* Once only, on either instance. */
    r = use_code(&w.a, code, NULL, NULL);
    h_assert_error(&r, 401, "sign_in_link_used");
    h_resp_free(&r);
    r = use_code(&w.b, code, NULL, NULL);
    h_assert_error(&r, 401, "sign_in_link_used");
    h_resp_free(&r);
    code[0] = code[0] == 'a' ? 'b' : 'a';
    r = use_code(&w.a, code, NULL, NULL);
    h_assert_error(&r, 401, "sign_in_link_unknown");
    h_resp_free(&r);
    r = use_code(&w.a, "not-a-code", NULL, NULL);
    h_assert_error(&r, 401, "sign_in_link_unknown");
    h_resp_free(&r);
    free(code);
}

static void an_expired_link_is_refused(void **state)
{
    (void)state;
    char *code = make_link(&w.a, ht_service(), "{\"role\": \"admin\", \"ttl_seconds\": 60}");
    char *sql = xasprintf("UPDATE sign_in_links SET expires_at = now() - interval '1 second' "
                          "WHERE code_hash = sha256(convert_to('%s', 'UTF8')) RETURNING 1",
                          code);
    char *done = h_sql(w.db_url, sql);
    assert_string_equal(done, "1");
    struct h_resp r = use_code(&w.a, code, NULL, NULL);
    h_assert_error(&r, 401, "sign_in_link_expired");
    h_resp_free(&r);
    free(done);
    free(sql);
    free(code);
}

static void links_are_checked_and_made_by_admins_and_services_only(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        long status;
        const char *field;
    } cases[] = {
        {"{\"role\": \"service\"}", 422, "role"},
        {"{\"role\": \"root\"}", 422, "role"},
        {"{\"role\": \"user\", \"tenant_role\": \"owner\"}", 422, "tenant_id"},
        {"{\"role\": \"user\", \"tenant_id\": \"nope\", \"tenant_role\": \"owner\"}", 422,
         "tenant_id"},
        {"{\"role\": \"user\", \"tenant_id\": \"%s\", \"tenant_role\": \"boss\"}", 422,
         "tenant_role"},
        {"{\"role\": \"admin\", \"tenant_id\": \"%s\"}", 422, "tenant_id"},
        {"{\"role\": \"admin\", \"ttl_seconds\": 901}", 422, "ttl_seconds"},
        {"{\"role\": \"admin\", \"ttl_seconds\": 59}", 422, "ttl_seconds"},
        {"{\"role\": \"admin\", \"sub\": \"\"}", 422, "sub"},
        {"{\"role\": \"admin\", \"extra\": 1}", 422, "extra"},
        {"{\"role\": \"user\", \"tenant_id\": \"00000000-0000-4000-8000-000000000000\", "
         "\"tenant_role\": \"owner\"}",
         404, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *body = xasprintf(cases[i].body, w.t1);
        struct h_resp r = ht_call(&w.a, "POST", "/api/v1/auth/links", ht_admin(), body);
        if (r.status != cases[i].status)
            fprintf(stderr, "%s: %ld %s\n", body, r.status, r.body);
        assert_int_equal(r.status, cases[i].status);
        if (cases[i].field)
            assert_string_equal(ht_str(&r, "field"), cases[i].field);
        h_resp_free(&r);
        free(body);
    }
    /* An owner cannot make links (not even for itself). */
    char *body = xasprintf("{\"role\": \"user\", \"tenant_id\": \"%s\", \"tenant_role\": "
                           "\"owner\"}",
                           w.t1);
    struct h_resp r = ht_call(&w.a, "POST", "/api/v1/auth/links", w.owner1, body);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    free(body);
    /* PUBLIC_URL names the link's address (instance B has one). */
    r = ht_call(&w.b, "POST", "/api/v1/auth/links", ht_admin(), "{\"role\": \"admin\"}");
    assert_int_equal(r.status, 201);
    assert_true(strncmp(ht_str(&r, "url"), "https://console.example.com/app/sign-in#code=", 45) ==
                0);
    h_resp_free(&r);
}

static void the_cookie_is_secure_when_the_pages_are_https(void **state)
{
    (void)state;
    char *code = owner_link(&w.a, w.t1);
    char *head = NULL;
    struct h_resp r = use_code(&w.a, code, "X-Forwarded-Proto: https\r\n", &head);
    assert_int_equal(r.status, 201);
    char set[512];
    assert_true(h_head_value(head, "Set-Cookie", set, sizeof set));
    assert_non_null(strstr(set, "; Secure"));
    h_resp_free(&r);
    free(head);
    free(code);
    /* PUBLIC_URL https:// (instance B) makes it Secure without the proxy's word. */
    code = owner_link(&w.b, w.t1);
    r = use_code(&w.b, code, NULL, &head);
    assert_int_equal(r.status, 201);
    assert_true(h_head_value(head, "Set-Cookie", set, sizeof set));
    assert_non_null(strstr(set, "; Secure"));
    h_resp_free(&r);
    free(head);
    free(code);
}

static void writes_with_the_cookie_need_the_csrf_token(void **state)
{
    (void)state;
    char cookie[80], csrf[80];
    sign_in(&w.a, w.t1, cookie, csrf);
    char *path = xasprintf("/api/v1/tenants/%s/settings/notifications", w.t1);
    const char *body = "{\"whatsapp_default_language\": \"eu\"}";

    struct h_resp r = with_cookie(&w.b, "GET", path, cookie, NULL, NULL, NULL);
    assert_int_equal(r.status, 200); /* reads need no token, on either instance */
    h_resp_free(&r);
    r = with_cookie(&w.b, "PUT", path, cookie, NULL, body, NULL);
    h_assert_error(&r, 403, "csrf_token_invalid");
    h_resp_free(&r);
    char wrong[80];
    snprintf(wrong, sizeof wrong, "%s", csrf);
    wrong[5] = wrong[5] == '0' ? '1' : '0';
    r = with_cookie(&w.b, "PUT", path, cookie, wrong, body, NULL);
    h_assert_error(&r, 403, "csrf_token_invalid");
    h_resp_free(&r);
    char *lang = h_sql(w.db_url, "SELECT string_agg(notification_settings->>"
                                 "'whatsapp_default_language', ',') FROM tenant_settings");
    assert_null(strstr(lang, "eu")); /* nothing was written */
    free(lang);
    r = with_cookie(&w.b, "PUT", path, cookie, csrf, body, NULL);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);

    /* The owner's session has the owner's rights, no more. */
    r = with_cookie(&w.a, "GET", "/api/v1/admin/whatsapp/tenants", cookie, NULL, NULL, NULL);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    char *other = xasprintf("/api/v1/tenants/%s/settings/notifications", w.t2);
    r = with_cookie(&w.a, "GET", other, cookie, NULL, NULL, NULL);
    assert_int_equal(r.status, 403);
    h_resp_free(&r);
    free(other);

    /* What the pages ask on load: who, until when, and the CSRF token. */
    r = with_cookie(&w.a, "GET", "/api/v1/auth/session", cookie, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_str(&r, "via"), "cookie");
    assert_string_equal(ht_str(&r, "csrf_token"), csrf);
    assert_string_equal(ht_str(&r, "tenant_id"), w.t1);
    h_resp_free(&r);
    /* A bearer token is still the API's way in, and needs no CSRF token. */
    r = ht_call(&w.a, "PUT", path, w.owner1, body);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(path);
}

static void signing_out_ends_the_session_on_every_instance(void **state)
{
    (void)state;
    char cookie[80], csrf[80];
    sign_in(&w.b, w.t1, cookie, csrf);
    struct h_resp r = with_cookie(&w.a, "DELETE", "/api/v1/auth/session", cookie, NULL, NULL, NULL);
    h_assert_error(&r, 403, "csrf_token_invalid");
    h_resp_free(&r);
    char *head = NULL;
    r = with_cookie(&w.a, "DELETE", "/api/v1/auth/session", cookie, csrf, NULL, &head);
    assert_int_equal(r.status, 200);
    char set[512];
    assert_true(h_head_value(head, "Set-Cookie", set, sizeof set));
    assert_non_null(strstr(set, "bakery_session=; Path=/; Max-Age=0"));
    free(head);
    h_resp_free(&r);
    r = with_cookie(&w.b, "GET", "/api/v1/auth/session", cookie, NULL, NULL, NULL);
    h_assert_error(&r, 401, "session_expired");
    h_resp_free(&r);
    r = with_cookie(&w.a, "GET", "/api/v1/support-contact", cookie, NULL, NULL, NULL);
    h_assert_error(&r, 401, "session_expired");
    h_resp_free(&r);
    /* A forged cookie is nobody's, and so is an ended one. */
    r = with_cookie(&w.a, "GET", "/api/v1/support-contact", "deadbeef", NULL, NULL, NULL);
    h_assert_error(&r, 401, "session_expired");
    h_resp_free(&r);
}

static void a_bearer_token_becomes_a_session_no_longer_than_itself(void **state)
{
    (void)state;
    char *token = h_token("user", w.t1, "owner", "ana", 120);
    char *hdrs = xasprintf("Authorization: Bearer %s\r\nContent-Type: application/json\r\n", token);
    char *head = NULL;
    struct h_resp r =
        h_raw_request(w.a.port, "POST", "/api/v1/auth/sessions", hdrs, "{}", 2, &head);
    assert_int_equal(r.status, 201);
    char set[512];
    assert_true(h_head_value(head, "Set-Cookie", set, sizeof set));
    const char *age = strstr(set, "Max-Age=");
    assert_non_null(age);
    long max_age = strtol(age + 8, NULL, 10);
    assert_true(max_age > 100 && max_age <= 120);
    h_resp_free(&r);
    free(head);
    free(hdrs);
    free(token);
    /* A service token opens no session; no code and no token is 401. */
    hdrs =
        xasprintf("Authorization: Bearer %s\r\nContent-Type: application/json\r\n", ht_service());
    r = h_raw_request(w.a.port, "POST", "/api/v1/auth/sessions", hdrs, "{}", 2, NULL);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    free(hdrs);
    r = h_raw_request(w.a.port, "POST", "/api/v1/auth/sessions",
                      "Content-Type: application/json\r\n", "{}", 2, NULL);
    h_assert_error(&r, 401, "unauthorized");
    h_resp_free(&r);
}

/* ---------- the live stream ---------- */

static char *bearer(const char *token)
{
    return xasprintf("Authorization: Bearer %s\r\n", token);
}

/* The admin's stream tells an event of type that names needle within 2 s (events told
 * before it, a previous step's among them, are skipped). */
static void told_as(struct h_stream *admin, const char *type, const char *needle)
{
    char *event = h_stream_event(admin, type, needle, 2000);
    assert_non_null(event);
    free(event);
}

static void a_change_through_instance_a_reaches_a_stream_of_instance_b_within_2s(void **state)
{
    (void)state;
    struct h_stream admin, own, other;
    char *h_admin = bearer(ht_admin()), *h_own = bearer(w.owner1), *h_other = bearer(w.owner2);
    assert_true(h_stream_open(&admin, &w.b, h_admin));
    assert_true(h_stream_open(&own, &w.b, h_own));
    assert_true(h_stream_open(&other, &w.b, h_other));
    assert_true(h_stream_wait(&admin, "text/event-stream", 5000));
    assert_true(h_stream_wait(&admin, "event: hello", 5000));
    assert_true(h_stream_wait(&own, "event: hello", 5000));
    assert_true(h_stream_wait(&other, "event: hello", 5000));

    char *path = xasprintf("/api/v1/tenants/%s/settings/notifications", w.t1);
    char *told = xasprintf("\"tenant_id\":\"%s\"", w.t1);
    for (int round = 0; round < 3; round++) {
        long start = now_ms();
        struct h_resp r =
            ht_call(&w.a, "PUT", path, w.owner1,
                    round % 2 ? "{\"whatsapp_enabled\": false}" : "{\"whatsapp_enabled\": true}");
        assert_int_equal(r.status, 200);
        h_resp_free(&r);
        told_as(&admin, "settings", told);
        assert_true(h_stream_wait(&own, told, 2000));
        long took = now_ms() - start;
        fprintf(stderr, "# round %d: instance B told it after %ld ms\n", round, took);
        assert_true(took < 2000);
    }
    /* The other bakery's owner heard nothing of it, and hears its own. */
    assert_false(h_stream_wait(&other, told, 300));
    char *other_path = xasprintf("/api/v1/tenants/%s/settings/notifications", w.t2);
    struct h_resp r = ht_call(&w.a, "PUT", other_path, w.owner2, "{\"whatsapp_enabled\": true}");
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    char *told2 = xasprintf("\"tenant_id\":\"%s\"", w.t2);
    assert_true(h_stream_wait(&other, told2, 2000));
    assert_true(h_stream_wait(&admin, told2, 2000));
    assert_false(h_stream_wait(&own, told2, 300));

    /* A quota crossing reaches the audit log without a settings change: told too. */
    char *quota = xasprintf("/api/v1/internal/tenants/%s/quota-events", w.t1);
    r = ht_call(&w.a, "POST", quota, ht_service(),
                "{\"event\": \"quota_warning\", \"used\": 400, \"quota\": 500, \"month\": "
                "\"2026-12\"}");
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    told_as(&admin, "audit", "\"action\":\"quota_warning\"");
    assert_true(h_stream_wait(&own, "\"action\":\"quota_warning\"", 2000));

    /* A change of the WhatsApp account, told through A, reaches admins only. */
    r = ht_call(&w.a, "POST", "/api/v1/internal/whatsapp/account-events", ht_service(),
                "{\"kind\": \"paused\", \"source\": \"send\", \"code\": 131031, "
                "\"reason\": \"(#131031) Business account has been locked\"}");
    assert_int_equal(r.status, 201);
    h_resp_free(&r);
    told_as(&admin, "account", "\"kind\":\"paused\"");
    assert_false(h_stream_wait(&own, "event: account", 300));
    assert_false(h_stream_wait(&other, "event: account", 100));

    h_stream_close(&admin);
    h_stream_close(&own);
    h_stream_close(&other);
    free(quota);
    free(told2);
    free(other_path);
    free(told);
    free(path);
    free(h_admin);
    free(h_own);
    free(h_other);
}

static void a_session_cookie_opens_a_stream_and_the_count_is_bounded(void **state)
{
    (void)state;
    char cookie[80], csrf[80];
    sign_in(&w.a, w.t1, cookie, csrf);
    char *h_cookie = xasprintf("Cookie: bakery_session=%s\r\n", cookie);
    struct h_stream s[MAX_STREAMS];
    for (int i = 0; i < MAX_STREAMS; i++) {
        assert_true(h_stream_open(&s[i], &w.b, h_cookie));
        assert_true(h_stream_wait(&s[i], "event: hello", 5000));
    }
    /* One more than EVENTS_MAX_STREAMS: refused, and the page polls instead. */
    char *head = NULL;
    char *req_headers = xasprintf("Accept: text/event-stream\r\n%s", h_cookie);
    struct h_resp r = h_raw_request(w.b.port, "GET", "/api/v1/events", req_headers, NULL, 0, &head);
    h_assert_error(&r, 503, "too_many_streams");
    char retry[16];
    assert_true(h_head_value(head, "Retry-After", retry, sizeof retry));
    h_resp_free(&r);
    free(head);
    /* Without Accept: text/event-stream it is not a stream. */
    r = with_cookie(&w.a, "GET", "/api/v1/events", cookie, NULL, NULL, NULL);
    h_assert_error(&r, 406, "not_acceptable");
    h_resp_free(&r);
    /* A stream needs the API's sign-in: none, or an ended session, is 401. */
    r = h_raw_request(w.a.port, "GET", "/api/v1/events", "Accept: text/event-stream\r\n", NULL, 0,
                      NULL);
    h_assert_error(&r, 401, "unauthorized");
    h_resp_free(&r);
    /* A service token is not a page's. */
    char *svc =
        xasprintf("Accept: text/event-stream\r\nAuthorization: Bearer %s\r\n", ht_service());
    r = h_raw_request(w.a.port, "GET", "/api/v1/events", svc, NULL, 0, NULL);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    free(svc);

    /* A closed stream gives its place back (found by the next write). */
    h_stream_close(&s[0]);
    char *path = xasprintf("/api/v1/tenants/%s/settings/notifications", w.t1);
    bool reopened = false;
    for (int i = 0; i < 20 && !reopened; i++) {
        r = ht_call(&w.a, "PUT", path, w.owner1,
                    i % 2 ? "{\"whatsapp_enabled\": true}" : "{\"whatsapp_enabled\": false}");
        h_resp_free(&r);
        usleep(200 * 1000);
        struct h_stream again;
        assert_true(h_stream_open(&again, &w.b, h_cookie));
        reopened = h_stream_wait(&again, "event: hello", 1000);
        h_stream_close(&again);
    }
    assert_true(reopened);
    for (int i = 1; i < MAX_STREAMS; i++)
        h_stream_close(&s[i]);
    free(path);
    free(req_headers);
    free(h_cookie);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_link_signs_in_once_into_an_httponly_strict_cookie),
        cmocka_unit_test(an_expired_link_is_refused),
        cmocka_unit_test(links_are_checked_and_made_by_admins_and_services_only),
        cmocka_unit_test(the_cookie_is_secure_when_the_pages_are_https),
        cmocka_unit_test(writes_with_the_cookie_need_the_csrf_token),
        cmocka_unit_test(signing_out_ends_the_session_on_every_instance),
        cmocka_unit_test(a_bearer_token_becomes_a_session_no_longer_than_itself),
        cmocka_unit_test(a_change_through_instance_a_reaches_a_stream_of_instance_b_within_2s),
        cmocka_unit_test(a_session_cookie_opens_a_stream_and_the_count_is_bounded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
