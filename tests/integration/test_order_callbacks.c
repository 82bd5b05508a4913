/* test_order_callbacks.c - the delivery state of each purchase order goes back to the
 * order service (issue 21): notification-service POSTs every change (queued, sent,
 * delivered, read ...) to ORDER_CALLBACK_URL, here a libmicrohttpd receiver on
 * 127.0.0.1 in this process, signed with ORDER_CALLBACK_SECRET (checked here with
 * OpenSSL), in order per order, with the same idempotency key on every attempt, from a
 * queue that outlives a kill -9; without the URL nothing is queued, and a bad URL stops
 * the start. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "alloc.h"
#include "harness_receiver.h"
#include "harness_stack.h"
#include "harness_tenant.h"
#include "uuidutil.h"

#define CALLBACK_SECRET "order-callback-secret-0123"
#define RX_MAX 512

/* ---------- the order service's receiver ---------- */

struct rx_request {
    char event_id[64];
    char status[16];
    char key[64];
    char message_id[64];
    char tenant_id[64];
    char channel[16];
    char follows_id[64];
    char follows_reason[16];
    char reason[64];
    long error_code;
    long sequence;
    bool signature_ok, key_matches_body, has_at;
    unsigned answered;
};

static struct {
    pthread_mutex_t lock;
    struct h_receiver *receiver;
    unsigned port;
    struct rx_request req[RX_MAX];
    size_t n;
    char fail_event[64]; /* answer 500 to this order's callbacks */
    bool fail_all;       /* answer 500 to every callback */
} rx = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The signature recomputed with OpenSSL directly, as the order service would. */
static bool signature_matches(const char *header, const char *body, size_t len)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    char hex[65];
    if (!header || strncmp(header, "sha256=", 7) != 0 || strlen(header + 7) != 64)
        return false;
    HMAC(EVP_sha256(), CALLBACK_SECRET, (int)strlen(CALLBACK_SECRET), (const unsigned char *)body,
         len, mac, &maclen);
    for (unsigned int i = 0; i < maclen; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    return maclen == 32 && CRYPTO_memcmp(hex, header + 7, 64) == 0;
}

static void copy_str(char *dst, size_t size, json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    snprintf(dst, size, "%s", v ? v : "");
}

static unsigned rx_post(void *arg, const struct h_post *post)
{
    (void)arg;
    const char *sig = h_post_header(post, "X-Signature-256");
    const char *key = h_post_header(post, "Idempotency-Key");
    struct rx_request r = {.signature_ok = signature_matches(sig, post->body, post->len)};
    json_t *j = json_loadb(post->body, post->len, 0, NULL);
    copy_str(r.event_id, sizeof r.event_id, j, "event_id");
    copy_str(r.status, sizeof r.status, j, "status");
    copy_str(r.message_id, sizeof r.message_id, j, "message_id");
    copy_str(r.tenant_id, sizeof r.tenant_id, j, "tenant_id");
    copy_str(r.channel, sizeof r.channel, j, "channel");
    copy_str(r.follows_id, sizeof r.follows_id, j, "follows_id");
    copy_str(r.follows_reason, sizeof r.follows_reason, j, "follows_reason");
    copy_str(r.reason, sizeof r.reason, j, "reason");
    r.error_code = (long)json_integer_value(json_object_get(json_object_get(j, "error"), "code"));
    snprintf(r.key, sizeof r.key, "%s", key ? key : "");
    const char *cb = json_string_value(json_object_get(j, "callback_id"));
    r.key_matches_body = key && cb && strcmp(key, cb) == 0;
    r.has_at = json_is_string(json_object_get(j, "at"));
    r.sequence = (long)json_integer_value(json_object_get(j, "sequence"));
    json_decref(j);

    pthread_mutex_lock(&rx.lock);
    r.answered =
        rx.fail_all || (rx.fail_event[0] && strcmp(rx.fail_event, r.event_id) == 0) ? 500 : 200;
    if (rx.n < RX_MAX)
        rx.req[rx.n++] = r;
    pthread_mutex_unlock(&rx.lock);
    return r.answered;
}

/* Starts the receiver on port (0: any free one). */
static bool rx_start_on(unsigned port)
{
    rx.receiver = h_receiver_start(port, rx_post, NULL);
    rx.port = rx.receiver ? h_receiver_port(rx.receiver) : 0;
    return rx.receiver != NULL;
}

static void rx_set(const char *fail_event, bool fail_all)
{
    pthread_mutex_lock(&rx.lock);
    snprintf(rx.fail_event, sizeof rx.fail_event, "%s", fail_event ? fail_event : "");
    rx.fail_all = fail_all;
    pthread_mutex_unlock(&rx.lock);
}

/* The requests for one order so far (accepted_only: those answered 2xx), in arrival
 * order; returns how many were copied into out. */
static size_t rx_of(const char *event, bool accepted_only, struct rx_request *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&rx.lock);
    for (size_t i = 0; i < rx.n && n < max; i++)
        if (strcmp(rx.req[i].event_id, event) == 0 && (!accepted_only || rx.req[i].answered == 200))
            out[n++] = rx.req[i];
    pthread_mutex_unlock(&rx.lock);
    return n;
}

/* ---------- the stack ---------- */

static struct h_stack st;
static char tenant[HT_ID_LEN];
static char url_var[96];
static const char *notif_on[8];
static const char *const notif_off[] = {"ORDER_CALLBACK_SECRET=" CALLBACK_SECRET, NULL};

static char *sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sql(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *q = NULL;
    if (vasprintf(&q, fmt, ap) < 0)
        q = NULL;
    va_end(ap);
    assert_non_null(q);
    char *v = h_sql(st.notif_db, q);
    free(q);
    return v;
}

static long sql_long(const char *q)
{
    char *v = sql("%s", q);
    long n = v ? strtol(v, NULL, 10) : -1;
    free(v);
    return n;
}

/* h_wait_until predicate: the query (a count) answers 0. The receiver has its 200 before
 * the deliverer commits that it was posted. */
static bool counts_zero(void *query)
{
    return sql_long(query) == 0;
}

/* Posts a purchase order with this event id as the order service; returns the message id. */
static char *post_order(const char *event, const char *to)
{
    char *body = xasprintf("{\"event_id\":\"%s\",\"tenant_id\":\"%s\",\"po_number\":\"PO-21\","
                           "\"supplier_name\":\"Harinas Norte\",\"supplier_phone\":\"%s\","
                           "\"total_amount\":\"1250.00\",\"currency\":\"EUR\"}",
                           event, tenant, to);
    struct h_resp r =
        h_call("POST", st.notif.url, ht_service(), body, "/api/v1/notifications/purchase-orders");
    if (r.status != 202)
        fail_msg("order: %ld %s", r.status, r.body);
    char *id = xstrdup(ht_str(&r, "message_id"));
    h_resp_free(&r);
    free(body);
    return id;
}

struct wait_for {
    const char *event;
    const char *status;  /* an accepted callback with this status */
    size_t min_requests; /* or: at least this many requests, whatever the answer */
};

static bool arrived(void *arg)
{
    const struct wait_for *w = arg;
    struct rx_request got[64];
    size_t n = rx_of(w->event, false, got, 64);
    if (w->min_requests)
        return n >= w->min_requests;
    for (size_t i = 0; i < n; i++)
        if (got[i].answered == 200 && strcmp(got[i].status, w->status) == 0)
            return true;
    return false;
}

static bool message_read(void *arg)
{
    char *s = hs_column(&st, arg, "status");
    bool done = strcmp(s, "read") == 0;
    free(s);
    return done;
}

/* What every accepted story of a sent order must be: queued, sent, delivered, read, with
 * sequence 1..4, signed, each with a key of its own that the body repeats. */
static void assert_story(const char *event, const char *message_id)
{
    static const char *const want[] = {"queued", "sent", "delivered", "read"};
    struct rx_request got[64];
    size_t n = rx_of(event, true, got, 64);
    if (n != 4) {
        for (size_t i = 0; i < n; i++)
            print_message("# got %s seq %ld\n", got[i].status, got[i].sequence);
        fail_msg("order %s: %zu accepted callbacks, 4 expected", event, n);
    }
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(got[i].status, want[i]);
        assert_int_equal(got[i].sequence, (long)i + 1);
        assert_true(got[i].signature_ok);
        assert_true(got[i].key_matches_body);
        assert_true(got[i].has_at);
        assert_string_equal(got[i].message_id, message_id);
        assert_string_equal(got[i].tenant_id, tenant);
        assert_string_equal(got[i].channel, "whatsapp");
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(got[i].key, got[j].key);
    }
}

/* Every attempt of one callback carries the same key: no two sequences share a key,
 * and one sequence has one key. */
static void assert_keys_stable(const char *event)
{
    struct rx_request got[256];
    size_t n = rx_of(event, false, got, 256);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            assert_int_equal(got[i].sequence == got[j].sequence,
                             strcmp(got[i].key, got[j].key) == 0);
}

/* ---------- the cases ---------- */

static void an_orders_states_arrive_in_order_and_signed(void **state)
{
    (void)state;
    char event[UUID_STR_LEN];
    uuid_new(event);
    char *id = post_order(event, "+34600210001");
    struct wait_for w = {event, "read", 0};
    assert_true(h_wait_until(arrived, &w, 30000));
    usleep(500 * 1000); /* nothing more, and nothing twice */
    assert_story(event, id);
    struct rx_request got[64];
    assert_int_equal(rx_of(event, false, got, 64), 4);
    /* delivered and removed from the queue */
    char *q = xasprintf("SELECT count(*) FROM order_callbacks WHERE event_id = '%s'", event);
    assert_true(h_wait_until(counts_zero, q, 10000));
    free(q);
    free(id);
}

/* Meta may tell read without delivered (or both in one POST, or read first, when the
 * older delivered is ignored): the message goes from sent to read in one step, and the
 * order service is still told queued, sent, delivered, read, in that order. */
static void a_read_without_delivered_still_tells_every_state(void **state)
{
    (void)state;
    hs_sim(&st, "/_sim/settings", "{\"statuses\": [\"read\"]}");
    char event[UUID_STR_LEN];
    uuid_new(event);
    char *id = post_order(event, "+34600210007");
    struct wait_for w = {event, "read", 0};
    bool read_told = h_wait_until(arrived, &w, 30000);
    hs_sim(&st, "/_sim/settings", "{\"statuses\": [\"sent\", \"delivered\", \"read\"]}");
    assert_true(read_told);
    usleep(300 * 1000); /* nothing more, and nothing twice */
    assert_story(event, id);
    free(id);
}

/* A receiver that answers 500 gets the same callback again, with the same key, and none
 * of the order's later states until it takes it; sending does not wait for it, nor do
 * other orders' callbacks. */
static void a_failing_receiver_holds_only_its_order_and_gets_the_same_key(void **state)
{
    (void)state;
    char stuck[UUID_STR_LEN], other[UUID_STR_LEN];
    uuid_new(stuck);
    uuid_new(other);
    rx_set(stuck, false);
    char *id = post_order(stuck, "+34600210002");
    char *other_id = post_order(other, "+34600210003");
    assert_true(h_wait_until(message_read, id, 30000)); /* sending never waited */
    struct wait_for w = {stuck, NULL, 3};
    assert_true(h_wait_until(arrived, &w, 30000));
    struct wait_for w_other = {other, "read", 0};
    assert_true(h_wait_until(arrived, &w_other, 30000));
    assert_story(other, other_id);

    struct rx_request got[256];
    size_t n = rx_of(stuck, false, got, 256);
    assert_true(n >= 3);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got[i].answered, 500);
        assert_int_equal(got[i].sequence, 1); /* the later states wait behind it */
        assert_string_equal(got[i].status, "queued");
        assert_string_equal(got[i].key, got[0].key);
        assert_true(got[i].signature_ok);
    }
    char *q = xasprintf("SELECT count(*) FROM order_callbacks WHERE event_id = '%s'"
                        " AND attempts > 0",
                        stuck);
    assert_true(sql_long(q) == 1);
    free(q);
    assert_true(h_metric(st.notif.url, "order_callbacks_total{outcome=\"failed\"}") >= 3);

    rx_set(NULL, false); /* the receiver recovers */
    struct wait_for done = {stuck, "read", 0};
    assert_true(h_wait_until(arrived, &done, 30000));
    assert_story(stuck, id);
    struct rx_request ok[64];
    rx_of(stuck, true, ok, 64);
    assert_string_equal(ok[0].key, got[0].key); /* the same callback, at last taken */
    assert_keys_stable(stuck);
    free(other_id);
    free(id);
}

/* Callbacks not delivered when the service is killed (-9) are delivered after its
 * restart: none lost, a repeat carries the key of the first attempt. */
static void a_killed_service_delivers_what_waited_after_its_restart(void **state)
{
    (void)state;
    char event[UUID_STR_LEN];
    uuid_new(event);
    rx_set(NULL, true);
    char *id = post_order(event, "+34600210004");
    assert_true(h_wait_until(message_read, id, 30000));
    struct wait_for w = {event, NULL, 1};
    assert_true(h_wait_until(arrived, &w, 30000));
    h_kill(&st.notif, SIGKILL);
    char *q = xasprintf("SELECT (SELECT count(*) FROM order_callbacks WHERE event_id = '%s')"
                        " + (SELECT count(*) FROM order_callback_inbox WHERE event_id = '%s')",
                        event, event);
    assert_int_equal(sql_long(q), 4); /* queued, sent, delivered, read: all kept */

    rx_set(NULL, false);
    unsigned port = st.notif.port;
    assert_true(hs_start_notification(&st, &st.notif, port));
    struct wait_for done = {event, "read", 0};
    assert_true(h_wait_until(arrived, &done, 45000));
    assert_story(event, id);
    assert_keys_stable(event);
    assert_true(h_wait_until(counts_zero, q, 10000));
    free(q);
    free(id);
}

static bool dropped_once(void *arg)
{
    (void)arg;
    return h_metric(st.notif.url, "order_callbacks_total{outcome=\"dropped\"}") >= 1;
}

/* A callback still failing ORDER_CALLBACK_MAX_AGE_SECONDS (24 h) after its change is
 * dropped with a log line and a metric, and the order's later states go on. */
static void a_callback_failing_for_a_day_is_dropped_and_the_rest_follow(void **state)
{
    (void)state;
    char event[UUID_STR_LEN];
    uuid_new(event);
    rx_set(event, false);
    char *id = post_order(event, "+34600210006");
    struct wait_for w = {event, NULL, 1};
    assert_true(h_wait_until(arrived, &w, 30000));
    /* a day passes for the first callback */
    free(sql("UPDATE order_callbacks SET at = at - interval '25 hours'"
             " WHERE event_id = '%s' AND sequence = 1",
             event));
    assert_true(h_wait_until(dropped_once, NULL, 30000));
    assert_int_equal(h_log_count(&st.notif, "order callback dropped"), 1);
    assert_true(h_wait_until(message_read, id, 30000));
    rx_set(NULL, false);
    struct wait_for done = {event, "read", 0};
    assert_true(h_wait_until(arrived, &done, 30000));
    static const char *const want[] = {"sent", "delivered", "read"};
    struct rx_request got[64];
    assert_int_equal(rx_of(event, true, got, 64), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(got[i].status, want[i]);
        assert_int_equal(got[i].sequence, (long)i + 2);
    }
    free(id);
}

/* Two instances on one database: every callback is posted once, in order per order. */
/* The order service down for 30 s (connections refused): sending goes on, and once it is
 * back every callback of the order arrives, in order, each once accepted. */
static void an_order_service_outage_loses_nothing(void **state)
{
    (void)state;
    char event[UUID_STR_LEN];
    unsigned port = rx.port;
    h_receiver_stop(rx.receiver);
    rx.receiver = NULL;
    uuid_new(event);
    char *id = post_order(event, "+34600210077");
    assert_true(h_wait_until(message_read, id, 30000)); /* sending never waits for it */
    sleep(30);
    assert_true(rx_start_on(port));
    struct wait_for w = {event, "read", 0};
    assert_true(h_wait_until(arrived, &w, 30000));
    usleep(500 * 1000);
    assert_story(event, id);
    free(id);
}

static void two_instances_post_each_callback_once_in_order(void **state)
{
    (void)state;
    struct h_proc second;
    assert_true(hs_start_notification(&st, &second, h_free_port()));
    enum { ORDERS = 12 };
    char events[ORDERS][UUID_STR_LEN];
    char *ids[ORDERS];
    for (int i = 0; i < ORDERS; i++) {
        uuid_new(events[i]);
        char to[32];
        snprintf(to, sizeof to, "+346002110%02d", i);
        ids[i] = post_order(events[i], to);
    }
    for (int i = 0; i < ORDERS; i++) {
        struct wait_for w = {events[i], "read", 0};
        assert_true(h_wait_until(arrived, &w, 30000));
    }
    usleep(500 * 1000);
    for (int i = 0; i < ORDERS; i++) {
        assert_story(events[i], ids[i]);
        struct rx_request got[64];
        assert_int_equal(rx_of(events[i], false, got, 64), 4); /* none twice */
        free(ids[i]);
    }
    assert_int_equal(h_stop(&second), 0);
}

/* The rows the other channels write (an email fallback of a failed WhatsApp message, a
 * resend that is canceled) are told as well, with their channel, link and error. The
 * rows are written here as those paths write them, with no worker due to take them. */
static void fallback_email_resend_and_cancel_are_told(void **state)
{
    (void)state;
    char event[UUID_STR_LEN], wa[UUID_STR_LEN], mail[UUID_STR_LEN], again[UUID_STR_LEN];
    uuid_new(event);
    uuid_new(wa);
    uuid_new(mail);
    uuid_new(again);
    static const char *const cols =
        "INSERT INTO whatsapp_messages (id, tenant_id, idempotency_key, kind, request_hash,"
        " recipient_phone, template_name, template_parameters, payload, status,"
        " next_attempt_at, channel, recipient_email, order_event_id, follows_id,"
        " follows_reason) VALUES ";
    free(sql("%s('%s', '%s', '%s', 'purchase_order', 'h', '+34600210099', 'po_notification',"
             " '[]', '{}', 'queued', now() + interval '1 day', 'whatsapp', NULL, NULL, NULL,"
             " NULL)",
             cols, wa, tenant, event));
    free(sql("UPDATE whatsapp_messages SET status = 'failed', next_attempt_at = NULL,"
             " error_code = 131026, error_message = 'Message undeliverable' WHERE id = '%s'",
             wa));
    free(sql("%s('%s', '%s', '%s-email', 'purchase_order', 'h', '+34600210099',"
             " 'po_notification', '[]', '{}', 'queued', now() + interval '1 day', 'email',"
             " 'pedidos@harinas.example', '%s', '%s', 'fallback')",
             cols, mail, tenant, event, event, wa));
    free(sql("UPDATE whatsapp_messages SET status = 'sent', next_attempt_at = NULL"
             " WHERE id = '%s'",
             mail));
    free(sql("%s('%s', '%s', '%s-resend', 'purchase_order', 'h', '+34600210098',"
             " 'po_notification', '[]', '{}', 'queued', now() + interval '1 day', 'whatsapp',"
             " NULL, '%s', '%s', 'resend')",
             cols, again, tenant, event, event, wa));
    free(sql("UPDATE whatsapp_messages SET status = 'canceled', next_attempt_at = NULL"
             " WHERE id = '%s'",
             again));

    struct wait_for w = {event, "canceled", 0};
    assert_true(h_wait_until(arrived, &w, 30000));
    struct {
        const char *status, *channel, *message, *follows, *reason;
        long code;
    } want[] = {
        {"queued", "whatsapp", wa, "", "", 0},
        {"failed", "whatsapp", wa, "", "", 131026},
        {"fallback", "email", mail, wa, "fallback", 0},
        {"sent", "email", mail, wa, "fallback", 0},
        {"queued", "whatsapp", again, wa, "resend", 0},
        {"canceled", "whatsapp", again, wa, "resend", 0},
    };
    struct rx_request got[64];
    size_t n = rx_of(event, true, got, 64);
    assert_int_equal(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(got[i].status, want[i].status);
        assert_string_equal(got[i].channel, want[i].channel);
        assert_string_equal(got[i].message_id, want[i].message);
        assert_string_equal(got[i].follows_id, want[i].follows);
        assert_string_equal(got[i].follows_reason, want[i].reason);
        assert_int_equal(got[i].error_code, want[i].code);
        assert_int_equal(got[i].sequence, (long)i + 1);
        assert_true(got[i].signature_ok);
    }
}

/* Runs notification-service with env; returns its exit status and output. */
static int run_binary(const char *const *env, char *out, size_t outlen)
{
    const char *dir = getenv("BIN_DIR") ? getenv("BIN_DIR") : "build/asan";
    struct buf cmd = {0};
    /* a binary that does not refuse would serve for ever: 20 s, then it fails (124) */
    buf_append_str(&cmd, "timeout 20 env -i PATH=/usr/bin:/bin ASAN_OPTIONS=detect_leaks=1");
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

static void a_bad_callback_configuration_stops_the_start(void **state)
{
    (void)state;
    char out[8192], *db = xasprintf("NOTIFICATION_DATABASE_URL=%s", st.notif_db);
    char *port = xasprintf("NOTIFICATION_PORT=%u", h_free_port());
    const char *not_url[] = {db,
                             port,
                             "JWT_SECRET=" H_JWT_SECRET,
                             "ORDER_CALLBACK_URL=orders.example/callbacks",
                             "ORDER_CALLBACK_SECRET=" CALLBACK_SECRET,
                             NULL};
    assert_int_equal(run_binary(not_url, out, sizeof out), 2);
    if (!strstr(out, "ORDER_CALLBACK_URL must be"))
        fail_msg("the refusal does not name the variable: %s", out);
    const char *no_host[] = {db,
                             port,
                             "JWT_SECRET=" H_JWT_SECRET,
                             "ORDER_CALLBACK_URL=http://",
                             "ORDER_CALLBACK_SECRET=" CALLBACK_SECRET,
                             NULL};
    assert_int_equal(run_binary(no_host, out, sizeof out), 2);
    if (!strstr(out, "ORDER_CALLBACK_URL must be"))
        fail_msg("the refusal does not name the variable: %s", out);
    const char *no_secret[] = {db, port, "JWT_SECRET=" H_JWT_SECRET,
                               "ORDER_CALLBACK_URL=http://127.0.0.1:9/callbacks", NULL};
    assert_int_equal(run_binary(no_secret, out, sizeof out), 2);
    if (!strstr(out, "ORDER_CALLBACK_SECRET must be set"))
        fail_msg("the refusal does not name the secret: %s", out);
    free(port);
    free(db);
    /* the secret is never written to a log */
    assert_int_equal(h_log_count(&st.notif, CALLBACK_SECRET), 0);
}

/* Without ORDER_CALLBACK_URL the database queues nothing: its triggers do not exist
 * (a disabled statement trigger would still make every UPDATE keep transition tables,
 * migration 0021). */
static void without_a_url_nothing_is_queued(void **state)
{
    (void)state;
#define CALLBACK_TRIGGERS                                                                          \
    "SELECT coalesce(string_agg(tgname || ':' || tgenabled::text, ',' ORDER BY tgname), '')"       \
    " FROM pg_trigger WHERE tgrelid = 'whatsapp_messages'::regclass"                               \
    " AND tgname LIKE 'order_callbacks_%%'"
    char *on = sql(CALLBACK_TRIGGERS);
    assert_non_null(on);
    assert_string_equal(on, "order_callbacks_changed:O,order_callbacks_created:O");
    free(on);
    assert_int_equal(h_stop(&st.notif), 0);
    st.notif_extra = notif_off;
    unsigned port = st.notif.port;
    assert_true(hs_start_notification(&st, &st.notif, port));
    char *off = sql(CALLBACK_TRIGGERS);
    assert_non_null(off);
    assert_string_equal(off, "");
    free(off);
#undef CALLBACK_TRIGGERS

    char event[UUID_STR_LEN];
    uuid_new(event);
    char *id = post_order(event, "+34600210005");
    assert_true(h_wait_until(message_read, id, 30000));
    usleep(500 * 1000);
    assert_int_equal(sql_long("SELECT (SELECT count(*) FROM order_callbacks)"
                              " + (SELECT count(*) FROM order_callback_inbox)"),
                     0);
    struct rx_request got[4];
    assert_int_equal(rx_of(event, false, got, 4), 0);
    free(id);
}

static int setup(void **state)
{
    (void)state;
    if (!rx_start_on(0))
        return -1;
    snprintf(url_var, sizeof url_var, "ORDER_CALLBACK_URL=http://127.0.0.1:%u/order-events",
             rx.port);
    size_t n = 0;
    notif_on[n++] = url_var;
    notif_on[n++] = "ORDER_CALLBACK_SECRET=" CALLBACK_SECRET;
    notif_on[n++] = "ORDER_CALLBACK_POLL_MS=50";
    notif_on[n++] = "ORDER_CALLBACK_RETRY_BASE_MS=100";
    notif_on[n++] = "ORDER_CALLBACK_RETRY_MAX_MS=1000";
    notif_on[n++] = "ORDER_CALLBACK_TIMEOUT_MS=2000";
    notif_on[n] = NULL;
    static const char *const ts[] = {"PLAN_DEFAULT=enterprise", NULL};
    char name[48];
    snprintf(name, sizeof name, "order_callbacks_%ld", (long)getpid());
    if (!hs_start(&st, name, notif_on, ts))
        return -1;
    char *hook = xasprintf("{\"webhook_url\":\"%s/api/v1/whatsapp/webhook\","
                           "\"status_delay_ms\":300}",
                           st.notif.url);
    hs_sim(&st, "/_sim/settings", hook);
    free(hook);
    ht_create_tenant(&st.ts, "Panadería Callback", tenant);
    hs_settings(&st, tenant, "{\"whatsapp_enabled\": true}");
    hs_assign(&st, tenant, HS_PHONE(02));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = hs_stop(&st) != 0 ? -1 : 0;
    h_drop_database(st.tenant_db);
    h_drop_database(st.notif_db);
    h_receiver_stop(rx.receiver);
    return rc;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_orders_states_arrive_in_order_and_signed),
        cmocka_unit_test(a_read_without_delivered_still_tells_every_state),
        cmocka_unit_test(a_failing_receiver_holds_only_its_order_and_gets_the_same_key),
        cmocka_unit_test(a_callback_failing_for_a_day_is_dropped_and_the_rest_follow),
        cmocka_unit_test(an_order_service_outage_loses_nothing),
        cmocka_unit_test(two_instances_post_each_callback_once_in_order),
        cmocka_unit_test(fallback_email_resend_and_cancel_are_told),
        cmocka_unit_test(a_killed_service_delivers_what_waited_after_its_restart),
        cmocka_unit_test(a_bad_callback_configuration_stops_the_start),
        cmocka_unit_test(without_a_url_nothing_is_queued),
    };
    if (!h_pg_start())
        return 1;
    return cmocka_run_group_tests(tests, setup, teardown);
}
