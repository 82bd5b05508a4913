/* reply.c - replies and checks every tenant-service handler shares. */
#include "handlers.h"

#include "config.h"

bool tenant_id_param(struct http_request *req, char out[UUID_STR_LEN])
{
    if (uuid_is_valid(http_param(req, "id"), out))
        return true;
    http_reply_error(req, 404, "tenant_not_found", "No tenant with this id");
    return false;
}

bool tenant_exists_or_reply(struct http_request *req, const char *id)
{
    json_t *tenant = NULL;
    enum store_status st = store_tenant_get(id, &tenant);
    json_decref(tenant);
    if (st != STORE_OK)
        reply_store_failure(req, st);
    return st == STORE_OK;
}

void reply_store_failure(struct http_request *req, enum store_status st)
{
    switch (st) {
    case STORE_NOT_FOUND:
        http_reply_error(req, 404, "tenant_not_found", "No tenant with this id");
        return;
    case STORE_UNAVAILABLE:
        http_reply_error(req, 503, "database_unavailable",
                         "The tenant database is unavailable; try again shortly");
        return;
    case STORE_CONFLICT:
        http_reply_error(req, 409, "conflict", "The change conflicts with another one");
        return;
    case STORE_OK:
    case STORE_ERROR:
        break;
    }
    http_reply_error(req, 500, "internal_error", "Internal error (request id %s)",
                     http_request_id(req));
}

void reply_upstream_failure(struct http_request *req, enum notif_status st,
                            const struct notif_result *r)
{
    if (st == NOTIF_UNREACHABLE)
        http_reply_error(req, 503, "upstream_unavailable",
                         "%s: start notification-service or check NOTIFICATION_SERVICE_URL",
                         r->error);
    else if (r->http_status == 503)
        http_reply_error(req, 503, "upstream_unavailable", "%s", r->error);
    else
        http_reply_error(req, 502, "upstream_error", "%s", r->error);
}

void reply_store_result(struct http_request *req, enum store_status st, json_t *doc)
{
    if (st != STORE_OK) {
        json_decref(doc);
        reply_store_failure(req, st);
        return;
    }
    http_reply_json(req, 200, doc);
}

void reply_tenant_document(struct http_request *req,
                           enum store_status (*fetch)(const char *tenant_id, json_t **out))
{
    char id[UUID_STR_LEN];
    json_t *doc = NULL;

    if (!tenant_id_param(req, id))
        return;
    if (!auth_can_read_tenant(http_principal(req), id)) {
        http_reply_error(req, 403, "forbidden", "You may only read your own tenant's data");
        return;
    }
    enum store_status st = fetch(id, &doc);
    reply_store_result(req, st, doc);
}

void reply_notif_read(struct http_request *req, enum notif_status st, struct notif_result *r)
{
    if (st != NOTIF_OK) {
        reply_upstream_failure(req, st, r);
    } else {
        http_reply_json(req, 200, r->json);
        r->json = NULL;
    }
    notif_result_free(r);
}

bool query_count_or_reply(struct http_request *req, const char *name, long max, long *out)
{
    const char *s = http_query(req, name);
    if (!s || cfg_parse_long(s, 1, max, out))
        return true;
    http_reply_field_error(req, 422, "validation_error", name,
                           "%s must be an integer from 1 to %ld", name, max);
    return false;
}
