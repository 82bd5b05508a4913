/* test_usage.c - the usage and cost ledger (issue 20) against a real PostgreSQL: a
 * month's counters per tenant (accepted, delivered, read, failed, skipped by reason,
 * billable by category, free by type) and their cost under the rate card, as JSON and as
 * CSV; a new rate card changes the cost; bad months, tenants and cards are refused and
 * change nothing; the month is BILLING_TIMEZONE's; the answer is the same before and
 * after retention deletes the messages. Most messages are inserted in SQL as the sender
 * and the webhook leave them (final, so no worker touches them); the last suite sends
 * real orders through graph-sim, which prices each status as Meta does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "alloc.h"
#include "harness.h"
#include "harness_raw.h"
#include "harness_stack.h"
#include "harness_tenant.h"
#include "uuidutil.h"

#define USAGE "/api/v1/admin/whatsapp/usage"
#define CARD "/api/v1/admin/whatsapp/rate-card"
#define TENANT_A "11111111-1111-4111-8111-111111111111"
#define TENANT_B "22222222-2222-4222-8222-222222222222"
#define TENANT_EDGE "33333333-3333-4333-8333-333333333333"  /* one message at a month's start */
#define TENANT_RET "44444444-4444-4444-8444-444444444444"   /* the retention case's own */
#define TENANT_NONE "55555555-5555-4555-8555-555555555555"  /* never sent anything */
#define TENANT_LOWER "abcdef00-aaaa-4aaa-8aaa-aaaaaaaaaaaa" /* asked for in upper case */
#define MADRID "'Europe/Madrid'"
/* The middle of the month before this one, and that month's first half hour, in Madrid
 * (the latter is the month before in UTC). */
#define PREV_MID "(date_trunc('month', now() AT TIME ZONE " MADRID ") - interval '15 days')"
#define PREV_START "(date_trunc('month', now() AT TIME ZONE " MADRID ") - interval '1 month')"
#define AT_MADRID(local) "((" local ") AT TIME ZONE " MADRID ")"

#define P_UTILITY                                                                                  \
    "{\"billable\":true,\"pricing_model\":\"PMP\",\"category\":\"utility\",\"type\":\"regular\"}"
#define P_FREE_CS                                                                                  \
    "{\"billable\":false,\"pricing_model\":\"PMP\",\"category\":\"utility\",\"type\":"             \
    "\"free_customer_service\"}"
#define P_MARKETING                                                                                \
    "{\"billable\":true,\"pricing_model\":\"PMP\",\"category\":\"marketing\",\"type\":"            \
    "\"regular\"}"
#define P_AUTH                                                                                     \
    "{\"billable\":true,\"pricing_model\":\"PMP\",\"category\":\"authentication\",\"type\":"       \
    "\"regular\"}"
#define P_FREE_ENTRY                                                                               \
    "{\"billable\":false,\"pricing_model\":\"PMP\",\"category\":\"marketing\",\"type\":"           \
    "\"free_entry_point\"}"
/* before July 2025: no type, billable true */
#define P_CBP "{\"billable\":true,\"pricing_model\":\"CBP\",\"category\":\"utility\"}"

static char db_url[256];
static struct h_proc ns; /* BILLING_TIMEZONE Europe/Madrid (the default) */
static char *admin;
static char prev[8], prev_1[8]; /* the month before this one, and the one before that */
static int seq;

/* ---------- helpers ---------- */

static char *sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sql(const char *fmt, ...)
{
    struct buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    char *v = h_sql(db_url, b.data);
    if (!v)
        fail_msg("SQL failed: %s", b.data);
    buf_free(&b);
    return v;
}

static long sql_long(const char *query)
{
    char *v = sql("%s", query);
    long n = strtol(v, NULL, 10);
    free(v);
    return n;
}

/* A message as the sender and the webhook leave it. status final (or queued, leased far
 * ahead), wamid and pricing may be NULL, at is an SQL timestamptz expression. */
static void insert(const char *tenant, const char *status, const char *skip_reason, bool wamid,
                   const char *pricing, const char *to, const char *at)
{
    char id[UUID_STR_LEN];
    uuid_new(id);
    bool pending = strcmp(status, "queued") == 0;
    char *v =
        sql("INSERT INTO whatsapp_messages (id, tenant_id, idempotency_key, kind,"
            " request_hash, recipient_phone, template_name, template_parameters, payload,"
            " status, skip_reason, wamid, pricing, lease_owner, lease_expires_at,"
            " next_attempt_at, created_at) VALUES ('%s', '%s', 'usage-%d', 'template', 'h',"
            " '%s', 'po_notification', '[]', '{}', '%s', %s%s%s, %s%s%s, %s%s%s, 'test',"
            " now() + interval '1 day', %s, %s)",
            id, tenant, ++seq, to, status, skip_reason ? "$r$" : "",
            skip_reason ? skip_reason : "NULL", skip_reason ? "$r$" : "", wamid ? "'wamid." : "",
            wamid ? id : "NULL", wamid ? "'" : "", pricing ? "'" : "", pricing ? pricing : "NULL",
            pricing ? "'" : "", pending ? "now() + interval '1 day'" : "NULL", at);
    free(v);
}

static bool start_ns(struct h_proc *p, const char *const *extra)
{
    char db[320], graph[64], tenant[64];
    snprintf(db, sizeof db, "NOTIFICATION_DATABASE_URL=%s", db_url);
    snprintf(graph, sizeof graph, "GRAPH_API_BASE_URL=http://127.0.0.1:%u", h_free_port());
    snprintf(tenant, sizeof tenant, "TENANT_SERVICE_URL=http://127.0.0.1:%u", h_free_port());
    const char *env[16] = {db, "JWT_SECRET=" H_JWT_SECRET, graph, tenant};
    size_t n = 4;
    for (size_t i = 0; extra && extra[i] && n < 15; i++)
        env[n++] = extra[i];
    env[n] = NULL;
    return h_start(p, "notification-service", "NOTIFICATION_PORT", env, "/ready");
}

/* GET usage?query as JSON from p (200 expected); the caller frees. */
static struct h_resp usage_json(const struct h_proc *p, const char *query)
{
    struct h_resp r = h_call("GET", p->url, admin, NULL, USAGE "?%s", query);
    if (r.status != 200 || !r.json)
        fail_msg("usage %s: %ld %s", query, r.status, r.body);
    return r;
}

/* GET usage?query with an Accept header; *content_type gets the answer's. */
static struct h_resp usage_accept(const struct h_proc *p, const char *query, const char *accept,
                                  char *content_type, size_t len)
{
    char *target = xasprintf(USAGE "?%s", query);
    char *headers = xasprintf("Authorization: Bearer %s\r\nAccept: %s\r\n", admin, accept);
    char *head = NULL;
    struct h_resp r = h_raw_request(p->port, "GET", target, headers, NULL, 0, &head);
    content_type[0] = '\0';
    if (head)
        h_head_value(head, "Content-Type", content_type, len);
    free(head);
    free(headers);
    free(target);
    return r;
}

/* The tenant's line of a usage answer (NULL when absent). */
static const json_t *line_of(const json_t *usage, const char *tenant)
{
    size_t i;
    const json_t *t;
    json_array_foreach (json_object_get(usage, "tenants"), i, t) {
        if (strcmp(json_string_value(json_object_get(t, "tenant_id")), tenant) == 0)
            return t;
    }
    return NULL;
}

/* Asserts got equals the JSON text want, saying both when not. */
static void assert_json(const json_t *got, const char *want)
{
    json_error_t err;
    json_t *w = json_loads(want, JSON_DECODE_ANY, &err);
    if (!w)
        fail_msg("bad expected JSON %s: %s", want, err.text);
    if (!json_equal(got, w)) {
        char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15))
                      : xstrdup("(none)");
        char *e = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
        fail_msg("got  %s\nwant %s", g, e);
    }
    json_decref(w);
}

static long accepted_of(const struct h_proc *p, const char *month, const char *tenant)
{
    char *q = xasprintf("month=%s&tenant_id=%s", month, tenant);
    struct h_resp r = usage_json(p, q);
    const json_t *line = line_of(r.json, tenant);
    assert_non_null(line);
    long n = (long)json_integer_value(json_object_get(line, "accepted"));
    h_resp_free(&r);
    free(q);
    return n;
}

static struct h_resp put_card(const char *body)
{
    return h_call("PUT", ns.url, admin, body, CARD);
}

static char *card_text(void)
{
    struct h_resp r = h_call("GET", ns.url, admin, NULL, CARD);
    assert_int_equal(r.status, 200);
    char *text = xstrdup(r.body);
    h_resp_free(&r);
    return text;
}

/* ---------- setup ---------- */

static int setup(void **state)
{
    (void)state;
    char name[48];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(name, sizeof name, "it_usage_%ld", (long)getpid());
    if (!h_fresh_database(name, db_url, sizeof db_url) || !start_ns(&ns, NULL))
        return -1;
    admin = h_token("admin", NULL, NULL, "usage-admin", 3600);
    char *m = sql("SELECT to_char(%s, 'YYYY-MM') || ' ' || to_char(%s, 'YYYY-MM')", PREV_MID,
                  PREV_START " - interval '1 day'");
    snprintf(prev, sizeof prev, "%.7s", m);
    snprintf(prev_1, sizeof prev_1, "%.7s", m + 8);
    free(m);

    const char *mid = AT_MADRID(PREV_MID);
    /* tenant A: every outcome */
    insert(TENANT_A, "read", NULL, true, P_UTILITY, "+34600000001", mid);
    insert(TENANT_A, "delivered", NULL, true, P_UTILITY, "+34600000002", mid);
    insert(TENANT_A, "read", NULL, true, P_FREE_CS, "+34600000003", mid);
    insert(TENANT_A, "delivered", NULL, true, P_MARKETING, "+447700900004", mid); /* GB: '*' */
    /* failed after Graph took it, keeping its sent status's pricing: accepted, not billed */
    insert(TENANT_A, "failed", NULL, true, P_UTILITY, "+34600000005", mid);
    insert(TENANT_A, "failed", NULL, false, NULL, "+34600000006", mid); /* refused by Graph */
    insert(TENANT_A, "skipped", "whatsapp_disabled_for_tenant", false, NULL, "+34600000007", mid);
    insert(TENANT_A, "skipped", "whatsapp_disabled_for_tenant", false, NULL, "+34600000008", mid);
    insert(TENANT_A, "skipped", "recipient_opted_out", false, NULL, "+34600000009", mid);
    insert(TENANT_A, "sent", NULL, true, P_UTILITY, "+34600000010", mid); /* never delivered */
    insert(TENANT_A, "queued", NULL, false, NULL, "+34600000011", mid);
    insert(TENANT_A, "delivered", NULL, true, P_CBP, "+14155550112", mid);         /* US: '*' */
    insert(TENANT_A, "delivered", NULL, true, P_UTILITY, "+34600000013", "now()"); /* this month */
    /* tenant B */
    insert(TENANT_B, "read", NULL, true, P_AUTH, "+34600000021", mid);
    insert(TENANT_B, "delivered", NULL, true, P_FREE_ENTRY, "+34600000022", mid);
    insert(TENANT_B, "skipped", "odd, \"reason\"", false, NULL, "+34600000023", mid);
    insert(TENANT_LOWER, "sent", NULL, true, P_UTILITY, "+34600000041",
           AT_MADRID(PREV_START " - interval '15 days'"));
    /* the month's first half hour in Madrid: the month before in UTC */
    insert(TENANT_EDGE, "delivered", NULL, true, P_UTILITY, "+34600000031",
           AT_MADRID(PREV_START " + interval '30 minutes'"));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(admin);
    h_stop(&ns);
    h_drop_database(db_url);
    curl_global_cleanup();
    return 0;
}

/* ---------- the month's usage ---------- */

/* Default card: utility ES 0.0200, utility * 0.0077, marketing * 0.0604, authentication
 * ES 0.0200. A: 2 x 0.02 + 0.0077 (US) + 0.0604 (GB) = 0.1081. */
static void usage_counts_each_outcome_and_prices_what_meta_billed(void **state)
{
    (void)state;
    char *q = xasprintf("month=%s", prev);
    struct h_resp r = usage_json(&ns, q);
    assert_string_equal(json_string_value(json_object_get(r.json, "month")), prev);
    assert_string_equal(json_string_value(json_object_get(r.json, "timezone")), "Europe/Madrid");
    assert_string_equal(json_string_value(json_object_get(r.json, "currency")), "EUR");
    assert_string_equal(json_string_value(json_object_get(r.json, "rate_card_date")), "2026-01-01");
    assert_int_equal(json_array_size(json_object_get(r.json, "tenants")), 3);
    assert_json(line_of(r.json, TENANT_A),
                "{\"tenant_id\":\"" TENANT_A "\",\"accepted\":7,\"delivered\":5,\"read\":2,"
                "\"failed\":2,\"skipped\":{\"whatsapp_disabled_for_tenant\":2,"
                "\"recipient_opted_out\":1},\"billable\":{\"utility\":3,\"marketing\":1},"
                "\"free\":{\"free_customer_service\":1},\"cost\":0.1081}");
    assert_json(line_of(r.json, TENANT_B),
                "{\"tenant_id\":\"" TENANT_B "\",\"accepted\":2,\"delivered\":2,\"read\":1,"
                "\"failed\":0,\"skipped\":{\"odd, \\\"reason\\\"\":1},"
                "\"billable\":{\"authentication\":1},\"free\":{\"free_entry_point\":1},"
                "\"cost\":0.02}");
    assert_json(line_of(r.json, TENANT_EDGE),
                "{\"tenant_id\":\"" TENANT_EDGE "\",\"accepted\":1,\"delivered\":1,\"read\":0,"
                "\"failed\":0,\"skipped\":{},\"billable\":{\"utility\":1},\"free\":{},"
                "\"cost\":0.02}");
    assert_json(json_object_get(r.json, "totals"),
                "{\"accepted\":10,\"delivered\":8,\"read\":3,\"failed\":2,\"skipped\":"
                "{\"whatsapp_disabled_for_tenant\":2,\"recipient_opted_out\":1,"
                "\"odd, \\\"reason\\\"\":1},\"billable\":{\"utility\":4,\"marketing\":1,"
                "\"authentication\":1},\"free\":{\"free_customer_service\":1,"
                "\"free_entry_point\":1},\"cost\":0.1481}");
    /* the money is the card's decimals, not a binary fraction */
    assert_non_null(strstr(r.body, "\"cost\":0.1081"));
    h_resp_free(&r);
    free(q);

    /* this month holds only A's newest message */
    char *now = sql("SELECT to_char(now() AT TIME ZONE %s, 'YYYY-MM')", MADRID);
    q = xasprintf("month=%s&tenant_id=%s", now, TENANT_A);
    r = usage_json(&ns, q);
    assert_json(line_of(r.json, TENANT_A),
                "{\"tenant_id\":\"" TENANT_A "\",\"accepted\":1,\"delivered\":1,\"read\":0,"
                "\"failed\":0,\"skipped\":{},\"billable\":{\"utility\":1},\"free\":{},"
                "\"cost\":0.02}");
    h_resp_free(&r);
    free(q);
    free(now);
}

static void usage_as_csv_is_one_row_per_tenant_and_a_totals_row(void **state)
{
    (void)state;
    char type[128];
    char *q = xasprintf("month=%s", prev);
    char *want = xasprintf(
        "month,tenant_id,accepted,delivered,read,failed,skipped_whatsapp_notifications_disabled,"
        "skipped_whatsapp_disabled_for_tenant,skipped_po_notifications_disabled,"
        "skipped_recipient_opted_out,skipped_no_sender_phone_number,skipped_quota_exceeded,"
        "\"skipped_odd, \"\"reason\"\"\",billable_utility,billable_marketing,"
        "billable_authentication,billable_service,free_free_customer_service,"
        "free_free_entry_point,cost_eur\r\n"
        "%s," TENANT_A ",7,5,2,2,0,2,0,1,0,0,0,3,1,0,0,1,0,0.1081\r\n"
        "%s," TENANT_B ",2,2,1,0,0,0,0,0,0,0,1,0,0,1,0,0,1,0.0200\r\n"
        "%s," TENANT_EDGE ",1,1,0,0,0,0,0,0,0,0,0,1,0,0,0,0,0,0.0200\r\n"
        "%s,total,10,8,3,2,0,2,0,1,0,0,1,4,1,1,0,1,1,0.1481\r\n",
        prev, prev, prev, prev);
    struct h_resp r = usage_accept(&ns, q, "text/csv", type, sizeof type);
    assert_int_equal(r.status, 200);
    assert_string_equal(type, "text/csv; charset=utf-8");
    if (strcmp(r.body, want) != 0)
        fail_msg("CSV:\n%s\nwant:\n%s", r.body, want);
    h_resp_free(&r);

    /* by q-value: CSV preferred, or JSON preferred, or neither named */
    r = usage_accept(&ns, q, "application/json;q=0.5, text/csv", type, sizeof type);
    assert_string_equal(r.body, want);
    h_resp_free(&r);
    r = usage_accept(&ns, q, "text/csv;q=0.2, application/json", type, sizeof type);
    assert_string_equal(type, "application/json; charset=utf-8");
    h_resp_free(&r);
    r = usage_accept(&ns, q, "*/*", type, sizeof type);
    assert_string_equal(type, "application/json; charset=utf-8");
    h_resp_free(&r);
    free(want);
    free(q);
}

static void tenant_id_narrows_the_answer_to_one_tenant(void **state)
{
    (void)state;
    char *q = xasprintf("month=%s&tenant_id=%s", prev, "22222222-2222-4222-8222-222222222222");
    struct h_resp r = usage_json(&ns, q);
    assert_int_equal(json_array_size(json_object_get(r.json, "tenants")), 1);
    json_t *totals = json_deep_copy(json_object_get(r.json, "totals"));
    json_object_set_new(totals, "tenant_id", json_string(TENANT_B));
    assert_true(json_equal(totals, line_of(r.json, TENANT_B)));
    json_decref(totals);
    h_resp_free(&r);
    free(q);

    /* a tenant without messages has a line of zeros; upper case is the same tenant */
    q = xasprintf("month=%s&tenant_id=%s", prev, TENANT_NONE);
    r = usage_json(&ns, q);
    assert_json(json_object_get(r.json, "tenants"),
                "[{\"tenant_id\":\"" TENANT_NONE "\",\"accepted\":0,\"delivered\":0,\"read\":0,"
                "\"failed\":0,\"skipped\":{},\"billable\":{},\"free\":{},\"cost\":0.0}]");
    h_resp_free(&r);
    free(q);
    q = xasprintf("month=%s&tenant_id=%s", prev_1, "ABCDEF00-AAAA-4AAA-8AAA-AAAAAAAAAAAA");
    r = usage_json(&ns, q);
    assert_json(json_object_get(r.json, "tenants"),
                "[{\"tenant_id\":\"" TENANT_LOWER "\",\"accepted\":1,\"delivered\":0,\"read\":0,"
                "\"failed\":0,\"skipped\":{},\"billable\":{},\"free\":{},\"cost\":0.0}]");
    h_resp_free(&r);
    free(q);
}

/* ---------- the rate card ---------- */

#define DEFAULT_RATES                                                                              \
    "[{\"category\":\"authentication\",\"country\":\"*\",\"price\":0.0077},"                       \
    "{\"category\":\"authentication\",\"country\":\"ES\",\"price\":0.02},"                         \
    "{\"category\":\"marketing\",\"country\":\"*\",\"price\":0.0604},"                             \
    "{\"category\":\"marketing\",\"country\":\"ES\",\"price\":0.0615},"                            \
    "{\"category\":\"utility\",\"country\":\"*\",\"price\":0.0077},"                               \
    "{\"category\":\"utility\",\"country\":\"ES\",\"price\":0.02}]"

static void a_new_rate_card_changes_the_cost(void **state)
{
    (void)state;
    /* shipped: Meta's rates for Spain and its "Other" market, with their date and source */
    struct h_resp r = h_call("GET", ns.url, admin, NULL, CARD);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "currency")), "EUR");
    assert_string_equal(json_string_value(json_object_get(r.json, "effective_date")), "2026-01-01");
    assert_non_null(strstr(json_string_value(json_object_get(r.json, "source")), "Meta"));
    assert_json(json_object_get(r.json, "rates"), DEFAULT_RATES);
    char *before = xstrdup(r.body);
    h_resp_free(&r);
    long cards = sql_long("SELECT count(*) FROM whatsapp_rate_cards");

    r = put_card("{\"rates\":[{\"category\":\"utility\",\"country\":\"ES\",\"price\":0.035},"
                 "{\"category\":\"utility\",\"country\":\"*\",\"price\":0.01},"
                 "{\"category\":\"marketing\",\"country\":\"*\",\"price\":0.1},"
                 "{\"category\":\"authentication\",\"country\":\"ES\",\"price\":0.05}],"
                 "\"effective_date\":\"2026-12-01\",\"source\":\"negotiated, test\"}");
    assert_int_equal(r.status, 200);
    assert_json(r.json, "{\"currency\":\"EUR\",\"effective_date\":\"2026-12-01\",\"source\":"
                        "\"negotiated, test\",\"rates\":[{\"category\":\"authentication\","
                        "\"country\":\"ES\",\"price\":0.05},{\"category\":\"marketing\","
                        "\"country\":\"*\",\"price\":0.1},{\"category\":\"utility\",\"country\":"
                        "\"*\",\"price\":0.01},{\"category\":\"utility\",\"country\":\"ES\","
                        "\"price\":0.035}]}");
    h_resp_free(&r);
    assert_int_equal(sql_long("SELECT count(*) FROM whatsapp_rate_cards"), cards + 1);

    /* A: 2 x 0.035 + 0.01 (US) + 0.1 (GB); B: 0.05; the edge: 0.035 */
    char *q = xasprintf("month=%s", prev);
    r = usage_json(&ns, q);
    assert_string_equal(json_string_value(json_object_get(r.json, "rate_card_date")), "2026-12-01");
    assert_json(json_object_get(line_of(r.json, TENANT_A), "cost"), "0.18");
    assert_json(json_object_get(line_of(r.json, TENANT_B), "cost"), "0.05");
    assert_json(json_object_get(line_of(r.json, TENANT_EDGE), "cost"), "0.035");
    assert_json(json_object_get(json_object_get(r.json, "totals"), "cost"), "0.265");
    h_resp_free(&r);

    /* what GET answers can be PUT back as it is: the shipped card again */
    r = put_card(before);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    char *after = card_text();
    assert_string_equal(after, before);
    r = usage_json(&ns, q);
    assert_json(json_object_get(line_of(r.json, TENANT_A), "cost"), "0.1081");
    h_resp_free(&r);
    free(after);
    free(before);
    free(q);
}

static void bad_input_is_refused_and_changes_nothing(void **state)
{
    (void)state;
    static const struct {
        const char *query, *field;
    } queries[] = {
        {"", "month"},
        {"month=2026-13", "month"},
        {"month=26-01", "month"},
        {"month=2026-1", "month"},
        {"month=2026-00", "month"},
        {"month=0000-01", "month"},
        {"month=2026-11-01", "month"},
        {"month=2026-11%00", "month"},
        {"month=2026-11&tenant_id=junk", "tenant_id"},
        {"month=2026-11&tenant_id=%27%20OR%201%3D1--", "tenant_id"},
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        struct h_resp r = h_call("GET", ns.url, admin, NULL, USAGE "?%s", queries[i].query);
        h_assert_error(&r, 422, "validation_error");
        if (strcmp(json_string_value(json_object_get(r.json, "field")), queries[i].field) != 0)
            fail_msg("%s: field %s, want %s", queries[i].query, r.body, queries[i].field);
        h_resp_free(&r);
    }

#define RATE(category, country, price)                                                             \
    "{\"category\":\"" category "\",\"country\":\"" country "\",\"price\":" price "}"
    static const struct {
        const char *body, *field;
    } cards[] = {
        {"{\"rates\":[" RATE("utility", "ES", "-0.01") "]}", "rates[0].price"},
        {"{\"rates\":[" RATE("utility", "ES", "-1") "]}", "rates[0].price"},
        {"{\"rates\":[" RATE("promotion", "ES", "0.01") "]}", "rates[0].category"},
        {"{\"rates\":[" RATE("utility", "ES", "0.01") "],\"discount\":1}", "discount"},
        {"{\"rates\":[{\"category\":\"utility\",\"country\":\"ES\",\"price\":0.01,\"note\":1}]}",
         "rates[0].note"},
        {"{\"rates\":[" RATE("utility", "ES", "0.00001") "]}", "rates[0].price"},
        {"{\"rates\":[" RATE("utility", "ES", "\"0.02\"") "]}", "rates[0].price"},
        {"{\"rates\":[" RATE("utility", "ES", "1000000") "]}", "rates[0].price"},
        {"{\"rates\":[" RATE("utility", "ES", "1e400") "]}", NULL}, /* 400: not JSON we read */
        {"{\"rates\":[" RATE("utility", "es", "0.01") "]}", "rates[0].country"},
        {"{\"rates\":[" RATE("utility", "ESP", "0.01") "]}", "rates[0].country"},
        {"{\"rates\":[" RATE("utility", "ES", "0.01") "," RATE("utility", "ES", "0.02") "]}",
         "rates[1]"},
        {"{\"rates\":[" RATE("utility", "ES", "0.01") ",{\"category\":\"utility\",\"country\":"
                                                      "\"FR\"}]}",
         "rates[1].price"},
        {"{\"rates\":[]}", "rates"},
        {"{\"rates\":{}}", "rates"},
        {"{\"rates\":[1]}", "rates[0]"},
        {"{}", "rates"},
        {"{\"rates\":[" RATE("utility", "ES", "0.01") "],\"currency\":\"USD\"}", "currency"},
        {"{\"rates\":[" RATE("utility", "ES", "0.01") "],\"effective_date\":\"2026-02-30\"}",
         "effective_date"},
        {"{\"rates\":[" RATE("utility", "ES", "0.01") "],\"source\":\"\"}", "source"},
    };
#undef RATE
    char *before = card_text();
    long versions = sql_long("SELECT count(*) FROM whatsapp_rate_cards");
    for (size_t i = 0; i < sizeof cards / sizeof cards[0]; i++) {
        struct h_resp r = put_card(cards[i].body);
        if (!cards[i].field) {
            h_assert_error(&r, 400, "malformed_json");
        } else {
            h_assert_error(&r, 422, "validation_error");
            const char *field = json_string_value(json_object_get(r.json, "field"));
            if (!field || strcmp(field, cards[i].field) != 0)
                fail_msg("%s: %s, want field %s", cards[i].body, r.body, cards[i].field);
        }
        h_resp_free(&r);
    }
    char *after = card_text();
    assert_string_equal(after, before);
    assert_int_equal(sql_long("SELECT count(*) FROM whatsapp_rate_cards"), versions);
    free(after);
    free(before);
}

/* ---------- the month is BILLING_TIMEZONE's ---------- */

/* Runs notification-service with env and returns its exit status and output. */
static int run_binary(const char *const *env, char *out, size_t outlen)
{
    const char *dir = getenv("BIN_DIR") ? getenv("BIN_DIR") : "build/asan";
    struct buf cmd = {0};
    buf_append_str(&cmd, "env -i PATH=/usr/bin:/bin ASAN_OPTIONS=detect_leaks=1");
    for (size_t i = 0; env[i]; i++)
        buf_printf(&cmd, " '%s'", env[i]);
    buf_printf(&cmd, " %s/notification-service 2>&1", dir);
    FILE *f = popen(cmd.data, "r");
    size_t n = f ? fread(out, 1, outlen - 1, f) : 0;
    out[n] = '\0';
    int status = f ? pclose(f) : -1;
    buf_free(&cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void billing_timezone_decides_the_month_and_must_be_known(void **state)
{
    (void)state;
    /* 00:30 on the 1st in Madrid is 22:30 or 23:30 of the day before in UTC */
    assert_int_equal(accepted_of(&ns, prev, TENANT_EDGE), 1);
    assert_int_equal(accepted_of(&ns, prev_1, TENANT_EDGE), 0);

    struct h_proc utc;
    const char *env[] = {"BILLING_TIMEZONE=UTC", NULL};
    assert_true(start_ns(&utc, env));
    assert_int_equal(accepted_of(&utc, prev_1, TENANT_EDGE), 1);
    assert_int_equal(accepted_of(&utc, prev, TENANT_EDGE), 0);
    char *q = xasprintf("month=%s", prev);
    struct h_resp r = usage_json(&utc, q);
    assert_string_equal(json_string_value(json_object_get(r.json, "timezone")), "UTC");
    h_resp_free(&r);
    free(q);
    assert_int_equal(h_stop(&utc), 0);

    char out[8192], *db = xasprintf("NOTIFICATION_DATABASE_URL=%s", db_url);
    char *port = xasprintf("NOTIFICATION_PORT=%u", h_free_port());
    const char *bad[] = {db, port, "JWT_SECRET=" H_JWT_SECRET, "BILLING_TIMEZONE=Mars/Olympus_Mons",
                         NULL};
    assert_int_equal(run_binary(bad, out, sizeof out), 2);
    if (!strstr(out, "BILLING_TIMEZONE") || !strstr(out, "Mars/Olympus_Mons"))
        fail_msg("the refusal does not name the variable: %s", out);
    free(port);
    free(db);
}

/* ---------- retention ---------- */

static bool old_messages_gone(void *arg)
{
    (void)arg;
    return sql_long("SELECT count(*) FROM whatsapp_messages"
                    " WHERE created_at < now() - interval '1 day'") == 0;
}

static void usage_is_the_same_before_and_after_retention(void **state)
{
    (void)state;
    /* three days old (deleted below) and an hour old (kept), maybe of one month */
    insert(TENANT_RET, "read", NULL, true, P_UTILITY, "+34600000051", "now() - interval '3 days'");
    insert(TENANT_RET, "read", NULL, true, P_FREE_CS, "+34600000052", "now() - interval '3 days'");
    insert(TENANT_RET, "failed", NULL, true, P_UTILITY, "+34600000053",
           "now() - interval '3 days'");
    insert(TENANT_RET, "skipped", "recipient_opted_out", false, NULL, "+34600000054",
           "now() - interval '3 days'");
    insert(TENANT_RET, "delivered", NULL, true, P_MARKETING, "+33600000055",
           "now() - interval '3 days'");
    insert(TENANT_RET, "delivered", NULL, true, P_UTILITY, "+34600000056",
           "now() - interval '1 hour'");
    char *m = sql("SELECT to_char((now() - interval '3 days') AT TIME ZONE %s, 'YYYY-MM') || ' '"
                  " || to_char((now() - interval '1 hour') AT TIME ZONE %s, 'YYYY-MM')",
                  MADRID, MADRID);
    const char *months[] = {prev_1, prev, m, m + 8};
    m[7] = '\0';
    char *before[8], type[128];
    for (int i = 0; i < 4; i++) {
        char *q = xasprintf("month=%s", months[i]);
        struct h_resp r = usage_json(&ns, q);
        before[2 * i] = xstrdup(r.body);
        h_resp_free(&r);
        r = usage_accept(&ns, q, "text/csv", type, sizeof type);
        before[2 * i + 1] = xstrdup(r.body);
        h_resp_free(&r);
        free(q);
    }
    long messages = sql_long("SELECT count(*) FROM whatsapp_messages");
    long old = sql_long("SELECT count(*) FROM whatsapp_messages"
                        " WHERE created_at < now() - interval '1 day'");
    assert_true(old >= 20);

    struct h_proc ret;
    const char *env[] = {"WHATSAPP_RETENTION_DAYS=1", "RETENTION_INTERVAL_SECONDS=1",
                         "RETENTION_BATCH_SIZE=3", NULL};
    assert_true(start_ns(&ret, env));
    assert_true(h_wait_until(old_messages_gone, NULL, 15000));
    assert_int_equal(sql_long("SELECT count(*) FROM whatsapp_messages"), messages - old);
    assert_true(sql_long("SELECT count(*) FROM whatsapp_usage_rollup") > 0);
    assert_int_equal(h_stop(&ret), 0);

    for (int i = 0; i < 4; i++) {
        char *q = xasprintf("month=%s", months[i]);
        struct h_resp r = usage_json(&ns, q);
        if (strcmp(r.body, before[2 * i]) != 0)
            fail_msg("%s before retention:\n%s\nafter:\n%s", months[i], before[2 * i], r.body);
        h_resp_free(&r);
        r = usage_accept(&ns, q, "text/csv", type, sizeof type);
        assert_string_equal(r.body, before[2 * i + 1]);
        h_resp_free(&r);
        free(q);
    }
    for (int i = 0; i < 8; i++)
        free(before[i]);
    /* the rollup is what retention deleted, under Madrid's months: the edge message is in
     * the month it was in before */
    assert_int_equal(accepted_of(&ns, prev, TENANT_EDGE), 1);
    assert_int_equal(accepted_of(&ns, prev_1, TENANT_EDGE), 0);
    free(m);
}

static void shutdown_is_clean(void **state)
{
    (void)state;
    assert_int_equal(h_stop(&ns), 0);
}

/* ======================= orders sent through graph-sim ======================= */

static struct h_stack st;

struct wait_for {
    const char *id;
    const char *status;
};

static bool has_status(void *arg)
{
    const struct wait_for *w = arg;
    char *s = hs_column(&st, w->id, "status");
    bool ok = strcmp(s, w->status) == 0;
    free(s);
    return ok;
}

static void expect_status(const char *id, const char *status)
{
    struct wait_for w = {id, status};
    if (!h_wait_until(has_status, &w, 15000)) {
        char *s = hs_column(&st, id, "status"), *e = hs_column(&st, id, "error_message");
        fail_msg("message %s: %s (%s), want %s", id, s, e, status);
    }
}

static int stack_setup(void **state)
{
    (void)state;
    char name[48];
    snprintf(name, sizeof name, "usage_%ld", (long)getpid());
    if (!hs_start(&st, name, NULL, NULL))
        return -1;
    char *hook = xasprintf("{\"webhook_url\":\"%s/api/v1/whatsapp/webhook\","
                           "\"status_delay_ms\":50}",
                           st.notif.url);
    struct h_resp r = h_call("POST", st.sim.url, NULL, hook, "/_sim/settings");
    free(hook);
    bool ok = r.status == 200;
    h_resp_free(&r);
    return ok ? 0 : -1;
}

static int stack_teardown(void **state)
{
    (void)state;
    int rc = hs_stop(&st) != 0 ? -1 : 0;
    h_drop_database(st.tenant_db);
    h_drop_database(st.notif_db);
    return rc;
}

static void orders_sent_through_graph_are_counted_as_meta_priced_them(void **state)
{
    (void)state;
    char open[HT_ID_LEN], closed[HT_ID_LEN];
    ht_create_tenant(&st.ts, "Panadería Contable", open);
    ht_create_tenant(&st.ts, "Horno Cerrado", closed);
    hs_settings(&st, open, "{\"whatsapp_enabled\": true}");
    hs_assign(&st, open, HS_PHONE(02));

    /* billed: a utility template outside any customer-service window */
    char *billed = hs_post_order(&st.notif, open, "+34600200001");
    expect_status(billed, "read");
    /* free: the supplier wrote first, so the window is open */
    hs_sim(&st, "/_sim/inbound",
           "{\"phone_number_id\":\"" HS_PHONE(02) "\",\"from\":\"+34600200002\",\"text\":"
                                                  "\"Hola\"}");
    char *free_one = hs_post_order(&st.notif, open, "+34600200002");
    expect_status(free_one, "read");
    /* accepted by Graph, then failed: not on WhatsApp (131026) */
    hs_sim(&st, "/_sim/faults", "{\"not_on_whatsapp\":[\"+34600200003\"]}");
    char *failed = hs_post_order(&st.notif, open, "+34600200003");
    expect_status(failed, "failed");
    hs_sim(&st, "/_sim/faults", "{\"not_on_whatsapp\":[]}");
    /* WhatsApp off for the tenant */
    char *skipped = hs_post_order(&st.notif, closed, "+34600200004");
    expect_status(skipped, "skipped");

    char *month = hs_column(&st, billed,
                            "to_char(created_at AT TIME ZONE 'Europe/Madrid', "
                            "'YYYY-MM')");
    struct h_resp r = h_call("GET", st.notif.url, ht_admin(), NULL, USAGE "?month=%s", month);
    assert_int_equal(r.status, 200);
    char *want = xasprintf(
        "{\"tenant_id\":\"%s\",\"accepted\":3,\"delivered\":2,\"read\":2,\"failed\":1,"
        "\"skipped\":{},\"billable\":{\"utility\":1},\"free\":{\"free_customer_service\":1},"
        "\"cost\":0.02}",
        open);
    assert_json(line_of(r.json, open), want);
    free(want);
    want = xasprintf("{\"tenant_id\":\"%s\",\"accepted\":0,\"delivered\":0,\"read\":0,"
                     "\"failed\":0,\"skipped\":{\"whatsapp_disabled_for_tenant\":1},"
                     "\"billable\":{},\"free\":{},\"cost\":0.0}",
                     closed);
    assert_json(line_of(r.json, closed), want);
    free(want);
    h_resp_free(&r);
    free(month);
    free(billed);
    free(free_one);
    free(failed);
    free(skipped);
}

int main(void)
{
    const struct CMUnitTest ledger[] = {
        cmocka_unit_test(usage_counts_each_outcome_and_prices_what_meta_billed),
        cmocka_unit_test(usage_as_csv_is_one_row_per_tenant_and_a_totals_row),
        cmocka_unit_test(tenant_id_narrows_the_answer_to_one_tenant),
        cmocka_unit_test(a_new_rate_card_changes_the_cost),
        cmocka_unit_test(bad_input_is_refused_and_changes_nothing),
        cmocka_unit_test(billing_timezone_decides_the_month_and_must_be_known),
        cmocka_unit_test(usage_is_the_same_before_and_after_retention),
        cmocka_unit_test(shutdown_is_clean),
    };
    const struct CMUnitTest sent[] = {
        cmocka_unit_test(orders_sent_through_graph_are_counted_as_meta_priced_them),
    };
    if (!h_pg_start())
        return 1;
    int failed = cmocka_run_group_tests_name("ledger", ledger, setup, teardown);
    return failed + cmocka_run_group_tests_name("sent", sent, stack_setup, stack_teardown);
}
