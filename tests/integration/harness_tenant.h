/* harness_tenant.h - fixtures of the tenant-service suites (test_tenant*.c): the daemon
 * started the way they need it, tenants made through the API, one-call requests and
 * tokens for every role. */
#ifndef TESTS_HARNESS_TENANT_H
#define TESTS_HARNESS_TENANT_H

#include <stdbool.h>

#include "harness.h"

#define HT_ID_LEN 37

/* Starts tenant-service on db_url, with notification-service at notif_url and, when
 * static_dir is not NULL, STATIC_DIR=static_dir. extra_env: more "K=V" (may be NULL). */
bool ht_start_tenant(struct h_proc *p, const char *db_url, const char *notif_url,
                     const char *static_dir, const char *const *extra_env);

/* method base+path with token and an optional JSON body. */
struct h_resp ht_call(const struct h_proc *p, const char *method, const char *path,
                      const char *token, const char *body);

/* Creates a tenant called name through the API (asserting 201) and writes its id. */
void ht_create_tenant(const struct h_proc *p, const char *name, char id[HT_ID_LEN]);

/* A platform admin's token (sub "platform-admin"), minted once; do not free. */
const char *ht_admin(void);
/* A service token (sub "order-service"), minted once; do not free. */
const char *ht_service(void);
/* A user's token for tenant with tenant_role; the caller frees it. */
char *ht_user(const char *tenant, const char *tenant_role);

/* The string at key of r's JSON body, or "" (never NULL, so it can be compared). */
const char *ht_str(const struct h_resp *r, const char *key);

/* A TCP port nothing listens on, as "http://127.0.0.1:PORT" (static storage). */
const char *ht_dead_url(void);

#endif
