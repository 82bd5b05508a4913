/* harness_tenant.c - fixtures of the tenant-service suites. */
#include "harness_tenant.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"

bool ht_start_tenant(struct h_proc *p, const char *db_url, const char *notif_url,
                     const char *static_dir, const char *const *extra_env)
{
    const char *env[16];
    size_t n = 0;
    char *db = xasprintf("TENANT_DATABASE_URL=%s", db_url);
    char *notif = xasprintf("NOTIFICATION_SERVICE_URL=%s", notif_url);
    char *dir = static_dir ? xasprintf("STATIC_DIR=%s", static_dir) : NULL;
    env[n++] = db;
    env[n++] = notif;
    env[n++] = "JWT_SECRET=" H_JWT_SECRET;
    env[n++] = "UPSTREAM_TIMEOUT_MS=3000";
    if (dir)
        env[n++] = dir;
    for (size_t i = 0; extra_env && extra_env[i] && n < 15; i++)
        env[n++] = extra_env[i];
    env[n] = NULL;
    bool ok = h_start(p, "tenant-service", "TENANT_PORT", env, "/ready");
    free(db);
    free(notif);
    free(dir);
    return ok;
}

struct h_resp ht_call(const struct h_proc *p, const char *method, const char *path,
                      const char *token, const char *body)
{
    char *url = h_url(p->url, "%s", path);
    struct h_resp r =
        body ? h_json(method, url, token, body) : h_http(method, url, token, NULL, NULL, 0);
    free(url);
    return r;
}

void ht_create_tenant(const struct h_proc *p, const char *name, char id[HT_ID_LEN])
{
    json_t *body = json_pack("{s:s}", "name", name);
    char *text = json_dumps(body, JSON_COMPACT);
    struct h_resp r = ht_call(p, "POST", "/api/v1/tenants", ht_admin(), text);
    if (r.status != 201)
        fprintf(stderr, "creating tenant %s: %ld %s\n", name, r.status, r.body);
    assert_int_equal(r.status, 201);
    snprintf(id, HT_ID_LEN, "%s", ht_str(&r, "id"));
    assert_int_equal(strlen(id), HT_ID_LEN - 1);
    h_resp_free(&r);
    free(text);
    json_decref(body);
}

const char *ht_admin(void)
{
    static char *token;
    if (!token)
        token = h_token("admin", NULL, NULL, "platform-admin", 3600);
    return token;
}

const char *ht_service(void)
{
    static char *token;
    if (!token)
        token = h_token("service", NULL, NULL, "order-service", 3600);
    return token;
}

char *ht_user(const char *tenant, const char *tenant_role)
{
    char sub[64];
    snprintf(sub, sizeof sub, "%s-of-%.8s", tenant_role, tenant);
    return h_token("user", tenant, tenant_role, sub, 3600);
}

const char *ht_str(const struct h_resp *r, const char *key)
{
    const char *s = json_string_value(json_object_get(r->json, key));
    return s ? s : "";
}

const char *ht_dead_url(void)
{
    static char url[64];
    if (!url[0])
        snprintf(url, sizeof url, "http://127.0.0.1:%u", h_free_port());
    return url;
}
