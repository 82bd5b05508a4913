/* test_notification_api_webhook.c - notification-service's webhook against a real
 * PostgreSQL: Meta's verification GET, signatures over the raw bytes, statuses in every
 * order with duplicates, statuses that arrive before their wamid (callback data and the
 * pending table), a batch with bad items applying the rest, inbound STOP/BAJA/START/ALTA,
 * and the retention job. Messages are inserted directly in SQL, leased to nobody, so no
 * outbox worker touches them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "alloc.h"
#include "harness.h"
#include "hmac.h"
#include "uuidutil.h"

#define APP_SECRET "webhook-app-secret-0123"
#define VERIFY_TOKEN "verify-me-please"
#define HOOK_PATH "/api/v1/whatsapp/webhook"
#define PHONE_ID "106540352242922"
#define T0 1750263773L /* a Meta timestamp */
#define TENANT_1 "11111111-1111-4111-8111-111111111111"
#define TENANT_2 "22222222-2222-4222-8222-222222222222"

static char db_url[256];
static struct h_proc hook;      /* checks signatures */
static struct h_proc open_hook; /* no app secret, no verify token */

/* ---------- helpers ---------- */

static bool start_daemon(struct h_proc *p, const char *url, const char *const *extra)
{
    char db[320], graph[64], tenant[64];
    snprintf(db, sizeof db, "NOTIFICATION_DATABASE_URL=%s", url);
    snprintf(graph, sizeof graph, "GRAPH_API_BASE_URL=http://127.0.0.1:%u", h_free_port());
    snprintf(tenant, sizeof tenant, "TENANT_SERVICE_URL=http://127.0.0.1:%u", h_free_port());
    const char *env[16] = {db, "JWT_SECRET=" H_JWT_SECRET, graph, tenant};
    size_t n = 4;
    for (size_t i = 0; extra && extra[i] && n < 15; i++)
        env[n++] = extra[i];
    env[n] = NULL;
    return h_start(p, "notification-service", "NOTIFICATION_PORT", env, "/ready");
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    buf_append(userdata, ptr, size * nmemb);
    return size * nmemb;
}

/* POSTs body to the webhook with an X-Hub-Signature-256 header (none when NULL). */
static struct h_resp post_raw(const struct h_proc *p, const char *body, size_t len,
                              const char *signature)
{
    struct h_resp r = {0};
    struct buf b = {0};
    struct curl_slist *hdrs = NULL;
    char *sig = signature ? xasprintf("X-Hub-Signature-256: %s", signature) : NULL;
    char *url = h_url(p->url, HOOK_PATH);
    CURL *c = curl_easy_init();

    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (sig)
        hdrs = curl_slist_append(hdrs, sig);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    r.len = b.len;
    r.body = buf_steal(&b);
    if (r.len)
        r.json = json_loadb(r.body, r.len, 0, NULL);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    free(sig);
    free(url);
    return r;
}

static char *sign(const char *secret, const char *body, size_t len)
{
    char hex[HMAC_SHA256_HEX_LEN];
    assert_int_equal(hmac_sha256_hex(secret, strlen(secret), body, len, hex), 0);
    return xasprintf("sha256=%s", hex);
}

/* Signs and POSTs body to the checking daemon; expects 200 and returns the summary. */
static json_t *deliver(const char *body)
{
    char *sig = sign(APP_SECRET, body, strlen(body));
    struct h_resp r = post_raw(&hook, body, strlen(body), sig);
    if (r.status != 200)
        fprintf(stderr, "webhook answered %ld: %s\n", r.status, r.body);
    assert_int_equal(r.status, 200);
    json_t *summary = json_incref(r.json);
    h_resp_free(&r);
    free(sig);
    return summary;
}

static long summary_count(const json_t *summary, const char *group, const char *key)
{
    return (long)json_integer_value(json_object_get(json_object_get(summary, group), key));
}

/* One status object as JSON text. */
static char *status_item(const char *wamid, const char *status, long ts, const char *callback)
{
    struct buf b = {0};
    buf_printf(&b,
               "{\"id\": \"%s\", \"status\": \"%s\", \"timestamp\": \"%ld\", "
               "\"recipient_id\": \"34612345678\"",
               wamid, status, ts);
    if (callback)
        buf_printf(&b, ", \"biz_opaque_callback_data\": \"%s\"", callback);
    if (strcmp(status, "failed") == 0)
        buf_append_str(&b, ", \"errors\": [{\"code\": 131026, \"title\": \"Message undeliverable\","
                           " \"message\": \"Message undeliverable\", \"error_data\": {\"details\":"
                           " \"Recipient is not on WhatsApp\"}}]");
    if (strcmp(status, "sent") == 0)
        buf_append_str(&b, ", \"pricing\": {\"billable\": true, \"pricing_model\": \"PMP\","
                           " \"category\": \"utility\"}");
    buf_append_str(&b, "}");
    return buf_steal(&b);
}

/* Meta's envelope around a statuses array and a messages array (JSON texts or NULL). */
static char *envelope(const char *phone_id, const char *statuses, const char *messages)
{
    struct buf b = {0};
    buf_printf(&b,
               "{\"object\": \"whatsapp_business_account\", \"entry\": [{\"id\": "
               "\"102290129340398\", \"changes\": [{\"field\": \"messages\", \"value\": {"
               "\"messaging_product\": \"whatsapp\", \"metadata\": {"
               "\"display_phone_number\": \"15550783881\", \"phone_number_id\": \"%s\"}",
               phone_id);
    if (statuses)
        buf_printf(&b, ", \"statuses\": [%s]", statuses);
    if (messages)
        buf_printf(&b,
                   ", \"contacts\": [{\"profile\": {\"name\": \"Ana\"}, \"wa_id\": "
                   "\"34600000001\"}], \"messages\": [%s]",
                   messages);
    buf_append_str(&b, "}}]}]}");
    return buf_steal(&b);
}

static json_t *deliver_statuses(const char *statuses)
{
    char *body = envelope(PHONE_ID, statuses, NULL);
    json_t *summary = deliver(body);
    free(body);
    return summary;
}

/* A message row as the sender leaves it, leased far ahead so no worker claims it. */
static void insert_message(const char *id, const char *tenant, const char *status,
                           const char *wamid, const char *phone_id, const char *to, const char *age)
{
    char *sql = xasprintf(
        "INSERT INTO whatsapp_messages (id, tenant_id, idempotency_key, kind, request_hash,"
        " recipient_phone, template_name, template_parameters, payload, status, wamid,"
        " phone_number_id, lease_owner, lease_expires_at, next_attempt_at, created_at) VALUES"
        " ('%s', '%s', '%s', 'template', 'h', '%s', 't', '[]', '{}', '%s', %s%s%s, %s%s%s,"
        " 'test', now() + interval '1 day', CASE WHEN '%s' IN ('queued', 'sending')"
        " THEN now() + interval '1 day' END, now() - interval '%s')",
        id, tenant, id, to, status, wamid ? "'" : "", wamid ? wamid : "NULL", wamid ? "'" : "",
        phone_id ? "'" : "", phone_id ? phone_id : "NULL", phone_id ? "'" : "", status, age);
    char *done = h_sql(db_url, sql);
    assert_non_null(done);
    free(done);
    free(sql);
}

/* One expression of a message's row as text ("" for NULL). */
static char *field(const char *id, const char *expr)
{
    char *sql = xasprintf("SELECT %s FROM whatsapp_messages WHERE id = '%s'", expr, id);
    char *v = h_sql(db_url, sql);
    free(sql);
    assert_non_null(v);
    return v;
}

static void assert_field(const char *id, const char *expr, const char *want)
{
    char *got = field(id, expr);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "message %s: %s is '%s', expected '%s'\n", id, expr, got, want);
    assert_string_equal(got, want);
    free(got);
}

static long count_sql(const char *sql)
{
    char *v = h_sql(db_url, sql);
    long n = v ? strtol(v, NULL, 10) : -1;
    free(v);
    return n;
}

/* ---------- setup ---------- */

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!h_fresh_database("it_notif_api_webhook", db_url, sizeof db_url))
        return -1;
    const char *checked[] = {"WHATSAPP_APP_SECRET=" APP_SECRET,
                             "WHATSAPP_WEBHOOK_VERIFY_TOKEN=" VERIFY_TOKEN, "HTTP_BODY_LIMIT=16384",
                             "WEBHOOK_BODY_LIMIT=65536", NULL};
    if (!start_daemon(&hook, db_url, checked))
        return -1;
    return start_daemon(&open_hook, db_url, NULL) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    h_stop(&hook);
    h_stop(&open_hook);
    curl_global_cleanup();
    return 0;
}

/* ---------- verification ---------- */

static struct h_resp verify(const struct h_proc *p, const char *query)
{
    char *url = h_url(p->url, HOOK_PATH "%s", query);
    struct h_resp r = h_get(url, NULL);
    free(url);
    return r;
}

static void verification_echoes_the_challenge(void **state)
{
    (void)state;
    struct h_resp r = verify(&hook, "?hub.mode=subscribe&hub.challenge=1158201444"
                                    "&hub.verify_token=" VERIFY_TOKEN);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.content_type, "text/plain"));
    assert_string_equal(r.body, "1158201444");
    h_resp_free(&r);

    r = verify(&hook, "?hub.mode=subscribe&hub.challenge=a%20b%2Bc&hub.verify_token=" VERIFY_TOKEN);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "a b+c");
    h_resp_free(&r);

    static const char *const refused[] = {
        "?hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong",
        "?hub.mode=subscribe&hub.challenge=1&hub.verify_token=" VERIFY_TOKEN "x",
        "?hub.mode=subscribe&hub.challenge=1&hub.verify_token=",
        "?hub.mode=subscribe&hub.challenge=1",
        "?hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=" VERIFY_TOKEN,
        "?hub.challenge=1&hub.verify_token=" VERIFY_TOKEN,
        "",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        r = verify(&hook, refused[i]);
        h_assert_error(&r, 403, "forbidden");
        h_resp_free(&r);
    }
    r = verify(&hook, "?hub.mode=subscribe&hub.verify_token=" VERIFY_TOKEN);
    h_assert_error(&r, 400, "bad_request");
    h_resp_free(&r);

    /* No configured token: nothing matches, not even an empty one. */
    r = verify(&open_hook, "?hub.mode=subscribe&hub.challenge=1&hub.verify_token=");
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    r = verify(&open_hook, "?hub.mode=subscribe&hub.challenge=1&hub.verify_token=anything");
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
}

/* ---------- signatures ---------- */

static void signatures_cover_the_raw_bytes(void **state)
{
    (void)state;
    /* Non-ASCII escaped as Meta does; the signature is over these exact bytes. */
    const char *body = "{\"object\": \"whatsapp_business_account\", \"entry\": [{\"id\": "
                       "\"Panader\\u00eda\", \"changes\": []}]}";
    size_t len = strlen(body);
    char *good = sign(APP_SECRET, body, len);
    char *wrong = sign("another-secret", body, len);

    struct h_resp r = post_raw(&hook, body, len, good);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.json, "success")));
    h_resp_free(&r);

    char *upper = xstrdup(good);
    for (char *c = upper + 7; *c; c++)
        *c = (char)(*c >= 'a' && *c <= 'f' ? *c - 32 : *c);
    r = post_raw(&hook, body, len, upper);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);

    const char *bad[] = {wrong, NULL, "sha256=", "sha1=0123", good + 7, "sha256=zz"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = post_raw(&hook, body, len, bad[i]);
        h_assert_error(&r, 401, "invalid_signature");
        h_resp_free(&r);
    }
    /* The same JSON re-serialized is other bytes: refused. */
    const char *compact = "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":"
                          "\"Panader\\u00eda\",\"changes\":[]}]}";
    r = post_raw(&hook, compact, strlen(compact), good);
    h_assert_error(&r, 401, "invalid_signature");
    h_resp_free(&r);

    /* Without a configured secret nothing is checked. */
    r = post_raw(&open_hook, body, len, NULL);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);

    char *url = h_url(hook.url, "/metrics");
    r = h_get(url, NULL);
    assert_non_null(strstr(r.body, "whatsapp_webhook_signature_failures_total 7"));
    h_resp_free(&r);
    free(url);
    assert_true(h_log_count(&hook, "webhook signature refused") >= 7);
    free(upper);
    free(good);
    free(wrong);
}

/* ---------- statuses ---------- */

struct event {
    const char *status;
    long ts;
};

/* A message with a wamid, then the events delivered one POST each (batch false) or all
 * in one POST (batch true). Returns the message id in id. */
static void play(const struct event *events, size_t n, bool batch, char id[UUID_STR_LEN],
                 const char *initial)
{
    char wamid[64];
    uuid_new(id);
    snprintf(wamid, sizeof wamid, "wamid.%s", id);
    insert_message(id, TENANT_1, initial, wamid, PHONE_ID, "+34612345678", "1 minute");
    struct buf all = {0};
    for (size_t i = 0; i < n; i++) {
        char *item = status_item(wamid, events[i].status, events[i].ts, NULL);
        if (batch) {
            buf_printf(&all, "%s%s", i ? ", " : "", item);
        } else {
            json_decref(deliver_statuses(item));
        }
        free(item);
    }
    if (batch)
        json_decref(deliver_statuses(all.data));
    buf_free(&all);
}

static void assert_times(const char *id, long sent, long delivered, long read, long failed)
{
    const char *cols[] = {"sent_at", "delivered_at", "read_at", "failed_at"};
    long want[] = {sent, delivered, read, failed};
    for (size_t i = 0; i < 4; i++) {
        char expr[96], text[24] = "";
        snprintf(expr, sizeof expr, "coalesce(extract(epoch FROM %s)::bigint::text, '')", cols[i]);
        if (want[i])
            snprintf(text, sizeof text, "%ld", want[i]);
        assert_field(id, expr, text);
    }
}

/* Plays each order (indexes into events), once one POST per event and once all in one
 * POST, with the order's event `repeat` delivered again at the end, and checks each
 * message. */
static void play_orders(const struct event *events, const int (*orders)[3], size_t norders,
                        size_t repeat, void (*check)(const char *id))
{
    for (int batch = 0; batch < 2; batch++) {
        for (size_t o = 0; o < norders; o++) {
            struct event seq[4];
            for (size_t i = 0; i < 3; i++)
                seq[i] = events[orders[o][i]];
            seq[3] = seq[repeat];
            char id[UUID_STR_LEN];
            play(seq, 4, batch, id, "sending");
            check(id);
        }
    }
}

static void read_with_every_time(const char *id)
{
    assert_field(id, "status", "read");
    assert_times(id, T0, T0 + 5, T0 + 60, 0);
}

static void failed_with_metas_error(const char *id)
{
    assert_field(id, "status", "failed");
    assert_field(id, "error_code", "131026");
    assert_field(id, "error_message", "Message undeliverable (Recipient is not on WhatsApp)");
    assert_field(id, "extract(epoch FROM failed_at)::bigint", "1750263782");
}

static void statuses_in_every_order_end_the_same(void **state)
{
    (void)state;
    const struct event sdr[] = {{"sent", T0}, {"delivered", T0 + 5}, {"read", T0 + 60}};
    static const int all[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    play_orders(sdr, all, 6, 0, read_with_every_time);

    /* failed wins over sent and delivered, whatever the order, and keeps Meta's error */
    const struct event sdf[] = {{"sent", T0}, {"delivered", T0 + 1}, {"failed", T0 + 9}};
    static const int rotations[3][3] = {{0, 1, 2}, {2, 0, 1}, {1, 2, 0}};
    play_orders(sdf, rotations, 3, 1, failed_with_metas_error);

    /* failed does not undo read; and a failed message stays failed */
    char id[UUID_STR_LEN];
    const struct event read_then_failed[] = {{"read", T0 + 60}, {"failed", T0 + 61}};
    play(read_then_failed, 2, false, id, "sent");
    assert_field(id, "status", "read");
    assert_times(id, 0, 0, T0 + 60, 0);
    assert_field(id, "coalesce(error_code::text, '')", "");
    const struct event failed_then_read[] = {{"failed", T0 + 9}, {"read", T0 + 60}};
    play(failed_then_read, 2, false, id, "sent");
    assert_field(id, "status", "failed");
    assert_times(id, 0, 0, 0, T0 + 9);
    /* one batch with both: read wins (it proves delivery) */
    play(failed_then_read, 2, true, id, "sent");
    assert_field(id, "status", "read");

    /* skipped is terminal */
    const struct event late[] = {{"sent", T0}, {"read", T0 + 1}};
    play(late, 2, false, id, "skipped");
    assert_field(id, "status", "skipped");
    assert_times(id, 0, 0, 0, 0);

    /* an early 'delivered' is never downgraded by the sender's own 'sent' */
    const struct event early[] = {{"delivered", T0 + 5}};
    play(early, 1, false, id, "sending");
    char *sql = xasprintf("UPDATE whatsapp_messages SET status = whatsapp_status_merge(status, "
                          "'sent') WHERE id = '%s'",
                          id);
    free(h_sql(db_url, sql));
    free(sql);
    assert_field(id, "status", "delivered");

    /* the summary counts */
    char wamid[64];
    uuid_new(id);
    snprintf(wamid, sizeof wamid, "wamid.%s", id);
    insert_message(id, TENANT_1, "sent", wamid, PHONE_ID, "+34612345678", "1 minute");
    char *a = status_item(wamid, "delivered", T0, NULL);
    char *b = status_item(wamid, "delivered", T0, NULL);
    char *both = xasprintf("%s, %s", a, b);
    json_t *s = deliver_statuses(both);
    assert_int_equal(summary_count(s, "statuses", "received"), 2);
    assert_int_equal(summary_count(s, "statuses", "applied"), 2);
    json_decref(s);
    s = deliver_statuses(a);
    assert_int_equal(summary_count(s, "statuses", "applied"), 0);
    assert_int_equal(summary_count(s, "statuses", "ignored"), 1);
    json_decref(s);
    free(a);
    free(b);
    free(both);
}

/* Meta reports whole seconds; sent_at is the millisecond of Graph's answer. A message
 * delivered and read within the second it was sent keeps the times Meta reported, but
 * never shows them before the send, in the row or through the API. */
static void status_times_never_precede_the_send(void **state)
{
    (void)state;
    char id[UUID_STR_LEN], wamid[64], sql[256];
    uuid_new(id);
    snprintf(wamid, sizeof wamid, "wamid.%s", id);
    insert_message(id, TENANT_1, "sent", wamid, PHONE_ID, "+34612345678", "1 minute");
    snprintf(sql, sizeof sql,
             "UPDATE whatsapp_messages SET sent_at = to_timestamp(%ld.700) WHERE id = '%s'", T0,
             id);
    char *done = h_sql(db_url, sql);
    assert_non_null(done);
    free(done);
    char *d = status_item(wamid, "delivered", T0, NULL);
    char *r = status_item(wamid, "read", T0, NULL);
    char *both = xasprintf("%s, %s", d, r);
    json_decref(deliver_statuses(both));
    free(both);
    free(d);
    free(r);

    const char *ms = "(extract(epoch FROM %s) * 1000)::bigint";
    char expr[96], want[32];
    snprintf(want, sizeof want, "%ld700", T0);
    const char *clamped[] = {"sent_at", "delivered_at", "read_at"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(expr, sizeof expr, ms, clamped[i]);
        assert_field(id, expr, want);
    }
    snprintf(want, sizeof want, "%ld000", T0);
    const char *reported[] = {"delivered_reported_at", "read_reported_at"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(expr, sizeof expr, ms, reported[i]);
        assert_field(id, expr, want);
    }
    char *admin = h_token("admin", NULL, NULL, "test-admin", 300);
    struct h_resp resp = h_call("GET", hook.url, admin, NULL, "/api/v1/whatsapp/messages/%s", id);
    assert_int_equal(resp.status, 200);
    const char *sent = json_string_value(json_object_get(resp.json, "sent_at"));
    const char *delivered = json_string_value(json_object_get(resp.json, "delivered_at"));
    const char *read = json_string_value(json_object_get(resp.json, "read_at"));
    assert_non_null(sent);
    assert_string_equal(delivered, sent);
    assert_string_equal(read, sent);
    assert_string_equal(json_string_value(json_object_get(resp.json, "read_reported_at")),
                        "2025-06-18T16:22:53.000000Z");
    h_resp_free(&resp);
    free(admin);
}

/* A status item with the given pricing member (raw JSON text) appended. */
static char *priced_item(const char *wamid, const char *status, long ts, const char *pricing)
{
    char *item = status_item(wamid, status, ts, NULL);
    item[strlen(item) - 1] = '\0'; /* the closing brace */
    char *out = xasprintf("%s, \"pricing\": %s}", item, pricing);
    free(item);
    return out;
}

/* Each message keeps the pricing of the furthest status that carried one, as Meta sent
 * it (PMP, or the older CBP with its conversation); a pricing that is missing or not an
 * object never fails its status. */
static void pricing_is_kept_and_never_fails_a_status(void **state)
{
    (void)state;
    char id[UUID_STR_LEN], wamid[64];
    static const char *const pmp =
        "{\"billable\": true, \"pricing_model\": \"PMP\", \"category\": \"utility\","
        " \"type\": \"regular\", \"new_key\": [1]}";
    uuid_new(id);
    snprintf(wamid, sizeof wamid, "wamid.%s", id);
    insert_message(id, TENANT_1, "sent", wamid, PHONE_ID, "+34612345678", "1 minute");
    char *d = priced_item(wamid, "delivered", T0 + 1, pmp);
    char *r = priced_item(wamid, "read", T0 + 2, "\"free of charge\"");
    char *both = xasprintf("%s, %s", d, r);
    json_decref(deliver_statuses(both));
    assert_field(id, "status", "read");
    assert_field(id, "pricing->>'pricing_model'", "PMP");
    assert_field(id, "pricing->>'type'", "regular");
    assert_field(id, "pricing->'new_key'->>0", "1");
    free(both);
    free(d);
    free(r);

    /* the old conversation-based shape is kept as it came */
    uuid_new(id);
    snprintf(wamid, sizeof wamid, "wamid.%s", id);
    insert_message(id, TENANT_1, "sent", wamid, PHONE_ID, "+34612345678", "1 minute");
    d = priced_item(wamid, "delivered", T0 + 1,
                    "{\"billable\": true, \"pricing_model\": \"CBP\", \"category\": "
                    "\"utility\", \"conversation\": {\"id\": \"c1\", \"origin\": {\"type\": "
                    "\"utility\"}}}");
    json_decref(deliver_statuses(d));
    free(d);
    assert_field(id, "status", "delivered");
    assert_field(id, "pricing->>'pricing_model'", "CBP");
    assert_field(id, "pricing->'conversation'->>'id'", "c1");

    /* none at all: the status applies, pricing stays null, and the API says so */
    uuid_new(id);
    snprintf(wamid, sizeof wamid, "wamid.%s", id);
    insert_message(id, TENANT_1, "sent", wamid, PHONE_ID, "+34612345678", "1 minute");
    d = status_item(wamid, "delivered", T0 + 1, NULL);
    json_decref(deliver_statuses(d));
    free(d);
    assert_field(id, "status", "delivered");
    assert_field(id, "coalesce(pricing::text, 'null')", "null");
    char *admin = h_token("admin", NULL, NULL, "test-admin", 300);
    struct h_resp resp = h_call("GET", hook.url, admin, NULL, "/api/v1/whatsapp/messages/%s", id);
    assert_int_equal(resp.status, 200);
    assert_true(json_is_null(json_object_get(resp.json, "pricing")));
    h_resp_free(&resp);
    free(admin);
}

#define BSUID "ES.1502576394655843"

/* Delivers a delivered status of wamid that names the recipient's user id BSUID. */
static void delivered_naming_the_user(const char *wamid, long ts)
{
    char *item = status_item(wamid, "delivered", ts, NULL);
    item[strlen(item) - 1] = '\0';
    char *named = xasprintf("%s, \"recipient_user_id\": \"" BSUID "\"}", item);
    json_decref(deliver_statuses(named));
    free(named);
    free(item);
}

/* Delivers a STOP from a user known only by user_id; returns the webhook's summary. */
static json_t *stop_from_user_id(const char *user_id, const char *message_id, long ts)
{
    char *stop = xasprintf("{\"from_user_id\": \"%s\", \"id\": \"%s\", \"timestamp\": \"%ld\","
                           " \"type\": \"text\", \"text\": {\"body\": \"STOP\"}}",
                           user_id, message_id, ts);
    char *body = envelope(PHONE_ID, NULL, stop);
    json_t *summary = deliver(body);
    free(body);
    free(stop);
    return summary;
}

static long opted_out(const char *tenant, const char *phone)
{
    char *sql = xasprintf("SELECT count(*) FROM whatsapp_opt_outs WHERE tenant_id = '%s' AND "
                          "recipient_phone = '%s'",
                          tenant, phone);
    long n = count_sql(sql);
    free(sql);
    return n;
}

/* A user with a username may be named only by a business-scoped user id (BSUID). The
 * statuses of a message name it (recipient_user_id) and the message keeps it; a STOP
 * that names only the user id then opts out the phone of the newest message that named
 * it. */
static void a_stop_known_only_by_user_id_opts_out_its_phone(void **state)
{
    (void)state;
    char id[UUID_STR_LEN], wamid[64];
    uuid_new(id);
    snprintf(wamid, sizeof wamid, "wamid.%s", id);
    insert_message(id, TENANT_2, "sent", wamid, PHONE_ID, "+34612345699", "1 minute");
    delivered_naming_the_user(wamid, T0 + 1);
    assert_field(id, "status", "delivered");
    assert_field(id, "recipient_user_id", BSUID);

    json_t *summary = stop_from_user_id(BSUID, "wamid.in-bsuid", 1750263900);
    assert_int_equal(summary_count(summary, "inbound", "opt_outs"), 1);
    json_decref(summary);
    assert_int_equal(opted_out(TENANT_2, "+34612345699"), 1);

    /* The user changes number: a newer message to +34612345698 names the same user id,
     * then a late status of an older message to +34612345697 names it too. The newest
     * message's phone is the one a STOP concerns. */
    char newer[UUID_STR_LEN], older[UUID_STR_LEN], newer_wamid[64], older_wamid[64];
    uuid_new(newer);
    uuid_new(older);
    snprintf(newer_wamid, sizeof newer_wamid, "wamid.%s", newer);
    snprintf(older_wamid, sizeof older_wamid, "wamid.%s", older);
    insert_message(newer, TENANT_2, "sent", newer_wamid, PHONE_ID, "+34612345698", "10 seconds");
    insert_message(older, TENANT_2, "sent", older_wamid, PHONE_ID, "+34612345697", "2 minutes");
    delivered_naming_the_user(newer_wamid, T0 + 2);
    delivered_naming_the_user(older_wamid, T0 + 2);
    assert_field(older, "recipient_user_id", BSUID);
    summary = stop_from_user_id(BSUID, "wamid.in-bsuid3", 1750263902);
    assert_int_equal(summary_count(summary, "inbound", "opt_outs"), 1);
    json_decref(summary);
    assert_int_equal(opted_out(TENANT_2, "+34612345698"), 1);
    assert_int_equal(opted_out(TENANT_2, "+34612345697"), 0);

    /* a user id never seen in a status concerns nobody: ignored, the batch goes on */
    summary = stop_from_user_id("ES.999", "wamid.in-bsuid2", 1750263901);
    assert_int_equal(summary_count(summary, "inbound", "opt_outs"), 0);
    assert_int_equal(summary_count(summary, "inbound", "ignored"), 1);
    json_decref(summary);
}

static void statuses_before_their_wamid(void **state)
{
    (void)state;
    char id[UUID_STR_LEN], upper[UUID_STR_LEN];
    uuid_new(id);
    insert_message(id, TENANT_1, "sending", NULL, PHONE_ID, "+34612345678", "1 minute");

    /* The callback data names our message: its wamid is taken from the status. */
    for (size_t i = 0; i < UUID_STR_LEN; i++)
        upper[i] = (char)(id[i] >= 'a' && id[i] <= 'f' ? id[i] - 32 : id[i]);
    char *item = status_item("wamid.early-1", "delivered", T0 + 3, upper);
    json_t *s = deliver_statuses(item);
    assert_int_equal(summary_count(s, "statuses", "applied"), 1);
    assert_int_equal(summary_count(s, "statuses", "pending"), 0);
    json_decref(s);
    free(item);
    assert_field(id, "wamid", "wamid.early-1");
    assert_field(id, "status", "delivered");
    assert_times(id, 0, T0 + 3, 0, 0);
    /* later statuses find it by wamid */
    item = status_item("wamid.early-1", "read", T0 + 9, NULL);
    json_decref(deliver_statuses(item));
    free(item);
    assert_field(id, "status", "read");

    /* Nothing to match: kept pending, once per (wamid, status). */
    char stranger[UUID_STR_LEN];
    uuid_new(stranger);
    char *p1 = status_item("wamid.unknown-1", "sent", T0, stranger);
    char *p2 = status_item("wamid.unknown-1", "delivered", T0 + 1, NULL);
    char *both = xasprintf("%s, %s, %s", p1, p2, p2);
    s = deliver_statuses(both);
    assert_int_equal(summary_count(s, "statuses", "pending"), 2);
    assert_int_equal(summary_count(s, "statuses", "ignored"), 1);
    json_decref(s);
    s = deliver_statuses(p2);
    assert_int_equal(summary_count(s, "statuses", "pending"), 0);
    json_decref(s);
    assert_int_equal(count_sql("SELECT count(*) FROM whatsapp_pending_statuses"
                               " WHERE wamid = 'wamid.unknown-1'"),
                     2);
    char *sql = xasprintf("SELECT count(*) FROM whatsapp_pending_statuses WHERE wamid = "
                          "'wamid.unknown-1' AND status = 'sent' AND message_id = '%s'",
                          stranger);
    assert_int_equal(count_sql(sql), 1);
    free(sql);
    free(both);
    free(p1);
    free(p2);
}

static void one_bad_item_never_drops_the_rest(void **state)
{
    (void)state;
    char a[UUID_STR_LEN], b[UUID_STR_LEN];
    uuid_new(a);
    uuid_new(b);
    char wa[64], wb[64];
    snprintf(wa, sizeof wa, "wamid.%s", a);
    snprintf(wb, sizeof wb, "wamid.%s", b);
    insert_message(a, TENANT_1, "sent", wa, PHONE_ID, "+34612345678", "1 minute");
    insert_message(b, TENANT_1, "sent", wb, PHONE_ID, "+34612345678", "1 minute");
    char *ok_a = status_item(wa, "delivered", T0, NULL);
    char *ok_b = status_item(wb, "read", T0, NULL);
    char *fail_b = xasprintf("{\"id\": \"%s\", \"status\": \"failed\", \"timestamp\": %ld, "
                             "\"errors\": [{\"code\": \"oops\"}]}",
                             wb, T0 + 1);
    char *statuses = xasprintf(
        "%s, {\"id\": 5, \"status\": \"read\", \"timestamp\": \"1\"},"
        " {\"id\": \"w\", \"status\": \"read\", \"timestamp\": \"soon\"}, \"string\", null,"
        " {\"id\": \"w2\", \"status\": \"deleted\", \"timestamp\": \"1\"},"
        " {\"status\": \"read\", \"timestamp\": \"1\"}, {\"id\": \"w3\", \"timestamp\": \"1\"},"
        " {\"id\": \"w\\u0000x\", \"status\": \"read\", \"timestamp\": \"1\"}, %s, %s",
        ok_a, ok_b, fail_b);
    const char *messages =
        "{\"from\": \"not-a-number\", \"id\": \"wamid.in1\", \"type\": \"text\", \"text\": "
        "{\"body\": \"STOP\"}}, 42, {\"from\": \"34600000009\", \"type\": \"image\"}";
    struct buf body = {0};
    char *env = envelope(PHONE_ID, statuses, messages);
    /* plus a change of another subscription, and one without a value */
    env[strlen(env) - 4] = '\0'; /* reopen the changes array */
    buf_printf(&body,
               "%s, {\"field\": \"message_template_status_update\", \"value\": "
               "{\"event\": \"APPROVED\"}}, {\"field\": \"messages\"}]}]}",
               env);
    json_t *s = deliver(body.data);
    assert_int_equal(summary_count(s, "statuses", "received"), 11);
    assert_int_equal(summary_count(s, "statuses", "applied"), 3);
    assert_int_equal(summary_count(s, "statuses", "invalid"), 7);
    assert_int_equal(summary_count(s, "statuses", "ignored"), 1);
    assert_int_equal(summary_count(s, "inbound", "received"), 3);
    assert_int_equal(summary_count(s, "inbound", "invalid"), 2);
    assert_int_equal(summary_count(s, "inbound", "ignored"), 1);
    json_decref(s);
    assert_field(a, "status", "delivered");
    /* read and failed in one batch: read */
    assert_field(b, "status", "read");
    assert_true(h_log_count(&hook, "webhook item skipped") >= 7);
    buf_free(&body);
    free(env);
    free(statuses);
    free(ok_a);
    free(ok_b);
    free(fail_b);
}

/* ---------- inbound ---------- */

static char *inbound(const char *from, const char *type, const char *text, long ts)
{
    if (strcmp(type, "button") == 0)
        return xasprintf("{\"from\": \"%s\", \"id\": \"wamid.in-%ld\", \"timestamp\": \"%ld\", "
                         "\"type\": \"button\", \"button\": {\"payload\": \"x\", \"text\": "
                         "\"%s\"}}",
                         from, ts, ts, text);
    return xasprintf("{\"from\": \"%s\", \"id\": \"wamid.in-%ld\", \"timestamp\": \"%ld\", "
                     "\"type\": \"text\", \"text\": {\"body\": \"%s\"}}",
                     from, ts, ts, text);
}

static json_t *say(const char *phone_id, const char *from, const char *type, const char *text,
                   long ts)
{
    char *msg = inbound(from, type, text, ts);
    char *body = envelope(phone_id, NULL, msg);
    json_t *s = deliver(body);
    free(body);
    free(msg);
    return s;
}

static void inbound_keywords_opt_out_and_in(void **state)
{
    (void)state;
    char m1[UUID_STR_LEN], m2[UUID_STR_LEN];
    uuid_new(m1);
    uuid_new(m2);
    /* PN-A sent for tenant 1 to +34600000001, later for tenant 2 to +34600000002 */
    insert_message(m1, TENANT_1, "read", "wamid.o1", "PN-A", "+34600000001", "2 hours");
    insert_message(m2, TENANT_2, "read", "wamid.o2", "PN-A", "+34600000002", "1 hour");

    json_t *s = say("PN-A", "34600000001", "text", "  stop \\n", T0);
    assert_int_equal(summary_count(s, "inbound", "opt_outs"), 1);
    json_decref(s);
    assert_int_equal(opted_out(TENANT_1, "+34600000001"), 1);
    assert_int_equal(opted_out(TENANT_2, "+34600000001"), 0);

    /* an opt-in older than the opt-out changes nothing */
    json_decref(say("PN-A", "34600000001", "text", "START", T0 - 100));
    assert_int_equal(opted_out(TENANT_1, "+34600000001"), 1);
    s = say("PN-A", "34600000001", "text", "Start", T0 + 100);
    assert_int_equal(summary_count(s, "inbound", "opt_ins"), 1);
    json_decref(s);
    assert_int_equal(opted_out(TENANT_1, "+34600000001"), 0);

    json_decref(say("PN-A", "34600000001", "text", "baja", T0 + 200));
    assert_int_equal(opted_out(TENANT_1, "+34600000001"), 1);
    json_decref(say("PN-A", "34600000001", "text", "Alta", T0 + 300));
    assert_int_equal(opted_out(TENANT_1, "+34600000001"), 0);
    json_decref(say("PN-A", "34600000001", "button", "BAJA", T0 + 400));
    assert_int_equal(opted_out(TENANT_1, "+34600000001"), 1);

    /* other text is not a keyword */
    s = say("PN-A", "34600000002", "text", "please stop sending", T0);
    assert_int_equal(summary_count(s, "inbound", "ignored"), 1);
    json_decref(s);
    assert_int_equal(opted_out(TENANT_2, "+34600000002"), 0);

    /* never messaged from PN-A: the tenant that last sent from PN-A */
    json_decref(say("PN-A", "34600000003", "text", "STOP", T0));
    assert_int_equal(opted_out(TENANT_2, "+34600000003"), 1);
    assert_int_equal(opted_out(TENANT_1, "+34600000003"), 0);

    /* a number nobody sent from */
    s = say("PN-UNKNOWN", "34600000004", "text", "STOP", T0);
    assert_int_equal(summary_count(s, "inbound", "opt_outs"), 0);
    assert_int_equal(summary_count(s, "inbound", "ignored"), 1);
    json_decref(s);
    assert_int_equal(count_sql("SELECT count(*) FROM whatsapp_opt_outs"
                               " WHERE recipient_phone = '+34600000004'"),
                     0);
    /* phone numbers are masked in the log */
    assert_int_equal(h_log_count(&hook, "34600000001"), 0);
    assert_true(h_log_count(&hook, "+34600***001") >= 1);
}

/* ---------- bodies ---------- */

static void bodies_that_are_not_webhooks(void **state)
{
    (void)state;
    const char *bad[] = {"{\"entry\": [", "[1]", "", "\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *sig = sign(APP_SECRET, bad[i], strlen(bad[i]));
        struct h_resp r = post_raw(&hook, bad[i], strlen(bad[i]), sig);
        h_assert_error(&r, 400, "malformed_json");
        h_resp_free(&r);
        free(sig);
    }
    json_t *s = deliver("{}");
    assert_int_equal(summary_count(s, "statuses", "received"), 0);
    json_decref(s);
    s = deliver("{\"entry\": 5}");
    assert_int_equal(summary_count(s, "statuses", "received"), 0);
    json_decref(s);

    size_t big = 100 * 1024;
    char *huge = xmalloc(big + 1);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    huge[big] = '\0';
    char *sig = sign(APP_SECRET, huge, big);
    struct h_resp r = post_raw(&hook, huge, big, sig);
    h_assert_error(&r, 413, "payload_too_large");
    h_resp_free(&r);
    free(sig);
    free(huge);

    /* the route's own limit, not HTTP_BODY_LIMIT (16 KiB here): 60 KiB passes */
    big = 60 * 1024;
    huge = xmalloc(big + 1);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    huge[big] = '\0';
    sig = sign(APP_SECRET, huge, big);
    r = post_raw(&hook, huge, big, sig);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(sig);
    free(huge);
}

/* ---------- retention ---------- */

static bool old_rows_gone(void *arg)
{
    (void)arg;
    return count_sql("SELECT count(*) FROM whatsapp_messages WHERE idempotency_key LIKE 'old-%'") ==
               0 &&
           count_sql(
               "SELECT count(*) FROM whatsapp_pending_statuses WHERE wamid = 'wamid.stale'") == 0 &&
           count_sql("SELECT count(*) FROM whatsapp_account_events WHERE field = 'old'") == 0 &&
           count_sql("SELECT count(*) FROM whatsapp_user_phones WHERE user_id = 'ES.old'") == 0;
}

static void retention_deletes_old_rows_in_batches(void **state)
{
    (void)state;
    struct h_proc p;
    const char *env[] = {"WHATSAPP_RETENTION_DAYS=1", "RETENTION_INTERVAL_SECONDS=1",
                         "RETENTION_BATCH_SIZE=2", NULL};
    assert_true(start_daemon(&p, db_url, env));
    /* Counted before the old rows exist: retention runs every second and may already be
     * deleting them while they are inserted. */
    long young = count_sql("SELECT count(*) FROM whatsapp_messages");
    for (int i = 0; i < 5; i++) {
        char id[UUID_STR_LEN];
        uuid_new(id);
        char *sql = xasprintf("INSERT INTO whatsapp_messages (id, tenant_id, idempotency_key,"
                              " kind, request_hash, recipient_phone, template_name,"
                              " template_parameters, payload, status, next_attempt_at,"
                              " created_at) VALUES ('%s', '%s', 'old-%d', 'template', 'h',"
                              " '+34612345678', 't', '[]', '{}', 'read', NULL,"
                              " now() - interval '3 days')",
                              id, TENANT_1, i);
        free(h_sql(db_url, sql));
        free(sql);
    }
    free(h_sql(db_url, "INSERT INTO whatsapp_pending_statuses (wamid, status, status_ts,"
                       " received_at) VALUES ('wamid.stale', 'sent', now(), now() - interval"
                       " '2 days'), ('wamid.fresh', 'sent', now(), now())"));
    /* account events: kept as long as messages */
    free(h_sql(db_url, "INSERT INTO whatsapp_account_events (field, event_time, received_at,"
                       " value, digest) VALUES ('old', now(), now() - interval '3 days', '{}',"
                       " 'a'), ('young', now(), now(), '{}', 'b')"));
    /* a user id's phone: kept as long as the message that last named it */
    free(h_sql(db_url, "INSERT INTO whatsapp_user_phones (user_id, phone, message_created_at)"
                       " VALUES ('ES.old', '+34612345601', now() - interval '3 days'),"
                       " ('ES.young', '+34612345602', now())"));
    assert_true(young > 0);
    assert_true(h_wait_until(old_rows_gone, NULL, 10000));
    assert_int_equal(
        count_sql("SELECT count(*) FROM whatsapp_user_phones WHERE user_id = 'ES.young'"), 1);
    assert_int_equal(count_sql("SELECT count(*) FROM whatsapp_messages"), young);
    assert_int_equal(
        count_sql("SELECT count(*) FROM whatsapp_pending_statuses WHERE wamid = 'wamid.fresh'"), 1);
    assert_int_equal(
        count_sql("SELECT count(*) FROM whatsapp_account_events WHERE field = 'young'"), 1);

    char *url = h_url(p.url, "/metrics");
    struct h_resp r = h_get(url, NULL);
    assert_non_null(strstr(r.body, "whatsapp_retention_deleted_total 5"));
    h_resp_free(&r);
    free(url);
    assert_int_equal(h_stop(&p), 0);
    assert_true(h_log_count(&p, "retention deleted old messages") >= 1);
}

static void shutdown_is_clean(void **state)
{
    (void)state;
    assert_int_equal(h_stop(&hook), 0);
    assert_int_equal(h_stop(&open_hook), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(verification_echoes_the_challenge),
        cmocka_unit_test(signatures_cover_the_raw_bytes),
        cmocka_unit_test(statuses_in_every_order_end_the_same),
        cmocka_unit_test(statuses_before_their_wamid),
        cmocka_unit_test(status_times_never_precede_the_send),
        cmocka_unit_test(pricing_is_kept_and_never_fails_a_status),
        cmocka_unit_test(a_stop_known_only_by_user_id_opts_out_its_phone),
        cmocka_unit_test(one_bad_item_never_drops_the_rest),
        cmocka_unit_test(inbound_keywords_opt_out_and_in),
        cmocka_unit_test(bodies_that_are_not_webhooks),
        cmocka_unit_test(retention_deletes_old_rows_in_batches),
        cmocka_unit_test(shutdown_is_clean),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
