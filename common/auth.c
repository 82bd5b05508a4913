/* auth.c - JWT verification and minting over libjwt, and the rights table. */
#include "auth.h"

#include <jansson.h>
#include <jwt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"

static const char *const role_names[] = {"admin", "user", "service"};
static const char *const tenant_role_names[] = {"", "owner", "admin", "member", "viewer"};

const char *auth_role_name(enum auth_role role)
{
    switch (role) {
    case AUTH_ROLE_ADMIN:
        return "admin";
    case AUTH_ROLE_USER:
        return "user";
    case AUTH_ROLE_SERVICE:
        return "service";
    }
    return "unknown";
}

bool auth_role_parse(const char *s, enum auth_role *out)
{
    for (int i = 0; i < 3; i++) {
        if (s && strcmp(s, role_names[i]) == 0) {
            *out = (enum auth_role)(1 << i);
            return true;
        }
    }
    return false;
}

const char *auth_tenant_role_name(enum tenant_role role)
{
    return tenant_role_names[role];
}

bool auth_tenant_role_parse(const char *s, enum tenant_role *out)
{
    for (int i = TENANT_ROLE_OWNER; i <= TENANT_ROLE_VIEWER; i++) {
        if (s && strcmp(s, tenant_role_names[i]) == 0) {
            *out = (enum tenant_role)i;
            return true;
        }
    }
    return false;
}

enum auth_result auth_verify_header(const char *header, const char *secret, time_t now,
                                    struct auth_principal *out)
{
    enum auth_result result = AUTH_INVALID;
    jwt_t *jwt = NULL;
    char *exp_json = NULL;

    if (!header || strncasecmp(header, "Bearer ", 7) != 0)
        return AUTH_MISSING;
    const char *token = header + 7;
    while (*token == ' ')
        token++;
    if (!*token)
        return AUTH_MISSING;
    if (strlen(token) > 4096)
        goto out;
    if (jwt_decode(&jwt, token, (const unsigned char *)secret, (int)strlen(secret)) != 0)
        goto out;
    /* libjwt accepts whatever algorithm the header names; only ours is trusted. It also
     * reads the name without regard to case ("Hs256"), where RFC 7515 says it is
     * case-sensitive: insist on the exact name too. */
    if (jwt_get_alg(jwt) != JWT_ALG_HS256)
        goto out;
    const char *alg = jwt_get_header(jwt, "alg");
    if (!alg || strcmp(alg, "HS256") != 0)
        goto out;

    memset(out, 0, sizeof(*out));
    const char *sub = jwt_get_grant(jwt, "sub");
    if (!sub || !*sub || strlen(sub) >= sizeof(out->sub))
        goto out;
    memcpy(out->sub, sub, strlen(sub) + 1);
    if (!auth_role_parse(jwt_get_grant(jwt, "role"), &out->role))
        goto out;

    /* libjwt 1.10 reads a missing or non-numeric exp as 0 without saying so: check the
     * claim's JSON type ourselves. */
    exp_json = jwt_get_grants_json(jwt, "exp");
    json_t *exp = exp_json ? json_loads(exp_json, JSON_DECODE_ANY, NULL) : NULL;
    bool exp_ok = json_is_integer(exp);
    out->exp = exp_ok ? (long)json_integer_value(exp) : 0;
    json_decref(exp);
    if (!exp_ok)
        goto out;
    if (out->exp <= (long)now) {
        result = AUTH_EXPIRED;
        goto out;
    }

    if (out->role == AUTH_ROLE_USER) {
        if (!uuid_is_valid(jwt_get_grant(jwt, "tenant_id"), out->tenant_id))
            goto out;
        if (!auth_tenant_role_parse(jwt_get_grant(jwt, "tenant_role"), &out->tenant_role))
            goto out;
    }
    result = AUTH_OK;
out:
    free(exp_json);
    jwt_free(jwt);
    return result;
}

char *auth_mint(const char *secret, const struct auth_principal *p, long ttl)
{
    jwt_t *jwt = NULL;
    char *token = NULL;

    if (jwt_new(&jwt) != 0)
        goto out;
    if (jwt_add_grant(jwt, "sub", p->sub) || jwt_add_grant(jwt, "role", auth_role_name(p->role)) ||
        jwt_add_grant_int(jwt, "iat", (long)time(NULL)) ||
        jwt_add_grant_int(jwt, "exp", (long)time(NULL) + ttl))
        goto out;
    if (p->role == AUTH_ROLE_USER &&
        (jwt_add_grant(jwt, "tenant_id", p->tenant_id) ||
         jwt_add_grant(jwt, "tenant_role", auth_tenant_role_name(p->tenant_role))))
        goto out;
    if (jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)secret, (int)strlen(secret)))
        goto out;
    token = jwt_encode_str(jwt);
out:
    jwt_free(jwt);
    return token;
}

bool auth_can_read_tenant(const struct auth_principal *p, const char *tenant_id)
{
    if (p->role == AUTH_ROLE_ADMIN || p->role == AUTH_ROLE_SERVICE)
        return true;
    return p->role == AUTH_ROLE_USER && strcmp(p->tenant_id, tenant_id) == 0;
}

bool auth_can_write_tenant(const struct auth_principal *p, const char *tenant_id)
{
    if (p->role == AUTH_ROLE_ADMIN)
        return true;
    return p->role == AUTH_ROLE_USER && strcmp(p->tenant_id, tenant_id) == 0 &&
           (p->tenant_role == TENANT_ROLE_OWNER || p->tenant_role == TENANT_ROLE_ADMIN);
}
