/* test_email.c - every order reaches its supplier (issue 21): a purchase order whose
 * WhatsApp message fails or is skipped goes by email, once, when its event gave an
 * address; a bakery whose plan has no WhatsApp gets email only; a bakery that chose both
 * channels gets both. The mail server is real (tests/lib/smtp_sink.py on aiosmtpd, with
 * STARTTLS and AUTH required): what
 * it accepted is read back and checked (From, Reply-To, subject with the order number,
 * the bakery's language in plain text and HTML); a refusal fails the message with the
 * server's words, a temporary one is retried. */
#include <ctype.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "alloc.h"
#include "harness_stack.h"
#include "harness_tenant.h"
#include "uuidutil.h"

static struct h_stack st;
static struct h_proc smtp;
static char mail_dir[200], cert[256], key[256];
static int next_phone;

/* ---------- the mail server's side ---------- */

/* Quoted-printable decoded, soft line breaks joined (RFC 2045 6.7); the caller frees. */
static char *qp_decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=' && i + 2 < n + 1 && s[i + 1] == '\r' && s[i + 2] == '\n') {
            i += 2;
        } else if (s[i] == '=' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
                   isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            *o++ = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

/* The mails the server accepted for address, concatenated ("" when none); *count gets
 * how many. The caller frees. */
static char *mails_to(const char *address, int *count)
{
    struct buf all = {0};
    char want[320];
    snprintf(want, sizeof want, "X-Envelope-To: %s\r\n", address);
    *count = 0;
    DIR *d = opendir(mail_dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        if (!strstr(e->d_name, ".eml") || strstr(e->d_name, ".tmp"))
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", mail_dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        struct buf b = {0};
        char chunk[4096];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
            buf_append(&b, chunk, got);
        fclose(f);
        if (b.data && strstr(b.data, want)) {
            /* the headers as they are; the parts below them decoded */
            (*count)++;
            const char *end = strstr(b.data, "\r\n\r\n");
            size_t head = end ? (size_t)(end - b.data) + 4 : b.len;
            buf_append(&all, b.data, head);
            char *decoded = qp_decode(b.data + head, b.len - head);
            buf_append_str(&all, decoded);
            free(decoded);
        }
        buf_free(&b);
    }
    if (d)
        closedir(d);
    if (!all.data)
        buf_append_str(&all, "");
    return buf_steal(&all);
}

struct wanted {
    const char *address;
    int n;
};

static bool mails_arrived(void *arg)
{
    const struct wanted *w = arg;
    int n;
    free(mails_to(w->address, &n));
    return n >= w->n;
}

/* ---------- the platform's side ---------- */

static char *post(const char *tenant, const char *phone, const char *email, const char *po)
{
    char event[UUID_STR_LEN];
    uuid_new(event);
    char *body = xasprintf("{\"event_id\":\"%s\",\"tenant_id\":\"%s\",\"po_number\":\"%s\","
                           "\"supplier_name\":\"Harinas Norte\",\"supplier_phone\":\"%s\","
                           "\"supplier_email\":\"%s\",\"total_amount\":\"1250.50\","
                           "\"currency\":\"EUR\"}",
                           event, tenant, po, phone, email);
    struct h_resp r =
        h_call("POST", st.notif.url, ht_service(), body, "/api/v1/notifications/purchase-orders");
    if (r.status != 202)
        fail_msg("order: %ld %s", r.status, r.body);
    char *id = xstrdup(ht_str(&r, "message_id"));
    h_resp_free(&r);
    free(body);
    return id;
}

static const char *phone(void)
{
    static char to[16];
    snprintf(to, sizeof to, "+3460080%04d", next_phone++);
    return to;
}

/* The order's email row, as "status follows_reason recipient_email", once it exists and
 * ended (sent, failed, skipped); NULL when it did not within 15 s. */
struct email_row {
    const char *wa_id;
    char *answer;
};

static bool email_row_ended(void *arg)
{
    struct email_row *e = arg;
    char *sql = xasprintf("SELECT e.status || ' ' || coalesce(e.follows_reason, '-') || ' ' || "
                          "e.recipient_email FROM whatsapp_messages w JOIN whatsapp_messages e "
                          "ON e.tenant_id = w.tenant_id AND e.order_event_id = w.idempotency_key "
                          "AND e.channel = 'email' WHERE w.id = '%s' AND e.status IN ('sent', "
                          "'failed', 'skipped')",
                          e->wa_id);
    free(e->answer);
    e->answer = h_sql(st.notif_db, sql);
    free(sql);
    return e->answer && *e->answer;
}

static char *email_row_of(const char *wa_id)
{
    struct email_row e = {wa_id, NULL};
    if (!h_wait_until(email_row_ended, &e, 15000)) {
        char *s =
            hs_column(&st, wa_id, "status || ' ' || coalesce(skip_reason, error_message, '')");
        fail_msg("no ended email row for %s (its WhatsApp message: %s)", wa_id, s);
    }
    return e.answer;
}

static long email_rows(const char *wa_id)
{
    char *sql = xasprintf("SELECT count(*) FROM whatsapp_messages w JOIN whatsapp_messages e ON "
                          "e.tenant_id = w.tenant_id AND e.order_event_id = w.idempotency_key AND "
                          "e.channel = 'email' WHERE w.id = '%s'",
                          wa_id);
    char *v = h_sql(st.notif_db, sql);
    long n = v ? strtol(v, NULL, 10) : -1;
    free(v);
    free(sql);
    return n;
}

static long graph_sends_to(const char *to)
{
    struct h_resp r = h_call("GET", st.sim.url, NULL, NULL, "/_sim/messages?to=%%2B%s", to + 1);
    long n = (long)json_array_size(json_object_get(r.json, "messages"));
    h_resp_free(&r);
    return n;
}

static void bakery(const char *name, const char *settings, char id[HT_ID_LEN])
{
    ht_create_tenant(&st.ts, name, id);
    hs_settings(&st, id, settings);
}

/* ---------- the cases ---------- */

/* The supplier is not on WhatsApp: Meta fails the message later (131026, by webhook);
 * the order goes by email at once, once, from the bakery's address in its language. */
static void a_failed_whatsapp_message_falls_back_to_one_email(void **state)
{
    (void)state;
    char t[HT_ID_LEN];
    bakery("Panadería Lur",
           "{\"whatsapp_enabled\": true, \"whatsapp_default_language\": \"eu\","
           " \"email_from_address\": \"eskaerak@lur.example\","
           " \"email_from_name\": \"Lur Okindegia\", \"email_reply_to\": \"lur@lur.example\"}",
           t);
    const char *to = phone();
    char *body = xasprintf("{\"not_on_whatsapp\":[\"%s\"]}", to);
    hs_sim(&st, "/_sim/faults", body);
    free(body);
    char *id = post(t, to, "irinak@norte.example", "PO-LUR-1");
    char *email = email_row_of(id);
    assert_string_equal(email, "sent fallback irinak@norte.example");
    char *wa = hs_column(&st, id, "status || ' ' || coalesce(error_code::text, '')");
    assert_string_equal(wa, "failed 131026");

    int n;
    char *mail = mails_to("irinak@norte.example", &n);
    assert_int_equal(n, 1);
    assert_non_null(strstr(mail, "X-Envelope-From: eskaerak@lur.example\r\n"));
    assert_non_null(strstr(mail, "From: Lur Okindegia <eskaerak@lur.example>\r\n"));
    assert_non_null(strstr(mail, "Reply-To: <lur@lur.example>\r\n"));
    /* the bakery's name after a middle dot: not ASCII, so one RFC 2047 word */
    const char *subject = "PO-LUR-1 erosketa-agindua \xc2\xb7 Lur Okindegia";
    unsigned char b64[128];
    EVP_EncodeBlock(b64, (const unsigned char *)subject, (int)strlen(subject));
    char *header = xasprintf("Subject: =?UTF-8?B?%s?=\r\n", (const char *)b64);
    assert_non_null(strstr(mail, header));
    free(header);
    assert_non_null(strstr(mail, "multipart/alternative"));
    assert_non_null(strstr(mail, "Content-Type: text/html; charset=utf-8"));
    /* the WhatsApp template's Basque words, the amount as Basque writes it */
    assert_non_null(strstr(mail, "Kaixo Harinas Norte, PO-LUR-1 erosketa-agindu berria jaso duzu, "
                                 "guztira 1.250,50"));
    free(mail);
    /* once: a later status of the failed message makes no second email */
    usleep(1500 * 1000);
    assert_int_equal(email_rows(id), 1);
    free(mails_to("irinak@norte.example", &n));
    assert_int_equal(n, 1);
    hs_sim(&st, "/_sim/faults", "{\"not_on_whatsapp\":[]}");
    free(wa);
    free(email);
    free(id);
}

/* A Basic plan has no WhatsApp: the order goes by email only, and Graph sees nothing. */
static void a_basic_plan_gets_email_only(void **state)
{
    (void)state;
    char t[HT_ID_LEN];
    bakery("Horno Básico", "{\"whatsapp_enabled\": true}", t);
    char *path = xasprintf("/api/v1/admin/tenants/%s/plan", t);
    struct h_resp r = ht_call(&st.ts, "PUT", path, ht_admin(), "{\"plan\": \"basic\"}");
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(path);
    const char *to = phone();
    char *id = post(t, to, "pedidos@basico.example", "PO-B-1");
    char *email = email_row_of(id);
    assert_string_equal(email, "sent fallback pedidos@basico.example");
    char *wa = hs_column(&st, id, "status || ' ' || coalesce(skip_reason, '')");
    assert_string_equal(wa, "skipped quota_exceeded");
    assert_int_equal(graph_sends_to(to), 0);
    int n;
    char *mail = mails_to("pedidos@basico.example", &n);
    assert_int_equal(n, 1);
    /* no address of its own: the platform's SMTP_FROM; Spanish, the default */
    assert_non_null(strstr(mail, "From: <pedidos@plataforma.example>\r\n"));
    assert_non_null(strstr(mail, "Subject: Orden de compra PO-B-1\r\n"));
    assert_non_null(strstr(mail, "has recibido una nueva orden de compra PO-B-1 por un total de "
                                 "1.250,50 \xe2\x82\xac"));
    free(mail);
    free(wa);
    free(email);
    free(id);
}

/* A bakery that chose both channels gets both, each once. */
static void both_channels_send_both(void **state)
{
    (void)state;
    char t[HT_ID_LEN];
    bakery("Obrador Doble",
           "{\"whatsapp_enabled\": true, \"whatsapp_default_language\": \"en\","
           " \"po_notification_channels\": [\"whatsapp\", \"email\"]}",
           t);
    const char *to = phone();
    char *id = post(t, to, "orders@double.example", "PO-D-1");
    char *email = email_row_of(id);
    assert_string_equal(email, "sent - orders@double.example"); /* not a fallback */
    struct wanted w = {"orders@double.example", 1};
    assert_true(h_wait_until(mails_arrived, &w, 5000));
    int n;
    char *mail = mails_to("orders@double.example", &n);
    assert_int_equal(n, 1);
    assert_non_null(strstr(mail, "Subject: Purchase order PO-D-1\r\n"));
    assert_non_null(strstr(mail, "you have received a new purchase order PO-D-1"));
    free(mail);
    for (int i = 0; i < 100 && graph_sends_to(to) == 0; i++)
        usleep(50 * 1000);
    assert_int_equal(graph_sends_to(to), 1);
    assert_int_equal(email_rows(id), 1);
    free(email);
    free(id);
}

/* WhatsApp switched off by the owner and email among the channels (the default): email. */
static void whatsapp_off_sends_the_email(void **state)
{
    (void)state;
    char t[HT_ID_LEN];
    bakery("Forn Apagat", "{\"whatsapp_enabled\": false, \"whatsapp_default_language\": \"ca\"}",
           t);
    const char *to = phone();
    char *id = post(t, to, "comandes@apagat.example", "PO-C-1");
    char *email = email_row_of(id);
    assert_string_equal(email, "sent fallback comandes@apagat.example");
    int n;
    char *mail = mails_to("comandes@apagat.example", &n);
    assert_int_equal(n, 1);
    assert_non_null(strstr(mail, "Subject: Ordre de compra PO-C-1\r\n"));
    free(mail);
    assert_int_equal(graph_sends_to(to), 0);
    free(email);
    free(id);
}

/* po_notification_channels ["email"] with WhatsApp switched on: no WhatsApp at all, the
 * email only. */
static void email_only_channels_send_no_whatsapp(void **state)
{
    (void)state;
    char t[HT_ID_LEN];
    bakery("Obrador Correo",
           "{\"whatsapp_enabled\": true, \"po_notification_channels\": [\"email\"]}", t);
    const char *to = phone();
    char *id = post(t, to, "solo@correo.example", "PO-E-1");
    char *email = email_row_of(id);
    assert_string_equal(email, "sent fallback solo@correo.example");
    char *wa = hs_column(&st, id, "status || ' ' || coalesce(skip_reason, '')");
    assert_string_equal(wa, "skipped whatsapp_not_in_channels");
    assert_int_equal(graph_sends_to(to), 0);
    int n;
    free(mails_to("solo@correo.example", &n));
    assert_int_equal(n, 1);
    free(wa);
    free(email);
    free(id);
}

/* The owner's card shows only the WhatsApp switch: switching it moves the channels
 * (tenant-service's migration 0006), unless the same change sets them. */
static void the_switch_moves_the_channels(void **state)
{
    (void)state;
    char t[HT_ID_LEN];
    ht_create_tenant(&st.ts, "Horno Interruptor", t);
    char *path = xasprintf("/api/v1/tenants/%s/settings/notifications", t);
    const struct {
        const char *put, *channels;
    } steps[] = {
        {NULL, "[\"email\"]"}, /* DESIGN.md's default */
        {"{\"whatsapp_enabled\": true}", "[\"whatsapp\"]"},
        {"{\"whatsapp_enabled\": true}", "[\"whatsapp\"]"}, /* no change, nothing moves */
        {"{\"whatsapp_enabled\": false}", "[\"email\"]"},
        {"{\"whatsapp_enabled\": true, \"po_notification_channels\": [\"email\", "
         "\"whatsapp\"]}",
         "[\"email\", \"whatsapp\"]"},
        {"{\"email_from_name\": \"Horno\"}", "[\"email\", \"whatsapp\"]"},
        {"{\"whatsapp_enabled\": false}", "[\"email\"]"},
        {"{\"whatsapp_enabled\": true, \"po_notification_channels\": [\"email\"]}", "[\"email\"]"},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        struct h_resp r = steps[i].put ? ht_call(&st.ts, "PUT", path, ht_admin(), steps[i].put)
                                       : ht_call(&st.ts, "GET", path, ht_admin(), NULL);
        assert_int_equal(r.status, 200);
        char *got = json_dumps(json_object_get(r.json, "po_notification_channels"), JSON_COMPACT);
        json_t *want = json_loads(steps[i].channels, 0, NULL);
        char *wanted = json_dumps(want, JSON_COMPACT);
        if (strcmp(got, wanted) != 0)
            fail_msg("step %zu (%s): channels %s, want %s", i, steps[i].put ? steps[i].put : "GET",
                     got, wanted);
        free(got);
        free(wanted);
        json_decref(want);
        h_resp_free(&r);
    }
    free(path);
}

/* A refused address fails with the server's words; a busy one is tried again, then
 * fails after WHATSAPP_MAX_ATTEMPTS. Nothing else is lost. */
static void refusals_fail_the_email_and_say_why(void **state)
{
    (void)state;
    char t[HT_ID_LEN];
    bakery("Horno Rechazo", "{\"whatsapp_enabled\": false}", t);
    char *id = post(t, phone(), "rechazo@norte.example", "PO-R-1");
    char *email = email_row_of(id);
    assert_string_equal(email, "failed fallback rechazo@norte.example");
    char *sql = xasprintf("SELECT e.error_code || ' ' || e.attempts || ' ' || e.error_message FROM "
                          "whatsapp_messages e JOIN whatsapp_messages w ON e.order_event_id = "
                          "w.idempotency_key AND e.channel = 'email' WHERE w.id = '%s'",
                          id);
    char *why = h_sql(st.notif_db, sql);
    free(sql);
    /* the mail server's own words */
    if (strcmp(why, "550 1 SMTP 550 5.1.1 <rechazo@norte.example>: mailbox unavailable") != 0)
        fail_msg("refused: %s", why);
    free(why);
    free(email);
    free(id);

    id = post(t, phone(), "ocupado@norte.example", "PO-R-2");
    email = email_row_of(id);
    assert_string_equal(email, "failed fallback ocupado@norte.example");
    sql = xasprintf("SELECT e.error_code || ' ' || e.attempts FROM whatsapp_messages e JOIN "
                    "whatsapp_messages w ON e.order_event_id = w.idempotency_key AND e.channel = "
                    "'email' WHERE w.id = '%s'",
                    id);
    why = h_sql(st.notif_db, sql);
    free(sql);
    assert_string_equal(why, "451 3"); /* tried three times: WHATSAPP_MAX_ATTEMPTS */
    free(why);
    free(email);
    free(id);
}

/* The mail server down: the email waits, its attempts unused, and goes once the server
 * is back. */
static void a_mail_server_down_loses_nothing(void **state)
{
    (void)state;
    static const char *args[] = {"--cert",     cert,         "--key",       key, "--user",
                                 "plataforma", "--password", "s3cret-smtp", NULL};
    char t[HT_ID_LEN];
    bakery("Horno Espera", "{\"whatsapp_enabled\": false}", t);
    unsigned port = smtp.port;
    assert_int_equal(h_stop(&smtp), 0);
    char *id = post(t, phone(), "espera@norte.example", "PO-W-1");
    char *sql = xasprintf("SELECT e.status || ' ' || e.attempts || ' ' || "
                          "(e.error_message LIKE 'SMTP 0:%%')::text FROM whatsapp_messages e "
                          "JOIN whatsapp_messages w ON e.order_event_id = w.idempotency_key AND "
                          "e.channel = 'email' WHERE w.id = '%s'",
                          id);
    char *row = NULL;
    for (int i = 0; i < 100; i++) { /* tried at least once, and waiting */
        free(row);
        row = h_sql(st.notif_db, sql);
        if (row && strcmp(row, "queued 0 true") == 0)
            break;
        usleep(50 * 1000);
    }
    assert_string_equal(row, "queued 0 true");
    free(row);
    usleep(1000 * 1000); /* several tries while it is down: still no attempt used */
    free(sql);
    /* waiting, between two tries or in one (sending): either way no attempt used */
    sql = xasprintf("SELECT (e.status IN ('queued', 'sending'))::text || ' ' || e.attempts || "
                    "' ' || (e.error_message LIKE 'SMTP 0:%%')::text FROM whatsapp_messages e "
                    "JOIN whatsapp_messages w ON e.order_event_id = w.idempotency_key AND "
                    "e.channel = 'email' WHERE w.id = '%s'",
                    id);
    row = h_sql(st.notif_db, sql);
    assert_string_equal(row, "true 0 true");
    free(row);
    free(sql);
    assert_true(hs_start_smtp(&smtp, port, mail_dir, args));
    char *email = email_row_of(id);
    assert_string_equal(email, "sent fallback espera@norte.example");
    int n;
    free(mails_to("espera@norte.example", &n));
    assert_int_equal(n, 1);
    free(email);
    free(id);
}

/* A malformed supplier_email is refused at intake with the error shape; nothing kept. */
static void a_bad_address_is_refused_at_intake(void **state)
{
    (void)state;
    char t[HT_ID_LEN], event[UUID_STR_LEN];
    bakery("Horno Malo", "{\"whatsapp_enabled\": true}", t);
    const char *bad[] = {"no-es-un-correo", "a@b", "x y@z.example", "<a@b.example>",
                         "a@b.example\r\nBcc: c@d.example"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uuid_new(event);
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "event_id", event, "tenant_id", t,
                      "po_number", "PO-M", "supplier_name", "X", "supplier_phone", "+34600899999",
                      "supplier_email", bad[i], "total_amount", "1.00", "currency", "EUR");
        char *body = json_dumps(o, JSON_COMPACT);
        struct h_resp r = h_call("POST", st.notif.url, ht_service(), body,
                                 "/api/v1/notifications/purchase-orders");
        h_assert_error(&r, 422, "validation_error");
        assert_non_null(strstr(r.body, "supplier_email"));
        h_resp_free(&r);
        free(body);
        json_decref(o);
    }
    char *sql = xasprintf("SELECT count(*) FROM whatsapp_messages WHERE tenant_id = '%s'", t);
    char *n = h_sql(st.notif_db, sql);
    assert_string_equal(n, "0");
    free(n);
    free(sql);
}

/* A paused WhatsApp account (an account-wide refusal) holds WhatsApp messages; emails
 * go on meanwhile: here the fallback of an order whose failure Meta reports while the
 * account is paused. */
static void emails_go_on_while_whatsapp_is_paused(void **state)
{
    (void)state;
    char t[HT_ID_LEN];
    bakery("Panadería Pausa", "{\"whatsapp_enabled\": true}", t);
    const char *to = phone();
    char *faults = xasprintf("{\"not_on_whatsapp\":[\"%s\"],\"webhooks\":{\"delay_ms\":3000}}", to);
    hs_sim(&st, "/_sim/faults", faults);
    free(faults);
    char *failing = post(t, to, "correo@pausa.example", "PO-P-1");
    char *status = NULL;
    for (int i = 0; i < 100; i++) { /* accepted by Graph; its failure comes in 3 s */
        free(status);
        status = hs_column(&st, failing, "status");
        if (strcmp(status, "sent") == 0)
            break;
        usleep(20 * 1000);
    }
    assert_string_equal(status, "sent");
    free(status);
    hs_sim(&st, "/_sim/faults", "{\"account_error\":{\"code\":131042}}");
    char *held = post(t, phone(), "held@pausa.example", "PO-P-2");
    struct h_resp r = {0};
    for (int i = 0; i < 100; i++) {
        h_resp_free(&r);
        r = h_call("GET", st.notif.url, NULL, NULL, "/ready");
        if (r.status == 503)
            break;
        usleep(50 * 1000);
    }
    assert_int_equal(r.status, 503); /* paused */
    h_resp_free(&r);

    char *email = email_row_of(failing);
    assert_string_equal(email, "sent fallback correo@pausa.example");
    r = h_call("GET", st.notif.url, NULL, NULL, "/ready");
    assert_int_equal(r.status, 503); /* still paused: the email went meanwhile */
    h_resp_free(&r);
    char *wa = hs_column(&st, held, "status");
    assert_string_equal(wa, "queued");

    hs_sim(&st, "/_sim/faults",
           "{\"account_error\":null,\"not_on_whatsapp\":[],"
           "\"webhooks\":{\"delay_ms\":0}}");
    r = h_call("POST", st.notif.url, ht_admin(), "{}", "/api/v1/admin/whatsapp/resume");
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(wa);
    free(email);
    free(held);
    free(failing);
}

/* ---------- the stack ---------- */

static int setup(void **state)
{
    (void)state;
    /* The server offers STARTTLS with a certificate of its own and requires it, then
     * AUTH: the service must upgrade, check the certificate against SMTP_CA_FILE and log
     * in, or nothing arrives. */
    static char smtp_url[96], ca[300];
    static const char *args[] = {"--cert",     cert,         "--key",       key, "--user",
                                 "plataforma", "--password", "s3cret-smtp", NULL};
    snprintf(mail_dir, sizeof mail_dir, ".run/test-mail-%ld", (long)getpid());
    snprintf(cert, sizeof cert, "%s.crt", mail_dir);
    snprintf(key, sizeof key, "%s.key", mail_dir);
    char *cmd = xasprintf("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
                          "-addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s 2>/dev/null",
                          key, cert);
    int made = system(cmd);
    free(cmd);
    if (made != 0 || !hs_start_smtp(&smtp, 0, mail_dir, args))
        return -1;
    snprintf(smtp_url, sizeof smtp_url, "SMTP_URL=%s", smtp.url);
    snprintf(ca, sizeof ca, "SMTP_CA_FILE=%s", cert);
    static const char *notif[] = {NULL,
                                  NULL,
                                  "SMTP_USERNAME=plataforma",
                                  "SMTP_PASSWORD=s3cret-smtp",
                                  "SMTP_FROM=pedidos@plataforma.example",
                                  "WHATSAPP_MAX_ATTEMPTS=3",
                                  "WHATSAPP_RETRY_BASE_MS=50",
                                  "WHATSAPP_RETRY_MAX_MS=200",
                                  NULL};
    notif[0] = smtp_url;
    notif[1] = ca;
    char name[48];
    snprintf(name, sizeof name, "email_%ld", (long)getpid());
    if (!hs_start(&st, name, notif, NULL))
        return -1;
    char *hook = xasprintf("{\"webhook_url\":\"%s/api/v1/whatsapp/webhook\","
                           "\"status_delay_ms\":50}",
                           st.notif.url);
    hs_sim(&st, "/_sim/settings", hook);
    free(hook);
    return 0;
}

/* The mails the sink wrote, its directory and its certificate: nothing of a run stays. */
static void remove_mail_files(void)
{
    DIR *d = opendir(mail_dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", mail_dir, e->d_name);
        if (e->d_name[0] != '.')
            unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(mail_dir);
    unlink(cert);
    unlink(key);
}

static int teardown(void **state)
{
    (void)state;
    int rc = hs_stop(&st) != 0 ? -1 : 0;
    h_stop(&smtp);
    remove_mail_files();
    h_drop_database(st.tenant_db);
    h_drop_database(st.notif_db);
    return rc;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_failed_whatsapp_message_falls_back_to_one_email),
        cmocka_unit_test(a_basic_plan_gets_email_only),
        cmocka_unit_test(both_channels_send_both),
        cmocka_unit_test(whatsapp_off_sends_the_email),
        cmocka_unit_test(email_only_channels_send_no_whatsapp),
        cmocka_unit_test(the_switch_moves_the_channels),
        cmocka_unit_test(refusals_fail_the_email_and_say_why),
        cmocka_unit_test(a_bad_address_is_refused_at_intake),
        cmocka_unit_test(a_mail_server_down_loses_nothing),
        cmocka_unit_test(emails_go_on_while_whatsapp_is_paused),
    };
    if (!h_pg_start())
        return 1;
    return cmocka_run_group_tests(tests, setup, teardown);
}
