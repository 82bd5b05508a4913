/* test_authz_matrix.c - DESIGN.md section 4 as a table: every route of both services
 * (against the real tenant-service and notification-service, graph-sim behind) times ten
 * callers: no token, garbage, an expired token, an "alg": "none" token, a token signed
 * with another secret, the platform admin, the owner of tenant A, the owner of tenant B,
 * a member of tenant A and a service. Each cell names the status expected (and the
 * error code of each refusal). Then the webhook: a missing or bad signature is refused
 * when the app secret is set, whatever bearer token comes along; the verification GET
 * never needs a token. A case fails when a route exists that the table does not cover. */
#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "alloc.h"
#include "auth.h"
#include "harness.h"
#include "harness_raw.h"
#include "harness_stack.h"
#include "harness_tenant.h"
#include "hmac.h"
#include "uuidutil.h"

#define HOOK "/api/v1/whatsapp/webhook"
#define VERIFY_QUERY "?hub.mode=subscribe&hub.verify_token=" HS_VERIFY_TOKEN "&hub.challenge=42"

enum caller {
    NONE,
    GARBAGE,
    EXPIRED,
    ALG_NONE,
    WRONG_SECRET,
    ADMIN,
    OWNER_A,
    OWNER_B,
    MEMBER_A,
    SERVICE,
    NCALLERS
};
static const char *const caller_names[NCALLERS] = {
    "no token", "garbage", "expired", "alg none", "wrong secret",
    "admin",    "owner A", "owner B", "member A", "service",
};
/* The 401 every authenticated route gives the first five callers, by error code. */
static const char *const refusal_codes[5] = {"unauthorized", "invalid_token", "token_expired",
                                             "invalid_token", "invalid_token"};

enum svc { TS, NS };
enum body {
    NO_BODY,
    TENANT_BODY,
    SETTINGS_BODY,
    ASSIGN_BODY,
    PO_BODY,
    MESSAGE_BODY,
    HOOK_BODY,
    RESUME_BODY,
    SYNC_BODY,
    PLAN_BODY,
    RATE_CARD_BODY,
    QUOTA_EVENT_BODY,
    ACCOUNT_EVENT_BODY,
    RESEND_BODY,
    LINK_BODY,
    TEST_MESSAGE_BODY,
    EMPTY_BODY
};

struct row {
    enum svc svc;
    const char *method;
    const char *pattern; /* as in routes.c */
    const char *path;    /* {A}: tenant A, {M}: a final message of tenant A, {E}: its event,
                            {Q}: a queued message of tenant A, {T}: a test message of A */
    enum body body;
    long want[NCALLERS];
};

#define PUBLIC(s)                                                                                  \
    {                                                                                              \
        s, s, s, s, s, s, s, s, s, s                                                               \
    }
#define AUTH(admin, owner_a, owner_b, member_a, service)                                           \
    {                                                                                              \
        401, 401, 401, 401, 401, admin, owner_a, owner_b, member_a, service                        \
    }
#define ADMIN_ONLY(ok) AUTH(ok, 403, 403, 403, 403)
#define SERVICE_OR_ADMIN(ok) AUTH(ok, 403, 403, 403, ok)

static const struct row rows[] = {
    {TS, "GET", "/health", "/health", NO_BODY, PUBLIC(200)},
    {TS, "GET", "/ready", "/ready", NO_BODY, PUBLIC(200)},
    {TS, "GET", "/metrics", "/metrics", NO_BODY, PUBLIC(200)},
    {TS, "GET", "/api/v1/openapi.json", "/api/v1/openapi.json", NO_BODY, PUBLIC(200)},
    {TS, "POST", "/api/v1/tenants", "/api/v1/tenants", TENANT_BODY, ADMIN_ONLY(201)},
    {TS, "GET", "/api/v1/tenants", "/api/v1/tenants", NO_BODY, ADMIN_ONLY(200)},
    {TS, "GET", "/api/v1/tenants/{id}", "/api/v1/tenants/{A}", NO_BODY,
     AUTH(200, 200, 403, 200, 200)},
    {TS, "GET", "/api/v1/tenants/{id}/settings/notifications",
     "/api/v1/tenants/{A}/settings/notifications", NO_BODY, AUTH(200, 200, 403, 200, 200)},
    {TS, "PUT", "/api/v1/tenants/{id}/settings/notifications",
     "/api/v1/tenants/{A}/settings/notifications", SETTINGS_BODY, AUTH(200, 200, 403, 403, 403)},
    {TS, "GET", "/api/v1/tenants/{id}/whatsapp/sender", "/api/v1/tenants/{A}/whatsapp/sender",
     NO_BODY, AUTH(200, 200, 403, 200, 200)},
    {TS, "GET", "/api/v1/tenants/{id}/whatsapp/languages", "/api/v1/tenants/{A}/whatsapp/languages",
     NO_BODY, AUTH(200, 200, 403, 200, 200)},
    /* the platform's support contact: every signed-in caller, not tenant-scoped */
    {TS, "GET", "/api/v1/support-contact", "/api/v1/support-contact", NO_BODY,
     AUTH(200, 200, 200, 200, 200)},
    {TS, "GET", "/api/v1/internal/settings-changes", "/api/v1/internal/settings-changes", NO_BODY,
     SERVICE_OR_ADMIN(200)},
    {TS, "GET", "/api/v1/admin/whatsapp/phone-numbers", "/api/v1/admin/whatsapp/phone-numbers",
     NO_BODY, ADMIN_ONLY(200)},
    {TS, "GET", "/api/v1/admin/whatsapp/health", "/api/v1/admin/whatsapp/health", NO_BODY,
     ADMIN_ONLY(200)},
    {TS, "GET", "/api/v1/admin/whatsapp/templates", "/api/v1/admin/whatsapp/templates", NO_BODY,
     ADMIN_ONLY(200)},
    {TS, "POST", "/api/v1/admin/whatsapp/templates/sync", "/api/v1/admin/whatsapp/templates/sync",
     SYNC_BODY, ADMIN_ONLY(200)},
    {TS, "GET", "/api/v1/admin/whatsapp/tenants", "/api/v1/admin/whatsapp/tenants", NO_BODY,
     ADMIN_ONLY(200)},
    {TS, "POST", "/api/v1/admin/whatsapp/tenants/{id}/assign-phone",
     "/api/v1/admin/whatsapp/tenants/{A}/assign-phone", ASSIGN_BODY, ADMIN_ONLY(200)},
    {TS, "DELETE", "/api/v1/admin/whatsapp/tenants/{id}/unassign-phone",
     "/api/v1/admin/whatsapp/tenants/{A}/unassign-phone", NO_BODY, ADMIN_ONLY(200)},
    {TS, "GET", "/api/v1/admin/whatsapp/tenants/{id}/diagnostics",
     "/api/v1/admin/whatsapp/tenants/{A}/diagnostics", NO_BODY, ADMIN_ONLY(200)},
    {TS, "GET", "/api/v1/admin/whatsapp/audit-log", "/api/v1/admin/whatsapp/audit-log", NO_BODY,
     ADMIN_ONLY(200)},
    /* a bakery's details in the console (issue 22): the platform admin's only */
    {TS, "GET", "/api/v1/admin/whatsapp/tenants/{id}/activity",
     "/api/v1/admin/whatsapp/tenants/{A}/activity", NO_BODY, ADMIN_ONLY(200)},
    {TS, "POST", "/api/v1/admin/whatsapp/tenants/{id}/test-message",
     "/api/v1/admin/whatsapp/tenants/{A}/test-message", TEST_MESSAGE_BODY, ADMIN_ONLY(202)},
    {TS, "GET", "/api/v1/admin/whatsapp/tenants/{id}/test-message/{message_id}",
     "/api/v1/admin/whatsapp/tenants/{A}/test-message/{T}", NO_BODY, ADMIN_ONLY(200)},
    /* WhatsApp plans (issue 20): the tenant's users read theirs, the admin changes it */
    {TS, "GET", "/api/v1/tenants/{id}/plan", "/api/v1/tenants/{A}/plan", NO_BODY,
     AUTH(200, 200, 403, 200, 200)},
    {TS, "GET", "/api/v1/admin/tenants/{id}/plan", "/api/v1/admin/tenants/{A}/plan", NO_BODY,
     ADMIN_ONLY(200)},
    {TS, "PUT", "/api/v1/admin/tenants/{id}/plan", "/api/v1/admin/tenants/{A}/plan", PLAN_BODY,
     ADMIN_ONLY(200)},
    /* notification-service's quota crossings: services only, not even the admin */
    {TS, "POST", "/api/v1/internal/tenants/{id}/quota-events",
     "/api/v1/internal/tenants/{A}/quota-events", QUOTA_EVENT_BODY, AUTH(403, 403, 403, 403, 200)},
    /* notification-service's changes of the WhatsApp account: services only */
    {TS, "POST", "/api/v1/internal/whatsapp/account-events",
     "/api/v1/internal/whatsapp/account-events", ACCOUNT_EVENT_BODY, AUTH(403, 403, 403, 403, 201)},
    /* the bakery's orders (issue 21): its users read them, its owner or admin resends */
    {TS, "GET", "/api/v1/tenants/{id}/orders", "/api/v1/tenants/{A}/orders", NO_BODY,
     AUTH(200, 200, 403, 200, 200)},
    {TS, "POST", "/api/v1/tenants/{id}/messages/{message_id}/resend",
     "/api/v1/tenants/{A}/messages/{M}/resend", RESEND_BODY, AUTH(202, 202, 403, 403, 403)},
    /* the pages' sign-in (issue 22): links by the platform only; a bearer token becomes
     * a session (the route is public: a sign-in code needs no token, so the handler
     * refuses bad tokens itself, with the same codes), not a service's; the live stream
     * wants Accept: text/event-stream (406 after the checks of who may have it) */
    {TS, "POST", "/api/v1/auth/links", "/api/v1/auth/links", LINK_BODY, SERVICE_OR_ADMIN(201)},
    {TS, "POST", "/api/v1/auth/sessions", "/api/v1/auth/sessions", EMPTY_BODY,
     AUTH(201, 201, 201, 201, 403)},
    {TS, "GET", "/api/v1/auth/session", "/api/v1/auth/session", NO_BODY,
     AUTH(200, 200, 200, 200, 200)},
    {TS, "DELETE", "/api/v1/auth/session", "/api/v1/auth/session", NO_BODY,
     AUTH(200, 200, 200, 200, 200)},
    {TS, "GET", "/api/v1/events", "/api/v1/events", NO_BODY, AUTH(406, 406, 406, 406, 403)},
    {TS, "GET", "/app/*", "/app/admin/whatsapp", NO_BODY, PUBLIC(200)},

    {NS, "GET", "/health", "/health", NO_BODY, PUBLIC(200)},
    {NS, "GET", "/ready", "/ready", NO_BODY, PUBLIC(200)},
    {NS, "GET", "/metrics", "/metrics", NO_BODY, PUBLIC(200)},
    {NS, "GET", "/api/v1/openapi.json", "/api/v1/openapi.json", NO_BODY, PUBLIC(200)},
    {NS, "POST", "/api/v1/notifications/purchase-orders", "/api/v1/notifications/purchase-orders",
     PO_BODY, SERVICE_OR_ADMIN(202)},
    {NS, "POST", "/api/v1/whatsapp/messages", "/api/v1/whatsapp/messages", MESSAGE_BODY,
     SERVICE_OR_ADMIN(202)},
    {NS, "GET", "/api/v1/whatsapp/messages", "/api/v1/whatsapp/messages", NO_BODY,
     AUTH(200, 200, 200, 200, 200)},
    /* Another tenant's message is not found rather than forbidden: ids do not leak. */
    {NS, "GET", "/api/v1/whatsapp/messages/{id}", "/api/v1/whatsapp/messages/{M}", NO_BODY,
     AUTH(200, 200, 404, 200, 200)},
    /* an order's story (issue 21): another bakery's owner naming A is refused, as when
     * listing messages; resend and cancel: not its plain members, and another bakery does
     * not find the message. The second cancel of {Q} is 200 (idempotent). */
    {NS, "GET", "/api/v1/notifications/purchase-orders",
     "/api/v1/notifications/purchase-orders?tenant_id={A}", NO_BODY, AUTH(200, 200, 403, 200, 200)},
    {NS, "GET", "/api/v1/notifications/purchase-orders/{event_id}",
     "/api/v1/notifications/purchase-orders/{E}?tenant_id={A}", NO_BODY,
     AUTH(200, 200, 403, 200, 200)},
    {NS, "POST", "/api/v1/whatsapp/messages/{id}/resend", "/api/v1/whatsapp/messages/{M}/resend",
     RESEND_BODY, AUTH(202, 202, 404, 403, 202)},
    {NS, "POST", "/api/v1/whatsapp/messages/{id}/cancel", "/api/v1/whatsapp/messages/{Q}/cancel",
     NO_BODY, AUTH(200, 200, 404, 403, 200)},
    {NS, "GET", HOOK, HOOK VERIFY_QUERY, NO_BODY, PUBLIC(200)},
    {NS, "POST", HOOK, HOOK, HOOK_BODY, PUBLIC(200)},
    {NS, "GET", "/api/v1/whatsapp/phone-numbers", "/api/v1/whatsapp/phone-numbers", NO_BODY,
     SERVICE_OR_ADMIN(200)},
    {NS, "GET", "/api/v1/whatsapp/templates", "/api/v1/whatsapp/templates", NO_BODY,
     SERVICE_OR_ADMIN(200)},
    {NS, "GET", "/api/v1/whatsapp/config-status", "/api/v1/whatsapp/config-status", NO_BODY,
     SERVICE_OR_ADMIN(200)},
    {NS, "GET", "/api/v1/whatsapp/templates/report", "/api/v1/whatsapp/templates/report", NO_BODY,
     SERVICE_OR_ADMIN(200)},
    {NS, "POST", "/api/v1/whatsapp/templates/sync", "/api/v1/whatsapp/templates/sync", SYNC_BODY,
     SERVICE_OR_ADMIN(200)},
    {NS, "GET", "/api/v1/whatsapp/health", "/api/v1/whatsapp/health", NO_BODY,
     SERVICE_OR_ADMIN(200)},
    {NS, "GET", "/api/v1/whatsapp/quota-usage", "/api/v1/whatsapp/quota-usage?tenant_id={A}",
     NO_BODY, SERVICE_OR_ADMIN(200)},
    {NS, "GET", "/api/v1/whatsapp/activity", "/api/v1/whatsapp/activity?tenant_id={A}", NO_BODY,
     SERVICE_OR_ADMIN(200)},
    {NS, "POST", "/api/v1/admin/whatsapp/resume", "/api/v1/admin/whatsapp/resume", RESUME_BODY,
     ADMIN_ONLY(200)},
    {NS, "GET", "/api/v1/admin/whatsapp/account-events", "/api/v1/admin/whatsapp/account-events",
     NO_BODY, ADMIN_ONLY(200)},
    {NS, "GET", "/api/v1/admin/whatsapp/usage", "/api/v1/admin/whatsapp/usage?month=2026-11",
     NO_BODY, ADMIN_ONLY(200)},
    {NS, "GET", "/api/v1/admin/whatsapp/rate-card", "/api/v1/admin/whatsapp/rate-card", NO_BODY,
     ADMIN_ONLY(200)},
    {NS, "PUT", "/api/v1/admin/whatsapp/rate-card", "/api/v1/admin/whatsapp/rate-card",
     RATE_CARD_BODY, ADMIN_ONLY(200)},
};
#define NROWS (sizeof rows / sizeof rows[0])

static struct {
    struct h_stack s;
    char a[UUID_STR_LEN], b[UUID_STR_LEN];
    char message_a[UUID_STR_LEN];
    char event_a[UUID_STR_LEN];
    char queued_a[UUID_STR_LEN];
    char test_a[UUID_STR_LEN];
    char *tokens[NCALLERS]; /* NULL: no Authorization header */
    int counter;
} w;

/* ---------- tokens ---------- */

static char *b64url(const void *in, size_t len)
{
    char *out = xmalloc(4 * ((len + 2) / 3) + 1);
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (char *c = out; *c; c++)
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    return out;
}

/* An unsigned token claiming to be the platform admin, valid for an hour. */
static char *alg_none_token(void)
{
    static const char header[] = "{\"alg\":\"none\",\"typ\":\"JWT\"}";
    char *payload = xasprintf("{\"sub\":\"platform-admin\",\"role\":\"admin\",\"exp\":%ld}",
                              (long)time(NULL) + 3600);
    char *h = b64url(header, strlen(header));
    char *p = b64url(payload, strlen(payload));
    char *token = xasprintf("%s.%s.", h, p);
    free(h);
    free(p);
    free(payload);
    return token;
}

static char *foreign_token(void)
{
    struct auth_principal p = {.role = AUTH_ROLE_ADMIN};
    snprintf(p.sub, sizeof p.sub, "platform-admin");
    return auth_mint(&(struct auth_policy){.secret = "another-secret-entirely-0123456789"}, &p,
                     3600);
}

/* ---------- requests ---------- */

static unsigned port_of(enum svc svc)
{
    return svc == TS ? w.s.ts.port : w.s.notif.port;
}

static char *fill(const char *tpl)
{
    struct buf b = {0};
    for (const char *p = tpl; *p;) {
        if (strncmp(p, "{A}", 3) == 0) {
            buf_append_str(&b, w.a);
            p += 3;
        } else if (strncmp(p, "{M}", 3) == 0) {
            buf_append_str(&b, w.message_a);
            p += 3;
        } else if (strncmp(p, "{E}", 3) == 0) {
            buf_append_str(&b, w.event_a);
            p += 3;
        } else if (strncmp(p, "{Q}", 3) == 0) {
            buf_append_str(&b, w.queued_a);
            p += 3;
        } else if (strncmp(p, "{T}", 3) == 0) {
            buf_append_str(&b, w.test_a);
            p += 3;
        } else {
            buf_append(&b, p++, 1);
        }
    }
    return buf_steal(&b);
}

/* A fresh valid body of kind (new ids each time, so every allowed call succeeds). */
static char *make_body(enum body kind)
{
    char id[UUID_STR_LEN];
    uuid_new(id);
    switch (kind) {
    case NO_BODY:
        return NULL;
    case TENANT_BODY:
        return xasprintf("{\"name\": \"Matrix bakery %d\"}", ++w.counter);
    case SETTINGS_BODY:
        return xstrdup("{\"whatsapp_default_language\": \"eu\"}");
    case RESUME_BODY:
        return xstrdup("{\"note\": \"authz matrix\"}");
    case SYNC_BODY: /* es exists: nothing is created */
        return xstrdup("{\"languages\": [\"es\"]}");
    case PLAN_BODY: /* the plan the tenant has: nothing changes */
        return xstrdup("{\"plan\": \"standard\"}");
    case QUOTA_EVENT_BODY:
        return xstrdup("{\"event\": \"quota_warning\", \"used\": 4, \"quota\": 5, "
                       "\"month\": \"2026-12\"}");
    case ACCOUNT_EVENT_BODY:
        return xstrdup("{\"kind\": \"template_quality\", \"template\": \"po_notification\", "
                       "\"language\": \"es\", \"quality\": \"YELLOW\"}");
    case RATE_CARD_BODY:
        return xstrdup("{\"rates\": [{\"category\": \"utility\", \"country\": \"ES\", "
                       "\"price\": 0.02}]}");
    case RESEND_BODY:
        return xasprintf("{\"idempotency_key\": \"matrix-%s\"}", id);
    case LINK_BODY:
        return xasprintf("{\"role\": \"user\", \"tenant_id\": \"%s\", \"tenant_role\": "
                         "\"owner\"}",
                         w.a);
    case TEST_MESSAGE_BODY:
        return xstrdup("{\"phone\": \"+34 600 123 456\"}");
    case EMPTY_BODY:
        return xstrdup("{}");
    case ASSIGN_BODY:
        return xstrdup("{\"phone_number_id\": \"" HS_PHONE(03) "\"}");
    case PO_BODY:
        return xasprintf("{\"event_id\": \"%s\", \"tenant_id\": \"%s\", \"po_number\": \"PO-%d\", "
                         "\"supplier_name\": \"Harinas\", \"supplier_phone\": \"+34612345678\", "
                         "\"total_amount\": 10, \"currency\": \"EUR\"}",
                         id, w.a, ++w.counter);
    case MESSAGE_BODY:
        return xasprintf("{\"idempotency_key\": \"matrix-%s\", \"tenant_id\": \"%s\", \"to\": "
                         "\"+34612345678\", \"template_name\": \"po_notification\", "
                         "\"parameters\": [\"a\", \"b\", \"c\"]}",
                         id, w.a);
    case HOOK_BODY:
        return xasprintf("{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\","
                         "\"changes\":[{\"field\":\"messages\",\"value\":{\"statuses\":[{\"id\":"
                         "\"wamid.matrix-%s\",\"status\":\"sent\",\"timestamp\":\"1750263773\"}]}}"
                         "]}]}",
                         id);
    }
    return NULL;
}

/* "X-Hub-Signature-256: sha256=<hex>\r\n" of body under key. */
static char *signature_line(const char *key, const char *body)
{
    char hex[HMAC_SHA256_HEX_LEN];
    assert_int_equal(hmac_sha256_hex(key, strlen(key), body, strlen(body), hex), 0);
    return xasprintf("X-Hub-Signature-256: sha256=%s\r\n", hex);
}

/* Sends method path as caller with body (and extra header lines). */
static struct h_resp send_as(enum svc svc, const char *method, const char *path, enum caller c,
                             const char *body, const char *extra, char **head)
{
    struct buf headers = {0};
    if (w.tokens[c])
        buf_printf(&headers, "Authorization: Bearer %s\r\n", w.tokens[c]);
    if (body)
        buf_append_str(&headers, "Content-Type: application/json\r\n");
    if (extra)
        buf_append_str(&headers, extra);
    struct h_resp r = h_raw_request(port_of(svc), method, path, headers.data, body,
                                    body ? strlen(body) : 0, head);
    buf_free(&headers);
    return r;
}

/* ---------- fixtures ---------- */

static bool message_a_final(void *arg)
{
    (void)arg;
    char *sql = xasprintf("SELECT status FROM whatsapp_messages WHERE id = '%s'", w.message_a);
    char *v = h_sql(w.s.notif_db, sql);
    bool final = v && strcmp(v, "queued") != 0 && strcmp(v, "sending") != 0 && v[0];
    free(v);
    free(sql);
    return final;
}

static int setup(void **state)
{
    (void)state;
    if (!hs_start(&w.s, "authz", NULL, NULL))
        return -1;
    ht_create_tenant(&w.s.ts, "Panadería A", w.a);
    ht_create_tenant(&w.s.ts, "Panadería B", w.b);
    w.tokens[NONE] = NULL;
    w.tokens[GARBAGE] = xstrdup("garbage.not-a.token");
    w.tokens[EXPIRED] = h_token("admin", NULL, NULL, "platform-admin", -60);
    w.tokens[ALG_NONE] = alg_none_token();
    w.tokens[WRONG_SECRET] = foreign_token();
    w.tokens[ADMIN] = xstrdup(ht_admin());
    w.tokens[OWNER_A] = ht_user(w.a, "owner");
    w.tokens[OWNER_B] = ht_user(w.b, "owner");
    w.tokens[MEMBER_A] = ht_user(w.a, "member");
    w.tokens[SERVICE] = xstrdup(ht_service());
    for (int c = GARBAGE; c < NCALLERS; c++) {
        if (!w.tokens[c])
            return -1;
    }
    /* A message of tenant A to read. */
    char *body = make_body(PO_BODY);
    struct h_resp r =
        send_as(NS, "POST", "/api/v1/notifications/purchase-orders", SERVICE, body, NULL, NULL);
    free(body);
    if (r.status != 202)
        return -1;
    snprintf(w.message_a, sizeof w.message_a, "%s", ht_str(&r, "message_id"));
    h_resp_free(&r);
    char *sql =
        xasprintf("SELECT idempotency_key FROM whatsapp_messages WHERE id = '%s'", w.message_a);
    char *v = h_sql(w.s.notif_db, sql);
    free(sql);
    if (!v)
        return -1;
    snprintf(w.event_a, sizeof w.event_a, "%s", v);
    free(v);
    /* Resent, it must be final: tenant A has WhatsApp off, so it ends skipped. */
    if (!h_wait_until(message_a_final, NULL, 15000))
        return -1;
    /* A test message of A, from the console's route, to read back. */
    body = make_body(TEST_MESSAGE_BODY);
    char *path = xasprintf("/api/v1/admin/whatsapp/tenants/%s/test-message", w.a);
    r = send_as(TS, "POST", path, ADMIN, body, NULL, NULL);
    free(path);
    free(body);
    if (r.status != 202)
        return -1;
    snprintf(w.test_a, sizeof w.test_a, "%s", ht_str(&r, "message_id"));
    h_resp_free(&r);
    /* A message of A due in an hour, so it stays queued for cancel. */
    uuid_new(w.queued_a);
    sql = xasprintf("INSERT INTO whatsapp_messages (id, tenant_id, idempotency_key, kind, "
                    "request_hash, recipient_phone, template_name, template_parameters, payload, "
                    "next_attempt_at) VALUES ('%s', '%s', 'matrix-queued', 'template', 'x', "
                    "'+34612345678', 'po_notification', '[]', '{}', now() + interval '1 hour') "
                    "RETURNING id",
                    w.queued_a, w.a);
    v = h_sql(w.s.notif_db, sql);
    free(sql);
    bool inserted = v && strcmp(v, w.queued_a) == 0;
    free(v);
    return inserted ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    for (int c = 0; c < NCALLERS; c++)
        free(w.tokens[c]);
    return hs_stop(&w.s) == 0 ? 0 : -1;
}

/* ---------- cases ---------- */

static void every_route_is_in_the_matrix(void **state)
{
    (void)state;
    static const char *const services[] = {"tenant", "notification"};
    struct h_route routes[64];
    int missing = 0;
    for (int s = 0; s < 2; s++) {
        int n = h_source_routes(services[s], routes, 64);
        assert_true(n > 0);
        for (int i = 0; i < n; i++) {
            bool found = false;
            for (size_t k = 0; k < NROWS && !found; k++)
                found = (int)rows[k].svc == s && strcmp(rows[k].method, routes[i].method) == 0 &&
                        strcmp(rows[k].pattern, routes[i].pattern) == 0;
            if (!found) {
                fprintf(stderr, "not in the matrix: %s %s %s\n", services[s], routes[i].method,
                        routes[i].pattern);
                missing++;
            }
        }
    }
    assert_int_equal(missing, 0);
}

static void the_matrix(void **state)
{
    (void)state;
    int wrong = 0, cells = 0;
    for (size_t k = 0; k < NROWS; k++) {
        const struct row *row = &rows[k];
        char *path = fill(row->path);
        for (int c = 0; c < NCALLERS; c++) {
            char *body = make_body(row->body);
            char *sig = row->body == HOOK_BODY ? signature_line(HS_APP_SECRET, body) : NULL;
            char *head = NULL;
            struct h_resp r = send_as(row->svc, row->method, path, c, body, sig, &head);
            long want = row->want[c];
            bool ok = r.status == want;
            /* Refusals: the error shape, the precise code, and a challenge on a 401. */
            char www[128] = "";
            if (ok && want >= 400) {
                const char *code = json_string_value(json_object_get(r.json, "error"));
                const char *want_code = want == 401   ? refusal_codes[c]
                                        : want == 403 ? "forbidden"
                                        : want == 406 ? "not_acceptable"
                                                      : "not_found";
                ok = h_is_error_shape(&r) && code && strcmp(code, want_code) == 0;
                if (want == 401)
                    ok = ok && h_head_value(head, "WWW-Authenticate", www, sizeof www) &&
                         strncmp(www, "Bearer", 6) == 0;
            }
            if (!ok) {
                fprintf(stderr, "%s %s %s as %s: got %ld, want %ld: %.200s\n",
                        row->svc == TS ? "tenant-service" : "notification-service", row->method,
                        row->pattern, caller_names[c], r.status, want, r.body);
                wrong++;
            }
            cells++;
            h_resp_free(&r);
            free(head);
            free(sig);
            free(body);
        }
        free(path);
    }
    print_message("# %d cells, %d wrong\n", cells, wrong);
    assert_int_equal(wrong, 0);
}

/* The owner of B lists messages and sees none of A's; the member of A sees A's. */
static void listings_are_scoped_to_the_callers_tenant(void **state)
{
    (void)state;
    struct h_resp r =
        send_as(NS, "GET", "/api/v1/whatsapp/messages?limit=500", OWNER_B, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "messages")), 0);
    h_resp_free(&r);
    char *path = xasprintf("/api/v1/whatsapp/messages?tenant_id=%s", w.a);
    r = send_as(NS, "GET", path, OWNER_B, NULL, NULL, NULL);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    free(path);
    r = send_as(NS, "GET", "/api/v1/whatsapp/messages?limit=500", MEMBER_A, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    size_t i;
    json_t *m;
    assert_true(json_array_size(json_object_get(r.json, "messages")) > 0);
    json_array_foreach (json_object_get(r.json, "messages"), i, m)
        assert_string_equal(json_string_value(json_object_get(m, "tenant_id")), w.a);
    h_resp_free(&r);
}

/* A missing or wrong X-Hub-Signature-256 is refused, whoever's bearer token comes with
 * it (a token is no substitute for the signature); the right one in upper-case hex is
 * accepted. */
static void webhook_needs_its_signature(void **state)
{
    (void)state;
    char *body = make_body(HOOK_BODY);
    char *good = signature_line(HS_APP_SECRET, body);
    char *other_key = signature_line("not-the-app-secret", body);
    char *other_body = signature_line(HS_APP_SECRET, "{}");
    char *upper = xstrdup(good);
    for (char *c = strstr(upper, "=") + 1; *c && *c != '\r'; c++)
        *c = (char)(*c >= 'a' && *c <= 'f' ? *c - 'a' + 'A' : *c);
    const char *bad[] = {NULL,
                         other_key,
                         other_body,
                         "X-Hub-Signature-256: sha256=\r\n",
                         "X-Hub-Signature-256: garbage\r\n",
                         "X-Hub-Signature: sha1=0000000000000000000000000000000000000000\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int c = 0; c < NCALLERS; c++) {
            struct h_resp r = send_as(NS, "POST", HOOK, c, body, bad[i], NULL);
            if (r.status != 401)
                fprintf(stderr, "signature case %zu as %s: %ld %s\n", i, caller_names[c], r.status,
                        r.body);
            h_assert_error(&r, 401, "invalid_signature");
            h_resp_free(&r);
        }
    }
    struct h_resp r = send_as(NS, "POST", HOOK, NONE, body, upper, NULL);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(upper);
    free(other_body);
    free(other_key);
    free(good);
    free(body);
}

/* Meta's verification GET carries no bearer token: it answers on the verify token alone,
 * the same for every caller. */
static void webhook_verification_needs_no_token(void **state)
{
    (void)state;
    for (int c = 0; c < NCALLERS; c++) {
        struct h_resp r = send_as(NS, "GET", HOOK VERIFY_QUERY, c, NULL, NULL, NULL);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "42");
        h_resp_free(&r);
        r = send_as(NS, "GET", HOOK "?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=42", c,
                    NULL, NULL, NULL);
        h_assert_error(&r, 403, "forbidden");
        h_resp_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_route_is_in_the_matrix),
        cmocka_unit_test(the_matrix),
        cmocka_unit_test(listings_are_scoped_to_the_callers_tenant),
        cmocka_unit_test(webhook_needs_its_signature),
        cmocka_unit_test(webhook_verification_needs_no_token),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
