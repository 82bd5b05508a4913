/* settings.c - a tenant's notification settings: read by its users, the platform admin
 * and services; changed by its owner or admin (and the platform admin), key by key, with
 * every value validated by settings_validate.c. The phone keys belong to the admin's
 * assign-phone. The GET is settings_read.c's. */
#include "handlers.h"
#include "log.h"
#include "settings_readers.h"
#include "settings_validate.h"

void handle_settings_put(struct http_request *req)
{
    char id[UUID_STR_LEN];
    json_t *patch = NULL;
    json_t *updated = NULL;
    struct settings_problem problem;
    const struct auth_principal *who = http_principal(req);

    if (!tenant_id_param(req, id))
        goto out;
    if (!auth_can_write_tenant(who, id)) {
        http_reply_error(req, 403, "forbidden",
                         "Only the tenant's owner or admin may change its notification settings");
        goto out;
    }
    patch = http_body_object(req);
    if (!patch)
        goto out;
    if (!settings_validate_patch(patch, &problem)) {
        http_reply_field_error(req, problem.status, problem.code, problem.field, "%s",
                               problem.message);
        goto out;
    }
    enum store_status st = store_settings_merge(id, patch, &updated);
    if (st == STORE_OK) /* the next read, on any instance, must see it */
        st = settings_readers_await();
    if (st != STORE_OK) {
        reply_store_failure(req, st);
        goto out;
    }
    log_info("notification settings changed\ttenant=%s keys=%zu actor=\"%s\"", id,
             json_object_size(patch), who->sub);
    http_reply_json(req, 200, updated);
    updated = NULL;
out:
    json_decref(updated);
    json_decref(patch);
}
