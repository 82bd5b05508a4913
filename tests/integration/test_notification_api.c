/* test_notification_api.c - notification-service's intake and message reading against a
 * real PostgreSQL: validation naming each field, idempotency (replays, conflicts, 20
 * concurrent posts of one event), ENABLE_WHATSAPP_NOTIFICATIONS=false, roles, keyset
 * paging and tenant scoping, a tenant's activity counts, /ready and /metrics, and 503
 * (never a hang) when the database goes away. Nothing is sent: Graph and tenant-service
 * point at dead ports and the master credentials are unset. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "alloc.h"
#include "harness.h"
#include "harness_relay.h"
#include "uuidutil.h"

#define TENANT_A "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define TENANT_B "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
#define PO_PATH "/api/v1/notifications/purchase-orders"
#define TPL_PATH "/api/v1/whatsapp/messages"
#define CONCURRENT_POSTS 20

static char db_url[256];
static struct h_proc api;
static char *svc, *admin, *user_a, *user_b, *expired;

/* ---------- helpers ---------- */

static bool start_daemon(struct h_proc *p, const char *url, const char *extra)
{
    char db[320], graph[64], tenant[64];
    snprintf(db, sizeof db, "NOTIFICATION_DATABASE_URL=%s", url);
    snprintf(graph, sizeof graph, "GRAPH_API_BASE_URL=http://127.0.0.1:%u", h_free_port());
    snprintf(tenant, sizeof tenant, "TENANT_SERVICE_URL=http://127.0.0.1:%u", h_free_port());
    const char *env[] = {db, "JWT_SECRET=" H_JWT_SECRET, graph, tenant, extra, NULL};
    return h_start(p, "notification-service", "NOTIFICATION_PORT", env, "/ready");
}

static struct h_resp call(const struct h_proc *p, const char *method, const char *path,
                          const char *token, const char *body)
{
    char *url = h_url(p->url, "%s", path);
    struct h_resp r =
        body ? h_json(method, url, token, body) : h_http(method, url, token, NULL, NULL, 0);
    free(url);
    return r;
}

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* The whole row of a message as JSON (row_to_json), or NULL. */
static json_t *db_row(const char *url, const char *id)
{
    char *sql = xasprintf("SELECT row_to_json(m) FROM whatsapp_messages m WHERE id = '%s'", id);
    char *text = h_sql(url, sql);
    json_t *row = text && *text ? json_loads(text, 0, NULL) : NULL;
    free(sql);
    free(text);
    return row;
}

static long db_count(const char *url, const char *sql)
{
    char *text = h_sql(url, sql);
    long n = text ? strtol(text, NULL, 10) : -1;
    free(text);
    return n;
}

static void new_id(char out[UUID_STR_LEN])
{
    uuid_new(out);
}

/* A purchase-order body as text: the valid defaults, with key's value replaced by the
 * raw JSON text raw (NULL: the key left out; a key not among the defaults is added). */
static char *po_body(const char *event_id, const char *key, const char *raw)
{
    const char *keys[] = {"event_id",       "tenant_id",    "po_number", "supplier_name",
                          "supplier_phone", "total_amount", "currency"};
    char event[64];
    snprintf(event, sizeof event, "\"%s\"", event_id);
    const char *values[] = {
        event,  "\"" TENANT_A "\"", "\"PO-2024-001\"", "\"Proveedor ABC\"", "\"+34 (612) 345-678\"",
        "1250", "\"EUR\""};
    struct buf b = {0};
    bool found = false;
    buf_append_str(&b, "{");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = values[i];
        if (key && strcmp(key, keys[i]) == 0) {
            found = true;
            v = raw;
        }
        if (v)
            buf_printf(&b, "%s\"%s\": %s", b.len > 1 ? ", " : "", keys[i], v);
    }
    if (key && !found)
        buf_printf(&b, ", \"%s\": %s", key, raw);
    buf_append_str(&b, "}");
    return buf_steal(&b);
}

static struct h_resp post_po(const char *event_id, const char *key, const char *raw)
{
    char *body = po_body(event_id, key, raw);
    struct h_resp r = call(&api, "POST", PO_PATH, svc, body);
    free(body);
    return r;
}

static void assert_field_error(const struct h_resp *r, const char *field)
{
    h_assert_error(r, 422, "validation_error");
    const char *got = str(r->json, "field");
    if (!got || strcmp(got, field) != 0)
        fprintf(stderr, "expected field %s: %s\n", field, r->body);
    assert_non_null(got);
    assert_string_equal(got, field);
}

/* ---------- setup ---------- */

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!h_fresh_database("it_notif_api", db_url, sizeof db_url))
        return -1;
    svc = h_token("service", NULL, NULL, "order-service", 3600);
    admin = h_token("admin", NULL, NULL, "root", 3600);
    user_a = h_token("user", TENANT_A, "owner", "alice", 3600);
    user_b = h_token("user", TENANT_B, "viewer", "bob", 3600);
    expired = h_token("service", NULL, NULL, "order-service", -60);
    return start_daemon(&api, db_url, "LOG_LEVEL=info") ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    h_stop(&api);
    free(svc);
    free(admin);
    free(user_a);
    free(user_b);
    free(expired);
    curl_global_cleanup();
    return 0;
}

/* ---------- intake ---------- */

static void purchase_order_is_stored_normalized(void **state)
{
    (void)state;
    char event[UUID_STR_LEN];
    new_id(event);
    struct h_resp r = post_po(event, "supplier_name", "\"  Proveedor ABC  \"");
    assert_int_equal(r.status, 202);
    assert_true(json_is_true(json_object_get(r.json, "success")));
    assert_string_equal(str(r.json, "status"), "queued");
    const char *id = str(r.json, "message_id");
    assert_true(uuid_is_valid(id, NULL));

    json_t *row = db_row(db_url, id);
    assert_non_null(row);
    assert_string_equal(str(row, "kind"), "purchase_order");
    assert_string_equal(str(row, "tenant_id"), TENANT_A);
    assert_string_equal(str(row, "idempotency_key"), event);
    assert_string_equal(str(row, "template_name"), "po_notification");
    assert_true(json_is_null(json_object_get(row, "template_language")));
    assert_string_equal(str(row, "recipient_phone"), "+34612345678");
    assert_int_equal(strlen(str(row, "request_hash")), 64);
    json_t *params = json_object_get(row, "template_parameters");
    assert_int_equal(json_array_size(params), 2);
    assert_string_equal(json_string_value(json_array_get(params, 0)), "Proveedor ABC");
    assert_string_equal(json_string_value(json_array_get(params, 1)), "PO-2024-001");
    json_t *payload = json_object_get(row, "payload");
    assert_string_equal(str(payload, "supplier_name"), "Proveedor ABC");
    assert_string_equal(str(payload, "supplier_phone"), "+34612345678");
    assert_string_equal(str(payload, "total_amount"), "1250.00");
    assert_string_equal(str(payload, "currency"), "EUR");
    assert_string_equal(str(payload, "event_id"), event);
    json_decref(row);
    h_resp_free(&r);
}

static void amounts_are_exact_text(void **state)
{
    (void)state;
    static const struct {
        const char *raw, *stored;
    } cases[] = {
        {"0", "0.00"},          {"0.1", "0.10"},    {"12.5", "12.50"},
        {"1250.00", "1250.00"}, {"1e2", "100.00"},  {"-0.0", "0.00"},
        {"0.07", "0.07"},       {"19.99", "19.99"}, {"999999999999.99", "999999999999.99"},
        {"2.675", NULL},        {"1.005", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char event[UUID_STR_LEN];
        new_id(event);
        struct h_resp r = post_po(event, "total_amount", cases[i].raw);
        if (!cases[i].stored) {
            assert_field_error(&r, "total_amount");
            h_resp_free(&r);
            continue;
        }
        if (r.status != 202)
            fprintf(stderr, "amount %s: %s\n", cases[i].raw, r.body);
        assert_int_equal(r.status, 202);
        json_t *row = db_row(db_url, str(r.json, "message_id"));
        assert_string_equal(str(json_object_get(row, "payload"), "total_amount"), cases[i].stored);
        json_decref(row);
        h_resp_free(&r);
    }
}

/* Order services send money as Python's Decimal and most money libraries write it: a
 * decimal string. It is read exactly (never through a double) and stored as the same
 * "units.cc" text the JSON number gives. */
static void amounts_as_decimal_strings(void **state)
{
    (void)state;
    static const struct {
        const char *raw, *stored;
    } cases[] = {
        {"\"1250.00\"", "1250.00"},
        {"\"1250\"", "1250.00"},
        {"\"0.5\"", "0.50"},
        {"\"1250.5\"", "1250.50"},
        {"\"0\"", "0.00"},
        {"\"0.07\"", "0.07"},
        {"\"-0.00\"", "0.00"},
        {"\"1250.500\"", "1250.50"},
        {"\"999999999999.99\"", "999999999999.99"},
        {"\"2.675\"", NULL},
        {"\"1.005\"", NULL},
        {"\"0.001\"", NULL},
        {"\"-1\"", NULL},
        {"\"-0.01\"", NULL},
        {"\"1e2\"", NULL},
        {"\"1E2\"", NULL},
        {"\"1.5e1\"", NULL},
        {"\"+5\"", NULL},
        {"\" 5\"", NULL},
        {"\"5 \"", NULL},
        {"\"1 250.00\"", NULL},
        {"\"1,250.00\"", NULL},
        {"\"1250,00\"", NULL},
        {"\"\"", NULL},
        {"\".5\"", NULL},
        {"\"5.\"", NULL},
        {"\"-\"", NULL},
        {"\"01250\"", NULL},
        {"\"00.5\"", NULL},
        {"\"1000000000000\"", NULL},
        {"\"NaN\"", NULL},
        {"\"Infinity\"", NULL},
        {"\"0x10\"", NULL},
        {"\"12.50 EUR\"", NULL},
        {"\"12.5\\u0000\"", NULL},
        {"\"1.0000000000000000000000000000000\"", NULL}, /* 33 characters */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char event[UUID_STR_LEN];
        new_id(event);
        struct h_resp r = post_po(event, "total_amount", cases[i].raw);
        if (!cases[i].stored) {
            if (r.status != 422 && r.status != 400)
                fail_msg("amount %s: %ld %s", cases[i].raw, r.status, r.body);
            if (r.status == 422) {
                assert_field_error(&r, "total_amount");
                /* The sentence says both forms are taken. */
                const char *message = str(r.json, "message");
                assert_non_null(strstr(message, "JSON number"));
                assert_non_null(strstr(message, "decimal string"));
            }
            h_resp_free(&r);
            continue;
        }
        if (r.status != 202)
            fail_msg("amount %s: %ld %s", cases[i].raw, r.status, r.body);
        json_t *row = db_row(db_url, str(r.json, "message_id"));
        assert_string_equal(str(json_object_get(row, "payload"), "total_amount"), cases[i].stored);
        json_decref(row);
        h_resp_free(&r);
    }
    /* A refused number says so too. */
    char event[UUID_STR_LEN];
    new_id(event);
    struct h_resp r = post_po(event, "total_amount", "-1");
    assert_field_error(&r, "total_amount");
    assert_non_null(strstr(str(r.json, "message"), "decimal string"));
    h_resp_free(&r);
}

/* One event posted as 1250.5 and again as "1250.50" is the same request: the payload is
 * normalized before it is hashed, so the second post is a replay, not a conflict. */
static void an_amount_as_number_or_string_is_one_event(void **state)
{
    (void)state;
    char event[UUID_STR_LEN];
    new_id(event);
    struct h_resp first = post_po(event, "total_amount", "1250.5");
    assert_int_equal(first.status, 202);
    struct h_resp again = post_po(event, "total_amount", "\"1250.50\"");
    assert_int_equal(again.status, 200);
    assert_true(json_is_true(json_object_get(again.json, "duplicate")));
    assert_string_equal(str(again.json, "message_id"), str(first.json, "message_id"));
    h_resp_free(&again);
    again = post_po(event, "total_amount", "\"1250.5\"");
    assert_int_equal(again.status, 200);
    h_resp_free(&again);
    /* Another amount in either form is another request. */
    again = post_po(event, "total_amount", "\"1250.51\"");
    h_assert_error(&again, 409, "idempotency_conflict");
    h_resp_free(&again);

    /* Two events, one of each form: the same stored amount and parameters. */
    char other[UUID_STR_LEN];
    new_id(other);
    struct h_resp second = post_po(other, "total_amount", "\"1250.50\"");
    assert_int_equal(second.status, 202);
    json_t *a = db_row(db_url, str(first.json, "message_id"));
    json_t *b = db_row(db_url, str(second.json, "message_id"));
    assert_string_equal(str(json_object_get(a, "payload"), "total_amount"), "1250.50");
    assert_string_equal(str(json_object_get(b, "payload"), "total_amount"), "1250.50");
    assert_true(json_equal(json_object_get(a, "template_parameters"),
                           json_object_get(b, "template_parameters")));
    json_decref(a);
    json_decref(b);
    h_resp_free(&second);
    h_resp_free(&first);
}

static void purchase_order_validation_names_the_field(void **state)
{
    (void)state;
    static const struct {
        const char *key, *raw, *field;
    } cases[] = {
        {"event_id", NULL, "event_id"},
        {"event_id", "null", "event_id"},
        {"event_id", "123", "event_id"},
        {"event_id", "\"not-a-uuid\"", "event_id"},
        {"tenant_id", NULL, "tenant_id"},
        {"tenant_id", "5", "tenant_id"},
        {"tenant_id", "\"aaaaaaaa-aaaa-4aaa-8aaa\"", "tenant_id"},
        {"po_number", NULL, "po_number"},
        {"po_number", "7", "po_number"},
        {"po_number", "\"\"", "po_number"},
        {"po_number", "\"   \"", "po_number"},
        {"po_number", "\"a\\u0001b\"", "po_number"},
        {"po_number", "\"a\\nb\"", "po_number"},
        {"po_number", "\"a\\u0085b\"", "po_number"},
        {"supplier_name", NULL, "supplier_name"},
        {"supplier_name", "[]", "supplier_name"},
        {"supplier_name", "{\"a\":1}", "supplier_name"},
        {"supplier_phone", NULL, "supplier_phone"},
        {"supplier_phone", "34612345678", "supplier_phone"},
        {"supplier_phone", "\"612345678\"", "supplier_phone"},
        {"supplier_phone", "\"+0123456789\"", "supplier_phone"},
        {"supplier_phone", "\"+34 612 abc 678\"", "supplier_phone"},
        {"supplier_phone", "\"+1234567\"", "supplier_phone"},
        {"supplier_phone", "\"+1234567890123456\"", "supplier_phone"},
        {"total_amount", NULL, "total_amount"},
        {"total_amount", "null", "total_amount"},
        {"total_amount", "\"12e0\"", "total_amount"},
        {"total_amount", "{\"amount\": 12}", "total_amount"},
        {"total_amount", "true", "total_amount"},
        {"total_amount", "-1", "total_amount"},
        {"total_amount", "-0.01", "total_amount"},
        {"total_amount", "1.005", "total_amount"},
        {"total_amount", "0.001", "total_amount"},
        {"total_amount", "1e400", "total_amount"},
        {"total_amount", "99999999999999999999999", "total_amount"},
        {"total_amount", "1000000000000", "total_amount"},
        {"currency", NULL, "currency"},
        {"currency", "\"eur\"", "currency"},
        {"currency", "\"EURO\"", "currency"},
        {"currency", "\"EU\"", "currency"},
        {"currency", "\"E1R\"", "currency"},
        {"currency", "978", "currency"},
        {"unexpected", "1", "unexpected"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char event[UUID_STR_LEN];
        new_id(event);
        struct h_resp r = post_po(event, cases[i].key, cases[i].raw);
        assert_field_error(&r, cases[i].field);
        h_resp_free(&r);
    }
    /* Lengths count characters, not bytes: 200 two-byte characters are fine, 201 not. */
    struct buf name = {0};
    buf_append_str(&name, "\"");
    for (int i = 0; i < 200; i++)
        buf_append_str(&name, "\xc3\xa9");
    buf_append_str(&name, "\"");
    char event[UUID_STR_LEN];
    new_id(event);
    struct h_resp r = post_po(event, "supplier_name", name.data);
    assert_int_equal(r.status, 202);
    h_resp_free(&r);
    name.data[name.len - 1] = '\0';
    name.len--;
    buf_append_str(&name, "x\"");
    new_id(event);
    r = post_po(event, "supplier_name", name.data);
    assert_field_error(&r, "supplier_name");
    h_resp_free(&r);
    buf_free(&name);
}

static void bodies_that_are_not_requests(void **state)
{
    (void)state;
    struct h_resp r;
    char *url = h_url(api.url, PO_PATH);

    r = h_json("POST", url, svc, "{\"event_id\": ");
    h_assert_error(&r, 400, "malformed_json");
    h_resp_free(&r);
    r = h_json("POST", url, svc, "");
    h_assert_error(&r, 400, "malformed_json");
    h_resp_free(&r);
    r = h_json("POST", url, svc, "[1, 2]");
    h_assert_error(&r, 422, "invalid_body");
    h_resp_free(&r);
    r = h_json("POST", url, svc, "null");
    h_assert_error(&r, 422, "invalid_body");
    h_resp_free(&r);
    /* Duplicate keys are ambiguous: refused. */
    r = h_json("POST", url, svc, "{\"currency\": \"EUR\", \"currency\": \"USD\"}");
    h_assert_error(&r, 400, "malformed_json");
    h_resp_free(&r);

    char event[UUID_STR_LEN];
    new_id(event);
    char *body = po_body(event, NULL, NULL);
    r = h_http("POST", url, svc, "text/plain", body, strlen(body));
    h_assert_error(&r, 415, "unsupported_media_type");
    h_resp_free(&r);
    free(body);

    size_t big = 1024 * 1024;
    char *huge = xmalloc(big + 1);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    huge[big] = '\0';
    r = h_json("POST", url, svc, huge);
    h_assert_error(&r, 413, "payload_too_large");
    h_resp_free(&r);
    free(huge);

    struct buf deep = {0};
    for (int i = 0; i < 10000; i++)
        buf_append_str(&deep, "{\"a\":");
    buf_append_str(&deep, "1");
    for (int i = 0; i < 10000; i++)
        buf_append_str(&deep, "}");
    r = h_json("POST", url, svc, deep.data);
    h_assert_error(&r, 400, "malformed_json");
    h_resp_free(&r);
    buf_free(&deep);

    static const char bad_utf8[] = "{\"po_number\": \"PO-\xff\xfe\"}";
    r = h_json("POST", url, svc, bad_utf8);
    h_assert_error(&r, 400, "malformed_json");
    h_resp_free(&r);

    static const char nul_byte[] = "{\"po_number\": \"PO-\0-1\"}";
    r = h_http("POST", url, svc, "application/json", nul_byte, sizeof nul_byte - 1);
    h_assert_error(&r, 400, "malformed_json");
    h_resp_free(&r);

    new_id(event);
    r = post_po(event, "po_number", "\"PO\\u0000-1\"");
    h_assert_error(&r, 400, "malformed_json");
    h_resp_free(&r);
    free(url);
}

static void sql_looking_text_is_stored_verbatim(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "Robert'); DROP TABLE whatsapp_messages;--",
        "1' OR '1'='1",
        "$1 \\\\ \\\" {\\\"a\\\":1} ; SELECT pg_sleep(10)",
        "Panader\xc3\xad"
        "a San Juan \xf0\x9f\x8d\x9e",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char event[UUID_STR_LEN];
        new_id(event);
        char *raw = xasprintf("\"%s\"", texts[i]);
        struct h_resp r = post_po(event, "supplier_name", raw);
        assert_int_equal(r.status, 202);
        char *path = xasprintf("/api/v1/whatsapp/messages/%s", str(r.json, "message_id"));
        struct h_resp got = call(&api, "GET", path, admin, NULL);
        assert_int_equal(got.status, 200);
        /* What was sent, as JSON text, decodes to what is stored. */
        char *doc = xasprintf("[%s]", raw);
        json_t *expect = json_loads(doc, 0, NULL);
        assert_non_null(expect);
        assert_string_equal(str(json_object_get(got.json, "payload"), "supplier_name"),
                            json_string_value(json_array_get(expect, 0)));
        json_decref(expect);
        free(doc);
        free(path);
        free(raw);
        h_resp_free(&got);
        h_resp_free(&r);
    }
    assert_int_equal(db_count(db_url, "SELECT count(*) FROM pg_tables"
                                      " WHERE tablename = 'whatsapp_messages'"),
                     1);
}

static void replays_return_the_same_message(void **state)
{
    (void)state;
    char event[UUID_STR_LEN], upper[UUID_STR_LEN];
    new_id(event);
    struct h_resp first = post_po(event, NULL, NULL);
    assert_int_equal(first.status, 202);
    const char *id = str(first.json, "message_id");

    struct h_resp again = post_po(event, NULL, NULL);
    assert_int_equal(again.status, 200);
    assert_string_equal(str(again.json, "message_id"), id);
    assert_true(json_is_true(json_object_get(again.json, "duplicate")));
    assert_non_null(str(again.json, "status"));
    h_resp_free(&again);

    /* The same event in another spelling is the same event. */
    for (size_t i = 0; i < UUID_STR_LEN; i++)
        upper[i] = (char)((event[i] >= 'a' && event[i] <= 'f') ? event[i] - 32 : event[i]);
    again = post_po(upper, "supplier_phone", "\"+34612345678\"");
    assert_int_equal(again.status, 200);
    assert_string_equal(str(again.json, "message_id"), id);
    h_resp_free(&again);

    again = post_po(event, "total_amount", "1250.01");
    h_assert_error(&again, 409, "idempotency_conflict");
    h_resp_free(&again);

    /* The key is per tenant: another tenant may use the same event id. */
    again = post_po(event, "tenant_id", "\"" TENANT_B "\"");
    assert_int_equal(again.status, 202);
    assert_string_not_equal(str(again.json, "message_id"), id);
    h_resp_free(&again);

    /* A generic message under the same key is a different request. */
    char *tpl = xasprintf("{\"idempotency_key\": \"%s\", \"tenant_id\": \"%s\", \"to\": "
                          "\"+34612345678\", \"template_name\": \"hello\", \"parameters\": []}",
                          event, TENANT_A);
    again = call(&api, "POST", TPL_PATH, svc, tpl);
    h_assert_error(&again, 409, "idempotency_conflict");
    h_resp_free(&again);
    free(tpl);

    char *sql =
        xasprintf("SELECT count(*) FROM whatsapp_messages WHERE idempotency_key = '%s'", event);
    assert_int_equal(db_count(db_url, sql), 2);
    free(sql);
    h_resp_free(&first);
}

struct racer {
    const char *body;
    pthread_barrier_t *barrier;
    long status;
    char id[UUID_STR_LEN];
};

static void *race(void *arg)
{
    struct racer *r = arg;
    char *url = h_url(api.url, PO_PATH);
    pthread_barrier_wait(r->barrier);
    struct h_resp resp = h_json("POST", url, svc, r->body);
    r->status = resp.status;
    const char *id = str(resp.json, "message_id");
    snprintf(r->id, sizeof r->id, "%s", id ? id : "");
    h_resp_free(&resp);
    free(url);
    return NULL;
}

static void concurrent_posts_of_one_event_make_one_row(void **state)
{
    (void)state;
    char event[UUID_STR_LEN];
    new_id(event);
    char *body = po_body(event, NULL, NULL);
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, CONCURRENT_POSTS);
    struct racer racers[CONCURRENT_POSTS];
    pthread_t threads[CONCURRENT_POSTS];
    for (int i = 0; i < CONCURRENT_POSTS; i++) {
        racers[i] = (struct racer){.body = body, .barrier = &barrier};
        pthread_create(&threads[i], NULL, race, &racers[i]);
    }
    int created = 0, replayed = 0;
    for (int i = 0; i < CONCURRENT_POSTS; i++) {
        pthread_join(threads[i], NULL);
        created += racers[i].status == 202;
        replayed += racers[i].status == 200;
        assert_string_equal(racers[i].id, racers[0].id);
    }
    pthread_barrier_destroy(&barrier);
    assert_int_equal(created, 1);
    assert_int_equal(replayed, CONCURRENT_POSTS - 1);
    char *sql =
        xasprintf("SELECT count(*) FROM whatsapp_messages WHERE idempotency_key = '%s'", event);
    assert_int_equal(db_count(db_url, sql), 1);
    free(sql);
    free(body);
}

static char *tpl_body(const char *key, const char *extra)
{
    return xasprintf("{\"idempotency_key\": \"%s\", \"tenant_id\": \"%s\", \"to\": "
                     "\"0034 612 345 679\", \"template_name\": \"order_update\"%s%s}",
                     key, TENANT_B, extra && *extra ? ", " : "", extra ? extra : "");
}

static void template_messages(void **state)
{
    (void)state;
    char key[64];
    snprintf(key, sizeof key, "order-%ld-%d", (long)time(NULL), rand());
    char *body = tpl_body(key, "\"language\": \"en_US\", \"parameters\": [\"Ana\", \"42\"]");
    struct h_resp r = call(&api, "POST", TPL_PATH, svc, body);
    assert_int_equal(r.status, 202);
    json_t *row = db_row(db_url, str(r.json, "message_id"));
    assert_string_equal(str(row, "kind"), "template");
    assert_string_equal(str(row, "idempotency_key"), key);
    assert_string_equal(str(row, "recipient_phone"), "+34612345679");
    assert_string_equal(str(row, "template_name"), "order_update");
    assert_string_equal(str(row, "template_language"), "en_US");
    json_t *params = json_object_get(row, "template_parameters");
    assert_int_equal(json_array_size(params), 2);
    assert_string_equal(json_string_value(json_array_get(params, 1)), "42");
    json_decref(row);

    struct h_resp again = call(&api, "POST", TPL_PATH, admin, body);
    assert_int_equal(again.status, 200);
    assert_string_equal(str(again.json, "message_id"), str(r.json, "message_id"));
    h_resp_free(&again);
    free(body);
    body = tpl_body(key, "\"language\": \"en_US\", \"parameters\": [\"Ana\", \"43\"]");
    again = call(&api, "POST", TPL_PATH, svc, body);
    h_assert_error(&again, 409, "idempotency_conflict");
    h_resp_free(&again);
    free(body);
    h_resp_free(&r);

    /* No language, or null: the tenant's default, resolved when sending. */
    snprintf(key, sizeof key, "nolang-%ld-%d", (long)time(NULL), rand());
    body = tpl_body(key, "\"language\": null, \"parameters\": []");
    r = call(&api, "POST", TPL_PATH, svc, body);
    assert_int_equal(r.status, 202);
    row = db_row(db_url, str(r.json, "message_id"));
    assert_true(json_is_null(json_object_get(row, "template_language")));
    json_decref(row);
    h_resp_free(&r);
    free(body);

    static const struct {
        const char *extra, *field;
    } cases[] = {
        {"\"parameters\": []", NULL},
        {"", "parameters"},
        {"\"parameters\": \"x\"", "parameters"},
        {"\"parameters\": [1]", "parameters"},
        {"\"parameters\": [\"\"]", "parameters"},
        {"\"parameters\": [\"a\\nb\"]", "parameters"},
        {"\"parameters\": [], \"language\": \"english\"", "language"},
        {"\"parameters\": [], \"language\": \"e\"", "language"},
        {"\"parameters\": [], \"language\": \"en-US\"", "language"},
        {"\"parameters\": [], \"language\": 5", "language"},
        {"\"parameters\": [], \"priority\": 1", "priority"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(key, sizeof key, "case-%zu-%ld-%d", i, (long)time(NULL), rand());
        body = tpl_body(key, cases[i].extra);
        r = call(&api, "POST", TPL_PATH, svc, body);
        if (cases[i].field)
            assert_field_error(&r, cases[i].field);
        else
            assert_int_equal(r.status, 202);
        h_resp_free(&r);
        free(body);
    }

    static const struct {
        const char *body, *field;
    } whole[] = {
        {"{\"tenant_id\": \"" TENANT_A "\", \"to\": \"+34612345678\", \"template_name\": \"t\","
         " \"parameters\": []}",
         "idempotency_key"},
        {"{\"idempotency_key\": \"\", \"tenant_id\": \"" TENANT_A "\", \"to\": \"+34612345678\","
         " \"template_name\": \"t\", \"parameters\": []}",
         "idempotency_key"},
        {"{\"idempotency_key\": \"a\\tb\", \"tenant_id\": \"" TENANT_A "\", \"to\": "
         "\"+34612345678\", \"template_name\": \"t\", \"parameters\": []}",
         "idempotency_key"},
        {"{\"idempotency_key\": \"k1\", \"tenant_id\": \"" TENANT_A "\", \"to\": \"612345678\","
         " \"template_name\": \"t\", \"parameters\": []}",
         "to"},
        {"{\"idempotency_key\": \"k1\", \"tenant_id\": \"" TENANT_A "\", \"to\": \"+34612345678\","
         " \"template_name\": \"Bad-Name\", \"parameters\": []}",
         "template_name"},
        {"{\"idempotency_key\": \"k1\", \"tenant_id\": \"" TENANT_A "\", \"to\": \"+34612345678\","
         " \"template_name\": \"\", \"parameters\": []}",
         "template_name"},
        {"{\"idempotency_key\": \"k1\", \"tenant_id\": \"tenant\", \"to\": \"+34612345678\","
         " \"template_name\": \"t\", \"parameters\": []}",
         "tenant_id"},
    };
    for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++) {
        r = call(&api, "POST", TPL_PATH, svc, whole[i].body);
        assert_field_error(&r, whole[i].field);
        h_resp_free(&r);
    }

    struct buf many = {0};
    buf_append_str(&many, "\"parameters\": [");
    for (int i = 0; i < 101; i++)
        buf_printf(&many, "%s\"p\"", i ? "," : "");
    buf_append_str(&many, "]");
    body = tpl_body("too-many", many.data);
    r = call(&api, "POST", TPL_PATH, svc, body);
    assert_field_error(&r, "parameters");
    h_resp_free(&r);
    free(body);
    buf_free(&many);
}

static void intake_roles(void **state)
{
    (void)state;
    const char *paths[] = {PO_PATH, TPL_PATH};
    for (size_t i = 0; i < 2; i++) {
        char event[UUID_STR_LEN];
        new_id(event);
        char *body = i == 0 ? po_body(event, NULL, NULL) : tpl_body(event, "\"parameters\": []");
        struct h_resp r = call(&api, "POST", paths[i], NULL, body);
        h_assert_error(&r, 401, "unauthorized");
        h_resp_free(&r);
        r = call(&api, "POST", paths[i], "abc.def.ghi", body);
        h_assert_error(&r, 401, "invalid_token");
        h_resp_free(&r);
        r = call(&api, "POST", paths[i], expired, body);
        h_assert_error(&r, 401, "token_expired");
        h_resp_free(&r);
        r = call(&api, "POST", paths[i], user_a, body);
        h_assert_error(&r, 403, "forbidden");
        h_resp_free(&r);
        r = call(&api, "POST", paths[i], admin, body);
        assert_int_equal(r.status, 202);
        h_resp_free(&r);
        free(body);
    }
}

/* ---------- reading ---------- */

/* Creates n purchase orders for tenant; their ids go to ids. */
static void seed_messages(const char *tenant, int n, char ids[][UUID_STR_LEN])
{
    for (int i = 0; i < n; i++) {
        char event[UUID_STR_LEN];
        new_id(event);
        char *raw = xasprintf("\"%s\"", tenant);
        struct h_resp r = post_po(event, "tenant_id", raw);
        assert_int_equal(r.status, 202);
        snprintf(ids[i], UUID_STR_LEN, "%s", str(r.json, "message_id"));
        h_resp_free(&r);
        free(raw);
    }
}

static struct h_resp list(const char *token, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct h_resp list(const char *token, const char *fmt, ...)
{
    struct buf q = {0};
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&q, fmt, ap);
    va_end(ap);
    char *path = xasprintf("/api/v1/whatsapp/messages%s", q.data ? q.data : "");
    struct h_resp r = call(&api, "GET", path, token, NULL);
    free(path);
    buf_free(&q);
    return r;
}

static void assert_all_tenant(const struct h_resp *r, const char *tenant, size_t count)
{
    if (r->status != 200)
        fprintf(stderr, "list: %s\n", r->body);
    assert_int_equal(r->status, 200);
    json_t *msgs = json_object_get(r->json, "messages");
    assert_int_equal(json_array_size(msgs), count);
    assert_int_equal(json_integer_value(json_object_get(r->json, "count")), count);
    size_t i;
    json_t *m;
    json_array_foreach (msgs, i, m)
        assert_string_equal(str(m, "tenant_id"), tenant);
}

static void listing_filters_pages_and_scopes(void **state)
{
    (void)state;
    char tx[UUID_STR_LEN], ty[UUID_STR_LEN];
    char xs[3][UUID_STR_LEN], ys[2][UUID_STR_LEN];
    new_id(tx);
    new_id(ty);
    seed_messages(tx, 3, xs);
    seed_messages(ty, 2, ys);
    char *user_x = h_token("user", tx, "member", "xavier", 3600);

    struct h_resp r = list(admin, "?tenant_id=%s", tx);
    assert_all_tenant(&r, tx, 3);
    /* newest first */
    assert_string_equal(str(json_array_get(json_object_get(r.json, "messages"), 0), "id"), xs[2]);
    assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
    h_resp_free(&r);

    /* keyset paging: 2 + 1, no overlap */
    r = list(svc, "?tenant_id=%s&limit=2", tx);
    assert_all_tenant(&r, tx, 2);
    const char *cursor = str(r.json, "next_cursor");
    assert_non_null(cursor);
    char *escaped = curl_easy_escape(NULL, cursor, 0);
    struct h_resp page2 = list(svc, "?tenant_id=%s&limit=2&cursor=%s", tx, escaped);
    curl_free(escaped);
    assert_all_tenant(&page2, tx, 1);
    assert_string_equal(str(json_array_get(json_object_get(page2.json, "messages"), 0), "id"),
                        xs[0]);
    assert_true(json_is_null(json_object_get(page2.json, "next_cursor")));
    h_resp_free(&page2);
    h_resp_free(&r);

    /* status and since */
    char *sql = xasprintf(
        "UPDATE whatsapp_messages SET status = 'failed', next_attempt_at = NULL, created_at ="
        " '2020-06-01T00:00:00Z' WHERE id = '%s'",
        xs[0]);
    free(h_sql(db_url, sql));
    free(sql);
    r = list(admin, "?tenant_id=%s&status=failed", tx);
    assert_all_tenant(&r, tx, 1);
    h_resp_free(&r);
    r = list(admin, "?tenant_id=%s&since=2021-01-01", tx);
    assert_all_tenant(&r, tx, 2);
    h_resp_free(&r);
    r = list(admin, "?tenant_id=%s&since=2020-05-31T23:00:00%%2B00:00", tx);
    assert_all_tenant(&r, tx, 3);
    h_resp_free(&r);
    /* '+' decodes to a space in a query string; taken as the offset's sign */
    r = list(admin, "?tenant_id=%s&since=2020-06-01T01:00:01+01:00", tx);
    assert_all_tenant(&r, tx, 2);
    h_resp_free(&r);
    r = list(admin, "?tenant_id=%s&since=2020-06-01T00:00:00.000001Z", tx);
    assert_all_tenant(&r, tx, 2);
    h_resp_free(&r);

    /* a tenant user: its own tenant only */
    r = list(user_x, "%s", "");
    assert_all_tenant(&r, tx, 3);
    h_resp_free(&r);
    r = list(user_x, "?tenant_id=%s", tx);
    assert_all_tenant(&r, tx, 3);
    h_resp_free(&r);
    r = list(user_x, "?tenant_id=%s", ty);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    r = list(svc, "?tenant_id=%s", ty);
    assert_all_tenant(&r, ty, 2);
    h_resp_free(&r);
    r = list(NULL, "%s", "");
    h_assert_error(&r, 401, "unauthorized");
    h_resp_free(&r);

    static const struct {
        const char *query, *field;
    } bad[] = {
        {"?limit=0", "limit"},          {"?limit=501", "limit"},
        {"?limit=ten", "limit"},        {"?since=yesterday", "since"},
        {"?since=2024-02-30", "since"}, {"?since=2024-01-01T25:00:00Z", "since"},
        {"?status=lost", "status"},     {"?tenant_id=nope", "tenant_id"},
        {"?cursor=garbage", "cursor"},  {"?cursor=2024-01-01T00:00:00Z_nope", "cursor"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = list(admin, "%s", bad[i].query);
        assert_field_error(&r, bad[i].field);
        h_resp_free(&r);
    }

    /* one message */
    char *path = xasprintf("/api/v1/whatsapp/messages/%s", xs[1]);
    r = call(&api, "GET", path, admin, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(str(r.json, "id"), xs[1]);
    assert_string_equal(str(r.json, "recipient_phone"), "+34612345678");
    assert_string_equal(str(json_object_get(r.json, "payload"), "total_amount"), "1250.00");
    assert_non_null(str(r.json, "created_at"));
    h_resp_free(&r);
    r = call(&api, "GET", path, user_x, NULL);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    r = call(&api, "GET", path, user_b, NULL);
    h_assert_error(&r, 404, "not_found");
    h_resp_free(&r);
    free(path);
    r = call(&api, "GET", "/api/v1/whatsapp/messages/not-a-uuid", admin, NULL);
    h_assert_error(&r, 404, "not_found");
    h_resp_free(&r);
    r = call(&api, "GET", "/api/v1/whatsapp/messages/" TENANT_A, admin, NULL);
    h_assert_error(&r, 404, "not_found");
    h_resp_free(&r);
    free(user_x);
}

/* ---------- operations ---------- */

/* JWT_ISSUER, JWT_AUDIENCE and JWT_MAX_TTL_SECONDS set: a token meeting them is taken,
 * wrong iss or aud, too long a lifetime and a future nbf are 401 invalid_token; so are
 * this suite's ordinary tokens, which carry neither iss nor aud. */
/* GET /api/v1/whatsapp/activity: a tenant's WhatsApp messages of the last days, each
 * counted once by how far it got (sent includes delivered and read), skips by reason;
 * older messages and the email channel are left out. */
static void activity_counts_by_status_and_reason(void **state)
{
    (void)state;
    char tz[UUID_STR_LEN], ids[9][UUID_STR_LEN];
    new_id(tz);
    seed_messages(tz, 9, ids);
    static const char *const set[] = {
        "status = 'sent'",
        "status = 'delivered'",
        "status = 'read'",
        "status = 'failed'",
        "status = 'skipped', skip_reason = 'recipient_opted_out'",
        "status = 'skipped', skip_reason = 'recipient_opted_out'",
        NULL, /* ids[6] stays queued */
        "status = 'read', created_at = now() - interval '40 days'",
        "status = 'sent', channel = 'email', recipient_email = 'pedidos@activity.example'",
    };
    for (int i = 0; i < 9; i++) {
        if (!set[i])
            continue;
        char *sql =
            xasprintf("UPDATE whatsapp_messages SET %s, next_attempt_at = NULL WHERE id = '%s'",
                      set[i], ids[i]);
        free(h_sql(db_url, sql));
        free(sql);
    }
    char *path = xasprintf("/api/v1/whatsapp/activity?tenant_id=%s", tz);
    struct h_resp r = call(&api, "GET", path, svc, NULL);
    free(path);
    assert_int_equal(r.status, 200);
    json_t *want = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:{s:i}}",
                             "tenant_id", tz, "days", 30, "total", 7, "pending", 1, "sent", 3,
                             "delivered", 2, "read", 1, "failed", 1, "canceled", 0, "skipped", 2,
                             "skipped_by_reason", "recipient_opted_out", 2);
    json_object_del(r.json, "since");
    if (!json_equal(r.json, want))
        fprintf(stderr, "activity: %s\n", r.body);
    assert_true(json_equal(r.json, want));
    json_decref(want);
    h_resp_free(&r);

    /* 60 days take the older read message in */
    path = xasprintf("/api/v1/whatsapp/activity?tenant_id=%s&days=60", tz);
    r = call(&api, "GET", path, admin, NULL);
    free(path);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 8);
    assert_int_equal(json_integer_value(json_object_get(r.json, "sent")), 4);
    assert_int_equal(json_integer_value(json_object_get(r.json, "read")), 2);
    h_resp_free(&r);

    /* bad values name their field; tenant users may not ask */
    static const char *const bad[][2] = {{"?days=30", "tenant_id"},
                                         {"?tenant_id=x", "tenant_id"},
                                         {"?tenant_id=" TENANT_A "&days=0", "days"},
                                         {"?tenant_id=" TENANT_A "&days=367", "days"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        path = xasprintf("/api/v1/whatsapp/activity%s", bad[i][0]);
        r = call(&api, "GET", path, svc, NULL);
        free(path);
        assert_field_error(&r, bad[i][1]);
        h_resp_free(&r);
    }
    r = call(&api, "GET", "/api/v1/whatsapp/activity?tenant_id=" TENANT_A, user_a, NULL);
    assert_int_equal(r.status, 403);
    h_resp_free(&r);
}

static void token_policy_is_enforced(void **state)
{
    (void)state;
    struct h_proc p;
    char db[320], graph[64], tenant[64];
    snprintf(db, sizeof db, "NOTIFICATION_DATABASE_URL=%s", db_url);
    snprintf(graph, sizeof graph, "GRAPH_API_BASE_URL=http://127.0.0.1:%u", h_free_port());
    snprintf(tenant, sizeof tenant, "TENANT_SERVICE_URL=http://127.0.0.1:%u", h_free_port());
    const char *env[] = {db, "JWT_SECRET=" H_JWT_SECRET, graph, tenant, H_POLICY_ENV, NULL};
    assert_true(h_start(&p, "notification-service", "NOTIFICATION_PORT", env, "/ready"));
    h_assert_token_policy(p.url, TPL_PATH);
    struct h_resp r = call(&p, "GET", TPL_PATH, admin, NULL);
    h_assert_error(&r, 401, "invalid_token");
    h_resp_free(&r);
    assert_int_equal(h_stop(&p), 0);
}

static void ready_and_metrics(void **state)
{
    (void)state;
    struct h_resp r = call(&api, "GET", "/ready", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(str(r.json, "status"), "ready");
    json_t *checks = json_object_get(r.json, "checks");
    assert_string_equal(str(checks, "database"), "ok");
    assert_string_equal(str(checks, "graph"), "not_configured");
    assert_non_null(strstr(str(checks, "tenant_service"), "unreachable"));
    assert_int_equal(json_array_size(json_object_get(r.json, "degraded")), 2);
    h_resp_free(&r);

    r = call(&api, "GET", "/metrics", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "# TYPE whatsapp_queue_depth gauge"));
    assert_non_null(strstr(r.body, "whatsapp_queue_oldest_age_seconds "));
    assert_non_null(strstr(
        r.body, "whatsapp_messages_accepted_total{kind=\"purchase_order\",status=\"queued\"}"));
    assert_non_null(
        strstr(r.body, "whatsapp_messages_accepted_total{kind=\"template\",status=\"queued\"}"));
    h_resp_free(&r);
}

static void disabled_notifications_are_skipped(void **state)
{
    (void)state;
    char url[256];
    struct h_proc off;
    assert_true(h_fresh_database("it_notif_api_off", url, sizeof url));
    assert_true(start_daemon(&off, url, "ENABLE_WHATSAPP_NOTIFICATIONS=false"));
    char event[UUID_STR_LEN];
    new_id(event);
    char *body = po_body(event, NULL, NULL);
    struct h_resp r = call(&off, "POST", PO_PATH, svc, body);
    assert_int_equal(r.status, 202);
    assert_string_equal(str(r.json, "status"), "skipped");
    json_t *row = db_row(url, str(r.json, "message_id"));
    assert_string_equal(str(row, "status"), "skipped");
    assert_string_equal(str(row, "skip_reason"), "whatsapp_notifications_disabled");
    json_decref(row);
    struct h_resp again = call(&off, "POST", PO_PATH, svc, body);
    assert_int_equal(again.status, 200);
    assert_string_equal(str(again.json, "status"), "skipped");
    h_resp_free(&again);
    h_resp_free(&r);
    free(body);

    r = call(&off, "GET", "/ready", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(str(json_object_get(r.json, "checks"), "graph"), "disabled");
    h_resp_free(&r);
    assert_int_equal(h_stop(&off), 0);
}

static double elapsed(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) + (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

/* Posts a purchase order with a new event id to p: 202, stored. */
static void intake_stores_a_new_order(const struct h_proc *p)
{
    char event[UUID_STR_LEN];
    new_id(event);
    char *body = po_body(event, NULL, NULL);
    struct h_resp r = call(p, "POST", PO_PATH, svc, body);
    assert_int_equal(r.status, 202);
    h_resp_free(&r);
    free(body);
}

static void database_gone_is_503_not_a_hang(void **state)
{
    (void)state;
    char url[256];
    struct h_proc p;
    assert_true(h_fresh_database("it_notif_api_down", url, sizeof url));
    assert_true(start_daemon(&p, url, "LOG_LEVEL=info"));
    intake_stores_a_new_order(&p);

    /* No new connections, then none of the old ones (each gone before the next step): the
     * daemon reconnects at once, so a rename would race it. */
    free(h_sql(db_url, "ALTER DATABASE it_notif_api_down ALLOW_CONNECTIONS false"));
    free(h_sql(db_url, "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                       " WHERE datname = 'it_notif_api_down'"));

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char event[UUID_STR_LEN];
    new_id(event);
    char *body = po_body(event, NULL, NULL);
    struct h_resp r = call(&p, "POST", PO_PATH, svc, body);
    h_assert_error(&r, 503, "database_unavailable");
    h_resp_free(&r);
    r = call(&p, "POST", TPL_PATH, svc,
             "{\"idempotency_key\": \"k\", \"tenant_id\": \"" TENANT_A
             "\", \"to\": \"+34612345678\", \"template_name\": \"t\", "
             "\"parameters\": []}");
    h_assert_error(&r, 503, "database_unavailable");
    h_resp_free(&r);
    r = call(&p, "GET", "/api/v1/whatsapp/messages", admin, NULL);
    h_assert_error(&r, 503, "database_unavailable");
    h_resp_free(&r);
    r = call(&p, "GET", "/ready", NULL, NULL);
    assert_int_equal(r.status, 503);
    assert_string_equal(str(r.json, "failing"), "database");
    h_resp_free(&r);
    r = call(&p, "POST", "/api/v1/whatsapp/webhook", NULL,
             "{\"entry\": [{\"changes\": [{\"value\": {\"statuses\": [{\"id\": \"wamid.X\","
             " \"status\": \"read\", \"timestamp\": \"1700000000\"}]}}]}]}");
    h_assert_error(&r, 503, "database_unavailable");
    h_resp_free(&r);
    assert_true(elapsed(&t0) < 10.0);
    free(body);

    /* A stop without the database: the worker usually holds a result it cannot write
     * (the order posted just before the outage, claimed and put back to wait for its
     * tenant's settings). It gives up in time for the whole process to exit within
     * DESIGN.md's 10 s, not after it. */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(h_stop(&p), 0);
    double stop_s = elapsed(&t0);
    if (!h_wrapped()) /* valgrind's leak report at exit takes seconds of its own */
        assert_true(stop_s < 9.0);
    free(h_sql(db_url, "DROP DATABASE IF EXISTS it_notif_api_down WITH (FORCE)"));
}

struct intake_wait {
    const struct h_proc *p;
    const char *body;
};

static bool intake_accepts(void *arg)
{
    const struct intake_wait *w = arg;
    struct h_resp r = call(w->p, "POST", PO_PATH, svc, w->body);
    bool accepted = r.status == 202;
    h_resp_free(&r);
    return accepted;
}

/* A server that stops answering rather than refusing: a postmaster finishing a shutdown
 * stops accepting, and a connection then waits in its backlog, as behind a broken
 * network. Requests still get their 503 within the 2 s of docs/reliability.md (a
 * connection attempt has a 1 s deadline), and the daemon works again once it answers. */
static void database_that_stops_answering_is_503_within_2_s(void **state)
{
    (void)state;
    char url[256], relayed[256];
    assert_true(h_fresh_database("it_notif_api_stall", url, sizeof url));
    struct h_relay *relay = h_relay_start(url, relayed, sizeof relayed);
    assert_non_null(relay);
    struct h_proc p;
    /* valgrind: a longer deadline (a first handshake there takes seconds) and bound */
    double bound = h_wrapped() ? 10.0 : 2.0;
    assert_true(start_daemon(&p, relayed,
                             h_wrapped() ? "DATABASE_CONNECT_TIMEOUT_MS=4000"
                                         : "DATABASE_CONNECT_TIMEOUT_MS=1000"));
    intake_stores_a_new_order(&p);

    h_relay_stall(relay, true);
    char event[UUID_STR_LEN];
    new_id(event);
    char *body = po_body(event, NULL, NULL);
    struct h_resp r;
    for (int i = 0; i < 3; i++) { /* a fresh connection each time: none stays usable */
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        r = call(&p, "POST", PO_PATH, svc, body);
        h_assert_error(&r, 503, "database_unavailable");
        h_resp_free(&r);
        assert_true(elapsed(&t0) < bound);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        r = call(&p, "GET", "/ready", NULL, NULL);
        assert_int_equal(r.status, 503);
        assert_string_equal(str(r.json, "failing"), "database");
        h_resp_free(&r);
        assert_true(elapsed(&t0) < bound);
        usleep(300 * 1000); /* past the pause between two attempts to connect */
    }

    h_relay_stall(relay, false);
    struct intake_wait w = {&p, body};
    assert_true(h_wait_every(intake_accepts, &w, 10000, 100));
    free(body);
    assert_int_equal(h_stop(&p), 0);
    h_relay_free(relay);
    free(h_sql(db_url, "DROP DATABASE IF EXISTS it_notif_api_stall WITH (FORCE)"));
}

static void shutdown_is_clean(void **state)
{
    (void)state;
    assert_int_equal(h_stop(&api), 0);
    assert_int_equal(h_log_count(&api, "msg=\"stopped\""), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(purchase_order_is_stored_normalized),
        cmocka_unit_test(amounts_are_exact_text),
        cmocka_unit_test(amounts_as_decimal_strings),
        cmocka_unit_test(an_amount_as_number_or_string_is_one_event),
        cmocka_unit_test(purchase_order_validation_names_the_field),
        cmocka_unit_test(bodies_that_are_not_requests),
        cmocka_unit_test(sql_looking_text_is_stored_verbatim),
        cmocka_unit_test(replays_return_the_same_message),
        cmocka_unit_test(concurrent_posts_of_one_event_make_one_row),
        cmocka_unit_test(template_messages),
        cmocka_unit_test(intake_roles),
        cmocka_unit_test(listing_filters_pages_and_scopes),
        cmocka_unit_test(activity_counts_by_status_and_reason),
        cmocka_unit_test(token_policy_is_enforced),
        cmocka_unit_test(ready_and_metrics),
        cmocka_unit_test(disabled_notifications_are_skipped),
        cmocka_unit_test(database_gone_is_503_not_a_hang),
        cmocka_unit_test(database_that_stops_answering_is_503_within_2_s),
        cmocka_unit_test(shutdown_is_clean),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
