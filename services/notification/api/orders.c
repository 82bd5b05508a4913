/* orders.c - a purchase order's whole story (issue 21): GET
 * /api/v1/notifications/purchase-orders/{event_id} answers every message of one order
 * (the event's own, its email and fallback, its resends) with one delivery state for the
 * order; GET /api/v1/notifications/purchase-orders lists a tenant's recent orders so. */
#include <string.h>

#include "config.h"
#include "api/handlers.h"
#include "api/store.h"
#include "jsonutil.h"
#include "uuidutil.h"

#define ORDERS_DEFAULT_LIMIT 20
#define ORDERS_MAX_LIMIT 100

/* How far a message got, for the order's state: an accepted message outranks one on
 * its way, which outranks every end short of the supplier (0). */
static int progress(const char *status)
{
    static const char *const order[] = {"queued", "sending", "sent", "delivered", "read"};
    for (int i = 0; status && i < 5; i++)
        if (strcmp(status, order[i]) == 0)
            return i + 1;
    return 0;
}

/* The order of rows (oldest first, store_order_rows()' shape) as one document: the
 * event's fields, the order's status (the furthest a message got: read, delivered,
 * sent, else sending or queued while one is on its way, else the newest message's
 * failed, skipped or canceled, with its reason) and the messages. A new object. */
static json_t *order_document(const char *tenant_id, const char *event_id, const json_t *rows)
{
    static const char *const event_keys[] = {"po_number",      "supplier_name", "supplier_phone",
                                             "supplier_email", "total_amount",  "currency"};
    const json_t *payload = NULL, *event_msg = NULL, *best = NULL, *last = NULL;
    json_t *messages = json_array();
    size_t i;
    const json_t *row;

    json_array_foreach (rows, i, row) {
        const json_t *msg = json_object_get(row, "message");
        if (json_is_true(json_object_get(row, "event"))) {
            payload = json_object_get(row, "payload");
            event_msg = msg;
        }
        int p = progress(json_str(msg, "status"));
        if (p > 0 && (!best || p > progress(json_str(best, "status"))))
            best = msg;
        last = msg;
        json_array_append(messages, (json_t *)msg);
    }
    const json_t *decides = best ? best : last;
    json_t *doc = json_pack("{s:s, s:s}", "event_id", event_id, "tenant_id", tenant_id);
    for (i = 0; i < sizeof event_keys / sizeof event_keys[0]; i++) {
        const json_t *v = json_object_get(payload, event_keys[i]);
        json_object_set_new(doc, event_keys[i], v ? json_deep_copy(v) : json_null());
    }
    const json_t *first = json_object_get(json_array_get(rows, 0), "message");
    const json_t *created = json_object_get(event_msg ? event_msg : first, "created_at");
    json_object_set_new(doc, "created_at", created ? json_deep_copy(created) : json_null());
    json_object_set_new(doc, "status", json_deep_copy(json_object_get(decides, "status")));
    static const char *const reason_keys[] = {"skip_reason", "error_code", "error_message"};
    for (i = 0; i < 3; i++) {
        const json_t *v = best ? NULL : json_object_get(decides, reason_keys[i]);
        json_object_set_new(doc, reason_keys[i], v ? json_deep_copy(v) : json_null());
    }
    json_object_set_new(doc, "messages", messages);
    return doc;
}

/* The tenant an order route reads: a user's own, else the tenant_id every other caller
 * must name (event ids are unique per tenant only). Answers and returns false when not. */
static bool order_tenant(struct http_request *req, char out[UUID_STR_LEN], const char **tenant)
{
    if (!scope_tenant(req, http_query(req, "tenant_id"), out, tenant))
        return false;
    if (!*tenant) {
        http_reply_field_error(req, 422, "validation_error", "tenant_id",
                               "tenant_id is required: event ids are unique per tenant only");
        return false;
    }
    return true;
}

void handle_order_get(struct http_request *req)
{
    char event_id[UUID_STR_LEN], tenant_buf[UUID_STR_LEN];
    const char *tenant;
    json_t *rows = NULL;

    /* An event id that is not a UUID names no order: 404, like an unknown one. */
    if (!uuid_is_valid(http_param(req, "event_id"), event_id)) {
        http_reply_error(req, 404, "not_found", "No such purchase order");
        return;
    }
    if (!order_tenant(req, tenant_buf, &tenant))
        return;
    enum db_status st = store_order_rows(tenant, event_id, &rows);
    if (st != DB_OK)
        reply_db_failure(req, st, "Reading the order");
    else if (json_array_size(rows) == 0)
        http_reply_error(req, 404, "not_found", "No purchase order %s for tenant %s", event_id,
                         tenant);
    else
        http_reply_json(req, 200, order_document(tenant, event_id, rows));
    json_decref(rows);
}

void handle_orders_list(struct http_request *req)
{
    char tenant_buf[UUID_STR_LEN];
    const char *tenant;
    long limit = ORDERS_DEFAULT_LIMIT;
    json_t *rows = NULL, *orders = NULL, *group = NULL;

    if (!order_tenant(req, tenant_buf, &tenant))
        return;
    const char *s = http_query(req, "limit");
    if (s && !cfg_parse_long(s, 1, ORDERS_MAX_LIMIT, &limit)) {
        http_reply_field_error(req, 422, "validation_error", "limit",
                               "limit must be an integer from 1 to %d", ORDERS_MAX_LIMIT);
        return;
    }
    enum db_status st = store_order_recent(tenant, limit, &rows);
    if (st != DB_OK) {
        reply_db_failure(req, st, "Reading the orders");
        goto out;
    }
    /* Rows come grouped by order, newest order first. */
    orders = json_array();
    const char *current = NULL;
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        const char *event_id = json_str(row, "event_id");
        if (!event_id)
            continue;
        if (current && strcmp(current, event_id) != 0) {
            json_array_append_new(orders, order_document(tenant, current, group));
            json_decref(group);
            group = NULL;
        }
        if (!group)
            group = json_array();
        json_array_append(group, row);
        current = event_id;
    }
    if (group)
        json_array_append_new(orders, order_document(tenant, current, group));
    http_reply_json(
        req, 200,
        json_pack("{s:O, s:I}", "orders", orders, "count", (json_int_t)json_array_size(orders)));
out:
    json_decref(group);
    json_decref(orders);
    json_decref(rows);
}
