/* tenants.c - the bakeries themselves: create (platform admin), list (platform admin),
 * read (platform admin, services, the tenant's own users). */
#include <ctype.h>
#include <string.h>

#include "alloc.h"
#include "app.h"
#include "handlers.h"
#include "jsonutil.h"
#include "log.h"

#define TENANT_NAME_MAX 200 /* characters; the tenants table checks the same */

/* A copy of s without leading and trailing white space; the caller frees it. */
static char *trimmed(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    return xstrndup(s, n);
}

void handle_tenant_create(struct http_request *req)
{
    static const struct json_field fields[] = {{"name", JK_STRING, true, 0}};
    json_t *body = NULL;
    json_t *tenant = NULL;
    char *name = NULL;
    const char *field, *problem;

    body = http_body_object(req);
    if (!body)
        goto out;
    if (!json_check_object(body, fields, 1, false, &field, &problem)) {
        http_reply_field_error(req, 422, "validation_error", field, "%s %s", field, problem);
        goto out;
    }
    name = trimmed(json_str(body, "name"));
    problem = name[0] ? name_problem(name, TENANT_NAME_MAX) : "must not be empty";
    if (problem) {
        http_reply_field_error(req, 422, "validation_error", "name", "name %s (1 to %d characters)",
                               problem, TENANT_NAME_MAX);
        goto out;
    }
    const struct tenant_app *app = http_app(req);
    enum store_status st = store_tenant_create(name, app->cfg.plan_default, &tenant);
    if (st != STORE_OK) {
        reply_store_failure(req, st);
        goto out;
    }
    const char *id = json_str(tenant, "id");
    char *location = xasprintf("/api/v1/tenants/%s", id ? id : "");
    http_add_header(req, "Location", location);
    free(location);
    log_info("tenant created\ttenant=%s actor=\"%s\"", id ? id : "", http_principal(req)->sub);
    http_reply_json(req, 201, tenant);
    tenant = NULL;
out:
    json_decref(tenant);
    json_decref(body);
    free(name);
}

void handle_tenant_list(struct http_request *req)
{
    json_t *list = NULL;
    enum store_status st = store_tenant_list(&list);
    reply_store_result(req, st, list);
}

void handle_tenant_get(struct http_request *req)
{
    reply_tenant_document(req, store_tenant_get);
}
