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

/* Reads the integer claim name: false when present but not a JSON integer (libjwt 1.10
 * reads a missing or non-numeric claim as 0 without saying so); *present says whether
 * it was there. */
static bool int_claim(jwt_t *jwt, const char *name, bool *present, long *value)
{
    char *text = jwt_get_grants_json(jwt, name);
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    bool ok = !text || json_is_integer(v);
    *present = text != NULL;
    *value = json_is_integer(v) ? (long)json_integer_value(v) : 0;
    json_decref(v);
    free(text);
    return ok;
}

/* Does the aud claim name audience (equal, or an array holding it)? */
static bool audience_matches(jwt_t *jwt, const char *audience)
{
    char *text = jwt_get_grants_json(jwt, "aud");
    json_t *aud = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    bool ok = json_is_string(aud) && strcmp(json_string_value(aud), audience) == 0;
    size_t i;
    json_t *item;
    json_array_foreach (aud, i, item) {
        if (json_is_string(item) && strcmp(json_string_value(item), audience) == 0)
            ok = true;
    }
    json_decref(aud);
    free(text);
    return ok;
}

/* The checks that depend on the time: expiry, nbf, and the lifetime the policy allows. */
static enum auth_result time_checks(const struct auth_policy *policy, time_t now, long exp,
                                    bool has_nbf, long nbf, bool has_iat, long iat)
{
    if (exp <= (long)now)
        return AUTH_EXPIRED;
    if (has_nbf && nbf > (long)now + AUTH_CLOCK_SKEW_SECONDS)
        return AUTH_NOT_YET;
    /* The lifetime the minter chose (exp - iat), or what is left of it (exp - now) when
     * it did not say when it minted. Compared as "from < exp - max_ttl": exp is above now
     * here, so that cannot overflow where exp - iat could (iat is any 64-bit integer). */
    long from = has_iat ? iat : (long)now;
    if (policy->max_ttl > 0 && from < exp - policy->max_ttl)
        return AUTH_TOO_LONG;
    return AUTH_OK;
}

/* The last token this thread accepted: the same bytes under the same policy carry the
 * same signature and claims, so only the time checks are made again. A service calls
 * with one token for hours; verifying it (HMAC, base64, JSON) was a tenth of a settings
 * read's cost. */
static _Thread_local struct {
    struct auth_policy policy; /* a copy: a policy is compared by content, not address */
    bool set;
    char token[AUTH_TOKEN_MAX + 1];
    size_t len;
    struct auth_principal principal;
    bool has_nbf, has_iat;
    long nbf, iat;
} last;

static bool same_text(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_policy(const struct auth_policy *a, const struct auth_policy *b)
{
    return same_text(a->secret, b->secret) && same_text(a->issuer, b->issuer) &&
           same_text(a->audience, b->audience) && a->max_ttl == b->max_ttl;
}

enum auth_result auth_verify_header(const char *header, const struct auth_policy *policy,
                                    time_t now, struct auth_principal *out)
{
    enum auth_result result = AUTH_INVALID;
    jwt_t *jwt = NULL;
    bool has_iat, has_nbf, has_exp;
    long iat, nbf;

    if (!header || strncasecmp(header, "Bearer ", 7) != 0)
        return AUTH_MISSING;
    const char *token = header + 7;
    while (*token == ' ')
        token++;
    if (!*token)
        return AUTH_MISSING;
    size_t len = strlen(token);
    if (!policy || !policy->secret || len > AUTH_TOKEN_MAX)
        goto out;
    if (last.set && same_policy(&last.policy, policy) && last.len == len &&
        memcmp(last.token, token, len) == 0) {
        result = time_checks(policy, now, last.principal.exp, last.has_nbf, last.nbf, last.has_iat,
                             last.iat);
        if (result == AUTH_OK)
            *out = last.principal;
        return result;
    }
    if (jwt_decode(&jwt, token, (const unsigned char *)policy->secret,
                   (int)strlen(policy->secret)) != 0)
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

    if (!int_claim(jwt, "exp", &has_exp, &out->exp) || !has_exp)
        goto out;
    if (!int_claim(jwt, "nbf", &has_nbf, &nbf) || !int_claim(jwt, "iat", &has_iat, &iat))
        goto out;
    result = time_checks(policy, now, out->exp, has_nbf, nbf, has_iat, iat);
    if (result != AUTH_OK)
        goto out;
    result = AUTH_INVALID;
    if (policy->issuer && *policy->issuer) {
        const char *iss = jwt_get_grant(jwt, "iss");
        if (!iss || strcmp(iss, policy->issuer) != 0) {
            result = AUTH_WRONG_ISSUER;
            goto out;
        }
    }
    if (policy->audience && *policy->audience && !audience_matches(jwt, policy->audience)) {
        result = AUTH_WRONG_AUDIENCE;
        goto out;
    }

    if (out->role == AUTH_ROLE_USER) {
        if (!uuid_is_valid(jwt_get_grant(jwt, "tenant_id"), out->tenant_id))
            goto out;
        if (!auth_tenant_role_parse(jwt_get_grant(jwt, "tenant_role"), &out->tenant_role))
            goto out;
    }
    result = AUTH_OK;
    last.set = true;
    last.policy = *policy;
    memcpy(last.token, token, len);
    last.len = len;
    last.principal = *out;
    last.has_nbf = has_nbf;
    last.nbf = nbf;
    last.has_iat = has_iat;
    last.iat = iat;
out:
    jwt_free(jwt);
    return result;
}

const char *auth_result_message(enum auth_result r)
{
    switch (r) {
    case AUTH_OK:
        return "The bearer token is valid";
    case AUTH_MISSING:
        return "A bearer token is required";
    case AUTH_EXPIRED:
        return "The bearer token has expired";
    case AUTH_NOT_YET:
        return "The bearer token is not valid yet (nbf is in the future)";
    case AUTH_TOO_LONG:
        return "The bearer token's lifetime is too long (more than JWT_MAX_TTL_SECONDS)";
    case AUTH_WRONG_ISSUER:
        return "The bearer token was not issued by this platform's issuer (iss)";
    case AUTH_WRONG_AUDIENCE:
        return "The bearer token is not meant for this platform (aud)";
    case AUTH_INVALID:
        break;
    }
    return "The bearer token is not valid";
}

char *auth_mint(const struct auth_policy *policy, const struct auth_principal *p, long ttl)
{
    jwt_t *jwt = NULL;
    char *token = NULL;
    long now = (long)time(NULL);

    if (!policy || !policy->secret || (policy->max_ttl > 0 && ttl > policy->max_ttl))
        goto out;
    if (jwt_new(&jwt) != 0)
        goto out;
    if (jwt_add_grant(jwt, "sub", p->sub) || jwt_add_grant(jwt, "role", auth_role_name(p->role)) ||
        jwt_add_grant_int(jwt, "iat", now) || jwt_add_grant_int(jwt, "exp", now + ttl))
        goto out;
    if (policy->issuer && *policy->issuer && jwt_add_grant(jwt, "iss", policy->issuer))
        goto out;
    if (policy->audience && *policy->audience && jwt_add_grant(jwt, "aud", policy->audience))
        goto out;
    if (p->role == AUTH_ROLE_USER &&
        (jwt_add_grant(jwt, "tenant_id", p->tenant_id) ||
         jwt_add_grant(jwt, "tenant_role", auth_tenant_role_name(p->tenant_role))))
        goto out;
    if (jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)policy->secret,
                    (int)strlen(policy->secret)))
        goto out;
    token = jwt_encode_str(jwt);
out:
    jwt_free(jwt);
    return token;
}

long auth_ttl_within(const struct auth_policy *policy, long ttl)
{
    return policy->max_ttl > 0 && ttl > policy->max_ttl ? policy->max_ttl : ttl;
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
