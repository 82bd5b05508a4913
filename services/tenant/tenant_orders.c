/* tenant_orders.c - a bakery's recent purchase orders and how each reached its supplier,
 * for the owner's card (issue 21), from notification-service, which owns the messages:
 * GET /api/v1/tenants/{id}/orders lists them, POST .../messages/{message_id}/resend sends
 * one again, maybe to a corrected phone or email. */
#include "handlers.h"
#include "log.h"

#define ORDERS_DEFAULT_LIMIT 10
#define ORDERS_MAX_LIMIT 100

/* The tenant of {id}, if the caller may act on it (write: the owner's or admin's right).
 * Answers and returns false when not. */
static bool tenant_allowed(struct http_request *req, bool write, char id[UUID_STR_LEN])
{
    const struct auth_principal *p = http_principal(req);

    if (!tenant_id_param(req, id))
        return false;
    if (write ? !auth_can_write_tenant(p, id) : !auth_can_read_tenant(p, id)) {
        http_reply_error(req, 403, "forbidden",
                         write ? "Only the bakery's owner or admin may resend its orders"
                               : "You may only read your own tenant's data");
        return false;
    }
    return true;
}

/* GET /api/v1/tenants/{id}/orders?limit=: {orders, count}, newest first. */
void handle_tenant_orders(struct http_request *req)
{
    char id[UUID_STR_LEN];
    long limit = ORDERS_DEFAULT_LIMIT;
    struct notif_result r = {0};

    if (!tenant_allowed(req, false, id) ||
        !query_count_or_reply(req, "limit", ORDERS_MAX_LIMIT, &limit) ||
        !tenant_exists_or_reply(req, id))
        return;
    reply_notif_read(req, notif_orders(id, limit, &r), &r);
}

/* POST /api/v1/tenants/{id}/messages/{message_id}/resend: notification-service's answer
 * as it is (202 new, 200 replay, 404 not this bakery's message, 409, 422 with field). */
void handle_tenant_message_resend(struct http_request *req)
{
    char id[UUID_STR_LEN], message_id[UUID_STR_LEN];
    struct notif_result r = {0};
    json_t *body = NULL;

    if (!tenant_allowed(req, true, id))
        return;
    if (!uuid_is_valid(http_param(req, "message_id"), message_id)) {
        http_reply_error(req, 404, "not_found", "No such message");
        return;
    }
    body = http_body_object(req);
    if (!body || !tenant_exists_or_reply(req, id))
        goto out;
    enum notif_status ns = notif_resend(id, message_id, body, &r);
    if (ns != NOTIF_OK) {
        reply_upstream_failure(req, ns, &r);
        goto out;
    }
    if (r.http_status == 200 || r.http_status == 202)
        log_info("resend asked\ttenant=%s message_id=%s new_message_id=%s actor=\"%s\"", id,
                 message_id, json_string_value(json_object_get(r.json, "message_id")),
                 http_principal(req)->sub);
    http_reply_json(req, (unsigned)r.http_status, r.json);
    r.json = NULL;
out:
    notif_result_free(&r);
    json_decref(body);
}
