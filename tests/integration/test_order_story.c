/* test_order_story.c - an order's whole story, resend and cancel (issue 21), on the
 * whole stack: the story lists every row of an order; a message that failed because the
 * supplier's number is not on WhatsApp is sent again to a corrected number, which
 * graph-sim receives, and the new message is linked to the old one, which stays failed;
 * one idempotency key makes one new message; a queued message canceled never reaches
 * graph-sim, one being sent or sent cannot be canceled; only the bakery's owner or admin
 * (and the platform) may act, and bad input changes nothing.
 *
 * The stack's API instance does not send (OUTBOX_ENABLED=false): a second instance, the
 * sender, does, and is stopped where a message must stay queued. */
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
#include "jsonutil.h"
#include "uuidutil.h"

#define NOT_ON_WHATSAPP "+34600210001"
#define FAULTS "\"not_on_whatsapp\": [\"" NOT_ON_WHATSAPP "\"]"

static struct h_stack st;
static struct h_proc sender;
static unsigned sender_port;
static char bakery[HT_ID_LEN], other[HT_ID_LEN];
static char *owner, *tenant_admin, *member, *other_owner;
static int next_phone;

/* ---------- helpers ---------- */

static const char *const sending_env[] = {"LOG_LEVEL=info", NULL};

static void sender_start(void)
{
    const char *const *api_env = st.notif_extra;
    st.notif_extra = sending_env; /* the same settings as the API instance, but sending */
    assert_true(hs_start_notification(&st, &sender, sender_port));
    st.notif_extra = api_env;
}

static void sender_stop(void)
{
    assert_int_equal(h_stop(&sender), 0);
}

/* A fresh supplier number nobody has messaged in this run. */
static void fresh_phone(char out[16])
{
    snprintf(out, 16, "+3460021%04u", (100u + (unsigned)next_phone++) % 10000u);
}

/* Posts an order of tenant to phone as the order service; writes its event and message
 * ids. */
static void post_order(const char *tenant, const char *phone, char event[UUID_STR_LEN],
                       char id[UUID_STR_LEN])
{
    uuid_new(event);
    char *body = xasprintf("{\"event_id\":\"%s\",\"tenant_id\":\"%s\",\"po_number\":\"PO-21\","
                           "\"supplier_name\":\"Harinas Norte\",\"supplier_phone\":\"%s\","
                           "\"total_amount\":\"86.40\",\"currency\":\"EUR\"}",
                           event, tenant, phone);
    struct h_resp r =
        h_call("POST", st.notif.url, ht_service(), body, "/api/v1/notifications/purchase-orders");
    if (r.status != 202)
        fail_msg("order: %ld %s", r.status, r.body);
    snprintf(id, UUID_STR_LEN, "%s", ht_str(&r, "message_id"));
    h_resp_free(&r);
    free(body);
}

struct wait_status {
    const char *id;
    const char *any_of; /* " queued sending " */
};

static bool status_is(void *arg)
{
    const struct wait_status *w = arg;
    char *s = hs_column(&st, w->id, "status");
    char *padded = xasprintf(" %s ", s);
    bool ok = strstr(w->any_of, padded) != NULL;
    free(padded);
    free(s);
    return ok;
}

static void wait_status(const char *id, const char *any_of)
{
    char *padded = xasprintf(" %s ", any_of);
    struct wait_status w = {id, padded};
    if (!h_wait_until(status_is, &w, 15000)) {
        char *s = hs_column(&st, id, "status"), *e = hs_column(&st, id, "error_message");
        fail_msg("message %s is %s (%s), want one of: %s", id, s, e, any_of);
    }
    free(padded);
}

static struct h_resp resend(const char *token, const char *id, const char *body)
{
    return h_call("POST", st.notif.url, token, body, "/api/v1/whatsapp/messages/%s/resend", id);
}

/* POST .../cancel without a body or a Content-Type, as the route documents. */
static struct h_resp cancel(const char *token, const char *id)
{
    char *url = h_url(st.notif.url, "/api/v1/whatsapp/messages/%s/cancel", id);
    struct h_resp r = h_http("POST", url, token, NULL, NULL, 0);
    free(url);
    return r;
}

/* The sends graph-sim accepted for phone: a new reference to the array. */
static json_t *sim_sends(const char *phone)
{
    struct h_resp r =
        h_call("GET", st.sim.url, NULL, NULL, "/_sim/messages?to=%%2B%s&limit=1000", phone + 1);
    assert_int_equal(r.status, 200);
    json_t *list = json_incref(json_object_get(r.json, "messages"));
    h_resp_free(&r);
    assert_non_null(list);
    return list;
}

/* The message id graph-sim's send n to phone carried back (biz_opaque_callback_data). */
static const char *callback_id(const json_t *sends, size_t n)
{
    json_t *send = json_array_get(sends, n);
    json_t *req = json_loads(json_string_value(json_object_get(send, "body")), 0, NULL);
    static char id[UUID_STR_LEN];
    snprintf(id, sizeof id, "%s", req ? json_str(req, "biz_opaque_callback_data") : "");
    json_decref(req);
    return id;
}

static long count_rows(const char *where)
{
    char *sql = xasprintf("SELECT count(*) FROM whatsapp_messages WHERE %s", where);
    char *v = h_sql(st.notif_db, sql);
    long n = v ? strtol(v, NULL, 10) : -1;
    free(v);
    free(sql);
    return n;
}

/* A fingerprint of every message row: what "changes nothing" is checked against. */
static char *messages_digest(void)
{
    char *v = h_sql(st.notif_db, "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '' "
                                 "ORDER BY id)), '') FROM whatsapp_messages t");
    assert_non_null(v);
    return v;
}

/* ---------- the cases ---------- */

/* A supplier not on WhatsApp: the order fails with 131026; the story says so. Resent to
 * the corrected number it reaches graph-sim there, linked to the failed one, which stays
 * failed; the story then lists both, the order delivered by the second. */
static void a_failed_order_is_resent_to_the_corrected_phone(void **state)
{
    (void)state;
    char event[UUID_STR_LEN], old[UUID_STR_LEN], fixed[16];
    fresh_phone(fixed);
    post_order(bakery, NOT_ON_WHATSAPP, event, old);
    wait_status(old, "failed");

    struct h_resp r =
        h_call("GET", st.notif.url, ht_service(), NULL,
               "/api/v1/notifications/purchase-orders/%s?tenant_id=%s", event, bakery);
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_str(&r, "event_id"), event);
    assert_string_equal(ht_str(&r, "status"), "failed");
    assert_int_equal(json_integer_value(json_object_get(r.json, "error_code")), 131026);
    assert_string_equal(ht_str(&r, "po_number"), "PO-21");
    assert_string_equal(ht_str(&r, "total_amount"), "86.40");
    json_t *msgs = json_object_get(r.json, "messages");
    assert_int_equal(json_array_size(msgs), 1);
    json_t *m0 = json_array_get(msgs, 0);
    assert_string_equal(json_str(m0, "id"), old);
    assert_string_equal(json_str(m0, "channel"), "whatsapp");
    assert_string_equal(json_str(m0, "recipient_phone"), NOT_ON_WHATSAPP);
    assert_true(json_is_null(json_object_get(m0, "follows_id")));
    assert_non_null(json_str(m0, "failed_at"));
    h_resp_free(&r);

    /* the owner fixes the number */
    char *body = xasprintf("{\"idempotency_key\": \"fix-%s\", \"supplier_phone\": \"%.3s %.3s "
                           "%.3s %s\"}",
                           old, fixed, fixed + 3, fixed + 6, fixed + 9);
    r = resend(owner, old, body);
    assert_int_equal(r.status, 202);
    assert_string_equal(ht_str(&r, "follows_id"), old);
    assert_string_equal(ht_str(&r, "status"), "queued");
    char id[UUID_STR_LEN];
    snprintf(id, sizeof id, "%s", ht_str(&r, "message_id"));
    h_resp_free(&r);
    free(body);
    wait_status(id, "sent delivered read");
    json_t *sends = sim_sends(fixed);
    assert_int_equal(json_array_size(sends), 1);
    assert_string_equal(callback_id(sends, 0), id);
    json_decref(sends);

    /* linked, and the old one untouched */
    char *v = hs_column(&st, id,
                        "follows_id || ' ' || follows_reason || ' ' || order_event_id "
                        "|| ' ' || recipient_phone || ' ' || channel");
    char *want = xasprintf("%s resend %s %s whatsapp", old, event, fixed);
    assert_string_equal(v, want);
    free(want);
    free(v);
    v = hs_column(&st, old, "status || ' ' || error_code");
    assert_string_equal(v, "failed 131026");
    free(v);

    /* the story, as the bakery's own user (no tenant_id needed) */
    r = h_call("GET", st.notif.url, member, NULL, "/api/v1/notifications/purchase-orders/%s",
               event);
    assert_int_equal(r.status, 200);
    msgs = json_object_get(r.json, "messages");
    assert_int_equal(json_array_size(msgs), 2);
    json_t *m1 = json_array_get(msgs, 1);
    assert_string_equal(json_str(m1, "id"), id);
    assert_string_equal(json_str(m1, "follows_id"), old);
    assert_string_equal(json_str(m1, "follows_reason"), "resend");
    assert_string_equal(json_str(m1, "recipient_phone"), fixed);
    assert_non_null(json_str(m1, "sent_at"));
    const char *order_status = ht_str(&r, "status");
    assert_true(strcmp(order_status, "sent") == 0 || strcmp(order_status, "delivered") == 0 ||
                strcmp(order_status, "read") == 0);
    assert_true(json_is_null(json_object_get(r.json, "error_code")));
    h_resp_free(&r);

    /* and in the tenant's recent orders, newest first */
    r = h_call("GET", st.notif.url, owner, NULL, "/api/v1/notifications/purchase-orders?limit=1");
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "orders")), 1);
    json_t *o = json_array_get(json_object_get(r.json, "orders"), 0);
    assert_string_equal(json_str(o, "event_id"), event);
    assert_int_equal(json_array_size(json_object_get(o, "messages")), 2);
    h_resp_free(&r);
}

/* The same idempotency key twice is one new message; with another body it is 409. */
static void one_key_makes_one_resend(void **state)
{
    (void)state;
    char event[UUID_STR_LEN], old[UUID_STR_LEN], fixed[16], other_phone[16];
    fresh_phone(fixed);
    fresh_phone(other_phone);
    post_order(bakery, NOT_ON_WHATSAPP, event, old);
    wait_status(old, "failed");
    char *body =
        xasprintf("{\"idempotency_key\": \"twice-%s\", \"supplier_phone\": \"%s\"}", old, fixed);
    struct h_resp r = resend(tenant_admin, old, body);
    assert_int_equal(r.status, 202);
    char id[UUID_STR_LEN];
    snprintf(id, sizeof id, "%s", ht_str(&r, "message_id"));
    h_resp_free(&r);
    r = resend(tenant_admin, old, body);
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_str(&r, "message_id"), id);
    assert_true(json_is_true(json_object_get(r.json, "duplicate")));
    h_resp_free(&r);
    free(body);
    body = xasprintf("{\"idempotency_key\": \"twice-%s\", \"supplier_phone\": \"%s\"}", old,
                     other_phone);
    r = resend(tenant_admin, old, body);
    h_assert_error(&r, 409, "idempotency_conflict");
    h_resp_free(&r);
    free(body);
    char *where = xasprintf("follows_id = '%s'", old);
    assert_int_equal(count_rows(where), 1);
    free(where);
    wait_status(id, "sent delivered read");
    json_t *sends = sim_sends(fixed);
    assert_int_equal(json_array_size(sends), 1);
    json_decref(sends);
    sends = sim_sends(other_phone);
    assert_int_equal(json_array_size(sends), 0);
    json_decref(sends);
}

/* With the sender stopped an order stays queued: canceled, it leaves the queue, and
 * graph-sim never receives it once sending runs again; canceling twice is 200. */
static void a_queued_message_canceled_never_reaches_graph(void **state)
{
    (void)state;
    char event[UUID_STR_LEN], id[UUID_STR_LEN], phone[16];
    char later_event[UUID_STR_LEN], later[UUID_STR_LEN], later_phone[16];
    fresh_phone(phone);
    fresh_phone(later_phone);
    sender_stop();
    post_order(bakery, phone, event, id);
    char *v = hs_column(&st, id, "status");
    assert_string_equal(v, "queued");
    free(v);
    struct h_resp r = cancel(owner, id);
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_str(&r, "status"), "canceled");
    assert_false(json_is_true(json_object_get(r.json, "already_canceled")));
    h_resp_free(&r);
    r = cancel(owner, id);
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_str(&r, "status"), "canceled");
    assert_true(json_is_true(json_object_get(r.json, "already_canceled")));
    h_resp_free(&r);
    v = hs_column(&st, id, "status || ' ' || (next_attempt_at IS NULL)");
    assert_string_equal(v, "canceled true");
    free(v);

    /* sending again: a later order goes out, the canceled one never does */
    sender_start();
    post_order(bakery, later_phone, later_event, later);
    wait_status(later, "sent delivered read");
    json_t *sends = sim_sends(phone);
    assert_int_equal(json_array_size(sends), 0);
    json_decref(sends);
    v = hs_column(&st, id, "status");
    assert_string_equal(v, "canceled");
    free(v);
    r = h_call("GET", st.notif.url, owner, NULL, "/api/v1/notifications/purchase-orders/%s", event);
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_str(&r, "status"), "canceled");
    h_resp_free(&r);

    /* a canceled order can be sent after all: resent, it goes out */
    char *body = xasprintf("{\"idempotency_key\": \"after-cancel-%s\"}", id);
    r = resend(owner, id, body);
    assert_int_equal(r.status, 202);
    char again[UUID_STR_LEN];
    snprintf(again, sizeof again, "%s", ht_str(&r, "message_id"));
    h_resp_free(&r);
    free(body);
    wait_status(again, "sent delivered read");
    sends = sim_sends(phone);
    assert_int_equal(json_array_size(sends), 1);
    assert_string_equal(callback_id(sends, 0), again);
    json_decref(sends);
}

/* A message being sent (graph-sim holds the request) or already sent is past canceling:
 * 409 with its status, and it goes out all the same. */
static void a_message_being_sent_or_sent_is_not_canceled(void **state)
{
    (void)state;
    char event[UUID_STR_LEN], id[UUID_STR_LEN], phone[16];
    fresh_phone(phone);
    hs_sim(&st, "/_sim/faults", "{\"latency_ms\": 3000, \"latency_rate\": 1, " FAULTS "}");
    post_order(bakery, phone, event, id);
    wait_status(id, "sending");
    struct h_resp r = cancel(ht_admin(), id);
    h_assert_error(&r, 409, "message_not_cancelable");
    assert_string_equal(ht_str(&r, "status"), "sending");
    h_resp_free(&r);
    wait_status(id, "sent delivered read");
    hs_sim(&st, "/_sim/faults", "{" FAULTS "}");
    r = cancel(ht_service(), id);
    h_assert_error(&r, 409, "message_not_cancelable");
    const char *s = ht_str(&r, "status");
    assert_true(strcmp(s, "sent") == 0 || strcmp(s, "delivered") == 0 || strcmp(s, "read") == 0);
    h_resp_free(&r);
    json_t *sends = sim_sends(phone);
    assert_int_equal(json_array_size(sends), 1);
    json_decref(sends);
}

/* A plain member cannot resend or cancel; another bakery's owner does not find the
 * message (404, as for reading it) nor read the order (403 naming the tenant, 404 not).
 * Nothing changes. */
static void only_the_owner_or_admin_acts_on_a_message(void **state)
{
    (void)state;
    char event[UUID_STR_LEN], id[UUID_STR_LEN];
    sender_stop();
    post_order(bakery, NOT_ON_WHATSAPP, event, id); /* stays queued */
    char *before = messages_digest();
    static const char body[] = "{\"idempotency_key\": \"roles\"}";
    struct h_resp r = resend(member, id, body);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    r = cancel(member, id);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    r = resend(other_owner, id, body);
    h_assert_error(&r, 404, "not_found");
    h_resp_free(&r);
    r = cancel(other_owner, id);
    h_assert_error(&r, 404, "not_found");
    h_resp_free(&r);
    /* a service scoped to another tenant does not find it either */
    char *path = xasprintf("/api/v1/whatsapp/messages/%s/cancel?tenant_id=%s", id, other);
    char *url = h_url(st.notif.url, "%s", path);
    r = h_http("POST", url, ht_service(), NULL, NULL, 0);
    h_assert_error(&r, 404, "not_found");
    h_resp_free(&r);
    free(url);
    free(path);
    r = h_call("GET", st.notif.url, other_owner, NULL,
               "/api/v1/notifications/purchase-orders/%s?tenant_id=%s", event, bakery);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    r = h_call("GET", st.notif.url, other_owner, NULL, "/api/v1/notifications/purchase-orders/%s",
               event);
    h_assert_error(&r, 404, "not_found");
    h_resp_free(&r);
    r = h_call("GET", st.notif.url, other_owner, NULL,
               "/api/v1/notifications/purchase-orders?tenant_id=%s", bakery);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    char *after = messages_digest();
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* the owner cancels it (it is not to reach NOT_ON_WHATSAPP later) */
    r = cancel(owner, id);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    sender_start();
}

/* Bad input gets the JSON error shape and changes nothing. */
static void bad_input_changes_nothing(void **state)
{
    (void)state;
    char event[UUID_STR_LEN], failed[UUID_STR_LEN], queued[UUID_STR_LEN], unknown[UUID_STR_LEN];
    post_order(bakery, NOT_ON_WHATSAPP, event, failed);
    wait_status(failed, "failed");
    sender_stop();
    char queued_event[UUID_STR_LEN], phone[16];
    fresh_phone(phone);
    post_order(bakery, phone, queued_event, queued);
    uuid_new(unknown);
    char *before = messages_digest();
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{\"idempotency_key\": \"b1\", \"supplier_phone\": \"612345678\"}", "supplier_phone"},
        {"{\"idempotency_key\": \"b2\", \"supplier_phone\": \"+34 abc\"}", "supplier_phone"},
        {"{\"idempotency_key\": \"b3\", \"supplier_email\": \"pedidos@\"}", "supplier_email"},
        {"{\"idempotency_key\": \"b4\", \"supplier_email\": \"no at sign\"}", "supplier_email"},
        {"{\"idempotency_key\": \"b5\", \"supplier_phone\": 34612345678}", "supplier_phone"},
        {"{\"supplier_phone\": \"+34612345678\"}", "idempotency_key"},
        {"{\"idempotency_key\": \"   \"}", "idempotency_key"},
        {"{\"idempotency_key\": \"b6\", \"note\": \"x\"}", "note"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct h_resp r = resend(owner, failed, bad[i].body);
        h_assert_error(&r, 422, "validation_error");
        assert_string_equal(ht_str(&r, "field"), bad[i].field);
        h_resp_free(&r);
    }
    struct h_resp r = resend(owner, failed, "{\"idempotency_key\": ");
    h_assert_error(&r, 400, "malformed_json");
    h_resp_free(&r);
    static const char ok_body[] = "{\"idempotency_key\": \"bad-input\"}";
    r = resend(owner, unknown, ok_body);
    h_assert_error(&r, 404, "not_found");
    h_resp_free(&r);
    r = resend(owner, "not-a-uuid", ok_body);
    h_assert_error(&r, 404, "not_found");
    h_resp_free(&r);
    r = cancel(owner, unknown);
    h_assert_error(&r, 404, "not_found");
    h_resp_free(&r);
    r = cancel(owner, "12345");
    h_assert_error(&r, 404, "not_found");
    h_resp_free(&r);
    /* a queued message is not resent (it would go twice) */
    r = resend(owner, queued, ok_body);
    h_assert_error(&r, 409, "message_pending");
    assert_string_equal(ht_str(&r, "status"), "queued");
    h_resp_free(&r);
    /* a failed one cannot be canceled */
    r = cancel(owner, failed);
    h_assert_error(&r, 409, "message_not_cancelable");
    assert_string_equal(ht_str(&r, "status"), "failed");
    h_resp_free(&r);
    /* stories: unknown, not a UUID, no tenant named by the platform */
    r = h_call("GET", st.notif.url, owner, NULL, "/api/v1/notifications/purchase-orders/%s",
               unknown);
    h_assert_error(&r, 404, "not_found");
    h_resp_free(&r);
    r = h_call("GET", st.notif.url, owner, NULL, "/api/v1/notifications/purchase-orders/PO-21");
    h_assert_error(&r, 404, "not_found");
    h_resp_free(&r);
    r = h_call("GET", st.notif.url, ht_admin(), NULL, "/api/v1/notifications/purchase-orders/%s",
               event);
    h_assert_error(&r, 422, "validation_error");
    assert_string_equal(ht_str(&r, "field"), "tenant_id");
    h_resp_free(&r);
    r = h_call("GET", st.notif.url, owner, NULL, "/api/v1/notifications/purchase-orders?limit=0");
    h_assert_error(&r, 422, "validation_error");
    assert_string_equal(ht_str(&r, "field"), "limit");
    h_resp_free(&r);
    char *after = messages_digest();
    assert_string_equal(before, after);
    free(before);
    free(after);
    r = cancel(owner, queued);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    sender_start();
}

/* Only an email given for a WhatsApp order: the new message is an email to it, in the
 * same order (checked on the row, with the sender stopped; the email channel sends it). */
static void an_email_alone_makes_the_resend_an_email(void **state)
{
    (void)state;
    char event[UUID_STR_LEN], old[UUID_STR_LEN];
    post_order(bakery, NOT_ON_WHATSAPP, event, old);
    wait_status(old, "failed");
    sender_stop();
    char *body = xasprintf("{\"idempotency_key\": \"mail-%s\", \"supplier_email\": "
                           "\"Pedidos@Harinas-Norte.EXAMPLE\"}",
                           old);
    struct h_resp r = resend(owner, old, body);
    assert_int_equal(r.status, 202);
    char id[UUID_STR_LEN];
    snprintf(id, sizeof id, "%s", ht_str(&r, "message_id"));
    h_resp_free(&r);
    free(body);
    char *v = hs_column(&st, id,
                        "channel || ' ' || recipient_email || ' ' || "
                        "(payload->>'supplier_email') || ' ' || order_event_id || ' ' || "
                        "follows_id");
    char *want = xasprintf(
        "email Pedidos@harinas-norte.example Pedidos@harinas-norte.example %s %s", event, old);
    assert_string_equal(v, want);
    free(want);
    free(v);
    /* a queued email is canceled as a WhatsApp message is */
    r = cancel(owner, id);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    sender_start();
}

/* The owner's card goes through tenant-service: the bakery's recent orders, and a resend
 * of one of its messages with a corrected phone, answered as notification-service
 * answers; a member may read but not resend, another bakery neither, and a message of
 * another bakery is not found through this one. */
static void tenant_service_serves_the_card(void **state)
{
    (void)state;
    char event[UUID_STR_LEN], old[UUID_STR_LEN], fixed[16], o_event[UUID_STR_LEN],
        o_msg[UUID_STR_LEN];
    fresh_phone(fixed);
    post_order(bakery, NOT_ON_WHATSAPP, event, old);
    wait_status(old, "failed");
    char *path = xasprintf("/api/v1/tenants/%s/orders?limit=3", bakery);
    struct h_resp r = ht_call(&st.ts, "GET", path, member, NULL);
    assert_int_equal(r.status, 200);
    json_t *first = json_array_get(json_object_get(r.json, "orders"), 0);
    assert_string_equal(json_str(first, "event_id"), event);
    assert_string_equal(json_str(first, "status"), "failed");
    assert_int_equal(json_integer_value(json_object_get(first, "error_code")), 131026);
    assert_true(json_array_size(json_object_get(r.json, "orders")) <= 3);
    h_resp_free(&r);
    r = ht_call(&st.ts, "GET", path, other_owner, NULL);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    free(path);

    path = xasprintf("/api/v1/tenants/%s/messages/%s/resend", bakery, old);
    char *body =
        xasprintf("{\"idempotency_key\": \"card-%s\", \"supplier_phone\": \"%s\"}", old, fixed);
    r = ht_call(&st.ts, "POST", path, member, body);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    r = ht_call(&st.ts, "POST", path, other_owner, body);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    r = ht_call(&st.ts, "POST", path, owner,
                "{\"idempotency_key\": \"x\", \"supplier_phone\": \"1\"}");
    h_assert_error(&r, 422, "validation_error");
    assert_string_equal(ht_str(&r, "field"), "supplier_phone");
    h_resp_free(&r);
    r = ht_call(&st.ts, "POST", path, owner, body);
    assert_int_equal(r.status, 202);
    char id[UUID_STR_LEN];
    snprintf(id, sizeof id, "%s", ht_str(&r, "message_id"));
    h_resp_free(&r);
    r = ht_call(&st.ts, "POST", path, owner, body);
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_str(&r, "message_id"), id);
    h_resp_free(&r);
    free(path);
    wait_status(id, "sent delivered read");
    json_t *sends = sim_sends(fixed);
    assert_int_equal(json_array_size(sends), 1);
    assert_string_equal(callback_id(sends, 0), id);
    json_decref(sends);

    /* another bakery's message through this bakery's path: not found */
    hs_settings(&st, other, "{\"whatsapp_enabled\": true}");
    post_order(other, NOT_ON_WHATSAPP, o_event, o_msg);
    wait_status(o_msg, "failed");
    path = xasprintf("/api/v1/tenants/%s/messages/%s/resend", bakery, o_msg);
    r = ht_call(&st.ts, "POST", path, owner, "{\"idempotency_key\": \"foreign\"}");
    h_assert_error(&r, 404, "not_found");
    h_resp_free(&r);
    free(path);
    char *where = xasprintf("follows_id = '%s'", o_msg);
    assert_int_equal(count_rows(where), 0);
    free(where);
    free(body);
}

static int setup(void **state)
{
    (void)state;
    static const char *const api[] = {"OUTBOX_ENABLED=false", "LOG_LEVEL=info", NULL};
    char name[48];
    snprintf(name, sizeof name, "order_story_%ld", (long)getpid());
    if (!hs_start(&st, name, api, NULL))
        return -1;
    sender_port = h_free_port();
    const char *const *api_env = st.notif_extra;
    st.notif_extra = sending_env;
    bool ok = hs_start_notification(&st, &sender, sender_port);
    st.notif_extra = api_env;
    if (!ok)
        return -1;
    char *hook = xasprintf("{\"webhook_url\":\"%s/api/v1/whatsapp/webhook\"}", st.notif.url);
    hs_sim(&st, "/_sim/settings", hook);
    free(hook);
    hs_sim(&st, "/_sim/faults", "{" FAULTS "}");
    ht_create_tenant(&st.ts, "Panadería Historia", bakery);
    ht_create_tenant(&st.ts, "Horno Ajeno", other);
    hs_settings(&st, bakery, "{\"whatsapp_enabled\": true}");
    owner = ht_user(bakery, "owner");
    tenant_admin = ht_user(bakery, "admin");
    member = ht_user(bakery, "member");
    other_owner = ht_user(other, "owner");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(owner);
    free(tenant_admin);
    free(member);
    free(other_owner);
    int rc = h_stop(&sender) != 0 ? -1 : 0;
    if (hs_stop(&st) != 0)
        rc = -1;
    h_drop_database(st.tenant_db);
    h_drop_database(st.notif_db);
    return rc;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_failed_order_is_resent_to_the_corrected_phone),
        cmocka_unit_test(one_key_makes_one_resend),
        cmocka_unit_test(a_queued_message_canceled_never_reaches_graph),
        cmocka_unit_test(a_message_being_sent_or_sent_is_not_canceled),
        cmocka_unit_test(only_the_owner_or_admin_acts_on_a_message),
        cmocka_unit_test(bad_input_changes_nothing),
        cmocka_unit_test(an_email_alone_makes_the_resend_an_email),
        cmocka_unit_test(tenant_service_serves_the_card),
    };
    if (!h_pg_start())
        return 1;
    return cmocka_run_group_tests(tests, setup, teardown);
}
