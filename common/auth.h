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

/* How far a token's nbf may lie in the future of our clock and still be honoured: the
 * clock skew we allow between the minting host and us. Nothing else gets leeway. */
#define AUTH_CLOCK_SKEW_SECONDS 30L
/* The longest bearer token read (bytes); a longer one is invalid. */
#define AUTH_TOKEN_MAX 4096
/* JWT_MAX_TTL_SECONDS when unset: 90 days. */
#define AUTH_DEFAULT_MAX_TTL_SECONDS 7776000L

/* What a token must be, besides well-formed: the key and the claims a deployment pins
 * (JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE, JWT_MAX_TTL_SECONDS). Strings are borrowed and
 * must outlive every use of the policy. Minting follows the same policy, so a token we
 * mint is always one we accept. */
struct auth_policy {
    const char *secret;   /* HS256 key */
    const char *issuer;   /* iss must equal it; NULL or "" = not checked, not minted */
    const char *audience; /* aud must equal it or, as an array, contain it; "" = unchecked */
    long max_ttl;         /* longest lifetime in seconds (exp - iat, or exp - now); <= 0: any */
};

enum auth_result {
    AUTH_OK,
    AUTH_MISSING,      /* no Authorization header, or not "Bearer <token>" */
    AUTH_INVALID,      /* bad signature, algorithm, claims or encoding */
    AUTH_EXPIRED,      /* exp has passed */
    AUTH_NOT_YET,      /* nbf is more than AUTH_CLOCK_SKEW_SECONDS ahead */
    AUTH_TOO_LONG,     /* lifetime above policy max_ttl */
    AUTH_WRONG_ISSUER, /* iss is not the policy's issuer */
    AUTH_WRONG_AUDIENCE,
};

/* Verifies an Authorization header value ("Bearer <jwt>") signed HS256 with policy's
 * secret, at time now. Only HS256 is accepted (never "none"); exp and a known role are
 * required; nbf and iat, when present, must be integers; nbf, lifetime, iss and aud are
 * checked against the policy. Users need a valid tenant_id and tenant_role. Fills out on
 * AUTH_OK. */
enum auth_result auth_verify_header(const char *header, const struct auth_policy *policy,
                                    time_t now, struct auth_principal *out);

/* A sentence for a 401 saying why a token was refused (static). */
const char *auth_result_message(enum auth_result r);

/* Mints a token for p valid for ttl seconds from now (negative: already expired), with
 * iat, and iss and aud when the policy names them. Returns a fresh string the caller
 * frees, or NULL when the claims are invalid or ttl exceeds the policy's max_ttl. */
char *auth_mint(const struct auth_policy *policy, const struct auth_principal *p, long ttl)
    __attribute__((warn_unused_result));

/* ttl, shortened to the policy's max_ttl when that is lower: what a service mints for
 * another, which reads the same JWT_MAX_TTL_SECONDS. */
long auth_ttl_within(const struct auth_policy *policy, long ttl);

const char *auth_role_name(enum auth_role role);
bool auth_role_parse(const char *s, enum auth_role *out);
const char *auth_tenant_role_name(enum tenant_role role);
bool auth_tenant_role_parse(const char *s, enum tenant_role *out);

/* May p read data of this tenant? Admins and services: yes; users: their own tenant. */
bool auth_can_read_tenant(const struct auth_principal *p, const char *tenant_id);
/* May p change this tenant's own settings? Admins; the tenant's owner or admin. */
bool auth_can_write_tenant(const struct auth_principal *p, const char *tenant_id);

#endif
