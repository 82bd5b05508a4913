/* auth.h - bearer JWT (HS256) verification, roles, and the tenant-scoped rights of
 * DESIGN.md section 4. */
#ifndef COMMON_AUTH_H
#define COMMON_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "uuidutil.h"

enum auth_role {
    AUTH_ROLE_ADMIN = 1 << 0,   /* platform admin: everything */
    AUTH_ROLE_USER = 1 << 1,    /* a bakery's user, scoped to tenant_id */
    AUTH_ROLE_SERVICE = 1 << 2, /* service-to-service calls */
};
#define AUTH_ROLES_ANY (AUTH_ROLE_ADMIN | AUTH_ROLE_USER | AUTH_ROLE_SERVICE)

enum tenant_role {
    TENANT_ROLE_NONE,
    TENANT_ROLE_OWNER,
    TENANT_ROLE_ADMIN,
    TENANT_ROLE_MEMBER,
    TENANT_ROLE_VIEWER
};

struct auth_principal {
    char sub[128];
    enum auth_role role;
    char tenant_id[UUID_STR_LEN]; /* users only, lower-case canonical */
    enum tenant_role tenant_role; /* users only */
    long exp;
};

enum auth_result {
    AUTH_OK,
    AUTH_MISSING, /* no Authorization header, or not "Bearer <token>" */
    AUTH_INVALID, /* bad signature, algorithm, claims or encoding */
    AUTH_EXPIRED,
};

/* Verifies an Authorization header value ("Bearer <jwt>") signed HS256 with secret, at
 * time now. Only HS256 is accepted (never "none"); exp and a known role are required;
 * users need a valid tenant_id and tenant_role. Fills out on AUTH_OK. */
enum auth_result auth_verify_header(const char *header, const char *secret, time_t now,
                                    struct auth_principal *out);

/* Mints a token for p valid for ttl seconds from now. Returns a fresh string the caller
 * frees, or NULL when the claims are invalid. */
char *auth_mint(const char *secret, const struct auth_principal *p, long ttl)
    __attribute__((warn_unused_result));

const char *auth_role_name(enum auth_role role);
bool auth_role_parse(const char *s, enum auth_role *out);
const char *auth_tenant_role_name(enum tenant_role role);
bool auth_tenant_role_parse(const char *s, enum tenant_role *out);

/* May p read data of this tenant? Admins and services: yes; users: their own tenant. */
bool auth_can_read_tenant(const struct auth_principal *p, const char *tenant_id);
/* May p change this tenant's own settings? Admins; the tenant's owner or admin. */
bool auth_can_write_tenant(const struct auth_principal *p, const char *tenant_id);

#endif
